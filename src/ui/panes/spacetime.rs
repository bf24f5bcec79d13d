//! The space-time pane (the trace pane's `d` view, SPEC 9): one column per
//! site, time flowing down, each message a row with an arrow from its
//! sender's column to its receivers', coloured by kind as in the trace:
//! `▶` received, `▷` sent and not (yet) seen received, `✗` dropped. A
//! site's column is shaded `░` while it is crashed or cut off. A label
//! column on the right names each row (kind, slot, ballot, value).
//!
//! Drawn from [`Diagram`] (the events of SPEC 9 only); the trace's kind,
//! slot and peer filters apply.

use super::trace::{TraceSettings, TraceView};
use super::{bordered, drawable};
use crate::paxos::{Ballot, SiteId};
use crate::ui::seen::{Diagram, Fate, MarkKind, Row, RowKind};
use crate::ui::text::{fit, width};
use crate::ui::theme::{EventStyle, Theme};
use crate::ui::trace_buf::{Filter, KindFilter};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Whether the filters show `row`.
pub fn visible(row: &Row, filter: &Filter) -> bool {
    let slot_ok = filter.slot.is_none_or(|s| row.slot() == Some(s));
    let ok = match &row.kind {
        RowKind::Message { from, targets, msg } => {
            let kind_ok = match filter.kind {
                KindFilter::Synod => msg.kind.is_synod(),
                KindFilter::All => true,
                KindFilter::Kind(k) => msg.kind == k,
                KindFilter::Events => false,
            };
            let peer_ok = filter
                .peer
                .is_none_or(|p| *from == p || targets.iter().any(|t| t.site == p));
            kind_ok && peer_ok
        }
        RowKind::Mark { kind, sites, .. } => {
            let kind_ok = match filter.kind {
                KindFilter::All => true,
                KindFilter::Synod | KindFilter::Events => !kind.is_detail(),
                KindFilter::Kind(_) => false,
            };
            kind_ok && filter.peer.is_none_or(|p| sites.contains(&p))
        }
    };
    ok && slot_ok
}

/// The seq of the bottom row after scrolling `steps` rows from `anchor`
/// (`None`: the newest), never above the first screenful of `rows`.
pub fn step(
    d: &Diagram,
    filter: &Filter,
    anchor: Option<u64>,
    steps: isize,
    rows: usize,
) -> Option<u64> {
    let seqs: Vec<u64> = d
        .rows()
        .filter(|r| visible(r, filter))
        .map(|r| r.seq)
        .collect();
    let last = seqs.len().checked_sub(1)?;
    let at = anchor.map_or(last, |a| {
        seqs.partition_point(|&s| s <= a).saturating_sub(1)
    });
    let lowest = rows.saturating_sub(1).min(last);
    let next = at.saturating_add_signed(steps).clamp(lowest, last);
    (next < last).then(|| seqs[next])
}

/// What the pane is handed to draw.
pub struct SpaceTimeProps<'a> {
    pub theme: &'a Theme,
    pub focused: bool,
    pub settings: &'a TraceSettings,
    pub view: &'a TraceView,
    pub diagram: &'a Diagram,
    pub names: &'a [String],
}

/// Where things go across the pane.
struct Geometry {
    /// Each site's column (its lifeline), from the pane's left.
    xs: Vec<u16>,
    col_w: u16,
    label_x: u16,
    label_w: u16,
}

/// Time, then the sites' columns, then the labels.
const GUTTER: u16 = 8;
const LABEL_MIN: u16 = 22;

fn geometry(sites: usize, w: u16) -> Geometry {
    let n = sites.max(1) as u16;
    let col_w = (w.saturating_sub(GUTTER + LABEL_MIN) / n).clamp(3, 12);
    let xs = (0..n).map(|i| GUTTER + i * col_w + col_w / 2).collect();
    let label_x = GUTTER + n * col_w + 1;
    Geometry {
        xs,
        col_w,
        label_x,
        label_w: w.saturating_sub(label_x),
    }
}

