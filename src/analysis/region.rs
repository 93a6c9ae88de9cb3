//! The region of a gemeente for the comparison set `kring = "regio"`: the gemeente plus the
//! gemeenten whose boundary touches it (within [`TOUCH_M`]).
//!
//! Input: the loaded areas (RD New, EPSG:28992, metres). Output: per gemeente code, its
//! neighbouring gemeente codes, sorted. The gemeente polygons are used when loaded; otherwise
//! the finest areas stand in for their gemeente (two gemeenten touch when an area of one
//! touches an area of the other), so a store with only one gemeente's buurten still works.
//! Candidate pairs come from the area R-tree ([`crate::index::AreaIndex`]); every pair is
//! confirmed by the exact polygon distance.
//!
//! Must not depend on files, GDAL, tokio or the clock (pure, like all of `analysis`).

use std::collections::{BTreeSet, HashMap};

use geo::{BoundingRect, Distance, Euclidean};

use crate::index::AreaIndex;
use crate::model::{Area, AreaCode, Level};

/// Two boundaries closer than this (metres) touch: CBS polygons of neighbours share edges, but
/// generalised files round coordinates, so exact contact is not required.
pub const TOUCH_M: f64 = 1.0;

/// Neighbouring gemeenten per gemeente code (the gemeente itself not included).
pub type Regions = HashMap<AreaCode, Vec<AreaCode>>;

/// The neighbours of every gemeente that has areas in `areas`.
///
/// # Algorithm
/// The gemeente polygons when any are loaded, else every non-water area of the other levels.
/// For each polygon, the R-tree yields the polygons within its bounding circle plus
/// [`TOUCH_M`]; a pair of different gemeenten is neighbours when the exact distance between
/// the two polygons is at most [`TOUCH_M`]. O(n log n) for the tree plus the exact checks of
/// the close pairs.
pub fn regions(areas: &[Area]) -> Regions {
    let gemeenten = areas.iter().any(|a| a.level() == Level::Gemeente);
    let chosen: Vec<&Area> = areas
        .iter()
        .filter(|a| {
            if gemeenten {
                a.level() == Level::Gemeente
            } else {
                !a.water
            }
        })
        .collect();
    let codes: Vec<AreaCode> = chosen.iter().map(|a| a.code.gemeente()).collect();
    let index = AreaIndex::new(chosen.iter().map(|a| a.geometry_rd.clone()).collect());
    let polygons = index.areas();
    let mut pairs: HashMap<AreaCode, BTreeSet<AreaCode>> = HashMap::new();
    for code in &codes {
        pairs.entry(code.clone()).or_default();
    }
    for (i, poly) in polygons.iter().enumerate() {
        let Some(r) = poly.bounding_rect() else {
            continue;
        };
        let reach = r.width().hypot(r.height()) / 2.0 + TOUCH_M;
        for j in index.within_distance(r.center().into(), reach) {
            if j <= i || codes[i] == codes[j] {
                continue;
            }
            if pairs
                .get(&codes[i])
                .is_some_and(|set| set.contains(&codes[j]))
            {
                continue;
            }
            let distance = polygons[j]
                .0
                .iter()
                .map(|p| Euclidean.distance(poly, p))
                .fold(f64::INFINITY, f64::min);
            if distance <= TOUCH_M {
                pairs
                    .entry(codes[i].clone())
                    .or_default()
                    .insert(codes[j].clone());
                pairs
                    .entry(codes[j].clone())
                    .or_default()
                    .insert(codes[i].clone());
            }
        }
    }
    pairs
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Figures;
    use geo_types::{MultiPolygon, polygon};

    fn square(code: &str, x: f64, y: f64, size: f64) -> Area {
        Area {
            code: AreaCode::parse(code).unwrap(),
            name: String::new(),
            water: false,
            figures: Figures::default(),
            geometry_rd: MultiPolygon(vec![polygon![
                (x: x, y: y),
                (x: x + size, y: y),
                (x: x + size, y: y + size),
                (x: x, y: y + size),
            ]]),
        }
    }

    fn names(r: &Regions, code: &str) -> Vec<String> {
        r[&AreaCode::parse(code).unwrap()]
            .iter()
            .map(|c| c.as_str().to_string())
            .collect()
    }

    #[test]
    fn gemeenten_that_share_an_edge_or_lie_within_a_metre_are_neighbours_others_are_not() {
        // A row of three 1 km gemeenten: 0001 | 0002 | 0003 (0003 0.5 m apart, rounding), and
        // 0004 2 m above 0001 (a gap: not a neighbour).
        let areas = vec![
            square("GM0001", 0.0, 0.0, 1000.0),
            square("GM0002", 1000.0, 0.0, 1000.0),
            square("GM0003", 2000.5, 0.0, 1000.0),
            square("GM0004", 0.0, 1002.0, 1000.0),
        ];
        let r = regions(&areas);
        assert_eq!(names(&r, "GM0001"), ["GM0002"]);
        assert_eq!(names(&r, "GM0002"), ["GM0001", "GM0003"]);
        assert_eq!(names(&r, "GM0003"), ["GM0002"]);
        assert!(names(&r, "GM0004").is_empty());
    }

    #[test]
    fn without_gemeente_polygons_touching_buurten_of_two_gemeenten_make_them_neighbours() {
        let areas = vec![
            square("BU00010001", 0.0, 0.0, 100.0),
            square("BU00010002", 100.0, 0.0, 100.0),
            square("BU00020001", 200.0, 0.0, 100.0),
            square("BU00030001", 500.0, 0.0, 100.0),
        ];
        let r = regions(&areas);
        assert_eq!(names(&r, "GM0001"), ["GM0002"]);
        assert_eq!(names(&r, "GM0002"), ["GM0001"]);
        assert!(names(&r, "GM0003").is_empty());
    }
}
