//! The site's data dir: opened at start-up, and waited out when the disk
//! fails.
//!
//! # A failing disk
//!
//! When a write or sync of the data dir fails (a full disk, an I/O error),
//! the site stops taking part until the disk takes writes again: it logs
//! one error line; answers 503 to the submissions waiting and to every
//! request; drops its peers' messages, so it neither votes nor leads (it
//! promises and accepts nothing it cannot make durable, and the others go
//! on without it, as with a site that is down). Every [`DISK_RETRY`] it
//! tries to go on: it cuts the bytes of the failed write off its WAL
//! ([`Store::discard_unsynced`]: after a failed fsync they may be in the
//! page cache and never on the disk) and checks that the disk takes a
//! write again (a full disk allows the cut), reopens the data dir, rebuilds
//! its state and consensus core from what is durable, exactly as a restart
//! would; then it logs one line and votes again, catching up like a site
//! that was down. Nothing acknowledged is lost: a promise or an ack leaves
//! only after its sync succeeded, and a slot is applied only once durable.
//! Damage found on reopening stops the site, as it would at start-up.

use super::*;
use crate::state::{StoreError, STATE_FILE};
use crate::storage::StorageError;

/// How often a site whose disk failed tries to go on.
pub(super) const DISK_RETRY: Duration = Duration::from_millis(500);

/// How a stall on a failing disk ended.
pub(super) enum Stall {
    /// The data dir takes writes again: carry out this first output of
    /// the rebuilt core.
    Resumed(Output),
    /// The site was stopped meanwhile.
    Stopped,
}

/// Is `e` a failing disk, which the site waits out, rather than a fault it
/// must stop on (damaged data, a program error)?
pub(super) fn disk_failure(e: &anyhow::Error) -> bool {
    e.downcast_ref::<StorageError>()
        .is_some_and(StorageError::is_disk_failure)
}

/// What a site starts from.
pub(super) struct Recovery {
    pub store: Store,
    pub state: State,
    pub core: Core,
    /// Slots `0..applied` are archived; the core hands the slots from there
    /// on to the runtime again (the state may already hold some of them).
    pub applied: Slot,
}

/// Opens the data dir as this site's (SPEC 6) and rebuilds its state and
/// consensus core from what is durable.
pub(super) async fn recover(
    opts: &SiteOptions,
    names: &[String],
    site_name: &str,
) -> anyhow::Result<Recovery> {
    let config = &opts.config;
    let dir = opts.data_dir.clone();
    let identity = Identity::new(names.to_vec(), site_name);
    let users = names.to_vec();
    let (store, state, recovered) = tokio::task::spawn_blocking(move || {
        let (mut store, mut recovered) = Store::open_as::<State>(&dir, &identity)?;
        let legacy = recovered.state.take();
        let state = open_state(&mut store, &recovered, legacy, users)?;
        anyhow::Ok((store, state, recovered))
    })
    .await
    .context("storage task failed")??;
    for (warn, line) in state.1 {
        // Logged here, on the site's own task (its log goes where the
        // site's lines go), not on the blocking thread.
        if warn {
            tracing::warn!("site {site_name}: {line}");
        } else {
            tracing::info!("site {site_name}: {line}");
        }
    }
    let state = state.0;
    let core_cfg = CoreConfig::new(
        config.sites.len() as u32,
        opts.site,
        config.timeout_ms,
        config.submit_timeout_ms,
        rand::random(),
    );
    let applied = recovered.applied;
    let core = Core::new(core_cfg, recovered.acceptor, applied);
    Ok(Recovery {
        store,
        state,
        core,
        applied,
    })
}

/// Archived slots applied at start-up in one transaction, at most (by
/// bytes of their stored values).
const REPLAY_BYTES: usize = 4 << 20;

