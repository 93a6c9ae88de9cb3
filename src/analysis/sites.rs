//! Candidate circle sites: where, inside each walking-distance cluster, a Buurtcirkel of 5 to
//! 12 participants could meet, with every participant within walking distance of the centre.
//!
//! Input: client positions in RD New (EPSG:28992), metres, a [`Clustering`] of them and a
//! [`WalkingMetric`]. Output: [`Site`]s, each a centre on the 100 m publication grid (RD metres)
//! and the input positions of its participants. Exact participant lists stay in the process;
//! `generalise` publishes a site only as its centre plus the walking radius and a count bucket.
//!
//! This module touches no files, GDAL, tokio or the clock, and is deterministic.

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
    // order, so the result is the sequential one. Largest first, one cluster per task: a
    // city-sized cluster starts at once instead of after the small ones split with it, so the
    // threads finish together (longest-processing-time-first scheduling).
    let members = clustering.members();
    let stencils = metric
        .is_straight_line()
        .then(|| Stencils::new(params))
        .flatten();
    let mut by_size: Vec<usize> = (0..members.len()).collect();
    by_size.sort_unstable_by_key(|&c| (std::cmp::Reverse(members[c].len()), c));
    let mut chosen: Vec<(usize, Vec<Site>)> = by_size
        .par_iter()
        .with_max_len(1)
        .map(|&cluster| {
            let members = &members[cluster];
            let local: Vec<Point<f64>> = members.iter().map(|&i| points[i]).collect();
            let sites = sites_with(metric, &local, params, MAX_LATTICE_CELLS, stencils.as_ref())
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
                .collect();
            (cluster, sites)
        })
        .collect();
    chosen.sort_unstable_by_key(|&(cluster, _)| cluster);
    let per_cluster = chosen.into_iter().map(|(_, sites)| sites);
    per_cluster.into_iter().flatten().collect()
}

/// The greedy choice within one cluster (`local`: its members' positions); returns centres and
/// positions in `local`, in the order chosen. `max_cells` caps the dense raster of
/// [`lattice_counts`] (a parameter so tests reach the sparse path with small clusters).
///
/// The straight line on the clients' lattice takes [`Lattice`] (no R-tree at all); any other
/// metric, or points off the lattice, the neighbour queries of [`generic_greedy`]. Both make
/// the same choice as the lazy max-heap greedy they replace (`oracle_sites_in` in the tests).
#[cfg(test)]
fn sites_of<M: WalkingMetric>(
    metric: &M,
    local: &[Point<f64>],
    params: &SiteParams,
    max_cells: usize,
) -> Vec<(Point<f64>, Vec<usize>)> {
    let stencils = Stencils::new(params);
    sites_with(metric, local, params, max_cells, stencils.as_ref())
}

/// [`sites_of`] with the straight line's [`Stencils`] made by the caller, once for every
/// cluster (`None`: the parameters do not allow them, or another metric).
fn sites_with<M: WalkingMetric>(
    metric: &M,
    local: &[Point<f64>],
    params: &SiteParams,
    max_cells: usize,
    stencils: Option<&Stencils>,
) -> Vec<(Point<f64>, Vec<usize>)> {
    let keys = candidate_keys(local, params.grid_m);
    if keys.is_empty() {
        return Vec::new();
    }
    let candidates: Vec<Point<f64>> = keys
        .iter()
        .map(|&key| candidate_point(key, params.grid_m))
        .collect();
    let chosen = match stencils
        .filter(|_| metric.is_straight_line())
        .and_then(|st| Lattice::new(local, &keys, &candidates, st, max_cells))
    {
        Some(lattice) => lattice.greedy(params),
        None => {
            let near = metric.prepare(local);
            generic_greedy(&near, local, &candidates, params, metric.is_straight_line())
        }
    };
    chosen
        .into_iter()
        .map(|(k, participants)| (candidates[k], participants))
        .collect()
}

/// The greedy maximum coverage shared by both paths; returns `(candidate, participants)` in
/// the order chosen.
///
/// - `count[k]`: the members within walking distance of candidate `k`; kept current by
///   `assign(j, count)`, which decrements the candidates that cover member `j` when it is
///   assigned (counts only go down).
/// - `covered(k, count[k], assigned, out)`: the number of unassigned members within walking
///   distance of candidate `k`, the authority: when it differs from `count[k]` the count is
///   corrected and the candidate re-queued, as the heap version did. When it equals, `out`
///   holds `(distance, member)` for a subset of them that contains the `max_participants`
///   nearest (ties by position), or all of them.
///
/// A bucket queue replaces the lazy max-heap: `buckets[c]` holds candidates whose count was
/// `c` when queued. The highest non-empty bucket is taken in ascending candidate order (the
/// heap's tie rule: highest count, then lowest index); an entry whose count has gone down
/// since is moved to its current bucket when reached, as the heap re-pushed a stale top. No
/// bucket gains entries while it is the highest (counts only go down), so one sort per bucket
/// keeps the order, and each candidate is queued at most once at a time.
fn greedy<C: Counts>(
    mut count: C,
    candidates: usize,
    members: usize,
    params: &SiteParams,
    mut covered: impl FnMut(usize, usize, &[bool], &mut Vec<(f64, usize)>) -> usize,
    mut assign: impl FnMut(usize, &mut C),
) -> Vec<(usize, Vec<usize>)> {
    let min = params.min_participants;
    let top = (0..candidates).map(|k| count.get(k)).max().unwrap_or(0);
    let mut found = Vec::new();
    if top < min {
        return found;
    }
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); top + 1];
    for k in 0..candidates {
        let n = count.get(k);
        if n >= min {
            buckets[n].push(k);
        }
    }
    let mut assigned = vec![false; members];
    let mut by_distance: Vec<(f64, usize)> = Vec::new();
    let mut level = top;
    let mut queue = std::mem::take(&mut buckets[level]);
    let mut pos = 0;
    loop {
        if pos == queue.len() {
            loop {
                if level <= min {
                    return found;
                }
                level -= 1;
                if !buckets[level].is_empty() {
                    break;
                }
            }
            queue = std::mem::take(&mut buckets[level]);
            queue.sort_unstable();
            pos = 0;
            continue;
        }
        let k = queue[pos];
        let now = count.get(k);
        if now != level {
            // Stale: the count went down since it was queued.
            pos += 1;
            if now >= min {
                buckets[now].push(k);
            }
            continue;
        }
        let n = covered(k, now, &assigned, &mut by_distance);
        if n != now {
            // The query is the authority; a boundary rounding difference only re-queues.
            count.set(k, n);
            pos += 1;
            if n > level {
                // Higher than every queued count: it is the best now. Put the rest back.
                buckets[level] = queue.split_off(pos);
                if buckets.len() <= n {
                    buckets.resize_with(n + 1, Vec::new);
                }
                level = n;
                queue = vec![k];
                pos = 0;
            } else if n >= min {
                buckets[n].push(k);
            }
            continue;
        }
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
            assign(j, &mut count);
        }
        found.push((k, by_distance.iter().map(|&(_, j)| j).collect()));
        // `k` stays at the head: it is taken again while its count is still `level`.
    }
}

