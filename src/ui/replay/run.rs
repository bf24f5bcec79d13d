//! The replay's loop: terminal events and a frame timer, nothing else (no
//! site runs). Playing moves the slider on each frame.

use super::{Player, Replay};
use crate::ui::app::{App, AppConfig, Effect, Msg};
use crate::ui::frames;
use crate::ui::terminal::TerminalGuard;
use crate::ui::{theme, view, Clock};
use crossterm::event::Event;
use ratatui::Frame;

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
    let mut screen = Screen(app(player, theme, Clock::Local, (size.width, size.height)));
    frames::run(&mut guard, &mut screen).await
}

/// The replay's App as the frame loop drives it: playing moves the
/// slider on each frame (nothing is asked of a site: the App refuses).
struct Screen(App);

impl frames::FrameScreen for Screen {
    fn event(&mut self, ev: Event) -> (Vec<Effect>, bool) {
        self.0.update(Msg::Term(ev))
    }

    fn frame(&mut self, ms: u64) -> (Vec<Effect>, bool) {
        self.0.update(Msg::Tick { ms })
    }

    fn draw(&self, f: &mut Frame) {
        view::draw(&self.0, f);
    }
}
