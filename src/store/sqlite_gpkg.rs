//! The private client file as a GeoPackage written and read with SQLite itself (`rusqlite`,
//! the system library), not feature by feature through GDAL.
//!
//! The writer builds the whole file in one transaction on a fresh file: the GeoPackage
//! metadata tables (`gpkg_spatial_ref_sys`, `gpkg_contents` with the layer's extent,
//! `gpkg_geometry_columns`, `gpkg_extensions`, GDAL's `gpkg_ogr_contents` feature counts), the
//! `clients` rows through one prepared statement of [`BATCH`] rows each (geometry as a
//! GeoPackage binary point: the 8-byte header and a little-endian WKB point), the
//! `bc_metadata` and `bc_imports` tables, and last the spatial index: the R-tree extension's
//! virtual table, its pages packed in bulk (sort-tile-recursive) straight into the R-tree's
//! shadow tables, and the triggers that keep it current. The result is the same GeoPackage
//! GDAL would write (same tables, columns and types), in a fraction of the time. Journal and
//! `fsync` are off while it is written: the file is a staged copy that is only renamed into
//! place once complete and flushed (see [`super::private`]).
//!
//! The reader is a plain `SELECT` over `clients`, the blobs parsed here; it also reads files
//! GDAL wrote (older versions), with or without an envelope in the geometry header.
//! Depends on `model` only (through the parent module).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::ImportLog;
use crate::model::Client;

/// The layer of the client points.
pub(super) const TABLE: &str = "clients";
/// Its geometry column.
const GEOM: &str = "geom";
/// Its column of the clients' random cell keys.
pub(super) const KEY_COLUMN: &str = "cell_key";
/// The SRS of every geometry: RD New.
const SRS_ID: i32 = 28992;
/// Rows per `INSERT` statement (4 parameters each, well under SQLite's limit of 32,766).
pub(super) const BATCH: usize = 200;
/// Entries per R-tree node: SQLite's own maximum (`RTREE_MAXCELLS`), which it uses for a
/// 4,096-byte page.
const RTREE_CELLS: usize = 51;
/// Bytes per R-tree cell: the 64-bit id and four 32-bit floats.
const RTREE_CELL_BYTES: usize = 8 + 4 * 4;
/// Bytes per R-tree node: a 4-byte header and the cells; SQLite reads it back from the root.
const RTREE_NODE_BYTES: usize = 4 + RTREE_CELLS * RTREE_CELL_BYTES;
/// Length of a GeoPackage binary point without envelope: header 8, WKB 21.
const POINT_BLOB_BYTES: usize = 8 + 21;

/// What the private file holds, to write.
pub(super) struct Contents<'a> {
    /// The clients, in the order they are stored (the caller shuffles them).
    pub clients: &'a [Client],
    /// `bc_metadata` rows, in order.
    pub metadata: &'a [(&'a str, String)],
    /// `bc_imports` rows, in order.
    pub log: &'a [ImportLog],
    /// The WKT definition of EPSG:28992 for `gpkg_spatial_ref_sys`.
    pub rd_wkt: &'a str,
    /// The WKT definition of EPSG:4326 (a row every GeoPackage must have).
    pub wgs84_wkt: &'a str,
}

/// What the private file holds, read back.
#[derive(Debug, Default)]
pub(super) struct Read {
    /// The clients in stored order; a client without a stored key has the key `NaN`.
    pub clients: Vec<Client>,
    /// `bc_metadata` rows.
    pub metadata: Vec<(String, String)>,
    /// `bc_imports` rows.
    pub log: Vec<ImportLog>,
}

