//! Two small JSON endpoints for the web map, next to OGC API Features:
//!
//! - `GET /api/v1/search?q=...`: gemeenten, wijken and buurten whose name contains `q` or whose
//!   CBS code starts with it, best match first, with their bounding box (CRS84) to zoom to.
//! - `GET /api/v1/scores/{collection}`: the score, category, rank and participant bucket of
//!   every area of one level for the request's analysis parameters, as compact rows without
//!   geometry, so the map can recolour its vector tiles after a slider move without fetching
//!   megabytes of GeoJSON.
//!
//! Inputs: the published collections of [`crate::release::dataset::Results`] (the same values the items
//! and tiles carry, built by [`crate::release::layers::build`]). Outputs: JSON. Nothing here reads the
//! store directly, so neither endpoint can publish more than the items endpoint does.
//! Must not depend on the other handler modules or read the store.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::problem::Problem;
use super::query::{Pairs, parse, readable, results};
use super::state::AppState;
use crate::release::collection::{Collection, Item};

/// The area collections, in the order search results of equal quality are listed.
pub const AREA_COLLECTIONS: [&str; 3] = ["gemeenten", "wijken", "buurten"];

/// The columns of a `scores` row, in order.
pub const SCORE_FIELDS: [&str; 10] = [
    "code",
    "naam",
    "gemeentecode",
    "score",
    "categorie",
    "rang",
    "rang_van",
    "deelnemers",
    "volledigheid",
    "bbox",
];

/// Most search results returned.
pub const SEARCH_LIMIT_MAX: usize = 50;

fn json_response(v: &Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
        .into_response()
}

/// Lower case without diacritics, so "Sudwest" finds "Súdwest-Fryslân" and "den haag" finds
/// "'s-Gravenhage"'s neighbour "Den Haag Centrum" alike.
fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            'ç' => 'c',
            'ñ' => 'n',
            '’' | '`' => '\'',
            other => other,
        })
        .collect()
}

/// How well `item` matches the folded query: lower is better, `None` for no match.
fn match_rank(name: &str, code: &str, q: &str) -> Option<u8> {
    let name = fold(name);
    let code = code.to_ascii_lowercase();
    if code == q || name == q {
        Some(0)
    } else if code.starts_with(q) || name.starts_with(q) {
        Some(1)
    } else if name
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.starts_with(q))
    {
        Some(2)
    } else if name.contains(q) {
        Some(3)
    } else {
        None
    }
}

fn text<'a>(c: &Collection, it: &'a Item, field: &str) -> Option<&'a str> {
    c.field(field).and_then(|i| it.values[i].as_str())
}

fn bbox(it: &Item) -> Value {
    let r5 = |v: f64| (v * 1e5).round() / 1e5;
    it.geom.bbox_lonlat.map_or(Value::Null, |b| {
        json!([r5(b.min().x), r5(b.min().y), r5(b.max().x), r5(b.max().y)])
    })
}

