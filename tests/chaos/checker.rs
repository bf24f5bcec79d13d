//! The chaos test's checker: pure functions over what the clients saw (a
//! history of submissions with their answers and wall times) and what the
//! sites hold afterwards (the decided log, each site's `view` and
//! `blocked`). Nothing here talks to a process, so the checker is itself
//! under test (`doctored_*` in `tests/chaos.rs`): histories with a doubled
//! operation, a lost acknowledged one, a reordered pair or a wrong slot
//! must fail.
//!
//! How operations are told apart: every tweet carries a text no other
//! submission uses; a block or unblock answered 200 is the log row at the
//! slot and index its answer named (the row must hold that user, kind and
//! target). A block or unblock that was not acknowledged cannot be pinned
//! to one row (the answer carries no id), so those are checked in
//! aggregate: the rows of (user, kind, target) that no acknowledgement
//! claims are at most the number of such submissions that may have been
//! decided (503 or unanswered).
//!
//! Copies: after a leader change the log may hold a second copy of an
//! operation (the same submission id in a later slot; README, "Known
//! limits"). Applying skips every copy after the first, on every site, and
//! the answer names the first. The checker follows that rule: an operation
//! "in the log" is its first copy; later copies with the same id are
//! counted (`copies`), never a second effect. Two rows with the same text
//! but different ids are two submissions decided: a doubled operation.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Tweet,
    Block,
    Unblock,
}

/// One user operation: `arg` is the text of a tweet or the target of a
/// block or unblock; `user` its author (the submitting site's name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    pub kind: Kind,
    pub user: String,
    pub arg: String,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Tweet => write!(f, "{} tweets {:?}", self.user, self.arg),
            Kind::Block => write!(f, "{} blocks {}", self.user, self.arg),
            Kind::Unblock => write!(f, "{} unblocks {}", self.user, self.arg),
        }
    }
}

/// What a client got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200: decided at this slot and index.
    Decided { slot: u64, index: u64 },
    /// 503: not decided in time (may be decided later, at most once).
    Timeout,
    /// Sent, but no answer came (the site was killed, or the connection
    /// dropped): may be decided, at most once.
    Unanswered,
    /// The connection could not be opened: the site never saw it.
    Unsent,
    /// Any other answer (400, 409, 500) with its body: never decided.
    Refused(u16, String),
}

impl Outcome {
    fn may_be_decided(&self) -> bool {
        matches!(self, Outcome::Timeout | Outcome::Unanswered)
    }
}

/// One submission as a client recorded it. Times are microseconds since
/// the test began, on one monotonic clock shared by all clients.
#[derive(Clone, Debug)]
pub struct Record {
    pub client: usize,
    pub site: usize,
    pub op: Op,
    pub start_us: u64,
    pub end_us: u64,
    pub outcome: Outcome,
}

/// One row of the decided log (`log` of SPEC 8). `op` is None for a no-op.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub slot: u64,
    pub index: u64,
    pub op: Option<Logged>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub op: Op,
    pub id: String,
    /// The tweet's time as `log` shows it (RFC 3339 UTC, milliseconds);
    /// empty for blocks and unblocks.
    pub time: String,
}

type Pos = (u64, u64);

/// Everything the checker found wrong, one line each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// The log's rows are not in strictly ascending (slot, index) order.
    Disorder { at: Pos, after: Pos },
    /// A submission that cannot have been decided is in the log.
    Unexpected {
        op: String,
        outcome: String,
        at: Pos,
    },
    /// An acknowledged operation is not in the log.
    Lost { op: String, answer: Pos },
    /// An operation took effect more than once (distinct submissions).
    Doubled { op: String, at: Vec<Pos> },
    /// An acknowledged operation is in the log, but not where its answer said.
    WrongPlace {
        op: String,
        answer: Pos,
        found: String,
    },
    /// Rows that no submission explains.
    Invented {
        op: String,
        rows: usize,
        could_be: usize,
    },
    /// `a` was acknowledged before `b` was submitted, yet `b` comes first.
    RealTime {
        a: String,
        a_at: Pos,
        b: String,
        b_at: Pos,
    },
    /// An answer a valid submission must never get (400, 500, a 409 tweet).
    BadAnswer { op: String, stat: u16, body: String },
    /// Two submissions in the history share a tweet text (a bad history).
    AmbiguousText { text: String },
}

/// Counts of one check, for the test's output and the README.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub ops: usize,
    pub ok: usize,
    pub timeouts: usize,
    pub unanswered: usize,
    pub unsent: usize,
    pub refused: usize,
    /// 503 or unanswered operations found in the log anyway (tweets, and
    /// blocks and unblocks counted in aggregate).
    pub late: usize,
    pub rows: usize,
    pub slots: usize,
    /// Later copies of an operation already in the log (no effect).
    pub copies: usize,
}

