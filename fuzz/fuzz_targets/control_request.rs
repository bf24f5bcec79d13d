//! A control request line (SPEC 8), as the control endpoint hands it to the
//! parser: UTF-8 without its newline. Never a panic; a refusal is a 400
//! that gives the usage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tweettui::site::control::parse_request;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(answer) = parse_request(line) {
        assert_eq!(answer.stat, 400, "{line:?}");
        let usage = &answer.reason;
        assert!(usage.contains("commands: tweet"), "{line:?}: {usage}");
    }
});
