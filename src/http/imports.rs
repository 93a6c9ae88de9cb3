//! `POST /api/v1/imports/{kind}`: an admin uploads the same files the CLI imports, and gets the
//! same report as JSON. The upload is written to a 0700 folder beside the store, removed on
//! every exit path, imported by the same use-case as the CLI's (`service::Importer`: read,
//! change the store all-or-nothing, log) and the served snapshot is reloaded.
//!
//! Inputs: a raw body (`?filename=clients.csv` tells the format) or `multipart/form-data` with
//! one file part; options as query parameters (`crs`, `x_column`, `y_column`, `group_column`,
//! `skip_invalid`). Output: the [`ImportReport`] as JSON. Neither the upload nor the report is
//! logged: a client file is special-category personal data (docs/privacy.md).

use std::path::Path as FsPath;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::config::Role;
use super::problem::Problem;
use crate::ingest::clients::ClientOptions;
use crate::ingest::columns::Mapping;
use crate::ingest::points::CoordOptions;
use crate::ingest::{ImportReport, NoProgress, OptionNames};
use crate::service::{ImportError, Importer};
use crate::store::fault::Cause;
use crate::store::{Store, StoreError};

/// The kinds of upload.
pub const KINDS: [&str; 5] = ["clients", "areas", "figures", "places", "circles"];

const OPTIONS: [&str; 6] = [
    "filename",
    "crs",
    "x_column",
    "y_column",
    "group_column",
    "skip_invalid",
];

/// Why an upload failed.
enum Failure {
    /// The file or its options are wrong: the message goes back to the admin.
    Input(String),
    /// Another writer held the store's lock too long: try again later.
    Busy(String),
    /// The server's disk is full (507) or its store folder cannot be written (503): nothing
    /// was changed, and the uploader cannot fix it; the message names no server path.
    Storage(Cause),
    /// Anything else: logged, not shown.
    Internal(String),
}

/// The handler.
pub async fn import(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    Query(opts): Query<Vec<(String, String)>>,
    req: Request,
) -> Result<Response, Problem> {
    state.authorize(&headers, Role::Admin)?;
    if !KINDS.contains(&kind.as_str()) {
        return Err(Problem::not_found(format!(
            "no import kind '{kind}'; expected one of {}",
            KINDS.join(", ")
        )));
    }
    for (k, _) in &opts {
        if !OPTIONS.contains(&k.as_str()) {
            return Err(Problem::bad_request(format!(
                "unknown parameter '{k}': expected one of {}",
                OPTIONS.join(", ")
            )));
        }
    }
    let opt = |name: &str| opts.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(store) = state.inner.store.clone() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no store to import into",
        ));
    };
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Reading the body has the request time limit; the import after it does not (it runs to
    // its end, so an answer is never 408 for a change that then lands).
    let limit = std::time::Duration::from_secs(state.inner.config.request_timeout_s);
    let read = async { read_body(is_multipart, req, &state, &headers, opt("filename")).await };
    let (name, body) = tokio::time::timeout(limit, read).await.map_err(|_| {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the upload took longer than the time limit of {} s (request_timeout_s) to arrive; nothing was changed",
                limit.as_secs()
            ),
        )
    })??;
    if body.is_empty() {
        return Err(Problem::bad_request("the upload is empty"));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(Problem::bad_request(format!(
            "the file name is {chars} characters long, more than the limit of {MAX_NAME_CHARS}; rename the file and upload it again"
        )));
    }
    let name = safe_name(&name).ok_or_else(|| {
        Problem::bad_request(
            "cannot tell the file format: give ?filename=NAME.csv (or .geojson, .gpkg, .xlsx, .zip) or a multipart file name with an extension",
        )
    })?;
    let skip_invalid = match opt("skip_invalid").as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(v) => {
            return Err(Problem::bad_request(format!(
                "skip_invalid={v:?} is not valid; expected true or false"
            )));
        }
    };
    let coords = CoordOptions {
        x_column: opt("x_column"),
        y_column: opt("y_column"),
        crs: opt("crs"),
    };
    let group_column = opt("group_column");
    // The import and the reload run in a task of their own: if the client goes away, the
    // import still ends (committed and served, or rolled back), never half-way.
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let state = task_state;
        let _guard = state.inner.import_lock.lock().await;
        let report = run_upload(
            kind,
            name,
            body,
            store.clone(),
            coords,
            group_column,
            skip_invalid,
        )
        .await?;
        super::reload(&state, store)
            .await
            .map_err(|e| Problem::internal(&e))?;
        Ok::<ImportReport, Problem>(report)
    });
    let report = task.await.map_err(|e| Problem::internal(&e))??;
    Ok(Json(report).into_response())
}

