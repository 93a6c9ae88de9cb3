//! The store: two GeoPackage files, written and read through GDAL (the rows of the result
//! layers go in with SQLite prepared statements, see [`sqlite`]).
//!
//! The **shareable store** (e.g. `data/buurtcirkel.gpkg`, the file planners may open in QGIS)
//! has these layers (all geometry in RD New, EPSG:28992): `gemeenten`, `wijken`, `buurten`
//! (boundaries with key figures), `places`, `circles`, `streets` (the walking network, see
//! [`graph`]), `grid` (CBS square statistics: cell centres with inhabitants), the published
//! results (`resultaat_*`); attribute tables `bc_metadata` (schema version) and `bc_imports`
//! (one row per import of areas, figures, places, ...: kind, source file, CBS year, time, rows).
//! It holds no client location and no client count.
//!
//! The **private client file** beside it ([`private`]: `data/buurtcirkel.clients.gpkg`, mode
//! 0600) holds the client locations, in random order, and the log of client imports. Nothing
//! but the analysis reads it; no export, share or QGIS step needs it.
//!
//! Every write is write-new-then-rename: the current file is copied next to itself, the copy is
//! changed and closed, and only then renamed over the original; a new private file is staged
//! beside it in full. Both are renamed only once both were written, the private file first, and
//! it is put back when the store's rename fails. A failed or interrupted write leaves the
//! previous files intact and readable; its temporary files live in the private [`work`] folder, swept by the next writer. One writer at a time
//! across processes: every write happens under the [`WriteLock`] (a `flock` on `.<store>.lock`
//! beside it); readers never take it.
//!
//! An older store that still holds a `clients` layer is split on first open: the clients move
//! into the private file and the layer and their log rows leave the store, in one such write.
//!
//! This file is longer than 700 lines of code on purpose: one layer writer and reader per
//! layer sit beside the one transaction that uses them, so the all-or-nothing write is read in
//! one place.
//! Depends on `model` and `crs` only.

pub mod fault;
pub mod graph;
pub mod private;
pub mod sqlite;
mod sqlite_gpkg;
pub mod table;
pub mod work;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gdal::spatial_ref::SpatialRef;
use gdal::vector::{
    Feature, FieldValue, Geometry as GdalGeometry, LayerAccess, LayerOptions, OGRFieldType, ToGdal,
};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};
use geo_types::{Geometry, MultiPolygon, Point};

use crate::model::{
    Area, AreaCode, Circle, Client, FIGURE_FIELDS, Figures, GridCell, Level, Place,
};

/// Prefix of the analysis result layers (`resultaat_buurten`, `resultaat_clusters`, ...).
pub const RESULT_PREFIX: &str = "resultaat_";

/// The version of the layout described above; bumped when layers or fields change.
pub const SCHEMA_VERSION: i64 = 1;

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("store {path}: {action}: {source}")]
    Io {
        /// The store path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// GDAL failed.
    #[error("store {path}: {action}: {reason}")]
    Gdal {
        /// The store path.
        path: PathBuf,
        /// What was being done.
        action: String,
        /// GDAL's message.
        reason: String,
    },
    /// SQLite failed (the private client file and the rows of the result layers are written
    /// with SQLite directly).
    #[error("store {path}: {action}: {reason}")]
    Sqlite {
        /// The file's path.
        path: PathBuf,
        /// What was being done.
        action: String,
        /// SQLite's message.
        reason: String,
    },
    /// The file is not a store this program wrote, or a newer one.
    #[error("store {path}: {problem}")]
    Schema {
        /// The store path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Another process (or thread) holds the store's write lock and did not let go in time.
    #[error(
        "store {path}: another import or analyse is changing it and did not finish within {waited_s} s; nothing was changed, try again when it is done"
    )]
    Busy {
        /// The store path.
        path: PathBuf,
        /// How long this writer waited.
        waited_s: u64,
    },
    /// The store does not exist yet.
    #[error(
        "store {path} does not exist yet; import areas first, or run `buurtcirkel demo --out {path}`"
    )]
    Missing {
        /// The store path.
        path: PathBuf,
    },
    /// A write ran out of disk space; the store on disk is the one from before.
    #[error(
        "store {path}: {action}: the disk holding {folder} is full; free some space there and try again (the store is unchanged)"
    )]
    DiskFull {
        /// The file being written.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
        /// What was being done.
        action: String,
    },
    /// The store's folder (or the file) cannot be written; the store on disk is unchanged.
    #[error(
        "store {path}: {action}: {folder} is read-only; make it writable or give another --store (the store is unchanged)"
    )]
    ReadOnly {
        /// The file being written.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
        /// What was being done.
        action: String,
    },
    /// The operating system refused access; the store on disk is unchanged.
    #[error(
        "store {path}: {action}: permission denied in {folder}; run as the user who owns it or give another --store (the store is unchanged)"
    )]
    PermissionDenied {
        /// The file being written.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
        /// What was being done.
        action: String,
    },
}

