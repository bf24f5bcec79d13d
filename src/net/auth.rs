//! Peer authentication with the cluster secret (SPEC 3 and 7).
//!
//! A connection carries messages one way, from the site that dialed it to
//! the site that accepted it. With a secret it opens with four lines, each
//! a JSON object of the usual shape (`from`, `head`, `body`; nonces and
//! proofs as 64 lowercase hex digits):
//!
//! ```text
//! dialer   -> acceptor  {"from":d,"head":"auth_hello","body":{"nonce":Nd}}
//! acceptor -> dialer    {"from":a,"head":"auth_challenge","body":{"nonce":Na}}
//! dialer   -> acceptor  {"from":d,"head":"auth_proof","body":{"proof":Pd}}
//! acceptor -> dialer    {"from":a,"head":"auth_ok","body":{"proof":Pa}}
//! ```
//!
//! `Nd` and `Na` are 32 fresh random bytes from each end. Every value below
//! is HMAC-SHA256 keyed by the secret over one transcript: the label
//! `tweettui auth v1`, a role label, `d` and `a` (4 bytes each, big
//! endian), `Nd`, `Na`. `Pd` uses the role "dialer proof", `Pa` "acceptor
//! proof" (so a proof cannot be reflected), and the connection's key `K`
//! "key dialer to acceptor". The acceptor checks `Pd` before it says
//! anything that depends on the secret, so a client that connects learns
//! nothing from it; the dialer checks `Pa` (and that `a` is the site it
//! dialed). Both checks are constant-time (`hmac`'s `verify_slice`).
//!
//! Every later line (line `n`, counted from 0) is the message's line with
//! `,"mac":"<HMAC-SHA256 under K of n as 8 bytes big endian, then the
//! line's bytes>"` put before its closing brace. The counter is not sent:
//! a line injected, altered, dropped from the middle, reordered or replayed
//! (from this or an earlier connection: `K` is new each time) does not
//! verify, and the connection is closed.

use super::wire::{self, WireError, MAX_LINE};
use crate::config::Secret;
use crate::paxos::SiteId;
use futures::{Sink, SinkExt, Stream, StreamExt};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio_util::codec::LinesCodecError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of a nonce, a proof, a key and a MAC.
const LEN: usize = 32;
/// Every HMAC input starts with this (then a role label).
const DOMAIN: &[u8] = b"tweettui auth v1\0";
const DIALER_PROOF: &[u8] = b"dialer proof\0";
const ACCEPTOR_PROOF: &[u8] = b"acceptor proof\0";
const KEY_DIALER_TO_ACCEPTOR: &[u8] = b"key dialer to acceptor\0";
/// What a sealed line has before its closing brace: `,"mac":"` + hex.
const MAC_FIELD: &str = ",\"mac\":\"";
/// How much longer a sealed line is than the message's line.
pub const SEAL_LEN: usize = MAC_FIELD.len() + 2 * LEN + 1;
/// The longest handshake line read (they are about 130 bytes).
pub const HANDSHAKE_LINE: usize = 1024;

