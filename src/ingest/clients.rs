//! `import clients`, `import places`, `import circles`: point tables turned into model values.
//!
//! Clients are special-category personal data (docs/privacy.md). On ingest only the location,
//! snapped to the 25 m grid, and an optional target group from a fixed list are kept; every
//! other column is dropped and named in the report, with a loud warning when a column looks like
//! a direct identifier. One bad row fails the whole import unless the caller skips bad rows.

use std::collections::BTreeMap;
use std::path::Path;

use geo_types::{Geometry, Point};

use super::points::{CoordOptions, PointTable, read_points, read_points_keeping, same_column};
use super::{ImportReport, IngestError, LayerReport};
use crate::model::{CLIENT_SNAP_M, Circle, Client, Place, snap};

/// Target groups kept as they are; any other value becomes `overig`, so a free-text column can
/// never smuggle a name or remark into the store.
pub const DOELGROEPEN: [&str; 4] = ["ggz", "lvb", "ouderen", "nieuwkomers"];

/// Columns looked for as the target group when none is named, in this order.
const DEFAULT_GROUP_COLUMNS: [&str; 4] = ["doelgroep", "target_group", "groep", "doelgroepen"];

/// Column names (lower case, or parts of them) that identify a person directly.
const IDENTIFIER_HINTS: &[&str] = &[
    "naam",
    "name",
    "bsn",
    "geboorte",
    "birth",
    "dob",
    "adres",
    "address",
    "straat",
    "street",
    "huisnummer",
    "telefoon",
    "phone",
    "tel",
    "mobiel",
    "mail",
    "e-mail",
    "email",
    "postcode",
    "zip",
    "clientnummer",
    "client_id",
    "clientid",
    "dossier",
];

/// Options for [`read_clients`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Where the coordinates are.
    pub coords: CoordOptions,
    /// Column with the target group (default: `doelgroep`, `target_group`, `groep`).
    pub group_column: Option<String>,
    /// Import the good rows and report the bad ones instead of failing.
    pub skip_invalid: bool,
}

/// The clients of a file and the report.
#[derive(Debug, Clone)]
pub struct ClientImport {
    /// Anonymised clients.
    pub clients: Vec<Client>,
    /// What was read, kept and dropped.
    pub report: ImportReport,
}

/// How many bad rows an error lists.
const MAX_LISTED: usize = 20;

fn looks_like_identifier(column: &str) -> bool {
    let c = column.trim().to_ascii_lowercase();
    IDENTIFIER_HINTS.iter().any(|h| {
        if h.len() <= 3 {
            // Short hints match whole words only: "tel" but not "totel", "dob" but not "adobe".
            c.split(|ch: char| !ch.is_ascii_alphanumeric())
                .any(|w| w == *h)
        } else {
            c.contains(h)
        }
    })
}

/// Splits the table's rows into good positions and bad rows (line, problem); fails when there
/// are bad rows and `skip_invalid` is off.
fn good_rows<'t>(
    path: &Path,
    table: &'t PointTable,
    skip_invalid: bool,
    report: &mut ImportReport,
) -> Result<Vec<(&'t super::points::PointRow, Point<f64>)>, IngestError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for row in &table.rows {
        match &row.position {
            Ok(p) => good.push((row, *p)),
            Err(problem) => bad.push(format!("line {}: {problem}", row.line)),
        }
    }
    if !bad.is_empty() {
        let listed = bad.iter().take(MAX_LISTED).cloned().collect::<Vec<_>>();
        let more = bad.len().saturating_sub(MAX_LISTED);
        let list = if more > 0 {
            format!("{}\n  ... and {more} more", listed.join("\n  "))
        } else {
            listed.join("\n  ")
        };
        if !skip_invalid {
            return Err(IngestError::InvalidRows {
                path: path.to_path_buf(),
                bad: bad.len(),
                total: table.rows.len(),
                list,
            });
        }
        report
            .warnings
            .push(format!("{} invalid rows skipped:\n  {list}", bad.len()));
    }
    if good.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            problem: "no rows with a valid location; nothing was imported".into(),
        });
    }
    Ok(good)
}

