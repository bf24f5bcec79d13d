//! The disk of a site: what survives its crash. The WAL is the bytes the
//! real encoder writes (one batch per group commit), page by page, so that
//! a power loss in the middle of a group commit leaves any subset of the
//! batch's pages on the disk; the real WAL recovery then decides what
//! survived (it must start, and keep exactly the synced batches).
//!
//! A group commit is first *in flight* (`unsynced`): written, not yet
//! synced. Its records reach the WAL when its sync completes (at once, or
//! at a queued sync event the driver orders among message deliveries); a
//! crash before that loses them, and a power failure during the sync of
//! the oldest one keeps any subset of its pages. Decisions alone
//! (`Durability::Lazy`) are not written at all: they wait in memory for
//! the next group commit, and a crash before it loses them.

use super::{Engine, EngineError, Env, SyncId};
use crate::paxos::{AcceptorState, Record, SiteId, Slot};
use crate::state::op::Value;
use crate::state::State;
use crate::storage::{encode_wal_batch, recover_wal_segment, WAL_PAGE};

/// What survives a crash of one site.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The WAL segment's bytes since the last checkpoint, as the real
    /// storage code writes them; past its end, preallocated zeros.
    pub wal: Vec<u8>,
    /// Records in the batches whose sync completed.
    pub synced: usize,
    /// The group commits in flight, oldest first: written, not synced.
    pub unsynced: Vec<(SyncId, Vec<Record>)>,
    /// Decisions not yet written (`Durability::Lazy`, the real store's
    /// `append_lazy`): in the site's memory, so any crash loses them; the
    /// next group commit writes them first.
    pub lazy: Vec<Record>,
    /// The last checkpoint: applied slots, state, acceptor state.
    pub checkpoint: Option<(Slot, State, AcceptorState)>,
    /// Decided values in slot order (the archive).
    pub archive: Vec<Value>,
}

/// What a site starts from: its checkpoint and the records of its WAL.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// Slots folded into `state` (and in the archive).
    pub applied: Slot,
    pub state: State,
    pub acceptor: AcceptorState,
}

impl Engine {
    /// Writes one group commit into a site's WAL bytes. With `torn`, the
    /// power fails during it: each page the batch touches reaches the disk
    /// or not, as `env` says. Returns whether the whole batch is there.
    pub(super) fn write_batch(
        &mut self,
        site: SiteId,
        records: &[Record],
        torn: bool,
        env: &mut dyn Env,
    ) -> bool {
        if records.is_empty() {
            return true;
        }
        // The flawed WAL writes a group commit as one batch per record, so
        // that a torn write can keep part of it.
        let batches: Vec<&[Record]> = if self.cfg.wal_record_by_record {
            records.chunks(1).collect()
        } else {
            vec![records]
        };
        let mut bytes = Vec::new();
        for batch in batches {
            match encode_wal_batch(batch) {
                Ok(b) => bytes.extend(b),
                Err(_) => return false,
            }
        }
        let disk = &mut self.sites[site as usize].disk;
        let start = disk.wal.len();
        let end = start + bytes.len();
        let mut image = std::mem::take(&mut disk.wal);
        image.resize(end, 0);
        let mut whole = true;
        let mut p = start / WAL_PAGE * WAL_PAGE;
        while p < end {
            let (lo, hi) = (p.max(start), (p + WAL_PAGE).min(end));
            let reaches = !torn || env.page_reaches();
            if reaches {
                image[lo..hi].copy_from_slice(&bytes[lo - start..hi - start]);
            }
            whole &= reaches;
            p += WAL_PAGE;
        }
        if whole {
            disk.synced += records.len();
        } else {
            // What did not reach the disk is zeros (preallocated space).
            while image.last() == Some(&0) && image.len() > start {
                image.pop();
            }
        }
        disk.wal = image;
        whole
    }

    /// What a site would start from: its checkpoint, and the WAL as the
    /// real recovery reads it (the WAL is cut to its good end). A site that
    /// cannot start, or that recovers other records than were synced, is
    /// an error.
    pub fn recover(&mut self, site: SiteId) -> Result<Recovered, EngineError> {
        let users = self.cfg.users.clone();
        let disk = &mut self.sites[site as usize].disk;
        let (applied, state, mut acceptor) = match &disk.checkpoint {
            Some((a, st, acc)) => (*a, st.clone(), acc.clone()),
            None => (0, State::new(users), AcceptorState::default()),
        };
        let path = std::path::Path::new("engine.wal");
        let recovered = recover_wal_segment(&disk.wal, path)
            .map_err(|e| EngineError(format!("site {site} refuses to start after a crash: {e}")))?;
        if recovered.records.len() != disk.synced {
            return Err(EngineError(format!(
                "durability: site {site} recovered {} WAL records, {} were synced",
                recovered.records.len(),
                disk.synced
            )));
        }
        disk.wal.truncate(recovered.good_end as usize);
        for r in &recovered.records {
            acceptor.apply(r);
        }
        Ok(Recovered {
            applied,
            state,
            acceptor,
        })
    }

    /// Checkpoints the site now and then: the WAL starts again empty.
    /// Atomic here; the real store takes the acceptor state and switches
    /// WAL segment at one point and writes `checkpoint.json` later, beside
    /// the loop (`storage::CheckpointJob`), keeping every segment since the
    /// previous checkpoint until then. A crash before it lands recovers the
    /// previous checkpoint with the whole WAL since, which is what this
    /// model gives with no checkpoint taken; after, this one: the same two
    /// outcomes, so the model stands.
    pub(super) fn maybe_checkpoint(&mut self, site: SiteId) {
        let every = self.cfg.checkpoint_every;
        let s = &mut self.sites[site as usize];
        // Not while a write is in flight: the core's state is ahead of
        // the disk then, and a checkpoint would make unsynced state durable.
        if s.since_checkpoint < every || !s.disk.unsynced.is_empty() {
            return;
        }
        if let Some(core) = &s.core {
            s.disk.checkpoint = Some((
                s.state.next_slot(),
                s.state.clone(),
                core.acceptor_snapshot(),
            ));
            s.disk.wal.clear();
            s.disk.synced = 0;
            s.since_checkpoint = 0;
        }
    }
}
