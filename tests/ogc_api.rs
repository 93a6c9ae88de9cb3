//! OGC API Features and Tiles in-process: the router on the demo data, called the way a
//! client does, with every error case checked for status and problem details.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::{ServeConfig, sha256_hex};
use buurtcirkel::http::server::router;
use buurtcirkel::store::{Store, StoreData};
use futures_util::StreamExt as _;
use http_body_util::BodyExt;
use serde_json::Value;
use std::io::Write as _;
use tower::ServiceExt;

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

fn demo_data() -> StoreData {
    let d = buurtcirkel::demo::generate();
    StoreData {
        areas: d.areas,
        clients: d.clients,
        // The demo's fictional clients: the store opens everything (docs/privacy.md, Tiers).
        clients_demo: true,
        places: d.places,
        circles: d.circles,
        ..Default::default()
    }
}

fn app_with(config: ServeConfig, store: Option<Store>, data: StoreData) -> axum::Router {
    let state = AppState::new(config, store, "http://test");
    state.load(data).unwrap();
    router(state)
}

/// A service on a demo store in a temporary folder (kept alive by the returned guard), for the
/// routes that write to the store.
fn app_on_demo_store(config: ServeConfig) -> (tempfile::TempDir, Store, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("s.gpkg"));
    buurtcirkel::service::write_demo(&store, false).unwrap();
    let app = app_with(config, Some(store.clone()), store.load().unwrap());
    (dir, store, app)
}

fn app() -> axum::Router {
    app_with(ServeConfig::default(), None, demo_data())
}

