//! Why a write did not reach the disk, in words: a full disk, a read-only folder or a denied
//! permission is told as such ("the disk holding data is full"), whether the operating system
//! said it (`ENOSPC`, `EROFS`, `EACCES`), SQLite (`database or disk is full`, `attempt to write
//! a readonly database`) or GDAL (a bare `OGRErr` code whose cause GDAL only reported through
//! its error handler).
//!
//! GDAL reports the cause of a failure through `CPLError`, not in the return code the `gdal`
//! crate turns into an error (`OGR method 'OGR_L_CreateFeature' returned error: '6'`). The one
//! process-wide handler ([`install_gdal_handler`]) keeps the last failure message of each
//! thread, so the writer can name the cause ([`gdal_reason`]) and notice failures GDAL
//! returns no code for at all (closing a dataset under GDAL < 3.7: [`close_checked`]).
//!
//! Inputs: I/O errors, GDAL errors and messages; outputs: [`Cause`]. Depends on nothing of ours.

use std::cell::RefCell;
use std::io::ErrorKind;
use std::sync::Once;

use gdal::errors::{CplErrType, GdalError};

/// A storage failure a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No space left on the disk (or the quota is used up).
    Full,
    /// The file system or the file is read-only.
    ReadOnly,
    /// The operating system refused access.
    Denied,
}

/// The cause an I/O error names, if it is one of [`Cause`].
pub fn io_cause(e: &std::io::Error) -> Option<Cause> {
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Some(Cause::Full),
        ErrorKind::ReadOnlyFilesystem => Some(Cause::ReadOnly),
        ErrorKind::PermissionDenied => Some(Cause::Denied),
        _ => match e.raw_os_error() {
            // ENOSPC, EDQUOT, EROFS, EACCES, EPERM (Linux numbers).
            Some(28 | 122) => Some(Cause::Full),
            Some(30) => Some(Cause::ReadOnly),
            Some(13 | 1) => Some(Cause::Denied),
            // An error wrapped by a library (tempfile, a lock) keeps the cause inside.
            _ => e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<std::io::Error>())
                .and_then(io_cause)
                .or_else(|| e.get_ref().and_then(|inner| text_cause(&inner.to_string()))),
        },
    }
}

/// The cause a GDAL, SQLite or OS message names, if it is one of [`Cause`].
pub fn text_cause(msg: &str) -> Option<Cause> {
    let m = msg.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if any(&[
        "no space left",
        "disk is full",
        "disk full",
        "sqlite_full",
        "quota exceeded",
        "os error 28",
    ]) {
        Some(Cause::Full)
    } else if any(&[
        "read-only file system",
        "readonly",
        "read-only",
        "sqlite_readonly",
        "os error 30",
    ]) {
        Some(Cause::ReadOnly)
    } else if any(&[
        "permission denied",
        "sqlite_perm",
        "access denied",
        "os error 13",
    ]) {
        Some(Cause::Denied)
    } else {
        None
    }
}

thread_local! {
    /// The last failure GDAL reported on this thread since [`reset`], as
    /// `(error number, message)`.
    static LAST_FAILURE: RefCell<Option<(i32, String)>> = const { RefCell::new(None) };
}

/// GDAL's `CPLE_FileIO`: a read or write of a file failed.
const CPLE_FILE_IO: i32 = 3;

/// Installs the process-wide GDAL error handler (once; later calls do nothing): every message
/// goes to the debug log (our own errors name the file and the feature), and the last failure
/// of each thread is kept for [`gdal_reason`] and [`close_checked`].
pub fn install_gdal_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        gdal::config::set_error_handler(|class, code, msg| {
            tracing::debug!(?class, code, msg, "gdal");
            if matches!(class, CplErrType::Failure | CplErrType::Fatal) {
                LAST_FAILURE.with(|l| *l.borrow_mut() = Some((code, msg.to_string())));
            }
        });
    });
}

/// Forgets this thread's last GDAL failure (before an operation whose failures count).
pub fn reset() {
    install_gdal_handler();
    LAST_FAILURE.with(|l| *l.borrow_mut() = None);
}

