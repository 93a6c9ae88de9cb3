//! `import figures`: the CBS key-figure table ("Kerncijfers wijken en buurten", CSV or XLSX)
//! joined to areas on their code.
//!
//! Inputs: a table with a code column (`gwb_code_10`, ...) and CBS short names (`a_inw`,
//! `a_65_oo`, `a_1p_hh`, `a_hh`, `bev_dich`, `p_ink_li`, `ste_oad`, ...), read through GDAL.
//! Outputs: figures per code (only the fields the table has) and a report. Percentages are
//! derived where the table has only counts (65+ = `a_65_oo / a_inw`). Every other column
//! whose non-empty cells are all numbers is kept as an *extra* figure under its lower-case name
//! (an organisation's own indicator, e.g. an RIVM estimate joined on the area code), with CBS
//! sentinels and `.` as missing, so a criteria file can name it without code.

use std::collections::BTreeMap;
use std::path::Path;

use gdal::vector::LayerAccess;

use super::columns::{Mapping, resolve};
use super::value::{Cell, from_field, text_of};
use super::{ImportReport, IngestError, LayerReport, Progress};
use crate::model::{Area, AreaCode, FIGURE_FIELDS, Level};

/// Figures for one code: only the fields the table provides (`None` inside = missing there).
pub type FigureRow = BTreeMap<&'static str, Option<f64>>;

/// The result of reading a key-figure table.
#[derive(Debug, Clone)]
pub struct FigureImport {
    /// Figures per area code.
    pub rows: BTreeMap<AreaCode, FigureRow>,
    /// Extra numeric columns per area code, by lower-case column name (`None` = missing).
    pub extra: BTreeMap<AreaCode, BTreeMap<String, Option<f64>>>,
    /// What was read.
    pub report: ImportReport,
}

/// Key figures joined to stored areas: the levels they touch and every area of those levels
/// (with the new figures), ready to replace those levels in the store.
#[derive(Debug)]
pub struct FigureJoin {
    /// Levels that received figures, sorted.
    pub levels: Vec<Level>,
    /// All areas of those levels.
    pub areas: Vec<Area>,
    /// The import report, with the join's note and the unmatched codes as a warning.
    pub report: ImportReport,
}

/// No code of the table matches a stored area.
#[derive(Debug)]
pub struct NothingMatched {
    /// Codes in the table.
    pub codes: usize,
    /// A few of them, for the message.
    pub examples: String,
}

impl FigureImport {
    /// Joins the figures to `areas` on their code (the CLI and the upload endpoint both store
    /// the result). Codes that match no area are listed in the report; a table of which no code
    /// matches is refused.
    ///
    /// # Errors
    /// [`NothingMatched`] when no code matches, so nothing is stored.
    pub fn join(self, mut areas: Vec<Area>) -> Result<FigureJoin, NothingMatched> {
        let mut report = self.report;
        let mut matched = 0usize;
        let mut levels: Vec<Level> = Vec::new();
        let mut unmatched = Vec::new();
        for (code, row) in &self.rows {
            match areas.iter_mut().find(|a| &a.code == code) {
                Some(area) => {
                    for (field, v) in row {
                        if let Some(slot) = area.figures.field_mut(field) {
                            *slot = *v;
                        }
                    }
                    if let Some(extra) = self.extra.get(code) {
                        for (column, v) in extra {
                            area.figures.extra.insert(column.clone(), *v);
                        }
                    }
                    matched += 1;
                    if !levels.contains(&code.level()) {
                        levels.push(code.level());
                    }
                }
                None => unmatched.push(code.to_string()),
            }
        }
        if matched == 0 {
            return Err(NothingMatched {
                codes: self.rows.len(),
                examples: super::abbreviate(&unmatched, 3),
            });
        }
        report.notes.push(format!(
            "joined {matched} of {} codes to stored areas",
            self.rows.len()
        ));
        if !unmatched.is_empty() {
            report.warnings.push(format!(
                "{} codes match no stored area: {}",
                unmatched.len(),
                super::abbreviate(&unmatched, 20)
            ));
        }
        levels.sort();
        areas.retain(|a| levels.contains(&a.level()));
        Ok(FigureJoin {
            levels,
            areas,
            report,
        })
    }
}

