//! Authenticated connections (SPEC 7): the handshake with one secret, a
//! wrong secret or none refused both ways, and every line after the
//! handshake checked: an altered, replayed or injected line closes the
//! connection. The test plays the other site with `auth::dial` and
//! `auth::accept` over a real socket.

use super::{
    expect_closed, line, listeners, lone_config, msg, recv, start_lone, start_on, until, Site, WAIT,
};
use crate::config::Secret;
use crate::net::auth::{self, AuthError, Sealer};
use crate::net::{encode_seq, Limits, NetConfig};
use crate::paxos::SiteId;
use futures::SinkExt;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_util::codec::{Framed, LinesCodec};

fn secret(s: &str) -> Option<Secret> {
    Secret::new(s)
}

fn config(me: SiteId, addrs: &[SocketAddr], secret: Option<Secret>) -> NetConfig {
    NetConfig {
        secret,
        ..super::config(me, addrs)
    }
}

/// Sites on free ports, site `i` with `secrets[i]`.
async fn sites(secrets: &[Option<Secret>]) -> Vec<Site> {
    let (ls, addrs) = listeners(secrets.len());
    let mut sites = Vec::new();
    for (i, l) in ls.into_iter().enumerate() {
        let cfg = config(i as SiteId, &addrs, secrets[i].clone());
        sites.push(start_on(cfg, l).await);
    }
    sites
}

/// One site 0 of 3 with `secret`, listening, with no peers to dial.
async fn lone_site(secret: Option<Secret>) -> Site {
    start_lone(NetConfig {
        secret,
        ..lone_config(3)
    })
    .await
}

type Lines = Framed<TcpStream, LinesCodec>;

/// Dials `addr` as site `me` and runs the handshake with `secret`.
async fn dial(addr: SocketAddr, secret: &Secret, me: SiteId) -> (Lines, Result<Sealer, AuthError>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut lines = Framed::new(stream, LinesCodec::new());
    let sealer = timeout(WAIT, auth::dial(&mut lines, secret, me, 0))
        .await
        .expect("handshake hangs");
    (lines, sealer)
}

/// The sealed line of `msg(n)` from site `from`, numbered `n`.
fn sealed(sealer: &mut Sealer, from: SiteId, n: u64) -> String {
    let line = encode_seq(from, Some(n), &msg(n)).unwrap();
    sealer.seal(&line).unwrap()
}

