//! A peer's line (SPEC 7), as the transport hands it to the decoder: UTF-8
//! without its newline. Never a panic; a line that decodes re-encodes to a
//! line that decodes to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tweettui::net::{decode_line, encode_seq};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(l) = decode_line(line) {
        let again = encode_seq(l.from, l.seq, &l.msg).expect("a decoded message encodes");
        let back = decode_line(&again).expect("what we encode decodes");
        assert_eq!((back.from, back.seq, back.msg), (l.from, l.seq, l.msg));
    }
});
