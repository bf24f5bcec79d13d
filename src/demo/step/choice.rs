//! The choices of a stepped run: what each one does to the engine, and
//! the file a run is saved in (its seed and its choices, JSON).

use super::{Stepper, HORIZON_MS, TICK_MS};
use crate::engine::{Delivery, EngineError, InFlight, MsgId};
use crate::paxos::{CoreConfig, Input, SiteId};
use crate::site::api::record::DropReason;
use crate::site::api::record::{Msg, What};
use crate::state::op::{Command, Op};
use crate::ui::links::Links;
use crate::ui::DemoEvent;
use anyhow::Context;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One choice of the user (or of free running): the run is its seed and
/// these, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Choice {
    /// Deliver message `id` now (the clock moves to when it is due, if
    /// that is later).
    Deliver {
        id: MsgId,
    },
    /// Drop message `id`.
    Drop {
        id: MsgId,
    },
    /// Queue a copy of message `id`.
    Duplicate {
        id: MsgId,
    },
    /// The clock moves to `site`'s next timer, which fires.
    NextTimer {
        site: SiteId,
    },
    /// Run until a slot is decided for the first time.
    UntilDecision,
    /// Run (every message in time order, every timer) until `until_ms`.
    Run {
        until_ms: u64,
    },
    /// A user of `site` submits `op`.
    Submit {
        site: SiteId,
        op: Op,
    },
    Crash {
        site: SiteId,
    },
    Restart {
        site: SiteId,
    },
    /// Cut `site` off from every other site (`on`), or heal it.
    Cut {
        site: SiteId,
        on: bool,
    },
    /// The sites tweet now and then while the cluster runs.
    Chatter {
        on: bool,
    },
    /// The link matrix (`m`) as the user set it: every direction up or
    /// down, each site's loss and delay (see `net.rs`); `why`: the change
    /// in words. Runs saved before it existed load as they were.
    Links {
        links: Links,
        why: String,
    },
}

impl Choice {
    /// In a few words, for the message line.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |s: &SiteId| names.get(*s as usize).cloned().unwrap_or_default();
        match self {
            Choice::Deliver { id } => format!("deliver #{id}"),
            Choice::Drop { id } => format!("drop #{id}"),
            Choice::Duplicate { id } => format!("duplicate #{id}"),
            Choice::NextTimer { site } => format!("{}'s next timer", name(site)),
            Choice::UntilDecision => "run until a decision".to_string(),
            Choice::Run { until_ms } => format!("run until t={}", crate::ui::step::secs(*until_ms)),
            Choice::Submit { site, op } => format!("{} submits {}", name(site), op.summary()),
            Choice::Crash { site } => format!("crash {}", name(site)),
            Choice::Restart { site } => format!("restart {}", name(site)),
            Choice::Cut { site, on: true } => format!("cut {} off", name(site)),
            Choice::Cut { site, on: false } => format!("heal {}", name(site)),
            Choice::Chatter { on } => format!("chatter {}", if *on { "on" } else { "off" }),
            Choice::Links { why, .. } => format!("links: {why}"),
        }
    }
}

