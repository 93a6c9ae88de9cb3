//! OpenStreetMap streets for walking: reads an `.osm.pbf` extract, keeps the ways a pedestrian
//! may use, splits them at junctions and projects them to RD New.
//!
//! Input: an OpenStreetMap PBF file (WGS84 longitude/latitude). Output: street pieces as line
//! strings in RD New (EPSG:28992) metres, each running from one junction or way end to the
//! next, plus an [`ImportReport`]. Two pieces meet exactly where their end points are equal
//! (the same OSM node projects to the same coordinates), which is how
//! `analysis::network::StreetNetwork` joins them.
//! Depends on `crs` and `model`-free plain geo types; never on `store`, `analysis` or `publish`.
//! Nothing here writes.
//!
//! # Which ways a pedestrian may use (Netherlands)
//! See [`walkable`]: footways, paths, pedestrian streets, living streets, residential, service
//! and unclassified roads, tracks, steps, corridors and platforms, cycleways (pedestrians may
//! use a *fietspad* without a footway beside it) and tertiary roads and up (pedestrians walk
//! along them on the pavement), unless `foot=no`, or `access=no|private` without an explicit
//! `foot=yes|designated|permissive|destination`. Motorways and trunk roads are left out unless
//! they are tagged `foot=yes` or similar.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use geo_types::{Coord, LineString, Point};
use osmpbf::{BlobDecode, BlobReader};
use rayon::iter::{ParallelBridge, ParallelIterator};

use super::{ImportReport, IngestError, LayerReport};
use crate::crs::{RD_NEW, Transformer, WGS84};

/// What [`walkable`] decided for a way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A pedestrian may walk it.
    Kept,
    /// Not a street at all (no `highway` tag, or a kind nobody walks: construction, proposed).
    NotAStreet,
    /// `foot=no` or a private / closed way.
    NoAccess,
    /// A motorway or trunk road without foot access.
    Motorway,
}

/// Highway kinds a pedestrian may use.
const WALKABLE: [&str; 22] = [
    "footway",
    "path",
    "pedestrian",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "track",
    "steps",
    "crossing",
    "cycleway",
    "bridleway",
    "corridor",
    "platform",
    "road",
    "tertiary",
    "tertiary_link",
    "secondary",
    "secondary_link",
    "primary",
    "primary_link",
    "elevator",
];

/// Whether a pedestrian may use a way with these tags.
///
/// # Parameters
/// `tag`: looks a tag value up by key.
///
/// # Returns
/// [`Verdict::Kept`] for a walkable way; otherwise why not.
///
/// # Examples
/// ```
/// use buurtcirkel::ingest::streets::{Verdict, walkable};
/// let tags = |pairs: &'static [(&'static str, &'static str)]| {
///     move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
/// };
/// assert_eq!(walkable(tags(&[("highway", "residential")])), Verdict::Kept);
/// assert_eq!(walkable(tags(&[("highway", "cycleway"), ("foot", "no")])), Verdict::NoAccess);
/// assert_eq!(walkable(tags(&[("highway", "service"), ("access", "private")])), Verdict::NoAccess);
/// assert_eq!(walkable(tags(&[("highway", "service"), ("access", "private"), ("foot", "yes")])), Verdict::Kept);
/// assert_eq!(walkable(tags(&[("highway", "motorway")])), Verdict::Motorway);
/// assert_eq!(walkable(tags(&[("building", "yes")])), Verdict::NotAStreet);
/// ```
pub fn walkable<'t>(tag: impl Fn(&str) -> Option<&'t str>) -> Verdict {
    let Some(highway) = tag("highway") else {
        return Verdict::NotAStreet;
    };
    let foot = tag("foot");
    let foot_allowed = matches!(
        foot,
        Some("yes" | "designated" | "permissive" | "destination" | "official")
    );
    if matches!(foot, Some("no" | "private" | "use_sidepath")) {
        return Verdict::NoAccess;
    }
    if matches!(
        highway,
        "motorway" | "motorway_link" | "trunk" | "trunk_link"
    ) {
        return if foot_allowed {
            Verdict::Kept
        } else {
            Verdict::Motorway
        };
    }
    if !WALKABLE.contains(&highway) {
        return Verdict::NotAStreet;
    }
    if matches!(tag("access"), Some("no" | "private")) && !foot_allowed {
        return Verdict::NoAccess;
    }
    Verdict::Kept
}

