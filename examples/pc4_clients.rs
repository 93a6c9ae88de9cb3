//! Writes N synthetic clients placed in the real CBS PC4 areas of 2020, in proportion to each
//! area's residents aged 65 and over (1 January 2021), as the semicolon CSV that
//! `buurtcirkel import clients` reads (`naam;x;y;doelgroep`, RD New metres). The benchmark data
//! of issue 17: national clients in real postcode areas, snapped to 25 m by the import.
//!
//! Run: `cargo run --release --example pc4_clients -- N [PC4_DIR] > clients.csv`
//!
//! `PC4_DIR` (default `../shared/data/cbs-pc4-2021`) holds `pc4_nl_2020.gpkg` (layer `pc4`) and
//! `pc4_inwoners_per_leeftijd_2021.csv`. Fixed seed: the same N gives the same file. Each client
//! is a uniform point inside its PC4 polygon (rejection sampling in the bounding box).

use std::collections::HashMap;
use std::io::Write;

use gdal::vector::LayerAccess;
use geo::{BoundingRect, Contains};
use geo_types::{Geometry, MultiPolygon, Point};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Residents aged 65+ per postcode, from the age-band CSV (bands `65-69` ... `95+`).
fn elderly(csv: &str) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').map(|s| s.trim_matches('"')).collect();
        if f.len() < 3 {
            continue;
        }
        let from: Option<u32> = f[1].split(['-', '+']).next().and_then(|s| s.parse().ok());
        let n: f64 = f[2].parse().unwrap_or(0.0);
        if from.is_some_and(|a| a >= 65) && n > 0.0 {
            *out.entry(f[0].to_string()).or_default() += n;
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .ok_or("usage: pc4_clients N [PC4_DIR]")?
        .parse()
        .map_err(|e| format!("N: {e}"))?;
    let dir = args
        .next()
        .unwrap_or_else(|| "../shared/data/cbs-pc4-2021".to_string());
    let ages = std::fs::read_to_string(format!("{dir}/pc4_inwoners_per_leeftijd_2021.csv"))?;
    let weights = elderly(&ages);
    let ds = gdal::Dataset::open(format!("{dir}/pc4_nl_2020.gpkg"))?;
    let mut layer = ds.layer_by_name("pc4")?;
    let code_idx = layer
        .defn()
        .field_index("postcode")
        .map_err(|e| format!("{dir}/pc4_nl_2020.gpkg, layer pc4: no column postcode ({e})"))?;
    let mut areas: Vec<(MultiPolygon<f64>, f64)> = Vec::new();
    for f in layer.features() {
        let code = f.field_as_string(code_idx)?.unwrap_or_default();
        let w = weights.get(&code).copied().unwrap_or(0.0);
        let Some(g) = f.geometry() else { continue };
        let mp = match g.to_geo()? {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(mp) => mp,
            _ => continue,
        };
        if w > 0.0 && mp.bounding_rect().is_some() {
            areas.push((mp, w));
        }
    }
    // Sort by postcode-independent key (the centroid-free bounding box) so the order does not
    // depend on the file's row order.
    areas.sort_by(|a, b| {
        let (ra, rb) = (a.0.bounding_rect(), b.0.bounding_rect());
        let key = |r: Option<geo_types::Rect<f64>>| r.map(|r| (r.min().x, r.min().y));
        key(ra)
            .partial_cmp(&key(rb))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut cumulative = Vec::with_capacity(areas.len());
    let mut total = 0.0;
    for (_, w) in &areas {
        total += w;
        cumulative.push(total);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let groups = ["ggz", "lvb", "ouderen", "nieuwkomers"];
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    writeln!(out, "naam;x;y;doelgroep")?;
    for i in 0..n {
        let r = rng.gen_range(0.0..total);
        let k = cumulative.partition_point(|&c| c <= r).min(areas.len() - 1);
        let (mp, _) = &areas[k];
        let Some(b) = mp.bounding_rect() else {
            continue;
        };
        let mut p = Point::new(b.min().x, b.min().y);
        for _ in 0..10_000 {
            let q = Point::new(
                rng.gen_range(b.min().x..=b.max().x),
                rng.gen_range(b.min().y..=b.max().y),
            );
            if mp.contains(&q) {
                p = q;
                break;
            }
        }
        let g = groups[rng.gen_range(0..groups.len())];
        writeln!(out, "client {i};{:.1};{:.1};{g}", p.x(), p.y())?;
    }
    out.flush()?;
    Ok(())
}
