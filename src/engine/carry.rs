//! A step of one site: its core is handed an input at the engine's time,
//! and the output is carried out the way the runtime must (the core's
//! module comment): `send_now` sent at once; the decided slots archived
//! and applied and the submissions reported, unless an earlier write is
//! still in flight; the records written as one group commit, in flight
//! until its sync completes; then, and only then, the decided slots of
//! an output that waited archived and applied, the messages of `send` sent
//! (the site's own acks handed back to its core, which is how a leader's
//! vote counts only once durable) and the catch-up answers served, the
//! submissions reported; now and then a checkpoint. The [`Report`] says
//! what happened, for the driver to check and show.

use super::{Engine, EngineError, Env, MsgId, Recovered, SyncDue, SyncId};
use crate::paxos::{
    Completion, Core, CoreConfig, DecidedEntry, Durability, Input, Message, Output, Record,
    ServeRequest, SiteId, Slot, TraceEvent,
};
use crate::state::op::{OpId, Value};
use std::collections::VecDeque;

/// The part of an output that waits for the sync of its records (and of
/// every earlier output's).
#[derive(Clone, Debug, Default)]
pub(super) struct Held {
    send: Vec<(SiteId, Message)>,
    committed: Vec<(Slot, Value)>,
    completed: Vec<Completion>,
    failed: Vec<OpId>,
    serve: Vec<ServeRequest>,
}

impl Held {
    fn append(&mut self, mut other: Held) {
        self.send.append(&mut other.send);
        self.committed.append(&mut other.committed);
        self.completed.append(&mut other.completed);
        self.failed.append(&mut other.failed);
        self.serve.append(&mut other.serve);
    }
}

/// What became of one message a site sent.
#[derive(Clone, Debug)]
pub enum Sent {
    /// Queued for `to` (twice, as two entries, when duplicated).
    Queued { to: SiteId, id: MsgId },
    /// The link to `to` is cut: the message is lost.
    Cut { to: SiteId, msg: Message },
    /// The [`Env`] lost it.
    Lost { to: SiteId, msg: Message },
}

/// What one step of a site did.
#[derive(Debug, Default)]
pub struct Report {
    /// The site was up and its core ran.
    pub ran: bool,
    /// The records whose sync completed in this step: the step's own when
    /// the sync is immediate, an earlier step's at a sync event; of a torn
    /// group commit, all or none.
    pub durable: Vec<Record>,
    /// Decisions the step learned that wait unwritten for a later sync
    /// (`Durability::Lazy`: a crash may lose them), or whose sync is in
    /// flight; their slots are applied at once.
    pub lazy: Vec<Record>,
    /// The power failed during the group commit: the site crashed, and
    /// nothing after the write happened.
    pub torn: bool,
    /// Slots applied (their votes durable; their decisions perhaps only
    /// in `lazy`), in order.
    pub committed: Vec<(Slot, Value)>,
    /// The slot the site applies next, after the step.
    pub applied: Slot,
    pub completed: Vec<Completion>,
    pub failed: Vec<OpId>,
    /// Every message sent: at once, then after the sync (the catch-up
    /// answers last); in that order again for what the site's own acks,
    /// handed back after a sync, led to.
    pub sent: Vec<Sent>,
    pub trace: Vec<TraceEvent>,
}

impl Engine {
    /// Hands `input` to the core of `site` at the engine's time and carries
    /// out its output. With `torn`, the power fails during the sync of the
    /// site's oldest write in flight, this step's if there is no other
    /// (`env` says which pages reach the disk), and the site crashes.
    /// A site that is down does nothing (`ran` is false).
    pub fn step(
        &mut self,
        site: SiteId,
        input: Input,
        torn: bool,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let now = self.now;
        let Some(core) = self.sites[site as usize].core.as_mut() else {
            return Ok(Report::default());
        };
        let out = core.step(now, input);
        self.carry_out(site, out, torn, env)
    }

    /// Starts (or restarts) a site from what its disk holds.
    pub fn restart(
        &mut self,
        site: SiteId,
        cfg: CoreConfig,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let recovered = self.recover(site)?;
        self.boot(site, cfg, recovered, env)
    }

