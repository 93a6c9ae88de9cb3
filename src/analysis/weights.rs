//! Weights and category thresholds of the suitability model, read from TOML text and from
//! per-request overrides.
//!
//! Inputs: the text of a weights file (the default is `config/weights.toml`) and
//! `(name, value)` pairs from query parameters such as `w_p_65plus=2`. Output: a validated
//! [`Weights`] value. Units: weights are unitless (only their ratios matter), thresholds are
//! points on the 0-100 score scale.
//!
//! Besides the built-in [`Criterion`]s, a weights file may name *custom indicators*
//! (`[[indicator]]`: any imported figure column with its direction, label and weight); the
//! weight vector is then the built-in weights followed by one weight per indicator.
//!
//! This module never reads files: the CLI reads the weights file and hands over its text.
//! It depends on `serde` and `toml` only.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One criterion of the suitability model. The order of [`Criterion::ALL`] is the order of
/// the explanation and the tie-break for equal contributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Criterion {
    /// Potential participants within walking distance, as a [`crate::model::Bucket`].
    #[serde(rename = "participants")]
    Participants,
    /// Share of inhabitants aged 65 or older.
    #[serde(rename = "p_65plus")]
    P65Plus,
    /// Share of one-person households (loneliness).
    #[serde(rename = "p_eenpersoonshh")]
    PEenpersoonsHh,
    /// Share of persons with a low income (national lowest 40%).
    #[serde(rename = "p_laag_inkomen")]
    PLaagInkomen,
    /// Share of dwellings rented from a housing corporation (social rental).
    #[serde(rename = "p_sociale_huur")]
    PSocialeHuur,
    /// Persons on social assistance (bijstand) per 100 inhabitants.
    #[serde(rename = "p_bijstand")]
    PBijstand,
    /// Low mean WOZ value of the dwellings (lower value, more need).
    #[serde(rename = "laag_woz")]
    LaagWoz,
    /// Surrounding address density.
    #[serde(rename = "adresdichtheid")]
    Adresdichtheid,
    /// A meeting place within walking distance.
    #[serde(rename = "meeting_place")]
    MeetingPlace,
    /// No existing circle nearby.
    #[serde(rename = "no_existing_circle")]
    NoExistingCircle,
}

/// The number of criteria.
pub const CRITERIA: usize = 10;

impl Criterion {
    /// All criteria, in explanation order.
    pub const ALL: [Criterion; CRITERIA] = [
        Criterion::Participants,
        Criterion::P65Plus,
        Criterion::PEenpersoonsHh,
        Criterion::PLaagInkomen,
        Criterion::PSocialeHuur,
        Criterion::PBijstand,
        Criterion::LaagWoz,
        Criterion::Adresdichtheid,
        Criterion::MeetingPlace,
        Criterion::NoExistingCircle,
    ];

    /// The key in the `[weights]` table of the weights file and in the published explanation.
    pub fn key(self) -> &'static str {
        match self {
            Criterion::Participants => "participants",
            Criterion::P65Plus => "p_65plus",
            Criterion::PEenpersoonsHh => "p_eenpersoonshh",
            Criterion::PLaagInkomen => "p_laag_inkomen",
            Criterion::PSocialeHuur => "p_sociale_huur",
            Criterion::PBijstand => "p_bijstand",
            Criterion::LaagWoz => "laag_woz",
            Criterion::Adresdichtheid => "adresdichtheid",
            Criterion::MeetingPlace => "meeting_place",
            Criterion::NoExistingCircle => "no_existing_circle",
        }
    }

    /// The query parameter that overrides this weight: `w_` + [`Criterion::key`].
    pub fn parameter(self) -> &'static str {
        match self {
            Criterion::Participants => "w_participants",
            Criterion::P65Plus => "w_p_65plus",
            Criterion::PEenpersoonsHh => "w_p_eenpersoonshh",
            Criterion::PLaagInkomen => "w_p_laag_inkomen",
            Criterion::PSocialeHuur => "w_p_sociale_huur",
            Criterion::PBijstand => "w_p_bijstand",
            Criterion::LaagWoz => "w_laag_woz",
            Criterion::Adresdichtheid => "w_adresdichtheid",
            Criterion::MeetingPlace => "w_meeting_place",
            Criterion::NoExistingCircle => "w_no_existing_circle",
        }
    }

    /// A short Dutch label for the web map.
    pub fn label(self) -> &'static str {
        match self {
            Criterion::Participants => "deelnemers binnen loopafstand",
            Criterion::P65Plus => "65-plussers",
            Criterion::PEenpersoonsHh => "eenpersoonshuishoudens",
            Criterion::PLaagInkomen => "laag inkomen",
            Criterion::PSocialeHuur => "sociale huur",
            Criterion::PBijstand => "bijstand",
            Criterion::LaagWoz => "lage WOZ-waarde",
            Criterion::Adresdichtheid => "adresdichtheid",
            Criterion::MeetingPlace => "ontmoetingsplek binnen loopafstand",
            Criterion::NoExistingCircle => "geen bestaande Buurtcirkel",
        }
    }

    /// The position in [`Criterion::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The criterion whose [`Criterion::key`] is `key`.
    pub fn from_key(key: &str) -> Option<Criterion> {
        Criterion::ALL.into_iter().find(|c| c.key() == key)
    }
}

