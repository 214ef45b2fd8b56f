//! The JOSE header of a JWS.

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
        json::check_structure(bytes, Segment::Header, max_depth)?;
        let mut map: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| json::header_error(&e))?;
        let alg = match map.shift_remove("alg") {
            None => return Err(Error::header("missing alg")),
            Some(Value::String(name)) => Algorithm::from_name(&name)?,
            Some(_) => return Err(Error::header("alg must be a string")),
        };
        let kid = take_string(&mut map, "kid")?;
        let typ = take_string(&mut map, "typ")?;
        let cty = take_string(&mut map, "cty")?;
        let b64 = match map.shift_remove("b64") {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => return Err(Error::header("b64 must be a boolean")),
        };
        let crit = match map.shift_remove("crit") {
            None => None,
            Some(Value::Array(items)) => Some(check_crit(items, b64.is_some(), &map, understood)?),
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
            extra: map,
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

fn take_string(map: &mut Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match map.shift_remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::header(format!("{name} must be a string"))),
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
