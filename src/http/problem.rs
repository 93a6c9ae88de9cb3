//! RFC 9457 problem details (`application/problem+json`): the one place where errors become
//! HTTP responses. 4xx bodies say what the client got wrong; 5xx bodies say nothing specific
//! (the cause is logged).
//! Must not depend on the state or any handler module; it maps the domain errors of `release`
//! and `analysis` (one `From` impl each), and the store's storage causes ([`Problem::storage`]).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::analysis::weights::WeightsError;
use crate::release::dataset::EngineError;
use crate::store::fault::Cause;

/// A problem response.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Problem type URI (`about:blank` for plain HTTP status problems).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary: the HTTP reason phrase.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly was wrong, for a person.
    pub detail: String,
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`), not part of the body.
    #[serde(skip)]
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with `status` and a detail message.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// The same problem with one more response header.
    pub fn with_header(mut self, name: header::HeaderName, value: &'static str) -> Problem {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// The same problem with one more response header whose value is computed (a header value
    /// that is not valid is left out).
    pub fn with_header_value(mut self, name: header::HeaderName, value: String) -> Problem {
        if let Ok(v) = HeaderValue::try_from(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// 503 while the store is still loading.
    pub fn loading() -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the data is still loading; try again in a moment",
        )
        .with_header(header::RETRY_AFTER, "1")
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, detail)
    }

    /// 507 Insufficient Storage for a full disk, 503 for a store folder the server may not write:
    /// neither is the uploader's fault, and both leave the store as it was.
    pub fn storage(cause: Cause) -> Problem {
        let (status, what) = match cause {
            Cause::Full => (
                StatusCode::INSUFFICIENT_STORAGE,
                "the disk holding the store is full",
            ),
            Cause::ReadOnly => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store's folder is read-only on the server",
            ),
            Cause::Denied => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is not permitted to write the store's folder",
            ),
        };
        Problem::new(
            status,
            format!(
                "{what}; nothing was changed. Ask the server's administrator to fix it, then upload the file again"
            ),
        )
    }

    /// 500, with the cause logged and not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(%cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to answer this request; the cause is in its log",
        )
    }
}

/// The one mapping of engine errors to HTTP: out-of-range parameters are the client's (400,
/// with what was wrong); anything else is the server's (500, cause logged, body says nothing
/// specific).
impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Problem {
        match e {
            EngineError::Params(m) => Problem::bad_request(m),
            other => Problem::internal(&other),
        }
    }
}

/// Invalid weights or thresholds in a query: always the client's (400).
impl From<WeightsError> for Problem {
    fn from(e: WeightsError) -> Problem {
        Problem::bad_request(e.to_string())
    }
}

/// A blocking worker that failed: the server's (500, logged).
impl From<tokio::task::JoinError> for Problem {
    fn from(e: tokio::task::JoinError) -> Problem {
        Problem::internal(&e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        for (k, v) in self.headers {
            r.headers_mut().insert(k, v);
        }
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}
