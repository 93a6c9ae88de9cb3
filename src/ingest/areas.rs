//! `import areas`: CBS gemeenten, wijken and buurten from any GDAL vector source.
//!
//! Inputs: a GeoPackage, shapefile, GeoJSON, ... in any CRS PROJ knows; layers whose code column
//! holds GM/WK/BU codes. Outputs: [`Area`]s in RD New metres, one per code, with key figures and
//! a report. The level of each area comes from its code prefix.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use gdal::cpl::CslStringList;
use gdal::vector::{Geometry as GdalGeometry, LayerAccess};
use geo::{Area as _, BoundingRect};
use geo_types::{Geometry, MultiPolygon};

use super::columns::{Mapping, Resolved, resolve};
use super::value::{Cell, from_field, text_of};
use super::{ImportReport, IngestError, LayerReport, Progress, open_vector};
use crate::crs::{RD_NEW, Transformer, in_rd_bounds};
use crate::model::{Area, AreaCode, Figures};

/// Options for [`read_areas`].
#[derive(Debug, Clone, Default)]
pub struct AreaOptions {
    /// Column mapping overriding the presets.
    pub mapping: Mapping,
    /// CRS of the data (`EPSG:n`, WKT or PROJJSON): required for layers without one, and
    /// overrides a CRS the file declares wrongly.
    pub assume_crs: Option<String>,
}

/// The result of reading an area source.
#[derive(Debug, Clone)]
pub struct AreaImport {
    /// The areas, in the order read.
    pub areas: Vec<Area>,
    /// What was read.
    pub report: ImportReport,
}

/// Reads every area layer of `path`.
///
/// # Errors
/// Any [`IngestError`]: the whole import fails on the first bad feature, naming it, so a store
/// never receives half a file.
pub fn read_areas(
    path: &Path,
    opts: &AreaOptions,
    progress: &dyn Progress,
) -> Result<AreaImport, IngestError> {
    let ds = open_vector(
        path,
        "CBS area polygons (gemeenten, wijken or buurten)",
        super::guard::AREA_FORMATS,
    )?;
    let mut report = ImportReport {
        kind: "areas".into(),
        source: path.display().to_string(),
        ..Default::default()
    };
    let mut areas: Vec<Area> = Vec::new();
    let mut seen: HashMap<AreaCode, (String, String)> = HashMap::new();
    let mut looked_at = Vec::new();
    let mut year: Option<i32> = None;

    for mut layer in ds.layers() {
        let name = layer.name();
        let columns: Vec<String> = layer.defn().fields().map(|f| f.name()).collect();
        let mut lr = LayerReport {
            name: name.clone(),
            ..Default::default()
        };
        let resolved =
            resolve(&columns, &opts.mapping).map_err(|problem| IngestError::Mapping {
                path: path.to_path_buf(),
                problem: format!("layer {name}: {problem}"),
            })?;
        let Some(code_col) = resolved.code.clone() else {
            let why = format!("no area-code column among {}", preview(&columns));
            looked_at.push(format!("layer {name} ({why})"));
            lr.skipped = Some(why);
            report.layers.push(lr);
            continue;
        };
        let code_idx = field_index(&columns, &code_col);

        // First pass over the attributes: are these area codes at all?
        let total = layer.feature_count();
        progress.start(&name, total);
        let mut rows = Vec::new();
        let mut bad: Option<(String, String)> = None;
        for feature in layer.features() {
            let fid = feature
                .fid()
                .map_or_else(|| "?".to_string(), |f| f.to_string());
            let text = code_idx
                .and_then(|i| feature.field(i).ok().flatten())
                .and_then(|v| text_of(Some(v)))
                .unwrap_or_default();
            match AreaCode::parse(&text) {
                Ok(code) => rows.push(read_row(&feature, &columns, &resolved, code, fid)),
                Err(_) => {
                    if bad.is_none() {
                        bad = Some((fid, text));
                    }
                }
            }
            progress.advance(1);
        }
        progress.finish();
        if rows.is_empty() {
            let example = bad.map(|(_, t)| t).unwrap_or_default();
            let why = format!("column {code_col} holds no GM/WK/BU codes (e.g. {example:?})");
            looked_at.push(format!("layer {name} ({why})"));
            lr.skipped = Some(why);
            report.layers.push(lr);
            continue;
        }
        if let Some((fid, value)) = bad {
            return Err(IngestError::BadCode {
                path: path.to_path_buf(),
                layer: name,
                feature: fid,
                column: code_col,
                value,
            });
        }

        // CRS: keep RD New, reproject anything else, refuse to guess.
        let transformer = layer_transformer(path, &name, layer.spatial_ref(), opts, &mut lr)?;

        lr.columns_mapped = resolved.mapped();
        lr.columns_ignored = resolved.ignored(&columns);
        for field in resolved.figures.keys().chain(resolved.derived.keys()) {
            lr.missing.insert((*field).to_string(), 0);
        }
        for row in rows {
            let row = row?;
            if let Some((first_layer, first_fid)) = seen.get(&row.code) {
                return Err(IngestError::DuplicateCode {
                    path: path.to_path_buf(),
                    layer: name,
                    code: row.code.to_string(),
                    first: format!("{first_fid} in layer {first_layer}"),
                    second: row.fid,
                });
            }
            seen.insert(row.code.clone(), (name.clone(), row.fid.clone()));
            if year.is_none() {
                year = row.year;
            }
            let geometry_rd = finish_geometry(path, &name, &row, transformer.as_ref(), &mut lr)?;
            for (field, missing) in &row.missing {
                *lr.missing.entry((*field).to_string()).or_default() += usize::from(*missing);
            }
            for (field, text) in &row.not_numbers {
                report.warnings.push(format!(
                    "layer {name}, feature {} ({}): {field} value {text:?} is not a number; treated as missing",
                    row.fid, row.code
                ));
            }
            *lr.levels.entry(row.code.level().to_string()).or_default() += 1;
            lr.water += usize::from(row.water);
            lr.features += 1;
            areas.push(Area {
                code: row.code,
                name: row.name,
                water: row.water,
                figures: row.figures,
                geometry_rd,
            });
        }
        report.layers.push(lr);
    }
    if areas.is_empty() {
        return Err(IngestError::NoAreaLayer {
            path: path.to_path_buf(),
            looked_at: if looked_at.is_empty() {
                "no layers".into()
            } else {
                looked_at.join("; ")
            },
        });
    }
    report.year = year.or_else(|| year_from_name(path));
    if report.warnings.len() > 20 {
        let more = report.warnings.len() - 20;
        report.warnings.truncate(20);
        report
            .warnings
            .push(format!("... and {more} more like these"));
    }
    Ok(AreaImport { areas, report })
}

