//! The site's checkpoint: the derived state made durable, then
//! `checkpoint.json` (SPEC 6). In a file of its own so that the runtime's
//! loop stays readable.

use super::*;

impl Runtime {
    /// Makes the state durable and writes the checkpoint (acceptor state
    /// and where the WAL starts; the state is no longer in it). Both cost
    /// what changed since the last checkpoint, not the history: redb's
    /// durable commit writes the pages touched since, and `checkpoint.json`
    /// is small. The durable commit runs on a thread of its own beside the
    /// archive sync and the WAL rotation, and must end before the checkpoint
    /// says `applied` (the WAL before it is then deleted); a crash between
    /// the two leaves the state ahead of the checkpoint, which start-up
    /// handles.
    pub(super) async fn checkpoint(&mut self) -> anyhow::Result<()> {
        let applied = self.applied;
        let acceptor = self.core.acceptor_snapshot();
        let durable = self.state.durable();
        let (state_ms, total_ms) = self
            .with_store(move |store| {
                let started = Instant::now();
                let commit = durable.map(|d| {
                    std::thread::spawn(move || {
                        let t = Instant::now();
                        d.commit().map(|()| t.elapsed().as_secs_f64() * 1e3)
                    })
                });
                let mut state_ms = 0.0;
                store.checkpoint_after(applied, &acceptor, || -> anyhow::Result<()> {
                    if let Some(h) = commit {
                        let r = h
                            .join()
                            .map_err(|_| anyhow!("the state's durable commit panicked"));
                        state_ms = r??;
                    }
                    Ok(())
                })?;
                Ok((state_ms, started.elapsed().as_secs_f64() * 1e3))
            })
            .await?;
        self.since_checkpoint = 0;
        tracing::info!(
            "checkpoint at slot {applied} in {total_ms:.1} ms (the state's durable commit, beside it: {state_ms:.1} ms)"
        );
        Ok(())
    }
}
