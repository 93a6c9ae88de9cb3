//! Privacy generalisation of what is published about clusters and sites (DESIGN.md, rule 4).
//!
//! Input: client positions in RD New (EPSG:28992), metres, a [`Clustering`] and [`Site`]s.
//! Output: [`Published`] clusters and sites that carry only a generalised geometry (RD metres),
//! a count [`Bucket`] and ids. Exact counts, member lists and client coordinates never leave
//! this module in its output types.
//!
//! This module touches no files, GDAL, tokio or the clock.

use std::f64::consts::{PI, SQRT_2, TAU};

use geo::ConvexHull;
use geo_types::{Coord, LineString, MultiPoint, MultiPolygon, Point, Polygon};

use super::cluster::Clustering;
use super::grid::{PUBLISH_GRID_M, snap_to_publish_grid};
use super::sites::Site;
use crate::model::Bucket;

/// A cluster or site is published only with at least this many members.
pub const MIN_PUBLISHED_MEMBERS: usize = 5;

/// Guaranteed distance, metres, from every member to the boundary of its published cluster.
pub const HULL_MARGIN_M: f64 = 100.0;

/// Vertices of the polygons that approximate circles.
const CIRCLE_VERTICES: usize = 64;

/// A published cluster: generalised outline, member bucket, id. Nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedCluster {
    /// Published id, `0..` in the order of the internal cluster ids.
    pub id: usize,
    /// Number of members, as a bucket.
    pub members: Bucket,
    /// Convex hull buffered by at least [`HULL_MARGIN_M`], vertices on the 100 m grid, RD metres.
    pub geometry_rd: Polygon<f64>,
}

/// A published candidate site: snapped centre, walking-radius circle, participant bucket, ids.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSite {
    /// Published id, `0..` in the order of the input sites.
    pub id: usize,
    /// The [`PublishedCluster::id`] the site lies in.
    pub cluster_id: usize,
    /// Number of participants, as a bucket.
    pub participants: Bucket,
    /// Centre snapped to the 100 m grid, RD metres.
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
    /// Clusters with at least [`MIN_PUBLISHED_MEMBERS`] members.
    pub clusters: Vec<PublishedCluster>,
    /// Sites with at least [`MIN_PUBLISHED_MEMBERS`] participants in a published cluster.
    pub sites: Vec<PublishedSite>,
}

/// Generalises clusters and sites for publication.
///
/// # Parameters
/// - `points`: client positions, RD metres (the slice that was clustered).
/// - `clustering`: the DBSCAN result.
/// - `sites`: candidate sites from [`find_sites`](super::sites::find_sites).
/// - `walk_m`: the walking radius drawn around a site centre, metres.
///
/// # Returns
/// Clusters with fewer than 5 members and sites with fewer than 5 participants are left out,
/// and published ids are renumbered without gaps so the ids do not betray that small clusters
/// existed. See [`generalise_cluster`] and [`site_circle`] for the geometries.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cluster::Dbscan;
/// use buurtcirkel::analysis::generalise::publish;
/// use buurtcirkel::analysis::grid::on_publish_grid;
/// use buurtcirkel::analysis::metric::StraightLine;
/// use buurtcirkel::analysis::sites::{SiteParams, find_sites};
/// use buurtcirkel::model::Bucket;
/// use geo_types::Point;
///
/// let points: Vec<Point<f64>> = (0..9).map(|i| Point::new(155_025.0 + 50.0 * i as f64, 463_075.0)).collect();
/// let clustering = Dbscan::default().cluster(&StraightLine, &points);
/// let sites = find_sites(&StraightLine, &points, &clustering, &SiteParams::default());
/// let published = publish(&points, &clustering, &sites, 800.0);
/// assert_eq!(published.clusters.len(), 1);
/// assert_eq!(published.clusters[0].members, Bucket::From9To12);
/// assert!(published.clusters[0].geometry_rd.exterior().coords().all(|c| on_publish_grid(c.x) && on_publish_grid(c.y)));
/// assert_eq!(published.sites.len(), 1);
/// ```
pub fn publish(
    points: &[Point<f64>],
    clustering: &Clustering,
    sites: &[Site],
    walk_m: f64,
) -> Published {
    let mut published = Published::default();
    let mut published_id = vec![None; clustering.cluster_count()];
    for (cluster, members) in clustering.members().iter().enumerate() {
        let member_points: Vec<Point<f64>> = members.iter().map(|&i| points[i]).collect();
        if let Some(geometry_rd) = generalise_cluster(&member_points) {
            published_id[cluster] = Some(published.clusters.len());
            published.clusters.push(PublishedCluster {
                id: published.clusters.len(),
                members: Bucket::of(members.len()),
                geometry_rd,
            });
        }
    }
    for site in sites {
        let Some(cluster_id) = published_id.get(site.cluster).copied().flatten() else {
            continue;
        };
        if site.participants.len() < MIN_PUBLISHED_MEMBERS {
            continue;
        }
        let Some((centre_rd, geometry_rd)) = site_circle(site.centre_rd, walk_m) else {
            continue;
        };
        published.sites.push(PublishedSite {
            id: published.sites.len(),
            cluster_id,
            participants: Bucket::of(site.participants.len()),
            centre_rd,
            geometry_rd,
            reach_rd: None,
        });
    }
    published
}

