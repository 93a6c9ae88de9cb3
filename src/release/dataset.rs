//! The published dataset: one immutable store snapshot ([`Dataset`]) with every store-only
//! geometry converted once to the CRSs the API serves, and the published collections per
//! parameter set ([`Results`]) computed once and kept in small LRU caches.
//!
//! The work is split as the model is: the analysis (clustering, sites, criteria) and the
//! weight-independent layers (clusters, sites, places, circles, with their converted
//! geometry and tiles: [`Shared`]) once per (`walk_m`, `min_participants`); per weight set
//! only scoring, and each area level's layer (with its 200 stability draws) when a response
//! first reads that level.
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
use crate::analysis::run::{Analysis, ClientAreas, Inputs, Params, analyse_located};
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

/// What one (`walk_m`, `min_participants`) pair publishes whatever the weights: the analysis
/// and the weight-independent collections (clusters, sites, places, circles) with their
/// converted geometry and their tiles, shared by the [`Results`] of every weight set.
#[derive(Debug)]
pub struct Shared {
    /// The analysis run.
    pub analysis: Arc<Analysis>,
    /// The weight-independent collections, in [`COLLECTIONS`] order.
    collections: Vec<Collection>,
    /// Rendered vector tiles of these collections.
    tiles: TileCache,
}

/// The area levels in [`COLLECTIONS`] order (they come first there).
const LEVELS: [Level; 3] = [Level::Gemeente, Level::Wijk, Level::Buurt];

/// Every collection for one parameter set, plus its tile cache. The area levels (scores,
/// categories, ranks and stability) are built on first use, one level at a time
/// ([`Dataset::results_with`] builds them off the async runtime); the rest is [`Shared`].
pub struct Results {
    /// The parameters.
    pub set: ParamSet,
    shared: Arc<Shared>,
    data: Arc<StoreData>,
    fixed: Arc<Fixed>,
    stats: Arc<EngineStats>,
    /// The area levels' collections in [`LEVELS`] order, each built once.
    levels: [OnceLock<Collection>; 3],
    /// Rendered vector tiles of the area levels.
    tiles: TileCache,
    /// When the results were computed (the `timeStamp` of responses).
    pub computed_at: String,
}

impl std::fmt::Debug for Results {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Results")
            .field("set", &self.set)
            .field("computed_at", &self.computed_at)
            .finish_non_exhaustive()
    }
}

impl Results {
    /// The collection called `name` (an area level is built here when no response read it
    /// before: blocking, so async callers use [`Dataset::results_with`] first).
    pub fn collection(&self, name: &str) -> Option<&Collection> {
        COLLECTIONS
            .iter()
            .position(|c| *c == name)
            .map(|i| self.get(i))
    }

    /// The collection at position `i` of [`COLLECTIONS`].
    ///
    /// # Panics
    /// When `i` is not a position of [`COLLECTIONS`].
    pub fn get(&self, i: usize) -> &Collection {
        match LEVELS.get(i) {
            Some(&level) => self.levels[i].get_or_init(|| self.build_level(level)),
            None => &self.shared.collections[i - LEVELS.len()],
        }
    }

    /// Every collection, in [`COLLECTIONS`] order (builds the area levels not built yet).
    pub fn collections(&self) -> impl Iterator<Item = &Collection> {
        (0..COLLECTIONS.len()).map(|i| self.get(i))
    }

    /// The tile cache of collection `name`: the weight-independent collections share theirs
    /// with every weight set of the same `walk_m` and `min_participants`.
    pub fn tiles(&self, name: &str) -> &TileCache {
        if Level::from_collection(name).is_some() {
            &self.tiles
        } else {
            &self.shared.tiles
        }
    }

    /// True when the collections `names` are built (reading them costs no scoring).
    fn built(&self, names: &[&str]) -> bool {
        names.iter().all(|n| {
            LEVELS
                .iter()
                .position(|l| l.collection() == *n)
                .is_none_or(|i| self.levels[i].get().is_some())
        })
    }

    /// Scores `level` with stability and builds its layer. Blocking.
    fn build_level(&self, level: Level) -> Collection {
        use std::sync::atomic::Ordering::Relaxed;
        let t = Instant::now();
        let analysis = &self.shared.analysis;
        let scores = crate::analysis::stability::score_with_stability_of(
            &analysis.prepared,
            &self.set.weights,
            Some(level),
        );
        let table = layers::build(level.collection(), &self.data, analysis, &scores);
        let c = table.map_or_else(
            || empty_collection(level.collection()),
            |table| {
                convert(table, true, &self.fixed).unwrap_or_else(|e| {
                    // Unreachable: every area geometry was converted when the dataset loaded.
                    tracing::error!(error = %e, level = %level, "an area geometry could not be converted");
                    empty_collection(level.collection())
                })
            },
        );
        self.stats.level_builds.fetch_add(1, Relaxed);
        self.stats
            .results_us
            .fetch_add(t.elapsed().as_micros() as u64, Relaxed);
        c
    }
}

