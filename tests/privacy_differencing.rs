//! Differencing attacks on published counts (issue 12, docs/privacy.md "Counts"): what a
//! planner learns by sweeping `min_participants`, summing published groups, diffing two
//! snapshots or combining neighbouring buckets, against about 600 synthetic clients laid out
//! as in Ermelo (about 70 groups of 5 to 12, each within 150 m, 2 km apart). Each attack is
//! run twice: as a naive attacker who takes the published figures for exact (always right
//! before the perturbation was wired), and as one who knows the noise table but not the keys. Through the library (the same
//! `analysis::run::analyse` every tier publishes from), straight-line metric. Every test prints
//! its figures; docs/privacy.md quotes them.

// Fixture helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use buurtcirkel::analysis::cellkey::perturbed;
use buurtcirkel::analysis::generalise::outline_cells;
use buurtcirkel::analysis::metric::StraightLine;
use buurtcirkel::analysis::run::{Analysis, Inputs, MIN_PARTICIPANTS_RANGE, Params, analyse};
use buurtcirkel::model::{Area, AreaCode, Bucket, Client, Figures};
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const X0: f64 = 170_000.0;
const Y0: f64 = 470_000.0;
/// Groups lie on a 9 x 9 lattice this far apart: far beyond any walking distance.
const SPACING: f64 = 2_000.0;

/// One group: members on 25 m nodes inside a 125 m square that straddles the edges of four
/// 250 m cells, so every member reaches every other (the group is one DBSCAN cluster for every
/// minimum up to its size) and one client more or less can tip a cell over 3.
struct Group {
    origin: (f64, f64),
    clients: Vec<Client>,
}

fn groups(seed: u64) -> Vec<Group> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut total = 0;
    let mut k = 0;
    while total < 600 && k < 81 {
        // Cell edges at 250 j + 12.5: nodes 200..=325 put 3 columns on each side.
        let origin = (
            X0 + 200.0 + SPACING * (k % 9) as f64,
            Y0 + 200.0 + SPACING * (k / 9) as f64,
        );
        let size = rng.gen_range(5..=12);
        let clients = (0..size)
            .map(|_| Client {
                position_rd: Point::new(
                    origin.0 + 25.0 * rng.gen_range(0..6) as f64,
                    origin.1 + 25.0 * rng.gen_range(0..6) as f64,
                ),
                doelgroep: Some("ggz".into()),
                key: rng.gen_range(0.0..1.0),
            })
            .collect();
        out.push(Group { origin, clients });
        total += size;
        k += 1;
    }
    out
}

fn all_clients(groups: &[Group]) -> Vec<Client> {
    groups.iter().flat_map(|g| g.clients.clone()).collect()
}

fn run(areas: &[Area], clients: &[Client], min_participants: usize) -> Analysis {
    analyse(
        &StraightLine,
        Inputs {
            areas,
            clients,
            places: &[],
            circles: &[],
        },
        Params {
            walk_m: 800.0,
            min_participants,
        },
    )
    .expect("analysis")
}

/// The published cluster buckets, keyed by the group whose outline holds it.
fn buckets_by_group(a: &Analysis, groups: &[Group]) -> BTreeMap<usize, Bucket> {
    let mut out = BTreeMap::new();
    for c in &a.published.clusters {
        let Some(p) = geo::Centroid::centroid(&c.geometry_rd) else {
            continue;
        };
        let g = groups
            .iter()
            .position(|g| {
                (p.x() - g.origin.0).abs() < SPACING / 2.0
                    && (p.y() - g.origin.1).abs() < SPACING / 2.0
            })
            .expect("a published cluster belongs to a group");
        out.insert(g, c.members);
    }
    out
}

/// The counts the published table can turn `n` into (the table is public: the attacker
/// knows it, not the keys).
fn possible_perturbed(n: usize) -> BTreeSet<usize> {
    (0..8)
        .map(|j| perturbed(n, (f64::from(j) + 0.5) / 8.0))
        .collect()
}

/// The exact sizes consistent with a sweep: `seen[m]` is the bucket published at minimum `m`
/// (None: no cluster). A group of `n` is a DBSCAN cluster for every `m <= n`; it is published
/// when its count as published (one value `p` for the same group: same keys, same answer)
/// reaches `m` and 5.
fn sizes_consistent_with(seen: &BTreeMap<usize, Option<Bucket>>) -> BTreeSet<usize> {
    (1..=40)
        .filter(|&n| {
            possible_perturbed(n).into_iter().any(|p| {
                seen.iter().all(|(&m, b)| {
                    let shown = n >= m && n >= 5 && p >= m.max(5);
                    match b {
                        Some(b) => shown && Bucket::of(p) == *b,
                        None => !shown,
                    }
                })
            })
        })
        .collect()
}

