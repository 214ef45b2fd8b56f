//! Signing a client's payload as a JWT.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::async_sign::{KeySource, needs_async, now_or_never};
use crate::backend::active as backend;
use crate::error::{Error, Segment};
use crate::{
    AsyncSigner, Clock, Header, Limits, Signer, SigningKeys, SystemClock, base64url, json, jws,
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
/// use signed_payloads::{Algorithm, PrivateKey, RsaSigner, request::RequestSigner};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let signer = RequestSigner::new(Arc::new(RsaSigner::new(key, Algorithm::RS256).with_key_id("k1")))
///     .with_ttl(Duration::from_secs(300));
/// let token = signer.sign_json(br#"{"first_name":"Ada","phone":"+15555550100"}"#)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok(()) }
/// ```
pub struct RequestSigner {
    key: KeySource,
    iat: bool,
    ttl: Option<Duration>,
    jti: bool,
    clock: Arc<dyn Clock>,
    limits: Limits,
}

impl RequestSigner {
    /// Signs with one fixed signer.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self::with_source(KeySource::Fixed(signer))
    }

    /// Signs with whichever of `keys` is current at each call.
    pub fn rotating(keys: Arc<SigningKeys>) -> Self {
        Self::with_source(KeySource::Rotating(keys))
    }

    /// Signs with a key behind a network call (KMS, HSM service); use the
    /// `*_async` methods, since the sync ones cannot wait for it.
    pub fn remote(signer: Arc<dyn AsyncSigner>) -> Self {
        Self::with_source(KeySource::Remote(signer))
    }

    fn with_source(key: KeySource) -> Self {
        RequestSigner {
            key,
            iat: true,
            ttl: None,
            jti: false,
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

    /// Serializes `payload` to JSON and signs it.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign_json`], and [`Error::Malformed`] when
    /// `payload` cannot be serialized.
    pub fn sign<T: Serialize + ?Sized>(&self, payload: &T) -> Result<String, Error> {
        self.sign_json(&to_json(payload)?)
    }

    /// As [`RequestSigner::sign`], waiting for an async signer if needed.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign`].
    pub async fn sign_async<T: Serialize + ?Sized>(&self, payload: &T) -> Result<String, Error> {
        self.sign_json_async(&to_json(payload)?).await
    }

    /// Signs raw JSON bytes, which must be one strict JSON object.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for JSON that is not a strict object,
    /// [`Error::TooLarge`] above the limits, [`Error::NoSigningKey`] when no
    /// rotating key is usable, or the signer's error.
    pub fn sign_json(&self, json: &[u8]) -> Result<String, Error> {
        now_or_never(self.sign_json_async(json))
            .unwrap_or_else(|| Err(needs_async("sign_json_async")))
    }

    /// As [`RequestSigner::sign_json`], waiting for an async signer if needed.
    ///
    /// # Errors
    ///
    /// As for [`RequestSigner::sign_json`].
    pub async fn sign_json_async(&self, json: &[u8]) -> Result<String, Error> {
        self.limits.check_size("payload", json.len())?;
        json::check(json, Segment::Payload, self.limits.max_json_depth())?;
        let payload = self.with_claims(json)?;
        let signer = self.key.current()?;
        let mut header = Header::new(signer.algorithm()).with_typ("JWT");
        header.kid = signer.key_id().map(str::to_owned);
        jws::sign_async(&header, &payload, &*signer).await
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
        if !self.iat && self.ttl.is_none() && !self.jti {
            return Ok(json.to_vec());
        }
        let members: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(json).map_err(|_| crate::ClaimError::NotAnObject)?;
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut added = String::new();
        let mut add = |name: &str, value: String| {
            if !members.contains_key(name) {
                added.push_str(&format!(",\"{name}\":{value}"));
            }
        };
        if self.iat {
            add("iat", now.to_string());
        }
        if let Some(ttl) = self.ttl {
            add("exp", now.saturating_add(ttl.as_secs()).to_string());
        }
        if self.jti {
            let mut id = [0u8; 16];
            backend::fill_random(&mut id)?;
            add("jti", format!("\"{}\"", base64url::encode(&id)));
        }
        let mut out = Vec::with_capacity(json.len() + added.len());
        out.extend_from_slice(head);
        let added = if members.is_empty() {
            added.trim_start_matches(',')
        } else {
            added.as_str()
        };
        out.extend_from_slice(added.as_bytes());
        out.push(b'}');
        Ok(out)
    }
}

impl fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key", &self.key)
            .field("iat", &self.iat)
            .field("ttl", &self.ttl)
            .field("jti", &self.jti)
            .finish_non_exhaustive()
    }
}

fn to_json<T: Serialize + ?Sized>(payload: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(payload).map_err(|e| Error::header(format!("payload: {e}")))
}
