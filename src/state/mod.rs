//! The replicated state: operations, their rules, and the deterministic
//! application of the decided log (SPEC section 4).
//!
//! [`State`] is what every site computes from the decided log: the tweets,
//! who blocks whom, and the next slot to apply. Slots are applied strictly in
//! order with [`State::apply`]; the same log gives the same state on every
//! site. The rules of section 4 are checked at submission time
//! ([`rules::check_tweet`], [`State::check_block`], [`State::check_unblock`]);
//! applying never checks them again, so a decided operation always has the
//! same effect everywhere (an operation that names an unknown user changes
//! nothing).
//!
//! The tweets live either in memory (the deterministic engine, the
//! simulator, the replay player, tests) or in `state.redb` in a site's data
//! dir (see [`disk`]): a running site then holds only the small parts of
//! the state in memory (users, blocks, applied operations, per-author
//! counts), and a timeline is read page by page from the file. Both give
//! the same answers (a property test checks it). The JSON form of
//! [`checkpoint`] is the format of older checkpoints (loaded once, then
//! moved into `state.redb`) and of the tests.

mod applied;
mod checkpoint;
mod disk;
pub mod op;
pub mod rules;

#[cfg(test)]
mod disk_tests;
#[cfg(test)]
mod test_fixtures;
#[cfg(test)]
mod tests;

use self::op::{Op, OpId, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{btree_map, BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::path::Path;
use thiserror::Error;

pub use self::applied::AppliedOps;
pub use self::disk::{Durable, StoreError, STATE_FILE};
pub use self::rules::{check_tweet, RuleError, MAX_TWEET_CHARS};

/// Where a tweet sorts in a timeline: by time, then by log position (a
/// greater key is newer and shows higher up).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TweetKey {
    pub time: DateTime<Utc>,
    pub slot: u64,
    pub index: u32,
}

/// The tweets of one author, oldest first.
type Tweets = BTreeMap<TweetKey, Box<str>>;

/// One tweet, as a timeline shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tweet {
    /// The log slot that holds it.
    pub slot: u64,
    /// Its position in that slot's batch (0-based).
    pub index: u32,
    /// Its author.
    pub user: String,
    pub text: String,
    /// When it was submitted (UTC).
    pub time: DateTime<Utc>,
}

impl Tweet {
    /// Where it sorts in a timeline.
    pub fn key(&self) -> TweetKey {
        TweetKey {
            time: self.time,
            slot: self.slot,
            index: self.index,
        }
    }
}

/// [`State::apply`] was called with a slot that is not the next one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApplyError {
    #[error("slot {got} applied out of order: the next slot to apply is {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("slot {0} is the last slot there can be; nothing can follow it")]
    Exhausted(u64),
    /// The state's file could not be written (the state in memory went on:
    /// it no longer matches the file, and its owner must stop).
    #[error("{0}")]
    Store(String),
}

/// Where the tweets are kept.
#[derive(Debug)]
enum Backing {
    /// `tweets[a]`: the tweets of `users[a]`.
    Memory(Vec<Tweets>),
    /// In `state.redb` (a writer, or a view of one).
    Disk(disk::Disk),
}

/// The state computed from the decided log.
///
/// Users are the configured site names, in index order. Tweets are kept per
/// author, sorted by (time, slot, index), so a timeline is a merge of the
/// authors that do not block its reader and its first N tweets cost
/// O(N × users), whatever the length of the history.
///
/// Cloning a state whose tweets are on disk gives a *view*: it shares the
/// file (nothing is copied), reads only tweets of slots below its own
/// `next_slot`, and its [`apply`](Self::apply) advances only its small
/// parts (the writer it was cloned from writes the tweets). That is the
/// UI's copy of a site's state.
#[derive(Debug)]
pub struct State {
    users: Vec<String>,
    next_slot: u64,
    tweets: Backing,
    /// `counts[a]`: how many tweets `users[a]` wrote (a timeline's length
    /// without a walk).
    counts: Vec<u64>,
    /// `blocks[a]`: the indices of the users that `users[a]` blocks.
    blocks: Vec<BTreeSet<usize>>,
    /// The operations applied so far: a second copy of one is skipped.
    applied: AppliedOps,
}