/// The result of [`read_streets`].
#[derive(Debug, Clone)]
pub struct StreetsImport {
    /// Street pieces between junctions, RD metres.
    pub lines_rd: Vec<LineString<f64>>,
    /// What was read, kept and left out.
    pub report: ImportReport,
}

/// A kept way: its highway kind and node references.
#[derive(Debug, Clone)]
struct WayRefs {
    refs: Vec<i64>,
}

/// What one blob (or the whole file) held.
#[derive(Debug, Default)]
struct Harvest {
    /// Every node: (id, lon, lat).
    nodes: Vec<(i64, f64, f64)>,
    ways: Vec<WayRefs>,
    /// Kept ways per highway kind.
    kept: BTreeMap<String, usize>,
    excluded: BTreeMap<&'static str, usize>,
    headers: usize,
    /// Nodes tagged `addr:housenumber`: (lon, lat).
    addresses: Vec<(f64, f64)>,
}

impl Harvest {
    fn merge(mut self, other: Harvest) -> Harvest {
        self.nodes.extend(other.nodes);
        self.ways.extend(other.ways);
        for (k, v) in other.kept {
            *self.kept.entry(k).or_default() += v;
        }
        for (k, v) in other.excluded {
            *self.excluded.entry(k).or_default() += v;
        }
        self.headers += other.headers;
        self.addresses.extend(other.addresses);
        self
    }
}

fn not_pbf(path: &Path, why: impl std::fmt::Display) -> IngestError {
    IngestError::Empty {
        path: path.to_path_buf(),
        problem: format!(
            "not an OpenStreetMap PBF file ({why}); expected an .osm.pbf extract, e.g. from Geofabrik or BBBike"
        ),
    }
}

