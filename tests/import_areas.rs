//! `import areas` end to end: every CBS schema we support, built as a fixture with GDAL,
//! imported by the real binary, and read back with `Store::load` and with `ogrinfo`.

mod common;

use buurtcirkel::ingest::NoProgress;
use buurtcirkel::ingest::areas::{AreaOptions, read_areas};
use buurtcirkel::model::Level;
use buurtcirkel::store::Store;
use common::{
    Crs, GM, LayerSpec, X0, Y0, areas_of, cbs_2022_gpkg, import_areas, level_counts,
    ogrinfo_counts, ogrinfo_where, rect, square, tmp, write_vector,
};
use gdal::vector::OGRwkbGeometryType;
use geo::BoundingRect;

#[test]
fn a_cbs_2022_geopackage_imports_all_three_levels_with_figures() {
    let dir = tmp();
    let src = dir.path().join("wijkenbuurten_2022.gpkg");
    cbs_2022_gpkg(&src);
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("import areas:"), "{}", run.stdout);
    assert!(run.stdout.contains("year: 2022"), "{}", run.stdout);
    assert!(
        run.stdout.contains("layer buurten: 5 features (5 buurt)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("layer wijken: 2 features (2 wijk)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("layer gemeenten: 1 features (1 gemeente)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("p_65plus <- percentage_personen_65_jaar_en_ouder"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("replaced gemeenten, wijken, buurten"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    assert_eq!(level_counts(&data), [1, 2, 5]);
    let gm = &areas_of(&data, Level::Gemeente)[GM];
    assert_eq!(gm.name, "Teststad");
    assert_eq!(gm.figures.inwoners, Some(5000.0));
    assert_eq!(gm.figures.p_65plus, Some(21.0));
    assert_eq!(gm.figures.p_eenpersoonshh, Some(38.0));
    assert_eq!(gm.figures.adresdichtheid, Some(1850.0));
    let bu = areas_of(&data, Level::Buurt);
    let centrum = &bu["BU01230101"];
    assert_eq!(centrum.name, "Centrum");
    assert!(!centrum.water);
    assert_eq!(centrum.figures.inwoners, Some(1500.0));
    assert_eq!(centrum.figures.p_65plus, Some(19.0));
    assert_eq!(centrum.figures.p_eenpersoonshh, Some(44.0));
    assert_eq!(centrum.figures.adresdichtheid, Some(2600.0));
    let r = centrum.geometry_rd.bounding_rect().expect("bbox");
    assert_eq!((r.min().x, r.min().y), (X0, Y0));
    assert_eq!((r.max().x, r.max().y), (X0 + 2000.0, Y0 + 2000.0));
    assert_eq!(data.imports.len(), 1);
    assert_eq!(data.imports[0].kind, "areas");
    assert_eq!(data.imports[0].source, "wijkenbuurten_2022.gpkg");
    assert_eq!(data.imports[0].cbs_year, Some(2022));
    assert_eq!(data.imports[0].rows, 8);

    let counts = ogrinfo_counts(&store);
    assert_eq!(counts["gemeenten"], 1);
    assert_eq!(counts["wijken"], 2);
    assert_eq!(counts["buurten"], 5);
    assert_eq!(counts["bc_imports"], 1);
}

#[test]
fn cbs_2022_sentinels_become_null_never_numbers() {
    let dir = tmp();
    let src = dir.path().join("wijkenbuurten_2022.gpkg");
    cbs_2022_gpkg(&src);
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("missing values:"), "{}", run.stdout);

    let data = Store::new(&store).load().expect("load");
    let bu = areas_of(&data, Level::Buurt);
    assert_eq!(bu["BU01230102"].figures.inwoners, None);
    assert_eq!(bu["BU01230102"].figures.p_65plus, None);
    assert_eq!(bu["BU01230102"].figures.p_eenpersoonshh, Some(30.0));
    assert_eq!(bu["BU01230201"].figures.adresdichtheid, None);
    assert_eq!(bu["BU01230201"].figures.inwoners, Some(1200.0));
    let wk = areas_of(&data, Level::Wijk);
    assert_eq!(wk["WK012302"].figures.p_65plus, None);
    assert_eq!(wk["WK012302"].figures.adresdichtheid, None);
    for a in &data.areas {
        for v in a.figures.values().into_iter().flatten() {
            assert!(v > -99_990.0, "{} holds the sentinel {v}", a.code);
        }
    }

    let dump = ogrinfo_where(&store, "buurten", "code = 'BU01230102'");
    assert!(dump.contains("inwoners (Real) = (null)"), "{dump}");
    assert!(dump.contains("p_65plus (Real) = (null)"), "{dump}");
    assert!(!dump.contains("-9999"), "{dump}");
}

#[test]
fn a_water_buurt_flagged_ja_is_kept_and_flagged() {
    let dir = tmp();
    let src = dir.path().join("wijkenbuurten_2022.gpkg");
    cbs_2022_gpkg(&src);
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("water-only areas flagged: 1"),
        "{}",
        run.stdout
    );
    let data = Store::new(&store).load().expect("load");
    let bu = areas_of(&data, Level::Buurt);
    assert!(bu["BU01230203"].water);
    assert_eq!(bu.values().filter(|a| a.water).count(), 1);
    let dump = ogrinfo_where(&store, "buurten", "water = 1");
    assert!(dump.contains("code (String) = BU01230203"), "{dump}");
}

