//! Candidate circle sites: where, inside each walking-distance cluster, a Buurtcirkel of 5 to
//! 12 participants could meet, with every participant within walking distance of the centre.
//!
//! Input: client positions in RD New (EPSG:28992), metres, a [`Clustering`] of them and a
//! [`WalkingMetric`]. Output: [`Site`]s, each a centre on the 100 m publication grid (RD metres)
//! and the input positions of its participants. Exact participant lists stay in the process;
//! `generalise` publishes a site only as its centre plus the walking radius and a count bucket.
//!
//! This module touches no files, GDAL, tokio or the clock, and is deterministic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::index::PointIndex;

use geo_types::Point;
use rayon::prelude::*;

use super::cluster::{Clustering, DEFAULT_MIN_PARTICIPANTS, DEFAULT_WALK_M};
use super::metric::{Neighbourhood, WalkingMetric};

/// The most participants a circle takes (DESIGN.md: a circle grows to about 12).
pub const MAX_PARTICIPANTS: usize = 12;

/// Spacing, metres, of the grid on which site centres are chosen; equal to the publication
/// grid so a published centre is the real centre.
pub const SITE_GRID_M: f64 = 100.0;

/// Parameters of [`find_sites`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteParams {
    /// Every participant lives within this walking distance (metres) of the site centre.
    pub walk_m: f64,
    /// A site needs at least this many participants.
    pub min_participants: usize,
    /// A site takes at most this many participants.
    pub max_participants: usize,
    /// Spacing of the candidate centre grid, metres.
    pub grid_m: f64,
}

impl Default for SiteParams {
    /// 800 m walk, 5 to 12 participants, centres on the 100 m grid.
    fn default() -> SiteParams {
        SiteParams {
            walk_m: DEFAULT_WALK_M,
            min_participants: DEFAULT_MIN_PARTICIPANTS,
            max_participants: MAX_PARTICIPANTS,
            grid_m: SITE_GRID_M,
        }
    }
}

/// A candidate circle site. Internal: never publish it as is.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The cluster the participants belong to.
    pub cluster: usize,
    /// The centre, a node of the candidate grid, RD metres.
    pub centre_rd: Point<f64>,
    /// Input positions of the participants, ascending.
    pub participants: Vec<usize>,
}

/// Chooses candidate circle sites in every cluster, greedily by coverage.
///
/// # Parameters
/// - `metric`: the walking distance (see [`WalkingMetric`]).
/// - `points`: client positions, RD metres, the same slice that was clustered.
/// - `clustering`: the DBSCAN result for `points`.
/// - `params`: walking distance, participant bounds and candidate grid.
///
/// # Returns
/// Sites ordered by cluster, then in the order they were chosen. Every participant is within
/// `walk_m` of the centre under `metric`, belongs to the site's cluster and is in at most one
/// site; every site has between `min_participants` and `max_participants` participants.
/// Invalid parameters (non-finite or non-positive distances, `min > max`, `min == 0`) give no
/// sites.
///
/// # Algorithm
/// Per cluster (members `m`, candidates `C`):
/// 1. Candidates are the nodes of the `grid_m` grid over the cluster's bounding box. Grid nodes
///    rather than clients' homes, so a published centre is not a client's location; when the
///    box would hold more than `4·m` nodes (a long, thin cluster), only the corners of the grid
///    cells that hold a member are used.
/// 2. Count, for every candidate, the members within `walk_m` (one neighbour query each).
/// 3. Repeatedly take the candidate covering the most unassigned members (ties: lowest
///    `(x, y)`), give it its up to `max_participants` nearest unassigned covered members (ties
///    by input position), until no candidate covers `min_participants` unassigned members.
///    Counts only go down: each assigned member decrements the candidates within walking
///    distance of it, and a max-heap with lazy deletion finds the best candidate.
///
/// Choosing few centres that cover everyone is set cover, which is NP-hard; greedy coverage
/// is the classic `ln n`-approximation and in practice close to optimal for disks. Cost:
/// O(C · q) for the counts, O(n · a) for the decrements (`a` candidates within walking distance
/// of a member), O(q) per chosen site, where `q` is a neighbour query.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cluster::Dbscan;
/// use buurtcirkel::analysis::metric::StraightLine;
/// use buurtcirkel::analysis::sites::{SiteParams, find_sites};
/// use geo_types::Point;
///
/// // Fifteen clients along a 700 m street.
/// let points: Vec<Point<f64>> = (0..15).map(|i| Point::new(155_000.0 + 50.0 * i as f64, 463_000.0)).collect();
/// let clustering = Dbscan::default().cluster(&StraightLine, &points);
/// let sites = find_sites(&StraightLine, &points, &clustering, &SiteParams::default());
/// assert_eq!(sites.len(), 1); // 12 in the circle; the 3 left over cannot start a second one
/// assert_eq!(sites[0].participants.len(), 12);
/// assert_eq!((sites[0].centre_rd.x() - 12.5) % 100.0, 0.0);
/// ```
pub fn find_sites<M: WalkingMetric + Sync>(
    metric: &M,
    points: &[Point<f64>],
    clustering: &Clustering,
    params: &SiteParams,
) -> Vec<Site> {
    let valid = params.walk_m.is_finite()
        && params.walk_m > 0.0
        && params.grid_m.is_finite()
        && params.grid_m > 0.0
        && params.min_participants >= 1
        && params.min_participants <= params.max_participants;
    if !valid {
        return Vec::new();
    }
    // Clusters are independent: choose their sites in parallel, then concatenate in cluster
    // order, so the result is the sequential one.
    let members = clustering.members();
    let per_cluster: Vec<Vec<Site>> = members
        .par_iter()
        .enumerate()
        .map(|(cluster, members)| {
            let local: Vec<Point<f64>> = members.iter().map(|&i| points[i]).collect();
            let near = metric.prepare(&local);
            sites_in(&near, &local, params, metric.is_straight_line())
                .into_iter()
                .map(|(centre_rd, chosen)| {
                    let mut participants: Vec<usize> =
                        chosen.into_iter().map(|k| members[k]).collect();
                    participants.sort_unstable();
                    Site {
                        cluster,
                        centre_rd,
                        participants,
                    }
                })
                .collect()
        })
        .collect();
    per_cluster.into_iter().flatten().collect()
}

