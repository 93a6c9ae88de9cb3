//! `import areas` with bad input: every case exits non-zero with a message that names the file,
//! layer, feature and column where they apply, and leaves an existing store exactly as it was
//! (same bytes, same content, no temporary file). Bad geometry that can be repaired safely is
//! repaired and reported instead.

mod common;

use std::path::{Path, PathBuf};

use buurtcirkel::model::Level;
use buurtcirkel::store::Store;
use common::{
    Crs, LayerSpec, X0, Y0, areas_of, buurt_layer, demo_store, import_areas, snapshot, square, tmp,
    write_geotiff, write_vector,
};

/// A demo store in `dir`, the bad file written by `make`, the import run against the store,
/// and the store checked unchanged. Returns the failed run for message checks.
fn rejected(
    make: impl FnOnce(&Path) -> PathBuf,
    extra: &[&str],
) -> (tempfile::TempDir, common::Run) {
    let dir = tmp();
    let store = demo_store(dir.path());
    let before = snapshot(&store);
    let src = make(dir.path());
    let run = import_areas(&store, &src, extra);
    run.assert_failed();
    assert!(
        run.stdout.is_empty(),
        "a failed import prints no report:\n{}",
        run.stdout
    );
    before.assert_unchanged();
    (dir, run)
}

fn gpkg(dir: &Path, name: &str, layers: &[LayerSpec]) -> PathBuf {
    let p = dir.join(name);
    write_vector(&p, "GPKG", layers);
    p
}

#[test]
fn a_missing_file_is_rejected_naming_the_file() {
    let (_dir, run) = rejected(|d| d.join("bestaat_niet.gpkg"), &[]);
    run.assert_error_mentions(&["bestaat_niet.gpkg", "file not found"]);
}

#[test]
fn a_file_of_random_bytes_is_rejected_naming_the_file() {
    let (_dir, run) = rejected(
        |d| {
            let p = d.join("kapot.gpkg");
            let bytes: Vec<u8> = (0u32..4096)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            std::fs::write(&p, bytes).expect("write");
            p
        },
        &[],
    );
    run.assert_error_mentions(&["kapot.gpkg", "not a GeoPackage file"]);
}

#[test]
fn a_text_file_is_rejected_naming_the_file() {
    let (_dir, run) = rejected(
        |d| {
            let p = d.join("notities.txt");
            std::fs::write(&p, "Dit is geen kaart.\nAlleen tekst.\n").expect("write");
            p
        },
        &[],
    );
    run.assert_error_mentions(&[
        "notities.txt",
        ".txt files are not accepted",
        "GeoPackage (.gpkg)",
    ]);
}

#[test]
fn a_raster_is_rejected_naming_the_file() {
    let (_dir, run) = rejected(
        |d| {
            let p = d.join("hoogte.tif");
            write_geotiff(&p);
            p
        },
        &[],
    );
    run.assert_error_mentions(&[
        "hoogte.tif",
        ".tif files are not accepted",
        "shapefile (.shp)",
    ]);
}

#[test]
fn a_file_without_area_codes_is_rejected_listing_its_layers() {
    let (_dir, run) = rejected(
        |d| {
            let percelen = LayerSpec::new("percelen")
                .text("perceelnummer")
                .text("eigenaar")
                .feature(&square(X0, Y0, 100.0), cells!["A 1234", "Gemeente"]);
            let provincies = LayerSpec::new("provincies")
                .text("code")
                .text("name")
                .feature(&square(X0, Y0, 1000.0), cells!["PV26", "Utrecht"]);
            gpkg(d, "percelen.gpkg", &[percelen, provincies])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "percelen.gpkg",
        "no layer with CBS area codes",
        "layer percelen",
        "layer provincies",
        "PV26",
        "--mapping",
    ]);
}

#[test]
fn unknown_code_prefixes_among_valid_codes_are_rejected_naming_feature_and_column() {
    let (_dir, run) = rejected(
        |d| {
            let layer = buurt_layer(&[
                ("BU01230101", Some(&square(X0, Y0, 500.0))),
                ("XX12345678", Some(&square(X0 + 500.0, Y0, 500.0))),
                ("BU01230103", Some(&square(X0 + 1000.0, Y0, 500.0))),
            ]);
            gpkg(d, "codes.gpkg", &[layer])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "codes.gpkg",
        "layer buurten",
        "feature 2",
        "column buurtcode",
        "\"XX12345678\"",
        "not a CBS area code",
    ]);
}

