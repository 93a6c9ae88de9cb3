//! The publishable layers, built once and shared by every way out (HTTP API, tiles, exports),
//! so the privacy rules are applied in exactly one place.
//!
//! Inputs: the store snapshot (RD New) and an analysis with scores. Outputs: [`Layer`]s with
//! RD New geometry and plain JSON values. Client points are not among the inputs a layer reads:
//! only generalised clusters and sites, and buckets (docs/privacy.md).

use geo_types::Geometry;
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::analysis::run::Analysis;
use crate::analysis::score::AreaScore;
use crate::analysis::weights::{CRITERIA, Criterion};
use crate::model::{FIGURE_FIELDS, FieldType, Level, Table as Layer, TableFeature as Feature};
use crate::store::StoreData;

/// The collections, in the order the API lists them.
pub const COLLECTIONS: [&str; 7] = [
    "gemeenten",
    "wijken",
    "buurten",
    "clusters",
    "sites",
    "places",
    "circles",
];

/// Collections whose geometry follows client positions: only planners read them (items, tiles,
/// exports), unless the store holds only the demo's fictional clients (docs/privacy.md, Tiers).
pub const PLANNER_COLLECTIONS: [&str; 2] = ["clusters", "sites"];

/// Builds the layer called `name`, or `None` for an unknown name.
pub fn build(
    name: &str,
    data: &StoreData,
    analysis: &Analysis,
    scores: &[AreaScore<'_>],
) -> Option<Layer> {
    if let Some(level) = Level::from_collection(name) {
        return Some(area_layer(level, data, analysis, scores, false));
    }
    Some(match name {
        "clusters" => Layer {
            name: "clusters",
            title: "Clusters van mogelijke deelnemers (gegeneraliseerd)",
            fields: vec![("deelnemers", FieldType::Text)],
            features: analysis
                .published
                .clusters
                .iter()
                .map(|c| Feature {
                    id: c.id.to_string(),
                    geometry_rd: Geometry::MultiPolygon(c.geometry_rd.clone()),
                    values: vec![json!(c.members.label())],
                })
                .collect(),
        },
        "sites" => Layer {
            name: "sites",
            title: "Kandidaat-plekken voor een Buurtcirkel",
            fields: vec![
                ("cluster_id", FieldType::Integer),
                ("deelnemers", FieldType::Text),
                ("loopafstand_m", FieldType::Real),
                ("centrum_x_rd", FieldType::Real),
                ("centrum_y_rd", FieldType::Real),
                ("afstandsmaat", FieldType::Text),
                ("vorm", FieldType::Text),
            ],
            features: analysis
                .published
                .sites
                .iter()
                .map(|s| Feature {
                    id: s.id.to_string(),
                    // Along streets the area reachable on foot, else the walking-radius disk.
                    geometry_rd: s.reach_rd.as_ref().map_or_else(
                        || Geometry::Polygon(s.geometry_rd.clone()),
                        |r| Geometry::MultiPolygon(r.clone()),
                    ),
                    values: vec![
                        json!(s.cluster_id),
                        json!(s.participants.label()),
                        json!(analysis.params.walk_m),
                        json!(s.centre_rd.x()),
                        json!(s.centre_rd.y()),
                        json!(metric_label(analysis)),
                        json!(if s.reach_rd.is_some() {
                            "loopbereik"
                        } else {
                            "cirkel"
                        }),
                    ],
                })
                .collect(),
        },
        "places" => Layer {
            name: "places",
            title: "Ontmoetingsplekken",
            fields: vec![("naam", FieldType::Text), ("soort", FieldType::Text)],
            features: data
                .places
                .iter()
                .map(|p| Feature {
                    id: p.id.to_string(),
                    geometry_rd: Geometry::Point(p.position_rd),
                    values: vec![json!(p.name), json!(p.kind)],
                })
                .collect(),
        },
        "circles" => Layer {
            name: "circles",
            title: "Bestaande Buurtcirkels",
            fields: vec![("naam", FieldType::Text)],
            features: data
                .circles
                .iter()
                .map(|c| Feature {
                    id: c.id.to_string(),
                    geometry_rd: c.geometry_rd.clone(),
                    values: vec![json!(c.name)],
                })
                .collect(),
        },
        _ => return None,
    })
}

/// How walking distance was measured, as the API and the exports say it: `straatnetwerk`
/// (along the imported OSM streets) or `hemelsbreed` (straight line).
pub fn metric_label(analysis: &Analysis) -> &'static str {
    if analysis.summary.metric == crate::analysis::run::STREET_NETWORK {
        "straatnetwerk"
    } else {
        "hemelsbreed"
    }
}

