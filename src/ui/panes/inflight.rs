//! The in-flight pane of `demo --step`: every message the network holds,
//! oldest first (newest last), coloured by kind as in the trace, and what
//! its keys do to the selected one: deliver it, drop it, duplicate it.
//! The pane takes the lower part of the timeline's column in step mode.

use super::{bordered, drawable, Ask, Level};
use crate::engine::MsgId;
use crate::paxos::SiteId;
use crate::ui::keys::{ch, code, help_only, in_footer, KeyHelp};
use crate::ui::step::{secs, Queued, StepCmd};
use crate::ui::text::{fit, pad, width};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The pane's own state: which message is selected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlightView {
    /// The selected message (`None`: the one at row `at`).
    pub id: Option<MsgId>,
    /// Its row, to stay near when it leaves the queue.
    pub at: usize,
}

impl InFlightView {
    /// The selected row of `queue` (after a step changed it: the message
    /// selected, else the row where it was).
    pub fn row(&self, queue: &[Queued]) -> Option<usize> {
        let last = queue.len().checked_sub(1)?;
        let found = self.id.and_then(|id| queue.iter().position(|q| q.id == id));
        Some(found.unwrap_or(self.at.min(last)))
    }

    /// Follows `queue` after a step: the same message, or its row.
    pub fn follow(&mut self, queue: &[Queued]) {
        match self.row(queue) {
            Some(i) => {
                self.at = i;
                self.id = Some(queue[i].id);
            }
            None => *self = InFlightView::default(),
        }
    }
}

// ----- keys -------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Move(isize),
    First,
    Last,
    Deliver,
    Drop,
    Duplicate,
}

/// Rows PgUp and PgDn move.
const PAGE: isize = 10;

pub const KEYS: &[KeyHelp] = &[
    in_footer(
        "↑/↓ k/j",
        &[code(KeyCode::Up), ch('k'), code(KeyCode::Down), ch('j')],
        ("↑↓", "select"),
        "select a message",
    ),
    in_footer(
        "d",
        &[ch('d')],
        ("d", "deliver"),
        "deliver the selected message now",
    ),
    in_footer(
        "Del/Backspace",
        &[code(KeyCode::Delete), code(KeyCode::Backspace)],
        ("Del", "drop"),
        "drop the selected message: it never arrives",
    ),
    in_footer(
        "D",
        &[ch('D')],
        ("D", "duplicate"),
        "duplicate the selected message: a copy is queued (newest last)",
    ),
    help_only(
        "PgUp/PgDn",
        &[code(KeyCode::PageUp), code(KeyCode::PageDown)],
        "select ten messages up/down",
    ),
    help_only(
        "Home/End g/G",
        &[code(KeyCode::Home), ch('g'), code(KeyCode::End), ch('G')],
        "select the oldest/newest message",
    ),
];

pub fn action(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Move(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Move(1),
        KeyCode::PageUp => Action::Move(-PAGE),
        KeyCode::PageDown => Action::Move(PAGE),
        KeyCode::Home | KeyCode::Char('g') => Action::First,
        KeyCode::End | KeyCode::Char('G') => Action::Last,
        KeyCode::Char('d') => Action::Deliver,
        KeyCode::Delete | KeyCode::Backspace => Action::Drop,
        KeyCode::Char('D') => Action::Duplicate,
        _ => return None,
    })
}

/// Carries out `action` on `queue` with the selection `view`.
pub fn apply(action: Action, queue: &[Queued], view: &mut InFlightView) -> Ask {
    let Some(at) = view.row(queue) else {
        return Ask::say(
            Level::Info,
            "nothing in flight: n fires the shown site's next timer, Space runs",
        );
    };
    let last = queue.len() - 1;
    let to = match action {
        Action::Move(d) => at.saturating_add_signed(d).min(last),
        Action::First => 0,
        Action::Last => last,
        Action::Deliver => return Ask::Step(StepCmd::Deliver(queue[at].id)),
        Action::Drop => return Ask::Step(StepCmd::Drop(queue[at].id)),
        Action::Duplicate => return Ask::Step(StepCmd::Duplicate(queue[at].id)),
    };
    view.at = to;
    view.id = Some(queue[to].id);
    Ask::Nothing
}

// ----- drawing ----------------------------------------------------------

pub struct InFlightProps<'a> {
    pub theme: &'a Theme,
    pub focused: bool,
    pub names: &'a [String],
    pub queue: &'a [Queued],
    pub view: &'a InFlightView,
    pub now_ms: u64,
}

pub fn draw(p: &InFlightProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let title = format!(
        " In flight · {} · t={} ",
        super::plural(p.queue.len(), "message"),
        secs(p.now_ms)
    );
    let block = bordered(t, title, p.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 2 {
        return;
    }
    let h = inner.height as usize;
    let Some(sel) = p.view.row(p.queue) else {
        let hint = "nothing in flight (n: the shown site's next timer, Space: run)";
        frame.render_widget(Paragraph::new(Span::styled(hint, t.dim())), inner);
        return;
    };
    let top = (sel + 1).saturating_sub(h);
    let name_w = p.names.iter().map(|s| width(s)).max().unwrap_or(1).min(6);
    let id_w = p.queue.last().map_or(1, |q| q.id.to_string().len());
    let lines: Vec<Line> = p.queue[top..]
        .iter()
        .take(h)
        .enumerate()
        .map(|(i, q)| {
            let chosen = top + i == sel;
            let row = row_line(p, q, name_w, id_w, chosen);
            if chosen {
                row.style(t.selected(p.focused))
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn name(p: &InFlightProps, site: SiteId, w: usize) -> String {
    let n = p
        .names
        .get(site as usize)
        .cloned()
        .unwrap_or_else(|| site.to_string());
    pad(&n, w)
}

/// One message: id, when sent, from→to, kind, slot, ballot, value.
fn row_line<'a>(
    p: &InFlightProps,
    q: &Queued,
    name_w: usize,
    id_w: usize,
    chosen: bool,
) -> Line<'a> {
    let t = p.theme;
    let kind = q.msg.kind;
    let mut spans = vec![
        Span::raw(if chosen { "▶" } else { " " }),
        Span::styled(format!("{:>id_w$} ", q.id), t.dim()),
        Span::styled(format!("{:>7} ", secs(q.sent_at)), t.dim()),
        Span::raw(name(p, q.from, name_w)),
        Span::styled(if q.cut { "✂" } else { "→" }, t.kind(kind)),
        Span::raw(format!("{} ", name(p, q.to, name_w))),
        Span::styled(pad(kind.name(), 9), t.kind(kind)),
        Span::raw(pad(
            &q.msg.slot.map_or(String::new(), |s| format!("#{s}")),
            4,
        )),
    ];
    if let Some(b) = q.msg.ballot {
        let site = p
            .names
            .get(b.site as usize)
            .cloned()
            .unwrap_or_else(|| b.site.to_string());
        spans.push(Span::styled(format!(" ({},{site})", b.round), t.dim()));
    }
    if let Some(v) = &q.msg.value {
        spans.push(Span::raw(format!(" {}", fit(v, 40))));
    }
    Line::from(spans)
}
