//! Messages and text of imports (issue 13, point 6), through the CLI and the upload endpoint of
//! the real binary: a Windows-1252 file is transcoded with a note, NUL and control characters
//! are refused with line and column and without the value, GDAL failures are sentences naming
//! the file, a shapefile without its .dbf says so, reports name no server path, and client
//! mistakes (a 300-character file name, a too-large upload) are 4xx that name the limit.

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach; a
// failed spawn or HTTP call is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

use std::io::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use buurtcirkel::http::config::sha256_hex;
use buurtcirkel::store::Store;

fn cli(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("BUURTCIRKEL_STORE")
        .output()
        .expect("run the CLI")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn demo(dir: &Path) -> PathBuf {
    let store = dir.join("s.gpkg");
    buurtcirkel::service::write_demo(&Store::new(&store), false).expect("demo");
    store
}

#[test]
fn a_windows_1252_csv_is_transcoded_and_the_report_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let store = demo(dir.path());
    let file = dir.path().join("plekken.csv");
    // "Café Zoë" in Windows-1252: é = 0xE9, ë = 0xEB (not valid UTF-8).
    let mut bytes = b"naam,soort,x,y\n".to_vec();
    bytes.extend_from_slice(b"Caf\xe9 Zo\xeb,wijkcentrum,150000,420000\n");
    std::fs::write(&file, bytes).expect("write");
    let out = cli(&store, &["import", "places", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("Windows-1252, converted to UTF-8"),
        "no transcoding note: {}",
        text(&out)
    );
    let data = Store::new(&store).load().expect("load");
    assert!(
        data.places.iter().any(|p| p.name == "Café Zoë"),
        "names: {:?}",
        data.places.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
}

#[test]
fn a_utf8_csv_gets_no_transcoding_note() {
    let dir = tempfile::tempdir().expect("dir");
    let store = demo(dir.path());
    let file = dir.path().join("plekken.csv");
    std::fs::write(
        &file,
        "naam,soort,x,y\nCafé Zoë,wijkcentrum,150000,420000\n",
    )
    .expect("write");
    let out = cli(&store, &["import", "places", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("Windows-1252"), "{}", text(&out));
    let data = Store::new(&store).load().expect("load");
    assert!(data.places.iter().any(|p| p.name == "Café Zoë"));
}

#[test]
fn a_control_character_is_refused_with_line_and_column_and_without_the_value() {
    let dir = tempfile::tempdir().expect("dir");
    let store = demo(dir.path());
    let before = std::fs::read(&store).expect("store");
    let file = dir.path().join("clienten.csv");
    std::fs::write(
        &file,
        "x,y,naam\n150000,420000,Jansen\n150100,420100,Geh\x07eim\n",
    )
    .expect("write");
    let out = cli(&store, &["import", "clients", file.to_str().expect("path")]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("line 3, column 3"), "{msg}");
    assert!(msg.contains("control character"), "{msg}");
    assert!(
        !msg.contains("Geh") && !msg.contains("Jansen"),
        "a client value echoed: {msg}"
    );
    assert_eq!(
        std::fs::read(&store).expect("store"),
        before,
        "the store changed"
    );
}

#[test]
fn a_shapefile_without_its_dbf_says_the_dbf_is_missing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("s.gpkg");
    let src = dir.path().join("src.gpkg");
    buurtcirkel::service::write_demo(&Store::new(&src), false).expect("demo");
    let shp = dir.path().join("buurten.shp");
    let made = Command::new("ogr2ogr")
        .arg(&shp)
        .arg(&src)
        .arg("buurten")
        .output();
    let Ok(made) = made else {
        let _ = writeln!(std::io::stderr(), "SKIP: ogr2ogr not installed");
        return;
    };
    assert!(made.status.success(), "{}", text(&made));
    std::fs::remove_file(dir.path().join("buurten.dbf")).expect("remove dbf");
    let out = cli(&store, &["import", "areas", shp.to_str().expect("path")]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("the shapefile's .dbf is missing"), "{msg}");
    assert!(!msg.contains("among no columns"), "{msg}");
}

#[test]
fn a_damaged_geopackage_gives_a_sentence_not_a_bare_gdal_code() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("s.gpkg");
    let file = dir.path().join("kaart.gpkg");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&file, bytes).expect("write");
    let out = cli(&store, &["import", "areas", file.to_str().expect("path")]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("kaart.gpkg"), "the file is not named: {msg}");
    assert!(msg.contains("GeoPackage"), "{msg}");
    assert!(
        !msg.contains("returned error")
            && !msg.contains("Error msg")
            && !msg.contains("NULL pointer"),
        "a bare GDAL code: {msg}"
    );
}

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

fn start(store: &Path, dir: &Path, env: &[(&str, &str)]) -> Server {
    let auth = dir.join("auth.toml");
    std::fs::write(
        &auth,
        format!(
            "read = \"public\"\n[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            sha256_hex("admin-token")
        ),
    )
    .expect("auth");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"));
    cmd.arg("--store")
        .arg(store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth"])
        .arg(&auth)
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_CONFIG")
        .env_remove("BUURTCIRKEL_AUTH")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start serve");
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("{}/ready", server.base)).is_ok_and(|r| r.status() == 200)
        {
            return server;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the server never got ready");
}

fn post(base: &str, query: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/imports/{query}"))
        .bearer_auth("admin-token")
        .body(body)
        .send()
        .expect("upload");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

#[test]
fn upload_mistakes_are_4xx_that_name_the_limit_and_reports_name_no_server_path() {
    let dir = tempfile::tempdir().expect("dir");
    let store = demo(dir.path());
    let server = start(&store, dir.path(), &[("BUURTCIRKEL_BODY_LIMIT_MB", "1")]);
    let places = b"naam,soort,x,y\nPlek,wijkcentrum,150000,420000\n".to_vec();

    let long = format!("{}.csv", "a".repeat(300));
    let (status, body) = post(
        &server.base,
        &format!("places?filename={long}"),
        places.clone(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("limit of 120"), "{body}");

    let (status, body) = post(&server.base, "places?filename=big.csv", vec![b'a'; 2 << 20]);
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("1 MiB"),
        "the 413 does not name the limit: {body}"
    );

    let (status, body) = post(&server.base, "places?filename=plekken.csv", places);
    assert_eq!(status, 200, "{body}");
    let folder = dir.path().to_string_lossy().to_string();
    assert!(body.contains("plekken.csv"), "{body}");
    assert!(
        !body.contains(&folder) && !body.contains(".work") && !body.contains("/tmp"),
        "a server path in the report: {body}"
    );

    let mut latin = b"naam,soort,x,y\n".to_vec();
    latin.extend_from_slice(b"Caf\xe9,wijkcentrum,150000,420000\n");
    let (status, body) = post(&server.base, "places?filename=cafe.csv", latin);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Windows-1252"), "{body}");

    let (status, body) = post(
        &server.base,
        "places?filename=nul.csv",
        b"naam,soort,x,y\nGeh\0eim,wijkcentrum,150000,420000\n".to_vec(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("line 2, column 1") && !body.contains("Geh"),
        "{body}"
    );
}