/// The GeoPackage binary form of an RD point: header (magic `GP`, version 0, flags
/// little-endian without envelope, SRS id) and the WKB point.
pub(super) fn point_blob(x: f64, y: f64) -> [u8; POINT_BLOB_BYTES] {
    let mut b = [0u8; POINT_BLOB_BYTES];
    b[0] = b'G';
    b[1] = b'P';
    b[2] = 0;
    b[3] = 0x01;
    b[4..8].copy_from_slice(&SRS_ID.to_le_bytes());
    b[8] = 0x01;
    b[9..13].copy_from_slice(&1u32.to_le_bytes());
    b[13..21].copy_from_slice(&x.to_le_bytes());
    b[21..29].copy_from_slice(&y.to_le_bytes());
    b
}

/// The x and y of a GeoPackage binary point (2D, or the first two ordinates of a Z/M point);
/// `None` for an empty point, another geometry type or a malformed blob.
pub(super) fn parse_point(blob: &[u8]) -> Option<(f64, f64)> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return None;
    }
    let flags = blob[3];
    if flags & 0x10 != 0 {
        return None; // empty geometry
    }
    let envelope = match (flags >> 1) & 0x07 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return None,
    };
    let wkb = blob.get(8 + envelope..)?;
    let little = match wkb.first()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = wkb.get(i..i + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let f64_at = |i: usize| -> Option<f64> {
        let b: [u8; 8] = wkb.get(i..i + 8)?.try_into().ok()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    };
    // Point, in the ISO (1001, 2001, 3001) and the extended (high bits) Z/M forms.
    let ty = u32_at(1)? & 0x0fff_ffff;
    if ty % 1000 != 1 {
        return None;
    }
    let (x, y) = (f64_at(5)?, f64_at(13)?);
    (!x.is_nan() && !y.is_nan()).then_some((x, y))
}

/// Writes a new private GeoPackage at `path` (which must not exist yet).
pub(super) fn write(path: &Path, c: &Contents<'_>) -> rusqlite::Result<()> {
    let mut db = Connection::open(path)?;
    // A staged file, renamed only when complete and flushed: no journal, no fsync per commit.
    db.execute_batch(
        "PRAGMA page_size = 4096;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA cache_size = -32768;
         PRAGMA application_id = 1196444487;
         PRAGMA user_version = 10200;",
    )?;
    let tx = db.transaction()?;
    tx.execute_batch(
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,srs_id INTEGER NOT NULL PRIMARY KEY,organization TEXT NOT NULL,organization_coordsys_id INTEGER NOT NULL,definition  TEXT NOT NULL,description TEXT);
         CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,data_type TEXT NOT NULL,identifier TEXT UNIQUE,description TEXT DEFAULT '',last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),min_x DOUBLE, min_y DOUBLE,max_x DOUBLE, max_y DOUBLE,srs_id INTEGER,CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_ogr_contents(table_name TEXT NOT NULL PRIMARY KEY,feature_count INTEGER DEFAULT NULL);
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,column_name TEXT NOT NULL,geometry_type_name TEXT NOT NULL,srs_id INTEGER NOT NULL,z TINYINT NOT NULL,m TINYINT NOT NULL,CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),CONSTRAINT uk_gc_table_name UNIQUE (table_name),CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
         CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
         INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined Cartesian coordinate reference system');
         INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
         CREATE TABLE \"clients\" ( \"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"geom\" POINT, \"doelgroep\" TEXT, \"cell_key\" REAL);
         CREATE TABLE \"bc_metadata\" ( \"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"key\" TEXT, \"value\" TEXT);
         CREATE TABLE \"bc_imports\" ( \"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"kind\" TEXT, \"source_file\" TEXT, \"cbs_year\" MEDIUMINT, \"imported_at\" TEXT, \"rows\" INTEGER);",
    )?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [c.wgs84_wkt],
    )?;
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('Amersfoort / RD New', ?1, 'EPSG', ?1, ?2, NULL)",
        params![SRS_ID, c.rd_wkt],
    )?;

    let extent = insert_clients(&tx, c.clients)?;
    {
        let mut meta = tx.prepare("INSERT INTO bc_metadata (key, value) VALUES (?1, ?2)")?;
        for (k, v) in c.metadata {
            meta.execute(params![k, v])?;
        }
        let mut log = tx.prepare(
            "INSERT INTO bc_imports (kind, source_file, cbs_year, imported_at, rows) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in c.log {
            log.execute(params![e.kind, e.source, e.cbs_year, e.imported_at, e.rows])?;
        }
    }

    let (min_x, min_y, max_x, max_y) = match extent {
        Some((a, b, cc, d)) => (Some(a), Some(b), Some(cc), Some(d)),
        None => (None, None, None, None),
    };
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'features', ?1, '', ?2, ?3, ?4, ?5, ?6)",
        params![TABLE, min_x, min_y, max_x, max_y, SRS_ID],
    )?;
    for name in ["bc_metadata", "bc_imports"] {
        tx.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?1, 'attributes', ?1, '', 0)",
            [name],
        )?;
    }
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, 'POINT', ?3, 0, 0)",
        params![TABLE, GEOM, SRS_ID],
    )?;
    for (name, count) in [
        (TABLE, c.clients.len()),
        ("bc_metadata", c.metadata.len()),
        ("bc_imports", c.log.len()),
    ] {
        tx.execute(
            "INSERT INTO gpkg_ogr_contents VALUES (?1, ?2)",
            params![name, i64::try_from(count).unwrap_or(i64::MAX)],
        )?;
    }

    let boxes: Vec<Option<[f64; 4]>> = c
        .clients
        .iter()
        .map(|c| {
            let (x, y) = (c.position_rd.x(), c.position_rd.y());
            Some([x, y, x, y])
        })
        .collect();
    create_spatial_index(&tx, TABLE, GEOM, &boxes)?;
    for name in [TABLE, "bc_metadata", "bc_imports"] {
        tx.execute_batch(&format!(
            "CREATE TRIGGER \"trigger_insert_feature_count_{name}\" AFTER INSERT ON \"{name}\" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 WHERE lower(table_name) = lower('{name}'); END;
             CREATE TRIGGER \"trigger_delete_feature_count_{name}\" AFTER DELETE ON \"{name}\" BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 WHERE lower(table_name) = lower('{name}'); END;"
        ))?;
    }
    tx.commit()?;
    db.close().map_err(|(_, e)| e)
}