impl State {
    /// The empty state before slot 0, for the configured site names in index
    /// order. (Names are unique in a valid config; should one repeat, the
    /// first of them is the user.)
    pub fn new(users: Vec<String>) -> Self {
        let n = users.len();
        State {
            users,
            next_slot: 0,
            tweets: Backing::Memory(vec![Tweets::new(); n]),
            counts: vec![0; n],
            blocks: vec![BTreeSet::new(); n],
            applied: AppliedOps::default(),
        }
    }

    /// The state kept in the file `path` (`state.redb`) for `users`,
    /// created empty when absent. Reads only its small parts: opening costs
    /// the same whatever the history. Refuses a file that redb cannot open,
    /// that does not hold up, or that belongs to other users; the first two
    /// are derived data lost, see [`State::reset_disk`].
    pub fn open_disk(path: &Path, users: Vec<String>) -> Result<State, StoreError> {
        let opened = disk::open(path, &users)?;
        let mut state = State::new(users);
        state.tweets = Backing::Disk(opened.disk);
        if let Some(m) = opened.meta {
            state.next_slot = m.next_slot;
            state.counts = m.counts;
            state.blocks = m.blocks;
            state.applied = m.applied;
        }
        Ok(state)
    }

    /// An empty state in the file `path` in place of what it held: a file
    /// redb cannot open is moved aside (to `state.redb.broken`), one that
    /// opens is emptied. Its owner then applies the decided log from slot 0.
    pub fn reset_disk(path: &Path, users: Vec<String>) -> Result<State, StoreError> {
        match disk::open_db(path) {
            Ok(db) => {
                let d = disk::Disk {
                    db,
                    path: std::sync::Arc::from(path),
                    writer: true,
                    pending: Default::default(),
                };
                d.clear()?;
            }
            Err(_) => {
                disk::set_aside(path).map_err(|source| StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            }
        }
        let state = State::open_disk(path, users)?;
        if state.next_slot != 0 || state.tweet_count() != 0 {
            return Err(StoreError::Inconsistent {
                path: path.to_path_buf(),
                why: "still holds a state after it was emptied".into(),
            });
        }
        Ok(state)
    }

    /// Whether the tweets are in a file.
    pub fn on_disk(&self) -> bool {
        matches!(self.tweets, Backing::Disk(_))
    }

    /// What makes the applied slots durable (one commit whose cost follows
    /// what changed since the last), for a state that writes a file; `None`
    /// for one in memory or a view. Every slot applied is in the file
    /// first: those still in memory (see [`disk`]) are written now,
    /// waiting for redb's writer if another transaction holds it.
    pub fn durable(&self) -> Result<Option<Durable>, StoreError> {
        match &self.tweets {
            Backing::Disk(d) if d.writer => {
                d.flush()?;
                Ok(Some(d.durable()))
            }
            _ => Ok(None),
        }
    }

    /// Writes into the file what was applied and still waits in memory
    /// (see [`disk`]), waiting for redb's writer if another transaction
    /// holds it. Does nothing for a state in memory or a view.
    pub fn flush(&self) -> Result<(), StoreError> {
        match &self.tweets {
            Backing::Disk(d) if d.writer => d.flush(),
            _ => Ok(()),
        }
    }

    /// How many applies were kept in memory because another transaction
    /// held the file's writer, since the last call (0 for a state in
    /// memory).
    pub fn take_deferred_writes(&self) -> u64 {
        match &self.tweets {
            Backing::Disk(d) if d.writer => d.take_deferred(),
            _ => 0,
        }
    }

    /// Copies `from` (a state in memory, e.g. loaded from an old
    /// checkpoint) into this empty state on disk, in transactions of a
    /// bounded size; the small parts go with the last, so a crash in the
    /// middle leaves a file that does not hold up (rebuilt at the next
    /// start). Not durable until [`Durable::commit`].
    pub fn import(&mut self, from: &State) -> Result<(), StoreError> {
        const CHUNK: usize = 50_000;
        let Backing::Disk(d) = &self.tweets else {
            return Ok(());
        };
        if from.users != self.users || self.next_slot != 0 || self.tweet_count() != 0 {
            return Err(StoreError::Inconsistent {
                path: d.path().to_path_buf(),
                why: "an import needs an empty state of the same users".into(),
            });
        }
        let mut rows = Vec::with_capacity(CHUNK);
        for a in 0..from.users.len() {
            let all = (Bound::Unbounded, Bound::Unbounded);
            for t in Timeline::new(from, |x| x == a, all, Order::OldestFirst) {
                rows.push((disk::key(a, &t.key()), t.text));
                if rows.len() == CHUNK {
                    let chunk = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK));
                    d.write(chunk, None, &self.users)?;
                }
            }
        }
        let meta = disk::MetaRef {
            next_slot: from.next_slot,
            counts: &from.counts,
            blocks: &from.blocks,
            applied: &from.applied,
        };
        d.write(rows, Some(&meta), &self.users)?;
        self.next_slot = from.next_slot;
        self.counts = from.counts.clone();
        self.blocks = from.blocks.clone();
        self.applied = from.applied.clone();
        Ok(())
    }

    /// The users (site names) in index order.
    pub fn users(&self) -> &[String] {
        &self.users
    }

    /// The index of user `name`, if it is one.
    pub fn user_index(&self, name: &str) -> Option<usize> {
        self.users.iter().position(|u| u == name)
    }

    /// The slot that [`apply`](Self::apply) expects next; also the number of
    /// slots applied so far.
    pub fn next_slot(&self) -> u64 {
        self.next_slot
    }

    /// Applies decided slot `slot`, which must be [`next_slot`](Self::next_slot):
    /// its batch's commands in order. A tweet adds a tweet; a block that is
    /// already in force and an unblock of a user not blocked change nothing;
    /// operations that name an unknown user, and a user blocking themselves,
    /// change nothing (they cannot pass the rules anyway). A no-op only moves
    /// on to the next slot. An operation already applied from an earlier
    /// slot is skipped (see [`AppliedOps`] for how the log can hold it twice).
    pub fn apply(&mut self, slot: u64, value: &Value) -> Result<(), ApplyError> {
        self.apply_all([(slot, value)])
    }

    /// Applies consecutive decided slots, as [`apply`](Self::apply) does
    /// one by one. A state on disk keeps their rows in memory with those
    /// applied before them and writes them all in one transaction (not
    /// synced: see [`durable`](Self::durable)) once enough wait
    /// (`disk::WRITE_AT_ROWS`). Stops at the first slot that cannot be
    /// applied, keeping those before it.
    pub fn apply_all<'v>(
        &mut self,
        slots: impl IntoIterator<Item = (u64, &'v Value)>,
    ) -> Result<(), ApplyError> {
        let mut written = Vec::new();
        let mut result = Ok(());
        let mut any = false;
        for (slot, value) in slots {
            if let Err(e) = self.apply_one(slot, value, &mut written) {
                result = Err(e);
                break;
            }
            any = true;
        }
        if let Backing::Disk(d) = &self.tweets {
            if d.writer && any {
                let meta = disk::MetaRef {
                    next_slot: self.next_slot,
                    counts: &self.counts,
                    blocks: &self.blocks,
                    applied: &self.applied,
                };
                d.write_applied(written, &meta, &self.users)
                    .map_err(|e| ApplyError::Store(e.to_string()))?;
            }
        }
        result
    }

    fn apply_one(
        &mut self,
        slot: u64,
        value: &Value,
        written: &mut Vec<(disk::Key, String)>,
    ) -> Result<(), ApplyError> {
        if slot != self.next_slot {
            return Err(ApplyError::OutOfOrder {
                expected: self.next_slot,
                got: slot,
            });
        }
        let next = slot.checked_add(1).ok_or(ApplyError::Exhausted(slot))?;
        for (i, cmd) in value.cmds.iter().enumerate() {
            // A batch of more than 2^32 commands cannot be sent; stop there.
            let Ok(index) = u32::try_from(i) else { break };
            if self.applied.insert(cmd.id) {
                self.apply_op(slot, index, &cmd.op, written);
            }
        }
        self.next_slot = next;
        Ok(())
    }

    fn apply_op(&mut self, slot: u64, index: u32, op: &Op, written: &mut Vec<(disk::Key, String)>) {
        match op {
            Op::Tweet { user, text, time } => {
                if let Some(a) = self.user_index(user) {
                    let key = TweetKey {
                        time: *time,
                        slot,
                        index,
                    };
                    self.counts[a] += 1;
                    match &mut self.tweets {
                        Backing::Memory(tweets) => {
                            tweets[a].insert(key, text.as_str().into());
                        }
                        // A view's writer writes them.
                        Backing::Disk(d) if d.writer => {
                            written.push((disk::key(a, &key), text.clone()));
                        }
                        Backing::Disk(_) => {}
                    }
                }
            }
            Op::Block { user, target } => {
                if let Some((a, b)) = self.pair(user, target) {
                    self.blocks[a].insert(b);
                }
            }
            Op::Unblock { user, target } => {
                if let Some((a, b)) = self.pair(user, target) {
                    self.blocks[a].remove(&b);
                }
            }
        }
    }

    /// The indices of two distinct known users.
    fn pair(&self, user: &str, target: &str) -> Option<(usize, usize)> {
        let a = self.user_index(user)?;
        let b = self.user_index(target)?;
        (a != b).then_some((a, b))
    }

    /// Whether `blocker` currently blocks `blocked`.
    pub fn is_blocked(&self, blocker: &str, blocked: &str) -> bool {
        self.pair(blocker, blocked)
            .is_some_and(|(a, b)| self.blocks[a].contains(&b))
    }

    /// The users that `user` blocks, sorted by name (empty for an unknown user).
    pub fn blocked_by(&self, user: &str) -> Vec<String> {
        let Some(a) = self.user_index(user) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self.blocks[a]
            .iter()
            .map(|&b| self.users[b].clone())
            .collect();
        names.sort();
        names
    }

    /// The users that block `user` (whose tweets `user` does not see),
    /// sorted by name.
    pub fn blockers_of(&self, user: &str) -> Vec<String> {
        let Some(b) = self.user_index(user) else {
            return Vec::new();
        };
        let mut names: Vec<String> = (0..self.users.len())
            .filter(|&a| self.blocks[a].contains(&b))
            .map(|a| self.users[a].clone())
            .collect();
        names.sort();
        names
    }

    /// Whether operation `id` took effect in a slot applied so far.
    pub fn has_applied(&self, id: OpId) -> bool {
        self.applied.contains(id)
    }

    /// How many tweets the log holds, all authors together.
    pub fn tweet_count(&self) -> usize {
        self.counts.iter().map(|&c| c as usize).sum()
    }

    /// Whether `user` sees the tweets of author `a` (an unknown user is
    /// blocked by nobody).
    fn shows(&self, user: &str) -> impl Fn(usize) -> bool + '_ {
        let reader = self.user_index(user);
        move |a| reader.is_none_or(|r| !self.blocks[a].contains(&r))
    }

    /// The timeline of `user`: every tweet whose author does not block
    /// `user`, newest first by time, ties broken by log position (later
    /// first). Lazy: taking the first N costs O(N × users). An unknown user
    /// is blocked by nobody and sees every tweet.
    pub fn timeline(&self, user: &str) -> Timeline<'_> {
        let all = (Bound::Unbounded, Bound::Unbounded);
        Timeline::new(self, self.shows(user), all, Order::NewestFirst)
    }

    /// `user`'s timeline from the tweet at `key` down (that tweet, if it is
    /// there, then older ones): where a reader who scrolled deep into the
    /// history sees from, found in O(users × log n).
    pub fn timeline_at(&self, user: &str, key: TweetKey) -> Timeline<'_> {
        let range = (Bound::Unbounded, Bound::Included(key));
        Timeline::new(self, self.shows(user), range, Order::NewestFirst)
    }

    /// `user`'s timeline walked upwards, oldest first: the tweets above
    /// `key` (newer than it), or, with `None`, the whole timeline from its
    /// oldest tweet.
    pub fn timeline_above(&self, user: &str, key: Option<TweetKey>) -> Timeline<'_> {
        let lower = key.map_or(Bound::Unbounded, Bound::Excluded);
        let range = (lower, Bound::Unbounded);
        Timeline::new(self, self.shows(user), range, Order::OldestFirst)
    }

    /// The length of `user`'s timeline, in O(users).
    pub fn timeline_len(&self, user: &str) -> usize {
        let shows = self.shows(user);
        (0..self.users.len())
            .filter(|&a| shows(a))
            .map(|a| self.counts[a] as usize)
            .sum()
    }

    /// One page of `user`'s timeline: at most `limit` tweets, newest first,
    /// after the tweet at `after` (that tweet left out), or from the top.
    /// Costs what it reads: O(users × log n + limit × users).
    pub fn timeline_page(&self, user: &str, after: Option<TweetKey>, limit: usize) -> Vec<Tweet> {
        match after {
            None => self.timeline(user).take(limit).collect(),
            Some(key) => self
                .timeline_at(user, key)
                .skip_while(|t| t.key() == key)
                .take(limit)
                .collect(),
        }
    }

    /// Every tweet, newest first (the timeline of a user nobody blocks).
    pub fn all_tweets(&self) -> Timeline<'_> {
        let all = (Bound::Unbounded, Bound::Unbounded);
        Timeline::new(self, |_| true, all, Order::NewestFirst)
    }
}

