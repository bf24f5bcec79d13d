//! Requests to the shown site (tweets, blocks, unblocks, the log), the
//! operations on their way, and what their answers show.

use super::{App, Effect};
use crate::paxos::{DecidedEntry, Slot};
use crate::site::api::{Answer, Refusal, Reply, Request};
use crate::state::op::{Op, Value};
use crate::ui::command::Command;
use crate::ui::panes::popup::{self, LogLine, Popup};
use crate::ui::panes::{Focus, Level};
use crate::ui::text::fit;

/// How many decided slots `/log` shows: the most recent ones, or those
/// from the slot it is given.
pub const LOG_WINDOW: u64 = 1000;

/// At most this many rows of the timeline pane show pending tweets.
pub const MAX_PENDING_ROWS: usize = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingOp {
    Tweet(String),
    Block(String),
    Unblock(String),
    Log,
}

/// A request sent and not answered yet (or answered, and its slot not yet
/// applied here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub tag: u64,
    pub site: usize,
    pub op: PendingOp,
    /// Answered: decided in this slot, waiting to be applied here.
    pub decided_slot: Option<Slot>,
    /// Answered 503 (not decided in time): the site may still decide it
    /// later, at most once; a decided command of that site with the same
    /// operation settles it.
    pub in_doubt: bool,
}

/// At most this many operations in doubt are remembered per site (the
/// oldest are forgotten).
pub const MAX_IN_DOUBT: usize = 8;

impl App {
    /// Carries out a line typed in the input box; the box is cleared when
    /// it was carried out (a refused one stays, to be corrected).
    pub(super) fn run_command(&mut self, cmd: Command, fx: &mut Vec<Effect>) {
        let done = match cmd {
            Command::Tweet(text) => match crate::state::check_tweet(&text) {
                Ok(text) => self.submit(PendingOp::Tweet(text.clone()), Request::Tweet(text), fx),
                Err(e) => {
                    self.say(Level::Error, format!("✗ {e}"));
                    false
                }
            },
            Command::Block(user) => self.block(user, fx),
            Command::Unblock(user) => self.unblock(user, fx),
            Command::View => {
                self.site_mut().timeline.home();
                self.keep_selection_visible();
                self.set_focus(Focus::Timeline);
                let m = self.site();
                let n = m.state.as_ref().map_or(0, |s| s.timeline_len(&m.name));
                self.say(Level::Info, format!("timeline of {}: {n} tweets", m.name));
                true
            }
            Command::Log(from) => {
                let from = from.unwrap_or_else(|| self.site().decided().saturating_sub(LOG_WINDOW));
                let req = Request::Log {
                    from: Some(from),
                    to: Some(from.saturating_add(LOG_WINDOW)),
                };
                self.submit(PendingOp::Log, req, fx)
            }
            Command::Help => {
                self.open_help();
                true
            }
            Command::Quit => {
                self.quit = true;
                true
            }
        };
        if done {
            self.input.clear();
        }
    }

    pub(super) fn block(&mut self, user: String, fx: &mut Vec<Effect>) -> bool {
        let m = self.site();
        if let Some(state) = &m.state {
            if let Err(e) = state.check_block(&m.name, &user) {
                self.say(Level::Error, format!("✗ {e}"));
                return false;
            }
        }
        self.submit(PendingOp::Block(user.clone()), Request::Block(user), fx)
    }

    pub(super) fn unblock(&mut self, user: String, fx: &mut Vec<Effect>) -> bool {
        let m = self.site();
        if let Some(state) = &m.state {
            if let Err(e) = state.check_unblock(&m.name, &user) {
                self.say(Level::Error, format!("✗ {e}"));
                return false;
            }
        }
        self.submit(PendingOp::Unblock(user.clone()), Request::Unblock(user), fx)
    }

