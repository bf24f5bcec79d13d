//! The link matrix popup (`m`) of the demo and of `demo --step`: sites ×
//! sites, one cell per direction (from the row's site to the column's), up
//! or down, with the loss and delay that direction meets; keys move the
//! cell cursor, flip a direction or both, change the row site's loss and
//! delay, and apply presets. The model is
//! [`Links`](crate::ui::links::Links); the App sends every change to the
//! demo, whose sites' filters carry it out (in step mode: the stepper,
//! which makes it a step and sets its network, `demo/step/net.rs`).

use super::title;
use crate::ui::keys::{ch, code, help_only, Key, KeyHelp};
use crate::ui::links::{Links, Preset};
use crate::ui::text::{pad, width};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// What a key does in the link popup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Close,
    /// Move the cursor (rows, columns).
    Move(isize, isize),
    /// Flip the direction under the cursor.
    Toggle,
    /// Flip both directions of the link under the cursor.
    ToggleBoth,
    /// The row site's loss, in steps of 10 %.
    Loss(i32),
    /// The row site's delay, in steps of 50 ms.
    Delay(i64),
    Preset(Preset),
}

const PRESET_KEYS: [Key; 6] = [ch('1'), ch('2'), ch('3'), ch('4'), ch('5'), ch('0')];

pub const KEYS: &[KeyHelp] = &[
    help_only(
        "Esc q m",
        &[code(KeyCode::Esc), ch('q'), ch('m')],
        "close the link matrix",
    ),
    help_only(
        "↑ ↓ ← →",
        &[
            code(KeyCode::Up),
            code(KeyCode::Down),
            code(KeyCode::Left),
            code(KeyCode::Right),
        ],
        "move the cell cursor (row: from, column: to)",
    ),
    help_only(
        "Space Enter",
        &[ch(' '), code(KeyCode::Enter)],
        "take the direction under the cursor down, or up again",
    ),
    help_only(
        "b",
        &[ch('b')],
        "take both directions of that link down, or up again",
    ),
    help_only(
        "l / L",
        &[ch('l'), ch('L')],
        "the row site's loss +10 % / −10 % (on all it sends and receives)",
    ),
    help_only(
        "d / D",
        &[ch('d'), ch('D')],
        "the row site's delay +50 ms / −50 ms (on all it sends)",
    ),
    help_only(
        "1..5 0",
        &PRESET_KEYS,
        "presets: 1 one link down, 2 the leader cut off, 3 a chain, 4 quorum loss, 5 two proposers duel, 0 heal all",
    ),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Esc | KeyCode::Char('q' | 'm') => Action::Close,
        KeyCode::Up => Action::Move(-1, 0),
        KeyCode::Down => Action::Move(1, 0),
        KeyCode::Left => Action::Move(0, -1),
        KeyCode::Right => Action::Move(0, 1),
        KeyCode::Char(' ') | KeyCode::Enter => Action::Toggle,
        KeyCode::Char('b') => Action::ToggleBoth,
        KeyCode::Char('l') => Action::Loss(1),
        KeyCode::Char('L') => Action::Loss(-1),
        KeyCode::Char('d') => Action::Delay(1),
        KeyCode::Char('D') => Action::Delay(-1),
        KeyCode::Char(c @ '1'..='5') => Action::Preset(Preset::ALL[c as usize - '1' as usize]),
        KeyCode::Char('0') => Action::Preset(Preset::HealAll),
        _ => return None,
    })
}

/// The cell cursor moved by (`dr`, `dc`), wrapping, in `n` sites.
pub fn moved(cursor: (usize, usize), (dr, dc): (isize, isize), n: usize) -> (usize, usize) {
    let n = n.max(1) as isize;
    let step = |v: usize, d: isize| ((v as isize + d).rem_euclid(n)) as usize;
    (step(cursor.0, dr), step(cursor.1, dc))
}

