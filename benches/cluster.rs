//! Benchmarks of the clustering core on fixed, generated clients (seed 42): DBSCAN on 100,000
//! and 1,000,000 clients (eps 800 m, min 5) and an R-tree neighbour query.
//!
//! Run: `cargo bench --bench cluster`. Peak memory: `cargo run --release --example cluster_mem`.
//! The generator is a copy of the one in `examples/cluster_mem.rs`; keep them in step.

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::StraightLine;
use buurtcirkel::index::PointIndex;
use criterion::{Criterion, criterion_group, criterion_main};
use geo_types::Point;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Synthetic clients: 90 % around 60 cities (Gaussian, Zipf-sized), 10 % spread over the
/// country's RD bounding box; all snapped to 25 m like ingest does.
fn synthetic_clients(n: usize, seed: u64) -> Vec<Point<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (x0, x1, y0, y1) = (13_000.0, 278_000.0, 306_000.0, 620_000.0);
    let cities: Vec<(f64, f64, f64)> = (0..60)
        .map(|k| {
            let sigma = 4_000.0 / (1.0 + k as f64).sqrt();
            (rng.gen_range(x0..x1), rng.gen_range(y0..y1), sigma)
        })
        .collect();
    let weights: Vec<f64> = (0..60).map(|k| 1.0 / (1.0 + k as f64)).collect();
    let total: f64 = weights.iter().sum();
    let snap = |v: f64| (v / 25.0).round() * 25.0;
    (0..n)
        .map(|_| {
            if rng.gen_bool(0.1) {
                return Point::new(snap(rng.gen_range(x0..x1)), snap(rng.gen_range(y0..y1)));
            }
            let mut pick = rng.gen_range(0.0..total);
            let mut k = 0;
            while pick > weights[k] && k + 1 < weights.len() {
                pick -= weights[k];
                k += 1;
            }
            let (cx, cy, sigma) = cities[k];
            let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen_range(0.0..1.0));
            let r = (-2.0 * u1.ln()).sqrt() * sigma;
            let a = std::f64::consts::TAU * u2;
            Point::new(snap(cx + r * a.cos()), snap(cy + r * a.sin()))
        })
        .collect()
}

fn dbscan_100k(c: &mut Criterion) {
    let points = synthetic_clients(100_000, 42);
    let mut group = c.benchmark_group("dbscan_100k");
    group.bench_function("grid eps 800 m min 5", |b| {
        b.iter(|| Dbscan::default().cluster(&StraightLine, black_box(&points)))
    });
    group.finish();
}

fn dbscan_1m(c: &mut Criterion) {
    let points = synthetic_clients(1_000_000, 42);
    let mut group = c.benchmark_group("dbscan_1m");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("grid eps 800 m min 5", |b| {
        b.iter(|| Dbscan::default().cluster(&StraightLine, black_box(&points)))
    });
    group.finish();
}

fn rtree(c: &mut Criterion) {
    let points = synthetic_clients(100_000, 42);
    let index = PointIndex::new(&points);
    let mut group = c.benchmark_group("rtree_100k");
    group.bench_function("bulk load", |b| {
        b.iter(|| PointIndex::new(black_box(&points)))
    });
    // Neighbours within 800 m of 1,000 clients, dense cities included.
    group.bench_function("1000 queries within 800 m", |b| {
        b.iter(|| {
            points
                .iter()
                .step_by(100)
                .map(|&p| index.within_distance(black_box(p), 800.0).count())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, dbscan_100k, dbscan_1m, rtree);
criterion_main!(benches);
