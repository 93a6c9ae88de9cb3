//! The web map in a real browser: starts the real binary on the demo store (with an admin token
//! for the upload tests) and runs `node web/test/browser.mjs` against it, which drives Debian's
//! headless Chromium through playwright-core. Node, Chromium and `web/node_modules` are
//! installed by `scripts/setup`; when one is missing this test fails and says so, it never
//! skips. Screenshots land in `target/web-artifacts/`.

// Helpers run outside `#[test]` functions; a failed spawn is a failed test.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "web-test-admin-token";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start(store: &Path, auth: &Path, log: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth"])
        .arg(auth)
        .arg("--web-dir")
        .arg(repo().join("web"))
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_LOG")
        .env_remove("BUURTCIRKEL_BASEMAP_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start buurtcirkel serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let server = Server(child);
    let line = lines
        .next()
        .and_then(Result::ok)
        .expect("the server printed its address");
    let url = line
        .split("listens on ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("listens on URL")
        .trim_end_matches('/')
        .to_string();
    std::thread::spawn(move || for _ in lines {});
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{url}/health")).send()
            && let Ok(v) = r.json::<serde_json::Value>()
            && v["data"] == "ready"
        {
            return (server, url);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never got ready");
}

#[test]
fn the_web_map_works_in_headless_chromium() {
    let web = repo().join("web");
    assert!(
        web.join("node_modules/playwright-core").is_dir()
            && web.join("node_modules/maplibre-gl/dist").is_dir(),
        "web/node_modules is missing: run scripts/setup (npm ci in web/)"
    );
    assert!(
        Command::new("node").arg("--version").output().is_ok(),
        "node is missing: run scripts/setup"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists() || std::env::var_os("CHROMIUM").is_some(),
        "Chromium is missing: run scripts/setup (apt-get install chromium)"
    );
    let dir = common::tmp();
    let store = common::demo_store(dir.path());
    let auth = common::write_text(
        dir.path(),
        "auth.toml",
        &format!(
            "read = \"public\"\n[[tokens]]\nname = \"web test\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            buurtcirkel::http::config::sha256_hex(TOKEN)
        ),
    );
    let log = dir.path().join("server.log");
    let (_server, url) = start(&store, &auth, &log);
    let out = Command::new("node")
        .arg(web.join("test/browser.mjs"))
        .arg(&url)
        .env("ATLAS_ADMIN_TOKEN", TOKEN)
        .env("ATLAS_ARTIFACTS", repo().join("target/web-artifacts"))
        .current_dir(&web)
        .output()
        .expect("run node web/test/browser.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The timings and per-test lines belong in the test log.
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser tests failed\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