impl Clone for State {
    /// A state in memory is copied; one on disk gives a view (see [`State`]).
    fn clone(&self) -> Self {
        State {
            users: self.users.clone(),
            next_slot: self.next_slot,
            tweets: match &self.tweets {
                Backing::Memory(t) => Backing::Memory(t.clone()),
                Backing::Disk(d) => Backing::Disk(d.view()),
            },
            counts: self.counts.clone(),
            blocks: self.blocks.clone(),
            applied: self.applied.clone(),
        }
    }
}

impl PartialEq for State {
    /// The same state, wherever its tweets are kept.
    fn eq(&self, other: &Self) -> bool {
        self.users == other.users
            && self.next_slot == other.next_slot
            && self.counts == other.counts
            && self.blocks == other.blocks
            && self.applied == other.applied
            && self.all_tweets().eq(other.all_tweets())
    }
}

impl Eq for State {}

/// The order a [`Timeline`] walks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// Newest first: what a reader sees, top down.
    NewestFirst,
    /// Oldest first: walking up a timeline from a point in it.
    OldestFirst,
}

/// The rest of one author's tweets in a walk.
#[derive(Debug)]
enum Rest<'a> {
    Memory(btree_map::Range<'a, TweetKey, Box<str>>),
    // Boxed: a redb range is large, a walk holds one per author.
    Disk(Box<disk::DiskRange>),
    /// Applied but not yet in the file (see [`disk`]), in key order.
    Held(VecDeque<(TweetKey, String)>),
}

