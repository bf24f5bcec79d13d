//! Multi-Paxos for one site, as a pure state machine.
//!
//! The core does no I/O, reads no clock and spawns nothing. The runtime (or
//! the simulator) feeds it [`Input`]s with the current time in milliseconds
//! and carries out the [`Output`] of each step, in this order:
//!
//! 1. send `send_now` at once: what it announces is in no record, of this
//!    output or an earlier one (a leader's accepts and commits, forwarded
//!    submissions, requests for decided values), so it travels while the
//!    records are being synced; the runtime even sends it while it syncs
//!    the batch of earlier outputs, and carries out the rest after;
//! 2. make every record of `persist` durable (one sync for the whole batch,
//!    after the records of every earlier output); unless
//!    [`Output::durability`] is [`Durability::Lazy`] (decisions only): then
//!    only write them, in order, so that the next sync covers them, and go
//!    on at once (see "Decisions need no sync");
//! 3. archive `committed` and apply it to the replicated state, in order;
//! 4. send `send` and answer `serve` (promises and acks only leave once the
//!    state they announce is on disk: that is why step 2 comes first);
//!    a message of `send` addressed to this site itself is handed back to
//!    this core as an [`Input::Message`] from itself (see below);
//! 5. report `completed` and `failed` to whoever submitted them.
//!
//! Steps 3 and 5 need not wait for step 2's sync: a completion announces
//! only a decision, and a decision is durable at a quorum already (see
//! "Decisions need no sync"; the records of `persist` are this site's own
//! votes and promises, which no answer announces). The runtime answers
//! once the slots are archived, while the sync runs.
//!
//! # The leader's own vote (Ongaro's thesis, 10.2.1)
//!
//! A leader writes its own accept in parallel with replicating it: the
//! accept goes to the followers in `send_now`, so their syncs overlap the
//! leader's, and a commit costs one sync less in series. The leader's own
//! acceptor answers its accept like every acceptor, with an `Ack` that
//! leaves only after its sync: an `Ack` addressed to this site in `send`,
//! which the runtime hands back once `persist` is durable. So the leader's
//! vote counts only once its accepted record is durable, and a quorum of
//! acks is always a quorum of durable votes: a commit, sent in `send_now`,
//! never announces a choice that a crash could undo. (The candidate's own
//! promise counts at once, but it cannot matter before its sync: the
//! prepares that fetch the other promises leave after it.)
//!
//! # Decisions need no sync
//!
//! A `Record::Decide` announces nothing: it only remembers that a value is
//! chosen, and a value is chosen once a quorum of acceptors holds it in a
//! durable accepted record (every vote counted is durable: see above). A
//! crash that loses a `Decide` therefore loses nothing chosen: the site
//! restarts with its accepted (ballot, value) (an accepted record is only
//! dropped from the disk by a checkpoint, which first syncs the archive
//! of the slots it drops, and whose own acceptor state holds the decisions
//! beyond them), and learns the decision again: from its archive (the
//! runtime archives a decided slot before it answers, and a crash of the
//! process keeps what was written; a power loss may not), by catch-up, or
//! by a phase 1 that re-proposes the same value (a site whose accepted
//! value stays unlearned runs one itself: `has_work`). So an output whose
//! records are all decisions ([`Durability::Lazy`]) does not wait for a
//! sync: its slots are applied and its submissions answered at once, and
//! its records are written with the next batch that is synced (in WAL
//! order), or when the site stops. For the same reason an output with
//! other records too has its slots applied and its submissions answered
//! without waiting for their sync (steps 3 and 5 above). The applied
//! state holds decided values only, so it is never wrong: it is durable at
//! a checkpoint, after the archive of its slots is synced; what it holds
//! beyond (written, not synced) is skipped when the same slots are learned
//! again. Every other record (a promise, an accept, a change of
//! membership) is still durable before `send`: the sync of such a batch
//! also covers the decisions written before it, so a message sent after
//! it never announces a decision that the disk could lose.
//!
//! # Roles
//!
//! Every site is an acceptor and a learner. A site becomes the leader by
//! running phase 1 (`prepare`/`promise`) for *all* slots from its first
//! undecided slot on; once a quorum promised, it sends `accept` directly for
//! new slots (phase 2 only) until it sees a higher ballot. Nobody leads at
//! start: the first site with work runs the full Synod.
//!
//! # Where each part lives
//!
//! `impl Core` continues across the files of this module, one role each:
//!
//! - `mod.rs` (here): the types of the interface, the `Core` struct, its
//!   queries, `start`, `step` and the dispatch of messages;
//! - `timers.rs`: the named clocks and what each role does on a tick;
//! - `acceptor.rs`: promises and accepts (phase 1b, 2b);
//! - `election.rs`: running for leader and taking over (phase 1), stepping
//!   down, who leads; with "No livelock";
//! - `leader.rs`: the leader's phase 2, heartbeats, forwards it is handed;
//! - `learner.rs`: decided values, the decided prefix; with "Catch-up";
//! - `submitter.rs`: this site's submissions; with "Exactly once";
//! - `membership.rs`: a site that starts empty; with "Rejoin (SPEC 6)".

