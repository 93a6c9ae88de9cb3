//! The server state shared by every handler: the configuration, the current published
//! dataset (swapped atomically on reload), metrics, the store uploads are applied to, and the
//! role check of a request.
//!
//! Inputs: a [`ServeConfig`] and a store snapshot. Outputs: [`AppState`]; [`Problem`]s for 401,
//! 403 and 503. Must not depend on any handler module.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use axum::http::{HeaderMap, StatusCode, header};

use super::config::{Role, ServeConfig};
use super::metrics::Metrics;
use super::problem::Problem;
use crate::crs::CrsError;
use crate::release::dataset::{Dataset, EngineStats};
use crate::release::layers::COLLECTIONS;
use crate::store::{Store, StoreData, StoreError};

pub(crate) struct Inner {
    pub(crate) dataset: ArcSwapOption<Dataset>,
    pub(crate) started: Instant,
    pub(crate) config: ServeConfig,
    pub(crate) metrics: Metrics,
    pub(crate) stats: Arc<EngineStats>,
    pub(crate) store: Option<Store>,
    pub(crate) import_lock: tokio::sync::Mutex<()>,
    /// Uncached analyses running at once (a new parameter set costs ~0.3 CPU-s); past it a
    /// request is answered 503 with `Retry-After`, so cached reads stay fast in a flood.
    pub(crate) analysis_slots: tokio::sync::Semaphore,
    /// New parameter sets per client address (429 past it).
    pub(crate) new_sets: super::ratelimit::RateLimit,
    /// The version of the store file the served dataset was loaded from.
    pub(crate) loaded_version: std::sync::Mutex<Option<crate::store::StoreVersion>>,
    pub(crate) fallback_base: String,
    /// Identifies the served snapshot for ETags: starts at the clock's nanoseconds (so a
    /// restarted server does not reuse the tags of the one before) and moves on every load.
    pub(crate) snapshot_id: std::sync::atomic::AtomicU64,
}

/// Shared server state: the configuration and the current dataset, swapped atomically on
/// reload (which drops every cache of the old one).
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// A state with no data loaded yet. `store` is where uploads are applied (none: uploads
    /// answer 503); `base` is the URL used in links when a request has no Host header.
    pub fn new(config: ServeConfig, store: Option<Store>, base: &str) -> AppState {
        let new_sets =
            super::ratelimit::RateLimit::new(config.new_sets_per_minute, config.new_sets_burst);
        AppState {
            inner: Arc::new(Inner {
                dataset: ArcSwapOption::empty(),
                started: Instant::now(),
                config,
                metrics: Metrics::default(),
                stats: Arc::new(EngineStats::default()),
                store,
                import_lock: tokio::sync::Mutex::new(()),
                loaded_version: std::sync::Mutex::new(None),
                analysis_slots: tokio::sync::Semaphore::new(MAX_ANALYSES),
                new_sets,
                fallback_base: base.trim_end_matches('/').to_string(),
                snapshot_id: std::sync::atomic::AtomicU64::new(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64),
                ),
            }),
        }
    }

    /// A state with the default configuration, no store and no data.
    pub fn empty() -> AppState {
        AppState::new(ServeConfig::default(), None, "http://127.0.0.1")
    }

    /// Converts `data` into a new dataset and serves it. Blocking (PROJ): call it off the
    /// async runtime.
    pub fn load(&self, data: StoreData) -> Result<(), CrsError> {
        let ds = Dataset::new(data, self.inner.stats.clone())?
            .with_model(self.inner.config.weights.clone())
            .with_result_cache(
                usize::try_from(self.inner.config.result_cache).unwrap_or(usize::MAX),
            );
        self.inner.dataset.store(Some(Arc::new(ds)));
        // After the swap, so the new id only ever tags answers from the new data (in the
        // moment between, the old id may tag new data: that only costs a re-download).
        self.inner
            .snapshot_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// The id of the served snapshot: a new value after every [`load`](Self::load).
    pub fn snapshot_id(&self) -> u64 {
        self.inner
            .snapshot_id
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The dataset, or 503 while loading.
    pub(crate) fn dataset(&self) -> Result<Arc<Dataset>, Problem> {
        self.inner.dataset.load_full().ok_or_else(Problem::loading)
    }

    /// The URL prefix for links: the configured public URL, else (with `trust_forwarded`)
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`, else `http://` + Host.
    pub(crate) fn base(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.inner.config.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let host_like = |h: &&str| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        };
        let first = |name: &str| {
            headers
                .get(name)
                .and_then(|h| h.to_str().ok())
                // A chain of proxies appends: the first value is what the client asked for.
                .and_then(|h| h.split(',').next())
                .map(str::trim)
        };
        let forwarded = self.inner.config.trust_forwarded;
        let proto = first("x-forwarded-proto")
            .filter(|p| forwarded && matches!(*p, "http" | "https"))
            .unwrap_or("http");
        let host = first("x-forwarded-host")
            .filter(|h| forwarded && host_like(h))
            .or_else(|| {
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(host_like)
            });
        host.map_or_else(
            || self.inner.fallback_base.clone(),
            |h| format!("{proto}://{h}"),
        )
    }

    /// Checks the caller's role against `needed`: 401 without a valid token, 403 with a token
    /// of a lesser role.
    pub(crate) fn authorize(&self, headers: &HeaderMap, needed: Role) -> Result<Role, Problem> {
        self.authorize_because(headers, needed, "")
    }

    /// [`authorize`](Self::authorize), with `why` (a sentence, or empty) added to the answer.
    pub(crate) fn authorize_because(
        &self,
        headers: &HeaderMap,
        needed: Role,
        why: &str,
    ) -> Result<Role, Problem> {
        let why = if why.is_empty() {
            String::new()
        } else {
            format!(": {why}")
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
                    .unwrap_or("")
                    .trim()
            });
        let unauthorized = |detail: String| {
            Problem::new(StatusCode::UNAUTHORIZED, detail).with_header(
                header::WWW_AUTHENTICATE,
                "Bearer, Basic realm=\"Buurtcirkel Atlas\"",
            )
        };
        let role = self
            .inner
            .config
            .role_of(bearer)
            .map_err(|_| unauthorized("the bearer token is not valid".into()))?;
        if role >= needed {
            Ok(role)
        } else if bearer.is_none() {
            Err(unauthorized(format!(
                "this needs a token of role {} or higher (Authorization: Bearer ..., or HTTP Basic with the token as password){why}",
                needed.name()
            )))
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the token's role {} may not do this; it needs role {} or higher{why}",
                    role.name(),
                    needed.name()
                ),
            ))
        }
    }

    /// True when the loaded store opens everything to the public (no clients, or only the
    /// demo's fictional ones); false while nothing is loaded.
    pub(crate) fn opens_everything(&self) -> bool {
        self.dataset().is_ok_and(|d| d.opens_everything())
    }

    /// Computes the default results now, then the rest of the public menu, so the first
    /// visitor does not wait for them (the menu is computed once per snapshot).
    pub async fn warm_up(&self) {
        if let Ok(ds) = self.dataset() {
            let mut sets = vec![ds.default_set()];
            sets.extend(ds.menu().into_iter().filter(|s| *s != ds.default_set()));
            for set in sets {
                if let Err(e) = ds.results_with(&set, &COLLECTIONS).await {
                    tracing::error!(error = %e, "computing the public results failed");
                }
            }
        }
    }
}

