//! The router and the server loop: every route of the service, the layers around them
//! (compression, time limit, metrics, CORS, `API-Version`), `/health`, `/metrics`, and graceful
//! shutdown on SIGTERM or Ctrl-C.
//!
//! Inputs: an [`AppState`], a socket address and a store. Outputs: HTTP responses.
//! Nothing else in `http` depends on this module.
//! Must not be imported by any other `http` module (it imports them all).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use super::config::ServeConfig;
use super::middleware::{time_limit, track};
use super::problem::Problem;
use super::state::{AppState, reload};
use super::{API_VERSION, api, collections, features, imports, landing, tiles, web};
use crate::store::Store;

/// Builds the router (also used in-process by tests).
pub fn router(state: AppState) -> Router {
    let cfg = &state.inner.config;
    let ogc = Router::new()
        .route("/ogc/v1", get(landing::landing))
        .route("/ogc/v1/conformance", get(landing::conformance))
        .route("/ogc/v1/api", get(landing::api))
        .route("/ogc/v1/collections", get(collections::collections))
        .route("/ogc/v1/collections/{id}", get(collections::collection))
        .route("/ogc/v1/collections/{id}/items", get(features::items))
        .route(
            "/ogc/v1/collections/{id}/queryables",
            get(collections::queryables),
        )
        .route("/ogc/v1/collections/{id}/schema", get(collections::schema))
        .route("/ogc/v1/collections/{id}/items/{fid}", get(features::item))
        .route("/ogc/v1/tileMatrixSets", get(tiles::tile_matrix_sets))
        .route("/ogc/v1/tileMatrixSets/{tms}", get(tiles::tile_matrix_set))
        .route("/ogc/v1/collections/{id}/tiles", get(tiles::tilesets))
        .route("/ogc/v1/collections/{id}/tiles/{tms}", get(tiles::tileset))
        .route(
            "/ogc/v1/collections/{id}/tiles/WebMercatorQuad/tilejson",
            get(tiles::tilejson),
        )
        .route("/api/v1/search", get(api::search))
        .route("/api/v1/scores/{id}", get(api::scores))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), track));
    // Uploads and reloads live outside the request time limit: once the body is read (under
    // its own limit, in the handler), the import runs to its end and the answer says what
    // happened. A 408 after the store was changed would be a lie (issue 13).
    let writes = Router::new()
        .route(
            "/api/v1/imports/{kind}",
            post(imports::import).layer(DefaultBodyLimit::max(
                usize::try_from(cfg.body_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            )),
        )
        .route("/api/v1/admin/reload", post(imports::reload_store))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), track));
    // Tiles are cached as bytes and served as they are (MapLibre takes raw MVT). They live
    // outside the compression layer (it would skip them by content type anyway, but wrapping
    // every body in its machinery cost a quarter of the cached-tile throughput) and outside the
    // timeout layer (a timer per request cost another few percent): the tile handler sets the
    // time limit itself, only when it has to compute. Measured with scripts/bench-api.
    let tiles = Router::new()
        .route(
            "/ogc/v1/collections/{id}/tiles/{tms}/{z}/{y}/{x}",
            get(tiles::tile),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), track));
    // Fastest level: a 12 MB page of all wijken compresses ~10x in a fraction of the time the
    // default level takes, and the network is rarely slower than that.
    let compress = CompressionLayer::new()
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(
            SizeAbove::new(1024)
                .and(NotForContentType::new("application/vnd.mapbox-vector-tile"))
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES),
        );
    let web_dir = web::resolve_dir(cfg.web_dir.as_deref());
    let mut app = ogc
        .merge(web::routes(&web_dir))
        .fallback(|uri: axum::http::Uri| async move {
            Problem::not_found(format!("no resource at {}", uri.path()))
        })
        .method_not_allowed_fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                Problem::new(
                    axum::http::StatusCode::METHOD_NOT_ALLOWED,
                    format!(
                        "{method} is not allowed on {}; this resource answers GET (and HEAD)",
                        uri.path()
                    ),
                )
            },
        )
        .layer(compress)
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(cfg.request_timeout_s),
            time_limit,
        ))
        .merge(tiles)
        .merge(writes)
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("api-version"),
            HeaderValue::from_static(API_VERSION),
        ));
    if !cfg.cors_origins.is_empty() {
        let origins = if cfg.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                cfg.cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([
                    header::HeaderName::from_static("content-crs"),
                    header::ETAG,
                    header::HeaderName::from_static("api-version"),
                ]),
        );
    }
    app.with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    let ready = state.inner.dataset.load().is_some();
    Json(serde_json::json!({
        "status": "ok",
        "data": if ready { "ready" } else { "loading" },
        "uptime_s": state.inner.started.elapsed().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// `/ready`: 200 once the data is loaded, 503 (with `Retry-After`) before, so a load balancer
/// sends no requests to a replica that cannot answer them yet. `/health` only says the process
/// is alive.
async fn ready(State(state): State<AppState>) -> Response {
    if state.inner.dataset.load().is_some() {
        Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        Problem::loading().into_response()
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let body = state
        .inner
        .metrics
        .render(&state.inner.stats, state.inner.dataset.load().is_some());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Runs the server until SIGTERM or Ctrl-C. Binds first and loads the store in the background,
/// so `/health` answers at once even on a large store.
pub async fn serve(addr: SocketAddr, store: Store, config: ServeConfig) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let state = AppState::new(config, Some(store.clone()), &format!("http://{local}"));
    // Raw uploads a killed server left beside the store go before any request is served.
    let swept = crate::service::imports::sweep_uploads(store.path());
    if swept > 0 {
        tracing::warn!(
            swept,
            "removed raw uploads left behind by an earlier server"
        );
    }
    tracing::info!(%local, store = %store.path().display(), "listening");
    println!(
        "Buurtcirkel Atlas listens on http://{local}/ (store {})",
        store.path().display()
    );
    let loader = state.clone();
    tokio::spawn(async move {
        if let Err(e) = reload(&loader, store.clone()).await {
            tracing::error!(error = %e, "cannot load the store; serving no data");
        }
        super::state::watch(loader, store).await;
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