/// The published outline of one cluster, or `None` below [`MIN_PUBLISHED_MEMBERS`] members.
///
/// # Parameters
/// - `members`: member positions, RD metres (non-finite ones are ignored).
///
/// # Returns
/// A convex polygon, vertices on the 100 m grid, that contains every member with at least
/// [`HULL_MARGIN_M`] metres to spare, so no vertex lies within 100 m of (let alone on) a member.
///
/// # Algorithm
/// 1. Convex hull `H` of the members.
/// 2. Buffer it by `R = 100 m + s`, with `s = 50√2 m` the largest move of snapping to the
///    100 m grid: the hull of every `H` vertex plus a regular 32-gon of circumradius
///    `R / cos(π/32)`. That polygon `P` circumscribes the round buffer, so `P ⊇ H ⊕ disk(R)`.
/// 3. Snap every vertex of `P` to the nearest grid node and take the hull again.
///
/// Why the margin survives step 3: moving each vertex of a convex polygon by at most `s` lowers
/// its support function in any direction by at most `s`, so the snapped hull still contains
/// `H ⊕ disk(R − s) = H ⊕ disk(100 m)`. Cost O(h log h) for `h` hull vertices, after the hull.
///
/// A buffer with our own circumscribed polygon, rather than `geo::Buffer`, because the proof
/// needs the buffer to contain the round one, and a round-join approximation may cut inside it.
pub fn generalise_cluster(members: &[Point<f64>]) -> Option<Polygon<f64>> {
    let finite: Vec<Point<f64>> = members
        .iter()
        .copied()
        .filter(|p| p.x().is_finite() && p.y().is_finite())
        .collect();
    if finite.len() < MIN_PUBLISHED_MEMBERS {
        return None;
    }
    let hull = MultiPoint(finite).convex_hull();
    let reach = HULL_MARGIN_M + PUBLISH_GRID_M * SQRT_2 / 2.0;
    let corners = 32;
    let circumradius = reach / (PI / corners as f64).cos();
    let buffered: Vec<Point<f64>> = hull
        .exterior()
        .coords()
        .flat_map(|v| {
            (0..corners).map(move |k| {
                let a = TAU * k as f64 / corners as f64;
                Point::new(v.x + circumradius * a.cos(), v.y + circumradius * a.sin())
            })
        })
        .collect();
    let snapped: Vec<Point<f64>> = MultiPoint(buffered)
        .convex_hull()
        .exterior()
        .coords()
        .map(|c| Point::new(snap_to_publish_grid(c.x), snap_to_publish_grid(c.y)))
        .collect();
    Some(MultiPoint(snapped).convex_hull())
}

