//! The GeoJSON writer: a published geometry converted once to every CRS the service serves
//! (CRS84, EPSG:4326, RD New, and Web Mercator for tiles; ETRS89 on first use), with its GeoJSON
//! text per CRS made on first use and kept.
//!
//! Inputs: RD New geometries (metres) of published features only. Outputs: geo-types geometries
//! and bounding boxes per CRS, and GeoJSON geometry text (CRS84, EPSG:4326 and EPSG:4258 to 1e-7
//! degree, RD New to the millimetre; EPSG:4326 and EPSG:4258 latitude first).
//! Must not depend on `http`, `analysis` or the store.

use std::fmt::Write as _;
use std::sync::OnceLock;

use geo::{BoundingRect, MapCoords};
use geo_types::{Coord, Geometry, Rect};

use crate::crs::{Crs, CrsError, ETRS89, RD_NEW, Transformer, mercator};

thread_local! {
    /// RD New -> ETRS89, one PROJ object per thread (a PROJ object must not be shared between
    /// threads). Made on the first EPSG:4258 request of the thread.
    static TO_ETRS89: Option<Transformer> = Transformer::new(RD_NEW, ETRS89).ok();
}

/// One published geometry in every CRS the service needs, with bounding boxes.
#[derive(Debug)]
pub struct Geom {
    /// RD New, metres.
    pub rd: Geometry<f64>,
    /// CRS84 longitude/latitude, degrees.
    pub lonlat: Geometry<f64>,
    /// Web Mercator (EPSG:3857) metres, for tiles.
    pub merc: Geometry<f64>,
    /// Bounding box in RD New.
    pub bbox_rd: Option<Rect<f64>>,
    /// Bounding box in CRS84.
    pub bbox_lonlat: Option<Rect<f64>>,
    /// Bounding box in Web Mercator.
    pub bbox_merc: Option<Rect<f64>>,
    /// ETRS89 longitude/latitude with its bounding box, made on first use: few clients ask for
    /// EPSG:4258, so most geometries never pay for a fourth copy.
    etrs: OnceLock<(Geometry<f64>, Option<Rect<f64>>)>,
    json: [OnceLock<String>; 4],
}

impl Geom {
    /// Converts an RD New geometry.
    pub fn new(rd: Geometry<f64>, to_wgs84: &Transformer) -> Result<Geom, CrsError> {
        let lonlat = to_wgs84.geometry(&rd)?;
        let merc = lonlat.map_coords(mercator);
        Ok(Geom {
            bbox_rd: rd.bounding_rect(),
            bbox_lonlat: lonlat.bounding_rect(),
            bbox_merc: merc.bounding_rect(),
            rd,
            lonlat,
            merc,
            etrs: OnceLock::new(),
            json: Default::default(),
        })
    }

    /// The geometry in ETRS89 (longitude first) with its bounding box, through PROJ (RDNAPTRANS
    /// 2018 when its grid is installed, see [`crate::crs::RDNAPTRANS_GRID`]). Should PROJ fail on
    /// a geometry it already took to WGS 84, the WGS 84 coordinates are used, which differ from
    /// ETRS89 by less than PROJ's Helmert fallback's own accuracy, and a warning is logged.
    fn etrs(&self) -> &(Geometry<f64>, Option<Rect<f64>>) {
        self.etrs.get_or_init(|| {
            let converted = TO_ETRS89.with(|t| match t {
                Some(t) => t.geometry(&self.rd).map_err(|e| e.to_string()),
                None => Err("PROJ cannot make RD New -> ETRS89".to_string()),
            });
            match converted {
                Ok(g) => {
                    let b = g.bounding_rect();
                    (g, b)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ETRS89 conversion failed, WGS 84 coordinates used");
                    (self.lonlat.clone(), self.bbox_lonlat)
                }
            }
        })
    }

    /// The GeoJSON geometry text in `crs` (axis order as the CRS defines it), made once.
    pub fn json(&self, crs: Crs) -> &str {
        self.json[crs.slot()].get_or_init(|| {
            let mut s = String::new();
            match crs {
                Crs::Crs84 => write_geometry(&mut s, &self.lonlat, 1e7, false),
                Crs::Epsg4326 => write_geometry(&mut s, &self.lonlat, 1e7, true),
                Crs::RdNew => write_geometry(&mut s, &self.rd, 1e3, false),
                Crs::Etrs89 => write_geometry(&mut s, &self.etrs().0, 1e7, true),
            }
            s
        })
    }

    /// The geometry in `crs`'s x/y (GIS) order, with its bounding box.
    pub fn in_crs(&self, crs: Crs) -> (&Geometry<f64>, Option<Rect<f64>>) {
        match crs {
            Crs::Crs84 | Crs::Epsg4326 => (&self.lonlat, self.bbox_lonlat),
            Crs::RdNew => (&self.rd, self.bbox_rd),
            Crs::Etrs89 => {
                let (g, b) = self.etrs();
                (g, *b)
            }
        }
    }
}

