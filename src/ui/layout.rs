//! Where everything goes on the screen.

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal the layout fits in.
pub const MIN_W: u16 = 60;
pub const MIN_H: u16 = 16;

/// Where everything goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub status: Rect,
    pub timeline: Rect,
    /// The messages in flight (`demo --step`; empty otherwise).
    pub inflight: Rect,
    pub blocks: Rect,
    pub trace: Rect,
    pub input: Rect,
    pub message: Rect,
    pub footer: Rect,
}

/// The layout for a terminal of `area`; `None` when it is too small.
/// `wide`: the trace pane takes the whole body (the space-time pane and
/// the log grid need every column); the timeline and blocks are hidden.
/// `step` (`demo --step`): the in-flight pane takes the lower two thirds
/// of the timeline's column.
pub fn layout_for(area: Rect, wide: bool, step: bool) -> Option<Areas> {
    let mut a = layout(area)?;
    if wide {
        let body = a.timeline.union(a.trace);
        a.trace = body;
        a.timeline = Rect::default();
        a.blocks = Rect::default();
    } else if step {
        let top = (a.timeline.height / 3).max(4);
        let [timeline, inflight] =
            Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(a.timeline);
        a.timeline = timeline;
        a.inflight = inflight;
    }
    Some(a)
}

/// The layout for a terminal of `area`; `None` when it is too small.
pub fn layout(area: Rect) -> Option<Areas> {
    if area.width < MIN_W || area.height < MIN_H {
        return None;
    }
    let [status, body, input, message, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let right_w = (area.width * 48 / 100).clamp(28, 90);
    let [timeline, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(body);
    let blocks_h = 9.min(body.height / 3).max(3);
    let [blocks, trace] =
        Layout::vertical([Constraint::Length(blocks_h), Constraint::Min(0)]).areas(right);
    Some(Areas {
        status,
        timeline,
        inflight: Rect::default(),
        blocks,
        trace,
        input,
        message,
        footer,
    })
}
