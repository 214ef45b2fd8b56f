//! Verifying: pick the signature, build its base, check the policy, then
//! the key (from a key source, or the one the caller holds), the digest
//! and the nonce. Sync from end to end except where a key source or a
//! replay store may wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::base::{self, Base, raw_member};
use super::input::Inputs;
use super::message::HttpMessage;
use super::policy::HttpSigPolicy;
use super::secret::SharedSecret;
use super::{algorithm_name, digest, refused};
use crate::error::{Error, Escaped};
use crate::nonce::{ReplayEntry, refuse_replay, refuse_replay_async};
use crate::{
    AsyncKeySource, AsyncNonceStore, KeyRegistry, KeySet, KeySource, MemoryNonceStore, NonceStore,
    Scope, Verifier,
};

/// What a verified signature covered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Covered {
    /// The signature's label in `Signature-Input` and `Signature`.
    pub label: String,
    /// Its `keyid` parameter, if any.
    pub keyid: Option<String>,
    /// The RFC 9421 name of the algorithm the key is bound to (the JWS name
    /// where RFC 9421 has none, as PS256).
    pub algorithm: &'static str,
    /// Every covered component, as the signature base serializes it.
    pub components: Vec<String>,
    /// The signature base that was verified.
    pub signature_base: String,
}

/// What checks a signature: a public key's verifier, whose algorithm the
/// key is bound to, or a shared secret, which is only ever `hmac-sha256`.
#[derive(Clone, Copy)]
enum Checker<'a> {
    Key(&'a dyn Verifier),
    Secret(&'a SharedSecret),
}

impl Checker<'_> {
    fn name(self) -> &'static str {
        match self {
            Checker::Key(verifier) => algorithm_name(verifier.algorithm()),
            Checker::Secret(_) => "hmac-sha256",
        }
    }
}

/// The signature a policy picked, its base built and its rules met,
/// before any key is used.
struct Candidate {
    label: String,
    keyid: Option<String>,
    alg: Option<String>,
    nonce: Option<String>,
    created: Option<SystemTime>,
    signature: Vec<u8>,
    base: Base,
}

impl Candidate {
    /// Picks the policy's signature of `message`, builds its base and
    /// checks the policy's rules on it.
    fn pick(
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
        policy: &HttpSigPolicy,
    ) -> Result<Self, Error> {
        let inputs = message
            .single_field("signature-input")?
            .ok_or_else(|| refused("the message has no Signature-Input field"))?;
        let signatures = message
            .single_field("signature")?
            .ok_or_else(|| refused("the message has no Signature field"))?;
        let members = base::signature_members(&inputs)?;
        let inputs_parsed = Inputs::parse(&inputs, "Signature-Input")?;
        let label = policy.select(&inputs_parsed)?;
        let input = inputs_parsed.get(&label)?;
        let signature = base::byte_members(&signatures, "Signature", |name| name == label)?
            .into_iter()
            .find(|(name, _)| *name == label)
            .ok_or_else(|| {
                refused(format!(
                    "Signature has no member labelled {}",
                    Escaped::new(&label)
                ))
            })?;
        let signature = match signature.1 {
            base::Member::Bytes(bytes) => bytes,
            base::Member::Other => {
                return Err(refused("the Signature member is not a byte sequence"));
            }
        };
        // `@signature-params` as received.
        let params = raw_member(&members, &label)?;
        let base = base::build(message, request, input, params)?;
        let created = policy.check(input, &base.components, &label, message, request, body)?;
        let string_param =
            |name: &str| Ok::<_, Error>(input.params.string(name)?.map(str::to_owned));
        Ok(Candidate {
            keyid: string_param("keyid")?,
            alg: string_param("alg")?,
            nonce: string_param("nonce")?,
            created,
            signature,
            base,
            label,
        })
    }

