//! The equality guard of the performance work (issue 17): the analysis must make exactly the
//! same choices after every optimisation. Fixed-seed fixtures (the demo, and 30,000 clients
//! snapped to the 25 m grid over the demo gemeente, so many share a cell and the clusters are
//! dense enough to hold many sites) are analysed in full; every output that a choice shows in
//! (cluster labels, sites with their participants, published shapes, participant buckets,
//! estimates, scores, categories, ranks, stability) is hashed, and the hashes are pinned in an
//! insta snapshot taken before the optimisations. A changed choice, a changed tie-break or a
//! changed float in any score changes a hash and fails the test. The server's way of running
//! (clients located once per snapshot, `analyse_located`) must give the same outputs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use buurtcirkel::analysis::cluster::Dbscan;
use buurtcirkel::analysis::metric::StraightLine;
use buurtcirkel::analysis::run::{ClientAreas, Inputs, Params, analyse_located, analyse_with};
use buurtcirkel::analysis::sites::{SiteParams, find_sites};
use buurtcirkel::analysis::stability::score_with_stability;
use buurtcirkel::analysis::weights::Weights;
use buurtcirkel::model::{CLIENT_SNAP_M, Client, snap};
use geo_types::Point;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

fn hash(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// 30,000 clients over the demo gemeente (148-154 km x, 421-426 km y): 80% around six
/// centres (sigma 250-600 m), the rest uniform; positions snapped to 25 m.
fn dense_clients(template: &Client) -> Vec<Client> {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let centres = [
        (148_900.0, 421_800.0, 400.0),
        (149_500.0, 423_900.0, 600.0),
        (151_200.0, 422_500.0, 250.0),
        (150_300.0, 425_100.0, 500.0),
        (152_700.0, 423_400.0, 300.0),
        (153_300.0, 421_700.0, 450.0),
    ];
    (0..30_000)
        .map(|_| {
            let (x, y) = if rng.gen_bool(0.8) {
                let (cx, cy, s) = centres[rng.gen_range(0..centres.len())];
                let r = (-2.0 * (rng.r#gen::<f64>() + 1e-12).ln()).sqrt() * s;
                let t = std::f64::consts::TAU * rng.r#gen::<f64>();
                (cx + r * t.cos(), cy + r * t.sin())
            } else {
                (
                    rng.gen_range(148_000.0..154_000.0),
                    rng.gen_range(421_000.0..426_000.0),
                )
            };
            let mut c = template.clone();
            c.position_rd = Point::new(snap(x, CLIENT_SNAP_M), snap(y, CLIENT_SNAP_M));
            c
        })
        .collect()
}

/// One line per output of a full straight-line analysis of `clients` on the demo areas.
fn fingerprint(clients: &[Client], params: Params) -> String {
    let demo = buurtcirkel::demo::generate();
    let points: Vec<Point<f64>> = clients.iter().map(|c| c.position_rd).collect();
    let clustering = Dbscan::new(params.walk_m, params.min_participants)
        .unwrap()
        .cluster(&StraightLine, &points);
    let sites = find_sites(
        &StraightLine,
        &points,
        &clustering,
        &SiteParams {
            walk_m: params.walk_m,
            min_participants: params.min_participants,
            ..SiteParams::default()
        },
    );
    let weights = Weights::default();
    let inputs = Inputs {
        areas: &demo.areas,
        clients,
        places: &demo.places,
        circles: &demo.circles,
    };
    let analysis = analyse_with(&StraightLine, inputs, &[], &weights, params).unwrap();
    // The server's way: the clients located once per snapshot, then only added up.
    let located = ClientAreas::locate(&demo.areas, clients);
    let once = analyse_located(&StraightLine, inputs, &located, &[], &weights, params).unwrap();
    assert_eq!(once.participants, analysis.participants);
    assert_eq!(once.published, analysis.published);
    assert_eq!(once.summary, analysis.summary);
    assert_eq!(
        format!("{:?}", score_with_stability(&once.prepared, &weights)),
        format!("{:?}", score_with_stability(&analysis.prepared, &weights))
    );
    let scores = score_with_stability(&analysis.prepared, &weights);
    let ranked = scores.iter().filter(|s| s.score.is_some()).count();
    format!(
        "clients {} clusters {} sites {} in_sites {} ranked {}\n\
         labels {}\nsites {}\npublished {}\nparticipants {}\nestimates {}\nscores {}\nsummary {}\n",
        clients.len(),
        clustering.cluster_count(),
        sites.len(),
        sites.iter().map(|s| s.participants.len()).sum::<usize>(),
        ranked,
        hash(&format!("{:?}", clustering.labels())),
        hash(&format!("{sites:?}")),
        hash(&format!("{:?}", analysis.published)),
        hash(&format!("{:?}", analysis.participants)),
        hash(&format!("{:?}", analysis.estimates)),
        hash(&format!("{scores:?}")),
        hash(&format!("{:?}", analysis.summary)),
    )
}

#[test]
fn the_demo_analysis_makes_the_same_choices_as_before_the_optimisations() {
    let demo = buurtcirkel::demo::generate();
    insta::assert_snapshot!("demo_800_5", fingerprint(&demo.clients, Params::default()));
}

#[test]
fn thirty_thousand_dense_clients_get_the_same_clusters_sites_and_scores_as_before() {
    let demo = buurtcirkel::demo::generate();
    let clients = dense_clients(&demo.clients[0]);
    insta::assert_snapshot!("dense_30k_800_5", fingerprint(&clients, Params::default()));
    insta::assert_snapshot!(
        "dense_30k_400_8",
        fingerprint(
            &clients,
            Params {
                walk_m: 400.0,
                min_participants: 8
            }
        )
    );
}
