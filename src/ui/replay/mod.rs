//! `tweettui replay FILE...` (SPEC 9 "Seeing a round"): the recordings of
//! one or several sites, merged ([`merge`]), played in the demo's screen
//! with a time slider in the status line. A pure player over the files: no
//! network, no site runtime. Every pane shows the state at the slider's
//! position ([`player`]); the App's side is `app::replay`.

pub mod export;
pub mod merge;
pub mod player;
mod run;
#[cfg(test)]
mod tests;

pub use player::{Now, Player};
pub use run::{app, run};

use crate::site::api::record;
use crate::ui::keys::{ch, code, in_footer, KeyHelp, DIGITS};
use crossterm::event::{KeyCode, KeyEvent};
use std::path::PathBuf;

/// Reads and merges the recordings: the sites' names and the events.
fn read_merged(paths: &[PathBuf]) -> anyhow::Result<(Vec<String>, Vec<record::Event>)> {
    let mut recs = Vec::new();
    for p in paths {
        recs.push((p.display().to_string(), record::read(p)?));
    }
    let names = merge::sites_of(&recs)?;
    let events = merge::merge(recs.into_iter().map(|(_, r)| r.events).collect());
    Ok((names, events))
}

/// Reads and merges the recordings into a player.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Player> {
    let (names, events) = read_merged(paths)?;
    anyhow::ensure!(!events.is_empty(), "the recordings hold no events");
    Ok(Player::new(names, events))
}

/// Reads and merges the recordings, then writes the diagram of `slots`.
pub fn export_files(
    paths: &[PathBuf],
    slots: &std::ops::RangeInclusive<crate::paxos::Slot>,
    format: export::Format,
) -> anyhow::Result<String> {
    let (names, events) = read_merged(paths)?;
    Ok(export::export(&names, &events, slots, format))
}

/// The speeds, slowest first.
pub const SPEEDS: [f64; 9] = [0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0];
/// The speed at the start (1×).
const START_SPEED: usize = 3;

/// The player and where its slider is.
pub struct Replay {
    pub player: Player,
    pub now: Now,
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// Milliseconds of the recording played at the slider (since the first
    /// event): playing moves it on, and the slider with it.
    pub clock: f64,
}

impl Replay {
    pub fn new(player: Player) -> Replay {
        let now = Now::new(player.names.len());
        Replay {
            player,
            now,
            playing: false,
            speed: START_SPEED,
            clock: 0.0,
        }
    }

    pub fn pos(&self) -> usize {
        self.now.pos
    }

    /// Moves the slider to position `k`.
    pub fn seek(&mut self, k: usize) {
        self.player.seek(&mut self.now, k);
        self.clock = self.player.ms_at(self.now.pos) as f64;
    }

    /// Playing: `ms` of real time passed; moves the slider over the events
    /// of that much recorded time (times the speed). Stops at the end.
    pub fn tick(&mut self, ms: u64) {
        if !self.playing {
            return;
        }
        self.clock += ms as f64 * SPEEDS[self.speed];
        let until = self.player.t0.saturating_add(self.clock as u64);
        let mut k = self.now.pos;
        let events = &self.player.events;
        while k < events.len() && events[k].t <= until {
            k += 1;
        }
        if k != self.now.pos {
            self.player.seek(&mut self.now, k);
        }
        if self.now.pos >= self.player.len() {
            self.playing = false;
        }
    }
}

/// What the replay's keys do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Show site `n` (0-based).
    Show(usize),
    Step(isize),
    PrevMark,
    NextMark,
    Slower,
    Faster,
    PlayPause,
    Start,
    End,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "Space",
        &[ch(' ')],
        ("Space", "play"),
        "play / pause the recording",
    ),
    in_footer(
        "← / →",
        &[code(KeyCode::Left), code(KeyCode::Right)],
        ("←→", "step"),
        "one event back / forward",
    ),
    in_footer(
        "[ / ]",
        &[ch('['), ch(']')],
        ("[]", "decision"),
        "the previous / next decision (a slot's first) or leader change",
    ),
    in_footer(
        "- / +",
        &[ch('-'), ch('+'), ch('=')],
        ("-+", "speed"),
        "slower / faster: 0.1× to 10× the recorded pace",
    ),
    in_footer(
        "Home / End",
        &[code(KeyCode::Home), code(KeyCode::End)],
        ("Home/End", "ends"),
        "the start / the end of the recording",
    ),
    in_footer(
        "1..9",
        &DIGITS,
        ("1-9", "site"),
        "show another site (its number is in the status line)",
    ),
];

/// The replay's key `key`, if it is one (on a pane: in the input box keys
/// are text).
pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char(' ') => Action::PlayPause,
        KeyCode::Left => Action::Step(-1),
        KeyCode::Right => Action::Step(1),
        KeyCode::Char('[') => Action::PrevMark,
        KeyCode::Char(']') => Action::NextMark,
        KeyCode::Char('-') => Action::Slower,
        KeyCode::Char('+' | '=') => Action::Faster,
        KeyCode::Home => Action::Start,
        KeyCode::End => Action::End,
        KeyCode::Char(d @ '1'..='9') => Action::Show(d as usize - '1' as usize),
        _ => return None,
    })
}
