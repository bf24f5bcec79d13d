//! Lessons: `tweettui demo --step --lesson FILE`. A lesson is a JSON file,
//! `{"title": "...", "steps": [...]}`, whose steps tweet, crash, restart,
//! cut off, heal, set links (as the link matrix does), fire a site's
//! timer, deliver or drop messages, run until a condition holds,
//! and pause with a caption over the screen until the user presses a key.
//!
//! The runner turns each step into what the user would do: keys to the
//! App (`1`..`7` to show a site, `x`, `r`, `c`, `n`, `i`, text, `Enter`),
//! the link matrix's changes (as its keys make them) and
//! the step commands of the in-flight pane and of free running, all
//! through [`pump`]. Step mode is deterministic, so a lesson runs the same
//! every time, and headlessly in a test ([`run_headless`]).

use super::{pump, Driver, StepCmd};
use crate::paxos::{MsgKind, Slot};
use crate::ui::app::{App, Effect, Msg};
use crate::ui::cluster::{DemoCmd, DemoEvent};
use crate::ui::theme::Theme;
use crate::ui::Focus;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;

/// How much virtual time a `run_until` may take, unless it says.
pub const RUN_BUDGET_MS: u64 = 60_000;
/// Running until a condition, the clock moves on this much at a time.
const RUN_STEP_MS: u64 = 10;

/// A lesson: a title and its steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lesson {
    pub title: String,
    pub steps: Vec<LessonStep>,
}

/// One step of a lesson. Sites are indexes into the run's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LessonStep {
    /// A caption over the screen until a key.
    Say(String),
    /// Tweet `text` as site `site`.
    Tweet {
        text: String,
        site: usize,
    },
    Crash(usize),
    Restart(usize),
    /// Cut the site off from every other.
    Cut(usize),
    Heal(usize),
    /// The link matrix: the direction `from` → `to` down or up (and the
    /// way back too with `both`), `from`'s loss (percent) and delay (ms):
    /// loss and delay are a site's, as in the matrix.
    Link {
        from: usize,
        to: Option<usize>,
        down: Option<bool>,
        both: bool,
        loss: Option<u8>,
        delay_ms: Option<u64>,
    },
    /// Fire the site's next timer (`n` on it).
    Timer(usize),
    /// Run freely until the condition holds, within `budget_ms` of
    /// virtual time.
    RunUntil {
        until: Until,
        budget_ms: u64,
    },
    /// Deliver the messages in flight that `Pick` picks, oldest first.
    Deliver(Pick),
    /// Drop them.
    Drop(Pick),
}

/// What `run_until` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Every running site has decided this many slots.
    Decided(Slot),
    /// A nack is in flight.
    Nack,
    /// A running site follows a running leader other than the one any
    /// site followed when the step began.
    LeaderChange,
}

/// Which messages in flight a `deliver` or `drop` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The `n` oldest.
    Oldest(usize),
    /// Every one in flight now (not those they cause).
    All,
    /// Every one of this kind (and of this slot, if given).
    Kind(MsgKind, Option<Slot>),
}

/// A lesson that cannot be read or cannot go on: which step, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LessonError {
    /// 1-based; `None`: the file as a whole.
    pub step: Option<usize>,
    pub what: String,
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.step {
            Some(k) => write!(f, "lesson step {k}: {}", self.what),
            None => write!(f, "lesson: {}", self.what),
        }
    }
}

impl std::error::Error for LessonError {}

fn err(step: Option<usize>, what: impl Into<String>) -> LessonError {
    LessonError {
        step,
        what: what.into(),
    }
}

const STEP_NAMES: &str = "say, tweet (with as), crash, restart, cut, heal, link (with to, down, \
     both, loss, delay_ms), timer, run_until (with within_ms), deliver, drop";