/// The nested explanation (`toelichting`) also published flat, for desktop clients that read
/// only typed columns (QGIS reads a JSON object once and NULL after): per built-in criterion,
/// in [`Criterion::ALL`] order, `c_<key>_punten` (points added to the 0-100 score) and
/// `c_<key>_norm` (the normalised score, 0..1), both NULL when the value is missing or the area
/// is water. A criteria file's own indicators stay in `toelichting` only: their keys are
/// known at run time, and column names of the published model are fixed.
pub const FLAT_CRITERION_FIELDS: [(&str, &str); CRITERIA] = [
    ("c_participants_punten", "c_participants_norm"),
    ("c_p_65plus_punten", "c_p_65plus_norm"),
    ("c_p_eenpersoonshh_punten", "c_p_eenpersoonshh_norm"),
    ("c_p_laag_inkomen_punten", "c_p_laag_inkomen_norm"),
    ("c_p_sociale_huur_punten", "c_p_sociale_huur_norm"),
    ("c_p_bijstand_punten", "c_p_bijstand_norm"),
    ("c_laag_woz_punten", "c_laag_woz_norm"),
    ("c_adresdichtheid_punten", "c_adresdichtheid_norm"),
    ("c_meeting_place_punten", "c_meeting_place_norm"),
    ("c_no_existing_circle_punten", "c_no_existing_circle_norm"),
];

/// The properties of `gemeenten`, `wijken` and `buurten` with their types, in published order
/// (the same for every criteria file; its own indicators live in `toelichting`).
pub fn area_fields() -> Vec<(&'static str, FieldType)> {
    let mut fields: Vec<(&'static str, FieldType)> = vec![
        ("code", FieldType::Text),
        ("naam", FieldType::Text),
        ("gemeentecode", FieldType::Text),
        ("wijkcode", FieldType::Text),
        ("water", FieldType::Boolean),
    ];
    fields.extend(FIGURE_FIELDS.iter().map(|f| (*f, FieldType::Real)));
    fields.extend([
        ("deelnemers", FieldType::Text),
        ("deelnemers_geschat", FieldType::Real),
        ("schatting_bron", FieldType::Text),
        ("score", FieldType::Real),
        ("categorie", FieldType::Text),
        ("volledigheid", FieldType::Real),
        ("criteria_bekend", FieldType::Text),
        ("ontbreekt", FieldType::Text),
        ("ontbrekend", FieldType::Text),
        ("stabiliteit", FieldType::Text),
        ("stabiliteit_aandeel", FieldType::Real),
        ("rang", FieldType::Integer),
        ("rang_van", FieldType::Integer),
        ("redenen", FieldType::Text),
        ("toelichting", FieldType::Json),
        ("afstandsmaat", FieldType::Text),
    ]);
    for (punten, norm) in FLAT_CRITERION_FIELDS {
        fields.push((punten, FieldType::Real));
        fields.push((norm, FieldType::Real));
    }
    fields
}

