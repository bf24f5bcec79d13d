//! The peer transport: how sites carry [`Message`](crate::paxos::Message)s to
//! each other (SPEC section 7). A thin shell with no consensus logic.
//!
//! - [`wire`]: one JSON object per line, `{"from": i, "head": "<kind>", "body": {...}}`,
//!   at most [`MAX_LINE`] bytes per line.
//! - [`fault`]: the network filter of the `fault` control command.
//! - [`transport`]: the [`NetHandle`] the runtime sends through; its tasks
//!   are the listener and one reader per inbound connection ([`inbound`]),
//!   and one dialer per peer, reconnecting with backoff ([`outbound`]).
//! - [`auth`]: with a cluster secret, the handshake that opens every
//!   connection and the MAC on every line after it.
//! - [`limits`]: the cap on inbound connections and the deadlines for a
//!   first line and between lines (the control endpoint uses them too).
//!
//! Each direction has its own TCP connection: messages to peer P travel on
//! the connection this site dialed to P, messages from P arrive on
//! connections P dialed to us. Sending never blocks: each peer has a bounded
//! queue, and a message that does not fit is dropped (Paxos tolerates loss).

pub mod auth;
pub mod events;
pub mod fault;
mod inbound;
pub mod limits;
mod outbound;
pub mod transport;
pub mod wire;

#[cfg(test)]
mod tests;

pub use events::{DropReason, NetEvent, Observer};
pub use fault::Fault;
pub use limits::{Gate, Limits};
pub use transport::{
    start, start_with_listener, NetConfig, NetError, NetHandle, NetStats, PeerAddr, QUEUE_CAPACITY,
};
pub use wire::{decode, decode_line, encode, encode_seq, WireError, MAX_LINE};
