//! The site runtime: owns the consensus core, storage and timers; serves the
//! control protocol; feeds the UI.

pub mod api;
pub mod control;
pub mod probe;
pub mod record;
pub mod runtime;
