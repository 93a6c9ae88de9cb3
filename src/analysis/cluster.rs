//! Walking-distance clusters of clients: DBSCAN with `eps` = walking distance and
//! `min points` = the minimum number of participants of a circle.
//!
//! Input: client positions in RD New (EPSG:28992), metres, and a [`WalkingMetric`].
//! Output: a [`Clustering`]: per point a cluster id (`None` = noise) and whether it is a core
//! point. Exact memberships stay inside the process; `generalise` decides what is published.
//!
//! This module touches no files, GDAL, tokio or the clock, and is deterministic: the same
//! points in any order get the same labels.

use std::cmp::Ordering;
use std::f64::consts::SQRT_2;

use geo_types::Point;

use super::metric::{Neighbourhood, WalkingMetric};
use super::union_find::UnionFind;

/// Default walking distance, metres: about ten minutes on foot for an older walker.
pub const DEFAULT_WALK_M: f64 = 800.0;

/// Default minimum number of participants for a circle to start (DESIGN.md).
pub const DEFAULT_MIN_PARTICIPANTS: usize = 5;

/// Why clustering parameters are unusable.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// The walking distance must be a finite number of metres greater than zero.
    #[error("walking distance must be a finite number of metres above 0, got {walk_m}")]
    InvalidWalk {
        /// The rejected value, metres.
        walk_m: f64,
    },
    /// The minimum number of participants must be at least 1.
    #[error("minimum number of participants must be at least 1, got {min_participants}")]
    InvalidMinParticipants {
        /// The rejected value.
        min_participants: usize,
    },
}

/// Density-based clustering (DBSCAN) by walking distance.
///
/// # Parameters
/// - `walk_m` (`eps`): two clients are neighbours when their walking distance is at most this
///   many metres (inclusive).
/// - `min_participants` (`min points`): a client is a *core* point when at least this many
///   clients, **itself included**, are its neighbours (as in Ester et al. 1996, PostGIS
///   `ST_ClusterDBSCAN` and scikit-learn).
///
/// # Returns
/// A [`Clustering`]. Clusters are the connected components of core points under the neighbour
/// relation. A non-core point with a core neighbour is a *border* point and joins a cluster of
/// such a neighbour; every other point is noise (`None`).
///
/// # Determinism
/// - Clusters are numbered `0..k` in the canonical order of their smallest core point, where
///   points are ordered by `(x, y, input position)`; the numbering does not depend on the order
///   in which points were processed.
/// - A border point reachable from several clusters joins the one with the **lowest** number.
///   (The 1996 paper leaves this to processing order; we fix it so results are reproducible.)
///
/// So a permutation of the input permutes the labels with it and changes nothing else.
///
/// # Algorithm
/// With [`StraightLine`](super::metric::StraightLine) (any metric whose
/// [`is_straight_line`](WalkingMetric::is_straight_line) is true), grid DBSCAN (Gunawan 2013,
/// de Berg et al. 2017):
/// 1. Sort points into square cells of side `eps/√2`, so that two points in one cell are always
///    neighbours. Cell neighbours are looked up in a hash table of occupied cells.
/// 2. Every point of a cell with at least `min` points is core. In other cells, count each
///    point's neighbours in its own cell plus the surrounding 5×5 block, stopping at `min`.
/// 3. Core points of one cell are all connected. Merge neighbouring cells with a union-find
///    when any pair of their core points lies within `eps`; adjacent cells are tried first,
///    bounding boxes of core points decide most pairs without a distance scan, and a pair
///    already in one component is never scanned.
/// 4. Number the components canonically and give each border point the lowest cluster number
///    among the cells holding a core neighbour (all core points of one cell share a cluster).
///
/// Complexity O(n log n) for the sort plus work proportional to the points in sparse cells
/// times their 5×5 block; dense cities cost almost nothing per point, which is why this beats
/// per-point R-tree queries (where a point in a dense city visits thousands of neighbours).
///
/// Any other metric gets the textbook algorithm: one [`Neighbourhood::neighbours`] query per
/// point to find the core points, one more per core point to union core neighbours, then the
/// same numbering and border rule. Cost O(n · query).
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cluster::Dbscan;
/// use buurtcirkel::analysis::metric::StraightLine;
/// use geo_types::Point;
///
/// // Five clients within a few hundred metres, and one 5 km away.
/// let mut points: Vec<Point<f64>> = (0..5).map(|i| Point::new(155_000.0 + 100.0 * i as f64, 463_000.0)).collect();
/// points.push(Point::new(160_000.0, 463_000.0));
/// let clustering = Dbscan::default().cluster(&StraightLine, &points);
/// assert_eq!(clustering.cluster_count(), 1);
/// assert_eq!(clustering.labels()[..5], [Some(0); 5]);
/// assert_eq!(clustering.labels()[5], None); // noise
/// assert!(clustering.is_core()[2]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dbscan {
    walk_m: f64,
    min_participants: usize,
}