fn buurt_2019_shapefile(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("buurt_2019.shp");
    let layer = LayerSpec::new("buurt_2019")
        .geometry_type(OGRwkbGeometryType::wkbPolygon)
        .text("BU_CODE")
        .text("BU_NAAM")
        .text("WK_CODE")
        .text("GM_CODE")
        .int("AANT_INW")
        .int("P_65_EO_JR")
        .int("P_EENP_HH")
        .text("H2O")
        .feature(
            &square(X0, Y0, 2000.0),
            cells!["BU01230101", "Centrum", "WK012301", GM, 1450, 18, 43, "NEE"],
        )
        .feature(
            &square(X0, Y0 + 2000.0, 2000.0),
            cells![
                "BU01230102",
                "Molenerf",
                "WK012301",
                GM,
                -99_999_999,
                -99_999_999,
                29,
                "NEE"
            ],
        )
        .feature(
            &square(X0 + 2000.0, Y0, 2000.0),
            cells![
                "BU01230201",
                "Hoevepark",
                "WK012302",
                GM,
                1180,
                26,
                -99_999_997,
                "NEE"
            ],
        )
        .feature(
            &square(X0 + 2000.0, Y0 + 2000.0, 2000.0),
            cells![
                "BU01230299",
                "Het Meer",
                "WK012302",
                GM,
                0,
                -99_999_999,
                -99_999_999,
                "JA"
            ],
        );
    write_vector(&src, "ESRI Shapefile", &[layer]);
    src
}

