//! The terminal loop of step mode: terminal events and a frame timer, and
//! a [`Driver`] (the step controller) that carries out the App's requests
//! and steps at once, in this task: no site runs anywhere, so nothing
//! happens between two of the user's keys except free running, which each
//! frame moves on.

use crate::ui::app::{App, AppConfig, Effect, Msg};
use crate::ui::terminal::{self, TerminalGuard};
use crate::ui::{theme, view, Clock};
use anyhow::Context;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(33);

/// The cluster of step mode, as the UI loop sees it.
pub trait Driver {
    /// Carries out what the App asked of its sites or of the demo (a
    /// request, a demo command, a step); what follows waits in [`take`](Self::take).
    fn effect(&mut self, fx: Effect);
    /// `ms` of real time went by: free running moves the clock on.
    fn frame(&mut self, ms: u64);
    /// What the UI hears, in order: site events, demo events, answers.
    fn take(&mut self) -> Vec<Msg>;
}

/// Hands `msg` to the App, the App's requests and steps to `driver`, and
/// what the driver says back to the App, until nothing is left. Returns
/// the effects meant for the terminal (mouse capture, quit).
pub fn pump(app: &mut App, driver: &mut dyn Driver, msg: Msg) -> (Vec<Effect>, bool) {
    let mut outside = Vec::new();
    let mut dirty = false;
    let mut queue = std::collections::VecDeque::from([msg]);
    while let Some(msg) = queue.pop_front() {
        let (fx, changed) = app.update(msg);
        dirty |= changed;
        let mut asked = false;
        for fx in fx {
            match fx {
                Effect::Request { .. } | Effect::Demo(_) => {
                    driver.effect(fx);
                    asked = true;
                }
                Effect::MouseCapture(_) | Effect::Quit => outside.push(fx),
            }
        }
        if asked || queue.is_empty() {
            queue.extend(driver.take());
        }
    }
    (outside, dirty)
}

/// Runs step mode's screen on `driver` until the user quits.
pub async fn run(
    names: Vec<String>,
    driver: &mut dyn Driver,
    theme: Option<theme::ThemeName>,
    lesson: Option<super::Lesson>,
) -> anyhow::Result<()> {
    let theme = theme::Theme::resolve(theme)?;
    let mut guard = TerminalGuard::enter(true)?;
    let size = guard.terminal.size()?;
    let mut app = App::new(AppConfig {
        hosted: (0..names.len()).collect(),
        names,
        shown: 0,
        demo: true,
        theme,
        clock: Clock::Local,
        mouse_capture: true,
        size: (size.width, size.height),
    });
    for msg in driver.take() {
        pump(&mut app, driver, msg);
    }
    let mut lesson = lesson.map(super::LessonRun::new);
    let mut caption = go_on(&mut lesson, &mut app, driver);
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
                // A key takes a lesson's caption away; the lesson goes on.
                Some(Ok(Event::Key(_))) if caption.is_some() => {
                    caption = go_on(&mut lesson, &mut app, driver);
                    (Vec::new(), true)
                }
                Some(Ok(ev)) => pump(&mut app, driver, Msg::Term(ev)),
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => return Ok(()),
            },
            () = &mut stop => return Ok(()),
            _ = frame.tick() => {
                let ms = last.elapsed().as_millis() as u64;
                last = Instant::now();
                driver.frame(ms);
                let mut changed = false;
                for msg in driver.take() {
                    changed |= pump(&mut app, driver, msg).1;
                }
                if dirty || changed {
                    guard
                        .terminal
                        .draw(|f| {
                            view::draw(&app, f);
                            if let Some(c) = &caption {
                                super::lesson::draw_caption(&app.theme, f, c);
                            }
                        })
                        .context("drawing")?;
                    dirty = false;
                }
                (Vec::new(), false)
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

/// Runs a lesson on to its next caption; an error stops it (and says why).
fn go_on(
    lesson: &mut Option<super::LessonRun>,
    app: &mut App,
    driver: &mut dyn Driver,
) -> Option<super::lesson::Caption> {
    let run = lesson.as_mut()?;
    match run.advance(app, driver) {
        Ok(Some(c)) => Some(c),
        Ok(None) => {
            *lesson = None;
            None
        }
        Err(e) => {
            *lesson = None;
            pump(app, driver, super::lesson::error_msg(&e));
            None
        }
    }
}
