//! Colours and emphasis: every colour of the UI is here, one palette
//! constant per theme ([`DARK`], [`LIGHT`], [`HIGH_CONTRAST`]). Under
//! `NO_COLOR` every style is `Color::Reset` with modifiers only (crossterm
//! drops a colour together with the modifiers of the same style, so the
//! highlight would vanish); `NO_COLOR` wins over any theme.

use crate::paxos::MsgKind;
use ratatui::style::{Color, Modifier, Style};

/// The themes `--theme` and `TWEETTUI_THEME` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeName {
    /// For a dark terminal (the default).
    Dark,
    /// For a light terminal: no white or yellow text, light selection.
    Light,
    /// For projectors: black background, bright bold text, the 16 ANSI
    /// colours only (no true-colour greys), a yellow selection.
    HighContrast,
}

impl ThemeName {
    pub const ALL: [ThemeName; 3] = [ThemeName::Dark, ThemeName::Light, ThemeName::HighContrast];

    pub fn name(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
            ThemeName::HighContrast => "high-contrast",
        }
    }

    /// A name as `TWEETTUI_THEME` holds it.
    pub fn parse(s: &str) -> Option<ThemeName> {
        Self::ALL.into_iter().find(|t| t.name() == s.trim())
    }
}

/// Every colour of a theme.
#[derive(Debug, PartialEq, Eq)]
pub struct Palette {
    /// The whole screen's colours, painted first (`None`: the terminal's).
    pub base: Option<(Color, Color)>,
    pub border: Color,
    pub focus: Color,
    pub dim: Color,
    /// The selected row: (fg, bg) focused and not (`None` fg: unchanged).
    pub selected: (Option<Color>, Color),
    pub selected_unfocused: (Option<Color>, Color),
    /// The status bar: fg, bg.
    pub status: (Color, Color),
    /// A colour per author (site index), repeating.
    pub authors: [Color; 7],
    pub ok: Color,
    pub error: Color,
    pub warn: Color,
    pub pending: Color,
    pub key: Color,
    /// Message kinds: prepare, promise, accept, ack, nack, commit, the
    /// heartbeats, the forwards, the catch-up.
    pub kinds: [Color; 9],
    /// Events: proposed, won, lost, decided, leader, election, note.
    pub events: [Color; 7],
    /// Bold text everywhere (projectors).
    pub bold: bool,
}

/// For a dark terminal.
pub const DARK: Palette = Palette {
    base: None,
    border: Color::Gray,
    focus: Color::Cyan,
    dim: Color::DarkGray,
    selected: (None, Color::Rgb(40, 60, 90)),
    selected_unfocused: (None, Color::Rgb(40, 40, 40)),
    status: (Color::White, Color::Rgb(30, 30, 46)),
    authors: [
        Color::Cyan,
        Color::Green,
        Color::Yellow,
        Color::Magenta,
        Color::LightBlue,
        Color::LightRed,
        Color::LightGreen,
    ],
    ok: Color::Green,
    error: Color::Red,
    warn: Color::Yellow,
    pending: Color::Yellow,
    key: Color::Cyan,
    kinds: [
        Color::Blue,
        Color::Cyan,
        Color::Yellow,
        Color::Green,
        Color::Red,
        Color::Magenta,
        Color::DarkGray,
        Color::Gray,
        Color::LightBlue,
    ],
    events: [
        Color::LightYellow,
        Color::LightGreen,
        Color::LightRed,
        Color::Green,
        Color::LightMagenta,
        Color::LightBlue,
        Color::White,
    ],
    bold: false,
};

/// Dark yellow: yellow readable on white.
const OCHRE: Color = Color::Rgb(150, 95, 0);

/// For a light terminal: dark text colours, light backgrounds.
pub const LIGHT: Palette = Palette {
    base: None,
    border: Color::DarkGray,
    focus: Color::Blue,
    dim: Color::DarkGray,
    selected: (Some(Color::Black), Color::Rgb(190, 215, 255)),
    selected_unfocused: (Some(Color::Black), Color::Rgb(225, 225, 225)),
    status: (Color::Black, Color::Rgb(215, 222, 235)),
    authors: [
        Color::Blue,
        Color::Magenta,
        Color::Red,
        Color::Green,
        Color::Rgb(0, 120, 140),
        OCHRE,
        Color::Rgb(110, 60, 160),
    ],
    ok: Color::Green,
    error: Color::Red,
    warn: OCHRE,
    pending: OCHRE,
    key: Color::Blue,
    kinds: [
        Color::Blue,
        Color::Rgb(0, 120, 140),
        OCHRE,
        Color::Green,
        Color::Red,
        Color::Magenta,
        Color::DarkGray,
        Color::DarkGray,
        Color::Rgb(110, 60, 160),
    ],
    events: [
        OCHRE,
        Color::Green,
        Color::Red,
        Color::Green,
        Color::Magenta,
        Color::Blue,
        Color::Black,
    ],
    bold: false,
};

