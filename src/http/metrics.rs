//! Prometheus metrics: request counts and latency histograms per route, cache hits and
//! analysis time, rendered in the text exposition format at `GET /metrics`.
//!
//! Labels are route templates (`/ogc/v1/collections/{id}/items`), never concrete URLs or query
//! strings, so a metric can never carry anything a client sent.
//! Must not depend on the server state or the handlers (the middleware in
//! [`super::middleware`] feeds it).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use crate::release::dataset::EngineStats;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct RouteStats {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

/// All counters of the service.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: RwLock<HashMap<String, Arc<RouteStats>>>,
    /// Tiles answered from the cache.
    pub tile_hits: AtomicU64,
    /// Tiles rendered.
    pub tile_misses: AtomicU64,
}

impl Metrics {
    fn route(&self, route: &str) -> Arc<RouteStats> {
        if let Some(s) = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(route)
        {
            return s.clone();
        }
        self.routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(route.to_string())
            .or_default()
            .clone()
    }

    pub(crate) fn observe(&self, route: &str, status: u16, seconds: f64) {
        let s = self.route(route);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        s.by_class[class].fetch_add(1, Relaxed);
        s.count.fetch_add(1, Relaxed);
        s.sum_us.fetch_add((seconds * 1e6) as u64, Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            s.buckets[i].fetch_add(1, Relaxed);
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self, e: &EngineStats, data_ready: bool) -> String {
        let mut out = String::new();
        let routes = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut names: Vec<&String> = routes.keys().collect();
        names.sort();
        out.push_str("# HELP buurtcirkel_http_requests_total HTTP requests by route and status class.\n# TYPE buurtcirkel_http_requests_total counter\n");
        for n in &names {
            for (i, c) in routes[*n].by_class.iter().enumerate() {
                let v = c.load(Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "buurtcirkel_http_requests_total{{route=\"{n}\",status=\"{}xx\"}} {v}",
                        i + 1
                    );
                }
            }
        }
        out.push_str("# HELP buurtcirkel_http_request_duration_seconds Request latency by route.\n# TYPE buurtcirkel_http_request_duration_seconds histogram\n");
        for n in &names {
            let s = &routes[*n];
            let mut cum = 0;
            for (b, c) in BUCKETS.iter().zip(&s.buckets) {
                cum += c.load(Relaxed);
                let _ = writeln!(
                    out,
                    "buurtcirkel_http_request_duration_seconds_bucket{{route=\"{n}\",le=\"{b}\"}} {cum}"
                );
            }
            let count = s.count.load(Relaxed);
            let _ = writeln!(
                out,
                "buurtcirkel_http_request_duration_seconds_bucket{{route=\"{n}\",le=\"+Inf\"}} {count}\nbuurtcirkel_http_request_duration_seconds_sum{{route=\"{n}\"}} {}\nbuurtcirkel_http_request_duration_seconds_count{{route=\"{n}\"}} {count}",
                s.sum_us.load(Relaxed) as f64 / 1e6
            );
        }
        let _ = write!(
            out,
            "# HELP buurtcirkel_cache_hits_total Cache hits by cache.\n# TYPE buurtcirkel_cache_hits_total counter\n\
             buurtcirkel_cache_hits_total{{cache=\"tiles\"}} {}\nbuurtcirkel_cache_hits_total{{cache=\"results\"}} {}\n\
             # HELP buurtcirkel_cache_misses_total Cache misses by cache.\n# TYPE buurtcirkel_cache_misses_total counter\n\
             buurtcirkel_cache_misses_total{{cache=\"tiles\"}} {}\nbuurtcirkel_cache_misses_total{{cache=\"results\"}} {}\n\
             # HELP buurtcirkel_analysis_runs_total Analysis runs (clustering, sites, criteria).\n# TYPE buurtcirkel_analysis_runs_total counter\n\
             buurtcirkel_analysis_runs_total {}\n\
             # HELP buurtcirkel_analysis_seconds_total Time spent in analysis runs.\n# TYPE buurtcirkel_analysis_seconds_total counter\n\
             buurtcirkel_analysis_seconds_total {}\n\
             # HELP buurtcirkel_results_seconds_total Time spent scoring and building published collections.\n# TYPE buurtcirkel_results_seconds_total counter\n\
             buurtcirkel_results_seconds_total {}\n\
             # HELP buurtcirkel_shared_layer_builds_total Builds of the weight-independent collections (clusters, sites, places, circles), one per walk_m and min_participants.\n# TYPE buurtcirkel_shared_layer_builds_total counter\n\
             buurtcirkel_shared_layer_builds_total {}\n\
             # HELP buurtcirkel_level_builds_total Area levels scored with stability and built, one per parameter set and level read.\n# TYPE buurtcirkel_level_builds_total counter\n\
             buurtcirkel_level_builds_total {}\n\
             # HELP buurtcirkel_data_loaded 1 when a store snapshot is being served.\n# TYPE buurtcirkel_data_loaded gauge\n\
             buurtcirkel_data_loaded {}\n",
            self.tile_hits.load(Relaxed),
            e.result_hits.load(Relaxed),
            self.tile_misses.load(Relaxed),
            e.result_misses.load(Relaxed),
            e.analyses.load(Relaxed),
            e.analysis_us.load(Relaxed) as f64 / 1e6,
            e.results_us.load(Relaxed) as f64 / 1e6,
            e.shared_builds.load(Relaxed),
            e.level_builds.load(Relaxed),
            u8::from(data_ready),
        );
        out
    }
}
