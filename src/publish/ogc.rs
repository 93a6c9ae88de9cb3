//! OGC API Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS by reference),
//! plus the OGC API Tiles resources of each collection, under `/ogc/v1`.
//!
//! Inputs: requests with query parameters; the [`Results`] of the request's analysis
//! parameters. Outputs: JSON, GeoJSON (CRS84 by default; `crs` for EPSG:28992 and EPSG:4326,
//! the latter latitude first), HTML, MVT. Every feature response carries `Content-Crs`.
//! Parameters are checked strictly: an unknown one is a 400 that lists the known ones, so a
//! typo in a weight never silently falls back to the default.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo::Intersects;
use geo_types::{Coord, Rect};
use serde_json::{Value, json};

use super::engine::{Collection, Crs, Dataset, ParamSet, Results};
use super::layers::COLLECTIONS;
use super::problem::Problem;
use super::tiles::{self, MAX_ZOOM};
use super::{AppState, html};
use crate::analysis::run::Params;
use crate::analysis::weights::Weights;

pub(super) type Pairs = Vec<(String, String)>;

/// Conformance classes this service implements.
pub const CONFORMANCE: [&str; 8] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
];

/// Default and largest page size of `items`.
pub const LIMIT_DEFAULT: usize = 100;
/// Largest page size of `items`.
pub const LIMIT_MAX: usize = 10_000;

/// Query parameters the area collections can be filtered on (when the collection has them).
pub const QUERYABLES: [&str; 6] = [
    "code",
    "gemeentecode",
    "wijkcode",
    "categorie",
    "deelnemers",
    "soort",
];

/// The analysis parameters every data endpoint accepts.
pub fn analysis_parameters() -> Vec<&'static str> {
    let mut v = vec!["walk_m", "min_participants"];
    v.extend(Weights::parameters());
    v
}

fn is_analysis_parameter(name: &str) -> bool {
    name == "walk_m" || name == "min_participants" || Weights::is_parameter(name)
}

/// The JSON/HTML choice of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
}

/// A request's parsed query, after the common checks.
pub(super) struct Req {
    pairs: Pairs,
    format: Format,
    base: String,
}

impl Req {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The analysis parameters as a query-string suffix (`&walk_m=...`), to keep in links.
    fn analysis_suffix(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.pairs {
            if is_analysis_parameter(k) {
                let _ = write!(s, "&{}={}", encode(k), encode(v));
            }
        }
        s
    }
}

/// Parses the query and checks names (`allowed` plus the analysis parameters), duplicates and
/// the output format.
pub(super) fn parse(
    state: &AppState,
    headers: &HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
    allowed: &[&str],
    html_ok: bool,
) -> Result<Req, Problem> {
    let Query(pairs) = query.map_err(|e| {
        Problem::bad_request(format!("the query string is not valid: {}", e.body_text()))
    })?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&k.as_str()) && !is_analysis_parameter(k) {
            return Err(Problem::bad_request(format!(
                "unknown parameter '{k}': expected one of {}, or the analysis parameters {}",
                allowed.join(", "),
                analysis_parameters().join(", ")
            )));
        }
        if pairs[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(Problem::bad_request(format!(
                "parameter '{k}' is given more than once: expected it at most once"
            )));
        }
    }
    let f = pairs
        .iter()
        .find(|(k, _)| k == "f")
        .map(|(_, v)| v.as_str());
    let format = match f {
        Some("json" | "geojson") => Format::Json,
        Some("html") if html_ok => Format::Html,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "f={other} is not supported here; expected {}",
                if html_ok {
                    "f=json or f=html"
                } else {
                    "f=json"
                }
            )));
        }
        None => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            if html_ok && prefers_html(accept) {
                Format::Html
            } else {
                Format::Json
            }
        }
    };
    Ok(Req {
        pairs,
        format,
        base: state.base(headers),
    })
}