impl Stepper {
    /// Carries out a choice. `None`: there was nothing to do (no such
    /// message, the site is down...): the choice is not kept. `Some`: what
    /// happened, for the message line.
    pub(super) fn apply(&mut self, c: &Choice) -> Result<Option<String>, EngineError> {
        let names = self.names.clone();
        let name = |s: SiteId| names.get(s as usize).cloned().unwrap_or_default();
        let note = match *c {
            Choice::Deliver { id } => {
                let Some(m) = self.engine.take(id) else {
                    return Ok(None);
                };
                self.engine.advance_to(m.due);
                let what = format!(
                    "#{id} {} {}→{}",
                    m.msg.kind().name(),
                    name(m.from),
                    name(m.to)
                );
                let delivered = self.deliver_now(m)?;
                match delivered {
                    true => format!("delivered {what}"),
                    false => format!("{what} is lost: its link is cut or its receiver down"),
                }
            }
            Choice::Drop { id } => {
                let Some(m) = self.engine.take(id) else {
                    return Ok(None);
                };
                let what = format!(
                    "#{id} {} {}→{}",
                    m.msg.kind().name(),
                    name(m.from),
                    name(m.to)
                );
                self.lost(m, DropReason::FaultIn);
                format!("dropped {what}")
            }
            Choice::Duplicate { id } => {
                let Some(from) = self.engine.queued(id).map(|m| m.from) else {
                    return Ok(None);
                };
                let delay = self.env.delay_from(from);
                let Some(copy) = self.engine.duplicate(id, delay) else {
                    return Ok(None);
                };
                self.sent_copy(copy);
                format!("#{id} duplicated: the copy is #{copy}")
            }
            Choice::NextTimer { site } => return self.next_timer(site, &name(site)),
            Choice::UntilDecision => self.until_decision()?,
            Choice::Run { until_ms } => {
                self.run_until(until_ms, false)?;
                format!("ran until t={}", crate::ui::step::secs(until_ms))
            }
            Choice::Submit { site, ref op } => return self.submit(site, op.clone()),
            _ => return self.apply_fault(c),
        };
        self.publish_status();
        Ok(Some(note))
    }

    /// Crash, restart, cut, chatter, links.
    fn apply_fault(&mut self, c: &Choice) -> Result<Option<String>, EngineError> {
        let names = self.names.clone();
        let name = |s: SiteId| names.get(s as usize).cloned().unwrap_or_default();
        let note = match *c {
            Choice::Crash { site } => {
                if !self.engine.is_up(site) {
                    return Ok(None);
                }
                self.crash(site);
                format!("{} crashed (its disk is kept; r restarts it)", name(site))
            }
            Choice::Restart { site } => {
                if self.engine.is_up(site) {
                    return Ok(None);
                }
                self.boot(site)?;
                self.seen(site, What::Restarted);
                let client = Self::client();
                let up = DemoEvent::Up {
                    site: site as usize,
                    client,
                };
                self.out.push(crate::ui::Msg::Demo(up));
                format!("{} restarted from its disk", name(site))
            }
            Choice::Cut { site, on } => {
                if site >= self.n() {
                    return Ok(None);
                }
                let mut links = self.env.links.clone();
                links.cut_off(site as usize, on);
                self.take_links(links);
                self.seen(site, if on { What::CutOff } else { What::Healed });
                let ev = DemoEvent::CutOff {
                    site: site as usize,
                    on,
                };
                self.out.push(crate::ui::Msg::Demo(ev));
                Choice::Cut { site, on }.describe(&names)
            }
            Choice::Links { ref links, ref why } => {
                if !links.fits(self.names.len()) || *links == self.env.links {
                    return Ok(None);
                }
                let before = self.env.links.filters();
                self.take_links(links.clone());
                // Each site whose part changed notes its filter, as a real
                // site does when the live demo sets it.
                for (i, fault) in links.filters().into_iter().enumerate() {
                    if before.get(i) != Some(&fault) {
                        self.seen(i as SiteId, What::Fault { fault });
                    }
                }
                let ev = DemoEvent::Links {
                    links: links.clone(),
                    why: why.clone(),
                };
                self.out.push(crate::ui::Msg::Demo(ev));
                c.describe(&names)
            }
            Choice::Chatter { on } => {
                self.chatter = on;
                self.next_chat = self.engine.now() + self.rng.random_range(1000..2000);
                self.out.push(crate::ui::Msg::Demo(DemoEvent::Chatter(on)));
                c.describe(&names)
            }
            _ => return Ok(None),
        };
        self.publish_status();
        Ok(Some(note))
    }

    /// The network takes `links` on: the directions down are the engine's
    /// cut links; loss and delay are the network's (`net.rs`).
    fn take_links(&mut self, links: Links) {
        for a in 0..self.n() {
            for b in (0..self.n()).filter(|&b| b != a) {
                self.engine
                    .set_cut(a, b, links.is_down(a as usize, b as usize));
            }
        }
        self.env.links = links;
    }

