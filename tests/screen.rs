//! The screen (SPEC section 9).
//!
//! 1. Snapshot tests: the App is driven like gitui's tests, by injecting key
//!    events and site events (no terminal), drawn into ratatui's TestBackend
//!    and compared with insta snapshots (times are fixed: a fixed clock and
//!    fixed trace times).
//! 2. A real-terminal end-to-end test: `tweettui demo` in a detached tmux
//!    session, typed into and read back with `capture-pane`.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use tweettui::paxos::DecidedEntry;
use tweettui::paxos::{Ballot, Dir, MsgKind, TraceEvent};
use tweettui::site::api::{Answer, PeerStatus, Refusal, Request, SiteEvent, Status};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::state::State;
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, AppConfig, Clock, Effect, Msg};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

fn config(theme: Theme, demo: bool, size: (u16, u16)) -> AppConfig {
    AppConfig {
        names: names(),
        shown: 0,
        hosted: if demo { (0..5).collect() } else { vec![0] },
        demo,
        theme,
        clock: Clock::Fixed {
            now: at(3600),
            offset: FixedOffset::east_opt(0).unwrap(),
        },
        mouse_capture: true,
        size,
    }
}

fn status(site: u32, leader: Option<u32>, decided: u64, down: &[u32]) -> Status {
    Status {
        site,
        name: NAMES[site as usize].to_string(),
        decided,
        leader,
        membership: tweettui::paxos::Membership::Voting,
        ballot: None,
        peers: (0..5u32)
            .filter(|&p| p != site)
            .map(|p| PeerStatus {
                site: p,
                name: NAMES[p as usize].to_string(),
                connected: !down.contains(&p),
            })
            .collect(),
    }
}

fn cmd(site: u32, seq: u64, op: Op) -> Value {
    Value::batch(vec![Command {
        id: OpId { site, boot: 1, seq },
        op,
    }])
}

fn tweet(site: u32, seq: u64, secs: i64, text: &str) -> Value {
    cmd(
        site,
        seq,
        Op::Tweet {
            user: NAMES[site as usize].into(),
            text: text.into(),
            time: at(secs),
        },
    )
}

fn key(code: KeyCode) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(c: char) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    )))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.feed(key(KeyCode::Char(c)));
    }
}

fn msg(dir: Dir, peer: u32, kind: MsgKind, slot: u64, value: Option<&str>) -> TraceEvent {
    TraceEvent::Message {
        dir,
        peer,
        kind,
        slot: Some(slot),
        ballot: Some(Ballot::new(1, 0)),
        value: value.map(str::to_string),
    }
}

/// The trace of alice winning slot `slot` as the new leader.
fn trace_slot(app: &mut App, site: usize, slot: u64, t0: u64, value: &str) {
    let b = Ballot::new(1, 0);
    let mut ev = |ms: u64, e: TraceEvent| {
        app.feed(Msg::Site(
            site,
            SiteEvent::Trace {
                at_ms: t0 + ms,
                event: e,
            },
        ))
    };
    if slot == 0 {
        ev(
            0,
            TraceEvent::Election {
                ballot: b,
                from_slot: 0,
            },
        );
        for p in 1..5 {
            ev(1, msg(Dir::Sent, p, MsgKind::Prepare, 0, None));
        }
        ev(3, msg(Dir::Received, 2, MsgKind::Promise, 0, None));
        ev(3, msg(Dir::Received, 3, MsgKind::Promise, 0, None));
        ev(
            3,
            TraceEvent::Leader {
                leader: Some(0),
                ballot: b,
            },
        );
    }
    ev(
        4,
        TraceEvent::Proposed {
            slot,
            ballot: b,
            value: value.into(),
            recovered: false,
        },
    );
    for p in 1..5 {
        ev(4, msg(Dir::Sent, p, MsgKind::Accept, slot, Some(value)));
    }
    // Plumbing, hidden by the default filter.
    ev(
        5,
        TraceEvent::Message {
            dir: Dir::Sent,
            peer: 1,
            kind: MsgKind::Heartbeat,
            slot: None,
            ballot: Some(b),
            value: None,
        },
    );
    ev(6, msg(Dir::Received, 1, MsgKind::Ack, slot, None));
    ev(7, msg(Dir::Received, 4, MsgKind::Ack, slot, None));
    for p in 1..5 {
        ev(7, msg(Dir::Sent, p, MsgKind::Commit, slot, Some(value)));
    }
    ev(
        7,
        TraceEvent::Decided {
            slot,
            value: value.into(),
            own: Some(true),
        },
    );
    ev(9, msg(Dir::Received, 2, MsgKind::Ack, slot, None));
}

/// Site 0 (alice) with a few tweets (emoji and CJK among them), a block,
/// a pending block and a trace of two slots.
fn sample_app(theme: Theme, demo: bool) -> App {
    let mut app = App::new(config(theme, demo, (120, 40)));
    let sites: Vec<usize> = if demo { (0..5).collect() } else { vec![0] };
    for &s in &sites {
        app.feed(Msg::Site(
            s,
            SiteEvent::Snapshot {
                state: Box::new(State::new(names())),
                status: status(s as u32, Some(0), 0, &[3]),
            },
        ));
    }
    let log = [
        tweet(0, 1, 10, "hello from alice: the first tweet of the log"),
        tweet(1, 1, 20, "bob here 👋 — does this wrap nicely when the text is much longer than one line of the timeline pane? It should."),
        cmd(0, 2, Op::Block { user: "alice".into(), target: "carol".into() }),
        tweet(2, 1, 30, "carol: 日本語のツイート, wide characters"),
        tweet(3, 1, 40, "dave says hi"),
        cmd(4, 1, Op::Block { user: "erin".into(), target: "alice".into() }),
        tweet(4, 2, 50, "erin's tweet alice cannot see"),
        tweet(0, 3, 60, "alice again, newest"),
    ];
    for (slot, v) in log.iter().enumerate() {
        for &s in &sites {
            app.feed(Msg::Site(
                s,
                SiteEvent::Committed {
                    slot: slot as u64,
                    value: v.clone(),
                },
            ));
        }
    }
    for &s in &sites {
        app.feed(Msg::Site(
            s,
            SiteEvent::Status(status(s as u32, Some(0), 8, &[3])),
        ));
    }
    trace_slot(
        &mut app,
        0,
        0,
        1200,
        "alice: hello from alice: the first tweet of the log",
    );
    trace_slot(&mut app, 0, 7, 61_000, "alice: alice again, newest");
    app
}

/// The first column of the trace pane at 120x40.
fn trace_x() -> usize {
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    tweettui::ui::layout::layout(area).unwrap().trace.x as usize
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| draw(app, f)).unwrap();
    terminal
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            out.push_str(sym);
            skip = ratatui::text::Span::raw(sym).width().saturating_sub(1);
        }
        out.push('\n');
    }
    out
}

#[test]
fn full_layout_120x40() {
    let mut app = sample_app(Theme::colored(), false);
    // A pending block shows in the block list until it is decided.
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Down));
    app.feed(key(KeyCode::Down));
    let (fx, _) = app.update(key(KeyCode::Char('b')));
    assert!(
        matches!(&fx[..], [Effect::Request { req: Request::Block(u), .. }] if u == "dave"),
        "{fx:?}"
    );
    // Back to the timeline, second tweet selected.
    app.feed(key(KeyCode::BackTab));
    app.feed(key(KeyCode::Down));
    let t = render(&app);
    insta::assert_snapshot!("full_layout_120x40", t.backend());
}

