//! Strict JSON: duplicate member names and excessive nesting are refused
//! before anything is deserialized. serde_json alone keeps the last of two
//! duplicate members, which lets two parsers read one token differently.

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::{Error, Escaped, Malformed, Segment};

mod strict;

pub(crate) use strict::CapturedClaims;

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
    parse_strict::<serde::de::IgnoredAny>(bytes, part, max_depth, |e| {
        Malformed::Json {
            part,
            detail: describe(e),
        }
        .into()
    })
    .map(drop)
}

/// Deserializes `bytes` into `T` in one pass that also refuses duplicate
/// member names and nesting deeper than `max_depth` (what `T` ignores is
/// checked too). Structural faults take precedence over the others: a
/// failed parse is scanned again, so that a duplicate is named as one even
/// when the type refused it first. `on_error` words serde_json's errors.
pub(crate) fn parse_strict<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    part: Segment,
    max_depth: usize,
    on_error: impl FnOnce(&serde_json::Error) -> Error,
) -> Result<T, Error> {
    run(strict::Pass::new(max_depth), bytes, part, on_error).map(|(value, _)| value)
}

/// As [`parse_strict`], also giving the raw text of the registered claims
/// (`exp`, `nbf`, `iat`, `aud`, `iss`, `jti`, in that order) of the
/// top-level object, whatever `T` reads of them: a JWT's claims and its
/// typed payload from one pass.
pub(crate) fn parse_strict_with_claims<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    max_depth: usize,
    on_error: impl FnOnce(&serde_json::Error) -> Error,
) -> Result<(T, CapturedClaims<'a>), Error> {
    let pass = strict::Pass::capturing_claims(max_depth);
    run(pass, bytes, Segment::Payload, on_error)
}

fn run<'a, T: Deserialize<'a>>(
    pass: strict::Pass<'a>,
    bytes: &'a [u8],
    part: Segment,
    on_error: impl FnOnce(&serde_json::Error) -> Error,
) -> Result<(T, CapturedClaims<'a>), Error> {
    let max_depth = pass.max_depth();
    #[cfg(test)]
    crate::claims::tests::count_scan();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = T::deserialize(strict::Strict::new(&mut de, &pass)).and_then(|value| {
        de.end()?;
        Ok(value)
    });
    match parsed {
        Ok(value) => {
            if pass.unsure() {
                check_structure(bytes, part, max_depth)?;
            }
            Ok((value, pass.captured()))
        }
        Err(e) => Err(match pass.fault(part) {
            Some(fault) => fault,
            None => match check_structure(bytes, part, max_depth) {
                Err(
                    fault @ Error::Malformed(
                        Malformed::DuplicateMember { .. } | Malformed::TooDeep { .. },
                    ),
                ) => fault,
                _ => on_error(&e),
            },
        }),
    }
}