impl fmt::Display for Criterion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Score thresholds (0-100) of the categories `geschikt` and `kansrijk`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// From this score an area is `geschikt` (if it also passes the participant gate).
    pub geschikt: f64,
    /// From this score an area is `kansrijk`; below it, `ongeschikt`.
    pub kansrijk: f64,
    /// Completeness (0-100): the share of the total weight whose criteria have data. Below it
    /// an area is `onvoldoende gegevens`, whatever its score. Optional in the file (default 60).
    pub volledigheid: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            geschikt: 60.0,
            kansrijk: 40.0,
            volledigheid: 60.0,
        }
    }
}

/// The query parameters that override a threshold.
pub const THRESHOLD_PARAMETERS: [&str; 3] = ["t_geschikt", "t_kansrijk", "t_volledigheid"];

/// Prevalences of the target groups: the share of a population that could join a circle.
/// Used by [`crate::analysis::estimate`] with CBS figures only. Every value is a fraction
/// `0..=1`; the sources and the reasoning are in `docs/suitability.md`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prevalence {
    /// People with a serious or long-lasting psychiatric condition, share of all inhabitants.
    pub ggz: f64,
    /// People with a mild intellectual disability who need support, share of all inhabitants.
    pub lvb: f64,
    /// Lonely elderly living alone, share of the 65-plussers.
    pub ouderen_alleenwonend: f64,
    /// Newcomers (statushouders of the last years), share of all inhabitants.
    pub nieuwkomers: f64,
}

impl Default for Prevalence {
    fn default() -> Prevalence {
        Prevalence {
            ggz: 0.017,
            lvb: 0.008,
            ouderen_alleenwonend: 0.03,
            nieuwkomers: 0.004,
        }
    }
}

/// The comparison set of the percentile normalisation: which areas an area is compared with.
/// Gemeenten are always compared with all loaded gemeenten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum ComparisonSet {
    /// Buurten and wijken with those of the same level in their own gemeente: what a
    /// gemeente's project leader compares (the default).
    #[default]
    #[serde(rename = "gemeente")]
    Gemeente,
    /// With every loaded area of the same level (the whole country when it is loaded).
    #[serde(rename = "alles")]
    Alles,
    /// With those of the same level in the gemeente and its neighbouring gemeenten (boundaries
    /// within 1 m, see [`crate::analysis::region`]).
    #[serde(rename = "regio")]
    Regio,
}

impl ComparisonSet {
    /// The value in the weights file.
    pub fn key(self) -> &'static str {
        match self {
            ComparisonSet::Gemeente => "gemeente",
            ComparisonSet::Alles => "alles",
            ComparisonSet::Regio => "regio",
        }
    }
}

/// The keys of the `[prevalentie]` table.
pub const PREVALENCE_KEYS: [&str; 4] = ["ggz", "lvb", "ouderen_alleenwonend", "nieuwkomers"];

impl Prevalence {
    /// The share of all inhabitants in a target group, given the percentage of 65-plussers
    /// (`None`: the national 20%, an assumption the docs state).
    pub fn share_of_inhabitants(&self, p_65plus: Option<f64>) -> f64 {
        let old = p_65plus.unwrap_or(20.0).clamp(0.0, 100.0) / 100.0;
        self.ggz + self.lvb + self.nieuwkomers + self.ouderen_alleenwonend * old
    }

    fn slot(&mut self, key: &str) -> Option<&mut f64> {
        Some(match key {
            "ggz" => &mut self.ggz,
            "lvb" => &mut self.lvb,
            "ouderen_alleenwonend" => &mut self.ouderen_alleenwonend,
            "nieuwkomers" => &mut self.nieuwkomers,
            _ => return None,
        })
    }
}

/// Which way a custom indicator points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Direction {
    /// A higher value means more need (`richting = "hoger"`).
    #[serde(rename = "hoger")]
    Hoger,
    /// A lower value means more need (`richting = "lager"`).
    #[serde(rename = "lager")]
    Lager,
}

impl Direction {
    /// The value in the weights file.
    pub fn key(self) -> &'static str {
        match self {
            Direction::Hoger => "hoger",
            Direction::Lager => "lager",
        }
    }
}

/// A custom need indicator from the `[[indicator]]` array of a weights file: an imported
/// figure column (known or extra), percentile-ranked within the comparison set like the
/// built-in need criteria.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    /// The weight key; the query parameter is `w_` + key.
    pub key: String,
    /// The figure column, lower case: a name of [`crate::model::FIGURE_FIELDS`] or an extra
    /// column of `import figures`.
    pub kolom: String,
    /// Dutch label for the explanation and the web map.
    pub label: String,
    /// English label; `None`: the Dutch one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// Which way more need points.
    pub richting: Direction,
    /// `w_` + key.
    #[serde(skip)]
    pub parameter: String,
}

const INDICATOR_KEYS: [&str; 6] = ["key", "kolom", "label", "label_en", "richting", "gewicht"];

/// The largest weight accepted. Only ratios matter, so this loses nothing, and it keeps every
/// weighted sum far from overflow.
pub const MAX_WEIGHT: f64 = 1000.0;

/// Validated weights and thresholds of the suitability model.
///
/// Every value has been checked: weights are finite and in `0..=1000`, at least one is positive,
/// thresholds are in `0..=100` with `kansrijk <= geschikt`. Build one with
/// [`Weights::default`], [`Weights::from_toml_str`] or [`Weights::with_overrides`].
///
/// Serialises to (and deserialises from) the shape of the weights file:
/// `{"weights": {"participants": 3, ...}, "thresholds": {"geschikt": 60, "kansrijk": 40}}`.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::weights::{Criterion, Weights};
/// let w = Weights::default().with_overrides(&[("w_p_65plus", "2")]).unwrap();
/// assert_eq!(w.weight(Criterion::P65Plus), 2.0);
/// assert!(Weights::default().with_overrides(&[("w_leeftijd", "2")]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// The built-in weights in [`Criterion::ALL`] order, then one per indicator.
    weights: Vec<f64>,
    /// Custom indicators; shared, so cloning weights per request stays cheap.
    indicators: Arc<[Indicator]>,
    thresholds: Thresholds,
    prevalence: Prevalence,
    comparison: ComparisonSet,
}

