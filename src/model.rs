//! Domain types shared by every step of the data flow: area codes and levels, CBS key figures,
//! areas, anonymised clients, meeting places, existing circles and client-count buckets.
//!
//! All geometry is in RD New (EPSG:28992), metres; fields say so with an `_rd` suffix.
//! This module depends on nothing but `geo-types` and `serde`: no GDAL, no files, no clock.

use std::fmt;

use geo_types::{Geometry, MultiPolygon, Point};
use serde::{Deserialize, Serialize};

/// The three CBS area levels, from coarse to fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A municipality, code `GMgggg`.
    Gemeente,
    /// A district, code `WKggggww`.
    Wijk,
    /// A neighbourhood, code `BUggggwwbb`.
    Buurt,
}

impl Level {
    /// All levels, coarse to fine.
    pub const ALL: [Level; 3] = [Level::Gemeente, Level::Wijk, Level::Buurt];

    /// The two-letter CBS code prefix (`GM`, `WK`, `BU`).
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Gemeente => "GM",
            Level::Wijk => "WK",
            Level::Buurt => "BU",
        }
    }

    /// The number of digits after the prefix (4, 6, 8).
    pub fn digits(self) -> usize {
        match self {
            Level::Gemeente => 4,
            Level::Wijk => 6,
            Level::Buurt => 8,
        }
    }

    /// The store layer and API collection name (`gemeenten`, `wijken`, `buurten`).
    pub fn collection(self) -> &'static str {
        match self {
            Level::Gemeente => "gemeenten",
            Level::Wijk => "wijken",
            Level::Buurt => "buurten",
        }
    }

    /// The level whose collection is called `name`, if any.
    pub fn from_collection(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.collection() == name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Gemeente => "gemeente",
            Level::Wijk => "wijk",
            Level::Buurt => "buurt",
        })
    }
}

/// A validated CBS area code such as `GM0233`, `WK023301` or `BU02330105`.
///
/// The code carries its own hierarchy: the wijk and gemeente of a buurt are prefixes of its
/// digits, so parents never have to come from another column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

/// Why a text is not a CBS area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a CBS area code: expected GM + 4 digits, WK + 6 digits or BU + 8 digits")]
pub struct BadAreaCode {
    /// The offending text.
    pub text: String,
}

impl AreaCode {
    /// Parses a code, accepting surrounding spaces and lower-case prefixes.
    ///
    /// # Examples
    /// ```
    /// use buurtcirkel::model::{AreaCode, Level};
    /// let bu = AreaCode::parse(" bu02330105").unwrap();
    /// assert_eq!(bu.as_str(), "BU02330105");
    /// assert_eq!(bu.level(), Level::Buurt);
    /// assert_eq!(bu.wijk().unwrap().as_str(), "WK023301");
    /// assert_eq!(bu.gemeente().as_str(), "GM0233");
    /// assert!(AreaCode::parse("PV20").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<AreaCode, BadAreaCode> {
        let t = text.trim();
        let bad = || BadAreaCode {
            text: text.to_string(),
        };
        if t.len() < 3 || !t.is_ascii() {
            return Err(bad());
        }
        let prefix = t[..2].to_ascii_uppercase();
        let digits = &t[2..];
        let level = Level::ALL
            .into_iter()
            .find(|l| l.prefix() == prefix)
            .ok_or_else(bad)?;
        if digits.len() != level.digits() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(AreaCode(format!("{prefix}{digits}")))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level the prefix names.
    pub fn level(&self) -> Level {
        match &self.0[..2] {
            "GM" => Level::Gemeente,
            "WK" => Level::Wijk,
            _ => Level::Buurt,
        }
    }

    /// The gemeente this area lies in (itself for a gemeente).
    pub fn gemeente(&self) -> AreaCode {
        AreaCode(format!("GM{}", &self.0[2..6]))
    }

    /// The wijk this area lies in (itself for a wijk, `None` for a gemeente).
    pub fn wijk(&self) -> Option<AreaCode> {
        match self.level() {
            Level::Gemeente => None,
            _ => Some(AreaCode(format!("WK{}", &self.0[2..8]))),
        }
    }

