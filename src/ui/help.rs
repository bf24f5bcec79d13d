//! The help popup and the footer, both generated from the key tables (the
//! tables the handlers sit next to), so neither can miss a key.

use super::cluster::DEMO;
use super::keys::{KeyHelp, ANYWHERE, ANY_PANE};
use super::panes::{popup, Focus};
use super::replay::KEYS as REPLAY;
use super::step::KEYS as STEP;
use super::text::{pad, width, wrap};
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
    if mode == Mode::Demo {
        out.push(("Link matrix popup (m)", super::panes::links::KEYS));
    }
    out.push(("Help and log popups", popup::KEYS));
    out.push(("Trace slot filter prompt (/)", popup::PROMPT_KEYS));
    out
}

/// The key column of the help: two spaces and the keys.
const KEY_COLUMN: usize = 20;

/// Every key, section by section, then the typed commands and the trace's
/// legend, wrapped to `cells` (a description continues under itself).
pub fn lines<'a>(theme: &Theme, mode: Mode, cells: usize) -> Vec<Line<'a>> {
    let heading = |text: &'static str| {
        Line::from(Span::styled(
            text,
            theme.title(true).add_modifier(Modifier::UNDERLINED),
        ))
    };
    let what_w = cells.saturating_sub(KEY_COLUMN).max(12);
    let entry = |keys: &str, what: &str| {
        wrap(what, what_w)
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                let keys = if i == 0 { keys } else { "" };
                Line::from(vec![
                    Span::styled(format!("  {}", pad(keys, KEY_COLUMN - 2)), theme.key()),
                    Span::raw(part),
                ])
            })
            .collect::<Vec<_>>()
    };
    let mut lines = Vec::new();
    for (title, keys) in sections(mode) {
        lines.push(heading(title));
        lines.extend(keys.iter().flat_map(|k| entry(k.keys, k.long)));
        lines.push(Line::raw(""));
    }
    lines.push(heading("Typed in the input box"));
    lines.extend(COMMANDS.iter().flat_map(|(cmd, what)| entry(cmd, what)));
    lines.push(Line::raw(""));
    lines.push(heading("Trace legend"));
    for text in [
        "→ sent  ← received  ★ proposed  ✓ decided/won  ✗ lost  ♛ leader  ⚑ election  • note",
        "ballots are (round,site); k/n in the per-slot view: votes of n sites, ✓ a quorum",
    ] {
        lines.extend(indented(text, 2, cells));
    }
    lines
}

/// `text` wrapped to `cells`, every line indented by `indent` spaces;
/// parts set apart by two spaces stay whole where they can.
pub fn indented<'a>(text: &str, indent: usize, cells: usize) -> Vec<Line<'a>> {
    let max = cells.saturating_sub(indent).max(12);
    let mut rows: Vec<String> = Vec::new();
    for part in text.split("  ").filter(|p| !p.is_empty()) {
        match rows.last_mut() {
            Some(row) if width(row) + 2 + width(part) <= max => {
                row.push_str("  ");
                row.push_str(part);
            }
            _ => rows.extend(wrap(part, max)),
        }
    }
    let pad = " ".repeat(indent);
    rows.into_iter()
        .map(|l| Line::raw(format!("{pad}{l}")))
        .collect()
}

/// A footer entry: the key(s) in short, a word or two, and a rank (0 is
/// kept longest when the footer is too narrow for every entry).
pub type Foot = (&'static str, &'static str, u8);

/// The footer's entries where the focus is, in the order shown: the focused
/// pane's keys (in a replay, on a pane, the replay's before them), then (on
/// a pane) `?`, the demo's keys and the other pane keys, then those that
/// work anywhere. Ranks: 0 for the keys a newcomer needs first (the pane's
/// first key, or in a replay play and step; help, Tab, quit), 1 for the
/// pane's other keys (in a replay: decisions and speed), 2 for the demo's
/// and the other panes' keys, 3 for the rest (F1 where `?` is shown).
pub fn footer(focus: Focus, mode: Mode) -> Vec<Foot> {
    let ranked = |t: &'static [KeyHelp], rank: &dyn Fn(usize) -> u8| {
        t.iter()
            .filter_map(|k| k.foot)
            .enumerate()
            .map(|(i, (key, what))| (key, what, rank(i)))
            .collect::<Vec<_>>()
    };
    let on_pane = focus != Focus::Input;
    let replay = mode == Mode::Replay && on_pane;
    let mut out = Vec::new();
    if replay {
        out.extend(ranked(REPLAY, &|i| (i / 2).min(2) as u8));
    }
    let first = if replay { 1 } else { 0 };
    out.extend(ranked(focus.keys(), &|i| first + (i > 0) as u8));
    // Step mode: its keys right after the pane's, the first ones kept long.
    if mode == Mode::Step && on_pane {
        out.extend(ranked(STEP, &|i| (i / 2).min(2) as u8));
    }
    if on_pane {
        let any = ranked(ANY_PANE, &|i| if i == 0 { 0 } else { 2 });
        out.push(any[0]);
        if matches!(mode, Mode::Demo | Mode::Step) {
            out.extend(ranked(DEMO, &|i| if i < 4 { 2 } else { 3 }));
        }
        out.extend(any.into_iter().skip(1));
    }
    let f1 = if on_pane { 3 } else { 0 };
    out.extend(
        ranked(ANYWHERE, &|_| 0)
            .into_iter()
            .map(|(key, what, _)| (key, what, if key == "F1" { f1 } else { 0 })),
    );
    out
}

/// The cells a footer entry takes: the key, a space, the words, two spaces.
pub fn foot_width(f: &Foot) -> usize {
    width(f.0) + 1 + width(f.1) + 2
}

/// The entries that fit in `cells` (after a leading space), in the order
/// shown: the lowest ranks first, then, at each rank, in order; an entry
/// that does not fit is left out whole and a shorter one may take its
/// place.
pub fn fit_footer(entries: &[Foot], cells: usize) -> Vec<Foot> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| (entries[i].2, i));
    let mut used = 1;
    let mut keep = vec![false; entries.len()];
    for i in order {
        let w = foot_width(&entries[i]);
        if used + w <= cells {
            used += w;
            keep[i] = true;
        }
    }
    entries
        .iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(*e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At 80 columns every footer keeps help, Tab and quit and its pane's
    /// first key, whatever else it drops.
    #[test]
    fn a_narrow_footer_drops_the_least_important_keys_first() {
        for mode in [Mode::Site, Mode::Demo, Mode::Replay] {
            for focus in [Focus::Input, Focus::Timeline, Focus::Blocks, Focus::Trace] {
                let all = footer(focus, mode);
                let kept = fit_footer(&all, 80);
                let w: usize = 1 + kept.iter().map(foot_width).sum::<usize>();
                assert!(w <= 80, "{focus:?} {mode:?}: {kept:?}");
                for f in all.iter().filter(|f| f.2 == 0) {
                    assert!(
                        kept.contains(f),
                        "{focus:?} {mode:?}: {f:?} dropped: {kept:?}"
                    );
                }
                let ranks: Vec<u8> = kept.iter().map(|f| f.2).collect();
                let dropped = all.iter().filter(|f| !kept.contains(f));
                for d in dropped {
                    // Whatever was dropped ranks below what was kept, or
                    // did not fit.
                    let room = 80 - w;
                    assert!(
                        ranks.iter().all(|&r| r <= d.2) || foot_width(d) > room,
                        "{focus:?} {mode:?}: {d:?} dropped before {kept:?}"
                    );
                }
            }
        }
    }
}
