//! Verifying a detached-header signature against the body it travelled with.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::profile::{DetachedProfile, PayloadEncoding};
use crate::error::{Error, Escaped, Malformed};
use crate::jws::Parsed;
use crate::pipeline::{Core, Rules, shared_settings};
use crate::request::VerifyFuture;
use crate::{AsyncKeySource, ClaimError, Clock, Header, KeyRegistry, KeySource, Limits, Verified};

/// Verifies detached-header signatures ([`DetachedProfile`]) with keys from
/// a [`KeySource`] (a registry: sync methods) or an [`AsyncKeySource`] (a
/// remote JWKS, a key store: `*_async` methods), through the same pipeline
/// as the other profiles.
///
/// Per signature: the header is found exactly once; the value is a compact
/// JWS with an empty payload segment whose `crit` lists only `b64` and the
/// profile's members, each present; the encoding and algorithm are ones the
/// profile accepts; the key its `kid` names verifies the signature over the
/// body; then `typ` and `cty` if present, and each member of the profile:
/// listed in `crit`, of its type, the signing time within the profile's age
/// and leeway, the issuer the one registered for the key, the trust anchor
/// one of those accepted.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, KeySigner, VerificationKey};
/// use signed_payloads::detached::{DetachedSigner, DetachedVerifier};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("tpp-1", key.public_key().clone(), Algorithm::PS256)?);
/// let signer = DetachedSigner::new(
///     Arc::new(KeySigner::new(key, Algorithm::PS256)?.with_key_id("tpp-1")),
///     "org-1/software-1",
///     "openbanking.org.uk",
/// );
/// let body = br#"{"Data":{"Initiation":{}}}"#;
/// let signature = signer.sign(body)?;
///
/// let verifier = DetachedVerifier::new(Arc::new(registry))
///     .with_key_issuer("tpp-1", "org-1/software-1")
///     .with_trust_anchors(["openbanking.org.uk"]);
/// let verified = verifier.verify(&signature, body)?;
/// assert_eq!(verified.key_id(), Some("tpp-1"));
/// assert!(verifier.verify(&signature, br#"{"Data":{"Initiation":{"x":1}}}"#).is_err());
/// # Ok(()) }
/// ```
pub struct DetachedVerifier<K: ?Sized = KeyRegistry> {
    core: Core<K, ()>,
    profile: DetachedProfile,
    /// The issuer each key id signs as.
    key_issuers: HashMap<String, String>,
    /// The issuer of keys not in `key_issuers`.
    issuer: Option<String>,
    trust_anchors: Vec<String>,
}

impl<K: ?Sized> DetachedVerifier<K> {
    /// A verifier over `keys` with the [`DetachedProfile::open_banking`]
    /// profile (either encoding), no issuer and no trust anchor registered
    /// yet.
    pub fn new(keys: Arc<K>) -> Self {
        let profile = DetachedProfile::default();
        let mut rules = Rules::jws();
        rules.understood_critical = profile.members();
        DetachedVerifier {
            core: Core::new(keys, rules),
            profile,
            key_issuers: HashMap::new(),
            issuer: None,
            trust_anchors: Vec::new(),
        }
    }

    shared_settings!();

    /// Uses another profile.
    #[must_use]
    pub fn with_profile(mut self, profile: DetachedProfile) -> Self {
        self.core.rules.understood_critical = profile.members();
        self.profile = profile;
        self
    }

    /// The issuer the key `kid` signs as; a signature by that key naming
    /// another is refused.
    #[must_use]
    pub fn with_key_issuer(mut self, kid: impl Into<String>, issuer: impl Into<String>) -> Self {
        self.key_issuers.insert(kid.into(), issuer.into());
        self
    }

    /// The issuer every key not given its own by
    /// [`DetachedVerifier::with_key_issuer`] signs as (an API's one
    /// counterparty, say).
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The trust anchors a signature may name.
    #[must_use]
    pub fn with_trust_anchors<I, T>(mut self, anchors: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.trust_anchors = anchors.into_iter().map(Into::into).collect();
        self
    }

