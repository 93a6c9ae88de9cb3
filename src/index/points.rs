//! [`PointIndex`]: a bulk-loaded R-tree over points, answering fixed-radius neighbour queries.
//!
//! Input: points in RD New (EPSG:28992), metres. Output: positions in that input slice.

use geo_types::Point;
use rstar::RTree;
use rstar::primitives::GeomWithData;

/// One indexed point: its RD coordinates and its position in the input slice.
type Entry = GeomWithData<[f64; 2], usize>;

/// A bulk-loaded R-tree over points that remembers each point's position in the input.
///
/// Points with a non-finite coordinate are left out: they are nobody's neighbour.
///
/// # Examples
/// ```
/// use buurtcirkel::index::PointIndex;
/// use geo_types::Point;
///
/// let points = [Point::new(0.0, 0.0), Point::new(300.0, 400.0), Point::new(900.0, 0.0)];
/// let index = PointIndex::new(&points);
/// let mut near: Vec<usize> = index.within_distance(Point::new(0.0, 0.0), 500.0).collect();
/// near.sort_unstable();
/// assert_eq!(near, vec![0, 1]); // (300, 400) is exactly 500 m away: inclusive
/// ```
#[derive(Debug, Clone)]
pub struct PointIndex {
    tree: RTree<Entry>,
}

impl PointIndex {
    /// Bulk-loads the index (O(n log n)); much faster and better balanced than inserting one by one.
    pub fn new(points: &[Point<f64>]) -> PointIndex {
        let entries = points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.x().is_finite() && p.y().is_finite())
            .map(|(i, p)| GeomWithData::new([p.x(), p.y()], i))
            .collect();
        PointIndex {
            tree: RTree::bulk_load(entries),
        }
    }

    /// Number of indexed points.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Positions of the points within `radius_m` metres (inclusive, straight line) of `centre`,
    /// in no particular order.
    ///
    /// # Parameters
    /// - `centre`: query point, RD metres.
    /// - `radius_m`: search radius in metres; a negative or NaN radius finds nothing.
    ///
    /// # Algorithm
    /// rstar's `locate_within_distance` takes the **squared** radius, so we square it here once;
    /// passing the plain radius is the classic bug that silently widens every query.
    pub fn within_distance(
        &self,
        centre: Point<f64>,
        radius_m: f64,
    ) -> impl Iterator<Item = usize> + '_ {
        // `max(0)` would turn NaN into 0 and find identical points; NaN must find nothing.
        let r2 = if radius_m >= 0.0 {
            radius_m * radius_m
        } else {
            -1.0
        };
        self.tree
            .locate_within_distance([centre.x(), centre.y()], r2)
            .map(|e| e.data)
    }

    /// Position of the indexed point nearest to `p` (lowest position among equally near ones
    /// is not guaranteed), or `None` for an empty index.
    pub fn nearest(&self, p: Point<f64>) -> Option<usize> {
        self.tree.nearest_neighbor(&[p.x(), p.y()]).map(|e| e.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_empty_index_finds_nothing() {
        let index = PointIndex::new(&[]);
        assert!(index.is_empty());
        assert_eq!(index.within_distance(Point::new(0.0, 0.0), 1e9).count(), 0);
        assert_eq!(index.nearest(Point::new(0.0, 0.0)), None);
    }

    #[test]
    fn the_radius_is_not_mistaken_for_a_squared_radius() {
        // With the radius passed unsquared, 100 would be read as 10 m.
        let index = PointIndex::new(&[Point::new(50.0, 0.0)]);
        assert_eq!(
            index.within_distance(Point::new(0.0, 0.0), 100.0).count(),
            1
        );
        // And 4 m must not be read as 16 m... nor as 2 m.
        let index = PointIndex::new(&[Point::new(3.0, 0.0)]);
        assert_eq!(index.within_distance(Point::new(0.0, 0.0), 4.0).count(), 1);
        assert_eq!(index.within_distance(Point::new(0.0, 0.0), 2.9).count(), 0);
    }

    #[test]
    fn points_with_non_finite_coordinates_are_nobodys_neighbour() {
        let index = PointIndex::new(&[Point::new(f64::NAN, 0.0), Point::new(0.0, 0.0)]);
        assert_eq!(index.len(), 1);
        let near: Vec<usize> = index.within_distance(Point::new(0.0, 0.0), 10.0).collect();
        assert_eq!(near, vec![1]);
        assert_eq!(
            index
                .within_distance(Point::new(0.0, 0.0), f64::NAN)
                .count(),
            0
        );
    }

    proptest! {
        #[test]
        fn neighbour_queries_equal_brute_force(
            pts in prop::collection::vec((0.0..5_000.0f64, 0.0..5_000.0f64), 0..200),
            q in (0.0..5_000.0f64, 0.0..5_000.0f64),
            r in 0.0..2_000.0f64,
        ) {
            let points: Vec<Point<f64>> = pts.iter().map(|&(x, y)| Point::new(x, y)).collect();
            let index = PointIndex::new(&points);
            let centre = Point::new(q.0, q.1);
            let mut got: Vec<usize> = index.within_distance(centre, r).collect();
            got.sort_unstable();
            let want: Vec<usize> = points
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    let (dx, dy) = (p.x() - centre.x(), p.y() - centre.y());
                    dx * dx + dy * dy <= r * r
                })
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
