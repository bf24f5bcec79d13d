//! Chaos with real processes (issue 13 item 3; SPEC 4, 5, 8): five
//! `--headless` sites; client threads submit tweets, blocks and unblocks at
//! random sites the whole time, each on its own control connections,
//! recording every submission (site, op, start and end on one clock, the
//! answer); a nemesis `kill -9`s and restarts sites, cuts minorities off
//! (both ways, deaf or mute) with `fault`, adds loss and delay, and heals —
//! never more than two of five sites down or cut at once. Afterwards,
//! everything healed, the checker (`chaos/checker.rs`) gets the history
//! and the decided log.
//!
//! `CHAOS_SECS` (default 40) sets how long the chaos lasts, `CHAOS_SEED` the
//! seed of the clients' and the nemesis's choices (the processes' timing is
//! not reproducible; the seed is printed), `CHAOS_CLIENTS` (default 5) the
//! number of clients. On a failure the history and the log are written
//! under the target dir's tmp dir, and the path is printed.

#[path = "chaos/checker.rs"]
mod checker;
mod common;

use checker::*;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SITES: usize = 5;
/// Peer timeout and submit timeout of the cluster under chaos.
const TIMEOUT_MS: u64 = 200;
const SUBMIT_MS: u64 = 2_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One submission on a connection of its own.
fn submit(port: u16, op: &Op) -> Outcome {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return Outcome::Unsent;
    };
    let head = match op.kind {
        Kind::Tweet => "tweet",
        Kind::Block => "block",
        Kind::Unblock => "unblock",
    };
    // Every request is answered within submit_timeout_ms plus a second
    // (SPEC 8); a loaded machine gets two more.
    let wait = Duration::from_millis(SUBMIT_MS + 3_000);
    let line = json!({"head": head, "body": op.arg}).to_string() + "\n";
    if s.set_read_timeout(Some(wait)).is_err() || s.write_all(line.as_bytes()).is_err() {
        return Outcome::Unanswered;
    }
    let mut answer = String::new();
    match BufReader::new(s).read_line(&mut answer) {
        Ok(n) if n > 0 => {}
        _ => return Outcome::Unanswered,
    }
    let Ok(a) = serde_json::from_str::<Json>(&answer) else {
        return Outcome::Refused(0, answer);
    };
    match a["stat"].as_u64() {
        Some(200) => match (a["body"]["slot"].as_u64(), a["body"]["index"].as_u64()) {
            (Some(slot), index) => Outcome::Decided {
                slot,
                index: index.unwrap_or(0),
            },
            _ => Outcome::Refused(200, answer),
        },
        Some(503) => Outcome::Timeout,
        Some(stat) => Outcome::Refused(stat as u16, a["body"].to_string()),
        None => Outcome::Refused(0, answer),
    }
}

