//! The command-line interface: argument parsing, wiring the steps of the data flow together,
//! reports on the terminal, and errors mapped to exit codes (`anyhow` lives only here).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::ingest::areas::{AreaOptions, read_areas};
use crate::ingest::columns::Mapping;
use crate::ingest::figures::read_figures;
use crate::ingest::{ImportReport, Progress};
use crate::model::Level;
use crate::store::{Change, ImportLog, Store};

/// Buurtcirkel Atlas: where can a new Buurtcirkel start?
///
/// Imports CBS wijk- and buurtkaart data and anonymised client locations into a GeoPackage
/// store, and serves the result as OGC API Features and a web map.
#[derive(Debug, Parser)]
#[command(name = "buurtcirkel", version, about, long_about)]
pub struct Cli {
    /// The GeoPackage store.
    #[arg(
        long,
        global = true,
        env = "BUURTCIRKEL_STORE",
        default_value = "data/buurtcirkel.gpkg"
    )]
    pub store: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the web map. With no store yet, writes the demo data set into it first.
    Serve {
        /// Address and port to listen on.
        #[arg(long, env = "BUURTCIRKEL_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Server configuration (TOML: public_url, cors_origins, body_limit_mb,
        /// request_timeout_s, web_dir, basemap_url, basemap_attribution, `[auth]`); see
        /// docs/api.md and docs/web.md. BUURTCIRKEL_PUBLIC_URL,
        /// BUURTCIRKEL_CORS_ORIGINS, BUURTCIRKEL_BODY_LIMIT_MB, BUURTCIRKEL_REQUEST_TIMEOUT_S and
        /// BUURTCIRKEL_READ_ROLE override it.
        #[arg(long, env = "BUURTCIRKEL_CONFIG")]
        config: Option<PathBuf>,
        /// Roles and hashed bearer tokens (TOML, as config/auth.example.toml); replaces the
        /// `[auth]` table of --config. Without it reading is public and nobody may import.
        #[arg(long, env = "BUURTCIRKEL_AUTH")]
        auth: Option<PathBuf>,
        /// The web map's folder (index.html, and MapLibre from `npm ci` in its node_modules).
        /// Default: web/ in the working directory, else web/ of the source tree.
        #[arg(long, env = "BUURTCIRKEL_WEB_DIR")]
        web_dir: Option<PathBuf>,
        /// Background map for the web map: an XYZ raster tile URL with {z}, {x} and {y}, e.g.
        /// PDOK's BRT-Achtergrondkaart (see docs/web.md). Default: none, a plain background,
        /// and the page contacts no other host.
        #[arg(long, env = "BUURTCIRKEL_BASEMAP_URL")]
        basemap_url: Option<String>,
    },
    /// Import a file into the store: print a report, exit non-zero on error. A failed import
    /// leaves the store as it was.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Run the analysis: walking-distance clusters, candidate circle sites and suitability
    /// scores. Prints the ranked areas and writes the results to the store (layers
    /// resultaat_gemeenten, resultaat_wijken, resultaat_buurten, resultaat_clusters,
    /// resultaat_sites), which QGIS can open.
    Analyse {
        /// Analysis parameters and weights.
        #[command(flatten)]
        params: AnalysisArgs,
        /// Which level to list (default: buurten when the store has them, else wijken).
        #[arg(long, value_parser = ["gemeenten", "wijken", "buurten"])]
        level: Option<String>,
        /// How many areas to list (0 = all).
        #[arg(long, default_value_t = 25)]
        top: usize,
        /// Output format.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Also cluster by straight-line distance and list the clusters that split or merge
        /// between straight-line and street distance (needs `import streets`). Ids and counts
        /// only, never locations.
        #[arg(long)]
        compare_metrics: bool,
    },
    /// Export a published layer through GDAL: .gpkg, .geojson/.json (CRS84), .csv (WKT
    /// geometry) or a PG: connection string for PostGIS. Exactly what the API publishes:
    /// client locations are never exported.
    Export {
        /// gemeenten, wijken, buurten, clusters, sites, places or circles.
        layer: String,
        /// Output file or PG:"dbname=... host=..." connection string.
        #[arg(long)]
        out: String,
        /// CRS of the output (default EPSG:28992; GeoJSON is always CRS84).
        #[arg(long)]
        crs: Option<String>,
        /// Analysis parameters and weights.
        #[command(flatten)]
        params: AnalysisArgs,
    },
    /// Write the built-in demo data set (a fictional gemeente) as a new store.
    Demo {
        /// Where to write the store.
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// CBS gemeenten, wijken and/or buurten from any GDAL vector source (GeoPackage, shapefile,
    /// GeoJSON, ...). Each level in the file replaces that level in the store; other levels stay.
    Areas {
        /// The file to import.
        path: PathBuf,
        /// TOML file mapping canonical fields to columns, for schemas the presets do not know
        /// (see docs/columns.md).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// CRS of the data, e.g. EPSG:4326: needed for layers without one, and overrides a
        /// CRS the file declares wrongly.
        #[arg(long)]
        crs: Option<String>,
    },
    /// A CBS key-figure table ("Kerncijfers wijken en buurten", CSV or XLSX), joined to the
    /// stored areas on the area code. Unmatched codes are listed.
    Figures {
        /// The file to import.
        path: PathBuf,
        /// TOML file mapping canonical fields to columns (see docs/columns.md).
        #[arg(long)]
        mapping: Option<PathBuf>,
    },
    /// Anonymised client locations (CSV, GeoJSON or any GDAL point layer). Only the location,
    /// snapped to a 25 m grid, and the target group (ggz, lvb, ouderen, nieuwkomers, else
    /// overig) are stored; every other column is dropped and listed. Replaces the previous
    /// client set. One bad row fails the import unless --skip-invalid is given.
    Clients {
        /// The file to import.
        path: PathBuf,
        /// Coordinate columns, CRS and bad-row handling.
        #[command(flatten)]
        points: PointArgs,
        /// Column with the target group (default: doelgroep, target_group or groep).
        #[arg(long)]
        group_column: Option<String>,
    },
    /// Meeting places (wijkcentrum, bibliotheek, kerk, ...) with a name (naam) and a kind
    /// (soort). Replaces the previous set.
    Places {
        /// The file to import.
        path: PathBuf,
        /// Coordinate columns, CRS and bad-row handling.
        #[command(flatten)]
        points: PointArgs,
    },
    /// CBS square statistics (vierkantstatistieken, 100 m or 500 m, column aantal_inwoners)
    /// for the estimate of participants within walking distance. Replaces the previous grid.
    Grid {
        /// The file to import (e.g. a CBS vierkant100m GeoPackage).
        path: PathBuf,
    },
    /// Existing Buurtcirkels, as points (their meeting place) or areas (the streets they
    /// serve), with a name (naam). Replaces the previous set.
    Circles {
        /// The file to import.
        path: PathBuf,
        /// Coordinate columns, CRS and bad-row handling.
        #[command(flatten)]
        points: PointArgs,
    },
    /// An OpenStreetMap extract (.osm.pbf) as the walking network: ways a pedestrian may use,
    /// split at junctions, in RD New. Replaces the previous network; from then on the
    /// analysis measures walking distance along these streets (see docs/network.md).
    Streets {
        /// The .osm.pbf file to import.
        path: PathBuf,
    },
}

