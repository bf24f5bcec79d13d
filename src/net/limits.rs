//! Limits on inbound connections (SPEC 7), for the peer listener and the
//! control endpoint alike, and a throttle that keeps a refused peer from
//! writing a log line per attempt.
//!
//! - A connection must prove itself within [`Limits::first_line`]: send a
//!   complete first line (with a secret: finish the handshake). One that
//!   stays silent, or trickles bytes without ever finishing a line, is
//!   closed then.
//! - A [`Gate`] counts a listener's open connections. At its cap, a new
//!   connection pushes out the one that has waited longest without proving
//!   itself; when every open connection has proven itself, it pushes out
//!   the one that has sent no complete line for longest, if that is at
//!   least [`Limits::idle`]; otherwise the new connection is refused. A
//!   flood of silent connections therefore never locks a peer out (its
//!   connection proves itself in a round trip), and a quiet peer link (two
//!   followers with nothing to say) is never cut while there is room.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The limits of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// From accept to the first complete line (with a secret: to the end of
    /// the handshake), at most.
    pub first_line: Duration,
    /// A proven connection that has sent no complete line for this long
    /// gives its place to a new one when the listener is full.
    pub idle: Duration,
}

impl Limits {
    /// The peer listener's: a site needs one inbound connection per peer
    /// (and one more for a moment while a peer reconnects).
    pub const PEER: Limits = Limits {
        max_connections: 128,
        first_line: Duration::from_secs(5),
        idle: Duration::from_secs(60),
    };

    /// The control endpoint's: `tweettui bench` holds one connection per
    /// client; `ctl` and scripts one per request, or a few at a time.
    pub const CONTROL: Limits = Limits {
        max_connections: 256,
        first_line: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };
}

/// Admission to one listener (see the module's doc). Cheap to clone.
#[derive(Clone)]
pub struct Gate {
    limits: Limits,
    /// What the activity times count from.
    epoch: Instant,
    state: Arc<Mutex<GateState>>,
    counts: Arc<GateCounts>,
}

#[derive(Default)]
struct GateState {
    open: usize,
    next_id: u64,
    /// The connections not yet proven, oldest first.
    pending: BTreeMap<u64, CancellationToken>,
    /// The proven connections, with when each last sent a complete line.
    proven: HashMap<u64, (CancellationToken, Arc<AtomicU64>)>,
}