impl Default for Dbscan {
    /// 800 m on foot, at least 5 participants.
    fn default() -> Dbscan {
        Dbscan {
            walk_m: DEFAULT_WALK_M,
            min_participants: DEFAULT_MIN_PARTICIPANTS,
        }
    }
}

/// The result of [`Dbscan::cluster`]: one entry per input point, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clustering {
    labels: Vec<Option<usize>>,
    core: Vec<bool>,
    cluster_count: usize,
}

impl Clustering {
    /// Cluster id per input point (`0..cluster_count()`), `None` for noise.
    pub fn labels(&self) -> &[Option<usize>] {
        &self.labels
    }

    /// Whether each input point is a core point.
    pub fn is_core(&self) -> &[bool] {
        &self.core
    }

    /// Number of clusters.
    pub fn cluster_count(&self) -> usize {
        self.cluster_count
    }

    /// Input positions of the members of every cluster (ascending), indexed by cluster id.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut members = vec![Vec::new(); self.cluster_count];
        for (i, label) in self.labels.iter().enumerate() {
            if let Some(c) = label {
                members[*c].push(i);
            }
        }
        members
    }
}

impl Dbscan {
    /// Checks and stores the parameters.
    ///
    /// # Errors
    /// [`ClusterError`] when `walk_m` is not finite and positive or `min_participants` is 0.
    pub fn new(walk_m: f64, min_participants: usize) -> Result<Dbscan, ClusterError> {
        if !(walk_m.is_finite() && walk_m > 0.0) {
            return Err(ClusterError::InvalidWalk { walk_m });
        }
        if min_participants == 0 {
            return Err(ClusterError::InvalidMinParticipants { min_participants });
        }
        Ok(Dbscan {
            walk_m,
            min_participants,
        })
    }

    /// The walking distance `eps`, metres.
    pub fn walk_m(&self) -> f64 {
        self.walk_m
    }

    /// The minimum number of participants (`min points`, the point itself included).
    pub fn min_participants(&self) -> usize {
        self.min_participants
    }

    /// Clusters `points` (RD metres) by walking distance under `metric`. See [`Dbscan`].
    pub fn cluster<M: WalkingMetric>(&self, metric: &M, points: &[Point<f64>]) -> Clustering {
        if metric.is_straight_line()
            && let Some(c) = grid::dbscan(points, self.walk_m, self.min_participants)
        {
            return c;
        }
        self.cluster_by_queries(&metric.prepare(points), points)
    }

    /// The metric-agnostic algorithm: one neighbour query per point, one more per core point.
    fn cluster_by_queries<N: Neighbourhood>(&self, near: &N, points: &[Point<f64>]) -> Clustering {
        let n = points.len();
        let mut core = vec![false; n];
        // Non-core points have fewer than `min` neighbours, so keeping their lists is cheap
        // and saves a second query when border points are assigned.
        let mut small: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut out = Vec::new();
        for (i, is_core) in core.iter_mut().enumerate() {
            near.neighbours(i, self.walk_m, &mut out);
            if out.len() >= self.min_participants {
                *is_core = true;
            } else {
                small.push((i, out.clone()));
            }
        }
        let mut sets = UnionFind::new(n);
        for i in (0..n).filter(|&i| core[i]) {
            near.neighbours(i, self.walk_m, &mut out);
            for &j in out.iter().filter(|&&j| j > i && core[j]) {
                sets.union(i, j);
            }
        }
        let roots: Vec<(usize, usize)> = (0..n)
            .filter(|&i| core[i])
            .map(|i| (i, sets.find(i)))
            .collect();
        let (label_of_root, cluster_count) = number_components(points, &roots, n);
        let mut labels = vec![None; n];
        for &(i, root) in &roots {
            labels[i] = label_of_root[root];
        }
        for (i, neighbours) in small {
            labels[i] = neighbours
                .iter()
                .filter(|&&j| core[j])
                .filter_map(|&j| labels[j])
                .min();
        }
        Clustering {
            labels,
            core,
            cluster_count,
        }
    }
}

