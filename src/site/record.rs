//! Seeing a round (SPEC section 9): one vocabulary of events for every
//! site, on one clock, and the recorder that writes them as JSON lines
//! (`--record FILE`).
//!
//! Every [`Event`] names its site and a time in milliseconds since the Unix
//! epoch (in the demo every site reads the same clock). A message is named
//! by its sender, its receiver and its number on that link (`seq`, which
//! travels with the message: see `net::wire`): a `send` and the `receive`
//! (or `drop`) with the same (from, to, seq) are the same message. The
//! number starts again at 1 when the sender restarts, so a receive belongs
//! to the latest send with its id before it.
//!
//! The file: a header line ([`Header`], with the format's name and
//! version), then one [`Event`] per line, in the order they were recorded.
//! It stops at a size limit, with a last line saying so ([`What::Limit`]).
//!
//! Version 2 added the decided value in full to `decided` (its `cmds`), so
//! that `tweettui replay` can rebuild every site's timeline; version 1
//! files are refused with a message saying so.

use crate::net::NetEvent;
pub use crate::net::{DropReason, Fault};
use crate::paxos::{Ballot, Membership, Message, MsgKind, Record, SiteId, Slot, TraceEvent};
use crate::state::op::Value;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The format's name, in the header line.
pub const FORMAT: &str = "tweettui-record";
/// The format's version, in the header line.
pub const VERSION: u32 = 2;
/// The default size limit of a recording.
pub const DEFAULT_LIMIT: u64 = 256 << 20;
/// How often buffered lines reach the file at least.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Milliseconds since the Unix epoch: the one clock of every event.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The first line of a recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    pub version: u32,
    /// Every site's name, in config order (a site is its index).
    pub sites: Vec<String>,
    /// When the recording started (ms since the Unix epoch).
    pub started_ms: u64,
}

/// One event: where, when, what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    pub t: u64,
    /// The site it happened at.
    pub site: SiteId,
    #[serde(flatten)]
    pub what: What,
}

/// A message as the events show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub kind: MsgKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot: Option<Ballot>,
    /// A short description of the value it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Msg {
    pub fn of(msg: &Message) -> Msg {
        Msg {
            kind: msg.kind(),
            slot: msg.slot(),
            ballot: msg.ballot(),
            value: msg.value_summary(),
        }
    }
}

/// What happened (`"ev"` in the file).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum What {
    /// The site handed a message for `to` to its transport.
    Send {
        to: SiteId,
        seq: u64,
        #[serde(flatten)]
        msg: Msg,
    },
    /// The site received a message (`seq` absent from a peer that does
    /// not number its messages).
    Receive {
        from: SiteId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        #[serde(flatten)]
        msg: Msg,
    },
    /// A message from `from` to `to` was dropped at this site.
    Drop {
        from: SiteId,
        to: SiteId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        reason: DropReason,
        #[serde(flatten)]
        msg: Msg,
    },
    /// As leader, the site put `value` into a new log entry.
    Proposed {
        slot: Slot,
        ballot: Ballot,
        value: String,
        recovered: bool,
    },
    /// The slot joined the site's decided prefix (it is applied there, in
    /// slot order); `value` is a summary, `full` the value itself (the
    /// commands: what a replay applies to rebuild the timeline); `own`: a
    /// submission of this site won (true) or lost (false) the slot.
    Decided {
        slot: Slot,
        value: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        own: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        full: Option<Value>,
    },
    /// The site's view of who leads changed.
    Leader {
        #[serde(default)]
        leader: Option<SiteId>,
        ballot: Ballot,
    },
    /// The site started phase 1 with a new ballot.
    Election { ballot: Ballot, from_slot: Slot },
    /// The acceptor's promise is durable.
    Promised { ballot: Ballot },
    /// The acceptor's accepted value for `slot` is durable.
    Accepted {
        slot: Slot,
        ballot: Ballot,
        value: String,
    },
    /// The decided prefix (slots decided with no hole before them) moved.
    Prefix { decided: Slot },
    /// The site's network filter changed (`{}`: cleared).
    Fault { fault: Fault },
    /// Demo: the site crashed (its runtime stopped; its disk stays).
    Crashed,
    /// Demo: the site restarted from its data dir.
    Restarted,
    /// Demo: the site was cut off from every other site.
    CutOff,
    /// Demo: the site's cut was healed.
    Healed,
    /// Whether the site votes changed (SPEC 6: joining, rejoining, voting).
    Membership { membership: Membership },
    /// The recording stopped here: it reached its size limit (the site
    /// `site` wrote the line that did not fit).
    Limit { bytes: u64 },
}