#[test]
fn a_duplicate_code_is_rejected_naming_both_features() {
    let (_dir, run) = rejected(
        |d| {
            let layer = buurt_layer(&[
                ("BU01230101", Some(&square(X0, Y0, 500.0))),
                ("BU01230102", Some(&square(X0 + 500.0, Y0, 500.0))),
                ("BU01230101", Some(&square(X0 + 1000.0, Y0, 500.0))),
            ]);
            gpkg(d, "dubbel.gpkg", &[layer])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "dubbel.gpkg",
        "layer buurten",
        "BU01230101 occurs twice",
        "features 1 in layer buurten and 3",
    ]);
}

#[test]
fn an_empty_geometry_is_rejected_naming_the_feature() {
    let (_dir, run) = rejected(
        |d| {
            let layer = buurt_layer(&[
                ("BU01230101", Some(&square(X0, Y0, 500.0))),
                ("BU01230102", Some("POLYGON EMPTY")),
            ]);
            gpkg(d, "leeg.gpkg", &[layer])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "leeg.gpkg",
        "layer buurten",
        "feature 2 (BU01230102)",
        "empty geometry",
    ]);
}

fn no_geometry_file(d: &Path) -> PathBuf {
    let layer = buurt_layer(&[
        ("BU01230101", Some(&square(X0, Y0, 500.0))),
        ("BU01230102", None),
    ]);
    gpkg(d, "zonder.gpkg", &[layer])
}

#[test]
fn a_feature_without_geometry_is_rejected_naming_the_feature() {
    let (_dir, run) = rejected(no_geometry_file, &[]);
    run.assert_error_mentions(&[
        "zonder.gpkg",
        "layer buurten",
        "feature 2 (BU01230102)",
        "expected a polygon or multipolygon",
    ]);
}

#[test]
fn a_feature_without_geometry_is_reported_as_having_no_geometry() {
    let (_dir, run) = rejected(no_geometry_file, &[]);
    run.assert_error_mentions(&["feature 2 (BU01230102)", "has no geometry"]);
}

#[test]
fn a_point_where_polygons_are_expected_is_rejected_naming_the_feature() {
    let (_dir, run) = rejected(
        |d| {
            let layer = buurt_layer(&[
                ("BU01230101", Some(&square(X0, Y0, 500.0))),
                ("BU01230102", Some("POINT (150750 460250)")),
            ]);
            gpkg(d, "punt.gpkg", &[layer])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "punt.gpkg",
        "layer buurten",
        "feature 2 (BU01230102)",
        "point geometry",
        "expected a polygon",
    ]);
}

#[test]
fn a_self_intersecting_bowtie_is_repaired_and_reported() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let bowtie = format!(
        "POLYGON(({X0} {Y0},{x1} {y1},{x1} {Y0},{X0} {y1},{X0} {Y0}))",
        x1 = X0 + 1000.0,
        y1 = Y0 + 1000.0
    );
    let src = gpkg(
        dir.path(),
        "strik.gpkg",
        &[buurt_layer(&[
            ("BU01230101", Some(&square(X0 + 2000.0, Y0, 500.0))),
            ("BU01230102", Some(&bowtie)),
        ])],
    );

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("geometries repaired (1): BU01230102"),
        "the report must say which geometry was repaired:\n{}",
        run.stdout
    );
    let bu = areas_of(&Store::new(&store).load().expect("load"), Level::Buurt);
    let repaired = &bu["BU01230102"].geometry_rd;
    use geo::{Area as _, Validation as _};
    assert!(repaired.is_valid(), "stored geometry is still invalid");
    // The two triangles of the bowtie, 250,000 m² each.
    assert!(
        (repaired.unsigned_area() - 500_000.0).abs() < 1.0,
        "{}",
        repaired.unsigned_area()
    );
}

fn no_crs_file(d: &Path) -> PathBuf {
    // A shapefile without a .prj: the classic way a CRS goes missing.
    let p = d.join("zonder_crs.shp");
    let layer = buurt_layer(&[
        ("BU01230101", Some(&square(X0, Y0, 500.0))),
        ("BU01230102", Some(&square(X0 + 500.0, Y0, 500.0))),
    ])
    .crs(Crs::None)
    .geometry_type(gdal::vector::OGRwkbGeometryType::wkbPolygon);
    write_vector(&p, "ESRI Shapefile", &[layer]);
    assert!(!p.with_extension("prj").exists());
    p
}

#[test]
fn a_layer_without_crs_is_rejected_pointing_at_the_crs_option() {
    let (_dir, run) = rejected(no_crs_file, &[]);
    run.assert_error_mentions(&["zonder_crs.shp", "no coordinate reference system", "--crs"]);
}

