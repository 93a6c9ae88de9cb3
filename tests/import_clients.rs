//! `import clients`, `import places` and `import circles` end to end: the real binary on a demo
//! store, with client files in every shape a care organisation sends them (CSV with comma or
//! semicolon, BOM or not, decimal comma or point; RD, WGS84 or another CRS; GeoJSON; GeoPackage),
//! read back from the GeoPackage. Clients are special-category personal data, so the tests also
//! check what must NOT reach the store: identifiers, free text, exact coordinates.
// Fixture helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach;
// a fixture that cannot be built is a broken test, so panicking with a message is right.
#![allow(clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use buurtcirkel::crs::{RD_NEW, Transformer, WGS84};
use buurtcirkel::model::{Client, snap};
use buurtcirkel::store::Store;
use common::{Crs, LayerSpec, Run, bytes_contain, import, snapshot, tmp, write_text};
use gdal::vector::OGRwkbGeometryType;
use geo_types::{Geometry, Point};

/// Client homes in RD New, a few metres off the 25 m grid, and where they must be stored.
const HOMES: [(f64, f64); 3] = [
    (150_005.0, 422_005.0),
    (151_240.0, 423_510.0),
    (152_497.0, 421_760.0),
];
const SNAPPED: [(f64, f64); 3] = [
    (150_000.0, 422_000.0),
    (151_250.0, 423_500.0),
    (152_500.0, 421_750.0),
];

/// A demo store in a new temporary folder.
fn demo() -> (tempfile::TempDir, PathBuf) {
    let dir = tmp();
    let store = common::demo_store(dir.path());
    (dir, store)
}

fn clients_of(store: &Path) -> Vec<Client> {
    Store::new(store).load().expect("load store").clients
}

fn positions(clients: &[Client]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = clients
        .iter()
        .map(|c| (c.position_rd.x(), c.position_rd.y()))
        .collect();
    p.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    p
}

fn sorted(mut v: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    v
}

/// Panics unless every stored client lies on the 25 m grid.
fn assert_on_25_m_grid(clients: &[Client]) {
    for c in clients {
        let (x, y) = (c.position_rd.x(), c.position_rd.y());
        assert!(
            x % 25.0 == 0.0 && y % 25.0 == 0.0,
            "a stored client is not on the 25 m grid: ({x}, {y})"
        );
    }
}

fn import_clients(store: &Path, file: &Path, extra: &[&str]) -> Run {
    import(store, "clients", file, extra)
}

/// `HOMES` in WGS84 longitude/latitude.
fn homes_lon_lat() -> Vec<(f64, f64)> {
    let t = Transformer::new(RD_NEW, WGS84).expect("RD to WGS84");
    HOMES
        .iter()
        .map(|&(x, y)| t.point(x, y).expect("transform"))
        .collect()
}

#[test]
fn a_semicolon_csv_with_a_bom_and_decimal_commas_is_stored_on_the_25_m_grid() {
    let (dir, store) = demo();
    let mut text = String::from("\u{feff}X;Y;Doelgroep\n");
    for (x, y) in HOMES {
        text.push_str(&format!("{x:.2};{y:.2};ggz\n").replace('.', ","));
    }
    let file = write_text(dir.path(), "clienten.csv", &text);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("3 clients kept"), "{}", run.stdout);
    let clients = clients_of(&store);
    assert_eq!(positions(&clients), SNAPPED.to_vec());
    assert_on_25_m_grid(&clients);
    assert!(
        clients
            .iter()
            .all(|c| c.doelgroep.as_deref() == Some("ggz")),
        "{clients:?}"
    );
}

#[test]
fn a_comma_csv_with_decimal_points_and_no_bom_is_stored_on_the_25_m_grid() {
    let (dir, store) = demo();
    let mut text = String::from("x,y,doelgroep\n");
    for (x, y) in HOMES {
        text.push_str(&format!("{:.3},{:.3},lvb\n", x + 0.125, y - 0.375));
    }
    let file = write_text(dir.path(), "clients.csv", &text);
    import_clients(&store, &file, &[]).assert_ok();
    let clients = clients_of(&store);
    assert_eq!(positions(&clients), SNAPPED.to_vec());
    assert_on_25_m_grid(&clients);
}

