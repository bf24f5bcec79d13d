//! Connection limits with real processes (SPEC 7): hundreds of idle
//! connections and a byte-trickling one against one site's peer and
//! control ports. The cluster still decides, a peer restarted during the
//! flood gets through to the flooded site, and the site closes every idle
//! and trickling connection (within a generous deadline).

mod common;

use common::*;
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Idle connections opened against each port.
const FLOOD: usize = 300;
/// How long the site may take to close them (its deadlines are 5 s for a
/// peer's first line and 10 s for a first request).
const CLOSED_WITHIN: Duration = Duration::from_secs(60);

fn flood(port: u16) -> Vec<TcpStream> {
    (0..FLOOD)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect"))
        .collect()
}

/// A connection that writes `text` one byte every 100 ms without ever
/// finishing the line; the flag turns true when the site has closed it.
fn trickle(port: u16, text: &str) -> Arc<AtomicBool> {
    let closed = Arc::new(AtomicBool::new(false));
    let flag = closed.clone();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let bytes: Vec<u8> = text.bytes().filter(|&b| b != b'\n').collect();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + CLOSED_WITHIN;
        for b in bytes.iter().cycle() {
            if std::time::Instant::now() > deadline {
                return;
            }
            if s.write_all(&[*b]).is_err() {
                flag.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    closed
}

/// Has the site closed `s` (end of stream or reset), waiting up to `wait`?
fn closed_by_site(s: &mut TcpStream, wait: Duration) -> bool {
    let _ = s.set_read_timeout(Some(wait));
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn idle_and_trickling_connections_do_not_stop_the_cluster() {
    let mut c = Cluster::started(3);
    let (alice, bob, carol) = (0, 1, 2);
    assert_eq!(c.tweet(alice, "before the flood")["stat"], 200);

    let mut peer_flood = flood(c.peer_ports[alice]);
    let mut control_flood = flood(c.control_ports[alice]);
    let peer_trickle = trickle(
        c.peer_ports[alice],
        r#"{"from":1,"head":"fetch","body":{"from":0,"to":1}}"#,
    );
    let control_trickle = trickle(c.control_ports[alice], r#"{"head":"status","body":null}"#);

    // The cluster decides, through alice's flooded control port too.
    for (i, text) in [(alice, "alice in the flood"), (bob, "bob in the flood")] {
        let r = c.tweet(i, text);
        assert_eq!(r["stat"], 200, "{r}; log:\n{}", c.log(i));
    }

    // bob restarts: his new connection to alice gets through the flood.
    // Then carol goes: alice and bob are the majority, so every decision
    // needs bob's connection to alice.
    c.kill(bob);
    c.start(bob);
    c.wait_up(bob);
    let reconnected = wait_until(Duration::from_secs(20), || {
        let s = c.call(alice, "status", Json::Null);
        s["body"]["peers"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["connected"] == true))
    });
    assert!(reconnected, "bob not reconnected; log:\n{}", c.log(alice));
    c.kill(carol);
    for (i, text) in [(bob, "bob, carol gone"), (alice, "alice, carol gone")] {
        let r = c.tweet(i, text);
        assert_eq!(r["stat"], 200, "{r}; log:\n{}", c.log(i));
    }

    // alice closed every idle connection and both trickling ones.
    for (what, conns) in [("peer", &mut peer_flood), ("control", &mut control_flood)] {
        for (n, s) in conns.iter_mut().enumerate() {
            assert!(
                closed_by_site(s, CLOSED_WITHIN),
                "idle {what} connection {n} still open"
            );
        }
    }
    for (what, flag) in [("peer", &peer_trickle), ("control", &control_trickle)] {
        let ok = wait_until(CLOSED_WITHIN, || flag.load(Ordering::SeqCst));
        assert!(ok, "the trickling {what} connection is still open");
    }
    // Still deciding.
    assert_eq!(c.tweet(alice, "after the flood")["stat"], 200);
    let texts = c.view_texts(bob);
    assert!(
        texts.contains(&"alice, carol gone".to_string()),
        "{texts:?}"
    );
}
