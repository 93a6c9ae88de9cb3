//! Clusters one million synthetic clients once and prints the wall time and the peak resident
//! memory (VmHWM from /proc/self/status, Linux only).
//!
//! Run: `cargo run --release --example cluster_mem [-- N]`
//!
//! The data generator is a copy of the one in `benches/cluster.rs`: fixed seed, clients spread
//! over the Netherlands with dense city clusters, snapped to the 25 m ingest grid.

use std::time::Instant;

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::StraightLine;
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
            // Box-Muller: two independent standard normals.
            let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen_range(0.0..1.0));
            let r = (-2.0 * u1.ln()).sqrt() * sigma;
            let a = std::f64::consts::TAU * u2;
            Point::new(snap(cx + r * a.cos()), snap(cy + r * a.sin()))
        })
        .collect()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let points = synthetic_clients(n, 42);
    let before = peak_rss_kib().unwrap_or(0);
    let t = Instant::now();
    let clustering = Dbscan::default().cluster(&StraightLine, &points);
    let elapsed = t.elapsed();
    let noise = clustering.labels().iter().filter(|l| l.is_none()).count();
    let core = clustering.is_core().iter().filter(|c| **c).count();
    println!(
        "{n} clients: {} clusters, {core} core, {noise} noise in {:.3} s",
        clustering.cluster_count(),
        elapsed.as_secs_f64()
    );
    match peak_rss_kib() {
        Some(kib) => println!(
            "peak RSS (VmHWM): {:.1} MiB (input alone: {:.1} MiB)",
            kib as f64 / 1024.0,
            before as f64 / 1024.0
        ),
        None => println!("peak RSS: /proc/self/status not available"),
    }
}
