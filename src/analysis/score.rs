//! Suitability scores: how well can a new Buurtcirkel start in each buurt, wijk or gemeente?
//!
//! Inputs: one [`AreaInput`] per area (code, water flag, CBS [`Figures`], the participant
//! [`Bucket`] within walking distance, and whether a meeting place or an existing circle lies
//! within walking distance), and validated [`Weights`]. Output: one [`AreaScore`] per area with
//! a score 0-100, a category, a rank within its gemeente and a Dutch explanation, ready to
//! serialise. No coordinates are involved: the spatial questions were answered upstream.
//!
//! The model runs in two steps so that a weight change is cheap:
//! 1. [`prepare`] normalises every criterion once, to a score in `0..=1` or *missing*, and
//!    writes the weight-independent reason texts.
//! 2. [`Prepared::score`] applies weights: a weighted mean over the criteria that are present,
//!    the participant gate, the categories and the ranks. It is linear in the number of areas
//!    plus one sort per gemeente, and allocates only the output vector: each [`AreaScore`]
//!    borrows its texts from [`Prepared`] and its [`Explanation`] derives the per-criterion
//!    numbers when read or serialised.
//!
//! The model is documented in `docs/suitability.md`; keep the two in step.
//!
//! This file is longer than 700 lines of code on purpose: `prepare` (normalisation and reason
//! texts) and `Prepared::score` (weights, gate, categories, ranks) share one private data
//! layout ([`Prepared`]), and splitting them would expose that layout to the rest of `analysis`.
//!
//! Privacy (docs/privacy.md): the participant criterion sees only a [`Bucket`], never a count,
//! so no choice of weights can reveal more than the bucket.
//!
//! This module is pure: no files, GDAL, tokio or clock.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::analysis::estimate::Estimate;
use crate::analysis::region::Regions;
use crate::analysis::weights::{
    CRITERIA, ComparisonSet, Criterion, Direction, Indicator, Thresholds, Weights,
};
use crate::model::{AreaCode, Bucket, Figures, Level};

/// Everything the model needs to know about one area. Built by the caller from the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct AreaInput<'a> {
    /// CBS code; its prefix gives the level, its digits the gemeente.
    pub code: &'a AreaCode,
    /// Water-only area (`water = JA`); areas with a water code (`WKgggg99`) count as water too.
    pub water: bool,
    /// CBS key figures; `None` fields are missing values.
    pub figures: &'a Figures,
    /// Potential participants within walking distance, as a bucket only; `None` when no client
    /// data is loaded at all.
    pub participants: Option<Bucket>,
    /// The estimate of potential participants within walking distance from CBS figures only
    /// (see [`crate::analysis::estimate`]); `None` when the figures do not allow one.
    pub estimate: Option<Estimate>,
    /// A meeting place lies within walking distance; `None` when no places are loaded.
    pub meeting_place_within_walk: Option<bool>,
    /// An existing Buurtcirkel already serves (part of) the area; `None` when no circles are
    /// loaded.
    pub existing_circle_nearby: Option<bool>,
}

/// The raw value of a criterion as published: a CBS figure, a bucket label, or a yes/no fact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RawValue {
    /// A CBS figure: a percentage (0-100) or addresses per km².
    Number(f64),
    /// The participant bucket (`<5`, `5-8`, `9-12`, `>12`); never a count.
    Bucket(Bucket),
    /// The estimated number of potential participants from CBS figures, labelled as an
    /// estimate: `{"geschat": 34.2}`.
    Estimate {
        /// Expected participants within walking distance.
        geschat: f64,
    },
    /// The fact the criterion names is true: a meeting place within walking distance, or no
    /// existing circle nearby.
    Flag(bool),
}

/// The suitability category of an area. The order is the ranking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Category {
    /// Score at or above the `geschikt` threshold, enough potential participants, and enough
    /// of the weight resting on known data.
    #[serde(rename = "geschikt")]
    Geschikt,
    /// Score at or above the `kansrijk` threshold, or `geschikt` by score but failing the gate.
    #[serde(rename = "kansrijk")]
    Kansrijk,
    /// Less of the weight than the completeness threshold rests on known data: the score is
    /// shown but says too little to call the area `geschikt` or `ongeschikt`.
    #[serde(rename = "onvoldoende gegevens")]
    OnvoldoendeGegevens,
    /// Score below the `kansrijk` threshold, or too few potential participants.
    #[serde(rename = "ongeschikt")]
    Ongeschikt,
}

impl Category {
    /// The Dutch label, as published.
    pub fn label(self) -> &'static str {
        match self {
            Category::Geschikt => "geschikt",
            Category::Kansrijk => "kansrijk",
            Category::OnvoldoendeGegevens => "onvoldoende gegevens",
            Category::Ongeschikt => "ongeschikt",
        }
    }
}

/// Why a criterion has no value for an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum MissingCause {
    /// CBS did not publish the figure for this area (secret, unreliable), while it did for
    /// other areas of the level.
    #[serde(rename = "CBS: niet gepubliceerd")]
    CbsNietGepubliceerd,
    /// The data was not imported: no meeting places, no circles, no client data, or a figure
    /// column no area of the level has.
    #[serde(rename = "niet geladen")]
    NietGeladen,
    /// The criterion does not apply: water, where nobody lives.
    #[serde(rename = "niet van toepassing")]
    NietVanToepassing,
}

impl MissingCause {
    /// The Dutch label, as published.
    pub fn label(self) -> &'static str {
        match self {
            MissingCause::CbsNietGepubliceerd => "CBS: niet gepubliceerd",
            MissingCause::NietGeladen => "niet geladen",
            MissingCause::NietVanToepassing => "niet van toepassing",
        }
    }

    /// A compact one-letter code for vector tiles: `c`, `g`, `n`.
    pub fn code(self) -> char {
        match self {
            MissingCause::CbsNietGepubliceerd => 'c',
            MissingCause::NietGeladen => 'g',
            MissingCause::NietVanToepassing => 'n',
        }
    }
}

/// How much of the model a score rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Completeness {
    /// Criteria with a weight above 0 that have data for the area.
    pub criteria: u32,
    /// Criteria with a weight above 0 that count for the area: not those "niet geladen" for
    /// every area of its comparison set.
    pub of: u32,
    /// The share (0-1) of the total weight that rests on criteria with data.
    pub weight_share: f64,
}

/// One criterion in an area's explanation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CriterionExplanation<'p> {
    /// Which criterion: its weights-file key, e.g. `p_65plus`, or a custom indicator's key.
    pub criterion: &'p str,
    /// Short Dutch label (a custom indicator's `label`).
    pub label: &'p str,
    /// The raw value; `None` when missing. For participants only the bucket.
    pub value: Option<RawValue>,
    /// The normalised score in `0..=1`; `None` when missing.
    pub normalised: Option<f64>,
    /// The configured weight.
    pub weight: f64,
    /// The weight's share of this area's score after renormalising over the present criteria
    /// (`0..=1`, 0 when missing). Shares of one area sum to 1.
    pub share: f64,
    /// Points this criterion adds to the 0-100 score (rounded to 0.1); contributions of one area
    /// sum to its score up to rounding.
    pub contribution: f64,
    /// True when the value is unknown; the criterion then does not count at all.
    pub missing: bool,
    /// Why the value is unknown; `None` when it is known.
    pub cause: Option<MissingCause>,
    /// A short Dutch reason, e.g. "18% 65-plussers; hoger dan 70% van de buurten".
    pub reason: &'p str,
}

/// Why an area got its score.
///
/// A view on the prepared area and the weights it was scored with: the per-criterion numbers
/// are derived when asked for (or when serialised), so [`Prepared::score`] allocates nothing
/// per area. Serialises as
/// `{"criteria": [CriterionExplanation...], "missing": [...], "top_reasons": [...], "notes": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation<'p> {
    area: &'p PreparedArea,
    /// The custom indicators, after the built-in criteria.
    indicators: &'p [Indicator],
    /// One weight per criterion of `area`, shared by every area of one scoring.
    weights: Arc<[f64]>,
    /// Sum of the weights of the present criteria; 0 when nothing could be scored.
    weight_sum: f64,
    /// The category is `onvoldoende gegevens`.
    incomplete: bool,
}

impl<'p> Explanation<'p> {
    /// Every criterion in [`Criterion::ALL`] order, then the custom indicators; empty for
    /// water areas.
    pub fn criteria(&self) -> Vec<CriterionExplanation<'p>> {
        self.criteria_iter().collect()
    }

    /// One criterion; `None` for water areas.
    pub fn criterion(&self, criterion: Criterion) -> Option<CriterionExplanation<'p>> {
        self.criteria_iter().nth(criterion.index())
    }

    /// The values that were unknown, e.g. "65-plussers: onbekend (CBS geheim of onbetrouwbaar)".
    pub fn missing(&self) -> &'p [String] {
        &self.area.missing
    }

    /// The reasons of the (at most three) largest positive contributions, largest first; ties
    /// in criterion order.
    pub fn top_reasons(&self) -> Vec<&'p str> {
        self.top_reasons_iter().collect()
    }

    /// Model notes: the participant gate, no client data loaded, water, nothing to score.
    pub fn notes(&self) -> Vec<&'static str> {
        self.notes_iter().collect()
    }

    /// One character per criterion in [`Criterion::ALL`] order: `.` known, or the cause of a
    /// missing value (`c` CBS: niet gepubliceerd, `g` niet geladen, `n` niet van toepassing).
    /// A compact attribute for vector tiles, e.g. `"....ccg.gg"`.
    pub fn cause_codes(&self) -> String {
        self.area
            .criteria
            .iter()
            .map(|c| match (c.normalised, c.cause) {
                (Some(_), _) => '.',
                (None, Some(cause)) => cause.code(),
                (None, None) => MissingCause::NietVanToepassing.code(),
            })
            .collect()
    }

    /// The missing values with their causes, e.g. "sociale huur: niet geladen"; for water
    /// every criterion is "niet van toepassing".
    pub fn causes_text(&self) -> String {
        if self.area.water {
            return "alle criteria: niet van toepassing (water)".to_string();
        }
        self.area.missing.join("; ")
    }

    fn scored(&self) -> bool {
        self.weight_sum > 0.0
    }

    fn criteria_iter(&self) -> impl Iterator<Item = CriterionExplanation<'p>> + use<'p> {
        let (area, sum, indicators) = (self.area, self.weight_sum, self.indicators);
        let w = Arc::clone(&self.weights);
        let n = if area.water { 0 } else { area.criteria.len() };
        area.criteria.iter().enumerate().take(n).map(move |(i, c)| {
            let (key, label) = key_label(indicators, i);
            let (share, contribution) = match c.normalised {
                Some(s) if sum > 0.0 => (w[i] / sum, round1(100.0 * w[i] * s / sum)),
                _ => (0.0, 0.0),
            };
            CriterionExplanation {
                criterion: key,
                label,
                value: c.value,
                normalised: c.normalised,
                weight: w[i],
                share,
                contribution,
                missing: c.normalised.is_none(),
                cause: c.cause,
                reason: &c.reason,
            }
        })
    }

    fn top_reasons_iter(&self) -> impl Iterator<Item = &'p str> + use<'p> {
        let area = self.area;
        let weighted: Vec<f64> = area
            .criteria
            .iter()
            .zip(self.weights.iter())
            .map(|(c, w)| match c.normalised {
                Some(s) if !area.water => w * s,
                _ => 0.0,
            })
            .collect();
        // Stable sort, so ties keep criterion order. This runs when an explanation is read or
        // serialised, not in `Prepared::score`, so the two small vectors cost nothing there.
        let mut order: Vec<usize> = (0..weighted.len()).collect();
        order.sort_by(|&x, &y| weighted[y].total_cmp(&weighted[x]));
        order
            .into_iter()
            .filter(move |&i| weighted[i] > 0.0)
            .take(3)
            .map(move |i| &*area.criteria[i].reason)
    }

    fn notes_iter(&self) -> impl Iterator<Item = &'static str> + use<'p> {
        let nothing = !self.area.water && !self.scored();
        self.area
            .notes
            .iter()
            .copied()
            .chain(nothing.then_some(NOTE_NOTHING))
            .chain(self.incomplete.then_some(NOTE_INCOMPLETE))
    }
}

