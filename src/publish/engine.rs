//! The serving engine: one immutable store snapshot ([`Dataset`]) with every published geometry
//! converted once to the CRSs the API serves, and analysis results per parameter set
//! ([`Results`]) computed once and kept in small LRU caches.
//!
//! Inputs: a [`StoreData`] snapshot (RD New, metres) and request parameters (`walk_m`,
//! `min_participants`, `w_*`/`t_*`). Outputs: [`Collection`]s built by
//! [`super::layers::build`], the one place where the privacy rules are applied; this module only
//! converts and indexes what that function returns. A new snapshot replaces the whole dataset,
//! so every cache (results, tiles) is dropped with it: there is nothing to invalidate by hand.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use geo::{BoundingRect, MapCoords};
use geo_types::{Coord, Geometry, Rect};
use serde_json::Value;

use super::layers::{self, COLLECTIONS};
use super::tiles::TileCache;
use crate::analysis::metric::StraightLine;
use crate::analysis::network::StreetNetwork;
use crate::analysis::run::{Analysis, Inputs, Params, analyse_with};
use crate::analysis::weights::{CRITERIA, Weights};
use crate::crs::{CrsError, RD_NEW, Transformer, WGS84};
use crate::model::{FieldType, Level};
use crate::store::StoreData;

/// The coordinate reference systems the API serves (OGC API Features Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// WGS 84 longitude/latitude (the GeoJSON default).
    Crs84,
    /// WGS 84 with the EPSG axis order: latitude first.
    Epsg4326,
    /// Amersfoort / RD New, the storage CRS.
    RdNew,
}

impl Crs {
    /// Every supported CRS, default first.
    pub const ALL: [Crs; 3] = [Crs::Crs84, Crs::RdNew, Crs::Epsg4326];

    /// The OGC URI.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            Crs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            Crs::RdNew => "http://www.opengis.net/def/crs/EPSG/0/28992",
        }
    }

    /// Parses an OGC URI, also accepting `https`, `EPSG:n` and the safe CURIE `[EPSG:n]`.
    pub fn parse(text: &str) -> Option<Crs> {
        let t = text.trim().trim_start_matches('[').trim_end_matches(']');
        let t = t
            .strip_prefix("https://")
            .map_or_else(|| t.to_string(), |rest| format!("http://{rest}"));
        Crs::ALL.into_iter().find(|c| {
            c.uri() == t
                || match c {
                    Crs::Crs84 => t == "OGC:CRS84" || t == "CRS84",
                    Crs::Epsg4326 => t == "EPSG:4326",
                    Crs::RdNew => t == "EPSG:28992",
                }
        })
    }

    fn slot(self) -> usize {
        match self {
            Crs::Crs84 => 0,
            Crs::Epsg4326 => 1,
            Crs::RdNew => 2,
        }
    }
}

/// One published geometry in every CRS the service needs, with bounding boxes.
#[derive(Debug)]
pub struct Geom {
    /// RD New, metres.
    pub rd: Geometry<f64>,
    /// CRS84 longitude/latitude, degrees.
    pub lonlat: Geometry<f64>,
    /// Web Mercator (EPSG:3857) metres, for tiles.
    pub merc: Geometry<f64>,
    /// Bounding box in RD New.
    pub bbox_rd: Option<Rect<f64>>,
    /// Bounding box in CRS84.
    pub bbox_lonlat: Option<Rect<f64>>,
    /// Bounding box in Web Mercator.
    pub bbox_merc: Option<Rect<f64>>,
    json: [OnceLock<String>; 3],
}

/// Web Mercator (EPSG:3857) from longitude/latitude: the spherical formula that defines the CRS.
pub fn mercator(c: Coord<f64>) -> Coord<f64> {
    const R: f64 = 6_378_137.0;
    let lat = c.y.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    Coord {
        x: R * c.x.to_radians(),
        y: R * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln(),
    }
}

impl Geom {
    /// Converts an RD New geometry.
    pub fn new(rd: Geometry<f64>, to_wgs84: &Transformer) -> Result<Geom, CrsError> {
        let lonlat = to_wgs84.geometry(&rd)?;
        let merc = lonlat.map_coords(mercator);
        Ok(Geom {
            bbox_rd: rd.bounding_rect(),
            bbox_lonlat: lonlat.bounding_rect(),
            bbox_merc: merc.bounding_rect(),
            rd,
            lonlat,
            merc,
            json: Default::default(),
        })
    }

