//! The dependency rule of `src/lib.rs`, checked: every `src/**/*.rs` is read, every
//! `use crate::…`, `use super::…`, `use self::…` and inline `crate::x::…`/`super::x::…` path is
//! resolved to the file and the top-level room it names, and the test fails when a room uses one
//! it may not, when two files import each other (directly or round a longer loop), or when
//! `analysis` touches files, GDAL, tokio or the clock.
//!
//! The rule is data here ([`RULE`]) and text in `src/lib.rs`; a test checks that both say the
//! same, so neither can change alone. Comments and string literals are ignored; `mod x;`
//! declarations and a parent's `pub use` of its child's items are not imports (the parent owns
//! the child); test modules count for the rule but not for loops.

// Helpers run outside `#[test]` functions, where `allow-expect-in-tests` does not reach; a
// source tree that cannot be read is a broken test, so panicking with a message is right.
#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which rooms each room may use. `cli` (the binary's edge) may use anything; a room missing
/// here may use nothing. Nobody may use `http` or `cli`, because no room lists them.
const RULE: [(&str, &[&str]); 11] = [
    ("model", &[]),
    ("crs", &["model"]),
    ("index", &["model"]),
    ("ingest", &["crs", "model"]),
    ("store", &["crs", "model"]),
    ("analysis", &["index", "model"]),
    ("release", &["analysis", "index", "store", "crs", "model"]),
    (
        "service",
        &[
            "ingest", "store", "analysis", "release", "index", "crs", "model", "demo",
        ],
    ),
    (
        "http",
        &[
            "service", "release", "analysis", "store", "ingest", "crs", "model", "index",
        ],
    ),
    ("demo", &["model", "crs"]),
    ("cli", &["*"]),
];

/// Code that must not appear in `analysis` (outside comments and strings).
const ANALYSIS_FORBIDDEN: [&str; 6] = [
    "gdal::",
    "tokio::",
    "std::fs",
    "SystemTime",
    "Instant",
    "chrono::",
];

/// One resolved reference: from a file, in test code or not, to a module path.
#[derive(Debug, Clone)]
struct Reference {
    from_file: String,
    line: usize,
    in_test: bool,
    /// A `pub use` of a child module's item by its parent: part of owning the child, like
    /// `mod x;`, not a dependency (it is not counted in loops).
    reexport: bool,
    target: Vec<String>,
    text: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file: `src/http/mod.rs` -> `[http]`, `src/http/tiles.rs` ->
/// `[http, tiles]`, `src/lib.rs` -> `[]`. `None` for the binary's `main.rs`.
fn module_of(file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src_dir()).expect("file under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "main.rs" if parts.is_empty() => None,
        "lib.rs" if parts.is_empty() => Some(parts),
        "mod.rs" => Some(parts),
        _ => {
            parts.push(last.trim_end_matches(".rs").to_string());
            Some(parts)
        }
    }
}

