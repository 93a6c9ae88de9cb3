//! The OpenAPI 3.0 document served at `/ogc/v1/api` (conformance class `oas30`), built by
//! hand with `serde_json` from the same constants the handlers check against (collections,
//! CRSs, limits, queryables, weight parameters), so the document cannot drift from the code.
//! Must not be imported by the modules whose constants it reads (no loops).

use serde_json::{Map, Value, json};

use super::features::{LIMIT_DEFAULT, LIMIT_MAX, QUERYABLES};
use crate::analysis::run::{
    DEFAULT_MIN_PARTICIPANTS, DEFAULT_WALK_M, MIN_PARTICIPANTS_RANGE, WALK_RANGE_M,
};
use crate::analysis::weights::{Criterion, Weights};
use crate::crs::Crs;
use crate::model::FieldType;
use crate::release::layers::{COLLECTIONS, area_fields};
use crate::release::tiles::{MAX_ZOOM, TileMatrixSet};

/// The properties of an area feature (gemeenten, wijken, buurten) typed by the data model, as
/// OpenAPI 3.0 writes a nullable value; the flat per-criterion columns (`c_<key>_punten`,
/// `c_<key>_norm`) are among them, so desktop clients read them as typed columns.
fn area_properties() -> Value {
    let mut props = Map::new();
    for (name, t) in area_fields() {
        let v = match t {
            FieldType::Text => json!({"type": "string", "nullable": true}),
            FieldType::Integer => json!({"type": "integer", "nullable": true}),
            FieldType::Real => json!({"type": "number", "nullable": true}),
            FieldType::Boolean => json!({"type": "boolean", "nullable": true}),
            FieldType::Json => json!({"type": "object", "nullable": true}),
        };
        props.insert(name.to_string(), v);
    }
    json!({
        "type": "object",
        "description": "Eigenschappen van een gemeente, wijk of buurt (properties van de GeoJSON-Feature). De toelichting staat ook plat per criterium: c_<criterium>_punten (punten op de score van 0-100) en c_<criterium>_norm (genormaliseerde waarde 0-1), leeg als de waarde ontbreekt.",
        "properties": props,
    })
}

fn param_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

