//! The GeoPackage store: writes are all-or-nothing, a failed or interrupted write leaves the
//! previous file readable and byte-identical, and files that are not our store are refused
//! untouched.

mod common;

use buurtcirkel::model::Level;
use buurtcirkel::store::{Change, ImportLog, Store, StoreError};
use common::{
    LayerSpec, X0, Y0, area, areas_of, assert_no_temporary_files, buurt_layer, demo_store,
    import_areas, level_counts, ogrinfo_counts, snapshot, square, tmp, write_vector,
};
use gdal::vector::sql::Dialect;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

fn log(kind: &str) -> ImportLog {
    ImportLog {
        kind: kind.into(),
        source: "test".into(),
        cbs_year: None,
        imported_at: "2024-01-01T00:00:00Z".into(),
        rows: 1,
    }
}

#[test]
fn a_write_that_fails_midway_leaves_the_old_store_byte_identical_and_no_temporary_file() {
    let dir = tmp();
    let path = demo_store(dir.path());
    let before = snapshot(&path);
    // The first buurt is written, then GDAL refuses a name with a NUL byte: the copy has
    // already lost its old buurten layer when the write fails.
    let change = Change {
        areas: Some((
            vec![Level::Buurt],
            vec![
                area("BU01230101", "Goed"),
                area("BU01230102", "Kapot\0naam"),
            ],
        )),
        log: vec![log("areas")],
        ..Default::default()
    };

    let err = Store::new(&path).apply(&change).expect_err("must fail");
    assert!(matches!(err, StoreError::Gdal { .. }), "{err:?}");
    assert!(err.to_string().contains("BU01230102"), "{err}");

    before.assert_unchanged();
    assert_eq!(level_counts(before.data()), [1, 5, 30]);
}

#[test]
fn a_write_of_clients_that_fails_in_the_store_leaves_both_files_as_they_were() {
    let dir = tmp();
    let path = demo_store(dir.path());
    let before = snapshot(&path);
    let private = Store::new(&path).private_path();
    let private_before = std::fs::read(&private).expect("read private file");
    // The new client file is staged in full, then the store's part of the write fails.
    let change = Change {
        clients: Some(vec![buurtcirkel::model::Client {
            position_rd: geo_types::Point::new(150_000.0, 470_000.0),
            doelgroep: None,
            key: 0.0,
        }]),
        areas: Some((vec![Level::Buurt], vec![area("BU01230102", "Kapot\0naam")])),
        log: vec![log("clients")],
        ..Default::default()
    };

    assert!(Store::new(&path).apply(&change).is_err());

    assert!(std::fs::read(&private).expect("read private file") == private_before);
    before.assert_unchanged();
    assert_eq!(
        before.data().clients.len(),
        Store::new(&path).load().expect("load").clients.len()
    );
    assert_no_temporary_files(dir.path());
}

#[test]
fn a_write_that_fails_on_a_new_path_creates_no_file() {
    let dir = tmp();
    let path = dir.path().join("nieuw.gpkg");
    let change = Change {
        areas: Some((vec![Level::Buurt], vec![area("BU01230102", "Kapot\0naam")])),
        ..Default::default()
    };

    assert!(Store::new(&path).apply(&change).is_err());
    assert!(!path.exists());
    assert_no_temporary_files(dir.path());
}

#[test]
fn a_stale_temporary_file_from_an_interrupted_write_does_not_disturb_the_store() {
    let dir = tmp();
    let path = demo_store(dir.path());
    let before = snapshot(&path);
    // What a killed writer leaves behind: half a copy next to the store.
    let bytes = std::fs::read(&path).expect("read");
    let stale = dir.path().join(".s.gpkg.tmp-AbC123.gpkg");
    std::fs::write(&stale, &bytes[..bytes.len() / 2]).expect("write stale");

    let data = Store::new(&path)
        .load()
        .expect("the store is still readable");
    assert_eq!(data.areas, before.data().areas);

    let change = Change {
        areas: Some((vec![Level::Buurt], vec![area("BU01230101", "Nieuw")])),
        log: vec![log("areas")],
        ..Default::default()
    };
    Store::new(&path)
        .apply(&change)
        .expect("a later write succeeds");
    let data = Store::new(&path).load().expect("load");
    assert_eq!(level_counts(&data), [1, 5, 1]);
    assert_eq!(data.imports.len(), 2);
}

#[test]
fn a_write_replaces_only_the_levels_it_names() {
    let dir = tmp();
    let path = demo_store(dir.path());
    let before = snapshot(&path);
    let change = Change {
        areas: Some((vec![Level::Wijk], Vec::new())),
        log: vec![log("areas")],
        ..Default::default()
    };

    Store::new(&path).apply(&change).expect("apply");

    let data = Store::new(&path).load().expect("load");
    assert_eq!(level_counts(&data), [1, 0, 30]);
    assert_eq!(
        areas_of(&data, Level::Buurt),
        areas_of(before.data(), Level::Buurt)
    );
    assert_eq!(data.clients, before.data().clients);
    assert_eq!(data.places, before.data().places);
    assert_eq!(data.imports.len(), before.data().imports.len() + 1);
    assert_eq!(data.imports.last(), Some(&log("areas")));
    let counts = ogrinfo_counts(&path);
    assert_eq!((counts["wijken"], counts["buurten"]), (0, 30));
    assert_no_temporary_files(dir.path());
}

