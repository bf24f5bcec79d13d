//! `tweettui demo --step`: the demo's sites on the deterministic engine
//! (`crate::engine`), with the real screen. Nothing moves until the user
//! acts: every step (deliver, drop or duplicate a message, fire a site's
//! timer, run until a decision, run freely for a while, tweet, crash,
//! restart, cut off, set the link matrix, chatter) is a [`Choice`], carried out on the engine
//! and kept in a list. The engine draws nothing at random, so the seed and
//! the choices are the whole run: `u` takes the last choice back by
//! running the rest again from the seed, `--save` writes them to a file
//! and `--load` plays them back.
//!
//! The [`Stepper`] feeds the UI what real sites feed it (`SiteEvent`s of
//! the same vocabulary, demo events, answers to requests) plus a
//! [`StepView`] after every step, and serves the UI's requests from the
//! engine; the App barely knows the difference.
//!
//! - `mod.rs` (here): the stepper, its commands, free running, undo;
//! - `choice.rs`: the choices, what each does, saving and loading;
//! - `show.rs`: what a step tells the UI (and the recording);
//! - `requests.rs`: the UI's requests, answered from the engine;
//! - `net.rs`: the network (latency, and the link matrix's loss and delay).

mod choice;
mod net;
mod requests;
mod show;
#[cfg(test)]
mod tests;

pub use choice::{load, save, Choice, SavedRun};

use crate::engine::{Engine, EngineConfig, EngineError};
use crate::paxos::{SiteId, Slot};
use crate::site::api::{record, Refusal, SiteClient, Status};
use crate::state::op::OpId;
use crate::ui::step::{Lesson, StepCmd, StepView, SPEEDS, START_SPEED};
use crate::ui::{DemoCmd, DemoEvent, Effect, Msg};
use net::StepNet;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// The time a peer may take to answer (`timeout_ms`), in virtual ms.
pub const TIMEOUT_MS: u64 = 1000;
/// A submission not decided in this much virtual time fails (503).
pub const SUBMIT_TIMEOUT_MS: u64 = 60_000;
/// A message's way from one site to another, running freely.
pub const LATENCY_MS: u64 = 100;
/// Running, every site's timers are checked this often.
pub const TICK_MS: u64 = 10;
/// How far `n` (a timer) and `]` (a decision) look ahead at most.
pub const HORIZON_MS: u64 = 60_000;

/// What `tweettui demo --step` was asked for.
#[derive(Clone, Debug, Default)]
pub struct StepOptions {
    /// How many sites (1 to 7).
    pub sites: usize,
    pub seed: u64,
    /// Start from a saved run (its seed, sites and choices).
    pub load: Option<PathBuf>,
    /// Save the run here on exit.
    pub save: Option<PathBuf>,
    /// Record the run's events here on exit (`tweettui replay` plays it).
    pub record: Option<PathBuf>,
    /// `--theme`.
    pub theme: Option<crate::ui::ThemeName>,
    /// Run this lesson (`--lesson`).
    pub lesson: Option<PathBuf>,
}

/// The cluster of step mode and every choice made on it.
pub struct Stepper {
    names: Vec<String>,
    seed: u64,
    /// Virtual time 0 as a wall-clock time (ms since the Unix epoch): the
    /// time of tweets and recorded events.
    epoch_ms: u64,
    engine: Engine,
    env: StepNet,
    rng: ChaCha8Rng,
    choices: Vec<Choice>,
    out: Vec<Msg>,
    /// Submissions the UI waits for, with the request's tag.
    waiting: HashMap<OpId, u64>,
    /// The tag of the request whose submission is being made.
    next_tag: Option<u64>,
    /// Every submission of the run as it stands.
    submitted: HashSet<OpId>,
    status: Vec<Option<Status>>,
    prefix: Vec<Option<Slot>>,
    booted_at: Vec<u64>,
    /// Slots decided anywhere, and the last first decision.
    chosen: BTreeSet<Slot>,
    last_decided: Option<(Slot, SiteId)>,
    playing: bool,
    speed: usize,
    /// Free running: where the clock would be, in fractional ms.
    clock: f64,
    chatter: bool,
    next_chat: u64,
    chats: u64,
    /// The run's events, for `--record`.
    events: Vec<record::Event>,
}

