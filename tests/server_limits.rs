//! Server limits: a flood of new parameter sets gets 503 + Retry-After past the analysis
//! slots instead of queueing, while cached reads and `/health` keep answering; `/ready` is 503
//! until the data is loaded. Against the real binary: slow connections neither hold file
//! descriptors nor stop `/health` (header-read timeout, connection cap), and one client's burst
//! of new parameter sets gets 429 while another client's cached tile answers fast.

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach.
#![allow(clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::store::StoreData;
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn demo_data() -> StoreData {
    let d = buurtcirkel::demo::generate();
    StoreData {
        areas: d.areas,
        clients: d.clients,
        places: d.places,
        circles: d.circles,
        // The demo's fictional clients: every parameter set is open, as on a demo store.
        clients_demo: true,
        ..Default::default()
    }
}

async fn get(app: &axum::Router, uri: &str) -> (u16, Option<String>) {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "test")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let _ = r.into_body().collect().await;
    (status, retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_new_parameter_sets_is_refused_with_retry_after_while_cached_reads_answer() {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(demo_data()).expect("load");
    state.warm_up().await;
    let app = router(state);
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                get(
                    &app,
                    &format!("/api/v1/scores/buurten?walk_m={}", 200 + 100 * i),
                )
                .await
            })
        })
        .collect();
    let cached = get(&app, "/api/v1/scores/buurten").await;
    let health = get(&app, "/health").await;
    let mut ok = 0;
    let mut busy = 0;
    for f in flood {
        match f.await.expect("task") {
            (200, _) => ok += 1,
            (503, Some(r)) => {
                assert!(r.parse::<u32>().is_ok_and(|s| s > 0), "Retry-After {r}");
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(ok >= 1, "some new sets are computed");
    assert!(busy >= 1, "the rest are refused, not queued: {ok} ok");
    assert_eq!(cached.0, 200, "the cached default answers during the flood");
    assert_eq!(health.0, 200);
}

#[tokio::test]
async fn ready_is_503_until_the_data_is_loaded_and_health_is_200_throughout() {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    let app = router(state.clone());
    let (status, retry) = get(&app, "/ready").await;
    assert_eq!(status, 503);
    assert!(retry.is_some(), "Retry-After while loading");
    assert_eq!(get(&app, "/health").await.0, 200, "alive while loading");
    state.load(demo_data()).expect("load");
    assert_eq!(get(&app, "/ready").await.0, 200);
}

/// The real binary serving a demo store, stopped when dropped.
struct Server {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on a free port over a fresh demo store, with `env` set and, when
/// `open_files` is given, the process's open-file limit lowered to it (`ulimit -n`).
fn start(env: &[(&str, &str)], open_files: Option<u32>) -> Server {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("s.gpkg");
    let bin = env!("CARGO_BIN_EXE_buurtcirkel");
    let demo = std::process::Command::new(bin)
        .args(["demo", "--out"])
        .arg(&store)
        .output()
        .expect("demo");
    assert!(demo.status.success(), "demo store: {demo:?}");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(match open_files {
            Some(n) => format!("ulimit -n {n} && exec \"$0\" \"$@\""),
            None => "exec \"$0\" \"$@\"".into(),
        })
        .arg(bin)
        .arg("--store")
        .arg(&store)
        .args(["serve", "--addr", "127.0.0.1:0"]);
    for var in [
        "BUURTCIRKEL_STORE",
        "BUURTCIRKEL_ADDR",
        "BUURTCIRKEL_CONFIG",
        "BUURTCIRKEL_AUTH",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .env("BUURTCIRKEL_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("serve");
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
    let server = Server {
        child,
        base,
        _dir: dir,
    };
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http
            .get(format!("{}/ready", server.base))
            .send()
            .is_ok_and(|r| r.status() == 200)
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server never got ready");
}

impl Server {
    fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("address")
    }
}

/// Opens a connection and sends the first half of a request header, never the rest.
fn half_header(addr: std::net::SocketAddr) -> Option<std::net::TcpStream> {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: ");
    Some(s)
}

#[test]
fn five_hundred_slow_connections_sending_half_a_header_do_not_stop_health_answering_within_a_second()
 {
    // 256 open files: without a connection cap, 500 held connections leave the server no
    // descriptor to accept /health with (issue 13: 1,100 slow connections did that).
    let server = start(&[], Some(256));
    let addr = server.addr();
    let slow: Vec<_> = (0..500).filter_map(|_| half_header(addr)).collect();
    assert!(
        slow.len() >= 450,
        "only {} slow connections opened",
        slow.len()
    );
    std::thread::sleep(Duration::from_millis(300));
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("client");
    let t = Instant::now();
    let r = http
        .get(format!("{}/health", server.base))
        .send()
        .expect("/health answers within 1 s while 500 slow connections are held");
    let ms = t.elapsed().as_millis();
    println!(
        "/health with {} slow connections: {} in {ms} ms",
        slow.len(),
        r.status()
    );
    assert_eq!(r.status(), 200);
    assert!(ms < 1000, "/health took {ms} ms");
    drop(slow);
}

#[test]
fn a_half_header_and_an_idle_kept_alive_connection_are_closed_after_the_header_read_timeout() {
    use std::io::{Read, Write};
    let server = start(&[("BUURTCIRKEL_HEADER_READ_TIMEOUT_S", "1")], None);
    let closed_within = |mut s: std::net::TcpStream, skip_response: bool| -> Duration {
        s.set_read_timeout(Some(Duration::from_secs(6)))
            .expect("timeout");
        let t = Instant::now();
        let mut buf = [0u8; 4096];
        let mut seen_response = !skip_response;
        loop {
            match s.read(&mut buf) {
                Ok(0) => return t.elapsed(),
                Ok(n) => {
                    seen_response = true;
                    assert!(n > 0);
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return t.elapsed(),
                Err(e) => panic!(
                    "still open after {:?} (response seen: {seen_response}): {e}",
                    t.elapsed()
                ),
            }
        }
    };
    let slow = half_header(server.addr()).expect("connect");
    let waited = closed_within(slow, false);
    println!("half header closed after {waited:?}");
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");

    let mut idle = std::net::TcpStream::connect(server.addr()).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: idle\r\n\r\n")
        .expect("request");
    let waited = closed_within(idle, true);
    println!("idle kept-alive connection closed after {waited:?}");
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");
}

#[test]
fn a_burst_of_new_parameter_sets_from_one_client_gets_429_while_another_clients_cached_tile_answers_fast()
 {
    let server = start(
        &[
            ("BUURTCIRKEL_NEW_SETS_PER_MINUTE", "6"),
            ("BUURTCIRKEL_NEW_SETS_BURST", "3"),
        ],
        None,
    );
    let tile = format!(
        "{}/ogc/v1/collections/buurten/tiles/WebMercatorQuad/0/0/0",
        server.base
    );
    // Client B, from another loopback address, warms its tile first.
    let b = reqwest::blocking::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client b");
    let warm = b.get(&tile).send().expect("tile").status().as_u16();
    assert!(warm == 200 || warm == 204, "tile {warm}");

    let base = server.base.clone();
    let flood = std::thread::spawn(move || {
        let a = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client a");
        (0..10)
            .map(|i| {
                let r = a
                    .get(format!(
                        "{base}/api/v1/scores/buurten?walk_m={}",
                        1100 + 100 * i
                    ))
                    .send()
                    .expect("scores");
                let retry = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                (r.status().as_u16(), retry)
            })
            .collect::<Vec<_>>()
    });
    let mut slowest = Duration::ZERO;
    let mut reads = 0;
    while !flood.is_finished() || reads < 20 {
        let t = Instant::now();
        let s = b.get(&tile).send().expect("cached tile").status().as_u16();
        slowest = slowest.max(t.elapsed());
        assert_eq!(s, warm, "the cached tile answers the same during the flood");
        reads += 1;
    }
    let answers = flood.join().expect("flood");
    println!("client a: {answers:?}; client b: {reads} cached tile reads, slowest {slowest:?}");
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _)| *s == 429).collect();
    assert!(
        (1..=3).contains(&ok),
        "the burst of 3 is computed: {answers:?}"
    );
    assert!(
        limited.len() >= 5,
        "the rest is refused with 429: {answers:?}"
    );
    assert!(
        limited.iter().all(|(_, r)| r.is_some_and(|s| s > 0)),
        "every 429 says when to try again: {answers:?}"
    );
    assert!(
        slowest < Duration::from_millis(250),
        "slowest cached read {slowest:?}"
    );
    let own = b
        .get(format!("{}/api/v1/scores/buurten?walk_m=2500", server.base))
        .send()
        .expect("b's own new set")
        .status();
    assert_eq!(
        own, 200,
        "client b's own new set is not limited by a's burst"
    );
}
