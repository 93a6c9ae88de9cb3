//! The server's per-parameter-set work split as the model is (issue 17, point 3): the analysis
//! and the weight-independent collections once per `walk_m`/`min_participants`, per weight set
//! only scoring, and each area level (with its stability draws) when a response reads it.
//! In-process on the demo data: a weights-only change must answer exactly what a cold server
//! asked for that set directly answers, and must not run the analysis or rebuild the
//! weight-independent collections (counted in `/metrics`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::store::StoreData;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

fn demo_app() -> axum::Router {
    let d = buurtcirkel::demo::generate();
    let data = StoreData {
        areas: d.areas,
        clients: d.clients,
        // The demo's fictional clients: every collection and set is open (docs/privacy.md).
        clients_demo: true,
        places: d.places,
        circles: d.circles,
        ..Default::default()
    };
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(data).unwrap();
    router(state)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status();
    (
        status,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// The JSON body of `uri` (200 expected), without the computation time stamp.
async fn json(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.remove("timeStamp");
    }
    v
}

/// The value of the counter `name` in `/metrics`.
async fn counter(app: &axum::Router, name: &str) -> u64 {
    let (_, body) = get(app, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .parse()
        .unwrap()
}

/// The WebMercatorQuad tile at `z` holding the first coordinate of the first feature of the
/// demo's `collection`.
async fn a_tile_with_features(app: &axum::Router, collection: &str, z: u32) -> (u32, u32) {
    let v = json(
        app,
        &format!("/ogc/v1/collections/{collection}/items?limit=1"),
    )
    .await;
    let mut g = &v["features"][0]["geometry"]["coordinates"];
    while g[0].is_array() {
        g = &g[0];
    }
    let (lon, lat) = (g[0].as_f64().unwrap(), g[1].as_f64().unwrap());
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}

const COLLECTIONS: [&str; 7] = [
    "gemeenten",
    "wijken",
    "buurten",
    "clusters",
    "sites",
    "places",
    "circles",
];

#[tokio::test]
async fn a_weights_only_change_answers_what_a_cold_server_answers_for_that_set() {
    let warm = demo_app();
    let cold = demo_app();
    let tiles = [
        ("buurten", a_tile_with_features(&warm, "buurten", 13).await),
        (
            "clusters",
            a_tile_with_features(&warm, "clusters", 13).await,
        ),
        ("sites", a_tile_with_features(&warm, "sites", 13).await),
    ];
    for (walk, weights) in [
        ("800", "w_p_65plus=3&t_geschikt=55"),
        ("600", "w_participants=2&w_meeting_place=0"),
    ] {
        // The warm server first serves the pair's own weights, with its tiles: the analysis,
        // the shared collections and their tiles are then in its caches.
        let before = format!("walk_m={walk}");
        for c in COLLECTIONS {
            json(
                &warm,
                &format!("/ogc/v1/collections/{c}/items?limit=1000&{before}"),
            )
            .await;
        }
        for (c, (x, y)) in tiles {
            let uri = format!("/ogc/v1/collections/{c}/tiles/WebMercatorQuad/13/{y}/{x}?{before}");
            assert_eq!(get(&warm, &uri).await.0, 200, "{uri}");
        }
        let set = format!("walk_m={walk}&{weights}");
        for c in COLLECTIONS {
            let uri = format!("/ogc/v1/collections/{c}/items?limit=1000&{set}");
            let (a, b) = (json(&warm, &uri).await, json(&cold, &uri).await);
            assert!(
                a["features"].as_array().is_some_and(|f| !f.is_empty()),
                "{uri}: no features to compare"
            );
            assert_eq!(
                a, b,
                "{uri}: the weights-only change differs from a cold answer"
            );
        }
        for c in ["gemeenten", "wijken", "buurten"] {
            let uri = format!("/api/v1/scores/{c}?{set}");
            assert_eq!(json(&warm, &uri).await, json(&cold, &uri).await, "{uri}");
            let uri = format!(
                "/ogc/v1/collections/{c}/items/{}?{set}",
                first_id(&cold, c).await
            );
            assert_eq!(json(&warm, &uri).await, json(&cold, &uri).await, "{uri}");
        }
        let uri = format!("/ogc/v1/collections?{set}");
        assert_eq!(json(&warm, &uri).await, json(&cold, &uri).await, "{uri}");
        for (c, (x, y)) in tiles {
            let uri = format!("/ogc/v1/collections/{c}/tiles/WebMercatorQuad/13/{y}/{x}?{set}");
            let (a, b) = (get(&warm, &uri).await, get(&cold, &uri).await);
            assert_eq!(a.0, 200, "{uri}");
            assert!(!a.1.is_empty(), "{uri}: an empty tile compares nothing");
            assert_eq!(a, b, "{uri}: the weights-only change's tile differs");
        }
    }
}

async fn first_id(app: &axum::Router, collection: &str) -> String {
    let v = json(
        app,
        &format!("/ogc/v1/collections/{collection}/items?limit=1"),
    )
    .await;
    v["features"][0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_weights_only_change_runs_no_analysis_and_rebuilds_no_weight_independent_layer() {
    let app = demo_app();
    let runs = "buurtcirkel_analysis_runs_total";
    let shared = "buurtcirkel_shared_layer_builds_total";
    let levels = "buurtcirkel_level_builds_total";
    json(&app, "/ogc/v1/collections/buurten/items?limit=1").await;
    let (r0, s0, l0) = (
        counter(&app, runs).await,
        counter(&app, shared).await,
        counter(&app, levels).await,
    );
    assert_eq!(
        (r0, s0, l0),
        (1, 1, 1),
        "the default set: one analysis, one level"
    );

    // A weights-only change read through buurten: that level is scored, nothing else runs.
    let set = "w_p_65plus=3&w_p_bijstand=0";
    json(
        &app,
        &format!("/ogc/v1/collections/buurten/items?limit=5&{set}"),
    )
    .await;
    assert_eq!(
        counter(&app, runs).await,
        r0,
        "a weights change ran the analysis"
    );
    assert_eq!(
        counter(&app, shared).await,
        s0,
        "a weights change rebuilt clusters/sites"
    );
    assert_eq!(
        counter(&app, levels).await,
        l0 + 1,
        "only the level read is scored"
    );
    // Its clusters and sites are the shared ones: no build at all.
    json(&app, &format!("/ogc/v1/collections/clusters/items?{set}")).await;
    json(&app, &format!("/ogc/v1/collections/sites/items?{set}")).await;
    assert_eq!(counter(&app, shared).await, s0);
    assert_eq!(counter(&app, levels).await, l0 + 1);
    // Read again: cached, nothing is built.
    json(
        &app,
        &format!("/ogc/v1/collections/buurten/items?limit=5&{set}"),
    )
    .await;
    assert_eq!(counter(&app, levels).await, l0 + 1);
    // A slider move (the compact scores) neither.
    json(&app, "/api/v1/scores/wijken?w_p_65plus=5").await;
    assert_eq!(counter(&app, runs).await, r0);
    assert_eq!(counter(&app, shared).await, s0);

    // A new walking distance runs the analysis once and builds its shared layers once.
    json(
        &app,
        "/ogc/v1/collections/clusters/items?walk_m=600&min_participants=6",
    )
    .await;
    assert_eq!(counter(&app, runs).await, r0 + 1);
    assert_eq!(counter(&app, shared).await, s0 + 1);
    json(
        &app,
        "/ogc/v1/collections/sites/items?walk_m=600&min_participants=6&w_p_65plus=2",
    )
    .await;
    assert_eq!(counter(&app, runs).await, r0 + 1);
    assert_eq!(counter(&app, shared).await, s0 + 1);
}
