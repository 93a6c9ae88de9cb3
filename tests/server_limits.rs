//! Server limits: a flood of new parameter sets gets 503 + Retry-After past the analysis
//! slots instead of queueing, while cached reads and `/health` keep answering; `/ready` is 503
//! until the data is loaded.

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach.
#![allow(clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::store::StoreData;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn demo_data() -> StoreData {
    let d = buurtcirkel::demo::generate();
    StoreData {
        areas: d.areas,
        clients: d.clients,
        places: d.places,
        circles: d.circles,
        ..Default::default()
    }
}

async fn get(app: &axum::Router, uri: &str) -> (u16, Option<String>) {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "test")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let _ = r.into_body().collect().await;
    (status, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_parameter_sets_is_refused_with_retry_after_while_cached_reads_answer() {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(demo_data()).expect("load");
    state.warm_up().await;
    let app = router(state);
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                get(
                    &app,
                    &format!("/api/v1/scores/buurten?walk_m={}", 200 + 100 * i),
                )
                .await
            })
        })
        .collect();
    let cached = get(&app, "/api/v1/scores/buurten").await;
    let health = get(&app, "/health").await;
    let mut ok = 0;
    let mut busy = 0;
    for f in flood {
        match f.await.expect("task") {
            (200, _) => ok += 1,
            (503, Some(r)) => {
                assert!(r.parse::<u32>().is_ok_and(|s| s > 0), "Retry-After {r}");
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(ok >= 1, "some new sets are computed");
    assert!(busy >= 1, "the rest are refused, not queued: {ok} ok");
    assert_eq!(cached.0, 200, "the cached default answers during the flood");
    assert_eq!(health.0, 200);
}

#[tokio::test]
async fn ready_is_503_until_the_data_is_loaded_and_health_is_200_throughout() {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    let app = router(state.clone());
    let (status, retry) = get(&app, "/ready").await;
    assert_eq!(status, 503);
    assert!(retry.is_some(), "Retry-After while loading");
    assert_eq!(get(&app, "/health").await.0, 200, "alive while loading");
    state.load(demo_data()).expect("load");
    assert_eq!(get(&app, "/ready").await.0, 200);
}
