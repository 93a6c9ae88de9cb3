//! Middleware around the routes: the request time limit (408 with a problem+json body) and
//! the per-route metrics and request log.
//!
//! Inputs: every request and the configured time limit. Outputs: the handler's response, or a
//! 408 [`Problem`]. Must not depend on the handler modules.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use super::state::AppState;

/// Middleware: answers 408 with a problem+json body when a request takes longer than the
/// configured time limit (tower-http's timeout layer answers with an empty body).
pub async fn time_limit(State(limit): State<Duration>, req: Request, next: Next) -> Response {
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

/// Middleware: times every request, counts it under its route template and logs it. The log
/// line holds the method, route template, status and time, never the URL, query or body: those
/// can carry an uploaded client file or a bbox drawn around someone's home. Successes log at
/// `debug` (a tile server answers tens of thousands a second), client errors at `info`, server
/// errors at `warn`.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // MatchedPath is an Arc<str>: cloning it costs no allocation on the hot tile path.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let t = Instant::now();
    let res = next.run(req).await;
    let seconds = t.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    state.inner.metrics.observe(route, status, seconds);
    let ms = seconds * 1e3;
    match status {
        500.. => tracing::warn!(%method, route, status, ms, "request"),
        400..=499 => tracing::info!(%method, route, status, ms, "request"),
        _ => tracing::debug!(%method, route, status, ms, "request"),
    }
    res
}
