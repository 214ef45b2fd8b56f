//! The JOSE header of a JWS.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Escaped, Malformed, Segment};
use crate::{Algorithm, Signer, json};

/// Header members the crate reads itself; they may not appear in `extra`.
const NAMED_MEMBERS: [&str; 6] = ["alg", "kid", "typ", "cty", "crit", "b64"];

/// Extensions this crate understands when listed in `crit`.
const UNDERSTOOD_CRITICAL: [&str; 1] = ["b64"];

/// A JWS protected header.
///
/// `alg` is always one of the supported [`Algorithm`]s. Members the crate
/// does not interpret are kept in `extra`, in document order; that includes
/// `jwk`, `jku`, `x5u` and `x5c`, which are never used to pick a key.
///
/// ```
/// use signed_payloads::{Algorithm, Header};
/// let header = Header::new(Algorithm::RS256).with_kid("k1").with_typ("JWT");
/// assert_eq!(header.kid.as_deref(), Some("k1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Header {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// Key id.
    pub kid: Option<String>,
    /// Media type of the whole token (`JWT`, ...).
    pub typ: Option<String>,
    /// Media type of the payload (`JWT` for nested tokens, ...).
    pub cty: Option<String>,
    /// Extensions that must be understood (only `b64` is).
    pub crit: Option<Vec<String>>,
    /// RFC 7797: `Some(false)` means the payload is not base64url-encoded.
    pub b64: Option<bool>,
    /// Every other member, in document order.
    pub extra: Map<String, Value>,
}

impl Header {
    /// A header with only `alg`.
    pub fn new(alg: Algorithm) -> Self {
        Header {
            alg,
            kid: None,
            typ: None,
            cty: None,
            crit: None,
            b64: None,
            extra: Map::new(),
        }
    }

    /// A header with the signer's algorithm and key id.
    pub fn for_signer(signer: &dyn Signer) -> Self {
        let mut header = Header::new(signer.algorithm());
        header.kid = signer.key_id().map(str::to_owned);
        header
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `typ`.
    #[must_use]
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Sets `cty`.
    #[must_use]
    pub fn with_cty(mut self, cty: impl Into<String>) -> Self {
        self.cty = Some(cty.into());
        self
    }

    /// Marks the payload as unencoded (RFC 7797): sets `b64: false` and lists
    /// `b64` in `crit`.
    #[must_use]
    pub fn unencoded_payload(mut self) -> Self {
        self.b64 = Some(false);
        let crit = self.crit.get_or_insert_with(Vec::new);
        if !crit.iter().any(|c| c == "b64") {
            crit.push("b64".to_owned());
        }
        self
    }

    /// True when the payload travels unencoded (`b64: false`).
    pub fn is_unencoded(&self) -> bool {
        self.b64 == Some(false)
    }

    /// Parses and checks a decoded header.
    pub(crate) fn from_json(bytes: &[u8], max_depth: usize) -> Result<Self, Error> {
        Self::from_json_understanding(bytes, max_depth, &[])
    }

    /// As [`Header::from_json`], also accepting the extension members
    /// `understood` in `crit` (a profile's own, checked by that profile).
    pub(crate) fn from_json_understanding(
        bytes: &[u8],
        max_depth: usize,
        understood: &[&str],
    ) -> Result<Self, Error> {
        let members: Members<'_> =
            json::parse_strict(bytes, Segment::Header, max_depth, json::header_error)?;
        let Members {
            alg,
            kid,
            typ,
            cty,
            b64,
            crit,
            extra,
        } = members;
        let alg = match alg {
            None => return Err(Error::header("missing alg")),
            Some(Loose::Str(name)) => Algorithm::from_name(&name)?,
            Some(_) => return Err(Error::header("alg must be a string")),
        };
        let kid = string(kid, "kid")?;
        let typ = string(typ, "typ")?;
        let cty = string(cty, "cty")?;
        let b64 = match b64 {
            None => None,
            Some(Loose::Bool(b)) => Some(b),
            Some(_) => return Err(Error::header("b64 must be a boolean")),
        };
        let crit = match crit {
            None => None,
            Some(Loose::List(items)) => Some(check_crit(items, b64.is_some(), &extra, understood)?),
            Some(_) => return Err(Error::header("crit must be an array of strings")),
        };
        if b64.is_some() && !crit.as_ref().is_some_and(|c| c.iter().any(|n| n == "b64")) {
            return Err(Error::header("b64 is present but not listed in crit"));
        }
        Ok(Header {
            alg,
            kid,
            typ,
            cty,
            crit,
            b64,
            extra,
        })
    }

    /// Serializes for signing; refuses `extra` members that shadow named ones.
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, Error> {
        if let Some(name) = self
            .extra
            .keys()
            .find(|k| NAMED_MEMBERS.contains(&k.as_str()))
        {
            return Err(Error::Config(format!(
                "the header to sign sets {} through extra, not its field",
                Escaped::new(name)
            )));
        }
        if self.b64.is_some()
            && !self
                .crit
                .as_ref()
                .is_some_and(|c| c.iter().any(|n| n == "b64"))
        {
            return Err(Error::Config(
                "the header to sign has b64 but does not list it in crit".into(),
            ));
        }
        serde_json::to_vec(self).map_err(Error::Serialization)
    }
}

fn string(member: Option<Loose<'_>>, name: &str) -> Result<Option<String>, Error> {
    match member {
        None => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s.into_owned())),
        Some(_) => Err(Error::header(format!("{name} must be a string"))),
    }
}