#[test]
fn a_comma_csv_with_quoted_decimal_commas_is_stored_on_the_25_m_grid() {
    let (dir, store) = demo();
    let mut text = String::from("x,y\n");
    for (x, y) in HOMES {
        text.push_str(&format!("\"{x:.1}\",\"{y:.1}\"\n").replace('.', ","));
    }
    let file = write_text(dir.path(), "clients.csv", &text);
    import_clients(&store, &file, &[]).assert_ok();
    assert_eq!(positions(&clients_of(&store)), SNAPPED.to_vec());
}

#[test]
fn lon_lat_columns_of_every_spelling_are_read_as_wgs84_and_reprojected_to_rd() {
    for (lon, lat) in [
        ("lon", "lat"),
        ("lng", "lat"),
        ("longitude", "latitude"),
        ("LON", "Lat"),
        ("Longitude", "LATITUDE"),
    ] {
        let (dir, store) = demo();
        let mut text = format!("{lat};{lon};doelgroep\n");
        for (x, y) in homes_lon_lat() {
            text.push_str(&format!("{y:.8};{x:.8};ouderen\n"));
        }
        let file = write_text(dir.path(), "c.csv", &text);
        let run = import_clients(&store, &file, &[]);
        run.assert_ok();
        assert!(
            run.stdout.contains("EPSG:4326"),
            "{lon}/{lat}: {}",
            run.stdout
        );
        let clients = clients_of(&store);
        assert_eq!(positions(&clients), SNAPPED.to_vec(), "{lon}/{lat}");
        assert_on_25_m_grid(&clients);
    }
}

#[test]
fn named_columns_in_web_mercator_are_reprojected_with_crs() {
    let (dir, store) = demo();
    let t = Transformer::new(RD_NEW, "EPSG:3857").expect("RD to Web Mercator");
    let mut text = String::from("oost;noord;doelgroep\n");
    for (x, y) in HOMES {
        let (e, n) = t.point(x, y).expect("transform");
        text.push_str(&format!("{e:.3};{n:.3};nieuwkomers\n"));
    }
    let file = write_text(dir.path(), "c.csv", &text);
    let run = import_clients(
        &store,
        &file,
        &[
            "--x-column",
            "OOST",
            "--y-column",
            "noord",
            "--crs",
            "EPSG:3857",
        ],
    );
    run.assert_ok();
    let clients = clients_of(&store);
    assert_eq!(positions(&clients), SNAPPED.to_vec());
    assert!(
        clients
            .iter()
            .all(|c| c.doelgroep.as_deref() == Some("nieuwkomers"))
    );
    // Without --crs the same columns are taken as RD New, and lie far outside the Netherlands.
    let before = snapshot(&store);
    import_clients(
        &store,
        &file,
        &["--x-column", "oost", "--y-column", "noord"],
    )
    .assert_failed()
    .assert_stderr_mentions(&["outside the Netherlands", "line 2"]);
    before.assert_unchanged();
}

#[test]
fn geojson_points_are_reprojected_from_crs84() {
    let (dir, store) = demo();
    let mut layer = LayerSpec::new("clienten")
        .crs(Crs::Epsg(4326))
        .geometry_type(OGRwkbGeometryType::wkbPoint)
        .text("doelgroep")
        .text("naam");
    for (i, (lon, lat)) in homes_lon_lat().into_iter().enumerate() {
        layer = layer.feature(
            &format!("POINT ({lon:.8} {lat:.8})"),
            cells!["GGZ", format!("Persoon {i}").as_str()],
        );
    }
    let file = dir.path().join("clienten.geojson");
    common::write_vector(&file, "GeoJSON", &[layer]);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("naam"), "{}", run.stdout);
    let clients = clients_of(&store);
    assert_eq!(positions(&clients), SNAPPED.to_vec());
    assert!(
        clients
            .iter()
            .all(|c| c.doelgroep.as_deref() == Some("ggz"))
    );
}

