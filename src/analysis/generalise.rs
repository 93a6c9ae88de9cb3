//! Privacy generalisation of what is published about clusters and sites (docs/privacy.md,
//! "Outlines").
//!
//! Input: client positions in RD New (EPSG:28992), metres, a [`Clustering`] and [`Site`]s.
//! Output: [`Published`] clusters and sites that carry only shapes made of whole cells of the
//! fixed 250 m public grid ([`COARSE_CELL_M`], RD metres), a count [`Bucket`] and ids. Exact
//! counts, member lists and client coordinates never leave this module in its output types:
//! every bucket is that of the group's cell-key-perturbed count ([`super::cellkey`]), and a
//! group is published when that perturbed count reaches the minimum.
//!
//! No published shape is a function of individual positions: an outline is the set of coarse
//! cells that hold at least [`MIN_CELL_MEMBERS`] members, dilated by one cell, so a member can
//! only be placed in a whole 250 m cell (at least 9 cells of 100 m) and a member alone in its
//! cell does not shape the outline at all; a site is published as the centre of its coarse cell.
//!
//! This module touches no files, GDAL, tokio or the clock.

use std::collections::BTreeSet;
use std::f64::consts::{PI, TAU};

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon, coord};
use rayon::prelude::*;

use super::cellkey::{cell_key, perturbed};
use super::cluster::Clustering;
use super::grid::{COARSE_CELL_M, coarse_cell, coarse_cell_centre, coarse_cell_origin};
use super::sites::Site;
use crate::model::Bucket;

/// A cluster or site is published only with at least this many members.
pub const MIN_PUBLISHED_MEMBERS: usize = 5;

/// A coarse cell shapes a cluster's outline only when it holds at least this many of the
/// cluster's members; a member can then never be told apart from the others in its cell.
pub const MIN_CELL_MEMBERS: usize = 3;

/// Guaranteed distance, metres, from every member in an outline-shaping cell (one holding at
/// least [`MIN_CELL_MEMBERS`] members) to the boundary of its published outline: one cell.
pub const CELL_MARGIN_M: f64 = COARSE_CELL_M;

/// Vertices of the polygons that approximate circles.
const CIRCLE_VERTICES: usize = 64;

/// A published cluster: outline of whole coarse cells, member bucket, id. Nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCluster {
    /// Published id, `0..` in the order of the internal cluster ids.
    pub id: usize,
    /// Number of members, as a bucket.
    pub members: Bucket,
    /// The union of the coarse cells around every cell holding at least [`MIN_CELL_MEMBERS`]
    /// members (see [`outline_cells`]), vertices on the 250 m grid, RD metres.
    pub geometry_rd: MultiPolygon<f64>,
}

/// A published candidate site: coarse-cell centre, walking-radius circle, participant bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSite {
    /// Published id, `0..` in the order of the input sites.
    pub id: usize,
    /// The [`PublishedCluster::id`] the site lies in.
    pub cluster_id: usize,
    /// Number of participants, as a bucket.
    pub participants: Bucket,
    /// The centre of the coarse cell holding the site's centre, RD metres.
    pub centre_rd: Point<f64>,
    /// A polygon containing the disk of the walking radius around the centre, RD metres.
    pub geometry_rd: Polygon<f64>,
    /// With a street network: the area reachable on foot within the walking distance from the
    /// published centre (an isochrone of whole 100 m cells), which then is the published shape.
    /// It depends only on the published centre and the public streets.
    pub reach_rd: Option<MultiPolygon<f64>>,
}

/// Everything the analysis may publish about clients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Published {
    /// Clusters with at least [`MIN_PUBLISHED_MEMBERS`] members and one outline-shaping cell.
    pub clusters: Vec<PublishedCluster>,
    /// Sites with at least [`MIN_PUBLISHED_MEMBERS`] participants in a published cluster; where
    /// a dense cell has room for several circles, several sites share that cell's centre.
    pub sites: Vec<PublishedSite>,
}

/// What [`publish`] needs besides the clients: the walking radius drawn around a site and the
/// minimum a perturbed count must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishParams {
    /// The walking radius drawn around a site centre, metres.
    pub walk_m: f64,
    /// A cluster or site is published when its perturbed count reaches this (and at least
    /// [`MIN_PUBLISHED_MEMBERS`]).
    pub min_participants: usize,
}