/// A client: random operations at random sites until `stop`.
fn client(id: usize, seed: u64, ports: &[u16], t0: Instant, stop: &AtomicBool) -> Vec<Record> {
    let mut rng = StdRng::seed_from_u64(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut out = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let site = rng.random_range(0..SITES);
        let user = NAMES[site].to_string();
        let op = match rng.random_range(0..10) {
            0..6 => {
                n += 1;
                Op {
                    kind: Kind::Tweet,
                    user,
                    arg: format!("c{id} #{n} seed {seed:x}"),
                }
            }
            k => {
                let target = (site + rng.random_range(1..SITES)) % SITES;
                Op {
                    kind: if k < 8 { Kind::Block } else { Kind::Unblock },
                    user,
                    arg: NAMES[target].to_string(),
                }
            }
        };
        let start_us = t0.elapsed().as_micros() as u64;
        let outcome = submit(ports[site], &op);
        let end_us = t0.elapsed().as_micros() as u64;
        let unsent = outcome == Outcome::Unsent;
        out.push(Record {
            client: id,
            site,
            op,
            start_us,
            end_us,
            outcome,
        });
        if unsent {
            // The site is down: do not spin on it.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Site {
    Up,
    /// Killed; restarted at the deadline.
    Down(Instant),
    /// Cut off (or lossy, when `counts` is false) until the deadline.
    Faulty(Instant, bool),
}

#[derive(Default, Debug)]
struct Nemesis {
    kills: usize,
    cuts: usize,
    lossy: usize,
    heals: usize,
}

fn fault(c: &Cluster, i: usize, spec: Json) {
    // A site that is still starting may not answer: the heal at the end
    // clears every site again and checks the answers.
    let _ = try_call_within(c.control_ports[i], "fault", spec, Duration::from_secs(2));
}

fn impaired(sites: &[Site]) -> usize {
    sites
        .iter()
        .filter(|s| matches!(s, Site::Down(_) | Site::Faulty(_, true)))
        .count()
}

/// Kills, restarts, cuts, loss and heals until `until`; never more than
/// two sites down or cut at once.
fn nemesis(c: &mut Cluster, rng: &mut StdRng, until: Instant) -> Nemesis {
    let mut n = Nemesis::default();
    let mut sites = [Site::Up; SITES];
    let ms = |rng: &mut StdRng, a: u64, b: u64| Duration::from_millis(rng.random_range(a..b));
    while Instant::now() < until {
        // Pacing only: correctness waits on conditions, not on this.
        std::thread::sleep(ms(rng, 200, 1_200));
        let now = Instant::now();
        for (i, site) in sites.iter_mut().enumerate() {
            match *site {
                Site::Down(t) if t <= now => {
                    c.start(i);
                    *site = Site::Up;
                }
                Site::Faulty(t, _) if t <= now => {
                    fault(c, i, json!({}));
                    *site = Site::Up;
                }
                _ => {}
            }
        }
        let up: Vec<usize> = (0..SITES).filter(|&i| sites[i] == Site::Up).collect();
        let room = 2usize.saturating_sub(impaired(&sites));
        match rng.random_range(0..10) {
            0..3 if room > 0 && !up.is_empty() => {
                let i = up[rng.random_range(0..up.len())];
                c.kill(i);
                n.kills += 1;
                sites[i] = Site::Down(now + ms(rng, 300, 4_000));
            }
            3..6 if room > 0 && !up.is_empty() => {
                let k = rng.random_range(1..=room.min(up.len()));
                let mut group = up.clone();
                while group.len() > k {
                    group.swap_remove(rng.random_range(0..group.len()));
                }
                let others: Vec<usize> = (0..SITES).filter(|i| !group.contains(i)).collect();
                let spec = match rng.random_range(0..4) {
                    0 => json!({"drop_from": others}),
                    1 => json!({"drop_to": others}),
                    _ => json!({"drop_to": others, "drop_from": others}),
                };
                let until = now + ms(rng, 500, 5_000);
                for &i in &group {
                    fault(c, i, spec.clone());
                    sites[i] = Site::Faulty(until, true);
                }
                n.cuts += 1;
            }
            6..8 if !up.is_empty() => {
                let i = up[rng.random_range(0..up.len())];
                let loss = rng.random_range(0.02..0.2);
                let delay = rng.random_range(0..40);
                fault(c, i, json!({"loss": loss, "delay_ms": delay}));
                sites[i] = Site::Faulty(now + ms(rng, 500, 5_000), false);
                n.lossy += 1;
            }
            8 => {
                heal(c, &mut sites);
                n.heals += 1;
            }
            _ => {}
        }
    }
    heal(c, &mut sites);
    n
}

fn heal(c: &mut Cluster, sites: &mut [Site]) {
    for (i, s) in sites.iter_mut().enumerate() {
        match s {
            Site::Down(_) => c.start(i),
            Site::Faulty(..) => fault(c, i, json!({})),
            Site::Up => {}
        }
        *s = Site::Up;
    }
}

fn parse_row(row: &Json) -> Row {
    let slot = row["slot"].as_u64().expect("a slot");
    let index = row["index"].as_u64().unwrap_or(0);
    let op = &row["op"];
    let s = |k: &str| op[k].as_str().unwrap_or_default().to_string();
    let kind = match op["kind"].as_str() {
        Some("noop") => {
            return Row {
                slot,
                index,
                op: None,
            }
        }
        Some("tweet") => Kind::Tweet,
        Some("block") => Kind::Block,
        Some("unblock") => Kind::Unblock,
        other => panic!("a log row of kind {other:?}: {row}"),
    };
    let arg = if kind == Kind::Tweet {
        s("text")
    } else {
        s("target")
    };
    Row {
        slot,
        index,
        op: Some(Logged {
            op: Op {
                kind,
                user: s("user"),
                arg,
            },
            id: s("id"),
            time: s("time"),
        }),
    }
}

fn parse_view(v: &Json) -> Vec<Shown> {
    v.as_array()
        .expect("view is a list")
        .iter()
        .map(|t| Shown {
            slot: t["slot"].as_u64().expect("a slot"),
            index: t["index"].as_u64().unwrap_or(0),
            user: t["user"].as_str().unwrap_or_default().to_string(),
            text: t["text"].as_str().unwrap_or_default().to_string(),
            time: t["time"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// What every site holds once it settled: the same log everywhere, and
/// each site's view and blocked list read at that same log.
struct Settled {
    log: Vec<Row>,
    views: Vec<Vec<Shown>>,
    blocked: Vec<Vec<String>>,
}

fn decided_all(c: &Cluster) -> Option<Vec<u64>> {
    (0..SITES)
        .map(|i| {
            try_call(c.control_ports[i], "status", Json::Null)
                .and_then(|r| r["body"]["decided"].as_u64())
        })
        .collect()
}

/// Waits (with a deadline) until all sites hold the same decided log
/// reaching at least `min_slots`, then reads their views at that log.
fn settle(c: &Cluster, min_slots: u64) -> Result<Settled, String> {
    let end = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < end {
        let ok = wait_until(end.saturating_duration_since(Instant::now()), || {
            decided_all(c).is_some_and(|d| d.iter().all(|&x| x == d[0] && x >= min_slots))
        });
        if !ok {
            break;
        }
        let logs: Vec<Json> = (0..SITES).map(|i| c.log_of(i)).collect();
        if logs.iter().any(|l| l != &logs[0]) {
            last = format!(
                "logs differ: lengths {:?}",
                logs.iter()
                    .map(|l| l.as_array().map_or(0, Vec::len))
                    .collect::<Vec<_>>()
            );
            continue;
        }
        let views: Vec<Json> = (0..SITES).map(|i| c.call(i, "view", Json::Null)).collect();
        let blocked: Vec<Json> = (0..SITES)
            .map(|i| c.call(i, "blocked", Json::Null))
            .collect();
        // Nothing decided in between: the views belong to that log.
        let log = logs[0].as_array().expect("a list");
        let slots = log.last().map_or(0, |r| slot_of(r) + 1);
        if decided_all(c).is_some_and(|d| d.iter().all(|&x| x == slots)) {
            assert!(views.iter().chain(&blocked).all(|v| v["stat"] == 200));
            return Ok(Settled {
                log: log.iter().map(parse_row).collect(),
                views: views.iter().map(|v| parse_view(&v["body"])).collect(),
                blocked: blocked
                    .iter()
                    .map(|b| {
                        b["body"]
                            .as_array()
                            .expect("a list")
                            .iter()
                            .map(|s| s.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .collect(),
            });
        }
        last = "a slot was decided while the views were read".into();
    }
    Err(format!(
        "the sites did not settle on one log within 90 s ({last}); decided: {:?}",
        decided_all(c)
    ))
}

fn dump(seed: u64, history: &[Record], log: &[Row]) -> String {
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chaos-{seed:x}.txt"));
    let mut text = String::new();
    for r in history {
        text += &format!("{r:?}\n");
    }
    text += "--- log\n";
    for r in log {
        text += &format!("{r:?}\n");
    }
    let _ = std::fs::write(&path, text);
    path.display().to_string()
}

#[test]
fn chaos_with_real_processes() {
    let secs = env_u64("CHAOS_SECS", 40);
    let seed = env_u64(
        "CHAOS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    let clients = env_u64("CHAOS_CLIENTS", 5) as usize;
    eprintln!(
        "chaos: {secs} s, seed {seed} (CHAOS_SEED={seed} to repeat the choices), {clients} clients"
    );
    let mut c = Cluster::with_timeouts(SITES, TIMEOUT_MS, SUBMIT_MS);
    for i in 0..SITES {
        c.start(i);
    }
    c.wait_all_voting();

    let ports = c.control_ports.clone();
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(secs);
    let stop = AtomicBool::new(false);
    let mut rng = StdRng::seed_from_u64(seed);
    let (history, nem) = std::thread::scope(|s| {
        // Stops the clients also when the nemesis panics.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let handles: Vec<_> = (0..clients)
            .map(|id| {
                let (ports, stop) = (&ports, &stop);
                s.spawn(move || client(id, seed, ports, t0, stop))
            })
            .collect();
        let guard = Stop(&stop);
        let nem = nemesis(&mut c, &mut rng, until);
        drop(guard);
        let mut history: Vec<Record> = Vec::new();
        for h in handles {
            history.extend(h.join().expect("a client panicked"));
        }
        (history, nem)
    });
    let chaos_time = t0.elapsed();
    for i in 0..SITES {
        // Restarted just now, maybe: wait until it answers.
        c.wait_up(i);
        let r = c.call(i, "fault", json!({}));
        assert_eq!(r["stat"], 200, "{r}");
    }
    let min_slots = history
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Decided { slot, .. } => Some(slot + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let settle_start = Instant::now();
    let settled = match settle(&c, min_slots) {
        Ok(s) => s,
        Err(e) => panic!(
            "{e}\nseed {seed}; history: {}; site logs under {}",
            dump(seed, &history, &[]),
            c.dir.path().display()
        ),
    };
    let settle_time = settle_start.elapsed();

    let report = check(&history, &settled.log);
    let expected = recompute(&NAMES[..SITES], &settled.log);
    let mut errors: Vec<String> = report.violations.iter().map(|v| format!("{v:?}")).collect();
    let mut ties = 0;
    for i in 0..SITES {
        let sc = check_site(
            NAMES[i],
            &expected[i],
            &settled.views[i],
            &settled.blocked[i],
        );
        errors.extend(sc.errors);
        ties += sc.ms_ties_unlike_log;
    }
    if let Err(e) = views_agree(&settled.views) {
        errors.push(e);
    }
    let k = &report.counts;
    eprintln!(
        "chaos: {:?} of chaos, settled in {settle_time:?}; {} operations: {} answered 200, {} 503, \
         {} unanswered, {} not sent (site down), {} refused 409; {} of the 503/unanswered decided anyway; \
         log: {} slots, {} rows, {} later copies; nemesis: {} kills, {} cuts, {} lossy/slow, {} full heals; \
         {} same-millisecond neighbours in views ordered unlike their log positions",
        chaos_time,
        k.ops,
        k.ok,
        k.timeouts,
        k.unanswered,
        k.unsent,
        k.refused,
        k.late,
        k.slots,
        k.rows,
        k.copies,
        nem.kills,
        nem.cuts,
        nem.lossy,
        nem.heals,
        ties
    );
    if !errors.is_empty() {
        let path = dump(seed, &history, &settled.log);
        panic!(
            "seed {seed}: {} violations (history and log in {path}):\n{}",
            errors.len(),
            errors
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(k.ok > 0, "nothing was decided under chaos");
}

// ---- The checker fed doctored histories: each must fail. ----

fn tweet(user: &str, text: &str) -> Op {
    Op {
        kind: Kind::Tweet,
        user: user.into(),
        arg: text.into(),
    }
}

fn block(kind: Kind, user: &str, target: &str) -> Op {
    Op {
        kind,
        user: user.into(),
        arg: target.into(),
    }
}

fn rec(k: usize, op: Op, start_us: u64, end_us: u64, outcome: Outcome) -> Record {
    Record {
        client: k % 2,
        site: NAMES.iter().position(|n| *n == op.user).unwrap(),
        op,
        start_us,
        end_us,
        outcome,
    }
}

fn row(slot: u64, index: u64, op: &Op, id: &str) -> Row {
    Row {
        slot,
        index,
        op: Some(Logged {
            op: op.clone(),
            id: id.into(),
            time: if op.kind == Kind::Tweet {
                format!("2025-06-15T15:06:{:02}.000Z", slot)
            } else {
                String::new()
            },
        }),
    }
}

fn done(slot: u64, index: u64) -> Outcome {
    Outcome::Decided { slot, index }
}

/// A history and log the checker accepts: acknowledged tweets and
/// blocks, a 503 decided later, a 503 never decided, an unanswered one,
/// a 409, a no-op and a later copy.
fn sound() -> (Vec<Record>, Vec<Row>) {
    let t1 = tweet("alice", "one");
    let t2 = tweet("bob", "two");
    let t3 = tweet("carol", "three (503, decided later)");
    let t4 = tweet("dave", "four (503, never decided)");
    let t5 = tweet("erin", "five (unanswered)");
    let b1 = block(Kind::Block, "alice", "bob");
    let b2 = block(Kind::Block, "alice", "bob");
    let u1 = block(Kind::Unblock, "carol", "dave");
    let history = vec![
        rec(0, t1.clone(), 0, 10, done(0, 0)),
        rec(1, t2.clone(), 5, 20, done(0, 1)),
        rec(0, b1.clone(), 11, 30, done(1, 0)),
        rec(1, t3.clone(), 21, 2_000, Outcome::Timeout),
        rec(0, t4.clone(), 31, 2_031, Outcome::Timeout),
        rec(
            1,
            b2.clone(),
            2_001,
            2_010,
            Outcome::Refused(409, "already".into()),
        ),
        rec(0, u1.clone(), 2_032, 2_040, Outcome::Unanswered),
        rec(1, t5.clone(), 2_041, 2_042, Outcome::Unanswered),
        rec(
            0,
            tweet("bob", "six (unsent)"),
            2_050,
            2_051,
            Outcome::Unsent,
        ),
    ];
    let log = vec![
        row(0, 0, &t1, "0.a.1"),
        row(0, 1, &t2, "1.a.1"),
        row(1, 0, &b1, "0.a.2"),
        Row {
            slot: 2,
            index: 0,
            op: None,
        },
        row(3, 0, &t3, "2.a.1"),
        row(3, 1, &u1, "2.a.2"),
        row(4, 0, &t2, "1.a.1"),
    ];
    (history, log)
}

fn kinds(r: &Report) -> Vec<&'static str> {
    r.violations
        .iter()
        .map(|v| match v {
            Violation::Disorder { .. } => "disorder",
            Violation::Unexpected { .. } => "unexpected",
            Violation::Lost { .. } => "lost",
            Violation::Doubled { .. } => "doubled",
            Violation::WrongPlace { .. } => "wrong place",
            Violation::Invented { .. } => "invented",
            Violation::RealTime { .. } => "real time",
            Violation::BadAnswer { .. } => "bad answer",
            Violation::AmbiguousText { .. } => "ambiguous",
        })
        .collect()
}

#[test]
fn doctored_histories_fail_the_checker() {
    let (history, log) = sound();
    let r = check(&history, &log);
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert_eq!((r.counts.ok, r.counts.late, r.counts.copies), (3, 2, 1));

    let mut cases: Vec<(&str, Vec<Record>, Vec<Row>, &str)> = Vec::new();
    // A doubled tweet: a second submission of the same text decided.
    let mut l = log.clone();
    l.push(row(5, 0, &history[0].op, "0.b.1"));
    cases.push(("doubled tweet", history.clone(), l, "doubled"));
    // A 503 tweet decided twice.
    let mut l = log.clone();
    l.push(row(5, 0, &history[3].op, "9.b.1"));
    cases.push(("doubled 503 tweet", history.clone(), l, "doubled"));
    // A doubled block: a second block of alice -> bob that no submission
    // that may be decided explains (the other one was refused 409).
    let mut l = log.clone();
    l.push(row(5, 0, &history[2].op, "0.b.7"));
    cases.push(("doubled block", history.clone(), l, "invented"));
    // A lost acknowledged tweet, and a lost acknowledged block.
    let mut l = log.clone();
    l.remove(1);
    l.pop();
    cases.push(("lost tweet", history.clone(), l, "lost"));
    let mut l = log.clone();
    l.remove(2);
    cases.push(("lost block", history.clone(), l, "lost"));
    // A reordered pair: "one" was acknowledged before the block was
    // submitted, yet the log puts the block first.
    let mut h = history.clone();
    h[2].outcome = done(0, 0);
    h[0].outcome = done(1, 0);
    let mut l = log.clone();
    l[0].op = row(0, 0, &history[2].op, "0.a.2").op;
    l[2].op = row(1, 0, &history[0].op, "0.a.1").op;
    cases.push(("reordered pair", h, l, "real time"));
    // A 503 operation submitted after the block was acknowledged (at 30),
    // found in the log before it.
    let mut h = history.clone();
    h[3].start_us = 31;
    let mut l = log.clone();
    let three = l.remove(4);
    l.insert(2, row(0, 2, &three.op.unwrap().op, "2.a.1"));
    cases.push(("503 before an earlier ack", h, l, "real time"));
    // A wrong slot: the answer names another slot than the log's.
    let mut h = history.clone();
    h[1].outcome = done(1, 0);
    cases.push(("wrong slot of a tweet", h, log.clone(), "wrong place"));
    let mut h = history.clone();
    h[2].outcome = done(1, 1);
    cases.push(("wrong index of a block", h, log.clone(), "lost"));
    // The answer names a later copy, not the first.
    let mut h = history.clone();
    h[1].outcome = done(4, 0);
    cases.push(("answer names a copy", h, log.clone(), "wrong place"));
    // A refused (409) or unsent operation in the log.
    let mut l = log.clone();
    l.push(row(5, 0, &history[8].op, "1.c.1"));
    cases.push(("unsent tweet decided", history.clone(), l, "unexpected"));
    // A row nobody submitted.
    let mut l = log.clone();
    l.push(row(5, 0, &tweet("bob", "never said"), "1.c.2"));
    cases.push(("invented tweet", history.clone(), l, "invented"));

    for (name, h, l, want) in cases {
        let r = check(&h, &l);
        let got = kinds(&r);
        assert!(
            got.contains(&want),
            "{name}: the checker should report {want:?}, it reported {:?}",
            r.violations
        );
    }
}

#[test]
fn the_checker_recomputes_views_by_the_rules() {
    let (_, log) = sound();
    let users = ["alice", "bob", "carol", "dave", "erin"];
    let e = recompute(&users, &log);
    // alice blocks bob: bob does not see "one"; alice still sees "two".
    let texts = |i: usize| {
        e[i].view
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(0), ["three (503, decided later)", "two", "one"]);
    assert_eq!(texts(1), ["three (503, decided later)", "two"]);
    assert_eq!(e[0].blocked, ["bob"]);
    assert!(e[2].blocked.is_empty(), "an unblock of one not blocked");
    // A site that shows what the log decides passes; a missing tweet, a
    // wrong order or a wrong block list does not.
    assert!(check_site("bob", &e[1], &e[1].view, &e[1].blocked)
        .errors
        .is_empty());
    let mut v = e[1].view.clone();
    v.pop();
    assert!(!check_site("bob", &e[1], &v, &e[1].blocked)
        .errors
        .is_empty());
    let mut v = e[0].view.clone();
    v.swap(0, 2);
    assert!(!check_site("alice", &e[0], &v, &e[0].blocked)
        .errors
        .is_empty());
    assert!(!check_site("alice", &e[0], &e[0].view, &[])
        .errors
        .is_empty());
    let mut v = e[1].view.clone();
    v.push(e[0].view[2].clone());
    assert!(!check_site("bob", &e[1], &v, &e[1].blocked)
        .errors
        .is_empty());
}
