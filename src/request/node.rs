//! Node `jsonwebtoken` compatibility: the bytes `jwt.sign(JSON.parse(body),
//! key, { algorithm, keyid })` produces, so that a Rust signing service can
//! replace a Node one without a single token changing.
//!
//! What Node does, and so what this does:
//! - `JSON.parse` then `JSON.stringify`: compact output; member order as
//!   parsed, except that keys which are array indices (`"0"`, `"17"`, up to
//!   2^32 - 2) come first in ascending order, as every JavaScript object
//!   orders them; every number is a double, printed the ECMAScript way
//!   (`1.0` is `1`, `-0` is `0`, `1e21` is `1e+21`, 2^53 + 1 rounds);
//!   strings escape only `"`, `\`, and control characters.
//! - `iat` (unless turned off) is set to the payload's own truthy `iat` or
//!   the current second: kept in place when present, appended when not;
//!   `exp` from a time to live and `jti` are appended and may not be in the
//!   payload already; `iat`, `exp` and `nbf` must be numbers.
//! - The header is `{"alg":…,"typ":"JWT","kid":…}` in that order.

use std::fmt::Write;

use crate::ClaimError;
use crate::error::{Error, Escaped, Malformed, Segment};

/// One parsed JSON value, with numbers as the doubles JavaScript has.
enum Value {
    Literal(&'static str),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

/// The claims Node adds, and what it refuses.
pub(crate) struct NodeClaims {
    /// The current second.
    pub(crate) now: u64,
    /// Whether `iat` is written (Node's `noTimestamp: false`).
    pub(crate) iat: bool,
    /// Seconds from the timestamp to `exp` (Node's numeric `expiresIn`).
    pub(crate) exp_after: Option<u64>,
    /// Node's `jwtid`.
    pub(crate) jti: Option<String>,
}

/// The payload bytes Node would sign for `json` (which the caller checked
/// to be strict JSON).
pub(crate) fn payload(json: &[u8], claims: &NodeClaims) -> Result<Vec<u8>, Error> {
    let text = std::str::from_utf8(json).map_err(|_| Malformed::NotUtf8)?;
    let mut parser = Parser { text, at: 0 };
    parser.skip_space();
    let value = parser.value()?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(json_error("data after the JSON value"));
    }
    let Value::Object(mut members) = value else {
        return Err(ClaimError::NotAnObject.into());
    };
    for name in ["iat", "exp", "nbf"] {
        if let Some((_, value)) = members.iter().find(|(n, _)| n == name) {
            if !matches!(value, Value::Number(_)) {
                return Err(ClaimError::WrongType(name).into());
            }
        }
    }
    // Node: `timestamp = payload.iat || now`, then `payload.iat = timestamp`
    // (in place, or appended), or `delete payload.iat` under noTimestamp.
    let position = members.iter().position(|(n, _)| n == "iat");
    let timestamp = match position.map(|i| &members[i].1) {
        Some(Value::Number(iat)) if *iat != 0.0 => *iat,
        _ => claims.now as f64,
    };
    match (claims.iat, position) {
        (true, Some(i)) => members[i].1 = Value::Number(timestamp),
        (true, None) => members.push(("iat".into(), Value::Number(timestamp))),
        (false, Some(i)) => {
            members.remove(i);
        }
        (false, None) => {}
    }
    if let Some(ttl) = claims.exp_after {
        add(&mut members, "exp", Value::Number(timestamp + ttl as f64))?;
    }
    if let Some(jti) = &claims.jti {
        add(&mut members, "jti", Value::String(jti.clone()))?;
    }
    let mut out = String::with_capacity(json.len() + 64);
    write_value(&Value::Object(members), &mut out);
    Ok(out.into_bytes())
}

/// Node refuses an option whose claim the payload already has.
fn add(members: &mut Vec<(String, Value)>, name: &str, value: Value) -> Result<(), Error> {
    if members.iter().any(|(n, _)| n == name) {
        return Err(Error::Config(format!(
            "the payload already has {name}, which the signer would add"
        )));
    }
    members.push((name.to_owned(), value));
    Ok(())
}

/// The header Node writes: `alg`, `typ`, then `kid`.
pub(crate) fn header_json(alg: &str, kid: Option<&str>) -> Vec<u8> {
    let mut out = String::with_capacity(64);
    out.push_str("{\"alg\":");
    write_string(alg, &mut out);
    out.push_str(",\"typ\":\"JWT\"");
    if let Some(kid) = kid {
        out.push_str(",\"kid\":");
        write_string(kid, &mut out);
    }
    out.push('}');
    out.into_bytes()
}

fn json_error(detail: &str) -> Error {
    Malformed::Json {
        part: Segment::Payload,
        detail: detail.to_owned(),
    }
    .into()
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Result<(), Error> {
        self.skip_space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(json_error("unexpected character"))
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.skip_space();
        let rest = &self.text[self.at..];
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.string()?)),
            _ => {
                for literal in ["true", "false", "null"] {
                    if rest.starts_with(literal) {
                        self.at += literal.len();
                        return Ok(Value::Literal(literal));
                    }
                }
                self.number()
            }
        }
    }

    fn object(&mut self) -> Result<Value, Error> {
        self.at += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_space();
            let name = self.string()?;
            self.eat(b':')?;
            let value = self.value()?;
            members.push((name, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(json_error("unexpected character in an object")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, Error> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(json_error("unexpected character in an array")),
            }
        }
    }

    fn string(&mut self) -> Result<String, Error> {
        if self.peek() != Some(b'"') {
            return Err(json_error("a string was expected"));
        }
        // serde_json decodes escapes (and refuses lone surrogates) exactly
        // as JSON.parse does; find the closing quote first.
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => self.at += 2,
                Some(_) => self.at += 1,
                None => return Err(json_error("an unterminated string")),
            }
        }
        self.at += 1;
        serde_json::from_str(&self.text[start..self.at])
            .map_err(|_| json_error("an invalid string"))
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        let text = &self.text[start..self.at];
        // Strict JSON was checked already; Rust's parse rounds correctly,
        // as JSON.parse does.
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && !text.is_empty())
            .map(Value::Number)
            .ok_or_else(|| {
                Error::from(Malformed::Json {
                    part: Segment::Payload,
                    detail: format!("the number {} is not a finite double", Escaped::new(text)),
                })
            })
    }
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Literal(literal) => out.push_str(literal),
        Value::Number(n) => write_number(*n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            // JavaScript objects list array-index keys first, ascending.
            let mut indices: Vec<(u32, &(String, Value))> = members
                .iter()
                .filter_map(|m| array_index(&m.0).map(|i| (i, m)))
                .collect();
            indices.sort_by_key(|(i, _)| *i);
            let others = members.iter().filter(|m| array_index(&m.0).is_none());
            out.push('{');
            for (i, (name, value)) in indices
                .into_iter()
                .map(|(_, m)| m)
                .chain(others)
                .enumerate()
            {
                if i > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(value, out);
            }
            out.push('}');
        }
    }
}