/// True when an Accept header lists text/html before any JSON type (browsers do).
fn prefers_html(accept: &str) -> bool {
    let pos = |t: &str| accept.find(t);
    match (pos("text/html"), pos("json")) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The analysis parameters of a request.
fn param_set(req: &Req) -> Result<ParamSet, Problem> {
    let mut params = Params::default();
    if let Some(v) = req.get("walk_m") {
        params.walk_m = v.trim().parse().map_err(|_| {
            Problem::bad_request(format!(
                "walk_m={v:?} is not valid; expected metres, e.g. 800"
            ))
        })?;
    }
    if let Some(v) = req.get("min_participants") {
        params.min_participants = v.trim().parse().map_err(|_| {
            Problem::bad_request(format!(
                "min_participants={v:?} is not valid; expected a whole number, e.g. 5"
            ))
        })?;
    }
    params
        .validate()
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    let overrides: Vec<(&str, &str)> = req
        .pairs
        .iter()
        .filter(|(k, _)| Weights::is_parameter(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let weights = Weights::default()
        .with_overrides(&overrides)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    Ok(ParamSet { params, weights })
}

pub(super) async fn results(
    state: &AppState,
    req: &Req,
) -> Result<(Arc<Dataset>, Arc<Results>), Problem> {
    let set = param_set(req)?;
    let ds = state.dataset()?;
    let r = ds.results(&set).await.map_err(|e| match e {
        super::engine::EngineError::Params(m) => Problem::bad_request(m),
        other => Problem::internal(&other),
    })?;
    Ok((ds, r))
}

fn unknown_collection(id: &str) -> Problem {
    Problem::not_found(format!(
        "no collection '{id}'; expected one of {}",
        COLLECTIONS.join(", ")
    ))
}

/// Checks that `id` names a collection and that the caller may read it.
pub(super) fn readable(state: &AppState, headers: &HeaderMap, id: &str) -> Result<(), Problem> {
    if !COLLECTIONS.contains(&id) {
        return Err(unknown_collection(id));
    }
    state
        .inner
        .config
        .read_role(Some(id))
        .pipe(|needed| state.authorize(headers, needed))
        .map(|_| ())
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn json_response(v: &Value, content_type: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        v.to_string(),
    )
        .into_response()
}

fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

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
        ],
    });
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::landing(&body).into_response(),
    })
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
    let doc = super::openapi::document(&req.base);
    Ok(match req.format {
        Format::Json => json_response(&doc, "application/vnd.oai.openapi+json;version=3.0"),
        Format::Html => html::api(&req.base).into_response(),
    })
}

fn description(name: &str) -> &'static str {
    match name {
        "gemeenten" | "wijken" | "buurten" => {
            "Grenzen, CBS-kerncijfers, deelnemers (in klassen), geschiktheidsscore, categorie, rang en toelichting per criterium; afstandsmaat zegt of de loopafstand hemelsbreed of langs de straten is gemeten."
        }
        "clusters" => {
            "Groepen mogelijke deelnemers op loopafstand, gegeneraliseerd (minstens 5 leden, buffer 100 m, 100 m-raster); aantallen alleen in klassen."
        }
        "sites" => {
            "Kandidaat-plekken voor een nieuwe Buurtcirkel: een afgerond middelpunt met de loopafstand als straal, of (met een stratennetwerk) het gebied dat binnen de loopafstand te voet bereikbaar is."
        }
        "places" => "Ontmoetingsplekken (wijkcentrum, bibliotheek, kerk, buurthuis).",
        _ => "Bestaande Buurtcirkels.",
    }
}

fn collection_json(c: &Collection, base: &str, suffix: &str, ds: &Dataset) -> Value {
    let b = format!("{base}/ogc/v1/collections/{}", c.name);
    let extent = c
        .items
        .iter()
        .filter_map(|i| i.geom.bbox_lonlat)
        .reduce(super::engine::union)
        .or(ds.extent_lonlat);
    let mut v = json!({
        "id": c.name,
        "title": c.title,
        "description": description(c.name),
        "itemType": "feature",
        "crs": Crs::ALL.map(Crs::uri),
        "storageCrs": Crs::RdNew.uri(),
        "links": [
            link(format!("{b}?f=json{suffix}"), "self", "application/json", c.title),
            link(format!("{b}?f=html{suffix}"), "alternate", "text/html", c.title),
            link(format!("{b}/items?f=json{suffix}"), "items", "application/geo+json", "Features (GeoJSON)"),
            link(format!("{b}/items?f=html{suffix}"), "items", "text/html", "Features (HTML)"),
            link(format!("{b}/tiles{suffix_q}", suffix_q = query_of(suffix)), "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "application/json", "Vector tiles"),
        ],
    });
    if let Some(e) = extent {
        v["extent"] = json!({"spatial": {
            "bbox": [[e.min().x, e.min().y, e.max().x, e.max().y]],
            "crs": Crs::Crs84.uri(),
        }});
    }
    v
}

/// `&a=b&c=d` as `?a=b&c=d`.
fn query_of(suffix: &str) -> String {
    suffix
        .strip_prefix('&')
        .map_or_else(String::new, |s| format!("?{s}"))
}

/// `GET /ogc/v1/collections`.
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], true)?;
    let role = state.authorize(&headers, state.inner.config.read_role(None))?;
    let (ds, r) = results(&state, &req).await?;
    let suffix = req.analysis_suffix();
    let b = format!("{}/ogc/v1/collections", req.base);
    let list: Vec<Value> = r
        .collections
        .iter()
        .filter(|c| state.inner.config.read_role(Some(c.name)) <= role)
        .map(|c| collection_json(c, &req.base, &suffix, &ds))
        .collect();
    let body = json!({
        "links": [
            link(format!("{b}?f=json{suffix}"), "self", "application/json", "Collecties"),
            link(format!("{b}?f=html{suffix}"), "alternate", "text/html", "Collecties"),
        ],
        "collections": list,
    });
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::collections(&body).into_response(),
    })
}

