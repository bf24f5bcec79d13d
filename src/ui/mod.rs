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
mod frames;
pub mod help;
pub mod keys;
pub mod layout;
pub mod links;
pub mod metrics;
pub mod panes;
pub mod replay;
pub mod seen;
mod status;
pub mod step;
mod terminal;
pub mod text;
pub mod theme;
pub mod trace_buf;
pub mod view;

pub use app::{App, AppConfig, Effect, Msg};
pub use clock::Clock;
pub use cluster::{DemoCmd, DemoEvent, SafetyCheck};
pub use panes::Focus;
pub use theme::ThemeName;
pub use view::draw;

use crate::site::api::{Refusal, Reply, SiteClient, SiteEvent};
use anyhow::Context;
use crossterm::event::EventStream;
use futures::StreamExt;
use std::time::Duration;
use terminal::TerminalGuard;
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
    /// Where this process logs (the help popup shows it).
    pub log_file: Option<std::path::PathBuf>,
    /// `--theme` (`None`: `TWEETTUI_THEME`, else dark; `NO_COLOR` wins).
    pub theme: Option<ThemeName>,
}

/// Receives from an optional channel; pending forever without one.
async fn recv_opt<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Whether there is a terminal to draw on (stdin and stdout both are one).
pub fn has_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Runs the UI until the user quits (or the process is asked to stop).
pub async fn run(setup: UiSetup) -> anyhow::Result<()> {
    anyhow::ensure!(
        has_terminal(),
        "no terminal to draw the UI on (stdin and stdout must be one); \
         a site runs without UI with `tweettui <SITE> --headless`"
    );
    let theme = theme::Theme::resolve(setup.theme)?;
    if let Ok(mut f) = terminal::ON_FATAL.lock() {
        *f = setup.on_fatal;
    }
    let mut guard = TerminalGuard::enter(true)?;
    let size = guard.terminal.size()?;
    let clients = setup.clients;
    let hosted = (0..setup.names.len())
        .filter(|&i| clients[i].is_some())
        .collect();
    let mut app = App::new(AppConfig {
        names: setup.names,
        shown: setup.shown,
        hosted,
        demo: setup.demo,
        theme,
        clock: Clock::Local,
        mouse_capture: true,
        size: (size.width, size.height),
    });
    app.log_file = setup.log_file;
    let (reply_tx, replies) = mpsc::unbounded_channel();
    let mut ui = UiLoop {
        app,
        clients,
        reply_tx,
        demo_cmds: setup.demo_cmds,
        dirty: true,
    };
    ui.run(&mut guard, setup.events, replies, setup.demo_events)
        .await
}

/// The UI task's state besides the App: where requests and demo commands go.
struct UiLoop {
    app: App,
    /// A client per site, for the sites running (in this process).
    clients: Vec<Option<SiteClient>>,
    reply_tx: mpsc::UnboundedSender<(u64, Reply)>,
    demo_cmds: Option<mpsc::UnboundedSender<DemoCmd>>,
    /// The screen needs a redraw.
    dirty: bool,
}

/// Whether the UI goes on after a message.
enum Next {
    Continue,
    Quit,
}

impl UiLoop {
    /// One `select!` over the terminal, the sites' events, the answers, the
    /// demo's events, a stop signal and the frame timer. Each branch only
    /// updates the App; the frame branch draws when something changed.
    async fn run(
        &mut self,
        guard: &mut TerminalGuard,
        mut events: mpsc::UnboundedReceiver<(usize, SiteEvent)>,
        mut replies: mpsc::UnboundedReceiver<(u64, Reply)>,
        mut demo_events: Option<mpsc::UnboundedReceiver<DemoEvent>>,
    ) -> anyhow::Result<()> {
        let mut term_events = EventStream::new();
        let mut frame = tokio::time::interval(FRAME);
        frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let stop = crate::signal::stop_requested(crate::signal::Hangup::Stops);
        tokio::pin!(stop);
        let mut last_frame = tokio::time::Instant::now();
        loop {
            let next = tokio::select! {
                ev = term_events.next() => match ev {
                    Some(Ok(ev)) => self.handle(Msg::Term(ev))?,
                    Some(Err(e)) => return Err(e).context("reading the terminal"),
                    None => Next::Quit,
                },
                Some((site, ev)) = events.recv() => {
                    let mut next = self.handle(Msg::Site(site, ev))?;
                    for _ in 1..EVENT_BATCH {
                        let Ok((site, ev)) = events.try_recv() else { break };
                        if let Next::Quit = self.handle(Msg::Site(site, ev))? {
                            next = Next::Quit;
                        }
                    }
                    next
                }
                Some((tag, reply)) = replies.recv() => self.handle(Msg::Reply { tag, reply })?,
                Some(ev) = recv_opt(&mut demo_events) => {
                    match &ev {
                        DemoEvent::Up { site, client } => self.clients[*site] = Some(client.clone()),
                        DemoEvent::Down { site, .. } => self.clients[*site] = None,
                        _ => {}
                    }
                    self.handle(Msg::Demo(ev))?
                }
                () = &mut stop => {
                    tracing::info!("asked to stop by a signal");
                    Next::Quit
                }
                _ = frame.tick() => {
                    // The live demo's metrics strip moves with real time.
                    if self.app.demo && self.app.step.is_none() {
                        let ms = last_frame.elapsed().as_millis() as u64;
                        last_frame = tokio::time::Instant::now();
                        self.handle(Msg::Tick { ms })?;
                    }
                    if self.dirty {
                        guard.terminal.draw(|f| view::draw(&self.app, f)).context("drawing")?;
                        self.dirty = false;
                    }
                    Next::Continue
                }
            };
            if let Next::Quit = next {
                return Ok(());
            }
        }
    }

    /// Updates the App with `msg` and carries out what it asks.
    fn handle(&mut self, msg: Msg) -> anyhow::Result<Next> {
        let (effects, dirty) = self.app.update(msg);
        self.dirty |= dirty;
        for fx in effects {
            match fx {
                Effect::Request { site, tag, req } => {
                    let client = self.clients.get(site).cloned().flatten();
                    let tx = self.reply_tx.clone();
                    tokio::spawn(async move {
                        let reply = match client {
                            Some(c) => c.request(req).await,
                            None => Err(Refusal::unavailable("the site is not running")),
                        };
                        let _ = tx.send((tag, reply));
                    });
                }
                Effect::Demo(cmd) => {
                    if let Some(tx) = &self.demo_cmds {
                        let _ = tx.send(cmd);
                    }
                }
                Effect::MouseCapture(on) => terminal::mouse_capture(on)?,
                Effect::Quit => return Ok(Next::Quit),
            }
        }
        Ok(Next::Continue)
    }
}
