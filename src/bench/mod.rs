//! `tweettui bench`: the load benchmark.
//!
//! Closed-loop clients each hold one control connection (to the sites in
//! turn, so forwarding to the leader is part of what is measured) and submit
//! tweets one after another for a fixed time. Every answer is a decided,
//! durably stored and applied operation, so the numbers are end to end:
//! control protocol, consensus across sites over loopback TCP, fsync.
//!
//! By default it starts its own cluster in this process (fresh data dirs in
//! a temp dir, removed afterwards); `--remote` measures sites that are
//! already running, found through the config. `--breakdown` splits each
//! commit's latency into its stages (see [`breakdown`]).

pub mod breakdown;
pub mod catchup;
mod etcd;

use self::breakdown::{Breakdown, Sample, StageArgs};
use crate::config::{Config, Secret};
use crate::site::probe::{BenchHooks, Probe};
use crate::site::runtime::{self, RunningSite, SiteOptions};
use anyhow::Context;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::codec::{Framed, LinesCodec};

#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Sites of the in-process cluster.
    pub sites: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// How long to submit.
    pub seconds: u64,
    /// Characters per tweet.
    pub size: usize,
    /// Measure these running sites instead of starting a cluster.
    pub remote: Option<Config>,
    /// The secret of the cluster it starts (`TWEETTUI_SECRET`): its peer
    /// connections are then authenticated.
    pub secret: Option<Secret>,
    /// Measure an etcd cluster at these endpoints instead (`--target etcd`).
    pub etcd: Option<Vec<String>>,
    /// Submit until this many tweets are decided (instead of for
    /// `seconds`) and report each tenth of them apart: how latency
    /// follows the length of the history (`--history N`).
    pub history: Option<u64>,
    /// `--breakdown`, `--serial-leader-write`.
    pub stages: StageArgs,
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub sites: usize,
    pub clients: usize,
    /// The cluster started had a secret.
    pub authenticated: bool,
    pub done: u64,
    pub unavailable: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies of the operations done, sorted.
    pub latencies: Vec<Duration>,
    /// With `--history`: each operation's latency by the order it was
    /// answered in (0 = first), for the per-tenth rows.
    pub answered: Vec<(u64, Duration)>,
    /// With `--history`: how many tweets make the whole run.
    pub history: Option<u64>,
    /// With `--breakdown`: each answer as its client saw it.
    pub samples: Vec<Sample>,
    /// With `--breakdown`: the stages.
    pub breakdown: Option<Breakdown>,
}

impl Report {
    /// Adds one client's counts and latencies (sorted later, once).
    pub fn absorb(&mut self, part: Report) {
        self.done += part.done;
        self.unavailable += part.unavailable;
        self.errors += part.errors;
        self.latencies.extend(part.latencies);
        self.answered.extend(part.answered);
        self.samples.extend(part.samples);
    }

    pub fn throughput(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    /// With `--history N`: one row per tenth of the N tweets, in the order
    /// they were answered (so the last row is measured over the longest
    /// history): (tweets answered before the tenth, p50, p99, max).
    pub fn tenths(&self) -> Vec<(u64, Duration, Duration, Duration)> {
        let Some(total) = self.history.filter(|&n| n >= 10) else {
            return Vec::new();
        };
        let tenth = total / 10;
        let mut rows: Vec<Vec<Duration>> = vec![Vec::new(); 10];
        for &(i, latency) in &self.answered {
            let row = usize::try_from(i / tenth).map_or(9, |r| r.min(9));
            rows[row].push(latency);
        }
        rows.into_iter()
            .enumerate()
            .map(|(r, mut lat)| {
                lat.sort();
                let max = lat.last().copied().unwrap_or_default();
                (
                    r as u64 * tenth,
                    percentile(&lat, 50.0),
                    percentile(&lat, 99.0),
                    max,
                )
            })
            .collect()
    }
}

/// The `p`th percentile of sorted latencies (zero for none).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "{} sites{}, {} clients, {:.1} s: {} tweets decided ({:.0}/s), {} answered 503, {} other errors",
            self.sites,
            if self.authenticated { " (authenticated)" } else { "" },
            self.clients,
            self.elapsed.as_secs_f64(),
            self.done,
            self.throughput(),
            self.unavailable,
            self.errors
        )?;
        write!(
            f,
            "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied().unwrap_or_default())
        )?;
        for (before, p50, p99, max) in self.tenths() {
            write!(
                f,
                "\n  after {before:>9} tweets: p50 {:.2}  p99 {:.2}  max {:.2}",
                ms(p50),
                ms(p99),
                ms(max)
            )?;
        }
        if let Some(b) = &self.breakdown {
            write!(f, "\n{b}")?;
        }
        Ok(())
    }
}

