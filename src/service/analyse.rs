//! The analysis use-cases: `analyse` (run, write the result layers, return the ranking),
//! `compare_metrics` (straight line against the street network) and `export` (one published
//! layer through GDAL).
//!
//! Every run checks its parameters and reads its weights before the expensive clustering, so a
//! typo in the weights file fails at once, and picks the walking metric in one place: along
//! the stored street network when there is one, else by straight line. Inputs and results are
//! in RD New metres; exports convert at the edge (`release::export`).

use std::path::PathBuf;
use std::time::Duration;

use crate::analysis::cluster::Dbscan;
use crate::analysis::metric::StraightLine;
use crate::analysis::network::{MetricComparison, StreetNetwork, compare_clusterings};
use crate::analysis::run::{Analysis, AnalysisError, Inputs, Params};
use crate::analysis::score::AreaScore;
use crate::analysis::weights::{Weights, WeightsError};
use crate::model::Level;
use crate::release::layers::{self, COLLECTIONS};
use crate::store::{Change, ImportLog, Store, StoreData, StoreError};

/// What a run depends on: the parameters and the weights file (none: the defaults).
#[derive(Debug, Clone, Default)]
pub struct AnalysisRequest {
    /// Walking distance and minimum participants.
    pub params: Params,
    /// The weights file (TOML, as config/weights.toml).
    pub weights_file: Option<PathBuf>,
}

impl AnalysisRequest {
    /// Checks the parameters and reads the weights: everything that can be wrong with the
    /// request itself, before any data is read.
    ///
    /// # Errors
    /// A parameter out of range, an unreadable or wrong weights file.
    pub fn check(&self) -> Result<Weights, AnalyseError> {
        self.params.validate()?;
        match &self.weights_file {
            None => Ok(Weights::default()),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|error| AnalyseError::ReadWeights {
                        path: p.clone(),
                        error,
                    })?;
                Weights::from_toml_str(&text).map_err(|error| AnalyseError::Weights {
                    path: p.clone(),
                    error,
                })
            }
        }
    }
}

/// Why an analysis (or a comparison of metrics) did not run.
#[derive(Debug, thiserror::Error)]
pub enum AnalyseError {
    /// A parameter out of range.
    #[error(transparent)]
    Params(#[from] AnalysisError),
    /// The weights file cannot be read.
    #[error("reading weights file {path}: {error}")]
    ReadWeights {
        /// The file.
        path: PathBuf,
        /// The file system's answer.
        error: std::io::Error,
    },
    /// The weights file is wrong.
    #[error("weights file {path}: {error}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        error: WeightsError,
    },
    /// The store holds no areas to rank.
    #[error("the store {path} has no areas; import areas first")]
    NoAreas {
        /// The store.
        path: PathBuf,
    },
    /// Comparing metrics needs streets.
    #[error("comparing metrics needs a street network; import streets first")]
    NoStreetNetwork,
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One finished analysis, with what it read: rank it with [`Analysed::ranking`].
#[derive(Debug)]
pub struct Analysed {
    /// The snapshot analysed, without its clients (freed once the analysis has run: nothing
    /// after it reads them).
    pub data: StoreData,
    /// Clusters, sites, prepared criteria and the administrator's summary.
    pub analysis: Analysis,
    /// The weights of the request.
    pub weights: Weights,
    /// How long clustering and scoring took.
    pub elapsed: Duration,
    /// The stability of every area under the request's weights, computed once with the
    /// scores that were written, so [`Analysed::ranking`] does not draw the 200 weight sets
    /// again.
    pub stability: Vec<Option<crate::analysis::stability::Stability>>,
}

/// One ranked area, owned, ready to print or serialise.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedArea {
    /// CBS code.
    pub code: String,
    /// Area name.
    pub name: String,
    /// Score 0-100.
    pub score: Option<f64>,
    /// Category label.
    pub category: Option<&'static str>,
    /// Rank within its gemeente.
    pub rank: Option<u32>,
    /// What the rank counts among.
    pub rank_of: Option<u32>,
    /// Participant bucket label.
    pub participants: Option<&'static str>,
    /// The explanation as it serialises.
    pub explanation: serde_json::Value,
    /// The top reasons of the explanation.
    pub top_reasons: Vec<String>,
}

