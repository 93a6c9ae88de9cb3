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

/// The note an import report carries when a text file was transcoded.
pub const TRANSCODED_NOTE: &str = "the file was Windows-1252, converted to UTF-8";

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
    open_checked(path, expected, format, None).map(|o| o.dataset)
}

/// An open source, its notes for the import report, and the in-memory copy GDAL reads when
/// the file was transcoded (its bytes are the caller's buffer; unlinked when this drops, after
/// the dataset: field order is drop order).
pub struct Opened<'b> {
    /// The dataset.
    pub dataset: Dataset,
    /// Notes for the import report.
    pub notes: Vec<String>,
    _mem: Option<(std::path::PathBuf, gdal::vsi::MemFileRef<'b>)>,
}

/// [`open_vector`], with the notes for the import report: a CSV file that is not UTF-8 is
/// read as Windows-1252 (what Excel writes on a Dutch Windows PC) and transcoded in memory,
/// and the note says so ([`TRANSCODED_NOTE`]).
pub fn open_vector_noted<'b>(
    path: &Path,
    expected: &'static str,
    formats: &[Format],
    buffer: &'b mut Vec<u8>,
) -> Result<Opened<'b>, IngestError> {
    let format = guard::check(path, formats, &LIMITS)?;
    let mem = match format {
        Format::Csv => transcode_csv(path, buffer)?,
        _ => None,
    };
    open_checked(path, expected, format, mem)
}

/// Opens a file the guard accepted as `format` (from `mem` when it was transcoded).
fn open_checked<'b>(
    path: &Path,
    expected: &'static str,
    format: Format,
    mem: Option<(std::path::PathBuf, gdal::vsi::MemFileRef<'b>)>,
) -> Result<Opened<'b>, IngestError> {
    guard::harden_gdal();
    let drivers = [format.driver()];
    let opts = DatasetOptions {
        open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
        allowed_drivers: Some(&drivers),
        ..Default::default()
    };
    let mut notes = Vec::new();
    let opened = match &mem {
        Some(m) => {
            notes.push(TRANSCODED_NOTE.to_string());
            Dataset::open_ex(&m.0, opts)
        }
        None => Dataset::open_ex(format.gdal_path(path), opts),
    };
    let ds = match opened {
        Ok(ds) => ds,
        Err(e) => {
            return Err(IngestError::CannotOpen {
                path: path.to_path_buf(),
                reason: guard::gdal_failure(path, format, &e.to_string()),
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
        // The guard's scan of a CSV counted its rows already; GDAL would parse the whole
        // file once more to count them (a tenth of a million-row import).
        if format == Format::Csv {
            continue;
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
    Ok(Opened {
        dataset: ds,
        notes,
        _mem: mem,
    })
}

/// A CSV file that is not valid UTF-8, decoded as Windows-1252 into `buffer` and shown to GDAL
/// as an in-memory file (never on disk: it may hold personal data); `None` for UTF-8 (with or
/// without BOM). The guard already checked the size, NUL and control characters.
fn transcode_csv<'b>(
    path: &Path,
    buffer: &'b mut Vec<u8>,
) -> Result<Option<(std::path::PathBuf, gdal::vsi::MemFileRef<'b>)>, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::CannotOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if std::str::from_utf8(&bytes).is_ok() {
        return Ok(None);
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes);
    *buffer = text.into_owned().into_bytes();
    // The same file name in a folder of its own, so the layer keeps the file's name.
    let name = path
        .file_name()
        .map_or_else(|| "upload.csv".into(), |n| n.to_string_lossy().to_string());
    let mem = std::path::PathBuf::from(format!(
        "/vsimem/buurtcirkel-{}-{}/{name}",
        std::process::id(),
        NEXT_MEM.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    // GDAL reads the caller's buffer and never frees it (it was not allocated by GDAL).
    let handle = gdal::vsi::create_mem_file_from_ref(&mem, buffer.as_mut_slice()).map_err(|e| {
        IngestError::CannotOpen {
            path: path.to_path_buf(),
            reason: format!("could not convert it from Windows-1252 to UTF-8 ({e})"),
        }
    })?;
    Ok(Some((mem, handle)))
}

/// A counter for unique in-memory file names.
static NEXT_MEM: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
