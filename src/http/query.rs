//! Query parsing for every data endpoint: names, duplicates and output format checked once,
//! and the analysis parameters turned into one validated [`ParamSet`] per request.
//!
//! Inputs: the raw query pairs, the `Accept` header and the collection id of the path.
//! Outputs: a `Req` (pairs, format, base URL) and the request's published [`Results`], or a
//! 400/401/403/404 [`Problem`] that says which parameter was wrong.
//! Must not depend on any handler module (they depend on it).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use geo_types::{Coord, Rect};

use super::config::Role;
use super::problem::Problem;
use super::respond::encode;
use super::state::AppState;
use crate::analysis::run::Params;
use crate::analysis::weights::Weights;
use crate::crs::Crs;
use crate::release::collection::Collection;
use crate::release::dataset::{Dataset, ParamSet, Results};
use crate::release::layers::{COLLECTIONS, PLANNER_COLLECTIONS};

pub(crate) type Pairs = Vec<(String, String)>;

/// Why a parameter set off the public menu needs a planner (docs/privacy.md, Tiers).
const PLANNER_PARAMETERS: &str = "the public may use walk_m 600, 800 or 1000 with min_participants 5 and the default weights; other parameter sets are for planners";

/// Why cluster and site geometry needs a planner (docs/privacy.md, Tiers).
const PLANNER_GEOMETRY: &str = "cluster and site geometry follows client positions and is for planners; the public sees buurten, wijken, gemeenten, places and circles";

/// The analysis parameters every data endpoint accepts, for the built-in weights (a criteria
/// file's indicators add `w_<key>`; see [`Weights::parameter_names`]).
pub fn analysis_parameters() -> Vec<&'static str> {
    let mut v = vec!["walk_m", "min_participants"];
    v.extend(Weights::parameters());
    v
}

pub(crate) fn is_analysis_parameter(name: &str) -> bool {
    name == "walk_m" || name == "min_participants" || Weights::is_parameter(name)
}

/// The JSON/HTML choice of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Html,
}

/// A request's parsed query, after the common checks.
pub(crate) struct Req {
    pub(crate) pairs: Pairs,
    pub(crate) format: Format,
    pub(crate) base: String,
    /// The server's configured weights (the defaults the query's `w_*`/`t_*` override).
    pub(crate) weights: Weights,
    /// The request headers (the token decides which parameter sets it may ask for).
    pub(crate) headers: HeaderMap,
}

impl Req {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The analysis parameters as a query-string suffix (`&walk_m=...`), to keep in links.
    pub(crate) fn analysis_suffix(&self) -> String {
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
pub(crate) fn parse(
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
        weights: state.inner.config.weights.clone(),
        headers: headers.clone(),
    })
}

/// True when an Accept header lists text/html before any JSON type (browsers do).
pub(crate) fn prefers_html(accept: &str) -> bool {
    let pos = |t: &str| accept.find(t);
    match (pos("text/html"), pos("json")) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The analysis parameters of a request.
pub(crate) fn param_set(req: &Req) -> Result<ParamSet, Problem> {
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
    let weights = req
        .weights
        .with_overrides(&overrides)
        .map_err(Problem::from)?;
    Ok(ParamSet { params, weights })
}

/// The request's results with the collections `names` built (see [`Dataset::results_with`]).
pub(crate) async fn results(
    state: &AppState,
    req: &Req,
    names: &[&str],
) -> Result<(Arc<Dataset>, Arc<Results>), Problem> {
    let set = param_set(req)?;
    let ds = state.dataset()?;
    if !ds.is_public(&set) && !ds.opens_everything() {
        state.authorize_because(&req.headers, Role::Planner, PLANNER_PARAMETERS)?;
    }
    if ds.is_cached(&set) {
        let r = ds.results_with(&set, names).await?;
        return Ok((ds, r));
    }
    let _slot = admit_new_set(state)?;
    let r = ds.results_with(&set, names).await?;
    Ok((ds, r))
}

/// Admits the computation of a parameter set that is not cached: each client address may
/// start a few a minute (429 past it), and only while an analysis slot is free (503), so a
/// flood of new combinations queues nothing and cached reads, tiles and /health stay fast.
/// Hold the returned slot while computing.
fn admit_new_set(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, Problem> {
    if let Some(ip) = super::ratelimit::peer()
        && let Err(wait) = state.inner.new_sets.take(ip)
    {
        return Err(Problem::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this address started more new parameter sets than the limit of {} a minute (new_sets_per_minute); try again in {wait} s (cached results, such as the public menu, answer at once)",
                state.inner.config.new_sets_per_minute
            ),
        )
        .with_header_value(axum::http::header::RETRY_AFTER, wait.to_string()));
    }
    state.inner.analysis_slots.try_acquire().map_err(|_| {
        Problem::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} analyses of new parameter sets are running; try again in a few seconds (cached results answer at once)",
                super::state::MAX_ANALYSES
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, "5")
    })
}

