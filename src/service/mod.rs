//! Service: the use-cases the CLI and the upload endpoint share: import a file of each kind,
//! write the demo data set, run the analysis and export a published layer.
//!
//! Each use-case reads (through `ingest` or the store), changes the store in one
//! all-or-nothing [`Store::apply`](crate::store::Store::apply) with its import-log entry, and
//! returns what happened as data (an [`ImportReport`](crate::ingest::ImportReport), an
//! [`analyse::Analysed`]); nothing here prints, parses arguments or speaks HTTP. Errors are
//! typed per use-case and describe the input, never a CLI flag or query parameter: the CLI and
//! the HTTP layer add their own hint on top.
//!
//! Inputs: paths to foreign files and options (CRS, columns, mapping); a store. Geometry stays
//! in RD New metres. Uses `ingest`, `store`, `analysis`, `publish` (layers and exports: what
//! may leave the process), `index`, `model` and `demo`; never clap, axum or tokio.

pub mod analyse;
pub mod imports;

pub use analyse::{AnalyseError, Analysed, AnalysisRequest, ExportError, analyse, export};
pub use imports::{DemoError, ImportError, Importer, write_demo};
