//! Shared helpers for the integration tests: fixture files built with GDAL in temporary folders,
//! a runner for the real `buurtcirkel` binary, `ogrinfo` read-back and store snapshots.
//!
//! Fixtures are made here, never copied from `../shared/data`, so a fresh clone can run every
//! test. Coordinates are RD New metres unless a layer says otherwise.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]
// Helpers outside `#[test]` functions are not covered by `allow-expect-in-tests`; a fixture that
// cannot be built is a broken test, and panicking with a message is the right outcome.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use buurtcirkel::model::{Area, Level};
use buurtcirkel::store::{Store, StoreData};
use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{
    Defn, Feature, Geometry, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
};
use gdal::{DriverManager, GeoTransform};

/// One attribute value of a fixture feature.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A text value.
    Text(String),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// SQL NULL.
    Null,
}

impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(v.to_string())
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(v)
    }
}
impl From<i32> for Cell {
    fn from(v: i32) -> Cell {
        Cell::Int(i64::from(v))
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Cell::Real(v)
    }
}

/// `cells!["BU01230101", 1200, 18.5, Cell::Null]`: a row of attribute values.
#[macro_export]
macro_rules! cells {
    ($($v:expr),* $(,)?) => { vec![$($crate::common::Cell::from($v)),*] };
}

/// The CRS a fixture layer declares.
#[derive(Debug, Clone)]
pub enum Crs {
    /// No CRS at all.
    None,
    /// An EPSG code.
    Epsg(u32),
}

/// One feature of a fixture layer: a WKT geometry (or none) and its attribute values.
#[derive(Debug, Clone)]
pub struct Feat {
    /// WKT, or `None` for a feature without geometry.
    pub wkt: Option<String>,
    /// Values in field order.
    pub values: Vec<Cell>,
}

/// A fixture layer: name, CRS, fields and features.
#[derive(Debug, Clone)]
pub struct LayerSpec {
    name: String,
    crs: Crs,
    geometry_type: OGRwkbGeometryType::Type,
    fields: Vec<(String, OGRFieldType::Type)>,
    features: Vec<Feat>,
}

impl LayerSpec {
    /// A layer in RD New (EPSG:28992) accepting any geometry type.
    pub fn new(name: &str) -> LayerSpec {
        LayerSpec {
            name: name.to_string(),
            crs: Crs::Epsg(28992),
            geometry_type: OGRwkbGeometryType::wkbUnknown,
            fields: Vec::new(),
            features: Vec::new(),
        }
    }

    /// Declares `crs` instead of RD New.
    pub fn crs(mut self, crs: Crs) -> LayerSpec {
        self.crs = crs;
        self
    }

    /// Declares the layer's geometry type (shapefiles need one).
    pub fn geometry_type(mut self, ty: OGRwkbGeometryType::Type) -> LayerSpec {
        self.geometry_type = ty;
        self
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str) -> LayerSpec {
        self.fields
            .push((name.to_string(), OGRFieldType::OFTString));
        self
    }

    /// Adds an integer field.
    pub fn int(mut self, name: &str) -> LayerSpec {
        self.fields
            .push((name.to_string(), OGRFieldType::OFTInteger));
        self
    }

    /// Adds a real field.
    pub fn real(mut self, name: &str) -> LayerSpec {
        self.fields.push((name.to_string(), OGRFieldType::OFTReal));
        self
    }

    /// Adds a feature with a WKT geometry.
    pub fn feature(mut self, wkt: &str, values: Vec<Cell>) -> LayerSpec {
        self.features.push(Feat {
            wkt: Some(wkt.to_string()),
            values,
        });
        self
    }

    /// Adds a feature without geometry.
    pub fn feature_without_geometry(mut self, values: Vec<Cell>) -> LayerSpec {
        self.features.push(Feat { wkt: None, values });
        self
    }
}