mod acceptor;
mod election;
mod leader;
mod learner;
mod membership;
mod submitter;
mod timers;

use self::acceptor::PromiseInfo;
use self::election::Candidacy;
use self::leader::{Leading, PastTerm};
use self::learner::FetchWhen;
use self::submitter::Pending;
use super::durable::AcceptorState;
use super::types::*;
use crate::state::op::{Command, OpId, Value};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

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
    /// Undecided slots in flight that a leader's peers expect at most: a
    /// leader fills in this many no-ops at once at most, and a follower
    /// takes a longer hole for lost commits, not late ones (the slots a new
    /// leader re-proposes after phase 1 are not bounded by it).
    pub window: usize,
    /// Slots of new submissions a leader keeps undecided at once (at most
    /// `window`). One: the submissions that come while a slot is decided
    /// wait and go together into the next slot, so a commit's messages and
    /// syncs serve more tweets (measured against 8, in turn, through real
    /// processes with `bench/etcd-compare.sh`: about 10 % more throughput
    /// at 16 and at 64 clients, a lower p99, the same at one client, where
    /// nothing waits; see the README). A leader far from its followers
    /// would want more: its throughput is `max_batch` per round trip.
    pub fresh_window: usize,
    /// Operations in one slot at most.
    pub max_batch: usize,
    /// Approximate bytes of operations in one slot at most.
    pub max_batch_bytes: usize,
    /// Slots asked for in one catch-up request at most (fewer when one
    /// answer carries fewer: see `fetch_span`).
    pub fetch_chunk: u64,
    /// Catch-up requests in flight at once: the next chunks are asked for
    /// while the answers to the first ones travel and are made durable.
    pub fetch_pipeline: usize,
    /// Approximate bytes of one catch-up answer at most.
    pub fetch_bytes: usize,
    /// Decided values kept in memory to answer catch-up requests (older
    /// ones are read from storage by the runtime).
    pub recent: usize,
    /// Approximate bytes of accepted values in one promise message; a
    /// promise that holds more is split into parts (a line is at most
    /// 1 MiB on the wire).
    pub promise_bytes: usize,
    /// Whether the trace carries every message and each value's summary.
    /// Off when nobody reads the trace (a headless site without a
    /// recording): building them is an allocation or more per message,
    /// a measurable share of a loaded site's CPU.
    pub trace_detail: bool,
    /// Deliberate defects, for the simulator to show that its checks catch
    /// them. Always off outside tests.
    #[doc(hidden)]
    pub defects: Defects,
}