/// Reads and anonymises a client file.
pub fn read_clients(path: &Path, opts: &ClientOptions) -> Result<ClientImport, IngestError> {
    // Only the target group's text is ever read: the other columns are dropped anyway.
    let group_names: Vec<&str> = match &opts.group_column {
        Some(g) => vec![g.as_str()],
        None => DEFAULT_GROUP_COLUMNS.to_vec(),
    };
    let is_group = |column: &str| group_names.iter().any(|g| same_column(column, g));
    let table = read_points_keeping(path, &opts.coords, "client locations (points)", &is_group)?;
    let mut report = ImportReport {
        kind: "clients".into(),
        source: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        ),
        notes: table.notes.clone(),
        ..Default::default()
    };
    let group_idx = match &opts.group_column {
        Some(g) => Some(
            table
                .find(&[g.as_str()])
                .ok_or_else(|| IngestError::NoGroupColumn {
                    path: path.to_path_buf(),
                    column: g.clone(),
                })?,
        ),
        None => table.find(&DEFAULT_GROUP_COLUMNS),
    };
    let good = good_rows(path, &table, opts.skip_invalid, &mut report)?;

    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys = crate::model::ClientKeys::new();
    let clients: Vec<Client> = good
        .iter()
        .map(|(row, p)| {
            let doelgroep = group_idx
                .and_then(|i| row.attributes.get(i).cloned().flatten())
                .map(|g| {
                    let g = g.trim().to_lowercase();
                    if DOELGROEPEN.contains(&g.as_str()) {
                        g
                    } else {
                        "overig".to_string()
                    }
                });
            if let Some(g) = &doelgroep {
                *groups.entry(g.clone()).or_default() += 1;
            }
            Client {
                position_rd: Point::new(snap(p.x(), CLIENT_SNAP_M), snap(p.y(), CLIENT_SNAP_M)),
                doelgroep,
                key: keys.next_key(),
            }
        })
        .collect();

    let kept: Vec<String> = group_idx
        .map(|i| table.columns[i].clone())
        .into_iter()
        .collect();
    let dropped: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !kept.contains(c) && !table.coordinate_columns.contains(c))
        .cloned()
        .collect();
    let label = |c: &String| {
        let i = table.columns.iter().position(|t| t == c).unwrap_or(0);
        super::points::column_label(i, c)
    };
    let identifiers: Vec<String> = dropped
        .iter()
        .filter(|c| looks_like_identifier(c))
        .map(label)
        .collect();
    let dropped: Vec<String> = dropped.iter().map(label).collect();
    if !identifiers.is_empty() {
        report.warnings.push(format!(
            "THIS FILE HOLDS DIRECT IDENTIFIERS ({}). They were NOT stored, but the file itself is personal data: share only location and target group, and delete this file where it should not be.",
            identifiers.join(", ")
        ));
    }
    if !dropped.is_empty() {
        report.notes.push(format!(
            "columns dropped, not stored: {}",
            dropped.join(", ")
        ));
    }
    let mut lr = LayerReport {
        name: table.layer.clone(),
        features: clients.len(),
        ..Default::default()
    };
    lr.columns_mapped
        .insert("location".into(), table.coordinates_from.clone());
    if let Some(k) = kept.first() {
        lr.columns_mapped.insert("doelgroep".into(), k.clone());
    }
    report.layers.push(lr);
    report.notes.push(format!(
        "{} clients kept as locations snapped to a {CLIENT_SNAP_M} m grid; every other column was dropped",
        clients.len()
    ));
    if !groups.is_empty() {
        let g: Vec<String> = groups.iter().map(|(k, v)| format!("{k} {v}")).collect();
        report
            .notes
            .push(format!("target groups: {}", g.join(", ")));
    }
    Ok(ClientImport { clients, report })
}

