//! The live demo's metrics strip: decided slots per second (`dec/s`) and the commit
//! latency (p50, p99) of this UI's own submissions, second by second over
//! the last [`WINDOW`] seconds, with the seconds in which the shown site's
//! leader changed and those in which a fault was set (a link down, loss or
//! delay) marked. The App feeds it; `draw` shows it as sparklines on the
//! right of the message line.

use super::text::{fit, width};
use super::theme::Theme;
use crate::paxos::Slot;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, SparklineBar};
use ratatui::Frame;
use std::collections::{BTreeMap, VecDeque};

/// Seconds kept.
pub const WINDOW: usize = 60;

/// One second of the demo.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Second {
    /// Slots decided (new at the highest decided slot seen).
    pub decided: u64,
    /// Commit latencies of submissions answered in this second, in ms.
    pub latencies: Vec<u64>,
    /// The shown site's leader changed in it.
    pub leader_change: bool,
    /// A fault was set during it.
    pub fault: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Time since the start, in ms (the frames' ticks).
    now_ms: u64,
    /// The last seconds, oldest first; the last one is running.
    secs: VecDeque<Second>,
    /// The next slot not yet counted as decided.
    next_slot: Slot,
    /// Submissions on their way: tag → sent at (ms).
    sent: BTreeMap<u64, u64>,
    leader: Option<Option<usize>>,
    fault: bool,
}

/// The `q`-quantile (0..=1) of `v` (nearest rank); `None` when empty.
pub fn quantile(v: &[u64], q: f64) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    let rank = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len());
    Some(s[rank - 1])
}

impl Metrics {
    fn current(&mut self) -> &mut Second {
        if self.secs.is_empty() {
            self.secs.push_back(Second {
                fault: self.fault,
                ..Second::default()
            });
        }
        self.secs.back_mut().expect("one second at least")
    }

    /// `ms` of real time went by; `true` when a new second began.
    pub fn tick(&mut self, ms: u64) -> bool {
        let before = self.now_ms / 1000;
        self.now_ms += ms;
        let after = self.now_ms / 1000;
        self.current();
        for _ in before..after.min(before + WINDOW as u64) {
            self.secs.push_back(Second {
                fault: self.fault,
                ..Second::default()
            });
        }
        while self.secs.len() > WINDOW {
            self.secs.pop_front();
        }
        after > before
    }

    /// Some site decided `slot`.
    pub fn decided(&mut self, slot: Slot) {
        if slot >= self.next_slot {
            // A slot number comes from outside (a peer): no overflow at the top.
            let next = slot.saturating_add(1);
            let n = next - self.next_slot;
            self.next_slot = next;
            self.current().decided += n;
        }
    }

    /// This UI sent the submission `tag`.
    pub fn submitted(&mut self, tag: u64) {
        self.sent.insert(tag, self.now_ms);
    }

    /// The submission `tag` was answered: decided (`true`) or refused.
    pub fn answered(&mut self, tag: u64, decided: bool) {
        if let Some(at) = self.sent.remove(&tag) {
            if decided {
                let ms = self.now_ms - at;
                self.current().latencies.push(ms);
            }
        }
    }

    /// The shown site sees `leader` leading.
    pub fn leader(&mut self, leader: Option<usize>) {
        if self.leader.is_some_and(|l| l != leader) {
            self.current().leader_change = true;
        }
        self.leader = Some(leader);
    }

    /// Whether a fault is set now.
    pub fn fault(&mut self, on: bool) {
        self.fault = on;
        if on {
            self.current().fault = true;
        }
    }

    /// The seconds kept, oldest first.
    pub fn seconds(&self) -> impl Iterator<Item = &Second> {
        self.secs.iter()
    }

    /// The latest finished second's rate (slots decided in it).
    fn rate(&self) -> u64 {
        let n = self.secs.len();
        if n >= 2 {
            self.secs[n - 2].decided
        } else {
            0
        }
    }

    /// p50 and p99 over every latency kept.
    fn overall(&self) -> (Option<u64>, Option<u64>) {
        let all: Vec<u64> = self
            .secs
            .iter()
            .flat_map(|s| s.latencies.iter().copied())
            .collect();
        (quantile(&all, 0.5), quantile(&all, 0.99))
    }
}

/// The narrowest strip drawn (narrower: none, the message line keeps it).
pub const MIN_WIDTH: u16 = 40;

