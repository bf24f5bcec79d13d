//! The outbound side of the transport: one dialer per peer. It connects
//! (and, with a secret, authenticates), writes that peer's queue in order,
//! watches the connection for its end, and reconnects with capped, jittered
//! exponential backoff. While it waits between attempts, what is sent to
//! that peer is dropped (as a down link would); what is sent while an
//! attempt is under way waits in the queue.

use super::auth::{self, Sealer};
use super::events::DropReason;
use super::transport::{bump, Outgoing, PeerAddr, Queued, Shared};
use super::wire::{WireError, MAX_LINE};
use crate::paxos::{Message, SiteId};
use futures::SinkExt;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::{Framed, FramedWrite, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// First pause between two connection attempts to a peer.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// Longest pause between two connection attempts to a peer.
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A connection that lasted this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(1);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the handshake of an authenticated connection may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages written to the socket buffer before one flush.
const MAX_BATCH: usize = 64;

pub(super) async fn dialer(
    peer: SiteId,
    addr: PeerAddr,
    mut queue: mpsc::Receiver<Queued>,
    shared: Arc<Shared>,
    token: CancellationToken,
) {
    tokio::select! {
        _ = token.cancelled() => {}
        _ = dial_loop(peer, &addr, &mut queue, &shared) => {}
    }
    shared.set_connected(peer, false);
}

/// How a connection to a peer ended.
enum End {
    /// Every handle is gone: stop.
    HandleGone,
    /// The connection broke: reconnect.
    Lost(String),
}

/// A connection ready for messages: the stream, and with a secret what
/// seals each line.
struct Link {
    stream: TcpStream,
    sealer: Option<Sealer>,
}

/// Why an attempt did not give a connection.
enum Failed {
    /// No TCP connection.
    Connect(io::Error),
    /// Connected, but the handshake failed.
    Refused(String),
}

async fn dial_loop(
    peer: SiteId,
    addr: &PeerAddr,
    queue: &mut mpsc::Receiver<Queued>,
    shared: &Shared,
) {
    let me = shared.me;
    let mut backoff = BACKOFF_MIN;
    loop {
        match open(addr, peer, shared).await {
            Ok(link) => {
                let since = Instant::now();
                shared.set_connected(peer, true);
                let how = if link.sealer.is_some() {
                    " (authenticated)"
                } else {
                    ""
                };
                // Quiet while connections keep failing (see below).
                if backoff == BACKOFF_MIN {
                    info!(site = me, peer, %addr, "connected to peer{how}");
                } else {
                    debug!(site = me, peer, %addr, "connected to peer{how}");
                }
                let end = write_connection(link, peer, queue, shared).await;
                shared.set_connected(peer, false);
                match end {
                    End::HandleGone => return,
                    End::Lost(reason) if since.elapsed() >= STABLE_AFTER => {
                        info!(site = me, peer, %addr, "connection to peer lost: {reason}");
                        backoff = BACKOFF_MIN;
                    }
                    // Closed at once, again and again: the peer may be
                    // refusing this site (it has a secret, this site none).
                    End::Lost(reason) => lost_at_once(shared, peer, addr, &reason),
                }
            }
            Err(Failed::Connect(e)) => {
                // Said once, at the first failure after a success (or at
                // start), then quietly retried.
                if backoff == BACKOFF_MIN {
                    info!(site = me, peer, %addr, "cannot connect to peer (retrying with backoff): {e}");
                } else {
                    debug!(site = me, peer, %addr, "cannot connect to peer: {e}");
                }
            }
            Err(Failed::Refused(reason)) => refused(shared, peer, addr, &reason),
        }
        let pause = backoff.mul_f64(rand::random_range(0.5..=1.0));
        backoff = (backoff * 2).min(BACKOFF_MAX);
        if !drop_while_down(peer, pause, queue, shared).await {
            return;
        }
    }
}

/// Logs a connection closed right after it opened, at most once per period.
fn lost_at_once(shared: &Shared, peer: SiteId, addr: &PeerAddr, reason: &str) {
    let me = shared.me;
    match shared.dial_log.check(&peer) {
        Some(0) => warn!(
            site = me,
            peer,
            %addr,
            "connection to peer lost right after it opened: {reason} \
             (does the peer refuse this site?)"
        ),
        Some(n) => warn!(
            site = me,
            peer,
            %addr,
            "connection to peer lost right after it opened: {reason} \
             ({n} more times since the last report; does the peer refuse this site?)"
        ),
        None => debug!(site = me, peer, %addr, "connection to peer lost: {reason}"),
    }
}

/// Counts a failed handshake and logs it, at most once per period.
fn refused(shared: &Shared, peer: SiteId, addr: &PeerAddr, reason: &str) {
    bump(&shared.counters.refused);
    let me = shared.me;
    match shared.dial_log.check(&peer) {
        Some(0) => warn!(site = me, peer, %addr, "peer not authenticated: {reason}"),
        Some(n) => warn!(
            site = me,
            peer,
            %addr,
            "peer not authenticated: {reason} ({n} more attempts since the last report)"
        ),
        None => debug!(site = me, peer, %addr, "peer not authenticated: {reason}"),
    }
}

/// Connects to the peer and, with a secret, runs the handshake.
async fn open(addr: &PeerAddr, peer: SiteId, shared: &Shared) -> Result<Link, Failed> {
    let stream = connect(addr).await.map_err(Failed::Connect)?;
    let Some(secret) = &shared.secret else {
        return Ok(Link {
            stream,
            sealer: None,
        });
    };
    let mut lines = Framed::new(
        stream,
        LinesCodec::new_with_max_length(auth::HANDSHAKE_LINE),
    );
    let handshake = auth::dial(&mut lines, secret, shared.me, peer);
    let sealer = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| Failed::Refused(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")))?
        .map_err(|e| Failed::Refused(e.to_string()))?;
    // The peer writes nothing after its last handshake line, so nothing
    // buffered is lost here.
    Ok(Link {
        stream: lines.into_inner(),
        sealer: Some(sealer),
    })
}

async fn connect(addr: &PeerAddr) -> io::Result<TcpStream> {
    // The name is looked up now (and again at the next attempt).
    let target = (addr.host.as_str(), addr.port);
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection attempt timed out"))??;
    // Dialing a free port of this machine can connect a socket to itself.
    if stream.local_addr()? == stream.peer_addr()? {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "connected to itself (nobody listens)",
        ));
    }
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Waits `pause`, dropping what is sent meanwhile. False when every handle
/// is gone.
async fn drop_while_down(
    peer: SiteId,
    pause: Duration,
    queue: &mut mpsc::Receiver<Queued>,
    shared: &Shared,
) -> bool {
    let deadline = tokio::time::sleep(pause);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return true,
            // It dialed us: try it now rather than after the pause.
            _ = shared.back(peer) => return true,
            queued = queue.recv() => match queued {
                Some(q) => {
                    bump(&shared.counters.dropped_down);
                    shared.dropped_out(peer, q.seq, &q.msg.msg, DropReason::PeerDown);
                }
                None => return false,
            },
        }
    }
}

