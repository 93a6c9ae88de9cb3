//! Publish: the HTTP service. RD New becomes CRS84, EPSG:4326 or Web Mercator here, at the
//! edge, and only published structures (never client points) are serialised.
//!
//! - [`ogc`]: OGC API Features Parts 1 and 2 under `/ogc/v1` (JSON, GeoJSON and HTML).
//! - [`tiles`]: Mapbox Vector Tiles (OGC API Tiles, WebMercatorQuad).
//! - [`openapi`]: the OpenAPI 3.0 document at `/ogc/v1/api`.
//! - [`imports`]: `POST /api/v1/imports/{kind}` for admins.
//! - [`api`]: `/api/v1/search` and `/api/v1/scores/{collection}`, compact JSON for the web map.
//! - [`web`]: the web map at `/` and its files under `/web` (from the `web/` folder).
//! - [`engine`]: the store snapshot and the per-parameter-set result caches.
//! - [`layers`]: the one place that decides what a collection holds (the privacy rules).
//! - [`config`], [`metrics`], [`problem`]: roles and tokens, Prometheus, problem details.
//!
//! May use `analysis`, `index`, `store`, `crs`, `model`, and `ingest` for the upload endpoint
//! (the same readers the CLI uses, so an upload is validated exactly like `import`); nothing
//! imports `publish`.

pub mod api;
pub mod config;
pub mod engine;
pub mod export;
mod html;
pub mod imports;
pub mod layers;
pub mod metrics;
pub mod ogc;
pub mod openapi;
pub mod problem;
pub mod tiles;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::store::{Store, StoreData};
use config::{Role, ServeConfig};
use engine::{Dataset, EngineStats, ParamSet};
use metrics::Metrics;
use problem::Problem;

/// The API version, sent in the `API-Version` header of every response.
pub const API_VERSION: &str = "0.1.0";

pub(crate) struct Inner {
    pub(crate) dataset: ArcSwapOption<Dataset>,
    pub(crate) started: Instant,
    pub(crate) config: ServeConfig,
    pub(crate) metrics: Metrics,
    pub(crate) stats: Arc<EngineStats>,
    pub(crate) store: Option<Store>,
    pub(crate) import_lock: tokio::sync::Mutex<()>,
    pub(crate) fallback_base: String,
}

/// Shared server state: the configuration and the current dataset, swapped atomically on
/// reload (which drops every cache of the old one).
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// A state with no data loaded yet. `store` is where uploads are applied (none: uploads
    /// answer 503); `base` is the URL used in links when a request has no Host header.
    pub fn new(config: ServeConfig, store: Option<Store>, base: &str) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                dataset: ArcSwapOption::empty(),
                started: Instant::now(),
                config,
                metrics: Metrics::default(),
                stats: Arc::new(EngineStats::default()),
                store,
                import_lock: tokio::sync::Mutex::new(()),
                fallback_base: base.trim_end_matches('/').to_string(),
            }),
        }
    }

    /// A state with the default configuration, no store and no data.
    pub fn empty() -> AppState {
        AppState::new(ServeConfig::default(), None, "http://127.0.0.1")
    }

    /// Converts `data` into a new dataset and serves it. Blocking (PROJ): call it off the
    /// async runtime.
    pub fn load(&self, data: StoreData) -> Result<(), crate::crs::CrsError> {
        let ds = Dataset::new(data, self.inner.stats.clone())?;
        self.inner.dataset.store(Some(Arc::new(ds)));
        Ok(())
    }

    /// The dataset, or 503 while loading.
    pub(crate) fn dataset(&self) -> Result<Arc<Dataset>, Problem> {
        self.inner.dataset.load_full().ok_or_else(Problem::loading)
    }

    /// The URL prefix for links: the configured public URL, else `http://` + Host.
    pub(crate) fn base(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.inner.config.public_url {
            return u.trim_end_matches('/').to_string();
        }
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map_or_else(
                || self.inner.fallback_base.clone(),
                |h| format!("http://{h}"),
            )
    }

    /// Checks the caller's role against `needed`: 401 without a valid token, 403 with a token
    /// of a lesser role.
    pub(crate) fn authorize(&self, headers: &HeaderMap, needed: Role) -> Result<Role, Problem> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
                    .unwrap_or("")
                    .trim()
            });
        let unauthorized = |detail: String| {
            Problem::new(StatusCode::UNAUTHORIZED, detail)
                .with_header(header::WWW_AUTHENTICATE, "Bearer")
        };
        let role = self
            .inner
            .config
            .role_of(bearer)
            .map_err(|_| unauthorized("the bearer token is not valid".into()))?;
        if role >= needed {
            Ok(role)
        } else if bearer.is_none() {
            Err(unauthorized(format!(
                "this needs a bearer token (Authorization: Bearer ...) of role {} or higher",
                needed.name()
            )))
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the token's role {} may not do this; it needs role {} or higher",
                    role.name(),
                    needed.name()
                ),
            ))
        }
    }

    /// Computes the default results now, so the first visitor does not wait for them.
    pub async fn warm_up(&self) {
        if let Ok(ds) = self.dataset()
            && let Err(e) = ds.results(&ParamSet::default()).await
        {
            tracing::error!(error = %e, "computing the default results failed");
        }
    }
}

