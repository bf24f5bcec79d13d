//! The transport on loopback: real sockets, free ports only, every wait a
//! condition with a deadline.

mod auth;
mod limits;

use super::*;
use crate::paxos::{Ballot, Message, SiteId};
use crate::state::op::{Command, Op, OpId};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// Deadline of every wait (they normally end in milliseconds).
const WAIT: Duration = Duration::from_secs(5);

type Inbound = mpsc::Receiver<(SiteId, Message)>;

struct Site {
    net: NetHandle,
    rx: Inbound,
}

fn msg(n: u64) -> Message {
    Message::Fetch { from: n, to: n + 1 }
}

fn line(from: SiteId, n: u64) -> String {
    format!("{}\n", encode(from, &msg(n)).unwrap())
}

fn config(me: SiteId, addrs: &[SocketAddr]) -> NetConfig {
    NetConfig {
        me,
        listen: addrs[me as usize],
        peers: (0..addrs.len() as SiteId)
            .filter(|&i| i != me)
            .map(|i| (i, addrs[i as usize].into()))
            .collect(),
        sites: addrs.len() as u32,
        secret: None,
        limits: Limits::PEER,
    }
}

/// Site 0 of `sites`, listening on a free port, with no peers to dial.
fn lone_config(sites: u32) -> NetConfig {
    NetConfig {
        me: 0,
        listen: "127.0.0.1:0".parse().unwrap(),
        peers: vec![],
        sites,
        secret: None,
        limits: Limits::PEER,
    }
}

/// A site started with `cfg` (see [`lone_config`]) on a free port.
async fn start_lone(cfg: NetConfig) -> Site {
    let (mut ls, _) = listeners(1);
    start_on(cfg, ls.pop().unwrap()).await
}

/// Listeners on free loopback ports, held so nobody takes them.
fn listeners(n: usize) -> (Vec<std::net::TcpListener>, Vec<SocketAddr>) {
    let ls: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs = ls.iter().map(|l| l.local_addr().unwrap()).collect();
    (ls, addrs)
}

/// Shows the transport's logs in a failing test's output.
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("tweettui=debug")
        .try_init();
}

async fn start_on(cfg: NetConfig, listener: std::net::TcpListener) -> Site {
    logs();
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let (tx, rx) = mpsc::channel(8192);
    let net = start_with_listener(cfg, listener, tx).await.unwrap();
    Site { net, rx }
}

