//! The store: one GeoPackage file, written and read through GDAL, that QGIS opens directly.
//!
//! Layers (all geometry in RD New, EPSG:28992): `gemeenten`, `wijken`, `buurten` (boundaries with
//! key figures), `clients` (anonymised points), `places`, `circles`, `streets` (the walking
//! network, see [`graph`]), `grid` (CBS square statistics: cell centres with inhabitants);
//! attribute tables
//! `bc_metadata` (schema version) and `bc_imports` (one row per import: kind, source file, CBS
//! year, time, rows).
//!
//! Every write is write-new-then-rename: the current file is copied next to itself, the copy is
//! changed and closed, and only then renamed over the original. A failed or interrupted write
//! leaves the previous store intact and readable (a stale `.tmp-` file at worst). One writer at
//! a time across processes: every write happens under the [`WriteLock`] (a `flock` on
//! `.<store>.lock` beside it); readers never take it.
//! Depends on `model` and `crs` only.

pub mod graph;
pub mod table;

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
    /// Anonymised clients.
    pub clients: Vec<Client>,
    /// Meeting places.
    pub places: Vec<Place>,
    /// Existing circles.
    pub circles: Vec<Circle>,
    /// The walking network's street pieces (RD metres), `None` when no streets were imported.
    pub streets: Option<Vec<geo_types::LineString<f64>>>,
    /// CBS square statistics (layer `grid`: cell centres with inhabitants), empty when none.
    pub grid: Vec<GridCell>,
    /// Import log, oldest first.
    pub imports: Vec<ImportLog>,
}

