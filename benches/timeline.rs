//! `cargo bench --bench timeline`: the time to draw one 120x40 frame of the
//! UI with a timeline of 1,000 and of 1,000,000 tweets. The UI draws only
//! what is visible, so the time per frame must not grow with the history.
//!
//! Plain `main` with `std::time::Instant` (no criterion). Prints a table.

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tweettui::site::api::{PeerStatus, SiteEvent, Status};
use tweettui::state::op::{Command, Op, OpId, Value};
use tweettui::state::State;
use tweettui::ui::theme::Theme;
use tweettui::ui::{draw, App, AppConfig, Clock, Msg};

const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
const BATCH: usize = 1000;

fn names() -> Vec<String> {
    NAMES.iter().map(|s| s.to_string()).collect()
}

fn time(i: usize) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap_or_default()
}

/// A state with `n` tweets by the five users, in batches of 1000 per slot.
fn state_with(n: usize) -> State {
    let mut state = State::new(names());
    let mut slot = 0;
    let mut i = 0;
    while i < n {
        let cmds = (i..(i + BATCH).min(n))
            .map(|k| Command {
                id: OpId {
                    site: (k % 5) as u32,
                    boot: 1,
                    seq: k as u64,
                },
                op: Op::Tweet {
                    user: NAMES[k % 5].to_string(),
                    text: format!(
                        "tweet number {k}: a line of text long enough to wrap in the pane, sometimes"
                    ),
                    time: time(k),
                },
            })
            .collect();
        state
            .apply(slot, &Value::batch(cmds))
            .expect("slots in order");
        slot += 1;
        i += BATCH;
    }
    state
}

fn app_with(state: State) -> App {
    let mut app = App::new(AppConfig {
        names: names(),
        shown: 0,
        hosted: vec![0],
        demo: false,
        theme: Theme::colored(),
        clock: Clock::Fixed {
            now: time(2_000_000),
            offset: FixedOffset::east_opt(0).expect("offset"),
        },
        mouse_capture: true,
        size: (120, 40),
    });
    let status = Status {
        site: 0,
        name: "alice".into(),
        decided: state.next_slot(),
        leader: Some(0),
        membership: tweettui::paxos::Membership::Voting,
        ballot: None,
        peers: (1..5)
            .map(|p| PeerStatus {
                site: p,
                name: NAMES[p as usize].into(),
                connected: true,
            })
            .collect(),
    };
    app.feed(Msg::Site(
        0,
        SiteEvent::Snapshot {
            state: Box::new(state),
            status,
        },
    ));
    // Focus the timeline.
    app.feed(key(KeyCode::Tab));
    app
}

fn key(code: KeyCode) -> Msg {
    Msg::Term(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Median and mean time of `runs` calls of `f`.
fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..runs.min(20) {
        f();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / runs as u32;
    (times[runs / 2], mean)
}

fn fmt(d: Duration) -> String {
    format!("{:>9.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let sizes = [1_000usize, 1_000_000];
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("test backend");
    println!("timeline bench: one 120x40 frame drawn into ratatui's TestBackend");
    println!(
        "{:>10}  {:<34} {:>12} {:>12}",
        "tweets", "case", "median", "mean"
    );
    let mut tops = Vec::new();
    let mut deep = Vec::new();
    for &n in &sizes {
        let t = Instant::now();
        let mut app = app_with(state_with(n));
        eprintln!("  (built {n} tweets in {:.1?})", t.elapsed());

        let (med, mean) = measure(300, || {
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        tops.push(med);
        println!(
            "{n:>10}  {:<34} {} {}",
            "frame at the top",
            fmt(med),
            fmt(mean)
        );

        // Scrolled 20 tweets down (arrow key + frame).
        for _ in 0..20 {
            app.feed(key(KeyCode::Down));
        }
        let (med, mean) = measure(300, || {
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        println!(
            "{n:>10}  {:<34} {} {}",
            "frame 20 tweets down",
            fmt(med),
            fmt(mean)
        );

        // A key press that moves the selection, and its frame.
        let mut down = true;
        let (med, mean) = measure(300, || {
            app.feed(key(if down { KeyCode::Down } else { KeyCode::Up }));
            down = !down;
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        println!(
            "{n:>10}  {:<34} {} {}",
            "arrow key + frame",
            fmt(med),
            fmt(mean)
        );

        // A new tweet committed while the reader is at the top, and its frame.
        app.feed(key(KeyCode::Home));
        let mut slot = app.site().state.as_ref().map_or(0, State::next_slot);
        let mut k = n;
        let (med, mean) = measure(300, || {
            let value = Value::batch(vec![Command {
                id: OpId {
                    site: 1,
                    boot: 2,
                    seq: k as u64,
                },
                op: Op::Tweet {
                    user: "bob".into(),
                    text: format!("a new tweet {k}"),
                    time: time(k),
                },
            }]);
            app.feed(Msg::Site(0, SiteEvent::Committed { slot, value }));
            slot += 1;
            k += 1;
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        println!(
            "{n:>10}  {:<34} {} {}",
            "new tweet + frame",
            fmt(med),
            fmt(mean)
        );

        // Deep in the history. The view walks from the nearest known tweet
        // (the top, the bottom, or where the reader is), so none of this
        // grows with the history either.
        let (med, mean) = measure(300, || {
            app.feed(key(KeyCode::Home));
            app.feed(key(KeyCode::End));
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        deep.push(med);
        println!(
            "{n:>10}  {:<34} {} {}",
            "Home, End key + frame at oldest",
            fmt(med),
            fmt(mean)
        );
        let (med, mean) = measure(300, || {
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        println!(
            "{n:>10}  {:<34} {} {}",
            "frame at the oldest tweet",
            fmt(med),
            fmt(mean)
        );
        for _ in 0..50 {
            app.feed(key(KeyCode::PageUp));
        }
        let mut up = true;
        let (med, mean) = measure(300, || {
            app.feed(key(if up {
                KeyCode::PageUp
            } else {
                KeyCode::PageDown
            }));
            up = !up;
            terminal.draw(|f| draw(black_box(&app), f)).expect("draw");
        });
        println!(
            "{n:>10}  {:<34} {} {}",
            "PgUp/PgDn + frame near the oldest",
            fmt(med),
            fmt(mean)
        );
        drop(app);
    }
    let ratio = tops[1].as_secs_f64() / tops[0].as_secs_f64();
    println!(
        "frame at the top, 1,000,000 vs 1,000 tweets: x{ratio:.2} (flat: it does not grow with the history)"
    );
    let ratio = deep[1].as_secs_f64() / deep[0].as_secs_f64();
    println!("End key + frame at the oldest, 1,000,000 vs 1,000 tweets: x{ratio:.2}");
}
