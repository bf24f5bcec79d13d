//! SPEC 6: a data dir knows whose it is. Real processes: a site started on
//! another site's data dir, or in another cluster, is refused with a message
//! that names both, and the data dir is left as it was.

use serde_json::json;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tweettui");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Writes a config for the named sites on free ports.
fn config(dir: &Path, file: &str, names: &[&str]) -> std::path::PathBuf {
    let sites: Vec<_> = names
        .iter()
        .map(|n| json!({"name": n, "addr": "127.0.0.1", "port": free_port(), "control_port": free_port()}))
        .collect();
    let path = dir.join(file);
    std::fs::write(&path, json!({ "sites": sites }).to_string()).expect("write config");
    path
}

/// Runs `tweettui SITE --headless` on `data`; returns (exit code, stderr)
/// once it exits, or kills it after `grace` and returns None.
fn run(site: &str, cfg: &Path, data: &Path, grace: Duration) -> Option<(i32, String)> {
    let mut child = Command::new(BIN)
        .args([site, "--headless", "--config"])
        .arg(cfg)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tweettui");
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return Some((status.code().unwrap_or(-1), err));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_data_dir_started_as_another_site_or_cluster_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = config(dir.path(), "config.json", &["alice", "bob", "carol"]);
    let data = dir.path().join("alice-data");
    // alice's data dir is made: the site runs (it is killed after a moment).
    assert_eq!(
        run("alice", &cluster, &data, Duration::from_millis(1_500)),
        None,
        "alice should keep running on her own data dir"
    );
    let identity = std::fs::read(data.join("identity.json")).expect("identity written");

    // The same data dir started as bob.
    let (code, err) = run("bob", &cluster, &data, Duration::from_secs(20)).expect("bob exits");
    assert_ne!(code, 0);
    assert!(
        err.contains("site alice") && err.contains("site bob"),
        "the message names both sites: {err}"
    );
    assert!(err.contains(&data.display().to_string()), "{err}");

    // The same data dir in another cluster (other names).
    let other = config(dir.path(), "other.json", &["alice", "dave", "erin"]);
    let (code, err) = run("alice", &other, &data, Duration::from_secs(20)).expect("exits");
    assert_ne!(code, 0);
    assert!(
        err.contains("alice, bob, carol") && err.contains("alice, dave, erin"),
        "the message names both clusters: {err}"
    );

    // Refusing changed nothing.
    assert_eq!(
        std::fs::read(data.join("identity.json")).ok(),
        Some(identity)
    );
    assert_eq!(
        run("alice", &cluster, &data, Duration::from_millis(1_500)),
        None,
        "alice still starts"
    );
}
