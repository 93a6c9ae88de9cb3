//! The web map: `GET /` and the static files under `/web`, served from a folder on disk
//! (`web/` of the repository by default), plus `/web/config.json`, which tells the page the
//! analysis defaults and the optional basemap.
//!
//! Inputs: the web folder (HTML, CSS and ES modules written for this project, and MapLibre GL JS
//! from `npm ci` in `web/node_modules`). Outputs: files, unchanged. Only the app's own files
//! (an allow-list: the pages, `css/*.css`, `js/*.js`) and MapLibre's `dist` folder are
//! reachable, judged after percent-decoding: `node_modules`, the browser tests, type
//! declarations, the npm manifests and any dot-file are not served. The page reads everything
//! else through the public API, so it can show nothing the API does not publish
//! (docs/privacy.md).
//! Must not depend on the OGC handler modules; uses only the state, problems, `analysis`
//! defaults and the public menu of `release`.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use super::html::esc;
use super::problem::Problem;
use super::state::AppState;
use crate::analysis::run::{
    DEFAULT_MIN_PARTICIPANTS, DEFAULT_WALK_M, MIN_PARTICIPANTS_RANGE, WALK_STEP_M,
};
use crate::analysis::weights::Criterion;
use crate::release::dataset::PUBLIC_MENU;

/// The walking distances the page offers, metres: the range the brief of a circle allows
/// (a 5 to 20 minute walk), in the API's 100 m steps.
pub const WALK_UI_RANGE_M: (f64, f64) = (400.0, 1500.0);

/// The web folder to serve: the configured one, else `web/` in the working directory when it
/// has an `index.html`, else `web/` of the source tree this binary was built from.
pub fn resolve_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    let cwd = PathBuf::from("web");
    if cwd.join("index.html").is_file() {
        return cwd;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// The routes of the web map, for a web folder `dir`.
pub fn routes(dir: &Path) -> Router<AppState> {
    let index = dir.join("index.html");
    let vendor = dir.join("node_modules/maplibre-gl/dist");
    // The page and its modules change with a deploy: revalidate (ServeDir sends Last-Modified).
    let revalidate = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    let app_files = Router::new()
        .fallback_service(ServeDir::new(dir).append_index_html_on_directories(false))
        .layer(axum::middleware::from_fn(only_app_files))
        .layer(revalidate.clone());
    let root: Router<AppState> = if index.is_file() {
        Router::new().route_service("/", ServeFile::new(index))
    } else {
        let shown = dir.display().to_string();
        Router::new().route("/", get(move || missing_web_dir(shown.clone())))
    };
    root.route("/web/config.json", get(config))
        .nest_service(
            "/web/vendor/maplibre-gl",
            Router::new()
                .fallback_service(ServeDir::new(vendor))
                .layer(axum::middleware::from_fn(only_vendor_files))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                )),
        )
        .nest_service("/web", app_files)
        .layer(revalidate)
}

/// Refuses everything in the web folder that is not part of the app: installed packages (only
/// MapLibre's `dist` is served, under `/web/vendor`), the tests, npm manifests, dot files.
async fn only_app_files(req: Request, next: Next) -> Response {
    match app_file(req.uri().path()) {
        Ok(()) => next.run(req).await,
        Err(shown) => Problem::not_found(format!("no resource at /web/{shown}")).into_response(),
    }
}

/// The page's own files: its HTML pages at the top (the map, the report, "Hoe werkt de
/// score?"), style sheets in `css/`, modules in `js/`. Everything else in the folder (npm manifests, `node_modules`, tests, type
/// declarations, any dot-file) is not served.
const APP_FOLDERS: [(&str, &str); 2] = [("css", "css"), ("js", "js")];
const APP_PAGES: [&str; 3] = ["index.html", "report.html", "score.html"];