impl PublishParams {
    /// Walking radius `walk_m` metres, the default minimum of 5 participants.
    pub fn walk(walk_m: f64) -> PublishParams {
        PublishParams {
            walk_m,
            min_participants: MIN_PUBLISHED_MEMBERS,
        }
    }
}

/// Generalises clusters and sites for publication.
///
/// # Parameters
/// - `points`: client positions, RD metres (the slice that was clustered).
/// - `keys`: the clients' cell keys, `[0, 1)`, parallel to `points`.
/// - `clustering`: the DBSCAN result.
/// - `sites`: candidate sites from [`find_sites`](super::sites::find_sites).
/// - `params`: walking radius and minimum participants ([`PublishParams`]).
///
/// # Returns
/// Every count is perturbed with the group's cell key ([`super::cellkey`]): the bucket is that
/// of the perturbed count. Clusters whose perturbed count is below the minimum (and 5) or
/// without a coarse cell of [`MIN_CELL_MEMBERS`] are left out, and so are sites whose
/// perturbed count is below it and sites of unpublished clusters. Published ids are renumbered without gaps so the ids
/// do not betray that small clusters existed. See [`generalise_cluster`] and [`site_circle`].
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cluster::Dbscan;
/// use buurtcirkel::analysis::generalise::{PublishParams, publish};
/// use buurtcirkel::analysis::metric::StraightLine;
/// use buurtcirkel::analysis::sites::{SiteParams, find_sites};
/// use buurtcirkel::model::Bucket;
/// use geo_types::Point;
///
/// let points: Vec<Point<f64>> = (0..9).map(|i| Point::new(155_025.0 + 50.0 * i as f64, 463_075.0)).collect();
/// let clustering = Dbscan::default().cluster(&StraightLine, &points);
/// let sites = find_sites(&StraightLine, &points, &clustering, &SiteParams::default());
/// // Keys summing to 4.5: cell key 0.5, noise 0 for 9 members.
/// let keys = vec![0.5; 9];
/// let published = publish(&points, &keys, &clustering, &sites, PublishParams::walk(800.0));
/// assert_eq!(published.clusters.len(), 1);
/// assert_eq!(published.clusters[0].members, Bucket::From9To12);
/// // Vertices on the 250 m grid (cell edges at 250 k + 12.5 m).
/// let on_grid = |v: f64| ((v - 12.5) / 250.0).fract() == 0.0;
/// assert!(published.clusters[0].geometry_rd.0.iter().all(|p| p.exterior().coords().all(|c| on_grid(c.x) && on_grid(c.y))));
/// assert_eq!(published.sites.len(), 1);
/// ```
pub fn publish(
    points: &[Point<f64>],
    keys: &[f64],
    clustering: &Clustering,
    sites: &[Site],
    params: PublishParams,
) -> Published {
    // The sites' counts and circles are drawn beside the outlines (a national cluster's
    // outline is one long task).
    let (outlines, circles) = rayon::join(
        || Outlines::draw(points, keys, clustering, params),
        || Circles::draw(keys, sites, params),
    );
    outlines.publish(circles, sites)
}

/// A member count as published: perturbed by the members' cell key (docs/privacy.md).
fn perturbed_of(keys: &[f64], members: &[usize]) -> usize {
    let key = cell_key(members.iter().map(|&i| keys.get(i).copied().unwrap_or(0.0)));
    perturbed(members.len(), key)
}

/// The first half of [`publish`], which needs the clustering only: every cluster's perturbed
/// count and outline (`None`: not published), so a caller can draw them while the sites are
/// still being chosen.
pub struct Outlines(Vec<Option<(usize, MultiPolygon<f64>)>>);

/// The sites' half of [`publish`]: every site's perturbed count and circle (centre and
/// polygon, [`site_circle`]), in site order.
pub struct Circles(Vec<Option<(usize, SiteCircle)>>);

/// A site's published centre and circle.
type SiteCircle = (Point<f64>, Polygon<f64>);