/// Why a weights file or a weight override was rejected. Messages name the key or query
/// parameter and say what was expected, so they can go to a user as they are.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    /// The text is not TOML at all.
    #[error("the weights file is not valid TOML: {message}")]
    Toml {
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// A key or query parameter the model does not know.
    #[error("unknown {what} '{key}': expected one of {expected}")]
    UnknownKey {
        /// `key` (in a file) or `parameter` (in a request).
        what: &'static str,
        /// The offending key, e.g. `weights.p_65_plus` or `w_leeftijd`.
        key: String,
        /// The accepted names.
        expected: String,
    },
    /// A required key is absent from the weights file.
    #[error("missing key '{key}': expected {expected}")]
    MissingKey {
        /// The key, e.g. `weights.p_65plus`.
        key: String,
        /// What the key must hold.
        expected: &'static str,
    },
    /// A value of the wrong type or out of range.
    #[error("'{key}' = {value}: expected {expected}")]
    BadValue {
        /// The key or query parameter.
        key: String,
        /// The value as given.
        value: String,
        /// What was expected instead.
        expected: &'static str,
    },
    /// A query parameter given more than once.
    #[error("parameter '{key}' is given more than once: expected it at most once")]
    Duplicate {
        /// The query parameter.
        key: String,
    },
    /// A custom indicator's key that is already taken.
    #[error(
        "indicator '{indicator}': key '{indicator}' clashes with {with}: expected a key of its own"
    )]
    Clash {
        /// The indicator's key.
        indicator: String,
        /// What it clashes with.
        with: &'static str,
    },
    /// Every weight is zero, so no score can be computed.
    #[error("all weights are 0: expected at least one weight above 0")]
    AllZero,
    /// The `kansrijk` threshold lies above the `geschikt` threshold.
    #[error(
        "threshold kansrijk ({kansrijk}) is above threshold geschikt ({geschikt}): expected kansrijk <= geschikt"
    )]
    ThresholdOrder {
        /// The `geschikt` threshold.
        geschikt: f64,
        /// The `kansrijk` threshold.
        kansrijk: f64,
    },
}

const WEIGHT_EXPECTED: &str = "a number from 0 to 1000";
const THRESHOLD_EXPECTED: &str = "a number from 0 to 100";
const PREVALENCE_EXPECTED: &str = "a fraction from 0 to 1";

impl Default for Weights {
    /// The documented defaults; equal to `config/weights.toml` (a test checks this).
    fn default() -> Self {
        Weights {
            // participants, p_65plus, p_eenpersoonshh, p_laag_inkomen, p_sociale_huur,
            // p_bijstand, laag_woz, adresdichtheid, meeting_place, no_existing_circle
            weights: vec![4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0],
            indicators: Arc::from(Vec::new()),
            thresholds: Thresholds::default(),
            prevalence: Prevalence::default(),
            comparison: ComparisonSet::default(),
        }
    }
}

