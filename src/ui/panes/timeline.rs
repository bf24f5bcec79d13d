//! The timeline pane: the shown site's timeline, newest first, with the
//! tweets on their way above it.
//!
//! Its scroll model keeps the place of one tweet it has seen (its index and
//! key) and walks to the page from the nearest known point: the top, the
//! bottom, or that tweet (`State::timeline_at` / `timeline_above` start
//! anywhere in O(users × log n)). So a frame and a scroll cost what is
//! shown and how far it moves, not how long the history is or how deep the
//! reader is.

use super::{bordered, drawable, plural, Ask, Level};
use crate::state::{State, Timeline, Tweet, TweetKey};
use crate::ui::clock::Clock;
use crate::ui::keys::{ch, code, help_only, in_footer, KeyHelp};
use crate::ui::text::{fit, width, wrap};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};
use ratatui::Frame;

// ----- keys -------------------------------------------------------------

/// What a key does to the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Select the tweet this many rows down (up when negative).
    Select(isize),
    /// Move the page and the selection this many pages down (or up).
    Page(isize),
    /// Select this many pages down (or up) (the input box's PgUp/PgDn).
    SelectPage(isize),
    Newest,
    Oldest,
    BlockAuthor,
}

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "↑/↓ k/j",
        &[code(KeyCode::Up), ch('k'), code(KeyCode::Down), ch('j')],
        ("↑↓", "select"),
        "select the newer/older tweet",
    ),
    in_footer(
        "b",
        &[ch('b')],
        ("b", "block author"),
        "block the author of the selected tweet",
    ),
    help_only(
        "PgUp/PgDn",
        &[code(KeyCode::PageUp), code(KeyCode::PageDown)],
        "scroll a page",
    ),
    help_only(
        "Home/End g/G",
        &[code(KeyCode::Home), ch('g'), code(KeyCode::End), ch('G')],
        "jump to the newest/oldest tweet",
    ),
    help_only("mouse wheel", &[], "scroll the pane under the pointer"),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Select(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Select(1),
        KeyCode::PageUp => Action::Page(-1),
        KeyCode::PageDown => Action::Page(1),
        KeyCode::Home | KeyCode::Char('g') => Action::Newest,
        KeyCode::End | KeyCode::Char('G') => Action::Oldest,
        KeyCode::Char('b') => Action::BlockAuthor,
        _ => return None,
    })
}

/// The shown site's timeline, as its keys see it.
pub struct TimelinePane<'a> {
    pub state: Option<&'a State>,
    /// The reader: the shown site's user.
    pub me: &'a str,
    pub view: &'a mut TimelineView,
    /// Width and height, in cells, of the list of decided tweets (`None`:
    /// the terminal is too small for the layout).
    pub size: Option<(usize, usize)>,
}

impl TimelinePane<'_> {
    /// Tweets a page moves.
    fn page(&self) -> isize {
        self.size.map_or(1, |(_, h)| (h / 3).max(1)) as isize
    }

    /// Scrolls so the selected tweet is fully visible.
    pub fn keep_selection_visible(&mut self) {
        if let (Some((w, h)), Some(state)) = (self.size, self.state) {
            self.view.fix(state, self.me, w, h);
        }
    }

    pub fn apply(&mut self, action: Action) -> Ask {
        let page = self.page();
        match action {
            Action::Select(n) => self.view.move_by(n),
            Action::SelectPage(n) => self.view.move_by(n * page),
            Action::Page(n) => self.view.page_by(n * page),
            Action::Newest => self.view.home(),
            Action::Oldest => {
                if let (Some((w, h)), Some(state)) = (self.size, self.state) {
                    self.view.end(state, self.me, w, h);
                }
            }
            Action::BlockAuthor => return self.block_author(),
        }
        self.keep_selection_visible();
        Ask::Nothing
    }

    fn block_author(&self) -> Ask {
        let author = self
            .state
            .and_then(|s| self.view.selected_tweet(s, self.me))
            .map(|t| t.user);
        match author {
            Some(a) if a == self.me => Ask::say(
                Level::Error,
                "that is your own tweet: you cannot block yourself",
            ),
            Some(a) => Ask::Block(a),
            None => Ask::say(Level::Info, "no tweet selected"),
        }
    }
}

// ----- the scroll model -------------------------------------------------

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

