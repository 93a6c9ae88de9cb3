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

pub(super) fn api(base: &str) -> Html<String> {
    page(
        "API",
        &format!(
            "<p>De API is beschreven in <a href=\"{0}/ogc/v1/api?f=json\">OpenAPI 3.0 (JSON)</a>; \
             zie ook docs/api.md in het project.</p>",
            esc(base)
        ),
    )
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

pub(super) fn items(
    c: &Collection,
    page_items: &[&Item],
    link_list: &[Value],
    matched: usize,
    start: usize,
) -> Html<String> {
    let cols: Vec<(usize, &str)> = c
        .fields
        .iter()
        .enumerate()
        .filter(|(_, (n, t))| *t != crate::model::FieldType::Json && !n.starts_with("centrum_"))
        .map(|(i, (n, _))| (i, *n))
        .take(14)
        .collect();
    let mut s = format!(
        "<p>{} tot {} van {matched}</p><table><tr><th>id</th>",
        (start + 1).min(matched),
        start + page_items.len()
    );
    for (_, n) in &cols {
        s.push_str(&format!("<th>{}</th>", esc(n)));
    }
    s.push_str("</tr>");
    for it in page_items {
        s.push_str(&format!(
            "<tr><td><a href=\"/ogc/v1/collections/{}/items/{}?f=html\">{}</a></td>",
            c.name,
            esc(&it.id),
            esc(&it.id)
        ));
        for (i, _) in &cols {
            s.push_str(&format!("<td>{}</td>", value_text(&it.values[*i])));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s.push_str(&links(&serde_json::json!({ "links": link_list })));
    page(c.title, &s)
}

pub(super) fn item(c: &Collection, it: &Item) -> Html<String> {
    let mut s = String::from("<table>");
    for ((n, _), v) in c.fields.iter().zip(&it.values) {
        s.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(n),
            value_text(v)
        ));
    }
    s.push_str("</table>");
    s.push_str(&format!(
        "<p><a href=\"/ogc/v1/collections/{}/items/{}?f=json\">GeoJSON</a></p>",
        c.name,
        esc(&it.id)
    ));
    page(&format!("{} {}", c.title, it.id), &s)
}
