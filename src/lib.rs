//! tweettui: a Twitter with no server. See README.md and SPEC.md.

pub mod bench;
pub mod config;
pub mod ctl;
pub mod demo;
pub mod engine;
pub mod logs;
pub mod net;
pub mod paxos;
pub mod signal;
pub mod site;
pub mod state;
pub mod storage;
pub mod ui;