/// A format-1 checkpoint (an older data dir) held the state `old`: moves
/// it into `state` (`state.redb`) unless that is already as far, makes it
/// durable, and rewrites the checkpoint as format 2, without it.
fn migrate_format_1(
    store: &mut Store,
    recovered: &crate::storage::Recovered<State>,
    mut state: State,
    old: State,
    notes: &mut Vec<(bool, String)>,
) -> anyhow::Result<State> {
    let path = store.data_dir().join(STATE_FILE);
    if state.next_slot() < old.next_slot() {
        let started = Instant::now();
        if state.next_slot() > 0 {
            state = State::reset_disk(&path, old.users().to_vec())?;
        }
        state.import(&old)?;
        notes.push((
            false,
            format!(
                "moved the state of a format-1 checkpoint ({} tweets, slot {}) into {} in {:?}",
                old.tweet_count(),
                old.next_slot(),
                path.display(),
                started.elapsed()
            ),
        ));
    }
    drop(old);
    if let Some(d) = state.durable()? {
        d.commit()?;
    }
    // The checkpoint no longer needs to hold the state.
    store.checkpoint(recovered.applied, &recovered.acceptor)?;
    Ok(state)
}

/// Opens the derived state, `state.redb` in the data dir, and brings it up
/// to the checkpoint's `applied` (SPEC 6). It normally is there already
/// (it is made durable before each checkpoint), or past it (it was written
/// after the last checkpoint): the runtime then skips the slots it holds
/// when the core hands them on again. It is behind only when it was lost,
/// damaged or is new: it is derived data, so it is rebuilt from the
/// archive, which holds every slot below `applied` (the log is the truth),
/// with a warning naming the file. A format-1 checkpoint (an older data
/// dir) holds the state itself: it is moved into `state.redb` once and the
/// checkpoint rewritten without it. Also returns what to log: (is a
/// warning, line).
fn open_state(
    store: &mut Store,
    recovered: &crate::storage::Recovered<State>,
    legacy: Option<State>,
    users: Vec<String>,
) -> anyhow::Result<(State, Vec<(bool, String)>)> {
    let mut notes = Vec::new();
    let path = store.data_dir().join(STATE_FILE);
    let applied = recovered.applied;
    if let Some(old) = &legacy {
        if old.users() != users {
            anyhow::bail!(
                "{}: the data dir was written for the sites {:?}, but the config has {:?}",
                store.data_dir().display(),
                old.users(),
                users
            );
        }
    }
    let mut state = match State::open_disk(&path, users.clone()) {
        Ok(state) => state,
        Err(e @ StoreError::OtherUsers { .. }) => return Err(e.into()),
        Err(e) => {
            notes.push((
                true,
                format!(
                    "the derived state cannot be used ({e}); {} is rebuilt from the archive of decided slots",
                    path.display()
                ),
            ));
            State::reset_disk(&path, users)?
        }
    };
    if let Some(old) = legacy {
        state = migrate_format_1(store, recovered, state, old, &mut notes)?;
    }
    if state.next_slot() < applied {
        let from = state.next_slot();
        let started = Instant::now();
        while state.next_slot() < applied {
            let next = state.next_slot();
            let entries = store.read_decided(next, applied, REPLAY_BYTES)?;
            if entries.is_empty() {
                anyhow::bail!(
                    "{}: slot {next} is not in the archive, which must hold every slot below {applied}",
                    store.data_dir().display()
                );
            }
            state.apply_all(entries.iter().map(|e| (e.slot, &e.value)))?;
        }
        if let Some(d) = state.durable()? {
            d.commit()?;
        }
        notes.push((
            false,
            format!(
                "applied slots {from}..{applied} from the archive to {} in {:?}",
                path.display(),
                started.elapsed()
            ),
        ));
    }
    Ok((state, notes))
}

