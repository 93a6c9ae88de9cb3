//! Ingest: reads foreign files through GDAL, validates them, reprojects them to RD New with PROJ
//! and says what it did in a report.
//!
//! Inputs: any GDAL vector source (GeoPackage, shapefile, GeoJSON, CSV, XLSX, ...).
//! Outputs: `model` values in RD New (EPSG:28992) metres plus an [`ImportReport`].
//! Depends on `model` and `crs`; never on `store`, `analysis` or `publish`. Nothing here writes.

pub mod areas;
pub mod clients;
pub mod columns;
pub mod figures;
pub mod grid;
pub mod guard;
pub mod points;
mod source;
pub mod streets;
pub mod value;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use source::open_vector;

/// Why an import failed. Every variant names the file and, where it applies, the layer,
/// feature and column, and says what was expected.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The path does not exist.
    #[error("{path}: file not found")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file is outside the input allow-list or its limits; nothing of it was read by GDAL.
    #[error("{path}: refused: {reason}")]
    Refused {
        /// The path given.
        path: PathBuf,
        /// Which rule or limit, and what was expected.
        reason: String,
    },
    /// GDAL cannot open the file as vector data.
    #[error(
        "{path}: GDAL cannot read this file as vector data ({reason}); expected a GeoPackage, shapefile, GeoJSON, CSV, XLSX or another OGR vector format"
    )]
    CannotOpen {
        /// The path given.
        path: PathBuf,
        /// GDAL's message.
        reason: String,
    },
    /// The file is a raster.
    #[error("{path}: this is a raster ({driver}), not vector data; expected {expected}")]
    Raster {
        /// The path given.
        path: PathBuf,
        /// The GDAL raster driver that recognised it.
        driver: String,
        /// What the import expected.
        expected: &'static str,
    },
    /// No layer holds CBS area codes.
    #[error(
        "{path}: no layer with CBS area codes (GM/WK/BU); looked at {looked_at}. Expected a column such as buurtcode, wijkcode, gemeentecode, BU_CODE, WK_CODE, GM_CODE, code or gwb_code_10, or name it in a mapping file"
    )]
    NoAreaLayer {
        /// The path given.
        path: PathBuf,
        /// What each layer looked like.
        looked_at: String,
    },
    /// A value in the code column is not a CBS area code.
    #[error(
        "{path}, layer {layer}, feature {feature}: column {column} holds {value:?}, which is not a CBS area code; expected GM + 4 digits, WK + 6 digits or BU + 8 digits"
    )]
    BadCode {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// Feature id or row number.
        feature: String,
        /// Column name.
        column: String,
        /// The offending value.
        value: String,
    },
    /// The same code occurs twice.
    #[error(
        "{path}, layer {layer}: area code {code} occurs twice (features {first} and {second}); expected each code once"
    )]
    DuplicateCode {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// The duplicated code.
        code: String,
        /// First feature.
        first: String,
        /// Second feature.
        second: String,
    },
    /// A geometry is missing, empty, of the wrong type or invalid beyond safe repair.
    #[error("{path}, layer {layer}, feature {feature} ({code}): {problem}")]
    BadGeometry {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// Feature id.
        feature: String,
        /// Area code of the feature.
        code: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// The layer has no CRS and none was given.
    #[error(
        "{path}, layer {layer}: the layer has no coordinate reference system; expected one in the file or given with the import (for example EPSG:28992 for RD New or EPSG:4326 for longitude/latitude)"
    )]
    MissingCrs {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
    },
    /// The CRS cannot be transformed to RD New, or the data does not lie in the Netherlands.
    #[error("{path}, layer {layer}: {problem}")]
    Crs {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// What went wrong.
        problem: String,
    },
    /// A feature lies outside the Netherlands in the CRS the layer has (declared or given).
    #[error("{path}, layer {layer}: {problem}; is the layer's CRS right?")]
    OutsideNetherlands {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// Which feature, and where it landed.
        problem: String,
    },
    /// Rows without a valid location, and bad rows were not to be skipped.
    #[error("{path}: {bad} of {total} rows are invalid, so nothing was imported:\n  {list}")]
    InvalidRows {
        /// The path given.
        path: PathBuf,
        /// Invalid rows.
        bad: usize,
        /// All rows.
        total: usize,
        /// The first few, one a line, with their line numbers.
        list: String,
    },
    /// The named target-group column does not exist.
    #[error("{path}: no column '{column}' for the target group")]
    NoGroupColumn {
        /// The path given.
        path: PathBuf,
        /// The column named.
        column: String,
    },
    /// Only one of the two coordinate columns was named.
    #[error(
        "{path}: only one coordinate column was named; expected both the x and the y column, or neither"
    )]
    HalfCoordinateColumns {
        /// The path given.
        path: PathBuf,
    },
    /// The first line of a CSV file holds values, not column names (a headerless file). The
    /// message names the line and column only, never the value: it can be a client's name,
    /// birth date or address.
    #[error(
        "{path}: line 1 is not a header row: column {column} holds a value (a number or date), not a column name; add a first line that names the columns (x and y, or lon and lat, and doelgroep)"
    )]
    HeaderIsData {
        /// The path given.
        path: PathBuf,
        /// The 1-based column that holds a value.
        column: usize,
    },
    /// A point layer without coordinate columns or point geometry.
    #[error(
        "{path}: layer {layer} has no coordinates: expected columns x and y (RD New), lon and lat (WGS84), a point geometry, or named coordinate columns; its columns are {columns}"
    )]
    NoCoordinates {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// Its columns, comma-separated.
        columns: String,
    },
    /// A column mapping file is unreadable or wrong.
    #[error("mapping file {path}: {problem}")]
    Mapping {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The file holds nothing to import.
    #[error("{path}: {problem}")]
    Empty {
        /// The path given.
        path: PathBuf,
        /// What was expected.
        problem: String,
    },
    /// GDAL failed while reading.
    #[error("{path}, layer {layer}: GDAL failed while reading: {reason}")]
    Read {
        /// The path given.
        path: PathBuf,
        /// Layer name.
        layer: String,
        /// GDAL's message.
        reason: String,
    },
}

