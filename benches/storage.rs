//! `cargo bench --bench storage`: what one durable write costs in our
//! write-ahead log and in redb, the embedded store we chose not to use.
//!
//! Both make the same records durable (an accept of a 100-character tweet,
//! as JSON) with one sync per commit: one record per commit (what a lone
//! client costs), and 16 per commit (group commit under load). redb uses
//! its default `Durability::Immediate` (one `fsync` per commit, 1PC with
//! checksums). The data dirs are on the same disk as the build (the system
//! temp dir). Plain `main` with `std::time::Instant`; prints a table.

use chrono::DateTime;
use redb::{Database, TableDefinition};
use std::time::{Duration, Instant};
use tweettui::paxos::{Ballot, Record};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::storage::Store;

const ACCEPTED: TableDefinition<u64, &[u8]> = TableDefinition::new("accepted");

fn record(slot: u64) -> Record {
    Record::Accept {
        slot,
        ballot: Ballot::new(3, 1),
        value: Value::batch(vec![Command {
            id: OpId {
                site: 1,
                boot: 1,
                seq: slot,
            },
            op: Op::Tweet {
                user: "bob".into(),
                text: "x".repeat(100),
                time: DateTime::from_timestamp(1_750_000_000 + slot as i64, 0).unwrap_or_default(),
            },
        }]),
    }
}

/// Runs `commits` commits of `per_commit` records through `commit` and
/// prints its latency percentiles and records per second.
fn run(name: &str, commits: u64, per_commit: u64, mut commit: impl FnMut(&[Record])) {
    let mut times = Vec::with_capacity(commits as usize);
    let start = Instant::now();
    for c in 0..commits {
        let batch: Vec<Record> = (0..per_commit)
            .map(|i| record(c * per_commit + i))
            .collect();
        let t = Instant::now();
        commit(&batch);
        times.push(t.elapsed());
    }
    let total = start.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<34} {per_commit:>4} {:>9.3} ms {:>9.3} ms {:>12.0}",
        ms(pct(0.5)),
        ms(pct(0.99)),
        (commits * per_commit) as f64 / total.as_secs_f64()
    );
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    println!(
        "{:<34} {:>4} {:>12} {:>12} {:>12}",
        "store", "recs", "p50/commit", "p99/commit", "records/s"
    );
    for (per_commit, commits) in [(1u64, 1000u64), (16, 300)] {
        let dir = tmp.path().join(format!("wal-{per_commit}"));
        let (mut store, _) = Store::open::<serde_json::Value>(&dir).expect("open the WAL");
        run(
            "tweettui WAL (append + fdatasync)",
            commits,
            per_commit,
            |batch| {
                store.append(batch).expect("append");
            },
        );

        let db = Database::create(tmp.path().join(format!("redb-{per_commit}.redb")))
            .expect("create redb");
        run(
            "redb 4 (Durability::Immediate)",
            commits,
            per_commit,
            |batch| {
                let txn = db.begin_write().expect("begin");
                {
                    let mut table = txn.open_table(ACCEPTED).expect("table");
                    for r in batch {
                        let Record::Accept { slot, .. } = r else {
                            continue;
                        };
                        let json = serde_json::to_vec(r).expect("json");
                        table.insert(*slot, json.as_slice()).expect("insert");
                    }
                }
                txn.commit().expect("commit");
            },
        );
    }
}