/// Writes `layers` to a new file at `path` with the GDAL vector driver `driver`
/// (`GPKG`, `ESRI Shapefile`, `GeoJSON`).
pub fn write_vector(path: &Path, driver: &str, layers: &[LayerSpec]) {
    let drv = DriverManager::get_driver_by_name(driver).expect("GDAL driver");
    let mut ds = drv
        .create_vector_only(path)
        .expect("create fixture dataset");
    for spec in layers {
        let srs = match spec.crs {
            Crs::None => None,
            Crs::Epsg(code) => {
                let mut s = SpatialRef::from_epsg(code).expect("EPSG code");
                // Fixture coordinates are written easting/longitude first.
                s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
                Some(s)
            }
        };
        let layer = ds
            .create_layer(LayerOptions {
                name: &spec.name,
                srs: srs.as_ref(),
                ty: spec.geometry_type,
                options: None,
            })
            .expect("create fixture layer");
        let fields: Vec<(&str, OGRFieldType::Type)> =
            spec.fields.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        layer.create_defn_fields(&fields).expect("fixture fields");
        let defn = Defn::from_layer(&layer);
        for feat in &spec.features {
            assert_eq!(
                feat.values.len(),
                spec.fields.len(),
                "fixture row has the wrong number of values"
            );
            let mut f = Feature::new(&defn).expect("feature");
            for (i, v) in feat.values.iter().enumerate() {
                match v {
                    Cell::Text(s) => f.set_field_string(i, s),
                    Cell::Int(n) => match i32::try_from(*n) {
                        Ok(n) => f.set_field_integer(i, n),
                        Err(_) => f.set_field_integer64(i, *n),
                    },
                    Cell::Real(r) => f.set_field_double(i, *r),
                    Cell::Null => f.set_field_null(i),
                }
                .expect("set fixture field");
            }
            if let Some(wkt) = &feat.wkt {
                f.set_geometry(Geometry::from_wkt(wkt).expect("fixture WKT"))
                    .expect("set fixture geometry");
            }
            f.create(&layer).expect("write fixture feature");
        }
    }
    ds.close().expect("close fixture dataset");
}

/// Writes `text` to `dir/name` (CSV tables, mapping files) and returns the path.
pub fn write_text(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write text file");
    p
}

/// A tiny single-band GeoTIFF in RD New.
pub fn write_geotiff(path: &Path) {
    let drv = DriverManager::get_driver_by_name("GTiff").expect("GTiff driver");
    let mut ds = drv.create(path, 4, 4, 1).expect("create GeoTIFF");
    let gt: GeoTransform = [150_000.0, 100.0, 0.0, 464_000.0, 0.0, -100.0];
    ds.set_geo_transform(&gt).expect("geotransform");
    ds.set_spatial_ref(&SpatialRef::from_epsg(28992).expect("EPSG:28992"))
        .expect("spatial ref");
    ds.close().expect("close GeoTIFF");
}

/// WKT of an axis-aligned square with its lower-left corner at (`x`, `y`).
pub fn square(x: f64, y: f64, size: f64) -> String {
    rect(x, y, x + size, y + size)
}

/// WKT of an axis-aligned rectangle.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> String {
    format!("POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
}

/// The fictional gemeente of most fixtures: `GM0123` "Teststad", 4 × 4 km south-west of
/// Amersfoort, two wijken (west and east half), two buurten each, and a water buurt.
pub const GM: &str = "GM0123";
/// Lower-left corner of the fixture gemeente in RD New.
pub const X0: f64 = 150_000.0;
/// Lower-left corner of the fixture gemeente in RD New.
pub const Y0: f64 = 460_000.0;

/// A CBS Wijk- en Buurtkaart 2022 style GeoPackage: layers `gemeenten`, `wijken`, `buurten`,
/// long column names, `water` JA/NEE and the 2022 sentinels `-99995`/`-99997` in some cells.
///
/// Buurten: BU01230101 (complete), BU01230102 (inwoners -99997, 65+ -99995),
/// BU01230201 (adresdichtheid -99995), BU01230202 (complete), BU01230203 (water = JA).
pub fn cbs_2022_gpkg(path: &Path) {
    let gemeenten = LayerSpec::new("gemeenten")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid")
        .feature(
            &square(X0, Y0, 4000.0),
            cells![GM, "Teststad", "NEE", 5000, 21.0, 38.0, 1850],
        );
    let wijken = LayerSpec::new("wijken")
        .text("wijkcode")
        .text("wijknaam")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid")
        .feature(
            &rect(X0, Y0, X0 + 2000.0, Y0 + 4000.0),
            cells![
                "WK012301", "West", GM, "Teststad", "NEE", 2800, 24.0, 35.0, 2100
            ],
        )
        .feature(
            &rect(X0 + 2000.0, Y0, X0 + 4000.0, Y0 + 4000.0),
            cells![
                "WK012302", "Oost", GM, "Teststad", "NEE", 2200, -99995.0, 41.0, -99997
            ],
        );
    let buurten = LayerSpec::new("buurten")
        .text("buurtcode")
        .text("buurtnaam")
        .text("wijkcode")
        .text("gemeentecode")
        .text("gemeentenaam")
        .text("water")
        .int("aantal_inwoners")
        .real("percentage_personen_65_jaar_en_ouder")
        .real("percentage_eenpersoonshuishoudens")
        .int("omgevingsadressendichtheid")
        .feature(
            &square(X0, Y0, 2000.0),
            cells![
                "BU01230101",
                "Centrum",
                "WK012301",
                GM,
                "Teststad",
                "NEE",
                1500,
                19.0,
                44.0,
                2600
            ],
        )
        .feature(
            &square(X0, Y0 + 2000.0, 2000.0),
            cells![
                "BU01230102",
                "Molenerf",
                "WK012301",
                GM,
                "Teststad",
                "NEE",
                -99997,
                -99995.0,
                30.0,
                1400
            ],
        )
        .feature(
            &square(X0 + 2000.0, Y0, 2000.0),
            cells![
                "BU01230201",
                "Hoevepark",
                "WK012302",
                GM,
                "Teststad",
                "NEE",
                1200,
                27.0,
                39.0,
                -99995
            ],
        )
        .feature(
            &rect(X0 + 2000.0, Y0 + 2000.0, X0 + 4000.0, Y0 + 3500.0),
            cells![
                "BU01230202",
                "Bleekveld",
                "WK012302",
                GM,
                "Teststad",
                "NEE",
                1000,
                31.0,
                45.0,
                900
            ],
        )
        .feature(
            &rect(X0 + 2000.0, Y0 + 3500.0, X0 + 4000.0, Y0 + 4000.0),
            cells![
                "BU01230203",
                "Het Meer",
                "WK012302",
                GM,
                "Teststad",
                "JA",
                0,
                -99997.0,
                -99997.0,
                -99997
            ],
        );
    write_vector(path, "GPKG", &[gemeenten, wijken, buurten]);
}

