//! OGC API Tiles: the tile matrix sets (`/ogc/v1/tileMatrixSets`, OGC TMS 2.0 JSON:
//! WebMercatorQuad and PDOK's NetherlandsRDNewQuad), the tileset list of each collection, the
//! tileset metadata (with the `tiling-scheme` link, templated tile links and the collection's
//! own bounds), a TileJSON document for MapLibre users, and the MVT tiles themselves, with
//! ETag/304, 204 for empty tiles and gzip when asked.
//!
//! Inputs: the collection id, the tile matrix set, `z/y/x` and optional analysis parameters.
//! Outputs: JSON and MVT bytes rendered by [`crate::release::tiles`]. A cached tile of the default analysis is
//! answered without allocating (the map's hot path).
//! Must not depend on the other handler modules.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geo_types::Rect;
use serde_json::{Value, json};

use super::problem::Problem;
use super::query::{
    CollectionRequest, Pairs, parse, published, readable, results, unknown_collection,
};
use super::respond::{json_response, link, query_of};
use super::state::AppState;
use super::{ATTRIBUTION, LICENSE_NAME, LICENSE_URL};
use crate::release::collection::{Collection, union};
use crate::release::dataset::Dataset;
use crate::release::layers::COLLECTIONS;
use crate::release::tiles::{self, MAX_ZOOM, TILE_PIXELS, TileMatrixSet};

fn collection_description(id: &str) -> String {
    format!("Vectortegels van de collectie {id} van de Buurtcirkel Atlas.")
}

/// The relation of a link to a tile matrix set definition.
const TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";

fn unknown_tms(id: &str) -> Problem {
    Problem::not_found(format!(
        "no tile matrix set {id:?}: this service offers {}",
        TileMatrixSet::ALL.map(TileMatrixSet::id).join(", ")
    ))
}

/// The tile matrix set named by the second path parameter.
fn tms_of(params: &RawPathParams) -> Result<TileMatrixSet, Problem> {
    let id = params.iter().nth(1).map_or("", |(_, v)| v);
    TileMatrixSet::from_id(id).ok_or_else(|| unknown_tms(id))
}

/// The OGC TMS 2.0 JSON definition of `tms`. The TMS 1.0 member names (`identifier`,
/// `supportedCRS`, `topLeftCorner`, `lowerCorner`/`upperCorner`) are given beside the 2.0 ones:
/// GDAL up to 3.7 reads only those (and recognises a definition by `identifier`), and 2.0
/// readers ignore members they do not know.
fn definition(tms: TileMatrixSet, base: &str) -> Value {
    let extent = tms.extent();
    let (ll, ur) = (
        [extent.min().x, extent.min().y],
        [extent.max().x, extent.max().y],
    );
    let mut v = json!({
        "id": tms.id(),
        "identifier": tms.id(),
        "title": tms.title(),
        "crs": tms.crs_uri(),
        "supportedCRS": tms.crs_uri(),
        "orderedAxes": tms.axes(),
        "boundingBox": {
            "crs": tms.crs_uri(),
            "lowerLeft": ll,
            "upperRight": ur,
            "lowerCorner": ll,
            "upperCorner": ur,
        },
        "tileMatrices": (0..=MAX_ZOOM).map(|z| json!({
            "id": z.to_string(),
            "identifier": z.to_string(),
            "topLeftCorner": [tms.origin().x, tms.origin().y],
            "scaleDenominator": tms.scale_denominator(z),
            "cellSize": tms.cell_size(z),
            "cornerOfOrigin": "topLeft",
            "pointOfOrigin": [tms.origin().x, tms.origin().y],
            "tileWidth": TILE_PIXELS,
            "tileHeight": TILE_PIXELS,
            "matrixWidth": 1u32 << z,
            "matrixHeight": 1u32 << z,
        })).collect::<Vec<_>>(),
        "links": [link(format!("{base}/ogc/v1/tileMatrixSets/{}", tms.id()), "self", "application/json", tms.id())],
    });
    if let Some(uri) = tms.uri() {
        v["uri"] = json!(uri);
    }
    v
}

