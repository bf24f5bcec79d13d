//! The operations of the replicated log and the batches that fill one slot.
//!
//! These types are on the wire (peer messages), on disk (the write-ahead log,
//! the archive, checkpoints) and in the control protocol (`log`), so their
//! JSON shape is part of the contract (SPEC section 8).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Unique identity of one submission, across all sites and restarts.
///
/// `site` is the submitting site, `boot` a random number chosen each time a
/// site starts (so a restarted site cannot reuse an id), `seq` counts the
/// submissions of that boot. The consensus core uses it to recognise its own
/// operations in decided slots and to make sure none is decided twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OpId {
    pub site: u32,
    pub boot: u64,
    pub seq: u64,
}

impl fmt::Display for OpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:x}.{}", self.site, self.boot, self.seq)
    }
}

/// One user operation as it stands in the log. `user` is the author (the
/// name of the site that submitted it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Op {
    Tweet {
        user: String,
        text: String,
        time: DateTime<Utc>,
    },
    Block {
        user: String,
        target: String,
    },
    Unblock {
        user: String,
        target: String,
    },
}

impl Op {
    /// The user who submitted the operation.
    pub fn user(&self) -> &str {
        match self {
            Op::Tweet { user, .. } | Op::Block { user, .. } | Op::Unblock { user, .. } => user,
        }
    }

    /// A short human description for the trace pane and log listings.
    pub fn summary(&self) -> String {
        match self {
            Op::Tweet { user, text, .. } => format!("{user}: {text}"),
            Op::Block { user, target } => format!("{user} blocks {target}"),
            Op::Unblock { user, target } => format!("{user} unblocks {target}"),
        }
    }
}

/// An operation together with its submission id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub id: OpId,
    pub op: Op,
}

/// The value of one log slot: a batch of commands, applied in order.
/// An empty batch is the no-op that fills a hole nobody had a value for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Value {
    pub cmds: Vec<Command>,
}

impl Value {
    pub fn noop() -> Self {
        Value { cmds: Vec::new() }
    }

    pub fn batch(cmds: Vec<Command>) -> Self {
        Value { cmds }
    }

    pub fn is_noop(&self) -> bool {
        self.cmds.is_empty()
    }

    pub fn contains(&self, id: OpId) -> bool {
        self.cmds.iter().any(|c| c.id == id)
    }

    /// Where `id` stands in the batch.
    pub fn index_of(&self, id: OpId) -> Option<usize> {
        self.cmds.iter().position(|c| c.id == id)
    }

    /// A short description for the trace pane: the first operation, and how
    /// many more there are.
    pub fn summary(&self) -> String {
        match self.cmds.as_slice() {
            [] => "no-op".to_string(),
            [one] => one.op.summary(),
            [first, rest @ ..] => format!("{} (+{} more)", first.op.summary(), rest.len()),
        }
    }
}
