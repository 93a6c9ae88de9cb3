//! Attacker tests on the tiers: with public reads only, against a store of real (imported)
//! clients, nobody gets cluster or site geometry or a parameter set off the public menu, so
//! `walk_m` and `min_participants` cannot be swept or widened. A planner can; a store holding
//! only the demo's fictional clients opens everything. See docs/privacy.md, "Tiers".
#![allow(clippy::expect_used)]
// A failed start panics before the child is waited for; the test process then ends anyway.
#![allow(clippy::zombie_processes)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{demo_store, import, tmp, write_text};

const PLANNER: &str = "verander-mij-planner";

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

fn start(store: &Path) -> Server {
    let auth = concat!(env!("CARGO_MANIFEST_DIR"), "/config/auth.example.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth", auth])
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_AUTH")
        .env_remove("BUURTCIRKEL_READ_ROLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.split("listens on ").nth(1) {
            let base = rest
                .split_whitespace()
                .next()
                .expect("url")
                .trim_end_matches('/')
                .to_string();
            std::thread::spawn(move || for _ in lines.by_ref() {});
            let server = Server { child, base };
            // Wait until the data is loaded (and the public menu computed).
            while Instant::now() < deadline {
                let (status, _, body) = get(&server, "/health", None);
                if status == 200 && body.contains("\"ready\"") {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("the server never reported its data ready");
        }
    }
    panic!("the server printed no address");
}

/// Status, content type and body of a GET, with an optional bearer token.
fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, String, String) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    let mut r = http.get(format!("{}{path}", server.base));
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let r = r.send().expect("get");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().expect("body"))
}

/// A demo store whose fictional clients were replaced by an import of "real" ones.
fn real_store(dir: &Path) -> std::path::PathBuf {
    let store = demo_store(dir);
    let data = buurtcirkel::store::Store::new(&store).load().expect("load");
    let mut text = String::from("x,y\n");
    for c in &data.clients {
        text.push_str(&format!("{},{}\n", c.position_rd.x(), c.position_rd.y()));
    }
    let csv = write_text(dir, "echt.csv", &text);
    import(&store, "clients", &csv, &[]).assert_ok();
    store
}

/// What the public must not get, each as (path, why).
const PLANNER_ONLY: [&str; 9] = [
    "/ogc/v1/collections/clusters/items",
    "/ogc/v1/collections/sites/items",
    "/ogc/v1/collections/clusters/items/1",
    "/ogc/v1/collections/clusters/tiles/WebMercatorQuad/12/2100/2100",
    "/ogc/v1/collections/sites/tiles/WebMercatorQuad/12/2100/2100",
    "/ogc/v1/collections/buurten/items?walk_m=1500",
    "/ogc/v1/collections/buurten/items?walk_m=5000",
    "/ogc/v1/collections/buurten/items?min_participants=6",
    "/api/v1/scores/buurten?walk_m=700",
];

#[test]
fn the_public_gets_no_cluster_or_site_geometry_and_no_parameter_set_off_the_menu() {
    let dir = tmp();
    let store = real_store(dir.path());
    let server = start(&store);
    for path in PLANNER_ONLY {
        let (status, ct, body) = get(&server, path, None);
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert!(
            body.contains("planner"),
            "{path}: the problem does not say why: {body}"
        );
    }
    // The menu is open to everyone.
    for walk in [600, 800, 1000] {
        let path = format!("/ogc/v1/collections/buurten/items?walk_m={walk}&min_participants=5");
        let (status, _, body) = get(&server, &path, None);
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _, _) = get(&server, "/ogc/v1/collections/buurten/items", None);
    assert_eq!(status, 200);
}

#[test]
fn a_planner_gets_clusters_sites_and_free_parameters() {
    let dir = tmp();
    let store = real_store(dir.path());
    let server = start(&store);
    for path in PLANNER_ONLY {
        let (status, _, body) = get(&server, path, Some(PLANNER));
        assert!(
            status == 200 || status == 404 || status == 204,
            "{path}: {status} {body}"
        );
    }
    let (status, _, body) = get(&server, "/ogc/v1/collections/clusters/items", Some(PLANNER));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_store_of_only_the_demo_s_fictional_clients_opens_everything() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let server = start(&store);
    for path in PLANNER_ONLY {
        let (status, _, body) = get(&server, path, None);
        assert!(status != 401 && status != 403, "{path}: {status} {body}");
    }
}
