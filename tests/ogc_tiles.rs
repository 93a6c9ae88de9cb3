//! OGC API Tiles as a client walks it: tile matrix sets, tilesets with the `tiling-scheme`
//! link and the collection's own bounds, TileJSON, gzip, and tiles in both tile matrix sets
//! whose polygon rings are all simple after clipping (every tile the limits name, levels 0-12).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::release::tiles::{decode_rings, ring_self_intersects};
use buurtcirkel::store::StoreData;
use geozero::mvt::{Message, Tile};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn demo() -> axum::Router {
    let d = buurtcirkel::demo::generate();
    let data = StoreData {
        areas: d.areas,
        clients: d.clients,
        // The demo's fictional clients: the store opens everything (docs/privacy.md, Tiers),
        // so the tile checks reach clusters and sites without a token.
        clients_demo: true,
        places: d.places,
        circles: d.circles,
        ..Default::default()
    };
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(data).unwrap();
    router(state)
}

async fn get(
    app: &axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::get(uri).header("host", "test");
    for (k, v) in headers {
        b = b.header(*k, *v);
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

async fn json(app: &axum::Router, uri: &str) -> Value {
    let (s, _, b) = get(app, uri, &[]).await;
    assert_eq!(s, 200, "{uri}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

fn href<'a>(v: &'a Value, rel: &str) -> &'a str {
    v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == rel)
        .unwrap_or_else(|| panic!("no {rel} link in {v}"))["href"]
        .as_str()
        .unwrap()
}

fn path(url: &str) -> &str {
    url.strip_prefix("http://test").unwrap()
}

#[tokio::test]
async fn both_tile_matrix_sets_are_listed_and_defined_as_pdok_and_ogc_define_them() {
    let app = demo();
    let list = json(&app, "/ogc/v1/tileMatrixSets").await;
    let ids: Vec<&str> = list["tileMatrixSets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["WebMercatorQuad", "NetherlandsRDNewQuad"]);
    let rd = json(&app, "/ogc/v1/tileMatrixSets/NetherlandsRDNewQuad").await;
    assert_eq!(rd["crs"], "http://www.opengis.net/def/crs/EPSG/0/28992");
    let m = rd["tileMatrices"].as_array().unwrap();
    assert_eq!(m.len(), 17);
    assert_eq!(
        m[0]["pointOfOrigin"],
        serde_json::json!([-285_401.92, 903_401.92])
    );
    assert!((m[0]["cellSize"].as_f64().unwrap() - 3440.64).abs() < 1e-9);
    assert_eq!(m[0]["tileWidth"], 256);
    assert_eq!(m[16]["matrixWidth"], 65536);
    let wm = json(&app, "/ogc/v1/tileMatrixSets/WebMercatorQuad").await;
    let s0 = wm["tileMatrices"][0]["scaleDenominator"].as_f64().unwrap();
    assert!((s0 - 559_082_264.028_717_8).abs() < 1e-3, "{s0}");
    let (s, _, _) = get(&app, "/ogc/v1/tileMatrixSets/WorldCRS84Quad", &[]).await;
    assert_eq!(s, 404);
    let conf = json(&app, "/ogc/v1/conformance").await;
    assert!(
        conf["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list")
    );
}

#[tokio::test]
async fn a_client_finds_the_tiles_from_the_collection_by_links_alone() {
    let app = demo();
    let c = json(&app, "/ogc/v1/collections/wijken").await;
    let list = json(
        &app,
        path(href(
            &c,
            "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
        )),
    )
    .await;
    for ts in list["tilesets"].as_array().unwrap() {
        assert_eq!(ts["dataType"], "vector");
        let meta = json(&app, path(href(ts, "self"))).await;
        let tms = json(
            &app,
            path(href(
                &meta,
                "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
            )),
        )
        .await;
        assert_eq!(meta["crs"], tms["crs"]);
        let template = href(&meta, "item");
        assert!(
            template.ends_with("/{tileMatrix}/{tileRow}/{tileCol}"),
            "{template}"
        );
        // The collection's own bounds, not the dataset's or the country's: a few km.
        let ll = meta["boundingBox"]["lowerLeft"].as_array().unwrap();
        let ur = meta["boundingBox"]["upperRight"].as_array().unwrap();
        let w = ur[0].as_f64().unwrap() - ll[0].as_f64().unwrap();
        assert!(w > 1000.0 && w < 20_000.0, "{w} m wide");
        // A tile inside the limits at level 12 holds features.
        let lim = &meta["tileMatrixSetLimits"][12];
        let url = template
            .replace("{tileMatrix}", "12")
            .replace("{tileRow}", &lim["minTileRow"].to_string())
            .replace("{tileCol}", &lim["minTileCol"].to_string());
        let (s, _, body) = get(&app, path(&url), &[]).await;
        assert_eq!(s, 200, "{url}");
        assert!(
            !Tile::decode(body.as_slice()).unwrap().layers[0]
                .features
                .is_empty()
        );
    }
    let tj = json(
        &app,
        "/ogc/v1/collections/wijken/tiles/WebMercatorQuad/tilejson",
    )
    .await;
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["attribution"], "Bron: CBS, Kadaster");
    let b = tj["bounds"].as_array().unwrap();
    assert!(
        b[0].as_f64().unwrap() > 5.0 && b[2].as_f64().unwrap() < 6.0,
        "{b:?}"
    );
}

#[tokio::test]
async fn tiles_are_gzipped_when_asked_and_the_same_bytes_otherwise() {
    let app = demo();
    let meta = json(&app, "/ogc/v1/collections/buurten/tiles/WebMercatorQuad").await;
    let lim = &meta["tileMatrixSetLimits"][13];
    let uri = format!(
        "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/13/{}/{}",
        lim["minTileRow"], lim["minTileCol"]
    );
    let (s, h, plain) = get(&app, &uri, &[]).await;
    assert_eq!(s, 200);
    assert!(h.get("content-encoding").is_none());
    let (s, hz, gz) = get(&app, &uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(s, 200);
    assert_eq!(hz["content-encoding"], "gzip");
    assert_eq!(hz["vary"], "accept-encoding");
    assert_ne!(h["etag"], hz["etag"]);
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut out).unwrap();
    assert_eq!(out, plain);
    let etag = hz["etag"].to_str().unwrap().to_string();
    let (s, _, _) = get(
        &app,
        &uri,
        &[("accept-encoding", "gzip"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(s, 304);
}

#[tokio::test]
async fn no_tile_of_the_demo_holds_a_self_intersecting_ring_in_either_tile_matrix_set() {
    let app = demo();
    let mut checked = (0usize, 0usize);
    for coll in ["wijken", "buurten", "clusters", "sites"] {
        for tms in ["WebMercatorQuad", "NetherlandsRDNewQuad"] {
            let meta = json(&app, &format!("/ogc/v1/collections/{coll}/tiles/{tms}")).await;
            for lim in meta["tileMatrixSetLimits"]
                .as_array()
                .unwrap()
                .iter()
                .take(13)
            {
                let z = lim["tileMatrix"].as_str().unwrap();
                let (r0, r1) = (
                    lim["minTileRow"].as_u64().unwrap(),
                    lim["maxTileRow"].as_u64().unwrap(),
                );
                let (c0, c1) = (
                    lim["minTileCol"].as_u64().unwrap(),
                    lim["maxTileCol"].as_u64().unwrap(),
                );
                for row in r0..=r1 {
                    for col in c0..=c1 {
                        let uri = format!("/ogc/v1/collections/{coll}/tiles/{tms}/{z}/{row}/{col}");
                        let (s, _, body) = get(&app, &uri, &[]).await;
                        if s == 204 {
                            continue;
                        }
                        assert_eq!(s, 200, "{uri}");
                        checked.0 += 1;
                        for f in &Tile::decode(body.as_slice()).unwrap().layers[0].features {
                            if f.r#type != Some(3) {
                                continue;
                            }
                            for ring in decode_rings(&f.geometry) {
                                checked.1 += 1;
                                assert!(
                                    !ring_self_intersects(&ring),
                                    "{uri}: feature {:?} ring {ring:?}",
                                    f.id
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked.0 > 100 && checked.1 > 1000, "checked {checked:?}");
}
