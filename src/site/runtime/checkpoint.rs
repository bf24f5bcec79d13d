//! The site's checkpoint: the derived state made durable, then
//! `checkpoint.json` (SPEC 6), without holding the loop (issue 14: no loop
//! stall over 20 ms from a checkpoint). In a file of its own so that the
//! runtime's loop stays readable.
//!
//! On the loop, only what must be ordered with the appends and the applies:
//! the pending applies written into `state.redb` (none, normally), the
//! acceptor state taken, and appends switched to a WAL segment created in
//! advance ([`Store::checkpoint_begin`]): a swap of handles. Everything that
//! syncs runs on the blocking pool while the loop goes on: the archive
//! sync, the trim of the old segment, redb's durable commit (on a thread of
//! its own beside them; applies meanwhile are kept in memory, see
//! `crate::state`), `checkpoint.json`, the deletion of the old segments,
//! and the next spare segment. See `crate::storage::CheckpointJob` for why
//! a crash at any point of it is safe.
//!
//! One background job at a time: a checkpoint that falls due while one runs
//! waits for it (the loop goes on; it starts at the first iteration after
//! it ended). The loop collects a job's end at each iteration; an error
//! surfaces there like any other of the disk (see `disk`). A clean stop,
//! and a reopen after a failing disk, wait for the job in flight.

use super::*;
use crate::storage::{CheckpointJob, Spare};

/// What a background job did, for the loop to install and log.
pub(super) struct Done {
    /// The segment the next checkpoint switches to.
    spare: Spare,
    /// For a checkpoint: (its slot, ms on the loop, ms beside it, ms of
    /// the state's durable commit).
    checkpoint: Option<(Slot, f64, f64, f64)>,
}

/// A background job in flight.
pub(super) type Job = JoinHandle<anyhow::Result<Done>>;

impl Runtime {
    /// Starts a checkpoint if one is due and no background job runs; when
    /// no spare segment is ready, starts the job that makes one instead
    /// (the checkpoint then starts once it is installed).
    pub(super) fn maybe_checkpoint(&mut self) -> anyhow::Result<()> {
        if self.since_checkpoint < CHECKPOINT_EVERY || self.job.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let store = self
            .store
            .as_mut()
            .ok_or_else(|| anyhow!("storage is not available"))?;
        if !store.has_spare() {
            let spare = store.spare_job()?;
            self.job = Some(tokio::task::spawn_blocking(move || {
                Ok(Done {
                    spare: spare.run()?,
                    checkpoint: None,
                })
            }));
            return Ok(());
        }
        // The durable commit must find every applied slot in the file
        // (`durable` writes those still in memory). No job runs, so nothing
        // holds redb's writer: this does not wait.
        let durable = self.state.durable()?;
        let acceptor = self.core.acceptor_snapshot();
        let job = store.checkpoint_begin(self.applied, acceptor)?;
        let applied = job.applied();
        let spare = store.spare_job()?;
        let on_loop_ms = started.elapsed().as_secs_f64() * 1e3;
        self.since_checkpoint = 0;
        self.busy_in_checkpoint = Some(Duration::ZERO);
        self.job = Some(tokio::task::spawn_blocking(move || {
            let (beside_ms, state_ms) = checkpoint_beside(job, durable)?;
            Ok(Done {
                spare: spare.run()?,
                checkpoint: Some((applied, on_loop_ms, beside_ms, state_ms)),
            })
        }));
        Ok(())
    }

    /// Collects the background job if it has ended (with `wait`: waits for
    /// it), installs its spare segment and logs its checkpoint. Its error
    /// is returned here.
    pub(super) async fn reap_job(&mut self, wait: bool) -> anyhow::Result<()> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        if !wait && !job.is_finished() {
            return Ok(());
        }
        let result = job.await;
        self.job = None;
        let during = self.busy_in_checkpoint.take().unwrap_or_default();
        let done = result.context("the checkpoint task failed")??;
        let store = self
            .store
            .as_mut()
            .ok_or_else(|| anyhow!("storage is not available"))?;
        store.install_spare(done.spare)?;
        if let Some((applied, on_loop_ms, beside_ms, state_ms)) = done.checkpoint {
            let kept = self.state.take_deferred_writes();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let during = ms(during);
            let busy = ms(std::mem::take(&mut self.longest_busy));
            tracing::info!(
                "checkpoint at slot {applied}: {on_loop_ms:.2} ms on the loop, {beside_ms:.1} ms \
                 beside it (the state's durable commit: {state_ms:.1} ms; {kept} applies kept \
                 in memory meanwhile); the loop was busy {during:.1} ms at most meanwhile, \
                 {busy:.1} ms at most since the previous one"
            );
        }
        Ok(())
    }
}

/// The part of a checkpoint beside the loop: `job`, with the state's
/// durable commit on a thread of its own beside the archive sync and the
/// trim (it must end before `checkpoint.json` says `applied`: a crash
/// between the two leaves the state ahead of the checkpoint, which
/// start-up handles). Returns (ms in all, ms of the durable commit).
fn checkpoint_beside(
    job: CheckpointJob,
    durable: Option<crate::state::Durable>,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let commit = durable.map(|d| {
        std::thread::spawn(move || {
            let t = Instant::now();
            d.commit().map(|()| t.elapsed().as_secs_f64() * 1e3)
        })
    });
    let mut state_ms = 0.0;
    job.run(|| -> anyhow::Result<()> {
        if let Some(h) = commit {
            let r = h
                .join()
                .map_err(|_| anyhow!("the state's durable commit panicked"));
            state_ms = r??;
        }
        Ok(())
    })?;
    Ok((started.elapsed().as_secs_f64() * 1e3, state_ms))
}