impl Runtime {
    /// Waits out a failing disk (see the module documentation) when `err`,
    /// which stopped the site's loop, is one; else hands `err` back.
    pub(super) async fn stall_if_disk(
        &mut self,
        err: anyhow::Error,
        inbound: &mut mpsc::Receiver<(SiteId, Message)>,
        requests: &mut mpsc::Receiver<(Request, oneshot::Sender<Reply>)>,
        stop: &mut oneshot::Receiver<()>,
    ) -> anyhow::Result<Stall> {
        if !disk_failure(&err) {
            return Err(err);
        }
        let why = format!("site {} cannot write its data dir: {err:#}", self.name);
        tracing::error!(
            "{why}; it stops voting and answers 503 until the disk takes writes again \
             (it tries every {DISK_RETRY:?}); nothing it acknowledged is lost"
        );
        let answer = || {
            Err(Refusal::unavailable(format!(
                "{why}; this site does not vote until its disk takes writes again"
            )))
        };
        for (_, reply) in self.waiting.drain() {
            let _ = reply.send(answer());
        }
        let mut retry = tokio::time::interval(DISK_RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        retry.tick().await; // the first tick is now
        loop {
            tokio::select! {
                _ = &mut *stop => return Ok(Stall::Stopped),
                msg = inbound.recv() => if msg.is_none() {
                    return Ok(Stall::Stopped);
                },
                req = requests.recv() => match req {
                    Some((_, reply)) => {
                        let _ = reply.send(answer());
                    }
                    None => return Ok(Stall::Stopped),
                },
                _ = retry.tick() => match self.resume().await {
                    Ok(out) => {
                        tracing::info!(
                            "site {} writes its data dir again: recovered from what is durable, \
                             it votes again",
                            self.name
                        );
                        return Ok(Stall::Resumed(out));
                    }
                    Err(e) if disk_failure(&e) => {
                        tracing::debug!("site {}: the disk still fails: {e:#}", self.name);
                    }
                    Err(e) => return Err(e),
                },
            }
        }
    }

    /// Cuts the failed write off, reopens the data dir and rebuilds the
    /// state and the core from it, as a restart does.
    async fn resume(&mut self) -> anyhow::Result<Output> {
        // A checkpoint in flight ends before the data dir is reopened (it
        // writes there); its outcome no longer matters: the reopen goes on
        // from what is durable.
        if let Err(e) = self.reap_job(true).await {
            tracing::debug!("site {}: a checkpoint ended with: {e:#}", self.name);
        }
        if self.store.is_some() {
            self.with_store(|store| Ok(store.discard_unsynced()?))
                .await?;
            // Closes the data dir (a failed store writes nothing on close).
            self.store = None;
        }
        // The state's file stays open (shared with the UI's view of it): the
        // new state opens the same database, at least as far as the durable
        // part of the log, and skips what it holds when the core hands it on.
        let r = recover(&self.opts, &self.names, &self.name).await?;
        self.archive = Arc::new(r.store.archive_reader()?);
        self.store = Some(r.store);
        self.state = r.state;
        self.core = r.core;
        self.applied = r.applied;
        self.since_checkpoint = 0;
        self.last_prefix = None;
        let status = self.status();
        self.emit(SiteEvent::Snapshot {
            state: Box::new(self.state.clone()),
            status: status.clone(),
        });
        self.last_status = Some(status);
        Ok(self.core.start(self.now()))
    }
}

/// What the tests of this file share.
#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::site::control::Response;
    use std::future::Future;
    use std::ops::Range;
    use std::path::Path;
    use std::sync::Mutex;