    /// Starts a site on `recovered` (what [`Engine::recover`] read, which a
    /// test may alter to model a broken disk).
    pub fn boot(
        &mut self,
        site: SiteId,
        cfg: CoreConfig,
        recovered: Recovered,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let s = &mut self.sites[site as usize];
        s.disk.archive.truncate(recovered.applied as usize);
        s.state = recovered.state;
        s.boot += 1;
        s.seq = 0;
        let mut core = Core::new(cfg, recovered.acceptor, recovered.applied);
        let out = core.start(self.now);
        s.core = Some(core);
        self.carry_out(site, out, false, env)
    }

    /// Carries out one step's output the way the runtime must, and what
    /// the site's own acks handed back after their sync lead to.
    fn carry_out(
        &mut self,
        site: SiteId,
        out: Output,
        torn: bool,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let mut report = Report {
            ran: true,
            ..Report::default()
        };
        let mut own = VecDeque::new();
        self.carry_one(site, out, torn, env, &mut report, &mut own)?;
        self.hand_back(site, own, env, &mut report)?;
        Ok(report)
    }

    /// Hands this site's own acks (released by a sync) back to its core,
    /// and carries out what they lead to.
    pub(super) fn hand_back(
        &mut self,
        site: SiteId,
        mut own: VecDeque<Message>,
        env: &mut dyn Env,
        report: &mut Report,
    ) -> Result<(), EngineError> {
        while let Some(msg) = own.pop_front() {
            let now = self.now;
            let Some(core) = self.sites[site as usize].core.as_mut() else {
                break;
            };
            let out = core.step(now, Input::Message { from: site, msg });
            self.carry_one(site, out, false, env, report, &mut own)?;
        }
        Ok(())
    }

    /// One output: `send_now` leaves at once; `persist` is written and
    /// held in flight until its sync completes (at once, or as a queued
    /// event: [`Env::sync_delay`]), and the rest of the output waits for
    /// it. An output without records waits for the writes before it; so
    /// does one with decisions alone (`Durability::Lazy`), whose records
    /// wait unwritten for the next group commit.
    fn carry_one(
        &mut self,
        site: SiteId,
        out: Output,
        torn: bool,
        env: &mut dyn Env,
        report: &mut Report,
        own: &mut VecDeque<Message>,
    ) -> Result<(), EngineError> {
        let lazy = out.durability() == Durability::Lazy;
        let Output {
            mut persist,
            send_now,
            send,
            committed,
            completed,
            failed,
            serve,
            trace,
        } = out;
        report.trace.extend(trace);
        for (to, msg) in send_now {
            self.transmit(site, to, msg, env, &mut report.sent);
        }
        let held = Held {
            send,
            committed,
            completed,
            failed,
            serve,
        };
        let s = &mut self.sites[site as usize];
        if lazy {
            report.lazy.extend(persist.iter().cloned());
            s.disk.lazy.append(&mut persist);
        } else if !persist.is_empty() && !s.disk.lazy.is_empty() {
            persist.splice(0..0, std::mem::take(&mut s.disk.lazy));
        }
        if persist.is_empty() {
            match s.waiting.last_mut() {
                Some((_, last)) => last.append(held),
                None if !torn => self.release(site, held, env, report, own)?,
                None => {}
            }
        } else {
            let id = self.group_commit(site, persist, held, env, report, own)?;
            if !torn {
                match env.sync_delay(site) {
                    None => self.synced(site, id, env, report, own)?,
                    Some(d) => self.syncs.push(SyncDue {
                        id,
                        site,
                        due: self.now.saturating_add(d),
                    }),
                }
            }
        }
        if torn {
            self.power_fails(site, env, report);
        }
        Ok(())
    }

    /// Puts a group commit of `persist` in flight, `held` to be released
    /// when its sync completes; returns its id. The decided slots and the
    /// submissions are released at once when no earlier write waits (see
    /// below).
    fn group_commit(
        &mut self,
        site: SiteId,
        persist: Vec<Record>,
        mut held: Held,
        env: &mut dyn Env,
        report: &mut Report,
        own: &mut VecDeque<Message>,
    ) -> Result<SyncId, EngineError> {
        let s = &mut self.sites[site as usize];
        let id = self.next_sync;
        self.next_sync += 1;
        // The runtime archives and applies the decided slots and
        // answers their submissions while the records sync (the core's
        // module comment, steps 3 and 5): a decision needs no sync of
        // this site's. Only when no earlier write waits: the slots it
        // holds come first.
        let early = s.waiting.is_empty().then(|| Held {
            committed: std::mem::take(&mut held.committed),
            completed: std::mem::take(&mut held.completed),
            failed: std::mem::take(&mut held.failed),
            ..Held::default()
        });
        if early.is_some() {
            // Its decisions are known (and announced) before they are
            // durable here, as lazy ones are.
            let decisions = persist
                .iter()
                .filter(|r| matches!(r, Record::Decide { .. }));
            report.lazy.extend(decisions.cloned());
        }
        s.disk.unsynced.push((id, persist));
        s.waiting.push((id, held));
        if let Some(early) = early {
            // (No checkpoint here: a write is in flight.)
            self.release(site, early, env, report, own)?;
        }
        Ok(id)
    }

