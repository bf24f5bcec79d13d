//! What the transport tells an observer about each message: sent (with its
//! number on the link), received, or dropped and why. The site turns these
//! into the events of a recording and of the space-time pane.

use crate::paxos::{Message, SiteId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Why the transport dropped a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The sender's fault filter (`fault`: drop_to, loss; a demo cut).
    FaultOut,
    /// The receiver's fault filter (`fault`: drop_from, loss; a demo cut).
    FaultIn,
    /// The peer's send queue was full.
    QueueFull,
    /// The peer was down (between two connection attempts).
    PeerDown,
    /// Over the line limit.
    TooLarge,
}

impl DropReason {
    /// A word or two for the screen.
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::FaultOut => "fault filter (out)",
            DropReason::FaultIn => "fault filter (in)",
            DropReason::QueueFull => "queue full",
            DropReason::PeerDown => "peer down",
            DropReason::TooLarge => "too large",
        }
    }
}

/// One thing the transport did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetEvent<'a> {
    /// Handed to the transport for `to`, numbered `seq` on that link (the
    /// number travels with the message).
    Sent {
        to: SiteId,
        seq: u64,
        msg: &'a Message,
    },
    /// Read from a peer and handed to the runtime; `seq` as the sender
    /// numbered it (`None` from a peer that does not number its messages).
    Received {
        from: SiteId,
        seq: Option<u64>,
        msg: &'a Message,
    },
    /// Dropped on its way from `from` to `to`, at this site.
    Dropped {
        from: SiteId,
        to: SiteId,
        seq: Option<u64>,
        msg: &'a Message,
        reason: DropReason,
    },
}

/// Called by the transport's tasks for every [`NetEvent`], synchronously:
/// it must be quick and never block.
pub type Observer = Arc<dyn Fn(NetEvent<'_>) + Send + Sync>;
