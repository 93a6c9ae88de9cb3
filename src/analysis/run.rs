//! One analysis run: from a snapshot of the store and a parameter set to clusters, sites and
//! the weight-independent half of the suitability model.
//!
//! Inputs: areas, clients, places and circles in RD New metres; walking distance and minimum
//! participants. Outputs: an [`Analysis`] whose public part ([`Analysis::published`],
//! [`Analysis::prepared`]) carries only generalised shapes and buckets, and whose exact counts
//! ([`Analysis::summary`]) are for the administrator's own CLI report only.

use geo::{BoundingRect, Distance, Euclidean};
use geo_types::{Geometry, Point};
use rayon::prelude::*;

use super::cellkey::{from_key_units, key_units, perturbed_bucket};
use super::cluster::{ClusterError, Clustering, Dbscan};
use super::estimate::{Estimate, GridCell, estimate, grid_people_within_walk};
use super::generalise::{Circles, Outlines, PublishParams, Published};
use super::metric::{Reach, WalkingMetric};
use super::score::{AreaInput, Prepared, prepare_regions};
use super::sites::{SiteParams, find_sites};
use super::weights::{Prevalence, Weights};
use crate::index::{AreaIndex, PointIndex};
use crate::model::{Area, Bucket, Circle, Client, Level, Place};

// The defaults are the clustering's (one definition, re-exported for the callers of `analyse`).
pub use super::cluster::{DEFAULT_MIN_PARTICIPANTS, DEFAULT_WALK_M};
/// Allowed walking distances, metres.
pub const WALK_RANGE_M: (f64, f64) = (100.0, 5_000.0);
/// Walking distances go in steps of this many metres (privacy: see [`Params::validate`]).
pub const WALK_STEP_M: f64 = 100.0;
/// Allowed minimum participants: a circle cannot start with fewer than 5, and lower values
/// would only let a caller probe smaller groups of clients.
pub const MIN_PARTICIPANTS_RANGE: (usize, usize) = (5, 12);

/// [`Summary::metric`] of a straight-line run.
pub const STRAIGHT_LINE: &str = "straight line";
/// [`Summary::metric`] of a run along the street network.
pub const STREET_NETWORK: &str = "street network";

/// Why an analysis cannot run: a parameter out of range. Messages name the parameter as the
/// API and the weights file do (`walk_m`, `min_participants`) and say what was expected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// The walking distance is outside [`WALK_RANGE_M`].
    #[error("walk_m = {walk_m} is out of range; expected metres from {} to {}", WALK_RANGE_M.0, WALK_RANGE_M.1)]
    WalkOutOfRange {
        /// The value given, metres.
        walk_m: f64,
    },
    /// The walking distance is not a whole number of [`WALK_STEP_M`] steps.
    #[error(
        "walk_m = {walk_m} is not a multiple of {WALK_STEP_M} m; expected e.g. 400, 800 or 1500"
    )]
    WalkOffStep {
        /// The value given, metres.
        walk_m: f64,
    },
    /// The minimum participants are outside [`MIN_PARTICIPANTS_RANGE`].
    #[error(
        "min_participants = {min_participants} is out of range; expected {} to {}",
        MIN_PARTICIPANTS_RANGE.0,
        MIN_PARTICIPANTS_RANGE.1
    )]
    MinParticipantsOutOfRange {
        /// The value given.
        min_participants: usize,
    },
    /// The clustering refused its parameters.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// The parameters clustering depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Walking distance, metres.
    pub walk_m: f64,
    /// Minimum participants for a cluster and a site.
    pub min_participants: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            walk_m: DEFAULT_WALK_M,
            min_participants: DEFAULT_MIN_PARTICIPANTS,
        }
    }
}