/// The parameters results depend on.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalysisArgs {
    /// Walking distance in metres (about 10 minutes on foot at 800).
    #[arg(long, default_value_t = crate::analysis::run::DEFAULT_WALK_M)]
    walk_m: f64,
    /// Minimum participants for a cluster and a candidate site (a circle starts at 5).
    #[arg(long, default_value_t = crate::analysis::run::DEFAULT_MIN_PARTICIPANTS)]
    min_participants: usize,
    /// Weights file (TOML, as config/weights.toml); default: the documented defaults.
    #[arg(long)]
    weights: Option<PathBuf>,
}

impl AnalysisArgs {
    fn params(&self) -> crate::analysis::run::Params {
        crate::analysis::run::Params {
            walk_m: self.walk_m,
            min_participants: self.min_participants,
        }
    }

    fn weights(&self) -> Result<crate::analysis::weights::Weights> {
        match &self.weights {
            None => Ok(crate::analysis::weights::Weights::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading weights file {}", p.display()))?;
                crate::analysis::weights::Weights::from_toml_str(&text)
                    .with_context(|| format!("weights file {}", p.display()))
            }
        }
    }
}

/// Where point tables keep their coordinates.
#[derive(Debug, clap::Args)]
pub struct PointArgs {
    /// Column with the easting or longitude (default: x, then lon/lng/longitude).
    #[arg(long)]
    x_column: Option<String>,
    /// Column with the northing or latitude (default: y, then lat/latitude).
    #[arg(long)]
    y_column: Option<String>,
    /// CRS of the coordinates (default: EPSG:28992 for x/y, EPSG:4326 for lon/lat, else the
    /// layer's own).
    #[arg(long)]
    crs: Option<String>,
    /// Import the good rows and report the bad ones, instead of importing nothing.
    #[arg(long)]
    skip_invalid: bool,
}

