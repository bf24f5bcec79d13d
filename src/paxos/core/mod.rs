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
//! Every submission has a unique [`OpId`]. Two rules together make each
//! one take effect at most once, and every one whose site keeps a leader
//! in reach take effect:
//!
//! 1. **Applying skips copies.** The replicated state applies an operation
//!    the first time the log holds it and skips every later copy
//!    ([`crate::state::AppliedOps`]), the same on every site. So an
//!    operation that reaches two slots is applied once, in the first, and
//!    the answer of its submission names that first slot (its site learns
//!    the log in order and completes the submission there).
//! 2. **A submission follows the leader this site trusts.** The submitter
//!    tracks each pending operation as
//!    - `Unsent`: with no leader yet: it is handed to the next one (or, on
//!      the leader itself, queued);
//!    - `Queued`: in this site's own leader queue, not yet in a slot;
//!    - `Forwarded(leader, ballot)`: handed to the leader of `ballot`, and
//!      re-sent to it every `retry_ms` while this site trusts that leader
//!      and ballot. It goes back to `Unsent` (to be handed to the next
//!      leader) as soon as it does not: a higher ballot is heard, the leader
//!      falls silent, the leader answers `rejected` (it never assigned the
//!      operation in that term and never will), or the leader leaves our
//!      forwards unanswered for `forward_patience_ms` (it does not hear us);
//!    - `Assigned(slot)`: the leader put it in `slot`; when `slot` is
//!      decided without it, it lost the slot and goes back to `Unsent`.
//!
//! Why rule 1 is needed: an operation handed to a leader that then lost its
//! term may sit, unknown to its submitter, in a slot that a few acceptors
//! accepted in that term; a later leader may recover that accept into the
//! log at any time, even after the operation was handed on and decided
//! elsewhere. No local knowledge of the submitter can rule that out (the
//! acceptors that hold the stale accept may be unreachable), so instead of
//! letting the operation wait until it fails (the original design: a 503
//! with a majority up), it is handed on and the copy is skipped. A leader
//! also forgets the assignments of decided slots for the same reason: a
//! late forward of one only makes a copy.
//!
//! Within one term a leader assigns an operation to one slot at most
//! (`assigned`), and recovery never moves a value to another slot, so
//! copies only come from leader changes and stay rare.
//!
//! # Rejoin (SPEC 6)
//!
//! An acceptor that forgot its promises and accepts breaks agreement, so a
//! site that starts on an empty data dir does not vote at once:
//!
//! - **Joining**: it asks every peer whether it holds any history (a
//!   probe: `fetch` of an empty range, answered with the peer's decided
//!   prefix and promise). Once `n - q + 1` peers answered that they hold
//!   none (with `q` the quorum), every quorum that could have formed
//!   without this site's knowledge contains one of them, so nothing was
//!   ever promised or chosen: the cluster is new and the site votes. As
//!   soon as any message shows history, it is **Rejoining** (made durable
//!   first, so a restart does not make it forget that it rejoins).
//! - **Rejoining**: it learns (commits, catch-up) and forwards its users'
//!   submissions, but answers no `prepare` and no `accept`. It runs an
//!   election of its own with a fresh ballot `F` that needs, besides a
//!   quorum in all, the promises of `n - q + 1` *other* sites (its own
//!   report misses what it forgot). Those meet every quorum that chose a
//!   value in a slot in a site other than this one (a quorum less this
//!   site has `q - 1` members), so `F`'s phase 1 recovers every
//!   value that may have been chosen, up to slot `N` (its first fresh
//!   slot), and no ballot below `F` can be chosen afterwards. Once every
//!   slot below `N` is decided here (by this site's phase 2 or any later
//!   leader's), the votes it forgot cannot matter any more: above `N`
//!   nothing was chosen before `F`, and its promise is `F`. It votes again
//!   (made durable). This is Paxos Made Live's rule (5.1): it waits for a
//!   whole instance that began after its return, its own election.
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
    /// Approximate bytes of accepted values in one promise message; a
    /// promise that holds more is split into parts (a line is at most
    /// 1 MiB on the wire).
    pub promise_bytes: usize,
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
            promise_bytes: 256 * 1024,
            defects: Defects::default(),
        }
    }

    pub fn quorum(&self) -> usize {
        self.sites as usize / 2 + 1
    }
}

