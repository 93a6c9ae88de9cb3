//! The input allow-list: which file formats each kind of import accepts, checked before GDAL
//! opens anything, and the size limits an input must stay within.
//!
//! Inputs: a path given by an administrator (CLI) or written from an upload. Outputs: the
//! [`Format`] the file is, or an [`IngestError::Refused`] that names the file and the rule or
//! limit it broke. The extension must be one the import accepts AND the first bytes must be
//! those of that format; text formats are scanned whole (no `/vsi` indirection anywhere, no
//! NUL, cells, rows and columns within [`LIMITS`]); zip containers (XLSX, zipped shapefiles) are
//! decompressed into nothing with a cap, so a zip bomb costs at most the cap. GDAL later opens
//! the file with the one driver of its format ([`Format::driver`]), never VRT or another
//! driver that reads other files or URLs, and with network access switched off
//! ([`harden_gdal`]). Depends on nothing of ours but the error type; never on `store`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Once;

use super::IngestError;

/// A file format an import may accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma/semicolon/tab separated text (`.csv`, `.tsv`, `.txt` is not accepted).
    Csv,
    /// Office Open XML spreadsheet (`.xlsx`).
    Xlsx,
    /// GeoPackage (`.gpkg`).
    GeoPackage,
    /// GeoJSON (`.geojson`, `.json`).
    GeoJson,
    /// ESRI shapefile (`.shp` with its `.dbf`, `.shx`, `.prj` beside it).
    Shapefile,
    /// A zip holding one or more shapefiles (`.zip`).
    ZippedShapefile,
}

impl Format {
    /// The extensions (lower case, no dot) of the format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Csv => &["csv", "tsv"],
            Format::Xlsx => &["xlsx"],
            Format::GeoPackage => &["gpkg"],
            Format::GeoJson => &["geojson", "json"],
            Format::Shapefile => &["shp"],
            Format::ZippedShapefile => &["zip"],
        }
    }

    /// The only GDAL driver the file is opened with.
    pub fn driver(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
            Format::GeoPackage => "GPKG",
            Format::GeoJson => "GeoJSON",
            Format::Shapefile | Format::ZippedShapefile => "ESRI Shapefile",
        }
    }

    /// What the format is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Xlsx => "XLSX",
            Format::GeoPackage => "GeoPackage",
            Format::GeoJson => "GeoJSON",
            Format::Shapefile => "shapefile",
            Format::ZippedShapefile => "zipped shapefile",
        }
    }

    /// The path GDAL opens: a zipped shapefile is read inside its zip by our own choice (the
    /// input itself may never name a `/vsi` path).
    pub fn gdal_path(self, path: &Path) -> PathBuf {
        match self {
            Format::ZippedShapefile => PathBuf::from(format!("/vsizip/{}", path.display())),
            _ => path.to_path_buf(),
        }
    }
}

/// Area polygons: CBS wijk- en buurtkaart files.
pub const AREA_FORMATS: &[Format] = &[
    Format::GeoPackage,
    Format::Shapefile,
    Format::ZippedShapefile,
    Format::GeoJson,
];
/// Key-figure tables.
pub const FIGURE_FORMATS: &[Format] = &[Format::Csv, Format::Xlsx, Format::GeoPackage];
/// CBS square statistics.
pub const GRID_FORMATS: &[Format] = &[
    Format::GeoPackage,
    Format::Shapefile,
    Format::ZippedShapefile,
    Format::GeoJson,
];
/// Point tables: clients, places, circles.
pub const POINT_FORMATS: &[Format] = &[
    Format::Csv,
    Format::Xlsx,
    Format::GeoPackage,
    Format::GeoJson,
];

/// How large an input may be, once decompressed and cell by cell.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes a zip container (XLSX, zipped shapefile) may decompress to, all entries together.
    pub decompressed_bytes: u64,
    /// Entries a zip container may hold.
    pub zip_entries: usize,
    /// Bytes of one cell (a CSV field, an XLSX cell or shared string, a GeoJSON string).
    pub cell_bytes: u64,
    /// Rows (features) of one layer.
    pub rows: u64,
    /// Columns (fields) of one layer.
    pub columns: u64,
}

