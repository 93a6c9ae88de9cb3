//! The router and the server loop: every route of the service, the layers around them
//! (compression, time limit, metrics, CORS, `API-Version`), `/health`, `/metrics`, the
//! connection limits (header-read and idle timeout, a cap on open connections that closes the
//! oldest idle one when full) and graceful shutdown on SIGTERM or Ctrl-C.
//!
//! Inputs: an [`AppState`], a socket address and a store. Outputs: HTTP responses.
//! Nothing else in `http` depends on this module.
//! Must not be imported by any other `http` module (it imports them all).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use hyper::body::Incoming;
use tokio::sync::Notify;
use tower::ServiceExt;

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
use super::middleware::{desktop_auth, etag, time_limit, track};
use super::problem::Problem;
use super::ratelimit::PEER;
use super::state::{AppState, reload};
use super::{API_VERSION, api, collections, features, imports, landing, tiles, web};
use crate::store::Store;

/// Builds the router (also used in-process by tests).
pub fn router(state: AppState) -> Router {
    let cfg = &state.inner.config;
    let ogc = Router::new()
        .route("/ogc/v1", get(landing::landing))
        .route("/ogc/v1/", get(landing::landing_slash))
        .route("/ogc/v1/openapi.json", get(landing::openapi_json))
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
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), etag));
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
    // Basic and apikey become a bearer token before anything else looks at the request.
    app = app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        desktop_auth,
    ));
    // CORS is on for any origin by default, without credentials: the public data is public,
    // and a token is sent as a header the page sets itself, never as a cookie. `*` allows reads
    // only; uploads from another site need that origin listed. The layer answers preflights.
    if !cfg.cors_origins.is_empty() {
        use axum::http::Method;
        let any = cfg.cors_origins.iter().any(|o| o == "*");
        let (origins, methods) = if any {
            (
                AllowOrigin::any(),
                vec![Method::GET, Method::HEAD, Method::OPTIONS],
            )
        } else {
            (
                AllowOrigin::list(
                    cfg.cors_origins
                        .iter()
                        .filter_map(|o| HeaderValue::from_str(o).ok()),
                ),
                vec![Method::GET, Method::HEAD, Method::OPTIONS, Method::POST],
            )
        };
        app = app.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods(methods)
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::ACCEPT,
                    header::IF_NONE_MATCH,
                ])
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
    let limits = ConnLimits::new(&config);
    let state = AppState::new(config, Some(store.clone()), &format!("http://{local}"));
    // Raw uploads and temporary copies a killed process left go before any request is
    // served (under the write lock, when no writer is live).
    let swept = store.sweep_now();
    if swept > 0 {
        tracing::warn!(
            swept,
            "removed raw uploads or temporary copies left behind by a killed process"
        );
    }
    tracing::info!(%local, store = %store.path().display(), max_connections = limits.max, "listening");
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
    accept_loop(listener, router(state), limits, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// File descriptors kept free for the store, GDAL, logs and the listener when the connection
/// cap is derived from the open-file limit.
const RESERVED_FDS: u64 = 128;

/// How long a graceful shutdown waits for open requests before the process ends anyway.
const DRAIN: Duration = Duration::from_secs(30);

/// The connection limits of the accept loop.
#[derive(Debug, Clone, Copy)]
struct ConnLimits {
    /// Most connections open at once: `max_connections`, and never more than the open-file
    /// limit leaves after [`RESERVED_FDS`].
    max: usize,
    /// Longest wait for a complete request header (also the idle time between requests).
    header_read: Duration,
}

impl ConnLimits {
    fn new(config: &ServeConfig) -> ConnLimits {
        let files = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let max = config
            .max_connections
            .min(files.saturating_sub(RESERVED_FDS))
            .max(8);
        ConnLimits {
            max: usize::try_from(max).unwrap_or(usize::MAX),
            header_read: Duration::from_secs(config.header_read_timeout_s),
        }
    }
}

/// One open connection as the accept loop sees it.
struct Conn {
    /// Requests of it being answered now (0: waiting for a header, or idle).
    busy: Arc<AtomicUsize>,
    /// Told when the connection must close to make room.
    close: Arc<Notify>,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Conns {
    next: u64,
    open: BTreeMap<u64, Conn>,
}

impl Conns {
    /// Makes room for one more connection and registers it. At the cap the oldest connection
    /// not in a request is closed (a slow or idle client yields to a new one); when every one
    /// is answering a request there is no room and the new connection is refused (`None`).
    fn admit(&mut self, max: usize) -> Option<(u64, Arc<AtomicUsize>, Arc<Notify>)> {
        if self.open.len() >= max {
            let idle = self
                .open
                .iter()
                .find(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            if let Some(c) = self.open.remove(&idle) {
                c.close.notify_one();
            }
        }
        let id = self.next;
        self.next += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        self.open.insert(
            id,
            Conn {
                busy: busy.clone(),
                close: close.clone(),
            },
        );
        Some((id, busy, close))
    }
}

/// Counts a request of a connection as in progress while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(busy: &Arc<AtomicUsize>) -> Busy {
        busy.fetch_add(1, Ordering::AcqRel);
        Busy(busy.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accepts connections until `shutdown`, each served by hyper's HTTP/1 with the header-read
/// timeout, within the connection cap; then lets open requests finish (up to [`DRAIN`]).
/// An accept error (out of file descriptors) is logged and retried after a pause, never fatal.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let http = Arc::new(http);
    let conns = Arc::new(Mutex::new(Conns::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let admitted = match conns.lock() {
            Ok(mut c) => c.admit(limits.max),
            Err(_) => None,
        };
        let Some((id, busy, close)) = admitted else {
            tracing::info!("connection refused: every connection is answering a request");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, http, conns, mut stopped) =
            (app.clone(), http.clone(), conns.clone(), stopped.clone());
        tokio::spawn(async move {
            let ip = peer.ip();
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                let busy = Busy::new(&busy);
                async move {
                    let _busy = busy;
                    PEER.scope(ip, app.oneshot(req)).await
                }
            });
            let conn = http.serve_connection(hyper_util::rt::TokioIo::new(tcp), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                () = close.notified() => tracing::debug!("connection closed to make room"),
                _ = async { stopped.wait_for(|s| *s).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            if let Ok(mut c) = conns.lock() {
                c.open.remove(&id);
            }
        });
    }
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + DRAIN;
    while tokio::time::Instant::now() < deadline
        && conns.lock().map(|c| !c.open.is_empty()).unwrap_or(false)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