impl Weights {
    /// Parses and validates the text of a weights file.
    ///
    /// The file has a `[weights]` table with one number per criterion key (see
    /// [`Criterion::key`]) and a `[thresholds]` table with `geschikt` and `kansrijk`. Every key is
    /// required and unknown keys are errors, so a typo never silently falls back to a default.
    ///
    /// # Errors
    /// [`WeightsError`] naming the first offending key and what it should hold.
    pub fn from_toml_str(text: &str) -> Result<Weights, WeightsError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| WeightsError::Toml {
                message: e.to_string().trim_end().to_string(),
            })?;
        Weights::from_table(&table)
    }

    fn from_table(table: &toml::Table) -> Result<Weights, WeightsError> {
        for key in table.keys() {
            if ![
                "weights",
                "thresholds",
                "prevalentie",
                "vergelijking",
                "indicator",
            ]
            .contains(&key.as_str())
            {
                return Err(WeightsError::UnknownKey {
                    what: "key",
                    key: key.clone(),
                    expected: "the tables [weights], [thresholds], [prevalentie], [vergelijking] \
                               and [[indicator]]"
                        .to_string(),
                });
            }
        }
        let weights_table = sub_table(table, "weights", "a table with one weight per criterion")?;
        let thresholds_table =
            sub_table(table, "thresholds", "a table with geschikt and kansrijk")?;

        for key in weights_table.keys() {
            if Criterion::from_key(key).is_none() {
                return Err(WeightsError::UnknownKey {
                    what: "key",
                    key: format!("weights.{key}"),
                    expected: Criterion::ALL.map(Criterion::key).join(", "),
                });
            }
        }
        for key in thresholds_table.keys() {
            if key != "geschikt" && key != "kansrijk" && key != "volledigheid" {
                return Err(WeightsError::UnknownKey {
                    what: "key",
                    key: format!("thresholds.{key}"),
                    expected: "geschikt, kansrijk, volledigheid".to_string(),
                });
            }
        }
        let mut prevalence = Prevalence::default();
        if table.contains_key("prevalentie") {
            let t = sub_table(
                table,
                "prevalentie",
                "a table with one fraction per target group",
            )?;
            for (k, v) in t {
                let key = format!("prevalentie.{k}");
                let Some(slot) = prevalence.slot(k) else {
                    return Err(WeightsError::UnknownKey {
                        what: "key",
                        key,
                        expected: PREVALENCE_KEYS.join(", "),
                    });
                };
                let x = toml_number(&key, v, PREVALENCE_EXPECTED)?;
                if !(x.is_finite() && (0.0..=1.0).contains(&x)) {
                    return Err(WeightsError::BadValue {
                        key,
                        value: x.to_string(),
                        expected: PREVALENCE_EXPECTED,
                    });
                }
                *slot = x;
            }
        }

        let mut weights = vec![0.0; CRITERIA];
        for c in Criterion::ALL {
            let key = format!("weights.{}", c.key());
            let value = weights_table
                .get(c.key())
                .ok_or_else(|| WeightsError::MissingKey {
                    key: key.clone(),
                    expected: WEIGHT_EXPECTED,
                })?;
            weights[c.index()] = check_weight(&key, toml_number(&key, value, WEIGHT_EXPECTED)?)?;
        }
        let threshold = |name: &str| -> Result<f64, WeightsError> {
            let key = format!("thresholds.{name}");
            let value = thresholds_table
                .get(name)
                .ok_or_else(|| WeightsError::MissingKey {
                    key: key.clone(),
                    expected: THRESHOLD_EXPECTED,
                })?;
            check_threshold(&key, toml_number(&key, value, THRESHOLD_EXPECTED)?)
        };
        let mut comparison = ComparisonSet::default();
        if table.contains_key("vergelijking") {
            let t = sub_table(
                table,
                "vergelijking",
                "a table with kring = \"gemeente\", \"regio\" or \"alles\"",
            )?;
            for (k, v) in t {
                if k != "kring" {
                    return Err(WeightsError::UnknownKey {
                        what: "key",
                        key: format!("vergelijking.{k}"),
                        expected: "kring".to_string(),
                    });
                }
                comparison = match v.as_str() {
                    Some("gemeente") => ComparisonSet::Gemeente,
                    Some("alles") => ComparisonSet::Alles,
                    Some("regio") => ComparisonSet::Regio,
                    _ => {
                        return Err(WeightsError::BadValue {
                            key: "vergelijking.kring".into(),
                            value: v.to_string(),
                            expected: "\"gemeente\", \"regio\" or \"alles\"",
                        });
                    }
                };
            }
        }
        let volledigheid = if thresholds_table.contains_key("volledigheid") {
            threshold("volledigheid")?
        } else {
            Thresholds::default().volledigheid
        };
        let thresholds = Thresholds {
            geschikt: threshold("geschikt")?,
            kansrijk: threshold("kansrijk")?,
            volledigheid,
        };
        let indicators = match table.get("indicator") {
            None => Vec::new(),
            Some(v) => parse_indicators(v)?,
        };
        weights.extend(indicators.iter().map(|(_, w)| *w));
        Weights {
            weights,
            indicators: indicators.into_iter().map(|(i, _)| i).collect(),
            thresholds,
            prevalence,
            comparison,
        }
        .validated()
    }

    /// The custom indicators of the weights file, in file order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// The shared list of custom indicators (for [`crate::analysis::score::prepare_model`]).
    pub fn indicators_shared(&self) -> Arc<[Indicator]> {
        Arc::clone(&self.indicators)
    }

    /// The weight of the custom indicator with `key`, if there is one.
    pub fn indicator_weight(&self, key: &str) -> Option<f64> {
        self.indicators
            .iter()
            .position(|i| i.key == key)
            .map(|j| self.weights[CRITERIA + j])
    }

    /// Every query parameter of these weights: the built-in ones, then `w_<key>` per indicator.
    pub fn parameter_names(&self) -> Vec<String> {
        Criterion::ALL
            .into_iter()
            .map(|c| c.parameter().to_string())
            .chain(self.indicators.iter().map(|i| i.parameter.clone()))
            .chain(THRESHOLD_PARAMETERS.map(String::from))
            .collect()
    }

    /// A copy with some values replaced, from request query parameters.
    ///
    /// Names are `w_<criterion key>` for weights (e.g. `w_p_65plus`, see
    /// [`Criterion::parameter`]) and `t_geschikt` / `t_kansrijk` for thresholds. Values are
    /// decimal numbers (`2`, `0.5`). The caller passes only the parameters that are meant for the
    /// model (use [`Weights::is_parameter`] to pick them out of a query string).
    ///
    /// # Errors
    /// An unknown name, a value that is not a number or out of range, a name given twice, all
    /// weights zero, or `t_kansrijk` above `t_geschikt`.
    pub fn with_overrides<N: AsRef<str>, V: AsRef<str>>(
        &self,
        overrides: &[(N, V)],
    ) -> Result<Weights, WeightsError> {
        let mut out = self.clone();
        let mut seen: Vec<&str> = Vec::with_capacity(overrides.len());
        for (name, value) in overrides {
            let (name, value) = (name.as_ref(), value.as_ref());
            if seen.contains(&name) {
                return Err(WeightsError::Duplicate {
                    key: name.to_string(),
                });
            }
            seen.push(name);
            if let Some(c) = Criterion::ALL.into_iter().find(|c| c.parameter() == name) {
                out.weights[c.index()] =
                    check_weight(name, parse_number(name, value, WEIGHT_EXPECTED)?)?;
            } else if let Some(j) = self.indicators.iter().position(|i| i.parameter == name) {
                out.weights[CRITERIA + j] =
                    check_weight(name, parse_number(name, value, WEIGHT_EXPECTED)?)?;
            } else if name == "t_geschikt" {
                out.thresholds.geschikt =
                    check_threshold(name, parse_number(name, value, THRESHOLD_EXPECTED)?)?;
            } else if name == "t_kansrijk" {
                out.thresholds.kansrijk =
                    check_threshold(name, parse_number(name, value, THRESHOLD_EXPECTED)?)?;
            } else if name == "t_volledigheid" {
                out.thresholds.volledigheid =
                    check_threshold(name, parse_number(name, value, THRESHOLD_EXPECTED)?)?;
            } else {
                return Err(WeightsError::UnknownKey {
                    what: "parameter",
                    key: name.to_string(),
                    expected: self.parameter_names().join(", "),
                });
            }
        }
        out.validated()
    }

    /// Every query parameter [`Weights::with_overrides`] accepts, weights first.
    pub fn parameters() -> impl Iterator<Item = &'static str> {
        Criterion::ALL
            .into_iter()
            .map(Criterion::parameter)
            .chain(THRESHOLD_PARAMETERS)
    }

    /// True if `name` is a query parameter of the model (`w_...` or `t_...`), so that the API can
    /// pass exactly those to [`Weights::with_overrides`] and reject unknown `w_`/`t_` names there.
    pub fn is_parameter(name: &str) -> bool {
        name.starts_with("w_") || name.starts_with("t_")
    }

    /// The weight of one criterion.
    pub fn weight(&self, criterion: Criterion) -> f64 {
        self.weights[criterion.index()]
    }

    /// All weights: the built-in ones indexed by [`Criterion::index`], then one per
    /// indicator in [`Weights::indicators`] order.
    pub fn all(&self) -> &[f64] {
        &self.weights
    }

    /// The category thresholds.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// The comparison set of the percentile normalisation.
    pub fn comparison(&self) -> ComparisonSet {
        self.comparison
    }

    /// The target-group prevalences of the participant estimate.
    pub fn prevalence(&self) -> Prevalence {
        self.prevalence
    }

    /// A copy with every weight replaced (used by the stability analysis); the values must
    /// already be valid (finite, `0..=1000`, not all zero) and as many as [`Weights::all`].
    pub fn with_weights(&self, weights: Vec<f64>) -> Weights {
        debug_assert_eq!(weights.len(), self.weights.len());
        Weights {
            weights,
            ..self.clone()
        }
    }

    fn validated(self) -> Result<Weights, WeightsError> {
        if self.weights.iter().all(|&w| w == 0.0) {
            return Err(WeightsError::AllZero);
        }
        let t = self.thresholds;
        if t.kansrijk > t.geschikt {
            return Err(WeightsError::ThresholdOrder {
                geschikt: t.geschikt,
                kansrijk: t.kansrijk,
            });
        }
        Ok(self)
    }
}

