//! Point tables: rows with a location, from a CSV (comma or semicolon, with or without BOM,
//! decimal comma or point), a GeoJSON or any GDAL point layer.
//!
//! Coordinates come from the layer's geometry, or from columns: `x`/`y` in RD New, or
//! `lon`/`lat` (`lng`, `longitude`, `latitude`) in WGS84, or named columns in a CRS given in
//! [`CoordOptions::crs`]. Outputs RD New points per row, or a per-row problem with its line number. Error
//! messages never repeat a coordinate value: client locations do not belong in logs.

use std::path::Path;

use gdal::vector::LayerAccess;
use geo_types::{Geometry, Point};

use super::IngestError;
use super::source::open_vector_noted;
use super::value::{Cell, from_field, text_of};
use crate::crs::{RD_NEW, Transformer, WGS84, in_rd_bounds};

/// How to find coordinates; all optional.
#[derive(Debug, Clone, Default)]
pub struct CoordOptions {
    /// Column with the easting / longitude.
    pub x_column: Option<String>,
    /// Column with the northing / latitude.
    pub y_column: Option<String>,
    /// CRS of the coordinate columns, or of a geometry layer that has none.
    pub crs: Option<String>,
}

/// One row of a point table.
#[derive(Debug, Clone)]
pub struct PointRow {
    /// Line number in a CSV (header = line 1), else the feature id.
    pub line: u64,
    /// The location in RD New, or what is wrong with it.
    pub position: Result<Point<f64>, String>,
    /// The geometry in RD New when the row has a non-point geometry (circles may be areas).
    pub geometry: Option<Geometry<f64>>,
    /// Every attribute as text (`None` for NULL/empty), in column order.
    pub attributes: Vec<Option<String>>,
}

/// A point table read into memory.
#[derive(Debug, Clone)]
pub struct PointTable {
    /// Layer name.
    pub layer: String,
    /// Attribute column names.
    pub columns: Vec<String>,
    /// Where the coordinates came from, for the report.
    pub coordinates_from: String,
    /// Columns that held the coordinates (not attributes to keep or drop).
    pub coordinate_columns: Vec<String>,
    /// The rows.
    pub rows: Vec<PointRow>,
    /// Notes for the import report (the file was transcoded to UTF-8, ...).
    pub notes: Vec<String>,
}

impl PointTable {
    /// The index of a column, case-insensitively, among `candidates` in order.
    pub fn find(&self, candidates: &[&str]) -> Option<usize> {
        find_column(&self.columns, candidates)
    }
}

/// Whether column `column` is the one named `name`: case and surrounding spaces do not count.
pub fn same_column(column: &str, name: &str) -> bool {
    column.trim().eq_ignore_ascii_case(name)
}

/// The index of the first of `candidates` (in their order) among `columns` ([`same_column`]).
fn find_column(columns: &[String], candidates: &[&str]) -> Option<usize> {
    candidates
        .iter()
        .find_map(|c| columns.iter().position(|col| same_column(col, c)))
}

/// How a message names column `idx` (0-based): by its name when that looks like a column name
/// (a letter, then letters, digits, `_`, `-` or `.`, at most 40 characters), else by position
/// ("column 3"). A first line that is really a client's record then never reaches a message.
pub fn column_label(idx: usize, name: &str) -> String {
    let name = name.trim();
    let mut chars = name.chars();
    let looks_like_name = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && name.len() <= 40;
    if looks_like_name {
        name.to_string()
    } else {
        format!("column {}", idx + 1)
    }
}

