//! The timeline pane's scroll model: which tweet is selected, which is at
//! the top, and how new tweets move them.
//!
//! Everything here touches only the visible part of the timeline
//! (`State::timeline` is a lazy newest-first iterator: `skip` + `take`), so
//! the cost of a frame does not grow with the length of the history.

use super::text::wrap;
use crate::state::{State, Tweet};
use chrono::{DateTime, Utc};

/// Where a tweet sorts: newer (greater) first, as in `State::timeline`.
pub type TweetKey = (DateTime<Utc>, u64, u32);

pub fn key(t: &Tweet) -> TweetKey {
    (t.time, t.slot, t.index)
}

/// Cells left of a tweet's text: the selection gutter and an indent.
pub const TEXT_INDENT: usize = 4;

/// One visible tweet and its text wrapped to the pane.
#[derive(Clone, Debug)]
pub struct Item {
    pub tweet: Tweet,
    pub lines: Vec<String>,
}

impl Item {
    /// Rows it takes: a header and the wrapped text.
    pub fn height(&self) -> usize {
        1 + self.lines.len()
    }
}

fn item(tweet: Tweet, width: usize) -> Item {
    let lines = wrap(&tweet.text, width.saturating_sub(TEXT_INDENT).max(1));
    Item { tweet, lines }
}

/// The tweets shown from `offset` on in a pane of `width` x `height` cells
/// (the last one may be cut by the pane's bottom).
pub fn visible(state: &State, me: &str, offset: usize, width: usize, height: usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut used = 0;
    for t in state.timeline(me).skip(offset).take(height) {
        if used >= height {
            break;
        }
        let it = item(t, width);
        used += it.height();
        out.push(it);
    }
    out
}

/// The scroll position of a timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineView {
    /// Index (newest first) of the first tweet shown.
    pub offset: usize,
    /// Index of the selected tweet.
    pub selected: usize,
    /// Keys of the tweets at `offset` and `selected`, to keep them in place
    /// when newer tweets arrive.
    pub top_key: Option<TweetKey>,
    pub sel_key: Option<TweetKey>,
    /// Tweets that arrived above the view while the reader was not at the top.
    pub new_above: usize,
}

impl TimelineView {
    /// At the very top with the newest tweet selected: new tweets show up
    /// there and the selection stays on the newest one.
    pub fn following(&self) -> bool {
        self.offset == 0 && self.selected == 0
    }

    /// A tweet the reader can see was added with key `k`.
    pub fn inserted(&mut self, k: TweetKey) {
        if self.following() {
            return;
        }
        if self.sel_key.is_some_and(|s| k > s) {
            self.selected += 1;
        }
        if self.offset > 0 && self.top_key.is_some_and(|t| k > t) {
            self.offset += 1;
            self.new_above += 1;
        }
    }

    /// The set of visible tweets changed wholesale (someone blocked or
    /// unblocked the reader): find the anchored tweets again. Costs a walk
    /// down to the selection, never the whole history.
    pub fn relocate(&mut self, state: &State, me: &str) {
        if self.following() {
            return;
        }
        let (Some(sel), top) = (self.sel_key, self.top_key) else {
            return;
        };
        let mut selected = 0;
        let mut offset = 0;
        for t in state.timeline(me) {
            let k = key(&t);
            if k <= sel {
                break;
            }
            selected += 1;
            if top.is_some_and(|top| k > top) {
                offset += 1;
            }
        }
        self.selected = selected;
        self.offset = offset.min(selected);
    }

    /// Moves the selection by `delta` tweets.
    pub fn move_by(&mut self, delta: isize) {
        self.selected = self.selected.saturating_add_signed(delta);
    }

    /// Moves the page by `delta` tweets (selection with it).
    pub fn page_by(&mut self, delta: isize) {
        self.offset = self.offset.saturating_add_signed(delta);
        self.selected = self.selected.saturating_add_signed(delta);
    }

    pub fn home(&mut self) {
        self.offset = 0;
        self.selected = 0;
        self.new_above = 0;
    }

    /// Selects the oldest tweet, with the page filled up to it.
    pub fn end(&mut self, state: &State, me: &str, width: usize, height: usize) {
        let len = state.timeline_len(me);
        if len == 0 {
            self.home();
            return;
        }
        self.selected = len - 1;
        let first = len.saturating_sub(height.max(1));
        let heights: Vec<usize> = state
            .timeline(me)
            .skip(first)
            .map(|t| item(t, width).height())
            .collect();
        let mut used = 0;
        let mut offset = len - 1;
        for (i, h) in heights.iter().enumerate().rev() {
            if used + h > height && used > 0 {
                break;
            }
            used += h;
            offset = first + i;
        }
        self.offset = offset;
    }

    /// Clamps to the timeline and scrolls so the selected tweet is fully
    /// visible in a pane of `width` x `height`; refreshes the anchors.
    pub fn fix(&mut self, state: &State, me: &str, width: usize, height: usize) {
        let len = state.timeline_len(me);
        if len == 0 {
            *self = TimelineView::default();
            return;
        }
        let height = height.max(1);
        self.selected = self.selected.min(len - 1);
        self.offset = self.offset.min(self.selected);
        // Every tweet takes at least one row.
        if self.selected - self.offset >= height {
            self.offset = self.selected + 1 - height;
        }
        let items: Vec<(TweetKey, usize)> = state
            .timeline(me)
            .skip(self.offset)
            .take(self.selected - self.offset + 1)
            .map(|t| (key(&t), item(t, width).height()))
            .collect();
        let mut used: usize = items.iter().map(|(_, h)| h).sum();
        let mut first = 0;
        while used > height && first + 1 < items.len() {
            used -= items[first].1;
            first += 1;
        }
        self.offset += first;
        self.top_key = items.get(first).map(|(k, _)| *k);
        self.sel_key = items.last().map(|(k, _)| *k);
        if self.offset == 0 {
            self.new_above = 0;
        }
    }
}