/// The scroll position of a timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineView {
    /// Index (newest first) of the first tweet shown.
    pub offset: usize,
    /// Index of the selected tweet.
    pub selected: usize,
    /// A tweet whose place is known: its index and key. `fix` sets it to
    /// the top of the page; `inserted` keeps its index true as tweets
    /// arrive; `relocate` drops it when the reader's timeline changes
    /// wholesale. Walks to the page may start from it.
    anchor: Option<(usize, TweetKey)>,
    /// Key of the selected tweet, as of the last `fix`: keeps the selection
    /// on its tweet when newer tweets arrive.
    sel_key: Option<TweetKey>,
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
        let above = |key: Option<TweetKey>| key.is_some_and(|key| k > key);
        // The page and the selection stay on their tweets unless the
        // reader is at the very top.
        if !self.following() {
            if above(self.sel_key) {
                self.selected += 1;
            }
            // The anchor is the top of the page as of the last `fix`.
            if self.offset > 0 && above(self.anchor.map(|(_, key)| key)) {
                self.offset += 1;
                self.new_above += 1;
            }
        }
        if let Some((a, key)) = &mut self.anchor {
            if k > *key {
                *a += 1;
            }
        }
    }

    /// The set of visible tweets changed wholesale (someone blocked or
    /// unblocked the reader): find the page and the selected tweet again.
    /// Costs a walk down to the selection (a block of the reader is rare).
    pub fn relocate(&mut self, state: &State, me: &str) {
        let top = self.anchor.take().map(|(_, key)| key);
        if self.following() {
            return;
        }
        let Some(sel) = self.sel_key else {
            return;
        };
        let mut selected = 0;
        let mut offset = 0;
        for t in state.timeline(me) {
            let k = t.key();
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

    /// Selects the oldest tweet, with the page filled up to it: walks up
    /// from the bottom, as far as one page.
    pub fn end(&mut self, state: &State, me: &str, width: usize, height: usize) {
        let len = state.timeline_len(me);
        if len == 0 {
            self.home();
            return;
        }
        self.selected = len - 1;
        let mut used = 0;
        let mut offset = len - 1;
        for (i, t) in state
            .timeline_above(me, None)
            .take(height.max(1))
            .enumerate()
        {
            let h = item(t, width).height();
            if used + h > height && used > 0 {
                break;
            }
            used += h;
            offset = len - 1 - i;
        }
        self.offset = offset;
    }

    /// The timeline from the tweet at `index` down, reached from whichever
    /// known point is nearest (`len` is the timeline's length); `None` past
    /// its end.
    fn walk_from<'s>(
        &self,
        state: &'s State,
        me: &str,
        len: usize,
        index: usize,
    ) -> Option<Timeline<'s>> {
        let from_top = index;
        let from_bottom = len.checked_sub(1)?.checked_sub(index)?;
        let from_anchor = self.anchor.map_or(usize::MAX, |(a, _)| a.abs_diff(index));
        if from_top <= from_bottom.min(from_anchor) {
            return Some(state.timeline(me).skip_n(index));
        }
        let key = match self.anchor {
            Some((a, k)) if from_anchor < from_bottom => {
                if index >= a {
                    state.timeline_at(me, k).skip_n(index - a).peek_key()
                } else {
                    // Upwards: the tweet just above the anchor is step 0.
                    let up = state.timeline_above(me, Some(k));
                    up.skip_n(a - index - 1).peek_key()
                }
            }
            _ => state
                .timeline_above(me, None)
                .skip_n(from_bottom)
                .peek_key(),
        };
        Some(state.timeline_at(me, key?))
    }

    /// The tweets shown in a pane of `width` x `height` cells (the last one
    /// may be cut by the pane's bottom).
    pub fn visible(&self, state: &State, me: &str, width: usize, height: usize) -> Vec<Item> {
        let len = state.timeline_len(me);
        let mut out = Vec::new();
        let mut used = 0;
        let walk = self.walk_from(state, me, len, self.offset);
        for t in walk.into_iter().flatten().take(height) {
            if used >= height {
                break;
            }
            let it = item(t, width);
            used += it.height();
            out.push(it);
        }
        out
    }

    /// The selected tweet, as of the last `fix`.
    pub fn selected_tweet(&self, state: &State, me: &str) -> Option<Tweet> {
        state.timeline_at(me, self.sel_key?).next()
    }

    /// Clamps to the timeline and scrolls so the selected tweet is fully
    /// visible in a pane of `width` x `height`; refreshes the anchor and the
    /// selected key.
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
        let items: Vec<(TweetKey, usize)> = self
            .walk_from(state, me, len, self.offset)
            .into_iter()
            .flatten()
            .take(self.selected - self.offset + 1)
            .map(|t| (t.key(), item(t, width).height()))
            .collect();
        let mut used: usize = items.iter().map(|(_, h)| h).sum();
        let mut first = 0;
        while used > height && first + 1 < items.len() {
            used -= items[first].1;
            first += 1;
        }
        self.offset += first;
        self.anchor = items.get(first).map(|(k, _)| (self.offset, *k));
        self.sel_key = items.last().map(|(k, _)| *k);
        self.fill_up(state, me, width, height);
        if self.offset == 0 {
            self.new_above = 0;
        }
    }

    /// A page that ends above the pane's bottom (the pane grew, or the
    /// tweets below it went away) moves up over the tweets above it, so no
    /// tweet hides above empty rows. Walks at most a page each way.
    fn fill_up(&mut self, state: &State, me: &str, width: usize, height: usize) {
        let Some((_, top)) = self.anchor else {
            return;
        };
        if self.offset == 0 {
            return;
        }
        let mut used = 0;
        for t in state.timeline_at(me, top).take(height) {
            used += item(t, width).height();
            if used >= height {
                return;
            }
        }
        for t in state.timeline_above(me, Some(top)).take(height) {
            let key = t.key();
            let h = item(t, width).height();
            if used + h > height || self.offset == 0 {
                break;
            }
            used += h;
            self.offset -= 1;
            self.anchor = Some((self.offset, key));
        }
    }
}