/// Orders points canonically by `(x, y, position)`; `-0.0` counts as `0.0`.
fn canonical(points: &[Point<f64>], a: usize, b: usize) -> Ordering {
    let (pa, pb) = (points[a], points[b]);
    (pa.x() + 0.0)
        .total_cmp(&(pb.x() + 0.0))
        .then((pa.y() + 0.0).total_cmp(&(pb.y() + 0.0)))
        .then(a.cmp(&b))
}

/// Numbers components canonically.
///
/// `members` pairs a core point's input position with its component id (`< components`).
/// Returns the cluster label of every component id (`None` for ids without members) and the
/// number of clusters: components are numbered by their canonically smallest point.
fn number_components(
    points: &[Point<f64>],
    members: &[(usize, usize)],
    components: usize,
) -> (Vec<Option<usize>>, usize) {
    let mut smallest: Vec<Option<usize>> = vec![None; components];
    for &(i, c) in members {
        smallest[c] = match smallest[c] {
            Some(s) if canonical(points, s, i).is_le() => Some(s),
            _ => Some(i),
        };
    }
    let mut order: Vec<(usize, usize)> = smallest
        .iter()
        .enumerate()
        .filter_map(|(c, s)| s.map(|s| (s, c)))
        .collect();
    order.sort_unstable_by(|a, b| canonical(points, a.0, b.0));
    let mut label = vec![None; components];
    for (l, &(_, c)) in order.iter().enumerate() {
        label[c] = Some(l);
    }
    (label, order.len())
}

/// Grid DBSCAN for the straight-line metric; see the `# Algorithm` section of [`Dbscan`].
mod grid {
    use super::*;

    /// Cells per axis must fit in 31 bits so that keys pack into a `u64` and offsets of ±2
    /// cannot wrap; beyond that (absurdly small `eps` over a country) we fall back.
    const MAX_CELL: f64 = (1u64 << 31) as f64 - 8.0;

    /// The bounding box of the core points of one cell.
    #[derive(Debug, Clone, Copy)]
    struct BoxRd {
        min_x: f64,
        min_y: f64,
        max_x: f64,
        max_y: f64,
    }

    impl BoxRd {
        const EMPTY: BoxRd = BoxRd {
            min_x: f64::INFINITY,
            min_y: f64::INFINITY,
            max_x: f64::NEG_INFINITY,
            max_y: f64::NEG_INFINITY,
        };

        fn add(&mut self, x: f64, y: f64) {
            self.min_x = self.min_x.min(x);
            self.min_y = self.min_y.min(y);
            self.max_x = self.max_x.max(x);
            self.max_y = self.max_y.max(y);
        }

        /// Squared distance from a point to the box (0 inside).
        fn dist2_to(&self, x: f64, y: f64) -> f64 {
            let dx = (self.min_x - x).max(x - self.max_x).max(0.0);
            let dy = (self.min_y - y).max(y - self.max_y).max(0.0);
            dx * dx + dy * dy
        }

        /// Squared smallest and largest distances between a point of `self` and one of `o`.
        fn dist2_range(&self, o: &BoxRd) -> (f64, f64) {
            let gx = (o.min_x - self.max_x).max(self.min_x - o.max_x).max(0.0);
            let gy = (o.min_y - self.max_y).max(self.min_y - o.max_y).max(0.0);
            let sx = self.max_x.max(o.max_x) - self.min_x.min(o.min_x);
            let sy = self.max_y.max(o.max_y) - self.min_y.min(o.min_y);
            (gx * gx + gy * gy, sx * sx + sy * sy)
        }
    }

    /// Open-addressing hash table from packed cell key to cell id, growing as cells appear.
    /// A dedicated table because the standard `HashMap`'s DoS-resistant hash costs more than
    /// the whole grid sort at a million points, and keys here are not attacker-chosen.
    struct CellTable {
        /// `(key, id)`; `EMPTY` marks a free slot (real keys have both halves below 2^31).
        slots: Vec<(u64, u32)>,
        len: usize,
    }

    impl CellTable {
        const EMPTY: u64 = u64::MAX;

        fn new() -> CellTable {
            CellTable {
                slots: vec![(Self::EMPTY, 0); 1024],
                len: 0,
            }
        }

