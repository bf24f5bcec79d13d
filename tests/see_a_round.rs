//! Seeing a round (SPEC 9): the space-time pane and the log grid, drawn
//! from the events of the one vocabulary (`site::record`), at 80x24 and
//! 120x40, with a drop, a crash shading and a recovered value. The App is
//! fed events as the demo feeds it (every site's events, tagged), then
//! drawn into ratatui's TestBackend and compared with insta snapshots.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tweettui::paxos::{Ballot, MsgKind};
use tweettui::site::api::record::{self, DropReason, What};
use tweettui::site::api::SiteEvent;
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, AppConfig, Clock, Msg};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const T0: u64 = 1_750_000_000_000;

fn app(size: (u16, u16)) -> App {
    App::new(AppConfig {
        names: NAMES.iter().map(|s| s.to_string()).collect(),
        shown: 0,
        hosted: (0..5).collect(),
        demo: true,
        theme: Theme::colored(),
        clock: Clock::Fixed {
            now: chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap(),
            offset: chrono::FixedOffset::east_opt(0).unwrap(),
        },
        mouse_capture: true,
        size,
    })
}

fn key(c: char) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

/// Feeds events to the App, each 1 ms after the one before.
struct Feed<'a> {
    app: &'a mut App,
    t: u64,
    /// The next seq of each link (from, to).
    seqs: std::collections::HashMap<(u32, u32), u64>,
}

fn m(kind: MsgKind, slot: u64, b: Ballot, value: Option<&str>) -> record::Msg {
    record::Msg {
        kind,
        slot: Some(slot),
        ballot: Some(b),
        value: value.map(str::to_string),
    }
}

impl Feed<'_> {
    fn ev(&mut self, site: u32, what: What) {
        self.t += 1;
        let ev = record::Event {
            t: self.t,
            site,
            what,
        };
        self.app.feed(Msg::Site(site as usize, SiteEvent::Seen(ev)));
    }

    /// A send, numbered on its link; returns its seq.
    fn send(&mut self, from: u32, to: u32, msg: &record::Msg) -> u64 {
        let seq = self.seqs.entry((from, to)).or_insert(0);
        *seq += 1;
        let seq = *seq;
        self.ev(
            from,
            What::Send {
                to,
                seq,
                msg: msg.clone(),
            },
        );
        seq
    }

    fn receive(&mut self, from: u32, to: u32, seq: u64, msg: &record::Msg) {
        let what = What::Receive {
            from,
            seq: Some(seq),
            msg: msg.clone(),
        };
        self.ev(to, what);
    }

    /// `from` sends `msg` to each of `to`, and each receives it.
    fn deliver(&mut self, from: u32, to: &[u32], msg: &record::Msg) {
        let seqs: Vec<u64> = to.iter().map(|&t| self.send(from, t, msg)).collect();
        for (&t, seq) in to.iter().zip(seqs) {
            self.receive(from, t, seq, msg);
        }
    }

    fn drop_at(
        &mut self,
        at: u32,
        from: u32,
        to: u32,
        seq: u64,
        reason: DropReason,
        msg: &record::Msg,
    ) {
        let what = What::Drop {
            from,
            to,
            seq: Some(seq),
            reason,
            msg: msg.clone(),
        };
        self.ev(at, what);
    }
}

