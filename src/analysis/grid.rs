//! The publication grid: the 100 m grid, offset half a client cell from the 25 m client grid,
//! that every published cluster vertex and site centre is snapped to (DESIGN.md, rule 4).
//!
//! Input: RD New coordinates (EPSG:28992), metres. Output: the same, on the grid.
//! Shared by the site search, the street network and the generalisation, so none of them has to
//! import another for one constant. Touches no files, GDAL, tokio or the clock; uses only
//! `model`.

use crate::model::snap;

/// The publication grid, metres: every published cluster vertex and site centre lies on it.
pub const PUBLISH_GRID_M: f64 = 100.0;

/// The publication grid's nodes sit at `100·k + 12.5` m, half a client grid cell off the 25 m
/// grid that client locations are snapped to on ingest. So no published vertex or centre can
/// ever coincide with a client's (snapped) home, whoever lives there.
pub const PUBLISH_GRID_OFFSET_M: f64 = crate::model::CLIENT_SNAP_M / 2.0;

/// Snaps a coordinate to the nearest node of the publication grid.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::grid::snap_to_publish_grid;
/// assert_eq!(snap_to_publish_grid(155_040.0), 155_012.5);
/// assert_eq!(snap_to_publish_grid(155_070.0), 155_112.5);
/// ```
pub fn snap_to_publish_grid(v: f64) -> f64 {
    snap(v - PUBLISH_GRID_OFFSET_M, PUBLISH_GRID_M) + PUBLISH_GRID_OFFSET_M
}

/// True when a coordinate lies on the publication grid.
pub fn on_publish_grid(v: f64) -> bool {
    ((v - PUBLISH_GRID_OFFSET_M) / PUBLISH_GRID_M).fract() == 0.0
}