        fn slot(&self, key: u64) -> usize {
            let bits = self.slots.len().trailing_zeros();
            (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
        }

        /// The id of `key`, giving it the next free id when it is new.
        fn id(&mut self, key: u64) -> u32 {
            if 2 * (self.len + 1) > self.slots.len() {
                let grown = vec![(Self::EMPTY, 0); 2 * self.slots.len()];
                let old = std::mem::replace(&mut self.slots, grown);
                for (k, id) in old.into_iter().filter(|s| s.0 != Self::EMPTY) {
                    let mut s = self.slot(k);
                    while self.slots[s].0 != Self::EMPTY {
                        s = (s + 1) & (self.slots.len() - 1);
                    }
                    self.slots[s] = (k, id);
                }
            }
            let mut s = self.slot(key);
            loop {
                let (k, id) = self.slots[s];
                if k == key {
                    return id;
                }
                if k == Self::EMPTY {
                    self.slots[s] = (key, self.len as u32);
                    self.len += 1;
                    return self.len as u32 - 1;
                }
                s = (s + 1) & (self.slots.len() - 1);
            }
        }
    }

    /// Points sorted by cell, in struct-of-arrays form for cache-friendly distance scans.
    struct Grid {
        xs: Vec<f64>,
        ys: Vec<f64>,
        /// Input position of each sorted point.
        orig: Vec<u32>,
        /// Packed `(column << 32) | row` of each occupied cell, ascending.
        keys: Vec<u64>,
        /// `start[c]..start[c + 1]` are the sorted points of cell `c`.
        start: Vec<u32>,
        /// `nb_start[c]..nb_start[c + 1]` index `nb` for the occupied cells around `c`.
        nb_start: Vec<u32>,
        nb: Vec<u32>,
    }

    impl Grid {
        fn cell(&self, c: usize) -> std::ops::Range<usize> {
            self.start[c] as usize..self.start[c + 1] as usize
        }

        fn around(&self, c: usize) -> &[u32] {
            &self.nb[self.nb_start[c] as usize..self.nb_start[c + 1] as usize]
        }

        fn cells(&self) -> usize {
            self.start.len() - 1
        }
    }

    /// Builds the grid over the finite points; `None` when the grid would be too fine.
    ///
    /// Points are bucketed by a counting sort (hash the cell key, count, scatter), which is
    /// several times faster than sorting a million keys and keeps input order within a cell.
    fn build(points: &[Point<f64>], eps: f64) -> Option<Grid> {
        // Shrinking the cell by a hair keeps "one cell ⇒ within eps" true under rounding.
        let side = eps / SQRT_2 * (1.0 - 1e-9);
        let finite = |p: &Point<f64>| p.x().is_finite() && p.y().is_finite();
        let (mut min_x, mut min_y) = (f64::INFINITY, f64::INFINITY);
        for p in points.iter().filter(|p| finite(p)) {
            min_x = min_x.min(p.x());
            min_y = min_y.min(p.y());
        }
        // Cell id per point in first-seen order; `u32::MAX` for points without coordinates.
        let mut table = CellTable::new();
        let mut keys: Vec<u64> = Vec::new();
        let mut cell_of: Vec<u32> = Vec::with_capacity(points.len());
        for p in points {
            if !finite(p) {
                cell_of.push(u32::MAX);
                continue;
            }
            let cx = ((p.x() - min_x) / side).floor();
            let cy = ((p.y() - min_y) / side).floor();
            if !(cx <= MAX_CELL && cy <= MAX_CELL) {
                return None;
            }
            let key = ((cx as u64) << 32) | cy as u64;
            let id = table.id(key);
            if id as usize == keys.len() {
                keys.push(key);
            }
            cell_of.push(id);
        }
        drop(table);
        // Renumber cells in key order (column-major), which the neighbour sweep needs.
        let mut by_key: Vec<u32> = (0..keys.len() as u32).collect();
        by_key.sort_unstable_by_key(|&c| keys[c as usize]);
        let mut rank = vec![0u32; keys.len()];
        for (r, &c) in by_key.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        let keys: Vec<u64> = by_key.iter().map(|&c| keys[c as usize]).collect();
        let mut start = vec![0u32; keys.len() + 1];
        for c in cell_of.iter_mut().filter(|c| **c != u32::MAX) {
            *c = rank[*c as usize];
            start[*c as usize + 1] += 1;
        }
        for c in 0..keys.len() {
            start[c + 1] += start[c];
        }
        let placed = start[keys.len()] as usize;
        let (mut xs, mut ys, mut orig) = (vec![0.0; placed], vec![0.0; placed], vec![0u32; placed]);
        let mut next = start.clone();
        for (i, &c) in cell_of.iter().enumerate().filter(|(_, c)| **c != u32::MAX) {
            let k = next[c as usize] as usize;
            next[c as usize] += 1;
            (xs[k], ys[k], orig[k]) = (points[i].x(), points[i].y(), i as u32);
        }
        drop(cell_of);
        let (nb_start, nb) = neighbour_cells(&keys);
        Some(Grid {
            xs,
            ys,
            orig,
            keys,
            start,
            nb_start,
            nb,
        })
    }

