//! Walking along streets on hand-built networks: canals, islands, and the contract that a walk
//! is never shorter than the straight line.

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::grid::on_publish_grid;
use buurtcirkel::analysis::metric::{Neighbourhood, StraightLine, WalkingMetric};
use buurtcirkel::analysis::network::{StreetNetwork, compare_clusterings};
use buurtcirkel::analysis::sites::{SiteParams, find_sites};
use geo::Contains;
use geo_types::{LineString, Point};
use proptest::prelude::*;

fn line(c: &[(f64, f64)]) -> LineString<f64> {
    LineString::from(c.to_vec())
}

/// Two canal banks 200 m apart (y = 0 and y = 200) from x = -1,000 to 1,000, one bridge at
/// x = 600.
fn canal() -> StreetNetwork {
    StreetNetwork::from_lines(vec![
        line(&[(-1_000.0, 0.0), (600.0, 0.0)]),
        line(&[(600.0, 0.0), (1_000.0, 0.0)]),
        line(&[(-1_000.0, 200.0), (600.0, 200.0)]),
        line(&[(600.0, 200.0), (1_000.0, 200.0)]),
        line(&[(600.0, 0.0), (600.0, 200.0)]),
    ])
}

#[test]
fn clients_across_a_canal_are_not_neighbours_at_800_m_and_are_at_1500_m() {
    let net = canal();
    let clients = [Point::new(0.0, 0.0), Point::new(0.0, 200.0)];
    let near = net.prepare(&clients);
    // 600 m to the bridge, 200 m across, 600 m back.
    assert!((near.distance(0, 1) - 1_400.0).abs() < 1e-9);
    let mut out = Vec::new();
    near.neighbours(0, 800.0, &mut out);
    assert_eq!(out, vec![0]);
    near.neighbours(0, 1_500.0, &mut out);
    assert_eq!(out, vec![0, 1]);
    // The straight line would make them neighbours at 800 m.
    StraightLine
        .prepare(&clients)
        .neighbours(0, 800.0, &mut out);
    assert_eq!(out, vec![0, 1]);
}

#[test]
fn clients_across_a_canal_are_two_clusters_by_street_and_one_by_straight_line() {
    let net = canal();
    let mut clients: Vec<Point<f64>> = (0..5)
        .map(|i| Point::new(-100.0 + 50.0 * f64::from(i), -20.0))
        .collect();
    clients.extend((0..5).map(|i| Point::new(-100.0 + 50.0 * f64::from(i), 220.0)));
    let dbscan = Dbscan::new(800.0, 5).unwrap();
    let by_line = dbscan.cluster(&StraightLine, &clients);
    let by_street = dbscan.cluster(&net, &clients);
    assert_eq!(by_line.cluster_count(), 1);
    assert_eq!(by_street.cluster_count(), 2);
    assert_ne!(by_street.labels()[0], by_street.labels()[5]);
    let cmp = compare_clusterings(&by_line, &by_street);
    assert!(cmp.clusters[0].split());
    assert_eq!(cmp.clusters[0].into, vec![(0, 5), (1, 5)]);
    // At 1,500 m the bridge is near enough.
    let wide = Dbscan::new(1_500.0, 5).unwrap().cluster(&net, &clients);
    assert_eq!(wide.cluster_count(), 1);
}

#[test]
fn a_disconnected_island_makes_its_clients_noise() {
    // A mainland street grid and, 300 m north across water, an island with its own loop.
    let mut lines = Vec::new();
    for k in 0..5 {
        let x = 100.0 * f64::from(k);
        lines.push(line(&[(x, 0.0), (x + 100.0, 0.0)]));
    }
    lines.push(line(&[
        (100.0, 300.0),
        (300.0, 300.0),
        (300.0, 400.0),
        (100.0, 400.0),
        (100.0, 300.0),
    ]));
    let net = StreetNetwork::from_lines(lines);
    assert_eq!(net.component_count(), 2);
    let mut clients: Vec<Point<f64>> = (0..5)
        .map(|i| Point::new(50.0 + 100.0 * f64::from(i), 10.0))
        .collect();
    clients.extend((0..3).map(|i| Point::new(120.0 + 80.0 * f64::from(i), 310.0)));
    let dbscan = Dbscan::new(800.0, 5).unwrap();
    let by_line = dbscan.cluster(&StraightLine, &clients);
    assert!(by_line.labels().iter().all(Option::is_some));
    let by_street = dbscan.cluster(&net, &clients);
    assert_eq!(by_street.cluster_count(), 1);
    assert!(by_street.labels()[..5].iter().all(Option::is_some));
    assert_eq!(by_street.labels()[5..], [None, None, None]);
    let near = net.prepare(&clients);
    assert_eq!(near.distance(0, 6), f64::INFINITY);
}

#[test]
fn sites_on_the_network_keep_every_participant_within_walking_distance() {
    let net = canal();
    let mut clients: Vec<Point<f64>> = (0..8)
        .map(|i| Point::new(-200.0 + 40.0 * f64::from(i), -15.0))
        .collect();
    clients.extend((0..8).map(|i| Point::new(-200.0 + 40.0 * f64::from(i), 215.0)));
    let clustering = Dbscan::new(800.0, 5).unwrap().cluster(&net, &clients);
    let sites = find_sites(&net, &clients, &clustering, &SiteParams::default());
    assert_eq!(sites.len(), 2, "one site per bank");
    for s in &sites {
        let near = net.prepare(&clients);
        for &p in &s.participants {
            assert!(near.distance_from(s.centre_rd, p) <= 800.0);
        }
        let bank: Vec<bool> = s.participants.iter().map(|&p| p < 8).collect();
        assert!(
            bank.iter().all(|b| *b == bank[0]),
            "a site does not cross the canal"
        );
    }
}

