//! `tweettui demo --step`, driven through the App's update loop exactly as
//! the terminal loop drives it (`ui::step::pump`): keys go to the App, its
//! requests and steps to the stepper, and what the stepper says back to
//! the App. No terminal, no clock, no thread: every run is the same.

use chrono::{FixedOffset, TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tweettui::demo::step::Stepper;
use tweettui::paxos::{MsgKind, Slot};
use tweettui::ui::step::{pump, Queued};
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, AppConfig, Clock, Focus, Msg};

const EPOCH_MS: u64 = 1_750_000_000_000;

struct Run {
    app: App,
    stepper: Stepper,
}

impl Run {
    fn new(size: (u16, u16)) -> Run {
        let names: Vec<String> = ["alice", "bob", "carol", "dave", "erin"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut stepper = Stepper::new(names.clone(), 1, EPOCH_MS).expect("starts");
        let mut app = App::new(AppConfig {
            hosted: (0..names.len()).collect(),
            names,
            shown: 0,
            demo: true,
            theme: Theme::monochrome(),
            clock: Clock::Fixed {
                now: Utc.timestamp_opt(1_750_000_100, 0).unwrap(),
                offset: FixedOffset::east_opt(0).unwrap(),
            },
            mouse_capture: true,
            size,
        });
        use tweettui::ui::step::Driver;
        for msg in stepper.take() {
            pump(&mut app, &mut stepper, msg);
        }
        Run { app, stepper }
    }

    fn key(&mut self, code: KeyCode) {
        let ev = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        pump(&mut self.app, &mut self.stepper, Msg::Term(ev));
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Types a tweet at the shown site and sends it (the focus then moves
    /// to the in-flight pane).
    fn tweet(&mut self, text: &str) {
        if self.app.focus != Focus::Input {
            self.key(KeyCode::Char('i'));
        }
        self.keys(text);
        self.key(KeyCode::Enter);
        assert_eq!(self.app.focus, Focus::InFlight);
    }

    fn queue(&self) -> Vec<Queued> {
        self.app
            .step
            .as_ref()
            .expect("step mode")
            .view
            .queue
            .clone()
    }

    /// Selects message `id` in the in-flight pane, with its keys.
    fn select(&mut self, id: u64) {
        self.key(KeyCode::Home);
        for _ in 0..self.queue().len() {
            let sel = self.app.step.as_ref().and_then(|s| s.sel.id);
            if sel == Some(id) {
                return;
            }
            self.key(KeyCode::Down);
        }
        panic!("message #{id} is not in flight");
    }

    fn deliver(&mut self, id: u64) {
        self.select(id);
        self.key(KeyCode::Char('d'));
    }

    fn drop_msg(&mut self, id: u64) {
        self.select(id);
        self.key(KeyCode::Delete);
    }

    /// Delivers every message in flight, oldest first, until none is left
    /// (at most `limit` deliveries).
    fn deliver_all(&mut self, limit: usize) {
        for _ in 0..limit {
            let Some(q) = self.queue().first().cloned() else {
                return;
            };
            self.deliver(q.id);
        }
        panic!("still messages in flight after {limit} deliveries");
    }

    /// The decided log of every site, as the UI knows it.
    fn logs(&self) -> Vec<Vec<String>> {
        (0..5)
            .map(|i| {
                let s = &self.stepper.engine().site(i).disk.archive;
                s.iter().map(|v| v.summary()).collect()
            })
            .collect()
    }

    fn decided(&self, site: usize) -> Slot {
        self.app.sites[site].decided()
    }

    fn screen(&self) -> Terminal<TestBackend> {
        let (w, h) = self.app.size;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(&self.app, f)).unwrap();
        t
    }

    /// The screen's lines but the message line (what a step says).
    fn screen_lines(&self) -> Vec<String> {
        let t = self.screen();
        let buf = t.backend().buffer();
        let (w, h) = (buf.area.width, buf.area.height);
        (0..h)
            .filter(|&y| y != h - 2)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect())
            .collect()
    }
}

/// A scripted sequence of deliveries and drops: the same decided log
/// every time (and on every site), and safety holds.
#[test]
fn a_scripted_run_decides_the_same_log_every_time() {
    let script = || {
        let mut r = Run::new((120, 40));
        r.tweet("one");
        // alice runs for leader: drop her prepare to bob, deliver the rest.
        let q = r.queue();
        assert!(q
            .iter()
            .all(|m| m.msg.kind == MsgKind::Prepare && m.from == 0));
        r.drop_msg(q[0].id);
        r.deliver_all(60);
        r.tweet("two");
        // Drop the accept to carol; the others answer.
        let accept = r
            .queue()
            .into_iter()
            .find(|m| m.msg.kind == MsgKind::Accept && m.to == 2)
            .expect("an accept to carol");
        r.drop_msg(accept.id);
        r.deliver_all(60);
        r.key(KeyCode::Char(']'));
        assert_eq!(r.app.safety.as_ref().and_then(|s| s.violation()), None);
        (r.logs(), r.app.site().decided(), r.stepper.choices().len())
    };
    let first = script();
    assert!(first.1 >= 2, "both tweets decided: {first:?}");
    assert!(first.0[0].iter().any(|v| v.contains("one")));
    assert!(first.0[0].iter().any(|v| v.contains("two")));
    assert_eq!(first, script());
}

/// Every ack of a slot dropped: the slot stays undecided, however long
/// nothing else happens, until the leader's timer fires and it sends its
/// accept again.
#[test]
fn dropping_every_ack_leaves_the_slot_undecided_until_the_timer_fires() {
    let mut r = Run::new((120, 40));
    r.tweet("lead");
    r.deliver_all(60);
    assert_eq!(r.decided(0), 1);
    r.tweet("unacked");
    let accepts: Vec<u64> = r.queue().iter().map(|m| m.id).collect();
    assert!(r
        .queue()
        .iter()
        .all(|m| m.msg.kind == MsgKind::Accept && m.msg.slot == Some(1)));
    for id in accepts {
        r.deliver(id);
    }
    let acks: Vec<u64> = r
        .queue()
        .iter()
        .filter(|m| m.msg.kind == MsgKind::Ack && m.msg.slot == Some(1))
        .map(|m| m.id)
        .collect();
    assert_eq!(acks.len(), 4);
    for id in acks {
        r.drop_msg(id);
    }
    assert!(r.queue().is_empty());
    assert_eq!(r.decided(0), 1, "no ack arrived: slot 1 is not decided");
    // alice's timers: heartbeats first, then (a timeout after the accepts
    // left) the accepts again.
    for _ in 0..10 {
        let again = r
            .queue()
            .iter()
            .any(|m| m.msg.kind == MsgKind::Accept && m.msg.slot == Some(1));
        if again {
            break;
        }
        assert_eq!(r.decided(0), 1);
        r.key(KeyCode::Char('n'));
    }
    assert!(r.queue().iter().any(|m| m.msg.kind == MsgKind::Accept));
    r.deliver_all(80);
    assert_eq!(r.decided(0), 2, "the accept sent again was acked");
}

/// `u` takes the last step back: the screen is the one before it (but
/// the message line, which says what was undone).
#[test]
fn undo_returns_to_the_same_screen() {
    let mut r = Run::new((120, 40));
    r.tweet("undo me");
    let first = r.queue()[0].id;
    r.deliver(first);
    r.key(KeyCode::Char('n'));
    r.select(r.queue()[2].id);
    let before = r.screen_lines();
    let steps = r.stepper.choices().len();
    r.key(KeyCode::Char('d'));
    assert_ne!(r.screen_lines(), before);
    r.key(KeyCode::Char('u'));
    assert_eq!(r.stepper.choices().len(), steps);
    assert_eq!(r.screen_lines(), before);
    let note = r
        .app
        .note
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(note.starts_with("undone: deliver #"), "{note}");
}

/// The in-flight pane: alice runs for leader, her prepares in flight, one
/// promise back; one prepare duplicated.
fn inflight_screen(size: (u16, u16)) -> Terminal<TestBackend> {
    let mut r = Run::new(size);
    r.tweet("hello, step by step");
    let q = r.queue();
    r.deliver(q[0].id);
    r.select(q[1].id);
    r.key(KeyCode::Char('D'));
    r.key(KeyCode::Down);
    r.screen()
}

#[test]
fn the_inflight_pane_80x24() {
    insta::assert_snapshot!("inflight_80x24", inflight_screen((80, 24)).backend());
}

#[test]
fn the_inflight_pane_120x40() {
    insta::assert_snapshot!("inflight_120x40", inflight_screen((120, 40)).backend());
}
