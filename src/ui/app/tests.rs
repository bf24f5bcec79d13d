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
