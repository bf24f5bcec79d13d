//! The help popup and the footer, both generated from the key tables (the
//! tables the handlers sit next to), so neither can miss a key.

use super::cluster::DEMO;
use super::keys::{KeyHelp, ANYWHERE, ANY_PANE};
use super::panes::{popup, Focus};
use super::replay::KEYS as REPLAY;
use super::step::KEYS as STEP;
use super::text::pad;
use super::theme::Theme;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

/// Typed commands, for the help popup.
pub const COMMANDS: &[(&str, &str)] = &[
    ("text", "tweet the text"),
    (
        "/tweet <text>",
        "tweet the text (always, even if it looks like a command)",
    ),
    (
        "/block <user>",
        "stop <user> from seeing your tweets (also: block <user>)",
    ),
    (
        "/unblock <user>",
        "let <user> see your tweets again (also: unblock <user>)",
    ),
    ("/view", "go to the top of your timeline (also: view)"),
    (
        "/log [slot]",
        "the decided log, slot by slot: the latest 1,000, or from slot on",
    ),
    ("/help", "this help"),
    ("/quit", "quit"),
];

/// Which keys work beyond a site's own: the demo's, or the replay's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Site,
    Demo,
    Replay,
    /// `demo --step`: the demo's keys, the step keys, the in-flight pane.
    Step,
}

/// Every key table with its title, in the help's order (the demo's only
/// in the demo, the replay's only in a replay).
pub fn sections(mode: Mode) -> Vec<(&'static str, &'static [KeyHelp])> {
    let mut out = Vec::new();
    if mode == Mode::Replay {
        out.push(("Replay (any pane, before the pane's own keys)", REPLAY));
    }
    if mode == Mode::Step {
        out.push(("Step mode (any pane, before the pane's own keys)", STEP));
    }
    out.extend([
        ("Anywhere", ANYWHERE),
        (Focus::Input.title(), Focus::Input.keys()),
        ("Any pane (not the input box)", ANY_PANE),
        (Focus::Timeline.title(), Focus::Timeline.keys()),
    ]);
    if mode == Mode::Step {
        out.push((Focus::InFlight.title(), Focus::InFlight.keys()));
    }
    out.extend([
        (Focus::Blocks.title(), Focus::Blocks.keys()),
        (Focus::Trace.title(), Focus::Trace.keys()),
    ]);
    if matches!(mode, Mode::Demo | Mode::Step) {
        out.push(("Demo (any pane; Alt+digit anywhere)", DEMO));
    }
    out.push(("Help and log popups", popup::KEYS));
    out.push(("Trace slot filter prompt (/)", popup::PROMPT_KEYS));
    out
}

/// Every key, section by section, then the typed commands and the trace's
/// legend.
pub fn lines<'a>(theme: &Theme, mode: Mode) -> Vec<Line<'a>> {
    let heading = |text: &'static str| {
        Line::from(Span::styled(
            text,
            theme.title(true).add_modifier(Modifier::UNDERLINED),
        ))
    };
    let entry = |keys: &str, what: &'static str| {
        Line::from(vec![
            Span::styled(format!("  {}", pad(keys, 18)), theme.key()),
            Span::raw(what),
        ])
    };
    let mut lines = Vec::new();
    for (title, keys) in sections(mode) {
        lines.push(heading(title));
        lines.extend(keys.iter().map(|k| entry(k.keys, k.long)));
        lines.push(Line::raw(""));
    }
    lines.push(heading("Typed in the input box"));
    lines.extend(COMMANDS.iter().map(|(cmd, what)| entry(cmd, what)));
    lines.push(Line::raw(""));
    lines.push(heading("Trace legend"));
    lines.push(Line::raw(
        "  → sent  ← received  ★ proposed  ✓ decided/won  ✗ lost  ♛ leader  ⚑ election  • note",
    ));
    lines.push(Line::raw(
        "  ballots are (round,site); k/n in the per-slot view: votes of n sites, ✓ a quorum",
    ));
    lines
}

/// The footer's entries where the focus is, most useful first: the
/// focused pane's keys (in a replay, on a pane, the replay's before them),
/// then (on a pane) `?`, the demo's keys and the other pane keys, then those
/// that work anywhere. What does not fit is left out.
pub fn footer(focus: Focus, mode: Mode) -> Vec<(&'static str, &'static str)> {
    let foot = |t: &'static [KeyHelp]| t.iter().filter_map(|k| k.foot).collect::<Vec<_>>();
    let mut out = Vec::new();
    if mode == Mode::Replay && focus != Focus::Input {
        out.extend(foot(REPLAY));
    }
    out.extend(foot(focus.keys()));
    if mode == Mode::Step && focus != Focus::Input {
        out.extend(foot(STEP));
    }
    if focus != Focus::Input {
        let any = foot(ANY_PANE);
        out.push(any[0]);
        if matches!(mode, Mode::Demo | Mode::Step) {
            out.extend(foot(DEMO));
        }
        out.extend(any.into_iter().skip(1));
    }
    out.extend(foot(ANYWHERE));
    out
}
