//! The result layers (`resultaat_*`) of a store, read back through GDAL, hold exactly what was
//! written: every field with its type and value, every geometry, the feature count, the extent
//! and a working spatial index; and they read back the same as the same table written by
//! GDAL's own writer (`table::write_features`, which exports use).

// The read-back helper runs outside `#[test]` functions, where `allow-expect-in-tests` does
// not reach; a layer GDAL cannot read is a failed test, so panicking with a message is right.
#![allow(clippy::expect_used)]

use buurtcirkel::model::{FieldType, Table, TableFeature};
use buurtcirkel::store::{Change, Store, table};
use gdal::vector::{FieldValue, LayerAccess, OGRFieldType};
use gdal::{Dataset, DriverManager};
use geo_types::{Geometry, LineString, MultiPolygon, Point, Polygon, polygon};
use serde_json::{Value, json};

mod common;

fn square(x: f64, y: f64, size: f64) -> Polygon<f64> {
    polygon![(x: x, y: y), (x: x + size, y: y), (x: x + size, y: y + size), (x: x, y: y + size), (x: x, y: y)]
}

fn tables() -> Vec<Table> {
    let fields = vec![
        ("naam", FieldType::Text),
        ("aantal", FieldType::Integer),
        ("score", FieldType::Real),
        ("water", FieldType::Boolean),
        ("toelichting", FieldType::Json),
    ];
    let holed = Polygon::new(
        LineString::from(vec![
            (100_000.0, 400_000.0),
            (101_000.0, 400_000.0),
            (101_000.0, 401_000.0),
            (100_000.0, 400_000.0),
        ]),
        vec![LineString::from(vec![
            (100_700.0, 400_100.0),
            (100_900.0, 400_100.0),
            (100_900.0, 400_300.0),
            (100_700.0, 400_100.0),
        ])],
    );
    let areas = Table {
        name: "wijken",
        title: "Wijken",
        fields: fields.clone(),
        features: vec![
            TableFeature {
                id: "WK000101".into(),
                geometry_rd: Geometry::MultiPolygon(MultiPolygon(vec![
                    square(120_000.0, 480_000.0, 500.0),
                    square(121_000.0, 481_000.25, 333.125),
                ])),
                values: vec![
                    json!("Centrum 'oud'"),
                    json!(12),
                    json!(71.25),
                    json!(false),
                    json!({"criteria": [{"key": "p_65plus", "punten": 3.5}], "tekst": "é \"q\""}),
                ],
            },
            TableFeature {
                id: "WK000102".into(),
                geometry_rd: Geometry::Polygon(holed),
                values: vec![
                    Value::Null,
                    Value::Null,
                    json!(-0.5),
                    json!(true),
                    Value::Null,
                ],
            },
        ],
    };
    let sites = Table {
        name: "sites",
        title: "Plekken",
        fields: vec![("cluster_id", FieldType::Integer), ("x", FieldType::Real)],
        features: (0..50)
            .map(|i| TableFeature {
                id: i.to_string(),
                geometry_rd: Geometry::Polygon(square(
                    150_000.0 + 1000.0 * f64::from(i),
                    450_000.0,
                    800.0,
                )),
                values: vec![json!(i / 7), json!(f64::from(i) * 0.1)],
            })
            .collect(),
    };
    let points = Table {
        name: "punten",
        title: "Punten",
        fields: vec![("naam", FieldType::Text)],
        features: vec![TableFeature {
            id: "p1".into(),
            geometry_rd: Geometry::Point(Point::new(155_000.5, 463_000.75)),
            values: vec![json!("een")],
        }],
    };
    vec![areas, sites, points]
}

/// One feature as GDAL reads it: fid, (field name, value) in order, geometry as WKT.
type FeatureBack = (
    Option<u64>,
    Vec<(String, Option<FieldValue>)>,
    Option<String>,
);

/// One layer as GDAL reads it: declared field types, each feature's fid, fields (by name)
/// and geometry (as WKT), the feature count and the extent.
#[derive(Debug, PartialEq)]
struct ReadBack {
    field_types: Vec<(String, OGRFieldType::Type)>,
    geometry_type: u32,
    features: Vec<FeatureBack>,
    count: u64,
    /// The count GDAL reads from `gpkg_ogr_contents` without counting.
    quick_count: Option<u64>,
    extent: [f64; 4],
}

fn read_back(ds: &Dataset, name: &str) -> ReadBack {
    let mut layer = ds.layer_by_name(name).expect("the layer exists");
    let defn = layer.defn();
    let field_types = defn
        .fields()
        .map(|f| (f.name(), f.field_type()))
        .collect::<Vec<_>>();
    let geometry_type = defn
        .geom_fields()
        .next()
        .map(|g| g.field_type())
        .unwrap_or(0);
    let names: Vec<String> = field_types.iter().map(|(n, _)| n.clone()).collect();
    let features = layer
        .features()
        .map(|f| {
            let values = names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), f.field(i).expect("readable field")))
                .collect();
            (f.fid(), values, f.geometry().map(|g| g.wkt().expect("wkt")))
        })
        .collect();
    let quick_count = layer.try_feature_count();
    let count = layer.feature_count();
    let e = layer.get_extent().expect("an extent");
    ReadBack {
        field_types,
        geometry_type,
        features,
        count,
        quick_count,
        extent: [e.MinX, e.MinY, e.MaxX, e.MaxY],
    }
}

