//! OGC API Features Part 1 (core, GeoJSON, HTML) and Part 2 (CRS by reference) items:
//! `/ogc/v1/collections/{id}/items` and `/items/{featureId}`.
//!
//! Inputs: requests with query parameters; the [`crate::release::dataset::Results`] of the
//! request's analysis parameters. Outputs: GeoJSON (CRS84 by default; `crs` for EPSG:28992,
//! EPSG:4326 and EPSG:4258, the latter two latitude first) or HTML. Every feature response carries `Content-Crs`.
//! Parameters are checked strictly: an unknown one is a 400 that lists the known ones, so a
//! typo in a weight never silently falls back to the default.
//! Must not depend on the other handler modules.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use geo::Intersects;
use serde_json::{Value, json};

use super::filter;
use super::html;
use super::problem::Problem;
use super::query::{CollectionRequest, Format, parse_bbox, parse_count, parse_crs, published};
use super::respond::{encode, link};
use super::state::AppState;
use crate::crs::Crs;
use crate::release::collection::Item;

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
            Crs::Etrs89 => "<http://www.opengis.net/def/crs/EPSG/0/4258>",
            Crs::RdNew => "<http://www.opengis.net/def/crs/EPSG/0/28992>",
        }),
    );
}

/// Checks a Features Core `datetime`: an RFC 3339 date or date-time, or an interval of two
/// with `..` for an open end (`2024-01-01/..`). Errors name the part that is wrong.
pub(crate) fn check_datetime(v: &str) -> Result<(), Problem> {
    let instant = |p: &str| {
        chrono::DateTime::parse_from_rfc3339(p).is_ok()
            || chrono::NaiveDate::parse_from_str(p, "%Y-%m-%d").is_ok()
    };
    let parts: Vec<&str> = v.split('/').collect();
    let ok = match parts.as_slice() {
        [one] => instant(one),
        [a, b] => {
            (*a == ".." || a.is_empty() || instant(a))
                && (*b == ".." || b.is_empty() || instant(b))
                && !(matches!(*a, ".." | "") && matches!(*b, ".." | ""))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::bad_request(format!(
            "datetime={v:?} is not valid; expected an RFC 3339 date or date-time (2024-05-01, 2024-05-01T12:00:00Z) or an interval of two, with .. for an open end (2024-01-01/..)"
        )))
    }
}

