//! The demo's link matrix (issue 11 item 4): the popup drawn at 80x24 and
//! 120x40 (insta snapshots of the popup's box), the commands its keys send
//! and what the App makes of the demo's answer (the trace notes, the
//! cut-off flags, consistent with `c`).

use chrono::{FixedOffset, TimeZone, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tweettui::site::api::{PeerStatus, SiteEvent, Status};
use tweettui::state::State;
use tweettui::ui::cluster::{DemoCmd, DemoEvent};
use tweettui::ui::links::{Links, Preset};
use tweettui::ui::panes::popup::{self, Popup};
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, AppConfig, Clock, Effect, Msg};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

fn status(site: u32, leader: u32) -> Status {
    Status {
        site,
        name: NAMES[site as usize].to_string(),
        decided: 0,
        leader: Some(leader),
        membership: tweettui::paxos::Membership::Voting,
        ballot: None,
        peers: (0..5u32)
            .filter(|&p| p != site)
            .map(|p| PeerStatus {
                site: p,
                name: NAMES[p as usize].to_string(),
                connected: true,
            })
            .collect(),
    }
}

/// A demo App of five sites, carol (site 3) leading, at `size`.
fn app(size: (u16, u16)) -> App {
    let mut app = App::new(AppConfig {
        names: names(),
        shown: 0,
        hosted: (0..5).collect(),
        demo: true,
        theme: Theme::colored(),
        clock: Clock::Fixed {
            now: Utc.timestamp_opt(1_750_000_000, 0).unwrap(),
            offset: FixedOffset::east_opt(0).unwrap(),
        },
        mouse_capture: true,
        size,
    });
    for s in 0..5 {
        app.feed(Msg::Site(
            s,
            SiteEvent::Snapshot {
                state: Box::new(State::new(names())),
                status: status(s as u32, 2),
            },
        ));
    }
    app
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Term(Event::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
    .0
}

/// The links the keys asked the demo for (the last `DemoCmd::Links`).
fn asked(fx: &[Effect]) -> Option<(Links, String)> {
    fx.iter().rev().find_map(|e| match e {
        Effect::Demo(DemoCmd::Links { links, why }) => Some((links.clone(), why.clone())),
        _ => None,
    })
}

/// Answers what was asked as the demo does.
fn carry_out(app: &mut App, fx: &[Effect]) {
    if let Some((links, why)) = asked(fx) {
        app.feed(Msg::Demo(DemoEvent::Links { links, why }));
    }
}

/// The popup's box as text.
fn popup_text(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| draw(app, f)).unwrap();
    let buf = t.backend().buffer();
    let r = popup::area(buf.area);
    let mut out = String::new();
    for y in r.y..r.y + r.height {
        let mut skip = 0;
        for x in r.x..r.x + r.width {
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

/// The matrix after a few keys: alice→carol down, bob↔dave down, erin
/// lossy and slow.
fn matrix_at(size: (u16, u16)) -> App {
    let mut app = app(size);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('m'));
    assert!(matches!(app.popup, Some(Popup::Links { cursor: (0, 1) })));
    // alice → carol.
    press(&mut app, KeyCode::Right);
    let fx = press(&mut app, KeyCode::Char(' '));
    carry_out(&mut app, &fx);
    // bob ↔ dave.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Right);
    let fx = press(&mut app, KeyCode::Char('b'));
    carry_out(&mut app, &fx);
    // erin: 20 % loss, 100 ms.
    for k in [KeyCode::Down, KeyCode::Down, KeyCode::Down] {
        press(&mut app, k);
    }
    for k in ['l', 'l', 'd', 'd'] {
        let fx = press(&mut app, KeyCode::Char(k));
        carry_out(&mut app, &fx);
    }
    app
}

#[test]
fn link_matrix_80x24() {
    insta::assert_snapshot!(popup_text(&matrix_at((80, 24))));
}

#[test]
fn link_matrix_120x40() {
    insta::assert_snapshot!(popup_text(&matrix_at((120, 40))));
}

#[test]
fn the_keys_ask_for_exactly_the_links_they_show() {
    let app = matrix_at((120, 40));
    let l = &app.links;
    let down: Vec<(usize, usize)> = (0..5)
        .flat_map(|a| (0..5).map(move |b| (a, b)))
        .filter(|&(a, b)| l.is_down(a, b))
        .collect();
    assert_eq!(down, vec![(0, 2), (1, 3), (3, 1)]);
    assert_eq!((l.loss(4), l.delay(4)), (20, 100));
    let f = l.filters();
    let drops = |i: usize| (f[i].drop_to.clone(), f[i].drop_from.clone());
    assert_eq!(drops(0), (vec![2], vec![]));
    assert_eq!(drops(2), (vec![], vec![0]));
    assert_eq!(drops(1), (vec![3], vec![3]));
    assert_eq!((f[4].loss, f[4].delay_ms), (0.2, 100));
    // Each changed site noted its new filter in its trace.
    let notes = |i: usize| format!("{:?}", app.sites[i].trace);
    assert!(notes(0).contains("filter (link alice→carol down): drop →3"));
    assert!(notes(2).contains("drop ←1"));
    assert!(notes(4).contains("+100ms"));
}

#[test]
fn presets_use_the_leader_and_cut_off_stays_consistent() {
    let mut app = app((120, 40));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('m'));
    // 2: the leader (carol) cut off, as `c` on carol would.
    let fx = press(&mut app, KeyCode::Char('2'));
    let (links, why) = asked(&fx).unwrap();
    assert_eq!(why, "preset: the leader cut off");
    assert_eq!(links, Links::new(5).preset(Preset::LeaderCutOff, Some(2)));
    carry_out(&mut app, &fx);
    assert!(app.sites[2].cut_off && !app.sites[0].cut_off);
    // `c` on carol now heals her.
    press(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none());
    press(&mut app, KeyCode::Char('3'));
    let fx = press(&mut app, KeyCode::Char('c'));
    assert!(fx.contains(&Effect::Demo(DemoCmd::CutOff { site: 2, on: false })));
    // The demo's answer to a `c`: the matrix with alice's links down.
    let mut cut = Links::new(5);
    cut.cut_off(0, true);
    app.feed(Msg::Demo(DemoEvent::Links {
        links: cut.clone(),
        why: "alice cut off".into(),
    }));
    assert!(app.sites[0].cut_off && !app.sites[2].cut_off);
    assert_eq!(app.links, cut);
    // 0: heal all.
    press(&mut app, KeyCode::Char('m'));
    let fx = press(&mut app, KeyCode::Char('0'));
    carry_out(&mut app, &fx);
    assert!(app.links.is_clear() && app.sites.iter().all(|s| !s.cut_off));
}

// ----- the metrics strip (issue 11 item 6) ------------------------------

/// A decided slot at every site.
fn commit(app: &mut App, slot: u64) {
    let v = tweettui::state::op::Value::noop();
    for s in 0..5 {
        app.feed(Msg::Site(
            s,
            SiteEvent::Committed {
                slot,
                value: v.clone(),
            },
        ));
    }
}

/// Twelve seconds of a demo: a rising rate, tweets of this UI answered
/// after 40 to 400 ms, a leader change at second 5 and a link down from
/// second 8.
fn metrics_at(size: (u16, u16)) -> App {
    let mut app = app(size);
    let mut slot = 0;
    for sec in 0..12u64 {
        for _ in 0..(sec % 5 + 1) {
            commit(&mut app, slot);
            slot += 1;
        }
        for c in format!("hi {sec}").chars() {
            press(&mut app, KeyCode::Char(c));
        }
        let fx = press(&mut app, KeyCode::Enter);
        let tag = fx
            .iter()
            .find_map(|e| match e {
                Effect::Request { tag, .. } => Some(*tag),
                _ => None,
            })
            .unwrap();
        let wait = 40 + (sec * 37) % 360;
        app.feed(Msg::Tick { ms: wait });
        app.feed(Msg::Reply {
            tag,
            reply: Ok(tweettui::site::api::Answer::Decided { slot, index: 0 }),
        });
        commit(&mut app, slot);
        slot += 1;
        if sec == 5 {
            app.feed(Msg::Site(0, SiteEvent::Status(status(0, 3))));
        }
        if sec == 8 {
            let mut l = Links::new(5);
            l.set_both(0, 1, true);
            app.feed(Msg::Demo(DemoEvent::Links {
                links: l,
                why: "link alice↔bob down".into(),
            }));
        }
        app.feed(Msg::Tick { ms: 1000 - wait });
    }
    app
}

/// The message line, where the strip is.
fn strip_text(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| draw(app, f)).unwrap();
    let buf = t.backend().buffer();
    let y = app.areas().unwrap().message.y;
    let line: String = (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect();
    line
}

#[test]
fn metrics_strip_80x24() {
    insta::assert_snapshot!(strip_text(&metrics_at((80, 24))));
}

#[test]
fn metrics_strip_120x40() {
    insta::assert_snapshot!(strip_text(&metrics_at((120, 40))));
}

#[test]
fn the_strip_counts_seconds_leader_changes_and_faults() {
    let app = metrics_at((120, 40));
    let secs: Vec<_> = app.metrics.seconds().collect();
    assert_eq!(secs.len(), 13);
    assert_eq!(secs[0].decided, 2);
    assert_eq!(secs[4].decided, 6);
    assert_eq!(secs[0].latencies, vec![40]);
    assert!(secs[5].leader_change && !secs[4].leader_change);
    assert!(!secs[7].fault && secs[8].fault && secs[12].fault);
}