#[test]
fn an_isochrone_follows_the_bridge_and_not_the_water() {
    let net = canal();
    let iso = net.isochrone(Point::new(0.0, 0.0), 800.0).unwrap();
    assert!(iso.contains(&Point::new(10.0, 10.0)));
    assert!(iso.contains(&Point::new(-750.0, 10.0)));
    assert!(iso.contains(&Point::new(610.0, 150.0)), "across the bridge");
    assert!(
        !iso.contains(&Point::new(0.0, 150.0)),
        "not across the water"
    );
    assert!(!iso.contains(&Point::new(-900.0, 10.0)), "not beyond 800 m");
    // Whole cells of the 100 m publication grid (offset 12.5 m, so never on the 25 m grid of
    // client locations): only the site centre and the streets shape it.
    for c in iso.0.iter().flat_map(|p| p.exterior().0.iter()) {
        assert!(on_publish_grid(c.x) && on_publish_grid(c.y), "{c:?}");
        assert_ne!((c.x % 25.0, c.y % 25.0), (0.0, 0.0), "{c:?}");
    }
}

#[test]
fn a_client_far_from_every_street_walks_its_snapping_leg() {
    let net = StreetNetwork::from_lines(vec![line(&[(0.0, 0.0), (1_000.0, 0.0)])]);
    let clients = [Point::new(100.0, 400.0), Point::new(300.0, 0.0)];
    let near = net.prepare(&clients);
    assert!((near.distance(0, 1) - 600.0).abs() < 1e-9);
    assert_eq!(net.count_far_from_street(&clients, 150.0), 1);
}

#[test]
fn empty_input_one_point_and_identical_points() {
    let net = canal();
    let none: [Point<f64>; 0] = [];
    assert_eq!(
        Dbscan::default().cluster(&net, &none).cluster_count(),
        0,
        "empty input"
    );
    let one = [Point::new(0.0, 0.0)];
    let c = Dbscan::default().cluster(&net, &one);
    assert_eq!(c.labels(), &[None]);
    let same = [Point::new(5.0, 5.0); 5];
    let c = Dbscan::default().cluster(&net, &same);
    assert_eq!(c.cluster_count(), 1);
}

/// A random street network: a jittered grid with some streets missing.
fn network_strategy() -> impl Strategy<Value = (Vec<LineString<f64>>, Vec<Point<f64>>)> {
    let grid = 6usize;
    (
        prop::collection::vec(-30.0..30.0f64, grid * grid * 2),
        prop::collection::vec(any::<bool>(), grid * grid * 2),
        prop::collection::vec((-100.0..700.0f64, -100.0..700.0f64), 2..25),
    )
        .prop_map(move |(jitter, keep, pts)| {
            let node = |i: usize, j: usize| {
                let k = (i * grid + j) * 2;
                (
                    120.0 * i as f64 + jitter[k],
                    120.0 * j as f64 + jitter[k + 1],
                )
            };
            let mut lines = Vec::new();
            for i in 0..grid {
                for j in 0..grid {
                    let k = (i * grid + j) * 2;
                    if i + 1 < grid && keep[k] {
                        lines.push(line(&[node(i, j), node(i + 1, j)]));
                    }
                    if j + 1 < grid && keep[k + 1] {
                        let (x, y) = node(i, j);
                        let (x2, y2) = node(i, j + 1);
                        lines.push(line(&[(x, y), (x + 15.0, (y + y2) / 2.0), (x2, y2)]));
                    }
                }
            }
            let points = pts.into_iter().map(|(x, y)| Point::new(x, y)).collect();
            (lines, points)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_walk_is_never_shorter_than_the_straight_line((lines, points) in network_strategy()) {
        let net = StreetNetwork::from_lines(lines);
        let near = net.prepare(&points);
        for i in 0..points.len() {
            for j in 0..points.len() {
                let d = near.distance(i, j);
                let line = (points[i].x() - points[j].x()).hypot(points[i].y() - points[j].y());
                prop_assert!(d >= line, "{d} < {line}");
                let back = near.distance(j, i);
                prop_assert!((d - back).abs() <= 1e-6 || d == back, "{d} vs {back}");
            }
        }
    }

    #[test]
    fn neighbours_are_exactly_the_points_within_the_walking_distance(
        (lines, points) in network_strategy(),
        radius in 50.0..900.0f64,
    ) {
        let net = StreetNetwork::from_lines(lines);
        let near = net.prepare(&points);
        let mut out = Vec::new();
        for i in 0..points.len() {
            near.neighbours(i, radius, &mut out);
            // A fresh neighbourhood, so no search state is shared with the query above.
            let fresh = net.prepare(&points);
            let want: Vec<usize> = (0..points.len())
                .filter(|&j| fresh.distance(i, j) <= radius)
                .collect();
            prop_assert_eq!(&out, &want);
            let centre = Point::new(points[i].x() + 7.0, points[i].y() - 3.0);
            near.neighbours_of(centre, radius, &mut out);
            let want: Vec<usize> = (0..points.len())
                .filter(|&j| fresh.distance_from(centre, j) <= radius)
                .collect();
            prop_assert_eq!(&out, &want);
        }
    }
}