    /// The sync of write `id` of `site` completed (and with it every
    /// earlier write of the site): its records are durable, and what
    /// waited for them happens now.
    pub(super) fn synced(
        &mut self,
        site: SiteId,
        id: SyncId,
        env: &mut dyn Env,
        report: &mut Report,
        own: &mut VecDeque<Message>,
    ) -> Result<(), EngineError> {
        loop {
            let s = &mut self.sites[site as usize];
            let Some(&(first, _)) = s.disk.unsynced.first() else {
                break;
            };
            if first > id {
                break;
            }
            let (_, records) = s.disk.unsynced.remove(0);
            let (_, held) = s.waiting.remove(0);
            self.write_batch(site, &records, false, env);
            report.durable.extend(records);
            self.release(site, held, env, report, own)?;
        }
        Ok(())
    }

    /// The power fails at `site` while its oldest unsynced write is being
    /// synced: each of its pages reaches the disk or not, as `env` says;
    /// the later writes are lost; the site crashes.
    pub(super) fn power_fails(&mut self, site: SiteId, env: &mut dyn Env, report: &mut Report) {
        let s = &mut self.sites[site as usize];
        let oldest = (!s.disk.unsynced.is_empty()).then(|| s.disk.unsynced.remove(0));
        if let Some((_, records)) = oldest {
            if self.write_batch(site, &records, true, env) {
                report.durable.extend(records);
            }
        }
        self.crash(site);
        report.torn = true;
    }

    /// What waited for a sync: the decided slots applied and archived, the
    /// messages sent (this site's own acks to `own`), the catch-up answers
    /// served, the submissions reported; now and then a checkpoint.
    fn release(
        &mut self,
        site: SiteId,
        held: Held,
        env: &mut dyn Env,
        report: &mut Report,
        own: &mut VecDeque<Message>,
    ) -> Result<(), EngineError> {
        let Held {
            send,
            committed,
            completed,
            failed,
            serve,
        } = held;
        self.apply(site, &committed)?;
        report.applied = self.sites[site as usize].state.next_slot();
        for (to, msg) in send {
            if to == site {
                own.push_back(msg);
            } else {
                self.transmit(site, to, msg, env, &mut report.sent);
            }
        }
        for req in serve {
            let archive = &self.sites[site as usize].disk.archive;
            let entries = (req.from..req.to.min(archive.len() as Slot))
                .map(|slot| DecidedEntry {
                    slot,
                    value: archive[slot as usize].clone(),
                })
                .collect();
            let msg = Message::Decided {
                decided_upto: req.decided_upto,
                entries,
                promised: Default::default(),
                probe: 0,
            };
            self.transmit(site, req.to_site, msg, env, &mut report.sent);
        }
        self.maybe_checkpoint(site);
        report.committed.extend(committed);
        report.completed.extend(completed);
        report.failed.extend(failed);
        Ok(())
    }

    /// Applies decided slots to the site's state and archives them.
    fn apply(&mut self, site: SiteId, committed: &[(Slot, Value)]) -> Result<(), EngineError> {
        let s = &mut self.sites[site as usize];
        for (slot, value) in committed {
            if let Err(e) = s.state.apply(*slot, value) {
                return Err(EngineError(format!("apply order at site {site}: {e}")));
            }
            if s.disk.archive.len() as Slot != *slot {
                let have = s.disk.archive.len();
                return Err(EngineError(format!(
                    "apply order at site {site}: slot {slot} committed after {have} slots"
                )));
            }
            s.disk.archive.push(value.clone());
            s.since_checkpoint += 1;
        }
        Ok(())
    }
}