/// `GET /ogc/v1/tileMatrixSets`: the tile matrix sets tiles are offered in.
pub async fn tile_matrix_sets(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], false)?;
    let b = format!("{}/ogc/v1/tileMatrixSets", req.base);
    let list: Vec<Value> = TileMatrixSet::ALL
        .into_iter()
        .map(|t| {
            let mut v = json!({
                "id": t.id(),
                "title": t.title(),
                "crs": t.crs_uri(),
                "links": [link(format!("{b}/{}", t.id()), "self", "application/json", t.id())],
            });
            if let Some(uri) = t.uri() {
                v["uri"] = json!(uri);
            }
            v
        })
        .collect();
    Ok(json_response(
        &json!({
            "tileMatrixSets": list,
            "links": [link(b, "self", "application/json", "Tegelschema's")],
        }),
        "application/json",
    ))
}

/// `GET /ogc/v1/tileMatrixSets/{tms}`: one tile matrix set definition (OGC TMS 2.0 JSON).
pub async fn tile_matrix_set(
    State(state): State<AppState>,
    params: RawPathParams,
    headers: HeaderMap,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Result<Response, Problem> {
    let req = parse(&state, &headers, query, &["f"], false)?;
    let id = params.iter().next().map_or("", |(_, v)| v);
    let tms = TileMatrixSet::from_id(id).ok_or_else(|| unknown_tms(id))?;
    Ok(json_response(
        &definition(tms, &req.base),
        "application/json",
    ))
}

/// The bounds of collection `c` in lon/lat and in `tms` (the dataset's when it is empty).
fn bounds(
    c: &Collection,
    tms: TileMatrixSet,
    ds: &Dataset,
) -> (Option<Rect<f64>>, Option<Rect<f64>>) {
    let lonlat = c
        .items
        .iter()
        .filter_map(|i| i.geom.bbox_lonlat)
        .reduce(union)
        .or(ds.extent_lonlat);
    let own = c
        .items
        .iter()
        .filter_map(|i| tms.geometry(&i.geom).1)
        .reduce(union);
    (lonlat, own)
}

/// The tile matrix limits covering `own` (all of each matrix when unknown).
fn limits(tms: TileMatrixSet, own: Option<Rect<f64>>) -> Vec<Value> {
    (0..=MAX_ZOOM)
        .map(|z| {
            let n = (1u32 << z) - 1;
            let (mut c0, mut c1, mut r0, mut r1) = (0, n, 0, n);
            if let Some(e) = own {
                let size = tms.cell_size(z) * f64::from(TILE_PIXELS);
                let o = tms.origin();
                let idx = |v: f64| (v.floor().max(0.0) as u32).min(n);
                c0 = idx((e.min().x - o.x) / size);
                c1 = idx((e.max().x - o.x) / size);
                r0 = idx((o.y - e.max().y) / size);
                r1 = idx((o.y - e.min().y) / size);
            }
            json!({"tileMatrix": z.to_string(), "minTileRow": r0, "maxTileRow": r1, "minTileCol": c0, "maxTileCol": c1})
        })
        .collect()
}

/// `GET /ogc/v1/collections/{id}/tiles`: the tilesets of a collection, one per tile matrix set.
pub async fn tilesets(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f"], false)?;
    let id = &ask.id;
    let q = query_of(&req.analysis_suffix());
    let list: Vec<Value> = TileMatrixSet::ALL
        .into_iter()
        .map(|t| {
            let b = format!("{}/ogc/v1/collections/{id}/tiles/{}", req.base, t.id());
            let mut v = json!({
                "title": format!("{id} ({})", t.id()),
                "dataType": "vector",
                "crs": t.crs_uri(),
                "links": [
                    link(format!("{b}{q}"), "self", "application/json", "Tileset"),
                    link(format!("{}/ogc/v1/tileMatrixSets/{}", req.base, t.id()), TILING_SCHEME, "application/json", t.id()),
                    link(format!("{b}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"), "item", "application/vnd.mapbox-vector-tile", "Tiles"),
                ],
            });
            if let Some(uri) = t.uri() {
                v["tileMatrixSetURI"] = json!(uri);
            }
            v
        })
        .collect();
    Ok(json_response(
        &json!({"tilesets": list}),
        "application/json",
    ))
}

fn tile_fields(c: &Collection) -> serde_json::Map<String, Value> {
    tiles::TILE_FIELDS
        .iter()
        .filter(|f| c.field(f).is_some())
        .map(|f| ((*f).to_string(), json!(f)))
        .collect()
}

fn geometry_type(id: &str) -> &'static str {
    if id == "places" { "points" } else { "polygons" }
}

