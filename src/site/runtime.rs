//! The site runtime: one task owns the consensus core, the storage and the
//! replicated state, and turns the core's outputs into disk writes, network
//! sends, answers and UI events.
//!
//! Inputs come from three channels (peer messages, requests, a tick timer)
//! in one `tokio::select!` loop. The messages that are ready are handled in
//! one batch and their records made durable with one sync (group commit);
//! the sync runs on tokio's blocking pool so it never stalls the network
//! tasks. What announces none of the records (a leader's accepts and
//! commits) leaves before the sync, so the followers write in parallel with
//! the leader; everything else leaves only after it (a promise or an ack
//! never goes out before the state it announces is on disk), and the
//! leader's own ack is handed back to the core then (its vote counts once
//! durable).

use self::disk::{recover, Recovery, Stall};
use self::durable::Settle;
use self::overlap::Reading;
use self::sink::Sink;
use super::api::{
    Answer, FaultSpec, PeerStatus, Refusal, Reply, Request, SiteClient, SiteEvent, Status,
};
use super::control;
use super::probe::BenchHooks;
use super::record::{self, Recorder, What};
use crate::config::Config;
use crate::net::{self, NetConfig, NetEvent, NetHandle, PeerAddr};
use crate::paxos::{
    Completion, Core, CoreConfig, DecidedEntry, Durability, Input, Message, Output, Record,
    ServeRequest, SiteId, Slot, TraceEvent,
};
use crate::state::op::{Command, Op, OpId, Value};
use crate::state::{rules, ApplyError, State};
use crate::storage::{ArchiveReader, Identity, Store};
use anyhow::{anyhow, Context};
use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;

mod checkpoint;
mod disk;
mod durable;
mod log;
mod overlap;
mod requests;
mod sink;

/// Decided slots between two checkpoints of the replicated state.
pub const CHECKPOINT_EVERY: u64 = 1000;

/// Peer messages handled in one batch (one sync) at most.
const MAX_BATCH: usize = 512;

/// Bytes of decided values in one catch-up answer read from storage: half
/// the 1 MiB wire limit (SPEC 7), so a value or two more still fits.
const SERVE_BYTES: usize = 512 * 1024;

/// Bytes of stored values one `log` answer reads at most (at least one
/// slot), so a page of large batches stays a few MiB.
const LOG_PAGE_BYTES: usize = 4 << 20;

/// Bytes of stored values in one chunk of a streamed `log` (at least one
/// slot). Smaller than a page: a chunk only bounds what a connection holds
/// (three chunks at most, each several times its stored bytes once decoded
/// and turned into rows), and a slot grown under load holds about 24
/// tweets, so a 4 MiB chunk of 1,000 slots held 110 MB at the peak while
/// the whole log of 1,000,000 tweets was sent.
const LOG_CHUNK_BYTES: usize = 1 << 20;

/// `log` answers being read from the archive at once, at most (more wait).
const LOG_READERS: usize = 2;

/// How to run one site.
#[derive(Clone, Debug)]
pub struct SiteOptions {
    pub config: Config,
    pub site: SiteId,
    pub data_dir: PathBuf,
    /// Where to record this site's events (`--record`), if anywhere.
    pub record: Option<Recorder>,
}

/// A running site: talk to it with `client`, stop it with [`RunningSite::stop`].
pub struct RunningSite {
    pub client: SiteClient,
    pub control_addr: SocketAddr,
    pub peer_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    control: JoinHandle<()>,
}

impl RunningSite {
    /// Stops the site cleanly: the loop ends, storage is closed (the data
    /// dir lock is released), the ports are freed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.control.abort();
        let _ = (&mut self.control).await;
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(anyhow!("the site task failed: {e}")),
        }
    }

    /// Waits until the site stops by itself (a fatal error).
    pub async fn finished(&mut self) -> anyhow::Result<()> {
        match (&mut self.task).await {
            Ok(result) => result,
            Err(e) => Err(anyhow!("the site task failed: {e}")),
        }
    }
}