/// The checker's verdict on a history and a log.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub counts: Counts,
    pub violations: Vec<Violation>,
}

/// The log's operations with their first copies: which rows take effect.
struct Effective<'a> {
    /// The rows that take effect (first copy of each id), in log order.
    rows: Vec<&'a Row>,
    copies: usize,
}

fn effective(log: &[Row]) -> Effective<'_> {
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    let mut copies = 0;
    for row in log {
        if let Some(l) = &row.op {
            if seen.insert(l.id.as_str()) {
                rows.push(row);
            } else {
                copies += 1;
            }
        }
    }
    Effective { rows, copies }
}

/// A submission as the violations name it.
fn describe(r: &Record) -> String {
    format!(
        "{} (client {}, site {}, {}..{} us)",
        r.op, r.client, r.site, r.start_us, r.end_us
    )
}

fn pos(row: &Row) -> Pos {
    (row.slot, row.index)
}

/// Checks a history against the final decided log: every acknowledged
/// operation in the log exactly once, where its answer said; every 503 or
/// unanswered one at most once; nothing else; real-time order.
pub fn check(history: &[Record], log: &[Row]) -> Report {
    let mut v = Vec::new();
    let mut counts = Counts {
        ops: history.len(),
        rows: log.len(),
        slots: log.iter().map(|r| r.slot).collect::<BTreeSet<_>>().len(),
        ..Counts::default()
    };
    for r in history {
        match &r.outcome {
            Outcome::Decided { .. } => counts.ok += 1,
            Outcome::Timeout => counts.timeouts += 1,
            Outcome::Unanswered => counts.unanswered += 1,
            Outcome::Unsent => counts.unsent += 1,
            Outcome::Refused(stat, body) => {
                counts.refused += 1;
                // A block may be refused by the current state (409); a
                // tweet of ours never, and nothing of ours is malformed.
                if *stat != 409 || r.op.kind == Kind::Tweet {
                    v.push(Violation::BadAnswer {
                        op: describe(r),
                        stat: *stat,
                        body: body.clone(),
                    });
                }
            }
        }
    }
    for w in log.windows(2) {
        if pos(&w[1]) <= pos(&w[0]) {
            v.push(Violation::Disorder {
                at: pos(&w[1]),
                after: pos(&w[0]),
            });
        }
    }
    let eff = effective(log);
    counts.copies = eff.copies;
    let at_pos: HashMap<Pos, &Row> = log.iter().map(|r| (pos(r), r)).collect();
    let first_of: HashMap<&str, Pos> = eff
        .rows
        .iter()
        .map(|r| (r.op.as_ref().map_or("", |l| l.id.as_str()), pos(r)))
        .collect();

    // Where each submission took effect, when the checker can tell:
    // (record index, position) for the real-time check.
    let mut placed: Vec<(usize, Pos)> = Vec::new();

    // Tweets: by their unique text.
    let mut tweet_rows: HashMap<&str, Vec<&Row>> = HashMap::new();
    for row in &eff.rows {
        let l = row.op.as_ref().expect("effective rows hold an op");
        if l.op.kind == Kind::Tweet {
            tweet_rows.entry(l.op.arg.as_str()).or_default().push(row);
        }
    }
    let mut texts = HashSet::new();
    for (k, r) in history.iter().enumerate() {
        if r.op.kind != Kind::Tweet {
            continue;
        }
        if !texts.insert(r.op.arg.as_str()) {
            v.push(Violation::AmbiguousText {
                text: r.op.arg.clone(),
            });
            continue;
        }
        let rows = tweet_rows
            .get(r.op.arg.as_str())
            .cloned()
            .unwrap_or_default();
        for row in &rows {
            let l = row.op.as_ref().expect("an op");
            if l.op != r.op {
                v.push(Violation::WrongPlace {
                    op: describe(r),
                    answer: pos(row),
                    found: format!("its text, but as {}", l.op),
                });
            }
        }
        if rows.len() > 1 {
            v.push(Violation::Doubled {
                op: describe(r),
                at: rows.iter().map(|r| pos(r)).collect(),
            });
        }
        match &r.outcome {
            Outcome::Decided { slot, index } => {
                let answer = (*slot, *index);
                match rows.first() {
                    None => v.push(Violation::Lost {
                        op: describe(r),
                        answer,
                    }),
                    Some(row) if pos(row) != answer => v.push(Violation::WrongPlace {
                        op: describe(r),
                        answer,
                        found: format!("at slot {} index {}", row.slot, row.index),
                    }),
                    Some(row) => placed.push((k, pos(row))),
                }
            }
            o if o.may_be_decided() => {
                if let Some(row) = rows.first() {
                    counts.late += 1;
                    placed.push((k, pos(row)));
                }
            }
            o => {
                if let Some(row) = rows.first() {
                    v.push(Violation::Unexpected {
                        op: describe(r),
                        outcome: format!("{o:?}"),
                        at: pos(row),
                    });
                }
            }
        }
    }
    for (text, rows) in &tweet_rows {
        if !texts.contains(text) {
            v.push(Violation::Invented {
                op: rows[0].op.as_ref().expect("an op").op.to_string(),
                rows: rows.len(),
                could_be: 0,
            });
        }
    }

    // Blocks and unblocks: an acknowledged one is the row its answer names.
    let mut claimed: HashMap<Pos, usize> = HashMap::new();
    let mut pending: HashMap<&Op, usize> = HashMap::new();
    for (k, r) in history.iter().enumerate() {
        if r.op.kind == Kind::Tweet {
            continue;
        }
        match &r.outcome {
            Outcome::Decided { slot, index } => {
                let answer = (*slot, *index);
                let Some(row) = at_pos.get(&answer) else {
                    v.push(Violation::Lost {
                        op: describe(r),
                        answer,
                    });
                    continue;
                };
                let Some(l) = row.op.as_ref().filter(|l| l.op == r.op) else {
                    let found = row
                        .op
                        .as_ref()
                        .map_or("a no-op".to_string(), |l| l.op.to_string());
                    v.push(Violation::WrongPlace {
                        op: describe(r),
                        answer,
                        found,
                    });
                    continue;
                };
                if first_of.get(l.id.as_str()) != Some(&answer) {
                    v.push(Violation::WrongPlace {
                        op: describe(r),
                        answer,
                        found: "a later copy: the answer must name the first".into(),
                    });
                    continue;
                }
                if let Some(other) = claimed.insert(answer, k) {
                    v.push(Violation::Doubled {
                        op: format!("{} (acknowledged twice: #{other} and #{k})", r.op),
                        at: vec![answer],
                    });
                }
                placed.push((k, answer));
            }
            o if o.may_be_decided() => *pending.entry(&r.op).or_default() += 1,
            _ => {}
        }
    }
    let mut unclaimed: HashMap<&Op, Vec<Pos>> = HashMap::new();
    for row in &eff.rows {
        let l = row.op.as_ref().expect("an op");
        if l.op.kind != Kind::Tweet && !claimed.contains_key(&pos(row)) {
            unclaimed.entry(&l.op).or_default().push(pos(row));
        }
    }
    for (op, rows) in unclaimed {
        let could_be = pending.get(op).copied().unwrap_or(0);
        counts.late += rows.len().min(could_be);
        if rows.len() > could_be {
            v.push(Violation::Invented {
                op: format!("{op} at {rows:?}"),
                rows: rows.len(),
                could_be,
            });
        }
    }

    v.extend(real_time(history, &placed));
    Report {
        counts,
        violations: v,
    }
}

