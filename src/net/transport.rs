//! [`NetHandle`], the runtime's side of the transport, and what its tasks
//! share.
//!
//! Tasks, per site:
//! - one accept loop, which spawns one reader per inbound connection
//!   ([`inbound`](super::inbound));
//! - one dialer per peer ([`outbound`](super::outbound)).
//!
//! No task holds the [`NetHandle`]: [`NetHandle::shutdown`], or dropping the
//! last clone, stops them all.

use super::events::{DropReason, NetEvent, Observer};
use super::fault::Fault;
use super::limits::{Gate, Limits, Throttle};
use super::{inbound, outbound, wire};
use crate::config::Secret;
use crate::paxos::{Message, SiteId};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// How many messages may wait for one peer; beyond that, sends are dropped.
pub const QUEUE_CAPACITY: usize = 4096;
/// A recurring refusal (a peer without the secret, say) is logged at most
/// once per this period, with the count of attempts in between.
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Where a peer listens: a host name or address, and a port. A name is
/// looked up at every connection attempt, so a name that does not resolve
/// (yet, or any more) is a peer that is down, retried with backoff, never a
/// reason for this site to stop (SPEC 7).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerAddr {
    pub host: String,
    pub port: u16,
}

impl PeerAddr {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        PeerAddr {
            host: host.into(),
            port,
        }
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(a: SocketAddr) -> Self {
        PeerAddr::new(a.ip().to_string(), a.port())
    }
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Where this site listens and where its peers are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetConfig {
    /// This site's index.
    pub me: SiteId,
    /// The address to listen on for peers (port 0 picks a free port; see
    /// [`NetHandle::local_addr`]).
    pub listen: SocketAddr,
    /// Every other site and its address (normally all of them).
    pub peers: Vec<(SiteId, PeerAddr)>,
    /// How many sites the config has: inbound messages must come from a
    /// site below this, other than `me`.
    pub sites: u32,
    /// The cluster secret: with one, every connection is authenticated
    /// ([`auth`](super::auth)); without, lines are plain.
    pub secret: Option<Secret>,
    /// The limits of the listener ([`Limits::PEER`]; raised to fit the
    /// peers when there are many).
    pub limits: Limits,
}

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot listen for peers on {addr}: {reason}")]
    Bind {
        addr: SocketAddr,
        reason: String,
        #[source]
        source: io::Error,
    },
    #[error("bad network config: {0}")]
    Config(String),
}

