//! What the state's two test files share: four users and a command of
//! site 0.

use super::op::{Command, Op, OpId};

pub(super) const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];

pub(super) fn users() -> Vec<String> {
    USERS.iter().map(|s| s.to_string()).collect()
}

pub(super) fn cmd(seq: u64, op: Op) -> Command {
    Command {
        id: OpId {
            site: 0,
            boot: 1,
            seq,
        },
        op,
    }
}
