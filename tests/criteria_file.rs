//! The criteria file end to end: an organisation's own figure column, named in a criteria
//! file with a high weight, changes the ranking and the explanation in `analyse --format json`
//! and in the HTTP items of a server started with that file (both the real binary); `lager`
//! reverses it; `/web/config.json` and the OpenAPI document offer `w_<key>`; a broken file is
//! refused naming the key; a column nobody imported is "niet geladen" and said once.

// The server helpers below run outside `#[test]` functions, where `allow-expect-in-tests` does
// not reach; a failed spawn or HTTP call is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{bc_on, demo_store, import_figures, tmp, write_text};
use serde_json::Value;

const KEY: &str = "eenzaamheid";
const LABEL: &str = "ernstig eenzaam (test)";

/// The default criteria file plus one indicator on `kolom` with `richting` and `gewicht`.
fn criteria_file(dir: &Path, name: &str, kolom: &str, richting: &str, gewicht: &str) -> PathBuf {
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/weights.toml"))
        .expect("config/weights.toml");
    let text = format!(
        "{base}\n[[indicator]]\nkey = \"{KEY}\"\nkolom = \"{kolom}\"\nlabel = \"{LABEL}\"\n\
         richting = \"{richting}\"\ngewicht = {gewicht}\n"
    );
    write_text(dir, name, &text)
}

/// `analyse --format json --top 0` on `store`, optionally with a criteria file.
fn analyse_json(store: &Path, weights: Option<&Path>) -> Value {
    let mut args = vec!["analyse", "--format", "json", "--top", "0"];
    let w;
    if let Some(p) = weights {
        w = p.display().to_string();
        args.extend(["--weights", w.as_str()]);
    }
    let run = bc_on(store, &args);
    run.assert_ok();
    serde_json::from_str(&run.stdout).expect("analyse prints JSON")
}

fn areas(doc: &Value) -> &Vec<Value> {
    doc["areas"].as_array().expect("areas")
}

fn area<'v>(doc: &'v Value, code: &str) -> &'v Value {
    areas(doc)
        .iter()
        .find(|a| a["code"] == code)
        .unwrap_or_else(|| panic!("{code} not listed"))
}