/// What the caller's interface calls the import options an [`IngestError`] can point to: CLI
/// flags or HTTP query parameters. The library words its errors in terms of the input; the
/// edge adds a hint with these names ([`IngestError::with_hint`]).
#[derive(Debug, Clone, Copy)]
pub struct OptionNames {
    /// Giving the CRS, up to the value: `--crs ` or `crs=`.
    pub crs: &'static str,
    /// The x column option.
    pub x_column: &'static str,
    /// The y column option.
    pub y_column: &'static str,
    /// The target-group column option.
    pub group_column: &'static str,
    /// Asking to skip bad rows, whole: `--skip-invalid` or `skip_invalid=true`.
    pub skip_invalid: &'static str,
    /// The column-mapping option, where the interface has one.
    pub mapping: Option<&'static str>,
}

impl IngestError {
    /// What to set to get past this error, in the caller's words; `None` when no option helps.
    pub fn hint(&self, n: &OptionNames) -> Option<String> {
        let crs = n.crs.trim_end_matches([' ', '=']);
        Some(match self {
            IngestError::MissingCrs { .. } => format!(
                "give it with {crs} (for example {c}EPSG:28992 for RD New or {c}EPSG:4326 for longitude/latitude)",
                c = n.crs
            ),
            IngestError::OutsideNetherlands { .. } => format!("give the right one with {crs}"),
            IngestError::NoAreaLayer { .. } => format!("name the mapping file with {}", n.mapping?),
            IngestError::InvalidRows { .. } => {
                format!("use {} to import the good rows", n.skip_invalid)
            }
            IngestError::NoGroupColumn { .. } => {
                format!("the column was named with {}", n.group_column)
            }
            IngestError::HalfCoordinateColumns { .. } => {
                format!("give both {} and {}, or neither", n.x_column, n.y_column)
            }
            IngestError::NoCoordinates { .. } => {
                format!("name the columns with {} and {}", n.x_column, n.y_column)
            }
            _ => return None,
        })
    }

    /// The message with the [`hint`](IngestError::hint) in brackets at the end of its first
    /// line (before the colon that introduces a list of rows, if any).
    pub fn with_hint(&self, names: &OptionNames) -> String {
        let message = self.to_string();
        let Some(hint) = self.hint(names) else {
            return message;
        };
        match message.split_once('\n') {
            None => format!("{message} ({hint})"),
            Some((first, rest)) => match first.strip_suffix(':') {
                Some(first) => format!("{first} ({hint}):\n{rest}"),
                None => format!("{first} ({hint})\n{rest}"),
            },
        }
    }
}

