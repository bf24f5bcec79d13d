//! Key tables: each one sits next to the `match` it documents (here for
//! the keys that work beyond one pane, in `panes/*` for each pane's own),
//! lists the keys that `match` handles, and feeds both the footer (entries
//! with a `foot`) and the help popup (all of them), so the two can never
//! disagree with each other or with the code. A test walks every table.

use super::cluster::DemoKey;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as a table lists it: a code, and the modifiers it needs (none:
/// any, as the handlers match on the code alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Does the event `e` press this key?
    pub fn matches(&self, e: &KeyEvent) -> bool {
        e.code == self.code && e.modifiers.contains(self.mods)
    }

    /// A press of this key (for tests).
    pub fn event(&self) -> KeyEvent {
        KeyEvent::new(self.code, self.mods)
    }
}

/// A key by its code.
pub const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

/// A character key.
pub const fn ch(c: char) -> Key {
    code(KeyCode::Char(c))
}

/// Ctrl and a character.
pub const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

/// Alt and a character.
pub const fn alt(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::ALT,
    }
}

/// `1` to `9`.
pub const DIGITS: [Key; 9] = [
    ch('1'),
    ch('2'),
    ch('3'),
    ch('4'),
    ch('5'),
    ch('6'),
    ch('7'),
    ch('8'),
    ch('9'),
];

/// One key binding as the user reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHelp {
    /// The key(s), as written on the keyboard.
    pub keys: &'static str,
    /// The keys this entry stands for, as the handler sees them (empty for
    /// the mouse wheel).
    pub sends: &'static [Key],
    /// A sentence, for the help popup.
    pub long: &'static str,
    /// For the footer, where it is shown: the key(s) in short and a word
    /// or two.
    pub foot: Option<(&'static str, &'static str)>,
}

impl KeyHelp {
    /// Is `e` one of this entry's keys?
    pub fn matches(&self, e: &KeyEvent) -> bool {
        self.sends.iter().any(|k| k.matches(e))
    }
}

/// A key listed in the help popup only.
pub const fn help_only(keys: &'static str, sends: &'static [Key], long: &'static str) -> KeyHelp {
    KeyHelp {
        keys,
        sends,
        long,
        foot: None,
    }
}

/// A key listed in the help popup and the footer.
pub const fn in_footer(
    keys: &'static str,
    sends: &'static [Key],
    foot: (&'static str, &'static str),
    long: &'static str,
) -> KeyHelp {
    KeyHelp {
        keys,
        sends,
        long,
        foot: Some(foot),
    }
}

// ----- anywhere ---------------------------------------------------------

/// Keys that work wherever the focus is (after an open popup has had its
/// turn, except Ctrl-C).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anywhere {
    Quit,
    Help,
    FocusNext,
    FocusPrev,
    MouseCapture,
}

pub const ANYWHERE: &[KeyHelp] = &[
    in_footer(
        "F1",
        &[code(KeyCode::F(1))],
        ("F1", "help"),
        "open this help",
    ),
    in_footer(
        "Ctrl-C",
        &[ctrl('c'), ctrl('C')],
        ("^C", "quit"),
        "quit (the terminal is restored)",
    ),
    in_footer(
        "Tab / Shift-Tab",
        &[code(KeyCode::Tab), code(KeyCode::BackTab)],
        ("Tab", "focus"),
        "move focus: input → timeline → blocks → trace",
    ),
    help_only(
        "F2",
        &[code(KeyCode::F(2))],
        "switch mouse capture (wheel scrolling) off and on; off lets you select and copy text",
    ),
];

pub fn anywhere(key: &KeyEvent) -> Option<Anywhere> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c' | 'C') if ctrl => Anywhere::Quit,
        KeyCode::F(1) => Anywhere::Help,
        KeyCode::F(2) => Anywhere::MouseCapture,
        KeyCode::Tab => Anywhere::FocusNext,
        KeyCode::BackTab => Anywhere::FocusPrev,
        _ => return None,
    })
}

// ----- any pane ---------------------------------------------------------

/// Keys that work on every pane (not in the input box, where they are
/// text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyPane {
    Help,
    PauseTrace,
    ToInput,
    Quit,
    Demo(DemoKey),
}

pub const ANY_PANE: &[KeyHelp] = &[
    in_footer("?", &[ch('?')], ("?", "help"), "open this help"),
    in_footer(
        "p",
        &[ch('p')],
        ("p", "pause"),
        "pause/resume the trace (messages keep being recorded)",
    ),
    in_footer(
        "i / Enter",
        &[ch('i'), code(KeyCode::Enter)],
        ("i", "input"),
        "back to the input box",
    ),
    help_only(
        "q",
        &[ch('q')],
        "quit (on a pane; in the input box q is text: Ctrl-C quits anywhere)",
    ),
];

/// `demo`: whether the demo's keys work.
pub fn any_pane(key: &KeyEvent, demo: bool) -> Option<AnyPane> {
    Some(match key.code {
        KeyCode::Char('i') | KeyCode::Enter => AnyPane::ToInput,
        KeyCode::Char('?') => AnyPane::Help,
        KeyCode::Char('p') => AnyPane::PauseTrace,
        KeyCode::Char('q') => AnyPane::Quit,
        _ if demo => AnyPane::Demo(super::cluster::demo_key(key)?),
        _ => return None,
    })
}
