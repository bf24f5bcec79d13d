//! A step of one site: its core is handed an input at the engine's time,
//! and the output is carried out the way the runtime must (the core's
//! module comment): the records made durable (one group commit), the
//! decided slots applied and archived, the messages sent and the catch-up
//! answers served, the submissions reported; now and then a checkpoint.
//! The [`Report`] says what happened, for the driver to check and show.

use super::{Engine, EngineError, Env, MsgId, Recovered};
use crate::paxos::{
    Completion, Core, CoreConfig, DecidedEntry, Input, Message, Output, Record, SiteId, Slot,
    TraceEvent,
};
use crate::state::op::{OpId, Value};

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
    /// The records that reached the disk: all of the step's, or (a torn
    /// group commit) none.
    pub durable: Vec<Record>,
    /// The power failed during the group commit: the site crashed, and
    /// nothing after the write happened.
    pub torn: bool,
    /// Slots applied, in order.
    pub committed: Vec<(Slot, Value)>,
    /// The slot the site applies next, after the step.
    pub applied: Slot,
    pub completed: Vec<Completion>,
    pub failed: Vec<OpId>,
    /// Every message sent (the catch-up answers last).
    pub sent: Vec<Sent>,
    pub trace: Vec<TraceEvent>,
}

impl Engine {
    /// Hands `input` to the core of `site` at the engine's time and carries
    /// out its output. With `torn`, the power fails during the step's group
    /// commit (`env` says which pages reach the disk) and the site crashes.
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

    /// Carries out one step's output the way the runtime must.
    fn carry_out(
        &mut self,
        site: SiteId,
        out: Output,
        torn: bool,
        env: &mut dyn Env,
    ) -> Result<Report, EngineError> {
        let Output {
            persist,
            send,
            committed,
            completed,
            failed,
            serve,
            trace,
        } = out;
        let mut report = Report {
            ran: true,
            ..Report::default()
        };
        if self.write_batch(site, &persist, torn, env) {
            report.durable = persist;
        }
        if torn {
            self.crash(site);
            report.torn = true;
            return Ok(report);
        }
        self.apply(site, &committed)?;
        report.applied = self.sites[site as usize].state.next_slot();
        for (to, msg) in send {
            self.transmit(site, to, msg, env, &mut report.sent);
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
        report.committed = committed;
        report.completed = completed;
        report.failed = failed;
        report.trace = trace;
        Ok(report)
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
