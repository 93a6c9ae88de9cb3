//! Vector tiles decoded and checked against the source, and the privacy guard tested like an
//! attacker: high-zoom tiles, tiny bboxes, weight tricks and repeated overlapping queries must
//! reveal no client location and no count finer than the buckets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::store::StoreData;
use geozero::mvt::{Message, Tile};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const BUCKETS: [&str; 4] = ["<5", "5-8", "9-12", ">12"];

fn demo() -> (StoreData, axum::Router) {
    let d = buurtcirkel::demo::generate();
    let data = StoreData {
        areas: d.areas,
        clients: d.clients,
        // The demo's fictional clients: the store opens everything (docs/privacy.md, Tiers).
        clients_demo: true,
        places: d.places,
        circles: d.circles,
        ..Default::default()
    };
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(data.clone()).unwrap();
    (data, router(state))
}

async fn get(
    app: &axum::Router,
    uri: &str,
    etag: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::get(uri).header("host", "test");
    if let Some(e) = etag {
        b = b.header("if-none-match", e);
    }
    let r = app
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (s, h) = (r.status(), r.headers().clone());
    (
        s,
        h,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// The tile x/y of a lon/lat at zoom z.
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat_r = lat.to_radians();
    let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
        .floor() as u32;
    (x, y)
}

/// lon/lat of tile coordinates (px, py) in tile z/x/y with extent 4096.
fn lonlat_of(z: u8, x: u32, y: u32, px: i64, py: i64) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let fx = (f64::from(x) + px as f64 / 4096.0) / n;
    let fy = (f64::from(y) + py as f64 / 4096.0) / n;
    let lon = fx * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * fy))
        .sinh()
        .atan()
        .to_degrees();
    (lon, lat)
}

/// Decodes MVT geometry commands into absolute tile coordinates.
fn decode_points(geometry: &[u32]) -> Vec<(i64, i64)> {
    let (mut i, mut x, mut y) = (0, 0i64, 0i64);
    let mut out = Vec::new();
    while i < geometry.len() {
        let (cmd, count) = (geometry[i] & 7, geometry[i] >> 3);
        i += 1;
        if cmd == 7 {
            continue;
        }
        for _ in 0..count {
            let dx = i64::from((geometry[i] >> 1) as i32 ^ -((geometry[i] & 1) as i32));
            let dy = i64::from((geometry[i + 1] >> 1) as i32 ^ -((geometry[i + 1] & 1) as i32));
            x += dx;
            y += dy;
            out.push((x, y));
            i += 2;
        }
    }
    out
}

/// An area of the store and the x/y of the zoom-`z` tile over a point inside it.
fn tile_over<'a>(
    data: &'a StoreData,
    code: &str,
    z: u8,
) -> (&'a buurtcirkel::model::Area, u32, u32) {
    let to_wgs = buurtcirkel::crs::Transformer::new("EPSG:28992", "EPSG:4326").unwrap();
    let area = data.areas.iter().find(|a| a.code.as_str() == code).unwrap();
    let p = geo::InteriorPoint::interior_point(&area.geometry_rd).unwrap();
    let (lon, lat) = to_wgs.point(p.x(), p.y()).unwrap();
    let (x, y) = tile_of(lon, lat, z);
    (area, x, y)
}