/// The structural half of [`check`], for callers that parse the same bytes
/// with serde_json right after (which rejects bad grammar): duplicate member
/// names and nesting depth, found by one fast scan that skips strings with
/// memchr instead of tokenizing every value.
///
/// On valid JSON it refuses exactly what [`check`] refuses (when a value has
/// several problems, each may name a different one first: this scan finds
/// duplicates when their object closes); on invalid JSON it may pass, and
/// the serde_json parse that follows refuses it.
pub(crate) fn check_structure(bytes: &[u8], part: Segment, max_depth: usize) -> Result<(), Error> {
    #[cfg(test)]
    crate::claims::tests::count_scan();
    let too_deep = || {
        Error::from(Malformed::TooDeep {
            part,
            limit: max_depth,
        })
    };
    let syntax = || {
        Error::from(Malformed::Json {
            part,
            detail: "syntax error".into(),
        })
    };
    // One entry per open container: `Some(start)` for an object, whose member
    // names are `names[start..]`, `None` for an array. All names share one
    // buffer; an object's are sorted and compared when it closes: no
    // hashing, and O(n log n) whatever names an attacker picks.
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut names: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut expecting_key = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                loop {
                    let at = memchr::memchr2(b'"', b'\\', &bytes[end..]).ok_or_else(syntax)? + end;
                    if bytes[at] == b'"' {
                        end = at;
                        break;
                    }
                    escaped = true;
                    end = at + 2; // skip the escaped character
                    if end > bytes.len() {
                        return Err(syntax());
                    }
                }
                if expecting_key {
                    if let Some(Some(_)) = stack.last() {
                        names.push(if escaped {
                            let decoded: String =
                                serde_json::from_slice(&bytes[i..=end]).map_err(|_| syntax())?;
                            Cow::Owned(decoded.into_bytes())
                        } else {
                            Cow::Borrowed(&bytes[start..end])
                        });
                    }
                    expecting_key = false;
                }
                i = end + 1;
                continue;
            }
            b'{' | b'[' => {
                if stack.len() >= max_depth {
                    return Err(too_deep());
                }
                let object = bytes[i] == b'{';
                stack.push(object.then_some(names.len()));
                expecting_key = object;
            }
            b'}' | b']' => {
                if let Some(start) = stack.pop().ok_or_else(syntax)? {
                    let members = &mut names[start..];
                    if members.len() > 1 {
                        members.sort_unstable();
                        if let Some(pair) = members.windows(2).find(|pair| pair[0] == pair[1]) {
                            let name = Escaped::from_bytes(&pair[0]);
                            return Err(Malformed::DuplicateMember { part, name }.into());
                        }
                    }
                    names.truncate(start);
                }
                expecting_key = false;
            }
            b',' => expecting_key = matches!(stack.last(), Some(Some(_))),
            _ => {}
        }
        i += 1;
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(syntax())
    }
}

/// Maps a serde_json error on a header: wrong shape or bad syntax.
pub(crate) fn header_error(e: &serde_json::Error) -> Error {
    match e.classify() {
        serde_json::error::Category::Data => Error::header("must be a JSON object"),
        _ => Malformed::Json {
            part: Segment::Header,
            detail: describe(e),
        }
        .into(),
    }
}

/// Deserializes a payload into `T`, strictly, in one pass.
pub(crate) fn from_slice_strict<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    part: Segment,
    max_depth: usize,
) -> Result<T, Error> {
    parse_strict(bytes, part, max_depth, |e| payload_error::<T>(bytes, e))
}

/// Deserializes a payload whose structure [`check_structure`] already passed.
pub(crate) fn from_slice_checked<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| payload_error::<T>(bytes, &e))
}

/// The error for a payload that did not deserialize. A type mismatch names
/// where (the member path) and what the type expected, never the value:
/// serde's own message quotes it (`invalid type: string "4111…"`), and a
/// payload holds card numbers. Syntax errors say only where. The failed
/// parse is run again with path tracking, so the fast path pays nothing.
pub(crate) fn payload_error<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    e: &serde_json::Error,
) -> Error {
    if e.classify() != serde_json::error::Category::Data {
        return Malformed::Json {
            part: Segment::Payload,
            detail: describe(e),
        }
        .into();
    }
    Malformed::PayloadType(data_error_detail::<T>(bytes, e)).into()
}

/// Where a data error happened (the member path) and what the type
/// expected, never the value; the failed parse runs again with path tracking.
pub(crate) fn data_error_detail<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    e: &serde_json::Error,
) -> String {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let path = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(e) => e.path().to_string(),
        Ok(_) => ".".to_owned(),
    };
    format!(
        "at {}: {}",
        Escaped::new(&path),
        mismatch_without_value(&e.to_string())
    )
}