/// Why a handshake failed or a line was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "the peer closed the connection during the handshake (it has no secret, or another one)"
    )]
    Closed,
    #[error("reading the handshake failed: {0}")]
    Read(String),
    #[error("writing the handshake failed: {0}")]
    Write(String),
    #[error("a message without authentication where the handshake's {0} was due (the peer has no secret)")]
    Unauthenticated(&'static str),
    #[error("expected the handshake's {expected}, got {got}")]
    Unexpected { expected: &'static str, got: String },
    #[error("the peer's proof does not match: it has another secret")]
    WrongProof,
    #[error("the peer says it is site {says}, but site {dialed} was dialed")]
    WrongSite { dialed: SiteId, says: SiteId },
    #[error("the peer claims to be site {0}, which is this site or not in the config")]
    BadSite(SiteId),
    #[error("a line without its MAC")]
    NoMac,
    #[error("a line whose MAC does not verify (altered, injected or replayed)")]
    BadMac,
    #[error("the secret cannot key HMAC-SHA256")]
    Key,
}

/// Seals the lines this site writes on one authenticated connection.
pub struct Sealer {
    key: HmacSha256,
    counter: u64,
}

impl Sealer {
    fn new(key: &[u8; LEN]) -> Result<Sealer, AuthError> {
        let key = HmacSha256::new_from_slice(key).map_err(|_| AuthError::Key)?;
        Ok(Sealer { key, counter: 0 })
    }

    /// `line` (a JSON object, as [`wire::encode_seq`] writes it) with its
    /// MAC; the next line gets the next counter.
    pub fn seal(&mut self, line: &str) -> Result<String, WireError> {
        let Some(body) = line.strip_suffix('}') else {
            return Err(WireError::NotAnObject);
        };
        let total = line.len() + SEAL_LEN;
        if total > MAX_LINE {
            return Err(WireError::TooLarge(total));
        }
        let tag = line_mac(&self.key, self.counter, line);
        self.counter += 1;
        let mut out = String::with_capacity(total);
        out.push_str(body);
        out.push_str(MAC_FIELD);
        push_hex(&mut out, &tag);
        out.push_str("\"}");
        Ok(out)
    }
}

/// Checks the lines read on one authenticated connection.
pub struct Opener {
    key: HmacSha256,
    counter: u64,
}

impl Opener {
    fn new(key: &[u8; LEN]) -> Result<Opener, AuthError> {
        let key = HmacSha256::new_from_slice(key).map_err(|_| AuthError::Key)?;
        Ok(Opener { key, counter: 0 })
    }

    /// The message's line of a sealed line, if its MAC is the one due next.
    pub fn open(&mut self, line: &str) -> Result<String, AuthError> {
        // The seal is the MAC field and the closing brace.
        let cut = line
            .len()
            .checked_sub(SEAL_LEN + 1)
            .ok_or(AuthError::NoMac)?;
        let (body, seal) = (line.get(..cut), line.get(cut..));
        let (Some(body), Some(seal)) = (body, seal) else {
            return Err(AuthError::NoMac);
        };
        let tag = seal
            .strip_prefix(MAC_FIELD)
            .and_then(|s| s.strip_suffix("\"}"))
            .and_then(from_hex)
            .ok_or(AuthError::NoMac)?;
        let mut plain = String::with_capacity(cut + 1);
        plain.push_str(body);
        plain.push('}');
        let mut mac = self.key.clone();
        mac.update(&self.counter.to_be_bytes());
        mac.update(plain.as_bytes());
        mac.verify_slice(&tag).map_err(|_| AuthError::BadMac)?;
        self.counter += 1;
        Ok(plain)
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer {{ counter: {} }}", self.counter)
    }
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opener {{ counter: {} }}", self.counter)
    }
}

fn line_mac(key: &HmacSha256, counter: u64, line: &str) -> [u8; LEN] {
    let mut mac = key.clone();
    mac.update(&counter.to_be_bytes());
    mac.update(line.as_bytes());
    to_array(&mac.finalize().into_bytes())
}

fn to_array(bytes: &[u8]) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    out.copy_from_slice(&bytes[..LEN]);
    out
}

/// What both ends know once the nonces are exchanged.
struct Transcript {
    dialer: SiteId,
    acceptor: SiteId,
    dialer_nonce: [u8; LEN],
    acceptor_nonce: [u8; LEN],
}

impl Transcript {
    fn mac(&self, secret: &Secret, role: &[u8]) -> Result<HmacSha256, AuthError> {
        let mac = HmacSha256::new_from_slice(secret.as_bytes()).map_err(|_| AuthError::Key)?;
        Ok(mac
            .chain_update(DOMAIN)
            .chain_update(role)
            .chain_update(self.dialer.to_be_bytes())
            .chain_update(self.acceptor.to_be_bytes())
            .chain_update(self.dialer_nonce)
            .chain_update(self.acceptor_nonce))
    }

    fn value(&self, secret: &Secret, role: &[u8]) -> Result<[u8; LEN], AuthError> {
        Ok(to_array(&self.mac(secret, role)?.finalize().into_bytes()))
    }

    /// Is `proof` this transcript's value for `role`? In constant time.
    fn check(&self, secret: &Secret, role: &[u8], proof: &[u8; LEN]) -> Result<(), AuthError> {
        self.mac(secret, role)?
            .verify_slice(proof)
            .map_err(|_| AuthError::WrongProof)
    }
}

/// 32 bytes as 64 lowercase hex digits on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
struct Hex32([u8; LEN]);

impl TryFrom<String> for Hex32 {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        from_hex(&s)
            .map(Hex32)
            .ok_or_else(|| format!("not {} lowercase hex digits", 2 * LEN))
    }
}

impl From<Hex32> for String {
    fn from(h: Hex32) -> String {
        let mut s = String::with_capacity(2 * LEN);
        push_hex(&mut s, &h.0);
        s
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

fn from_hex(s: &str) -> Option<[u8; LEN]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = s.as_bytes();
    if bytes.len() != 2 * LEN {
        return None;
    }
    let mut out = [0u8; LEN];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn nonce() -> [u8; LEN] {
    // ThreadRng: a CSPRNG seeded from the operating system.
    let mut n = [0u8; LEN];
    rand::rng().fill_bytes(&mut n);
    n
}

/// One handshake line.
#[derive(Debug, Serialize, Deserialize)]
struct Step {
    from: SiteId,
    #[serde(flatten)]
    kind: Kind,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "head", content = "body")]
enum Kind {
    #[serde(rename = "auth_hello")]
    Hello { nonce: Hex32 },
    #[serde(rename = "auth_challenge")]
    Challenge { nonce: Hex32 },
    #[serde(rename = "auth_proof")]
    Proof { proof: Hex32 },
    #[serde(rename = "auth_ok")]
    Ok { proof: Hex32 },
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Hello { .. } => "hello",
            Kind::Challenge { .. } => "challenge",
            Kind::Proof { .. } => "proof",
            Kind::Ok { .. } => "ok",
        }
    }
}

