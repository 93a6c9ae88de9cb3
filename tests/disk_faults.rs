//! Disk full and read-only, against the real binary: the store lives on a small tmpfs of its
//! own, filled to the byte count each case needs (nothing left: the copy of the store fails; a
//! little left: SQLite fails inside GDAL while the new store or the private client file is
//! written), or remounted read-only. `import areas`, `import clients`, `analyse` and an HTTP
//! upload each fail with a sentence naming the file, its folder and the cause ("the disk
//! holding DIR is full", "DIR is read-only"), never `os error 28` or a bare GDAL code; an
//! upload answers 507 (full) or 503 (read-only). After each: the old store and its private
//! file are byte-identical, still load, and nothing is left in the work folder.
//!
//! Mounting needs root with `CAP_SYS_ADMIN`; without it the mount cases print `SKIP: ...` to
//! the real stderr, and the mapping of the causes is still tested ([`the_causes_are_sentences`]
//! here, `store::fault` unit tests). `DISK_FAULTS_BIN` may name another build of the binary
//! (an older one, to show this test failing there).
#![allow(clippy::expect_used)]
// A failed start panics before the child is waited for; the test process then ends anyway.
#![allow(clippy::zombie_processes)]

mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buurtcirkel::http::config::sha256_hex;
use buurtcirkel::store::{Store, StoreError};

fn binary() -> PathBuf {
    std::env::var_os("DISK_FAULTS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_buurtcirkel")))
}

fn command(store: &Path) -> Command {
    let mut c = Command::new(binary());
    c.arg("--store")
        .arg(store)
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_CONFIG")
        .env_remove("BUURTCIRKEL_AUTH")
        .env_remove("BUURTCIRKEL_LOG");
    c
}

/// A tmpfs mounted on a folder of a temporary directory, unmounted when dropped.
struct Mount {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Mount {
    /// A fresh tmpfs of `mib` MiB, or `None` (with a SKIP line) when mounting is not allowed.
    fn new(mib: u32, case: &str) -> Option<Mount> {
        let parent = tempfile::tempdir().expect("temp dir");
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).expect("mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount {
                dir,
                _parent: parent,
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIP: {case}: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {why}"
                );
                None
            }
        }
    }

    /// Remounts it read-only.
    fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .expect("mount")
            .success();
        assert!(ok, "remount read-only");
    }

    /// Fills it until only `free` bytes are left: a file written until the disk is full, then
    /// cut by `free` (tmpfs gives the pages back at once).
    fn fill_leaving(&self, free: u64) {
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0xA5u8; 64 * 1024];
        let mut written: u64 = 0;
        loop {
            match f.write(&chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
        f.set_len(written.saturating_sub(free)).expect("cut filler");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

/// The bytes of the store and its private client file.
fn bytes(store: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(store).expect("store"),
        std::fs::read(Store::new(store).private_path()).unwrap_or_default(),
    )
}

/// Asserts the store is exactly `before`, loads, and nothing is left beside it but the store,
/// its private file, its lock, the empty work folder and the filler.
fn assert_unchanged(store: &Path, before: &(Vec<u8>, Vec<u8>), what: &str) {
    assert!(bytes(store) == *before, "{what}: the store changed");
    Store::new(store)
        .load()
        .unwrap_or_else(|e| panic!("{what}: the old store no longer loads: {e}"));
    let dir = store.parent().expect("folder");
    let mut left = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        match name.as_str() {
            "s.gpkg" | "s.clients.gpkg" | ".s.gpkg.lock" | "filler" => {}
            ".s.work" => left.extend(
                std::fs::read_dir(e.path())
                    .expect("work folder")
                    .flatten()
                    .map(|w| format!(".s.work/{}", w.file_name().to_string_lossy())),
            ),
            _ => left.push(name),
        }
    }
    assert!(left.is_empty(), "{what}: left behind: {left:?}");
}

/// Asserts `msg` tells the cause in words: the sentence, no OS error number, no GDAL code.
fn assert_sentence(msg: &str, sentence: &str, what: &str) {
    assert!(msg.contains(sentence), "{what}: lacks {sentence:?}:\n{msg}");
    for raw in ["os error", "returned error", "Error msg", "CPL error"] {
        assert!(!msg.contains(raw), "{what}: a raw {raw:?} in:\n{msg}");
    }
}

