//! Signing a client's payload as a JWT.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::backend::active as backend;
use crate::claims::Claim;
use crate::error::{Error, Segment};
use crate::{
    AsyncSigner, Clock, Header, Limits, Signer, SigningKeys, SigningSource, SystemClock, base64url,
    json, jws,
};

/// Signs JSON payloads as compact JWTs (`typ: JWT`, `kid` when the key has one).
///
/// Like Node's `jsonwebtoken`, it adds `iat` unless told not to; it can add
/// `exp` from a time to live and a random `jti`. A claim the payload already
/// has is left as it is. The payload's bytes are kept exactly, member order
/// included: added claims are appended inside the closing brace.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner, request::RequestSigner};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let signer = RequestSigner::new(Arc::new(KeySigner::new(key, Algorithm::RS256)?.with_key_id("k1")))
///     .with_ttl(Duration::from_secs(300));
/// let token = signer.sign_json(br#"{"first_name":"Ada","phone":"+15555550100"}"#)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok(()) }
/// ```
pub struct RequestSigner<S = Arc<dyn Signer>> {
    key: S,
    iat: bool,
    ttl: Option<Duration>,
    jti: bool,
    node: bool,
    clock: Arc<dyn Clock>,
    limits: Limits,
}

impl RequestSigner {
    /// Signs with one fixed signer.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self::with_source(signer)
    }
}

impl RequestSigner<Arc<SigningKeys>> {
    /// Signs with whichever of `keys` is current at each call.
    pub fn rotating(keys: Arc<SigningKeys>) -> Self {
        Self::with_source(keys)
    }
}

impl RequestSigner<Arc<dyn AsyncSigner>> {
    /// Signs with a key behind a network call (KMS, HSM service): such a
    /// signer has only the `*_async` methods.
    pub fn remote(signer: Arc<dyn AsyncSigner>) -> Self {
        Self::with_source(signer)
    }
}

impl<S: SigningSource> RequestSigner<S> {
    /// Signs with the signers `source` hands out.
    pub fn with_source(source: S) -> Self {
        RequestSigner {
            key: source,
            iat: true,
            ttl: None,
            jti: false,
            node: false,
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
        }
    }

    /// Leaves `iat` out.
    #[must_use]
    pub fn without_iat(mut self) -> Self {
        self.iat = false;
        self
    }

    /// Adds `exp`, `ttl` after now.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Adds a random 128-bit `jti`, so that verifiers can refuse replays.
    #[must_use]
    pub fn with_jti(mut self) -> Self {
        self.jti = true;
        self
    }

