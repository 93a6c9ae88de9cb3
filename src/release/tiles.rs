//! Mapbox Vector Tiles (OGC API Tiles) of a published collection in two tile matrix sets,
//! WebMercatorQuad (EPSG:3857) and NetherlandsRDNewQuad (EPSG:28992, as PDOK serves it),
//! rendered on demand and cached with the results they come from.
//!
//! Inputs: a [`Collection`] whose geometries are already in Web Mercator and RD New metres, a
//! [`TileMatrixSet`] and a tile address `z/y/x` (zoom 0-16). Output: one MVT layer named after
//! the collection, extent 4096, geometries simplified to half a screen pixel
//! ([`SIMPLIFY_UNITS`]), snapped to the tile grid and then clipped to the tile plus a 64-unit
//! buffer by an integer polygon clipper (`i_overlay`, the one behind `geo`'s boolean
//! operations), so every ring in a tile is simple: no self-intersections at the buffer edge and
//! none from the simplification or the snapping. Tiles are kept raw and gzip-compressed. Attributes are the
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
use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::{IntOverlayOptions, Overlay};
use i_overlay::core::overlay_rule::OverlayRule;
use i_overlay::core::solver::Solver;
use i_overlay::i_float::int::point::IntPoint;
use serde_json::Value;

use super::collection::Collection;
use super::geojson::Geom;
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

/// Tile size in pixels of both tile matrix sets (the OGC and PDOK definitions).
pub const TILE_PIXELS: u32 = 256;
/// The standardized rendering pixel size of OGC: 0.28 mm.
const PIXEL_M: f64 = 0.000_28;

/// A tile matrix set tiles are served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileMatrixSet {
    /// OGC's WebMercatorQuad (EPSG:3857), what web maps use.
    WebMercatorQuad,
    /// NetherlandsRDNewQuad (EPSG:28992) as PDOK serves it: origin (-285401.92, 903401.92),
    /// 3440.64 m cells at level 0, 256-pixel tiles.
    NetherlandsRdNewQuad,
}

impl TileMatrixSet {
    /// Every tile matrix set served.
    pub const ALL: [TileMatrixSet; 2] = [Self::WebMercatorQuad, Self::NetherlandsRdNewQuad];

    /// The identifier used in paths.
    pub fn id(self) -> &'static str {
        match self {
            Self::WebMercatorQuad => "WebMercatorQuad",
            Self::NetherlandsRdNewQuad => "NetherlandsRDNewQuad",
        }
    }

    /// The tile matrix set with identifier `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.id() == id)
    }

    /// A human title.
    pub fn title(self) -> &'static str {
        match self {
            Self::WebMercatorQuad => "Google Maps Compatible for the World",
            Self::NetherlandsRdNewQuad => "Amersfoort / RD New, tegelschema voor Nederland (PDOK)",
        }
    }

    /// The URI of the CRS.
    pub fn crs_uri(self) -> &'static str {
        match self {
            Self::WebMercatorQuad => "http://www.opengis.net/def/crs/EPSG/0/3857",
            Self::NetherlandsRdNewQuad => "http://www.opengis.net/def/crs/EPSG/0/28992",
        }
    }

    /// The registered URI of the tile matrix set; NetherlandsRDNewQuad has none at OGC.
    pub fn uri(self) -> Option<&'static str> {
        match self {
            Self::WebMercatorQuad => {
                Some("http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad")
            }
            Self::NetherlandsRdNewQuad => None,
        }
    }

    /// The axis abbreviations in CRS order (both are east, north).
    pub fn axes(self) -> [&'static str; 2] {
        match self {
            Self::WebMercatorQuad => ["X", "Y"],
            Self::NetherlandsRdNewQuad => ["X", "Y"],
        }
    }

    /// The top-left corner of every tile matrix, metres.
    pub fn origin(self) -> Coord<f64> {
        match self {
            Self::WebMercatorQuad => Coord {
                x: -HALF_WORLD,
                y: HALF_WORLD,
            },
            Self::NetherlandsRdNewQuad => Coord {
                x: -285_401.92,
                y: 903_401.92,
            },
        }
    }

    /// Cell (pixel) size at level `z`, metres.
    pub fn cell_size(self, z: u8) -> f64 {
        let zero = match self {
            Self::WebMercatorQuad => 2.0 * HALF_WORLD / f64::from(TILE_PIXELS),
            Self::NetherlandsRdNewQuad => 3440.64,
        };
        zero / f64::from(1u32 << z)
    }

    /// The scale denominator of level `z` (cell size over 0.28 mm).
    pub fn scale_denominator(self, z: u8) -> f64 {
        self.cell_size(z) / PIXEL_M
    }

    /// The whole area the matrices cover (min x, min y, max x, max y), metres.
    pub fn extent(self) -> Rect<f64> {
        let o = self.origin();
        let size = self.cell_size(0) * f64::from(TILE_PIXELS);
        Rect::new(
            Coord {
                x: o.x,
                y: o.y - size,
            },
            Coord {
                x: o.x + size,
                y: o.y,
            },
        )
    }

    /// The bounds of tile `z/x/y` (min x, min y, max x, max y), metres.
    pub fn tile_bounds(self, z: u8, x: u32, y: u32) -> Rect<f64> {
        let size = self.cell_size(z) * f64::from(TILE_PIXELS);
        let o = self.origin();
        let left = o.x + f64::from(x) * size;
        let top = o.y - f64::from(y) * size;
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

    /// The geometry of `g` in this set's CRS and its bounding box.
    pub fn geometry(self, g: &Geom) -> (&Geometry<f64>, Option<Rect<f64>>) {
        match self {
            Self::WebMercatorQuad => (&g.merc, g.bbox_merc),
            Self::NetherlandsRdNewQuad => (&g.rd, g.bbox_rd),
        }
    }
}

