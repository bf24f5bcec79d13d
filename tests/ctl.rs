//! `tweettui ctl` as a tool people script (issue "polish", SPEC 8): each
//! outcome its exit code, answers on stdout and errors on stderr, one time
//! format in `--json`, the site that answers checked, and `ctl cluster`.

mod common;

use common::{Cluster, BIN};
use serde_json::{json, Value as Json};
use std::path::Path;
use std::process::{Command, Output};

fn ctl(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("ctl")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run ctl")
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// RFC 3339, UTC, to the millisecond: `2026-11-28T02:13:17.123Z`.
fn is_rfc3339_ms(t: &str) -> bool {
    let b = t.as_bytes();
    t.len() == 24
        && b[10] == b'T'
        && b[19] == b'.'
        && t.ends_with('Z')
        && chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

#[test]
fn ctl_exit_codes_streams_and_time_format() {
    let mut c = Cluster::started(3);
    let cfg = c.config.clone();

    let ok = ctl(&cfg, &["alice", "tweet", "hello", "from", "ctl"]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("done: slot"), "{}", stdout(&ok));
    assert!(stderr(&ok).is_empty(), "{}", stderr(&ok));

    // 400: never succeeds as written (a tweet of blanks): exit 3, stderr.
    let bad = ctl(&cfg, &["alice", "tweet", "   "]);
    assert_eq!(code(&bad), 3, "{}", stderr(&bad));
    assert!(stdout(&bad).is_empty(), "{}", stdout(&bad));
    assert!(stderr(&bad).contains("400"), "{}", stderr(&bad));

    // 409: refused by the state (unblocking one not blocked): exit 4.
    let refused = ctl(&cfg, &["alice", "unblock", "bob"]);
    assert_eq!(code(&refused), 4, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("409"), "{}", stderr(&refused));

    // Usage: clap's 2, and nothing sent.
    let usage = ctl(&cfg, &["alice", "frob"]);
    assert_eq!(code(&usage), 2, "{}", stderr(&usage));
    let unknown = ctl(&cfg, &["zoe", "status"]);
    assert_eq!(code(&unknown), 2, "{}", stderr(&unknown));

    // --json: the answer line; view and log give times in one format.
    let view = ctl(&cfg, &["alice", "view", "--json"]);
    let view: Json = serde_json::from_str(stdout(&view).trim()).expect("view JSON");
    let t = view["body"][0]["time"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(is_rfc3339_ms(&t), "view time {t}");
    let log = ctl(&cfg, &["alice", "log", "--json"]);
    let log: Json = serde_json::from_str(stdout(&log).lines().next().unwrap_or("")).unwrap();
    let tweet = log["body"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["op"]["kind"] == "tweet"))
        .cloned()
        .unwrap_or(Json::Null);
    let t2 = tweet["op"]["time"].as_str().unwrap_or_default();
    assert_eq!(t2, t, "the same tweet's time in log and view");

    // 503: alice cut off from both peers cannot decide: exit 5.
    let cut = json!({"drop_to": [1, 2], "drop_from": [1, 2]}).to_string();
    assert_eq!(code(&ctl(&cfg, &["alice", "fault", &cut])), 0);
    let lost = ctl(&cfg, &["alice", "tweet", "nobody hears me"]);
    assert_eq!(code(&lost), 5, "{}", stderr(&lost));
    assert!(stderr(&lost).contains("503"), "{}", stderr(&lost));
    assert_eq!(code(&ctl(&cfg, &["alice", "fault"])), 0);

    // Unreachable: a site that is not running: exit 6.
    c.kill(0);
    let down = ctl(&cfg, &["alice", "status"]);
    assert_eq!(code(&down), 6, "{}", stderr(&down));
}

/// `ctl bob` must not print alice's answer: with bob's control port the
/// same as alice's in the config (two sites on one host), ctl says so
/// (exit 7); a site on another host is not asked here (exit 6).
#[test]
fn ctl_checks_the_site_that_answers() {
    let c = Cluster::started(3);
    let text = std::fs::read_to_string(&c.config).unwrap();
    let mut config: Json = serde_json::from_str(&text).unwrap();
    // Alice on 127.0.0.1, bob on 127.0.0.2 with alice's control port: a
    // valid config (other addresses), but both control ports are
    // 127.0.0.1:<that port>, where alice answers.
    config["sites"][1]["addr"] = json!("127.0.0.2");
    config["sites"][1]["control_port"] = json!(c.control_ports[0]);
    config["sites"][2]["addr"] = json!("192.0.2.1");
    let wrong = c.dir.path().join("wrong.json");
    std::fs::write(&wrong, config.to_string()).unwrap();

    let out = ctl(&wrong, &["bob", "tweet", "as bob?"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    assert!(stderr(&out).contains("alice answered"), "{}", stderr(&out));
    let view = ctl(&c.config, &["alice", "view", "--json"]);
    assert!(
        !stdout(&view).contains("as bob?"),
        "tweeted as alice: {}",
        stdout(&view)
    );

    let far = ctl(&wrong, &["carol", "status"]);
    assert_eq!(code(&far), 6, "{}", stderr(&far));
    assert!(stderr(&far).contains("on that host"), "{}", stderr(&far));
}

/// `ctl cluster`: one table row per site, up with its leader and decided
/// count; a stopped site is `down` and the exit code says not all answered.
#[test]
fn ctl_cluster_is_one_table_of_every_site() {
    let mut c = Cluster::started(3);
    assert_eq!(c.tweet(0, "one")["stat"], 200);
    let out = ctl(&c.config, &["cluster"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("SITE"), "{table}");
    for (line, name) in lines[1..].iter().zip(["alice", "bob", "carol"]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[0], name, "{table}");
        assert_eq!(cols[2], "up", "{table}");
    }
    c.kill(2);
    let out = ctl(&c.config, &["cluster", "--json"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let rows: Json = serde_json::from_str(stdout(&out).trim()).expect("cluster JSON");
    assert_eq!(rows[0]["up"], true);
    assert_eq!(rows[2]["up"], false);
    assert_eq!(rows[2]["error"], "down");
}
