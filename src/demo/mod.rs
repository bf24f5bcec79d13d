//! `tweettui demo`: a whole cluster in one process, on free loopback ports,
//! with fresh data dirs in a temporary directory, and the UI on site 0.
//!
//! The UI can show any site, crash one (its runtime stops, its data dir
//! stays), restart it from its data dir (it catches up, visibly), cut it off
//! from the others and heal it, and let the other sites tweet now and then.
//! Because every site runs here, the UI also checks safety live: no slot
//! may be decided with two different values on two sites
//! ([`SafetyCheck`]).
//!
//! The split stays the same as for one site: the [`Controller`] task owns
//! the runtimes and carries out [`DemoCmd`]s; the UI only renders and sends
//! commands, and hears back through [`DemoEvent`]s.
//!
//! `demo --step` ([`step`]) runs the same screen on the deterministic
//! engine instead: nothing moves until the user acts.

pub mod step;

use crate::config::Config;
use crate::site::api::{FaultSpec, Request, SiteClient, SiteEvent};
use crate::site::record::{self, Recorder, What};
use crate::site::runtime::{self, RunningSite, SiteOptions};
use crate::ui::links::Links;
use crate::ui::{DemoCmd, DemoEvent};
use anyhow::Context;
use rand::Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A fresh directory for the demo's data under the system's temp dir.
fn fresh_dir() -> anyhow::Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("tweettui-demo-{}-{nanos:x}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the demo dir {}", dir.display()))?;
    Ok(dir)
}

/// The demo's directory, to remove should the process end abruptly (a
/// panic ends it: see the UI's panic hook).
static REMOVE_ON_EXIT: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The panic path: the demo's directory is kept, not removed, so that its
/// log (`demo.log`) tells what happened; says where it is.
fn keep_dir_on_panic() {
    let dir = REMOVE_ON_EXIT.lock().ok().and_then(|mut d| d.take());
    if let Some(dir) = dir {
        let _ = writeln!(
            std::io::stderr(),
            "tweettui: the demo's data and its log are kept in {} (demo.log)",
            dir.display()
        );
    }
}

/// What `tweettui demo` was asked for.
#[derive(Clone, Debug, Default)]
pub struct DemoOptions {
    /// How many sites (1 to 7).
    pub sites: usize,
    /// Keep the data dirs on exit.
    pub keep: bool,
    /// Record every site's events to this file.
    pub record: Option<PathBuf>,
    /// Slow motion: every message is held back this long (0: off).
    pub slow_ms: u64,
    /// The data dirs go here, and stay (else a temp dir, removed on exit).
    pub data_dir: Option<PathBuf>,
    /// `--theme`.
    pub theme: Option<crate::ui::ThemeName>,
}

/// Slow motion's timeouts: a peer answers after two held-back messages,
/// so `timeout_ms` (the time a peer may take to answer) grows by four of
/// them: twice the round trip, as the default is many round trips. The
/// submit timeout keeps its ratio to it.
pub fn slowed(mut config: Config, slow_ms: u64) -> Config {
    let ratio = config.submit_timeout_ms / config.timeout_ms.max(1);
    config.timeout_ms = config.timeout_ms.saturating_add(slow_ms.saturating_mul(4));
    config.submit_timeout_ms = config.timeout_ms.saturating_mul(ratio.max(1));
    config
}

/// `tweettui demo`: runs the cluster and the UI until the UI quits.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let DemoOptions {
        sites,
        keep,
        record,
        slow_ms,
        data_dir,
        theme,
    } = opts;
    anyhow::ensure!(
        crate::ui::has_terminal(),
        "no terminal to draw the demo on (stdin and stdout must be one)"
    );
    let most = crate::config::LOOPBACK_NAMES.len();
    anyhow::ensure!(
        (1..=most).contains(&sites),
        "the demo runs 1 to {most} sites, not {sites}"
    );
    // TWEETTUI_SECRET: the demo's peers authenticate each other too.
    let config = slowed(Config::loopback(sites)?.with_env_secret()?, slow_ms);
    let recorder = Recorder::create_if(record.as_deref(), config.names())?;
    let keep = keep || data_dir.is_some();
    let dir = match data_dir {
        Some(d) => {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create the demo dir {}", d.display()))?;
            d
        }
        None => fresh_dir()?,
    };
    if !keep {
        if let Ok(mut d) = REMOVE_ON_EXIT.lock() {
            *d = Some(dir.clone());
        }
    }
    let result = run_in(config, &dir, recorder.clone(), slow_ms, theme).await;
    if let Some(r) = &recorder {
        record::report_end(r);
    }
    if keep {
        // Not eprintln!: it panics when the terminal is gone (SIGHUP).
        let _ = writeln!(
            std::io::stderr(),
            "tweettui: the demo's data dirs are kept in {}",
            dir.display()
        );
    } else {
        if let Ok(mut d) = REMOVE_ON_EXIT.lock() {
            d.take();
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            let _ = writeln!(
                std::io::stderr(),
                "tweettui: cannot remove {}: {e}",
                dir.display()
            );
        }
    }
    result
}

