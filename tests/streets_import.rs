//! `import streets`: OSM PBF files written by the test itself (a minimal PBF encoder: plain
//! nodes and ways in uncompressed blobs, which every PBF reader accepts), bad input, and the
//! real Delft extract from `../shared/data` when it is there.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::io::Write as _;
use std::path::{Path, PathBuf};

use buurtcirkel::analysis::metric::{Neighbourhood, WalkingMetric};
use buurtcirkel::analysis::network::StreetNetwork;
use buurtcirkel::cli::{Cli, run};
use buurtcirkel::crs::{RD_NEW, Transformer, WGS84};
use buurtcirkel::ingest::streets::read_streets;
use buurtcirkel::store::Store;
use clap::Parser;
use geo_types::Point;

// ---- a minimal protobuf / OSM PBF writer ----

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn field_varint(out: &mut Vec<u8>, field: u32, v: u64) {
    varint(out, u64::from(field << 3));
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed(values: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut b = Vec::new();
    for v in values {
        varint(&mut b, v);
    }
    b
}

fn blob(out: &mut Vec<u8>, kind: &str, data: &[u8]) {
    let mut blob = Vec::new();
    field_bytes(&mut blob, 1, data); // raw
    field_varint(&mut blob, 2, data.len() as u64); // raw_size
    let mut header = Vec::new();
    field_bytes(&mut header, 1, kind.as_bytes());
    field_varint(&mut header, 3, blob.len() as u64);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&blob);
}

/// An OSM way: id, tags, node ids.
struct Way(i64, Vec<(&'static str, &'static str)>, Vec<i64>);

/// Writes a PBF with `nodes` (id, RD x, RD y) and `ways`.
fn write_pbf(path: &Path, nodes: &[(i64, f64, f64)], ways: &[Way]) {
    let to_wgs = Transformer::new(RD_NEW, WGS84).unwrap();
    let mut strings: Vec<String> = vec![String::new()];
    let mut sid = |s: &str| -> u64 {
        if let Some(k) = strings.iter().position(|x| x == s) {
            return k as u64;
        }
        strings.push(s.to_string());
        (strings.len() - 1) as u64
    };
    let mut group = Vec::new();
    for &(id, x, y) in nodes {
        let (lon, lat) = to_wgs.point(x, y).unwrap();
        let mut n = Vec::new();
        field_varint(&mut n, 1, zigzag(id));
        // Default granularity 100 nanodegrees.
        field_varint(&mut n, 8, zigzag((lat * 1e7).round() as i64));
        field_varint(&mut n, 9, zigzag((lon * 1e7).round() as i64));
        field_bytes(&mut group, 1, &n);
    }
    let mut data_groups = vec![group];
    let mut ways_group = Vec::new();
    for Way(id, tags, refs) in ways {
        let mut w = Vec::new();
        field_varint(&mut w, 1, *id as u64);
        let keys: Vec<u64> = tags.iter().map(|(k, _)| sid(k)).collect();
        let vals: Vec<u64> = tags.iter().map(|(_, v)| sid(v)).collect();
        field_bytes(&mut w, 2, &packed(keys));
        field_bytes(&mut w, 3, &packed(vals));
        let mut prev = 0;
        let deltas: Vec<u64> = refs
            .iter()
            .map(|r| {
                let d = r - prev;
                prev = *r;
                zigzag(d)
            })
            .collect();
        field_bytes(&mut w, 8, &packed(deltas));
        field_bytes(&mut ways_group, 3, &w);
    }
    data_groups.push(ways_group);
    let mut table = Vec::new();
    for s in &strings {
        field_bytes(&mut table, 1, s.as_bytes());
    }
    let mut block = Vec::new();
    field_bytes(&mut block, 1, &table);
    for g in &data_groups {
        field_bytes(&mut block, 2, g);
    }
    let mut header = Vec::new();
    field_bytes(&mut header, 4, b"OsmSchema-V0.6");
    let mut file = Vec::new();
    blob(&mut file, "OSMHeader", &header);
    blob(&mut file, "OSMData", &block);
    std::fs::write(path, file).unwrap();
}

// ---- fixtures ----

/// RD origin of the fixtures: Delft.
const X0: f64 = 85_000.0;
const Y0: f64 = 446_000.0;