#[tokio::test]
async fn a_buurten_tile_holds_the_source_shapes_and_attributes() {
    let (data, app) = demo();
    let z = 14;
    let (area, x, y) = tile_over(&data, "BU99990101", z);
    let uri = format!("/ogc/v1/collections/buurten/tiles/WebMercatorQuad/{z}/{y}/{x}");
    let (status, headers, body) = get(&app, &uri, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (again, _, empty) = get(&app, &uri, Some(&etag)).await;
    assert_eq!(again, 304);
    assert!(empty.is_empty());

    let tile = Tile::decode(&body[..]).unwrap();
    assert_eq!(tile.layers.len(), 1);
    let layer = &tile.layers[0];
    assert_eq!(layer.name, "buurten");
    assert_eq!(layer.extent, Some(4096));
    let items: Value = serde_json::from_slice(
        &get(&app, "/ogc/v1/collections/buurten/items?limit=100", None)
            .await
            .2,
    )
    .unwrap();
    let mut found = false;
    for f in &layer.features {
        let mut attrs = serde_json::Map::new();
        for kv in f.tags.chunks(2) {
            let k = &layer.keys[kv[0] as usize];
            let v = &layer.values[kv[1] as usize];
            let v = v
                .string_value
                .clone()
                .map(Value::from)
                .or(v.double_value.map(Value::from))
                .or(v.sint_value.map(Value::from))
                .unwrap();
            attrs.insert(k.clone(), v);
        }
        for k in ["code", "naam", "score", "categorie", "deelnemers"] {
            assert!(attrs.contains_key(k), "tile feature lacks {k}: {attrs:?}");
        }
        let code = attrs["code"].as_str().unwrap();
        let item = items["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == code)
            .unwrap();
        for k in ["naam", "score", "categorie", "deelnemers"] {
            assert_eq!(attrs[k], item["properties"][k], "{code} {k}");
        }
        // The missing causes travel as one letter per criterion (`.` known, `c` CBS: niet
        // gepubliceerd, `g` niet geladen, `n` niet van toepassing), the same as the item's.
        let causes = attrs["ontbreekt"].as_str().expect("ontbreekt");
        assert_eq!(
            causes.len(),
            buurtcirkel::analysis::weights::CRITERIA,
            "{causes}"
        );
        assert!(causes.chars().all(|c| ".cgn".contains(c)), "{causes}");
        assert_eq!(
            attrs["ontbreekt"], item["properties"]["ontbreekt"],
            "{code}"
        );
        if causes.contains('c') {
            assert!(
                item["properties"]["ontbrekend"]
                    .as_str()
                    .is_some_and(|t| t.contains("CBS: niet gepubliceerd")),
                "{code}"
            );
        }
        if code == "BU99990101" {
            found = true;
            // Every vertex inside the tile lies on or near the buurt's boundary: within a few
            // tile units (simplification tolerance one unit, ~10 m at z14) of it.
            let to_rd = buurtcirkel::crs::Transformer::new("EPSG:4326", "EPSG:28992").unwrap();
            let rings: Vec<geo_types::LineString<f64>> = area
                .geometry_rd
                .0
                .iter()
                .flat_map(|p| {
                    std::iter::once(p.exterior().clone()).chain(p.interiors().iter().cloned())
                })
                .collect();
            let boundary = geo_types::MultiLineString::new(rings);
            for (px, py) in decode_points(&f.geometry) {
                if !(0..=4096).contains(&px) || !(0..=4096).contains(&py) {
                    continue;
                }
                let (vlon, vlat) = lonlat_of(z, x, y, px, py);
                let (vx, vy) = to_rd.point(vlon, vlat).unwrap();
                let d =
                    geo::Distance::distance(&geo::Euclidean, &geo::Point::new(vx, vy), &boundary);
                assert!(d < 40.0, "vertex {vlon},{vlat} is {d} m from the boundary");
            }
        }
    }
    assert!(found, "BU99990101 is in its own tile");
    let stats = String::from_utf8(get(&app, "/metrics", None).await.2).unwrap();
    assert!(
        stats.contains("buurtcirkel_cache_hits_total{cache=\"tiles\"} 1"),
        "{stats}"
    );
}

/// (code, categorie) of every feature in an MVT tile.
fn categories(body: &[u8]) -> Vec<(String, String)> {
    let tile = Tile::decode(body).unwrap();
    let layer = &tile.layers[0];
    let mut out: Vec<(String, String)> = layer
        .features
        .iter()
        .map(|f| {
            let mut code = String::new();
            let mut cat = String::new();
            for kv in f.tags.chunks(2) {
                let v = layer.values[kv[1] as usize].string_value.clone();
                match layer.keys[kv[0] as usize].as_str() {
                    "code" => code = v.unwrap(),
                    "categorie" => cat = v.unwrap_or_default(),
                    _ => {}
                }
            }
            (code, cat)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_tile_with_analysis_parameters_has_that_sets_colours_and_leaves_the_default_as_it_was() {
    let (data, app) = demo();
    // A zoom-12 tile over the middle of the demo gemeente.
    let (_, x, y) = tile_over(&data, "BU99990201", 12);
    let tile = &format!("/ogc/v1/collections/buurten/tiles/WebMercatorQuad/12/{y}/{x}");
    let (s0, h0, default) = get(&app, tile, None).await;
    assert_eq!(s0, 200);
    // The same tile again comes from the cache: the same bytes and ETag.
    let (s1, h1, again) = get(&app, tile, None).await;
    assert_eq!((s1, &again), (StatusCode::OK, &default));
    assert_eq!(h0["etag"], h1["etag"]);

    let q = "w_participants=0&w_p_65plus=10&w_p_laag_inkomen=0";
    let (s2, h2, tuned) = get(&app, &format!("{tile}?{q}"), None).await;
    assert_eq!(s2, 200);
    assert_ne!(
        h0["etag"], h2["etag"],
        "another parameter set, another tile"
    );
    let items: Value = serde_json::from_slice(
        &get(
            &app,
            &format!("/ogc/v1/collections/buurten/items?limit=1000&{q}"),
            None,
        )
        .await
        .2,
    )
    .unwrap();
    let expected = |code: &str| {
        items["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == code)
            .map(|f| {
                f["properties"]["categorie"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .unwrap()
    };
    let tuned = categories(&tuned);
    assert!(tuned.len() > 3, "the tile over the demo holds buurten");
    for (code, cat) in &tuned {
        assert_eq!(cat, &expected(code), "{code} in the tuned tile");
    }
    assert_ne!(tuned, categories(&default), "the weights change a colour");
    let (_, h3, after) = get(&app, tile, None).await;
    assert_eq!((after, &h3["etag"]), (default, &h0["etag"]));
}

#[tokio::test]
async fn an_empty_tile_is_204_and_the_tileset_describes_the_layer() {
    let (_, app) = demo();
    let (s, h, b) = get(
        &app,
        "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/10/0/0",
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert!(b.is_empty());
    assert!(h.contains_key("etag"));
    let (s, _, b) = get(
        &app,
        "/ogc/v1/collections/buurten/tiles/WebMercatorQuad",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let ts: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(
        ts["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    assert_eq!(ts["maxzoom"], 16);
    assert!(ts["tiles"][0].as_str().unwrap().ends_with("/{z}/{y}/{x}"));
    assert!(ts["vector_layers"][0]["fields"]["score"].is_string());
}

/// Every text form a client coordinate could take in a response.
fn client_needles(data: &StoreData) -> Vec<String> {
    let to_wgs = buurtcirkel::crs::Transformer::new("EPSG:28992", "EPSG:4326").unwrap();
    let mut out = Vec::new();
    // A client who happens to live at a public meeting place's spot: that coordinate is public.
    let mut public: Vec<geo_types::Point<f64>> =
        data.places.iter().map(|p| p.position_rd).collect();
    for c in &data.circles {
        public.extend(geo::CoordsIter::coords_iter(&c.geometry_rd).map(geo_types::Point::from));
    }
    for c in data.clients.iter().filter(|c| {
        !public.iter().any(|p| {
            (p.x() - c.position_rd.x()).abs() < 1.0 && (p.y() - c.position_rd.y()).abs() < 1.0
        })
    }) {
        let (x, y) = (c.position_rd.x(), c.position_rd.y());
        out.push(format!("[{x},{y}]"));
        out.push(format!("[{x}.0,{y}.0]"));
        let (lon, lat) = to_wgs.point(x, y).unwrap();
        for d in [1e7, 1e6, 1e5] {
            let (a, b) = ((lon * d).round() / d, (lat * d).round() / d);
            out.push(format!("[{a},{b}]"));
            out.push(format!("[{b},{a}]"));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn assert_no_client_data(text: &str, needles: &[String], what: &str) {
    for n in needles {
        assert!(
            !text.contains(n.as_str()),
            "{what} contains client coordinate {n}"
        );
    }
    for key in ["\"clients\"", "doelgroep", "\"count\"", "\"aantal\""] {
        assert!(!text.contains(key), "{what} mentions {key}");
    }
}

#[tokio::test]
async fn no_response_reveals_a_client_location_or_an_exact_count() {
    let (data, app) = demo();
    assert!(!data.clients.is_empty());
    let needles = client_needles(&data);
    let to_wgs = buurtcirkel::crs::Transformer::new("EPSG:28992", "EPSG:4326").unwrap();

    // Every collection in every CRS, and with extreme weights.
    for coll in buurtcirkel::release::layers::COLLECTIONS {
        for q in [
            "",
            "&crs=EPSG:28992",
            "&crs=EPSG:4326",
            "&walk_m=100&min_participants=5",
            "&w_participants=1000&w_p_65plus=0&w_p_eenpersoonshh=0&w_p_laag_inkomen=0&w_adresdichtheid=0&w_meeting_place=0&w_no_existing_circle=0&w_p_sociale_huur=0&w_p_bijstand=0&w_laag_woz=0",
        ] {
            let (s, _, b) = get(
                &app,
                &format!("/ogc/v1/collections/{coll}/items?limit=10000{q}"),
                None,
            )
            .await;
            assert_eq!(s, 200, "{coll}{q}");
            let text = String::from_utf8(b).unwrap();
            assert_no_client_data(&text, &needles, &format!("{coll}{q}"));
            let v: Value = serde_json::from_str(&text).unwrap();
            for f in v["features"].as_array().unwrap() {
                if let Some(d) = f["properties"].get("deelnemers").and_then(Value::as_str) {
                    assert!(
                        BUCKETS.contains(&d),
                        "{coll}: deelnemers {d} is not a bucket"
                    );
                }
            }
        }
    }

    // Tiny bboxes around each of the first clients: at most the published areas come back,
    // never a point, and the cluster layer answers with generalised polygons only.
    for c in data.clients.iter().step_by(7).take(10) {
        let (x, y) = (c.position_rd.x(), c.position_rd.y());
        for coll in ["clusters", "sites", "buurten"] {
            let (s, _, b) = get(&app, &format!("/ogc/v1/collections/{coll}/items?bbox-crs=EPSG:28992&bbox={},{},{},{}&crs=EPSG:28992", x - 0.5, y - 0.5, x + 0.5, y + 0.5), None).await;
            assert_eq!(s, 200);
            let text = String::from_utf8(b).unwrap();
            assert_no_client_data(&text, &needles, coll);
            assert!(
                !text.contains("\"Point\""),
                "{coll} published a point near a client"
            );
        }
        // Zoom 16 tiles over a client: only published shapes, whose vertices sit on the 250 m
        // coarse grid for clusters (docs/privacy.md), never on a client's own 25 m cell.
        let (lon, lat) = to_wgs.point(x, y).unwrap();
        let (tx, ty) = tile_of(lon, lat, 16);
        for coll in ["clusters", "sites", "buurten"] {
            let (s, _, b) = get(
                &app,
                &format!("/ogc/v1/collections/{coll}/tiles/WebMercatorQuad/16/{ty}/{tx}"),
                None,
            )
            .await;
            assert!(s == 200 || s == 204);
            if s == 200 {
                let t = Tile::decode(&b[..]).unwrap();
                for f in &t.layers[0].features {
                    assert_ne!(f.r#type, Some(1), "{coll} tile holds a point");
                }
                for v in &t.layers[0].values {
                    if let Some(s) = &v.string_value
                        && t.layers[0].keys.iter().any(|k| k == "deelnemers")
                        && s.chars().all(|c| c.is_ascii_digit())
                    {
                        panic!("{coll} tile has a bare number {s}");
                    }
                }
            }
        }
    }

    // Cluster outlines are made of whole cells of the 250 m coarse grid in RD New (edges at
    // 250 k + 12.5 m, 12.5 m off the client grid): every vertex coordinate lies on it.
    let (_, _, b) = get(
        &app,
        "/ogc/v1/collections/clusters/items?crs=EPSG:28992&limit=10000",
        None,
    )
    .await;
    let v: Value = serde_json::from_slice(&b).unwrap();
    fn numbers(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
            Value::Number(n) => out.extend(n.as_f64()),
            _ => {}
        }
    }
    let mut vertices = Vec::new();
    for f in v["features"].as_array().unwrap() {
        numbers(&f["geometry"]["coordinates"], &mut vertices);
    }
    for n in vertices {
        assert!(
            ((n - 12.5) / 250.0).fract() == 0.0,
            "vertex {n} is off the coarse grid (250 m, 12.5 m off the client grid)"
        );
    }
}

#[tokio::test]
async fn weight_tricks_cannot_recover_a_count_finer_than_the_bucket() {
    let (_, app) = demo();
    // With only the participant criterion weighted, the score is a function of the bucket: all
    // areas in one bucket score the same, so at most four distinct scores can appear.
    let mut all = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for w in ["1", "3", "999"] {
        let uri = format!(
            "/ogc/v1/collections/buurten/items?limit=10000&w_participants={w}&w_p_65plus=0&w_p_eenpersoonshh=0&w_p_laag_inkomen=0&w_adresdichtheid=0&w_meeting_place=0&w_no_existing_circle=0&w_p_sociale_huur=0&w_p_bijstand=0&w_laag_woz=0"
        );
        let (s, _, b) = get(&app, &uri, None).await;
        assert_eq!(s, 200);
        let v: Value = serde_json::from_slice(&b).unwrap();
        let mut by_bucket =
            std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for f in v["features"].as_array().unwrap() {
            let p = &f["properties"];
            let bucket = p["deelnemers"].as_str().unwrap_or("-").to_string();
            if p["score"].is_null() {
                continue;
            }
            by_bucket
                .entry(bucket.clone())
                .or_default()
                .insert(p["score"].to_string());
            all.entry(bucket)
                .or_default()
                .insert(p["score"].to_string());
            // Water areas are not scored and have no explanation.
            if let Some(crit) = p["toelichting"]["criteria"].get(0) {
                assert_eq!(crit["criterion"], "participants");
                assert!(
                    crit["value"].is_null() || BUCKETS.contains(&crit["value"].as_str().unwrap()),
                    "{crit}"
                );
            }
        }
        for (bucket, scores) in &by_bucket {
            assert_eq!(
                scores.len(),
                1,
                "w={w}: bucket {bucket} has several scores {scores:?}"
            );
        }
    }
    assert!(all.len() <= 5);
}