async fn send(app: &axum::Router, req: Request<Body>) -> Resp {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.into_body().collect().await.unwrap().to_bytes().to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(app: &axum::Router, uri: &str) -> Resp {
    send(
        app,
        Request::get(uri)
            .header("host", "test")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// Follows `next` links from `uri` to the end; returns every feature.
async fn all_pages(app: &axum::Router, uri: &str) -> (Vec<Value>, usize) {
    let mut url = uri.to_string();
    let mut features = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(app, &url).await;
        assert_eq!(r.status, 200, "{url}: {}", String::from_utf8_lossy(&r.body));
        let page = r.json();
        pages += 1;
        let fs = page["features"].as_array().unwrap();
        assert_eq!(page["numberReturned"], fs.len());
        assert!(page["timeStamp"].is_string());
        features.extend(fs.iter().cloned());
        let next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        match next {
            Some(n) => url = n.trim_start_matches("http://test").to_string(),
            None => break,
        }
        assert!(pages < 100, "next links never end");
    }
    (features, pages)
}

#[tokio::test]
async fn the_landing_page_links_the_api_conformance_and_collections() {
    let app = app();
    let r = get(&app, "/ogc/v1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("api-version"), "1.0.0");
    let v = r.json();
    let rels: Vec<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    for rel in ["self", "alternate", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&rel), "{rel} missing: {rels:?}");
    }
    let c = get(&app, "/ogc/v1/conformance").await.json();
    let classes: Vec<&str> = c["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for suffix in [
        "features-1/1.0/conf/core",
        "features-1/1.0/conf/geojson",
        "features-1/1.0/conf/html",
        "features-1/1.0/conf/oas30",
        "features-2/1.0/conf/crs",
    ] {
        assert!(classes.iter().any(|c| c.ends_with(suffix)), "{suffix}");
    }
    let html = get(&app, "/ogc/v1?f=html").await;
    assert!(html.header("content-type").starts_with("text/html"));
    let browser = send(
        &app,
        Request::get("/ogc/v1/collections/buurten/items")
            .header("accept", "text/html,application/xhtml+xml")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(browser.header("content-type").starts_with("text/html"));
    assert!(String::from_utf8_lossy(&browser.body).contains("BU99990101"));
}

/// Every `$ref` in the document points at something that exists.
fn check_refs(doc: &Value, v: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let path = r.strip_prefix("#/").expect("local ref");
                let mut cur = doc;
                for part in path.split('/') {
                    cur = &cur[part];
                }
                assert!(!cur.is_null(), "dangling $ref {r}");
            }
            m.values().for_each(|x| check_refs(doc, x));
        }
        Value::Array(a) => a.iter().for_each(|x| check_refs(doc, x)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_path_and_parameter() {
    let app = app();
    let r = get(&app, "/ogc/v1/api").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").contains("openapi"));
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.0.3");
    check_refs(&doc, &doc);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{featureId}",
        "/tileMatrixSets",
        "/tileMatrixSets/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        "/collections/{collectionId}/tiles/WebMercatorQuad/tilejson",
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        "/health",
        "/metrics",
        "/api/v1/imports/{kind}",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    // Every {param} in a path is declared as a path parameter of its operation.
    for (p, item) in paths {
        for op in item.as_object().unwrap().values().filter(|v| v.is_object()) {
            let Some(params) = op.get("parameters") else {
                continue;
            };
            let names: Vec<String> = params
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let name = r["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                    doc["components"]["parameters"][name]["name"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            for seg in p.split('/').filter(|s| s.starts_with('{')) {
                let n = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(names.iter().any(|x| x == n), "{p}: {n} undeclared");
            }
            assert!(op["responses"].is_object(), "{p}");
        }
    }
    let items = &paths["/collections/{collectionId}/items"]["get"]["parameters"];
    let declared = items.to_string();
    let mut expected = vec![
        "limit",
        "offset",
        "bbox",
        "bbox-crs",
        "crs",
        "gemeentecode",
        "wijkcode",
        "categorie",
        "walk_m",
        "min_participants",
    ];
    let weights: Vec<&str> = buurtcirkel::analysis::weights::Weights::parameters().collect();
    expected.extend(weights.iter().copied());
    for p in expected {
        assert!(
            declared.contains(&format!("/{p}\"")),
            "items does not declare {p}"
        );
    }
    let limit = &doc["components"]["parameters"]["limit"]["schema"];
    assert_eq!(limit["maximum"], 10_000);
    assert_eq!(limit["default"], 100);

    // The official validator, when a test venv has it (scripts/test may install it).
    let py = std::env::var("OPENAPI_VALIDATOR_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = std::process::Command::new(&py)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("api.json");
        std::fs::write(&f, &r.body).unwrap();
        let out = std::process::Command::new(&py)
            .args([
                "-c",
                "import sys,json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
            ])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openapi-spec-validator: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: openapi-spec-validator not installed for {py}; structural checks only"
        );
    }
}

#[tokio::test]
async fn all_seven_collections_are_listed_with_storage_crs_rd_new() {
    let app = app();
    let v = get(&app, "/ogc/v1/collections").await.json();
    let ids: Vec<&str> = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "gemeenten",
            "wijken",
            "buurten",
            "clusters",
            "sites",
            "places",
            "circles"
        ]
    );
    for id in ids {
        let c = get(&app, &format!("/ogc/v1/collections/{id}")).await.json();
        assert_eq!(
            c["storageCrs"],
            "http://www.opengis.net/def/crs/EPSG/0/28992"
        );
        let crs = c["crs"].to_string();
        assert!(
            crs.contains("CRS84") && crs.contains("EPSG/0/4326"),
            "{crs}"
        );
        assert!(c["extent"]["spatial"]["bbox"][0].is_array(), "{id}");
        let (features, _) =
            all_pages(&app, &format!("/ogc/v1/collections/{id}/items?limit=7")).await;
        let direct = get(&app, &format!("/ogc/v1/collections/{id}/items?limit=10000"))
            .await
            .json();
        assert_eq!(
            features.len(),
            direct["numberMatched"].as_u64().unwrap() as usize,
            "{id}"
        );
    }
}