#[test]
fn the_demo_round_trips_through_the_store_unchanged() {
    let dir = tmp();
    let path = dir.path().join("s.gpkg");
    let demo = buurtcirkel::demo::generate();
    Store::new(&path)
        .apply(&Change {
            areas: Some((Level::ALL.to_vec(), demo.areas.clone())),
            clients: Some(demo.clients.clone()),
            clients_demo: true,
            places: Some(demo.places.clone()),
            circles: Some(demo.circles.clone()),
            results: None,
            streets: None,
            grid: Some(vec![
                buurtcirkel::model::GridCell {
                    centre_rd: geo_types::Point::new(150_050.0, 470_050.0),
                    inwoners: Some(45.0),
                },
                buurtcirkel::model::GridCell {
                    centre_rd: geo_types::Point::new(150_150.0, 470_050.0),
                    inwoners: None,
                },
            ]),
            log: vec![log("demo")],
        })
        .expect("apply");

    let data = Store::new(&path).load().expect("load");
    let mut want = demo.areas.clone();
    want.sort_by(|a, b| a.code.cmp(&b.code));
    let mut got = data.areas.clone();
    got.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(got, want);
    // Stored in random order, read back in a canonical one: compare as sets.
    let key = |c: &buurtcirkel::model::Client| {
        (
            c.position_rd.x().to_bits(),
            c.position_rd.y().to_bits(),
            c.doelgroep.clone(),
        )
    };
    let mut got_clients: Vec<_> = data.clients.iter().map(key).collect();
    let mut want_clients: Vec<_> = demo.clients.iter().map(key).collect();
    got_clients.sort();
    want_clients.sort();
    assert_eq!(got_clients, want_clients);
    assert!(
        data.clients_demo,
        "the demo's clients are not marked as fictional"
    );
    assert_eq!(data.places.len(), demo.places.len());
    for (g, w) in data.places.iter().zip(&demo.places) {
        assert_eq!(
            (&g.name, &g.kind, g.position_rd),
            (&w.name, &w.kind, w.position_rd)
        );
    }
    assert_eq!(data.circles.len(), demo.circles.len());
    // The CBS grid keeps its cells, with a suppressed cell still unknown (not 0).
    assert_eq!(data.grid.len(), 2);
    assert_eq!(data.grid[0].inwoners, Some(45.0));
    assert_eq!(data.grid[1].inwoners, None);
    assert_eq!(data.grid[1].centre_rd.x(), 150_150.0);
    assert_eq!(data.imports, vec![log("demo")]);
}

fn foreign_geopackage(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("percelen.gpkg");
    let layer = LayerSpec::new("percelen")
        .text("perceel")
        .feature(&square(X0, Y0, 50.0), cells!["A 1"]);
    write_vector(&p, "GPKG", &[layer]);
    p
}

#[test]
fn a_geopackage_that_is_not_a_store_is_refused_and_not_modified() {
    let dir = tmp();
    let foreign = foreign_geopackage(dir.path());
    let bytes = std::fs::read(&foreign).expect("read");
    let src = dir.path().join("buurten.gpkg");
    write_vector(
        &src,
        "GPKG",
        &[buurt_layer(&[("BU01230101", Some(&square(X0, Y0, 500.0)))])],
    );

    import_areas(&foreign, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["percelen.gpkg", "not a Buurtcirkel Atlas store"]);
    assert!(std::fs::read(&foreign).expect("read") == bytes);

    let store = Store::new(&foreign);
    let err = store.load().expect_err("load must refuse");
    assert!(matches!(err, StoreError::Schema { .. }), "{err:?}");
    let err = store
        .apply(&Change {
            log: vec![log("areas")],
            ..Default::default()
        })
        .expect_err("apply must refuse");
    assert!(err.to_string().contains("refusing to change it"), "{err}");
    assert!(std::fs::read(&foreign).expect("read") == bytes);
    assert_eq!(ogrinfo_counts(&foreign).len(), 1, "no layers were added");
    assert_no_temporary_files(dir.path());
}

#[test]
fn a_store_of_a_newer_schema_version_is_refused_and_not_modified() {
    let dir = tmp();
    let path = demo_store(dir.path());
    {
        let ds = Dataset::open_ex(
            &path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_UPDATE,
                ..Default::default()
            },
        )
        .expect("open for update");
        ds.execute_sql(
            "UPDATE bc_metadata SET value = '99' WHERE key = 'schema_version'",
            None,
            Dialect::DEFAULT,
        )
        .expect("update");
    }
    let bytes = std::fs::read(&path).expect("read");
    let src = dir.path().join("buurten.gpkg");
    write_vector(
        &src,
        "GPKG",
        &[buurt_layer(&[("BU01230101", Some(&square(X0, Y0, 500.0)))])],
    );

    import_areas(&path, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["s.gpkg", "schema version 99"]);
    assert!(std::fs::read(&path).expect("read") == bytes);
    assert_no_temporary_files(dir.path());
}

#[test]
fn loading_a_store_that_does_not_exist_says_how_to_make_one() {
    let dir = tmp();
    let path = dir.path().join("s.gpkg");
    let err = Store::new(&path).load().expect_err("missing");
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("buurtcirkel demo --out"), "{err}");
    assert!(!path.exists());
}

#[test]
fn demo_refuses_to_overwrite_an_existing_store_without_force() {
    let dir = tmp();
    let path = demo_store(dir.path());
    let before = snapshot(&path);
    common::bc([
        std::ffi::OsStr::new("demo"),
        "--out".as_ref(),
        path.as_os_str(),
    ])
    .assert_failed()
    .assert_error_mentions(&["exists already", "--force"]);
    before.assert_unchanged();
}
