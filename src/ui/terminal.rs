//! The terminal in UI mode: raw mode, the alternate screen, bracketed
//! paste and (switchable) mouse capture, restored on quit, on error and on
//! panic (a panic anywhere, a spawned task included, restores the terminal
//! and ends the process: the UI never runs on blind).

use anyhow::Context;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{stdout, Stdout, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// True while the terminal is in raw mode / the alternate screen.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
/// [`UiSetup::on_fatal`] of the UI that runs.
pub static ON_FATAL: Mutex<Option<fn()>> = Mutex::new(None);

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
pub struct TerminalGuard {
    /// Never dropped: ratatui's `Drop for Terminal` shows the cursor and,
    /// when that fails (the terminal hung up), `eprintln!`s, which panics on
    /// a dead terminal. Restoring is done by [`restore_terminal`] instead.
    pub terminal: ManuallyDrop<Terminal<CrosstermBackend<Stdout>>>,
}

impl TerminalGuard {
    pub fn enter(mouse: bool) -> anyhow::Result<TerminalGuard> {
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

/// Switches mouse capture on or off.
pub fn mouse_capture(on: bool) -> anyhow::Result<()> {
    let r = if on {
        crossterm::execute!(stdout(), EnableMouseCapture)
    } else {
        crossterm::execute!(stdout(), DisableMouseCapture)
    };
    r.context("switching mouse capture")
}