    /// True for codes CBS reserves for water: wijk number `99` (`WKgggg99`, `BUgggg99bb`).
    pub fn is_water_code(&self) -> bool {
        self.level() != Level::Gemeente && &self.0[6..8] == "99"
    }
}

impl TryFrom<String> for AreaCode {
    type Error = BadAreaCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AreaCode::parse(&s)
    }
}

impl From<AreaCode> for String {
    fn from(c: AreaCode) -> String {
        c.0
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The CBS key figures the suitability model uses. `None` means missing: CBS suppressed it
/// (secret, unreliable, not applicable) or the source did not have it. Never a sentinel number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Inhabitants (CBS `a_inw`, `AANT_INW`, `aantal_inwoners`).
    pub inwoners: Option<f64>,
    /// Private households (CBS `a_hh`, `AANT_HH`, `aantal_huishoudens`).
    pub huishoudens: Option<f64>,
    /// Percentage of inhabitants aged 65 or older (`P_65_EO_JR`, or `a_65_oo / a_inw`).
    pub p_65plus: Option<f64>,
    /// Percentage of households that are one-person households (`P_EENP_HH`, or `a_1p_hh / a_hh`).
    pub p_eenpersoonshh: Option<f64>,
    /// Percentage of persons in households with the lowest 40% of national income (`p_ink_li`).
    pub p_laag_inkomen: Option<f64>,
    /// Surrounding address density, addresses per km² (`OAD`, `omgevingsadressendichtheid`, `ste_oad`).
    pub adresdichtheid: Option<f64>,
    /// Inhabitants per km² of land (`BEV_DICHTH`, `bev_dich`).
    pub bevolkingsdichtheid: Option<f64>,
    /// Total area in km², inland water included (tmap `area`).
    pub oppervlakte_km2: Option<f64>,
    /// Mean WOZ value of dwellings, in 1000 euro (`g_wozbag`, `WOZ`, tmap `dwelling_value`).
    pub woz_waarde: Option<f64>,
    /// Percentage of dwellings that are owner-occupied (`p_koopw`, tmap `dwelling_ownership`).
    pub p_koopwoningen: Option<f64>,
    /// Percentage of dwellings owned by a housing corporation (`p_wcorpw`): social rental.
    pub p_corporatiewoningen: Option<f64>,
    /// Persons on social assistance (bijstand) per 100 inhabitants (`a_soz_wb / a_inw`).
    pub p_bijstand: Option<f64>,
    /// Every other numeric column of an imported figure table, by its lower-case column name
    /// (e.g. an RIVM loneliness estimate `eenzaamheid_pct`); `None` inside = a CBS sentinel or an
    /// empty cell. Criteria files name these as custom indicators (`[[indicator]] kolom`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extra: std::collections::BTreeMap<String, Option<f64>>,
}

/// Names of the figure fields, as stored and published, in a fixed order.
pub const FIGURE_FIELDS: [&str; 12] = [
    "inwoners",
    "huishoudens",
    "p_65plus",
    "p_eenpersoonshh",
    "p_laag_inkomen",
    "adresdichtheid",
    "bevolkingsdichtheid",
    "oppervlakte_km2",
    "woz_waarde",
    "p_koopwoningen",
    "p_corporatiewoningen",
    "p_bijstand",
];

impl Figures {
    /// The figure values in the order of [`FIGURE_FIELDS`].
    pub fn values(&self) -> [Option<f64>; 12] {
        [
            self.inwoners,
            self.huishoudens,
            self.p_65plus,
            self.p_eenpersoonshh,
            self.p_laag_inkomen,
            self.adresdichtheid,
            self.bevolkingsdichtheid,
            self.oppervlakte_km2,
            self.woz_waarde,
            self.p_koopwoningen,
            self.p_corporatiewoningen,
            self.p_bijstand,
        ]
    }

    /// The value of the column `name`: a known field of [`FIGURE_FIELDS`] or an extra column.
    /// The outer `None`: this area has no such column (it was never imported); `Some(None)`:
    /// imported, but missing here (a CBS sentinel or an empty cell).
    pub fn column(&self, name: &str) -> Option<Option<f64>> {
        match FIGURE_FIELDS.iter().position(|f| *f == name) {
            Some(i) => Some(self.values()[i]),
            None => self.extra.get(name).copied(),
        }
    }