/// The columns as a message lists them (see [`column_label`]).
pub fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| column_label(i, c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first (1-based) column whose name is a value: a number (decimal point or comma), or
/// holds a date or a run of four digits. A CSV whose first line is a record has such a column
/// wherever it holds coordinates, a birth date or a house number with a postcode.
fn value_in_header(columns: &[String]) -> Option<usize> {
    columns
        .iter()
        .position(|c| {
            let c = c.trim();
            let mut run = 0usize;
            let mut longest = 0usize;
            for ch in c.chars() {
                run = if ch.is_ascii_digit() { run + 1 } else { 0 };
                longest = longest.max(run);
            }
            c.replace(',', ".").parse::<f64>().is_ok() || longest >= 4
        })
        .map(|i| i + 1)
}

const X_RD: &[&str] = &["x", "x_rd", "rd_x", "xcoord", "x_coord", "xrd"];
const Y_RD: &[&str] = &["y", "y_rd", "rd_y", "ycoord", "y_coord", "yrd"];
const LON: &[&str] = &["lon", "lng", "long", "longitude", "lengtegraad"];
const LAT: &[&str] = &["lat", "latitude", "breedtegraad"];

/// Reads the first layer of `path` as a point table, with every attribute.
pub fn read_points(
    path: &Path,
    opts: &CoordOptions,
    expected: &'static str,
) -> Result<PointTable, IngestError> {
    read_points_keeping(path, opts, expected, &|_| true)
}

/// [`read_points`] reading only the attributes whose column name `keep` accepts; the others
/// are `None` in every row (a client file's names and remarks are never even copied into
/// memory, and a million rows read in half the time).
pub fn read_points_keeping(
    path: &Path,
    opts: &CoordOptions,
    expected: &'static str,
    keep: &dyn Fn(&str) -> bool,
) -> Result<PointTable, IngestError> {
    let mut buffer = Vec::new();
    let opened = open_vector_noted(path, expected, super::guard::POINT_FORMATS, &mut buffer)?;
    let (ds, notes) = (&opened.dataset, opened.notes.clone());
    let is_csv = ds.driver().short_name() == "CSV";
    let mut layer = ds.layer(0).map_err(|e| IngestError::Read {
        path: path.to_path_buf(),
        layer: "0".into(),
        reason: e.to_string(),
    })?;
    let name = layer.name();
    let columns: Vec<String> = layer
        .defn()
        .fields()
        .map(|f| f.name().trim_start_matches('\u{feff}').to_string())
        .collect();
    if is_csv && let Some(column) = value_in_header(&columns) {
        return Err(IngestError::HeaderIsData {
            path: path.to_path_buf(),
            column,
        });
    }
    let find = |cands: &[&str]| find_column(&columns, cands);
    let by_name = |n: &Option<String>| -> Result<Option<usize>, IngestError> {
        match n {
            None => Ok(None),
            Some(n) => find(&[n.as_str()])
                .map(Some)
                .ok_or_else(|| IngestError::Empty {
                    path: path.to_path_buf(),
                    problem: format!(
                        "layer {name} has no column '{n}'; its columns are {}",
                        column_list(&columns)
                    ),
                }),
        }
    };
    let has_geometry = layer.defn().geom_fields().count() > 0 && !is_csv;

    // Decide where coordinates come from: named columns, then x/y, then lon/lat, then geometry.
    let (x_idx, y_idx, crs, from) = match (by_name(&opts.x_column)?, by_name(&opts.y_column)?) {
        (Some(x), Some(y)) => (
            Some(x),
            Some(y),
            opts.crs.clone().unwrap_or_else(|| RD_NEW.into()),
            "the named columns",
        ),
        (Some(_), None) | (None, Some(_)) => {
            return Err(IngestError::HalfCoordinateColumns {
                path: path.to_path_buf(),
            });
        }
        (None, None) => match (find(X_RD), find(Y_RD), find(LON), find(LAT)) {
            (Some(x), Some(y), _, _) => (
                Some(x),
                Some(y),
                opts.crs.clone().unwrap_or_else(|| RD_NEW.into()),
                "x/y columns",
            ),
            (_, _, Some(x), Some(y)) => (
                Some(x),
                Some(y),
                opts.crs.clone().unwrap_or_else(|| WGS84.into()),
                "lon/lat columns",
            ),
            _ if has_geometry => {
                let srs = layer
                    .spatial_ref()
                    .filter(|s| !super::areas::is_undefined(s));
                let crs = match (srs, &opts.crs) {
                    (_, Some(c)) => c.clone(),
                    (Some(s), None) => super::areas::crs_definition(&s),
                    (None, None) => {
                        return Err(IngestError::MissingCrs {
                            path: path.to_path_buf(),
                            layer: name,
                        });
                    }
                };
                (None, None, crs, "the layer geometry")
            }
            _ => {
                return Err(IngestError::NoCoordinates {
                    path: path.to_path_buf(),
                    layer: name,
                    columns: column_list(&columns),
                });
            }
        },
    };
    let transformer = if crs == RD_NEW {
        None
    } else {
        Some(
            Transformer::new(&crs, RD_NEW).map_err(|e| IngestError::Crs {
                path: path.to_path_buf(),
                layer: name.clone(),
                problem: format!("{e}; expected a CRS PROJ can transform to RD New"),
            })?,
        )
    };
    let to_rd = |x: f64, y: f64| -> Result<Point<f64>, String> {
        let (x, y) = match &transformer {
            None => (x, y),
            Some(t) => t
                .point(x, y)
                .map_err(|_| "cannot be transformed to RD New".to_string())?,
        };
        if in_rd_bounds(geo_types::Coord { x, y }) {
            Ok(Point::new(x, y))
        } else {
            Err("lies outside the Netherlands (outside the RD New validity area)".into())
        }
    };

    let kept: Vec<bool> = columns.iter().map(|c| keep(c)).collect();
    let mut rows = Vec::new();
    for (i, f) in layer.features().enumerate() {
        // GDAL numbers CSV rows from 1 for the first data line; the header is line 1.
        let line = if is_csv {
            i as u64 + 2
        } else {
            f.fid().unwrap_or(i as u64)
        };
        let attributes: Vec<Option<String>> = kept
            .iter()
            .enumerate()
            .map(|(c, &k)| {
                if k {
                    text_of(f.field(c).ok().flatten())
                } else {
                    None
                }
            })
            .collect();
        let mut geometry = None;
        let position = match (x_idx, y_idx) {
            (Some(xi), Some(yi)) => {
                let num = |idx: usize, what: &str| match from_field(f.field(idx).ok().flatten()) {
                    Cell::Number(v) => Ok(v),
                    Cell::Missing => Err(format!(
                        "{what} (column {}, {}) is missing",
                        idx + 1,
                        column_label(idx, &columns[idx])
                    )),
                    Cell::NotANumber(_) => Err(format!(
                        "{what} (column {}, {}) is not a number",
                        idx + 1,
                        column_label(idx, &columns[idx])
                    )),
                };
                num(xi, "x")
                    .and_then(|x| num(yi, "y").map(|y| (x, y)))
                    .and_then(|(x, y)| to_rd(x, y))
            }
            _ => match f
                .geometry()
                .filter(|g| g.geometry_type() != gdal::vector::OGRwkbGeometryType::wkbUnknown)
                .map(|g| g.to_geo())
            {
                None => Err("has no geometry".into()),
                Some(Err(_)) => Err("has a geometry that cannot be read".into()),
                Some(Ok(Geometry::Point(p))) => to_rd(p.x(), p.y()),
                Some(Ok(g)) => {
                    let g = match &transformer {
                        None => Ok(g),
                        Some(t) => t
                            .geometry(&g)
                            .map_err(|_| "cannot be transformed to RD New".to_string()),
                    };
                    match g {
                        Ok(g) => {
                            use geo::Centroid;
                            let c = g.centroid();
                            geometry = Some(g);
                            c.ok_or_else(|| "has an empty geometry".to_string()).and_then(|c| {
                                if in_rd_bounds(c.0) {
                                    Ok(c)
                                } else {
                                    Err("lies outside the Netherlands (outside the RD New validity area)".into())
                                }
                            })
                        }
                        Err(e) => Err(e),
                    }
                }
            },
        };
        rows.push(PointRow {
            line,
            position,
            geometry,
            attributes,
        });
    }
    let coordinate_columns = [x_idx, y_idx]
        .into_iter()
        .flatten()
        .map(|i| columns[i].clone())
        .collect();
    Ok(PointTable {
        layer: name,
        columns,
        coordinates_from: format!("{from} ({crs})"),
        coordinate_columns,
        rows,
        notes,
    })
}
