//! The line format between sites (SPEC section 7): one JSON object per line,
//! UTF-8, at most [`MAX_LINE`] bytes (the newline not counted):
//!
//! ```text
//! {"from":0,"head":"fetch","body":{"from":3,"to":7}}
//! ```
//!
//! `head` and `body` are [`Message`]'s serde form; `from` is the sender's
//! site index. Field order does not matter when reading.
//!
//! A line may carry `"seq"`: the message's number on its link (from the
//! sender to this receiver, 1 for the first message since the sender's
//! transport started). It names the message in recordings, so a receive
//! can be matched to its send. It is optional both ways: a line without it
//! (an older peer) is read as before, and an older peer ignores it.

use crate::paxos::{Message, SiteId};
use serde::Deserialize;

/// The longest line a site sends or accepts, in bytes, without its newline.
pub const MAX_LINE: usize = 1024 * 1024;

/// Why a line could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("message of {0} bytes is over the {MAX_LINE}-byte line limit")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Json(#[from] serde_json::Error),
    /// A message that could not be encoded (said once per message, the
    /// encoding being shared by its lines to several peers).
    #[error("malformed message: {0}")]
    Encode(String),
    #[error("a line to authenticate is not a JSON object")]
    NotAnObject,
}

/// A line read: `from` and `seq` beside the message's `head` and `body`.
/// Deserialised by hand (see `incoming`) rather than with
/// `#[serde(flatten)] msg: Message`, which buffers the whole line, values
/// included, before reading the message: the same lines are accepted.
struct Incoming {
    from: SiteId,
    seq: Option<u64>,
    msg: Message,
}

impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(incoming::LineVisitor)
    }
}

/// One line read: the sender, the message's number on its link (when the
/// sender wrote one), the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub from: SiteId,
    pub seq: Option<u64>,
    pub msg: Message,
}

/// One line (without its newline) carrying `msg` from site `from`.
pub fn encode(from: SiteId, msg: &Message) -> Result<String, WireError> {
    encode_seq(from, None, msg)
}

/// One line carrying `msg` from site `from`, numbered `seq` on its link.
pub fn encode_seq(from: SiteId, seq: Option<u64>, msg: &Message) -> Result<String, WireError> {
    line_from(from, seq, &encode_body(msg)?)
}

/// The message's part of a line: `{"head":...,"body":...}`. Encoded once
/// for a message sent to several peers; [`line_from`] makes each line.
pub fn encode_body(msg: &Message) -> Result<String, WireError> {
    Ok(serde_json::to_string(msg)?)
}

/// The line carrying `body` (from [`encode_body`]) from site `from`,
/// numbered `seq`: `from` and `seq` first, then the message's fields, the
/// bytes `serde_json` writes for the three together.
pub fn line_from(from: SiteId, seq: Option<u64>, body: &str) -> Result<String, WireError> {
    use std::fmt::Write;
    let mut line = String::with_capacity(body.len() + 40);
    // Writing to a String cannot fail.
    let _ = write!(line, "{{\"from\":{from}");
    if let Some(seq) = seq {
        let _ = write!(line, ",\"seq\":{seq}");
    }
    match body.strip_prefix('{') {
        // An object with fields (a message always has its head).
        Some(rest) if rest != "}" => {
            line.push(',');
            line.push_str(rest);
        }
        _ => line.push('}'),
    }
    if line.len() > MAX_LINE {
        return Err(WireError::TooLarge(line.len()));
    }
    Ok(line)
}

/// The sender and the message of one line (without its newline).
pub fn decode(line: &str) -> Result<(SiteId, Message), WireError> {
    decode_line(line).map(|l| (l.from, l.msg))
}

/// The whole of one line (without its newline), its `seq` included.
pub fn decode_line(line: &str) -> Result<Line, WireError> {
    if line.len() > MAX_LINE {
        return Err(WireError::TooLarge(line.len()));
    }
    let Incoming { from, seq, msg } = serde_json::from_str(line)?;
    Ok(Line { from, seq, msg })
}

