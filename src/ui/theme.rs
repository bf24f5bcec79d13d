//! Colours and emphasis. Under `NO_COLOR` every style is `Color::Reset`
//! with modifiers only (crossterm drops a colour together with the
//! modifiers of the same style, so the highlight would vanish).

use crate::paxos::MsgKind;
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

/// A colour per author (site index), repeating.
const AUTHORS: [Color; 7] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::LightBlue,
    Color::LightRed,
    Color::LightGreen,
];

impl Theme {
    /// Colours unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    pub fn colored() -> Theme {
        Theme { color: true }
    }

    pub fn monochrome() -> Theme {
        Theme { color: false }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn plain(&self) -> Style {
        Style::default()
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::Gray)
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        }
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    /// The selected row of a pane.
    pub fn selected(&self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::default()
                .bg(Color::Rgb(40, 60, 90))
                .add_modifier(Modifier::BOLD),
            (true, false) => Style::default().bg(Color::Rgb(40, 40, 40)),
            (false, true) => Style::default().add_modifier(Modifier::REVERSED),
            (false, false) => Style::default().add_modifier(Modifier::UNDERLINED),
        }
    }

    pub fn author(&self, site: usize) -> Style {
        self.fg(AUTHORS[site % AUTHORS.len()])
            .add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn pending(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::ITALIC)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn status_bar(&self) -> Style {
        if self.color {
            Style::default().bg(Color::Rgb(30, 30, 46)).fg(Color::White)
        } else {
            Style::default()
        }
    }

    /// Each message kind its own colour.
    pub fn kind(&self, kind: MsgKind) -> Style {
        let c = match kind {
            MsgKind::Prepare => Color::Blue,
            MsgKind::Promise => Color::Cyan,
            MsgKind::Accept => Color::Yellow,
            MsgKind::Ack => Color::Green,
            MsgKind::Nack => Color::Red,
            MsgKind::Commit => Color::Magenta,
            MsgKind::Heartbeat | MsgKind::HeartbeatAck => Color::DarkGray,
            MsgKind::Forward | MsgKind::Assigned | MsgKind::Rejected => Color::Gray,
            MsgKind::Fetch | MsgKind::Probe | MsgKind::Decided => Color::LightBlue,
        };
        let style = self.fg(c);
        if kind.is_synod() {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    /// A value's own colour (the same text, the same colour), bold once
    /// decided.
    pub fn value(&self, value: &str, decided: bool) -> Style {
        // FNV-1a: stable across runs and platforms.
        let hash = value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        let style = self.fg(AUTHORS[(hash % AUTHORS.len() as u64) as usize]);
        if decided {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    /// Rows for events of this site (proposed, decided, leader, election).
    pub fn event(&self, what: EventStyle) -> Style {
        let c = match what {
            EventStyle::Proposed => Color::LightYellow,
            EventStyle::Won => Color::LightGreen,
            EventStyle::Lost => Color::LightRed,
            EventStyle::Decided => Color::Green,
            EventStyle::Leader => Color::LightMagenta,
            EventStyle::Election => Color::LightBlue,
            EventStyle::Note => Color::White,
        };
        self.fg(c).add_modifier(Modifier::BOLD)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStyle {
    Proposed,
    Won,
    Lost,
    Decided,
    Leader,
    Election,
    Note,
}