impl<'a> Rest<'a> {
    fn next(&mut self, order: Order) -> Option<(TweetKey, Cow<'a, str>)> {
        match (self, order) {
            (Rest::Memory(r), Order::NewestFirst) => {
                r.next_back().map(|(k, t)| (*k, Cow::Borrowed(&**t)))
            }
            (Rest::Memory(r), Order::OldestFirst) => {
                r.next().map(|(k, t)| (*k, Cow::Borrowed(&**t)))
            }
            (Rest::Disk(r), order) => r
                .next(order == Order::NewestFirst)
                .map(|(k, t)| (k, Cow::Owned(t))),
            (Rest::Held(r), Order::NewestFirst) => r.pop_back().map(|(k, t)| (k, Cow::Owned(t))),
            (Rest::Held(r), Order::OldestFirst) => r.pop_front().map(|(k, t)| (k, Cow::Owned(t))),
        }
    }
}

/// One author's tweets in a key range, with the next one (in the walk's
/// order) looked at.
#[derive(Debug)]
struct Source<'a> {
    author: usize,
    head: (TweetKey, Cow<'a, str>),
    rest: Rest<'a>,
}

/// A walk along a timeline: see [`State::timeline`], [`State::timeline_at`]
/// and [`State::timeline_above`]. Starting one costs O(users × log n),
/// each step O(users), so a walk from any point touches only what it yields
/// (on disk: the pages that hold it).
#[derive(Debug)]
pub struct Timeline<'a> {
    users: &'a [String],
    sources: Vec<Source<'a>>,
    order: Order,
}