// ----- drawing ----------------------------------------------------------

/// What the timeline pane shows.
pub struct TimelineProps<'a> {
    pub theme: &'a Theme,
    pub clock: &'a Clock,
    pub focused: bool,
    /// `None`: the site's state has not arrived yet.
    pub state: Option<&'a State>,
    pub me: &'a str,
    pub view: &'a TimelineView,
    /// Every site's name (an author's colour is its site's).
    pub names: &'a [String],
    /// The tweets on their way, oldest first, each with whether it is in
    /// doubt (answered 503), and how many rows they take.
    pub pending: &'a [(&'a str, bool)],
    pub pending_rows: usize,
}

pub fn draw(p: &TimelineProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let len = p.state.map_or(0, |s| s.timeline_len(p.me));
    let head = heading(p, len, area.width as usize);
    let block = bordered(t, head, p.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    // Tweets on their way: above the decided ones, until they are applied.
    let rows = p.pending_rows.min(inner.height.saturating_sub(1) as usize);
    let [pending_area, inner] =
        Layout::vertical([Constraint::Length(rows as u16), Constraint::Fill(1)]).areas(inner);
    draw_pending(p, frame, pending_area, rows);
    let Some(state) = p.state else {
        frame.render_widget(
            Paragraph::new(Span::styled("waiting for the site…", t.dim())),
            inner,
        );
        return;
    };
    if len == 0 {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No tweets yet. Type one below and press Enter.",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    let (w, h) = (inner.width as usize, inner.height as usize);
    let items = p.view.visible(state, p.me, w, h);
    frame.render_widget(Paragraph::new(tweet_lines(p, &items, h)), inner);
    let all_visible = p.view.offset == 0 && items.len() == len && used_rows(&items) <= h;
    if h > 2 && !all_visible {
        let mut sb = ScrollbarState::new(len.saturating_sub(items.len()) + 1)
            .position(p.view.offset)
            .viewport_content_length(items.len());
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None)
                .track_symbol(Some("│"))
                .thumb_symbol("┃")
                .track_style(t.border(p.focused))
                .thumb_style(t.border(true)),
            area.inner(Margin {
                vertical: 1,
                horizontal: 0,
            }),
            &mut sb,
        );
    }
}

