//! Merging the recordings of one or several sites into one sequence of
//! events (`tweettui replay FILE...`).
//!
//! Each file holds the events of one site or of several (the demo's), each
//! site's in the order it recorded them. The merge keeps every site's own
//! order, orders the sites' events by time (`t`), and never puts a receive
//! (or a drop at the receiver) before its send, even when the receiver's
//! clock is behind the sender's: such a receive waits until its send is
//! placed. A message is received (or dropped) once, so a receive belongs
//! to a send with its id (from, to, seq) placed before it and not yet
//! received; as `seq` restarts when the sender restarts, the same id can
//! come again, and its receive then waits for the new send. A receive whose
//! send is in none of the files is placed by its time alone.

use crate::paxos::SiteId;
use crate::site::api::record::{Event, Recording, What};
use anyhow::bail;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// A message's id: (from, to, seq).
type MsgId = (SiteId, SiteId, u64);

/// The id of the message `ev` sends.
fn sent(ev: &Event) -> Option<MsgId> {
    match &ev.what {
        What::Send { to, seq, .. } => Some((ev.site, *to, *seq)),
        _ => None,
    }
}

/// The id of the message `ev` receives or drops (at either end).
fn settled(ev: &Event) -> Option<MsgId> {
    match &ev.what {
        What::Drop {
            from,
            to,
            seq: Some(seq),
            ..
        } => Some((*from, *to, *seq)),
        _ => received(ev),
    }
}

/// The id of the message `ev` receives (or drops at its receiver).
fn received(ev: &Event) -> Option<MsgId> {
    match &ev.what {
        What::Receive {
            from,
            seq: Some(seq),
            ..
        } => Some((*from, ev.site, *seq)),
        What::Drop {
            from,
            to,
            seq: Some(seq),
            ..
        } if *to == ev.site && *from != ev.site => Some((*from, *to, *seq)),
        _ => None,
    }
}

/// The site names all the recordings share; refuses recordings of
/// different clusters.
pub fn sites_of(recs: &[(String, Recording)]) -> anyhow::Result<Vec<String>> {
    let Some((first_name, first)) = recs.first() else {
        bail!("no recording to play");
    };
    for (name, r) in &recs[1..] {
        if r.header.sites != first.header.sites {
            bail!(
                "{name} and {first_name} are recordings of different clusters (sites {:?} and {:?})",
                r.header.sites,
                first.header.sites
            );
        }
    }
    Ok(first.header.sites.clone())
}

/// One site's events of one file, in their recorded order.
struct Stream {
    events: Vec<Event>,
    next: usize,
    /// Where the stream came from (file, then first line), to break ties.
    order: usize,
}

/// Merges the events of `recs` (see the module's doc).
pub fn merge(recs: Vec<Vec<Event>>) -> Vec<Event> {
    let mut streams = Vec::new();
    for events in recs {
        let mut by_site: Vec<Vec<Event>> = Vec::new();
        for ev in events {
            let i = ev.site as usize;
            if by_site.len() <= i {
                by_site.resize_with(i + 1, Vec::new);
            }
            by_site[i].push(ev);
        }
        for events in by_site.into_iter().filter(|e| !e.is_empty()) {
            let order = streams.len();
            streams.push(Stream {
                events,
                next: 0,
                order,
            });
        }
    }
    Merger::new(streams).run()
}

struct Merger {
    streams: Vec<Stream>,
    /// Sends not placed yet, by id.
    unplaced: HashMap<MsgId, usize>,
    /// Sends placed and not yet received or dropped, by id.
    placed: HashMap<MsgId, usize>,
    /// Streams whose head waits for the send with this id.
    waiting: HashMap<MsgId, Vec<usize>>,
    /// Streams ready: by the time of their head, then their order.
    ready: BinaryHeap<Reverse<(u64, usize, usize)>>,
}

impl Merger {
    fn new(streams: Vec<Stream>) -> Merger {
        let mut unplaced = HashMap::new();
        for ev in streams.iter().flat_map(|s| &s.events) {
            if let Some(id) = sent(ev) {
                *unplaced.entry(id).or_insert(0) += 1;
            }
        }
        let mut m = Merger {
            streams,
            unplaced,
            placed: HashMap::new(),
            waiting: HashMap::new(),
            ready: BinaryHeap::new(),
        };
        for i in 0..m.streams.len() {
            m.queue(i);
        }
        m
    }

    /// Puts stream `i` among the ready ones, or among those waiting for a
    /// send, by its head.
    fn queue(&mut self, i: usize) {
        let s = &self.streams[i];
        let Some(head) = s.events.get(s.next) else {
            return;
        };
        if let Some(id) = received(head) {
            let placed = self.placed.get(&id).copied().unwrap_or(0);
            let coming = self.unplaced.get(&id).copied().unwrap_or(0);
            if placed == 0 && coming > 0 {
                self.waiting.entry(id).or_default().push(i);
                return;
            }
        }
        self.ready.push(Reverse((head.t, s.order, i)));
    }

