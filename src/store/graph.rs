//! The street network in the store: layer `streets`, one LineString per street piece between
//! junctions (RD New, EPSG:28992), with its length in metres, so QGIS shows the graph the
//! analysis walks on.
//!
//! The graph itself is not stored: `analysis::network::StreetNetwork::from_lines` rebuilds it
//! from the pieces, joining equal end points (GeoPackage keeps doubles exactly, so pieces that
//! met on import meet again). Writes go through [`Store::apply`] and are atomic with it.
//! Depends on GDAL and geo types only.

use gdal::spatial_ref::SpatialRef;
use gdal::vector::{Feature, LayerAccess, OGRFieldType, ToGdal};
use gdal::{Dataset, vector::OGRwkbGeometryType};
use geo_types::{Geometry, LineString};

use super::{Store, StoreError};

/// The layer name.
pub const STREETS_LAYER: &str = "streets";

impl Store {
    /// Replaces the `streets` layer with `lines` (RD metres).
    pub(super) fn write_streets(
        &self,
        ds: &mut Dataset,
        lines: &[LineString<f64>],
        rd: &SpatialRef,
    ) -> Result<(), StoreError> {
        let layer = self.recreate(
            ds,
            STREETS_LAYER,
            OGRwkbGeometryType::wkbLineString,
            rd,
            &[("length_m", OGRFieldType::OFTReal)],
        )?;
        let defn = gdal::vector::Defn::from_layer(&layer);
        for line in lines {
            let r = (|| {
                let mut f = Feature::new(&defn)?;
                let length: f64 = line
                    .lines()
                    .map(|s| (s.end.x - s.start.x).hypot(s.end.y - s.start.y))
                    .sum();
                f.set_field_double(0, (length * 100.0).round() / 100.0)?;
                f.set_geometry(line.to_gdal()?)?;
                f.create(&layer)
            })();
            r.map_err(self.gdal_err("writing streets"))?;
        }
        Ok(())
    }

    /// The stored street pieces (RD metres), or `None` when no streets were imported.
    ///
    /// # Errors
    /// The store is missing or unreadable.
    pub fn load_streets(&self) -> Result<Option<Vec<LineString<f64>>>, StoreError> {
        self.check_schema()?;
        let ds = self.open_read()?;
        Ok(read_streets(&ds))
    }
}

/// The street pieces of an open store, `None` without a streets layer.
pub(super) fn read_streets(ds: &gdal::Dataset) -> Option<Vec<LineString<f64>>> {
    let mut layer = ds.layer_by_name(STREETS_LAYER).ok()?;
    let mut lines = Vec::new();
    for f in layer.features() {
        match f.geometry().and_then(|g| g.to_geo().ok()) {
            Some(Geometry::LineString(l)) => lines.push(l),
            Some(Geometry::MultiLineString(m)) => lines.extend(m.0),
            _ => {}
        }
    }
    Some(lines)
}