    /// A mutable reference to the field called `name` (one of [`FIGURE_FIELDS`]).
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<f64>> {
        Some(match name {
            "inwoners" => &mut self.inwoners,
            "huishoudens" => &mut self.huishoudens,
            "p_65plus" => &mut self.p_65plus,
            "p_eenpersoonshh" => &mut self.p_eenpersoonshh,
            "p_laag_inkomen" => &mut self.p_laag_inkomen,
            "adresdichtheid" => &mut self.adresdichtheid,
            "bevolkingsdichtheid" => &mut self.bevolkingsdichtheid,
            "oppervlakte_km2" => &mut self.oppervlakte_km2,
            "woz_waarde" => &mut self.woz_waarde,
            "p_koopwoningen" => &mut self.p_koopwoningen,
            "p_corporatiewoningen" => &mut self.p_corporatiewoningen,
            "p_bijstand" => &mut self.p_bijstand,
            _ => return None,
        })
    }
}

/// One cell of the CBS square statistics (vierkantstatistieken, 100 m or 500 m): its centre
/// and its inhabitants. Used only for the participant estimate; never client data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridCell {
    /// Cell centre, RD New metres.
    pub centre_rd: Point<f64>,
    /// Inhabitants; `None` when CBS suppressed the figure (`-99997`: fewer than 5).
    pub inwoners: Option<f64>,
}

/// A gemeente, wijk or buurt with its boundary and key figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// The CBS code; its prefix is the level.
    pub code: AreaCode,
    /// The CBS name (may be empty when the source has none).
    pub name: String,
    /// True for water-only areas (`water = JA`, or a `99` wijk number): kept, flagged, never scored.
    pub water: bool,
    /// Key figures.
    pub figures: Figures,
    /// Boundary in RD New, metres.
    pub geometry_rd: MultiPolygon<f64>,
}

impl Area {
    /// The level, from the code.
    pub fn level(&self) -> Level {
        self.code.level()
    }
}

/// One anonymised client: a location snapped to the 25 m grid and an optional target group.
/// There is deliberately no identifier, name or any other attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// Snapped location in RD New, metres.
    pub position_rd: Point<f64>,
    /// Target group (`ggz`, `lvb`, `ouderen`, `nieuwkomers`, ...), lower case.
    pub doelgroep: Option<String>,
    /// The client's random cell key, uniform in `[0, 1)`, drawn once on ingest from the OS
    /// random generator and kept with the client in the private file; published counts are
    /// perturbed by the keys of their members (docs/privacy.md, "Counts").
    #[serde(default)]
    pub key: f64,
}

/// A fresh client cell key, uniform in `[0, 1)`, from the operating system's random generator
/// (never a seeded one: a key an outsider could recompute would undo the perturbation).
pub fn new_client_key() -> f64 {
    use rand::Rng;
    rand::rngs::OsRng.gen_range(0.0..1.0)
}

/// Fresh client cell keys for a whole import: a ChaCha20 stream whose 256-bit seed comes from
/// the operating system's random generator, one per import (the kernel's generator is itself
/// a ChaCha20 stream; this saves a system call per client, and no outsider can recompute a
/// seed they never saw). Falls back to [`new_client_key`] per key if the seed cannot be drawn.
pub struct ClientKeys(Option<rand_chacha::ChaCha20Rng>);

impl ClientKeys {
    /// A new stream, seeded from the OS.
    pub fn new() -> ClientKeys {
        use rand::SeedableRng;
        ClientKeys(rand_chacha::ChaCha20Rng::from_rng(rand::rngs::OsRng).ok())
    }

    /// The next key, uniform in `[0, 1)`.
    pub fn next_key(&mut self) -> f64 {
        use rand::Rng;
        match &mut self.0 {
            Some(rng) => rng.gen_range(0.0..1.0),
            None => new_client_key(),
        }
    }
}

impl Default for ClientKeys {
    fn default() -> ClientKeys {
        ClientKeys::new()
    }
}

/// The grid, in metres, to which client locations are snapped on ingest (docs/privacy.md).
pub const CLIENT_SNAP_M: f64 = 25.0;