/// `start` on the configured address, retried until the deadline (the port
/// was just freed; a stray connection could hold it for a moment).
async fn restart(cfg: NetConfig) -> Site {
    logs();
    let deadline = Instant::now() + WAIT;
    loop {
        let (tx, rx) = mpsc::channel(8192);
        match start(cfg.clone(), tx).await {
            Ok(net) => return Site { net, rx },
            Err(e) if Instant::now() < deadline => {
                eprintln!("retrying start: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("cannot restart: {e}"),
        }
    }
}

async fn cluster(n: usize) -> Vec<Site> {
    let (ls, addrs) = listeners(n);
    let mut sites = Vec::new();
    for (i, l) in ls.into_iter().enumerate() {
        sites.push(start_on(config(i as SiteId, &addrs), l).await);
    }
    for s in &sites {
        until("all peers connected", || {
            s.net.connected().iter().all(|p| p.1)
        })
        .await;
    }
    sites
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn recv(rx: &mut Inbound) -> (SiteId, Message) {
    timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for a message")
        .expect("inbound channel closed")
}

/// Waits until the other end closes `stream` (EOF or reset).
async fn expect_closed(stream: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 4096];
    timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("connection not closed after {what}"));
}

fn big_forward(bytes: usize) -> Message {
    Message::Forward {
        ballot: Ballot::new(1, 0),
        cmds: vec![Command {
            id: OpId {
                site: 0,
                boot: 1,
                seq: 1,
            },
            op: Op::Block {
                user: "alice".into(),
                target: "b".repeat(bytes),
            },
        }],
    }
}

#[tokio::test]
async fn three_sites_exchange_in_order_with_the_right_sender() {
    let mut sites = cluster(3).await;
    const N: u64 = 500;
    for n in 0..N {
        for (i, s) in sites.iter().enumerate() {
            for to in 0..3 {
                if to != i as SiteId {
                    s.net.send(to, msg(n * 10 + i as u64));
                }
            }
        }
    }
    // To self and to an unknown site: ignored.
    sites[0].net.send(0, msg(99));
    sites[0].net.send(7, msg(99));
    for (me, s) in sites.iter_mut().enumerate() {
        let mut next = [0u64; 3];
        for _ in 0..2 * N {
            let (from, m) = recv(&mut s.rx).await;
            assert_ne!(from as usize, me);
            let expected = next[from as usize] * 10 + from as u64;
            assert_eq!(m, msg(expected), "site {me}: from {from}, out of order");
            next[from as usize] += 1;
        }
        assert!(s.rx.try_recv().is_err());
    }
    for s in &sites {
        let st = s.net.stats();
        assert_eq!((st.sent, st.received), (2 * N, 2 * N), "{st:?}");
        assert_eq!(st.dropped_full + st.dropped_down, 0);
    }
    sites[1].net.broadcast(&msg(7));
    assert_eq!(recv(&mut sites[0].rx).await, (1, msg(7)));
    assert_eq!(recv(&mut sites[2].rx).await, (1, msg(7)));
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn reconnects_after_a_peer_restarts_on_the_same_port() {
    let mut sites = cluster(2).await;
    let addrs = [sites[0].net.local_addr(), sites[1].net.local_addr()];
    sites[0].net.send(1, msg(1));
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(1)));

    let b = sites.pop().unwrap();
    b.net.shutdown().await;
    b.net.shutdown().await; // twice is fine
    b.net.send(0, msg(2)); // after shutdown: ignored
    let a = &mut sites[0];
    until("peer 1 seen down", || a.net.connected() == vec![(1, false)]).await;

    let mut b = restart(config(1, &addrs)).await;
    assert_eq!(b.net.local_addr(), addrs[1]);
    until("peer 1 up again", || a.net.connected() == vec![(1, true)]).await;
    until("peer 0 up", || b.net.connected() == vec![(0, true)]).await;
    a.net.send(1, msg(3));
    b.net.send(0, msg(4));
    assert_eq!(recv(&mut b.rx).await, (0, msg(3)));
    assert_eq!(recv(&mut a.rx).await, (1, msg(4)));
    a.net.shutdown().await;
    b.net.shutdown().await;
}

#[tokio::test]
async fn connected_follows_the_peer_up_and_down() {
    let (mut ls, addrs) = listeners(2);
    drop(ls.pop()); // nobody listens at site 1's address yet
    let a = start_on(config(0, &addrs), ls.pop().unwrap()).await;
    assert_eq!(a.net.connected(), vec![(1, false)]);
    let mut watch = a.net.watch_connected();

    let b = restart(config(1, &addrs)).await;
    timeout(WAIT, watch.wait_for(|v| *v == vec![(1, true)]))
        .await
        .expect("never up")
        .unwrap();
    assert_eq!(a.net.connected(), vec![(1, true)]);

    b.net.shutdown().await;
    timeout(WAIT, watch.wait_for(|v| *v == vec![(1, false)]))
        .await
        .expect("never down")
        .unwrap();

    // While the peer is down, sends are dropped, not queued for later.
    a.net.send(1, msg(1));
    until("dropped while down", || a.net.stats().dropped_down >= 1).await;
    a.net.shutdown().await;
    assert_eq!(a.net.connected(), vec![(1, false)]);
}

