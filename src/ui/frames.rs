//! The terminal loop of a screen with no site behind it (a replay, step
//! mode): terminal events, a frame timer and the stop signal, until the
//! user quits. What differs between the two is a [`FrameScreen`].

use crate::ui::app::Effect;
use crate::ui::terminal::{self, TerminalGuard};
use anyhow::Context;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Frame;
use std::time::{Duration, Instant};

/// How often the screen may move on by itself (playing, free running).
const FRAME: Duration = Duration::from_millis(33);

/// What a frame loop drives.
pub trait FrameScreen {
    /// A terminal event: the effects it led to, and whether the screen
    /// changed.
    fn event(&mut self, ev: Event) -> (Vec<Effect>, bool);
    /// `ms` of real time went by.
    fn frame(&mut self, ms: u64) -> (Vec<Effect>, bool);
    fn draw(&self, f: &mut Frame);
}

/// Runs `screen` in `guard`'s terminal until the user quits (or the
/// terminal closes, or a stop signal comes); drawn at each frame when it
/// changed. Only the terminal's effects are carried out here (mouse
/// capture, quit): the screen has carried out the others.
pub async fn run(guard: &mut TerminalGuard, screen: &mut dyn FrameScreen) -> anyhow::Result<()> {
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
                Some(Ok(ev)) => screen.event(ev),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            () = &mut stop => return Ok(()),
            _ = frame.tick() => {
                let ms = last.elapsed().as_millis() as u64;
                last = Instant::now();
                let (fx, changed) = screen.frame(ms);
                if dirty || changed {
                    guard.terminal.draw(|f| screen.draw(f)).context("drawing")?;
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
                Effect::Request { .. } | Effect::Demo(_) => {}
            }
        }
    }
}
