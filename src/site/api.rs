//! What a site offers to its users: the control protocol's requests and
//! answers (SPEC section 8), and the events the UI follows.
//!
//! The control endpoint, `tweettui ctl` and the UI all go through
//! [`SiteClient::request`]; the UI also receives [`SiteEvent`]s to keep its
//! own copy of the replicated state and the trace up to date without ever
//! waiting on the runtime.

use crate::paxos::{Membership, SiteId, Slot, TraceEvent};
use crate::state::op::Value;
use crate::state::State;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// One request of the control protocol, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Tweet(String),
    Block(String),
    Unblock(String),
    View,
    Blocked,
    /// The decided slots from `from` (default 0) below `to` (default and
    /// at most: `from +` [`LOG_PAGE`]), ascending: one bounded page. The
    /// control protocol's `{"from": n, "limit": m}` is `to = n + m`; the UI
    /// asks for a window. A page may hold fewer slots (holes, or values
    /// over a few MiB); the next page starts after its last slot.
    Log {
        from: Option<Slot>,
        to: Option<Slot>,
    },
    Status,
    Fault(FaultSpec),
}

/// The most slots one `log` answer holds, with no limit or a larger one.
pub const LOG_PAGE: Slot = 1000;

/// The control protocol's answer: `{"stat": code, "body": ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub stat: u16,
    pub body: serde_json::Value,
}

impl Response {
    pub fn ok(body: serde_json::Value) -> Self {
        Response { stat: 200, body }
    }

    pub fn error(stat: u16, message: impl Into<String>) -> Self {
        Response {
            stat,
            body: serde_json::Value::String(message.into()),
        }
    }

    pub fn is_ok(&self) -> bool {
        self.stat == 200
    }
}

/// The network filter of a site (the `fault` command), for demos and tests:
/// the transport's own type, so what the control protocol parses is what the
/// transport applies.
pub use crate::net::Fault as FaultSpec;

/// The `status` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub site: SiteId,
    pub name: String,
    /// Slots decided here with no hole before them.
    pub decided: Slot,
    pub leader: Option<SiteId>,
    /// Whether this site votes: "voting", "joining" (an empty data dir
    /// asking its peers) or "rejoining" (SPEC 6).
    #[serde(default = "voting")]
    pub membership: Membership,
    pub peers: Vec<PeerStatus>,
}

fn voting() -> Membership {
    Membership::Voting
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub site: SiteId,
    pub name: String,
    pub connected: bool,
}

/// The events of a recording and of the space-time pane (SPEC 9).
pub use super::record;

/// What the runtime tells the UI, in order.
#[derive(Clone, Debug)]
pub enum SiteEvent {
    /// Sent first: the replicated state as the runtime has it, and status.
    Snapshot { state: Box<State>, status: Status },
    /// A slot joined the decided prefix and was applied (apply it to the
    /// snapshot copy to stay in step).
    Committed { slot: Slot, value: Value },
    /// A trace event; `at_ms` counts from the start of the site.
    Trace { at_ms: u64, event: TraceEvent },
    /// Leader, decided count or peer connectivity changed.
    Status(Status),
    /// An event of the one vocabulary of recordings (SPEC 9 "Seeing a
    /// round"): messages with their ids, drops, durable records, ...
    Seen(record::Event),
}

/// A handle to talk to a running site.
#[derive(Clone, Debug)]
pub struct SiteClient {
    tx: mpsc::Sender<(Request, oneshot::Sender<Response>)>,
}

impl SiteClient {
    pub fn new(tx: mpsc::Sender<(Request, oneshot::Sender<Response>)>) -> Self {
        SiteClient { tx }
    }

    /// Sends a request and waits for its answer. A site that stopped answers
    /// 503 (it is down, as far as the caller can tell).
    pub async fn request(&self, req: Request) -> Response {
        let (tx, rx) = oneshot::channel();
        if self.tx.send((req, tx)).await.is_err() {
            return Response::error(503, "the site is not running");
        }
        rx.await
            .unwrap_or_else(|_| Response::error(503, "the site stopped before answering"))
    }
}
