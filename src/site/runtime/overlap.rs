//! The site's loop keeps reading while a batch is synced.
//!
//! A sync takes as long as a network round trip or several (70 µs to
//! milliseconds here). Waiting for it before reading the next input made
//! every input that came meanwhile wait too: a follower read a client's
//! submission only after its own sync, so the forward to the leader left
//! late (208 µs at the median for a 15 µs round trip, `bench --breakdown
//! --clients 3`), and a leader read its followers' acks late. So while the
//! store syncs a batch on the blocking pool, the loop goes on reading peer
//! messages and control requests and stepping the core with them. Of what
//! those steps output, `send_now` leaves at once (it announces nothing
//! durable: the core's rule 1, which covers earlier outputs too); the rest
//! waits in `overlap` and is carried out after the batch, as the next one
//! (group commit), in order.

use super::*;
use crate::site::probe::Batch;

/// The inputs the loop reads while a batch is synced.
pub(super) struct Reading<'a> {
    pub inbound: &'a mut mpsc::Receiver<(SiteId, Message)>,
    pub requests: &'a mut mpsc::Receiver<(Request, oneshot::Sender<Reply>)>,
}

impl Runtime {
    /// Runs `f` on the store on tokio's blocking pool, as `with_store`
    /// does, reading `reading` meanwhile (see the module documentation);
    /// `settle` (of `batch`, whose slots are archived) is settled as soon
    /// as `f` is on its way (see `make_durable`). Not while recording (a
    /// recording lists each batch's events before its messages) nor with
    /// the bench's `--serial-leader-write` (whose point is the old order):
    /// the loop then waits as before, and settles after `f`.
    pub(super) async fn sync_reading<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Store) -> anyhow::Result<T> + Send + 'static,
        reading: &mut Reading<'_>,
        settle: Settle,
        batch: &mut Batch,
    ) -> anyhow::Result<T> {
        if self.sink.active() || self.hooks.serial_leader_write {
            let r = self.with_store(f).await?;
            self.settle(settle, batch)?;
            return Ok(r);
        }
        let mut job = self.spawn_on_store(f)?;
        // An error of settling, or of a request read meanwhile: returned
        // once the store is back (it must never be left on the blocking
        // pool).
        let mut failed = self.settle(settle, batch).err();
        let (mut peers, mut clients) = (true, true);
        loop {
            tokio::select! {
                biased;
                done = &mut job => {
                    let r = self.store_back(done);
                    return match failed {
                        Some(e) => Err(e),
                        None => r,
                    };
                }
                msg = reading.inbound.recv(), if peers && failed.is_none() => match msg {
                    Some((from, msg)) => {
                        let out = self.core.step(self.now(), Input::Message { from, msg });
                        self.overlap(out);
                    }
                    // The loop sees the closed channel after the batch.
                    None => peers = false,
                },
                req = reading.requests.recv(), if clients && failed.is_none() => match req {
                    Some((req, reply)) => {
                        let mut out = Output::default();
                        match self.handle_request(req, reply, &mut out).await {
                            Ok(()) => self.overlap(out),
                            Err(e) => failed = Some(e),
                        }
                    }
                    None => clients = false,
                },
            }
        }
    }

    /// An output of an input read while a batch is synced: its `send_now`
    /// leaves at once, the rest joins `overlap` for the next batch.
    fn overlap(&mut self, mut out: Output) {
        send_grouped(&self.net, std::mem::take(&mut out.send_now));
        self.overlap.append(out);
    }
}