    /// The GeoJSON geometry text in `crs` (axis order as the CRS defines it), made once.
    pub fn json(&self, crs: Crs) -> &str {
        self.json[crs.slot()].get_or_init(|| {
            let mut s = String::new();
            match crs {
                Crs::Crs84 => write_geometry(&mut s, &self.lonlat, 1e7, false),
                Crs::Epsg4326 => write_geometry(&mut s, &self.lonlat, 1e7, true),
                Crs::RdNew => write_geometry(&mut s, &self.rd, 1e3, false),
            }
            s
        })
    }

    /// The geometry in `crs`'s x/y (GIS) order, with its bounding box.
    pub fn in_crs(&self, crs: Crs) -> (&Geometry<f64>, Option<Rect<f64>>) {
        match crs {
            Crs::Crs84 | Crs::Epsg4326 => (&self.lonlat, self.bbox_lonlat),
            Crs::RdNew => (&self.rd, self.bbox_rd),
        }
    }
}

/// Writes a GeoJSON geometry; `scale` sets the decimals (1e7 ≈ 1 cm in degrees, 1e3 = 1 mm
/// in metres), `swap` writes y before x (EPSG:4326 latitude first).
fn write_geometry(out: &mut String, g: &Geometry<f64>, scale: f64, swap: bool) {
    fn coord(out: &mut String, c: Coord<f64>, scale: f64, swap: bool) {
        let (a, b) = if swap { (c.y, c.x) } else { (c.x, c.y) };
        let _ = write!(
            out,
            "[{},{}]",
            (a * scale).round() / scale,
            (b * scale).round() / scale
        );
    }
    fn line(out: &mut String, cs: &[Coord<f64>], scale: f64, swap: bool) {
        out.push('[');
        for (i, c) in cs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            coord(out, *c, scale, swap);
        }
        out.push(']');
    }
    fn polygon(out: &mut String, p: &geo_types::Polygon<f64>, scale: f64, swap: bool) {
        out.push('[');
        line(out, &p.exterior().0, scale, swap);
        for r in p.interiors() {
            out.push(',');
            line(out, &r.0, scale, swap);
        }
        out.push(']');
    }
    fn list<T>(out: &mut String, items: &[T], mut f: impl FnMut(&mut String, &T)) {
        out.push('[');
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            f(out, t);
        }
        out.push(']');
    }
    match g {
        Geometry::Point(p) => {
            out.push_str(r#"{"type":"Point","coordinates":"#);
            coord(out, p.0, scale, swap);
        }
        Geometry::MultiPoint(mp) => {
            out.push_str(r#"{"type":"MultiPoint","coordinates":"#);
            list(out, &mp.0, |o, p| coord(o, p.0, scale, swap));
        }
        Geometry::Line(l) => {
            out.push_str(r#"{"type":"LineString","coordinates":"#);
            line(out, &[l.start, l.end], scale, swap);
        }
        Geometry::LineString(l) => {
            out.push_str(r#"{"type":"LineString","coordinates":"#);
            line(out, &l.0, scale, swap);
        }
        Geometry::MultiLineString(ml) => {
            out.push_str(r#"{"type":"MultiLineString","coordinates":"#);
            list(out, &ml.0, |o, l| line(o, &l.0, scale, swap));
        }
        Geometry::Polygon(p) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, p, scale, swap);
        }
        Geometry::Rect(r) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, &r.to_polygon(), scale, swap);
        }
        Geometry::Triangle(t) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, &t.to_polygon(), scale, swap);
        }
        Geometry::MultiPolygon(mp) => {
            out.push_str(r#"{"type":"MultiPolygon","coordinates":"#);
            list(out, &mp.0, |o, p| polygon(o, p, scale, swap));
        }
        Geometry::GeometryCollection(gc) => {
            out.push_str(r#"{"type":"GeometryCollection","geometries":"#);
            list(out, &gc.0, |o, g| write_geometry(o, g, scale, swap));
            out.push('}');
            return;
        }
    }
    out.push('}');
}

/// One published feature: its id, geometry, values in field order and the properties object
/// serialised once.
#[derive(Debug)]
pub struct Item {
    /// Feature id (area code or number).
    pub id: String,
    /// The geometry in every CRS.
    pub geom: Arc<Geom>,
    /// Values in the order of [`Collection::fields`].
    pub values: Vec<Value>,
    /// The GeoJSON `properties` object.
    pub properties: String,
}