/// One feature's attributes and raw geometry, before validation.
struct Row {
    fid: String,
    code: AreaCode,
    name: String,
    water: bool,
    year: Option<i32>,
    figures: Figures,
    missing: Vec<(&'static str, bool)>,
    not_numbers: Vec<(&'static str, String)>,
    geometry: Option<GdalGeometry>,
}

fn field_index(columns: &[String], name: &str) -> Option<usize> {
    columns.iter().position(|c| c == name)
}

fn preview(columns: &[String]) -> String {
    if columns.is_empty() {
        "no columns".into()
    } else {
        super::abbreviate(columns, 8)
    }
}

fn read_row(
    feature: &gdal::vector::Feature<'_>,
    columns: &[String],
    resolved: &Resolved,
    code: AreaCode,
    fid: String,
) -> Result<Row, IngestError> {
    let get = |col: &Option<String>| {
        col.as_ref()
            .and_then(|c| field_index(columns, c))
            .and_then(|i| feature.field(i).ok().flatten())
    };
    let name = text_of(get(&resolved.name)).unwrap_or_default();
    let water = match text_of(get(&resolved.water)) {
        Some(w) => matches!(
            w.to_ascii_uppercase().as_str(),
            "JA" | "J" | "1" | "TRUE" | "YES"
        ),
        None => resolved.water.is_none() && code.is_water_code(),
    };
    let year = text_of(get(&resolved.year)).and_then(|t| {
        t.get(..4)
            .and_then(|y| y.parse::<i32>().ok())
            .filter(|y| (1990..=2100).contains(y))
    });
    let mut figures = Figures::default();
    let mut missing = Vec::new();
    let mut not_numbers = Vec::new();
    let mut cell_of =
        |field: &'static str, col: &String, missing: &mut Vec<(&'static str, bool)>| {
            let v = field_index(columns, col).and_then(|i| feature.field(i).ok().flatten());
            match from_field(v) {
                Cell::Number(n) => Some(n),
                Cell::Missing => {
                    missing.push((field, true));
                    None
                }
                Cell::NotANumber(t) => {
                    missing.push((field, true));
                    not_numbers.push((field, t));
                    None
                }
            }
        };
    for (field, col) in &resolved.figures {
        let v = cell_of(field, col, &mut missing);
        if let Some(slot) = figures.field_mut(field) {
            *slot = v;
        }
    }
    let mut derived = Vec::new();
    for (field, (col, denom)) in &resolved.derived {
        let count = cell_of(field, col, &mut missing);
        derived.push((*field, count, *denom));
    }
    for (field, count, denom) in derived {
        let d = figures.field_mut(denom).and_then(|d| *d);
        let value = match (count, d) {
            (Some(c), Some(d)) if d > 0.0 => Some((1000.0 * c / d).round() / 10.0),
            (Some(_), _) => {
                missing.push((field, true));
                None
            }
            _ => None,
        };
        if let Some(slot) = figures.field_mut(field) {
            *slot = value;
        }
    }
    Ok(Row {
        fid,
        code,
        name,
        water,
        year,
        figures,
        missing,
        not_numbers,
        // gdal 0.19 wraps a missing geometry in a null handle, whose type reads as unknown.
        geometry: feature
            .geometry()
            .filter(|g| g.geometry_type() != gdal::vector::OGRwkbGeometryType::wkbUnknown)
            .cloned(),
    })
}

fn layer_transformer(
    path: &Path,
    layer: &str,
    srs: Option<gdal::spatial_ref::SpatialRef>,
    opts: &AreaOptions,
    lr: &mut LayerReport,
) -> Result<Option<Transformer>, IngestError> {
    // GDAL reports a GeoPackage layer without a CRS as an "Undefined" SRS: that is no CRS.
    let srs = srs.filter(|s| !is_undefined(s));
    let definition = match (&srs, &opts.assume_crs) {
        (_, Some(given)) => given.clone(),
        (Some(srs), None) => crs_definition(srs),
        (None, None) => {
            return Err(IngestError::MissingCrs {
                path: path.to_path_buf(),
                layer: layer.to_string(),
            });
        }
    };
    let label = srs
        .as_ref()
        .and_then(|s| s.name())
        .map_or_else(|| definition.clone(), |n| format!("{n} ({definition})"));
    lr.crs = Some(if label.len() > 100 {
        format!("{}...", &label[..label.floor_char_boundary(100)])
    } else {
        label
    });
    if definition == RD_NEW {
        return Ok(None);
    }
    lr.reprojected = true;
    Transformer::new(&definition, RD_NEW)
        .map(Some)
        .map_err(|e| IngestError::Crs {
            path: path.to_path_buf(),
            layer: layer.to_string(),
            problem: format!("{e}; expected a CRS that PROJ can transform to RD New (EPSG:28992)"),
        })
}

/// True for the placeholder SRS GDAL gives layers that have none.
pub(crate) fn is_undefined(srs: &gdal::spatial_ref::SpatialRef) -> bool {
    srs.auth_name().is_none()
        && srs
            .name()
            .is_some_and(|n| n.to_ascii_lowercase().starts_with("undefined"))
}

/// `EPSG:n` when the CRS has an EPSG code, else its WKT.
pub(crate) fn crs_definition(srs: &gdal::spatial_ref::SpatialRef) -> String {
    let mut s = srs.clone();
    let _ = s.auto_identify_epsg();
    match (s.auth_name(), s.auth_code()) {
        (Some(name), Ok(code)) if name.eq_ignore_ascii_case("EPSG") => format!("EPSG:{code}"),
        _ => s.to_wkt().unwrap_or_default(),
    }
}

fn finish_geometry(
    path: &Path,
    layer: &str,
    row: &Row,
    transformer: Option<&Transformer>,
    lr: &mut LayerReport,
) -> Result<MultiPolygon<f64>, IngestError> {
    let bad = |problem: String| IngestError::BadGeometry {
        path: path.to_path_buf(),
        layer: layer.to_string(),
        feature: row.fid.clone(),
        code: row.code.to_string(),
        problem,
    };
    let Some(g) = &row.geometry else {
        return Err(bad(
            "has no geometry; expected a polygon or multipolygon".into()
        ));
    };
    if g.is_empty() {
        return Err(bad(
            "has an empty geometry; expected a polygon or multipolygon".into(),
        ));
    }
    let mut repaired = false;
    let geo = if g.is_valid() {
        g.to_geo()
    } else {
        repaired = true;
        g.make_valid(&CslStringList::new())
            .map_err(|e| {
                bad(format!(
                    "has an invalid geometry that cannot be repaired ({e})"
                ))
            })?
            .to_geo()
    }
    .map_err(|e| bad(format!("has a geometry GDAL cannot convert ({e})")))?;
    let mp = polygons_of(&geo).ok_or_else(|| {
        bad(format!(
            "has a {} geometry; expected a polygon or multipolygon",
            geometry_kind(&geo)
        ))
    })?;
    if repaired && mp.unsigned_area() <= 0.0 {
        return Err(bad(
            "has an invalid geometry with no area left after repair; expected a valid polygon"
                .into(),
        ));
    }
    let mp = match transformer {
        None => mp,
        Some(t) => match t.geometry(&Geometry::MultiPolygon(mp)) {
            Ok(Geometry::MultiPolygon(m)) => m,
            Ok(_) => return Err(bad("changed type while reprojecting".into())),
            Err(e) => {
                return Err(IngestError::OutsideNetherlands {
                    path: path.to_path_buf(),
                    layer: layer.to_string(),
                    problem: format!(
                        "feature {} ({}) cannot be reprojected to RD New ({e}): it lies outside the Netherlands in the declared CRS",
                        row.fid, row.code
                    ),
                });
            }
        },
    };
    if let Some(r) = mp.bounding_rect()
        && !(in_rd_bounds(r.min()) && in_rd_bounds(r.max()))
    {
        return Err(IngestError::OutsideNetherlands {
            path: path.to_path_buf(),
            layer: layer.to_string(),
            problem: format!(
                "feature {} ({}) lies at RD ({:.0}, {:.0})..({:.0}, {:.0}), outside the Netherlands",
                row.fid,
                row.code,
                r.min().x,
                r.min().y,
                r.max().x,
                r.max().y
            ),
        });
    }
    if repaired {
        lr.repaired.push(row.code.to_string());
    }
    Ok(mp)
}

/// The polygonal part of a geometry as one multipolygon; `None` when it has none.
fn polygons_of(g: &Geometry<f64>) -> Option<MultiPolygon<f64>> {
    let mut polys = Vec::new();
    collect(g, &mut polys);
    (!polys.is_empty()).then(|| MultiPolygon::new(polys))
}

fn collect(g: &Geometry<f64>, out: &mut Vec<geo_types::Polygon<f64>>) {
    match g {
        Geometry::Polygon(p) => out.push(p.clone()),
        Geometry::MultiPolygon(mp) => out.extend(mp.0.iter().cloned()),
        Geometry::GeometryCollection(gc) => gc.0.iter().for_each(|g| collect(g, out)),
        _ => {}
    }
}

fn geometry_kind(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "point",
        Geometry::MultiPoint(_) => "multipoint",
        Geometry::Line(_) | Geometry::LineString(_) => "line",
        Geometry::MultiLineString(_) => "multiline",
        Geometry::GeometryCollection(_) => "collection without polygons",
        _ => "non-polygon",
    }
}

