//! Benchmarks of the suitability model on 14,000 synthetic buurten (about the number of buurten
//! in the Netherlands): `prepare` (normalise once) and `Prepared::score` (re-score after a weight
//! change; the target is under 20 ms), re-scoring plus JSON serialisation for reference, and
//! the stability analysis (200 fixed-seed draws of ±50% weights; the target is under 1 s).
//!
//! Inputs are generated with a fixed seed (ChaCha8, seed 28992), so numbers are comparable
//! between runs. About 10% of each CBS figure is missing, as in real CBS tables. No files.

// criterion_group! defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use buurtcirkel::analysis::score::{AreaInput, prepare};
use buurtcirkel::analysis::stability::{DEFAULT_DRAWS, DEFAULT_SEED, stability};
use buurtcirkel::analysis::weights::Weights;
use buurtcirkel::model::{AreaCode, Bucket, Figures};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of buurten: 350 gemeenten × 40 buurten.
const GEMEENTEN: usize = 350;
const BUURTEN_PER_GEMEENTE: usize = 40;

struct Synthetic {
    code: AreaCode,
    water: bool,
    figures: Figures,
    participants: Bucket,
    place: bool,
    circle: bool,
}

fn synthetic() -> Vec<Synthetic> {
    let mut rng = ChaCha8Rng::seed_from_u64(28992);
    let mut out = Vec::with_capacity(GEMEENTEN * BUURTEN_PER_GEMEENTE);
    for g in 0..GEMEENTEN {
        for b in 0..BUURTEN_PER_GEMEENTE {
            // The last buurt of every gemeente is water (wijk 99), as in CBS data.
            let water = b == BUURTEN_PER_GEMEENTE - 1;
            let wijk = if water { 99 } else { b / 10 };
            let text = format!("BU{:04}{:02}{:02}", g + 1, wijk, b % 100);
            let Ok(code) = AreaCode::parse(&text) else {
                continue;
            };
            let mut fig = |lo: f64, hi: f64| (rng.gen_bool(0.9)).then(|| rng.gen_range(lo..hi));
            let figures = Figures {
                p_65plus: fig(5.0, 40.0),
                p_eenpersoonshh: fig(15.0, 70.0),
                p_laag_inkomen: fig(20.0, 65.0),
                adresdichtheid: fig(50.0, 9000.0),
                p_corporatiewoningen: fig(0.0, 70.0),
                p_bijstand: fig(0.0, 12.0),
                woz_waarde: fig(120.0, 900.0),
                ..Figures::default()
            };
            out.push(Synthetic {
                code,
                water,
                figures,
                participants: Bucket::of(rng.gen_range(0..20)),
                place: rng.gen_bool(0.6),
                circle: rng.gen_bool(0.1),
            });
        }
    }
    out
}

fn inputs(areas: &[Synthetic]) -> Vec<AreaInput<'_>> {
    areas
        .iter()
        .map(|a| AreaInput {
            code: &a.code,
            water: a.water,
            figures: &a.figures,
            participants: Some(a.participants),
            estimate: None,
            meeting_place_within_walk: Some(a.place),
            existing_circle_nearby: Some(a.circle),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let areas = synthetic();
    let inputs = inputs(&areas);
    let prepared = prepare(&inputs);
    let weights = [
        Weights::default(),
        Weights::default()
            .with_overrides(&[("w_p_65plus", "2"), ("w_meeting_place", "0.5")])
            .unwrap_or_default(),
    ];

    c.bench_function("prepare 14000 buurten", |b| {
        b.iter(|| prepare(black_box(&inputs)))
    });
    let mut i = 0;
    c.bench_function("score 14000 buurten after a weight change", |b| {
        b.iter(|| {
            i += 1;
            prepared.score(black_box(&weights[i % 2]))
        })
    });
    c.bench_function("stability of 14000 buurten (200 draws)", |b| {
        b.iter(|| {
            stability(
                black_box(&prepared),
                &weights[0],
                DEFAULT_DRAWS,
                DEFAULT_SEED,
            )
        })
    });
    // What an API request pays on top: the whole explanation as JSON (about 20 MB).
    let mut buf = Vec::with_capacity(32 << 20);
    c.bench_function("score and serialise 14000 buurten to JSON", |b| {
        b.iter(|| {
            i += 1;
            buf.clear();
            let scores = prepared.score(black_box(&weights[i % 2]));
            serde_json::to_writer(&mut buf, &scores).map(|()| buf.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
