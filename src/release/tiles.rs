//! Mapbox Vector Tiles (OGC API Tiles, tile matrix set WebMercatorQuad) of a published
//! collection, rendered on demand and cached with the results they come from.
//!
//! Inputs: a [`Collection`] whose geometries are already in Web Mercator metres (EPSG:3857) and a
//! tile address `z/y/x` (zoom 0-16). Output: one MVT layer named after the collection, extent
//! 4096, geometries clipped to the tile plus a 64-unit buffer and simplified to half a screen
//! pixel ([`SIMPLIFY_UNITS`]), so a tile never holds more detail than the map can show. Attributes are the
//! ones the web map draws: code, naam, score, categorie, deelnemers (and rang, soort), plus the
//! compact completeness attributes volledigheid, ontbreekt (one cause letter per criterion) and
//! stabiliteit. The
//! geometries are the published ones, so a tile at zoom 16 shows nothing finer than the
//! generalised cluster and site shapes that the items show.
//! Must not depend on `http` or the dataset (the dataset owns the tile cache).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::RwLock;

use bytes::Bytes;
use geo::Simplify;
use geo_types::{Coord, Geometry, LineString, Polygon, Rect};
use geozero::mvt::{Message, Tile, tile};
use serde_json::Value;

use super::collection::Collection;
use crate::crs::WEB_MERCATOR_HALF_WORLD_M as HALF_WORLD;

/// Tile extent in tile units.
pub const EXTENT: u32 = 4096;
/// Buffer around the tile in tile units: lines that cross the edge are drawn without seams.
pub const BUFFER: u32 = 64;
/// Douglas-Peucker tolerance in tile units. MapLibre draws a 4096-unit tile on 512 CSS pixels,
/// so 4 units is half a pixel: the shape looks the same, and a national tile of wijken is about
/// half the bytes and half the work for the browser of a one-unit tolerance.
pub const SIMPLIFY_UNITS: f64 = 4.0;
/// Highest zoom served.
pub const MAX_ZOOM: u8 = 16;
/// Attributes put in tiles, when the collection has them.
pub const TILE_FIELDS: [&str; 10] = [
    "code",
    "naam",
    "score",
    "categorie",
    "deelnemers",
    "rang",
    "soort",
    "volledigheid",
    "ontbreekt",
    "stabiliteit",
];

/// Tiles kept per parameter set before the cache starts afresh (bounds memory).
const MAX_CACHED: usize = 200_000;

/// A rendered tile: the MVT bytes (empty for an empty tile) and their ETag.
#[derive(Debug, Clone)]
pub struct CachedTile {
    /// MVT bytes; empty when no feature touches the tile.
    pub body: Bytes,
    /// Strong ETag over the bytes, ready to be sent (cloning it copies no bytes).
    pub etag: axum::http::HeaderValue,
}

/// A tile address within one parameter set: (collection, z, x, y).
type TileKey = (&'static str, u8, u32, u32);

/// Rendered tiles by (collection, z, x, y).
#[derive(Debug, Default)]
pub struct TileCache {
    tiles: RwLock<HashMap<TileKey, CachedTile>>,
}

impl TileCache {
    /// A cached tile.
    pub fn get(&self, coll: &'static str, z: u8, x: u32, y: u32) -> Option<CachedTile> {
        self.tiles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(coll, z, x, y))
            .cloned()
    }

    /// Stores a tile.
    pub fn put(&self, coll: &'static str, z: u8, x: u32, y: u32, tile: CachedTile) {
        let mut m = self
            .tiles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= MAX_CACHED {
            m.clear();
        }
        m.insert((coll, z, x, y), tile);
    }
}

/// The Web Mercator bounds of tile `z/x/y` (min x, min y, max x, max y), metres.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> Rect<f64> {
    let size = 2.0 * HALF_WORLD / f64::from(1u32 << z);
    let left = -HALF_WORLD + f64::from(x) * size;
    let top = HALF_WORLD - f64::from(y) * size;
    Rect::new(
        Coord {
            x: left,
            y: top - size,
        },
        Coord {
            x: left + size,
            y: top,
        },
    )
}

/// Renders and wraps one tile.
pub fn render_cached(coll: &Collection, z: u8, x: u32, y: u32) -> CachedTile {
    let body = render(coll, z, x, y).map_or_else(Bytes::new, Bytes::from);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    let etag = format!("\"{:016x}-{}\"", h.finish(), body.len());
    CachedTile {
        // Hex digits, a dash and quotes: always a valid header value.
        etag: axum::http::HeaderValue::from_str(&etag)
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("\"0\"")),
        body,
    }
}

