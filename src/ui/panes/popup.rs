//! Popups over the panes: the help, the decided log (`/log`), and the
//! prompt for the trace's slot filter. An open popup has every key but
//! Ctrl-C.

use super::{title, Ask};
use crate::paxos::Slot;
use crate::ui::keys::{ch, code, help_only, KeyHelp, DIGITS};
use crate::ui::text::pad;
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};
use ratatui::Frame;

/// A decided log entry, as the `/log` popup shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub slot: Slot,
    pub author: Option<String>,
    pub what: String,
}

#[derive(Clone, Debug)]
pub enum Popup {
    Help {
        scroll: usize,
    },
    Log {
        site: usize,
        title: String,
        lines: Vec<LogLine>,
        scroll: usize,
    },
    /// Typing a slot number for the trace's slot filter.
    SlotPrompt {
        text: String,
    },
    /// The demo's link matrix (`panes/links.rs`): the cell cursor (from,
    /// to).
    Links {
        cursor: (usize, usize),
    },
}

/// Where a popup goes in a terminal of `area`.
pub fn area(area: Rect) -> Rect {
    let w = area.width.saturating_sub(6).min(110);
    let h = area.height.saturating_sub(4);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// Rows of text a popup shows at once in a terminal of `size`.
pub fn page(size: (u16, u16)) -> usize {
    let r = area(Rect::new(0, 0, size.0, size.1));
    (r.height as usize).saturating_sub(2).max(1)
}

/// Cells of text a popup line has in a terminal of `size`.
pub fn text_width(size: (u16, u16)) -> usize {
    let r = area(Rect::new(0, 0, size.0, size.1));
    (r.width as usize).saturating_sub(2).max(1)
}

// ----- keys -------------------------------------------------------------

/// Keys of the help and the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Close,
    Scroll(isize),
    Page(isize),
    Top,
    Bottom,
}

pub const KEYS: &[KeyHelp] = &[
    help_only(
        "Esc q ? F1 Enter",
        &[
            code(KeyCode::Esc),
            ch('q'),
            ch('?'),
            code(KeyCode::F(1)),
            code(KeyCode::Enter),
        ],
        "close the popup",
    ),
    help_only(
        "↑/↓ k/j",
        &[code(KeyCode::Up), ch('k'), code(KeyCode::Down), ch('j')],
        "scroll a line",
    ),
    help_only(
        "PgUp/PgDn Space",
        &[code(KeyCode::PageUp), code(KeyCode::PageDown), ch(' ')],
        "scroll a page",
    ),
    help_only(
        "Home/End g/G",
        &[code(KeyCode::Home), ch('g'), code(KeyCode::End), ch('G')],
        "jump to the top/bottom",
    ),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::F(1) | KeyCode::Enter => Action::Close,
        KeyCode::Up | KeyCode::Char('k') => Action::Scroll(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Scroll(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::PageDown | KeyCode::Char(' ') => Action::Page(1),
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        _ => return None,
    })
}

/// Keys of the slot prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptAction {
    Digit(char),
    Erase,
    Apply,
    Cancel,
}

const PROMPT_DIGITS: [crate::ui::keys::Key; 10] = {
    let mut keys = [ch('0'); 10];
    let mut i = 0;
    while i < 9 {
        keys[i + 1] = DIGITS[i];
        i += 1;
    }
    keys
};

pub const PROMPT_KEYS: &[KeyHelp] = &[
    help_only("0..9", &PROMPT_DIGITS, "type the slot number"),
    help_only("Backspace", &[code(KeyCode::Backspace)], "erase a digit"),
    help_only(
        "Enter",
        &[code(KeyCode::Enter)],
        "filter by that slot (empty: all slots)",
    ),
    help_only("Esc", &[code(KeyCode::Esc)], "cancel"),
];

pub fn prompt_action(key: &KeyEvent) -> Option<PromptAction> {
    Some(match key.code {
        KeyCode::Char(c) if c.is_ascii_digit() => PromptAction::Digit(c),
        KeyCode::Backspace => PromptAction::Erase,
        KeyCode::Enter => PromptAction::Apply,
        KeyCode::Esc => PromptAction::Cancel,
        _ => return None,
    })
}