    /// Sends a request to the shown site in the background.
    fn submit(&mut self, op: PendingOp, req: Request, fx: &mut Vec<Effect>) -> bool {
        if self.replay.is_some() {
            self.say(
                Level::Error,
                "✗ a replay plays a recording: nothing is sent (no tweet, block, unblock or /log)",
            );
            return false;
        }
        let m = self.site();
        if !m.up {
            let what = if self.demo {
                format!("{} is down: press r (on a pane) to restart it", m.name)
            } else {
                format!("{} is not running", m.name)
            };
            self.say(Level::Error, what);
            return false;
        }
        let site = m.index;
        if let PendingOp::Block(u) | PendingOp::Unblock(u) = &op {
            let dup = self.pending.iter().any(|p| {
                p.site == site
                    && !p.in_doubt
                    && matches!(&p.op, PendingOp::Block(v) | PendingOp::Unblock(v) if v == u)
            });
            if dup {
                self.say(
                    Level::Error,
                    format!("a block or unblock of {u} is already pending"),
                );
                return false;
            }
        }
        self.next_tag += 1;
        let tag = self.next_tag;
        let text = match &op {
            PendingOp::Tweet(t) => format!("posting \"{}\"…", fit(t, 40)),
            PendingOp::Block(u) => format!("blocking {u}…"),
            PendingOp::Unblock(u) => format!("unblocking {u}…"),
            PendingOp::Log => "fetching the log…".to_string(),
        };
        self.say(Level::Pending, text);
        if self.step.is_some() && op != PendingOp::Log {
            // Step mode: nothing moves until the user steps; the operation
            // waits in flight, where the keys are.
            self.set_focus(Focus::InFlight);
        }
        self.pending.push(Pending {
            tag,
            site,
            op,
            decided_slot: None,
            in_doubt: false,
        });
        // A pending tweet takes a row of the timeline pane.
        self.keep_selection_visible();
        if op_is_submission(&req) {
            self.metrics.submitted(tag);
        }
        fx.push(Effect::Request { site, tag, req });
        true
    }

    /// The answer to the request `tag`.
    pub(super) fn on_reply(&mut self, tag: u64, reply: Reply) {
        let Some(i) = self.pending.iter().position(|p| p.tag == tag) else {
            return;
        };
        let site = self.pending[i].site;
        let name = self.sites[site].name.clone();
        let op = self.pending[i].op.clone();
        let decided = matches!(reply, Ok(Answer::Decided { .. }));
        self.metrics.answered(tag, decided);
        let answer = match reply {
            Ok(answer) => answer,
            Err(refusal) => return self.on_refusal(i, refusal),
        };
        if op == PendingOp::Log {
            self.pending.remove(i);
            let entries = match answer {
                Answer::Log(entries) => entries,
                _ => Vec::new(),
            };
            self.show_log(site, log_lines(&entries));
            return;
        }
        let slot = match answer {
            Answer::Decided { slot, .. } => Some(slot),
            _ => None,
        };
        let slot_txt = slot.map_or_else(|| "?".to_string(), |s| s.to_string());
        let text = match &op {
            PendingOp::Tweet(t) => {
                format!("✓ tweet decided in slot {slot_txt}: \"{}\"", fit(t, 50))
            }
            PendingOp::Block(u) => format!("✓ {name} blocks {u} (slot {slot_txt})"),
            PendingOp::Unblock(u) => format!("✓ {name} unblocks {u} (slot {slot_txt})"),
            PendingOp::Log => String::new(),
        };
        self.say(Level::Ok, text);
        self.pending[i].decided_slot = Some(slot.unwrap_or(0));
        self.settle_pending();
    }

    /// The request `self.pending[i]` was refused. A tweet's text goes back
    /// in the box (when the box is empty). A 503 is not a no: the site may
    /// still decide the operation, so it stays, in doubt, until a decided
    /// slot shows it ([`settle_doubts`](Self::settle_doubts)).
    fn on_refusal(&mut self, i: usize, refusal: Refusal) {
        let op = self.pending[i].op.clone();
        let Refusal { stat, reason } = refusal;
        let doubt = stat == 503 && op != PendingOp::Log;
        if doubt {
            self.pending[i].in_doubt = true;
            let site = self.pending[i].site;
            let in_doubt = |p: &Pending| p.site == site && p.in_doubt;
            if self.pending.iter().filter(|p| in_doubt(p)).count() > MAX_IN_DOUBT {
                if let Some(oldest) = self.pending.iter().position(in_doubt) {
                    self.pending.remove(oldest);
                }
            }
        } else {
            self.pending.remove(i);
        }
        self.keep_selection_visible();
        let what = match (&op, doubt) {
            (PendingOp::Tweet(_), true) => "tweet not decided yet".to_string(),
            (PendingOp::Tweet(_), false) => "tweet not posted".to_string(),
            (PendingOp::Block(u), true) => format!("block of {u} not decided yet"),
            (PendingOp::Block(u), false) => format!("block {u} failed"),
            (PendingOp::Unblock(u), true) => format!("unblock of {u} not decided yet"),
            (PendingOp::Unblock(u), false) => format!("unblock {u} failed"),
            (PendingOp::Log, _) => "log unavailable".to_string(),
        };
        let back = match &op {
            PendingOp::Tweet(t) if self.input.put_back(t) => " · the text is back in the box",
            _ => "",
        };
        self.say(Level::Error, format!("✗ {what} ({stat}){back}: {reason}"));
    }