/// How wide the strip is on a line of `width`: none below 60 cells, 70 %
/// up to 100, 60 % above.
pub fn strip_width(width: u16) -> u16 {
    match width {
        0..60 => 0,
        60..100 => width * 7 / 10,
        _ => width * 3 / 5,
    }
}

/// Draws the strip in `area` (one line): `slots/s`, `p50`, `p99`
/// sparklines of the last seconds, then `♛n` leader changes and `⚡` when a
/// fault was set in them. A bar of a second with a leader change or a
/// fault takes the warning or the error colour.
pub fn draw(m: &Metrics, theme: &Theme, frame: &mut Frame, area: Rect) {
    if area.width < 20 || area.height == 0 {
        return;
    }
    let (p50, p99) = m.overall();
    let changes = m.secs.iter().filter(|s| s.leader_change).count();
    let fault = m.secs.iter().any(|s| s.fault);
    let ms = |v: Option<u64>| v.map_or("–".to_string(), |v| format!("{v}ms"));
    let labels = [
        format!("dec/s {:<2}", m.rate()),
        format!("p50 {:<5}", ms(p50)),
        format!("p99 {:<5}", ms(p99)),
    ];
    let marks = format!(
        "{}{}",
        if changes > 0 {
            format!(" ♛{changes}")
        } else {
            String::new()
        },
        if fault { " ⚡" } else { "" }
    );
    let fixed: usize = labels.iter().map(|l| width(l) + 2).sum::<usize>() + width(&marks);
    let spark = (area.width as usize).saturating_sub(fixed) / 3;
    let bar_style = |s: &Second| {
        if s.fault {
            Some(theme.error())
        } else if s.leader_change {
            Some(theme.warn())
        } else {
            None
        }
    };
    let series: [fn(&Second) -> Option<u64>; 3] = [
        |s| Some(s.decided),
        |s| quantile(&s.latencies, 0.5),
        |s| quantile(&s.latencies, 0.99),
    ];
    let mut x = area.x;
    for (label, value) in labels.iter().zip(series.iter()) {
        let w = width(label) as u16 + 1;
        let r = Rect::new(x, area.y, w, 1).intersection(area);
        frame.render_widget(Paragraph::new(Span::styled(label.clone(), theme.dim())), r);
        x += w;
        let skip = m.secs.len().saturating_sub(spark);
        let bars: Vec<SparklineBar> = m
            .secs
            .iter()
            .skip(skip)
            .map(|s| SparklineBar::from(value(s)).style(bar_style(s)))
            .collect();
        let top = m.secs.iter().skip(skip).filter_map(value).max();
        let r = Rect::new(x, area.y, spark as u16, 1).intersection(area);
        let line = Sparkline::default()
            .data(bars)
            .max(top.unwrap_or(0).max(1))
            .style(theme.ok());
        frame.render_widget(line, r);
        x += spark as u16 + 1;
    }
    let r = Rect::new(x, area.y, area.right().saturating_sub(x), 1).intersection(area);
    let text = fit(&marks, r.width as usize);
    frame.render_widget(Paragraph::new(Line::styled(text, theme.warn())), r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_count_decisions_latencies_leaders_and_faults() {
        let mut m = Metrics::default();
        m.leader(Some(0));
        m.decided(0);
        m.decided(2); // slot 1 decided elsewhere, unseen: counted too
        m.decided(1); // already counted
        m.submitted(7);
        assert!(!m.tick(400));
        m.answered(7, true);
        assert!(m.tick(700));
        m.leader(Some(1));
        m.fault(true);
        m.submitted(8);
        m.tick(1000);
        m.answered(8, false);
        m.fault(false);
        m.tick(1000);
        let s: Vec<&Second> = m.seconds().collect();
        assert_eq!(s.len(), 4);
        assert_eq!((s[0].decided, s[0].latencies.clone()), (3, vec![400]));
        assert!(s[1].leader_change && s[1].fault && !s[0].leader_change);
        assert!(s[2].fault && s[2].latencies.is_empty());
        assert!(!s[3].fault);
        assert_eq!(quantile(&[5, 1, 9, 3], 0.5), Some(3));
        assert_eq!(quantile(&[5, 1, 9, 3], 0.99), Some(9));
        // Only the last WINDOW seconds stay.
        m.tick(1000 * 200);
        assert_eq!(m.seconds().count(), WINDOW);
    }
}
