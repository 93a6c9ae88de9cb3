//! OGC API Features collections: `/ogc/v1/collections` and `/ogc/v1/collections/{id}`, with
//! extent, supported CRSs and links to items and tiles (keeping the analysis parameters).
//!
//! Inputs: the request's published [`crate::release::dataset::Results`]. Outputs: JSON or HTML.
//! Must not depend on the other handler modules.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::filter::is_queryable;
use super::html;
use super::problem::Problem;
use super::query::{CollectionRequest, Format, Pairs, parse, published, results};
use super::respond::{json_response, link, query_of};
use super::state::AppState;
use crate::crs::Crs;
use crate::model::FieldType;
use crate::release::collection::{Collection, union};
use crate::release::dataset::Dataset;
use crate::release::layers::COLLECTIONS;

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
        .reduce(union)
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
            link(format!("{b}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json", "Queryables"),
            link(format!("{b}/schema"), "http://www.opengis.net/def/rel/ogc/1.0/schema", "application/schema+json", "Schema"),
            link(super::LICENSE_URL.to_string(), "license", "text/html", super::LICENSE_NAME),
        ],
        "attribution": super::ATTRIBUTION,
    });
    if let Some(e) = extent {
        v["extent"] = json!({"spatial": {
            "bbox": [[e.min().x, e.min().y, e.max().x, e.max().y]],
            "crs": Crs::Crs84.uri(),
        }});
    }
    v
}

/// The JSON Schema type of a field, from the data model (not from the values).
fn schema_of(t: FieldType) -> Value {
    match t {
        FieldType::Text => json!({"type": "string"}),
        FieldType::Integer => json!({"type": "integer"}),
        FieldType::Real => json!({"type": "number"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Json => json!({"type": "object"}),
    }
}

fn geometry_schema(id: &str) -> Value {
    if id == "places" {
        json!({"format": "geometry-point", "$ref": "https://geojson.org/schema/Point.json"})
    } else {
        json!({"format": "geometry-multipolygon", "$ref": "https://geojson.org/schema/MultiPolygon.json"})
    }
}

/// `GET /ogc/v1/collections/{id}/queryables` (Features Part 3) and `.../schema` (Part 5): JSON
/// Schema 2020-12 of the properties, typed by the data model. Queryables are the properties
/// a CQL2 `filter` can name (every property but the nested `toelichting`); the schema lists
/// every property.
async fn schema_doc(
    state: &AppState,
    ask: &mut CollectionRequest,
    queryables: bool,
) -> Result<Response, Problem> {
    let req = ask.parse(state, &["f"], false)?;
    let p = published(state, &req, &ask.id).await?;
    let c = p.collection();
    let kind = if queryables { "queryables" } else { "schema" };
    let mut props = serde_json::Map::new();
    props.insert("geometry".into(), geometry_schema(c.name));
    for (name, t) in &c.fields {
        if queryables && !is_queryable(*t) {
            continue;
        }
        let mut v = schema_of(*t);
        v["title"] = json!(name);
        props.insert((*name).to_string(), v);
    }
    let body = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{}/ogc/v1/collections/{}/{kind}", req.base, c.name),
        "type": "object",
        "title": c.title,
        "properties": props,
        "additionalProperties": !queryables,
    });
    Ok(json_response(&body, "application/schema+json"))
}

/// `GET /ogc/v1/collections/{id}/queryables`.
pub async fn queryables(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    schema_doc(&state, &mut ask, true).await
}

/// `GET /ogc/v1/collections/{id}/schema`.
pub async fn schema(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    schema_doc(&state, &mut ask, false).await
}

/// `&a=b&c=d` as `?a=b&c=d`.
/// `GET /ogc/v1/collections`.
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], true)?;
    let role = state.authorize(&headers, state.inner.config.read_role(None))?;
    let (ds, r) = results(&state, &req, &COLLECTIONS).await?;
    let suffix = req.analysis_suffix();
    let b = format!("{}/ogc/v1/collections", req.base);
    let list: Vec<Value> = r
        .collections()
        .filter(|c| state.inner.config.read_role(Some(c.name)) <= role)
        .map(|c| collection_json(c, &req.base, &suffix, &ds))
        .collect();
    let body = json!({
        "links": [
            link(format!("{b}?f=json{suffix}"), "self", "application/json", "Collecties"),
            link(format!("{b}?f=html{suffix}"), "alternate", "text/html", "Collecties"),
            link(super::LICENSE_URL.to_string(), "license", "text/html", super::LICENSE_NAME),
        ],
        "attribution": super::ATTRIBUTION,
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
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f"], true)?;
    let p = published(&state, &req, &ask.id).await?;
    let body = collection_json(
        p.collection(),
        &req.base,
        &req.analysis_suffix(),
        &p.dataset,
    );
    Ok(match req.format {
        Format::Json => json_response(&body, "application/json"),
        Format::Html => html::collection(&body).into_response(),
    })
}
