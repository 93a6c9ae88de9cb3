//! Walking distance along streets: a pedestrian network as a [`WalkingMetric`], reachable
//! areas (isochrones) for sites, and a comparison of two clusterings.
//!
//! Inputs: street edges as line strings in RD New (EPSG:28992), metres (the store's `streets`
//! layer, made by `ingest::streets` from OpenStreetMap); client positions in RD metres.
//! Outputs: walking distances in metres, neighbour lists, and generalised reachable areas
//! (multipolygons on the 100 m grid, RD metres).
//!
//! This module touches no files, GDAL, tokio or the clock: the graph is loaded by `store` and
//! passed in.
//!
//! # The walking distance
//! A client is snapped to the nearest point of the nearest edge (an R-tree over edge segments).
//! The distance between two clients is the shortest of:
//! 1. the snapping leg of the first, the shortest path along the network between the two snap
//!    points, and the snapping leg of the second;
//! 2. along their common edge, when both snap to the same edge;
//! 3. the straight line, when the two are at most [`DIRECT_M`] apart: clients are stored on a
//!    25 m grid, so two clients that close may share a building or a courtyard, and making
//!    them walk to the street and back would put identical positions 2 × the snapping leg apart.
//!
//! Every part is a walkable polyline from one client to the other, so the distance is never
//! shorter than the straight line (the [`WalkingMetric`] contract; it is also enforced with a
//! `max`, against rounding).
//!
//! **Clients far from every street** stay valid points: their snapping leg counts as walking
//! distance, however long (a farm track missing from OSM is still walked). A client more than
//! [`FAR_FROM_STREET_M`] from every street is only reported by the import, so an administrator
//! can see that the extract does not cover the clients. Without any edge, clients are only
//! neighbours of those within [`DIRECT_M`].

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use geo::unary_union;
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, Rect};
use rstar::RTree;
use rstar::primitives::{GeomWithData, Line as RLine};

use super::cluster::Clustering;
use super::grid::PUBLISH_GRID_OFFSET_M;
use super::metric::{Neighbourhood, Reach, WalkingMetric, straight};
use super::union_find::UnionFind;
use crate::index::PointIndex;

/// Clients at most this far apart (metres, straight line) may walk straight to each other.
pub const DIRECT_M: f64 = 25.0;

/// A client farther than this (metres) from every street is reported as not covered by the
/// street extract (DESIGN: the import report's "share of clients more than 150 m from any
/// street"). It does not change the distance.
pub const FAR_FROM_STREET_M: f64 = 150.0;

/// Cell size, metres, of the grid isochrones are generalised to: the publication grid, with
/// its offset, so no corner can coincide with a (25 m grid) client location.
pub const ISOCHRONE_GRID_M: f64 = 100.0;

/// How far, metres, an isochrone reaches beyond the reachable street pieces before it is
/// widened to whole grid cells: the houses along a street are reached from it.
pub const ISOCHRONE_MARGIN_M: f64 = 50.0;

/// One edge: its end nodes and its length along its geometry, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Edge {
    from: u32,
    to: u32,
    length_m: f64,
}

/// One segment of an edge in the snapping R-tree: the edge and the distance along the edge to
/// the segment's first vertex.
type Segment = GeomWithData<RLine<[f64; 2]>, (u32, f64)>;

/// Where a location meets the network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The edge (position in the network's edge list).
    pub edge: usize,
    /// Distance along the edge from its first vertex to the snap point, metres.
    pub offset_m: f64,
    /// Straight distance from the location to the snap point, metres.
    pub leg_m: f64,
}

/// A pedestrian street network in RD New metres, usable as a [`WalkingMetric`].
///
/// Nodes are the end points of the edges; two edges meet where an end point of one has exactly
/// the coordinates of an end point of the other (the import splits ways at shared OSM nodes,
/// which project to identical coordinates). Edges are two-way.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::metric::{Neighbourhood, WalkingMetric};
/// use buurtcirkel::analysis::network::StreetNetwork;
/// use geo_types::{LineString, Point};
///
/// // An L-shaped street: 300 m east, then 400 m north.
/// let net = StreetNetwork::from_lines(vec![
///     LineString::from(vec![(0.0, 0.0), (300.0, 0.0)]),
///     LineString::from(vec![(300.0, 0.0), (300.0, 400.0)]),
/// ]);
/// assert_eq!((net.node_count(), net.edge_count(), net.component_count()), (3, 2, 1));
/// let clients = [Point::new(0.0, 10.0), Point::new(310.0, 400.0)];
/// let near = net.prepare(&clients);
/// // 10 m to the street, 300 + 400 m along it, 10 m to the door: not the 500 m straight line.
/// assert!((near.distance(0, 1) - 720.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct StreetNetwork {
    nodes_rd: Vec<Coord<f64>>,
    edges: Vec<Edge>,
    geometry_rd: Vec<LineString<f64>>,
    /// Compressed adjacency: the arcs of node `n` are `arcs[first_arc[n]..first_arc[n + 1]]`.
    first_arc: Vec<u32>,
    /// `(neighbour node, edge)`.
    arcs: Vec<(u32, u32)>,
    segments: RTree<Segment>,
    components: usize,
}

