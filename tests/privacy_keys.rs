//! Per-client cell keys (docs/privacy.md, "Counts"): every imported client gets a random key
//! in `[0, 1)` from the OS random generator, kept beside it in the private file; a private
//! file of an older version without keys gets them once, on the next load, and keeps them.

// Helpers outside `#[test]` functions may panic: this is a test crate.
#![allow(clippy::expect_used)]

mod common;

use buurtcirkel::store::Store;
use common::{demo_store, import, tmp, write_text};
use gdal::vector::LayerAccess;
use std::io::Write as _;

/// The `cell_key` values of the private file's `clients` layer, as GDAL reads them.
fn stored_keys(store: &std::path::Path) -> Vec<Option<f64>> {
    let private = Store::new(store).private_path();
    let ds = gdal::Dataset::open(&private).expect("open the private file");
    let mut layer = ds.layer_by_name("clients").expect("clients layer");
    let idx = layer.defn().field_index("cell_key").ok();
    layer
        .features()
        .map(|f| idx.and_then(|i| f.field_as_double(i).ok().flatten()))
        .collect()
}

fn client_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("x;y;doelgroep\n");
    for i in 0..40 {
        text.push_str(&format!(
            "{};{};ggz\n",
            155_000 + 30 * i,
            463_000 + 17 * (i % 7)
        ));
    }
    write_text(dir, "clients.csv", &text)
}

#[test]
fn every_imported_client_gets_its_own_random_key_in_the_unit_interval() {
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    let csv = client_csv(dir.path());
    import(&store, "clients", &csv, &[]).assert_ok();
    let first: Vec<f64> = stored_keys(&store).into_iter().flatten().collect();
    assert_eq!(first.len(), 40, "a key for every client");
    assert!(first.iter().all(|k| (0.0..1.0).contains(k)), "{first:?}");
    let mut sorted = first.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    assert_eq!(sorted.len(), 40, "keys are drawn per client, not shared");
    let mean = first.iter().sum::<f64>() / 40.0;
    assert!((0.25..0.75).contains(&mean), "uniform keys, mean {mean}");

    // The same file imported again draws fresh keys: they come from the OS, not from a seed
    // or the positions an outsider could know.
    import(&store, "clients", &csv, &[]).assert_ok();
    let mut second: Vec<f64> = stored_keys(&store).into_iter().flatten().collect();
    second.sort_by(f64::total_cmp);
    assert_ne!(sorted, second);
}

#[test]
fn a_private_file_without_keys_gets_them_on_the_next_load_and_keeps_them() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let private = Store::new(&store).private_path();
    // Make it a file of the previous version: the same clients without the key column.
    let status = std::process::Command::new("ogrinfo")
        .arg(&private)
        .args(["-sql", "ALTER TABLE clients DROP COLUMN cell_key"])
        .output();
    let Ok(out) = status else {
        let _ = writeln!(std::io::stderr(), "SKIP: ogrinfo is not installed");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stored_keys(&store).iter().all(Option::is_none));

    let loaded = Store::new(&store).load().expect("load");
    assert!(loaded.clients.iter().all(|c| (0.0..1.0).contains(&c.key)));
    let keys = stored_keys(&store);
    assert_eq!(keys.len(), loaded.clients.len());
    assert!(
        keys.iter()
            .all(|k| k.is_some_and(|k| (0.0..1.0).contains(&k)))
    );

    let mut first: Vec<f64> = loaded.clients.iter().map(|c| c.key).collect();
    let mut again: Vec<f64> = Store::new(&store)
        .load()
        .expect("load again")
        .clients
        .iter()
        .map(|c| c.key)
        .collect();
    first.sort_by(f64::total_cmp);
    again.sort_by(f64::total_cmp);
    assert_eq!(first, again, "the keys are written once and kept");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&private)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}
