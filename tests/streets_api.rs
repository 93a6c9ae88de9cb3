//! The street network through the service: with streets in the snapshot the API measures
//! walking along them (sites become isochrones, a meeting place across a canal no longer
//! counts) and says so; without streets it is the straight line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::Request;
use buurtcirkel::analysis::grid::on_publish_grid;
use buurtcirkel::http::AppState;
use buurtcirkel::http::config::ServeConfig;
use buurtcirkel::http::server::router;
use buurtcirkel::model::{Area, AreaCode, Client, Figures, Place};
use buurtcirkel::store::StoreData;
use geo::Contains;
use geo_types::{LineString, MultiPolygon, Point, Rect};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const X0: f64 = 155_000.0;
const Y0: f64 = 463_000.0;

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![
        Rect::new((X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1)).to_polygon(),
    ])
}

fn area(code: &str, name: &str, geometry_rd: MultiPolygon<f64>) -> Area {
    Area {
        code: AreaCode::parse(code).unwrap(),
        name: name.into(),
        water: false,
        figures: Figures::default(),
        geometry_rd,
    }
}

/// Two canal banks 200 m apart (y = 0 and y = 200), one bridge at x = 400.
fn canal() -> Vec<LineString<f64>> {
    let l = |c: &[(f64, f64)]| {
        LineString::from(c.iter().map(|(x, y)| (X0 + x, Y0 + y)).collect::<Vec<_>>())
    };
    vec![
        l(&[(-1_500.0, 0.0), (400.0, 0.0)]),
        l(&[(400.0, 0.0), (1_500.0, 0.0)]),
        l(&[(-1_500.0, 200.0), (400.0, 200.0)]),
        l(&[(400.0, 200.0), (1_500.0, 200.0)]),
        l(&[(400.0, 0.0), (400.0, 200.0)]),
    ]
}

/// Ten clients along the south bank, a wijkcentrum straight across the water from them.
fn data(streets: Option<Vec<LineString<f64>>>) -> StoreData {
    StoreData {
        areas: vec![
            area(
                "GM9990",
                "Grachtstad",
                rect(-1_500.0, -500.0, 1_500.0, 700.0),
            ),
            area(
                "WK999001",
                "Centrum",
                rect(-1_500.0, -500.0, 1_500.0, 700.0),
            ),
            area("BU99900101", "Zuidkade", rect(-400.0, -100.0, 300.0, 100.0)),
            area("BU99900102", "Noordkade", rect(-400.0, 100.0, 400.0, 300.0)),
        ],
        // Fictional test clients, marked so: this test reads sites without a planner token.
        clients_demo: true,
        clients: (0..10)
            .map(|i| Client {
                position_rd: Point::new(X0 - 225.0 + 50.0 * f64::from(i), Y0),
                doelgroep: None,
                key: 0.0,
            })
            .collect(),
        places: vec![Place {
            id: 1,
            name: "Wijkcentrum De Overkant".into(),
            kind: "wijkcentrum".into(),
            position_rd: Point::new(X0 - 300.0, Y0 + 200.0),
        }],
        streets,
        ..Default::default()
    }
}

async fn get(app: &axum::Router, uri: &str) -> Value {
    let r = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{uri}");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

fn app(streets: Option<Vec<LineString<f64>>>) -> axum::Router {
    let state = AppState::new(ServeConfig::default(), None, "http://test");
    state.load(data(streets)).unwrap();
    router(state)
}

fn meeting_place(buurt: &Value) -> Value {
    buurt["properties"]["toelichting"]["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["criterion"] == "meeting_place")
        .map(|c| c["value"].clone())
        .unwrap()
}

const RD: &str = "crs=http://www.opengis.net/def/crs/EPSG/0/28992";

#[tokio::test]
async fn along_streets_a_place_across_the_canal_is_out_of_reach_and_sites_are_isochrones() {
    let app = app(Some(canal()));
    let zuid = get(&app, "/ogc/v1/collections/buurten/items/BU99900101").await;
    assert_eq!(zuid["properties"]["afstandsmaat"], "straatnetwerk");
    assert_eq!(
        zuid["properties"]["toelichting"]["afstandsmaat"],
        "straatnetwerk"
    );
    // 100 m across the water, but 700 m to the bridge and 200 m over it: not within 800 m.
    assert_eq!(meeting_place(&zuid), false);

    let sites = get(&app, &format!("/ogc/v1/collections/sites/items?{RD}")).await;
    let features = sites["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{sites}");
    let site = &features[0];
    assert_eq!(site["properties"]["vorm"], "loopbereik");
    assert_eq!(site["properties"]["afstandsmaat"], "straatnetwerk");
    assert_eq!(site["geometry"]["type"], "MultiPolygon");
    let shape: geo_types::Geometry<f64> =
        geojson::Geometry::from_json_value(site["geometry"].clone())
            .unwrap()
            .try_into()
            .unwrap();
    // Every participant's street is inside; the street beyond the walk and the far bank
    // straight across the water are not.
    for i in 0..10 {
        let p = Point::new(X0 - 225.0 + 50.0 * f64::from(i), Y0);
        assert!(
            shape.contains(&p),
            "participant street at {p:?} outside the site: {site}"
        );
    }
    let cx = site["properties"]["centrum_x_rd"].as_f64().unwrap();
    let cy = site["properties"]["centrum_y_rd"].as_f64().unwrap();
    let left = 800.0 - (cy - Y0).abs();
    assert!(shape.contains(&Point::new(cx - left + 60.0, Y0)), "{site}");
    assert!(
        !shape.contains(&Point::new(cx - left - 160.0, Y0)),
        "beyond the walk: {site}"
    );
    assert!(
        !shape.contains(&Point::new(cx, Y0 + 250.0)),
        "across the water: {site}"
    );
    // Corners on the offset publication grid, never on the clients' 25 m grid.
    let coords: Vec<Value> = site["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|poly| poly.as_array().unwrap().iter())
        .flat_map(|ring| ring.as_array().unwrap().iter().cloned())
        .collect();
    assert!(!coords.is_empty());
    for c in coords {
        let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!(on_publish_grid(x) && on_publish_grid(y), "{x} {y}");
    }
}

#[tokio::test]
async fn without_streets_the_same_place_counts_and_sites_are_circles() {
    let app = app(None);
    let zuid = get(&app, "/ogc/v1/collections/buurten/items/BU99900101").await;
    assert_eq!(zuid["properties"]["afstandsmaat"], "hemelsbreed");
    assert_eq!(meeting_place(&zuid), true);
    let sites = get(&app, &format!("/ogc/v1/collections/sites/items?{RD}")).await;
    let site = &sites["features"][0];
    assert_eq!(site["properties"]["vorm"], "cirkel");
    assert_eq!(site["properties"]["afstandsmaat"], "hemelsbreed");
    assert_eq!(site["geometry"]["type"], "Polygon");
}
