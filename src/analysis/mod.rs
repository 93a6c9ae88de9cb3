//! Analysis: walking-distance clusters of clients, candidate circle sites and suitability
//! scores, computed in memory on an immutable snapshot.
//!
//! Inputs are RD New (EPSG:28992) metres. This module must not touch files, GDAL, tokio or the
//! clock: it is pure computation, so tests and benchmarks call it directly.

pub mod cellkey;
pub mod cluster;
pub mod estimate;
pub mod generalise;
pub mod grid;
pub mod metric;
pub mod network;
pub mod region;
pub mod run;
pub mod score;
pub mod sites;
pub mod stability;
pub mod union_find;
pub mod weights;
