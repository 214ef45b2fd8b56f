//! Verifying signed requests of many tenants, with keys from a [`KeyStore`](crate::store::KeyStore).

use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::verifier::{Rules, typed};
use crate::error::Error;
use crate::store::TenantKeys;
use crate::{ClaimsPolicy, Limits, NonceStore, Verified};

/// A [`RequestVerifier`](super::RequestVerifier) for a fleet serving many
/// tenants: each token is checked against the keys of the tenant it is
/// for (known from the route or the credentials, never from the token),
/// read through a [`TenantKeys`] cache from a shared
/// [`KeyStore`](crate::store::KeyStore), and its `jti` recorded in a shared
/// replay store when one is set.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::{Algorithm, PrivateKey, RsaSigner, VerificationKey};
/// use signed_payloads::request::{RequestSigner, TenantVerifier};
/// use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
///
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem"))?;
/// let store = Arc::new(MemoryKeyStore::new());
/// let public = VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256)?;
/// store.add_key("program-1", &public, "ops").await?;
///
/// let verifier = TenantVerifier::new(Arc::new(TenantKeys::new(store)));
/// let signer = RequestSigner::new(Arc::new(RsaSigner::new(key, Algorithm::RS256).with_key_id("k1")));
/// let token = signer.sign_json(br#"{"amount":100}"#)?;
/// assert!(verifier.verify_bytes("program-1", &token).await.is_ok());
/// assert!(verifier.verify_bytes("program-2", &token).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TenantVerifier {
    keys: Arc<TenantKeys>,
    rules: Rules,
}

impl TenantVerifier {
    /// A verifier reading keys through `keys`, with the default claims
    /// policy and limits and no replay store.
    pub fn new(keys: Arc<TenantKeys>) -> Self {
        TenantVerifier {
            keys,
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

    /// Requires the header `typ` (ASCII case-insensitive).
    #[must_use]
    pub fn expect_typ(mut self, typ: impl Into<String>) -> Self {
        self.rules.expected_typ = Some(typ.into());
        self
    }

    /// Refuses a token whose `jti` this tenant used before, as
    /// [`RequestVerifier::with_replay_store`](super::RequestVerifier::with_replay_store)
    /// does; `jti`s of different tenants never collide.
    #[must_use]
    pub fn with_replay_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.rules.replay = Some(store);
        self
    }

    /// The key cache.
    pub fn keys(&self) -> &Arc<TenantKeys> {
        &self.keys
    }

    /// Verifies `tenant`'s token and returns its payload bytes as signed.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownTenant`], [`Error::Unavailable`] (the key or replay
    /// store cannot answer), [`Error::Replayed`], and the errors of
    /// [`RequestVerifier::verify_bytes`](super::RequestVerifier::verify_bytes).
    pub async fn verify_bytes(
        &self,
        tenant: &str,
        token: &str,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let registry = self.keys.registry(tenant).await?;
        let verified = self.rules.check(&registry, token)?;
        self.rules
            .remember(&format!("tenant:{tenant}"), &verified)
            .await?;
        Ok(verified)
    }

    /// Verifies `tenant`'s token and deserializes its payload into `T`.
    ///
    /// # Errors
    ///
    /// As for [`TenantVerifier::verify_bytes`], and
    /// [`Malformed::PayloadType`](crate::Malformed::PayloadType) when the payload does not fit `T`.
    pub async fn verify<T: DeserializeOwned>(
        &self,
        tenant: &str,
        token: &str,
    ) -> Result<Verified<T>, Error> {
        typed(self.verify_bytes(tenant, token).await?)
    }

    /// Verifies `tenant`'s HTTP request body (content type `application/jwt`).
    ///
    /// # Errors
    ///
    /// [`Error::ContentType`], [`Error::TooLarge`], and the errors of [`TenantVerifier::verify`].
    pub async fn verify_request<T: DeserializeOwned>(
        &self,
        tenant: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        let token = self.rules.body_token(content_type, body)?;
        self.verify(tenant, token).await
    }
}