#[tokio::test]
async fn drop_to_and_drop_from_filter_until_cleared() {
    let mut sites = cluster(3).await;

    // drop_to: site 0 stops sending to 1, still sends to 2.
    sites[0].net.set_fault(Fault {
        drop_to: vec![1],
        ..Fault::default()
    });
    assert_eq!(sites[0].net.fault().drop_to, vec![1]);
    sites[0].net.send(1, msg(1));
    sites[0].net.send(2, msg(2));
    assert_eq!(recv(&mut sites[2].rx).await, (0, msg(2)));
    assert_eq!(sites[0].net.stats().dropped_fault_out, 1);
    sites[0].net.set_fault(Fault::default());
    assert!(sites[0].net.fault().is_clear());
    sites[0].net.send(1, msg(3));
    // Per-peer order: had msg(1) gone out, it would come first.
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(3)));

    // drop_from: site 1 ignores 0, still hears 2.
    sites[1].net.set_fault(Fault {
        drop_from: vec![0],
        ..Fault::default()
    });
    sites[0].net.send(1, msg(10));
    sites[2].net.send(1, msg(11));
    assert_eq!(recv(&mut sites[1].rx).await, (2, msg(11)));
    let b = sites[1].net.clone();
    until("incoming drop", || b.stats().dropped_fault_in == 1).await;
    sites[1].net.set_fault(Fault::default());
    sites[0].net.send(1, msg(12));
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(12)));
    assert!(sites[1].rx.try_recv().is_err());
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn total_loss_drops_both_ways_until_cleared() {
    let mut sites = cluster(2).await;
    let all_lost = Fault {
        loss: 1.0,
        ..Fault::default()
    };

    // Outgoing.
    sites[0].net.set_fault(all_lost.clone());
    sites[0].net.send(1, msg(1));
    assert_eq!(sites[0].net.stats().dropped_fault_out, 1);
    sites[0].net.set_fault(Fault::default());
    sites[0].net.send(1, msg(2));
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(2)));

    // Incoming.
    sites[1].net.set_fault(all_lost);
    sites[0].net.send(1, msg(3));
    let b = sites[1].net.clone();
    until("incoming loss", || b.stats().dropped_fault_in == 1).await;
    sites[1].net.set_fault(Fault::default());
    sites[0].net.send(1, msg(4));
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(4)));
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn delay_holds_messages_back_in_order_without_blocking_other_peers() {
    let mut sites = cluster(3).await;
    let delay = Duration::from_millis(400);
    let t0 = Instant::now();
    sites[0].net.set_fault(Fault {
        delay_ms: delay.as_millis() as u64,
        ..Fault::default()
    });
    sites[0].net.send(1, msg(1));
    sites[0].net.send(1, msg(2));
    sites[0].net.set_fault(Fault::default());
    // Sent without delay, but behind the delayed ones to the same peer.
    sites[0].net.send(1, msg(3));
    // Another peer is not held up.
    sites[0].net.send(2, msg(4));
    assert_eq!(recv(&mut sites[2].rx).await, (0, msg(4)));
    assert!(
        sites[1].rx.try_recv().is_err(),
        "delayed message arrived before an undelayed one to another peer"
    );
    for n in 1..=3 {
        assert_eq!(recv(&mut sites[1].rx).await, (0, msg(n)));
        let elapsed = t0.elapsed();
        assert!(
            elapsed + Duration::from_millis(5) >= delay,
            "message {n} arrived after {elapsed:?}, before the {delay:?} delay"
        );
    }
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let sites = cluster(2).await;
    // The writer holds the first message back; the queue fills up behind it.
    sites[0].net.set_fault(Fault {
        delay_ms: 60_000,
        ..Fault::default()
    });
    for n in 0..5000 {
        sites[0].net.send(1, msg(n));
    }
    let st = sites[0].net.stats();
    assert!(
        (5000 - 4097..=5000 - 4096).contains(&st.dropped_full),
        "{st:?}"
    );
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn an_oversized_message_is_not_sent() {
    let mut sites = cluster(2).await;
    sites[0].net.send(1, big_forward(MAX_LINE));
    sites[0].net.send(1, big_forward(1000));
    sites[0].net.send(1, msg(1));
    assert_eq!(recv(&mut sites[1].rx).await, (0, big_forward(1000)));
    assert_eq!(recv(&mut sites[1].rx).await, (0, msg(1)));
    assert_eq!(sites[0].net.stats().dropped_too_large, 1);
    for s in &sites {
        s.net.shutdown().await;
    }
}

#[tokio::test]
async fn bad_input_closes_the_connection_and_the_site_carries_on() {
    let mut site = start_lone(lone_config(3)).await;
    let addr = site.net.local_addr();

    let junk: Vec<u8> = (0u32..300)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80)
        .chain([b'\n'])
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid JSON",
            b"{\"head\": \"fetch\", \"from\": 1,\n".to_vec(),
        ),
        (
            "an unknown head",
            b"{\"head\":\"gossip\",\"from\":1,\"body\":{}}\n".to_vec(),
        ),
        (
            "a body of the wrong shape",
            b"{\"head\":\"fetch\",\"from\":1,\"body\":{\"to\":1}}\n".to_vec(),
        ),
        ("random bytes", junk),
        ("from this site", line(0, 1).into_bytes()),
        ("from a site out of range", line(3, 1).into_bytes()),
        (
            "a changed sender",
            [line(1, 1), line(2, 2)].concat().into_bytes(),
        ),
    ];
    let mut rejected = 0;
    for (what, bytes) in cases {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        expect_closed(&mut s, what).await;
        rejected += 1;
        until(what, || site.net.stats().rejected_connections == rejected).await;
    }
    // The first line of the changed-sender connection was good.
    assert_eq!(recv(&mut site.rx).await, (1, msg(1)));
    assert!(site.rx.try_recv().is_err());

    // A line of 2 MiB: closed once the limit is passed, without reading it all.
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    let writer = tokio::spawn(async move {
        let big = vec![b'x'; 2 * MAX_LINE];
        let _ = wr.write_all(&big).await;
        let _ = wr.write_all(b"\n").await;
        wr
    });
    timeout(WAIT, async {
        let mut buf = [0u8; 1024];
        while let Ok(n @ 1..) = rd.read(&mut buf).await {
            let _ = n;
        }
    })
    .await
    .expect("connection not closed after a 2 MiB line");
    until("oversized line rejected", || {
        site.net.stats().rejected_connections == rejected + 1
    })
    .await;
    drop(writer);

    // A good connection still delivers, blank lines are skipped.
    let mut good = TcpStream::connect(addr).await.unwrap();
    let text = format!("{}\n{}{}", line(2, 5), line(2, 6), line(2, 7));
    good.write_all(text.as_bytes()).await.unwrap();
    for n in 5..=7 {
        assert_eq!(recv(&mut site.rx).await, (2, msg(n)));
    }

    // The site closes it on shutdown, and its port is free again.
    site.net.shutdown().await;
    expect_closed(&mut good, "shutdown").await;
    let again = std::net::TcpListener::bind(addr);
    assert!(again.is_ok(), "port still taken: {again:?}");
}