fn resolve(addr: &str, port: u16) -> anyhow::Result<SocketAddr> {
    (addr, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {addr}:{port}"))?
        .next()
        .ok_or_else(|| anyhow!("{addr}:{port} resolves to no address"))
}

/// Starts a site: opens its data dir, binds its peer and control ports and
/// spawns its runtime. `events`, when given, receives the UI's events.
pub async fn start(
    opts: SiteOptions,
    events: Option<mpsc::UnboundedSender<SiteEvent>>,
) -> anyhow::Result<RunningSite> {
    start_with(opts, events, BenchHooks::default()).await
}

/// [`start`], with what `tweettui bench` asks of the site.
pub async fn start_with(
    opts: SiteOptions,
    events: Option<mpsc::UnboundedSender<SiteEvent>>,
    hooks: BenchHooks,
) -> anyhow::Result<RunningSite> {
    let config = opts.config.clone();
    let me = opts.site;
    let site_cfg = config
        .sites
        .get(me as usize)
        .ok_or_else(|| anyhow!("site {me} is not in the config"))?
        .clone();
    let names: Vec<String> = config.sites.iter().map(|s| s.name.clone()).collect();

    let r: Recovery = recover(&opts, &names, &site_cfg.name).await?;
    let (store, state, mut core, applied) = (r.store, r.state, r.core, r.applied);
    // Nobody reads the messages and summaries of the trace of a headless
    // site without a recording (its membership changes are still logged).
    core.set_trace_detail(opts.record.is_some() || events.is_some());
    let archive = Arc::new(store.archive_reader()?);
    let (inbound_tx, inbound_rx) = mpsc::channel(4096);
    let net = start_net(&opts, inbound_tx).await?;
    let peer_addr = net.local_addr();
    let sink = Sink {
        me,
        recorder: opts.record.clone(),
        events: events.clone(),
    };
    sink.observe(&net, &hooks.probe);

    let control_listener = bind_control(&net, site_cfg.control_port()?).await?;
    let control_addr = control_listener.local_addr()?;

    let (req_tx, req_rx) = mpsc::channel(1024);
    let client = SiteClient::new(req_tx);
    let serve = control::serve(control_listener, client.clone(), (hooks.probe.clone(), me));
    let control = tokio::spawn(serve);

    let runtime = Runtime {
        core,
        store: Some(store),
        archive,
        log_readers: Arc::new(Semaphore::new(LOG_READERS)),
        state,
        applied,
        net,
        name: site_cfg.name.clone(),
        names,
        me,
        boot: rand::random(),
        seq: 0,
        started: Instant::now(),
        waiting: HashMap::new(),
        events,
        sink,
        last_prefix: None,
        last_status: None,
        since_checkpoint: 0,
        job: None,
        longest_busy: Duration::ZERO,
        overlap: Output::default(),
        busy_in_checkpoint: None,
        tick: Duration::from_millis((config.timeout_ms / 20).clamp(1, 10)),
        opts,
        hooks,
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let task = tokio::spawn(runtime.run(inbound_rx, req_rx, stop_rx));
    Ok(RunningSite {
        client,
        control_addr,
        peer_addr,
        stop: Some(stop_tx),
        task,
        control,
    })
}

/// Listens on the control port (127.0.0.1 only); if it cannot, the
/// network started before it is shut down.
async fn bind_control(net: &NetHandle, port: u16) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => Ok(l),
        Err(e) => {
            net.shutdown().await;
            anyhow::bail!("cannot listen on the control port 127.0.0.1:{port}: {e}");
        }
    }
}

/// Listens for peers and starts dialing them.
async fn start_net(
    opts: &SiteOptions,
    inbound: mpsc::Sender<(SiteId, Message)>,
) -> anyhow::Result<NetHandle> {
    let (config, me) = (&opts.config, opts.site);
    let site_cfg = config
        .sites
        .get(me as usize)
        .ok_or_else(|| anyhow!("site {me} is not in the config"))?;
    let listen = resolve(&site_cfg.addr, site_cfg.port)?;
    let mut peers = Vec::new();
    for (i, s) in config.sites.iter().enumerate() {
        if i as SiteId != me {
            // Resolved at each connection attempt: a name that does not
            // resolve is a peer that is down, not a reason to stop.
            peers.push((i as SiteId, PeerAddr::new(s.addr.clone(), s.port)));
        }
    }
    let cfg = NetConfig {
        me,
        listen,
        peers,
        sites: config.sites.len() as u32,
        secret: config.secret.clone(),
        limits: net::Limits::PEER,
    };
    Ok(net::start(cfg, inbound).await?)
}

