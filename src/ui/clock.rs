//! The time the UI shows tweets in.

use chrono::{DateTime, FixedOffset, Local, Utc};

/// Local time, or a fixed time and zone (tests).
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    Local,
    Fixed {
        now: DateTime<Utc>,
        offset: FixedOffset,
    },
}

impl Clock {
    /// A tweet's time: `HH:MM:SS` today, `Mon DD HH:MM` before.
    pub fn format(&self, t: DateTime<Utc>) -> String {
        match *self {
            Clock::Local => {
                let now = Local::now();
                let t = t.with_timezone(&Local);
                fmt_time(t.date_naive() == now.date_naive(), &t)
            }
            Clock::Fixed { now, offset } => {
                let t = t.with_timezone(&offset);
                let today = now.with_timezone(&offset).date_naive() == t.date_naive();
                fmt_time(today, &t)
            }
        }
    }
}

fn fmt_time<Tz: chrono::TimeZone>(today: bool, t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    if today {
        t.format("%H:%M:%S").to_string()
    } else {
        t.format("%b %d %H:%M").to_string()
    }
}