impl PointArgs {
    fn coords(&self) -> crate::ingest::points::CoordOptions {
        crate::ingest::points::CoordOptions {
            x_column: self.x_column.clone(),
            y_column: self.y_column.clone(),
            crs: self.crs.clone(),
        }
    }
}

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
    gdal::config::set_error_handler(|class, code, msg| {
        tracing::debug!(?class, code, msg, "gdal");
    });
}

/// Runs one command.
pub fn run(cli: Cli) -> Result<()> {
    let store = Store::new(&cli.store);
    match cli.command {
        Command::Serve {
            addr,
            config,
            auth,
            web_dir,
            basemap_url,
        } => {
            let mut config = crate::publish::config::ServeConfig::load(
                config.as_deref(),
                auth.as_deref(),
                |var| std::env::var(var).ok(),
            )?;
            if web_dir.is_some() {
                config.web_dir = web_dir;
            }
            if let Some(u) = basemap_url.filter(|u| !u.trim().is_empty()) {
                crate::publish::config::check_basemap_url(&u).map_err(anyhow::Error::msg)?;
                config.basemap_url = Some(u);
            }
            serve(addr, store, config)
        }
        Command::Demo { out, force } => {
            if out.exists() && !force {
                bail!(
                    "{} exists already; use --force to overwrite it",
                    out.display()
                );
            }
            if out.exists() {
                std::fs::remove_file(&out)
                    .with_context(|| format!("removing {}", out.display()))?;
            }
            write_demo(&Store::new(&out))?;
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
            analyse(&store, &params, level.as_deref(), top, &format)?;
            if compare_metrics {
                emit(&compare_metrics_report(&store, &params)?)?;
            }
            Ok(())
        }
        Command::Export {
            layer,
            out,
            crs,
            params,
        } => {
            if layer == "clients" {
                bail!(
                    "client locations are never exported (privacy rule 1); export clusters or sites, which are generalised"
                );
            }
            let data = store.load()?;
            let analysis = run_analysis(&data, &params)?;
            let scores = analysis.prepared.score_with_stability(&params.weights()?);
            let table = crate::publish::layers::build(&layer, &data, &analysis, &scores)
                .with_context(|| {
                    format!(
                        "unknown layer '{layer}'; expected one of {}",
                        crate::publish::layers::COLLECTIONS.join(", ")
                    )
                })?;
            let n = crate::publish::export::export(&table, &out, crs.as_deref())?;
            println!("exported {n} features of {layer} to {out}");
            Ok(())
        }
        Command::Import(ImportCommand::Areas { path, mapping, crs }) => {
            let opts = AreaOptions {
                mapping: load_mapping(mapping.as_deref())?,
                assume_crs: crs,
            };
            let progress = CliProgress::new();
            let import = read_areas(&path, &opts, &progress)?;
            let mut levels: Vec<Level> = import.areas.iter().map(|a| a.level()).collect();
            levels.sort();
            levels.dedup();
            let mut report = import.report;
            let kept: Vec<String> = Level::ALL
                .iter()
                .filter(|l| !levels.contains(l))
                .map(|l| l.collection().to_string())
                .collect();
            report.notes.push(format!(
                "store {}: replaced {}{}",
                store.path().display(),
                levels
                    .iter()
                    .map(|l| l.collection())
                    .collect::<Vec<_>>()
                    .join(", "),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!("; kept {}", kept.join(", "))
                }
            ));
            let log = log_entry(&report);
            store.apply(&Change {
                areas: Some((levels, import.areas)),
                log: vec![log],
                ..Default::default()
            })?;
            print!("{report}");
            Ok(())
        }
        Command::Import(ImportCommand::Clients {
            path,
            points,
            group_column,
        }) => {
            let opts = crate::ingest::clients::ClientOptions {
                coords: points.coords(),
                group_column,
                skip_invalid: points.skip_invalid,
            };
            let import = crate::ingest::clients::read_clients(&path, &opts)?;
            let log = log_entry(&import.report);
            store.apply(&Change {
                clients: Some(import.clients),
                log: vec![log],
                ..Default::default()
            })?;
            print!("{}", import.report);
            Ok(())
        }
        Command::Import(ImportCommand::Grid { path }) => {
            let import = crate::ingest::grid::read_grid(&path)?;
            let log = log_entry(&import.report);
            store.apply(&Change {
                grid: Some(import.cells),
                log: vec![log],
                ..Default::default()
            })?;
            print!("{}", import.report);
            Ok(())
        }
        Command::Import(ImportCommand::Places { path, points }) => {
            let (places, report) =
                crate::ingest::clients::read_places(&path, &points.coords(), points.skip_invalid)?;
            store.apply(&Change {
                places: Some(places),
                log: vec![log_entry(&report)],
                ..Default::default()
            })?;
            print!("{report}");
            Ok(())
        }
        Command::Import(ImportCommand::Circles { path, points }) => {
            let (circles, report) =
                crate::ingest::clients::read_circles(&path, &points.coords(), points.skip_invalid)?;
            store.apply(&Change {
                circles: Some(circles),
                log: vec![log_entry(&report)],
                ..Default::default()
            })?;
            print!("{report}");
            Ok(())
        }
        Command::Import(ImportCommand::Streets { path }) => import_streets(&store, &path),
        Command::Import(ImportCommand::Figures { path, mapping }) => {
            let mapping = load_mapping(mapping.as_deref())?;
            let progress = CliProgress::new();
            let import = read_figures(&path, &mapping, &progress)?;
            let data = store.load()?;
            let joined = import.join(data.areas).map_err(|e| {
                anyhow::anyhow!(
                    "{}: none of its {} area codes matches an area in the store {} (e.g. {}); import the areas first; the store is unchanged",
                    path.display(),
                    e.codes,
                    store.path().display(),
                    e.examples
                )
            })?;
            let (levels, areas, report) = (joined.levels, joined.areas, joined.report);
            let log = log_entry(&report);
            store.apply(&Change {
                areas: Some((levels, areas)),
                log: vec![log],
                ..Default::default()
            })?;
            print!("{report}");
            Ok(())
        }
    }
}

