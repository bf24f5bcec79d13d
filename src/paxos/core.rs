//! Multi-Paxos for one site, as a pure state machine.
//!
//! The core does no I/O, reads no clock and spawns nothing. The runtime (or
//! the simulator) feeds it [`Input`]s with the current time in milliseconds
//! and carries out the [`Output`] of each step, in this order:
//!
//! 1. make every record of `persist` durable (one sync for the whole batch);
//! 2. apply `committed` to the replicated state, in order, and archive it;
//! 3. send `send` and answer `serve` (promises and acks only leave once the
//!    state they announce is on disk: that is why step 1 comes first);
//! 4. report `completed` and `failed` to whoever submitted them.
//!
//! # Roles
//!
//! Every site is an acceptor and a learner. A site becomes the leader by
//! running phase 1 (`prepare`/`promise`) for *all* slots from its first
//! undecided slot on; once a quorum promised, it sends `accept` directly for
//! new slots (phase 2 only) until it sees a higher ballot. Nobody leads at
//! start: the first site with work runs the full Synod.
//!
//! # No livelock
//!
//! Sites do not compete for slots: a site that knows a live leader (it heard
//! a heartbeat, an accept or a commit recently) hands its submissions to it
//! (`forward`) instead of proposing. Only when no leader is alive does a site
//! with work run an election, and after a lost election (a `nack`, a
//! competitor's higher `prepare`, or no quorum in time) it waits a random
//! time drawn from a seeded generator before trying again, so two candidates
//! do not keep preempting each other.
//!
//! # Exactly once
//!
//! Every submission has a unique [`OpId`]. The rule that keeps it from being
//! decided in two slots: *an operation is a live candidate in at most one
//! slot at a time, and the submitting site moves it only when it knows its
//! old slot cannot hold it any more.* Concretely the submitter tracks each
//! pending operation as
//!
//! - `Unsent`: in no slot and with no leader: it may be handed to any leader;
//! - `Forwarded(leader, ballot)`: handed to the leader of `ballot`; it is
//!   re-sent to *that same* leader and ballot only (the leader remembers what
//!   it assigned in each of its terms and answers again);
//! - `Assigned(slot)`: the leader put it in `slot`; when `slot` is decided
//!   without it, it lost the slot and goes back to `Unsent` (retried later);
//! - back to `Unsent` also when the leader of `ballot` answers `rejected`:
//!   it never assigned the operation in that term and never will.
//!
//! Recovery never moves a value to another slot, so an operation sits in
//! one undecided slot at most and is decided at most once. If a leader
//! dies before telling the submitter where it put an operation, the
//! submitter cannot know and must not re-submit it: the operation fails at
//! its deadline (503) and may still be decided later, once.
//!
//! # Catch-up
//!
//! A site that learns of a decided slot beyond a hole (a commit, a heartbeat
//! or a promise says so) fetches decided values in bulk (`fetch` /
//! `decided`), again every so often while the hole stays. A leader fills
//! slots nobody knows about with no-ops (after phase 1 and when a fetch asks
//! for slots beyond its log); a site with a hole that stays and no leader
//! runs an election itself, which re-proposes what was accepted and a no-op
//! where nothing was. A value is never invented for a slot.

use super::durable::AcceptorState;
use super::types::*;
use crate::state::op::{Command, OpId, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// Parameters of the core. All times are in milliseconds.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Number of configured sites.
    pub sites: u32,
    /// This site's index.
    pub me: SiteId,
    /// How long a peer may take to answer before the round counts it failed.
    pub timeout_ms: u64,
    /// How long a submission may wait to be decided before it fails.
    pub submit_timeout_ms: u64,
    /// Seed of the random backoff (the simulator passes its own).
    pub seed: u64,
    /// Undecided slots a leader keeps in flight at once.
    pub window: usize,
    /// Operations in one slot at most.
    pub max_batch: usize,
    /// Approximate bytes of operations in one slot at most.
    pub max_batch_bytes: usize,
    /// Slots asked for in one catch-up request.
    pub fetch_chunk: u64,
    /// Approximate bytes of one catch-up answer at most.
    pub fetch_bytes: usize,
    /// Decided values kept in memory to answer catch-up requests (older
    /// ones are read from storage by the runtime).
    pub recent: usize,
}

impl CoreConfig {
    pub fn new(sites: u32, me: SiteId, timeout_ms: u64, submit_timeout_ms: u64, seed: u64) -> Self {
        CoreConfig {
            sites,
            me,
            timeout_ms: timeout_ms.max(1),
            submit_timeout_ms,
            seed,
            window: 8,
            max_batch: 256,
            max_batch_bytes: 64 * 1024,
            fetch_chunk: 256,
            fetch_bytes: 256 * 1024,
            recent: 1024,
        }
    }

    pub fn quorum(&self) -> usize {
        self.sites as usize / 2 + 1
    }

    fn heartbeat_ms(&self) -> u64 {
        (self.timeout_ms / 4).max(1)
    }

    /// A leader not heard from for this long is presumed gone.
    fn leader_timeout_ms(&self) -> u64 {
        self.timeout_ms * 2
    }

    /// How often a forwarded submission is re-sent to its leader.
    fn retry_ms(&self) -> u64 {
        self.timeout_ms * 2
    }
}

/// What the core reacts to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A message from another site.
    Message { from: SiteId, msg: Message },
    /// Time passed: timers are checked. Call it every few milliseconds.
    Tick,
    /// A local user's operation, already checked against the rules.
    Submit(Command),
}

/// A submission that was decided and applied: where it stands in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub id: OpId,
    pub slot: Slot,
    pub index: usize,
}

/// The runtime must read decided slots `from..to` from storage and send them
/// to `to_site` as `Message::Decided` (they are older than what the core
/// keeps in memory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeRequest {
    pub to_site: SiteId,
    pub from: Slot,
    pub to: Slot,
    pub decided_upto: Slot,
}

/// What the runtime must do after a step (see the module comment for the
/// order).
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub persist: Vec<Record>,
    pub send: Vec<(SiteId, Message)>,
    /// Slots that joined the contiguous decided prefix, in slot order.
    pub committed: Vec<(Slot, Value)>,
    pub completed: Vec<Completion>,
    pub failed: Vec<OpId>,
    pub serve: Vec<ServeRequest>,
    pub trace: Vec<TraceEvent>,
}