#[test]
fn a_geopackage_point_layer_in_rd_is_imported_with_its_doelgroep() {
    let (dir, store) = demo();
    let mut layer = LayerSpec::new("clients")
        .geometry_type(OGRwkbGeometryType::wkbPoint)
        .text("DOELGROEP")
        .int("leeftijd");
    for (i, (x, y)) in HOMES.into_iter().enumerate() {
        layer = layer.feature(
            &format!("POINT ({x} {y})"),
            cells![["lvb", "ouderen", "ggz"][i], 70 + i as i64],
        );
    }
    let file = dir.path().join("clients.gpkg");
    common::write_vector(&file, "GPKG", &[layer]);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    assert!(
        run.stdout.contains("columns dropped, not stored: leeftijd"),
        "{}",
        run.stdout
    );
    let clients = clients_of(&store);
    assert_eq!(positions(&clients), SNAPPED.to_vec());
    let mut groups: Vec<String> = clients.iter().filter_map(|c| c.doelgroep.clone()).collect();
    groups.sort();
    assert_eq!(groups, ["ggz", "lvb", "ouderen"]);
}

#[test]
fn doelgroep_values_outside_the_fixed_list_become_overig() {
    let (dir, store) = demo();
    let text = "x;y;DoelGroep\n\
                150005;422005; GGZ \n\
                150105;422005;Ouderen\n\
                150205;422005;Jan Jansen woont hier alleen\n\
                150305;422005;\n\
                150405;422005;nieuwkomers\n";
    let file = write_text(dir.path(), "c.csv", text);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("overig 1"), "{}", run.stdout);
    let mut clients = clients_of(&store);
    clients.sort_by(|a, b| a.position_rd.x().total_cmp(&b.position_rd.x()));
    let groups: Vec<Option<&str>> = clients.iter().map(|c| c.doelgroep.as_deref()).collect();
    assert_eq!(
        groups,
        [
            Some("ggz"),
            Some("ouderen"),
            Some("overig"),
            None,
            Some("nieuwkomers")
        ]
    );
    let bytes = common::store_bytes(&store);
    assert!(!bytes_contain(&bytes, b"Jan Jansen"));
}

#[test]
fn identifier_columns_are_dropped_with_a_loud_warning_and_never_reach_the_store() {
    let (dir, store) = demo();
    let text = "naam,bsn,geboortedatum,adres,telefoon,e-mail,x,y,doelgroep\n\
        Xanthippe Vermeulen-Quist,123456782,1950-03-14,Zonnebloemstraat 17,0612345678,xanthippe@example.org,150005,422005,ggz\n\
        Bartholomeus Zwart,987654321,1961-11-02,Lindelaan 4,0301234567,bz@example.org,150105,422105,lvb\n";
    let file = write_text(dir.path(), "clienten.csv", text);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    let warning = run
        .stdout
        .lines()
        .find(|l| l.contains("WARNING"))
        .unwrap_or_else(|| panic!("no WARNING line:\n{}", run.stdout));
    for c in [
        "naam",
        "bsn",
        "geboortedatum",
        "adres",
        "telefoon",
        "e-mail",
    ] {
        assert!(
            warning.contains(c),
            "the warning does not name {c}: {warning}"
        );
    }
    assert!(warning.contains("NOT stored"), "{warning}");
    // The report names the columns, never their values.
    for v in ["Xanthippe", "123456782", "Zonnebloemstraat", "xanthippe@"] {
        assert!(!run.stdout.contains(v) && !run.stderr.contains(v), "{v}");
    }

    assert_eq!(
        common::layer_fields(&Store::new(&store).private_path(), "clients"),
        // `cell_key` is the client's random perturbation key, drawn on import, not uploaded.
        ["doelgroep", "cell_key"]
    );
    let bytes = common::store_bytes(&store);
    for needle in [
        "Xanthippe",
        "Vermeulen-Quist",
        "123456782",
        "987654321",
        "1950-03-14",
        "Zonnebloemstraat",
        "0612345678",
        "xanthippe@example.org",
        "bz@example.org",
    ] {
        assert!(
            !bytes_contain(&bytes, needle.as_bytes()),
            "{needle:?} is in the raw bytes of the store"
        );
    }
    // Nor in the import log: it keeps the file name, kind and row count only.
    let log = Store::new(&store).load().expect("load").imports;
    let last = log.last().expect("a log entry");
    assert_eq!(
        (last.kind.as_str(), last.source.as_str(), last.rows),
        ("clients", "clienten.csv", 2)
    );
}