    /// Starts (or restarts) a site from its disk.
    pub(super) fn boot(&mut self, site: SiteId) -> Result<(), EngineError> {
        let cfg = CoreConfig::new(
            self.n(),
            site,
            super::TIMEOUT_MS,
            super::SUBMIT_TIMEOUT_MS,
            self.rng.random(),
        );
        let recovered = self.engine.recover(site)?;
        let i = site as usize;
        self.booted_at[i] = self.engine.now();
        self.prefix[i] = None;
        self.status[i] = None;
        let mut status = self.status_of(site);
        status.decided = recovered.applied;
        let snapshot = crate::site::api::SiteEvent::Snapshot {
            state: Box::new(recovered.state.clone()),
            status,
        };
        self.out.push(crate::ui::Msg::Site(i, snapshot));
        let report = self.engine.boot(site, cfg, recovered, &mut self.env)?;
        self.show(site, report);
        Ok(())
    }

    fn crash(&mut self, site: SiteId) {
        self.engine.crash(site);
        self.seen(site, What::Crashed);
        let down = DemoEvent::Down {
            site: site as usize,
            reason: None,
        };
        self.out.push(crate::ui::Msg::Demo(down));
        // Its waiting submitters hear what a real site's would.
        let gone: Vec<_> = self
            .waiting
            .iter()
            .filter(|(id, _)| id.site == site)
            .map(|(id, tag)| (*id, *tag))
            .collect();
        for (id, tag) in gone {
            self.waiting.remove(&id);
            let reply = Err(crate::site::api::Refusal::unavailable(
                "the site stopped before answering",
            ));
            self.out.push(crate::ui::Msg::Reply { tag, reply });
        }
    }

    fn submit(&mut self, site: SiteId, op: Op) -> Result<Option<String>, EngineError> {
        let Some(id) = self.engine.next_op_id(site) else {
            return Ok(None);
        };
        self.submitted.insert(id);
        if let Some(tag) = self.next_tag.take() {
            self.waiting.insert(id, tag);
        }
        let what = op.summary();
        let input = Input::Submit(Command { id, op });
        let report = self.engine.step(site, input, false, &mut self.env)?;
        self.show(site, report);
        self.publish_status();
        Ok(Some(format!("submitted {what} ({id})")))
    }

    /// Hands a message to its receiver now; false: it was lost.
    pub(super) fn deliver_now(&mut self, m: InFlight) -> Result<bool, EngineError> {
        let (id, from, to) = (m.id, m.from, m.to);
        let msg = Msg::of(&m.msg);
        let kept = m.clone();
        match self.engine.receive(m, &mut self.env)? {
            Delivery::Received(report) => {
                let seq = Some(id);
                self.seen(to, What::Receive { from, seq, msg });
                self.show(to, report);
                Ok(true)
            }
            Delivery::Cut => {
                self.lost(kept, DropReason::FaultIn);
                Ok(false)
            }
            Delivery::Down => {
                self.lost(kept, DropReason::PeerDown);
                Ok(false)
            }
        }
    }

    fn next_timer(&mut self, site: SiteId, name: &str) -> Result<Option<String>, EngineError> {
        if !self.engine.is_up(site) {
            return Ok(None);
        }
        let fired = self
            .engine
            .next_timer(site, TICK_MS, HORIZON_MS, &mut self.env)?;
        let now = crate::ui::step::secs(self.engine.now());
        let note = match fired {
            Some(report) => {
                self.show(site, report);
                format!("{name}'s timer fired at t={now}")
            }
            None => format!("no timer of {name} fired in 60 s (now t={now})"),
        };
        self.publish_status();
        Ok(Some(note))
    }

    fn until_decision(&mut self) -> Result<String, EngineError> {
        let until = self.engine.now() + HORIZON_MS;
        let now = |s: &Self| crate::ui::step::secs(s.engine.now());
        Ok(match self.run_until(until, true)? {
            Some((slot, site)) => format!(
                "slot {slot} decided (first at {}) at t={}",
                self.names[site as usize],
                now(self)
            ),
            None => format!("nothing decided in 60 s (now t={})", now(self)),
        })
    }

