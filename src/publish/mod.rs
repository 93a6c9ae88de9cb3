//! Publish: the HTTP service. RD New becomes CRS84 here, at the edge, and only published
//! structures (never client points) are serialised.
//!
//! Routes so far: `GET /health` and `GET /ogc/v1/collections/{gemeenten|wijken|buurten}/items`
//! (GeoJSON in CRS84, paged with `limit`/`offset`).
//! May use `analysis`, `index`, `store`, `crs` and `model`; nothing imports `publish`.

pub mod export;
pub mod features;
pub mod layers;
pub mod problem;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::model::Level;
use crate::store::Store;
use features::Published;
use problem::Problem;

/// The API version, sent in the `API-Version` header of every response.
pub const API_VERSION: &str = "0.1.0";

/// Shared server state: the current published snapshot, swapped atomically on reload.
#[derive(Clone)]
pub struct AppState {
    snapshot: Arc<ArcSwapOption<Published>>,
    started: Instant,
}

impl AppState {
    /// A state with no data loaded yet.
    pub fn empty() -> AppState {
        AppState {
            snapshot: Arc::new(ArcSwapOption::empty()),
            started: Instant::now(),
        }
    }

    /// Replaces the published snapshot.
    pub fn publish(&self, p: Published) {
        self.snapshot.store(Some(Arc::new(p)));
    }
}

/// Builds the router (also used in-process by tests).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ogc/v1/collections/{id}/items", get(items))
        .fallback(|uri: axum::http::Uri| async move {
            Problem::not_found(format!("no resource at {}", uri.path()))
        })
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("api-version"),
            HeaderValue::from_static(API_VERSION),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Response {
    let ready = state.snapshot.load().is_some();
    Json(serde_json::json!({
        "status": "ok",
        "data": if ready { "ready" } else { "loading" },
        "uptime_s": state.started.elapsed().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// Query parameters of `items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsQuery {
    limit: Option<String>,
    offset: Option<String>,
    f: Option<String>,
}

async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<ItemsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| {
        Problem::bad_request(format!(
            "{}; this endpoint takes limit, offset and f",
            e.body_text()
        ))
    })?;
    let Some(level) = Level::from_collection(&id) else {
        return Err(Problem::not_found(format!(
            "no collection '{id}'; expected one of gemeenten, wijken, buurten"
        )));
    };
    if let Some(f) = &q.f
        && f != "json"
        && f != "geojson"
    {
        return Err(Problem::bad_request(format!(
            "f={f} is not supported here; expected f=json"
        )));
    }
    let limit = parse_param(q.limit.as_deref(), "limit", 100, 1, 10_000)?;
    let offset = parse_param(q.offset.as_deref(), "offset", 0, 0, usize::MAX)?;
    let Some(snapshot) = state.snapshot.load_full() else {
        let mut r = Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the data is still loading; try again in a moment",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Ok(r);
    };
    let body = snapshot.items_page(level, limit, offset);
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    r.headers_mut().insert(
        header::HeaderName::from_static("content-crs"),
        HeaderValue::from_static("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"),
    );
    Ok(r)
}

fn parse_param(
    v: Option<&str>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, Problem> {
    let Some(v) = v else { return Ok(default) };
    match v.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Problem::bad_request(if max == usize::MAX {
            format!("{name}={v:?} is not valid; expected a whole number of at least {min}")
        } else {
            format!("{name}={v:?} is not valid; expected a whole number from {min} to {max}")
        })),
    }
}

/// Runs the server until SIGTERM or Ctrl-C. Binds first and loads the store in the background,
/// so `/health` answers at once even on a large store.
pub async fn serve(addr: SocketAddr, store: Store) -> std::io::Result<()> {
    let state = AppState::empty();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(%local, store = %store.path().display(), "listening");
    println!(
        "Buurtcirkel Atlas listens on http://{local}/ (store {})",
        store.path().display()
    );
    let loader = state.clone();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        match store
            .load()
            .map_err(|e| e.to_string())
            .and_then(|data| Published::build(&data, local).map_err(|e| e.to_string()))
        {
            Ok(p) => {
                tracing::info!(ms = t.elapsed().as_millis() as u64, "store loaded");
                loader.publish(p);
            }
            Err(e) => tracing::error!(error = %e, "cannot load the store; serving no data"),
        }
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