/// A rendered tile: the MVT bytes (empty for an empty tile), the same gzip-compressed, and
/// their ETags.
#[derive(Debug, Clone)]
pub struct CachedTile {
    /// MVT bytes; empty when no feature touches the tile.
    pub body: Bytes,
    /// Strong ETag over the bytes, ready to be sent (cloning it copies no bytes).
    pub etag: axum::http::HeaderValue,
    /// The MVT bytes gzip-compressed (empty for an empty tile).
    pub gzip: Bytes,
    /// Strong ETag of the gzip representation (differs from [`Self::etag`]).
    pub etag_gzip: axum::http::HeaderValue,
}

/// A tile address within one parameter set: (collection, tile matrix set, z, x, y).
type TileKey = (&'static str, TileMatrixSet, u8, u32, u32);

/// Rendered tiles by (collection, z, x, y).
#[derive(Debug, Default)]
pub struct TileCache {
    tiles: RwLock<HashMap<TileKey, CachedTile>>,
}

impl TileCache {
    /// A cached tile.
    pub fn get(
        &self,
        coll: &'static str,
        tms: TileMatrixSet,
        z: u8,
        x: u32,
        y: u32,
    ) -> Option<CachedTile> {
        self.tiles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(coll, tms, z, x, y))
            .cloned()
    }

    /// Stores a tile.
    pub fn put(
        &self,
        coll: &'static str,
        tms: TileMatrixSet,
        z: u8,
        x: u32,
        y: u32,
        tile: CachedTile,
    ) {
        let mut m = self
            .tiles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if m.len() >= MAX_CACHED {
            m.clear();
        }
        m.insert((coll, tms, z, x, y), tile);
    }
}

/// The Web Mercator bounds of tile `z/x/y` (min x, min y, max x, max y), metres.
pub fn tile_bounds(z: u8, x: u32, y: u32) -> Rect<f64> {
    TileMatrixSet::WebMercatorQuad.tile_bounds(z, x, y)
}