impl Outlines {
    /// Existence follows the perturbed count, so a sweep of `min_participants` learns where
    /// the perturbed count lies, never the exact size. Outlines are independent per cluster:
    /// drawn in parallel, numbered in cluster order by [`Outlines::publish`].
    pub fn draw(
        points: &[Point<f64>],
        keys: &[f64],
        clustering: &Clustering,
        params: PublishParams,
    ) -> Outlines {
        let floor = params.min_participants.max(MIN_PUBLISHED_MEMBERS);
        Outlines(
            clustering
                .members()
                .par_iter()
                .map(|members| {
                    let count = perturbed_of(keys, members);
                    if count < floor || members.len() < MIN_PUBLISHED_MEMBERS {
                        return None;
                    }
                    let member_points: Vec<Point<f64>> =
                        members.iter().map(|&i| points[i]).collect();
                    generalise_cluster(&member_points).map(|g| (count, g))
                })
                .collect(),
        )
    }

    /// The published clusters and the sites of published clusters, numbered in order.
    /// `circles` must be [`Circles::draw`] of `sites`.
    pub fn publish(self, circles: Circles, sites: &[Site]) -> Published {
        let mut published = Published::default();
        let mut published_id = vec![None; self.0.len()];
        for (cluster, outline) in self.0.into_iter().enumerate() {
            if let Some((count, geometry_rd)) = outline {
                published_id[cluster] = Some(published.clusters.len());
                published.clusters.push(PublishedCluster {
                    id: published.clusters.len(),
                    members: Bucket::of(count),
                    geometry_rd,
                });
            }
        }
        for (site, circle) in sites.iter().zip(circles.0) {
            let Some(cluster_id) = published_id.get(site.cluster).copied().flatten() else {
                continue;
            };
            let Some((count, (centre_rd, geometry_rd))) = circle else {
                continue;
            };
            published.sites.push(PublishedSite {
                id: published.sites.len(),
                cluster_id,
                participants: Bucket::of(count),
                centre_rd,
                geometry_rd,
                reach_rd: None,
            });
        }
        published
    }
}

impl Circles {
    /// Every site's perturbed count and circle (`None`: below the floor), in parallel.
    pub fn draw(keys: &[f64], sites: &[Site], params: PublishParams) -> Circles {
        let floor = params.min_participants.max(MIN_PUBLISHED_MEMBERS);
        Circles(
            sites
                .par_iter()
                .map(|site| {
                    let count = perturbed_of(keys, &site.participants);
                    if count < floor || site.participants.len() < MIN_PUBLISHED_MEMBERS {
                        return None;
                    }
                    site_circle(site.centre_rd, params.walk_m).map(|c| (count, c))
                })
                .collect(),
        )
    }
}

/// The coarse cells a cluster's outline is made of: every cell holding at least
/// [`MIN_CELL_MEMBERS`] members, dilated by one cell (its 8 neighbours). Empty below
/// [`MIN_PUBLISHED_MEMBERS`] finite members.
///
/// This is the whole of what the outline says: [`generalise_cluster`] only draws these cells.
/// Moving a member within its cell, or moving, adding or removing a member in a cell that stays
/// on the same side of the threshold, leaves the set unchanged.
pub fn outline_cells(members: &[Point<f64>]) -> BTreeSet<(i64, i64)> {
    let finite: Vec<&Point<f64>> = members
        .iter()
        .filter(|p| p.x().is_finite() && p.y().is_finite())
        .collect();
    let mut cells = BTreeSet::new();
    if finite.len() < MIN_PUBLISHED_MEMBERS {
        return cells;
    }
    // Members per cell as runs of the sorted cells (a national cluster's 957,573 members
    // counted in a hash map were most of the publish step).
    let mut of: Vec<(i64, i64)> = finite.iter().map(|p| coarse_cell(p.x(), p.y())).collect();
    of.sort_unstable();
    for run in of.chunk_by(|a, b| a == b) {
        if run.len() >= MIN_CELL_MEMBERS {
            let (cx, cy) = run[0];
            for dx in -1..=1 {
                for dy in -1..=1 {
                    cells.insert((cx + dx, cy + dy));
                }
            }
        }
    }
    cells
}