impl StreetNetwork {
    /// Builds the network from street pieces (RD metres), joining pieces whose end points have
    /// identical coordinates.
    ///
    /// Pieces with fewer than two vertices or a non-finite coordinate are left out: they are
    /// not a walkable street.
    ///
    /// # Algorithm
    /// 1. Number distinct end points (a hash map on the coordinates' bits).
    /// 2. Build the compressed adjacency (two arcs per edge) and bulk-load an R-tree over all
    ///    segments.
    /// 3. Count connected components with a union-find.
    ///
    /// O(V + E + S log S) for V nodes, E edges and S segments.
    pub fn from_lines(lines: impl IntoIterator<Item = LineString<f64>>) -> StreetNetwork {
        let mut ids: HashMap<(u64, u64), u32> = HashMap::new();
        let mut nodes_rd: Vec<Coord<f64>> = Vec::new();
        let mut edges = Vec::new();
        let mut geometry_rd = Vec::new();
        let mut node_of = |c: Coord<f64>, nodes_rd: &mut Vec<Coord<f64>>| -> u32 {
            // +0.0 turns -0.0 into 0.0 so both spell one point.
            let key = ((c.x + 0.0).to_bits(), (c.y + 0.0).to_bits());
            *ids.entry(key).or_insert_with(|| {
                nodes_rd.push(c);
                u32::try_from(nodes_rd.len() - 1).unwrap_or(u32::MAX)
            })
        };
        for line in lines {
            let usable =
                line.0.len() >= 2 && line.0.iter().all(|c| c.x.is_finite() && c.y.is_finite());
            let (Some(&first), Some(&last)) = (line.0.first(), line.0.last()) else {
                continue;
            };
            if !usable {
                continue;
            }
            let from = node_of(first, &mut nodes_rd);
            let to = node_of(last, &mut nodes_rd);
            let length_m = line.lines().map(|s| seg_len(s.start, s.end)).sum();
            edges.push(Edge { from, to, length_m });
            geometry_rd.push(line);
        }
        let n = nodes_rd.len();
        let mut degree = vec![0u32; n + 1];
        for e in &edges {
            degree[e.from as usize] += 1;
            degree[e.to as usize] += 1;
        }
        let mut first_arc = vec![0u32; n + 1];
        for i in 0..n {
            first_arc[i + 1] = first_arc[i] + degree[i];
        }
        let mut fill = first_arc.clone();
        let mut arcs = vec![(0u32, 0u32); first_arc[n] as usize];
        for (k, e) in edges.iter().enumerate() {
            let k = u32::try_from(k).unwrap_or(u32::MAX);
            arcs[fill[e.from as usize] as usize] = (e.to, k);
            fill[e.from as usize] += 1;
            arcs[fill[e.to as usize] as usize] = (e.from, k);
            fill[e.to as usize] += 1;
        }
        let mut segments = Vec::new();
        for (k, g) in geometry_rd.iter().enumerate() {
            let k = u32::try_from(k).unwrap_or(u32::MAX);
            let mut offset = 0.0;
            for s in g.lines() {
                segments.push(GeomWithData::new(
                    RLine::new([s.start.x, s.start.y], [s.end.x, s.end.y]),
                    (k, offset),
                ));
                offset += seg_len(s.start, s.end);
            }
        }
        let mut sets = UnionFind::new(n);
        let mut components = n;
        for e in &edges {
            if sets.union(e.from as usize, e.to as usize) {
                components -= 1;
            }
        }
        StreetNetwork {
            nodes_rd,
            edges,
            geometry_rd,
            first_arc,
            arcs,
            segments: RTree::bulk_load(segments),
            components,
        }
    }

    /// Number of nodes (junctions and dead ends).
    pub fn node_count(&self) -> usize {
        self.nodes_rd.len()
    }

    /// Number of edges (street pieces between junctions).
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// Number of connected components (islands of streets that cannot reach each other).
    pub fn component_count(&self) -> usize {
        self.components
    }

    /// Total length of all edges, metres.
    pub fn total_length_m(&self) -> f64 {
        self.edges.iter().map(|e| e.length_m).sum()
    }

    /// True without edges.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// The edges' geometry, RD metres, in edge order.
    pub fn lines(&self) -> &[LineString<f64>] {
        &self.geometry_rd
    }