/// Writes the queue to one connection, in order, until it breaks.
async fn write_connection(
    link: Link,
    peer: SiteId,
    queue: &mut mpsc::Receiver<Queued>,
    shared: &Shared,
) -> End {
    let Link { stream, mut sealer } = link;
    let (mut rd, wr) = stream.into_split();
    let mut out = FramedWrite::new(wr, LinesCodec::new_with_max_length(MAX_LINE));
    let lost = |e: LinesCodecError| End::Lost(e.to_string());
    loop {
        let first = tokio::select! {
            queued = queue.recv() => match queued {
                Some(q) => q,
                None => return End::HandleGone,
            },
            reason = closed(&mut rd) => return End::Lost(reason),
        };
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(Queued { msg, due, seq }) = next.take() {
            if let Some(due) = due.filter(|&due| due > Instant::now()) {
                if let Err(e) = SinkExt::<String>::flush(&mut out).await {
                    return lost(e);
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    reason = closed(&mut rd) => return End::Lost(reason),
                }
            }
            match line(shared.me, sealer.as_mut(), seq, &msg) {
                Ok(line) => {
                    if let Err(e) = out.feed(line).await {
                        return lost(e);
                    }
                    bump(&shared.counters.sent);
                }
                Err(e) => too_large(shared, peer, seq, &msg.msg, e),
            }
            batch += 1;
            if batch < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if let Err(e) = SinkExt::<String>::flush(&mut out).await {
            return lost(e);
        }
    }
}

/// The line that carries `msg`, sealed when the connection is authenticated.
fn line(
    me: SiteId,
    sealer: Option<&mut Sealer>,
    seq: u64,
    msg: &Outgoing,
) -> Result<String, WireError> {
    let line = msg.line(me, seq)?;
    match sealer {
        Some(sealer) => sealer.seal(&line),
        None => Ok(line),
    }
}

fn too_large(shared: &Shared, peer: SiteId, seq: u64, msg: &Message, e: WireError) {
    bump(&shared.counters.dropped_too_large);
    shared.dropped_out(peer, seq, msg, DropReason::TooLarge);
    warn!(
        site = shared.me,
        peer,
        kind = msg.kind().name(),
        "message not sent: {e}"
    );
}

/// Resolves when the peer closes the connection (peers never write on a
/// connection this site dialed, once it is open; anything they do write is
/// ignored).
async fn closed(rd: &mut OwnedReadHalf) -> String {
    let mut buf = [0u8; 512];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => return "closed by peer".to_string(),
            Ok(_) => {}
            Err(e) => return e.to_string(),
        }
    }
}