/// Snaps an RD coordinate to the centre-free grid of `cell_m` metres (nearest multiple).
///
/// # Examples
/// ```
/// use buurtcirkel::model::snap;
/// assert_eq!(snap(155_012.4, 25.0), 155_000.0);
/// assert_eq!(snap(155_013.0, 25.0), 155_025.0);
/// ```
pub fn snap(v: f64, cell_m: f64) -> f64 {
    (v / cell_m).round() * cell_m
}

/// A place where a circle can meet: a wijkcentrum, library, church hall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// Stable identifier within the store.
    pub id: i64,
    /// Name, e.g. "Wijkcentrum De Linde".
    pub name: String,
    /// Kind, e.g. `wijkcentrum`, `bibliotheek`, `kerk`, `buurthuis`.
    pub kind: String,
    /// Location in RD New, metres.
    pub position_rd: Point<f64>,
}

/// An existing Buurtcirkel, as a point (its meeting place) or as the area it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Circle {
    /// Stable identifier within the store.
    pub id: i64,
    /// Name, e.g. "Buurtcirkel Oost".
    pub name: String,
    /// Point or (multi)polygon in RD New, metres.
    pub geometry_rd: Geometry<f64>,
}

/// A published client count: exact counts never leave the process (docs/privacy.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Bucket {
    /// Fewer than 5: too few to start a circle.
    #[serde(rename = "<5")]
    Under5,
    /// 5 to 8: enough to start.
    #[serde(rename = "5-8")]
    From5To8,
    /// 9 to 12: the target size of a circle.
    #[serde(rename = "9-12")]
    From9To12,
    /// More than 12: room for more than one circle.
    #[serde(rename = ">12")]
    Over12,
}

impl Bucket {
    /// The bucket of an exact count.
    ///
    /// # Examples
    /// ```
    /// use buurtcirkel::model::Bucket;
    /// assert_eq!(Bucket::of(0), Bucket::Under5);
    /// assert_eq!(Bucket::of(5), Bucket::From5To8);
    /// assert_eq!(Bucket::of(12), Bucket::From9To12);
    /// assert_eq!(Bucket::of(13).label(), ">12");
    /// ```
    pub fn of(count: usize) -> Bucket {
        match count {
            0..=4 => Bucket::Under5,
            5..=8 => Bucket::From5To8,
            9..=12 => Bucket::From9To12,
            _ => Bucket::Over12,
        }
    }

    /// The published label: `<5`, `5-8`, `9-12`, `>12`.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Under5 => "<5",
            Bucket::From5To8 => "5-8",
            Bucket::From9To12 => "9-12",
            Bucket::Over12 => ">12",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_with_wrong_digit_counts_are_rejected() {
        for bad in [
            "GM233",
            "WK0233011",
            "BU0233010",
            "XX0233",
            "",
            "GM02a3",
            "BU0233010é",
        ] {
            assert!(AreaCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn water_codes_are_recognised_by_wijk_number_99() {
        assert!(AreaCode::parse("BU02339997").unwrap().is_water_code());
        assert!(AreaCode::parse("WK023399").unwrap().is_water_code());
        assert!(!AreaCode::parse("BU02330199").unwrap().is_water_code());
        assert!(!AreaCode::parse("GM0299").unwrap().is_water_code());
    }
}

/// The type of a field in a published [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text.
    Text,
    /// Whole number.
    Integer,
    /// Real number.
    Real,
    /// Yes/no.
    Boolean,
    /// A nested JSON object (stored as JSON text in files).
    Json,
}

/// One feature of a [`Table`]: an id, RD New geometry and one value per field.
#[derive(Debug, Clone)]
pub struct TableFeature {
    /// Stable id (area code or number).
    pub id: String,
    /// Geometry in RD New, metres.
    pub geometry_rd: Geometry<f64>,
    /// Values in field order.
    pub values: Vec<serde_json::Value>,
}

/// A publishable table of features: what the API serves, exports write and the store keeps
/// as analysis results. Built only from published (privacy-safe) structures.
#[derive(Debug, Clone)]
pub struct Table {
    /// Collection id (`buurten`, `clusters`, ...).
    pub name: &'static str,
    /// Dutch title.
    pub title: &'static str,
    /// Field names and types.
    pub fields: Vec<(&'static str, FieldType)>,
    /// Features.
    pub features: Vec<TableFeature>,
}
