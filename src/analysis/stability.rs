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
use crate::analysis::score::{AreaScore, Category, Prepared};
use crate::analysis::weights::Weights;
use crate::model::Level;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The default number of draws.
pub const DEFAULT_DRAWS: usize = 200;
/// The default seed (any fixed number; this one spells "buurt" on a phone keypad).
pub const DEFAULT_SEED: u64 = 28_878;
/// Each weight is multiplied by a factor drawn uniformly from `1 ± VARIATION`.
pub const VARIATION: f64 = 0.5;
/// From this share of draws that keep both category and top-3 place, an area is `stabiel`.
pub const STABLE_SHARE: f64 = 0.8;

/// Runs the stability analysis for every area.
///
/// # Algorithm
/// 1. Categories and top-3 places under `weights`: the reference.
/// 2. `draws` times: multiply every weight by an independent factor from U(0.5, 1.5) (a zero
///    weight stays zero), re-score with the lean path (no explanations), and count per area
///    whether its category and its top-3 membership equal the reference.
///
/// The weight sets are drawn in sequence from the seeded generator, then scored in parallel
/// (rayon); the per-area counts are whole numbers summed, so the result does not depend on
/// how the draws are split over threads.
///
/// Complexity: O(draws × n·k) for n areas and k criteria (the top three of a group are
/// selected in linear time).
pub fn stability(
    prepared: &Prepared,
    weights: &Weights,
    draws: usize,
    seed: u64,
) -> Vec<Option<Stability>> {
    stability_of(prepared, weights, draws, seed, None)
}

/// [`stability`] for the areas of one `level` only (`None`: every level), `None` for the
/// others. An area's category and rank depend on its own rank group alone and the weight sets
/// drawn do not depend on the areas, so the values equal those of [`stability`] for every
/// area of `level`, at the cost of that level's areas only.
pub fn stability_of(
    prepared: &Prepared,
    weights: &Weights,
    draws: usize,
    seed: u64,
    level: Option<Level>,
) -> Vec<Option<Stability>> {
    let n = prepared.len();
    let t = weights.thresholds();
    let base = prepared.weight_vector(weights);
    let groups = prepared.groups_of(level);
    let mut keyed = Vec::new();
    let (mut ref_cat, mut ref_top) = (vec![None; n], vec![false; n]);
    prepared.categories_and_top3(&groups, &base, &t, &mut ref_cat, &mut ref_top, &mut keyed);
    let mut ranked = vec![false; n];
    for g in &groups {
        for &i in *g {
            ranked[i] = true;
        }
    }
    // Drawn in the order of the sequential loop: draw by draw, weight by weight.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sets: Vec<Vec<f64>> = (0..draws)
        .map(|_| {
            base.iter()
                .map(|bi| bi * rng.gen_range((1.0 - VARIATION)..=(1.0 + VARIATION)))
                .collect()
        })
        .collect();
    struct Tally {
        same_cat: Vec<u32>,
        same_top: Vec<u32>,
        cat: Vec<Option<Category>>,
        top: Vec<bool>,
        keyed: Vec<(u8, u8, f64, usize)>,
    }
    let new_tally = || Tally {
        same_cat: vec![0; n],
        same_top: vec![0; n],
        cat: vec![None; n],
        top: vec![false; n],
        keyed: Vec::new(),
    };
    let tally = sets
        .par_iter()
        .fold(new_tally, |mut acc, w| {
            prepared.categories_and_top3(
                &groups,
                w,
                &t,
                &mut acc.cat,
                &mut acc.top,
                &mut acc.keyed,
            );
            for g in &groups {
                for &i in *g {
                    acc.same_cat[i] += u32::from(acc.cat[i] == ref_cat[i]);
                    acc.same_top[i] += u32::from(acc.top[i] == ref_top[i]);
                }
            }
            acc
        })
        .reduce(new_tally, |mut a, b| {
            for (x, y) in a.same_cat.iter_mut().zip(&b.same_cat) {
                *x += y;
            }
            for (x, y) in a.same_top.iter_mut().zip(&b.same_top) {
                *x += y;
            }
            a
        });
    let d = draws.max(1) as f64;
    (0..n)
        .map(|i| {
            ranked[i].then(|| {
                let categorie = round3(f64::from(tally.same_cat[i]) / d);
                let top3 = round3(f64::from(tally.same_top[i]) / d);
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
    score_with_stability_of(prepared, weights, None)
}

/// [`score_with_stability`] with the stability of one `level` only (`None`: every level);
/// the other levels' areas keep `stability: None`. What a server answer about one level needs.
pub fn score_with_stability_of<'p>(
    prepared: &'p Prepared,
    weights: &Weights,
    level: Option<Level>,
) -> Vec<AreaScore<'p>> {
    let mut out = prepared.score(weights);
    for (s, st) in out.iter_mut().zip(stability_of(
        prepared,
        weights,
        DEFAULT_DRAWS,
        DEFAULT_SEED,
        level,
    )) {
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
    fn the_selected_top_three_are_the_areas_ranked_three_or_better() {
        let p = prepared();
        let n = p.len();
        let groups = p.groups_of(None);
        for (k, w) in ["1", "0", "3", "0.5"].iter().enumerate() {
            let weights = Weights::default()
                .with_overrides(&[
                    ("w_p_65plus", *w),
                    ("w_participants", ["2", "0", "1", "7"][k]),
                ])
                .unwrap();
            let scores = p.score(&weights);
            let (mut cat, mut top) = (vec![None; n], vec![false; n]);
            p.categories_and_top3(
                &groups,
                &p.weight_vector(&weights),
                &weights.thresholds(),
                &mut cat,
                &mut top,
                &mut Vec::new(),
            );
            for (i, s) in scores.iter().enumerate() {
                assert_eq!(cat[i], s.category, "area {i}, weights {k}");
                assert_eq!(
                    top[i],
                    s.rank.is_some_and(|r| r <= 3),
                    "area {i}, weights {k}"
                );
            }
            assert_eq!(top.iter().filter(|t| **t).count(), 3);
        }
    }

    #[test]
    fn one_level_s_stability_equals_the_full_analysis_for_that_level() {
        let p = prepared();
        let w = Weights::default();
        let all = stability(&p, &w, 60, 3);
        assert!(all.iter().all(Option::is_some));
        assert_eq!(stability_of(&p, &w, 60, 3, Some(Level::Buurt)), all);
        assert!(
            stability_of(&p, &w, 60, 3, Some(Level::Wijk))
                .iter()
                .all(Option::is_none)
        );
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
