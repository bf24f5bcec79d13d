//! The simulated world: the library's cluster engine (`tweettui::engine`:
//! cores, replicated state, disks of pages, the network of queued messages
//! with per-direction links) driven by seeded random faults, and the checks
//! run after every step.

use super::checker::*;
use super::*;

/// The simulator's side of the engine's [`Env`]: the seeded random
/// faults of the network (loss, duplication, long delays) and of torn
/// writes (which pages reach the disk).
pub(crate) struct SimEnv<'a> {
    pub(crate) rng: &'a mut ChaCha8Rng,
    pub(crate) faults: bool,
    pub(crate) loss: f64,
    pub(crate) dup: f64,
}

impl SimEnv<'_> {
    fn delay(&mut self) -> u64 {
        if self.faults && self.rng.random_bool(0.02) {
            self.rng.random_range(TIMEOUT_MS..5 * TIMEOUT_MS)
        } else {
            self.rng.random_range(1..=15)
        }
    }
}

impl Env for SimEnv<'_> {
    fn copies(&mut self, _from: SiteId, _to: SiteId) -> Copies {
        if self.faults && self.rng.random_bool(self.loss) {
            return Copies::Lost;
        }
        let two = self.faults && self.rng.random_bool(self.dup);
        let first = self.delay();
        if two {
            Copies::Two(first, self.delay())
        } else {
            Copies::One(first)
        }
    }

    fn page_reaches(&mut self) -> bool {
        self.rng.random_bool(0.5)
    }

    /// A sync takes about as long as a message, often longer (a disk is
    /// slower than loopback), so a leader's followers often ack its accept
    /// before its own sync completes; now and then a disk stalls.
    fn sync_delay(&mut self, _site: SiteId) -> Option<u64> {
        Some(if self.faults && self.rng.random_bool(0.02) {
            self.rng.random_range(TIMEOUT_MS..3 * TIMEOUT_MS)
        } else {
            self.rng.random_range(0..=20)
        })
    }
}

/// What is due at a moment: a message's delivery or a sync's completion.
pub(crate) enum Due {
    Message(InFlight),
    Sync(SyncDue),
}

pub(crate) struct Sim {
    pub(crate) seed: u64,
    pub(crate) p: Params,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) step: u64,
    /// The cluster: cores, the network's queue and links, the disks.
    pub(crate) engine: Engine,
    pub(crate) users: Vec<String>,
    pub(crate) loss: f64,
    pub(crate) dup: f64,
    pub(crate) faults: bool,
    pub(crate) checker: Checker,
    /// Submissions in flight per site (forgotten when the site crashes).
    pub(crate) open: HashMap<OpId, SiteId>,
    /// Sites whose disk was lost and that do not vote again yet.
    pub(crate) wiped: Vec<SiteId>,
    /// Submissions made after the faults stopped: each must be decided.
    pub(crate) after_heal: std::collections::HashSet<OpId>,
    /// While a hold lasts, faults stand still (see `hold`); what the users
    /// of `majority` submit must be decided.
    pub(crate) holding: bool,
    pub(crate) majority: Vec<SiteId>,
    /// Submissions made while a majority could talk: each must be decided.
    pub(crate) must_decide: std::collections::HashSet<OpId>,
    /// The draws of `crash_at_the_worst_moment`.
    pub(crate) worst: ChaCha8Rng,
}

/// A hold: the faults of the moment stand still this long...
pub(crate) const HOLD_MS: u64 = 60 * TIMEOUT_MS;
/// ...and what is submitted from this far into it...
pub(crate) const HOLD_SETTLE_MS: u64 = 25 * TIMEOUT_MS;
/// ...for this long, at a majority that can talk, must be decided (the
/// sites outside it may still disturb: a deaf one, a one-way link).
pub(crate) const HOLD_WATCH_MS: u64 = 10 * TIMEOUT_MS;

impl Sim {
    pub(crate) fn new(seed: u64, p: Params) -> Result<Sim, Violation> {
        let users: Vec<String> = (0..p.sites).map(|i| format!("u{i}")).collect();
        let mut cfg = EngineConfig::new(users.clone());
        cfg.checkpoint_every = CHECKPOINT_EVERY;
        cfg.wal_record_by_record = p.flaw == Flaw::NonAtomicGroupCommit;
        let mut sim = Sim {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            worst: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0fc0_ffee),
            step: 0,
            engine: Engine::new(cfg),
            users,
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
        for i in 0..sim.p.sites {
            sim.restart(i)?;
        }
        Ok(sim)
    }