/// Renders tile `z/x/y` of `coll`, or `None` when no feature touches it.
pub fn render(coll: &Collection, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
    let bounds = tile_bounds(z, x, y);
    let size = bounds.width();
    let unit = size / f64::from(EXTENT);
    let pad = unit * f64::from(BUFFER);
    let clip = Rect::new(
        Coord {
            x: bounds.min().x - pad,
            y: bounds.min().y - pad,
        },
        Coord {
            x: bounds.max().x + pad,
            y: bounds.max().y + pad,
        },
    );
    let to_tile = |c: Coord<f64>| -> (i32, i32) {
        (
            ((c.x - bounds.min().x) / unit).round() as i32,
            ((bounds.max().y - c.y) / unit).round() as i32,
        )
    };
    let fields: Vec<(usize, &str)> = TILE_FIELDS
        .iter()
        .filter_map(|f| coll.field(f).map(|i| (i, *f)))
        .collect();
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<tile::Value> = Vec::new();
    let mut value_index: HashMap<String, u32> = HashMap::new();
    let mut features = Vec::new();
    for item in &coll.items {
        let Some(b) = item.geom.bbox_merc else {
            continue;
        };
        if b.max().x < clip.min().x
            || b.min().x > clip.max().x
            || b.max().y < clip.min().y
            || b.min().y > clip.max().y
        {
            continue;
        }
        let Some((kind, geometry)) = encode(&item.geom.merc, &clip, unit, &to_tile) else {
            continue;
        };
        let mut tags = Vec::with_capacity(fields.len() * 2);
        for (i, name) in &fields {
            let Some(v) = tile_value(&item.values[*i]) else {
                continue;
            };
            let k = match keys.iter().position(|k| k == name) {
                Some(k) => k,
                None => {
                    keys.push((*name).to_string());
                    keys.len() - 1
                }
            };
            let vkey = format!("{v:?}");
            let vi = *value_index.entry(vkey).or_insert_with(|| {
                values.push(v);
                (values.len() - 1) as u32
            });
            tags.push(k as u32);
            tags.push(vi);
        }
        features.push(tile::Feature {
            id: item.id.parse::<u64>().ok(),
            tags,
            r#type: Some(kind as i32),
            geometry,
        });
    }
    if features.is_empty() {
        return None;
    }
    let t = Tile {
        layers: vec![tile::Layer {
            version: 2,
            name: coll.name.to_string(),
            features,
            keys,
            values,
            extent: Some(EXTENT),
        }],
    };
    Some(t.encode_to_vec())
}

fn tile_value(v: &Value) -> Option<tile::Value> {
    let mut out = tile::Value::default();
    match v {
        Value::String(s) => out.string_value = Some(s.clone()),
        Value::Bool(b) => out.bool_value = Some(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.sint_value = Some(i);
            } else {
                out.double_value = n.as_f64();
            }
        }
        _ => return None,
    }
    Some(out)
}

fn command(id: u32, count: u32) -> u32 {
    (id & 0x7) | (count << 3)
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Encodes a geometry as MVT commands; `None` when nothing of it is left in the tile.
fn encode(
    g: &Geometry<f64>,
    clip: &Rect<f64>,
    unit: f64,
    to_tile: &impl Fn(Coord<f64>) -> (i32, i32),
) -> Option<(tile::GeomType, Vec<u32>)> {
    let mut out = Vec::new();
    let mut cursor = (0i32, 0i32);
    match g {
        Geometry::Point(p) => points(&[p.0], clip, to_tile, &mut out, &mut cursor),
        Geometry::MultiPoint(mp) => {
            let cs: Vec<Coord<f64>> = mp.0.iter().map(|p| p.0).collect();
            points(&cs, clip, to_tile, &mut out, &mut cursor);
        }
        Geometry::Polygon(p) => polygon(p, clip, unit, to_tile, &mut out, &mut cursor),
        Geometry::MultiPolygon(mp) => {
            for p in &mp.0 {
                polygon(p, clip, unit, to_tile, &mut out, &mut cursor);
            }
        }
        Geometry::Rect(r) => polygon(&r.to_polygon(), clip, unit, to_tile, &mut out, &mut cursor),
        // Published layers hold points and polygons only.
        _ => return None,
    }
    if out.is_empty() {
        return None;
    }
    let kind = match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => tile::GeomType::Point,
        _ => tile::GeomType::Polygon,
    };
    Some((kind, out))
}

fn points(
    cs: &[Coord<f64>],
    clip: &Rect<f64>,
    to_tile: &impl Fn(Coord<f64>) -> (i32, i32),
    out: &mut Vec<u32>,
    cursor: &mut (i32, i32),
) {
    let inside: Vec<(i32, i32)> = cs
        .iter()
        .filter(|c| {
            c.x >= clip.min().x && c.x <= clip.max().x && c.y >= clip.min().y && c.y <= clip.max().y
        })
        .map(|c| to_tile(*c))
        .collect();
    if inside.is_empty() {
        return;
    }
    out.push(command(1, inside.len() as u32));
    for (x, y) in inside {
        out.push(zigzag(x - cursor.0));
        out.push(zigzag(y - cursor.1));
        *cursor = (x, y);
    }
}

fn polygon(
    p: &Polygon<f64>,
    clip: &Rect<f64>,
    unit: f64,
    to_tile: &impl Fn(Coord<f64>) -> (i32, i32),
    out: &mut Vec<u32>,
    cursor: &mut (i32, i32),
) {
    let Some(exterior) = ring(p.exterior(), clip, unit, to_tile, true) else {
        return;
    };
    write_ring(&exterior, out, cursor);
    for r in p.interiors() {
        if let Some(hole) = ring(r, clip, unit, to_tile, false) {
            write_ring(&hole, out, cursor);
        }
    }
}

