//! The control endpoint (SPEC section 8): TCP on 127.0.0.1, one JSON object
//! per line each way, requests answered in order. Its connections are
//! limited as the peers' are (SPEC 7, [`Limits::CONTROL`]): a cap, a first
//! request due soon after connecting, and at the cap a connection that has
//! sent no request for long gives its place to a new one.
//!
//! The one place where a site's typed answers ([`Reply`]) become the JSON
//! of the wire ([`to_wire`]), and lines of JSON become [`Request`]s.

use super::api::{Answer, FaultSpec, Refusal, Reply, Request, SiteClient, ViewPage, VIEW_PAGE_MAX};
use super::probe::{Event, Probe};
use crate::net::limits::{Gate, Limits, Throttle, Ticket};
use crate::net::transport::REFUSAL_LOG_EVERY;
use crate::paxos::{DecidedEntry, SiteId};
use crate::state::Tweet;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

/// The longest request line accepted (a tweet is at most 280 characters; the
/// rest is generous room for the envelope).
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// Every command with its argument, as the 400 answers show it.
pub const USAGE: &str = "requests are one JSON object per line: {\"head\": COMMAND, \"body\": ARG}; \
commands: tweet \"text\" | block \"user\" | unblock \"user\" | view null | blocked null | \
log null or {\"from\": n} (every slot from n on) or {\"from\": n, \"limit\": m} (a page of \
at most m and 1000 slots: ask again from the last slot + 1) | status null | \
fault {\"drop_to\": [i...], \"drop_from\": [i...], \"loss\": 0.0..1.0, \"delay_ms\": n} ({} clears it)";

/// An answer as the wire carries it: `{"stat": code, "body": data or a
/// message}` (what [`call`] reads back, for `tweettui ctl` and tests).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub stat: u16,
    pub body: Json,
}

impl Response {
    pub fn is_ok(&self) -> bool {
        self.stat == 200
    }
}

/// A site's reply in the JSON of SPEC section 8: an answer is code 200 with
/// its data, a refusal its code with its reason as a JSON string. Not for a
/// streamed answer (a 500): the connection writes it as it comes
/// ([`write_chunks`]), and [`Answer::whole`] makes it whole.
pub fn to_wire(reply: &Reply) -> Response {
    match reply {
        Ok(answer) => match answer_body(answer) {
            Ok(body) => Response { stat: 200, body },
            Err(e) => refusal(&Refusal::internal(format!(
                "could not encode the answer: {e}"
            ))),
        },
        Err(r) => refusal(r),
    }
}

fn refusal(r: &Refusal) -> Response {
    Response {
        stat: r.stat,
        body: Json::String(r.reason.clone()),
    }
}

/// The 200 answer's body of each request kind (SPEC section 8).
fn answer_body(answer: &Answer) -> serde_json::Result<Json> {
    Ok(match answer {
        Answer::Decided { slot, index } => json!({"slot": slot, "index": index}),
        Answer::View(tweets) => Json::Array(tweet_rows(tweets)?),
        Answer::Timeline(_) | Answer::WholeLog(_) => {
            return Err(serde::ser::Error::custom(
                "a streamed answer is written as it is read, not encoded whole",
            ))
        }
        Answer::Blocked(users) => json!(users),
        Answer::Log(entries) => Json::Array(log_rows(entries)?),
        Answer::Status(status) => serde_json::to_value(status)?,
        Answer::FaultSet => json!({}),
    })
}

