//! What an acceptor keeps on stable storage, rebuilt from the records the core
//! emitted. The storage layer and the simulator both replay records through
//! [`AcceptorState::apply`], so both restore a site exactly the same way.

use super::types::{Ballot, Record, Slot};
use crate::state::op::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The durable part of one site's consensus state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptorState {
    /// The highest ballot promised (for every slot).
    pub promised: Ballot,
    /// Accepted (ballot, value) of slots not known decided here.
    pub accepted: BTreeMap<Slot, (Ballot, Value)>,
    /// Decided values not yet folded into a checkpoint (the runtime applies
    /// and archives the contiguous ones at start-up).
    pub decided: BTreeMap<Slot, Value>,
    /// The site lost its disk and has not finished rejoining: it does not
    /// vote (see "Rejoin" in the core).
    #[serde(default)]
    pub rejoining: bool,
}

impl AcceptorState {
    /// Replays one record. Records are idempotent and commutative enough that
    /// replaying a record twice (a torn batch rewritten) changes nothing.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Promise { ballot } => {
                self.promised = self.promised.max(*ballot);
            }
            Record::Accept {
                slot,
                ballot,
                value,
            } => {
                self.promised = self.promised.max(*ballot);
                if self.decided.contains_key(slot) {
                    return;
                }
                let newer = self.accepted.get(slot).is_none_or(|(b, _)| ballot >= b);
                if newer {
                    self.accepted.insert(*slot, (*ballot, value.clone()));
                }
            }
            Record::Decide { slot, value } => {
                self.accepted.remove(slot);
                self.decided.insert(*slot, value.clone());
            }
            Record::Rejoining => self.rejoining = true,
            Record::Voting => self.rejoining = false,
        }
    }

    /// Nothing at all: a data dir that was just created (or wiped).
    pub fn is_empty(&self) -> bool {
        *self == AcceptorState::default()
    }

    /// Forgets decided values below `slot` (they are in a checkpoint and the
    /// archive now) and accepted values of those slots.
    pub fn forget_below(&mut self, slot: Slot) {
        self.decided = self.decided.split_off(&slot);
        self.accepted = self.accepted.split_off(&slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_keeps_the_highest_ballot_and_decide_wins() {
        let mut s = AcceptorState::default();
        let b1 = Ballot::new(1, 0);
        let b2 = Ballot::new(2, 1);
        s.apply(&Record::Accept {
            slot: 3,
            ballot: b2,
            value: Value::noop(),
        });
        s.apply(&Record::Accept {
            slot: 3,
            ballot: b1,
            value: Value::noop(),
        });
        assert_eq!(s.accepted[&3].0, b2);
        assert_eq!(s.promised, b2);
        s.apply(&Record::Decide {
            slot: 3,
            value: Value::noop(),
        });
        assert!(s.accepted.is_empty());
        s.apply(&Record::Accept {
            slot: 3,
            ballot: Ballot::new(9, 0),
            value: Value::noop(),
        });
        assert!(s.accepted.is_empty(), "a decided slot takes no accept");
        s.forget_below(4);
        assert!(s.decided.is_empty());
    }
}
