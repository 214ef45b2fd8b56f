//! Strict JSON: duplicate member names and excessive nesting are refused
//! before anything is deserialized. serde_json alone keeps the last of two
//! duplicate members, which lets two parsers read one token differently.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Escaped, Malformed, Segment};

/// What the checker found, kept aside because serde errors are only strings.
enum Fault {
    Duplicate(String),
    TooDeep,
}

struct Context {
    max_depth: usize,
    fault: RefCell<Option<Fault>>,
}

impl Context {
    fn fail<E: de::Error>(&self, fault: Fault) -> E {
        *self.fault.borrow_mut() = Some(fault);
        E::custom("strict JSON check failed")
    }
}

/// Visits one JSON value without building it.
struct Check<'c> {
    ctx: &'c Context,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads an object key, borrowing it when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// Objects with more members than this switch from a linear scan to a set.
const LINEAR_SCAN_MEMBERS: usize = 12;

impl<'de> Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= self.ctx.max_depth {
            return Err(self.ctx.fail(Fault::TooDeep));
        }
        while seq
            .next_element_seed(Check {
                ctx: self.ctx,
                depth: self.depth + 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth >= self.ctx.max_depth {
            return Err(self.ctx.fail(Fault::TooDeep));
        }
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        let mut set: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let duplicate = match &mut set {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let dup = seen.contains(&key);
                    seen.push(key.clone());
                    if seen.len() > LINEAR_SCAN_MEMBERS {
                        set = Some(seen.drain(..).collect());
                    }
                    dup
                }
            };
            if duplicate {
                return Err(self.ctx.fail(Fault::Duplicate(key.into_owned())));
            }
            map.next_value_seed(Check {
                ctx: self.ctx,
                depth: self.depth + 1,
            })?;
        }
        Ok(())
    }
}

/// Describes a serde_json error by kind and position only, never by content.
pub(crate) fn describe(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected type",
        serde_json::error::Category::Eof => "unexpected end",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}

/// Checks that `bytes` is one JSON value with no duplicate member names and
/// no nesting deeper than `max_depth`, with nothing after it.
pub(crate) fn check(bytes: &[u8], part: Segment, max_depth: usize) -> Result<(), Error> {
    let ctx = Context {
        max_depth,
        fault: RefCell::new(None),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = Check {
        ctx: &ctx,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (result, ctx.fault.into_inner()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(Fault::Duplicate(name))) => Err(Malformed::DuplicateMember {
            part,
            name: Escaped::new(&name),
        }
        .into()),
        (Err(_), Some(Fault::TooDeep)) => Err(Malformed::TooDeep {
            part,
            limit: max_depth,
        }
        .into()),
        (Err(e), None) => Err(Malformed::Json {
            part,
            detail: describe(&e),
        }
        .into()),
    }
}

/// Strictly checks and then deserializes a payload into `T`.
pub(crate) fn from_slice_strict<T: DeserializeOwned>(
    bytes: &[u8],
    part: Segment,
    max_depth: usize,
) -> Result<T, Error> {
    check(bytes, part, max_depth)?;
    serde_json::from_slice(bytes).map_err(|e| {
        // After the check passes only type mismatches remain; their message
        // ("missing field `x`") helps, so it is kept, escaped and cut short.
        Malformed::PayloadType(Escaped::new(&e.to_string())).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        check(s.as_bytes(), Segment::Payload, 8).is_ok()
    }

    #[test]
    fn accepts_plain_json() {
        assert!(ok(r#"{"a":1,"b":[1,2,{"c":null}],"d":"\u00e9"}"#));
        assert!(ok("[]"));
        assert!(ok("\"text\""));
        assert!(ok(" 12 "));
    }

    #[test]
    fn rejects_duplicates_at_any_depth_and_escaped() {
        assert!(!ok(r#"{"a":1,"a":2}"#));
        assert!(!ok(r#"{"x":{"a":1,"a":1}}"#));
        assert!(!ok(r#"{"a":1,"\u0061":2}"#));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        assert!(ok(&format!("{{{}}}", many.join(","))));
        assert!(!ok(&format!("{{{},\"k3\":0}}", many.join(","))));
    }

    #[test]
    fn rejects_depth_garbage_and_bad_text() {
        assert!(ok(&format!("{}{}", "[".repeat(8), "]".repeat(8))));
        let deep = format!("{}{}", "[".repeat(9), "]".repeat(9));
        assert!(matches!(
            check(deep.as_bytes(), Segment::Header, 8),
            Err(Error::Malformed(Malformed::TooDeep { limit: 8, .. }))
        ));
        let very_deep = "[".repeat(100_000);
        assert!(check(very_deep.as_bytes(), Segment::Payload, 120).is_err());
        assert!(!ok("{} x"));
        assert!(!ok("\u{feff}{}"));
        assert!(!ok(r#""\ud800""#));
        assert!(check(b"\"\xff\"", Segment::Payload, 8).is_err());
        assert!(!ok(""));
    }
}