impl Params {
    /// Checks the ranges, naming the parameter that is out of range.
    pub fn validate(&self) -> Result<(), AnalysisError> {
        let (lo, hi) = WALK_RANGE_M;
        if !(self.walk_m.is_finite() && (lo..=hi).contains(&self.walk_m)) {
            return Err(AnalysisError::WalkOutOfRange {
                walk_m: self.walk_m,
            });
        }
        // Whole steps only: sweeping the distance metre by metre and watching a bucket flip
        // would locate clients far more precisely than the published shapes allow.
        if (self.walk_m / WALK_STEP_M).fract() != 0.0 {
            return Err(AnalysisError::WalkOffStep {
                walk_m: self.walk_m,
            });
        }
        let (lo, hi) = MIN_PARTICIPANTS_RANGE;
        if !(lo..=hi).contains(&self.min_participants) {
            return Err(AnalysisError::MinParticipantsOutOfRange {
                min_participants: self.min_participants,
            });
        }
        Ok(())
    }
}

/// What the analysis read.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Gemeenten, wijken and buurten.
    pub areas: &'a [Area],
    /// Anonymised clients.
    pub clients: &'a [Client],
    /// Meeting places.
    pub places: &'a [Place],
    /// Existing circles.
    pub circles: &'a [Circle],
}

/// Exact figures for the administrator's CLI report. Never published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Clients analysed.
    pub clients: usize,
    /// Clients in a walking-distance cluster.
    pub clustered: usize,
    /// Clusters found (before the publication threshold).
    pub clusters: usize,
    /// Candidate sites found.
    pub sites: usize,
    /// Participants assigned to a site.
    pub in_sites: usize,
    /// The metric used, for the report.
    pub metric: &'static str,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The parameters.
    pub params: Params,
    /// Area order of [`Analysis::prepared`]: index into the input areas.
    pub area_order: Vec<usize>,
    /// Normalised criteria per area; score it with the weights of a request.
    pub prepared: Prepared,
    /// Generalised clusters and sites.
    pub published: Published,
    /// Participant bucket per input area (`None` without client data).
    pub participants: Vec<Option<Bucket>>,
    /// Estimated potential participants within walking distance per input area, from CBS
    /// figures (and the 100 m grid where loaded) only; `None` where the figures do not allow it.
    pub estimates: Vec<Option<Estimate>>,
    /// Exact counts for the CLI report only.
    pub summary: Summary,
}

/// Runs clustering, sites and the area criteria, with the default prevalences and no grid.
///
/// # Errors
/// Parameters out of range.
pub fn analyse<M: WalkingMetric + Sync>(
    metric: &M,
    inputs: Inputs<'_>,
    params: Params,
) -> Result<Analysis, AnalysisError> {
    analyse_with(metric, inputs, &[], &Weights::default(), params)
}

/// The areas of `level` (their indices into `areas`) and their R-tree; `None` when the level
/// has none.
fn level_index(areas: &[Area], level: Level) -> Option<(Vec<usize>, AreaIndex)> {
    let idx: Vec<usize> = (0..areas.len())
        .filter(|&i| areas[i].level() == level)
        .collect();
    if idx.is_empty() {
        return None;
    }
    let index = AreaIndex::new(idx.iter().map(|&i| areas[i].geometry_rd.clone()).collect());
    Some((idx, index))
}

/// Estimated potential participants per area: from the 100 m grid for areas that contain grid
/// cells, else from the area's own figures (see [`crate::analysis::estimate`]).
pub fn estimates(
    areas: &[crate::model::Area],
    grid: &[GridCell],
    prevalence: &Prevalence,
    walk_m: f64,
) -> Vec<Option<Estimate>> {
    let mut grid_people: Vec<Option<super::estimate::GridPeople>> = vec![None; areas.len()];
    if !grid.is_empty() {
        let centres: Vec<Point<f64>> = grid.iter().map(|c| c.centre_rd).collect();
        let cell_index = PointIndex::new(&centres);
        for level in Level::ALL {
            let Some((idx, index)) = level_index(areas, level) else {
                continue;
            };
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); idx.len()];
            for (j, c) in centres.iter().enumerate() {
                if let Some(k) = index.locate(*c) {
                    members[k].push(j);
                }
            }
            for (k, m) in members.iter().enumerate() {
                if !m.is_empty() {
                    grid_people[idx[k]] = grid_people_within_walk(grid, &cell_index, m, walk_m);
                }
            }
        }
    }
    areas
        .iter()
        .zip(grid_people)
        .map(|(a, g)| estimate(&a.figures, g, walk_m, prevalence))
        .collect()
}

