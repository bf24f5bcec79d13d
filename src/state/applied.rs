//! Which operations the replicated state has applied, so that an operation
//! that reaches the log twice takes effect once.
//!
//! Why the log can hold an operation twice: a submission handed to a leader
//! that then lost its term may have been put in a slot of that term and
//! accepted by a few sites without the submitter ever hearing of it. A later
//! leader can recover that stale accept into the log long after the
//! submitter gave the operation to the new leader (see "Exactly once" in
//! the consensus core). Rather than keep such an operation waiting until it
//! fails, the core hands it on, and applying the log skips every copy after
//! the first: the same rule on every site, so every site computes the same
//! state, and the answer of a submission always names the copy that took
//! effect (the first, which is the first one the submitter learns).
//!
//! The memory this costs follows the gaps, not the history: a submitter's
//! sequence numbers are applied almost in order, so each (site, boot) keeps
//! a few coalesced ranges.

use super::op::OpId;
use rangemap::RangeSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The set of applied [`OpId`]s, as ranges of sequence numbers per
/// submitting (site, boot).
///
/// In JSON (checkpoints): `[[site, boot, [{"start": a, "end": b}, ...]], ...]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<BootRanges>", into = "Vec<BootRanges>")]
pub struct AppliedOps {
    by_boot: BTreeMap<(u32, u64), RangeSet<u64>>,
}

/// One submitter's applied sequence numbers, as stored.
type BootRanges = (u32, u64, RangeSet<u64>);

impl From<Vec<BootRanges>> for AppliedOps {
    fn from(rows: Vec<BootRanges>) -> Self {
        let mut by_boot: BTreeMap<(u32, u64), RangeSet<u64>> = BTreeMap::new();
        for (site, boot, ranges) in rows {
            by_boot.entry((site, boot)).or_default().extend(ranges);
        }
        AppliedOps { by_boot }
    }
}

impl From<AppliedOps> for Vec<BootRanges> {
    fn from(a: AppliedOps) -> Self {
        a.by_boot
            .into_iter()
            .map(|((site, boot), ranges)| (site, boot, ranges))
            .collect()
    }
}

impl AppliedOps {
    /// Records `id` as applied; false when it already was (a later copy).
    pub fn insert(&mut self, id: OpId) -> bool {
        let Some(end) = id.seq.checked_add(1) else {
            // The one sequence number a range cannot hold: never issued
            // (sequences count up from 1), so take it as new, once.
            return true;
        };
        let ranges = self.by_boot.entry((id.site, id.boot)).or_default();
        if ranges.contains(&id.seq) {
            return false;
        }
        ranges.insert(id.seq..end);
        true
    }

    pub fn contains(&self, id: OpId) -> bool {
        self.by_boot
            .get(&(id.site, id.boot))
            .is_some_and(|r| r.contains(&id.seq))
    }

    /// How many ranges are kept, all submitters together (what the set
    /// costs).
    pub fn ranges(&self) -> usize {
        self.by_boot.values().map(|r| r.iter().count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(site: u32, boot: u64, seq: u64) -> OpId {
        OpId { site, boot, seq }
    }

    #[test]
    fn a_second_copy_is_refused_and_ranges_coalesce() {
        let mut a = AppliedOps::default();
        for seq in 1..=1000 {
            assert!(a.insert(id(0, 7, seq)));
        }
        assert!(!a.insert(id(0, 7, 500)), "a second copy");
        assert!(a.insert(id(0, 8, 500)), "another boot is another submitter");
        assert!(a.insert(id(1, 7, 500)), "another site too");
        assert_eq!(a.ranges(), 3);
        // A gap (a submission that failed) costs one more range, and closes
        // when the late copy arrives.
        assert!(a.insert(id(0, 7, 1002)));
        assert_eq!(a.ranges(), 4);
        assert!(a.insert(id(0, 7, 1001)));
        assert_eq!(a.ranges(), 3);
        assert!(a.contains(id(0, 7, 1001)) && !a.contains(id(0, 7, 1003)));
    }

    #[test]
    fn round_trips_through_json() {
        let mut a = AppliedOps::default();
        for seq in [1, 2, 3, 7, 9] {
            a.insert(id(2, 0xabc, seq));
        }
        let json = serde_json::to_string(&a).expect("encode");
        let back: AppliedOps = serde_json::from_str(&json).expect("decode");
        assert_eq!(a, back);
    }
}
