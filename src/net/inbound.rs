//! The inbound side of the transport: the accept loop, which admits
//! connections through the listener's [`Gate`](super::limits::Gate), and
//! one reader per connection, which authenticates it when there is a secret
//! and hands its messages to the runtime.

use super::auth::{self, AuthError, Opener};
use super::events::{DropReason, NetEvent};
use super::limits::{Limits, Ticket};
use super::transport::{bump, Shared};
use super::wire::{self, MAX_LINE};
use crate::config::Secret;
use crate::paxos::{Message, SiteId};
use futures::StreamExt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Why a handshake line is refused at a site without a secret.
const NO_SECRET: &str = "the peer authenticates with a secret, this site has none \
                         (set \"secret\" in the config or TWEETTUI_SECRET)";

type Inbound = mpsc::Sender<(SiteId, Message)>;
type Lines = Framed<TcpStream, LinesCodec>;

/// Why this site closed an inbound connection.
enum Close {
    /// It broke the protocol: a malformed, oversized or unauthentic line, a
    /// wrong sender.
    Bad(String),
    /// It failed the handshake (or it has a secret and this site has none).
    Refused(String),
    /// It sent nothing useful in time.
    TimedOut(String),
    /// It was pushed out at the connection cap: not yet proven, or quiet.
    PushedOut,
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    inbound: Inbound,
    token: CancellationToken,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => match shared.gate.admit() {
                    Some(ticket) => {
                        readers.spawn(reader(
                            stream,
                            addr,
                            ticket,
                            shared.clone(),
                            inbound.clone(),
                            token.clone(),
                        ));
                    }
                    None => {
                        let Limits { max_connections, idle, .. } = shared.gate.limits();
                        let why = format!(
                            "{max_connections} connections open, none quiet for {idle:?}"
                        );
                        report(&shared, addr, Close::Refused(why));
                    }
                },
                Err(e) => {
                    warn!(site = shared.me, "accepting a peer connection failed: {e}");
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = tokio::time::sleep(ACCEPT_PAUSE) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    readers.shutdown().await;
}

async fn reader(
    stream: TcpStream,
    addr: SocketAddr,
    ticket: Ticket,
    shared: Arc<Shared>,
    inbound: Inbound,
    token: CancellationToken,
) {
    let end = tokio::select! {
        _ = token.cancelled() => return,
        _ = ticket.pushed_out() => Err(Close::PushedOut),
        end = read_connection(stream, addr, &ticket, &shared, &inbound) => end,
    };
    if let Err(close) = end {
        report(&shared, addr, close);
    }
}

/// Counts and logs a closed connection; refusals and bad input at most once
/// per period and address, with how many more there were.
fn report(shared: &Shared, addr: SocketAddr, close: Close) {
    let c = &shared.counters;
    let (counter, what, reason) = match close {
        Close::Bad(r) => (&c.rejected_connections, "bad input", r),
        Close::Refused(r) => (&c.refused, "refused", r),
        Close::TimedOut(r) => (&c.timed_out, "timed out", r),
        Close::PushedOut => {
            bump(&c.pushed_out);
            debug!(site = shared.me, %addr, "peer connection pushed out to make room (connection cap)");
            return;
        }
    };
    bump(counter);
    match shared.inbound_log.check(&addr.ip()) {
        Some(0) => warn!(site = shared.me, %addr, "closing peer connection ({what}): {reason}"),
        Some(n) => warn!(
            site = shared.me,
            %addr,
            "closing peer connection ({what}): {reason} ({n} more from this address not logged)"
        ),
        None => debug!(site = shared.me, %addr, "closing peer connection ({what}): {reason}"),
    }
}

/// What is known of a connection while it is read.
struct Link {
    /// The site it carries messages of (from the handshake, or its first line).
    peer: Option<SiteId>,
    /// With a secret: what checks each line.
    opener: Option<Opener>,
}

/// Reads one inbound connection until it ends (`Ok`) or must be closed.
async fn read_connection(
    stream: TcpStream,
    addr: SocketAddr,
    ticket: &Ticket,
    shared: &Shared,
    inbound: &Inbound,
) -> Result<(), Close> {
    let _ = stream.set_nodelay(true);
    let first_line = shared.gate.limits().first_line;
    let (mut lines, mut link) = match &shared.secret {
        None => {
            let lines = Framed::new(stream, LinesCodec::new_with_max_length(MAX_LINE));
            let link = Link {
                peer: None,
                opener: None,
            };
            (lines, link)
        }
        Some(secret) => match authenticate(stream, addr, secret, shared).await? {
            None => return Ok(()),
            Some((lines, link)) => {
                ticket.proven();
                (lines, link)
            }
        },
    };
    // Until it has proven itself: the first-line deadline.
    let mut deadline = link.opener.is_none().then(|| Instant::now() + first_line);
    loop {
        let line = match next_line(&mut lines, deadline, first_line).await? {
            Some(line) => line,
            None => {
                debug!(site = shared.me, %addr, peer = ?link.peer, "peer connection ended");
                return Ok(());
            }
        };
        if link.opener.is_none() && line.trim().is_empty() {
            continue;
        }
        let (from, seq, msg) = link.read(&line, shared)?;
        if deadline.take().is_some() {
            ticket.proven();
        } else {
            ticket.active();
        }
        if !deliver(shared, inbound, from, seq, msg).await {
            debug!(site = shared.me, "runtime gone: reader stops");
            return Ok(());
        }
    }
}

/// The handshake (lines of at most [`auth::HANDSHAKE_LINE`] bytes), by the
/// first-line deadline. `None` when the peer left during it.
async fn authenticate(
    stream: TcpStream,
    addr: SocketAddr,
    secret: &Secret,
    shared: &Shared,
) -> Result<Option<(Lines, Link)>, Close> {
    let within = shared.gate.limits().first_line;
    let mut lines = Framed::new(
        stream,
        LinesCodec::new_with_max_length(auth::HANDSHAKE_LINE),
    );
    let handshake = auth::accept(&mut lines, secret, shared.me, shared.sites);
    match tokio::time::timeout(within, handshake).await {
        Err(_) => Err(Close::TimedOut(format!("no handshake within {within:?}"))),
        Ok(Err(AuthError::Closed | AuthError::Read(_))) => {
            debug!(site = shared.me, %addr, "peer connection ended during the handshake");
            Ok(None)
        }
        Ok(Err(e)) => Err(Close::Refused(e.to_string())),
        Ok(Ok((peer, opener))) => {
            debug!(site = shared.me, %addr, peer, "peer connection authenticated");
            shared.peer_is_back(peer);
            let link = Link {
                peer: Some(peer),
                opener: Some(opener),
            };
            let lines = lines.map_codec(|_| LinesCodec::new_with_max_length(MAX_LINE));
            Ok(Some((lines, link)))
        }
    }
}

/// The next complete line, by `deadline` if there is one (`first_line`
/// after accept); `None` at the end of the connection.
async fn next_line(
    lines: &mut Lines,
    deadline: Option<Instant>,
    first_line: Duration,
) -> Result<Option<String>, Close> {
    let next = match deadline {
        None => lines.next().await,
        Some(deadline) => match tokio::time::timeout_at(deadline, lines.next()).await {
            Ok(next) => next,
            Err(_) => {
                return Err(Close::TimedOut(format!(
                    "no complete first line within {first_line:?}"
                )))
            }
        },
    };
    match next {
        None => Ok(None),
        Some(Ok(line)) => Ok(Some(line)),
        Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
            Err(Close::Bad(format!("line longer than {MAX_LINE} bytes")))
        }
        Some(Err(LinesCodecError::Io(e))) if e.kind() == io::ErrorKind::InvalidData => {
            Err(Close::Bad(format!("line is not UTF-8 ({e})")))
        }
        Some(Err(LinesCodecError::Io(e))) => {
            debug!("peer connection ended: {e}");
            Ok(None)
        }
    }
}