    /// Runs: every [`TICK_MS`], the messages due are delivered in time
    /// order and every site's timers are checked, until `until` (or, with
    /// `first_decision`, a slot is decided for the first time: which).
    pub(super) fn run_until(
        &mut self,
        until: u64,
        first_decision: bool,
    ) -> Result<Option<(crate::paxos::Slot, SiteId)>, EngineError> {
        let before = self.chosen.len();
        while self.engine.now() < until {
            self.tick()?;
            if first_decision && self.chosen.len() > before {
                return Ok(self.last_decided);
            }
        }
        Ok(None)
    }

    /// One tick of running: deliveries due, timers, chatter.
    pub(super) fn tick(&mut self) -> Result<(), EngineError> {
        let next = (self.engine.now() / TICK_MS + 1) * TICK_MS;
        self.engine.advance_to(next);
        let mut due = self.engine.take_due(next);
        due.sort_by_key(|m| (m.due, m.id));
        for m in due {
            self.deliver_now(m)?;
        }
        for site in 0..self.n() {
            let report = self.engine.step(site, Input::Tick, false, &mut self.env)?;
            if report.ran {
                self.show(site, report);
            }
        }
        if self.chatter && next >= self.next_chat {
            self.chat()?;
        }
        self.publish_status();
        Ok(())
    }

    /// A tweet of a random running site (chatter).
    fn chat(&mut self) -> Result<(), EngineError> {
        self.next_chat = self.engine.now() + self.rng.random_range(1000..2000);
        let live = self.engine.alive();
        if live.is_empty() {
            return Ok(());
        }
        let site = live[self.rng.random_range(0..live.len())];
        self.chats += 1;
        let lines = &super::super::CHATTER;
        let text = format!(
            "{} #{}",
            lines[self.rng.random_range(0..lines.len())],
            self.chats
        );
        let op = Op::Tweet {
            user: self.names[site as usize].clone(),
            text,
            time: self.time(),
        };
        self.submit(site, op)?;
        Ok(())
    }

    /// The wall-clock time of now.
    pub(super) fn time(&self) -> chrono::DateTime<chrono::Utc> {
        let ms = self.epoch_ms.saturating_add(self.engine.now());
        chrono::DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
    }
}

/// A run as saved (`--save`) and loaded (`--load`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedRun {
    /// Always `"tweettui-step"`.
    pub format: String,
    pub version: u32,
    pub sites: Vec<String>,
    pub seed: u64,
    /// Virtual time 0 as ms since the Unix epoch (the time of tweets).
    pub epoch_ms: u64,
    pub choices: Vec<Choice>,
}

const FORMAT: &str = "tweettui-step";
const VERSION: u32 = 1;

/// Writes the run's seed and choices to `path`.
pub fn save(s: &Stepper, path: &Path) -> anyhow::Result<()> {
    let run = SavedRun {
        format: FORMAT.to_string(),
        version: VERSION,
        sites: s.names.clone(),
        seed: s.seed,
        epoch_ms: s.epoch_ms,
        choices: s.choices.clone(),
    };
    let text = serde_json::to_string_pretty(&run)?;
    std::fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the run to {}", path.display()))
}

/// Reads a saved run and plays its choices: a file that is not one, or
/// whose choices cannot be taken, is refused with what is wrong.
pub fn load(path: &Path) -> anyhow::Result<Stepper> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the saved run {}", path.display()))?;
    let run: SavedRun = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a saved run of demo --step", path.display()))?;
    anyhow::ensure!(
        run.format == FORMAT && run.version == VERSION,
        "{}: a run of format {:?} version {}, this program reads {FORMAT:?} version {VERSION}",
        path.display(),
        run.format,
        run.version
    );
    let most = crate::config::LOOPBACK_NAMES.len();
    anyhow::ensure!(
        (1..=most).contains(&run.sites.len()),
        "{}: {} sites; the demo runs 1 to {most}",
        path.display(),
        run.sites.len()
    );
    let mut s = Stepper::new(run.sites, run.seed, run.epoch_ms)?;
    s.rebuild(run.choices)
        .with_context(|| format!("{}: the run cannot be played back", path.display()))?;
    s.publish_view();
    Ok(s)
}