/// Reads every blob in parallel. `addresses` also collects `addr:housenumber` nodes.
fn harvest(path: &Path, addresses: bool) -> Result<Harvest, IngestError> {
    if !path.exists() {
        return Err(IngestError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let reader = BlobReader::from_path(path).map_err(|e| not_pbf(path, e))?;
    let result: Result<Harvest, String> = reader
        .par_bridge()
        .map(|blob| -> Result<Harvest, String> {
            let blob = blob.map_err(|e| e.to_string())?;
            let mut h = Harvest::default();
            match blob.decode().map_err(|e| e.to_string())? {
                BlobDecode::OsmHeader(_) => h.headers += 1,
                BlobDecode::Unknown(_) => {}
                BlobDecode::OsmData(block) => {
                    for group in block.groups() {
                        for n in group.dense_nodes() {
                            h.nodes.push((n.id(), n.lon(), n.lat()));
                            if addresses && n.tags().any(|(k, _)| k == "addr:housenumber") {
                                h.addresses.push((n.lon(), n.lat()));
                            }
                        }
                        for n in group.nodes() {
                            h.nodes.push((n.id(), n.lon(), n.lat()));
                            if addresses && n.tags().any(|(k, _)| k == "addr:housenumber") {
                                h.addresses.push((n.lon(), n.lat()));
                            }
                        }
                        for w in group.ways() {
                            let tags: Vec<(&str, &str)> = w.tags().collect();
                            let tag =
                                |k: &str| tags.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
                            match walkable(tag) {
                                Verdict::Kept => {
                                    let kind = tag("highway").unwrap_or("?").to_string();
                                    *h.kept.entry(kind).or_default() += 1;
                                    h.ways.push(WayRefs {
                                        refs: w.refs().collect(),
                                    });
                                }
                                Verdict::NotAStreet => {}
                                Verdict::NoAccess => {
                                    *h.excluded.entry("foot=no or private").or_default() += 1;
                                }
                                Verdict::Motorway => {
                                    *h.excluded.entry("motorway or trunk").or_default() += 1;
                                }
                            }
                        }
                    }
                }
            }
            Ok(h)
        })
        .try_reduce(Harvest::default, |a, b| Ok(a.merge(b)));
    let h = result.map_err(|e| not_pbf(path, e))?;
    if h.headers == 0 {
        return Err(not_pbf(path, "no OSMHeader block"));
    }
    Ok(h)
}

/// Splits ways at junctions: nodes used by two or more kept ways (or twice by one way), and
/// way ends. A node missing from the extract (a way clipped at its edge) ends a piece too.
///
/// Returns node-id sequences of at least two nodes each.
fn split_at_junctions(ways: &[WayRefs], known: &dyn Fn(i64) -> bool) -> Vec<Vec<i64>> {
    let mut uses: HashMap<i64, u32> = HashMap::new();
    for w in ways {
        for &r in &w.refs {
            *uses.entry(r).or_default() += 1;
        }
    }
    let mut pieces = Vec::new();
    for w in ways {
        let mut current: Vec<i64> = Vec::new();
        let last = w.refs.len().saturating_sub(1);
        for (k, &r) in w.refs.iter().enumerate() {
            if !known(r) {
                if current.len() >= 2 {
                    pieces.push(std::mem::take(&mut current));
                }
                current.clear();
                continue;
            }
            current.push(r);
            let junction = uses.get(&r).copied().unwrap_or(0) >= 2;
            if current.len() >= 2 && (junction || k == last) {
                pieces.push(std::mem::replace(&mut current, vec![r]));
            }
        }
    }
    pieces
}

/// Reads the walkable streets of an OSM extract.
///
/// # Errors
/// [`IngestError::NotFound`] for a missing file; [`IngestError::Empty`] for a file that is not
/// an OSM PBF or holds no walkable way; [`IngestError::Crs`] when PROJ cannot project a node.
///
/// # Algorithm
/// 1. Decode the PBF blocks in parallel (rayon), keeping every node's position and the
///    walkable ways' node lists (see [`walkable`]).
/// 2. Split the ways at junctions.
/// 3. Project the nodes that pieces use from WGS84 to RD New (each once).
///
/// Memory: 24 bytes per node of the extract plus the kept ways.
pub fn read_streets(path: &Path) -> Result<StreetsImport, IngestError> {
    let mut h = harvest(path, false)?;
    if h.ways.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            problem: format!(
                "no way a pedestrian may use among its {} nodes (looked for highway=footway, path, residential, ...); is this the right extract?",
                h.nodes.len()
            ),
        });
    }
    h.nodes.sort_unstable_by_key(|n| n.0);
    let position = |id: i64| -> Option<(f64, f64)> {
        h.nodes
            .binary_search_by_key(&id, |n| n.0)
            .ok()
            .map(|k| (h.nodes[k].1, h.nodes[k].2))
    };
    let pieces = split_at_junctions(&h.ways, &|id| position(id).is_some());
    let crs_err = |problem: String| IngestError::Crs {
        path: path.to_path_buf(),
        layer: "ways".into(),
        problem,
    };
    let to_rd = Transformer::new(WGS84, RD_NEW).map_err(|e| crs_err(e.to_string()))?;
    let mut rd: HashMap<i64, Coord<f64>> = HashMap::new();
    let mut lines_rd = Vec::with_capacity(pieces.len());
    for piece in &pieces {
        let mut coords = Vec::with_capacity(piece.len());
        for &id in piece {
            let c = match rd.get(&id) {
                Some(c) => *c,
                None => {
                    let (lon, lat) = position(id).unwrap_or((f64::NAN, f64::NAN));
                    let (x, y) = to_rd
                        .point(lon, lat)
                        .map_err(|e| crs_err(format!("node {id}: {e}")))?;
                    let c = Coord { x, y };
                    rd.insert(id, c);
                    c
                }
            };
            coords.push(c);
        }
        lines_rd.push(LineString::new(coords));
    }
    let kept: usize = h.kept.values().sum();
    let mut report = ImportReport {
        kind: "streets".into(),
        source: path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
        ..ImportReport::default()
    };
    report.layers.push(LayerReport {
        name: "ways".into(),
        features: kept,
        levels: h.kept.clone().into_iter().collect(),
        crs: Some(WGS84.into()),
        reprojected: true,
        ..LayerReport::default()
    });
    report.notes.push(format!(
        "{kept} walkable ways split at junctions into {} street pieces; {} nodes read",
        lines_rd.len(),
        h.nodes.len()
    ));
    for (why, n) in &h.excluded {
        report
            .notes
            .push(format!("left out {n} ways: {why} (not walkable)"));
    }
    Ok(StreetsImport { lines_rd, report })
}