#[tokio::test]
async fn paging_through_buurten_returns_each_of_the_30_once() {
    let app = app();
    let (features, pages) = all_pages(&app, "/ogc/v1/collections/buurten/items?limit=7").await;
    assert_eq!(pages, 5);
    let mut ids: Vec<&str> = features.iter().map(|f| f["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30);
    let last = get(&app, "/ogc/v1/collections/buurten/items?limit=7&offset=28")
        .await
        .json();
    let prev = last["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "prev")
        .unwrap();
    assert!(prev["href"].as_str().unwrap().contains("offset=21"));
}

#[tokio::test]
async fn rd_new_and_epsg_4326_output_match_the_store_and_say_so_in_content_crs() {
    let data = demo_data();
    let app = app();
    let code = "BU99990101";
    let area = data.areas.iter().find(|a| a.code.as_str() == code).unwrap();
    let first = area.geometry_rd.0[0].exterior().0[0];

    let rd = get(&app, &format!("/ogc/v1/collections/buurten/items/{code}?crs=http://www.opengis.net/def/crs/EPSG/0/28992")).await;
    assert_eq!(rd.status, 200);
    assert_eq!(
        rd.header("content-crs"),
        "<http://www.opengis.net/def/crs/EPSG/0/28992>"
    );
    let c = &rd.json()["geometry"]["coordinates"][0][0][0];
    assert!((c[0].as_f64().unwrap() - first.x).abs() < 0.01);
    assert!((c[1].as_f64().unwrap() - first.y).abs() < 0.01);

    let lonlat = get(&app, &format!("/ogc/v1/collections/buurten/items/{code}")).await;
    assert_eq!(
        lonlat.header("content-crs"),
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let latlon = get(
        &app,
        &format!("/ogc/v1/collections/buurten/items/{code}?crs=EPSG:4326"),
    )
    .await;
    assert_eq!(
        latlon.header("content-crs"),
        "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    );
    let a = &lonlat.json()["geometry"]["coordinates"][0][0][0];
    let b = &latlon.json()["geometry"]["coordinates"][0][0][0];
    assert_eq!(a[0], b[1]);
    assert_eq!(a[1], b[0]);
    assert!(b[0].as_f64().unwrap() > 50.0, "latitude first in EPSG:4326");
    let t = buurtcirkel::crs::Transformer::new("EPSG:4326", "EPSG:28992").unwrap();
    let (x, y) = t
        .point(a[0].as_f64().unwrap(), a[1].as_f64().unwrap())
        .unwrap();
    assert!(
        (x - first.x).abs() < 0.01 && (y - first.y).abs() < 0.01,
        "{x} {y}"
    );
}

#[tokio::test]
async fn bbox_in_each_crs_and_property_filters_select_features() {
    let data = demo_data();
    let app = app();
    let area = data
        .areas
        .iter()
        .find(|a| a.code.as_str() == "BU99990101")
        .unwrap();
    let p = geo::InteriorPoint::interior_point(&area.geometry_rd).unwrap();
    let (x, y) = (p.x(), p.y());
    let r = get(
        &app,
        &format!(
            "/ogc/v1/collections/buurten/items?bbox-crs=EPSG:28992&bbox={},{},{},{}",
            x - 1.0,
            y - 1.0,
            x + 1.0,
            y + 1.0
        ),
    )
    .await
    .json();
    assert_eq!(r["numberMatched"], 1);
    assert_eq!(r["features"][0]["id"], "BU99990101");
    let t = buurtcirkel::crs::Transformer::new("EPSG:28992", "EPSG:4326").unwrap();
    let (lon, lat) = t.point(x, y).unwrap();
    let d = 1e-5;
    let r = get(
        &app,
        &format!(
            "/ogc/v1/collections/buurten/items?bbox={},{},{},{}",
            lon - d,
            lat - d,
            lon + d,
            lat + d
        ),
    )
    .await
    .json();
    assert_eq!(r["features"][0]["id"], "BU99990101");
    let r = get(&app, &format!("/ogc/v1/collections/buurten/items?bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&bbox={},{},{},{}", lat - d, lon - d, lat + d, lon + d)).await.json();
    assert_eq!(r["features"][0]["id"], "BU99990101");
    let r = get(&app, "/ogc/v1/collections/buurten/items?bbox=1,2,3,4")
        .await
        .json();
    assert_eq!(r["numberMatched"], 0);

    let wijk = get(
        &app,
        "/ogc/v1/collections/buurten/items?wijkcode=WK999901&limit=1",
    )
    .await
    .json();
    let n = wijk["numberMatched"].as_u64().unwrap();
    assert!(n > 0 && n < 30);
    let next = wijk["links"].to_string();
    assert!(
        next.contains("wijkcode=WK999901"),
        "filters stay in links: {next}"
    );
    let gm = get(&app, "/ogc/v1/collections/wijken/items?gemeentecode=GM9999")
        .await
        .json();
    assert_eq!(
        gm["numberMatched"],
        gm["features"].as_array().unwrap().len()
    );
    let geschikt = get(&app, "/ogc/v1/collections/buurten/items?categorie=geschikt")
        .await
        .json();
    for f in geschikt["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["categorie"], "geschikt");
    }
}

#[tokio::test]
async fn every_bad_request_gets_problem_details_that_say_what_was_wrong() {
    let app = app();
    for (uri, status, mentions) in [
        ("/ogc/v1/collections/provincies", 404, "provincies"),
        (
            "/ogc/v1/collections/provincies/items",
            404,
            "expected one of gemeenten",
        ),
        ("/ogc/v1/collections/buurten/items?bbox=1,2,3", 400, "bbox"),
        (
            "/ogc/v1/collections/buurten/items?bbox=5,52,4,53",
            400,
            "lower corner",
        ),
        (
            "/ogc/v1/collections/buurten/items?bbox=a,b,c,d",
            400,
            "bbox",
        ),
        (
            "/ogc/v1/collections/buurten/items?bbox=0,0,1,100",
            400,
            "latitude",
        ),
        (
            "/ogc/v1/collections/buurten/items?crs=EPSG:3857",
            400,
            "crs",
        ),
        (
            "/ogc/v1/collections/buurten/items?bbox-crs=urn:x&bbox=1,2,3,4",
            400,
            "bbox-crs",
        ),
        ("/ogc/v1/collections/buurten/items?limit=0", 400, "limit"),
        (
            "/ogc/v1/collections/buurten/items?datetime=gisteren",
            400,
            "datetime",
        ),
        (
            "/ogc/v1/collections/buurten/items?datetime=../..",
            400,
            "open end",
        ),
        ("/ogc/v1/collections/buurten/items?offset=-1", 400, "offset"),
        (
            "/ogc/v1/collections/buurten/items?kleur=rood",
            400,
            "unknown parameter 'kleur'",
        ),
        (
            "/ogc/v1/collections/clusters/items?categorie=geschikt",
            400,
            "no property categorie",
        ),
        (
            "/ogc/v1/collections/buurten/items?w_leeftijd=2",
            400,
            "w_leeftijd",
        ),
        (
            "/ogc/v1/collections/buurten/items?w_p_65plus=-1",
            400,
            "w_p_65plus",
        ),
        ("/ogc/v1/collections/buurten/items?walk_m=5", 400, "walk_m"),
        (
            "/ogc/v1/collections/buurten/items?min_participants=x",
            400,
            "min_participants",
        ),
        (
            "/ogc/v1/collections/buurten/items?limit=5&limit=6",
            400,
            "more than once",
        ),
        ("/ogc/v1/collections/buurten/items?f=xml", 400, "f=xml"),
        (
            "/ogc/v1/collections/buurten/items/BU00000000",
            404,
            "BU00000000",
        ),
        (
            "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/17/0/0",
            404,
            "zoom 0 to 16",
        ),
        (
            "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/2/4/0",
            404,
            "2^zoom",
        ),
        (
            "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/2/1/2?z=3",
            400,
            "unknown parameter 'z'",
        ),
        (
            "/ogc/v1/collections/buurten/tiles/WebMercatorQuad/2/1/2?walk_m=ver",
            400,
            "walk_m",
        ),
        (
            "/ogc/v1/collections/straten/tiles/WebMercatorQuad/2/1/2",
            404,
            "no collection 'straten'",
        ),
        ("/ogc/v1/nergens", 404, "/ogc/v1/nergens"),
    ] {
        let r = get(&app, uri).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{uri}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "{uri}"
        );
        assert_eq!(r.header("api-version"), "1.0.0", "{uri}");
        let body = r.json();
        assert_eq!(body["status"], status, "{uri}");
        assert!(body["title"].is_string(), "{uri}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(mentions), "{uri}: {detail}");
    }
}

#[tokio::test]
async fn weights_in_the_query_change_the_scores_and_are_computed_once() {
    let app = app();
    let base = get(&app, "/ogc/v1/collections/buurten/items/BU99990101")
        .await
        .json();
    // This buurt tops most criteria; its low-income share (80th percentile) is the one that
    // moves the score when weighted up.
    let u = "/ogc/v1/collections/buurten/items/BU99990101?w_participants=0&w_p_laag_inkomen=20";
    let a = get(&app, u).await.json();
    assert_ne!(base["properties"]["score"], a["properties"]["score"]);
    let b = get(&app, u).await.json();
    assert_eq!(a["properties"], b["properties"]);
    let coll = get(&app, "/ogc/v1/collections/buurten?w_participants=0")
        .await
        .json();
    assert!(
        coll["links"].to_string().contains("w_participants=0"),
        "links keep the view"
    );
    let m = String::from_utf8(get(&app, "/metrics").await.body).unwrap();
    let hits: f64 = m
        .lines()
        .find(|l| l.starts_with("buurtcirkel_cache_hits_total{cache=\"results\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        hits >= 1.0,
        "the repeated parameter set is a cache hit: {m}"
    );
    assert!(m.contains("buurtcirkel_http_request_duration_seconds_bucket{route=\"/ogc/v1/collections/{id}/items/{fid}\""));
    assert!(m.contains("buurtcirkel_analysis_seconds_total"));
}

#[tokio::test]
async fn a_loading_server_answers_503_with_retry_after() {
    let app = router(AppState::empty());
    let r = get(&app, "/ogc/v1/collections/buurten/items").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), "1");
    assert_eq!(r.header("content-type"), "application/problem+json");
}

fn auth_config(read_clusters_planner: bool) -> ServeConfig {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("auth.toml");
    std::fs::write(
        &p,
        format!(
            "read = \"public\"\n{}[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n[[tokens]]\nname = \"plan\"\nrole = \"planner\"\nsha256 = \"{}\"\n",
            if read_clusters_planner { "[collections]\nclusters = \"planner\"\n" } else { "" },
            sha256_hex("admin-token"),
            sha256_hex("planner-token")
        ),
    )
    .unwrap();
    ServeConfig::load(None, Some(&p), |_| None).unwrap()
}

async fn post(app: &axum::Router, uri: &str, token: Option<&str>, body: &str) -> Resp {
    let mut b = Request::post(uri).header("host", "test");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn imports_need_an_admin_token_and_return_the_cli_report() {
    let (_dir, _store, app) = app_on_demo_store(auth_config(false));
    let csv = "naam,soort,x,y\nWijkcentrum Test,wijkcentrum,150000,420000\n";
    let uri = "/api/v1/imports/places?filename=plekken.csv";

    let r = post(&app, uri, None, csv).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        "Bearer, Basic realm=\"Buurtcirkel Atlas\""
    );
    assert_eq!(r.header("content-type"), "application/problem+json");
    let r = post(&app, uri, Some("wrong"), csv).await;
    assert_eq!(r.status, 401);
    let r = post(&app, uri, Some("planner-token"), csv).await;
    assert_eq!(r.status, 403);
    assert!(r.json()["detail"].as_str().unwrap().contains("admin"));
    let r = post(
        &app,
        "/api/v1/imports/zwembaden?filename=x.csv",
        Some("admin-token"),
        csv,
    )
    .await;
    assert_eq!(r.status, 404);

    let r = post(&app, uri, Some("admin-token"), csv).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let report = r.json();
    assert_eq!(report["kind"], "places");
    let places = get(&app, "/ogc/v1/collections/places/items").await.json();
    assert_eq!(places["numberMatched"], 1, "the snapshot is reloaded");
    assert_eq!(
        places["features"][0]["properties"]["naam"],
        "Wijkcentrum Test"
    );

    let bad = post(
        &app,
        uri,
        Some("admin-token"),
        "naam,soort,x,y\nA,b,abc,def\n",
    )
    .await;
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    assert!(
        !bad.json()["detail"].as_str().unwrap().contains("/tmp"),
        "no server paths"
    );
    assert_eq!(
        get(&app, "/ogc/v1/collections/places/items").await.json()["numberMatched"],
        1
    );
}

#[tokio::test]
async fn a_collection_can_be_closed_to_the_public() {
    let app = app_with(auth_config(true), None, demo_data());
    let r = get(&app, "/ogc/v1/collections/clusters/items").await;
    assert_eq!(r.status, 401);
    let r = get(
        &app,
        "/ogc/v1/collections/clusters/tiles/WebMercatorQuad/0/0/0",
    )
    .await;
    assert_eq!(r.status, 401);
    let r = send(
        &app,
        Request::get("/ogc/v1/collections/clusters/items")
            .header("authorization", "Bearer planner-token")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    let list = get(&app, "/ogc/v1/collections").await.json();
    assert!(
        !list.to_string().contains("\"id\":\"clusters\""),
        "hidden from the public list"
    );
    assert_eq!(
        get(&app, "/ogc/v1/collections/buurten/items").await.status,
        200
    );
}

#[tokio::test]
async fn a_multipart_upload_is_read_like_a_raw_body() {
    let (_dir, _store, app) = app_on_demo_store(auth_config(false));
    let boundary = "----atlas-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plekken.csv\"\r\nContent-Type: text/csv\r\n\r\nnaam,soort,x,y\r\nBibliotheek Test,bibliotheek,150000,420000\r\n\r\n--{boundary}--\r\n"
    );
    let req = |token: &str, body: String| {
        Request::post("/api/v1/imports/places")
            .header("host", "test")
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&app, req("admin-token", body)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["kind"], "places");
    let places = get(&app, "/ogc/v1/collections/places/items").await.json();
    assert_eq!(places["numberMatched"], 1);
    assert_eq!(
        places["features"][0]["properties"]["naam"],
        "Bibliotheek Test"
    );

    // A form without a file part: a problem that says which part is missing; nothing changes.
    let empty = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhallo\r\n--{boundary}--\r\n"
    );
    let r = send(&app, req("admin-token", empty)).await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(r.json()["detail"].as_str().unwrap().contains("'file'"));
    let places = get(&app, "/ogc/v1/collections/places/items").await.json();
    assert_eq!(places["numberMatched"], 1);
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_a_408_problem() {
    // An upload whose body stops arriving: the request ends at the time limit with a
    // problem+json answer, not an empty 408 and not a hung connection.
    let config = ServeConfig {
        request_timeout_s: 1,
        ..auth_config(false)
    };
    let (_dir, store, app) = app_on_demo_store(config);
    let before = std::fs::read(store.path()).unwrap();
    let stalled = futures_util::stream::iter([Ok::<_, std::io::Error>(
        axum::body::Bytes::from_static(b"x,y\n155000,463000\n"),
    )])
    .chain(futures_util::stream::pending());
    let t = std::time::Instant::now();
    let r = send(
        &app,
        Request::post("/api/v1/imports/clients")
            .header("authorization", "Bearer admin-token")
            .header("content-type", "text/csv")
            .body(Body::from_stream(stalled))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 408);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("time limit of 1 s")
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(
        std::fs::read(store.path()).unwrap(),
        before,
        "nothing stored"
    );
}

#[tokio::test]
async fn datetime_matches_every_feature_and_a_limit_above_the_maximum_is_clamped() {
    let app = app();
    let all = get(&app, "/ogc/v1/collections/buurten/items").await.json();
    for d in [
        "2024-05-01",
        "2024-05-01T12:00:00Z",
        "2020-01-01/..",
        "../2030-12-31T23:59:59%2B01:00",
        "2020-01-01/2021-01-01",
    ] {
        let r = get(
            &app,
            &format!("/ogc/v1/collections/buurten/items?datetime={d}"),
        )
        .await;
        assert_eq!(r.status, 200, "{d}");
        assert_eq!(r.json()["numberMatched"], all["numberMatched"], "{d}");
    }
    let r = get(&app, "/ogc/v1/collections/buurten/items?limit=10001").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let self_link = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(self_link.contains("limit=10000"), "{self_link}");
    assert_eq!(v["numberReturned"], all["numberMatched"]);
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_document_405() {
    let app = app();
    let r = send(
        &app,
        Request::delete("/ogc/v1/collections/buurten/items")
            .header("host", "test")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let v = r.json();
    assert_eq!(v["status"], 405);
    assert!(v["detail"].as_str().unwrap().contains("DELETE"), "{v}");
}

#[tokio::test]
async fn queryables_and_schema_are_typed_by_the_data_model() {
    let app = app();
    let r = get(&app, "/ogc/v1/collections/buurten/queryables").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/schema+json");
    let q = r.json();
    assert_eq!(q["properties"]["categorie"]["type"], "string");
    // Every scalar property can be filtered on; the nested explanation cannot.
    assert_eq!(q["properties"]["score"]["type"], "number");
    assert!(q["properties"].get("toelichting").is_none(), "{q}");
    let s = get(&app, "/ogc/v1/collections/buurten/schema").await.json();
    assert_eq!(s["properties"]["score"]["type"], "number");
    assert_eq!(s["properties"]["rang"]["type"], "integer");
    assert_eq!(s["properties"]["toelichting"]["type"], "object");
    // Typed from the model: a property that is null on every feature keeps its type.
    let items = get(&app, "/ogc/v1/collections/buurten/items?limit=10000")
        .await
        .json();
    for (name, v) in s["properties"].as_object().unwrap() {
        if name == "geometry" {
            continue;
        }
        assert!(v["type"].is_string(), "{name} untyped");
        let t = v["type"].as_str().unwrap();
        for f in items["features"].as_array().unwrap() {
            let x = &f["properties"][name];
            let ok = match t {
                "string" => x.is_string() || x.is_null(),
                "integer" => x.is_i64() || x.is_u64() || x.is_null(),
                "number" => x.is_number() || x.is_null(),
                "boolean" => x.is_boolean() || x.is_null(),
                _ => x.is_object() || x.is_null(),
            };
            assert!(ok, "{name}: {x} is not {t}");
        }
    }
}

#[tokio::test]
async fn the_explanation_is_also_published_as_typed_flat_columns_per_criterion() {
    let app = app();
    let q = get(&app, "/ogc/v1/collections/buurten/queryables")
        .await
        .json();
    let s = get(&app, "/ogc/v1/collections/buurten/schema").await.json();
    let api = get(&app, "/ogc/v1/api").await.json();
    let declared = &api["components"]["schemas"]["AreaProperties"]["properties"];
    let items = get(&app, "/ogc/v1/collections/buurten/items?limit=10000")
        .await
        .json();
    let features = items["features"].as_array().unwrap();
    let mut seen_known = 0;
    for c in buurtcirkel::analysis::weights::Criterion::ALL {
        for col in [
            format!("c_{}_punten", c.key()),
            format!("c_{}_norm", c.key()),
        ] {
            assert_eq!(q["properties"][&col]["type"], "number", "queryables {col}");
            assert_eq!(s["properties"][&col]["type"], "number", "schema {col}");
            assert_eq!(declared[&col]["type"], "number", "OpenAPI {col}");
        }
        // Each flat value is the nested one of the same feature (NULL where it is missing).
        for f in features {
            let p = &f["properties"];
            let Some(nested) = p["toelichting"]["criteria"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["criterion"] == c.key()))
            else {
                assert!(p[format!("c_{}_punten", c.key())].is_null(), "{p}");
                continue;
            };
            let punten = &p[format!("c_{}_punten", c.key())];
            let norm = &p[format!("c_{}_norm", c.key())];
            if nested["missing"] == true {
                assert!(punten.is_null() && norm.is_null(), "{}: {p}", c.key());
            } else {
                seen_known += 1;
                assert_eq!(punten, &nested["contribution"], "{}", c.key());
                assert_eq!(norm, &nested["normalised"], "{}", c.key());
            }
        }
    }
    assert!(
        seen_known > features.len(),
        "too few known criteria: {seen_known}"
    );
    // The points of one buurt add up to its score (up to the rounding of each to 0.1).
    for f in features {
        let p = f["properties"].as_object().unwrap();
        let Some(score) = p["score"].as_f64() else {
            continue;
        };
        let sum: f64 = p
            .iter()
            .filter(|(k, _)| k.starts_with("c_") && k.ends_with("_punten"))
            .filter_map(|(_, v)| v.as_f64())
            .sum();
        assert!((sum - score).abs() < 0.6, "{}: {sum} vs {score}", f["id"]);
    }
}

/// The `href`s of the `<a>` elements of an HTML page whose text is `label`.
fn hrefs_labelled(html: &str, label: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|rest| {
            let (href, after) = rest.split_once("\">")?;
            let text = after.split("</a>").next()?;
            (text == label).then(|| href.replace("&amp;", "&"))
        })
        .collect()
}

#[tokio::test]
async fn html_items_show_every_property_and_their_links_stay_html() {
    let app = app();
    let all = get(&app, "/ogc/v1/collections/buurten/items?limit=10000")
        .await
        .json();
    let first = &all["features"][0];
    let props = first["properties"].as_object().unwrap();
    let r = get(
        &app,
        "/ogc/v1/collections/buurten/items?f=html&limit=5&walk_m=800",
    )
    .await;
    assert_eq!(r.status, 200);
    let page = String::from_utf8(r.body.clone()).unwrap();
    // Every property is a column, categorie, rang and the flat explanation included.
    for name in props.keys() {
        assert!(
            page.contains(&format!("<th>{name}</th>")),
            "no column {name}"
        );
    }
    for name in ["categorie", "rang", "toelichting", "c_p_65plus_punten"] {
        assert!(props.contains_key(name), "{name}");
    }
    // Next keeps f=html (and the analysis parameters); the item links stay HTML.
    let next = hrefs_labelled(&page, "Volgende pagina");
    assert_eq!(next.len(), 1, "{page}");
    assert!(
        next[0].contains("f=html") && next[0].contains("offset=5"),
        "{next:?}"
    );
    assert!(next[0].contains("walk_m=800"), "{next:?}");
    let next_uri = next[0].strip_prefix("http://test").unwrap();
    let r2 = get(&app, next_uri).await;
    assert_eq!(r2.status, 200);
    assert!(r2.header("content-type").starts_with("text/html"));
    let page2 = String::from_utf8(r2.body.clone()).unwrap();
    let prev = hrefs_labelled(&page2, "Vorige pagina");
    assert!(
        prev[0].contains("f=html") && prev[0].contains("offset=0"),
        "{prev:?}"
    );
    let id = first["id"].as_str().unwrap();
    let item_links = hrefs_labelled(&page, id);
    assert_eq!(item_links.len(), 1, "{page}");
    assert!(item_links[0].contains("f=html") && item_links[0].contains("walk_m=800"));
    // The JSON page's paging stays JSON.
    let j = get(&app, "/ogc/v1/collections/buurten/items?limit=5")
        .await
        .json();
    let jnext = j["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(jnext["href"].as_str().unwrap().contains("f=json"));
    assert_eq!(jnext["type"], "application/geo+json");

    // The item page: every property, the explanation spelled out, links that stay HTML.
    let r = get(&app, &item_links[0]).await;
    assert_eq!(r.status, 200);
    let item = String::from_utf8(r.body.clone()).unwrap();
    for name in props.keys() {
        assert!(item.contains(&format!("<th>{name}</th>")), "no row {name}");
    }
    for c in first["properties"]["toelichting"]["criteria"]
        .as_array()
        .unwrap()
    {
        let label = c["label"].as_str().unwrap();
        let esc = label
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(item.contains(&esc), "the explanation lacks {label}");
    }
    assert!(!item.contains("(zie JSON)"));
    let coll = hrefs_labelled(&item, "Alle objecten (HTML)");
    assert!(coll[0].contains("f=html"), "{coll:?}");
    let geojson = hrefs_labelled(&item, "Dit object (GeoJSON)");
    assert!(geojson[0].contains("f=json"), "{geojson:?}");
}

async fn get_if_none_match(app: &axum::Router, uri: &str, tag: &str) -> Resp {
    send(
        app,
        Request::get(uri)
            .header("host", "test")
            .header("if-none-match", tag)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn etags_follow_the_snapshot_and_the_request_not_the_body() {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(demo_data()).unwrap();
    let app = router(state.clone());
    let uri = "/ogc/v1/collections/buurten/items?limit=3";
    let first = get(&app, uri).await;
    let tag = first.header("etag").to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    // Same snapshot, same request: the same tag (the body's timeStamp may have moved) and 304.
    let again = get(&app, uri).await;
    assert_eq!(again.header("etag"), tag);
    let cached = get_if_none_match(&app, uri, &tag).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), tag);
    // Another page or another host (other links in the body): another tag.
    assert_ne!(
        get(&app, "/ogc/v1/collections/buurten/items?limit=4")
            .await
            .header("etag"),
        tag
    );
    let other_host = send(
        &app,
        Request::get(uri)
            .header("host", "elders.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(other_host.header("etag"), tag);
    // Liveness changes without a new snapshot: never tagged.
    assert!(get(&app, "/health").await.headers.get("etag").is_none());
    // A new snapshot (the same data loaded again) changes every tag; the old one is a 200.
    let before = state.snapshot_id();
    state.load(demo_data()).unwrap();
    assert_ne!(state.snapshot_id(), before);
    let after = get_if_none_match(&app, uri, &tag).await;
    assert_eq!(after.status, StatusCode::OK);
    assert_ne!(after.header("etag"), tag);
    assert_eq!(after.json()["numberReturned"], 3);
}
