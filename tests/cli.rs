//! The command line's conventions (SPEC 2; the "polish" issue): help with
//! no arguments, a suggestion for a mistyped subcommand, a hint to use
//! `--headless` without a terminal, `--version` with the commit,
//! completions and the man page from the clap definitions, and where the
//! config comes from.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tweettui");

/// Runs the binary in an empty temp dir (no ./config.json), with no
/// terminal, no TWEETTUI_CONFIG, and a home of its own.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("TWEETTUI_CONFIG")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run tweettui")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn no_arguments_print_the_help() {
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("Usage: tweettui") && t.contains("demo"), "{t}");
}

#[test]
fn a_mistyped_subcommand_is_suggested() {
    let out = run(&["dmeo"], &[]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("did you mean `tweettui demo`?"), "{t}");
    // A real site name is not "corrected".
    let out = run(&["alcie", "--headless"], &[]);
    assert!(!text(&out).contains("did you mean"), "{}", text(&out));
}

#[test]
fn the_ui_without_a_terminal_says_to_use_headless() {
    let out = run(&["alice"], &[]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("no terminal") && t.contains("--headless"), "{t}");
}

#[test]
fn version_names_the_commit() {
    let out = run(&["--version"], &[]);
    assert!(out.status.success());
    let t = text(&out);
    // `tweettui 0.1.0 (<commit>)`: a git describe, or "unknown commit".
    let inner = t.split('(').nth(1).and_then(|r| r.split(')').next());
    assert!(
        t.starts_with("tweettui ") && inner.is_some_and(|c| !c.is_empty()),
        "{t}"
    );
}

#[test]
fn completions_and_man_page_come_from_the_definitions() {
    let out = run(&["completions", "bash"], &[]);
    assert!(out.status.success());
    let bash = String::from_utf8_lossy(&out.stdout);
    assert!(
        bash.contains("_tweettui()") && bash.contains("replay"),
        "{bash}"
    );
    let out = run(&["man"], &[]);
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.contains(".TH tweettui 1") && man.contains("ctl"),
        "{man}"
    );
}

/// `--config`, then `TWEETTUI_CONFIG` (announced), then ./config.json, then
/// the built-in default (announced).
#[test]
fn the_config_comes_from_the_environment_when_no_flag_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mine.json");
    let sites = r#"{"sites": [{"name": "zed", "addr": "127.0.0.1", "port": 1}]}"#;
    std::fs::write(&cfg, sites).unwrap();
    let path = cfg.display().to_string();
    // zed's control port (1001) has nobody: unreachable, but the config is ours.
    let out = run(&["ctl", "zed", "status"], &[("TWEETTUI_CONFIG", &path)]);
    let t = text(&out);
    assert!(
        t.contains(&format!("config {path} (from TWEETTUI_CONFIG)")),
        "{t}"
    );
    assert_eq!(out.status.code(), Some(6), "{t}");
    // No config anywhere: the built-in five sites, said once.
    let out = run(&["ctl", "zed", "status"], &[]);
    let t = text(&out);
    assert_eq!(t.matches("built-in default").count(), 1, "{t}");
    assert_eq!(out.status.code(), Some(2), "zed is no built-in site: {t}");
}

/// CI's smoke run of `tweettui bench` (so that it cannot rot): a tiny
/// load on a cluster it starts, and its report.
#[test]
fn bench_runs_a_tiny_load() {
    let out = run(
        &["bench", "--seconds", "1", "--clients", "2", "--size", "20"],
        &[],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("tweets decided") && t.contains("p99"), "{t}");
    // etcd needs its endpoints.
    let out = run(&["bench", "--target", "etcd"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Each OS error once; a data dir that is a file says so.
#[test]
fn errors_say_what_is_wrong_once() {
    let out = run(&["alice", "--headless", "--config", "nope.json"], &[]);
    let t = text(&out);
    assert!(!out.status.success());
    assert_eq!(t.matches("os error 2").count(), 1, "{t}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a dir").unwrap();
    let path = file.display().to_string();
    let out = run(&["alice", "--headless", "--data-dir", &path], &[]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains("not a directory"), "{t}");
    assert!(!t.contains("File exists"), "{t}");
}

/// Each subcommand's help lists only the options it takes: the demo has a
/// data dir of its own but no config (it makes its own cluster).
#[test]
fn the_demo_lists_only_what_it_takes() {
    let out = run(&["demo", "--help"], &[]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("--data-dir") && t.contains("--slow"), "{t}");
    assert!(!t.contains("--config"), "{t}");
}

/// An option before a subcommand makes it a site name to clap: say so.
#[test]
fn an_option_before_a_subcommand_is_explained() {
    let out = run(&["--theme", "light", "demo"], &[]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains("`demo` is a subcommand"), "{t}");
}
