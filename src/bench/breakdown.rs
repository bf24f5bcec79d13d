//! `tweettui bench --breakdown`: where a commit's time goes.
//!
//! The sites of the in-process cluster note the moments each commit passes
//! through ([`crate::site::probe`]); the bench's clients note when they sent
//! each request and got its answer, with the slot and index the answer
//! names. A submission is followed by its slot and index (unique in the
//! cluster), and to the leader by its id (the leader's accept carries the
//! ids of its slot in order, a forward the ids it hands over), so the
//! stages are right with any number of clients and with batches.
//!
//! The stages follow each other, from the client's send to its receipt of
//! the answer, so their shares (a stage's mean over all commits, zero where
//! it does not occur, over the mean commit) add up to 100 %. Rows indented
//! under a stage are parts of it that run side by side (the leader's sync
//! and its followers' since item 2 of issue 14), shown in parentheses.
//!
//! The floor is measured in the same run, before and after the load (the
//! lower median of each part counts): a loopback TCP round trip and an
//! fdatasync of a 4 KiB write in the cluster's data dir.

use crate::paxos::{SiteId, Slot};
use crate::site::probe::{Event, Seen};
use crate::state::op::OpId;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The bench's switches for measuring the stages (`tweettui bench --help`).
#[derive(clap::Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageArgs {
    /// Split each commit's latency into its stages (client → site, forward to the
    /// leader, the leader's sync, its followers' sync and ack, commit, apply, answer)
    /// and print p50, p90 and share of each, with the floor (a loopback round trip
    /// plus an fdatasync, measured in the same run). On the cluster the bench
    /// starts only (not with --remote or --target etcd); at least 2 sites.
    #[arg(long)]
    pub breakdown: bool,
    /// The leader sends its accepts only once its own accept is durable (the order
    /// before item 2 of issue 14: one sync more in series, as safe), so that both
    /// orders can be measured with one binary. On the cluster the bench starts only.
    #[arg(long)]
    pub serial_leader_write: bool,
}

/// One decided submission as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub sent: Instant,
    pub got: Instant,
    pub slot: Slot,
    pub index: usize,
}

/// The rows of the table, in order: name, indented (a part of the stage
/// above, running beside the other parts).
const STAGES: [(&str, bool); 11] = [
    ("client → site (request read)", false),
    ("forward (submitter → leader)", false),
    ("at the leader: op → quorum", false),
    ("leader sync (own accept durable)", true),
    ("follower sync + ack (accept → 1st ack)", true),
    ("commit (quorum → answering site)", false),
    ("apply (decided → applied)", false),
    ("archive write (before the answer)", true),
    ("reply (applied → reply written)", false),
    ("answer (reply written → client has it)", false),
    ("total (client send → answer)", false),
];

/// Index of the total in [`STAGES`].
const TOTAL: usize = 10;

/// One row: its samples (sorted) and their sum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub stage: &'static str,
    pub nested: bool,
    pub samples: Vec<Duration>,
    pub sum: Duration,
}

/// The floor a commit cannot beat: one loopback round trip and one sync
/// (medians).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Floor {
    pub round_trip: Duration,
    pub sync: Duration,
}

impl Floor {
    pub fn total(&self) -> Duration {
        self.round_trip + self.sync
    }

    /// The lower median of each part: the floor is measured just before and
    /// just after the load, so that a burst of other processes' disk writes
    /// (a shared machine: a sync then takes 4 ms instead of 0.1) during one
    /// of the two does not count as the floor.
    pub fn min(self, other: Floor) -> Floor {
        Floor {
            round_trip: self.round_trip.min(other.round_trip),
            sync: self.sync.min(other.sync),
        }
    }
}

/// What `--breakdown` measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// Commits followed through every stage.
    pub commits: usize,
    /// Of them, answered by a site that was not the leader.
    pub forwarded: usize,
    /// Commits some moment of which was not seen (left out).
    pub incomplete: usize,
    pub rows: Vec<Row>,
    pub floor: Option<Floor>,
    /// The run used `--serial-leader-write`.
    pub serial: bool,
}

