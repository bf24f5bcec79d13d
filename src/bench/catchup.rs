//! `tweettui bench --catch-up N`: how fast a site that was down catches up.
//!
//! It starts a 3-site cluster in this process, stops one site, has clients
//! submit tweets until the others' decided log has grown by `N` slots
//! (batching may put several tweets in one slot: slots are counted, not
//! tweets), restarts the stopped site on its data dir and measures two
//! things separately: how long it takes to start (open its data dir and
//! recover, `runtime::start`), and how long from then until its decided
//! prefix reaches the others'.

use super::LocalCluster;
use crate::config::{Config, Secret};
use crate::site::api::{Answer, Request, SiteClient};
use crate::site::runtime::{self, SiteOptions};
use anyhow::Context;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The site that is stopped and caught up: not site 0, which wins the
/// first election (so the cluster keeps its leader while it is down).
const BEHIND: usize = 2;

#[derive(Clone, Debug)]
pub struct CatchUpOptions {
    /// Slots the log grows by while the site is down.
    pub slots: u64,
    /// Concurrent clients that grow the log.
    pub clients: usize,
    /// Characters per tweet.
    pub size: usize,
    pub secret: Option<Secret>,
    /// How long the site may take to catch up before the run fails.
    pub deadline: Duration,
}

/// What one catch-up run measured.
#[derive(Clone, Debug, Default)]
pub struct CatchUpReport {
    /// The stopped site's decided prefix when it restarted.
    pub from: u64,
    /// The others' decided prefix it had to reach.
    pub to: u64,
    /// Tweets decided while it was down (to show how full the slots were).
    pub tweets: u64,
    /// How long the log took to grow.
    pub grow: Duration,
    /// Opening its data dir and recovering (`runtime::start`).
    pub load: Duration,
    /// From started to caught up.
    pub catch_up: Duration,
    /// From started until its prefix first moved (reconnecting, learning
    /// how far the log goes, the first answer).
    pub first_progress: Duration,
}

impl CatchUpReport {
    pub fn slots(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }

    pub fn slots_per_second(&self) -> f64 {
        self.slots() as f64 / self.catch_up.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for CatchUpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "log grown by {} slots ({} tweets) in {:.1} s while site {BEHIND} was down",
            self.slots(),
            self.tweets,
            self.grow.as_secs_f64()
        )?;
        writeln!(
            f,
            "restart (open data dir, recover): {:.3} s",
            self.load.as_secs_f64()
        )?;
        write!(
            f,
            "catch-up of slots {}..{}: {:.3} s ({:.0} slots/s; the first slot after {:.3} s)",
            self.from,
            self.to,
            self.catch_up.as_secs_f64(),
            self.slots_per_second(),
            self.first_progress.as_secs_f64()
        )
    }
}

/// Runs one catch-up measurement.
pub async fn run(opts: CatchUpOptions) -> anyhow::Result<CatchUpReport> {
    anyhow::ensure!(opts.slots >= 1, "--catch-up must be at least 1 slot");
    anyhow::ensure!(opts.clients >= 1, "--clients must be at least 1");
    anyhow::ensure!(
        (1..=280).contains(&opts.size),
        "--size must be 1 to 280 characters"
    );
    let mut config = Config::loopback(3)?;
    config.secret = opts.secret.clone();
    let mut cluster =
        LocalCluster::start(&config, &crate::site::probe::BenchHooks::default()).await?;
    let result = measure(&opts, &config, &mut cluster).await;
    cluster.stop().await;
    result
}

