//! The block list: every other user, whom the shown site's user blocks,
//! and the blocks and unblocks on their way.

use super::{bordered, drawable, Ask};
use crate::ui::keys::{ch, code, help_only, in_footer, KeyHelp};
use crate::ui::text::{pad, width};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};
use ratatui::Frame;

/// A row of the block list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    pub name: String,
    pub site: usize,
    pub blocked: bool,
    /// A block or unblock of this user is on its way (`blocking…`), or was
    /// answered 503 and may still be decided (`block not decided yet`).
    pub pending: Option<&'static str>,
    /// This user blocks the shown site's user (their tweets are hidden).
    pub blocks_me: bool,
}

// ----- keys -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    First,
    Last,
    Block,
    Unblock,
    Toggle,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "↑/↓ k/j",
        &[code(KeyCode::Up), ch('k'), code(KeyCode::Down), ch('j')],
        ("↑↓", "select"),
        "select a user",
    ),
    in_footer("b", &[ch('b')], ("b", "block"), "block the selected user"),
    in_footer(
        "u/Del/Backspace",
        &[ch('u'), code(KeyCode::Delete), code(KeyCode::Backspace)],
        ("u", "unblock"),
        "unblock the selected user",
    ),
    in_footer(
        "Space",
        &[ch(' ')],
        ("Space", "toggle"),
        "block or unblock the selected user",
    ),
    help_only(
        "Home/End g/G",
        &[code(KeyCode::Home), ch('g'), code(KeyCode::End), ch('G')],
        "select the first/last user",
    ),
    help_only(
        "PgUp/PgDn",
        &[code(KeyCode::PageUp), code(KeyCode::PageDown)],
        "select the first/last user too (the list is short)",
    ),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Home | KeyCode::PageUp | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::PageDown | KeyCode::Char('G') => Action::Last,
        KeyCode::Char('b') => Action::Block,
        KeyCode::Char('u') | KeyCode::Delete | KeyCode::Backspace => Action::Unblock,
        KeyCode::Char(' ') => Action::Toggle,
        _ => return None,
    })
}

/// Carries out `action` on the list `rows` whose selected row is `*sel`.
pub fn apply(action: Action, rows: &[BlockRow], sel: &mut usize) -> Ask {
    let Some(last) = rows.len().checked_sub(1) else {
        return Ask::Nothing;
    };
    let at = (*sel).min(last);
    let row = &rows[at];
    match action {
        Action::Up => *sel = at.saturating_sub(1),
        Action::Down => *sel = (at + 1).min(last),
        Action::First => *sel = 0,
        Action::Last => *sel = last,
        Action::Block => return Ask::Block(row.name.clone()),
        Action::Unblock => return Ask::Unblock(row.name.clone()),
        Action::Toggle if row.blocked => return Ask::Unblock(row.name.clone()),
        Action::Toggle => return Ask::Block(row.name.clone()),
    }
    Ask::Nothing
}

/// The mouse wheel: one row per notch, whichever way.
pub fn wheel(delta: isize, rows: usize, sel: &mut usize) {
    *sel = sel
        .saturating_add_signed(delta.signum())
        .min(rows.saturating_sub(1));
}

// ----- drawing ----------------------------------------------------------

pub struct BlocksProps<'a> {
    pub theme: &'a Theme,
    pub focused: bool,
    /// The shown site's user.
    pub me: &'a str,
    pub rows: &'a [BlockRow],
    pub selected: usize,
}

pub fn draw(p: &BlocksProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let n = p.rows.iter().filter(|r| r.blocked).count();
    // Shorter in a narrow pane.
    let head = [
        format!(" Blocks · {} blocks {n} · ■ blocked □ not ", p.me),
        format!(" Blocks · {} blocks {n} ", p.me),
    ]
    .into_iter()
    .find(|h| width(h) + 2 <= area.width as usize)
    .unwrap_or_else(|| format!(" Blocks · {n} "));
    let block = bordered(t, head, p.focused);
    let name_w = p
        .rows
        .iter()
        .map(|r| width(&r.name))
        .max()
        .unwrap_or(0)
        .min(14);
    let items: Vec<ListItem> = p
        .rows
        .iter()
        .map(|r| {
            let mut spans = vec![
                Span::raw(if r.blocked { "■ " } else { "□ " }),
                Span::styled(pad(&r.name, name_w), t.author(r.site)),
            ];
            if let Some(pending) = r.pending {
                let (text, style) = match pending.ends_with('…') {
                    true => (format!("  {pending} (pending)"), t.pending()),
                    false => (format!("  {pending}"), t.warn()),
                };
                spans.push(Span::styled(text, style));
            } else if r.blocked {
                spans.push(Span::styled("  blocked", t.error()));
            }
            if r.blocks_me {
                spans.push(Span::styled("  (blocks you)", t.dim()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_symbol("▶ ")
        .highlight_style(t.selected(p.focused));
    let mut state = ListState::default().with_selected(if p.rows.is_empty() {
        None
    } else {
        Some(p.selected.min(p.rows.len() - 1))
    });
    frame.render_stateful_widget(list, area, &mut state);
}