    fn run(mut self) -> Vec<Event> {
        let total = self.streams.iter().map(|s| s.events.len()).sum();
        let mut out = Vec::with_capacity(total);
        while out.len() < total {
            let i = match self.ready.pop() {
                Some(Reverse((_, _, i))) => i,
                // Every stream waits (files that contradict each other):
                // place the earliest head anyway.
                None => self.release_earliest(),
            };
            let s = &mut self.streams[i];
            let ev = std::mem::replace(
                &mut s.events[s.next],
                Event {
                    t: 0,
                    site: 0,
                    what: What::Crashed,
                },
            );
            s.next += 1;
            if let Some(id) = settled(&ev) {
                if let Some(n) = self.placed.get_mut(&id) {
                    *n = n.saturating_sub(1);
                }
            }
            if let Some(id) = sent(&ev) {
                *self.placed.entry(id).or_insert(0) += 1;
                if let Some(n) = self.unplaced.get_mut(&id) {
                    *n -= 1;
                }
                for w in self.waiting.remove(&id).unwrap_or_default() {
                    let s = &self.streams[w];
                    self.ready.push(Reverse((s.events[s.next].t, s.order, w)));
                }
            }
            out.push(ev);
            self.queue(i);
        }
        out
    }

    /// Takes the waiting stream with the earliest head out of the waiting.
    fn release_earliest(&mut self) -> usize {
        let (id, k, _) = self
            .waiting
            .iter()
            .flat_map(|(id, ws)| {
                ws.iter().enumerate().map(|(k, &w)| {
                    let s = &self.streams[w];
                    (*id, k, (s.events[s.next].t, s.order))
                })
            })
            .min_by_key(|x| x.2)
            .expect("a stream with events left is ready or waiting");
        let ws = self.waiting.get_mut(&id).expect("listed");
        let w = ws.remove(k);
        if ws.is_empty() {
            self.waiting.remove(&id);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::{Ballot, MsgKind};
    use crate::site::api::record::Msg;

    fn msg() -> Msg {
        Msg {
            kind: MsgKind::Accept,
            slot: Some(0),
            ballot: Some(Ballot::new(1, 0)),
            value: None,
        }
    }

    fn ev(t: u64, site: SiteId, what: What) -> Event {
        Event { t, site, what }
    }

    fn send(t: u64, from: SiteId, to: SiteId, seq: u64) -> Event {
        let msg = msg();
        ev(t, from, What::Send { to, seq, msg })
    }

    fn recv(t: u64, from: SiteId, to: SiteId, seq: u64) -> Event {
        let (seq, msg) = (Some(seq), msg());
        ev(t, to, What::Receive { from, seq, msg })
    }

    /// Site 1's clock is 50 ms behind site 0's: its receive of 0's send
    /// says t = 960, the send t = 1000. The receive still comes after the
    /// send, and site 1's own order stays.
    #[test]
    fn a_receive_comes_after_its_send_when_the_receivers_clock_is_behind() {
        let alice = vec![
            ev(
                990,
                0,
                What::Promised {
                    ballot: Ballot::new(1, 0),
                },
            ),
            send(1000, 0, 1, 1),
            ev(1010, 0, What::Crashed),
        ];
        let bob = vec![
            ev(950, 1, What::Restarted),
            recv(960, 0, 1, 1),
            ev(961, 1, What::CutOff),
        ];
        let out = merge(vec![bob, alice]);
        let pos = |f: &dyn Fn(&Event) -> bool| out.iter().position(f).unwrap();
        let s = pos(&|e| sent(e).is_some());
        let r = pos(&|e| received(e).is_some());
        assert!(s < r, "{out:#?}");
        assert!(pos(&|e| e.what == What::Restarted) < r);
        assert!(r < pos(&|e| e.what == What::CutOff));
        // Otherwise by time: bob's restart (950) first.
        assert_eq!(out[0].what, What::Restarted);
        assert_eq!(out.len(), 6);
    }

    /// `seq` restarts with the sender: the second receive of id (0, 1, 1)
    /// waits for the second send, though bob's clock says it came before.
    #[test]
    fn a_receive_after_a_restart_waits_for_the_new_send() {
        let alice = vec![
            send(100, 0, 1, 1),
            ev(200, 0, What::Restarted),
            send(300, 0, 1, 1),
        ];
        let bob = vec![recv(101, 0, 1, 1), recv(150, 0, 1, 1)];
        let out = merge(vec![alice, bob]);
        let kinds: Vec<&str> = out
            .iter()
            .map(|e| match e.what {
                What::Send { .. } => "send",
                What::Receive { .. } => "recv",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["send", "recv", "other", "send", "recv"]);
        // A receive whose send was not recorded is placed by its time.
        let out = merge(vec![vec![recv(5, 2, 1, 9)], vec![send(3, 0, 1, 1)]]);
        assert_eq!(out[1].t, 5);
    }

    #[test]
    fn recordings_of_different_clusters_are_refused() {
        let rec = |sites: &[&str]| Recording {
            header: crate::site::api::record::Header {
                format: "tweettui-record".into(),
                version: 2,
                sites: sites.iter().map(|s| s.to_string()).collect(),
                started_ms: 0,
            },
            events: Vec::new(),
        };
        let a = ("a.jsonl".to_string(), rec(&["alice", "bob"]));
        let b = ("b.jsonl".to_string(), rec(&["alice", "carol"]));
        assert_eq!(
            sites_of(std::slice::from_ref(&a)).unwrap(),
            ["alice", "bob"]
        );
        let e = sites_of(&[a, b]).unwrap_err().to_string();
        assert!(e.contains("different clusters"), "{e}");
    }
}