/// SPEC 9, the status line: a leader that does not see a quorum says so;
/// at 80 columns the status line shortens by priority (the peers as a
/// count) and keeps who leads, the decided count and safety.
#[test]
fn the_status_line_fits_and_tells_a_leader_without_quorum() {
    let mut app = sample_app(Theme::colored(), true);
    app.feed(Msg::Site(
        0,
        SiteEvent::Status(status(0, Some(0), 8, &[1, 2, 3])),
    ));
    let first = |app: &App| {
        screen_text(&render(app))
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let wide = first(&app);
    assert!(wide.contains("leader: alice (me, no quorum)"), "{wide}");
    assert!(wide.contains("peers 1/4 up"), "{wide}");
    app.feed(Msg::Site(0, SiteEvent::Status(status(0, Some(0), 8, &[3]))));
    app.feed(Msg::Term(crossterm::event::Event::Resize(80, 24)));
    let narrow = first(&app);
    assert!(narrow.contains("peers 3/4 up"), "{narrow}");
    assert!(
        narrow.contains("alice (me)") && !narrow.contains("no q"),
        "{narrow}"
    );
    assert!(narrow.contains("8") && narrow.contains("safe"), "{narrow}");
    assert!(
        !narrow.trim_end().ends_with("pe"),
        "cut in the middle: {narrow}"
    );
}

#[test]
fn help_popup_lists_every_key() {
    let mut app = sample_app(Theme::colored(), true);
    app.feed(key(KeyCode::F(1)));
    let t = render(&app);
    let text = screen_text(&t);
    assert!(text.contains("Help · every key"), "{text}");
    insta::assert_snapshot!("help_popup", t.backend());
    // Every key of every table is in the popup (scrolling through it).
    let all: String = tweettui::ui::help::lines(&app.theme, app.mode(), 400)
        .iter()
        .map(|l| l.to_string() + "\n")
        .collect();
    for (title, table) in tweettui::ui::help::sections(tweettui::ui::help::Mode::Demo) {
        assert!(all.contains(title), "{title} missing from the help");
        for k in table {
            assert!(all.contains(k.keys), "{} missing from the help", k.keys);
        }
    }
    // Esc closes it; `?` on a pane opens it again; in the input box `?` is text.
    app.feed(key(KeyCode::Esc));
    assert!(app.popup.is_none());
    app.feed(key(KeyCode::Char('?')));
    assert!(app.popup.is_none());
    assert_eq!(app.input_text(), "?");
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Char('?')));
    assert!(app.popup.is_some());
}

#[test]
fn per_slot_view() {
    let mut app = sample_app(Theme::colored(), false);
    for _ in 0..3 {
        app.feed(key(KeyCode::Tab));
    }
    app.feed(key(KeyCode::Char('s')));
    let t = render(&app);
    let text = screen_text(&t);
    assert!(
        text.contains("prepare→promise 3/5✓→accept→ack 4/5✓→commit"),
        "{text}"
    );
    insta::assert_snapshot!("per_slot_view", t.backend());
}

#[test]
fn too_small_terminal_says_so() {
    let mut app = sample_app(Theme::colored(), false);
    app.feed(Msg::Term(Event::Resize(20, 5)));
    let t = render(&app);
    insta::assert_snapshot!("too_small_20x5", t.backend());
    let text = screen_text(&t);
    assert!(text.contains("terminal too"), "{text}");
    // And back to a usable size.
    app.feed(Msg::Term(Event::Resize(120, 40)));
    let text = screen_text(&render(&app));
    assert!(text.contains("Paxos trace"), "{text}");
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut app = sample_app(Theme::colored(), true);
    app.feed(key(KeyCode::F(1)));
    for (w, h) in [
        (1, 1),
        (2, 2),
        (59, 15),
        (60, 16),
        (61, 17),
        (80, 24),
        (200, 60),
    ] {
        app.feed(Msg::Term(Event::Resize(w, h)));
        render(&app);
    }
}

#[test]
fn no_color_means_no_colours_but_a_visible_selection() {
    let mut app = sample_app(Theme::monochrome(), true);
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Down));
    let t = render(&app);
    let buf = t.backend().buffer();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert_eq!(c.fg, Color::Reset, "fg colour at {x},{y}: {:?}", c.symbol());
            assert_eq!(c.bg, Color::Reset, "bg colour at {x},{y}: {:?}", c.symbol());
        }
    }
    let text = screen_text(&t);
    assert!(text.contains("▶ dave"), "no highlight symbol:\n{text}");
    // The selection is still visible: reversed.
    let reversed = (0..buf.area.width).any(|x| {
        (0..buf.area.height).any(|y| {
            buf[(x, y)]
                .modifier
                .contains(ratatui::style::Modifier::REVERSED)
        })
    });
    assert!(reversed);
    // The popup too.
    app.feed(key(KeyCode::Char('?')));
    let t = render(&app);
    let buf = t.backend().buffer();
    assert!(buf
        .content
        .iter()
        .all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
}

