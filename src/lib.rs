//! Buurtcirkel Atlas: where can a new Buurtcirkel start?
//!
//! The crate follows the data flow, one room a step:
//!
//! ```text
//! ingest ──> store (GeoPackage) ──> index (R-trees) ──> analysis ──> release ──> http
//! ```
//!
//! - [`model`]: domain types shared by every step (codes, figures, areas, clients, buckets).
//! - [`crs`]: coordinate reference systems: PROJ transformations, the CRSs the API serves and
//!   the Web Mercator formula.
//! - [`ingest`]: reads foreign files (CBS areas and key figures, clients, places, circles)
//!   through GDAL, validates them, reprojects them to RD New with PROJ and reports what it did.
//! - [`store`]: the one GeoPackage file; every write is write-new-then-rename, so a failed
//!   import never changes what was stored before.
//! - [`index`]: R-trees over clients and area polygons, bulk-loaded.
//! - [`analysis`]: walking-distance clusters, candidate circle sites, the publication grid and
//!   suitability scores, in memory, on an immutable snapshot.
//! - [`release`]: everything that may leave the process: the layer projection and privacy rules,
//!   the published collections and their caches, GeoJSON and MVT encoding, GDAL exports. The one
//!   choke point the privacy rules are applied at.
//! - [`http`]: the axum service (OGC API Features and Tiles, the web map's endpoints, uploads,
//!   limits, metrics); it parses and checks requests and maps errors to problem details.
//! - [`service`]: the use-cases the CLI and the upload endpoint share: one import per kind of
//!   file (read, change the store all-or-nothing, log, return the report), the demo data set,
//!   `analyse` (parameters and weights checked before the clustering, the walking metric
//!   picked once, results written, ranking returned) and `export`. No clap, no axum, no
//!   printing; its errors describe the input and the edges add their own hints.
//! - [`demo`]: the deterministic built-in demo data set.
//! - [`cli`]: the binary's edge: argument parsing, dispatch and rendering.
//!
//! # Dependency rule
//! Dependencies point one way, along the flow. Each room may use only the rooms listed after
//! it (`tests/layout.rs` reads every file and fails when one breaks this, or when files import
//! each other in a loop):
//!
//! ```text
//! model    -> (nothing of ours)
//! crs      -> model
//! index    -> model
//! ingest   -> crs, model
//! store    -> crs, model
//! analysis -> index, model
//! release  -> analysis, index, store, crs, model
//! service  -> ingest, store, analysis, release, index, crs, model, demo
//! http     -> service, release, analysis, store, ingest, crs, model, index
//! demo     -> model, crs
//! cli      -> anything
//! ```
//!
//! `analysis` never touches files, GDAL, tokio or the clock. `http` uses `ingest` only while the
//! upload endpoint still needs it. Nothing imports `http` or `cli`, except `cli` starting the
//! server.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod cli;
pub mod crs;
pub mod demo;
pub mod http;
pub mod index;
pub mod ingest;
pub mod model;
pub mod release;
pub mod service;
pub mod store;
