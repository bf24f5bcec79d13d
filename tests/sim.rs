//! Deterministic simulation of whole clusters of consensus cores.
//!
//! A seeded loop plays the network and the disks, for clusters of one to
//! seven sites: messages are lost, duplicated, delayed and reordered; links
//! fail one direction at a time (one-way cuts, a site that cannot hear, a
//! site that cannot speak, reachability that is not transitive) besides
//! two-sided partitions; sites crash (losing everything that was not
//! synced, sometimes in the middle of a group commit) and restart from
//! their durable records and checkpoints. After every step the checker
//! verifies agreement, validity, durability, exactly-once application and
//! in-order application; once the faults stop, every site must converge
//! within a bounded time and every operation submitted from then on must
//! be decided (answered done, not 503).
//!
//! `SIM_SEEDS=N cargo test --release sim` runs N seeds (default 2000);
//! `SIM_SEED=S` runs only seed S. A failure prints its seed and step, and
//! running that seed again reproduces it exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use tweettui::paxos::{
    AcceptorState, Core, CoreConfig, Input, Membership, Message, Output, Record, SiteId, Slot,
};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::state::State;

const TIMEOUT_MS: u64 = 100;
const SUBMIT_TIMEOUT_MS: u64 = 2_000;
const TICK_MS: u64 = 5;
const CHECKPOINT_EVERY: u64 = 16;

/// A deliberate defect, to show that the checker catches broken cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    /// The acceptor forgets its promise on restart (keeps accepted values).
    ForgetPromise,
    /// The acceptor forgets what it accepted on restart (keeps its promise).
    ForgetAccepted,
    /// Core defects (see `Defects`): liveness flaws the checks must catch.
    StickyForwards,
    NeverRetryLostSlot,
    DeafLeaderStays,
    /// A site that lost its disk votes at once, as if the cluster were new.
    WipedVotesAtOnce,
    /// A site runs for leader without hearing a quorum first.
    NoPreVote,
}

#[derive(Clone, Debug)]
struct Params {
    sites: u32,
    fault_ms: u64,
    settle_ms: u64,
    flaw: Flaw,
}

/// What went wrong, with where and when.
#[derive(Debug)]
struct Violation {
    seed: u64,
    step: u64,
    now: u64,
    what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} step {} (t={} ms): {}  [rerun: SIM_SEED={} cargo test --release --test sim]",
            self.seed, self.step, self.now, self.what, self.seed
        )
    }
}

/// The safety checker. It only sees what sites report, so it also works as
/// a unit under test (see `checker_*` tests below).
#[derive(Default)]
struct Checker {
    /// The value each slot was first decided with, anywhere.
    chosen: BTreeMap<Slot, Value>,
    /// Where each operation was decided.
    decided_in: HashMap<OpId, Slot>,
    /// Every operation ever submitted.
    submitted: HashMap<OpId, Op>,
    /// Operations reported done, with their slot.
    done: HashMap<OpId, Slot>,
}

/// Operations the log holds and which of them were tweets: a copy of an
/// operation in a later slot takes no effect (see `AppliedOps`).
fn distinct_tweets(log: &[Value]) -> usize {
    let mut seen = std::collections::HashSet::new();
    log.iter()
        .flat_map(|v| &v.cmds)
        .filter(|c| matches!(c.op, Op::Tweet { .. }))
        .filter(|c| seen.insert(c.id))
        .count()
}

impl Checker {
    fn submitted(&mut self, cmd: &Command) {
        self.submitted.insert(cmd.id, cmd.op.clone());
    }

    /// A site decided `slot` (beyond its prefix or not).
    fn decided(&mut self, site: SiteId, slot: Slot, value: &Value) -> Result<(), String> {
        if let Some(first) = self.chosen.get(&slot) {
            if first != value {
                return Err(format!(
                    "agreement: site {site} decided slot {slot} = {:?}, another site {:?}",
                    value.summary(),
                    first.summary()
                ));
            }
            return Ok(());
        }
        for cmd in &value.cmds {
            match self.submitted.get(&cmd.id) {
                Some(op) if *op == cmd.op => {}
                Some(_) => {
                    return Err(format!(
                        "validity: slot {slot} holds {} with an altered op",
                        cmd.id
                    ))
                }
                None => {
                    return Err(format!(
                        "validity: slot {slot} holds {} that nobody submitted",
                        cmd.id
                    ))
                }
            }
            // A copy in another slot is allowed (applying skips it); the
            // first slot is where the operation takes effect.
            let first = self.decided_in.entry(cmd.id).or_insert(slot);
            *first = (*first).min(slot);
        }
        self.chosen.insert(slot, value.clone());
        Ok(())
    }

