//! Cell-key perturbation of published counts (CBS / ABS TableBuilder style; docs/privacy.md,
//! "Counts"): a group's count is published as the bucket of `count + noise`, where the noise
//! comes from a fixed table indexed by the count and the group's *cell key*, the fractional
//! part of the sum of its members' random keys. The same group always gets the same answer, so
//! repeating or overlapping queries cannot average the noise away, and one member more or less
//! draws a fresh, unpredictable noise.
//!
//! Inputs: exact counts and per-client keys, uniform in `[0, 1)`. Outputs: perturbed counts
//! and [`Bucket`]s. Pure: no files, GDAL, tokio, clock or random generator (keys are drawn on
//! ingest, not here). Uses only `model`.
//!
//! Wired in `analysis::run` (area buckets) and `analysis::generalise::publish` (cluster and
//! site buckets, and whether they are published at all); the keys are `Client::key`.

use crate::model::Bucket;

/// Columns of [`NOISE`]: the cell key's interval `[j/8, (j+1)/8)`.
const KEY_COLUMNS: usize = 8;

/// The perturbation table: row `min(count, 4) - 1`, column by cell key. Every entry is in
/// `-2..=2`; no row makes a nonzero count zero (row 1 adds 0 to 2, row 2 subtracts at most 1);
/// rows 3 and 4 have mean 0, so totals stay unbiased where it matters.
const NOISE: [[i8; KEY_COLUMNS]; 4] = [
    [0, 0, 0, 0, 1, 1, 2, 2],
    [-1, -1, 0, 0, 0, 1, 1, 2],
    [-2, -1, -1, 0, 0, 1, 1, 2],
    [-2, -1, -1, 0, 0, 1, 1, 2],
];

/// A group's cell key: the fractional part of the sum of its members' keys, in `[0, 1)`.
/// Non-finite keys count as 0.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cellkey::cell_key;
/// assert!((cell_key([0.5, 0.75]) - 0.25).abs() < 1e-12);
/// assert_eq!(cell_key([]), 0.0);
/// ```
pub fn cell_key(keys: impl IntoIterator<Item = f64>) -> f64 {
    // Each key on a grid of 2^-32, summed in integers modulo 1: exact, so the same members give
    // the same cell key in any order and however the sum is split (per position, then per area).
    let sum = keys
        .into_iter()
        .fold(0u64, |acc, k| acc.wrapping_add(key_units(k)) & 0xFFFF_FFFF);
    from_key_units(sum)
}

/// 2^32: the cell key's integer units per 1.
const KEY_UNITS: f64 = 4_294_967_296.0;

/// A member's key in the integer units [`cell_key`] sums (`0 <= units < 2^32`); a non-finite
/// key counts as 0. Summing units modulo 2^32 and converting with [`from_key_units`] is
/// [`cell_key`] of the same keys.
pub fn key_units(k: f64) -> u64 {
    let k = if k.is_finite() {
        k.rem_euclid(1.0)
    } else {
        0.0
    };
    // `rem_euclid` of a value just below 0 may round up to 1.0; the mask wraps it to 0.
    ((k * KEY_UNITS) as u64) & 0xFFFF_FFFF
}

/// The cell key of a sum of [`key_units`] (taken modulo 2^32).
pub fn from_key_units(units: u64) -> f64 {
    (units & 0xFFFF_FFFF) as f64 / KEY_UNITS
}

/// The noise the table gives a count with a cell key: 0 for a count of 0, else in `-2..=2`.
pub fn noise(count: usize, key: f64) -> i64 {
    if count == 0 {
        return 0;
    }
    let row = count.min(NOISE.len()) - 1;
    let key = if key.is_finite() {
        key.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let column = ((key * KEY_COLUMNS as f64) as usize).min(KEY_COLUMNS - 1);
    i64::from(NOISE[row][column])
}

/// The perturbed count: `count + noise`, never 0 for a nonzero count and 0 for 0.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::cellkey::perturbed;
/// assert_eq!(perturbed(0, 0.9), 0);
/// assert_eq!(perturbed(7, 0.0), 5);
/// assert_eq!(perturbed(7, 0.99), 9);
/// assert!(perturbed(1, 0.0) >= 1);
/// ```
pub fn perturbed(count: usize, key: f64) -> usize {
    if count == 0 {
        return 0;
    }
    let n = count as i64 + noise(count, key);
    usize::try_from(n.max(1)).unwrap_or(1)
}

/// The published bucket of a count with a cell key: the bucket of [`perturbed`].
pub fn perturbed_bucket(count: usize, key: f64) -> Bucket {
    Bucket::of(perturbed(count, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_table_never_makes_a_nonzero_count_zero_nor_moves_it_more_than_two() {
        for count in 1..40 {
            for j in 0..KEY_COLUMNS {
                let key = (j as f64 + 0.5) / KEY_COLUMNS as f64;
                let p = perturbed(count, key);
                assert!(p >= 1, "{count} -> {p}");
                assert!(p.abs_diff(count) <= 2, "{count} -> {p}");
            }
        }
        assert_eq!(perturbed(0, 0.5), 0);
    }

    #[test]
    fn the_noise_of_counts_from_three_averages_zero_over_the_keys() {
        for count in [3, 4, 5, 12, 100] {
            let total: i64 = (0..KEY_COLUMNS)
                .map(|j| noise(count, (j as f64 + 0.5) / KEY_COLUMNS as f64))
                .sum();
            assert_eq!(total, 0, "count {count}");
        }
    }

    proptest! {
        #[test]
        fn the_cell_key_does_not_depend_on_the_order_of_members(
            keys in prop::collection::vec(0.0..1.0f64, 1..30),
        ) {
            let mut reversed = keys.clone();
            reversed.reverse();
            let (a, b) = (cell_key(keys.iter().copied()), cell_key(reversed.iter().copied()));
            prop_assert!((0.0..1.0).contains(&a));
            // Exactly equal: a key on a column edge must not flip with the order of counting.
            prop_assert_eq!(a, b);
        }

        #[test]
        fn the_cell_key_of_a_group_equals_the_key_of_its_parts_summed(
            keys in prop::collection::vec(0.0..1.0f64, 1..30),
            split in 0usize..30,
        ) {
            // The analysis sums per position first, then per area: the same answer as one sum.
            let split = split.min(keys.len());
            let parts = cell_key([cell_key(keys[..split].iter().copied()), cell_key(keys[split..].iter().copied())]);
            prop_assert_eq!(parts, cell_key(keys.iter().copied()));
        }
    }
}