mod incoming;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::{Ballot, DecidedEntry};
    use crate::state::op::{Command, Op, OpId, Value};

    fn block(target: String) -> Command {
        Command {
            id: OpId {
                site: 1,
                boot: 0xfeed,
                seq: 7,
            },
            op: Op::Block {
                user: "bob".into(),
                target,
            },
        }
    }

    fn samples() -> Vec<Message> {
        let b = Ballot::new(3, 1);
        vec![
            Message::Prepare {
                ballot: b,
                rejoin: true,
                from_slot: 4,
            },
            Message::Ack { ballot: b, slot: 9 },
            Message::Nack {
                ballot: b,
                slot: None,
            },
            Message::Commit {
                ballot: b,
                slot: 2,
                value: Value::noop(),
            },
            Message::Accept {
                ballot: b,
                slot: 5,
                value: Value::batch(vec![block("carol".into()), block("dave".into())]),
            },
            Message::Forward {
                ballot: b,
                cmds: vec![block("erin".into())],
            },
            Message::Fetch { from: 3, to: 7 },
            Message::Decided {
                promised: Ballot::new(2, 1),
                probe: 7,
                decided_upto: 5,
                entries: vec![DecidedEntry {
                    slot: 1,
                    value: Value::noop(),
                }],
            },
        ]
    }

    #[test]
    fn round_trip() {
        for msg in samples() {
            let line = encode(2, &msg).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(decode(&line).unwrap(), (2, msg));
        }
    }

    #[test]
    fn shape_is_head_from_body() {
        let line = encode(1, &Message::Fetch { from: 3, to: 7 }).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"head": "fetch", "from": 1, "body": {"from": 3, "to": 7}})
        );
    }

    #[test]
    fn written_as_documented() {
        let line = encode(0, &Message::Fetch { from: 3, to: 7 }).unwrap();
        assert_eq!(
            line,
            r#"{"from":0,"head":"fetch","body":{"from":3,"to":7}}"#
        );
    }

    /// The link number travels as an optional field: written when known,
    /// read back, absent from an older peer's line, and ignored by an
    /// older peer's reader (which knows only from, head and body).
    #[test]
    fn seq_is_optional_both_ways() {
        let msg = Message::Fetch { from: 3, to: 7 };
        let line = encode_seq(2, Some(41), &msg).unwrap();
        assert_eq!(
            line,
            r#"{"from":2,"seq":41,"head":"fetch","body":{"from":3,"to":7}}"#
        );
        let read = decode_line(&line).unwrap();
        assert_eq!((read.from, read.seq, &read.msg), (2, Some(41), &msg));
        let old = decode_line(r#"{"from":2,"head":"fetch","body":{"from":3,"to":7}}"#).unwrap();
        assert_eq!(old.seq, None);
        #[derive(Deserialize)]
        struct OldIncoming {
            #[allow(dead_code)]
            from: SiteId,
            #[serde(flatten)]
            msg: Message,
        }
        let by_old: OldIncoming = serde_json::from_str(&line).unwrap();
        assert_eq!(by_old.msg, msg);
    }

    #[test]
    fn reads_any_field_order() {
        let (from, msg) = decode(r#"{"head":"fetch","body":{"from":3,"to":7},"from":4}"#).unwrap();
        assert_eq!((from, msg), (4, Message::Fetch { from: 3, to: 7 }));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "",
            "not json",
            "[1,2]",
            r#"{"head":"fetch","body":{"from":3,"to":7}}"#,
            r#"{"head":"gossip","from":1,"body":{}}"#,
            r#"{"head":"fetch","from":-1,"body":{"from":3,"to":7}}"#,
            r#"{"head":"fetch","from":1,"body":{"from":3}}"#,
            r#"{"head":"fetch","from":1}"#,
            r#"{"head":"fetch","from":"1","body":{"from":3,"to":7}}"#,
        ] {
            assert!(decode(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn too_large_is_refused_both_ways() {
        let long = "x".repeat(MAX_LINE + 1);
        assert!(matches!(decode(&long), Err(WireError::TooLarge(_))));
        let huge = Message::Forward {
            ballot: Ballot::ZERO,
            cmds: vec![block("y".repeat(MAX_LINE))],
        };
        assert!(matches!(encode(0, &huge), Err(WireError::TooLarge(_))));
    }
}