/// The new links after `a` at `cursor` (`None`: the key changes nothing
/// there, or closes), and what changed in words.
pub fn apply(
    links: &Links,
    a: Action,
    cursor: (usize, usize),
    leader: Option<usize>,
    names: &[String],
) -> Option<(Links, String)> {
    let (r, c) = cursor;
    let name = |i: usize| names.get(i).cloned().unwrap_or_default();
    let mut out = links.clone();
    let why = match a {
        Action::Close | Action::Move(..) => return None,
        Action::Toggle | Action::ToggleBoth if r == c => return None,
        Action::Toggle => {
            out.toggle(r, c);
            let state = if out.is_down(r, c) { "down" } else { "up" };
            format!("link {}→{} {state}", name(r), name(c))
        }
        Action::ToggleBoth => {
            let down = !(links.is_down(r, c) && links.is_down(c, r));
            out.set_both(r, c, down);
            let state = if down { "down" } else { "up" };
            format!("link {}↔{} {state}", name(r), name(c))
        }
        Action::Loss(s) => {
            out.add_loss(r, s);
            format!("loss of {} {}%", name(r), out.loss(r))
        }
        Action::Delay(s) => {
            out.add_delay(r, s);
            format!("delay of {} {}ms", name(r), out.delay(r))
        }
        Action::Preset(p) => {
            out = links.preset(p, leader);
            format!("preset: {}", p.name())
        }
    };
    (out != *links).then_some((out, why))
}

// ----- drawing ----------------------------------------------------------

/// What the popup shows.
pub struct LinksProps<'a> {
    pub theme: &'a Theme,
    pub links: &'a Links,
    pub names: &'a [String],
    pub cursor: (usize, usize),
    pub leader: Option<usize>,
}

/// A cell's text: `·` itself, `✗` down, else `up` or its loss and delay.
fn cell(links: &Links, a: usize, b: usize) -> String {
    if a == b {
        return "·".to_string();
    }
    if links.is_down(a, b) {
        return "✗ down".to_string();
    }
    let loss = links.loss_between(a, b);
    let delay = links.delay(a);
    match (loss, delay) {
        (0, 0) => "up".to_string(),
        (l, 0) => format!("{l}%"),
        (0, d) => format!("+{d}ms"),
        (l, d) => format!("{l}% +{d}"),
    }
}

/// The popup's lines: a header row, one row per site, its loss and delay,
/// then the legend and the keys.
fn lines<'a>(p: &LinksProps, cw: usize, nw: usize) -> Vec<Line<'a>> {
    let t = p.theme;
    let n = p.links.len();
    let mut head = vec![Span::styled(pad("from\\to", nw + 2), t.dim())];
    for (j, name) in p.names.iter().enumerate().take(n) {
        head.push(Span::styled(pad(&format!(" {name}"), cw), t.author(j)));
    }
    head.push(Span::styled(" loss  delay", t.dim()));
    let mut out = vec![Line::from(head)];
    for a in 0..n {
        let lead = if p.leader == Some(a) { "♛ " } else { "  " };
        let mut row = vec![
            Span::styled(lead, t.warn()),
            Span::styled(pad(&p.names[a], nw), t.author(a)),
        ];
        for b in 0..n {
            let mark = if (a, b) == p.cursor { "▸" } else { " " };
            let text = pad(&format!("{mark}{}", cell(p.links, a, b)), cw);
            let style = if (a, b) == p.cursor {
                t.selected(true)
            } else if p.links.is_down(a, b) {
                t.error()
            } else if a == b {
                t.dim()
            } else if p.links.loss_between(a, b) > 0 || p.links.delay(a) > 0 {
                t.warn()
            } else {
                t.ok()
            };
            row.push(Span::styled(text, style));
        }
        row.push(Span::raw(format!(
            " {:>3}% {:>5}",
            p.links.loss(a),
            format!("{}ms", p.links.delay(a))
        )));
        out.push(Line::from(row));
    }
    out.push(Line::raw(""));
    out.push(Line::from(meaning(p)));
    out.push(Line::raw(""));
    out.extend(legend(t));
    out
}