/// Counters since start, for the status line, logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages written to a peer connection.
    pub sent: u64,
    /// Messages received and handed to the runtime.
    pub received: u64,
    /// Sends dropped because the peer's queue was full.
    pub dropped_full: u64,
    /// Sends dropped because the peer was down (between connection attempts).
    pub dropped_down: u64,
    /// Outgoing messages dropped by the fault filter.
    pub dropped_fault_out: u64,
    /// Incoming messages dropped by the fault filter.
    pub dropped_fault_in: u64,
    /// Outgoing messages over the line limit, not sent.
    pub dropped_too_large: u64,
    /// Inbound connections closed for bad input (an unauthentic line too).
    pub rejected_connections: u64,
    /// Handshakes that failed, both ways (or a peer with a secret at a
    /// site without), and inbound connections refused at the cap.
    pub refused: u64,
    /// Inbound connections closed for no first line (or handshake) in time.
    pub timed_out: u64,
    /// Inbound connections pushed out at the cap to make room: not yet
    /// proven, or quiet for [`Limits::idle`].
    pub pushed_out: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) sent: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) dropped_full: AtomicU64,
    pub(super) dropped_down: AtomicU64,
    pub(super) dropped_fault_out: AtomicU64,
    pub(super) dropped_fault_in: AtomicU64,
    pub(super) dropped_too_large: AtomicU64,
    pub(super) rejected_connections: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) timed_out: AtomicU64,
    pub(super) pushed_out: AtomicU64,
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What the tasks of one site share (never the queues' senders, so that
/// dropping the last handle ends the dialers).
pub(super) struct Shared {
    pub(super) me: SiteId,
    pub(super) sites: u32,
    pub(super) secret: Option<Secret>,
    /// Admission to the listener.
    pub(super) gate: Gate,
    fault: Mutex<Fault>,
    pub(super) counters: Counters,
    connected: watch::Sender<Vec<(SiteId, bool)>>,
    observer: OnceLock<Observer>,
    /// When to log a closed inbound connection, per address.
    pub(super) inbound_log: Throttle<IpAddr>,
    /// When to log a failed handshake, per peer dialed.
    pub(super) dial_log: Throttle<SiteId>,
    /// Per site index: wakes that peer's dialer from its backoff pause.
    back: Vec<tokio::sync::Notify>,
}

impl Shared {
    pub(super) fn observe(&self, ev: NetEvent<'_>) {
        if let Some(observer) = self.observer.get() {
            observer(ev);
        }
    }

    /// Reports that a message of this site to `to` was dropped here.
    pub(super) fn dropped_out(&self, to: SiteId, seq: u64, msg: &Message, reason: DropReason) {
        self.observe(NetEvent::Dropped {
            from: self.me,
            to,
            seq: Some(seq),
            msg,
            reason,
        });
    }

    /// A connection from `peer` was identified: it is up again, so our
    /// dialer to it stops waiting out its backoff (up to 2 s, during which
    /// everything sent to the peer would be dropped: a restarted site would
    /// wait that long for the answers it needs to catch up).
    pub(super) fn peer_is_back(&self, peer: SiteId) {
        if let Some(n) = self.back.get(peer as usize) {
            n.notify_waiters();
        }
    }

    /// Completes when [`peer_is_back`](Self::peer_is_back) is called for `peer`.
    pub(super) async fn back(&self, peer: SiteId) {
        match self.back.get(peer as usize) {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    }

    pub(super) fn fault(&self) -> MutexGuard<'_, Fault> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn set_connected(&self, peer: SiteId, up: bool) {
        self.connected.send_if_modified(|peers| {
            match peers.iter_mut().find(|(id, _)| *id == peer) {
                Some((_, state)) if *state != up => {
                    *state = up;
                    true
                }
                _ => false,
            }
        });
    }
}

/// A message waiting in a peer's queue, and when it may leave (delay fault).
pub(super) struct Queued {
    pub(super) msg: Arc<Outgoing>,
    pub(super) due: Option<Instant>,
    /// The message's number on its link.
    pub(super) seq: u64,
}

/// A message queued for one peer or more. Its JSON is encoded by the
/// first dialer that writes it and reused by the others (a leader's
/// accepts and commits go to every peer: one encoding, not one per peer).
pub(super) struct Outgoing {
    pub(super) msg: Message,
    body: OnceLock<Result<String, String>>,
}

impl Outgoing {
    fn new(msg: Message) -> Arc<Outgoing> {
        Arc::new(Outgoing {
            msg,
            body: OnceLock::new(),
        })
    }

    /// The line carrying the message from site `me`, numbered `seq`.
    pub(super) fn line(&self, me: SiteId, seq: u64) -> Result<String, wire::WireError> {
        let body = self
            .body
            .get_or_init(|| wire::encode_body(&self.msg).map_err(|e| e.to_string()));
        match body {
            Ok(body) => wire::line_from(me, Some(seq), body),
            Err(e) => Err(wire::WireError::Encode(e.clone())),
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    queues: HashMap<SiteId, mpsc::Sender<Queued>>,
    /// The last number given to a message on each link.
    seqs: HashMap<SiteId, AtomicU64>,
    token: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// The runtime's side of the transport. Cheap to clone; every clone drives
/// the same tasks, which stop on [`shutdown`](NetHandle::shutdown) or when
/// the last clone is dropped.
#[derive(Clone)]
pub struct NetHandle {
    inner: Arc<Inner>,
}

impl fmt::Debug for NetHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetHandle")
            .field("me", &self.inner.shared.me)
            .field("local_addr", &self.inner.local_addr)
            .finish_non_exhaustive()
    }
}

/// Binds `cfg.listen` (with `SO_REUSEADDR` where that does not allow two
/// listeners on one port, i.e. not on Windows) and starts the transport.
/// Messages from peers go to `inbound`.
pub async fn start(
    cfg: NetConfig,
    inbound: mpsc::Sender<(SiteId, Message)>,
) -> Result<NetHandle, NetError> {
    validate(&cfg)?;
    let listener = bind(cfg.listen)?;
    start_with_listener(cfg, listener, inbound).await
}

/// As [`start`], on a listener bound already (`cfg.listen` is then unused).
pub async fn start_with_listener(
    cfg: NetConfig,
    listener: TcpListener,
    inbound: mpsc::Sender<(SiteId, Message)>,
) -> Result<NetHandle, NetError> {
    validate(&cfg)?;
    let local_addr = listener.local_addr().map_err(|source| NetError::Bind {
        addr: cfg.listen,
        reason: source.to_string(),
        source,
    })?;
    let mut peers = cfg.peers;
    peers.sort_unstable();
    let (connected, _) = watch::channel(peers.iter().map(|(id, _)| (*id, false)).collect());
    // Room for every peer twice (a reconnect overlaps the old connection).
    let limits = Limits {
        max_connections: cfg.limits.max_connections.max(2 * cfg.sites as usize + 16),
        ..cfg.limits
    };
    let shared = Arc::new(Shared {
        me: cfg.me,
        sites: cfg.sites,
        secret: cfg.secret,
        gate: Gate::new(limits),
        fault: Mutex::new(Fault::default()),
        counters: Counters::default(),
        connected,
        observer: OnceLock::new(),
        inbound_log: Throttle::new(REFUSAL_LOG_EVERY),
        dial_log: Throttle::new(REFUSAL_LOG_EVERY),
        back: (0..cfg.sites).map(|_| tokio::sync::Notify::new()).collect(),
    });
    let token = CancellationToken::new();
    let mut tasks = Vec::with_capacity(peers.len() + 1);
    let mut queues = HashMap::with_capacity(peers.len());
    for (peer, addr) in peers {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        queues.insert(peer, tx);
        tasks.push(tokio::spawn(outbound::dialer(
            peer,
            addr,
            rx,
            shared.clone(),
            token.clone(),
        )));
    }
    tasks.push(tokio::spawn(inbound::accept_loop(
        listener,
        shared.clone(),
        inbound,
        token.clone(),
    )));
    debug!(site = cfg.me, %local_addr, "peer transport started");
    Ok(NetHandle {
        inner: Arc::new(Inner {
            shared,
            local_addr,
            seqs: queues.keys().map(|&p| (p, AtomicU64::new(0))).collect(),
            queues,
            token,
            tasks: Mutex::new(tasks),
        }),
    })
}

impl NetHandle {
    /// This site's index.
    pub fn me(&self) -> SiteId {
        self.inner.shared.me
    }

    /// The address the listener is bound to (the real port when the config
    /// asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Sets the observer told about every message sent, received or
    /// dropped from now on (once; later calls are ignored).
    pub fn observe(&self, observer: Observer) {
        let _ = self.inner.shared.observer.set(observer);
    }

    /// Queues `msg` for site `to` and returns its number on that link (0
    /// when there is no such link). Never blocks: when the peer's queue is
    /// full, or the fault filter says so, the message is dropped (and
    /// counted). Messages to this site or to an unknown site are ignored.
    pub fn send(&self, to: SiteId, msg: Message) -> u64 {
        self.send_shared(to, Outgoing::new(msg))
    }

    /// [`send`](Self::send) of one message to each of `to`, encoded once
    /// for all of them.
    pub fn send_all(&self, to: &[SiteId], msg: Message) {
        let msg = Outgoing::new(msg);
        for &to in to {
            self.send_shared(to, Arc::clone(&msg));
        }
    }

    fn send_shared(&self, to: SiteId, out: Arc<Outgoing>) -> u64 {
        let (Some(queue), Some(seq)) = (self.inner.queues.get(&to), self.inner.seqs.get(&to))
        else {
            return 0;
        };
        let msg = &out.msg;
        let seq = seq.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = &self.inner.shared;
        shared.observe(NetEvent::Sent { to, seq, msg });
        let due = {
            let fault = shared.fault();
            if fault.drops_outgoing(to) {
                drop(fault);
                bump(&shared.counters.dropped_fault_out);
                shared.dropped_out(to, seq, msg, DropReason::FaultOut);
                return seq;
            }
            (fault.delay_ms > 0).then(|| Instant::now() + fault.delay())
        };
        match queue.try_send(Queued { msg: out, due, seq }) {
            Ok(()) => {}
            Err(TrySendError::Full(q)) => {
                bump(&shared.counters.dropped_full);
                shared.dropped_out(to, seq, &q.msg.msg, DropReason::QueueFull);
                debug!(
                    site = shared.me,
                    peer = to,
                    kind = q.msg.msg.kind().name(),
                    "queue full: message dropped"
                );
            }
            // The transport is shut down.
            Err(TrySendError::Closed(_)) => {}
        }
        seq
    }

    /// Sends a copy of `msg` to every peer.
    pub fn broadcast(&self, msg: &Message) {
        for &to in self.inner.queues.keys() {
            self.send(to, msg.clone());
        }
    }

    /// Replaces the fault filter; [`Fault::default()`] clears it. Applies to
    /// messages sent from now on and to messages received from now on.
    pub fn set_fault(&self, fault: Fault) {
        let shared = &self.inner.shared;
        if fault.is_clear() {
            info!(site = shared.me, "network fault cleared");
        } else {
            info!(site = shared.me, ?fault, "network fault set");
        }
        *shared.fault() = fault;
    }

    /// The fault filter in force.
    pub fn fault(&self) -> Fault {
        self.inner.shared.fault().clone()
    }

    /// Each peer, in site order, and whether this site's connection to it is
    /// up.
    pub fn connected(&self) -> Vec<(SiteId, bool)> {
        self.inner.shared.connected.borrow().clone()
    }

    /// The same as [`connected`](NetHandle::connected), as a watch that
    /// changes whenever a peer goes up or down.
    pub fn watch_connected(&self) -> watch::Receiver<Vec<(SiteId, bool)>> {
        self.inner.shared.connected.subscribe()
    }

    /// The counters since start.
    pub fn stats(&self) -> NetStats {
        let c = &self.inner.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        NetStats {
            sent: get(&c.sent),
            received: get(&c.received),
            dropped_full: get(&c.dropped_full),
            dropped_down: get(&c.dropped_down),
            dropped_fault_out: get(&c.dropped_fault_out),
            dropped_fault_in: get(&c.dropped_fault_in),
            dropped_too_large: get(&c.dropped_too_large),
            rejected_connections: get(&c.rejected_connections),
            refused: get(&c.refused),
            timed_out: get(&c.timed_out),
            pushed_out: get(&c.pushed_out),
        }
    }

    /// Stops every task, closes the listener and every connection, and
    /// returns when they are closed (the port can be bound again). Later
    /// sends are ignored. Safe to call more than once, from any clone.
    pub async fn shutdown(&self) {
        self.inner.token.cancel();
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            let _ = task.await;
        }
        debug!(site = self.inner.shared.me, "peer transport stopped");
    }
}

fn validate(cfg: &NetConfig) -> Result<(), NetError> {
    let bad = |m: String| Err(NetError::Config(m));
    if cfg.me >= cfg.sites {
        return bad(format!(
            "site {} is not one of the {} sites",
            cfg.me, cfg.sites
        ));
    }
    let mut seen = Vec::with_capacity(cfg.peers.len());
    for &(peer, _) in &cfg.peers {
        if peer >= cfg.sites {
            return bad(format!("peer {peer} is not one of the {} sites", cfg.sites));
        }
        if peer == cfg.me {
            return bad(format!("peer {peer} is this site"));
        }
        if seen.contains(&peer) {
            return bad(format!("peer {peer} is listed twice"));
        }
        seen.push(peer);
    }
    Ok(())
}

fn bind(addr: SocketAddr) -> Result<TcpListener, NetError> {
    let fail = |source: io::Error| NetError::Bind {
        addr,
        reason: match source.kind() {
            io::ErrorKind::AddrInUse => "port in use (is another site running?)".to_string(),
            io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_string(),
            io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => source.to_string(),
        },
        source,
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(fail)?;
    // Lets a restarted site bind again while old connections linger in
    // TIME_WAIT. On Windows SO_REUSEADDR would let two listeners share the
    // port, and binding there is not blocked by TIME_WAIT anyway.
    #[cfg(not(windows))]
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(1024).map_err(fail)
}