/// The running coverage counts of [`greedy`], by candidate index.
trait Counts {
    fn get(&self, k: usize) -> usize;
    fn set(&mut self, k: usize, n: usize);
}

impl Counts for Vec<usize> {
    fn get(&self, k: usize) -> usize {
        self[k]
    }
    fn set(&mut self, k: usize, n: usize) {
        self[k] = n;
    }
}

/// Counts kept in the layout of a [`CandidateLookup`] (`at[slot[k]]`), so the decrement of
/// one stencil row is a pass over contiguous counters instead of one scattered update per
/// candidate; the slots of the lookup that hold no candidate gather sums no key reads.
struct SlotCounts {
    slot: Vec<u32>,
    at: Vec<u32>,
}

impl Counts for SlotCounts {
    fn get(&self, k: usize) -> usize {
        self.at[self.slot[k] as usize] as usize
    }
    fn set(&mut self, k: usize, n: usize) {
        // Counts never exceed the members, at most `u32::MAX` (`Lattice::new`).
        self.at[self.slot[k] as usize] = n as u32;
    }
}

/// The greedy choice through the metric's neighbour queries and an R-tree of the candidates:
/// any metric, and straight-line points off the clients' lattice.
fn generic_greedy<N: Neighbourhood>(
    near: &N,
    local: &[Point<f64>],
    candidates: &[Point<f64>],
    params: &SiteParams,
    straight_line: bool,
) -> Vec<(usize, Vec<usize>)> {
    let walk = params.walk_m;
    let lattice = straight_line
        .then(|| lattice_counts(local, candidates, walk))
        .flatten();
    let count = match lattice {
        Some(counts) => counts,
        None => {
            let mut scratch = Vec::new();
            candidates
                .iter()
                .map(|&c| near.count_within(c, walk, &mut scratch))
                .collect()
        }
    };
    let candidate_index = PointIndex::new(candidates);
    let mut scratch = Vec::new();
    greedy(
        count,
        candidates.len(),
        local.len(),
        params,
        |k, now, assigned, out| {
            near.neighbours_of(candidates[k], walk, &mut scratch);
            scratch.retain(|&j| !assigned[j]);
            out.clear();
            if scratch.len() == now {
                let centre = candidates[k];
                out.extend(scratch.iter().map(|&j| (near.distance_from(centre, j), j)));
            }
            scratch.len()
        },
        |j, count| {
            // Straight-line distance never exceeds walking distance, so the R-tree finds a
            // superset of the candidates that covered j; the metric decides.
            for k2 in candidate_index.within_distance(local[j], walk) {
                if near.distance_from(candidates[k2], j) <= walk {
                    count[k2] = count[k2].saturating_sub(1);
                }
            }
        },
    )
}

/// Side, in lattice cells, of the member tiles of [`Lattice`] (1.6 km at the 25 m snap: of
/// 16, 32 and 64, the fastest greedy on national clients).
const MEMBER_TILE: i64 = 64;

/// Most entries of the candidate stencils of [`Lattice`] together (their size grows with
/// `(walk_m / 25 m)²`); a longer walk takes [`generic_greedy`].
const MAX_STENCIL: usize = 1 << 20;

/// The straight line on the clients' 25 m lattice, without R-trees.
///
/// Members sit at `25·q` (`q` integer, [`crate::model::CLIENT_SNAP_M`]), candidates at
/// `25·g·i + 12.5` (`g = grid_m / 25`, the publication grid's offset), so a difference
/// `candidate - member` is `25·(g·i - q) + 12.5`, exact in `f64`. Whether candidate `i` covers
/// member `q` therefore depends only on `g·i - q`: with `q = g·b + r` (`0 <= r < g`), the
/// candidates `b + d` that cover it are a fixed stencil of offsets `d` per residue `r`,
/// evaluated once with the very `f64` tests the R-tree version applied to each pair
/// (`dx² + dy² <= walk²` for coverage, plus `hypot(dx, dy) <= walk` for the decrement).
/// A member's decrement is then a walk over its stencil through a candidate lookup, and the
/// members a candidate covers are, per lattice row, one run of columns in the members
/// sorted by row and column.
struct Lattice<'a> {
    local: &'a [Point<f64>],
    candidates: &'a [Point<f64>],
    keys: &'a [(i64, i64)],
    /// What depends on the walk and the grid only, shared by every cluster.
    st: &'a Stencils,
    /// Lattice position of every member.
    cells: Vec<(i64, i64)>,
    /// Members by tile of [`MEMBER_TILE`] x [`MEMBER_TILE`] lattice cells, tiles in (row,
    /// column) order, within a tile by (row, column, position); `yx` their cells as (y, x).
    /// A query reads the few tiles around a candidate as contiguous memory: sorted by lattice
    /// row alone, each of its 65 rows was a search through a row as wide as the cluster.
    order: Vec<usize>,
    yx: Vec<(i64, i64)>,
    /// The non-empty tiles: tile column and first position in `order` (one more entry
    /// closes the last tile).
    tile_x: Vec<i64>,
    tile_start: Vec<usize>,
    /// `tile_rows[ty - ty0]..tile_rows[ty - ty0 + 1]`: the tiles of tile row `ty`.
    tile_rows: Vec<usize>,
    ty0: i64,
    lookup: CandidateLookup,
    max_cells: usize,
}

/// The stencils of [`Lattice`]: they depend only on the walking distance and the candidate
/// spacing, so [`find_sites`] makes them once for all clusters.
struct Stencils {
    walk_m: f64,
    /// `g`: candidate spacing in lattice steps.
    g: i64,
    /// Per row offset `t` from a candidate, the member column offsets `[lo, hi]` it covers.
    runs: Vec<(i64, i64, i64)>,
    /// The same by `t + reach` (`(1, 0)`: no run), and the box `[t_lo, t_hi] x [s_lo, s_hi]`
    /// of all runs.
    run_at: Vec<(i64, i64)>,
    runs_box: (i64, i64, i64, i64),
    /// Per residue `r.0 * g + r.1`: candidate offsets covering (`cover`) and decremented by
    /// (`decrement`) a member of that residue, as row runs `(dj, lo, hi)` (every offset
    /// `(di, dj)` with `lo <= di <= hi`; [`offset_runs`]), so a member's candidates are read
    /// as a few contiguous slices of the lookup instead of one lookup per candidate.
    cover: Vec<Vec<(i64, i64, i64)>>,
    decrement: Vec<Vec<(i64, i64, i64)>>,
    /// `cover` minus `decrement`: almost always empty.
    skipped: Vec<Vec<(i64, i64, i64)>>,
    /// Offsets in `cover[0]` (the stencil walk's cost per member cell).
    cover_len: usize,
    /// Every covered cell `(t, s)` of `runs` with its distance `hypot(25·s + 12.5,
    /// 25·t + 12.5)` (the `straight` of the pair), nearest first.
    by_distance: Vec<(f64, i64, i64)>,
    /// `distance[(t + reach) * width + (s + reach + 1)]`: the same distances as a table.
    distance: Vec<f64>,
    reach: i64,
    width: usize,
}

