//! `cargo bench --bench replay`: the cost of `tweettui replay` on a
//! recording of 1,000,000 events (five sites: rounds of accepts, acks,
//! commits and decisions, with leader changes): loading it into the player
//! (snapshots included), and seeking the slider (the derived state at
//! event k: the snapshot before k and the events after it; then the
//! replicated state at the site's decided count).
//!
//! Plain `main` with `std::time::Instant` (no criterion). Prints a table.

use std::hint::black_box;
use std::time::{Duration, Instant};
use tweettui::paxos::{Ballot, MsgKind};
use tweettui::site::api::record::{Event, Msg, What};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::ui::replay::{Now, Player};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const EVENTS: usize = 1_000_000;

/// Rounds of one slot each until `n` events: leader 0 (a new leader every
/// 500 slots) sends accepts, the others ack, commits go out, all decide.
fn recording(n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n + 64);
    let mut t = 1_750_000_000_000u64;
    let mut seq = [[0u64; 5]; 5];
    let mut slot = 0u64;
    while out.len() < n {
        let leader = ((slot / 500) % 5) as u32;
        let b = Ballot::new(slot / 500 + 1, leader);
        if slot.is_multiple_of(500) {
            for s in 0..5 {
                out.push(Event {
                    t,
                    site: s,
                    what: What::Leader {
                        leader: Some(leader),
                        ballot: b,
                    },
                });
            }
        }
        let text = format!("{}: tweet number {slot}", NAMES[(slot % 5) as usize]);
        let value = Value::batch(vec![Command {
            id: OpId {
                site: (slot % 5) as u32,
                boot: 1,
                seq: slot,
            },
            op: Op::Tweet {
                user: NAMES[(slot % 5) as usize].into(),
                text: text.clone(),
                time: chrono::DateTime::from_timestamp(1_750_000_000 + slot as i64, 0).unwrap(),
            },
        }]);
        let msg = |kind, v: bool| Msg {
            kind,
            slot: Some(slot),
            ballot: Some(b),
            value: v.then(|| text.clone()),
        };
        t += 1;
        out.push(Event {
            t,
            site: leader,
            what: What::Proposed {
                slot,
                ballot: b,
                value: text.clone(),
                recovered: false,
            },
        });
        for (kind, from_leader) in [
            (MsgKind::Accept, true),
            (MsgKind::Ack, false),
            (MsgKind::Commit, true),
        ] {
            for other in (0..5).filter(|&s| s != leader) {
                let (from, to) = if from_leader {
                    (leader, other)
                } else {
                    (other, leader)
                };
                seq[from as usize][to as usize] += 1;
                let s = seq[from as usize][to as usize];
                out.push(Event {
                    t,
                    site: from,
                    what: What::Send {
                        to,
                        seq: s,
                        msg: msg(kind, from_leader),
                    },
                });
                out.push(Event {
                    t: t + 1,
                    site: to,
                    what: What::Receive {
                        from,
                        seq: Some(s),
                        msg: msg(kind, from_leader),
                    },
                });
                if kind == MsgKind::Accept {
                    out.push(Event {
                        t: t + 1,
                        site: other,
                        what: What::Accepted {
                            slot,
                            ballot: b,
                            value: text.clone(),
                        },
                    });
                }
            }
            t += 1;
        }
        for s in 0..5 {
            out.push(Event {
                t,
                site: s,
                what: What::Decided {
                    slot,
                    value: text.clone(),
                    own: None,
                    full: Some(value.clone()),
                },
            });
        }
        slot += 1;
    }
    out.truncate(n);
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let events = recording(EVENTS);
    let start = Instant::now();
    let events = tweettui::ui::replay::merge::merge(vec![events]);
    let merge = start.elapsed();
    let start = Instant::now();
    let player = Player::new(names.clone(), events);
    let load = start.elapsed();
    println!(
        "replay of {} events ({} slots), a snapshot every {} events",
        player.len(),
        player.log.len(),
        player.every
    );
    println!("{:<48} {}", "merge (one file)", ms(merge));
    println!(
        "{:<48} {}",
        "load into the player (snapshots, states)",
        ms(load)
    );
    let mut now = Now::new(names.len());
    let mut worst = Duration::ZERO;
    let mut total = Duration::ZERO;
    // Across the whole recording and back, and jumps all over it.
    let mut targets = vec![player.len(), 0, player.len() - 1, 1, player.len() / 2];
    let mut x = 12345u64;
    for _ in 0..100 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        targets.push((x >> 33) as usize % player.len());
    }
    for &k in &targets {
        let start = Instant::now();
        player.seek(&mut now, k);
        let decided = now.sites[0].decided;
        black_box(player.state_at(decided));
        let d = start.elapsed();
        worst = worst.max(d);
        total += d;
    }
    println!(
        "{:<48} {}",
        "seek, worst of 105 (0 → end, end → 0, random)",
        ms(worst)
    );
    println!("{:<48} {}", "seek, mean", ms(total / targets.len() as u32));
    let mut now = Now::new(names.len());
    let start = Instant::now();
    player.seek(&mut now, player.len());
    println!(
        "{:<48} {}",
        "first seek to the end (from the start)",
        ms(start.elapsed())
    );
}