/// One area level's layer for the compact scores of a slider move: the same values as
/// [`build`] for identity, figures, participants, score, category, completeness and rank, but
/// null for the explanation fields (`ontbreekt`, `ontbrekend`, `redenen`, `toelichting`, the
/// flat criterion columns) and no geometry (the caller holds the areas' geometries).
pub fn area_scores_layer(
    level: Level,
    data: &StoreData,
    analysis: &Analysis,
    scores: &[AreaScore<'_>],
) -> Layer {
    area_layer(level, data, analysis, scores, true)
}

fn area_layer(
    level: Level,
    data: &StoreData,
    analysis: &Analysis,
    scores: &[AreaScore<'_>],
    lean: bool,
) -> Layer {
    let fields = area_fields();
    let mut rows: Vec<(usize, usize)> = analysis
        .area_order
        .iter()
        .enumerate()
        .filter(|(_, i)| data.areas[**i].level() == level)
        .map(|(k, &i)| (k, i))
        .collect();
    rows.sort_by(|a, b| data.areas[a.1].code.cmp(&data.areas[b.1].code));
    // Rows are independent (14,000 buurten of ~50 values each): built on every core, collected
    // in order.
    let features = rows
        .into_par_iter()
        .map(|(k, i)| {
            let a = &data.areas[i];
            let s = scores.get(k);
            let mut values = vec![
                json!(a.code.as_str()),
                json!(a.name),
                json!(a.code.gemeente().as_str()),
                a.code.wijk().map_or(Value::Null, |w| json!(w.as_str())),
                json!(a.water),
            ];
            values.extend(
                a.figures
                    .values()
                    .iter()
                    .map(|v| v.map_or(Value::Null, |v| json!(v))),
            );
            values.push(analysis.participants[i].map_or(Value::Null, |b| json!(b.label())));
            let estimate = analysis.estimates.get(i).copied().flatten();
            values.push(estimate.map_or(Value::Null, |e| json!(e.expected)));
            values.push(estimate.map_or(Value::Null, |e| json!(e.source.label())));
            values.push(s.and_then(|s| s.score).map_or(Value::Null, |v| json!(v)));
            values.push(
                s.and_then(|s| s.category)
                    .map_or(Value::Null, |c| json!(c.label())),
            );
            let completeness = s.and_then(|s| s.completeness);
            values.push(completeness.map_or(Value::Null, |c| json!(c.weight_share)));
            values.push(
                completeness.map_or(Value::Null, |c| json!(format!("{}/{}", c.criteria, c.of))),
            );
            let s_explained = s.filter(|_| !lean);
            values.push(s_explained.map_or(Value::Null, |s| json!(s.explanation.cause_codes())));
            values.push(s_explained.map_or(Value::Null, |s| json!(s.explanation.causes_text())));
            let stability = s.and_then(|s| s.stability);
            values.push(stability.map_or(Value::Null, |t| json!(t.oordeel)));
            values.push(stability.map_or(Value::Null, |t| json!(t.categorie.min(t.top3))));
            values.push(s.and_then(|s| s.rank).map_or(Value::Null, |v| json!(v)));
            values.push(s.and_then(|s| s.rank_of).map_or(Value::Null, |v| json!(v)));
            values.push(s_explained.map_or(Value::Null, |s| {
                json!(s.explanation.top_reasons().join("; "))
            }));
            values.push(s_explained.map_or(Value::Null, |s| {
                let mut v = serde_json::to_value(&s.explanation).unwrap_or(Value::Null);
                if let Value::Object(o) = &mut v {
                    o.insert("afstandsmaat".into(), json!(metric_label(analysis)));
                }
                v
            }));
            values.push(json!(metric_label(analysis)));
            for c in Criterion::ALL {
                let e = s_explained.and_then(|s| s.explanation.criterion(c));
                let known = e.filter(|e| !e.missing);
                values.push(known.map_or(Value::Null, |e| json!(e.contribution)));
                values.push(
                    known
                        .and_then(|e| e.normalised)
                        .map_or(Value::Null, |v| json!(v)),
                );
            }
            Feature {
                id: a.code.to_string(),
                geometry_rd: if lean {
                    Geometry::MultiPolygon(geo_types::MultiPolygon(Vec::new()))
                } else {
                    Geometry::MultiPolygon(a.geometry_rd.clone())
                },
                values,
            }
        })
        .collect();
    Layer {
        name: level.collection(),
        title: match level {
            Level::Gemeente => "Gemeenten",
            Level::Wijk => "Wijken",
            Level::Buurt => "Buurten",
        },
        fields,
        features,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_criterion_columns_are_named_after_each_criterion_s_key_in_order() {
        for (c, (punten, norm)) in Criterion::ALL.iter().zip(FLAT_CRITERION_FIELDS) {
            assert_eq!(punten, format!("c_{}_punten", c.key()));
            assert_eq!(norm, format!("c_{}_norm", c.key()));
        }
    }
}
