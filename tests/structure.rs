//! Size limits that keep the code readable: in every file of `src/`, no
//! file over 800 lines and no function over 80 lines (a file's test module,
//! and files of tests, not counted).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 80;

/// Is this file or folder a test module (`tests.rs`, `tests/`)?
fn is_test_module(path: &Path) -> bool {
    path.file_stem().is_some_and(|s| s == "tests")
}

/// The `.rs` files under `dir`, test modules left out.
fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("an entry").path();
        if is_test_module(&path) {
            continue;
        }
        if path.is_dir() {
            rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` before its `#[cfg(test)]` module.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .collect()
}

/// Does this line start a function (`fn`, `pub fn`, `async fn`, …)?
fn starts_fn(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().take(5).collect();
    let first = words.iter().position(|w| {
        !(w.starts_with("pub") || ["const", "async", "unsafe", "extern"].contains(w))
    });
    first.is_some_and(|i| words[i] == "fn")
}

/// Each function of `lines`: its first line (1-based) and its length.
fn functions(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !starts_fn(lines[i]) {
            i += 1;
            continue;
        }
        let (mut depth, mut opened, mut j) = (0i32, false, i);
        while j < lines.len() {
            for c in lines[j].chars() {
                match c {
                    '{' => (depth, opened) = (depth + 1, true),
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (opened && depth == 0) || (!opened && lines[j].trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        out.push((i + 1, j - i + 1));
        i = j + 1;
    }
    out
}

#[test]
fn files_and_functions_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rs_files(&root.join("src"), &mut files);
    let mut bad = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let lines = code_lines(&text);
        let name = path.strip_prefix(root).unwrap_or(path).display();
        if lines.len() > MAX_FILE_LINES {
            bad.push(format!("{name}: {} lines", lines.len()));
        }
        for (at, len) in functions(&lines) {
            if len > MAX_FN_LINES {
                bad.push(format!("{name}:{at}: a function of {len} lines"));
            }
        }
    }
    assert!(bad.is_empty(), "over the limits:\n{}", bad.join("\n"));
}

#[test]
fn the_function_scan_measures_bodies() {
    let text = "pub fn a() {\n    x();\n}\n\nasync fn b(\n    y: u8,\n) -> u8 {\n    { y }\n}\nfn c();\n#[cfg(test)]\nfn long() {}";
    let lines = code_lines(text);
    assert_eq!(functions(&lines), [(1, 3), (5, 5), (10, 1)]);
}

#[test]
fn test_modules_are_left_out() {
    assert!(is_test_module(Path::new("src/paxos/core/tests.rs")));
    assert!(is_test_module(Path::new("src/paxos/core/tests")));
    assert!(!is_test_module(Path::new("src/paxos/core/timers.rs")));
    assert!(!is_test_module(Path::new("src/ui/panes/tests_pane.rs")));
}