/// Deliberate defects of the core (see [`CoreConfig::defects`]): each one
/// a real bug that was, or could be, made, kept switchable so that a test
/// proves the simulator finds it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Defects {
    /// A forwarded submission stays with the leader and ballot it was
    /// handed to until its deadline (the original design).
    pub sticky_forwards: bool,
    /// A submission whose slot was decided without it is not retried.
    pub never_retry_lost_slot: bool,
    /// A leader that cannot hear stays leader: no check-quorum, and
    /// followers whose forwards go unanswered keep trusting it.
    pub deaf_leader_stays: bool,
    /// A site that starts on an empty data dir votes at once.
    pub wiped_votes_at_once: bool,
    /// A site runs for leader without first hearing from a quorum.
    pub no_pre_vote: bool,
    /// A leader counts its own vote for its accept at once, before the
    /// record is durable (while its commits still leave at once).
    pub own_vote_before_sync: bool,
    /// A candidate merges parts of a promise from different answers (to
    /// its prepare and to the same prepare sent again), as long as their
    /// count matches.
    pub merge_parts_of_any_answer: bool,
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
            fresh_window: 1,
            max_batch: 256,
            max_batch_bytes: 64 * 1024,
            // An answer is cut at `fetch_bytes` anyway: the chunk only
            // bounds the slots of small values in one answer.
            fetch_chunk: 1024,
            fetch_pipeline: 8,
            // Half the 1 MiB wire limit (SPEC 7): the in-memory answer may
            // pass it by one value (at most `max_batch_bytes`).
            fetch_bytes: 512 * 1024,
            recent: 1024,
            promise_bytes: 256 * 1024,
            trace_detail: true,
            defects: Defects::default(),
        }
    }

    /// New slots a leader may open while others are undecided: at least
    /// one, at most `window`.
    pub fn fresh_slots(&self) -> usize {
        self.fresh_window.min(self.window).max(1)
    }

    pub fn quorum(&self) -> usize {
        self.sites as usize / 2 + 1
    }
}

/// What the core reacts to.
#[derive(Clone, Debug)]
pub enum Input {
    /// A message from another site; or from this site itself: the `Ack`
    /// its own acceptor gave its accept, handed back by the runtime once
    /// the accept is durable (see "The leader's own vote").
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
    /// Messages that may leave at once, while `persist` is being synced:
    /// they announce nothing that is in it (a leader's accepts and commits).
    pub send_now: Vec<(SiteId, Message)>,
    /// Messages that may leave only once `persist` (and every earlier
    /// output's) is durable: promises, acks, and all the others. One
    /// addressed to this site is handed back to this core.
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
            && self.send_now.is_empty()
            && self.send.is_empty()
            && self.committed.is_empty()
            && self.completed.is_empty()
            && self.failed.is_empty()
            && self.serve.is_empty()
            && self.trace.is_empty()
    }

    /// How `persist` must be made durable: [`Durability::Lazy`] when every
    /// record may be (decisions only: see "Decisions need no sync"), else
    /// [`Durability::BeforeSend`] (also with no records).
    pub fn durability(&self) -> Durability {
        let lazy = !self.persist.is_empty()
            && self
                .persist
                .iter()
                .all(|r| r.durability() == Durability::Lazy);
        if lazy {
            Durability::Lazy
        } else {
            Durability::BeforeSend
        }
    }

    /// Appends `other` after `self` (for a runtime that batches steps
    /// before one sync: the order of every list is kept).
    pub fn append(&mut self, mut other: Output) {
        self.persist.append(&mut other.persist);
        self.send_now.append(&mut other.send_now);
        self.send.append(&mut other.send);
        self.committed.append(&mut other.committed);
        self.completed.append(&mut other.completed);
        self.failed.append(&mut other.failed);
        self.serve.append(&mut other.serve);
        self.trace.append(&mut other.trace);
    }
}

/// What this site does about leadership.
#[derive(Clone, Debug)]
enum Role {
    Follower,
    /// Running for leader: phase 1 (`election.rs`).
    Preparing(Candidacy),
    /// Leading: phase 2 (`leader.rs`).
    Leading(Box<Leading>),
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

    // Acceptor (acceptor.rs).
    promised: Ballot,
    accepted: BTreeMap<Slot, (Ballot, Value)>,

    // Learner (learner.rs).
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
    /// The lowest slot accepted here and not known decided, and since when
    /// it is that (submitter.rs, `note_unlearned`).
    unlearned_since: Option<(Slot, u64)>,
    fetch_sent_at: Option<u64>,
    /// The catch-up requests in flight (learner.rs).
    fetch_pass: Option<learner::FetchPass>,
    /// Slots asked for in one catch-up request: what one answer can carry,
    /// from the bytes per slot of the last answer (learner.rs); at most
    /// `fetch_chunk`.
    fetch_span: u64,
    fetch_rotation: u32,
    next_hole_check: u64,

