//! Exports a publishable [`Layer`] through GDAL: GeoPackage, GeoJSON, CSV (geometry as WKT) or
//! PostGIS (`PG:` connection string). The layer comes from [`super::layers::build`], so an
//! export holds exactly what the API serves, never more.
//!
//! Coordinates leave in RD New (EPSG:28992) unless another CRS is asked for; GeoJSON is always
//! written in CRS84, as RFC 7946 requires. Reprojection uses PROJ through [`crate::crs`].
//! Must not depend on `http`; the only module of `release` that writes files.

use std::path::{Path, PathBuf};

use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};

use crate::crs::{RD_NEW, Transformer, WGS84};
use crate::model::Table as Layer;
use crate::store::table::{WriteError, create_table_layer, write_features};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The output format cannot be told from the path.
    #[error(
        "{out}: unknown output format; expected a path ending in .gpkg, .geojson, .json or .csv, or a PG: connection string"
    )]
    UnknownFormat {
        /// The output given.
        out: String,
    },
    /// The CRS is unusable.
    #[error("output CRS {crs}: {reason}")]
    Crs {
        /// CRS given.
        crs: String,
        /// Why.
        reason: String,
    },
    /// GDAL failed.
    #[error("{out}: {action}: {reason}")]
    Gdal {
        /// The output given.
        out: String,
        /// What was being done.
        action: String,
        /// GDAL's message.
        reason: String,
    },
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OGC GeoPackage.
    GeoPackage,
    /// RFC 7946 GeoJSON.
    GeoJson,
    /// CSV with a WKT geometry column.
    Csv,
    /// PostgreSQL/PostGIS.
    PostGis,
}

impl Format {
    /// The format of an output path or connection string.
    pub fn of(out: &str) -> Option<Format> {
        let lower = out.to_ascii_lowercase();
        if lower.starts_with("pg:") {
            Some(Format::PostGis)
        } else if lower.ends_with(".gpkg") {
            Some(Format::GeoPackage)
        } else if lower.ends_with(".geojson") || lower.ends_with(".json") {
            Some(Format::GeoJson)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }

    fn driver(self) -> &'static str {
        match self {
            Format::GeoPackage => "GPKG",
            Format::GeoJson => "GeoJSON",
            Format::Csv => "CSV",
            Format::PostGis => "PostgreSQL",
        }
    }
}

/// Writes `layer` to `out` in `crs` (default RD New; GeoJSON always CRS84). Returns the
/// number of features written. Files are written next to their final name and renamed, so a
/// failed export leaves no half file; in PostGIS the table is replaced.
pub fn export(layer: &Layer, out: &str, crs: Option<&str>) -> Result<usize, ExportError> {
    let format = Format::of(out).ok_or_else(|| ExportError::UnknownFormat {
        out: out.to_string(),
    })?;
    let target = if format == Format::GeoJson {
        WGS84.to_string()
    } else {
        crs.unwrap_or(RD_NEW).to_string()
    };
    let transformer = if target == RD_NEW {
        None
    } else {
        Some(
            Transformer::new(RD_NEW, &target).map_err(|e| ExportError::Crs {
                crs: target.clone(),
                reason: e.to_string(),
            })?,
        )
    };
    let mut srs = SpatialRef::from_definition(&target).map_err(|e| ExportError::Crs {
        crs: target.clone(),
        reason: e.to_string(),
    })?;
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let gdal_err = |action: &str| {
        let action = action.to_string();
        let out = out.to_string();
        move |e: gdal::errors::GdalError| ExportError::Gdal {
            out: out.clone(),
            action: action.clone(),
            reason: e.to_string(),
        }
    };

    let (mut ds, tmp): (Dataset, Option<(PathBuf, PathBuf)>) = if format == Format::PostGis {
        let ds = Dataset::open_ex(
            out,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_UPDATE,
                ..Default::default()
            },
        )
        .map_err(gdal_err("connecting to PostgreSQL"))?;
        (ds, None)
    } else {
        let final_path = PathBuf::from(out);
        let dir = final_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let ext = final_path
            .extension()
            .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
        let tmp_path = dir.join(format!(
            ".{}.tmp-{}{ext}",
            final_path
                .file_stem()
                .map_or_else(|| "export".into(), |s| s.to_string_lossy().to_string()),
            std::process::id()
        ));
        let _ = std::fs::remove_file(&tmp_path);
        let ds = DriverManager::get_driver_by_name(format.driver())
            .and_then(|d| d.create_vector_only(&tmp_path))
            .map_err(gdal_err("creating the file"))?;
        (ds, Some((tmp_path, final_path)))
    };

    let written = (|| -> Result<usize, ExportError> {
        let mut options: Vec<&str> = Vec::new();
        match format {
            Format::Csv => options.extend(["GEOMETRY=AS_WKT", "CREATE_CSVT=YES"]),
            Format::PostGis => options.extend(["OVERWRITE=YES", "GEOMETRY_NAME=geom", "FID=fid"]),
            Format::GeoPackage => options.extend(["GEOMETRY_NAME=geom", "FID=fid"]),
            Format::GeoJson => options.extend(["RFC7946=YES", "ID_FIELD=id"]),
        }
        create_table_layer(&mut ds, layer, layer.name, &srs, &options)
            .map_err(gdal_err("creating the layer"))?;
        let write = |ds: &Dataset| -> Result<usize, ExportError> {
            let gl = ds
                .layer_by_name(layer.name)
                .map_err(gdal_err("opening the new layer"))?;
            write_features(&gl, layer, transformer.as_ref()).map_err(|(id, e)| match e {
                WriteError::Gdal(e) => gdal_err(&format!("writing feature {id}"))(e),
                WriteError::Crs(reason) => ExportError::Crs {
                    crs: target.clone(),
                    reason,
                },
            })
        };
        // GeoPackage and PostGIS write in one transaction: fast, and all-or-nothing in PostGIS.
        if matches!(format, Format::GeoPackage | Format::PostGis) {
            let txn = ds
                .start_transaction()
                .map_err(gdal_err("starting a transaction"))?;
            let n = write(&txn)?;
            txn.commit().map_err(gdal_err("committing"))?;
            Ok(n)
        } else {
            write(&ds)
        }
    })();
    let written = match written {
        Ok(n) => n,
        Err(e) => {
            drop(ds);
            if let Some((tmp, _)) = &tmp {
                let _ = std::fs::remove_file(tmp);
                let _ = std::fs::remove_file(tmp.with_extension("csvt"));
                let _ = std::fs::remove_file(tmp.with_extension("prj"));
            }
            return Err(e);
        }
    };
    ds.close().map_err(gdal_err("closing"))?;
    if let Some((tmp, final_path)) = tmp {
        // GDAL's CSV driver writes sidecars (.csvt field types, .prj CRS) next to the file.
        let sidecars = ["csvt", "prj"];
        if let Err(e) = std::fs::rename(&tmp, &final_path) {
            let _ = std::fs::remove_file(&tmp);
            for ext in sidecars {
                let _ = std::fs::remove_file(tmp.with_extension(ext));
            }
            return Err(ExportError::Gdal {
                out: out.to_string(),
                action: "moving the finished file into place".into(),
                reason: e.to_string(),
            });
        }
        for ext in sidecars {
            let side = tmp.with_extension(ext);
            if side.exists() && std::fs::rename(&side, final_path.with_extension(ext)).is_err() {
                let _ = std::fs::remove_file(&side);
            }
        }
    }
    Ok(written)
}
