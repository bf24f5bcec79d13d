//! What the App shows when something goes wrong with a site: a decided
//! slot its copy of the state cannot apply, a demo site that stopped by
//! itself, and the typed answers to its requests.

use super::{App, AppConfig, Effect, Msg};
use crate::paxos::{DecidedEntry, Membership};
use crate::site::api::{Answer, Refusal, SiteEvent, Status};
use crate::state::op::Value;
use crate::state::State;
use crate::ui::clock::Clock;
use crate::ui::cluster::DemoEvent;
use crate::ui::panes::popup::Popup;
use crate::ui::panes::Level;
use crate::ui::theme::Theme;
use chrono::{FixedOffset, TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

const NAMES: [&str; 2] = ["alice", "bob"];

fn app(demo: bool) -> App {
    let now = Utc
        .timestamp_opt(1_750_000_000, 0)
        .single()
        .expect("a valid time");
    App::new(AppConfig {
        names: NAMES.map(String::from).to_vec(),
        shown: 0,
        hosted: if demo { vec![0, 1] } else { vec![0] },
        demo,
        theme: Theme::colored(),
        clock: Clock::Fixed {
            now,
            offset: FixedOffset::east_opt(0).expect("UTC"),
        },
        mouse_capture: false,
        size: (120, 40),
    })
}

fn snapshot(state: State) -> Msg {
    let status = Status {
        site: 0,
        name: "alice".into(),
        decided: state.next_slot(),
        leader: None,
        membership: Membership::Voting,
        ballot: None,
        peers: Vec::new(),
    };
    Msg::Site(
        0,
        SiteEvent::Snapshot {
            state: Box::new(state),
            status,
        },
    )
}

fn note(app: &App) -> (Level, String) {
    let n = app.note.clone().expect("a message");
    (n.level, n.text)
}

/// Types `line` and presses Enter: the request it sends, with its tag.
fn send(app: &mut App, line: &str) -> u64 {
    for c in line.chars() {
        app.feed(Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))));
    }
    let enter = Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Enter,
        KeyModifiers::NONE,
    )));
    let (fx, _) = app.update(enter);
    match &fx[..] {
        [Effect::Request { tag, .. }] => *tag,
        other => panic!("no request: {other:?}"),
    }
}

/// The site applied a slot that the UI's copy of its state cannot: the UI
/// logs it and says so on its message line, and its copy stays as it was.
#[test]
fn a_decided_slot_the_ui_cannot_apply_is_logged_and_shown() {
    let mut app = app(false);
    // A state at the last slot there can be: no slot can be applied to it.
    let last = serde_json::json!({"users": NAMES, "next_slot": u64::MAX});
    let state: State = serde_json::from_value(last).expect("a valid checkpoint");
    app.feed(snapshot(state));
    let committed = Msg::Site(
        0,
        SiteEvent::Committed {
            slot: u64::MAX,
            value: Value::noop(),
        },
    );
    let ((), logs) = crate::logs::captured(|| app.feed(committed));
    let (level, text) = note(&app);
    assert_eq!(level, Level::Error);
    let want = format!(
        "alice: cannot apply decided slot {}: slot {} is the last",
        u64::MAX,
        u64::MAX
    );
    assert!(text.contains(&want), "{text}");
    assert!(logs.contains("ERROR") && logs.contains(&want), "{logs}");
    let st = app.site().state.as_ref().expect("the snapshot");
    assert_eq!(st.next_slot(), u64::MAX);
}

/// A demo site that stopped by itself (its runtime failed to apply a slot,
/// say) is shown as an error with the reason; a crash asked for is news.
#[test]
fn a_demo_site_that_stops_by_itself_is_an_error_with_its_reason() {
    let mut app = app(true);
    let reason = "cannot apply decided slot 3: slot 3 applied out of order";
    app.feed(Msg::Demo(DemoEvent::Down {
        site: 1,
        reason: Some(reason.into()),
    }));
    assert_eq!(note(&app), (Level::Error, format!("bob stopped: {reason}")));
    assert!(!app.sites[1].up);
    app.feed(Msg::Demo(DemoEvent::Down {
        site: 0,
        reason: None,
    }));
    let (level, text) = note(&app);
    assert_eq!(level, Level::Info);
    assert!(text.starts_with("alice crashed"), "{text}");
}

/// A tweet's answer shows its slot; a refusal its code and reason; a log
/// answer opens the popup with a line per operation and per no-op.
#[test]
fn typed_answers_show_on_the_message_line_and_in_the_log() {
    let mut app = app(false);
    app.feed(snapshot(State::new(NAMES.map(String::from).to_vec())));
    let tag = send(&mut app, "hello");
    app.feed(Msg::Reply {
        tag,
        reply: Ok(Answer::Decided { slot: 4, index: 1 }),
    });
    assert_eq!(
        note(&app),
        (Level::Ok, "✓ tweet decided in slot 4: \"hello\"".into())
    );
    let tag = send(&mut app, "/block bob");
    app.feed(Msg::Reply {
        tag,
        reply: Err(Refusal::refused("alice already blocks bob")),
    });
    assert_eq!(
        note(&app),
        (
            Level::Error,
            "✗ block bob failed (409): alice already blocks bob".into()
        )
    );
    let tag = send(&mut app, "/log");
    app.feed(Msg::Reply {
        tag,
        reply: Ok(Answer::Log(vec![DecidedEntry {
            slot: 0,
            value: Value::noop(),
        }])),
    });
    let Some(Popup::Log { lines, .. }) = &app.popup else {
        panic!("no log popup: {:?}", app.popup)
    };
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0].slot, lines[0].author.as_deref()), (0, None));
    assert_eq!(lines[0].what, "no-op");
}

