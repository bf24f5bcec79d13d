//! The JSON form of [`State`], for checkpoints.
//!
//! ```json
//! {
//!   "users": ["alice", "bob", "carol"],
//!   "next_slot": 42,
//!   "blocks": {"alice": ["bob"]},
//!   "tweets": [[7, 0, 1, "2024-05-01T12:00:00.123456789Z", "hello"], ...],
//!   "applied": [[0, 12345, [{"start": 1, "end": 90}]], ...]
//! }
//! ```
//!
//! A tweet is `[slot, index in batch, author's index in users, time, text]`,
//! the compact form a long history deserves; `blocks` lists, by name, whom
//! each user blocks (users who block nobody are left out); `applied` the
//! operations applied, per submitting (site, boot), as ranges of sequence
//! numbers (a checkpoint written before it existed loads with none). Nothing derived
//! is stored: the per-author order is rebuilt on load. Loading checks the
//! content (known users, tweets before `next_slot`, each log position once)
//! and refuses a checkpoint that does not hold up.

use super::{AppliedOps, Backing, Order, State, Timeline, TweetKey, Tweets};
use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// `[slot, index, author, time, text]`
type TweetRow = (u64, u32, usize, DateTime<Utc>, String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    users: Vec<String>,
    next_slot: u64,
    #[serde(default)]
    blocks: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    tweets: Vec<TweetRow>,
    #[serde(default)]
    applied: AppliedOps,
}

/// Serializes the tweets one by one, author by author (wherever they are
/// kept).
struct TweetRows<'a>(&'a State);

impl Serialize for TweetRows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let state = self.0;
        s.collect_seq((0..state.users.len()).flat_map(|a| {
            let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
            Timeline::new(state, move |x| x == a, all, Order::OldestFirst)
                .map(move |t| (t.slot, t.index, a, t.time, t.text))
        }))
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let blocks: BTreeMap<&str, Vec<&str>> = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, set)| !set.is_empty())
            .map(|(a, set)| {
                let targets = set.iter().map(|&b| self.users[b].as_str()).collect();
                (self.users[a].as_str(), targets)
            })
            .collect();
        let mut st = s.serialize_struct("State", 5)?;
        st.serialize_field("users", &self.users)?;
        st.serialize_field("next_slot", &self.next_slot)?;
        st.serialize_field("blocks", &blocks)?;
        st.serialize_field("tweets", &TweetRows(self))?;
        st.serialize_field("applied", &self.applied)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        State::from_repr(Repr::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl State {
    fn from_repr(repr: Repr) -> Result<State, String> {
        let Repr {
            users,
            next_slot,
            blocks,
            tweets,
            applied,
        } = repr;
        let mut state = State::new(users);
        let index = |state: &State, name: &str| {
            state.user_index(name).ok_or_else(|| {
                format!(
                    "invalid checkpoint: blocks: unknown user '{name}' (users: {})",
                    state.users.join(", ")
                )
            })
        };
        for (user, targets) in &blocks {
            let a = index(&state, user)?;
            let mut set = BTreeSet::new();
            for target in targets {
                let b = index(&state, target)?;
                if a == b {
                    return Err(format!(
                        "invalid checkpoint: blocks: '{user}' blocks themselves"
                    ));
                }
                set.insert(b);
            }
            state.blocks[a] = set;
        }
        let mut positions = HashSet::with_capacity(tweets.len());
        let mut per_author: Vec<Vec<(TweetKey, Box<str>)>> = vec![Vec::new(); state.users.len()];
        for (slot, index, author, time, text) in tweets {
            if author >= state.users.len() {
                return Err(format!(
                    "invalid checkpoint: the tweet at slot {slot}, index {index} has author {author}, \
                     but there are {} users",
                    state.users.len()
                ));
            }
            if slot >= next_slot {
                return Err(format!(
                    "invalid checkpoint: a tweet at slot {slot}, but only slots before {next_slot} are applied"
                ));
            }
            if !positions.insert((slot, index)) {
                return Err(format!(
                    "invalid checkpoint: two tweets at slot {slot}, index {index}"
                ));
            }
            per_author[author].push((TweetKey { time, slot, index }, text.into_boxed_str()));
        }
        drop(positions);
        state.counts = per_author.iter().map(|rows| rows.len() as u64).collect();
        state.tweets = Backing::Memory(
            per_author
                .into_iter()
                .map(|rows| rows.into_iter().collect::<Tweets>())
                .collect(),
        );
        state.next_slot = next_slot;
        state.applied = applied;
        Ok(state)
    }
}