impl What {
    /// The event for a trace event of the core; `None` for its message
    /// rows (the transport reports messages, with their numbers).
    pub fn from_trace(ev: &TraceEvent) -> Option<What> {
        Some(match ev.clone() {
            TraceEvent::Message { .. } => return None,
            TraceEvent::Proposed {
                slot,
                ballot,
                value,
                recovered,
            } => What::Proposed {
                slot,
                ballot,
                value,
                recovered,
            },
            // The runtime adds the value itself (the core's event has a
            // summary): see `with_full`.
            TraceEvent::Decided { slot, value, own } => What::Decided {
                slot,
                value,
                own,
                full: None,
            },
            TraceEvent::Leader { leader, ballot } => What::Leader { leader, ballot },
            TraceEvent::Election { ballot, from_slot } => What::Election { ballot, from_slot },
            TraceEvent::Membership(membership) => What::Membership { membership },
        })
    }

    /// A `decided` event with its value in full, found in `committed` (the
    /// slots the same step applied); other events as they are.
    pub fn with_full(self, committed: &[(Slot, Value)]) -> What {
        match self {
            What::Decided {
                slot,
                value,
                own,
                full: None,
            } => What::Decided {
                slot,
                value,
                own,
                full: committed
                    .iter()
                    .find(|(s, _)| *s == slot)
                    .map(|(_, v)| v.clone()),
            },
            other => other,
        }
    }

    /// The event saying that a record of the acceptor is durable (decisions
    /// and membership are told by the core's own events).
    pub fn from_record(r: &Record) -> Option<What> {
        match r {
            Record::Promise { ballot } => Some(What::Promised { ballot: *ballot }),
            Record::Accept {
                slot,
                ballot,
                value,
            } => Some(What::Accepted {
                slot: *slot,
                ballot: *ballot,
                value: value.summary(),
            }),
            Record::Decide { .. } | Record::Rejoining | Record::Voting => None,
        }
    }

    /// The event for what the transport of site `me` did.
    pub fn from_net(ev: NetEvent<'_>) -> What {
        match ev {
            NetEvent::Sent { to, seq, msg } => What::Send {
                to,
                seq,
                msg: Msg::of(msg),
            },
            NetEvent::Received { from, seq, msg } => What::Receive {
                from,
                seq,
                msg: Msg::of(msg),
            },
            NetEvent::Dropped {
                from,
                to,
                seq,
                msg,
                reason,
            } => What::Drop {
                from,
                to,
                seq,
                reason,
                msg: Msg::of(msg),
            },
        }
    }
}

struct Writer {
    out: Option<BufWriter<File>>,
    bytes: u64,
    last_flush: Instant,
}

struct Inner {
    path: PathBuf,
    limit: u64,
    writer: Mutex<Writer>,
}

