//! The cluster secret with real processes (SPEC 3 and 7): a cluster whose
//! sites share a secret, and an impostor in the place of one of them (the
//! same site list, its ports, but no secret or another one). Nothing the
//! impostor sends is decided, its own submissions answer 503, the others
//! see it as not connected and keep deciding, and they log the refusals
//! once per period, not once per attempt.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SECRET: &str = "the cluster secret, long and random enough";

/// Adds `"secret"` to the config file at `path` (or removes it).
fn set_secret(path: &Path, secret: Option<&str>) {
    let text = std::fs::read_to_string(path).expect("config");
    let mut config: Json = serde_json::from_str(&text).expect("config JSON");
    match secret {
        Some(s) => config["secret"] = json!(s),
        None => {
            config.as_object_mut().map(|o| o.remove("secret"));
        }
    }
    std::fs::write(path, config.to_string()).expect("write config");
}

/// Kills the impostor when the test ends, also when it fails.
struct Impostor(Child);

impl Drop for Impostor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts site `i`'s impostor: its own config file `config` and data dir,
/// `TWEETTUI_SECRET` set to `env_secret` or removed.
fn impostor(c: &Cluster, i: usize, config: &Path, env_secret: Option<&str>) -> Impostor {
    let log = std::fs::File::create(c.dir.path().join("impostor.log")).expect("log file");
    let mut cmd = Command::new(BIN);
    cmd.arg(NAMES[i])
        .arg("--headless")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(c.dir.path().join("impostor"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    match env_secret {
        Some(s) => cmd.env("TWEETTUI_SECRET", s),
        None => cmd.env_remove("TWEETTUI_SECRET"),
    };
    Impostor(cmd.spawn().expect("start the impostor"))
}

fn peer_connected(c: &Cluster, site: usize, peer: usize) -> Option<bool> {
    let status = c.call(site, "status", Json::Null);
    status["body"]["peers"]
        .as_array()?
        .iter()
        .find(|p| p["site"] == json!(peer))?["connected"]
        .as_bool()
}

fn texts_in_log(c: &Cluster, i: usize) -> Vec<String> {
    c.log_of(i)
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["op"]["text"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Lines of `log` that report a refusal of the impostor, both ways.
fn refusal_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            (l.contains("WARN") || l.contains("INFO"))
                && (l.contains("peer not authenticated") || l.contains("(refused)"))
        })
        .count()
}

/// Three sites with the secret; carol's place is then taken by an impostor
/// started by `start_impostor`.
fn the_impostor_is_refused(start_impostor: impl FnOnce(&Cluster) -> Impostor) {
    let mut c = Cluster::new(3);
    set_secret(&c.config, Some(SECRET));
    for i in 0..3 {
        c.start(i);
    }
    c.wait_all_voting();
    assert_eq!(c.tweet(0, "before the impostor")["stat"], 200);
    for (site, peer) in [(0, 2), (1, 2), (2, 0)] {
        assert_eq!(
            peer_connected(&c, site, peer),
            Some(true),
            "{site} to {peer}"
        );
    }

    c.kill(2);
    let started = Instant::now();
    let _impostor = start_impostor(&c);
    c.wait_up(2); // its control port answers (the impostor's)
    let r = c.tweet(2, "from the impostor");
    assert_eq!(r["stat"], 503, "the impostor's submission: {r}");

    for (i, name) in NAMES.iter().enumerate().take(2) {
        let r = c.tweet(i, &format!("{name} while the impostor runs"));
        assert_eq!(r["stat"], 200, "{r}; log:\n{}", c.log(i));
        assert_eq!(
            peer_connected(&c, i, 2),
            Some(false),
            "{name} sees carol up"
        );
    }
    // The impostor keeps dialing: let the refusals pile up a while.
    let impostor_log = || std::fs::read_to_string(c.dir.path().join("impostor.log"));
    let retried = wait_until(Duration::from_secs(30), || {
        started.elapsed() > Duration::from_secs(12)
            && c.call(2, "status", Json::Null)["stat"] == 200
    });
    assert!(retried, "the impostor stopped answering");
    let r = c.tweet(2, "again from the impostor");
    assert_eq!(r["stat"], 503, "{r}");
    assert_eq!(c.tweet(1, "bob, last")["stat"], 200);

    for (i, name) in NAMES.iter().enumerate().take(2) {
        let texts = texts_in_log(&c, i);
        assert!(texts.contains(&"bob, last".to_string()), "{texts:?}");
        for sent in ["from the impostor", "again from the impostor"] {
            assert!(
                !texts.contains(&sent.to_string()),
                "the impostor's tweet was decided: {texts:?}"
            );
        }
        assert_eq!(peer_connected(&c, i, 2), Some(false));
        // Refused many times (every backoff of two dialers), logged once
        // per 10 s period and direction at most.
        let periods = started.elapsed().as_secs() as usize / 10 + 1;
        let lines = refusal_lines(&c.log(i));
        assert!(
            (1..=2 * periods + 2).contains(&lines),
            "{lines} refusal lines in {periods} periods; log of {name}:\n{}",
            c.log(i)
        );
    }
    eprintln!("impostor's log:\n{}", impostor_log().unwrap_or_default());
}

#[test]
fn an_impostor_without_the_secret_is_refused() {
    the_impostor_is_refused(|c| {
        let plain = c.dir.path().join("no-secret.json");
        std::fs::copy(&c.config, &plain).expect("copy config");
        set_secret(&plain, None);
        impostor(c, 2, &plain, None)
    });
}

#[test]
fn an_impostor_with_another_secret_is_refused() {
    // The environment's secret wins over the config's (SPEC 3).
    the_impostor_is_refused(|c| impostor(c, 2, &c.config, Some("a guess")));
}
