//! `tweettui replay` (SPEC 9): recordings merged and played in the demo's
//! screen with a time slider. A real three-site cluster recorded and
//! replayed gives the decided log the sites have; two sites' files merge
//! with a receive after its send though the receiver's clock is behind;
//! the replay screen at 80x24 and 120x40 (insta snapshots); submissions
//! are refused.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tweettui::paxos::{Ballot, MsgKind};
use tweettui::site::api::record::{self, Event, Msg, Recorder, What};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::ui::replay::{self, Player};
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, Clock, Msg as UiMsg};

const T0: u64 = 1_750_000_000_000;

fn names() -> Vec<String> {
    ["alice", "bob", "carol"].map(String::from).to_vec()
}

/// The `log` answer's rows (SPEC 8) for the player's decided values, as
/// the control endpoint writes them.
fn log_rows(values: &[Value]) -> serde_json::Value {
    let entries = values
        .iter()
        .enumerate()
        .map(|(slot, value)| tweettui::paxos::DecidedEntry {
            slot: slot as u64,
            value: value.clone(),
        })
        .collect();
    let reply = Ok(tweettui::site::api::Answer::Log(entries));
    tweettui::site::control::to_wire(&reply).body
}

/// Three real sites record to one file while they decide tweets and a
/// block (one site cut off for a while); the replay's decided log is the
/// one every site answers, and the replay at its end shows each site's
/// timeline as the site has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_cluster_replays_to_the_same_decided_log() {
    use tweettui::config::Config;
    use tweettui::site::api::{FaultSpec, Request};
    use tweettui::site::runtime::{start, SiteOptions};
    let dir = tempfile::tempdir().unwrap();
    let config = Config::loopback(3).unwrap();
    let path = dir.path().join("run.jsonl");
    let rec = Recorder::create(&path, config.names(), record::DEFAULT_LIMIT).unwrap();
    let mut sites = Vec::new();
    for i in 0..3 {
        let opts = SiteOptions {
            config: config.clone(),
            site: i,
            data_dir: dir.path().join(i.to_string()),
            record: Some(rec.clone()),
        };
        sites.push(start(opts, None).await.unwrap());
    }
    let ok = |r: tweettui::site::api::Reply| assert!(r.is_ok(), "{r:?}");
    ok(sites[0].client.request(Request::Tweet("one".into())).await);
    ok(sites[1].client.request(Request::Tweet("two".into())).await);
    let cut = FaultSpec {
        drop_to: vec![0, 1],
        drop_from: vec![0, 1],
        ..FaultSpec::default()
    };
    ok(sites[2].client.request(Request::Fault(cut)).await);
    ok(sites[0].client.request(Request::Block("bob".into())).await);
    ok(sites[1]
        .client
        .request(Request::Tweet("three".into()))
        .await);
    ok(sites[2]
        .client
        .request(Request::Fault(FaultSpec::default()))
        .await);
    ok(sites[2].client.request(Request::Tweet("four".into())).await);
    let log = Request::Log {
        from: None,
        to: None,
    };
    let live = tweettui::site::api::Answer::whole(sites[0].client.request(log).await).await;
    assert!(live.is_ok(), "{live:?}");
    for s in sites {
        s.stop().await.unwrap();
    }
    drop(rec);
    // The same file as a Mermaid diagram of slot 0 (issue "see a round",
    // export): the slot's accepts and acks between the three sites, and its
    // decision.
    let mermaid = replay::export_files(
        std::slice::from_ref(&path),
        &(0..=0),
        replay::export::Format::Mermaid,
    )
    .unwrap();
    assert!(
        mermaid.starts_with("sequenceDiagram\n    participant alice\n"),
        "{mermaid}"
    );
    for needle in ["->>", "accept no. 0", "ack no. 0", "decided slot 0"] {
        assert!(mermaid.contains(needle), "no {needle}:\n{mermaid}");
    }
    assert!(!mermaid.contains("no. 1 "), "only slot 0:\n{mermaid}");
    let player = replay::load(&[path]).unwrap();
    // What the control endpoint sends for that answer.
    let live = tweettui::site::control::to_wire(&live);
    assert_eq!(log_rows(&player.log), live.body);
    assert!(player.log.len() >= 5, "{}", player.log.len());
    // At the end, alice has every slot applied and sees every tweet; bob
    // does not see alice's (she blocks him).
    let mut app = replay::app(player, Theme::colored(), clock(), (120, 40));
    app.feed(key(KeyCode::End));
    let st = app.site().state.clone().unwrap();
    assert_eq!(
        st.next_slot() as usize,
        app.replay.as_ref().unwrap().player.log.len()
    );
    let texts: Vec<String> = st.timeline("alice").map(|t| t.text.to_string()).collect();
    assert_eq!(texts, ["four", "three", "two", "one"]);
    app.feed(key(KeyCode::Char('2')));
    let st = app.site().state.clone().unwrap();
    let texts: Vec<String> = st.timeline("bob").map(|t| t.text.to_string()).collect();
    assert_eq!(texts, ["four", "three", "two"]);
}