/// Writes the upload to a private folder beside the store and imports it on a blocking thread.
async fn run_upload(
    kind: String,
    name: String,
    body: Bytes,
    store2: Store,
    coords: CoordOptions,
    group_column: Option<String>,
    skip_invalid: bool,
) -> Result<ImportReport, Problem> {
    tokio::task::spawn_blocking(move || {
        // A 0700 folder in the store's work folder, removed when `dir` drops on every way out.
        let saving = |action: &'static str| {
            let store = store2.path().to_path_buf();
            move |source| {
                storage_failure(
                    StoreError::Io {
                        path: store,
                        action,
                        source,
                    }
                    .classified(),
                )
            }
        };
        let dir = crate::service::imports::upload_dir(&store2)
            .map_err(saving("creating a private folder for the upload"))?;
        let path = dir.path().join(&name);
        std::fs::write(&path, &body).map_err(saving("saving the upload"))?;
        let prefix = format!("{}/", dir.path().display());
        run_import(&kind, &path, &store2, coords, group_column, skip_invalid)
            .map(|r| without_server_paths(r, &prefix))
            .map_err(|f| match f {
                Failure::Input(m) => Failure::Input(m.replace(&prefix, "")),
                other => other,
            })
    })
    .await
    .map_err(|e| Problem::internal(&e))?
    .map_err(|f| match f {
        Failure::Input(m) => Problem::bad_request(m),
        Failure::Busy(m) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, m),
        Failure::Storage(cause) => Problem::storage(cause),
        Failure::Internal(m) => Problem::internal(&m),
    })
}

/// A store error as an upload failure: a storage cause is told (without the server's paths),
/// anything else is internal.
fn storage_failure(e: StoreError) -> Failure {
    match e.storage_cause() {
        Some(cause) => {
            // The administrator of the server needs the path; the uploader does not.
            tracing::error!(cause = %e, "upload could not be stored");
            Failure::Storage(cause)
        }
        None => Failure::Internal(e.to_string()),
    }
}

/// The report with the upload folder's path taken out of every text, so it names the
/// uploaded file only: the server's folders are not the uploader's business.
fn without_server_paths(mut report: ImportReport, prefix: &str) -> ImportReport {
    let scrub = |s: &mut String| {
        if s.contains(prefix) {
            *s = s.replace(prefix, "");
        }
    };
    scrub(&mut report.source);
    report.warnings.iter_mut().for_each(scrub);
    report.notes.iter_mut().for_each(scrub);
    for layer in &mut report.layers {
        scrub(&mut layer.name);
        if let Some(s) = layer.skipped.as_mut() {
            scrub(s);
        }
    }
    report
}

/// `POST /api/v1/admin/reload` (admin): loads the store from disk now and serves it, for an
/// administrator who changed it by other means and does not want to wait for the watcher.
pub async fn reload_store(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    state.authorize(&headers, Role::Admin)?;
    let Some(store) = state.inner.store.clone() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no store to reload",
        ));
    };
    let _guard = state.inner.import_lock.lock().await;
    super::reload(&state, store)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(Json(serde_json::json!({"status": "reloaded"})).into_response())
}

/// The uploaded file's name and bytes, from a raw body or the multipart `file` part.
async fn read_body(
    is_multipart: bool,
    req: Request,
    state: &AppState,
    headers: &HeaderMap,
    filename: Option<String>,
) -> Result<(String, Bytes), Problem> {
    Ok(if is_multipart {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        let mut found = None;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?
        {
            if field.file_name().is_some() || field.name() == Some("file") {
                let n = field
                    .file_name()
                    .map(String::from)
                    .or_else(|| filename.clone())
                    .unwrap_or_default();
                let b = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large(state)
                    } else {
                        Problem::bad_request(e.body_text())
                    }
                })?;
                found = Some((n, b));
                break;
            }
        }
        found.ok_or_else(|| {
            Problem::bad_request(
                "the multipart body has no file part; expected a part named 'file'",
            )
        })?
    } else {
        let b = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(state)
            } else {
                Problem::new(
                    e.status(),
                    format!("cannot read the upload: {}", e.body_text()),
                )
            }
        })?;
        let n = filename.clone().unwrap_or_else(|| {
            guess_name(
                headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        });
        (n, b)
    })
}