impl Stepper {
    /// A new run of `names.len()` sites from `seed`, started and settled
    /// (every site votes, nothing in flight).
    pub fn new(names: Vec<String>, seed: u64, epoch_ms: u64) -> Result<Stepper, EngineError> {
        let n = names.len();
        let mut s = Stepper {
            engine: Engine::new(EngineConfig::new(names.clone())),
            names,
            seed,
            epoch_ms,
            env: StepNet::new(n, LATENCY_MS, seed),
            rng: ChaCha8Rng::seed_from_u64(seed),
            choices: Vec::new(),
            out: Vec::new(),
            waiting: HashMap::new(),
            next_tag: None,
            submitted: HashSet::new(),
            status: vec![None; n],
            prefix: vec![None; n],
            booted_at: vec![0; n],
            chosen: BTreeSet::new(),
            last_decided: None,
            playing: false,
            speed: START_SPEED,
            clock: 0.0,
            chatter: false,
            next_chat: 0,
            chats: 0,
            events: Vec::new(),
        };
        s.begin()?;
        s.publish_view();
        Ok(s)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn choices(&self) -> &[Choice] {
        &self.choices
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The run's events so far (what `--record` writes).
    pub fn events(&self) -> &[record::Event] {
        &self.events
    }

    fn n(&self) -> u32 {
        self.names.len() as u32
    }

    /// The leader as the engine sees it: of the running sites that lead,
    /// the one with the highest ballot (a deposed leader may not know it
    /// yet); `None` when no running site leads.
    pub fn leader(&self) -> Option<SiteId> {
        self.engine
            .alive()
            .into_iter()
            .filter_map(|s| {
                let c = self.engine.core(s)?;
                c.is_leading().then(|| (c.leader_ballot(), s))
            })
            .max()
            .map(|(_, s)| s)
    }

    /// The link matrix as the steps set it.
    pub fn links(&self) -> &crate::ui::links::Links {
        &self.env.links
    }

    /// Boots every site and runs until the cluster is born: every site
    /// votes and nothing is in flight (at most [`HORIZON_MS`]).
    fn begin(&mut self) -> Result<(), EngineError> {
        for i in 0..self.n() {
            self.boot(i)?;
        }
        let end = self.engine.now() + HORIZON_MS;
        while self.engine.now() < end {
            let born = (0..self.n()).all(|i| {
                self.engine
                    .core(i)
                    .is_some_and(|c| c.membership() == crate::paxos::Membership::Voting)
            });
            if born && self.engine.queue().is_empty() {
                break;
            }
            self.tick()?;
        }
        Ok(())
    }

    /// Back to the start: a new engine from the seed, nothing chosen yet.
    fn reset(&mut self) {
        let n = self.names.len();
        self.engine = Engine::new(EngineConfig::new(self.names.clone()));
        self.rng = ChaCha8Rng::seed_from_u64(self.seed);
        self.env = StepNet::new(n, LATENCY_MS, self.seed);
        self.submitted.clear();
        self.status = vec![None; n];
        self.prefix = vec![None; n];
        self.booted_at = vec![0; n];
        self.chosen.clear();
        self.last_decided = None;
        self.chatter = false;
        self.chats = 0;
        self.events.clear();
    }

    /// Runs the seed and `choices` again from the start; the UI forgets
    /// what it had and hears the run again.
    fn rebuild(&mut self, choices: Vec<Choice>) -> Result<(), EngineError> {
        self.out.push(Msg::Demo(DemoEvent::Reset));
        self.reset();
        self.begin()?;
        for (k, c) in choices.iter().enumerate() {
            if self.apply(c)?.is_none() {
                return Err(EngineError(format!(
                    "step {} ({}) cannot be taken again",
                    k + 1,
                    c.describe(&self.names)
                )));
            }
        }
        self.choices = choices;
        // Submissions the undone steps made are answered: they are gone.
        let gone: Vec<(OpId, u64)> = self
            .waiting
            .iter()
            .filter(|(id, _)| !self.submitted.contains(id))
            .map(|(id, tag)| (*id, *tag))
            .collect();
        for (id, tag) in gone {
            self.waiting.remove(&id);
            let reply = Err(Refusal::unavailable(
                "undone: the step that submitted it was taken back",
            ));
            self.out.push(Msg::Reply { tag, reply });
        }
        Ok(())
    }

    /// `u`: the last choice taken back.
    fn undo(&mut self) {
        self.playing = false;
        let mut choices = self.choices.clone();
        let Some(last) = choices.pop() else {
            return self.note("nothing to undo: this is the start of the run");
        };
        let what = last.describe(&self.names);
        match self.rebuild(choices) {
            Ok(()) => self.note(format!("undone: {what}")),
            Err(e) => self.error(format!("cannot undo: {e}")),
        }
    }

    /// Makes a choice: carried out, and kept when it did something.
    fn choose(&mut self, c: Choice) {
        match self.apply(&c) {
            Ok(Some(note)) => {
                self.keep(c);
                self.note(note);
            }
            Ok(None) => self.note(format!("nothing to do: {}", c.describe(&self.names))),
            Err(e) => self.error(format!("{e}")),
        }
    }

    /// Keeps a choice; running on extends the last run.
    fn keep(&mut self, c: Choice) {
        if let (Choice::Run { until_ms }, Some(Choice::Run { until_ms: last })) =
            (&c, self.choices.last_mut())
        {
            *last = *until_ms;
            return;
        }
        self.choices.push(c);
    }

    fn note(&mut self, text: impl Into<String>) {
        self.out.push(Msg::Demo(DemoEvent::Note(text.into())));
    }

    fn error(&mut self, text: String) {
        self.playing = false;
        self.out.push(Msg::Demo(DemoEvent::Error(text)));
    }

    /// A command of the UI.
    fn command(&mut self, cmd: DemoCmd) {
        let site = |i: usize| i as SiteId;
        match cmd {
            DemoCmd::Shown(_) => {}
            DemoCmd::Crash(i) => self.choose(Choice::Crash { site: site(i) }),
            DemoCmd::Restart(i) => self.choose(Choice::Restart { site: site(i) }),
            DemoCmd::CutOff { site: i, on } => self.choose(Choice::Cut { site: site(i), on }),
            DemoCmd::Chatter(on) => self.choose(Choice::Chatter { on }),
            DemoCmd::Step(step) => self.step(step),
            DemoCmd::Links { links, why } => self.choose(Choice::Links { links, why }),
        }
    }

    fn step(&mut self, step: StepCmd) {
        match step {
            StepCmd::Deliver(id) => self.choose(Choice::Deliver { id }),
            StepCmd::Drop(id) => self.choose(Choice::Drop { id }),
            StepCmd::Duplicate(id) => self.choose(Choice::Duplicate { id }),
            StepCmd::NextTimer(i) => self.choose(Choice::NextTimer { site: i as SiteId }),
            StepCmd::UntilDecision => self.choose(Choice::UntilDecision),
            StepCmd::Play(on) => {
                self.playing = on;
                self.clock = self.engine.now() as f64;
                let speed = SPEEDS[self.speed];
                self.note(if on {
                    format!("running at {speed}× (Space pauses)")
                } else {
                    "paused: nothing moves until you step".to_string()
                });
            }
            StepCmd::Speed(i) => self.speed = i.min(SPEEDS.len() - 1),
            StepCmd::Undo => self.undo(),
        }
    }

    /// Free running: `ms` of real time went by.
    fn run_for(&mut self, ms: u64) {
        if !self.playing {
            return;
        }
        self.clock += ms as f64 * SPEEDS[self.speed];
        let target = (self.clock as u64) / TICK_MS * TICK_MS;
        if target <= self.engine.now() {
            return;
        }
        let c = Choice::Run { until_ms: target };
        match self.apply(&c) {
            Ok(_) => self.keep(c),
            Err(e) => self.error(format!("{e}")),
        }
        self.publish_view();
    }

    /// The cluster as the in-flight pane and the status line show it.
    fn publish_view(&mut self) {
        let mut queue: Vec<_> = self
            .engine
            .queue()
            .iter()
            .map(|m| crate::ui::step::Queued {
                id: m.id,
                from: m.from,
                to: m.to,
                msg: record::Msg::of(&m.msg),
                sent_at: m.sent_at,
                due: m.due,
                cut: !self.engine.connected(m.from, m.to),
            })
            .collect();
        queue.sort_by_key(|q| q.id);
        let view = StepView {
            now_ms: self.engine.now(),
            queue,
            playing: self.playing,
            speed: self.speed,
            steps: self.choices.len(),
            seed: self.seed,
            leader: self.leader().map(|l| l as usize),
        };
        self.out.push(Msg::Demo(DemoEvent::Step(Box::new(view))));
    }

    /// A client for `DemoEvent::Up` (the UI of step mode asks through the
    /// stepper, not through clients: this one answers nothing).
    fn client() -> SiteClient {
        let (tx, _) = tokio::sync::mpsc::channel(1);
        SiteClient::new(tx)
    }
}

impl crate::ui::step::Driver for Stepper {
    fn effect(&mut self, fx: Effect) {
        match fx {
            Effect::Request { site, tag, req } => self.request(site, tag, req),
            Effect::Demo(cmd) => self.command(cmd),
            Effect::MouseCapture(_) | Effect::Quit => return,
        }
        self.publish_view();
    }

    fn frame(&mut self, ms: u64) {
        self.run_for(ms);
    }

    fn take(&mut self) -> Vec<Msg> {
        std::mem::take(&mut self.out)
    }
}

/// `tweettui demo --step`: runs the stepped cluster and its screen until
/// the user quits; then saves and records the run if asked.
pub async fn run(opts: StepOptions) -> anyhow::Result<()> {
    let epoch_ms = record::now_ms();
    let mut stepper = match &opts.load {
        Some(path) => choice::load(path)?,
        None => {
            let most = crate::config::LOOPBACK_NAMES.len();
            anyhow::ensure!(
                (1..=most).contains(&opts.sites),
                "the demo runs 1 to {most} sites, not {}",
                opts.sites
            );
            let names = crate::config::LOOPBACK_NAMES[..opts.sites]
                .iter()
                .map(|s| s.to_string())
                .collect();
            Stepper::new(names, opts.seed, epoch_ms)?
        }
    };
    let names = stepper.names().to_vec();
    let lesson = match &opts.lesson {
        Some(path) => Some(read_lesson(path, &names)?),
        None => None,
    };
    let result = crate::ui::step::run(names, &mut stepper, opts.theme, lesson).await;
    if let Some(path) = &opts.save {
        choice::save(&stepper, path)?;
        eprintln_safe(&format!("tweettui: the run is saved in {}", path.display()));
    }
    if let Some(path) = &opts.record {
        let rec = record::Recorder::create_if(Some(path), stepper.names().to_vec())?;
        if let Some(rec) = rec {
            for ev in stepper.events() {
                rec.record(ev);
            }
            record::report_end(&rec);
        }
    }
    result
}

/// The lesson in `path`, for a run of `names`.
pub fn read_lesson(path: &std::path::Path, names: &[String]) -> anyhow::Result<Lesson> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the lesson {}: {e}", path.display()))?;
    Lesson::parse(&text, names).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Not eprintln!: it panics when the terminal is gone (SIGHUP).
fn eprintln_safe(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The command line of step mode (`tweettui demo --step ...`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct StepArgs {
    /// Step mode: the sites run on a deterministic engine and nothing moves until you act (deliver, drop, duplicate messages, fire timers, run; u undoes).
    #[arg(long)]
    pub step: bool,
    /// Step mode: the run's seed (the same seed and steps give the same run).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "step")]
    pub seed: u64,
    /// Step mode: save the run (seed and steps, JSON) to FILE on exit.
    #[arg(long, value_name = "FILE", requires = "step")]
    pub save: Option<PathBuf>,
    /// Step mode: start from a run saved with --save.
    #[arg(long, value_name = "FILE", requires = "step")]
    pub load: Option<PathBuf>,
    /// Run a lesson in step mode (JSON: captions, tweets, faults, runs until a condition; see assets/lessons/); implies --step.
    #[arg(long, value_name = "FILE")]
    pub lesson: Option<PathBuf>,
}

impl StepArgs {
    /// The options of a run of `sites` sites, recorded to `record`.
    pub fn options(
        self,
        sites: usize,
        record: Option<PathBuf>,
        theme: Option<crate::ui::ThemeName>,
    ) -> StepOptions {
        StepOptions {
            sites,
            seed: self.seed,
            load: self.load,
            save: self.save,
            record,
            theme,
            lesson: self.lesson,
        }
    }
}