impl Lesson {
    /// Reads a lesson from JSON; `names` are the run's sites.
    pub fn parse(text: &str, names: &[String]) -> Result<Lesson, LessonError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| err(None, format!("not JSON: {e}")))?;
        let obj = v.as_object().ok_or_else(|| {
            err(
                None,
                "expected an object {\"title\": ..., \"steps\": [...]}",
            )
        })?;
        let title = match obj.get("title") {
            Some(Value::String(s)) => s.clone(),
            None => "lesson".to_string(),
            Some(_) => return Err(err(None, "\"title\" must be a string")),
        };
        let steps = obj
            .get("steps")
            .and_then(Value::as_array)
            .ok_or_else(|| err(None, "expected \"steps\": [...], a list of steps"))?;
        let steps = steps
            .iter()
            .enumerate()
            .map(|(k, s)| parse_step(s, names).map_err(|what| err(Some(k + 1), what)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Lesson { title, steps })
    }
}

fn parse_step(v: &Value, names: &[String]) -> Result<LessonStep, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("expected an object such as {{\"say\": \"...\"}}, not {v}"))?;
    let extra = |allowed: &[&str]| -> Result<(), String> {
        match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(format!("unexpected key \"{k}\" (steps: {STEP_NAMES})")),
            None => Ok(()),
        }
    };
    let site = |key: &str| -> Result<usize, String> {
        let name = obj[key]
            .as_str()
            .ok_or_else(|| format!("\"{key}\" names a site: a string"))?;
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("no site \"{name}\" (sites: {})", names.join(", ")))
    };
    let text = |key: &str| -> Result<String, String> {
        obj[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("\"{key}\" takes a string"))
    };
    if obj.contains_key("say") {
        extra(&["say"])?;
        return Ok(LessonStep::Say(text("say")?));
    }
    if obj.contains_key("tweet") {
        extra(&["tweet", "as"])?;
        if !obj.contains_key("as") {
            return Err("a tweet says who tweets: {\"tweet\": \"...\", \"as\": \"alice\"}".into());
        }
        return Ok(LessonStep::Tweet {
            text: text("tweet")?,
            site: site("as")?,
        });
    }
    type Make = fn(usize) -> LessonStep;
    let sites: [(&str, Make); 5] = [
        ("crash", LessonStep::Crash),
        ("restart", LessonStep::Restart),
        ("cut", LessonStep::Cut),
        ("heal", LessonStep::Heal),
        ("timer", LessonStep::Timer),
    ];
    for (key, make) in sites {
        if obj.contains_key(key) {
            extra(&[key])?;
            return Ok(make(site(key)?));
        }
    }
    if obj.contains_key("link") {
        extra(&["link", "to", "down", "both", "loss", "delay_ms"])?;
        return parse_link(obj, &site);
    }
    if obj.contains_key("run_until") {
        extra(&["run_until", "within_ms"])?;
        return parse_run_until(obj);
    }
    for key in ["deliver", "drop"] {
        if obj.contains_key(key) {
            extra(&[key, "slot"])?;
            let slot = obj.get("slot").map(|s| s.as_u64());
            let slot = slot.map(|s| s.ok_or("\"slot\" takes a whole number"));
            let slot = slot.transpose()?;
            let pick = parse_pick(&obj[key], slot)?;
            return Ok(if key == "deliver" {
                LessonStep::Deliver(pick)
            } else {
                LessonStep::Drop(pick)
            });
        }
    }
    Err(format!("unknown step {v} (steps: {STEP_NAMES})"))
}

/// A `link` step: `{"link": "alice", "to": "bob", "down": true, "both":
/// true, "loss": 30, "delay_ms": 200}` (`site` reads a site's name).
fn parse_link(
    obj: &serde_json::Map<String, Value>,
    site: &dyn Fn(&str) -> Result<usize, String>,
) -> Result<LessonStep, String> {
    let flag = |key: &str| match obj.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("\"{key}\" takes true or false")),
    };
    let to = match obj.contains_key("to") {
        true => Some(site("to")?),
        false => None,
    };
    let (down, both) = (flag("down")?, flag("both")?.unwrap_or(false));
    if (down.is_some() || both) != to.is_some() {
        return Err("a link's \"down\" (and \"both\") go with its \"to\": \
                    {\"link\": \"alice\", \"to\": \"bob\", \"down\": true}"
            .into());
    }
    let loss = match obj.get("loss") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|&l| l <= 100)
                .ok_or("\"loss\" takes a percentage: 0 to 100")? as u8,
        ),
    };
    let delay_ms = match obj.get("delay_ms") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|&d| d <= crate::ui::links::MAX_DELAY)
                .ok_or("\"delay_ms\" takes 0 to 2000 (ms)")?,
        ),
    };
    if down.is_none() && loss.is_none() && delay_ms.is_none() {
        return Err("a link step sets \"down\", \"loss\" or \"delay_ms\"".into());
    }
    Ok(LessonStep::Link {
        from: site("link")?,
        to,
        down,
        both,
        loss,
        delay_ms,
    })
}