/// Inserts the clients with fids 1, 2, ... in their order, [`BATCH`] rows per statement;
/// returns their extent (min x, min y, max x, max y), `None` for no clients.
fn insert_clients(
    tx: &rusqlite::Transaction<'_>,
    clients: &[Client],
) -> rusqlite::Result<Option<(f64, f64, f64, f64)>> {
    let mut extent: Option<(f64, f64, f64, f64)> = None;
    insert_batched(
        tx,
        "\"clients\" (fid, geom, doelgroep, cell_key)",
        4,
        clients.len(),
        |stmt, p, row| {
            let c = &clients[row];
            let (x, y) = (c.position_rd.x(), c.position_rd.y());
            extent = Some(match extent {
                None => (x, y, x, y),
                Some((a, b, cc, d)) => (a.min(x), b.min(y), cc.max(x), d.max(y)),
            });
            stmt.raw_bind_parameter(p, i64::try_from(row).unwrap_or(i64::MAX - 1) + 1)?;
            stmt.raw_bind_parameter(p + 1, &point_blob(x, y)[..])?;
            stmt.raw_bind_parameter(p + 2, c.doelgroep.as_deref())?;
            stmt.raw_bind_parameter(p + 3, c.key)
        },
    )?;
    Ok(extent)
}

/// Inserts `rows` rows of `width` values into `target` (`"table" (columns)`), [`BATCH`] rows
/// per statement: a million one-row statements cost twice the B-tree work. `bind(stmt, p,
/// row)` binds row `row`'s values as the parameters `p..p + width`.
fn insert_batched(
    tx: &rusqlite::Transaction<'_>,
    target: &str,
    width: usize,
    rows: usize,
    mut bind: impl FnMut(&mut rusqlite::Statement<'_>, usize, usize) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let one = format!("({})", vec!["?"; width].join(","));
    let sql = |n: usize| {
        format!(
            "INSERT INTO {target} VALUES {}",
            vec![one.as_str(); n].join(",")
        )
    };
    let mut full = tx.prepare(&sql(BATCH))?;
    for start in (0..rows).step_by(BATCH) {
        let n = BATCH.min(rows - start);
        let mut tail;
        let stmt = if n == BATCH {
            &mut full
        } else {
            tail = tx.prepare(&sql(n))?;
            &mut tail
        };
        for i in 0..n {
            bind(stmt, i * width + 1, start + i)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

/// The largest `f32` at or below `v` (the R-tree stores 32-bit bounds, rounded outwards).
fn f32_down(v: f64) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let f = v as f32;
    if f64::from(f) > v { f.next_down() } else { f }
}

/// The smallest `f32` at or above `v`.
fn f32_up(v: f64) -> f32 {
    #[allow(clippy::cast_possible_truncation)]
    let f = v as f32;
    if f64::from(f) < v { f.next_up() } else { f }
}

/// One R-tree cell: an id (a client's fid in a leaf, a node number above) and its box
/// (min x, max x, min y, max y).
#[derive(Clone, Copy)]
struct Cell {
    id: i64,
    bounds: [f32; 4],
}

fn union(cells: &[Cell]) -> [f32; 4] {
    cells.iter().fold(
        [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        |b, c| {
            [
                b[0].min(c.bounds[0]),
                b[1].max(c.bounds[1]),
                b[2].min(c.bounds[2]),
                b[3].max(c.bounds[3]),
            ]
        },
    )
}

/// The spatial index of the GeoPackage R-tree extension on `table.geom_column`, as GDAL's
/// `CreateSpatialIndex` makes it, in the transaction `tx`: the virtual table
/// `rtree_<table>_<geom>` packed in bulk from `boxes` (the row with fid `i + 1` has the box
/// `boxes[i]`, min x, min y, max x, max y; `None` for an empty geometry, not indexed), the
/// `gpkg_extensions` row, and the triggers that keep it current. Made after the rows, so none
/// fired for them (the `ST_` functions the triggers call exist in GDAL's connections only).
pub(super) fn create_spatial_index(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    geom_column: &str,
    boxes: &[Option<[f64; 4]>],
) -> rusqlite::Result<()> {
    let rtree = format!("rtree_{table}_{geom_column}");
    tx.execute_batch(&format!(
        "CREATE VIRTUAL TABLE \"{rtree}\" USING rtree(id, minx, maxx, miny, maxy);"
    ))?;
    fill_rtree(tx, &rtree, boxes)?;
    tx.execute(
        "INSERT INTO gpkg_extensions VALUES (?1, ?2, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
        params![table, geom_column],
    )?;
    let (t, g) = (table, geom_column);
    tx.execute_batch(&format!(
        "CREATE TRIGGER \"{rtree}_insert\" AFTER INSERT ON \"{t}\" WHEN (new.\"{g}\" NOT NULL AND NOT ST_IsEmpty(NEW.\"{g}\")) BEGIN INSERT OR REPLACE INTO \"{rtree}\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"{g}\"), ST_MaxX(NEW.\"{g}\"),ST_MinY(NEW.\"{g}\"), ST_MaxY(NEW.\"{g}\")); END;
         CREATE TRIGGER \"{rtree}_update1\" AFTER UPDATE OF \"{g}\" ON \"{t}\" WHEN OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"{g}\" NOTNULL AND NOT ST_IsEmpty(NEW.\"{g}\")) BEGIN INSERT OR REPLACE INTO \"{rtree}\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"{g}\"), ST_MaxX(NEW.\"{g}\"),ST_MinY(NEW.\"{g}\"), ST_MaxY(NEW.\"{g}\")); END;
         CREATE TRIGGER \"{rtree}_update2\" AFTER UPDATE OF \"{g}\" ON \"{t}\" WHEN OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"{g}\" ISNULL OR ST_IsEmpty(NEW.\"{g}\")) BEGIN DELETE FROM \"{rtree}\" WHERE id = OLD.\"fid\"; END;
         CREATE TRIGGER \"{rtree}_update3\" AFTER UPDATE ON \"{t}\" WHEN OLD.\"fid\" != NEW.\"fid\" AND (NEW.\"{g}\" NOTNULL AND NOT ST_IsEmpty(NEW.\"{g}\")) BEGIN DELETE FROM \"{rtree}\" WHERE id = OLD.\"fid\"; INSERT OR REPLACE INTO \"{rtree}\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"{g}\"), ST_MaxX(NEW.\"{g}\"),ST_MinY(NEW.\"{g}\"), ST_MaxY(NEW.\"{g}\")); END;
         CREATE TRIGGER \"{rtree}_update4\" AFTER UPDATE ON \"{t}\" WHEN OLD.\"fid\" != NEW.\"fid\" AND (NEW.\"{g}\" ISNULL OR ST_IsEmpty(NEW.\"{g}\")) BEGIN DELETE FROM \"{rtree}\" WHERE id IN (OLD.\"fid\", NEW.\"fid\"); END;
         CREATE TRIGGER \"{rtree}_delete\" AFTER DELETE ON \"{t}\" WHEN old.\"{g}\" NOT NULL BEGIN DELETE FROM \"{rtree}\" WHERE id = OLD.\"fid\"; END;"
    ))
}

/// Packs the boxes (fid = position + 1, `None` skipped) into the R-tree `name` (an empty one,
/// just created)
/// bottom-up, sort-tile-recursive: leaves of [`RTREE_CELLS`] boxes sorted by x into vertical
/// slices and by y within a slice, each level above packing the one below in that order.
/// Writes the shadow tables `<name>_node` (root = node 1, holding the depth), `<name>_rowid`
/// (the leaf of each fid) and `<name>_parent` as SQLite's R-tree module lays them out. Bounds
/// are rounded outwards to `f32`, as the module stores them.
fn fill_rtree(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    boxes: &[Option<[f64; 4]>],
) -> rusqlite::Result<()> {
    let mut cells: Vec<Cell> = boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let [x0, y0, x1, y1] = (*b)?;
            Some(Cell {
                id: i64::try_from(i).unwrap_or(i64::MAX - 1) + 1,
                bounds: [f32_down(x0), f32_up(x1), f32_down(y0), f32_up(y1)],
            })
        })
        .collect();
    if cells.is_empty() {
        return Ok(()); // SQLite's own empty root stays
    }
    // Leaves: sort-tile-recursive.
    let leaves = cells.len().div_ceil(RTREE_CELLS);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let slices = ((leaves as f64).sqrt().ceil() as usize).max(1);
    let per_slice = slices * RTREE_CELLS;
    cells.sort_unstable_by(|a, b| a.bounds[0].total_cmp(&b.bounds[0]).then(a.id.cmp(&b.id)));
    for slice in cells.chunks_mut(per_slice) {
        slice.sort_unstable_by(|a, b| a.bounds[2].total_cmp(&b.bounds[2]).then(a.id.cmp(&b.id)));
    }
    // levels[0] = leaves; each node is a range of cells of the level's cell list.
    let mut levels: Vec<Vec<Cell>> = vec![cells];
    while levels.last().is_some_and(|l| l.len() > RTREE_CELLS) {
        let below = levels.last().map_or(&[][..], Vec::as_slice);
        // A node's id is filled in once the numbering is known: its index for now.
        let parents: Vec<Cell> = below
            .chunks(RTREE_CELLS)
            .enumerate()
            .map(|(i, chunk)| Cell {
                id: i64::try_from(i).unwrap_or(0),
                bounds: union(chunk),
            })
            .collect();
        levels.push(parents);
    }
    // levels[k] holds the cells of the nodes of height k; the nodes of height k are
    // levels[k].chunks(RTREE_CELLS), and the root (height = levels.len() - 1) is one node.
    // Number the nodes top-down: root = 1, then each lower height in order.
    let height = levels.len() - 1;
    let nodes_at = |k: usize| levels[k].len().div_ceil(RTREE_CELLS);
    let mut first = vec![0i64; levels.len()];
    let mut next = 1i64;
    for k in (0..levels.len()).rev() {
        first[k] = next;
        next += i64::try_from(nodes_at(k)).unwrap_or(0);
    }
    // The cells above the leaves point at node numbers of the height below.
    for k in 1..levels.len() {
        let base = first[k - 1];
        for c in &mut levels[k] {
            c.id += base;
        }
    }
    tx.execute(&format!("DELETE FROM \"{name}_node\""), [])?;
    let mut node = tx.prepare(&format!(
        "INSERT INTO \"{name}_node\" (nodeno, data) VALUES (?1, ?2)"
    ))?;
    let mut parent = tx.prepare(&format!(
        "INSERT INTO \"{name}_parent\" (nodeno, parentnode) VALUES (?1, ?2)"
    ))?;
    let mut data = vec![0u8; RTREE_NODE_BYTES];
    // The leaf of each fid, inserted in fid order below (appending is far cheaper than a
    // B-tree seek per row).
    let mut leaf_of = vec![0i64; boxes.len()];
    for (k, level) in levels.iter().enumerate() {
        for (i, chunk) in level.chunks(RTREE_CELLS).enumerate() {
            let nodeno = first[k] + i64::try_from(i).unwrap_or(0);
            data.fill(0);
            if k == height {
                data[0..2].copy_from_slice(&u16::try_from(height).unwrap_or(0).to_be_bytes());
            }
            data[2..4].copy_from_slice(&u16::try_from(chunk.len()).unwrap_or(0).to_be_bytes());
            for (j, c) in chunk.iter().enumerate() {
                let at = 4 + j * RTREE_CELL_BYTES;
                data[at..at + 8].copy_from_slice(&c.id.to_be_bytes());
                for (q, v) in c.bounds.iter().enumerate() {
                    let o = at + 8 + q * 4;
                    data[o..o + 4].copy_from_slice(&v.to_bits().to_be_bytes());
                }
                if k == 0 {
                    if let Some(slot) = usize::try_from(c.id - 1)
                        .ok()
                        .and_then(|i| leaf_of.get_mut(i))
                    {
                        *slot = nodeno;
                    }
                } else {
                    parent.execute(params![c.id, nodeno])?;
                }
            }
            node.execute(params![nodeno, &data[..]])?;
        }
    }
    let indexed: Vec<(i64, i64)> = leaf_of
        .iter()
        .enumerate()
        .filter(|(_, nodeno)| **nodeno != 0) // an empty geometry: not in the index
        .map(|(i, nodeno)| (i64::try_from(i).unwrap_or(i64::MAX - 1) + 1, *nodeno))
        .collect();
    insert_batched(
        tx,
        &format!("\"{name}_rowid\" (rowid, nodeno)"),
        2,
        indexed.len(),
        |stmt, p, row| {
            stmt.raw_bind_parameter(p, indexed[row].0)?;
            stmt.raw_bind_parameter(p + 1, indexed[row].1)
        },
    )
}

/// Reads a private GeoPackage: the clients, `bc_metadata` and `bc_imports` (each empty when
/// its table is missing).
pub(super) fn read(path: &Path) -> rusqlite::Result<Read> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut out = Read::default();
    let columns = |table: &str| -> rusqlite::Result<Vec<String>> {
        let mut s = db.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
        let names = s
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(names)
    };
    let cols = columns(TABLE)?;
    if !cols.is_empty() {
        let geom: String = db
            .query_row(
                "SELECT column_name FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?1)",
                [TABLE],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
            .unwrap_or_else(|| GEOM.to_string());
        let has = |c: &str| cols.iter().any(|n| n.eq_ignore_ascii_case(c));
        let group = if has("doelgroep") {
            "\"doelgroep\""
        } else {
            "NULL"
        };
        let key = if has(KEY_COLUMN) {
            "\"cell_key\""
        } else {
            "NULL"
        };
        let select = format!(
            "SELECT \"{}\", {group}, {key} FROM \"{TABLE}\" WHERE rowid BETWEEN ?1 AND ?2",
            geom.replace('"', "\"\"")
        );
        let (first, last): (Option<i64>, Option<i64>) = db.query_row(
            &format!("SELECT min(rowid), max(rowid) FROM \"{TABLE}\""),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let (Some(first), Some(last)) = (first, last) {
            // A large file is read in two halves of its rowids on two connections (the rows'
            // parsing and the target groups' strings are most of loading a million clients);
            // the order read does not matter, the caller puts the clients in canonical order.
            out.clients = if last - first >= PARALLEL_READ_ROWS {
                let middle = first + (last - first) / 2;
                let half = |from: i64, to: i64| {
                    let db = Connection::open_with_flags(
                        path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    read_clients(&db, &select, from, to)
                };
                let (a, b) = rayon::join(|| half(first, middle), || half(middle + 1, last));
                let mut clients = a?;
                clients.extend(b?);
                clients
            } else {
                read_clients(&db, &select, first, last)?
            };
        }
    }
    if !columns("bc_metadata")?.is_empty() {
        let mut s = db.prepare("SELECT key, value FROM bc_metadata ORDER BY fid")?;
        out.metadata = s
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
    }
    out.log = read_log(&db)?;
    Ok(out)
}

/// Rowid spans from which [`read`] reads the clients on two connections.
const PARALLEL_READ_ROWS: i64 = 100_000;

/// The clients of the rows `first..=last` (by rowid) of `select` (geometry, group, key); rows
/// without a readable point are passed over.
fn read_clients(
    db: &Connection,
    select: &str,
    first: i64,
    last: i64,
) -> rusqlite::Result<Vec<Client>> {
    let mut s = db.prepare(select)?;
    let mut rows = s.query(params![first, last])?;
    // Rowids are mostly dense: room for the span up front (bounded, should they not be)
    // instead of a million clients moved at every doubling.
    let span = usize::try_from(last.saturating_sub(first).saturating_add(1)).unwrap_or(0);
    let mut out = Vec::with_capacity(span.min(1 << 22));
    while let Some(r) = rows.next()? {
        let Some((x, y)) = r
            .get_ref(0)?
            .as_blob_or_null()
            .ok()
            .flatten()
            .and_then(parse_point)
        else {
            continue;
        };
        out.push(Client {
            position_rd: geo_types::Point::new(x, y),
            doelgroep: r.get::<_, Option<String>>(1)?,
            key: r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
        });
    }
    Ok(out)
}

/// The `bc_imports` rows of a private GeoPackage, without reading its clients.
pub(super) fn read_log_of(path: &Path) -> rusqlite::Result<Vec<ImportLog>> {
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    read_log(&db)
}

fn read_log(db: &Connection) -> rusqlite::Result<Vec<ImportLog>> {
    let exists: Option<i64> = db
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bc_imports'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut s = db.prepare(
        "SELECT kind, source_file, cbs_year, imported_at, rows FROM bc_imports ORDER BY fid",
    )?;
    let rows = s
        .query_map([], |r| {
            Ok(ImportLog {
                kind: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                source: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                cbs_year: r.get::<_, Option<i32>>(2)?,
                imported_at: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                rows: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_blobs_round_trip_and_foreign_forms_are_read() {
        let b = point_blob(121_025.0, 487_000.0);
        assert_eq!(parse_point(&b), Some((121_025.0, 487_000.0)));
        // GDAL's own bytes for POINT(121000 487000) in EPSG:28992 (no envelope).
        let gdal = "4750000140710000010100000000000000808AFD400000000060B91D41";
        let bytes: Vec<u8> = (0..gdal.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&gdal[i..i + 2], 16).unwrap_or(0))
            .collect();
        assert_eq!(&point_blob(121_000.0, 487_000.0)[..], &bytes[..]);
        // With an xy envelope and big-endian WKB.
        let mut env = vec![b'G', b'P', 0, 0b0000_0010, 0, 0, 0x71, 0x40];
        env.extend([0u8; 32]);
        env.push(0);
        env.extend(1u32.to_be_bytes());
        env.extend(5.0f64.to_be_bytes());
        env.extend(6.0f64.to_be_bytes());
        assert_eq!(parse_point(&env), Some((5.0, 6.0)));
        // Empty flag, a linestring, garbage.
        let mut empty = b.to_vec();
        empty[3] |= 0x10;
        assert_eq!(parse_point(&empty), None);
        let mut line = b.to_vec();
        line[9] = 2;
        assert_eq!(parse_point(&line), None);
        assert_eq!(parse_point(b"GP"), None);
        assert_eq!(parse_point(b"not a geometry at all, no"), None);
    }

    #[test]
    fn a_large_file_read_in_two_halves_gives_every_client_once() {
        // More rows than PARALLEL_READ_ROWS, with gaps in the rowids, and one row without a
        // geometry: every client with a point comes back exactly once, with its group and key.
        let n = usize::try_from(PARALLEL_READ_ROWS).unwrap_or(100_000) + 2_345;
        let groups = [Some("ggz".to_string()), None, Some("lvb".to_string())];
        let clients: Vec<Client> = (0..n)
            .map(|i| Client {
                position_rd: geo_types::Point::new(
                    100_000.0 + (i % 997) as f64 * 25.0,
                    400_000.0 + (i / 997) as f64 * 25.0,
                ),
                doelgroep: groups[i % 3].clone(),
                key: (i as f64 + 0.5) / n as f64,
            })
            .collect();
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("clients.gpkg");
        write(
            &path,
            &Contents {
                clients: &clients,
                metadata: &[],
                log: &[],
                rd_wkt: "RD",
                wgs84_wkt: "WGS84",
            },
        )
        .expect("written");
        let db = Connection::open(&path).expect("opened");
        // GDAL's triggers call its SQL functions, which plain SQLite lacks.
        let triggers: Vec<String> = db
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'clients'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("triggers");
        for t in triggers {
            db.execute_batch(&format!("DROP TRIGGER \"{t}\""))
                .expect("dropped");
        }
        db.execute_batch(
            "DELETE FROM clients WHERE fid % 1000 = 7; \
             UPDATE clients SET geom = NULL WHERE fid = 50001;",
        )
        .expect("gaps made");
        drop(db);
        let key = |c: &Client| {
            (
                c.key.to_bits(),
                c.position_rd.x().to_bits(),
                c.position_rd.y().to_bits(),
                c.doelgroep.clone(),
            )
        };
        let mut expected: Vec<_> = (1..)
            .zip(&clients)
            .filter(|(fid, _)| fid % 1000 != 7 && *fid != 50_001)
            .map(|(_, c)| key(c))
            .collect();
        let mut got: Vec<_> = read(&path).expect("read").clients.iter().map(key).collect();
        assert_eq!(got.len(), expected.len());
        expected.sort();
        got.sort();
        assert!(got == expected, "clients lost, doubled or changed");
    }

    #[test]
    fn rtree_bounds_round_outwards() {
        for v in [0.1, 487_000.3, -1.7, 1e-40, 16_777_217.0] {
            assert!(f64::from(f32_down(v)) <= v, "{v}");
            assert!(f64::from(f32_up(v)) >= v, "{v}");
        }
        assert_eq!(f32_down(25.0), 25.0);
        assert_eq!(f32_up(25.0), 25.0);
    }
}