/// The area of every level that holds each client (index into the snapshot's areas): what
/// depends on the data alone, so a server locates its clients once per store snapshot and
/// every new parameter set only adds them up ([`analyse_located`]).
///
/// Clients share 25 m cells, so every distinct position is located once per level (in
/// parallel) through the level's area R-tree: O(d log a) point-in-area tests instead of
/// O(n log a) (d distinct positions, n clients, a areas).
#[derive(Debug, Clone, Default)]
pub struct ClientAreas {
    /// Per client, per level (`Level::ALL` order): the area, or [`ClientAreas::NONE`].
    of: Vec<[u32; 3]>,
}

impl ClientAreas {
    /// No area of that level holds the client (or it was not located).
    const NONE: u32 = u32::MAX;

    /// Locates every client.
    pub fn locate(areas: &[Area], clients: &[Client]) -> ClientAreas {
        let points: Vec<Point<f64>> = clients.iter().map(|c| c.position_rd).collect();
        ClientAreas::locate_where(areas, &points, |_| true)
    }

    /// Locates the clients `wanted` accepts (the others stay [`ClientAreas::NONE`]).
    fn locate_where(
        areas: &[Area],
        points: &[Point<f64>],
        wanted: impl Fn(usize) -> bool,
    ) -> ClientAreas {
        let mut of = vec![[ClientAreas::NONE; 3]; points.len()];
        let mut by_position: Vec<((u64, u64), u32)> = points
            .iter()
            .enumerate()
            .filter(|&(i, _)| wanted(i))
            .filter_map(|(i, p)| Some(((p.x().to_bits(), p.y().to_bits()), u32::try_from(i).ok()?)))
            .collect();
        by_position.sort_unstable();
        // Runs of equal positions: `starts[d]..starts[d + 1]` in `by_position`.
        let mut starts: Vec<usize> = Vec::new();
        for (i, (key, _)) in by_position.iter().enumerate() {
            if i == 0 || by_position[i - 1].0 != *key {
                starts.push(i);
            }
        }
        starts.push(by_position.len());
        for (l, level) in Level::ALL.into_iter().enumerate() {
            let Some((idx, index)) = level_index(areas, level) else {
                continue;
            };
            let located: Vec<Option<usize>> = starts
                .par_windows(2)
                .map(|w| {
                    let (x, y) = by_position[w[0]].0;
                    index.locate(Point::new(f64::from_bits(x), f64::from_bits(y)))
                })
                .collect();
            for (w, k) in starts.windows(2).zip(located) {
                let Some(area) = k.and_then(|k| u32::try_from(idx[k]).ok()) else {
                    continue;
                };
                for &(_, client) in &by_position[w[0]..w[1]] {
                    of[client as usize][l] = area;
                }
            }
        }
        ClientAreas { of }
    }

    /// The clients located.
    pub fn len(&self) -> usize {
        self.of.len()
    }

    /// No client located.
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }
}

/// Clustered clients per area (index into `areas`), for every level: a client counts in each
/// area that holds it (`located`) and only when `labels` puts it in a cluster; with the cell
/// key of each area's counted clients (`cellkey::cell_key`, as integer units: exact in any
/// order).
fn participant_counts(
    areas: usize,
    located: &ClientAreas,
    cell_keys: &[f64],
    labels: &[Option<usize>],
) -> (Vec<usize>, Vec<f64>) {
    let mut counts = vec![0usize; areas];
    let mut units = vec![0u64; areas];
    for (i, (of, label)) in located.of.iter().zip(labels).enumerate() {
        if label.is_none() {
            continue;
        }
        let key = key_units(cell_keys.get(i).copied().unwrap_or(0.0));
        for &a in of {
            if a != ClientAreas::NONE {
                counts[a as usize] += 1;
                units[a as usize] = (units[a as usize] + key) & 0xFFFF_FFFF;
            }
        }
    }
    let key_sums = units.into_iter().map(from_key_units).collect();
    (counts, key_sums)
}

