//! JSON Web Keys (RFC 7517, RFC 8037) for public keys, and key sets.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, KeyRejected, Segment};
use crate::json;
use crate::{Algorithm, KeyKind};

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
    /// Key type: `RSA`, `EC` or `OKP` can be loaded.
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
    /// Curve of an `EC` or `OKP` key (`P-256`, `P-384`, `P-521`, `Ed25519`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, or the Ed25519 public key, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
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
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
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
            crv: raw.crv,
            x: raw.x,
            y: raw.y,
            has_private_members: raw.d.is_some() || raw.k.is_some(),
        }
    }
}

impl Jwk {
    /// A JWK with only `kty` and `crv` set, for a key of `kind`.
    pub(crate) fn of_kind(kind: KeyKind) -> Self {
        Jwk {
            kty: kind.jwk_key_type().to_owned(),
            kid: None,
            key_use: None,
            key_ops: None,
            alg: None,
            n: None,
            e: None,
            crv: kind.jwk_curve().map(str::to_owned),
            x: None,
            y: None,
            has_private_members: false,
        }
    }

    /// Parses one JWK, refusing duplicate members.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for invalid JSON or members of the wrong type.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let raw: RawJwk =
            json::parse_strict(json.as_bytes(), Segment::Payload, JWK_MAX_DEPTH, |e| {
                Error::key(format!("JWK: {}", json::describe(e)))
            })
            .map_err(|e| in_jwk("JWK", e))?;
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
        self.allows(KeyPurpose::Verify)
    }

    /// True unless `use` (RFC 7517 4.2) or `key_ops` (4.3) say the key is
    /// not for `purpose`.
    fn allows(&self, purpose: KeyPurpose) -> bool {
        excluded_by(self.key_use.as_deref(), self.key_ops.as_deref(), purpose).is_none()
    }

    /// The algorithm the key declares (`alg`), reconciled with the caller's
    /// choice: the caller's `requested` algorithm, which must be the
    /// declared one when both exist; else the declared one; else `default`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedAlgorithm`] for a declared `alg` outside the
    /// supported set; [`Error::Config`] when `requested` disagrees with it.
    pub fn algorithm(
        &self,
        requested: Option<Algorithm>,
        default: Algorithm,
    ) -> Result<Algorithm, Error> {
        let declared = self.alg.as_deref().map(Algorithm::from_name).transpose()?;
        match (requested, declared) {
            (Some(requested), Some(declared)) if requested != declared => Err(Error::Config(
                format!("the JWK declares alg {declared}, but {requested} was asked for"),
            )),
            (Some(alg), _) | (None, Some(alg)) => Ok(alg),
            (None, None) => Ok(default),
        }
    }

    /// Everything a JWK declares about its use, checked for `purpose`: its
    /// `use` and `key_ops` must allow it, and the algorithm is as
    /// [`Jwk::algorithm`] reconciles it. Every path that reads a JWK (one
    /// key or a set, library or command line) asks this.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] when `use` or `key_ops` exclude `purpose`, and
    /// the errors of [`Jwk::algorithm`].
    pub fn algorithm_for(
        &self,
        purpose: KeyPurpose,
        requested: Option<Algorithm>,
        default: Algorithm,
    ) -> Result<Algorithm, Error> {
        if !self.allows(purpose) {
            return Err(KeyRejected::WrongUse(match purpose {
                KeyPurpose::Verify => "signature verification",
                KeyPurpose::Sign => "signing",
            })
            .into());
        }
        self.algorithm(requested, default)
    }
}

/// What a key from a JWK is about to do, for [`Jwk::algorithm_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// Verify signatures (`key_ops` `verify`).
    Verify,
    /// Make signatures (`key_ops` `sign`).
    Sign,
}

impl KeyPurpose {
    /// Its `key_ops` value (RFC 7517 §4.3).
    pub(crate) const fn key_op(self) -> &'static str {
        match self {
            KeyPurpose::Verify => "verify",
            KeyPurpose::Sign => "sign",
        }
    }
}

/// Which of a JWK's declarations excludes an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Excluded {
    /// `use` is not `sig`.
    Use,
    /// `key_ops` lacks the operation.
    KeyOps,
}

/// The one reading of a JWK's `use` (RFC 7517 §4.2) and `key_ops` (§4.3)
/// for a signature key, whatever its `kty`: which of them, if any,
/// excludes `purpose`.
pub(crate) fn excluded_by(
    key_use: Option<&str>,
    key_ops: Option<&[String]>,
    purpose: KeyPurpose,
) -> Option<Excluded> {
    if key_use.is_some_and(|u| u != "sig") {
        Some(Excluded::Use)
    } else if key_ops.is_some_and(|ops| !ops.iter().any(|o| o == purpose.key_op())) {
        Some(Excluded::KeyOps)
    } else {
        None
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
        let raw: RawJwkSet =
            json::parse_strict(json.as_bytes(), Segment::Payload, JWK_MAX_DEPTH + 2, |e| {
                Error::key(format!("JWKS: {}", json::describe(e)))
            })
            .map_err(|e| in_jwk("JWKS", e))?;
        Ok(JwkSet {
            keys: raw.keys.into_iter().map(Jwk::from).collect(),
        })
    }

    /// Serializes to compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A structural fault of a JWK or JWKS, said as a key error; other errors
/// already are.
fn in_jwk(what: &str, e: Error) -> Error {
    match e {
        Error::Malformed(_) => Error::key(format!("{what}: {e}")),
        e => e,
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
        let base = Jwk::of_kind(KeyKind::Rsa);
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