impl StoreError {
    /// The same error told as a full disk, a read-only folder or a denied permission when its
    /// cause is one of those ([`fault::Cause`]); any other error as it is. The writer returns
    /// every error through this, so a storage failure is a sentence naming the file, its
    /// folder and the cause, never `os error 28` or a bare GDAL code.
    #[must_use]
    pub fn classified(self) -> StoreError {
        let (path, action, cause) = match &self {
            StoreError::Io {
                path,
                action,
                source,
            } => (path, (*action).to_string(), fault::io_cause(source)),
            StoreError::Gdal {
                path,
                action,
                reason,
            } => (path, action.clone(), fault::text_cause(reason)),
            StoreError::Sqlite {
                path,
                action,
                reason,
            } => (path, action.clone(), fault::text_cause(reason)),
            _ => return self,
        };
        let Some(cause) = cause else {
            return self;
        };
        let path = path.clone();
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match cause {
            fault::Cause::Full => StoreError::DiskFull {
                path,
                folder,
                action,
            },
            fault::Cause::ReadOnly => StoreError::ReadOnly {
                path,
                folder,
                action,
            },
            fault::Cause::Denied => StoreError::PermissionDenied {
                path,
                folder,
                action,
            },
        }
    }

    /// The storage cause of a classified error ([`StoreError::classified`]), if any.
    pub fn storage_cause(&self) -> Option<fault::Cause> {
        match self {
            StoreError::DiskFull { .. } => Some(fault::Cause::Full),
            StoreError::ReadOnly { .. } => Some(fault::Cause::ReadOnly),
            StoreError::PermissionDenied { .. } => Some(fault::Cause::Denied),
            _ => None,
        }
    }
}

/// One import, as logged in `bc_imports`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportLog {
    /// `areas`, `figures`, `clients`, `places`, `circles`, `demo`.
    pub kind: String,
    /// The source file (file name only for client files: paths can name people's folders).
    pub source: String,
    /// CBS year, when known.
    pub cbs_year: Option<i32>,
    /// RFC 3339 time of the import.
    pub imported_at: String,
    /// Rows or features imported.
    pub rows: i64,
}

impl ImportLog {
    /// A log entry stamped with the current time (UTC, whole seconds).
    pub fn new(kind: &str, source: String, cbs_year: Option<i32>, rows: usize) -> ImportLog {
        ImportLog {
            kind: kind.to_string(),
            source,
            cbs_year,
            imported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            rows: i64::try_from(rows).unwrap_or(i64::MAX),
        }
    }

    /// A log entry for an imported file: only its file name is kept (a path can name a
    /// person's folder).
    pub fn of_file(kind: &str, path: &str, cbs_year: Option<i32>, rows: usize) -> ImportLog {
        let source = Path::new(path)
            .file_name()
            .map_or_else(|| path.to_string(), |n| n.to_string_lossy().to_string());
        ImportLog::new(kind, source, cbs_year, rows)
    }
}

/// Everything the store holds, in memory.
#[derive(Debug, Clone, Default)]
pub struct StoreData {
    /// Gemeenten, wijken and buurten.
    pub areas: Vec<Area>,
    /// Anonymised clients (from the private file), in a canonical order (by position).
    pub clients: Vec<Client>,
    /// True when the clients are the built-in demo's fictional ones (marked so in the private
    /// file; an import of real clients removes the mark).
    pub clients_demo: bool,
    /// Meeting places.
    pub places: Vec<Place>,
    /// Existing circles.
    pub circles: Vec<Circle>,
    /// The walking network's street pieces (RD metres), `None` when no streets were imported.
    pub streets: Option<Vec<geo_types::LineString<f64>>>,
    /// CBS square statistics (layer `grid`: cell centres with inhabitants), empty when none.
    pub grid: Vec<GridCell>,
    /// Import log: the store's own, oldest first, then the client imports of the private
    /// file, oldest first.
    pub imports: Vec<ImportLog>,
}

/// What one write changes. Layers left `None` stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Replace the areas of these levels with these areas (which must be of those levels).
    pub areas: Option<(Vec<Level>, Vec<Area>)>,
    /// Replace all clients (in the private file).
    pub clients: Option<Vec<Client>>,
    /// The clients above are the built-in demo's fictional ones.
    pub clients_demo: bool,
    /// Replace all places.
    pub places: Option<Vec<Place>>,
    /// Replace all circles.
    pub circles: Option<Vec<Circle>>,
    /// Replace all analysis result layers (`resultaat_<name>`) with these tables.
    pub results: Option<Vec<crate::model::Table>>,
    /// Replace the street network (layer `streets`, see [`graph`]) with these pieces, RD metres.
    pub streets: Option<Vec<geo_types::LineString<f64>>>,
    /// Replace the CBS grid (layer `grid`).
    pub grid: Option<Vec<GridCell>>,
    /// Log entries to append.
    pub log: Vec<ImportLog>,
}

/// The clients and client-import log rows of an older store's shareable file.
type OldClients = (Vec<Client>, Vec<ImportLog>);

/// The store's write lock: an advisory lock (`flock`) on the file `.<store>.lock` beside it,
/// held by one writer at a time across processes (CLI imports, `analyse`, uploads) from
/// before it reads the store until after the rename. Readers never take it: the rename is
/// atomic, so a reader sees the old store or the new one. Released when dropped (or when the
/// process dies: the kernel drops the lock with the file descriptor).
#[derive(Debug)]
pub struct WriteLock {
    _file: std::fs::File,
    store: PathBuf,
}

/// One version of the store file on disk (see [`Store::version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreVersion {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
}

/// How long a writer waits for another one by default.
pub const LOCK_WAIT: Duration = Duration::from_secs(120);