/// The greedy choice within one cluster; returns centres and positions in `local`.
fn sites_in<N: Neighbourhood>(
    near: &N,
    local: &[Point<f64>],
    params: &SiteParams,
    straight_line: bool,
) -> Vec<(Point<f64>, Vec<usize>)> {
    let candidates = candidates(local, params.grid_m);
    let mut covered = Vec::new();
    // count[k]: unassigned members within walking distance of candidate k, kept current by
    // decrementing when a member is assigned (instead of re-querying stale candidates, which
    // costs a full neighbour query per pop and made dense city clusters take minutes).
    let lattice = straight_line
        .then(|| lattice_counts(local, &candidates, params.walk_m))
        .flatten();
    let count_of = |k: usize, covered: &mut Vec<usize>| match &lattice {
        Some(counts) => counts[k],
        None => near.count_within(candidates[k], params.walk_m, covered),
    };
    let count: Vec<usize> = (0..candidates.len())
        .map(|k| count_of(k, &mut covered))
        .collect();
    let mut count = count;
    let mut heap: BinaryHeap<(usize, Reverse<usize>)> = count
        .iter()
        .enumerate()
        .filter(|&(_, &n)| n >= params.min_participants)
        .map(|(k, &n)| (n, Reverse(k)))
        .collect();
    drop(lattice);
    let candidate_index = PointIndex::new(&candidates);
    let mut assigned = vec![false; local.len()];
    let mut found = Vec::new();
    while let Some((stored, Reverse(k))) = heap.pop() {
        if stored != count[k] {
            // Stale entry: the count went down since it was pushed.
            if count[k] >= params.min_participants {
                heap.push((count[k], Reverse(k)));
            }
            continue;
        }
        let centre = candidates[k];
        near.neighbours_of(centre, params.walk_m, &mut covered);
        covered.retain(|&j| !assigned[j]);
        if covered.len() != count[k] {
            // The query is the authority; a boundary rounding difference only re-queues.
            count[k] = covered.len();
            if count[k] >= params.min_participants {
                heap.push((count[k], Reverse(k)));
            }
            continue;
        }
        if covered.len() < params.min_participants {
            continue; // counts never grow back
        }
        let mut by_distance: Vec<(f64, usize)> = covered
            .iter()
            .map(|&j| (near.distance_from(centre, j), j))
            .collect();
        let nearest_first =
            |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        // Only the nearest `max_participants` matter: select them in O(n), then sort those.
        if by_distance.len() > params.max_participants {
            by_distance.select_nth_unstable_by(params.max_participants, nearest_first);
            by_distance.truncate(params.max_participants);
        }
        by_distance.sort_unstable_by(nearest_first);
        for &(_, j) in &by_distance {
            assigned[j] = true;
            // Straight-line distance never exceeds walking distance, so the R-tree finds a
            // superset of the candidates that covered j; the metric decides.
            for k2 in candidate_index.within_distance(local[j], params.walk_m) {
                if near.distance_from(candidates[k2], j) <= params.walk_m {
                    count[k2] = count[k2].saturating_sub(1);
                }
            }
        }
        if count[k] >= params.min_participants {
            heap.push((count[k], Reverse(k)));
        }
        found.push((centre, by_distance.into_iter().map(|(_, j)| j).collect()));
    }
    found
}