#[tokio::test]
async fn readers_stop_when_the_runtime_is_gone() {
    let site = start_lone(lone_config(2)).await;
    let net = site.net.clone();
    drop(site.rx);
    let mut s = TcpStream::connect(net.local_addr()).await.unwrap();
    s.write_all(line(1, 1).as_bytes()).await.unwrap();
    expect_closed(&mut s, "inbound closed").await;
    net.shutdown().await;
}

#[tokio::test]
async fn dropping_the_last_handle_stops_everything() {
    let site = start_lone(lone_config(2)).await;
    let addr = site.net.local_addr();
    let mut s = TcpStream::connect(addr).await.unwrap();
    drop(site);
    expect_closed(&mut s, "drop").await;
    until("port freed", || std::net::TcpListener::bind(addr).is_ok()).await;
}

#[tokio::test]
async fn start_refuses_a_port_in_use_and_a_bad_config() {
    let (ls, addrs) = listeners(2);
    let (tx, _rx) = mpsc::channel(1);
    let err = start(config(0, &addrs), tx.clone()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, NetError::Bind { .. }), "{err:?}");
    assert!(text.contains(&addrs[0].to_string()), "{text}");
    assert!(text.contains("port in use"), "{text}");
    drop(ls);

    for (cfg, what) in [
        (
            NetConfig {
                me: 2,
                ..config(0, &addrs)
            },
            "not one of the 2 sites",
        ),
        (
            NetConfig {
                peers: vec![(0, addrs[0].into())],
                ..config(0, &addrs)
            },
            "this site",
        ),
        (
            NetConfig {
                peers: vec![(1, addrs[1].into()), (1, addrs[1].into())],
                ..config(0, &addrs)
            },
            "twice",
        ),
        (
            NetConfig {
                peers: vec![(5, addrs[1].into())],
                ..config(0, &addrs)
            },
            "peer 5",
        ),
    ] {
        let err = start(cfg, tx.clone()).await.unwrap_err();
        assert!(matches!(err, NetError::Config(_)), "{err:?}");
        assert!(err.to_string().contains(what), "{err}");
    }
}

