//! The web map in a real browser: starts the real binary on the demo store (with an admin token
//! for the upload tests) and runs `node web/test/browser.mjs` against it, which drives Debian's
//! headless Chromium through playwright-core; then again (`--real`) on a store shaped like real
//! data, built here from GDAL fixtures: CBS-2022-style wijken of six gemeenten, buurten of one
//! of them only, and real (not demo) clients there, so the store is closed to the public menu. Node, Chromium and `web/node_modules` are
//! installed by `scripts/setup`; when one is missing this test fails and says so, it never
//! skips. Screenshots land in `target/web-artifacts/`.

// Helpers run outside `#[test]` functions; a failed spawn is a failed test.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Cell, LayerSpec, X0, Y0, rect, write_vector};

/// One browser at a time: two headless Chromiums on a shared 2-core machine time out.
static BROWSER: Mutex<()> = Mutex::new(());

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
        // The test moves sliders far faster than a person does; the default limit of new
        // parameter sets per client address (10 at once, 30 a minute) would answer 429.
        .env("BUURTCIRKEL_NEW_SETS_PER_MINUTE", "6000")
        .env("BUURTCIRKEL_NEW_SETS_BURST", "1000")
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

fn check_tools(web: &Path) {
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
}

/// Runs `node web/test/browser.mjs URL [extra]` and asserts that every browser test passed.
fn run_browser(url: &str, extra: &[&str], log: &Path) {
    let web = repo().join("web");
    let out = Command::new("node")
        .arg(web.join("test/browser.mjs"))
        .arg(url)
        .args(extra)
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
        std::fs::read_to_string(log).unwrap_or_default()
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

fn auth_file(dir: &Path) -> PathBuf {
    common::write_text(
        dir,
        "auth.toml",
        &format!(
            "read = \"public\"\n[[tokens]]\nname = \"web test\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            buurtcirkel::http::config::sha256_hex(TOKEN)
        ),
    )
}

#[test]
fn the_web_map_works_in_headless_chromium() {
    let _one = BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let web = repo().join("web");
    check_tools(&web);
    let dir = common::tmp();
    let store = common::demo_store(dir.path());
    let auth = auth_file(dir.path());
    let log = dir.path().join("server.log");
    let (_server, url) = start(&store, &auth, &log);
    run_browser(&url, &[], &log);
}

/// A CBS-2022-style GeoPackage like the national wijken plus one gemeente's buurten: six
/// gemeenten of 4 x 4 km in two rows, each with two wijken (west and east) whose figures vary,
/// and buurten (four) for the first gemeente only, "Ermelo-achtig".
fn real_like_areas(path: &Path) {
    let names = [
        "Heidedorp",
        "Veldhoven-Noord",
        "Bosrijk",
        "Rivierstad",
        "Polderland",
        "Duinwijk",
    ];
    let mut gemeenten = LayerSpec::new("gemeenten")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid");
    let mut wijken = LayerSpec::new("wijken")
        .text("wijkcode")
        .text("wijknaam")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid");
    let mut buurten = LayerSpec::new("buurten")
        .text("buurtcode")
        .text("buurtnaam")
        .text("wijkcode")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid");
    for (g, name) in names.iter().enumerate() {
        let code = format!("GM{:04}", 301 + g);
        let (x, y) = (X0 + 4000.0 * (g % 3) as f64, Y0 + 4000.0 * (g / 3) as f64);
        let k = g as f64;
        gemeenten = gemeenten.feature(
            &rect(x, y, x + 4000.0, y + 4000.0),
            vec![
                Cell::from(code.as_str()),
                Cell::from(*name),
                Cell::from("NEE"),
                Cell::from(6000 + 1000 * g as i64),
                Cell::from(18.0 + 2.0 * k),
                Cell::from(33.0 + k),
                Cell::from(1200 + 150 * g as i64),
            ],
        );
        for (w, side) in ["West", "Oost"].iter().enumerate() {
            let wk = format!("WK{:04}{:02}", 301 + g, w + 1);
            let x0 = x + 2000.0 * w as f64;
            wijken = wijken.feature(
                &rect(x0, y, x0 + 2000.0, y + 4000.0),
                vec![
                    Cell::from(wk.as_str()),
                    Cell::from(format!("{name} {side}").as_str()),
                    Cell::from(code.as_str()),
                    Cell::from(*name),
                    Cell::from("NEE"),
                    Cell::from(2500 + 700 * (g as i64 + w as i64)),
                    Cell::from(15.0 + 3.0 * k + 4.0 * w as f64),
                    Cell::from(30.0 + 2.0 * k - 3.0 * w as f64),
                    Cell::from(900 + 300 * g as i64 + 200 * w as i64),
                ],
            );
            if g == 0 {
                for b in 0..2 {
                    let y0 = y + 2000.0 * b as f64;
                    buurten = buurten.feature(
                        &rect(x0, y0, x0 + 2000.0, y0 + 2000.0),
                        vec![
                            Cell::from(format!("BU{:04}{:02}{:02}", 301, w + 1, b + 1).as_str()),
                            Cell::from(
                                ["Dorpskern", "Heiderand", "Stationsbuurt", "Bosweide"][2 * w + b],
                            ),
                            Cell::from(wk.as_str()),
                            Cell::from(code.as_str()),
                            Cell::from(*name),
                            Cell::from("NEE"),
                            Cell::from(1200 + 300 * (2 * w + b) as i64),
                            Cell::from(17.0 + 5.0 * (2 * w + b) as f64),
                            Cell::from(44.0 - 4.0 * (2 * w + b) as f64),
                            Cell::from(2400 - 400 * (2 * w + b) as i64),
                        ],
                    );
                }
            }
        }
    }
    write_vector(path, "GPKG", &[gemeenten, wijken, buurten]);
}

#[test]
fn the_web_map_works_on_a_store_shaped_like_real_data() {
    let _one = BROWSER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let web = repo().join("web");
    check_tools(&web);
    let dir = common::tmp();
    let store = dir.path().join("s.gpkg");
    let areas = dir.path().join("areas.gpkg");
    real_like_areas(&areas);
    common::import_areas(&store, &areas, &[]).assert_ok();
    // Real clients (not the demo's): three groups of 8 in the first gemeente's buurten.
    let mut csv = String::from("x;y;doelgroep\n");
    for (cx, cy) in [
        (X0 + 900.0, Y0 + 900.0),
        (X0 + 2900.0, Y0 + 1100.0),
        (X0 + 1100.0, Y0 + 3000.0),
    ] {
        for i in 0..8 {
            csv += &format!(
                "{};{};ouderen\n",
                cx + f64::from(i % 3) * 60.0,
                cy + f64::from(i / 3) * 60.0
            );
        }
    }
    let clients = common::write_text(dir.path(), "clienten.csv", &csv);
    common::import(&store, "clients", &clients, &[]).assert_ok();
    let auth = auth_file(dir.path());
    let log = dir.path().join("server.log");
    let (_server, url) = start(&store, &auth, &log);
    run_browser(&url, &["--real"], &log);
}
