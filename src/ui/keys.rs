//! The keys of each pane, in one table per pane. The same tables feed the
//! footer (entries marked `footer`) and the help popup (all of them), so
//! the two can never disagree.

/// One key binding as the user reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHelp {
    /// The key(s), as written on the keyboard.
    pub keys: &'static str,
    /// A sentence, for the help popup.
    pub long: &'static str,
    /// For the footer, where it is shown: the key(s) in short and a word
    /// or two.
    pub foot: Option<(&'static str, &'static str)>,
}

/// A key listed in the help popup only.
const fn k(keys: &'static str, long: &'static str) -> KeyHelp {
    KeyHelp {
        keys,
        long,
        foot: None,
    }
}

/// A key listed in the help popup and the footer.
const fn f(
    keys: &'static str,
    foot_keys: &'static str,
    short: &'static str,
    long: &'static str,
) -> KeyHelp {
    KeyHelp {
        keys,
        long,
        foot: Some((foot_keys, short)),
    }
}

/// Where the keys work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Anywhere,
    Input,
    Timeline,
    Blocks,
    Trace,
    AnyPane,
    Demo,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Anywhere => "Anywhere",
            Section::Input => "Input box",
            Section::Timeline => "Timeline",
            Section::Blocks => "Blocks",
            Section::Trace => "Paxos trace",
            Section::AnyPane => "Any pane (not the input box)",
            Section::Demo => "Demo (any pane; Alt+digit anywhere)",
        }
    }

    pub fn keys(self) -> &'static [KeyHelp] {
        match self {
            Section::Anywhere => ANYWHERE,
            Section::Input => INPUT,
            Section::Timeline => TIMELINE,
            Section::Blocks => BLOCKS,
            Section::Trace => TRACE,
            Section::AnyPane => ANY_PANE,
            Section::Demo => DEMO,
        }
    }
}

pub const ANYWHERE: &[KeyHelp] = &[
    f("F1", "F1", "help", "open this help"),
    f("Ctrl-C", "^C", "quit", "quit (the terminal is restored)"),
    f(
        "Tab / Shift-Tab",
        "Tab",
        "focus",
        "move focus: input → timeline → blocks → trace",
    ),
    k(
        "Esc",
        "close a popup, or clear the input, or leave the input box",
    ),
    k(
        "F2",
        "switch mouse capture (wheel scrolling) off and on; off lets you select and copy text",
    ),
];

pub const INPUT: &[KeyHelp] = &[
    f(
        "Enter",
        "Enter",
        "send",
        "send the line: a tweet or a command",
    ),
    f(
        "Esc",
        "Esc",
        "clear/leave",
        "clear the line; on an empty line, leave the box",
    ),
    k("text", "plain text is a tweet (at most 280 characters)"),
    k(
        "←/→ Home/End",
        "move the cursor; Ctrl-W/Ctrl-U delete a word/to the start",
    ),
    k("↑/↓ PgUp/PgDn", "scroll the timeline"),
];

pub const TIMELINE: &[KeyHelp] = &[
    f("↑/↓", "↑↓", "select", "select the newer/older tweet"),
    f(
        "b",
        "b",
        "block author",
        "block the author of the selected tweet",
    ),
    k("PgUp/PgDn", "scroll a page"),
    k("Home/End", "jump to the newest/oldest tweet"),
    k("mouse wheel", "scroll the pane under the pointer"),
];

pub const BLOCKS: &[KeyHelp] = &[
    f("↑/↓", "↑↓", "select", "select a user"),
    f("b", "b", "block", "block the selected user"),
    f("u / Delete", "u", "unblock", "unblock the selected user"),
    f(
        "Space",
        "Space",
        "toggle",
        "block or unblock the selected user",
    ),
];

pub const TRACE: &[KeyHelp] = &[
    f("↑/↓ PgUp/PgDn", "↑↓", "scroll", "scroll the trace (or the slots)"),
    f(
        "s",
        "s",
        "slots",
        "switch between the message log and the per-slot view",
    ),
    f(
        "f",
        "f",
        "kind",
        "cycle the kind filter: synod (default: heartbeat, forward and fetch plumbing hidden), all, one kind, events",
    ),
    f(
        "/",
        "/",
        "slot",
        "filter by slot (type a number, Enter; empty clears)",
    ),
    f(
        "w",
        "w",
        "peer",
        "cycle the peer filter: all peers, then only the messages with each one",
    ),
    k("Home/End", "jump to the oldest/newest row (End follows new rows)"),
    k("Esc", "clear the slot filter"),
];

pub const ANY_PANE: &[KeyHelp] = &[
    f("?", "?", "help", "open this help"),
    f(
        "p",
        "p",
        "pause",
        "pause/resume the trace (messages keep being recorded)",
    ),
    f("i / Enter", "i", "input", "back to the input box"),
];

pub const DEMO: &[KeyHelp] = &[
    f(
        "1..9 / Alt+1..9",
        "1-9",
        "site",
        "show another site (its number is in the status line)",
    ),
    f(
        "x",
        "x",
        "crash",
        "crash the shown site (its data dir is kept)",
    ),
    f(
        "r",
        "r",
        "restart",
        "restart the shown site from its data dir: watch it catch up",
    ),
    f(
        "c",
        "c",
        "cut",
        "cut the shown site off from the others, or heal it",
    ),
    f(
        "t",
        "t",
        "chatter",
        "let the other sites tweet now and then (on/off)",
    ),
];

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