/// Heartbeats a leader sends per `timeout_ms`: several, so that one lost
/// heartbeat is not taken for a failure.
const HEARTBEATS_PER_TIMEOUT: u64 = 4;
/// Heartbeats a follower misses before it suspects its leader.
const MISSED_HEARTBEATS: u64 = 4;

/// Every clock of the core, named, with why it has that length. All derive
/// from `timeout_ms`, the time a peer may take to answer (SPEC 3).
impl CoreConfig {
    /// How often a leader tells the others it is alive.
    fn heartbeat_ms(&self) -> u64 {
        (self.timeout_ms / HEARTBEATS_PER_TIMEOUT).max(1)
    }

    /// A leader not heard from for this long is presumed gone: as many
    /// heartbeats as make one `timeout_ms`.
    fn leader_timeout_ms(&self) -> u64 {
        self.heartbeat_ms() * MISSED_HEARTBEATS
    }

    /// check-quorum: a leader that has heard no quorum for this long steps
    /// down. One heartbeat more than followers wait, so that a leader cut
    /// off from its followers' answers gives way about when they start to
    /// look for another.
    fn check_quorum_ms(&self) -> u64 {
        self.leader_timeout_ms() + self.heartbeat_ms()
    }

    /// A follower with work and no leader runs for leader after a random
    /// pause up to this long, so that the followers of a dead leader do not
    /// all run at once (one round trip is far shorter).
    fn election_jitter_ms(&self) -> u64 {
        self.timeout_ms / 2
    }

    /// A candidate without a quorum of promises after this long gives up
    /// for now (its prepares are re-sent every `timeout_ms`: three tries).
    fn candidacy_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// After a lost election, the pause before the next one is drawn from
    /// this range: long enough for the winner's first heartbeat to arrive.
    fn backoff_range_ms(&self) -> std::ops::RangeInclusive<u64> {
        self.timeout_ms..=3 * self.timeout_ms
    }

    /// How often a forwarded submission is re-sent to its leader: two
    /// timeouts, one for the forward and one for the leader's queue.
    fn retry_ms(&self) -> u64 {
        self.timeout_ms * 2
    }

    /// A follower whose forwards got no answer for this long (two re-sends)
    /// stops trusting the leader: it may hear the leader, but the leader
    /// does not hear it.
    fn forward_patience_ms(&self) -> u64 {
        2 * self.retry_ms()
    }

    /// A submission in an assigned slot that is not decided after this long
    /// makes its site look for the slot (catch-up); after twice this long,
    /// it counts as work that needs a leader.
    fn assigned_patience_ms(&self) -> u64 {
        self.retry_ms()
    }

    /// A hole below a follower's known decided slots that stays this long
    /// (three fetches' worth) needs an election to be filled.
    fn follower_hole_ms(&self) -> u64 {
        3 * self.timeout_ms
    }

    /// A hole that stays this long under a leader, with no peer delivering
    /// it, makes the leader run phase 1 again to recover it (one timeout
    /// more than a follower waits, so the followers' fetches go first).
    fn leader_hole_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// How long a past term's assignments are remembered, to answer late
    /// forwards truthfully: longer than any submission waits.
    fn past_term_memory_ms(&self) -> u64 {
        4 * self.submit_timeout_ms.max(self.timeout_ms)
    }

    /// A site of a new cluster waits at most this long for its peers'
    /// probes before it votes (see `probe_if_joining`).
    fn birth_wait_ms(&self) -> u64 {
        4 * self.timeout_ms
    }

    /// How often a site with no leader asks a peer how far the log goes.
    fn hole_probe_ms(&self) -> u64 {
        2 * self.timeout_ms
    }