/// The limits every import applies. The largest real inputs (CBS kerncijfers, ~120 columns;
/// the 100 m grid of the Netherlands, ~400,000 cells; a national buurtkaart, ~14,000 areas in
/// a ~1 GB GeoPackage) stay well within them.
pub const LIMITS: Limits = Limits {
    decompressed_bytes: 256 * 1024 * 1024,
    zip_entries: 10_000,
    cell_bytes: 64 * 1024,
    rows: 5_000_000,
    columns: 1_000,
};

/// Turns off every way GDAL could reach the network or follow a URL: `/vsicurl/` accepts no
/// extension, HTTP goes through a proxy that does not exist and gives up at once. Called once,
/// before the first open.
pub fn harden_gdal() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (key, value) in [
            (
                "CPL_VSIL_CURL_ALLOWED_EXTENSIONS",
                ".buurtcirkel-no-network",
            ),
            ("GDAL_HTTP_PROXY", "127.0.0.1:9"),
            ("GDAL_HTTP_TIMEOUT", "1"),
            ("GDAL_HTTP_MAX_RETRY", "0"),
            ("GDAL_HTTP_CONNECTTIMEOUT", "1"),
            ("CPL_VSIL_CURL_USE_HEAD", "NO"),
            ("OGR_GEOJSON_MAX_OBJ_SIZE", "200MB"),
        ] {
            // A failure here only means the option stays at GDAL's default; the driver
            // allow-list and the path check still refuse every URL.
            let _ = gdal::config::set_config_option(key, value);
        }
    });
}