/// The explanation entry of the custom indicator in an area's `toelichting`.
fn indicator_entry(toelichting: &Value) -> Value {
    toelichting["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["criterion"] == KEY)
        .cloned()
        .unwrap_or_else(|| panic!("no {KEY} in {toelichting}"))
}

/// A demo store with an extra figure column `eenzaamheid_pct` for every other buurt: `high`
/// gets 90, the others of the half 10, 20, ... Returns the store, the buurten with the column
/// and the one without it that is listed first.
struct World {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    store: PathBuf,
    /// The last `geschikt` buurt of the default ranking: the one the indicator lifts.
    high: String,
    /// The buurt with the lowest value of the column.
    low: String,
    /// A buurt without the column.
    without: String,
    baseline: Value,
}

fn world() -> World {
    let dir = tmp();
    let path = dir.path().to_path_buf();
    let store = demo_store(&path);
    let baseline = analyse_json(&store, None);
    let listed = areas(&baseline);
    let geschikt: Vec<&Value> = listed
        .iter()
        .filter(|a| a["categorie"] == "geschikt")
        .collect();
    assert!(geschikt.len() >= 3, "the demo needs geschikt buurten");
    let high = geschikt
        .iter()
        .max_by_key(|a| a["rang"].as_u64())
        .expect("a geschikt buurt")["code"]
        .as_str()
        .expect("code")
        .to_string();
    assert_ne!(
        area(&baseline, &high)["rang"],
        1,
        "the buurt to lift must not be first already"
    );
    // Every other buurt gets the column; `high` always does, with the highest value.
    let mut codes: Vec<String> = listed
        .iter()
        .map(|a| a["code"].as_str().expect("code").to_string())
        .filter(|c| *c != high)
        .collect();
    codes.sort();
    let mut csv = String::from("gwb_code_10,regio,eenzaamheid_pct\n");
    csv.push_str(&format!("{high},hoog,90\n"));
    let mut with = Vec::new();
    let mut without = None;
    for (i, c) in codes.iter().enumerate() {
        if i % 2 == 0 {
            csv.push_str(&format!("{c},x,{}\n", 10 + 5 * (i / 2)));
            with.push(c.clone());
        } else if without.is_none() {
            without = Some(c.clone());
        }
    }
    let low = with.first().expect("a buurt with the column").clone();
    let src = write_text(&path, "rivm.csv", &csv);
    import_figures(&store, &src, &[]).assert_ok();
    World {
        _dir: dir,
        dir: path,
        store,
        high,
        low,
        without: without.expect("a buurt without the column"),
        baseline,
    }
}

#[test]
fn a_heavily_weighted_own_indicator_lifts_its_highest_buurt_to_the_top_of_analyse_and_lager_reverses_it()
 {
    let w = world();
    let hoger = criteria_file(&w.dir, "hoger.toml", "eenzaamheid_pct", "hoger", "100");
    let doc = analyse_json(&w.store, Some(&hoger));
    let high = area(&doc, &w.high);
    assert_eq!(high["rang"], 1, "{high}");
    assert_eq!(areas(&doc)[0]["code"], w.high.as_str());
    let entry = indicator_entry(&high["toelichting"]);
    assert_eq!(entry["label"], LABEL);
    assert_eq!(entry["normalised"], 1.0);
    assert_eq!(entry["weight"], 100.0);
    assert_eq!(entry["value"], 90.0);
    let top = high["toelichting"]["top_reasons"][0]
        .as_str()
        .expect("a top reason");
    assert!(top.starts_with(LABEL), "{top}");
    // Without the indicator the same buurt had lower score and rank.
    let before = area(&w.baseline, &w.high);
    assert!(
        high["score"].as_f64() > before["score"].as_f64(),
        "{high} vs {before}"
    );
    // A buurt outside the imported table: missing, "niet geladen", and it does not count.
    let without = indicator_entry(&area(&doc, &w.without)["toelichting"]);
    assert_eq!(without["missing"], true);
    assert_eq!(without["cause"], "niet geladen");
    assert_eq!(without["contribution"], 0.0);

    // Lager: the highest value is now the least need, the lowest the most.
    let lager = criteria_file(&w.dir, "lager.toml", "eenzaamheid_pct", "lager", "100");
    let doc = analyse_json(&w.store, Some(&lager));
    assert_eq!(
        indicator_entry(&area(&doc, &w.high)["toelichting"])["normalised"],
        0.0
    );
    assert_eq!(
        indicator_entry(&area(&doc, &w.low)["toelichting"])["normalised"],
        1.0
    );
    let rank = |d: &Value, c: &str| area(d, c)["rang"].as_u64().expect("rank");
    assert!(
        rank(&doc, &w.high) > rank(&w.baseline, &w.high),
        "lager must push the buurt down"
    );
    assert_ne!(area(&doc, &w.high)["categorie"], "geschikt");
}

#[test]
fn an_indicator_whose_column_nobody_imported_is_niet_geladen_and_analyse_says_so_once() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let file = criteria_file(dir.path(), "w.toml", "bestaat_niet", "hoger", "3");
    let doc = analyse_json(&store, Some(&file));
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(Value::as_str)
        .filter(|n| n.contains("bestaat_niet"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("niet geladen"), "{}", notes[0]);
    for a in areas(&doc) {
        let e = indicator_entry(&a["toelichting"]);
        assert_eq!(e["cause"], "niet geladen", "{a}");
    }
    // Missing never counts as zero: scores and order are the default ones (completeness falls
    // by the indicator's weight, which the demo's complete buurten can bear).
    let baseline = analyse_json(&store, None);
    let order = |d: &Value| -> Vec<(Value, Value)> {
        areas(d)
            .iter()
            .map(|a| (a["code"].clone(), a["score"].clone()))
            .collect()
    };
    assert_eq!(order(&doc), order(&baseline));
    // The text output says it once too.
    let text = bc_on(
        &store,
        &["analyse", "--weights", &file.display().to_string()],
    );
    text.assert_ok();
    assert_eq!(
        text.stdout.matches("bestaat_niet").count(),
        1,
        "{}",
        text.stdout
    );
}

#[test]
fn a_broken_criteria_file_is_refused_naming_the_key() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let base = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/weights.toml"))
        .expect("config/weights.toml");
    let indicator = |body: &str| format!("{base}\n[[indicator]]\n{body}\n");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "richting",
            indicator(
                "key = \"eenzaam\"\nkolom = \"x\"\nlabel = \"l\"\nrichting = \"omhoog\"\ngewicht = 1",
            ),
            vec!["eenzaam", "richting", "omhoog"],
        ),
        (
            "kolom",
            indicator("key = \"eenzaam\"\nlabel = \"l\"\nrichting = \"hoger\"\ngewicht = 1"),
            vec!["eenzaam", "kolom"],
        ),
        (
            "twice",
            format!(
                "{}\n[[indicator]]\nkey = \"eenzaam\"\nkolom = \"y\"\nlabel = \"m\"\nrichting = \"hoger\"\ngewicht = 1\n",
                indicator(
                    "key = \"eenzaam\"\nkolom = \"x\"\nlabel = \"l\"\nrichting = \"hoger\"\ngewicht = 1"
                )
            ),
            vec!["eenzaam", "earlier [[indicator]] with the same key"],
        ),
        (
            "builtin",
            indicator(
                "key = \"p_65plus\"\nkolom = \"x\"\nlabel = \"l\"\nrichting = \"hoger\"\ngewicht = 1",
            ),
            vec!["p_65plus", "clashes"],
        ),
        (
            "gewicht",
            indicator(
                "key = \"eenzaam\"\nkolom = \"x\"\nlabel = \"l\"\nrichting = \"hoger\"\ngewicht = \"veel\"",
            ),
            vec!["eenzaam", "gewicht", "veel"],
        ),
    ];
    for (name, text, parts) in cases {
        let file = write_text(dir.path(), &format!("{name}.toml"), &text);
        let run = bc_on(
            &store,
            &["analyse", "--weights", &file.display().to_string()],
        );
        run.assert_failed();
        let error = run.error();
        for p in parts {
            assert!(error.contains(p), "case {name}: '{p}' not in: {error}");
        }
    }
}

