//! The log grid (the trace pane's `l` view, SPEC 9): rows are slots,
//! columns are sites; each cell holds what that site's acceptor has on disk
//! for the slot (the accepted ballot and value), `p` and a ballot when the
//! site has since promised a higher ballot that covers the slot, and `✓`
//! once the site knows the slot decided. Cells are coloured by value, so a
//! value recovered under a new ballot keeps its colour. Drawn from
//! [`Grid`] (the events of SPEC 9 only); the trace's slot filter applies.

use super::trace::{TraceSettings, TraceView};
use super::{bordered, drawable};
use crate::paxos::Ballot;
use crate::ui::seen::{Cell, Grid};
use crate::ui::text::{fit, pad};
use crate::ui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Width of the slot column.
const SLOT_W: usize = 8;

/// What the pane is handed to draw.
pub struct GridProps<'a> {
    pub theme: &'a Theme,
    pub focused: bool,
    pub settings: &'a TraceSettings,
    pub view: &'a TraceView,
    pub grid: &'a Grid,
    pub names: &'a [String],
}

/// A ballot in a few characters: `2.bob` (round, site name).
fn short(names: &[String], b: Ballot) -> String {
    let name: String = names
        .get(b.site as usize)
        .map_or_else(|| b.site.to_string(), |n| n.chars().take(3).collect());
    format!("{}.{name}", b.round)
}

pub fn draw(p: &GridProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let mut head =
        String::from(" Log grid · slot × site: ✓ decided · ballot and value accepted · p promised");
    if let Some(s) = p.settings.filter.slot {
        head.push_str(&format!(" · slot {s}"));
    }
    head.push(' ');
    let block = bordered(t, head, p.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 || inner.width < SLOT_W as u16 + 4 {
        return;
    }
    let n = p.names.len().max(1);
    let cw = (inner.width as usize - SLOT_W) / n;
    let mut lines = vec![names_line(p, cw), promised_line(p, cw)];
    let h = inner.height as usize - lines.len();
    let slots: Vec<(&u64, &Vec<Cell>)> = p
        .grid
        .slots
        .iter()
        .filter(|(s, _)| p.settings.filter.slot.is_none_or(|f| f == **s))
        .collect();
    let end = slots.len().saturating_sub(p.view.grid_back);
    let start = end.saturating_sub(h);
    for (slot, cells) in &slots[start..end] {
        lines.push(slot_line(p, **slot, cells, cw));
    }
    if slots.is_empty() {
        lines.push(Line::from(Span::styled(
            "no slot accepted or decided yet (l: back to the trace)",
            t.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn names_line<'a>(p: &GridProps, cw: usize) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{:<SLOT_W$}", "slot"), p.theme.dim())];
    for (i, name) in p.names.iter().enumerate() {
        let text = pad(&fit(name, cw.saturating_sub(1)), cw);
        spans.push(Span::styled(text, p.theme.author(i)));
    }
    Line::from(spans)
}

fn promised_line<'a>(p: &GridProps, cw: usize) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!("{:<SLOT_W$}", "promise"),
        p.theme.dim(),
    )];
    for i in 0..p.names.len() {
        let text = match p.grid.promised.get(i).copied().flatten() {
            Some(b) => format!("p{}", short(p.names, b)),
            None => "-".to_string(),
        };
        let text = pad(&fit(&text, cw.saturating_sub(1)), cw);
        spans.push(Span::styled(text, p.theme.dim()));
    }
    Line::from(spans)
}

fn slot_line<'a>(p: &GridProps, slot: u64, cells: &[Cell], cw: usize) -> Line<'a> {
    let t = p.theme;
    let mut spans = vec![Span::styled(
        format!("{:<SLOT_W$}", format!("#{slot}")),
        t.plain().add_modifier(Modifier::BOLD),
    )];
    for (i, cell) in cells.iter().enumerate() {
        let mut text = String::new();
        text.push_str(if cell.decided.is_some() { "✓" } else { " " });
        if let Some((b, _)) = &cell.accepted {
            text.push_str(&short(p.names, *b));
            text.push(' ');
        }
        if let Some(b) = p.grid.promise_over(slot, i, cell) {
            text.push_str(&format!("p{} ", short(p.names, b)));
        }
        let value = cell
            .decided
            .as_ref()
            .or(cell.accepted.as_ref().map(|(_, v)| v));
        if let Some(v) = value {
            text.push_str(v);
        }
        if text.trim().is_empty() {
            text = " ·".to_string();
        }
        let text = pad(&fit(&text, cw.saturating_sub(1)), cw);
        let style = match value {
            Some(v) => t.value(v, cell.decided.is_some()),
            None => t.dim(),
        };
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}
