//! The consensus core: Multi-Paxos as a pure state machine ("sans-IO").
//!
//! - [`types`]: ballots, slots, messages, durable records, trace events.
//! - [`durable`]: the acceptor state rebuilt from records at start-up.
//! - [`core`]: the state machine: `Core::step(now, Input) -> Output`.

pub mod core;
pub mod durable;
pub mod types;

pub use self::core::{Completion, Core, CoreConfig, Defects, Input, Output, ServeRequest};
pub use durable::AcceptorState;
pub use types::*;
