//! `tweettui demo --step` as the UI sees it: the cluster runs on the
//! deterministic engine (`crate::engine`) and nothing moves until the user
//! acts. The UI asks for steps with [`StepCmd`]s (inside
//! [`DemoCmd::Step`](super::DemoCmd)) and hears back a [`StepView`] after
//! every step: the messages in flight (the in-flight pane), the virtual
//! clock, whether it runs and how fast. Everything else arrives as it does
//! from real sites: the same `SiteEvent`s, demo events and answers.
//!
//! The step keys work on every pane, before the pane's own keys (like the
//! replay's); the in-flight pane's own keys are in `panes/inflight.rs`.
//! [`run`] is the terminal loop of step mode, around a [`Driver`] (the
//! demo's step controller) instead of channels to running sites.

pub mod lesson;
mod run;

pub use lesson::{Lesson, LessonError, LessonRun};
pub use run::{pump, run, Driver};

use crate::engine::MsgId;
use crate::paxos::SiteId;
use crate::site::api::record;
use crate::ui::keys::{ch, in_footer, KeyHelp};
use crossterm::event::{KeyCode, KeyEvent};

/// The speeds of free running, slowest first (virtual time per real time).
pub use crate::ui::replay::SPEEDS;
/// The speed at the start (1×).
pub const START_SPEED: usize = 3;

/// A step the UI asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepCmd {
    /// Deliver this message now.
    Deliver(MsgId),
    /// Drop it: it never arrives.
    Drop(MsgId),
    /// Queue a copy of it.
    Duplicate(MsgId),
    /// Advance the clock to this site's next timer and fire it.
    NextTimer(usize),
    /// Run (deliver in time order, tick every site) until a slot is
    /// decided somewhere for the first time.
    UntilDecision,
    /// Run freely (true) or pause.
    Play(bool),
    /// The speed of free running: an index into [`SPEEDS`].
    Speed(usize),
    /// Take the last step back.
    Undo,
}

/// A message in flight, as the in-flight pane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: MsgId,
    pub from: SiteId,
    pub to: SiteId,
    pub msg: record::Msg,
    /// When it was sent (virtual ms).
    pub sent_at: u64,
    /// When it would arrive, running freely.
    pub due: u64,
    /// Its link is cut now: delivered, it is lost.
    pub cut: bool,
}

/// The state of the stepped cluster after a step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepView {
    /// The virtual clock (ms).
    pub now_ms: u64,
    /// Every message in flight, oldest first.
    pub queue: Vec<Queued>,
    /// Running freely.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Steps taken (what `u` can take back).
    pub steps: usize,
    /// The run's seed.
    pub seed: u64,
    /// The leader as the engine sees it (the link presets' leader).
    pub leader: Option<usize>,
}

/// The step keys (on any pane, before the pane's own keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKey {
    PlayPause,
    Slower,
    Faster,
    NextTimer,
    UntilDecision,
    Undo,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "n",
        &[ch('n')],
        ("n", "timer"),
        "advance the clock to the shown site's next timer and fire it",
    ),
    in_footer(
        "]",
        &[ch(']')],
        ("]", "decide"),
        "run (every message in time order, every timer) until a slot is decided",
    ),
    in_footer(
        "Space",
        &[ch(' ')],
        ("Space", "run"),
        "run freely at the chosen speed / pause",
    ),
    in_footer(
        "- / +",
        &[ch('-'), ch('+'), ch('=')],
        ("-+", "speed"),
        "slower / faster: 0.1× to 10× real time (in the status line)",
    ),
    in_footer(
        "u",
        &[ch('u')],
        ("u", "undo"),
        "undo the last step (the run is replayed from its seed and choices)",
    ),
];

/// The step key `key`, if it is one (on a pane: in the input box keys are
/// text).
pub fn step_key(key: &KeyEvent) -> Option<StepKey> {
    Some(match key.code {
        KeyCode::Char(' ') => StepKey::PlayPause,
        KeyCode::Char('-') => StepKey::Slower,
        KeyCode::Char('+' | '=') => StepKey::Faster,
        KeyCode::Char('n') => StepKey::NextTimer,
        KeyCode::Char(']') => StepKey::UntilDecision,
        KeyCode::Char('u') => StepKey::Undo,
        _ => return None,
    })
}

/// `1.250s`: a virtual time.
pub fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}