/// Where handshake lines are read and written: a `Framed` line codec.
pub trait Lines:
    Stream<Item = Result<String, LinesCodecError>> + Sink<String, Error = LinesCodecError> + Unpin
{
}

impl<T> Lines for T where
    T: Stream<Item = Result<String, LinesCodecError>>
        + Sink<String, Error = LinesCodecError>
        + Unpin
{
}

async fn send(io: &mut impl Lines, from: SiteId, kind: Kind) -> Result<(), AuthError> {
    let line =
        serde_json::to_string(&Step { from, kind }).map_err(|e| AuthError::Write(e.to_string()))?;
    io.send(line)
        .await
        .map_err(|e| AuthError::Write(e.to_string()))
}

/// The next handshake line, which must be `expected`.
async fn receive(io: &mut impl Lines, expected: &'static str) -> Result<Step, AuthError> {
    let line = match io.next().await {
        None => return Err(AuthError::Closed),
        Some(Err(LinesCodecError::Io(e))) if e.kind() != std::io::ErrorKind::InvalidData => {
            return Err(AuthError::Read(e.to_string()))
        }
        Some(Err(e)) => {
            return Err(AuthError::Unexpected {
                expected,
                got: e.to_string(),
            })
        }
        Some(Ok(line)) => line,
    };
    let step: Step = serde_json::from_str(&line).map_err(|e| {
        if wire::decode_line(&line).is_ok() {
            AuthError::Unauthenticated(expected)
        } else {
            AuthError::Unexpected {
                expected,
                got: format!("a malformed line ({e})"),
            }
        }
    })?;
    Ok(step)
}

fn unexpected(expected: &'static str, got: &Kind) -> AuthError {
    AuthError::Unexpected {
        expected,
        got: got.name().to_string(),
    }
}

/// Is `line` a handshake line (to tell a peer with a secret from a broken
/// one, at a site that has none)?
pub fn is_handshake(line: &str) -> bool {
    serde_json::from_str::<Step>(line).is_ok()
}

/// The dialer's side: `me` dialed `peer`. On success, the connection's
/// [`Sealer`] for every line this site writes on it.
pub async fn dial(
    io: &mut impl Lines,
    secret: &Secret,
    me: SiteId,
    peer: SiteId,
) -> Result<Sealer, AuthError> {
    let dialer_nonce = nonce();
    send(
        io,
        me,
        Kind::Hello {
            nonce: Hex32(dialer_nonce),
        },
    )
    .await?;
    let step = receive(io, "challenge").await?;
    let nonce = match step.kind {
        Kind::Challenge { nonce } => nonce,
        other => return Err(unexpected("challenge", &other)),
    };
    if step.from != peer {
        return Err(AuthError::WrongSite {
            dialed: peer,
            says: step.from,
        });
    }
    let t = Transcript {
        dialer: me,
        acceptor: peer,
        dialer_nonce,
        acceptor_nonce: nonce.0,
    };
    let proof = Hex32(t.value(secret, DIALER_PROOF)?);
    send(io, me, Kind::Proof { proof }).await?;
    let step = receive(io, "ok").await?;
    let proof = match step.kind {
        Kind::Ok { proof } => proof,
        other => return Err(unexpected("ok", &other)),
    };
    if step.from != peer {
        return Err(AuthError::WrongSite {
            dialed: peer,
            says: step.from,
        });
    }
    t.check(secret, ACCEPTOR_PROOF, &proof.0)?;
    Sealer::new(&t.value(secret, KEY_DIALER_TO_ACCEPTOR)?)
}

