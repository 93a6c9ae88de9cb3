//! Release: everything that may leave the process, and the one choke point the privacy rules
//! are applied at. What a collection holds is decided in [`layers`]; the rest only converts and
//! encodes what that module returns.
//!
//! - [`layers`]: the layer projection and the privacy rules (which fields, which buckets).
//! - [`dataset`]: the store snapshot and the published collections per parameter set, cached.
//! - [`collection`] and [`geojson`]: published features and their GeoJSON text per CRS.
//! - [`tiles`]: the MVT encoder and the tile cache (Web Mercator).
//! - [`export`]: GDAL exports of a published layer (GeoPackage, GeoJSON, CSV, PostGIS).
//!
//! Inputs: store snapshots (RD New, metres) and analysis results. Outputs: published tables,
//! GeoJSON text, MVT bytes and files. May use `analysis`, `index`, `store`, `crs` and `model`;
//! must not depend on `http`, `service` or `cli` (no axum, no status codes).

pub mod collection;
pub mod dataset;
pub mod export;
pub mod geojson;
pub mod layers;
pub mod tiles;