/// Builds the router (also used in-process by tests).
pub fn router(state: AppState) -> Router {
    let cfg = &state.inner.config;
    let ogc = Router::new()
        .route("/ogc/v1", get(ogc::landing))
        .route("/ogc/v1/conformance", get(ogc::conformance))
        .route("/ogc/v1/api", get(ogc::api))
        .route("/ogc/v1/collections", get(ogc::collections))
        .route("/ogc/v1/collections/{id}", get(ogc::collection))
        .route("/ogc/v1/collections/{id}/items", get(ogc::items))
        .route("/ogc/v1/collections/{id}/items/{fid}", get(ogc::item))
        .route("/ogc/v1/collections/{id}/tiles", get(ogc::tilesets))
        .route(
            "/ogc/v1/collections/{id}/tiles/WebMercatorQuad",
            get(ogc::tileset),
        )
        .route("/api/v1/search", get(api::search))
        .route("/api/v1/scores/{id}", get(api::scores))
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route(
            "/api/v1/imports/{kind}",
            post(imports::import).layer(DefaultBodyLimit::max(
                usize::try_from(cfg.body_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            )),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ));
    // Tiles are cached as bytes and served as they are (MapLibre takes raw MVT). They live
    // outside the compression layer (it would skip them by content type anyway, but wrapping
    // every body in its machinery cost a quarter of the cached-tile throughput) and outside the
    // timeout layer (a timer per request cost another few percent): the tile handler sets the
    // time limit itself, only when it has to compute. Measured with scripts/bench-api.
    let tiles = Router::new()
        .route(
            "/ogc/v1/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}",
            get(ogc::tile),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ));
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
        .layer(compress)
        .layer(axum::middleware::from_fn_with_state(
            Duration::from_secs(cfg.request_timeout_s),
            time_limit,
        ))
        .merge(tiles)
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

/// Middleware: answers 408 with a problem+json body when a request takes longer than the
/// configured time limit (tower-http's timeout layer answers with an empty body).
async fn time_limit(
    State(limit): State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request took longer than the time limit of {} s (request_timeout_s)",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
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

async fn metrics_text(State(state): State<AppState>) -> Response {
    let body = state.inner.metrics.render(&state);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Loads `store` into `state` on a blocking thread and computes the default results.
pub async fn reload(state: &AppState, store: Store) -> Result<(), String> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let data = store.load().map_err(|e| e.to_string())?;
        st.load(data).map_err(|e| e.to_string())?;
        tracing::info!(ms = t.elapsed().as_millis() as u64, "store loaded");
        Ok::<(), String>(())
    })
    .await
    .map_err(|e| e.to_string())??;
    state.warm_up().await;
    Ok(())
}

/// Runs the server until SIGTERM or Ctrl-C. Binds first and loads the store in the background,
/// so `/health` answers at once even on a large store.
pub async fn serve(addr: SocketAddr, store: Store, config: ServeConfig) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let state = AppState::new(config, Some(store.clone()), &format!("http://{local}"));
    tracing::info!(%local, store = %store.path().display(), "listening");
    println!(
        "Buurtcirkel Atlas listens on http://{local}/ (store {})",
        store.path().display()
    );
    let loader = state.clone();
    tokio::spawn(async move {
        if let Err(e) = reload(&loader, store).await {
            tracing::error!(error = %e, "cannot load the store; serving no data");
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