/// erin is cut off; alice leads with (1,alice) and gets "alice: hi"
/// accepted at bob only, then crashes with her accepts to carol and dave
/// still in flight; bob takes over with (2,bob), finds the value in his
/// own promise, proposes it again (recovered) and it is decided; then bob
/// starts slot 1.
fn a_round(app: &mut App) {
    let mut f = Feed {
        app,
        t: T0,
        seqs: Default::default(),
    };
    let (b1, b2) = (Ballot::new(1, 0), Ballot::new(2, 1));
    let hi = "alice: hi";
    f.ev(4, What::CutOff);
    f.ev(
        0,
        What::Election {
            ballot: b1,
            from_slot: 0,
        },
    );
    let prepare = m(MsgKind::Prepare, 0, b1, None);
    f.deliver(0, &[1, 2, 3], &prepare);
    let to_erin = f.send(0, 4, &prepare);
    f.drop_at(4, 0, 4, to_erin, DropReason::FaultIn, &prepare);
    for s in 1..4 {
        f.ev(s, What::Promised { ballot: b1 });
        f.deliver(s, &[0], &m(MsgKind::Promise, 0, b1, None));
    }
    f.ev(
        0,
        What::Leader {
            leader: Some(0),
            ballot: b1,
        },
    );
    f.ev(
        0,
        What::Proposed {
            slot: 0,
            ballot: b1,
            value: hi.into(),
            recovered: false,
        },
    );
    let accept = m(MsgKind::Accept, 0, b1, Some(hi));
    f.ev(
        0,
        What::Accepted {
            slot: 0,
            ballot: b1,
            value: hi.into(),
        },
    );
    f.deliver(0, &[1], &accept);
    f.send(0, 2, &accept);
    f.send(0, 3, &accept);
    f.ev(
        1,
        What::Accepted {
            slot: 0,
            ballot: b1,
            value: hi.into(),
        },
    );
    f.ev(0, What::Crashed);
    f.ev(
        1,
        What::Election {
            ballot: b2,
            from_slot: 0,
        },
    );
    let prepare = m(MsgKind::Prepare, 0, b2, None);
    let to_alice = f.send(1, 0, &prepare);
    f.drop_at(1, 1, 0, to_alice, DropReason::PeerDown, &prepare);
    f.deliver(1, &[2, 3], &prepare);
    let to_erin = f.send(1, 4, &prepare);
    f.drop_at(4, 1, 4, to_erin, DropReason::FaultIn, &prepare);
    for s in 2..4 {
        f.ev(s, What::Promised { ballot: b2 });
        f.deliver(s, &[1], &m(MsgKind::Promise, 0, b2, None));
    }
    f.ev(
        1,
        What::Leader {
            leader: Some(1),
            ballot: b2,
        },
    );
    f.ev(
        1,
        What::Proposed {
            slot: 0,
            ballot: b2,
            value: hi.into(),
            recovered: true,
        },
    );
    f.deliver(1, &[2, 3], &m(MsgKind::Accept, 0, b2, Some(hi)));
    for s in 1..4 {
        f.ev(
            s,
            What::Accepted {
                slot: 0,
                ballot: b2,
                value: hi.into(),
            },
        );
    }
    for s in 2..4 {
        f.deliver(s, &[1], &m(MsgKind::Ack, 0, b2, None));
    }
    f.deliver(1, &[2, 3], &m(MsgKind::Commit, 0, b2, Some(hi)));
    for s in 1..4 {
        f.ev(
            s,
            What::Decided {
                slot: 0,
                value: hi.into(),
                own: None,
                full: None,
            },
        );
    }
    let yo = "bob: yo";
    f.ev(
        1,
        What::Proposed {
            slot: 1,
            ballot: b2,
            value: yo.into(),
            recovered: false,
        },
    );
    f.deliver(1, &[2], &m(MsgKind::Accept, 1, b2, Some(yo)));
    for s in 1..3 {
        f.ev(
            s,
            What::Accepted {
                slot: 1,
                ballot: b2,
                value: yo.into(),
            },
        );
    }
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| draw(app, f)).unwrap();
    terminal
}

fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The App with the round fed, the trace pane focused, in view `view`.
fn shown(size: (u16, u16), view: char) -> App {
    let mut app = app(size);
    a_round(&mut app);
    for _ in 0..3 {
        app.feed(Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Tab,
            KeyModifiers::NONE,
        ))));
    }
    app.feed(key(view));
    app
}

#[test]
fn space_time_80x24() {
    let app = shown((80, 24), 'd');
    let t = render(&app);
    let s = text(&t);
    assert!(s.contains("Space-time"), "{s}");
    assert!(s.contains('░'), "a crashed column is shaded:\n{s}");
    assert!(s.contains('✗'), "a dropped message ends in ✗:\n{s}");
    assert!(s.contains("★ recovered #0 (2,bob)"), "{s}");
    insta::assert_snapshot!("space_time_80x24", t.backend());
}

#[test]
fn space_time_120x40() {
    let app = shown((120, 40), 'd');
    let t = render(&app);
    let s = text(&t);
    assert!(s.contains("peer down"), "{s}");
    assert!(
        s.contains('▷'),
        "alice's accepts to carol and dave never arrived:\n{s}"
    );
    insta::assert_snapshot!("space_time_120x40", t.backend());
}

#[test]
fn space_time_follows_the_selected_slot() {
    let mut app = shown((120, 40), 'd');
    app.feed(key('/'));
    app.feed(key('1'));
    app.feed(Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    ))));
    let s = text(&render(&app));
    assert!(s.contains("slot 1"), "{s}");
    assert!(s.contains("bob: yo"), "{s}");
    assert!(!s.contains("alice: hi"), "slot 0 is filtered out:\n{s}");
}

#[test]
fn log_grid_80x24() {
    let app = shown((80, 24), 'l');
    let t = render(&app);
    let s = text(&t);
    assert!(s.contains("Log grid"), "{s}");
    insta::assert_snapshot!("log_grid_80x24", t.backend());
}

#[test]
fn log_grid_120x40() {
    let app = shown((120, 40), 'l');
    let t = render(&app);
    let s = text(&t);
    // alice accepted the value under her ballot and never learned the
    // decision; bob, carol and dave decided it under bob's.
    assert!(s.contains("1.ali alice: hi"), "{s}");
    assert!(s.contains("✓2.bob alice: hi"), "{s}");
    insta::assert_snapshot!("log_grid_120x40", t.backend());
    // The same value has the same colour under both ballots.
    let buf = t.backend().buffer();
    let colour_of = |needle: &str| {
        let s = text(&t);
        let (y, line) = s
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        let x = line[..line.find(needle).unwrap()].chars().count();
        buf[(x as u16, y as u16)].fg
    };
    assert_eq!(colour_of("1.ali alice"), colour_of("2.bob alice"));
}

#[test]
fn d_and_l_switch_back_to_the_trace() {
    let mut app = shown((120, 40), 'd');
    app.feed(key('d'));
    let s = text(&render(&app));
    assert!(s.contains("Paxos trace"), "{s}");
    app.feed(key('l'));
    app.feed(key('l'));
    let s = text(&render(&app));
    assert!(s.contains("Paxos trace") && s.contains("Timeline"), "{s}");
}
