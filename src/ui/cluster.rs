//! The UI's side of a cluster it runs in its own process (`tweettui
//! demo`): what the UI asks of it ([`DemoCmd`]), what it tells the UI
//! ([`DemoEvent`]), and the live safety check the UI runs across all its
//! sites ([`SafetyCheck`]). The UI owns these types; `demo.rs` carries the
//! commands out and sends the events.

use super::keys::{alt, ch, in_footer, Key, KeyHelp, DIGITS};
use super::links::Links;
use super::step::{StepCmd, StepView};
use crate::paxos::Slot;
use crate::site::api::SiteClient;
use crate::state::op::Value;
use crossterm::event::{KeyCode, KeyEvent};
use std::collections::BTreeMap;

/// What the UI asks of the demo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DemoCmd {
    /// The UI now shows this site (chatter leaves it alone).
    Shown(usize),
    Crash(usize),
    Restart(usize),
    CutOff {
        site: usize,
        on: bool,
    },
    Chatter(bool),
    /// The link matrix, as the user set it (`why`: the change in words,
    /// for the trace). The demo sets the filter of every site whose part
    /// changed.
    Links {
        links: Links,
        why: String,
    },
    /// `demo --step`: a step.
    Step(StepCmd),
}

/// What the demo tells the UI.
#[derive(Debug)]
pub enum DemoEvent {
    /// A site's runtime stopped: crashed on request (`reason` None) or by
    /// itself.
    Down {
        site: usize,
        reason: Option<String>,
    },
    /// A site (re)started; requests to it go through `client` from now on.
    Up {
        site: usize,
        client: SiteClient,
    },
    CutOff {
        site: usize,
        on: bool,
    },
    Chatter(bool),
    /// The link matrix now carried out (after a change of it or a cut);
    /// `why`: the change in words.
    Links {
        links: Links,
        why: String,
    },
    /// Something to tell the user (the message line).
    Info(String),
    Error(String),
    /// `demo --step`: the cluster after a step (the messages in flight,
    /// the clock, how it runs).
    Step(Box<StepView>),
    /// `demo --step`: the run starts again from its seed (an undo): forget
    /// every site's state, trace and diagram; the events of the run that
    /// remains follow.
    Reset,
    /// `demo --step`: a step's outcome, for the message line.
    Note(String),
}

/// The demo's keys (on any pane; Alt and a digit anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoKey {
    /// Show site `n` (0-based).
    Show(usize),
    Crash,
    Restart,
    CutOff,
    Chatter,
    /// Open the link matrix.
    Links,
}

const ALT_DIGITS: [Key; 9] = [
    alt('1'),
    alt('2'),
    alt('3'),
    alt('4'),
    alt('5'),
    alt('6'),
    alt('7'),
    alt('8'),
    alt('9'),
];

const SHOW: [Key; 18] = {
    let mut keys = [DIGITS[0]; 18];
    let mut i = 0;
    while i < 9 {
        keys[i] = DIGITS[i];
        keys[9 + i] = ALT_DIGITS[i];
        i += 1;
    }
    keys
};

pub const DEMO: &[KeyHelp] = &[
    in_footer(
        "1..9 / Alt+1..9",
        &SHOW,
        ("1-9", "site"),
        "show another site (its number is in the status line)",
    ),
    in_footer(
        "x",
        &[ch('x')],
        ("x", "crash"),
        "crash the shown site (its data dir is kept)",
    ),
    in_footer(
        "r",
        &[ch('r')],
        ("r", "restart"),
        "restart the shown site from its data dir: watch it catch up",
    ),
    in_footer(
        "c",
        &[ch('c')],
        ("c", "cut"),
        "cut the shown site off from the others, or heal it",
    ),
    in_footer(
        "t",
        &[ch('t')],
        ("t", "chatter"),
        "let the other sites tweet now and then (on/off)",
    ),
    in_footer(
        "m",
        &[ch('m')],
        ("m", "links"),
        "the link matrix: take links down, set loss and delay, presets (in step mode each change is a step)",
    ),
];

pub fn demo_key(key: &KeyEvent) -> Option<DemoKey> {
    Some(match key.code {
        KeyCode::Char(d @ '1'..='9') => DemoKey::Show(d as usize - '1' as usize),
        KeyCode::Char('x') => DemoKey::Crash,
        KeyCode::Char('r') => DemoKey::Restart,
        KeyCode::Char('c') => DemoKey::CutOff,
        KeyCode::Char('t') => DemoKey::Chatter,
        KeyCode::Char('m') => DemoKey::Links,
        _ => return None,
    })
}

/// The live safety check across all sites: every slot decided anywhere
/// must be decided with the same value everywhere.
#[derive(Clone, Debug, Default)]
pub struct SafetyCheck {
    decided: BTreeMap<Slot, (usize, Value)>,
    violation: Option<Slot>,
}

impl SafetyCheck {
    /// Site `site` decided `slot` with `value`. `false` when another site
    /// decided that slot with a different value.
    pub fn observe(&mut self, site: usize, slot: Slot, value: &Value) -> bool {
        match self.decided.get(&slot) {
            Some((_, v)) if v != value => {
                if self.violation.is_none_or(|s| slot < s) {
                    self.violation = Some(slot);
                }
                tracing::error!("SAFETY VIOLATED: slot {slot} decided differently at site {site}");
                false
            }
            Some(_) => true,
            None => {
                self.decided.insert(slot, (site, value.clone()));
                true
            }
        }
    }

    /// The first slot seen with two different values.
    pub fn violation(&self) -> Option<Slot> {
        self.violation
    }

    /// How many slots were checked.
    pub fn slots(&self) -> usize {
        self.decided.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::op::{Command, Op, OpId};

    fn tweet(text: &str) -> Value {
        Value::batch(vec![Command {
            id: OpId {
                site: 0,
                boot: 1,
                seq: 1,
            },
            op: Op::Tweet {
                user: "alice".into(),
                text: text.into(),
                time: chrono::DateTime::from_timestamp_millis(0).unwrap_or_default(),
            },
        }])
    }

    #[test]
    fn safety_check_flags_two_values_for_one_slot() {
        let mut s = SafetyCheck::default();
        assert!(s.observe(0, 0, &tweet("a")));
        assert!(s.observe(1, 0, &tweet("a")));
        assert!(s.observe(1, 1, &Value::noop()));
        assert_eq!(s.violation(), None);
        assert_eq!(s.slots(), 2);
        assert!(!s.observe(2, 1, &tweet("b")));
        assert_eq!(s.violation(), Some(1));
    }
}