/// Renders and wraps one tile; compresses it once, so a cached tile is served gzipped
/// without any work per request.
pub fn render_cached(coll: &Collection, tms: TileMatrixSet, z: u8, x: u32, y: u32) -> CachedTile {
    let body = render(coll, tms, z, x, y).map_or_else(Bytes::new, Bytes::from);
    let gzip = if body.is_empty() {
        Bytes::new()
    } else {
        gzip(&body).map_or_else(|_| Bytes::new(), Bytes::from)
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    let tag = format!("{:016x}-{}", h.finish(), body.len());
    // Hex digits, a dash and quotes: always a valid header value.
    let header = |s: String| {
        axum::http::HeaderValue::from_str(&s)
            .unwrap_or_else(|_| axum::http::HeaderValue::from_static("\"0\""))
    };
    CachedTile {
        etag: header(format!("\"{tag}\"")),
        etag_gzip: header(format!("\"{tag}-gz\"")),
        body,
        gzip,
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes)?;
    e.finish()
}

/// Renders tile `z/x/y` of `coll` in `tms`, or `None` when no feature touches it.
pub fn render(coll: &Collection, tms: TileMatrixSet, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
    let bounds = tms.tile_bounds(z, x, y);
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
        let (geom, bbox) = tms.geometry(&item.geom);
        let Some(b) = bbox else {
            continue;
        };
        if b.max().x < clip.min().x
            || b.min().x > clip.max().x
            || b.max().y < clip.min().y
            || b.min().y > clip.max().y
        {
            continue;
        }
        let Some((kind, geometry)) = encode(geom, &clip, unit, &to_tile) else {
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
    let mut contours: Vec<Vec<IntPoint>> = Vec::with_capacity(1 + p.interiors().len());
    for (i, r) in std::iter::once(p.exterior())
        .chain(p.interiors())
        .enumerate()
    {
        match snapped_ring(r, clip, unit, to_tile) {
            Some(c) => contours.push(c),
            // Nothing of the exterior is left: nothing of the holes either.
            None if i == 0 => return,
            None => {}
        }
    }
    // The buffered tile in tile units: the clip rectangle of the integer clipper.
    let (lo, hi) = (-(BUFFER as i32), (EXTENT + BUFFER) as i32);
    let rect = [
        IntPoint::new(lo, lo),
        IntPoint::new(hi, lo),
        IntPoint::new(hi, hi),
        IntPoint::new(lo, hi),
    ];
    // Even-odd: the holes are holes whatever way the source rings turn. The clipper splits
    // every crossing at a grid point, and in OGC mode a ring that would touch itself at a
    // vertex comes out as two rings touching there, so each ring it returns is simple.
    let options = IntOverlayOptions {
        ogc: true,
        ..IntOverlayOptions::default()
    };
    let shapes =
        Overlay::with_contours_custom(&contours, &[rect.to_vec()], options, Solver::default())
            .overlay(OverlayRule::Intersect, FillRule::EvenOdd);
    for shape in shapes {
        for (k, c) in shape.iter().enumerate() {
            let mut q: Vec<(i32, i32)> = c.iter().map(|p| (p.x, p.y)).collect();
            if orient(&mut q, k == 0) {
                write_ring(&q, out, cursor);
            }
        }
    }
}

/// Clips one ring roughly to the buffered tile (Sutherland-Hodgman, which keeps the work per
/// tile small but may leave zero-width edges on the border), simplifies and snaps it to tile
/// units. The integer clipper in [`polygon`] makes the result simple.
fn snapped_ring(
    r: &LineString<f64>,
    clip: &Rect<f64>,
    unit: f64,
    to_tile: &impl Fn(Coord<f64>) -> (i32, i32),
) -> Option<Vec<IntPoint>> {
    let clipped = clip_ring(&r.0, clip);
    if clipped.len() < 3 {
        return None;
    }
    let mut closed = clipped;
    closed.push(closed[0]);
    let simple = LineString::from(closed).simplify(unit * SIMPLIFY_UNITS);
    let mut q: Vec<IntPoint> = Vec::with_capacity(simple.0.len());
    for c in &simple.0 {
        let (x, y) = to_tile(*c);
        let t = IntPoint::new(x, y);
        if q.last() != Some(&t) {
            q.push(t);
        }
    }
    if q.len() > 1 && q.first() == q.last() {
        q.pop();
    }
    (q.len() >= 3).then_some(q)
}

/// Orients a ring as MVT wants (exterior: positive area in tile coordinates, whose y axis
/// points down; holes negative); `false` for a ring without area.
fn orient(q: &mut [(i32, i32)], exterior: bool) -> bool {
    if q.len() < 3 {
        return false;
    }
    let area2: i64 = (0..q.len())
        .map(|i| {
            let (a, b) = (q[i], q[(i + 1) % q.len()]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum();
    if area2 == 0 {
        return false;
    }
    if (area2 > 0) != exterior {
        q.reverse();
    }
    true
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

/// Decodes the rings of an MVT polygon geometry (tile units), for checks.
pub fn decode_rings(geometry: &[u32]) -> Vec<Vec<(i64, i64)>> {
    let (mut rings, mut cur) = (Vec::new(), Vec::new());
    let (mut x, mut y, mut i) = (0i64, 0i64, 0usize);
    let unzig = |v: u32| i64::from((v >> 1) as i32 ^ -((v & 1) as i32));
    while i < geometry.len() {
        let (id, count) = (geometry[i] & 7, geometry[i] >> 3);
        i += 1;
        match id {
            1 | 2 => {
                for _ in 0..count {
                    if i + 1 >= geometry.len() {
                        return rings;
                    }
                    x += unzig(geometry[i]);
                    y += unzig(geometry[i + 1]);
                    i += 2;
                    if id == 1 && !cur.is_empty() {
                        rings.push(std::mem::take(&mut cur));
                    }
                    cur.push((x, y));
                }
            }
            _ => rings.push(std::mem::take(&mut cur)),
        }
    }
    if !cur.is_empty() {
        rings.push(cur);
    }
    rings
}

/// Whether a closed ring (last point not repeated) crosses or touches itself anywhere but at
/// the shared ends of neighbouring edges: a proper crossing, a touching vertex or an
/// overlapping collinear piece.
pub fn ring_self_intersects(ring: &[(i64, i64)]) -> bool {
    let n = ring.len();
    if n < 3 {
        return true;
    }
    let cross = |o: (i64, i64), a: (i64, i64), b: (i64, i64)| -> i128 {
        i128::from(a.0 - o.0) * i128::from(b.1 - o.1)
            - i128::from(a.1 - o.1) * i128::from(b.0 - o.0)
    };
    let on = |a: (i64, i64), b: (i64, i64), p: (i64, i64)| {
        cross(a, b, p) == 0
            && p.0 >= a.0.min(b.0)
            && p.0 <= a.0.max(b.0)
            && p.1 >= a.1.min(b.1)
            && p.1 <= a.1.max(b.1)
    };
    let meet = |a: (i64, i64), b: (i64, i64), c: (i64, i64), d: (i64, i64)| {
        let (d1, d2) = (cross(c, d, a), cross(c, d, b));
        let (d3, d4) = (cross(a, b, c), cross(a, b, d));
        if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))
        {
            return true;
        }
        on(c, d, a) || on(c, d, b) || on(a, b, c) || on(a, b, d)
    };
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        for j in i + 1..n {
            let (c, d) = (ring[j], ring[(j + 1) % n]);
            let neighbours = j == i + 1 || (i == 0 && j == n - 1);
            if neighbours {
                // Neighbours share one end; they may not fold back over each other.
                let (shared, other_a, other_b) = if j == i + 1 { (b, a, d) } else { (a, b, c) };
                if cross(shared, other_a, other_b) == 0
                    && (other_a.0 - shared.0) * (other_b.0 - shared.0)
                        + (other_a.1 - shared.1) * (other_b.1 - shared.1)
                        > 0
                {
                    return true;
                }
                continue;
            }
            if meet(a, b, c, d) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{MultiPolygon, coord};

    /// A comb: `teeth` thin teeth from a spine, with a hole in the spine; concave everywhere,
    /// the shape Sutherland-Hodgman alone turns into zero-width edges along the clip border.
    fn comb(x0: f64, y0: f64, tooth: f64, teeth: usize) -> Polygon<f64> {
        let mut pts = vec![coord! {x: x0, y: y0}];
        for t in 0..teeth {
            let x = x0 + (t as f64) * tooth * 2.0;
            pts.push(coord! {x: x, y: y0 + tooth * 20.0});
            pts.push(coord! {x: x + tooth, y: y0 + tooth * 20.0});
            pts.push(coord! {x: x + tooth, y: y0 + tooth * 2.0});
            pts.push(coord! {x: x + tooth * 2.0, y: y0 + tooth * 2.0});
        }
        let x1 = x0 + (teeth as f64) * tooth * 2.0;
        pts.push(coord! {x: x1, y: y0});
        pts.push(coord! {x: x0, y: y0});
        let hole = LineString::from(vec![
            coord! {x: x0 + tooth * 0.5, y: y0 + tooth * 0.5},
            coord! {x: x1 - tooth * 0.5, y: y0 + tooth * 0.5},
            coord! {x: x1 - tooth * 0.5, y: y0 + tooth * 1.5},
            coord! {x: x0 + tooth * 0.5, y: y0 + tooth * 1.5},
            coord! {x: x0 + tooth * 0.5, y: y0 + tooth * 0.5},
        ]);
        Polygon::new(LineString::from(pts), vec![hole])
    }

    #[test]
    fn complex_polygons_clipped_at_every_tile_edge_keep_simple_rings() {
        let tms = TileMatrixSet::WebMercatorQuad;
        let (z, x, y) = (14u8, 8400u32, 5400u32);
        let b = tms.tile_bounds(z, x, y);
        let size = b.width();
        // Combs that cross the left, right, top and bottom edges and a corner, at tooth widths
        // near the simplification tolerance and well above it.
        let mut shapes = Vec::new();
        for tooth in [size / 4096.0 * 3.0, size / 4096.0 * 40.0, size / 50.0] {
            for (ox, oy) in [
                (b.min().x - size * 0.1, b.min().y + size * 0.3),
                (b.max().x - size * 0.2, b.min().y + size * 0.5),
                (b.min().x + size * 0.3, b.max().y - tooth * 10.0),
                (b.min().x + size * 0.2, b.min().y - tooth * 10.0),
                (b.max().x - size * 0.05, b.max().y - size * 0.05),
            ] {
                shapes.push(comb(ox, oy, tooth, 12));
            }
        }
        let geom = Geometry::MultiPolygon(MultiPolygon::new(shapes));
        let unit = size / f64::from(EXTENT);
        let pad = unit * f64::from(BUFFER);
        let clip = Rect::new(
            coord! {x: b.min().x - pad, y: b.min().y - pad},
            coord! {x: b.max().x + pad, y: b.max().y + pad},
        );
        let to_tile = |c: Coord<f64>| -> (i32, i32) {
            (
                ((c.x - b.min().x) / unit).round() as i32,
                ((b.max().y - c.y) / unit).round() as i32,
            )
        };
        let (_, commands) = encode(&geom, &clip, unit, &to_tile).expect("the combs touch the tile");
        let rings = decode_rings(&commands);
        assert!(rings.len() > 10, "only {} rings", rings.len());
        for r in &rings {
            assert!(!ring_self_intersects(r), "self-intersecting ring {r:?}");
            let lo = -i64::from(BUFFER);
            let hi = i64::from(EXTENT + BUFFER);
            assert!(
                r.iter()
                    .all(|&(px, py)| px >= lo && px <= hi && py >= lo && py <= hi)
            );
        }
    }

    #[test]
    fn the_ring_check_finds_a_bow_tie_and_a_fold_back() {
        assert!(ring_self_intersects(&[(0, 0), (10, 10), (10, 0), (0, 10)]));
        assert!(ring_self_intersects(&[(0, 0), (10, 0), (5, 0), (5, 5)]));
        assert!(!ring_self_intersects(&[(0, 0), (10, 0), (10, 10), (0, 10)]));
    }

    #[test]
    fn the_rd_quad_has_pdok_origin_and_cell_size() {
        let t = TileMatrixSet::NetherlandsRdNewQuad;
        assert!((t.cell_size(0) - 3440.64).abs() < 1e-9);
        assert!((t.scale_denominator(0) - 12_288_000.0).abs() < 1e-3);
        let b = t.tile_bounds(0, 0, 0);
        assert!((b.min().x + 285_401.92).abs() < 1e-6 && (b.max().y - 903_401.92).abs() < 1e-6);
        assert!((b.max().x - 595_401.92).abs() < 1e-6 && (b.min().y - 22_598.08).abs() < 1e-6);
        // The quad is centred on Amersfoort (155000, 463000): at level 5 it is the top-left
        // corner of column 16, row 16 ((155000 + 285401.92) / 27525.12 = 16).
        let b = t.tile_bounds(5, 16, 16);
        assert!(b.min().x <= 155_000.0 && 155_000.0 < b.max().x);
        assert!(b.min().y <= 463_000.0 && 463_000.0 < b.max().y);
    }

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
