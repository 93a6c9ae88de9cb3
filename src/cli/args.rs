//! Command-line arguments: the clap types and nothing else. Choices are `ValueEnum`s, so clap
//! lists them in `--help` and rejects a typo before anything runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::analysis::run::Params;
use crate::ingest::points::CoordOptions;
use crate::model::Level;
use crate::service::AnalysisRequest;

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
        /// Server configuration (TOML: public_url, cors_origins (default any, reads only),
        /// apikey_param, trust_forwarded, body_limit_mb, request_timeout_s, web_dir,
        /// basemap_url, basemap_attribution, `[auth]`); see docs/api.md and docs/web.md.
        /// BUURTCIRKEL_PUBLIC_URL, BUURTCIRKEL_CORS_ORIGINS, BUURTCIRKEL_APIKEY_PARAM,
        /// BUURTCIRKEL_TRUST_FORWARDED, BUURTCIRKEL_BODY_LIMIT_MB, BUURTCIRKEL_REQUEST_TIMEOUT_S
        /// and BUURTCIRKEL_READ_ROLE override it.
        #[arg(long, env = "BUURTCIRKEL_CONFIG")]
        config: Option<PathBuf>,
        /// Roles and hashed bearer tokens (TOML, as config/auth.example.toml); replaces the
        /// `[auth]` table of --config. Without it reading is public and nobody may import.
        #[arg(long, env = "BUURTCIRKEL_AUTH")]
        auth: Option<PathBuf>,
        /// The web map's folder (index.html, and MapLibre from `npm ci` in its node_modules).
        /// Default: BUURTCIRKEL_WEB_DIR, else web/ in the working directory, else web/ of the
        /// source tree.
        #[arg(long)]
        web_dir: Option<PathBuf>,
        /// Background map for the web map: an XYZ raster tile URL with {z}, {x} and {y}, e.g.
        /// PDOK's BRT-Achtergrondkaart (see docs/web.md). Default: none, a plain background,
        /// and the page contacts no other host. Also read from BUURTCIRKEL_BASEMAP_URL (with the
        /// other BUURTCIRKEL_* settings, in one place: the server configuration).
        #[arg(long)]
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
        #[arg(long, value_enum)]
        level: Option<LevelArg>,
        /// How many areas to list (0 = all).
        #[arg(long, default_value_t = 25)]
        top: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
    pub walk_m: f64,
    /// Minimum participants for a cluster and a candidate site (a circle starts at 5).
    #[arg(long, default_value_t = crate::analysis::run::DEFAULT_MIN_PARTICIPANTS)]
    pub min_participants: usize,
    /// Weights file (TOML, as config/weights.toml); default: the documented defaults.
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

impl AnalysisArgs {
    /// The parameters alone.
    pub fn params(&self) -> Params {
        Params {
            walk_m: self.walk_m,
            min_participants: self.min_participants,
        }
    }

    /// The request the service runs.
    pub fn request(&self) -> AnalysisRequest {
        AnalysisRequest {
            params: self.params(),
            weights_file: self.weights.clone(),
        }
    }
}

/// Where point tables keep their coordinates.
#[derive(Debug, clap::Args)]
pub struct PointArgs {
    /// Column with the easting or longitude (default: x, then lon/lng/longitude).
    #[arg(long)]
    pub x_column: Option<String>,
    /// Column with the northing or latitude (default: y, then lat/latitude).
    #[arg(long)]
    pub y_column: Option<String>,
    /// CRS of the coordinates (default: EPSG:28992 for x/y, EPSG:4326 for lon/lat, else the
    /// layer's own).
    #[arg(long)]
    pub crs: Option<String>,
    /// Import the good rows and report the bad ones, instead of importing nothing.
    #[arg(long)]
    pub skip_invalid: bool,
}

impl PointArgs {
    /// Where the coordinates are.
    pub fn coords(&self) -> CoordOptions {
        CoordOptions {
            x_column: self.x_column.clone(),
            y_column: self.y_column.clone(),
            crs: self.crs.clone(),
        }
    }
}

/// How `analyse` prints its ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The run's summary and an aligned table, for the terminal.
    Table,
    /// One JSON document (parameters, metric, level, areas), for scripts.
    Json,
}

/// An area level, by its collection name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Municipalities (GM codes).
    Gemeenten,
    /// Districts (WK codes).
    Wijken,
    /// Neighbourhoods (BU codes).
    Buurten,
}

impl From<LevelArg> for Level {
    fn from(l: LevelArg) -> Level {
        match l {
            LevelArg::Gemeenten => Level::Gemeente,
            LevelArg::Wijken => Level::Wijk,
            LevelArg::Buurten => Level::Buurt,
        }
    }
}
