//! Opening a GDAL vector source with errors that say what the file was and what was expected.
//!
//! Every open goes through the allow-list of [`super::guard`] first: the file must be one of
//! the formats the import accepts, within the limits, and GDAL may use only that format's
//! driver (never VRT or another driver that reads other files or URLs).

use std::path::Path;

use gdal::vector::LayerAccess;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use super::IngestError;
use super::guard::{self, Format, LIMITS};

/// Opens `path` read-only as vector data, if it is one of the `formats`.
///
/// A missing file, a file outside the allow-list or its limits and a file GDAL cannot read
/// each give their own error.
pub fn open_vector(
    path: &Path,
    expected: &'static str,
    formats: &[Format],
) -> Result<Dataset, IngestError> {
    let format = guard::check(path, formats, &LIMITS)?;
    guard::harden_gdal();
    let drivers = [format.driver()];
    let opts = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        allowed_drivers: Some(&drivers),
        ..Default::default()
    };
    let ds = match Dataset::open_ex(format.gdal_path(path), opts) {
        Ok(ds) => ds,
        Err(e) => {
            return Err(IngestError::CannotOpen {
                path: path.to_path_buf(),
                reason: format!("not a readable {} file: {e}", format.name()),
            });
        }
    };
    if ds.layer_count() == 0 {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            problem: format!(
                "the {} file has no layers; expected {expected}",
                format.name()
            ),
        });
    }
    for layer in ds.layers() {
        let columns = layer.defn().fields().count() as u64;
        if columns > LIMITS.columns {
            return Err(IngestError::Refused {
                path: path.to_path_buf(),
                reason: format!(
                    "layer {} has {columns} columns, more than the limit of {}",
                    layer.name(),
                    LIMITS.columns
                ),
            });
        }
        let rows = layer.feature_count();
        if rows > LIMITS.rows {
            return Err(IngestError::Refused {
                path: path.to_path_buf(),
                reason: format!(
                    "layer {} has {rows} rows, more than the limit of {}",
                    layer.name(),
                    LIMITS.rows
                ),
            });
        }
    }
    Ok(ds)
}