/// A tweet of `view`, its time in RFC 3339 UTC to the millisecond.
fn tweet_json(t: &Tweet) -> Json {
    json!({
        "slot": t.slot,
        "index": t.index,
        "user": t.user,
        "text": t.text,
        "time": t.time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The `view` answer's rows: one per tweet.
fn tweet_rows(tweets: &[Tweet]) -> serde_json::Result<Vec<Json>> {
    Ok(tweets.iter().map(tweet_json).collect())
}

/// The `log` answer's rows: one per operation, with its slot, its index in
/// the batch and its submission id, or one no-op row for an empty slot.
fn log_rows(entries: &[DecidedEntry]) -> serde_json::Result<Vec<Json>> {
    let mut rows = Vec::new();
    for e in entries {
        if e.value.is_noop() {
            rows.push(json!({"slot": e.slot, "op": {"kind": "noop"}}));
        }
        for (index, cmd) in e.value.cmds.iter().enumerate() {
            let mut op = serde_json::to_value(&cmd.op)?;
            if let Some(obj) = op.as_object_mut() {
                obj.insert("id".into(), json!(cmd.id.to_string()));
                // One time format in every answer: RFC 3339 UTC, milliseconds.
                if let crate::state::op::Op::Tweet { time, .. } = &cmd.op {
                    let ms = time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    obj.insert("time".into(), json!(ms));
                }
            }
            rows.push(json!({"slot": e.slot, "index": index, "op": op}));
        }
    }
    Ok(rows)
}

/// Parses one request line. A bad line is answered 400 with the usage.
pub fn parse_request(line: &str) -> Result<Request, Refusal> {
    let bad = |why: String| Refusal::bad_request(format!("{why}; {USAGE}"));
    let json: Json = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let Json::Object(mut obj) = json else {
        return Err(bad("a request is a JSON object".into()));
    };
    let head = match obj.remove("head") {
        Some(Json::String(h)) => h,
        Some(_) => return Err(bad("\"head\" must be a string".into())),
        None => return Err(bad("missing \"head\"".into())),
    };
    let body = obj.remove("body").unwrap_or(Json::Null);
    if let Some(extra) = obj.keys().next() {
        return Err(bad(format!("unknown field \"{extra}\"")));
    }
    let text = |what: &str| match &body {
        Json::String(s) => Ok(s.clone()),
        _ => Err(bad(format!("\"{head}\" takes {what} as a JSON string"))),
    };
    let nothing = |req: Request| match &body {
        Json::Null => Ok(req),
        _ => Err(bad(format!("\"{head}\" takes null as body"))),
    };
    match head.as_str() {
        "tweet" => Ok(Request::Tweet(text("the tweet text")?)),
        "block" => Ok(Request::Block(text("a user name")?)),
        "unblock" => Ok(Request::Unblock(text("a user name")?)),
        "view" => parse_view(&body).ok_or_else(|| {
            bad("\"view\" takes null or {\"limit\": n, \"after\": {\"slot\": s, \"index\": k}} (n ≥ 1, after optional)".into())
        }),
        "blocked" => nothing(Request::Blocked),
        "status" => nothing(Request::Status),
        "log" => parse_log(&body).ok_or_else(|| {
            bad("\"log\" takes null, {\"from\": n} or {\"from\": n, \"limit\": m}".into())
        }),
        "fault" => {
            let spec: FaultSpec = serde_json::from_value(body.clone())
                .map_err(|e| bad(format!("bad fault spec: {e}")))?;
            if !(0.0..=1.0).contains(&spec.loss) {
                return Err(bad("\"loss\" must be between 0.0 and 1.0".into()));
            }
            Ok(Request::Fault(spec))
        }
        other => Err(bad(format!("unknown command \"{other}\""))),
    }
}

/// The body of `view`: null (the whole timeline) or `{"limit": n}` with an
/// optional `"after": {"slot": s, "index": k}` (non-negative integers,
/// `n` ≥ 1 and at most [`VIEW_PAGE_MAX`] taken; nothing else).
fn parse_view(body: &Json) -> Option<Request> {
    let o = match body {
        Json::Null => return Some(Request::View(None)),
        Json::Object(o) => o,
        _ => return None,
    };
    if o.keys().any(|k| k != "limit" && k != "after") {
        return None;
    }
    let limit = usize::try_from(o.get("limit")?.as_u64()?).ok()?;
    if limit == 0 {
        return None;
    }
    let after = match o.get("after") {
        None => None,
        Some(Json::Object(a)) => {
            if a.keys().any(|k| k != "slot" && k != "index") {
                return None;
            }
            let slot = a.get("slot")?.as_u64()?;
            let index = u32::try_from(a.get("index")?.as_u64()?).ok()?;
            Some((slot, index))
        }
        Some(_) => return None,
    };
    Some(Request::View(Some(ViewPage {
        limit: limit.min(VIEW_PAGE_MAX),
        after,
    })))
}

/// The body of `log`: null, `{"from": n}` or `{"from": n, "limit": m}`
/// (non-negative integers, nothing else).
fn parse_log(body: &Json) -> Option<Request> {
    let o = match body {
        Json::Null => {
            return Some(Request::Log {
                from: None,
                to: None,
            })
        }
        Json::Object(o) => o,
        _ => return None,
    };
    if o.keys().any(|k| k != "from" && k != "limit") {
        return None;
    }
    let from = o.get("from")?.as_u64()?;
    let to = match o.get("limit") {
        None => None,
        Some(limit) => Some(from.saturating_add(limit.as_u64()?)),
    };
    Some(Request::Log {
        from: Some(from),
        to,
    })
}

/// Serves the control protocol on `listener` until the task is dropped.
/// `probe` (the bench's `--breakdown`) hears when each decided submission
/// was read and answered, as site `me`'s events.
pub async fn serve(listener: TcpListener, client: SiteClient, probe: (Probe, SiteId)) {
    let gate = Gate::new(Limits::CONTROL);
    let refusals = Throttle::new(REFUSAL_LOG_EVERY);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait instead of spinning.
                tracing::warn!("accepting a control connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(ticket) = gate.admit() else {
            if let Some(n) = refusals.check(&peer.ip()) {
                let Limits {
                    max_connections,
                    idle,
                    ..
                } = Limits::CONTROL;
                tracing::warn!(
                    "control connection {peer} refused: {max_connections} connections open, \
                     none quiet for {idle:?} ({n} more refused since the last report)"
                );
            }
            continue;
        };
        let (client, probe) = (client.clone(), probe.clone());
        tokio::spawn(async move {
            let end = tokio::select! {
                _ = ticket.pushed_out() => Err("pushed out at the connection cap".to_string()),
                end = serve_connection(stream, client, &ticket, (&probe.0, probe.1)) => end,
            };
            if let Err(e) = end {
                tracing::debug!("control connection {peer} closed: {e}");
            }
        });
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    client: SiteClient,
    ticket: &Ticket,
    (probe, me): (&Probe, SiteId),
) -> Result<(), String> {
    let mut lines = Framed::new(stream, LinesCodec::new_with_max_length(MAX_REQUEST_LINE));
    // Until the first request (blank lines and bytes that never make a line
    // do not count).
    let mut deadline = Some(Instant::now() + Limits::CONTROL.first_line);
    loop {
        let line = match deadline {
            None => lines.next().await,
            Some(at) => match tokio::time::timeout_at(at, lines.next()).await {
                Ok(line) => line,
                Err(_) => return Err("no complete request in time".to_string()),
            },
        };
        let Some(line) = line else {
            return Ok(());
        };
        let read = probe.now();
        let reply = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => {
                // A request: the connection has proven itself.
                if deadline.take().is_some() {
                    ticket.proven();
                } else {
                    ticket.active();
                }
                match parse_request(&line) {
                    Ok(req) => client.request(req).await,
                    Err(refusal) => Err(refusal),
                }
            }
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                // Answer, then close: the rest of the line cannot be framed.
                let refusal = Refusal::bad_request(format!(
                    "request line longer than {MAX_REQUEST_LINE} bytes; {USAGE}"
                ));
                lines
                    .send(encode(&Err(refusal)))
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        let reply = match reply {
            Ok(Answer::Timeline(stream)) => {
                write_chunks(lines.get_mut(), stream, tweet_rows).await?;
                continue;
            }
            Ok(Answer::WholeLog(stream)) => {
                write_chunks(lines.get_mut(), stream, log_rows).await?;
                continue;
            }
            reply => reply,
        };
        lines
            .send(encode(&reply))
            .await
            .map_err(|e| e.to_string())?;
        if let (Some(read), Ok(Answer::Decided { slot, index })) = (read, &reply) {
            let (slot, index) = (*slot, *index);
            probe.note(me, || Event::Answered { read, slot, index });
        }
    }
}

/// One answer line.
fn encode(reply: &Reply) -> String {
    // The answer to every tweet, written directly: the bytes `to_wire`
    // gives (its body's keys sorted), without building a JSON map.
    if let Ok(Answer::Decided { slot, index }) = reply {
        return format!(r#"{{"stat":200,"body":{{"index":{index},"slot":{slot}}}}}"#);
    }
    serde_json::to_string(&to_wire(reply))
        .unwrap_or_else(|_| r#"{"stat":500,"body":"could not encode the answer"}"#.to_string())
}

/// [`serve`] for `client` on a free loopback port (tests): its address,
/// and the task to abort when done.
#[cfg(test)]
pub(crate) async fn serve_on_free_port(
    client: SiteClient,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(serve(listener, client, Default::default())),
    )
}

/// How long writing a chunk of a streamed answer may wait for the client
/// to read: a client that stops reading lets the reader go after that.
const WRITE_STALL: Duration = Duration::from_secs(30);

/// Writes a streamed answer as its one answer line, chunk by chunk as it is
/// read (`rows`: a chunk's JSON rows): the bytes [`encode`] gives for the
/// whole answer (a `View`, a `Log`), without ever holding it all. A read
/// that fails before the first chunk is answered as a refusal; one that
/// fails later, after the line's start went out, ends the connection with
/// the line unfinished, which no client can take for a whole answer.
async fn write_chunks<T, W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    mut stream: super::api::Chunks<T>,
    rows: impl Fn(&[T]) -> serde_json::Result<Vec<Json>>,
) -> Result<(), String> {
    let mut chunk = match stream.next().await {
        Ok(chunk) => chunk,
        Err(refusal) => return write_or_stall(out, &(encode(&Err(refusal)) + "\n")).await,
    };
    let mut line = String::from(r#"{"stat":200,"body":["#);
    let mut first = true;
    loop {
        for row in rows(&chunk.items).map_err(|e| e.to_string())? {
            if !first {
                line.push(',');
            }
            first = false;
            line.push_str(&row.to_string());
        }
        if chunk.last {
            line.push_str("]}\n");
        }
        write_or_stall(out, &line).await?;
        if chunk.last {
            return Ok(());
        }
        line.clear();
        chunk = stream
            .next()
            .await
            .map_err(|r| format!("the answer failed part-way: {r}"))?;
    }
}

/// Writes `text` to the client, who must take it within [`WRITE_STALL`].
async fn write_or_stall<W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    text: &str,
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let write = async {
        out.write_all(text.as_bytes()).await?;
        out.flush().await
    };
    match tokio::time::timeout(WRITE_STALL, write).await {
        Ok(written) => written.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "the client took none of an answer for {WRITE_STALL:?}"
        )),
    }
}

/// Sends one request to a site's control port and reads the answer (the
/// client side, for `tweettui ctl` and tests).
pub async fn call(addr: SocketAddr, head: &str, body: Json) -> anyhow::Result<Response> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| {
        anyhow::anyhow!("cannot reach the control port {addr}: {e} (is the site running?)")
    })?;
    let mut lines = Framed::new(stream, LinesCodec::new());
    let req = serde_json::json!({ "head": head, "body": body });
    lines.send(req.to_string()).await?;
    match lines.next().await {
        Some(Ok(line)) => Ok(serde_json::from_str(&line)?),
        Some(Err(e)) => Err(e.into()),
        None => anyhow::bail!("the site at {addr} closed the connection without answering"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::api;

    /// The direct encoding of a decided answer is the one `to_wire` gives.
    #[test]
    fn decided_answer_is_encoded_as_to_wire_does() {
        for (slot, index) in [(0, 0), (7, 3), (u64::MAX, usize::MAX)] {
            let reply = Ok(Answer::Decided { slot, index });
            let slow = serde_json::to_string(&to_wire(&reply)).unwrap();
            assert_eq!(encode(&reply), slow);
        }
    }

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(r#"{"head":"tweet","body":"hi"}"#),
            Ok(Request::Tweet("hi".into()))
        );
        assert_eq!(
            parse_request(r#"{"head":"view","body":null}"#),
            Ok(Request::View(None))
        );
        assert_eq!(
            parse_request(r#"{"head":"view","body":{"limit":5,"after":{"slot":7,"index":1}}}"#),
            Ok(Request::View(Some(ViewPage {
                limit: 5,
                after: Some((7, 1))
            })))
        );
        assert_eq!(
            parse_request(r#"{"head":"view","body":{"limit":1000000}}"#),
            Ok(Request::View(Some(ViewPage {
                limit: VIEW_PAGE_MAX,
                after: None
            })))
        );
        for bad in [
            r#"{"head":"view","body":{"limit":0}}"#,
            r#"{"head":"view","body":{"after":{"slot":1,"index":0}}}"#,
            r#"{"head":"view","body":{"limit":2,"after":{"slot":1}}}"#,
            r#"{"head":"view","body":{"limit":2,"after":{"slot":1,"index":0,"x":1}}}"#,
            r#"{"head":"view","body":{"limit":2,"page":3}}"#,
            r#"{"head":"view","body":"all"}"#,
        ] {
            assert_eq!(parse_request(bad).map_err(|r| r.stat), Err(400), "{bad}");
        }
        assert_eq!(parse_request(r#"{"head":"status"}"#), Ok(Request::Status));
        assert_eq!(
            parse_request(r#"{"head":"log","body":{"from":3}}"#),
            Ok(Request::Log {
                from: Some(3),
                to: None
            })
        );
        assert_eq!(
            parse_request(r#"{"head":"log","body":{"from":3,"limit":10}}"#),
            Ok(Request::Log {
                from: Some(3),
                to: Some(13)
            })
        );
        assert_eq!(
            parse_request(r#"{"head":"log","body":null}"#),
            Ok(Request::Log {
                from: None,
                to: None
            })
        );
        assert_eq!(
            parse_request(r#"{"head":"fault","body":{}}"#),
            Ok(Request::Fault(FaultSpec::default()))
        );
        let f = parse_request(r#"{"head":"fault","body":{"drop_to":[1],"loss":0.5}}"#);
        assert!(matches!(f, Ok(Request::Fault(s)) if s.drop_to == vec![1] && s.loss == 0.5));
    }

    use crate::paxos::{Membership, SiteId};
    use crate::site::api::{PeerStatus, Status};
    use crate::state::op::{Command, Op, OpId, Value};
    use chrono::{TimeZone, Utc};

    fn ok(body: Json) -> Response {
        Response { stat: 200, body }
    }

    fn cmd(site: SiteId, seq: u64, op: Op) -> Command {
        let id = OpId {
            site,
            boot: 0xbeef,
            seq,
        };
        Command { id, op }
    }

    fn at_millis(ms: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_millis_opt(ms).single().expect("a valid time")
    }

    #[test]
    fn a_decided_submission_is_its_slot_and_index() {
        let answer = Answer::Decided { slot: 7, index: 2 };
        assert_eq!(to_wire(&Ok(answer)), ok(json!({"slot": 7, "index": 2})));
    }

    #[test]
    fn view_is_the_tweets_newest_first_with_times_in_utc_millis() {
        let tweets = vec![
            Tweet {
                slot: 4,
                index: 1,
                user: "bob".into(),
                text: "later".into(),
                time: at_millis(1_750_000_000_123) + chrono::Duration::nanoseconds(456_789),
            },
            Tweet {
                slot: 2,
                index: 0,
                user: "alice".into(),
                text: "héllo 👋".into(),
                time: at_millis(1_749_999_999_000),
            },
        ];
        assert_eq!(
            to_wire(&Ok(Answer::View(tweets))),
            ok(json!([
                {"slot": 4, "index": 1, "user": "bob", "text": "later",
                 "time": "2025-06-15T15:06:40.123Z"},
                {"slot": 2, "index": 0, "user": "alice", "text": "héllo 👋",
                 "time": "2025-06-15T15:06:39.000Z"},
            ]))
        );
        assert_eq!(to_wire(&Ok(Answer::View(Vec::new()))), ok(json!([])));
    }

    fn numbered(n: usize) -> Vec<Tweet> {
        (0..n)
            .map(|i| Tweet {
                slot: (n - i) as u64,
                index: 0,
                user: "alice".into(),
                text: format!("tweet \"{i}\""),
                time: at_millis(1_750_000_000_000 - i as i64),
            })
            .collect()
    }

    /// A stream of `items` in chunks of `size`, as the runtime's readers
    /// send them, or with `end` after them instead of the last flag.
    fn chunks<T: Clone>(items: &[T], size: usize, end: Option<Refusal>) -> api::Chunks<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(items.len() / size + 2);
        let mut parts: Vec<&[T]> = items.chunks(size).collect();
        if parts.is_empty() && end.is_none() {
            parts.push(&[]);
        }
        let n = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let last = i + 1 == n && end.is_none();
            let chunk = api::Chunk {
                items: part.to_vec(),
                last,
            };
            tx.try_send(Ok(chunk)).unwrap();
        }
        if let Some(refusal) = end {
            tx.try_send(Err(refusal)).unwrap();
        }
        api::Chunks(rx)
    }

    async fn written<T>(
        stream: api::Chunks<T>,
        rows: impl Fn(&[T]) -> serde_json::Result<Vec<Json>>,
    ) -> (Result<(), String>, String) {
        let mut out = Vec::new();
        let r = write_chunks(&mut out, stream, rows).await;
        (r, String::from_utf8(out).unwrap())
    }

    /// SPEC 8 `view` with no page, streamed: the same line as the whole
    /// timeline encoded at once, also across chunk bounds.
    #[tokio::test]
    async fn a_streamed_timeline_is_the_line_of_the_whole_timeline() {
        for n in [0, 1, 999, 1_000, 2_003] {
            let tweets = numbered(n);
            let (r, line) = written(chunks(&tweets, 1_000, None), tweet_rows).await;
            assert_eq!(r, Ok(()), "{n} tweets");
            assert_eq!(line, encode(&Ok(Answer::View(tweets))) + "\n", "{n} tweets");
        }
    }

    /// SPEC 8 `log` with no limit, streamed: the same line as the whole
    /// log encoded at once (a no-op slot, a batch of two).
    #[tokio::test]
    async fn a_streamed_log_is_the_line_of_the_whole_log() {
        let tweet = |text: &str| Op::Tweet {
            user: "alice".into(),
            text: text.into(),
            time: at_millis(1_750_000_000_000),
        };
        let entries: Vec<DecidedEntry> = (0..7)
            .map(|slot| DecidedEntry {
                slot,
                value: match slot % 3 {
                    0 => Value::noop(),
                    1 => Value::batch(vec![cmd(1, slot, tweet("one"))]),
                    _ => Value::batch(vec![cmd(1, slot, tweet("two")), cmd(2, slot, tweet("3"))]),
                },
            })
            .collect();
        for size in [1, 3, 7] {
            let (r, line) = written(chunks(&entries, size, None), log_rows).await;
            assert_eq!(r, Ok(()));
            assert_eq!(line, encode(&Ok(Answer::Log(entries.clone()))) + "\n");
        }
    }

    /// A reader that fails before the first chunk is answered as a
    /// refusal; one that fails later leaves the line unfinished (the 200
    /// is out), which no client takes for an answer.
    #[tokio::test]
    async fn a_streamed_answer_that_fails_part_way_is_no_answer() {
        let refusal = Refusal::internal("disk gone");
        let (r, line) = written(chunks(&[], 1_000, Some(refusal.clone())), tweet_rows).await;
        assert_eq!(r, Ok(()));
        assert_eq!(line, encode(&Err(refusal.clone())) + "\n");

        let tweets = numbered(1_005);
        let (r, line) = written(chunks(&tweets, 1_000, Some(refusal)), tweet_rows).await;
        assert!(r.unwrap_err().contains("disk gone"));
        assert!(line.starts_with(r#"{"stat":200,"body":[{"#), "{line}");
        assert!(!line.ends_with('\n'));
        assert!(serde_json::from_str::<Response>(&line).is_err());
        // A reader that just stops (it panicked, say) is the same.
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let chunk = api::Chunk {
            items: tweets,
            last: false,
        };
        tx.try_send(Ok(chunk)).unwrap();
        drop(tx);
        let (r, line) = written(api::Chunks(rx), tweet_rows).await;
        assert!(r.is_err());
        assert!(!line.ends_with('\n'));
    }

    #[test]
    fn blocked_is_a_list_of_names() {
        let answer = Answer::Blocked(vec!["bob".into(), "carol".into()]);
        assert_eq!(to_wire(&Ok(answer)), ok(json!(["bob", "carol"])));
        assert_eq!(to_wire(&Ok(Answer::Blocked(Vec::new()))), ok(json!([])));
    }

    /// One row per operation with its slot, index and id; one row for a
    /// no-op slot, without an index.
    #[test]
    fn log_is_one_row_per_operation() {
        let tweet = Op::Tweet {
            user: "alice".into(),
            text: "hi".into(),
            time: at_millis(1_750_000_000_000),
        };
        let block = Op::Block {
            user: "bob".into(),
            target: "alice".into(),
        };
        let unblock = Op::Unblock {
            user: "bob".into(),
            target: "alice".into(),
        };
        let entries = vec![
            DecidedEntry {
                slot: 3,
                value: Value::noop(),
            },
            DecidedEntry {
                slot: 4,
                value: Value::batch(vec![cmd(0, 1, tweet), cmd(1, 9, block)]),
            },
            DecidedEntry {
                slot: 5,
                value: Value::batch(vec![cmd(1, 10, unblock)]),
            },
        ];
        assert_eq!(
            to_wire(&Ok(Answer::Log(entries))),
            ok(json!([
                {"slot": 3, "op": {"kind": "noop"}},
                {"slot": 4, "index": 0, "op": {"kind": "tweet", "user": "alice", "text": "hi",
                    "time": "2025-06-15T15:06:40.000Z", "id": "0.beef.1"}},
                {"slot": 4, "index": 1, "op": {"kind": "block", "user": "bob", "target": "alice",
                    "id": "1.beef.9"}},
                {"slot": 5, "index": 0, "op": {"kind": "unblock", "user": "bob", "target": "alice",
                    "id": "1.beef.10"}},
            ]))
        );
        assert_eq!(to_wire(&Ok(Answer::Log(Vec::new()))), ok(json!([])));
    }

    #[test]
    fn status_names_the_site_its_leader_and_peers() {
        let status = Status {
            site: 1,
            name: "bob".into(),
            decided: 12,
            leader: Some(0),
            membership: Membership::Rejoining,
            ballot: None,
            peers: vec![
                PeerStatus {
                    site: 0,
                    name: "alice".into(),
                    connected: true,
                },
                PeerStatus {
                    site: 2,
                    name: "carol".into(),
                    connected: false,
                },
            ],
        };
        assert_eq!(
            to_wire(&Ok(Answer::Status(status.clone()))),
            ok(json!({
                "site": 1, "name": "bob", "decided": 12, "leader": 0,
                "membership": "rejoining",
                "peers": [
                    {"site": 0, "name": "alice", "connected": true},
                    {"site": 2, "name": "carol", "connected": false},
                ],
            }))
        );
        let no_leader = Status {
            leader: None,
            membership: Membership::Voting,
            ballot: None,
            peers: Vec::new(),
            ..status
        };
        assert_eq!(
            to_wire(&Ok(Answer::Status(no_leader))),
            ok(json!({
                "site": 1, "name": "bob", "decided": 12, "leader": null,
                "membership": "voting", "peers": [],
            }))
        );
    }

    #[test]
    fn a_fault_set_is_an_empty_object() {
        assert_eq!(to_wire(&Ok(Answer::FaultSet)), ok(json!({})));
    }

    /// A refusal is its code with its reason as the body, a JSON string.
    #[test]
    fn a_refusal_is_its_code_and_reason() {
        for (refusal, stat) in [
            (Refusal::bad_request("\"tweet\" takes the tweet text"), 400),
            (Refusal::refused("alice already blocks bob"), 409),
            (Refusal::internal("cannot read the decided log"), 500),
            (Refusal::unavailable("not decided in time"), 503),
        ] {
            let body = Json::String(refusal.reason.clone());
            assert_eq!(to_wire(&Err(refusal)), Response { stat, body });
        }
    }

    /// The bytes of an answer line: the envelope's fields in order, the
    /// body's keys sorted, no spaces.
    #[test]
    fn answer_lines_are_compact_json() {
        assert_eq!(
            encode(&Ok(Answer::Decided { slot: 3, index: 0 })),
            r#"{"stat":200,"body":{"index":0,"slot":3}}"#
        );
        assert_eq!(
            encode(&Err(Refusal::refused("alice already blocks bob"))),
            r#"{"stat":409,"body":"alice already blocks bob"}"#
        );
        assert_eq!(encode(&Ok(Answer::FaultSet)), r#"{"stat":200,"body":{}}"#);
    }

    #[test]
    fn bad_requests_get_400_with_the_usage() {
        for line in [
            "not json",
            "[1,2]",
            r#"{"head":"dance","body":null}"#,
            r#"{"head":"tweet","body":5}"#,
            r#"{"head":"view","body":"x"}"#,
            r#"{"head":"log","body":{"from":-1}}"#,
            r#"{"head":"log","body":{"limit":5}}"#,
            r#"{"head":"log","body":{"from":1,"limit":-5}}"#,
            r#"{"head":"log","body":{"from":1,"limit":"5"}}"#,
            r#"{"head":"log","body":{"from":1,"to":5}}"#,
            r#"{"head":"log","body":7}"#,
            r#"{"head":"fault","body":{"loss":2}}"#,
            r#"{"head":"fault","body":{"bogus":1}}"#,
            r#"{"head":"tweet","body":"x","extra":1}"#,
            r#"{"body":"x"}"#,
        ] {
            let err = parse_request(line).expect_err(line);
            assert_eq!(err.stat, 400, "{line}");
            assert!(err.reason.contains("commands: tweet"), "{line}: {err}");
        }
    }
}
