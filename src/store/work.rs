//! The store's work folder: every temporary copy of the store, every staged private client
//! file and every raw upload lives in one private folder beside the store,
//! `.<stem>.work/` (mode 0700), one sub-folder per job ([`WorkEntry`], removed when dropped,
//! so on every exit path). What a killed process leaves there is removed by [`Store::sweep`],
//! which every command that opens the store runs under the write lock (taking the lock sweeps,
//! see [`Store::lock`]); an entry whose own `in-use` lock is still held by a live process (an
//! upload being received before its import takes the write lock) is never swept.
//!
//! Inputs: the store path; outputs: folders beside it. Depends on nothing of ours but the
//! store's own types.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::{Store, WriteLock};

/// The name of the file inside each work entry that its owner holds a `flock` on.
const IN_USE: &str = "in-use";

/// One job's private folder inside the store's work folder: removed with everything in it when
/// dropped; while it lives, its `in-use` lock tells a sweep to leave it alone.
#[derive(Debug)]
pub struct WorkEntry {
    // Field order is drop order: the folder goes first, then the lock on it is released.
    dir: tempfile::TempDir,
    _in_use: std::fs::File,
}

impl WorkEntry {
    /// The entry's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn private_mode() -> std::fs::Permissions {
    std::fs::Permissions::from_mode(0o700)
}

impl Store {
    /// The private work folder beside the store (`data/.buurtcirkel.work/` for
    /// `data/buurtcirkel.gpkg`).
    pub fn work_dir(&self) -> PathBuf {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "store".into(), |s| s.to_string_lossy().to_string());
        self.dir().join(format!(".{stem}.work"))
    }

    /// A fresh private folder for one job (`prefix` says which: `store-`, `upload-`) inside the
    /// work folder, both mode 0700 whatever the umask.
    ///
    /// # Errors
    /// The folders cannot be created (the store's folder is read-only or full).
    pub fn work_entry(&self, prefix: &str) -> std::io::Result<WorkEntry> {
        let work = self.work_dir();
        std::fs::create_dir_all(&work)?;
        std::fs::set_permissions(&work, private_mode())?;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(private_mode())
            .tempdir_in(&work)?;
        std::fs::set_permissions(dir.path(), private_mode())?;
        let in_use = std::fs::File::create(dir.path().join(IN_USE))?;
        in_use.try_lock().map_err(std::io::Error::other)?;
        Ok(WorkEntry {
            dir,
            _in_use: in_use,
        })
    }

    /// Removes what killed or crashed writers left behind: every entry of the work folder that
    /// no live process holds, and the `.tmp-` and `.upload-` leftovers older versions put
    /// beside the store. Needs the write lock, so no live writer's files are touched. Returns
    /// how many entries it removed.
    pub fn sweep(&self, lock: &WriteLock) -> usize {
        debug_assert_eq!(lock.store, self.path, "the lock of another store");
        let mut removed = 0;
        if let Ok(entries) = std::fs::read_dir(self.work_dir()) {
            for e in entries.flatten() {
                let path = e.path();
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    if in_use(&path) {
                        continue;
                    }
                    if std::fs::remove_dir_all(&path).is_ok() {
                        removed += 1;
                    }
                } else if std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
        }
        removed + self.sweep_legacy()
    }

    /// [`Store::sweep`] for a command that does not write (serve, export): takes the write
    /// lock only if it is free at once (a live writer swept when it took it) and only when
    /// there is a store or a work folder to sweep. Returns how many entries it removed.
    pub fn sweep_now(&self) -> usize {
        if !self.exists() && !self.work_dir().exists() {
            return 0;
        }
        self.acquire(std::time::Duration::ZERO, &|| {})
            .map(|lock| self.sweep(&lock))
            .unwrap_or(0)
    }

    /// `.<store>.tmp-*`, `.<private>.tmp-*` and `.upload-*` beside the store: where older
    /// versions of this program put their temporary copies and raw uploads.
    fn sweep_legacy(&self) -> usize {
        let names: Vec<String> = [self.path.clone(), self.private_path()]
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| format!(".{}.tmp-", n.to_string_lossy()))
            .chain(std::iter::once(".upload-".to_string()))
            .collect();
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                names.iter().any(|p| n.starts_with(p.as_str()))
            })
            .filter(|e| {
                let p = e.path();
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    std::fs::remove_dir_all(p).is_ok()
                } else {
                    std::fs::remove_file(p).is_ok()
                }
            })
            .count()
    }
}

/// True when a live process holds the entry's `in-use` lock.
fn in_use(entry: &Path) -> bool {
    let Ok(f) = std::fs::File::open(entry.join(IN_USE)) else {
        return false;
    };
    matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}