/// `GET /ogc/v1/collections/{id}/items`.
pub async fn items(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let mut allowed = vec![
        "f",
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "crs",
        "datetime",
        "filter",
        "filter-lang",
    ];
    allowed.extend(QUERYABLES);
    let req = ask.parse(&state, &allowed, true)?;
    let id = &ask.id;
    // Features Core: a limit above the maximum is served as the maximum (the links say so).
    let limit =
        parse_count(req.get("limit"), "limit", LIMIT_DEFAULT, 1, usize::MAX)?.min(LIMIT_MAX);
    // No collection has temporal properties, so every feature matches any valid datetime.
    if let Some(d) = req.get("datetime") {
        check_datetime(d)?;
    }
    let offset = parse_count(req.get("offset"), "offset", 0, 0, usize::MAX)?;
    let crs = parse_crs("crs", req.get("crs"))?;
    let bbox_crs = parse_crs("bbox-crs", req.get("bbox-crs"))?;
    let bbox = req
        .get("bbox")
        .map(|b| parse_bbox(b, bbox_crs))
        .transpose()?;
    match req.get("filter-lang") {
        None | Some("cql2-text") => {}
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "filter-lang={other} is not supported; expected cql2-text"
            )));
        }
    }
    let p = published(&state, &req, id).await?;
    let c = p.collection();
    let cql = req
        .get("filter")
        .map(|f| filter::parse(f).and_then(|e| e.bind(&c.fields)))
        .transpose()
        .map_err(|e| Problem::bad_request(e.to_string()))?;
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
    let matched: Vec<&Item> = c
        .items
        .iter()
        .filter(|it| {
            filters
                .iter()
                .all(|(i, v)| it.values[*i].as_str() == Some(*v))
        })
        .filter(|it| cql.as_ref().is_none_or(|e| e.matches(&it.values)))
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
        // `limit` is written once, clamped; everything else as asked.
        for (k, v) in &req.pairs {
            if !matches!(k.as_str(), "f" | "limit" | "offset") {
                let _ = write!(s, "&{}={}", encode(k), encode(v));
            }
        }
        s
    };
    // Paging links stay in the format of the page they are on: a person browsing the HTML
    // table goes on to the next HTML page, a JSON client to the next JSON page.
    let html = req.format == Format::Html;
    let (f, page_type, collection_type) = if html {
        ("html", "text/html", "text/html")
    } else {
        ("json", "application/geo+json", "application/json")
    };
    let mut links = if html {
        vec![
            link(url("html", start), "self", "text/html", "Deze pagina"),
            link(
                url("json", start),
                "alternate",
                "application/geo+json",
                "Deze pagina (GeoJSON)",
            ),
        ]
    } else {
        vec![
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
        ]
    };
    if end < matched.len() {
        links.push(link(url(f, end), "next", page_type, "Volgende pagina"));
    }
    if start > 0 {
        links.push(link(
            url(f, start.saturating_sub(limit)),
            "prev",
            page_type,
            "Vorige pagina",
        ));
    }
    links.push(link(
        format!(
            "{}/ogc/v1/collections/{id}{}",
            req.base,
            if html { "?f=html" } else { "" }
        ),
        "collection",
        collection_type,
        c.title,
    ));
    let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if req.format == Format::Html {
        let suffix = req.analysis_suffix();
        return Ok(html::items(c, page, &links, matched.len(), start, &suffix).into_response());
    }
    let mut out = String::with_capacity(page.len() * 2048 + 1024);
    out.push_str(r#"{"type":"FeatureCollection","features":["#);
    for (i, it) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        it.write_geojson(&mut out, crs, None);
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
    Path((_, fid)): Path<(String, String)>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f", "crs"], true)?;
    let id = &ask.id;
    let crs = parse_crs("crs", req.get("crs"))?;
    let p = published(&state, &req, id).await?;
    let c = p.collection();
    let it = c
        .item(&fid)
        .ok_or_else(|| Problem::not_found(format!("collection {id} has no feature '{fid}'")))?;
    let suffix = req.analysis_suffix();
    let b = format!("{}/ogc/v1/collections/{id}", req.base);
    let json_self = link(
        format!("{b}/items/{}?f=json{suffix}", encode(&fid)),
        "self",
        "application/geo+json",
        "Dit object",
    );
    let html_self = link(
        format!("{b}/items/{}?f=html{suffix}", encode(&fid)),
        "self",
        "text/html",
        "Dit object",
    );
    let alternate = |mut l: Value, title: &str| {
        l["rel"] = json!("alternate");
        l["title"] = json!(title);
        l
    };
    if req.format == Format::Html {
        let links = json!([
            html_self,
            alternate(json_self, "Dit object (GeoJSON)"),
            link(
                format!("{b}?f=html{suffix}"),
                "collection",
                "text/html",
                c.title
            ),
            link(
                format!("{b}/items?f=html{suffix}"),
                "items",
                "text/html",
                "Alle objecten (HTML)"
            ),
        ]);
        return Ok(html::item(c, it, &links).into_response());
    }
    let links = json!([
        json_self,
        alternate(html_self, "Dit object (HTML)"),
        link(
            format!("{b}?f=json{suffix}"),
            "collection",
            "application/json",
            c.title
        ),
    ]);
    let mut out = String::new();
    it.write_geojson(&mut out, crs, Some(&links.to_string()));
    let mut resp = out.into_response();
    feature_headers(&mut resp, crs);
    Ok(resp)
}