    /// Uses `clock` for the signing time and key expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.core.rules.clock = clock;
        self
    }

    /// The profile in use.
    pub fn profile(&self) -> &DetachedProfile {
        &self.profile
    }

    /// The header value among `headers`: exactly one, matched by name
    /// case-insensitively.
    fn find_header<'h, I, N, V>(&self, headers: I) -> Result<&'h str, Error>
    where
        I: IntoIterator<Item = (N, &'h V)>,
        N: AsRef<str>,
        V: AsRef<[u8]> + ?Sized + 'h,
    {
        let name = self.profile.header_name();
        let mut found = None;
        for (n, value) in headers {
            if n.as_ref().eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return Err(Malformed::DuplicateHeader(Escaped::new(name)).into());
                }
                found = Some(value.as_ref());
            }
        }
        let value = found.ok_or_else(|| Malformed::MissingHeader(Escaped::new(name)))?;
        std::str::from_utf8(value).map_err(|_| Malformed::BadHeaderValue(Escaped::new(name)).into())
    }

    /// Splits the value and checks what needs no key: size, shape, encoding
    /// and algorithm.
    fn parse<'a>(&self, signature: &'a str, body: &[u8]) -> Result<Parsed<'a>, Error> {
        self.core.rules.limits.check_size("body", body.len())?;
        let parsed = self.core.rules.parse(signature.trim_ascii())?;
        let encoding = if parsed.header.is_unencoded() {
            PayloadEncoding::Unencoded
        } else {
            PayloadEncoding::Encoded
        };
        if !self.profile.accepts(encoding) {
            return Err(Error::header(match encoding {
                PayloadEncoding::Unencoded => "this profile does not accept b64 false",
                PayloadEncoding::Encoded => "this profile requires b64 false",
            }));
        }
        if !self.profile.algorithms.contains(&parsed.header.alg) {
            return Err(Error::header(format!(
                "alg {} is not one this profile accepts",
                parsed.header.alg
            )));
        }
        Ok(parsed)
    }

    /// After the signature: the header rules and the profile's members.
    fn check_header(&self, verified: &Verified<Vec<u8>>) -> Result<(), Error> {
        let (Some(header), Some(kid)) = (verified.header(), verified.key_id()) else {
            return Err(Error::Config(
                "a detached signature verified without its header".into(),
            ));
        };
        let profile = &self.profile;
        if let (Some(typ), Some(expected)) = (&header.typ, profile.typ) {
            if !typ.eq_ignore_ascii_case(expected) {
                return Err(ClaimError::Type(Escaped::new(expected)).into());
            }
        }
        if let Some(cty) = &header.cty {
            if !profile.cty.iter().any(|c| c.eq_ignore_ascii_case(cty)) {
                return Err(Error::header(format!(
                    "cty {} is not one this profile accepts",
                    Escaped::new(cty)
                )));
            }
        }
        if let Some(iat) = self.member(header, profile.iat_member)? {
            self.check_signing_time(iat, profile.iat_member.unwrap_or("iat"))?;
        }
        if let Some(iss) = self.member(header, profile.iss_member)? {
            let name = profile.iss_member.unwrap_or("iss");
            let expected = self
                .key_issuers
                .get(kid)
                .or(self.issuer.as_ref())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "no issuer is registered for key {}; give one with with_key_issuer or with_issuer",
                        Escaped::new(kid)
                    ))
                })?;
            match iss {
                Value::String(iss) if iss == expected => {}
                Value::String(_) => return Err(ClaimError::IssuerMismatch.into()),
                _ => return Err(ClaimError::WrongType(name).into()),
            }
        }
        if let Some(tan) = self.member(header, profile.tan_member)? {
            if self.trust_anchors.is_empty() {
                return Err(Error::Config(
                    "no trust anchor is accepted; give them with with_trust_anchors".into(),
                ));
            }
            match tan {
                Value::String(tan) if self.trust_anchors.contains(tan) => {}
                Value::String(_) => return Err(ClaimError::TrustAnchorMismatch.into()),
                _ => {
                    return Err(ClaimError::WrongType(profile.tan_member.unwrap_or("tan")).into());
                }
            }
        }
        Ok(())
    }

    /// The member `name` of `header`: refused when required and absent, or
    /// present but not listed in `crit`.
    fn member<'h>(
        &self,
        header: &'h Header,
        name: Option<&'static str>,
    ) -> Result<Option<&'h Value>, Error> {
        let Some(name) = name else { return Ok(None) };
        let Some(value) = header.extra.get(name) else {
            if self.profile.required.contains(&name) {
                return Err(ClaimError::Missing(name).into());
            }
            return Ok(None);
        };
        if !header
            .crit
            .as_ref()
            .is_some_and(|crit| crit.iter().any(|c| c == name))
        {
            return Err(ClaimError::NotCritical(name).into());
        }
        Ok(Some(value))
    }

    /// The signing time: a NumericDate, not older than the profile's maximum
    /// age nor ahead by more than its leeway.
    fn check_signing_time(&self, iat: &Value, name: &'static str) -> Result<(), Error> {
        let Value::Number(iat) = iat else {
            return Err(ClaimError::WrongType(name).into());
        };
        let iat = iat
            .as_f64()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or(ClaimError::OutOfRange(name))?;
        let now = self
            .core
            .rules
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let leeway = self.profile.leeway.as_secs_f64();
        if iat > now + leeway {
            return Err(ClaimError::IssuedInFuture.into());
        }
        if now > iat + self.profile.max_age.as_secs_f64() + leeway {
            return Err(ClaimError::TooOld.into());
        }
        Ok(())
    }
}

