//! One published collection for one parameter set: its features (id, geometry in every CRS,
//! values in field order, properties serialised once) and the GeoJSON Feature writer.
//!
//! Inputs: what [`super::layers::build`] returned, converted by [`super::dataset`].
//! Outputs: [`Collection`] and [`Item`], read by the tile encoder and the HTTP handlers.
//! Must not depend on `http`, the dataset or the tile cache.

use std::collections::HashMap;
use std::sync::Arc;

use geo_types::{Coord, Rect};
use serde_json::Value;

use super::geojson::Geom;
use crate::crs::Crs;
use crate::model::FieldType;

/// One published feature: its id, geometry, values in field order and the properties object
/// serialised once.
#[derive(Debug)]
pub struct Item {
    /// Feature id (area code or number).
    pub id: String,
    /// The geometry in every CRS.
    pub geom: Arc<Geom>,
    /// Values in the order of [`Collection::fields`].
    pub values: Vec<Value>,
    /// The GeoJSON `properties` object.
    pub properties: String,
}

/// One published collection for one parameter set.
#[derive(Debug)]
pub struct Collection {
    /// Collection id.
    pub name: &'static str,
    /// Dutch title.
    pub title: &'static str,
    /// Field names and types.
    pub fields: Vec<(&'static str, FieldType)>,
    /// Features in id order.
    pub items: Vec<Item>,
    pub(crate) by_id: HashMap<String, usize>,
}

impl Collection {
    /// The feature with `id`.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    /// The position of field `name`.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(f, _)| *f == name)
    }
}

impl Item {
    /// Writes this item as a GeoJSON Feature in `crs`, with an optional `links` array (JSON).
    pub fn write_geojson(&self, out: &mut String, crs: Crs, links: Option<&str>) {
        out.push_str(r#"{"type":"Feature","id":"#);
        out.push_str(&Value::String(self.id.clone()).to_string());
        out.push_str(r#","geometry":"#);
        out.push_str(self.geom.json(crs));
        out.push_str(r#","properties":"#);
        out.push_str(&self.properties);
        if let Some(l) = links {
            out.push_str(r#","links":"#);
            out.push_str(l);
        }
        out.push('}');
    }
}

/// The smallest rectangle holding `a` and `b`.
pub fn union(a: Rect<f64>, b: Rect<f64>) -> Rect<f64> {
    Rect::new(
        Coord {
            x: a.min().x.min(b.min().x),
            y: a.min().y.min(b.min().y),
        },
        Coord {
            x: a.max().x.max(b.max().x),
            y: a.max().y.max(b.max().y),
        },
    )
}
