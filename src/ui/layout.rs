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

/// Which pane a narrow (stacked) layout gives more rows: the focused one,
/// as lazygit's accordion does, so Tab switches between a tall timeline and
/// a tall trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Grow {
    #[default]
    Even,
    Timeline,
    Trace,
}

/// The layout for a terminal of `area`; `None` when it is too small.
/// `wide`: the trace pane takes the whole body (the space-time pane and
/// the log grid need every column); the timeline and blocks are hidden.
/// `step` (`demo --step`): the in-flight pane takes the lower two thirds
/// of the timeline's area.
pub fn layout_for(area: Rect, wide: bool, grow: Grow, step: bool) -> Option<Areas> {
    let mut a = layout_grown(area, grow)?;
    if wide {
        let body = a.timeline.union(a.trace).union(a.blocks);
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

/// The layout for a terminal of `area`, nothing grown.
pub fn layout(area: Rect) -> Option<Areas> {
    layout_grown(area, Grow::Even)
}

/// Below this width the trace goes under the timeline, full width, so its
/// rows show kind, slot, ballot and the start of the value (SPEC 9).
pub const STACK_BELOW_W: u16 = 110;

/// The layout for a terminal of `area`; `None` when it is too small.
/// Wide terminals: the timeline on the left, the blocks above the trace on
/// the right. Narrow ones (below [`STACK_BELOW_W`]): the timeline and the
/// blocks side by side on top, the trace under them, full width; `grow`
/// gives one of the two two thirds of the rows.
fn layout_grown(area: Rect, grow: Grow) -> Option<Areas> {
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
    let (timeline, blocks, trace) = if area.width < STACK_BELOW_W {
        let top_h = match grow {
            Grow::Even => body.height / 2,
            Grow::Timeline => body.height * 2 / 3,
            Grow::Trace => body.height / 3,
        };
        let [top, trace] =
            Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(body);
        let blocks_w = (area.width * 2 / 5).clamp(24, 34);
        let [timeline, blocks] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(blocks_w)]).areas(top);
        (timeline, blocks, trace)
    } else {
        let right_w = (area.width * 48 / 100).clamp(28, 90);
        let [timeline, right] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(right_w)]).areas(body);
        let blocks_h = 9.min(body.height / 3).max(3);
        let [blocks, trace] =
            Layout::vertical([Constraint::Length(blocks_h), Constraint::Min(0)]).areas(right);
        (timeline, blocks, trace)
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size from the smallest up, whichever pane grows: the panes
    /// tile the body without overlapping, none is too small to draw, and
    /// a stacked trace is as wide as the screen.
    #[test]
    fn panes_tile_the_screen_at_every_size() {
        for w in MIN_W..=220 {
            for h in [MIN_H, 24, 30, 40, 60] {
                for grow in [Grow::Even, Grow::Timeline, Grow::Trace] {
                    let a = layout_for(Rect::new(0, 0, w, h), false, grow, false).unwrap();
                    let panes = [a.timeline, a.blocks, a.trace];
                    let cells: u32 = panes.iter().map(|r| r.area()).sum();
                    let body = a.timeline.union(a.trace).union(a.blocks);
                    assert_eq!(cells, body.area(), "{w}x{h} {grow:?}: {a:?}");
                    assert!(
                        panes.iter().all(|r| r.width >= 20 && r.height >= 3),
                        "{w}x{h} {grow:?}: {a:?}"
                    );
                    if w < STACK_BELOW_W {
                        assert_eq!(a.trace.width, w, "{w}x{h}");
                    }
                }
            }
        }
    }
}
