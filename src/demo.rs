//! The built-in demo data set: the fictional gemeente *Lindenhoeve* (code `GM9999`, a code CBS
//! does not use) laid out in real RD New coordinates in the Betuwe, with 4 wijken, 29 buurten and
//! a water buurt, CBS-like key figures (some suppressed), about 500 clustered clients, meeting
//! places and one existing circle.
//!
//! Deterministic: a fixed-seed ChaCha generator, so every run gives the same data. Pure: it
//! builds `model` values and writes nothing; the CLI hands them to the store.

use geo::{Area as _, BooleanOps};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::{Area, AreaCode, CLIENT_SNAP_M, Circle, Client, Figures, Place, snap};

/// The demo gemeente code.
pub const DEMO_GEMEENTE: &str = "GM9999";
/// The seed of the demo data set.
pub const SEED: u64 = 20_241_123;

const X0: f64 = 148_000.0;
const Y0: f64 = 421_000.0;
const CELL: f64 = 1_000.0;
const COLS: usize = 6;
const ROWS: usize = 5;
/// The cell that is a lake: buurt `BU99999900` in water wijk `WK999999`.
const WATER_CELL: (usize, usize) = (5, 4);

/// The demo data set.
#[derive(Debug, Clone)]
pub struct Demo {
    /// One gemeente, its wijken and buurten.
    pub areas: Vec<Area>,
    /// Anonymised clients, already on the 25 m grid.
    pub clients: Vec<Client>,
    /// Meeting places.
    pub places: Vec<Place>,
    /// Existing circles.
    pub circles: Vec<Circle>,
}

const WIJKEN: [(&str, &str); 4] = [
    ("01", "Oude Stad"),
    ("02", "Hoeve-Noord"),
    ("03", "De Linden"),
    ("04", "Oosterveld"),
];

const BUURT_NAMES: [&str; 29] = [
    "Centrum",
    "Marktkwartier",
    "Havenbuurt",
    "Kerkebuurt",
    "Vestingwal",
    "Molenerf",
    "Hoevepark",
    "Noorderhof",
    "Bleekveld",
    "Kastanjelaan",
    "Ganzenweide",
    "Rozenhof",
    "Lindenhof",
    "De Schakel",
    "Beukenrode",
    "Eikenhorst",
    "Wilgenhoek",
    "Populierenbuurt",
    "Elzenhof",
    "Esdoornpark",
    "Berkenstein",
    "Oosterhof",
    "Klaverveld",
    "Boterbloem",
    "Zonnewijzer",
    "Dijkzicht",
    "Fruithof",
    "Appelgaard",
    "Kersenweide",
];

