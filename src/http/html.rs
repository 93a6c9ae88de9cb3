//! HTML views of the OGC resources (conformance class `html`): plain pages a person can browse,
//! with every value escaped.
//! Must not depend on the state or any handler module (they call it).

use axum::response::Html;
use serde_json::Value;

use crate::release::collection::{Collection, Item};

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>{t} - Buurtcirkel Atlas</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}}</style></head>\
         <body><p><a href=\"/ogc/v1?f=html\">Buurtcirkel Atlas</a> &middot; <a href=\"/ogc/v1/collections?f=html\">Collecties</a></p>\
         <h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    ))
}

fn links(v: &Value) -> String {
    let mut s = String::from("<ul>");
    for l in v["links"].as_array().into_iter().flatten() {
        let href = l["href"].as_str().unwrap_or("");
        s.push_str(&format!(
            "<li><a href=\"{}\">{}</a> ({})</li>",
            esc(href),
            esc(l["title"].as_str().unwrap_or(href)),
            esc(l["type"].as_str().unwrap_or(""))
        ));
    }
    s.push_str("</ul>");
    s
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "&ndash;".into(),
        Value::String(s) => esc(s),
        Value::Object(_) | Value::Array(_) => "(zie JSON)".into(),
        other => esc(&other.to_string()),
    }
}

pub(super) fn landing(v: &Value) -> Html<String> {
    page(
        "Buurtcirkel Atlas",
        &format!(
            "<p>{}</p>{}",
            esc(v["description"].as_str().unwrap_or("")),
            links(v)
        ),
    )
}

pub(super) fn list(title: &str, items: &[&str]) -> Html<String> {
    let lis: String = items
        .iter()
        .map(|i| format!("<li>{}</li>", esc(i)))
        .collect();
    page(title, &format!("<ul>{lis}</ul>"))
}

/// The service-doc page: what a person needs to use the API without reading OpenAPI JSON.
/// Built from the OpenAPI document itself (paths, parameters), so it cannot drift from it.
pub(super) fn service_doc(base: &str, doc: &Value, roles: &[(&str, &str)]) -> Html<String> {
    let b = esc(base);
    let mut s = format!(
        "<p>{}</p><p>Machineleesbaar: <a href=\"{b}/ogc/v1/api?f=json\">OpenAPI 3.0</a> \
         (ook <a href=\"{b}/ogc/v1/openapi.json\">openapi.json</a>); \
         <a href=\"{b}/ogc/v1/conformance?f=html\">conformance</a>.</p>",
        esc(doc["info"]["description"].as_str().unwrap_or(""))
    );
    s.push_str("<h2>Collecties en rollen</h2><table><tr><th>Collectie</th><th>Items</th><th>Leesbaar vanaf rol</th></tr>");
    for (c, role) in roles {
        let c = esc(c);
        s.push_str(&format!(
            "<tr><td><a href=\"{b}/ogc/v1/collections/{c}?f=html\">{c}</a></td>\
             <td><a href=\"{b}/ogc/v1/collections/{c}/items?f=html\">items</a> &middot; \
             <a href=\"{b}/ogc/v1/collections/{c}/queryables\">queryables</a></td><td>{}</td></tr>",
            esc(role)
        ));
    }
    s.push_str(
        "</table><p>Rollen: <b>public</b> (zonder token: gebieden, plekken en Buurtcirkels voor \
         een vaste keuze van analyseparameters), <b>planner</b> (alle parameters, clusters en \
         kandidaat-plekken), <b>admin</b> (ook uploads). Een token gaat mee als \
         <code>Authorization: Bearer TOKEN</code>, of als wachtwoord van HTTP Basic (elke \
         gebruikersnaam; zo werkt de authenticatie van QGIS), of, als de beheerder het aanzet, \
         als <code>apikey</code>-parameter.</p><h2>Paden</h2><table><tr><th>Pad</th><th>Wat</th></tr>",
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (p, item) in paths {
            if let Some(ops) = item.as_object() {
                for (method, op) in ops {
                    if method == "servers" {
                        continue;
                    }
                    s.push_str(&format!(
                        "<tr><td><code>{} {}</code></td><td>{}</td></tr>",
                        esc(&method.to_uppercase()),
                        esc(p),
                        esc(op["summary"].as_str().unwrap_or(""))
                    ));
                }
            }
        }
    }
    s.push_str(
        "</table><h2>Parameters</h2><table><tr><th>Naam</th><th>Waar</th><th>Betekenis</th></tr>",
    );
    if let Some(params) = doc["components"]["parameters"].as_object() {
        for p in params.values() {
            s.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                esc(p["in"].as_str().unwrap_or("")),
                esc(p["description"].as_str().unwrap_or(""))
            ));
        }
    }
    s.push_str(&format!(
        "</table><h2>Licentie en bron</h2><p>De gegevens vallen onder \
         <a rel=\"license\" href=\"{}\">{}</a>; vermeld bij hergebruik: <b>{}</b>. \
         Aantallen deelnemers staan alleen in klassen; geen antwoord noemt een individuele \
         cliëntlocatie.</p>",
        esc(super::LICENSE_URL),
        esc(super::LICENSE_NAME),
        esc(super::ATTRIBUTION)
    ));
    page("API-documentatie", &s)
}