/// For projectors: its own black background and white text, whatever the
/// terminal's; bright ANSI colours only, bold; a yellow selection with
/// black text; a blue status bar (bright colours stay readable on it).
pub const HIGH_CONTRAST: Palette = Palette {
    base: Some((Color::White, Color::Black)),
    border: Color::White,
    focus: Color::LightYellow,
    dim: Color::Gray,
    selected: (Some(Color::Black), Color::LightYellow),
    selected_unfocused: (Some(Color::Black), Color::Gray),
    status: (Color::White, Color::Blue),
    authors: [
        Color::LightCyan,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightMagenta,
        Color::White,
        Color::LightRed,
        Color::LightBlue,
    ],
    ok: Color::LightGreen,
    error: Color::LightRed,
    warn: Color::LightYellow,
    pending: Color::LightYellow,
    key: Color::LightYellow,
    kinds: [
        Color::LightBlue,
        Color::LightCyan,
        Color::LightYellow,
        Color::LightGreen,
        Color::LightRed,
        Color::LightMagenta,
        Color::Gray,
        Color::Gray,
        Color::White,
    ],
    events: [
        Color::LightYellow,
        Color::LightGreen,
        Color::LightRed,
        Color::LightGreen,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ],
    bold: true,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// `None`: no colours (`NO_COLOR`).
    palette: Option<&'static Palette>,
}