fn problem(desc: &str) -> Value {
    json!({"description": desc, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

fn ok_json(desc: &str, schema: &str, extra_html: bool) -> Value {
    let mut content = Map::new();
    content.insert(
        "application/json".into(),
        json!({"schema": {"$ref": format!("#/components/schemas/{schema}")}}),
    );
    if extra_html {
        content.insert("text/html".into(), json!({"schema": {"type": "string"}}));
    }
    json!({"description": desc, "content": content})
}

fn analysis_refs(weights: &Weights) -> Vec<Value> {
    let mut v = vec![param_ref("walk_m"), param_ref("min_participants")];
    v.extend(weights.parameter_names().iter().map(|p| param_ref(p)));
    v
}

fn get(op_id: &str, summary: &str, tag: &str, params: Vec<Value>, responses: Value) -> Value {
    json!({"get": {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "parameters": params,
        "responses": responses,
    }})
}

/// The document; `base` is the server's URL without a trailing slash, `defaults` the
/// server's configured weights (their custom indicators become `w_<key>` parameters).
pub fn document(base: &str, defaults: &Weights) -> Value {
    let mut parameters = Map::new();
    parameters.insert("collectionId".into(), json!({"name": "collectionId", "in": "path", "required": true, "description": "De collectie.", "schema": {"type": "string", "enum": COLLECTIONS}}));
    parameters.insert("featureId".into(), json!({"name": "featureId", "in": "path", "required": true, "description": "Het id van het object (CBS-code of nummer).", "schema": {"type": "string"}}));
    parameters.insert("f".into(), json!({"name": "f", "in": "query", "required": false, "description": "Uitvoerformaat; zonder f beslist de Accept-header.", "schema": {"type": "string", "enum": ["json", "html"]}}));
    parameters.insert("limit".into(), json!({"name": "limit", "in": "query", "required": false, "style": "form", "explode": false, "description": format!("Aantal objecten per pagina; meer dan {LIMIT_MAX} wordt {LIMIT_MAX} (Features Core), de links zeggen het."), "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT}}));
    parameters.insert("datetime".into(), json!({"name": "datetime", "in": "query", "required": false, "style": "form", "explode": false, "description": "Tijdstip of interval (RFC 3339, .. voor een open eind). De collecties hebben geen tijdseigenschappen: elk object voldoet; een ongeldige waarde is 400.", "schema": {"type": "string"}}));
    parameters.insert("offset".into(), json!({"name": "offset", "in": "query", "required": false, "description": "Aantal objecten over te slaan (volg liever de next-link).", "schema": {"type": "integer", "minimum": 0, "default": 0}}));
    parameters.insert("bbox".into(), json!({"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false, "description": "Alleen objecten die deze rechthoek raken: minx,miny,maxx,maxy in de as-volgorde van bbox-crs (EPSG:4326 en EPSG:4258: lat,lon).", "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}}));
    parameters.insert("bbox-crs".into(), json!({"name": "bbox-crs", "in": "query", "required": false, "description": "CRS van bbox (standaard CRS84).", "schema": {"type": "string", "format": "uri", "enum": Crs::ALL.map(Crs::uri)}}));
    parameters.insert("crs".into(), json!({"name": "crs", "in": "query", "required": false, "description": "CRS van de geometrie in het antwoord (standaard CRS84); de header Content-Crs noemt het.", "schema": {"type": "string", "format": "uri", "enum": Crs::ALL.map(Crs::uri)}}));
    parameters.insert("filter".into(), json!({"name": "filter", "in": "query", "required": false, "style": "form", "explode": false, "description": "CQL2-tekstfilter op de queryables van de collectie (zie .../queryables), bijvoorbeeld categorie='geschikt' AND score>60. Vergelijkingen (=, <>, <, <=, >, >=), AND, OR, NOT, haakjes, IN, LIKE (% en _), BETWEEN en IS NULL; een fout noemt de positie.", "schema": {"type": "string"}}));
    parameters.insert("filter-lang".into(), json!({"name": "filter-lang", "in": "query", "required": false, "description": "Taal van filter; alleen cql2-text.", "schema": {"type": "string", "enum": ["cql2-text"], "default": "cql2-text"}}));
    for q in QUERYABLES {
        parameters.insert(q.into(), json!({"name": q, "in": "query", "required": false, "description": format!("Alleen objecten met {q} gelijk aan deze waarde (alleen in collecties met die eigenschap)."), "schema": {"type": "string"}}));
    }
    parameters.insert("walk_m".into(), json!({"name": "walk_m", "in": "query", "required": false, "description": "Loopafstand in meters voor clusters en plekken.", "schema": {"type": "number", "minimum": WALK_RANGE_M.0, "maximum": WALK_RANGE_M.1, "default": DEFAULT_WALK_M}}));
    parameters.insert("min_participants".into(), json!({"name": "min_participants", "in": "query", "required": false, "description": "Minimum aantal deelnemers voor een cluster en een plek.", "schema": {"type": "integer", "minimum": MIN_PARTICIPANTS_RANGE.0, "maximum": MIN_PARTICIPANTS_RANGE.1, "default": DEFAULT_MIN_PARTICIPANTS}}));
    for c in Criterion::ALL {
        parameters.insert(c.parameter().into(), json!({"name": c.parameter(), "in": "query", "required": false, "description": format!("Gewicht van het criterium '{}'.", c.label()), "schema": {"type": "number", "minimum": 0, "maximum": 1000, "default": defaults.weight(c)}}));
    }
    for i in defaults.indicators() {
        let w = defaults.indicator_weight(&i.key).unwrap_or(0.0);
        parameters.insert(i.parameter.clone(), json!({"name": i.parameter, "in": "query", "required": false, "description": format!("Gewicht van de eigen indicator '{}' (kolom {}, {}).", i.label, i.kolom, i.richting.key()), "schema": {"type": "number", "minimum": 0, "maximum": 1000, "default": w}}));
    }
    let t = defaults.thresholds();
    parameters.insert("t_geschikt".into(), json!({"name": "t_geschikt", "in": "query", "required": false, "description": "Score vanaf welke een gebied 'geschikt' heet.", "schema": {"type": "number", "minimum": 0, "maximum": 100, "default": t.geschikt}}));
    parameters.insert("t_kansrijk".into(), json!({"name": "t_kansrijk", "in": "query", "required": false, "description": "Score vanaf welke een gebied 'kansrijk' heet (niet boven t_geschikt).", "schema": {"type": "number", "minimum": 0, "maximum": 100, "default": t.kansrijk}}));
    parameters.insert("t_volledigheid".into(), json!({"name": "t_volledigheid", "in": "query", "required": false, "description": "Deel van het totale gewicht (0-100) dat op bekende gegevens moet rusten; daaronder heet een gebied 'onvoldoende gegevens'.", "schema": {"type": "number", "minimum": 0, "maximum": 100, "default": t.volledigheid}}));
    for (name, desc) in [
        ("tileMatrix", "Zoomniveau 0-16."),
        ("tileRow", "Rij (y), 0 bovenaan."),
        ("tileCol", "Kolom (x)."),
    ] {
        parameters.insert(name.into(), json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "integer", "minimum": 0, "maximum": if name == "tileMatrix" { u64::from(MAX_ZOOM) } else { (1u64 << MAX_ZOOM) - 1 }}}));
    }
    parameters.insert("tileMatrixSetId".into(), json!({"name": "tileMatrixSetId", "in": "path", "required": true, "description": "Tegelschema: WebMercatorQuad (EPSG:3857) of NetherlandsRDNewQuad (EPSG:28992, zoals PDOK).", "schema": {"type": "string", "enum": TileMatrixSet::ALL.map(TileMatrixSet::id)}}));
    parameters.insert("kind".into(), json!({"name": "kind", "in": "path", "required": true, "description": "Wat er wordt geïmporteerd.", "schema": {"type": "string", "enum": super::imports::KINDS}}));
    parameters.insert("filename".into(), json!({"name": "filename", "in": "query", "required": false, "description": "Bestandsnaam van een ruwe upload; de extensie bepaalt het formaat (.csv, .geojson, .gpkg, .xlsx, .zip).", "schema": {"type": "string"}}));

    let bad = problem(
        "Ongeldige parameter (onbekende naam, waarde buiten bereik, ongeldige bbox of crs).",
    );
    let not_found = problem("Onbekende collectie of object.");
    let loading = problem("De gegevens worden nog geladen; probeer het zo opnieuw (Retry-After).");
    // Endpoints that take analysis parameters: a new parameter set may be refused.
    let busy = problem(
        "De gegevens worden nog geladen, of er lopen al 2 analyses van nieuwe parametersets; Retry-After zegt na hoeveel seconden opnieuw (gecachete resultaten worden nooit geweigerd).",
    );
    let too_many = problem(
        "Dit adres startte meer nieuwe parametersets dan new_sets_burst ineens of new_sets_per_minute per minuut; Retry-After zegt na hoeveel seconden er weer een mag.",
    );
    // Also without any token where the store holds imported clients: clusters and sites, and
    // parameter sets off the public menu, are for planners (docs/privacy.md, "Tiers").
    let unauthorized = problem(
        "Geen of een ongeldig bearer-token; ook zonder token bij een gesloten collectie (clusters en sites bij een opslag met geïmporteerde cliënten) of een parameterset buiten het openbare menu.",
    );
    let forbidden = problem("Het token heeft niet de rol die nodig is.");
    let a = analysis_refs(defaults);

    let mut paths = Map::new();
    paths.insert("/".into(), get("getLandingPage", "Startpagina", "Capabilities", vec![param_ref("f")], json!({"200": ok_json("Links naar de API, conformance en collecties.", "LandingPage", true), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone()})));
    paths.insert(
        "/conformance".into(),
        get(
            "getConformance",
            "Conformance-klassen",
            "Capabilities",
            vec![param_ref("f")],
            json!({"200": ok_json("De conformance-klassen.", "Conformance", true), "400": bad}),
        ),
    );
    paths.insert("/openapi.json".into(), get("getOpenApiJson", "Dit OpenAPI-document als JSON (Nederlandse API-strategie)", "Capabilities", vec![], json!({"200": {"description": "OpenAPI 3.0.", "content": {"application/json": {"schema": {"type": "object"}}}}, "400": bad})));
    paths.insert("/api".into(), get("getApi", "Dit OpenAPI-document", "Capabilities", vec![param_ref("f")], json!({"200": {"description": "OpenAPI 3.0.", "content": {"application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}}, "400": bad})));
    let mut p = vec![param_ref("f")];
    p.extend(a.clone());
    paths.insert("/collections".into(), get("getCollections", "Alle collecties", "Capabilities", p.clone(), json!({"200": ok_json("De collecties.", "Collections", true), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "429": too_many.clone(), "503": loading})));
    let mut pc = vec![param_ref("collectionId")];
    pc.extend(p.clone());
    paths.insert("/collections/{collectionId}".into(), get("describeCollection", "Beschrijving van een collectie", "Capabilities", pc.clone(), json!({"200": ok_json("De collectie, met storageCrs en crs.", "Collection", true), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found, "429": too_many.clone(), "503": loading})));
    let mut pi = vec![
        param_ref("collectionId"),
        param_ref("f"),
        param_ref("limit"),
        param_ref("offset"),
        param_ref("datetime"),
        param_ref("bbox"),
        param_ref("bbox-crs"),
        param_ref("crs"),
        param_ref("filter"),
        param_ref("filter-lang"),
    ];
    pi.extend(QUERYABLES.map(param_ref));
    pi.extend(a.clone());
    let content_crs = json!({"Content-Crs": {"description": "Het CRS van de geometrie, als <URI>.", "schema": {"type": "string"}}});
    paths.insert("/collections/{collectionId}/items".into(), get("getFeatures", "Objecten van een collectie, per pagina", "Data", pi, json!({
        "200": {"description": "Een GeoJSON FeatureCollection met numberMatched, numberReturned, timeStamp en next/prev-links; de properties van gemeenten, wijken en buurten staan in components/schemas/AreaProperties.", "headers": content_crs, "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}, "text/html": {"schema": {"type": "string"}}}},
        "400": bad, "401": unauthorized, "403": forbidden, "404": not_found, "429": too_many, "503": busy})));
    let pq = vec![param_ref("collectionId"), param_ref("f")];
    let schema_ok = |d: &str| json!({"description": d, "content": {"application/schema+json": {"schema": {"$ref": "#/components/schemas/Object"}}}});
    paths.insert("/collections/{collectionId}/queryables".into(), get("getQueryables", "Queryables van een collectie (Features deel 3): de eigenschappen waarop filter werkt, als JSON Schema met typen uit het datamodel", "Data", pq.clone(), json!({"200": schema_ok("JSON Schema 2020-12."), "400": bad, "401": unauthorized, "403": forbidden, "404": not_found, "503": loading})));
    paths.insert("/collections/{collectionId}/schema".into(), get("getSchema", "Schema van de objecten (Features deel 5): elke eigenschap met haar type", "Data", pq, json!({"200": schema_ok("JSON Schema 2020-12."), "400": bad, "401": unauthorized, "403": forbidden, "404": not_found, "503": loading})));
    let mut pf = vec![
        param_ref("collectionId"),
        param_ref("featureId"),
        param_ref("f"),
        param_ref("crs"),
    ];
    pf.extend(a.clone());
    paths.insert("/collections/{collectionId}/items/{featureId}".into(), get("getFeature", "Eén object", "Data", pf, json!({
        "200": {"description": "Een GeoJSON Feature.", "headers": content_crs, "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/Feature"}}, "text/html": {"schema": {"type": "string"}}}},
        "400": bad, "401": unauthorized, "403": forbidden, "404": not_found, "429": too_many, "503": busy})));
    let mut pt = vec![param_ref("collectionId")];
    pt.extend(a.clone());
    paths.insert(
        "/collections/{collectionId}/tiles".into(),
        get(
            "getTilesets",
            "Tilesets van een collectie",
            "Tiles",
            pt.clone(),
            json!({"200": ok_json("De tilesets.", "Object", false), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found}),
        ),
    );
    paths.insert(
        "/tileMatrixSets".into(),
        get(
            "getTileMatrixSetsList",
            "De tegelschema's (OGC TMS 2.0)",
            "Tiles",
            vec![],
            json!({"200": ok_json("De lijst.", "Object", false), "400": bad}),
        ),
    );
    paths.insert(
        "/tileMatrixSets/{tileMatrixSetId}".into(),
        get(
            "getTileMatrixSet",
            "Eén tegelschema (OGC TMS 2.0 JSON, met de TMS 1.0-namen ernaast voor GDAL)",
            "Tiles",
            vec![param_ref("tileMatrixSetId")],
            json!({"200": ok_json("Het tegelschema.", "Object", false), "400": bad, "404": not_found}),
        ),
    );
    let mut pts = vec![param_ref("collectionId"), param_ref("tileMatrixSetId")];
    pts.extend(a.clone());
    paths.insert("/collections/{collectionId}/tiles/{tileMatrixSetId}".into(), get("getTileset", "Metadata van de vector-tileset: tiling-scheme-link, tegel-sjabloon, grenzen van de collectie (bij WebMercatorQuad ook TileJSON-velden)", "Tiles", pts, json!({"200": ok_json("De tileset.", "Object", false), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found, "429": too_many.clone(), "503": loading})));
    paths.insert("/collections/{collectionId}/tiles/WebMercatorQuad/tilejson".into(), get("getTileJson", "TileJSON 3.0 voor MapLibre, Leaflet en OpenLayers", "Tiles", pt.clone(), json!({"200": ok_json("TileJSON.", "Object", false), "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "404": not_found, "429": too_many.clone(), "503": loading})));
    let mut ptt = vec![
        param_ref("collectionId"),
        param_ref("tileMatrixSetId"),
        param_ref("tileMatrix"),
        param_ref("tileRow"),
        param_ref("tileCol"),
    ];
    ptt.extend(a);
    paths.insert("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}".into(), get("getTile", "Eén Mapbox Vector Tile (gzip bij Accept-Encoding: gzip)", "Tiles", ptt, json!({
        "200": {"description": "De tegel, met ETag, Cache-Control en Vary: Accept-Encoding.", "content": {"application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}}},
        "204": {"description": "Lege tegel: geen object raakt deze tegel."},
        "304": {"description": "Niet gewijzigd (If-None-Match kwam overeen met de ETag)."},
        "400": bad, "401": unauthorized.clone(), "403": forbidden.clone(), "404": problem("Onbekende collectie of een tegel buiten zoom 0-16 of buiten het raster."), "429": too_many, "503": busy})));
    let root = json!([{"url": base, "description": "De wortel van de service"}]);
    let mut health = get(
        "getHealth",
        "Gezondheid en laadstatus",
        "Operations",
        vec![],
        json!({"200": ok_json("ok, met data ready of loading.", "Object", false)}),
    );
    health["servers"] = root.clone();
    let mut metrics = get(
        "getMetrics",
        "Prometheus-metrieken",
        "Operations",
        vec![],
        json!({"200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}}}),
    );
    metrics["servers"] = root.clone();
    let mut ready = get(
        "getReady",
        "Gereed voor verkeer (readiness voor een load balancer)",
        "Operations",
        vec![],
        json!({"200": ok_json("De gegevens zijn geladen: status ready.", "Object", false), "503": loading.clone()}),
    );
    ready["servers"] = root.clone();
    let mut reload = json!({"post": {
        "operationId": "postReload",
        "summary": "De opslag nu opnieuw van schijf laden (alleen admin); de server merkt een gewijzigde opslag ook zelf binnen een seconde",
        "tags": ["Operations"],
        "security": [{"bearer": []}],
        "responses": {
            "200": ok_json("De opslag is geladen en wordt geserveerd.", "Object", false),
            "401": unauthorized.clone(), "403": forbidden.clone(),
            "503": problem("Er is geen opslag om te laden, of een import houdt de opslag vast; probeer het zo opnieuw."),
        },
    }});
    reload["servers"] = root.clone();
    let mut import = json!({"post": {
        "operationId": "postImport",
        "summary": "Een bestand importeren (alleen admin); dezelfde validatie en hetzelfde rapport als de CLI",
        "tags": ["Operations"],
        "security": [{"bearer": []}],
        "parameters": [param_ref("kind"), param_ref("filename")],
        "requestBody": {"required": true, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
        }},
        "responses": {
            "200": ok_json("Het importrapport.", "Object", false),
            "400": problem("Het bestand is ongeldig; de opslag is ongewijzigd."),
            "401": unauthorized, "403": forbidden,
            "404": problem("Onbekende soort import."),
            "413": problem("Het bestand is te groot."),
            "503": problem("Een andere import houdt de opslag vast, de server heeft geen opslag, of de map van de opslag is op de server alleen-lezen of niet schrijfbaar; de opslag is ongewijzigd."),
            "507": problem("De schijf met de opslag is vol (Insufficient Storage); de opslag is ongewijzigd, upload opnieuw als de beheerder ruimte heeft gemaakt."),
        },
    }});
    import["servers"] = root;
    // These live outside /ogc/v1: a path-level server overrides the document's.
    paths.insert("/health".into(), health);
    paths.insert("/metrics".into(), metrics);
    paths.insert("/ready".into(), ready);
    paths.insert("/api/v1/admin/reload".into(), reload);
    paths.insert("/api/v1/imports/{kind}".into(), import);
    // The web map's two compact endpoints (src/http/api.rs), also outside /ogc/v1.
    let root = json!([{"url": base, "description": "De wortel van de service"}]);
    parameters.insert("q".into(), json!({"name": "q", "in": "query", "required": true, "description": "Naam (deel van een woord, hoofdletters en accenten maken niet uit) of het begin van een CBS-code (GM, WK, BU).", "schema": {"type": "string", "minLength": 1, "maxLength": 100}}));
    parameters.insert("searchLimit".into(), json!({"name": "limit", "in": "query", "required": false, "description": "Aantal resultaten.", "schema": {"type": "integer", "minimum": 1, "maximum": super::api::SEARCH_LIMIT_MAX, "default": 10}}));
    parameters.insert("areaCollection".into(), json!({"name": "collectionId", "in": "path", "required": true, "description": "Het niveau.", "schema": {"type": "string", "enum": super::api::AREA_COLLECTIONS}}));
    let mut search = get(
        "searchAreas",
        "Gemeenten, wijken en buurten zoeken op naam of code",
        "Data",
        vec![param_ref("q"), param_ref("searchLimit")],
        json!({
        "200": {"description": "De beste treffers eerst (exact, begin, begin van een woord, deel), per niveau gemeente-wijk-buurt; elk met collection, code, naam, gemeentecode, gemeentenaam en bbox (CRS84: minLon, minLat, maxLon, maxLat).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Object"}}}},
        "400": bad.clone(), "401": unauthorized.clone(), "403": forbidden.clone(), "503": loading.clone()}),
    );
    search["servers"] = root.clone();
    let mut ps = vec![param_ref("areaCollection")];
    ps.extend(analysis_refs(defaults));
    let mut scores = get(
        "getScores",
        "Score, categorie, rang en deelnemersklasse van alle gebieden van één niveau, zonder geometrie",
        "Data",
        ps,
        json!({
        "200": {"description": "Compacte rijen voor de webkaart: fields noemt de kolommen (code, naam, gemeentecode, score, categorie, rang, rang_van, deelnemers, volledigheid, bbox in CRS84), rows de waarden; parameters de gebruikte analyseparameters. Dezelfde waarden als de items.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Object"}}}},
        "400": bad, "401": unauthorized, "403": forbidden, "404": not_found, "429": too_many, "503": busy}),
    );
    scores["servers"] = root;
    paths.insert("/api/v1/search".into(), search);
    paths.insert("/api/v1/scores/{collectionId}".into(), scores);

    // Dutch API Design Rules (/core/version-header): every answer declares API-Version.
    for item in paths.values_mut() {
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in ops.iter_mut() {
            if method == "servers" {
                continue;
            }
            if let Some(responses) = op["responses"].as_object_mut() {
                for r in responses.values_mut() {
                    if !r["headers"].is_object() {
                        r["headers"] = json!({});
                    }
                    r["headers"]["API-Version"] =
                        json!({"$ref": "#/components/headers/API-Version"});
                }
            }
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Buurtcirkel Atlas",
            "version": super::API_VERSION,
            "description": "OGC API Features (deel 1 en 2) en OGC API Tiles: waar kan een nieuwe Buurtcirkel starten? Analyseparameters (walk_m, min_participants, w_*, t_*) werken op elk data-endpoint, zodat een URL een weergave reproduceert. Fouten zijn application/problem+json; elk antwoord heeft de header API-Version.",
            "license": {"name": "EUPL-1.2", "url": "https://eupl.eu/1.2/nl/"},
            "contact": {"name": super::CONTACT_NAME, "email": super::CONTACT_EMAIL, "url": super::CONTACT_URL},
            "x-data-license": {"name": super::LICENSE_NAME, "url": super::LICENSE_URL, "attribution": super::ATTRIBUTION},
        },
        "servers": [{"url": format!("{base}/ogc/v1")}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Tiles"}, {"name": "Operations"}],
        "paths": paths,
        "components": {
            "headers": {"API-Version": {"description": "De volledige versie van de API (semver).", "schema": {"type": "string", "example": super::API_VERSION}}},
            "parameters": parameters,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Een token uit het auth-bestand (opgeslagen als SHA-256)."},
                "basic": {"type": "http", "scheme": "basic", "description": "Voor desktopprogramma's zoals QGIS: het token als wachtwoord, elke gebruikersnaam."},
            },
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "Link": {"type": "object", "required": ["href"], "properties": {
                    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
                "Object": {"type": "object"},
                "LandingPage": {"type": "object", "required": ["links"], "properties": {
                    "title": {"type": "string"}, "description": {"type": "string"},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "Conformance": {"type": "object", "required": ["conformsTo"], "properties": {
                    "conformsTo": {"type": "array", "items": {"type": "string"}}}},
                "Collection": {"type": "object", "required": ["id", "links"], "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                    "itemType": {"type": "string"},
                    "crs": {"type": "array", "items": {"type": "string"}},
                    "storageCrs": {"type": "string"},
                    "extent": {"type": "object"},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "Collections": {"type": "object", "required": ["links", "collections"], "properties": {
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}},
                    "collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}}}},
                "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                    "geometry": {"type": "object", "nullable": true},
                    "properties": {"type": "object", "nullable": true},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "AreaProperties": area_properties(),
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0},
                    "timeStamp": {"type": "string", "format": "date-time"},
                    "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
            },
        },
    })
}
