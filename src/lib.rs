//! Buurtcirkel Atlas: where can a new Buurtcirkel start?
//!
//! The crate follows the data flow, one module a step:
//!
//! ```text
//! ingest ──> store (GeoPackage) ──> index (R-trees) ──> analysis ──> publish (HTTP)
//! ```
//!
//! - [`model`]: domain types shared by every step (codes, figures, areas, clients, buckets).
//! - [`ingest`]: reads foreign files (CBS areas and key figures, clients, places, circles)
//!   through GDAL, validates them, reprojects them to RD New with PROJ and reports what it did.
//! - [`store`]: the one GeoPackage file; every write is write-new-then-rename, so a failed
//!   import never changes what was stored before.
//! - [`index`]: R-trees over clients and area polygons, bulk-loaded.
//! - [`analysis`]: walking-distance clusters, candidate circle sites and suitability scores,
//!   in memory, on an immutable snapshot.
//! - [`publish`]: the HTTP service (OGC API Features) and exports at the edge, where RD New is
//!   converted to CRS84 and where the privacy rules are applied.
//! - [`demo`]: the deterministic built-in demo data set.
//! - [`crs`]: coordinate reference systems and PROJ transformations.
//!
//! # Dependency rule
//! Dependencies point one way, along the flow. `publish` may use `analysis`, `index`, `store`,
//! `crs` and `model`, and `ingest` for the admin upload endpoint (the same validation as the
//! CLI); `ingest` may use `crs` and `model`; `store` may use `model` and `crs`;
//! `analysis` uses only `index` and `model` and never touches files, GDAL, tokio or the clock;
//! `index` uses only `model`. Nothing imports `publish`, and `model` imports nothing of ours.
//! Only `cli` (the binary's edge) ties the steps together.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod cli;
pub mod crs;
pub mod demo;
pub mod index;
pub mod ingest;
pub mod model;
pub mod publish;
pub mod service;
pub mod store;