impl Output {
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.send.is_empty()
            && self.committed.is_empty()
            && self.completed.is_empty()
            && self.failed.is_empty()
            && self.serve.is_empty()
            && self.trace.is_empty()
    }

    /// Appends `other` after `self` (for a runtime that batches steps
    /// before one sync: the order of every list is kept).
    pub fn append(&mut self, mut other: Output) {
        self.persist.append(&mut other.persist);
        self.send.append(&mut other.send);
        self.committed.append(&mut other.committed);
        self.completed.append(&mut other.completed);
        self.failed.append(&mut other.failed);
        self.serve.append(&mut other.serve);
        self.trace.append(&mut other.trace);
    }
}

/// Where one of this site's submissions stands (see "Exactly once").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PendState {
    Unsent,
    /// In this site's own leader queue, not yet in a slot.
    Queued,
    Forwarded {
        to: SiteId,
        ballot: Ballot,
        sent_at: u64,
    },
    Assigned {
        slot: Slot,
        since: u64,
    },
}

#[derive(Clone, Debug)]
struct Pending {
    cmd: Command,
    deadline: u64,
    state: PendState,
}

/// What one acceptor said in its promise.
#[derive(Clone, Debug)]
struct PromiseInfo {
    decided_upto: Slot,
    accepted: Vec<AcceptedEntry>,
    decided_beyond: Vec<Slot>,
}

#[derive(Clone, Debug)]
struct InFlight {
    value: Value,
    acks: BTreeSet<SiteId>,
    sent_at: u64,
}

#[derive(Clone, Debug)]
struct Leading {
    ballot: Ballot,
    /// The next slot for fresh submissions.
    next_slot: Slot,
    inflight: BTreeMap<Slot, InFlight>,
    /// Submissions waiting for a slot: (submitting site, command).
    queue: VecDeque<(SiteId, Command)>,
    queued: HashSet<OpId>,
    /// Every submission assigned in this term, and its slot.
    assigned: HashMap<OpId, Slot>,
    last_heartbeat: u64,
}

#[derive(Clone, Debug)]
enum Role {
    Follower,
    Preparing {
        ballot: Ballot,
        from_slot: Slot,
        promises: BTreeMap<SiteId, PromiseInfo>,
        started: u64,
        sent_at: u64,
    },
    Leading(Box<Leading>),
}

/// A past term of this site as leader, remembered so that late forwards
/// stamped with its ballot get a truthful answer.
#[derive(Clone, Debug)]
struct PastTerm {
    ballot: Ballot,
    assigned: HashMap<OpId, Slot>,
    ended_at: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleKind {
    Follower,
    Preparing,
    Leading,
}

#[derive(Clone, Copy, Debug)]
struct LeaderSeen {
    site: SiteId,
    ballot: Ballot,
    last_heard: u64,
}

/// The consensus state machine of one site.
pub struct Core {
    cfg: CoreConfig,
    rng: ChaCha8Rng,
    now: u64,

    // Acceptor.
    promised: Ballot,
    accepted: BTreeMap<Slot, (Ballot, Value)>,

    // Learner.
    /// Every slot below `prefix` is decided and was emitted as committed.
    prefix: Slot,
    /// Decided slots at or beyond `prefix`.
    decided: BTreeMap<Slot, Value>,
    /// The last decided values below `prefix`, to answer catch-up requests.
    recent: VecDeque<(Slot, Value)>,
    /// The highest slot known to be decided somewhere.
    max_known_decided: Option<Slot>,
    /// When `prefix` last advanced (or when a hole was first seen).
    last_progress: u64,
    fetch_sent_at: Option<u64>,
    fetch_rotation: u32,
    next_hole_check: u64,

    // Proposer / leader.
    max_seen: Ballot,
    role: Role,
    leader: Option<LeaderSeen>,
    next_election_at: u64,
    past_terms: VecDeque<PastTerm>,

    // This site's submissions.
    pending: HashMap<OpId, Pending>,
    /// Pending submissions by the slot they were assigned to.
    by_slot: HashMap<Slot, Vec<OpId>>,

    started: bool,
}

impl Core {
    /// A core restored from durable state: `acceptor` as replayed from
    /// storage, `applied` the number of slots already folded into the
    /// replicated state the runtime loaded (its checkpoint).
    pub fn new(cfg: CoreConfig, mut acceptor: AcceptorState, applied: Slot) -> Self {
        acceptor.forget_below(applied);
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let promised = acceptor.promised;
        let max_known_decided = acceptor.decided.keys().next_back().copied();
        Core {
            rng,
            now: 0,
            promised,
            accepted: acceptor.accepted,
            prefix: applied,
            decided: acceptor.decided,
            recent: VecDeque::new(),
            max_known_decided,
            last_progress: 0,
            fetch_sent_at: None,
            fetch_rotation: cfg.me,
            next_hole_check: 0,
            max_seen: promised,
            role: Role::Follower,
            leader: None,
            next_election_at: 0,
            past_terms: VecDeque::new(),
            pending: HashMap::new(),
            by_slot: HashMap::new(),
            started: false,
            cfg,
        }
    }

    // ----- queries -------------------------------------------------------

    pub fn me(&self) -> SiteId {
        self.cfg.me
    }

    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// The number of slots decided here with no hole before them.
    pub fn decided_prefix(&self) -> Slot {
        self.prefix
    }

    /// The highest slot this site knows to be decided somewhere.
    pub fn max_known_decided(&self) -> Option<Slot> {
        self.max_known_decided
    }

    /// The leader as this site sees it: itself when it leads, else the last
    /// leader it heard from recently.
    pub fn leader(&self) -> Option<SiteId> {
        match &self.role {
            Role::Leading(_) => Some(self.cfg.me),
            _ => self
                .leader
                .filter(|l| self.now.saturating_sub(l.last_heard) <= self.cfg.leader_timeout_ms())
                .map(|l| l.site),
        }
    }