/// One area level's scores for the request's parameter set: from the full results when they
/// are cached, else the cheap level-only scoring ([`Dataset::level_scores`]), admitted like
/// any new set. What a slider move of the web map asks for.
pub(crate) async fn level_scores(
    state: &AppState,
    req: &Req,
    level: crate::model::Level,
) -> Result<LevelScores, Problem> {
    let set = param_set(req)?;
    let ds = state.dataset()?;
    if !ds.is_public(&set) && !ds.opens_everything() {
        state.authorize_because(&req.headers, Role::Planner, PLANNER_PARAMETERS)?;
    }
    if ds.is_cached(&set) {
        return Ok(LevelScores::Full(
            ds.results_with(&set, &[level.collection()]).await?,
        ));
    }
    let _slot = if ds.is_level_cached(&set, level) {
        None
    } else {
        Some(admit_new_set(state)?)
    };
    let c = ds.level_scores(&set, level).await?;
    Ok(LevelScores::Level(set, c))
}

/// The answer of [`level_scores`]: the full results, or one level scored alone.
pub(crate) enum LevelScores {
    /// The set's full results were cached.
    Full(Arc<Results>),
    /// Only this level, scored without stability.
    Level(ParamSet, Arc<crate::release::dataset::LevelScores>),
}

impl LevelScores {
    /// The parameter set.
    pub(crate) fn set(&self) -> &ParamSet {
        match self {
            LevelScores::Full(r) => &r.set,
            LevelScores::Level(set, _) => set,
        }
    }

    /// The collection `id`.
    pub(crate) fn collection(&self, id: &str) -> Option<&Collection> {
        match self {
            LevelScores::Full(r) => r.collection(id),
            LevelScores::Level(_, l) => (l.collection.name == id).then_some(&l.collection),
        }
    }

    /// When the answer was computed.
    pub(crate) fn computed_at(&self) -> &str {
        match self {
            LevelScores::Full(r) => &r.computed_at,
            LevelScores::Level(_, l) => &l.computed_at,
        }
    }
}

pub(crate) fn unknown_collection(id: &str) -> Problem {
    Problem::not_found(format!(
        "no collection '{id}'; expected one of {}",
        COLLECTIONS.join(", ")
    ))
}

/// Checks that `id` names a collection and that the caller may read it.
pub(crate) fn readable(state: &AppState, headers: &HeaderMap, id: &str) -> Result<(), Problem> {
    if !COLLECTIONS.contains(&id) {
        return Err(unknown_collection(id));
    }
    let needed = state.inner.config.read_role(Some(id));
    if PLANNER_COLLECTIONS.contains(&id) && !state.opens_everything() {
        return state
            .authorize_because(headers, needed.max(Role::Planner), PLANNER_GEOMETRY)
            .map(|_| ());
    }
    state.authorize(headers, needed).map(|_| ())
}

/// A request for one collection, after the first check (the collection exists and the caller
/// may read it): what every collection handler starts from, extracted once by axum from the
/// path's first parameter, the headers and the query.
pub struct CollectionRequest {
    /// The collection id of the path.
    pub(crate) id: String,
    /// The request headers.
    pub(crate) headers: HeaderMap,
    /// The query pairs, or why they could not be read.
    query: Result<Query<Pairs>, QueryRejection>,
}

impl FromRequestParts<AppState> for CollectionRequest {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::not_found(e.body_text()))?;
        let id = params
            .iter()
            .next()
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| Problem::not_found(String::from("no collection in this path")))?;
        readable(state, &parts.headers, &id)?;
        Ok(CollectionRequest {
            id,
            headers: parts.headers.clone(),
            query: Query::<Pairs>::try_from_uri(&parts.uri),
        })
    }
}

impl CollectionRequest {
    /// The parsed query (see [`parse`]).
    pub(crate) fn parse(
        &mut self,
        state: &AppState,
        allowed: &[&str],
        html_ok: bool,
    ) -> Result<Req, Problem> {
        let query = std::mem::replace(&mut self.query, Ok(Query(Vec::new())));
        parse(state, &self.headers, query, allowed, html_ok)
    }
}

/// The published results of a request with the collection it asked for.
pub(crate) struct Published {
    /// The dataset the results come from.
    pub(crate) dataset: Arc<Dataset>,
    /// The results of the request's analysis parameters.
    pub(crate) results: Arc<Results>,
    index: usize,
}

impl Published {
    /// The collection the request asked for.
    pub(crate) fn collection(&self) -> &Collection {
        self.results.get(self.index)
    }
}

/// The results of `req` and the position of collection `id` in them (404 when the results
/// hold no such collection).
pub(crate) async fn published(state: &AppState, req: &Req, id: &str) -> Result<Published, Problem> {
    let index = COLLECTIONS
        .iter()
        .position(|c| *c == id)
        .ok_or_else(|| unknown_collection(id))?;
    let (dataset, results) = results(state, req, &[id]).await?;
    Ok(Published {
        dataset,
        results,
        index,
    })
}

/// A parsed `bbox`: a rectangle in the x/y (GIS) order of `crs`.
pub(crate) fn parse_bbox(text: &str, crs: Crs) -> Result<Rect<f64>, Problem> {
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
    // EPSG:4326 and EPSG:4258 are latitude first: lower-left (lat, lon), upper-right (lat, lon).
    let (x0, y0, x1, y1) = if crs.latitude_first() {
        (b, a, d, c)
    } else {
        (a, b, c, d)
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

pub(crate) fn parse_crs(name: &str, v: Option<&str>) -> Result<Crs, Problem> {
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

pub(crate) fn parse_count(
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
}