async fn measure(
    opts: &CatchUpOptions,
    config: &Config,
    cluster: &mut LocalCluster,
) -> anyhow::Result<CatchUpReport> {
    let clients: Vec<SiteClient> = cluster.sites.iter().map(|s| s.client.clone()).collect();
    // One tweet decided: the first election is over (site 0 leads).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(
        clients[0].request(Request::Tweet("warm-up".into())).await,
        Ok(Answer::Decided { .. })
    ) {
        anyhow::ensure!(Instant::now() < deadline, "the cluster does not decide");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let behind = cluster.sites.remove(BEHIND);
    behind.stop().await.context("cannot stop the site")?;

    let start = decided(&clients[0]).await?;
    let target = start.saturating_add(opts.slots);
    let grow_started = Instant::now();
    let tweets = grow(opts, &clients[..BEHIND], target).await?;
    let grow = grow_started.elapsed();
    // Every submission is answered: the log is still now. Catch up to the
    // furthest of the sites that stayed up.
    let mut to = 0;
    for c in &clients[..BEHIND] {
        to = to.max(decided(c).await?);
    }

    let site_cfg = &config.sites[BEHIND];
    let opts_behind = SiteOptions {
        config: config.clone(),
        site: BEHIND as u32,
        data_dir: cluster.dir.join(&site_cfg.name),
        record: None,
    };
    let started = Instant::now();
    let running = runtime::start(opts_behind, None).await?;
    let load = started.elapsed();
    let client = running.client.clone();
    cluster.sites.push(running);
    let from = decided(&client).await?;
    let started = Instant::now();
    let deadline = started + opts.deadline;
    let mut first_progress = None;
    let trace = std::env::var_os("TWEETTUI_BENCH_TRACE").is_some();
    let mut last = from;
    loop {
        let now = decided(&client).await?;
        if now > from && first_progress.is_none() {
            first_progress = Some(started.elapsed());
        }
        if trace && now != last {
            eprintln!("{:8.3} ms  {now}", started.elapsed().as_secs_f64() * 1e3);
            last = now;
        }
        if now >= to {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "site {BEHIND} did not catch up within {:?}: at slot {now} of {to}",
            opts.deadline
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(CatchUpReport {
        from,
        to,
        tweets,
        grow,
        load,
        catch_up: started.elapsed(),
        first_progress: first_progress.unwrap_or_default(),
    })
}

/// The site's decided prefix.
async fn decided(client: &SiteClient) -> anyhow::Result<u64> {
    match client.request(Request::Status).await {
        Ok(Answer::Status(s)) => Ok(s.decided),
        other => anyhow::bail!("no status: {other:?}"),
    }
}

/// Closed-loop clients on `sites` tweet until site 0's decided prefix
/// reaches `target`; returns how many tweets were decided.
async fn grow(opts: &CatchUpOptions, sites: &[SiteClient], target: u64) -> anyhow::Result<u64> {
    let done = Arc::new(AtomicBool::new(false));
    let text = "x".repeat(opts.size);
    let mut tasks = Vec::new();
    for c in 0..opts.clients {
        let client = sites[c % sites.len()].clone();
        let (done, text) = (Arc::clone(&done), text.clone());
        tasks.push(tokio::spawn(async move {
            let mut decided = 0u64;
            while !done.load(Ordering::Relaxed) {
                if let Ok(Answer::Decided { .. }) =
                    client.request(Request::Tweet(text.clone())).await
                {
                    decided += 1;
                }
            }
            decided
        }));
    }
    let result = async {
        loop {
            if decided(&sites[0]).await? >= target {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    .await;
    done.store(true, Ordering::Relaxed);
    let mut tweets = 0;
    for t in tasks {
        tweets += t.await.context("a client task failed")?;
    }
    result.map(|()| tweets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The measurement runs end to end: a site down for a few hundred slots
    /// restarts and reaches the others (no timing is asserted).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_site_catches_up_and_the_report_says_how_fast() {
        let report = run(CatchUpOptions {
            slots: 300,
            clients: 8,
            size: 20,
            secret: None,
            deadline: Duration::from_secs(60),
        })
        .await
        .expect("catch-up bench");
        assert!(report.to >= report.from + 300, "{report}");
        assert!(report.tweets > 0, "{report}");
        assert!(report.catch_up > Duration::ZERO, "{report}");
    }
}