/// The title: who sees how many tweets, and how many are above the page
/// (new ones, or scrolled past), shorter in a narrow pane.
fn heading(p: &TimelineProps, len: usize, pane_w: usize) -> String {
    let tweets = plural(len, "tweet");
    let (above, short) = match (p.view.new_above, p.view.offset) {
        (0, 0) => (String::new(), String::new()),
        (0, k) => (format!(" · {k} above (Home)"), format!(" · ↑{k}")),
        (k, _) => (format!(" · {k} new above (Home)"), format!(" · ↑{k} new")),
    };
    [
        format!(" Timeline · {} sees {tweets}{above} ", p.me),
        format!(" Timeline · {tweets}{above} "),
        format!(" {tweets}{short} "),
    ]
    .into_iter()
    .find(|h| width(h) + 2 <= pane_w)
    .unwrap_or_else(|| format!(" {len}{short} "))
}

/// One row per pending tweet, the last counting the rest.
fn draw_pending(p: &TimelineProps, frame: &mut Frame, area: Rect, rows: usize) {
    let t = p.theme;
    let lines = p
        .pending
        .iter()
        .take(rows)
        .enumerate()
        .map(|(i, (text, doubt))| {
            let more = p.pending.len() - i;
            let text = if i + 1 == rows && more > 1 {
                format!("and {more} more tweets")
            } else {
                text.to_string()
            };
            let (head, style) = if *doubt {
                (format!("? {}  not decided yet (503)  ", p.me), t.warn())
            } else {
                (format!("⧗ {}  posting…  ", p.me), t.pending())
            };
            let room = (area.width as usize).saturating_sub(width(&head));
            Line::from(vec![
                Span::styled(head, style),
                Span::styled(fit(&text, room), t.dim()),
            ])
        });
    frame.render_widget(Paragraph::new(lines.collect::<Vec<_>>()), area);
}

/// The visible tweets as at most `h` rows: a header, then the text.
fn tweet_lines<'a>(p: &TimelineProps, items: &[Item], h: usize) -> Vec<Line<'a>> {
    let t = p.theme;
    let mut lines: Vec<Line> = Vec::with_capacity(h);
    for (i, it) in items.iter().enumerate() {
        let selected = p.view.offset + i == p.view.selected;
        let author = p.names.iter().position(|n| *n == it.tweet.user);
        let mut header = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::styled(
                it.tweet.user.clone(),
                author.map_or(t.plain(), |a| t.author(a)),
            ),
            Span::styled(format!("  {}", p.clock.format(it.tweet.time)), t.dim()),
            Span::styled(format!("  slot {}", it.tweet.slot), t.dim()),
        ];
        if it.tweet.index > 0 {
            header.push(Span::styled(format!(".{}", it.tweet.index), t.dim()));
        }
        let mut block_lines = vec![Line::from(header)];
        for l in &it.lines {
            block_lines.push(Line::raw(format!("{}{l}", " ".repeat(TEXT_INDENT))));
        }
        if selected {
            // Over every span too: a theme's selection colour wins over an
            // author's (as in the block list).
            let style = t.selected(p.focused);
            block_lines = block_lines
                .into_iter()
                .map(|l| {
                    let spans: Vec<Span> =
                        l.spans.into_iter().map(|s| s.patch_style(style)).collect();
                    Line::from(spans).style(style)
                })
                .collect();
        }
        lines.extend(block_lines);
        if lines.len() >= h {
            break;
        }
    }
    lines.truncate(h);
    lines
}