    // Proposer / leader (election.rs, leader.rs).
    max_seen: Ballot,
    role: Role,
    leader: Option<LeaderSeen>,
    /// A leader this site stopped trusting (its forwards went unanswered):
    /// its heartbeats no longer count.
    distrusted: Option<Ballot>,
    next_election_at: u64,
    /// Whether the random pause before this follower's election is drawn.
    election_armed: bool,
    past_terms: VecDeque<PastTerm>,
    /// When each peer was last heard from (any message): the pre-vote.
    heard_from: BTreeMap<SiteId, u64>,
    /// When this site last asked the peers it had not heard from to answer.
    pre_vote_sent_at: Option<u64>,

    // This site's submissions (submitter.rs).
    pending: BTreeMap<OpId, Pending>,
    /// Pending submissions by the slot they were assigned to.
    by_slot: BTreeMap<Slot, Vec<OpId>>,

    started: bool,

    // Membership (membership.rs).
    /// Whether this site votes (see "Rejoin").
    membership: Membership,
    /// Joining: the peers that answered the probe with no history, and when
    /// to probe again.
    empty_peers: BTreeSet<SiteId>,
    next_probe: u64,
    /// A random number of this life, echoed by the probe's answers.
    probe_nonce: u64,
    /// Probes first heard while this site held nothing (the last few).
    empty_when_probed: VecDeque<u64>,
    /// Joining: when enough peers said they hold nothing, and the peers
    /// that probed this site while it held nothing.
    born_at: Option<u64>,
    probed_me: BTreeSet<SiteId>,
    /// Rejoining: the first fresh slot of this site's own election, once
    /// its phase 1 finished; it votes again when the prefix reaches it.
    rejoin_until: Option<Slot>,
    /// Rejoining: the lowest ballot it may accept: the highest rejoin
    /// ballot it promised (its own or another rejoining site's).
    rejoin_floor: Option<Ballot>,
}

impl Core {
    /// A core restored from durable state: `acceptor` as replayed from
    /// storage, `applied` the number of slots already folded into the
    /// replicated state the runtime loaded (its checkpoint).
    pub fn new(cfg: CoreConfig, mut acceptor: AcceptorState, applied: Slot) -> Self {
        let membership = if acceptor.rejoining {
            Membership::Rejoining
        } else if acceptor.is_empty()
            && applied == 0
            && cfg.sites > 1
            && !cfg.defects.wiped_votes_at_once
        {
            Membership::Joining
        } else {
            Membership::Voting
        };
        acceptor.forget_below(applied);
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let probe_nonce = rng.random::<u64>().max(1);
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
            unlearned_since: None,
            fetch_sent_at: None,
            fetch_pass: None,
            fetch_span: cfg.fetch_chunk,
            fetch_rotation: cfg.me,
            next_hole_check: 0,
            max_seen: promised,
            role: Role::Follower,
            leader: None,
            distrusted: None,
            next_election_at: 0,
            election_armed: false,
            past_terms: VecDeque::new(),
            pending: BTreeMap::new(),
            by_slot: BTreeMap::new(),
            started: false,
            membership,
            empty_peers: BTreeSet::new(),
            next_probe: 0,
            probe_nonce,
            empty_when_probed: VecDeque::new(),
            born_at: None,
            probed_me: BTreeSet::new(),
            rejoin_until: None,
            rejoin_floor: None,
            heard_from: BTreeMap::new(),
            pre_vote_sent_at: None,
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

    /// Sets [`CoreConfig::trace_detail`] (the runtime knows only once the
    /// core is recovered whether anybody reads its trace).
    pub fn set_trace_detail(&mut self, on: bool) {
        self.cfg.trace_detail = on;
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

    /// Whether this site votes, joins or rejoins (see "Rejoin").
    pub fn membership(&self) -> Membership {
        self.membership
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
            rejoining: self.membership == Membership::Rejoining,
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
        if self.membership != Membership::Voting {
            out.trace.push(TraceEvent::Membership(self.membership));
        }
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
            Input::Message { from, msg } if from == self.cfg.me => {
                // Only the own acceptor's ack comes back (after its sync).
                if let Message::Ack { ballot, slot } = msg {
                    self.on_ack(&mut out, from, ballot, slot);
                }
            }
            Input::Message { from, msg } => {
                if from < self.cfg.sites {
                    self.heard_from.insert(from, now);
                    if self.cfg.trace_detail {
                        out.trace.push(trace_msg(Dir::Received, from, &msg));
                    }
                    self.on_message(&mut out, from, msg);
                }
            }
            Input::Tick => self.on_tick(&mut out),
            Input::Submit(cmd) => self.on_submit(&mut out, cmd),
        }
        self.dispatch_pending(&mut out);
        self.maybe_fetch(&mut out, FetchWhen::Stalled);
        self.check_rejoined(&mut out);
        out
    }

    // ----- messages ------------------------------------------------------

    fn on_message(&mut self, out: &mut Output, from: SiteId, msg: Message) {
        if let Some(b) = msg.ballot() {
            self.max_seen = self.max_seen.max(b);
        }
        if self.membership == Membership::Joining {
            self.joining_hears(out, from, &msg);
        }
        match msg {
            Message::Prepare {
                ballot,
                from_slot,
                rejoin,
            } => self.on_prepare(out, from, ballot, from_slot, rejoin),
            Message::Promise {
                ballot,
                from_slot: _,
                decided_upto,
                accepted,
                decided_beyond,
                part,
                parts,
                answer,
            } => {
                let info = PromiseInfo {
                    decided_upto,
                    accepted,
                    decided_beyond,
                };
                self.on_promise(out, from, ballot, info, (part, parts, answer))
            }
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
            } => self.on_heartbeat(out, from, ballot, decided_upto, max_decided),
            Message::HeartbeatAck { ballot } => self.heard_follower(from, ballot),
            Message::Forward { ballot, cmds } => self.on_forward(out, from, ballot, cmds),
            Message::Assigned { ballot, slot, ids } => self.on_assigned(ballot, slot, ids),
            Message::Rejected { ballot, ids } => self.on_rejected(ballot, ids),
            Message::Fetch { from: lo, to: hi } => self.on_fetch(out, from, lo, hi),
            Message::Probe { nonce } => self.on_probe(out, from, nonce),
            Message::Decided {
                decided_upto,
                entries,
                ..
            } => self.on_decided(out, from, decided_upto, entries),
        }
    }

