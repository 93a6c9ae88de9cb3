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
//! - [`service`]: the use-cases the CLI and the upload endpoint share: one import per kind of
//!   file (read, change the store all-or-nothing, log, return the report), the demo data set,
//!   `analyse` (parameters and weights checked before the clustering, the walking metric
//!   picked once, results written, ranking returned) and `export`. No clap, no axum, no
//!   printing; its errors describe the input and the edges add their own hints.
//! - [`cli`]: the binary's edge: clap arguments, dispatch to `service`, rendering (tables,
//!   JSON, reports, progress bar), hints that name flags, exit codes.
//! - [`demo`]: the deterministic built-in demo data set.
//! - [`crs`]: coordinate reference systems and PROJ transformations.
//!
//! # Dependency rule
//! Dependencies point one way, along the flow. `publish` may use `analysis`, `index`, `store`,
//! `crs` and `model`, and `ingest` for the admin upload endpoint (the same validation as the
//! CLI); `ingest` may use `crs` and `model`; `store` may use `model` and `crs`;
//! `analysis` uses only `index` and `model` and never touches files, GDAL, tokio or the clock;
//! `index` uses only `model`. `service` uses `ingest`, `store`, `analysis`, `publish` (layers
//! and exports), `index`, `model` and `demo`, and neither clap nor axum; the upload endpoint in
//! `publish` calls `service`. Nothing else imports `publish`, nothing imports `cli`, and
//! `model` imports nothing of ours. `cli` (the binary's edge) parses, dispatches to `service`
//! and renders.
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