/// Every minimum a planner may ask for.
fn sweep() -> std::ops::RangeInclusive<usize> {
    MIN_PARTICIPANTS_RANGE.0..=MIN_PARTICIPANTS_RANGE.1
}

#[test]
fn a_min_participants_sweep_no_longer_pins_the_exact_size_of_most_groups() {
    let groups = groups(12);
    let clients = all_clients(&groups);
    let mut seen: Vec<BTreeMap<usize, Option<Bucket>>> = vec![BTreeMap::new(); groups.len()];
    for m in sweep() {
        let shown = buckets_by_group(&run(&[], &clients, m), &groups);
        for (g, s) in seen.iter_mut().enumerate() {
            s.insert(m, shown.get(&g).copied());
        }
    }
    let mut pinned = 0;
    let mut naive_right = 0;
    let mut shown_groups = 0;
    let mut widths = Vec::new();
    for (g, s) in seen.iter().enumerate() {
        let n = groups[g].clients.len();
        // Naive: the size is the largest minimum at which the group still shows.
        if let Some(last) = s.iter().filter(|(_, b)| b.is_some()).map(|(m, _)| *m).max() {
            shown_groups += 1;
            if last == n {
                naive_right += 1;
            }
        } else {
            continue;
        }
        let sizes = sizes_consistent_with(s);
        assert!(sizes.contains(&n), "group {g} of {n}: {sizes:?} from {s:?}");
        if sizes.len() == 1 {
            pinned += 1;
        }
        widths.push(sizes.len());
    }
    let share = pinned as f64 / shown_groups as f64;
    let mean_width = widths.iter().sum::<usize>() as f64 / widths.len() as f64;
    eprintln!(
        "sweep of min_participants {:?} over {shown_groups} published groups ({} clients): the naive reading (last minimum shown = size) is right for {naive_right}; knowing the table, {pinned} are pinned to one exact size ({:.0}%), on average {mean_width:.1} sizes remain",
        sweep(),
        clients.len(),
        100.0 * share
    );
    assert!(
        shown_groups * 2 > groups.len(),
        "only {shown_groups} groups shown"
    );
    assert!(
        naive_right * 10 < shown_groups * 8,
        "the sweep gives the exact size of {naive_right} of {shown_groups} groups"
    );
    assert!(
        share < 0.35,
        "a sweep pins {pinned} of {shown_groups} groups to an exact size"
    );
}

#[test]
fn summing_what_a_sweep_shows_does_not_give_the_exact_participant_count() {
    let groups = groups(12);
    let clients = all_clients(&groups);
    let at_5 = buckets_by_group(&run(&[], &clients, 5), &groups);
    let exact: usize = at_5.keys().map(|&g| groups[g].clients.len()).sum();
    // The attacker's best single guess per group: the largest minimum at which it still shows.
    let mut last_shown = vec![0usize; groups.len()];
    for m in sweep() {
        for g in buckets_by_group(&run(&[], &clients, m), &groups).keys() {
            last_shown[*g] = m;
        }
    }
    let guessed: usize = last_shown.iter().sum();
    let off: usize = at_5
        .keys()
        .filter(|&&g| last_shown[g] != groups[g].clients.len())
        .count();
    eprintln!(
        "sum over the {} groups shown at minimum 5: the sweep suggests {guessed} participants, the exact count is {exact}; {off} groups guessed wrong",
        at_5.len()
    );
    assert_ne!(guessed, exact);
    assert!(off * 4 >= at_5.len(), "only {off} groups guessed wrong");
}

/// The largest exact count of a bucket.
fn upper_edge(b: Bucket) -> Option<usize> {
    match b {
        Bucket::Under5 => Some(4),
        Bucket::From5To8 => Some(8),
        Bucket::From9To12 => Some(12),
        Bucket::Over12 => None,
    }
}

fn cell_100(p: Point<f64>) -> (i64, i64) {
    (
        (p.x() / 100.0).floor() as i64,
        (p.y() / 100.0).floor() as i64,
    )
}