/// Most cells of the raster of [`lattice_counts`] (16 MiB of counts); a larger cluster box
/// falls back to one neighbour query per candidate.
const MAX_LATTICE_CELLS: usize = 4 << 20;

/// The straight-line coverage count of every candidate, when every member lies on the clients'
/// snapping lattice (multiples of [`crate::model::CLIENT_SNAP_M`]): `None` otherwise, or when
/// the cluster's box holds more than [`MAX_LATTICE_CELLS`] lattice cells.
///
/// Equal to the R-tree count (`locate_within_distance`, inclusive) by construction: a member
/// at `p` is counted when `(c.x - p.x)² + (c.y - p.y)² <= walk²`, evaluated in the same `f64`
/// operations, and `p` is rebuilt exactly from its lattice index. The members of one lattice
/// row that satisfy it form one run of columns (the squared distance grows with the column
/// distance), found from a square-root estimate widened by one column each side and then
/// shrunk with the exact test; the row's prefix sums count the run in O(1). Cost O(box) for
/// the raster plus O(rows within walk) per candidate, instead of a neighbour query that
/// visits every covered member.
fn lattice_counts(
    local: &[Point<f64>],
    candidates: &[Point<f64>],
    walk_m: f64,
) -> Option<Vec<usize>> {
    const STEP: f64 = crate::model::CLIENT_SNAP_M;
    let index = |v: f64| -> Option<i64> {
        let q = v / STEP;
        (q.is_finite() && q.fract() == 0.0 && q.abs() < 1e12 && (q * STEP) == v).then_some(q as i64)
    };
    let mut cells = Vec::with_capacity(local.len());
    for p in local {
        cells.push((index(p.x())?, index(p.y())?));
    }
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for &(x, y) in &cells {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if cells.is_empty() {
        return None;
    }
    let w = usize::try_from(x1 - x0 + 1).ok()?;
    let h = usize::try_from(y1 - y0 + 1).ok()?;
    if w.checked_mul(h)? > MAX_LATTICE_CELLS {
        return None;
    }
    // prefix[row * (w + 1) + k]: members of the row with column index below x0 + k.
    let stride = w + 1;
    let mut prefix = vec![0u32; h * stride];
    for &(x, y) in &cells {
        prefix[(y - y0) as usize * stride + (x - x0) as usize + 1] += 1;
    }
    drop(cells);
    for row in prefix.chunks_mut(stride) {
        for k in 1..stride {
            row[k] += row[k - 1];
        }
    }
    let r2 = walk_m * walk_m;
    // Candidates half a step off the lattice in both axes (the publication grid) see the same
    // runs: at row offset t the members at column offsets s in [lo, hi], where the offsets
    // `t·STEP + STEP/2` and `s·STEP + STEP/2` are exactly the differences `c - p` the test
    // computes. One stencil, made once, serves all of them.
    const HALF: f64 = STEP / 2.0;
    let reach = (walk_m / STEP).ceil() as i64 + 1;
    let stencil: Vec<(i64, i64, i64)> = (-reach..=reach)
        .filter_map(|t| {
            let dy = t as f64 * STEP + HALF;
            let dy2 = dy * dy;
            let inside = |s: i64| {
                let dx = s as f64 * STEP + HALF;
                dx * dx + dy2 <= r2
            };
            let (mut lo, mut hi) = (-reach - 1, reach + 1);
            while lo <= hi && !inside(lo) {
                lo += 1;
            }
            while hi >= lo && !inside(hi) {
                hi -= 1;
            }
            (lo <= hi).then_some((t, lo, hi))
        })
        .collect();
    let half_off = |v: f64| -> Option<i64> {
        let q = (v - HALF) / STEP;
        (q.is_finite() && q.fract() == 0.0 && q.abs() < 1e12 && q * STEP + HALF == v)
            .then_some(q as i64)
    };
    let counts = candidates
        .iter()
        .map(|c| {
            let (cx, cy) = (c.x(), c.y());
            if let (Some(a), Some(b)) = (half_off(cx), half_off(cy)) {
                let mut n = 0u32;
                for &(t, lo, hi) in &stencil {
                    let y = b - t;
                    let (xl, xh) = ((a - hi).max(x0), (a - lo).min(x1));
                    if y < y0 || y > y1 || xl > xh {
                        continue;
                    }
                    let row = &prefix[(y - y0) as usize * stride..][..stride];
                    n += row[(xh - x0) as usize + 1] - row[(xl - x0) as usize];
                }
                return n as usize;
            }
            let inside = |x: i64, dy2: f64| {
                let dx = cx - x as f64 * STEP;
                dx * dx + dy2 <= r2
            };
            let row_lo = (((cy - walk_m) / STEP).floor() as i64 - 1).max(y0);
            let row_hi = (((cy + walk_m) / STEP).ceil() as i64 + 1).min(y1);
            let mut n = 0u32;
            for y in row_lo..=row_hi {
                let dy = cy - y as f64 * STEP;
                let dy2 = dy * dy;
                let rest = r2 - dy2;
                if rest < 0.0 {
                    continue;
                }
                let half = rest.sqrt();
                let mut lo = (((cx - half) / STEP).floor() as i64 - 1).max(x0);
                let mut hi = (((cx + half) / STEP).ceil() as i64 + 1).min(x1);
                while lo <= hi && !inside(lo, dy2) {
                    lo += 1;
                }
                while hi >= lo && !inside(hi, dy2) {
                    hi -= 1;
                }
                if lo <= hi {
                    let row = &prefix[(y - y0) as usize * stride..][..stride];
                    n += row[(hi - x0) as usize + 1] - row[(lo - x0) as usize];
                }
            }
            n as usize
        })
        .collect();
    Some(counts)
}

/// Candidate centres on the `grid_m` grid, sorted by `(x, y)`; see step 1 of [`find_sites`].
fn candidates(local: &[Point<f64>], grid_m: f64) -> Vec<Point<f64>> {
    let finite: Vec<Point<f64>> = local
        .iter()
        .copied()
        .filter(|p| p.x().is_finite() && p.y().is_finite())
        .collect();
    if finite.is_empty() {
        return Vec::new();
    }
    // Nodes at k·grid_m + offset: the publication grid, off the clients' 25 m grid.
    let offset = super::grid::PUBLISH_GRID_OFFSET_M;
    let cell = |v: f64| ((v - offset) / grid_m).floor() as i64;
    let (mut x0, mut y0, mut x1, mut y1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for p in &finite {
        x0 = x0.min(cell(p.x()));
        y0 = y0.min(cell(p.y()));
        x1 = x1.max(cell(p.x()) + 1);
        y1 = y1.max(cell(p.y()) + 1);
    }
    let nodes = (x1 - x0 + 1).saturating_mul(y1 - y0 + 1);
    let mut keys: Vec<(i64, i64)> = if nodes <= 4 * finite.len() as i64 + 64 {
        (x0..=x1)
            .flat_map(|i| (y0..=y1).map(move |j| (i, j)))
            .collect()
    } else {
        finite
            .iter()
            .flat_map(|p| {
                let (i, j) = (cell(p.x()), cell(p.y()));
                [(i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)]
            })
            .collect()
    };
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|(i, j)| Point::new(i as f64 * grid_m + offset, j as f64 * grid_m + offset))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::cluster::Dbscan;
    use crate::analysis::metric::{Neighbourhood, StraightLine, WalkingMetric, straight};
    use proptest::prelude::*;

    fn sites_for(points: &[Point<f64>], params: &SiteParams) -> (Clustering, Vec<Site>) {
        let clustering = Dbscan::new(params.walk_m, params.min_participants)
            .unwrap()
            .cluster(&StraightLine, points);
        let sites = find_sites(&StraightLine, points, &clustering, params);
        (clustering, sites)
    }

    #[test]
    fn thirty_clients_over_one_and_a_half_km_host_two_or_three_circles() {
        // A 6 x 5 block of clients, 300 m apart: 1,500 m by 1,200 m.
        let points: Vec<Point<f64>> = (0..30)
            .map(|i| {
                Point::new(
                    155_000.0 + 300.0 * (i % 6) as f64,
                    463_000.0 + 300.0 * (i / 6) as f64,
                )
            })
            .collect();
        let (clustering, sites) = sites_for(&points, &SiteParams::default());
        assert_eq!(clustering.cluster_count(), 1);
        assert!((2..=3).contains(&sites.len()), "{} sites", sites.len());
        assert!(
            sites
                .iter()
                .all(|s| (5..=12).contains(&s.participants.len()))
        );
    }

    #[test]
    fn four_clients_host_no_circle() {
        let points = vec![Point::new(155_000.0, 463_000.0); 4];
        let (_, sites) = sites_for(&points, &SiteParams::default());
        assert!(sites.is_empty());
    }

    #[test]
    fn twenty_five_clients_in_one_block_fill_two_circles_of_twelve() {
        let points = vec![Point::new(155_010.0, 463_020.0); 25];
        let (_, sites) = sites_for(&points, &SiteParams::default());
        let sizes: Vec<usize> = sites.iter().map(|s| s.participants.len()).collect();
        assert_eq!(sizes, vec![12, 12]); // the 25th is left: one is not a circle
    }

    #[test]
    fn unusable_parameters_give_no_sites() {
        let points = vec![Point::new(0.0, 0.0); 10];
        let clustering = Dbscan::default().cluster(&StraightLine, &points);
        for params in [
            SiteParams {
                walk_m: f64::NAN,
                ..SiteParams::default()
            },
            SiteParams {
                grid_m: 0.0,
                ..SiteParams::default()
            },
            SiteParams {
                min_participants: 13,
                ..SiteParams::default()
            },
        ] {
            assert!(find_sites(&StraightLine, &points, &clustering, &params).is_empty());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn lattice_counts_equal_the_neighbour_query_counts_they_replace(
            pts in prop::collection::vec((0..120i32, 0..120i32), 1..150),
            walk in 50.0..1200.0f64,
            round_walk in prop::bool::ANY,
            grid in prop::sample::select(vec![100.0, 50.0, 37.5, 33.3]),
        ) {
            // Snapped clients (many on one cell), candidates as the site search makes them;
            // walking distances both whole (on the boundary of lattice distances) and not.
            let walk = if round_walk { (walk / 25.0).round() * 25.0 } else { walk };
            let local: Vec<Point<f64>> = pts
                .iter()
                .map(|&(x, y)| Point::new(155_000.0 + 25.0 * f64::from(x), 463_000.0 + 25.0 * f64::from(y)))
                .collect();
            let cands = candidates(&local, grid);
            let near = StraightLine.prepare(&local);
            let mut scratch = Vec::new();
            let oracle: Vec<usize> = cands
                .iter()
                .map(|&c| {
                    near.neighbours_of(c, walk, &mut scratch);
                    scratch.len()
                })
                .collect();
            prop_assert_eq!(lattice_counts(&local, &cands, walk), Some(oracle));
        }

        #[test]
        fn sites_respect_walking_distance_size_and_exclusivity(
            pts in prop::collection::vec((0..80i32, 0..80i32), 0..120),
            walk in 200.0..900.0f64,
            min in 2usize..7,
        ) {
            let points: Vec<Point<f64>> =
                pts.iter().map(|&(x, y)| Point::new(25.0 * x as f64, 25.0 * y as f64)).collect();
            let params = SiteParams { walk_m: walk, min_participants: min, ..SiteParams::default() };
            let (clustering, sites) = sites_for(&points, &params);
            let mut used = vec![false; points.len()];
            for s in &sites {
                prop_assert!(s.participants.len() >= min && s.participants.len() <= MAX_PARTICIPANTS);
                prop_assert_eq!((s.centre_rd.x() - 12.5) % 100.0, 0.0);
                prop_assert_eq!((s.centre_rd.y() - 12.5) % 100.0, 0.0);
                for &i in &s.participants {
                    prop_assert!(straight(s.centre_rd, points[i]) <= walk);
                    prop_assert_eq!(clustering.labels()[i], Some(s.cluster));
                    prop_assert!(!used[i], "participant {} in two sites", i);
                    used[i] = true;
                }
            }
            // Greedy stops only when no candidate can start another circle.
            for (cluster, members) in clustering.members().iter().enumerate() {
                let local: Vec<Point<f64>> = members.iter().map(|&i| points[i]).collect();
                for c in candidates(&local, 100.0) {
                    let free = members
                        .iter()
                        .filter(|&&i| !used[i] && straight(c, points[i]) <= walk)
                        .count();
                    prop_assert!(free < min, "cluster {} could host another site at {:?}", cluster, c);
                }
            }
        }
    }
}