#[test]
fn wrong_command_shows_usage_and_keeps_the_text() {
    let mut app = sample_app(Theme::colored(), false);
    typed(&mut app, "block party tonight");
    let (fx, _) = app.update(key(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(app.input_text(), "block party tonight");
    let note = app.note.clone().unwrap().text;
    assert!(note.contains("usage: /block <user>"), "{note}");
    let text = screen_text(&render(&app));
    assert!(text.contains("usage: /block <user>"), "{text}");
    assert!(text.contains("block party tonight"), "{text}");
}

#[test]
fn slash_tweet_always_tweets_and_the_answer_shows() {
    let mut app = sample_app(Theme::colored(), false);
    typed(&mut app, "/tweet block x");
    let (fx, _) = app.update(key(KeyCode::Enter));
    let [Effect::Request { tag, site: 0, req }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(*req, Request::Tweet("block x".into()));
    assert_eq!(app.input_text(), "");
    app.feed(Msg::Reply {
        tag: *tag,
        reply: Ok(Answer::Decided { slot: 8, index: 0 }),
    });
    let text = screen_text(&render(&app));
    assert!(text.contains("tweet decided in slot 8"), "{text}");
    // A failure shows its reason.
    typed(&mut app, "plain text is a tweet");
    let (fx, _) = app.update(key(KeyCode::Enter));
    let [Effect::Request { tag, req, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(*req, Request::Tweet("plain text is a tweet".into()));
    app.feed(Msg::Reply {
        tag: *tag,
        reply: Err(Refusal::unavailable(
            "not decided in time: no quorum reachable",
        )),
    });
    let text = screen_text(&render(&app));
    assert!(
        text.contains("(503) · the text is back in the box: not decided in time"),
        "{text}"
    );
    assert_eq!(app.input_text(), "plain text is a tweet");
}

#[test]
fn input_is_one_line_of_at_most_280_characters() {
    let mut app = sample_app(Theme::colored(), false);
    app.feed(Msg::Term(Event::Paste("two\nlines\r\nhere".into())));
    assert_eq!(app.input_text(), "two lines  here");
    app.feed(key(KeyCode::Esc));
    assert_eq!(app.input_text(), "");
    app.feed(Msg::Term(Event::Paste("é".repeat(300))));
    assert_eq!(app.input_text().chars().count(), 280);
    typed(&mut app, "xyz");
    assert_eq!(app.input_text().chars().count(), 280);
    // Esc clears, a second Esc leaves the box; i comes back.
    app.feed(key(KeyCode::Esc));
    app.feed(key(KeyCode::Esc));
    assert_eq!(app.focus, tweettui::ui::Focus::Timeline);
    app.feed(key(KeyCode::Char('i')));
    assert_eq!(app.focus, tweettui::ui::Focus::Input);
    // Ctrl-C quits from anywhere.
    let (fx, _) = app.update(ctrl('c'));
    assert!(fx.contains(&Effect::Quit));
}

#[test]
fn new_tweets_do_not_move_what_the_reader_reads() {
    let mut app = sample_app(Theme::colored(), false);
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Down));
    app.feed(key(KeyCode::Down));
    let selected_tweet = |app: &App| {
        let m = app.site();
        m.timeline.selected_tweet(m.state.as_ref()?, &m.name)
    };
    let selected_before = selected_tweet(&app).expect("a tweet is selected");
    assert_eq!(app.site().timeline.selected, 2);
    app.feed(Msg::Site(
        0,
        SiteEvent::Committed {
            slot: 8,
            value: tweet(1, 9, 70, "a newer tweet"),
        },
    ));
    assert_eq!(selected_tweet(&app), Some(selected_before));
    assert_eq!(app.site().timeline.selected, 3);
    // At the top, the newest tweet shows and is selected.
    app.feed(key(KeyCode::Home));
    app.feed(Msg::Site(
        0,
        SiteEvent::Committed {
            slot: 9,
            value: tweet(2, 9, 80, "the newest tweet"),
        },
    ));
    assert_eq!(app.site().timeline.selected, 0);
    let text = screen_text(&render(&app));
    assert!(text.contains("▶ carol"), "{text}");
    assert!(text.contains("the newest tweet"), "{text}");
}

#[test]
fn trace_pause_keeps_recording_and_filters_select() {
    let mut app = sample_app(Theme::colored(), false);
    for _ in 0..3 {
        app.feed(key(KeyCode::Tab));
    }
    app.feed(key(KeyCode::Char('p')));
    let before = screen_text(&render(&app));
    let total = app.site().trace.total();
    trace_slot(&mut app, 0, 8, 70_000, "alice: more");
    assert!(app.site().trace.total() > total);
    let after = screen_text(&render(&app));
    assert!(after.contains("PAUSED +"), "{after}");
    // The rows shown did not move.
    let rows = |s: &str| -> Vec<String> {
        s.lines()
            .skip(11)
            .take(20)
            .map(|l| l.chars().skip(trace_x()).collect())
            .collect()
    };
    assert_eq!(rows(&before), rows(&after));
    app.feed(key(KeyCode::Char('p')));
    let text = screen_text(&render(&app));
    assert!(text.contains("#8"), "{text}");
    // Slot filter: `/` 7 Enter shows slot 7 only.
    app.feed(key(KeyCode::Char('/')));
    typed(&mut app, "7");
    app.feed(key(KeyCode::Enter));
    let text = screen_text(&render(&app));
    assert!(text.contains("slot 7"), "{text}");
    assert!(!text.contains("#8 "), "{text}");
    assert!(text.contains("#7"), "{text}");
    // Kind filter: f cycles to "all" (heartbeats shown).
    app.feed(key(KeyCode::Esc));
    app.feed(key(KeyCode::Char('f')));
    let text = screen_text(&render(&app));
    assert!(text.contains("heartbeat"), "{text}");
    // Peer filter: w shows the messages with bob only, then carol's.
    let peers = |text: &str| -> Vec<String> {
        text.lines()
            .skip(11)
            .take(24)
            .filter_map(|l| {
                let row: String = l.chars().skip(trace_x() + 1).collect();
                let arrow = row.find(['→', '←'])?;
                let name = row[arrow..].chars().skip(2).take_while(|c| *c != ' ');
                Some(name.collect())
            })
            .collect()
    };
    assert!(peers(&text).iter().any(|p| p != "bob"), "{text}");
    app.feed(key(KeyCode::Char('w')));
    let text = screen_text(&render(&app));
    assert!(text.contains("· with bob"), "{text}");
    let shown = peers(&text);
    assert!(
        !shown.is_empty() && shown.iter().all(|p| p == "bob"),
        "{text}"
    );
    app.feed(key(KeyCode::Char('w')));
    let text = screen_text(&render(&app));
    assert!(text.contains("· with carol"), "{text}");
    assert!(peers(&text).iter().all(|p| p == "carol"), "{text}");
    // Round the other sites (never alice herself) and back to every peer.
    for _ in 0..3 {
        app.feed(key(KeyCode::Char('w')));
    }
    let text = screen_text(&render(&app));
    assert!(!text.contains("· with "), "{text}");
}

#[test]
fn demo_shows_a_safety_violation_and_crashed_sites() {
    let mut app = sample_app(Theme::colored(), true);
    let text = screen_text(&render(&app));
    assert!(text.contains("safety holds (8 slots)"), "{text}");
    app.feed(Msg::Site(
        1,
        SiteEvent::Committed {
            slot: 8,
            value: tweet(1, 20, 90, "one value"),
        },
    ));
    app.feed(Msg::Site(
        2,
        SiteEvent::Committed {
            slot: 8,
            value: tweet(2, 20, 90, "another value"),
        },
    ));
    let text = screen_text(&render(&app));
    assert!(text.contains("SAFETY VIOLATED at slot 8"), "{text}");
    // Crash the shown site: the status line says so; r asks to restart it.
    app.feed(key(KeyCode::Tab));
    let (fx, _) = app.update(key(KeyCode::Char('x')));
    assert!(fx.contains(&Effect::Demo(tweettui::ui::DemoCmd::Crash(0))));
    app.feed(Msg::Demo(tweettui::ui::DemoEvent::Down {
        site: 0,
        reason: None,
    }));
    let text = screen_text(&render(&app));
    assert!(text.contains("alice CRASHED"), "{text}");
    let (fx, _) = app.update(key(KeyCode::Char('r')));
    assert!(fx.contains(&Effect::Demo(tweettui::ui::DemoCmd::Restart(0))));
    // On the trace, only the messages with bob; then showing bob himself
    // drops that filter (a site exchanges no messages with itself).
    // Switching sites is instant: bob's model is there.
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Char('w')));
    assert!(screen_text(&render(&app)).contains("· with bob"));
    app.feed(key(KeyCode::Char('2')));
    let text = screen_text(&render(&app));
    assert!(!text.contains("· with bob"), "{text}");
    assert!(text.contains("[2/5] bob"), "{text}");
    assert!(text.contains("Timeline · bob sees"), "{text}");
}

#[test]
fn log_popup_lists_the_decided_log() {
    let mut app = sample_app(Theme::colored(), false);
    typed(&mut app, "log");
    let (fx, _) = app.update(key(KeyCode::Enter));
    let [Effect::Request { tag, req, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    // The most recent slots (all 8 here).
    assert_eq!(
        *req,
        Request::Log {
            from: Some(0),
            to: Some(1000)
        }
    );
    app.feed(Msg::Reply {
        tag: *tag,
        reply: Ok(Answer::Log(vec![
            DecidedEntry {
                slot: 0,
                value: tweet(0, 1, 0, "hello"),
            },
            DecidedEntry {
                slot: 1,
                value: Value::noop(),
            },
            DecidedEntry {
                slot: 2,
                value: cmd(
                    0,
                    2,
                    Op::Block {
                        user: "alice".into(),
                        target: "carol".into(),
                    },
                ),
            },
        ])),
    });
    let text = screen_text(&render(&app));
    assert!(
        text.contains("Decided log of alice: slots 0..2 (3 entries)"),
        "{text}"
    );
    assert!(
        text.contains("slot      0  alice    tweets: hello"),
        "{text}"
    );
    assert!(text.contains("slot      1           no-op"), "{text}");
    assert!(
        text.contains("slot      2  alice    blocks carol"),
        "{text}"
    );
    app.feed(key(KeyCode::Esc));
    assert!(app.popup.is_none());
    // From a slot on: a window of the log, however long it is.
    typed(&mut app, "/log 1500");
    let (fx, _) = app.update(key(KeyCode::Enter));
    assert!(
        matches!(
            &fx[..],
            [Effect::Request {
                req: Request::Log {
                    from: Some(1500),
                    to: Some(2500)
                },
                ..
            }]
        ),
        "{fx:?}"
    );
}

#[test]
fn a_block_is_pending_until_decided_here() {
    let mut app = sample_app(Theme::colored(), false);
    typed(&mut app, "/block bob");
    let (fx, _) = app.update(key(KeyCode::Enter));
    let [Effect::Request { tag, req, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    assert_eq!(*req, Request::Block("bob".into()));
    let pending = |app: &App| {
        app.block_rows()
            .iter()
            .find(|r| r.name == "bob")
            .unwrap()
            .pending
    };
    assert_eq!(pending(&app), Some("blocking…"));
    // The answer comes before the commit reaches the UI: still pending.
    app.feed(Msg::Reply {
        tag: *tag,
        reply: Ok(Answer::Decided { slot: 8, index: 0 }),
    });
    assert_eq!(pending(&app), Some("blocking…"));
    app.feed(Msg::Site(
        0,
        SiteEvent::Committed {
            slot: 8,
            value: cmd(
                0,
                9,
                Op::Block {
                    user: "alice".into(),
                    target: "bob".into(),
                },
            ),
        },
    ));
    assert_eq!(pending(&app), None);
    assert!(app
        .block_rows()
        .iter()
        .any(|r| r.name == "bob" && r.blocked));
    // One key away from the unblock: Tab to the blocks, u.
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Tab));
    let (fx, _) = app.update(key(KeyCode::Char('u')));
    assert!(
        matches!(&fx[..], [Effect::Request { req: Request::Unblock(u), .. }] if u == "bob"),
        "{fx:?}"
    );
    // A refused rule shows why and sends nothing.
    app.feed(key(KeyCode::Char('i')));
    typed(&mut app, "block nobody");
    let (fx, _) = app.update(key(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(app.note.clone().unwrap().text.contains("unknown user"));
    assert_eq!(app.input_text(), "block nobody");
}

#[test]
fn a_tweet_shows_as_pending_in_the_timeline_until_decided_here() {
    let mut app = sample_app(Theme::colored(), false);
    let send = |app: &mut App, text: &str| {
        typed(app, text);
        let (fx, _) = app.update(key(KeyCode::Enter));
        let [Effect::Request { tag, .. }] = &fx[..] else {
            panic!("{fx:?}")
        };
        *tag
    };
    let first = send(&mut app, "on its way to a quorum");
    let text = screen_text(&render(&app));
    let rows: Vec<&str> = text.lines().collect();
    // The first row inside the timeline's border is the pending tweet,
    // above the newest decided one (still selected, still shown).
    assert!(
        rows[2].contains("⧗ alice  posting…  on its way to a quorum"),
        "{text}"
    );
    assert!(rows[3].contains("▶ alice"), "{text}");
    assert!(text.contains("alice again, newest"), "{text}");

    // Four more: three rows, the last counting the rest.
    let more: Vec<u64> = (1..5)
        .map(|i| send(&mut app, &format!("more number {i}")))
        .collect();
    let text = screen_text(&render(&app));
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[2].contains("on its way to a quorum"), "{text}");
    assert!(
        rows[3].contains("⧗ alice  posting…  more number 1"),
        "{text}"
    );
    assert!(
        rows[4].contains("⧗ alice  posting…  and 3 more tweets"),
        "{text}"
    );
    assert!(rows[5].contains("▶ alice"), "{text}");

    // A 503 is not a no: the row says the tweet is not decided yet (the
    // site may still decide it); the message line says why.
    for tag in more {
        app.feed(Msg::Reply {
            tag,
            reply: Err(Refusal::unavailable(
                "not decided in time: no quorum reachable",
            )),
        });
    }
    // Answered but not yet applied here: still pending.
    app.feed(Msg::Reply {
        tag: first,
        reply: Ok(Answer::Decided { slot: 8, index: 0 }),
    });
    let text = screen_text(&render(&app));
    assert!(text.contains("⧗ alice  posting…  on its way"), "{text}");
    assert!(
        text.contains("? alice  not decided yet (503)  more number 1"),
        "{text}"
    );
    // Applied: a tweet of the timeline like any other, at the top.
    app.feed(Msg::Site(
        0,
        SiteEvent::Committed {
            slot: 8,
            value: tweet(0, 9, 70, "on its way to a quorum"),
        },
    ));
    let text = screen_text(&render(&app));
    let rows: Vec<&str> = text.lines().collect();
    assert!(!text.contains("posting…"), "{text}");
    assert!(rows[5].contains("▶ alice"), "{text}");
    assert!(rows[6].contains("on its way to a quorum"), "{text}");
}

#[test]
fn the_mouse_wheel_scrolls_the_pane_under_the_pointer() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = sample_app(Theme::colored(), false);
    let wheel = |kind, column, row| {
        Msg::Term(Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    app.feed(wheel(MouseEventKind::ScrollDown, 10, 10));
    assert_eq!(app.site().timeline.selected, 3);
    app.feed(wheel(MouseEventKind::ScrollUp, 10, 10));
    assert_eq!(app.site().timeline.selected, 0);
    // Over the trace: it scrolls up from the newest row.
    app.feed(wheel(MouseEventKind::ScrollUp, 100, 30));
    assert!(app.site().tview.anchor.is_some());
    let text = screen_text(&render(&app));
    assert!(text.contains("newer (End)"), "{text}");
    // F2 switches mouse capture off (select-and-copy) and on.
    let (fx, _) = app.update(key(KeyCode::F(2)));
    assert_eq!(fx, vec![Effect::MouseCapture(false)]);
}

// ----- the real terminal ------------------------------------------------

#[cfg(unix)]
mod terminal {
    use std::path::Path;
    use std::process::{Command, Output};
    use std::time::{Duration, Instant};

    /// A tmux server of our own (its socket in the test's temp dir), killed
    /// on drop, so nothing is left behind even when the test fails.
    struct Tmux {
        socket: std::path::PathBuf,
        session: String,
    }

    impl Tmux {
        fn run(&self, args: &[&str]) -> Output {
            Command::new("tmux")
                .arg("-S")
                .arg(&self.socket)
                .args(args)
                .output()
                .expect("tmux runs")
        }

        fn start(home: &Path) -> Tmux {
            let id = format!(
                "tweettui-e2e-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            );
            let t = Tmux {
                socket: home.join("tmux.sock"),
                session: id,
            };
            let h = home.display().to_string();
            let out = t.run(&[
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
                "-s",
                &t.session,
                "-e",
                &format!("HOME={h}"),
                "-e",
                &format!("XDG_DATA_HOME={h}/data"),
                "-e",
                &format!("TMPDIR={h}/tmp"),
                "sh",
            ]);
            assert!(out.status.success(), "tmux new-session: {out:?}");
            // A prompt we can recognise (any POSIX shell).
            t.type_text("PS1='e2e-prompt$ '");
            t.keys(&["Enter"]);
            t
        }

        fn keys(&self, keys: &[&str]) {
            let mut args = vec!["send-keys", "-t", &self.session];
            args.extend_from_slice(keys);
            let out = self.run(&args);
            assert!(out.status.success(), "send-keys {keys:?}: {out:?}");
        }

        fn type_text(&self, text: &str) {
            let out = self.run(&["send-keys", "-t", &self.session, "-l", text]);
            assert!(out.status.success(), "send-keys -l: {out:?}");
        }

        fn screen(&self) -> String {
            let out = self.run(&["capture-pane", "-p", "-t", &self.session]);
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        /// A tmux of our own with the shell's prompt showing.
        fn ready(home: &Path) -> Tmux {
            let t = Tmux::start(home);
            t.wait("the shell prompt", 10, |s| s.contains("e2e-prompt$"));
            t
        }

        /// Waits until the shell's prompt is back (the last line ends with it).
        fn prompt_back(&self, what: &str) -> String {
            self.wait(what, 20, |s| {
                s.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| l.trim_end().ends_with("e2e-prompt$"))
            })
        }

        /// Polls the screen until `ok` holds; panics with the screen after
        /// `secs` seconds.
        fn wait(&self, what: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
            let deadline = Instant::now() + Duration::from_secs(secs);
            loop {
                let s = self.screen();
                if ok(&s) {
                    return s;
                }
                if Instant::now() > deadline {
                    panic!("timed out waiting for {what}; the screen:\n{s}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    impl Drop for Tmux {
        fn drop(&mut self) {
            let _ = self.run(&["kill-server"]);
        }
    }

    fn tmux_available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The trace pane's part (right of the timeline) of a line.
    fn right(line: &str) -> String {
        line.chars().skip(super::trace_x()).collect()
    }

    #[test]
    fn demo_in_a_real_terminal() {
        if !tmux_available() {
            eprintln!("##################################################################");
            eprintln!("SKIPPED: tmux is not installed: the real-terminal test did not run");
            eprintln!("##################################################################");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let t = Tmux::ready(home.path());
        let bin = env!("CARGO_BIN_EXE_tweettui");
        t.type_text(&format!("'{bin}' demo"));
        t.keys(&["Enter"]);
        t.wait("the demo with all peers up", 30, |s| {
            s.contains("Paxos trace")
                && s.contains("safety holds")
                && s.contains("peers: bob up, carol up, dave up, erin up")
        });

        // A tweet: it is decided, shows in the timeline with its slot.
        t.type_text("hello from the e2e test");
        t.keys(&["Enter"]);
        let s = t.wait("the tweet's answer", 30, |s| {
            s.contains("tweet decided in slot")
        });
        let slot: u64 = s
            .split("tweet decided in slot ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no slot in:\n{s}"));
        let s = t.wait("the tweet in the timeline", 10, |s| {
            let lines: Vec<&str> = s.lines().collect();
            lines.windows(2).any(|w| {
                let head: String = w[0].chars().take(super::trace_x()).collect();
                head.contains("alice")
                    && head.contains(&format!("slot {slot}"))
                    && w[1].contains("hello from the e2e test")
            })
        });
        assert!(s.contains("Timeline · alice sees"), "{s}");

        // The trace of that slot: filter by it (Tab to the trace, / N Enter).
        t.keys(&["Tab", "Tab", "Tab"]);
        t.wait("the trace focused", 10, |s| s.contains("┏ Paxos trace"));
        t.keys(&["/"]);
        t.wait("the slot prompt", 10, |s| s.contains("filter by slot"));
        t.type_text(&slot.to_string());
        t.keys(&["Enter"]);
        t.wait("the slot filter", 10, |s| {
            s.contains(&format!("Paxos trace · synod · slot {slot}"))
        });
        let tag = format!("#{slot} ");
        t.wait("accept, ack and commit rows of the slot", 10, |s| {
            let rows: Vec<String> = s.lines().map(right).collect();
            let has = |kind: &str| rows.iter().any(|r| r.contains(kind) && r.contains(&tag));
            (has("prepare") || has("accept")) && has("ack") && has("commit")
        });
        // The per-slot view shows its phases up to the commit.
        t.keys(&["s"]);
        t.wait("the per-slot view", 10, |s| {
            s.lines().map(right).any(|r| {
                r.contains(&format!("#{slot}")) && r.contains("ack") && r.contains("commit")
            })
        });
        t.keys(&["s"]);

        // `?` on a pane opens the help; Esc closes it.
        t.keys(&["?"]);
        t.wait("the help popup (?)", 10, |s| s.contains("Help · every key"));
        t.keys(&["Escape"]);
        t.wait("the help closed", 10, |s| !s.contains("Help · every key"));
        // F1 opens it from the input box too.
        t.keys(&["i"]);
        t.wait("the input focused", 10, |s| s.contains("┏ Tweet as alice"));
        t.keys(&["F1"]);
        t.wait("the help popup (F1)", 10, |s| {
            s.contains("Help · every key")
        });
        t.keys(&["Escape"]);
        t.wait("the help closed", 10, |s| !s.contains("Help · every key"));

        // Crash alice and restart her: the status line shows both.
        t.keys(&["Tab"]);
        t.wait("the timeline focused", 10, |s| s.contains("┏ Timeline"));
        t.keys(&["x"]);
        t.wait("alice crashed", 20, |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("alice CRASHED"))
        });
        t.keys(&["r"]);
        t.wait("alice restarted", 30, |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("alice restarted") && !l.contains("CRASHED"))
                && s.contains("hello from the e2e test")
        });

        // Ctrl-C: the terminal is restored, the shell prompt is back.
        t.keys(&["C-c"]);
        let s = t.prompt_back("the shell prompt after quitting");
        assert!(
            !s.contains("Paxos trace"),
            "alternate screen leftovers:\n{s}"
        );
        assert!(!s.contains("Timeline"), "alternate screen leftovers:\n{s}");
        // The demo removed its temp dir.
        let left: Vec<_> = std::fs::read_dir(home.path().join("tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "the demo left {left:?} behind");
    }
    /// The slider of a replay's status line: playing, position, length.
    fn slider(screen: &str) -> Option<(bool, usize, usize)> {
        let first = screen.lines().next()?.trim_start();
        let (icon, rest) = first.split_once(' ')?;
        let (pos, rest) = rest.split_once('/')?;
        let len = rest.split_whitespace().next()?;
        Some((icon == "▶", pos.parse().ok()?, len.parse().ok()?))
    }

    /// `demo --data-dir`: the demo writes a config of its ports there, so
    /// `ctl` reaches its sites while it runs; its data, config and log stay
    /// after it ends.
    #[test]
    fn ctl_reaches_a_running_demo_and_its_data_dir_stays() {
        if !tmux_available() {
            eprintln!("SKIPPED: tmux is not installed: the demo/ctl test did not run");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let t = Tmux::ready(home.path());
        let bin = env!("CARGO_BIN_EXE_tweettui");
        let dir = home.path().join("demo-data");
        let shown = dir.display();
        t.type_text(&format!("'{bin}' demo --sites 3 --data-dir '{shown}'"));
        t.keys(&["Enter"]);
        let config = dir.join("config.json");
        t.wait("the demo saying how ctl reaches it", 30, |s| {
            s.contains("peers: bob up, carol up") || s.contains("peers 2/2 up")
        });
        let out = Command::new(bin)
            .args(["ctl", "carol", "tweet", "sent", "with", "ctl"])
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run ctl");
        assert!(out.status.success(), "{out:?}");
        t.wait("the tweet from ctl on alice's screen", 20, |s| {
            s.contains("sent with ctl")
        });
        t.keys(&["C-c"]);
        t.wait("the demo says the data dirs are kept", 20, |s| {
            s.contains("data dirs are kept in")
        });
        for kept in ["config.json", "demo.log", "alice", "bob", "carol"] {
            assert!(dir.join(kept).exists(), "{kept} was not kept in {shown}");
        }
    }

    /// `demo --step` in a real terminal: nothing moves until asked; a
    /// tweet waits, `]` runs until the next decision, and the status line
    /// counts the steps and shows the decided slot.
    #[test]
    fn step_mode_in_a_real_terminal() {
        if !tmux_available() {
            eprintln!("SKIPPED: tmux is not installed: the step-mode test did not run");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let t = Tmux::ready(home.path());
        let bin = env!("CARGO_BIN_EXE_tweettui");
        t.type_text(&format!("'{bin}' demo --step --sites 3"));
        t.keys(&["Enter"]);
        t.wait("step mode, paused", 20, |s| {
            s.lines()
                .next()
                .is_some_and(|l| l.contains("⏸ t=") && l.contains("decided: 0"))
        });
        t.type_text("one step at a time");
        t.keys(&["Enter"]);
        t.keys(&["Tab"]);
        t.keys(&["]"]);
        let s = t.wait("slot 0 decided after ]", 20, |s| {
            s.contains("slot 0 decided")
                && s.lines().next().is_some_and(|l| l.contains("decided: 1"))
        });
        assert!(s.contains("one step at a time"), "{s}");
        assert!(s.contains("safety holds (1 slot)"), "{s}");
        t.keys(&["C-c"]);
        t.prompt_back("the shell prompt after quitting");
    }

    /// `demo --record`, then `replay` of that file: the slider steps,
    /// jumps to the end (where the recorded tweet is in the timeline and
    /// safety holds), back to a decision, and plays.
    #[test]
    fn record_a_demo_then_replay_it_in_a_real_terminal() {
        if !tmux_available() {
            eprintln!("SKIPPED: tmux is not installed: the record/replay test did not run");
            return;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join("tmp")).unwrap();
        let t = Tmux::ready(home.path());
        let bin = env!("CARGO_BIN_EXE_tweettui");
        let file = home.path().join("run.jsonl");
        let file = file.display();
        t.type_text(&format!("'{bin}' demo --sites 3 --record '{file}'"));
        t.keys(&["Enter"]);
        t.wait("the demo with all peers up", 30, |s| {
            s.contains("Paxos trace") && s.contains("peers: bob up, carol up")
        });
        t.type_text("a recorded tweet");
        t.keys(&["Enter"]);
        t.wait("the tweet decided", 30, |s| {
            s.contains("tweet decided in slot")
        });
        t.keys(&["C-c"]);
        t.wait("the demo says where it recorded", 20, |s| {
            s.contains(&format!("recorded to {file}"))
        });

        t.type_text(&format!("clear; '{bin}' replay '{file}'"));
        t.keys(&["Enter"]);
        let s = t.wait("the replay at its start", 20, |s| {
            slider(s).is_some_and(|(play, pos, len)| !play && pos == 0 && len > 10)
        });
        let len = slider(&s).map_or(0, |(_, _, len)| len);
        assert!(s.contains("decided: 0"), "{s}");
        t.keys(&["Right"]);
        t.wait("one event on", 10, |s| slider(s) == Some((false, 1, len)));
        t.keys(&["End"]);
        let s = t.wait("the end of the recording", 10, |s| {
            slider(s) == Some((false, len, len))
        });
        assert!(
            s.contains("a recorded tweet"),
            "the timeline at the end:\n{s}"
        );
        assert!(s.contains("safety holds (1 slot)"), "{s}");
        t.keys(&["["]);
        let s = t.wait("back to the last decision or leader change", 10, |s| {
            slider(s).is_some_and(|(_, pos, _)| 0 < pos && pos < len)
        });
        let at = slider(&s).map_or(0, |(_, pos, _)| pos);
        t.keys(&["Left"]);
        t.wait("one event back", 10, |s| {
            slider(s) == Some((false, at - 1, len))
        });
        t.keys(&["Space"]);
        t.wait("playing to the end", 30, |s| {
            slider(s).is_some_and(|(_, pos, _)| pos == len) && s.contains("a recorded tweet")
        });
        t.keys(&["C-c"]);
        t.prompt_back("the shell prompt after the replay");
    }
}

// ----- the key tables ---------------------------------------------------

mod key_tables {
    use super::*;
    use tweettui::ui::keys::{self, KeyHelp};
    use tweettui::ui::panes::{blocks, input, popup, timeline, trace};
    use tweettui::ui::{cluster, help};

    /// Every key a handler might see: printable characters, the special
    /// keys, Ctrl and Alt with a letter or digit.
    fn universe() -> Vec<KeyEvent> {
        use KeyCode::*;
        let mut codes: Vec<KeyCode> = (' '..='~').chain(['\n', '\r']).map(Char).collect();
        codes.extend((1..=12).map(F));
        codes.extend([
            Up, Down, Left, Right, Home, End, PageUp, PageDown, Tab, BackTab, Enter, Esc,
            Backspace, Delete, Insert,
        ]);
        let mut out: Vec<KeyEvent> = codes
            .iter()
            .map(|c| KeyEvent::new(*c, KeyModifiers::NONE))
            .collect();
        for c in ('a'..='z').chain('0'..='9') {
            for m in [KeyModifiers::CONTROL, KeyModifiers::ALT] {
                out.push(KeyEvent::new(Char(c), m));
            }
        }
        out
    }

    /// A key `handles` takes is in `table`, and every key of `table` is one
    /// it takes.
    fn same_keys(name: &str, table: &[KeyHelp], handles: impl Fn(&KeyEvent) -> bool) {
        for k in universe() {
            if handles(&k) {
                assert!(
                    table.iter().any(|e| e.matches(&k)),
                    "{name}: {k:?} is handled but in no entry of its key table"
                );
            }
        }
        for e in table {
            for k in e.sends {
                assert!(
                    handles(&k.event()),
                    "{name}: {} lists {k:?}, which its handler does not take",
                    e.keys
                );
            }
        }
    }

    #[test]
    fn every_handled_key_is_in_its_table_and_back() {
        same_keys("timeline", timeline::KEYS, |k| {
            timeline::action(k).is_some()
        });
        same_keys("blocks", blocks::KEYS, |k| blocks::action(k).is_some());
        same_keys("trace", trace::KEYS, |k| trace::action(k).is_some());
        same_keys("popup", popup::KEYS, |k| popup::action(k).is_some());
        same_keys("slot prompt", popup::PROMPT_KEYS, |k| {
            popup::prompt_action(k).is_some()
        });
        same_keys("anywhere", keys::ANYWHERE, |k| keys::anywhere(k).is_some());
        same_keys("any pane", keys::ANY_PANE, |k| {
            keys::any_pane(k, false).is_some()
        });
        same_keys("demo", cluster::DEMO, |k| cluster::demo_key(k).is_some());
        same_keys("replay", tweettui::ui::replay::KEYS, |k| {
            tweettui::ui::replay::action(k).is_some()
        });
        same_keys("step", tweettui::ui::step::KEYS, |k| {
            tweettui::ui::step::step_key(k).is_some()
        });
        same_keys("links", tweettui::ui::panes::links::KEYS, |k| {
            tweettui::ui::panes::links::action(k).is_some()
        });
        same_keys("in flight", tweettui::ui::panes::inflight::KEYS, |k| {
            tweettui::ui::panes::inflight::action(k).is_some()
        });
        // The input box edits with every other key: only its own keys
        // (not editing) must be listed; the editing entries edit.
        let edit = |k: &KeyEvent| input::action(k) == input::Action::Edit;
        same_keys("input box", input::KEYS, |k| {
            !edit(k) || { input::KEYS[2..4].iter().any(|e| e.matches(k)) }
        });
        // These are all the tables the help shows.
        let checked: [&[KeyHelp]; 10] = [
            tweettui::ui::panes::links::KEYS,
            timeline::KEYS,
            blocks::KEYS,
            trace::KEYS,
            popup::KEYS,
            popup::PROMPT_KEYS,
            keys::ANYWHERE,
            keys::ANY_PANE,
            cluster::DEMO,
            input::KEYS,
        ];
        let shown = help::sections(help::Mode::Demo);
        assert_eq!(shown.len(), checked.len());
        for (title, table) in shown {
            assert!(checked.contains(&table), "{title}: not checked here");
        }
    }

    /// The App after `keys` from its start: the sample, demo mode.
    fn app_after(keys: &[KeyCode]) -> App {
        let mut app = sample_app(Theme::colored(), true);
        for k in keys {
            app.feed(key(*k));
        }
        app
    }

    /// Does `k` change the screen or ask for something, in one of the
    /// states `setups` (key sequences after `focus`)?
    fn does_something(focus: &[KeyCode], setups: &[&[KeyCode]], k: KeyEvent) -> bool {
        // Where the keys go: the focus and the open popup.
        let place = |app: &App| (app.focus, app.popup.as_ref().map(std::mem::discriminant));
        let home = place(&app_after(focus));
        setups.iter().any(|setup| {
            let mut app = app_after(&[focus, setup].concat());
            if place(&app) != home {
                return false; // the setup took the keys elsewhere
            }
            let before = render(&app).backend().buffer().clone();
            let (fx, _) = app.update(Msg::Term(Event::Key(k)));
            !fx.is_empty() || *render(&app).backend().buffer() != before
        })
    }

    #[test]
    fn every_key_in_a_table_does_something_on_its_pane() {
        use KeyCode::*;
        let setups: &[&[KeyCode]] = &[
            &[],
            &[Home],
            &[End],
            &[Down, Down],
            &[Char('G')],
            &[Char('h'), Char('i'), Left],
            &[Char('/'), Char('7'), Enter],
            &[Char('1')],
        ];
        let tables: [(&str, &[KeyCode], &[KeyHelp]); 9] = [
            ("input box", &[], input::KEYS),
            ("timeline", &[Tab], timeline::KEYS),
            ("blocks", &[Tab, Tab], blocks::KEYS),
            ("trace", &[Tab, Tab, Tab], trace::KEYS),
            ("popup", &[F(1)], popup::KEYS),
            (
                "slot prompt",
                &[Tab, Tab, Tab, Char('/')],
                popup::PROMPT_KEYS,
            ),
            ("anywhere", &[Tab], keys::ANYWHERE),
            ("any pane", &[Tab], keys::ANY_PANE),
            ("demo", &[Tab], cluster::DEMO),
        ];
        for (name, focus, table) in tables {
            for entry in table {
                for k in entry.sends {
                    assert!(
                        does_something(focus, setups, k.event()),
                        "{name}: {} ({k:?}) does nothing",
                        entry.keys
                    );
                }
            }
        }
    }
}

/// SPEC 9 "Every size": the same screen at the four sizes people use.
/// At each of them the trace shows kind, slot, ballot and the start of the
/// value, and the footer keeps its first keys.
#[test]
fn every_size_keeps_what_teaches() {
    for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 60)] {
        let mut app = sample_app(Theme::colored(), true);
        app.feed(Msg::Term(Event::Resize(w, h)));
        app.feed(key(KeyCode::Tab));
        let t = render(&app);
        insta::assert_snapshot!(format!("every_size_{w}x{h}"), t.backend());
        let text = screen_text(&t);
        assert!(
            text.lines().any(|l| l.contains("commit")
                && l.contains("#7")
                && l.contains("(1,alice) alice: al")),
            "{w}x{h}: no readable trace row:\n{text}"
        );
        let footer = text.lines().last().unwrap_or("");
        for k in ["↑↓", "b block", "? help", "Tab"] {
            assert!(
                footer.contains(k),
                "{w}x{h}: {k} missing from the footer: {footer}"
            );
        }
    }
}

/// Issue 12: End, shrink to 60x16, grow back to 120x40: every tweet shows
/// again (none stay hidden above empty rows).
#[test]
fn a_resize_round_trip_shows_every_tweet_again() {
    let mut app = sample_app(Theme::colored(), false);
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::End));
    app.feed(Msg::Term(Event::Resize(60, 16)));
    let small = screen_text(&render(&app));
    assert!(small.contains("▶ alice  15:06:50"), "{small}");
    assert!(!small.contains("15:07:40"), "{small}");
    assert!(
        small.contains("· ↑4"),
        "no count of the tweets above:\n{small}"
    );
    app.feed(Msg::Term(Event::Resize(120, 40)));
    let text = screen_text(&render(&app));
    for t in [
        "alice  15:07:40",
        "dave  15:07:20",
        "carol  15:07:10",
        "bob  15:07:00",
        "alice  15:06:50",
    ] {
        assert!(text.contains(t), "{t} hidden after the resize:\n{text}");
    }
    assert_eq!(app.site().timeline.offset, 0);
    assert!(
        text.contains("▶ alice  15:06:50"),
        "the oldest stays selected:\n{text}"
    );
}

/// Issue 12: at 80x24 the help wraps its long lines (nothing is cut at the
/// popup's edge) and its scrolling reaches the last line.
#[test]
fn the_help_wraps_at_80x24() {
    let mut app = sample_app(Theme::colored(), true);
    app.feed(Msg::Term(Event::Resize(80, 24)));
    app.feed(key(KeyCode::F(1)));
    let t = render(&app);
    insta::assert_snapshot!("help_popup_80x24", t.backend());
    let mut seen = String::new();
    for _ in 0..40 {
        let text = screen_text(&render(&app));
        for line in text.lines().skip(3).take(18) {
            // Inside the popup's borders, at most the last cell is blank.
            let inner: String = line.chars().skip(4).take(72).collect();
            seen.push_str(inner.trim());
            seen.push(' ');
        }
        app.feed(key(KeyCode::PageDown));
    }
    let seen = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    for whole in [
        "every site on the whole screen: d the space-time diagram (a column per site, an arrow per message), l the log grid (slots by sites: promised, accepted, decided); again: back",
        "cycle the kind filter: synod (default: heartbeat, forward and fetch plumbing hidden), all, one kind, events",
        "ballots are (round,site); k/n in the per-slot view: votes of n sites, ✓ a quorum",
        "/tweet <text> tweet the text (always, even if it looks like a command)",
    ] {
        assert!(seen.contains(whole), "cut: {whole}\n{seen}");
    }
}

/// Below 110 columns the trace is under the timeline, full width, and the
/// focused one of the two gets two thirds of the rows (Tab switches).
#[test]
fn a_narrow_layout_grows_the_focused_pane() {
    let mut app = sample_app(Theme::colored(), true);
    app.feed(Msg::Term(Event::Resize(80, 24)));
    let rows = |app: &App| {
        let a = app.areas().unwrap();
        (a.timeline.height, a.trace.height, a.trace.width)
    };
    assert_eq!(rows(&app), (9, 9, 80));
    app.feed(key(KeyCode::Tab));
    assert_eq!(rows(&app), (12, 6, 80));
    app.feed(key(KeyCode::Tab));
    app.feed(key(KeyCode::Tab));
    assert_eq!(app.focus, tweettui::ui::Focus::Trace);
    assert_eq!(rows(&app), (6, 12, 80));
    let t = render(&app);
    insta::assert_snapshot!("trace_focused_80x24", t.backend());
    let text = screen_text(&t);
    let full = text
        .lines()
        .filter(|l| l.contains("commit   #7   (1,alice) alice: alice again, newest"))
        .count();
    assert_eq!(full, 4, "{text}");
}

/// Each row's text, then its runs of one style (fg, bg, modifiers): a
/// snapshot that records the colours too.
fn styled_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let text = screen_text(terminal);
    let mut out = String::new();
    for (y, line) in text.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..buf.area.width {
            let c = &buf[(x, y as u16)];
            let style = format!("{:?}/{:?}/{:?}", c.fg, c.bg, c.modifier);
            match runs.last_mut() {
                Some((_, end, s)) if *s == style => *end = x,
                _ => runs.push((x, x, style)),
            }
        }
        let runs: Vec<String> = runs
            .into_iter()
            .map(|(a, b, s)| format!("{a}-{b} {s}"))
            .collect();
        out.push_str(&format!("    {}\n", runs.join(" | ")));
    }
    out
}

/// Issue 12 item 5: a theme for dark terminals, one for light ones and a
/// high-contrast one for projectors (NO_COLOR still wins: see
/// `no_color_means_no_colours_but_a_visible_selection`). A snapshot of
/// each with its styles, and the cells that matter checked: the selected
/// row and the status bar.
#[test]
fn every_theme_shows_the_selection_and_the_status_bar() {
    use ratatui::style::Modifier;
    use tweettui::ui::ThemeName;
    let cases = [
        (
            ThemeName::Dark,
            (Color::White, Color::Rgb(30, 30, 46)),
            Color::Rgb(40, 60, 90),
        ),
        (
            ThemeName::Light,
            (Color::Black, Color::Rgb(215, 222, 235)),
            Color::Rgb(190, 215, 255),
        ),
        (
            ThemeName::HighContrast,
            (Color::White, Color::Blue),
            Color::LightYellow,
        ),
    ];
    for (name, (status_fg, status_bg), selected_bg) in cases {
        let mut app = sample_app(Theme::named(name), true);
        app.feed(Msg::Term(Event::Resize(80, 24)));
        app.feed(key(KeyCode::Tab));
        app.feed(key(KeyCode::Down));
        let t = render(&app);
        insta::assert_snapshot!(format!("theme_{}", name.name()), styled_text(&t));
        let buf = t.backend().buffer();
        let text = screen_text(&t);
        assert_eq!(
            (buf[(0, 0)].fg, buf[(0, 0)].bg),
            (status_fg, status_bg),
            "{name:?}"
        );
        let y = text.lines().position(|l| l.contains("▶ dave")).unwrap() as u16;
        let x = text
            .lines()
            .nth(y as usize)
            .unwrap()
            .chars()
            .position(|c| c == '▶')
            .unwrap() as u16;
        let sel = &buf[(x, y)];
        assert_eq!(sel.bg, selected_bg, "{name:?}");
        assert!(sel.modifier.contains(Modifier::BOLD), "{name:?}");
        // Every cell but those a wide character covers (the terminal draws
        // those with the wide character's style).
        let covered: Vec<bool> = buf
            .content
            .iter()
            .scan(0usize, |skip, c| {
                let hidden = *skip > 0;
                *skip = if hidden {
                    *skip - 1
                } else {
                    ratatui::text::Span::raw(c.symbol())
                        .width()
                        .saturating_sub(1)
                };
                Some(hidden)
            })
            .collect();
        let cells = || {
            buf.content
                .iter()
                .zip(covered.iter())
                .filter(|(_, hidden)| !**hidden)
                .map(|(c, _)| c)
        };
        match name {
            ThemeName::Light => {
                // Nothing pale to read on white.
                let pale = [Color::White, Color::Yellow, Color::LightYellow, Color::Gray];
                assert!(cells().all(|c| !pale.contains(&c.fg)), "{name:?}");
                assert_eq!(sel.fg, Color::Black);
            }
            ThemeName::HighContrast => {
                // Its own black background everywhere, ANSI colours only.
                assert_eq!(buf[(30, 12)].bg, Color::Black, "{text}");
                assert!(cells().all(|c| !matches!(c.fg, Color::Rgb(..) | Color::Reset)));
                assert!(cells().all(|c| !matches!(c.bg, Color::Rgb(..) | Color::Reset)));
                assert_eq!(sel.fg, Color::Black);
            }
            ThemeName::Dark => {}
        }
        // The help popup keeps the theme's background.
        app.feed(key(KeyCode::F(1)));
        let t = render(&app);
        let buf = t.backend().buffer();
        if name == ThemeName::HighContrast {
            assert!(buf.content.iter().all(|c| c.bg != Color::Reset));
        }
    }
}