fn clock() -> Clock {
    Clock::Fixed {
        now: chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap(),
        offset: chrono::FixedOffset::east_opt(0).unwrap(),
    }
}

fn key(code: KeyCode) -> UiMsg {
    UiMsg::Term(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn msg(kind: MsgKind, slot: u64, b: Ballot, value: Option<&str>) -> Msg {
    Msg {
        kind,
        slot: Some(slot),
        ballot: Some(b),
        value: value.map(str::to_string),
    }
}

/// A short run on one clock: alice is elected, decides bob's tweet in
/// slot 0 and her own in slot 1 (all three sites decide both).
fn a_run() -> Vec<Event> {
    let mut out = Vec::new();
    let mut t = T0;
    let mut seq = std::collections::HashMap::new();
    let mut ev = |out: &mut Vec<Event>, site: u32, what: What| {
        t += 7;
        out.push(Event { t, site, what });
    };
    let b = Ballot::new(1, 0);
    let mut deliver = |out: &mut Vec<Event>,
                       from: u32,
                       to: &[u32],
                       m: &Msg,
                       ev: &mut dyn FnMut(&mut Vec<Event>, u32, What)| {
        for &x in to {
            let s = seq.entry((from, x)).or_insert(0u64);
            *s += 1;
            let (s, msg) = (*s, m.clone());
            ev(out, from, What::Send { to: x, seq: s, msg });
            let msg = m.clone();
            ev(
                out,
                x,
                What::Receive {
                    from,
                    seq: Some(s),
                    msg,
                },
            );
        }
    };
    ev(
        &mut out,
        0,
        What::Election {
            ballot: b,
            from_slot: 0,
        },
    );
    deliver(
        &mut out,
        0,
        &[1, 2],
        &msg(MsgKind::Prepare, 0, b, None),
        &mut ev,
    );
    for s in 1..3 {
        ev(&mut out, s, What::Promised { ballot: b });
        deliver(
            &mut out,
            s,
            &[0],
            &msg(MsgKind::Promise, 0, b, None),
            &mut ev,
        );
    }
    ev(
        &mut out,
        0,
        What::Leader {
            leader: Some(0),
            ballot: b,
        },
    );
    let values = [
        tweet(1, 1, "bob: hello from bob"),
        tweet(0, 2, "alice: hi all"),
    ];
    for (slot, (v, text)) in values.iter().enumerate() {
        let slot = slot as u64;
        let text = text.as_str();
        ev(
            &mut out,
            0,
            What::Proposed {
                slot,
                ballot: b,
                value: text.into(),
                recovered: false,
            },
        );
        deliver(
            &mut out,
            0,
            &[1, 2],
            &msg(MsgKind::Accept, slot, b, Some(text)),
            &mut ev,
        );
        for s in 0..3 {
            ev(
                &mut out,
                s,
                What::Accepted {
                    slot,
                    ballot: b,
                    value: text.into(),
                },
            );
        }
        deliver(
            &mut out,
            1,
            &[0],
            &msg(MsgKind::Ack, slot, b, None),
            &mut ev,
        );
        deliver(
            &mut out,
            0,
            &[1, 2],
            &msg(MsgKind::Commit, slot, b, Some(text)),
            &mut ev,
        );
        for s in 0..3 {
            let full = Some(v.clone());
            ev(
                &mut out,
                s,
                What::Decided {
                    slot,
                    value: text.into(),
                    own: None,
                    full,
                },
            );
        }
    }
    out
}

/// A one-tweet value, and its summary.
fn tweet(site: u32, seq: u64, text: &str) -> (Value, String) {
    let (user, text) = text.split_once(": ").unwrap();
    let v = Value::batch(vec![Command {
        id: OpId { site, boot: 1, seq },
        op: Op::Tweet {
            user: user.into(),
            text: text.into(),
            time: chrono::DateTime::from_timestamp(1_750_000_000 - 60 + seq as i64, 0).unwrap(),
        },
    }]);
    (v, format!("{user}: {text}"))
}

fn render(app: &App) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|f| draw(app, f)).unwrap();
    terminal
}

fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

fn replay_app(size: (u16, u16)) -> App {
    let player = Player::new(names(), replay::merge::merge(vec![a_run()]));
    replay::app(player, Theme::colored(), clock(), size)
}

/// The slider at the first decision of slot 0: bob's tweet is in the
/// timeline, alice's is not yet; the trace shows the rows up to there.
#[test]
fn the_replay_screen_with_its_slider() {
    for size in [(80, 24), (120, 40)] {
        let mut app = replay_app(size);
        let len = app.replay.as_ref().unwrap().player.len();
        let screen = text(&render(&app));
        assert!(screen.contains(&format!("0/{len}")), "{screen}");
        for _ in 0..2 {
            app.feed(key(KeyCode::Char(']')));
        }
        let r = app.replay.as_ref().unwrap();
        assert_eq!(
            r.player.events[r.pos() - 1].what.clone(),
            What::Decided {
                slot: 0,
                value: "bob: hello from bob".into(),
                own: None,
                full: Some(tweet(1, 1, "bob: hello from bob").0),
            }
        );
        let t = render(&app);
        let screen = text(&t);
        assert!(screen.contains("hello from bob"), "{screen}");
        assert!(!screen.contains("hi all"), "{screen}");
        insta::assert_snapshot!(format!("replay_{}x{}", size.0, size.1), t.backend());
        // A step back: the decision is undone, the tweet gone from the
        // timeline (the trace still shows the value proposed).
        app.feed(key(KeyCode::Left));
        assert!(screen.contains("bob  15:05:41"), "{screen}");
        assert!(!text(&render(&app)).contains("bob  15:05:41"));
        // The end: both tweets.
        app.feed(key(KeyCode::End));
        let screen = text(&render(&app));
        assert!(screen.contains(&format!("{len}/{len}")), "{screen}");
        assert!(screen.contains("hi all") && screen.contains("hello from bob"));
    }
}

/// Space plays at the recorded pace times the speed; `+` speeds it up.
#[test]
fn playing_moves_the_slider_with_the_recorded_time() {
    let mut app = replay_app((120, 40));
    app.feed(key(KeyCode::Char(' ')));
    // Events are 7 ms apart: 70 ms at 1× is the first and 10 more.
    app.feed(UiMsg::Tick { ms: 70 });
    assert_eq!(app.replay.as_ref().unwrap().pos(), 11);
    app.feed(key(KeyCode::Char('+')));
    app.feed(UiMsg::Tick { ms: 35 });
    assert_eq!(app.replay.as_ref().unwrap().pos(), 21);
    app.feed(key(KeyCode::Char(' ')));
    app.feed(UiMsg::Tick { ms: 1000 });
    assert_eq!(app.replay.as_ref().unwrap().pos(), 21);
}

