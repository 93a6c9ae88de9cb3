//! Coordinate reference systems: RD New (EPSG:28992, metres) inside the program, other CRSs only
//! at the edges, converted with PROJ.
//!
//! Inputs: a CRS definition (an `EPSG:n` code, WKT or PROJJSON, as GDAL reports it) and geo-types
//! geometries in that CRS, in traditional GIS axis order (easting/longitude first).
//! Outputs: the same geometries in the target CRS, same axis order.
//! Uses only `model`; must not depend on `release` or `http`, which read the CRSs from here.

use geo::MapCoords;
use geo_types::{Coord, Geometry};
use proj::Proj;

/// The program's one internal CRS: Amersfoort / RD New.
pub const RD_NEW: &str = "EPSG:28992";
/// WGS 84 longitude/latitude (OGC CRS84 axis order).
pub const WGS84: &str = "EPSG:4326";
/// ETRS89 longitude/latitude, the European datum the Dutch API rules ask to offer.
pub const ETRS89: &str = "EPSG:4258";

/// The grid of RDNAPTRANS 2018, the official RD <-> ETRS89 transformation. PROJ uses it on its
/// own for RD New -> ETRS89/WGS 84 when the file is in its search path (Debian's `proj-data`, or
/// `projsync --file nl_nsgi_rdtrans2018.tif`); without it PROJ falls back to a Helmert
/// transformation of about 1 m accuracy.
pub const RDNAPTRANS_GRID: &str = "nl_nsgi_rdtrans2018.tif";

/// The part of the plane where RD New coordinates of the Netherlands can lie (EPSG's area of use,
/// rounded outward): x -7,000..300,000 m, y 289,000..629,000 m.
pub const RD_VALID_BOUNDS: (f64, f64, f64, f64) = (-7_000.0, 289_000.0, 300_000.0, 629_000.0);

/// True when an RD New coordinate lies in the validity area of RD New.
pub fn in_rd_bounds(c: Coord<f64>) -> bool {
    let (x0, y0, x1, y1) = RD_VALID_BOUNDS;
    c.x >= x0 && c.x <= x1 && c.y >= y0 && c.y <= y1
}

/// Why a transformation could not be made or applied.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    /// PROJ has no transformation between the two CRSs.
    #[error("cannot transform from {from} to {to}: {reason}")]
    NoTransformation {
        /// Source CRS as given.
        from: String,
        /// Target CRS.
        to: String,
        /// PROJ's reason.
        reason: String,
    },
    /// A coordinate could not be transformed.
    #[error("coordinate ({x}, {y}) cannot be transformed to {to}: {reason}")]
    Coordinate {
        /// Easting or longitude.
        x: f64,
        /// Northing or latitude.
        y: f64,
        /// Target CRS.
        to: String,
        /// PROJ's reason.
        reason: String,
    },
}

/// A PROJ transformation between two CRSs, in GIS axis order (x/lon first) on both sides.
pub struct Transformer {
    proj: Proj,
    to: String,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer").field("to", &self.to).finish()
    }
}

impl Transformer {
    /// A transformation from `from` to `to` (each `EPSG:n`, WKT or PROJJSON).
    ///
    /// # Examples
    /// ```
    /// use buurtcirkel::crs::{Transformer, RD_NEW, WGS84};
    /// let t = Transformer::new(RD_NEW, WGS84).unwrap();
    /// let (lon, lat) = t.point(155_000.0, 463_000.0).unwrap();
    /// assert!((lon - 5.387204).abs() < 1e-6 && (lat - 52.155172).abs() < 1e-6);
    /// ```
    pub fn new(from: &str, to: &str) -> Result<Transformer, CrsError> {
        let proj = Proj::new_known_crs(from, to, None).map_err(|e| CrsError::NoTransformation {
            from: short(from),
            to: to.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Transformer {
            proj,
            to: to.to_string(),
        })
    }

    /// How PROJ transforms: its operation name and definition (names the grid when one is
    /// used), for logs and for docs/api.md's accuracy statement.
    pub fn method(&self) -> String {
        let info = self.proj.proj_info();
        let mut text = info.description.unwrap_or_default();
        if let Some(def) = info.definition.filter(|d| !d.is_empty()) {
            text.push_str(" (");
            text.push_str(&def);
            text.push(')');
        }
        text
    }

    /// True when this transformation reads the RDNAPTRANS 2018 grid ([`RDNAPTRANS_GRID`]).
    pub fn uses_rdnaptrans_grid(&self) -> bool {
        self.method().contains("rdtrans2018")
    }

    /// Transforms one coordinate pair.
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let (tx, ty) = self
            .proj
            .convert((x, y))
            .map_err(|e| CrsError::Coordinate {
                x,
                y,
                to: self.to.clone(),
                reason: e.to_string(),
            })?;
        if tx.is_finite() && ty.is_finite() {
            Ok((tx, ty))
        } else {
            Err(CrsError::Coordinate {
                x,
                y,
                to: self.to.clone(),
                reason: "the result is not a finite number".into(),
            })
        }
    }

    /// Transforms every coordinate of a geometry.
    pub fn geometry(&self, g: &Geometry<f64>) -> Result<Geometry<f64>, CrsError> {
        g.try_map_coords(|c| {
            let (x, y) = self.point(c.x, c.y)?;
            Ok(Coord { x, y })
        })
    }
}

