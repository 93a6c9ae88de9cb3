//! End to end against the real binary on a loopback port (demo store), the way outside clients
//! talk to it (issue 16): CQL2-text filters, the landing page with a trailing slash and the
//! service-doc page, CORS for other origins, the Dutch API Design Rules (a test per rule),
//! ETag/304, `X-Forwarded-*`, desktop auth (Basic, `apikey`), ETRS89 (EPSG:4258), and OWSLib
//! from PyPI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on the demo store, with an optional config file text.
fn start(config: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"));
    cmd.arg("--store")
        .arg(dir.path().join("s.gpkg"))
        .args(["serve", "--addr", "127.0.0.1:0"]);
    if let Some(text) = config {
        let p = dir.path().join("serve.toml");
        std::fs::write(&p, text).unwrap();
        cmd.arg("--config").arg(p);
    }
    for var in [
        "BUURTCIRKEL_STORE",
        "BUURTCIRKEL_ADDR",
        "BUURTCIRKEL_CONFIG",
        "BUURTCIRKEL_AUTH",
        "BUURTCIRKEL_READ_ROLE",
        "BUURTCIRKEL_CORS_ORIGINS",
        "BUURTCIRKEL_PUBLIC_URL",
        "BUURTCIRKEL_APIKEY_PARAM",
        "BUURTCIRKEL_TRUST_FORWARDED",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .env("RUST_LOG", "debug")
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
    let server = Server {
        child,
        base,
        log,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client().get(format!("{}/health", server.base)).send()
            && r.json::<Value>().is_ok_and(|v| v["data"] == "ready")
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server never ready");
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn get(s: &Server, path: &str) -> Response {
    client().get(format!("{}{path}", s.base)).send().unwrap()
}

fn json(s: &Server, path: &str) -> Value {
    let r = get(s, path);
    assert_eq!(r.status(), 200, "{path}");
    r.json().unwrap()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn all_buurten(s: &Server) -> Vec<Value> {
    json(s, "/ogc/v1/collections/buurten/items?limit=10000")["features"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn cql2_filters_select_exactly_the_features_a_local_evaluation_selects() {
    let s = start(None);
    let all = all_buurten(&s);
    assert!(all.len() > 10);
    let p = |f: &Value, k: &str| f["properties"][k].clone();
    let scores: Vec<f64> = all.iter().filter_map(|f| p(f, "score").as_f64()).collect();
    let mut sorted = scores.clone();
    sorted.sort_by(f64::total_cmp);
    // A threshold from the data, so the filter neither takes all nor none.
    let mid = sorted[sorted.len() / 2];
    let cat = p(&all[0], "categorie").as_str().unwrap().to_string();
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(String, Pred)> = vec![
        (format!("categorie='{cat}' AND score>{mid}"), {
            let cat = cat.clone();
            Box::new(move |f| {
                f["properties"]["categorie"] == cat.as_str()
                    && f["properties"]["score"].as_f64().is_some_and(|x| x > mid)
            })
        }),
        (format!("score <= {mid} OR NOT (categorie <> '{cat}')"), {
            let cat = cat.clone();
            Box::new(move |f| {
                f["properties"]["score"].as_f64().is_some_and(|x| x <= mid)
                    || f["properties"]["categorie"] == cat.as_str()
            })
        }),
        (
            "categorie IN ('geschikt', 'kansrijk') AND score IS NOT NULL".into(),
            Box::new(|f| {
                matches!(
                    f["properties"]["categorie"].as_str(),
                    Some("geschikt" | "kansrijk")
                ) && !f["properties"]["score"].is_null()
            }),
        ),
        (
            "naam LIKE '%e%' and score between 0 and 50".into(),
            Box::new(|f| {
                f["properties"]["naam"]
                    .as_str()
                    .is_some_and(|n| n.contains('e'))
                    && f["properties"]["score"]
                        .as_f64()
                        .is_some_and(|x| (0.0..=50.0).contains(&x))
            }),
        ),
    ];
    let mut some_but_not_all = 0;
    for (filter, pred) in &cases {
        let want: Vec<&Value> = all.iter().filter(|f| pred(f)).map(|f| &f["id"]).collect();
        let r = json(
            &s,
            &format!(
                "/ogc/v1/collections/buurten/items?limit=10000&filter-lang=cql2-text&filter={}",
                enc(filter)
            ),
        );
        let got: Vec<&Value> = r["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["id"])
            .collect();
        assert_eq!(got, want, "{filter}");
        assert_eq!(r["numberMatched"], want.len(), "{filter}");
        if !want.is_empty() && want.len() < all.len() {
            some_but_not_all += 1;
        }
        // The next link keeps the filter, so paging stays inside it.
        let small = json(
            &s,
            &format!(
                "/ogc/v1/collections/buurten/items?limit=1&filter={}",
                enc(filter)
            ),
        );
        if want.len() > 1 {
            let next = small["links"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["rel"] == "next")
                .unwrap();
            assert!(next["href"].as_str().unwrap().contains("filter="), "{next}");
        }
    }
    assert!(some_but_not_all >= 2, "the cases should discriminate");
}

#[test]
fn a_wrong_filter_is_a_400_that_names_the_position_or_the_queryables() {
    let s = start(None);
    for (filter, says) in [
        ("score >> 5", "character 8"),
        ("categorie = 'geschikt' AND", "character 27"),
        ("sc0re > 5", "queryable here"),
        ("score = 'hoog'", "compare it with a number"),
        ("S_INTERSECTS(geometry, POINT(5 52))", "spatial"),
    ] {
        let r = get(
            &s,
            &format!("/ogc/v1/collections/buurten/items?filter={}", enc(filter)),
        );
        assert_eq!(r.status(), 400, "{filter}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let v: Value = r.json().unwrap();
        assert!(
            v["detail"].as_str().unwrap().contains(says),
            "{filter}: {v}"
        );
    }
    let r = get(
        &s,
        "/ogc/v1/collections/buurten/items?filter=score%3E1&filter-lang=cql2-json",
    );
    assert_eq!(r.status(), 400);
    let conf = json(&s, "/ogc/v1/conformance");
    for c in [
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    ] {
        assert!(
            conf["conformsTo"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == c),
            "{c}"
        );
    }
}

#[test]
fn the_landing_page_answers_with_a_trailing_slash_and_the_service_doc_is_a_real_page() {
    let s = start(None);
    let r = get(&s, "/ogc/v1/?f=json");
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/ogc/v1?f=json");
    let follow = Client::new()
        .get(format!("{}/ogc/v1/", s.base))
        .send()
        .unwrap();
    assert_eq!(follow.status(), 200);
    let landing: Value = follow.json().unwrap();
    assert_eq!(landing, json(&s, "/ogc/v1"));
    let doc = get(&s, "/ogc/v1/api?f=html").text().unwrap();
    for part in [
        "buurten",
        "clusters",
        "planner",
        "HTTP Basic",
        "<code>filter</code>",
        "/collections/{collectionId}/queryables",
        "CC BY 4.0",
        "Bron: CBS, Kadaster",
    ] {
        assert!(doc.contains(part), "service-doc lacks {part}");
    }
}

#[test]
fn another_origin_may_read_public_data_and_preflights_are_answered() {
    let s = start(None);
    let r = client()
        .get(format!("{}/ogc/v1/collections", s.base))
        .header("Origin", "https://kaart.elders.nl")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let expose = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        expose.contains("etag") && expose.contains("api-version"),
        "{expose}"
    );
    let pre = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/ogc/v1/collections/buurten/items", s.base),
        )
        .header("Origin", "https://kaart.elders.nl")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    let methods = pre.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("GET") && !methods.contains("POST"),
        "{methods}"
    );
    // Switched off by configuration: no CORS headers at all.
    let off = start(Some("cors_origins = []\n"));
    let r = client()
        .get(format!("{}/ogc/v1/collections", off.base))
        .header("Origin", "https://kaart.elders.nl")
        .send()
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// ADR `/core/version-header` and `/core/uri-version`: every answer (also errors and
/// redirects) carries `API-Version` with the major version of the path, and the document
/// declares it on every response.
#[test]
fn adr_version_header_is_sent_on_every_answer_and_declared_for_every_response() {
    let s = start(None);
    for path in [
        "/ogc/v1",
        "/ogc/v1/",
        "/ogc/v1/collections/geen",
        "/ogc/v1/openapi.json",
    ] {
        let r = get(&s, path);
        let v = r.headers()["api-version"].to_str().unwrap().to_string();
        let parts: Vec<u32> = v.split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts.len(), 3, "{v} is not semver");
        assert_eq!(parts[0], 1, "{path}: major version of /v1");
    }
    let doc = json(&s, "/ogc/v1/openapi.json");
    assert_eq!(
        doc["info"]["version"],
        get(&s, "/ogc/v1").headers()["api-version"]
            .to_str()
            .unwrap()
    );
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "servers" {
                continue;
            }
            for (code, resp) in op["responses"].as_object().unwrap() {
                assert!(
                    resp["headers"]["API-Version"].is_object(),
                    "{method} {path} {code} does not declare API-Version"
                );
                n += 1;
            }
        }
    }
    assert!(n > 50, "{n} responses");
    assert!(doc["components"]["headers"]["API-Version"].is_object());
}

/// ADR `/core/publish-openapi` and `/core/doc-openapi-contact`: the document at
/// `openapi.json`, with a complete contact.
#[test]
fn adr_openapi_json_is_published_with_a_complete_contact() {
    let s = start(None);
    let r = get(&s, "/ogc/v1/openapi.json");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = r.json().unwrap();
    assert_eq!(doc, json(&s, "/ogc/v1/api"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for k in ["name", "email", "url"] {
        assert!(
            doc["info"]["contact"][k]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "contact.{k}"
        );
    }
    assert!(doc["paths"]["/openapi.json"].is_object());
}

/// Licence and attribution (CC BY 4.0, "Bron: CBS, Kadaster") wherever data is described.
#[test]
fn licence_and_attribution_are_in_the_landing_page_collections_and_tilesets() {
    let s = start(None);
    let has_licence = |v: &Value, what: &str| {
        assert!(
            v["links"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["rel"] == "license"
                    && l["href"]
                        .as_str()
                        .unwrap()
                        .contains("creativecommons.org/licenses/by/4.0")),
            "{what} has no rel=license link"
        );
        assert_eq!(v["attribution"], "Bron: CBS, Kadaster", "{what}");
    };
    has_licence(&json(&s, "/ogc/v1"), "landing page");
    let cols = json(&s, "/ogc/v1/collections");
    has_licence(&cols, "collections");
    for c in cols["collections"].as_array().unwrap() {
        has_licence(c, c["id"].as_str().unwrap());
    }
    for tms in ["WebMercatorQuad", "NetherlandsRDNewQuad"] {
        has_licence(
            &json(&s, &format!("/ogc/v1/collections/buurten/tiles/{tms}")),
            tms,
        );
    }
}

#[test]
fn json_answers_carry_an_etag_and_a_matching_if_none_match_is_a_304() {
    let s = start(None);
    for path in [
        "/ogc/v1",
        "/ogc/v1/collections",
        "/ogc/v1/collections/buurten/queryables",
        "/ogc/v1/api",
    ] {
        let r = get(&s, path);
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        let body = r.bytes().unwrap();
        let again = client()
            .get(format!("{}{path}", s.base))
            .header("If-None-Match", &tag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), tag);
        assert!(again.bytes().unwrap().is_empty());
        let other = client()
            .get(format!("{}{path}", s.base))
            .header("If-None-Match", "W/\"ander\"")
            .send()
            .unwrap();
        assert_eq!(other.status(), 200);
        assert_eq!(other.bytes().unwrap(), body, "{path}");
    }
    // Different content, different tag.
    let a = get(&s, "/ogc/v1/collections/buurten").headers()["etag"].clone();
    let b = get(&s, "/ogc/v1/collections/wijken").headers()["etag"].clone();
    assert_ne!(a, b);
}

fn self_href(v: &Value) -> String {
    v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn forwarded_headers_shape_links_only_when_configured() {
    let ask = |s: &Server| -> Value {
        client()
            .get(format!("{}/ogc/v1", s.base))
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "atlas.example.nl, intern")
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let plain = start(None);
    assert!(self_href(&ask(&plain)).starts_with("http://127.0.0.1"));
    let proxied = start(Some("trust_forwarded = true\n"));
    assert_eq!(
        self_href(&ask(&proxied)),
        "https://atlas.example.nl/ogc/v1?f=json"
    );
}

const TOKEN: &str = "qgis-planner-geheim-0123456789";

fn restricted(apikey: bool) -> Server {
    let hash = buurtcirkel::http::config::sha256_hex(TOKEN);
    start(Some(&format!(
        "apikey_param = {apikey}\n[auth]\nread = \"planner\"\n[[auth.tokens]]\nname = \"qgis\"\nrole = \"planner\"\nsha256 = \"{hash}\"\n"
    )))
}

#[test]
fn a_token_works_as_the_password_of_http_basic_with_any_user_name() {
    let s = restricted(false);
    let url = format!("{}/ogc/v1/collections/buurten/items?limit=2", s.base);
    let none = client().get(&url).send().unwrap();
    assert_eq!(none.status(), 401);
    let challenge = none.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("Basic"), "{challenge}");
    for user in ["qgis", "", "wie dan ook"] {
        let r = client()
            .get(&url)
            .basic_auth(user, Some(TOKEN))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "user {user:?}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["numberReturned"], 2);
    }
    let wrong = client()
        .get(&url)
        .basic_auth("qgis", Some("fout"))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // Off by default: apikey is an unknown parameter, so the token does not open anything.
    let r = get(
        &s,
        &format!("/ogc/v1/collections/buurten/items?apikey={TOKEN}"),
    );
    assert_ne!(r.status(), 200);
}

#[test]
fn an_apikey_parameter_opens_restricted_data_when_configured_and_is_never_echoed_or_logged() {
    let s = restricted(true);
    let r = get(
        &s,
        &format!("/ogc/v1/collections/buurten/items?limit=2&apikey={TOKEN}"),
    );
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    assert!(!body.contains(TOKEN), "the token is echoed in the answer");
    assert!(body.contains("\"next\""), "{body}");
    let bad = get(&s, "/ogc/v1/collections/buurten/items?apikey=fout");
    assert_eq!(bad.status(), 401);
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(log.contains("request"), "the log should have request lines");
    assert!(!log.contains(TOKEN), "the token is in the log");
}

/// The venv with OWSLib that `scripts/setup` creates (`target/venv`), if present.
fn owslib_python() -> Option<std::path::PathBuf> {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import owslib.ogcapi.features"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

#[test]
fn owslib_reads_the_landing_page_api_collections_queryables_and_items() {
    let Some(py) = owslib_python() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: OWSLib not installed (scripts/setup installs it into target/venv)"
        );
        return;
    };
    let s = start(None);
    let script = r#"
import json, sys
from owslib.ogcapi.features import Features
w = Features(sys.argv[1])
api = w.api()
cols = w.collections()
q = w.collection_queryables('buurten')
items = w.collection_items('buurten', limit=5)
filtered = w.collection_items('buurten', limit=10000, filter="categorie='geschikt' AND score>60")
print(json.dumps({
    "paths": sorted(api['paths'].keys()) if isinstance(api, dict) else sorted(api.paths.keys()),
    "collections": [c['id'] for c in cols['collections']],
    "queryables": sorted(q['properties'].keys()),
    "returned": items['numberReturned'],
    "matched": items['numberMatched'],
    "filtered": filtered['numberMatched'],
}))
"#;
    let out = Command::new(py)
        .args(["-c", script, &format!("{}/ogc/v1", s.base)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "/collections/{collectionId}/items"),
        "{v}"
    );
    let cols = json(&s, "/ogc/v1/collections");
    let ids: Vec<&Value> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        ids
    );
    let q = json(&s, "/ogc/v1/collections/buurten/queryables");
    let mut qs: Vec<&String> = q["properties"].as_object().unwrap().keys().collect();
    qs.sort();
    assert_eq!(v["queryables"].as_array().unwrap().len(), qs.len());
    assert!(
        v["queryables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "score")
    );
    let all = all_buurten(&s);
    assert_eq!(v["returned"], 5);
    assert_eq!(v["matched"], all.len());
    let want = all
        .iter()
        .filter(|f| {
            f["properties"]["categorie"] == "geschikt"
                && f["properties"]["score"].as_f64().is_some_and(|x| x > 60.0)
        })
        .count();
    assert_eq!(v["filtered"], want);
}

#[test]
fn gdal_sends_its_attribute_filter_as_cql2_and_gets_the_same_features() {
    if !Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let _ = writeln!(std::io::stderr(), "SKIP: ogrinfo not installed");
        return;
    }
    let s = start(None);
    let all = all_buurten(&s);
    let mut scores: Vec<f64> = all
        .iter()
        .filter_map(|f| f["properties"]["score"].as_f64())
        .collect();
    scores.sort_by(f64::total_cmp);
    let mid = scores[scores.len() / 2];
    let want = all
        .iter()
        .filter(|f| f["properties"]["score"].as_f64().is_some_and(|x| x > mid))
        .count();
    let out = Command::new("ogrinfo")
        .args([
            "--debug",
            "on",
            "-ro",
            "-al",
            "-so",
            &format!("OAPIF:{}/ogc/v1", s.base),
            "buurten",
            "-where",
            &format!("score > {mid}"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let debug = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}{debug}");
    assert!(
        text.contains(&format!("Feature Count: {want}")),
        "want {want}:\n{text}"
    );
    if debug.contains("filter=") {
        assert!(debug.contains("filter-lang=cql2-text"), "{debug}");
    } else {
        // GDAL before 3.7 filters on the client; the count above still holds.
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: this GDAL filters on the client (no filter= in its requests)"
        );
    }
}

const ETRS89_URI: &str = "http://www.opengis.net/def/crs/EPSG/0/4258";

#[test]
fn every_collection_offers_etrs89_and_its_coordinates_come_from_proj_latitude_first() {
    let s = start(None);
    let cols = json(&s, "/ogc/v1/collections");
    for c in cols["collections"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let one = json(&s, &format!("/ogc/v1/collections/{id}"));
        assert!(
            one["crs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == ETRS89_URI),
            "{id}: {}",
            one["crs"]
        );
        assert_eq!(
            one["storageCrs"], "http://www.opengis.net/def/crs/EPSG/0/28992",
            "{id}"
        );
    }
    let r = get(
        &s,
        &format!(
            "/ogc/v1/collections/places/items?limit=10000&crs={}",
            enc(ETRS89_URI)
        ),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-crs"].to_str().unwrap(),
        format!("<{ETRS89_URI}>")
    );
    let etrs: Value = r.json().unwrap();
    let rd = json(
        &s,
        "/ogc/v1/collections/places/items?limit=10000&crs=EPSG:28992",
    );
    let wgs = json(
        &s,
        "/ogc/v1/collections/places/items?limit=10000&crs=EPSG:4326",
    );
    let to_etrs =
        buurtcirkel::crs::Transformer::new(buurtcirkel::crs::RD_NEW, buurtcirkel::crs::ETRS89)
            .unwrap();
    let feats = etrs["features"].as_array().unwrap();
    assert!(!feats.is_empty());
    for (i, f) in feats.iter().enumerate() {
        let c = &f["geometry"]["coordinates"];
        let r = &rd["features"][i]["geometry"]["coordinates"];
        let w = &wgs["features"][i]["geometry"]["coordinates"];
        assert_eq!(f["id"], rd["features"][i]["id"]);
        let (lon, lat) = to_etrs
            .point(r[0].as_f64().unwrap(), r[1].as_f64().unwrap())
            .unwrap();
        // Latitude first, to the published 7 decimals of the RD position PROJ was given.
        assert!((c[0].as_f64().unwrap() - lat).abs() < 2e-7, "{c} vs {lat}");
        assert!((c[1].as_f64().unwrap() - lon).abs() < 2e-7, "{c} vs {lon}");
        // ETRS89 and WGS 84 agree to well under a metre (1e-5 degree).
        assert!((c[0].as_f64().unwrap() - w[0].as_f64().unwrap()).abs() < 1e-5);
        assert!((c[1].as_f64().unwrap() - w[1].as_f64().unwrap()).abs() < 1e-5);
    }
    // A bbox in ETRS89 (lat,lon) around the first place finds it, and one far off does not.
    let c = &feats[0]["geometry"]["coordinates"];
    let (lat, lon) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    let near = format!(
        "{},{},{},{}",
        lat - 1e-3,
        lon - 1e-3,
        lat + 1e-3,
        lon + 1e-3
    );
    let found = json(
        &s,
        &format!(
            "/ogc/v1/collections/places/items?bbox={near}&bbox-crs={}",
            enc(ETRS89_URI)
        ),
    );
    assert!(
        found["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["id"] == feats[0]["id"]),
        "{found}"
    );
    let far = json(
        &s,
        &format!(
            "/ogc/v1/collections/places/items?bbox=50.8,3.4,50.81,3.41&bbox-crs={}",
            enc(ETRS89_URI)
        ),
    );
    assert_eq!(far["numberReturned"], 0);
    if to_etrs.uses_rdnaptrans_grid() {
        eprintln!(
            "RD New -> ETRS89 through RDNAPTRANS 2018: {}",
            to_etrs.method()
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: RDNAPTRANS 2018 grid ({}) not installed: PROJ used {}",
            buurtcirkel::crs::RDNAPTRANS_GRID,
            to_etrs.method()
        );
    }
}

/// Spectral (npm `@stoplight/spectral-cli`, installed by `scripts/setup` into
/// `target/spectral`), if present.
fn spectral() -> Option<std::path::PathBuf> {
    let bin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/spectral/node_modules/.bin/spectral");
    let ok = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(bin)
}

/// Spectral's rule codes for `doc` under the project's ADR ruleset, with its whole output.
fn spectral_codes(bin: &Path, dir: &Path, name: &str, doc: &Value) -> (Vec<String>, String) {
    let file = dir.join(name);
    std::fs::write(&file, serde_json::to_vec(doc).unwrap()).unwrap();
    let ruleset = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spectral/adr.yaml");
    let out = Command::new(bin)
        .args(["lint", "--quiet", "--format", "json", "--ruleset"])
        .arg(&ruleset)
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let found: Vec<Value> = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
        panic!(
            "no JSON from spectral ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut codes: Vec<String> = found
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("").to_string())
        .collect();
    codes.sort();
    codes.dedup();
    (codes, text)
}

/// The Dutch API Design Rules as a Spectral ruleset written here (`tests/spectral/adr.yaml`):
/// the served document passes every rule, and a document broken against each rule fails it,
/// so no rule passes by matching nothing.
#[test]
fn the_openapi_document_passes_the_adr_spectral_ruleset_and_each_rule_can_fail() {
    let Some(bin) = spectral() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: Spectral not installed (scripts/setup installs it into target/spectral)"
        );
        return;
    };
    let s = start(None);
    let doc = json(&s, "/ogc/v1/openapi.json");
    let dir = tempfile::tempdir().unwrap();
    let (codes, text) = spectral_codes(&bin, dir.path(), "openapi.json", &doc);
    assert!(
        codes.is_empty(),
        "ADR findings on the served document:\n{text}"
    );

    let mut bad = doc.clone();
    bad["openapi"] = "2.0".into();
    bad["info"]["version"] = "1.0".into();
    bad["info"]["contact"]
        .as_object_mut()
        .unwrap()
        .remove("email");
    bad["servers"][0]["url"] = "http://example.nl/ogc".into();
    let paths = bad["paths"].as_object_mut().unwrap();
    paths.remove("/openapi.json");
    let conformance = paths["/conformance"].clone();
    paths.insert("/extra/".into(), conformance.clone());
    let mut traced = conformance;
    traced["trace"] = traced["get"].clone();
    paths.insert("/conformance".into(), traced);
    let mut unversioned = paths["/health"].clone();
    unversioned["servers"] = json!([{"url": "http://example.nl"}]);
    paths.insert("/geheim".into(), unversioned);
    let responses = paths["/collections"]["get"]["responses"]
        .as_object_mut()
        .unwrap();
    responses.get_mut("200").unwrap().as_object_mut().unwrap()["headers"]
        .as_object_mut()
        .unwrap()
        .remove("API-Version");
    let error = responses
        .keys()
        .find(|k| k.starts_with('4'))
        .unwrap()
        .clone();
    responses.get_mut(&error).unwrap()["content"] = json!({"application/json": {}});
    let (codes, text) = spectral_codes(&bin, dir.path(), "bad.json", &bad);
    for rule in [
        "adr-contact",
        "adr-doc-openapi",
        "adr-http-methods",
        "adr-no-trailing-slash",
        "adr-problem-json",
        "adr-publish-openapi",
        "adr-semver",
        "adr-uri-version",
        "adr-uri-version-own-server",
        "adr-version-header",
    ] {
        assert!(
            codes.iter().any(|c| c == rule),
            "{rule} did not fire:\n{text}"
        );
    }
}
