//! The fixed-seed synthetic clients shared by the clustering benchmark and the memory probe:
//! 90 % around 60 cities (Gaussian, Zipf-sized), 10 % spread over the country's RD bounding box,
//! all snapped to 25 m like ingest does.

use geo_types::Point;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Synthetic clients: 90 % around 60 cities (Gaussian, Zipf-sized), 10 % spread over the
/// country's RD bounding box; all snapped to 25 m like ingest does.
pub fn synthetic_clients(n: usize, seed: u64) -> Vec<Point<f64>> {
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
