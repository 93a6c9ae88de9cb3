//! Snapshot tests (insta) of the CLI outputs a reviewer should see whole: `analyse --format
//! json` and the ranked table on the demo store, and the report of `import clients`. The
//! snapshots live in `tests/snapshots/`; a changed output fails the test until the new
//! snapshot is reviewed and accepted (`cargo insta review`, or `INSTA_UPDATE=always` and
//! reading the diff). Timings and temporary paths are redacted.

mod common;

use std::path::Path;

use common::{bc_on, demo_store, import, tmp, write_text};

/// `text` with `dir` (a temporary folder) and the run time in milliseconds redacted.
fn redact(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "[TMP]");
    text.lines()
        .map(|line| match line.rsplit_once("), ") {
            Some((head, tail)) if tail.ends_with(" ms") => format!("{head}), [MS] ms"),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn analyse_json_on_the_demo_store_is_as_reviewed() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let run = bc_on(&store, &["analyse", "--format", "json", "--top", "5"]);
    run.assert_ok();
    insta::assert_snapshot!(redact(&run.stdout, dir.path()));
}

#[test]
fn the_analyse_table_on_the_demo_store_is_as_reviewed() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let run = bc_on(&store, &["analyse", "--level", "wijken", "--top", "10"]);
    run.assert_ok();
    insta::assert_snapshot!(redact(&run.stdout, dir.path()));
}

#[test]
fn the_import_clients_report_is_as_reviewed() {
    let dir = tmp();
    let store = dir.path().join("s.gpkg");
    let csv = write_text(
        dir.path(),
        "clients.csv",
        "x;y;doelgroep;naam;postcode\n\
         155010;463020;ggz;A;1234AB\n\
         155200;463110;lvb;B;1234AC\n\
         155400;462900;ouderen;C;1234AD\n\
         155420;462880;;D;1234AE\n",
    );
    let run = import(&store, "clients", &csv, &[]);
    run.assert_ok();
    insta::assert_snapshot!(redact(&run.stdout, dir.path()));
}