/// Writes a GeoJSON geometry; `scale` sets the decimals (1e7 ≈ 1 cm in degrees, 1e3 = 1 mm
/// in metres), `swap` writes y before x (EPSG:4326 latitude first).
fn write_geometry(out: &mut String, g: &Geometry<f64>, scale: f64, swap: bool) {
    fn coord(out: &mut String, c: Coord<f64>, scale: f64, swap: bool) {
        let (a, b) = if swap { (c.y, c.x) } else { (c.x, c.y) };
        let _ = write!(
            out,
            "[{},{}]",
            (a * scale).round() / scale,
            (b * scale).round() / scale
        );
    }
    fn line(out: &mut String, cs: &[Coord<f64>], scale: f64, swap: bool) {
        out.push('[');
        for (i, c) in cs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            coord(out, *c, scale, swap);
        }
        out.push(']');
    }
    fn polygon(out: &mut String, p: &geo_types::Polygon<f64>, scale: f64, swap: bool) {
        out.push('[');
        line(out, &p.exterior().0, scale, swap);
        for r in p.interiors() {
            out.push(',');
            line(out, &r.0, scale, swap);
        }
        out.push(']');
    }
    fn list<T>(out: &mut String, items: &[T], mut f: impl FnMut(&mut String, &T)) {
        out.push('[');
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            f(out, t);
        }
        out.push(']');
    }
    match g {
        Geometry::Point(p) => {
            out.push_str(r#"{"type":"Point","coordinates":"#);
            coord(out, p.0, scale, swap);
        }
        Geometry::MultiPoint(mp) => {
            out.push_str(r#"{"type":"MultiPoint","coordinates":"#);
            list(out, &mp.0, |o, p| coord(o, p.0, scale, swap));
        }
        Geometry::Line(l) => {
            out.push_str(r#"{"type":"LineString","coordinates":"#);
            line(out, &[l.start, l.end], scale, swap);
        }
        Geometry::LineString(l) => {
            out.push_str(r#"{"type":"LineString","coordinates":"#);
            line(out, &l.0, scale, swap);
        }
        Geometry::MultiLineString(ml) => {
            out.push_str(r#"{"type":"MultiLineString","coordinates":"#);
            list(out, &ml.0, |o, l| line(o, &l.0, scale, swap));
        }
        Geometry::Polygon(p) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, p, scale, swap);
        }
        Geometry::Rect(r) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, &r.to_polygon(), scale, swap);
        }
        Geometry::Triangle(t) => {
            out.push_str(r#"{"type":"Polygon","coordinates":"#);
            polygon(out, &t.to_polygon(), scale, swap);
        }
        Geometry::MultiPolygon(mp) => {
            out.push_str(r#"{"type":"MultiPolygon","coordinates":"#);
            list(out, &mp.0, |o, p| polygon(o, p, scale, swap));
        }
        Geometry::GeometryCollection(gc) => {
            out.push_str(r#"{"type":"GeometryCollection","geometries":"#);
            list(out, &gc.0, |o, g| write_geometry(o, g, scale, swap));
            out.push('}');
            return;
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::{RD_NEW, WGS84};
    use serde_json::Value;

    #[test]
    fn epsg_4326_geojson_puts_latitude_first() {
        let t = Transformer::new(RD_NEW, WGS84).unwrap();
        let g = Geom::new(Geometry::Point((155_000.0, 463_000.0).into()), &t).unwrap();
        assert_eq!(
            g.json(Crs::RdNew),
            r#"{"type":"Point","coordinates":[155000,463000]}"#
        );
        let lonlat: Value = serde_json::from_str(g.json(Crs::Crs84)).unwrap();
        let latlon: Value = serde_json::from_str(g.json(Crs::Epsg4326)).unwrap();
        assert_eq!(lonlat["coordinates"][0], latlon["coordinates"][1]);
        assert!((lonlat["coordinates"][0].as_f64().unwrap() - 5.387204).abs() < 1e-6);
    }

    #[test]
    fn etrs89_geojson_is_latitude_first_and_within_a_metre_of_wgs84() {
        let t = Transformer::new(RD_NEW, WGS84).unwrap();
        let g = Geom::new(Geometry::Point((155_000.0, 463_000.0).into()), &t).unwrap();
        let latlon: Value = serde_json::from_str(g.json(Crs::Epsg4326)).unwrap();
        let etrs: Value = serde_json::from_str(g.json(Crs::Etrs89)).unwrap();
        let direct = Transformer::new(RD_NEW, ETRS89)
            .unwrap()
            .point(155_000.0, 463_000.0)
            .unwrap();
        assert!((etrs["coordinates"][0].as_f64().unwrap() - direct.1).abs() < 1e-7);
        assert!((etrs["coordinates"][1].as_f64().unwrap() - direct.0).abs() < 1e-7);
        // 1e-5 degree is about 1 m: ETRS89 and WGS 84 differ by less in PROJ's view.
        for i in 0..2 {
            let d = etrs["coordinates"][i].as_f64().unwrap()
                - latlon["coordinates"][i].as_f64().unwrap();
            assert!(d.abs() < 1e-5, "axis {i}: {d}");
        }
        let (_, bbox) = g.in_crs(Crs::Etrs89);
        assert!((bbox.unwrap().min().x - direct.0).abs() < 1e-9);
    }
}
