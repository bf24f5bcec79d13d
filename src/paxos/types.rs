//! The vocabulary of the consensus core: ballots, slots, messages between
//! sites, records to make durable, and trace events for the screen.

use crate::state::op::{Command, OpId, Value};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A site's index in the config (0-based).
pub type SiteId = u32;

/// A position in the replicated log.
pub type Slot = u64;

/// A ballot number: (round, site). Ordered by round first, then site, so two
/// sites never use the same ballot. Round 0 is [`Ballot::ZERO`], below every
/// ballot a proposer uses (proposers start at round 1).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Ballot {
    pub round: u64,
    pub site: SiteId,
}

impl Ballot {
    pub const ZERO: Ballot = Ballot { round: 0, site: 0 };

    pub fn new(round: u64, site: SiteId) -> Self {
        Ballot { round, site }
    }

    /// The smallest ballot of `site` above `seen`.
    pub fn next_above(seen: Ballot, site: SiteId) -> Ballot {
        Ballot::new(seen.round + 1, site)
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", self.round, self.site)
    }
}

/// A value an acceptor accepted for a slot, as reported in a promise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedEntry {
    pub slot: Slot,
    pub ballot: Ballot,
    pub value: Value,
}

/// A decided slot and its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecidedEntry {
    pub slot: Slot,
    pub value: Value,
}

/// Every message one site sends another. On the wire this is the `head`
/// (snake_case variant name) and `body` of SPEC section 7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "head", content = "body", rename_all = "snake_case")]
pub enum Message {
    /// Phase 1a for every slot from `from_slot` on (Multi-Paxos).
    /// `rejoin`: the candidate lost its disk and counts promises the way a
    /// rejoin needs (see "Rejoin" in the core), so that sites that rejoin
    /// too may answer it.
    Prepare {
        ballot: Ballot,
        from_slot: Slot,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rejoin: bool,
    },
    /// Phase 1b: the acceptor will not accept below `ballot` any more.
    /// `accepted` lists what it accepted for undecided slots `>= from_slot`;
    /// slots below `decided_upto` and those in `decided_beyond` are decided
    /// here (only their numbers travel: the proposer must not propose in
    /// them, and fetches their values).
    ///
    /// A promise whose accepted values would not fit in one line (SPEC 7:
    /// 1 MiB) travels as `parts` messages, `part` 0 to `parts - 1`, each
    /// with a share of `accepted` (and `decided_beyond` in the last); the
    /// proposer counts the promise once it holds every part.
    Promise {
        ballot: Ballot,
        from_slot: Slot,
        decided_upto: Slot,
        accepted: Vec<AcceptedEntry>,
        decided_beyond: Vec<Slot>,
        #[serde(default, skip_serializing_if = "is_zero")]
        part: u32,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        parts: u32,
        /// Which answer the parts belong to (a random number per answer;
        /// 0 for a promise in one part): the parts of one promise are one
        /// snapshot of the acceptor, and parts of two answers to the same
        /// prepare (one re-sent) must never be merged, or a slot that went
        /// from accepted to decided in between is in neither.
        #[serde(default, skip_serializing_if = "is_zero_u64")]
        answer: u64,
    },
    /// Phase 2a.
    Accept {
        ballot: Ballot,
        slot: Slot,
        value: Value,
    },
    /// Phase 2b: the acceptor accepted `ballot` in `slot`.
    Ack { ballot: Ballot, slot: Slot },
    /// A rejection: the acceptor promised `ballot`, higher than the one
    /// offered (`slot` is set when it answers an accept).
    Nack { ballot: Ballot, slot: Option<Slot> },
    /// The value of `slot` is decided (sent to every site).
    Commit {
        ballot: Ballot,
        slot: Slot,
        value: Value,
    },
    /// The leader is alive; how far its log goes (for hole detection).
    Heartbeat {
        ballot: Ballot,
        decided_upto: Slot,
        max_decided: Option<Slot>,
    },
    /// A follower heard the heartbeat of the leader of `ballot`: the leader
    /// still has a quorum (check-quorum: a leader that stops hearing these
    /// steps down, so a leader that cannot hear is replaced).
    HeartbeatAck { ballot: Ballot },
    /// A site hands its submissions to the leader of `ballot`.
    Forward { ballot: Ballot, cmds: Vec<Command> },
    /// The leader of `ballot` put these submissions into `slot`.
    Assigned {
        ballot: Ballot,
        slot: Slot,
        ids: Vec<OpId>,
    },
    /// The leader of `ballot` never put these submissions into any slot and
    /// never will: the submitter may hand them to another leader.
    Rejected { ballot: Ballot, ids: Vec<OpId> },
    /// Catch-up: send me the decided values of slots `from..to`.
    Fetch { from: Slot, to: Slot },
    /// A site that started on an empty data dir asks whether the cluster
    /// has history; answered with `decided` carrying the same `nonce`, so
    /// that an answer to an earlier life of the site never counts.
    Probe { nonce: u64 },
    /// Catch-up answer: decided values (possibly fewer than asked). An
    /// answer to a probe (an empty range) also says what the site promised,
    /// so that a site starting on an empty data dir can tell a new cluster
    /// from one with history (SPEC 6).
    Decided {
        decided_upto: Slot,
        entries: Vec<DecidedEntry>,
        #[serde(default, skip_serializing_if = "is_zero_ballot")]
        promised: Ballot,
        /// The nonce of the probe this answers (0: not a probe answer).
        #[serde(default, skip_serializing_if = "is_zero_u64")]
        probe: u64,
    },
}

