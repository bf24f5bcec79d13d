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
//! already running, found through the config.

pub mod catchup;
mod etcd;

use crate::config::{Config, Secret};
use crate::site::runtime::{self, RunningSite, SiteOptions};
use anyhow::Context;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::PathBuf;
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
}

impl Report {
    /// Adds one client's counts and latencies (sorted later, once).
    pub fn absorb(&mut self, part: Report) {
        self.done += part.done;
        self.unavailable += part.unavailable;
        self.errors += part.errors;
        self.latencies.extend(part.latencies);
    }

    pub fn throughput(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * (self.latencies.len() - 1) as f64).round() as usize;
        self.latencies[rank.min(self.latencies.len() - 1)]
    }
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
        )
    }
}

/// Runs the benchmark and returns what it measured.
pub async fn run(opts: BenchOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(opts.clients >= 1, "--clients must be at least 1");
    anyhow::ensure!(
        (1..=280).contains(&opts.size),
        "--size must be 1 to 280 characters"
    );
    if let Some(endpoints) = &opts.etcd {
        return etcd::measure(&opts, endpoints).await;
    }
    let (config, cluster) = match &opts.remote {
        Some(config) => (config.clone(), None),
        None => {
            anyhow::ensure!((1..=7).contains(&opts.sites), "--sites must be 1 to 7");
            let mut config = Config::loopback(opts.sites)?;
            config.secret = opts.secret.clone();
            let cluster = LocalCluster::start(&config).await?;
            (config, Some(cluster))
        }
    };
    let mut targets = Vec::new();
    for site in &config.sites {
        targets.push(SocketAddr::from(([127, 0, 0, 1], site.control_port()?)));
    }
    let result = measure(&opts, &targets).await;
    if let Some(cluster) = cluster {
        cluster.stop().await;
    }
    let mut report = result?;
    report.sites = config.sites.len();
    report.authenticated = opts.remote.is_none() && opts.secret.is_some();
    Ok(report)
}

async fn measure(opts: &BenchOptions, targets: &[SocketAddr]) -> anyhow::Result<Report> {
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
    let text: String = "x".repeat(opts.size);
    let start = Instant::now();
    let end = start + Duration::from_secs(opts.seconds);
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let addr = targets[c % targets.len()];
        let text = text.clone();
        tasks.push(tokio::spawn(async move { client(addr, text, end).await }));
    }
    let mut report = Report {
        clients: opts.clients,
        ..Report::default()
    };
    for t in tasks {
        report.absorb(t.await.context("a client task failed")??);
    }
    report.elapsed = start.elapsed();
    report.latencies.sort();
    Ok(report)
}

async fn client(addr: SocketAddr, text: String, end: Instant) -> anyhow::Result<Report> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    stream.set_nodelay(true)?;
    let mut lines = Framed::new(stream, LinesCodec::new());
    let request = serde_json::json!({"head": "tweet", "body": text}).to_string();
    let mut part = Report::default();
    while Instant::now() < end {
        let sent = Instant::now();
        lines.send(request.clone()).await?;
        let Some(answer) = lines.next().await else {
            anyhow::bail!("{addr} closed the connection");
        };
        let answer: serde_json::Value = serde_json::from_str(&answer?)?;
        match answer["stat"].as_u64() {
            Some(200) => {
                part.done += 1;
                part.latencies.push(sent.elapsed());
            }
            Some(503) => part.unavailable += 1,
            _ => part.errors += 1,
        }
    }
    Ok(part)
}

/// Sites started in this process, each with a data dir in one temp dir.
struct LocalCluster {
    dir: PathBuf,
    sites: Vec<RunningSite>,
}

impl LocalCluster {
    async fn start(config: &Config) -> anyhow::Result<LocalCluster> {
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
            match runtime::start(opts, None).await {
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
}