    // ----- sending -------------------------------------------------------

    fn send(&mut self, out: &mut Output, to: SiteId, msg: Message) {
        self.send_to(out, to, msg, false);
    }

    /// Sends `msg` to `to` at once, before this output's records are
    /// durable, and even before those of earlier outputs (the runtime sends
    /// it while it syncs a batch): only for what announces nothing of this
    /// site's durable state, such as a submission forwarded to the leader
    /// or a request for decided values.
    fn send_free(&mut self, out: &mut Output, to: SiteId, msg: Message) {
        self.send_to(out, to, msg, true);
    }

    /// `msg` to another site (traced when someone reads the trace), in
    /// `send_now` (`at_once`) or in `send`.
    fn send_to(&mut self, out: &mut Output, to: SiteId, msg: Message, at_once: bool) {
        if to == self.cfg.me || to >= self.cfg.sites {
            return;
        }
        if self.cfg.trace_detail {
            out.trace.push(trace_msg(Dir::Sent, to, &msg));
        }
        let list = if at_once {
            &mut out.send_now
        } else {
            &mut out.send
        };
        list.push((to, msg));
    }

    /// Sends `msg` to every other site at once, before this output's
    /// records are durable: only for what announces none of them.
    fn broadcast_now(&mut self, out: &mut Output, msg: Message) {
        for to in 0..self.cfg.sites {
            if to != self.cfg.me {
                if self.cfg.trace_detail {
                    out.trace.push(trace_msg(Dir::Sent, to, &msg));
                }
                out.send_now.push((to, msg.clone()));
            }
        }
    }

    /// Refuses a message of a lower ballot than this site promised, with
    /// that promise (so the sender steps down at once).
    fn nack(&mut self, out: &mut Output, to: SiteId, slot: Option<Slot>) {
        let ballot = self.promised;
        self.send(out, to, Message::Nack { ballot, slot });
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

/// A value's summary for the trace, when the trace carries them.
fn summary(cfg: &CoreConfig, value: &Value) -> String {
    if cfg.trace_detail {
        value.summary()
    } else {
        String::new()
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
mod tests;
