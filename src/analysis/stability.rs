//! Robustness of the suitability result: how often does an area keep its category and its
//! top-3 place in its gemeente when every weight varies by up to ±50%?
//!
//! Inputs: a [`Prepared`] model, the [`Weights`] it is published with, the number of draws and
//! a seed. Output: per area a [`Stability`] (`None` for water): the share of draws that keep
//! the category, the share that keep the top-3 membership, and the verdict `stabiel` or
//! `gevoelig`. Fixed-seed Monte Carlo with ChaCha8, so the result is the same on every run
//! and every machine for the same seed.
//!
//! This module is pure: no files, GDAL, tokio or clock.

pub use crate::analysis::score::Stability;
use crate::analysis::score::{AreaScore, Prepared};
use crate::analysis::weights::Weights;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The default number of draws.
pub const DEFAULT_DRAWS: usize = 200;
/// The default seed (any fixed number; this one spells "buurt" on a phone keypad).
pub const DEFAULT_SEED: u64 = 28_878;
/// Each weight is multiplied by a factor drawn uniformly from `1 ± VARIATION`.
pub const VARIATION: f64 = 0.5;
/// From this share of draws that keep both category and top-3 place, an area is `stabiel`.
pub const STABLE_SHARE: f64 = 0.8;

/// Runs the stability analysis.
///
/// # Algorithm
/// 1. Categories and ranks under `weights`: the reference.
/// 2. `draws` times: multiply every weight by an independent factor from U(0.5, 1.5) (a zero
///    weight stays zero), re-score with the lean path (no explanations), and count per area
///    whether its category and its top-3 membership equal the reference.
///
/// Complexity: O(draws × (n·k + Σ g log g)) for n areas, k criteria and groups of g areas.
pub fn stability(
    prepared: &Prepared,
    weights: &Weights,
    draws: usize,
    seed: u64,
) -> Vec<Option<Stability>> {
    let n = prepared.len();
    let t = weights.thresholds();
    let base = prepared.weight_vector(weights);
    let mut keyed = Vec::new();
    let (mut ref_cat, mut ref_rank) = (Vec::with_capacity(n), vec![0u32; n]);
    prepared.categories_and_ranks(&base, &t, &mut ref_cat, &mut ref_rank, &mut keyed);
    let ranked: Vec<bool> = {
        let mut v = vec![false; n];
        for g in prepared.groups() {
            for &i in g {
                v[i] = true;
            }
        }
        v
    };
    let (mut same_cat, mut same_top) = (vec![0u32; n], vec![0u32; n]);
    let (mut cat, mut rank) = (Vec::with_capacity(n), vec![0u32; n]);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = vec![0.0; base.len()];
    for _ in 0..draws {
        for (wi, bi) in w.iter_mut().zip(&base) {
            *wi = bi * rng.gen_range((1.0 - VARIATION)..=(1.0 + VARIATION));
        }
        prepared.categories_and_ranks(&w, &t, &mut cat, &mut rank, &mut keyed);
        for i in 0..n {
            same_cat[i] += u32::from(cat[i] == ref_cat[i]);
            same_top[i] += u32::from((rank[i] <= 3) == (ref_rank[i] <= 3));
        }
    }
    let d = draws.max(1) as f64;
    (0..n)
        .map(|i| {
            ranked[i].then(|| {
                let categorie = round3(f64::from(same_cat[i]) / d);
                let top3 = round3(f64::from(same_top[i]) / d);
                Stability {
                    oordeel: if categorie.min(top3) >= STABLE_SHARE {
                        "stabiel"
                    } else {
                        "gevoelig"
                    },
                    categorie,
                    top3,
                }
            })
        })
        .collect()
}

/// [`Prepared::score`] plus the stability analysis with the default draws and seed, for
/// publication.
pub fn score_with_stability<'p>(prepared: &'p Prepared, weights: &Weights) -> Vec<AreaScore<'p>> {
    let mut out = prepared.score(weights);
    for (s, st) in out
        .iter_mut()
        .zip(stability(prepared, weights, DEFAULT_DRAWS, DEFAULT_SEED))
    {
        s.stability = st;
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::score::{AreaInput, prepare};
    use crate::model::{AreaCode, Bucket, Figures};

    fn world() -> (Vec<AreaCode>, Vec<Figures>) {
        let codes: Vec<AreaCode> = (0..12)
            .map(|i| AreaCode::parse(&format!("BU023301{i:02}")).unwrap())
            .collect();
        let figures = (0..12)
            .map(|i| Figures {
                p_65plus: Some(10.0 + f64::from(i) * 1.5),
                p_laag_inkomen: Some(40.0 - f64::from(i) * 1.4),
                p_eenpersoonshh: Some(30.0 + f64::from(i % 4)),
                adresdichtheid: Some(1500.0),
                ..Figures::default()
            })
            .collect();
        (codes, figures)
    }

    fn prepared() -> Prepared {
        let (codes, figures) = world();
        let inputs: Vec<AreaInput<'_>> = codes
            .iter()
            .zip(&figures)
            .enumerate()
            .map(|(i, (code, figures))| AreaInput {
                code,
                water: false,
                figures,
                participants: Some(if i % 3 == 0 {
                    Bucket::From5To8
                } else {
                    Bucket::From9To12
                }),
                estimate: None,
                meeting_place_within_walk: Some(i % 2 == 0),
                existing_circle_nearby: Some(false),
            })
            .collect();
        prepare(&inputs)
    }

    #[test]
    fn the_same_seed_gives_the_same_stability_on_every_run() {
        let p = prepared();
        let w = Weights::default();
        let a = stability(&p, &w, 200, 7);
        let b = stability(&p, &w, 200, 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 12);
    }

    #[test]
    fn shares_are_fractions_and_the_verdict_follows_the_lower_share() {
        let p = prepared();
        for s in stability(&p, &Weights::default(), 100, DEFAULT_SEED)
            .into_iter()
            .flatten()
        {
            assert!((0.0..=1.0).contains(&s.categorie) && (0.0..=1.0).contains(&s.top3));
            let stable = s.categorie.min(s.top3) >= STABLE_SHARE;
            assert_eq!(s.oordeel, if stable { "stabiel" } else { "gevoelig" });
        }
    }

    #[test]
    fn an_area_far_ahead_on_every_criterion_is_stable() {
        // One weight only: every draw scales it, so nothing can change.
        let p = prepared();
        let w = Weights::default()
            .with_overrides(&[
                ("w_participants", "0"),
                ("w_p_eenpersoonshh", "0"),
                ("w_p_laag_inkomen", "0"),
                ("w_adresdichtheid", "0"),
                ("w_p_sociale_huur", "0"),
                ("w_p_bijstand", "0"),
                ("w_laag_woz", "0"),
                ("w_meeting_place", "0"),
                ("w_no_existing_circle", "0"),
            ])
            .unwrap();
        for s in stability(&p, &w, 50, 1).into_iter().flatten() {
            assert_eq!((s.categorie, s.top3, s.oordeel), (1.0, 1.0, "stabiel"));
        }
    }
}