/// One published collection for one parameter set.
#[derive(Debug)]
pub struct Collection {
    /// Collection id.
    pub name: &'static str,
    /// Dutch title.
    pub title: &'static str,
    /// Field names and types.
    pub fields: Vec<(&'static str, FieldType)>,
    /// Features in id order.
    pub items: Vec<Item>,
    by_id: HashMap<String, usize>,
}

impl Collection {
    /// The feature with `id`.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    /// The position of field `name`.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(f, _)| *f == name)
    }
}

/// Analysis parameters and weights of a request: the key of every result cache.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamSet {
    /// Clustering parameters.
    pub params: Params,
    /// Weights and thresholds.
    pub weights: Weights,
}

/// Hashable, exact form of a [`ParamSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParamKey {
    walk_m: u64,
    min_participants: usize,
    weights: [u64; CRITERIA + 3],
}

impl ParamSet {
    /// The cache key.
    pub fn key(&self) -> ParamKey {
        let mut w = [0u64; CRITERIA + 3];
        for (slot, v) in w.iter_mut().zip(self.weights.all()) {
            *slot = v.to_bits();
        }
        let t = self.weights.thresholds();
        w[CRITERIA] = t.geschikt.to_bits();
        w[CRITERIA + 1] = t.kansrijk.to_bits();
        w[CRITERIA + 2] = t.volledigheid.to_bits();
        ParamKey {
            walk_m: self.params.walk_m.to_bits(),
            min_participants: self.params.min_participants,
            weights: w,
        }
    }
}

/// Every collection for one parameter set, plus its tile cache.
#[derive(Debug)]
pub struct Results {
    /// The parameters.
    pub set: ParamSet,
    /// Collections in [`COLLECTIONS`] order.
    pub collections: Vec<Collection>,
    /// Rendered vector tiles of these results.
    pub tiles: TileCache,
    /// When the results were computed (the `timeStamp` of responses).
    pub computed_at: String,
}

impl Results {
    /// The collection called `name`.
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        self.collections.iter().find(|c| c.name == name)
    }
}

/// A tiny least-recently-used map: a handful of parameter sets are live at a time, so a linear
/// scan beats any bookkeeping.
#[derive(Debug)]
struct Lru<K, V> {
    cap: usize,
    tick: u64,
    entries: Vec<(K, V, u64)>,
}

impl<K: PartialEq, V: Clone> Lru<K, V> {
    fn new(cap: usize) -> Lru<K, V> {
        Lru {
            cap,
            tick: 0,
            entries: Vec::new(),
        }
    }

    fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> (V, bool) {
        self.tick += 1;
        if let Some(e) = self.entries.iter_mut().find(|e| e.0 == key) {
            e.2 = self.tick;
            return (e.1.clone(), true);
        }
        if self.entries.len() >= self.cap
            && let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.2)
                .map(|(i, _)| i)
        {
            self.entries.swap_remove(oldest);
        }
        let v = make();
        self.entries.push((key, v.clone(), self.tick));
        (v, false)
    }
}

type Cell<T> = Arc<tokio::sync::OnceCell<Arc<T>>>;

/// Counters the engine reports to `/metrics`.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Result lookups answered from the cache.
    pub result_hits: std::sync::atomic::AtomicU64,
    /// Result lookups that computed.
    pub result_misses: std::sync::atomic::AtomicU64,
    /// Analysis runs.
    pub analyses: std::sync::atomic::AtomicU64,
    /// Total analysis time, microseconds.
    pub analysis_us: std::sync::atomic::AtomicU64,
    /// Total time building published collections (scoring + layers + conversion), microseconds.
    pub results_us: std::sync::atomic::AtomicU64,
}

/// Why results could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The parameters are out of range (a client error).
    #[error("{0}")]
    Params(String),
    /// A coordinate could not be converted (a server error).
    #[error(transparent)]
    Crs(#[from] CrsError),
    /// The blocking worker failed.
    #[error("worker failed: {0}")]
    Join(String),
}

