//! Clusters one million synthetic clients once and prints the wall time and the peak resident
//! memory (VmHWM from /proc/self/status, Linux only).
//!
//! Run: `cargo run --release --example cluster_mem [-- N]`
//!
//! The data generator is the benchmark's (`benches/common/synthetic.rs`): fixed seed, clients
//! spread over the Netherlands with dense city clusters, snapped to the 25 m ingest grid.

use std::time::Instant;

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::StraightLine;

#[path = "../benches/common/synthetic.rs"]
mod synthetic;
use synthetic::synthetic_clients;

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
