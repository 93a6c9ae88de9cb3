//! The publication grid: the 100 m grid, offset half a client cell from the 25 m client grid,
//! that every published cluster vertex and site centre is snapped to (docs/privacy.md, "Outlines").
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

/// Side, metres, of the coarse public grid whose cells published cluster outlines and site
/// centres are made of (docs/privacy.md, "Outlines"). Its cell edges lie at `250·k + 12.5` m,
/// on the publication grid's offset, so no edge or centre is ever a client's 25 m node.
pub const COARSE_CELL_M: f64 = 250.0;

/// The coarse cell `(column, row)` that holds a position, RD metres.
///
/// # Examples
/// ```
/// use buurtcirkel::analysis::grid::{coarse_cell, coarse_cell_centre};
/// assert_eq!(coarse_cell(12.6, 262.0), (0, 0));
/// assert_eq!(coarse_cell(12.4, 262.6), (-1, 1));
/// assert_eq!(coarse_cell_centre((0, 1)), (137.5, 387.5));
/// ```
pub fn coarse_cell(x: f64, y: f64) -> (i64, i64) {
    let index = |v: f64| ((v - PUBLISH_GRID_OFFSET_M) / COARSE_CELL_M).floor() as i64;
    (index(x), index(y))
}

/// The south-west corner of a coarse cell, RD metres.
pub fn coarse_cell_origin(cell: (i64, i64)) -> (f64, f64) {
    let at = |i: i64| i as f64 * COARSE_CELL_M + PUBLISH_GRID_OFFSET_M;
    (at(cell.0), at(cell.1))
}

/// The centre of a coarse cell, RD metres: `250·k + 137.5`, 12.5 m off every client node.
pub fn coarse_cell_centre(cell: (i64, i64)) -> (f64, f64) {
    let (x, y) = coarse_cell_origin(cell);
    (x + COARSE_CELL_M / 2.0, y + COARSE_CELL_M / 2.0)
}