/// Nothing is submitted in a replay: a tweet typed is refused, and says so.
#[test]
fn submissions_are_refused_in_a_replay() {
    let mut app = replay_app((80, 24));
    app.feed(key(KeyCode::Char('i')));
    for c in "hello".chars() {
        app.feed(key(KeyCode::Char(c)));
    }
    let (fx, _) = app.update(key(KeyCode::Enter));
    assert!(fx.is_empty(), "{fx:?}");
    let note = app.note.clone().unwrap().text;
    assert!(note.contains("a replay plays a recording"), "{note}");
    assert_eq!(app.input_text(), "hello");
}

/// Two sites' files, bob's clock 40 ms behind alice's: bob's receive says
/// it came before alice's send; merged, it comes after.
#[test]
fn two_files_merge_a_receive_after_its_send() {
    let dir = tempfile::tempdir().unwrap();
    let b = Ballot::new(1, 0);
    let m = msg(MsgKind::Prepare, 0, b, None);
    let write = |name: &str, events: Vec<Event>| {
        let path = dir.path().join(name);
        let rec = Recorder::create(&path, names(), record::DEFAULT_LIMIT).unwrap();
        for e in &events {
            rec.record(e);
        }
        path
    };
    let alice = write(
        "alice.jsonl",
        vec![
            Event {
                t: T0 + 100,
                site: 0,
                what: What::Election {
                    ballot: b,
                    from_slot: 0,
                },
            },
            Event {
                t: T0 + 101,
                site: 0,
                what: What::Send {
                    to: 1,
                    seq: 1,
                    msg: m.clone(),
                },
            },
        ],
    );
    let bob = write(
        "bob.jsonl",
        vec![
            Event {
                t: T0 + 61,
                site: 1,
                what: What::Receive {
                    from: 0,
                    seq: Some(1),
                    msg: m.clone(),
                },
            },
            Event {
                t: T0 + 62,
                site: 1,
                what: What::Promised { ballot: b },
            },
        ],
    );
    let player = replay::load(&[bob, alice]).unwrap();
    let kinds: Vec<&str> = player
        .events
        .iter()
        .map(|e| match e.what {
            What::Election { .. } => "election",
            What::Send { .. } => "send",
            What::Receive { .. } => "receive",
            _ => "promised",
        })
        .collect();
    assert_eq!(kinds, ["election", "send", "receive", "promised"]);
    // A version 1 file is refused with the reason.
    let old = dir.path().join("old.jsonl");
    std::fs::write(
        &old,
        "{\"format\":\"tweettui-record\",\"version\":1,\"sites\":[],\"started_ms\":0}\n",
    )
    .unwrap();
    let e = format!("{:#}", replay::load(&[old]).err().unwrap());
    assert!(e.contains("version 1"), "{e}");
}

/// The README's example (a leader crashes after its accept) is a real
/// recording in the repository: it loads, bob recovers alice's value for
/// slot 1 after her crash, every site decides it, and safety holds.
#[test]
fn the_readme_leader_crash_recording_shows_a_recovered_value() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/recordings/leader-crash.jsonl");
    let player = replay::load(&[path]).expect("the shipped recording loads");
    let crashed = player
        .events
        .iter()
        .position(|e| e.site == 0 && matches!(e.what, What::Crashed))
        .expect("alice crashes");
    let recovered = player
        .events
        .iter()
        .position(|e| {
            e.site == 1
                && matches!(&e.what, What::Proposed { slot: 1, recovered: true, value, .. }
                    if value == "alice: this value survives")
        })
        .expect("bob recovers alice's value for slot 1");
    assert!(crashed < recovered);
    // The README's captures are at event 404: just after the recovery.
    assert_eq!(recovered + 1, 404);
    let decided_slot_1: Vec<u32> = player
        .events
        .iter()
        .filter(|e| {
            matches!(&e.what, What::Decided { slot: 1, value, .. }
                if value.contains("this value survives"))
        })
        .map(|e| e.site)
        .collect();
    assert_eq!(decided_slot_1, vec![1, 2, 3, 4], "{decided_slot_1:?}");
    assert_eq!(player.safety_at(player.len()), (3, None));
}