pub(super) fn collections(v: &Value) -> Html<String> {
    let mut s = String::from("<table><tr><th>Collectie</th><th>Beschrijving</th></tr>");
    for c in v["collections"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("");
        s.push_str(&format!(
            "<tr><td><a href=\"/ogc/v1/collections/{0}?f=html\">{1}</a></td><td>{2}</td></tr>",
            esc(id),
            esc(c["title"].as_str().unwrap_or(id)),
            esc(c["description"].as_str().unwrap_or(""))
        ));
    }
    s.push_str("</table>");
    page("Collecties", &s)
}

pub(super) fn collection(v: &Value) -> Html<String> {
    page(
        v["title"].as_str().unwrap_or(""),
        &format!(
            "<p>{}</p><p>Opslag-CRS: {}</p>{}",
            esc(v["description"].as_str().unwrap_or("")),
            esc(v["storageCrs"].as_str().unwrap_or("")),
            links(v)
        ),
    )
}

fn nested_is_empty(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A nested value (the `toelichting`) spelled out: an object as a table of its keys, a list as
/// a numbered list, so the item page shows every number a JSON client gets.
fn nested_html(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let mut s = String::from("<table>");
            for (k, x) in o {
                s.push_str(&format!(
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(k),
                    nested_html(x)
                ));
            }
            s.push_str("</table>");
            s
        }
        Value::Array(a) if a.is_empty() => "&ndash;".into(),
        Value::Array(a) => {
            let mut s = String::from("<ol>");
            for x in a {
                s.push_str(&format!("<li>{}</li>", nested_html(x)));
            }
            s.push_str("</ol>");
            s
        }
        other => value_text(other),
    }
}

/// Every property of an item as its GeoJSON carries it: the collection's fields in order, then
/// the few the dataset adds beside them (`niveau` of an area).
fn all_properties(c: &Collection, it: &Item) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = c
        .fields
        .iter()
        .zip(&it.values)
        .map(|((n, _), v)| ((*n).to_string(), v.clone()))
        .collect();
    if let Ok(Value::Object(props)) = serde_json::from_str::<Value>(&it.properties) {
        for (k, v) in props {
            if c.field(&k).is_none() {
                out.push((k, v));
            }
        }
    }
    out
}

/// The items page: every property as a column, the nested `toelichting` as a link to the item
/// page that spells it out (its numbers are also the flat `c_*` columns). `suffix` is the
/// request's analysis parameters (`&walk_m=...`), kept in every item link.
pub(super) fn items(
    c: &Collection,
    page_items: &[&Item],
    link_list: &[Value],
    matched: usize,
    start: usize,
    suffix: &str,
) -> Html<String> {
    let mut s = format!(
        "<p>{} tot {} van {matched}</p><table><tr><th>id</th>",
        (start + 1).min(matched),
        start + page_items.len()
    );
    let header: Vec<String> = page_items.first().map_or_else(
        || c.fields.iter().map(|(n, _)| (*n).to_string()).collect(),
        |it| all_properties(c, it).into_iter().map(|(n, _)| n).collect(),
    );
    for n in &header {
        s.push_str(&format!("<th>{}</th>", esc(n)));
    }
    s.push_str("</tr>");
    for it in page_items {
        let href = format!(
            "/ogc/v1/collections/{}/items/{}?f=html{}",
            c.name,
            super::respond::encode(&it.id),
            suffix
        );
        s.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td>",
            esc(&href),
            esc(&it.id)
        ));
        let props = all_properties(c, it);
        for n in &header {
            match props.iter().find(|(k, _)| k == n).map(|(_, v)| v) {
                Some(v @ (Value::Object(_) | Value::Array(_))) if !nested_is_empty(v) => {
                    s.push_str(&format!("<td><a href=\"{}\">bekijk</a></td>", esc(&href)));
                }
                Some(v) => s.push_str(&format!("<td>{}</td>", value_text(v))),
                None => s.push_str(&format!("<td>{}</td>", value_text(&Value::Null))),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s.push_str(&links(&serde_json::json!({ "links": link_list })));
    page(c.title, &s)
}

/// One item: every property, nested ones spelled out, and its links (JSON, collection).
pub(super) fn item(c: &Collection, it: &Item, link_list: &Value) -> Html<String> {
    let mut s = String::from("<table>");
    for (n, v) in all_properties(c, it) {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(&n),
            nested_html(&v)
        ));
    }
    s.push_str("</table>");
    s.push_str(&links(&serde_json::json!({ "links": link_list })));
    page(&format!("{} {}", c.title, it.id), &s)
}
