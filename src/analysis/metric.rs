//! Walking distance as a metric value: how far apart two clients are on foot.
//!
//! Inputs: points in RD New (EPSG:28992), metres. Outputs: distances in metres and
//! neighbour lists (positions in the input slice).
//!
//! A metric is a value passed into the algorithms, as in geo's `Euclidean.distance(a, b)`.
//! There are two: [`StraightLine`] (the default) and the street network of
//! [`crate::analysis::network::StreetNetwork`] (bounded Dijkstra from each client over an OSM
//! graph). Clustering, site selection and the meeting-place criterion only speak these traits,
//! so they do not know which one they use.
//!
//! # Why "prepare, then ask"
//! A network metric is expensive per query and wants per-snapshot preparation (snapping the
//! clients to graph nodes, building the graph); the straight line wants an R-tree. Both fit
//! [`WalkingMetric::prepare`], which returns a [`Neighbourhood`] over one slice of points that
//! answers "who is within `r` metres of point `i`" and "how far is `i` from `j`".
//!
//! # Contract of every metric
//! - `distance(i, i) == 0`, `distance(i, j) == distance(j, i)` (footpaths are two-way).
//! - A walking distance is **never shorter than the straight line**. The publication step
//!   relies on this: a site published as a circle of the walking radius around its centre
//!   contains every participant.
//! - Points with non-finite coordinates are at infinite distance from everything.
//!
//! This module touches no files, GDAL, tokio or the clock.

use geo_types::{MultiPolygon, Point};

use crate::index::PointIndex;

/// A way of measuring walking distance between clients.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::metric::{Neighbourhood, StraightLine, WalkingMetric};
/// use geo_types::Point;
///
/// let points = [Point::new(0.0, 0.0), Point::new(300.0, 400.0), Point::new(2_000.0, 0.0)];
/// let near = StraightLine.prepare(&points);
/// assert_eq!(near.distance(0, 1), 500.0);
/// let mut out = Vec::new();
/// near.neighbours(0, 800.0, &mut out);
/// assert_eq!(out, vec![0, 1]); // a point is its own neighbour, as in DBSCAN
/// ```
pub trait WalkingMetric {
    /// The prepared neighbourhood structure over one slice of points.
    type Neighbourhood<'a>: Neighbourhood
    where
        Self: 'a;

    /// Prepares neighbour queries over `points` (RD metres). Called once per analysis run.
    fn prepare<'a>(&'a self, points: &'a [Point<f64>]) -> Self::Neighbourhood<'a>;

    /// True only when [`Neighbourhood::distance`] is the plane's straight-line distance.
    ///
    /// It unlocks fast paths that depend on plane geometry, such as grid DBSCAN's "all points
    /// in one cell of side `eps/√2` are within `eps` of each other". A network metric must keep
    /// the default `false`; the algorithms then fall back to neighbour queries, which are
    /// correct for every metric.
    fn is_straight_line(&self) -> bool {
        false
    }

    /// The area reachable on foot within `walk_m` of `centre`.
    ///
    /// The default is [`Reach::Disk`]: everything within `walk_m` in a straight line. A network
    /// metric returns the area along its streets ([`Reach::Area`]) or [`Reach::Unreachable`]
    /// when `centre` is farther than `walk_m` from every street.
    fn reach(&self, centre: Point<f64>, walk_m: f64) -> Reach {
        let _ = (centre, walk_m);
        Reach::Disk
    }
}

/// What [`WalkingMetric::reach`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reach {
    /// The disk of the walking radius (straight line).
    Disk,
    /// The reachable area (RD metres); a network metric gives whole grid cells, never tighter
    /// than its publication grid.
    Area(MultiPolygon<f64>),
    /// Nothing is reachable: the centre is too far from any street.
    Unreachable,
}

/// Neighbour and distance queries over a fixed slice of points, prepared by a [`WalkingMetric`].
pub trait Neighbourhood {
    /// Number of points.
    fn len(&self) -> usize;

    /// True when there are no points.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Walking distance in metres between points `i` and `j` (`f64::INFINITY` if unreachable).
    fn distance(&self, i: usize, j: usize) -> f64;

    /// Replaces `out` with the points within `radius_m` metres (inclusive) of point `i`,
    /// including `i` itself, in ascending order.
    fn neighbours(&self, i: usize, radius_m: f64, out: &mut Vec<usize>);

