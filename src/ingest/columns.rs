//! Column presets: which source column feeds which canonical field, for every CBS schema we
//! know (wijk- en buurtkaart shapefiles with short upper-case names, the GeoPackages with long
//! names, the kerncijfers tables with `gwb_code_10`-style names, and derived files such as
//! tmap's), plus an optional mapping file for anything else. Matching is case-insensitive.
//!
//! The presets are documented in `docs/columns.md`; keep the two in step.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::IngestError;

/// Code columns in order of preference, each with the name column that goes with it. The most
/// specific level comes first: a buurt layer also carries `wijkcode` and `gemeentecode`.
pub const CODE_PRESETS: &[(&str, &[&str])] = &[
    ("buurtcode", &["buurtnaam"]),
    ("bu_code", &["bu_naam"]),
    ("wijkcode", &["wijknaam"]),
    ("wk_code", &["wk_naam"]),
    ("gemeentecode", &["gemeentenaam"]),
    ("gm_code", &["gm_naam"]),
    ("gwb_code_10", &["regio", "naam"]),
    ("statcode", &["statnaam"]),
    ("code", &["name", "naam", "statnaam"]),
    ("gwb_code", &["regio", "naam"]),
];

/// Canonical figure field ← candidate source columns (see [`crate::model::FIGURE_FIELDS`]).
pub const FIGURE_PRESETS: &[(&str, &[&str])] = &[
    (
        "inwoners",
        &[
            "aantal_inwoners",
            "aant_inw",
            "a_inw",
            "population",
            "inwoners",
        ],
    ),
    (
        "huishoudens",
        &["aantal_huishoudens", "aant_hh", "a_hh", "huishoudens"],
    ),
    (
        "p_65plus",
        &[
            "percentage_personen_65_jaar_en_ouder",
            "p_65_eo_jr",
            "p_65_oo",
            "pop_65plus",
        ],
    ),
    (
        "p_eenpersoonshh",
        &["percentage_eenpersoonshuishoudens", "p_eenp_hh", "p_1p_hh"],
    ),
    (
        "p_laag_inkomen",
        &[
            "p_ink_li",
            "percentage_personen_met_laag_inkomen",
            "p_laaginkp",
            "income_low",
        ],
    ),
    (
        "adresdichtheid",
        &["omgevingsadressendichtheid", "oad", "ste_oad"],
    ),
    (
        "bevolkingsdichtheid",
        &[
            "bevolkingsdichtheid_inwoners_per_km2",
            "bev_dichth",
            "bev_dich",
        ],
    ),
    ("oppervlakte_km2", &["area"]),
    (
        "woz_waarde",
        &[
            "gemiddelde_woningwaarde",
            "woz",
            "g_wozbag",
            "dwelling_value",
        ],
    ),
    (
        "p_koopwoningen",
        &["percentage_koopwoningen", "p_koopw", "dwelling_ownership"],
    ),
    (
        "p_corporatiewoningen",
        &[
            "percentage_huurwoningen_in_bezit_woningcorporaties",
            "p_wcorpw",
        ],
    ),
];

/// Counts from which percentages are derived when a table has no percentage column:
/// (derived field, count columns, denominator field).
pub const DERIVED_PRESETS: &[(&str, &[&str], &str)] = &[
    (
        "p_65plus",
        &["a_65_oo", "aantal_inwoners_65_jaar_en_ouder", "aant_65_eo"],
        "inwoners",
    ),
    (
        "p_eenpersoonshh",
        &["a_1p_hh", "aantal_eenpersoonshuishoudens"],
        "huishoudens",
    ),
    ("p_bijstand", &["a_soz_wb"], "inwoners"),
];

/// Columns that flag water-only areas (`JA`/`NEE`).
pub const WATER_PRESETS: &[&str] = &["water", "h2o"];
/// Columns that carry the CBS year (`2021`, or a `jaarstatcode` such as `2021BU02330105`).
pub const YEAR_PRESETS: &[&str] = &["jaar", "jaarstatcode", "jrstatcode"];

/// A user's mapping file (TOML): canonical field = source column, overriding the presets.
///
/// ```toml
/// [columns]
/// code = "CBS_ID"
/// name = "NAAM"
/// inwoners = "TOTAAL_INW"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Canonical field → source column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

/// Every canonical field a mapping file may name.
pub fn canonical_fields() -> Vec<&'static str> {
    let mut v = vec!["code", "name", "water", "year"];
    v.extend(FIGURE_PRESETS.iter().map(|(f, _)| *f));
    v.extend(["a_65_oo", "a_1p_hh", "a_soz_wb"]);
    v
}

impl Mapping {
    /// Reads and checks a mapping file.
    pub fn load(path: &Path) -> Result<Mapping, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::Mapping {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        let m: Mapping = toml::from_str(&text).map_err(|e| IngestError::Mapping {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        let known = canonical_fields();
        if let Some(bad) = m.columns.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(IngestError::Mapping {
                path: path.to_path_buf(),
                problem: format!(
                    "unknown field '{bad}' in [columns]; expected one of {}",
                    known.join(", ")
                ),
            });
        }
        Ok(m)
    }
}

/// Which source column feeds which canonical field in one layer.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The code column.
    pub code: Option<String>,
    /// The name column.
    pub name: Option<String>,
    /// The water flag column.
    pub water: Option<String>,
    /// The year column.
    pub year: Option<String>,
    /// Figure field → column.
    pub figures: BTreeMap<&'static str, String>,
    /// Derived field → (count column, denominator field), used where `figures` lacks the field.
    pub derived: BTreeMap<&'static str, (String, &'static str)>,
}