    /// A site that knows of decided slots beyond its prefix and made no
    /// progress for this long asks a peer for them (a commit may be late
    /// rather than lost: give it half a timeout); an unanswered fetch is
    /// asked again after a whole timeout.
    fn fetch_after_ms(&self) -> u64 {
        self.timeout_ms / 2
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
        /// When it was first handed to this leader and ballot.
        since: u64,
        /// When it was last (re-)sent.
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
    /// The submissions assigned in this term to slots not yet decided
    /// here, and their slot (see "Exactly once" for why forgetting the
    /// decided ones is safe).
    assigned: HashMap<OpId, Slot>,
    last_heartbeat: u64,
    /// When the term began, and when each follower was last heard in it
    /// (an ack or a heartbeat ack): check-quorum.
    since: u64,
    heard: BTreeMap<SiteId, u64>,
}

#[derive(Clone, Debug)]
enum Role {
    Follower,
    Preparing {
        ballot: Ballot,
        from_slot: Slot,
        promises: BTreeMap<SiteId, PromiseInfo>,
        /// Promises that travel in parts, until every part is here.
        partial: BTreeMap<SiteId, Vec<Option<PromiseInfo>>>,
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
    /// A leader this site stopped trusting (its forwards went unanswered):
    /// its heartbeats no longer count.
    distrusted: Option<Ballot>,
    next_election_at: u64,
    /// Whether the random pause before this follower's election is drawn.
    election_armed: bool,
    past_terms: VecDeque<PastTerm>,

    // This site's submissions.
    pending: HashMap<OpId, Pending>,
    /// Pending submissions by the slot they were assigned to.
    by_slot: HashMap<Slot, Vec<OpId>>,

    started: bool,

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
    /// When each peer was last heard from (any message): the pre-vote.
    heard_from: BTreeMap<SiteId, u64>,
    /// When this site last asked the peers it had not heard from to answer.
    pre_vote_sent_at: Option<u64>,
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
            fetch_sent_at: None,
            fetch_rotation: cfg.me,
            next_hole_check: 0,
            max_seen: promised,
            role: Role::Follower,
            leader: None,
            distrusted: None,
            next_election_at: 0,
            election_armed: false,
            past_terms: VecDeque::new(),
            pending: HashMap::new(),
            by_slot: HashMap::new(),
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
            Input::Message { from, msg } => {
                if from != self.cfg.me && from < self.cfg.sites {
                    self.heard_from.insert(from, now);
                    out.trace.push(trace_msg(Dir::Received, from, &msg));
                    self.on_message(&mut out, from, msg);
                }
            }
            Input::Tick => self.on_tick(&mut out),
            Input::Submit(cmd) => self.on_submit(&mut out, cmd),
        }
        self.dispatch_pending(&mut out);
        self.maybe_fetch(&mut out, false);
        self.check_rejoined(&mut out);
        out
    }

    // ----- membership (see "Rejoin") -------------------------------------

    /// Peers that must say they hold no history before a site that started
    /// empty votes: enough that every quorum holds one of them.
    fn empty_peers_needed(&self) -> usize {
        self.cfg.sites as usize - self.cfg.quorum() + 1
    }

    /// A joining site reads each message for signs of history.
    fn joining_hears(&mut self, out: &mut Output, from: SiteId, msg: &Message) {
        let history = match msg {
            Message::Decided {
                decided_upto,
                entries,
                promised,
                probe,
            } => {
                let decided = *decided_upto > 0 || !entries.is_empty();
                // Only an answer to this life's probe speaks of promises.
                if *probe != self.probe_nonce {
                    decided
                } else if decided || *promised != Ballot::ZERO {
                    true
                } else {
                    self.empty_peers.insert(from);
                    if self.empty_peers.len() >= self.empty_peers_needed() {
                        self.born_at.get_or_insert(self.now);
                    }
                    false
                }
            }
            // Someone running for leader may be as new as we are; a forward
            // says nothing about the log; a fetch is answered as it is.
            Message::Prepare { .. }
            | Message::Forward { .. }
            | Message::Fetch { .. }
            | Message::Probe { .. } => false,
            other => other.ballot().is_some_and(|b| b > Ballot::ZERO),
        };
        if history {
            self.set_membership(out, Membership::Rejoining);
        }
    }

    fn set_membership(&mut self, out: &mut Output, m: Membership) {
        if self.membership == m {
            return;
        }
        match m {
            Membership::Rejoining => out.persist.push(Record::Rejoining),
            Membership::Voting if self.membership == Membership::Rejoining => {
                out.persist.push(Record::Voting)
            }
            _ => {}
        }
        self.membership = m;
        self.rejoin_until = None;
        out.trace.push(TraceEvent::Membership(m));
    }

    /// A rejoining site votes again once every slot its own election
    /// recovered is decided here.
    fn check_rejoined(&mut self, out: &mut Output) {
        if self.membership == Membership::Rejoining
            && self.rejoin_until.is_some_and(|n| self.prefix >= n)
        {
            self.set_membership(out, Membership::Voting);
        }
    }