/// Two parallel streets 200 m apart joined by a motorway (shortcut in the middle), a
/// `foot=no` cycleway (shortcut at the south end), a private service road and a footway at
/// the north end: the only walkable link.
fn barrier_town(path: &Path) {
    let n = |id, x: f64, y: f64| (id, X0 + x, Y0 + y);
    let nodes = [
        n(1, 0.0, 0.0),
        n(2, 0.0, 500.0),
        n(3, 0.0, 1_000.0),
        n(4, 200.0, 0.0),
        n(5, 200.0, 500.0),
        n(6, 200.0, 1_000.0),
        n(7, 0.0, 250.0),
        n(8, 200.0, 250.0),
    ];
    let ways = [
        Way(10, vec![("highway", "residential")], vec![1, 7, 2, 3]),
        Way(11, vec![("highway", "residential")], vec![4, 8, 5, 6]),
        Way(12, vec![("highway", "motorway")], vec![2, 5]),
        Way(
            13,
            vec![("highway", "cycleway"), ("foot", "no")],
            vec![1, 4],
        ),
        Way(
            14,
            vec![("highway", "service"), ("access", "private")],
            vec![7, 8],
        ),
        Way(15, vec![("highway", "footway")], vec![3, 6]),
        Way(16, vec![("building", "yes")], vec![1, 2, 5, 4, 1]),
    ];
    write_pbf(path, &nodes, &ways);
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn cli(store: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["buurtcirkel", "--store", store.to_str().unwrap()];
    argv.extend_from_slice(args);
    run(Cli::parse_from(argv))
}

// ---- tests ----

#[test]
fn foot_no_private_and_motorway_ways_are_never_walked() {
    let dir = tmp();
    let pbf = dir.path().join("town.osm.pbf");
    barrier_town(&pbf);
    let import = read_streets(&pbf).unwrap();
    let net = StreetNetwork::from_lines(import.lines_rd.clone());
    // Two streets and the footway; split where the footway meets them.
    assert_eq!(
        (net.node_count(), net.edge_count(), net.component_count()),
        (4, 3, 1)
    );
    let text = import.report.to_string();
    assert!(
        text.contains("left out 2 ways: foot=no or private"),
        "{text}"
    );
    assert!(
        text.contains("left out 1 ways: motorway or trunk"),
        "{text}"
    );
    assert!(!text.contains("building"), "{text}");
    let clients = [
        Point::new(X0 - 10.0, Y0 + 500.0),
        Point::new(X0 + 210.0, Y0 + 500.0),
    ];
    let near = net.prepare(&clients);
    // Not 220 m over the motorway: 10 + 500 north + 200 footway + 500 south + 10.
    let d = near.distance(0, 1);
    assert!((d - 1_220.0).abs() < 0.5, "{d}");
    let mut out = Vec::new();
    near.neighbours(0, 800.0, &mut out);
    assert_eq!(out, vec![0]);
}

#[test]
fn import_streets_stores_the_network_and_analyse_walks_along_it() {
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    let pbf = dir.path().join("town.osm.pbf");
    barrier_town(&pbf);
    cli(&store, &["demo", "--out", store.to_str().unwrap()]).unwrap();
    cli(&store, &["import", "streets", pbf.to_str().unwrap()]).unwrap();
    let lines = Store::new(&store).load_streets().unwrap().unwrap();
    assert_eq!(lines.len(), 3);
    let net = StreetNetwork::from_lines(lines);
    assert_eq!((net.node_count(), net.edge_count()), (4, 3));
    // The demo clients are nowhere near these streets, but the analysis still runs on them.
    cli(&store, &["analyse", "--top", "1", "--compare-metrics"]).unwrap();
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn assert_fails_unchanged(pbf: &Path, expect: &str) {
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    cli(&store, &["demo", "--out", store.to_str().unwrap()]).unwrap();
    let before = bytes(&store);
    let err = cli(&store, &["import", "streets", pbf.to_str().unwrap()]).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(expect), "{msg}");
    assert_eq!(bytes(&store), before, "the store is unchanged");
}

#[test]
fn a_missing_file_is_a_clear_error_and_leaves_the_store_unchanged() {
    assert_fails_unchanged(Path::new("/nonexistent/delft.osm.pbf"), "file not found");
}

#[test]
fn a_file_that_is_not_a_pbf_is_a_clear_error_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let p = dir.path().join("streets.osm.pbf");
    std::fs::write(&p, "<?xml version='1.0'?><osm></osm>\n").unwrap();
    assert_fails_unchanged(&p, "not an OpenStreetMap PBF file");
    let empty = dir.path().join("empty.osm.pbf");
    std::fs::write(&empty, "").unwrap();
    assert_fails_unchanged(&empty, "not an OpenStreetMap PBF file");
}

#[test]
fn an_extract_without_pedestrian_ways_is_a_clear_error_and_leaves_the_store_unchanged() {
    let dir = tmp();
    let p = dir.path().join("a4.osm.pbf");
    write_pbf(
        &p,
        &[(1, X0, Y0), (2, X0 + 500.0, Y0)],
        &[Way(1, vec![("highway", "motorway")], vec![1, 2])],
    );
    assert_fails_unchanged(&p, "no way a pedestrian may use");
}

fn shared_data(file: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/osm-delft-tu")
        .join(file);
    p.exists().then_some(p)
}

#[test]
fn the_delft_extract_imports_into_a_connected_walking_network() {
    let Some(pbf) = shared_data("tudelft_2025-08.osm.pbf") else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: ../shared/data/osm-delft-tu/tudelft_2025-08.osm.pbf is absent"
        );
        return;
    };
    let t = std::time::Instant::now();
    let import = read_streets(&pbf).unwrap();
    let net = StreetNetwork::from_lines(import.lines_rd);
    println!(
        "Delft: {} nodes, {} edges, {:.1} km, {} components in {:.2} s",
        net.node_count(),
        net.edge_count(),
        net.total_length_m() / 1e3,
        net.component_count(),
        t.elapsed().as_secs_f64()
    );
    assert!(net.edge_count() > 2_000, "{}", net.edge_count());
    assert!(net.total_length_m() > 100_000.0);
    // TU Delft campus, Mekelweg (RD about 85,500 / 446,000), lies on a street.
    let leg = net
        .distance_to_street(Point::new(85_500.0, 446_000.0))
        .unwrap();
    assert!(leg < 150.0, "{leg}");
    // Everything lies around Delft (the extract keeps whole ways that leave its box).
    for l in net.lines() {
        for c in &l.0 {
            assert!((c.x - 85_000.0).hypot(c.y - 446_000.0) < 25_000.0, "{c:?}");
        }
    }
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    cli(&store, &["demo", "--out", store.to_str().unwrap()]).unwrap();
    cli(&store, &["import", "streets", pbf.to_str().unwrap()]).unwrap();
    let stored = Store::new(&store).load_streets().unwrap().unwrap();
    let again = StreetNetwork::from_lines(stored);
    assert_eq!(again.node_count(), net.node_count());
    assert_eq!(again.component_count(), net.component_count());
}
