//! OGC API Tiles of each collection: the tileset list, the WebMercatorQuad tileset metadata
//! (TileJSON fields included) and the MVT tiles themselves, with ETag/304 and 204 for empty
//! tiles.
//!
//! Inputs: the collection id, `z/y/x` and optional analysis parameters. Outputs: JSON and MVT
//! bytes rendered by [`crate::release::tiles`]. A cached tile of the default analysis is
//! answered without allocating (the map's hot path).
//! Must not depend on the other handler modules.

use axum::extract::{Query, RawPathParams, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::problem::Problem;
use super::query::{
    CollectionRequest, Pairs, parse, published, readable, results, unknown_collection,
};
use super::respond::{json_response, link, query_of};
use super::state::AppState;
use crate::release::tiles::{self, MAX_ZOOM};

/// `GET /ogc/v1/collections/{id}/tiles`: the tilesets of a collection.
pub async fn tilesets(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f"], false)?;
    let id = &ask.id;
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
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f"], false)?;
    let p = published(&state, &req, &ask.id).await?;
    let (id, ds, c) = (&ask.id, &p.dataset, p.collection());
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
                let ds = state.dataset()?;
                ds.results(&ds.default_set()).await.map_err(Problem::from)?
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
            .map_err(Problem::from)?
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
