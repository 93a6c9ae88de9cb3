//! Snapshot tests (insta) of outputs a reviewer should see whole: the OpenAPI document, the
//! landing page, the collections JSON and a decoded vector tile, all on the deterministic demo
//! data. Hosts and timestamps are redacted; everything else must stay byte-for-byte the same
//! unless the change means it (then review the new `.snap` file and commit it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::store::StoreData;
use geozero::mvt::{Message as _, Tile};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const HOST: &str = "http://snapshot.test";

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
    let state = AppState::new(ServeConfig::default(), None, HOST);
    state.load(data.clone()).unwrap();
    (data, router(state))
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    (
        status,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// The body as JSON with the host replaced by `[host]` and every `timeStamp` by `[time]`.
async fn redacted_json(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    let text = String::from_utf8(body).unwrap().replace(HOST, "[host]");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    fn redact(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "timeStamp" {
                        *x = json!("[time]");
                    } else {
                        redact(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(redact),
            _ => {}
        }
    }
    redact(&mut v);
    v
}

#[tokio::test]
async fn the_openapi_document_is_unchanged() {
    let (_, app) = demo();
    insta::assert_json_snapshot!(redacted_json(&app, "/ogc/v1/api").await);
}

#[tokio::test]
async fn the_landing_page_is_unchanged() {
    let (_, app) = demo();
    insta::assert_json_snapshot!(redacted_json(&app, "/ogc/v1?f=json").await);
}

#[tokio::test]
async fn the_collections_json_is_unchanged() {
    let (_, app) = demo();
    insta::assert_json_snapshot!(redacted_json(&app, "/ogc/v1/collections?f=json").await);
}

/// The tile `z/x/y` over a lon/lat point (WebMercatorQuad).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat_r = lat.to_radians();
    let y = ((1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
        .floor() as u32;
    (x, y)
}

#[tokio::test]
async fn a_decoded_buurten_tile_is_unchanged() {
    let (data, app) = demo();
    let to_wgs = buurtcirkel::crs::Transformer::new("EPSG:28992", "EPSG:4326").unwrap();
    let area = data
        .areas
        .iter()
        .find(|a| a.code.as_str() == "BU99990101")
        .unwrap();
    let p = geo::InteriorPoint::interior_point(&area.geometry_rd).unwrap();
    let (lon, lat) = to_wgs.point(p.x(), p.y()).unwrap();
    let z = 14;
    let (x, y) = tile_of(lon, lat, z);
    let (status, body) = get(
        &app,
        &format!("/ogc/v1/collections/buurten/tiles/WebMercatorQuad/{z}/{y}/{x}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tile = Tile::decode(body.as_slice()).unwrap();
    let layers: Vec<Value> = tile
        .layers
        .iter()
        .map(|l| {
            let value = |i: u32| {
                let v = &l.values[i as usize];
                v.string_value
                    .clone()
                    .map(Value::from)
                    .or(v.double_value.map(Value::from))
                    .or(v.float_value.map(Value::from))
                    .or(v.int_value.map(Value::from))
                    .or(v.uint_value.map(Value::from))
                    .or(v.sint_value.map(Value::from))
                    .or(v.bool_value.map(Value::from))
                    .unwrap_or(Value::Null)
            };
            let mut features: Vec<Value> = l
                .features
                .iter()
                .map(|f| {
                    let attrs: serde_json::Map<String, Value> = f
                        .tags
                        .chunks(2)
                        .map(|kv| (l.keys[kv[0] as usize].clone(), value(kv[1])))
                        .collect();
                    json!({"type": f.r#type, "attributes": attrs})
                })
                .collect();
            features.sort_by_key(|f| f["attributes"]["code"].as_str().map(String::from));
            features.truncate(3);
            json!({
                "name": l.name,
                "extent": l.extent,
                "feature_count": l.features.len(),
                "keys": l.keys,
                "first_features_by_code": features,
            })
        })
        .collect();
    insta::assert_json_snapshot!(json!({ "tile": format!("{z}/{y}/{x}"), "layers": layers }));
}