impl Analysed {
    /// One note per custom indicator whose column no stored area has (never imported): the
    /// criterion is then missing with cause "niet geladen" everywhere. Said once here, not per
    /// area, so a typo in `kolom` or a forgotten `import figures` is noticed.
    ///
    /// After them, one note per criterion that does not count somewhere because nobody loaded
    /// its data for a whole comparison set (e.g. no meeting places imported): "...: niet
    /// geladen, telt niet mee". An indicator already named above is not named twice.
    pub fn indicator_notes(&self) -> Vec<String> {
        let unloaded: Vec<&crate::analysis::weights::Indicator> = self
            .weights
            .indicators()
            .iter()
            .filter(|i| {
                !self
                    .data
                    .areas
                    .iter()
                    .any(|a| a.figures.column(&i.kolom).is_some())
            })
            .collect();
        let mut notes: Vec<String> = unloaded
            .iter()
            .map(|i| {
                format!(
                    "indicator '{}': column '{}' is niet geladen (no imported figure column of that name; see import figures); missing with cause \"niet geladen\" in every area",
                    i.key, i.kolom
                )
            })
            .collect();
        notes.extend(
            self.analysis
                .prepared
                .not_loaded_notes()
                .into_iter()
                .filter(|(key, _)| !unloaded.iter().any(|i| i.key == *key))
                .map(|(_, note)| note),
        );
        notes
    }

    /// The level to list when the caller names none: buurten when stored, else wijken.
    pub fn default_level(&self) -> Level {
        default_level(&self.data)
    }