    /// A site reported a submission done in `slot` at `index`, after applying
    /// slots up to `applied` (exclusive).
    fn completed(
        &mut self,
        id: OpId,
        slot: Slot,
        index: usize,
        applied: Slot,
    ) -> Result<(), String> {
        let Some(value) = self.chosen.get(&slot) else {
            return Err(format!(
                "durability: {id} reported done in slot {slot}, which is not decided"
            ));
        };
        if value.cmds.get(index).map(|c| c.id) != Some(id) {
            return Err(format!(
                "exactly-once: {id} reported done in slot {slot} index {index}, but the slot holds {:?}",
                value.summary()
            ));
        }
        if applied <= slot {
            return Err(format!(
                "apply order: {id} reported done before slot {slot} was applied"
            ));
        }
        // Every slot below `slot` is applied and so chosen: the first copy
        // is known, and the answer must name it.
        if let Some(&first) = self.decided_in.get(&id).filter(|&&f| f != slot) {
            return Err(format!(
                "exactly-once: {id} reported done in slot {slot}, but it took effect in slot {first}"
            ));
        }
        if self.done.insert(id, slot).is_some() {
            return Err(format!("exactly-once: {id} reported done twice"));
        }
        Ok(())
    }

    /// The applied log of a site must be a prefix of what was chosen, and
    /// hold every operation reported done below its length.
    fn applied_log(&self, site: SiteId, log: &[Value]) -> Result<(), String> {
        for (slot, value) in log.iter().enumerate() {
            let slot = slot as Slot;
            if self.chosen.get(&slot) != Some(value) {
                return Err(format!(
                    "durability: site {site} holds slot {slot} that differs from the chosen value"
                ));
            }
        }
        for (id, slot) in &self.done {
            if (*slot as usize) < log.len() && !log[*slot as usize].contains(*id) {
                return Err(format!(
                    "durability: {id} reported done in slot {slot} is gone at site {site}"
                ));
            }
        }
        Ok(())
    }
}

/// What survives a crash of one site.
#[derive(Clone, Default)]
struct Disk {
    /// Records synced since the last checkpoint.
    /// The WAL segment's bytes, as the real storage code writes them (one
    /// batch per group commit); past its end, preallocated zeros.
    wal: Vec<u8>,
    /// Records in the batches whose sync completed.
    synced: usize,
    /// The last checkpoint: applied slots, state, acceptor state.
    checkpoint: Option<(Slot, State, AcceptorState)>,
    /// Decided values in slot order (the archive).
    archive: Vec<Value>,
}

struct SimSite {
    core: Option<Core>,
    state: State,
    disk: Disk,
    boot: u64,
    seq: u64,
    since_checkpoint: u64,
}

struct Envelope {
    at: u64,
    from: SiteId,
    to: SiteId,
    msg: Message,
}

struct Sim {
    seed: u64,
    p: Params,
    rng: ChaCha8Rng,
    now: u64,
    step: u64,
    sites: Vec<SimSite>,
    users: Vec<String>,
    net: Vec<Envelope>,
    /// `cut[a][b]`: messages from site a to site b are lost (one direction
    /// of one link; a partition cuts both directions of many).
    cut: Vec<Vec<bool>>,
    loss: f64,
    dup: f64,
    faults: bool,
    checker: Checker,
    /// Submissions in flight per site (forgotten when the site crashes).
    open: HashMap<OpId, SiteId>,
    /// Sites whose disk was lost and that do not vote again yet.
    wiped: Vec<SiteId>,
    /// Submissions made after the faults stopped: each must be decided.
    after_heal: std::collections::HashSet<OpId>,
    /// While a hold lasts, faults stand still (see `hold`), and
    /// submissions go to the sites of `majority` only.
    holding: bool,
    majority: Vec<SiteId>,
    /// Submissions made while a majority could talk: each must be decided.
    must_decide: std::collections::HashSet<OpId>,
}

/// A hold: the faults of the moment stand still this long...
const HOLD_MS: u64 = 60 * TIMEOUT_MS;
/// ...and what is submitted from this far into it...
const HOLD_SETTLE_MS: u64 = 25 * TIMEOUT_MS;
/// ...for this long, at a majority that can talk, must be decided (the
/// sites outside it may still disturb: a deaf one, a one-way link).
const HOLD_WATCH_MS: u64 = 10 * TIMEOUT_MS;

