//! `tweettui demo --step`, driven through the App's update loop exactly as
//! the terminal loop drives it (`ui::step::pump`): keys go to the App, its
//! requests and steps to the stepper, and what the stepper says back to
//! the App. No terminal, no clock, no thread: every run is the same.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tweettui::demo::step::Stepper;
use tweettui::paxos::{MsgKind, Slot};
use tweettui::ui::step::{pump, Queued};
use tweettui::ui::{draw, App, Focus, Msg};

#[path = "common/stepped.rs"]
mod stepped;

struct Run {
    app: App,
    stepper: Stepper,
}

impl Run {
    fn new(size: (u16, u16)) -> Run {
        let (app, stepper) = stepped::start(size);
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

// ----- the link matrix (`m`) in step mode ---------------------------------

impl Run {
    /// Opens the link matrix, presses `keys` in it, closes it.
    fn links(&mut self, keys: &[KeyCode]) {
        if self.app.focus == Focus::Input {
            self.key(KeyCode::Esc);
            self.key(KeyCode::Esc);
        }
        self.key(KeyCode::Char('m'));
        for k in keys {
            self.key(*k);
        }
        self.key(KeyCode::Esc);
        assert!(self.app.popup.is_none(), "the link matrix closed");
    }

    /// Runs freely (Space) for `ms` of virtual time, then pauses.
    fn run_for(&mut self, ms: u64) {
        use tweettui::ui::step::Driver;
        let now = |r: &Run| r.app.step.as_ref().map_or(0, |s| s.view.now_ms);
        let end = now(self) + ms;
        self.key(KeyCode::Char(' '));
        while now(self) < end {
            self.stepper.frame(10);
            for msg in self.stepper.take() {
                pump(&mut self.app, &mut self.stepper, msg);
            }
        }
        self.key(KeyCode::Char(' '));
    }

    /// Shows site `i` (0-based), out of the input box.
    fn show(&mut self, i: usize) {
        if self.app.focus == Focus::Input {
            self.key(KeyCode::Esc);
            self.key(KeyCode::Esc);
        }
        self.key(KeyCode::Char((b'1' + i as u8) as char));
        assert_eq!(self.app.shown, i);
    }

    /// alice leads, slot 0 decided everywhere, nothing in flight.
    fn alice_leads(&mut self) {
        self.tweet("lead");
        self.deliver_all(60);
        assert_eq!(self.stepper.leader(), Some(0));
    }
}

fn ch(c: char) -> KeyCode {
    KeyCode::Char(c)
}

/// Preset 2 cuts the leader off: bob's tweet finds no leader, and after
/// the timers run another site leads (elections here run when a site has
/// work and hears no leader) and the cluster decides without alice.
#[test]
fn cutting_the_leader_off_elects_another_leader() {
    let mut r = Run::new((120, 40));
    r.alice_leads();
    let steps = r.stepper.choices().len();
    r.links(&[ch('2')]);
    assert_eq!(r.stepper.choices().len(), steps + 1, "a recorded step");
    assert!(r.app.links.isolated(0) && r.stepper.links().isolated(0));
    assert!(r.app.sites[0].cut_off, "the matrix's cut-off shows");
    r.show(1);
    r.tweet("bob goes on");
    r.run_for(5_000);
    let new = r.stepper.leader().expect("a leader");
    assert_ne!(new, 0, "another site leads");
    assert_eq!(r.decided(1), 2, "bob's tweet is decided without alice");
    assert_eq!(r.app.safety.as_ref().and_then(|s| s.violation()), None);
    // The presets follow the engine's leader: cutting it off now cuts the
    // new one (alice stays cut off: "the leader cut off" is one leader).
    r.links(&[ch('2')]);
    assert!(r.stepper.links().isolated(new as usize));
    assert!(!r.stepper.links().isolated(0));
}

/// A link change is a step: `u` takes it back, to the same screen.
#[test]
fn a_link_change_then_undo_returns_to_the_same_screen() {
    let mut r = Run::new((120, 40));
    r.alice_leads();
    r.tweet("in flight");
    let before = r.screen_lines();
    let steps = r.stepper.choices().len();
    // alice → bob down, then alice's loss and delay.
    r.links(&[ch(' '), ch('l'), ch('d')]);
    assert_eq!(r.stepper.choices().len(), steps + 3);
    assert!(r.stepper.links().is_down(0, 1));
    assert_ne!(r.screen_lines(), before);
    for _ in 0..3 {
        r.key(ch('u'));
    }
    assert_eq!(r.stepper.choices().len(), steps);
    assert!(r.stepper.links().is_clear() && r.app.links.is_clear());
    assert_eq!(r.screen_lines(), before);
}

/// A message in flight when its link goes down stays listed, marked cut,
/// and is lost when delivered; one sent on a down link never queues.
#[test]
fn a_down_link_loses_what_is_on_it_and_what_is_sent_on_it() {
    let mut r = Run::new((120, 40));
    r.alice_leads();
    r.tweet("to bob?");
    let to_bob = r
        .queue()
        .into_iter()
        .find(|m| m.from == 0 && m.to == 1)
        .expect("an accept to bob");
    assert!(!to_bob.cut);
    r.links(&[ch(' ')]); // the cursor starts on alice → bob
    let q = r.queue();
    let listed = q.iter().find(|m| m.id == to_bob.id).expect("still listed");
    assert!(listed.cut, "marked cut");
    assert!(q.iter().filter(|m| m.id != to_bob.id).all(|m| !m.cut));
    r.deliver(to_bob.id);
    let note = r
        .app
        .note
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(note.contains("is lost"), "{note}");
    r.deliver_all(60);
    r.tweet("again");
    assert!(r.queue().iter().all(|m| !(m.from == 0 && m.to == 1)));
    assert!(r.queue().iter().any(|m| m.from == 0 && m.to == 2));
}

/// 100 % loss at alice: not one of her messages ever arrives.
#[test]
fn full_loss_at_a_site_means_its_messages_never_arrive() {
    use tweettui::site::api::record::What;
    let mut r = Run::new((120, 40));
    r.alice_leads();
    let heard = |r: &Run| {
        r.stepper
            .events()
            .iter()
            .filter(|e| matches!(e.what, What::Receive { from: 0, .. }))
            .count()
    };
    let before = heard(&r);
    r.links(&[ch('l'); 10]);
    assert_eq!(r.stepper.links().loss(0), 100);
    r.tweet("into the void");
    assert!(r.queue().iter().all(|m| m.from != 0), "none of hers queues");
    r.run_for(5_000);
    assert_eq!(heard(&r), before, "no site received from alice");
    // The others go on without her: bob's tweet elects one of them.
    r.show(1);
    r.tweet("bob goes on");
    r.run_for(5_000);
    assert!(r.stepper.leader().is_some_and(|l| l != 0));
    assert_eq!(heard(&r), before, "still nothing from alice");
    // Every change of the matrix is a fault event at the site it changed.
    let faults = r
        .stepper
        .events()
        .iter()
        .filter(|e| matches!(e.what, What::Fault { .. }) && e.site == 0)
        .count();
    assert_eq!(faults, 10);
}

/// Loss draws on the run's seed: saving and loading a run with link
/// changes (loss, delay, a preset) gives the same run.
#[test]
fn a_saved_run_with_link_changes_loads_back_the_same() {
    let mut r = Run::new((120, 40));
    r.alice_leads();
    // bob's row: 50 % loss, +100 ms; then one link down.
    r.links(&[
        KeyCode::Down,
        ch('l'),
        ch('l'),
        ch('l'),
        ch('l'),
        ch('l'),
        ch('d'),
        ch('d'),
        ch('1'),
    ]);
    r.tweet("lossy");
    r.run_for(3_000);
    r.tweet("lossier");
    r.key(ch(']'));
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("run.json");
    tweettui::demo::step::save(&r.stepper, &path).expect("saved");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"step\": \"links\""), "{text}");
    let back = tweettui::demo::step::load(&path).expect("loaded");
    assert_eq!(back.choices(), r.stepper.choices());
    assert_eq!(back.links(), r.stepper.links());
    assert_eq!(back.engine().now(), r.stepper.engine().now());
    assert_eq!(back.events(), r.stepper.events(), "the same recording");
    for i in 0..5 {
        assert_eq!(
            back.engine().site(i).disk.archive,
            r.stepper.engine().site(i).disk.archive
        );
    }
    let ids = |s: &Stepper| s.engine().queue().iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(&back), ids(&r.stepper));
}

/// The link matrix in step mode: alice leads and is cut off (preset 2),
/// bob's loss is 20 %.
fn links_screen(size: (u16, u16)) -> Terminal<TestBackend> {
    let mut r = Run::new(size);
    r.alice_leads();
    r.links(&[ch('2'), KeyCode::Down, ch('l'), ch('l')]);
    r.key(ch('m'));
    r.screen()
}

#[test]
fn the_link_matrix_in_step_mode_80x24() {
    insta::assert_snapshot!("step_links_80x24", links_screen((80, 24)).backend());
}

#[test]
fn the_link_matrix_in_step_mode_120x40() {
    insta::assert_snapshot!("step_links_120x40", links_screen((120, 40)).backend());
}
