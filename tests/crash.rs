//! Crash hygiene under fault injection: the real binary is killed with SIGKILL at 20 moments
//! during a CLI import of a 20,000-row client file and at 20 moments during the same upload
//! over HTTP. After each kill the store and its private client file load, and hold either the
//! content from before the import or the content after it (never a mix); the next start of
//! the program leaves no temporary copy or raw upload behind, anywhere beside the store nor in
//! the server's system temp folder (each server gets its own `TMPDIR`, inside the run's folder).
//!
//! The moments are spread evenly over 1.5 times the time one undisturbed run takes until the new
//! store is on disk (measured first), so the kills land while the file is read, while the new files are
//! written and around the rename. The counts of old and new stores are printed (`cargo test --test crash --
//! --nocapture`).

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach; a
// failed spawn or HTTP call is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buurtcirkel::http::config::sha256_hex;
use buurtcirkel::model::Client;
use buurtcirkel::store::Store;

const KILLS: u32 = 20;
const ROWS: usize = 20_000;

/// The binary under test (`CRASH_BIN` may name another build of it, e.g. an older one to show
/// that this test fails there).
fn binary() -> PathBuf {
    std::env::var_os("CRASH_BIN")
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
        .env_remove("BUURTCIRKEL_AUTH");
    c
}

/// What an import changes, without the import time: the clients and the import log.
#[derive(Debug, PartialEq)]
struct Content {
    /// Positions and target groups, sorted: rows are shuffled and keys drawn anew on every
    /// import, so two runs of one import differ in order and keys only.
    clients: Vec<(u64, u64, Option<String>)>,
    log: Vec<(String, String, i64)>,
    other: usize,
}

fn content(store: &Path) -> Content {
    let data = Store::new(store)
        .load()
        .unwrap_or_else(|e| panic!("the store no longer loads after a kill: {e}"));
    Content {
        clients: {
            let mut c: Vec<(u64, u64, Option<String>)> = data
                .clients
                .into_iter()
                .map(|c: Client| {
                    (
                        c.position_rd.x().to_bits(),
                        c.position_rd.y().to_bits(),
                        c.doelgroep,
                    )
                })
                .collect();
            c.sort();
            c
        },
        log: data
            .imports
            .iter()
            .map(|e| (e.kind.clone(), e.source.clone(), e.rows))
            .collect(),
        other: data.areas.len() + data.places.len() + data.circles.len(),
    }
}

/// A client file of `ROWS` rows around the demo town.
fn client_csv(dir: &Path) -> PathBuf {
    let mut text = String::from("x,y,doelgroep\n");
    for i in 0..ROWS {
        let x = 147_000 + (i * 7919) % 6000;
        let y = 417_000 + (i * 104_729) % 6000;
        text.push_str(&format!("{x},{y},{}\n", ["65+", "mantelzorg"][i % 2]));
    }
    let path = dir.join("clienten.csv");
    std::fs::write(&path, text).expect("client file");
    path
}

/// Files beside the store that are neither the store, its private file, its lock, its (empty)
/// work folder nor the test's own inputs: what a killed process left behind.
fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        match name.as_str() {
            "s.gpkg" | "s.clients.gpkg" | ".s.gpkg.lock" | "clienten.csv" | "auth.toml" | "log" => {
            }
            // The server's own system temp folder (TMPDIR): a raw upload there (names, birth
            // dates) outlives a kill as surely as one beside the store.
            TMP => {
                for w in std::fs::read_dir(e.path()).expect("temp dir").flatten() {
                    out.push(format!("{TMP}/{}", w.file_name().to_string_lossy()));
                }
            }
            ".s.work" => {
                for w in std::fs::read_dir(e.path()).expect("work dir").flatten() {
                    out.push(format!(".s.work/{}", w.file_name().to_string_lossy()));
                }
            }
            // SQLite's journal of an open GeoPackage would be a leftover too.
            _ => out.push(name),
        }
    }
    out.sort();
    out
}

/// Copies the store and its private file from `from` into the empty folder `to`.
fn copy_store(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).expect("run dir");
    for n in ["s.gpkg", "s.clients.gpkg"] {
        if from.join(n).exists() {
            std::fs::copy(from.join(n), to.join(n)).expect("copy store");
        }
    }
    to.join("s.gpkg")
}

/// Checks one killed run: the store is the old or the new one, its private file stays 0600;
/// returns true for new.
fn classify(store: &Path, old: &Content, new: &Content, what: &str) -> bool {
    let now = content(store);
    let private = Store::new(store).private_path();
    if private.exists() {
        let mode = std::fs::metadata(&private)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{what}: the private file became readable by others"
        );
    }
    if now == *new {
        true
    } else {
        assert!(
            now == *old,
            "{what}: the store is neither the old nor the new one ({} clients, {} log rows)",
            now.clients.len(),
            now.log.len()
        );
        false
    }
}

fn kill9(child: &mut Child) {
    // SIGKILL, as a crash or the OOM killer would: no destructor runs.
    let _ = child.kill();
    let _ = child.wait();
}

/// The moments to kill at: spread evenly over one and a half undisturbed runs of `full` (a
/// run under load takes longer, so some kills still land after the rename).
fn moments(full: Duration) -> Vec<Duration> {
    (1..=KILLS).map(|i| full * 3 * i / (2 * KILLS)).collect()
}