/// Checks a path under `/web` (without that prefix) against the allow-list, after
/// percent-decoding it: `%2eenv` is `.env` and `%2e%2e` is `..` to the file system, so they are
/// judged as such. `Err` holds the path to name in the 404 (decoded, control characters out).
fn app_file(raw: &str) -> Result<(), String> {
    let decoded = percent_encoding::percent_decode_str(raw.trim_start_matches('/'))
        .decode_utf8()
        .map_err(|_| raw.trim_start_matches('/').to_string())?;
    let path = decoded.as_ref();
    let shown = || path.chars().filter(|c| !c.is_control()).collect::<String>();
    let segments: Vec<&str> = path.split('/').collect();
    let bad_segment = |s: &&str| {
        s.is_empty() || s.starts_with('.') || s.contains('\\') || s.chars().any(char::is_control)
    };
    if segments.iter().any(bad_segment) {
        return Err(shown());
    }
    let allowed = match segments.as_slice() {
        [page] => APP_PAGES.contains(page),
        [folder, file] => APP_FOLDERS
            .iter()
            .any(|(f, ext)| f == folder && file.rsplit_once('.').is_some_and(|(_, e)| e == *ext)),
        _ => false,
    };
    if allowed { Ok(()) } else { Err(shown()) }
}

/// The vendored MapLibre files: any file of its `dist` folder, but judged after
/// percent-decoding, with no dot-files and no `..`.
async fn only_vendor_files(req: Request, next: Next) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8();
    let ok = decoded.as_ref().is_ok_and(|p| {
        p.split('/')
            .all(|s| !s.is_empty() && !s.starts_with('.') && !s.contains('\\'))
    });
    if ok {
        next.run(req).await
    } else {
        Problem::not_found(format!("no resource at /web/vendor/maplibre-gl/{path}")).into_response()
    }
}

async fn missing_web_dir(dir: String) -> Response {
    let dir = esc(&dir);
    (
        StatusCode::OK,
        Html(format!(
            "<!doctype html><html lang=\"nl\"><meta charset=\"utf-8\"><title>Buurtcirkel Atlas</title>\
             <body style=\"font-family:sans-serif;max-width:40em;margin:2em auto\">\
             <h1>Buurtcirkel Atlas</h1><p>De webkaart is niet gevonden in <code>{dir}</code>. \
             Start <code>buurtcirkel serve</code> vanuit de map van het project, of geef de map op \
             met <code>--web-dir</code>.</p><p><a href=\"/ogc/v1?f=html\">Naar de API</a></p></body></html>"
        )),
    )
        .into_response()
}

