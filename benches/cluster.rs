//! Benchmarks of the clustering core on fixed, generated clients (seed 42): DBSCAN on 100,000
//! and 1,000,000 clients (eps 800 m, min 5) and an R-tree neighbour query.
//!
//! Run: `cargo bench --bench cluster`. Peak memory: `cargo run --release --example cluster_mem`.
//! The generator is shared with `examples/cluster_mem.rs` (`benches/common/synthetic.rs`).

// criterion's macros generate undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::StraightLine;
use buurtcirkel::index::PointIndex;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "common/synthetic.rs"]
mod synthetic;
use synthetic::synthetic_clients;

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
