//! The published dataset: one immutable store snapshot ([`Dataset`]) with every store-only
//! geometry converted once to the CRSs the API serves, and the published collections per
//! parameter set ([`Results`]) computed once and kept in small LRU caches.
//!
//! Inputs: a [`StoreData`] snapshot (RD New, metres) and a [`ParamSet`] (`walk_m`,
//! `min_participants`, `w_*`/`t_*`). Outputs: [`Collection`]s built by
//! [`super::layers::build`], the one place where the privacy rules are applied; this module only
//! converts and indexes what that function returns. A new snapshot replaces the whole dataset,
//! so every cache (results, tiles) is dropped with it: there is nothing to invalidate by hand.
//! Must not depend on `http` (no axum, no status codes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use geo_types::{Geometry, Rect};
use serde_json::Value;

use super::collection::{Collection, Item, union};
use super::geojson::Geom;
use super::layers::{self, COLLECTIONS};
use super::tiles::TileCache;
use crate::analysis::metric::StraightLine;
use crate::analysis::network::StreetNetwork;
use crate::analysis::run::{Analysis, Inputs, Params, analyse_with};
use crate::analysis::weights::Weights;
use crate::crs::{CrsError, RD_NEW, Transformer, WGS84};
use crate::model::Level;
use crate::store::StoreData;

/// Analysis parameters and weights of a request: the key of every result cache.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamSet {
    /// Clustering parameters.
    pub params: Params,
    /// Weights and thresholds.
    pub weights: Weights,
}

/// The public menu: the (walk_m, min_participants) pairs anyone may ask for, with the default
/// weights. Any other parameter set needs the planner role (docs/privacy.md, Tiers). The
/// ranges are fixed here, so the public cannot widen `walk_m` or `min_participants`.
pub const PUBLIC_MENU: [(f64, usize); 3] = [(600.0, 5), (800.0, 5), (1000.0, 5)];

impl ParamSet {
    /// True when this set is on the [`PUBLIC_MENU`] with the served model's weights `model`
    /// (the built-in defaults, or the configured criteria file).
    pub fn is_public(&self, model: &Weights) -> bool {
        PUBLIC_MENU
            .iter()
            .any(|&(w, m)| self.params.walk_m == w && self.params.min_participants == m)
            && self.weights == *model
    }

    /// The sets of the [`PUBLIC_MENU`] with the weights `model`.
    pub fn menu(model: &Weights) -> Vec<ParamSet> {
        PUBLIC_MENU
            .iter()
            .map(|&(walk_m, min_participants)| ParamSet {
                params: crate::analysis::run::Params {
                    walk_m,
                    min_participants,
                },
                weights: model.clone(),
            })
            .collect()
    }
}

/// Hashable, exact form of a [`ParamSet`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParamKey {
    walk_m: u64,
    min_participants: usize,
    /// Every weight (built-in and custom indicators), then the three thresholds, as bits.
    weights: Vec<u64>,
}

impl ParamSet {
    /// The cache key.
    pub fn key(&self) -> ParamKey {
        let t = self.weights.thresholds();
        let w: Vec<u64> = self
            .weights
            .all()
            .iter()
            .chain([&t.geschikt, &t.kansrijk, &t.volledigheid])
            .map(|v| v.to_bits())
            .collect();
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

    fn peek(&self, key: &K) -> Option<&V> {
        self.entries.iter().find(|e| e.0 == *key).map(|e| &e.1)
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

/// One area level scored alone for one parameter set ([`Dataset::level_scores`]).
#[derive(Debug)]
pub struct LevelScores {
    /// The level's collection: values without stability, items without GeoJSON properties.
    pub collection: Collection,
    /// When it was computed (the `timeStamp` of responses).
    pub computed_at: String,
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
    /// One area level's scores for a set whose full results are not computed: what a slider
    /// move recolours the map with (`/api/v1/scores/{level}`), without stability or layers.
    level_scores: Mutex<Lru<(ParamKey, usize), Cell<LevelScores>>>,
    default_results: OnceLock<Arc<Results>>,
    /// Engine counters.
    pub stats: Arc<EngineStats>,
    /// The configured model: default weights and custom indicators (the server's criteria
    /// file). Its indicators shape the prepared model, its weights are the default set.
    model: Weights,
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
            level_scores: Mutex::new(Lru::new(16)),
            default_results: OnceLock::new(),
            stats,
            model: Weights::default(),
        })
    }

    /// The same dataset scored with `model` (a criteria file) instead of the built-in weights.
    pub fn with_model(mut self, model: Weights) -> Dataset {
        self.model = model;
        self
    }

    /// The same dataset keeping the results of at most `sets` parameter sets (the server's
    /// `result_cache`; default 16): the main bound on memory besides the data.
    pub fn with_result_cache(mut self, sets: usize) -> Dataset {
        self.results = Mutex::new(Lru::new(sets.max(1)));
        self.level_scores = Mutex::new(Lru::new(sets.max(1)));
        self
    }

    /// The default parameter set: default walking distance and participants, and the
    /// configured weights.
    pub fn default_set(&self) -> ParamSet {
        ParamSet {
            weights: self.model.clone(),
            ..ParamSet::default()
        }
    }

    /// The public menu with this dataset's model weights.
    pub fn menu(&self) -> Vec<ParamSet> {
        ParamSet::menu(&self.model)
    }