/// A running server, killed on drop if a test fails before stopping it.
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

/// Starts `buurtcirkel serve` on loopback with `BUURTCIRKEL_WEIGHTS=weights` and waits until
/// its data is ready.
fn serve(store: &Path, weights: &Path, log: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_LOG")
        .env("BUURTCIRKEL_WEIGHTS", weights)
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
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.base.is_empty() && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && let Some(rest) = line.split("listens on ").nth(1)
        {
            let url = rest.split_whitespace().next().expect("url");
            server.base = url.trim_end_matches('/').to_string();
        }
    }
    assert!(
        !server.base.is_empty(),
        "no 'listens on' line; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    let http = client();
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{}/ready", server.base)).send()
            && r.status() == 200
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the server never became ready; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

fn get_json(http: &reqwest::blocking::Client, url: &str) -> Value {
    let r = http.get(url).send().expect("GET");
    assert_eq!(r.status(), 200, "{url}");
    r.json().expect("JSON body")
}

/// The properties of buurt `code` in an items response.
fn properties<'v>(items: &'v Value, code: &str) -> &'v Value {
    &items["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["code"] == code)
        .unwrap_or_else(|| panic!("{code} not in the items"))["properties"]
}

/// `toelichting` as an object, whether the items carry it as JSON or as JSON text.
fn toelichting(p: &Value) -> Value {
    match &p["toelichting"] {
        Value::String(s) => serde_json::from_str(s).expect("toelichting JSON"),
        v => v.clone(),
    }
}

#[test]
fn a_server_started_with_the_criteria_file_ranks_explains_and_offers_the_indicator() {
    let w = world();
    let hoger = criteria_file(&w.dir, "hoger.toml", "eenzaamheid_pct", "hoger", "100");
    let server = serve(&w.store, &hoger, &w.dir.join("serve.log"));
    let http = client();
    let items_url = format!(
        "{}/ogc/v1/collections/buurten/items?limit=1000",
        server.base
    );
    let items = get_json(&http, &items_url);
    let p = properties(&items, &w.high);
    assert_eq!(p["rang"], 1, "{p}");
    let entry = indicator_entry(&toelichting(p));
    assert_eq!(entry["label"], LABEL);
    assert_eq!(entry["normalised"], 1.0);
    let without = indicator_entry(&toelichting(properties(&items, &w.without)));
    assert_eq!(without["cause"], "niet geladen");
    // Switching the indicator off per request gives back the default ranking's rank.
    let off = get_json(&http, &format!("{items_url}&w_{KEY}=0"));
    assert_eq!(
        properties(&off, &w.high)["rang"],
        area(&w.baseline, &w.high)["rang"]
    );
    // The web map's sliders and the OpenAPI document offer the parameter.
    let config = get_json(&http, &format!("{}/web/config.json", server.base));
    let weights = config["weights"].as_array().expect("weights");
    let slider = weights
        .iter()
        .find(|s| s["param"] == format!("w_{KEY}"))
        .unwrap_or_else(|| panic!("no w_{KEY} slider in {config}"));
    assert_eq!(slider["default"], 100.0);
    let api = http
        .get(format!("{}/ogc/v1/api", server.base))
        .send()
        .expect("GET api")
        .text()
        .expect("api text");
    assert!(api.contains(&format!("w_{KEY}")), "OpenAPI lacks w_{KEY}");
}