fn used_rows(items: &[Item]) -> usize {
    items.iter().map(Item::height).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::op::{Command, Op, OpId, Value};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
    const ME: &str = "bob";

    #[derive(Clone, Debug)]
    enum Action {
        Move(i8),
        Page(i8),
        Home,
        End,
        Tweet { author: usize, secs: i64 },
        Block { author: usize },
        Unblock { author: usize },
        Resize { width: usize, height: usize },
    }

    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            4 => any::<i8>().prop_map(Action::Move),
            4 => any::<i8>().prop_map(Action::Page),
            1 => Just(Action::Home),
            1 => Just(Action::End),
            4 => (0..4usize, 0..60i64).prop_map(|(author, secs)| Action::Tweet { author, secs }),
            1 => (0..4usize).prop_map(|author| Action::Block { author }),
            1 => (0..4usize).prop_map(|author| Action::Unblock { author }),
            1 => (8..40usize, 1..12usize).prop_map(|(width, height)| Action::Resize { width, height }),
        ]
    }

    /// Applies `op` as the next slot and tells the view, as the app does
    /// when a slot is committed.
    fn commit(state: &mut State, view: &mut TimelineView, op: Op) {
        let slot = state.next_slot();
        let id = OpId {
            site: 0,
            boot: 1,
            seq: slot,
        };
        let value = Value::batch(vec![Command { id, op: op.clone() }]);
        state.apply(slot, &value).unwrap();
        match op {
            Op::Tweet { user, time, .. } if !state.is_blocked(&user, ME) => {
                view.inserted(TweetKey {
                    time,
                    slot,
                    index: 0,
                });
            }
            Op::Block { target, .. } | Op::Unblock { target, .. } if target == ME => {
                view.relocate(state, ME);
            }
            _ => {}
        }
    }

    fn tweet(author: usize, secs: i64) -> Op {
        Op::Tweet {
            user: USERS[author].into(),
            text: format!("{} says {secs}", USERS[author]),
            time: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        }
    }

    proptest! {
        /// Whatever the reader does and whatever arrives, the page and the
        /// selection found by walking from the nearest known tweet are the
        /// ones a walk from the top finds; and the selected tweet stays
        /// selected while newer tweets arrive.
        #[test]
        fn scrolling_from_anchors_agrees_with_walking_from_the_top(
            initial in 0..150usize,
            actions in prop::collection::vec(action(), 1..60),
            mut width in 8..40usize,
            mut height in 1..12usize,
        ) {
            let mut state = State::new(USERS.iter().map(|u| u.to_string()).collect());
            let mut view = TimelineView::default();
            for i in 0..initial {
                commit(&mut state, &mut view, tweet(i % 4, (i as i64 * 7) % 50));
            }
            view.fix(&state, ME, width, height);
            for action in actions {
                let before = view.selected_tweet(&state, ME);
                let following = view.following();
                match action {
                    Action::Move(d) => view.move_by(d as isize),
                    Action::Page(d) => view.page_by(d as isize),
                    Action::Home => view.home(),
                    Action::End => view.end(&state, ME, width, height),
                    Action::Tweet { author, secs } => {
                        commit(&mut state, &mut view, tweet(author, secs))
                    }
                    Action::Block { author } if USERS[author] != ME
                        && !state.is_blocked(USERS[author], ME) =>
                    {
                        let op = Op::Block { user: USERS[author].into(), target: ME.into() };
                        commit(&mut state, &mut view, op)
                    }
                    Action::Unblock { author } if state.is_blocked(USERS[author], ME) => {
                        let op = Op::Unblock { user: USERS[author].into(), target: ME.into() };
                        commit(&mut state, &mut view, op)
                    }
                    Action::Block { .. } | Action::Unblock { .. } => continue,
                    Action::Resize { width: w, height: h } => (width, height) = (w, h),
                }
                view.fix(&state, ME, width, height);

                let all: Vec<TweetKey> = state.timeline(ME).map(|t| t.key()).collect();
                let shown: Vec<TweetKey> = view
                    .visible(&state, ME, width, height)
                    .iter()
                    .map(|it| it.tweet.key())
                    .collect();
                if all.is_empty() {
                    prop_assert!(shown.is_empty());
                    prop_assert_eq!(view.selected_tweet(&state, ME), None);
                    continue;
                }
                prop_assert!(view.offset <= view.selected && view.selected < all.len());
                prop_assert!(!shown.is_empty());
                prop_assert_eq!(&shown[..], &all[view.offset..view.offset + shown.len()]);
                let selected = view.selected_tweet(&state, ME).map(|t| t.key());
                prop_assert_eq!(selected, Some(all[view.selected]));
                prop_assert!(view.selected < view.offset + shown.len());
                // No tweet hides above empty rows: the one above the page
                // would not fit.
                if view.offset > 0 {
                    let rows: usize = view
                        .visible(&state, ME, width, height)
                        .iter()
                        .map(Item::height)
                        .sum();
                    let above = state.timeline(ME).nth(view.offset - 1).unwrap();
                    prop_assert!(rows + item(above, width).height() > height);
                }
                let kept = before.filter(|b| all.contains(&b.key()));
                if matches!(action, Action::Tweet { .. }) && !following {
                    prop_assert_eq!(selected, kept.map(|t| t.key()));
                }
            }
        }
    }
}