    /// Where `p` meets the network: the nearest point on the nearest edge. `None` without
    /// edges or for a non-finite `p`.
    pub fn snap(&self, p: Point<f64>) -> Option<Snap> {
        if !(p.x().is_finite() && p.y().is_finite()) {
            return None;
        }
        let q = [p.x(), p.y()];
        let seg = self.segments.nearest_neighbor(&q)?;
        let (a, b) = (seg.geom().from, seg.geom().to);
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let on = [a[0] + t * dx, a[1] + t * dy];
        let (edge, start) = seg.data;
        let length = self.edges[edge as usize].length_m;
        Some(Snap {
            edge: edge as usize,
            offset_m: (start + t * len2.sqrt()).min(length),
            leg_m: (q[0] - on[0]).hypot(q[1] - on[1]),
        })
    }

    /// Straight distance, metres, from `p` to the nearest street; `None` without edges.
    pub fn distance_to_street(&self, p: Point<f64>) -> Option<f64> {
        self.snap(p).map(|s| s.leg_m)
    }

    /// How many of `points` are more than `max_m` metres from every street (all of them when
    /// the network is empty).
    pub fn count_far_from_street(&self, points: &[Point<f64>], max_m: f64) -> usize {
        points
            .iter()
            .filter(|p| self.distance_to_street(**p).is_none_or(|d| d > max_m))
            .count()
    }

    /// The area reachable on foot within `walk_m` metres from `centre`, generalised to whole
    /// cells of the 100 m grid.
    ///
    /// # Parameters
    /// - `centre`: the start, RD metres: a site centre, which is a node of the 100 m grid.
    /// - `walk_m`: the walking distance, metres.
    ///
    /// # Returns
    /// The union of the [`ISOCHRONE_GRID_M`] cells that lie within [`ISOCHRONE_MARGIN_M`] of a
    /// street piece (or of the snapping leg) reachable within `walk_m`; `None` when nothing
    /// is reachable (no network, a non-finite centre or distance, or a centre farther than
    /// `walk_m` from every street).
    ///
    /// # Privacy
    /// The shape depends only on the centre, the distance and the public street network, never
    /// on client positions, and it is made of whole grid cells: it may be published.
    ///
    /// # Algorithm
    /// 1. Snap the centre; bounded Dijkstra from the snap point up to `walk_m`.
    /// 2. For every settled node, the part of each of its edges still reachable with the
    ///    distance left; the centre's own edge around the snap point.
    /// 3. Sample those pieces every 10 m; mark every grid cell that the square of half-side
    ///    [`ISOCHRONE_MARGIN_M`] around a sample touches.
    /// 4. Union the marked cells. O(reached edges + cells log cells).
    ///
    /// # Examples
    /// ```
    /// use buurtcirkel::analysis::network::StreetNetwork;
    /// use geo::Area;
    /// use geo_types::{LineString, Point};
    ///
    /// let net = StreetNetwork::from_lines(vec![LineString::from(vec![(0.0, 62.5), (5_000.0, 62.5)])]);
    /// let area = net.isochrone(Point::new(1_012.5, 62.5), 750.0).unwrap();
    /// // 750 m of street either way plus the 50 m margin, in whole cells of the publication
    /// // grid (100 m, offset 12.5 m): x 212.5..1,812.5, y 12.5..112.5.
    /// assert_eq!(area.unsigned_area(), 1_600.0 * 100.0);
    /// ```
    pub fn isochrone(&self, centre: Point<f64>, walk_m: f64) -> Option<MultiPolygon<f64>> {
        if !(walk_m.is_finite() && walk_m > 0.0) {
            return None;
        }
        let snap = self.snap(centre)?;
        if snap.leg_m > walk_m {
            return None;
        }
        let mut search = Search::new(self.node_count());
        search.start(self, Source::Location(0, 0), centre, Some(snap));
        search.settle(self, walk_m);
        let mut cells: Vec<(i64, i64)> = Vec::new();
        let mut mark = |c: Coord<f64>| {
            let m = ISOCHRONE_MARGIN_M;
            let g = ISOCHRONE_GRID_M;
            let o = PUBLISH_GRID_OFFSET_M;
            let (x0, x1) = (((c.x - o - m) / g).floor(), ((c.x - o + m) / g).ceil());
            let (y0, y1) = (((c.y - o - m) / g).floor(), ((c.y - o + m) / g).ceil());
            let mut x = x0;
            while x < x1 {
                let mut y = y0;
                while y < y1 {
                    cells.push((x as i64, y as i64));
                    y += 1.0;
                }
                x += 1.0;
            }
        };
        // The snapping leg, then the centre's own edge around the snap point.
        let leg_end = self.point_along(snap.edge, snap.offset_m);
        sample_segment(centre.0, leg_end, &mut mark);
        let left = walk_m - snap.leg_m;
        self.sample_edge(
            snap.edge,
            snap.offset_m - left,
            snap.offset_m + left,
            &mut mark,
        );
        for &node in &search.touched {
            let d = search.dist[node as usize];
            if d > walk_m {
                continue;
            }
            let left = walk_m - d;
            for &(_, edge) in self.arcs_of(node) {
                let e = self.edges[edge as usize];
                if e.from == node {
                    self.sample_edge(edge as usize, 0.0, left, &mut mark);
                }
                if e.to == node {
                    self.sample_edge(edge as usize, e.length_m - left, e.length_m, &mut mark);
                }
            }
        }
        cells.sort_unstable();
        cells.dedup();
        let squares: Vec<Polygon<f64>> = cells
            .iter()
            .map(|&(x, y)| {
                let g = ISOCHRONE_GRID_M;
                let o = PUBLISH_GRID_OFFSET_M;
                let (x, y) = (x as f64 * g + o, y as f64 * g + o);
                Rect::new(Coord { x, y }, Coord { x: x + g, y: y + g }).to_polygon()
            })
            .collect();
        let union = unary_union(&squares);
        (!union.0.is_empty()).then_some(union)
    }

