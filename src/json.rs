//! Strict JSON: duplicate member names and excessive nesting are refused
//! before anything is deserialized. serde_json alone keeps the last of two
//! duplicate members, which lets two parsers read one token differently.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

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

/// Strictly checks and then deserializes a payload into `T`.
pub(crate) fn from_slice_strict<'a, T: serde::Deserialize<'a>>(
    bytes: &'a [u8],
    part: Segment,
    max_depth: usize,
) -> Result<T, Error> {
    check_structure(bytes, part, max_depth)?;
    from_slice_checked(bytes)
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

    proptest! {
        #[test]
        fn fast_scan_agrees_with_the_reference(text in json_text(), depth in 1usize..7) {
            prop_assume!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
            let reference = check(text.as_bytes(), Segment::Payload, depth);
            let fast = check_structure(text.as_bytes(), Segment::Payload, depth);
            // The same verdict; with several problems (a duplicate inside, a
            // depth beyond), each may name a different one first.
            prop_assert_eq!(reference.is_ok(), fast.is_ok(), "{}", text);
        }
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
        let reference = check(text.as_bytes(), Segment::Payload, depth);
        let fast = check_structure(text.as_bytes(), Segment::Payload, depth);
        assert_eq!(
            reference.map_err(|e| e.to_string()),
            fast.map_err(|e| e.to_string()),
            "{text}"
        );
    }

    #[test]
    fn fast_scan_agrees_on_valid_json() {
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