    /// Answers a joining site's probe with what this site held when it
    /// first heard that probe (that life of the asker): a site that held
    /// nothing then was in no quorum before the asker lost its disk, even
    /// if it voted since (for instance because the cluster is new and it
    /// decided so first).
    fn on_probe(&mut self, out: &mut Output, from: SiteId, nonce: u64) {
        let holds_nothing = self.prefix == 0
            && self.promised == Ballot::ZERO
            && self.accepted.is_empty()
            && self.decided.is_empty();
        if holds_nothing {
            self.probed_me.insert(from);
        }
        if holds_nothing && !self.empty_when_probed.contains(&nonce) {
            self.empty_when_probed.push_back(nonce);
            if self.empty_when_probed.len() > 4 * self.cfg.sites as usize {
                self.empty_when_probed.pop_front();
            }
        }
        let answer = if self.empty_when_probed.contains(&nonce) {
            Message::Decided {
                decided_upto: 0,
                entries: Vec::new(),
                promised: Ballot::ZERO,
                probe: nonce,
            }
        } else {
            Message::Decided {
                decided_upto: self.prefix,
                entries: Vec::new(),
                promised: self.promised,
                probe: nonce,
            }
        };
        self.send(out, from, answer);
    }

    /// Sends the joining probe to every peer, every `timeout_ms`; once the
    /// cluster is known to be new, votes.
    ///
    /// The cluster is new, but this site does not vote at once: the peers
    /// that are joining too would take its first promise for history (and
    /// rejoin, which needs voters). It waits until each peer that answered
    /// "nothing" has probed it while it still holds nothing (so their
    /// probes are answered "nothing" for good), or for `birth_wait_ms`.
    fn probe_if_joining(&mut self, out: &mut Output) {
        if self.membership != Membership::Joining {
            return;
        }
        if let Some(born) = self.born_at {
            let all_probed = self.empty_peers.is_subset(&self.probed_me);
            if all_probed || self.now >= born + self.cfg.birth_wait_ms() {
                self.set_membership(out, Membership::Voting);
                return;
            }
        }
        if self.now < self.next_probe {
            return;
        }
        self.next_probe = self.now + self.cfg.timeout_ms;
        let me = self.cfg.me;
        for peer in (0..self.cfg.sites).filter(|&p| p != me) {
            if !self.empty_peers.contains(&peer) {
                let nonce = self.probe_nonce;
                self.send(out, peer, Message::Probe { nonce });
            }
        }
    }

    /// Whether `count` promises (this site's own among them) finish phase 1.
    /// A rejoining site's own report misses what it forgot, so it also
    /// needs `n - q + 1` promises of others: enough that they meet every
    /// quorum that may have chosen a value with its forgotten vote.
    fn enough_promises(&self, count: usize) -> bool {
        let others = count.saturating_sub(1);
        count >= self.cfg.quorum()
            && (self.membership == Membership::Voting || others >= self.empty_peers_needed())
    }

    /// Pre-vote: a site runs for leader only when it has heard a quorum
    /// (itself included) within `leader_timeout_ms`; otherwise it asks the
    /// peers it has not heard from (a probe for the log's end, which every
    /// site answers) and waits. A site that can send but not hear never
    /// runs: its prepares would depose every leader, again and again, with
    /// elections it cannot finish.
    fn pre_vote(&mut self, out: &mut Output) -> bool {
        if self.cfg.defects.no_pre_vote {
            return true;
        }
        let now = self.now;
        let window = self.cfg.leader_timeout_ms();
        let heard = self
            .heard_from
            .values()
            .filter(|&&t| now.saturating_sub(t) < window)
            .count();
        if heard + 1 >= self.cfg.quorum() {
            return true;
        }
        let due = self
            .pre_vote_sent_at
            .is_none_or(|at| now.saturating_sub(at) >= self.cfg.timeout_ms / 2);
        if due {
            self.pre_vote_sent_at = Some(now);
            let at = self.prefix;
            for peer in 0..self.cfg.sites {
                let recent = self
                    .heard_from
                    .get(&peer)
                    .is_some_and(|&t| now.saturating_sub(t) < window / 2);
                if peer != self.cfg.me && !recent {
                    self.send(out, peer, Message::Fetch { from: at, to: at });
                }
            }
        }
        false
    }