async fn run_in(
    config: Config,
    dir: &Path,
    recorder: Option<Recorder>,
    slow_ms: u64,
    theme: Option<crate::ui::ThemeName>,
) -> anyhow::Result<()> {
    let _log = crate::logs::to_file(dir, "demo.log")?;
    let names = config.names();
    // A config of the demo's ports, so that `ctl` can reach its sites.
    let config_file = dir.join("config.json");
    let text = serde_json::to_string_pretty(&config)?;
    std::fs::write(&config_file, text)
        .with_context(|| format!("cannot write {}", config_file.display()))?;
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (demo_tx, demo_rx) = mpsc::unbounded_channel();
    let tell = demo_tx.clone();
    let mut ctl = Controller::new(config, dir.to_path_buf(), ev_tx, demo_tx);
    ctl.recorder = recorder;
    ctl.slow_ms = slow_ms;
    let mut clients = Vec::new();
    for i in 0..names.len() {
        match ctl.start_site(i).await {
            Ok(c) => clients.push(Some(c)),
            Err(e) => {
                ctl.stop_all().await;
                return Err(e);
            }
        }
    }
    tracing::info!("demo: {} sites up, data in {}", names.len(), dir.display());
    let _ = tell.send(DemoEvent::Info(format!(
        "ctl reaches the demo's sites: tweettui ctl --config {} {} view",
        config_file.display(),
        names.last().map_or("alice", String::as_str)
    )));
    let ctl_task = tokio::spawn(ctl.run(cmd_rx));
    let setup = crate::ui::UiSetup {
        names,
        shown: 0,
        demo: true,
        clients,
        events: ev_rx,
        demo_cmds: Some(cmd_tx),
        demo_events: Some(demo_rx),
        on_fatal: Some(keep_dir_on_panic),
        log_file: Some(dir.join("demo.log")),
        theme,
    };
    // The UI ends (quit or error); dropping its command sender stops the
    // controller, which stops every site.
    let ui = crate::ui::run(setup).await;
    let stopped = ctl_task.await;
    ui?;
    stopped.context("the demo controller failed")?;
    Ok(())
}

/// Owns the demo's sites and carries out the UI's commands.
pub struct Controller {
    config: Config,
    dir: PathBuf,
    sites: Vec<Option<RunningSite>>,
    generation: Vec<u64>,
    /// The link matrix: the cut-offs and every other link down, each
    /// site's loss and delay (its filter, with slow motion's delay).
    links: Links,
    events: mpsc::UnboundedSender<(usize, SiteEvent)>,
    to_ui: mpsc::UnboundedSender<DemoEvent>,
    ended_tx: mpsc::UnboundedSender<(usize, u64)>,
    ended_rx: Option<mpsc::UnboundedReceiver<(usize, u64)>>,
    chatter: bool,
    shown: usize,
    chats: u64,
    /// Where every site's events are recorded (`demo --record`).
    pub recorder: Option<Recorder>,
    /// Slow motion: every message held back this long (`demo --slow`).
    pub slow_ms: u64,
}

/// What the other sites say when chatter is on.
const CHATTER: [&str; 12] = [
    "coffee first, consensus later ☕",
    "who moved my ballot?",
    "two phases, one log, zero servers",
    "my promise is on disk, I swear",
    "just acked a stranger's accept",
    "nack! someone has a higher ballot",
    "catching up on the log after lunch",
    "the leader is alive, long live the leader",
    "a quorum walks into a bar… most of them do",
    "no-op in slot 42, nothing to see",
    "majority rules, minority waits",
    "hello from the other site 👋",
];

impl Controller {
    pub fn new(
        config: Config,
        dir: PathBuf,
        events: mpsc::UnboundedSender<(usize, SiteEvent)>,
        to_ui: mpsc::UnboundedSender<DemoEvent>,
    ) -> Controller {
        let n = config.sites.len();
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        Controller {
            config,
            dir,
            sites: (0..n).map(|_| None).collect(),
            generation: vec![0; n],
            links: Links::new(n),
            events,
            to_ui,
            ended_tx,
            ended_rx: Some(ended_rx),
            chatter: false,
            shown: 0,
            chats: 0,
            recorder: None,
            slow_ms: 0,
        }
    }

    fn name(&self, i: usize) -> String {
        self.config.sites[i].name.clone()
    }