/// `GET /ogc/v1/collections/{id}`.
pub async fn collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    readable(&state, &headers, &id)?;
    let req = parse(&state, &headers, query, &["f"], true)?;
    let (ds, r) = results(&state, &req).await?;
    let c = r.collection(&id).ok_or_else(|| unknown_collection(&id))?;
    let body = collection_json(c, &req.base, &req.analysis_suffix(), &ds);
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::collection(&body).into_response(),
    })
}

/// A parsed `bbox`: a rectangle in the x/y (GIS) order of `crs`.
fn parse_bbox(text: &str, crs: Crs) -> Result<Rect<f64>, Problem> {
    let nums: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            Problem::bad_request(format!(
                "bbox={text:?} is not valid: expected 4 numbers separated by commas (minx,miny,maxx,maxy in the bbox-crs axis order)"
            ))
        })?;
    let (a, b, c, d) = match nums[..] {
        [a, b, c, d] => (a, b, c, d),
        [a, b, _, c, d, _] => (a, b, c, d),
        _ => {
            return Err(Problem::bad_request(format!(
                "bbox={text:?} is not valid: expected 4 numbers (or 6 with heights), got {}",
                nums.len()
            )));
        }
    };
    if ![a, b, c, d].iter().all(|v| v.is_finite()) {
        return Err(Problem::bad_request(format!(
            "bbox={text:?} is not valid: expected finite numbers"
        )));
    }
    // EPSG:4326 is latitude first: lower-left (lat, lon), upper-right (lat, lon).
    let (x0, y0, x1, y1) = match crs {
        Crs::Epsg4326 => (b, a, d, c),
        _ => (a, b, c, d),
    };
    if x0 > x1 || y0 > y1 {
        return Err(Problem::bad_request(format!(
            "bbox={text:?} is not valid: the lower corner must come first (min before max)"
        )));
    }
    if crs != Crs::RdNew && (x0 < -180.0 || x1 > 180.0 || y0 < -90.0 || y1 > 90.0) {
        return Err(Problem::bad_request(format!(
            "bbox={text:?} is not valid in {}: longitude must lie in -180..180 and latitude in -90..90",
            crs.uri()
        )));
    }
    Ok(Rect::new(Coord { x: x0, y: y0 }, Coord { x: x1, y: y1 }))
}

fn parse_crs(name: &str, v: Option<&str>) -> Result<Crs, Problem> {
    match v {
        None => Ok(Crs::Crs84),
        Some(v) => Crs::parse(v).ok_or_else(|| {
            Problem::bad_request(format!(
                "{name}={v:?} is not supported: expected one of {}",
                Crs::ALL.map(Crs::uri).join(", ")
            ))
        }),
    }
}