/// Candidate index by grid key: a lookup is O(1) for the first two variants.
enum CandidateLookup {
    /// `raster[(j - j0) * w + (i - i0)]`, `u32::MAX` where there is no candidate; used up to
    /// the cap on raster cells ([`MAX_LATTICE_CELLS`] outside tests) or twice the candidates.
    Dense {
        raster: Vec<u32>,
        i0: i64,
        j0: i64,
        w: i64,
        h: i64,
    },
    /// A box too large for one raster (a cluster spanning a province): the box is cut into
    /// tiles of `TILE x TILE` keys, `slots[(bj * tw + bi)]` names the tile of block `(bi, bj)`
    /// (`u32::MAX`: no candidate in it) and `tiles[tile * TILE² + (dj * TILE + di)]` holds the
    /// candidate, so only blocks that hold candidates take memory.
    Tiled {
        slots: Vec<u32>,
        tiles: Vec<u32>,
        i0: i64,
        j0: i64,
        tw: i64,
        th: i64,
    },
    /// `columns[i - i0]..columns[i - i0 + 1]`: the candidates of column `i` (keys are
    /// sorted by `(i, j)`), searched by `j`; only for boxes so sparse that even the tiles'
    /// block table would outgrow the candidates.
    Columns { columns: Vec<usize>, i0: i64 },
}

/// Side, in keys, of a tile of [`CandidateLookup::Tiled`] (1 KiB of `u32` per tile).
const TILE: i64 = 16;

/// Tiles of [`TILE`] keys over `n` keys (`n > 0`).
fn tiles_over(n: i64) -> i64 {
    (n - 1) / TILE + 1
}

