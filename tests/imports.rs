//! The import check (`.ci/check-imports` runs it; so does `cargo test`):
//! dependencies between the crate's top-level modules point one way.
//!
//! main (the binary) > demo, bench, ctl > ui > site, engine > net, storage >
//! paxos > state, config, logs, signal
//!
//! A module may use the modules of a lower layer, never one of its own
//! layer or above (a back edge). The UI sees only the site's public API
//! (`site::api`), not its runtime: `main` composes the two. The
//! deterministic cluster engine sits beside the site runtime (it drives the
//! same core over a virtual network and disks): the UI may use it, the
//! site may not, nor it the site. Every `crate::…` path of `src/` counts
//! (`tweettui::…` in `src/main.rs`), outside comments.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, highest first.
const LAYERS: &[&[&str]] = &[
    &["main"],
    &["demo", "bench", "ctl"],
    &["ui"],
    &["site", "engine"],
    &["net", "storage"],
    &["paxos"],
    &["state", "config", "logs", "signal"],
];

/// Narrower rules: what of a lower module a module may use, where not all
/// of it. (from, to, the parts of `to` allowed)
const ONLY: &[(&str, &str, &[&str])] = &[("ui", "site", &["api"])];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// One `crate::` path found: where, which module uses which (and the next
/// path segment, for the narrower rules).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    file: String,
    from: String,
    to: String,
    part: Option<String>,
}

/// The top-level module a file of `src/` belongs to.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    match name {
        "lib" => None,
        other => Some(other.to_string()),
    }
}

/// `text` without `//` comments (doc comments included). String literals
/// holding `//` are rare enough here: none names a module path.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The paths (first two segments) after each `root::` in `text`:
/// `crate::a::b`, `crate::{a::b, c}`.
fn paths(text: &str, root: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let needle = format!("{root}::");
    let mut rest = text;
    while let Some(i) = rest.find(&needle) {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + needle.len()..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `my_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Items at depth 1 of the braces.
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if c != ',' || depth > 1 {
                    item.push(c);
                }
            }
            items.push(item);
            for it in items {
                let it = it.trim();
                let first = ident(it);
                if !first.is_empty() {
                    out.push((first.to_string(), second(&it[first.len()..])));
                }
            }
        } else {
            let first = ident(rest);
            if !first.is_empty() {
                out.push((first.to_string(), second(&rest[first.len()..])));
            }
        }
    }
    out
}

/// The segment after a leading `::`, if any.
fn second(s: &str) -> Option<String> {
    let s = s.trim_start().strip_prefix("::")?;
    let s = s.trim_start();
    let id = ident(s);
    (!id.is_empty()).then(|| id.to_string())
}

fn edges_of(file: &str, from: &str, text: &str) -> Vec<Edge> {
    let text = strip_comments(text);
    let root = if from == "main" { "tweettui" } else { "crate" };
    paths(&text, root)
        .into_iter()
        .filter(|(to, _)| to != from)
        .map(|(to, part)| Edge {
            file: file.to_string(),
            from: from.to_string(),
            to,
            part,
        })
        .collect()
}

/// Why an edge is not allowed; `None` when it is.
fn violation(e: &Edge) -> Option<String> {
    let (Some(from), Some(to)) = (layer(&e.from), layer(&e.to)) else {
        return Some(format!(
            "{}: {} -> {}: a module missing from the layers of tests/imports.rs",
            e.file, e.from, e.to
        ));
    };
    if to <= from {
        let what = if to == from {
            "same layer"
        } else {
            "back edge"
        };
        return Some(format!(
            "{}: {} uses {} ({what}: {} is not below {})",
            e.file, e.from, e.to, e.to, e.from
        ));
    }
    for (f, t, parts) in ONLY {
        if e.from == *f && e.to == *t && !e.part.as_deref().is_some_and(|p| parts.contains(&p)) {
            return Some(format!(
                "{}: {} uses {}::{} (only {t}::{{{}}} is allowed)",
                e.file,
                e.from,
                e.to,
                e.part.as_deref().unwrap_or("*"),
                parts.join(", ")
            ));
        }
    }
    None
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    files.sort();
    let mut edges = BTreeSet::new();
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src/");
        let Some(from) = module_of(rel) else { continue };
        let text = std::fs::read_to_string(path).expect("readable");
        edges.extend(edges_of(&format!("src/{}", rel.display()), &from, &text));
    }
    assert!(
        edges.iter().any(|e| e.from == "site" && e.to == "paxos"),
        "the scan found no edges: is it reading src/?"
    );
    let bad: Vec<String> = edges.iter().filter_map(violation).collect();
    assert!(
        bad.is_empty(),
        "imports against the layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_catches_back_edges_and_groups() {
    let text = "use crate::{paxos::Slot, demo::DemoCmd};\n// crate::main in a comment\nuse crate::site::runtime;\n";
    let edges = edges_of("src/ui/x.rs", "ui", text);
    let found: Vec<(&str, Option<&str>)> = edges
        .iter()
        .map(|e| (e.to.as_str(), e.part.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            ("paxos", Some("Slot")),
            ("demo", Some("DemoCmd")),
            ("site", Some("runtime"))
        ]
    );
    let bad: Vec<String> = edges.iter().filter_map(violation).collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("back edge"), "{bad:?}");
    assert!(bad[1].contains("only site::{api}"), "{bad:?}");
    // Siblings of one layer may not use each other.
    let e = edges_of("src/net/x.rs", "net", "crate::storage::Store");
    assert!(violation(&e[0]).is_some_and(|v| v.contains("same layer")));
    // And downwards is fine.
    let e = edges_of("src/site/x.rs", "site", "use crate::{net, storage::Store};");
    assert!(e.iter().all(|e| violation(e).is_none()), "{e:?}");
}
