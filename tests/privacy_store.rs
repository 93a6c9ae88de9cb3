//! Attacker tests on the files: what someone who is handed the shareable store (or who reads
//! the folder it lies in) can learn about clients. See docs/privacy.md, "The store split".
//! Each test fails on the layout before the split (one file with a `clients` layer in upload
//! order and the exact count in `bc_imports`).
#![allow(clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use buurtcirkel::store::Store;
use common::{bytes_contain, demo_store, import, layer_names, tmp, write_text};

/// `n` distinct client homes on the 25 m grid, in a known order (the organisation's list).
fn homes(n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let i = i as f64;
            (
                150_000.0 + 25.0 * (i % 20.0) + 1000.0 * (i / 97.0).floor(),
                470_000.0 + 25.0 * (i / 20.0).floor(),
            )
        })
        .collect()
}

fn client_csv(dir: &Path, homes: &[(f64, f64)]) -> std::path::PathBuf {
    let mut text = String::from("x,y,doelgroep\n");
    for (x, y) in homes {
        text.push_str(&format!("{x},{y},ggz\n"));
    }
    write_text(dir, "clienten.csv", &text)
}

/// The clients of the private file in stored (fid) order.
fn stored_order(private: &Path) -> Vec<(f64, f64)> {
    use gdal::vector::LayerAccess;
    let ds = gdal::Dataset::open(private).expect("open private file");
    let mut layer = ds.layer_by_name("clients").expect("clients layer");
    layer
        .features()
        .filter_map(|f| {
            let g = f.geometry()?;
            let (x, y, _) = g.get_point(0);
            Some((x, y))
        })
        .collect()
}

/// Spearman's rank correlation of two permutations of 0..n.
fn spearman(ranks: &[usize]) -> f64 {
    let n = ranks.len() as f64;
    let d2: f64 = ranks
        .iter()
        .enumerate()
        .map(|(i, &r)| (i as f64 - r as f64).powi(2))
        .sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn the_shareable_store_holds_no_client_layer_location_or_count() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let homes = homes(137);
    let csv = client_csv(dir.path(), &homes);
    import(&store, "clients", &csv, &[]).assert_ok();

    let names = layer_names(&store);
    assert!(!names.iter().any(|n| n == "clients"), "{names:?}");
    // The log in the shareable store says nothing about the client import.
    let log = common::ogrinfo_where(&store, "bc_imports", "1=1");
    assert!(!log.contains("clients"), "{log}");
    assert!(
        !log.contains("137"),
        "the exact client count is in the store: {log}"
    );
    // No client coordinate pair is in the file's bytes (GeoPackage points are little-endian
    // doubles x then y).
    let bytes = std::fs::read(&store).expect("read store");
    for (x, y) in &homes {
        let mut pair = x.to_le_bytes().to_vec();
        pair.extend(y.to_le_bytes());
        assert!(
            !bytes_contain(&bytes, &pair),
            "client ({x}, {y}) is in the store"
        );
    }
    // The admin still reads them (and the exact count) through the private file.
    let data = Store::new(&store).load().expect("load");
    assert_eq!(data.clients.len(), 137);
    assert_eq!(data.imports.last().map(|l| l.rows), Some(137));
}

#[test]
fn the_private_client_file_is_readable_by_its_owner_only() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let csv = client_csv(dir.path(), &homes(20));
    import(&store, "clients", &csv, &[]).assert_ok();

    let private = Store::new(&store).private_path();
    assert_eq!(
        private.file_name().and_then(|n| n.to_str()),
        Some("s.clients.gpkg")
    );
    let mode = std::fs::metadata(&private)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    common::assert_no_temporary_files(dir.path());
}

#[test]
fn the_stored_order_of_clients_cannot_be_linked_to_the_upload_order() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let homes = homes(200);
    let csv = client_csv(dir.path(), &homes);
    import(&store, "clients", &csv, &[]).assert_ok();

    let stored = stored_order(&Store::new(&store).private_path());
    assert_eq!(stored.len(), homes.len());
    // The attacker's linkage: rank of each stored row in the organisation's own list.
    let ranks: Vec<usize> = stored
        .iter()
        .map(|p| {
            homes
                .iter()
                .position(|h| h == p)
                .expect("a stored client is a home")
        })
        .collect();
    let rho = spearman(&ranks);
    // For a random permutation of 200, |rho| > 0.3 has a chance below 1e-5.
    assert!(
        rho.abs() < 0.3,
        "stored order follows upload order (rho {rho:.2})"
    );
    let same_place = ranks.iter().enumerate().filter(|(i, r)| i == *r).count();
    assert!(same_place < 10, "{same_place} rows kept their place");
    // And what the analysis reads carries no order either: it is sorted by position.
    let loaded = Store::new(&store).load().expect("load").clients;
    let mut sorted = loaded.clone();
    sorted.sort_by(|a, b| {
        (a.position_rd.x(), a.position_rd.y())
            .partial_cmp(&(b.position_rd.x(), b.position_rd.y()))
            .expect("finite")
    });
    assert_eq!(loaded, sorted);
}

#[test]
fn only_the_built_in_demo_marks_its_clients_as_fictional() {
    let dir = tmp();
    let store = demo_store(dir.path());
    assert!(Store::new(&store).load().expect("load").clients_demo);
    let csv = client_csv(dir.path(), &homes(20));
    import(&store, "clients", &csv, &[]).assert_ok();
    assert!(!Store::new(&store).load().expect("load").clients_demo);
}

#[test]
fn an_older_store_with_a_clients_layer_is_split_on_first_open() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let private = Store::new(&store).private_path();
    let want = Store::new(&store).load().expect("load").clients;
    // Build the older layout: the clients layer and its exact-count log row in the store.
    let ok = std::process::Command::new("ogr2ogr")
        .args(["-update", "-nln", "clients"])
        .arg(&store)
        .arg(&private)
        .arg("clients")
        .status()
        .expect("run ogr2ogr");
    assert!(ok.success());
    let ok = std::process::Command::new("ogrinfo")
        .arg(&store)
        .args([
            "-sql",
            "INSERT INTO bc_imports (kind, source_file, imported_at, rows) VALUES ('clients', 'oud.csv', '2024-01-01T00:00:00Z', 4242)",
        ])
        .status()
        .expect("run ogrinfo");
    assert!(ok.success());
    std::fs::remove_file(&private).expect("remove private file");
    assert!(layer_names(&store).iter().any(|n| n == "clients"));

    let data = Store::new(&store).load().expect("an older store opens");

    assert_eq!(data.clients, want);
    assert!(!layer_names(&store).iter().any(|n| n == "clients"));
    let log = common::ogrinfo_where(&store, "bc_imports", "1=1");
    assert!(!log.contains("4242"), "{log}");
    assert!(
        data.imports
            .iter()
            .any(|l| l.rows == 4242 && l.kind == "clients")
    );
    let mode = std::fs::metadata(&private)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    common::assert_no_temporary_files(dir.path());
}