/// What the cell under the cursor means for the sites' filters.
fn meaning(p: &LinksProps) -> String {
    let (a, b) = p.cursor;
    let name = |i: usize| p.names.get(i).cloned().unwrap_or_default();
    if a == b {
        return format!("▸ {}: a site always hears itself", name(a));
    }
    let (na, nb) = (name(a), name(b));
    if p.links.is_down(a, b) {
        format!("▸ {na}→{nb} down: {na}'s filter drops to {nb}, {nb}'s drops from {na}")
    } else {
        format!(
            "▸ {na}→{nb} up: {}% lost ({na}'s loss, then {nb}'s), +{}ms ({na}'s delay)",
            p.links.loss_between(a, b),
            p.links.delay(a)
        )
    }
}

fn legend<'a>(t: &Theme) -> Vec<Line<'a>> {
    let key = |k: &'static str| Span::styled(k, t.key());
    let text = |s: &'static str| Span::raw(s);
    vec![
        Line::styled(
            "Loss and delay are a site's, not a link's (the filter has one of each).",
            t.dim(),
        ),
        Line::from(vec![
            key("←↑↓→"),
            text(" cell  "),
            key("Space"),
            text(" flip  "),
            key("b"),
            text(" both ways  "),
            key("l/L"),
            text(" loss ±10%  "),
            key("d/D"),
            text(" delay ±50ms  "),
            key("Esc"),
            text(" close"),
        ]),
        Line::from(vec![
            key("1"),
            text(" one link down  "),
            key("2"),
            text(" leader cut off  "),
            key("3"),
            text(" chain  "),
            key("4"),
            text(" quorum loss  "),
            key("5"),
            text(" duel  "),
            key("0"),
            text(" heal all"),
        ]),
    ]
}

/// Draws the popup over `screen`.
pub fn draw(p: &LinksProps, frame: &mut Frame, screen: Rect) {
    let r = super::popup::area(screen);
    if !super::drawable(r) {
        return;
    }
    frame.render_widget(Clear, r);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(p.theme.border(true))
        .title(title(
            p.theme,
            " Links · from row to column (Esc closes) ".to_string(),
            true,
        ));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let n = p.links.len().max(1);
    let nw = p.names.iter().map(|s| width(s)).max().unwrap_or(4).min(8) + 1;
    // The cells share the width left after the names and loss/delay.
    let left = (inner.width as usize).saturating_sub(nw + 2 + 13);
    let cw = (left / n).clamp(3, 12);
    let text = Paragraph::new(lines(p, cw, nw)).wrap(Wrap { trim: false });
    frame.render_widget(text, inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["alice", "bob", "carol"].map(String::from).to_vec()
    }

    #[test]
    fn keys_change_the_links_under_the_cursor() {
        let l = Links::new(3);
        let n = names();
        let (t, why) = apply(&l, Action::Toggle, (0, 2), None, &n).unwrap();
        assert!(t.is_down(0, 2) && !t.is_down(2, 0));
        assert_eq!(why, "link alice→carol down");
        let (b, _) = apply(&t, Action::ToggleBoth, (0, 2), None, &n).unwrap();
        assert!(b.is_down(0, 2) && b.is_down(2, 0));
        let (u, why) = apply(&b, Action::ToggleBoth, (2, 0), None, &n).unwrap();
        assert!(u.is_clear());
        assert_eq!(why, "link carol↔alice up");
        assert_eq!(apply(&l, Action::Toggle, (1, 1), None, &n), None);
        assert_eq!(apply(&l, Action::Loss(-1), (1, 0), None, &n), None);
        let (ls, why) = apply(&l, Action::Loss(1), (1, 0), None, &n).unwrap();
        assert_eq!((ls.loss(1), why.as_str()), (10, "loss of bob 10%"));
        assert_eq!(moved((0, 0), (-1, 1), 3), (2, 1));
        assert_eq!(cell(&ls, 1, 0), "10%");
        assert_eq!(cell(&b, 0, 2), "✗ down");
    }
}