pub fn draw(p: &SpaceTimeProps, frame: &mut Frame, area: Rect) {
    if !drawable(area) {
        return;
    }
    let t = p.theme;
    let filter = &p.settings.filter;
    let block = bordered(t, heading(p), p.focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < GUTTER + 8 {
        return;
    }
    let g = geometry(p.names.len(), inner.width);
    let buf = frame.buffer_mut();
    header(p, &g, buf, inner);
    let h = inner.height as usize - 1;
    let anchor = p.view.st_anchor.unwrap_or(u64::MAX);
    let mut rows: Vec<&Row> = p
        .diagram
        .rows()
        .rev()
        .filter(|r| r.seq <= anchor && visible(r, filter))
        .take(h)
        .collect();
    rows.reverse();
    if rows.is_empty() {
        let hint = Paragraph::new(Span::styled(
            "no messages yet (f: kind filter, d: back to the trace)",
            t.dim(),
        ));
        let below = Rect::new(inner.x, inner.y + 1, inner.width, 1);
        frame.render_widget(hint, below);
        return;
    }
    let t0 = p.diagram.t0.unwrap_or(0);
    for (i, row) in rows.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        draw_row(p, &g, buf, Rect::new(inner.x, y, inner.width, 1), row, t0);
    }
}

fn heading(p: &SpaceTimeProps) -> String {
    let filter = &p.settings.filter;
    let mut head = format!(" Space-time · {}", filter.kind.label());
    if let Some(s) = filter.slot {
        head.push_str(&format!(" · slot {s}"));
    }
    if let Some(peer) = filter.peer {
        head.push_str(&format!(" · with {}", name(p.names, peer)));
    }
    if p.view.paused {
        head.push_str(" · PAUSED");
    } else if p.view.st_anchor.is_some() {
        head.push_str(" · scrolled (End follows)");
    }
    head.push_str(" · ▶ received ▷ sent ✗ dropped ░ down ");
    head
}

fn name(names: &[String], site: SiteId) -> String {
    names
        .get(site as usize)
        .cloned()
        .unwrap_or_else(|| site.to_string())
}

fn ballot(names: &[String], b: Ballot) -> String {
    format!("({},{})", b.round, name(names, b.site))
}

/// The names over the columns.
fn header(p: &SpaceTimeProps, g: &Geometry, buf: &mut Buffer, inner: Rect) {
    let t = p.theme;
    buf.set_string(inner.x, inner.y, "   time", t.dim());
    for (i, x) in g.xs.iter().enumerate() {
        let label = fit(
            &name(p.names, i as SiteId),
            g.col_w.saturating_sub(1) as usize,
        );
        let start = x.saturating_sub(width(&label) as u16 / 2);
        buf.set_string(inner.x + start, inner.y, label, t.author(i));
    }
    if g.label_w > 0 {
        buf.set_string(inner.x + g.label_x, inner.y, "what", t.dim());
    }
}

fn draw_row(p: &SpaceTimeProps, g: &Geometry, buf: &mut Buffer, r: Rect, row: &Row, t0: u64) {
    let t = p.theme;
    let ms = row.t.saturating_sub(t0);
    buf.set_string(
        r.x,
        r.y,
        format!("{:>3}.{:03}", ms / 1000, ms % 1000),
        t.dim(),
    );
    for (i, &x) in g.xs.iter().enumerate() {
        if row.down & (1u64 << i.min(63)) != 0 {
            buf.set_string(r.x + x.saturating_sub(1), r.y, "░░░", t.dim());
        } else {
            buf.set_string(r.x + x, r.y, "│", t.dim());
        }
    }
    let label = match &row.kind {
        RowKind::Message { from, targets, msg } => {
            let style = t.kind(msg.kind);
            let from_x = g.xs.get(*from as usize).copied();
            let tos: Vec<(u16, Fate)> = targets
                .iter()
                .filter_map(|x| Some((*g.xs.get(x.site as usize)?, x.fate)))
                .collect();
            if let Some(fx) = from_x {
                arrow(t, buf, r, fx, &tos, style);
            }
            let mut label = format!("{} {}", msg.kind.name(), slot_text(msg.slot));
            if let Some(b) = msg.ballot {
                label.push_str(&format!(" {}", ballot(p.names, b)));
            }
            if let Some(Fate::Dropped(reason)) = targets.iter().map(|x| x.fate).find(is_drop) {
                label.push_str(&format!(" ✗ {}", reason.describe()));
            }
            if let Some(v) = &msg.value {
                label.push_str(&format!(" {v}"));
            }
            (label, style)
        }
        RowKind::Mark {
            kind,
            sites,
            slot,
            ballot: b,
            text,
        } => {
            let style = mark_style(t, *kind);
            for s in sites {
                if let Some(&x) = g.xs.get(*s as usize) {
                    buf.set_string(r.x + x, r.y, kind.symbol(), style);
                }
            }
            let mut label = mark_label(p.names, *kind, sites, *slot, text).unwrap_or_else(|l| l);
            if let (Some(b), false) = (b, matches!(kind, MarkKind::Leader)) {
                // After the symbol, the word and the slot: the ballot.
                let value = text.strip_prefix("(recovered) ").unwrap_or(text);
                let at = text_start(&label, value);
                label.insert_str(
                    at.unwrap_or(label.len()),
                    &format!(" {}", ballot(p.names, *b)),
                );
            }
            (label, style)
        }
    };
    if g.label_w > 0 {
        let text = fit(&label.0, g.label_w as usize);
        buf.set_string(r.x + g.label_x, r.y, text, label.1);
    }
}