/// A buurt layer with the standard fields and the features given as (code, WKT): the
/// starting point of most bad-input fixtures.
pub fn buurt_layer(features: &[(&str, Option<&str>)]) -> LayerSpec {
    let mut l = LayerSpec::new("buurten")
        .text("buurtcode")
        .text("buurtnaam")
        // Short enough for a shapefile's 10-character field names.
        .int("inwoners");
    for (i, (code, wkt)) in features.iter().enumerate() {
        let values = cells![*code, format!("Buurt {i}").as_str(), 100 * (i as i64 + 1)];
        l = match wkt {
            Some(w) => l.feature(w, values),
            None => l.feature_without_geometry(values),
        };
    }
    l
}

/// A 100 m triangle area in the fixture gemeente with 100 inhabitants, for store-level tests.
pub fn area(code: &str, name: &str) -> Area {
    Area {
        code: buurtcirkel::model::AreaCode::parse(code).expect("area code"),
        name: name.to_string(),
        water: false,
        figures: buurtcirkel::model::Figures {
            inwoners: Some(100.0),
            ..Default::default()
        },
        geometry_rd: geo_types::MultiPolygon::new(vec![geo_types::Polygon::new(
            geo_types::LineString::from(vec![
                (X0, Y0),
                (X0 + 100.0, Y0),
                (X0 + 100.0, Y0 + 100.0),
                (X0, Y0),
            ]),
            Vec::new(),
        )]),
    }
}

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the run succeeded.
    pub fn assert_ok(&self) -> &Run {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the run failed with exit code 1 and an `error:` line on stderr.
    pub fn assert_failed(&self) -> &Run {
        assert_eq!(
            self.code,
            Some(1),
            "expected failure\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains("error: "),
            "no error line on stderr:\n{}",
            self.stderr
        );
        self
    }

    /// The `error: ...` line(s) of stderr.
    pub fn error(&self) -> String {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error: "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Panics unless standard error (the error line and the lines it lists below it) contains
    /// every one of `parts`.
    pub fn assert_stderr_mentions(&self, parts: &[&str]) -> &Run {
        for p in parts {
            assert!(
                self.stderr.contains(p),
                "stderr lacks {p:?}:\n{}",
                self.stderr
            );
        }
        self
    }

    /// Panics unless the error message contains every one of `parts`.
    pub fn assert_error_mentions(&self, parts: &[&str]) -> &Run {
        let e = self.error();
        for p in parts {
            assert!(e.contains(p), "error message lacks {p:?}:\n{e}");
        }
        self
    }
}

/// Runs the real binary with `args`, with a clean environment for our variables.
pub fn bc<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .args(args)
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_LOG")
        .output()
        .expect("run buurtcirkel");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `buurtcirkel --store <store> import areas <file> [extra...]`.
pub fn import_areas(store: &Path, file: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--store".into(),
        store.into(),
        "import".into(),
        "areas".into(),
        file.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    bc(args)
}

/// `buurtcirkel --store <store> import figures <file> [extra...]`.
pub fn import_figures(store: &Path, file: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--store".into(),
        store.into(),
        "import".into(),
        "figures".into(),
        file.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    bc(args)
}

/// Writes the demo store with `buurtcirkel demo --out <dir>/s.gpkg` and returns its path.
pub fn demo_store(dir: &Path) -> PathBuf {
    let path = dir.join("s.gpkg");
    bc([
        std::ffi::OsStr::new("demo"),
        "--out".as_ref(),
        path.as_os_str(),
    ])
    .assert_ok();
    path
}

/// Feature count per layer, as `ogrinfo -ro -so -al` reports it.
pub fn ogrinfo_counts(path: &Path) -> BTreeMap<String, u64> {
    let out = Command::new("ogrinfo")
        .arg("-ro")
        .arg("-so")
        .arg("-al")
        .arg(path)
        .output()
        .expect("run ogrinfo");
    assert!(
        out.status.success(),
        "ogrinfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut counts = BTreeMap::new();
    let mut layer: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = Some(name.trim().to_string());
        } else if let Some(n) = line.strip_prefix("Feature Count: ")
            && let Some(l) = layer.take()
        {
            counts.insert(l, n.trim().parse().expect("feature count"));
        }
    }
    counts
}