    fn arcs_of(&self, node: u32) -> &[(u32, u32)] {
        let n = node as usize;
        &self.arcs[self.first_arc[n] as usize..self.first_arc[n + 1] as usize]
    }

    /// The point `offset_m` along edge `edge` (clamped to the edge).
    fn point_along(&self, edge: usize, offset_m: f64) -> Coord<f64> {
        let g = &self.geometry_rd[edge];
        let mut walked = 0.0;
        for s in g.lines() {
            let l = seg_len(s.start, s.end);
            if walked + l >= offset_m && l > 0.0 {
                let t = ((offset_m - walked) / l).clamp(0.0, 1.0);
                return s.start + (s.end - s.start) * t;
            }
            walked += l;
        }
        g.0.last().copied().unwrap_or(Coord { x: 0.0, y: 0.0 })
    }

    /// Calls `f` on points at most 10 m apart along edge `edge` from `from_m` to `to_m`
    /// (clamped to the edge), both ends included.
    fn sample_edge(&self, edge: usize, from_m: f64, to_m: f64, f: &mut impl FnMut(Coord<f64>)) {
        let length = self.edges[edge].length_m;
        let (a, b) = (from_m.max(0.0), to_m.min(length));
        if a > b {
            return;
        }
        let mut walked = 0.0;
        for s in self.geometry_rd[edge].lines() {
            let l = seg_len(s.start, s.end);
            let (lo, hi) = ((a - walked).max(0.0), (b - walked).min(l));
            if hi >= lo && l > 0.0 {
                let p = s.start + (s.end - s.start) * (lo / l);
                let q = s.start + (s.end - s.start) * (hi / l);
                sample_segment(p, q, f);
            }
            walked += l;
            if walked > b {
                break;
            }
        }
    }
}

fn seg_len(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (b.x - a.x).hypot(b.y - a.y)
}

/// Calls `f` on `a`, `b` and points between them at most 10 m apart.
fn sample_segment(a: Coord<f64>, b: Coord<f64>, f: &mut impl FnMut(Coord<f64>)) {
    let steps = (seg_len(a, b) / 10.0).ceil().max(1.0) as usize;
    for k in 0..=steps {
        f(a + (b - a) * (k as f64 / steps as f64));
    }
}

impl WalkingMetric for StreetNetwork {
    type Neighbourhood<'a> = NetworkNeighbourhood<'a>;

    /// Snaps every point once and builds a straight-line R-tree over them (a network distance
    /// is never shorter than the straight line, so the R-tree finds a superset of the
    /// neighbours and the network decides). O(n log E).
    fn prepare<'a>(&'a self, points: &'a [Point<f64>]) -> NetworkNeighbourhood<'a> {
        NetworkNeighbourhood {
            net: self,
            points,
            snaps: points.iter().map(|p| self.snap(*p)).collect(),
            index: PointIndex::new(points),
            search: RefCell::new(Search::new(self.node_count())),
            memo: RefCell::new(HashMap::new()),
            point_memo: RefCell::new(HashMap::new()),
            point_memo_budget: Cell::new(POINT_MEMO_ENTRIES),
            candidates: RefCell::new(Vec::new()),
        }
    }

    /// [`StreetNetwork::isochrone`].
    fn reach(&self, centre: Point<f64>, walk_m: f64) -> Reach {
        self.isochrone(centre, walk_m)
            .map_or(Reach::Unreachable, Reach::Area)
    }
}

