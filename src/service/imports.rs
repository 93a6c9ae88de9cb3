//! The import use-cases, one method of [`Importer`] per kind of file: read it with `ingest`,
//! add the store change and import-log entry, apply both at once, return the report.
//!
//! Inputs: a file path and its options; outputs: the [`ImportReport`] (RD New inside, counts
//! and notes for the administrator). A failed import leaves the store as it was.

use std::path::{Path, PathBuf};

use crate::analysis::network::{FAR_FROM_STREET_M, StreetNetwork};
use crate::ingest::areas::{AreaOptions, read_areas};
use crate::ingest::clients::{ClientOptions, read_circles, read_clients, read_places};
use crate::ingest::columns::Mapping;
use crate::ingest::figures::read_figures;
use crate::ingest::points::CoordOptions;
use crate::ingest::{ImportReport, IngestError, Progress};
use crate::model::Level;
use crate::store::{Change, ImportLog, LOCK_WAIT, Store, StoreError, WriteLock};

/// Name prefix of the work-folder entries that hold one raw upload each.
pub const UPLOAD_DIR_PREFIX: &str = "upload-";

/// A fresh private folder for one raw upload, inside the store's work folder beside it
/// ([`Store::work_entry`]: mode 0700 from creation, removed with everything in it when the
/// returned guard is dropped, so on every exit path of the request: success, refusal, error,
/// panic). A server that was killed mid-upload leaves it behind; the next command that opens
/// the store sweeps it ([`Store::sweep`], docs/privacy.md, "Raw uploads").
///
/// # Errors
/// The folder cannot be created (the store's folder is read-only or full).
pub fn upload_dir(store: &Store) -> std::io::Result<crate::store::work::WorkEntry> {
    store.work_entry(UPLOAD_DIR_PREFIX)
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is unreadable or its content is wrong: the message is for whoever gave it.
    /// (Boxed: the error travels far and the reports it competes with are small.)
    #[error(transparent)]
    Ingest(Box<IngestError>),
    /// A key-figure table whose area codes match none of the stored areas.
    #[error(
        "{file}: none of its {codes} area codes matches an area in the store{store} (e.g. {examples}); import the areas first; the store is unchanged"
    )]
    NoMatchingAreas {
        /// The table.
        file: PathBuf,
        /// ` PATH` of the store where the caller may see it, else empty.
        store: String,
        /// Codes in the table.
        codes: usize,
        /// A few of them.
        examples: String,
    },
    /// The store could not be read or written: not the file's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<IngestError> for ImportError {
    fn from(e: IngestError) -> ImportError {
        ImportError::Ingest(Box::new(e))
    }
}

impl ImportError {
    /// True when the input (file or options) is at fault, false for a store failure.
    pub fn is_input(&self) -> bool {
        !matches!(self, ImportError::Store(_))
    }
}

/// Where imports go and how they report.
pub struct Importer<'a> {
    /// The store to change.
    pub store: &'a Store,
    /// Told about each layer read (a progress bar, or nothing).
    pub progress: &'a dyn Progress,
    /// Name the store's path in reports and messages (the administrator's own terminal: yes;
    /// an upload over HTTP: no, the server's paths are not the uploader's business).
    pub name_store: bool,
}