/// `GET /ogc/v1/collections/{id}/tiles/{tms}`: tileset metadata (OGC API Tiles; for
/// WebMercatorQuad the TileJSON fields too, which the web map reads).
pub async fn tileset(
    State(state): State<AppState>,
    params: RawPathParams,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let tms = tms_of(&params)?;
    let req = ask.parse(&state, &["f"], false)?;
    let p = published(&state, &req, &ask.id).await?;
    let (id, c) = (&ask.id, p.collection());
    let q = query_of(&req.analysis_suffix());
    let b = format!("{}/ogc/v1/collections/{id}/tiles/{}", req.base, tms.id());
    let fields = tile_fields(c);
    let (lonlat, own) = bounds(c, tms, &p.dataset);
    let mut body = json!({
        "title": c.title,
        "dataType": "vector",
        "crs": tms.crs_uri(),
        "tileMatrixSetLimits": limits(tms, own),
        "layers": [{
            "id": id, "dataType": "vector", "geometryType": geometry_type(id),
            "minTileMatrix": "0", "maxTileMatrix": MAX_ZOOM.to_string(),
            "propertiesSchema": {"type": "object", "properties": fields.keys().map(|k| (k.clone(), json!({}))).collect::<serde_json::Map<_, _>>()},
        }],
        "links": [
            link(format!("{b}{q}"), "self", "application/json", "Tileset"),
            link(format!("{}/ogc/v1/tileMatrixSets/{}", req.base, tms.id()), TILING_SCHEME, "application/json", tms.id()),
            link(format!("{b}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{q}"), "item", "application/vnd.mapbox-vector-tile", "Tiles"),
            link(format!("{}/ogc/v1/collections/{id}/tiles/WebMercatorQuad/tilejson{q}", req.base), "describedby", "application/json", "TileJSON"),
            link(LICENSE_URL.to_string(), "license", "text/html", LICENSE_NAME),
        ],
        "description": "Lege tegels antwoorden 204 No Content.",
        "license": LICENSE_NAME,
        "attribution": ATTRIBUTION,
    });
    if let Some(uri) = tms.uri() {
        body["tileMatrixSetURI"] = json!(uri);
    }
    if let Some(e) = own {
        body["boundingBox"] = json!({
            "crs": tms.crs_uri(),
            "lowerLeft": [e.min().x, e.min().y],
            "upperRight": [e.max().x, e.max().y],
        });
    }
    if tms == TileMatrixSet::WebMercatorQuad {
        body["tilejson"] = json!("3.0.0");
        body["tiles"] = json!([format!("{b}/{{z}}/{{y}}/{{x}}{q}")]);
        body["minzoom"] = json!(0);
        body["maxzoom"] = json!(MAX_ZOOM);
        body["bounds"] = json!(lonlat.map(|e| [e.min().x, e.min().y, e.max().x, e.max().y]));
        body["vector_layers"] =
            json!([{"id": id, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM}]);
    }
    Ok(json_response(&body, "application/json"))
}

