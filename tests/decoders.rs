//! Hostile input to every decoder of bytes from outside that the public API
//! offers: a peer's line (SPEC 7), a control request (SPEC 8) and a config
//! file. For each: arbitrary input and arbitrary mutations of valid input
//! never panic and get a clear error (or decode to something that encodes
//! and decodes again the same), and valid input round-trips. The storage
//! decoders (WAL batches, checkpoints) are tested the same way inside the
//! crate, in `src/storage/tests/decode.rs`. `fuzz/` has coverage-guided
//! targets for the peer and control decoders.

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::{json, Value as Json};
use tweettui::config::{Config, SiteConfig};
use tweettui::net::{decode_line, encode_seq, Fault};
use tweettui::paxos::{AcceptedEntry, Ballot, DecidedEntry, Message};
use tweettui::site::api::Request;
use tweettui::site::control::parse_request;
use tweettui::state::op::{Command, Op, OpId, Value};

// ---------------------------------------------------------------- inputs

/// Text with the characters that break decoders: quotes, backslashes,
/// control characters, multi-byte UTF-8, JSON punctuation.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \"\\\\{}\\[\\]:,\\n\\t\u{0}\u{7f}\u{2028}é日😀]{0,40}",
    ]
}

/// Mutations of a valid input: bytes flipped, removed, inserted, or the
/// input cut.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Insert(prop::sample::Index, u8),
    Cut(prop::sample::Index),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Cut),
    ];
    prop::collection::vec(one, 1..6)
}