/// Writes events to a recording file. Cheap to clone: every clone writes
/// to the same file (the demo's sites share one). Lines reach the file at
/// least every quarter second and when the last clone is dropped.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Creates (or truncates) `path` and writes the header line.
    pub fn create(path: &Path, sites: Vec<String>, limit: u64) -> anyhow::Result<Recorder> {
        use anyhow::Context;
        let file = File::create(path)
            .with_context(|| format!("cannot create the recording {}", path.display()))?;
        let mut out = BufWriter::new(file);
        let header = Header {
            format: FORMAT.to_string(),
            version: VERSION,
            sites,
            started_ms: now_ms(),
        };
        let line = serde_json::to_string(&header)?;
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .with_context(|| format!("cannot write the recording {}", path.display()))?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                limit,
                writer: Mutex::new(Writer {
                    out: Some(out),
                    bytes: line.len() as u64 + 1,
                    last_flush: Instant::now(),
                }),
            }),
        })
    }

    /// A recorder at `path` with the default size limit, when a path is
    /// given (`--record`).
    pub fn create_if(path: Option<&Path>, sites: Vec<String>) -> anyhow::Result<Option<Recorder>> {
        path.map(|p| Recorder::create(p, sites, DEFAULT_LIMIT))
            .transpose()
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends one event. Past the size limit the recording stops with a
    /// last `limit` line; a write error stops it too (both are logged).
    pub fn record(&self, ev: &Event) {
        let Ok(line) = serde_json::to_string(ev) else {
            return;
        };
        let mut guard = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        let w = &mut *guard;
        let Some(out) = w.out.as_mut() else {
            return;
        };
        let len = line.len() as u64 + 1;
        let (result, close) = if w.bytes + len > self.inner.limit {
            let last = Event {
                t: ev.t,
                site: ev.site,
                what: What::Limit { bytes: w.bytes },
            };
            let last = serde_json::to_string(&last).unwrap_or_default();
            tracing::warn!(
                "the recording {} reached its limit of {} bytes: it stops here",
                self.inner.path.display(),
                self.inner.limit
            );
            (writeln!(out, "{last}").and_then(|()| out.flush()), true)
        } else {
            w.bytes += len;
            (writeln!(out, "{line}"), false)
        };
        if let Err(e) = &result {
            tracing::error!(
                "cannot write the recording {}: {e}",
                self.inner.path.display()
            );
        }
        if close || result.is_err() {
            w.out = None;
            return;
        }
        if w.last_flush.elapsed() >= FLUSH_EVERY {
            w.last_flush = Instant::now();
            let _ = out.flush();
        }
    }

    /// Whether the recording stopped (its limit, or a write error).
    pub fn stopped(&self) -> bool {
        let w = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.out.is_none()
    }

    /// Writes what is buffered to the file.
    pub fn flush(&self) {
        let mut w = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(out) = w.out.as_mut() {
            let _ = out.flush();
        }
    }
}

/// Flushes the recording and says on stderr where it is, and whether it
/// stopped at its size limit (for the shell, once the UI is gone).
pub fn report_end(r: &Recorder) {
    r.flush();
    let path = r.path().display();
    let text = if r.stopped() {
        format!(
            "tweettui: the recording {path} stopped at its size limit of {} MiB (the last line says so)",
            r.inner.limit >> 20
        )
    } else {
        format!("tweettui: recorded to {path}")
    };
    // Not eprintln!: it panics when the terminal is gone (SIGHUP).
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A recording read back: its header and its events.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub header: Header,
    pub events: Vec<Event>,
}