/// A decided slot holding `op` as alice's operation number `seq`.
fn decided(app: &mut App, slot: u64, seq: u64, op: crate::state::op::Op) {
    use crate::state::op::{Command, OpId};
    let id = OpId {
        site: 0,
        boot: 1,
        seq,
    };
    let value = Value::batch(vec![Command { id, op }]);
    app.feed(Msg::Site(0, SiteEvent::Committed { slot, value }));
}

fn not_in_time() -> Refusal {
    Refusal::unavailable("not decided in time: no quorum reachable")
}

/// Issue 12: a 503 puts the tweet back in the box and keeps it, in doubt,
/// above the timeline; decided later after all, the message line says so
/// (no stale ✗), the box is cleared of it and the row goes.
#[test]
fn a_tweet_answered_503_and_decided_later_says_so() {
    use crate::state::op::Op;
    let mut app = app(false);
    app.feed(snapshot(State::new(NAMES.map(String::from).to_vec())));
    let tag = send(&mut app, "hello quorum");
    assert_eq!(app.input_text(), "");
    app.feed(Msg::Reply {
        tag,
        reply: Err(not_in_time()),
    });
    assert_eq!(app.input_text(), "hello quorum");
    let (level, text) = note(&app);
    assert_eq!(level, Level::Error);
    assert!(
        text.starts_with("✗ tweet not decided yet (503) · the text is back in the box"),
        "{text}"
    );
    let rows: Vec<(&str, bool)> = app.pending_tweets().collect();
    assert_eq!(rows, vec![("hello quorum", true)]);
    // Someone else's slot with the same text is not ours.
    let tweet = |user: &str, text: &str| Op::Tweet {
        user: user.into(),
        text: text.into(),
        time: Utc.timestamp_opt(1_750_000_000, 0).unwrap(),
    };
    let other = crate::state::op::Command {
        id: crate::state::op::OpId {
            site: 1,
            boot: 1,
            seq: 1,
        },
        op: tweet("bob", "hello quorum"),
    };
    let value = Value::batch(vec![other]);
    app.feed(Msg::Site(0, SiteEvent::Committed { slot: 0, value }));
    assert_eq!(app.pending_tweets().count(), 1);
    assert_eq!(note(&app).0, Level::Error);
    // Ours, decided after all.
    decided(&mut app, 1, 1, tweet("alice", "hello quorum"));
    assert_eq!(
        note(&app),
        (
            Level::Ok,
            "✓ your tweet from earlier was decided after all in slot 1: \"hello quorum\" (cleared from the box)".into()
        )
    );
    assert_eq!(app.input_text(), "");
    assert_eq!(app.pending_tweets().count(), 0);
}

/// A 503 does not overwrite what the box holds meanwhile; a block answered
/// 503 shows in doubt in the block list until decided; a 409 is a no.
#[test]
fn a_block_answered_503_is_in_doubt_until_decided() {
    use crate::state::op::Op;
    let mut app = app(false);
    app.feed(snapshot(State::new(NAMES.map(String::from).to_vec())));
    let tag = send(&mut app, "first");
    send_keys(&mut app, "typing on");
    app.feed(Msg::Reply {
        tag,
        reply: Err(not_in_time()),
    });
    assert_eq!(app.input_text(), "typing on");
    assert!(!note(&app).1.contains("back in the box"));
    clear_box(&mut app);
    let tag = send(&mut app, "/block bob");
    app.feed(Msg::Reply {
        tag,
        reply: Err(not_in_time()),
    });
    assert_eq!(app.input_text(), "");
    let rows = app.block_rows();
    assert_eq!(rows[0].pending, Some("block not decided yet (503)"));
    // Blocking again is allowed (the first may never be decided).
    let again = send(&mut app, "/block bob");
    decided(
        &mut app,
        0,
        2,
        Op::Block {
            user: "alice".into(),
            target: "bob".into(),
        },
    );
    let (level, text) = note(&app);
    assert_eq!(level, Level::Ok);
    assert_eq!(
        text,
        "✓ your block of bob from earlier was decided after all in slot 0"
    );
    assert_eq!(app.block_rows()[0].pending, Some("blocking…"));
    app.feed(Msg::Reply {
        tag: again,
        reply: Err(Refusal::refused("alice already blocks bob")),
    });
    assert!(app.block_rows()[0].blocked);
    assert_eq!(app.block_rows()[0].pending, None);
}

fn send_keys(app: &mut App, text: &str) {
    for c in text.chars() {
        app.feed(Msg::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))));
    }
}

fn clear_box(app: &mut App) {
    app.feed(Msg::Term(Event::Key(KeyEvent::new(
        KeyCode::Esc,
        KeyModifiers::NONE,
    ))));
    assert_eq!(app.input_text(), "");
}