#[tokio::test]
async fn sites_with_one_secret_connect_and_exchange() {
    let s = secret("one secret");
    let mut sites = sites(&[s.clone(), s.clone(), s]).await;
    for site in &sites {
        until("all peers connected", || {
            site.net.connected().iter().all(|p| p.1)
        })
        .await;
    }
    for n in 0..100 {
        sites[0].net.send(1, msg(n));
        sites[2].net.send(1, msg(1000 + n));
    }
    let mut from0 = Vec::new();
    let mut from2 = Vec::new();
    for _ in 0..200 {
        match recv(&mut sites[1].rx).await {
            (0, m) => from0.push(m),
            (2, m) => from2.push(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(from0, (0..100).map(msg).collect::<Vec<_>>());
    assert_eq!(from2, (1000..1100).map(msg).collect::<Vec<_>>());
    for site in &sites {
        let st = site.net.stats();
        assert_eq!((st.refused, st.rejected_connections), (0, 0), "{st:?}");
        site.net.shutdown().await;
    }
}

/// A site with another secret, or none, never counts as connected, and
/// nothing it sends arrives: both ends refuse, again and again (the
/// dialers retry with backoff).
#[tokio::test]
async fn another_secret_or_none_is_refused_both_ways() {
    for other in [secret("another secret"), None] {
        let mut sites = sites(&[secret("the secret"), other.clone()]).await;
        sites[1].net.send(0, msg(1));
        sites[0].net.send(1, msg(2));
        let (a, b) = (sites[0].net.clone(), sites[1].net.clone());
        until("refused both ways, twice", || {
            let inbound = a.stats().refused >= 4;
            // Without a secret, site 1 does not know it is refused: it
            // only sees its connection closed and its input rejected.
            let outbound = b.stats().refused + b.stats().rejected_connections >= 2;
            inbound && outbound
        })
        .await;
        assert_eq!(a.connected(), vec![(1, false)], "with {other:?}");
        if other.is_some() {
            assert_eq!(b.connected(), vec![(0, false)]);
        }
        assert!(sites[0].rx.try_recv().is_err(), "with {other:?}");
        assert!(sites[1].rx.try_recv().is_err(), "with {other:?}");
        a.shutdown().await;
        b.shutdown().await;
    }
}

#[tokio::test]
async fn the_handshake_gives_a_working_link_and_a_wrong_secret_is_refused() {
    let s = secret("s").unwrap();
    let mut site = lone_site(Some(s.clone())).await;
    let addr = site.net.local_addr();

    let (mut io, sealer) = dial(addr, &s, 1).await;
    let mut sealer = sealer.expect("handshake with the right secret");
    for n in 1..=3 {
        io.send(sealed(&mut sealer, 1, n)).await.unwrap();
    }
    for n in 1..=3 {
        assert_eq!(recv(&mut site.rx).await, (1, msg(n)));
    }

    let wrong = secret("not s").unwrap();
    let (_io, refused) = dial(addr, &wrong, 2).await;
    assert!(matches!(refused, Err(AuthError::Closed)), "{refused:?}");
    until("the site refused it", || site.net.stats().refused == 1).await;

    // Claiming to be this site, or a site beyond the config: refused too.
    for me in [0, 3] {
        let (_io, refused) = dial(addr, &s, me).await;
        assert!(refused.is_err(), "as site {me}");
    }
    until("both refused", || site.net.stats().refused == 3).await;
    assert!(site.rx.try_recv().is_err());
    site.net.shutdown().await;
}

/// The site as the dialer: it checks the acceptor's proof and seals what it
/// sends; an acceptor with another secret fails its check.
#[tokio::test]
async fn a_dialing_site_proves_itself_and_seals_its_lines() {
    let s = secret("s").unwrap();
    let (ls, addrs) = listeners(2);
    let mut ls = ls.into_iter();
    let a = start_on(config(0, &addrs, Some(s.clone())), ls.next().unwrap()).await;
    let fake = ls.next().unwrap();
    fake.set_nonblocking(true).unwrap();
    let fake = TcpListener::from_std(fake).unwrap();

    // First as a site with another secret: site 0's proof does not verify.
    let (stream, _) = timeout(WAIT, fake.accept()).await.unwrap().unwrap();
    let mut io = Framed::new(stream, LinesCodec::new());
    let wrong = secret("not s").unwrap();
    let got = timeout(WAIT, auth::accept(&mut io, &wrong, 1, 2))
        .await
        .unwrap();
    assert!(matches!(got, Err(AuthError::WrongProof)), "{:?}", got.err());
    drop(io);
    assert_eq!(a.net.connected(), vec![(1, false)]);

    // Then with the secret: site 0 reconnects, and its lines open.
    let (stream, _) = timeout(WAIT, fake.accept()).await.unwrap().unwrap();
    let mut io = Framed::new(stream, LinesCodec::new());
    let (from, mut opener) = timeout(WAIT, auth::accept(&mut io, &s, 1, 2))
        .await
        .unwrap()
        .expect("handshake");
    assert_eq!(from, 0);
    until("site 0 sees site 1 up", || {
        a.net.connected() == vec![(1, true)]
    })
    .await;
    a.net.send(1, msg(5));
    let got = timeout(WAIT, futures::StreamExt::next(&mut io))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let plain = opener.open(&got).expect("a sealed line");
    assert_eq!(crate::net::decode(&plain).unwrap(), (0, msg(5)));
    a.net.shutdown().await;
}

/// Every way of getting a line past the MAC: each closes the connection,
/// and no line of it after the last good one arrives.
#[tokio::test]
async fn altered_replayed_and_injected_lines_close_the_connection() {
    let s = secret("s").unwrap();
    let mut site = lone_site(Some(s.clone())).await;
    let addr = site.net.local_addr();
    let mut rejected = 0;

    // Altered: one digit of the body changed, the MAC kept.
    let (mut io, sealer) = dial(addr, &s, 1).await;
    let mut sealer = sealer.unwrap();
    let good = sealed(&mut sealer, 1, 1);
    let altered = sealed(&mut sealer, 1, 2).replacen("\"to\":3", "\"to\":4", 1);
    io.send(good).await.unwrap();
    io.send(altered).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(1)));
    expect_closed(io.get_mut(), "an altered line").await;
    rejected += 1;
    until("altered", || {
        site.net.stats().rejected_connections == rejected
    })
    .await;

    // Replayed: the same sealed line twice.
    let (mut io, sealer) = dial(addr, &s, 1).await;
    let mut sealer = sealer.unwrap();
    let first = sealed(&mut sealer, 1, 10);
    io.send(first.clone()).await.unwrap();
    io.send(first.clone()).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(10)));
    expect_closed(io.get_mut(), "a replayed line").await;
    rejected += 1;
    until("replayed", || {
        site.net.stats().rejected_connections == rejected
    })
    .await;

    // Replayed into another connection: its key is another.
    let (mut io, sealer) = dial(addr, &s, 1).await;
    sealer.unwrap();
    io.send(first).await.unwrap();
    expect_closed(io.get_mut(), "a line of an earlier connection").await;
    rejected += 1;
    until("cross-connection", || {
        site.net.stats().rejected_connections == rejected
    })
    .await;

    // Injected: a plain line without a MAC, between two sealed ones; and
    // a blank line.
    for injected in [line(1, 21), "\n".to_string()] {
        let (mut io, sealer) = dial(addr, &s, 1).await;
        let mut sealer = sealer.unwrap();
        io.send(sealed(&mut sealer, 1, 20)).await.unwrap();
        io.get_mut().write_all(injected.as_bytes()).await.unwrap();
        io.send(sealed(&mut sealer, 1, 22)).await.unwrap();
        assert_eq!(recv(&mut site.rx).await, (1, msg(20)));
        expect_closed(io.get_mut(), "an injected line").await;
        rejected += 1;
        until("injected", || {
            site.net.stats().rejected_connections == rejected
        })
        .await;
    }

    // A plain message where the handshake is due: refused.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(line(1, 30).as_bytes()).await.unwrap();
    expect_closed(&mut plain, "a message before the handshake").await;
    until("unauthenticated", || site.net.stats().refused == 1).await;

    assert!(site.rx.try_recv().is_err(), "a bad line got through");
    site.net.shutdown().await;
}

