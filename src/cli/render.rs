//! What the CLI prints: the analysis table or JSON, the metric comparison, and the progress
//! bar of an import. Everything here turns service results into text; nothing reads or writes
//! the store.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;

use super::args::Format;
use crate::ingest::Progress;
use crate::model::Level;
use crate::service::analyse::{Analysed, Comparison};

/// `println!` into a `String` (formatting into a String cannot fail).
macro_rules! outln {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Writes command output to stdout; a reader that stops early (`| head`) is not an error.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The ranking of `level` (at most `top` areas, 0 = all) as a table with the run's summary, or
/// as JSON.
pub fn analysis(
    run: &Analysed,
    store: &Path,
    level: Level,
    top: usize,
    format: Format,
) -> Result<String> {
    let params = run.analysis.params;
    let s = &run.analysis.summary;
    let ranked = run.ranking(level, top);
    let mut out = String::new();
    if format == Format::Json {
        let rows: Vec<serde_json::Value> = ranked
            .iter()
            .map(|a| {
                serde_json::json!({
                    "code": a.code,
                    "naam": a.name,
                    "score": a.score,
                    "categorie": a.category,
                    "rang": a.rank,
                    "rang_van": a.rank_of,
                    "deelnemers": a.participants,
                    "toelichting": a.explanation,
                })
            })
            .collect();
        let mut doc = serde_json::json!({
            "parameters": {"walk_m": params.walk_m, "min_participants": params.min_participants},
            "metric": s.metric,
            "level": level.collection(),
            "areas": rows,
        });
        let notes = run.indicator_notes();
        if !notes.is_empty() {
            doc["notes"] = serde_json::json!(notes);
        }
        outln!(out, "{}", serde_json::to_string_pretty(&doc)?);
        return Ok(out);
    }
    outln!(
        out,
        "analysis: {} clients, {} in {} walking-distance clusters, {} candidate sites for {} participants ({} metric, walk {} m, min {}), {} ms",
        s.clients,
        s.clustered,
        s.clusters,
        s.sites,
        s.in_sites,
        s.metric,
        params.walk_m,
        params.min_participants,
        run.elapsed.as_millis()
    );
    outln!(
        out,
        "published: {} clusters and {} sites (generalised); results written to {}",
        run.analysis.published.clusters.len(),
        run.analysis.published.sites.len(),
        store.display()
    );
    if s.clients == 0 {
        outln!(
            out,
            "note: no client data in the store; areas are ranked on the other criteria only"
        );
    }
    for note in run.indicator_notes() {
        outln!(out, "note: {note}");
    }
    outln!(out);
    outln!(
        out,
        "{:>4}  {:<10}  {:<24} {:>5}  {:<10}  {:<5}  top reasons",
        "rank",
        "code",
        "naam",
        "score",
        "categorie",
        "deeln"
    );
    for a in ranked {
        let name: String = a.name.chars().take(24).collect();
        outln!(
            out,
            "{:>4}  {:<10}  {:<24} {:>5.1}  {:<10}  {:<5}  {}",
            a.rank.map_or_else(|| "-".into(), |r| r.to_string()),
            a.code,
            name,
            a.score.unwrap_or(0.0),
            a.category.unwrap_or("-"),
            a.participants.unwrap_or("-"),
            a.top_reasons.join("; ")
        );
    }
    Ok(out)
}

/// `analyse --compare-metrics`: per straight-line cluster, where its members went along the
/// streets.
pub fn comparison(c: &Comparison) -> String {
    let mut out = String::new();
    outln!(
        out,
        "\nmetric comparison (walk {} m, min {}): {} straight-line clusters, {} street-network clusters",
        c.params.walk_m,
        c.params.min_participants,
        c.straight_clusters,
        c.street_clusters
    );
    let mut unchanged = 0;
    for ch in &c.comparison.clusters {
        if ch.unchanged(&c.street_sizes) {
            unchanged += 1;
            continue;
        }
        let parts: Vec<String> = ch
            .into
            .iter()
            .map(|(id, n)| format!("street cluster {id} ({n})"))
            .collect();
        let what = match (ch.into.len(), ch.noise) {
            (0, _) => format!("all {} become noise along streets", ch.members),
            (1, 0) => format!("becomes {} with other members", parts.join("")),
            (1, n) => format!("shrinks to {}; {n} become noise", parts.join("")),
            (_, 0) => format!("splits into {}", parts.join(", ")),
            (_, n) => format!("splits into {}; {n} become noise", parts.join(", ")),
        };
        let area = c
            .mostly_in
            .get(ch.cluster)
            .and_then(Option::as_deref)
            .unwrap_or("outside the areas");
        outln!(
            out,
            "  straight-line cluster {} ({} clients, mostly in {area}): {what}",
            ch.cluster,
            ch.members,
        );
    }
    for (id, from) in &c.comparison.merged {
        let from: Vec<String> = from.iter().map(usize::to_string).collect();
        outln!(
            out,
            "  street cluster {id} merges straight-line clusters {}",
            from.join(", ")
        );
    }
    if c.comparison.gained > 0 {
        outln!(
            out,
            "  {} clients are noise by straight line but clustered along streets",
            c.comparison.gained
        );
    }
    outln!(
        out,
        "  unchanged: {unchanged} of {} straight-line clusters",
        c.straight_clusters
    );
    out
}

/// A progress bar on a terminal; plain lines otherwise (CI logs, pipes).
pub struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    current: std::cell::RefCell<Option<indicatif::ProgressBar>>,
}

impl CliProgress {
    /// A bar when stderr is a terminal.
    pub fn new() -> CliProgress {
        CliProgress {
            bar: std::io::stderr()
                .is_terminal()
                .then(indicatif::ProgressBar::hidden),
            current: std::cell::RefCell::new(None),
        }
    }
}

impl Default for CliProgress {
    fn default() -> CliProgress {
        CliProgress::new()
    }
}

impl Progress for CliProgress {
    fn start(&self, layer: &str, total: u64) {
        if self.bar.is_some() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(layer.to_string());
            *self.current.borrow_mut() = Some(bar);
        } else {
            eprintln!("reading layer {layer} ({total} features)");
        }
    }
    fn advance(&self, n: u64) {
        if let Some(b) = self.current.borrow().as_ref() {
            b.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(b) = self.current.borrow_mut().take() {
            b.finish_and_clear();
        }
    }
    fn waiting(&self, what: &str) {
        eprintln!("{what}");
    }
}