    pub(crate) fn fail(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            step: self.step,
            now: self.engine.now(),
            what,
        }
    }

    pub(crate) fn core_config(&mut self, site: SiteId) -> CoreConfig {
        let seed = self.rng.random();
        let mut cfg = CoreConfig::new(self.p.sites, site, TIMEOUT_MS, SUBMIT_TIMEOUT_MS, seed);
        cfg.defects.sticky_forwards = self.p.flaw == Flaw::StickyForwards;
        cfg.defects.never_retry_lost_slot = self.p.flaw == Flaw::NeverRetryLostSlot;
        cfg.defects.deaf_leader_stays = self.p.flaw == Flaw::DeafLeaderStays;
        cfg.defects.wiped_votes_at_once = self.p.flaw == Flaw::WipedVotesAtOnce;
        cfg.defects.no_pre_vote = self.p.flaw == Flaw::NoPreVote;
        cfg.defects.own_vote_before_sync = self.p.flaw == Flaw::OwnVoteBeforeSync;
        // Promises split into parts often (the default is 256 KiB).
        cfg.promise_bytes = 2_000;
        // A small memory window, so catch-up is often served from the
        // archive (the runtime's storage path), and small fetch chunks, so
        // catch-up takes several rounds.
        cfg.recent = 8;
        cfg.fetch_chunk = 16;
        // Answers from memory cut after a few values, so that catch-up
        // requests are sized from them (`fetch_span`) and vary.
        cfg.fetch_bytes = 1_000;
        // Leaders that batch what waits (the default, one slot of new
        // submissions at a time) and leaders with several slots in flight,
        // whose commits overtake each other: taken from the core's seed,
        // so that the scenario of every seed draws what it drew before.
        cfg.fresh_window = [1, 2, 8][(seed % 3) as usize];
        cfg
    }

    /// The engine and the faults of the moment, to drive it with.
    pub(crate) fn parts(&mut self) -> (&mut Engine, SimEnv<'_>) {
        let env = SimEnv {
            rng: &mut self.rng,
            faults: self.faults,
            loss: self.loss,
            dup: self.dup,
        };
        (&mut self.engine, env)
    }

    /// Starts (or restarts) a site from what its disk holds.
    pub(crate) fn restart(&mut self, site: SiteId) -> Result<(), Violation> {
        let cfg = self.core_config(site);
        let mut recovered = match self.engine.recover(site) {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e.0)),
        };
        match self.p.flaw {
            Flaw::ForgetPromise => recovered.acceptor.promised = Default::default(),
            Flaw::ForgetAccepted => recovered.acceptor.accepted.clear(),
            _ => {}
        }
        let (engine, mut env) = self.parts();
        let report = engine.boot(site, cfg, recovered, &mut env);
        self.check(site, report)
    }

    /// Every other site is up... or down with its disk, and votes.
    pub(crate) fn all_others_vote(&self, site: SiteId) -> bool {
        (0..self.p.sites).filter(|&i| i != site).all(|i| {
            !self.wiped.contains(&i)
                && self
                    .engine
                    .core(i)
                    .is_none_or(|c| c.membership() == Membership::Voting)
        })
    }

    pub(crate) fn crash(&mut self, site: SiteId) {
        self.engine.crash(site);
        self.open.retain(|_, &mut at| at != site);
    }

    pub(crate) fn connected(&self, a: SiteId, b: SiteId) -> bool {
        self.engine.connected(a, b)
    }

    /// One change of the network: a new fault, or all links healed.
    pub(crate) fn network_fault(&mut self) {
        let n = self.p.sites as usize;
        let pick = |rng: &mut ChaCha8Rng| rng.random_range(0..n);
        let mut cut = self.engine.cuts().to_vec();
        match self.rng.random_range(0..6) {
            0 => cut = vec![vec![false; n]; n],
            1 => {
                // A two-sided partition into two random sides.
                let side: Vec<bool> = (0..n).map(|_| self.rng.random_bool(0.5)).collect();
                for a in 0..n {
                    for b in 0..n {
                        cut[a][b] = side[a] != side[b];
                    }
                }
            }
            2 => {
                // One direction of one link flips.
                let (a, b) = (pick(&mut self.rng), pick(&mut self.rng));
                cut[a][b] = !cut[a][b];
            }
            3 => {
                // A site that cannot hear (a firewall on its inbound port).
                let deaf = pick(&mut self.rng);
                for row in cut.iter_mut() {
                    row[deaf] = true;
                }
            }
            4 => {
                // A site that cannot speak.
                let mute = pick(&mut self.rng);
                cut[mute].fill(true);
            }
            _ => {
                // Reachability that is not transitive: a and c lose each
                // other while both still see everyone else.
                let (a, c) = (pick(&mut self.rng), pick(&mut self.rng));
                cut[a][c] = true;
                cut[c][a] = true;
            }
        }
        self.engine.set_cuts(cut);
    }

    /// Checks what a step did, as the runtime would report it: decisions
    /// as soon as they are learned (written lazily, or durable), submissions
    /// done or failed.
    pub(crate) fn check(
        &mut self,
        site: SiteId,
        report: Result<Report, EngineError>,
    ) -> Result<(), Violation> {
        let report = match report {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e.0)),
        };
        // A decision counts once learned: its votes are durable, and its
        // own record may wait for a later sync (`Durability::Lazy`).
        for r in report.durable.iter().chain(&report.lazy) {
            if let Record::Decide { slot, value } = r {
                if let Err(e) = self.checker.decided(site, *slot, value) {
                    return Err(self.fail(e));
                }
            }
        }
        if report.torn {
            self.crash(site);
            return Ok(());
        }
        let decided = report
            .durable
            .iter()
            .chain(&report.lazy)
            .any(|r| matches!(r, Record::Decide { .. }));
        for c in &report.completed {
            self.open.remove(&c.id);
            if let Err(e) = self
                .checker
                .completed(c.id, c.slot, c.index, report.applied)
            {
                return Err(self.fail(format!("site {site}: {e}")));
            }
        }
        for id in &report.failed {
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
        if decided {
            self.crash_at_the_worst_moment(site);
        }
        Ok(())
    }

    /// Now and then crashes a leader at the worst moment for its parallel
    /// write (SPEC 5): it just decided, so its commits left, while a write
    /// of its own is still in flight. A leader that counted its vote before
    /// its sync (`Flaw::OwnVoteBeforeSync`) then loses a vote a decision
    /// rested on. The draw is from a stream of its own, so that the other
    /// faults keep their seeds' histories.
    fn crash_at_the_worst_moment(&mut self, site: SiteId) {
        let leading = self.engine.core(site).is_some_and(|c| c.is_leading());
        let in_flight = !self.engine.site(site).disk.unsynced.is_empty();
        let n = self.p.sites as usize;
        let down = n - self.engine.alive().len();
        let room = down < ((n - 1) / 2).max(1);
        if self.chaos() && leading && in_flight && room && self.worst.random_bool(0.2) {
            self.crash(site);
        }
    }

    /// Whether faults may change now.
    pub(crate) fn chaos(&self) -> bool {
        self.faults && !self.holding
    }

    /// The largest set of live, voting sites that all hear each other (a
    /// site that lost its disk counts as failed until it votes again).
    pub(crate) fn largest_talking_set(&self) -> Vec<SiteId> {
        let n = self.p.sites;
        let mut best = Vec::new();
        for mask in 0u32..(1 << n) {
            let set: Vec<SiteId> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            let ok = set.len() > best.len()
                && set.iter().all(|&a| {
                    self.engine
                        .core(a)
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
    pub(crate) fn hold(&mut self) -> Result<(), Violation> {
        self.holding = true;
        self.loss = 0.0;
        self.dup = 0.0;
        let n = self.p.sites;
        if self.p.deaf_in_hold && n >= 3 {
            // The last n - q sites hear nobody from now on.
            for deaf in (n / 2 + 1)..n {
                for from in 0..n {
                    self.engine.set_cut(from, deaf, true);
                }
            }
        }
        self.majority = self.largest_talking_set();
        let quorum = self.p.sites as usize / 2 + 1;
        let start = self.engine.now();
        while self.engine.now() < start + HOLD_MS {
            let now = self.engine.now();
            let watch = now >= start + HOLD_SETTLE_MS
                && now < start + HOLD_SETTLE_MS + HOLD_WATCH_MS
                && self.majority.len() >= quorum;
            self.step += 1;
            self.engine.advance(TICK_MS);
            // Users submit everywhere (a site that cannot hear has work and
            // would run for leader); what the majority's users submit must
            // be decided.
            if self.rng.random_bool(0.15) {
                let site = self.rng.random_range(0..self.p.sites);
                if let Some(id) = self.submit(site)? {
                    if watch && self.majority.contains(&site) {
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

    pub(crate) fn feed(&mut self, site: SiteId, input: Input) -> Result<(), Violation> {
        let torn = self.chaos() && self.rng.random_bool(0.0005);
        let (engine, mut env) = self.parts();
        let report = engine.step(site, input, torn, &mut env);
        self.check(site, report)
    }

    pub(crate) fn submit(&mut self, site: SiteId) -> Result<Option<OpId>, Violation> {
        let Some(id) = self.engine.next_op_id(site) else {
            return Ok(None);
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
                time: chrono::DateTime::from_timestamp_millis(self.engine.now() as i64)
                    .unwrap_or_default(),
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
    pub(crate) fn advance(&mut self, submit_rate: f64) -> Result<(), Violation> {
        self.step += 1;
        self.engine.advance(TICK_MS);
        let n = self.p.sites;
        if self.faults {
            let down = n as usize - self.engine.alive().len();
            let max_down = (n as usize - 1) / 2;
            if self.rng.random_bool(0.004) && down < max_down.max(1) {
                // Half the crashes hit a leader: its writes in flight (its
                // own accepts, synced while its followers ack them) are
                // where a crash hurts most.
                let leader = (0..n).find(|&i| self.engine.core(i).is_some_and(|c| c.is_leading()));
                let victim = match leader {
                    Some(l) if self.rng.random_bool(0.5) => l,
                    _ => self.rng.random_range(0..n),
                };
                self.crash(victim);
                // Now and then the disk is lost too (a replaced disk), while
                // every other site votes: one amnesiac at a time.
                if n > 1 && self.rng.random_bool(0.3) && self.all_others_vote(victim) {
                    self.engine.wipe(victim);
                    self.wiped.push(victim);
                }
            }
            if self.rng.random_bool(0.01) {
                let dead: Vec<SiteId> = (0..n).filter(|&i| !self.engine.is_up(i)).collect();
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

    /// Delivers the messages and completes the syncs that are due, then
    /// ticks every site.
    pub(crate) fn deliver_and_tick(&mut self) -> Result<(), Violation> {
        let n = self.p.sites;
        // Deliver what is due and complete the syncs that are due, in a
        // random order among simultaneous ones: a follower's ack may reach
        // a leader before the leader's own sync completes.
        let now = self.engine.now();
        let mut due: Vec<Due> = self
            .engine
            .take_due(now)
            .into_iter()
            .map(Due::Message)
            .collect();
        due.extend(self.engine.take_due_syncs(now).into_iter().map(Due::Sync));
        for k in (1..due.len()).rev() {
            let j = self.rng.random_range(0..=k);
            due.swap(k, j);
        }
        for e in due {
            match e {
                Due::Message(e) => {
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
                Due::Sync(s) => {
                    let torn = self.chaos() && self.rng.random_bool(0.003);
                    let (engine, mut env) = self.parts();
                    let report = engine.complete_sync(s, torn, &mut env);
                    self.check(s.site, report)?;
                }
            }
        }
        for site in 0..n {
            self.feed(site, Input::Tick)?;
        }
        if std::env::var("SIM_DEBUG").is_ok() && self.step.is_multiple_of(20) {
            let v: Vec<String> = self
                .engine
                .sites()
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
            eprintln!("t={} faults={} {:?}", self.engine.now(), self.faults, v);
        }
        let engine = &self.engine;
        self.wiped.retain(|&w| {
            engine
                .core(w)
                .is_none_or(|c| c.membership() != Membership::Voting)
        });
        Ok(())
    }

    pub(crate) fn check_logs(&self) -> Result<(), Violation> {
        for (i, s) in self.engine.sites().iter().enumerate() {
            if let Err(e) = self.checker.applied_log(i as SiteId, &s.disk.archive) {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    pub(crate) fn run(&mut self) -> Result<(), Violation> {
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
        self.engine.heal_all();
        self.loss = 0.0;
        self.dup = 0.0;
        for i in 0..self.p.sites {
            if !self.engine.is_up(i) {
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
            .engine
            .sites()
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
    pub(crate) fn converged(&self) -> bool {
        let chosen = self.checker.chosen.len() as Slot;
        let contiguous = self
            .checker
            .chosen
            .keys()
            .next_back()
            .is_none_or(|&m| m + 1 == chosen);
        contiguous
            && self.open.is_empty()
            && self.engine.sites().iter().all(|s| {
                // Applied, not only decided: the last decisions may still
                // wait for their sync.
                s.state.next_slot() == chosen
                    && s.core
                        .as_ref()
                        .is_some_and(|c| c.decided_prefix() == chosen && c.pending_count() == 0)
            })
    }

    pub(crate) fn check_final_states(&self) -> Result<(), Violation> {
        let sites = self.engine.sites();
        let first = &sites[0].state;
        for (i, s) in sites.iter().enumerate() {
            if s.state != *first {
                return Err(self.fail(format!(
                    "determinism: site {i}'s state differs from site 0's"
                )));
            }
        }
        // Exactly-once application: a tweet that reached the log twice
        // shows once.
        let want = distinct_tweets(&sites[0].disk.archive);
        if first.tweet_count() != want {
            return Err(self.fail(format!(
                "exactly-once: the state shows {} tweets, the log holds {want} distinct ones",
                first.tweet_count()
            )));
        }
        Ok(())
    }
}