#[test]
fn a_cli_import_killed_at_20_moments_leaves_the_old_or_the_new_store_and_no_leftovers() {
    let dir = tempfile::tempdir().expect("dir");
    let base = dir.path().join("base");
    std::fs::create_dir(&base).expect("base");
    let base_store = base.join("s.gpkg");
    buurtcirkel::service::write_demo(&Store::new(&base_store), false).expect("demo");
    let csv = client_csv(dir.path());
    let old = content(&base_store);

    // One undisturbed import: how long it takes, and what the new store holds.
    let reference = copy_store(&base, &dir.path().join("reference"));
    let start = Instant::now();
    let out = command(&reference)
        .args(["import", "clients"])
        .arg(&csv)
        .output()
        .expect("import");
    let full = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = content(&reference);
    assert_ne!(
        old, new,
        "the import must change the store for this test to mean anything"
    );

    let (mut n_old, mut n_new) = (0, 0);
    for (i, at) in moments(full).into_iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        let store = copy_store(&base, &run);
        let mut child = command(&store)
            .args(["import", "clients"])
            .arg(&csv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn import");
        std::thread::sleep(at);
        kill9(&mut child);
        let what = format!("kill {} at {} ms", i + 1, at.as_millis());
        if classify(&store, &old, &new, &what) {
            n_new += 1;
        } else {
            n_old += 1;
        }
        // The next start of the program (a read-only command) sweeps what the kill left.
        let out = command(&store)
            .args(["analyse", "--top", "1"])
            .output()
            .expect("analyse");
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left = leftovers(&run);
        assert!(
            left.is_empty(),
            "{what}: left behind after the next start: {left:?}"
        );
    }
    eprintln!(
        "crash (CLI import, {ROWS} rows, undisturbed {} ms): {KILLS} kills, {n_old} old, {n_new} new, 0 leftovers",
        full.as_millis()
    );
    assert_eq!(n_old + n_new, KILLS as usize);
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        kill9(&mut self.child);
    }
}

/// The server's system temp folder, inside the folder of its store: [`leftovers`] looks in it.
const TMP: &str = "tmp";

fn start(store: &Path, auth: &Path, log: &Path) -> Server {
    let tmp = store.parent().expect("store folder").join(TMP);
    std::fs::create_dir_all(&tmp).expect("temp folder");
    let mut child = command(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth"])
        .arg(auth)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log"))
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
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/ready", server.base)).send()
            && r.status() == 200
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server never got ready");
}

fn auth_file(dir: &Path) -> PathBuf {
    let p = dir.join("auth.toml");
    std::fs::write(
        &p,
        format!(
            "read = \"public\"\n[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            sha256_hex("admin-token")
        ),
    )
    .expect("auth");
    p
}

/// Starts the upload of `body` on its own thread; returns the thread.
fn upload(base: &str, body: Vec<u8>) -> std::thread::JoinHandle<Option<u16>> {
    let url = format!("{base}/api/v1/imports/clients?filename=clienten.csv");
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .expect("client")
            .post(url)
            .bearer_auth("admin-token")
            .body(body)
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    })
}

#[test]
fn an_upload_killed_at_20_moments_leaves_the_old_or_the_new_store_and_no_leftovers() {
    let dir = tempfile::tempdir().expect("dir");
    let base = dir.path().join("base");
    std::fs::create_dir(&base).expect("base");
    let base_store = base.join("s.gpkg");
    buurtcirkel::service::write_demo(&Store::new(&base_store), false).expect("demo");
    let body = std::fs::read(client_csv(dir.path())).expect("read csv");
    let old = content(&base_store);

    let reference = dir.path().join("reference");
    let store = copy_store(&base, &reference);
    let auth = auth_file(&reference);
    let server = start(&store, &auth, &reference.join("log"));
    // The moments are spread over the time until the new store is on disk (the answer comes
    // later, after the served snapshot is reloaded).
    let before = Store::new(&store).version();
    let begin = Instant::now();
    let sent = upload(&server.base, body.clone());
    while Store::new(&store).version() == before && begin.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let full = begin.elapsed() + Duration::from_millis(200);
    let status = sent.join().expect("thread");
    assert_eq!(status, Some(200), "the undisturbed upload succeeds");
    drop(server);
    let new = content(&store);
    assert_ne!(
        old, new,
        "the upload must change the store for this test to mean anything"
    );

    let (mut n_old, mut n_new) = (0, 0);
    for (i, at) in moments(full).into_iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        let store = copy_store(&base, &run);
        let auth = auth_file(&run);
        let mut server = start(&store, &auth, &run.join("log"));
        let sent = upload(&server.base, body.clone());
        std::thread::sleep(at);
        kill9(&mut server.child);
        let _ = sent.join();
        let what = format!("kill {} at {} ms", i + 1, at.as_millis());
        if classify(&store, &old, &new, &what) {
            n_new += 1;
        } else {
            n_old += 1;
        }
        // The next start of the server sweeps the raw upload and any temporary copy.
        let again = start(&store, &auth, &run.join("log"));
        let left = leftovers(&run);
        drop(again);
        assert!(
            left.is_empty(),
            "{what}: left behind after the next start: {left:?}"
        );
        classify(&store, &old, &new, &what);
    }
    eprintln!(
        "crash (HTTP upload, {ROWS} rows, new store on disk after {} ms): {KILLS} kills, {n_old} old, {n_new} new, 0 leftovers",
        full.as_millis()
    );
    assert_eq!(n_old + n_new, KILLS as usize);
}