/// The demo store, written on the mount.
fn demo_on(mount: &Mount) -> PathBuf {
    let store = mount.dir.join("s.gpkg");
    let out = Command::new(binary())
        .args(["demo", "--out"])
        .arg(&store)
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    store
}

/// A client file of 20,000 rows around the demo town (its private file takes ~2 MiB).
fn client_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("x,y,doelgroep\n");
    for i in 0..20_000 {
        let x = 147_000 + (i * 7919) % 6000;
        let y = 417_000 + (i * 104_729) % 6000;
        text.push_str(&format!("{x},{y},65+\n"));
    }
    let path = dir.join("clienten.csv");
    std::fs::write(&path, text).expect("client file");
    path
}

/// Runs `args` on `store`; returns the exit code and stderr.
fn run(store: &Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = command(store).args(args).output().expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_causes_are_sentences() {
    let store = PathBuf::from("/srv/atlas/s.gpkg");
    let io = |raw: i32| StoreError::Io {
        path: store.clone(),
        action: "copying the store before changing it",
        source: std::io::Error::from_raw_os_error(raw),
    };
    let full = io(28).classified().to_string();
    assert_sentence(&full, "the disk holding /srv/atlas is full", "ENOSPC");
    assert!(full.contains("/srv/atlas/s.gpkg"), "names the file: {full}");
    assert_sentence(
        &io(30).classified().to_string(),
        "/srv/atlas is read-only",
        "EROFS",
    );
    assert_sentence(
        &io(13).classified().to_string(),
        "permission denied",
        "EACCES",
    );
    let sqlite = StoreError::Gdal {
        path: store.clone(),
        action: "committing".into(),
        reason: "sqlite3_exec(COMMIT) failed: database or disk is full".into(),
    };
    assert_sentence(
        &sqlite.classified().to_string(),
        "the disk holding /srv/atlas is full",
        "SQLITE_FULL",
    );
    let other = StoreError::Gdal {
        path: store,
        action: "writing places".into(),
        reason: "UNIQUE constraint failed".into(),
    };
    assert!(
        other.classified().to_string().contains("UNIQUE constraint"),
        "any other cause stays as it is"
    );
}

#[test]
fn a_full_disk_fails_each_write_with_a_sentence_and_leaves_the_store_as_it_was() {
    let inputs = tempfile::tempdir().expect("inputs");
    let areas = inputs.path().join("wijkenbuurten.gpkg");
    common::cbs_2022_gpkg(&areas);
    let csv = client_csv(inputs.path());
    // (case, arguments, bytes left on the disk beyond the store's size: 0 = not even the
    // copy of the store fits; else the copy fits and GDAL fails while writing into it).
    let cases: [(&str, Vec<&std::ffi::OsStr>, Option<u64>); 3] = [
        (
            "import areas, nothing left",
            vec!["import".as_ref(), "areas".as_ref(), areas.as_os_str()],
            None,
        ),
        (
            "import clients, 256 KiB left",
            vec!["import".as_ref(), "clients".as_ref(), csv.as_os_str()],
            Some(256 * 1024),
        ),
        (
            "analyse, the store's size and 64 KiB left",
            vec!["analyse".as_ref(), "--top".as_ref(), "1".as_ref()],
            Some(64 * 1024),
        ),
    ];
    for (case, args, left) in cases {
        let Some(mount) = Mount::new(8, case) else {
            return;
        };
        let store = demo_on(&mount);
        let free = match left {
            None => 0,
            Some(extra) if case.starts_with("analyse") => {
                std::fs::metadata(&store).expect("stat").len() + extra
            }
            Some(extra) => extra,
        };
        mount.fill_leaving(free);
        let before = bytes(&store);
        let (code, stderr) = run(&store, &args);
        assert_eq!(code, Some(1), "{case}: expected failure:\n{stderr}");
        let sentence = format!("the disk holding {} is full", mount.dir.display());
        assert_sentence(&stderr, &sentence, case);
        // The file being written: the store, or its private client file for a client import.
        let private = Store::new(&store).private_path();
        assert!(
            stderr.contains(&format!("store {}: ", store.display()))
                || stderr.contains(&format!("store {}: ", private.display())),
            "{case}: names the file:\n{stderr}"
        );
        assert_unchanged(&store, &before, case);
    }
}

#[test]
fn a_read_only_folder_fails_with_a_sentence() {
    let inputs = tempfile::tempdir().expect("inputs");
    let areas = inputs.path().join("wijkenbuurten.gpkg");
    common::cbs_2022_gpkg(&areas);
    let Some(mount) = Mount::new(8, "read-only") else {
        return;
    };
    let store = demo_on(&mount);
    mount.read_only();
    let before = bytes(&store);
    for args in [
        vec!["import".as_ref(), "areas".as_ref(), areas.as_os_str()],
        vec![
            std::ffi::OsStr::new("analyse"),
            "--top".as_ref(),
            "1".as_ref(),
        ],
    ] {
        let what = format!("{args:?} on a read-only folder");
        let (code, stderr) = run(&store, &args);
        assert_eq!(code, Some(1), "{what}: expected failure:\n{stderr}");
        assert_sentence(
            &stderr,
            &format!("{} is read-only", mount.dir.display()),
            &what,
        );
        assert_unchanged(&store, &before, &what);
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on `store` with an admin token `admin-token`; its TMPDIR and log are in
/// `aside` (not on the mount).
fn start(store: &Path, aside: &Path) -> Server {
    let auth = aside.join("auth.toml");
    std::fs::write(
        &auth,
        format!(
            "read = \"public\"\n[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            sha256_hex("admin-token")
        ),
    )
    .expect("auth");
    let mut child = command(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth"])
        .arg(&auth)
        .env("TMPDIR", aside)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(aside.join("log")).expect("log"))
        .spawn()
        .expect("start serve");
    let out = child.stdout.take().expect("stdout");
    let mut base = String::new();
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(rest) = line.split("listens on ").nth(1) {
            base = rest
                .split_whitespace()
                .next()
                .expect("url")
                .trim_end_matches('/')
                .to_string();
            break;
        }
    }
    assert!(!base.is_empty(), "no 'listens on' line");
    let server = Server { child, base };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::blocking::get(format!("{}/ready", server.base))
            && r.status() == 200
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server never got ready");
}

/// Uploads `body` as a client file; returns the status and the body.
fn upload(server: &Server, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
        .post(format!(
            "{}/api/v1/imports/clients?filename=clienten.csv",
            server.base
        ))
        .bearer_auth("admin-token")
        .body(body)
        .send()
        .expect("upload");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

#[test]
fn an_upload_to_a_full_or_read_only_disk_is_507_or_503_and_changes_nothing() {
    let aside = tempfile::tempdir().expect("aside");
    let body = std::fs::read(client_csv(aside.path())).expect("csv");
    for (case, status, words) in [
        ("full", 507, "the disk holding the store is full"),
        ("read-only", 503, "read-only"),
    ] {
        let what = format!("upload to a {case} disk");
        let Some(mount) = Mount::new(8, &what) else {
            return;
        };
        let store = demo_on(&mount);
        let server = start(&store, aside.path());
        if case == "full" {
            // Room for the raw upload, not for the private file it becomes.
            mount.fill_leaving(1024 * 1024);
        } else {
            mount.read_only();
        }
        let before = bytes(&store);
        let (got, detail) = upload(&server, body.clone());
        assert_eq!(got, status, "{what}: {detail}");
        assert!(detail.contains(words), "{what}: {detail}");
        assert!(
            !detail.contains(&mount.dir.display().to_string()),
            "{what}: the answer shows a server path: {detail}"
        );
        // Still serving the old data.
        let r = reqwest::blocking::get(format!("{}/ready", server.base)).expect("ready");
        assert_eq!(r.status(), 200, "{what}: still ready");
        drop(server);
        assert_unchanged(&store, &before, &what);
        let temp: Vec<_> = std::fs::read_dir(aside.path())
            .expect("aside")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| !["auth.toml", "log", "clienten.csv"].contains(&n.as_str()))
            .collect();
        assert!(temp.is_empty(), "{what}: left in TMPDIR: {temp:?}");
    }
}
