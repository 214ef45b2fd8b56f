//! Signing a body into a detached-header signature.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::profile::{DetachedProfile, PayloadEncoding};
use crate::error::Error;
use crate::{AsyncSigner, Clock, Header, Signer, SigningKeys, SigningSource, SystemClock, jws};

/// Signs bodies into the header value of a [`DetachedProfile`]: a compact
/// JWS with an empty payload segment, whose protected header names the key
/// (`kid`), the signing time, the signer's identity and the trust anchor.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner};
/// use signed_payloads::detached::DetachedSigner;
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let signer = DetachedSigner::new(
///     Arc::new(KeySigner::new(key, Algorithm::PS256)?.with_key_id("tpp-signing-1")),
///     "0015800001041RHAAY/2kiXQyo0tedjW2somjSgH7",
///     "openbanking.org.uk",
/// );
/// let value = signer.sign(br#"{"Data":{}}"#)?;
/// assert!(value.contains(".."), "empty payload segment");
/// # Ok(()) }
/// ```
pub struct DetachedSigner<S = Arc<dyn Signer>> {
    keys: S,
    profile: DetachedProfile,
    issuer: String,
    trust_anchor: String,
    clock: Arc<dyn Clock>,
}

impl DetachedSigner {
    /// Signs with one fixed signer as `issuer` under `trust_anchor`, with
    /// the [`DetachedProfile::open_banking`] profile.
    pub fn new(
        signer: Arc<dyn Signer>,
        issuer: impl Into<String>,
        trust_anchor: impl Into<String>,
    ) -> Self {
        Self::with_source(signer, issuer, trust_anchor)
    }
}

impl DetachedSigner<Arc<SigningKeys>> {
    /// Signs with whichever of `keys` is current at each body.
    pub fn rotating(
        keys: Arc<SigningKeys>,
        issuer: impl Into<String>,
        trust_anchor: impl Into<String>,
    ) -> Self {
        Self::with_source(keys, issuer, trust_anchor)
    }
}

impl DetachedSigner<Arc<dyn AsyncSigner>> {
    /// Signs with a key behind a network call: only the `*_async` methods.
    pub fn remote(
        signer: Arc<dyn AsyncSigner>,
        issuer: impl Into<String>,
        trust_anchor: impl Into<String>,
    ) -> Self {
        Self::with_source(signer, issuer, trust_anchor)
    }
}

impl<S: SigningSource> DetachedSigner<S> {
    /// Signs with the signers `source` hands out.
    pub fn with_source(
        keys: S,
        issuer: impl Into<String>,
        trust_anchor: impl Into<String>,
    ) -> Self {
        DetachedSigner {
            keys,
            profile: DetachedProfile::default(),
            issuer: issuer.into(),
            trust_anchor: trust_anchor.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses another profile.
    #[must_use]
    pub fn with_profile(mut self, profile: DetachedProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Uses `clock` for the signing time.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The profile in use.
    pub fn profile(&self) -> &DetachedProfile {
        &self.profile
    }

    /// The protected header for `signer`: `alg`, `kid`, `b64` when
    /// unencoded, `crit`, `typ`, `cty`, then the profile's members.
    fn header(&self, signer: &S::Current) -> Result<Header, Error> {
        let kid = signer
            .key_id()
            .ok_or_else(|| Error::Config("detached signing needs a signer with a key id".into()))?;
        if !self.profile.algorithms.contains(&signer.algorithm()) {
            return Err(Error::Config(format!(
                "the signer signs {} but this profile allows only {}",
                signer.algorithm(),
                names(&self.profile.algorithms)
            )));
        }
        let mut header = Header::new(signer.algorithm()).with_kid(kid);
        if self.profile.produce == PayloadEncoding::Unencoded {
            header = header.unencoded_payload();
        }
        if let Some(typ) = self.profile.typ {
            header = header.with_typ(typ);
        }
        if let Some(cty) = self.profile.cty.first() {
            header = header.with_cty(*cty);
        }
        let now = self
            .clock
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let values = [
            (self.profile.iat_member, Value::from(now)),
            (self.profile.iss_member, Value::from(self.issuer.clone())),
            (
                self.profile.tan_member,
                Value::from(self.trust_anchor.clone()),
            ),
        ];
        for (name, value) in values {
            if let Some(name) = name {
                header.extra.insert(name.to_owned(), value);
                header
                    .crit
                    .get_or_insert_with(Vec::new)
                    .push(name.to_owned());
            }
        }
        Ok(header)
    }
}

impl<S: SigningSource<Current = dyn Signer>> DetachedSigner<S> {
    /// The header value for `body` (the bytes exactly as they will be sent).
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`], [`Error::Config`] for a signer without key id
    /// or with an algorithm the profile does not allow, or the signer's error.
    pub fn sign(&self, body: &[u8]) -> Result<String, Error> {
        let signer = self.keys.current()?;
        let header = self.header(&*signer)?;
        jws::sign_detached(&header, body, &*signer)
    }

    /// `(name, value)` of the signature header for `body`.
    ///
    /// # Errors
    ///
    /// As for [`DetachedSigner::sign`].
    pub fn header_for(&self, body: &[u8]) -> Result<(&str, String), Error> {
        Ok((self.profile.header_name(), self.sign(body)?))
    }
}

impl<S: SigningSource> DetachedSigner<S> {
    /// As [`DetachedSigner::sign`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`DetachedSigner::sign`].
    pub async fn sign_async(&self, body: &[u8]) -> Result<String, Error> {
        let signer = self.keys.current()?;
        let header = self.header(&*signer)?;
        jws::sign_detached_async(&header, body, &*signer).await
    }
}

fn names(algorithms: &[crate::Algorithm]) -> String {
    let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    names.join(", ")
}

impl<S: fmt::Debug> fmt::Debug for DetachedSigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DetachedSigner")
            .field("keys", &self.keys)
            .field("profile", &self.profile)
            .field("issuer", &self.issuer)
            .field("trust_anchor", &self.trust_anchor)
            .finish_non_exhaustive()
    }
}