fn refused(path: &Path, reason: String) -> IngestError {
    IngestError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Checks `path` against the formats `allowed` and the [`LIMITS`]; returns its format.
///
/// # Errors
/// [`IngestError::NotFound`] for a missing file, [`IngestError::Refused`] for anything else
/// outside the allow-list or the limits.
pub fn check(path: &Path, allowed: &[Format], limits: &Limits) -> Result<Format, IngestError> {
    let text = path.to_string_lossy();
    if text.to_ascii_lowercase().contains("/vsi") {
        return Err(refused(
            path,
            "GDAL virtual file system paths (/vsi...) are not accepted; give a plain file".into(),
        ));
    }
    if let Some((scheme, _)) = text.split_once(':')
        && !scheme.contains(['/', '\\'])
        && scheme.len() > 1
    {
        return Err(refused(
            path,
            format!(
                "connection strings and URLs ({scheme}:...) are not accepted; give a plain file"
            ),
        ));
    }
    let meta = std::fs::metadata(path).map_err(|_| IngestError::NotFound {
        path: path.to_path_buf(),
    })?;
    let accepted = || {
        allowed
            .iter()
            .map(|f| {
                format!(
                    "{} ({})",
                    f.name(),
                    f.extensions()
                        .iter()
                        .map(|e| format!(".{e}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let Some(format) = allowed
        .iter()
        .copied()
        .find(|f| f.extensions().contains(&ext.as_str()))
    else {
        return Err(refused(
            path,
            format!(
                "{} files are not accepted for this import; expected {}",
                if ext.is_empty() {
                    "extensionless".to_string()
                } else {
                    format!(".{ext}")
                },
                accepted()
            ),
        ));
    };
    if !meta.is_file() {
        return Err(refused(path, "not a regular file".into()));
    }
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut head))
        .map_err(|e| IngestError::CannotOpen {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let head = &head[..n];
    let not_a = |what: &str| {
        refused(
            path,
            format!(
                "not a {} file (its first bytes are not those of one{what}); expected {}",
                format.name(),
                accepted()
            ),
        )
    };
    match format {
        Format::GeoPackage if !head.starts_with(b"SQLite format 3\0") => return Err(not_a("")),
        Format::Xlsx | Format::ZippedShapefile if !head.starts_with(b"PK\x03\x04") => {
            return Err(not_a(": a zip container"));
        }
        Format::Shapefile if !head.starts_with(&[0, 0, 0x27, 0x0a]) => return Err(not_a("")),
        Format::Shapefile => {
            for part in ["dbf", "shx"] {
                if !sibling_exists(path, part) {
                    return Err(refused(
                        path,
                        format!(
                            "the shapefile's .{part} is missing: a shapefile is several files with one name (.shp, .shx, .dbf, often .prj); put them in one folder, or zip them and import the .zip"
                        ),
                    ));
                }
            }
        }
        Format::GeoJson => {
            let first = skip_bom(head).iter().find(|b| !b.is_ascii_whitespace());
            if first != Some(&b'{') {
                return Err(not_a(": a JSON object"));
            }
        }
        Format::Csv => {
            let first = skip_bom(head).iter().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'<' | b'{')) || head.starts_with(b"PK\x03\x04") {
                return Err(not_a(": text rows, not XML, JSON or a zip"));
            }
        }
        _ => {}
    }
    match format {
        Format::Csv | Format::GeoJson => scan_text(path, format, limits)?,
        Format::Xlsx | Format::ZippedShapefile => scan_zip(path, format, limits)?,
        Format::GeoPackage | Format::Shapefile => {}
    }
    Ok(format)
}

/// True when the file beside `path` with extension `ext` (any case) exists.
fn sibling_exists(path: &Path, ext: &str) -> bool {
    [ext.to_string(), ext.to_ascii_uppercase()]
        .iter()
        .any(|e| path.with_extension(e).is_file())
}

/// GDAL's reason for failing to open `path` as a sentence that names the file's format and
/// the likely cause: GDAL's own text is often a bare code (`returned error: '6'`) or empty.
pub fn gdal_failure(path: &Path, format: Format, gdal: &str) -> String {
    let name = format.name();
    if let Some(cause) = io_cause(path) {
        return cause;
    }
    let detail = gdal
        .split_once("Error msg: ")
        .map_or(gdal, |(_, m)| m)
        .trim()
        .trim_matches(['\'', '"'])
        .trim();
    let bare = detail.is_empty()
        || detail.starts_with("returned error")
        || detail
            .chars()
            .all(|c| c.is_ascii_digit() || "'\" ".contains(c))
        || detail.contains("returned a null pointer");
    if bare {
        format!(
            "GDAL could not read it as a {name} file: it is damaged, cut off or not really a {name} file"
        )
    } else {
        format!("GDAL could not read it as a {name} file: {detail}")
    }
}

/// A cause the file system can tell: not readable by this program, or not there any more.
fn io_cause(path: &Path) -> Option<String> {
    match std::fs::File::open(path) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some("the file is not readable by this program (permission denied)".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("the file disappeared while it was being read".into())
        }
        Err(e) => Some(format!("the file cannot be read: {e}")),
    }
}

fn skip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Meters a text input: indirection, NUL, cell, row and column limits. A CSV field is counted
/// from separator to separator outside quotes; a GeoJSON string between its quotes.
fn scan_text(path: &Path, format: Format, limits: &Limits) -> Result<(), IngestError> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::CannotOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut buf = vec![0u8; 1 << 16];
    // The last bytes of the previous chunk, so `/vsi` split over two chunks is still seen.
    let mut tail: Vec<u8> = Vec::new();
    let (mut line, mut column, mut cell, mut in_quotes, mut escaped) =
        (1u64, 1u64, 0u64, false, false);
    let mut rows = 0u64;
    let mut row_has_data = false;
    loop {
        let n = reader.read(&mut buf).map_err(|e| IngestError::CannotOpen {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(&chunk[..n.min(8)]);
        if contains_vsi(&window) || contains_vsi(chunk) {
            return Err(refused(
                path,
                "it names a GDAL virtual file system path (/vsi...), which could make the server read other files or URLs".into(),
            ));
        }
        tail = chunk[n.saturating_sub(8)..].to_vec();
        for &b in chunk {
            if b == 0 {
                return Err(refused(
                    path,
                    format!("line {line}, column {column} holds a NUL character; expected text"),
                ));
            }
            if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f {
                return Err(refused(
                    path,
                    format!(
                        "line {line}, column {column} holds a control character (byte 0x{b:02x}); expected text"
                    ),
                ));
            }
            match format {
                Format::GeoJson => {
                    if in_quotes {
                        if escaped {
                            escaped = false;
                        } else if b == b'\\' {
                            escaped = true;
                        } else if b == b'"' {
                            in_quotes = false;
                            cell = 0;
                            continue;
                        }
                        cell += 1;
                        if cell > limits.cell_bytes {
                            return Err(refused(
                                path,
                                format!(
                                    "line {line} holds a string longer than {}, the limit of one value",
                                    mib(limits.cell_bytes)
                                ),
                            ));
                        }
                    } else if b == b'"' {
                        in_quotes = true;
                    }
                    if b == b'\n' {
                        line += 1;
                    }
                }
                _ => {
                    if b == b'"' {
                        in_quotes = !in_quotes;
                    }
                    let ends_field = !in_quotes && matches!(b, b',' | b';' | b'\t');
                    let ends_row = !in_quotes && b == b'\n';
                    if ends_field {
                        column += 1;
                        cell = 0;
                        if column > limits.columns {
                            return Err(refused(
                                path,
                                format!(
                                    "line {line} has more than {} columns, the limit",
                                    limits.columns
                                ),
                            ));
                        }
                    } else if ends_row {
                        if row_has_data {
                            rows += 1;
                        }
                        if rows > limits.rows {
                            return Err(refused(
                                path,
                                format!("it has more than {} rows, the limit", limits.rows),
                            ));
                        }
                        line += 1;
                        column = 1;
                        cell = 0;
                        row_has_data = false;
                    } else if b != b'\r' {
                        cell += 1;
                        row_has_data = true;
                        if cell > limits.cell_bytes {
                            return Err(refused(
                                path,
                                format!(
                                    "line {line}, column {column} holds more than {}, the limit of one cell",
                                    mib(limits.cell_bytes)
                                ),
                            ));
                        }
                    }
                    if b == b'\n' && in_quotes {
                        line += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

fn contains_vsi(b: &[u8]) -> bool {
    b.windows(4).any(|w| w.eq_ignore_ascii_case(b"/vsi"))
}

/// Meters a zip container: entries, total decompressed size (by decompressing, not by the
/// sizes the zip claims), and for XLSX the cells, rows and columns of its XML; a zipped
/// shapefile may hold only shapefile parts.
fn scan_zip(path: &Path, format: Format, limits: &Limits) -> Result<(), IngestError> {
    let file = std::fs::File::open(path).map_err(|e| IngestError::CannotOpen {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| refused(path, format!("not a readable {} file ({e})", format.name())))?;
    if zip.len() > limits.zip_entries {
        return Err(refused(
            path,
            format!(
                "it holds {} entries, more than the limit of {}",
                zip.len(),
                limits.zip_entries
            ),
        ));
    }
    let too_big = || {
        refused(
            path,
            format!(
                "it decompresses to more than {}, the limit of a compressed upload",
                mib(limits.decompressed_bytes)
            ),
        )
    };
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| refused(path, format!("entry {i} cannot be read ({e})")))?;
        let name = entry.name().to_string();
        let lower = name.to_ascii_lowercase();
        if format == Format::ZippedShapefile && !entry.is_dir() {
            let ok = [
                ".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".txt",
                ".pdf",
            ]
            .iter()
            .any(|e| lower.ends_with(e));
            if !ok {
                return Err(refused(
                    path,
                    format!(
                        "the zip holds {name}, which is not part of a shapefile; expected only .shp, .shx, .dbf, .prj and .cpg files"
                    ),
                ));
            }
        }
        if entry.size() > limits.decompressed_bytes.saturating_sub(total) {
            return Err(too_big());
        }
        let is_sheet_xml = format == Format::Xlsx
            && (lower.starts_with("xl/worksheets/") || lower == "xl/sharedstrings.xml");
        let mut meter = XmlMeter::default();
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| refused(path, format!("entry {name} cannot be decompressed ({e})")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.decompressed_bytes {
                return Err(too_big());
            }
            if format == Format::Xlsx && contains_vsi(&buf[..n]) {
                return Err(refused(
                    path,
                    "it names a GDAL virtual file system path (/vsi...), which could make the server read other files or URLs".into(),
                ));
            }
            if is_sheet_xml {
                meter.feed(&buf[..n]);
                if meter.longest_text > limits.cell_bytes {
                    return Err(refused(
                        path,
                        format!(
                            "a cell holds more than {}, the limit of one cell",
                            mib(limits.cell_bytes)
                        ),
                    ));
                }
                if meter.rows > limits.rows {
                    return Err(refused(
                        path,
                        format!("a sheet has more than {} rows, the limit", limits.rows),
                    ));
                }
                if meter.max_columns > limits.columns {
                    return Err(refused(
                        path,
                        format!("a row has more than {} columns, the limit", limits.columns),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Counts, over a stream of spreadsheet XML, the longest text between two tags, the `<row>`
/// elements and the most `<c>` cells in one row. Not a parser: a meter for the limits.
#[derive(Default)]
struct XmlMeter {
    in_tag: bool,
    name: Vec<u8>,
    naming: bool,
    text: u64,
    longest_text: u64,
    rows: u64,
    columns: u64,
    max_columns: u64,
}

impl XmlMeter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_tag {
                if self.naming {
                    if b.is_ascii_whitespace() || b == b'>' || b == b'/' {
                        self.naming = false;
                        self.end_name();
                    } else if self.name.len() < 8 {
                        self.name.push(b);
                    }
                }
                if b == b'>' {
                    self.in_tag = false;
                    self.text = 0;
                }
            } else if b == b'<' {
                self.in_tag = true;
                self.naming = true;
                self.name.clear();
            } else {
                self.text += 1;
                self.longest_text = self.longest_text.max(self.text);
            }
        }
    }

    fn end_name(&mut self) {
        match self.name.as_slice() {
            b"row" => {
                self.rows += 1;
                self.columns = 0;
            }
            b"c" => {
                self.columns += 1;
                self.max_columns = self.max_columns.max(self.columns);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            decompressed_bytes: 4096,
            zip_entries: 10,
            cell_bytes: 16,
            rows: 3,
            columns: 3,
        }
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    fn reason(r: Result<Format, IngestError>) -> String {
        match r {
            Err(IngestError::Refused { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_csv_within_the_limits_passes_and_each_limit_is_named_when_broken() {
        let dir = tempfile::tempdir().expect("dir");
        let ok = write(dir.path(), "a.csv", b"x,y\n1,2\n\"a,b\",3\n");
        assert_eq!(
            check(&ok, POINT_FORMATS, &small()).expect("passes"),
            Format::Csv
        );
        let rows = write(dir.path(), "r.csv", b"x\n1\n2\n3\n4\n");
        assert!(reason(check(&rows, POINT_FORMATS, &small())).contains("3 rows"));
        let cols = write(dir.path(), "c.csv", b"a;b;c;d\n");
        assert!(reason(check(&cols, POINT_FORMATS, &small())).contains("3 columns"));
        let cell = write(dir.path(), "l.csv", b"x\n01234567890123456789\n");
        let m = reason(check(&cell, POINT_FORMATS, &small()));
        assert!(
            m.contains("line 2, column 1") && m.contains("one cell"),
            "{m}"
        );
        let nul = write(dir.path(), "n.csv", b"x,y\n1,a\0b\n");
        assert!(reason(check(&nul, POINT_FORMATS, &small())).contains("line 2, column 2"));
    }

    #[test]
    fn vsi_paths_urls_and_unlisted_extensions_are_refused_before_reading() {
        let dir = tempfile::tempdir().expect("dir");
        for p in [
            "/vsicurl/http://example.org/a.csv",
            "PG:dbname=x",
            "https://x/a.csv",
        ] {
            let m = reason(check(Path::new(p), POINT_FORMATS, &LIMITS));
            assert!(m.contains("not accepted"), "{p}: {m}");
        }
        let vrt = write(dir.path(), "a.vrt", b"<OGRVRTDataSource/>");
        assert!(reason(check(&vrt, POINT_FORMATS, &LIMITS)).contains(".vrt files"));
        let gpkg = write(dir.path(), "a.gpkg", b"not sqlite at all");
        assert!(reason(check(&gpkg, POINT_FORMATS, &LIMITS)).contains("not a GeoPackage"));
        let csv = write(dir.path(), "b.csv", b"x\n/vsicurl/http://example.org\n");
        assert!(reason(check(&csv, POINT_FORMATS, &LIMITS)).contains("/vsi"));
    }
}
