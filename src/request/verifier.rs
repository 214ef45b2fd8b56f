//! Verifying a signed request body.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::claims::ReplayKey;
use crate::error::{Error, Malformed};
use crate::jws::Parsed;
use crate::key_source::Scope;
use crate::nonce::{ReplayEntry, refuse_replay, refuse_replay_async};
use crate::pipeline::{Core, Rules};
use crate::{
    AsyncKeySource, AsyncNonceStore, ClaimsPolicy, KeyRegistry, KeySource, Limits,
    MemoryNonceStore, NonceStore, Verified,
};

/// Verifies signed request bodies (compact JWTs) against a program's keys.
///
/// Per token, once each: the size limits, the split and the header; the key
/// the `kid` names (or each key, for a token without one); the algorithm
/// binding and the signature; the header (`b64` must not be `false` in a
/// JWT; `typ` if an expected one is set); the payload (strict JSON object)
/// and its claims under the [`ClaimsPolicy`], read in one pass; then, with a
/// replay store, the `jti`.
///
/// `K` is where the keys come from. Over a [`KeySource`] (a
/// [`KeyRegistry`]) and a [`NonceStore`] (none, or the in-memory one), the
/// sync methods exist; over an [`AsyncKeySource`] (a
/// [`TenantKeys`](crate::store::TenantKeys) cache, a
/// [`RemoteJwks`](crate::RemoteJwks)) or an [`AsyncNonceStore`] (Redis), only
/// the `*_async` methods do, and a source keyed by tenant is called through
/// the `*_for` methods.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use serde::Deserialize;
/// use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, KeySigner, VerificationKey};
/// use signed_payloads::request::{RequestSigner, RequestVerifier};
///
/// #[derive(Deserialize)]
/// struct CreateUser { first_name: String }
///
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let registry = KeyRegistry::new(VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256)?);
/// let signer = RequestSigner::new(Arc::new(KeySigner::new(key, Algorithm::RS256)?.with_key_id("k1")));
/// let token = signer.sign_json(br#"{"first_name":"Ada"}"#)?;
///
/// let verifier = RequestVerifier::new(Arc::new(registry));
/// let user = verifier.verify_request::<CreateUser>(Some("application/jwt"), token.as_bytes())?;
/// assert_eq!(user.payload().first_name, "Ada");
/// assert_eq!(user.key_id(), Some("k1"));
/// # Ok(()) }
/// ```
///
/// A fleet serving many programs reads each tenant's keys through a cache
/// over a shared store, and shares a replay store:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner, VerificationKey};
/// use signed_payloads::request::{RequestSigner, RequestVerifier};
/// use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
///
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let store = Arc::new(MemoryKeyStore::new());
/// store.add_key("program-1", &VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256)?, "ops").await?;
///
/// let verifier = RequestVerifier::new(Arc::new(TenantKeys::new(store)));
/// let signer = RequestSigner::new(Arc::new(KeySigner::new(key, Algorithm::RS256)?.with_key_id("k1")));
/// let token = signer.sign_json(br#"{"amount":100}"#)?;
/// assert!(verifier.verify_bytes_for("program-1", &token).await.is_ok());
/// assert!(verifier.verify_bytes_for("program-2", &token).await.is_err());
/// # Ok(()) }
/// ```
pub struct RequestVerifier<K: ?Sized = KeyRegistry, R: ?Sized = MemoryNonceStore> {
    core: Core<K, R>,
}

impl<K: ?Sized> RequestVerifier<K> {
    /// A verifier over `keys`, with the default claims policy and limits and
    /// no replay store.
    pub fn new(keys: Arc<K>) -> Self {
        RequestVerifier {
            core: Core::new(keys, Rules::jwt()),
        }
    }
}

impl<K: ?Sized, R: ?Sized> RequestVerifier<K, R> {
    /// Sets the claims policy (its clock also judges key expiry).
    #[must_use]
    pub fn with_claims(mut self, claims: ClaimsPolicy) -> Self {
        self.core.rules.set_claims(claims);
        self
    }

    /// Requires the header `typ` to be `typ` (compared ASCII case-insensitively,
    /// as media types are).
    #[must_use]
    pub fn expect_typ(mut self, typ: impl Into<String>) -> Self {
        if let Some(jwt) = &mut self.core.rules.jwt {
            jwt.expected_typ = Some(typ.into());
        }
        self
    }