/// The page's settings: analysis defaults and ranges (for the reset button and the sliders) and
/// the basemap, or `null` for the plain background.
pub fn config_json(state: &AppState) -> Value {
    let cfg = &state.inner.config;
    let defaults = &cfg.weights;
    // In the model's criterion order, which is the order of every explanation.
    // The page shows the model's own labels; the English ones are written here, where the page
    // gets them, rather than copied into the JavaScript.
    let weights: Vec<Value> = Criterion::ALL
        .iter()
        .map(|c| {
            let en = match c {
                Criterion::Participants => "participants within walking distance",
                Criterion::P65Plus => "aged 65+",
                Criterion::PEenpersoonsHh => "one-person households",
                Criterion::PLaagInkomen => "low income",
                Criterion::PSocialeHuur => "social rental housing",
                Criterion::PBijstand => "social assistance benefit",
                Criterion::LaagWoz => "low WOZ value",
                Criterion::Adresdichtheid => "address density",
                Criterion::MeetingPlace => "meeting place within walking distance",
                Criterion::NoExistingCircle => "no existing Buurtcirkel",
            };
            json!({"param": c.parameter(), "default": defaults.weight(*c), "label": c.label(),
                "labels": {"nl": c.label(), "en": en}, "key": c.key()})
        })
        // Custom indicators of the configured criteria file, after the built-in criteria as
        // in every explanation; the English label falls back to the Dutch one.
        .chain(defaults.indicators().iter().map(|i| {
            json!({"param": i.parameter, "default": defaults.indicator_weight(&i.key),
                "label": i.label, "labels": {"nl": i.label,
                "en": i.label_en.as_deref().unwrap_or(&i.label)}, "key": i.key})
        }))
        .collect();
    // The key figures in the order of `FIGURE_FIELDS`, with the unit the page appends.
    let figures: Vec<Value> = crate::model::FIGURE_FIELDS
        .iter()
        .map(|f| {
            let (nl, en) = match *f {
                "inwoners" => ("Inwoners", "Inhabitants"),
                "huishoudens" => ("Huishoudens", "Households"),
                "p_65plus" => ("65-plussers", "Aged 65+"),
                "p_eenpersoonshh" => ("Eenpersoonshuishoudens", "One-person households"),
                "p_laag_inkomen" => ("Laag inkomen", "Low income"),
                "adresdichtheid" => (
                    "Adressen per km² (omgeving)",
                    "Addresses per km² (surroundings)",
                ),
                "bevolkingsdichtheid" => ("Inwoners per km²", "Inhabitants per km²"),
                "oppervlakte_km2" => ("Oppervlakte (km²)", "Area (km²)"),
                "woz_waarde" => (
                    "Gemiddelde WOZ-waarde (× 1000 euro)",
                    "Mean WOZ value (× 1000 euro)",
                ),
                "p_koopwoningen" => ("Koopwoningen", "Owner-occupied dwellings"),
                "p_corporatiewoningen" => ("Corporatiewoningen", "Housing-association dwellings"),
                "p_bijstand" => ("Bijstand", "Social assistance"),
                other => (other, other),
            };
            let unit = if f.starts_with("p_") { "%" } else { "" };
            json!({"field": f, "unit": unit, "labels": {"nl": nl, "en": en}})
        })
        .collect();
    let t = defaults.thresholds();
    // The extent and level counts let the page pick its first view and level without waiting
    // for any data request.
    let ds = state.inner.dataset.load_full();
    let extent = ds
        .as_ref()
        .and_then(|d| d.extent_lonlat)
        .map(|e| json!([e.min().x, e.min().y, e.max().x, e.max().y]));
    let levels: Map<String, Value> = crate::model::Level::ALL
        .iter()
        .map(|l| {
            let n = ds.as_ref().map_or(0, |d| {
                d.data.areas.iter().filter(|a| a.level() == *l).count()
            });
            (l.collection().to_string(), json!(n))
        })
        .collect();
    let coverage = ds
        .as_ref()
        .map_or_else(|| json!({}), |d| level_coverage(&d.data.areas));
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "data": if ds.is_some() { "ready" } else { "loading" },
        "extent": extent,
        "levels": levels,
        "coverage": coverage,
        "basemap": cfg.basemap_url.as_ref().map(|u| json!({
            "url": u,
            "attribution": cfg.basemap_attribution.clone().unwrap_or_default(),
        })),
        "defaults": {
            "walk_m": DEFAULT_WALK_M,
            "min_participants": DEFAULT_MIN_PARTICIPANTS,
            "t_geschikt": t.geschikt,
            "t_kansrijk": t.kansrijk,
            "t_volledigheid": t.volledigheid,
        },
        "ranges": {
            "walk_m": [WALK_UI_RANGE_M.0, WALK_UI_RANGE_M.1, WALK_STEP_M],
            "min_participants": [MIN_PARTICIPANTS_RANGE.0, MIN_PARTICIPANTS_RANGE.1],
            "weight": [0, 10],
        },
        "weights": weights,
        "figures": figures,
        // The public tier (docs/privacy.md, Tiers): the page offers only the menu unless the
        // store opens everything (no clients, or only the demo's fictional ones). A planner's
        // token unlocks every parameter set at the API; the page itself sends none yet.
        "tier": {
            "open": ds.as_ref().is_some_and(|d| d.opens_everything()),
            "menu": PUBLIC_MENU.iter().map(|&(w, m)| json!({"walk_m": w, "min_participants": m})).collect::<Vec<_>>(),
        },
    })
}

async fn config(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        config_json(&state).to_string(),
    )
        .into_response()
}

