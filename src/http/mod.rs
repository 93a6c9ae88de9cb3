//! The HTTP service (axum only): OGC API Features and Tiles under `/ogc/v1`, the web-map
//! endpoints under `/api/v1`, the upload endpoint, the web map itself, `/health` and `/metrics`.
//! Requests become validated parameters here; what may be published comes from
//! [`crate::release`], and domain errors become RFC 9457 problems in [`problem`].
//!
//! - [`server`]: the router, its layers and the server loop; [`state`]: the shared state.
//! - [`query`]: query parsing and the validated analysis parameters of a request, built once.
//! - One file per OGC building block: [`landing`] (landing page, conformance, API),
//!   [`collections`], [`features`] (items and item), [`tiles`], [`openapi`] (the document).
//! - [`api`] and [`web`]: the web map's endpoints and files; [`imports`]: uploads for admins.
//! - [`middleware`] (time limit, request metrics), [`metrics`], [`config`], [`problem`],
//!   `html`, `respond`.
//!
//! May use `service`, `release`, `analysis`, `store`, `crs`, `model`, `index`, and `ingest`
//! while the upload endpoint still needs it; nothing imports `http` (except `cli` starting the
//! server).

pub mod api;
pub mod collections;
pub mod config;
pub mod features;
mod html;
pub mod imports;
pub mod landing;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod query;
mod respond;
pub mod server;
pub mod state;
pub mod tiles;
pub mod web;

pub use state::{AppState, ReloadError, reload};

/// The API version, sent in the `API-Version` header of every response.
pub const API_VERSION: &str = "0.1.0";
