//! End-to-end tests with real processes: each site is a `tweettui --headless`
//! child on free loopback ports with its own temporary data dir. Children are
//! killed when a test ends, also when it fails (the `Cluster` drop guard).
//! Every wait is a condition polled until a deadline.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn three_sites_share_one_log() {
    let c = Cluster::started(3);
    for (i, name) in NAMES.iter().enumerate().take(3) {
        let r = c.tweet(i, &format!("hello from {name}"));
        assert_eq!(r["stat"], 200, "{r}");
        assert!(r["body"]["slot"].is_u64(), "{r}");
    }
    // Every site's view holds every tweet once the log reached it.
    for i in 0..3 {
        let ok = wait_until(Duration::from_secs(10), || c.view_texts(i).len() == 3);
        assert!(ok, "site {i} view: {:?}", c.view_texts(i));
        let texts = c.view_texts(i);
        for n in &NAMES[..3] {
            assert!(texts.contains(&format!("hello from {n}")), "{texts:?}");
        }
    }
    let logs: Vec<Json> = (0..3).map(|i| c.log_of(i)).collect();
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[0], logs[2]);
    assert_eq!(logs[0].as_array().map(Vec::len), Some(3));
    assert_eq!(logs[0][0]["op"]["kind"], "tweet");
}

#[test]
fn blocking_end_to_end() {
    let c = Cluster::started(3);
    let (alice, bob, carol) = (0, 1, 2);
    assert_eq!(c.tweet(alice, "alice one")["stat"], 200);
    assert_eq!(c.tweet(bob, "bob one")["stat"], 200);
    let r = c.call(alice, "block", json!("bob"));
    assert_eq!(r["stat"], 200, "{r}");
    assert_eq!(c.tweet(alice, "alice two")["stat"], 200);
    let settled = |i: usize| wait_until(Duration::from_secs(10), || c.decided(i) >= 4);
    assert!(settled(bob) && settled(carol));
    // bob sees none of alice's tweets, old or new; carol sees all; alice still sees bob.
    let bob_view = c.view_texts(bob);
    assert_eq!(bob_view, vec!["bob one".to_string()], "{bob_view:?}");
    let carol_view = c.view_texts(carol);
    assert!(carol_view.contains(&"alice one".into()) && carol_view.contains(&"alice two".into()));
    assert!(c.view_texts(alice).contains(&"bob one".into()));
    assert_eq!(c.call(alice, "blocked", Json::Null)["body"], json!(["bob"]));
    // Refusals.
    let twice = c.call(alice, "block", json!("bob"));
    assert_eq!(twice["stat"], 409, "{twice}");
    assert!(
        twice["body"]
            .as_str()
            .unwrap_or_default()
            .contains("already"),
        "{twice}"
    );
    let unknown = c.call(alice, "block", json!("zed"));
    assert_eq!(unknown["stat"], 400, "{unknown}");
    assert!(
        unknown["body"].as_str().unwrap_or_default().contains("zed"),
        "{unknown}"
    );
    let me = c.call(alice, "block", json!("alice"));
    assert_eq!(me["stat"], 400, "{me}");
    let not_blocked = c.call(alice, "unblock", json!("carol"));
    assert_eq!(not_blocked["stat"], 409, "{not_blocked}");
    let missing = c.call(alice, "block", Json::Null);
    assert_eq!(missing["stat"], 400, "{missing}");
    // Unblock restores alice's tweets for bob.
    assert_eq!(c.call(alice, "unblock", json!("bob"))["stat"], 200);
    let ok = wait_until(Duration::from_secs(10), || c.view_texts(bob).len() == 3);
    assert!(ok, "bob's view after unblock: {:?}", c.view_texts(bob));
}

