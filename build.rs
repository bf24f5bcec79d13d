//! Puts the commit into `--version` (TWEETTUI_COMMIT): `git describe` when
//! the source is a git checkout, else "unknown commit" (a crate tarball).

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["describe", "--always", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=TWEETTUI_COMMIT={commit}");
    // Again when HEAD moves (a commit, a checkout); not on every edit.
    for f in [".git/HEAD", ".git/refs/heads"] {
        if std::path::Path::new(f).exists() {
            println!("cargo:rerun-if-changed={f}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