struct Runtime {
    /// How the site was started (its data dir is reopened after a disk failure).
    opts: SiteOptions,
    core: Core,
    /// Taken while a blocking storage call runs.
    store: Option<Store>,
    /// Read by `log` answers on tasks of their own, never by the loop.
    archive: Arc<ArchiveReader>,
    log_readers: Arc<Semaphore>,
    /// Its tweets are in `state.redb` (see `crate::state`): only its small
    /// parts are in memory.
    state: State,
    /// Slots `0..applied` are archived (the state may be ahead of it after a
    /// restart: see `disk::open_state`).
    applied: Slot,
    net: NetHandle,
    name: String,
    names: Vec<String>,
    me: SiteId,
    boot: u64,
    seq: u64,
    started: Instant,
    /// Submissions waiting for their slot, with whom to answer.
    waiting: HashMap<OpId, oneshot::Sender<Reply>>,
    events: Option<mpsc::UnboundedSender<SiteEvent>>,
    /// The recording and the UI's events of the one vocabulary.
    sink: Sink,
    /// The decided prefix last reported.
    last_prefix: Option<Slot>,
    last_status: Option<Status>,
    since_checkpoint: u64,
    /// The checkpoint (or spare WAL segment) being made beside the loop.
    job: Option<checkpoint::Job>,
    /// The longest the loop was busy (from an input to waiting for the
    /// next) since the previous checkpoint: what a checkpoint may not
    /// stretch (issue 14), logged with each.
    longest_busy: Duration,
    /// What inputs read while a batch was synced led to, but for its
    /// `send_now` (sent at once): carried out with the next batch
    /// (`overlap.rs`).
    overlap: Output,
    /// The same while a checkpoint's background part runs (its syncs
    /// share the disk with the loop's); `None` when none runs.
    busy_in_checkpoint: Option<Duration>,
    tick: Duration,
    hooks: BenchHooks,
}