/// Runs clustering, sites and the area criteria, with the 100 m grid (may be empty) and the
/// weight-independent settings of the configured model: the target-group prevalences of the
/// participant estimate and the comparison set of the normalisation.
///
/// # Errors
/// Parameters out of range.
pub fn analyse_with<M: WalkingMetric + Sync>(
    metric: &M,
    inputs: Inputs<'_>,
    grid: &[GridCell],
    model: &Weights,
    params: Params,
) -> Result<Analysis, AnalysisError> {
    analyse_inner(metric, inputs, None, grid, model, params)
}

/// [`analyse_with`] for clients already located in the areas ([`ClientAreas::locate`] of the
/// same `inputs`, once per snapshot): the same result, without any point-in-area test.
///
/// # Errors
/// Parameters out of range.
///
/// # Panics
/// When `located` does not hold one entry per client of `inputs` (another snapshot's).
pub fn analyse_located<M: WalkingMetric + Sync>(
    metric: &M,
    inputs: Inputs<'_>,
    located: &ClientAreas,
    grid: &[GridCell],
    model: &Weights,
    params: Params,
) -> Result<Analysis, AnalysisError> {
    assert_eq!(
        located.len(),
        inputs.clients.len(),
        "clients located for another snapshot"
    );
    analyse_inner(metric, inputs, Some(located), grid, model, params)
}

