//! The full-screen terminal UI (SPEC section 9).
//!
//! One task runs the UI: a `tokio::select!` over terminal events, a frame
//! timer, the sites' events, the answers to requests and (in the demo) the
//! demo's events. Each branch only updates the [`App`] and marks it dirty;
//! the frame branch draws when dirty. Requests run in spawned tasks and send
//! their answers back through a channel, so the UI never waits on the
//! network. The terminal is restored on quit, on error and on panic (a
//! panic anywhere, a spawned task included, restores the terminal and ends
//! the process: the UI never runs on blind).

pub mod app;
pub mod clock;
pub mod cluster;
pub mod command;
pub mod help;
pub mod keys;
pub mod layout;
pub mod panes;
pub mod text;
pub mod theme;
pub mod trace_buf;
pub mod view;

pub use app::{App, AppConfig, Effect, Msg};
pub use clock::Clock;
pub use cluster::{DemoCmd, DemoEvent, SafetyCheck};
pub use panes::Focus;
pub use view::draw;

use crate::site::api::{Response, SiteClient, SiteEvent};
use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    EventStream,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::Duration;
use tokio::sync::mpsc;

/// Site events handled in one go before input and frames get a turn.
const EVENT_BATCH: usize = 512;

/// Time between two frames (when something changed).
const FRAME: Duration = Duration::from_millis(33);

/// What the UI runs on.
pub struct UiSetup {
    /// Every site name, in config order.
    pub names: Vec<String>,
    /// The site shown first.
    pub shown: usize,
    pub demo: bool,
    /// A client per site, for the sites this process runs.
    pub clients: Vec<Option<SiteClient>>,
    /// Events of the sites this process runs, tagged with the site index.
    pub events: mpsc::UnboundedReceiver<(usize, SiteEvent)>,
    pub demo_cmds: Option<mpsc::UnboundedSender<DemoCmd>>,
    pub demo_events: Option<mpsc::UnboundedReceiver<DemoEvent>>,
    /// Run when a panic ends the process while the UI runs, after the
    /// terminal is restored (the demo removes its temporary data dirs).
    pub on_fatal: Option<fn()>,
}

/// True while the terminal is in raw mode / the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
/// [`UiSetup::on_fatal`] of the UI that runs.
static ON_FATAL: Mutex<Option<fn()>> = Mutex::new(None);

/// Leaves raw mode, the alternate screen, mouse capture and bracketed paste.
fn restore_terminal() {
    let _ = crossterm::execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

/// On a panic anywhere while the UI runs (a spawned task included): restore
/// the terminal, print the panic, and end the process.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.swap(false, Ordering::SeqCst) {
                restore_terminal();
                previous(info);
                let _ = writeln!(
                    std::io::stderr(),
                    "tweettui: internal error (a panic): the terminal was restored"
                );
                if let Some(cleanup) = ON_FATAL.lock().ok().and_then(|f| *f) {
                    cleanup();
                }
                std::process::exit(101);
            }
            previous(info);
        }));
    });
}

/// The terminal in UI mode for as long as it lives.
struct TerminalGuard {
    /// Never dropped: ratatui's `Drop for Terminal` shows the cursor and,
    /// when that fails (the terminal hung up), `eprintln!`s, which panics on
    /// a dead terminal. Restoring is done by [`restore_terminal`] instead.
    terminal: ManuallyDrop<Terminal<CrosstermBackend<Stdout>>>,
}

impl TerminalGuard {
    fn enter(mouse: bool) -> anyhow::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = crossterm::execute!(stdout(), EnterAlternateScreen, EnableBracketedPaste)
            .and_then(|()| {
                if mouse {
                    crossterm::execute!(stdout(), EnableMouseCapture)
                } else {
                    Ok(())
                }
            });
        let terminal = entered.and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match terminal {
            Ok(terminal) => Ok(TerminalGuard {
                terminal: ManuallyDrop::new(terminal),
            }),
            Err(e) => {
                ACTIVE.store(false, Ordering::SeqCst);
                restore_terminal();
                Err(e).context("cannot set up the terminal")
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            restore_terminal();
        }
    }
}

/// Receives from an optional channel; pending forever without one.
async fn recv_opt<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs the UI until the user quits (or the process is asked to stop).
pub async fn run(setup: UiSetup) -> anyhow::Result<()> {
    let UiSetup {
        names,
        shown,
        demo,
        mut clients,
        mut events,
        demo_cmds,
        mut demo_events,
        on_fatal,
    } = setup;
    if let Ok(mut f) = ON_FATAL.lock() {
        *f = on_fatal;
    }
    let mut guard = TerminalGuard::enter(true)?;
    let size = guard.terminal.size()?;
    let hosted = (0..names.len()).filter(|&i| clients[i].is_some()).collect();
    let mut app = App::new(AppConfig {
        names,
        shown,
        hosted,
        demo,
        theme: theme::Theme::from_env(),
        clock: Clock::Local,
        mouse_capture: true,
        size: (size.width, size.height),
    });
    let (reply_tx, mut replies) = mpsc::unbounded_channel::<(u64, Response)>();
    let mut term_events = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let stop = crate::signal::stop_requested(crate::signal::Hangup::Stops);
    tokio::pin!(stop);
    loop {
        let mut effects = Vec::new();
        let mut handle = |app: &mut App, msg: Msg, dirty: &mut bool| {
            let (fx, d) = app.update(msg);
            effects.extend(fx);
            *dirty |= d;
        };
        tokio::select! {
            ev = term_events.next() => match ev {
                Some(Ok(ev)) => handle(&mut app, Msg::Term(ev), &mut dirty),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            Some((site, ev)) = events.recv() => {
                handle(&mut app, Msg::Site(site, ev), &mut dirty);
                for _ in 1..EVENT_BATCH {
                    let Ok((site, ev)) = events.try_recv() else { break };
                    handle(&mut app, Msg::Site(site, ev), &mut dirty);
                }
            }
            Some((tag, resp)) = replies.recv() => handle(&mut app, Msg::Reply { tag, resp }, &mut dirty),
            Some(ev) = recv_opt(&mut demo_events) => {
                match &ev {
                    DemoEvent::Up { site, client } => clients[*site] = Some(client.clone()),
                    DemoEvent::Down { site, .. } => clients[*site] = None,
                    _ => {}
                }
                handle(&mut app, Msg::Demo(ev), &mut dirty);
            }
            () = &mut stop => {
                tracing::info!("asked to stop by a signal");
                break;
            }
            _ = frame.tick() => {
                if dirty {
                    guard.terminal.draw(|f| view::draw(&app, f)).context("drawing")?;
                    dirty = false;
                }
            }
        }
        for fx in effects {
            match fx {
                Effect::Request { site, tag, req } => {
                    let client = clients.get(site).cloned().flatten();
                    let tx = reply_tx.clone();
                    tokio::spawn(async move {
                        let resp = match client {
                            Some(c) => c.request(req).await,
                            None => Response::error(503, "the site is not running"),
                        };
                        let _ = tx.send((tag, resp));
                    });
                }
                Effect::Demo(cmd) => {
                    if let Some(tx) = &demo_cmds {
                        let _ = tx.send(cmd);
                    }
                }
                Effect::MouseCapture(on) => {
                    let r = if on {
                        crossterm::execute!(stdout(), EnableMouseCapture)
                    } else {
                        crossterm::execute!(stdout(), DisableMouseCapture)
                    };
                    r.context("switching mouse capture")?;
                }
                Effect::Quit => return Ok(()),
            }
        }
    }
    Ok(())
}