/// Inversion after a diff: the 25 m nodes within 400 m of the group where the one new or moved
/// client could be, given everything else (the strongest attacker: all other homes known),
/// because putting it there draws the same outline cells; counted as 100 m cells.
fn cells_that_explain(
    others: &[Point<f64>],
    observed: &BTreeSet<(i64, i64)>,
    near: (f64, f64),
) -> usize {
    let mut cells = BTreeSet::new();
    for i in -16..=19 {
        for j in -16..=19 {
            let p = Point::new(near.0 + 25.0 * f64::from(i), near.1 + 25.0 * f64::from(j));
            let mut with = others.to_vec();
            with.push(p);
            if &outline_cells(&with) == observed {
                cells.insert(cell_100(p));
            }
        }
    }
    cells.len()
}

#[test]
fn a_snapshot_diff_after_one_client_is_added_or_moves_25_m_never_pins_it_to_few_cells() {
    let groups = groups(7);
    let clients = all_clients(&groups);
    let before = run(&[], &clients, 5);
    let before_buckets = buckets_by_group(&before, &groups);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    for (kind, trials) in [("added at the edge", 100), ("moved 25 m", 100)] {
        let (mut changed, mut shape_changed, mut fewest) = (0, 0, usize::MAX);
        let (mut bucket_changes, mut naive_right) = (0, 0);
        for _ in 0..trials {
            let g = rng.gen_range(0..groups.len());
            let group = &groups[g];
            let mut members: Vec<Client> = group.clients.clone();
            let target = if kind == "added at the edge" {
                // A node just outside the group's square, within 100 m of it.
                let side = rng.gen_range(0..4);
                let t = 25.0 * rng.gen_range(0..4) as f64;
                let d = 25.0 * rng.gen_range(1..=4) as f64;
                let (x, y) = match side {
                    0 => (group.origin.0 - d, group.origin.1 + t),
                    1 => (group.origin.0 + 75.0 + d, group.origin.1 + t),
                    2 => (group.origin.0 + t, group.origin.1 - d),
                    _ => (group.origin.0 + t, group.origin.1 + 75.0 + d),
                };
                members.push(Client {
                    position_rd: Point::new(x, y),
                    doelgroep: Some("ggz".into()),
                    key: rng.gen_range(0.0..1.0),
                });
                members.len() - 1
            } else {
                let i = rng.gen_range(0..members.len());
                let (dx, dy) =
                    [(25.0, 0.0), (-25.0, 0.0), (0.0, 25.0), (0.0, -25.0)][rng.gen_range(0..4)];
                let p = members[i].position_rd;
                members[i].position_rd = Point::new(p.x() + dx, p.y() + dy);
                i
            };
            let mut after_clients: Vec<Client> = groups
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != g)
                .flat_map(|(_, o)| o.clients.clone())
                .collect();
            after_clients.extend(members.clone());
            let after = run(&[], &after_clients, 5);
            let after_buckets = buckets_by_group(&after, &groups);
            let points: Vec<Point<f64>> = members.iter().map(|c| c.position_rd).collect();
            let before_points: Vec<Point<f64>> =
                group.clients.iter().map(|c| c.position_rd).collect();
            let shape = outline_cells(&points) != outline_cells(&before_points);
            if shape || after_buckets.get(&g) != before_buckets.get(&g) {
                changed += 1;
            }
            if shape {
                shape_changed += 1;
            }
            // Naive: a bucket one step up after one client more means the group was exactly
            // at the old bucket's upper edge (always true with exact-count buckets).
            if let (Some(&b0), Some(&b1)) = (before_buckets.get(&g), after_buckets.get(&g))
                && b0 != b1
                && kind == "added at the edge"
            {
                bucket_changes += 1;
                if upper_edge(b0) == Some(group.clients.len()) {
                    naive_right += 1;
                }
            }
            let others: Vec<Point<f64>> = points
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != target)
                .map(|(_, p)| *p)
                .collect();
            let n = cells_that_explain(&others, &outline_cells(&points), group.origin);
            fewest = fewest.min(n);
        }
        eprintln!(
            "snapshot diff, one client {kind}: {changed} of {trials} trials changed a shape or bucket ({shape_changed} a shape); the client stays among at least {fewest} cells of 100 m; of {bucket_changes} bucket changes, the naive reading (the group was at the old bucket's upper edge) is right for {naive_right}"
        );
        if bucket_changes > 0 {
            assert!(
                naive_right * 10 < bucket_changes * 8,
                "{kind}: {naive_right} of {bucket_changes} bucket changes give the exact size"
            );
        }
        assert!(
            fewest >= 9,
            "{kind}: a diff placed a client in {fewest} cells of 100 m"
        );
    }
}