    /// For every cell, the occupied cells of its 5×5 block (itself excluded), as CSR arrays.
    ///
    /// Cells are sorted column-major, so each column is a run sorted by row and the rows a
    /// cell needs from each of the five columns around it only move forward: one merge-like
    /// sweep with five cursors, no hashing.
    fn neighbour_cells(keys: &[u64]) -> (Vec<u32>, Vec<u32>) {
        let col = |k: u64| (k >> 32) as i64;
        let row = |k: u64| (k & 0xFFFF_FFFF) as i64;
        // Runs of equal columns: (column, first cell, end cell).
        let mut columns: Vec<(i64, usize, usize)> = Vec::new();
        for (c, &k) in keys.iter().enumerate() {
            match columns.last_mut() {
                Some(last) if last.0 == col(k) => last.2 = c + 1,
                _ => columns.push((col(k), c, c + 1)),
            }
        }
        let mut nb_start = Vec::with_capacity(keys.len() + 1);
        let mut nb = Vec::with_capacity(keys.len() * 8);
        nb_start.push(0u32);
        for (ci, &(cx, first, end)) in columns.iter().enumerate() {
            let lo = ci.saturating_sub(2);
            let hi = (ci + 3).min(columns.len());
            let mut near: Vec<(usize, usize)> = columns[lo..hi]
                .iter()
                .filter(|c| (c.0 - cx).abs() <= 2)
                .map(|c| (c.1, c.2))
                .collect();
            for (c, &key) in keys.iter().enumerate().take(end).skip(first) {
                let cy = row(key);
                for (cursor, stop) in near.iter_mut() {
                    while *cursor < *stop && row(keys[*cursor]) < cy - 2 {
                        *cursor += 1;
                    }
                    let mut d = *cursor;
                    while d < *stop && row(keys[d]) <= cy + 2 {
                        if d != c {
                            nb.push(d as u32);
                        }
                        d += 1;
                    }
                }
                nb_start.push(nb.len() as u32);
            }
        }
        (nb_start, nb)
    }

    /// Grid DBSCAN; `None` when the grid would be too fine (the caller falls back).
    pub(super) fn dbscan(points: &[Point<f64>], eps: f64, min_pts: usize) -> Option<Clustering> {
        if points.len() >= u32::MAX as usize {
            return None;
        }
        let g = build(points, eps)?;
        let eps2 = eps * eps;
        let (xs, ys) = (&g.xs, &g.ys);
        let within = |a: usize, b: usize| {
            let (dx, dy) = (xs[a] - xs[b], ys[a] - ys[b]);
            dx * dx + dy * dy <= eps2
        };
        let cells = g.cells();

        // 2. Core points.
        let mut core = vec![false; xs.len()];
        for c in 0..cells {
            let own = g.cell(c);
            if own.len() >= min_pts {
                core[own].fill(true);
                continue;
            }
            for p in own.clone() {
                let mut count = own.len();
                'count: for &d in g.around(c) {
                    for q in g.cell(d as usize) {
                        if within(p, q) {
                            count += 1;
                            if count >= min_pts {
                                break 'count;
                            }
                        }
                    }
                }
                core[p] = count >= min_pts;
            }
        }
        let mut boxes = vec![BoxRd::EMPTY; cells];
        let mut has_core = vec![false; cells];
        for c in 0..cells {
            for p in g.cell(c).filter(|&p| core[p]) {
                boxes[c].add(xs[p], ys[p]);
                has_core[c] = true;
            }
        }

        // 3. Merge cells whose core points touch. Adjacent cells first: in a dense city they
        // connect everything, so the outer ring is almost never scanned.
        let mut sets = UnionFind::new(cells);
        for ring in [1, 2] {
            for c in (0..cells).filter(|&c| has_core[c]) {
                let around = g.around(c);
                for &d in around {
                    let d = d as usize;
                    if d <= c || !has_core[d] || ring_of(&g, c, d) != ring {
                        continue;
                    }
                    if sets.find(c) == sets.find(d) {
                        continue;
                    }
                    let (lo, hi) = boxes[c].dist2_range(&boxes[d]);
                    let touch = lo <= eps2
                        && (hi <= eps2
                            || g.cell(c).filter(|&p| core[p]).any(|p| {
                                boxes[d].dist2_to(xs[p], ys[p]) <= eps2
                                    && g.cell(d).any(|q| core[q] && within(p, q))
                            }));
                    if touch {
                        sets.union(c, d);
                    }
                }
            }
        }

