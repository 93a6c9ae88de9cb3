//! `serve` end to end: the real binary on a free port, talked to over HTTP the way a client
//! does, and stopped with SIGTERM.

// The server helpers below run outside `#[test]` functions, where `allow-expect-in-tests` does
// not reach; a failed spawn or HTTP call is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;

/// A running server, killed on drop if a test fails before stopping it.
struct Server {
    child: Child,
    base: String,
    started: Instant,
    stdout: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `buurtcirkel serve --addr 127.0.0.1:0` on `store` and waits for its address line.
fn start(store: &Path, log: &Path) -> Server {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_LOG")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start buurtcirkel serve");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child,
        base: String::new(),
        started,
        stdout: rx,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match server.stdout.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split("listens on ").nth(1) {
                    let url = rest.split_whitespace().next().expect("url");
                    server.base = url.trim_end_matches('/').to_string();
                    return server;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    panic!(
        "the server printed no 'listens on' line; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// Polls `/health` until it answers 200 with the data loaded.
fn wait_until_ready(server: &Server, http: &Client) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut first_ok: Option<Duration> = None;
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/health", server.base)).send()
            && r.status() == 200
        {
            first_ok.get_or_insert_with(|| server.started.elapsed());
            let body: Value = r.json().expect("health json");
            if body["data"] == "ready" {
                return first_ok.unwrap_or_default();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server never reported its data ready");
}

fn get(http: &Client, url: &str) -> Response {
    http.get(url).send().expect("GET")
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ascii header")
}

/// Sends SIGTERM and returns the exit code, waiting at most 5 seconds.
fn terminate(server: &mut Server) -> Option<i32> {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(s) = server.child.try_wait().expect("wait") {
            return s.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop within 5 s of SIGTERM");
}

fn assert_lon_lat_in_the_netherlands(v: &Value) {
    match v {
        Value::Array(items) if items.len() == 2 && items.iter().all(Value::is_number) => {
            let lon = items[0].as_f64().expect("lon");
            let lat = items[1].as_f64().expect("lat");
            assert!(
                (3.2..=7.3).contains(&lon) && (50.7..=53.6).contains(&lat),
                "({lon}, {lat}) is not longitude/latitude in the Netherlands"
            );
        }
        Value::Array(items) => items.iter().for_each(assert_lon_lat_in_the_netherlands),
        other => panic!("unexpected coordinate value {other}"),
    }
}

#[test]
fn a_new_server_writes_the_demo_pages_its_buurten_and_stops_on_sigterm() {
    let dir = common::tmp();
    let store = dir.path().join("s.gpkg");
    assert!(!store.exists());
    let mut server = start(&store, &dir.path().join("server.log"));
    let http = client();

    let healthy_after = wait_until_ready(&server, &http);
    assert!(
        healthy_after < Duration::from_secs(5),
        "/health took {healthy_after:?} to answer 200"
    );
    assert!(store.exists(), "serve must write the demo store");

    let mut url = format!("{}/ogc/v1/collections/buurten/items?limit=10", server.base);
    let mut codes = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(&http, &url);
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(header(&r, "api-version"), "1.0.0");
        assert!(header(&r, "content-crs").contains("CRS84"));
        assert!(header(&r, "content-type").starts_with("application/geo+json"));
        let page: Value = r.json().expect("geojson");
        pages += 1;
        assert_eq!(page["type"], "FeatureCollection");
        assert_eq!(page["numberMatched"], 30, "the demo has 30 buurten");
        let features = page["features"].as_array().expect("features");
        assert_eq!(page["numberReturned"], features.len());
        assert!(features.len() <= 10);
        for f in features {
            assert_eq!(f["properties"]["niveau"], "buurt");
            codes.push(f["id"].as_str().expect("id").to_string());
            assert_lon_lat_in_the_netherlands(&f["geometry"]["coordinates"]);
        }
        let next = page["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().expect("href").to_string());
        match next {
            Some(n) => url = n,
            None => break,
        }
        assert!(pages < 10, "next links do not end");
    }
    assert_eq!(pages, 3);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 30, "pages overlap or miss buurten: {codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("BU9999")));

    assert_eq!(terminate(&mut server), Some(0));
}

#[test]
fn bad_requests_get_problem_details_with_400_or_404() {
    let dir = common::tmp();
    let store = dir.path().join("s.gpkg");
    let mut server = start(&store, &dir.path().join("server.log"));
    let http = client();
    wait_until_ready(&server, &http);

    let items = format!("{}/ogc/v1/collections", server.base);
    for (path, status, mentions) in [
        ("provincies/items", 404, "provincies"),
        ("buurten/items?limit=0", 400, "limit"),
        ("buurten/items?limit=abc", 400, "limit"),
        // A limit above the maximum is clamped (Features Core; tests/ogc_api.rs), not refused.
        ("buurten/items?datetime=gisteren", 400, "datetime"),
        (
            "buurten/items?filter=score%20%3E%3E%201",
            400,
            "character 8",
        ),
        ("buurten/items?offset=-1", 400, "offset"),
        ("buurten/items?f=xml", 400, "f=xml"),
        ("buurten/items?foo=1", 400, "unknown parameter 'foo'"),
    ] {
        let r = get(&http, &format!("{items}/{path}"));
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(
            header(&r, "content-type"),
            "application/problem+json",
            "{path}"
        );
        assert_eq!(header(&r, "api-version"), "1.0.0", "{path}");
        let body: Value = r.json().expect("problem json");
        assert_eq!(body["status"], status, "{path}");
        assert!(body["title"].is_string(), "{path}");
        let detail = body["detail"].as_str().expect("detail");
        assert!(detail.contains(mentions), "{path}: {detail}");
    }

    assert_eq!(terminate(&mut server), Some(0));
}

#[test]
fn an_unknown_path_gets_a_problem_details_404() {
    let dir = common::tmp();
    let store = dir.path().join("s.gpkg");
    let mut server = start(&store, &dir.path().join("server.log"));
    let http = client();
    wait_until_ready(&server, &http);

    let r = get(&http, &format!("{}/ogc/v1/nope", server.base));
    assert_eq!(r.status(), 404);
    assert_eq!(header(&r, "content-type"), "application/problem+json");

    assert_eq!(terminate(&mut server), Some(0));
}

#[test]
fn serve_refuses_a_geopackage_that_is_not_a_store() {
    let dir = common::tmp();
    let foreign = dir.path().join("percelen.gpkg");
    common::write_vector(
        &foreign,
        "GPKG",
        &[common::LayerSpec::new("percelen")
            .text("perceel")
            .feature(&common::square(common::X0, common::Y0, 50.0), cells!["A 1"])],
    );
    let bytes = std::fs::read(&foreign).expect("read");

    let run = common::bc([
        std::ffi::OsStr::new("--store"),
        foreign.as_os_str(),
        "serve".as_ref(),
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    run.assert_failed()
        .assert_error_mentions(&["percelen.gpkg", "not a Buurtcirkel Atlas store"]);
    assert!(std::fs::read(&foreign).expect("read") == bytes);
}

#[test]
fn a_slider_move_scores_one_level_alone_and_answers_what_the_full_results_say() {
    // A weights change that is not cached is scored for the asked level only (no stability,
    // no other collections): the map's recolour. Its rows must equal those of the full results,
    // which the items of the same set compute, and the scores answered from them afterwards.
    let dir = common::tmp();
    let store = dir.path().join("s.gpkg");
    let mut server = start(&store, &dir.path().join("server.log"));
    let http = client();
    wait_until_ready(&server, &http);
    // The server computes the public menu in the background after start: read each menu set
    // once (waiting for its computation) so that none is built during the measurements below.
    for walk in [600, 800, 1000] {
        let url = format!(
            "{}/ogc/v1/collections/buurten/items?limit=1&walk_m={walk}",
            server.base
        );
        assert_eq!(get(&http, &url).status(), 200, "{url}");
    }
    for (level, set) in [
        ("buurten", "w_p_65plus=7&w_participants=1"),
        ("wijken", "w_p_bijstand=0&t_geschikt=55"),
        ("buurten", "walk_m=600&w_meeting_place=9"),
    ] {
        let url = format!("{}/api/v1/scores/{level}?{set}", server.base);
        let builds = || {
            let m = get(&http, &format!("{}/metrics", server.base))
                .text()
                .expect("metrics");
            m.lines()
                .find(|l| l.starts_with("buurtcirkel_cache_misses_total{cache=\"results\"}"))
                .and_then(|l| l.rsplit(' ').next())
                .map(|n| n.to_string())
                .expect("results misses in /metrics")
        };
        let before = builds();
        let fast = get(&http, &url);
        assert_eq!(fast.status(), 200, "{url}");
        let fast: Value = fast.json().expect("scores");
        assert_eq!(
            builds(),
            before,
            "{url}: a slider move built the full results"
        );
        let items = format!(
            "{}/ogc/v1/collections/{level}/items?limit=1000&{set}",
            server.base
        );
        let full: Value = get(&http, &items).json().expect("items");
        let again: Value = get(&http, &url).json().expect("scores");
        assert_eq!(
            fast["rows"], again["rows"],
            "{url}: level-only and full scores differ"
        );
        assert_eq!(fast["parameters"], again["parameters"]);
        let fields: Vec<&str> = fast["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f.as_str().expect("field"))
            .collect();
        let rows = fast["rows"].as_array().expect("rows");
        let features = full["features"].as_array().expect("features");
        assert_eq!(rows.len(), features.len());
        assert!(rows.iter().any(|r| {
            r[fields
                .iter()
                .position(|f| *f == "categorie")
                .expect("categorie")]
            .is_string()
        }));
        for (row, f) in rows.iter().zip(features) {
            for (k, name) in fields.iter().enumerate() {
                if *name != "bbox" {
                    assert_eq!(
                        row[k], f["properties"][*name],
                        "{url}: {name} of {}",
                        f["id"]
                    );
                }
            }
        }
    }
    assert_eq!(terminate(&mut server), Some(0));
}