fn mutate(mut bytes: Vec<u8>, how: &[Mutation]) -> Vec<u8> {
    for m in how {
        if bytes.is_empty() {
            bytes.push(b'{');
        }
        match m {
            Mutation::Flip(i, x) => {
                let at = i.index(bytes.len());
                bytes[at] ^= x;
            }
            Mutation::Remove(i) => {
                bytes.remove(i.index(bytes.len()));
            }
            Mutation::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Mutation::Cut(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

fn ballot() -> impl Strategy<Value = Ballot> {
    (any::<u64>(), any::<u32>()).prop_map(|(r, s)| Ballot::new(r, s))
}

fn op_id() -> impl Strategy<Value = OpId> {
    (any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(site, boot, seq)| OpId {
        site,
        boot,
        seq,
    })
}

fn op() -> impl Strategy<Value = Op> {
    let time = (0i64..4_000_000_000, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap_or_default());
    prop_oneof![
        (nasty_text(), nasty_text(), time).prop_map(|(user, text, time)| Op::Tweet {
            user,
            text,
            time
        }),
        (nasty_text(), nasty_text()).prop_map(|(user, target)| Op::Block { user, target }),
        (nasty_text(), nasty_text()).prop_map(|(user, target)| Op::Unblock { user, target }),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    (op_id(), op()).prop_map(|(id, op)| Command { id, op })
}

fn value() -> impl Strategy<Value = Value> {
    prop::collection::vec(command(), 0..3).prop_map(Value::batch)
}

fn message() -> impl Strategy<Value = Message> {
    let slot = any::<u64>;
    let slots = || prop::collection::vec(any::<u64>(), 0..4);
    let accepted = (slot(), ballot(), value()).prop_map(|(slot, ballot, value)| AcceptedEntry {
        slot,
        ballot,
        value,
    });
    let decided = (slot(), value()).prop_map(|(slot, value)| DecidedEntry { slot, value });
    prop_oneof![
        (ballot(), slot(), any::<bool>()).prop_map(|(ballot, from_slot, rejoin)| {
            Message::Prepare {
                ballot,
                from_slot,
                rejoin,
            }
        }),
        (
            (ballot(), slot(), slot()),
            prop::collection::vec(accepted, 0..3),
            slots(),
            (any::<u32>(), any::<u32>(), any::<u64>()),
        )
            .prop_map(
                |(
                    (ballot, from_slot, decided_upto),
                    accepted,
                    decided_beyond,
                    (part, parts, answer),
                )| {
                    Message::Promise {
                        ballot,
                        from_slot,
                        decided_upto,
                        accepted,
                        decided_beyond,
                        part,
                        parts,
                        answer,
                    }
                },
            ),
        (ballot(), slot(), value()).prop_map(|(ballot, slot, value)| Message::Accept {
            ballot,
            slot,
            value
        }),
        (ballot(), slot()).prop_map(|(ballot, slot)| Message::Ack { ballot, slot }),
        (ballot(), any::<Option<u64>>()).prop_map(|(ballot, slot)| Message::Nack { ballot, slot }),
        (ballot(), slot(), value()).prop_map(|(ballot, slot, value)| Message::Commit {
            ballot,
            slot,
            value
        }),
        (ballot(), slot(), any::<Option<u64>>()).prop_map(|(ballot, decided_upto, max_decided)| {
            Message::Heartbeat {
                ballot,
                decided_upto,
                max_decided,
            }
        }),
        ballot().prop_map(|ballot| Message::HeartbeatAck { ballot }),
        (ballot(), prop::collection::vec(command(), 0..3))
            .prop_map(|(ballot, cmds)| Message::Forward { ballot, cmds }),
        (ballot(), slot(), prop::collection::vec(op_id(), 0..3))
            .prop_map(|(ballot, slot, ids)| Message::Assigned { ballot, slot, ids }),
        (ballot(), prop::collection::vec(op_id(), 0..3))
            .prop_map(|(ballot, ids)| Message::Rejected { ballot, ids }),
        (slot(), slot()).prop_map(|(from, to)| Message::Fetch { from, to }),
        any::<u64>().prop_map(|nonce| Message::Probe { nonce }),
        (
            slot(),
            prop::collection::vec(decided, 0..3),
            ballot(),
            any::<u64>()
        )
            .prop_map(
                |(decided_upto, entries, promised, probe)| Message::Decided {
                    decided_upto,
                    entries,
                    promised,
                    probe
                }
            ),
    ]
}

/// A request and the line a script would send for it (SPEC 8).
fn request() -> impl Strategy<Value = (Request, Json)> {
    let fault = (
        prop::collection::vec(0u32..8, 0..3),
        prop::collection::vec(0u32..8, 0..3),
        0.0f64..=1.0,
        any::<u64>(),
    )
        .prop_map(|(drop_to, drop_from, loss, delay_ms)| Fault {
            drop_to,
            drop_from,
            loss,
            delay_ms,
        });
    prop_oneof![
        nasty_text().prop_map(|t| (
            Request::Tweet(t.clone()),
            json!({"head": "tweet", "body": t})
        )),
        nasty_text().prop_map(|t| (
            Request::Block(t.clone()),
            json!({"head": "block", "body": t})
        )),
        nasty_text().prop_map(|t| (
            Request::Unblock(t.clone()),
            json!({"head": "unblock", "body": t})
        )),
        Just((Request::View(None), json!({"head": "view", "body": null}))),
        Just((Request::Blocked, json!({"head": "blocked"}))),
        Just((Request::Status, json!({"head": "status", "body": null}))),
        Just((
            Request::Log {
                from: None,
                to: None
            },
            json!({"head": "log", "body": null})
        )),
        any::<u64>().prop_map(|from| {
            (
                Request::Log {
                    from: Some(from),
                    to: None,
                },
                json!({"head": "log", "body": {"from": from}}),
            )
        }),
        (any::<u64>(), any::<u64>()).prop_map(|(from, limit)| {
            let req = Request::Log {
                from: Some(from),
                to: Some(from.saturating_add(limit)),
            };
            (
                req,
                json!({"head": "log", "body": {"from": from, "limit": limit}}),
            )
        }),
        fault.prop_map(|f| {
            let body = serde_json::to_value(&f).unwrap_or(Json::Null);
            (Request::Fault(f), json!({"head": "fault", "body": body}))
        }),
    ]
}

/// A valid config: 1 to 7 sites with distinct plain-word names.
fn config() -> impl Strategy<Value = Config> {
    let site = ("[a-z0-9_-]{0,8}", any::<bool>(), any::<bool>());
    (
        prop::collection::vec(site, 1..=7),
        1024u16..60_000,
        1u64..100_000,
        1u64..100_000,
    )
        .prop_map(|(sites, base, timeout_ms, submit_timeout_ms)| Config {
            sites: sites
                .into_iter()
                .enumerate()
                .map(|(i, (word, host, explicit))| {
                    let port = base + 2 * i as u16;
                    SiteConfig {
                        // The index after the last '-' keeps names distinct.
                        name: format!("n{word}-{i}"),
                        addr: if host {
                            format!("host-{i}.example")
                        } else {
                            "127.0.0.1".into()
                        },
                        port,
                        control_port: explicit.then_some(port + 1),
                    }
                })
                .collect(),
            timeout_ms,
            submit_timeout_ms,
            secret: None,
        })
}

// ---------------------------------------------------------------- checks

/// A peer line that decoded re-encodes to a line that decodes the same.
fn stable_line(line: &str) {
    if let Ok(l) = decode_line(line) {
        let again = encode_seq(l.from, l.seq, &l.msg).expect("re-encodes");
        let back = decode_line(&again).expect("decodes again");
        assert_eq!((back.from, back.seq, &back.msg), (l.from, l.seq, &l.msg));
    } else if let Err(e) = decode_line(line) {
        assert!(!e.to_string().is_empty());
    }
}

/// A control request that is refused is refused with 400 and the usage.
fn answered(line: &str) {
    if let Err(resp) = parse_request(line) {
        assert_eq!(resp.stat, 400, "{line:?}");
        let msg = &resp.reason;
        assert!(msg.contains("commands: tweet"), "{line:?}: {msg}");
    }
}

/// A config that parsed is valid and survives writing out and reading
/// back; a refused one says which file.
fn config_checked(text: &str) {
    match Config::parse(text, "hostile.json") {
        Ok(c) => {
            assert!(c.validate().is_ok());
            let again = serde_json::to_string(&c).expect("writes out");
            assert_eq!(Config::parse(&again, "again.json").expect("reads back"), c);
        }
        Err(e) => assert!(e.to_string().contains("hostile.json"), "{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn peer_lines_round_trip(from in any::<u32>(), seq in any::<Option<u64>>(), msg in message()) {
        let line = encode_seq(from, seq, &msg).expect("encodes");
        prop_assert!(!line.contains('\n'));
        let back = decode_line(&line).expect("decodes");
        prop_assert_eq!((back.from, back.seq, back.msg), (from, seq, msg));
    }

    #[test]
    fn arbitrary_peer_lines_never_panic(text in nasty_text(), bytes in any::<Vec<u8>>()) {
        stable_line(&text);
        stable_line(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_peer_lines_never_panic(from in any::<u32>(), msg in message(), how in mutations()) {
        let line = encode_seq(from, Some(1), &msg).expect("encodes");
        let bad = mutate(line.into_bytes(), &how);
        // The transport's line codec hands over UTF-8 only.
        if let Ok(text) = std::str::from_utf8(&bad) {
            stable_line(text);
        }
    }

    #[test]
    fn control_requests_round_trip((req, line) in request()) {
        prop_assert_eq!(parse_request(&line.to_string()), Ok(req));
    }

    #[test]
    fn arbitrary_control_requests_get_400_or_parse(text in nasty_text(), bytes in any::<Vec<u8>>()) {
        answered(&text);
        answered(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_control_requests_get_400_or_parse((_req, line) in request(), how in mutations()) {
        let bad = mutate(line.to_string().into_bytes(), &how);
        if let Ok(text) = std::str::from_utf8(&bad) {
            answered(text);
        }
    }

    #[test]
    fn configs_round_trip(c in config()) {
        let text = serde_json::to_string_pretty(&c).expect("writes out");
        prop_assert_eq!(Config::parse(&text, "c.json").expect("valid"), c);
    }

    #[test]
    fn arbitrary_configs_are_refused_naming_the_file(text in nasty_text(), bytes in any::<Vec<u8>>()) {
        config_checked(&text);
        config_checked(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_configs_are_refused_or_valid(c in config(), how in mutations()) {
        let text = serde_json::to_string_pretty(&c).expect("writes out");
        let bad = mutate(text.into_bytes(), &how);
        if let Ok(text) = std::str::from_utf8(&bad) {
            config_checked(text);
        }
    }
}