/// A CRS definition shortened for messages (WKT can be kilobytes long).
fn short(def: &str) -> String {
    let one_line: String = def.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}...", one_line.chars().take(80).collect::<String>())
    } else {
        one_line
    }
}

/// The coordinate reference systems the API serves (OGC API Features Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Crs {
    /// WGS 84 longitude/latitude (the GeoJSON default).
    Crs84,
    /// WGS 84 with the EPSG axis order: latitude first.
    Epsg4326,
    /// ETRS89 (EPSG:4258), EPSG axis order: latitude first.
    Etrs89,
    /// Amersfoort / RD New, the storage CRS.
    RdNew,
}

impl Crs {
    /// Every supported CRS, default first.
    pub const ALL: [Crs; 4] = [Crs::Crs84, Crs::RdNew, Crs::Epsg4326, Crs::Etrs89];

    /// The OGC URI.
    pub fn uri(self) -> &'static str {
        match self {
            Crs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            Crs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            Crs::Etrs89 => "http://www.opengis.net/def/crs/EPSG/0/4258",
            Crs::RdNew => "http://www.opengis.net/def/crs/EPSG/0/28992",
        }
    }

    /// Parses an OGC URI, also accepting `https`, `EPSG:n` and the safe CURIE `[EPSG:n]`.
    pub fn parse(text: &str) -> Option<Crs> {
        let t = text.trim().trim_start_matches('[').trim_end_matches(']');
        let t = t
            .strip_prefix("https://")
            .map_or_else(|| t.to_string(), |rest| format!("http://{rest}"));
        Crs::ALL.into_iter().find(|c| {
            c.uri() == t
                || match c {
                    Crs::Crs84 => t == "OGC:CRS84" || t == "CRS84",
                    Crs::Epsg4326 => t == "EPSG:4326",
                    Crs::Etrs89 => t == "EPSG:4258",
                    Crs::RdNew => t == "EPSG:28992",
                }
        })
    }

    /// The position of this CRS in per-CRS caches (0..4).
    pub fn slot(self) -> usize {
        match self {
            Crs::Crs84 => 0,
            Crs::Epsg4326 => 1,
            Crs::RdNew => 2,
            Crs::Etrs89 => 3,
        }
    }

    /// True when the CRS's first axis is latitude (EPSG:4326 and EPSG:4258 as EPSG defines
    /// them; CRS84 and RD New put x/longitude first).
    pub fn latitude_first(self) -> bool {
        matches!(self, Crs::Epsg4326 | Crs::Etrs89)
    }
}

/// Web Mercator (EPSG:3857) from longitude/latitude: the spherical formula that defines the CRS.
pub fn mercator(c: Coord<f64>) -> Coord<f64> {
    const R: f64 = 6_378_137.0;
    let lat = c.y.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    Coord {
        x: R * c.x.to_radians(),
        y: R * (std::f64::consts::FRAC_PI_4 + lat / 2.0).tan().ln(),
    }
}

/// Half the width of the Web Mercator world (EPSG:3857), metres: x and y lie in
/// -HALF_WORLD..HALF_WORLD.
pub const WEB_MERCATOR_HALF_WORLD_M: f64 = 20_037_508.342_789_244;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wgs84_to_rd_and_back_is_within_a_millimetre() {
        let to_rd = Transformer::new(WGS84, RD_NEW).unwrap();
        let to_wgs = Transformer::new(RD_NEW, WGS84).unwrap();
        let (x, y) = to_rd.point(5.387204, 52.155172).unwrap();
        assert!(
            (x - 155_000.0).abs() < 0.1 && (y - 463_000.0).abs() < 0.1,
            "{x} {y}"
        );
        let (lon, lat) = to_wgs.point(x, y).unwrap();
        let (x2, y2) = to_rd.point(lon, lat).unwrap();
        assert!((x - x2).abs() < 1e-3 && (y - y2).abs() < 1e-3);
    }

    #[test]
    fn an_unknown_crs_is_a_clear_error() {
        let err = Transformer::new("EPSG:999999", RD_NEW).unwrap_err();
        assert!(err.to_string().contains("EPSG:999999"), "{err}");
    }

    #[test]
    fn crs_names_in_every_accepted_spelling_parse() {
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/28992"),
            Some(Crs::RdNew)
        );
        assert_eq!(Crs::parse("[EPSG:4326]"), Some(Crs::Epsg4326));
        assert_eq!(
            Crs::parse("https://www.opengis.net/def/crs/OGC/1.3/CRS84"),
            Some(Crs::Crs84)
        );
        assert_eq!(Crs::parse("EPSG:3857"), None);
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/4258"),
            Some(Crs::Etrs89)
        );
    }

    #[test]
    fn rd_to_etrs89_goes_through_proj_and_says_whether_rdnaptrans_2018_was_used() {
        let t = Transformer::new(RD_NEW, ETRS89).unwrap();
        let (lon, lat) = t.point(155_000.0, 463_000.0).unwrap();
        // Amersfoort's origin; within a few metres whichever method PROJ picks.
        assert!(
            (lon - 5.3872).abs() < 1e-4 && (lat - 52.1552).abs() < 1e-4,
            "{lon} {lat}"
        );
        if t.uses_rdnaptrans_grid() {
            eprintln!("RDNAPTRANS 2018 grid used: {}", t.method());
        } else {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: {RDNAPTRANS_GRID} not installed, PROJ uses a Helmert transformation (about 1 m): {}",
                t.method()
            );
        }
    }
}
