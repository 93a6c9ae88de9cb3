//! The HTTP service (axum only): OGC API Features and Tiles under `/ogc/v1`, the web-map
//! endpoints under `/api/v1`, the upload endpoint, the web map itself, `/health` and `/metrics`.
//! Requests become validated parameters here; what may be published comes from
//! [`crate::release`], and domain errors become RFC 9457 problems in [`problem`].
//!
//! - [`server`]: the router, its layers and the server loop; [`state`]: the shared state.
//! - [`query`]: query parsing and the validated analysis parameters of a request, built once.
//! - One file per OGC building block: [`landing`] (landing page, conformance, API),
//!   [`collections`], [`features`] (items and item) with [`filter`] (CQL2 text), [`tiles`],
//!   [`openapi`] (the document).
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
pub mod filter;
mod html;
pub mod imports;
pub mod landing;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod problem;
pub mod query;
pub mod ratelimit;
mod respond;
pub mod server;
pub mod state;
pub mod tiles;
pub mod web;

pub use state::{AppState, ReloadError, reload};

/// The API version, sent in the `API-Version` header of every response. Semver with the
/// major version of the `/v1` in the paths (Dutch API Design Rules, `/core/version-header`).
pub const API_VERSION: &str = "1.0.0";

/// Who answers questions about the API (OpenAPI `info.contact`, ADR `/core/doc-openapi-contact`).
pub const CONTACT_NAME: &str = "Buurtcirkel Atlas, beheer";
/// The contact's e-mail address.
pub const CONTACT_EMAIL: &str = "atlas@buurtcirkel.nl";
/// The contact's web page.
pub const CONTACT_URL: &str = "https://www.buurtcirkel.nl";

/// The licence of the published data (CBS and Kadaster publish under CC BY 4.0).
pub const LICENSE_URL: &str = "https://creativecommons.org/licenses/by/4.0/deed.nl";
/// The licence's name.
pub const LICENSE_NAME: &str = "CC BY 4.0";
/// The attribution CC BY asks for: the sources of the area data.
pub const ATTRIBUTION: &str = "Bron: CBS, Kadaster";