    /// Whether this site may run for leader: a voter, or a rejoining site
    /// (whose own promise does not count).
    fn may_run(&self) -> bool {
        self.membership != Membership::Joining
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
            } => {
                let info = PromiseInfo {
                    decided_upto,
                    accepted,
                    decided_beyond,
                };
                self.on_promise(out, from, ballot, info, (part, parts))
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
                self.note_decided(decided_upto.checked_sub(1));
                self.note_decided(max_decided);
                if self.distrusted == Some(ballot) {
                    return;
                }
                self.heard_leader(out, ballot);
                if self.membership == Membership::Voting {
                    self.send(out, from, Message::HeartbeatAck { ballot });
                }
            }
            Message::HeartbeatAck { ballot } => self.heard_follower(from, ballot),
            Message::Forward { ballot, cmds } => self.on_forward(out, from, ballot, cmds),
            Message::Assigned { ballot, slot, ids } => {
                self.answered_by(ballot);
                for id in ids {
                    self.on_assigned(id, ballot, slot);
                }
            }
            Message::Rejected { ballot, ids } => {
                self.answered_by(ballot);
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
            Message::Probe { nonce } => self.on_probe(out, from, nonce),
            Message::Decided {
                decided_upto,
                entries,
                ..
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

    fn on_prepare(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        from_slot: Slot,
        rejoin: bool,
    ) {
        // Not a voter (yet): no promise, and no nack either; but a site
        // that rejoins answers another rejoin (see "Rejoin").
        match self.membership {
            Membership::Voting => {}
            Membership::Rejoining if rejoin && ballot >= self.promised => {
                self.rejoin_floor = Some(self.rejoin_floor.map_or(ballot, |f| f.max(ballot)));
            }
            _ => return,
        }
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
        for msg in promise_parts(ballot, from_slot, promise, self.cfg.promise_bytes) {
            self.send(out, from, msg);
        }
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

    fn on_promise(
        &mut self,
        out: &mut Output,
        from: SiteId,
        ballot: Ballot,
        info: PromiseInfo,
        (part, parts): (u32, u32),
    ) {
        let Role::Preparing {
            ballot: mine,
            promises,
            partial,
            ..
        } = &mut self.role
        else {
            return;
        };
        if *mine != ballot
            || promises.contains_key(&from)
            || part >= parts
            || parts > MAX_PROMISE_PARTS
        {
            return;
        }
        let info = if parts == 1 {
            info
        } else {
            // A promise in parts counts once every part is here.
            let slots = partial
                .entry(from)
                .or_insert_with(|| vec![None; parts as usize]);
            if slots.len() != parts as usize {
                return;
            }
            slots[part as usize] = Some(info);
            if slots.iter().any(Option::is_none) {
                return;
            }
            let Some(slots) = partial.remove(&from) else {
                return;
            };
            merge_parts(slots.into_iter().flatten())
        };
        promises.insert(from, info);
        let count = promises.len();
        if self.enough_promises(count) {
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
        let may_accept = match self.membership {
            Membership::Voting => true,
            Membership::Rejoining => self.rejoin_floor.is_some_and(|f| ballot >= f),
            Membership::Joining => false,
        };
        if !may_accept {
            // A learner still hears who leads; it does not accept.
            self.heard_leader(out, ballot);
            return;
        }
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
        l.heard.insert(from, self.now);
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
            // A probe: the asker only wants to know how far our log goes
            // (and, when it starts empty, whether we hold any history).
            self.send(
                out,
                from,
                Message::Decided {
                    decided_upto: self.prefix,
                    entries: Vec::new(),
                    promised: self.promised,
                    probe: 0,
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
                    promised: self.promised,
                    probe: 0,
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

    /// A follower answered the leader of `ballot` (check-quorum).
    fn heard_follower(&mut self, from: SiteId, ballot: Ballot) {
        if let Role::Leading(l) = &mut self.role {
            if l.ballot == ballot {
                l.heard.insert(from, self.now);
            }
        }
    }

    /// The leader of `ballot` answered a forward: it hears this site.
    fn answered_by(&mut self, ballot: Ballot) {
        if self.distrusted == Some(ballot) {
            self.distrusted = None;
        }
        for p in self.pending.values_mut() {
            if let PendState::Forwarded {
                ballot: b, since, ..
            } = &mut p.state
            {
                if *b == ballot {
                    *since = self.now;
                }
            }
        }
    }

    /// A message of `ballot` shows its site acting as leader.
    fn heard_leader(&mut self, out: &mut Output, ballot: Ballot) {
        if ballot.site == self.cfg.me
            || ballot < self.promised
            || self.distrusted.is_some_and(|d| ballot <= d)
        {
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
        self.rng.random_range(self.cfg.backoff_range_ms())
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
            partial: BTreeMap::new(),
            started: self.now,
            sent_at: self.now,
        };
        self.election_armed = false;
        out.trace.push(TraceEvent::Election { ballot, from_slot });
        let rejoin = self.membership == Membership::Rejoining;
        if rejoin {
            self.rejoin_floor = Some(self.rejoin_floor.map_or(ballot, |f| f.max(ballot)));
        }
        self.broadcast(
            out,
            Message::Prepare {
                ballot,
                from_slot,
                rejoin,
            },
        );
        if self.enough_promises(1) {
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
        let heard: BTreeMap<SiteId, u64> = promises
            .keys()
            .filter(|&&s| s != self.cfg.me)
            .map(|&s| (s, self.now))
            .collect();
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
        if self.membership == Membership::Rejoining && self.rejoin_until.is_none() {
            self.rejoin_until = Some(next_slot);
        }
        self.role = Role::Leading(Box::new(Leading {
            ballot,
            next_slot,
            inflight: BTreeMap::new(),
            queue: VecDeque::new(),
            queued: HashSet::new(),
            assigned: HashMap::new(),
            last_heartbeat: self.now,
            since: self.now,
            heard,
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
                        && !self.cfg.defects.never_retry_lost_slot
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
                    if self.now.saturating_sub(since) >= self.cfg.assigned_patience_ms() =>
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
                now_please
                    || self.now.saturating_sub(self.last_progress) >= self.cfg.fetch_after_ms()
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
        self.probe_if_joining(out);
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
        self.past_terms
            .retain(|t| now.saturating_sub(t.ended_at) <= self.cfg.past_term_memory_ms());

        match self.role_kind() {
            RoleKind::Leading => self.leader_tick(out),
            RoleKind::Preparing => self.candidate_tick(out),
            RoleKind::Follower => self.follower_tick(out),
        }
        if now >= self.next_hole_check {
            self.next_hole_check = now + self.cfg.hole_probe_ms();
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

    fn follower_tick(&mut self, out: &mut Output) {
        let now = self.now;
        // A leader that never answers our forwards does not hear us, even if
        // we hear it: stop trusting it, so that our work finds a leader.
        let patience = self.cfg.forward_patience_ms();
        let unheard = self.pending.values().find_map(|p| match p.state {
            PendState::Forwarded { ballot, since, .. }
                if now.saturating_sub(since) >= patience
                    && self.leader.is_some_and(|l| l.ballot == ballot) =>
            {
                Some(ballot)
            }
            _ => None,
        });
        if let Some(ballot) = unheard.filter(|_| !self.cfg.defects.deaf_leader_stays) {
            self.distrusted = Some(ballot);
            self.leader = None;
            out.trace.push(TraceEvent::Leader {
                leader: None,
                ballot,
            });
            self.reroute_forwarded();
        }
        // A rejoining site runs even under a live leader: its own election
        // is what makes it safe to vote again.
        let rejoin = self.membership == Membership::Rejoining && self.rejoin_until.is_none();
        if !self.may_run() || !(rejoin || self.has_work() && self.leader().is_none()) {
            self.election_armed = false;
            return;
        }
        if !self.election_armed {
            self.election_armed = true;
            let jitter = self.rng.random_range(0..=self.cfg.election_jitter_ms());
            self.next_election_at = self.next_election_at.max(now + jitter);
        }
        if now >= self.next_election_at && self.pre_vote(out) {
            self.start_election(out);
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
        // Assignments of decided slots are forgotten: their submitters learn
        // the slot from the log (and a late copy is skipped when applied).
        let prefix = self.prefix;
        if l.assigned.len() > 2 * self.cfg.window * self.cfg.max_batch {
            l.assigned.retain(|_, slot| *slot >= prefix);
        }
        // check-quorum: a leader that hears no quorum any more steps down,
        // so that a leader that can send but not hear is replaced.
        let window = self.cfg.check_quorum_ms();
        let heard = 1 + l
            .heard
            .values()
            .filter(|&&t| now.saturating_sub(t) < window)
            .count();
        if now.saturating_sub(l.since) >= window
            && heard < self.cfg.quorum()
            && !self.cfg.defects.deaf_leader_stays
        {
            self.step_down(out);
            return;
        }
        let hole_stuck = !l.inflight.contains_key(&self.prefix)
            && self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && now.saturating_sub(self.last_progress) >= self.cfg.leader_hole_ms();
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
            ..
        } = &mut self.role
        else {
            return;
        };
        if now.saturating_sub(*started) >= self.cfg.candidacy_ms() {
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
            let rejoin = self.membership == Membership::Rejoining;
            self.send(
                out,
                site,
                Message::Prepare {
                    ballot,
                    from_slot,
                    rejoin,
                },
            );
        }
    }

    /// Whether this site needs a leader: a submission waits for one, or a
    /// hole stays unfilled.
    fn has_work(&self) -> bool {
        let unsent = self.pending.values().any(|p| p.state == PendState::Unsent);
        let stalled_hole = self.max_known_decided.is_some_and(|m| m >= self.prefix)
            && self.now.saturating_sub(self.last_progress) >= self.cfg.follower_hole_ms();
        let stuck = self.pending.values().any(|p| match p.state {
            PendState::Assigned { since, .. } => {
                self.now.saturating_sub(since) >= 2 * self.cfg.assigned_patience_ms()
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
            && self.may_run()
            && matches!(self.role, Role::Follower)
            && self.now >= self.next_election_at
            && self.pre_vote(out)
        {
            self.start_election(out);
        }
    }

    /// The ballot of the leader this site trusts now (itself included).
    fn trusted_ballot(&self) -> Option<Ballot> {
        self.leader().and(self.leader_ballot())
    }

    /// A submission stays with the leader it was handed to only while this
    /// site trusts that leader and ballot; otherwise it goes back to be
    /// handed to the next one (see "Exactly once").
    fn reroute_forwarded(&mut self) {
        if self.cfg.defects.sticky_forwards {
            return;
        }
        let trusted = self.trusted_ballot();
        for p in self.pending.values_mut() {
            if let PendState::Forwarded { ballot, .. } = p.state {
                if Some(ballot) != trusted {
                    p.state = PendState::Unsent;
                }
            }
        }
    }

    /// Hands unsent submissions to the leader (or to ourselves when we lead)
    /// and re-sends forwards that were not answered.
    fn dispatch_pending(&mut self, out: &mut Output) {
        if self.pending.is_empty() {
            return;
        }
        self.reroute_forwarded();
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
                    ..
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
                                since: now,
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

/// The most parts one promise may come in (a bound on what a peer can make
/// a candidate hold: 4,096 parts of 256 KiB is a gigabyte of accepted values).
const MAX_PROMISE_PARTS: u32 = 4096;

/// A promise as the messages that carry it: one, or several parts when its
/// accepted values are more than `max_bytes` (each part holds at least one
/// value, so a part is never empty of progress).
fn promise_parts(
    ballot: Ballot,
    from_slot: Slot,
    promise: PromiseInfo,
    max_bytes: usize,
) -> Vec<Message> {
    let PromiseInfo {
        decided_upto,
        accepted,
        decided_beyond,
    } = promise;
    let mut chunks: Vec<Vec<AcceptedEntry>> = vec![Vec::new()];
    let mut bytes = 0;
    for e in accepted {
        let size = approx_value_bytes(&e.value);
        let last = chunks
            .last_mut()
            .filter(|c| c.is_empty() || bytes + size <= max_bytes);
        match last {
            Some(chunk) => chunk.push(e),
            None => {
                bytes = 0;
                chunks.push(vec![e]);
            }
        }
        bytes += size;
    }
    let parts = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    let mut beyond = Some(decided_beyond);
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, accepted)| Message::Promise {
            ballot,
            from_slot,
            decided_upto,
            accepted,
            decided_beyond: if i == last {
                beyond.take().unwrap_or_default()
            } else {
                Vec::new()
            },
            part: i as u32,
            parts,
        })
        .collect()
}

/// The promise its parts make together.
fn merge_parts(parts: impl Iterator<Item = PromiseInfo>) -> PromiseInfo {
    let mut all = PromiseInfo {
        decided_upto: 0,
        accepted: Vec::new(),
        decided_beyond: Vec::new(),
    };
    for p in parts {
        all.decided_upto = all.decided_upto.max(p.decided_upto);
        all.accepted.extend(p.accepted);
        all.decided_beyond.extend(p.decided_beyond);
    }
    all
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
mod tests;