/// The [`Neighbourhood`] of a [`StreetNetwork`] over one slice of points.
///
/// # Algorithm
/// A query from point `i` (or a location) runs a Dijkstra from its snap point: the two end
/// nodes of its edge start at `leg + offset` and `leg + length − offset`. The search is
/// **bounded** (it stops when the nearest unsettled node is farther than the radius) and
/// **resumable**: the state of the last source is kept, so a later query from the same source
/// with a larger radius only settles the extra nodes, and `distance(i, j)` for many `j` costs
/// one search. The distance array, heap and touched list are reused between queries (only the
/// touched entries are reset), so a query costs O(k log k) for the k nodes within the radius,
/// independent of the network's size.
///
/// Neighbour candidates come from a straight-line R-tree over the points within the radius;
/// each candidate's distance is read off the settled end nodes of its edge.
///
/// Neighbour lists of locations ([`Neighbourhood::neighbours_of`], which site selection calls
/// once per candidate centre and then asks [`Neighbourhood::distance_from`] the same centres
/// again) are memoised per location and radius; so are the neighbour lists of points (DBSCAN
/// asks every core point twice), up to 32 MB. Any other `distance_from(p, i)` searches from
/// the client `i`, so that many centres asking about one client share one search.
///
/// Not `Sync`: the reused search state lives in a `RefCell`. Prepare one per thread.
#[derive(Debug)]
pub struct NetworkNeighbourhood<'a> {
    net: &'a StreetNetwork,
    points: &'a [Point<f64>],
    snaps: Vec<Option<Snap>>,
    index: PointIndex,
    search: RefCell<Search>,
    /// Location (coordinate bits) → (radius, neighbours with their distances, ascending).
    memo: RefCell<HashMap<(u64, u64), Memo>>,
    /// Point → (radius, neighbours, ascending): DBSCAN asks each core point twice.
    point_memo: RefCell<HashMap<usize, (f64, Vec<u32>)>>,
    /// How many more neighbour entries `point_memo` may hold.
    point_memo_budget: Cell<usize>,
    candidates: RefCell<Vec<usize>>,
}

/// At most this many neighbour entries (4 bytes each) are memoised per prepared point set:
/// 32 MB, enough for 100,000 clients with 80 neighbours each or a dense town of 5,000 clients
/// who all live within walking distance of each other. Beyond it queries are simply repeated.
const POINT_MEMO_ENTRIES: usize = 8 << 20;

/// A memoised neighbour list: the radius and the neighbours with their distances, by index.
type Memo = (f64, Vec<(usize, f64)>);

/// What a search starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Point(usize),
    Location(u64, u64),
}

#[derive(Debug, Clone, Copy)]
struct Item {
    d: f64,
    node: u32,
}

impl PartialEq for Item {
    fn eq(&self, o: &Item) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Item) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the nearest node first.
    fn cmp(&self, o: &Item) -> Ordering {
        o.d.total_cmp(&self.d).then_with(|| o.node.cmp(&self.node))
    }
}

/// A resumable, bounded Dijkstra with reusable buffers.
#[derive(Debug)]
struct Search {
    dist: Vec<f64>,
    touched: Vec<u32>,
    heap: BinaryHeap<Item>,
    source: Option<Source>,
    source_rd: Point<f64>,
    source_snap: Option<Snap>,
    /// Every node with a distance up to this is final.
    settled_to: f64,
}

impl Search {
    fn new(nodes: usize) -> Search {
        Search {
            dist: vec![f64::INFINITY; nodes],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            source: None,
            source_rd: Point::new(f64::NAN, f64::NAN),
            source_snap: None,
            settled_to: f64::NEG_INFINITY,
        }
    }

    fn start(&mut self, net: &StreetNetwork, source: Source, p: Point<f64>, snap: Option<Snap>) {
        for &n in &self.touched {
            self.dist[n as usize] = f64::INFINITY;
        }
        self.touched.clear();
        self.heap.clear();
        self.source = Some(source);
        self.source_rd = p;
        self.source_snap = snap;
        self.settled_to = f64::NEG_INFINITY;
        if let Some(s) = snap {
            let e = net.edges[s.edge];
            self.reach(e.from, s.leg_m + s.offset_m);
            self.reach(e.to, s.leg_m + (e.length_m - s.offset_m));
        } else {
            self.settled_to = f64::INFINITY;
        }
    }

    fn reach(&mut self, node: u32, d: f64) {
        let slot = &mut self.dist[node as usize];
        if d < *slot {
            if slot.is_infinite() {
                self.touched.push(node);
            }
            *slot = d;
            self.heap.push(Item { d, node });
        }
    }

    /// Settles every node within `bound` metres of the source.
    fn settle(&mut self, net: &StreetNetwork, bound: f64) {
        if bound <= self.settled_to {
            return;
        }
        while let Some(&Item { d, node }) = self.heap.peek() {
            if d > bound {
                break;
            }
            self.heap.pop();
            if d > self.dist[node as usize] {
                continue; // a stale entry: the node was reached more cheaply since
            }
            for &(next, edge) in net.arcs_of(node) {
                self.reach(next, d + net.edges[edge as usize].length_m);
            }
        }
        self.settled_to = if self.heap.is_empty() {
            f64::INFINITY
        } else {
            bound
        };
    }