/// Reads a recording, refusing another format or version with a message
/// that names the file and the line.
pub fn read(path: &Path) -> anyhow::Result<Recording> {
    use anyhow::{bail, Context};
    let file = File::open(path)
        .with_context(|| format!("cannot open the recording {}", path.display()))?;
    let mut lines = BufReader::new(file).lines();
    let first = lines
        .next()
        .transpose()?
        .with_context(|| format!("{}: empty file, not a recording", path.display()))?;
    let header: Header = serde_json::from_str(&first)
        .ok()
        .filter(|h: &Header| h.format == FORMAT)
        .with_context(|| format!("{}: not a tweettui recording", path.display()))?;
    if header.version == 1 {
        bail!(
            "{}: a recording of format version 1, which has no decided values (the timeline \
             cannot be rebuilt from it): this program reads version {VERSION}; record it again",
            path.display()
        );
    }
    if header.version != VERSION {
        bail!(
            "{}: a recording of format version {}, this program reads version {VERSION}",
            path.display(),
            header.version
        );
    }
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let ev: Event = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not an event", path.display(), i + 2))?;
        events.push(ev);
    }
    Ok(Recording { header, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Event> {
        let b = Ballot::new(2, 1);
        let accept = Msg {
            kind: MsgKind::Accept,
            slot: Some(3),
            ballot: Some(b),
            value: Some("bob: hi".into()),
        };
        let whats = vec![
            What::Send {
                to: 2,
                seq: 7,
                msg: accept.clone(),
            },
            What::Receive {
                from: 1,
                seq: Some(7),
                msg: accept.clone(),
            },
            What::Receive {
                from: 1,
                seq: None,
                msg: Msg {
                    kind: MsgKind::Heartbeat,
                    slot: None,
                    ballot: Some(b),
                    value: None,
                },
            },
            What::Drop {
                from: 1,
                to: 3,
                seq: Some(8),
                reason: DropReason::FaultOut,
                msg: accept,
            },
            What::Proposed {
                slot: 3,
                ballot: b,
                value: "bob: hi".into(),
                recovered: true,
            },
            What::Decided {
                slot: 3,
                value: "no-op".into(),
                own: Some(false),
                full: Some(Value::noop()),
            },
            What::Leader {
                leader: None,
                ballot: b,
            },
            What::Election {
                ballot: b,
                from_slot: 3,
            },
            What::Promised { ballot: b },
            What::Accepted {
                slot: 3,
                ballot: b,
                value: "no-op".into(),
            },
            What::Prefix { decided: 4 },
            What::Fault {
                fault: Fault {
                    drop_to: vec![0, 2],
                    loss: 0.25,
                    ..Fault::default()
                },
            },
            What::Crashed,
            What::Restarted,
            What::CutOff,
            What::Healed,
            What::Limit { bytes: 99 },
        ];
        whats
            .into_iter()
            .enumerate()
            .map(|(i, what)| Event {
                t: 1_750_000_000_000 + i as u64,
                site: 1,
                what,
            })
            .collect()
    }

    #[test]
    fn a_recording_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let names = vec!["alice".to_string(), "bob".to_string()];
        let rec = Recorder::create(&path, names.clone(), DEFAULT_LIMIT).unwrap();
        for ev in samples() {
            rec.record(&ev);
        }
        drop(rec);
        let back = read(&path).unwrap();
        assert_eq!(back.header.format, FORMAT);
        assert_eq!(back.header.version, VERSION);
        assert_eq!(back.header.sites, names);
        assert_eq!(back.events, samples());
    }

    /// The shape the README documents.
    #[test]
    fn lines_are_written_as_documented() {
        let ev = &samples()[0];
        assert_eq!(
            serde_json::to_string(ev).unwrap(),
            r#"{"t":1750000000000,"site":1,"ev":"send","to":2,"seq":7,"kind":"accept","slot":3,"ballot":{"round":2,"site":1},"value":"bob: hi"}"#
        );
        let ev = &samples()[12];
        assert_eq!(
            serde_json::to_string(ev).unwrap(),
            r#"{"t":1750000000012,"site":1,"ev":"crashed"}"#
        );
    }

    #[test]
    fn the_limit_stops_the_recording_with_a_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.jsonl");
        let rec = Recorder::create(&path, vec!["a".into()], 600).unwrap();
        for ev in samples().iter().cycle().take(100) {
            rec.record(ev);
        }
        assert!(rec.stopped());
        drop(rec);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= 600 + 200, "{size} bytes");
        let back = read(&path).unwrap();
        assert!(matches!(
            back.events.last().map(|e| &e.what),
            Some(What::Limit { .. })
        ));
        assert!(back.events.len() > 2, "{}", back.events.len());
    }

    #[test]
    fn another_format_or_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, "{\"format\":\"other\",\"version\":1}\n").unwrap();
        assert!(format!("{:#}", read(&path).unwrap_err()).contains("not a tweettui recording"));
        std::fs::write(
            &path,
            "{\"format\":\"tweettui-record\",\"version\":99,\"sites\":[],\"started_ms\":0}\n",
        )
        .unwrap();
        assert!(format!("{:#}", read(&path).unwrap_err()).contains("version 99"));
        std::fs::write(
            &path,
            "{\"format\":\"tweettui-record\",\"version\":1,\"sites\":[],\"started_ms\":0}\n",
        )
        .unwrap();
        let e = format!("{:#}", read(&path).unwrap_err());
        assert!(e.contains("version 1, which has no decided values"), "{e}");
    }

    /// Three real sites recording to one file: every receive matches a
    /// send by (from, to, seq); the acceptor's records and the decisions
    /// are there; a cut site's messages are dropped with the reason.
    #[tokio::test]
    async fn a_cluster_records_matching_sends_and_receives() {
        use crate::config::Config;
        use crate::site::api::Request;
        use crate::site::runtime::{start, SiteOptions};
        use std::collections::HashSet;
        let dir = tempfile::tempdir().unwrap();
        let config = Config::loopback(3).unwrap();
        let path = dir.path().join("run.jsonl");
        let rec = Recorder::create(&path, config.names(), DEFAULT_LIMIT).unwrap();
        let mut sites = Vec::new();
        for i in 0..3 {
            let opts = SiteOptions {
                config: config.clone(),
                site: i,
                data_dir: dir.path().join(i.to_string()),
                record: Some(rec.clone()),
            };
            sites.push(start(opts, None).await.unwrap());
        }
        let resp = sites[0].client.request(Request::Tweet("one".into())).await;
        assert!(resp.is_ok(), "{resp:?}");
        let cut = Fault {
            drop_to: vec![0, 1],
            drop_from: vec![0, 1],
            ..Fault::default()
        };
        let set = sites[2].client.request(Request::Fault(cut)).await;
        assert!(set.is_ok(), "{set:?}");
        let resp = sites[0].client.request(Request::Tweet("two".into())).await;
        assert!(resp.is_ok(), "{resp:?}");
        for s in sites {
            s.stop().await.unwrap();
        }
        drop(rec);
        let events = read(&path).unwrap().events;
        let sends: HashSet<(SiteId, SiteId, u64)> = events
            .iter()
            .filter_map(|e| match &e.what {
                What::Send { to, seq, .. } => Some((e.site, *to, *seq)),
                _ => None,
            })
            .collect();
        let mut receives = 0;
        for e in &events {
            if let What::Receive { from, seq, .. } = &e.what {
                let id = (*from, e.site, seq.expect("numbered"));
                assert!(sends.contains(&id), "a receive without its send: {id:?}");
                receives += 1;
            }
        }
        assert!(receives > 0);
        let has = |f: &dyn Fn(&What) -> bool| events.iter().any(|e| f(&e.what));
        assert!(has(&|w| matches!(w, What::Promised { .. })));
        assert!(has(
            &|w| matches!(w, What::Accepted { value, .. } if value.ends_with("one"))
        ));
        assert!(has(&|w| matches!(w, What::Decided { slot: 1, .. })));
        // Every decision carries its value: the tweet "one" is in slot 0.
        assert!(events.iter().all(|e| match &e.what {
            What::Decided { full, .. } => full.is_some(),
            _ => true,
        }));
        assert!(has(
            &|w| matches!(w, What::Decided { slot: 0, full: Some(v), .. }
            if matches!(&v.cmds[..], [c] if matches!(&c.op, crate::state::op::Op::Tweet { text, .. } if text == "one")))
        ));
        assert!(has(&|w| matches!(w, What::Prefix { decided: 2 })));
        assert!(has(&|w| matches!(w, What::Fault { .. })));
        assert!(has(&|w| matches!(
            w,
            What::Drop {
                reason: DropReason::FaultIn | DropReason::FaultOut,
                ..
            }
        )));
        assert!(events.windows(2).all(|w| w[0].t <= w[1].t + 50));
    }
}