    /// Refuses a token seen before. A token is remembered by its `jti` (a
    /// string of at most 256 bytes) until its `exp` plus the leeway; under a
    /// maximum token age ([`ClaimsPolicy::with_max_age`]) a token without
    /// `jti` (as Node's `jsonwebtoken` signs by default) is remembered by
    /// the SHA-256 of its signature until `iat` plus the maximum age plus
    /// the leeway. After that the token is refused as expired or too old
    /// anyway. A token that has neither is refused
    /// ([`ClaimError::NoReplayWindow`](crate::ClaimError::NoReplayWindow)).
    /// With a tenant-keyed source, tokens of different tenants never
    /// collide. Share one store (Redis) between the instances of a fleet so
    /// that a replay sent to another instance is refused too.
    #[must_use]
    pub fn with_replay_store<S: ?Sized>(self, store: Arc<S>) -> RequestVerifier<K, S> {
        RequestVerifier {
            core: self.core.with_replay(store, None),
        }
    }

    crate::pipeline::shared_settings!();

    /// The request body as a token: content type, size and UTF-8 checked.
    fn body_token<'b>(&self, content_type: Option<&str>, body: &'b [u8]) -> Result<&'b str, Error> {
        super::check_content_type(content_type)?;
        let limit = self.core.rules.limits.max_token_bytes();
        if body.len() > limit.saturating_add(SLACK) {
            return Err(Error::TooLarge {
                what: "request body",
                actual: body.len(),
                limit,
            });
        }
        Ok(std::str::from_utf8(body).map_err(|_| Malformed::NotUtf8)?)
    }

    fn parse<'t>(&self, token: &'t str) -> Result<Parsed<'t>, Error> {
        self.core.rules.parse(token.trim_ascii())
    }

    /// What to remember the token by and for how long, when a replay store
    /// is set: its `jti` in `scope`, or a digest of its signature in a scope
    /// of its own (so no `jti` can collide with a digest).
    fn replay_entry<T>(
        &self,
        scope: &str,
        verified: &Verified<T>,
    ) -> Result<Option<(&R, ReplayEntry)>, Error> {
        let (Some(replay), Some(policy)) = (&self.core.replay, self.core.rules.claims()) else {
            return Ok(None);
        };
        let window = policy.replay_window(verified.claims())?;
        let entry = |scope: &str, nonce: &str| {
            ReplayEntry::new(scope, nonce, window.ttl, window.now, window.earliest_use)
        };
        let entry = match window.key {
            ReplayKey::Jti(jti) => entry(scope, jti),
            ReplayKey::Signature => entry(
                &format!("{scope}#signature"),
                &crate::base64url::encode(&verified.signature_digest()),
            ),
        };
        Ok(Some((&*replay.store, entry)))
    }
}

impl<K, R> RequestVerifier<K, R>
where
    K: KeySource<Scope = ()> + ?Sized,
    R: NonceStore + ?Sized,
{
    /// Verifies a token and returns its payload bytes exactly as signed.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`], [`Error::UnknownKeyId`], [`Error::MissingKeyId`],
    /// [`Error::KeyExpired`], [`Error::AlgorithmMismatch`], [`Error::TooLarge`],
    /// [`Error::Malformed`] for a token or payload that is not strict,
    /// [`Error::Claim`] for claims that fail the policy; with a replay store,
    /// [`Error::Replayed`].
    pub fn verify_bytes(&self, token: &str) -> Result<Verified<Vec<u8>>, Error> {
        let token = self.parse(token)?;
        let keys = self.core.keys.key_set(&(), token.kid())?;
        let verified = self.core.rules.check(token, &keys, None)?;
        if let Some((store, entry)) = self.replay_entry(&().replay_scope(), &verified)? {
            refuse_replay(store, &entry)?;
        }
        Ok(verified)
    }

    /// Verifies a token and deserializes its payload into `T`.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes`], and [`Malformed::PayloadType`]
    /// when the payload does not fit `T`.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<Verified<T>, Error> {
        let token = self.parse(token)?;
        let keys = self.core.keys.key_set(&(), token.kid())?;
        let verified = self.core.rules.check_typed(token, &keys)?;
        if let Some((store, entry)) = self.replay_entry(&().replay_scope(), &verified)? {
            refuse_replay(store, &entry)?;
        }
        Ok(verified)
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
        self.verify(self.body_token(content_type, body)?)
    }
}

