//! Writing a [`Table`] (published features) into any GDAL vector dataset: the store's result
//! layers and exports share this one writer.

use gdal::Dataset;
use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Feature, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType, ToGdal};
use serde_json::Value;

use crate::crs::Transformer;
use crate::model::{FieldType, Table};

/// Why a feature could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// GDAL refused it.
    Gdal(gdal::errors::GdalError),
    /// Its geometry could not be reprojected.
    Crs(String),
}

/// Creates layer `name` with an `id` field plus the table's fields.
pub fn create_table_layer(
    ds: &mut Dataset,
    table: &Table,
    name: &str,
    srs: &SpatialRef,
    options: &[&str],
) -> gdal::errors::Result<()> {
    let gl = ds.create_layer(LayerOptions {
        name,
        srs: Some(srs),
        ty: geometry_type(table),
        options: Some(options),
    })?;
    let mut defs: Vec<(&str, OGRFieldType::Type)> = vec![("id", OGRFieldType::OFTString)];
    defs.extend(table.fields.iter().map(|(n, t)| {
        (
            *n,
            match t {
                FieldType::Text | FieldType::Json => OGRFieldType::OFTString,
                FieldType::Integer | FieldType::Boolean => OGRFieldType::OFTInteger64,
                FieldType::Real => OGRFieldType::OFTReal,
            },
        )
    }));
    gl.create_defn_fields(&defs)
}

/// Writes every feature of `table` into `gl` (created by [`create_table_layer`]), reprojecting
/// with `transformer` when given. On error returns the feature id and the cause.
pub fn write_features<L: LayerAccess>(
    gl: &L,
    table: &Table,
    transformer: Option<&Transformer>,
) -> Result<usize, (String, WriteError)> {
    let defn = gdal::vector::Defn::from_layer(gl);
    for f in &table.features {
        let g = match transformer {
            None => f.geometry_rd.clone(),
            Some(t) => t
                .geometry(&f.geometry_rd)
                .map_err(|e| (f.id.clone(), WriteError::Crs(e.to_string())))?,
        };
        let r = (|| -> gdal::errors::Result<()> {
            let mut feat = Feature::new(&defn)?;
            feat.set_field_string(0, &f.id)?;
            for (k, ((_, t), v)) in table.fields.iter().zip(&f.values).enumerate() {
                let idx = k + 1;
                match (t, v) {
                    (_, Value::Null) => feat.set_field_null(idx)?,
                    (FieldType::Boolean, Value::Bool(b)) => {
                        feat.set_field_integer64(idx, i64::from(*b))?;
                    }
                    (FieldType::Integer, Value::Number(n)) => {
                        feat.set_field_integer64(idx, n.as_i64().unwrap_or_default())?;
                    }
                    (FieldType::Real, Value::Number(n)) => {
                        feat.set_field_double(idx, n.as_f64().unwrap_or_default())?;
                    }
                    (_, Value::String(s)) => feat.set_field_string(idx, s)?,
                    (_, other) => feat.set_field_string(idx, &other.to_string())?,
                }
            }
            feat.set_geometry(g.to_gdal()?)?;
            feat.create(gl)
        })();
        r.map_err(|e| (f.id.clone(), WriteError::Gdal(e)))?;
    }
    Ok(table.features.len())
}

/// The narrowest OGR geometry type that holds every feature of the table.
fn geometry_type(table: &Table) -> OGRwkbGeometryType::Type {
    use geo_types::Geometry as G;
    let mut kinds = table.features.iter().map(|f| match f.geometry_rd {
        G::Point(_) => 1,
        G::Polygon(_) | G::MultiPolygon(_) => 2,
        _ => 3,
    });
    match kinds.next() {
        Some(first) if kinds.all(|k| k == first) => match first {
            1 => OGRwkbGeometryType::wkbPoint,
            // Polygons and multipolygons mix in one layer: declare the wider type.
            2 if table
                .features
                .iter()
                .any(|f| matches!(f.geometry_rd, G::MultiPolygon(_))) =>
            {
                OGRwkbGeometryType::wkbMultiPolygon
            }
            2 => OGRwkbGeometryType::wkbPolygon,
            _ => OGRwkbGeometryType::wkbUnknown,
        },
        _ => OGRwkbGeometryType::wkbUnknown,
    }
}