/// The moments of the probe, indexed by what they are about. Each keeps
/// the first time it was seen.
#[derive(Default)]
struct Moments {
    /// (slot, index) → (answering site, request read, reply written).
    answered: HashMap<(Slot, usize), (SiteId, Instant, Instant)>,
    /// slot → (leader, first accept sent, the slot's submission ids).
    accept: HashMap<Slot, (SiteId, Instant, Vec<OpId>)>,
    forward: HashMap<(SiteId, OpId), Instant>,
    ack: HashMap<(SiteId, Slot), Instant>,
    commit: HashMap<(SiteId, Slot), Instant>,
    /// (site, slot) → (begun, synced) of the batch that accepted it.
    accepted: HashMap<(SiteId, Slot), (Instant, Instant)>,
    /// (site, slot) → (begun, archived, applied) of the batch that decided
    /// it: its submissions are answered once the slot is archived and
    /// applied, whether or not the batch's other records are durable yet
    /// (see "Decisions need no sync" and `Runtime::make_durable`).
    decided: HashMap<(SiteId, Slot), (Instant, Instant, Instant)>,
}

/// Keeps the earlier of two values for `key` (earliest by `at`).
fn first<K: std::hash::Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    key: K,
    v: V,
    at: impl Fn(&V) -> Instant,
) {
    match map.get(&key) {
        Some(old) if at(old) <= at(&v) => {}
        _ => {
            map.insert(key, v);
        }
    }
}

impl Moments {
    fn index(seen: &[Seen]) -> Moments {
        let mut m = Moments::default();
        for s in seen {
            let (at, site) = (s.at, s.site);
            match &s.event {
                Event::Answered { read, slot, index } => {
                    first(&mut m.answered, (*slot, *index), (site, *read, at), |v| v.1)
                }
                Event::ForwardReceived { ids } => {
                    for id in ids {
                        first(&mut m.forward, (site, *id), at, |v| *v);
                    }
                }
                Event::AcceptSent { slot, ids } => {
                    first(&mut m.accept, *slot, (site, at, ids.clone()), |v| v.1)
                }
                Event::AckReceived { slot } => first(&mut m.ack, (site, *slot), at, |v| *v),
                Event::CommitReceived { slot } => first(&mut m.commit, (site, *slot), at, |v| *v),
                Event::Batch {
                    since,
                    archived,
                    applied,
                    synced,
                    accepted,
                    decided,
                } => {
                    for slot in accepted {
                        first(&mut m.accepted, (site, *slot), (*since, *synced), |v| v.0);
                    }
                    for slot in decided {
                        let v = (*since, *archived, *applied);
                        first(&mut m.decided, (site, *slot), v, |v| v.0);
                    }
                }
            }
        }
        m
    }

    /// The stages of one submission ([`STAGES`]; `None` where a stage does
    /// not occur), and whether it was forwarded; `None` when a moment of it
    /// is missing.
    fn stages(&self, s: &Sample) -> Option<([Option<Duration>; 11], bool)> {
        let span = |a: Instant, b: Instant| Some(b.saturating_duration_since(a));
        let &(answerer, read, written) = self.answered.get(&(s.slot, s.index))?;
        let (leader, accept_sent, ids) = self.accept.get(&s.slot)?;
        let leader = *leader;
        let forwarded = answerer != leader;
        let at_leader = match forwarded {
            true => *self.forward.get(&(leader, *ids.get(s.index)?))?,
            false => read,
        };
        let (sync_since, synced) = *self.accepted.get(&(leader, s.slot))?;
        let first_ack = *self.ack.get(&(leader, s.slot))?;
        let quorum = self.decided.get(&(leader, s.slot))?.0;
        let at_answerer = match forwarded {
            true => *self.commit.get(&(answerer, s.slot))?,
            false => quorum,
        };
        let &(a_since, archived, applied) = self.decided.get(&(answerer, s.slot))?;
        let stages = [
            span(s.sent, read),
            span(read, at_leader).filter(|_| forwarded),
            span(at_leader, quorum),
            span(sync_since, synced),
            span(*accept_sent, first_ack),
            span(quorum, at_answerer).filter(|_| forwarded),
            span(at_answerer, applied),
            span(a_since, archived),
            span(applied, written),
            span(written, s.got),
            span(s.sent, s.got),
        ];
        Some((stages, forwarded))
    }
}

/// The stages of every sample, from the probe's moments.
pub fn analyse(samples: &[Sample], seen: &[Seen]) -> Breakdown {
    let moments = Moments::index(seen);
    let mut b = Breakdown {
        rows: STAGES
            .iter()
            .map(|&(stage, nested)| Row {
                stage,
                nested,
                ..Row::default()
            })
            .collect(),
        ..Breakdown::default()
    };
    for s in samples {
        let Some((stages, forwarded)) = moments.stages(s) else {
            b.incomplete += 1;
            continue;
        };
        b.commits += 1;
        b.forwarded += usize::from(forwarded);
        for (row, d) in b.rows.iter_mut().zip(stages) {
            if let Some(d) = d {
                row.samples.push(d);
                row.sum += d;
            }
        }
    }
    for row in &mut b.rows {
        row.samples.sort();
    }
    b
}

