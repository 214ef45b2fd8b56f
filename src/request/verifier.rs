//! Verifying a signed request body.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::async_sign::{needs_async, now_or_never};
use crate::error::{Error, Escaped, Malformed};
use crate::nonce::refuse_replay;
use crate::{ClaimError, ClaimsPolicy, KeyRegistry, Limits, NonceStore, Verified};

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
    rules: Rules,
}

/// Everything a request verifier checks besides the signature's key: shared
/// by [`RequestVerifier`] (one registry) and
/// [`TenantVerifier`](super::TenantVerifier) (a registry per tenant).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) claims: ClaimsPolicy,
    pub(crate) limits: Limits,
    pub(crate) expected_typ: Option<String>,
    pub(crate) replay: Option<Arc<dyn NonceStore>>,
}

impl Rules {
    /// Signature, header and claims: everything but the replay check.
    pub(crate) fn check(
        &self,
        registry: &KeyRegistry,
        token: &str,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let verified = registry.verify(token.trim_ascii(), &self.limits)?;
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

    /// With a replay store: records the verified token's `jti` under `scope`
    /// until its `exp`, refusing one seen before.
    pub(crate) async fn remember(
        &self,
        scope: &str,
        verified: &Verified<Vec<u8>>,
    ) -> Result<(), Error> {
        let Some(store) = &self.replay else {
            return Ok(());
        };
        let (jti, ttl) = self.claims.replay_window(verified.payload())?;
        refuse_replay(&**store, scope, &jti, ttl).await
    }

    /// The request body as a token: content type, size and UTF-8 checked.
    pub(crate) fn body_token<'b>(
        &self,
        content_type: Option<&str>,
        body: &'b [u8],
    ) -> Result<&'b str, Error> {
        super::check_content_type(content_type)?;
        if body.len() > self.limits.max_token_bytes().saturating_add(SLACK) {
            return Err(Error::TooLarge {
                what: "request body",
                actual: body.len(),
                limit: self.limits.max_token_bytes(),
            });
        }
        Ok(std::str::from_utf8(body).map_err(|_| Malformed::NotUtf8)?)
    }
}

/// Deserializes a verified payload into `T`.
pub(crate) fn typed<T: DeserializeOwned>(
    verified: Verified<Vec<u8>>,
) -> Result<Verified<T>, Error> {
    let payload: T = serde_json::from_slice(verified.payload())
        .map_err(|e| Malformed::PayloadType(Escaped::new(&e.to_string())))?;
    let key_id = verified.key_id().map(str::to_owned);
    let (_, header) = verified.into_parts();
    Ok(Verified::new(payload, header, key_id))
}

/// The replay scope of a single-registry verifier's `jti`s.
const SCOPE: &str = "request";

impl RequestVerifier {
    /// A verifier over `registry` with the default claims policy and limits.
    pub fn new(registry: Arc<KeyRegistry>) -> Self {
        RequestVerifier {
            registry,
            rules: Rules::default(),
        }
    }

    /// Sets the claims policy.
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimsPolicy) -> Self {
        self.rules.claims = claims;
        self
    }

    /// Sets the input limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.rules.limits = limits;
        self
    }

    /// Requires the header `typ` to be `typ` (compared ASCII case-insensitively,
    /// as media types are).
    #[must_use]
    pub fn expect_typ(mut self, typ: impl Into<String>) -> Self {
        self.rules.expected_typ = Some(typ.into());
        self
    }

    /// Refuses a token whose `jti` was seen before. Every token must then
    /// carry a string `jti` (at most 256 bytes) and an `exp`; the `jti` is
    /// remembered until `exp` plus the leeway, after which the token is
    /// refused as expired. Share one store (Redis) between the instances of a
    /// fleet so that a replay sent to another instance is refused too.
    ///
    /// A store that has to wait on the network needs the `*_async` methods.
    #[must_use]
    pub fn with_replay_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.rules.replay = Some(store);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.rules.limits
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
    /// ...), [`Error::Malformed`] for a payload that is not strict JSON,
    /// [`Error::Claim`] for claims that fail the policy; with a replay store,
    /// [`Error::Replayed`], and [`Error::NeedsAsync`] if the store has to wait.
    pub fn verify_bytes(&self, token: &str) -> Result<Verified<Vec<u8>>, Error> {
        now_or_never(self.verify_bytes_async(token))
            .unwrap_or_else(|| Err(needs_async("verify_bytes_async")))
    }

    /// As [`RequestVerifier::verify_bytes`], waiting for a network replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes`], and [`Error::Unavailable`]
    /// when the replay store cannot answer.
    pub async fn verify_bytes_async(&self, token: &str) -> Result<Verified<Vec<u8>>, Error> {
        let verified = self.rules.check(&self.registry, token)?;
        self.rules.remember(SCOPE, &verified).await?;
        Ok(verified)
    }

    /// Verifies a token and deserializes its payload into `T`.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes`], and [`Malformed::PayloadType`]
    /// when the payload does not fit `T`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        typed(self.verify_bytes(token)?)
    }

    /// As [`RequestVerifier::verify`], waiting for a network replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes_async`] and [`RequestVerifier::verify`].
    pub async fn verify_async<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        typed(self.verify_bytes_async(token).await?)
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
        self.verify(self.rules.body_token(content_type, body)?)
    }

    /// As [`RequestVerifier::verify_request`], waiting for a network replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_request`] and [`RequestVerifier::verify_async`].
    pub async fn verify_request_async<T: DeserializeOwned>(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        self.verify_async(self.rules.body_token(content_type, body)?)
            .await
    }
}

/// Room for whitespace around a token at the size limit.
pub(crate) const SLACK: usize = 64;
