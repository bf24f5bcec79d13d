//! The control protocol's codes (SPEC 8), case by case, over the real
//! control port of real `tweettui --headless` processes: 400 for a request
//! that can never succeed as written, 409 only for a refusal by the current
//! state, 200 for what is done.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends one raw line (what a script could send) and reads the answer.
fn raw(c: &Cluster, line: &str) -> Json {
    let mut s = TcpStream::connect(("127.0.0.1", c.control_ports[0])).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // A site that answers and closes early may make a long write fail.
    let _ = s.write_all(line.as_bytes());
    let mut answer = String::new();
    let _ = BufReader::new(s).read_line(&mut answer);
    serde_json::from_str(&answer)
        .unwrap_or_else(|_| panic!("no JSON answer to {line:?}: {answer:?}"))
}

fn stat(v: &Json) -> u64 {
    v["stat"].as_u64().unwrap_or(0)
}

#[test]
fn codes_follow_spec_8_case_by_case() {
    let c = Cluster::started(2);
    let alice = 0;
    let call = |head: &str, body: Json| c.call(alice, head, body);

    // 400: malformed requests.
    let cases_400: Vec<(&str, Json)> = vec![
        (
            "malformed JSON",
            raw(&c, "{\"head\": \"tweet\", \"body\": \n"),
        ),
        ("not an object", raw(&c, "[\"tweet\", \"hi\"]\n")),
        ("unknown head", call("dance", Json::Null)),
        ("missing head", raw(&c, "{\"body\": \"hi\"}\n")),
        ("a body of the wrong type", call("tweet", json!(5))),
        ("block with no user", call("block", Json::Null)),
        ("view with a body", call("view", json!("x"))),
        (
            "a request line over the limit",
            raw(&c, &format!("{}\n", "x".repeat(70 * 1024))),
        ),
        // 400: tweets that can never be posted.
        ("an empty tweet", call("tweet", json!(""))),
        (
            "a tweet empty after trimming",
            call("tweet", json!("  \u{3000} ")),
        ),
        (
            "a tweet of 281 characters",
            call("tweet", json!("é".repeat(281))),
        ),
        ("a tweet with a newline", call("tweet", json!("two\nlines"))),
        ("a tweet with a tab", call("tweet", json!("a\tb"))),
        ("a tweet with a bell", call("tweet", json!("ding\u{7}"))),
        // 400: users who are not a site, and oneself.
        ("block of an unknown user", call("block", json!("zed"))),
        ("unblock of an unknown user", call("unblock", json!("zed"))),
        (
            "block of a name in another case",
            call("block", json!("Bob")),
        ),
        ("block of oneself", call("block", json!("alice"))),
        ("unblock of oneself", call("unblock", json!("alice"))),
    ];
    for (case, answer) in &cases_400 {
        assert_eq!(stat(answer), 400, "{case}: {answer}");
        assert!(
            answer["body"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}: says why: {answer}"
        );
    }

    // 409: refusals by the current state, around the 200s that change it.
    let not_blocked = call("unblock", json!("bob"));
    assert_eq!(
        stat(&not_blocked),
        409,
        "unblock of a user not blocked: {not_blocked}"
    );
    let block = call("block", json!("bob"));
    assert_eq!(stat(&block), 200, "block: {block}");
    let again = call("block", json!("bob"));
    assert_eq!(
        stat(&again),
        409,
        "block of a user already blocked: {again}"
    );
    let unblock = call("unblock", json!("bob"));
    assert_eq!(stat(&unblock), 200, "unblock: {unblock}");
    let twice = call("unblock", json!("bob"));
    assert_eq!(
        stat(&twice),
        409,
        "unblock of a user no longer blocked: {twice}"
    );

    // 200 at the edges of the tweet rules.
    let longest = call("tweet", json!("é".repeat(280)));
    assert_eq!(stat(&longest), 200, "a tweet of 280 characters: {longest}");
    let padded = call("tweet", json!("  padded  "));
    assert_eq!(stat(&padded), 200, "a tweet trimmed to its text: {padded}");

    // None of the refused requests reached the log.
    let kinds: Vec<Json> = c
        .log_of(alice)
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["op"]["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        [
            json!("block"),
            json!("unblock"),
            json!("tweet"),
            json!("tweet")
        ]
    );
}
