//! Outline inversion, tried as an attacker would (issue 12; docs/privacy.md, "Outlines").
//!
//! The attacker knows the publication rule (it is documented), the published outline of a
//! cluster and the exact homes of all its members but one. For that one member they try every
//! 25 m client node within 500 m of the others and keep the nodes where the rule, applied to
//! the others plus that node, reproduces the published outline. The member's home is then known
//! to lie in one of the candidate nodes; we count the distinct 100 m cells of the publication
//! grid they fall in. The guarantee: no member can be placed in fewer than
//! [`GUARANTEED_CELLS`] cells of 100 m.
//!
//! The same attack against the rule before issue 12 (a buffered hull snapped to the 100 m
//! grid, kept here as `old_hull_outline`) pinned members to a single cell.

use std::collections::{BTreeSet, HashSet};

use buurtcirkel::analysis::generalise::{generalise_cluster, outline_cells};
use buurtcirkel::analysis::grid::{COARSE_CELL_M, coarse_cell, coarse_cell_centre};
use geo::{Contains, ConvexHull};
use geo_types::{MultiPoint, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// docs/privacy.md: "no member can be placed in fewer than 9 cells of 100 m".
const GUARANTEED_CELLS: usize = 9;

/// How far from the other members the attacker searches, metres.
const SEARCH_M: f64 = 500.0;

/// A client node on the 25 m ingest grid.
fn node(x: f64, y: f64) -> Point<f64> {
    Point::new((x / 25.0).round() * 25.0, (y / 25.0).round() * 25.0)
}

/// The 100 m publication-grid cell holding a point (edges at `100 k + 12.5` m).
fn cell_100(p: Point<f64>) -> (i64, i64) {
    (
        ((p.x() - 12.5) / 100.0).floor() as i64,
        ((p.y() - 12.5) / 100.0).floor() as i64,
    )
}

/// 200 clusters around Ermelo (RD New): tight groups, spread groups, four with one member
/// 370 m from the rest, and six clients at one address, plus two addresses of 3 and 2.
fn clusters() -> Vec<Vec<Point<f64>>> {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    (0..200)
        .map(|k| {
            let x0 = 170_000.0 + rng.gen_range(0.0..5_000.0);
            let y0 = 473_000.0 + rng.gen_range(0.0..5_000.0);
            let mut near = |spread: f64| {
                node(
                    x0 + rng.gen_range(-spread..=spread),
                    y0 + rng.gen_range(-spread..=spread),
                )
            };
            match k % 8 {
                0 | 4 => (0..5).map(|_| near(60.0)).collect(),
                1 | 5 => (0..5).map(|_| near(250.0)).collect(),
                2 | 6 => {
                    let mut m: Vec<Point<f64>> = (0..4).map(|_| near(40.0)).collect();
                    let a = rng.gen_range(0.0..std::f64::consts::TAU);
                    m.push(node(x0 + 370.0 * a.cos(), y0 + 370.0 * a.sin()));
                    m
                }
                3 => vec![near(0.0); 6],
                _ => {
                    let (a, b) = (near(200.0), near(200.0));
                    vec![a, a, a, b, b]
                }
            }
        })
        .collect()
}

/// What the attack learned.
#[derive(Debug, Default)]
struct Figures {
    clusters: usize,
    published: usize,
    members: usize,
    /// Distinct 100 m cells a member can be placed in, per attacked member.
    cells: Vec<usize>,
    /// Candidate nodes that are a member's true home / all candidate nodes.
    home_hits: usize,
    candidates: usize,
}

/// Runs the attack on every cluster with the rule `shape` (members -> published shape).
fn attack<S: PartialEq>(
    clusters: &[Vec<Point<f64>>],
    shape: impl Fn(&[Point<f64>]) -> Option<S>,
) -> Figures {
    let mut f = Figures {
        clusters: clusters.len(),
        ..Figures::default()
    };
    for members in clusters {
        let Some(published) = shape(members) else {
            continue;
        };
        f.published += 1;
        for i in 0..members.len() {
            f.members += 1;
            let mut others: Vec<Point<f64>> = members.clone();
            let home = others.remove(i);
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for p in &others {
                (x0, y0) = (x0.min(p.x()), y0.min(p.y()));
                (x1, y1) = (x1.max(p.x()), y1.max(p.y()));
            }
            let mut cells = HashSet::new();
            let mut found_home = false;
            let mut trial = others.clone();
            trial.push(home);
            let mut x = node(x0 - SEARCH_M, 0.0).x();
            while x <= x1 + SEARCH_M {
                let mut y = node(0.0, y0 - SEARCH_M).y();
                while y <= y1 + SEARCH_M {
                    let p = Point::new(x, y);
                    if let Some(last) = trial.last_mut() {
                        *last = p;
                    }
                    if shape(&trial).as_ref() == Some(&published) {
                        cells.insert(cell_100(p));
                        f.candidates += 1;
                        if members.contains(&p) {
                            f.home_hits += 1;
                        }
                        found_home |= p == home;
                    }
                    y += 25.0;
                }
                x += 25.0;
            }
            assert!(
                found_home,
                "the attack must keep the true home as a candidate"
            );
            f.cells.push(cells.len());
        }
    }
    f
}

fn report(what: &str, f: &Figures) {
    let mut cells = f.cells.clone();
    cells.sort_unstable();
    let pinned = cells.iter().filter(|&&c| c < GUARANTEED_CELLS).count();
    println!(
        "{what}: {} clusters, {} published, {} members attacked; fewest 100 m cells for a member: {}, median {}, members in fewer than {GUARANTEED_CELLS} cells: {pinned}, members pinned to 1 cell: {}; candidate nodes that are a stored home: {} of {} ({:.1}%)",
        f.clusters,
        f.published,
        f.members,
        cells.first().copied().unwrap_or(0),
        cells.get(cells.len() / 2).copied().unwrap_or(0),
        cells.iter().filter(|&&c| c == 1).count(),
        f.home_hits,
        f.candidates,
        100.0 * f.home_hits as f64 / f.candidates.max(1) as f64
    );
}

/// The attacker's reading of a published outline: the coarse cells it covers.
fn decode(outline: &MultiPolygon<f64>, near: &[Point<f64>]) -> BTreeSet<(i64, i64)> {
    let mut cells = BTreeSet::new();
    for p in near {
        let (cx, cy) = coarse_cell(p.x(), p.y());
        for dx in -6..=6 {
            for dy in -6..=6 {
                let cell = (cx + dx, cy + dy);
                let (x, y) = coarse_cell_centre(cell);
                if outline.contains(&Point::new(x, y)) {
                    cells.insert(cell);
                }
            }
        }
    }
    cells
}

#[test]
fn no_member_of_200_random_clusters_can_be_placed_in_fewer_than_nine_100_m_cells() {
    let clusters = clusters();
    // The published outline says exactly which coarse cells it covers, and nothing else: the
    // attack can work on those cells (a union of squares costs too much per trial).
    for members in &clusters {
        if let Some(outline) = generalise_cluster(members) {
            assert_eq!(decode(&outline, members), outline_cells(members));
            let area = geo::Area::unsigned_area(&outline);
            let cells = outline_cells(members).len() as f64;
            assert!((area - cells * COARSE_CELL_M * COARSE_CELL_M).abs() < 1e-3);
        } else {
            assert!(outline_cells(members).is_empty());
        }
    }
    let f = attack(&clusters, |m| {
        let cells = outline_cells(m);
        (!cells.is_empty()).then_some(cells)
    });
    report("coarse cells of 3, dilated", &f);
    assert!(
        f.published >= 100,
        "most clusters must still be published: {f:?}"
    );
    let fewest = f.cells.iter().copied().min().unwrap_or(usize::MAX);
    assert!(
        fewest >= GUARANTEED_CELLS,
        "a member was placed in {fewest} cells of 100 m"
    );
}

#[test]
fn the_same_attack_pins_members_under_the_old_hull_rule() {
    // The witness that the attack works: before issue 12, a member 370 m from the rest and
    // six clients at one address were each placed in a single 100 m cell.
    // The first 40 clusters hold every kind (the hull costs more per trial than the cells).
    let f = attack(&clusters()[..40], old_hull_outline);
    report("old buffered hull on the 100 m grid", &f);
    let fewest = f.cells.iter().copied().min().unwrap_or(usize::MAX);
    assert!(
        fewest < GUARANTEED_CELLS,
        "the old rule should place some member in fewer than {GUARANTEED_CELLS} cells: {:?}",
        f.cells
    );
}

/// The published outline before issue 12: hull of the members buffered by 100 m + 50√2 m with
/// a circumscribed 32-gon at every hull vertex, every vertex snapped to the 100 m publication
/// grid, hulled again.
fn old_hull_outline(members: &[Point<f64>]) -> Option<Polygon<f64>> {
    use std::f64::consts::{PI, SQRT_2, TAU};
    if members.len() < 5 {
        return None;
    }
    let snap = |v: f64| ((v - 12.5) / 100.0).round() * 100.0 + 12.5;
    let hull = MultiPoint(members.to_vec()).convex_hull();
    let reach = 100.0 + 100.0 * SQRT_2 / 2.0;
    let corners = 32;
    let circumradius = reach / (PI / f64::from(corners)).cos();
    let buffered: Vec<Point<f64>> = hull
        .exterior()
        .coords()
        .flat_map(|v| {
            (0..corners).map(move |k| {
                let a = TAU * f64::from(k) / f64::from(corners);
                Point::new(v.x + circumradius * a.cos(), v.y + circumradius * a.sin())
            })
        })
        .collect();
    let snapped: Vec<Point<f64>> = MultiPoint(buffered)
        .convex_hull()
        .exterior()
        .coords()
        .map(|c| Point::new(snap(c.x), snap(c.y)))
        .collect();
    Some(MultiPoint(snapped).convex_hull())
}