/// Keeps what a serde data error says about the target type and drops
/// what it says about the input.
fn mismatch_without_value(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or_default();
    let expected = |rest: &str| {
        rest.rsplit_once(", expected ")
            .map(|(_, expected)| format!(", expected {expected}"))
            .unwrap_or_default()
    };
    for (prefix, said) in [
        ("invalid type: ", "invalid type"),
        ("invalid value: ", "invalid value"),
        ("unknown variant ", "unknown variant"),
        ("unknown field ", "unknown field"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return format!("{said}{}", expected(rest));
        }
    }
    // Lengths and the type's own field names carry no input value.
    if message.starts_with("invalid length ")
        || message.starts_with("missing field ")
        || message.starts_with("duplicate field ")
    {
        return message.to_owned();
    }
    // A custom message may quote anything.
    "the value does not fit the expected type".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod reference {
        //! The plain reference the fast paths are held to: a visitor that
        //! walks the whole value with serde_json and a set per object.
        use std::borrow::Cow;
        use std::cell::RefCell;
        use std::collections::HashSet;
        use std::fmt;

        use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

        use crate::error::{Error, Escaped, Malformed, Segment};
        use crate::json::describe;

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

        /// The reference verdict on `bytes`.
        pub(in crate::json) fn check(
            bytes: &[u8],
            part: Segment,
            max_depth: usize,
        ) -> Result<(), Error> {
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
    }

    use proptest::prelude::*;

    #[test]
    fn type_errors_name_the_place_never_the_value() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)] // only deserialized
        struct Card {
            holder: String,
            pan: u64,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)] // only deserialized
        struct Payment {
            card: Card,
            currency: Currency,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Currency {
            #[serde(rename = "USD")]
            Usd,
        }
        let cases = [
            (
                r#"{"card":{"holder":"Ada","pan":"4111111111111111"},"currency":"USD"}"#,
                "card.pan",
            ),
            (
                r#"{"card":{"holder":"Ada","pan":1},"currency":"4111111111111111"}"#,
                "currency",
            ),
            (
                r#"{"card":{"holder":4111111111111111,"pan":1},"currency":"USD"}"#,
                "card.holder",
            ),
        ];
        for (json, path) in cases {
            let err = from_slice_checked::<Payment>(json.as_bytes()).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("4111"), "{shown}");
            assert!(shown.contains(path), "{shown}");
            assert!(shown.contains("expected"), "{shown}");
        }
        let err = from_slice_checked::<Payment>(br#"{"card":{"holder":"Ada"}}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `pan`"), "{err}");
    }

    /// Valid JSON text with objects whose member names often repeat, some
    /// spelled with escapes.
    fn json_text() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec!["a", "b", "\\u0061", "a\\\"", "", "k\\n"]);
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("1.5e3".to_owned()),
            Just("\"x{y}\"".to_owned()),
            Just("\"[\\\"]\"".to_owned()),
        ];
        leaf.prop_recursive(5, 40, 4, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key.clone(), inner), 0..4).prop_map(|members| {
                    let members: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    /// Whether `result` failed for a structural reason (a duplicate or depth).
    fn structural<T>(result: &Result<T, Error>) -> bool {
        matches!(
            result,
            Err(Error::Malformed(
                Malformed::DuplicateMember { .. } | Malformed::TooDeep { .. }
            ))
        )
    }

    /// A type that reads one member and ignores the rest, so the one-pass
    /// check must walk what serde skips.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)] // only deserialized
    struct OnlyA {
        a: Option<serde_json::Value>,
    }

    proptest! {
        #[test]
        fn fast_paths_agree_with_the_reference(text in json_text(), depth in 1usize..7) {
            prop_assume!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            let bytes = text.as_bytes();
            let reference = reference::check(bytes, Segment::Payload, depth);
            // The same verdict; with several problems (a duplicate inside, a
            // depth beyond), each may name a different one first.
            let scan = check_structure(bytes, Segment::Payload, depth);
            prop_assert_eq!(reference.is_ok(), scan.is_ok(), "scan: {}", text);
            let one_pass = check(bytes, Segment::Payload, depth);
            prop_assert_eq!(reference.is_ok(), one_pass.is_ok(), "one pass: {}", text);
            let value = from_slice_strict::<serde_json::Value>(bytes, Segment::Payload, depth);
            prop_assert_eq!(reference.is_ok(), value.is_ok(), "into a Value: {}", text);
            // A type that ignores most of the text: the structure still decides.
            let partial = from_slice_strict::<OnlyA>(bytes, Segment::Payload, depth);
            prop_assert_eq!(reference.is_err(), structural(&partial), "into OnlyA: {}", text);
            // Keys read as numbers: the scan steps in.
            let numbered = from_slice_strict::<std::collections::BTreeMap<u32, serde::de::IgnoredAny>>(
                bytes,
                Segment::Payload,
                depth,
            );
            if reference.is_err() {
                prop_assert!(numbered.is_err(), "into a map by number: {}", text);
            }
        }
    }

    #[test]
    fn one_pass_refuses_duplicates_whatever_the_target_type() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)] // only deserialized
        struct Claims {
            sub: String,
            exp: Option<u64>,
        }
        let strict = |text: &str| -> Result<Claims, Error> {
            from_slice_strict(text.as_bytes(), Segment::Payload, 8)
        };
        // A known field twice: named as a duplicate, not as serde's type error.
        assert!(structural(&strict(r#"{"sub":"a","sub":"b"}"#)));
        // An ignored member twice, at the top and deep inside ignored values.
        assert!(structural(&strict(r#"{"sub":"a","x":1,"x":2}"#)));
        assert!(structural(&strict(
            r#"{"sub":"a","x":[{"y":{"z":1,"z":2}}]}"#
        )));
        assert!(structural(&strict(r#"{"sub":"a","\u0073ub":"b"}"#)));
        // Too deep inside an ignored member.
        let deep = format!(r#"{{"sub":"a","x":{}1{}}}"#, "[".repeat(8), "]".repeat(8));
        assert!(matches!(
            strict(&deep),
            Err(Error::Malformed(Malformed::TooDeep { limit: 8, .. }))
        ));
        assert!(strict(r#"{"sub":"a","x":{"sub":1},"y":[{"x":1},{"x":1}]}"#).is_ok());
        // Names are compared by length and first eight bytes first: names
        // alike in those are told apart by the rest, at every length.
        for name in ["", "a", "abcdefgh", "abcdefghi", "payment_reference_0001"] {
            let twice = format!(r#"{{"sub":"a","{name}":1,"{name}":2}}"#);
            match strict(&twice) {
                Err(Error::Malformed(Malformed::DuplicateMember { name: shown, .. })) => {
                    assert_eq!(shown.to_string(), format!("{:?}", name), "{twice}");
                }
                other => panic!("{twice}: {other:?}"),
            }
        }
        let alike: Vec<String> = (0..2000)
            .map(|i| format!(r#""payment_{i:06}":{i}"#))
            .collect();
        let alike = format!(r#"{{"sub":"a",{}}}"#, alike.join(","));
        assert!(strict(&alike).is_ok());
        let again = format!(r#"{},"payment_001999":0}}"#, &alike[..alike.len() - 1]);
        assert!(structural(&strict(&again)));
        // A short name twice among long look-alikes, and the other way round.
        assert!(structural(&strict(
            r#"{"sub":"a","abcdefgh1":1,"abcdefgh2":2,"x":1,"x":2}"#
        )));
        assert!(structural(&strict(
            r#"{"sub":"a","x":1,"abcdefgh1":1,"y":2,"abcdefgh1":2}"#
        )));
        // Maps keyed by numbers: the names are not seen as strings, the scan decides.
        let by_number = |text: &str| {
            from_slice_strict::<std::collections::HashMap<u32, u32>>(
                text.as_bytes(),
                Segment::Payload,
                8,
            )
        };
        assert!(structural(&by_number(r#"{"1":1,"1":2}"#)));
        assert_eq!(by_number(r#"{"1":1,"2":2}"#).unwrap().len(), 2);
        // Enums: a unit variant as a string, a newtype variant as an object.
        #[derive(serde::Deserialize, Debug, PartialEq)]
        enum Status {
            Active,
            Held { reason: String },
        }
        let status = |text: &str, depth| {
            from_slice_strict::<Vec<Status>>(text.as_bytes(), Segment::Payload, depth)
        };
        assert_eq!(
            status(r#"["Active",{"Held":{"reason":"kyc"}}]"#, 8).unwrap(),
            [
                Status::Active,
                Status::Held {
                    reason: "kyc".into()
                }
            ]
        );
        assert!(structural(&status(
            r#"[{"Held":{"reason":"a","reason":"b"}}]"#,
            8
        )));
        // The variant's object is one level, its fields' object another.
        assert!(status(r#"[{"Held":{"reason":"kyc"}}]"#, 3).is_ok());
        assert!(structural(&status(r#"[{"Held":{"reason":"kyc"}}]"#, 2)));
        assert!(structural(&status(r#"[{"Held":{"reason":"kyc"}}]"#, 1)));
    }

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

    /// The fast scan on what the sort-at-close design must get right:
    /// escaped spellings of one name, very wide objects (no hashing to
    /// attack), names shared between sibling and nested objects, depth.
    #[test]
    fn fast_scan_on_escapes_width_and_nesting() {
        let fast = |text: &str, depth| check_structure(text.as_bytes(), Segment::Payload, depth);
        assert!(fast(r#"{"a":1,"\u0061":2}"#, 4).is_err());
        assert!(fast(r#"{"\u00e9":1,"é":2}"#, 4).is_err());
        assert!(fast(r#"{"a":{"a":1},"b":{"a":2},"c":[{"a":3},{"a":4}]}"#, 4).is_ok());
        assert!(fast(r#"{"a":{"b":1},"b":{"b":2,"c":{"b":3}},"b":0}"#, 4).is_err());
        let wide: Vec<String> = (0..20_000).map(|i| format!("\"m{i}\":{i}")).collect();
        let wide = format!("{{{}}}", wide.join(","));
        assert!(fast(&wide, 4).is_ok());
        let twice = format!("{},\"m19999\":0}}", &wide[..wide.len() - 1]);
        assert!(matches!(
            fast(&twice, 4),
            Err(Error::Malformed(Malformed::DuplicateMember { .. }))
        ));
        let deep = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(fast(&deep, 32).is_ok());
        assert!(fast(&deep, 31).is_err());
    }

    fn same_verdict(text: &str, depth: usize) {
        let reference =
            reference::check(text.as_bytes(), Segment::Payload, depth).map_err(|e| e.to_string());
        let fast = check_structure(text.as_bytes(), Segment::Payload, depth);
        assert_eq!(reference, fast.map_err(|e| e.to_string()), "scan: {text}");
        let one_pass = check(text.as_bytes(), Segment::Payload, depth);
        assert_eq!(
            reference,
            one_pass.map_err(|e| e.to_string()),
            "one pass: {text}"
        );
    }

    #[test]
    fn fast_paths_agree_on_valid_json() {
        for text in [
            r#"{"a":1,"b":[1,2,{"c":null}],"d":"\u00e9"}"#,
            r#"{"a":1,"a":2}"#,
            r#"{"x":{"a":1,"a":1}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"a\"b":1,"a\u0022b":2}"#,
            r#"{"k":"{\"k\":1,\"k\":2}","j":"[[[[[[[[[["}"#,
            r#"[{"a":1},{"a":1}]"#,
            r#"{"a":[{"b":1}],"b":{"a":2}}"#,
            r#"{"":1,"":2}"#,
            r#"{"\\":1,"\\\\":2}"#,
            "[[[[[[[[]]]]]]]]",
            "[[[[[[[[[]]]]]]]]]",
            "\"text\"",
            "12",
        ] {
            same_verdict(text, 8);
        }
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        same_verdict(&format!("{{{}}}", many.join(",")), 8);
        same_verdict(&format!("{{{},\"k3\":0}}", many.join(",")), 8);
        same_verdict(&format!("{{{},\"k\\u0033\":0}}", many.join(",")), 8);
    }

    #[test]
    fn fast_scan_refuses_what_it_cannot_read() {
        for bad in [
            &b"\"open"[..],
            b"{\"a\":1",
            b"]",
            b"{\"a\\",
            b"[[[[[[[[[[[[[[[[[[",
        ] {
            assert!(
                check_structure(bad, Segment::Payload, 8).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let wide = format!("[{}]", "{},".repeat(100_000) + "{}");
        assert!(check_structure(wide.as_bytes(), Segment::Payload, 8).is_ok());
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