/// Clips, simplifies and quantises one ring; orients it as MVT wants (exterior: positive area
/// in tile coordinates, whose y axis points down; holes negative).
fn ring(
    r: &LineString<f64>,
    clip: &Rect<f64>,
    unit: f64,
    to_tile: &impl Fn(Coord<f64>) -> (i32, i32),
    exterior: bool,
) -> Option<Vec<(i32, i32)>> {
    let clipped = clip_ring(&r.0, clip);
    if clipped.len() < 3 {
        return None;
    }
    let mut closed = clipped;
    closed.push(closed[0]);
    let simple = LineString::from(closed).simplify(unit * SIMPLIFY_UNITS);
    let mut q: Vec<(i32, i32)> = Vec::with_capacity(simple.0.len());
    for c in &simple.0 {
        let t = to_tile(*c);
        if q.last() != Some(&t) {
            q.push(t);
        }
    }
    if q.len() > 1 && q.first() == q.last() {
        q.pop();
    }
    if q.len() < 3 {
        return None;
    }
    let area2: i64 = (0..q.len())
        .map(|i| {
            let (a, b) = (q[i], q[(i + 1) % q.len()]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum();
    if area2 == 0 {
        return None;
    }
    if (area2 > 0) != exterior {
        q.reverse();
    }
    Some(q)
}

fn write_ring(q: &[(i32, i32)], out: &mut Vec<u32>, cursor: &mut (i32, i32)) {
    out.push(command(1, 1));
    out.push(zigzag(q[0].0 - cursor.0));
    out.push(zigzag(q[0].1 - cursor.1));
    *cursor = q[0];
    out.push(command(2, (q.len() - 1) as u32));
    for &(x, y) in &q[1..] {
        out.push(zigzag(x - cursor.0));
        out.push(zigzag(y - cursor.1));
        *cursor = (x, y);
    }
    out.push(command(7, 1));
}

/// Sutherland-Hodgman clipping of a closed ring (last point may repeat the first) against a
/// rectangle. Concave rings may get zero-width edges along the clip border; they lie in the
/// buffer, outside the visible tile.
fn clip_ring(ring: &[Coord<f64>], r: &Rect<f64>) -> Vec<Coord<f64>> {
    let mut pts: Vec<Coord<f64>> = ring.to_vec();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let (x0, y0, x1, y1) = (r.min().x, r.min().y, r.max().x, r.max().y);
    if pts
        .iter()
        .all(|c| c.x >= x0 && c.x <= x1 && c.y >= y0 && c.y <= y1)
    {
        return pts;
    }
    type Edge = (
        fn(Coord<f64>, f64) -> bool,
        fn(Coord<f64>, Coord<f64>, f64) -> Coord<f64>,
        f64,
    );
    let at_x = |a: Coord<f64>, b: Coord<f64>, x: f64| Coord {
        x,
        y: a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x),
    };
    let at_y = |a: Coord<f64>, b: Coord<f64>, y: f64| Coord {
        x: a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y),
        y,
    };
    let edges: [Edge; 4] = [
        (|c, v| c.x >= v, at_x, x0),
        (|c, v| c.x <= v, at_x, x1),
        (|c, v| c.y >= v, at_y, y0),
        (|c, v| c.y <= v, at_y, y1),
    ];
    for (inside, cross, v) in edges {
        if pts.is_empty() {
            break;
        }
        let input = std::mem::take(&mut pts);
        let mut prev = input[input.len() - 1];
        for &cur in &input {
            match (inside(cur, v), inside(prev, v)) {
                (true, true) => pts.push(cur),
                (true, false) => {
                    pts.push(cross(prev, cur, v));
                    pts.push(cur);
                }
                (false, true) => pts.push(cross(prev, cur, v)),
                (false, false) => {}
            }
            prev = cur;
        }
    }
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_zero_covers_the_web_mercator_square() {
        let b = tile_bounds(0, 0, 0);
        assert!((b.min().x + HALF_WORLD).abs() < 1e-6 && (b.max().y - HALF_WORLD).abs() < 1e-6);
        let b = tile_bounds(1, 1, 0);
        assert!(b.min().x.abs() < 1e-6 && b.min().y.abs() < 1e-6);
    }

    #[test]
    fn a_square_half_outside_is_clipped_to_the_rectangle() {
        let r = Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 10.0, y: 10.0 });
        let sq = [
            Coord { x: 5.0, y: 5.0 },
            Coord { x: 15.0, y: 5.0 },
            Coord { x: 15.0, y: 8.0 },
            Coord { x: 5.0, y: 8.0 },
            Coord { x: 5.0, y: 5.0 },
        ];
        let out = clip_ring(&sq, &r);
        assert!(out.iter().all(|c| c.x <= 10.0));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn zigzag_encodes_signs_as_the_mvt_spec_says() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(command(1, 1), 9);
        assert_eq!(command(7, 1), 15);
    }
}
