//! The estimate of potential participants within walking distance, from CBS figures only.
//!
//! Inputs: an area's CBS [`Figures`] (inhabitants, density, area, 65-plus share), optionally
//! the CBS 100 m grid cells (RD New centres in metres, inhabitants per cell), the walking
//! distance in metres and the target-group [`Prevalence`]s. Output: per area an [`Estimate`]:
//! the expected number of people of the target groups who live within walking distance of a
//! typical resident of the area, and which density it rests on.
//!
//! Model: people within walking distance = density × π·walk², for a *typical resident* (the
//! population-weighted mean over the grid cells of the area, when a grid is loaded). Times the
//! target-group share of the inhabitants, capped by the area's own target population (an area
//! of 10 inhabitants cannot supply 9 participants of its own). The estimate never sees client
//! data, so it can be published as a number.
//!
//! This module is pure: no files, GDAL, tokio or clock; it uses only `index` and `model`.

use serde::Serialize;

use crate::analysis::weights::Prevalence;
use crate::index::PointIndex;
use crate::model::Figures;
pub use crate::model::GridCell;

/// Which density the estimate rests on, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DensitySource {
    /// The CBS 100 m grid: people within walking distance counted cell by cell.
    Grid,
    /// CBS population density (inhabitants per km² of land, `bev_dich`).
    Bevolkingsdichtheid,
    /// Inhabitants divided by the total area (water included, so an underestimate near water).
    InwonersPerOppervlakte,
    /// Surrounding address density times the area's persons per household.
    Adresdichtheid,
}

impl DensitySource {
    /// Dutch label, as published.
    pub fn label(self) -> &'static str {
        match self {
            DensitySource::Grid => "100m-vierkanten",
            DensitySource::Bevolkingsdichtheid => "bevolkingsdichtheid",
            DensitySource::InwonersPerOppervlakte => "inwoners per km² oppervlakte",
            DensitySource::Adresdichtheid => "adresdichtheid",
        }
    }
}

/// The expected number of potential participants within walking distance of a typical resident.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Expected participants within walking distance (after the cap), rounded to 0.1.
    pub expected: f64,
    /// Inhabitants within walking distance of a typical resident (before the target share).
    pub people_within_walk: f64,
    /// The area's own target population: inhabitants × target share (the cap).
    pub target_population: f64,
    /// Which density was used.
    pub source: DensitySource,
}

/// Persons per household when an area has no household figures: the national mean of about
/// 2.1 (CBS, 2022), used only for the address-density fallback.
const PERSONS_PER_ADDRESS: f64 = 2.1;

/// The density per km² a typical resident sees, from the area's figures: CBS population
/// density, else inhabitants / area, else address density × persons per household.
pub fn figure_density(f: &Figures) -> Option<(f64, DensitySource)> {
    let ok = |v: Option<f64>| v.filter(|x| x.is_finite() && *x >= 0.0);
    if let Some(d) = ok(f.bevolkingsdichtheid) {
        return Some((d, DensitySource::Bevolkingsdichtheid));
    }
    if let (Some(i), Some(a)) = (ok(f.inwoners), ok(f.oppervlakte_km2).filter(|a| *a > 0.0)) {
        return Some((i / a, DensitySource::InwonersPerOppervlakte));
    }
    let oad = ok(f.adresdichtheid)?;
    let per_hh = match (ok(f.inwoners), ok(f.huishoudens).filter(|h| *h > 0.0)) {
        (Some(i), Some(h)) => i / h,
        _ => PERSONS_PER_ADDRESS,
    };
    Some((oad * per_hh, DensitySource::Adresdichtheid))
}

/// What the grid says about one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridPeople {
    /// People within walking distance of a typical resident of the area.
    pub within_walk: f64,
    /// Inhabitants of the area's own cells (used when the area's figures lack `inwoners`).
    pub in_area: f64,
}

/// People within walking distance of a typical resident of the cells `members` (indices into
/// `cells`): the population-weighted mean, over those cells, of the inhabitants of every cell
/// whose centre lies within `walk_m` of the cell's centre (the cell itself included).
///
/// `None` when the members hold no known inhabitants. Suppressed cells count as empty: CBS
/// suppresses cells with fewer than 5 inhabitants, so this underestimates by less than 5 per
/// cell.
pub fn grid_people_within_walk(
    cells: &[GridCell],
    index: &PointIndex,
    members: &[usize],
    walk_m: f64,
) -> Option<GridPeople> {
    let mut weighted = 0.0;
    let mut total = 0.0;
    for &m in members {
        let Some(pop) = cells[m].inwoners.filter(|p| *p > 0.0) else {
            continue;
        };
        let around: f64 = index
            .within_distance(cells[m].centre_rd, walk_m)
            .filter_map(|j| cells[j].inwoners)
            .filter(|p| *p > 0.0)
            .sum();
        weighted += pop * around;
        total += pop;
    }
    (total > 0.0).then(|| GridPeople {
        within_walk: weighted / total,
        in_area: total,
    })
}