    /// The best distance to a target known so far (exact when it is at most `settled_to`).
    fn distance_to(&self, net: &StreetNetwork, target_rd: Point<f64>, snap: Option<Snap>) -> f64 {
        let line = straight(self.source_rd, target_rd);
        let mut d = if line <= DIRECT_M {
            line
        } else {
            f64::INFINITY
        };
        if let Some(t) = snap {
            let e = net.edges[t.edge];
            if let Some(s) = self.source_snap
                && s.edge == t.edge
            {
                d = d.min(s.leg_m + (s.offset_m - t.offset_m).abs() + t.leg_m);
            }
            d = d
                .min(self.dist[e.from as usize] + t.offset_m + t.leg_m)
                .min(self.dist[e.to as usize] + (e.length_m - t.offset_m) + t.leg_m);
        }
        d.max(line)
    }

    /// The exact distance to a target, settling further as needed.
    fn exact_to(&mut self, net: &StreetNetwork, target_rd: Point<f64>, snap: Option<Snap>) -> f64 {
        let mut bound = self
            .settled_to
            .max(straight(self.source_rd, target_rd) * 1.5)
            .max(200.0);
        loop {
            self.settle(net, bound);
            let d = self.distance_to(net, target_rd, snap);
            if d <= self.settled_to {
                return d;
            }
            bound *= 2.0;
        }
    }
}

fn location_key(p: Point<f64>) -> (u64, u64) {
    ((p.x() + 0.0).to_bits(), (p.y() + 0.0).to_bits())
}

impl NetworkNeighbourhood<'_> {
    /// Starts (or keeps) the search from `source`.
    fn search_from(&self, source: Source) -> std::cell::RefMut<'_, Search> {
        let mut search = self.search.borrow_mut();
        if search.source != Some(source) {
            let (p, snap) = match source {
                Source::Point(i) => (self.points[i], self.snaps[i]),
                Source::Location(x, y) => {
                    let p = Point::new(f64::from_bits(x), f64::from_bits(y));
                    (p, self.net.snap(p))
                }
            };
            search.start(self.net, source, p, snap);
        }
        search
    }

    /// Points within `radius_m` of `source` (at `p`) with their distances, ascending by index.
    fn within(&self, source: Source, p: Point<f64>, radius_m: f64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        if !(p.x().is_finite() && p.y().is_finite()) {
            return;
        }
        let mut search = self.search_from(source);
        search.settle(self.net, radius_m);
        let mut candidates = self.candidates.borrow_mut();
        candidates.clear();
        candidates.extend(self.index.within_distance(p, radius_m));
        candidates.sort_unstable();
        for &j in candidates.iter() {
            let d = if source == Source::Point(j) {
                0.0
            } else {
                search.distance_to(self.net, self.points[j], self.snaps[j])
            };
            if d <= radius_m {
                out.push((j, d));
            }
        }
    }
}

impl Neighbourhood for NetworkNeighbourhood<'_> {
    fn len(&self) -> usize {
        self.points.len()
    }

    fn distance(&self, i: usize, j: usize) -> f64 {
        if i == j {
            return 0.0;
        }
        // Walking is symmetric: reuse a search from either end.
        let (from, to) = if self.search.borrow().source == Some(Source::Point(j)) {
            (j, i)
        } else {
            (i, j)
        };
        let p = self.points[from];
        if !(p.x().is_finite() && p.y().is_finite()) {
            return f64::INFINITY;
        }
        let mut search = self.search_from(Source::Point(from));
        search.exact_to(self.net, self.points[to], self.snaps[to])
    }

    fn neighbours(&self, i: usize, radius_m: f64, out: &mut Vec<usize>) {
        out.clear();
        if let Some((r, list)) = self.point_memo.borrow().get(&i)
            && *r == radius_m
        {
            out.extend(list.iter().map(|&j| j as usize));
            return;
        }
        let mut found = Vec::new();
        self.within(Source::Point(i), self.points[i], radius_m, &mut found);
        out.extend(found.iter().map(|(j, _)| *j));
        if !out.contains(&i) {
            // A point without coordinates is still its own neighbour, as in DBSCAN.
            out.push(i);
            out.sort_unstable();
        }
        let budget = self.point_memo_budget.get();
        if out.len() <= budget
            && let Ok(list) = out.iter().map(|&j| u32::try_from(j)).collect()
        {
            self.point_memo_budget.set(budget - out.len());
            self.point_memo.borrow_mut().insert(i, (radius_m, list));
        }
    }

    fn distance_from(&self, p: Point<f64>, i: usize) -> f64 {
        if !(p.x().is_finite() && p.y().is_finite()) {
            return f64::INFINITY;
        }
        let key = location_key(p);
        if let Some((_, list)) = self.memo.borrow().get(&key)
            && let Ok(k) = list.binary_search_by_key(&i, |(j, _)| *j)
        {
            return list[k].1;
        }
        // Search from the client, not from `p`: site selection asks many centres about one
        // client in a row, and walking is symmetric, so one search answers them all.
        let p_rd = self.points[i];
        if !(p_rd.x().is_finite() && p_rd.y().is_finite()) {
            return f64::INFINITY;
        }
        let mut search = self.search_from(Source::Point(i));
        search.exact_to(self.net, p, self.net.snap(p))
    }

    fn neighbours_of(&self, p: Point<f64>, radius_m: f64, out: &mut Vec<usize>) {
        out.clear();
        if !(p.x().is_finite() && p.y().is_finite()) {
            return;
        }
        let key = location_key(p);
        if let Some((r, list)) = self.memo.borrow().get(&key)
            && *r == radius_m
        {
            out.extend(list.iter().map(|(j, _)| *j));
            return;
        }
        let mut found = Vec::new();
        self.within(Source::Location(key.0, key.1), p, radius_m, &mut found);
        out.extend(found.iter().map(|(j, _)| *j));
        self.memo.borrow_mut().insert(key, (radius_m, found));
    }
}

