//! `tweettui export FILE... --slots A..B` (SPEC 2, issue "see a round"): a
//! sequence diagram of some slots, for slides, from recordings merged as
//! `replay` merges them.
//!
//! - **Mermaid** (`sequenceDiagram`): a participant per site; an arrow per
//!   message of those slots, drawn where it was received (`-x` when it was
//!   dropped); notes for elections, proposals and decisions.
//! - **ShiViz**: each event as two lines, its description then
//!   `host {vector clock}`; the clocks are computed from the matched
//!   message ids (a send ticks its site; a receive takes the maximum with
//!   the send's clock, then ticks). Paste it with ShiViz's default parser
//!   regex `(?<event>.*)\n(?<host>\S*) (?<clock>{.*})`.

use crate::paxos::{Ballot, SiteId, Slot};
use crate::site::api::record::{Event, Msg, What};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::ops::RangeInclusive;

/// The diagram formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Mermaid,
    Shiviz,
}

/// Parses `A..B` (both included) or a single slot `A`.
pub fn parse_slots(text: &str) -> Result<RangeInclusive<Slot>, String> {
    let bad = || format!("'{text}' is not a slot range: write A..B (for example 3..5) or one slot");
    let (a, b) = match text.split_once("..") {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (text.trim(), text.trim()),
    };
    let a: Slot = a.parse().map_err(|_| bad())?;
    let b: Slot = b.parse().map_err(|_| bad())?;
    if a > b {
        return Err(bad());
    }
    Ok(a..=b)
}

/// The diagram of `slots` from the merged `events` of the sites `names`.
pub fn export(
    names: &[String],
    events: &[Event],
    slots: &RangeInclusive<Slot>,
    format: Format,
) -> String {
    let name = |s: SiteId| {
        names
            .get(s as usize)
            .cloned()
            .unwrap_or_else(|| format!("site{s}"))
    };
    let in_range = |m: &Msg| m.slot.is_some_and(|s| slots.contains(&s));
    match format {
        Format::Mermaid => mermaid(names, events, &name, &in_range),
        Format::Shiviz => shiviz(events, &name, &in_range),
    }
}

fn label(m: &Msg) -> String {
    let mut s = m.kind.name().to_string();
    if let Some(slot) = m.slot {
        let _ = write!(s, " #{slot}");
    }
    if let Some(b) = m.ballot {
        let _ = write!(s, " {}", ballot(b));
    }
    if let Some(v) = &m.value {
        let _ = write!(s, " {}", clean(v));
    }
    s
}

fn ballot(b: Ballot) -> String {
    format!("({},{})", b.round, b.site)
}

/// Text safe inside a Mermaid message or note (no line breaks, no `;` or
/// `#` that its parser reads as syntax).
fn clean(v: &str) -> String {
    let short: String = v.chars().take(40).collect();
    short
        .replace(['\n', '\r', ';'], " ")
        .replace('#', "no. ")
        .replace(':', " -")
}