fn buurt(code: &str, x0: f64, x1: f64) -> Area {
    Area {
        code: AreaCode::parse(code).expect("code"),
        name: code.to_string(),
        water: false,
        figures: Figures {
            inwoners: Some(1500.0),
            ..Figures::default()
        },
        geometry_rd: MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![
                (x0, Y0),
                (x1, Y0),
                (x1, Y0 + 1000.0),
                (x0, Y0 + 1000.0),
                (x0, Y0),
            ]),
            vec![],
        )]),
    }
}

#[test]
fn an_exact_looking_cluster_size_next_to_two_small_buurten_does_not_pin_them() {
    // A cluster of 7 straddling two buurten: 4 members west of the border, 3 east.
    let border = X0 + 500.0;
    let areas = [
        buurt("BU01230101", X0, border),
        buurt("BU01230102", border, X0 + 1000.0),
    ];
    let positions: Vec<Point<f64>> = [-87.5, -62.5, -37.5, -12.5, 12.5, 37.5, 62.5]
        .iter()
        .map(|dx| Point::new(border + dx, Y0 + 500.0 - 12.5))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (trials, mut pinned, mut narrowed_to_two, mut naive_wrong) = (100, 0, 0, 0);
    for _ in 0..trials {
        let clients: Vec<Client> = positions
            .iter()
            .map(|p| Client {
                position_rd: *p,
                doelgroep: None,
                key: rng.gen_range(0.0..1.0),
            })
            .collect();
        let mut seen = BTreeMap::new();
        let mut area_buckets = Vec::new();
        for m in 5..=9 {
            let a = run(&areas, &clients, m);
            seen.insert(m, a.published.clusters.first().map(|c| c.members));
            if m == 5 {
                area_buckets = a.participants.iter().map(|b| b.expect("clients")).collect();
            }
        }
        let sizes = sizes_consistent_with(&seen);
        assert!(sizes.contains(&7), "{sizes:?}");
        // Naive: the size is the last minimum shown, the buckets are exact; each buurt is what
        // the size leaves given the other's bucket (the "3-4 each").
        let last = seen
            .iter()
            .filter(|(_, b)| b.is_some())
            .map(|(m, _)| *m)
            .max();
        let exact_fit = |c: usize, b: Bucket| Bucket::of(c) == b;
        for (k, other) in [(0usize, 1usize), (1, 0)] {
            let naive: BTreeSet<usize> = (0..=12)
                .filter(|&c| {
                    last.is_some_and(|d| {
                        d >= c
                            && exact_fit(c, area_buckets[k])
                            && exact_fit(d - c, area_buckets[other])
                    })
                })
                .collect();
            if !naive.contains(&[4, 3][k]) {
                naive_wrong += 1;
            }
        }
        // Per buurt: the exact counts whose perturbed value falls in its published bucket,
        // and that add up to a cluster size the sweep allows.
        let fits = |c: usize, b: Bucket| possible_perturbed(c).iter().any(|&p| Bucket::of(p) == b);
        for (k, other) in [(0usize, 1usize), (1, 0)] {
            let options: BTreeSet<usize> = (0..=12)
                .filter(|&c| {
                    fits(c, area_buckets[k])
                        && sizes
                            .iter()
                            .any(|&n| n >= c && fits(n - c, area_buckets[other]))
                })
                .collect();
            assert!(options.contains(&[4, 3][k]), "{options:?}");
            if options.len() == 1 {
                pinned += 1;
            }
            if options.len() <= 2 {
                narrowed_to_two += 1;
            }
        }
    }
    eprintln!(
        "neighbouring buckets over {trials} key draws: the naive reading is wrong for {naive_wrong} of {} buurt counts; knowing the table, {pinned} are pinned exactly, {narrowed_to_two} narrowed to two values or fewer",
        2 * trials
    );
    assert!(
        naive_wrong * 5 >= 2 * trials,
        "the exact-count reading still holds for {} of {} buurt counts",
        2 * trials - naive_wrong,
        2 * trials
    );
    assert_eq!(pinned, 0, "a buurt's count was pinned");
    assert!(
        narrowed_to_two * 2 < 2 * trials,
        "{narrowed_to_two} narrowed to two values"
    );
}