    /// Site `site` decided `value` in `slot`: an operation of this site in
    /// doubt (answered 503) that it holds was decided after all; the
    /// message line says so (instead of the stale ✗).
    pub(super) fn settle_doubts(&mut self, site: usize, slot: Slot, value: &Value) {
        let name = self.sites[site].name.clone();
        for cmd in &value.cmds {
            if cmd.id.site as usize != site {
                continue;
            }
            let found = self.pending.iter().position(|p| {
                p.site == site
                    && p.in_doubt
                    && match (&p.op, &cmd.op) {
                        (PendingOp::Tweet(t), Op::Tweet { user, text, .. }) => {
                            *user == name && text == t
                        }
                        (PendingOp::Block(u), Op::Block { user, target })
                        | (PendingOp::Unblock(u), Op::Unblock { user, target }) => {
                            *user == name && target == u
                        }
                        _ => false,
                    }
            });
            let Some(i) = found else {
                continue;
            };
            let p = self.pending.remove(i);
            let mut text = match &p.op {
                PendingOp::Tweet(t) => format!(
                    "✓ your tweet from earlier was decided after all in slot {slot}: \"{}\"",
                    fit(t, 40)
                ),
                PendingOp::Block(u) => {
                    format!("✓ your block of {u} from earlier was decided after all in slot {slot}")
                }
                PendingOp::Unblock(u) => format!(
                    "✓ your unblock of {u} from earlier was decided after all in slot {slot}"
                ),
                PendingOp::Log => continue,
            };
            if let PendingOp::Tweet(t) = &p.op {
                if self.input.text() == *t {
                    self.input.clear();
                    text.push_str(" (cleared from the box)");
                }
            }
            self.say(Level::Ok, text);
        }
    }

    /// Opens the `/log` popup of site `site`, scrolled to its end.
    fn show_log(&mut self, site: usize, lines: Vec<LogLine>) {
        let name = &self.sites[site].name;
        let decided = self.sites[site].decided();
        let mut title = match (lines.first(), lines.last()) {
            (Some(a), Some(b)) => format!(
                "Decided log of {name}: slots {}..{} ({} entries)",
                a.slot,
                b.slot,
                lines.len()
            ),
            _ => format!("Decided log of {name}: no slots there"),
        };
        let whole = lines.first().is_some_and(|l| l.slot == 0)
            && lines.last().is_some_and(|l| l.slot + 1 >= decided);
        if !whole && decided > 0 {
            title.push_str(&format!(
                " of 0..{} · /log <slot> shows {LOG_WINDOW} from there",
                decided - 1
            ));
        }
        let scroll = lines.len().saturating_sub(popup::page(self.size));
        self.popup = Some(Popup::Log {
            site,
            title,
            lines,
            scroll,
        });
        self.note = None;
    }

    /// Drops answered operations whose slot is applied here.
    pub(super) fn settle_pending(&mut self) {
        let sites = &self.sites;
        self.pending.retain(|p| match p.decided_slot {
            None => true,
            Some(slot) => sites[p.site]
                .state
                .as_ref()
                .is_none_or(|s| s.next_slot() <= slot),
        });
        self.keep_selection_visible();
    }
}

/// The `/log` answer as lines: one per operation, one for a no-op slot.
fn log_lines(entries: &[DecidedEntry]) -> Vec<LogLine> {
    let mut lines = Vec::new();
    for e in entries {
        if e.value.is_noop() {
            lines.push(LogLine {
                slot: e.slot,
                author: None,
                what: "no-op".to_string(),
            });
        }
        for cmd in &e.value.cmds {
            let what = match &cmd.op {
                Op::Tweet { text, .. } => format!("tweets: {text}"),
                Op::Block { target, .. } => format!("blocks {target}"),
                Op::Unblock { target, .. } => format!("unblocks {target}"),
            };
            lines.push(LogLine {
                slot: e.slot,
                author: Some(cmd.op.user().to_string()),
                what,
            });
        }
    }
    lines
}

/// A request that goes through the log (its answer is a commit).
fn op_is_submission(req: &Request) -> bool {
    !matches!(req, Request::Log { .. })
}