impl<K, R> RequestVerifier<K, R>
where
    K: AsyncKeySource + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// As [`RequestVerifier::verify_bytes`], for keys chosen by `scope` (a
    /// tenant id, for a [`TenantKeys`](crate::store::TenantKeys) source),
    /// waiting for the key source and the replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes`], [`Error::UnknownTenant`],
    /// and [`Error::Unavailable`] when a store or endpoint cannot answer.
    pub async fn verify_bytes_for(
        &self,
        scope: &K::Scope,
        token: &str,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let token = self.parse(token)?;
        let keys = self.core.keys.key_set_async(scope, token.kid()).await?;
        let verified = self.core.rules.check(token, &keys, None)?;
        if let Some((store, entry)) = self.replay_entry(&scope.replay_scope(), &verified)? {
            refuse_replay_async(store, &entry).await?;
        }
        Ok(verified)
    }

    /// As [`RequestVerifier::verify`], for keys chosen by `scope`.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes_for`], and
    /// [`Malformed::PayloadType`] when the payload does not fit `T`.
    pub async fn verify_for<T: DeserializeOwned>(
        &self,
        scope: &K::Scope,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        let token = self.parse(token)?;
        let keys = self.core.keys.key_set_async(scope, token.kid()).await?;
        let verified = self.core.rules.check_typed(token, &keys)?;
        if let Some((store, entry)) = self.replay_entry(&scope.replay_scope(), &verified)? {
            refuse_replay_async(store, &entry).await?;
        }
        Ok(verified)
    }

    /// As [`RequestVerifier::verify_request`], for keys chosen by `scope`.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_request`] and [`RequestVerifier::verify_for`].
    pub async fn verify_request_for<T: DeserializeOwned>(
        &self,
        scope: &K::Scope,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        let token = self.body_token(content_type, body)?;
        self.verify_for(scope, token).await
    }
}

impl<K, R> RequestVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// As [`RequestVerifier::verify_bytes`], waiting for the key source and
    /// the replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_bytes_for`].
    pub async fn verify_bytes_async(&self, token: &str) -> Result<Verified<Vec<u8>>, Error> {
        self.verify_bytes_for(&(), token).await
    }

    /// As [`RequestVerifier::verify`], waiting for the key source and the
    /// replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_for`].
    pub async fn verify_async<T: DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        self.verify_for(&(), token).await
    }

    /// As [`RequestVerifier::verify_request`], waiting for the key source
    /// and the replay store.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_request_for`].
    pub async fn verify_request_async<T: DeserializeOwned>(
        &self,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        self.verify_request_for(&(), content_type, body).await
    }
}

/// The future a [`BodyVerifier`] returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Verified<Vec<u8>>, Error>> + Send + 'a>>;

/// A [`RequestVerifier`] behind one object-safe face, whatever its key
/// source and replay store: what the axum extractor holds, as
/// `Arc<dyn BodyVerifier>`.
pub trait BodyVerifier: fmt::Debug + Send + Sync {
    /// The limits in force (the extractor reads at most the token limit).
    fn limits(&self) -> &Limits;

    /// As [`RequestVerifier::verify_request_async`], returning the payload bytes.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_request_async`].
    fn verify_body<'a>(&'a self, content_type: Option<&'a str>, body: &'a [u8])
    -> VerifyFuture<'a>;
}

impl<K, R> BodyVerifier for RequestVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + fmt::Debug + ?Sized,
    R: AsyncNonceStore + fmt::Debug + ?Sized,
{
    fn limits(&self) -> &Limits {
        &self.core.rules.limits
    }

    fn verify_body<'a>(
        &'a self,
        content_type: Option<&'a str>,
        body: &'a [u8],
    ) -> VerifyFuture<'a> {
        Box::pin(async move {
            let token = self.body_token(content_type, body)?;
            self.verify_bytes_for(&(), token).await
        })
    }
}

impl<K: ?Sized, R: ?Sized> Clone for RequestVerifier<K, R> {
    fn clone(&self) -> Self {
        RequestVerifier {
            core: self.core.clone(),
        }
    }
}

impl<K: fmt::Debug + ?Sized, R: fmt::Debug + ?Sized> fmt::Debug for RequestVerifier<K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestVerifier")
            .field("core", &self.core)
            .finish()
    }
}

/// Room for whitespace around a token at the size limit.
pub(crate) const SLACK: usize = 64;