/// Runs the benchmark and returns what it measured.
pub async fn run(opts: BenchOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.clients >= 1, "--clients must be at least 1");
    anyhow::ensure!(
        (1..=280).contains(&opts.size),
        "--size must be 1 to 280 characters"
    );
    let hooks = hooks(&opts)?;
    if let Some(endpoints) = &opts.etcd {
        return etcd::measure(&opts, endpoints).await;
    }
    let (config, cluster) = match &opts.remote {
        Some(config) => (config.clone(), None),
        None => {
            anyhow::ensure!((1..=7).contains(&opts.sites), "--sites must be 1 to 7");
            let mut config = Config::loopback(opts.sites)?;
            config.secret = opts.secret.clone();
            let cluster = LocalCluster::start(&config, &hooks).await?;
            (config, Some(cluster))
        }
    };
    let mut targets = Vec::new();
    for site in &config.sites {
        targets.push(SocketAddr::from(([127, 0, 0, 1], site.control_port()?)));
    }
    let probe = cluster.as_ref().map(|c| (&hooks.probe, c.dir.as_path()));
    let result = measure(&opts, &targets, probe).await;
    if let Some(cluster) = cluster {
        cluster.stop().await;
    }
    let mut report = result?;
    report.sites = config.sites.len();
    report.authenticated = opts.remote.is_none() && opts.secret.is_some();
    Ok(report)
}

/// What the bench asks of the sites it starts, after checking that its
/// switches fit the rest of the command.
fn hooks(opts: &BenchOptions) -> anyhow::Result<BenchHooks> {
    let StageArgs {
        breakdown,
        serial_leader_write,
    } = opts.stages;
    if breakdown || serial_leader_write {
        anyhow::ensure!(
            opts.remote.is_none() && opts.etcd.is_none(),
            "--breakdown and --serial-leader-write work on the cluster the bench starts in \
             its own process only (its sites note the moments of each commit), not with \
             --remote or --target etcd"
        );
    }
    anyhow::ensure!(
        !breakdown || opts.sites >= 2,
        "--breakdown needs at least 2 sites (its stages are between sites)"
    );
    Ok(BenchHooks {
        probe: if breakdown {
            Probe::on()
        } else {
            Probe::default()
        },
        serial_leader_write,
    })
}