        // 4. Number clusters, then labels for core and border points.
        // Only each cell's canonically smallest core point can be its component's smallest,
        // and comparing within a cell reads the sorted arrays instead of jumping around `points`.
        let mut members = Vec::new();
        for c in (0..cells).filter(|&c| has_core[c]) {
            let key = |p: usize| (xs[p] + 0.0, ys[p] + 0.0, g.orig[p]);
            let smallest = g.cell(c).filter(|&p| core[p]).min_by(|&a, &b| {
                let (ka, kb) = (key(a), key(b));
                ka.0.total_cmp(&kb.0)
                    .then(ka.1.total_cmp(&kb.1))
                    .then(ka.2.cmp(&kb.2))
            });
            if let Some(p) = smallest {
                members.push((g.orig[p] as usize, sets.find(c)));
            }
        }
        let (label_of_root, cluster_count) = number_components(points, &members, cells);
        let cell_label: Vec<Option<usize>> = (0..cells)
            .map(|c| {
                if has_core[c] {
                    label_of_root[sets.find(c)]
                } else {
                    None
                }
            })
            .collect();
        let mut labels = vec![None; points.len()];
        let mut core_out = vec![false; points.len()];
        for c in 0..cells {
            for p in g.cell(c) {
                let i = g.orig[p] as usize;
                if core[p] {
                    core_out[i] = true;
                    labels[i] = cell_label[c];
                    continue;
                }
                // A core point in the same cell is within eps.
                let mut best = cell_label[c];
                for &d in g.around(c) {
                    let d = d as usize;
                    let Some(l) = cell_label[d] else { continue };
                    if best.is_some_and(|b| b <= l) || boxes[d].dist2_to(xs[p], ys[p]) > eps2 {
                        continue;
                    }
                    if g.cell(d).any(|q| core[q] && within(p, q)) {
                        best = Some(l);
                    }
                }
                labels[i] = best;
            }
        }
        Some(Clustering {
            labels,
            core: core_out,
            cluster_count,
        })
    }

