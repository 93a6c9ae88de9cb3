//! One writer at a time across processes: two CLI imports and an upload into one store at once
//! keep every import that was acknowledged, and a server notices a store changed by the CLI.
//! The real binary, on free ports, over HTTP.

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach; a
// failed spawn or HTTP call is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buurtcirkel::http::config::sha256_hex;
use buurtcirkel::store::Store;

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

fn start(store: &Path, auth: &Path, log: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth"])
        .arg(auth)
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_CONFIG")
        .env_remove("BUURTCIRKEL_AUTH")
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
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/health", server.base)).send()
            && r.text().unwrap_or_default().contains("\"ready\"")
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server never got ready");
}

fn cli(store: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("BUURTCIRKEL_STORE")
        .output()
        .expect("run the CLI")
}

fn auth_file(dir: &Path) -> std::path::PathBuf {
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

#[test]
fn ten_runs_of_two_cli_imports_and_an_upload_at_once_keep_every_acknowledged_import() {
    let dir = tempfile::tempdir().expect("dir");
    let store_path = dir.path().join("s.gpkg");
    let store = Store::new(&store_path);
    buurtcirkel::service::write_demo(&store, false).expect("demo");
    let server = start(&store_path, &auth_file(dir.path()), &dir.path().join("log"));
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client");
    for run in 0..10 {
        let places = dir.path().join(format!("plekken{run}.csv"));
        std::fs::write(
            &places,
            format!("naam,soort,x,y\nPlek {run},wijkcentrum,150000,420000\n"),
        )
        .expect("places");
        let circles = dir.path().join(format!("cirkels{run}.csv"));
        std::fs::write(&circles, format!("naam,x,y\nCirkel {run},150500,420500\n"))
            .expect("circles");
        let n_clients = 3 + run;
        let mut clients = String::from("x,y\n");
        for i in 0..n_clients {
            clients.push_str(&format!("{},{}\n", 150_000 + 100 * i, 420_000 + 100 * run));
        }
        let (a, b, c) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                cli(
                    &store_path,
                    &["import", "places", places.to_str().expect("path")],
                )
            });
            let b = s.spawn(|| {
                cli(
                    &store_path,
                    &["import", "circles", circles.to_str().expect("path")],
                )
            });
            let c = s.spawn(|| {
                http.post(format!(
                    "{}/api/v1/imports/clients?filename=c.csv",
                    server.base
                ))
                .bearer_auth("admin-token")
                .body(clients.clone())
                .send()
                .expect("upload")
            });
            (
                a.join().expect("thread"),
                b.join().expect("thread"),
                c.join().expect("thread"),
            )
        });
        let data = store.load().expect("the store stays readable");
        if a.status.success() {
            assert!(
                data.places.iter().any(|p| p.name == format!("Plek {run}")),
                "run {run}: the acknowledged places import is lost"
            );
        }
        if b.status.success() {
            assert!(
                data.circles
                    .iter()
                    .any(|c| c.name == format!("Cirkel {run}")),
                "run {run}: the acknowledged circles import is lost"
            );
        }
        let upload_ok = c.status() == 200;
        if upload_ok {
            assert_eq!(
                data.clients.len(),
                n_clients,
                "run {run}: the acknowledged upload is lost"
            );
        }
        assert!(
            a.status.success() && b.status.success() && upload_ok,
            "run {run}: with a lock, every writer waits its turn and succeeds: {} / {} / {}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr),
            c.status()
        );
    }
}

#[test]
fn a_cli_import_while_the_server_runs_is_served_within_a_few_seconds() {
    let dir = tempfile::tempdir().expect("dir");
    let store_path = dir.path().join("s.gpkg");
    let store = Store::new(&store_path);
    buurtcirkel::service::write_demo(&store, false).expect("demo");
    let server = start(&store_path, &auth_file(dir.path()), &dir.path().join("log"));
    let places = dir.path().join("plekken.csv");
    std::fs::write(
        &places,
        "naam,soort,x,y\nBuurthuis Nieuw,wijkcentrum,150000,420000\n",
    )
    .expect("places");
    let out = cli(
        &store_path,
        &["import", "places", places.to_str().expect("path")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = Instant::now();
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/ogc/v1/collections/places/items", server.base);
    loop {
        let body = http.get(&url).send().expect("GET").text().expect("body");
        if body.contains("Buurthuis Nieuw") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the server still serves the old places after 5 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // An admin can ask for a reload at once; others may not.
    let r = http
        .post(format!("{}/api/v1/admin/reload", server.base))
        .send()
        .expect("POST");
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{}/api/v1/admin/reload", server.base))
        .bearer_auth("admin-token")
        .send()
        .expect("POST");
    assert_eq!(r.status(), 200);
}

#[test]
fn a_second_writer_waits_for_the_lock_and_fails_clearly_after_the_timeout() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::new(dir.path().join("s.gpkg"));
    let held = store.lock(Duration::ZERO, &|| {}).expect("first lock");
    let told = std::cell::Cell::new(false);
    let t = Instant::now();
    let err = store
        .lock(Duration::from_millis(300), &|| told.set(true))
        .expect_err("the lock is held");
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(told.get(), "the waiter is told it waits");
    assert!(err.to_string().contains("did not finish within"), "{err}");
    // Readers never take the lock: loading a (missing) store is not blocked.
    assert!(!store.exists());
    drop(held);
    store.lock(Duration::ZERO, &|| {}).expect("free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_upload_runs_to_its_end_and_is_never_answered_408_then_committed() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().expect("dir");
    let store = Store::new(dir.path().join("s.gpkg"));
    buurtcirkel::service::write_demo(&store, false).expect("demo");
    let auth = auth_file(dir.path());
    let config = buurtcirkel::http::config::ServeConfig {
        request_timeout_s: 1,
        ..buurtcirkel::http::config::ServeConfig::load(None, Some(&auth), |_| None).expect("config")
    };
    let state = buurtcirkel::http::AppState::new(config, Some(store.clone()), "http://test");
    state.load(store.load().expect("load")).expect("state");
    let app = buurtcirkel::http::server::router(state);

    // Another writer (a CLI import, say) holds the store for 2.5 s: the upload's import waits
    // for it, well past the 1 s request time limit.
    let held = store.lock(Duration::ZERO, &|| {}).expect("lock");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(2_500));
        drop(held);
    });
    let t = Instant::now();
    let r = app
        .clone()
        .oneshot(
            axum::http::Request::post("/api/v1/imports/places?filename=plekken.csv")
                .header("host", "test")
                .header("authorization", "Bearer admin-token")
                .body(Body::from(
                    "naam,soort,x,y\nTraag Buurthuis,wijkcentrum,150000,420000\n",
                ))
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    release.join().expect("thread");
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "it waited for the lock"
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let stored = store.load().expect("load").places;
    assert!(
        stored.iter().any(|p| p.name == "Traag Buurthuis"),
        "committed"
    );
    let served = app
        .oneshot(
            axum::http::Request::get("/ogc/v1/collections/places/items")
                .header("host", "test")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer")
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&served).contains("Traag Buurthuis"),
        "and served"
    );
}