/// The kind of a message, for the trace pane and its filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    Prepare,
    Promise,
    Accept,
    Ack,
    Nack,
    Commit,
    Heartbeat,
    HeartbeatAck,
    Forward,
    Assigned,
    Rejected,
    Fetch,
    Probe,
    Decided,
}

impl MsgKind {
    pub const ALL: [MsgKind; 14] = [
        MsgKind::Prepare,
        MsgKind::Promise,
        MsgKind::Accept,
        MsgKind::Ack,
        MsgKind::Nack,
        MsgKind::Commit,
        MsgKind::Heartbeat,
        MsgKind::HeartbeatAck,
        MsgKind::Forward,
        MsgKind::Assigned,
        MsgKind::Rejected,
        MsgKind::Fetch,
        MsgKind::Probe,
        MsgKind::Decided,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MsgKind::Prepare => "prepare",
            MsgKind::Promise => "promise",
            MsgKind::Accept => "accept",
            MsgKind::Ack => "ack",
            MsgKind::Nack => "nack",
            MsgKind::Commit => "commit",
            MsgKind::Heartbeat => "heartbeat",
            MsgKind::HeartbeatAck => "hb ack",
            MsgKind::Forward => "forward",
            MsgKind::Assigned => "assigned",
            MsgKind::Rejected => "rejected",
            MsgKind::Fetch => "fetch",
            MsgKind::Probe => "probe",
            MsgKind::Decided => "decided",
        }
    }

    /// The six messages of the Synod protocol itself (the rest is plumbing
    /// of leadership, forwarding and catch-up).
    pub fn is_synod(self) -> bool {
        matches!(
            self,
            MsgKind::Prepare
                | MsgKind::Promise
                | MsgKind::Accept
                | MsgKind::Ack
                | MsgKind::Nack
                | MsgKind::Commit
        )
    }
}

impl Message {
    pub fn kind(&self) -> MsgKind {
        match self {
            Message::Prepare { .. } => MsgKind::Prepare,
            Message::Promise { .. } => MsgKind::Promise,
            Message::Accept { .. } => MsgKind::Accept,
            Message::Ack { .. } => MsgKind::Ack,
            Message::Nack { .. } => MsgKind::Nack,
            Message::Commit { .. } => MsgKind::Commit,
            Message::Heartbeat { .. } => MsgKind::Heartbeat,
            Message::HeartbeatAck { .. } => MsgKind::HeartbeatAck,
            Message::Forward { .. } => MsgKind::Forward,
            Message::Assigned { .. } => MsgKind::Assigned,
            Message::Rejected { .. } => MsgKind::Rejected,
            Message::Fetch { .. } => MsgKind::Fetch,
            Message::Probe { .. } => MsgKind::Probe,
            Message::Decided { .. } => MsgKind::Decided,
        }
    }

    /// The slot the message is about, where it is about one.
    pub fn slot(&self) -> Option<Slot> {
        match self {
            Message::Prepare { from_slot, .. } | Message::Promise { from_slot, .. } => {
                Some(*from_slot)
            }
            Message::Accept { slot, .. }
            | Message::Ack { slot, .. }
            | Message::Commit { slot, .. }
            | Message::Assigned { slot, .. } => Some(*slot),
            Message::Nack { slot, .. } => *slot,
            Message::Fetch { from, .. } => Some(*from),
            Message::Heartbeat { .. }
            | Message::HeartbeatAck { .. }
            | Message::Forward { .. }
            | Message::Rejected { .. }
            | Message::Probe { .. }
            | Message::Decided { .. } => None,
        }
    }