    /// Walking distance in metres from an arbitrary location `p` to point `i`.
    fn distance_from(&self, p: Point<f64>, i: usize) -> f64;

    /// Replaces `out` with the points within `radius_m` metres (inclusive) of the location
    /// `p`, in ascending order.
    fn neighbours_of(&self, p: Point<f64>, radius_m: f64, out: &mut Vec<usize>);

    /// How many points lie within `radius_m` of `p`: always `neighbours_of(p, ..).len()`,
    /// which is the default; a metric that can count without listing (and sorting) them
    /// overrides it. `scratch` may be used as the list.
    fn count_within(&self, p: Point<f64>, radius_m: f64, scratch: &mut Vec<usize>) -> usize {
        self.neighbours_of(p, radius_m, scratch);
        scratch.len()
    }
}

/// Walking distance as the crow flies: the Euclidean distance in RD New metres.
///
/// It underestimates real walks (canals, railways, motorways), so clusters made with it are
/// optimistic; that is acceptable for a first research map and is why the metric is pluggable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StraightLine;

/// The [`Neighbourhood`] of [`StraightLine`]: an R-tree over the points.
#[derive(Debug, Clone)]
pub struct StraightLineNeighbourhood<'a> {
    points: &'a [Point<f64>],
    index: PointIndex,
}

impl WalkingMetric for StraightLine {
    type Neighbourhood<'a> = StraightLineNeighbourhood<'a>;

    fn prepare<'a>(&'a self, points: &'a [Point<f64>]) -> StraightLineNeighbourhood<'a> {
        StraightLineNeighbourhood {
            points,
            index: PointIndex::new(points),
        }
    }

    fn is_straight_line(&self) -> bool {
        true
    }
}

/// Straight-line distance, infinite when a coordinate is not finite.
pub(crate) fn straight(a: Point<f64>, b: Point<f64>) -> f64 {
    let d = (a.x() - b.x()).hypot(a.y() - b.y());
    if d.is_nan() { f64::INFINITY } else { d }
}

impl Neighbourhood for StraightLineNeighbourhood<'_> {
    fn len(&self) -> usize {
        self.points.len()
    }

    fn distance(&self, i: usize, j: usize) -> f64 {
        straight(self.points[i], self.points[j])
    }

    fn neighbours(&self, i: usize, radius_m: f64, out: &mut Vec<usize>) {
        let p = self.points[i];
        if p.x().is_finite() && p.y().is_finite() {
            self.neighbours_of(p, radius_m, out);
        } else {
            out.clear();
            out.push(i);
        }
    }

    fn distance_from(&self, p: Point<f64>, i: usize) -> f64 {
        straight(p, self.points[i])
    }

    fn neighbours_of(&self, p: Point<f64>, radius_m: f64, out: &mut Vec<usize>) {
        out.clear();
        out.extend(self.index.within_distance(p, radius_m));
        out.sort_unstable();
    }

    fn count_within(&self, p: Point<f64>, radius_m: f64, _: &mut Vec<usize>) -> usize {
        self.index.within_distance(p, radius_m).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_without_coordinates_is_only_its_own_neighbour() {
        let points = [Point::new(f64::NAN, 0.0), Point::new(0.0, 0.0)];
        let near = StraightLine.prepare(&points);
        let mut out = Vec::new();
        near.neighbours(0, 1e9, &mut out);
        assert_eq!(out, vec![0]);
        near.neighbours(1, 1e9, &mut out);
        assert_eq!(out, vec![1]);
        assert_eq!(near.distance(0, 1), f64::INFINITY);
    }

    #[test]
    fn the_straight_line_distance_is_symmetric_and_zero_on_the_diagonal() {
        let points = [
            Point::new(155_000.0, 463_000.0),
            Point::new(155_600.0, 463_800.0),
        ];
        let near = StraightLine.prepare(&points);
        assert_eq!(near.distance(0, 0), 0.0);
        assert_eq!(near.distance(0, 1), 1_000.0);
        assert_eq!(near.distance(1, 0), 1_000.0);
        assert_eq!(
            near.distance_from(Point::new(155_000.0, 463_000.0), 1),
            1_000.0
        );
    }
}