/// How the clusters of one clustering (the straight line) map onto those of another (the
/// street network) over the same points.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricComparison {
    /// Per cluster of the first clustering, in cluster order.
    pub clusters: Vec<ClusterChange>,
    /// Clusters of the second clustering that take members from two or more clusters of the
    /// first: (cluster of the second, clusters of the first, ascending).
    pub merged: Vec<(usize, Vec<usize>)>,
    /// Points clustered in the second clustering but noise in the first.
    pub gained: usize,
}

/// Where the members of one cluster of the first clustering went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterChange {
    /// The cluster id in the first clustering.
    pub cluster: usize,
    /// Its member count.
    pub members: usize,
    /// Clusters of the second clustering holding its members: (id, how many), by id.
    pub into: Vec<(usize, usize)>,
    /// Members that are noise in the second clustering.
    pub noise: usize,
}

impl ClusterChange {
    /// True when the cluster is exactly one cluster of the second clustering and vice versa
    /// (checked by [`compare_clusterings`] with the reverse counts).
    pub fn unchanged(&self, second_sizes: &[usize]) -> bool {
        self.noise == 0
            && self.into.len() == 1
            && second_sizes.get(self.into[0].0) == Some(&self.members)
    }

    /// True when the members went to two or more clusters of the second clustering.
    pub fn split(&self) -> bool {
        self.into.len() >= 2
    }
}