/// A site's published shape: its centre snapped to the 100 m grid and a 64-gon that contains
/// the disk of `walk_m` metres around it. `None` for a non-finite centre or radius.
///
/// Because walking is never shorter than the straight line, the disk contains every
/// participant when the centre was already on the grid (as [`find_sites`] guarantees with its
/// default 100 m candidate grid).
///
/// [`find_sites`]: super::sites::find_sites
pub fn site_circle(centre_rd: Point<f64>, walk_m: f64) -> Option<(Point<f64>, Polygon<f64>)> {
    if !(centre_rd.x().is_finite()
        && centre_rd.y().is_finite()
        && walk_m.is_finite()
        && walk_m > 0.0)
    {
        return None;
    }
    let c = Point::new(
        snap_to_publish_grid(centre_rd.x()),
        snap_to_publish_grid(centre_rd.y()),
    );
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
    use crate::analysis::grid::on_publish_grid;
    use crate::analysis::metric::StraightLine;
    use crate::analysis::sites::{SiteParams, find_sites};
    use geo::{Contains, Distance, Euclidean};
    use proptest::prelude::*;

    /// Distance from a member to the outside of the published polygon (0 if outside).
    fn margin(poly: &Polygon<f64>, p: Point<f64>) -> f64 {
        if poly.contains(&p) {
            Euclidean.distance(&p, poly.exterior())
        } else {
            0.0
        }
    }

    fn on_grid(c: &Coord<f64>) -> bool {
        on_publish_grid(c.x) && on_publish_grid(c.y)
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
            publish(&four, &clustering, &sites, 800.0),
            Published::default()
        );
    }

    #[test]
    fn a_lone_far_outlier_sits_at_least_100_m_inside_the_outline() {
        // A tight group and one border member 700 m out: the hull has a spike towards it.
        let mut members = vec![Point::new(155_025.0, 463_025.0); 5];
        members.push(Point::new(155_725.0, 463_025.0));
        let poly = generalise_cluster(&members).unwrap();
        assert!(margin(&poly, members[5]) >= HULL_MARGIN_M - 1e-6);
        assert!(poly.exterior().coords().all(|c| {
            Euclidean.distance(&Point::from(*c), &members[5]) >= HULL_MARGIN_M - 1e-6
        }));
    }

    #[test]
    fn identical_members_are_published_as_a_grid_polygon_around_them() {
        let members = vec![Point::new(155_000.0, 463_000.0); 7];
        let poly = generalise_cluster(&members).unwrap();
        assert!(poly.exterior().coords().all(on_grid));
        assert!(margin(&poly, members[0]) >= HULL_MARGIN_M);
    }

    #[test]
    fn no_grid_node_can_be_a_snapped_client_home() {
        // Clients live on the 25 m grid; the publication grid is 12.5 m off it.
        for k in -40..40 {
            let v = 155_000.0 + 25.0 * f64::from(k);
            let node = snap_to_publish_grid(v);
            assert!(on_publish_grid(node));
            assert!((node - v).abs() >= 12.5, "{v} -> {node}");
        }
    }

    #[test]
    fn a_site_is_published_as_a_grid_centre_with_the_walking_radius() {
        let (c, poly) = site_circle(Point::new(155_040.0, 463_060.0), 800.0).unwrap();
        assert_eq!(c, Point::new(155_012.5, 463_012.5));
        assert!(poly.contains(&Point::new(155_012.5 + 799.9, 463_012.5)));
        assert!(poly.contains(&Point::new(155_012.5 + 565.0, 463_012.5 + 565.0)));
        assert_eq!(site_circle(Point::new(f64::NAN, 0.0), 800.0), None);
    }

    #[test]
    fn published_counts_are_buckets_only() {
        // 13 members: published as ">12", never as 13.
        let points: Vec<Point<f64>> = (0..13)
            .map(|i| Point::new(155_000.0 + 25.0 * i as f64, 463_000.0))
            .collect();
        let clustering = Dbscan::default().cluster(&StraightLine, &points);
        let published = publish(&points, &clustering, &[], 800.0);
        assert_eq!(published.clusters[0].members.label(), ">12");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn an_attacker_cannot_read_a_member_off_a_published_outline(
            pts in prop::collection::vec((0..200i32, 0..200i32), 5..60),
            offset in (0..4_000i32, 0..4_000i32),
        ) {
            // Members on the 25 m ingest grid, so some lie on the 100 m grid too.
            let members: Vec<Point<f64>> = pts
                .iter()
                .map(|&(x, y)| Point::new(25.0 * (offset.0 + x) as f64 + 150_000.0, 25.0 * (offset.1 + y) as f64 + 400_000.0))
                .collect();
            let poly = generalise_cluster(&members).unwrap();
            for c in poly.exterior().coords() {
                prop_assert!(on_grid(c), "vertex {:?} off the 100 m grid", c);
                for m in &members {
                    prop_assert!(Coord::from(*m) != *c, "vertex equals a member");
                    prop_assert!(Euclidean.distance(&Point::from(*c), m) >= HULL_MARGIN_M - 1e-6);
                }
            }
            for m in &members {
                prop_assert!(margin(&poly, *m) >= HULL_MARGIN_M - 1e-6, "member {:?} too close to the edge", m);
            }
        }

        #[test]
        fn published_sites_contain_their_participants(
            pts in prop::collection::vec((0..60i32, 0..60i32), 0..80),
        ) {
            let points: Vec<Point<f64>> = pts.iter().map(|&(x, y)| Point::new(25.0 * x as f64, 25.0 * y as f64)).collect();
            let clustering = Dbscan::default().cluster(&StraightLine, &points);
            let sites = find_sites(&StraightLine, &points, &clustering, &SiteParams::default());
            let published = publish(&points, &clustering, &sites, 800.0);
            prop_assert_eq!(published.sites.len(), sites.len());
            for (site, shown) in sites.iter().zip(&published.sites) {
                prop_assert_eq!(shown.participants, Bucket::of(site.participants.len()));
                for &i in &site.participants {
                    prop_assert!(shown.geometry_rd.contains(&points[i]));
                }
            }
        }
    }
}