/// Connections pushed out or refused at the cap, since start.
#[derive(Default)]
struct GateCounts {
    pushed_out: AtomicU64,
    refused: AtomicU64,
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate {
            limits,
            epoch: Instant::now(),
            state: Arc::default(),
            counts: Arc::default(),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `at` in milliseconds since the epoch.
    fn millis(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// Lets a new connection in (its [`Ticket`] is held while it is open),
    /// making room at the cap as the module's doc says; `None` when it must
    /// be closed at once.
    pub fn admit(&self) -> Option<Ticket> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<Ticket> {
        let now = self.millis(now);
        let mut state = self.state();
        if state.open >= self.limits.max_connections.max(1) && !self.push_out(&mut state, now) {
            self.counts.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // A connection pushed out still counts until its task lets go of
        // its ticket, a moment from now: the count may pass the cap meanwhile.
        state.open += 1;
        state.next_id += 1;
        let id = state.next_id;
        let token = CancellationToken::new();
        state.pending.insert(id, token.clone());
        Some(Ticket {
            id,
            token,
            last: Arc::new(AtomicU64::new(now)),
            gate: self.clone(),
        })
    }

    /// Pushes out the oldest unproven connection, else the proven one
    /// quiet for longest if that is at least `idle`. False when none goes.
    fn push_out(&self, state: &mut GateState, now: u64) -> bool {
        let victim = match state.pending.pop_first() {
            Some((_, token)) => token,
            None => {
                let idle = self.limits.idle.as_millis() as u64;
                let quietest = state
                    .proven
                    .iter()
                    .map(|(id, (_, last))| (last.load(Ordering::Relaxed), *id))
                    .min();
                match quietest {
                    Some((last, id)) if now.saturating_sub(last) >= idle => {
                        match state.proven.remove(&id) {
                            Some((token, _)) => token,
                            None => return false,
                        }
                    }
                    _ => return false,
                }
            }
        };
        victim.cancel();
        self.counts.pushed_out.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state().open
    }

    /// Connections pushed out, and refused, at the cap since start.
    pub fn over_limit(&self) -> (u64, u64) {
        (
            self.counts.pushed_out.load(Ordering::Relaxed),
            self.counts.refused.load(Ordering::Relaxed),
        )
    }
}

/// One admitted connection's place; dropping it frees the place.
pub struct Ticket {
    id: u64,
    token: CancellationToken,
    /// When it last sent a complete line, in ms since the gate's epoch.
    last: Arc<AtomicU64>,
    gate: Gate,
}

impl Ticket {
    /// Resolves when the connection is pushed out to make room.
    pub async fn pushed_out(&self) {
        self.token.cancelled().await
    }

    /// Has the connection been pushed out?
    pub fn is_pushed_out(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The connection proved itself: from now on it is pushed out only
    /// when quiet for [`Limits::idle`] and its listener is full.
    pub fn proven(&self) {
        let mut state = self.gate.state();
        if let Some(token) = state.pending.remove(&self.id) {
            state.proven.insert(self.id, (token, self.last.clone()));
        }
        drop(state);
        self.active();
    }

    /// The connection sent a complete line.
    pub fn active(&self) {
        self.active_at(Instant::now());
    }

    fn active_at(&self, at: Instant) {
        self.last.store(self.gate.millis(at), Ordering::Relaxed);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.gate.state();
        state.pending.remove(&self.id);
        state.proven.remove(&self.id);
        state.open = state.open.saturating_sub(1);
    }
}

/// Says when to log a recurring refusal: the first time for a key, then at
/// most once per period, with how many went unlogged in between.
pub struct Throttle<K> {
    every: Duration,
    seen: Mutex<HashMap<K, (Instant, u64)>>,
}

/// Keys remembered at most (older ones are forgotten first).
const THROTTLE_KEYS: usize = 1024;

impl<K: Eq + Hash + Clone> Throttle<K> {
    pub fn new(every: Duration) -> Throttle<K> {
        Throttle {
            every,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` when this refusal is to be logged, `n` being how many of
    /// this key were not logged since the last one; `None` otherwise.
    pub fn check(&self, key: &K) -> Option<u64> {
        self.check_at(key, Instant::now())
    }

    /// [`check`](Self::check) at the time `now`.
    fn check_at(&self, key: &K, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((last, quiet)) = seen.get_mut(key) {
            if now.duration_since(*last) < self.every {
                *quiet += 1;
                return None;
            }
            let n = *quiet;
            (*last, *quiet) = (now, 0);
            return Some(n);
        }
        if seen.len() >= THROTTLE_KEYS {
            seen.retain(|_, (last, _)| now.duration_since(*last) < self.every);
            if seen.len() >= THROTTLE_KEYS {
                seen.clear();
            }
        }
        seen.insert(key.clone(), (now, 0));
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_unproven_then_the_quietest_idle_is_pushed_out() {
        let gate = Gate::new(Limits {
            max_connections: 2,
            first_line: Duration::from_secs(1),
            idle: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let a = gate.admit_at(at(0)).unwrap();
        let b = gate.admit_at(at(0)).unwrap();
        assert_eq!(gate.open(), 2);
        // c pushes out a, the oldest unproven.
        let c = gate.admit_at(at(0)).unwrap();
        assert!(a.is_pushed_out() && !b.is_pushed_out());
        drop(a);
        assert_eq!(gate.open(), 2);
        // Both proven, neither quiet for 10 s: the new one is refused.
        b.proven();
        c.proven();
        b.active_at(at(1));
        c.active_at(at(2));
        assert!(gate.admit_at(at(5)).is_none());
        assert_eq!(gate.over_limit(), (1, 1));
        // b has been quiet longest, for 10 s: it makes room.
        let d = gate.admit_at(at(11)).unwrap();
        assert!(b.is_pushed_out() && !c.is_pushed_out());
        drop(b);
        assert_eq!(gate.open(), 2);
        assert_eq!(gate.over_limit(), (2, 1));
        drop((c, d));
        assert_eq!(gate.open(), 0);
    }

    #[test]
    fn the_throttle_logs_once_per_period_with_the_count() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(t.check_at(&1, at(0)), Some(0));
        assert_eq!(t.check_at(&1, at(1)), None);
        assert_eq!(t.check_at(&1, at(9)), None);
        assert_eq!(t.check_at(&2, at(9)), Some(0));
        assert_eq!(t.check_at(&1, at(10)), Some(2));
        assert_eq!(t.check_at(&1, at(11)), None);
        assert_eq!(t.check_at(&2, at(19)), Some(0));
    }
}
