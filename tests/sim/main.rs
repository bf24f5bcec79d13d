//! Deterministic simulation of whole clusters of consensus cores.
//!
//! The cluster is the library's engine (`tweettui::engine`, which `demo
//! --step` also runs on); a seeded loop plays the faults of the network
//! and the disks, for clusters of one to
//! seven sites: messages are lost, duplicated, delayed and reordered; links
//! fail one direction at a time (one-way cuts, a site that cannot hear, a
//! site that cannot speak, reachability that is not transitive) besides
//! two-sided partitions; sites crash (losing everything that was not
//! synced, sometimes in the middle of a group commit) and restart from
//! their durable records and checkpoints. After every step the checker
//! verifies agreement, validity, durability, exactly-once application and
//! in-order application; once the faults stop, every site must converge
//! within a bounded time and every operation submitted from then on must
//! be decided (answered done, not 503).
//!
//! `SIM_SEEDS=N cargo test --release sim` runs N seeds (default 2000);
//! `SIM_SEED=S` runs only seed S. A failure prints its seed and step, and
//! running that seed again reproduces it exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use tweettui::engine::{Copies, Engine, EngineConfig, EngineError, Env, InFlight, Report, SyncDue};
use tweettui::paxos::{CoreConfig, Input, Membership, Record, SiteId, Slot};
use tweettui::state::op::{Command, Op, OpId, Value};

const TIMEOUT_MS: u64 = 100;
const SUBMIT_TIMEOUT_MS: u64 = 2_000;
const TICK_MS: u64 = 5;
const CHECKPOINT_EVERY: u64 = 16;

/// A deliberate defect, to show that the checker catches broken cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    None,
    /// The acceptor forgets its promise on restart (keeps accepted values).
    ForgetPromise,
    /// The acceptor forgets what it accepted on restart (keeps its promise).
    ForgetAccepted,
    /// Core defects (see `Defects`): liveness flaws the checks must catch.
    StickyForwards,
    NeverRetryLostSlot,
    DeafLeaderStays,
    /// A site that lost its disk votes at once, as if the cluster were new.
    WipedVotesAtOnce,
    /// A site runs for leader without hearing a quorum first.
    NoPreVote,
    /// A leader counts its own vote before its accept is durable: a
    /// commit may then announce a choice that its crash undoes.
    OwnVoteBeforeSync,
    /// The WAL writes a group commit record by record: a torn write keeps
    /// part of it (or leaves a site that cannot start).
    NonAtomicGroupCommit,
}

#[derive(Clone, Debug)]
struct Params {
    sites: u32,
    fault_ms: u64,
    settle_ms: u64,
    flaw: Flaw,
    /// During the hold, a minority of the sites cannot hear (a firewall on
    /// their inbound port): they may still send, and must not keep the
    /// majority from deciding.
    deaf_in_hold: bool,
}

/// What went wrong, with where and when.
#[derive(Debug)]
struct Violation {
    seed: u64,
    step: u64,
    now: u64,
    what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} step {} (t={} ms): {}  [rerun: SIM_SEED={} cargo test --release --test sim]",
            self.seed, self.step, self.now, self.what, self.seed
        )
    }
}

mod checker;
mod world;

use world::*;

/// One to seven sites, in turn.
fn sites_of(seed: u64) -> u32 {
    1 + (seed % 7) as u32
}

fn run_seed(seed: u64, flaw: Flaw) -> Result<(), Violation> {
    let sites = sites_of(seed);
    let p = Params {
        sites,
        fault_ms: 15_000,
        settle_ms: 10_000,
        flaw,
        deaf_in_hold: seed % 4 == 3,
    };
    Sim::new(seed, p)?.run()
}

fn seeds_from_env(default: u64) -> std::ops::Range<u64> {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed..seed + 1;
    }
    let n = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    0..n
}

/// Runs seeds on every core; returns the first violation of each thread.
fn run_seeds(seeds: std::ops::Range<u64>, flaw: Flaw, stop_at_first: bool) -> Vec<Violation> {
    run_seeds_for(seeds, flaw, stop_at_first, |_| true)
}

impl Violation {
    /// A broken safety property (not liveness): two values chosen for one
    /// slot, an operation lost, invented, applied twice or out of order.
    fn is_safety(&self) -> bool {
        !self.what.starts_with("liveness")
    }
}

/// Runs seeds on every core; returns the first violation that `counts` of
/// each thread (a seed whose violation does not count is passed over).
fn run_seeds_for(
    seeds: std::ops::Range<u64>,
    flaw: Flaw,
    stop_at_first: bool,
    counts: fn(&Violation) -> bool,
) -> Vec<Violation> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8) as u64;
    let found = std::sync::Mutex::new(Vec::new());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let seeds = seeds.clone();
            let (found, stop) = (&found, &stop);
            scope.spawn(move || {
                for seed in seeds.filter(|s| s % threads == t) {
                    if stop_at_first && stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    if let Err(v) = run_seed(seed, flaw) {
                        if !counts(&v) {
                            continue;
                        }
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        if let Ok(mut f) = found.lock() {
                            f.push(v);
                        }
                    }
                }
            });
        }
    });
    let mut v = found.into_inner().unwrap_or_default();
    v.sort_by_key(|v| v.seed);
    v
}