/// Which wijk a cell belongs to (01..04), or `None` for the water cell.
fn wijk_of(i: usize, j: usize) -> Option<usize> {
    if (i, j) == WATER_CELL {
        return None;
    }
    Some(match (i < 3, j < 2) {
        (true, true) => 0,
        (false, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
    })
}

/// A jittered lattice: shared vertices and edge midpoints, so neighbouring cells tile exactly.
struct Lattice {
    corners: Vec<Vec<Coord<f64>>>,
    horizontal_mid: Vec<Vec<Coord<f64>>>,
    vertical_mid: Vec<Vec<Coord<f64>>>,
}

impl Lattice {
    fn new(rng: &mut ChaCha8Rng) -> Lattice {
        let j = |on_border: bool, rng: &mut ChaCha8Rng| {
            if on_border {
                0.0
            } else {
                rng.gen_range(-180.0..180.0)
            }
        };
        let corners = (0..=COLS)
            .map(|i| {
                (0..=ROWS)
                    .map(|k| {
                        let bx = i == 0 || i == COLS;
                        let by = k == 0 || k == ROWS;
                        Coord {
                            x: X0 + i as f64 * CELL + j(bx, rng),
                            y: Y0 + k as f64 * CELL + j(by, rng),
                        }
                    })
                    .collect()
            })
            .collect::<Vec<Vec<_>>>();
        // Midpoint of the edge from corner (i,k) to (i+1,k), bent up or down.
        let horizontal_mid = (0..COLS)
            .map(|i| {
                (0..=ROWS)
                    .map(|k| {
                        let a: Coord<f64> = corners[i][k];
                        let b: Coord<f64> = corners[i + 1][k];
                        let border = k == 0 || k == ROWS;
                        Coord {
                            x: (a.x + b.x) / 2.0,
                            y: (a.y + b.y) / 2.0 + j(border, rng) * 0.8,
                        }
                    })
                    .collect()
            })
            .collect();
        let vertical_mid = (0..=COLS)
            .map(|i| {
                (0..ROWS)
                    .map(|k| {
                        let a: Coord<f64> = corners[i][k];
                        let b: Coord<f64> = corners[i][k + 1];
                        let border = i == 0 || i == COLS;
                        Coord {
                            x: (a.x + b.x) / 2.0 + j(border, rng) * 0.8,
                            y: (a.y + b.y) / 2.0,
                        }
                    })
                    .collect()
            })
            .collect();
        Lattice {
            corners,
            horizontal_mid,
            vertical_mid,
        }
    }

    /// The cell's polygon, counter-clockwise: 4 corners and 4 bent edge midpoints.
    fn cell(&self, i: usize, k: usize) -> Polygon<f64> {
        let ring = vec![
            self.corners[i][k],
            self.horizontal_mid[i][k],
            self.corners[i + 1][k],
            self.vertical_mid[i + 1][k],
            self.corners[i + 1][k + 1],
            self.horizontal_mid[i][k + 1],
            self.corners[i][k + 1],
            self.vertical_mid[i][k],
            self.corners[i][k],
        ];
        Polygon::new(LineString::new(ring), vec![])
    }
}

fn union_all(polys: &[Polygon<f64>]) -> MultiPolygon<f64> {
    polys.iter().fold(MultiPolygon::new(vec![]), |acc, p| {
        acc.union(&MultiPolygon::new(vec![p.clone()]))
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Standard normal sample (Box-Muller); two uniforms in, one normal out.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Generates the demo data set.
///
/// # Examples
/// ```
/// let a = buurtcirkel::demo::generate();
/// let b = buurtcirkel::demo::generate();
/// assert_eq!(a.clients, b.clients);
/// assert!((20..=40).contains(&a.areas.iter().filter(|x| x.code.as_str().starts_with("BU")).count()));
/// ```
pub fn generate() -> Demo {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let lattice = Lattice::new(&mut rng);
    let gm = "9999";
    let mut areas = Vec::new();
    let mut buurt_polys: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); 4];
    let mut buurt_figs: Vec<Vec<Figures>> = vec![Vec::new(); 4];
    let mut per_wijk_count = [0usize; 4];
    let mut name_idx = 0;
    let mut all_cells = Vec::new();

    for k in 0..ROWS {
        for i in 0..COLS {
            let poly = lattice.cell(i, k);
            all_cells.push(poly.clone());
            let Some(w) = wijk_of(i, k) else {
                areas.push(Area {
                    code: code(&format!("BU{gm}9900")),
                    name: "Lindenplas".into(),
                    water: true,
                    figures: Figures::default(),
                    geometry_rd: MultiPolygon::new(vec![poly]),
                });
                continue;
            };
            per_wijk_count[w] += 1;
            let bu = format!("BU{gm}{}{:02}", WIJKEN[w].0, per_wijk_count[w]);
            // Closer to the old centre (lower left) means denser, older, poorer.
            let centrality = 1.0 - ((i as f64).hypot(k as f64) / 6.4).min(1.0);
            let inwoners = (400.0 + 2_800.0 * centrality + rng.gen_range(0.0..900.0)).round();
            let hh_size = rng.gen_range(1.7..2.6);
            let huishoudens = (inwoners / hh_size).round();
            let area_km2 = poly.unsigned_area() / 1e6;
            let mut f = Figures {
                inwoners: Some(inwoners),
                huishoudens: Some(huishoudens),
                p_65plus: Some(round1(rng.gen_range(9.0..30.0) + 6.0 * centrality)),
                p_eenpersoonshh: Some(round1(rng.gen_range(20.0..45.0) + 15.0 * centrality)),
                p_laag_inkomen: Some(round1(rng.gen_range(22.0..45.0) + 12.0 * centrality)),
                adresdichtheid: Some(
                    (500.0 + 3_500.0 * centrality + rng.gen_range(0.0..600.0)).round(),
                ),
                bevolkingsdichtheid: Some((inwoners / area_km2).round()),
                oppervlakte_km2: Some(round1(area_km2 * 100.0) / 100.0),
                // Derived from the centrality only, so the random draws above stay as they were.
                woz_waarde: Some((420.0 - 180.0 * centrality).round()),
                p_koopwoningen: Some(round1(70.0 - 35.0 * centrality)),
                p_corporatiewoningen: Some(round1(15.0 + 30.0 * centrality)),
                p_bijstand: Some(round1(1.5 + 4.0 * centrality)),
                ..Figures::default()
            };
            // CBS suppresses figures for small or sensitive groups; mimic a few.
            match name_idx {
                7 | 19 => f.p_laag_inkomen = None,
                24 => {
                    f.p_laag_inkomen = None;
                    f.p_eenpersoonshh = None;
                    f.adresdichtheid = None;
                }
                _ => {}
            }
            buurt_polys[w].push(poly.clone());
            buurt_figs[w].push(f.clone());
            areas.push(Area {
                code: code(&bu),
                name: BUURT_NAMES[name_idx].to_string(),
                water: false,
                figures: f,
                geometry_rd: MultiPolygon::new(vec![poly]),
            });
            name_idx += 1;
        }
    }
    let mut wijk_figs = Vec::new();
    for (w, (nr, name)) in WIJKEN.iter().enumerate() {
        let f = aggregate(&buurt_figs[w], union_all(&buurt_polys[w]).unsigned_area());
        wijk_figs.push(f.clone());
        areas.push(Area {
            code: code(&format!("WK{gm}{nr}")),
            name: (*name).to_string(),
            water: false,
            figures: f,
            geometry_rd: union_all(&buurt_polys[w]),
        });
    }
    let water_poly = lattice.cell(WATER_CELL.0, WATER_CELL.1);
    areas.push(Area {
        code: code(&format!("WK{gm}99")),
        name: "Water".into(),
        water: true,
        figures: Figures::default(),
        geometry_rd: MultiPolygon::new(vec![water_poly]),
    });
    let all_figs: Vec<Figures> = buurt_figs.iter().flatten().cloned().collect();
    let gemeente_geom = union_all(&all_cells);
    areas.push(Area {
        code: code(DEMO_GEMEENTE),
        name: "Lindenhoeve".into(),
        water: false,
        figures: aggregate(&all_figs, gemeente_geom.unsigned_area()),
        geometry_rd: gemeente_geom,
    });

    let places = places();
    let circles = vec![Circle {
        id: 1,
        name: "Buurtcirkel De Linde".into(),
        geometry_rd: Geometry::Point(Point::new(149_100.0, 423_650.0)),
    }];
    let clients = clients(&mut rng);
    Demo {
        areas,
        clients,
        places,
        circles,
    }
}

fn code(s: &str) -> AreaCode {
    // The demo's own codes are built to be valid; a mistake here is a programming error that
    // the unit tests catch, so fall back loudly rather than panic in a user's `serve`.
    AreaCode::parse(s).unwrap_or_else(|_| {
        tracing::error!("demo built an invalid code {s}");
        AreaCode::parse("GM9999").unwrap_or_else(|_| unreachable!())
    })
}

/// Sums counts and averages percentages weighted by inhabitants or households, as CBS does.
fn aggregate(parts: &[Figures], area_m2: f64) -> Figures {
    let sum = |get: fn(&Figures) -> Option<f64>| -> Option<f64> {
        parts.iter().map(get).sum::<Option<f64>>()
    };
    let weighted = |get: fn(&Figures) -> Option<f64>, w: fn(&Figures) -> Option<f64>| {
        let mut num = 0.0;
        let mut den = 0.0;
        for p in parts {
            if let (Some(v), Some(w)) = (get(p), w(p)) {
                num += v * w;
                den += w;
            }
        }
        (den > 0.0).then(|| round1(num / den))
    };
    let inwoners = sum(|f| f.inwoners);
    Figures {
        inwoners,
        huishoudens: sum(|f| f.huishoudens),
        p_65plus: weighted(|f| f.p_65plus, |f| f.inwoners),
        p_eenpersoonshh: weighted(|f| f.p_eenpersoonshh, |f| f.huishoudens),
        p_laag_inkomen: weighted(|f| f.p_laag_inkomen, |f| f.inwoners),
        adresdichtheid: weighted(|f| f.adresdichtheid, |f| f.huishoudens).map(f64::round),
        bevolkingsdichtheid: inwoners.map(|i| (i / (area_m2 / 1e6)).round()),
        oppervlakte_km2: Some(round1(area_m2 / 1e4) / 100.0),
        woz_waarde: weighted(|f| f.woz_waarde, |f| f.huishoudens).map(f64::round),
        p_koopwoningen: weighted(|f| f.p_koopwoningen, |f| f.huishoudens),
        p_corporatiewoningen: weighted(|f| f.p_corporatiewoningen, |f| f.huishoudens),
        p_bijstand: weighted(|f| f.p_bijstand, |f| f.inwoners),
        ..Figures::default()
    }
}

fn places() -> Vec<Place> {
    [
        ("Wijkcentrum De Linde", "wijkcentrum", 149_150.0, 423_600.0),
        (
            "Bibliotheek Lindenhoeve",
            "bibliotheek",
            148_700.0,
            421_600.0,
        ),
        ("Buurthuis De Schakel", "buurthuis", 150_900.0, 422_700.0),
        ("Ontmoetingskerk", "kerk", 149_800.0, 421_900.0),
        (
            "Wijkcentrum Oosterveld",
            "wijkcentrum",
            152_700.0,
            423_200.0,
        ),
        ("Dorpshuis Hoeve-Noord", "buurthuis", 152_300.0, 421_500.0),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (name, kind, x, y))| Place {
        id: i as i64 + 1,
        name: name.into(),
        kind: kind.into(),
        position_rd: Point::new(x, y),
    })
    .collect()
}

/// About 500 clients: most live in a few concentrations (social housing near the centre, a
/// senior housing complex, a newcomers' location), the rest scattered, as real caseloads are.
fn clients(rng: &mut ChaCha8Rng) -> Vec<Client> {
    // (centre x, centre y, spread m, count, dominant target group)
    let hotspots = [
        (148_700.0, 421_600.0, 150.0, 110, "ggz"),
        (149_300.0, 423_700.0, 160.0, 100, "ouderen"),
        (151_000.0, 422_600.0, 140.0, 70, "lvb"),
        (150_200.0, 425_300.0, 150.0, 80, "ggz"),
        (152_800.0, 423_500.0, 150.0, 70, "nieuwkomers"),
        (152_500.0, 421_500.0, 120.0, 45, "ouderen"),
        (153_500.0, 424_300.0, 90.0, 9, "lvb"),
        (150_600.0, 421_300.0, 60.0, 4, "ggz"),
    ];
    let groups = ["ggz", "lvb", "ouderen", "nieuwkomers"];
    let (x_max, y_max) = (X0 + COLS as f64 * CELL, Y0 + ROWS as f64 * CELL);
    let lake_x = X0 + WATER_CELL.0 as f64 * CELL;
    let lake_y = Y0 + WATER_CELL.1 as f64 * CELL;
    let inside = |x: f64, y: f64| {
        x > X0 + 50.0
            && x < x_max - 50.0
            && y > Y0 + 50.0
            && y < y_max - 50.0
            && !(x > lake_x - 200.0 && y > lake_y - 200.0)
    };
    let mut out = Vec::new();
    for (cx, cy, spread, n, group) in hotspots {
        let mut placed = 0;
        while placed < n {
            let x = cx + normal(rng) * spread;
            let y = cy + normal(rng) * spread;
            if !inside(x, y) {
                continue;
            }
            let g = if rng.gen_bool(0.7) {
                group
            } else {
                groups[rng.gen_range(0..groups.len())]
            };
            out.push((x, y, g));
            placed += 1;
        }
    }
    while out.len() < 500 {
        let x = rng.gen_range(X0..x_max);
        let y = rng.gen_range(Y0..y_max);
        if inside(x, y) {
            out.push((x, y, groups[rng.gen_range(0..groups.len())]));
        }
    }
    // The fictional clients' cell keys come from their own fixed-seed generator, so the
    // published (perturbed) demo figures stay the same from run to run.
    let mut keys = ChaCha8Rng::seed_from_u64(SEED ^ 0x6b65_7973);
    out.into_iter()
        .map(|(x, y, g)| Client {
            position_rd: Point::new(snap(x, CLIENT_SNAP_M), snap(y, CLIENT_SNAP_M)),
            doelgroep: Some(g.to_string()),
            key: keys.gen_range(0.0..1.0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use geo::Contains;

    #[test]
    fn the_demo_has_one_gemeente_a_few_wijken_and_a_water_buurt() {
        let d = generate();
        let count = |l: Level| d.areas.iter().filter(|a| a.level() == l).count();
        assert_eq!(count(Level::Gemeente), 1);
        assert_eq!(count(Level::Wijk), 5);
        assert_eq!(count(Level::Buurt), 30);
        assert_eq!(
            d.areas
                .iter()
                .filter(|a| a.water && a.level() == Level::Buurt)
                .count(),
            1
        );
        assert!(
            d.areas
                .iter()
                .any(|a| a.figures.p_laag_inkomen.is_none() && !a.water)
        );
    }

    #[test]
    fn demo_clients_are_snapped_and_lie_in_the_gemeente() {
        let d = generate();
        assert!((480..=520).contains(&d.clients.len()));
        let gm = d
            .areas
            .iter()
            .find(|a| a.level() == Level::Gemeente)
            .unwrap();
        for c in &d.clients {
            assert_eq!(c.position_rd.x() % 25.0, 0.0);
            assert_eq!(c.position_rd.y() % 25.0, 0.0);
            assert!(
                gm.geometry_rd.contains(&c.position_rd),
                "{:?}",
                c.position_rd
            );
        }
    }

    #[test]
    fn buurten_tile_their_wijk_without_gaps() {
        let d = generate();
        for w in d.areas.iter().filter(|a| a.level() == Level::Wijk) {
            let sum: f64 = d
                .areas
                .iter()
                .filter(|b| b.level() == Level::Buurt && b.code.wijk().as_ref() == Some(&w.code))
                .map(|b| b.geometry_rd.unsigned_area())
                .sum();
            assert!(
                (sum - w.geometry_rd.unsigned_area()).abs() < 1.0,
                "{}",
                w.code
            );
        }
    }
}