/// Runs the analysis on `data`: along the stored street network when there is one, else by
/// straight line.
fn run_analysis(
    data: &crate::store::StoreData,
    args: &AnalysisArgs,
) -> Result<crate::analysis::run::Analysis> {
    let inputs = crate::analysis::run::Inputs {
        areas: &data.areas,
        clients: &data.clients,
        places: &data.places,
        circles: &data.circles,
    };
    let network = data
        .streets
        .as_ref()
        .map(|lines| crate::analysis::network::StreetNetwork::from_lines(lines.iter().cloned()));
    let (grid, model) = (&data.grid, args.weights()?);
    let analysis = match &network {
        Some(net) => crate::analysis::run::analyse_with(net, inputs, grid, &model, args.params()),
        None => crate::analysis::run::analyse_with(
            &crate::analysis::metric::StraightLine,
            inputs,
            grid,
            &model,
            args.params(),
        ),
    }
    .map_err(|e| anyhow::anyhow!(e))?;
    Ok(analysis)
}

/// `println!` into a `String` (formatting into a String cannot fail).
macro_rules! outln {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Writes command output to stdout; a reader that stops early (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn analyse(
    store: &Store,
    args: &AnalysisArgs,
    level: Option<&str>,
    top: usize,
    format: &str,
) -> Result<()> {
    let data = store.load()?;
    if data.areas.is_empty() {
        bail!(
            "the store {} has no areas; import areas first",
            store.path().display()
        );
    }
    let t = std::time::Instant::now();
    let analysis = run_analysis(&data, args)?;
    let scores = analysis.prepared.score_with_stability(&args.weights()?);
    let elapsed = t.elapsed();
    let level = match level {
        Some(l) => Level::from_collection(l).unwrap_or(Level::Buurt),
        None if data.areas.iter().any(|a| a.level() == Level::Buurt) => Level::Buurt,
        None => Level::Wijk,
    };
    let mut results = Vec::new();
    for name in crate::publish::layers::COLLECTIONS {
        if matches!(name, "places" | "circles") {
            continue;
        }
        if let Some(t) = crate::publish::layers::build(name, &data, &analysis, &scores) {
            results.push(t);
        }
    }
    let s = &analysis.summary;
    store.apply(&Change {
        results: Some(results),
        log: vec![ImportLog::new(
            "analysis",
            format!(
                "walk_m={} min_participants={} weights={} metric={}",
                args.walk_m,
                args.min_participants,
                args.weights
                    .as_ref()
                    .map_or_else(|| "default".into(), |p| p.display().to_string()),
                s.metric
            ),
            None,
            scores.len(),
        )],
        ..Default::default()
    })?;

    let mut ranked: Vec<(usize, &crate::analysis::score::AreaScore)> = scores
        .iter()
        .enumerate()
        .filter(|(_, sc)| sc.level == level && sc.score.is_some())
        .collect();
    ranked.sort_by(|a, b| a.1.list_cmp(b.1).then_with(|| a.1.code.cmp(b.1.code)));
    if top > 0 {
        ranked.truncate(top);
    }
    let area_of = |k: usize| &data.areas[analysis.area_order[k]];
    let mut out = String::new();
    if format == "json" {
        let rows: Vec<serde_json::Value> = ranked
            .iter()
            .map(|(k, sc)| {
                serde_json::json!({
                    "code": sc.code.as_str(),
                    "naam": area_of(*k).name,
                    "score": sc.score,
                    "categorie": sc.category.map(|c| c.label()),
                    "rang": sc.rank,
                    "rang_van": sc.rank_of,
                    "deelnemers": analysis.participants[analysis.area_order[*k]].map(|b| b.label()),
                    "toelichting": sc.explanation,
                })
            })
            .collect();
        outln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "parameters": {"walk_m": args.walk_m, "min_participants": args.min_participants},
                "metric": s.metric,
                "level": level.collection(),
                "areas": rows,
            }))?
        );
        return emit(&out);
    }
    outln!(
        out,
        "analysis: {} clients, {} in {} walking-distance clusters, {} candidate sites for {} participants ({} metric, walk {} m, min {}), {} ms",
        s.clients,
        s.clustered,
        s.clusters,
        s.sites,
        s.in_sites,
        s.metric,
        args.walk_m,
        args.min_participants,
        elapsed.as_millis()
    );
    outln!(
        out,
        "published: {} clusters and {} sites (generalised); results written to {}",
        analysis.published.clusters.len(),
        analysis.published.sites.len(),
        store.path().display()
    );
    if s.clients == 0 {
        outln!(
            out,
            "note: no client data in the store; areas are ranked on the other criteria only"
        );
    }
    outln!(out);
    outln!(
        out,
        "{:>4}  {:<10}  {:<24} {:>5}  {:<10}  {:<5}  top reasons",
        "rank",
        "code",
        "naam",
        "score",
        "categorie",
        "deeln"
    );
    for (k, sc) in ranked {
        let name: String = area_of(k).name.chars().take(24).collect();
        outln!(
            out,
            "{:>4}  {:<10}  {:<24} {:>5.1}  {:<10}  {:<5}  {}",
            sc.rank.map_or_else(|| "-".into(), |r| r.to_string()),
            sc.code.as_str(),
            name,
            sc.score.unwrap_or(0.0),
            sc.category.map_or("-", |c| c.label()),
            analysis.participants[analysis.area_order[k]].map_or("-", |b| b.label()),
            sc.explanation.top_reasons().join("; ")
        );
    }
    emit(&out)
}

