//! The input box: one line of at most 280 characters of tweet text (after
//! a `/tweet ` prefix), edited by tui-textarea; Enter hands the line over
//! as a command. While it has the focus every printable key is text.

use super::{bordered, drawable, timeline, Ask, Focus, Level};
use crate::state::MAX_TWEET_CHARS;
use crate::ui::command::{self, tweet_prefix_chars};
use crate::ui::keys::{ch, code, ctrl, help_only, in_footer, KeyHelp};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::Frame;
use tui_textarea::{CursorMove, TextArea};

// ----- keys -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Submit,
    /// Clear the line; on an empty line, leave the box.
    ClearOrLeave,
    /// The line has nowhere to go up or down: the timeline scrolls.
    Timeline(timeline::Action),
    /// Anything else edits the line (tui-textarea's keys).
    Edit,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "Enter",
        &[
            code(KeyCode::Enter),
            ctrl('m'),
            ctrl('j'),
            ch('\n'),
            ch('\r'),
        ],
        ("Enter", "send"),
        "send the line: a tweet or a command",
    ),
    in_footer(
        "Esc",
        &[code(KeyCode::Esc)],
        ("Esc", "clear/leave"),
        "clear the line; on an empty line, leave the box",
    ),
    help_only(
        "text",
        &[ch('a')],
        "plain text is a tweet (at most 280 characters)",
    ),
    help_only(
        "←/→ Home/End",
        &[
            code(KeyCode::Left),
            code(KeyCode::Right),
            code(KeyCode::Home),
            code(KeyCode::End),
            ctrl('w'),
            ctrl('u'),
        ],
        "move the cursor; Ctrl-W/Ctrl-U delete a word/to the start",
    ),
    help_only(
        "↑/↓ PgUp/PgDn",
        &[
            code(KeyCode::Up),
            code(KeyCode::Down),
            code(KeyCode::PageUp),
            code(KeyCode::PageDown),
        ],
        "scroll the timeline",
    ),
];

pub fn action(key: &KeyEvent) -> Action {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Enter => Action::Submit,
        KeyCode::Char('m' | 'j') if ctrl => Action::Submit,
        KeyCode::Char('\n' | '\r') => Action::Submit,
        KeyCode::Esc => Action::ClearOrLeave,
        KeyCode::Up => Action::Timeline(timeline::Action::Select(-1)),
        KeyCode::Down => Action::Timeline(timeline::Action::Select(1)),
        KeyCode::PageUp => Action::Timeline(timeline::Action::SelectPage(-1)),
        KeyCode::PageDown => Action::Timeline(timeline::Action::SelectPage(1)),
        _ => Action::Edit,
    }
}

/// The input box's state.
pub struct InputBox {
    textarea: TextArea<'static>,
    placeholder: Style,
    focused: bool,
}

impl InputBox {
    pub fn new(theme: &Theme, focused: bool) -> InputBox {
        let mut b = InputBox {
            textarea: TextArea::default(),
            placeholder: theme.dim(),
            focused,
        };
        b.set_text(String::new());
        b
    }

    /// The line as typed.
    pub fn text(&self) -> String {
        self.textarea.lines().join(" ")
    }

    pub fn clear(&mut self) {
        self.set_text(String::new());
    }

    /// Puts `text` back in an empty box (a tweet not decided); `false`
    /// when the box holds something else (that stays).
    pub fn put_back(&mut self, text: &str) -> bool {
        if !self.text().is_empty() {
            return false;
        }
        self.set_text(text.to_string());
        true
    }

    /// A fresh text area holding `text`, the cursor at its end.
    fn set_text(&mut self, text: String) {
        let mut t = TextArea::new(vec![text]);
        t.set_cursor_line_style(Style::default());
        t.set_placeholder_text(
            "Type a tweet and press Enter · /help for commands · Tab moves to the panes",
        );
        t.set_placeholder_style(self.placeholder);
        t.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
        t.set_cursor_style(self.cursor_style());
        t.move_cursor(CursorMove::End);
        self.textarea = t;
    }

    fn cursor_style(&self) -> Style {
        if self.focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        }
    }

    /// The cursor shows only while the box has the focus.
    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
        let style = self.cursor_style();
        self.textarea.set_cursor_style(style);
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Ask {
        match action(&key) {
            Action::Submit => match command::parse(&self.text()) {
                Ok(None) => Ask::Nothing,
                Ok(Some(cmd)) => Ask::Command(cmd),
                // The text stays in the box, to be corrected.
                Err(usage) => Ask::Say(Level::Error, usage.0),
            },
            Action::ClearOrLeave if self.text().is_empty() => Ask::Focus(Focus::Timeline),
            Action::ClearOrLeave => {
                self.clear();
                Ask::Nothing
            }
            Action::Timeline(a) => Ask::MoveTimeline(a),
            Action::Edit => {
                self.textarea.input(key);
                self.keep_one_line()
            }
        }
    }

    /// Pasted text: control characters (newlines) become spaces.
    pub fn paste(&mut self, text: &str) -> Ask {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.textarea.insert_str(clean);
        self.keep_one_line()
    }

    /// One line, no control characters, at most 280 characters of text.
    fn keep_one_line(&mut self) -> Ask {
        let raw = self.text();
        let mut text: String = raw
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let limit = MAX_TWEET_CHARS + tweet_prefix_chars(&text);
        let mut ask = Ask::Nothing;
        if text.chars().count() > limit {
            text = text.chars().take(limit).collect();
            ask = Ask::Say(
                Level::Error,
                format!("a tweet is at most {MAX_TWEET_CHARS} characters"),
            );
        }
        if text != raw || self.textarea.lines().len() > 1 {
            self.set_text(text);
        }
        ask
    }
}

// ----- drawing ----------------------------------------------------------

pub struct InputProps<'a> {
    pub theme: &'a Theme,
    pub input: &'a InputBox,
    /// The shown site's user: who tweets.
    pub me: &'a str,
    /// Requests sent from here and not answered yet.
    pub unanswered: usize,
}

pub fn draw(p: &InputProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let text = p.input.text();
    let count = text
        .chars()
        .count()
        .saturating_sub(tweet_prefix_chars(&text));
    let mut head = format!(" Tweet as {} · {count}/{MAX_TWEET_CHARS} ", p.me);
    if p.unanswered > 0 {
        head.push_str(&format!("· {} pending ", p.unanswered));
    }
    let block = bordered(p.theme, head, p.input.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width > 1 && inner.height > 0 {
        frame.render_widget(&p.input.textarea, inner);
    }
}