/// Compares two clusterings of the same points, e.g. straight line (`first`) against street
/// network (`second`).
///
/// # Returns
/// For every cluster of `first`, the clusters of `second` its members ended up in and how many
/// became noise; the clusters of `second` that merge clusters of `first`; and how many noise
/// points of `first` are clustered in `second`. Only ids and counts: never positions.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cluster::Dbscan;
/// use buurtcirkel::analysis::metric::StraightLine;
/// use buurtcirkel::analysis::network::compare_clusterings;
/// use geo_types::Point;
///
/// let points: Vec<Point<f64>> = (0..6).map(|i| Point::new(100.0 * i as f64, 0.0)).collect();
/// let a = Dbscan::new(800.0, 5).unwrap().cluster(&StraightLine, &points);
/// let b = Dbscan::new(250.0, 3).unwrap().cluster(&StraightLine, &points);
/// let c = compare_clusterings(&a, &b);
/// assert_eq!(c.clusters.len(), 1);
/// assert_eq!(c.clusters[0].members, 6);
/// assert!(!c.clusters[0].split()); // at 250 m the chain holds together
/// ```
pub fn compare_clusterings(first: &Clustering, second: &Clustering) -> MetricComparison {
    let mut clusters: Vec<ClusterChange> = (0..first.cluster_count())
        .map(|cluster| ClusterChange {
            cluster,
            ..ClusterChange::default()
        })
        .collect();
    let mut into: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); first.cluster_count()];
    let mut from: Vec<BTreeMap<usize, usize>> = vec![BTreeMap::new(); second.cluster_count()];
    let mut gained = 0;
    for (a, b) in first.labels().iter().zip(second.labels()) {
        match (a, b) {
            (Some(a), Some(b)) => {
                clusters[*a].members += 1;
                *into[*a].entry(*b).or_default() += 1;
                *from[*b].entry(*a).or_default() += 1;
            }
            (Some(a), None) => {
                clusters[*a].members += 1;
                clusters[*a].noise += 1;
            }
            (None, Some(_)) => gained += 1,
            (None, None) => {}
        }
    }
    for (c, m) in clusters.iter_mut().zip(into) {
        c.into = m.into_iter().collect();
    }
    let merged = from
        .into_iter()
        .enumerate()
        .filter(|(_, m)| m.len() >= 2)
        .map(|(b, m)| (b, m.into_keys().collect()))
        .collect();
    MetricComparison {
        clusters,
        merged,
        gained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::metric::StraightLine;
    use geo::BooleanOps;

    fn line(c: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(c.to_vec())
    }

    #[test]
    fn an_empty_network_leaves_only_very_close_clients_as_neighbours() {
        let net = StreetNetwork::from_lines(Vec::new());
        let pts = [
            Point::new(0.0, 0.0),
            Point::new(20.0, 0.0),
            Point::new(100.0, 0.0),
        ];
        let near = net.prepare(&pts);
        let mut out = Vec::new();
        near.neighbours(0, 800.0, &mut out);
        assert_eq!(out, vec![0, 1]);
        assert_eq!(near.distance(0, 2), f64::INFINITY);
        assert_eq!(net.isochrone(Point::new(0.0, 0.0), 800.0), None);
    }

    #[test]
    fn identical_points_are_at_distance_zero() {
        let net = StreetNetwork::from_lines(vec![line(&[(0.0, 0.0), (100.0, 0.0)])]);
        let pts = [Point::new(50.0, 40.0), Point::new(50.0, 40.0)];
        let near = net.prepare(&pts);
        assert_eq!(near.distance(0, 1), 0.0);
        assert_eq!(near.distance(1, 1), 0.0);
    }

    #[test]
    fn two_clients_on_one_edge_walk_along_it() {
        let net = StreetNetwork::from_lines(vec![line(&[(0.0, 0.0), (1_000.0, 0.0)])]);
        let pts = [Point::new(100.0, 30.0), Point::new(600.0, -40.0)];
        let near = net.prepare(&pts);
        assert!((near.distance(0, 1) - (30.0 + 500.0 + 40.0)).abs() < 1e-9);
        assert!((near.distance(1, 0) - 570.0).abs() < 1e-9);
    }

    #[test]
    fn a_resumed_search_gives_the_same_distances_as_a_fresh_one() {
        let mut lines = Vec::new();
        for i in 0..20 {
            let x = 100.0 * f64::from(i);
            lines.push(line(&[(x, 0.0), (x + 100.0, 0.0)]));
            lines.push(line(&[(x, 0.0), (x, 100.0)]));
        }
        let net = StreetNetwork::from_lines(lines);
        let pts: Vec<Point<f64>> = (0..20)
            .map(|i| Point::new(97.0 * f64::from(i), 60.0))
            .collect();
        let near = net.prepare(&pts);
        let mut out = Vec::new();
        near.neighbours(0, 300.0, &mut out);
        let resumed: Vec<f64> = (1..20).map(|j| near.distance(0, j)).collect();
        for (k, j) in (1..20).enumerate() {
            let fresh = net.prepare(&pts);
            assert_eq!(fresh.distance(j, 0), resumed[k]);
        }
    }

    #[test]
    fn site_distances_come_from_the_memo_or_a_search_alike() {
        let net = StreetNetwork::from_lines(vec![
            line(&[(0.0, 0.0), (1_000.0, 0.0)]),
            line(&[(1_000.0, 0.0), (1_000.0, 1_000.0)]),
        ]);
        let pts = [Point::new(100.0, 30.0), Point::new(990.0, 900.0)];
        let near = net.prepare(&pts);
        let c = Point::new(500.0, 0.0);
        let mut out = Vec::new();
        near.neighbours_of(c, 800.0, &mut out);
        assert_eq!(out, vec![0]);
        assert!((near.distance_from(c, 0) - 430.0).abs() < 1e-9);
        assert!((near.distance_from(c, 1) - 1_410.0).abs() < 1e-9);
    }

    #[test]
    fn a_split_cluster_is_reported_with_its_parts() {
        use crate::analysis::cluster::Dbscan;
        let mut pts: Vec<Point<f64>> = (0..5)
            .map(|i| Point::new(10.0 * f64::from(i), 0.0))
            .collect();
        pts.extend((0..5).map(|i| Point::new(10.0 * f64::from(i), 300.0)));
        let one = Dbscan::new(800.0, 5).unwrap().cluster(&StraightLine, &pts);
        let two = Dbscan::new(100.0, 5).unwrap().cluster(&StraightLine, &pts);
        let c = compare_clusterings(&one, &two);
        assert_eq!(c.clusters.len(), 1);
        assert!(c.clusters[0].split());
        assert_eq!(c.clusters[0].into, vec![(0, 5), (1, 5)]);
        assert!(c.merged.is_empty());
        let back = compare_clusterings(&two, &one);
        assert_eq!(back.merged, vec![(0, vec![0, 1])]);
    }

    #[test]
    fn an_isochrone_is_made_of_whole_grid_cells() {
        let net = StreetNetwork::from_lines(vec![
            line(&[(0.0, 0.0), (2_000.0, 0.0)]),
            line(&[(1_000.0, 0.0), (1_000.0, 2_000.0)]),
        ]);
        let iso = net.isochrone(Point::new(1_000.0, 0.0), 300.0).unwrap();
        for c in iso.0.iter().flat_map(|p| p.exterior().0.iter()) {
            assert!(super::super::grid::on_publish_grid(c.x), "{c:?}");
            assert!(super::super::grid::on_publish_grid(c.y), "{c:?}");
        }
        // 300 m either way along the street and 300 m up the side street, plus the margin.
        assert!(geo::Area::unsigned_area(&iso) > 0.0);
        assert_eq!(iso.union(&iso).0.len(), iso.0.len());
    }
}