fn parse_count(
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

/// Percent-encodes a query component.
fn encode(s: &str) -> String {
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

fn feature_headers(r: &mut Response, crs: Crs) {
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    r.headers_mut().insert(
        header::HeaderName::from_static("content-crs"),
        HeaderValue::from_static(match crs {
            Crs::Crs84 => "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
            Crs::Epsg4326 => "<http://www.opengis.net/def/crs/EPSG/0/4326>",
            Crs::RdNew => "<http://www.opengis.net/def/crs/EPSG/0/28992>",
        }),
    );
}

fn write_feature(out: &mut String, item: &super::engine::Item, crs: Crs, links: Option<&str>) {
    out.push_str(r#"{"type":"Feature","id":"#);
    out.push_str(&Value::String(item.id.clone()).to_string());
    out.push_str(r#","geometry":"#);
    out.push_str(item.geom.json(crs));
    out.push_str(r#","properties":"#);
    out.push_str(&item.properties);
    if let Some(l) = links {
        out.push_str(r#","links":"#);
        out.push_str(l);
    }
    out.push('}');
}

/// `GET /ogc/v1/collections/{id}/items`.
pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    readable(&state, &headers, &id)?;
    let mut allowed = vec!["f", "limit", "offset", "bbox", "bbox-crs", "crs"];
    allowed.extend(QUERYABLES);
    let req = parse(&state, &headers, query, &allowed, true)?;
    let limit = parse_count(req.get("limit"), "limit", LIMIT_DEFAULT, 1, LIMIT_MAX)?;
    let offset = parse_count(req.get("offset"), "offset", 0, 0, usize::MAX)?;
    let crs = parse_crs("crs", req.get("crs"))?;
    let bbox_crs = parse_crs("bbox-crs", req.get("bbox-crs"))?;
    let bbox = req
        .get("bbox")
        .map(|b| parse_bbox(b, bbox_crs))
        .transpose()?;
    let (_, r) = results(&state, &req).await?;
    let c = r.collection(&id).ok_or_else(|| unknown_collection(&id))?;
    let mut filters = Vec::new();
    for q in QUERYABLES {
        if let Some(v) = req.get(q) {
            let Some(i) = c.field(q) else {
                let here: Vec<&str> = QUERYABLES
                    .iter()
                    .copied()
                    .filter(|q| c.field(q).is_some())
                    .collect();
                return Err(Problem::bad_request(format!(
                    "unknown parameter '{q}' for collection {id}: it has no property {q}; queryable here: {}",
                    if here.is_empty() {
                        "none".to_string()
                    } else {
                        here.join(", ")
                    }
                )));
            };
            filters.push((i, v));
        }
    }
    let matched: Vec<&super::engine::Item> = c
        .items
        .iter()
        .filter(|it| {
            filters
                .iter()
                .all(|(i, v)| it.values[*i].as_str() == Some(*v))
        })
        .filter(|it| {
            let Some(rect) = bbox else { return true };
            let (g, b) = it.geom.in_crs(bbox_crs);
            b.is_some_and(|b| b.intersects(&rect)) && g.intersects(&rect)
        })
        .collect();
    let start = offset.min(matched.len());
    let end = start.saturating_add(limit).min(matched.len());
    let page = &matched[start..end];
    let b = format!("{}/ogc/v1/collections/{id}/items", req.base);
    let url = |f: &str, o: usize| {
        let mut s = format!("{b}?f={f}&limit={limit}&offset={o}");
        for (k, v) in &req.pairs {
            if !matches!(k.as_str(), "f" | "limit" | "offset") {
                let _ = write!(s, "&{}={}", encode(k), encode(v));
            }
        }
        s
    };
    let mut links = vec![
        link(
            url("json", start),
            "self",
            "application/geo+json",
            "Deze pagina",
        ),
        link(
            url("html", start),
            "alternate",
            "text/html",
            "Deze pagina (HTML)",
        ),
    ];
    if end < matched.len() {
        links.push(link(
            url("json", end),
            "next",
            "application/geo+json",
            "Volgende pagina",
        ));
    }
    if start > 0 {
        links.push(link(
            url("json", start.saturating_sub(limit)),
            "prev",
            "application/geo+json",
            "Vorige pagina",
        ));
    }
    links.push(link(
        format!("{}/ogc/v1/collections/{id}", req.base),
        "collection",
        "application/json",
        c.title,
    ));
    let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if req.format == Format::Html {
        return Ok(html::items(c, page, &links, matched.len(), start).into_response());
    }
    let mut out = String::with_capacity(page.len() * 2048 + 1024);
    out.push_str(r#"{"type":"FeatureCollection","features":["#);
    for (i, it) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_feature(&mut out, it, crs, None);
    }
    let _ = write!(
        out,
        r#"],"numberMatched":{},"numberReturned":{},"timeStamp":"{stamp}","links":{}}}"#,
        matched.len(),
        page.len(),
        Value::Array(links)
    );
    let mut resp = out.into_response();
    feature_headers(&mut resp, crs);
    Ok(resp)
}

/// `GET /ogc/v1/collections/{id}/items/{featureId}`.
pub async fn item(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    readable(&state, &headers, &id)?;
    let req = parse(&state, &headers, query, &["f", "crs"], true)?;
    let crs = parse_crs("crs", req.get("crs"))?;
    let (_, r) = results(&state, &req).await?;
    let c = r.collection(&id).ok_or_else(|| unknown_collection(&id))?;
    let it = c
        .item(&fid)
        .ok_or_else(|| Problem::not_found(format!("collection {id} has no feature '{fid}'")))?;
    let suffix = req.analysis_suffix();
    let b = format!("{}/ogc/v1/collections/{id}", req.base);
    let links = json!([
        link(
            format!("{b}/items/{}?f=json{suffix}", encode(&fid)),
            "self",
            "application/geo+json",
            "Dit object"
        ),
        link(
            format!("{b}/items/{}?f=html{suffix}", encode(&fid)),
            "alternate",
            "text/html",
            "Dit object (HTML)"
        ),
        link(
            format!("{b}?f=json{suffix}"),
            "collection",
            "application/json",
            c.title
        ),
    ]);
    if req.format == Format::Html {
        return Ok(html::item(c, it).into_response());
    }
    let mut out = String::new();
    write_feature(&mut out, it, crs, Some(&links.to_string()));
    let mut resp = out.into_response();
    feature_headers(&mut resp, crs);
    Ok(resp)
}

/// `GET /ogc/v1/collections/{id}/tiles`: the tilesets of a collection.
pub async fn tilesets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    readable(&state, &headers, &id)?;
    let req = parse(&state, &headers, query, &["f"], false)?;
    let q = query_of(&req.analysis_suffix());
    let b = format!("{}/ogc/v1/collections/{id}/tiles/WebMercatorQuad", req.base);
    Ok(json_response(
        &json!({"tilesets": [{
            "title": format!("{id} (WebMercatorQuad)"),
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
            "links": [
                link(format!("{b}{q}"), "self", "application/json", "Tileset"),
                link(format!("{b}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"), "item", "application/vnd.mapbox-vector-tile", "Tiles"),
            ],
        }]}),
        "application/json",
    ))
}

/// `GET /ogc/v1/collections/{id}/tiles/WebMercatorQuad`: tileset metadata (OGC API Tiles,
/// TileJSON-compatible fields included for web maps).
pub async fn tileset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    readable(&state, &headers, &id)?;
    let req = parse(&state, &headers, query, &["f"], false)?;
    let (ds, r) = results(&state, &req).await?;
    let c = r.collection(&id).ok_or_else(|| unknown_collection(&id))?;
    let q = query_of(&req.analysis_suffix());
    let b = format!("{}/ogc/v1/collections/{id}/tiles/WebMercatorQuad", req.base);
    let fields: serde_json::Map<String, Value> = tiles::TILE_FIELDS
        .iter()
        .filter(|f| c.field(f).is_some())
        .map(|f| ((*f).to_string(), json!(f)))
        .collect();
    let bounds = ds
        .extent_lonlat
        .map(|e| json!([e.min().x, e.min().y, e.max().x, e.max().y]));
    let body = json!({
        "title": c.title,
        "dataType": "vector",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "tileMatrixSetLimits": (0..=MAX_ZOOM).map(|z| json!({
            "tileMatrix": z.to_string(), "minTileRow": 0, "maxTileRow": (1u32 << z) - 1,
            "minTileCol": 0, "maxTileCol": (1u32 << z) - 1,
        })).collect::<Vec<_>>(),
        "layers": [{"id": id, "dataType": "vector", "geometryType": if matches!(id.as_str(), "places") { "points" } else { "polygons" }, "propertiesSchema": {"type": "object", "properties": fields.iter().map(|(k, _)| (k.clone(), json!({}))).collect::<serde_json::Map<_, _>>()}}],
        "links": [
            link(format!("{b}{q}"), "self", "application/json", "Tileset"),
            link(format!("{b}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"), "item", "application/vnd.mapbox-vector-tile", "Tiles"),
        ],
        "tilejson": "3.0.0",
        "tiles": [format!("{b}/{{z}}/{{y}}/{{x}}{q}")],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [{"id": id, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM}],
        "description": "Lege tegels antwoorden 204 No Content.",
    });
    Ok(json_response(&body, "application/json"))
}

/// `GET /ogc/v1/collections/{id}/tiles/WebMercatorQuad/{z}/{y}/{x}`: one MVT tile; 204 for an
/// empty tile; `ETag` and `If-None-Match` (304).
pub async fn tile(
    State(state): State<AppState>,
    params: RawPathParams,
    req: axum::extract::Request,
) -> Result<Response, Problem> {
    // The hot path of the map: a cached tile of the default analysis is answered without
    // allocating (no header map or path copies, no base URL, no query parsing when there is no
    // query). Everything else goes through the same checks as the other routes.
    // The body is not Sync: keep only the parts, which the futures below may borrow.
    let (req, _) = req.into_parts();
    let headers = &req.headers;
    let mut it = params.iter().map(|(_, v)| v);
    let (Some(id), Some(z), Some(y), Some(x)) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(Problem::not_found(String::from("no tile at this path")));
    };
    readable(&state, headers, id)?;
    let x = x.strip_suffix(".mvt").unwrap_or(x);
    let bad = || {
        Problem::not_found(format!(
            "no tile {z}/{y}/{x}: expected zoom 0 to {MAX_ZOOM} and row and column from 0 to 2^zoom - 1"
        ))
    };
    let zz: u8 = z.parse().map_err(|_| bad())?;
    if zz > MAX_ZOOM {
        return Err(bad());
    }
    let (yy, xx): (u32, u32) = (y.parse().map_err(|_| bad())?, x.parse().map_err(|_| bad())?);
    if yy >= 1 << zz || xx >= 1 << zz {
        return Err(bad());
    }
    let m = &state.inner.metrics;
    let plain = req.uri.query().is_none_or(str::is_empty);
    // A cached tile of the default analysis: answered at once, with no timer set.
    let cached = if plain {
        state
            .dataset()?
            .default_results_ready()
            .and_then(|r| r.collection(id).map(|c| c.name).zip(Some(r)))
            .and_then(|(name, r)| r.tiles.get(name, zz, xx, yy))
    } else {
        None
    };
    let t = if let Some(t) = cached {
        m.tile_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        t
    } else {
        // Anything else may compute an analysis or render a tile: bounded by the request
        // time limit like every other route.
        let limit = std::time::Duration::from_secs(state.inner.config.request_timeout_s);
        let slow = async {
            let r = if plain {
                state
                    .dataset()?
                    .results(&ParamSet::default())
                    .await
                    .map_err(|e| Problem::internal(&e))?
            } else {
                let query = Query::<Pairs>::try_from_uri(&req.uri);
                let parsed = parse(&state, headers, query, &["f"], false)?;
                results(&state, &parsed).await?.1
            };
            let name = r.collection(id).ok_or_else(|| unknown_collection(id))?.name;
            if let Some(t) = r.tiles.get(name, zz, xx, yy) {
                m.tile_hits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(t);
            }
            m.tile_misses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r2 = r.clone();
            let t = tokio::task::spawn_blocking(move || {
                r2.collection(name)
                    .map(|c| tiles::render_cached(c, zz, xx, yy))
            })
            .await
            .map_err(|e| Problem::internal(&e))?
            .ok_or_else(|| unknown_collection(name))?;
            r.tiles.put(name, zz, xx, yy, t.clone());
            Ok::<_, Problem>(t)
        };
        tokio::time::timeout(limit, slow).await.map_err(|_| {
            Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the tile took longer than the time limit of {} s (request_timeout_s)",
                    limit.as_secs()
                ),
            )
        })??
    };
    let cache = HeaderValue::from_static("public, max-age=300");
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == t.etag.as_bytes())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, t.etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    if t.body.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [(header::ETAG, t.etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
            ),
            (header::ETAG, t.etag),
            (header::CACHE_CONTROL, cache),
        ],
        t.body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_4326_bbox_is_read_latitude_first() {
        let r = parse_bbox("52.0,5.0,52.1,5.2", Crs::Epsg4326).unwrap();
        assert_eq!(
            (r.min().x, r.min().y, r.max().x, r.max().y),
            (5.0, 52.0, 5.2, 52.1)
        );
    }

    #[test]
    fn bboxes_with_the_corners_swapped_or_three_numbers_are_refused() {
        assert!(parse_bbox("5.2,52.1,5.0,52.0", Crs::Crs84).is_err());
        assert!(parse_bbox("1,2,3", Crs::Crs84).is_err());
        assert!(parse_bbox("1,2,x,4", Crs::Crs84).is_err());
        assert!(parse_bbox("0,0,300000,700000", Crs::RdNew).is_ok());
    }

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode("http://x/a b"), "http%3A%2F%2Fx%2Fa%20b");
        assert_eq!(encode("5,52"), "5%2C52");
    }
}