/// Parses the `[[indicator]]` array: each entry's key, column, label, direction and weight.
/// Errors name the indicator (`indicator.<key>`, or `indicator[<n>]` before its key is known)
/// and the offending key.
fn parse_indicators(value: &toml::Value) -> Result<Vec<(Indicator, f64)>, WeightsError> {
    let toml::Value::Array(entries) = value else {
        return Err(WeightsError::BadValue {
            key: "indicator".into(),
            value: value.to_string(),
            expected: "an array of tables: one [[indicator]] per custom indicator",
        });
    };
    let mut out: Vec<(Indicator, f64)> = Vec::with_capacity(entries.len());
    for (n, entry) in entries.iter().enumerate() {
        let at = format!("indicator[{}]", n + 1);
        let toml::Value::Table(t) = entry else {
            return Err(WeightsError::BadValue {
                key: at,
                value: entry.to_string(),
                expected: "a table with key, kolom, label, richting and gewicht",
            });
        };
        let text = |name: &str, path: &str| -> Result<Option<String>, WeightsError> {
            match t.get(name) {
                None => Ok(None),
                Some(toml::Value::String(v)) if !v.trim().is_empty() => {
                    Ok(Some(v.trim().to_string()))
                }
                Some(other) => Err(WeightsError::BadValue {
                    key: format!("{path}.{name}"),
                    value: other.to_string(),
                    expected: "a non-empty text",
                }),
            }
        };
        let key = text("key", &at)?.ok_or_else(|| WeightsError::MissingKey {
            key: format!("{at}.key"),
            expected: "a name of lower-case letters, digits and _ (the weight key)",
        })?;
        let path = format!("indicator.{key}");
        if !key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(WeightsError::BadValue {
                key: format!("{path}.key"),
                value: format!("{key:?}"),
                expected: "a name of lower-case letters, digits and _ (the weight key)",
            });
        }
        if Criterion::from_key(&key).is_some() || THRESHOLD_PARAMETERS.contains(&key.as_str()) {
            return Err(WeightsError::Clash {
                indicator: key,
                with: "a built-in criterion or parameter",
            });
        }
        if out.iter().any(|(i, _)| i.key == key) {
            return Err(WeightsError::Clash {
                indicator: key,
                with: "an earlier [[indicator]] with the same key",
            });
        }
        for k in t.keys() {
            if !INDICATOR_KEYS.contains(&k.as_str()) {
                return Err(WeightsError::UnknownKey {
                    what: "key",
                    key: format!("{path}.{k}"),
                    expected: INDICATOR_KEYS.join(", "),
                });
            }
        }
        let kolom = text("kolom", &path)?.ok_or_else(|| WeightsError::MissingKey {
            key: format!("{path}.kolom"),
            expected: "the name of an imported figure column",
        })?;
        let richting = match t.get("richting") {
            Some(toml::Value::String(r)) if r == "hoger" => Direction::Hoger,
            Some(toml::Value::String(r)) if r == "lager" => Direction::Lager,
            None => {
                return Err(WeightsError::MissingKey {
                    key: format!("{path}.richting"),
                    expected: RICHTING_EXPECTED,
                });
            }
            Some(other) => {
                return Err(WeightsError::BadValue {
                    key: format!("{path}.richting"),
                    value: other.to_string(),
                    expected: RICHTING_EXPECTED,
                });
            }
        };
        let gewicht_key = format!("{path}.gewicht");
        let gewicht = match t.get("gewicht") {
            None => {
                return Err(WeightsError::MissingKey {
                    key: gewicht_key,
                    expected: WEIGHT_EXPECTED,
                });
            }
            Some(v) => check_weight(&gewicht_key, toml_number(&gewicht_key, v, WEIGHT_EXPECTED)?)?,
        };
        let label = text("label", &path)?.unwrap_or_else(|| key.clone());
        let label_en = text("label_en", &path)?;
        out.push((
            Indicator {
                parameter: format!("w_{key}"),
                key,
                kolom: kolom.to_lowercase(),
                label,
                label_en,
                richting,
            },
            gewicht,
        ));
    }
    Ok(out)
}