    /// The signature under `checker`; an `alg` parameter must name the
    /// checker's algorithm.
    fn check(&self, checker: Checker<'_>) -> Result<(), Error> {
        let name = checker.name();
        if let Some(alg) = &self.alg {
            if alg != name {
                return Err(refused(format!(
                    "the signature's alg {} is not the key's algorithm {name}",
                    Escaped::new(alg)
                )));
            }
        }
        let base = self.base.text.as_bytes();
        match checker {
            Checker::Key(verifier) => verifier.verify(base, &self.signature),
            Checker::Secret(secret) => secret.verify(base, &self.signature),
        }
    }

    /// A covered `content-digest`, recomputed over the body received (or
    /// compared with the digests computed as it streamed).
    fn check_digest(&self, message: &HttpMessage, body: Option<&[u8]>) -> Result<(), Error> {
        if !self
            .base
            .components
            .iter()
            .any(|c| c == "\"content-digest\"")
        {
            return Ok(());
        }
        let body = digest::Body::of(body, message).ok_or_else(|| {
            refused("content-digest is covered but no body was given to check it against")
        })?;
        let field = message.single_field("content-digest")?.unwrap_or_default();
        digest::check(&field, body)
    }

    fn covered(self, algorithm: &'static str) -> Covered {
        Covered {
            label: self.label,
            keyid: self.keyid,
            algorithm,
            components: self.base.components,
            signature_base: self.base.text,
        }
    }
}

/// Verifies RFC 9421 signatures with keys from a key source, chosen by the
/// signature's `keyid` (each key in turn when it has none), under an
/// [`HttpSigPolicy`], and with a replay store when one is set (every
/// signature must then carry a `nonce`, accepted once).
///
/// `K` is where the keys come from: a [`KeyRegistry`] (at most two active
/// keys, each bound to one algorithm) or any [`KeySource`] gives the sync
/// [`verify`](Self::verify); a tenant store's cache or a remote JWKS is an
/// [`AsyncKeySource`] and gives [`verify_async`](Self::verify_async) and
/// [`verify_for`](Self::verify_for) (a tenant's keys), as does an
/// [`AsyncNonceStore`] such as Redis. Both go through the same checks.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::httpsig::{HttpMessage, HttpSigPolicy, HttpSigSigner, HttpSigVerifier};
/// use signed_payloads::{Algorithm, KeyRegistry, KeySigner, PrivateKey, VerificationKey};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/ec-p256.pem"))?;
/// let keys = KeyRegistry::new(VerificationKey::new("k1", key.public_key().clone(), Algorithm::ES256)?);
/// let signer = HttpSigSigner::new(Arc::new(KeySigner::new(key, Algorithm::ES256)?.with_key_id("k1")))
///     .covering(r#""@method" "@target-uri" "content-digest""#)?
///     .with_tag("fapi-2-request");
/// let body = br#"{"amount":"10.00"}"#;
/// let request = signer.sign(HttpMessage::request("POST", "https://api.example/payments")?, None, Some(body))?;
/// let verifier = HttpSigVerifier::new(Arc::new(keys)).with_policy(
///     HttpSigPolicy::new()
///         .with_tag("fapi-2-request")
///         .require(r#""@method" "@target-uri" "content-digest""#)?,
/// );
/// assert_eq!(verifier.verify(&request, None, Some(body))?.keyid.as_deref(), Some("k1"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct HttpSigVerifier<K: ?Sized = KeyRegistry, R: ?Sized = MemoryNonceStore> {
    keys: Arc<K>,
    policy: HttpSigPolicy,
    replay: Option<Arc<R>>,
    scheme: String,
    max_body_bytes: usize,
}

/// The body size the glue (axum, reqwest) reads by default: 10 MiB.
const DEFAULT_MAX_BODY_BYTES: usize = 10 << 20;