impl<K> DetachedVerifier<K>
where
    K: KeySource<Scope = ()> + ?Sized,
{
    /// Verifies `signature` (the header value) over `body` (the bytes exactly
    /// as received) and returns the body.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a value that is not a detached compact JWS,
    /// an unknown `crit` entry or one absent from the header, an encoding or
    /// algorithm the profile refuses; [`Error::UnknownKeyId`],
    /// [`Error::KeyExpired`], [`Error::AlgorithmMismatch`],
    /// [`Error::BadSignature`]; [`Error::Claim`] for a member that is
    /// missing, not in `crit`, of the wrong type, too old or in the future,
    /// from another issuer or trust anchor; [`Error::TooLarge`];
    /// [`Error::Config`] when no issuer or trust anchor is registered.
    pub fn verify(&self, signature: &str, body: &[u8]) -> Result<Verified<Vec<u8>>, Error> {
        let parsed = self.parse(signature, body)?;
        let keys = self.core.keys.key_set(&(), parsed.kid())?;
        let verified = self.core.rules.check(parsed, &keys, Some(body))?;
        self.check_header(&verified)?;
        Ok(verified)
    }

    /// Finds the profile's header among `headers` (exactly once) and
    /// verifies it over `body`.
    ///
    /// # Errors
    ///
    /// [`Malformed::MissingHeader`], [`Malformed::DuplicateHeader`],
    /// [`Malformed::BadHeaderValue`], and the errors of
    /// [`DetachedVerifier::verify`].
    pub fn verify_headers<'h, I, N, V>(
        &self,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, &'h V)>,
        N: AsRef<str>,
        V: AsRef<[u8]> + ?Sized + 'h,
    {
        self.verify(self.find_header(headers)?, body)
    }

    /// As [`DetachedVerifier::verify`], then deserializes the body into `T`.
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify`], and [`Error::Malformed`] for a
    /// body that is not strict JSON or does not fit `T`.
    pub fn verify_json<T: DeserializeOwned>(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        self.verify(signature, body)?
            .deserialize_json(&self.core.rules.limits)
    }
}

impl<K> DetachedVerifier<K>
where
    K: AsyncKeySource + ?Sized,
{
    /// As [`DetachedVerifier::verify`], for keys chosen by `scope` (a
    /// tenant id, for a [`TenantKeys`](crate::store::TenantKeys) source),
    /// waiting for the key source.
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify`], [`Error::UnknownTenant`], and
    /// [`Error::Unavailable`] when a store or endpoint cannot answer.
    pub async fn verify_for(
        &self,
        scope: &K::Scope,
        signature: &str,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error> {
        let parsed = self.parse(signature, body)?;
        let keys = self.core.keys.key_set_async(scope, parsed.kid()).await?;
        let verified = self.core.rules.check(parsed, &keys, Some(body))?;
        self.check_header(&verified)?;
        Ok(verified)
    }
}

impl<K> DetachedVerifier<K>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
{
    /// As [`DetachedVerifier::verify`], waiting for the key source.
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify`], and [`Error::Unavailable`].
    pub async fn verify_async(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error> {
        self.verify_for(&(), signature, body).await
    }

    /// As [`DetachedVerifier::verify_headers`], waiting for the key source.
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify_headers`], and [`Error::Unavailable`].
    pub async fn verify_headers_async<'h, I, N, V>(
        &self,
        headers: I,
        body: &[u8],
    ) -> Result<Verified<Vec<u8>>, Error>
    where
        I: IntoIterator<Item = (N, &'h V)>,
        N: AsRef<str>,
        V: AsRef<[u8]> + ?Sized + 'h,
    {
        let signature = self.find_header(headers)?;
        self.verify_async(signature, body).await
    }

    /// As [`DetachedVerifier::verify_json`], waiting for the key source.
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify_json`], and [`Error::Unavailable`].
    pub async fn verify_json_async<T: DeserializeOwned>(
        &self,
        signature: &str,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        self.verify_async(signature, body)
            .await?
            .deserialize_json(&self.core.rules.limits)
    }
}

/// A [`DetachedVerifier`] behind one object-safe face, whatever its key
/// source: what the axum extractor `DetachedJson` holds, as
/// `Arc<dyn DetachedBodyVerifier>`.
pub trait DetachedBodyVerifier: fmt::Debug + Send + Sync {
    /// The limits in force (the extractor reads at most the body limit).
    fn limits(&self) -> &Limits;

    /// The profile (its header name, for the extractor).
    fn profile(&self) -> &DetachedProfile;

    /// As [`DetachedVerifier::verify_async`].
    ///
    /// # Errors
    ///
    /// As for [`DetachedVerifier::verify_async`].
    fn verify_body<'a>(&'a self, signature: &'a str, body: &'a [u8]) -> VerifyFuture<'a>;
}

impl<K> DetachedBodyVerifier for DetachedVerifier<K>
where
    K: AsyncKeySource<Scope = ()> + fmt::Debug + ?Sized,
{
    fn limits(&self) -> &Limits {
        &self.core.rules.limits
    }

    fn profile(&self) -> &DetachedProfile {
        &self.profile
    }

    fn verify_body<'a>(&'a self, signature: &'a str, body: &'a [u8]) -> VerifyFuture<'a> {
        Box::pin(self.verify_async(signature, body))
    }
}

impl<K: fmt::Debug + ?Sized> fmt::Debug for DetachedVerifier<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetachedVerifier")
            .field("core", &self.core)
            .field("profile", &self.profile)
            .field("key_issuers", &self.key_issuers)
            .field("issuer", &self.issuer)
            .field("trust_anchors", &self.trust_anchors)
            .finish()
    }
}