fn mermaid(
    names: &[String],
    events: &[Event],
    name: &dyn Fn(SiteId) -> String,
    in_range: &dyn Fn(&Msg) -> bool,
) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for n in names {
        let _ = writeln!(out, "    participant {n}");
    }
    for ev in events {
        let me = name(ev.site);
        let line = match &ev.what {
            What::Receive { from, msg, .. } if in_range(msg) => {
                format!("{}->>{me}: {}", name(*from), clean(&label(msg)))
            }
            What::Drop { from, to, msg, .. } if in_range(msg) => {
                format!(
                    "{}-x{}: {} dropped",
                    name(*from),
                    name(*to),
                    clean(&label(msg))
                )
            }
            What::Election {
                ballot: b,
                from_slot,
            } => {
                format!(
                    "Note over {me}: election {} for slots {from_slot} on",
                    ballot(*b)
                )
            }
            What::Proposed {
                slot,
                ballot: b,
                value,
                ..
            } if slots_contain(in_range, *slot) => {
                format!(
                    "Note over {me}: proposes slot {slot} {} {}",
                    ballot(*b),
                    clean(value)
                )
            }
            What::Decided { slot, value, .. } if slots_contain(in_range, *slot) => {
                format!("Note over {me}: decided slot {slot} {}", clean(value))
            }
            _ => continue,
        };
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// Whether `slot` is one of the exported slots.
fn slots_contain(in_range: &dyn Fn(&Msg) -> bool, slot: Slot) -> bool {
    in_range(&Msg {
        kind: crate::paxos::MsgKind::Commit,
        slot: Some(slot),
        ballot: None,
        value: None,
    })
}

type Clock = BTreeMap<String, u64>;

fn shiviz(
    events: &[Event],
    name: &dyn Fn(SiteId) -> String,
    in_range: &dyn Fn(&Msg) -> bool,
) -> String {
    let mut clocks: HashMap<SiteId, Clock> = HashMap::new();
    // The clock each message left with, by (from, to, seq).
    let mut sent: HashMap<(SiteId, SiteId, u64), Clock> = HashMap::new();
    let mut out = String::new();
    for ev in events {
        let me = name(ev.site);
        let text = match &ev.what {
            What::Send { to, seq, msg } if in_range(msg) => {
                let clock = tick(&mut clocks, ev.site, &me);
                sent.insert((ev.site, *to, *seq), clock);
                format!("send {} to {}", label(msg), name(*to))
            }
            What::Receive { from, seq, msg } if in_range(msg) => {
                let theirs = seq.and_then(|s| sent.get(&(*from, ev.site, s)).cloned());
                let mine = clocks.entry(ev.site).or_default();
                for (site, t) in theirs.unwrap_or_default() {
                    let e = mine.entry(site).or_default();
                    *e = (*e).max(t);
                }
                tick(&mut clocks, ev.site, &me);
                format!("receive {} from {}", label(msg), name(*from))
            }
            What::Decided { slot, value, .. } if slots_contain(in_range, *slot) => {
                tick(&mut clocks, ev.site, &me);
                format!("decided slot {slot} {value}")
            }
            _ => continue,
        };
        let clock = clocks.get(&ev.site).cloned().unwrap_or_default();
        let json = serde_json::to_string(&clock).unwrap_or_else(|_| "{}".into());
        let _ = writeln!(out, "{text}\n{me} {json}");
    }
    out
}

/// Ticks `site`'s own entry; returns its clock after the tick.
fn tick(clocks: &mut HashMap<SiteId, Clock>, site: SiteId, name: &str) -> Clock {
    let c = clocks.entry(site).or_default();
    *c.entry(name.to_string()).or_default() += 1;
    c.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::MsgKind;

    fn msg(kind: MsgKind, slot: u64) -> Msg {
        Msg {
            kind,
            slot: Some(slot),
            ballot: Some(Ballot::new(1, 0)),
            value: Some("alice: hi; #1".into()),
        }
    }

    fn ev(t: u64, site: SiteId, what: What) -> Event {
        Event { t, site, what }
    }

    /// alice sends accept #3 to bob and carol; bob receives it, carol's is
    /// dropped; an accept of slot 9 is outside the range.
    fn round() -> (Vec<String>, Vec<Event>) {
        let names = vec!["alice".to_string(), "bob".into(), "carol".into()];
        let accept = msg(MsgKind::Accept, 3);
        let events = vec![
            ev(
                1,
                0,
                What::Send {
                    to: 1,
                    seq: 1,
                    msg: accept.clone(),
                },
            ),
            ev(
                1,
                0,
                What::Send {
                    to: 2,
                    seq: 1,
                    msg: accept.clone(),
                },
            ),
            ev(
                2,
                1,
                What::Receive {
                    from: 0,
                    seq: Some(1),
                    msg: accept.clone(),
                },
            ),
            ev(
                2,
                2,
                What::Drop {
                    from: 0,
                    to: 2,
                    seq: Some(1),
                    reason: crate::site::api::record::DropReason::PeerDown,
                    msg: accept,
                },
            ),
            ev(
                3,
                1,
                What::Send {
                    to: 0,
                    seq: 1,
                    msg: msg(MsgKind::Ack, 3),
                },
            ),
            ev(
                4,
                0,
                What::Receive {
                    from: 1,
                    seq: Some(1),
                    msg: msg(MsgKind::Ack, 3),
                },
            ),
            ev(
                5,
                0,
                What::Receive {
                    from: 1,
                    seq: Some(2),
                    msg: msg(MsgKind::Accept, 9),
                },
            ),
            ev(
                6,
                0,
                What::Decided {
                    slot: 3,
                    value: "alice: hi".into(),
                    own: None,
                    full: None,
                },
            ),
        ];
        (names, events)
    }

    #[test]
    fn mermaid_has_the_shape_of_a_sequence_diagram() {
        let (names, events) = round();
        let text = export(&names, &events, &(3..=5), Format::Mermaid);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "sequenceDiagram");
        assert_eq!(
            &lines[1..4],
            [
                "    participant alice",
                "    participant bob",
                "    participant carol"
            ]
        );
        assert_eq!(
            lines[4],
            "    alice->>bob: accept no. 3 (1,0) alice - hi  no. 1"
        );
        assert!(
            lines[5].starts_with("    alice-xcarol: accept no. 3"),
            "{text}"
        );
        assert!(lines[6].starts_with("    bob->>alice: ack no. 3"), "{text}");
        assert_eq!(lines[7], "    Note over alice: decided slot 3 alice - hi");
        assert_eq!(lines.len(), 8, "slot 9 is left out:\n{text}");
        // Every message line is `A->>B: text` or `A-xB: text` with known
        // participants and no second colon.
        for l in &lines[4..7] {
            let (arrow, body) = l.trim().split_once(": ").expect("a message line");
            assert!(!body.contains(':'), "{l}");
            let (a, b) = arrow
                .split_once("->>")
                .or(arrow.split_once("-x"))
                .expect("an arrow");
            assert!(
                names.iter().any(|n| n == a) && names.iter().any(|n| n == b),
                "{l}"
            );
        }
    }

    #[test]
    fn shiviz_clocks_order_a_receive_after_its_send() {
        let (names, events) = round();
        let text = export(&names, &events, &(3..=3), Format::Shiviz);
        let clocks: Vec<(String, Clock)> = text
            .lines()
            .skip(1)
            .step_by(2)
            .map(|l| {
                let (host, json) = l.split_once(' ').expect("host clock");
                (
                    host.to_string(),
                    serde_json::from_str(json).expect("a clock"),
                )
            })
            .collect();
        // send, send, receive at bob, send at bob, receive at alice, decided.
        assert_eq!(clocks[2].0, "bob");
        assert_eq!(clocks[2].1.get("alice"), Some(&1), "bob saw alice's send");
        assert_eq!(clocks[2].1.get("bob"), Some(&1));
        assert_eq!(clocks[4].0, "alice");
        assert_eq!(clocks[4].1.get("bob"), Some(&2), "alice saw bob's ack");
        assert_eq!(clocks[4].1.get("alice"), Some(&3));
        assert_eq!(clocks.len(), 6);
    }

    #[test]
    fn slot_ranges_parse_or_say_how_to_write_them() {
        assert_eq!(parse_slots("3..5"), Ok(3..=5));
        assert_eq!(parse_slots("7"), Ok(7..=7));
        for bad in ["5..3", "a..b", "", "3..."] {
            assert!(parse_slots(bad).expect_err(bad).contains("A..B"));
        }
    }
}