#[test]
fn every_column_but_location_and_doelgroep_is_dropped_and_listed_in_the_report() {
    let (dir, store) = demo();
    let text = "dossiernr;x;y;doelgroep;opmerking;wijkteam\n\
                A-17;150005;422005;ggz;belt vaak;Noord\n";
    let file = write_text(dir.path(), "c.csv", text);
    let run = import_clients(&store, &file, &[]);
    run.assert_ok();
    let dropped = run
        .stdout
        .lines()
        .find(|l| l.contains("columns dropped"))
        .unwrap_or_else(|| panic!("no dropped-columns line:\n{}", run.stdout));
    for c in ["dossiernr", "opmerking", "wijkteam"] {
        assert!(dropped.contains(c), "{c} not listed: {dropped}");
    }
    for c in ["doelgroep", " x", " y"] {
        assert!(!dropped.contains(c), "{c} listed as dropped: {dropped}");
    }
    assert_eq!(
        common::layer_fields(&Store::new(&store).private_path(), "clients"),
        // `cell_key` is the client's random perturbation key, drawn on import, not uploaded.
        ["doelgroep", "cell_key"]
    );
    let bytes = common::store_bytes(&store);
    for v in ["belt vaak", "A-17", "wijkteam", "opmerking"] {
        assert!(
            !bytes_contain(&bytes, v.as_bytes()),
            "{v:?} reached the store"
        );
    }
}

#[test]
fn points_outside_the_netherlands_are_rejected_with_their_line_numbers_and_no_coordinates() {
    let (dir, store) = demo();
    let before = snapshot(&store);
    // Line 3: Paris; line 5: the null island; line 6: RD-looking numbers far north of the coast.
    let text = "lon;lat\n\
                5,5403;51,9851\n\
                2,3522;48,8566\n\
                5,6012;51,9920\n\
                0;0\n";
    let file = write_text(dir.path(), "c.csv", text);
    let run = import_clients(&store, &file, &[]);
    run.assert_failed()
        .assert_stderr_mentions(&["line 3", "line 5", "outside the Netherlands"]);
    assert!(!run.stderr.contains("line 2") && !run.stderr.contains("line 4"));
    for v in ["2,3522", "2.3522", "48,8566", "48.8566"] {
        assert!(
            !run.stderr.contains(v),
            "the error repeats a coordinate: {v}"
        );
    }
    before.assert_unchanged();

    let rd = write_text(dir.path(), "rd.csv", "x;y\n150005;422005\n150005;822005\n");
    import_clients(&store, &rd, &[])
        .assert_failed()
        .assert_stderr_mentions(&["line 3", "outside the Netherlands"]);
    before.assert_unchanged();
}

#[test]
fn one_unparseable_number_fails_the_import_and_leaves_the_store_byte_identical() {
    let (dir, store) = demo();
    let before = snapshot(&store);
    let text = "x;y;doelgroep\n150005;422005;ggz\n150105;vierhonderd;ggz\n150205;422005;ggz\n";
    let file = write_text(dir.path(), "c.csv", text);
    let run = import_clients(&store, &file, &[]);
    run.assert_failed()
        .assert_stderr_mentions(&["line 3", "not a number", "--skip-invalid"]);
    assert!(!run.stderr.contains("line 2") && !run.stderr.contains("line 4"));
    before.assert_unchanged();
}