const RICHTING_EXPECTED: &str =
    "\"hoger\" (more need when higher) or \"lager\" (more need when lower)";

fn sub_table<'t>(
    table: &'t toml::Table,
    key: &str,
    expected: &'static str,
) -> Result<&'t toml::Table, WeightsError> {
    match table.get(key) {
        None => Err(WeightsError::MissingKey {
            key: key.to_string(),
            expected,
        }),
        Some(toml::Value::Table(t)) => Ok(t),
        Some(other) => Err(WeightsError::BadValue {
            key: key.to_string(),
            value: other.to_string(),
            expected,
        }),
    }
}

fn toml_number(
    key: &str,
    value: &toml::Value,
    expected: &'static str,
) -> Result<f64, WeightsError> {
    match value {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => Ok(*f),
        other => Err(WeightsError::BadValue {
            key: key.to_string(),
            value: other.to_string(),
            expected,
        }),
    }
}

fn parse_number(key: &str, value: &str, expected: &'static str) -> Result<f64, WeightsError> {
    let bad = || WeightsError::BadValue {
        key: key.to_string(),
        value: value.to_string(),
        expected,
    };
    let trimmed = value.trim();
    // Rust's float parser also accepts "inf" and "NaN"; a URL should carry digits only.
    if trimmed.is_empty()
        || !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return Err(bad());
    }
    trimmed.parse::<f64>().map_err(|_| bad())
}

fn check_weight(key: &str, w: f64) -> Result<f64, WeightsError> {
    if w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w) {
        Ok(w)
    } else {
        Err(WeightsError::BadValue {
            key: key.to_string(),
            value: w.to_string(),
            expected: WEIGHT_EXPECTED,
        })
    }
}

fn check_threshold(key: &str, t: f64) -> Result<f64, WeightsError> {
    if t.is_finite() && (0.0..=100.0).contains(&t) {
        Ok(t)
    } else {
        Err(WeightsError::BadValue {
            key: key.to_string(),
            value: t.to_string(),
            expected: THRESHOLD_EXPECTED,
        })
    }
}

/// The serialised shape: the same two tables as the weights file.
#[derive(Serialize)]
struct WeightsDoc<'a> {
    weights: WeightTable,
    thresholds: Thresholds,
    prevalentie: Prevalence,
    vergelijking: Vergelijking,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    indicator: Vec<IndicatorDoc<'a>>,
}

#[derive(Serialize)]
struct IndicatorDoc<'a> {
    key: &'a str,
    kolom: &'a str,
    label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_en: Option<&'a str>,
    richting: &'static str,
    gewicht: f64,
}

#[derive(Serialize)]
struct Vergelijking {
    kring: &'static str,
}

#[derive(Serialize)]
struct WeightTable {
    participants: f64,
    p_65plus: f64,
    p_eenpersoonshh: f64,
    p_laag_inkomen: f64,
    p_sociale_huur: f64,
    p_bijstand: f64,
    laag_woz: f64,
    adresdichtheid: f64,
    meeting_place: f64,
    no_existing_circle: f64,
}