/// This thread's last GDAL failure since [`reset`], taken.
fn take_failure() -> Option<(i32, String)> {
    LAST_FAILURE.with(|l| l.borrow_mut().take())
}

/// The words for a GDAL error: GDAL's own message of the failure (what SQLite or the file
/// system said) when it reported one, else the error itself. A bare `CPLE_FileIO` without a
/// message says so.
pub fn gdal_reason(e: &GdalError) -> String {
    let own = match e {
        GdalError::CplError { msg, .. } | GdalError::NullPointer { msg, .. } if !msg.is_empty() => {
            Some(msg.clone())
        }
        _ => None,
    };
    match (own, take_failure()) {
        (Some(msg), _) => msg,
        (None, Some((_, msg))) if !msg.trim().is_empty() => msg,
        (None, Some((CPLE_FILE_IO, _))) => format!("a file read or write failed ({e})"),
        (None, _) => e.to_string(),
    }
}

/// Closes `ds` and reports a failure GDAL raised while flushing it: under GDAL < 3.7 closing
/// returns nothing, and a GeoPackage that could not be written out would pass unnoticed.
///
/// # Errors
/// GDAL's message of the failure.
pub fn close_checked(ds: gdal::Dataset) -> Result<(), String> {
    // Failures before the close were handled (or knowingly ignored) by the caller.
    reset();
    ds.close().map_err(|e| gdal_reason(&e))?;
    match take_failure() {
        Some((_, msg)) if !msg.trim().is_empty() => Err(msg),
        Some((code, _)) => Err(format!("GDAL reported failure {code} while closing")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_become_causes() {
        for (raw, cause) in [
            (28, Cause::Full),
            (30, Cause::ReadOnly),
            (13, Cause::Denied),
        ] {
            assert_eq!(
                io_cause(&std::io::Error::from_raw_os_error(raw)),
                Some(cause),
                "{raw}"
            );
        }
        assert_eq!(
            io_cause(&std::io::Error::from(ErrorKind::StorageFull)),
            Some(Cause::Full)
        );
        assert_eq!(
            io_cause(&std::io::Error::other(std::io::Error::from_raw_os_error(
                28
            ))),
            Some(Cause::Full),
            "a wrapped ENOSPC"
        );
        assert_eq!(
            io_cause(&std::io::Error::from_raw_os_error(2)),
            None,
            "not found is none of them"
        );
    }

    #[test]
    fn sqlite_and_gdal_messages_become_causes() {
        for (msg, cause) in [
            (
                "sqlite3_exec(COMMIT) failed: database or disk is full",
                Cause::Full,
            ),
            ("Write error: No space left on device", Cause::Full),
            ("attempt to write a readonly database", Cause::ReadOnly),
            ("Read-only file system", Cause::ReadOnly),
            ("open(x) failed: Permission denied", Cause::Denied),
        ] {
            assert_eq!(text_cause(msg), Some(cause), "{msg}");
        }
        assert_eq!(text_cause("UNIQUE constraint failed: t.id"), None);
    }

    #[test]
    fn a_bare_ogr_code_takes_the_message_gdal_reported() {
        reset();
        // A real GDAL failure on this thread: creating a GeoPackage in a folder that is not
        // there (GDAL reports why through CPLError only).
        let created = gdal::DriverManager::get_driver_by_name("GPKG")
            .and_then(|d| d.create_vector_only("/nonexistent/buurtcirkel-fault-test.gpkg"));
        assert!(created.is_err(), "no such folder");
        let bare = GdalError::OgrError {
            err: 6,
            method_name: "OGR_L_CreateFeature",
        };
        let reason = gdal_reason(&bare);
        assert!(
            reason.contains("buurtcirkel-fault-test.gpkg"),
            "the reported message, not the code: {reason}"
        );
        // Taken: the next bare code has no message left to borrow.
        assert!(gdal_reason(&bare).contains("returned error"));
    }
}
