//! What a site offers to its users: the control protocol's requests and
//! answers (SPEC section 8), and the events the UI follows.
//!
//! The control endpoint, `tweettui ctl` and the UI all go through
//! [`SiteClient::request`], which answers a typed [`Reply`] (the control
//! endpoint alone turns it into JSON); the UI also receives [`SiteEvent`]s to keep its
//! own copy of the replicated state and the trace up to date without ever
//! waiting on the runtime.

use crate::paxos::{Ballot, DecidedEntry, Membership, SiteId, Slot, TraceEvent};
use crate::state::op::Value;
use crate::state::State;
pub use crate::state::Tweet;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// One request of the control protocol, parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Tweet(String),
    Block(String),
    Unblock(String),
    /// The timeline of this site's user: all of it (`None`), or one page.
    View(Option<ViewPage>),
    Blocked,
    /// The decided slots from `from` (default 0) on, ascending: with `to`,
    /// one bounded page of those below `to` (at most [`LOG_PAGE`] slots);
    /// with none, every one this site holds, streamed. The control
    /// protocol's `{"from": n, "limit": m}` is `to = n + m`; the UI asks
    /// for a window. A page may hold fewer slots (holes, or values over a
    /// few MiB); the next page starts after its last slot.
    Log {
        from: Option<Slot>,
        to: Option<Slot>,
    },
    Status,
    Fault(FaultSpec),
}

/// One page of a timeline (SPEC 8 `view` with `{"limit", "after"}`): at
/// most `limit` tweets, newest first, starting after the tweet at `after`
/// (its slot and index in the slot's batch), or from the newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewPage {
    pub limit: usize,
    pub after: Option<(Slot, u32)>,
}

/// The most tweets one `view` page holds, whatever limit is asked for.
pub const VIEW_PAGE_MAX: usize = 10_000;

/// The tweets of one chunk of a streamed timeline.
pub const VIEW_CHUNK: usize = 1_000;

/// A whole answer too long to hold at once, streamed: `view` with no page
/// (the whole timeline) and `log` with no limit (every decided slot from
/// `from` on), which at 10,000,000 tweets would be gigabytes. A reader on
/// the blocking pool reads one chunk while the one before is sent, so
/// neither the site nor its answer ever holds it whole; the control
/// connection writes the chunks as one answer line. A stream that ends
/// before its last chunk, or yields an `Err`, failed part-way.
#[derive(Debug)]
pub struct Chunks<T>(pub mpsc::Receiver<Result<Chunk<T>, Refusal>>);

/// One chunk of [`Chunks`]: its items, and whether it is the last.
#[derive(Debug)]
pub struct Chunk<T> {
    pub items: Vec<T>,
    pub last: bool,
}

impl<T> Chunks<T> {
    /// The next chunk (ask for none after the last one).
    pub async fn next(&mut self) -> Result<Chunk<T>, Refusal> {
        match self.0.recv().await {
            Some(chunk) => chunk,
            None => Err(Refusal::internal(
                "the answer's reader stopped before its end",
            )),
        }
    }

    /// Every item, for callers in one process that want them all (tests).
    pub async fn collect(mut self) -> Result<Vec<T>, Refusal> {
        let mut all = Vec::new();
        loop {
            let chunk = self.next().await?;
            all.extend(chunk.items);
            if chunk.last {
                return Ok(all);
            }
        }
    }
}

/// Two streams are never equal (as NaN is not): compare what they yield.
impl<T> PartialEq for Chunks<T> {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}

/// A `view` page asked to start after a tweet that is not there.
pub fn no_tweet_at(slot: u64, index: u32) -> Refusal {
    Refusal::bad_request(format!(
        "\"after\": no tweet at slot {slot}, index {index} (a page starts after a tweet of the timeline)"
    ))
}

/// The most slots one `log` answer holds, with no limit or a larger one.
pub const LOG_PAGE: Slot = 1000;

/// What a site answers to a request: a typed [`Answer`], or a [`Refusal`]
/// with its code. The control endpoint turns it into the JSON of SPEC
/// section 8 (`control::to_wire`); in one process nobody sees JSON.
pub type Reply = Result<Answer, Refusal>;

/// The answer to a request that succeeded (code 200), one variant per
/// request kind (`view` and `log` have two each: a page, or the whole of it
/// streamed).
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// `tweet`, `block`, `unblock`: the operation was decided in `slot`, at
    /// `index` of that slot's batch.
    Decided {
        slot: Slot,
        index: usize,
    },
    /// `view` with a page: that page of the timeline of this site's
    /// user, newest first.
    View(Vec<Tweet>),
    /// `view` with no page: the whole timeline, streamed.
    Timeline(Chunks<Tweet>),
    /// `blocked`: the users this site's user blocks.
    Blocked(Vec<String>),
    /// `log` with a limit: one page of decided slots, ascending (see
    /// [`Request::Log`]).
    Log(Vec<DecidedEntry>),
    /// `log` with no limit: every decided slot from `from` on, streamed.
    WholeLog(Chunks<DecidedEntry>),
    Status(Status),
    /// `fault`: the network filter is set.
    FaultSet,
}

impl Answer {
    /// The answer with a stream read to its end: a `View` or a `Log`
    /// (for callers in one process that want it whole: tests).
    pub async fn whole(reply: Reply) -> Reply {
        match reply {
            Ok(Answer::Timeline(stream)) => stream.collect().await.map(Answer::View),
            Ok(Answer::WholeLog(stream)) => stream.collect().await.map(Answer::Log),
            other => other,
        }
    }
}

/// A request not carried out, with the code of SPEC section 8 and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({stat})")]
pub struct Refusal {
    pub stat: u16,
    pub reason: String,
}

impl Refusal {
    /// 400: the request can never succeed as written.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::with(400, reason)
    }

    /// 409: refused by the current state under the rules.
    pub fn refused(reason: impl Into<String>) -> Self {
        Self::with(409, reason)
    }

    /// 500: a fault of the program itself.
    pub fn internal(reason: impl Into<String>) -> Self {
        Self::with(500, reason)
    }

    /// 503: not decided in time, or the site is not running.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::with(503, reason)
    }

    pub fn with(stat: u16, reason: impl Into<String>) -> Self {
        Refusal {
            stat,
            reason: reason.into(),
        }
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
    /// The highest ballot this site has promised (`ctl cluster` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot: Option<Ballot>,
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
    tx: mpsc::Sender<(Request, oneshot::Sender<Reply>)>,
}

impl SiteClient {
    pub fn new(tx: mpsc::Sender<(Request, oneshot::Sender<Reply>)>) -> Self {
        SiteClient { tx }
    }

    /// Sends a request and waits for its answer. A site that stopped answers
    /// 503 (it is down, as far as the caller can tell).
    pub async fn request(&self, req: Request) -> Reply {
        let (tx, rx) = oneshot::channel();
        if self.tx.send((req, tx)).await.is_err() {
            return Err(Refusal::unavailable("the site is not running"));
        }
        rx.await
            .unwrap_or_else(|_| Err(Refusal::unavailable("the site stopped before answering")))
    }
}