    /// The ballot of the leader as this site sees it.
    pub fn leader_ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Leading(l) => Some(l.ballot),
            _ => self.leader.map(|l| l.ballot),
        }
    }

    pub fn is_leading(&self) -> bool {
        matches!(self.role, Role::Leading(_))
    }

    pub fn promised(&self) -> Ballot {
        self.promised
    }

    /// Decided value of a slot if it is still in memory.
    pub fn decided_value(&self, slot: Slot) -> Option<&Value> {
        if slot >= self.prefix {
            return self.decided.get(&slot);
        }
        let first = self.recent.front()?.0;
        self.recent
            .get(usize::try_from(slot.checked_sub(first)?).ok()?)
            .map(|(_, v)| v)
    }

    /// Pending submissions of this site.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The durable acceptor state as it stands (for a checkpoint): what a
    /// replay of every record emitted so far gives, less what is below the
    /// decided prefix.
    pub fn acceptor_snapshot(&self) -> AcceptorState {
        AcceptorState {
            promised: self.promised,
            accepted: self.accepted.clone(),
            decided: self.decided.clone(),
        }
    }

    // ----- entry points --------------------------------------------------

    /// Must be called once, first: emits as committed the decided slots that
    /// follow the checkpoint the runtime loaded.
    pub fn start(&mut self, now: u64) -> Output {
        let mut out = Output::default();
        self.now = now;
        self.last_progress = now;
        self.started = true;
        self.advance_prefix(&mut out);
        out
    }

    /// Handles one input at time `now` (milliseconds, never decreasing).
    pub fn step(&mut self, now: u64, input: Input) -> Output {
        let mut out = Output::default();
        if !self.started {
            out = self.start(now);
        }
        self.now = self.now.max(now);
        match input {
            Input::Message { from, msg } => {
                if from != self.cfg.me && from < self.cfg.sites {
                    out.trace.push(trace_msg(Dir::Received, from, &msg));
                    self.on_message(&mut out, from, msg);
                }
            }
            Input::Tick => self.on_tick(&mut out),
            Input::Submit(cmd) => self.on_submit(&mut out, cmd),
        }
        self.dispatch_pending(&mut out);
        self.maybe_fetch(&mut out, false);
        out
    }

    // ----- messages ------------------------------------------------------

    fn on_message(&mut self, out: &mut Output, from: SiteId, msg: Message) {
        if let Some(b) = msg.ballot() {
            self.max_seen = self.max_seen.max(b);
        }
        match msg {
            Message::Prepare { ballot, from_slot } => self.on_prepare(out, from, ballot, from_slot),
            Message::Promise {
                ballot,
                from_slot: _,
                decided_upto,
                accepted,
                decided_beyond,
            } => self.on_promise(
                out,
                from,
                ballot,
                PromiseInfo {
                    decided_upto,
                    accepted,
                    decided_beyond,
                },
            ),
            Message::Accept {
                ballot,
                slot,
                value,
            } => self.on_accept(out, from, ballot, slot, value),
            Message::Ack { ballot, slot } => self.on_ack(out, from, ballot, slot),
            Message::Nack { ballot, .. } => self.on_nack(out, ballot),
            Message::Commit {
                ballot,
                slot,
                value,
            } => {
                self.heard_leader(out, ballot);
                self.learn(out, slot, value);
            }
            Message::Heartbeat {
                ballot,
                decided_upto,
                max_decided,
            } => {
                if ballot < self.promised {
                    // A stale leader: tell it, so it steps down at once.
                    self.send(
                        out,
                        from,
                        Message::Nack {
                            ballot: self.promised,
                            slot: None,
                        },
                    );
                    return;
                }
                self.heard_leader(out, ballot);
                self.note_decided(decided_upto.checked_sub(1));
                self.note_decided(max_decided);
            }
            Message::Forward { ballot, cmds } => self.on_forward(out, from, ballot, cmds),
            Message::Assigned { ballot, slot, ids } => {
                for id in ids {
                    self.on_assigned(id, ballot, slot);
                }
            }
            Message::Rejected { ballot, ids } => {
                for id in ids {
                    if let Some(p) = self.pending.get_mut(&id) {
                        if matches!(p.state, PendState::Forwarded { ballot: b, .. } if b == ballot)
                        {
                            p.state = PendState::Unsent;
                        }
                    }
                }
            }
            Message::Fetch { from: lo, to: hi } => self.on_fetch(out, from, lo, hi),
            Message::Decided {
                decided_upto,
                entries,
            } => {
                self.note_decided(decided_upto.checked_sub(1));
                let before = self.prefix;
                for e in entries {
                    self.learn(out, e.slot, e.value);
                }
                self.fetch_sent_at = None;
                if self.prefix > before {
                    // Pipelined catch-up: ask for the next chunk at once.
                    self.maybe_fetch(out, true);
                }
            }
        }
    }

    fn on_prepare(&mut self, out: &mut Output, from: SiteId, ballot: Ballot, from_slot: Slot) {
        if ballot < self.promised {
            self.send(
                out,
                from,
                Message::Nack {
                    ballot: self.promised,
                    slot: None,
                },
            );
            return;
        }
        if ballot > self.promised {
            self.promised = ballot;
            out.persist.push(Record::Promise { ballot });
        }
        // Our own candidacy or leadership is outbid.
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        // Someone is running for leader: give it time before we do.
        let backoff = self.backoff();
        self.next_election_at = self.next_election_at.max(self.now + backoff);
        let promise = self.promise_info(from_slot);
        self.send(
            out,
            from,
            Message::Promise {
                ballot,
                from_slot,
                decided_upto: promise.decided_upto,
                accepted: promise.accepted,
                decided_beyond: promise.decided_beyond,
            },
        );
    }

    fn promise_info(&self, from_slot: Slot) -> PromiseInfo {
        PromiseInfo {
            decided_upto: self.prefix,
            accepted: self
                .accepted
                .range(from_slot..)
                .map(|(&slot, (ballot, value))| AcceptedEntry {
                    slot,
                    ballot: *ballot,
                    value: value.clone(),
                })
                .collect(),
            decided_beyond: self.decided.range(from_slot..).map(|(&s, _)| s).collect(),
        }
    }

    fn on_promise(&mut self, out: &mut Output, from: SiteId, ballot: Ballot, info: PromiseInfo) {
        let quorum = self.cfg.quorum();
        let Role::Preparing {
            ballot: mine,
            promises,
            ..
        } = &mut self.role
        else {
            return;
        };
        if *mine != ballot {
            return;
        }
        promises.insert(from, info);
        if promises.len() >= quorum {
            self.activate(out);
        }
    }

    fn on_accept(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        slot: Slot,
        value: Value,
    ) {
        if ballot < self.promised {
            self.send(
                out,
                from,
                Message::Nack {
                    ballot: self.promised,
                    slot: Some(slot),
                },
            );
            return;
        }
        let raised = ballot > self.promised;
        self.promised = ballot;
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        self.heard_leader(out, ballot);
        let decided_here = slot < self.prefix || self.decided.contains_key(&slot);
        if decided_here {
            if raised {
                out.persist.push(Record::Promise { ballot });
            }
        } else {
            self.accepted.insert(slot, (ballot, value.clone()));
            out.persist.push(Record::Accept {
                slot,
                ballot,
                value,
            });
        }
        self.send(out, from, Message::Ack { ballot, slot });
    }

    fn on_ack(&mut self, out: &mut Output, from: SiteId, ballot: Ballot, slot: Slot) {
        let quorum = self.cfg.quorum();
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        let Some(f) = l.inflight.get_mut(&slot) else {
            return;
        };
        f.acks.insert(from);
        if f.acks.len() >= quorum {
            self.decide_own(out, slot);
        }
    }

    fn on_nack(&mut self, out: &mut Output, ballot: Ballot) {
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
    }

    fn on_forward(&mut self, out: &mut Output, from: SiteId, ballot: Ballot, cmds: Vec<Command>) {
        // A site forwards only its own submissions.
        let cmds: Vec<Command> = cmds.into_iter().filter(|c| c.id.site == from).collect();
        if let Role::Leading(l) = &mut self.role {
            if l.ballot == ballot {
                let mut known: BTreeMap<Slot, Vec<OpId>> = BTreeMap::new();
                for cmd in cmds {
                    if let Some(&slot) = l.assigned.get(&cmd.id) {
                        known.entry(slot).or_default().push(cmd.id);
                    } else if l.queued.insert(cmd.id) {
                        l.queue.push_back((from, cmd));
                    }
                }
                for (slot, ids) in known {
                    self.send(out, from, Message::Assigned { ballot, slot, ids });
                }
                self.assign_fresh(out);
                return;
            }
        }
        // A term of ours that ended: answer truthfully what it did.
        if let Some(term) = self.past_terms.iter().find(|t| t.ballot == ballot) {
            let mut known: BTreeMap<Slot, Vec<OpId>> = BTreeMap::new();
            let mut never = Vec::new();
            for cmd in &cmds {
                match term.assigned.get(&cmd.id) {
                    Some(&slot) => known.entry(slot).or_default().push(cmd.id),
                    None => never.push(cmd.id),
                }
            }
            for (slot, ids) in known {
                self.send(out, from, Message::Assigned { ballot, slot, ids });
            }
            if !never.is_empty() {
                self.send(out, from, Message::Rejected { ballot, ids: never });
            }
        }
        // Otherwise a term we no longer remember (we restarted): we cannot
        // know, so we say nothing and the submitter waits for its deadline.
    }

    fn on_assigned(&mut self, id: OpId, ballot: Ballot, slot: Slot) {
        let Some(p) = self.pending.get_mut(&id) else {
            return;
        };
        if !matches!(p.state, PendState::Forwarded { ballot: b, .. } if b == ballot) {
            return;
        }
        if slot < self.prefix {
            // That slot is decided and applied without it: it lost.
            p.state = PendState::Unsent;
            return;
        }
        p.state = PendState::Assigned {
            slot,
            since: self.now,
        };
        self.by_slot.entry(slot).or_default().push(id);
        if let Some(v) = self.decided.get(&slot) {
            if !v.contains(id) {
                // Decided beyond a hole without it: lost as well.
                p.state = PendState::Unsent;
            }
        }
    }

    fn on_fetch(&mut self, out: &mut Output, from: SiteId, lo: Slot, hi: Slot) {
        let hi = hi.min(lo.saturating_add(self.cfg.fetch_chunk));
        if lo >= hi {
            // A probe: the asker only wants to know how far our log goes.
            self.send(
                out,
                from,
                Message::Decided {
                    decided_upto: self.prefix,
                    entries: Vec::new(),
                },
            );
            return;
        }
        let recent_start = self.recent.front().map_or(self.prefix, |(s, _)| *s);
        if lo < recent_start {
            out.serve.push(ServeRequest {
                to_site: from,
                from: lo,
                to: hi.min(recent_start),
                decided_upto: self.prefix,
            });
        } else {
            let mut entries = Vec::new();
            let mut bytes = 0;
            for slot in lo..hi {
                let Some(value) = self.decided_value(slot) else {
                    if slot >= self.prefix {
                        // Beyond our prefix only some slots are known.
                        continue;
                    }
                    break;
                };
                bytes += approx_value_bytes(value);
                entries.push(DecidedEntry {
                    slot,
                    value: value.clone(),
                });
                if bytes >= self.cfg.fetch_bytes {
                    break;
                }
            }
            self.send(
                out,
                from,
                Message::Decided {
                    decided_upto: self.prefix,
                    entries,
                },
            );
        }
        // A leader asked for slots beyond its log fills them with no-ops, so
        // that a value stranded there by an earlier leader is settled.
        if let Role::Leading(l) = &mut self.role {
            let first = l.next_slot;
            let end = hi.min(first.saturating_add(self.cfg.window as u64));
            if end > first {
                l.next_slot = end;
                for slot in first..end {
                    self.propose(out, slot, Value::noop(), true);
                }
            }
        }
    }

    // ----- leadership ----------------------------------------------------

    fn own_ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Follower => None,
            Role::Preparing { ballot, .. } => Some(*ballot),
            Role::Leading(l) => Some(l.ballot),
        }
    }

    /// A message of `ballot` shows its site acting as leader.
    fn heard_leader(&mut self, out: &mut Output, ballot: Ballot) {
        if ballot.site == self.cfg.me || ballot < self.promised {
            return;
        }
        if self.own_ballot().is_some_and(|b| b < ballot) {
            self.step_down(out);
        }
        let changed = self.leader.is_none_or(|l| l.ballot != ballot);
        if self.leader.is_none_or(|l| l.ballot <= ballot) {
            self.leader = Some(LeaderSeen {
                site: ballot.site,
                ballot,
                last_heard: self.now,
            });
            if changed {
                out.trace.push(TraceEvent::Leader {
                    leader: Some(ballot.site),
                    ballot,
                });
            }
        }
    }

    fn backoff(&mut self) -> u64 {
        let t = self.cfg.timeout_ms;
        self.rng.random_range(t..=3 * t)
    }

    fn start_election(&mut self, out: &mut Output) {
        let ballot = Ballot::next_above(self.max_seen.max(self.promised), self.cfg.me);
        self.max_seen = ballot;
        self.promised = ballot;
        out.persist.push(Record::Promise { ballot });
        let from_slot = self.prefix;
        let mut promises = BTreeMap::new();
        promises.insert(self.cfg.me, self.promise_info(from_slot));
        self.role = Role::Preparing {
            ballot,
            from_slot,
            promises,
            started: self.now,
            sent_at: self.now,
        };
        out.trace.push(TraceEvent::Election { ballot, from_slot });
        self.broadcast(out, Message::Prepare { ballot, from_slot });
        if self.cfg.quorum() == 1 {
            self.activate(out);
        }
    }

    /// A quorum promised: take over every slot from `from_slot` on.
    fn activate(&mut self, out: &mut Output) {
        let Role::Preparing {
            ballot, promises, ..
        } = std::mem::replace(&mut self.role, Role::Follower)
        else {
            return;
        };
        // Slots below `known_upto` are decided at some acceptor; we fetch
        // them instead of proposing.
        let known_upto = promises
            .values()
            .map(|p| p.decided_upto)
            .max()
            .unwrap_or(0)
            .max(self.prefix);
        let mut decided_elsewhere: BTreeSet<Slot> = BTreeSet::new();
        let mut best: BTreeMap<Slot, (Ballot, Value)> = BTreeMap::new();
        for info in promises.into_values() {
            decided_elsewhere.extend(info.decided_beyond.iter().copied());
            for e in info.accepted {
                if e.slot < known_upto {
                    continue;
                }
                let better = best.get(&e.slot).is_none_or(|(b, _)| e.ballot > *b);
                if better {
                    best.insert(e.slot, (e.ballot, e.value));
                }
            }
        }
        if let Some(&max) = decided_elsewhere.iter().next_back() {
            self.note_decided(Some(max));
        }
        self.note_decided(known_upto.checked_sub(1));
        let top = [
            best.keys().next_back().copied(),
            decided_elsewhere.iter().next_back().copied(),
            self.decided.keys().next_back().copied(),
        ]
        .into_iter()
        .flatten()
        .max();
        let next_slot = top.map_or(known_upto, |t| t.saturating_add(1).max(known_upto));
        self.role = Role::Leading(Box::new(Leading {
            ballot,
            next_slot,
            inflight: BTreeMap::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            assigned: HashMap::new(),
            last_heartbeat: self.now,
        }));
        self.leader = Some(LeaderSeen {
            site: self.cfg.me,
            ballot,
            last_heard: self.now,
        });
        out.trace.push(TraceEvent::Leader {
            leader: Some(self.cfg.me),
            ballot,
        });
        self.send_heartbeat(out);
        // Re-propose what may have been chosen; fill the rest with no-ops.
        for slot in known_upto..next_slot {
            if self.decided.contains_key(&slot) || decided_elsewhere.contains(&slot) {
                continue;
            }
            let value = best.remove(&slot).map_or_else(Value::noop, |(_, v)| v);
            if let Role::Leading(l) = &mut self.role {
                for c in &value.cmds {
                    l.assigned.insert(c.id, slot);
                }
            }
            self.propose(out, slot, value, true);
        }
        self.assign_fresh(out);
    }

    /// Leaves the leader role (or candidacy): the term's unassigned
    /// submissions go back to their sites.
    fn step_down(&mut self, out: &mut Output) {
        let old = std::mem::replace(&mut self.role, Role::Follower);
        let backoff = self.backoff();
        self.next_election_at = self.now + backoff;
        let Role::Leading(l) = old else {
            return;
        };
        let Leading {
            ballot,
            queue,
            assigned,
            ..
        } = *l;
        let mut rejected: BTreeMap<SiteId, Vec<OpId>> = BTreeMap::new();
        for (site, cmd) in queue {
            if site == self.cfg.me {
                if let Some(p) = self.pending.get_mut(&cmd.id) {
                    p.state = PendState::Unsent;
                }
            } else {
                rejected.entry(site).or_default().push(cmd.id);
            }
        }
        for (site, ids) in rejected {
            self.send(out, site, Message::Rejected { ballot, ids });
        }
        self.past_terms.push_back(PastTerm {
            ballot,
            assigned,
            ended_at: self.now,
        });
        if self.leader.is_some_and(|l| l.site == self.cfg.me) {
            self.leader = None;
        }
        out.trace.push(TraceEvent::Leader {
            leader: None,
            ballot: self.max_seen,
        });
    }

    fn send_heartbeat(&mut self, out: &mut Output) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        l.last_heartbeat = self.now;
        let msg = Message::Heartbeat {
            ballot: l.ballot,
            decided_upto: self.prefix,
            max_decided: self.max_known_decided,
        };
        self.broadcast(out, msg);
    }

    /// Puts queued submissions into new slots while the window allows.
    fn assign_fresh(&mut self, out: &mut Output) {
        loop {
            let Role::Leading(l) = &mut self.role else {
                return;
            };
            if l.queue.is_empty() || l.inflight.len() >= self.cfg.window {
                return;
            }
            let mut cmds = Vec::new();
            let mut bytes = 0;
            while let Some((_, cmd)) = l.queue.front() {
                let size = approx_cmd_bytes(cmd);
                if !cmds.is_empty()
                    && (cmds.len() >= self.cfg.max_batch || bytes + size > self.cfg.max_batch_bytes)
                {
                    break;
                }
                bytes += size;
                if let Some((site, cmd)) = l.queue.pop_front() {
                    l.queued.remove(&cmd.id);
                    cmds.push((site, cmd));
                }
            }
            let slot = l.next_slot;
            l.next_slot = l.next_slot.saturating_add(1);
            let ballot = l.ballot;
            let mut by_site: BTreeMap<SiteId, Vec<OpId>> = BTreeMap::new();
            for (site, cmd) in &cmds {
                l.assigned.insert(cmd.id, slot);
                by_site.entry(*site).or_default().push(cmd.id);
            }
            for (site, ids) in by_site {
                if site == self.cfg.me {
                    for id in ids {
                        if let Some(p) = self.pending.get_mut(&id) {
                            p.state = PendState::Assigned {
                                slot,
                                since: self.now,
                            };
                            self.by_slot.entry(slot).or_default().push(id);
                        }
                    }
                } else {
                    self.send(out, site, Message::Assigned { ballot, slot, ids });
                }
            }
            let value = Value::batch(cmds.into_iter().map(|(_, c)| c).collect());
            self.propose(out, slot, value, false);
        }
    }

    /// Phase 2 for one slot, with this site's own accept counted.
    fn propose(&mut self, out: &mut Output, slot: Slot, value: Value, recovered: bool) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let ballot = l.ballot;
        let mut acks = BTreeSet::new();
        if ballot >= self.promised {
            acks.insert(self.cfg.me);
            self.accepted.insert(slot, (ballot, value.clone()));
            out.persist.push(Record::Accept {
                slot,
                ballot,
                value: value.clone(),
            });
        }
        l.inflight.insert(
            slot,
            InFlight {
                value: value.clone(),
                acks,
                sent_at: self.now,
            },
        );
        out.trace.push(TraceEvent::Proposed {
            slot,
            ballot,
            value: value.summary(),
            recovered,
        });
        self.broadcast(
            out,
            Message::Accept {
                ballot,
                slot,
                value,
            },
        );
        let quorum = self.cfg.quorum();
        if let Role::Leading(l) = &self.role {
            if l.inflight
                .get(&slot)
                .is_some_and(|f| f.acks.len() >= quorum)
            {
                self.decide_own(out, slot);
            }
        }
    }

    /// A quorum accepted our value for `slot`: it is chosen.
    fn decide_own(&mut self, out: &mut Output, slot: Slot) {
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let Some(f) = l.inflight.remove(&slot) else {
            return;
        };
        let ballot = l.ballot;
        self.broadcast(
            out,
            Message::Commit {
                ballot,
                slot,
                value: f.value.clone(),
            },
        );
        self.learn(out, slot, f.value);
        self.assign_fresh(out);
    }

    // ----- learning ------------------------------------------------------

    fn note_decided(&mut self, slot: Option<Slot>) {
        if let Some(s) = slot {
            self.max_known_decided = Some(self.max_known_decided.map_or(s, |m| m.max(s)));
        }
    }

    /// `slot` is decided with `value`.
    fn learn(&mut self, out: &mut Output, slot: Slot, value: Value) {
        if slot < self.prefix || self.decided.contains_key(&slot) {
            return;
        }
        self.note_decided(Some(slot));
        self.accepted.remove(&slot);
        if let Role::Leading(l) = &mut self.role {
            l.inflight.remove(&slot);
            l.next_slot = l.next_slot.max(slot.saturating_add(1));
        }
        out.persist.push(Record::Decide {
            slot,
            value: value.clone(),
        });
        // A submission of ours assigned to this slot that is not in it lost
        // the slot: it goes back to be retried in a later one.
        if let Some(ids) = self.by_slot.get(&slot) {
            for id in ids {
                if let Some(p) = self.pending.get_mut(id) {
                    if matches!(p.state, PendState::Assigned { slot: s, .. } if s == slot)
                        && !value.contains(*id)
                    {
                        p.state = PendState::Unsent;
                    }
                }
            }
        }
        self.decided.insert(slot, value);
        self.advance_prefix(out);
    }

    /// Moves the contiguous decided slots into the committed output.
    fn advance_prefix(&mut self, out: &mut Output) {
        while let Some(value) = self.decided.remove(&self.prefix) {
            let slot = self.prefix;
            let mut won = false;
            for (index, cmd) in value.cmds.iter().enumerate() {
                if self.pending.remove(&cmd.id).is_some() {
                    won = true;
                    out.completed.push(Completion {
                        id: cmd.id,
                        slot,
                        index,
                    });
                }
            }
            let lost = self.by_slot.remove(&slot).is_some_and(|ids| {
                ids.iter().any(|id| {
                    self.pending
                        .get(id)
                        .is_some_and(|p| p.state == PendState::Unsent)
                })
            });
            out.trace.push(TraceEvent::Decided {
                slot,
                value: value.summary(),
                own: if won {
                    Some(true)
                } else if lost {
                    Some(false)
                } else {
                    None
                },
            });
            self.recent.push_back((slot, value.clone()));
            while self.recent.len() > self.cfg.recent {
                self.recent.pop_front();
            }
            out.committed.push((slot, value));
            self.prefix = self.prefix.saturating_add(1);
            self.last_progress = self.now;
        }
    }

    /// Asks a peer for decided values when this site knows of decided slots
    /// beyond its prefix (or waits for a slot it was assigned).
    fn maybe_fetch(&mut self, out: &mut Output, now_please: bool) {
        let stuck_assigned = self
            .pending
            .values()
            .filter_map(|p| match p.state {
                PendState::Assigned { slot, since }
                    if self.now.saturating_sub(since) >= self.cfg.retry_ms() =>
                {
                    Some(slot)
                }
                _ => None,
            })
            .max();
        let target = self.max_known_decided.max(stuck_assigned);
        let Some(target) = target.filter(|&t| t >= self.prefix) else {
            self.last_progress = self.now;
            return;
        };
        let due = match self.fetch_sent_at {
            None => {
                now_please || self.now.saturating_sub(self.last_progress) >= self.cfg.timeout_ms / 2
            }
            Some(at) => self.now.saturating_sub(at) >= self.cfg.timeout_ms,
        };
        if !due {
            return;
        }
        let peer = match self.leader() {
            Some(l) if l != self.cfg.me => l,
            _ => match self.next_peer() {
                Some(p) => p,
                None => return,
            },
        };
        self.fetch_sent_at = Some(self.now);
        let to = target
            .saturating_add(1)
            .min(self.prefix.saturating_add(self.cfg.fetch_chunk));
        self.send(
            out,
            peer,
            Message::Fetch {
                from: self.prefix,
                to,
            },
        );
    }

    /// The next peer in a rotation over all others.
    fn next_peer(&mut self) -> Option<SiteId> {
        let n = self.cfg.sites;
        if n <= 1 {
            return None;
        }
        self.fetch_rotation = (self.fetch_rotation + 1) % n;
        if self.fetch_rotation == self.cfg.me {
            self.fetch_rotation = (self.fetch_rotation + 1) % n;
        }
        Some(self.fetch_rotation)
    }

    // ----- timers --------------------------------------------------------

    fn on_tick(&mut self, out: &mut Output) {
        let now = self.now;
        let timeout = self.cfg.timeout_ms;
        // Deadlines of our submissions.
        let expired: Vec<OpId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.pending.remove(&id);
            if let Role::Leading(l) = &mut self.role {
                if l.queued.remove(&id) {
                    l.queue.retain(|(_, c)| c.id != id);
                }
            }
            out.failed.push(id);
        }
        self.past_terms.retain(|t| {
            now.saturating_sub(t.ended_at) <= 4 * self.cfg.submit_timeout_ms.max(timeout)
        });

        match self.role_kind() {
            RoleKind::Leading => self.leader_tick(out),
            RoleKind::Preparing => self.candidate_tick(out),
            RoleKind::Follower => {
                if self.has_work() && self.leader().is_none() && now >= self.next_election_at {
                    self.start_election(out);
                }
            }
        }
        if now >= self.next_hole_check {
            self.next_hole_check = now + 2 * timeout;
            if self.leader().is_none() && self.fetch_sent_at.is_none() {
                // No leader heartbeats to tell us how far the log goes: ask a
                // peer, so that a commit we missed is found even when the
                // cluster is idle.
                if let Some(peer) = self.next_peer() {
                    self.fetch_sent_at = Some(now);
                    let at = self.prefix;
                    self.send(out, peer, Message::Fetch { from: at, to: at });
                }
            }
            self.maybe_fetch(out, false);
        }
    }

    fn role_kind(&self) -> RoleKind {
        match self.role {
            Role::Follower => RoleKind::Follower,
            Role::Preparing { .. } => RoleKind::Preparing,
            Role::Leading(_) => RoleKind::Leading,
        }
    }

    fn leader_tick(&mut self, out: &mut Output) {
        let now = self.now;
        let timeout = self.cfg.timeout_ms;
        let Role::Leading(l) = &mut self.role else {
            return;
        };
        let heartbeat_due = now.saturating_sub(l.last_heartbeat) >= self.cfg.heartbeat_ms();
        // Accepts a quorum has not answered in time are sent again to the
        // sites that did not answer.
        let ballot = l.ballot;
        let mut resend = Vec::new();
        for (slot, f) in l.inflight.iter_mut() {
            if now.saturating_sub(f.sent_at) >= timeout {
                f.sent_at = now;
                resend.push((*slot, f.value.clone(), f.acks.clone()));
            }
        }
        let hole_stuck = !l.inflight.contains_key(&self.prefix)
            && self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && now.saturating_sub(self.last_progress) >= 4 * timeout;
        if heartbeat_due {
            self.send_heartbeat(out);
        }
        for (slot, value, acks) in resend {
            for site in (0..self.cfg.sites).filter(|s| !acks.contains(s)) {
                let msg = Message::Accept {
                    ballot,
                    slot,
                    value: value.clone(),
                };
                self.send(out, site, msg);
            }
        }
        if hole_stuck {
            // A slot below our log that no peer delivers as decided (the only
            // site that knew may be down): run phase 1 again to recover it.
            self.step_down(out);
            self.start_election(out);
        }
    }

    fn candidate_tick(&mut self, out: &mut Output) {
        let now = self.now;
        let timeout = self.cfg.timeout_ms;
        let Role::Preparing {
            ballot,
            from_slot,
            promises,
            started,
            sent_at,
        } = &mut self.role
        else {
            return;
        };
        if now.saturating_sub(*started) >= 4 * timeout {
            // No quorum in time: give up for now, try again after a backoff.
            self.step_down(out);
            return;
        }
        if now.saturating_sub(*sent_at) < timeout {
            return;
        }
        *sent_at = now;
        let (ballot, from_slot) = (*ballot, *from_slot);
        let missing: Vec<SiteId> = (0..self.cfg.sites)
            .filter(|s| !promises.contains_key(s))
            .collect();
        for site in missing {
            self.send(out, site, Message::Prepare { ballot, from_slot });
        }
    }

    /// Whether this site needs a leader: a submission waits for one, or a
    /// hole stays unfilled.
    fn has_work(&self) -> bool {
        let unsent = self.pending.values().any(|p| p.state == PendState::Unsent);
        let stalled_hole = self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && self.now.saturating_sub(self.last_progress) >= 3 * self.cfg.timeout_ms;
        let stuck = self.pending.values().any(|p| match p.state {
            PendState::Assigned { since, .. } => {
                self.now.saturating_sub(since) >= 2 * self.cfg.retry_ms()
            }
            _ => false,
        });
        unsent || stalled_hole || stuck
    }

    // ----- submissions ---------------------------------------------------

    fn on_submit(&mut self, out: &mut Output, cmd: Command) {
        let id = cmd.id;
        if self.pending.contains_key(&id) {
            return;
        }
        self.pending.insert(
            id,
            Pending {
                cmd,
                deadline: self.now + self.cfg.submit_timeout_ms,
                state: PendState::Unsent,
            },
        );
        // With no leader in sight, run for it now rather than at the next
        // tick (the first submission of an idle cluster).
        if self.leader().is_none()
            && matches!(self.role, Role::Follower)
            && self.now >= self.next_election_at
        {
            self.start_election(out);
        }
    }

    /// Hands unsent submissions to the leader (or to ourselves when we lead)
    /// and re-sends forwards that were not answered.
    fn dispatch_pending(&mut self, out: &mut Output) {
        if self.pending.is_empty() {
            return;
        }
        let now = self.now;
        let retry = self.cfg.retry_ms();
        let mut unsent: Vec<OpId> = Vec::new();
        let mut resend: BTreeMap<(SiteId, Ballot), Vec<OpId>> = BTreeMap::new();
        for (id, p) in &self.pending {
            match p.state {
                PendState::Unsent => unsent.push(*id),
                PendState::Forwarded {
                    to,
                    ballot,
                    sent_at,
                } if now.saturating_sub(sent_at) >= retry => {
                    resend.entry((to, ballot)).or_default().push(*id);
                }
                _ => {}
            }
        }
        // Oldest first, so a batch keeps the order of submission.
        unsent.sort_by_key(|id| id.seq);
        if !unsent.is_empty() {
            if let Role::Leading(l) = &mut self.role {
                for id in unsent {
                    if let Some(p) = self.pending.get_mut(&id) {
                        p.state = PendState::Queued;
                        if l.queued.insert(id) {
                            l.queue.push_back((self.cfg.me, p.cmd.clone()));
                        }
                    }
                }
                self.assign_fresh(out);
            } else if let (Some(site), Some(ballot)) = (self.leader(), self.leader_ballot()) {
                if site != self.cfg.me {
                    for id in &unsent {
                        if let Some(p) = self.pending.get_mut(id) {
                            p.state = PendState::Forwarded {
                                to: site,
                                ballot,
                                sent_at: now,
                            };
                        }
                    }
                    resend.entry((site, ballot)).or_default().extend(unsent);
                }
            }
        }
        for ((site, ballot), ids) in resend {
            let cmds: Vec<Command> = ids
                .iter()
                .filter_map(|id| {
                    let p = self.pending.get_mut(id)?;
                    if let PendState::Forwarded { sent_at, .. } = &mut p.state {
                        *sent_at = now;
                    }
                    Some(p.cmd.clone())
                })
                .collect();
            for chunk in cmds.chunks(self.cfg.max_batch.max(1)) {
                self.send(
                    out,
                    site,
                    Message::Forward {
                        ballot,
                        cmds: chunk.to_vec(),
                    },
                );
            }
        }
    }

    // ----- sending -------------------------------------------------------

    fn send(&mut self, out: &mut Output, to: SiteId, msg: Message) {
        if to == self.cfg.me || to >= self.cfg.sites {
            return;
        }
        out.trace.push(trace_msg(Dir::Sent, to, &msg));
        out.send.push((to, msg));
    }

    fn broadcast(&mut self, out: &mut Output, msg: Message) {
        for site in 0..self.cfg.sites {
            if site != self.cfg.me {
                self.send(out, site, msg.clone());
            }
        }
    }
}