/// `bound` of a [`TweetKey`] range as a bound on `author`'s keys on disk.
fn disk_bound(author: usize, bound: Bound<TweetKey>, lowest: disk::Key) -> Bound<disk::Key> {
    match bound {
        Bound::Unbounded => Bound::Included(lowest),
        Bound::Included(k) => Bound::Included(disk::key(author, &k)),
        Bound::Excluded(k) => Bound::Excluded(disk::key(author, &k)),
    }
}

impl<'a> Timeline<'a> {
    fn new(
        state: &'a State,
        mut shown: impl FnMut(usize) -> bool,
        range: (Bound<TweetKey>, Bound<TweetKey>),
        order: Order,
    ) -> Self {
        let mut sources = Vec::new();
        for author in 0..state.users.len() {
            if !shown(author) || state.counts[author] == 0 {
                continue;
            }
            // An author's tweets on disk may be in two parts, each sorted:
            // the walk merges them like the authors.
            let rests = match &state.tweets {
                Backing::Memory(tweets) => vec![Rest::Memory(tweets[author].range(range))],
                Backing::Disk(d) => {
                    let (lowest, highest) = disk::author_bounds(author);
                    let lower = disk_bound(author, range.0, lowest);
                    let upper = disk_bound(author, range.1, highest);
                    let (file, held) = d.range(author, lower, upper, state.next_slot);
                    let held = (!held.is_empty()).then(|| Rest::Held(held.into()));
                    [Some(Rest::Disk(Box::new(file))), held]
                        .into_iter()
                        .flatten()
                        .collect()
                }
            };
            for mut rest in rests {
                if let Some(head) = rest.next(order) {
                    sources.push(Source { author, head, rest });
                }
            }
        }
        Timeline {
            users: &state.users,
            sources,
            order,
        }
    }