    pub fn ballot(&self) -> Option<Ballot> {
        match self {
            Message::Prepare { ballot, .. }
            | Message::Promise { ballot, .. }
            | Message::Accept { ballot, .. }
            | Message::Ack { ballot, .. }
            | Message::Nack { ballot, .. }
            | Message::Commit { ballot, .. }
            | Message::Heartbeat { ballot, .. }
            | Message::HeartbeatAck { ballot }
            | Message::Forward { ballot, .. }
            | Message::Assigned { ballot, .. }
            | Message::Rejected { ballot, .. } => Some(*ballot),
            Message::Fetch { .. } | Message::Probe { .. } | Message::Decided { .. } => None,
        }
    }

    /// A short description of the value carried, for the trace pane.
    pub fn value_summary(&self) -> Option<String> {
        match self {
            Message::Accept { value, .. } | Message::Commit { value, .. } => Some(value.summary()),
            Message::Promise { accepted, .. } if !accepted.is_empty() => {
                Some(format!("{} accepted", accepted.len()))
            }
            Message::Forward { cmds, .. } => Some(Value::batch(cmds.clone()).summary()),
            Message::Assigned { ids, .. } | Message::Rejected { ids, .. } => {
                Some(format!("{} ops", ids.len()))
            }
            Message::Fetch { from, to } => Some(format!("slots {from}..{to}")),
            Message::Decided { entries, .. } => Some(format!("{} slots", entries.len())),
            _ => None,
        }
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

fn is_zero_ballot(b: &Ballot) -> bool {
    *b == Ballot::ZERO
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn one() -> u32 {
    1
}

/// A change to the durable state of a site. The core emits these; the runtime
/// must make them durable before it sends the messages of the same output,
/// unless every record of the output is [`Durability::Lazy`] (see
/// [`Record::durability`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rec", rename_all = "snake_case")]
pub enum Record {
    /// The acceptor promised not to accept ballots below `ballot`.
    Promise { ballot: Ballot },
    /// The acceptor accepted `value` with `ballot` in `slot`.
    Accept {
        slot: Slot,
        ballot: Ballot,
        value: Value,
    },
    /// `slot` is decided with `value`.
    Decide { slot: Slot, value: Value },
    /// This site started on an empty data dir while its peers hold history
    /// (a replaced disk): it must not vote until it is safe (SPEC 6).
    Rejoining,
    /// The rejoin is over: the site votes again.
    Voting,
}

/// When a [`Record`] must be durable (see "Decisions need no sync" in the
/// core's module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Before the messages and answers of its output: a vote (a promise, an
    /// accept) or a change of membership, which what is sent announces.
    BeforeSend,
    /// Whenever a later sync covers it: a crash may lose it, and that loses
    /// nothing chosen (a decision is a quorum's durable votes; this record
    /// only remembers it).
    Lazy,
}

impl Record {
    /// When this record must be durable: a decision lazily, every other
    /// record before its output's messages and answers.
    pub fn durability(&self) -> Durability {
        match self {
            Record::Decide { .. } => Durability::Lazy,
            _ => Durability::BeforeSend,
        }
    }
}

/// Direction of a traced message, seen from this site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dir {
    Sent,
    Received,
}

/// What the trace pane shows. The core emits one event per message it sends
/// or receives and one per notable change of a slot or of leadership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    Message {
        dir: Dir,
        peer: SiteId,
        kind: MsgKind,
        slot: Option<Slot>,
        ballot: Option<Ballot>,
        value: Option<String>,
    },
    /// This site, as leader, put a value into a new log entry.
    Proposed {
        slot: Slot,
        ballot: Ballot,
        value: String,
        /// true when the value is a recovered one re-proposed (or a no-op
        /// filling a hole), false for fresh submissions.
        recovered: bool,
    },
    /// A slot was decided here. `own` tells whether a submission of this site
    /// waited on the slot: `Some(true)` it won the slot, `Some(false)` it lost
    /// (and will be retried in a later slot), `None` none did.
    Decided {
        slot: Slot,
        value: String,
        own: Option<bool>,
    },
    /// This site's view of who leads changed.
    Leader {
        leader: Option<SiteId>,
        ballot: Ballot,
    },
    /// This site started phase 1 with a new ballot.
    Election { ballot: Ballot, from_slot: Slot },
    /// Whether this site votes changed (SPEC 6: a site that lost its disk).
    Membership(Membership),
}

/// Whether a site votes (see "Rejoin" in the core).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// It votes.
    Voting,
    /// It started on an empty data dir and asks its peers whether the
    /// cluster has history; it does not vote yet.
    Joining,
    /// The cluster has history and this site has none (its disk was lost
    /// or replaced): it learns, and votes again once it is safe.
    Rejoining,
}

impl Membership {
    pub fn name(self) -> &'static str {
        match self {
            Membership::Voting => "voting",
            Membership::Joining => "joining",
            Membership::Rejoining => "rejoining",
        }
    }
}