#[test]
fn a_killed_site_catches_up_after_200_operations() {
    let mut c = Cluster::started(3);
    assert_eq!(c.tweet(0, "before")["stat"], 200);
    c.kill(2);
    // 200 operations over several connections at once (each answer waits for
    // its slot, so concurrency is what makes batching show up).
    std::thread::scope(|s| {
        for t in 0..4 {
            let port = c.control_ports[t % 2];
            s.spawn(move || {
                for k in 0..50 {
                    let r = try_call(port, "tweet", json!(format!("op {t}-{k}")));
                    assert_eq!(
                        r.as_ref().map(|r| r["stat"].clone()),
                        Some(json!(200)),
                        "{r:?}"
                    );
                }
            });
        }
    });
    c.start(2);
    c.wait_up(2);
    let target = c.decided(0);
    assert!(target >= 2);
    let caught_up = wait_until(Duration::from_secs(30), || c.decided(2) >= target);
    assert!(
        caught_up,
        "site 2 decided {} of {target}; log:\n{}",
        c.decided(2),
        c.log(2)
    );
    let log0 = c.log_of(0);
    let ok = wait_until(Duration::from_secs(10), || c.log_of(2) == c.log_of(0));
    assert!(ok, "logs differ");
    assert_eq!(log0.as_array().map(Vec::len), Some(201));
    assert_eq!(c.decided(2), c.decided(0));
}

#[test]
fn no_quorum_answers_503_and_the_operation_is_decided_at_most_once() {
    let mut c = Cluster::started(3);
    assert_eq!(c.tweet(0, "warm up")["stat"], 200);
    c.kill(1);
    c.kill(2);
    let started = Instant::now();
    let r = c.tweet(0, "lonely");
    let took = started.elapsed();
    assert_eq!(r["stat"], 503, "{r}");
    // Bounded: the contract says submit_timeout_ms plus a second at most.
    assert!(
        took < Duration::from_millis(SUBMIT_TIMEOUT_MS + 1_000),
        "took {took:?}"
    );
    c.start(1);
    c.wait_up(1);
    let ok = wait_until(Duration::from_secs(20), || {
        c.tweet(0, "together again")["stat"] == 200
    });
    assert!(ok, "no success after a majority came back");
    let log = c.log_of(0);
    let lonely = log
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["op"]["text"] == "lonely")
        .count();
    assert!(lonely <= 1, "the 503 operation was decided {lonely} times");
}

#[test]
fn a_partitioned_minority_answers_503_and_everyone_converges_after() {
    let c = Cluster::started(3);
    assert_eq!(c.tweet(0, "before")["stat"], 200);
    // Cut site 0 off, both ways.
    let cut = c.call(0, "fault", json!({"drop_to": [1, 2], "drop_from": [1, 2]}));
    assert_eq!(cut["stat"], 200, "{cut}");
    let peers = &c.call(0, "status", Json::Null)["body"]["peers"];
    assert_eq!(
        peers[0]["connected"], false,
        "cut off peers show as down: {peers}"
    );
    assert_eq!(
        peers[1]["connected"], false,
        "cut off peers show as down: {peers}"
    );
    assert_eq!(c.tweet(0, "from the minority")["stat"], 503);
    let ok = wait_until(Duration::from_secs(15), || {
        c.tweet(1, "majority goes on")["stat"] == 200
    });
    assert!(ok, "the majority did not decide");
    assert_eq!(c.tweet(2, "still going")["stat"], 200);
    assert_eq!(c.call(0, "fault", json!({}))["stat"], 200);
    let ok = wait_until(Duration::from_secs(20), || {
        let l = c.log_of(1);
        c.log_of(0) == l && c.log_of(2) == l
    });
    assert!(
        ok,
        "logs did not converge: {} / {} / {}",
        c.log_of(0),
        c.log_of(1),
        c.log_of(2)
    );
    assert_eq!(c.tweet(0, "back")["stat"], 200);
}

