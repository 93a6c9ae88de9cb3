//! The rows of the result layers (`resultaat_*`), written with SQLite prepared statements.
//!
//! GDAL creates the layers (tables, `gpkg_contents`, `gpkg_geometry_columns`, its feature-count
//! bookkeeping) in the store's one GDAL transaction; once that is committed and closed, the
//! rows go in here, in one SQLite transaction through one prepared statement per layer, each
//! geometry encoded once as a GeoPackage blob (header with envelope, then WKB) by `geozero`.
//! GDAL's per-feature path (an OGR feature and geometry built field by field and point by
//! point, then serialised) was most of the time of writing ~74,000 site circles. GDAL's
//! triggers on a new table (the feature count's) are set aside during the inserts and put back
//! verbatim, the count set once. The R-tree is packed in bulk from the envelopes the encoder
//! computed, in the same transaction, with the triggers GDAL's `CreateSpatialIndex` makes
//! (`sqlite_gpkg::create_spatial_index`).
//!
//! Values are stored as GDAL's writer stored them (`table::write_features`): text as TEXT,
//! integers and yes/no as INTEGER, reals as REAL, JSON objects as their JSON text, null as
//! NULL. The file is the private copy of a write (`Store::apply_locked`), renamed into place
//! only when everything succeeded, so SQLite's journal is off as it is for GDAL there.

use std::path::Path;

use geo::BoundingRect;
use geozero::{CoordDimensions, GeozeroGeometry as _};
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::model::{FieldType, Table};

/// SRS id of RD New in the store's `gpkg_spatial_ref_sys` (GDAL registers EPSG codes as ids).
const RD_SRS_ID: i32 = 28992;

/// Why the rows could not be written: the layer, the feature (when one) and SQLite's message.
#[derive(Debug)]
pub struct WriteError {
    /// What was being done (`writing 12 to resultaat_sites`).
    pub action: String,
    /// SQLite's or the geometry encoder's message.
    pub reason: String,
}

/// The GeoPackage geometry blob of `g` in RD New: little-endian, an xy envelope for all but
/// points (as GDAL writes them), the empty flag for an empty geometry. Also returns the
/// envelope (min x, min y, max x, max y), `None` when empty.
pub fn gpkg_blob(
    g: &geo_types::Geometry<f64>,
) -> Result<(Vec<u8>, Option<[f64; 4]>), geozero::error::GeozeroError> {
    let rect = g.bounding_rect();
    let envelope = match (g, rect) {
        (geo_types::Geometry::Point(_), _) | (_, None) => Vec::new(),
        (_, Some(r)) => vec![r.min().x, r.max().x, r.min().y, r.max().y],
    };
    let mut out = Vec::new();
    let mut writer = geozero::wkb::WkbWriter::with_extended_opts(
        &mut out,
        geozero::wkb::WkbDialect::Geopackage,
        CoordDimensions::xy(),
        CoordDimensions::xy(),
        Some(RD_SRS_ID),
        envelope,
        CoordDimensions::xy(),
        false,
        rect.is_none(),
    );
    g.process_geom(&mut writer)?;
    drop(writer);
    Ok((
        out,
        rect.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
    ))
}