    /// What the sites log, for the lines a disk failure must (and must only
    /// once) write.
    #[derive(Clone, Default)]
    pub(super) struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
        type Writer = Logs;
        fn make_writer(&'a self) -> Logs {
            self.clone()
        }
    }

    impl Logs {
        /// Captures this thread's logs (the test's runtime runs every site
        /// task on it) until the guard is dropped.
        pub(super) fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
            let logs = Logs::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::DEBUG)
                .finish();
            (logs.clone(), tracing::subscriber::set_default(subscriber))
        }

        pub(super) fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }

        pub(super) fn count(&self, what: &str) -> usize {
            String::from_utf8_lossy(&self.0.lock().unwrap())
                .matches(what)
                .count()
        }
    }

    /// Polls `cond` until it holds or 20 s have passed.
    pub(super) async fn eventually<F, Fut>(what: &str, mut cond: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if cond().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    pub(super) async fn start_sites(
        config: &Config,
        root: &Path,
        which: Range<usize>,
    ) -> Vec<RunningSite> {
        let mut sites = Vec::new();
        for i in which {
            let opts = SiteOptions {
                config: config.clone(),
                site: i as SiteId,
                data_dir: root.join(&config.sites[i].name),
                record: None,
            };
            sites.push(start(opts, None).await.unwrap());
        }
        sites
    }

    /// A request's answer as the control protocol's JSON (the test reads
    /// what a script would).
    pub(super) async fn ask(site: &RunningSite, req: Request) -> Response {
        let reply = crate::site::api::Answer::whole(site.client.request(req).await).await;
        crate::site::control::to_wire(&reply)
    }

    pub(super) async fn status(site: &RunningSite) -> Option<Status> {
        let r = ask(site, Request::Status).await;
        let ok = r.is_ok();
        serde_json::from_value(r.body).ok().filter(|_| ok)
    }

    pub(super) async fn tweet(site: &RunningSite, text: &str) -> Response {
        ask(site, Request::Tweet(text.into())).await
    }

    pub(super) async fn texts(site: &RunningSite) -> Vec<String> {
        let r = ask(site, Request::View(None)).await;
        let rows = r.body.as_array().cloned().unwrap_or_default();
        rows.iter()
            .filter_map(|t| t["text"].as_str().map(String::from))
            .collect()
    }

    pub(super) async fn log(site: &RunningSite) -> serde_json::Value {
        let r = ask(
            site,
            Request::Log {
                from: None,
                to: None,
            },
        )
        .await;
        assert!(r.is_ok(), "{r:?}");
        r.body
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use crate::paxos::Membership;
    use crate::storage::faults::{self, Fault};

    #[tokio::test]
    async fn a_site_whose_disk_fails_answers_503_stops_voting_and_goes_on_once_it_works() {
        let (logs, _guard) = Logs::capture();
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(3).unwrap();
        let sites = start_sites(&config, root.path(), 0..3).await;
        let (alice, carol) = (&sites[0], &sites[2]);
        eventually("every site votes", || async {
            let mut all = true;
            for s in &sites {
                all &= status(s)
                    .await
                    .is_some_and(|st| st.membership == Membership::Voting);
            }
            all
        })
        .await;
        assert_eq!(tweet(alice, "before").await.stat, 200);
        eventually("carol holds slot 0", || async {
            status(carol).await.is_some_and(|s| s.decided >= 1)
        })
        .await;

        // carol's disk fails: what she was asked is answered 503, and so is
        // everything after, with why; one error line, however many retries.
        let carol_dir = root.path().join("carol");
        faults::set(&carol_dir, Some(Fault::Full));
        let failed = tweet(carol, "while failing").await;
        assert_eq!(failed.stat, 503, "{failed:?}");
        let why = failed.body.as_str().unwrap_or_default().to_string();
        assert!(why.contains("cannot write its data dir"), "{why}");
        let asked = ask(carol, Request::Status).await;
        assert_eq!(asked.stat, 503, "{asked:?}");
        // alice and bob go on without her.
        assert_eq!(tweet(alice, "during").await.stat, 200);
        eventually("carol retried twice", || async {
            logs.count("the disk still fails") >= 2
        })
        .await;
        let once = logs.count("site carol cannot write its data dir");
        assert_eq!(once, 1, "{}", logs.text());

        // The disk works again: she recovers, catches up and votes.
        faults::set(&carol_dir, None);
        eventually("carol is back and caught up", || async {
            let target = status(alice).await.map_or(u64::MAX, |s| s.decided);
            status(carol)
                .await
                .is_some_and(|s| s.membership == Membership::Voting && s.decided >= target)
        })
        .await;
        assert_eq!(logs.count("site carol writes its data dir again"), 1);
        assert_eq!(logs.count("site carol cannot write its data dir"), 1);
        assert_eq!(tweet(carol, "after").await.stat, 200);
        eventually("every site holds one log", || async {
            let (a, b, c) = (log(alice).await, log(&sites[1]).await, log(carol).await);
            a == b && a == c && a.as_array().map_or(0, Vec::len) >= 3
        })
        .await;
        // Nothing decided was lost; the 503 tweet was decided at most once.
        let seen = texts(carol).await;
        for text in ["before", "during", "after"] {
            assert!(seen.contains(&text.to_string()), "{seen:?}");
        }
        assert!(seen.iter().filter(|t| *t == "while failing").count() <= 1);
        for site in sites {
            site.stop().await.unwrap();
        }
    }

    /// Writes reach the page cache, syncs fail: the failed batch is in the
    /// file, but it was never acknowledged and may never reach the disk, so
    /// the site must not take it for durable when it goes on.
    #[tokio::test]
    async fn bytes_whose_sync_failed_are_not_taken_for_durable() {
        // Every test that reaches the log lines of a failing disk captures
        // them: a thread without a subscriber could leave tracing's cached
        // interest in those lines at "never" for the other test.
        let (logs, _guard) = Logs::capture();
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(1).unwrap();
        let dir = root.path().join(&config.sites[0].name);
        let site = start_sites(&config, root.path(), 0..1).await.remove(0);
        assert_eq!(tweet(&site, "kept").await.stat, 200);
        faults::set(&dir, Some(Fault::Syncs));
        assert_eq!(tweet(&site, "never synced").await.stat, 503);
        faults::set(&dir, None);
        eventually("the site is back", || async {
            status(&site).await.is_some()
        })
        .await;
        assert_eq!(logs.count("site alice cannot write its data dir"), 1);
        assert_eq!(texts(&site).await, ["kept"]);
        let next = tweet(&site, "next").await;
        assert_eq!(next.body["slot"], 1, "{next:?}");
        site.stop().await.unwrap();
        // A restart finds the same.
        let site = start_sites(&config, root.path(), 0..1).await.remove(0);
        assert_eq!(texts(&site).await, ["next", "kept"]);
        site.stop().await.unwrap();
    }
}

/// The derived state in `state.redb` (SPEC 6: checkpoints, start-up that
/// does not grow with history, a site never starting on state it cannot
/// trust): a stop and start, a crash, an older data dir, a damaged file.
#[cfg(test)]
mod state_tests {
    use super::tests_support::*;
    use super::*;
    use crate::state::STATE_FILE;
    use crate::storage::Store;
    use std::path::Path;

    /// Copies a data dir as a `kill -9` of its site leaves it (the files as
    /// they are, with what was written but not synced).
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let dest = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &dest);
            } else {
                std::fs::copy(entry.path(), dest).unwrap();
            }
        }
    }

    fn opts(config: &Config, dir: &Path) -> SiteOptions {
        SiteOptions {
            config: config.clone(),
            site: 0,
            data_dir: dir.to_path_buf(),
            record: None,
        }
    }

    /// Tweets `n` times, 50 at a time (group commits), all decided;
    /// returns the highest slot they went into.
    async fn tweets(site: &RunningSite, n: usize) -> u64 {
        let mut sent = 0;
        let mut last = 0;
        while sent < n {
            let k = (n - sent).min(50);
            let texts: Vec<String> = (sent..sent + k).map(|i| format!("t{i}")).collect();
            let asks = texts.iter().map(|t| tweet(site, t));
            for r in futures::future::join_all(asks).await {
                assert_eq!(r.stat, 200, "{r:?}");
                last = last.max(r.body["slot"].as_u64().expect("a slot"));
            }
            sent += k;
        }
        last
    }

    /// Whether a checkpoint's background part wrote `checkpoint.json`,
    /// deleted the old WAL segments and made the next spare segment: all
    /// it changes in the data dir.
    fn checkpoint_done(dir: &Path) -> bool {
        if !dir.join("checkpoint.json").exists() {
            return false;
        }
        let start = checkpoint_body(dir)["wal_start"].as_u64().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.join("wal"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut expected = [start, start + 1].map(|n| format!("{n:016}.wal")).to_vec();
        let mut names = names;
        names.sort();
        expected.sort();
        names == expected
    }

    fn checkpoint_body(dir: &Path) -> serde_json::Value {
        let bytes = std::fs::read(dir.join("checkpoint.json")).unwrap();
        let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
        serde_json::from_slice(&bytes[nl + 1..]).unwrap()
    }

    /// SPEC 6: the state survives a stop and start; after a crash it comes
    /// back at its last durable commit (the checkpoint), and start-up goes
    /// on from its `next_slot` to the same state as an uninterrupted run.
    #[tokio::test]
    async fn state_survives_a_restart_and_a_crash_resumes_from_its_durable_slot() {
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(1).unwrap();
        let dir = root.path().join("alice");
        let site = start(opts(&config, &dir), None).await.unwrap();
        // Tweets until the log is past a checkpoint (batches put several
        // tweets in a slot, so count slots).
        let mut n = 0;
        let mut last = 0;
        while last < CHECKPOINT_EVERY + 150 {
            last = tweets(&site, 50).await.max(last);
            n += 50;
        }
        let before = texts(&site).await;
        assert_eq!(before.len(), n);
        // Written beside the loop: it lands a little later.
        eventually("the checkpoint is written", || async {
            checkpoint_done(&dir)
        })
        .await;
        // The checkpoint holds no state: it is in state.redb.
        let body = checkpoint_body(&dir);
        assert_eq!(body["format"], 2, "{body}");
        assert!(body.get("state").is_none(), "{body}");
        let applied = body["applied"].as_u64().unwrap();
        assert!((CHECKPOINT_EVERY..=last).contains(&applied), "{body}");
        let crashed = root.path().join("crashed");
        copy_dir(&dir, &crashed);
        site.stop().await.unwrap();

        // Stop and start: the same timeline.
        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await, before);
        site.stop().await.unwrap();

        // The crash: state.redb is back at its durable commit, at the
        // checkpoint's slot or past it (the commit runs beside the loop,
        // which may have applied more by then), and start-up replays the
        // slots after it.
        {
            let users = vec![config.sites[0].name.clone()];
            // A copy, so that the site opens the file itself below.
            std::fs::copy(crashed.join(STATE_FILE), crashed.join("probe.redb")).unwrap();
            let probe = State::open_disk(&crashed.join("probe.redb"), users).unwrap();
            assert!((applied..=last + 1).contains(&probe.next_slot()));
        }
        let site = start(opts(&config, &crashed), None).await.unwrap();
        assert_eq!(texts(&site).await, before);
        assert_eq!(tweet(&site, "after").await.body["slot"], last + 1);
        site.stop().await.unwrap();
    }

    /// Issue 14: the site goes on (appends, answers, applies) while a
    /// checkpoint's background part is in flight, and a stop waits for it.
    #[tokio::test]
    async fn the_site_goes_on_while_a_checkpoint_is_in_flight() {
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(1).unwrap();
        let dir = root.path().join("alice");
        crate::storage::faults::hold_checkpoints(&dir, true);
        let site = start(opts(&config, &dir), None).await.unwrap();
        let (mut n, mut last) = (0, 0);
        while !crate::storage::faults::checkpoint_waits(&dir) {
            assert!(last < 3 * CHECKPOINT_EVERY, "no checkpoint at slot {last}");
            last = tweets(&site, 50).await.max(last);
            n += 50;
        }
        // The checkpoint waits before writing checkpoint.json: the site
        // decides, makes durable and applies more meanwhile.
        let more = tweets(&site, 200).await;
        n += 200;
        assert!(more > last);
        assert_eq!(texts(&site).await.len(), n);
        assert!(!dir.join("checkpoint.json").exists());
        crate::storage::faults::hold_checkpoints(&dir, false);
        eventually("the checkpoint is written", || async {
            checkpoint_done(&dir)
        })
        .await;
        let applied = checkpoint_body(&dir)["applied"].as_u64().unwrap();
        assert!((CHECKPOINT_EVERY..=last).contains(&applied));
        site.stop().await.unwrap();
        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await.len(), n);
        site.stop().await.unwrap();
    }

    /// SPEC 6: a data dir of an older version (a format-1 checkpoint with
    /// the whole state inside, no state.redb) starts with its state, which
    /// is moved into state.redb once; the checkpoint is rewritten without it.
    #[tokio::test]
    async fn a_format_1_checkpoint_is_moved_into_state_redb() {
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(1).unwrap();
        let dir = root.path().join("alice");
        let site = start(opts(&config, &dir), None).await.unwrap();
        let last = tweets(&site, 20).await;
        let before = texts(&site).await;
        site.stop().await.unwrap();

        // What the older version left: the state of every decided slot in
        // checkpoint.json, the slots archived, no state.redb.
        {
            let (mut store, rec) = Store::open::<State>(&dir).unwrap();
            let mut old = State::new(vec![config.sites[0].name.clone()]);
            for (slot, value) in &rec.acceptor.decided {
                store.archive(*slot, value).unwrap();
                old.apply(*slot, value).unwrap();
            }
            assert_eq!(old.tweet_count(), 20);
            store
                .checkpoint_v1(old.next_slot(), &old, &rec.acceptor)
                .unwrap();
        }
        std::fs::remove_file(dir.join(STATE_FILE)).unwrap();
        assert_eq!(checkpoint_body(&dir)["format"], 1);

        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await, before);
        let body = checkpoint_body(&dir);
        assert_eq!(body["format"], 2, "{body}");
        assert!(body.get("state").is_none(), "{body}");
        assert!(dir.join(STATE_FILE).exists());
        assert_eq!(tweet(&site, "after").await.body["slot"], last + 1);
        site.stop().await.unwrap();
        // And again, from format 2.
        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await.len(), 21);
        site.stop().await.unwrap();
    }

    /// SPEC 6: a state.redb that cannot be trusted is derived data: the
    /// site rebuilds it from the archive, says so naming the file, and
    /// shows the right timeline.
    #[tokio::test]
    async fn a_damaged_state_redb_is_rebuilt_from_the_archive() {
        let (logs, _guard) = Logs::capture();
        let root = tempfile::tempdir().unwrap();
        let config = Config::loopback(1).unwrap();
        let dir = root.path().join("alice");
        let site = start(opts(&config, &dir), None).await.unwrap();
        let n = CHECKPOINT_EVERY as usize + 30;
        tweets(&site, n).await;
        let before = texts(&site).await;
        site.stop().await.unwrap();

        let path = dir.join(STATE_FILE);
        std::fs::write(&path, vec![0x5a; 64 << 10]).unwrap();
        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await, before);
        let text = logs.text();
        assert!(
            text.contains("WARN")
                && text.contains("state.redb")
                && text.contains("rebuilt from the archive"),
            "{text}"
        );
        site.stop().await.unwrap();
        assert!(dir.join("state.redb.broken").exists());
        // The rebuilt file serves the next start as any other.
        let site = start(opts(&config, &dir), None).await.unwrap();
        assert_eq!(texts(&site).await, before);
        site.stop().await.unwrap();
    }
}