/// A `run_until` step (its condition, and its `within_ms`).
fn parse_run_until(obj: &serde_json::Map<String, Value>) -> Result<LessonStep, String> {
    let budget = obj.get("within_ms").map(|b| b.as_u64());
    let budget_ms = budget
        .unwrap_or(Some(RUN_BUDGET_MS))
        .ok_or("\"within_ms\" takes a whole number")?;
    let until = parse_until(&obj["run_until"])?;
    Ok(LessonStep::RunUntil { until, budget_ms })
}

fn parse_until(v: &Value) -> Result<Until, String> {
    const WHAT: &str =
        "run_until takes \"nack\", \"leader_change\" or {\"decided\": n} (every running site)";
    match v {
        Value::String(s) if s == "nack" => Ok(Until::Nack),
        Value::String(s) if s == "leader_change" => Ok(Until::LeaderChange),
        Value::Object(o) if o.len() == 1 && o.contains_key("decided") => o["decided"]
            .as_u64()
            .map(Until::Decided)
            .ok_or_else(|| WHAT.to_string()),
        _ => Err(format!("{WHAT}, not {v}")),
    }
}

fn parse_pick(v: &Value, slot: Option<Slot>) -> Result<Pick, String> {
    const WHAT: &str = "deliver and drop take a number (the n oldest messages), \"all\" or a \
                        message kind (\"prepare\", \"promise\", \"accept\", \"ack\", \"nack\", \
                        \"commit\", ...), with an optional \"slot\"";
    let pick = match v {
        Value::Number(n) => Pick::Oldest(n.as_u64().ok_or(WHAT)? as usize),
        Value::String(s) if s == "all" => Pick::All,
        Value::String(s) => MsgKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .map(|k| Pick::Kind(k, slot))
            .ok_or_else(|| format!("{WHAT}, not \"{s}\""))?,
        _ => return Err(format!("{WHAT}, not {v}")),
    };
    if slot.is_some() && !matches!(pick, Pick::Kind(..)) {
        return Err("\"slot\" goes with a message kind".into());
    }
    Ok(pick)
}

/// A caption to show over the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caption {
    pub title: String,
    pub text: String,
}

/// A lesson being run: where it is.
#[derive(Clone, Debug)]
pub struct LessonRun {
    lesson: Lesson,
    next: usize,
}

impl LessonRun {
    pub fn new(lesson: Lesson) -> LessonRun {
        LessonRun { lesson, next: 0 }
    }

    pub fn done(&self) -> bool {
        self.next >= self.lesson.steps.len()
    }

    /// Runs steps up to the next caption (returned: the lesson waits for
    /// a key) or the end (`None`).
    pub fn advance(
        &mut self,
        app: &mut App,
        driver: &mut dyn Driver,
    ) -> Result<Option<Caption>, LessonError> {
        while let Some(step) = self.lesson.steps.get(self.next).cloned() {
            self.next += 1;
            let k = self.next;
            if let LessonStep::Say(text) = step {
                let n = self.lesson.steps.len();
                let title = format!(" {} · step {k}/{n} · any key goes on ", self.lesson.title);
                return Ok(Some(Caption { title, text }));
            }
            take(app, driver, &step).map_err(|what| err(Some(k), what))?;
        }
        Ok(None)
    }
}

/// Runs `lesson` to its end on `app` and `driver`, without a terminal:
/// every caption is passed at once. Returns the captions, in order.
pub fn run_headless(
    lesson: Lesson,
    app: &mut App,
    driver: &mut dyn Driver,
) -> Result<Vec<String>, LessonError> {
    let mut run = LessonRun::new(lesson);
    let mut captions = Vec::new();
    while !run.done() {
        if let Some(c) = run.advance(app, driver)? {
            captions.push(c.text);
        }
    }
    Ok(captions)
}