/// The published outline of one cluster, or `None` below [`MIN_PUBLISHED_MEMBERS`] members or
/// when no coarse cell holds [`MIN_CELL_MEMBERS`] of them.
///
/// # Parameters
/// - `members`: member positions, RD metres (non-finite ones are ignored).
///
/// # Returns
/// The union of the 250 m cells of [`outline_cells`], vertices on the coarse grid (so 12.5 m
/// off every client node in both axes). Every member in an outline-shaping cell lies at least
/// [`CELL_MARGIN_M`] inside it; a member in a cell of fewer than [`MIN_CELL_MEMBERS`] may lie
/// outside. Cost O(n) for the cell counts plus the union of the cells' squares.
pub fn generalise_cluster(members: &[Point<f64>]) -> Option<MultiPolygon<f64>> {
    let cells = outline_cells(members);
    if cells.is_empty() {
        return None;
    }
    Some(cells_polygon(&cells))
}

/// The union of coarse cells as polygons, RD metres.
fn cells_polygon(cells: &BTreeSet<(i64, i64)>) -> MultiPolygon<f64> {
    let squares: Vec<Polygon<f64>> = cells
        .iter()
        .map(|&cell| {
            let (x, y) = coarse_cell_origin(cell);
            let (x1, y1) = (x + COARSE_CELL_M, y + COARSE_CELL_M);
            Polygon::new(
                LineString(vec![
                    coord! { x: x, y: y },
                    coord! { x: x1, y: y },
                    coord! { x: x1, y: y1 },
                    coord! { x: x, y: y1 },
                    coord! { x: x, y: y },
                ]),
                vec![],
            )
        })
        .collect();
    geo::unary_union(&squares)
}