#[test]
fn an_old_cbs_shapefile_with_short_names_imports_its_buurten() {
    let dir = tmp();
    let src = buurt_2019_shapefile(dir.path());
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("year: 2019"), "{}", run.stdout);
    assert!(
        run.stdout.contains("4 features (4 buurt)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("code <- BU_CODE"), "{}", run.stdout);
    assert!(
        run.stdout.contains("inwoners <- AANT_INW"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("water <- H2O"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("replaced buurten; kept gemeenten, wijken"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    assert_eq!(level_counts(&data), [0, 0, 4]);
    let bu = areas_of(&data, Level::Buurt);
    assert_eq!(bu["BU01230101"].name, "Centrum");
    assert_eq!(bu["BU01230101"].figures.inwoners, Some(1450.0));
    assert_eq!(bu["BU01230101"].figures.p_65plus, Some(18.0));
    assert_eq!(bu["BU01230101"].figures.p_eenpersoonshh, Some(43.0));
    assert_eq!(bu["BU01230102"].figures.inwoners, None);
    assert_eq!(bu["BU01230102"].figures.p_65plus, None);
    assert_eq!(bu["BU01230201"].figures.p_eenpersoonshh, None);
    assert!(bu["BU01230299"].water);
    assert!(!bu["BU01230101"].water);
    assert_eq!(data.imports[0].cbs_year, Some(2019));

    let counts = ogrinfo_counts(&store);
    assert_eq!(counts["buurten"], 4);
    let dump = ogrinfo_where(&store, "buurten", "code = 'BU01230102'");
    assert!(dump.contains("inwoners (Real) = (null)"), "{dump}");
}

#[test]
fn a_buurt_file_replaces_only_the_buurten_of_an_existing_store() {
    let dir = tmp();
    let store = common::demo_store(dir.path());
    let src = buurt_2019_shapefile(dir.path());

    import_areas(&store, &src, &[]).assert_ok();

    let data = Store::new(&store).load().expect("load");
    // The demo's gemeente and wijken stay; its 30 buurten are replaced by the file's 4.
    assert_eq!(level_counts(&data), [1, 5, 4]);
    assert!(areas_of(&data, Level::Gemeente).contains_key("GM9999"));
    assert!(
        !data.clients.is_empty(),
        "clients must survive an area import"
    );
    assert_eq!(data.imports.len(), 2);
    assert_eq!(data.imports[1].source, "buurt_2019.shp");
    let counts = ogrinfo_counts(&store);
    assert_eq!(counts["buurten"], 4);
    assert_eq!(counts["wijken"], 5);
    assert_eq!(counts["gemeenten"], 1);
}

/// The RD New origin (155000, 463000) in WGS 84 longitude/latitude.
const ORIGIN_LON: f64 = 5.387_204;
const ORIGIN_LAT: f64 = 52.155_172;

#[test]
fn a_geojson_in_longitude_latitude_is_reprojected_to_rd_new() {
    let dir = tmp();
    let src = dir.path().join("buurten_wgs84.geojson");
    let (lon, lat) = (ORIGIN_LON, ORIGIN_LAT);
    let layer = LayerSpec::new("buurten")
        .crs(Crs::Epsg(4326))
        .text("buurtcode")
        .text("buurtnaam")
        .int("aantal_inwoners")
        .feature(
            &rect(lon, lat, lon + 0.01, lat + 0.005),
            cells!["BU03070101", "Oorsprong", 800],
        )
        .feature(
            &rect(lon + 0.01, lat, lon + 0.02, lat + 0.005),
            cells!["BU03070102", "Naast de oorsprong", 650],
        );
    write_vector(&src, "GeoJSON", &[layer]);
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("reprojected to EPSG:28992"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    let bu = areas_of(&data, Level::Buurt);
    assert_eq!(bu.len(), 2);
    let poly = &bu["BU03070101"].geometry_rd.0[0];
    let nearest = poly
        .exterior()
        .coords()
        .map(|c| ((c.x - 155_000.0).powi(2) + (c.y - 463_000.0).powi(2)).sqrt())
        .fold(f64::INFINITY, f64::min);
    assert!(
        nearest < 0.5,
        "no vertex within 0.5 m of RD (155000, 463000); nearest is {nearest:.3} m away: {:?}",
        poly.exterior().0
    );
    // 0.01° of longitude is about 680 m here, 0.005° of latitude about 556 m.
    let r = bu["BU03070101"].geometry_rd.bounding_rect().expect("bbox");
    let (w, h) = (r.width(), r.height());
    assert!(
        (600.0..760.0).contains(&w) && (500.0..620.0).contains(&h),
        "{w} x {h}"
    );
    assert_eq!(bu["BU03070101"].figures.inwoners, Some(800.0));
}

#[test]
fn a_buurt_with_water_code_99_and_no_water_column_is_kept_and_flagged() {
    let dir = tmp();
    let src = dir.path().join("buurten.gpkg");
    let layer = LayerSpec::new("buurten")
        .text("buurtcode")
        .text("buurtnaam")
        .feature(&square(X0, Y0, 1000.0), cells!["BU01230101", "Land"])
        .feature(
            &square(X0 + 1000.0, Y0, 1000.0),
            cells!["BU01239901", "Meer"],
        );
    write_vector(&src, "GPKG", &[layer]);
    let store = dir.path().join("s.gpkg");

    let run = import_areas(&store, &src, &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("water-only areas flagged: 1"),
        "{}",
        run.stdout
    );
    let bu = areas_of(&Store::new(&store).load().expect("load"), Level::Buurt);
    assert_eq!(bu.len(), 2);
    assert!(bu["BU01239901"].water);
    assert!(!bu["BU01230101"].water);
}

fn custom_schema(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("gebieden_eigen.gpkg");
    let layer = LayerSpec::new("gebieden")
        .text("ID")
        .text("OMSCHRIJVING")
        .int("TOTAAL_INW")
        .real("OUDEREN_PCT")
        .feature(
            &square(X0, Y0, 2000.0),
            cells!["BU01230101", "Centrum", 1500, 19.5],
        )
        .feature(
            &square(X0, Y0 + 2000.0, 2000.0),
            cells!["WK012301", "West", 2800, 24.25],
        );
    write_vector(&src, "GPKG", &[layer]);
    src
}

#[test]
fn a_custom_schema_imports_with_a_mapping_file() {
    let dir = tmp();
    let src = custom_schema(dir.path());
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "[columns]\ncode = \"ID\"\nname = \"OMSCHRIJVING\"\ninwoners = \"TOTAAL_INW\"\np_65plus = \"OUDEREN_PCT\"\n",
    )
    .expect("write mapping");
    let store = dir.path().join("s.gpkg");

    let run = import_areas(
        &store,
        &src,
        &["--mapping", mapping.to_str().expect("utf-8")],
    );
    run.assert_ok();
    assert!(run.stdout.contains("code <- ID"), "{}", run.stdout);
    assert!(
        run.stdout.contains("p_65plus <- OUDEREN_PCT"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 features (1 buurt, 1 wijk)"),
        "{}",
        run.stdout
    );

    let data = Store::new(&store).load().expect("load");
    assert_eq!(level_counts(&data), [0, 1, 1]);
    let bu = areas_of(&data, Level::Buurt);
    assert_eq!(bu["BU01230101"].name, "Centrum");
    assert_eq!(bu["BU01230101"].figures.inwoners, Some(1500.0));
    assert_eq!(bu["BU01230101"].figures.p_65plus, Some(19.5));
    let wk = areas_of(&data, Level::Wijk);
    assert_eq!(wk["WK012301"].figures.p_65plus, Some(24.25));
    let counts = ogrinfo_counts(&store);
    assert_eq!((counts["wijken"], counts["buurten"]), (1, 1));
}

#[test]
fn a_custom_schema_without_a_mapping_file_is_refused_pointing_at_mapping() {
    let dir = tmp();
    let src = custom_schema(dir.path());
    let store = dir.path().join("s.gpkg");

    import_areas(&store, &src, &[])
        .assert_failed()
        .assert_error_mentions(&["gebieden_eigen.gpkg", "layer gebieden", "--mapping"]);
    assert!(!store.exists(), "a failed import must not create a store");
}

#[test]
fn a_mapping_naming_a_missing_column_is_refused_naming_the_column() {
    let dir = tmp();
    let src = custom_schema(dir.path());
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, "[columns]\ncode = \"CBS_ID\"\n").expect("write mapping");
    let store = dir.path().join("s.gpkg");

    import_areas(
        &store,
        &src,
        &["--mapping", mapping.to_str().expect("utf-8")],
    )
    .assert_failed()
    .assert_error_mentions(&["mapping file", "'CBS_ID'", "layer gebieden"]);
    assert!(!store.exists());
}

#[test]
fn a_mapping_with_an_unknown_field_is_refused_listing_the_known_ones() {
    let dir = tmp();
    let src = custom_schema(dir.path());
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(
        &mapping,
        "[columns]\ncode = \"ID\"\nbevolking = \"TOTAAL_INW\"\n",
    )
    .expect("write mapping");
    let store = dir.path().join("s.gpkg");

    import_areas(
        &store,
        &src,
        &["--mapping", mapping.to_str().expect("utf-8")],
    )
    .assert_failed()
    .assert_error_mentions(&["mapping.toml", "'bevolking'", "inwoners"]);
}

#[test]
fn the_library_reads_a_cbs_geopackage_without_touching_a_store() {
    let dir = tmp();
    let src = dir.path().join("wijkenbuurten_2022.gpkg");
    cbs_2022_gpkg(&src);

    let import = read_areas(&src, &AreaOptions::default(), &NoProgress).expect("read");
    assert_eq!(import.areas.len(), 8);
    assert_eq!(import.report.year, Some(2022));
    assert_eq!(import.report.features(), 8);
    let buurten = import
        .report
        .layers
        .iter()
        .find(|l| l.name == "buurten")
        .expect("buurten layer");
    assert_eq!(buurten.levels.get("buurt"), Some(&5));
    assert_eq!(buurten.water, 1);
    assert!(!buurten.reprojected);
    // BU01230102 (inwoners, 65+) and BU01230203 (65+, eenpersoons, adresdichtheid) carry
    // sentinels, BU01230201 one more for adresdichtheid.
    assert_eq!(buurten.missing.get("inwoners"), Some(&1));
    assert_eq!(buurten.missing.get("p_65plus"), Some(&2));
    assert_eq!(buurten.missing.get("adresdichtheid"), Some(&2));
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
}