/// Sends raw bytes; returns what came back before the site closed the
/// connection or the deadline passed.
fn raw_exchange(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // A peer that closes early makes the rest of a large write fail: fine.
    let _ = s.write_all(bytes);
    let _ = s.flush();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.ends_with(b"\n")
                    && !bytes.is_empty()
                    && got.iter().filter(|&&b| b == b'\n').count() >= expected_lines(bytes)
                {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn expected_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count().max(1)
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let c = Cluster::started(3);
    assert_eq!(c.tweet(0, "keep me")["stat"], 200);
    let log_before = c.log_of(0);
    let ctl = c.control_ports[0];
    // Control port: each bad request gets 400 with the usage.
    for bad in [
        "this is not json\n",
        "{\"head\": \"dance\", \"body\": null}\n",
        "[1,2,3]\n",
    ] {
        let answer = raw_exchange(ctl, bad.as_bytes());
        let v: Json = serde_json::from_str(answer.trim()).unwrap_or(Json::Null);
        assert_eq!(v["stat"], 400, "{bad:?} -> {answer:?}");
        assert!(
            v["body"].as_str().unwrap_or_default().contains("commands"),
            "{answer}"
        );
    }
    // Several requests on one connection are answered in order.
    let two = raw_exchange(ctl, b"{\"head\":\"status\",\"body\":null}\nnot json\n");
    let lines: Vec<Json> = two
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 2, "{two}");
    assert_eq!(lines[0]["stat"], 200);
    assert_eq!(lines[1]["stat"], 400);
    // A 2 MiB line and random bytes: 400 or a closed connection.
    let mut huge = vec![b'x'; 2 * 1024 * 1024];
    huge.push(b'\n');
    let answer = raw_exchange(ctl, &huge);
    assert!(answer.is_empty() || answer.contains("400"), "{answer:?}");
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let answer = raw_exchange(ctl, &noise);
    assert!(answer.is_empty() || answer.contains("400"), "{answer:?}");
    // Peer port: malformed, unknown, oversized and random input close the
    // connection (nothing is answered).
    let peer = c.peer_ports[0];
    for bad in [
        b"not json\n".to_vec(),
        b"{\"head\":\"bogus\",\"from\":1,\"body\":{}}\n".to_vec(),
        b"{\"head\":\"prepare\",\"from\":0,\"body\":{\"ballot\":{\"round\":9,\"site\":0},\"from_slot\":0}}\n".to_vec(),
        huge.clone(),
        noise.clone(),
    ] {
        let answer = raw_exchange(peer, &bad);
        assert!(answer.is_empty(), "the peer port answered {answer:?}");
    }
    // The site still works and lost nothing.
    assert_eq!(c.call(0, "status", Json::Null)["stat"], 200);
    assert_eq!(c.log_of(0), log_before);
    assert_eq!(c.tweet(0, "still here")["stat"], 200);
    for i in 0..3 {
        let ok = wait_until(Duration::from_secs(10), || c.view_texts(i).len() == 2);
        assert!(ok, "site {i}: {:?}", c.view_texts(i));
    }
}

fn run_to_exit(args: &[&str], cwd: &Path) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tweettui {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let c = Cluster::started(1);
    let dir = c.data_dir(0);
    let args = [
        "alice",
        "--headless",
        "--config",
        c.config.to_str().unwrap_or_default(),
        "--data-dir",
        dir.to_str().unwrap_or_default(),
    ];
    let (code, err) = run_to_exit(&args, c.dir.path());
    assert_ne!(code, 0);
    assert!(err.contains("in use"), "{err}");
    // The first one is unharmed.
    assert_eq!(c.tweet(0, "still mine")["stat"], 200);
}

#[test]
fn a_broken_config_is_refused_with_file_field_and_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"sites": [{"name": "alice", "addr": "127.0.0.1", "port": 9000},
                     {"name": "alice", "addr": "127.0.0.1", "port": 9001}]}"#,
    )
    .expect("write");
    let (code, err) = run_to_exit(&["0", "--headless"], dir.path());
    assert_ne!(code, 0);
    assert!(
        err.contains("config.json") && err.contains("sites[1].name") && err.contains("duplicate"),
        "{err}"
    );
    std::fs::write(dir.path().join("config.json"), "{\"sites\": [").expect("write");
    let (code, err) = run_to_exit(&["0", "--headless"], dir.path());
    assert_ne!(code, 0);
    assert!(err.contains("config.json") && err.contains("line"), "{err}");
    let (code, err) = run_to_exit(
        &["zed", "--headless", "--config", "/nonexistent/config.json"],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/config.json"), "{err}");
}