    /// Chebyshev distance, in cells, between cells `c` and `d`.
    fn ring_of(g: &Grid, c: usize, d: usize) -> i64 {
        let (a, b) = (g.keys[c], g.keys[d]);
        let dx = (a >> 32) as i64 - (b >> 32) as i64;
        let dy = (a & 0xFFFF_FFFF) as i64 - (b & 0xFFFF_FFFF) as i64;
        dx.abs().max(dy.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::metric::StraightLine;
    use proptest::prelude::*;

    /// A metric that is the straight line but does not say so: forces the query algorithm.
    struct Disguised;
    impl WalkingMetric for Disguised {
        type Neighbourhood<'a> = <StraightLine as WalkingMetric>::Neighbourhood<'a>;
        fn prepare<'a>(&'a self, points: &'a [Point<f64>]) -> Self::Neighbourhood<'a> {
            StraightLine.prepare(points)
        }
    }

    /// Textbook O(n²) DBSCAN: core flags and, per point, the set of clusters (as sets of core
    /// points' smallest member) it can join.
    struct Brute {
        core: Vec<bool>,
        /// Component representative of every core point.
        comp: Vec<Option<usize>>,
        /// Components of the core neighbours of every point.
        reachable: Vec<Vec<usize>>,
    }

    fn brute(points: &[Point<f64>], eps: f64, min: usize) -> Brute {
        let n = points.len();
        let near = |i: usize, j: usize| {
            let (a, b) = (points[i], points[j]);
            let (dx, dy) = (a.x() - b.x(), a.y() - b.y());
            dx * dx + dy * dy <= eps * eps
        };
        let core: Vec<bool> = (0..n)
            .map(|i| (0..n).filter(|&j| near(i, j)).count() >= min)
            .collect();
        let mut sets = UnionFind::new(n);
        for i in 0..n {
            for j in 0..n {
                if core[i] && core[j] && near(i, j) {
                    sets.union(i, j);
                }
            }
        }
        let comp: Vec<Option<usize>> = (0..n).map(|i| core[i].then(|| sets.find(i))).collect();
        let reachable = (0..n)
            .map(|i| {
                let mut r: Vec<usize> = (0..n)
                    .filter(|&j| near(i, j))
                    .filter_map(|j| comp[j])
                    .collect();
                r.sort_unstable();
                r.dedup();
                r
            })
            .collect();
        Brute {
            core,
            comp,
            reachable,
        }
    }

    fn assert_matches_brute(points: &[Point<f64>], eps: f64, min: usize, got: &Clustering) {
        let want = brute(points, eps, min);
        assert_eq!(got.is_core(), &want.core[..], "core points");
        // Same partition of core points: label <-> component is a bijection.
        let mut pairs: Vec<(usize, usize)> = (0..points.len())
            .filter(|&i| want.core[i])
            .map(|i| {
                (
                    got.labels()[i].unwrap_or(usize::MAX),
                    want.comp[i].unwrap_or(usize::MAX),
                )
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut comps: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        comps.sort_unstable();
        comps.dedup();
        assert_eq!(pairs.len(), comps.len(), "one label per component");
        assert_eq!(pairs.len(), got.cluster_count(), "cluster count");
        assert!(
            pairs.windows(2).all(|w| w[0].0 != w[1].0),
            "one component per label"
        );
        let label_of_comp = |c: usize| pairs.iter().find(|p| p.1 == c).map(|p| p.0);
        for i in 0..points.len() {
            let options: Vec<usize> = want.reachable[i]
                .iter()
                .filter_map(|&c| label_of_comp(c))
                .collect();
            match got.labels()[i] {
                None => assert!(
                    options.is_empty(),
                    "point {i} is noise but reaches a cluster"
                ),
                Some(l) => assert_eq!(
                    Some(l),
                    options.iter().copied().min(),
                    "point {i}: lowest reachable cluster"
                ),
            }
        }
    }

    fn rd(xy: &[(f64, f64)]) -> Vec<Point<f64>> {
        xy.iter().map(|&(x, y)| Point::new(x, y)).collect()
    }

    /// A group of `n` clients on a 25 m grid around `(x, y)`.
    fn group(x: f64, y: f64, n: usize) -> Vec<Point<f64>> {
        (0..n)
            .map(|i| Point::new(x + 25.0 * (i % 3) as f64, y + 25.0 * (i / 3) as f64))
            .collect()
    }

    #[test]
    fn two_groups_900_m_apart_are_two_clusters_at_800_m_walking() {
        let mut points = group(155_000.0, 463_000.0, 6);
        points.extend(group(155_950.0, 463_000.0, 6)); // nearest pair: 900 m apart
        let c = Dbscan::new(800.0, 5)
            .unwrap()
            .cluster(&StraightLine, &points);
        assert_eq!(c.cluster_count(), 2);
        assert!(c.labels()[..6].iter().all(|l| *l == Some(0)));
        assert!(c.labels()[6..].iter().all(|l| *l == Some(1)));
        let c = Dbscan::new(1_000.0, 5)
            .unwrap()
            .cluster(&StraightLine, &points);
        assert_eq!(c.cluster_count(), 1);
        assert!(c.labels().iter().all(|l| *l == Some(0)));
    }

    #[test]
    fn empty_input_gives_no_clusters() {
        let c = Dbscan::default().cluster(&StraightLine, &[]);
        assert_eq!(c, Clustering::default());
        assert_eq!(
            Dbscan::default().cluster(&Disguised, &[]),
            Clustering::default()
        );
    }

    #[test]
    fn one_point_is_noise_unless_one_participant_suffices() {
        let points = rd(&[(155_000.0, 463_000.0)]);
        let c = Dbscan::default().cluster(&StraightLine, &points);
        assert_eq!(
            (c.labels(), c.is_core(), c.cluster_count()),
            (&[None][..], &[false][..], 0)
        );
        let c = Dbscan::new(800.0, 1)
            .unwrap()
            .cluster(&StraightLine, &points);
        assert_eq!((c.labels(), c.is_core()), (&[Some(0)][..], &[true][..]));
    }

    #[test]
    fn identical_points_count_each_client_separately() {
        let points = vec![Point::new(155_000.0, 463_000.0); 5];
        let c = Dbscan::default().cluster(&StraightLine, &points);
        assert_eq!(c.labels(), &[Some(0); 5]);
        let c = Dbscan::default().cluster(&StraightLine, &points[..4]);
        assert_eq!(c.labels(), &[None; 4]);
    }

    #[test]
    fn scattered_clients_are_all_noise() {
        let points: Vec<Point<f64>> = (0..50)
            .map(|i| Point::new(1_000.0 * i as f64, 0.0))
            .collect();
        let c = Dbscan::default().cluster(&StraightLine, &points);
        assert_eq!(c.cluster_count(), 0);
        assert!(c.labels().iter().all(Option::is_none));
    }

    #[test]
    fn a_border_point_between_two_clusters_joins_the_lower_numbered_one() {
        // Two clusters of 4 tight points each, 1,200 m apart; the border point in the middle is
        // 600 m from both, but only has 3 neighbours (itself + one of each side).
        let mut points = rd(&[(600.0, 0.0)]);
        points.extend(group(-25.0, 0.0, 1)); // (-25, 0) is 625 m away: not a neighbour
        points.extend(rd(&[
            (0.0, 0.0),
            (-300.0, 0.0),
            (-300.0, 25.0),
            (-325.0, 0.0),
        ]));
        points.extend(rd(&[
            (1_200.0, 0.0),
            (1_500.0, 0.0),
            (1_500.0, 25.0),
            (1_525.0, 0.0),
        ]));
        let c = Dbscan::new(600.0, 4)
            .unwrap()
            .cluster(&StraightLine, &points);
        assert!(!c.is_core()[0]);
        assert_eq!(c.cluster_count(), 2);
        assert_eq!(c.labels()[0], Some(0));
        assert_eq!(c.labels()[0], c.labels()[2]); // the west cluster is numbered first
        assert_matches_brute(&points, 600.0, 4, &c);
    }

    #[test]
    fn points_without_coordinates_are_noise() {
        let mut points = vec![Point::new(f64::NAN, 0.0)];
        points.extend(group(155_000.0, 463_000.0, 5));
        points.push(Point::new(f64::INFINITY, 463_000.0));
        for c in [
            Dbscan::default().cluster(&StraightLine, &points),
            Dbscan::default().cluster(&Disguised, &points),
        ] {
            assert_eq!(c.labels()[0], None);
            assert_eq!(c.labels()[6], None);
            assert!(c.labels()[1..6].iter().all(|l| *l == Some(0)));
        }
    }

    #[test]
    fn unusable_parameters_are_refused() {
        assert!(Dbscan::new(0.0, 5).is_err());
        assert!(Dbscan::new(f64::NAN, 5).is_err());
        assert!(Dbscan::new(-800.0, 5).is_err());
        assert!(Dbscan::new(800.0, 0).is_err());
    }

    #[test]
    fn a_very_fine_grid_falls_back_to_queries_and_still_clusters() {
        let points = rd(&[(0.0, 0.0), (0.0, 1e-3), (1e9, 0.0), (1e9, 1e-3)]);
        let c = Dbscan::new(1e-2, 2)
            .unwrap()
            .cluster(&StraightLine, &points);
        assert_eq!(c.labels(), &[Some(0), Some(0), Some(1), Some(1)]);
    }

    fn points_strategy() -> impl Strategy<Value = Vec<Point<f64>>> {
        prop_oneof![
            // On the 25 m ingest grid: many identical points and exact-eps distances.
            prop::collection::vec((0..120i32, 0..120i32), 0..150).prop_map(|v| v
                .iter()
                .map(|&(x, y)| Point::new(25.0 * x as f64, 25.0 * y as f64))
                .collect()),
            prop::collection::vec((0.0..3_000.0f64, 0.0..3_000.0f64), 0..150)
                .prop_map(|v| v.iter().map(|&(x, y)| Point::new(x, y)).collect()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn grid_dbscan_equals_brute_force(points in points_strategy(), eps in 50.0..700.0f64, min in 1usize..8) {
            let c = Dbscan::new(eps, min).unwrap().cluster(&StraightLine, &points);
            assert_matches_brute(&points, eps, min, &c);
        }

        #[test]
        fn query_dbscan_equals_grid_dbscan(points in points_strategy(), eps in 50.0..700.0f64, min in 1usize..8) {
            let d = Dbscan::new(eps, min).unwrap();
            let by_grid = d.cluster(&StraightLine, &points);
            let by_queries = d.cluster(&Disguised, &points);
            prop_assert_eq!(&by_grid, &by_queries);
            assert_matches_brute(&points, eps, min, &by_queries);
        }

        #[test]
        fn labels_do_not_depend_on_input_order(points in points_strategy(), seed in any::<u64>()) {
            let d = Dbscan::new(400.0, 4).unwrap();
            let before = d.cluster(&StraightLine, &points);
            // A seeded permutation.
            let mut order: Vec<usize> = (0..points.len()).collect();
            let mut s = seed | 1;
            for i in (1..order.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                order.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let shuffled: Vec<Point<f64>> = order.iter().map(|&i| points[i]).collect();
            let after = d.cluster(&StraightLine, &shuffled);
            for (k, &i) in order.iter().enumerate() {
                prop_assert_eq!(after.labels()[k], before.labels()[i]);
                prop_assert_eq!(after.is_core()[k], before.is_core()[i]);
            }
        }
    }
}
