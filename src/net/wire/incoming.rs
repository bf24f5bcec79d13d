//! The hand-written reader of a line (see [`Incoming`]): the line's map is
//! handed to [`Message`]'s own (adjacently tagged) reader with `from` and
//! `seq` taken out of it on the way. `Message` reads its `head` and then its
//! `body` straight from the line (serde buffers only a `body` written before
//! its `head`), and skips keys it does not know, as before.

use super::Incoming;
use crate::paxos::SiteId;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use std::fmt;

pub(super) struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Incoming;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a line: a JSON object with from, head and body")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Incoming, A::Error> {
        let mut from = None;
        let mut seq = None;
        let msg = de::Deserialize::deserialize(Envelope(Sifted {
            map,
            from: &mut from,
            seq: &mut seq,
        }))?;
        let from = from.ok_or_else(|| de::Error::missing_field("from"))?;
        Ok(Incoming {
            from,
            seq: seq.flatten(),
            msg,
        })
    }
}

/// The line's map without `from` and `seq`, whose values it keeps.
struct Sifted<'a, A> {
    map: A,
    from: &'a mut Option<SiteId>,
    /// `Some(None)`: `"seq": null` was read.
    seq: &'a mut Option<Option<u64>>,
}

/// A key of the line: ours, or one for `Message` (borrowed from the line
/// when it holds no escape).
enum Key<'de> {
    From,
    Seq,
    Borrowed(&'de str),
    Owned(String),
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(match v {
            "from" => Key::From,
            "seq" => Key::Seq,
            _ => Key::Borrowed(v),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(match v {
            "from" => Key::From,
            "seq" => Key::Seq,
            _ => Key::Owned(v.to_string()),
        })
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Sifted<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            match self.map.next_key::<Key<'de>>()? {
                None => return Ok(None),
                Some(Key::From) => {
                    if self.from.is_some() {
                        return Err(de::Error::duplicate_field("from"));
                    }
                    *self.from = Some(self.map.next_value()?);
                }
                Some(Key::Seq) => {
                    if self.seq.is_some() {
                        return Err(de::Error::duplicate_field("seq"));
                    }
                    *self.seq = Some(self.map.next_value()?);
                }
                Some(Key::Borrowed(k)) => {
                    let key = de::value::BorrowedStrDeserializer::new(k);
                    return seed.deserialize(key).map(Some);
                }
                Some(Key::Owned(k)) => return seed.deserialize(k.into_deserializer()).map(Some),
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Hands the sifted map to whatever reads it (`Message`'s reader asks for
/// a struct).
struct Envelope<'a, A>(Sifted<'a, A>);

impl<'de, A: MapAccess<'de>> de::Deserializer<'de> for Envelope<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_line, Message};
    use crate::paxos::Ballot;

    /// `from` and `seq` anywhere in the line, keys with escapes, unknown
    /// keys skipped, duplicates refused: as the flattened reader did.
    #[test]
    fn reads_lines_in_any_shape() {
        let ack = Message::Ack {
            ballot: Ballot::new(2, 1),
            slot: 4,
        };
        for line in [
            r#"{"from":1,"seq":3,"head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
            r#"{"head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4},"seq":3,"from":1}"#,
            r#"{"body":{"ballot":{"round":2,"site":1},"slot":4},"from":1,"head":"ack","seq":3}"#,
            r#"{"fr\u006fm":1,"seq":3,"x":[1,{"y":2}],"h\u0065ad":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
        ] {
            let l = decode_line(line).unwrap();
            assert_eq!((l.from, l.seq, &l.msg), (1, Some(3), &ack), "{line}");
        }
        let l = decode_line(
            r#"{"from":1,"seq":null,"head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
        )
        .unwrap();
        assert_eq!(l.seq, None);
        for bad in [
            r#"{"from":1,"from":1,"head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
            r#"{"from":1,"seq":1,"seq":2,"head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
            r#"{"from":1,"head":"ack","head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
            r#"{"from":1,"seq":"3","head":"ack","body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
            r#"{"from":1,"head":"ack"}"#,
            r#"{"from":1,"body":{"ballot":{"round":2,"site":1},"slot":4}}"#,
        ] {
            assert!(decode_line(bad).is_err(), "accepted {bad}");
        }
    }
}
