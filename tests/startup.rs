//! What a site does at start-up, with real processes: a data dir knows
//! whose it is (SPEC 6), and a peer whose name does not resolve does not
//! stop a site (SPEC 7).

mod common;

use common::{free_port, wait_until};
use serde_json::json;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tweettui");

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

/// One control request; None when nobody answers.
fn call(port: u16, head: &str, body: serde_json::Value) -> Option<serde_json::Value> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let line = json!({"head": head, "body": body}).to_string() + "\n";
    s.write_all(line.as_bytes()).ok()?;
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).ok()?;
    serde_json::from_str(&answer).ok()
}

/// Kills the children when the test ends, also when it fails.
struct Kill(Vec<std::process::Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn a_peer_name_that_does_not_resolve_does_not_stop_a_site() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let hosts = ["127.0.0.1", "127.0.0.1", "no-such-host.invalid"];
    let sites: Vec<_> = ["alice", "bob", "carol"]
        .iter()
        .zip(&ports)
        .zip(hosts)
        .map(|((n, (p, c)), h)| json!({"name": n, "addr": h, "port": p, "control_port": c}))
        .collect();
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, json!({ "sites": sites }).to_string()).expect("config");
    let mut kids = Kill(Vec::new());
    for name in ["alice", "bob"] {
        let child = Command::new(BIN)
            .args([name, "--headless", "--config"])
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join(name))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start");
        kids.0.push(child);
    }
    // A new cluster of three votes once two peers said they hold nothing:
    // carol never answers, so alice and bob cannot start deciding (SPEC 6);
    // what matters here is that both sites run and report carol down.
    let end = Instant::now() + Duration::from_secs(20);
    let mut status = None;
    while Instant::now() < end {
        status = call(ports[0].1, "status", serde_json::Value::Null);
        if status
            .as_ref()
            .is_some_and(|s| s["body"]["peers"][0]["connected"] == true)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = status.expect("alice runs although carol's name does not resolve");
    let peers = &status["body"]["peers"];
    assert_eq!(peers[0]["connected"], true, "alice reaches bob: {status}");
    assert_eq!(peers[1]["name"], "carol", "{status}");
    assert_eq!(peers[1]["connected"], false, "{status}");
    assert!(
        call(ports[1].1, "status", serde_json::Value::Null).is_some(),
        "bob runs"
    );
    for k in &mut kids.0 {
        assert!(k.try_wait().ok().flatten().is_none(), "a site stopped");
    }
}

/// A headless site does its async work on one thread unless
/// `TOKIO_WORKER_THREADS` says otherwise (`runtime` in main.rs: faster than
/// a thread per core when sites and their load share the cores), and says
/// so when it is up.
#[test]
fn a_headless_site_runs_one_async_worker_unless_told_otherwise() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = config(dir.path(), "config.json", &["alice", "bob", "carol"]);
    for (workers, expected) in [(None, "1 async worker"), (Some("2"), "2 async workers")] {
        let log_path = dir.path().join(format!("alice-{expected}.log"));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.args(["alice", "--headless", "--config"])
            .arg(&cluster)
            .arg("--data-dir")
            .arg(dir.path().join("alice-data"))
            .env_remove("TOKIO_WORKER_THREADS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(n) = workers {
            cmd.env("TOKIO_WORKER_THREADS", n);
        }
        let mut child = cmd.spawn().expect("start tweettui");
        let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let up = wait_until(Duration::from_secs(20), || {
            read().contains("site alice up:")
        });
        let _ = child.kill();
        let _ = child.wait();
        let log = read();
        assert!(up, "alice did not come up: {log}");
        assert!(log.contains(&format!(", {expected}\n")), "{log}");
    }
}
