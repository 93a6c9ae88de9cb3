//! Hostile inputs through the upload endpoint and the CLI: indirection (VRT), renamed files,
//! huge cells and zip bombs are refused before GDAL reads them, with a message that names the
//! rule or limit, and nothing of another file ever appears in an answer.

// The app helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach.
#![allow(clippy::expect_used)]

mod common;

use std::io::Write as _;

use axum::body::Body;
use axum::http::Request;
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::{ServeConfig, sha256_hex};
use buurtcirkel::http::server::router;
use buurtcirkel::store::Store;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn admin_config(dir: &std::path::Path) -> ServeConfig {
    let p = dir.join("auth.toml");
    std::fs::write(
        &p,
        format!(
            "read = \"public\"\n[[tokens]]\nname = \"beheer\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            sha256_hex("admin-token")
        ),
    )
    .expect("write auth");
    ServeConfig::load(None, Some(&p), |_| None).expect("config")
}

fn app_on_demo_store() -> (tempfile::TempDir, Store, axum::Router) {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::new(dir.path().join("s.gpkg"));
    buurtcirkel::service::write_demo(&store, false).expect("demo");
    let state = AppState::new(admin_config(dir.path()), Some(store.clone()), "http://test");
    state.load(store.load().expect("load")).expect("state");
    (dir, store, router(state))
}

async fn upload(app: &axum::Router, kind: &str, name: &str, body: Vec<u8>) -> (u16, String) {
    let r = app
        .clone()
        .oneshot(
            Request::post(format!("/api/v1/imports/{kind}?filename={name}"))
                .header("host", "test")
                .header("authorization", "Bearer admin-token")
                .body(Body::from(body))
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A VRT that reads /etc/hosts as a CSV layer.
fn hosts_vrt() -> Vec<u8> {
    b"<OGRVRTDataSource><OGRVRTLayer name=\"hosts\"><SrcDataSource>/etc/hosts</SrcDataSource><SrcLayer>hosts</SrcLayer></OGRVRTLayer></OGRVRTDataSource>\n".to_vec()
}

/// A line of /etc/hosts that would betray it was read (not a comment, not empty).
fn hosts_line() -> Option<String> {
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(String::from)
}

fn xlsx(sheet_xml: &[u8], shared: Option<&[u8]>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        let mut put = |name: &str, bytes: &[u8]| {
            z.start_file(name, o).expect("entry");
            z.write_all(bytes).expect("write entry");
        };
        put("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#);
        put("xl/workbook.xml", br#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>"#);
        put("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#);
        put("xl/worksheets/sheet1.xml", sheet_xml);
        if let Some(s) = shared {
            put("xl/sharedStrings.xml", s);
        }
        z.finish().expect("finish");
    }
    out.into_inner()
}

#[tokio::test]
async fn a_vrt_upload_that_points_at_etc_hosts_is_refused_and_nothing_of_it_is_answered() {
    let (_dir, store, app) = app_on_demo_store();
    let before = std::fs::read(store.path()).expect("store");
    for kind in ["clients", "places", "areas", "figures"] {
        let (status, body) = upload(&app, kind, "punten.vrt", hosts_vrt()).await;
        assert_eq!(status, 400, "{kind}: {body}");
        assert!(
            body.contains(".vrt files are not accepted"),
            "{kind}: {body}"
        );
        if let Some(line) = hosts_line() {
            assert!(!body.contains(&line), "{kind}: /etc/hosts leaked: {body}");
        }
    }
    assert_eq!(std::fs::read(store.path()).expect("store"), before);
}

#[tokio::test]
async fn a_vrt_renamed_to_csv_or_geojson_is_refused_by_its_first_bytes() {
    let (_dir, _store, app) = app_on_demo_store();
    for name in ["punten.csv", "punten.geojson", "punten.xlsx", "punten.gpkg"] {
        let (status, body) = upload(&app, "clients", name, hosts_vrt()).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(body.contains("refused: not a"), "{name}: {body}");
        if let Some(line) = hosts_line() {
            assert!(!body.contains(&line), "{name}: /etc/hosts leaked: {body}");
        }
    }
    // A text file that smuggles a /vsicurl/ path in a cell.
    let csv = b"naam,soort,x,y\n/vsicurl/http://127.0.0.1:9/x.csv,a,150000,420000\n".to_vec();
    let (status, body) = upload(&app, "places", "plekken.csv", csv).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("/vsi"), "{body}");
}

#[tokio::test]
async fn an_xlsx_with_a_huge_cell_is_refused_naming_the_cell_limit() {
    let (_dir, store, app) = app_on_demo_store();
    let before = std::fs::read(store.path()).expect("store");
    let huge = "A".repeat(2 * 1024 * 1024);
    let sheet = format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>naam</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c><c r="C1" t="inlineStr"><is><t>y</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>{huge}</t></is></c><c r="B2"><v>150000</v></c><c r="C2"><v>420000</v></c></row></sheetData></worksheet>"#
    );
    let (status, body) = upload(&app, "places", "plekken.xlsx", xlsx(sheet.as_bytes(), None)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("64 KiB, the limit of one cell"), "{body}");
    assert!(body.len() < 2_000, "the cell is not echoed");
    assert_eq!(std::fs::read(store.path()).expect("store"), before);
}

#[tokio::test]
async fn a_zip_bomb_is_refused_naming_the_decompressed_size_limit() {
    let (_dir, store, app) = app_on_demo_store();
    let before = std::fs::read(store.path()).expect("store");
    // 300 MiB of small shared strings (no cell is large, no row is counted): ~1 MB compressed.
    let mut shared = Vec::with_capacity(300 << 20);
    shared.extend_from_slice(b"<sst>");
    while shared.len() < 300 << 20 {
        shared.extend_from_slice(b"<si><t>0</t></si>");
    }
    let sheet =
        br#"<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>"#;
    let bomb = xlsx(sheet, Some(&shared));
    drop(shared);
    assert!(bomb.len() < 4 << 20, "the bomb is small: {}", bomb.len());
    let (status, body) = upload(&app, "clients", "clienten.xlsx", bomb).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("decompresses to more than 256 MiB, the limit"),
        "{body}"
    );
    assert_eq!(std::fs::read(store.path()).expect("store"), before);
}

#[test]
fn the_cli_refuses_a_vrt_and_a_vsi_path_before_gdal_reads_them() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("s.gpkg");
    let vrt = dir.path().join("buurten.vrt");
    std::fs::write(&vrt, hosts_vrt()).expect("write");
    let run = common::import_areas(&store, &vrt, &[]);
    run.assert_failed()
        .assert_error_mentions(&["buurten.vrt", ".vrt files are not accepted"]);
    let vsi = std::path::PathBuf::from("/vsicurl/http://127.0.0.1:9/buurten.gpkg");
    let run = common::import_areas(&store, &vsi, &[]);
    run.assert_failed()
        .assert_error_mentions(&["virtual file system paths (/vsi...) are not accepted"]);
    assert!(!store.exists(), "nothing written");
}