impl<K: ?Sized, R: ?Sized> Clone for HttpSigVerifier<K, R> {
    fn clone(&self) -> Self {
        HttpSigVerifier {
            keys: Arc::clone(&self.keys),
            policy: self.policy.clone(),
            replay: self.replay.clone(),
            scheme: self.scheme.clone(),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

impl<K: ?Sized> HttpSigVerifier<K> {
    /// A verifier over `keys` with the default [`HttpSigPolicy`] and no
    /// replay store.
    pub fn new(keys: Arc<K>) -> Self {
        HttpSigVerifier {
            keys,
            policy: HttpSigPolicy::default(),
            replay: None,
            scheme: "https".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl<K: ?Sized, R: ?Sized> HttpSigVerifier<K, R> {
    /// Uses `policy`.
    #[must_use]
    pub fn with_policy(mut self, policy: HttpSigPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Requires a `nonce` in every signature, accepted once: remembered
    /// in `store` for the policy's max age (5 minutes when it has none).
    /// Share one store (Redis) between the instances of a fleet.
    #[must_use]
    pub fn with_replay_store<S: ?Sized>(self, store: Arc<S>) -> HttpSigVerifier<K, S> {
        HttpSigVerifier {
            keys: self.keys,
            policy: self.policy,
            replay: Some(store),
            scheme: self.scheme,
            max_body_bytes: self.max_body_bytes,
        }
    }

    /// The scheme an origin-form request target (`/path`, as a server sees
    /// it) is completed with to make `@target-uri`: `https` by default,
    /// which is right behind a TLS-terminating proxy; `http` only where
    /// clients really sign `http://` URIs.
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// The largest body the axum extractor and the reqwest helper read
    /// (10 MiB by default); a larger one is refused before it is verified.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The policy in use.
    pub fn policy(&self) -> &HttpSigPolicy {
        &self.policy
    }

    /// See [`with_scheme`](Self::with_scheme).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// See [`with_max_body_bytes`](Self::with_max_body_bytes).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The key `keys` hold for the candidate's `keyid` (each in turn when
    /// it has none) checks the signature; then the digest.
    fn check_keys(
        &self,
        candidate: &Candidate,
        keys: &KeySet,
        message: &HttpMessage,
        body: Option<&[u8]>,
    ) -> Result<&'static str, Error> {
        let now = self.policy.clock.now();
        let key = keys.select(candidate.keyid.as_deref(), false, now, |key| {
            candidate.check(Checker::Key(key.verifier()))
        })?;
        candidate.check_digest(message, body)?;
        Ok(algorithm_name(key.algorithm()))
    }

    /// The nonce to record, when a replay store is set.
    fn replay_entry(
        &self,
        candidate: &Candidate,
        scope: &str,
    ) -> Result<Option<(&R, ReplayEntry)>, Error> {
        let Some(store) = &self.replay else {
            return Ok(None);
        };
        let nonce = candidate
            .nonce
            .as_deref()
            .ok_or_else(|| refused("the signature has no nonce"))?;
        let entry = ReplayEntry::new(
            &format!("httpsig:{scope}"),
            nonce,
            self.policy.nonce_window(),
            self.policy.clock.now(),
            candidate.created.unwrap_or(UNIX_EPOCH),
        );
        Ok(Some((&**store, entry)))
    }
}

impl<K, R> HttpSigVerifier<K, R>
where
    K: KeySource<Scope = ()> + ?Sized,
    R: NonceStore + ?Sized,
{
    /// Verifies `message` (its body, when it has one, in `body`; `request`
    /// for a response's `req` components).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`], [`Error::KeyExpired`], [`Error::BadSignature`],
    /// [`Error::Replayed`], and [`Error::HttpSignature`] naming any other rule
    /// the message breaks.
    pub fn verify(
        &self,
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<Covered, Error> {
        let candidate = Candidate::pick(message, request, body, &self.policy)?;
        let keys = self.keys.key_set(&(), candidate.keyid.as_deref())?;
        let algorithm = self.check_keys(&candidate, &keys, message, body)?;
        if let Some((store, entry)) = self.replay_entry(&candidate, &().replay_scope())? {
            refuse_replay(store, &entry)?;
        }
        Ok(candidate.covered(algorithm))
    }
}

impl<K, R> HttpSigVerifier<K, R>
where
    K: AsyncKeySource + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// As [`verify`](Self::verify), with `scope`'s keys (a tenant's), for
    /// a source that may have to fetch them; replays are kept per scope.
    ///
    /// # Errors
    ///
    /// As for `verify`, and [`Error::Unavailable`] when the key source or
    /// the replay store cannot answer, [`Error::UnknownTenant`].
    pub async fn verify_for(
        &self,
        scope: &K::Scope,
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<Covered, Error> {
        let candidate = Candidate::pick(message, request, body, &self.policy)?;
        let keys = self
            .keys
            .key_set_async(scope, candidate.keyid.as_deref())
            .await?;
        let algorithm = self.check_keys(&candidate, &keys, message, body)?;
        if let Some((store, entry)) = self.replay_entry(&candidate, &scope.replay_scope())? {
            refuse_replay_async(store, &entry).await?;
        }
        Ok(candidate.covered(algorithm))
    }
}

impl<K, R> HttpSigVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// As [`verify`](Self::verify), for a key source or replay store that
    /// may wait (a remote JWKS, Redis).
    ///
    /// # Errors
    ///
    /// As for [`verify_for`](Self::verify_for).
    pub async fn verify_async(
        &self,
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<Covered, Error> {
        self.verify_for(&(), message, request, body).await
    }
}

/// The future a [`MessageVerifier`] returns.
pub type CoveredFuture<'a> = Pin<Box<dyn Future<Output = Result<Covered, Error>> + Send + 'a>>;

/// An [`HttpSigVerifier`] over any key source and replay store, as one
/// type: what the axum extractor
/// [`HttpSigned`](crate::axum::HttpSigned) takes from the router state.
pub trait MessageVerifier: std::fmt::Debug + Send + Sync {
    /// Verifies `message` as [`HttpSigVerifier::verify_async`] does.
    fn verify_message<'a>(
        &'a self,
        message: &'a HttpMessage,
        request: Option<&'a HttpMessage>,
        body: Option<&'a [u8]>,
    ) -> CoveredFuture<'a>;

    /// See [`HttpSigVerifier::with_scheme`].
    fn scheme(&self) -> &str;

    /// See [`HttpSigVerifier::with_max_body_bytes`].
    fn max_body_bytes(&self) -> usize;
}

impl<K, R> MessageVerifier for HttpSigVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + std::fmt::Debug + ?Sized,
    R: AsyncNonceStore + std::fmt::Debug + ?Sized,
{
    fn verify_message<'a>(
        &'a self,
        message: &'a HttpMessage,
        request: Option<&'a HttpMessage>,
        body: Option<&'a [u8]>,
    ) -> CoveredFuture<'a> {
        Box::pin(self.verify_async(message, request, body))
    }

    fn scheme(&self) -> &str {
        HttpSigVerifier::scheme(self)
    }

    fn max_body_bytes(&self) -> usize {
        HttpSigVerifier::max_body_bytes(self)
    }
}

/// Verifies the signature `policy` picks with `verifier`, the one key the
/// caller trusts, whatever `keyid` the signature names; the algorithm is
/// the key's: an `alg` parameter that names another is refused. A covered
/// `content-digest` is recomputed over `body`. No replay store: see
/// [`HttpSigVerifier`] for nonces and keys by `keyid`.
///
/// # Errors
///
/// [`Error::BadSignature`], and [`Error::HttpSignature`] naming any other rule
/// the message breaks.
pub fn verify(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    policy: &HttpSigPolicy,
    verifier: &dyn Verifier,
) -> Result<Covered, Error> {
    verify_with(message, request, body, policy, Checker::Key(verifier))
}

/// As [`verify`], for an `hmac-sha256` signature under a shared secret
/// (RFC 9421 §3.3.3). The tag is compared in constant time.
///
/// # Errors
///
/// As for [`verify`].
pub fn verify_hmac(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    policy: &HttpSigPolicy,
    secret: &SharedSecret,
) -> Result<Covered, Error> {
    verify_with(message, request, body, policy, Checker::Secret(secret))
}

fn verify_with(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    policy: &HttpSigPolicy,
    checker: Checker<'_>,
) -> Result<Covered, Error> {
    let candidate = Candidate::pick(message, request, body, policy)?;
    candidate.check(checker)?;
    candidate.check_digest(message, body)?;
    Ok(candidate.covered(checker.name()))
}