/// A GeoPackage store at a path.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

const AREA_FIELDS: [&str; 5] = ["code", "naam", "gemeentecode", "wijkcode", "water"];
/// The area-layer column after the figures: extra figure columns as a JSON object
/// (`{"eenzaamheid_pct": 12.5, ...}`, `null` = missing), written in the same transaction.
const EXTRA_FIELD: &str = "figures_extra";

impl Store {
    /// A store at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store { path: path.into() }
    }

    /// The store's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the file exists.
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    fn gdal_err(
        &self,
        action: impl Into<String>,
    ) -> impl FnOnce(gdal::errors::GdalError) -> StoreError + '_ {
        let action = action.into();
        move |e| StoreError::Gdal {
            path: self.path.clone(),
            action,
            reason: fault::gdal_reason(&e),
        }
    }

    /// The folder the store lives in (`.` for a bare file name).
    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// What identifies the file now on disk (device, inode, size, modification time), or
    /// `None` when there is none: a new store renamed over the old one changes it, so a server
    /// can notice a write by another process with one `stat`.
    pub fn version(&self) -> Option<StoreVersion> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(&self.path).ok()?;
        Some(StoreVersion {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: m
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(m.mtime_nsec()),
        })
    }

    /// The lock file beside the store.
    pub fn lock_path(&self) -> PathBuf {
        let file_name = self
            .path
            .file_name()
            .map_or_else(|| "store.gpkg".into(), |n| n.to_string_lossy().to_string());
        self.dir().join(format!(".{file_name}.lock"))
    }

    /// Takes the store's [`WriteLock`], waiting up to `wait` for another writer; `on_wait` is
    /// called once if it has to wait. Holding the lock, it first sweeps what killed writers
    /// left in the work folder ([`Store::sweep`]).
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the lock is still held after `wait`, [`StoreError::Io`] when
    /// the lock file cannot be created.
    pub fn lock(&self, wait: Duration, on_wait: &dyn Fn()) -> Result<WriteLock, StoreError> {
        let lock = self
            .acquire(wait, on_wait)
            .map_err(StoreError::classified)?;
        self.sweep(&lock);
        Ok(lock)
    }

    /// [`Store::lock`] without the sweep.
    fn acquire(&self, wait: Duration, on_wait: &dyn Fn()) -> Result<WriteLock, StoreError> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            action: "creating its folder",
            source,
        })?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(self.lock_path())
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "opening its lock file",
                source,
            })?;
        let start = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(WriteLock {
                        _file: file,
                        store: self.path.clone(),
                    });
                }
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(source)) => {
                    return Err(StoreError::Io {
                        path: self.path.clone(),
                        action: "locking it",
                        source,
                    });
                }
            }
            if start.elapsed() >= wait {
                return Err(StoreError::Busy {
                    path: self.path.clone(),
                    waited_s: wait.as_secs(),
                });
            }
            if !told {
                on_wait();
                told = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Applies `change` atomically under the store's write lock (waiting up to
    /// [`LOCK_WAIT`] for another writer): either all of it lands (in the store and the private
    /// client file) or both stay as they were. An older store's `clients` layer moves into the
    /// private file in the same write.
    pub fn apply(&self, change: &Change) -> Result<(), StoreError> {
        let lock = self.lock(LOCK_WAIT, &|| {})?;
        self.apply_locked(&lock, change)
    }

    /// [`Store::apply`] for a caller that already holds the lock (it read the store and must
    /// write before anyone else does).
    ///
    /// # Errors
    /// Reading the old store or writing the new one failed; a full disk, a read-only folder
    /// or a denied permission is told as such ([`StoreError::classified`]).
    pub fn apply_locked(&self, lock: &WriteLock, change: &Change) -> Result<(), StoreError> {
        debug_assert_eq!(lock.store, self.path, "the lock of another store");
        fault::reset();
        self.write_locked(change).map_err(StoreError::classified)
    }

    /// [`Store::apply_locked`] before its errors are classified.
    fn write_locked(&self, change: &Change) -> Result<(), StoreError> {
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            action: "creating its folder",
            source,
        })?;
        // Every temporary file of this write lives in one private entry of the work folder,
        // removed when `work` drops (declared first, so dropped last).
        let work = self.work_entry("write-").map_err(|source| StoreError::Io {
            path: self.path.clone(),
            action: "creating a private work folder beside it",
            source,
        })?;
        let staging = work.path().to_path_buf();
        let old_layout = self.exists() && self.public_clients()?.is_some();
        let private = if let Some(clients) = &change.clients {
            let mut log = self.read_private_log()?;
            log.extend(
                change
                    .log
                    .iter()
                    .filter(|e| e.kind == private::CLIENT_LOG_KIND)
                    .cloned(),
            );
            Some(self.stage_private(&staging, clients, change.clients_demo, &log)?)
        } else if old_layout {
            let (clients, mut log) = self.public_clients()?.unwrap_or_default();
            log.extend(self.read_private_log()?);
            Some(self.stage_private(&staging, &clients, false, &log)?)
        } else {
            None
        };
        let tmp = tempfile::Builder::new()
            .prefix("store-")
            .suffix(".gpkg")
            .tempfile_in(work.path())
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "creating a temporary file",
                source,
            })?;
        // The temporary file is removed when `tmp` drops unless it is persisted below.
        let tmp_path = tmp.path().to_path_buf();
        let t = Instant::now();
        self.write_into(&tmp_path, change, private.is_some())?;
        let t_sync = Instant::now();
        std::fs::File::open(&tmp_path)
            .and_then(|f| f.sync_all())
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "flushing the new store to disk",
                source,
            })?;
        let persisted = match private {
            Some(staged) => {
                Some(
                    staged
                        .persist(&self.private_path())
                        .map_err(|source| StoreError::Io {
                            path: self.private_path(),
                            action: "replacing the private client file with the new version",
                            source,
                        })?,
                )
            }
            None => None,
        };
        if let Err(e) = tmp.persist(&self.path) {
            if let Some(p) = persisted {
                p.roll_back();
            }
            return Err(StoreError::Io {
                path: self.path.clone(),
                action: "replacing the store with the new version",
                source: e.error,
            });
        }
        drop(persisted);
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        tracing::debug!(
            write_ms = (t_sync - t).as_millis() as u64,
            sync_and_rename_ms = t_sync.elapsed().as_millis() as u64,
            "store write stages"
        );
        Ok(())
    }

    /// The clients and client-import log rows of an older store that kept them in the
    /// shareable file; `None` when it has no `clients` layer.
    fn public_clients(&self) -> Result<Option<OldClients>, StoreError> {
        let ds = self.open_read()?;
        let Ok(mut layer) = ds.layer_by_name("clients") else {
            return Ok(None);
        };
        let clients = private::read_clients(&mut layer);
        let log = ds
            .layer_by_name("bc_imports")
            .map(|mut l| read_log(&mut l))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.kind == private::CLIENT_LOG_KIND)
            .collect();
        Ok(Some((clients, log)))
    }

    fn write_into(
        &self,
        tmp_path: &Path,
        change: &Change,
        drop_clients: bool,
    ) -> Result<(), StoreError> {
        // The copy is private until it is renamed, and the rename is what makes a write atomic,
        // so SQLite's own journal and per-commit syncs only cost time here: the file is synced
        // once before the rename. The page cache stays at 32 MiB: with no journal SQLite spills
        // dirty pages into the (unsynced) copy, and a larger cache only held the zeroed pages
        // of the replaced result layers in memory (a sixth of the peak of a 1M re-analysis).
        // secure_delete: replaced client locations are overwritten with zeros, not left in
        // free pages of the file, whatever the SQLite build's default.
        for (key, value) in [
            ("OGR_SQLITE_JOURNAL", "OFF"),
            ("OGR_SQLITE_SYNCHRONOUS", "OFF"),
            ("OGR_SQLITE_CACHE", "32"),
            ("OGR_SQLITE_PRAGMA", "secure_delete=ON"),
        ] {
            let _ = gdal::config::set_thread_local_config_option(key, value);
        }
        let result = self.write_into_inner(tmp_path, change, drop_clients);
        for key in [
            "OGR_SQLITE_JOURNAL",
            "OGR_SQLITE_SYNCHRONOUS",
            "OGR_SQLITE_CACHE",
        ] {
            let _ = gdal::config::clear_thread_local_config_option(key);
        }
        result
    }

    fn write_into_inner(
        &self,
        tmp_path: &Path,
        change: &Change,
        drop_clients: bool,
    ) -> Result<(), StoreError> {
        let t0 = Instant::now();
        let mut ds = if self.exists() {
            self.check_schema()?;
            std::fs::copy(&self.path, tmp_path).map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "copying the store before changing it",
                source,
            })?;
            Dataset::open_ex(
                tmp_path,
                DatasetOptions {
                    open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_UPDATE,
                    allowed_drivers: Some(&["GPKG"]),
                    ..Default::default()
                },
            )
            .map_err(self.gdal_err("opening the copy for update"))?
        } else {
            // tempfile created an empty file; GDAL wants to create the GeoPackage itself.
            let _ = std::fs::remove_file(tmp_path);
            let mut ds = DriverManager::get_driver_by_name("GPKG")
                .and_then(|d| d.create_vector_only(tmp_path))
                .map_err(self.gdal_err("creating a GeoPackage"))?;
            self.create_meta(&mut ds)?;
            ds
        };
        let t_open = t0.elapsed();
        let rd = SpatialRef::from_epsg(28992).map_err(self.gdal_err("loading EPSG:28992"))?;
        let txn_err = self.gdal_err("starting a transaction");
        let mut txn = ds.start_transaction().map_err(txn_err)?;
        if let Some((levels, areas)) = &change.areas {
            for level in levels {
                let rows: Vec<&Area> = areas.iter().filter(|a| a.level() == *level).collect();
                self.write_areas(&mut txn, *level, &rows, &rd)?;
            }
        }
        if drop_clients {
            // Client locations and their counts live in the private file only (an older store
            // kept them here; secure_delete overwrites the freed pages).
            if let Some(idx) = txn.layers().position(|l| l.name() == "clients") {
                txn.delete_layer(idx)
                    .map_err(self.gdal_err("moving the clients layer out"))?;
            }
            txn.execute_sql(
                format!(
                    "DELETE FROM bc_imports WHERE kind = '{}'",
                    private::CLIENT_LOG_KIND
                ),
                None,
                gdal::vector::sql::Dialect::DEFAULT,
            )
            .map_err(self.gdal_err("moving the client imports out of bc_imports"))?;
        }
        if let Some(places) = &change.places {
            self.write_places(&mut txn, places, &rd)?;
        }
        if let Some(circles) = &change.circles {
            self.write_circles(&mut txn, circles, &rd)?;
        }
        if let Some(grid) = &change.grid {
            self.write_grid(&mut txn, grid, &rd)?;
        }
        if let Some(results) = &change.results {
            self.write_results(&mut txn, results, &rd)?;
        }
        if let Some(streets) = &change.streets {
            self.write_streets(&mut txn, streets, &rd)?;
        }
        self.index_layers(&txn, change)?;
        let public_log: Vec<ImportLog> = change
            .log
            .iter()
            .filter(|e| e.kind != private::CLIENT_LOG_KIND)
            .cloned()
            .collect();
        self.write_log(&txn, &public_log)?;
        txn.commit().map_err(self.gdal_err("committing"))?;
        let t_gdal = t0.elapsed();
        fault::close_checked(ds).map_err(|reason| StoreError::Gdal {
            path: self.path.clone(),
            action: "writing the new store out".into(),
            reason,
        })?;
        let t_close = t0.elapsed();
        if let Some(results) = &change.results {
            self.write_result_rows(tmp_path, results)?;
        }
        tracing::debug!(
            copy_and_open_ms = t_open.as_millis() as u64,
            gdal_layers_ms = (t_gdal - t_open).as_millis() as u64,
            close_ms = (t_close - t_gdal).as_millis() as u64,
            result_rows_ms = (t0.elapsed() - t_close).as_millis() as u64,
            "store write_into stages"
        );
        Ok(())
    }

    /// The rows of the result layers GDAL created empty in `tmp_path` and their R-trees, in
    /// one SQLite transaction (see [`sqlite`]).
    fn write_result_rows(
        &self,
        tmp_path: &Path,
        results: &[crate::model::Table],
    ) -> Result<(), StoreError> {
        let named: Vec<(String, &crate::model::Table)> = results
            .iter()
            .map(|t| (format!("{RESULT_PREFIX}{}", t.name), t))
            .collect();
        let t = Instant::now();
        sqlite::write_rows(tmp_path, &named).map_err(|e| StoreError::Sqlite {
            path: self.path.clone(),
            action: e.action,
            reason: e.reason,
        })?;
        tracing::debug!(rows_ms = t.elapsed().as_millis() as u64, "result rows");
        Ok(())
    }

    /// Appends `log` to the `bc_imports` table of `ds`.
    fn write_log(&self, ds: &Dataset, log: &[ImportLog]) -> Result<(), StoreError> {
        if log.is_empty() {
            return Ok(());
        }
        let mut layer = ds
            .layer_by_name("bc_imports")
            .map_err(self.gdal_err("opening bc_imports"))?;
        for entry in log {
            let defn = gdal::vector::Defn::from_layer(&layer);
            let mut f = Feature::new(&defn).map_err(self.gdal_err("logging the import"))?;
            let e = self.gdal_err("logging the import");
            set_str(&mut f, 0, &entry.kind)
                .and_then(|()| set_str(&mut f, 1, &entry.source))
                .and_then(|()| match entry.cbs_year {
                    Some(y) => f.set_field_integer(2, y),
                    None => f.set_field_null(2),
                })
                .and_then(|()| set_str(&mut f, 3, &entry.imported_at))
                .and_then(|()| f.set_field_integer64(4, entry.rows))
                .and_then(|()| f.create(&layer))
                .map_err(e)?;
            layer.reset_feature_reading();
        }
        Ok(())
    }

    /// Builds the GeoPackage R-tree of every layer this change wrote, in bulk.
    fn index_layers(&self, ds: &Dataset, change: &Change) -> Result<(), StoreError> {
        let mut names: Vec<String> = Vec::new();
        if let Some((levels, _)) = &change.areas {
            names.extend(levels.iter().map(|l| l.collection().to_string()));
        }
        for (written, name) in [
            (change.places.is_some(), "places"),
            (change.circles.is_some(), "circles"),
            (change.grid.is_some(), "grid"),
            (change.streets.is_some(), graph::STREETS_LAYER),
        ] {
            if written {
                names.push(name.to_string());
            }
        }
        for name in names {
            ds.execute_sql(
                format!("SELECT CreateSpatialIndex('{name}', 'geom')"),
                None,
                gdal::vector::sql::Dialect::DEFAULT,
            )
            .map_err(self.gdal_err(format!("indexing {name}")))?;
        }
        Ok(())
    }

    fn create_meta(&self, ds: &mut Dataset) -> Result<(), StoreError> {
        let layer = ds
            .create_layer(LayerOptions {
                name: "bc_metadata",
                ty: gdal::vector::OGRwkbGeometryType::wkbNone,
                ..Default::default()
            })
            .map_err(self.gdal_err("creating bc_metadata"))?;
        layer
            .create_defn_fields(&[
                ("key", OGRFieldType::OFTString),
                ("value", OGRFieldType::OFTString),
            ])
            .map_err(self.gdal_err("creating bc_metadata"))?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for (k, v) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("crs", "EPSG:28992".to_string()),
            (
                "generator",
                format!("buurtcirkel {}", env!("CARGO_PKG_VERSION")),
            ),
        ] {
            let mut f = Feature::new(&defn).map_err(self.gdal_err("writing bc_metadata"))?;
            set_str(&mut f, 0, k)
                .and_then(|()| set_str(&mut f, 1, &v))
                .and_then(|()| f.create(&layer))
                .map_err(self.gdal_err("writing bc_metadata"))?;
        }
        let log = ds
            .create_layer(LayerOptions {
                name: "bc_imports",
                ty: gdal::vector::OGRwkbGeometryType::wkbNone,
                ..Default::default()
            })
            .map_err(self.gdal_err("creating bc_imports"))?;
        log.create_defn_fields(&[
            ("kind", OGRFieldType::OFTString),
            ("source_file", OGRFieldType::OFTString),
            ("cbs_year", OGRFieldType::OFTInteger),
            ("imported_at", OGRFieldType::OFTString),
            ("rows", OGRFieldType::OFTInteger64),
        ])
        .map_err(self.gdal_err("creating bc_imports"))?;
        Ok(())
    }

    /// Deletes `name` if present and creates it afresh.
    fn recreate<'d>(
        &self,
        ds: &'d mut Dataset,
        name: &str,
        ty: gdal::vector::OGRwkbGeometryType::Type,
        rd: &SpatialRef,
        fields: &[(&str, OGRFieldType::Type)],
    ) -> Result<gdal::vector::Layer<'d>, StoreError> {
        let existing = ds.layers().position(|l| l.name() == name);
        if let Some(idx) = existing {
            ds.delete_layer(idx)
                .map_err(self.gdal_err(format!("deleting the old {name} layer")))?;
        }
        let layer = ds
            .create_layer(LayerOptions {
                name,
                srs: Some(rd),
                ty,
                // The R-tree is built in one go after the inserts (see `index_layers`):
                // far faster than updating it row by row.
                options: Some(&["GEOMETRY_NAME=geom", "FID=fid", "SPATIAL_INDEX=NO"]),
            })
            .map_err(self.gdal_err(format!("creating the {name} layer")))?;
        layer
            .create_defn_fields(fields)
            .map_err(self.gdal_err(format!("creating the fields of {name}")))?;
        Ok(layer)
    }

    fn write_areas(
        &self,
        ds: &mut Dataset,
        level: Level,
        areas: &[&Area],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let mut fields: Vec<(&str, OGRFieldType::Type)> = vec![
            ("code", OGRFieldType::OFTString),
            ("naam", OGRFieldType::OFTString),
            ("gemeentecode", OGRFieldType::OFTString),
            ("wijkcode", OGRFieldType::OFTString),
            ("water", OGRFieldType::OFTInteger),
        ];
        fields.extend(FIGURE_FIELDS.iter().map(|f| (*f, OGRFieldType::OFTReal)));
        // Extra figure columns (custom indicators) as one JSON text column: their names differ
        // per organisation, and a text column keeps the layer a plain table for QGIS.
        fields.push((EXTRA_FIELD, OGRFieldType::OFTString));
        let extra_idx = AREA_FIELDS.len() + FIGURE_FIELDS.len();
        let name = level.collection();
        let layer = self.recreate(
            ds,
            name,
            gdal::vector::OGRwkbGeometryType::wkbMultiPolygon,
            rd,
            &fields,
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for a in areas {
            let err = self.gdal_err(format!("writing {} to {name}", a.code));
            let geom = a
                .geometry_rd
                .to_gdal()
                .map_err(self.gdal_err(format!("converting {}", a.code)))?;
            let mut f = Feature::new(&defn).map_err(self.gdal_err("creating a feature"))?;
            let r = (|| {
                set_str(&mut f, 0, a.code.as_str())?;
                set_str(&mut f, 1, &a.name)?;
                set_str(&mut f, 2, a.code.gemeente().as_str())?;
                match a.code.wijk() {
                    Some(w) if level != Level::Wijk => set_str(&mut f, 3, w.as_str())?,
                    Some(w) => set_str(&mut f, 3, w.as_str())?,
                    None => f.set_field_null(3)?,
                }
                f.set_field_integer(4, i32::from(a.water))?;
                for (i, v) in a.figures.values().iter().enumerate() {
                    match v {
                        Some(v) => f.set_field_double(AREA_FIELDS.len() + i, *v)?,
                        None => f.set_field_null(AREA_FIELDS.len() + i)?,
                    }
                }
                if a.figures.extra.is_empty() {
                    f.set_field_null(extra_idx)?;
                } else {
                    let json = serde_json::to_string(&a.figures.extra).unwrap_or_default();
                    set_str(&mut f, extra_idx, &json)?;
                }
                f.set_geometry(geom)?;
                f.create(&layer)
            })();
            r.map_err(err)?;
        }
        Ok(())
    }

    fn write_places(
        &self,
        ds: &mut Dataset,
        places: &[Place],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let layer = self.recreate(
            ds,
            "places",
            gdal::vector::OGRwkbGeometryType::wkbPoint,
            rd,
            &[
                ("naam", OGRFieldType::OFTString),
                ("soort", OGRFieldType::OFTString),
            ],
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for p in places {
            let r = (|| {
                let mut f = Feature::new(&defn)?;
                set_str(&mut f, 0, &p.name)?;
                set_str(&mut f, 1, &p.kind)?;
                f.set_geometry(p.position_rd.to_gdal()?)?;
                f.create(&layer)
            })();
            r.map_err(self.gdal_err("writing places"))?;
        }
        Ok(())
    }

    fn write_grid(
        &self,
        ds: &mut Dataset,
        grid: &[GridCell],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let layer = self.recreate(
            ds,
            "grid",
            gdal::vector::OGRwkbGeometryType::wkbPoint,
            rd,
            &[("inwoners", OGRFieldType::OFTReal)],
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for c in grid {
            let r = (|| {
                let mut f = Feature::new(&defn)?;
                match c.inwoners {
                    Some(v) => f.set_field_double(0, v)?,
                    None => f.set_field_null(0)?,
                }
                f.set_geometry(c.centre_rd.to_gdal()?)?;
                f.create(&layer)
            })();
            r.map_err(self.gdal_err("writing the grid"))?;
        }
        Ok(())
    }

    fn write_circles(
        &self,
        ds: &mut Dataset,
        circles: &[Circle],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let layer = self.recreate(
            ds,
            "circles",
            gdal::vector::OGRwkbGeometryType::wkbUnknown,
            rd,
            &[("naam", OGRFieldType::OFTString)],
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for c in circles {
            let r = (|| {
                let mut f = Feature::new(&defn)?;
                set_str(&mut f, 0, &c.name)?;
                f.set_geometry(c.geometry_rd.to_gdal()?)?;
                f.create(&layer)
            })();
            r.map_err(self.gdal_err("writing circles"))?;
        }
        Ok(())
    }

    fn write_results(
        &self,
        ds: &mut Dataset,
        results: &[crate::model::Table],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        // Results of an earlier run with other collections must not linger.
        loop {
            let old = ds
                .layers()
                .position(|l| l.name().starts_with(RESULT_PREFIX));
            match old {
                Some(idx) => ds
                    .delete_layer(idx)
                    .map_err(self.gdal_err("deleting old results"))?,
                None => break,
            }
        }
        for t in results {
            let name = format!("{RESULT_PREFIX}{}", t.name);
            // The layer only: its rows go in after GDAL closed the file (`sqlite::write_rows`).
            table::create_table_layer(
                ds,
                t,
                &name,
                rd,
                &["GEOMETRY_NAME=geom", "FID=fid", "SPATIAL_INDEX=NO"],
            )
            .map_err(self.gdal_err(format!("creating {name}")))?;
        }
        Ok(())
    }

    fn open_read(&self) -> Result<Dataset, StoreError> {
        if !self.exists() {
            return Err(StoreError::Missing {
                path: self.path.clone(),
            });
        }
        Dataset::open_ex(
            &self.path,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
                allowed_drivers: Some(&["GPKG"]),
                ..Default::default()
            },
        )
        .map_err(|e| StoreError::Schema {
            path: self.path.clone(),
            problem: format!("not a GeoPackage GDAL can open ({e})"),
        })
    }

    /// Checks that the file is a store of a schema version this program understands.
    pub fn check_schema(&self) -> Result<(), StoreError> {
        let ds = self.open_read()?;
        let version = ds
            .layer_by_name("bc_metadata")
            .ok()
            .and_then(|mut l| {
                l.features().find_map(|f| {
                    let key = f.field_as_string(0).ok().flatten()?;
                    (key == "schema_version")
                        .then(|| f.field_as_string(1).ok().flatten())
                        .flatten()
                })
            })
            .and_then(|v| v.parse::<i64>().ok());
        match version {
            Some(v) if v == SCHEMA_VERSION => Ok(()),
            Some(v) => Err(StoreError::Schema {
                path: self.path.clone(),
                problem: format!(
                    "schema version {v}, but this program reads version {SCHEMA_VERSION}; use a matching buurtcirkel or start a new store"
                ),
            }),
            None => Err(StoreError::Schema {
                path: self.path.clone(),
                problem: "a GeoPackage without a bc_metadata table: not a Buurtcirkel Atlas store (refusing to change it)".into(),
            }),
        }
    }

    /// Reads everything: the store and its private client file. An older store that still
    /// holds a `clients` layer is split first (see the module docs).
    ///
    /// # Errors
    /// The file is missing or unreadable, or an older store could not be split (e.g. a
    /// read-only folder): the message says how to split it.
    pub fn load(&self) -> Result<StoreData, StoreError> {
        self.check_schema()?;
        if self.public_clients()?.is_some() {
            self.apply(&Change::default()).map_err(|e| StoreError::Schema {
                path: self.path.clone(),
                problem: format!(
                    "holds client locations (the layout of an older version); they must move to the private file {} before it is read, and that failed ({e}). Make the folder writable and open it again, or remove the layer with `ogrinfo {} -sql \"DROP TABLE clients\"` and import the clients anew",
                    self.private_path().display(),
                    self.path.display()
                ),
            })?;
        }
        let t0 = Instant::now();
        let ds = self.open_read()?;
        let mut data = StoreData::default();
        for level in Level::ALL {
            if let Ok(mut layer) = ds.layer_by_name(level.collection()) {
                for f in layer.features() {
                    data.areas.push(self.read_area(&f, level)?);
                }
            }
        }
        let t_areas = t0.elapsed();
        let mut private = self.read_private()?;
        let t_private = t0.elapsed();
        if private.missing_keys {
            // A private file of an older version: give its clients keys once, for good, so
            // that every later read publishes the same perturbed figures.
            self.apply(&Change {
                clients: Some(private.clients.clone()),
                clients_demo: private.demo,
                ..Change::default()
            })
            .map_err(|e| StoreError::Schema {
                path: self.private_path(),
                problem: format!(
                    "holds clients without a cell key (the layout of an older version); the keys must be written before anything is published, and that failed ({e}). Make the folder writable and open it again"
                ),
            })?;
            private = self.read_private()?;
        }
        data.clients = private.clients;
        private::canonical_order(&mut data.clients);
        let t_order = t0.elapsed();
        data.clients_demo = private.demo;
        if let Ok(mut layer) = ds.layer_by_name("places") {
            for f in layer.features() {
                let Some(Geometry::Point(p)) = f.geometry().and_then(|g| g.to_geo().ok()) else {
                    continue;
                };
                data.places.push(Place {
                    id: f.fid().and_then(|i| i64::try_from(i).ok()).unwrap_or(0),
                    name: f.field_as_string(0).ok().flatten().unwrap_or_default(),
                    kind: f.field_as_string(1).ok().flatten().unwrap_or_default(),
                    position_rd: p,
                });
            }
        }
        if let Ok(mut layer) = ds.layer_by_name("grid") {
            for f in layer.features() {
                let Some(Geometry::Point(p)) = f.geometry().and_then(|g| g.to_geo().ok()) else {
                    continue;
                };
                let inwoners = match f.field(0) {
                    Ok(Some(FieldValue::RealValue(v))) => Some(v),
                    _ => None,
                };
                data.grid.push(GridCell {
                    centre_rd: p,
                    inwoners,
                });
            }
        }
        if let Ok(mut layer) = ds.layer_by_name("circles") {
            for f in layer.features() {
                let Some(g) = f.geometry().and_then(|g| g.to_geo().ok()) else {
                    continue;
                };
                data.circles.push(Circle {
                    id: f.fid().and_then(|i| i64::try_from(i).ok()).unwrap_or(0),
                    name: f.field_as_string(0).ok().flatten().unwrap_or_default(),
                    geometry_rd: g,
                });
            }
        }
        data.streets = graph::read_streets(&ds);
        if let Ok(mut layer) = ds.layer_by_name("bc_imports") {
            data.imports = read_log(&mut layer);
        }
        data.imports.extend(private.imports);
        tracing::debug!(
            areas_ms = t_areas.as_millis() as u64,
            private_ms = (t_private - t_areas).as_millis() as u64,
            order_ms = (t_order - t_private).as_millis() as u64,
            rest_ms = (t0.elapsed() - t_order).as_millis() as u64,
            "store load stages"
        );
        Ok(data)
    }

    fn read_area(&self, f: &Feature<'_>, level: Level) -> Result<Area, StoreError> {
        let bad = |problem: String| StoreError::Schema {
            path: self.path.clone(),
            problem: format!(
                "layer {}, feature {:?}: {problem}",
                level.collection(),
                f.fid()
            ),
        };
        let code_text = f.field_as_string(0).ok().flatten().unwrap_or_default();
        let code = AreaCode::parse(&code_text).map_err(|e| bad(e.to_string()))?;
        let mut figures = Figures::default();
        for (i, name) in FIGURE_FIELDS.iter().enumerate() {
            let v = match f.field(AREA_FIELDS.len() + i) {
                Ok(Some(FieldValue::RealValue(v))) => Some(v),
                _ => None,
            };
            if let Some(slot) = figures.field_mut(name) {
                *slot = v;
            }
        }
        // A store written before extra figures existed has no such column: no extras.
        if let Some(text) = f
            .field_as_string(AREA_FIELDS.len() + FIGURE_FIELDS.len())
            .ok()
            .flatten()
            .filter(|t| !t.is_empty())
        {
            figures.extra = serde_json::from_str(&text)
                .map_err(|e| bad(format!("column {EXTRA_FIELD} is not a JSON object: {e}")))?;
        }
        let geometry_rd = match f.geometry().map(GdalGeometry::to_geo) {
            Some(Ok(Geometry::MultiPolygon(mp))) => mp,
            Some(Ok(Geometry::Polygon(p))) => MultiPolygon::new(vec![p]),
            _ => return Err(bad("missing or non-polygon geometry".into())),
        };
        Ok(Area {
            code,
            name: f.field_as_string(1).ok().flatten().unwrap_or_default(),
            water: f.field_as_integer(4).ok().flatten().unwrap_or(0) != 0,
            figures,
            geometry_rd,
        })
    }
}

/// The rows of a `bc_imports` table.
fn read_log(layer: &mut gdal::vector::Layer<'_>) -> Vec<ImportLog> {
    layer
        .features()
        .map(|f| ImportLog {
            kind: f.field_as_string(0).ok().flatten().unwrap_or_default(),
            source: f.field_as_string(1).ok().flatten().unwrap_or_default(),
            cbs_year: f.field_as_integer(2).ok().flatten(),
            imported_at: f.field_as_string(3).ok().flatten().unwrap_or_default(),
            rows: f.field_as_integer64(4).ok().flatten().unwrap_or(0),
        })
        .collect()
}

fn set_str(f: &mut Feature<'_>, idx: usize, v: &str) -> gdal::errors::Result<()> {
    f.set_field_string(idx, v)
}

/// Silences an unused-import lint for `Point` in some cfgs.
#[allow(dead_code)]
fn _point(_: Point<f64>) {}
