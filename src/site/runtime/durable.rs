//! Steps 2, 3 and 5 of `Runtime::carry_out`: a batch's records made
//! durable, its decided slots archived and applied, its submissions
//! answered, in the order the core allows (see "Decisions need no sync"
//! in `paxos::core`): an answer waits for the archive write, not for the
//! sync of the batch's other records.

use super::overlap::Reading;
use super::*;
use crate::site::probe::Batch;

/// The part of a core output that follows its decided slots' archive
/// write (see `Runtime::settle`).
pub(super) struct Settle {
    pub committed: Vec<(Slot, Value)>,
    pub completed: Vec<Completion>,
    pub failed: Vec<OpId>,
}

impl Runtime {
    /// Steps 2, 3 and 5 of `carry_out`: the new decided slots archived
    /// (page-cache writes on the loop, not synced: see `checkpoint`); the
    /// records made durable (one sync on the blocking pool), or kept for
    /// the next sync when they may be lazy (decisions: see "Decisions need
    /// no sync" in `paxos::core`); the slots applied and their submissions
    /// answered (`settle`).
    ///
    /// A batch with records to sync answers its submissions while they
    /// are synced: those records are this site's own votes (and promises)
    /// on other slots, which the answers do not announce, while the
    /// decisions they announce are durable at a quorum already (every vote
    /// counted was durable). So an answer waits for the archive write
    /// (microseconds), not for the sync (hundreds of them: under load,
    /// most batches of a follower hold accepts as well as decisions); a
    /// decision is still archived before it is answered. Not while
    /// recording nor with `--serial-leader-write`: the old order then
    /// (answers after the sync; see `sync_reading`).
    pub(super) async fn make_durable(
        &mut self,
        mut records: Vec<Record>,
        durability: Durability,
        settle: Settle,
        reading: &mut Reading<'_>,
        batch: &mut Batch,
    ) -> anyhow::Result<()> {
        let lazy = durability == Durability::Lazy || records.is_empty();
        if !(records.is_empty() && settle.committed.is_empty()) {
            // Page-cache writes, cheaper here than a hop to the blocking
            // pool and back (measured: 60 of the 90 µs between a decision
            // and its answer at C=1).
            let store = self
                .store
                .as_mut()
                .ok_or_else(|| anyhow!("storage is not available"))?;
            store.archive_all(&settle.committed)?;
            if lazy {
                store.append_lazy(std::mem::take(&mut records))?;
            }
        }
        batch.archived();
        if lazy {
            batch.synced();
            return self.settle(settle, batch);
        }
        let sync = move |store: &mut Store| Ok(store.append(&records)?);
        self.sync_reading(sync, reading, settle, batch).await?;
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
