//! Opening a GDAL vector source with errors that say what the file was and what was expected.

use std::path::Path;

use gdal::{Dataset, DatasetOptions, GdalOpenFlags};

use super::IngestError;

/// Opens `path` read-only as vector data.
///
/// A missing file, a file GDAL cannot read and a raster each give their own error.
pub fn open_vector(path: &Path, expected: &'static str) -> Result<Dataset, IngestError> {
    // A `PG:` or other connection string has no file; only check plain paths.
    let is_file_like = !path.to_string_lossy().contains(':');
    if is_file_like && !path.exists() {
        return Err(IngestError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let opts = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        ..Default::default()
    };
    match Dataset::open_ex(path, opts) {
        Ok(ds) if ds.layer_count() > 0 => Ok(ds),
        Ok(ds) => {
            let driver = ds.driver().short_name();
            Err(IngestError::Empty {
                path: path.to_path_buf(),
                problem: format!("the {driver} source has no layers; expected {expected}"),
            })
        }
        Err(e) => {
            let raster = DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
                ..Default::default()
            };
            if let Ok(ds) = Dataset::open_ex(path, raster) {
                return Err(IngestError::Raster {
                    path: path.to_path_buf(),
                    driver: ds.driver().short_name(),
                    expected,
                });
            }
            Err(IngestError::CannotOpen {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })
        }
    }
}