#[test]
fn a_layer_without_crs_is_accepted_with_crs_rd_new() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let src = no_crs_file(dir.path());

    let run = import_areas(&store, &src, &["--crs", "EPSG:28992"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("crs: EPSG:28992, kept"),
        "{}",
        run.stdout
    );
    let bu = areas_of(&Store::new(&store).load().expect("load"), Level::Buurt);
    assert_eq!(bu.len(), 2);
    assert!(bu.contains_key("BU01230102"));
}

#[test]
fn an_unknown_crs_given_with_crs_is_rejected_naming_it() {
    let (_dir, run) = rejected(no_crs_file, &["--crs", "EPSG:999999"]);
    run.assert_error_mentions(&["zonder_crs.shp", "EPSG:999999", "RD New"]);
}

fn rd_declared_as_wgs84_file(d: &Path) -> PathBuf {
    let layer = buurt_layer(&[("BU01230101", Some(&square(X0, Y0, 500.0)))]).crs(Crs::Epsg(4326));
    gpkg(d, "verkeerde_crs.gpkg", &[layer])
}

#[test]
fn rd_coordinates_declared_as_longitude_latitude_are_rejected_naming_the_feature() {
    let (_dir, run) = rejected(rd_declared_as_wgs84_file, &[]);
    run.assert_error_mentions(&[
        "verkeerde_crs.gpkg",
        "layer buurten",
        "feature 1 (BU01230101)",
    ]);
}

#[test]
fn rd_coordinates_declared_as_longitude_latitude_are_rejected_as_outside_the_netherlands() {
    let (_dir, run) = rejected(rd_declared_as_wgs84_file, &[]);
    run.assert_error_mentions(&["outside the Netherlands", "is the layer's CRS right?"]);
}

#[test]
fn longitude_latitude_declared_as_rd_new_is_rejected_as_outside_the_netherlands() {
    let (_dir, run) = rejected(
        |d| {
            let layer = buurt_layer(&[(
                "BU01230101",
                Some("POLYGON((5.38 52.15,5.39 52.15,5.39 52.16,5.38 52.16,5.38 52.15))"),
            )]);
            gpkg(d, "graden_als_rd.gpkg", &[layer])
        },
        &[],
    );
    run.assert_error_mentions(&[
        "graden_als_rd.gpkg",
        "layer buurten",
        "feature 1 (BU01230101)",
        "outside the Netherlands",
        "is the layer's CRS right?",
    ]);
}

#[test]
fn a_wrong_declared_crs_can_be_overridden_with_crs_as_the_error_advises() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let layer = buurt_layer(&[(
        "BU01230101",
        Some("POLYGON((5.38 52.15,5.39 52.15,5.39 52.16,5.38 52.16,5.38 52.15))"),
    )]);
    let src = gpkg(dir.path(), "graden_als_rd.gpkg", &[layer]);
    let first = import_areas(&store, &src, &[]);
    first.assert_failed();
    assert!(
        first.error().contains("give the right one with --crs"),
        "{}",
        first.error()
    );

    // Follow the advice.
    import_areas(&store, &src, &["--crs", "EPSG:4326"]).assert_ok();
}

#[test]
fn a_bad_file_never_creates_a_store_that_did_not_exist() {
    let dir = tmp();
    let store = dir.path().join("nieuw.gpkg");
    let src = gpkg(
        dir.path(),
        "dubbel.gpkg",
        &[buurt_layer(&[
            ("BU01230101", Some(&square(X0, Y0, 500.0))),
            ("BU01230101", Some(&square(X0, Y0, 500.0))),
        ])],
    );
    import_areas(&store, &src, &[]).assert_failed();
    assert!(!store.exists());
    common::assert_no_temporary_files(dir.path());
}

/// A GeoPackage layer written without a CRS: GDAL gives it srs_id 0, "Undefined geographic SRS".
fn gpkg_without_crs(d: &Path) -> PathBuf {
    let layer = buurt_layer(&[("BU01230101", Some(&square(X0, Y0, 500.0)))]).crs(Crs::None);
    gpkg(d, "gpkg_zonder_crs.gpkg", &[layer])
}

#[test]
fn a_geopackage_layer_without_crs_is_rejected_naming_the_layer() {
    let (_dir, run) = rejected(gpkg_without_crs, &[]);
    run.assert_error_mentions(&["gpkg_zonder_crs.gpkg", "layer buurten"]);
}

#[test]
fn a_geopackage_layer_without_crs_asks_for_crs_and_is_accepted_with_it() {
    let (dir, run) = rejected(gpkg_without_crs, &[]);
    run.assert_error_mentions(&["no coordinate reference system", "--crs"]);
    let store = dir.path().join("s.gpkg");
    let src = dir.path().join("gpkg_zonder_crs.gpkg");
    import_areas(&store, &src, &["--crs", "EPSG:28992"]).assert_ok();
}
