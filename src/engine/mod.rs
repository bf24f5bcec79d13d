//! One deterministic cluster engine: the consensus cores of every site, an
//! in-process network of queued messages with per-direction links, a
//! virtual clock, and disks that hold exactly what was synced.
//!
//! Nothing here reads a clock, draws a random number or touches a file:
//! whoever drives the engine decides when time passes, which message is
//! delivered, dropped or duplicated, and (through an [`Env`]) how long a
//! message takes and whether it is lost or which pages of a group commit
//! reach the disk when the power fails in the middle of it. So the same
//! choices give the same run, step for step. Two drivers use it:
//!
//! - the simulator (`tests/sim/`), whose seeded random faults are the
//!   choices, and whose checker reads the [`Report`] of every step;
//! - `tweettui demo --step` (`demo::step`), where the user makes the
//!   choices one at a time and the queue is shown ([`InFlight`]).
//!
//! Where each part lives:
//!
//! - `mod.rs` (here): the [`Engine`], its sites, the clock, the links,
//!   crashes and lost disks;
//! - `disk.rs`: the disk of a site: the WAL as the real encoder writes it,
//!   page by page (torn writes), the writes in flight until their sync
//!   completes, and recovery by the real WAL recovery;
//! - `carry.rs`: a step of a site's core and its output carried out in the
//!   order the core requires, and the [`Report`] of it;
//! - `queue.rs`: the messages in flight, the [`Env`] that times them, and
//!   the steering (take one, duplicate one, the next timer of a site).

mod carry;
pub mod disk;
pub mod queue;

pub use carry::{Report, Sent};
pub use disk::{Disk, Recovered};
pub use queue::{Copies, Delivery, Env, InFlight, MsgId, Steady, SyncDue, SyncId};

use crate::paxos::{Core, SiteId};
use crate::state::op::OpId;
use crate::state::State;

/// How the engine runs its sites.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Every site's user, in site order (the replicated state's users).
    pub users: Vec<String>,
    /// Decided slots between two checkpoints of a site (the WAL then
    /// starts empty).
    pub checkpoint_every: u64,
    /// A deliberately broken WAL that writes a group commit record by
    /// record (a torn write may keep part of it), for the simulator to show
    /// that its checks catch it. Always off outside tests.
    #[doc(hidden)]
    pub wal_record_by_record: bool,
}

impl EngineConfig {
    pub fn new(users: Vec<String>) -> EngineConfig {
        EngineConfig {
            users,
            checkpoint_every: 16,
            wal_record_by_record: false,
        }
    }
}

/// One site of the engine: its core (none while it is down), the
/// replicated state it applied, and its disk.
pub struct EngineSite {
    pub core: Option<Core>,
    pub state: State,
    pub disk: Disk,
    /// Starts so far (the first start is boot 1).
    pub boot: u64,
    /// The last submission number of this boot.
    pub seq: u64,
    /// Slots applied since the last checkpoint.
    pub since_checkpoint: u64,
    /// What waits for each write in flight (`disk.unsynced`, same ids):
    /// the rest of its output (see `carry.rs`).
    waiting: Vec<(SyncId, carry::Held)>,
}

/// Something that cannot go on: a site that cannot start on what its disk
/// holds, or a core whose output breaks the order of the log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// The whole cluster.
pub struct Engine {
    cfg: EngineConfig,
    now: u64,
    sites: Vec<EngineSite>,
    queue: Vec<InFlight>,
    /// `cut[a][b]`: messages from site a to site b are lost (one direction
    /// of one link; a partition cuts both directions of many).
    cut: Vec<Vec<bool>>,
    next_id: MsgId,
    /// Sync completions to come, and the next write's number.
    syncs: Vec<SyncDue>,
    next_sync: SyncId,
}

impl Engine {
    /// A cluster of `cfg.users.len()` sites, every one down with an empty
    /// disk (start them with [`Engine::restart`]), at time 0.
    pub fn new(cfg: EngineConfig) -> Engine {
        let n = cfg.users.len();
        let sites = (0..n)
            .map(|_| EngineSite {
                core: None,
                state: State::new(cfg.users.clone()),
                disk: Disk::default(),
                boot: 0,
                seq: 0,
                since_checkpoint: 0,
                waiting: Vec::new(),
            })
            .collect();
        Engine {
            cfg,
            now: 0,
            sites,
            queue: Vec::new(),
            cut: vec![vec![false; n]; n],
            next_id: 1,
            syncs: Vec::new(),
            next_sync: 1,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// How many sites.
    pub fn len(&self) -> u32 {
        self.sites.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }

    // ----- the clock ----------------------------------------------------

    /// The virtual time, in milliseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Moves the clock on by `ms` (nothing else happens).
    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.saturating_add(ms);
    }

    /// Moves the clock to `t`, if that is later.
    pub fn advance_to(&mut self, t: u64) {
        self.now = self.now.max(t);
    }

    // ----- the sites ----------------------------------------------------

    pub fn sites(&self) -> &[EngineSite] {
        &self.sites
    }

    pub fn site(&self, site: SiteId) -> &EngineSite {
        &self.sites[site as usize]
    }

    /// The core of a running site.
    pub fn core(&self, site: SiteId) -> Option<&Core> {
        self.sites.get(site as usize)?.core.as_ref()
    }

    pub fn is_up(&self, site: SiteId) -> bool {
        self.core(site).is_some()
    }

    /// The running sites.
    pub fn alive(&self) -> Vec<SiteId> {
        (0..self.len()).filter(|&i| self.is_up(i)).collect()
    }

    /// The site stops, as in a power loss: its writes in flight are lost,
    /// and what waited for them never happens (it announced nothing that
    /// was not synced: see [`Engine::step`]); its disk stays.
    pub fn crash(&mut self, site: SiteId) {
        let s = &mut self.sites[site as usize];
        s.core = None;
        s.disk.unsynced.clear();
        s.disk.lazy.clear();
        s.waiting.clear();
    }

    /// The site's disk is lost (a replaced disk): it starts empty next time.
    pub fn wipe(&mut self, site: SiteId) {
        self.sites[site as usize].disk = Disk::default();
    }

    /// The id of a new submission at `site` (`None`: it is down).
    pub fn next_op_id(&mut self, site: SiteId) -> Option<OpId> {
        let s = &mut self.sites[site as usize];
        s.core.as_ref()?;
        s.seq += 1;
        Some(OpId {
            site,
            boot: s.boot,
            seq: s.seq,
        })
    }

    // ----- the links ----------------------------------------------------

    /// Whether messages from `a` reach `b`.
    pub fn connected(&self, a: SiteId, b: SiteId) -> bool {
        !self.cut[a as usize][b as usize]
    }

    /// Cuts (or heals) the link from `a` to `b`, one direction.
    pub fn set_cut(&mut self, a: SiteId, b: SiteId, cut: bool) {
        self.cut[a as usize][b as usize] = cut;
    }

    /// Every direction of every link: `cuts()[a][b]` when a's messages to
    /// b are lost.
    pub fn cuts(&self) -> &[Vec<bool>] {
        &self.cut
    }

    /// Sets every link at once (`cut[a][b]`: from a to b is cut).
    pub fn set_cuts(&mut self, cut: Vec<Vec<bool>>) {
        let n = self.sites.len();
        if cut.len() == n && cut.iter().all(|row| row.len() == n) {
            self.cut = cut;
        }
    }

    /// Every link works again.
    pub fn heal_all(&mut self) {
        let n = self.sites.len();
        self.cut = vec![vec![false; n]; n];
    }
}

#[cfg(test)]
mod tests;