    /// Records a demo event of site `i` and shows it to the UI.
    fn see(&self, i: usize, what: What) {
        let ev = record::Event {
            t: record::now_ms(),
            site: i as u32,
            what,
        };
        if let Some(r) = &self.recorder {
            r.record(&ev);
        }
        let _ = self.events.send((i, SiteEvent::Seen(ev)));
    }

    /// Site `i`'s network filter: its part of the link matrix (the cut
    /// included), slow motion's delay added.
    fn fault_for(&self, i: usize) -> FaultSpec {
        let mut f = self.links.filters().swap_remove(i);
        f.delay_ms = f.delay_ms.saturating_add(self.slow_ms);
        f
    }

    /// Starts site `i` on its data dir and forwards its events, tagged.
    pub async fn start_site(&mut self, i: usize) -> anyhow::Result<SiteClient> {
        let name = self.name(i);
        let opts = SiteOptions {
            config: self.config.clone(),
            site: i as u32,
            data_dir: self.dir.join(&name),
            record: self.recorder.clone(),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let site = runtime::start(opts, Some(tx))
            .await
            .with_context(|| format!("site {name} cannot start"))?;
        self.generation[i] += 1;
        let generation = self.generation[i];
        let fwd = self.events.clone();
        let ended = self.ended_tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if fwd.send((i, ev)).is_err() {
                    break;
                }
            }
            let _ = ended.send((i, generation));
        });
        let client = site.client.clone();
        self.sites[i] = Some(site);
        if !self.fault_for(i).is_clear() {
            if let Err(e) = client.request(Request::Fault(self.fault_for(i))).await {
                let _ = self.to_ui.send(DemoEvent::Error(format!(
                    "cannot set the network filter of {} after its start: {e}",
                    self.name(i)
                )));
            }
        }
        Ok(client)
    }

    async fn crash(&mut self, i: usize) {
        let Some(site) = self.sites.get_mut(i).and_then(Option::take) else {
            return;
        };
        let reason = site.stop().await.err().map(|e| format!("{e:#}"));
        tracing::info!("demo: {} crashed", self.name(i));
        self.see(i, What::Crashed);
        let _ = self.to_ui.send(DemoEvent::Down { site: i, reason });
    }

    async fn restart(&mut self, i: usize) {
        if i >= self.sites.len() || self.sites[i].is_some() {
            return;
        }
        match self.start_site(i).await {
            Ok(client) => {
                tracing::info!("demo: {} restarted", self.name(i));
                self.see(i, What::Restarted);
                let _ = self.to_ui.send(DemoEvent::Up { site: i, client });
            }
            Err(e) => {
                let _ = self.to_ui.send(DemoEvent::Error(format!("{e:#}")));
            }
        }
    }

    /// Cuts site `i` off (every link of it down, both ways) or heals it
    /// (every link of it up): the link matrix follows.
    async fn cut_off(&mut self, i: usize, on: bool) {
        if i >= self.sites.len() {
            return;
        }
        let mut links = self.links.clone();
        links.cut_off(i, on);
        if self.set_links(links).await {
            self.see(i, if on { What::CutOff } else { What::Healed });
            let _ = self.to_ui.send(DemoEvent::CutOff { site: i, on });
        }
        let why = format!("{} {}", self.name(i), if on { "cut off" } else { "healed" });
        let links = self.links.clone();
        let _ = self.to_ui.send(DemoEvent::Links { links, why });
    }

    /// The link matrix as the user set it.
    async fn links(&mut self, links: Links, why: String) {
        if links.len() != self.sites.len() {
            return;
        }
        self.set_links(links).await;
        let links = self.links.clone();
        let _ = self.to_ui.send(DemoEvent::Links { links, why });
    }

    /// Takes `links` on, setting the filter of each running site whose
    /// part changed (the site records a `fault` event for each). `false`
    /// when a site refused: the matrix keeps what was set.
    async fn set_links(&mut self, links: Links) -> bool {
        let before: Vec<FaultSpec> = (0..self.sites.len()).map(|i| self.fault_for(i)).collect();
        self.links = links;
        let mut ok = true;
        for (i, old) in before.into_iter().enumerate() {
            let new = self.fault_for(i);
            let Some(site) = &self.sites[i] else { continue };
            if new == old {
                continue;
            }
            if let Err(e) = site.client.request(Request::Fault(new)).await {
                ok = false;
                let _ = self.to_ui.send(DemoEvent::Error(format!(
                    "cannot set the network filter of {}: {e}",
                    self.name(i)
                )));
            }
        }
        ok
    }

    /// One tweet from a random running site other than the shown one.
    fn chat(&mut self) {
        let live: Vec<usize> = (0..self.sites.len())
            .filter(|&i| i != self.shown && self.sites[i].is_some())
            .collect();
        if live.is_empty() {
            return;
        }
        let mut rng = rand::rng();
        let i = live[rng.random_range(0..live.len())];
        let Some(site) = &self.sites[i] else { return };
        self.chats += 1;
        let text = format!(
            "{} #{}",
            CHATTER[rng.random_range(0..CHATTER.len())],
            self.chats
        );
        let client = site.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.request(Request::Tweet(text)).await {
                tracing::info!("demo chatter: {e}");
            }
        });
    }

    fn next_chat() -> Instant {
        Instant::now() + Duration::from_millis(rand::rng().random_range(1000..2000))
    }

    /// Carries out commands until the UI goes away, then stops every site.
    pub async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<DemoCmd>) {
        let Some(mut ended) = self.ended_rx.take() else {
            return;
        };
        let mut chat_at = Self::next_chat();
        loop {
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => break,
                    Some(DemoCmd::Shown(i)) => self.shown = i,
                    Some(DemoCmd::Crash(i)) => self.crash(i).await,
                    Some(DemoCmd::Restart(i)) => self.restart(i).await,
                    Some(DemoCmd::CutOff { site, on }) => self.cut_off(site, on).await,
                    Some(DemoCmd::Links { links, why }) => self.links(links, why).await,
                    // Steps are for `demo --step` (`step.rs`).
                    Some(DemoCmd::Step(_)) => {}
                    Some(DemoCmd::Chatter(on)) => {
                        self.chatter = on;
                        chat_at = Self::next_chat();
                        let _ = self.to_ui.send(DemoEvent::Chatter(on));
                    }
                },
                Some((i, generation)) = ended.recv() => {
                    // A site whose events stopped although nobody crashed
                    // it: it stopped by itself (a fatal error).
                    if self.generation[i] == generation {
                        if let Some(site) = self.sites[i].take() {
                            let reason = match site.stop().await {
                                Ok(()) => "stopped".to_string(),
                                Err(e) => format!("{e:#}"),
                            };
                            let _ = self.to_ui.send(DemoEvent::Down { site: i, reason: Some(reason) });
                        }
                    }
                }
                _ = tokio::time::sleep_until(chat_at), if self.chatter => {
                    self.chat();
                    chat_at = Self::next_chat();
                }
            }
        }
        self.stop_all().await;
    }

    /// Stops every running site.
    pub async fn stop_all(&mut self) {
        let running: Vec<(usize, RunningSite)> = self
            .sites
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.take().map(|s| (i, s)))
            .collect();
        let stops = running.into_iter().map(|(i, s)| async move {
            if let Err(e) = s.stop().await {
                tracing::warn!("demo: site {i} stopped with an error: {e:#}");
            }
        });
        futures::future::join_all(stops).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic while the demo runs keeps its dir (and `demo.log` in it):
    /// the log is what tells what happened (it used to be removed).
    #[test]
    fn a_panic_keeps_the_demo_dir_and_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo");
        std::fs::create_dir_all(&demo).unwrap();
        std::fs::write(demo.join("demo.log"), "what happened").unwrap();
        *REMOVE_ON_EXIT.lock().unwrap() = Some(demo.clone());
        keep_dir_on_panic();
        assert!(demo.join("demo.log").exists());
        assert!(REMOVE_ON_EXIT.lock().unwrap().is_none());
    }

    /// Slow motion: a peer answers after two held-back messages, so the
    /// time a peer may take grows by four of them; the submit timeout keeps
    /// its ratio; 0 changes nothing.
    #[test]
    fn slow_motion_scales_the_timeouts_with_the_delay() {
        let base = Config::loopback(3).unwrap();
        assert_eq!(slowed(base.clone(), 0), base);
        let slow = slowed(base.clone(), 400);
        assert_eq!(slow.timeout_ms, base.timeout_ms + 1600);
        assert_eq!(
            slow.submit_timeout_ms / slow.timeout_ms,
            base.submit_timeout_ms / base.timeout_ms
        );
    }

    /// Every site's filter carries slow motion's delay, cut off or not.
    #[test]
    fn the_filter_holds_every_message_back_in_slow_motion() {
        let (ev, _) = mpsc::unbounded_channel();
        let (demo, _) = mpsc::unbounded_channel();
        let mut ctl = Controller::new(Config::loopback(3).unwrap(), PathBuf::new(), ev, demo);
        ctl.slow_ms = 250;
        assert_eq!(ctl.fault_for(1).delay_ms, 250);
        assert!(ctl.fault_for(1).drop_to.is_empty());
        ctl.links.cut_off(1, true);
        let cut = ctl.fault_for(1);
        assert_eq!(
            (cut.delay_ms, cut.drop_to, cut.drop_from),
            (250, vec![0, 2], vec![0, 2])
        );
    }
}