/// Positions (RD metres) of the nodes tagged `addr:housenumber` in an OSM extract: real
/// address points, for benchmarks that place synthetic clients where people live.
///
/// # Errors
/// As [`read_streets`], except that an extract without walkable ways is fine.
pub fn read_address_points(path: &Path) -> Result<Vec<Point<f64>>, IngestError> {
    let h = harvest(path, true)?;
    let to_rd = Transformer::new(WGS84, RD_NEW).map_err(|e| IngestError::Crs {
        path: PathBuf::from(path),
        layer: "nodes".into(),
        problem: e.to_string(),
    })?;
    let mut points = Vec::with_capacity(h.addresses.len());
    let mut addresses = h.addresses;
    // Blocks arrive in any order from the parallel reader; sort for a stable output.
    addresses.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (lon, lat) in addresses {
        if let Ok((x, y)) = to_rd.point(lon, lat) {
            points.push(Point::new(x, y));
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way(refs: &[i64]) -> WayRefs {
        WayRefs {
            refs: refs.to_vec(),
        }
    }

    #[test]
    fn ways_are_split_where_they_share_a_node() {
        // A long way 1-2-3-4-5 crossed at 3 by 6-3-7.
        let ways = [way(&[1, 2, 3, 4, 5]), way(&[6, 3, 7])];
        let pieces = split_at_junctions(&ways, &|_| true);
        assert_eq!(
            pieces,
            vec![vec![1, 2, 3], vec![3, 4, 5], vec![6, 3], vec![3, 7]]
        );
    }

    #[test]
    fn a_node_missing_from_the_extract_cuts_the_way() {
        let ways = [way(&[1, 2, 3, 4, 5])];
        let pieces = split_at_junctions(&ways, &|id| id != 3);
        assert_eq!(pieces, vec![vec![1, 2], vec![4, 5]]);
    }

    #[test]
    fn a_closed_way_is_split_at_its_start() {
        let ways = [way(&[1, 2, 3, 1])];
        let pieces = split_at_junctions(&ways, &|_| true);
        assert_eq!(pieces, vec![vec![1, 2, 3, 1]]);
    }

    #[test]
    fn trunk_roads_are_walkable_only_with_foot_access() {
        let t = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
        };
        assert_eq!(walkable(t(&[("highway", "trunk")])), Verdict::Motorway);
        assert_eq!(
            walkable(t(&[("highway", "trunk"), ("foot", "yes")])),
            Verdict::Kept
        );
        assert_eq!(
            walkable(t(&[("highway", "construction")])),
            Verdict::NotAStreet
        );
        assert_eq!(
            walkable(t(&[("highway", "primary"), ("foot", "use_sidepath")])),
            Verdict::NoAccess
        );
    }
}