    /// True when `set` is on the public menu of this dataset's model.
    pub fn is_public(&self, set: &ParamSet) -> bool {
        set.is_public(&self.model)
    }

    /// True when everything may be opened to the public: the store holds no clients, or only
    /// the built-in demo's fictional ones (marked so in the private file).
    pub fn opens_everything(&self) -> bool {
        self.data.clients_demo || self.data.clients.is_empty()
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

    /// True when the results for `set` are computed and cached: answering them costs no
    /// analysis (the server admits uncached ones through a bounded queue).
    pub fn is_cached(&self, set: &ParamSet) -> bool {
        if *set == ParamSet::default() && self.default_results.get().is_some() {
            return true;
        }
        self.results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .peek(&set.key())
            .is_some_and(|cell| cell.initialized())
    }

    /// True when one level's scores for `set` are computed and cached ([`Dataset::level_scores`]).
    pub fn is_level_cached(&self, set: &ParamSet, level: Level) -> bool {
        self.level_scores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .peek(&(set.key(), level as usize))
            .is_some_and(|cell| cell.initialized())
    }

    /// The results for `set`, computed on a blocking thread on the first request and cached;
    /// concurrent requests for the same new set wait for one computation.
    pub async fn results(self: &Arc<Self>, set: &ParamSet) -> Result<Arc<Results>, EngineError> {
        use std::sync::atomic::Ordering::Relaxed;
        let is_default = *set == self.default_set();
        if is_default && let Some(r) = self.default_results.get() {
            self.stats.result_hits.fetch_add(1, Relaxed);
            return Ok(r.clone());
        }
        set.params
            .validate()
            .map_err(|e| EngineError::Params(e.to_string()))?;
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

    /// One area level's collection for `set`, scored without the stability analysis and
    /// without the other collections: the cheap answer to a weights change (the web map's
    /// slider). Its values equal the full results' for identity, participants, score,
    /// category, completeness and rank; stability and the explanation are null
    /// ([`layers::area_scores_layer`]) and its items carry no GeoJSON properties. Use
    /// [`Dataset::results`] for anything else. Cached per set and level.
    pub async fn level_scores(
        self: &Arc<Self>,
        set: &ParamSet,
        level: Level,
    ) -> Result<Arc<LevelScores>, EngineError> {
        set.params
            .validate()
            .map_err(|e| EngineError::Params(e.to_string()))?;
        let (cell, _) = self
            .level_scores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with((set.key(), level as usize), Default::default);
        let me = self.clone();
        let set2 = set.clone();
        cell.get_or_try_init(|| async move {
            let analysis = me.analysis(set2.params).await?;
            tokio::task::spawn_blocking(move || {
                let to_wgs84 = Transformer::new(RD_NEW, WGS84)?;
                let scores = analysis.prepared.score(&set2.weights);
                let table = layers::area_scores_layer(level, &me.data, &analysis, &scores);
                Ok(Arc::new(LevelScores {
                    collection: me.collection(table, false, &to_wgs84)?,
                    computed_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }))
            })
            .await
            .map_err(|e| EngineError::Join(e.to_string()))?
        })
        .await
        .cloned()
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
                let (grid, model) = (&me.data.grid, me.model.clone());
                let a = match &me.network {
                    Some(net) => analyse_with(net, inputs, grid, &model, params),
                    None => analyse_with(&StraightLine, inputs, grid, &model, params),
                }
                .map_err(|e| EngineError::Params(e.to_string()))?;
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
        let scores =
            crate::analysis::stability::score_with_stability(&analysis.prepared, &set.weights);
        let mut collections = Vec::with_capacity(COLLECTIONS.len());
        for name in COLLECTIONS {
            let Some(table) = layers::build(name, &self.data, analysis, &scores) else {
                continue;
            };
            collections.push(self.collection(table, true, &to_wgs84)?);
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

    /// A built layer as a served collection: geometries from the store-only cache or converted
    /// once, values kept, and the GeoJSON `properties` rendered when `properties` is set.
    fn collection(
        &self,
        table: crate::model::Table,
        properties: bool,
        to_wgs84: &Transformer,
    ) -> Result<Collection, EngineError> {
        let name = table.name;
        let level = Level::from_collection(name);
        let mut items = Vec::with_capacity(table.features.len());
        let mut by_id = HashMap::with_capacity(table.features.len());
        for f in table.features {
            let geom = match self.fixed.get(&(name, f.id.clone())) {
                Some(g) => g.clone(),
                None => Arc::new(Geom::new(f.geometry_rd, to_wgs84)?),
            };
            let properties = if properties {
                let mut props = serde_json::Map::with_capacity(table.fields.len() + 1);
                for ((field, _), v) in table.fields.iter().zip(&f.values) {
                    props.insert((*field).to_string(), v.clone());
                }
                if let Some(l) = level {
                    props.insert("niveau".into(), Value::String(l.to_string()));
                }
                Value::Object(props).to_string()
            } else {
                String::new()
            };
            by_id.insert(f.id.clone(), items.len());
            items.push(Item {
                id: f.id,
                geom,
                values: f.values,
                properties,
            });
        }
        Ok(Collection {
            name: table.name,
            title: table.title,
            fields: table.fields,
            items,
            by_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