/// The SQL value of `v` in a column of type `t`, as GDAL's writer stores it: a JSON number in
/// an integer column as its whole value (0 when not whole), in a real column as a double; a
/// boolean as 0/1; a string as text (GDAL parses it as a number in a numeric column: so do
/// we, 0 when it is none); anything else as its JSON text, parsed likewise in numeric columns.
fn sql_value(t: FieldType, v: &Value) -> SqlValue {
    let text_number = |s: &str| match t {
        FieldType::Integer | FieldType::Boolean => {
            SqlValue::Integer(s.trim().parse::<i64>().unwrap_or(0))
        }
        FieldType::Real => SqlValue::Real(s.trim().parse::<f64>().unwrap_or(0.0)),
        FieldType::Text | FieldType::Json => SqlValue::Text(s.to_string()),
    };
    match (t, v) {
        (_, Value::Null) => SqlValue::Null,
        (FieldType::Boolean, Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        (FieldType::Integer, Value::Number(n)) => SqlValue::Integer(n.as_i64().unwrap_or_default()),
        (FieldType::Real, Value::Number(n)) => SqlValue::Real(n.as_f64().unwrap_or_default()),
        (_, Value::String(s)) => text_number(s),
        (_, other) => text_number(&other.to_string()),
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Inserts every feature of each `(layer name, table)` into its layer of the GeoPackage at
/// `path` (created empty by `table::create_table_layer`, without a spatial index), sets each
/// layer's extent in `gpkg_contents` and its feature count in `gpkg_ogr_contents`, all in one
/// transaction.
///
/// # Errors
/// The file cannot be opened, a statement fails or a geometry cannot be encoded: the layer
/// and feature are named.
pub fn write_rows(path: &Path, tables: &[(String, &Table)]) -> Result<(), WriteError> {
    let fail = |action: String| {
        move |e: rusqlite::Error| WriteError {
            action,
            reason: e.to_string(),
        }
    };
    let mut conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail("opening the new store for the result rows".into()))?;
    // secure_delete as for every write of the store (see `Store::write_into`).
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -32768; \
         PRAGMA secure_delete = ON;",
    )
    .map_err(fail("setting up the result writer".into()))?;
    let tx = conn
        .transaction()
        .map_err(fail("starting the result transaction".into()))?;
    for (name, table) in tables {
        let mut columns = vec![quote("fid"), quote("geom"), quote("id")];
        columns.extend(table.fields.iter().map(|(f, _)| quote(f)));
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(name),
            columns.join(", "),
            params.join(", ")
        );
        // GDAL's triggers on the new table (today the feature count's, one UPDATE per
        // inserted row) are set aside during the inserts and put back as they were; the count
        // is set once below.
        let triggers: Vec<(String, String)> = {
            let mut q = tx
                .prepare(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' \
                     AND lower(tbl_name) = lower(?1) AND sql IS NOT NULL",
                )
                .map_err(fail(format!("reading the triggers of {name}")))?;
            q.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(Iterator::collect)
                .map_err(fail(format!("reading the triggers of {name}")))?
        };
        for (trigger, _) in &triggers {
            tx.execute_batch(&format!("DROP TRIGGER {}", quote(trigger)))
                .map_err(fail(format!("setting aside trigger {trigger} of {name}")))?;
        }
        let mut insert = tx
            .prepare(&sql)
            .map_err(fail(format!("preparing the rows of {name}")))?;
        let mut extent: Option<[f64; 4]> = None;
        let mut boxes: Vec<Option<[f64; 4]>> = Vec::with_capacity(table.features.len());
        let mut row: Vec<SqlValue> = Vec::with_capacity(columns.len());
        for (fid, f) in (1i64..).zip(&table.features) {
            let (blob, envelope) = gpkg_blob(&f.geometry_rd).map_err(|e| WriteError {
                action: format!("encoding the geometry of {} in {name}", f.id),
                reason: e.to_string(),
            })?;
            if let Some([x0, y0, x1, y1]) = envelope {
                extent = Some(match extent {
                    None => [x0, y0, x1, y1],
                    Some([a, b, c, d]) => [a.min(x0), b.min(y0), c.max(x1), d.max(y1)],
                });
            }
            boxes.push(envelope);
            row.clear();
            row.push(SqlValue::Integer(fid));
            row.push(SqlValue::Blob(blob));
            row.push(SqlValue::Text(f.id.clone()));
            row.extend(
                table
                    .fields
                    .iter()
                    .zip(&f.values)
                    .map(|((_, t), v)| sql_value(*t, v)),
            );
            // A feature with fewer values than fields: the rest stay null, as with GDAL.
            row.resize(columns.len(), SqlValue::Null);
            insert
                .execute(rusqlite::params_from_iter(row.iter()))
                .map_err(fail(format!("writing {} to {name}", f.id)))?;
        }
        drop(insert);
        for (trigger, sql) in &triggers {
            tx.execute_batch(sql)
                .map_err(fail(format!("restoring trigger {trigger} of {name}")))?;
        }
        if let Some([x0, y0, x1, y1]) = extent {
            tx.execute(
                "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 \
                 WHERE lower(table_name) = lower(?5)",
                rusqlite::params![x0, y0, x1, y1, name],
            )
            .map_err(fail(format!("setting the extent of {name}")))?;
        }
        // The count GDAL's triggers would have kept, set once.
        tx.execute(
            "UPDATE gpkg_ogr_contents SET feature_count = ?1 WHERE lower(table_name) = lower(?2)",
            rusqlite::params![
                i64::try_from(table.features.len()).unwrap_or(i64::MAX),
                name
            ],
        )
        .map_err(fail(format!("counting the features of {name}")))?;
        super::sqlite_gpkg::create_spatial_index(&tx, name, "geom", &boxes)
            .map_err(fail(format!("indexing {name}")))?;
    }
    tx.commit()
        .map_err(fail("committing the result rows".into()))?;
    conn.close()
        .map_err(|(_, e)| fail("closing the new store".into())(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_with_the_types_gdal_gives_them() {
        use serde_json::json;
        assert_eq!(
            sql_value(FieldType::Boolean, &json!(true)),
            SqlValue::Integer(1)
        );
        assert_eq!(
            sql_value(FieldType::Integer, &json!(12)),
            SqlValue::Integer(12)
        );
        assert_eq!(
            sql_value(FieldType::Integer, &json!(1.5)),
            SqlValue::Integer(0)
        );
        assert_eq!(sql_value(FieldType::Real, &json!(3)), SqlValue::Real(3.0));
        assert_eq!(
            sql_value(FieldType::Real, &json!("2.5")),
            SqlValue::Real(2.5)
        );
        assert_eq!(
            sql_value(FieldType::Text, &json!(7)),
            SqlValue::Text("7".into())
        );
        assert_eq!(
            sql_value(FieldType::Json, &json!({"a": [1, null]})),
            SqlValue::Text("{\"a\":[1,null]}".into())
        );
        assert_eq!(sql_value(FieldType::Real, &Value::Null), SqlValue::Null);
    }

    #[test]
    fn a_polygon_blob_carries_its_envelope_and_a_point_blob_none() {
        let poly: geo_types::Geometry<f64> = geo_types::Polygon::new(
            geo_types::LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 3.0), (0.0, 0.0)]),
            vec![],
        )
        .into();
        let (blob, env) = gpkg_blob(&poly).expect("encodes");
        assert_eq!(&blob[..2], b"GP");
        assert_eq!(blob[3] & 0b1110, 0b0010, "xy envelope flag");
        assert_eq!(env, Some([0.0, 0.0, 4.0, 3.0]));
        assert_eq!(
            i32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]),
            28992
        );
        let point: geo_types::Geometry<f64> = geo_types::Point::new(1.0, 2.0).into();
        let (blob, env) = gpkg_blob(&point).expect("encodes");
        assert_eq!(blob[3] & 0b1110, 0, "no envelope for a point");
        assert_eq!(env, Some([1.0, 2.0, 1.0, 2.0]));
        let empty: geo_types::Geometry<f64> = geo_types::MultiPolygon::<f64>(vec![]).into();
        let (blob, env) = gpkg_blob(&empty).expect("encodes");
        assert_eq!(blob[3] & 0b1_0000, 0b1_0000, "empty flag");
        assert_eq!(env, None);
    }
}