impl Sim {
    fn new(seed: u64, p: Params) -> Result<Sim, Violation> {
        let users: Vec<String> = (0..p.sites).map(|i| format!("u{i}")).collect();
        let mut sim = Sim {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            now: 0,
            step: 0,
            sites: Vec::new(),
            users: users.clone(),
            net: Vec::new(),
            cut: vec![vec![false; p.sites as usize]; p.sites as usize],
            loss: 0.0,
            dup: 0.0,
            faults: true,
            checker: Checker::default(),
            open: HashMap::new(),
            wiped: Vec::new(),
            after_heal: Default::default(),
            holding: false,
            majority: Vec::new(),
            must_decide: Default::default(),
            p,
        };
        for _ in 0..sim.p.sites {
            sim.sites.push(SimSite {
                core: None,
                state: State::new(users.clone()),
                disk: Disk::default(),
                boot: 0,
                seq: 0,
                since_checkpoint: 0,
            });
        }
        for i in 0..sim.p.sites {
            sim.restart(i)?;
        }
        Ok(sim)
    }

    fn fail(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            step: self.step,
            now: self.now,
            what,
        }
    }

    fn core_config(&mut self, site: SiteId) -> CoreConfig {
        let seed = self.rng.random();
        let mut cfg = CoreConfig::new(self.p.sites, site, TIMEOUT_MS, SUBMIT_TIMEOUT_MS, seed);
        cfg.defects.sticky_forwards = self.p.flaw == Flaw::StickyForwards;
        cfg.defects.never_retry_lost_slot = self.p.flaw == Flaw::NeverRetryLostSlot;
        cfg.defects.deaf_leader_stays = self.p.flaw == Flaw::DeafLeaderStays;
        cfg.defects.wiped_votes_at_once = self.p.flaw == Flaw::WipedVotesAtOnce;
        cfg.defects.no_pre_vote = self.p.flaw == Flaw::NoPreVote;
        // Promises split into parts often (the default is 256 KiB).
        cfg.promise_bytes = 2_000;
        // A small memory window, so catch-up is often served from the
        // archive (the runtime's storage path), and small fetch chunks, so
        // catch-up takes several rounds.
        cfg.recent = 8;
        cfg.fetch_chunk = 16;
        cfg
    }

    /// Starts (or restarts) a site from what its disk holds.
    fn restart(&mut self, site: SiteId) -> Result<(), Violation> {
        let cfg = self.core_config(site);
        let s = &mut self.sites[site as usize];
        let (applied, state, mut acceptor) = match &s.disk.checkpoint {
            Some((a, st, acc)) => (*a, st.clone(), acc.clone()),
            None => (0, State::new(self.users.clone()), AcceptorState::default()),
        };
        // The real WAL recovery decides what survived on these bytes.
        let path = std::path::Path::new("sim.wal");
        let recovered = match tweettui::storage::recover_wal_segment(&s.disk.wal, path) {
            Ok(r) => r,
            Err(e) => {
                let what = format!("site {site} refuses to start after a crash: {e}");
                return Err(self.fail(what));
            }
        };
        if recovered.records.len() != s.disk.synced {
            let what = format!(
                "durability: site {site} recovered {} WAL records, {} were synced",
                recovered.records.len(),
                s.disk.synced
            );
            return Err(self.fail(what));
        }
        s.disk.wal.truncate(recovered.good_end as usize);
        for r in &recovered.records {
            acceptor.apply(r);
        }
        match self.p.flaw {
            Flaw::None => {}
            Flaw::ForgetPromise => acceptor.promised = Default::default(),
            Flaw::ForgetAccepted => acceptor.accepted.clear(),
            _ => {}
        }
        s.disk.archive.truncate(applied as usize);
        s.state = state;
        s.boot += 1;
        s.seq = 0;
        let mut core = Core::new(cfg, acceptor, applied);
        let out = core.start(self.now);
        self.sites[site as usize].core = Some(core);
        self.carry_out(site, out, false)
    }

    /// Every other site is up... or down with its disk, and votes.
    fn all_others_vote(&self, site: SiteId) -> bool {
        (0..self.p.sites).filter(|&i| i != site).all(|i| {
            !self.wiped.contains(&i)
                && self.sites[i as usize]
                    .core
                    .as_ref()
                    .is_none_or(|c| c.membership() == Membership::Voting)
        })
    }

    fn crash(&mut self, site: SiteId) {
        let s = &mut self.sites[site as usize];
        s.core = None;
        self.open.retain(|_, &mut at| at != site);
    }

    fn alive(&self) -> Vec<SiteId> {
        (0..self.p.sites)
            .filter(|&i| self.sites[i as usize].core.is_some())
            .collect()
    }

    fn connected(&self, a: SiteId, b: SiteId) -> bool {
        !self.cut[a as usize][b as usize]
    }

    /// One change of the network: a new fault, or all links healed.
    fn network_fault(&mut self) {
        let n = self.p.sites as usize;
        let pick = |rng: &mut ChaCha8Rng| rng.random_range(0..n);
        match self.rng.random_range(0..6) {
            0 => self.cut = vec![vec![false; n]; n],
            1 => {
                // A two-sided partition into two random sides.
                let side: Vec<bool> = (0..n).map(|_| self.rng.random_bool(0.5)).collect();
                for a in 0..n {
                    for b in 0..n {
                        self.cut[a][b] = side[a] != side[b];
                    }
                }
            }
            2 => {
                // One direction of one link flips.
                let (a, b) = (pick(&mut self.rng), pick(&mut self.rng));
                self.cut[a][b] = !self.cut[a][b];
            }
            3 => {
                // A site that cannot hear (a firewall on its inbound port).
                let deaf = pick(&mut self.rng);
                for a in 0..n {
                    self.cut[a][deaf] = true;
                }
            }
            4 => {
                // A site that cannot speak.
                let mute = pick(&mut self.rng);
                for b in 0..n {
                    self.cut[mute][b] = true;
                }
            }
            _ => {
                // Reachability that is not transitive: a and c lose each
                // other while both still see everyone else.
                let (a, c) = (pick(&mut self.rng), pick(&mut self.rng));
                self.cut[a][c] = true;
                self.cut[c][a] = true;
            }
        }
    }

    /// Writes one group commit into a site's WAL bytes. With `torn`, the
    /// power fails during it: each page the batch touches reaches the disk
    /// or not, in any combination. Returns whether the whole batch is there.
    fn write_batch(&mut self, site: SiteId, records: &[Record], torn: bool) -> bool {
        if records.is_empty() {
            return true;
        }
        let bytes = match tweettui::storage::encode_wal_batch(records) {
            Ok(b) => b,
            Err(_) => return false,
        };
        let page = tweettui::storage::WAL_PAGE;
        let start = self.sites[site as usize].disk.wal.len();
        let end = start + bytes.len();
        let mut image = std::mem::take(&mut self.sites[site as usize].disk.wal);
        image.resize(end, 0);
        let mut whole = true;
        let mut p = start / page * page;
        while p < end {
            let (lo, hi) = (p.max(start), (p + page).min(end));
            let reaches = !torn || self.rng.random_bool(0.5);
            if reaches {
                image[lo..hi].copy_from_slice(&bytes[lo - start..hi - start]);
            }
            whole &= reaches;
            p += page;
        }
        let disk = &mut self.sites[site as usize].disk;
        if whole {
            disk.synced += records.len();
        } else {
            // What did not reach the disk is zeros (preallocated space).
            while image.last() == Some(&0) && image.len() > start {
                image.pop();
            }
        }
        disk.wal = image;
        whole
    }

    /// Carries out one step's output the way the runtime must. With `torn`,
    /// the site crashes in the middle of its group commit: some pages of the
    /// batch reach the disk and nothing else happens.
    fn carry_out(&mut self, site: SiteId, out: Output, torn: bool) -> Result<(), Violation> {
        let whole = self.write_batch(site, &out.persist, torn);
        let keep = if whole { out.persist.len() } else { 0 };
        // A decision counts as chosen once it is durable somewhere (with
        // one site, a decide lost in a torn write was never chosen).
        for r in &out.persist[..keep] {
            if let Record::Decide { slot, value } = r {
                if let Err(e) = self.checker.decided(site, *slot, value) {
                    return Err(self.fail(e));
                }
            }
        }
        if torn {
            self.crash(site);
            return Ok(());
        }
        let s = &mut self.sites[site as usize];
        for (slot, value) in &out.committed {
            if let Err(e) = s.state.apply(*slot, value) {
                return Err(self.fail(format!("apply order at site {site}: {e}")));
            }
            if s.disk.archive.len() as Slot != *slot {
                let have = s.disk.archive.len();
                return Err(self.fail(format!(
                    "apply order at site {site}: slot {slot} committed after {have} slots"
                )));
            }
            s.disk.archive.push(value.clone());
            s.since_checkpoint += 1;
        }
        let applied = s.state.next_slot();
        for c in &out.completed {
            self.open.remove(&c.id);
            if let Err(e) = self.checker.completed(c.id, c.slot, c.index, applied) {
                return Err(self.fail(format!("site {site}: {e}")));
            }
        }
        for id in &out.failed {
            self.open.remove(id);
            if self.after_heal.contains(id) {
                return Err(self.fail(format!(
                    "liveness: {id}, submitted at site {site} after the faults stopped, failed (503)"
                )));
            }
            if self.must_decide.contains(id) {
                return Err(self.fail(format!(
                    "liveness: {id}, submitted at site {site} while sites {:?} (a majority) could all talk, failed (503)",
                    self.majority
                )));
            }
        }
        for (to, msg) in out.send {
            self.transmit(site, to, msg);
        }
        for req in out.serve {
            let s = &self.sites[site as usize];
            let entries = (req.from..req.to.min(s.disk.archive.len() as Slot))
                .map(|slot| tweettui::paxos::DecidedEntry {
                    slot,
                    value: s.disk.archive[slot as usize].clone(),
                })
                .collect();
            let msg = Message::Decided {
                decided_upto: req.decided_upto,
                entries,
                promised: Default::default(),
                probe: 0,
            };
            self.transmit(site, req.to_site, msg);
        }
        // Checkpoint now and then: the WAL restarts empty.
        let s = &mut self.sites[site as usize];
        if s.since_checkpoint >= CHECKPOINT_EVERY {
            if let Some(core) = &s.core {
                s.disk.checkpoint = Some((
                    s.state.next_slot(),
                    s.state.clone(),
                    core.acceptor_snapshot(),
                ));
                s.disk.wal.clear();
                s.disk.synced = 0;
                s.since_checkpoint = 0;
            }
        }
        Ok(())
    }

    fn transmit(&mut self, from: SiteId, to: SiteId, msg: Message) {
        if !self.connected(from, to) || (self.faults && self.rng.random_bool(self.loss)) {
            return;
        }
        let copies = if self.faults && self.rng.random_bool(self.dup) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.faults && self.rng.random_bool(0.02) {
                self.rng.random_range(TIMEOUT_MS..5 * TIMEOUT_MS)
            } else {
                self.rng.random_range(1..=15)
            };
            self.net.push(Envelope {
                at: self.now + delay,
                from,
                to,
                msg: msg.clone(),
            });
        }
    }

    /// Whether faults may change now.
    fn chaos(&self) -> bool {
        self.faults && !self.holding
    }

    /// The largest set of live, voting sites that all hear each other (a
    /// site that lost its disk counts as failed until it votes again).
    fn largest_talking_set(&self) -> Vec<SiteId> {
        let n = self.p.sites;
        let mut best = Vec::new();
        for mask in 0u32..(1 << n) {
            let set: Vec<SiteId> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let ok = set.len() > best.len()
                && set.iter().all(|&a| {
                    self.sites[a as usize]
                        .core
                        .as_ref()
                        .is_some_and(|c| c.membership() == Membership::Voting)
                })
                && set
                    .iter()
                    .all(|&a| set.iter().all(|&b| a == b || self.connected(a, b)));
            if ok {
                best = set;
            }
        }
        best
    }

    /// Faults stand still for `HOLD_MS` (no crash, no link change, no loss).
    /// When a majority of the sites can all talk to each other, everything
    /// submitted at them once the cluster had time to settle must be
    /// decided: a deaf leader, a leader that lost its term or a one-way link
    /// must not keep a majority from deciding.
    fn hold(&mut self) -> Result<(), Violation> {
        self.holding = true;
        self.loss = 0.0;
        self.dup = 0.0;
        self.majority = self.largest_talking_set();
        let quorum = self.p.sites as usize / 2 + 1;
        let start = self.now;
        while self.now < start + HOLD_MS {
            let watch = self.now >= start + HOLD_SETTLE_MS
                && self.now < start + HOLD_SETTLE_MS + HOLD_WATCH_MS
                && self.majority.len() >= quorum;
            self.step += 1;
            self.now += TICK_MS;
            if !self.majority.is_empty() && self.rng.random_bool(0.15) {
                let site = self.majority[self.rng.random_range(0..self.majority.len())];
                if let Some(id) = self.submit(site)? {
                    if watch {
                        self.must_decide.insert(id);
                    }
                }
            }
            self.deliver_and_tick()?;
        }
        self.holding = false;
        self.must_decide.clear();
        Ok(())
    }

    fn feed(&mut self, site: SiteId, input: Input) -> Result<(), Violation> {
        let torn = self.chaos() && self.rng.random_bool(0.0005);
        let Some(core) = self.sites[site as usize].core.as_mut() else {
            return Ok(());
        };
        let out = core.step(self.now, input);
        self.carry_out(site, out, torn)
    }

    fn submit(&mut self, site: SiteId) -> Result<Option<OpId>, Violation> {
        let s = &mut self.sites[site as usize];
        if s.core.is_none() {
            return Ok(None);
        }
        s.seq += 1;
        let id = OpId {
            site,
            boot: s.boot,
            seq: s.seq,
        };
        let user = self.users[site as usize].clone();
        let other = self.users[self.rng.random_range(0..self.users.len())].clone();
        let op = match self.rng.random_range(0..10) {
            0 => Op::Block {
                user,
                target: other,
            },
            1 => Op::Unblock {
                user,
                target: other,
            },
            _ => Op::Tweet {
                user,
                text: format!("t{}", id),
                time: chrono::DateTime::from_timestamp_millis(self.now as i64).unwrap_or_default(),
            },
        };
        let cmd = Command { id, op };
        self.checker.submitted(&cmd);
        self.open.insert(id, site);
        if !self.faults {
            self.after_heal.insert(id);
        }
        self.feed(site, Input::Submit(cmd))?;
        Ok(Some(id))
    }

    /// One slice of time: random faults, submissions, deliveries, ticks.
    fn advance(&mut self, submit_rate: f64) -> Result<(), Violation> {
        self.step += 1;
        self.now += TICK_MS;
        let n = self.p.sites;
        if self.faults {
            let down = n as usize - self.alive().len();
            let max_down = (n as usize - 1) / 2;
            if self.rng.random_bool(0.004) && down < max_down.max(1) {
                let victim = self.rng.random_range(0..n);
                self.crash(victim);
                // Now and then the disk is lost too (a replaced disk), while
                // every other site votes: one amnesiac at a time.
                if n > 1 && self.rng.random_bool(0.3) && self.all_others_vote(victim) {
                    self.sites[victim as usize].disk = Disk::default();
                    self.wiped.push(victim);
                }
            }
            if self.rng.random_bool(0.01) {
                let dead: Vec<SiteId> = (0..n)
                    .filter(|&i| self.sites[i as usize].core.is_none())
                    .collect();
                if let Some(&d) = dead.first() {
                    self.restart(d)?;
                }
            }
            if self.rng.random_bool(0.004) {
                self.network_fault();
            }
            if self.rng.random_bool(0.005) {
                self.loss = [0.0, 0.05, 0.2, 0.5][self.rng.random_range(0..4)];
                self.dup = [0.0, 0.05, 0.2][self.rng.random_range(0..3)];
            }
        }
        if self.rng.random_bool(submit_rate) {
            let site = self.rng.random_range(0..n);
            self.submit(site)?;
        }
        self.deliver_and_tick()
    }

    /// Delivers the messages that are due, then ticks every site.
    fn deliver_and_tick(&mut self) -> Result<(), Violation> {
        let n = self.p.sites;
        // Deliver what is due, in a random order among simultaneous ones.
        let mut due = Vec::new();
        let mut i = 0;
        while i < self.net.len() {
            if self.net[i].at <= self.now {
                due.push(self.net.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for k in (1..due.len()).rev() {
            let j = self.rng.random_range(0..=k);
            due.swap(k, j);
        }
        for e in due {
            if !self.connected(e.from, e.to) {
                continue;
            }
            self.feed(
                e.to,
                Input::Message {
                    from: e.from,
                    msg: e.msg,
                },
            )?;
        }
        for site in 0..n {
            self.feed(site, Input::Tick)?;
        }
        if std::env::var("SIM_DEBUG").is_ok() && self.step.is_multiple_of(20) {
            let v: Vec<String> = self
                .sites
                .iter()
                .map(|s| match &s.core {
                    Some(c) => format!(
                        "{:?}/{:?}/p{}/pend{}/prom{}",
                        c.membership(),
                        c.leader(),
                        c.decided_prefix(),
                        c.pending_count(),
                        c.promised()
                    ),
                    None => "down".into(),
                })
                .collect();
            eprintln!("t={} faults={} {:?}", self.now, self.faults, v);
        }
        let sites = &self.sites;
        self.wiped.retain(|&w| {
            sites[w as usize]
                .core
                .as_ref()
                .is_none_or(|c| c.membership() != Membership::Voting)
        });
        Ok(())
    }

    fn check_logs(&self) -> Result<(), Violation> {
        for (i, s) in self.sites.iter().enumerate() {
            if let Err(e) = self.checker.applied_log(i as SiteId, &s.disk.archive) {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<(), Violation> {
        let fault_steps = self.p.fault_ms / TICK_MS;
        for k in 0..fault_steps {
            self.advance(0.15)?;
            if self.step.is_multiple_of(50) {
                self.check_logs()?;
            }
            if k == fault_steps / 2 {
                self.hold()?;
            }
        }
        // Heal: everyone up, no partition, no loss; a few more submissions.
        self.faults = false;
        let n = self.p.sites as usize;
        self.cut = vec![vec![false; n]; n];
        self.loss = 0.0;
        self.dup = 0.0;
        for i in 0..self.p.sites {
            if self.sites[i as usize].core.is_none() {
                self.restart(i)?;
            }
        }
        for _ in 0..(4 * TIMEOUT_MS / TICK_MS) {
            self.advance(0.1)?;
        }
        let settle_steps = self.p.settle_ms / TICK_MS;
        for _ in 0..settle_steps {
            self.advance(0.0)?;
            if self.converged() {
                self.check_logs()?;
                return self.check_final_states();
            }
        }
        let prefixes: Vec<Slot> = self
            .sites
            .iter()
            .map(|s| s.core.as_ref().map_or(0, |c| c.decided_prefix()))
            .collect();
        Err(self.fail(format!(
            "liveness: no convergence {} ms after healing: prefixes {prefixes:?}, chosen {} slots (max {:?}), open submissions {}",
            self.p.settle_ms,
            self.checker.chosen.len(),
            self.checker.chosen.keys().next_back(),
            self.open.len()
        )))
    }

    /// Every site holds the same contiguous decided prefix covering every
    /// chosen slot, and every submission has finished or failed.
    fn converged(&self) -> bool {
        let chosen = self.checker.chosen.len() as Slot;
        let contiguous = self
            .checker
            .chosen
            .keys()
            .next_back()
            .is_none_or(|&m| m + 1 == chosen);
        contiguous
            && self.open.is_empty()
            && self.sites.iter().all(|s| {
                s.core
                    .as_ref()
                    .is_some_and(|c| c.decided_prefix() == chosen && c.pending_count() == 0)
            })
    }

    fn check_final_states(&self) -> Result<(), Violation> {
        let first = &self.sites[0].state;
        for (i, s) in self.sites.iter().enumerate() {
            if s.state != *first {
                return Err(self.fail(format!(
                    "determinism: site {i}'s state differs from site 0's"
                )));
            }
        }
        // Exactly-once application: a tweet that reached the log twice
        // shows once.
        let want = distinct_tweets(&self.sites[0].disk.archive);
        if first.tweet_count() != want {
            return Err(self.fail(format!(
                "exactly-once: the state shows {} tweets, the log holds {want} distinct ones",
                first.tweet_count()
            )));
        }
        Ok(())
    }
}

/// One to seven sites, in turn.
fn sites_of(seed: u64) -> u32 {
    1 + (seed % 7) as u32
}

fn run_seed(seed: u64, flaw: Flaw) -> Result<(), Violation> {
    let sites = sites_of(seed);
    let p = Params {
        sites,
        fault_ms: 15_000,
        settle_ms: 10_000,
        flaw,
    };
    Sim::new(seed, p)?.run()
}

fn seeds_from_env(default: u64) -> std::ops::Range<u64> {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed..seed + 1;
    }
    let n = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    0..n
}

/// Runs seeds on every core; returns the first violation of each thread.
fn run_seeds(seeds: std::ops::Range<u64>, flaw: Flaw, stop_at_first: bool) -> Vec<Violation> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8) as u64;
    let found = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let seeds = seeds.clone();
            let (found, stop) = (&found, &stop);
            scope.spawn(move || {
                for seed in seeds.filter(|s| s % threads == t) {
                    if stop_at_first && stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    if let Err(v) = run_seed(seed, flaw) {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        if let Ok(mut f) = found.lock() {
                            f.push(v);
                        }
                    }
                }
            });
        }
    });
    let mut v = found.into_inner().unwrap_or_default();
    v.sort_by_key(|v| v.seed);
    v
}

