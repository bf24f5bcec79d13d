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
//! The state is checkpointed as JSON (see [`checkpoint`] for the format).

mod applied;
mod checkpoint;
pub mod op;
pub mod rules;

#[cfg(test)]
mod tests;

use self::op::{Op, OpId, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::ops::Bound;
use thiserror::Error;

pub use self::applied::AppliedOps;
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
}

/// The state computed from the decided log.
///
/// Users are the configured site names, in index order. Tweets are kept per
/// author, sorted by (time, slot, index), so a timeline is a merge of the
/// authors that do not block its reader and its first N tweets cost
/// O(N × users), whatever the length of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    users: Vec<String>,
    next_slot: u64,
    /// `tweets[a]`: the tweets of `users[a]`.
    tweets: Vec<Tweets>,
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
            tweets: vec![Tweets::new(); n],
            blocks: vec![BTreeSet::new(); n],
            applied: AppliedOps::default(),
        }
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
                self.apply_op(slot, index, &cmd.op);
            }
        }
        self.next_slot = next;
        Ok(())
    }

    fn apply_op(&mut self, slot: u64, index: u32, op: &Op) {
        match op {
            Op::Tweet { user, text, time } => {
                if let Some(a) = self.user_index(user) {
                    let key = TweetKey {
                        time: *time,
                        slot,
                        index,
                    };
                    self.tweets[a].insert(key, text.as_str().into());
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
        self.tweets.iter().map(BTreeMap::len).sum()
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
            .map(|a| self.tweets[a].len())
            .sum()
    }

    /// Every tweet, newest first (the timeline of a user nobody blocks).
    pub fn all_tweets(&self) -> Timeline<'_> {
        let all = (Bound::Unbounded, Bound::Unbounded);
        Timeline::new(self, |_| true, all, Order::NewestFirst)
    }
}

/// The order a [`Timeline`] walks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// Newest first: what a reader sees, top down.
    NewestFirst,
    /// Oldest first: walking up a timeline from a point in it.
    OldestFirst,
}

/// One author's tweets in a key range, with the next one (in the walk's
/// order) looked at.
#[derive(Clone, Debug)]
struct Source<'a> {
    author: usize,
    head: (&'a TweetKey, &'a str),
    rest: btree_map::Range<'a, TweetKey, Box<str>>,
}

/// A walk along a timeline: see [`State::timeline`], [`State::timeline_at`]
/// and [`State::timeline_above`]. Starting one costs O(users × log n),
/// each step O(users), so a walk from any point touches only what it yields.
#[derive(Clone, Debug)]
pub struct Timeline<'a> {
    users: &'a [String],
    sources: Vec<Source<'a>>,
    order: Order,
}

impl<'a> Timeline<'a> {
    fn new(
        state: &'a State,
        mut shown: impl FnMut(usize) -> bool,
        range: (Bound<TweetKey>, Bound<TweetKey>),
        order: Order,
    ) -> Self {
        let mut sources = Vec::new();
        for (author, tweets) in state.tweets.iter().enumerate() {
            if !shown(author) {
                continue;
            }
            let mut rest = tweets.range(range);
            let first = match order {
                Order::NewestFirst => rest.next_back(),
                Order::OldestFirst => rest.next(),
            };
            if let Some((key, text)) = first {
                let head = (key, &**text);
                sources.push(Source { author, head, rest });
            }
        }
        Timeline {
            users: &state.users,
            sources,
            order,
        }
    }

    /// Moves past the next tweet and returns it by reference, so that
    /// skipping (scrolling deep into a long history) allocates nothing.
    fn advance(&mut self) -> Option<(&'a TweetKey, &'a str, usize)> {
        // The next head among the authors (few: one per site).
        let heads = self.sources.iter().enumerate();
        let (i, _) = match self.order {
            Order::NewestFirst => heads.max_by_key(|(_, s)| s.head.0)?,
            Order::OldestFirst => heads.min_by_key(|(_, s)| s.head.0)?,
        };
        let source = &mut self.sources[i];
        let (key, text) = source.head;
        let author = source.author;
        let next = match self.order {
            Order::NewestFirst => source.rest.next_back(),
            Order::OldestFirst => source.rest.next(),
        };
        match next {
            Some((key, text)) => source.head = (key, &**text),
            None => {
                self.sources.swap_remove(i);
            }
        }
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
        let heads = self.sources.iter().map(|s| *s.head.0);
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
            text: text.to_string(),
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