impl Link {
    /// The sender, number and message of one line, checked: its MAC (with a
    /// secret), its shape, its sender.
    fn read(
        &mut self,
        line: &str,
        shared: &Shared,
    ) -> Result<(SiteId, Option<u64>, Message), Close> {
        let decoded = match &mut self.opener {
            Some(opener) => {
                let plain = opener.open(line).map_err(|e| Close::Bad(e.to_string()))?;
                wire::decode_line(&plain)
            }
            None => wire::decode_line(line),
        };
        let wire::Line { from, seq, msg } = decoded.map_err(|e| {
            if auth::is_handshake(line) {
                Close::Refused(NO_SECRET.to_string())
            } else {
                Close::Bad(e.to_string())
            }
        })?;
        if from == shared.me {
            return Err(Close::Bad(format!(
                "message claims to come from this site ({from})"
            )));
        }
        if from >= shared.sites {
            return Err(Close::Bad(format!(
                "message claims to come from site {from}, but there are {} sites",
                shared.sites
            )));
        }
        match self.peer {
            None => {
                debug!(site = shared.me, from, "peer connection identified");
                self.peer = Some(from);
                shared.peer_is_back(from);
            }
            Some(p) if p != from => {
                return Err(Close::Bad(format!(
                    "message claims to come from site {from} on a connection of site {p}"
                )));
            }
            Some(_) => {}
        }
        Ok((from, seq, msg))
    }
}

/// Hands one message to the runtime, unless the fault filter drops it.
/// False when the runtime is gone.
async fn deliver(
    shared: &Shared,
    inbound: &Inbound,
    from: SiteId,
    seq: Option<u64>,
    msg: Message,
) -> bool {
    if shared.fault().drops_incoming(from) {
        bump(&shared.counters.dropped_fault_in);
        shared.observe(NetEvent::Dropped {
            from,
            to: shared.me,
            seq,
            msg: &msg,
            reason: DropReason::FaultIn,
        });
        return true;
    }
    bump(&shared.counters.received);
    shared.observe(NetEvent::Received {
        from,
        seq,
        msg: &msg,
    });
    inbound.send((from, msg)).await.is_ok()
}
