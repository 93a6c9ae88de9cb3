//! QGIS 3.22 (Debian's `python3-qgis`, headless with `QT_QPA_PLATFORM=offscreen`) against the
//! real binary on a store of imported (non-demo) clients, as a planner's desktop uses it
//! (issue 16's must-show): the OAPIF provider loads the restricted `clusters` collection with a
//! planner token as the password of HTTP Basic (as data-source user/password and through a
//! Basic configuration of QGIS's authentication manager), counts its features and reads its
//! fields; loads the public `buurten` without credentials; and an XYZ vector-tile layer on the
//! buurten tiles becomes valid and draws what QGIS fetched. The script is `tests/qgis/`.
#![allow(clippy::expect_used, clippy::unwrap_used)]
// A failed start panics before the child is waited for; the test process then ends anyway.
#![allow(clippy::zombie_processes)]

mod common;

use std::io::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{demo_store, import, tmp, write_text};
use serde_json::Value;

/// The planner token of `config/auth.example.toml`.
const PLANNER: &str = "verander-mij-planner";

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's Python with QGIS's bindings, if installed (a pyenv or venv `python3` first on PATH
/// does not see Debian's dist-packages, so /usr/bin/python3 is tried first).
fn qgis_python() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|py| {
            Command::new(py)
                .args(["-c", "import qgis.core"])
                .env("QT_QPA_PLATFORM", "offscreen")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// A demo store whose fictional clients were replaced by an import of "real" ones, so the
/// tiers apply: clusters and sites need a planner.
fn real_store(dir: &Path) -> PathBuf {
    let store = demo_store(dir);
    let data = buurtcirkel::store::Store::new(&store).load().unwrap();
    let mut text = String::from("x,y\n");
    for c in &data.clients {
        text.push_str(&format!("{},{}\n", c.position_rd.x(), c.position_rd.y()));
    }
    let csv = write_text(dir, "echt.csv", &text);
    import(&store, "clients", &csv, &[]).assert_ok();
    store
}

fn start(store: &Path, log: PathBuf) -> Server {
    let auth = concat!(env!("CARGO_MANIFEST_DIR"), "/config/auth.example.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"));
    cmd.arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth", auth]);
    for var in [
        "BUURTCIRKEL_STORE",
        "BUURTCIRKEL_ADDR",
        "BUURTCIRKEL_CONFIG",
        "BUURTCIRKEL_AUTH",
        "BUURTCIRKEL_READ_ROLE",
        "BUURTCIRKEL_APIKEY_PARAM",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .env("BUURTCIRKEL_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed no address")
            .unwrap();
        if let Some(rest) = line.split("listens on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let server = Server { child, base, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http(&server, "/health", None)
            && r.contains("\"ready\"")
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server never ready");
}

fn http(s: &Server, path: &str, token: Option<&str>) -> Result<String, reqwest::Error> {
    let mut r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?
        .get(format!("{}{path}", s.base));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send()?.error_for_status()?.text()
}

fn items(s: &Server, collection: &str, token: Option<&str>) -> Vec<Value> {
    let text = http(
        s,
        &format!("/ogc/v1/collections/{collection}/items?limit=10000"),
        token,
    )
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["features"].as_array().unwrap().clone()
}

/// The property names of the first feature, plus `id` (QGIS shows the feature id as a field).
fn field_names(features: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = features[0]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.push("id".into());
    names.sort();
    names.dedup();
    names
}

fn qgis_fields(v: &Value) -> Vec<String> {
    let mut names: Vec<String> = v["fields"].as_object().unwrap().keys().cloned().collect();
    names.sort();
    names
}

#[test]
fn qgis_loads_restricted_clusters_with_a_token_through_basic_public_buurten_and_their_vector_tiles()
{
    let Some(py) = qgis_python() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: QGIS's Python bindings not installed (scripts/setup installs python3-qgis)"
        );
        return;
    };
    let dir = tmp();
    let store = real_store(dir.path());
    let s = start(&store, dir.path().join("server.log"));
    // The tiers hold: without a token the clusters are closed.
    assert!(http(&s, "/ogc/v1/collections/clusters/items", None).is_err());
    let clusters = items(&s, "clusters", Some(PLANNER));
    let buurten = items(&s, "buurten", None);
    assert!(!clusters.is_empty() && !buurten.is_empty());

    let auth_db = dir.path().join("qgis-auth");
    std::fs::create_dir(&auth_db).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qgis/load_layers.py");
    let t = Instant::now();
    let out = Command::new(&py)
        .arg(&script)
        .args([&s.base, PLANNER, "clusters", "buurten"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("QGIS_AUTH_DB_DIR_PATH", &auth_db)
        .env("HOME", dir.path())
        .env("XDG_RUNTIME_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "QGIS script failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("the script printed nothing");
    let v: Value = serde_json::from_str(line).unwrap();
    eprintln!(
        "QGIS {} took {:.1} s: clusters {} (token), buurten {}, tiles drew {} of {} sampled pixels",
        v["version"],
        t.elapsed().as_secs_f64(),
        v["restricted_with_token"]["count"],
        v["public"]["count"],
        v["tiles"]["drawn_pixels"],
        v["tiles"]["sampled_pixels"]
    );
    assert!(v["version"].as_str().unwrap().starts_with("3."), "{v}");

    // Restricted: both ways of giving QGIS the token read every cluster with every field.
    for key in ["restricted_with_token", "restricted_with_authcfg"] {
        let r = &v[key];
        assert_eq!(r["valid"], true, "{key}: {r}");
        assert_eq!(r["count"], clusters.len(), "{key}: {r}");
        assert_eq!(qgis_fields(r), field_names(&clusters), "{key}: {r}");
        assert!(!r["first"]["deelnemers"].is_null(), "{key}: {r}");
    }
    // Without the token QGIS gets nothing.
    let closed = &v["restricted_without_token"];
    assert!(
        closed["valid"] == false || closed["count"] == 0,
        "QGIS read clusters without a token: {closed}"
    );
    // Public buurten, no credentials: every feature, typed columns as the queryables declare.
    let p = &v["public"];
    assert_eq!(p["valid"], true, "{p}");
    assert_eq!(p["count"], buurten.len());
    assert_eq!(p["fields"]["score"], "Real", "{p}");
    assert_eq!(p["fields"]["rang"], "Integer", "{p}");
    // The explanation's flat columns, typed from the schema, not guessed from values.
    assert_eq!(p["fields"]["c_p_65plus_punten"], "Real", "{p}");
    assert_eq!(p["fields"]["c_participants_norm"], "Real", "{p}");
    let codes: Vec<String> = buurten
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    let mut codes = codes;
    codes.sort();
    let seen: Vec<String> = p["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, codes);
    // Vector tiles: the layer is valid and QGIS drew what it fetched and decoded.
    let tiles = &v["tiles"];
    assert_eq!(tiles["valid"], true, "{tiles}");
    assert!(
        tiles["render_errors"].as_array().unwrap().is_empty(),
        "{tiles}"
    );
    assert!(tiles["drawn_pixels"].as_u64().unwrap() > 0, "{tiles}");

    // The server saw HTTP Basic (QGIS 3.22 sends no Bearer) and served tiles with content.
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(&s.log).unwrap();
    let basic = log.matches("scheme=\"basic\"").count();
    assert!(basic >= 2, "QGIS sent no HTTP Basic header:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("/tiles/{tms}/{z}/{y}/{x}") && l.contains("status=200")),
        "no tile was served with content:\n{log}"
    );
    assert!(!log.contains(PLANNER), "the token is in the server log");
}
