//! CBS square statistics (vierkantstatistieken, 100 m or 500 m cells): the inhabitants per
//! cell, for the participant estimate.
//!
//! Input: a GDAL vector source with one polygon (or point) per cell and an inhabitants column
//! (`aantal_inwoners`, `inwoners` or `INWONER`), in RD New as CBS publishes it. Output: one
//! [`GridCell`] per feature (its centre in RD New metres), with the CBS sentinels (`-99997`
//! "geheim", `-99995`, any negative number) turned into `None`, plus an [`ImportReport`].
//! Depends on `model` and GDAL; never on `store`, `analysis` or `publish`. Nothing here writes.

use std::collections::BTreeMap;
use std::path::Path;

use gdal::vector::{FieldValue, LayerAccess};
use geo::Centroid;
use geo_types::Geometry;

use super::{ImportReport, IngestError, LayerReport, open_vector};
use crate::model::GridCell;

/// Inhabitant columns, in order of preference.
pub const INHABITANT_COLUMNS: [&str; 3] = ["aantal_inwoners", "inwoners", "inwoner"];

/// What [`read_grid`] returns.
#[derive(Debug, Clone)]
pub struct GridImport {
    /// The cells, in file order.
    pub cells: Vec<GridCell>,
    /// What was read.
    pub report: ImportReport,
}

/// Reads the first layer of `path` that has an inhabitants column.
///
/// # Errors
/// The file cannot be opened, no layer has an inhabitants column, the layer is not in RD New
/// (EPSG:28992), or GDAL fails while reading.
pub fn read_grid(path: &Path) -> Result<GridImport, IngestError> {
    let ds = open_vector(
        path,
        "a CBS vierkantstatistieken layer with aantal_inwoners",
        super::guard::GRID_FORMATS,
    )?;
    let mut looked_at = Vec::new();
    for mut layer in ds.layers() {
        let name = layer.name();
        let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let Some(col) = INHABITANT_COLUMNS
            .iter()
            .find_map(|c| columns.iter().position(|name| name.eq_ignore_ascii_case(c)))
        else {
            looked_at.push(format!("{name} ({})", columns.join(", ")));
            continue;
        };
        let epsg = layer
            .spatial_ref()
            .and_then(|s| s.auth_code().ok())
            .unwrap_or(0);
        if epsg != 28992 {
            return Err(IngestError::Crs {
                path: path.to_path_buf(),
                layer: name,
                problem: format!(
                    "the grid is in EPSG:{epsg}; expected RD New (EPSG:28992), as CBS publishes its squares"
                ),
            });
        }
        let mut cells = Vec::new();
        let mut suppressed = 0usize;
        for f in layer.features() {
            let Some(centre) = f
                .geometry()
                .and_then(|g| g.to_geo().ok())
                .and_then(|g: Geometry<f64>| g.centroid())
            else {
                continue;
            };
            let v = match f.field(col) {
                Ok(Some(FieldValue::IntegerValue(i))) => Some(f64::from(i)),
                Ok(Some(FieldValue::Integer64Value(i))) => Some(i as f64),
                Ok(Some(FieldValue::RealValue(r))) => Some(r),
                _ => None,
            };
            let inwoners = v.filter(|x| x.is_finite() && *x >= 0.0);
            suppressed += usize::from(inwoners.is_none());
            cells.push(GridCell {
                centre_rd: centre,
                inwoners,
            });
        }
        let total: f64 = cells.iter().filter_map(|c| c.inwoners).sum();
        let report = ImportReport {
            kind: "grid".into(),
            source: path.display().to_string(),
            year: None,
            layers: vec![LayerReport {
                name: name.clone(),
                features: cells.len(),
                skipped: None,
                levels: BTreeMap::new(),
                columns_mapped: BTreeMap::from([("inwoners".to_string(), columns[col].clone())]),
                columns_ignored: columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != col)
                    .map(|(_, c)| c.clone())
                    .collect(),
                missing: BTreeMap::from([("inwoners".to_string(), suppressed)]),
                crs: Some("EPSG:28992".into()),
                reprojected: false,
                repaired: Vec::new(),
                water: 0,
            }],
            warnings: Vec::new(),
            notes: vec![format!(
                "{} cells, {} inhabitants; {} cells suppressed by CBS (fewer than 5, counted as empty)",
                cells.len(),
                total.round(),
                suppressed
            )],
        };
        return Ok(GridImport { cells, report });
    }
    Err(IngestError::Empty {
        path: path.to_path_buf(),
        problem: format!(
            "no layer with an inhabitants column ({}); looked at {}",
            INHABITANT_COLUMNS.join(", "),
            looked_at.join("; ")
        ),
    })
}