/// The source with comments and string/char literals blanked out (newlines kept, so line
/// numbers stay right).
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if b[i] == b'r'
            && (b[i + 1..].starts_with(b"#") || b[i + 1..].starts_with(b"\""))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // Raw string r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == b'#' {
                hashes += 1;
                j += 1;
            }
            if j >= b.len() || b[j] != b'"' {
                out.push(b[i]);
                i += 1;
                continue;
            }
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            out.extend(std::iter::repeat_n(b' ', j + 1 - i));
            i = j + 1;
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, b[i]);
                i += 1;
            }
            out.extend(std::iter::repeat_n(b' ', close.len().min(b.len() - i)));
            i += close.len();
        } else if b[i] == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
            out.push(b' ');
            i += 1;
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('x' or '\n'); lifetimes ('a) are left alone.
            let end = b[i + 1..]
                .iter()
                .skip(1)
                .position(|&c| c == b'\'')
                .map_or(i + 1, |p| i + 2 + p);
            out.extend(std::iter::repeat_n(b' ', end + 1 - i));
            i = end + 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into full paths.
fn expand_use(tree: &str) -> Vec<String> {
    let tree = tree.replace(" as ", "@");
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    fn go(prefix: &str, t: &str, out: &mut Vec<String>) {
        if let Some(open) = t.find('{') {
            let head = &t[..open];
            let inner = &t[open + 1..t.len() - 1];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&format!("{prefix}{head}"), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            go(&format!("{prefix}{head}"), &inner[start..], out);
        } else if !t.is_empty() {
            let t = t.split('@').next().unwrap_or(t);
            out.push(format!("{prefix}{t}"));
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out
}

/// Every reference of one file to a module of the crate.
fn references(file: &Path, modules: &BTreeSet<Vec<String>>, refs: &mut Vec<Reference>) {
    let Some(file_mod) = module_of(file) else {
        return;
    };
    let name = file
        .strip_prefix(src_dir())
        .expect("under src")
        .display()
        .to_string();
    let src = std::fs::read_to_string(file).expect("readable source");
    let code = code_only(&src);
    let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;

    // Inline modules (`mod tests { ... }`): their extent, name and whether they are test code.
    let mut inline: Vec<(usize, usize, String, bool)> = Vec::new();
    let bytes = code.as_bytes();
    let mut search = 0;
    while let Some(p) = code[search..].find("mod ") {
        let at = search + p;
        search = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let rest = &code[at + 4..];
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = rest[ident.len()..].trim_start();
        if ident.is_empty() || !after.starts_with('{') {
            continue;
        }
        let open = at + 4 + rest.find('{').expect("found above");
        let mut depth = 0;
        let mut close = open;
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let before = code[..at].trim_end();
        let is_test = before.ends_with("#[cfg(test)]") || ident == "tests";
        inline.push((open, close, ident, is_test));
    }
    // The module a position lies in, and whether it is test code.
    let scope = |pos: usize| {
        let mut m = file_mod.clone();
        let mut test = false;
        for (open, close, ident, is_test) in &inline {
            if *open < pos && pos < *close {
                m.push(ident.clone());
                test |= is_test;
            }
        }
        (m, test)
    };
    let resolve = |path: &str, here: &[String]| -> Option<Vec<String>> {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let first = *segs.first()?;
        let mut m: Vec<String>;
        let mut rest = &segs[..];
        match first {
            "crate" => {
                m = Vec::new();
                rest = &rest[1..];
            }
            "super" | "self" => {
                m = here.to_vec();
                while let Some(s) = rest.first() {
                    match *s {
                        "super" => {
                            m.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            other => {
                // A child module used without `self::` (2018 paths).
                let mut child = here.to_vec();
                child.push(other.to_string());
                if !modules.contains(&child) {
                    return None;
                }
                m = here.to_vec();
            }
        }
        for s in rest {
            if *s == "*" {
                break;
            }
            m.push((*s).to_string());
        }
        Some(m)
    };

    // `use` declarations.
    let mut use_spans: Vec<(usize, usize)> = Vec::new();
    let mut search = 0;
    while let Some(p) = code[search..].find("use ") {
        let at = search + p;
        search = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            continue;
        };
        let tree = &code[at + 4..at + end];
        use_spans.push((at, at + end));
        let (here, in_test) = scope(at);
        let public = code[..at].trim_end().ends_with("pub") || code[..at].trim_end().ends_with(')');
        for path in expand_use(tree) {
            if let Some(target) = resolve(&path, &here) {
                let reexport = public && target.len() > here.len() && target.starts_with(&here);
                refs.push(Reference {
                    from_file: name.clone(),
                    line: line_of(at),
                    in_test,
                    reexport,
                    target,
                    text: format!("use {path}"),
                });
            }
        }
    }
    // Inline paths: `crate::x::y` and `super::x` in code.
    for start in ["crate::", "super::"] {
        let mut search = 0;
        while let Some(p) = code[search..].find(start) {
            let at = search + p;
            search = at + start.len();
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric()
                    || bytes[at - 1] == b'_'
                    || bytes[at - 1] == b':')
            {
                continue;
            }
            // The ones inside `use` trees are handled above.
            if use_spans.iter().any(|&(u0, u1)| u0 <= at && at < u1) {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let (here, in_test) = scope(at);
            if let Some(target) = resolve(&path, &here) {
                refs.push(Reference {
                    from_file: name.clone(),
                    line: line_of(at),
                    in_test,
                    reexport: false,
                    target,
                    text: path,
                });
            }
        }
    }
}

/// The file (module path) a resolved path lands in: its longest prefix that is a file.
fn file_of(target: &[String], files: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (0..=target.len())
        .rev()
        .map(|n| target[..n].to_vec())
        .find(|p| files.contains(p))
}

struct Crate {
    /// Module path of each file -> its display name.
    files: BTreeMap<Vec<String>, String>,
    refs: Vec<Reference>,
    code: BTreeMap<String, String>,
}

fn read_crate() -> Crate {
    let mut paths = Vec::new();
    rust_files(&src_dir(), &mut paths);
    let mut files = BTreeMap::new();
    let mut code = BTreeMap::new();
    for p in &paths {
        let name = p
            .strip_prefix(src_dir())
            .expect("under src")
            .display()
            .to_string();
        if let Some(m) = module_of(p) {
            files.insert(m, name.clone());
        }
        code.insert(
            name,
            code_only(&std::fs::read_to_string(p).expect("readable source")),
        );
    }
    let modules: BTreeSet<Vec<String>> = files.keys().cloned().collect();
    let mut refs = Vec::new();
    for p in &paths {
        references(p, &modules, &mut refs);
    }
    Crate { files, refs, code }
}

fn room_of(file: &str) -> &str {
    file.split(['/', '.']).next().unwrap_or(file)
}

fn allowed(from: &str, to: &str) -> bool {
    from == to
        || RULE
            .iter()
            .find(|(r, _)| *r == from)
            .is_some_and(|(_, uses)| uses.contains(&"*") || uses.contains(&to))
}

#[test]
fn every_room_uses_only_the_rooms_the_dependency_rule_allows() {
    let krate = read_crate();
    assert!(
        krate.files.len() > 30,
        "the layout test found only {} files under src/",
        krate.files.len()
    );
    let mut broken = Vec::new();
    for r in &krate.refs {
        let from = room_of(&r.from_file);
        if from == "lib" {
            continue;
        }
        let Some(to) = r.target.first() else { continue };
        if !allowed(from, to) {
            broken.push(format!(
                "{}:{}: `{}` ({from} may not use {to})",
                r.from_file, r.line, r.text
            ));
        }
    }
    assert!(
        broken.is_empty(),
        "the dependency rule of src/lib.rs is broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other_round_a_loop() {
    let krate = read_crate();
    let files: BTreeSet<Vec<String>> = krate.files.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in krate.refs.iter().filter(|r| !r.in_test && !r.reexport) {
        let Some(to) = file_of(&r.target, &files) else {
            continue;
        };
        let to = &krate.files[&to];
        if *to != r.from_file {
            edges
                .entry(r.from_file.clone())
                .or_default()
                .insert(to.clone());
        }
    }
    // Depth-first search with colours; report the first loop found from every file.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                0 => visit(m, edges, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut c = stack[from..].to_vec();
                    c.push(m.clone());
                    cycles.push(c.join(" -> "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            visit(n, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(
        cycles.is_empty(),
        "files import each other in a loop:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn analysis_touches_no_files_gdal_tokio_or_clock() {
    let krate = read_crate();
    let mut found = Vec::new();
    for (file, code) in krate.code.iter().filter(|(f, _)| room_of(f) == "analysis") {
        for (i, line) in code.lines().enumerate() {
            for word in ANALYSIS_FORBIDDEN {
                if line.contains(word) {
                    found.push(format!("{file}:{}: {word}", i + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "analysis must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_rule_in_this_test_is_the_rule_written_in_lib_rs() {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("lib.rs");
    for (room, uses) in RULE {
        let line = if uses.is_empty() {
            format!("//! {room:<9}-> (nothing of ours)")
        } else if uses == ["*"] {
            format!("//! {room:<9}-> anything")
        } else {
            format!("//! {room:<9}-> {}", uses.join(", "))
        };
        assert!(
            lib.lines().any(|l| l.trim_end() == line),
            "src/lib.rs does not state the rule line {line:?}"
        );
    }
}

#[test]
fn the_checker_resolves_nested_use_trees_and_relative_paths() {
    assert_eq!(
        expand_use("crate::a::{b, c::{d, e as f}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c::e"]
    );
    let code = code_only("let s = \"crate::http::x\"; // crate::cli\nuse super::y;");
    assert!(!code.contains("crate::http") && !code.contains("crate::cli"));
    assert!(code.contains("use super::y;"));
}