/// The stored street network, if streets were imported.
fn load_network(store: &Store) -> Result<Option<crate::analysis::network::StreetNetwork>> {
    Ok(store
        .load_streets()?
        .filter(|l| !l.is_empty())
        .map(crate::analysis::network::StreetNetwork::from_lines))
}

/// `import streets`: reads the extract, reports the graph, stores the pieces.
fn import_streets(store: &Store, path: &Path) -> Result<()> {
    use crate::analysis::network::{FAR_FROM_STREET_M, StreetNetwork};
    let t = std::time::Instant::now();
    let import = crate::ingest::streets::read_streets(path)?;
    let net = StreetNetwork::from_lines(import.lines_rd.iter().cloned());
    let mut report = import.report;
    report.notes.push(format!(
        "graph: {} nodes, {} edges, {:.1} km of street, {} connected components",
        net.node_count(),
        net.edge_count(),
        net.total_length_m() / 1_000.0,
        net.component_count()
    ));
    let clients: Vec<geo_types::Point<f64>> = if store.exists() {
        store
            .load()?
            .clients
            .iter()
            .map(|c| c.position_rd)
            .collect()
    } else {
        Vec::new()
    };
    if clients.is_empty() {
        report
            .notes
            .push("no clients stored yet: street coverage of clients not checked".into());
    } else {
        let far = net.count_far_from_street(&clients, FAR_FROM_STREET_M);
        let line = format!(
            "{far} of {} stored clients ({:.1}%) are more than {FAR_FROM_STREET_M} m from any street",
            clients.len(),
            100.0 * far as f64 / clients.len() as f64
        );
        if far * 10 > clients.len() {
            report
                .warnings
                .push(format!("{line}: does the extract cover the clients' area?"));
        } else {
            report.notes.push(line);
        }
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    report.notes.push(format!(
        "read {:.1} MB in {:.2} s",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64()
    ));
    report.notes.push(format!(
        "store {}: replaced streets",
        store.path().display()
    ));
    let mut log = log_entry(&report);
    log.rows = i64::try_from(net.edge_count()).unwrap_or(i64::MAX);
    store.apply(&Change {
        streets: Some(import.lines_rd),
        log: vec![log],
        ..Default::default()
    })?;
    print!("{report}");
    Ok(())
}

/// `analyse --compare-metrics`: clusters by straight line and along streets and says, per
/// straight-line cluster, where its members went. Exact counts are fine here (the
/// administrator's own report, DESIGN.md rule 2); locations are given only as area codes.
fn compare_metrics_report(store: &Store, args: &AnalysisArgs) -> Result<String> {
    use crate::analysis::cluster::Dbscan;
    use crate::analysis::network::compare_clusterings;
    let Some(net) = load_network(store)? else {
        bail!(
            "--compare-metrics needs a street network; run `buurtcirkel import streets PATH.osm.pbf` first"
        );
    };
    let data = store.load()?;
    let params = args.params();
    params.validate().map_err(|e| anyhow::anyhow!(e))?;
    let dbscan = Dbscan::new(params.walk_m, params.min_participants)?;
    let points: Vec<geo_types::Point<f64>> = data.clients.iter().map(|c| c.position_rd).collect();
    let line = dbscan.cluster(&crate::analysis::metric::StraightLine, &points);
    let street = dbscan.cluster(&net, &points);
    let cmp = compare_clusterings(&line, &street);
    // Where a cluster is: the buurt (else wijk) holding most of its members.
    let level = if data.areas.iter().any(|a| a.level() == Level::Buurt) {
        Level::Buurt
    } else {
        Level::Wijk
    };
    let idx: Vec<usize> = (0..data.areas.len())
        .filter(|&i| data.areas[i].level() == level)
        .collect();
    let index = crate::index::AreaIndex::new(
        idx.iter()
            .map(|&i| data.areas[i].geometry_rd.clone())
            .collect(),
    );
    let members = line.members();
    let area_of = |cluster: usize| -> String {
        let mut count: std::collections::BTreeMap<&str, usize> = Default::default();
        for &m in &members[cluster] {
            if let Some(k) = index.locate(points[m]) {
                *count.entry(data.areas[idx[k]].code.as_str()).or_default() += 1;
            }
        }
        count
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map_or_else(|| "outside the areas".into(), |(c, _)| c.to_string())
    };
    let street_sizes: Vec<usize> = street.members().iter().map(Vec::len).collect();
    let mut out = String::new();
    outln!(
        out,
        "\nmetric comparison (walk {} m, min {}): {} straight-line clusters, {} street-network clusters",
        params.walk_m,
        params.min_participants,
        line.cluster_count(),
        street.cluster_count()
    );
    let mut unchanged = 0;
    for c in &cmp.clusters {
        if c.unchanged(&street_sizes) {
            unchanged += 1;
            continue;
        }
        let parts: Vec<String> = c
            .into
            .iter()
            .map(|(id, n)| format!("street cluster {id} ({n})"))
            .collect();
        let what = match (c.into.len(), c.noise) {
            (0, _) => format!("all {} become noise along streets", c.members),
            (1, 0) => format!("becomes {} with other members", parts.join("")),
            (1, n) => format!("shrinks to {}; {n} become noise", parts.join("")),
            (_, 0) => format!("splits into {}", parts.join(", ")),
            (_, n) => format!("splits into {}; {n} become noise", parts.join(", ")),
        };
        outln!(
            out,
            "  straight-line cluster {} ({} clients, mostly in {}): {what}",
            c.cluster,
            c.members,
            area_of(c.cluster)
        );
    }
    for (id, from) in &cmp.merged {
        let from: Vec<String> = from.iter().map(usize::to_string).collect();
        outln!(
            out,
            "  street cluster {id} merges straight-line clusters {}",
            from.join(", ")
        );
    }
    if cmp.gained > 0 {
        outln!(
            out,
            "  {} clients are noise by straight line but clustered along streets",
            cmp.gained
        );
    }
    outln!(
        out,
        "  unchanged: {unchanged} of {} straight-line clusters",
        line.cluster_count()
    );
    Ok(out)
}

fn load_mapping(path: Option<&Path>) -> Result<Mapping> {
    Ok(match path {
        Some(p) => Mapping::load(p)?,
        None => Mapping::default(),
    })
}

fn log_entry(report: &ImportReport) -> ImportLog {
    ImportLog::of_file(&report.kind, &report.source, report.year, report.features())
}

/// Writes the demo data set into a store that does not exist yet.
pub fn write_demo(store: &Store) -> Result<()> {
    let demo = crate::demo::generate();
    let levels = Level::ALL.to_vec();
    store.apply(&Change {
        log: vec![ImportLog::new(
            "demo",
            "built-in demo data set (fictional gemeente Lindenhoeve)".into(),
            None,
            demo.areas.len() + demo.clients.len(),
        )],
        results: None,
        streets: None,
        grid: None,
        areas: Some((levels, demo.areas)),
        clients: Some(demo.clients),
        places: Some(demo.places),
        circles: Some(demo.circles),
    })?;
    Ok(())
}

fn serve(
    addr: SocketAddr,
    store: Store,
    config: crate::publish::config::ServeConfig,
) -> Result<()> {
    if !store.exists() {
        println!(
            "No store at {} yet: writing the built-in demo data set (fictional gemeente Lindenhoeve).",
            store.path().display()
        );
        write_demo(&store)?;
    } else {
        store.check_schema()?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(crate::publish::serve(addr, store, config))
        .with_context(|| format!("serving on {addr}"))
}

/// A progress bar on a terminal; plain lines otherwise (CI logs, pipes).
struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    current: std::cell::RefCell<Option<indicatif::ProgressBar>>,
}

impl CliProgress {
    fn new() -> CliProgress {
        CliProgress {
            bar: std::io::stderr()
                .is_terminal()
                .then(indicatif::ProgressBar::hidden),
            current: std::cell::RefCell::new(None),
        }
    }
}

impl Progress for CliProgress {
    fn start(&self, layer: &str, total: u64) {
        if self.bar.is_some() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(layer.to_string());
            *self.current.borrow_mut() = Some(bar);
        } else {
            eprintln!("reading layer {layer} ({total} features)");
        }
    }
    fn advance(&self, n: u64) {
        if let Some(b) = self.current.borrow().as_ref() {
            b.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.current.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
}