/// A key that is an array index: the canonical decimal form of an integer
/// from 0 to 2^32 - 2.
fn array_index(key: &str) -> Option<u32> {
    let index: u32 = key.parse().ok()?;
    (index != u32::MAX && index.to_string() == key).then_some(index)
}

/// `JSON.stringify` of a string: `"`, `\` and control characters escaped,
/// nothing else.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript `Number::toString` for a finite double (ECMA-262 6.1.6.1.20):
/// the shortest digits that round-trip, placed by the exponent.
fn write_number(n: f64, out: &mut String) {
    if n == 0.0 {
        out.push('0'); // also -0
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: d.ddde±x.
    let scientific = format!("{:e}", n.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    // The value is 0.d1d2…dk × 10^point.
    let point = exponent.parse::<i32>().unwrap_or(0) + 1;
    if k <= point && point <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - k) as usize));
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = point - 1;
        let _ = write!(out, "e{}{}", if e >= 0 { '+' } else { '-' }, e.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: f64) -> String {
        let mut out = String::new();
        write_number(n, &mut out);
        out
    }

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        for (n, js) in [
            (1.0, "1"),
            (-0.0, "0"),
            (0.1, "0.1"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (123.456, "123.456"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (-2.5e-300, "-2.5e-300"),
            (9007199254740993.0, "9007199254740992"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (123456789012345680000.0, "123456789012345680000"),
        ] {
            assert_eq!(number(n), js, "{n:e}");
        }
    }

    #[test]
    fn array_index_keys_come_first() {
        let claims = NodeClaims {
            now: 0,
            iat: false,
            exp_after: None,
            jti: None,
        };
        let out = payload(
            br#"{ "b": 1, "2": 2, "a": [1.0, -0], "10": 3, "01": 4, "1": 5 }"#,
            &claims,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"1":5,"2":2,"10":3,"b":1,"a":[1,0],"01":4}"#
        );
    }
}