/// What one layer of a source held and what the import did with it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerReport {
    /// Layer name.
    pub name: String,
    /// Features read.
    pub features: usize,
    /// Why the layer was skipped, if it was.
    pub skipped: Option<String>,
    /// Features per level (`gemeente`, `wijk`, `buurt`).
    pub levels: BTreeMap<String, usize>,
    /// Canonical field ← source column.
    pub columns_mapped: BTreeMap<String, String>,
    /// Source columns not used.
    pub columns_ignored: Vec<String>,
    /// Missing values per canonical field (CBS sentinels, empty, NULL).
    pub missing: BTreeMap<String, usize>,
    /// The layer's CRS and whether it was reprojected to RD New.
    pub crs: Option<String>,
    /// True when geometries were reprojected to RD New.
    pub reprojected: bool,
    /// Features whose geometry was repaired, by code.
    pub repaired: Vec<String>,
    /// Water-only areas flagged.
    pub water: usize,
}

/// The report an import prints and the HTTP upload returns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// What was imported: `areas`, `figures`, `clients`, ...
    pub kind: String,
    /// The source file.
    pub source: String,
    /// The CBS year of the data, when known (from a year column or the file name).
    pub year: Option<i32>,
    /// One entry per layer looked at.
    pub layers: Vec<LayerReport>,
    /// Things the user should know that did not stop the import.
    pub warnings: Vec<String>,
    /// Short lines summarising the outcome (matched, unmatched, replaced levels, ...).
    pub notes: Vec<String>,
}

impl ImportReport {
    /// Total features imported over all layers that were not skipped.
    pub fn features(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| l.skipped.is_none())
            .map(|l| l.features)
            .sum()
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "import {}: {}", self.kind, self.source)?;
        if let Some(y) = self.year {
            writeln!(f, "  year: {y}")?;
        }
        for l in &self.layers {
            if let Some(why) = &l.skipped {
                writeln!(f, "  layer {}: skipped ({why})", l.name)?;
                continue;
            }
            let levels: Vec<String> = l.levels.iter().map(|(k, v)| format!("{v} {k}")).collect();
            writeln!(
                f,
                "  layer {}: {} features{}",
                l.name,
                l.features,
                if levels.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", levels.join(", "))
                }
            )?;
            if let Some(crs) = &l.crs {
                let how = if l.reprojected {
                    "reprojected to EPSG:28992"
                } else {
                    "kept"
                };
                writeln!(f, "    crs: {crs}, {how}")?;
            }
            if !l.columns_mapped.is_empty() {
                let m: Vec<String> = l
                    .columns_mapped
                    .iter()
                    .map(|(k, v)| format!("{k} <- {v}"))
                    .collect();
                writeln!(f, "    columns mapped: {}", m.join(", "))?;
            }
            if !l.columns_ignored.is_empty() {
                writeln!(
                    f,
                    "    columns ignored ({}): {}",
                    l.columns_ignored.len(),
                    l.columns_ignored.join(", ")
                )?;
            }
            let missing: Vec<String> = l
                .missing
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if !missing.is_empty() {
                writeln!(f, "    missing values: {}", missing.join(", "))?;
            }
            if l.water > 0 {
                writeln!(f, "    water-only areas flagged: {}", l.water)?;
            }
            if !l.repaired.is_empty() {
                writeln!(
                    f,
                    "    geometries repaired ({}): {}",
                    l.repaired.len(),
                    abbreviate(&l.repaired, 10)
                )?;
            }
        }
        for n in &self.notes {
            writeln!(f, "  {n}")?;
        }
        for w in &self.warnings {
            writeln!(f, "  WARNING: {w}")?;
        }
        Ok(())
    }
}

/// Joins at most `max` items and says how many more there are.
pub fn abbreviate(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} and {} more", items[..max].join(", "), items.len() - max)
    }
}

/// Receives progress while a long import runs. The CLI draws a bar; tests and the server ignore it.
pub trait Progress {
    /// A layer with `total` features starts.
    fn start(&self, _layer: &str, _total: u64) {}
    /// `n` more features were read.
    fn advance(&self, _n: u64) {}
    /// The layer is done.
    fn finish(&self) {}
    /// The import waits for something (another writer's lock); `what` says for what.
    fn waiting(&self, _what: &str) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}
