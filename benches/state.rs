//! `cargo bench --bench state`: the derived state in `state.redb` (SPEC 6)
//! at 1,000,000 tweets (`STATE_TWEETS=N` for another size): the time to
//! build it, the longest apply of a batch of slots (one non-durable redb
//! transaction: what the site's loop does per group commit), a durable
//! commit (what a checkpoint adds; its cost follows what changed since the
//! last), start-up (open + read the meta), a page of a timeline deep in the
//! history, and the process's memory (VmRSS, VmHWM).
//!
//! The tweets go through the same `State::apply_all` a site uses: 10 slots
//! of 8 tweets per apply (a loaded site's group commit), a durable commit
//! every 1,000 slots as the site's checkpoint does.

use chrono::DateTime;
use std::time::{Duration, Instant};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::state::{State, STATE_FILE};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const PER_SLOT: u64 = 8;
const SLOTS_PER_APPLY: u64 = 10;
const DURABLE_EVERY: u64 = 1000;

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

fn slot_value(slot: u64) -> Value {
    Value::batch(
        (0..PER_SLOT)
            .map(|k| {
                let i = slot * PER_SLOT + k;
                Command {
                    id: OpId {
                        site: (i % 5) as u32,
                        boot: 1,
                        seq: i / 5 + 1,
                    },
                    op: Op::Tweet {
                        user: NAMES[(i % 5) as usize].into(),
                        text: format!("tweet number {i}, of a typical length for a short message"),
                        time: DateTime::from_timestamp_millis(1_700_000_000_000 + i as i64 * 37)
                            .unwrap_or_default(),
                    },
                }
            })
            .collect(),
    )
}

/// VmRSS and VmHWM of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let tweets: u64 = std::env::var("STATE_TWEETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let slots = tweets.div_ceil(PER_SLOT);
    let dir = tempfile::tempdir().expect("a temporary dir");
    let path = dir.path().join(STATE_FILE);

    let mut state = State::open_disk(&path, names()).expect("create state.redb");
    let start = Instant::now();
    let mut longest_apply = Duration::ZERO;
    let mut longest_durable = Duration::ZERO;
    let mut last_tenth_apply = Duration::ZERO;
    let mut slot = 0;
    while slot < slots {
        let n = SLOTS_PER_APPLY.min(slots - slot);
        let values: Vec<Value> = (slot..slot + n).map(slot_value).collect();
        let t = Instant::now();
        state
            .apply_all(values.iter().enumerate().map(|(k, v)| (slot + k as u64, v)))
            .expect("apply");
        let took = t.elapsed();
        longest_apply = longest_apply.max(took);
        if slot >= slots - slots / 10 {
            last_tenth_apply = last_tenth_apply.max(took);
        }
        slot += n;
        if slot % DURABLE_EVERY < SLOTS_PER_APPLY {
            let t = Instant::now();
            durable(&state).commit().expect("durable commit");
            longest_durable = longest_durable.max(t.elapsed());
        }
    }
    let built = start.elapsed();
    let (rss_built, _) = memory();

    // At full size: one more apply, then the durable commit after it.
    let values: Vec<Value> = (slot..slot + SLOTS_PER_APPLY).map(slot_value).collect();
    let t = Instant::now();
    state
        .apply_all(values.iter().enumerate().map(|(k, v)| (slot + k as u64, v)))
        .expect("apply");
    let one_apply = t.elapsed();
    let t = Instant::now();
    durable(&state).commit().expect("durable commit");
    let one_durable = t.elapsed();
    drop(state);

    // Start-up: open the file and read its meta (a clean close before).
    let t = Instant::now();
    let state = State::open_disk(&path, names()).expect("reopen");
    let open = t.elapsed();
    let (rss_open, _) = memory();
    let t = Instant::now();
    let page: Vec<_> = state.timeline("bob").skip(100_000).take(50).collect();
    let page_deep = t.elapsed();
    assert_eq!(page.len(), 50);
    let t = Instant::now();
    let top: Vec<_> = state.timeline("bob").take(50).collect();
    let page_top = t.elapsed();
    assert_eq!(top.len(), 50);
    let file = std::fs::metadata(&path).map_or(0, |m| m.len());
    let (rss, hwm) = memory();

    println!(
        "state.redb with {} tweets ({} slots)",
        state.tweet_count(),
        state.next_slot()
    );
    println!("  build (apply_all of {SLOTS_PER_APPLY} slots x {PER_SLOT} tweets, durable every {DURABLE_EVERY} slots): {:.1} s", built.as_secs_f64());
    println!(
        "  longest apply: {:.2} ms (in the last tenth: {:.2} ms)",
        ms(longest_apply),
        ms(last_tenth_apply)
    );
    println!("  longest durable commit: {:.2} ms", ms(longest_durable));
    println!(
        "  at full size: one apply {:.2} ms, the durable commit after it {:.2} ms",
        ms(one_apply),
        ms(one_durable)
    );
    println!("  start-up (open + read the meta): {:.2} ms", ms(open));
    println!(
        "  a page of 50 at the top: {:.2} ms; 100,000 deep (skip walks): {:.1} ms",
        ms(page_top),
        ms(page_deep)
    );
    println!("  file: {:.1} MiB", file as f64 / (1 << 20) as f64);
    println!("  VmRSS after build {rss_built:.1} MiB, after reopen {rss_open:.1} MiB, at the end {rss:.1} MiB (peak {hwm:.1} MiB)");
}

/// What makes `state`'s applied slots durable (those still in memory are
/// written first).
fn durable(state: &State) -> tweettui::state::Durable {
    state
        .durable()
        .expect("write the applied slots")
        .expect("a writer")
}