/// A flood of silent connections does not lock out a peer that must also
/// run the handshake.
#[tokio::test]
async fn a_flood_does_not_lock_an_authenticated_peer_out() {
    super::limits::a_peer_gets_through_a_flood(|cfg| NetConfig {
        secret: secret("s"),
        ..cfg
    })
    .await;
}

/// After the handshake a connection may stay quiet for the idle time, not
/// just the first-line time: an authenticated peer with nothing to say is
/// not cut off.
#[tokio::test]
async fn an_authenticated_connection_may_stay_quiet_longer_than_the_handshake_deadline() {
    let s = secret("s").unwrap();
    let mut site = start_lone(NetConfig {
        secret: Some(s.clone()),
        limits: Limits {
            first_line: std::time::Duration::from_millis(200),
            ..Limits::PEER
        },
        ..lone_config(3)
    })
    .await;
    let addr = site.net.local_addr();
    let (mut io, sealer) = dial(addr, &s, 1).await;
    let mut sealer = sealer.unwrap();
    // A silent connection opened after it times out; the authenticated one,
    // older, is still open.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    expect_closed(&mut silent, "no handshake").await;
    until("timed out", || site.net.stats().timed_out == 1).await;
    io.send(sealed(&mut sealer, 1, 1)).await.unwrap();
    assert_eq!(recv(&mut site.rx).await, (1, msg(1)));
    assert_eq!(site.net.stats().timed_out, 1);
    site.net.shutdown().await;
}
