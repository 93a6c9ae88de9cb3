//! Benchmarks of walking along streets, on fixed generated inputs (seed 42):
//! - a city-size synthetic network (a jittered 50 m street grid of about 100,000 edges with a
//!   canal crossed by a bridge every 600 m) and 10,000 clients on it: one neighbour search
//!   within 800 m (target < 1 ms median) and DBSCAN of all clients (target < 5 s);
//! - the real Delft extract (`../shared/data/osm-delft-tu`, skipped when absent): import speed,
//!   and 5,000 synthetic clients placed on its address points (`addr:housenumber` nodes),
//!   clustered by street and by straight line, with the clusters that differ.
//!
//! Run: `cargo bench --bench network`. One-shot figures (import MB/s, cluster differences,
//! site selection time) are printed before criterion's own.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::{Neighbourhood, StraightLine, WalkingMetric};
use buurtcirkel::analysis::network::{StreetNetwork, compare_clusterings};
use buurtcirkel::analysis::sites::{SiteParams, find_sites};
use buurtcirkel::ingest::streets::{read_address_points, read_streets};
use criterion::{Criterion, criterion_group, criterion_main};
use geo_types::{LineString, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Grid nodes per side: 224 × 224 nodes give 2 × 224 × 223 ≈ 100,000 edges.
const SIDE: usize = 224;
const SPACING_M: f64 = 50.0;
const X0: f64 = 80_000.0;
const Y0: f64 = 440_000.0;

/// A jittered street grid with a canal along the middle row: only every 12th street
/// (600 m apart) bridges it.
fn synthetic_city(seed: u64) -> Vec<LineString<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let jitter: Vec<(f64, f64)> = (0..SIDE * SIDE)
        .map(|_| (rng.gen_range(-12.0..12.0), rng.gen_range(-12.0..12.0)))
        .collect();
    let node = |i: usize, j: usize| {
        let (dx, dy) = jitter[i * SIDE + j];
        (
            X0 + SPACING_M * i as f64 + dx,
            Y0 + SPACING_M * j as f64 + dy,
        )
    };
    let canal = SIDE / 2;
    let mut lines = Vec::new();
    for i in 0..SIDE {
        for j in 0..SIDE {
            if i + 1 < SIDE {
                lines.push(LineString::from(vec![node(i, j), node(i + 1, j)]));
            }
            let crosses_canal = j == canal;
            if j + 1 < SIDE && (!crosses_canal || i % 12 == 0) {
                // A bend in every north-south street, so edges are polylines as in OSM.
                let (a, b) = (node(i, j), node(i, j + 1));
                let mid = ((a.0 + b.0) / 2.0 + 3.0, (a.1 + b.1) / 2.0);
                lines.push(LineString::from(vec![a, mid, b]));
            }
        }
    }
    lines
}

/// Clients: 70 % around 40 neighbourhood centres (Gaussian, 400 m), 30 % spread over the city;
/// snapped to 25 m like ingest does.
fn synthetic_clients(n: usize, seed: u64) -> Vec<Point<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let size = SPACING_M * (SIDE - 1) as f64;
    let centres: Vec<(f64, f64)> = (0..40)
        .map(|_| (X0 + rng.gen_range(0.0..size), Y0 + rng.gen_range(0.0..size)))
        .collect();
    let snap = |v: f64| (v / 25.0).round() * 25.0;
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.3) {
                return Point::new(
                    snap(X0 + rng.gen_range(0.0..size)),
                    snap(Y0 + rng.gen_range(0.0..size)),
                );
            }
            let (cx, cy) = centres[rng.gen_range(0..centres.len())];
            let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen_range(0.0..1.0));
            let r = (-2.0 * u1.ln()).sqrt() * 400.0;
            let a = std::f64::consts::TAU * u2;
            Point::new(snap(cx + r * a.cos()), snap(cy + r * a.sin()))
        })
        .collect()
}