/// Reads the first layer of `path` that has an area-code column.
pub fn read_figures(
    path: &Path,
    mapping: &Mapping,
    progress: &dyn Progress,
) -> Result<FigureImport, IngestError> {
    let mut buffer = Vec::new();
    let opened = super::source::open_vector_noted(
        path,
        "a CBS key-figure table (CSV or XLSX)",
        super::guard::FIGURE_FORMATS,
        &mut buffer,
    )?;
    let (ds, notes) = (&opened.dataset, opened.notes.clone());
    let mut report = ImportReport {
        kind: "figures".into(),
        source: path.display().to_string(),
        year: super::areas::year_from_name(path),
        notes,
        ..Default::default()
    };
    let mut looked_at = Vec::new();
    for mut layer in ds.layers() {
        let name = layer.name();
        let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let resolved = resolve(&columns, mapping).map_err(|problem| IngestError::Mapping {
            path: path.to_path_buf(),
            problem: format!("layer {name}: {problem}"),
        })?;
        let Some(code_col) = resolved.code.clone() else {
            looked_at.push(format!("layer {name} (no area-code column)"));
            continue;
        };
        // Candidates for extra figures: every column the mapping does not use. Which of them
        // are numeric is known only after reading (text columns such as names drop out).
        let candidates: Vec<(usize, String)> = resolved
            .ignored(&columns)
            .into_iter()
            .filter_map(|c| {
                let i = columns.iter().position(|x| *x == c)?;
                let key = c.to_lowercase();
                // Other code columns (`gwb_code_8`, `gm_code`) hold digits but are no figures.
                (!crate::model::FIGURE_FIELDS.contains(&key.as_str()) && !key.contains("code"))
                    .then_some((i, key))
            })
            .collect();
        if resolved.figures.is_empty() && resolved.derived.is_empty() && candidates.is_empty() {
            looked_at.push(format!(
                "layer {name} (a code column {code_col} but no key-figure column)"
            ));
            continue;
        }
        // Per candidate: (numbers seen, a text cell seen).
        let mut candidate_kind = vec![(0usize, false); candidates.len()];
        let mut extra: BTreeMap<AreaCode, BTreeMap<String, Option<f64>>> = BTreeMap::new();
        let idx = |c: &str| columns.iter().position(|x| x == c);
        let code_idx = idx(&code_col);
        let mut lr = LayerReport {
            name: name.clone(),
            columns_mapped: resolved.mapped(),
            columns_ignored: resolved.ignored(&columns),
            ..Default::default()
        };
        for f in resolved.figures.keys().chain(resolved.derived.keys()) {
            lr.missing.insert((*f).to_string(), 0);
        }
        let mut rows = BTreeMap::new();
        let mut other_codes = Vec::new();
        progress.start(&name, layer.feature_count());
        for (row_no, feature) in layer.features().enumerate() {
            progress.advance(1);
            // Row 1 is the header line of a CSV; data starts at line 2.
            let line = row_no + 2;
            let text = code_idx
                .and_then(|i| feature.field(i).ok().flatten())
                .and_then(|v| text_of(Some(v)))
                .unwrap_or_default();
            let Ok(code) = AreaCode::parse(&text) else {
                // The tables also hold a row for the whole country (NL00) and notes.
                other_codes.push(if text.is_empty() {
                    format!("line {line} (empty)")
                } else {
                    text
                });
                continue;
            };
            let mut row = FigureRow::new();
            let mut cell = |col: &str, field: &'static str, lr: &mut LayerReport| match from_field(
                idx(col).and_then(|i| feature.field(i).ok().flatten()),
            ) {
                Cell::Number(n) => Some(n),
                Cell::Missing => {
                    *lr.missing.entry(field.to_string()).or_default() += 1;
                    None
                }
                Cell::NotANumber(t) => {
                    *lr.missing.entry(field.to_string()).or_default() += 1;
                    report.warnings.push(format!(
                            "line {line} ({code}): {col} value {t:?} is not a number; treated as missing"
                        ));
                    None
                }
            };
            for (field, col) in &resolved.figures {
                let v = cell(col, field, &mut lr);
                row.insert(*field, v);
            }
            for (field, (col, denom)) in &resolved.derived {
                let count = cell(col, field, &mut lr);
                let d = row.get(denom).copied().flatten();
                let v = match (count, d) {
                    (Some(c), Some(d)) if d > 0.0 => Some((1000.0 * c / d).round() / 10.0),
                    (Some(_), _) => {
                        *lr.missing.entry((*field).to_string()).or_default() += 1;
                        None
                    }
                    _ => None,
                };
                row.insert(*field, v);
            }
            let mut extra_row = BTreeMap::new();
            for ((i, key), kind) in candidates.iter().zip(candidate_kind.iter_mut()) {
                let v = match from_field(feature.field(*i).ok().flatten()) {
                    Cell::Number(n) => {
                        kind.0 += 1;
                        Some(n)
                    }
                    Cell::Missing => None,
                    Cell::NotANumber(_) => {
                        kind.1 = true;
                        None
                    }
                };
                extra_row.insert(key.clone(), v);
            }
            if !extra_row.is_empty() {
                extra.insert(code.clone(), extra_row);
            }
            *lr.levels.entry(code.level().to_string()).or_default() += 1;
            lr.features += 1;
            if rows.insert(code.clone(), row).is_some() {
                return Err(IngestError::DuplicateCode {
                    path: path.to_path_buf(),
                    layer: name,
                    code: code.to_string(),
                    first: "an earlier row".into(),
                    second: format!("line {line}"),
                });
            }
        }
        progress.finish();
        if rows.is_empty() {
            return Err(IngestError::Empty {
                path: path.to_path_buf(),
                problem: format!(
                    "layer {name}: column {code_col} holds no GM/WK/BU area code ({}); expected rows for gemeenten, wijken or buurten",
                    if other_codes.is_empty() {
                        "no rows".to_string()
                    } else {
                        format!("only {}", super::abbreviate(&other_codes, 5))
                    }
                ),
            });
        }
        if !other_codes.is_empty() {
            report.notes.push(format!(
                "{} rows without a GM/WK/BU code skipped: {}",
                other_codes.len(),
                super::abbreviate(&other_codes, 5)
            ));
        }
        // A column that is empty in every row (an early-release table, where CBS fills in
        // `.` until the figures are final) says nothing: keep what the store has.
        let fields: std::collections::BTreeSet<&'static str> =
            rows.values().flat_map(|r| r.keys().copied()).collect();
        for field in fields {
            if rows
                .values()
                .all(|r| r.get(field).is_none_or(Option::is_none))
            {
                for r in rows.values_mut() {
                    r.remove(field);
                }
                report.notes.push(format!(
                    "{field}: no values in this table (CBS '.' everywhere); stored values kept"
                ));
            }
        }
        // Extra figures: columns with at least one number and no text. Columns that are
        // empty everywhere or hold text (names, notes) are dropped.
        let kept: Vec<&str> = candidates
            .iter()
            .zip(&candidate_kind)
            .filter(|(_, (numbers, text))| *numbers > 0 && !*text)
            .map(|((_, key), _)| key.as_str())
            .collect();
        for row in extra.values_mut() {
            row.retain(|k, _| kept.contains(&k.as_str()));
        }
        extra.retain(|_, row| !row.is_empty());
        if !kept.is_empty() {
            report.notes.push(format!(
                "kept {} extra numeric column{} as extra figures (for [[indicator]] in a criteria file): {}",
                kept.len(),
                if kept.len() == 1 { "" } else { "s" },
                super::abbreviate(&kept.iter().map(|k| (*k).to_string()).collect::<Vec<_>>(), 10)
            ));
        }
        report.layers.push(lr);
        if report.warnings.len() > 20 {
            let more = report.warnings.len() - 20;
            report.warnings.truncate(20);
            report
                .warnings
                .push(format!("... and {more} more like these"));
        }
        debug_assert!(
            rows.values()
                .all(|r| r.keys().all(|k| FIGURE_FIELDS.contains(k)))
        );
        return Ok(FigureImport {
            rows,
            extra,
            report,
        });
    }
    Err(IngestError::NoAreaLayer {
        path: path.to_path_buf(),
        looked_at: if looked_at.is_empty() {
            "no layers".into()
        } else {
            looked_at.join("; ")
        },
    })
}
