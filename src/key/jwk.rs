//! JSON Web Keys (RFC 7517) for RSA public keys, and key sets.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Algorithm;
use crate::error::{Error, Segment};
use crate::json;

/// JWKs are flat; anything deeper than this is not a key.
const JWK_MAX_DEPTH: usize = 4;

/// A public JSON Web Key.
///
/// Only public members are kept: a private JWK read into this type drops
/// `d`, `p`, `q` and the rest, so a `Jwk` never carries secrets. Members the
/// crate does not use (`x5c`, `ext`, ...) are ignored.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type; only `RSA` keys can be loaded.
    pub kty: String,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended use (`sig` or `enc`).
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations (`verify`, `sign`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Algorithm the key is meant for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Whether the source JSON also held private members (never kept).
    #[serde(skip)]
    pub(crate) has_private_members: bool,
}

/// What is read from JSON; private members are only noted, not stored.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<serde::de::IgnoredAny>,
    k: Option<serde::de::IgnoredAny>,
}

impl From<RawJwk> for Jwk {
    fn from(raw: RawJwk) -> Self {
        Jwk {
            kty: raw.kty,
            kid: raw.kid,
            key_use: raw.key_use,
            key_ops: raw.key_ops,
            alg: raw.alg,
            n: raw.n,
            e: raw.e,
            has_private_members: raw.d.is_some() || raw.k.is_some(),
        }
    }
}

impl Jwk {
    pub(crate) fn rsa(n: String, e: String) -> Self {
        Jwk {
            kty: "RSA".to_owned(),
            kid: None,
            key_use: None,
            key_ops: None,
            alg: None,
            n: Some(n),
            e: Some(e),
            has_private_members: false,
        }
    }

    /// Parses one JWK, refusing duplicate members.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for invalid JSON or members of the wrong type.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        json::check(json.as_bytes(), Segment::Payload, JWK_MAX_DEPTH)
            .map_err(|e| Error::key(format!("JWK: {e}")))?;
        let raw: RawJwk = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("JWK: {}", json::describe(&e))))?;
        Ok(raw.into())
    }

    /// Serializes to compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Sets `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `alg`.
    #[must_use]
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg.as_str().to_owned());
        self
    }

    /// Sets `use` to `sig`.
    #[must_use]
    pub fn for_signatures(mut self) -> Self {
        self.key_use = Some("sig".to_owned());
        self
    }

    /// True unless `use` or `key_ops` say the key is not for verifying signatures.
    pub fn allows_verification(&self) -> bool {
        self.key_use.as_deref().is_none_or(|u| u == "sig")
            && self
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|op| op == "verify"))
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("use", &self.key_use)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// A JWK Set: `{"keys": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JwkSet {
    /// The keys, in document order.
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<RawJwk>,
}

impl JwkSet {
    /// A set of the given keys.
    pub fn new(keys: Vec<Jwk>) -> Self {
        JwkSet { keys }
    }

    /// Parses a JWK Set, refusing duplicate members.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for invalid JSON or a missing `keys` array.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        json::check(json.as_bytes(), Segment::Payload, JWK_MAX_DEPTH + 2)
            .map_err(|e| Error::key(format!("JWKS: {e}")))?;
        let raw: RawJwkSet = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("JWKS: {}", json::describe(&e))))?;
        Ok(JwkSet {
            keys: raw.keys.into_iter().map(Jwk::from).collect(),
        })
    }

    /// Serializes to compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_members_are_dropped_and_noted() {
        let jwk = Jwk::from_json(r#"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"c2VjcmV0"}"#).unwrap();
        assert!(jwk.has_private_members);
        assert!(!jwk.to_json().contains("c2VjcmV0"));
        assert!(!format!("{jwk:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn use_and_key_ops() {
        let base = Jwk::rsa("AQAB".into(), "AQAB".into());
        assert!(base.allows_verification());
        let mut enc = base.clone();
        enc.key_use = Some("enc".into());
        assert!(!enc.allows_verification());
        let mut ops = base.clone();
        ops.key_ops = Some(vec!["encrypt".into()]);
        assert!(!ops.allows_verification());
        ops.key_ops = Some(vec!["sign".into(), "verify".into()]);
        assert!(ops.allows_verification());
    }

    #[test]
    fn rejects_duplicates_and_wrong_types() {
        assert!(Jwk::from_json(r#"{"kty":"RSA","n":"AQAB","n":"AQAB","e":"AQAB"}"#).is_err());
        assert!(Jwk::from_json(r#"{"kty":"RSA","kid":5,"n":"AQAB","e":"AQAB"}"#).is_err());
        assert!(JwkSet::from_json(r#"{"keys":{}}"#).is_err());
    }
}