/// A collection without items (only where a layer cannot be built, which does not happen).
fn empty_collection(name: &'static str) -> Collection {
    Collection {
        name,
        title: name,
        fields: Vec::new(),
        items: Vec::new(),
        by_id: HashMap::new(),
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

/// The cache cell of `key` in `cache` (a new empty one when absent) and whether it was there;
/// a cache poisoned by a panicking holder is used as it is (its cells are only ever set whole).
fn cell_of<K: PartialEq, T>(cache: &Mutex<Lru<K, Cell<T>>>, key: K) -> (Cell<T>, bool) {
    cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(key, Default::default)
}

/// Analyses (and their weight-independent collections) kept per dataset, by `walk_m` and
/// `min_participants`: every weight set of one pair reuses them.
pub const ANALYSES_KEPT: usize = 4;

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
    /// Builds of the weight-independent collections ([`Shared`]): one per `walk_m` and
    /// `min_participants`, never per weight set.
    pub shared_builds: std::sync::atomic::AtomicU64,
    /// Area levels scored with stability and built for a parameter set.
    pub level_builds: std::sync::atomic::AtomicU64,
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

/// Geometries that depend on the store alone (areas, places, circles), by (collection, id).
type Fixed = HashMap<(&'static str, String), Arc<Geom>>;

/// One store snapshot, ready to serve, with its caches.
pub struct Dataset {
    /// The snapshot.
    pub data: Arc<StoreData>,
    /// Geometries that depend on the store alone (areas, places, circles), by (collection, id).
    fixed: Arc<Fixed>,
    /// Extent of all areas in CRS84.
    pub extent_lonlat: Option<Rect<f64>>,
    /// The walking network built from the snapshot's streets; `None` means straight line.
    network: Option<StreetNetwork>,
    /// The areas holding each client, located once per snapshot: a new parameter set only
    /// adds them up.
    located: ClientAreas,
    analyses: Mutex<Lru<(u64, usize), Cell<Analysis>>>,
    /// The weight-independent collections per (`walk_m`, `min_participants`), as many as
    /// [`Dataset::analyses`] keeps (results hold theirs while they are cached).
    shared: Mutex<Lru<(u64, usize), Cell<Shared>>>,
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
        let located = ClientAreas::locate(&data.areas, &data.clients);
        Ok(Dataset {
            located,
            data: Arc::new(data),
            fixed: Arc::new(fixed),
            extent_lonlat: extent,
            network,
            analyses: Mutex::new(Lru::new(ANALYSES_KEPT)),
            shared: Mutex::new(Lru::new(ANALYSES_KEPT)),
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
        let (cell, hit) = cell_of(&self.results, set.key());
        if hit && cell.initialized() {
            self.stats.result_hits.fetch_add(1, Relaxed);
        } else {
            self.stats.result_misses.fetch_add(1, Relaxed);
        }
        let me = self.clone();
        let set2 = set.clone();
        let r = cell
            .get_or_try_init(|| async move {
                let shared = me.shared(set2.params).await?;
                Ok::<_, EngineError>(Arc::new(Results {
                    set: set2,
                    shared,
                    data: me.data.clone(),
                    fixed: me.fixed.clone(),
                    stats: me.stats.clone(),
                    levels: Default::default(),
                    tiles: TileCache::default(),
                    computed_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                }))
            })
            .await?
            .clone();
        if is_default {
            let _ = self.default_results.set(r.clone());
        }
        Ok(r)
    }

    /// [`Dataset::results`] with the collections `names` built (each area level among them
    /// scored with stability on a blocking thread the first time it is asked for), so that
    /// reading them does not block the async runtime.
    pub async fn results_with(
        self: &Arc<Self>,
        set: &ParamSet,
        names: &[&str],
    ) -> Result<Arc<Results>, EngineError> {
        let r = self.results(set).await?;
        if !r.built(names) {
            let (r2, names): (_, Vec<String>) =
                (r.clone(), names.iter().map(|n| (*n).to_string()).collect());
            tokio::task::spawn_blocking(move || {
                for n in &names {
                    let _ = r2.collection(n);
                }
            })
            .await
            .map_err(|e| EngineError::Join(e.to_string()))?;
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
        let (cell, _) = cell_of(&self.level_scores, (set.key(), level as usize));
        let me = self.clone();
        let set2 = set.clone();
        cell.get_or_try_init(|| async move {
            let analysis = me.analysis(set2.params).await?;
            tokio::task::spawn_blocking(move || {
                let scores = analysis.prepared.score(&set2.weights);
                let table = layers::area_scores_layer(level, &me.data, &analysis, &scores);
                Ok(Arc::new(LevelScores {
                    collection: convert(table, false, &me.fixed)?,
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
        let cell = cell_of(
            &self.analyses,
            (params.walk_m.to_bits(), params.min_participants),
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
                    Some(net) => analyse_located(net, inputs, &me.located, grid, &model, params),
                    None => {
                        analyse_located(&StraightLine, inputs, &me.located, grid, &model, params)
                    }
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

    /// The weight-independent collections of `params`, built on a blocking thread on the
    /// first request and cached per (`walk_m`, `min_participants`).
    async fn shared(self: &Arc<Self>, params: Params) -> Result<Arc<Shared>, EngineError> {
        let cell = cell_of(
            &self.shared,
            (params.walk_m.to_bits(), params.min_participants),
        )
        .0;
        let me = self.clone();
        cell.get_or_try_init(|| async move {
            let analysis = me.analysis(params).await?;
            tokio::task::spawn_blocking(move || me.build_shared(analysis))
                .await
                .map_err(|e| EngineError::Join(e.to_string()))?
                .map(Arc::new)
        })
        .await
        .cloned()
    }

    /// Builds and converts the weight-independent layers through [`layers::build`]. Blocking.
    fn build_shared(&self, analysis: Arc<Analysis>) -> Result<Shared, EngineError> {
        use std::sync::atomic::Ordering::Relaxed;
        let t = Instant::now();
        let mut collections = Vec::with_capacity(COLLECTIONS.len() - LEVELS.len());
        for name in &COLLECTIONS[LEVELS.len()..] {
            // No area layer is built here, so no scores are needed.
            if let Some(table) = layers::build(name, &self.data, &analysis, &[]) {
                collections.push(convert(table, true, &self.fixed)?);
            }
        }
        self.stats.shared_builds.fetch_add(1, Relaxed);
        self.stats
            .results_us
            .fetch_add(t.elapsed().as_micros() as u64, Relaxed);
        Ok(Shared {
            analysis,
            collections,
            tiles: TileCache::default(),
        })
    }
}

/// RD New -> WGS 84, one PROJ object per thread (a PROJ object must not be shared between
/// threads), made on the thread's first conversion of a geometry that is not store-only.
fn with_wgs84<T>(f: impl FnOnce(&Transformer) -> Result<T, CrsError>) -> Result<T, CrsError> {
    thread_local! {
        static TO_WGS84: std::cell::OnceCell<Transformer> = const { std::cell::OnceCell::new() };
    }
    TO_WGS84.with(|cell| match cell.get() {
        Some(t) => f(t),
        None => {
            let t = Transformer::new(RD_NEW, WGS84)?;
            let out = f(&t);
            let _ = cell.set(t);
            out
        }
    })
}

/// A built layer as a served collection: geometries from the store-only cache or converted
/// once (in parallel: the ~7,000 site circles of a national run are most of the work), values
/// kept, and the GeoJSON `properties` rendered when `properties` is set.
fn convert(
    table: crate::model::Table,
    properties: bool,
    fixed: &Fixed,
) -> Result<Collection, CrsError> {
    use rayon::prelude::*;
    let name = table.name;
    let level = Level::from_collection(name);
    let fields = &table.fields;
    let items = table
        .features
        .into_par_iter()
        .map(|f| {
            let geom = match fixed.get(&(name, f.id.clone())) {
                Some(g) => g.clone(),
                None => Arc::new(with_wgs84(|t| Geom::new(f.geometry_rd, t))?),
            };
            let properties = if properties {
                let mut props = serde_json::Map::with_capacity(fields.len() + 1);
                for ((field, _), v) in fields.iter().zip(&f.values) {
                    props.insert((*field).to_string(), v.clone());
                }
                if let Some(l) = level {
                    props.insert("niveau".into(), Value::String(l.to_string()));
                }
                Value::Object(props).to_string()
            } else {
                String::new()
            };
            Ok(Item {
                id: f.id,
                geom,
                values: f.values,
                properties,
            })
        })
        .collect::<Result<Vec<Item>, CrsError>>()?;
    let by_id = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.clone(), i))
        .collect();
    Ok(Collection {
        name: table.name,
        title: table.title,
        fields: table.fields,
        items,
        by_id,
    })
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