/// `GET /ogc/v1/collections/{id}/tiles/WebMercatorQuad/tilejson`: TileJSON 3.0 for MapLibre,
/// Leaflet and OpenLayers users (`{z}/{x}/{y}` order is the tile URL's `{z}/{y}/{x}`).
pub async fn tilejson(
    State(state): State<AppState>,
    mut ask: CollectionRequest,
) -> Result<Response, Problem> {
    let req = ask.parse(&state, &["f"], false)?;
    let p = published(&state, &req, &ask.id).await?;
    let (id, c) = (&ask.id, p.collection());
    let q = query_of(&req.analysis_suffix());
    let b = format!("{}/ogc/v1/collections/{id}/tiles/WebMercatorQuad", req.base);
    let (lonlat, _) = bounds(c, TileMatrixSet::WebMercatorQuad, &p.dataset);
    let bounds = lonlat.map_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78], |e| {
        [e.min().x, e.min().y, e.max().x, e.max().y]
    });
    let center = [
        (bounds[0] + bounds[2]) / 2.0,
        (bounds[1] + bounds[3]) / 2.0,
        8.0,
    ];
    Ok(json_response(
        &json!({
            "tilejson": "3.0.0",
            "name": c.title,
            "description": collection_description(id),
            "attribution": ATTRIBUTION,
            "license": LICENSE_NAME,
            "scheme": "xyz",
            "tiles": [format!("{b}/{{z}}/{{y}}/{{x}}{q}")],
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
            "bounds": bounds,
            "center": center,
            "vector_layers": [{"id": id, "fields": tile_fields(c), "minzoom": 0, "maxzoom": MAX_ZOOM}],
        }),
        "application/json",
    ))
}

/// `GET /ogc/v1/collections/{id}/tiles/{tms}/{z}/{y}/{x}`: one MVT tile; 204 for an empty
/// tile; `ETag` and `If-None-Match` (304); gzip when `Accept-Encoding` allows it (compressed
/// once, when the tile is rendered).
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
    let (Some(id), Some(tms), Some(z), Some(y), Some(x)) =
        (it.next(), it.next(), it.next(), it.next(), it.next())
    else {
        return Err(Problem::not_found(String::from("no tile at this path")));
    };
    readable(&state, headers, id)?;
    let tms = TileMatrixSet::from_id(tms).ok_or_else(|| unknown_tms(tms))?;
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
            .and_then(|r| COLLECTIONS.iter().copied().find(|c| *c == id).zip(Some(r)))
            .and_then(|(name, r)| r.tiles(name).get(name, tms, zz, xx, yy))
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
                ds.results_with(&ds.default_set(), &[id])
                    .await
                    .map_err(Problem::from)?
            } else {
                let query = Query::<Pairs>::try_from_uri(&req.uri);
                let parsed = parse(&state, headers, query, &["f"], false)?;
                results(&state, &parsed, &[id]).await?.1
            };
            let name = r.collection(id).ok_or_else(|| unknown_collection(id))?.name;
            if let Some(t) = r.tiles(name).get(name, tms, zz, xx, yy) {
                m.tile_hits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Ok(t);
            }
            m.tile_misses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r2 = r.clone();
            let t = tokio::task::spawn_blocking(move || {
                r2.collection(name)
                    .map(|c| tiles::render_cached(c, tms, zz, xx, yy))
            })
            .await
            .map_err(Problem::from)?
            .ok_or_else(|| unknown_collection(name))?;
            r.tiles(name).put(name, tms, zz, xx, yy, t.clone());
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
    let vary = HeaderValue::from_static("accept-encoding");
    let gz = !t.gzip.is_empty() && accepts_gzip(headers);
    let etag = if gz { t.etag_gzip } else { t.etag };
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
        )
            .into_response());
    }
    if t.body.is_empty() {
        return Ok((
            StatusCode::NO_CONTENT,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
        )
            .into_response());
    }
    let kind = HeaderValue::from_static("application/vnd.mapbox-vector-tile");
    if gz {
        return Ok((
            [
                (header::CONTENT_TYPE, kind),
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache),
                (header::VARY, vary),
            ],
            t.gzip,
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
            (header::VARY, vary),
        ],
        t.body,
    )
        .into_response())
}

/// Whether `Accept-Encoding` names gzip (or `*`) without `q=0`; a byte scan, no allocation.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',').any(|part| {
                let mut it = part.split(';');
                let name = it.next().unwrap_or("").trim();
                let refused = it.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn gzip_is_chosen_when_accepted_and_not_when_refused() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&with("gzip;q=0, br")));
        assert!(!accepts_gzip(&with("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