/// `GET /api/v1/search?q=...&limit=10`.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["q", "limit", "f"], false)?;
    state.authorize(&headers, state.inner.config.read_role(None))?;
    let q = fold(req.get("q").unwrap_or("").trim());
    if q.is_empty() || q.chars().count() > 100 {
        return Err(Problem::bad_request(
            "q is missing or too long; expected 1 to 100 characters of a name or a CBS code, e.g. q=Centrum or q=GM0363",
        ));
    }
    let limit = match req.get("limit") {
        None => 10,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=SEARCH_LIMIT_MAX).contains(n))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "limit={v:?} is not valid; expected a whole number from 1 to {SEARCH_LIMIT_MAX}"
                ))
            })?,
    };
    let (_, r) = results(&state, &req, &AREA_COLLECTIONS).await?;
    let gemeenten = r.collection("gemeenten");
    let mut hits: Vec<(u8, usize, &str, Value)> = Vec::new();
    for (order, name) in AREA_COLLECTIONS.iter().enumerate() {
        if readable(&state, &headers, name).is_err() {
            continue;
        }
        let Some(c) = r.collection(name) else {
            continue;
        };
        for it in &c.items {
            let naam = text(c, it, "naam").unwrap_or("");
            let Some(rank) = match_rank(naam, &it.id, &q) else {
                continue;
            };
            let gm = text(c, it, "gemeentecode");
            let gm_name = gm
                .and_then(|g| gemeenten.and_then(|gc| gc.item(g).map(|i| (gc, i))))
                .and_then(|(gc, i)| text(gc, i, "naam"));
            hits.push((
                rank,
                order,
                naam,
                json!({
                    "collection": name,
                    "code": it.id,
                    "naam": naam,
                    "gemeentecode": gm,
                    "gemeentenaam": gm_name,
                    "bbox": bbox(it),
                }),
            ));
        }
    }
    hits.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let matched = hits.len();
    let list: Vec<Value> = hits.into_iter().take(limit).map(|h| h.3).collect();
    Ok(json_response(&json!({
        "query": req.get("q"),
        "numberMatched": matched,
        "numberReturned": list.len(),
        "results": list,
    })))
}

/// `GET /api/v1/scores/{collection}` with the analysis parameters.
pub async fn scores(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    if !AREA_COLLECTIONS.contains(&id.as_str()) {
        return Err(Problem::not_found(format!(
            "no scores for '{id}'; expected one of {}",
            AREA_COLLECTIONS.join(", ")
        )));
    }
    readable(&state, &headers, &id)?;
    let req = parse(&state, &headers, query, &["f"], false)?;
    let level = crate::model::Level::from_collection(&id)
        .ok_or_else(|| Problem::not_found(format!("no collection '{id}'")))?;
    // A slider move: the level scored alone when the set's full results are not cached.
    let r = super::query::level_scores(&state, &req, level).await?;
    let Some(c) = r.collection(&id) else {
        return Err(Problem::not_found(format!("no collection '{id}'")));
    };
    let cols: Vec<Option<usize>> = SCORE_FIELDS.iter().map(|f| c.field(f)).collect();
    let rows: Vec<Value> = c
        .items
        .iter()
        .map(|it| {
            Value::Array(
                SCORE_FIELDS
                    .iter()
                    .zip(&cols)
                    .map(|(f, i)| match (*f, i) {
                        ("bbox", _) => bbox(it),
                        (_, Some(i)) => it.values[*i].clone(),
                        _ => Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    let params: serde_json::Map<String, Value> = r
        .set()
        .weights
        .all()
        .iter()
        .zip(r.set().weights.parameter_names())
        .map(|(w, p)| (p, json!(w)))
        .chain([
            ("walk_m".to_string(), json!(r.set().params.walk_m)),
            (
                "min_participants".to_string(),
                json!(r.set().params.min_participants),
            ),
            (
                "t_geschikt".to_string(),
                json!(r.set().weights.thresholds().geschikt),
            ),
            (
                "t_kansrijk".to_string(),
                json!(r.set().weights.thresholds().kansrijk),
            ),
            (
                "t_volledigheid".to_string(),
                json!(r.set().weights.thresholds().volledigheid),
            ),
        ])
        .collect();
    Ok(json_response(&json!({
        "collection": id,
        "timeStamp": r.computed_at(),
        "parameters": params,
        "numberMatched": rows.len(),
        "fields": SCORE_FIELDS,
        "rows": rows,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_matches_codes_names_and_word_starts_without_diacritics() {
        assert_eq!(match_rank("Centrum", "BU03630001", "bu0363"), Some(1));
        assert_eq!(match_rank("Centrum", "BU03630001", "centrum"), Some(0));
        assert_eq!(match_rank("Súdwest-Fryslân", "GM1900", "fryslan"), Some(2));
        assert_eq!(match_rank("Oud-Zuid", "WK036300", "d-zu"), Some(3));
        assert_eq!(match_rank("Oud-Zuid", "WK036300", "noord"), None);
    }
}