impl Serialize for Weights {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let w = |c: Criterion| self.weight(c);
        WeightsDoc {
            weights: WeightTable {
                participants: w(Criterion::Participants),
                p_65plus: w(Criterion::P65Plus),
                p_eenpersoonshh: w(Criterion::PEenpersoonsHh),
                p_laag_inkomen: w(Criterion::PLaagInkomen),
                p_sociale_huur: w(Criterion::PSocialeHuur),
                p_bijstand: w(Criterion::PBijstand),
                laag_woz: w(Criterion::LaagWoz),
                adresdichtheid: w(Criterion::Adresdichtheid),
                meeting_place: w(Criterion::MeetingPlace),
                no_existing_circle: w(Criterion::NoExistingCircle),
            },
            thresholds: self.thresholds,
            prevalentie: self.prevalence,
            vergelijking: Vergelijking {
                kring: self.comparison.key(),
            },
            indicator: self
                .indicators
                .iter()
                .zip(&self.weights[CRITERIA..])
                .map(|(i, w)| IndicatorDoc {
                    key: &i.key,
                    kolom: &i.kolom,
                    label: &i.label,
                    label_en: i.label_en.as_deref(),
                    richting: i.richting.key(),
                    gewicht: *w,
                })
                .collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Weights {
    /// Accepts the shape of the weights file in any serde format, with the same validation as
    /// [`Weights::from_toml_str`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(deserializer)?;
        Weights::from_table(&table).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_FILE: &str = include_str!("../../config/weights.toml");

    fn err(text: &str) -> String {
        match Weights::from_toml_str(text) {
            Ok(w) => panic!("expected an error, got {w:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_documented_weights_file_equals_the_built_in_defaults() {
        assert_eq!(Weights::from_toml_str(DEFAULT_FILE), Ok(Weights::default()));
    }

    #[test]
    fn weights_serialise_to_a_file_that_reads_back_the_same() {
        let w = Weights::default()
            .with_overrides(&[("w_adresdichtheid", "0.25"), ("t_geschikt", "70")])
            .unwrap();
        let text = toml::to_string(&w).unwrap();
        assert_eq!(Weights::from_toml_str(&text), Ok(w.clone()));
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<Weights>(&json).unwrap(), w);
    }

    #[test]
    fn a_negative_weight_is_rejected_naming_the_key() {
        let text = DEFAULT_FILE.replace("p_65plus = 1", "p_65plus = -1");
        let msg = err(&text);
        assert!(msg.contains("weights.p_65plus"), "{msg}");
        assert!(msg.contains("from 0 to 1000"), "{msg}");
    }

    #[test]
    fn an_unknown_key_is_rejected_with_the_known_keys() {
        let text = DEFAULT_FILE.replace("p_65plus = 1", "p_65plus = 1\np_75plus = 1");
        let msg = err(&text);
        assert!(msg.contains("weights.p_75plus"), "{msg}");
        assert!(msg.contains("p_eenpersoonshh"), "{msg}");
        let msg = err(&format!("{DEFAULT_FILE}\n[extra]\na = 1\n"));
        assert!(msg.contains("'extra'"), "{msg}");
    }

    #[test]
    fn a_missing_key_is_rejected_naming_it() {
        let text = DEFAULT_FILE.replace("adresdichtheid = 1", "");
        let msg = err(&text);
        assert!(
            msg.contains("missing key 'weights.adresdichtheid'"),
            "{msg}"
        );
    }

    #[test]
    fn all_zero_weights_are_rejected() {
        let mut text = String::from("[weights]\n");
        for c in Criterion::ALL {
            text.push_str(&format!("{} = 0\n", c.key()));
        }
        text.push_str("[thresholds]\ngeschikt = 60\nkansrijk = 40\n");
        assert_eq!(Weights::from_toml_str(&text), Err(WeightsError::AllZero));
    }

    #[test]
    fn a_text_weight_and_broken_toml_are_rejected_with_a_reason() {
        let msg = err(&DEFAULT_FILE.replace("meeting_place = 2", "meeting_place = \"hoog\""));
        assert!(msg.contains("weights.meeting_place"), "{msg}");
        let msg = err("[weights\n");
        assert!(msg.contains("not valid TOML"), "{msg}");
    }

    #[test]
    fn thresholds_out_of_order_or_range_are_rejected() {
        let msg = err(&DEFAULT_FILE.replace("kansrijk = 40", "kansrijk = 70"));
        assert!(
            msg.contains("kansrijk (70) is above threshold geschikt (60)"),
            "{msg}"
        );
        let msg = err(&DEFAULT_FILE.replace("geschikt = 60", "geschikt = 160"));
        assert!(msg.contains("thresholds.geschikt"), "{msg}");
    }

    #[test]
    fn overrides_change_only_the_named_values() {
        let w = Weights::default()
            .with_overrides(&[("w_p_65plus", "2"), ("t_kansrijk", "35.5")])
            .unwrap();
        assert_eq!(w.weight(Criterion::P65Plus), 2.0);
        assert_eq!(w.thresholds().kansrijk, 35.5);
        assert_eq!(w.weight(Criterion::Participants), 4.0);
        assert_eq!(w.thresholds().geschikt, 60.0);
    }

    #[test]
    fn overrides_with_unknown_names_or_bad_values_are_rejected() {
        let d = Weights::default();
        let msg = d
            .with_overrides(&[("w_leeftijd", "2")])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown parameter 'w_leeftijd'"), "{msg}");
        assert!(msg.contains("w_p_65plus"), "{msg}");
        for bad in ["", "twee", "-1", "NaN", "inf", "1e9", "1,5"] {
            let e = d.with_overrides(&[("w_p_65plus", bad)]).unwrap_err();
            assert!(e.to_string().contains("'w_p_65plus'"), "{bad}: {e}");
        }
        assert!(matches!(
            d.with_overrides(&[("w_p_65plus", "1"), ("w_p_65plus", "2")]),
            Err(WeightsError::Duplicate { .. })
        ));
        assert!(matches!(
            d.with_overrides(&[("t_kansrijk", "80")]),
            Err(WeightsError::ThresholdOrder { .. })
        ));
    }

    #[test]
    fn overrides_that_zero_every_weight_are_rejected() {
        let all: Vec<(&str, &str)> = Criterion::ALL
            .iter()
            .map(|c| (c.parameter(), "0"))
            .collect();
        assert_eq!(
            Weights::default().with_overrides(&all),
            Err(WeightsError::AllZero)
        );
    }

    #[test]
    fn prevalences_are_read_and_bad_ones_are_rejected_naming_the_key() {
        let w = Weights::from_toml_str(&DEFAULT_FILE.replace("lvb = 0.008", "lvb = 0.02")).unwrap();
        assert_eq!(w.prevalence().lvb, 0.02);
        let msg = err(&DEFAULT_FILE.replace("lvb = 0.008", "lvb = 1.5"));
        assert!(msg.contains("'prevalentie.lvb'"), "{msg}");
        assert!(msg.contains("fraction from 0 to 1"), "{msg}");
        let msg = err(&DEFAULT_FILE.replace("lvb = 0.008", "lvb = 0.008\nautisme = 0.01"));
        assert!(msg.contains("'prevalentie.autisme'"), "{msg}");
        assert!(msg.contains("ouderen_alleenwonend"), "{msg}");
        let msg = err(&DEFAULT_FILE.replace("volledigheid = 60", "volledigheid = 160"));
        assert!(msg.contains("thresholds.volledigheid"), "{msg}");
        let msg = err(&DEFAULT_FILE.replace("kring = \"gemeente\"", "kring = \"wijk\""));
        assert!(msg.contains("'vergelijking.kring'"), "{msg}");
        let w = Weights::from_toml_str(
            &DEFAULT_FILE.replace("kring = \"gemeente\"", "kring = \"alles\""),
        )
        .unwrap();
        assert_eq!(w.comparison(), ComparisonSet::Alles);
    }

    #[test]
    fn a_file_without_the_optional_tables_gets_the_default_completeness_and_prevalences() {
        let mut text = String::from("[weights]\n");
        for c in Criterion::ALL {
            text.push_str(&format!("{} = 1\n", c.key()));
        }
        text.push_str("[thresholds]\ngeschikt = 60\nkansrijk = 40\n");
        let w = Weights::from_toml_str(&text).unwrap();
        assert_eq!(w.thresholds().volledigheid, 60.0);
        assert_eq!(w.prevalence(), Prevalence::default());
    }

    #[test]
    fn every_parameter_name_is_a_model_parameter() {
        for p in Weights::parameters() {
            assert!(Weights::is_parameter(p), "{p}");
            assert!(
                Weights::default().with_overrides(&[(p, "50")]).is_ok(),
                "{p}"
            );
        }
        assert!(!Weights::is_parameter("walk_m"));
        assert_eq!(Weights::parameters().count(), CRITERIA + 3);
    }
    const INDICATOR: &str = "\n[[indicator]]\nkey = \"eenzaamheid\"\nkolom = \"Eenzaamheid_pct\"\nlabel = \"ernstig eenzaam (RIVM)\"\nrichting = \"hoger\"\ngewicht = 3\n";

    #[test]
    fn a_custom_indicator_adds_a_weight_and_a_w_parameter() {
        let w = Weights::from_toml_str(&format!("{DEFAULT_FILE}{INDICATOR}")).unwrap();
        assert_eq!(w.indicators().len(), 1);
        let i = &w.indicators()[0];
        assert_eq!(
            (i.key.as_str(), i.kolom.as_str()),
            ("eenzaamheid", "eenzaamheid_pct")
        );
        assert_eq!(i.richting, Direction::Hoger);
        assert_eq!(w.all().len(), CRITERIA + 1);
        assert_eq!(w.indicator_weight("eenzaamheid"), Some(3.0));
        assert!(w.parameter_names().contains(&"w_eenzaamheid".to_string()));
        let o = w.with_overrides(&[("w_eenzaamheid", "0.5")]).unwrap();
        assert_eq!(o.indicator_weight("eenzaamheid"), Some(0.5));
        assert_eq!(o.weight(Criterion::P65Plus), 1.0);
        // Without the indicator the parameter is unknown.
        assert!(
            Weights::default()
                .with_overrides(&[("w_eenzaamheid", "1")])
                .is_err()
        );
        // The file round-trips with its indicator.
        let text = toml::to_string(&o).unwrap();
        assert_eq!(Weights::from_toml_str(&text), Ok(o));
    }

    #[test]
    fn criteria_file_errors_name_the_indicator_and_the_key() {
        let with =
            |from: &str, to: &str| err(&format!("{DEFAULT_FILE}{}", INDICATOR.replace(from, to)));
        let msg = with("richting = \"hoger\"", "richting = \"omhoog\"");
        assert!(msg.contains("'indicator.eenzaamheid.richting'"), "{msg}");
        assert!(msg.contains("\"lager\""), "{msg}");
        let msg = with("kolom = \"Eenzaamheid_pct\"\n", "");
        assert!(
            msg.contains("missing key 'indicator.eenzaamheid.kolom'"),
            "{msg}"
        );
        let msg = with("gewicht = 3", "gewicht = \"veel\"");
        assert!(msg.contains("'indicator.eenzaamheid.gewicht'"), "{msg}");
        assert!(msg.contains("from 0 to 1000"), "{msg}");
        let msg = with("key = \"eenzaamheid\"", "key = \"p_65plus\"");
        assert!(msg.contains("indicator 'p_65plus'"), "{msg}");
        assert!(msg.contains("built-in criterion"), "{msg}");
        let msg = err(&format!("{DEFAULT_FILE}{INDICATOR}{INDICATOR}"));
        assert!(msg.contains("indicator 'eenzaamheid'"), "{msg}");
        assert!(msg.contains("same key"), "{msg}");
        let msg = with("key = \"eenzaamheid\"\n", "");
        assert!(msg.contains("missing key 'indicator[1].key'"), "{msg}");
        let msg = with("gewicht = 3", "gewicht = 3\nkleur = 1");
        assert!(msg.contains("'indicator.eenzaamheid.kleur'"), "{msg}");
        let msg = with("key = \"eenzaamheid\"", "key = \"Eenzaam heid\"");
        assert!(msg.contains("'indicator.Eenzaam heid.key'"), "{msg}");
    }
}