/// Where `text` starts at the end of `label` (with its space before).
fn text_start(label: &str, text: &str) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    label.strip_suffix(text)?.strip_suffix(' ').map(str::len)
}

fn is_drop(f: &Fate) -> bool {
    matches!(f, Fate::Dropped(_))
}

fn slot_text(slot: Option<u64>) -> String {
    slot.map_or(String::new(), |s| format!("#{s}"))
}

/// `●──▶` from the sender to each receiver.
fn arrow(t: &Theme, buf: &mut Buffer, r: Rect, from: u16, tos: &[(u16, Fate)], style: Style) {
    let lo = tos.iter().map(|x| x.0).chain([from]).min().unwrap_or(from);
    let hi = tos.iter().map(|x| x.0).chain([from]).max().unwrap_or(from);
    for x in lo + 1..hi {
        buf.set_string(r.x + x, r.y, "─", style);
    }
    buf.set_string(r.x + from, r.y, "●", style);
    for &(x, fate) in tos {
        let right = x > from;
        let (tip, s) = match fate {
            Fate::Received => (if right { "▶" } else { "◀" }, style),
            Fate::Sent => (if right { "▷" } else { "◁" }, style),
            Fate::Dropped(_) => ("✗", t.error()),
        };
        buf.set_string(r.x + x, r.y, tip, s);
    }
}

fn mark_style(t: &Theme, kind: MarkKind) -> Style {
    t.event(match kind {
        MarkKind::Proposed => EventStyle::Proposed,
        MarkKind::Decided => EventStyle::Decided,
        MarkKind::Leader => EventStyle::Leader,
        MarkKind::Election => EventStyle::Election,
        MarkKind::Crashed | MarkKind::CutOff => EventStyle::Lost,
        MarkKind::Restarted | MarkKind::Healed => EventStyle::Won,
        MarkKind::Promised | MarkKind::Accepted | MarkKind::Fault => EventStyle::Note,
    })
}

/// A mark's label: symbol, word, slot, the rest (`Err`: a demo mark's
/// whole label, which has no slot).
fn mark_label(
    names: &[String],
    kind: MarkKind,
    sites: &[SiteId],
    slot: Option<u64>,
    text: &str,
) -> Result<String, String> {
    let (word, text) = match (kind, text.strip_prefix("(recovered) ")) {
        // A value found in the promises, proposed again.
        (MarkKind::Proposed, Some(value)) => ("recovered", value),
        _ => (mark_word(kind, names, sites)?, text),
    };
    let text = match kind {
        MarkKind::Leader => text
            .parse::<SiteId>()
            .ok()
            .map_or(text.to_string(), |s| name(names, s)),
        _ => text.to_string(),
    };
    let mut out = format!("{} {word}", kind.symbol());
    if slot.is_some() {
        out.push_str(&format!(" {}", slot_text(slot)));
    }
    if !text.is_empty() {
        out.push_str(&format!(" {text}"));
    }
    Ok(out)
}

/// The word of a mark; `Err` with the whole label for the demo's marks.
fn mark_word(kind: MarkKind, names: &[String], sites: &[SiteId]) -> Result<&'static str, String> {
    let who = || {
        sites
            .iter()
            .map(|s| name(names, *s))
            .collect::<Vec<_>>()
            .join(",")
    };
    Ok(match kind {
        MarkKind::Proposed => "proposed",
        MarkKind::Decided => "decided",
        MarkKind::Leader => "leader",
        MarkKind::Election => "election",
        MarkKind::Promised => "promise on disk",
        MarkKind::Accepted => "accept on disk",
        MarkKind::Fault => "fault",
        MarkKind::Crashed => return Err(format!("{} {} crashed", kind.symbol(), who())),
        MarkKind::Restarted => return Err(format!("{} {} restarted", kind.symbol(), who())),
        MarkKind::CutOff => return Err(format!("{} {} cut off", kind.symbol(), who())),
        MarkKind::Healed => return Err(format!("{} {} healed", kind.symbol(), who())),
    })
}