/// Runs the clients against `targets`; with `probe` (`--breakdown`: the
/// sites' probe and the cluster's data dir), measures the floor before and
/// after the load and the stages of every commit.
async fn measure(
    opts: &BenchOptions,
    targets: &[SocketAddr],
    probe: Option<(&Probe, &std::path::Path)>,
) -> anyhow::Result<Report> {
    // Wait until every site answers (and one tweet goes through, so the
    // first election is not part of the numbers).
    let first = targets[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ok = crate::site::control::call(first, "tweet", serde_json::json!("warm-up"))
            .await
            .is_ok_and(|r| r.is_ok());
        if ok {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the cluster does not decide (is a majority of its sites running?)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let probe = probe.filter(|(p, _)| p.is_on());
    let floor = match probe {
        Some((p, dir)) => {
            let floor = breakdown::measure_floor(dir).await?;
            p.take();
            Some(floor)
        }
        None => None,
    };
    let text: String = "x".repeat(opts.size);
    let start = Instant::now();
    let until = match opts.history {
        Some(n) => Until::Answered(n, Arc::new(AtomicU64::new(0))),
        None => Until::Time(start + Duration::from_secs(opts.seconds)),
    };
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let addr = targets[c % targets.len()];
        let text = text.clone();
        let until = until.clone();
        let keep = floor.is_some();
        tasks.push(tokio::spawn(async move {
            client(addr, text, until, keep).await
        }));
    }
    let mut report = Report {
        clients: opts.clients,
        history: opts.history,
        ..Report::default()
    };
    for t in tasks {
        report.absorb(t.await.context("a client task failed")??);
    }
    report.elapsed = start.elapsed();
    report.latencies.sort();
    if let Some((p, dir)) = probe {
        let mut b = breakdown::analyse(&report.samples, &p.take());
        let after = breakdown::measure_floor(dir).await?;
        b.floor = floor.map(|before| before.min(after));
        b.serial = opts.stages.serial_leader_write;
        report.breakdown = Some(b);
    }
    Ok(report)
}

/// When the clients stop.
#[derive(Clone, Debug)]
enum Until {
    /// At this time (`--seconds`).
    Time(Instant),
    /// Once this many tweets were answered, all clients together
    /// (`--history`); the counter numbers the answers.
    Answered(u64, Arc<AtomicU64>),
}

impl Until {
    fn reached(&self) -> bool {
        match self {
            Until::Time(end) => Instant::now() >= *end,
            Until::Answered(n, count) => count.load(Ordering::Relaxed) >= *n,
        }
    }
}

/// One closed-loop client; `keep`: it keeps a [`Sample`] of each answer.
async fn client(
    addr: SocketAddr,
    text: String,
    until: Until,
    keep: bool,
) -> anyhow::Result<Report> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    stream.set_nodelay(true)?;
    let mut lines = Framed::new(stream, LinesCodec::new());
    let request = serde_json::json!({"head": "tweet", "body": text}).to_string();
    let mut part = Report::default();
    while !until.reached() {
        let sent = Instant::now();
        lines.send(request.clone()).await?;
        let Some(answer) = lines.next().await else {
            anyhow::bail!("{addr} closed the connection");
        };
        let answer: serde_json::Value = serde_json::from_str(&answer?)?;
        match answer["stat"].as_u64() {
            Some(200) => {
                let latency = sent.elapsed();
                if keep {
                    part.samples.push(sample(sent, &answer["body"])?);
                }
                part.done += 1;
                part.latencies.push(latency);
                if let Until::Answered(_, count) = &until {
                    part.answered
                        .push((count.fetch_add(1, Ordering::Relaxed), latency));
                }
            }
            Some(503) => part.unavailable += 1,
            _ => part.errors += 1,
        }
    }
    Ok(part)
}

/// What a client keeps of an answer sent at `sent` with `body`.
fn sample(sent: Instant, body: &serde_json::Value) -> anyhow::Result<Sample> {
    let got = Instant::now();
    let slot = body["slot"].as_u64();
    let index = body["index"].as_u64().and_then(|i| usize::try_from(i).ok());
    let (Some(slot), Some(index)) = (slot, index) else {
        anyhow::bail!("an answer without its slot and index: {body}");
    };
    Ok(Sample {
        sent,
        got,
        slot,
        index,
    })
}

/// Sites started in this process, each with a data dir in one temp dir.
struct LocalCluster {
    dir: PathBuf,
    sites: Vec<RunningSite>,
}