/// Reads meeting places: a name (`naam`, `name`) and a kind (`soort`, `type`, `kind`,
/// `categorie`) per point.
pub fn read_places(
    path: &Path,
    coords: &CoordOptions,
    skip_invalid: bool,
) -> Result<(Vec<Place>, ImportReport), IngestError> {
    let table = read_points(path, coords, "meeting places (points)")?;
    let mut report = ImportReport {
        kind: "places".into(),
        source: path.display().to_string(),
        notes: table.notes.clone(),
        ..Default::default()
    };
    let name_idx = table.find(&["naam", "name", "locatie", "titel"]);
    let kind_idx = table.find(&["soort", "type", "kind", "categorie", "category", "amenity"]);
    let good = good_rows(path, &table, skip_invalid, &mut report)?;
    let places: Vec<Place> = good
        .iter()
        .enumerate()
        .map(|(i, (row, p))| Place {
            id: i as i64 + 1,
            name: name_idx
                .and_then(|n| row.attributes[n].clone())
                .unwrap_or_else(|| format!("Plek {}", i + 1)),
            kind: kind_idx
                .and_then(|n| row.attributes[n].clone())
                .map_or_else(|| "ontmoetingsplek".into(), |k| k.to_lowercase()),
            position_rd: *p,
        })
        .collect();
    report.layers.push(LayerReport {
        name: table.layer.clone(),
        features: places.len(),
        columns_mapped: [
            Some(("location".to_string(), table.coordinates_from.clone())),
            name_idx.map(|i| ("naam".to_string(), table.columns[i].clone())),
            kind_idx.map(|i| ("soort".to_string(), table.columns[i].clone())),
        ]
        .into_iter()
        .flatten()
        .collect(),
        ..Default::default()
    });
    Ok((places, report))
}

/// Reads existing circles: points (their meeting place) or polygons (the area they serve), with
/// a name (`naam`, `name`).
pub fn read_circles(
    path: &Path,
    coords: &CoordOptions,
    skip_invalid: bool,
) -> Result<(Vec<Circle>, ImportReport), IngestError> {
    let table = read_points(path, coords, "existing Buurtcirkels (points or areas)")?;
    let mut report = ImportReport {
        kind: "circles".into(),
        source: path.display().to_string(),
        notes: table.notes.clone(),
        ..Default::default()
    };
    let name_idx = table.find(&["naam", "name", "buurtcirkel"]);
    let good = good_rows(path, &table, skip_invalid, &mut report)?;
    let circles: Vec<Circle> = good
        .iter()
        .enumerate()
        .map(|(i, (row, p))| Circle {
            id: i as i64 + 1,
            name: name_idx
                .and_then(|n| row.attributes[n].clone())
                .unwrap_or_else(|| format!("Buurtcirkel {}", i + 1)),
            geometry_rd: row.geometry.clone().unwrap_or(Geometry::Point(*p)),
        })
        .collect();
    report.layers.push(LayerReport {
        name: table.layer.clone(),
        features: circles.len(),
        ..Default::default()
    });
    Ok((circles, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_target_group_is_read_and_found_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(
            &path,
            "Naam;x;y; Doelgroep ;Team\nA;155010;463010;GGZ;t1\nB;155100;463100;iets;t2\n",
        )
        .unwrap();
        let default = read_clients(&path, &ClientOptions::default()).unwrap();
        let groups: Vec<Option<&str>> = default
            .clients
            .iter()
            .map(|c| c.doelgroep.as_deref())
            .collect();
        assert_eq!(groups, [Some("ggz"), Some("overig")]);
        assert!(
            default
                .report
                .notes
                .iter()
                .any(|n| n.contains("Naam") && n.contains("Team"))
        );
        let named = read_clients(
            &path,
            &ClientOptions {
                group_column: Some("team".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let groups: Vec<Option<&str>> = named
            .clients
            .iter()
            .map(|c| c.doelgroep.as_deref())
            .collect();
        assert_eq!(groups, [Some("overig"), Some("overig")]);
        let table =
            super::read_points_keeping(&path, &CoordOptions::default(), "points", &|c| c == "Team")
                .unwrap();
        assert!(table.rows.iter().all(|r| r.attributes[0].is_none()));
        assert_eq!(table.rows[1].attributes[4].as_deref(), Some("t2"));
    }

    #[test]
    fn identifier_columns_are_recognised_without_false_alarms() {
        for c in [
            "Naam",
            "achternaam",
            "BSN",
            "geboortedatum",
            "E-mail",
            "telefoonnummer",
            "tel",
            "Adres",
            "postcode",
        ] {
            assert!(looks_like_identifier(c), "{c}");
        }
        for c in ["doelgroep", "x", "lat", "hotel_zone", "totaal"] {
            assert!(!looks_like_identifier(c), "{c}");
        }
    }
}