/// A key for the open popup `*popup`, which shows `len` lines `page` at a
/// time; closing it sets `*popup` to `None`.
pub fn on_key(popup: &mut Option<Popup>, key: &KeyEvent, len: usize, page: usize) -> Ask {
    let max = len.saturating_sub(page);
    match popup {
        Some(Popup::SlotPrompt { text }) => match prompt_action(key) {
            Some(PromptAction::Digit(c)) if text.len() < 19 => text.push(c),
            Some(PromptAction::Digit(_)) | None => {}
            Some(PromptAction::Erase) => {
                text.pop();
            }
            Some(PromptAction::Apply) => {
                let slot = text.parse::<Slot>().ok();
                *popup = None;
                return Ask::FilterSlot(slot);
            }
            Some(PromptAction::Cancel) => *popup = None,
        },
        Some(Popup::Help { scroll } | Popup::Log { scroll, .. }) => match action(key) {
            Some(Action::Close) => *popup = None,
            Some(Action::Scroll(n)) => *scroll = scrolled(*scroll, n, max),
            Some(Action::Page(n)) => *scroll = scrolled(*scroll, n * page as isize, max),
            Some(Action::Top) => *scroll = 0,
            Some(Action::Bottom) => *scroll = max,
            None => {}
        },
        // The App handles the link matrix's keys (`panes/links.rs`).
        Some(Popup::Links { .. }) | None => {}
    }
    Ask::Nothing
}

/// `scroll` moved by `delta`: up to 0, down to `max`.
fn scrolled(scroll: usize, delta: isize, max: usize) -> usize {
    if delta < 0 {
        scroll.saturating_sub(delta.unsigned_abs())
    } else {
        (scroll + delta as usize).min(max)
    }
}

/// The mouse wheel over an open help or log.
pub fn wheel(popup: &mut Option<Popup>, delta: isize, len: usize, page: usize) {
    if let Some(Popup::Help { scroll } | Popup::Log { scroll, .. }) = popup {
        *scroll = scroll
            .saturating_add_signed(delta)
            .min(len.saturating_sub(page));
    }
}

// ----- drawing ----------------------------------------------------------

/// The `/log` popup's lines; an author's colour is its site's.
pub fn log_lines<'a>(theme: &Theme, lines: &[LogLine], names: &[String]) -> Vec<Line<'a>> {
    lines
        .iter()
        .map(|l| {
            let author = l.author.clone().unwrap_or_default();
            let site = names.iter().position(|n| *n == author);
            Line::from(vec![
                Span::styled(format!("slot {:>6}  ", l.slot), theme.dim()),
                Span::styled(
                    pad(&author, 9),
                    site.map_or(theme.dim(), |i| theme.author(i)),
                ),
                Span::raw(l.what.clone()),
            ])
        })
        .collect()
}

/// A scrolled popup of `lines` over the whole screen `screen`.
pub fn draw_text(
    theme: &Theme,
    frame: &mut Frame,
    screen: Rect,
    title_text: &str,
    lines: Vec<Line>,
    scroll: usize,
) {
    let r = area(screen);
    if !super::drawable(r) {
        return;
    }
    frame.render_widget(Clear, r);
    if let Some(base) = theme.base() {
        frame.render_widget(Block::new().style(base), r);
    }
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(title(theme, title_text.to_string(), true));
    let inner = block.inner(r);
    frame.render_widget(block, r);
    let h = inner.height as usize;
    let max = lines.len().saturating_sub(h);
    let scroll = scroll.min(max);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(h).collect();
    frame.render_widget(Paragraph::new(shown), inner);
}

/// The slot prompt, a small box in the middle of `screen`.
pub fn draw_slot_prompt(theme: &Theme, frame: &mut Frame, screen: Rect, text: &str) {
    let w = 56.min(screen.width);
    let r = Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + screen.height / 2 - 2,
        w,
        3,
    );
    frame.render_widget(Clear, r);
    if let Some(base) = theme.base() {
        frame.render_widget(Block::new().style(base), r);
    }
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(title(
            theme,
            " Trace: filter by slot (Enter applies, empty clears) ".to_string(),
            true,
        ));
    let line = Line::from(vec![
        Span::raw(" slot: "),
        Span::styled(text.to_string(), theme.key()),
        Span::styled("█", theme.plain()),
    ]);
    frame.render_widget(Paragraph::new(line).block(block), r);
}
