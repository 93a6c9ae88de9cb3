//! End to end with GDAL's own OGC API Features client: the real binary on a loopback port,
//! `ogrinfo` and `ogr2ogr` against `OAPIF:http://127.0.0.1:PORT/ogc/v1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gdal::Dataset;
use gdal::vector::LayerAccess;
use geo::CoordsIter;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &Path, log: &Path) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_CONFIG")
        .env_remove("BUURTCIRKEL_AUTH")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        base: String::new(),
    };
    let out = server.child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let line = lines.next().unwrap().unwrap();
    let line = if line.contains("listens on") {
        line
    } else {
        lines.next().unwrap().unwrap()
    };
    server.base = line
        .split("listens on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("listens on line")
        .trim_end_matches('/')
        .to_string();
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/health", server.base)).send()
            && r.json::<serde_json::Value>()
                .is_ok_and(|v| v["data"] == "ready")
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server never ready");
}

fn gdal_tools() -> bool {
    Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn gdal_lists_buurten_and_copies_every_feature_through_paging() {
    if !gdal_tools() {
        let _ = writeln!(std::io::stderr(), "SKIP: ogrinfo/ogr2ogr not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let server = start(&store, &dir.path().join("server.log"));
    let url = format!("OAPIF:{}/ogc/v1", server.base);

    let info = Command::new("ogrinfo")
        .args(["-so", &url, "buurten"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(text.contains("Feature Count: 30"), "{text}");
    for field in [
        "code: String",
        "naam: String",
        "score: Real",
        "categorie: String",
        "deelnemers: String",
        "gemeentecode: String",
        "wijkcode: String",
        "rang: Integer",
    ] {
        assert!(text.contains(field), "{field} missing in\n{text}");
    }

    let out = dir.path().join("out.gpkg");
    let copy = Command::new("ogr2ogr")
        .args(["-f", "GPKG"])
        .arg(&out)
        .args([&url, "buurten", "-oo", "PAGE_SIZE=7"])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();

    // Every buurt arrives once, with coordinates within 1 cm of the store's.
    let data = buurtcirkel::store::Store::new(&store).load().unwrap();
    let to_rd = buurtcirkel::crs::Transformer::new("EPSG:4326", "EPSG:28992").unwrap();
    let ds = Dataset::open(&out).unwrap();
    let mut layer = ds.layer_by_name("buurten").unwrap();
    let mut seen = 0;
    for f in layer.features() {
        let code = f
            .field_as_string(f.field_index("code").unwrap())
            .unwrap()
            .unwrap();
        let area = data.areas.iter().find(|a| a.code.as_str() == code).unwrap();
        let g: geo_types::Geometry<f64> = f.geometry().unwrap().to_geo().unwrap();
        let got: Vec<geo_types::Coord<f64>> = g.coords_iter().collect();
        let want: Vec<geo_types::Coord<f64>> = area.geometry_rd.coords_iter().collect();
        assert_eq!(got.len(), want.len(), "{code}");
        for (a, b) in got.iter().zip(&want) {
            // GDAL keeps the GeoJSON x/y (lon/lat) order in the data it writes.
            let (x, y) = to_rd.point(a.x, a.y).unwrap();
            assert!(
                (x - b.x).abs() < 0.01 && (y - b.y).abs() < 0.01,
                "{code}: {x},{y} vs {b:?}"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 30, "server log:\n{log}");
}

#[test]
fn rd_new_paging_matches_the_store_to_the_centimetre() {
    // GDAL 3.7+ has `-oo CRS=EPSG:28992`; 3.6 (Debian 12) has not, so this follows the `next`
    // links itself with `crs=EPSG:28992` and also runs GDAL when it can.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let server = start(&store, &dir.path().join("server.log"));
    let data = buurtcirkel::store::Store::new(&store).load().unwrap();
    let http = reqwest::blocking::Client::new();
    let mut url = format!(
        "{}/ogc/v1/collections/buurten/items?limit=7&crs=http://www.opengis.net/def/crs/EPSG/0/28992",
        server.base
    );
    let mut seen = 0;
    loop {
        let r = http.get(&url).send().unwrap();
        assert_eq!(
            r.headers()["content-crs"],
            "<http://www.opengis.net/def/crs/EPSG/0/28992>"
        );
        let page: serde_json::Value = r.json().unwrap();
        for f in page["features"].as_array().unwrap() {
            let code = f["id"].as_str().unwrap();
            let area = data.areas.iter().find(|a| a.code.as_str() == code).unwrap();
            let g: geo_types::Geometry<f64> =
                geojson::Geometry::from_json_value(f["geometry"].clone())
                    .unwrap()
                    .try_into()
                    .unwrap();
            for (a, b) in g.coords_iter().zip(area.geometry_rd.coords_iter()) {
                assert!(
                    (a.x - b.x).abs() < 0.01 && (a.y - b.y).abs() < 0.01,
                    "{code}"
                );
            }
            seen += 1;
        }
        match page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(n) => url = n["href"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 30);

    let has_crs_option = Command::new("ogrinfo")
        .args(["--format", "OAPIF"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("name=\"CRS\""));
    if !has_crs_option {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: this GDAL's OAPIF driver has no CRS open option (GDAL < 3.7)"
        );
        return;
    }
    let out = dir.path().join("rd.gpkg");
    let copy = Command::new("ogr2ogr")
        .args(["-f", "GPKG"])
        .arg(&out)
        .arg(format!("OAPIF:{}/ogc/v1", server.base))
        .args(["buurten", "-oo", "PAGE_SIZE=7", "-oo", "CRS=EPSG:28992"])
        .output()
        .unwrap();
    assert!(
        copy.status.success(),
        "{}",
        String::from_utf8_lossy(&copy.stderr)
    );
    let ds = Dataset::open(&out).unwrap();
    let mut layer = ds.layer_by_name("buurten").unwrap();
    let mut n = 0;
    for f in layer.features() {
        let code = f
            .field_as_string(f.field_index("code").unwrap())
            .unwrap()
            .unwrap();
        let area = data.areas.iter().find(|a| a.code.as_str() == code).unwrap();
        let g: geo_types::Geometry<f64> = f.geometry().unwrap().to_geo().unwrap();
        for (a, b) in g.coords_iter().zip(area.geometry_rd.coords_iter()) {
            assert!(
                (a.x - b.x).abs() < 0.01 && (a.y - b.y).abs() < 0.01,
                "{code}"
            );
        }
        n += 1;
    }
    assert_eq!(n, 30);
}

/// GDAL's version as (major, minor), from `ogrinfo --version`.
fn gdal_version() -> (u32, u32) {
    let out = Command::new("ogrinfo").arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0.0")
        .trim_end_matches(',');
    let mut it = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

#[test]
fn gdal_reads_the_vector_tiles_of_a_collection_in_both_tile_matrix_sets() {
    if !gdal_tools() {
        let _ = writeln!(std::io::stderr(), "SKIP: ogrinfo not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let server = start(&store, &dir.path().join("server.log"));
    let http = reqwest::blocking::Client::new();
    let ogc = format!("{}/ogc/v1", server.base);

    // GDAL's OGCAPI driver walks collection -> tilesets -> tileset -> tiling-scheme. From 3.7
    // it builds one vector layer per tile matrix; 3.6 files the MVT link among the image
    // links (traced with gdb: its vector URL stays empty) and opens nothing for vector.
    let (major, minor) = gdal_version();
    let url = format!("OGCAPI:{ogc}/collections/wijken");
    let info = Command::new("ogrinfo")
        .args(["-ro", "-so", &url, "-oo", "API=TILES"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    if (major, minor) >= (3, 7) {
        assert!(
            info.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&info.stderr)
        );
        assert!(
            text.contains("Zoom level 12") || text.contains("wijken"),
            "{text}"
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: GDAL {major}.{minor}'s OGCAPI driver opens no vector tiles (fixed in 3.7); \
             the tiles are read with its MVT driver below"
        );
    }
    // Follow the links as that driver does, and read the tiles with GDAL's MVT driver.
    let get = |u: &str| -> serde_json::Value { http.get(u).send().unwrap().json().unwrap() };
    let rel = |v: &serde_json::Value, rel: &str| -> String {
        v["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == rel)
            .unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let coll = get(&format!("{ogc}/collections/wijken"));
    let sets = get(&rel(
        &coll,
        "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
    ));
    let mut read = 0;
    for ts in sets["tilesets"].as_array().unwrap() {
        let meta = get(&rel(ts, "self"));
        let tms = get(&rel(
            &meta,
            "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
        ));
        assert_eq!(tms["crs"], meta["crs"]);
        let lim = &meta["tileMatrixSetLimits"][12];
        let (row, col) = (
            lim["minTileRow"].as_u64().unwrap(),
            lim["maxTileCol"].as_u64().unwrap(),
        );
        let mut found = false;
        for r in row..=lim["maxTileRow"].as_u64().unwrap() {
            for c in lim["minTileCol"].as_u64().unwrap()..=col {
                let tile = rel(&meta, "item")
                    .replace("{tileMatrix}", "12")
                    .replace("{tileRow}", &r.to_string())
                    .replace("{tileCol}", &c.to_string());
                let resp = http.get(&tile).send().unwrap();
                if resp.status() != 200 {
                    continue;
                }
                let file = dir
                    .path()
                    .join(format!("{}-{r}-{c}.mvt", ts["crs"].as_str().unwrap().len()));
                std::fs::write(&file, resp.bytes().unwrap()).unwrap();
                let out = Command::new("ogrinfo")
                    .arg("-ro")
                    .arg("-al")
                    .arg("-so")
                    .arg(format!("MVT:{}", file.display()))
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "{text}");
                assert!(text.contains("Layer name: wijken"), "{text}");
                let count: u64 = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Feature Count: "))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap();
                assert!(count > 0);
                found = true;
            }
        }
        assert!(found, "no tile with features at level 12 of {}", ts["crs"]);
        read += 1;
    }
    assert_eq!(read, 2);
}