#[test]
fn headless_site_stops_cleanly_on_sigterm() {
    #[cfg(unix)]
    {
        let mut c = Cluster::started(1);
        let child = c.children[0].take().expect("child");
        let pid = child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let mut child = child;
        let end = Instant::now() + Duration::from_secs(10);
        let code = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break s.code();
            }
            assert!(Instant::now() < end, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(code, Some(0));
        // The lock was released: the site starts again on the same data dir.
        c.start(0);
        c.wait_up(0);
    }
}

#[test]
fn a_site_down_for_thousands_of_slots_catches_up_from_the_archive() {
    // 3,000 operations in 1,500 slots at least (two clients, and a leader
    // puts what waits into one slot): more than the 1,024 decided values a
    // core keeps in memory, so catch-up is served from the other sites'
    // archives, and across their checkpoints (every 1,000 slots).
    const CLIENTS: usize = 2;
    const EACH: usize = 1_500;
    let mut c = Cluster::started(3);
    c.kill(2);
    std::thread::scope(|s| {
        for t in 0..CLIENTS {
            let port = c.control_ports[t % 2];
            s.spawn(move || {
                for k in 0..EACH {
                    let r = try_call(port, "tweet", json!(format!("bulk {t}-{k}")));
                    assert_eq!(
                        r.as_ref().map(|r| r["stat"].clone()),
                        Some(json!(200)),
                        "{r:?}"
                    );
                }
            });
        }
    });
    let target = c.decided(0);
    c.start(2);
    c.wait_up(2);
    let caught_up = wait_until(Duration::from_secs(60), || c.decided(2) >= target);
    assert!(
        caught_up,
        "site 2 decided {} of {target}; log:\n{}",
        c.decided(2),
        c.log(2)
    );
    let ops = |log: &Json| log.as_array().map_or(0, Vec::len);
    let (log0, log2) = (c.log_of(0), c.log_of(2));
    assert_eq!(ops(&log0), CLIENTS * EACH);
    assert_eq!(log0, log2);
    check_log_pages(&c, 2, ops(&log0));
    // It restarts from its own checkpoint and archive, and still agrees.
    c.kill(2);
    c.start(2);
    c.wait_up(2);
    assert_eq!(c.log_of(2), log0);
    assert_eq!(c.view_texts(2).len(), ops(&log0));
}

/// `log` on a site whose decided log holds `rows` operations: the whole of
/// it, bounded pages, and `tweettui ctl SITE log` pages through all of
/// them.
fn check_log_pages(c: &Cluster, i: usize, rows: usize) {
    let slots = c.decided(i);
    assert!(slots > LOG_PAGE, "{slots} slots");
    // A slot may hold a batch of operations: one row each.
    let slots_in = |rows: &[Json]| {
        let mut s: Vec<u64> = rows.iter().map(slot_of).collect();
        s.dedup();
        s
    };
    let range = |a: u64, b: u64| (a..b.min(slots)).collect::<Vec<u64>>();
    // No limit: every slot, from slot 0 or `from`, in one answer (SPEC 8).
    assert_eq!(slots_in(&c.log_page(i, Json::Null)), range(0, slots));
    assert_eq!(
        slots_in(&c.log_page(i, json!({"from": 7}))),
        range(7, slots)
    );
    // A limit, and a limit over the page size.
    let mid = slots / 2;
    let some = c.log_page(i, json!({"from": mid, "limit": 10}));
    assert_eq!(slots_in(&some), range(mid, mid + 10));
    let capped = c.log_page(i, json!({"from": 100, "limit": 100_000}));
    assert_eq!(slots_in(&capped), range(100, 100 + LOG_PAGE));
    let tail = c.log_page(i, json!({"from": slots - 5}));
    assert_eq!(slots_in(&tail), range(slots - 5, slots));
    assert!(c.log_page(i, json!({"from": slots})).is_empty());
    // The command line pages through the whole log.
    let out = Command::new(BIN)
        .args(["ctl", NAMES[i], "log", "--config"])
        .arg(&c.config)
        .output()
        .expect("run ctl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("slot")).collect();
    let end = &text[text.len().saturating_sub(300)..];
    assert_eq!(lines.len(), rows, "{end}");
    let last = lines.last().and_then(|l| l.split_whitespace().nth(1));
    assert_eq!(last, Some((slots - 1).to_string().as_str()), "{end}");
}
