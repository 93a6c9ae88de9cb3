//! Spatial indexes: bulk-loaded R-trees over client points and area polygons, in RD New metres.
//!
//! - [`PointIndex`]: points (clients, places) → "which points lie within `r` metres of here?"
//! - [`AreaIndex`]: (multi)polygons (gemeenten, wijken, buurten) → "which area contains this
//!   point?" and "which areas lie within `r` metres of it?"
//!
//! Both answer with positions in the slice they were built from, so callers keep their own
//! records and the index stays a pure lookup structure. Depends only on `geo`, `rstar` and
//! `model`-level geometry types: no files, no clock.

mod areas;
mod points;

pub use areas::AreaIndex;
pub use points::PointIndex;