    /// Moves past the next tweet and returns it (by reference for a state
    /// in memory, so that skipping allocates nothing there).
    fn advance(&mut self) -> Option<(TweetKey, Cow<'a, str>, usize)> {
        // The next head among the authors (few: one per site).
        let heads = self.sources.iter().enumerate();
        let (i, _) = match self.order {
            Order::NewestFirst => heads.max_by_key(|(_, s)| s.head.0)?,
            Order::OldestFirst => heads.min_by_key(|(_, s)| s.head.0)?,
        };
        let order = self.order;
        let source = &mut self.sources[i];
        let author = source.author;
        let (key, text) = match source.rest.next(order) {
            Some(next) => std::mem::replace(&mut source.head, next),
            None => self.sources.swap_remove(i).head,
        };
        Some((key, text, author))
    }

    /// Moves past the next `n` tweets (fewer if the walk ends first)
    /// without building them.
    pub fn skip_n(mut self, n: usize) -> Self {
        for _ in 0..n {
            if self.advance().is_none() {
                break;
            }
        }
        self
    }

    /// The key of the next tweet, without moving.
    pub fn peek_key(&self) -> Option<TweetKey> {
        let heads = self.sources.iter().map(|s| s.head.0);
        match self.order {
            Order::NewestFirst => heads.max(),
            Order::OldestFirst => heads.min(),
        }
    }
}

impl Iterator for Timeline<'_> {
    type Item = Tweet;

    fn next(&mut self) -> Option<Tweet> {
        let (key, text, author) = self.advance()?;
        Some(Tweet {
            slot: key.slot,
            index: key.index,
            user: self.users[author].clone(),
            text: text.into_owned(),
            time: key.time,
        })
    }

    fn nth(&mut self, n: usize) -> Option<Tweet> {
        for _ in 0..n {
            self.advance()?;
        }
        self.next()
    }
}

impl std::iter::FusedIterator for Timeline<'_> {}
