//! Verifying a signed request body.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::{Error, Escaped, Malformed};
use crate::{ClaimError, ClaimsPolicy, KeyRegistry, Limits, Verified};

/// Verifies signed request bodies against a program's [`KeyRegistry`].
///
/// Per token: the registry picks the key (by `kid`, or each key when there is
/// none) and checks the signature; then the header (`b64` must not be
/// `false` in a JWT; `typ` if an expected one is set), the payload (strict
/// JSON object), and the claims under the [`ClaimsPolicy`].
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use serde::Deserialize;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, RsaSigner, VerificationKey};
/// use signed_payloads::request::{RequestSigner, RequestVerifier};
///
/// #[derive(Deserialize)]
/// struct CreateUser { first_name: String }
///
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256)?);
/// let signer = RequestSigner::new(Arc::new(RsaSigner::new(key, Algorithm::RS256).with_key_id("k1")));
/// let token = signer.sign_json(br#"{"first_name":"Ada"}"#)?;
///
/// let verifier = RequestVerifier::new(Arc::new(registry));
/// let user = verifier.verify_request::<CreateUser>(Some("application/jwt"), token.as_bytes())?;
/// assert_eq!(user.payload().first_name, "Ada");
/// assert_eq!(user.key_id(), Some("k1"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RequestVerifier {
    registry: Arc<KeyRegistry>,
    claims: ClaimsPolicy,
    limits: Limits,
    expected_typ: Option<String>,
}

impl RequestVerifier {
    /// A verifier over `registry` with the default claims policy and limits.
    pub fn new(registry: Arc<KeyRegistry>) -> Self {
        RequestVerifier {
            registry,
            claims: ClaimsPolicy::new(),
            limits: Limits::default(),
            expected_typ: None,
        }
    }

    /// Sets the claims policy.
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimsPolicy) -> Self {
        self.claims = claims;
        self
    }

    /// Sets the input limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Requires the header `typ` to be `typ` (compared ASCII case-insensitively,
    /// as media types are).
    #[must_use]
    pub fn expect_typ(mut self, typ: impl Into<String>) -> Self {
        self.expected_typ = Some(typ.into());
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The registry the keys come from.
    pub fn registry(&self) -> &Arc<KeyRegistry> {
        &self.registry
    }

    /// Verifies a token and returns its payload bytes exactly as signed.
    ///
    /// # Errors
    ///
    /// The registry's errors ([`Error::BadSignature`], [`Error::UnknownKeyId`],
    /// ...), [`Error::Malformed`] for a payload that is not strict JSON, and
    /// [`Error::Claim`] for claims that fail the policy.
    pub fn verify_bytes(&self, token: &str) -> Result<Verified<Vec<u8>>, Error> {
        let verified = self.registry.verify(token.trim_ascii(), &self.limits)?;
        let header = verified.header();
        if header.is_unencoded() {
            return Err(Error::header("b64 must not be false in a JWT"));
        }
        if let Some(expected) = &self.expected_typ {
            if !header
                .typ
                .as_deref()
                .is_some_and(|typ| typ.eq_ignore_ascii_case(expected))
            {
                return Err(ClaimError::Type(Escaped::new(expected)).into());
            }
        }
        self.claims
            .check_with_depth(verified.payload(), self.limits.max_json_depth())?;
        Ok(verified)
    }

    /// Verifies a token and deserializes its payload into `T`.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes`], and [`Malformed::PayloadType`]
    /// when the payload does not fit `T`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        let verified = self.verify_bytes(token)?;
        let payload: T = serde_json::from_slice(verified.payload())
            .map_err(|e| Malformed::PayloadType(Escaped::new(&e.to_string())))?;
        let key_id = verified.key_id().map(str::to_owned);
        let (_, header) = verified.into_parts();
        Ok(Verified::new(payload, header, key_id))
    }

    /// Verifies an HTTP request body: the content type must be
    /// `application/jwt`, the body a UTF-8 compact JWT (surrounding
    /// whitespace ignored).
    ///
    /// # Errors
    ///
    /// [`Error::ContentType`], [`Error::TooLarge`], [`Error::Malformed`] for
    /// a body that is not UTF-8, and the errors of [`RequestVerifier::verify`].
    pub fn verify_request<T: DeserializeOwned>(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        super::check_content_type(content_type)?;
        if body.len() > self.limits.max_token_bytes().saturating_add(SLACK) {
            return Err(Error::TooLarge {
                what: "request body",
                actual: body.len(),
                limit: self.limits.max_token_bytes(),
            });
        }
        let token = std::str::from_utf8(body).map_err(|_| Malformed::NotUtf8)?;
        self.verify(token)
    }
}

/// Room for whitespace around a token at the size limit.
pub(crate) const SLACK: usize = 64;