impl Runtime {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<(SiteId, Message)>,
        mut requests: mpsc::Receiver<(Request, oneshot::Sender<Reply>)>,
        mut stop: oneshot::Receiver<()>,
    ) -> anyhow::Result<()> {
        let status = self.status();
        // A view of the state, not a copy of its tweets (see `State`).
        self.emit(SiteEvent::Snapshot {
            state: Box::new(self.state.clone()),
            status: status.clone(),
        });
        self.last_status = Some(status);
        let out = self.core.start(self.now());
        let mut result = self
            .run_loop(out, &mut inbound, &mut requests, &mut stop)
            .await;
        // The data dir is closed only once a checkpoint in flight has ended.
        if let Err(e) = self.reap_job(true).await {
            result = result.and(Err(e));
        }
        if result.is_ok() && self.store.is_some() {
            // A clean stop: the decisions not yet in the WAL go there now
            // (see `Store::flush_lazy`), so a restart needs no peer for them,
            // and the slots applied but still in memory go into the state's
            // file (see `state::disk`), so a restart need not apply them again.
            result = self.with_store(|store| Ok(store.flush_lazy()?)).await;
            if result.is_ok() {
                result = self.state.flush().map_err(anyhow::Error::from);
            }
        }
        self.net.shutdown().await;
        if let Err(e) = &result {
            tracing::error!("site {} stopped: {e:#}", self.name);
        }
        // Dropping `self` closes the store and releases the data dir lock;
        // waiting submitters are answered by their dropped senders.
        result
    }

    async fn run_loop(
        &mut self,
        first: Output,
        inbound: &mut mpsc::Receiver<(SiteId, Message)>,
        requests: &mut mpsc::Receiver<(Request, oneshot::Sender<Reply>)>,
        stop: &mut oneshot::Receiver<()>,
    ) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut out = first;
        // When the loop last woke on an input: how long it is busy before
        // it waits again is how long every input waits at most (logged
        // at each checkpoint: see `longest_busy`).
        let mut woke = Instant::now();
        loop {
            let mut reading = Reading {
                inbound: &mut *inbound,
                requests: &mut *requests,
            };
            match self.carry_out(out, &mut reading).await {
                Ok(own) if !own.is_empty() => {
                    out = self.with_waiting(own, inbound);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    // What was read during the failed batch goes with the
                    // core that the recovery rebuilds from the disk.
                    self.overlap = Output::default();
                    // A failing disk is waited out (see `disk`); anything else stops the site.
                    match self.stall_if_disk(e, inbound, requests, stop).await? {
                        Stall::Resumed(first) => {
                            out = first;
                            continue;
                        }
                        Stall::Stopped => return Ok(()),
                    }
                }
            }
            out = Output::default();
            let busy = woke.elapsed();
            self.longest_busy = self.longest_busy.max(busy);
            if let Some(b) = &mut self.busy_in_checkpoint {
                *b = (*b).max(busy);
            }
            tokio::select! {
                _ = &mut *stop => return Ok(()),
                msg = inbound.recv() => {
                    let Some((from, msg)) = msg else { return Ok(()) };
                    let now = self.now();
                    out.append(self.core.step(now, Input::Message { from, msg }));
                    // Group commit: everything already waiting joins this batch.
                    for _ in 1..MAX_BATCH {
                        let Ok((from, msg)) = inbound.try_recv() else { break };
                        out.append(self.core.step(now, Input::Message { from, msg }));
                    }
                }
                req = requests.recv() => {
                    let Some((req, reply)) = req else { return Ok(()) };
                    self.handle_request(req, reply, &mut out).await?;
                    for _ in 1..MAX_BATCH {
                        let Ok((req, reply)) = requests.try_recv() else { break };
                        self.handle_request(req, reply, &mut out).await?;
                    }
                }
                _ = tick.tick() => {
                    out.append(self.core.step(self.now(), Input::Tick));
                    self.publish_status();
                }
            }
            woke = Instant::now();
        }
    }

    /// What this site's own votes led to (a decision, say), and what
    /// inputs read during the sync led to: carried out next, with the peer
    /// messages already waiting (group commit), without waiting for more.
    fn with_waiting(
        &mut self,
        mut out: Output,
        inbound: &mut mpsc::Receiver<(SiteId, Message)>,
    ) -> Output {
        let now = self.now();
        for _ in 0..MAX_BATCH {
            let Ok((from, msg)) = inbound.try_recv() else {
                break;
            };
            out.append(self.core.step(now, Input::Message { from, msg }));
        }
        out
    }

    /// Runs `f` on the store on tokio's blocking pool.
    async fn with_store<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let job = self.spawn_on_store(f)?;
        self.store_back(job.await)
    }

    /// Moves the store to tokio's blocking pool to run `f` there; hand
    /// what the job returns to `store_back`.
    fn spawn_on_store<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<JoinHandle<(Store, anyhow::Result<T>)>> {
        let mut store = self
            .store
            .take()
            .ok_or_else(|| anyhow!("storage is not available"))?;
        Ok(tokio::task::spawn_blocking(move || {
            let r = f(&mut store);
            (store, r)
        }))
    }

    /// Takes the store back from a job of `spawn_on_store`: `f`'s result.
    fn store_back<T>(
        &mut self,
        done: Result<(Store, anyhow::Result<T>), tokio::task::JoinError>,
    ) -> anyhow::Result<T> {
        let (store, result) = done.context("storage task failed")?;
        self.store = Some(store);
        result
    }

    /// Carries out a core output in the order the core requires. Returns
    /// the output of the own acks handed back after the sync (the leader's
    /// own votes), for the loop to carry out next.
    async fn carry_out(
        &mut self,
        out: Output,
        reading: &mut Reading<'_>,
    ) -> anyhow::Result<Output> {
        let durability = out.durability();
        let Output {
            persist,
            send_now,
            send,
            committed,
            completed,
            failed,
            serve,
            trace,
        } = out;
        let durable: Vec<What> = if self.sink.active() {
            persist.iter().filter_map(What::from_record).collect()
        } else {
            Vec::new()
        };
        // The core's events before the messages they lead to (an election
        // before its prepares, a proposal before its accepts).
        self.sink.see_trace(&trace, &committed);
        // 1. At once: a leader's accepts and commits travel while its own
        // records are synced (Ongaro's thesis 10.2.1); `later` (step 4)
        // with the bench's `--serial-leader-write`.
        let mut batch = self.hooks.probe.batch(self.me, &persist, &committed);
        let (send_now, later) = self.hooks.when_to_send(send_now);
        send_grouped(&self.net, send_now);
        // 2, 3 and 5. Durable (one sync for the batch; none for decisions
        // only: they are written with the next batch); the new slots
        // archived and applied, their submissions answered: while the
        // batch's records are synced, since a decision needs no sync here
        // (see `make_durable`).
        let settle = Settle {
            committed,
            completed,
            failed,
        };
        self.make_durable(persist, durability, settle, reading, &mut batch)
            .await?;
        for what in durable {
            self.sink.see(what);
        }
        batch.done();
        if self.sink.active() {
            let prefix = self.core.decided_prefix();
            if self.last_prefix != Some(prefix) {
                self.last_prefix = Some(prefix);
                self.sink.see(What::Prefix { decided: prefix });
            }
        }
        // 4. Send what waited for the sync; this site's own acks go back
        // to its core: the leader's vote counts now that it is durable.
        let mut own = Vec::new();
        for (to, msg) in later.into_iter().chain(send) {
            if to == self.me {
                own.push(msg);
            } else {
                self.net.send(to, msg);
            }
        }
        self.serve_from_archive(serve);
        self.publish_trace(trace);
        // A checkpoint's background job: collected when it has ended, and
        // the next started when due (see `checkpoint`).
        self.reap_job(false).await?;
        self.maybe_checkpoint()?;
        // Next: what the inputs read during the sync led to, then what the
        // own acks lead to (in the order they happened).
        let mut next = std::mem::take(&mut self.overlap);
        next.append(self.hand_back(own));
        Ok(next)
    }

    /// Hands this site's own acks back to its core once they are durable
    /// (the leader's vote counts then); what the core does next is carried
    /// out by the loop.
    fn hand_back(&mut self, own: Vec<Message>) -> Output {
        let mut next = Output::default();
        let (now, from) = (self.now(), self.me);
        for msg in own {
            next.append(self.core.step(now, Input::Message { from, msg }));
        }
        next
    }

    /// Answers the catch-up requests the core could not answer from memory:
    /// each is read from the archive and sent on a task of its own (as
    /// `log` answers are), so a peer catching up neither waits for this
    /// site's syncs nor holds them up, and its requests in flight are read
    /// side by side. Called after the batch's slots are archived (a request
    /// is only for slots below the prefix). A read that fails is logged and
    /// left unanswered: the asker asks again.
    fn serve_from_archive(&self, serve: Vec<ServeRequest>) {
        for req in serve {
            let reader = Arc::clone(&self.archive);
            let permits = Arc::clone(&self.log_readers);
            let (net, events, at_ms) = (self.net.clone(), self.events.clone(), self.now());
            tokio::spawn(async move {
                let read = async {
                    let _permit = permits.acquire_owned().await?;
                    tokio::task::spawn_blocking(move || {
                        reader.read_decided(req.from, req.to, SERVE_BYTES)
                    })
                    .await
                    .context("the catch-up reading task failed")?
                    .context("cannot read the decided log")
                };
                match read.await {
                    Ok(entries) => send_served(&net, events.as_ref(), at_ms, &req, entries),
                    Err(e) => tracing::error!("cannot answer a catch-up request: {e:#}"),
                }
            });
        }
    }

    /// Answers the submissions that finished.
    fn answer(&mut self, completed: Vec<Completion>, failed: Vec<OpId>) {
        for c in completed {
            if let Some(reply) = self.waiting.remove(&c.id) {
                let _ = reply.send(Ok(Answer::Decided {
                    slot: c.slot,
                    index: c.index,
                }));
            }
        }
        for id in failed {
            if let Some(reply) = self.waiting.remove(&id) {
                let _ = reply.send(Err(Refusal::unavailable(
                    "not decided in time: no quorum reachable (the operation may still be decided later, at most once)",
                )));
            }
        }
    }

    /// Logs membership changes and hands the trace to the UI.
    fn publish_trace(&mut self, trace: Vec<TraceEvent>) {
        for event in &trace {
            if let TraceEvent::Membership(m) = event {
                // Whether the site votes matters to whoever runs it (SPEC 6).
                tracing::info!("site {} is now {}", self.name, m.name());
            }
        }
        if self.events.is_some() {
            let at_ms = self.now();
            for event in trace {
                self.emit(SiteEvent::Trace { at_ms, event });
            }
        }
    }

    fn emit(&self, event: SiteEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }

    fn status(&self) -> Status {
        // A peer cut off by the fault filter is down as far as consensus
        // goes, even though its connection stays open.
        let fault = self.net.fault();
        Status {
            site: self.me,
            name: self.name.clone(),
            decided: self.core.decided_prefix(),
            leader: self.core.leader(),
            membership: self.core.membership(),
            ballot: Some(self.core.promised()),
            peers: self
                .net
                .connected()
                .into_iter()
                .map(|(site, connected)| PeerStatus {
                    site,
                    name: self.names.get(site as usize).cloned().unwrap_or_default(),
                    connected: connected
                        && !fault.drops_outgoing(site)
                        && !fault.drops_incoming(site),
                })
                .collect(),
        }
    }

    fn publish_status(&mut self) {
        if self.events.is_none() {
            return;
        }
        let status = self.status();
        if self.last_status.as_ref() != Some(&status) {
            self.emit(SiteEvent::Status(status.clone()));
            self.last_status = Some(status);
        }
    }
}