#[test]
fn sim_safety_and_liveness_over_many_seeds() {
    let seeds = seeds_from_env(2_000);
    let count = seeds.end - seeds.start;
    let violations = run_seeds(seeds, Flaw::None, false);
    for v in &violations {
        eprintln!("{v}");
    }
    assert!(
        violations.is_empty(),
        "{} of {count} seeds failed; first: {}",
        violations.len(),
        violations[0]
    );
    eprintln!("sim: {count} seeds (1 to 7 sites) passed");
}

#[test]
fn sim_same_seed_same_run() {
    // Determinism: the same seed gives the same history, step for step.
    let run = |seed| {
        let p = Params {
            sites: 5,
            fault_ms: 1_500,
            settle_ms: 10_000,
            flaw: Flaw::None,
        };
        let mut sim = Sim::new(seed, p).expect("start");
        sim.run().expect("run");
        (sim.step, sim.checker.chosen.clone(), sim.checker.done.len())
    };
    assert_eq!(run(7), run(7));
}

#[test]
fn sim_catches_an_acceptor_that_forgets_its_promise_on_restart() {
    let violations = run_seeds(0..20_000, Flaw::ForgetPromise, true);
    assert!(
        !violations.is_empty(),
        "the checker missed an acceptor that forgets its promise"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

/// The seeds a liveness flaw is looked for in: enough that a leader change
/// after the faults stop happens in some of them.
const FLAW_SEEDS: std::ops::Range<u64> = 0..3000;

#[test]
fn sim_catches_forwards_that_stay_with_a_lost_leader() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::StickyForwards, true);
    assert!(
        !violations.is_empty(),
        "missed: forwards stuck with an old leader"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_submission_never_retried_after_losing_its_slot() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::NeverRetryLostSlot, true);
    assert!(!violations.is_empty(), "missed: a lost slot never retried");
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_leader_that_never_steps_down() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::DeafLeaderStays, true);
    assert!(!violations.is_empty(), "missed: a deaf leader that stays");
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_site_that_runs_without_hearing_a_quorum() {
    // A site that can send but not hear deposes every leader.
    let violations = run_seeds(0..6_000, Flaw::NoPreVote, true);
    assert!(
        !violations.is_empty(),
        "missed: elections without a pre-vote"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_wiped_site_that_votes_at_once() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::WipedVotesAtOnce, true);
    assert!(
        !violations.is_empty(),
        "missed: a wiped site that votes at once"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_an_acceptor_that_forgets_what_it_accepted_on_restart() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::ForgetAccepted, true);
    assert!(
        !violations.is_empty(),
        "the checker missed an acceptor that forgets its accepted values"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

fn cmd(site: SiteId, seq: u64, text: &str) -> Command {
    Command {
        id: OpId { site, boot: 1, seq },
        op: Op::Tweet {
            user: format!("u{site}"),
            text: text.to_string(),
            time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
        },
    }
}

#[test]
fn checker_catches_two_values_for_one_slot() {
    let mut c = Checker::default();
    let (a, b) = (cmd(0, 1, "a"), cmd(1, 1, "b"));
    c.submitted(&a);
    c.submitted(&b);
    c.decided(0, 0, &Value::batch(vec![a])).expect("first");
    let e = c
        .decided(1, 0, &Value::batch(vec![b]))
        .expect_err("agreement");
    assert!(e.contains("agreement"), "{e}");
}

#[test]
fn checker_catches_success_reported_for_a_copy() {
    // An operation may reach the log twice (applying skips the copy); its
    // answer must name the first slot, where it took effect.
    let mut c = Checker::default();
    let a = cmd(0, 1, "a");
    c.submitted(&a);
    c.decided(0, 0, &Value::batch(vec![a.clone()]))
        .expect("first");
    c.decided(0, 3, &Value::batch(vec![a.clone()]))
        .expect("a copy is allowed");
    let e = c.completed(a.id, 3, 0, 4).expect_err("names the copy");
    assert!(e.contains("exactly-once"), "{e}");
    c.completed(a.id, 0, 0, 4).expect("names the first");
}

#[test]
fn checker_catches_success_reported_for_a_lost_slot() {
    // The original program's bug: another site's value won the slot, and
    // the loser still reported success.
    let mut c = Checker::default();
    let (a, b) = (cmd(0, 1, "mine"), cmd(1, 1, "theirs"));
    c.submitted(&a);
    c.submitted(&b);
    c.decided(1, 0, &Value::batch(vec![b])).expect("theirs won");
    let e = c.completed(a.id, 0, 0, 1).expect_err("lost slot");
    assert!(e.contains("exactly-once"), "{e}");
}

#[test]
fn checker_catches_done_before_applied_and_invented_values() {
    let mut c = Checker::default();
    let a = cmd(0, 1, "a");
    let e = c
        .decided(0, 0, &Value::batch(vec![a.clone()]))
        .expect_err("invented");
    assert!(e.contains("validity"), "{e}");
    c.submitted(&a);
    c.decided(0, 0, &Value::batch(vec![a.clone()]))
        .expect("decided");
    let e = c.completed(a.id, 0, 0, 0).expect_err("not applied yet");
    assert!(e.contains("apply order"), "{e}");
}

#[test]
fn sim_runs_are_not_trivial() {
    // The simulation must exercise something: many slots decided, many
    // submissions done, crashes and restarts, on average over a few seeds.
    let (mut slots, mut done, mut steps) = (0, 0, 0);
    for seed in 0..20u64 {
        let sites = sites_of(seed);
        let p = Params {
            sites,
            fault_ms: 3_000,
            settle_ms: 10_000,
            flaw: Flaw::None,
        };
        let mut sim = Sim::new(seed, p).expect("start");
        sim.run().expect("run");
        slots += sim.checker.chosen.len();
        done += sim.checker.done.len();
        steps += sim.step;
        if std::env::var("SIM_VERBOSE").is_ok() {
            eprintln!(
                "seed {seed}: {} steps, {} slots, {} done, {} submitted, restarts {:?}",
                sim.step,
                sim.checker.chosen.len(),
                sim.checker.done.len(),
                sim.checker.submitted.len(),
                sim.sites.iter().map(|s| s.boot).collect::<Vec<_>>()
            );
        }
    }
    assert!(slots > 20 * 20, "only {slots} slots decided in 20 seeds");
    assert!(done > 20 * 30, "only {done} submissions done in 20 seeds");
    assert!(steps > 20 * 600);
}