/// What an observer saw, as (what, from, to, seq).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(&'static str, SiteId, SiteId, Option<u64>)>>>;

fn observe(me: SiteId, net: &NetHandle) -> Seen {
    let seen: Seen = Default::default();
    let log = seen.clone();
    net.observe(std::sync::Arc::new(move |ev: NetEvent<'_>| {
        let row = match ev {
            NetEvent::Sent { to, seq, .. } => ("sent", me, to, Some(seq)),
            NetEvent::Received { from, seq, .. } => ("received", from, me, seq),
            NetEvent::Dropped {
                from,
                to,
                seq,
                reason,
                ..
            } => match reason {
                DropReason::FaultOut => ("drop out", from, to, seq),
                DropReason::FaultIn => ("drop in", from, to, seq),
                _ => ("drop other", from, to, seq),
            },
        };
        log.lock().unwrap().push(row);
    }));
    seen
}

/// Every message is numbered on its link, the number travels with it, and
/// the observer hears of each send, receive and fault drop with that
/// number, so a recording can match a send to its receive.
#[tokio::test]
async fn the_observer_sees_numbered_sends_receives_and_drops() {
    let mut sites = cluster(2).await;
    let seen0 = observe(0, &sites[0].net);
    let seen1 = observe(1, &sites[1].net);
    assert_eq!(sites[0].net.send(1, msg(1)), 1);
    assert_eq!(sites[0].net.send(1, msg(2)), 2);
    recv(&mut sites[1].rx).await;
    recv(&mut sites[1].rx).await;
    sites[0].net.set_fault(Fault {
        drop_to: vec![1],
        ..Fault::default()
    });
    assert_eq!(sites[0].net.send(1, msg(3)), 3);
    sites[0].net.set_fault(Fault::default());
    sites[1].net.set_fault(Fault {
        drop_from: vec![0],
        ..Fault::default()
    });
    assert_eq!(sites[0].net.send(1, msg(4)), 4);
    until("the receiver drops message 4", || {
        seen1.lock().unwrap().iter().any(|r| r.0 == "drop in")
    })
    .await;
    assert_eq!(
        *seen0.lock().unwrap(),
        vec![
            ("sent", 0, 1, Some(1)),
            ("sent", 0, 1, Some(2)),
            ("sent", 0, 1, Some(3)),
            ("drop out", 0, 1, Some(3)),
            ("sent", 0, 1, Some(4)),
        ]
    );
    assert_eq!(
        *seen1.lock().unwrap(),
        vec![
            ("received", 0, 1, Some(1)),
            ("received", 0, 1, Some(2)),
            ("drop in", 0, 1, Some(4)),
        ]
    );
}