#[test]
fn a_missing_coordinate_fails_the_import_with_its_line_number() {
    let (dir, store) = demo();
    let before = snapshot(&store);
    let text = "x;y\n150005;422005\n;422005\n150205;\n150305;422005\n";
    let file = write_text(dir.path(), "c.csv", text);
    import_clients(&store, &file, &[])
        .assert_failed()
        .assert_stderr_mentions(&["2 of 4 rows", "line 3", "line 4", "missing"]);
    before.assert_unchanged();
}

#[test]
fn at_most_20_bad_rows_are_listed_and_the_rest_counted() {
    let (dir, store) = demo();
    let before = snapshot(&store);
    let mut text = String::from("x;y\n150005;422005\n");
    for _ in 0..25 {
        text.push_str("kapot;422005\n");
    }
    let file = write_text(dir.path(), "c.csv", &text);
    let run = import_clients(&store, &file, &[]);
    run.assert_failed();
    let listed = run
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("line "))
        .count();
    assert_eq!(listed, 20, "{}", run.stderr);
    assert!(run.stderr.contains("line 3:") && run.stderr.contains("line 22:"));
    assert!(!run.stderr.contains("line 23:"), "{}", run.stderr);
    assert!(run.stderr.contains("and 5 more"), "{}", run.stderr);
    assert!(run.stderr.contains("25 of 26 rows"), "{}", run.stderr);
    before.assert_unchanged();
}

#[test]
fn skip_invalid_imports_the_good_rows_and_reports_the_bad_ones() {
    let (dir, store) = demo();
    let text = "x;y;doelgroep\n\
                150005;422005;ggz\n\
                150105;;ggz\n\
                151240;423510;ggz\n\
                abc;422005;ggz\n\
                152497;421760;ggz\n\
                150005;922005;ggz\n";
    let file = write_text(dir.path(), "c.csv", text);
    let run = import_clients(&store, &file, &["--skip-invalid"]);
    run.assert_ok();
    assert!(
        run.stdout.contains("3 invalid rows skipped"),
        "{}",
        run.stdout
    );
    for l in ["line 3", "line 5", "line 7"] {
        assert!(run.stdout.contains(l), "{l} not reported:\n{}", run.stdout);
    }
    assert_eq!(positions(&clients_of(&store)), SNAPPED.to_vec());
}

#[test]
fn a_file_with_only_bad_rows_imports_nothing_even_with_skip_invalid() {
    let (dir, store) = demo();
    let before = snapshot(&store);
    let file = write_text(dir.path(), "c.csv", "x;y\n;\nabc;def\n");
    import_clients(&store, &file, &["--skip-invalid"]).assert_failed();
    before.assert_unchanged();
}

#[test]
fn a_re_import_replaces_the_previous_client_set_and_leaves_no_trace_of_it() {
    let (dir, store) = demo();
    // Set A: distinctive positions no demo layer uses (odd 25 m multiples).
    let a: Vec<(f64, f64)> = (0..6)
        .map(|i| (150_325.0 + 50.0 * f64::from(i), 422_675.0))
        .collect();
    let mut text = String::from("x;y\n");
    for (x, y) in &a {
        text.push_str(&format!("{x};{y}\n"));
    }
    let file_a = write_text(dir.path(), "a.csv", &text);
    import_clients(&store, &file_a, &[]).assert_ok();
    assert_eq!(positions(&clients_of(&store)), a);
    let bytes = common::store_bytes(&store);
    let pair = |x: f64, y: f64| [x.to_le_bytes(), y.to_le_bytes()].concat();
    assert!(
        bytes_contain(&bytes, &pair(a[0].0, a[0].1)),
        "the raw-byte check cannot see a stored point"
    );

    let mut text = String::from("x;y\n");
    for (x, y) in HOMES {
        text.push_str(&format!("{x};{y}\n"));
    }
    let file_b = write_text(dir.path(), "b.csv", &text);
    import_clients(&store, &file_b, &[]).assert_ok();
    assert_eq!(positions(&clients_of(&store)), SNAPPED.to_vec());
    let bytes = common::store_bytes(&store);
    for (x, y) in &a {
        assert!(
            !bytes_contain(&bytes, &pair(*x, *y)),
            "a client of the replaced set ({x}, {y}) is still in the raw bytes of the store"
        );
    }
    common::assert_no_temporary_files(dir.path());
}