#[test]
fn sim_safety_and_liveness_over_many_seeds() {
    let seeds = seeds_from_env(2_000);
    let count = seeds.end - seeds.start;
    let violations = run_seeds(seeds, Flaw::None, false);
    for v in &violations {
        eprintln!("{v}");
    }
    assert!(
        violations.is_empty(),
        "{} of {count} seeds failed; first: {}",
        violations.len(),
        violations[0]
    );
    eprintln!("sim: {count} seeds (1 to 7 sites) passed");
}

#[test]
fn sim_same_seed_same_run() {
    // Determinism: the same seed gives the same history, step for step.
    let run = |seed| {
        let p = Params {
            sites: 5,
            fault_ms: 1_500,
            settle_ms: 10_000,
            flaw: Flaw::None,
            deaf_in_hold: false,
        };
        let mut sim = Sim::new(seed, p).expect("start");
        sim.run().expect("run");
        (sim.step, sim.checker.chosen.clone(), sim.checker.done.len())
    };
    assert_eq!(run(7), run(7));
}

#[test]
fn sim_catches_an_acceptor_that_forgets_its_promise_on_restart() {
    let violations = run_seeds(0..20_000, Flaw::ForgetPromise, true);
    assert!(
        !violations.is_empty(),
        "the checker missed an acceptor that forgets its promise"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

/// The seeds a liveness flaw is looked for in: enough that a leader change
/// after the faults stop happens in some of them.
const FLAW_SEEDS: std::ops::Range<u64> = 0..3000;

#[test]
fn sim_catches_forwards_that_stay_with_a_lost_leader() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::StickyForwards, true);
    assert!(
        !violations.is_empty(),
        "missed: forwards stuck with an old leader"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_submission_never_retried_after_losing_its_slot() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::NeverRetryLostSlot, true);
    assert!(!violations.is_empty(), "missed: a lost slot never retried");
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_leader_that_never_steps_down() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::DeafLeaderStays, true);
    assert!(!violations.is_empty(), "missed: a deaf leader that stays");
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_site_that_runs_without_hearing_a_quorum() {
    // A site that can send but not hear deposes every leader.
    let violations = run_seeds(FLAW_SEEDS, Flaw::NoPreVote, true);
    assert!(
        !violations.is_empty(),
        "missed: elections without a pre-vote"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_leader_that_counts_its_own_vote_before_its_sync() {
    // The leader's accept travels while its own record is synced (SPEC 5,
    // Ongaro's thesis 10.2.1); its vote must wait for the sync.
    // The flaw must show as a safety violation: a commit that announced a
    // choice the leader's crash undid. It takes a crash between the commit
    // and the sync, which the world provokes now and then (it crashes a
    // leader that just decided while a write of its own is in flight:
    // `crash_at_the_worst_moment`), then an election whose quorum lacks
    // the value before anyone learns it. Found at seed 282 (without the
    // provoked crash, at seed 3704).
    let violations = run_seeds_for(
        FLAW_SEEDS,
        Flaw::OwnVoteBeforeSync,
        true,
        Violation::is_safety,
    );
    assert!(
        !violations.is_empty(),
        "missed: a leader whose vote counts before its accept is durable"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_a_wiped_site_that_votes_at_once() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::WipedVotesAtOnce, true);
    assert!(
        !violations.is_empty(),
        "missed: a wiped site that votes at once"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_catches_an_acceptor_that_forgets_what_it_accepted_on_restart() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::ForgetAccepted, true);
    assert!(
        !violations.is_empty(),
        "the checker missed an acceptor that forgets its accepted values"
    );
    eprintln!("broken core caught: {}", violations[0]);
}

#[test]
fn sim_runs_are_not_trivial() {
    // The simulation must exercise something: many slots decided, many
    // submissions done, crashes and restarts, on average over a few seeds.
    let (mut slots, mut done, mut steps) = (0, 0, 0);
    for seed in 0..20u64 {
        let sites = sites_of(seed);
        let p = Params {
            sites,
            fault_ms: 3_000,
            settle_ms: 10_000,
            flaw: Flaw::None,
            deaf_in_hold: false,
        };
        let mut sim = Sim::new(seed, p).expect("start");
        sim.run().expect("run");
        slots += sim.checker.chosen.len();
        done += sim.checker.done.len();
        steps += sim.step;
        if std::env::var("SIM_VERBOSE").is_ok() {
            eprintln!(
                "seed {seed}: {} steps, {} slots, {} done, {} submitted, restarts {:?}",
                sim.step,
                sim.checker.chosen.len(),
                sim.checker.done.len(),
                sim.checker.submitted.len(),
                sim.engine
                    .sites()
                    .iter()
                    .map(|s| s.boot)
                    .collect::<Vec<_>>()
            );
        }
    }
    assert!(slots > 20 * 20, "only {slots} slots decided in 20 seeds");
    assert!(done > 20 * 30, "only {done} submissions done in 20 seeds");
    assert!(steps > 20 * 600);
}

#[test]
fn sim_catches_a_wal_that_keeps_part_of_a_torn_group_commit() {
    let violations = run_seeds(FLAW_SEEDS, Flaw::NonAtomicGroupCommit, true);
    assert!(
        !violations.is_empty(),
        "missed: a WAL that keeps part of a batch"
    );
    eprintln!("broken WAL caught: {}", violations[0]);
}