impl Importer<'_> {
    /// `store PATH: ` before a note about the store, or nothing.
    fn store_prefix(&self) -> String {
        if self.name_store {
            format!("store {}: ", self.store.path().display())
        } else {
            String::new()
        }
    }

    /// Takes the store's write lock for one whole import (read, join, write), telling the
    /// progress when another writer holds it.
    fn lock(&self) -> Result<WriteLock, StoreError> {
        self.store.lock(LOCK_WAIT, &|| {
            self.progress.waiting(&format!(
                "waiting for another import or analyse of this store to finish (at most {} s)...",
                LOCK_WAIT.as_secs()
            ));
        })
    }

    /// Applies `change` with the log entry of `report`.
    fn apply(
        &self,
        lock: &WriteLock,
        mut change: Change,
        report: &ImportReport,
    ) -> Result<(), StoreError> {
        change.log.push(log_entry(report));
        self.store.apply_locked(lock, &change)
    }

    /// CBS gemeenten, wijken and/or buurten: each level in the file replaces that level in the
    /// store, the others stay.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn areas(
        &self,
        path: &Path,
        mapping: Mapping,
        crs: Option<String>,
    ) -> Result<ImportReport, ImportError> {
        let opts = AreaOptions {
            mapping,
            assume_crs: crs,
        };
        let import = read_areas(path, &opts, self.progress)?;
        let lock = self.lock()?;
        let mut levels: Vec<Level> = import.areas.iter().map(|a| a.level()).collect();
        levels.sort();
        levels.dedup();
        let mut report = import.report;
        let kept: Vec<&str> = Level::ALL
            .iter()
            .filter(|l| !levels.contains(l))
            .map(|l| l.collection())
            .collect();
        report.notes.push(format!(
            "{}replaced {}{}",
            self.store_prefix(),
            levels
                .iter()
                .map(|l| l.collection())
                .collect::<Vec<_>>()
                .join(", "),
            if kept.is_empty() {
                String::new()
            } else {
                format!("; kept {}", kept.join(", "))
            }
        ));
        let change = Change {
            areas: Some((levels, import.areas)),
            ..Default::default()
        };
        self.apply(&lock, change, &report)?;
        Ok(report)
    }

    /// A CBS key-figure table, joined to the stored areas on the area code.
    ///
    /// # Errors
    /// The file's problem, no code matching a stored area, or the store's problem.
    pub fn figures(&self, path: &Path, mapping: &Mapping) -> Result<ImportReport, ImportError> {
        let import = read_figures(path, mapping, self.progress)?;
        let lock = self.lock()?;
        let data = self.store.load()?;
        let joined = import
            .join(data.areas)
            .map_err(|e| ImportError::NoMatchingAreas {
                file: path.to_path_buf(),
                store: if self.name_store {
                    format!(" {}", self.store.path().display())
                } else {
                    String::new()
                },
                codes: e.codes,
                examples: e.examples,
            })?;
        let change = Change {
            areas: Some((joined.levels, joined.areas)),
            ..Default::default()
        };
        self.apply(&lock, change, &joined.report)?;
        Ok(joined.report)
    }

    /// Anonymised client locations; replaces the previous client set.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn clients(&self, path: &Path, opts: &ClientOptions) -> Result<ImportReport, ImportError> {
        let import = read_clients(path, opts)?;
        let lock = self.lock()?;
        let change = Change {
            clients: Some(import.clients),
            ..Default::default()
        };
        self.apply(&lock, change, &import.report)?;
        Ok(import.report)
    }

    /// CBS square statistics (vierkantstatistieken, 100 m or 500 m) for the estimate of
    /// participants within walking distance; replaces the previous grid.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn grid(&self, path: &Path) -> Result<ImportReport, ImportError> {
        let import = crate::ingest::grid::read_grid(path)?;
        let lock = self.lock()?;
        let change = Change {
            grid: Some(import.cells),
            ..Default::default()
        };
        self.apply(&lock, change, &import.report)?;
        Ok(import.report)
    }

    /// Meeting places; replaces the previous set.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn places(
        &self,
        path: &Path,
        coords: &CoordOptions,
        skip_invalid: bool,
    ) -> Result<ImportReport, ImportError> {
        let (places, report) = read_places(path, coords, skip_invalid)?;
        let lock = self.lock()?;
        let change = Change {
            places: Some(places),
            ..Default::default()
        };
        self.apply(&lock, change, &report)?;
        Ok(report)
    }

    /// Existing circles; replaces the previous set.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn circles(
        &self,
        path: &Path,
        coords: &CoordOptions,
        skip_invalid: bool,
    ) -> Result<ImportReport, ImportError> {
        let (circles, report) = read_circles(path, coords, skip_invalid)?;
        let lock = self.lock()?;
        let change = Change {
            circles: Some(circles),
            ..Default::default()
        };
        self.apply(&lock, change, &report)?;
        Ok(report)
    }

    /// An OpenStreetMap extract as the walking network: reports the graph and how many stored
    /// clients lie far from any street, then replaces the stored network.
    ///
    /// # Errors
    /// The file's problem, or the store's.
    pub fn streets(&self, path: &Path) -> Result<ImportReport, ImportError> {
        let t = std::time::Instant::now();
        let import = crate::ingest::streets::read_streets(path)?;
        let net = StreetNetwork::from_lines(import.lines_rd.iter().cloned());
        let mut report = import.report;
        report.notes.push(format!(
            "graph: {} nodes, {} edges, {:.1} km of street, {} connected components",
            net.node_count(),
            net.edge_count(),
            net.total_length_m() / 1_000.0,
            net.component_count()
        ));
        let lock = self.lock()?;
        let clients: Vec<geo_types::Point<f64>> = if self.store.exists() {
            let data = self.store.load()?;
            data.clients.iter().map(|c| c.position_rd).collect()
        } else {
            Vec::new()
        };
        if clients.is_empty() {
            report
                .notes
                .push("no clients stored yet: street coverage of clients not checked".into());
        } else {
            let far = net.count_far_from_street(&clients, FAR_FROM_STREET_M);
            let line = format!(
                "{far} of {} stored clients ({:.1}%) are more than {FAR_FROM_STREET_M} m from any street",
                clients.len(),
                100.0 * far as f64 / clients.len() as f64
            );
            if far * 10 > clients.len() {
                report
                    .warnings
                    .push(format!("{line}: does the extract cover the clients' area?"));
            } else {
                report.notes.push(line);
            }
        }
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        report.notes.push(format!(
            "read {:.1} MB in {:.2} s",
            size as f64 / 1e6,
            t.elapsed().as_secs_f64()
        ));
        report
            .notes
            .push(format!("{}replaced streets", self.store_prefix()));
        let mut log = log_entry(&report);
        log.rows = i64::try_from(net.edge_count()).unwrap_or(i64::MAX);
        self.store.apply_locked(
            &lock,
            &Change {
                streets: Some(import.lines_rd),
                log: vec![log],
                ..Default::default()
            },
        )?;
        Ok(report)
    }
}

