//! [`AreaIndex`]: a bulk-loaded R-tree of area envelopes with exact geometry checks after.
//!
//! Input: (multi)polygons in RD New (EPSG:28992), metres. Output: positions in that input slice.

use geo::{BoundingRect, Distance, Euclidean, Intersects};
use geo_types::{MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// One indexed envelope and the position of its polygon in the input slice.
type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// An R-tree over the bounding boxes of areas, keeping the areas for the exact test.
///
/// The tree only narrows the search to areas whose box is close; every answer is confirmed
/// against the real polygon, so boxes never leak false positives.
///
/// # Examples
/// ```
/// use buurtcirkel::index::AreaIndex;
/// use geo_types::{MultiPolygon, Point, polygon};
///
/// let west = MultiPolygon(vec![polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)]]);
/// let east = MultiPolygon(vec![polygon![(x: 100.0, y: 0.0), (x: 200.0, y: 0.0), (x: 200.0, y: 100.0), (x: 100.0, y: 100.0)]]);
/// let index = AreaIndex::new(vec![west, east]);
/// assert_eq!(index.locate(Point::new(150.0, 50.0)), Some(1));
/// assert_eq!(index.locate(Point::new(100.0, 50.0)), Some(0)); // shared edge: lowest position
/// assert_eq!(index.locate(Point::new(500.0, 50.0)), None);
/// assert_eq!(index.within_distance(Point::new(250.0, 50.0), 60.0), vec![1]);
/// ```
#[derive(Debug, Clone)]
pub struct AreaIndex {
    tree: RTree<Entry>,
    areas: Vec<MultiPolygon<f64>>,
    /// Per area, the box of each of its polygons (`None`: empty), so `locate` tests a point
    /// against a polygon's rings only when it is in that polygon's box and never recomputes
    /// a box (geo's `Intersects` for a multipolygon walks every vertex for its box first).
    boxes: Vec<Vec<Option<geo::Rect<f64>>>>,
}

impl AreaIndex {
    /// Bulk-loads the envelopes of `areas` (O(n log n)). Empty geometries are kept (so
    /// positions stay aligned) but never found.
    pub fn new(areas: Vec<MultiPolygon<f64>>) -> AreaIndex {
        let entries = areas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let r = a.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        let boxes = areas
            .iter()
            .map(|a| a.0.iter().map(BoundingRect::bounding_rect).collect())
            .collect();
        AreaIndex {
            tree: RTree::bulk_load(entries),
            areas,
            boxes,
        }
    }

    /// The indexed areas, in input order.
    pub fn areas(&self) -> &[MultiPolygon<f64>] {
        &self.areas
    }

    /// The position of the area that contains `p` (boundary included). Where areas overlap or
    /// share an edge, the lowest position wins, so the answer never depends on tree layout.
    pub fn locate(&self, p: Point<f64>) -> Option<usize> {
        // The boxes holding `p`, tested lowest position first: the first area that contains
        // `p` is the answer, so the polygons of the others (bounding boxes of neighbouring
        // wijken and gemeenten overlap a lot) are never walked.
        let mut candidates: Vec<usize> = self
            .tree
            .locate_all_at_point(&[p.x(), p.y()])
            .map(|e| e.data)
            .collect();
        candidates.sort_unstable();
        candidates.into_iter().find(|&i| self.contains(i, p))
    }

    /// Whether area `i` contains `p`, boundary included: the same answer as geo's
    /// `MultiPolygon::intersects(&p)` (any polygon whose rings do not leave `p` outside).
    fn contains(&self, i: usize, p: Point<f64>) -> bool {
        let c = p.0;
        self.areas[i]
            .0
            .iter()
            .zip(&self.boxes[i])
            .any(|(polygon, rect)| {
                rect.is_some_and(|r| {
                    r.min().x <= c.x && c.x <= r.max().x && r.min().y <= c.y && c.y <= r.max().y
                }) && polygon.intersects(&c)
            })
    }

    /// Positions (ascending) of the areas within `radius_m` metres (straight line, inclusive)
    /// of `p`; an area containing `p` is at distance 0.
    pub fn within_distance(&self, p: Point<f64>, radius_m: f64) -> Vec<usize> {
        if radius_m.is_nan() || radius_m < 0.0 {
            return Vec::new();
        }
        let query = AABB::from_corners(
            [p.x() - radius_m, p.y() - radius_m],
            [p.x() + radius_m, p.y() + radius_m],
        );
        let mut found: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(&query)
            .map(|e| e.data)
            .filter(|&i| {
                let area = &self.areas[i];
                area.intersects(&p) || Euclidean.distance(&p, area) <= radius_m
            })
            .collect();
        found.sort_unstable();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0),
            (x: x0 + side, y: y0),
            (x: x0 + side, y: y0 + side),
            (x: x0, y: y0 + side),
        ]])
    }

    #[test]
    fn a_point_in_the_box_but_outside_the_polygon_is_not_located() {
        // A triangle fills half its box; the box alone would say yes.
        let triangle = MultiPolygon(vec![polygon![
            (x: 0.0, y: 0.0),
            (x: 100.0, y: 0.0),
            (x: 0.0, y: 100.0),
        ]]);
        let index = AreaIndex::new(vec![triangle]);
        assert_eq!(index.locate(Point::new(10.0, 10.0)), Some(0));
        assert_eq!(index.locate(Point::new(90.0, 90.0)), None);
    }

    #[test]
    fn an_empty_area_is_kept_in_place_but_never_found() {
        let index = AreaIndex::new(vec![MultiPolygon(vec![]), square(0.0, 0.0, 10.0)]);
        assert_eq!(index.locate(Point::new(5.0, 5.0)), Some(1));
        assert_eq!(index.within_distance(Point::new(5.0, 5.0), 1e6), vec![1]);
    }

    #[test]
    fn areas_near_a_point_are_found_by_true_distance_not_by_box() {
        let index = AreaIndex::new(vec![square(0.0, 0.0, 100.0), square(300.0, 0.0, 100.0)]);
        // (200, 50) is 100 m from both squares.
        assert_eq!(
            index.within_distance(Point::new(200.0, 50.0), 100.0),
            vec![0, 1]
        );
        assert_eq!(
            index.within_distance(Point::new(200.0, 50.0), 99.0),
            Vec::<usize>::new()
        );
        // Diagonal: the box corner query would admit (410, 110), the true distance is 14.1 m.
        assert_eq!(
            index.within_distance(Point::new(410.0, 110.0), 12.0),
            Vec::<usize>::new()
        );
        assert_eq!(
            index.within_distance(Point::new(410.0, 110.0), 15.0),
            vec![1]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// `locate` answers as the plain scan with geo's `intersects` it speeds up: triangles,
        /// squares with holes and multipolygons on a small integer grid, probes on vertices,
        /// edges and in holes.
        #[test]
        fn locate_equals_the_lowest_area_geo_says_intersects(
            shapes in proptest::collection::vec(
                proptest::collection::vec((0..12i32, 0..12i32, 1..6i32, 0..3u8), 1..3),
                1..8,
            ),
            probes in proptest::collection::vec((0..36i32, 0..36i32), 1..40),
        ) {
            use geo_types::{LineString, Polygon};
            let areas: Vec<MultiPolygon<f64>> = shapes
                .iter()
                .map(|parts| {
                    MultiPolygon(
                        parts
                            .iter()
                            .map(|&(x, y, side, kind)| {
                                let (x, y, d) = (f64::from(x), f64::from(y), f64::from(side));
                                match kind {
                                    0 => Polygon::new(
                                        LineString::from(vec![(x, y), (x + 2.0 * d, y), (x, y + 2.0 * d), (x, y)]),
                                        vec![],
                                    ),
                                    1 => square(x, y, 2.0 * d).0.remove(0),
                                    _ => Polygon::new(
                                        square(x, y, 3.0 * d).0.remove(0).exterior().clone(),
                                        vec![square(x + d, y + d, d).0.remove(0).exterior().clone()],
                                    ),
                                }
                            })
                            .collect(),
                    )
                })
                .collect();
            let index = AreaIndex::new(areas.clone());
            for &(px, py) in &probes {
                // Half-unit probes land on edges, vertices and hole rings as often as inside.
                let p = Point::new(f64::from(px) / 2.0, f64::from(py) / 2.0);
                let want = areas.iter().position(|a| a.intersects(&p));
                proptest::prop_assert_eq!(index.locate(p), want);
            }
        }
    }
}