/// Why a store could not be (re)loaded into the server. Always a server-side failure: the
/// HTTP layer answers 500 and logs this.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The store could not be read.
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// A stored geometry could not be converted to the served CRSs.
    #[error("cannot convert the store's geometries: {0}")]
    Crs(#[from] CrsError),
    /// The blocking worker failed (panicked or was cancelled).
    #[error("the loading worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// Loads `store` into `state` on a blocking thread and computes the default results.
pub async fn reload(state: &AppState, store: Store) -> Result<(), ReloadError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        // Taken before reading: a write that lands during the load changes the file again
        // and the watcher loads once more.
        let version = store.version();
        let data = store.load()?;
        st.load(data)?;
        if let Ok(mut v) = st.inner.loaded_version.lock() {
            *v = version;
        }
        tracing::info!(ms = t.elapsed().as_millis() as u64, "store loaded");
        Ok::<(), ReloadError>(())
    })
    .await??;
    state.warm_up().await;
    Ok(())
}

/// How many uncached analyses may run at once; further ones are answered 503.
pub const MAX_ANALYSES: usize = 2;

/// How often [`watch`] looks at the store file.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Reloads the served snapshot whenever the store file on disk is a new version (an import
/// by the CLI or another process renamed a new file over it): one `stat` a
/// [`WATCH_INTERVAL`]. Skips a tick while an upload or admin reload is running (it reloads
/// itself). Runs until the process ends.
pub async fn watch(state: AppState, store: Store) {
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let on_disk = store.version();
        let loaded = state.inner.loaded_version.lock().ok().and_then(|v| *v);
        if on_disk.is_none() || on_disk == loaded || state.inner.dataset.load().is_none() {
            continue;
        }
        let Ok(_guard) = state.inner.import_lock.try_lock() else {
            continue;
        };
        match reload(&state, store.clone()).await {
            Ok(()) => tracing::info!("the store changed on disk; reloaded"),
            Err(e) => {
                // Keep serving the old snapshot; remember the version so a broken file is not
                // reloaded every second.
                if let Ok(mut v) = state.inner.loaded_version.lock() {
                    *v = on_disk;
                }
                tracing::error!(error = %e, "the store changed on disk but cannot be loaded; serving the previous data");
            }
        }
    }
}
