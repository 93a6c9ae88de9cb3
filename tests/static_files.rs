//! Static files: only the web map's own files are served (the two pages, `css/*.css`,
//! `js/*.js`, MapLibre's `dist`), and paths are judged after percent-decoding, so `%2eenv` and
//! `%2e%2e` reach nothing the allow-list does not name.

// The helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach.
#![allow(clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A web folder holding the app's files and everything that must not leave it.
fn web_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w("index.html", "<!doctype html>index");
    w("report.html", "<!doctype html>report");
    w("css/app.css", "body{}");
    w("js/main.js", "export {};");
    w("node_modules/maplibre-gl/dist/maplibre-gl.js", "maplibre");
    w("node_modules/maplibre-gl/dist/.secret", "SECRET-VENDOR");
    w(".env", "SECRET-ENV");
    w("js/.env", "SECRET-JS-ENV");
    w("tsconfig.json", "SECRET-TSCONFIG");
    w("package.json", "SECRET-PACKAGE");
    w("test/web.test.mjs", "SECRET-TEST");
    w("types/globals.d.ts", "SECRET-TYPES");
    w("js/notes.txt", "SECRET-NOTES");
    dir
}

async fn get(app: &axum::Router, uri: &str) -> (u16, String) {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "test")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = r.status().as_u16();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn app(dir: &std::path::Path) -> axum::Router {
    let config = ServeConfig {
        web_dir: Some(dir.to_path_buf()),
        ..ServeConfig::default()
    };
    router(AppState::new(config, None, "http://test"))
}

#[tokio::test]
async fn percent_encoded_dot_files_and_parent_paths_are_refused() {
    let dir = web_dir();
    let app = app(dir.path());
    for uri in [
        "/web/%2eenv",
        "/web/%2Eenv",
        "/web/js/%2eenv",
        "/web/%2e%2e/Cargo.toml",
        "/web/js/%2e%2e/%2eenv",
        "/web/js%2f%2e%2e%2f%2eenv",
        "/web/css/%2e%2e%2fjs%2f.env",
        "/web/vendor/maplibre-gl/%2esecret",
        "/web/vendor/maplibre-gl/%2e%2e/%2e%2e/%2e%2e/%2e%2e/.env",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, 404, "{uri} answered {status}: {body}");
        assert!(!body.contains("SECRET"), "{uri} leaked {body}");
    }
}

#[tokio::test]
async fn only_the_web_maps_own_files_are_served() {
    let dir = web_dir();
    let app = app(dir.path());
    for uri in [
        "/web/tsconfig.json",
        "/web/package.json",
        "/web/test/web.test.mjs",
        "/web/types/globals.d.ts",
        "/web/js/notes.txt",
        "/web/node_modules/maplibre-gl/dist/maplibre-gl.js",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, 404, "{uri} answered {status}: {body}");
        assert!(!body.contains("SECRET"), "{uri} leaked {body}");
    }
    for (uri, text) in [
        ("/web/index.html", "index"),
        ("/web/report.html", "report"),
        ("/web/css/app.css", "body{}"),
        ("/web/js/main.js", "export"),
        ("/web/vendor/maplibre-gl/maplibre-gl.js", "maplibre"),
        ("/", "index"),
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, 200, "{uri} answered {status}");
        assert!(body.contains(text), "{uri}: {body}");
    }
}