impl Theme {
    /// `NO_COLOR` (set to anything non-empty) wins; then `name` (the
    /// `--theme` flag), then `TWEETTUI_THEME`, then dark. An unknown
    /// `TWEETTUI_THEME` is an error that lists the themes.
    pub fn resolve(name: Option<ThemeName>) -> anyhow::Result<Theme> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let env = std::env::var("TWEETTUI_THEME").ok();
        Self::resolve_from(no_color, name, env.as_deref())
    }

    /// [`resolve`](Self::resolve) with the environment given.
    pub fn resolve_from(
        no_color: bool,
        name: Option<ThemeName>,
        env: Option<&str>,
    ) -> anyhow::Result<Theme> {
        let from_env = match env.filter(|e| !e.trim().is_empty()) {
            None => None,
            Some(e) => Some(ThemeName::parse(e).ok_or_else(|| {
                let all: Vec<&str> = ThemeName::ALL.iter().map(|t| t.name()).collect();
                anyhow::anyhow!(
                    "TWEETTUI_THEME={e}: no such theme (one of {})",
                    all.join(", ")
                )
            })?),
        };
        if no_color {
            return Ok(Theme::monochrome());
        }
        Ok(Theme::named(name.or(from_env).unwrap_or(ThemeName::Dark)))
    }

    /// Colours unless `NO_COLOR` is set to anything non-empty (the dark
    /// theme, or `TWEETTUI_THEME`'s when it names one).
    pub fn from_env() -> Theme {
        Theme::resolve(None).unwrap_or_else(|_| Theme::colored())
    }

    pub fn named(name: ThemeName) -> Theme {
        let palette = match name {
            ThemeName::Dark => &DARK,
            ThemeName::Light => &LIGHT,
            ThemeName::HighContrast => &HIGH_CONTRAST,
        };
        Theme {
            palette: Some(palette),
        }
    }

    /// The dark theme.
    pub fn colored() -> Theme {
        Theme::named(ThemeName::Dark)
    }

    pub fn monochrome() -> Theme {
        Theme { palette: None }
    }

    /// Whether there are colours at all (not `NO_COLOR`).
    pub fn has_color(&self) -> bool {
        self.palette.is_some()
    }

    fn fg(&self, c: impl Fn(&Palette) -> Color) -> Style {
        match self.palette {
            Some(p) if p.bold => Style::default().fg(c(p)).add_modifier(Modifier::BOLD),
            Some(p) => Style::default().fg(c(p)),
            None => Style::default(),
        }
    }

    /// The whole screen's style, painted before anything else (the
    /// high-contrast theme's own background); `None`: the terminal's.
    pub fn base(&self) -> Option<Style> {
        let (fg, bg) = self.palette?.base?;
        Some(Style::default().fg(fg).bg(bg))
    }

    pub fn plain(&self) -> Style {
        Style::default()
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(|p| p.focus).add_modifier(Modifier::BOLD)
        } else {
            self.fg(|p| p.border)
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(|p| p.focus).add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        }
    }

    pub fn dim(&self) -> Style {
        match self.palette {
            Some(_) => self.fg(|p| p.dim),
            None => Style::default().add_modifier(Modifier::DIM),
        }
    }

    /// The selected row of a pane.
    pub fn selected(&self, focused: bool) -> Style {
        let Some(p) = self.palette else {
            return if focused {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default().add_modifier(Modifier::UNDERLINED)
            };
        };
        let (fg, bg) = if focused {
            p.selected
        } else {
            p.selected_unfocused
        };
        let mut style = Style::default().bg(bg);
        if let Some(fg) = fg {
            style = style.fg(fg);
        }
        if focused || p.bold {
            style = style.add_modifier(Modifier::BOLD);
        }
        style
    }

    pub fn author(&self, site: usize) -> Style {
        self.fg(|p| p.authors[site % p.authors.len()])
            .add_modifier(Modifier::BOLD)
    }

    pub fn ok(&self) -> Style {
        self.fg(|p| p.ok)
    }

    pub fn error(&self) -> Style {
        self.fg(|p| p.error).add_modifier(Modifier::BOLD)
    }

    pub fn warn(&self) -> Style {
        self.fg(|p| p.warn).add_modifier(Modifier::BOLD)
    }

    pub fn pending(&self) -> Style {
        self.fg(|p| p.pending).add_modifier(Modifier::ITALIC)
    }

    pub fn key(&self) -> Style {
        self.fg(|p| p.key).add_modifier(Modifier::BOLD)
    }

    pub fn status_bar(&self) -> Style {
        match self.palette {
            Some(p) => {
                let style = Style::default().fg(p.status.0).bg(p.status.1);
                if p.bold {
                    style.add_modifier(Modifier::BOLD)
                } else {
                    style
                }
            }
            None => Style::default(),
        }
    }

    /// Each message kind its own colour.
    pub fn kind(&self, kind: MsgKind) -> Style {
        let i = match kind {
            MsgKind::Prepare => 0,
            MsgKind::Promise => 1,
            MsgKind::Accept => 2,
            MsgKind::Ack => 3,
            MsgKind::Nack => 4,
            MsgKind::Commit => 5,
            MsgKind::Heartbeat | MsgKind::HeartbeatAck => 6,
            MsgKind::Forward | MsgKind::Assigned | MsgKind::Rejected => 7,
            MsgKind::Fetch | MsgKind::Probe | MsgKind::Decided => 8,
        };
        let style = self.fg(|p| p.kinds[i]);
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
        let style = self.fg(|p| p.authors[(hash % p.authors.len() as u64) as usize]);
        if decided {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    /// Rows for events of this site (proposed, decided, leader, election).
    pub fn event(&self, what: EventStyle) -> Style {
        let i = match what {
            EventStyle::Proposed => 0,
            EventStyle::Won => 1,
            EventStyle::Lost => 2,
            EventStyle::Decided => 3,
            EventStyle::Leader => 4,
            EventStyle::Election => 5,
            EventStyle::Note => 6,
        };
        self.fg(|p| p.events[i]).add_modifier(Modifier::BOLD)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn colours(p: &Palette) -> Vec<Color> {
        let mut all = vec![
            p.border,
            p.focus,
            p.dim,
            p.selected.1,
            p.selected_unfocused.1,
        ];
        all.extend([
            p.status.0, p.status.1, p.ok, p.error, p.warn, p.pending, p.key,
        ]);
        all.extend(p.authors);
        all.extend(p.kinds);
        all.extend(p.events);
        all.extend(p.selected.0);
        all.extend(p.selected_unfocused.0);
        all.extend(p.base.map(|b| b.0));
        all.extend(p.base.map(|b| b.1));
        all
    }

    /// The projector theme keeps to the 16 ANSI colours (a projector
    /// washes true-colour greys out); the light theme writes nothing in
    /// white or yellow (unreadable on white).
    #[test]
    fn high_contrast_is_ansi_only_and_light_has_no_pale_text() {
        for c in colours(&HIGH_CONTRAST) {
            assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
        }
        let text = |p: &Palette| {
            let mut t = vec![
                p.border, p.focus, p.dim, p.ok, p.error, p.warn, p.pending, p.key,
            ];
            t.extend(p.authors);
            t.extend(p.kinds);
            t.extend(p.events);
            t
        };
        for c in text(&LIGHT) {
            let pale = [Color::White, Color::Yellow, Color::LightYellow, Color::Gray];
            assert!(!pale.contains(&c), "{c:?}");
        }
    }

    #[test]
    fn no_color_wins_then_the_flag_then_the_environment() {
        let named = |n| Ok::<_, ()>(Theme::named(n));
        let r = |no, flag, env| Theme::resolve_from(no, flag, env).map_err(|_| ());
        assert_eq!(r(false, None, None), named(ThemeName::Dark));
        assert_eq!(r(false, None, Some("light")), named(ThemeName::Light));
        assert_eq!(
            r(false, Some(ThemeName::HighContrast), Some("light")),
            named(ThemeName::HighContrast)
        );
        assert_eq!(
            r(true, Some(ThemeName::HighContrast), None),
            Ok(Theme::monochrome())
        );
        let err = Theme::resolve_from(false, None, Some("neon")).unwrap_err();
        assert!(
            err.to_string()
                .contains("TWEETTUI_THEME=neon: no such theme (one of dark, light, high-contrast)"),
            "{err}"
        );
    }
}