fn trace_msg(dir: Dir, peer: SiteId, msg: &Message) -> TraceEvent {
    TraceEvent::Message {
        dir,
        peer,
        kind: msg.kind(),
        slot: msg.slot(),
        ballot: msg.ballot(),
        value: msg.value_summary(),
    }
}

fn approx_cmd_bytes(cmd: &Command) -> usize {
    use crate::state::op::Op;
    let text = match &cmd.op {
        Op::Tweet { text, .. } => text.len(),
        _ => 0,
    };
    160 + text + cmd.op.user().len()
}

fn approx_value_bytes(value: &Value) -> usize {
    16 + value.cmds.iter().map(approx_cmd_bytes).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::op::Op;

    fn tweet(site: SiteId, seq: u64) -> Command {
        Command {
            id: OpId { site, boot: 7, seq },
            op: Op::Tweet {
                user: format!("u{site}"),
                text: format!("hello {seq}"),
                time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
            },
        }
    }

    /// Cores on a perfect network: every message is delivered in order, and
    /// time advances by 1 ms per round.
    struct Cluster {
        cores: Vec<Core>,
        queue: VecDeque<(SiteId, SiteId, Message)>,
        now: u64,
        committed: Vec<Vec<Value>>,
        completed: Vec<Vec<Completion>>,
    }

    impl Cluster {
        fn new(n: u32) -> Self {
            let cores = (0..n)
                .map(|i| {
                    Core::new(
                        CoreConfig::new(n, i, 100, 5000, i as u64),
                        AcceptorState::default(),
                        0,
                    )
                })
                .collect();
            Cluster {
                cores,
                queue: VecDeque::new(),
                now: 0,
                committed: vec![Vec::new(); n as usize],
                completed: vec![Vec::new(); n as usize],
            }
        }

        fn take(&mut self, site: SiteId, out: Output) {
            for (to, msg) in out.send {
                self.queue.push_back((site, to, msg));
            }
            self.committed[site as usize].extend(out.committed.into_iter().map(|(_, v)| v));
            self.completed[site as usize].extend(out.completed);
        }

        fn input(&mut self, site: SiteId, input: Input) {
            let out = self.cores[site as usize].step(self.now, input);
            self.take(site, out);
        }

        fn run(&mut self, ms: u64) {
            let end = self.now + ms;
            while self.now < end {
                while let Some((from, to, msg)) = self.queue.pop_front() {
                    self.input(to, Input::Message { from, msg });
                }
                self.now += 1;
                for i in 0..self.cores.len() as SiteId {
                    self.input(i, Input::Tick);
                }
            }
        }
    }

    #[test]
    fn a_single_site_decides_alone() {
        let mut c = Cluster::new(1);
        let out = c.cores[0].step(0, Input::Submit(tweet(0, 1)));
        assert_eq!(out.completed.len(), 1, "decided in the same step");
        assert_eq!(out.committed.len(), 1);
        assert!(out
            .persist
            .iter()
            .any(|r| matches!(r, Record::Promise { .. })));
        assert!(out
            .persist
            .iter()
            .any(|r| matches!(r, Record::Decide { slot: 0, .. })));
    }

    #[test]
    fn three_sites_decide_and_forward_to_the_leader() {
        let mut c = Cluster::new(3);
        c.input(1, Input::Submit(tweet(1, 1)));
        c.run(20);
        assert_eq!(c.completed[1].len(), 1);
        assert_eq!(c.cores[1].leader(), Some(1));
        for i in 0..3 {
            assert_eq!(c.committed[i].len(), 1, "site {i} learned slot 0");
        }
        // Site 2 hands its tweet to the leader instead of competing.
        c.input(2, Input::Submit(tweet(2, 1)));
        c.run(20);
        assert_eq!(c.completed[2].len(), 1);
        assert_eq!(c.completed[2][0].slot, 1);
        assert_eq!(c.cores[1].leader(), Some(1), "leadership kept");
    }

    #[test]
    fn promises_and_acks_are_persisted_in_the_same_output() {
        let mut core = Core::new(
            CoreConfig::new(3, 0, 100, 5000, 1),
            AcceptorState::default(),
            0,
        );
        let b = Ballot::new(4, 2);
        let out = core.step(
            0,
            Input::Message {
                from: 2,
                msg: Message::Prepare {
                    ballot: b,
                    from_slot: 0,
                },
            },
        );
        assert!(out.persist.contains(&Record::Promise { ballot: b }));
        assert!(matches!(out.send[0], (2, Message::Promise { .. })));
        let value = Value::batch(vec![tweet(2, 1)]);
        let out = core.step(
            1,
            Input::Message {
                from: 2,
                msg: Message::Accept {
                    ballot: b,
                    slot: 0,
                    value: value.clone(),
                },
            },
        );
        assert!(out.persist.contains(&Record::Accept {
            slot: 0,
            ballot: b,
            value
        }));
        assert!(matches!(out.send[0], (2, Message::Ack { .. })));
        // A lower ballot is refused with the higher one.
        let out = core.step(
            2,
            Input::Message {
                from: 1,
                msg: Message::Prepare {
                    ballot: Ballot::new(3, 1),
                    from_slot: 0,
                },
            },
        );
        assert!(out.persist.is_empty());
        assert!(matches!(out.send[0], (1, Message::Nack { ballot, .. }) if ballot == b));
    }

    #[test]
    fn competing_submitters_all_get_decided_once() {
        let mut c = Cluster::new(3);
        for i in 0..3 {
            for seq in 1..=3 {
                c.input(i, Input::Submit(tweet(i, seq)));
            }
        }
        c.run(3000);
        let mut seen = HashSet::new();
        for v in &c.committed[0] {
            for cmd in &v.cmds {
                assert!(seen.insert(cmd.id), "{} decided twice", cmd.id);
            }
        }
        assert_eq!(seen.len(), 9);
        for i in 0..3 {
            assert_eq!(c.completed[i].len(), 3, "site {i}");
            assert_eq!(c.committed[i], c.committed[0]);
        }
    }

    #[test]
    fn a_restarted_site_keeps_its_promise() {
        let mut core = Core::new(
            CoreConfig::new(3, 0, 100, 5000, 1),
            AcceptorState::default(),
            0,
        );
        let b = Ballot::new(4, 2);
        let out = core.step(
            0,
            Input::Message {
                from: 2,
                msg: Message::Prepare {
                    ballot: b,
                    from_slot: 0,
                },
            },
        );
        let mut disk = AcceptorState::default();
        for r in &out.persist {
            disk.apply(r);
        }
        let mut again = Core::new(CoreConfig::new(3, 0, 100, 5000, 1), disk, 0);
        let out = again.step(
            1,
            Input::Message {
                from: 1,
                msg: Message::Accept {
                    ballot: Ballot::new(3, 1),
                    slot: 0,
                    value: Value::noop(),
                },
            },
        );
        assert!(matches!(out.send[0], (1, Message::Nack { .. })));
    }
}