/// Where each level is loaded, so the page can open on the finest level that covers the view:
/// per level, one lon/lat bounding box `[minx, miny, maxx, maxy]` per gemeente that has areas
/// of that level (`{"buurten": {"GM0233": [...]}, ...}`).
pub fn level_coverage(areas: &[crate::model::Area]) -> Value {
    use geo::BoundingRect;
    let Ok(to_wgs84) = crate::crs::Transformer::new(crate::crs::RD_NEW, crate::crs::WGS84) else {
        return json!({});
    };
    let mut boxes: std::collections::BTreeMap<(&str, String), [f64; 4]> = Default::default();
    for a in areas {
        let Some(r) = a.geometry_rd.bounding_rect() else {
            continue;
        };
        let key = (a.level().collection(), a.code.gemeente().to_string());
        let b = boxes
            .entry(key)
            .or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
        b[0] = b[0].min(r.min().x);
        b[1] = b[1].min(r.min().y);
        b[2] = b[2].max(r.max().x);
        b[3] = b[3].max(r.max().y);
    }
    let mut out = Map::new();
    for ((level, gm), b) in boxes {
        let (Ok((x0, y0)), Ok((x1, y1))) = (to_wgs84.point(b[0], b[1]), to_wgs84.point(b[2], b[3]))
        else {
            continue;
        };
        let entry = out.entry(level).or_insert_with(|| json!({}));
        if let Value::Object(m) = entry {
            m.insert(gm, json!([x0, y0, x1, y1]));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_lists_per_level_the_gemeenten_that_level_is_loaded_for() {
        let sq = |x: f64, y: f64| {
            geo_types::MultiPolygon::new(vec![geo_types::Polygon::new(
                geo_types::LineString::from(vec![
                    (x, y),
                    (x + 1000.0, y),
                    (x + 1000.0, y + 1000.0),
                    (x, y + 1000.0),
                    (x, y),
                ]),
                vec![],
            )])
        };
        let area = |code: &str, x: f64| crate::model::Area {
            code: crate::model::AreaCode::parse(code).unwrap(),
            name: String::new(),
            water: false,
            figures: crate::model::Figures::default(),
            geometry_rd: sq(x, 470_000.0),
        };
        let v = level_coverage(&[
            area("GM0233", 170_000.0),
            area("GM0344", 135_000.0),
            area("BU02330000", 170_000.0),
        ]);
        assert_eq!(v["gemeenten"].as_object().unwrap().len(), 2);
        let bu = v["buurten"].as_object().unwrap();
        assert_eq!(bu.keys().collect::<Vec<_>>(), ["GM0233"]);
        let b = bu["GM0233"].as_array().unwrap();
        // Ermelo lies near 5.6 E, 52.3 N.
        assert!((5.0..6.0).contains(&b[0].as_f64().unwrap()), "{b:?}");
        assert!((52.0..53.0).contains(&b[1].as_f64().unwrap()), "{b:?}");
        assert!(v.get("wijken").is_none());
    }

    #[test]
    fn the_page_defaults_are_the_model_defaults_and_walk_steps_are_valid() {
        let v = config_json(&AppState::empty());
        assert_eq!(v["basemap"], Value::Null);
        assert_eq!(v["defaults"]["walk_m"], 800.0);
        assert_eq!(v["weights"][0]["param"], "w_participants");
        assert_eq!(
            v["weights"][0]["default"],
            crate::analysis::weights::Weights::default().weight(Criterion::Participants)
        );

        // Every criterion and every key figure has a Dutch and an English label of its own.
        for (list, n) in [
            ("weights", Criterion::ALL.len()),
            ("figures", crate::model::FIGURE_FIELDS.len()),
        ] {
            let items = v[list].as_array().expect("a list");
            assert_eq!(items.len(), n, "{list}");
            for item in items {
                let (nl, en) = (item["labels"]["nl"].as_str(), item["labels"]["en"].as_str());
                assert!(nl.is_some_and(|s| !s.is_empty()), "{item}");
                assert!(en.is_some_and(|s| !s.is_empty()) && en != nl, "{item}");
                assert_ne!(Some(item["field"].as_str().unwrap_or("")), nl, "{item}");
            }
        }
        assert_eq!(v["weights"][1]["labels"]["nl"], Criterion::P65Plus.label());
        assert_eq!(v["figures"][2]["field"], "p_65plus");
        assert_eq!(v["figures"][2]["unit"], "%");
        let (lo, hi) = WALK_UI_RANGE_M;
        assert_eq!((lo / WALK_STEP_M).fract(), 0.0);
        assert_eq!((hi / WALK_STEP_M).fract(), 0.0);
    }
}