/// The acceptor's side, `me` of `sites` sites. On success, the site that
/// dialed and the connection's [`Opener`] for every line it sends.
pub async fn accept(
    io: &mut impl Lines,
    secret: &Secret,
    me: SiteId,
    sites: u32,
) -> Result<(SiteId, Opener), AuthError> {
    let hello = receive(io, "hello").await?;
    let nonce = match hello.kind {
        Kind::Hello { nonce } => nonce,
        other => return Err(unexpected("hello", &other)),
    };
    let dialer = hello.from;
    if dialer == me || dialer >= sites {
        return Err(AuthError::BadSite(dialer));
    }
    let t = Transcript {
        dialer,
        acceptor: me,
        dialer_nonce: nonce.0,
        acceptor_nonce: self::nonce(),
    };
    send(
        io,
        me,
        Kind::Challenge {
            nonce: Hex32(t.acceptor_nonce),
        },
    )
    .await?;
    let step = receive(io, "proof").await?;
    let proof = match step.kind {
        Kind::Proof { proof } => proof,
        other => return Err(unexpected("proof", &other)),
    };
    if step.from != dialer {
        return Err(AuthError::Unexpected {
            expected: "proof",
            got: format!(
                "a proof from site {} after a hello from {dialer}",
                step.from
            ),
        });
    }
    t.check(secret, DIALER_PROOF, &proof.0)?;
    let proof = Hex32(t.value(secret, ACCEPTOR_PROOF)?);
    send(io, me, Kind::Ok { proof }).await?;
    Ok((
        dialer,
        Opener::new(&t.value(secret, KEY_DIALER_TO_ACCEPTOR)?)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Sealer, Opener) {
        let key = [7u8; LEN];
        (Sealer::new(&key).unwrap(), Opener::new(&key).unwrap())
    }

    /// What sealing and opening one line costs (`cargo test --release --lib
    /// seal_and_open_cost -- --ignored --nocapture`; README, Reliability and
    /// security).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn seal_and_open_cost() {
        use crate::paxos::{Ballot, Message};
        use crate::state::op::{Command, Op, OpId, Value};
        let tweet = |n: u64| Command {
            id: OpId {
                site: 1,
                boot: 7,
                seq: n,
            },
            op: Op::Tweet {
                user: "alice".into(),
                text: "x".repeat(100),
                time: chrono::DateTime::UNIX_EPOCH,
            },
        };
        for batch in [1u64, 16] {
            let msg = Message::Accept {
                ballot: Ballot::new(3, 1),
                slot: 12345,
                value: Value::batch((0..batch).map(tweet).collect()),
            };
            let line = wire::encode_seq(1, Some(99), &msg).unwrap();
            let (mut sealer, mut opener) = pair();
            const N: u32 = 100_000;
            let start = std::time::Instant::now();
            for _ in 0..N {
                let sealed = sealer.seal(&line).unwrap();
                std::hint::black_box(opener.open(&sealed).unwrap());
            }
            let each = start.elapsed() / N;
            println!("a {}-byte line: seal + open {each:?}", line.len());
        }
    }

    #[test]
    fn hex_round_trips_and_is_strict() {
        let bytes: [u8; LEN] = std::array::from_fn(|i| (i * 37) as u8);
        let text = String::from(Hex32(bytes));
        assert_eq!(text.len(), 64);
        assert_eq!(from_hex(&text), Some(bytes));
        assert_eq!(from_hex(&text.to_uppercase()), None);
        assert_eq!(from_hex(&text[2..]), None);
        assert_eq!(from_hex(&format!("{}zz", &text[2..])), None);
    }

    #[test]
    fn a_sealed_line_is_the_line_with_a_mac_field() {
        let (mut sealer, mut opener) = pair();
        let line = wire::encode(1, &crate::paxos::Message::Fetch { from: 3, to: 7 }).unwrap();
        let sealed = sealer.seal(&line).unwrap();
        assert_eq!(sealed.len(), line.len() + SEAL_LEN);
        assert!(sealed.starts_with(&line[..line.len() - 1]));
        let json: serde_json::Value = serde_json::from_str(&sealed).unwrap();
        assert_eq!(json["mac"].as_str().map(str::len), Some(64));
        assert_eq!(opener.open(&sealed).unwrap(), line);
        // The same line again: the counter has moved on.
        assert!(matches!(opener.open(&sealed), Err(AuthError::BadMac)));
    }

    #[test]
    fn altered_or_unsealed_lines_are_refused() {
        let (mut sealer, mut opener) = pair();
        let line = r#"{"from":1,"head":"fetch","body":{"from":3,"to":7}}"#;
        let sealed = sealer.seal(line).unwrap();
        let altered = sealed.replacen("\"to\":7", "\"to\":8", 1);
        assert!(matches!(opener.open(&altered), Err(AuthError::BadMac)));
        for bad in ["", "{}", line, "x".repeat(SEAL_LEN).as_str()] {
            assert!(matches!(opener.open(bad), Err(AuthError::NoMac)), "{bad}");
        }
        // A refused line does not move the counter: the real one still opens.
        assert_eq!(opener.open(&sealed).unwrap(), line);
        assert!(matches!(sealer.seal("[1]"), Err(WireError::NotAnObject)));
        let huge = format!("{{\"x\":\"{}\"}}", "y".repeat(MAX_LINE - 10));
        assert!(matches!(sealer.seal(&huge), Err(WireError::TooLarge(_))));
    }
}