/// A site's published shape: the centre of the coarse cell holding `centre_rd` and a 64-gon
/// that contains the disk of `walk_m` metres around it. `None` for a non-finite centre or
/// radius.
///
/// The published centre lies within `125·√2 ≈ 177` m of the site's own centre, so a
/// participant lives within `walk_m + 177` m of it; the circle shows where the meeting place
/// should be reachable, not who lives there.
pub fn site_circle(centre_rd: Point<f64>, walk_m: f64) -> Option<(Point<f64>, Polygon<f64>)> {
    if !(centre_rd.x().is_finite()
        && centre_rd.y().is_finite()
        && walk_m.is_finite()
        && walk_m > 0.0)
    {
        return None;
    }
    let (cx, cy) = coarse_cell_centre(coarse_cell(centre_rd.x(), centre_rd.y()));
    let c = Point::new(cx, cy);
    let r = walk_m / (PI / CIRCLE_VERTICES as f64).cos();
    let ring: Vec<Coord<f64>> = (0..=CIRCLE_VERTICES)
        .map(|k| {
            let a = TAU * (k % CIRCLE_VERTICES) as f64 / CIRCLE_VERTICES as f64;
            Coord {
                x: c.x() + r * a.cos(),
                y: c.y() + r * a.sin(),
            }
        })
        .collect();
    Some((c, Polygon::new(LineString(ring), vec![])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::cluster::Dbscan;
    use crate::analysis::metric::StraightLine;
    use crate::analysis::sites::{SiteParams, find_sites};
    use geo::{Contains, Distance, Euclidean};
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Distance from a member to the outside of the published outline (0 if outside).
    fn margin(outline: &MultiPolygon<f64>, p: Point<f64>) -> f64 {
        if outline.contains(&p) {
            outline
                .0
                .iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
                .map(|ring| Euclidean.distance(&p, ring))
                .fold(f64::INFINITY, f64::min)
        } else {
            0.0
        }
    }

    fn on_coarse_grid(v: f64) -> bool {
        ((v - crate::analysis::grid::PUBLISH_GRID_OFFSET_M) / COARSE_CELL_M).fract() == 0.0
    }

    fn vertices(outline: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
        outline
            .0
            .iter()
            .flat_map(|p| {
                p.exterior()
                    .coords()
                    .chain(p.interiors().iter().flat_map(|r| r.coords()))
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn fewer_than_five_members_are_not_published() {
        let four = vec![Point::new(155_000.0, 463_000.0); 4];
        assert_eq!(generalise_cluster(&four), None);
        // Even if the analysis was run with a lower minimum.
        let clustering = Dbscan::new(800.0, 2).unwrap().cluster(&StraightLine, &four);
        assert_eq!(clustering.cluster_count(), 1);
        let sites = find_sites(
            &StraightLine,
            &four,
            &clustering,
            &SiteParams {
                min_participants: 2,
                ..SiteParams::default()
            },
        );
        assert!(!sites.is_empty());
        assert_eq!(
            // Keys whose noise would lift 4 to 6: a group of four still stays unpublished.
            publish(
                &four,
                &[0.24; 4],
                &clustering,
                &sites,
                PublishParams {
                    walk_m: 800.0,
                    min_participants: 2
                }
            ),
            Published::default()
        );
    }

    #[test]
    fn a_cluster_without_a_cell_of_three_members_has_no_outline() {
        // Five members, each alone in its 250 m cell.
        let members: Vec<Point<f64>> = (0..5)
            .map(|i| Point::new(155_025.0 + 300.0 * f64::from(i), 463_025.0))
            .collect();
        assert_eq!(generalise_cluster(&members), None);
    }

    #[test]
    fn a_lone_far_member_does_not_shape_the_outline() {
        // A tight group of five and one member 700 m out: the outline is the group's 3 x 3
        // block of cells, wherever the lone member lives.
        let mut members = vec![Point::new(155_025.0, 463_025.0); 5];
        let group = generalise_cluster(&members).unwrap();
        members.push(Point::new(155_725.0, 463_025.0));
        let with_lone = generalise_cluster(&members).unwrap();
        assert_eq!(group, with_lone);
        members[5] = Point::new(155_750.0, 463_300.0);
        assert_eq!(generalise_cluster(&members).unwrap(), group);
        assert!(margin(&group, members[0]) >= CELL_MARGIN_M - 1e-6);
    }

    #[test]
    fn identical_members_are_published_as_the_block_of_nine_cells_around_them() {
        let members = vec![Point::new(155_000.0, 463_000.0); 7];
        let outline = generalise_cluster(&members).unwrap();
        assert_eq!(outline.0.len(), 1);
        assert!(
            vertices(&outline)
                .iter()
                .all(|c| on_coarse_grid(c.x) && on_coarse_grid(c.y))
        );
        assert!((geo::Area::unsigned_area(&outline) - 9.0 * 250.0 * 250.0).abs() < 1e-6);
        assert!(margin(&outline, members[0]) >= CELL_MARGIN_M);
    }

    #[test]
    fn no_coarse_grid_line_or_centre_can_be_a_snapped_client_home() {
        // Clients live on the 25 m grid; coarse edges and centres are 12.5 m off it.
        for k in -40..40 {
            let v = 155_000.0 + 25.0 * f64::from(k);
            let cell = coarse_cell(v, v);
            let (ox, _) = coarse_cell_origin(cell);
            let (cx, _) = coarse_cell_centre(cell);
            assert!(((ox - v) / 25.0).fract().abs() > 0.4, "{v} -> {ox}");
            assert!(((cx - v) / 25.0).fract().abs() > 0.4, "{v} -> {cx}");
            assert!(ox <= v && v < ox + COARSE_CELL_M);
        }
    }

    #[test]
    fn a_site_is_published_as_its_coarse_cell_centre_with_the_walking_radius() {
        let (c, poly) = site_circle(Point::new(155_040.0, 463_060.0), 800.0).unwrap();
        assert_eq!(c, Point::new(155_137.5, 463_137.5));
        assert!(poly.contains(&Point::new(155_137.5 + 799.9, 463_137.5)));
        assert!(poly.contains(&Point::new(155_137.5 + 565.0, 463_137.5 + 565.0)));
        assert_eq!(site_circle(Point::new(f64::NAN, 0.0), 800.0), None);
    }

    #[test]
    fn published_counts_are_buckets_only() {
        // 13 members: published as ">12", never as 13.
        let points: Vec<Point<f64>> = (0..13)
            .map(|i| Point::new(155_000.0 + 25.0 * i as f64, 463_000.0))
            .collect();
        let clustering = Dbscan::default().cluster(&StraightLine, &points);
        // Whatever the keys: the noise is at most 2, so 13 stays above 12 or becomes "9-12".
        for key in [0.05, 0.3, 0.6, 0.95] {
            let keys = vec![key; 13];
            let published = publish(&points, &keys, &clustering, &[], PublishParams::walk(800.0));
            let label = published.clusters[0].members.label();
            assert!(label == ">12" || label == "9-12", "{label}");
        }
    }

    #[test]
    fn a_cluster_bucket_follows_its_perturbed_count_not_its_exact_size() {
        let points = vec![Point::new(155_000.0, 463_000.0); 7];
        let clustering = Dbscan::default().cluster(&StraightLine, &points);
        let bucket = |key: f64| {
            let published = publish(
                &points,
                &[key; 7],
                &clustering,
                &[],
                PublishParams::walk(800.0),
            );
            published.clusters.first().map(|c| c.members.label())
        };
        // Cell key frac(7 k): 0 gives noise -2 (5, "5-8"), 0.91 gives +2 (9, "9-12").
        assert_eq!(bucket(0.0), Some("5-8"));
        assert_eq!(bucket(0.13), Some("9-12"));
        // And a higher minimum hides it by the perturbed count: 5 < 6 although 7 >= 6.
        let hidden = publish(
            &points,
            &[0.0; 7],
            &clustering,
            &[],
            PublishParams {
                walk_m: 800.0,
                min_participants: 6,
            },
        );
        assert!(hidden.clusters.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn an_attacker_cannot_read_a_member_off_a_published_outline(
            pts in prop::collection::vec((0..60i32, 0..60i32), 5..60),
            offset in (0..4_000i32, 0..4_000i32),
        ) {
            // Members on the 25 m ingest grid.
            let members: Vec<Point<f64>> = pts
                .iter()
                .map(|&(x, y)| Point::new(25.0 * (offset.0 + x) as f64 + 150_000.0, 25.0 * (offset.1 + y) as f64 + 400_000.0))
                .collect();
            let Some(outline) = generalise_cluster(&members) else {
                // No cell of three: nothing is drawn.
                prop_assert!(outline_cells(&members).is_empty());
                return Ok(());
            };
            for c in vertices(&outline) {
                prop_assert!(on_coarse_grid(c.x) && on_coarse_grid(c.y), "vertex {:?} off the 250 m grid", c);
                for m in &members {
                    prop_assert!(Euclidean.distance(&Point::from(c), m) >= 12.5, "vertex near a member");
                }
            }
            let mut count: HashMap<(i64, i64), usize> = HashMap::new();
            for m in &members {
                *count.entry(coarse_cell(m.x(), m.y())).or_default() += 1;
            }
            for m in &members {
                if count[&coarse_cell(m.x(), m.y())] >= MIN_CELL_MEMBERS {
                    prop_assert!(margin(&outline, *m) >= CELL_MARGIN_M - 1e-6, "member {:?} too close to the edge", m);
                }
            }
            // Moving any member within its own cell changes nothing.
            let mut moved = members.clone();
            let (ox, oy) = coarse_cell_origin(coarse_cell(moved[0].x(), moved[0].y()));
            moved[0] = Point::new(ox + 12.5, oy + 237.5);
            prop_assert_eq!(generalise_cluster(&moved), Some(outline));
        }

        #[test]
        fn published_site_centres_are_coarse_cell_centres_near_the_site(
            pts in prop::collection::vec((0..60i32, 0..60i32), 0..80),
        ) {
            let points: Vec<Point<f64>> = pts.iter().map(|&(x, y)| Point::new(25.0 * x as f64, 25.0 * y as f64)).collect();
            let clustering = Dbscan::default().cluster(&StraightLine, &points);
            let sites = find_sites(&StraightLine, &points, &clustering, &SiteParams::default());
            let keys: Vec<f64> = (0..points.len()).map(|i| (i as f64 * 0.618_034).fract()).collect();
            let published = publish(&points, &keys, &clustering, &sites, PublishParams::walk(800.0));
            prop_assert!(published.sites.len() <= sites.len());
            for shown in &published.sites {
                let cell = coarse_cell(shown.centre_rd.x(), shown.centre_rd.y());
                prop_assert_eq!(coarse_cell_centre(cell), (shown.centre_rd.x(), shown.centre_rd.y()));
                prop_assert!(sites.iter().any(|s| Euclidean.distance(&s.centre_rd, &shown.centre_rd) <= 125.0 * std::f64::consts::SQRT_2 + 1e-9));
            }
        }
    }
}