fn city(c: &mut Criterion) {
    let t = Instant::now();
    let net = StreetNetwork::from_lines(synthetic_city(42));
    println!(
        "synthetic city: {} nodes, {} edges, {} components, built in {:.2} s",
        net.node_count(),
        net.edge_count(),
        net.component_count(),
        t.elapsed().as_secs_f64()
    );
    let clients = synthetic_clients(10_000, 42);

    // One-shot: clustering, then sites on that clustering, each timed once.
    let dbscan = Dbscan::default();
    let t = Instant::now();
    let by_street = dbscan.cluster(&net, &clients);
    let cluster_s = t.elapsed().as_secs_f64();
    let by_line = dbscan.cluster(&StraightLine, &clients);
    let t = Instant::now();
    let sites = find_sites(&net, &clients, &by_street, &SiteParams::default());
    println!(
        "10,000 clients: street clusters {} (straight line {}), clustered in {cluster_s:.2} s; {} sites in {:.2} s",
        by_street.cluster_count(),
        by_line.cluster_count(),
        sites.len(),
        t.elapsed().as_secs_f64()
    );

    let mut group = c.benchmark_group("network_city_100k_edges");
    let near = net.prepare(&clients);
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut found = 0usize;
    // A different client every iteration, so no search state is reused.
    group.bench_function("neighbours of one client within 800 m", |b| {
        b.iter(|| {
            i = (i + 7_919) % clients.len();
            near.neighbours(black_box(i), 800.0, &mut out);
            found += out.len();
        })
    });
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("dbscan 10,000 clients eps 800 m min 5", |b| {
        b.iter(|| dbscan.cluster(&net, black_box(&clients)))
    });
    group.finish();
    black_box(found);
}

fn delft_extract() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/osm-delft-tu/tudelft_2025-08.osm.pbf");
    p.exists().then_some(p)
}

fn delft(c: &mut Criterion) {
    let Some(pbf) = delft_extract() else {
        println!("SKIP: ../shared/data/osm-delft-tu/tudelft_2025-08.osm.pbf is absent");
        return;
    };
    let mb = std::fs::metadata(&pbf).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let t = Instant::now();
    let import = read_streets(&pbf).unwrap_or_else(|e| panic!("{e}"));
    let net = StreetNetwork::from_lines(import.lines_rd);
    let s = t.elapsed().as_secs_f64();
    println!(
        "Delft import: {mb:.2} MB in {s:.3} s = {:.1} MB/s ({} nodes, {} edges, {} components)",
        mb / s,
        net.node_count(),
        net.edge_count(),
        net.component_count()
    );
    let addresses = read_address_points(&pbf).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let snap = |v: f64| (v / 25.0).round() * 25.0;
    let clients: Vec<Point<f64>> = (0..5_000)
        .map(|_| {
            let a = addresses[rng.gen_range(0..addresses.len())];
            Point::new(snap(a.x()), snap(a.y()))
        })
        .collect();
    // One-shot comparisons at the default walk and at a short one, where barriers show.
    for walk_m in [800.0, 400.0] {
        let dbscan = Dbscan::new(walk_m, 5).unwrap_or_default();
        let t = Instant::now();
        let by_street = dbscan.cluster(&net, &clients);
        let street_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let by_line = dbscan.cluster(&StraightLine, &clients);
        let line_s = t.elapsed().as_secs_f64();
        let cmp = compare_clusterings(&by_line, &by_street);
        let sizes: Vec<usize> = by_street.members().iter().map(Vec::len).collect();
        let changed = cmp.clusters.iter().filter(|c| !c.unchanged(&sizes)).count();
        let split = cmp.clusters.iter().filter(|c| c.split()).count();
        let noise: usize = cmp.clusters.iter().map(|c| c.noise).sum();
        println!(
            "Delft, 5,000 clients on {} address points, walk {walk_m} m: street {} clusters in {street_s:.3} s, straight line {} clusters in {line_s:.3} s; {changed} straight-line clusters differ ({split} split, {noise} members become noise, {} merges)",
            addresses.len(),
            by_street.cluster_count(),
            by_line.cluster_count(),
            cmp.merged.len()
        );
    }
    let dbscan = Dbscan::default();
    let mut group = c.benchmark_group("network_delft");
    group.sample_size(10);
    group.bench_function("import extract", |b| {
        b.iter(|| {
            let import = read_streets(black_box(&pbf)).unwrap_or_else(|e| panic!("{e}"));
            StreetNetwork::from_lines(import.lines_rd).edge_count()
        })
    });
    group.bench_function("dbscan 5,000 address clients, street network", |b| {
        b.iter(|| dbscan.cluster(&net, black_box(&clients)))
    });
    group.bench_function("dbscan 5,000 address clients, straight line", |b| {
        b.iter(|| dbscan.cluster(&StraightLine, black_box(&clients)))
    });
    group.finish();
}

criterion_group!(benches, city, delft);
criterion_main!(benches);
