//! Small response builders shared by the OGC handlers: JSON bodies with their media type,
//! link objects, and percent-encoding of query components kept in links.
//!
//! Inputs: JSON values and URL parts. Outputs: axum responses and strings.
//! Must not depend on the state, the engine or any handler module.

use std::fmt::Write as _;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub(crate) fn json_response(v: &Value, content_type: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        v.to_string(),
    )
        .into_response()
}

pub(crate) fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

pub(crate) fn query_of(suffix: &str) -> String {
    suffix
        .strip_prefix('&')
        .map_or_else(String::new, |s| format!("?{s}"))
}

/// Percent-encodes a query component.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode("http://x/a b"), "http%3A%2F%2Fx%2Fa%20b");
        assert_eq!(encode("5,52"), "5%2C52");
    }
}