#[test]
fn places_round_trip_with_name_and_kind() {
    let (dir, store) = demo();
    let text = "Naam;Soort;X;Y;beheerder\n\
                Wijkcentrum De Linde;Wijkcentrum;150012,5;422037,5;gemeente\n\
                Bibliotheek Oost;bibliotheek;151200;423400;stichting\n";
    let file = write_text(dir.path(), "plekken.csv", text);
    let run = import(&store, "places", &file, &[]);
    run.assert_ok();
    let mut places = Store::new(&store).load().expect("load").places;
    places.sort_by(|a, b| a.name.cmp(&b.name));
    let got: Vec<(&str, &str, f64, f64)> = places
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.kind.as_str(),
                p.position_rd.x(),
                p.position_rd.y(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Bibliotheek Oost", "bibliotheek", 151_200.0, 423_400.0),
            ("Wijkcentrum De Linde", "wijkcentrum", 150_012.5, 422_037.5),
        ]
    );
    // Re-import replaces.
    let file = write_text(dir.path(), "p2.csv", "naam;x;y\nKerk;150500;422500\n");
    import(&store, "places", &file, &[]).assert_ok();
    let places = Store::new(&store).load().expect("load").places;
    assert_eq!(places.len(), 1);
    assert_eq!(places[0].name, "Kerk");
}

#[test]
fn circles_as_points_and_as_polygons_round_trip() {
    let (dir, store) = demo();
    let polygon = common::rect(150_000.0, 422_000.0, 150_800.0, 422_600.0);
    let layer = LayerSpec::new("buurtcirkels")
        .text("naam")
        .feature("POINT (151000 423000)", cells!["Buurtcirkel Noord"])
        .feature(&polygon, cells!["Buurtcirkel Zuid"]);
    let file = dir.path().join("cirkels.gpkg");
    common::write_vector(&file, "GPKG", &[layer]);
    let run = import(&store, "circles", &file, &[]);
    run.assert_ok();
    let mut circles = Store::new(&store).load().expect("load").circles;
    circles.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(circles.len(), 2, "{circles:?}");
    assert_eq!(circles[0].name, "Buurtcirkel Noord");
    assert_eq!(
        circles[0].geometry_rd,
        Geometry::Point(Point::new(151_000.0, 423_000.0))
    );
    assert_eq!(circles[1].name, "Buurtcirkel Zuid");
    match &circles[1].geometry_rd {
        Geometry::Polygon(p) => {
            let mut xs: Vec<(f64, f64)> = p.exterior().coords().map(|c| (c.x, c.y)).collect();
            xs.dedup();
            assert_eq!(
                sorted(xs[..4].to_vec()),
                sorted(vec![
                    (150_000.0, 422_000.0),
                    (150_800.0, 422_000.0),
                    (150_800.0, 422_600.0),
                    (150_000.0, 422_600.0)
                ])
            );
        }
        other => panic!("the polygon circle came back as {other:?}"),
    }
}

#[test]
fn circles_in_geojson_are_reprojected_to_rd() {
    let (dir, store) = demo();
    let (lon, lat) = homes_lon_lat()[0];
    let layer = LayerSpec::new("cirkels")
        .crs(Crs::Epsg(4326))
        .text("naam")
        .feature(&format!("POINT ({lon:.9} {lat:.9})"), cells!["Cirkel"]);
    let file = dir.path().join("cirkels.geojson");
    common::write_vector(&file, "GeoJSON", &[layer]);
    import(&store, "circles", &file, &[]).assert_ok();
    let circles = Store::new(&store).load().expect("load").circles;
    let Geometry::Point(p) = circles[0].geometry_rd else {
        panic!("not a point: {:?}", circles[0].geometry_rd);
    };
    assert!(
        (p.x() - HOMES[0].0).abs() < 0.01 && (p.y() - HOMES[0].1).abs() < 0.01,
        "{p:?}"
    );
    // Only clients are snapped.
    assert_ne!(p.x(), snap(p.x(), 25.0));
}
