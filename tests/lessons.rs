//! The shipped lessons (`assets/lessons/`), run headlessly to their end
//! on `demo --step` through the App's update loop (`ui::step::pump`), as
//! `tweettui demo --step --lesson FILE` runs them but that every caption
//! is passed at once. Step mode is deterministic: so is every lesson.

use tweettui::demo::step::Stepper;
use tweettui::paxos::Slot;
use tweettui::ui::step::lesson::run_headless;
use tweettui::ui::step::Lesson;
use tweettui::ui::App;

#[path = "common/stepped.rs"]
mod stepped;

use stepped::names;

struct Run {
    app: App,
    stepper: Stepper,
}

impl Run {
    fn new() -> Run {
        let (app, stepper) = stepped::start((120, 40));
        Run { app, stepper }
    }

    /// Runs the shipped lesson `file` to its end; its captions.
    fn lesson(&mut self, file: &str) -> Vec<String> {
        let path = format!("{}/assets/lessons/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the lesson is shipped");
        let lesson = Lesson::parse(&text, &names()).expect("the lesson parses");
        run_headless(lesson, &mut self.app, &mut self.stepper).expect("the lesson runs to its end")
    }

    /// Site `site`'s decided log: one summary per slot.
    fn log(&self, site: usize) -> Vec<String> {
        let s = &self.stepper.engine().site(site as u32).disk.archive;
        s.iter().map(|v| v.summary()).collect()
    }

    fn safe(&self) {
        let v = self.app.safety.as_ref().and_then(|s| s.violation());
        assert_eq!(v, None, "safety holds");
        let logs: Vec<Vec<String>> = (0..5).map(|i| self.log(i)).collect();
        for a in &logs {
            for b in &logs {
                let n = a.len().min(b.len());
                assert_eq!(a[..n], b[..n], "the logs agree where both decided");
            }
        }
    }

    fn slot_of(&self, site: usize, text: &str) -> Option<Slot> {
        self.log(site)
            .iter()
            .position(|v| v.contains(text))
            .map(|i| i as Slot)
    }
}

#[test]
fn the_normal_round_decides_both_tweets_everywhere() {
    let mut r = Run::new();
    let captions = r.lesson("normal-round.json");
    assert_eq!(captions.len(), 7);
    for site in 0..5 {
        assert_eq!(
            r.slot_of(site, "hello, Paxos"),
            Some(0),
            "{:?}",
            r.log(site)
        );
        assert_eq!(r.slot_of(site, "and again"), Some(1), "{:?}", r.log(site));
    }
    r.safe();
}

#[test]
fn the_value_accepted_before_the_leader_crashed_survives_in_its_slot() {
    let mut r = Run::new();
    r.lesson("leader-crash-after-accept.json");
    assert!(!r.app.sites[0].up, "alice is down");
    let leader = r.app.sites[1].status.as_ref().and_then(|s| s.leader);
    assert!(leader.is_some_and(|l| l != 0), "another leader: {leader:?}");
    for site in 1..5 {
        assert_eq!(r.slot_of(site, "I survive"), Some(1), "{:?}", r.log(site));
    }
    r.safe();
}

#[test]
fn dueling_proposers_see_a_nack_and_both_tweets_are_decided_once() {
    let mut r = Run::new();
    r.lesson("dueling-proposers.json");
    for site in 0..5 {
        let log = r.log(site);
        let a = log.iter().filter(|v| v.contains("alice first")).count();
        let b = log.iter().filter(|v| v.contains("no, bob first")).count();
        assert_eq!((a, b), (1, 1), "{log:?}");
    }
    r.safe();
}