/// The full `ogrinfo` dump of the features of `layer` matching the SQL `where` clause.
pub fn ogrinfo_where(path: &Path, layer: &str, where_clause: &str) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", "-geom=NO", "-where", where_clause])
        .arg(path)
        .arg(layer)
        .output()
        .expect("run ogrinfo");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The areas of one level in a loaded store, by code.
pub fn areas_of(data: &StoreData, level: Level) -> BTreeMap<String, Area> {
    data.areas
        .iter()
        .filter(|a| a.level() == level)
        .map(|a| (a.code.to_string(), a.clone()))
        .collect()
}

/// Number of areas per level.
pub fn level_counts(data: &StoreData) -> [usize; 3] {
    Level::ALL.map(|l| data.areas.iter().filter(|a| a.level() == l).count())
}

/// A store as it was at one moment: its bytes and its content.
#[derive(Debug)]
pub struct Snapshot {
    path: PathBuf,
    bytes: Vec<u8>,
    data: StoreData,
}

/// Records the bytes and the loaded content of the store at `path`.
pub fn snapshot(path: &Path) -> Snapshot {
    Snapshot {
        path: path.to_path_buf(),
        bytes: store_bytes(path),
        data: Store::new(path).load().expect("load store"),
    }
}

impl Snapshot {
    /// Panics unless the store is byte-identical, loads to the same content and has no
    /// temporary file next to it.
    pub fn assert_unchanged(&self) {
        let now = store_bytes(&self.path);
        assert!(
            now == self.bytes,
            "the store or its private client file changed"
        );
        let data = Store::new(&self.path).load().expect("load store");
        assert_eq!(data.areas, self.data.areas, "areas changed");
        assert_eq!(data.clients, self.data.clients, "clients changed");
        assert_eq!(data.places, self.data.places, "places changed");
        assert_eq!(data.circles, self.data.circles, "circles changed");
        assert_eq!(data.imports, self.data.imports, "import log changed");
        assert_no_temporary_files(self.path.parent().expect("store folder"));
    }

    /// The content recorded.
    pub fn data(&self) -> &StoreData {
        &self.data
    }
}

/// Panics when a `.tmp-` file of the store is left in `dir`.
pub fn assert_no_temporary_files(dir: &Path) {
    let stale: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(stale.is_empty(), "temporary files left behind: {stale:?}");
}

/// A new temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `buurtcirkel --store <store> import <kind> <file> [extra...]` for any import kind.
pub fn import(store: &Path, kind: &str, file: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "--store".into(),
        store.into(),
        "import".into(),
        kind.into(),
        file.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    bc(args)
}

/// `buurtcirkel --store <store> <args...>`.
pub fn bc_on(store: &Path, args: &[&str]) -> Run {
    let mut all: Vec<std::ffi::OsString> = vec!["--store".into(), store.into()];
    all.extend(args.iter().map(Into::into));
    bc(all)
}

/// The attribute field names of `layer` in the vector file at `path`.
pub fn layer_fields(path: &Path, layer: &str) -> Vec<String> {
    let ds = gdal::Dataset::open(path).expect("open vector file");
    let l = ds.layer_by_name(layer).expect("layer");
    l.defn().fields().map(|f| f.name()).collect()
}

/// The names of the layers in the vector file at `path`.
pub fn layer_names(path: &Path) -> Vec<String> {
    let ds = gdal::Dataset::open(path).expect("open vector file");
    ds.layers().map(|l| l.name()).collect()
}

/// The raw bytes of the store and, after them, of its private client file (when it exists).
pub fn store_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("read store");
    if let Ok(private) = std::fs::read(Store::new(path).private_path()) {
        bytes.extend(private);
    }
    bytes
}

/// True when `needle` occurs anywhere in `haystack` (raw bytes of a file).
pub fn bytes_contain(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
