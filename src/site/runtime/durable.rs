//! Steps 2, 3 and 5 of `Runtime::carry_out`: a batch's records made
//! durable, its decided slots archived and applied, its submissions
//! answered, in the order the core allows (see "Decisions need no sync"
//! in `paxos::core`): an answer waits for the archive write, not for the
//! sync of the batch's other records.

use super::overlap::{AfterArchive, Reading};
use super::*;
use crate::site::probe::Batch;

/// The part of a core output that follows its decided slots' archive
/// write (see `Runtime::settle`).
pub(super) struct Settle {
    pub committed: Vec<(Slot, Value)>,
    pub completed: Vec<Completion>,
    pub failed: Vec<OpId>,
}

/// What the blocking storage step writes.
struct StoreWork {
    records: Vec<Record>,
    archive: Vec<(Slot, Value)>,
}

impl Runtime {
    /// Steps 2, 3 and 5 of `carry_out`: the records made durable (one
    /// sync), or kept for the next sync when they may be lazy (decisions:
    /// see "Decisions need no sync" in `paxos::core`); the new decided
    /// slots archived (not synced either: see `checkpoint`), then applied
    /// and their submissions answered (`settle`).
    ///
    /// A batch with records to sync answers its submissions once its
    /// slots are archived, before its records are durable: those records
    /// are this site's own votes (and promises) on other slots, which the
    /// answers do not announce, while the decisions they announce are
    /// durable at a quorum already (every vote counted was durable). So an
    /// answer waits for the archive write (page cache, microseconds), not
    /// for the sync (hundreds of them: under load, most batches of a
    /// follower hold accepts as well as decisions). The archive is written
    /// first in the job, so a decision is still archived before it is
    /// answered. Not while recording nor with `--serial-leader-write`:
    /// the old order then (answers after the sync).
    pub(super) async fn make_durable(
        &mut self,
        records: Vec<Record>,
        durability: Durability,
        settle: Settle,
        reading: &mut Reading<'_>,
        batch: &mut Batch,
    ) -> anyhow::Result<()> {
        if durability == Durability::Lazy || records.is_empty() {
            // Nothing to sync: page-cache writes of the archive, cheaper
            // here than a hop to the blocking pool and back (measured: 60
            // of the 90 µs between a decision and its answer at C=1).
            if !(records.is_empty() && settle.committed.is_empty()) {
                let store = self
                    .store
                    .as_mut()
                    .ok_or_else(|| anyhow!("storage is not available"))?;
                store.append_lazy(records)?;
                store.archive_all(&settle.committed)?;
            }
            batch.archived();
            batch.synced();
            return self.settle(settle, batch);
        }
        let work = StoreWork {
            records,
            archive: settle.committed.clone(),
        };
        let (archived, when_archived) = oneshot::channel();
        let sync = move |store: &mut Store| {
            store.archive_all(&work.archive)?;
            let _ = archived.send(());
            store.append(&work.records)?;
            Ok(())
        };
        let after_archive = AfterArchive {
            archived: when_archived,
            settle,
        };
        self.sync_reading(sync, reading, Some(after_archive), batch)
            .await?;
        batch.synced();
        Ok(())
    }

    /// Steps 3 and 5 of the core's order, once `s.committed` is archived:
    /// the decided slots applied (one write of the state for the whole
    /// batch, not synced: the slots are durable at a quorum and in the
    /// archive; see `checkpoint`), the UI told of them once they can be
    /// read, and the submissions that finished answered.
    pub(super) fn settle(&mut self, s: Settle, batch: &mut Batch) -> anyhow::Result<()> {
        apply_decided(&mut self.state, &self.name, &s.committed)?;
        for (slot, value) in s.committed {
            self.applied = self.applied.max(slot + 1);
            self.since_checkpoint += 1;
            self.emit(SiteEvent::Committed { slot, value });
        }
        batch.applied();
        self.answer(s.completed, s.failed);
        Ok(())
    }
}