impl Serialize for Explanation<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;

        /// Serialises an iterator as a sequence without collecting it first.
        struct Seq<F>(F);
        impl<F, I> Serialize for Seq<F>
        where
            F: Fn() -> I,
            I: Iterator,
            I::Item: Serialize,
        {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq((self.0)())
            }
        }

        let mut st = serializer.serialize_struct("Explanation", 4)?;
        st.serialize_field("criteria", &Seq(|| self.criteria_iter()))?;
        st.serialize_field("missing", self.missing())?;
        st.serialize_field("top_reasons", &Seq(|| self.top_reasons_iter()))?;
        st.serialize_field("notes", &Seq(|| self.notes_iter()))?;
        st.end()
    }
}

/// How robust one area's result is (computed by [`crate::analysis::stability`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stability {
    /// `stabiel` or `gevoelig`.
    pub oordeel: &'static str,
    /// Share of draws (0-1) in which the area kept its category.
    pub categorie: f64,
    /// Share of draws (0-1) in which the area stayed in (or out of) its gemeente's top 3.
    pub top3: f64,
}

/// The suitability of one area under one set of weights.
///
/// It borrows its code and texts from the [`Prepared`] model it came from: the texts do not
/// depend on the weights, and sharing them keeps re-scoring free of string copies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaScore<'p> {
    /// CBS code.
    pub code: &'p AreaCode,
    /// Level of the code.
    pub level: Level,
    /// Water area: not scored, not ranked.
    pub water: bool,
    /// Score 0-100 (rounded to 0.1); `None` for water, or when no weighted criterion has data.
    pub score: Option<f64>,
    /// Category; `None` exactly when `score` is `None`.
    pub category: Option<Category>,
    /// Rank within the gemeente among areas of the same level, 1 = best; gemeenten rank among
    /// all gemeenten. `None` for water.
    pub rank: Option<u32>,
    /// The number of ranked areas `rank` counts among; `None` for water.
    pub rank_of: Option<u32>,
    /// How many criteria and what share of the weight the score rests on; `None` for water.
    pub completeness: Option<Completeness>,
    /// How robust category and top-3 place are to ±50% weight changes; `None` for water and
    /// when not computed (see [`crate::analysis::stability::score_with_stability`]).
    pub stability: Option<Stability>,
    /// Ranking class: 0 when a full circle is plausible or unknown, 1 doubtful, 2 implausible.
    #[serde(skip)]
    class: u8,
    /// Explanation of the score.
    pub explanation: Explanation<'p>,
}

/// The gate outcome: can a circle start here at all? The order is the ranking order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gate {
    /// At least 5 observed potential participants, or (without client data) an estimate of at
    /// least 9: a circle of the target size is plausible.
    Passed,
    /// Nothing to judge by: no client data and no estimate. At most `kansrijk`.
    Unknown,
    /// No client data and an estimate of 5 to 9: a circle could start but hardly reach 9-12.
    /// At most `kansrijk`, and ranked after every area that passes.
    Doubtful,
    /// Fewer than 5 observed potential participants: at most `kansrijk` (clients may still
    /// join).
    TooFew,
    /// An estimate below 5: a circle is not plausible here. Always `ongeschikt`.
    Implausible,
}

/// The estimate from which a circle of the target size (9) is plausible.
pub const PLAUSIBLE_ESTIMATE: f64 = 9.0;
/// The estimate below which a circle cannot start (5).
pub const MINIMUM_ESTIMATE: f64 = 5.0;

#[derive(Debug, Clone, PartialEq)]
struct PreparedCriterion {
    value: Option<RawValue>,
    normalised: Option<f64>,
    cause: Option<MissingCause>,
    reason: Cow<'static, str>,
    /// False when the criterion is "niet geladen" for every area of this area's comparison
    /// set: data nobody loaded then leaves the completeness share (and the score's weight)
    /// instead of counting against every area alike.
    counts: bool,
}

impl PreparedCriterion {
    fn known(value: RawValue, normalised: f64, reason: Cow<'static, str>) -> PreparedCriterion {
        PreparedCriterion {
            value: Some(value),
            normalised: Some(normalised),
            cause: None,
            reason,
            counts: true,
        }
    }

    fn missing(cause: MissingCause, reason: Cow<'static, str>) -> PreparedCriterion {
        PreparedCriterion {
            value: None,
            normalised: None,
            cause: Some(cause),
            reason,
            counts: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct PreparedArea {
    code: AreaCode,
    water: bool,
    gate: Gate,
    /// The built-in criteria in [`Criterion::ALL`] order, then one per custom indicator.
    criteria: Vec<PreparedCriterion>,
    missing: Vec<String>,
    notes: Vec<&'static str>,
}

/// All areas with every criterion normalised: the weight-independent half of the model.
/// Build it with [`prepare`]; score it with [`Prepared::score`] as often as weights change.
#[derive(Debug, Clone)]
pub struct Prepared {
    areas: Vec<PreparedArea>,
    /// Rank groups: indices of non-water areas, sorted by code, one group per level and
    /// gemeente (per level for gemeenten).
    groups: Vec<Vec<usize>>,
    has_client_data: bool,
    /// The custom indicators the areas were prepared with, after the built-in criteria.
    indicators: Arc<[Indicator]>,
}

/// Key and label of criterion `i`: built-in below [`CRITERIA`], else a custom indicator.
fn key_label(indicators: &[Indicator], i: usize) -> (&str, &str) {
    match Criterion::ALL.get(i) {
        Some(c) => (c.key(), c.label()),
        None => indicators
            .get(i - CRITERIA)
            .map_or(("", ""), |ind| (ind.key.as_str(), ind.label.as_str())),
    }
}

/// Normalised score of each participant bucket: below 5 a circle cannot start; 5-8 can start
/// but still has to grow; 9-12 is the target size; above 12 is at least as good.
fn bucket_score(b: Bucket) -> f64 {
    match b {
        Bucket::Under5 => 0.0,
        Bucket::From5To8 => 0.5,
        Bucket::From9To12 | Bucket::Over12 => 1.0,
    }
}

fn bucket_reason(b: Bucket) -> &'static str {
    match b {
        Bucket::Under5 => {
            "<5 mogelijke deelnemers binnen loopafstand; te weinig om te starten (minimaal 5)"
        }
        Bucket::From5To8 => "5-8 mogelijke deelnemers binnen loopafstand; genoeg om te starten",
        Bucket::From9To12 => "9-12 mogelijke deelnemers binnen loopafstand; de streefgrootte",
        Bucket::Over12 => ">12 mogelijke deelnemers binnen loopafstand; ruimte voor meer",
    }
}

const NOTE_NO_CLIENTS: &str = "Geen cliëntgegevens geladen: deelnemers geschat uit CBS-cijfers \
     (inwoners, dichtheid en prevalenties van de doelgroepen); geen waarneming.";
const NOTE_NO_ESTIMATE: &str = "Geen cliëntgegevens en geen inwonertal of dichtheid: \
     deelnemers onbekend, hoogstens kansrijk.";
const NOTE_DOUBTFUL: &str = "Geschat minder dan 9 deelnemers binnen loopafstand: \
     een volle cirkel (9-12) is onzeker, hoogstens kansrijk.";
const NOTE_IMPLAUSIBLE: &str = "Geschat minder dan 5 deelnemers binnen loopafstand: \
     een cirkel is hier niet aannemelijk, ongeschikt.";
const NOTE_INCOMPLETE: &str = "Te weinig gegevens: een kleiner deel van het gewicht dan de \
     drempel volledigheid rust op bekende waarden, daarom onvoldoende gegevens.";
const NOTE_TOO_FEW: &str = "Minder dan 5 mogelijke deelnemers: een cirkel kan hier nog niet \
     starten. Eén categorie lager: kansrijk alleen bij een score vanaf de drempel voor geschikt.";
const NOTE_WATER: &str = "Watergebied: niet beoordeeld.";
const NOTE_NOTHING: &str =
    "Geen gegevens voor de criteria met een gewicht boven 0: niet beoordeeld.";

/// A CBS figure as the model accepts it: finite and not negative. Percentages and densities
/// cannot be negative, so a negative number is a CBS sentinel (`-99997`, `-99999999`) that
/// slipped through ingest and is treated as missing rather than as a very low value.
fn usable(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite() && *x >= 0.0)
}

/// The CBS figure behind a need criterion. Social rental is the corporations' share where
/// CBS publishes it, else everything that is not owner-occupied (an upper bound: it includes
/// private rental).
fn figure(c: Criterion, f: &Figures) -> Option<f64> {
    usable(match c {
        Criterion::P65Plus => f.p_65plus,
        Criterion::PEenpersoonsHh => f.p_eenpersoonshh,
        Criterion::PLaagInkomen => f.p_laag_inkomen,
        Criterion::PSocialeHuur => usable(f.p_corporatiewoningen)
            .or_else(|| usable(f.p_koopwoningen).map(|k| (100.0 - k).max(0.0))),
        Criterion::PBijstand => f.p_bijstand,
        Criterion::LaagWoz => f.woz_waarde,
        Criterion::Adresdichtheid => f.adresdichtheid,
        _ => None,
    })
}

/// The need criteria: percentile-ranked CBS figures, in [`Criterion::ALL`] order.
const NEED: [Criterion; 7] = [
    Criterion::P65Plus,
    Criterion::PEenpersoonsHh,
    Criterion::PLaagInkomen,
    Criterion::PSocialeHuur,
    Criterion::PBijstand,
    Criterion::LaagWoz,
    Criterion::Adresdichtheid,
];

/// True when a lower value means more need (a low WOZ value).
fn lower_is_more_need(c: Criterion) -> bool {
    c == Criterion::LaagWoz
}

/// Normalised score of an estimate: 0 below 5 (no circle), rising linearly to 1 at 24 (two
/// full circles, room to choose), so denser areas score higher but never without bound.
fn estimate_score(expected: f64) -> f64 {
    if expected < MINIMUM_ESTIMATE {
        0.0
    } else {
        ((expected - MINIMUM_ESTIMATE + 1.0) / (24.0 - MINIMUM_ESTIMATE + 1.0)).clamp(0.0, 1.0)
    }
}

fn estimate_text(e: &Estimate) -> String {
    format!(
        "ca. {} mogelijke deelnemers binnen loopafstand (geschat uit CBS-cijfers: {} inwoners \
         binnen loopafstand via {})",
        fmt_int(e.expected),
        fmt_int(e.people_within_walk),
        e.source.label()
    )
}

/// Dutch percentage with a decimal comma: `18%`, `7,5%`. Integer formatting: the float
/// formatter's exact mode is the slowest part of [`prepare`] otherwise.
fn fmt_pct(v: f64) -> String {
    let tenths = (v * 10.0).round() as i64;
    if tenths % 10 == 0 {
        format!("{}%", tenths / 10)
    } else {
        format!("{},{}%", tenths / 10, tenths % 10)
    }
}

/// A custom indicator's value the Dutch way: a whole number with thousands points, else one
/// decimal with a comma (`12,5`).
fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        fmt_int(v)
    } else {
        let tenths = (v.abs() * 10.0).round() as i64;
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{},{}", tenths / 10, tenths % 10)
    }
}

