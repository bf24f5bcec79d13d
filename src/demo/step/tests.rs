//! The stepper on its own (the screen's tests are in tests/step.rs).

use super::*;
use crate::ui::step::Driver;

fn names(n: usize) -> Vec<String> {
    crate::config::LOOPBACK_NAMES[..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn a_new_run_is_born_and_still() {
    let s = Stepper::new(names(3), 7, 0).expect("starts");
    assert!(s.engine().queue().is_empty());
    assert!(s.choices().is_empty());
    for i in 0..3 {
        let c = s.engine().core(i).expect("up");
        assert_eq!(c.membership(), crate::paxos::Membership::Voting);
    }
}

#[test]
fn a_saved_run_loads_back_the_same_and_a_bad_file_is_refused() {
    let mut s = Stepper::new(names(3), 3, 0).expect("starts");
    s.effect(Effect::Request {
        site: 0,
        tag: 1,
        req: crate::site::api::Request::Tweet("hi".into()),
    });
    s.effect(Effect::Demo(DemoCmd::Step(StepCmd::UntilDecision)));
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("run.json");
    choice::save(&s, &path).expect("saved");
    let back = choice::load(&path).expect("loaded");
    assert_eq!(back.choices(), s.choices());
    assert_eq!(back.engine().now(), s.engine().now());
    assert_eq!(
        back.engine().site(1).disk.archive,
        s.engine().site(1).disk.archive
    );
    std::fs::write(&path, "{\"format\":\"x\"}").expect("written");
    let e = format!("{:#}", choice::load(&path).err().expect("refused"));
    assert!(e.contains("not a saved run"), "{e}");
    let mut bad: SavedRun = serde_json::from_str(
        &serde_json::to_string(&SavedRun {
            format: "tweettui-step".into(),
            version: 1,
            sites: names(3),
            seed: 3,
            epoch_ms: 0,
            choices: vec![Choice::Deliver { id: 999_999 }],
        })
        .expect("json"),
    )
    .expect("back");
    std::fs::write(&path, serde_json::to_string(&bad).expect("json")).expect("written");
    let e = format!("{:#}", choice::load(&path).err().expect("refused"));
    assert!(e.contains("cannot be played back"), "{e}");
    bad.version = 9;
    std::fs::write(&path, serde_json::to_string(&bad).expect("json")).expect("written");
    let e = format!("{:#}", choice::load(&path).err().expect("refused"));
    assert!(e.contains("version 9"), "{e}");
}
