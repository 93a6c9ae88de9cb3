//! Middleware around the routes: the request time limit (408 with a problem+json body), the
//! per-route metrics and request log, desktop-client tokens (HTTP Basic, `apikey`) turned into
//! bearer tokens, and ETags with 304 on JSON answers (the rate limit on new parameter sets
//! is in [`super::ratelimit`]).
//!
//! Inputs: every request, the configured time limit and auth options. Outputs: the handler's
//! response, a 304, or a 400/408 [`Problem`]. Must not depend on the handler modules.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest, Sha256};

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

/// Middleware for desktop clients that cannot send a bearer header (QGIS 3.22's built-in
/// authentication offers Basic, GDAL and scripts a URL): HTTP Basic with the token as password
/// (any user name), and, when `apikey_param` is on, an `apikey` query parameter. Both become
/// `Authorization: Bearer <token>` before routing, so the role check stays in one place
/// (`AppState::authorize`); the `apikey` pair is removed from the URI, so it is never
/// logged, echoed in links or kept in a cache key.
pub async fn desktop_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut token = None;
    if let Some(h) = req.headers().get(header::AUTHORIZATION)
        && let Ok(h) = h.to_str()
        && let Some(b64) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
    {
        // Which scheme a desktop client really sends is the first question when it cannot
        // log in (tests/qgis.rs checks QGIS sends this one); the token itself is never logged.
        tracing::debug!(scheme = "basic", "token from an Authorization header");
        // A Basic header that is not base64 of user:password gets an empty token: 401.
        token = Some(
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|up| up.split_once(':').map(|(_, p)| p.to_string()))
                .unwrap_or_default(),
        );
    }
    if state.inner.config.apikey_param
        && let Some(q) = req.uri().query()
        && q.split('&')
            .any(|kv| kv == "apikey" || kv.starts_with("apikey="))
    {
        let mut key = None;
        let kept: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
            .filter_map(|(k, v)| {
                if k == "apikey" {
                    key = Some(v.into_owned());
                    None
                } else {
                    Some((k.into_owned(), v.into_owned()))
                }
            })
            .collect();
        let rest = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(kept)
            .finish();
        let path = req.uri().path();
        let pq = if rest.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{rest}")
        };
        let mut parts = req.uri().clone().into_parts();
        match pq.parse() {
            Ok(p) => parts.path_and_query = Some(p),
            Err(_) => return Problem::bad_request("the query string is not valid").into_response(),
        }
        if let Ok(u) = Uri::from_parts(parts) {
            *req.uri_mut() = u;
        }
        if token.is_none() {
            token = key;
        }
    }
    if let Some(t) = token {
        match HeaderValue::from_str(&format!("Bearer {t}")) {
            Ok(v) => {
                req.headers_mut().insert(header::AUTHORIZATION, v);
            }
            Err(_) => {
                req.headers_mut()
                    .insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer -"));
            }
        }
    }
    next.run(req).await
}

/// The weak ETag of a JSON answer, derived from what decides its content instead of from the
/// body: the served snapshot ([`AppState::snapshot_id`], new on every load), the path and query,
/// the caller's role (the collections list depends on it), `Accept`, and the link base
/// (`Host`/`X-Forwarded-*` end up in every link). `None` when the request carries a token that
/// is not valid (the answer is a 401, never tagged).
fn derived_tag(state: &AppState, req: &Request) -> Option<String> {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
                .unwrap_or("")
                .trim()
        });
    let role = state.inner.config.role_of(bearer).ok()?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut h = Sha256::new();
    h.update(state.snapshot_id().to_le_bytes());
    // Each part is followed by a byte no part can hold, so parts cannot run into each other.
    for part in [
        req.uri()
            .path_and_query()
            .map_or("", axum::http::uri::PathAndQuery::as_str),
        role.name(),
        accept,
        &state.base(headers),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("W/\"{hex}\""))
}

/// Middleware: a weak `ETag` on every successful JSON answer under `/ogc/` and `/api/v1/`,
/// and 304 Not Modified when `If-None-Match` names it, so a client re-reading the landing page,
/// collections or a page of items it has does not download it again. The tag is derived from
/// the request and the served snapshot (`derived_tag`), not hashed from the body: no answer
/// is buffered (a page of 10,000 wijken is tens of MB), and a match is answered before the
/// handler runs. Weak because the compression layer may re-encode the body and `timeStamp`
/// moves. `/health`, `/ready` and `/metrics` change without a new snapshot and are never
/// tagged. Tiles set their own strong ETag.
pub async fn etag(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let get = req.method() == axum::http::Method::GET || req.method() == axum::http::Method::HEAD;
    let path = req.uri().path();
    if !get || !(path.starts_with("/ogc/") || path.starts_with("/api/v1/")) {
        return next.run(req).await;
    }
    let Some(tag) = derived_tag(&state, &req) else {
        return next.run(req).await;
    };
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| {
            a.split(',')
                .map(str::trim)
                .any(|t| t == "*" || t.trim_start_matches("W/") == tag.trim_start_matches("W/"))
        });
    let Ok(value) = HeaderValue::from_str(&tag) else {
        return next.run(req).await;
    };
    if matches {
        // Only a 200 JSON answer of this very snapshot, path, role and base was ever given
        // this tag, and those answers are a function of exactly these: the same answer again.
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().insert(header::ETAG, value);
        return res;
    }
    let mut res = next.run(req).await;
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if res.status() == StatusCode::OK && json && !res.headers().contains_key(header::ETAG) {
        res.headers_mut().insert(header::ETAG, value);
    }
    res
}