    /// The scored areas of `level`, best category and score first, at most `top` (0 = all).
    pub fn ranking(&self, level: Level, top: usize) -> Vec<RankedArea> {
        let mut scores = self.analysis.prepared.score(&self.weights);
        for (s, st) in scores.iter_mut().zip(&self.stability) {
            s.stability = *st;
        }
        let mut ranked: Vec<(usize, &AreaScore<'_>)> = scores
            .iter()
            .enumerate()
            .filter(|(_, sc)| sc.level == level && sc.score.is_some())
            .collect();
        ranked.sort_by(|a, b| a.1.list_cmp(b.1).then_with(|| a.1.code.cmp(b.1.code)));
        if top > 0 {
            ranked.truncate(top);
        }
        ranked
            .into_iter()
            .map(|(k, sc)| {
                let i = self.analysis.area_order[k];
                RankedArea {
                    code: sc.code.as_str().to_string(),
                    name: self.data.areas[i].name.clone(),
                    score: sc.score,
                    category: sc.category.map(|c| c.label()),
                    rank: sc.rank,
                    rank_of: sc.rank_of,
                    participants: self.analysis.participants[i].map(|b| b.label()),
                    explanation: serde_json::to_value(&sc.explanation)
                        .unwrap_or(serde_json::Value::Null),
                    top_reasons: sc
                        .explanation
                        .top_reasons()
                        .into_iter()
                        .map(String::from)
                        .collect(),
                }
            })
            .collect()
    }
}

fn default_level(data: &StoreData) -> Level {
    if data.areas.iter().any(|a| a.level() == Level::Buurt) {
        Level::Buurt
    } else {
        Level::Wijk
    }
}

/// Runs the analysis on `data` with the one metric the store calls for: along the stored
/// street network when there is one, else by straight line.
/// The 100 m grid (may be empty) and the weight-independent settings of the model (the
/// prevalences of the participant estimate, the comparison set) come with the data and weights.
fn run(data: &StoreData, params: Params, model: &Weights) -> Result<Analysis, AnalyseError> {
    let inputs = Inputs {
        areas: &data.areas,
        clients: &data.clients,
        places: &data.places,
        circles: &data.circles,
    };
    let network = data
        .streets
        .as_ref()
        .map(|lines| StreetNetwork::from_lines(lines.iter().cloned()));
    match &network {
        Some(net) => crate::analysis::run::analyse_with(net, inputs, &data.grid, model, params),
        None => {
            crate::analysis::run::analyse_with(&StraightLine, inputs, &data.grid, model, params)
        }
    }
    .map_err(AnalyseError::from)
}

/// Checks the request, runs the analysis on the stored data, writes the result layers
/// (`resultaat_*`) with a log entry and returns the run.
///
/// # Errors
/// The request is wrong (checked first), the store has no areas, or the store fails.
pub fn analyse(store: &Store, request: &AnalysisRequest) -> Result<Analysed, AnalyseError> {
    let weights = request.check()?;
    // Held from the read to the write, so an import in between is not overwritten by results
    // of the data before it.
    let lock = store.lock(crate::store::LOCK_WAIT, &|| {
        tracing::warn!("waiting for an import of this store to finish...");
    })?;
    let t0 = std::time::Instant::now();
    let mut data = store.load()?;
    if data.areas.is_empty() {
        return Err(AnalyseError::NoAreas {
            path: store.path().to_path_buf(),
        });
    }
    let t = std::time::Instant::now();
    let analysis = run(&data, request.params, &weights)?;
    let t_run = t.elapsed();
    // No layer reads a client (docs/privacy.md): their memory is free before the layers are
    // built (a tenth of the peak at a million clients).
    data.clients = Vec::new();
    let scores = crate::analysis::stability::score_with_stability(&analysis.prepared, &weights);
    let elapsed = t.elapsed();
    let t_write = std::time::Instant::now();
    write_results(store, &lock, request, &data, &analysis, &scores)?;
    // The stages of docs/performance.md, for `BUURTCIRKEL_LOG=debug`.
    tracing::debug!(
        load_ms = (t - t0).as_millis() as u64,
        analysis_ms = t_run.as_millis() as u64,
        scoring_and_stability_ms = (elapsed - t_run).as_millis() as u64,
        write_ms = t_write.elapsed().as_millis() as u64,
        "analyse stages"
    );
    let stability = scores.iter().map(|s| s.stability).collect();
    drop(scores);
    Ok(Analysed {
        data,
        analysis,
        weights,
        elapsed,
        stability,
    })
}

/// Writes the result layers of one run and its log entry, in one change.
fn write_results(
    store: &Store,
    lock: &crate::store::WriteLock,
    request: &AnalysisRequest,
    data: &StoreData,
    analysis: &Analysis,
    scores: &[AreaScore<'_>],
) -> Result<(), StoreError> {
    use rayon::prelude::*;
    let t = std::time::Instant::now();
    // The layers are independent (the area layers' explanations and the site circles are most
    // of the work): built in parallel, kept in the order of COLLECTIONS.
    let results: Vec<_> = COLLECTIONS
        .par_iter()
        .filter(|name| !matches!(**name, "places" | "circles"))
        .filter_map(|name| layers::build(name, data, analysis, scores))
        .map(json_as_text)
        .collect();
    tracing::debug!(
        build_ms = t.elapsed().as_millis() as u64,
        "result layers built"
    );
    let log = ImportLog::new(
        "analysis",
        format!(
            "walk_m={} min_participants={} weights={} metric={}",
            request.params.walk_m,
            request.params.min_participants,
            request
                .weights_file
                .as_ref()
                .map_or_else(|| "default".into(), |p| p.display().to_string()),
            analysis.summary.metric
        ),
        None,
        scores.len(),
    );
    store.apply_locked(
        lock,
        &Change {
            results: Some(results),
            log: vec![log],
            ..Default::default()
        },
    )
}

/// `table` with every JSON object or array of a [`FieldType::Json`] field replaced by its JSON
/// text, the very text the store writes for it (`store::sqlite`), made here in parallel over
/// the features rather than one by one in the writer's single transaction (the wijken's
/// explanations are about 10 MB of JSON at national scale).
fn json_as_text(mut table: crate::model::Table) -> crate::model::Table {
    use crate::model::FieldType;
    use rayon::prelude::*;
    let json: Vec<usize> = (table.fields.iter().enumerate())
        .filter(|(_, (_, t))| *t == FieldType::Json)
        .map(|(i, _)| i)
        .collect();
    if json.is_empty() {
        return table;
    }
    table.features.par_iter_mut().for_each(|f| {
        for &i in &json {
            if let Some(v) = f.values.get_mut(i)
                && (v.is_object() || v.is_array())
            {
                *v = serde_json::Value::String(v.to_string());
            }
        }
    });
    table
}

/// Straight-line and street-network clusterings of the stored clients, compared. Exact counts
/// are for the administrator's own report (docs/privacy.md); clusters are located only by
/// area code.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The parameters both clusterings used.
    pub params: Params,
    /// Clusters by straight line.
    pub straight_clusters: usize,
    /// Clusters along the streets.
    pub street_clusters: usize,
    /// Where each straight-line cluster's members went.
    pub comparison: MetricComparison,
    /// Members per street-network cluster.
    pub street_sizes: Vec<usize>,
    /// Per straight-line cluster: the buurt (else wijk) code holding most of its members, or
    /// `None` when they lie outside every area.
    pub mostly_in: Vec<Option<String>>,
}

/// Clusters the stored clients by straight line and along the stored streets and compares.
///
/// # Errors
/// Parameters out of range, no street network stored, or the store fails.
pub fn compare_metrics(store: &Store, params: Params) -> Result<Comparison, AnalyseError> {
    params.validate()?;
    let Some(net) = store
        .load_streets()?
        .filter(|l| !l.is_empty())
        .map(StreetNetwork::from_lines)
    else {
        return Err(AnalyseError::NoStreetNetwork);
    };
    let data = store.load()?;
    let dbscan =
        Dbscan::new(params.walk_m, params.min_participants).map_err(AnalysisError::from)?;
    let points: Vec<geo_types::Point<f64>> = data.clients.iter().map(|c| c.position_rd).collect();
    let line = dbscan.cluster(&StraightLine, &points);
    let street = dbscan.cluster(&net, &points);
    let comparison = compare_clusterings(&line, &street);
    let level = default_level(&data);
    let idx: Vec<usize> = (0..data.areas.len())
        .filter(|&i| data.areas[i].level() == level)
        .collect();
    let index = crate::index::AreaIndex::new(
        idx.iter()
            .map(|&i| data.areas[i].geometry_rd.clone())
            .collect(),
    );
    let mostly_in = line
        .members()
        .iter()
        .map(|members| {
            let mut count: std::collections::BTreeMap<&str, usize> = Default::default();
            for &m in members {
                if let Some(k) = index.locate(points[m]) {
                    *count.entry(data.areas[idx[k]].code.as_str()).or_default() += 1;
                }
            }
            count
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(c, _)| c.to_string())
        })
        .collect();
    Ok(Comparison {
        params,
        straight_clusters: line.cluster_count(),
        street_clusters: street.cluster_count(),
        comparison,
        street_sizes: street.members().iter().map(Vec::len).collect(),
        mostly_in,
    })
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Client locations never leave the store.
    #[error(
        "client locations are never exported (privacy rule 1); export clusters or sites, which are generalised"
    )]
    Clients,
    /// No published layer of that name.
    #[error("unknown layer '{layer}'; expected one of {expected}")]
    UnknownLayer {
        /// The name given.
        layer: String,
        /// The published layers.
        expected: String,
    },
    /// The analysis behind the layer did not run.
    #[error(transparent)]
    Analyse(#[from] AnalyseError),
    /// GDAL could not write the output.
    #[error(transparent)]
    Write(#[from] crate::release::export::ExportError),
}

/// Exports the published layer `layer` (exactly what the API publishes) to `out` (a file or a
/// `PG:` connection string) in `crs` (default RD New); returns the number of features.
///
/// # Errors
/// `clients`, an unknown layer, a wrong request, or the output cannot be written.
pub fn export(
    store: &Store,
    layer: &str,
    out: &str,
    crs: Option<&str>,
    request: &AnalysisRequest,
) -> Result<usize, ExportError> {
    if layer == "clients" {
        return Err(ExportError::Clients);
    }
    let weights = request.check()?;
    let data = store.load().map_err(AnalyseError::from)?;
    let analysis = run(&data, request.params, &weights)?;
    let scores = crate::analysis::stability::score_with_stability(&analysis.prepared, &weights);
    let table = layers::build(layer, &data, &analysis, &scores).ok_or_else(|| {
        ExportError::UnknownLayer {
            layer: layer.to_string(),
            expected: COLLECTIONS.join(", "),
        }
    })?;
    Ok(crate::release::export::export(&table, out, crs)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_weights(text: &str) -> (tempfile::TempDir, AnalysisRequest) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("weights.toml");
        std::fs::write(&path, text).expect("write weights");
        let request = AnalysisRequest {
            params: Params::default(),
            weights_file: Some(path),
        };
        (dir, request)
    }

    #[test]
    fn the_documented_weights_file_is_accepted() {
        let (_dir, request) = request_with_weights(include_str!("../../config/weights.toml"));
        assert_eq!(request.check().expect("valid file"), Weights::default());
    }

    #[test]
    fn a_typo_in_the_weights_file_fails_before_the_store_is_read() {
        // The store does not exist: had the analysis read it (or clustered) first, the error
        // would be the store's.
        let typo = include_str!("../../config/weights.toml").replace("p_65plus =", "p_65_plus =");
        let (dir, request) = request_with_weights(&typo);
        let store = Store::new(dir.path().join("no-such-store.gpkg"));
        match analyse(&store, &request) {
            Err(AnalyseError::Weights { path, error }) => {
                assert_eq!(Some(path), request.weights_file);
                assert!(error.to_string().contains("p_65_plus"), "{error}");
            }
            other => panic!("expected the weights error first, got {other:?}"),
        }
    }

    #[test]
    fn parameters_out_of_range_fail_before_the_weights_file_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let request = AnalysisRequest {
            params: Params {
                walk_m: 850.0,
                min_participants: 5,
            },
            weights_file: Some(dir.path().join("missing-weights.toml")),
        };
        let store = Store::new(dir.path().join("no-such-store.gpkg"));
        let err = analyse(&store, &request).expect_err("850 m is off the 100 m steps");
        assert!(matches!(err, AnalyseError::Params(_)), "{err:?}");
    }

    #[test]
    fn a_missing_weights_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("weights.toml");
        let request = AnalysisRequest {
            params: Params::default(),
            weights_file: Some(missing.clone()),
        };
        let err = request.check().expect_err("no such file");
        assert!(
            err.to_string().contains(&missing.display().to_string()),
            "{err}"
        );
    }
}
