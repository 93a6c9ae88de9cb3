//! The private client file beside the store: `<store>.clients.gpkg` (for `buurtcirkel.gpkg`,
//! `buurtcirkel.clients.gpkg`), mode 0600, never shared.
//!
//! It holds the `clients` layer (snapped points with `doelgroep` and the client's random
//! `cell_key`, in random order), its own
//! `bc_metadata` (schema version and `clients_origin`: `demo` for the built-in demo's fictional
//! clients, `import` for real ones) and its own `bc_imports` (the client imports, with their
//! exact row counts). The shareable store holds nothing of this: no location, no count.
//!
//! The file is staged inside a fresh folder of mode 0700 next to the store, set to 0600 and
//! only then renamed into place, so no other user can read it, not even while it is written.
//! A private file of an older version without the `cell_key` column gets keys (from the OS
//! random generator) when the store is next loaded or written, and keeps them from then on.
//! It is always written afresh (never copied and changed), so replaced locations do not linger
//! in free pages. See `docs/privacy.md`.
//! Depends on `model` only (through the parent module).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Geometry as GdalGeometry, LayerAccess};
use geo_types::Geometry;
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::{ImportLog, Store, StoreError};
use crate::model::Client;

/// Suffix of the private client file: `buurtcirkel.gpkg` -> `buurtcirkel.clients.gpkg`.
pub const PRIVATE_SUFFIX: &str = ".clients.gpkg";

/// Column of the `clients` layer holding each client's random cell key, uniform in `[0, 1)`.
pub const KEY_COLUMN: &str = super::sqlite_gpkg::KEY_COLUMN;

/// Import-log kind whose entries live in the private file only (their row count is exact).
pub const CLIENT_LOG_KIND: &str = "clients";

/// What the private file holds, read back.
#[derive(Debug, Clone, Default)]
pub(super) struct PrivateData {
    pub clients: Vec<Client>,
    pub demo: bool,
    pub imports: Vec<ImportLog>,
    /// Some client has no cell key yet (a file of an older version): the file must be
    /// rewritten with keys before anything is published from it.
    pub missing_keys: bool,
}

/// A private file written in full inside a 0700 folder, waiting to be renamed into place.
pub(super) struct Staged {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl Store {
    /// The private client file that belongs to this store (which need not exist yet).
    pub fn private_path(&self) -> PathBuf {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "store".into(), |s| s.to_string_lossy().to_string());
        self.path.with_file_name(format!("{stem}{PRIVATE_SUFFIX}"))
    }

    /// Reads the private file; an empty set when it does not exist.
    pub(super) fn read_private(&self) -> Result<PrivateData, StoreError> {
        let path = self.private_path();
        let mut out = PrivateData::default();
        if !path.exists() {
            return Ok(out);
        }
        let read = super::sqlite_gpkg::read(&path).map_err(|e| StoreError::Schema {
            path: path.clone(),
            problem: format!("private client file is not a GeoPackage SQLite can read ({e})"),
        })?;
        out.clients = read.clients;
        out.missing_keys = out.clients.iter().any(|c| !has_key(c));
        out.demo = read
            .metadata
            .iter()
            .any(|(k, v)| k == "clients_origin" && v == "demo");
        out.imports = read.log;
        Ok(out)
    }

    /// The client-import log of the private file (its `bc_imports`), without reading the
    /// clients; empty when the file does not exist.
    pub(super) fn read_private_log(&self) -> Result<Vec<ImportLog>, StoreError> {
        let path = self.private_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        super::sqlite_gpkg::read_log_of(&path).map_err(|e| StoreError::Schema {
            path: path.clone(),
            problem: format!("private client file is not a GeoPackage SQLite can read ({e})"),
        })
    }