impl LocalCluster {
    /// Starts every site of `config`, each with `hooks`.
    async fn start(config: &Config, hooks: &BenchHooks) -> anyhow::Result<LocalCluster> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("tweettui-bench-{}-{nanos}", std::process::id()));
        let mut cluster = LocalCluster {
            dir: dir.clone(),
            sites: Vec::new(),
        };
        for (i, site) in config.sites.iter().enumerate() {
            let opts = SiteOptions {
                config: config.clone(),
                site: i as u32,
                data_dir: dir.join(&site.name),
                record: None,
            };
            match runtime::start_with(opts, None, hooks.clone()).await {
                Ok(running) => cluster.sites.push(running),
                Err(e) => {
                    cluster.stop().await;
                    return Err(e);
                }
            }
        }
        Ok(cluster)
    }

    async fn stop(self) {
        for site in self.sites {
            let _ = site.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_short_bench_decides_tweets_on_a_local_cluster() {
        for secret in [None, Secret::new("bench")] {
            let report = run(BenchOptions {
                sites: 3,
                clients: 4,
                seconds: 1,
                size: 20,
                remote: None,
                etcd: None,
                secret: secret.clone(),
                history: None,
                stages: StageArgs::default(),
            })
            .await
            .expect("bench");
            assert!(report.done > 0, "{report}");
            assert_eq!(report.errors, 0, "{report}");
            assert_eq!(report.authenticated, secret.is_some());
            assert_eq!(report.latencies.len() as u64, report.done);
            assert!(report.percentile(50.0) <= report.percentile(99.0));
        }
    }

    /// `--breakdown` on a 1-second run: every stage has samples (clients
    /// on every site, so some are forwarded), and the floor is measured.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_breakdown_bench_sees_every_stage() {
        for serial_leader_write in [false, true] {
            let report = run(BenchOptions {
                sites: 3,
                clients: 3,
                seconds: 1,
                size: 20,
                remote: None,
                etcd: None,
                secret: None,
                history: None,
                stages: StageArgs {
                    breakdown: true,
                    serial_leader_write,
                },
            })
            .await
            .expect("bench");
            let b = report.breakdown.as_ref().expect("a breakdown");
            assert!(b.commits > 0 && b.forwarded > 0, "{report}");
            for row in &b.rows {
                assert!(
                    !row.samples.is_empty(),
                    "no samples of {}: {report}",
                    row.stage
                );
            }
            let floor = b.floor.expect("the floor");
            assert!(floor.round_trip > Duration::ZERO && floor.sync > Duration::ZERO);
            assert_eq!(b.serial, serial_leader_write);
            assert!(report.to_string().contains("× the floor"), "{report}");
        }
    }

    #[tokio::test]
    async fn breakdown_is_refused_where_it_cannot_see_the_sites() {
        let opts = BenchOptions {
            sites: 3,
            clients: 1,
            seconds: 1,
            size: 20,
            remote: None,
            etcd: Some(vec!["http://127.0.0.1:1".into()]),
            secret: None,
            history: None,
            stages: StageArgs {
                breakdown: true,
                serial_leader_write: false,
            },
        };
        let err = run(opts.clone()).await.expect_err("etcd").to_string();
        assert!(err.contains("not with --remote or --target etcd"), "{err}");
        let remote = BenchOptions {
            etcd: None,
            remote: Some(Config::loopback(3).unwrap()),
            ..opts.clone()
        };
        let err = run(remote).await.expect_err("remote").to_string();
        assert!(err.contains("not with --remote or --target etcd"), "{err}");
        let one = BenchOptions {
            etcd: None,
            sites: 1,
            ..opts
        };
        let err = run(one).await.expect_err("one site").to_string();
        assert!(err.contains("at least 2 sites"), "{err}");
    }

    #[test]
    fn percentiles_pick_from_the_sorted_latencies() {
        let r = Report {
            done: 100,
            latencies: (1..=100).map(Duration::from_millis).collect(),
            elapsed: Duration::from_secs(2),
            ..Report::default()
        };
        assert_eq!(r.percentile(50.0), Duration::from_millis(51));
        assert_eq!(r.percentile(99.0), Duration::from_millis(99));
        assert_eq!(r.throughput(), 50.0);
    }

    #[test]
    fn history_rows_are_tenths_in_the_order_answered() {
        // 100 answers: the k-th took k ms, so each tenth has its own range.
        let r = Report {
            history: Some(100),
            answered: (0..100).map(|i| (i, Duration::from_millis(i))).collect(),
            ..Report::default()
        };
        let rows = r.tenths();
        assert_eq!(rows.len(), 10);
        assert_eq!(rows[0].0, 0);
        assert_eq!(rows[9].0, 90);
        // The last tenth: answers 90..=99.
        assert_eq!(rows[9].3, Duration::from_millis(99));
        assert_eq!(rows[9].1, Duration::from_millis(95));
        // Answers past N (clients finishing their last request) go to the last row.
        let mut late = r.clone();
        late.answered.push((103, Duration::from_millis(500)));
        assert_eq!(late.tenths()[9].3, Duration::from_millis(500));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_history_bench_stops_after_its_tweets() {
        let report = run(BenchOptions {
            sites: 3,
            clients: 2,
            seconds: 0,
            size: 20,
            remote: None,
            etcd: None,
            secret: None,
            history: Some(50),
            stages: StageArgs::default(),
        })
        .await
        .expect("bench");
        // Each client may finish the request it had in flight.
        assert!((50..=52).contains(&report.done), "{report}");
        assert_eq!(report.tenths().len(), 10);
        assert!(
            report.to_string().contains("after        45 tweets"),
            "{report}"
        );
    }
}
