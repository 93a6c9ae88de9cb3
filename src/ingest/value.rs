//! Cell values of CBS tables: numbers in any of the forms CBS publishes, with its sentinels
//! for "secret", "unknown" and "not applicable" turned into missing values, never numbers.

use gdal::vector::FieldValue;

/// CBS sentinels for missing values: wijk- en buurtkaart up to 2021 (`-99999999`, `-99999997`),
/// vierkantstatistieken and kaart 2022+ (`-99997`, `-99995`). The key-figure tables use `.`.
pub const SENTINELS: [f64; 4] = [-99_999_999.0, -99_999_997.0, -99_997.0, -99_995.0];

/// A numeric cell after sentinel handling.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A real number.
    Number(f64),
    /// NULL, empty, `.` or a CBS sentinel.
    Missing,
    /// Text that is not a number (kept for the report).
    NotANumber(String),
}

/// Parses a text cell: trims, accepts a decimal comma, treats empty, `.`, `-` and sentinels as
/// missing.
///
/// # Examples
/// ```
/// use buurtcirkel::ingest::value::{parse_text, Cell};
/// assert_eq!(parse_text(" 12,5 "), Cell::Number(12.5));
/// assert_eq!(parse_text("."), Cell::Missing);
/// assert_eq!(parse_text("-99999999"), Cell::Missing);
/// assert_eq!(parse_text("-99997"), Cell::Missing);
/// assert_eq!(parse_text("abc"), Cell::NotANumber("abc".into()));
/// ```
pub fn parse_text(text: &str) -> Cell {
    let t = text.trim().trim_matches('"').trim();
    if t.is_empty() || t == "." || t == "-" || t == "x" || t.eq_ignore_ascii_case("na") {
        return Cell::Missing;
    }
    let normalised;
    let t = if t.contains(',') && !t.contains('.') {
        normalised = t.replace(',', ".");
        normalised.as_str()
    } else {
        t
    };
    match t.parse::<f64>() {
        Ok(v) => number(v),
        Err(_) => Cell::NotANumber(text.trim().to_string()),
    }
}

/// A number after the sentinel check.
pub fn number(v: f64) -> Cell {
    if !v.is_finite() || SENTINELS.contains(&v) {
        Cell::Missing
    } else {
        Cell::Number(v)
    }
}

/// A GDAL field value as a numeric cell.
pub fn from_field(v: Option<FieldValue>) -> Cell {
    match v {
        None => Cell::Missing,
        Some(FieldValue::IntegerValue(i)) => number(f64::from(i)),
        #[allow(clippy::cast_precision_loss)]
        Some(FieldValue::Integer64Value(i)) => number(i as f64),
        Some(FieldValue::RealValue(r)) => number(r),
        Some(FieldValue::StringValue(s)) => parse_text(&s),
        Some(other) => Cell::NotANumber(format!("{other:?}")),
    }
}

/// A GDAL field value as trimmed text (numbers formatted plainly); `None` for NULL or empty.
pub fn text_of(v: Option<FieldValue>) -> Option<String> {
    let s = match v? {
        FieldValue::StringValue(s) => s,
        FieldValue::IntegerValue(i) => i.to_string(),
        FieldValue::Integer64Value(i) => i.to_string(),
        FieldValue::RealValue(r) => r.to_string(),
        other => format!("{other:?}"),
    };
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cbs_sentinel_is_missing_never_a_number() {
        for s in ["-99999999", "-99999997", "-99997", "-99995", ".", "", "  "] {
            assert_eq!(parse_text(s), Cell::Missing, "{s:?}");
        }
        for v in SENTINELS {
            assert_eq!(number(v), Cell::Missing);
        }
        assert_eq!(
            from_field(Some(FieldValue::IntegerValue(-99_999_999))),
            Cell::Missing
        );
        assert_eq!(from_field(None), Cell::Missing);
    }

    #[test]
    fn ordinary_negative_numbers_stay_numbers() {
        assert_eq!(parse_text("-3"), Cell::Number(-3.0));
        assert_eq!(parse_text("1.8"), Cell::Number(1.8));
    }
}