fn key(app: &mut App, driver: &mut dyn Driver, code: KeyCode) {
    let ev = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    pump(app, driver, Msg::Term(ev));
}

/// A command to the stepper, as the App would send it; what it says back
/// goes to the App.
fn command(app: &mut App, driver: &mut dyn Driver, cmd: StepCmd) {
    driver.effect(Effect::Demo(DemoCmd::Step(cmd)));
    for msg in driver.take() {
        pump(app, driver, msg);
    }
}

/// Shows site `site` (the demo keys act on the shown site), out of the
/// input box.
fn show(app: &mut App, driver: &mut dyn Driver, site: usize) -> Result<(), String> {
    if app.focus == Focus::Input {
        key(app, driver, KeyCode::Esc);
        key(app, driver, KeyCode::Esc);
    }
    if site < 9 {
        key(app, driver, KeyCode::Char((b'1' + site as u8) as char));
    }
    if app.shown != site {
        return Err(format!("cannot show site {}", site + 1));
    }
    Ok(())
}

/// Carries out one step but a caption.
fn take(app: &mut App, driver: &mut dyn Driver, step: &LessonStep) -> Result<(), String> {
    let name = |app: &App, i: usize| app.sites[i].name.clone();
    match *step {
        LessonStep::Say(_) => {}
        LessonStep::Tweet { ref text, site } => {
            show(app, driver, site)?;
            if !app.sites[site].up {
                return Err(format!("{} is down: it cannot tweet", name(app, site)));
            }
            key(app, driver, KeyCode::Char('i'));
            for c in text.chars() {
                key(app, driver, KeyCode::Char(c));
            }
            key(app, driver, KeyCode::Enter);
        }
        LessonStep::Crash(i) | LessonStep::Restart(i) => {
            let crash = matches!(step, LessonStep::Crash(_));
            show(app, driver, i)?;
            if app.sites[i].up == crash {
                key(app, driver, KeyCode::Char(if crash { 'x' } else { 'r' }));
            }
            if app.sites[i].up == crash {
                return Err(format!("{} did not go {}", name(app, i), updown(!crash)));
            }
        }
        LessonStep::Cut(i) | LessonStep::Heal(i) => {
            let cut = matches!(step, LessonStep::Cut(_));
            show(app, driver, i)?;
            if app.sites[i].cut_off != cut {
                key(app, driver, KeyCode::Char('c'));
            }
        }
        LessonStep::Link { .. } => link(app, driver, step),
        LessonStep::Timer(i) => {
            show(app, driver, i)?;
            command(app, driver, StepCmd::NextTimer(i));
        }
        LessonStep::RunUntil { until, budget_ms } => run_until(app, driver, until, budget_ms)?,
        LessonStep::Deliver(pick) => {
            for id in picked(app, pick) {
                command(app, driver, StepCmd::Deliver(id));
            }
        }
        LessonStep::Drop(pick) => {
            for id in picked(app, pick) {
                command(app, driver, StepCmd::Drop(id));
            }
        }
    }
    Ok(())
}

/// A `link` step: the matrix changed as its keys would, one change (one
/// step of the run) for all the step sets.
fn link(app: &mut App, driver: &mut dyn Driver, step: &LessonStep) {
    let LessonStep::Link {
        from,
        to,
        down,
        both,
        loss,
        delay_ms,
    } = *step
    else {
        return;
    };
    let names: Vec<String> = app.sites.iter().map(|s| s.name.clone()).collect();
    let mut links = app.links.clone();
    let mut why = Vec::new();
    if let (Some(to), Some(down)) = (to, down) {
        links.set(from, to, down);
        if both {
            links.set(to, from, down);
        }
        let arrow = if both { "↔" } else { "→" };
        why.push(format!(
            "{}{arrow}{} {}",
            names[from],
            names[to],
            updown(!down)
        ));
    }
    if let Some(l) = loss {
        links.set_loss(from, l);
        why.push(format!("loss of {} {l}%", names[from]));
    }
    if let Some(d) = delay_ms {
        links.set_delay(from, d);
        why.push(format!("delay of {} {d}ms", names[from]));
    }
    if links != app.links {
        let why = why.join(", ");
        driver.effect(Effect::Demo(DemoCmd::Links { links, why }));
        for msg in driver.take() {
            pump(app, driver, msg);
        }
    }
}