impl Resolved {
    /// Canonical field → source column, for the report.
    pub fn mapped(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        for (k, v) in [
            ("code", &self.code),
            ("name", &self.name),
            ("water", &self.water),
            ("year", &self.year),
        ] {
            if let Some(v) = v {
                m.insert(k.to_string(), v.clone());
            }
        }
        for (k, v) in &self.figures {
            m.insert((*k).to_string(), v.clone());
        }
        for (k, (count, denom)) in &self.derived {
            m.insert((*k).to_string(), format!("{count} / {denom}"));
        }
        m
    }

    /// Source columns that feed nothing.
    pub fn ignored(&self, columns: &[String]) -> Vec<String> {
        let used: Vec<&String> = [&self.code, &self.name, &self.water, &self.year]
            .into_iter()
            .flatten()
            .chain(self.figures.values())
            .chain(self.derived.values().map(|(c, _)| c))
            .collect();
        columns
            .iter()
            .filter(|c| !used.contains(c))
            .cloned()
            .collect()
    }
}

fn find<'a>(columns: &'a [String], candidates: &[&str]) -> Option<&'a String> {
    candidates
        .iter()
        .find_map(|cand| columns.iter().find(|c| c.eq_ignore_ascii_case(cand)))
}

/// Resolves the columns of one layer against the presets and the mapping.
///
/// A mapping entry naming a column the layer lacks is an error for that layer, so a typo in a
/// mapping file never silently falls back to a preset.
pub fn resolve(columns: &[String], mapping: &Mapping) -> Result<Resolved, String> {
    let mut r = Resolved::default();
    let mapped = |field: &str| -> Result<Option<String>, String> {
        match mapping.columns.get(field) {
            None => Ok(None),
            Some(col) => find(columns, &[col.as_str()])
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "the mapping file names column '{col}' for {field}, but the layer has no such column (it has {})",
                        columns.join(", ")
                    )
                }),
        }
    };
    if let Some(c) = mapped("code")? {
        r.code = Some(c);
    } else if let Some((code, names)) = CODE_PRESETS
        .iter()
        .find_map(|(code, names)| find(columns, &[code]).map(|c| (c.clone(), *names)))
    {
        r.code = Some(code);
        r.name = find(columns, names).cloned();
    }
    if let Some(c) = mapped("name")? {
        r.name = Some(c);
    }
    r.water = mapped("water")?.or_else(|| find(columns, WATER_PRESETS).cloned());
    r.year = mapped("year")?.or_else(|| find(columns, YEAR_PRESETS).cloned());
    for (field, cands) in FIGURE_PRESETS {
        if let Some(c) = mapped(field)?.or_else(|| find(columns, cands).cloned()) {
            r.figures.insert(field, c);
        }
    }
    for (field, counts, denom) in DERIVED_PRESETS {
        if r.figures.contains_key(field) {
            continue;
        }
        let key = if *field == "p_65plus" {
            "a_65_oo"
        } else {
            "a_1p_hh"
        };
        if let Some(c) = mapped(key)?.or_else(|| find(columns, counts).cloned()) {
            r.derived.insert(field, (c, denom));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn old_shapefile_names_map_case_insensitively() {
        let c = cols(&[
            "BU_CODE",
            "BU_NAAM",
            "WK_CODE",
            "GM_CODE",
            "AANT_INW",
            "P_65_EO_JR",
            "P_EENP_HH",
            "OAD",
            "X",
        ]);
        let r = resolve(&c, &Mapping::default()).unwrap();
        assert_eq!(r.code.as_deref(), Some("BU_CODE"));
        assert_eq!(r.name.as_deref(), Some("BU_NAAM"));
        assert_eq!(r.figures["p_65plus"], "P_65_EO_JR");
        assert_eq!(r.figures["adresdichtheid"], "OAD");
        assert!(r.ignored(&c).contains(&"X".to_string()));
        assert!(r.ignored(&c).contains(&"WK_CODE".to_string()));
    }

    #[test]
    fn a_buurt_layer_uses_its_own_code_not_its_parents() {
        let c = cols(&["gemeentecode", "wijkcode", "buurtcode", "buurtnaam"]);
        let r = resolve(&c, &Mapping::default()).unwrap();
        assert_eq!(r.code.as_deref(), Some("buurtcode"));
    }

    #[test]
    fn kwb_counts_are_used_when_percentages_are_absent() {
        let c = cols(&[
            "gwb_code_10",
            "regio",
            "a_inw",
            "a_65_oo",
            "a_hh",
            "a_1p_hh",
        ]);
        let r = resolve(&c, &Mapping::default()).unwrap();
        assert_eq!(r.derived["p_65plus"], ("a_65_oo".to_string(), "inwoners"));
        assert_eq!(r.derived["p_eenpersoonshh"].0, "a_1p_hh");
    }

    #[test]
    fn a_mapping_to_a_missing_column_is_an_error() {
        let mut m = Mapping::default();
        m.columns.insert("code".into(), "ID".into());
        let err = resolve(&cols(&["code"]), &m).unwrap_err();
        assert!(err.contains("'ID'"), "{err}");
    }
}