/// Dutch whole number with a thousands point: `2.450`.
fn fmt_int(v: f64) -> String {
    let digits = (v.round() as i64).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

fn value_text(c: Criterion, v: f64) -> String {
    match c {
        Criterion::P65Plus => format!("{} 65-plussers", fmt_pct(v)),
        Criterion::PEenpersoonsHh => format!("{} eenpersoonshuishoudens", fmt_pct(v)),
        Criterion::PLaagInkomen => format!("{} met een laag inkomen", fmt_pct(v)),
        Criterion::PSocialeHuur => format!("{} sociale huurwoningen", fmt_pct(v)),
        Criterion::PBijstand => format!("{} van de inwoners in de bijstand", fmt_pct(v)),
        Criterion::LaagWoz => format!("gemiddelde WOZ-waarde {} duizend euro", fmt_int(v)),
        _ => format!("{} adressen per km²", fmt_int(v)),
    }
}

/// Mid-rank percentile of `x` in the sorted `values` (which contain `x`), and the comparison
/// text. The lowest value scores 0, the highest 1, ties share the mean of their ranks, so the
/// result does not depend on input order and a single known value scores 0.5.
fn percentile(sorted: &[f64], x: f64, level: Level) -> (f64, String) {
    let n = sorted.len();
    let less = sorted.partition_point(|v| *v < x);
    let less_or_equal = sorted.partition_point(|v| *v <= x);
    let equal = less_or_equal - less;
    if n <= 1 {
        return (0.5, format!("de enige {level} met een bekende waarde"));
    }
    let others = (n - 1) as f64;
    let score = (less as f64 + (equal.saturating_sub(1)) as f64 / 2.0) / others;
    let lower = (100.0 * less as f64 / others).round() as u32;
    let higher = (100.0 * (n - less_or_equal) as f64 / others).round() as u32;
    let text = if less == 0 && less_or_equal == n {
        format!("even hoog als alle andere {}", level.collection())
    } else if less == n - 1 {
        format!("hoger dan alle andere {}", level.collection())
    } else if less_or_equal == 1 {
        format!("lager dan alle andere {}", level.collection())
    } else if lower >= higher {
        format!("hoger dan {lower}% van de {}", level.collection())
    } else {
        format!("lager dan {higher}% van de {}", level.collection())
    };
    (score, text)
}

/// Normalises every criterion of every area once: the weight-independent step of the model.
///
/// # Parameters
/// - `inputs`: the areas, any mix of levels. Codes are expected to be unique.
///
/// # Returns
/// A [`Prepared`] model holding, per area and criterion, the raw value, a normalised score in
/// `0..=1` or *missing*, and the reason text.
///
/// # Algorithm
/// 1. Need indicators (`p_65plus`, `p_eenpersoonshh`, `p_laag_inkomen`, `adresdichtheid`):
///    for each level, collect the known values of the non-water areas and sort them; an area's
///    score is its mid-rank percentile among them (lowest 0, highest 1, ties averaged). Higher
///    need or density scores higher. Percentiles, not min-max, so one extreme buurt (a care
///    home with 90% 65-plussers) does not squash everyone else to the bottom.
/// 2. Participants: `<5` → 0, `5-8` → 0.5, `9-12` and `>12` → 1.
/// 3. Meeting place within walking distance → 1, none → 0; existing circle nearby → 0,
///    none → 1. `None` inputs are missing.
/// 4. Group non-water areas for ranking: per level and gemeente (gemeenten: per level).
///
/// Complexity: O(n log n) for n areas (one sort per indicator and level).
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::score::{prepare, AreaInput, Category};
/// use buurtcirkel::analysis::weights::Weights;
/// use buurtcirkel::model::{AreaCode, Bucket, Figures};
///
/// let code = AreaCode::parse("BU02330105").unwrap();
/// let figures = Figures { p_65plus: Some(24.0), ..Figures::default() };
/// let input = AreaInput {
///     code: &code,
///     water: false,
///     figures: &figures,
///     participants: Some(Bucket::From9To12),
///     estimate: None,
///     meeting_place_within_walk: Some(true),
///     existing_circle_nearby: Some(false),
/// };
/// let prepared = prepare(&[input]);
/// let scores = prepared.score(&Weights::default()); // borrows from `prepared`
/// assert_eq!(scores[0].rank, Some(1));
/// assert_eq!(scores[0].category, Some(Category::Geschikt));
/// assert_eq!(scores[0].explanation.criteria()[0].value.unwrap(),
///            buurtcirkel::analysis::score::RawValue::Bucket(Bucket::From9To12));
/// ```
pub fn prepare(inputs: &[AreaInput<'_>]) -> Prepared {
    prepare_with(inputs, ComparisonSet::Alles)
}

/// [`prepare`] with a chosen comparison set for the percentiles: buurten and wijken compared
/// within their gemeente ([`ComparisonSet::Gemeente`], the published default) or with every
/// loaded area of their level ([`ComparisonSet::Alles`]). Gemeenten always compare with all
/// loaded gemeenten.
pub fn prepare_with(inputs: &[AreaInput<'_>], comparison: ComparisonSet) -> Prepared {
    prepare_indicators(inputs, comparison, Arc::from(Vec::new()))
}

/// [`prepare_with`] for the comparison set and the custom indicators of `weights`: the entry
/// point of the published model.
pub fn prepare_model(inputs: &[AreaInput<'_>], weights: &Weights) -> Prepared {
    prepare_regions(inputs, weights, &Regions::new())
}

/// [`prepare_model`] with the neighbouring gemeenten of every gemeente, for
/// `kring = "regio"` (see [`crate::analysis::region`]); without them a region is the gemeente
/// alone.
pub fn prepare_regions(inputs: &[AreaInput<'_>], weights: &Weights, regions: &Regions) -> Prepared {
    prepare_all(
        inputs,
        weights.comparison(),
        weights.indicators_shared(),
        regions,
    )
}

/// [`prepare_with`] plus custom indicators: each is a need criterion like the built-in ones
/// (mid-rank percentile within the comparison set, reversed for `richting = "lager"`), read
/// from the figure column it names. An area without that column is missing with cause
/// "niet geladen"; one with the column but no value (a CBS sentinel, an empty cell) is missing
/// with cause "CBS: niet gepubliceerd".
pub fn prepare_indicators(
    inputs: &[AreaInput<'_>],
    comparison: ComparisonSet,
    indicators: Arc<[Indicator]>,
) -> Prepared {
    prepare_all(inputs, comparison, indicators, &Regions::new())
}

fn prepare_all(
    inputs: &[AreaInput<'_>],
    comparison: ComparisonSet,
    indicators: Arc<[Indicator]>,
    regions: &Regions,
) -> Prepared {
    let n_need = NEED.len() + indicators.len();
    let need_value = |k: usize, f: &Figures| -> Option<f64> {
        match NEED.get(k) {
            Some(c) => figure(*c, f),
            None => f
                .column(&indicators[k - NEED.len()].kolom)
                .flatten()
                .filter(|x| x.is_finite()),
        }
    };
    let is_water = |a: &AreaInput<'_>| a.water || a.code.is_water_code();
    let has_client_data = inputs.iter().any(|a| a.participants.is_some());
    let set_of = |code: &AreaCode| -> Option<AreaCode> {
        (comparison != ComparisonSet::Alles && code.level() != Level::Gemeente)
            .then(|| code.gemeente())
    };
    let gemeente_of = |code: &AreaCode| -> Option<AreaCode> {
        (code.level() != Level::Gemeente).then(|| code.gemeente())
    };

    // Step 1: sorted known values per (need criterion, level, comparison set), over non-water
    // areas; and which (criterion, level) has any value at all.
    let mut reference: HashMap<(usize, Level, Option<AreaCode>), Vec<f64>> = HashMap::new();
    let mut gemeente_has: std::collections::HashSet<(usize, Level, Option<AreaCode>)> =
        Default::default();
    for a in inputs.iter().filter(|a| !is_water(a)) {
        let set = set_of(a.code);
        for k in 0..n_need {
            if let Some(v) = need_value(k, a.figures) {
                reference
                    .entry((k, a.code.level(), set.clone()))
                    .or_default()
                    .push(v);
                gemeente_has.insert((k, a.code.level(), gemeente_of(a.code)));
            }
        }
    }
    if comparison == ComparisonSet::Regio {
        // The reference of a gemeente's areas: its own values plus its neighbours'.
        let own = reference.clone();
        let mut sets: std::collections::HashSet<(usize, Level, AreaCode)> = Default::default();
        for a in inputs.iter().filter(|a| !is_water(a)) {
            if let Some(g) = set_of(a.code) {
                for k in 0..n_need {
                    sets.insert((k, a.code.level(), g.clone()));
                }
            }
        }
        for (k, level, g) in sets {
            let mut values: Vec<f64> = Vec::new();
            let members = std::iter::once(&g).chain(regions.get(&g).into_iter().flatten());
            for m in members {
                if let Some(v) = own.get(&(k, level, Some(m.clone()))) {
                    values.extend_from_slice(v);
                }
            }
            if values.is_empty() {
                reference.remove(&(k, level, Some(g)));
            } else {
                reference.insert((k, level, Some(g)), values);
            }
        }
    }
    for values in reference.values_mut() {
        values.sort_unstable_by(f64::total_cmp);
    }

    let mut areas = Vec::with_capacity(inputs.len());
    for a in inputs {
        let water = is_water(a);
        let level = a.code.level();
        let set = set_of(a.code);
        let mut notes = Vec::new();

        let (participants, gate) = match (a.participants, a.estimate) {
            (Some(b), e) => {
                let mut reason: String = bucket_reason(b).into();
                if let Some(e) = e {
                    reason.push_str(&format!(
                        " (waargenomen; geschat uit CBS-cijfers: ca. {})",
                        fmt_int(e.expected)
                    ));
                }
                let gate = if b == Bucket::Under5 {
                    Gate::TooFew
                } else {
                    Gate::Passed
                };
                (
                    PreparedCriterion::known(RawValue::Bucket(b), bucket_score(b), reason.into()),
                    gate,
                )
            }
            (None, Some(e)) => {
                let gate = if e.expected >= PLAUSIBLE_ESTIMATE {
                    Gate::Passed
                } else if e.expected >= MINIMUM_ESTIMATE {
                    Gate::Doubtful
                } else {
                    Gate::Implausible
                };
                (
                    PreparedCriterion::known(
                        RawValue::Estimate {
                            geschat: e.expected,
                        },
                        estimate_score(e.expected),
                        estimate_text(&e).into(),
                    ),
                    gate,
                )
            }
            (None, None) => (
                PreparedCriterion::missing(
                    MissingCause::NietGeladen,
                    "deelnemers onbekend: geen cliëntgegevens en geen inwonertal of dichtheid; \
                     weegt niet mee"
                        .into(),
                ),
                Gate::Unknown,
            ),
        };

        let need: Vec<PreparedCriterion> = (0..n_need)
            .map(|k| {
                let custom = k.checked_sub(NEED.len()).map(|j| &indicators[j]);
                let known = reference.get(&(k, level, set.clone()));
                match need_value(k, a.figures) {
                    Some(v) => {
                        let text = match custom {
                            None => value_text(NEED[k], v),
                            Some(ind) => format!("{} {}", ind.label, fmt_num(v)),
                        };
                        match known.filter(|_| !water) {
                            Some(sorted) => {
                                let (score, mut cmp) = percentile(sorted, v, level);
                                if set.is_some() {
                                    cmp.push_str(if comparison == ComparisonSet::Regio {
                                        " in de regio"
                                    } else {
                                        " in de gemeente"
                                    });
                                }
                                let lower = match custom {
                                    None => lower_is_more_need(NEED[k]),
                                    Some(ind) => ind.richting == Direction::Lager,
                                };
                                let score = if lower { 1.0 - score } else { score };
                                PreparedCriterion::known(
                                    RawValue::Number(v),
                                    score,
                                    format!("{text}; {cmp}").into(),
                                )
                            }
                            None => PreparedCriterion {
                                value: Some(RawValue::Number(v)),
                                normalised: None,
                                cause: Some(MissingCause::NietVanToepassing),
                                reason: text.into(),
                                counts: true,
                            },
                        }
                    }
                    None => {
                        // A figure that no area of the level in the same gemeente has was not in
                        // the imported data (key figures come per gemeente or nationally); one
                        // that only some areas lack was suppressed by CBS. A custom column is
                        // "niet geladen" exactly where the import did not reach.
                        let loaded = match custom {
                            None => gemeente_has.contains(&(k, level, gemeente_of(a.code))),
                            Some(ind) => a.figures.column(&ind.kolom).is_some(),
                        };
                        let cause = if loaded {
                            MissingCause::CbsNietGepubliceerd
                        } else {
                            MissingCause::NietGeladen
                        };
                        let label =
                            custom.map_or_else(|| NEED[k].label(), |ind| ind.label.as_str());
                        PreparedCriterion::missing(
                            cause,
                            format!("{label} onbekend ({}); weegt niet mee", cause.label()).into(),
                        )
                    }
                }
            })
            .collect();

        let meeting = match a.meeting_place_within_walk {
            Some(yes) => PreparedCriterion::known(
                RawValue::Flag(yes),
                if yes { 1.0 } else { 0.0 },
                if yes {
                    "ontmoetingsplek binnen loopafstand".into()
                } else {
                    "geen ontmoetingsplek binnen loopafstand".into()
                },
            ),
            None => PreparedCriterion::missing(
                MissingCause::NietGeladen,
                "ontmoetingsplek onbekend: geen ontmoetingsplekken geladen; weegt niet mee".into(),
            ),
        };
        let circle = match a.existing_circle_nearby {
            Some(nearby) => PreparedCriterion::known(
                RawValue::Flag(!nearby),
                if nearby { 0.0 } else { 1.0 },
                if nearby {
                    "er is al een Buurtcirkel in de buurt".into()
                } else {
                    "nog geen Buurtcirkel in de buurt".into()
                },
            ),
            None => PreparedCriterion::missing(
                MissingCause::NietGeladen,
                "bestaande Buurtcirkels onbekend: geen cirkels geladen; weegt niet mee".into(),
            ),
        };

        // Built-in order: participants, the seven need figures, place, circle; then the
        // custom indicators.
        let mut need = need.into_iter();
        let mut criteria = Vec::with_capacity(CRITERIA + indicators.len());
        criteria.push(participants);
        criteria.extend(need.by_ref().take(NEED.len()));
        criteria.push(meeting);
        criteria.push(circle);
        criteria.extend(need);
        let mut missing = Vec::new();
        if water {
            // Water is not scored: keep the raw values but drop the scores; every criterion is
            // "niet van toepassing" and the missing list stays empty, which would only be noise
            // for an area nobody lives in.
            for c in &mut criteria {
                c.normalised = None;
                c.cause = Some(MissingCause::NietVanToepassing);
            }
            notes.push(NOTE_WATER);
        } else {
            for (i, c) in criteria.iter().enumerate() {
                if let Some(cause) = c.cause {
                    let (_, label) = key_label(&indicators, i);
                    missing.push(format!("{label}: {}", cause.label()));
                }
            }
            match gate {
                Gate::Unknown => notes.push(NOTE_NO_ESTIMATE),
                Gate::TooFew => notes.push(NOTE_TOO_FEW),
                Gate::Doubtful => notes.push(NOTE_DOUBTFUL),
                Gate::Implausible => notes.push(NOTE_IMPLAUSIBLE),
                Gate::Passed => {}
            }
            if !has_client_data && a.estimate.is_some() {
                notes.push(NOTE_NO_CLIENTS);
            }
        }
        areas.push(PreparedArea {
            code: a.code.clone(),
            water,
            gate,
            criteria,
            missing,
            notes,
        });
    }

    // Step 3: a criterion "niet geladen" for every non-water area of a comparison set does not
    // count for that set (not in the completeness share, not in the score's weight): data
    // nobody loaded must not punish everyone, nor favour the one gemeente that has it.
    let mut by_set: HashMap<(Level, Option<AreaCode>), Vec<usize>> = HashMap::new();
    let mut flags: Vec<(usize, usize)> = Vec::new();
    for (i, a) in areas.iter().enumerate().filter(|(_, a)| !a.water) {
        by_set
            .entry((a.code.level(), set_of(&a.code)))
            .or_default()
            .push(i);
    }
    // Only the criteria from layers of their own (meeting places, circles): a missing CBS
    // figure or indicator means the score rests on fewer figures, which completeness must show.
    let layer_criteria = [
        Criterion::MeetingPlace.index(),
        Criterion::NoExistingCircle.index(),
    ];
    for (key, members) in &by_set {
        for c in layer_criteria {
            let nobody_in = |members: &[usize]| {
                members
                    .iter()
                    .all(|&i| areas[i].criteria[c].cause == Some(MissingCause::NietGeladen))
            };
            // In a region, nobody in the neighbouring gemeenten either.
            let neighbours_too = || {
                key.1
                    .as_ref()
                    .and_then(|g| regions.get(g))
                    .is_none_or(|ns| {
                        ns.iter().all(|n| {
                            by_set
                                .get(&(key.0, Some(n.clone())))
                                .is_none_or(|m| nobody_in(m))
                        })
                    })
            };
            let nobody =
                nobody_in(members) && (comparison != ComparisonSet::Regio || neighbours_too());
            if nobody {
                flags.extend(members.iter().map(|&i| (i, c)));
            }
        }
    }
    for (i, c) in flags {
        areas[i].criteria[c].counts = false;
    }

    // Step 4: rank groups, members sorted by code so ties break by code.
    let mut by_group: HashMap<(Level, Option<AreaCode>), Vec<usize>> = HashMap::new();
    for (i, a) in areas.iter().enumerate().filter(|(_, a)| !a.water) {
        let level = a.code.level();
        let gemeente = (level != Level::Gemeente).then(|| a.code.gemeente());
        by_group.entry((level, gemeente)).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_group
        .into_values()
        .map(|mut g| {
            g.sort_by(|&x, &y| areas[x].code.cmp(&areas[y].code).then(x.cmp(&y)));
            g
        })
        .collect();
    groups.sort_unstable_by_key(|g| g.first().copied());

    Prepared {
        has_client_data,
        areas,
        groups,
        indicators,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

impl Prepared {
    /// The number of areas.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// True when there are no areas.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// True when at least one area has a participant bucket (client data was loaded).
    pub fn has_client_data(&self) -> bool {
        self.has_client_data
    }

    /// Scores every area under `weights`: the cheap, weight-dependent step of the model.
    ///
    /// # Returns
    /// One [`AreaScore`] per input area, in input order.
    ///
    /// # Algorithm
    /// 1. Score = 100 × Σ wᵢ·sᵢ / Σ wᵢ over the criteria *present* for the area (missing ones
    ///    leave both sums: missing is never zero). No present criterion with weight > 0: no score.
    /// 2. Category by the thresholds; the gate caps an area with `<5` or unknown participants
    ///    at `kansrijk`.
    /// 3. Rank within each group (level and gemeente) by category, then score (higher first),
    ///    then code; unscored areas last. Water is not ranked.
    ///
    /// Complexity: O(n·k) for n areas and k = 7 criteria, plus O(g log g) per group of g areas.
    pub fn score(&self, weights: &Weights) -> Vec<AreaScore<'_>> {
        let w: Arc<[f64]> = self.weight_vector(weights).into();
        let t = weights.thresholds();
        let mut out: Vec<AreaScore> = Vec::with_capacity(self.areas.len());
        for a in &self.areas {
            out.push(self.score_one(a, &w, &t));
        }
        let mut keyed: Vec<(u8, u8, f64, usize)> = Vec::new();
        for group in &self.groups {
            keyed.clear();
            keyed.extend(group.iter().enumerate().map(|(pos, &i)| {
                let s = &out[i];
                rank_key(self.areas[i].gate, s.category, s.score, pos)
            }));
            sort_keys(&mut keyed);
            let n = u32::try_from(group.len()).unwrap_or(u32::MAX);
            for (rank, &(_, _, _, pos)) in keyed.iter().enumerate() {
                let s = &mut out[group[pos]];
                s.rank = Some(u32::try_from(rank + 1).unwrap_or(u32::MAX));
                s.rank_of = Some(n);
            }
        }
        out
    }

    /// Category and top-3 membership under `weights` of every area in `groups`, without
    /// explanations: the lean path of the stability analysis, one draw. Same rules as
    /// [`Prepared::score`] (an area's category and rank depend on its own group only), but
    /// the first three of a group are selected, not the whole group sorted: `top3[i]` is true
    /// exactly when [`Prepared::score`] would give area `i` a rank of 3 or better. Entries of
    /// areas outside `groups` are left as they are; `keyed` is scratch space.
    pub(crate) fn categories_and_top3(
        &self,
        groups: &[&[usize]],
        weights: &[f64],
        t: &Thresholds,
        categories: &mut [Option<Category>],
        top3: &mut [bool],
        keyed: &mut Vec<(u8, u8, f64, usize)>,
    ) {
        for group in groups {
            keyed.clear();
            for (pos, &i) in group.iter().enumerate() {
                let a = &self.areas[i];
                let (score, category, _) = self.evaluate(a, weights, t);
                categories[i] = category;
                keyed.push(rank_key(a.gate, category, score, pos));
            }
            // The key order is total (positions are unique), so the three smallest keys are
            // the first three of the full sort.
            if keyed.len() > 3 {
                keyed.select_nth_unstable_by(2, key_cmp);
            }
            for (k, &(_, _, _, pos)) in keyed.iter().enumerate() {
                top3[group[pos]] = k < 3;
            }
        }
    }

    /// The rank groups of `level` (all groups for `None`): what the stability analysis of one
    /// level draws over.
    pub(crate) fn groups_of(&self, level: Option<Level>) -> Vec<&[usize]> {
        self.groups
            .iter()
            .filter(|g| {
                level.is_none_or(|l| g.first().is_some_and(|&i| self.areas[i].code.level() == l))
            })
            .map(Vec::as_slice)
            .collect()
    }

    /// One weight per prepared criterion: the built-in weights, then each custom indicator's
    /// weight from `weights` by key (0 for an indicator `weights` does not have).
    pub fn weight_vector(&self, weights: &Weights) -> Vec<f64> {
        let all = weights.all();
        let mut w = Vec::with_capacity(CRITERIA + self.indicators.len());
        w.extend_from_slice(&all[..CRITERIA]);
        w.extend(
            self.indicators
                .iter()
                .map(|i| weights.indicator_weight(&i.key).unwrap_or(0.0)),
        );
        w
    }

    /// One note per criterion that does not count somewhere because nobody loaded its data
    /// for a whole comparison set, e.g. "ontmoetingsplek binnen loopafstand: niet geladen,
    /// telt niet mee". Said once per analysis, not per area.
    /// Each note comes with the criterion's key.
    pub fn not_loaded_notes(&self) -> Vec<(&str, String)> {
        let scored: Vec<&PreparedArea> = self.areas.iter().filter(|a| !a.water).collect();
        let n_criteria = CRITERIA + self.indicators.len();
        (0..n_criteria)
            .filter_map(|c| {
                let off = scored.iter().filter(|a| !a.criteria[c].counts).count();
                let (key, label) = key_label(&self.indicators, c);
                let note = match off {
                    0 => return None,
                    n if n == scored.len() => format!(
                        "{label}: niet geladen, telt niet mee (niet in de volledigheid en niet in de score)"
                    ),
                    n => format!(
                        "{label}: niet geladen in {n} van de {} gebieden (geen enkel gebied van \
                         hun vergelijkingskring heeft het), telt daar niet mee",
                        scored.len()
                    ),
                };
                Some((key, note))
            })
            .collect()
    }

    /// The custom indicators the model was prepared with.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// Score, category and completeness of one area (`None`s for water or nothing to score).
    fn evaluate(
        &self,
        a: &PreparedArea,
        w: &[f64],
        t: &Thresholds,
    ) -> (Option<f64>, Option<Category>, (f64, f64, u32, u32)) {
        let mut weight_sum = 0.0;
        let mut weighted_sum = 0.0;
        let mut total = 0.0;
        let (mut present, mut of) = (0u32, 0u32);
        if !a.water {
            for (c, &wi) in a.criteria.iter().zip(w) {
                if wi > 0.0 && c.counts {
                    total += wi;
                    of += 1;
                    if let Some(s) = c.normalised {
                        present += 1;
                        weight_sum += wi;
                        weighted_sum += wi * s;
                    }
                }
            }
        }
        if weight_sum <= 0.0 {
            return (None, None, (weight_sum, total, present, of));
        }
        let score = round1(100.0 * weighted_sum / weight_sum);
        let share = weight_sum / total;
        // kansrijk <= geschikt (validated), so an area held back by the gate is kansrijk at most.
        let category = if a.gate == Gate::Implausible {
            Category::Ongeschikt
        } else if 100.0 * share < t.volledigheid - 1e-9 {
            Category::OnvoldoendeGegevens
        } else if a.gate == Gate::TooFew {
            // Fewer than 5 observed: a circle cannot start now, whatever the weights. One
            // category down (a score that would be geschikt is kansrijk, the rest ongeschikt), so
            // that a participants weight of 0 cannot turn every area without clients kansrijk on
            // need alone (issue 15).
            if score >= t.geschikt {
                Category::Kansrijk
            } else {
                Category::Ongeschikt
            }
        } else if score >= t.geschikt && a.gate == Gate::Passed {
            Category::Geschikt
        } else if score >= t.kansrijk {
            Category::Kansrijk
        } else {
            Category::Ongeschikt
        };
        (
            Some(score),
            Some(category),
            (weight_sum, total, present, of),
        )
    }

    fn score_one<'p>(
        &'p self,
        a: &'p PreparedArea,
        w: &Arc<[f64]>,
        t: &Thresholds,
    ) -> AreaScore<'p> {
        let (score, category, (weight_sum, total, present, of)) = self.evaluate(a, w, t);
        AreaScore {
            code: &a.code,
            level: a.code.level(),
            water: a.water,
            score,
            category,
            rank: None,
            rank_of: None,
            stability: None,
            class: gate_class(a.gate),
            completeness: (!a.water).then(|| Completeness {
                criteria: present,
                of,
                weight_share: if total > 0.0 {
                    (weight_sum / total * 1000.0).round() / 1000.0
                } else {
                    0.0
                },
            }),
            explanation: Explanation {
                area: a,
                indicators: &self.indicators,
                weights: Arc::clone(w),
                weight_sum,
                incomplete: category == Some(Category::OnvoldoendeGegevens),
            },
        }
    }
}

fn gate_class(gate: Gate) -> u8 {
    match gate {
        Gate::Passed | Gate::Unknown | Gate::TooFew => 0,
        Gate::Doubtful => 1,
        Gate::Implausible => 2,
    }
}

impl AreaScore<'_> {
    /// The order of the rankings, for lists across gemeenten (a national top 10): plausibility
    /// of a full circle, then category, then score (higher first). Ties are left to the caller.
    pub fn list_cmp(&self, other: &AreaScore<'_>) -> std::cmp::Ordering {
        let key = |s: &AreaScore<'_>| {
            (
                s.class,
                s.category.map_or(4u8, |c| c as u8),
                s.score.unwrap_or(f64::NEG_INFINITY),
            )
        };
        let (a, b) = (key(self), key(other));
        a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(b.2.total_cmp(&a.2))
    }
}

/// The ranking key of an area: first whether a full circle is plausible by the estimate (an
/// area where it is not ranks after every area where it is, whatever its score), then the
/// category, then the score (higher first), then the position in the code-sorted group.
fn rank_key(
    gate: Gate,
    category: Option<Category>,
    score: Option<f64>,
    pos: usize,
) -> (u8, u8, f64, usize) {
    (
        gate_class(gate),
        category.map_or(4u8, |c| c as u8),
        score.unwrap_or(f64::NEG_INFINITY),
        pos,
    )
}

fn sort_keys(keyed: &mut [(u8, u8, f64, usize)]) {
    keyed.sort_unstable_by(key_cmp);
}

/// The rank order: plausibility class, category, score (higher first), position in the group.
fn key_cmp(a: &(u8, u8, f64, usize), b: &(u8, u8, f64, usize)) -> std::cmp::Ordering {
    a.0.cmp(&b.0)
        .then(a.1.cmp(&b.1))
        .then(b.2.total_cmp(&a.2))
        .then(a.3.cmp(&b.3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned test area; [`inputs`] borrows it as [`AreaInput`].
    #[derive(Debug, Clone)]
    struct Area {
        code: AreaCode,
        water: bool,
        figures: Figures,
        participants: Option<Bucket>,
        place: Option<bool>,
        circle: Option<bool>,
    }

    fn code(s: &str) -> AreaCode {
        AreaCode::parse(s).unwrap()
    }

    fn buurt(code_text: &str, p_65plus: Option<f64>) -> Area {
        Area {
            code: code(code_text),
            water: false,
            figures: Figures {
                p_65plus,
                p_eenpersoonshh: Some(35.0),
                p_laag_inkomen: Some(40.0),
                adresdichtheid: Some(2000.0),
                p_corporatiewoningen: Some(30.0),
                p_bijstand: Some(4.0),
                woz_waarde: Some(250.0),
                ..Figures::default()
            },
            participants: Some(Bucket::From9To12),
            place: Some(true),
            circle: Some(false),
        }
    }

    fn inputs(areas: &[Area]) -> Vec<AreaInput<'_>> {
        areas
            .iter()
            .map(|a| AreaInput {
                code: &a.code,
                water: a.water,
                figures: &a.figures,
                participants: a.participants,
                estimate: None,
                meeting_place_within_walk: a.place,
                existing_circle_nearby: a.circle,
            })
            .collect()
    }

    /// Scores `areas`. The prepared model is leaked so that the borrowed scores can outlive
    /// this helper; each is a few kilobytes and lives as long as the test process anyway.
    fn run(areas: &[Area], weights: &Weights) -> Vec<AreaScore<'static>> {
        let prepared: &'static Prepared = Box::leak(Box::new(prepare(&inputs(areas))));
        prepared.score(weights)
    }

    fn find<'s, 'p>(scores: &'s [AreaScore<'p>], code_text: &str) -> &'s AreaScore<'p> {
        scores
            .iter()
            .find(|s| s.code.as_str() == code_text)
            .unwrap()
    }

    fn only(criteria: &[(Criterion, f64)]) -> Weights {
        let pairs: Vec<(&str, String)> = Criterion::ALL
            .iter()
            .map(|c| {
                let w = criteria
                    .iter()
                    .find(|(k, _)| k == c)
                    .map_or(0.0, |(_, w)| *w);
                (c.parameter(), w.to_string())
            })
            .collect();
        Weights::default().with_overrides(&pairs).unwrap()
    }

    /// A small world in two gemeenten: 6 buurten in GM0233 (one of them water) and 3 in GM0243.
    fn world() -> Vec<Area> {
        let mut v = Vec::new();
        for (i, p) in [12.0, 18.0, 25.0, 9.0, 30.0].into_iter().enumerate() {
            v.push(buurt(&format!("BU023301{:02}", i), Some(p)));
        }
        let mut water = buurt("BU02339997", Some(99.0));
        water.water = true;
        v.push(water);
        for (i, p) in [20.0, 21.0, 22.0].into_iter().enumerate() {
            v.push(buurt(&format!("BU024302{:02}", i), Some(p)));
        }
        v
    }

    // --- strategies -------------------------------------------------------------------------

    fn weight() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), Just(1000.0), 0.0..1000.0f64]
    }

    fn weights() -> impl Strategy<Value = Weights> {
        (
            proptest::array::uniform10(weight()),
            0.0..=100.0f64,
            0.0..=1.0f64,
        )
            .prop_map(|(mut ws, geschikt, f)| {
                if ws.iter().all(|w| *w == 0.0) {
                    ws[1] = 1.0;
                }
                let mut pairs: Vec<(&str, String)> = Criterion::ALL
                    .iter()
                    .zip(ws)
                    .map(|(c, w)| (c.parameter(), w.to_string()))
                    .collect();
                pairs.push(("t_geschikt", geschikt.to_string()));
                pairs.push(("t_kansrijk", (geschikt * f).to_string()));
                Weights::default().with_overrides(&pairs).unwrap()
            })
    }

    fn figure() -> impl Strategy<Value = Option<f64>> {
        prop::option::weighted(0.8, 0.0..100.0f64)
    }

    fn bucket() -> impl Strategy<Value = Bucket> {
        prop_oneof![
            Just(Bucket::Under5),
            Just(Bucket::From5To8),
            Just(Bucket::From9To12),
            Just(Bucket::Over12)
        ]
    }

    /// A random gemeente of 2-12 buurten; the first one is the buurt under test.
    fn random_world() -> impl Strategy<Value = Vec<Area>> {
        prop::collection::vec(
            (
                figure(),
                figure(),
                figure(),
                prop::option::weighted(0.8, 0.0..20_000.0f64),
                bucket(),
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>()),
            ),
            2..12,
        )
        .prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (a, b, c, d, bucket, place, circle))| Area {
                    code: code(&format!("BU05990{:03}", i)),
                    water: false,
                    figures: Figures {
                        p_65plus: a,
                        p_eenpersoonshh: b,
                        p_laag_inkomen: c,
                        adresdichtheid: d,
                        ..Figures::default()
                    },
                    participants: Some(bucket),
                    place,
                    circle,
                })
                .collect()
        })
    }

    fn same_bucket_counts() -> impl Strategy<Value = (usize, usize)> {
        (0usize..30, 0usize..30).prop_filter("counts in the same bucket", |(a, b)| {
            Bucket::of(*a) == Bucket::of(*b)
        })
    }

    proptest! {
        #[test]
        fn a_buurt_with_fewer_than_5_participants_is_never_geschikt_whatever_the_weights(
            mut world in random_world(),
            w in weights(),
        ) {
            world[0].participants = Some(Bucket::Under5);
            let scores = run(&world, &w);
            prop_assert_ne!(scores[0].category, Some(Category::Geschikt));
        }

        #[test]
        fn fewer_than_5_participants_is_one_category_down_whatever_the_participants_weight(
            mut world in random_world(),
            w in weights(),
            zero in any::<bool>(),
        ) {
            // A participants weight of 0 made the score need alone, and every buurt without
            // enough clients rose to kansrijk on it (issue 15): the gate must not depend on it.
            let w = if zero {
                let mut all = w.all().to_vec();
                all[Criterion::Participants.index()] = 0.0;
                if all.iter().all(|&x| x == 0.0) {
                    all[Criterion::MeetingPlace.index()] = 1.0;
                }
                w.with_weights(all)
            } else {
                w
            };
            for a in world.iter_mut().step_by(2) {
                a.participants = Some(Bucket::Under5);
            }
            let t = w.thresholds();
            for (s, a) in run(&world, &w).iter().zip(&world) {
                if a.participants == Some(Bucket::Under5) && s.category == Some(Category::Kansrijk) {
                    prop_assert!(s.score.unwrap() >= t.geschikt, "{s:?}");
                }
            }
        }

        #[test]
        fn an_attacker_varying_weights_learns_nothing_finer_than_the_bucket(
            world in random_world(),
            (count_a, count_b) in same_bucket_counts(),
            many in prop::collection::vec(weights(), 1..8),
        ) {
            // Two worlds that differ only in the exact client count of buurt 0; the model only
            // ever receives the bucket, as the API does.
            let mut world_a = world.clone();
            let mut world_b = world;
            world_a[0].participants = Some(Bucket::of(count_a));
            world_b[0].participants = Some(Bucket::of(count_b));
            let prepared_a = prepare(&inputs(&world_a));
            let prepared_b = prepare(&inputs(&world_b));
            for w in &many {
                let a = serde_json::to_string(&prepared_a.score(w)).unwrap();
                let b = serde_json::to_string(&prepared_b.score(w)).unwrap();
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn contributions_sum_to_the_score_and_scores_stay_between_0_and_100(
            world in random_world(),
            w in weights(),
        ) {
            for s in run(&world, &w) {
                let Some(score) = s.score else { continue };
                prop_assert!((0.0..=100.0).contains(&score));
                let sum: f64 = s.explanation.criteria().iter().map(|c| c.contribution).sum();
                prop_assert!((sum - score).abs() <= 0.4, "{} vs {}", sum, score);
                let shares: f64 = s.explanation.criteria().iter().map(|c| c.share).sum();
                prop_assert!((shares - 1.0).abs() < 1e-9);
            }
        }

        #[test]
        fn ranks_are_1_to_n_and_the_same_for_any_input_order(
            world in random_world(),
            w in weights(),
            rotate in 0usize..12,
        ) {
            let scores = run(&world, &w);
            let mut ranks: Vec<u32> = scores.iter().filter_map(|s| s.rank).collect();
            ranks.sort_unstable();
            prop_assert_eq!(ranks, (1..=world.len() as u32).collect::<Vec<_>>());

            let mut shuffled = world.clone();
            shuffled.reverse();
            shuffled.rotate_left(rotate % world.len());
            let mut again = run(&shuffled, &w);
            again.sort_by(|a, b| a.code.cmp(b.code));
            let mut first = scores;
            first.sort_by(|a, b| a.code.cmp(b.code));
            prop_assert_eq!(first, again);
        }
    }

    // --- scenarios --------------------------------------------------------------------------

    #[test]
    fn a_missing_cbs_figure_is_listed_and_reweighted_instead_of_counting_as_zero() {
        // Only two need indicators count. The buurt under test sits exactly at the median of
        // one-person households (normalised 0.5); its 65-plus share is missing, at the median,
        // or at the minimum.
        let w = only(&[(Criterion::P65Plus, 1.0), (Criterion::PEenpersoonsHh, 1.0)]);
        let world_with = |p_65plus: Option<f64>| {
            let mut v: Vec<Area> = [10.0, 15.0, 25.0, 30.0]
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut a = buurt(&format!("BU023301{i:02}"), Some(p));
                    a.figures.p_eenpersoonshh = Some(p);
                    a
                })
                .collect();
            let mut t = buurt("BU02330109", p_65plus);
            t.figures.p_eenpersoonshh = Some(20.0);
            v.push(t);
            v
        };
        let missing = run(&world_with(None), &w);
        let median = run(&world_with(Some(20.0)), &w);
        let lowest = run(&world_with(Some(1.0)), &w);
        let (missing, median, lowest) = (
            find(&missing, "BU02330109"),
            find(&median, "BU02330109"),
            find(&lowest, "BU02330109"),
        );

        // Renormalised over the present criterion: 100 × 0.5, as if the missing one were at
        // the area's own level, and not 25 as it would be if missing counted as zero.
        assert_eq!(missing.score, Some(50.0));
        assert_eq!(median.score, Some(50.0));
        assert_eq!(lowest.score, Some(25.0));

        let c = &missing.explanation.criteria()[Criterion::P65Plus.index()];
        assert!(c.missing);
        assert_eq!(
            (c.value, c.normalised, c.share, c.contribution),
            (None, None, 0.0, 0.0)
        );
        assert_eq!(c.weight, 1.0);
        assert_eq!(
            missing.explanation.missing(),
            ["65-plussers: CBS: niet gepubliceerd"]
        );
        assert!(median.explanation.missing().is_empty());
        assert_ne!(missing.explanation, median.explanation);
        let present = &missing.explanation.criteria()[Criterion::PEenpersoonsHh.index()];
        assert_eq!(present.share, 1.0);
    }

    #[test]
    fn a_cbs_sentinel_that_slipped_through_counts_as_missing_not_as_the_lowest_value() {
        let mut world = world();
        world[1].figures.p_65plus = Some(-99_997.0);
        let scores = run(&world, &Weights::default());
        let c = &scores[1].explanation.criteria()[Criterion::P65Plus.index()];
        assert!(c.missing);
        assert_eq!(scores[1].explanation.missing().len(), 1);
    }

    #[test]
    fn ranks_are_1_to_n_within_each_gemeente_and_water_is_not_ranked() {
        let scores = run(&world(), &Weights::default());
        for (prefix, n) in [("BU0233", 5u32), ("BU0243", 3)] {
            let mut ranks: Vec<u32> = scores
                .iter()
                .filter(|s| s.code.as_str().starts_with(prefix) && !s.water)
                .map(|s| {
                    assert_eq!(s.rank_of, Some(n));
                    s.rank.unwrap()
                })
                .collect();
            ranks.sort_unstable();
            assert_eq!(ranks, (1..=n).collect::<Vec<_>>(), "{prefix}");
        }
        // In GM0233 only p_65plus differs, so rank follows it: 30% first, 9% last.
        assert_eq!(find(&scores, "BU02330104").rank, Some(1));
        assert_eq!(find(&scores, "BU02330103").rank, Some(5));
    }

    #[test]
    fn water_areas_are_flagged_but_not_scored_ranked_or_compared_with() {
        let mut world = world();
        // A land-flagged area with a water code (wijk 99) is water too.
        world.push(buurt("BU02339901", Some(1.0)));
        let scores = run(&world, &Weights::default());
        for code_text in ["BU02339997", "BU02339901"] {
            let s = find(&scores, code_text);
            assert!(s.water);
            assert_eq!(
                (s.score, s.category, s.rank, s.rank_of),
                (None, None, None, None)
            );
            assert!(s.explanation.criteria().is_empty());
            assert_eq!(s.explanation.notes(), [NOTE_WATER]);
        }
        // The 99% of the water buurt is not in the reference: 30% is still the highest.
        let top = find(&scores, "BU02330104");
        assert_eq!(
            top.explanation.criteria()[Criterion::P65Plus.index()].normalised,
            Some(1.0)
        );
    }

    #[test]
    fn equal_areas_rank_by_code_whatever_their_input_order() {
        let a = buurt("BU02330102", Some(20.0));
        let b = buurt("BU02330101", Some(20.0));
        for world in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let scores = run(&world, &Weights::default());
            assert_eq!(find(&scores, "BU02330101").rank, Some(1));
            assert_eq!(find(&scores, "BU02330102").rank, Some(2));
            // Output follows input order.
            assert_eq!(scores[0].code, &world[0].code);
        }
    }

    #[test]
    fn without_client_data_areas_are_still_ranked_and_the_explanation_says_so() {
        let mut world = world();
        for a in &mut world {
            a.participants = None;
        }
        let prepared = prepare(&inputs(&world));
        assert!(!prepared.has_client_data());
        let scores = prepared.score(&Weights::default());
        for s in scores.iter().filter(|s| !s.water) {
            assert!(s.score.is_some() && s.rank.is_some());
            assert_ne!(s.category, Some(Category::Geschikt));
            // No inhabitants in these figures, so no estimate either.
            assert!(s.explanation.notes().contains(&NOTE_NO_ESTIMATE));
            assert_eq!(
                s.explanation.missing()[0],
                "deelnemers binnen loopafstand: niet geladen"
            );
            assert!(s.explanation.criteria()[0].missing);
        }
        // Ranking still follows the other criteria.
        assert_eq!(find(&scores, "BU02330104").rank, Some(1));
        assert_eq!(
            find(&scores, "BU02330104").category,
            Some(Category::Kansrijk)
        );
    }

    #[test]
    fn an_area_whose_weighted_criteria_are_all_missing_is_unscored_but_ranked_last() {
        let mut world = world();
        for a in &mut world {
            a.participants = None;
        }
        world[0].participants = Some(Bucket::From5To8);
        let scores = run(&world, &only(&[(Criterion::Participants, 1.0)]));
        assert_eq!(scores[0].score, Some(50.0));
        assert_eq!(scores[0].rank, Some(1));
        let s = &scores[1];
        assert_eq!((s.score, s.category), (None, None));
        assert!(s.explanation.notes().contains(&NOTE_NOTHING));
        assert!(s.rank.unwrap() > 1);
    }

    #[test]
    fn categories_follow_the_thresholds_and_the_gate() {
        let mut world = world();
        world[4].participants = Some(Bucket::Under5);
        let scores = run(&world, &Weights::default());
        // Full marks on participants, place and circle; median-ish need: geschikt.
        assert_eq!(scores[0].category, Some(Category::Geschikt));
        // The same buurt with <5 participants loses 3/11 of its score and the gate: a score
        // that would be kansrijk is one category down, ongeschikt.
        let t = Weights::default().thresholds();
        let score = scores[4].score.unwrap();
        assert!((t.kansrijk..t.geschikt).contains(&score), "{score}");
        assert_eq!(scores[4].category, Some(Category::Ongeschikt));
        assert!(scores[4].explanation.notes().contains(&NOTE_TOO_FEW));

        let low = Weights::default()
            .with_overrides(&[("t_geschikt", "0"), ("t_kansrijk", "0")])
            .unwrap();
        assert_eq!(run(&world, &low)[4].category, Some(Category::Kansrijk));
        let high = Weights::default()
            .with_overrides(&[("t_geschikt", "100"), ("t_kansrijk", "100")])
            .unwrap();
        assert_eq!(run(&world, &high)[0].category, Some(Category::Ongeschikt));
    }

    #[test]
    fn a_meeting_place_and_no_existing_circle_raise_the_score() {
        let mut world = world();
        world[1].place = Some(false);
        world[2].circle = Some(true);
        let scores = run(
            &world,
            &only(&[
                (Criterion::MeetingPlace, 1.0),
                (Criterion::NoExistingCircle, 1.0),
            ]),
        );
        assert_eq!(scores[0].score, Some(100.0));
        assert_eq!(scores[1].score, Some(50.0));
        assert_eq!(scores[2].score, Some(50.0));
        let c = &scores[2].explanation.criteria()[Criterion::NoExistingCircle.index()];
        assert_eq!(c.value, Some(RawValue::Flag(false)));
        assert_eq!(c.reason, "er is al een Buurtcirkel in de buurt");
    }

    #[test]
    fn reasons_state_the_value_and_how_it_compares_with_the_other_buurten() {
        let mut world: Vec<Area> = [5.0, 10.0, 12.0, 14.0, 15.0, 16.0, 17.0, 20.0, 22.0, 25.0]
            .into_iter()
            .enumerate()
            .map(|(i, p)| buurt(&format!("BU023301{i:02}"), Some(p)))
            .collect();
        world.push(buurt("BU02330150", Some(18.0)));
        world[0].figures.adresdichtheid = Some(2450.4);
        let scores = run(&world, &Weights::default());
        let r =
            |s: &AreaScore, c: Criterion| s.explanation.criteria()[c.index()].reason.to_string();
        assert_eq!(
            r(&scores[10], Criterion::P65Plus),
            "18% 65-plussers; hoger dan 70% van de buurten"
        );
        assert_eq!(
            r(&scores[0], Criterion::P65Plus),
            "5% 65-plussers; lager dan alle andere buurten"
        );
        assert_eq!(
            r(&scores[0], Criterion::Adresdichtheid),
            "2.450 adressen per km²; hoger dan alle andere buurten"
        );
        assert_eq!(
            r(&scores[0], Criterion::Participants),
            "9-12 mogelijke deelnemers binnen loopafstand; de streefgrootte"
        );
        assert_eq!(scores[10].explanation.top_reasons().len(), 3);
        assert_eq!(
            scores[10].explanation.top_reasons()[0],
            "9-12 mogelijke deelnemers binnen loopafstand; de streefgrootte"
        );
    }

    #[test]
    fn percentiles_average_ties_and_a_single_value_scores_half() {
        assert_eq!(percentile(&[7.0], 7.0, Level::Buurt).0, 0.5);
        let v = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(percentile(&v, 1.0, Level::Buurt).0, 0.0);
        assert_eq!(percentile(&v, 2.0, Level::Buurt).0, 0.5);
        assert_eq!(percentile(&v, 3.0, Level::Buurt).0, 1.0);
        assert_eq!(
            percentile(&[7.0], 7.0, Level::Wijk).1,
            "de enige wijk met een bekende waarde"
        );
        assert_eq!(
            percentile(&[4.0, 4.0], 4.0, Level::Buurt),
            (0.5, "even hoog als alle andere buurten".to_string())
        );
        assert_eq!(
            percentile(&v, 2.0, Level::Buurt).1,
            "hoger dan 33% van de buurten"
        );
    }

    #[test]
    fn numbers_are_written_the_dutch_way() {
        assert_eq!(fmt_pct(18.0), "18%");
        assert_eq!(fmt_pct(7.46), "7,5%");
        assert_eq!(fmt_int(123.0), "123");
        assert_eq!(fmt_int(2450.4), "2.450");
        assert_eq!(fmt_int(1_234_567.0), "1.234.567");
    }

    #[test]
    fn wijken_and_gemeenten_are_scored_against_their_own_level() {
        let mut world = world();
        world.push(buurt("WK023301", Some(50.0)));
        world.push(buurt("WK024302", Some(10.0)));
        world.push(buurt("GM0233", Some(20.0)));
        world.push(buurt("GM0243", Some(21.0)));
        let scores = run(&world, &Weights::default());
        let wk = find(&scores, "WK023301");
        assert_eq!(
            (wk.level, wk.rank, wk.rank_of),
            (Level::Wijk, Some(1), Some(1))
        );
        // Among the two wijken, 50% is the highest, whatever the buurten hold.
        assert_eq!(
            wk.explanation.criteria()[Criterion::P65Plus.index()].reason,
            "50% 65-plussers; hoger dan alle andere wijken"
        );
        // Gemeenten rank among all gemeenten.
        assert_eq!(find(&scores, "GM0243").rank, Some(1));
        assert_eq!(find(&scores, "GM0233").rank, Some(2));
        assert_eq!(find(&scores, "GM0233").rank_of, Some(2));
    }

    #[test]
    fn the_published_json_shows_bucket_labels_and_dutch_categories() {
        let mut world = world();
        world[0].participants = Some(Bucket::From5To8);
        let json = serde_json::to_value(run(&world, &Weights::default())).unwrap();
        let first = &json[0];
        assert_eq!(first["code"], "BU02330100");
        assert_eq!(first["level"], "buurt");
        assert_eq!(
            first["explanation"]["criteria"][0]["criterion"],
            "participants"
        );
        assert_eq!(first["explanation"]["criteria"][0]["value"], "5-8");
        assert_eq!(first["explanation"]["criteria"][1]["value"], 12.0);
        assert!(
            ["geschikt", "kansrijk", "ongeschikt"].contains(&first["category"].as_str().unwrap())
        );
    }

    fn with_estimate(world: &[Area], expected: &[f64]) -> Vec<AreaScore<'static>> {
        let inputs: Vec<AreaInput<'_>> = world
            .iter()
            .zip(expected)
            .map(|(a, e)| AreaInput {
                code: &a.code,
                water: a.water,
                figures: &a.figures,
                participants: None,
                estimate: Some(Estimate {
                    expected: *e,
                    people_within_walk: *e * 30.0,
                    target_population: 1000.0,
                    source: crate::analysis::estimate::DensitySource::Bevolkingsdichtheid,
                }),
                meeting_place_within_walk: a.place,
                existing_circle_nearby: a.circle,
            })
            .collect();
        let prepared: &'static Prepared = Box::leak(Box::new(prepare(&inputs)));
        prepared.score(&Weights::default())
    }

    #[test]
    fn without_clients_an_area_where_a_full_circle_is_implausible_never_tops_its_gemeente() {
        // BU02330104 has the highest need of GM0233 but an estimate of 2 participants; the
        // others have 30 (plausible) and 7 (doubtful).
        let world = world();
        let scores = with_estimate(
            &world,
            &[30.0, 30.0, 7.0, 30.0, 2.0, 30.0, 30.0, 30.0, 30.0],
        );
        let top = find(&scores, "BU02330104");
        assert_eq!(top.category, Some(Category::Ongeschikt));
        assert!(top.explanation.notes().contains(&NOTE_IMPLAUSIBLE));
        assert_eq!(top.rank, top.rank_of);
        let doubtful = find(&scores, "BU02330102");
        assert_ne!(doubtful.category, Some(Category::Geschikt));
        assert!(doubtful.rank.unwrap() > 3, "{:?}", doubtful.rank);
        let c = &top.explanation.criteria()[0];
        assert_eq!(c.value, Some(RawValue::Estimate { geschat: 2.0 }));
        assert!(c.reason.contains("geschat"), "{}", c.reason);
        assert!(top.explanation.notes().contains(&NOTE_NO_CLIENTS));
        // With a plausible estimate, a complete area can be geschikt without client data.
        assert_eq!(
            find(&scores, "BU02330100").category,
            Some(Category::Geschikt)
        );
        let json = serde_json::to_value(&top.explanation).unwrap();
        assert_eq!(json["criteria"][0]["value"]["geschat"], 2.0);
    }

    #[test]
    fn below_the_completeness_share_an_area_is_onvoldoende_gegevens_never_geschikt() {
        let mut world = world();
        // Area 0 loses places and circles (4 of 15 weight) and three need figures (3 more):
        // 8 of 15 = 53% < 60%.
        world[0].place = None;
        world[0].circle = None;
        world[0].figures.p_bijstand = None;
        world[0].figures.woz_waarde = None;
        world[0].figures.p_corporatiewoningen = None;
        let scores = run(&world, &Weights::default());
        let s = &scores[0];
        assert!(s.score.unwrap() >= 60.0, "{:?}", s.score);
        assert_eq!(s.category, Some(Category::OnvoldoendeGegevens));
        let c = s.completeness.unwrap();
        assert_eq!((c.criteria, c.of), (5, 10));
        assert_eq!(c.weight_share, 0.533);
        assert!(s.explanation.notes().contains(&NOTE_INCOMPLETE));
        // The same area at a lower completeness threshold is geschikt again.
        let lax = Weights::default()
            .with_overrides(&[("t_volledigheid", "50")])
            .unwrap();
        assert_eq!(run(&world, &lax)[0].category, Some(Category::Geschikt));
        // A complete area rests on all of its weight.
        assert_eq!(scores[1].completeness.unwrap().weight_share, 1.0);
        assert_eq!(
            serde_json::to_value(s).unwrap()["category"],
            "onvoldoende gegevens"
        );
    }

    #[test]
    fn every_missing_value_says_why() {
        let mut world = world();
        world[0].place = None;
        world[1].figures.p_65plus = None;
        // No area has social-assistance figures: the column was not loaded.
        for a in &mut world {
            a.figures.p_bijstand = None;
        }
        let scores = run(&world, &Weights::default());
        let cause = |s: &AreaScore, c: Criterion| s.explanation.criteria()[c.index()].cause;
        assert_eq!(
            cause(&scores[0], Criterion::MeetingPlace),
            Some(MissingCause::NietGeladen)
        );
        assert_eq!(
            cause(&scores[1], Criterion::P65Plus),
            Some(MissingCause::CbsNietGepubliceerd)
        );
        assert_eq!(
            cause(&scores[2], Criterion::PBijstand),
            Some(MissingCause::NietGeladen)
        );
        assert_eq!(cause(&scores[2], Criterion::P65Plus), None);
        let water = find(&scores, "BU02339997");
        let json = serde_json::to_value(water).unwrap();
        assert_eq!(json["explanation"]["criteria"], serde_json::json!([]));
        assert_eq!(water.completeness, None);
        let json = serde_json::to_value(&scores[1]).unwrap();
        assert_eq!(
            json["explanation"]["criteria"][1]["cause"],
            "CBS: niet gepubliceerd"
        );
    }

    #[test]
    fn data_nobody_loaded_leaves_the_completeness_share_instead_of_punishing_every_area() {
        let mut world = world();
        for a in &mut world {
            a.place = None;
            a.circle = None;
        }
        let prepared = prepare(&inputs(&world));
        let scores = prepared.score(&Weights::default());
        // Places and circles (4 of 15) are loaded nowhere: the other 11 are the whole weight.
        let c = scores[0].completeness.unwrap();
        assert_eq!((c.criteria, c.of, c.weight_share), (8, 8, 1.0));
        assert_ne!(scores[0].category, Some(Category::OnvoldoendeGegevens));
        // Still listed as missing, with its cause.
        assert_eq!(
            scores[0].explanation.criteria()[Criterion::MeetingPlace.index()].cause,
            Some(MissingCause::NietGeladen)
        );
        let notes = prepared.not_loaded_notes();
        let keys: Vec<&str> = notes.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["meeting_place", "no_existing_circle"]);
        assert!(notes[0].1.contains("telt niet mee"), "{}", notes[0].1);
        assert!(notes[0].1.starts_with(Criterion::MeetingPlace.label()));
        // Nothing of the kind when everything is loaded.
        assert!(
            prepare(&inputs(&self::world()))
                .not_loaded_notes()
                .is_empty()
        );
    }

    #[test]
    fn a_figure_missing_here_still_lowers_completeness_and_its_cause_follows_the_gemeente() {
        let mut world = world();
        // Bijstand is loaded for GM0233 but suppressed for its first buurt, and loaded nowhere
        // in GM0243.
        world[0].figures.p_bijstand = None;
        for a in world
            .iter_mut()
            .filter(|a| a.code.as_str().starts_with("BU0243"))
        {
            a.figures.p_bijstand = None;
        }
        let share = |scores: &[AreaScore<'_>], code_text: &str| {
            find(scores, code_text).completeness.unwrap().weight_share
        };
        let ins = inputs(&world);
        let own = prepare_with(&ins, ComparisonSet::Gemeente);
        let own = own.score(&Weights::default());
        // Suppressed here, present in the rest of the gemeente: counts against it (14/15).
        assert_eq!(share(&own, "BU02330100"), 0.933);
        assert_eq!(
            find(&own, "BU02330100").explanation.criteria()[Criterion::PBijstand.index()].cause,
            Some(MissingCause::CbsNietGepubliceerd)
        );
        // Loaded nowhere in GM0243: "niet geladen", and a figure the score lacks still lowers
        // completeness (only layers nobody imported leave it), whatever the comparison set.
        let cause = |scores: &[AreaScore<'_>]| {
            find(scores, "BU02430200").explanation.criteria()[Criterion::PBijstand.index()].cause
        };
        assert_eq!(cause(&own), Some(MissingCause::NietGeladen));
        assert_eq!(share(&own, "BU02430200"), 0.933);
        let all = prepare_with(&ins, ComparisonSet::Alles);
        let all = all.score(&Weights::default());
        assert_eq!(cause(&all), Some(MissingCause::NietGeladen));
        assert_eq!(share(&all, "BU02430200"), 0.933);
        assert_eq!(find(&all, "BU02430200").completeness.unwrap().of, 10);
    }

    #[test]
    fn in_the_regio_comparison_a_buurt_is_compared_with_its_gemeente_and_the_neighbouring_ones() {
        // GM0243 (20-22% 65-plussers) neighbours GM0233 (9-30%); GM0300 neighbours nobody.
        let mut world = world();
        world.push(buurt("BU03000100", Some(5.0)));
        world.push(buurt("BU03000101", Some(50.0)));
        let ins = inputs(&world);
        let regio = Weights::from_toml_str(
            &include_str!("../../config/weights.toml")
                .replace("kring = \"gemeente\"", "kring = \"regio\""),
        )
        .unwrap();
        assert_eq!(regio.comparison(), ComparisonSet::Regio);
        let regions: Regions = [
            (code("GM0243"), vec![code("GM0233")]),
            (code("GM0233"), vec![code("GM0243")]),
        ]
        .into_iter()
        .collect();
        let prepared = prepare_regions(&ins, &regio, &regions);
        let scores = prepared.score(&regio);
        fn p65(s: &AreaScore<'_>) -> (Option<f64>, String) {
            let c = s.explanation.criteria()[Criterion::P65Plus.index()];
            (c.normalised, c.reason.to_string())
        }
        // 22% among 9, 12, 18, 20, 21, 22, 25, 30: mid-rank 6 of 8 -> 5/7.
        let (normalised, reason) = p65(find(&scores, "BU02430202"));
        assert!(
            (normalised.unwrap() - 5.0 / 7.0).abs() < 1e-9,
            "{normalised:?}"
        );
        assert!(reason.ends_with("in de regio"), "{reason}");
        // Within the gemeente alone it would be the highest of its three.
        let own = prepare_with(&ins, ComparisonSet::Gemeente);
        let own = own.score(&Weights::default());
        assert_eq!(p65(find(&own, "BU02430202")).0, Some(1.0));
        // A gemeente without neighbours is its own region.
        assert_eq!(p65(find(&scores, "BU03000101")).0, Some(1.0));
        assert_eq!(p65(find(&scores, "BU03000100")).0, Some(0.0));
        // Without regions (no polygons), regio is the gemeente.
        let alone = prepare_model(&ins, &regio);
        let alone = alone.score(&regio);
        assert_eq!(p65(find(&alone, "BU02430202")).0, Some(1.0));
    }

    #[test]
    fn a_low_woz_value_scores_higher_than_a_high_one() {
        let mut world: Vec<Area> = (0..3)
            .map(|i| buurt(&format!("BU023301{i:02}"), Some(20.0)))
            .collect();
        for (a, v) in world.iter_mut().zip([150.0, 300.0, 600.0]) {
            a.figures.woz_waarde = Some(v);
        }
        let scores = run(&world, &only(&[(Criterion::LaagWoz, 1.0)]));
        assert_eq!(scores[0].score, Some(100.0));
        assert_eq!(scores[2].score, Some(0.0));
    }

    #[test]
    fn within_the_gemeente_comparison_a_buurt_is_ranked_against_its_own_gemeente_only() {
        // GM0243's buurten have 20-22% 65-plussers, GM0233's 9-30%. Compared within the
        // gemeente, 22% is the highest of GM0243; compared with everything it is in the middle.
        let world = world();
        let ins = inputs(&world);
        let own = prepare_with(&ins, ComparisonSet::Gemeente);
        let all = prepare_with(&ins, ComparisonSet::Alles);
        let w = Weights::default();
        let (own, all) = (own.score(&w), all.score(&w));
        let c = |s: &[AreaScore], code: &str| -> (Option<f64>, String) {
            let c = find(s, code).explanation.criteria()[Criterion::P65Plus.index()];
            (c.normalised, c.reason.to_string())
        };
        assert_eq!(c(&own, "BU02430202").0, Some(1.0));
        assert!(c(&own, "BU02430202").1.ends_with("in de gemeente"));
        assert!(c(&all, "BU02430202").0.unwrap() < 1.0);
    }

    #[test]
    fn empty_input_gives_no_scores() {
        let prepared = prepare(&[]);
        assert!(prepared.is_empty());
        assert!(prepared.score(&Weights::default()).is_empty());
    }
    fn eenzaamheid(richting: &str, gewicht: u32) -> Weights {
        let text = include_str!("../../config/weights.toml");
        Weights::from_toml_str(&format!(
            "{text}\n[[indicator]]\nkey = \"eenzaamheid\"\nkolom = \"eenzaamheid_pct\"\n\
             label = \"ernstig eenzaam\"\nrichting = \"{richting}\"\ngewicht = {gewicht}\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_custom_indicator_is_percentile_ranked_and_lager_reverses_it() {
        let mut world: Vec<Area> = (0..4)
            .map(|i| buurt(&format!("BU023301{i:02}"), Some(20.0)))
            .collect();
        for (a, v) in world
            .iter_mut()
            .zip([Some(5.0), Some(10.0), Some(15.0), None])
        {
            a.figures.extra.insert("eenzaamheid_pct".into(), v);
        }
        // A fifth buurt outside the imported table: the column never reached it.
        world.push(buurt("BU02330104", Some(20.0)));
        let ins = inputs(&world);
        for (richting, best) in [("hoger", "BU02330102"), ("lager", "BU02330100")] {
            let w = eenzaamheid(richting, 1000);
            let prepared = prepare_model(&ins, &w);
            let scores = prepared.score(&w);
            assert_eq!(find(&scores, best).rank, Some(1), "{richting}");
            let c = find(&scores, "BU02330101").explanation.criteria()[CRITERIA];
            assert_eq!((c.criterion, c.label), ("eenzaamheid", "ernstig eenzaam"));
            assert_eq!(c.normalised, Some(0.5));
            assert!(c.reason.starts_with("ernstig eenzaam 10; "), "{}", c.reason);
            let cause = |code: &str| find(&scores, code).explanation.criteria()[CRITERIA].cause;
            assert_eq!(cause("BU02330103"), Some(MissingCause::CbsNietGepubliceerd));
            assert_eq!(cause("BU02330104"), Some(MissingCause::NietGeladen));
            // The indicator counts in completeness, as a criterion with a weight.
            let done = find(&scores, "BU02330100").completeness.unwrap();
            assert_eq!((done.criteria, done.of), (11, 11));
            let json = serde_json::to_value(find(&scores, best)).unwrap();
            assert_eq!(
                json["explanation"]["criteria"][CRITERIA]["criterion"],
                "eenzaamheid"
            );
        }
        // Without the indicator the same buurten tie on everything.
        let plain = prepare(&ins);
        let plain = plain.score(&Weights::default());
        assert_eq!(plain[0].score, plain[2].score);
    }
}
