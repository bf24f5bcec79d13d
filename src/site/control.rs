//! The control endpoint (SPEC section 8): TCP on 127.0.0.1, one JSON object
//! per line each way, requests answered in order. Its connections are
//! limited as the peers' are (SPEC 7, [`Limits::CONTROL`]): a cap, a first
//! request due soon after connecting, and at the cap a connection that has
//! sent no request for long gives its place to a new one.

use super::api::{FaultSpec, Request, Response, SiteClient};
use crate::net::limits::{Gate, Limits, Throttle, Ticket};
use crate::net::transport::REFUSAL_LOG_EVERY;
use futures::{SinkExt, StreamExt};
use serde_json::Value as Json;
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
log null or {\"from\": n} or {\"from\": n, \"limit\": m} (at most 1000 slots an answer: \
ask again from the last slot + 1) | status null | \
fault {\"drop_to\": [i...], \"drop_from\": [i...], \"loss\": 0.0..1.0, \"delay_ms\": n} ({} clears it)";

/// Parses one request line. A bad line is answered 400 with the usage.
pub fn parse_request(line: &str) -> Result<Request, Response> {
    let bad = |why: String| Response::error(400, format!("{why}; {USAGE}"));
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
        "view" => nothing(Request::View),
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
pub async fn serve(listener: TcpListener, client: SiteClient) {
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
        let client = client.clone();
        tokio::spawn(async move {
            let end = tokio::select! {
                _ = ticket.pushed_out() => Err("pushed out at the connection cap".to_string()),
                end = serve_connection(stream, client, &ticket) => end,
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
        let answer = match line {
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
                    Err(resp) => resp,
                }
            }
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                // Answer, then close: the rest of the line cannot be framed.
                let resp = Response::error(
                    400,
                    format!("request line longer than {MAX_REQUEST_LINE} bytes; {USAGE}"),
                );
                lines.send(encode(&resp)).await.map_err(|e| e.to_string())?;
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        lines
            .send(encode(&answer))
            .await
            .map_err(|e| e.to_string())?;
    }
}

fn encode(resp: &Response) -> String {
    serde_json::to_string(resp)
        .unwrap_or_else(|_| r#"{"stat":500,"body":"could not encode the answer"}"#.to_string())
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

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(r#"{"head":"tweet","body":"hi"}"#),
            Ok(Request::Tweet("hi".into()))
        );
        assert_eq!(
            parse_request(r#"{"head":"view","body":null}"#),
            Ok(Request::View)
        );
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
            let msg = err.body.as_str().unwrap_or_default();
            assert!(msg.contains("commands: tweet"), "{line}: {msg}");
        }
    }
}
