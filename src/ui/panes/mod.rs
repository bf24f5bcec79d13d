//! The panes, one file each: its state, its key table next to the `match`
//! it documents, what its keys do, and its drawing. A pane changes its own
//! state; what reaches beyond it (a message, a request to the site, the
//! focus) it asks of the [`App`](super::App) as an [`Ask`].

pub mod blocks;
pub mod grid;
pub mod inflight;
pub mod input;
pub mod links;
pub mod popup;
pub mod spacetime;
pub mod timeline;
pub mod trace;

use super::command::Command;
use super::keys::KeyHelp;
use super::step::StepCmd;
use super::theme::Theme;
use crate::paxos::Slot;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Input,
    Timeline,
    /// The messages in flight (`demo --step` only).
    InFlight,
    Blocks,
    Trace,
}

impl Focus {
    const ORDER: [Focus; 5] = [
        Focus::Input,
        Focus::Timeline,
        Focus::InFlight,
        Focus::Blocks,
        Focus::Trace,
    ];

    /// The panes in focus order; the in-flight pane only in step mode.
    fn order(step: bool) -> Vec<Focus> {
        Self::ORDER
            .into_iter()
            .filter(|f| step || *f != Focus::InFlight)
            .collect()
    }

    /// The next pane (`step`: in step mode).
    pub fn next(self, step: bool) -> Focus {
        let order = Self::order(step);
        let i = order.iter().position(|f| *f == self).unwrap_or(0);
        order[(i + 1) % order.len()]
    }

    pub fn prev(self, step: bool) -> Focus {
        let order = Self::order(step);
        let i = order.iter().position(|f| *f == self).unwrap_or(0);
        order[(i + order.len() - 1) % order.len()]
    }

    /// The pane's key table.
    pub fn keys(self) -> &'static [KeyHelp] {
        match self {
            Focus::Input => input::KEYS,
            Focus::Timeline => timeline::KEYS,
            Focus::InFlight => inflight::KEYS,
            Focus::Blocks => blocks::KEYS,
            Focus::Trace => trace::KEYS,
        }
    }

    /// The pane's name in the help.
    pub fn title(self) -> &'static str {
        match self {
            Focus::Input => "Input box",
            Focus::Timeline => "Timeline",
            Focus::InFlight => "In flight (demo --step)",
            Focus::Blocks => "Blocks",
            Focus::Trace => "Paxos trace",
        }
    }
}

/// How the message line shows a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
    Pending,
}

/// What a pane asks of the App after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    Nothing,
    /// Show a note on the message line.
    Say(Level, String),
    Focus(Focus),
    /// Block or unblock this user (the App checks the rule and sends it).
    Block(String),
    Unblock(String),
    /// Carry out a line typed in the input box.
    Command(Command),
    /// Move the timeline's selection (the input box's arrows).
    MoveTimeline(timeline::Action),
    /// Ask for a slot number to filter the trace by.
    SlotPrompt,
    /// Filter the trace by this slot (`None`: all slots).
    FilterSlot(Option<Slot>),
    /// A step of `demo --step` (the in-flight pane's keys).
    Step(StepCmd),
}

impl Ask {
    pub fn say(level: Level, text: impl Into<String>) -> Ask {
        Ask::Say(level, text.into())
    }
}

/// `n thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Big enough to draw a bordered pane in.
pub fn drawable(r: Rect) -> bool {
    r.width > 1 && r.height > 1
}

/// A pane's border and title; thick when it has the focus.
pub fn bordered<'a>(theme: &Theme, title_text: String, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title(theme, title_text, focused))
}

pub fn title<'a>(theme: &Theme, text: String, focused: bool) -> Line<'a> {
    Line::from(Span::styled(text, theme.title(focused)))
}