/// The box of `keys`: `(i0, j0, w, h)`, `None` when empty or when it overflows.
fn key_box(keys: &[(i64, i64)]) -> Option<(i64, i64, i64, i64)> {
    let (mut i0, mut j0, mut i1, mut j1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for &(i, j) in keys {
        i0 = i0.min(i);
        j0 = j0.min(j);
        i1 = i1.max(i);
        j1 = j1.max(j);
    }
    let w = i1.checked_sub(i0)?.checked_add(1)?;
    let h = j1.checked_sub(j0)?.checked_add(1)?;
    Some((i0, j0, w, h))
}

impl CandidateLookup {
    /// The dense raster when the box holds at most `max(max_cells, 2·keys)` cells, else tiles
    /// when their block table stays within `4·keys + 64` slots, else columns; `None` for
    /// more than `u32::MAX - 1` keys or a box that even columns cannot hold.
    fn new(keys: &[(i64, i64)], max_cells: usize) -> Option<CandidateLookup> {
        let (_, _, w, h) = key_box(keys)?;
        if u32::try_from(keys.len()).ok()? == u32::MAX {
            return None;
        }
        let cells = usize::try_from(w.checked_mul(h)?).ok()?;
        if cells <= max_cells.max(2 * keys.len()) {
            return CandidateLookup::dense(keys);
        }
        let slots = usize::try_from(tiles_over(w).checked_mul(tiles_over(h))?).ok()?;
        if slots <= 4 * keys.len() + 64 {
            return CandidateLookup::tiled(keys);
        }
        CandidateLookup::columns(keys)
    }

    fn dense(keys: &[(i64, i64)]) -> Option<CandidateLookup> {
        let (i0, j0, w, h) = key_box(keys)?;
        let cells = usize::try_from(w.checked_mul(h)?).ok()?;
        let mut raster = vec![u32::MAX; cells];
        for (k, &(i, j)) in keys.iter().enumerate() {
            raster[((j - j0) * w + (i - i0)) as usize] = u32::try_from(k).ok()?;
        }
        Some(CandidateLookup::Dense {
            raster,
            i0,
            j0,
            w,
            h,
        })
    }

    fn tiled(keys: &[(i64, i64)]) -> Option<CandidateLookup> {
        let (i0, j0, w, h) = key_box(keys)?;
        let (tw, th) = (tiles_over(w), tiles_over(h));
        let mut slots = vec![u32::MAX; usize::try_from(tw.checked_mul(th)?).ok()?];
        let area = (TILE * TILE) as usize;
        let mut tiles: Vec<u32> = Vec::new();
        for (k, &(i, j)) in keys.iter().enumerate() {
            let (di, dj) = (i - i0, j - j0);
            let slot = &mut slots[((dj / TILE) * tw + di / TILE) as usize];
            if *slot == u32::MAX {
                *slot = u32::try_from(tiles.len() / area).ok()?;
                tiles.resize(tiles.len() + area, u32::MAX);
            }
            let at = *slot as usize * area + ((dj % TILE) * TILE + di % TILE) as usize;
            tiles[at] = u32::try_from(k).ok()?;
        }
        Some(CandidateLookup::Tiled {
            slots,
            tiles,
            i0,
            j0,
            tw,
            th,
        })
    }

    fn columns(keys: &[(i64, i64)]) -> Option<CandidateLookup> {
        let (i0, _, w, _) = key_box(keys)?;
        let columns_len = usize::try_from(w).ok()?.checked_add(1)?;
        if columns_len > 4 * keys.len() + 64 {
            return None;
        }
        let mut columns = vec![0usize; columns_len];
        for &(i, _) in keys {
            columns[(i - i0) as usize + 1] += 1;
        }
        for c in 1..columns.len() {
            columns[c] += columns[c - 1];
        }
        Some(CandidateLookup::Columns { columns, i0 })
    }

    /// The slot of every key (its place in the raster, the tiles or the keys) and the number
    /// of slots: the layout of [`SlotCounts`].
    fn slots(&self, keys: &[(i64, i64)]) -> (Vec<u32>, usize) {
        let mut slot = vec![0u32; keys.len()];
        let len = match self {
            CandidateLookup::Dense { raster, .. } => raster.len(),
            CandidateLookup::Tiled { tiles, .. } => tiles.len(),
            CandidateLookup::Columns { .. } => keys.len(),
        };
        for (k, &(i, j)) in keys.iter().enumerate() {
            self.each_slot_run(keys, j, i, i, |s, _| slot[k] = s as u32);
        }
        (slot, len)
    }

    /// Calls `f(start, end)` with the slots of the keys `(i, j)`, `lo <= i <= hi`, as
    /// contiguous ranges (slots without a candidate included) in ascending `i`.
    #[inline]
    fn each_slot_run(
        &self,
        keys: &[(i64, i64)],
        j: i64,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(usize, usize),
    ) {
        match self {
            CandidateLookup::Dense { i0, j0, w, h, .. } => {
                let dj = j - j0;
                let (a, b) = ((lo - i0).max(0), (hi - i0).min(w - 1));
                if dj < 0 || dj >= *h || a > b {
                    return;
                }
                let row = (dj * w) as usize;
                f(row + a as usize, row + b as usize + 1);
            }
            CandidateLookup::Tiled {
                slots,
                i0,
                j0,
                tw,
                th,
                ..
            } => {
                let dj = j - j0;
                let (mut a, b) = ((lo - i0).max(0), (hi - i0).min(tw * TILE - 1));
                if dj < 0 || dj >= th * TILE {
                    return;
                }
                let (block_row, in_row) = ((dj / TILE) * tw, (dj % TILE) * TILE);
                while a <= b {
                    let end = ((a / TILE + 1) * TILE - 1).min(b);
                    let slot = slots[(block_row + a / TILE) as usize];
                    if slot != u32::MAX {
                        let base = slot as usize * (TILE * TILE) as usize + in_row as usize;
                        f(base + (a % TILE) as usize, base + (end % TILE) as usize + 1);
                    }
                    a = end + 1;
                }
            }
            CandidateLookup::Columns { .. } => self.each_in_row(keys, j, lo, hi, |k| f(k, k + 1)),
        }
    }

    /// The candidate with key `(i, j)`: [`CandidateLookup::each_in_row`] over one key.
    #[cfg(test)]
    fn get(&self, keys: &[(i64, i64)], i: i64, j: i64) -> Option<usize> {
        let mut found = None;
        self.each_in_row(keys, j, i, i, |k| found = Some(k));
        found
    }

    /// Calls `f` with every candidate whose key is `(i, j)` for `lo <= i <= hi`, in
    /// ascending `i`, read as contiguous slices of the raster or of each tile the run crosses
    /// (columns: one search per column).
    #[inline]
    fn each_in_row(&self, keys: &[(i64, i64)], j: i64, lo: i64, hi: i64, mut f: impl FnMut(usize)) {
        match self {
            CandidateLookup::Dense {
                raster,
                i0,
                j0,
                w,
                h,
            } => {
                let dj = j - j0;
                let (a, b) = ((lo - i0).max(0), (hi - i0).min(w - 1));
                if dj < 0 || dj >= *h || a > b {
                    return;
                }
                let row = (dj * w) as usize;
                for &k in &raster[row + a as usize..=row + b as usize] {
                    if k != u32::MAX {
                        f(k as usize);
                    }
                }
            }
            CandidateLookup::Tiled {
                slots,
                tiles,
                i0,
                j0,
                tw,
                th,
            } => {
                let dj = j - j0;
                let (mut a, b) = ((lo - i0).max(0), (hi - i0).min(tw * TILE - 1));
                if dj < 0 || dj >= th * TILE {
                    return;
                }
                let (block_row, in_row) = ((dj / TILE) * tw, (dj % TILE) * TILE);
                while a <= b {
                    let end = ((a / TILE + 1) * TILE - 1).min(b);
                    let slot = slots[(block_row + a / TILE) as usize];
                    if slot != u32::MAX {
                        let base = slot as usize * (TILE * TILE) as usize + in_row as usize;
                        for &k in &tiles[base + (a % TILE) as usize..=base + (end % TILE) as usize]
                        {
                            if k != u32::MAX {
                                f(k as usize);
                            }
                        }
                    }
                    a = end + 1;
                }
            }
            CandidateLookup::Columns { columns, i0 } => {
                let (a, b) = ((lo - i0).max(0), (hi - i0).min(columns.len() as i64 - 2));
                for c in a..=b {
                    let (s, e) = (columns[c as usize], columns[c as usize + 1]);
                    let at = s + keys[s..e].partition_point(|&(_, kj)| kj < j);
                    if at < e && keys[at].1 == j {
                        f(at);
                    }
                }
            }
        }
    }
}

/// `offsets` `(di, dj)` as maximal runs `(dj, lo, hi)`, sorted by row: the same set.
fn offset_runs(mut offsets: Vec<(i64, i64)>) -> Vec<(i64, i64, i64)> {
    offsets.sort_unstable_by_key(|&(di, dj)| (dj, di));
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    for (di, dj) in offsets {
        match runs.last_mut() {
            Some((j, _, hi)) if *j == dj && *hi + 1 == di => *hi = di,
            _ => runs.push((dj, di, di)),
        }
    }
    runs
}

impl Stencils {
    /// `None` unless the candidate spacing is a whole number `g` of lattice steps, the
    /// candidates sit on the half-offset lattice and the stencils stay small.
    fn new(params: &SiteParams) -> Option<Stencils> {
        const STEP: f64 = crate::model::CLIENT_SNAP_M;
        const HALF: f64 = STEP / 2.0;
        let walk = params.walk_m;
        let ratio = params.grid_m / STEP;
        if ratio.fract() != 0.0 || !(1.0..=1e6).contains(&ratio) || ratio * STEP != params.grid_m {
            return None;
        }
        let g = ratio as i64;
        let span = 2.0 * walk / STEP + 2.0 * ratio + 6.0;
        let small = span * span <= MAX_STENCIL as f64; // false for NaN too
        if !small || HALF != super::grid::PUBLISH_GRID_OFFSET_M {
            return None;
        }
        let r2 = walk * walk;
        // The same runs as `lattice_counts`: at row offset t, member column offsets [lo, hi].
        let reach = (walk / STEP).ceil() as i64 + 1;
        let runs: Vec<(i64, i64, i64)> = (-reach..=reach)
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
        // Candidate offsets d around member q = g·b + r: the difference is 25·(g·d - r) + 12.5.
        let reach_c = (walk / (STEP * ratio)).ceil() as i64 + 2;
        let width = (2 * reach + 3) as usize;
        let mut distance = vec![f64::INFINITY; (2 * reach + 1) as usize * width];
        let mut by_distance = Vec::new();
        for &(t, lo, hi) in &runs {
            let dy = t as f64 * STEP + HALF;
            for s in lo..=hi {
                let d = (s as f64 * STEP + HALF).hypot(dy);
                distance[(t + reach) as usize * width + (s + reach + 1) as usize] = d;
                by_distance.push((d, t, s));
            }
        }
        by_distance.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut cover = Vec::with_capacity((g * g) as usize);
        let mut decrement = Vec::with_capacity((g * g) as usize);
        let mut skipped = Vec::with_capacity((g * g) as usize);
        for rx in 0..g {
            for ry in 0..g {
                let (mut c, mut d, mut e) = (Vec::new(), Vec::new(), Vec::new());
                for di in -reach_c..=reach_c {
                    let dx = (g * di - rx) as f64 * STEP + HALF;
                    for dj in -reach_c..=reach_c {
                        let dy = (g * dj - ry) as f64 * STEP + HALF;
                        if dx * dx + dy * dy <= r2 {
                            c.push((di, dj));
                            if dx.hypot(dy) <= walk {
                                d.push((di, dj));
                            } else {
                                e.push((di, dj));
                            }
                        }
                    }
                }
                cover.push(offset_runs(c));
                decrement.push(offset_runs(d));
                skipped.push(offset_runs(e));
            }
        }
        let cover_len = cover.first().map_or(0, |runs| {
            runs.iter().map(|&(_, lo, hi)| (hi - lo + 1) as usize).sum()
        });
        let mut run_at = vec![(1, 0); (2 * reach + 1) as usize];
        let mut runs_box = (i64::MAX, i64::MIN, i64::MAX, i64::MIN);
        for &(t, lo, hi) in &runs {
            run_at[(t + reach) as usize] = (lo, hi);
            runs_box = (
                runs_box.0.min(t),
                runs_box.1.max(t),
                runs_box.2.min(lo),
                runs_box.3.max(hi),
            );
        }
        Some(Stencils {
            walk_m: walk,
            g,
            runs,
            run_at,
            runs_box,
            cover,
            cover_len,
            decrement,
            skipped,
            by_distance,
            distance,
            reach,
            width,
        })
    }
}

impl<'a> Lattice<'a> {
    /// `None` unless every member is on the lattice and every candidate on the half-offset
    /// lattice of the stencils' spacing.
    fn new(
        local: &'a [Point<f64>],
        keys: &'a [(i64, i64)],
        candidates: &'a [Point<f64>],
        st: &'a Stencils,
        max_cells: usize,
    ) -> Option<Lattice<'a>> {
        const STEP: f64 = crate::model::CLIENT_SNAP_M;
        const HALF: f64 = STEP / 2.0;
        let g = st.g;
        // Candidate i must sit exactly at 25·g·i + 12.5 (true for the grid `candidates` makes).
        let on_grid = |k: i64, v: f64| k.checked_mul(g).map(|a| a as f64 * STEP + HALF == v);
        for (&(i, j), c) in keys.iter().zip(candidates) {
            if on_grid(i, c.x()) != Some(true) || on_grid(j, c.y()) != Some(true) {
                return None;
            }
        }
        // Counts are kept as `u32` (`SlotCounts`).
        u32::try_from(local.len()).ok()?;
        let index = |v: f64| -> Option<i64> {
            let q = v / STEP;
            (q.is_finite() && q.fract() == 0.0 && q.abs() < 1e12 && (q * STEP) == v)
                .then_some(q as i64)
        };
        let mut cells = Vec::with_capacity(local.len());
        for p in local {
            cells.push((index(p.x())?, index(p.y())?));
        }
        let (y0, y1) = cells
            .iter()
            .fold((i64::MAX, i64::MIN), |(a, b), &(_, y)| (a.min(y), b.max(y)));
        let h = usize::try_from(y1.checked_sub(y0)?.checked_add(1)?).ok()?;
        if h > 4 * local.len() + (1 << 16) {
            return None;
        }
        let tile = |(x, y): (i64, i64)| (y.div_euclid(MEMBER_TILE), x.div_euclid(MEMBER_TILE));
        let x0 = cells.iter().fold(i64::MAX, |a, &(x, _)| a.min(x));
        // (tile row, tile column, row, column) packed in one integer from the box's corner,
        // member index beside it: one sort of plain pairs, not a tuple built per comparison.
        const FIELD: u32 = 24;
        const BITS: u32 = MEMBER_TILE.trailing_zeros();
        const _: () = assert!(1 << BITS == MEMBER_TILE && 2 * (FIELD + BITS) <= 64);
        let packed = |(x, y): (i64, i64)| -> Option<u64> {
            let (ty, tx) = tile((x, y));
            let (ty, tx) = (
                ty - y0.div_euclid(MEMBER_TILE),
                tx - x0.div_euclid(MEMBER_TILE),
            );
            let inside = |v: i64| v.rem_euclid(MEMBER_TILE) as u64;
            (ty < 1 << FIELD && tx < 1 << FIELD).then(|| {
                ((ty as u64) << (FIELD + 2 * BITS))
                    | ((tx as u64) << (2 * BITS))
                    | (inside(y) << BITS)
                    | inside(x)
            })
        };
        // A box wider than 2^24 tiles (never met by a cluster) takes the R-tree path.
        let packed: Vec<u64> = cells.iter().map(|&c| packed(c)).collect::<Option<_>>()?;
        let mut pairs: Vec<(u64, u32)> = packed.into_iter().zip(0u32..).collect();
        pairs.sort_unstable();
        let order: Vec<usize> = pairs.into_iter().map(|(_, m)| m as usize).collect();
        let yx: Vec<(i64, i64)> = order.iter().map(|&m| (cells[m].1, cells[m].0)).collect();
        let ty0 = y0.div_euclid(MEMBER_TILE);
        let th = (y1.div_euclid(MEMBER_TILE) - ty0 + 1) as usize;
        let (mut tile_x, mut tile_start) = (Vec::new(), Vec::new());
        let mut tile_rows = vec![0usize; th + 1];
        let mut last = None;
        for (p, &(y, x)) in yx.iter().enumerate() {
            let here = tile((x, y));
            if last != Some(here) {
                last = Some(here);
                tile_x.push(here.1);
                tile_start.push(p);
                tile_rows[(here.0 - ty0) as usize + 1] += 1;
            }
        }
        tile_start.push(yx.len());
        for r in 1..tile_rows.len() {
            tile_rows[r] += tile_rows[r - 1];
        }
        let lookup = CandidateLookup::new(keys, max_cells)?;
        Some(Lattice {
            local,
            candidates,
            keys,
            st,
            cells,
            order,
            yx,
            tile_x,
            tile_start,
            tile_rows,
            ty0,
            lookup,
            max_cells,
        })
    }

    /// Calls `f` with the positions in `order` (a range) of every non-empty tile of tile row
    /// `ty` whose tile column lies in `[tx0, tx1]`.
    #[inline]
    fn each_tile(&self, ty: i64, tx0: i64, tx1: i64, mut f: impl FnMut(usize, usize)) {
        let r = ty - self.ty0;
        if r < 0 || r + 1 >= self.tile_rows.len() as i64 {
            return;
        }
        let (s, e) = (self.tile_rows[r as usize], self.tile_rows[r as usize + 1]);
        let mut i = s + self.tile_x[s..e].partition_point(|&tx| tx < tx0);
        while i < e && self.tile_x[i] <= tx1 {
            f(self.tile_start[i], self.tile_start[i + 1]);
            i += 1;
        }
    }

    /// The members at lattice cell `(x, y)`.
    fn at_cell(&self, x: i64, y: i64) -> &[usize] {
        let (tx, ty) = (x.div_euclid(MEMBER_TILE), y.div_euclid(MEMBER_TILE));
        let mut found: &[usize] = &[];
        self.each_tile(ty, tx, tx, |s, e| {
            let l = s + self.yx[s..e].partition_point(|&p| p < (y, x));
            let r = l + self.yx[l..e].partition_point(|&p| p == (y, x));
            found = &self.order[l..r];
        });
        found
    }

    /// Stencil of a member at lattice cell `q`, and its base candidate key.
    fn residue(&self, q: (i64, i64)) -> (usize, i64, i64) {
        let (rx, ry) = (q.0.rem_euclid(self.st.g), q.1.rem_euclid(self.st.g));
        (
            (rx * self.st.g + ry) as usize,
            q.0.div_euclid(self.st.g),
            q.1.div_euclid(self.st.g),
        )
    }

    /// Coverage counts in the lookup's layout: the dense row prefix sums of [`lattice_counts`]
    /// when the box is small enough, else every distinct member cell adds its multiplicity
    /// over its stencil.
    fn slot_counts(&self) -> SlotCounts {
        let (slot, len) = self.lookup.slots(self.keys);
        // The raster costs its box (allocated, zeroed, summed) plus a row run per candidate
        // and stencil row; the stencil walk at most one stencil per member. Both count alike.
        let (x0, x1, y0, y1) = self.cells.iter().fold(
            (i64::MAX, i64::MIN, i64::MAX, i64::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
        );
        let box_cells = (x1 - x0 + 1).max(0) as usize * (y1 - y0 + 1).max(0) as usize;
        let dense_cost = box_cells + self.candidates.len() * self.st.runs.len();
        let sparse_cost = self.local.len() * self.st.cover_len;
        if dense_cost <= sparse_cost
            && let Some(counts) =
                lattice_counts_capped(self.local, self.candidates, self.st.walk_m, self.max_cells)
        {
            let mut at = vec![0u32; len];
            for (&s, n) in slot.iter().zip(counts) {
                // Counts never exceed the members, at most `u32::MAX` (`Lattice::new`).
                at[s as usize] = n as u32;
            }
            return SlotCounts { slot, at };
        }
        // Integer sums in any split: a national-sized cluster's walk takes both cores (the
        // other clusters are small), a small one stays one chunk. Each member cell adds its
        // multiplicity over contiguous slot ranges; the slots between candidates gather sums
        // that are never read (no key maps to them), each at most the members.
        let walk = |part: &[usize]| {
            let mut count = vec![0u32; len];
            let mut at = 0;
            while at < part.len() {
                let q = self.cells[part[at]];
                let mut end = at + 1;
                while end < part.len() && self.cells[part[end]] == q {
                    end += 1;
                }
                let (r, bx, by) = self.residue(q);
                let n = (end - at) as u32;
                for &(dj, lo, hi) in &self.st.cover[r] {
                    self.lookup
                        .each_slot_run(self.keys, by + dj, bx + lo, bx + hi, |s, e| {
                            for c in &mut count[s..e] {
                                *c += n;
                            }
                        });
                }
                at = end;
            }
            count
        };
        let chunk = (self.order.len() / rayon::current_num_threads().max(1)).max(1 << 16);
        let at = if self.order.len() <= chunk {
            walk(&self.order)
        } else {
            self.order
                .par_chunks(chunk)
                .map(walk)
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    a
                })
                .unwrap_or_else(|| vec![0; len])
        };
        SlotCounts { slot, at }
    }

    /// Coverage counts by candidate ([`Lattice::slot_counts`] read back by key).
    #[cfg(test)]
    fn counts(&self) -> Vec<usize> {
        let counts = self.slot_counts();
        (0..self.keys.len()).map(|k| counts.get(k)).collect()
    }

    fn greedy(&self, params: &SiteParams) -> Vec<(usize, Vec<usize>)> {
        // Without skipped offsets every count is exact, so the by-distance walk may stop early.
        let dirty = self
            .st
            .skipped
            .iter()
            .any(|s| !s.is_empty())
            .then(|| std::cell::RefCell::new(vec![false; self.keys.len()]));
        greedy(
            self.slot_counts(),
            self.keys.len(),
            self.local.len(),
            params,
            |k, now, assigned, out| {
                out.clear();
                let (a, b) = (self.keys[k].0 * self.st.g, self.keys[k].1 * self.st.g);
                let exact = !dirty.as_ref().is_some_and(|d| d.borrow()[k]);
                if exact && now * 8 > self.st.by_distance.len() {
                    // Dense: walk the cells nearest first, stop after the distance at which
                    // `max_participants` are found (the count is known exact).
                    let mut at = 0;
                    while at < self.st.by_distance.len() {
                        let d = self.st.by_distance[at].0;
                        while at < self.st.by_distance.len() && self.st.by_distance[at].0 == d {
                            let (_, t, s) = self.st.by_distance[at];
                            at += 1;
                            out.extend(
                                self.at_cell(a - s, b - t)
                                    .iter()
                                    .filter(|&&j| !assigned[j])
                                    .map(|&j| (d, j)),
                            );
                        }
                        if out.len() >= params.max_participants {
                            break;
                        }
                    }
                    return now;
                }
                // Every member of the tiles around the runs' box, in the run of its row.
                let (t_lo, t_hi, s_lo, s_hi) = self.st.runs_box;
                let (y_lo, y_hi) = (b - t_hi, b - t_lo);
                let (tx0, tx1) = (
                    (a - s_hi).div_euclid(MEMBER_TILE),
                    (a - s_lo).div_euclid(MEMBER_TILE),
                );
                let reach = self.st.reach;
                for ty in y_lo.div_euclid(MEMBER_TILE)..=y_hi.div_euclid(MEMBER_TILE) {
                    self.each_tile(ty, tx0, tx1, |s, e| {
                        let mut p = s + self.yx[s..e].partition_point(|&(y, _)| y < y_lo);
                        while p < e && self.yx[p].0 <= y_hi {
                            let (y, x) = self.yx[p];
                            let t = b - y;
                            let (lo, hi) = self.st.run_at[(t + reach) as usize];
                            if a - hi <= x && x <= a - lo && !assigned[self.order[p]] {
                                let base = (t + reach) as usize * self.st.width;
                                out.push((
                                    self.st.distance[base + (a - x + reach + 1) as usize],
                                    self.order[p],
                                ));
                            }
                            p += 1;
                        }
                    });
                }
                out.len()
            },
            |j, count| {
                let (r, bx, by) = self.residue(self.cells[j]);
                for &(dj, lo, hi) in &self.st.decrement[r] {
                    self.lookup
                        .each_slot_run(self.keys, by + dj, bx + lo, bx + hi, |s, e| {
                            for c in &mut count.at[s..e] {
                                *c = c.saturating_sub(1);
                            }
                        });
                }
                if let Some(dirty) = &dirty {
                    // Covered but not decremented (the two tests disagree on a boundary):
                    // this candidate's count may now be above the truth.
                    let mut dirty = dirty.borrow_mut();
                    for &(dj, lo, hi) in &self.st.skipped[r] {
                        self.lookup
                            .each_in_row(self.keys, by + dj, bx + lo, bx + hi, |k| dirty[k] = true);
                    }
                }
            },
        )
    }
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
    lattice_counts_capped(local, candidates, walk_m, MAX_LATTICE_CELLS)
}