/// The estimate for one area.
///
/// # Parameters
/// - `figures`: the area's CBS figures (`inwoners` is required, `p_65plus` refines the share).
/// - `grid_people`: people within walking distance from [`grid_people_within_walk`], if the
///   area is covered by a loaded grid; it takes precedence over the figures' density, and its
///   inhabitants stand in for a missing `inwoners` figure.
/// - `walk_m`: walking distance, metres.
/// - `prevalence`: target-group shares.
///
/// # Returns
/// `None` when the inhabitants or every density are unknown.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::estimate::estimate;
/// use buurtcirkel::analysis::weights::Prevalence;
/// use buurtcirkel::model::Figures;
/// let f = Figures { inwoners: Some(50_000.0), bevolkingsdichtheid: Some(5_000.0),
///                   p_65plus: Some(20.0), ..Figures::default() };
/// let e = estimate(&f, None, 800.0, &Prevalence::default()).unwrap();
/// // 5,000/km² × π·0.8² km² ≈ 10,053 people, × 3.5% target share ≈ 352.
/// assert!((e.expected - 351.9).abs() < 0.1, "{}", e.expected);
/// // A small area caps the estimate at its own target population: 2,000 × 3.5% = 70.
/// let small = Figures { inwoners: Some(2_000.0), ..f };
/// let e = estimate(&small, None, 800.0, &Prevalence::default()).unwrap();
/// assert!((e.expected - 70.0).abs() < 1e-9, "{}", e.expected);
/// ```
pub fn estimate(
    figures: &Figures,
    grid_people: Option<GridPeople>,
    walk_m: f64,
    prevalence: &Prevalence,
) -> Option<Estimate> {
    let inwoners = figures
        .inwoners
        .filter(|x| x.is_finite() && *x >= 0.0)
        .or(grid_people.map(|g| g.in_area))?;
    let p65 = figures
        .p_65plus
        .filter(|x| x.is_finite() && (0.0..=100.0).contains(x));
    let share = prevalence.share_of_inhabitants(p65);
    let (people, source) = match grid_people {
        Some(g) => (g.within_walk, DensitySource::Grid),
        None => {
            let (density, source) = figure_density(figures)?;
            let disc_km2 = std::f64::consts::PI * (walk_m / 1000.0).powi(2);
            (density * disc_km2, source)
        }
    };
    let target_population = inwoners * share;
    let expected = (people * share).min(target_population);
    Some(Estimate {
        expected: (expected * 10.0).round() / 10.0,
        people_within_walk: people.round(),
        target_population: (target_population * 10.0).round() / 10.0,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::Point;

    fn prevalence(share: f64) -> Prevalence {
        Prevalence {
            ggz: share,
            lvb: 0.0,
            ouderen_alleenwonend: 0.0,
            nieuwkomers: 0.0,
        }
    }

    /// A square grid of `n × n` cells of 100 m with `pop` inhabitants each, lower left at 0,0.
    fn grid(n: usize, pop: f64) -> Vec<GridCell> {
        let mut v = Vec::new();
        for i in 0..n {
            for j in 0..n {
                v.push(GridCell {
                    centre_rd: Point::new(50.0 + 100.0 * i as f64, 50.0 + 100.0 * j as f64),
                    inwoners: Some(pop),
                });
            }
        }
        v
    }

    fn index(cells: &[GridCell]) -> PointIndex {
        PointIndex::new(&cells.iter().map(|c| c.centre_rd).collect::<Vec<_>>())
    }

    #[test]
    fn a_uniform_density_gives_density_times_the_walking_disc_times_the_prevalence() {
        // 4,000 inhabitants per km², walk 500 m: π·0.25 km² × 4,000 = 3,141.6 people; 1% of
        // them is 31.4, below the area's own 1% of 50,000.
        let f = Figures {
            inwoners: Some(50_000.0),
            bevolkingsdichtheid: Some(4_000.0),
            ..Figures::default()
        };
        let e = estimate(&f, None, 500.0, &prevalence(0.01)).unwrap();
        assert_eq!(e.expected, 31.4);
        assert_eq!(e.people_within_walk, 3_142.0);
        assert_eq!(e.source, DensitySource::Bevolkingsdichtheid);
    }

    #[test]
    fn a_small_area_is_capped_by_its_own_target_population() {
        // 10 inhabitants in a dense city block: at most 10 × 3% = 0.3 participants of its own.
        let f = Figures {
            inwoners: Some(10.0),
            bevolkingsdichtheid: Some(20_000.0),
            ..Figures::default()
        };
        let e = estimate(&f, None, 800.0, &prevalence(0.03)).unwrap();
        assert_eq!(e.expected, 0.3);
        assert_eq!(e.target_population, 0.3);
    }

    #[test]
    fn the_65plus_share_scales_the_lonely_elderly_group() {
        let p = Prevalence {
            ggz: 0.0,
            lvb: 0.0,
            ouderen_alleenwonend: 0.1,
            nieuwkomers: 0.0,
        };
        let f = Figures {
            inwoners: Some(1_000_000.0),
            bevolkingsdichtheid: Some(1_000.0),
            p_65plus: Some(50.0),
            ..Figures::default()
        };
        // 1,000/km² × π km² (walk 1 km) = 3,141.6 people × 50% old × 10% = 157.1.
        let e = estimate(&f, None, 1_000.0, &p).unwrap();
        assert_eq!(e.expected, 157.1);
    }

    #[test]
    fn without_density_the_area_and_then_the_address_density_are_used() {
        let f = Figures {
            inwoners: Some(2_000.0),
            oppervlakte_km2: Some(4.0),
            ..Figures::default()
        };
        assert_eq!(
            figure_density(&f),
            Some((500.0, DensitySource::InwonersPerOppervlakte))
        );
        let f = Figures {
            inwoners: Some(2_000.0),
            huishoudens: Some(1_000.0),
            adresdichtheid: Some(1_500.0),
            ..Figures::default()
        };
        assert_eq!(
            figure_density(&f),
            Some((3_000.0, DensitySource::Adresdichtheid))
        );
        assert_eq!(figure_density(&Figures::default()), None);
        assert_eq!(
            estimate(&Figures::default(), None, 800.0, &Prevalence::default()),
            None
        );
    }

    #[test]
    fn on_a_uniform_hand_built_grid_a_resident_sees_the_cells_within_walking_distance() {
        // 21 × 21 cells of 100 m with 30 inhabitants each; the centre cell's resident at walk
        // 300 m reaches every cell centre within 300 m: 29 cells (a digital disc), 870 people.
        let cells = grid(21, 30.0);
        let idx = index(&cells);
        let centre = 10 * 21 + 10;
        let people = grid_people_within_walk(&cells, &idx, &[centre], 300.0).unwrap();
        assert_eq!(people.within_walk, 29.0 * 30.0);
        assert_eq!(people.in_area, 30.0);
        // 1% of them: 8.7 expected, with the area's own target population far above.
        let f = Figures {
            inwoners: Some(100_000.0),
            ..Figures::default()
        };
        let e = estimate(&f, Some(people), 300.0, &prevalence(0.01)).unwrap();
        assert_eq!((e.expected, e.source), (8.7, DensitySource::Grid));
    }

    #[test]
    fn a_grid_resident_weights_cells_by_their_inhabitants_and_skips_suppressed_cells() {
        // Two cells 1 km apart (out of each other's reach) with 100 and 300 inhabitants and a
        // suppressed one next to the first: the typical resident lives in the larger cell,
        // (100·100 + 300·300) / 400 = 250 people within walking distance.
        let cells = vec![
            GridCell {
                centre_rd: Point::new(0.0, 0.0),
                inwoners: Some(100.0),
            },
            GridCell {
                centre_rd: Point::new(1_000.0, 0.0),
                inwoners: Some(300.0),
            },
            GridCell {
                centre_rd: Point::new(100.0, 0.0),
                inwoners: None,
            },
        ];
        let idx = index(&cells);
        let people = grid_people_within_walk(&cells, &idx, &[0, 1, 2], 400.0).unwrap();
        assert_eq!(people.within_walk, 250.0);
        assert_eq!(people.in_area, 400.0);
        // Without an inhabitants figure the grid gives the cap (400 × 1% = 4); 2.5 is below it.
        let e = estimate(&Figures::default(), Some(people), 400.0, &prevalence(0.01)).unwrap();
        assert_eq!(e.expected, 2.5);
        assert_eq!(grid_people_within_walk(&cells, &idx, &[2], 400.0), None);
    }
}