/// One store snapshot, ready to serve, with its caches.
pub struct Dataset {
    /// The snapshot.
    pub data: StoreData,
    /// Geometries that depend on the store alone (areas, places, circles), by (collection, id).
    fixed: HashMap<(&'static str, String), Arc<Geom>>,
    /// Extent of all areas in CRS84.
    pub extent_lonlat: Option<Rect<f64>>,
    /// The walking network built from the snapshot's streets; `None` means straight line.
    network: Option<StreetNetwork>,
    analyses: Mutex<Lru<(u64, usize), Cell<Analysis>>>,
    results: Mutex<Lru<ParamKey, Cell<Results>>>,
    default_results: OnceLock<Arc<Results>>,
    /// Engine counters.
    pub stats: Arc<EngineStats>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("areas", &self.data.areas.len())
            .finish()
    }
}

impl Dataset {
    /// Converts every store-only geometry once. Blocking (PROJ): call it off the async runtime.
    pub fn new(data: StoreData, stats: Arc<EngineStats>) -> Result<Dataset, CrsError> {
        let t = Transformer::new(RD_NEW, WGS84)?;
        let mut fixed = HashMap::new();
        let mut extent: Option<Rect<f64>> = None;
        for a in &data.areas {
            let g = Geom::new(Geometry::MultiPolygon(a.geometry_rd.clone()), &t)?;
            if let Some(b) = g.bbox_lonlat {
                extent = Some(extent.map_or(b, |e| union(e, b)));
            }
            fixed.insert((a.level().collection(), a.code.to_string()), Arc::new(g));
        }
        for p in &data.places {
            let g = Geom::new(Geometry::Point(p.position_rd), &t)?;
            fixed.insert(("places", p.id.to_string()), Arc::new(g));
        }
        for c in &data.circles {
            let g = Geom::new(c.geometry_rd.clone(), &t)?;
            fixed.insert(("circles", c.id.to_string()), Arc::new(g));
        }
        let network = data
            .streets
            .as_ref()
            .map(|lines| StreetNetwork::from_lines(lines.iter().cloned()));
        Ok(Dataset {
            data,
            fixed,
            extent_lonlat: extent,
            network,
            analyses: Mutex::new(Lru::new(4)),
            results: Mutex::new(Lru::new(16)),
            default_results: OnceLock::new(),
            stats,
        })
    }

    /// The results of the default parameters when they are computed already: the hot path of
    /// the tile server, with no lock, no allocation and no await.
    pub fn default_results_ready(&self) -> Option<Arc<Results>> {
        let r = self.default_results.get()?.clone();
        self.stats
            .result_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(r)
    }

    /// The results for `set`, computed on a blocking thread on the first request and cached;
    /// concurrent requests for the same new set wait for one computation.
    pub async fn results(self: &Arc<Self>, set: &ParamSet) -> Result<Arc<Results>, EngineError> {
        use std::sync::atomic::Ordering::Relaxed;
        let is_default = *set == ParamSet::default();
        if is_default && let Some(r) = self.default_results.get() {
            self.stats.result_hits.fetch_add(1, Relaxed);
            return Ok(r.clone());
        }
        set.params.validate().map_err(EngineError::Params)?;
        let (cell, hit) = self
            .results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(set.key(), Default::default);
        if hit && cell.initialized() {
            self.stats.result_hits.fetch_add(1, Relaxed);
        } else {
            self.stats.result_misses.fetch_add(1, Relaxed);
        }
        let me = self.clone();
        let set2 = set.clone();
        let r = cell
            .get_or_try_init(|| async move {
                let analysis = me.analysis(set2.params).await?;
                let me2 = me.clone();
                tokio::task::spawn_blocking(move || me2.build_results(&analysis, set2))
                    .await
                    .map_err(|e| EngineError::Join(e.to_string()))?
                    .map(Arc::new)
            })
            .await?
            .clone();
        if is_default {
            let _ = self.default_results.set(r.clone());
        }
        Ok(r)
    }

