//! The replay's loop: terminal events and a frame timer, nothing else (no
//! site runs). Playing moves the slider on each frame.

use super::{Player, Replay};
use crate::ui::app::{App, AppConfig, Effect, Msg};
use crate::ui::terminal::{self, TerminalGuard};
use crate::ui::{theme, view, Clock};
use anyhow::Context;
use crossterm::event::EventStream;
use futures::StreamExt;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

/// The App of a replay of `player`, at its start (tests build it too).
pub fn app(player: Player, theme: theme::Theme, clock: Clock, size: (u16, u16)) -> App {
    let names = player.names.clone();
    let mut app = App::new(AppConfig {
        hosted: (0..names.len()).collect(),
        names,
        shown: 0,
        demo: false,
        theme,
        clock,
        mouse_capture: true,
        size,
    });
    app.start_replay(Replay::new(player));
    app
}

/// Plays `player` until the user quits; `theme` as `--theme` names it.
pub async fn run(player: Player, theme: Option<theme::ThemeName>) -> anyhow::Result<()> {
    let theme = theme::Theme::resolve(theme)?;
    let mut guard = TerminalGuard::enter(true)?;
    let size = guard.terminal.size()?;
    let mut app = app(player, theme, Clock::Local, (size.width, size.height));
    let mut term_events = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stop = crate::signal::stop_requested(crate::signal::Hangup::Stops);
    tokio::pin!(stop);
    let mut dirty = true;
    let mut last = Instant::now();
    loop {
        let (fx, changed) = tokio::select! {
            ev = term_events.next() => match ev {
                Some(Ok(ev)) => app.update(Msg::Term(ev)),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            () = &mut stop => return Ok(()),
            _ = frame.tick() => {
                let ms = last.elapsed().as_millis() as u64;
                last = Instant::now();
                let (fx, changed) = app.update(Msg::Tick { ms });
                if dirty || changed {
                    guard.terminal.draw(|f| view::draw(&app, f)).context("drawing")?;
                    dirty = false;
                }
                (fx, false)
            }
        };
        dirty |= changed;
        for fx in fx {
            match fx {
                Effect::MouseCapture(on) => terminal::mouse_capture(on)?,
                Effect::Quit => return Ok(()),
                // Nothing is asked of a site in a replay (the App refuses).
                Effect::Request { .. } | Effect::Demo(_) => {}
            }
        }
    }
}