/// [`lattice_counts`] with the raster capped at `max_cells` cells instead of
/// [`MAX_LATTICE_CELLS`].
fn lattice_counts_capped(
    local: &[Point<f64>],
    candidates: &[Point<f64>],
    walk_m: f64,
    max_cells: usize,
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
    if w.checked_mul(h)? > max_cells {
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
#[cfg(test)]
fn candidates(local: &[Point<f64>], grid_m: f64) -> Vec<Point<f64>> {
    candidate_keys(local, grid_m)
        .into_iter()
        .map(|key| candidate_point(key, grid_m))
        .collect()
}

/// The centre of the candidate with grid key `(i, j)`: `(i·grid_m + offset, j·grid_m + offset)`.
fn candidate_point((i, j): (i64, i64), grid_m: f64) -> Point<f64> {
    let offset = super::grid::PUBLISH_GRID_OFFSET_M;
    Point::new(i as f64 * grid_m + offset, j as f64 * grid_m + offset)
}

/// Grid keys of the candidate centres, sorted (so their centres are sorted by `(x, y)`).
fn candidate_keys(local: &[Point<f64>], grid_m: f64) -> Vec<(i64, i64)> {
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
    if nodes <= 4 * finite.len() as i64 + 64 {
        return (x0..=x1)
            .flat_map(|i| (y0..=y1).map(move |j| (i, j)))
            .collect();
    }
    let corners = |p: &Point<f64>| {
        let (i, j) = (cell(p.x()), cell(p.y()));
        [(i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)]
    };
    if nodes <= MAX_KEY_BITMAP_NODES {
        // One bit per node of the box, in (i, j) order: marking the corners and reading the
        // set bits gives the sorted, deduplicated keys without sorting 4 keys per member
        // (a national cluster's sort of 3.6 million keys took a tenth of the analysis).
        let h = y1 - y0 + 1;
        let mut bits = vec![0u64; (nodes as usize).div_ceil(64)];
        for p in &finite {
            for (i, j) in corners(p) {
                let at = ((i - x0) * h + (j - y0)) as usize;
                bits[at / 64] |= 1 << (at % 64);
            }
        }
        let mut keys = Vec::new();
        for (w, &word) in bits.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let at = (w * 64 + rest.trailing_zeros() as usize) as i64;
                keys.push((x0 + at / h, y0 + at % h));
                rest &= rest - 1;
            }
        }
        return keys;
    }
    let mut keys: Vec<(i64, i64)> = finite.iter().flat_map(corners).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Most nodes of a cluster box whose candidate keys [`candidate_keys`] marks in a bitmap
/// (16 MiB of bits: a box of 1,100 km by 1,100 km at the 100 m grid); a larger box sorts.
const MAX_KEY_BITMAP_NODES: i64 = 1 << 27;

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

    /// The greedy choice as it was before the lattice stencils and the bucket queue (lazy
    /// max-heap, R-tree decrements): the oracle the new paths must agree with exactly.
    fn oracle_sites_in<N: Neighbourhood>(
        near: &N,
        local: &[Point<f64>],
        params: &SiteParams,
        straight_line: bool,
    ) -> Vec<(Point<f64>, Vec<usize>)> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let candidates = candidates(local, params.grid_m);
        let mut covered = Vec::new();
        let lattice = straight_line
            .then(|| lattice_counts(local, &candidates, params.walk_m))
            .flatten();
        let count_of = |k: usize, covered: &mut Vec<usize>| match &lattice {
            Some(counts) => counts[k],
            None => near.count_within(candidates[k], params.walk_m, covered),
        };
        let mut count: Vec<usize> = (0..candidates.len())
            .map(|k| count_of(k, &mut covered))
            .collect();
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
                if count[k] >= params.min_participants {
                    heap.push((count[k], Reverse(k)));
                }
                continue;
            }
            let centre = candidates[k];
            near.neighbours_of(centre, params.walk_m, &mut covered);
            covered.retain(|&j| !assigned[j]);
            if covered.len() != count[k] {
                count[k] = covered.len();
                if count[k] >= params.min_participants {
                    heap.push((count[k], Reverse(k)));
                }
                continue;
            }
            if covered.len() < params.min_participants {
                continue;
            }
            let mut by_distance: Vec<(f64, usize)> = covered
                .iter()
                .map(|&j| (near.distance_from(centre, j), j))
                .collect();
            let nearest_first =
                |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if by_distance.len() > params.max_participants {
                by_distance.select_nth_unstable_by(params.max_participants, nearest_first);
                by_distance.truncate(params.max_participants);
            }
            by_distance.sort_unstable_by(nearest_first);
            for &(_, j) in &by_distance {
                assigned[j] = true;
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

    /// The straight line, but not saying so: takes the generic (neighbour query) path.
    struct Opaque;

    impl WalkingMetric for Opaque {
        type Neighbourhood<'a> = <StraightLine as WalkingMetric>::Neighbourhood<'a>;

        fn prepare<'a>(&'a self, points: &'a [Point<f64>]) -> Self::Neighbourhood<'a> {
            StraightLine.prepare(points)
        }
    }

    /// Snapped clients: blobs (many sharing a cell) and a diagonal chain (a long thin cluster
    /// whose candidates are only the corners of member cells).
    fn snapped(blob: &[(i32, i32)], chain: &[(i32, i32)], off_lattice: bool) -> Vec<Point<f64>> {
        let mut out: Vec<Point<f64>> = blob
            .iter()
            .map(|&(x, y)| (f64::from(x), f64::from(y)))
            .chain(chain.iter().scan((0.0, 0.0), |at, &(dx, dy)| {
                // Steps of 0-2 cells right and up: a diagonal line hundreds of cells long.
                at.0 += f64::from(dx.rem_euclid(3));
                at.1 += f64::from(dy.rem_euclid(3));
                Some((200.0 + at.0, at.1))
            }))
            .map(|(x, y)| Point::new(155_000.0 + 25.0 * x, 463_000.0 + 25.0 * y))
            .collect();
        if off_lattice && !out.is_empty() {
            out[0] = Point::new(out[0].x() + 0.5, out[0].y());
        }
        out
    }

    #[test]
    fn the_new_greedy_chooses_as_the_heap_greedy_on_dense_city_clients() {
        // 6,000 clients around two centres, many per 25 m cell: hundreds of sites, counts in
        // the hundreds, every boundary case of an 800 m walk on the lattice.
        let mut rng = 17u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (rng >> 33) as f64 / (1u64 << 31) as f64
        };
        let local: Vec<Point<f64>> = (0..6_000)
            .map(|i| {
                let (cx, cy) = if i % 3 == 0 {
                    (155_000.0, 463_000.0)
                } else {
                    (156_500.0, 463_700.0)
                };
                let r = (-2.0 * (next() + 1e-12).ln()).sqrt() * 500.0;
                let t = std::f64::consts::TAU * next();
                let snap = |v: f64| (v / 25.0).round() * 25.0;
                Point::new(snap(cx + r * t.cos()), snap(cy + r * t.sin()))
            })
            .collect();
        let params = SiteParams::default();
        let near = StraightLine.prepare(&local);
        let oracle = oracle_sites_in(&near, &local, &params, true);
        assert!(oracle.len() > 300, "{} sites", oracle.len());
        for cap in [MAX_LATTICE_CELLS, 1_000] {
            assert_eq!(
                sites_of(&StraightLine, &local, &params, cap),
                oracle,
                "cap {cap}"
            );
        }
        assert_eq!(
            sites_of(&Opaque, &local, &params, MAX_LATTICE_CELLS),
            oracle
        );
    }

    #[test]
    fn a_cluster_too_large_for_one_chunk_counts_as_the_raster_does() {
        // 150,000 members (more than one chunk of the parallel stencil walk) on a 25 m lattice
        // box too large for the capped raster: the stencil walk's split sums must equal the
        // raster's counts, candidate for candidate.
        let mut seed = 7u64;
        let local: Vec<Point<f64>> = (0..150_000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let (x, y) = ((seed >> 33) % 500, (seed >> 13) % 500);
                Point::new(155_000.0 + 25.0 * x as f64, 463_000.0 + 25.0 * y as f64)
            })
            .collect();
        let params = SiteParams::default();
        let keys = candidate_keys(&local, params.grid_m);
        let cands: Vec<Point<f64>> = keys
            .iter()
            .map(|&k| candidate_point(k, params.grid_m))
            .collect();
        let st = Stencils::new(&params).expect("stencils");
        let lattice = Lattice::new(&local, &keys, &cands, &st, 1_000).expect("on the lattice");
        let want = lattice_counts(&local, &cands, params.walk_m).expect("raster");
        assert!(want.iter().any(|&n| n > 1_000));
        assert_eq!(lattice.counts(), want);
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
        fn candidate_keys_are_the_sorted_distinct_corners_of_the_members_cells(
            pts in prop::collection::vec((-400i64..400, -400i64..400), 1..60),
            spread in prop::sample::select(vec![1.0, 25.0, 1_000.0, 2_000_000.0]),
            grid in prop::sample::select(vec![100.0, 50.0, 37.5]),
        ) {
            // Dense boxes (every node), sparse ones (the bitmap) and a box beyond the
            // bitmap's cap (the sort), against the definition: the four grid nodes around
            // each member, sorted and deduplicated, or every node of a small box.
            let local: Vec<Point<f64>> = pts
                .iter()
                .map(|&(x, y)| Point::new(155_000.0 + spread * x as f64, 463_000.0 + spread * y as f64))
                .collect();
            let offset = crate::analysis::grid::PUBLISH_GRID_OFFSET_M;
            let cell = |v: f64| ((v - offset) / grid).floor() as i64;
            let mut want: Vec<(i64, i64)> = local
                .iter()
                .flat_map(|p| {
                    let (i, j) = (cell(p.x()), cell(p.y()));
                    [(i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)]
                })
                .collect();
            want.sort_unstable();
            want.dedup();
            let (x0, x1) = (want[0].0, want[want.len() - 1].0);
            let (y0, y1) = want.iter().fold((i64::MAX, i64::MIN), |(a, b), &(_, j)| (a.min(j), b.max(j)));
            let nodes = (x1 - x0 + 1) * (y1 - y0 + 1);
            if nodes <= 4 * local.len() as i64 + 64 {
                want = (x0..=x1).flat_map(|i| (y0..=y1).map(move |j| (i, j))).collect();
            }
            prop_assert_eq!(candidate_keys(&local, grid), want);
        }

        #[test]
        fn every_candidate_lookup_finds_exactly_the_keys_it_holds(
            raw in prop::collection::vec((-70i64..70, -70i64..70), 1..120),
            spread in prop::sample::select(vec![1i64, 7, 1000]),
        ) {
            // Keys spread over boxes from compact to very sparse; probes in and around the box.
            let mut keys: Vec<(i64, i64)> = raw.iter().map(|&(i, j)| (i * spread, j * spread)).collect();
            keys.sort_unstable();
            keys.dedup();
            // Each variant where its memory stays small (as `new` chooses them), and `new`.
            let (_, _, w, h) = key_box(&keys).expect("a box");
            let cells = w * h;
            let slots = tiles_over(w) * tiles_over(h);
            let lookups: Vec<CandidateLookup> = [
                (cells <= 1 << 20).then(|| CandidateLookup::dense(&keys)).flatten(),
                (slots <= 1 << 20).then(|| CandidateLookup::tiled(&keys)).flatten(),
                CandidateLookup::columns(&keys),
                CandidateLookup::new(&keys, 16),
            ]
            .into_iter()
            .flatten()
            .collect();
            // (Two keys 39 km by 36 km apart build none: such a cluster takes the R-tree path.)
            // Every key has its own slot within the layout.
            let layouts: Vec<(Vec<u32>, usize)> = lookups.iter().map(|l| l.slots(&keys)).collect();
            for (slot, slots) in &layouts {
                let mut seen = slot.clone();
                seen.sort_unstable();
                seen.dedup();
                prop_assert_eq!(seen.len(), keys.len());
                prop_assert!(slot.iter().all(|&s| (s as usize) < *slots));
            }
            let mut probes: Vec<(i64, i64)> = keys.clone();
            for &(i, j) in &keys {
                probes.extend([(i + 1, j), (i, j - 1), (i - 17, j + 16), (i + 33, j)]);
            }
            probes.extend([(i64::MIN / 4, 0), (0, i64::MAX / 4)]);
            for &(i, j) in &probes {
                let want = keys.binary_search(&(i, j)).ok();
                for lookup in &lookups {
                    prop_assert_eq!(lookup.get(&keys, i, j), want, "key ({}, {})", i, j);
                }
                // A row run from here: the keys in it, in order.
                for len in [0i64, 1, 15, 40] {
                    let want: Vec<usize> = (i..=i + len)
                        .filter_map(|x| keys.binary_search(&(x, j)).ok())
                        .collect();
                    for (lookup, (slot, slots)) in lookups.iter().zip(&layouts) {
                        let mut got = Vec::new();
                        lookup.each_in_row(&keys, j, i, i + len, |k| got.push(k));
                        prop_assert_eq!(&got, &want, "run ({}..={}, {})", i, i + len, j);
                        // The same run as slot ranges of `SlotCounts`: exactly these keys' slots.
                        let mut in_ranges: Vec<usize> = Vec::new();
                        lookup.each_slot_run(&keys, j, i, i + len, |a, b| {
                            assert!(a < b && b <= *slots, "slot range {a}..{b} of {slots}");
                            in_ranges.extend((0..keys.len()).filter(|&k| (a..b).contains(&(slot[k] as usize))));
                        });
                        prop_assert_eq!(&in_ranges, &want, "slots of ({}..={}, {})", i, i + len, j);
                    }
                }
            }
        }

        #[test]
        fn the_new_greedy_chooses_exactly_as_the_heap_greedy(
            blob in prop::collection::vec((0..60i32, 0..60i32), 0..200),
            chain in prop::collection::vec((0..3i32, 0..3i32), 0..200),
            walk_steps in 2u32..48,
            round_walk in prop::bool::ANY,
            min in 1usize..7,
            max_extra in 0usize..8,
            grid in prop::sample::select(vec![100.0, 50.0, 25.0, 37.5]),
            cap in prop::sample::select(vec![16usize, 400, MAX_LATTICE_CELLS]),
            off_lattice in prop::bool::ANY,
        ) {
            // Walking distances on the lattice's boundary (multiples of 25 m) and between;
            // small caps force the sparse counts and the column lookup of the candidates;
            // one point off the lattice, or a grid off the half-lattice, the generic path.
            let walk = if round_walk { 25.0 * f64::from(walk_steps) } else { 25.0 * f64::from(walk_steps) + 7.3 };
            let local = snapped(&blob, &chain, off_lattice && blob.len() % 4 == 0);
            let params = SiteParams {
                walk_m: walk,
                min_participants: min,
                max_participants: min + max_extra,
                grid_m: grid,
            };
            let near = StraightLine.prepare(&local);
            let oracle = oracle_sites_in(&near, &local, &params, true);
            prop_assert_eq!(&sites_of(&StraightLine, &local, &params, cap), &oracle);
            let opaque = oracle_sites_in(&near, &local, &params, false);
            prop_assert_eq!(&opaque, &oracle);
            prop_assert_eq!(&sites_of(&Opaque, &local, &params, cap), &opaque);
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
