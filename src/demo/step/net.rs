//! The network of step mode: every message takes [`LATENCY_MS`](super::LATENCY_MS),
//! plus what the link matrix (`m`, [`Links`]) sets. It is the engine's
//! [`Env`]: the engine asks it, for each message sent over a link that is
//! up, how many copies travel and when they arrive.
//!
//! The matrix means here what it means in the live demo (`ui/links.rs`):
//!
//! - a direction that is down is a cut link of the engine
//!   ([`Engine::set_cut`](crate::engine::Engine::set_cut)): a message sent
//!   on it is lost at once (the trace shows the drop; it never enters the
//!   in-flight pane), and a message already in flight on it stays listed,
//!   marked ✂, and is lost when it is delivered (a cut connection loses
//!   what was on the wire);
//! - a site's loss draws on every message it sends and every one it
//!   receives: a message from a to b is lost with the probability that
//!   either draw loses it, drawn from this network's own random numbers
//!   (seeded from the run's seed, so the same seed and steps lose the same
//!   messages; a run without loss draws nothing);
//! - a site's delay adds to every message it sends (and to the copies of
//!   them that `D` makes).

use crate::engine::{Copies, Env};
use crate::paxos::SiteId;
use crate::ui::links::Links;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Set apart from the stepper's own random numbers (chatter, the cores'
/// seeds), so that losing messages changes nothing else of a run.
const LOSS_STREAM: u64 = 0x6c6f_7373; // "loss"

/// Step mode's [`Env`].
pub struct StepNet {
    pub latency_ms: u64,
    /// The matrix as the steps set it.
    pub links: Links,
    rng: ChaCha8Rng,
}

impl StepNet {
    /// `n` sites, every link up, no loss, no delay.
    pub fn new(n: usize, latency_ms: u64, seed: u64) -> StepNet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(LOSS_STREAM);
        StepNet {
            latency_ms,
            links: Links::new(n),
            rng,
        }
    }

    /// The time a message sent now from `from` takes.
    pub fn delay_from(&self, from: SiteId) -> u64 {
        self.latency_ms + self.links.delay(from as usize)
    }

    /// Whether a message from `from` to `to` is lost to the loss set.
    fn loses(&mut self, from: SiteId, to: SiteId) -> bool {
        [from, to].into_iter().any(|s| {
            let loss = self.links.loss(s as usize);
            // Draw only when there is loss: runs without it are as before.
            loss > 0 && (loss >= 100 || self.rng.random_range(0..100u8) < loss)
        })
    }
}

impl Env for StepNet {
    fn copies(&mut self, from: SiteId, to: SiteId) -> Copies {
        if self.loses(from, to) {
            return Copies::Lost;
        }
        Copies::One(self.delay_from(from))
    }

    fn page_reaches(&mut self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_delay_follow_the_matrix_and_the_seed() {
        let mut net = StepNet::new(3, 100, 7);
        assert_eq!(net.copies(0, 1), Copies::One(100));
        net.links.add_delay(0, 2);
        net.links.add_loss(2, 10);
        assert_eq!(net.copies(0, 1), Copies::One(200));
        // 100 % at the sender or at the receiver: always lost.
        assert_eq!(net.copies(2, 0), Copies::Lost);
        assert_eq!(net.copies(1, 2), Copies::Lost);
        // 50 %: some of each, the same for the same seed.
        net.links.add_loss(2, -5);
        let draw = |net: &mut StepNet| (0..200).map(|_| net.copies(1, 2)).collect::<Vec<_>>();
        let a = draw(&mut net);
        let lost = a.iter().filter(|c| **c == Copies::Lost).count();
        assert!((50..150).contains(&lost), "{lost} of 200 lost");
        let mut again = StepNet::new(3, 100, 7);
        again.links = net.links.clone();
        assert_eq!(draw(&mut again), a);
    }
}