fn updown(up: bool) -> &'static str {
    if up {
        "up"
    } else {
        "down"
    }
}

/// The ids of the messages in flight `pick` picks, oldest first.
fn picked(app: &App, pick: Pick) -> Vec<u64> {
    let Some(step) = &app.step else {
        return Vec::new();
    };
    let q = &step.view.queue;
    let ids = q.iter().filter(|m| match pick {
        Pick::Oldest(_) | Pick::All => true,
        Pick::Kind(kind, slot) => m.msg.kind == kind && (slot.is_none() || m.msg.slot == slot),
    });
    let n = match pick {
        Pick::Oldest(n) => n,
        _ => usize::MAX,
    };
    ids.take(n).map(|m| m.id).collect()
}

/// The leader some running site follows, the first found.
fn a_leader(app: &App) -> Option<usize> {
    app.sites
        .iter()
        .filter(|s| s.up)
        .filter_map(|s| s.status.as_ref()?.leader)
        .map(|l| l as usize)
        .next()
}

fn holds(app: &App, until: Until, before: Option<usize>) -> bool {
    match until {
        Until::Decided(n) => app.sites.iter().filter(|s| s.up).all(|s| s.decided() >= n),
        Until::Nack => app
            .step
            .as_ref()
            .is_some_and(|s| s.view.queue.iter().any(|m| m.msg.kind == MsgKind::Nack)),
        Until::LeaderChange => app.sites.iter().filter(|s| s.up).any(|s| {
            let l = s
                .status
                .as_ref()
                .and_then(|st| st.leader)
                .map(|l| l as usize);
            l.is_some_and(|l| Some(l) != before && app.sites.get(l).is_some_and(|m| m.up))
        }),
    }
}

fn describe(until: Until) -> String {
    match until {
        Until::Decided(n) => format!("every running site has decided {n} slots"),
        Until::Nack => "a nack is in flight".into(),
        Until::LeaderChange => "another leader is followed".into(),
    }
}

/// Runs freely (as `Space` does), a little virtual time at a time, until
/// `until` holds; then pauses.
fn run_until(
    app: &mut App,
    driver: &mut dyn Driver,
    until: Until,
    budget_ms: u64,
) -> Result<(), String> {
    let before = a_leader(app);
    if holds(app, until, before) && until != Until::LeaderChange {
        return Ok(());
    }
    let now = |app: &App| app.step.as_ref().map_or(0, |s| s.view.now_ms);
    let start = now(app);
    command(app, driver, StepCmd::Speed(super::START_SPEED));
    command(app, driver, StepCmd::Play(true));
    let mut met = false;
    while now(app) <= start + budget_ms {
        driver.frame(RUN_STEP_MS);
        for msg in driver.take() {
            pump(app, driver, msg);
        }
        if holds(app, until, before) {
            met = true;
            break;
        }
    }
    command(app, driver, StepCmd::Play(false));
    if met {
        Ok(())
    } else {
        Err(format!(
            "run_until: not met within {budget_ms} ms of virtual time: {}",
            describe(until)
        ))
    }
}

/// A lesson's caption over the lower part of the screen.
pub fn draw_caption(theme: &Theme, frame: &mut Frame, caption: &Caption) {
    let screen = frame.area();
    let w = screen.width.saturating_sub(4).min(72);
    if w < 12 || screen.height < 6 {
        return;
    }
    let inner = (w - 4) as usize;
    let rows: usize = caption
        .text
        .lines()
        .map(|l| l.chars().count().div_ceil(inner).max(1))
        .sum();
    let h = (rows as u16 + 2).min(screen.height.saturating_sub(2));
    let r = Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, r);
    let mut block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(caption.title.clone());
    if let Some(base) = theme.base() {
        block = block.style(base);
    }
    let lines: Vec<Line> = caption
        .text
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    let p = Paragraph::new(lines).block(block).wrap(Wrap { trim: true });
    frame.render_widget(p, r);
}

/// A lesson error, as the App shows it.
pub fn error_msg(e: &LessonError) -> Msg {
    Msg::Demo(DemoEvent::Error(format!("{e}")))
}