/// A CBS year in a file name such as `wijkenbuurten_2022.gpkg` or `buurt_2019_v3.shp`.
pub fn year_from_name(path: &Path) -> Option<i32> {
    let name = path.file_name()?.to_string_lossy().to_string();
    let bytes = name.as_bytes();
    (0..bytes.len().saturating_sub(3)).find_map(|i| {
        let w = &name[i..i + 4];
        let before_ok = i == 0 || !bytes[i - 1].is_ascii_digit();
        let after_ok = bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit());
        let y: i32 = w.parse().ok()?;
        (before_ok && after_ok && (1990..=2100).contains(&y)).then_some(y)
    })
}

/// Number of features per level in a set of areas.
pub fn count_levels(areas: &[Area]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in areas {
        *m.entry(a.level().to_string()).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_come_from_file_names_with_cbs_patterns() {
        assert_eq!(
            year_from_name(Path::new("wijkenbuurten_2022.gpkg")),
            Some(2022)
        );
        assert_eq!(
            year_from_name(Path::new("/x/buurt_2019_v3.shp")),
            Some(2019)
        );
        assert_eq!(year_from_name(Path::new("nld_2022_tmap.gpkg")), Some(2022));
        assert_eq!(year_from_name(Path::new("areas.gpkg")), None);
        assert_eq!(year_from_name(Path::new("x_120225.gpkg")), None);
    }
}
