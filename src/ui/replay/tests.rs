//! The player: seeking to event k gives what playing from the start to k
//! gives; the kept states give the state of applying every slot.

use super::player::{Now, Player, STATE_EVERY};
use crate::paxos::{Ballot, Membership, MsgKind, SiteId};
use crate::site::api::record::{DropReason, Event, Msg, What};
use crate::state::op::{Command, Op, OpId, Value};
use crate::state::State;
use proptest::prelude::*;

const SITES: u32 = 3;

fn names() -> Vec<String> {
    ["alice", "bob", "carol"].map(String::from).to_vec()
}

fn tweet(site: u32, seq: u64, text: &str) -> Value {
    Value::batch(vec![Command {
        id: OpId { site, boot: 0, seq },
        op: Op::Tweet {
            user: names()[site as usize].clone(),
            text: text.into(),
            time: chrono::DateTime::from_timestamp(1_750_000_000 + seq as i64, 0).unwrap(),
        },
    }])
}

/// Events of a run made of `steps`: (site, what to do, a number).
fn events(steps: &[(u32, u8, u64)]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut seqs = std::collections::HashMap::new();
    let mut sent: Vec<(SiteId, SiteId, u64)> = Vec::new();
    let mut decided = [0u64; SITES as usize];
    let mut t = 1_750_000_000_000;
    for &(site, kind, n) in steps {
        t += n % 3;
        let b = Ballot::new(n % 4 + 1, site);
        let msg = |kind| Msg {
            kind,
            slot: Some(n % 5),
            ballot: Some(b),
            value: Some(format!("v{n}")),
        };
        let what = match kind % 12 {
            0 | 1 => {
                let to = (site + 1 + n as u32 % (SITES - 1)) % SITES;
                let seq = seqs.entry((site, to)).or_insert(0);
                *seq += 1;
                sent.push((site, to, *seq));
                What::Send {
                    to,
                    seq: *seq,
                    msg: msg(if n.is_multiple_of(2) {
                        MsgKind::Accept
                    } else {
                        MsgKind::Promise
                    }),
                }
            }
            2 | 3 if !sent.is_empty() => {
                let (from, to, seq) = sent.remove(n as usize % sent.len());
                let ev = if kind % 12 == 2 {
                    What::Receive {
                        from,
                        seq: Some(seq),
                        msg: msg(MsgKind::Accept),
                    }
                } else {
                    What::Drop {
                        from,
                        to,
                        seq: Some(seq),
                        reason: DropReason::FaultIn,
                        msg: msg(MsgKind::Ack),
                    }
                };
                out.push(Event {
                    t,
                    site: to,
                    what: ev,
                });
                continue;
            }
            _ => own_event(site, kind, n, &mut decided),
        };
        out.push(Event { t, site, what });
    }
    out
}

/// An event of a site's own (not a message).
fn own_event(site: u32, kind: u8, n: u64, decided: &mut [u64]) -> What {
    let b = Ballot::new(n % 4 + 1, site);
    match kind % 12 {
        4 => {
            let slot = decided[site as usize];
            decided[site as usize] += 1;
            What::Decided {
                slot,
                value: format!("slot {slot}"),
                own: None,
                full: Some(tweet(site, slot, &format!("tweet {slot}"))),
            }
        }
        5 => What::Leader {
            leader: Some((n % 3) as u32),
            ballot: b,
        },
        6 => What::Crashed,
        7 => What::Restarted,
        8 => What::CutOff,
        9 => What::Healed,
        10 => What::Accepted {
            slot: n % 5,
            ballot: b,
            value: format!("v{n}"),
        },
        _ => What::Membership {
            membership: if n.is_multiple_of(2) {
                Membership::Voting
            } else {
                Membership::Rejoining
            },
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Seeking to event k (from wherever the slider is, via the snapshots)
    /// gives the state that playing the first k events from the start gives.
    #[test]
    fn seeking_equals_playing_from_the_start(
        steps in prop::collection::vec((0..SITES, any::<u8>(), 0..50u64), 0..400),
        every in 1..40usize,
        seeks in prop::collection::vec(0..450usize, 1..12),
    ) {
        let evs = events(&steps);
        let player = Player::with_every(names(), evs, every);
        let mut now = Now::new(names().len());
        for k in seeks {
            player.seek(&mut now, k);
            let k = k.min(player.len());
            prop_assert_eq!(now.pos, k);
            prop_assert!(now == player.played(k), "seek to {} differs from playing", k);
        }
    }
}

/// The kept states (one every STATE_EVERY slots) plus the slots after give
/// the state of applying every decided slot from the empty state.
#[test]
fn the_state_at_a_slot_is_every_slot_applied() {
    let n = 2 * STATE_EVERY as u64 + 10;
    let steps: Vec<(u32, u8, u64)> = (0..n).map(|i| (0, 4, i)).collect();
    let player = Player::new(names(), events(&steps));
    for at in [0, 1, STATE_EVERY as u64 - 1, STATE_EVERY as u64, n - 3, n] {
        let mut st = State::new(names());
        for slot in 0..at {
            st.apply(slot, &tweet(0, slot, &format!("tweet {slot}")))
                .unwrap();
        }
        assert!(player.state_at(at) == st, "state at slot {at}");
    }
    assert_eq!(player.state_at(n).tweet_count(), n as usize);
}

/// `[` and `]` go to the decisions (each slot's first) and leader changes.
#[test]
fn marks_are_first_decisions_and_leader_changes() {
    // alice decides 0, bob decides 0 (not a mark), bob's leader change.
    let evs = events(&[(0, 4, 0), (1, 4, 0), (2, 0, 1), (1, 5, 0)]);
    let player = Player::new(names(), evs);
    assert_eq!(player.marks, vec![1, 4]);
    assert_eq!(player.next_mark(0), 1);
    assert_eq!(player.next_mark(1), 4);
    assert_eq!(player.next_mark(4), 4);
    assert_eq!(player.prev_mark(4), 1);
    assert_eq!(player.prev_mark(1), 0);
}

/// The replay's safety line: slots decided somewhere by the slider, and a
/// slot decided with two values from the position its second value shows.
#[test]
fn safety_at_counts_slots_and_shows_a_conflict_from_where_it_happened() {
    // alice decides slots 0 and 1; bob decides slot 0 with his own value.
    let evs = events(&[(0, 4, 0), (0, 4, 1), (1, 4, 0)]);
    let player = Player::new(names(), evs);
    assert_eq!(player.safety_at(0), (0, None));
    assert_eq!(player.safety_at(1), (1, None));
    assert_eq!(player.safety_at(2), (2, None));
    assert_eq!(player.safety_at(3), (2, Some(0)));
    // The same value twice is no conflict.
    let agree = events(&[(0, 4, 0), (0, 4, 1)]);
    assert_eq!(Player::new(names(), agree).safety_at(2), (2, None));
}