    async fn analysis(self: &Arc<Self>, params: Params) -> Result<Arc<Analysis>, EngineError> {
        let cell = self
            .analyses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(
                (params.walk_m.to_bits(), params.min_participants),
                Default::default,
            )
            .0;
        let me = self.clone();
        cell.get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || {
                use std::sync::atomic::Ordering::Relaxed;
                let t = Instant::now();
                let inputs = Inputs {
                    areas: &me.data.areas,
                    clients: &me.data.clients,
                    places: &me.data.places,
                    circles: &me.data.circles,
                };
                let (grid, model) = (&me.data.grid, Weights::default());
                let a = match &me.network {
                    Some(net) => analyse_with(net, inputs, grid, &model, params),
                    None => analyse_with(&StraightLine, inputs, grid, &model, params),
                }
                .map_err(EngineError::Params)?;
                me.stats.analyses.fetch_add(1, Relaxed);
                me.stats
                    .analysis_us
                    .fetch_add(t.elapsed().as_micros() as u64, Relaxed);
                Ok(Arc::new(a))
            })
            .await
            .map_err(|e| EngineError::Join(e.to_string()))?
        })
        .await
        .cloned()
    }

    /// Scores, builds every layer through [`layers::build`] and converts it. Blocking.
    pub fn build_results(
        &self,
        analysis: &Analysis,
        set: ParamSet,
    ) -> Result<Results, EngineError> {
        let t = Instant::now();
        let to_wgs84 = Transformer::new(RD_NEW, WGS84)?;
        let scores = analysis.prepared.score_with_stability(&set.weights);
        let mut collections = Vec::with_capacity(COLLECTIONS.len());
        for name in COLLECTIONS {
            let Some(table) = layers::build(name, &self.data, analysis, &scores) else {
                continue;
            };
            let level = Level::from_collection(name);
            let mut items = Vec::with_capacity(table.features.len());
            let mut by_id = HashMap::with_capacity(table.features.len());
            for f in table.features {
                let geom = match self.fixed.get(&(name, f.id.clone())) {
                    Some(g) => g.clone(),
                    None => Arc::new(Geom::new(f.geometry_rd, &to_wgs84)?),
                };
                let mut props = serde_json::Map::with_capacity(table.fields.len() + 1);
                for ((field, _), v) in table.fields.iter().zip(&f.values) {
                    props.insert((*field).to_string(), v.clone());
                }
                if let Some(l) = level {
                    props.insert("niveau".into(), Value::String(l.to_string()));
                }
                by_id.insert(f.id.clone(), items.len());
                items.push(Item {
                    id: f.id,
                    geom,
                    values: f.values,
                    properties: Value::Object(props).to_string(),
                });
            }
            collections.push(Collection {
                name: table.name,
                title: table.title,
                fields: table.fields,
                items,
                by_id,
            });
        }
        self.stats.results_us.fetch_add(
            t.elapsed().as_micros() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(Results {
            set,
            collections,
            tiles: TileCache::default(),
            computed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }
}

/// The smallest rectangle holding `a` and `b`.
pub(super) fn union(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        Coord {
            x: a.min().x.min(b.min().x),
            y: a.min().y.min(b.min().y),
        },
        Coord {
            x: a.max().x.max(b.max().x),
            y: a.max().y.max(b.max().y),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_in_every_accepted_spelling_parse() {
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/28992"),
            Some(Crs::RdNew)
        );
        assert_eq!(Crs::parse("[EPSG:4326]"), Some(Crs::Epsg4326));
        assert_eq!(
            Crs::parse("https://www.opengis.net/def/crs/OGC/1.3/CRS84"),
            Some(Crs::Crs84)
        );
        assert_eq!(Crs::parse("EPSG:3857"), None);
    }

    #[test]
    fn epsg_4326_geojson_puts_latitude_first() {
        let t = Transformer::new(RD_NEW, WGS84).unwrap();
        let g = Geom::new(Geometry::Point((155_000.0, 463_000.0).into()), &t).unwrap();
        assert_eq!(
            g.json(Crs::RdNew),
            r#"{"type":"Point","coordinates":[155000,463000]}"#
        );
        let lonlat: Value = serde_json::from_str(g.json(Crs::Crs84)).unwrap();
        let latlon: Value = serde_json::from_str(g.json(Crs::Epsg4326)).unwrap();
        assert_eq!(lonlat["coordinates"][0], latlon["coordinates"][1]);
        assert!((lonlat["coordinates"][0].as_f64().unwrap() - 5.387204).abs() < 1e-6);
    }

    #[test]
    fn the_lru_evicts_the_least_recently_used_entry() {
        let mut l: Lru<u32, u32> = Lru::new(2);
        l.get_or_insert_with(1, || 10);
        l.get_or_insert_with(2, || 20);
        assert!(l.get_or_insert_with(1, || 0).1);
        l.get_or_insert_with(3, || 30);
        assert!(!l.get_or_insert_with(2, || 21).1, "2 was evicted");
        assert_eq!(l.get_or_insert_with(2, || 0).0, 21);
    }
}
