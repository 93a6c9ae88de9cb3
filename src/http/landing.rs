//! OGC API Common building blocks: the landing page `/ogc/v1` (and `/ogc/v1/`, which OWSLib
//! asks for, redirected to it), `/ogc/v1/conformance`, the OpenAPI document at `/ogc/v1/api`
//! and `/ogc/v1/openapi.json`, and the service-doc page (`/ogc/v1/api?f=html`).
//!
//! Inputs: requests with `f` or an `Accept` header. Outputs: JSON or HTML; no data is read.
//! Must not depend on the other handler modules.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::html;
use super::problem::Problem;
use super::query::{Format, Pairs, parse};
use super::respond::{json_response, link};
use super::state::AppState;

/// Conformance classes this service implements.
pub const CONFORMANCE: [&str; 19] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
];

/// `GET /ogc/v1`: the landing page.
pub async fn landing(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], true)?;
    state.authorize(&headers, state.inner.config.read_role(None))?;
    let b = format!("{}/ogc/v1", req.base);
    let body = json!({
        "title": "Buurtcirkel Atlas",
        "description": "Waar kan een nieuwe Buurtcirkel starten? CBS-gebieden met kerncijfers, geschiktheidsscores, gegeneraliseerde clusters van mogelijke deelnemers, kandidaat-plekken, ontmoetingsplekken en bestaande Buurtcirkels.",
        "links": [
            link(format!("{b}?f=json"), "self", "application/json", "Deze pagina (JSON)"),
            link(format!("{b}?f=html"), "alternate", "text/html", "Deze pagina (HTML)"),
            link(format!("{b}/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "OpenAPI 3.0"),
            link(format!("{b}/api?f=html"), "service-doc", "text/html", "API-documentatie"),
            link(format!("{b}/conformance"), "conformance", "application/json", "Conformance"),
            link(format!("{b}/collections"), "data", "application/json", "Collecties"),
            link(format!("{b}/tileMatrixSets"), "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", "application/json", "Tegelschema's"),
            link(super::LICENSE_URL.to_string(), "license", "text/html", super::LICENSE_NAME),
        ],
        "attribution": super::ATTRIBUTION,
    });
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::landing(&body).into_response(),
    })
}

/// `GET /ogc/v1/`: 308 to `/ogc/v1` with the same query. OWSLib always asks for the landing
/// page with a trailing slash; every other path keeps the no-trailing-slash rule.
pub async fn landing_slash(uri: Uri) -> Response {
    let to = match uri.query() {
        Some(q) => format!("/ogc/v1?{q}"),
        None => "/ogc/v1".to_string(),
    };
    Redirect::permanent(&to).into_response()
}

/// `GET /ogc/v1/openapi.json`: the OpenAPI document where the Dutch API Design Rules expect
/// it (`/core/publish-openapi`), as plain JSON.
pub async fn openapi_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &[], false)?;
    let doc = super::openapi::document(&req.base, &req.weights);
    Ok(json_response(&doc, "application/json"))
}

/// `GET /ogc/v1/conformance`.
pub async fn conformance(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], true)?;
    let body = json!({ "conformsTo": CONFORMANCE });
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::list("Conformance", &CONFORMANCE).into_response(),
    })
}

/// `GET /ogc/v1/api`: the OpenAPI 3.0 document.
pub async fn api(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], true)?;
    let doc = super::openapi::document(&req.base, &req.weights);
    Ok(match req.format {
        Format::Json => json_response(&doc, "application/vnd.oai.openapi+json;version=3.0"),
        Format::Html => {
            let roles: Vec<(&str, &str)> = crate::release::layers::COLLECTIONS
                .iter()
                .map(|c| (*c, state.inner.config.read_role(Some(c)).name()))
                .collect();
            html::service_doc(&req.base, &doc, &roles).into_response()
        }
    })
}