/// Real-time order: for every operation B found in the log, every
/// operation acknowledged before B was submitted stands before B.
fn real_time(history: &[Record], placed: &[(usize, Pos)]) -> Vec<Violation> {
    let mut acked: Vec<(u64, Pos, usize)> = placed
        .iter()
        .filter(|(k, _)| matches!(history[*k].outcome, Outcome::Decided { .. }))
        .map(|&(k, p)| (history[k].end_us, p, k))
        .collect();
    acked.sort();
    // best[i]: the acknowledged operation furthest in the log among the
    // first i + 1 to be acknowledged.
    let mut best: Vec<(Pos, usize)> = Vec::with_capacity(acked.len());
    for &(_, p, k) in &acked {
        let next = match best.last() {
            Some(&(bp, bk)) if bp >= p => (bp, bk),
            _ => (p, k),
        };
        best.push(next);
    }
    let mut v = Vec::new();
    for &(kb, pb) in placed {
        let start = history[kb].start_us;
        let n = acked.partition_point(|&(end, _, _)| end < start);
        if n == 0 {
            continue;
        }
        let (pa, ka) = best[n - 1];
        if pa >= pb {
            v.push(Violation::RealTime {
                a: describe(&history[ka]),
                a_at: pa,
                b: describe(&history[kb]),
                b_at: pb,
            });
        }
    }
    v
}

/// One tweet of a timeline as `view` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shown {
    pub slot: u64,
    pub index: u64,
    pub user: String,
    pub text: String,
    pub time: String,
}

/// What SPEC 4 makes of the log for one user: the timeline (newest first
/// by time, ties later in the log first) and the users they block
/// (sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub view: Vec<Shown>,
    pub blocked: Vec<String>,
}