/// The 413 answer: names the limit and the setting that raises it.
fn too_large(state: &AppState) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the upload is larger than the limit of {} MiB (body_limit_mb in the server configuration); nothing was changed",
            state.inner.config.body_limit_mb
        ),
    )
}

fn guess_name(content_type: &str) -> String {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    match ct {
        "text/csv" => "upload.csv",
        "application/geo+json" | "application/json" => "upload.geojson",
        "application/geopackage+sqlite3" => "upload.gpkg",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "upload.xlsx",
        "application/zip" => "upload.zip",
        _ => "",
    }
    .to_string()
}

/// The longest file name an upload may have (a file system takes 255 bytes at most).
const MAX_NAME_CHARS: usize = 120;

/// The file name without any directory part, if it has an extension.
fn safe_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?.trim();
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let ext = FsPath::new(&clean).extension()?.to_str()?.to_string();
    (!clean.starts_with('.') && !ext.is_empty()).then_some(clean)
}

/// The import options as query parameters, for the hints in error messages.
const PARAMETERS: OptionNames = OptionNames {
    crs: "crs=",
    x_column: "x_column",
    y_column: "y_column",
    group_column: "group_column",
    skip_invalid: "skip_invalid=true",
    mapping: None,
};

/// One upload, through the same use-case as the CLI's `import` of that kind.
fn run_import(
    kind: &str,
    path: &FsPath,
    store: &Store,
    coords: CoordOptions,
    group_column: Option<String>,
    skip_invalid: bool,
) -> Result<ImportReport, Failure> {
    let importer = Importer {
        store,
        progress: &NoProgress,
        name_store: false,
    };
    match kind {
        "areas" => importer.areas(path, Mapping::default(), coords.crs),
        "clients" => importer.clients(
            path,
            &ClientOptions {
                coords,
                group_column,
                skip_invalid,
            },
        ),
        "places" => importer.places(path, &coords, skip_invalid),
        "circles" => importer.circles(path, &coords, skip_invalid),
        _ => importer.figures(path, &Mapping::default()),
    }
    .map_err(|e| match e {
        ImportError::Ingest(e) => Failure::Input(e.with_hint(&PARAMETERS)),
        ImportError::Store(crate::store::StoreError::Busy { waited_s, .. }) => Failure::Busy(
            format!("another import or analyse is changing the store and did not finish within {waited_s} s; nothing was changed, try again later"),
        ),
        e if e.is_input() => Failure::Input(e.to_string()),
        ImportError::Store(e) => storage_failure(e),
        e => Failure::Internal(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_errors_name_query_parameters_not_cli_flags() {
        let dir = tempfile::tempdir().expect("temp dir");
        let csv = dir.path().join("clients.csv");
        std::fs::write(&csv, "x,y\n155000,463000\nabc,463000\n").expect("write csv");
        let store = Store::new(dir.path().join("s.gpkg"));
        let coords = |x: Option<&str>| CoordOptions {
            x_column: x.map(String::from),
            y_column: None,
            crs: None,
        };
        for (options, parameter) in [
            (coords(None), "skip_invalid=true"),
            (coords(Some("x")), "x_column and y_column"),
        ] {
            match run_import("clients", &csv, &store, options, None, false) {
                Err(Failure::Input(m)) => {
                    assert!(m.contains(parameter), "{m}");
                    assert!(!m.contains("--"), "{m}");
                }
                _ => panic!("expected an input error naming {parameter}"),
            }
        }
        assert!(!store.exists(), "a failed upload writes nothing");
    }

    #[test]
    fn upload_names_lose_their_directories_and_need_an_extension() {
        assert_eq!(
            safe_name("../../etc/clients.csv").as_deref(),
            Some("clients.csv")
        );
        assert_eq!(
            safe_name("C:\\x\\k w b.xlsx").as_deref(),
            Some("k_w_b.xlsx")
        );
        assert_eq!(safe_name("noext"), None);
        assert_eq!(safe_name(".csv"), None);
    }
}