/// What one write changes. Layers left `None` stay as they are.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Replace the areas of these levels with these areas (which must be of those levels).
    pub areas: Option<(Vec<Level>, Vec<Area>)>,
    /// Replace all clients.
    pub clients: Option<Vec<Client>>,
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
            reason: e.to_string(),
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
    /// called once if it has to wait.
    ///
    /// # Errors
    /// [`StoreError::Busy`] when the lock is still held after `wait`, [`StoreError::Io`] when
    /// the lock file cannot be created.
    pub fn lock(&self, wait: Duration, on_wait: &dyn Fn()) -> Result<WriteLock, StoreError> {
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
    /// [`LOCK_WAIT`] for another writer): either all of it lands or the store stays as it was.
    pub fn apply(&self, change: &Change) -> Result<(), StoreError> {
        let lock = self.lock(LOCK_WAIT, &|| {})?;
        self.apply_locked(&lock, change)
    }

    /// [`Store::apply`] for a caller that already holds the lock (it read the store and must
    /// write before anyone else does).
    pub fn apply_locked(&self, lock: &WriteLock, change: &Change) -> Result<(), StoreError> {
        debug_assert_eq!(lock.store, self.path, "the lock of another store");
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: self.path.clone(),
            action: "creating its folder",
            source,
        })?;
        let file_name = self
            .path
            .file_name()
            .map_or_else(|| "store.gpkg".into(), |n| n.to_string_lossy().to_string());
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}.tmp-"))
            .suffix(".gpkg")
            .tempfile_in(&dir)
            .map_err(|source| StoreError::Io {
                path: self.path.clone(),
                action: "creating a temporary file",
                source,
            })?;
        // The temporary file is removed when `tmp` drops unless it is persisted below.
        let tmp_path = tmp.path().to_path_buf();
        let result = self.write_into(&tmp_path, change);
        match result {
            Ok(()) => {
                std::fs::File::open(&tmp_path)
                    .and_then(|f| f.sync_all())
                    .map_err(|source| StoreError::Io {
                        path: self.path.clone(),
                        action: "flushing the new store to disk",
                        source,
                    })?;
                tmp.persist(&self.path).map_err(|e| StoreError::Io {
                    path: self.path.clone(),
                    action: "replacing the store with the new version",
                    source: e.error,
                })?;
                if let Ok(d) = std::fs::File::open(&dir) {
                    let _ = d.sync_all();
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn write_into(&self, tmp_path: &Path, change: &Change) -> Result<(), StoreError> {
        // The copy is private until it is renamed, and the rename is what makes a write atomic,
        // so SQLite's own journal and per-commit syncs only cost time here: the file is synced
        // once before the rename. A larger page cache keeps bulk inserts off the disk.
        // secure_delete: replaced client locations are overwritten with zeros, not left in
        // free pages of the file, whatever the SQLite build's default.
        for (key, value) in [
            ("OGR_SQLITE_JOURNAL", "OFF"),
            ("OGR_SQLITE_SYNCHRONOUS", "OFF"),
            ("OGR_SQLITE_CACHE", "256"),
            ("OGR_SQLITE_PRAGMA", "secure_delete=ON"),
        ] {
            let _ = gdal::config::set_thread_local_config_option(key, value);
        }
        let result = self.write_into_inner(tmp_path, change);
        for key in [
            "OGR_SQLITE_JOURNAL",
            "OGR_SQLITE_SYNCHRONOUS",
            "OGR_SQLITE_CACHE",
        ] {
            let _ = gdal::config::clear_thread_local_config_option(key);
        }
        result
    }

    fn write_into_inner(&self, tmp_path: &Path, change: &Change) -> Result<(), StoreError> {
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
        let rd = SpatialRef::from_epsg(28992).map_err(self.gdal_err("loading EPSG:28992"))?;
        let txn_err = self.gdal_err("starting a transaction");
        let mut txn = ds.start_transaction().map_err(txn_err)?;
        if let Some((levels, areas)) = &change.areas {
            for level in levels {
                let rows: Vec<&Area> = areas.iter().filter(|a| a.level() == *level).collect();
                self.write_areas(&mut txn, *level, &rows, &rd)?;
            }
        }
        if let Some(clients) = &change.clients {
            self.write_clients(&mut txn, clients, &rd)?;
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
        if !change.log.is_empty() {
            let mut layer = txn
                .layer_by_name("bc_imports")
                .map_err(self.gdal_err("opening bc_imports"))?;
            for entry in &change.log {
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
        }
        txn.commit().map_err(self.gdal_err("committing"))?;
        ds.close().map_err(self.gdal_err("closing"))?;
        Ok(())
    }

    /// Builds the GeoPackage R-tree of every layer this change wrote, in bulk.
    fn index_layers(&self, ds: &Dataset, change: &Change) -> Result<(), StoreError> {
        let mut names: Vec<String> = Vec::new();
        if let Some((levels, _)) = &change.areas {
            names.extend(levels.iter().map(|l| l.collection().to_string()));
        }
        for (written, name) in [
            (change.clients.is_some(), "clients"),
            (change.places.is_some(), "places"),
            (change.circles.is_some(), "circles"),
            (change.grid.is_some(), "grid"),
            (change.streets.is_some(), graph::STREETS_LAYER),
        ] {
            if written {
                names.push(name.to_string());
            }
        }
        if let Some(results) = &change.results {
            names.extend(results.iter().map(|t| format!("{RESULT_PREFIX}{}", t.name)));
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
                f.set_geometry(geom)?;
                f.create(&layer)
            })();
            r.map_err(err)?;
        }
        Ok(())
    }

    fn write_clients(
        &self,
        ds: &mut Dataset,
        clients: &[Client],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let layer = self.recreate(
            ds,
            "clients",
            gdal::vector::OGRwkbGeometryType::wkbPoint,
            rd,
            &[("doelgroep", OGRFieldType::OFTString)],
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for c in clients {
            let r = (|| {
                let mut f = Feature::new(&defn)?;
                match &c.doelgroep {
                    Some(d) => set_str(&mut f, 0, d)?,
                    None => f.set_field_null(0)?,
                }
                f.set_geometry(c.position_rd.to_gdal()?)?;
                f.create(&layer)
            })();
            r.map_err(self.gdal_err("writing clients"))?;
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
            table::create_table_layer(
                ds,
                t,
                &name,
                rd,
                &["GEOMETRY_NAME=geom", "FID=fid", "SPATIAL_INDEX=NO"],
            )
            .map_err(self.gdal_err(format!("creating {name}")))?;
            let gl = ds
                .layer_by_name(&name)
                .map_err(self.gdal_err(format!("opening {name}")))?;
            table::write_features(&gl, t, None).map_err(|(id, e)| StoreError::Gdal {
                path: self.path.clone(),
                action: format!("writing {id} to {name}"),
                reason: format!("{e:?}"),
            })?;
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

    /// Reads everything.
    pub fn load(&self) -> Result<StoreData, StoreError> {
        self.check_schema()?;
        let ds = self.open_read()?;
        let mut data = StoreData::default();
        for level in Level::ALL {
            if let Ok(mut layer) = ds.layer_by_name(level.collection()) {
                for f in layer.features() {
                    data.areas.push(self.read_area(&f, level)?);
                }
            }
        }
        if let Ok(mut layer) = ds.layer_by_name("clients") {
            for f in layer.features() {
                let Some(Geometry::Point(p)) = f.geometry().and_then(|g| g.to_geo().ok()) else {
                    continue;
                };
                data.clients.push(Client {
                    position_rd: p,
                    doelgroep: f.field_as_string(0).ok().flatten(),
                });
            }
        }
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
            for f in layer.features() {
                data.imports.push(ImportLog {
                    kind: f.field_as_string(0).ok().flatten().unwrap_or_default(),
                    source: f.field_as_string(1).ok().flatten().unwrap_or_default(),
                    cbs_year: f.field_as_integer(2).ok().flatten(),
                    imported_at: f.field_as_string(3).ok().flatten().unwrap_or_default(),
                    rows: f.field_as_integer64(4).ok().flatten().unwrap_or(0),
                });
            }
        }
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

fn set_str(f: &mut Feature<'_>, idx: usize, v: &str) -> gdal::errors::Result<()> {
    f.set_field_string(idx, v)
}

/// Silences an unused-import lint for `Point` in some cfgs.
#[allow(dead_code)]
fn _point(_: Point<f64>) {}