#[test]
fn a_lesson_runs_the_same_every_time() {
    let run = || {
        let mut r = Run::new();
        r.lesson("dueling-proposers.json");
        (
            (0..5).map(|i| r.log(i)).collect::<Vec<_>>(),
            r.stepper.choices().len(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn a_bad_lesson_says_which_step_is_wrong() {
    let bad = |text: &str| Lesson::parse(text, &names()).unwrap_err().to_string();
    assert_eq!(
        bad(r#"{"steps": [{"say": "hi"}, {"crash": "zoe"}]}"#),
        "lesson step 2: no site \"zoe\" (sites: alice, bob, carol, dave, erin)"
    );
    assert!(bad(r#"{"steps": [{"fly": 1}]}"#).starts_with("lesson step 1: unknown step"));
    assert!(bad(r#"{"steps": [{"tweet": "x"}]}"#).starts_with("lesson step 1: a tweet says who"));
    assert!(
        bad(r#"{"steps": [{"run_until": "never"}]}"#).starts_with("lesson step 1: run_until takes")
    );
    assert!(bad(r#"{"steps": [{"deliver": "parcel"}]}"#)
        .starts_with("lesson step 1: deliver and drop take"));
    assert!(bad("{\"steps\": [").starts_with("lesson: not JSON"));
    assert!(bad("[]").starts_with("lesson: expected an object"));
}

#[test]
fn a_condition_not_met_in_time_fails_clearly() {
    let mut r = Run::new();
    let text = r#"{"steps": [{"say": "x"}, {"run_until": {"decided": 1}, "within_ms": 500}]}"#;
    let lesson = Lesson::parse(text, &names()).unwrap();
    let e = run_headless(lesson, &mut r.app, &mut r.stepper).unwrap_err();
    assert_eq!(e.step, Some(2));
    assert!(e.to_string().contains("not met within 500 ms"), "{e}");
}

/// Run as the terminal loop runs it: the lesson stops at each caption,
/// which is drawn over the screen, and goes on when asked (a key).
#[test]
fn a_caption_is_drawn_over_the_screen_and_the_lesson_waits_for_it() {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use tweettui::ui::step::lesson::draw_caption;
    use tweettui::ui::step::LessonRun;
    let mut r = Run::new();
    let text = r#"{"title": "Two captions", "steps": [{"say": "first words"},
        {"tweet": "between", "as": "alice"}, {"say": "second words"}]}"#;
    let mut run = LessonRun::new(Lesson::parse(text, &names()).unwrap());
    let first = run.advance(&mut r.app, &mut r.stepper).unwrap().unwrap();
    assert_eq!(first.text, "first words");
    assert!(first.title.contains("Two captions · step 1/3"));
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| {
        tweettui::ui::draw(&r.app, f);
        draw_caption(&r.app.theme, f, &first);
    })
    .unwrap();
    let screen = format!("{}", t.backend());
    assert!(screen.contains("first words"), "{screen}");
    assert!(r.queue_is_empty(), "nothing ran before the key");
    let second = run.advance(&mut r.app, &mut r.stepper).unwrap().unwrap();
    assert_eq!(second.text, "second words");
    assert!(
        !r.queue_is_empty(),
        "the tweet was sent between the captions"
    );
    assert_eq!(run.advance(&mut r.app, &mut r.stepper).unwrap(), None);
    assert!(run.done());
}

impl Run {
    fn queue_is_empty(&self) -> bool {
        self.app
            .step
            .as_ref()
            .is_none_or(|s| s.view.queue.is_empty())
    }
}

/// `link` steps set the link matrix as its keys would (each one step of
/// the run); `timer` fires a site's next timer. Cut alice's links both
/// ways one by one and she cannot lead: bob's tweet elects another (alice
/// is then crashed: cut off, she could not decide it, and `run_until`
/// waits for every running site).
#[test]
fn link_and_timer_steps_set_the_matrix_and_fire_timers() {
    let mut r = Run::new();
    let text = r#"{"steps": [
        {"tweet": "lead", "as": "alice"},
        {"run_until": {"decided": 1}},
        {"link": "alice", "to": "bob", "down": true, "both": true},
        {"link": "alice", "to": "carol", "down": true, "both": true},
        {"link": "alice", "to": "dave", "down": true, "both": true},
        {"link": "alice", "to": "erin", "down": true, "both": true, "loss": 30, "delay_ms": 200},
        {"link": "erin", "to": "alice", "down": false},
        {"timer": "alice"},
        {"tweet": "bob goes on", "as": "bob"},
        {"crash": "alice"},
        {"run_until": {"decided": 2}, "within_ms": 10000}
    ]}"#;
    let lesson = Lesson::parse(text, &names()).expect("parses");
    let steps = r.stepper.choices().len();
    run_headless(lesson, &mut r.app, &mut r.stepper).expect("runs");
    let links = r.stepper.links();
    assert!(links.is_down(0, 1) && links.is_down(1, 0) && !links.is_down(4, 0));
    assert!(links.is_down(0, 4) && !r.app.sites[0].cut_off);
    assert_eq!((links.loss(0), links.delay(0)), (30, 200));
    assert_eq!(&r.app.links, links, "the App's matrix is the stepper's");
    let link_steps = r.stepper.choices()[steps..]
        .iter()
        .filter(|c| matches!(c, tweettui::demo::step::Choice::Links { .. }))
        .count();
    assert_eq!(link_steps, 5);
    assert!(r.stepper.choices()[steps..]
        .iter()
        .any(|c| matches!(c, tweettui::demo::step::Choice::NextTimer { site: 0 })));
    for site in 1..5 {
        assert_eq!(r.slot_of(site, "bob goes on"), Some(1), "{:?}", r.log(site));
    }
    assert!(r.stepper.leader().is_some_and(|l| l != 0));
    r.safe();
    let bad = |text: &str| Lesson::parse(text, &names()).unwrap_err().to_string();
    assert!(bad(r#"{"steps": [{"link": "alice", "down": true}]}"#).contains("go with its \"to\""));
    assert!(bad(r#"{"steps": [{"link": "alice", "loss": 101}]}"#).contains("0 to 100"));
    assert!(
        bad(r#"{"steps": [{"link": "alice", "to": "zoe", "down": true}]}"#)
            .contains("no site \"zoe\"")
    );
    assert!(bad(r#"{"steps": [{"link": "alice", "to": "bob"}]}"#).contains("go with its"));
}