fn analyse_inner<M: WalkingMetric + Sync>(
    metric: &M,
    inputs: Inputs<'_>,
    located: Option<&ClientAreas>,
    grid: &[GridCell],
    model: &Weights,
    params: Params,
) -> Result<Analysis, AnalysisError> {
    params.validate()?;
    let dbscan = Dbscan::new(params.walk_m, params.min_participants)?;
    let points: Vec<Point<f64>> = inputs.clients.iter().map(|c| c.position_rd).collect();
    let clustering: Clustering = dbscan.cluster(metric, &points);
    let site_params = SiteParams {
        walk_m: params.walk_m,
        min_participants: params.min_participants,
        ..SiteParams::default()
    };
    let keys: Vec<f64> = inputs.clients.iter().map(|c| c.key).collect();
    let publish_params = PublishParams {
        walk_m: params.walk_m,
        min_participants: params.min_participants,
    };
    let labels = clustering.labels();
    // The greedy of a national-sized cluster is one long task; the outlines and (for one run)
    // the location of the clustered clients need the clustering only, so they take the other
    // core meanwhile. Only the clustered clients are ever counted, so only they are located.
    let ((sites, circles), (outlines, clustered_only)) = rayon::join(
        || {
            let sites = find_sites(metric, &points, &clustering, &site_params);
            let circles = Circles::draw(&keys, &sites, publish_params);
            (sites, circles)
        },
        || {
            rayon::join(
                || Outlines::draw(&points, &keys, &clustering, publish_params),
                || {
                    located.is_none().then(|| {
                        ClientAreas::locate_where(inputs.areas, &points, |i| labels[i].is_some())
                    })
                },
            )
        },
    );
    let mut published = outlines.publish(circles, &sites);
    let along_streets = !metric.is_straight_line();
    if along_streets {
        // A site's published shape becomes the area reachable on foot from its published
        // centre: it depends on that centre and the public streets only.
        for site in &mut published.sites {
            if let Reach::Area(area) = metric.reach(site.centre_rd, params.walk_m) {
                site.reach_rd = Some(area);
            }
        }
    }

    // Potential participants per area: clients in the area who belong to a walking-distance
    // cluster, i.e. who have enough others near them to form a circle together.
    let has_clients = !inputs.clients.is_empty();
    // Published as the bucket of the perturbed count (docs/privacy.md, "Counts"); the members'
    // cell keys are summed where they are counted (cellkey::cell_key of the area).
    let located_here;
    let located = match located {
        Some(l) => l,
        None => {
            located_here = clustered_only.unwrap_or_else(|| {
                ClientAreas::locate_where(inputs.areas, &points, |i| labels[i].is_some())
            });
            &located_here
        }
    };
    let (counts, key_sums) = participant_counts(inputs.areas.len(), located, &keys, labels);
    let participants: Vec<Option<Bucket>> = counts
        .iter()
        .zip(&key_sums)
        .map(|(&n, &key)| has_clients.then(|| perturbed_bucket(n, key)))
        .collect();

    let place_points: Vec<Point<f64>> = inputs.places.iter().map(|p| p.position_rd).collect();
    let place_index = PointIndex::new(&place_points);
    // Along streets a place serves an area when the area reachable from it on foot touches the
    // area; the straight line (never longer than the walk) stays the cheap pre-filter.
    let place_reach: Vec<std::cell::OnceCell<Reach>> = if along_streets {
        place_points
            .iter()
            .map(|_| std::cell::OnceCell::new())
            .collect()
    } else {
        Vec::new()
    };
    let serves = |i: usize, area: &geo_types::MultiPolygon<f64>| -> bool {
        if Euclidean.distance(&place_points[i], area) > params.walk_m {
            return false;
        }
        let Some(cell) = place_reach.get(i) else {
            return true;
        };
        match cell.get_or_init(|| metric.reach(place_points[i], params.walk_m)) {
            Reach::Disk => true,
            Reach::Area(reach) => geo::Intersects::intersects(reach, area),
            Reach::Unreachable => false,
        }
    };
    let circle_reach = params.walk_m / 2.0;
    let mut place_near = Vec::with_capacity(inputs.areas.len());
    let mut circle_near = Vec::with_capacity(inputs.areas.len());
    for a in inputs.areas {
        // R-tree pre-filter: a circle around the area's bounding box, widened by the walk.
        let near_place = (!inputs.places.is_empty()).then(|| {
            a.geometry_rd.bounding_rect().is_some_and(|r| {
                let reach = r.width().hypot(r.height()) / 2.0 + params.walk_m;
                place_index
                    .within_distance(r.center().into(), reach)
                    .any(|i| serves(i, &a.geometry_rd))
            })
        });
        let near_circle = (!inputs.circles.is_empty()).then(|| {
            inputs.circles.iter().any(|c| match &c.geometry_rd {
                Geometry::Point(p) => Euclidean.distance(p, &a.geometry_rd) <= circle_reach,
                g => geo::Intersects::intersects(g, &a.geometry_rd),
            })
        });
        place_near.push(near_place);
        circle_near.push(near_circle);
    }
    let estimates = estimates(inputs.areas, grid, &model.prevalence(), params.walk_m);
    let area_order: Vec<usize> = (0..inputs.areas.len()).collect();
    let area_inputs: Vec<AreaInput<'_>> = area_order
        .iter()
        .map(|&i| AreaInput {
            code: &inputs.areas[i].code,
            water: inputs.areas[i].water,
            figures: &inputs.areas[i].figures,
            participants: participants[i],
            estimate: estimates[i],
            meeting_place_within_walk: place_near[i],
            existing_circle_nearby: circle_near[i],
        })
        .collect();
    let regions = if model.comparison() == crate::analysis::weights::ComparisonSet::Regio {
        crate::analysis::region::regions(inputs.areas)
    } else {
        crate::analysis::region::Regions::new()
    };
    let prepared = prepare_regions(&area_inputs, model, &regions);
    let summary = Summary {
        clients: points.len(),
        clustered: clustering.labels().iter().filter(|l| l.is_some()).count(),
        clusters: clustering.cluster_count(),
        sites: sites.len(),
        in_sites: sites.iter().map(|s| s.participants.len()).sum(),
        metric: if along_streets {
            STREET_NETWORK
        } else {
            STRAIGHT_LINE
        },
    };
    Ok(Analysis {
        params,
        area_order,
        prepared,
        published,
        participants,
        estimates,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::cellkey::cell_key;

    #[test]
    fn walking_distances_off_the_100_m_steps_are_refused() {
        let p = |walk_m, min| Params {
            walk_m,
            min_participants: min,
        };
        assert!(p(800.0, 5).validate().is_ok());
        assert!(p(1500.0, 12).validate().is_ok());
        assert!(
            p(850.0, 5)
                .validate()
                .unwrap_err()
                .to_string()
                .contains("multiple of 100")
        );
        assert!(p(800.5, 5).validate().is_err());
        assert!(p(f64::NAN, 5).validate().is_err());
        assert!(p(50.0, 5).validate().is_err());
    }

    #[test]
    fn fewer_than_five_minimum_participants_are_refused() {
        let p = Params {
            walk_m: 800.0,
            min_participants: 4,
        };
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("min_participants")
        );
    }

    /// The straightforward assignment the cell-wise one replaced: every clustered client
    /// located through the area R-tree of every level.
    fn participant_counts_oracle(
        areas: &[Area],
        points: &[Point<f64>],
        keys: &[f64],
        labels: &[Option<usize>],
    ) -> (Vec<usize>, Vec<f64>) {
        let mut counts = vec![0usize; areas.len()];
        let mut key_sums = vec![0.0f64; areas.len()];
        for level in Level::ALL {
            let idx: Vec<usize> = (0..areas.len())
                .filter(|&i| areas[i].level() == level)
                .collect();
            let index = AreaIndex::new(idx.iter().map(|&i| areas[i].geometry_rd.clone()).collect());
            for ((p, label), key) in points.iter().zip(labels).zip(keys) {
                if label.is_some()
                    && let Some(k) = index.locate(*p)
                {
                    counts[idx[k]] += 1;
                    key_sums[idx[k]] = cell_key([key_sums[idx[k]], *key]);
                }
            }
        }
        (counts, key_sums)
    }

    fn square(code: &str, x: f64, y: f64, size: f64) -> Area {
        use geo_types::{MultiPolygon, polygon};
        Area {
            code: crate::model::AreaCode::parse(code).unwrap(),
            name: String::new(),
            water: false,
            figures: crate::model::Figures::default(),
            geometry_rd: MultiPolygon(vec![polygon![
                (x: x, y: y),
                (x: x + size, y: y),
                (x: x + size, y: y + size),
                (x: x, y: y + size),
            ]]),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn counting_per_distinct_cell_gives_the_counts_of_locating_every_client(
            pts in proptest::collection::vec((0..40i32, 0..40i32, proptest::bool::ANY), 0..300),
        ) {
            // A gemeente of 1 km, two wijken and four buurten (one buurt missing: a gap),
            // clients on the 25 m grid (many share a cell, some on the area edges).
            let areas = vec![
                square("GM0001", 0.0, 0.0, 1000.0),
                square("WK000101", 0.0, 0.0, 500.0),
                square("WK000102", 500.0, 0.0, 500.0),
                square("BU00010101", 0.0, 0.0, 250.0),
                square("BU00010102", 250.0, 0.0, 250.0),
                square("BU00010103", 0.0, 250.0, 250.0),
                square("BU00010201", 500.0, 0.0, 500.0),
            ];
            let points: Vec<Point<f64>> = pts
                .iter()
                .map(|&(x, y, _)| Point::new(25.0 * f64::from(x), 25.0 * f64::from(y)))
                .collect();
            let labels: Vec<Option<usize>> =
                pts.iter().map(|&(_, _, c)| c.then_some(0)).collect();
            let keys: Vec<f64> = (0..points.len()).map(|i| (i as f64 * 0.618_034).fract()).collect();
            let oracle = participant_counts_oracle(&areas, &points, &keys, &labels);
            // Located per run (the clustered clients only) and once per snapshot (every client).
            let clustered = ClientAreas::locate_where(&areas, &points, |i| labels[i].is_some());
            proptest::prop_assert_eq!(
                participant_counts(areas.len(), &clustered, &keys, &labels),
                oracle.clone()
            );
            let all = ClientAreas::locate_where(&areas, &points, |_| true);
            proptest::prop_assert_eq!(participant_counts(areas.len(), &all, &keys, &labels), oracle);
        }
    }
}
