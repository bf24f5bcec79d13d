//! The terminal loop of step mode: terminal events and a frame timer, and
//! a [`Driver`] (the step controller) that carries out the App's requests
//! and steps at once, in this task: no site runs anywhere, so nothing
//! happens between two of the user's keys except free running, which each
//! frame moves on.

use crate::ui::app::{App, AppConfig, Effect, Msg};
use crate::ui::frames;
use crate::ui::terminal::TerminalGuard;
use crate::ui::{theme, view, Clock};
use crossterm::event::Event;
use ratatui::Frame;

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
    let caption = go_on(&mut lesson, &mut app, driver);
    let mut screen = Screen {
        app,
        driver,
        lesson,
        caption,
    };
    frames::run(&mut guard, &mut screen).await
}

/// Step mode as the frame loop drives it: the App, the driver that
/// carries out its requests and steps, and a lesson with its caption.
struct Screen<'a> {
    app: App,
    driver: &'a mut dyn Driver,
    lesson: Option<super::LessonRun>,
    caption: Option<super::lesson::Caption>,
}

impl frames::FrameScreen for Screen<'_> {
    fn event(&mut self, ev: Event) -> (Vec<Effect>, bool) {
        match ev {
            // A key takes a lesson's caption away; the lesson goes on.
            Event::Key(_) if self.caption.is_some() => {
                self.caption = go_on(&mut self.lesson, &mut self.app, self.driver);
                (Vec::new(), true)
            }
            ev => pump(&mut self.app, self.driver, Msg::Term(ev)),
        }
    }

    fn frame(&mut self, ms: u64) -> (Vec<Effect>, bool) {
        self.driver.frame(ms);
        let (mut fx, mut changed) = (Vec::new(), false);
        for msg in self.driver.take() {
            let (more, c) = pump(&mut self.app, self.driver, msg);
            fx.extend(more);
            changed |= c;
        }
        (fx, changed)
    }

    fn draw(&self, f: &mut Frame) {
        view::draw(&self.app, f);
        if let Some(c) = &self.caption {
            super::lesson::draw_caption(&self.app.theme, f, c);
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