    /// Writes `clients` (shuffled with the OS random generator) and the log into a new
    /// private file inside a fresh 0700 folder next to the store.
    pub(super) fn stage_private(
        &self,
        dir: &Path,
        clients: &[Client],
        demo: bool,
        log: &[ImportLog],
    ) -> Result<Staged, StoreError> {
        let path = self.private_path();
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| StoreError::Io {
                path,
                action,
                source,
            }
        };
        let name = path.file_name().map_or_else(
            || "clients.gpkg".into(),
            |n| n.to_string_lossy().to_string(),
        );
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir_in(dir)
            .map_err(io("creating a private temporary folder"))?;
        let file = staging.path().join("clients.gpkg");
        let gdal_err = |action: &'static str| {
            let path = path.clone();
            move |e: gdal::errors::GdalError| StoreError::Gdal {
                path,
                action: action.to_string(),
                reason: super::fault::gdal_reason(&e),
            }
        };
        let mut shuffled = clients.to_vec();
        // One OS-seeded ChaCha stream rather than a system call per swap: the order must be
        // unpredictable, and a CSPRNG seeded from the OS is.
        let mut rng =
            rand_chacha::ChaCha20Rng::from_rng(rand::rngs::OsRng).map_err(|e| StoreError::Io {
                path: path.clone(),
                action: "seeding the random generator",
                source: std::io::Error::other(e),
            })?;
        shuffled.shuffle(&mut rng);
        let mut keys = crate::model::ClientKeys::new();
        for c in shuffled.iter_mut().filter(|c| !has_key(c)) {
            c.key = keys.next_key();
        }
        let rd_wkt = SpatialRef::from_epsg(28992)
            .and_then(|s| s.to_wkt())
            .map_err(gdal_err("loading EPSG:28992"))?;
        let wgs84_wkt = SpatialRef::from_epsg(4326)
            .and_then(|s| s.to_wkt())
            .map_err(gdal_err("loading EPSG:4326"))?;
        let origin = if demo { "demo" } else { "import" };
        let metadata = [
            ("schema_version", super::SCHEMA_VERSION.to_string()),
            ("crs", "EPSG:28992".to_string()),
            (
                "generator",
                format!("buurtcirkel {}", env!("CARGO_PKG_VERSION")),
            ),
            ("clients_origin", origin.to_string()),
        ];
        super::sqlite_gpkg::write(
            &file,
            &super::sqlite_gpkg::Contents {
                clients: &shuffled,
                metadata: &metadata,
                log,
                rd_wkt: &rd_wkt,
                wgs84_wkt: &wgs84_wkt,
            },
        )
        .map_err(|e| StoreError::Sqlite {
            path: path.clone(),
            action: "writing the private GeoPackage".to_string(),
            reason: e.to_string(),
        })?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(io("making the private file readable by its owner only"))?;
        std::fs::File::open(&file)
            .and_then(|f| f.sync_all())
            .map_err(io("flushing the private file to disk"))?;
        Ok(Staged { dir: staging, file })
    }
}

impl Staged {
    /// Renames the staged file over `target`; returns a guard that can put the previous file
    /// back (when the store's own rename fails after this one succeeded).
    pub(super) fn persist(self, target: &Path) -> std::io::Result<Persisted> {
        let backup = self.dir.path().join("previous.gpkg");
        let had_previous = target.exists();
        if had_previous {
            std::fs::hard_link(target, &backup)?;
        }
        std::fs::rename(&self.file, target)?;
        Ok(Persisted {
            dir: self.dir,
            backup: had_previous.then_some(backup),
            target: target.to_path_buf(),
        })
    }
}

/// A private file in place, with the previous one kept until the whole write succeeded.
pub(super) struct Persisted {
    #[allow(dead_code)]
    dir: tempfile::TempDir,
    backup: Option<PathBuf>,
    target: PathBuf,
}

impl Persisted {
    /// Puts the previous private file back (or removes the new one when there was none).
    pub(super) fn roll_back(self) {
        let _ = match &self.backup {
            Some(b) => std::fs::rename(b, &self.target),
            None => std::fs::remove_file(&self.target),
        };
    }
}

/// True when the client carries a cell key in `[0, 1)` (read from a file that had one).
pub(super) fn has_key(c: &Client) -> bool {
    (0.0..1.0).contains(&c.key)
}

/// Clients of a `clients` layer (private file, or the public store of an older layout). A
/// client without a stored cell key gets the key `NaN` (see [`has_key`]).
pub(super) fn read_clients(layer: &mut gdal::vector::Layer<'_>) -> Vec<Client> {
    let key_idx = layer.defn().field_index(KEY_COLUMN).ok();
    let mut out = Vec::new();
    for f in layer.features() {
        let Some(Geometry::Point(p)) = f.geometry().and_then(|g| GdalGeometry::to_geo(g).ok())
        else {
            continue;
        };
        out.push(Client {
            position_rd: p,
            doelgroep: f.field_as_string(0).ok().flatten(),
            key: key_idx
                .and_then(|i| f.field_as_double(i).ok().flatten())
                .unwrap_or(f64::NAN),
        });
    }
    out
}

/// Puts clients in a canonical order (by position, then target group, then key), so that
/// nothing read from the store carries the order of any upload. Clients that compare equal
/// are equal in every field, so an unstable sort gives the one order a stable sort would;
/// it runs on every core (a million clients: 200 ms on one).
pub(super) fn canonical_order(clients: &mut [Client]) {
    use rayon::slice::ParallelSliceMut as _;
    clients.par_sort_unstable_by(|a, b| {
        a.position_rd
            .x()
            .total_cmp(&b.position_rd.x())
            .then(a.position_rd.y().total_cmp(&b.position_rd.y()))
            .then_with(|| a.doelgroep.cmp(&b.doelgroep))
            .then(a.key.total_cmp(&b.key))
    });
}