/// Applies decided slots to the site's state, in one write. Slots it
/// already holds are skipped: after a restart the state may be ahead of
/// the checkpoint, and the core hands the slots after the checkpoint on
/// again (to be archived). A failure means the state no longer follows the
/// decided log, and the site cannot go on: it is logged here, and the site
/// stops with it (the UI, the demo or the shell that runs the site says why).
fn apply_decided(state: &mut State, name: &str, slots: &[(Slot, Value)]) -> anyhow::Result<()> {
    let held = state.next_slot();
    let new = slots.iter().filter(|(slot, _)| *slot >= held);
    let mut tried = held;
    state
        .apply_all(new.map(|(slot, value)| {
            tried = *slot;
            (*slot, value)
        }))
        .map_err(|e| {
            let slot = match &e {
                ApplyError::OutOfOrder { got, .. } => *got,
                _ => tried,
            };
            tracing::error!("site {name} cannot apply decided slot {slot}: {e}");
            anyhow!("cannot apply decided slot {slot}: {e}")
        })
}

/// Sends each message of `sends`, encoded once for all the peers it goes
/// to: the core lists a broadcast (a leader's accept, its commit) as one
/// copy per peer, one after the other.
fn send_grouped(net: &NetHandle, sends: Vec<(SiteId, Message)>) {
    let mut sends = sends.into_iter().peekable();
    let mut to = Vec::with_capacity(4);
    while let Some((first, msg)) = sends.next() {
        to.clear();
        to.push(first);
        while let Some((next, _)) = sends.next_if(|(_, m)| *m == msg) {
            to.push(next);
        }
        net.send_all(&to, msg);
    }
}

/// Sends a catch-up answer read from the archive (and shows it in the trace).
fn send_served(
    net: &NetHandle,
    events: Option<&mpsc::UnboundedSender<SiteEvent>>,
    at_ms: u64,
    req: &ServeRequest,
    entries: Vec<DecidedEntry>,
) {
    let msg = Message::Decided {
        decided_upto: req.decided_upto,
        entries,
        promised: Default::default(),
        probe: 0,
    };
    if let Some(tx) = events {
        let _ = tx.send(SiteEvent::Trace {
            at_ms,
            event: TraceEvent::Message {
                dir: crate::paxos::Dir::Sent,
                peer: req.to_site,
                kind: msg.kind(),
                slot: None,
                ballot: None,
                value: msg.value_summary(),
            },
        });
    }
    net.send(req.to_site, msg);
}

#[cfg(test)]
mod tests;