fn log_entry(report: &ImportReport) -> ImportLog {
    ImportLog::of_file(&report.kind, &report.source, report.year, report.features())
}

/// Why the demo data set was not written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The target exists and may not be replaced.
    #[error("{path} exists already")]
    Exists {
        /// The target.
        path: PathBuf,
    },
    /// The old file could not be removed.
    #[error("removing {path}: {error}")]
    Remove {
        /// The target.
        path: PathBuf,
        /// The file system's answer.
        error: std::io::Error,
    },
    /// Writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes the built-in demo data set (a fictional gemeente) as the store's content; with
/// `replace`, an existing file there is removed first, else it is an error.
///
/// # Errors
/// The file exists (without `replace`), or the store cannot be written.
pub fn write_demo(store: &Store, replace: bool) -> Result<(), DemoError> {
    let path = store.path();
    if path.exists() {
        if !replace {
            return Err(DemoError::Exists {
                path: path.to_path_buf(),
            });
        }
        std::fs::remove_file(path).map_err(|error| DemoError::Remove {
            path: path.to_path_buf(),
            error,
        })?;
    }
    let demo = crate::demo::generate();
    store.apply(&Change {
        log: vec![ImportLog::new(
            "demo",
            "built-in demo data set (fictional gemeente Lindenhoeve)".into(),
            None,
            demo.areas.len() + demo.clients.len(),
        )],
        results: None,
        streets: None,
        grid: None,
        areas: Some((Level::ALL.to_vec(), demo.areas)),
        clients: Some(demo.clients),
        clients_demo: true,
        places: Some(demo.places),
        circles: Some(demo.circles),
    })?;
    Ok(())
}

#[cfg(test)]
mod upload_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_upload_folder_is_private_in_the_work_folder_and_gone_when_dropped() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::new(root.path().join("atlas.gpkg"));
        let dir = upload_dir(&store).unwrap();
        assert_eq!(dir.path().parent(), Some(store.work_dir().as_path()));
        assert_eq!(store.work_dir().parent(), Some(root.path()));
        for p in [dir.path(), store.work_dir().as_path()] {
            let mode = std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", p.display());
        }
        std::fs::write(dir.path().join("clients.csv"), "x;y\n1;2\n").unwrap();
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn uploads_left_behind_by_a_killed_server_are_swept_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::new(root.path().join("atlas.gpkg"));
        let live = upload_dir(&store).unwrap();
        let left = store.work_dir().join("upload-killed");
        std::fs::create_dir(&left).unwrap();
        std::fs::write(left.join("clients.csv"), "x;y\n1;2\n").unwrap();
        std::fs::write(left.join("in-use"), "").unwrap();
        let legacy = root.path().join(".upload-old");
        std::fs::create_dir(&legacy).unwrap();
        std::fs::write(store.path(), b"store").unwrap();
        std::fs::create_dir(root.path().join("exports")).unwrap();
        assert_eq!(store.sweep_now(), 2);
        assert!(!left.exists() && !legacy.exists());
        assert!(live.path().exists(), "a live upload is never swept");
        assert!(store.path().exists() && root.path().join("exports").exists());
        assert_eq!(store.sweep_now(), 0);
    }
}
