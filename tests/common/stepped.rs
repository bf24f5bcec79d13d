//! What the step-mode tests share (`tests/step.rs`, `tests/lessons.rs`):
//! five sites, and the App of `demo --step` on a fresh stepper with its
//! first messages pumped, at a fixed clock and theme, so that every run is
//! the same. Included by path: the process helpers of `common` are not
//! needed there.

use chrono::{FixedOffset, TimeZone, Utc};
use tweettui::demo::step::Stepper;
use tweettui::ui::step::{pump, Driver};
use tweettui::ui::theme::Theme;
use tweettui::ui::{App, AppConfig, Clock};

/// The stepper's virtual clock starts here.
pub const EPOCH_MS: u64 = 1_750_000_000_000;

pub fn names() -> Vec<String> {
    ["alice", "bob", "carol", "dave", "erin"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// The App of step mode at `size`, on a new stepper (seed 1).
pub fn start(size: (u16, u16)) -> (App, Stepper) {
    let names = names();
    let mut stepper = Stepper::new(names.clone(), 1, EPOCH_MS).expect("starts");
    let mut app = App::new(AppConfig {
        hosted: (0..names.len()).collect(),
        names,
        shown: 0,
        demo: true,
        theme: Theme::monochrome(),
        clock: Clock::Fixed {
            now: Utc.timestamp_opt(1_750_000_100, 0).unwrap(),
            offset: FixedOffset::east_opt(0).unwrap(),
        },
        mouse_capture: true,
        size,
    });
    for msg in stepper.take() {
        pump(&mut app, &mut stepper, msg);
    }
    (app, stepper)
}