/// SPEC 4 over the decided log, for each of `users`: blocks one way, a
/// block in force changes nothing, an unblock of a user not blocked
/// neither; a copy of an operation takes no effect.
pub fn recompute(users: &[&str], log: &[Row]) -> Vec<Expected> {
    let mut tweets: Vec<Shown> = Vec::new();
    let mut blocks: BTreeSet<(String, String)> = BTreeSet::new();
    for row in effective(log).rows {
        let l = row.op.as_ref().expect("an op");
        let pair = (l.op.user.clone(), l.op.arg.clone());
        match l.op.kind {
            Kind::Tweet => tweets.push(Shown {
                slot: row.slot,
                index: row.index,
                user: l.op.user.clone(),
                text: l.op.arg.clone(),
                time: l.time.clone(),
            }),
            Kind::Block => {
                blocks.insert(pair);
            }
            Kind::Unblock => {
                blocks.remove(&pair);
            }
        }
    }
    // RFC 3339 UTC with milliseconds, one format: text order is time order.
    tweets.sort_by(|a, b| (&b.time, b.slot, b.index).cmp(&(&a.time, a.slot, a.index)));
    users
        .iter()
        .map(|&u| Expected {
            view: tweets
                .iter()
                .filter(|t| !blocks.contains(&(t.user.clone(), u.to_string())))
                .cloned()
                .collect(),
            blocked: blocks
                .iter()
                .filter(|(a, _)| a == u)
                .map(|(_, b)| b.clone())
                .collect(),
        })
        .collect()
}

/// What one site showed against what the log makes of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteCheck {
    /// Disagreements that the log decides (missing or extra tweets, a
    /// wrong block list, an order the milliseconds decide).
    pub errors: Vec<String>,
    /// Neighbours of the same millisecond shown in another order than
    /// their log positions: the site orders by its full-precision time,
    /// which `log` and `view` round to milliseconds, so the log cannot
    /// decide these (counted, not failed).
    pub ms_ties_unlike_log: usize,
}

/// Compares a site's `view` and `blocked` with `expected`.
pub fn check_site(
    name: &str,
    expected: &Expected,
    view: &[Shown],
    blocked: &[String],
) -> SiteCheck {
    let mut out = SiteCheck::default();
    let mut sorted_blocked = blocked.to_vec();
    sorted_blocked.sort();
    if sorted_blocked != expected.blocked {
        out.errors.push(format!(
            "{name} blocks {blocked:?}; the log says {:?}",
            expected.blocked
        ));
    }
    let want: HashSet<&Shown> = expected.view.iter().collect();
    let got: HashSet<&Shown> = view.iter().collect();
    if view.len() != got.len() {
        out.errors
            .push(format!("{name}'s view shows a tweet more than once"));
    }
    let mut missing: Vec<&&Shown> = want.difference(&got).collect();
    let mut extra: Vec<&&Shown> = got.difference(&want).collect();
    missing.sort_by_key(|t| (t.slot, t.index));
    extra.sort_by_key(|t| (t.slot, t.index));
    if !missing.is_empty() {
        out.errors.push(format!(
            "{name}'s view lacks {} tweets of the log, first {:?}",
            missing.len(),
            missing[0]
        ));
    }
    if !extra.is_empty() {
        out.errors.push(format!(
            "{name}'s view shows {} tweets the log does not give it, first {:?}",
            extra.len(),
            extra[0]
        ));
    }
    for w in view.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.time < b.time {
            out.errors.push(format!(
                "{name}'s view shows {:?} above the newer {:?}",
                a.text, b.text
            ));
        } else if a.time == b.time && (a.slot, a.index) < (b.slot, b.index) {
            // Times are kept to the millisecond: a tie goes to the later
            // in the log (SPEC 4).
            out.errors.push(format!(
                "{name}'s view shows {:?} above {:?} of the same millisecond, later in the log",
                a.text, b.text
            ));
            out.ms_ties_unlike_log += 1;
        }
    }
    out
}

/// Whether every two views order the tweets they both show the same way
/// (what the sites' full-precision times decide must agree across sites).
pub fn views_agree(views: &[Vec<Shown>]) -> Result<(), String> {
    let key = |t: &Shown| (t.slot, t.index);
    let rank: Vec<HashMap<Pos, usize>> = views
        .iter()
        .map(|v| v.iter().enumerate().map(|(i, t)| (key(t), i)).collect())
        .collect();
    for (a, va) in views.iter().enumerate() {
        for (b, rb) in rank.iter().enumerate().skip(a + 1) {
            let mut last: Option<(usize, &Shown)> = None;
            for t in va {
                let Some(&r) = rb.get(&key(t)) else { continue };
                if let Some((lr, lt)) = last {
                    if r < lr {
                        return Err(format!(
                            "views {a} and {b} order {:?} and {:?} differently",
                            lt.text, t.text
                        ));
                    }
                }
                last = Some((r, t));
            }
        }
    }
    Ok(())
}
