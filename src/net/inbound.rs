//! The inbound side of the transport: the accept loop, and one reader per
//! connection, which hands the connection's messages to the runtime.

use super::events::{DropReason, NetEvent};
use super::transport::{bump, Shared};
use super::wire::{self, MAX_LINE};
use crate::paxos::{Message, SiteId};
use futures::StreamExt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Pause after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    inbound: mpsc::Sender<(SiteId, Message)>,
    token: CancellationToken,
) {
    let mut readers = JoinSet::new();
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            Some(_) = readers.join_next(), if !readers.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    readers.spawn(reader(
                        stream,
                        addr,
                        shared.clone(),
                        inbound.clone(),
                        token.clone(),
                    ));
                }
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
    shared: Arc<Shared>,
    inbound: mpsc::Sender<(SiteId, Message)>,
    token: CancellationToken,
) {
    tokio::select! {
        _ = token.cancelled() => {}
        end = read_lines(stream, addr, &shared, &inbound) => {
            if let Err(reason) = end {
                bump(&shared.counters.rejected_connections);
                warn!(site = shared.me, %addr, "closing peer connection: {reason}");
            }
        }
    }
}

/// Reads one inbound connection until it ends (`Ok`) or breaks the protocol
/// (`Err` with the reason; the connection is then closed by the caller
/// dropping it).
async fn read_lines(
    stream: TcpStream,
    addr: SocketAddr,
    shared: &Shared,
    inbound: &mpsc::Sender<(SiteId, Message)>,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let mut lines = FramedRead::new(stream, LinesCodec::new_with_max_length(MAX_LINE));
    let mut peer: Option<SiteId> = None;
    while let Some(line) = lines.next().await {
        let line = match line {
            Ok(line) => line,
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                return Err(format!("line longer than {MAX_LINE} bytes"));
            }
            Err(LinesCodecError::Io(e)) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(format!("line is not UTF-8 ({e})"));
            }
            Err(LinesCodecError::Io(e)) => {
                debug!(site = shared.me, %addr, ?peer, "peer connection ended: {e}");
                return Ok(());
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let wire::Line { from, seq, msg } = wire::decode_line(&line).map_err(|e| e.to_string())?;
        if from == shared.me {
            return Err(format!("message claims to come from this site ({from})"));
        }
        if from >= shared.sites {
            return Err(format!(
                "message claims to come from site {from}, but there are {} sites",
                shared.sites
            ));
        }
        match peer {
            None => {
                debug!(site = shared.me, %addr, from, "peer connection identified");
                peer = Some(from);
            }
            Some(p) if p != from => {
                return Err(format!(
                    "message claims to come from site {from} on a connection of site {p}"
                ));
            }
            Some(_) => {}
        }
        if shared.fault().drops_incoming(from) {
            bump(&shared.counters.dropped_fault_in);
            shared.observe(NetEvent::Dropped {
                from,
                to: shared.me,
                seq,
                msg: &msg,
                reason: DropReason::FaultIn,
            });
            continue;
        }
        bump(&shared.counters.received);
        shared.observe(NetEvent::Received {
            from,
            seq,
            msg: &msg,
        });
        if inbound.send((from, msg)).await.is_err() {
            debug!(site = shared.me, "runtime gone: reader stops");
            return Ok(());
        }
    }
    Ok(())
}