#[test]
fn result_layers_read_back_through_gdal_as_written_and_as_gdal_s_own_writer_writes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store_path = common::demo_store(dir.path());
    let store = Store::new(&store_path);
    let tables = tables();
    store
        .apply(&Change {
            results: Some(tables.clone()),
            ..Default::default()
        })
        .expect("results written");

    // The reference: the same tables through GDAL's feature writer, as exports write them.
    let reference = dir.path().join("reference.gpkg");
    let mut rds = DriverManager::get_driver_by_name("GPKG")
        .and_then(|d| d.create_vector_only(&reference))
        .expect("reference GeoPackage");
    let rd = gdal::spatial_ref::SpatialRef::from_epsg(28992).expect("RD New");
    for t in &tables {
        let name = format!("resultaat_{}", t.name);
        table::create_table_layer(&mut rds, t, &name, &rd, &["GEOMETRY_NAME=geom", "FID=fid"])
            .expect("reference layer");
        let layer = rds.layer_by_name(&name).expect("reference layer");
        table::write_features(&layer, t, None).expect("reference features");
    }
    rds.close().expect("reference closed");

    let ds = Dataset::open(&store_path).expect("the store opens in GDAL");
    let rds = Dataset::open(&reference).expect("the reference opens");
    for t in &tables {
        let name = format!("resultaat_{}", t.name);
        let got = read_back(&ds, &name);
        assert_eq!(
            got,
            read_back(&rds, &name),
            "{name} differs from GDAL's writer"
        );
        assert_eq!(got.count, t.features.len() as u64, "{name}: feature count");
        assert_eq!(
            got.quick_count,
            Some(got.count),
            "{name}: gpkg_ogr_contents"
        );
        // What was written, value by value.
        for (f, (_, values, wkt)) in t.features.iter().zip(&got.features) {
            assert_eq!(values[0].1, Some(FieldValue::StringValue(f.id.clone())));
            for (((_, ty), v), (_, back)) in t.fields.iter().zip(&f.values).zip(&values[1..]) {
                let expected = match (ty, v) {
                    (_, Value::Null) => None,
                    (FieldType::Text, Value::String(s)) => Some(FieldValue::StringValue(s.clone())),
                    (FieldType::Json, v) => Some(FieldValue::StringValue(v.to_string())),
                    (FieldType::Integer, v) => {
                        Some(FieldValue::Integer64Value(v.as_i64().expect("whole")))
                    }
                    (FieldType::Boolean, Value::Bool(b)) => {
                        Some(FieldValue::Integer64Value(i64::from(*b)))
                    }
                    (FieldType::Real, v) => Some(FieldValue::RealValue(v.as_f64().expect("real"))),
                    other => panic!("fixture value {other:?}"),
                };
                assert_eq!(back, &expected, "{name} {}", f.id);
            }
            let geom = gdal::vector::Geometry::from_wkt(wkt.as_deref().expect("a geometry"))
                .expect("wkt parses")
                .to_geo()
                .expect("to geo");
            assert_eq!(geom, f.geometry_rd, "{name} {}: geometry", f.id);
        }
    }

    // The extents as QGIS reads them, from gpkg_contents: the same as GDAL's writer left.
    let contents = |path: &std::path::Path| -> Vec<(String, [Option<f64>; 4])> {
        let conn = rusqlite::Connection::open(path).expect("sqlite opens the GeoPackage");
        let mut q = conn
            .prepare(
                "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents \
                 WHERE table_name LIKE 'resultaat%' ORDER BY table_name",
            )
            .expect("query");
        q.query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })
        .and_then(Iterator::collect)
        .expect("rows")
    };
    let got = contents(&store_path);
    assert_eq!(got, contents(&reference));
    assert_eq!(
        got[0],
        (
            "resultaat_punten".to_string(),
            [
                Some(155_000.5),
                Some(463_000.75),
                Some(155_000.5),
                Some(463_000.75)
            ]
        )
    );

    // The R-tree answers a spatial filter: the sites within x 160,000-165,500 are 10-15.
    let mut sites = ds.layer_by_name("resultaat_sites").expect("sites");
    sites.set_spatial_filter_rect(160_000.0, 449_000.0, 165_500.0, 451_000.0);
    let ids: Vec<String> = sites
        .features()
        .filter_map(|f| f.field_as_string(0).ok().flatten())
        .collect();
    assert_eq!(ids, ["10", "11", "12", "13", "14", "15"]);
    let has_index = ds
        .execute_sql(
            "SELECT HasSpatialIndex('resultaat_sites', 'geom')",
            None,
            gdal::vector::sql::Dialect::DEFAULT,
        )
        .expect("query")
        .and_then(|mut l| {
            l.features()
                .next()
                .and_then(|f| f.field_as_integer(0).ok().flatten())
        });
    assert_eq!(has_index, Some(1), "resultaat_sites has its R-tree");

    // The store's own reader is not disturbed, and a second write replaces the results.
    store.load().expect("the store still loads");
    store
        .apply(&Change {
            results: Some(tables[1..2].to_vec()),
            ..Default::default()
        })
        .expect("second write");
    let ds = Dataset::open(&store_path).expect("the store opens in GDAL");
    assert!(
        ds.layer_by_name("resultaat_wijken").is_err(),
        "old results removed"
    );
    assert_eq!(read_back(&ds, "resultaat_sites").count, 50);
}
