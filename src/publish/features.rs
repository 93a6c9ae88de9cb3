//! Published features: areas converted once from RD New to CRS84 and serialised to GeoJSON
//! feature text, so a page of items is a concatenation, not a conversion.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use geo::MapCoords;
use geo_types::Geometry;
use serde_json::{Map, Value, json};

use crate::crs::{CrsError, RD_NEW, Transformer, WGS84};
use crate::model::{Area, FIGURE_FIELDS, Level};
use crate::store::StoreData;

/// Decimal places of published CRS84 coordinates: 7 places is about 1 cm.
const DECIMALS: f64 = 1e7;

/// An immutable, ready-to-serve view of the store.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Serialised GeoJSON features per level, in code order.
    pub features: BTreeMap<Level, Vec<String>>,
    base: String,
}

impl Published {
    /// Converts the store's areas to CRS84 GeoJSON.
    pub fn build(data: &StoreData, addr: SocketAddr) -> Result<Published, CrsError> {
        let t = Transformer::new(RD_NEW, WGS84)?;
        let mut areas: Vec<&Area> = data.areas.iter().collect();
        areas.sort_by(|a, b| a.code.cmp(&b.code));
        let mut features: BTreeMap<Level, Vec<String>> = BTreeMap::new();
        for a in areas {
            let f = area_feature(a, &t)?;
            features.entry(a.level()).or_default().push(f.to_string());
        }
        Ok(Published {
            features,
            base: format!("http://{addr}"),
        })
    }

    /// One page of a collection as a GeoJSON FeatureCollection.
    pub fn items_page(&self, level: Level, limit: usize, offset: usize) -> String {
        let all = self.features.get(&level).map_or(&[][..], Vec::as_slice);
        let start = offset.min(all.len());
        let end = start.saturating_add(limit).min(all.len());
        let page = &all[start..end];
        let url = |o: usize| {
            format!(
                "{}/ogc/v1/collections/{}/items?f=json&limit={limit}&offset={o}",
                self.base,
                level.collection()
            )
        };
        let mut links =
            vec![json!({"rel": "self", "type": "application/geo+json", "href": url(start)})];
        if end < all.len() {
            links.push(json!({"rel": "next", "type": "application/geo+json", "href": url(end)}));
        }
        if start > 0 {
            links.push(json!({"rel": "prev", "type": "application/geo+json", "href": url(start.saturating_sub(limit))}));
        }
        let mut out = String::with_capacity(page.iter().map(String::len).sum::<usize>() + 512);
        out.push_str(r#"{"type":"FeatureCollection","features":["#);
        for (i, f) in page.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(f);
        }
        out.push_str("],");
        let tail = json!({
            "numberMatched": all.len(),
            "numberReturned": page.len(),
            "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "links": links,
        });
        let tail = tail.to_string();
        out.push_str(&tail[1..]);
        out
    }
}

fn area_feature(a: &Area, t: &Transformer) -> Result<Value, CrsError> {
    let g = t.geometry(&Geometry::MultiPolygon(a.geometry_rd.clone()))?;
    let g = g.map_coords(|c| geo_types::Coord {
        x: (c.x * DECIMALS).round() / DECIMALS,
        y: (c.y * DECIMALS).round() / DECIMALS,
    });
    let mut props = Map::new();
    props.insert("code".into(), json!(a.code.as_str()));
    props.insert("naam".into(), json!(a.name));
    props.insert("niveau".into(), json!(a.level().to_string()));
    props.insert("gemeentecode".into(), json!(a.code.gemeente().as_str()));
    props.insert(
        "wijkcode".into(),
        a.code.wijk().map_or(Value::Null, |w| json!(w.as_str())),
    );
    props.insert("water".into(), json!(a.water));
    for (name, v) in FIGURE_FIELDS.iter().zip(a.figures.values()) {
        props.insert((*name).into(), v.map_or(Value::Null, |v| json!(v)));
    }
    Ok(json!({
        "type": "Feature",
        "id": a.code.as_str(),
        "geometry": geojson::Geometry::from(&g),
        "properties": props,
    }))
}