impl Breakdown {
    /// The row of `stage` (a prefix of its name).
    pub fn row(&self, stage: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.stage.starts_with(stage))
    }

    /// The median commit.
    pub fn p50(&self) -> Duration {
        self.rows
            .get(TOTAL)
            .map_or(Duration::ZERO, |r| super::percentile(&r.samples, 50.0))
    }
}

impl std::fmt::Display for Breakdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        writeln!(
            f,
            "where a commit's time goes ({}): {} commits followed, {} of them forwarded to the leader{}",
            if self.serial { "--serial-leader-write" } else { "leader writes in parallel" },
            self.commits,
            self.forwarded,
            match self.incomplete {
                0 => String::new(),
                n => format!(", {n} left out (a moment not seen)"),
            }
        )?;
        writeln!(
            f,
            "{:<44} {:>7} {:>9} {:>9} {:>8}",
            "stage", "n", "p50 µs", "p90 µs", "share"
        )?;
        let total = self.rows.get(TOTAL).map_or(Duration::ZERO, |r| r.sum);
        for row in &self.rows {
            let share = 100.0 * row.sum.as_secs_f64() / total.as_secs_f64().max(1e-12);
            let (name, share) = match row.nested {
                true => (format!("  {}", row.stage), format!("({share:.0}%)")),
                false => (row.stage.to_string(), format!("{share:.0}%")),
            };
            writeln!(
                f,
                "{name:<44} {:>7} {:>9.0} {:>9.0} {share:>8}",
                row.samples.len(),
                us(super::percentile(&row.samples, 50.0)),
                us(super::percentile(&row.samples, 90.0)),
            )?;
        }
        if let Some(floor) = self.floor {
            let ratio = self.p50().as_secs_f64() / floor.total().as_secs_f64().max(1e-12);
            write!(
                f,
                "floor: loopback round trip p50 {:.0} µs + fdatasync of 4 KiB p50 {:.0} µs = {:.0} µs; \
                 commit p50 {:.0} µs = {ratio:.2} × the floor (issue 14's goal at C=1: ≤ 1.5)",
                us(floor.round_trip),
                us(floor.sync),
                us(floor.total()),
                us(self.p50()),
            )?;
        }
        Ok(())
    }
}

/// Measures the floor: loopback TCP round trips in this process and
/// fdatasyncs of a 4 KiB write in `dir` (medians).
pub async fn measure_floor(dir: &Path) -> anyhow::Result<Floor> {
    let round_trip = round_trip(1000).await?;
    let file = dir.join("floor.tmp");
    let sync = tokio::task::spawn_blocking(move || sync_4k(&file, 200)).await??;
    Ok(Floor { round_trip, sync })
}

/// The median of `n` 64-byte ping-pongs over a loopback TCP connection.
async fn round_trip(n: usize) -> anyhow::Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let echo = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 64];
        while s.read_exact(&mut buf).await.is_ok() {
            s.write_all(&buf).await?;
        }
        anyhow::Ok(())
    });
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut times = Vec::with_capacity(n);
    let mut buf = [7u8; 64];
    for _ in 0..n + 10 {
        let t = Instant::now();
        s.write_all(&buf).await?;
        s.read_exact(&mut buf).await?;
        times.push(t.elapsed());
    }
    drop(s);
    echo.await??;
    let mut times = times.split_off(10);
    times.sort();
    Ok(super::percentile(&times, 50.0))
}

/// The median of `n` times one 4 KiB write over the start of `file` and
/// its fdatasync (the file removed afterwards).
fn sync_4k(file: &Path, n: usize) -> anyhow::Result<Duration> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::File::create(file)?;
    let block = [0x5au8; 4096];
    let mut times = Vec::with_capacity(n);
    for i in 0..=n {
        let t = Instant::now();
        f.seek(SeekFrom::Start(0))?;
        f.write_all(&block)?;
        f.sync_data()?;
        // The first one allocates the block: not counted.
        if i > 0 {
            times.push(t.elapsed());
        }
    }
    drop(f);
    let _ = std::fs::remove_file(file);
    times.sort();
    Ok(super::percentile(&times, 50.0))
}

#[cfg(test)]
mod tests;
