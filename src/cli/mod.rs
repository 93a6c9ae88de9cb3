//! The command-line interface: argument parsing ([`args`]), dispatch to the use-cases in
//! [`crate::service`], rendering ([`render`]: tables, JSON, reports, the progress bar) and exit
//! codes. `anyhow` lives only here, and so do the hints that name CLI flags: library errors
//! describe the input, and the `*_hint` functions here add what to type. Nothing here writes
//! the store or runs an analysis itself.

pub mod args;
pub mod render;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

pub use args::{AnalysisArgs, Cli, Command, Format, ImportCommand, LevelArg, PointArgs};
use render::{CliProgress, emit};

use crate::ingest::clients::ClientOptions;
use crate::ingest::columns::Mapping;
use crate::ingest::{ImportReport, IngestError, OptionNames};
use crate::service::{self, AnalyseError, DemoError, ExportError, ImportError, Importer};
use crate::store::Store;

/// Runs the binary: parses arguments, runs the command, maps errors to exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BUURTCIRKEL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    // GDAL prints its own errors to stderr; ours already name the file and feature, so GDAL's
    // go to the debug log instead of cluttering reports.
    // The store's handler also keeps each thread's last failure, so a write that fails names
    // its cause (a full disk, a read-only folder) instead of a bare GDAL code.
    crate::store::fault::install_gdal_handler();
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let store = Store::new(&cli.store);
    // What a killed import, analyse or upload left in the store's work folder goes first
    // (when no writer is live; a writer sweeps when it takes the lock).
    let swept = store.sweep_now();
    if swept > 0 {
        tracing::info!(
            swept,
            "removed temporary files left behind by a killed process"
        );
    }
    match cli.command {
        Command::Serve {
            addr,
            config,
            auth,
            web_dir,
            basemap_url,
        } => {
            let mut config = crate::http::config::ServeConfig::load(
                config.as_deref(),
                auth.as_deref(),
                |var| std::env::var(var).ok(),
            )?;
            if web_dir.is_some() {
                config.web_dir = web_dir;
            }
            if let Some(u) = basemap_url.filter(|u| !u.trim().is_empty()) {
                crate::http::config::check_basemap_url(&u).map_err(anyhow::Error::msg)?;
                config.basemap_url = Some(u);
            }
            serve(addr, store, config)
        }
        Command::Demo { out, force } => {
            service::write_demo(&Store::new(&out), force).map_err(demo_hint)?;
            println!("demo data set written to {}", out.display());
            Ok(())
        }
        Command::Analyse {
            params,
            level,
            top,
            format,
            compare_metrics,
        } => {
            let run = service::analyse(&store, &params.request()).map_err(analyse_hint)?;
            let level = level.map_or_else(|| run.default_level(), Into::into);
            emit(&render::analysis(&run, store.path(), level, top, format)?)?;
            if compare_metrics {
                let cmp = service::analyse::compare_metrics(&store, params.params())
                    .map_err(analyse_hint)?;
                emit(&render::comparison(&cmp))?;
            }
            Ok(())
        }
        Command::Export {
            layer,
            out,
            crs,
            params,
        } => {
            let n = service::export(&store, &layer, &out, crs.as_deref(), &params.request())
                .map_err(export_hint)?;
            println!("exported {n} features of {layer} to {out}");
            Ok(())
        }
        Command::Import(cmd) => {
            let progress = CliProgress::new();
            let importer = Importer {
                store: &store,
                progress: &progress,
                name_store: true,
            };
            let report = import(&importer, cmd).map_err(import_hint)?;
            print!("{report}");
            Ok(())
        }
    }
}

/// Dispatches one import to its use-case.
fn import(importer: &Importer<'_>, cmd: ImportCommand) -> Result<ImportReport, ImportError> {
    Ok(match cmd {
        ImportCommand::Areas { path, mapping, crs } => {
            importer.areas(&path, load_mapping(mapping.as_deref())?, crs)?
        }
        ImportCommand::Figures { path, mapping } => {
            importer.figures(&path, &load_mapping(mapping.as_deref())?)?
        }
        ImportCommand::Clients {
            path,
            points,
            group_column,
        } => importer.clients(
            &path,
            &ClientOptions {
                coords: points.coords(),
                group_column,
                skip_invalid: points.skip_invalid,
            },
        )?,
        ImportCommand::Places { path, points } => {
            importer.places(&path, &points.coords(), points.skip_invalid)?
        }
        ImportCommand::Circles { path, points } => {
            importer.circles(&path, &points.coords(), points.skip_invalid)?
        }
        ImportCommand::Streets { path } => importer.streets(&path)?,
        ImportCommand::Grid { path } => importer.grid(&path)?,
    })
}

fn load_mapping(path: Option<&Path>) -> Result<Mapping, IngestError> {
    Ok(match path {
        Some(p) => Mapping::load(p)?,
        None => Mapping::default(),
    })
}

/// The import options as the CLI spells them, for hints.
const FLAGS: OptionNames = OptionNames {
    crs: "--crs ",
    x_column: "--x-column",
    y_column: "--y-column",
    group_column: "--group-column",
    skip_invalid: "--skip-invalid",
    mapping: Some("--mapping"),
};

/// An import error, with what to type where the CLI can help.
fn import_hint(e: ImportError) -> anyhow::Error {
    match e {
        ImportError::Ingest(e) => anyhow::anyhow!(e.with_hint(&FLAGS)),
        e => e.into(),
    }
}

/// An analysis error, with what to type where the CLI can help.
fn analyse_hint(e: AnalyseError) -> anyhow::Error {
    match e {
        AnalyseError::NoStreetNetwork => anyhow::anyhow!(
            "--compare-metrics needs a street network; run `buurtcirkel import streets PATH.osm.pbf` first"
        ),
        e => e.into(),
    }
}

/// An export error, with what to type where the CLI can help.
fn export_hint(e: ExportError) -> anyhow::Error {
    match e {
        ExportError::Analyse(e) => analyse_hint(e),
        e => e.into(),
    }
}

/// A demo error, with what to type where the CLI can help.
fn demo_hint(e: DemoError) -> anyhow::Error {
    match e {
        DemoError::Exists { .. } => anyhow::anyhow!("{e}; use --force to overwrite it"),
        e => e.into(),
    }
}

fn serve(addr: SocketAddr, store: Store, config: crate::http::config::ServeConfig) -> Result<()> {
    if !store.exists() {
        println!(
            "No store at {} yet: writing the built-in demo data set (fictional gemeente Lindenhoeve).",
            store.path().display()
        );
        service::write_demo(&store, false)?;
    } else {
        store.check_schema()?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(crate::http::server::serve(addr, store, config))
        .with_context(|| format!("serving on {addr}"))
}
