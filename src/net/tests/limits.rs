//! The limits of the listener (SPEC 7): silent and trickling connections
//! are closed, a quiet proven one only makes room when the listener is
//! full, and a flood of silent ones never locks a peer out.

use super::{expect_closed, line, listeners, msg, recv, start_on, Site, WAIT};
use crate::net::{Limits, NetConfig};
use crate::paxos::SiteId;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

const SHORT: Limits = Limits {
    max_connections: 8,
    first_line: Duration::from_millis(300),
    idle: Duration::from_millis(100),
};

fn config(me: SiteId, addrs: &[std::net::SocketAddr], limits: Limits) -> NetConfig {
    NetConfig {
        limits,
        ..super::config(me, addrs)
    }
}

/// Waits until `n` connections have timed out.
async fn timed_out(site: &Site, n: u64) {
    super::until("timed out", || site.net.stats().timed_out == n).await;
}

#[tokio::test]
async fn silent_and_trickling_connections_are_closed() {
    let (mut ls, addrs) = listeners(2);
    drop(ls.pop());
    let site = start_on(config(0, &addrs, SHORT), ls.pop().unwrap()).await;
    let addr = site.net.local_addr();

    // Silent from the start.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    expect_closed(&mut silent, "silence").await;
    timed_out(&site, 1).await;

    // One byte at a time, never a whole line: closed although bytes keep
    // coming (the writer stops when the site has closed).
    let trickle = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = trickle.into_split();
    let writer = tokio::spawn(async move {
        for b in line(1, 1).bytes().cycle().filter(|&b| b != b'\n') {
            if wr.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let mut buf = [0u8; 16];
    let closed = timeout(WAIT, tokio::io::AsyncReadExt::read(&mut rd, &mut buf)).await;
    assert!(closed.is_ok(), "a trickling connection stays open");
    timed_out(&site, 2).await;
    timeout(WAIT, writer).await.expect("writer stops").unwrap();

    // Only blank lines: closed as a silent one is.
    let mut blank = TcpStream::connect(addr).await.unwrap();
    let closed = timeout(WAIT, async {
        loop {
            if blank.write_all(b"\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "blank lines kept a connection open");
    timed_out(&site, 3).await;
    assert_eq!(site.net.stats().received, 0);
    site.net.shutdown().await;
}

/// A connection that has sent a message is not closed for being quiet
/// (two followers may have nothing to say for long); when the listener is
/// full, the one quiet for longest (at least `idle`) makes room.
#[tokio::test]
async fn a_quiet_proven_connection_stays_until_its_place_is_needed() {
    let (mut ls, addrs) = listeners(2);
    drop(ls.pop());
    let mut site = start_on(config(0, &addrs, SHORT), ls.pop().unwrap()).await;
    let addr = site.net.local_addr();
    let mut quiet = TcpStream::connect(addr).await.unwrap();
    quiet.write_all(line(1, 1).as_bytes()).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(1)));
    // A silent connection opened after it times out (first_line is longer
    // than idle); the quiet one is still open.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    expect_closed(&mut silent, "silence").await;
    timed_out(&site, 1).await;
    quiet.write_all(line(1, 2).as_bytes()).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(2)));

    // Fill the listener (its cap is raised to 2 × 2 sites + 16 = 20) with
    // talking connections.
    let mut talking = Vec::new();
    for n in 0..19 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(line(1, 100 + n).as_bytes()).await.unwrap();
        assert_eq!(recv(&mut site.rx).await, (1, msg(100 + n)));
        talking.push(s);
    }
    // New connections are refused until the quiet one has been quiet for
    // `idle`; then the next one takes its place.
    let mut newcomer = None;
    let deadline = tokio::time::Instant::now() + WAIT;
    while site.net.stats().pushed_out == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nobody made room");
        newcomer = Some(TcpStream::connect(addr).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    expect_closed(&mut quiet, "pushed out").await;
    let mut newcomer = newcomer.expect("a connection made room");
    newcomer.write_all(line(1, 7).as_bytes()).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(7)));
    site.net.shutdown().await;
}

/// Hundreds of silent connections against a site's listener: a peer that
/// connects after them still gets its messages through (it pushes out the
/// oldest silent one and proves itself in a round trip), and the site holds
/// no more than its cap.
#[tokio::test]
async fn a_flood_of_silent_connections_does_not_lock_a_peer_out() {
    a_peer_gets_through_a_flood(|cfg| cfg).await;
}

/// The flood, with the sites' config passed through `with`.
pub(super) async fn a_peer_gets_through_a_flood(with: impl Fn(NetConfig) -> NetConfig) {
    let (mut ls, addrs) = listeners(2);
    let b_listener = ls.pop().unwrap();
    let limits = Limits {
        first_line: Duration::from_secs(30),
        ..SHORT
    };
    let mut a = start_on(with(config(0, &addrs, limits)), ls.pop().unwrap()).await;
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(TcpStream::connect(addrs[0]).await.unwrap());
    }
    // The cap is raised to 2 × 2 sites + 16 = 20.
    super::until("the flood admitted or pushed out", || {
        a.net.stats().pushed_out >= 300 - 20
    })
    .await;
    let b = start_on(with(config(1, &addrs, limits)), b_listener).await;
    b.net.send(0, msg(7));
    assert_eq!(recv(&mut a.rx).await, (1, msg(7)));
    // The oldest of the flood were closed to make room.
    expect_closed(&mut flood[0], "pushed out").await;
    a.net.shutdown().await;
    b.net.shutdown().await;
}