/// A header's members as read: the named ones apart (no map, no hashing
/// for them), every other one in `extra`, in document order. Duplicates
/// never get here: the strict pass refuses them.
struct Members<'de> {
    alg: Option<Loose<'de>>,
    kid: Option<Loose<'de>>,
    typ: Option<Loose<'de>>,
    cty: Option<Loose<'de>>,
    b64: Option<Loose<'de>>,
    crit: Option<Loose<'de>>,
    extra: Map<String, Value>,
}

/// A named member's value, kept only as far as its checks need.
enum Loose<'de> {
    Str(Cow<'de, str>),
    Bool(bool),
    List(Vec<Value>),
    Other,
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Members {
            alg: None,
            kid: None,
            typ: None,
            cty: None,
            b64: None,
            crit: None,
            extra: Map::new(),
        };
        while let Some(Name(name)) = map.next_key()? {
            let slot = match &*name {
                "alg" => &mut members.alg,
                "kid" => &mut members.kid,
                "typ" => &mut members.typ,
                "cty" => &mut members.cty,
                "b64" => &mut members.b64,
                "crit" => &mut members.crit,
                _ => {
                    let value = map.next_value()?;
                    members.extra.insert(name.into_owned(), value);
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(members)
    }
}

/// A member name, borrowed when it has no escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Loose::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Loose::Other)
    }
}

/// `crit` (RFC 7515 4.1.11): a non-empty list of distinct names, each one
/// this crate or the profile understands, each present in the header.
fn check_crit(
    items: Vec<Value>,
    b64_present: bool,
    members: &Map<String, Value>,
    understood: &[&str],
) -> Result<Vec<String>, Error> {
    if items.is_empty() {
        return Err(Error::header("crit must not be empty"));
    }
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(name) = item else {
            return Err(Error::header("crit must be an array of strings"));
        };
        let present = if UNDERSTOOD_CRITICAL.contains(&name.as_str()) {
            b64_present
        } else if understood.contains(&name.as_str()) {
            members.contains_key(&name)
        } else {
            return Err(Malformed::UnsupportedCritical(Escaped::new(&name)).into());
        };
        if names.contains(&name) {
            return Err(Error::header("crit lists a name twice"));
        }
        if !present {
            return Err(Error::header(format!(
                "crit lists {} but the header has no such member",
                Escaped::new(&name)
            )));
        }
        names.push(name);
    }
    Ok(names)
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("alg", self.alg.as_str())?;
        if let Some(kid) = &self.kid {
            map.serialize_entry("kid", kid)?;
        }
        if let Some(typ) = &self.typ {
            map.serialize_entry("typ", typ)?;
        }
        if let Some(cty) = &self.cty {
            map.serialize_entry("cty", cty)?;
        }
        if let Some(crit) = &self.crit {
            map.serialize_entry("crit", crit)?;
        }
        if let Some(b64) = &self.b64 {
            map.serialize_entry("b64", b64)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Header, Error> {
        Header::from_json(json.as_bytes(), 16)
    }

    #[test]
    fn reads_known_and_keeps_extra_members() {
        let h = parse(r#"{"alg":"PS384","kid":"k","typ":"JWT","x5c":["AA"],"zz":1}"#).unwrap();
        assert_eq!(h.alg, Algorithm::PS384);
        assert_eq!(h.kid.as_deref(), Some("k"));
        assert_eq!(h.extra.keys().collect::<Vec<_>>(), ["x5c", "zz"]);
        let again = Header::from_json(&h.to_json().unwrap(), 16).unwrap();
        assert_eq!(again, h);
    }

    #[test]
    fn refuses_bad_members() {
        for bad in [
            r#"{}"#,
            r#"[]"#,
            r#"{"alg":null}"#,
            r#"{"alg":"none"}"#,
            r#"{"alg":"rs256"}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":"RS256","kid":null}"#,
            r#"{"alg":"RS256","typ":["JWT"]}"#,
            r#"{"alg":"RS256","crit":[]}"#,
            r#"{"alg":"RS256","crit":"b64","b64":false}"#,
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"RS256","crit":["b64"]}"#,
            r#"{"alg":"RS256","crit":["b64","b64"],"b64":false}"#,
            r#"{"alg":"RS256","b64":false}"#,
            r#"{"alg":"RS256","b64":"false","crit":["b64"]}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(
            parse(r#"{"alg":"RS256","crit":["b64"],"b64":false}"#)
                .unwrap()
                .is_unencoded()
        );
    }

    #[test]
    fn extra_cannot_shadow_named_members() {
        let mut h = Header::new(Algorithm::RS256);
        h.extra.insert("alg".into(), Value::from("none"));
        assert!(h.to_json().is_err());
    }
}
