//! The simulated world: sites (cores, replicated state, disks of pages),
//! the network of queued messages with per-direction links, the faults,
//! and the checks run after every step.

use super::checker::*;
use super::*;

/// What survives a crash of one site.
#[derive(Clone, Default)]
pub(crate) struct Disk {
    /// Records synced since the last checkpoint.
    /// The WAL segment's bytes, as the real storage code writes them (one
    /// batch per group commit); past its end, preallocated zeros.
    pub(crate) wal: Vec<u8>,
    /// Records in the batches whose sync completed.
    pub(crate) synced: usize,
    /// The last checkpoint: applied slots, state, acceptor state.
    pub(crate) checkpoint: Option<(Slot, State, AcceptorState)>,
    /// Decided values in slot order (the archive).
    pub(crate) archive: Vec<Value>,
}

pub(crate) struct SimSite {
    pub(crate) core: Option<Core>,
    pub(crate) state: State,
    pub(crate) disk: Disk,
    pub(crate) boot: u64,
    pub(crate) seq: u64,
    pub(crate) since_checkpoint: u64,
}

pub(crate) struct Envelope {
    pub(crate) at: u64,
    pub(crate) from: SiteId,
    pub(crate) to: SiteId,
    pub(crate) msg: Message,
}

pub(crate) struct Sim {
    pub(crate) seed: u64,
    pub(crate) p: Params,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) now: u64,
    pub(crate) step: u64,
    pub(crate) sites: Vec<SimSite>,
    pub(crate) users: Vec<String>,
    pub(crate) net: Vec<Envelope>,
    /// `cut[a][b]`: messages from site a to site b are lost (one direction
    /// of one link; a partition cuts both directions of many).
    pub(crate) cut: Vec<Vec<bool>>,
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

    pub(crate) fn fail(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            step: self.step,
            now: self.now,
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
    pub(crate) fn restart(&mut self, site: SiteId) -> Result<(), Violation> {
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
    pub(crate) fn all_others_vote(&self, site: SiteId) -> bool {
        (0..self.p.sites).filter(|&i| i != site).all(|i| {
            !self.wiped.contains(&i)
                && self.sites[i as usize]
                    .core
                    .as_ref()
                    .is_none_or(|c| c.membership() == Membership::Voting)
        })
    }

    pub(crate) fn crash(&mut self, site: SiteId) {
        let s = &mut self.sites[site as usize];
        s.core = None;
        self.open.retain(|_, &mut at| at != site);
    }

    pub(crate) fn alive(&self) -> Vec<SiteId> {
        (0..self.p.sites)
            .filter(|&i| self.sites[i as usize].core.is_some())
            .collect()
    }

    pub(crate) fn connected(&self, a: SiteId, b: SiteId) -> bool {
        !self.cut[a as usize][b as usize]
    }

    /// One change of the network: a new fault, or all links healed.
    pub(crate) fn network_fault(&mut self) {
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
    pub(crate) fn write_batch(&mut self, site: SiteId, records: &[Record], torn: bool) -> bool {
        if records.is_empty() {
            return true;
        }
        // The flawed WAL writes a group commit as one batch per record, so
        // that a torn write can keep part of it.
        let batches: Vec<&[Record]> = if self.p.flaw == Flaw::NonAtomicGroupCommit {
            records.chunks(1).collect()
        } else {
            vec![records]
        };
        let mut bytes = Vec::new();
        for batch in batches {
            match tweettui::storage::encode_wal_batch(batch) {
                Ok(b) => bytes.extend(b),
                Err(_) => return false,
            }
        }
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
    pub(crate) fn carry_out(
        &mut self,
        site: SiteId,
        out: Output,
        torn: bool,
    ) -> Result<(), Violation> {
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

    pub(crate) fn transmit(&mut self, from: SiteId, to: SiteId, msg: Message) {
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
    pub(crate) fn hold(&mut self) -> Result<(), Violation> {
        self.holding = true;
        self.loss = 0.0;
        self.dup = 0.0;
        let n = self.p.sites as usize;
        if self.p.deaf_in_hold && n >= 3 {
            // The last n - q sites hear nobody from now on.
            for deaf in (n / 2 + 1)..n {
                for from in 0..n {
                    self.cut[from][deaf] = true;
                }
            }
        }
        self.majority = self.largest_talking_set();
        let quorum = self.p.sites as usize / 2 + 1;
        let start = self.now;
        while self.now < start + HOLD_MS {
            let watch = self.now >= start + HOLD_SETTLE_MS
                && self.now < start + HOLD_SETTLE_MS + HOLD_WATCH_MS
                && self.majority.len() >= quorum;
            self.step += 1;
            self.now += TICK_MS;
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
        let Some(core) = self.sites[site as usize].core.as_mut() else {
            return Ok(());
        };
        let out = core.step(self.now, input);
        self.carry_out(site, out, torn)
    }

    pub(crate) fn submit(&mut self, site: SiteId) -> Result<Option<OpId>, Violation> {
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
    pub(crate) fn advance(&mut self, submit_rate: f64) -> Result<(), Violation> {
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
    pub(crate) fn deliver_and_tick(&mut self) -> Result<(), Violation> {
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

    pub(crate) fn check_logs(&self) -> Result<(), Violation> {
        for (i, s) in self.sites.iter().enumerate() {
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
            && self.sites.iter().all(|s| {
                s.core
                    .as_ref()
                    .is_some_and(|c| c.decided_prefix() == chosen && c.pending_count() == 0)
            })
    }

    pub(crate) fn check_final_states(&self) -> Result<(), Violation> {
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