    /// Produces exactly the bytes Node's `jsonwebtoken` does for
    /// `jwt.sign(JSON.parse(body), key, { algorithm, keyid })` (with
    /// `expiresIn` as [`RequestSigner::with_ttl`], `jwtid` as
    /// [`RequestSigner::with_jti`], `noTimestamp` as
    /// [`RequestSigner::without_iat`]), so a Rust signing service can take a
    /// Node one's place with no token changing: compact JSON, numbers as
    /// JavaScript prints them, array-index keys first as JavaScript orders
    /// them, the header as `{"alg","typ","kid"}`. Node's refusals are kept:
    /// a non-numeric `iat`, `exp` or `nbf`, or a payload that already has
    /// the `exp` or `jti` the signer would add. Without this, the client's
    /// bytes are signed as they are.
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use std::sync::Arc;
    /// use signed_payloads::{Algorithm, PrivateKey, KeySigner, dangerous, Limits};
    /// use signed_payloads::request::RequestSigner;
    /// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
    /// let signer = RequestSigner::new(Arc::new(KeySigner::new(key, Algorithm::RS256)?.with_key_id("k1")))
    ///     .node_compatible()
    ///     .without_iat();
    /// let token = signer.sign_json(b"{ \"amount\": 100.0, \"2\": \"b\", \"1\": \"a\" }")?;
    /// let (_, payload) = dangerous::decode_unverified(&token, &Limits::default())?;
    /// assert_eq!(payload, br#"{"1":"a","2":"b","amount":100}"#);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn node_compatible(mut self) -> Self {
        self.node = true;
        self
    }

    /// Uses `clock` for `iat` and `exp`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the limits the payload is checked against (JSON depth, size).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// As [`RequestSigner::sign`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign`].
    pub async fn sign_async<T: Serialize + ?Sized>(&self, payload: &T) -> Result<String, Error> {
        let json = to_json(payload)?;
        self.sign_json_async(&json).await
    }

    /// As [`RequestSigner::sign_json`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign_json`].
    // Written out as `impl Future + Send` rather than `async fn`: the
    // compiler cannot prove an `async fn`'s future `Send` for every lifetime
    // here, so a caller's `tokio::spawn` of it would not compile.
    #[allow(clippy::manual_async_fn)] // the `Send` bound is the point
    pub fn sign_json_async<'a>(
        &'a self,
        json: &'a [u8],
    ) -> impl Future<Output = Result<String, Error>> + Send + 'a {
        async move {
            let prepared = self.prepare(json)?;
            jws::sign_with_header_json_async(
                &prepared.header,
                &prepared.header_json,
                &prepared.payload,
                &*prepared.signer,
            )
            .await
        }
    }

    /// Everything before the signature: the payload checked and its claims
    /// added, the signer chosen and the header built for it.
    fn prepare(&self, json: &[u8]) -> Result<Prepared<S::Current>, Error> {
        self.limits.check_size("payload", json.len())?;
        if self.node {
            // The Node writer re-reads every value: the full strict check.
            json::check(json, Segment::Payload, self.limits.max_json_depth())?;
        } else {
            // Duplicates and depth; the claims parse after it checks the grammar.
            json::check_structure(json, Segment::Payload, self.limits.max_json_depth())?;
        }
        let signer = self.key.current()?;
        let mut header = Header::new(signer.algorithm()).with_typ("JWT");
        header.kid = signer.key_id().map(str::to_owned);
        let (header_json, payload) = if self.node {
            let claims = super::node::NodeClaims {
                now: self.now(),
                iat: self.iat,
                exp_after: self.ttl.map(|ttl| ttl.as_secs()),
                jti: self.jti.then(random_jti).transpose()?,
            };
            let header_json = super::node::header_json(header.alg.as_str(), header.kid.as_deref());
            (header_json, super::node::payload(json, &claims)?)
        } else {
            (header.to_json()?, self.with_claims(json)?)
        };
        Ok(Prepared {
            header,
            header_json,
            payload,
            signer,
        })
    }

    fn now(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Appends the configured claims the payload does not already have.
    fn with_claims(&self, json: &[u8]) -> Result<Vec<u8>, Error> {
        let trimmed = json.trim_ascii();
        let Some((b'}', head)) = trimmed
            .split_last()
            .filter(|_| trimmed.first() == Some(&b'{'))
        else {
            return Err(crate::ClaimError::NotAnObject.into());
        };
        // One parse of the claims this signer cares about (every other
        // member skipped unallocated); it also checks the JSON grammar.
        let claims: SignerClaims = serde_json::from_slice(json)
            .map_err(|e| crate::json::payload_error::<SignerClaims>(json, &e))?;
        // A date claim that is not a number would be refused by every
        // verifier (and by Node before signing): refuse it here.
        for (name, claim) in [
            ("iat", &claims.iat),
            ("exp", &claims.exp),
            ("nbf", &claims.nbf),
        ] {
            if claim.is_non_numeric() {
                return Err(crate::ClaimError::WrongType(name).into());
            }
        }
        if !self.iat && self.ttl.is_none() && !self.jti {
            return Ok(json.to_vec());
        }
        let now = self.now();
        let mut added = String::new();
        let mut add = |present: bool, name: &str, value: String| {
            if !present {
                added.push_str(&format!(",\"{name}\":{value}"));
            }
        };
        if self.iat {
            add(claims.iat.is_present(), "iat", now.to_string());
        }
        if let Some(ttl) = self.ttl {
            add(
                claims.exp.is_present(),
                "exp",
                now.saturating_add(ttl.as_secs()).to_string(),
            );
        }
        if self.jti {
            add(
                claims.jti.is_present(),
                "jti",
                format!("\"{}\"", random_jti()?),
            );
        }
        let mut out = Vec::with_capacity(json.len() + added.len());
        out.extend_from_slice(head);
        // `{` and whitespace before the closing brace: an empty object.
        let added = if head[1..].trim_ascii().is_empty() {
            added.trim_start_matches(',')
        } else {
            added.as_str()
        };
        out.extend_from_slice(added.as_bytes());
        out.push(b'}');
        Ok(out)
    }
}

/// The members a request signer reads; every other one is skipped.
#[derive(serde::Deserialize)]
struct SignerClaims {
    #[serde(default)]
    iat: Claim,
    #[serde(default)]
    exp: Claim,
    #[serde(default)]
    nbf: Claim,
    #[serde(default)]
    jti: Claim,
}

/// A random 128-bit `jti`, base64url.
fn random_jti() -> Result<String, Error> {
    let mut id = [0u8; 16];
    backend::fill_random(&mut id)?;
    Ok(base64url::encode(&id))
}

/// A token about to be signed: its header (and the exact octets it is
/// sent as), its payload, and the signer.
struct Prepared<C: ?Sized> {
    header: Header,
    header_json: Vec<u8>,
    payload: Vec<u8>,
    signer: Arc<C>,
}

impl<S: SigningSource<Current = dyn Signer>> RequestSigner<S> {
    /// Serializes `payload` to JSON and signs it.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign_json`], and [`Error::Serialization`] when
    /// `payload` cannot be serialized.
    pub fn sign<T: Serialize + ?Sized>(&self, payload: &T) -> Result<String, Error> {
        self.sign_json(&to_json(payload)?)
    }

    /// Signs raw JSON bytes, which must be one strict JSON object.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for JSON that is not a strict object,
    /// [`Error::TooLarge`] above the limits, [`Error::NoSigningKey`] when no
    /// rotating key is usable, or the signer's error.
    pub fn sign_json(&self, json: &[u8]) -> Result<String, Error> {
        let prepared = self.prepare(json)?;
        jws::sign_with_header_json(
            &prepared.header,
            &prepared.header_json,
            &prepared.payload,
            &*prepared.signer,
        )
    }
}

impl<S: fmt::Debug> fmt::Debug for RequestSigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key", &self.key)
            .field("iat", &self.iat)
            .field("ttl", &self.ttl)
            .field("jti", &self.jti)
            .field("node_compatible", &self.node)
            .finish_non_exhaustive()
    }
}

fn to_json<T: Serialize + ?Sized>(payload: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(payload).map_err(Error::Serialization)
}
