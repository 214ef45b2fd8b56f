//! The one verification pipeline every profile calls.
//!
//! Sync from end to end: the size limits, the split and the header parse
//! ([`jws::parse`]), key selection by `kid` among the keys a source gave
//! ([`KeySet`]), the algorithm binding and the signature, the header policy,
//! and one pass over the claims. A profile fetches the key set between the
//! parse and the checks (and may wait there), and asks the replay store
//! after them (and may wait there): those are the only two places anything
//! waits, and they live in the profiles' async methods, never in here.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{Error, Escaped};
use crate::jws::Parsed;
use crate::nonce::Replay;
use crate::{
    ClaimError, ClaimsPolicy, Clock, Header, KeySet, Limits, SystemClock, VerificationKey, Verified,
};

/// What every verifier holds, whichever its profile: where its keys come
/// from, its rules, and its replay store.
pub(crate) struct Core<K: ?Sized, R: ?Sized> {
    pub(crate) keys: Arc<K>,
    pub(crate) rules: Rules,
    pub(crate) replay: Option<Replay<R>>,
}

impl<K: ?Sized, R: ?Sized> Core<K, R> {
    pub(crate) fn new(keys: Arc<K>, rules: Rules) -> Self {
        Core {
            keys,
            rules,
            replay: None,
        }
    }

    /// The same core with a replay store; `window` is how long a nonce is
    /// kept when the message does not say (response nonces).
    pub(crate) fn with_replay<S: ?Sized>(
        self,
        store: Arc<S>,
        window: Option<Duration>,
    ) -> Core<K, S> {
        Core {
            keys: self.keys,
            rules: self.rules,
            replay: Some(Replay { store, window }),
        }
    }
}

impl<K: ?Sized, R: ?Sized> Clone for Core<K, R> {
    fn clone(&self) -> Self {
        Core {
            keys: Arc::clone(&self.keys),
            rules: self.rules.clone(),
            replay: self.replay.clone(),
        }
    }
}

impl<K: fmt::Debug + ?Sized, R: fmt::Debug + ?Sized> fmt::Debug for Core<K, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("keys", &self.keys)
            .field("rules", &self.rules)
            .field("replay", &self.replay)
            .finish()
    }
}

/// The builder methods and accessors every verifier has, written once.
macro_rules! shared_settings {
    () => {
        /// Sets the input limits (token or body size, header size, JSON depth).
        #[must_use]
        pub fn with_limits(mut self, limits: $crate::Limits) -> Self {
            self.core.rules.limits = limits;
            self
        }

        /// Refuses a message that does not name its key (`kid`) instead of
        /// trying each active key.
        #[must_use]
        pub fn require_kid(mut self, require: bool) -> Self {
            self.core.rules.require_kid = require;
            self
        }

        /// The limits in force.
        pub fn limits(&self) -> &$crate::Limits {
            &self.core.rules.limits
        }

        /// Where the keys come from.
        pub fn keys(&self) -> &std::sync::Arc<K> {
            &self.core.keys
        }
    };
}
pub(crate) use shared_settings;

/// What a verifier checks besides the signature's key: one value per
/// verifier, whichever its profile.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) limits: Limits,
    /// Refuse a token (or response) that does not name its key.
    pub(crate) require_kid: bool,
    /// Judges key expiry (and, for JWTs, the claims: the policy's clock).
    pub(crate) clock: Arc<dyn Clock>,
    /// For JWT profiles: the claims and `typ` rules.
    pub(crate) jwt: Option<JwtRules>,
    /// Extension header members the profile checks itself, so `crit` may
    /// list them (beside `b64`).
    pub(crate) understood_critical: Vec<&'static str>,
}

/// The header and claims rules of a profile whose payload is a JWT.
#[derive(Debug, Clone, Default)]
pub(crate) struct JwtRules {
    pub(crate) claims: ClaimsPolicy,
    pub(crate) expected_typ: Option<String>,
}

impl JwtRules {
    fn check_header(&self, header: &Header) -> Result<(), Error> {
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
        Ok(())
    }
}

impl Rules {
    /// Rules for a JWS whose payload is not a claim set.
    pub(crate) fn jws() -> Self {
        static SYSTEM: LazyLock<Arc<dyn Clock>> = LazyLock::new(|| Arc::new(SystemClock));
        Rules {
            limits: Limits::default(),
            require_kid: false,
            clock: Arc::clone(&SYSTEM),
            jwt: None,
            understood_critical: Vec::new(),
        }
    }

    pub(crate) fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Rules for a JWT, with the default claims policy.
    pub(crate) fn jwt() -> Self {
        let mut rules = Rules::jws();
        rules.set_claims(ClaimsPolicy::default());
        rules
    }

    /// Sets the claims policy; its clock judges key expiry too.
    pub(crate) fn set_claims(&mut self, claims: ClaimsPolicy) {
        self.clock = claims.shared_clock();
        self.jwt.get_or_insert_with(JwtRules::default).claims = claims;
    }

    /// Splits and decodes a compact token, within the limits.
    pub(crate) fn parse<'a>(&self, token: &'a str) -> Result<Parsed<'a>, Error> {
        crate::jws::parse_understanding(token, &self.limits, &self.understood_critical)
    }

    /// The core: picks the key among `keys`, checks the algorithm binding and
    /// the signature (over `detached` when the payload travels apart), then
    /// the header policy and, for a JWT, the claims, in one pass.
    pub(crate) fn check(
        &self,
        token: Parsed<'_>,
        keys: &KeySet,
        detached: Option<&[u8]>,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let verified = self.check_signed(token, keys, detached)?;
        let Some(jwt) = &self.jwt else {
            return Ok(verified);
        };
        let depth = self.limits.max_json_depth();
        let claims = jwt.claims.evaluate(verified.payload(), depth)?;
        Ok(verified.with_claims(claims, depth))
    }

    /// As [`Rules::check`], with the payload deserialized into `T` in the
    /// same pass as the strict check and, for a JWT, the claims.
    pub(crate) fn check_typed<T: DeserializeOwned>(
        &self,
        token: Parsed<'_>,
        keys: &KeySet,
    ) -> Result<Verified<T>, Error> {
        let verified = self.check_signed(token, keys, None)?;
        let Some(jwt) = &self.jwt else {
            return verified.deserialize_json(&self.limits);
        };
        let depth = self.limits.max_json_depth();
        let (value, claims) = jwt.claims.evaluate_typed::<T>(verified.payload(), depth)?;
        Ok(verified.with_claims(claims, depth).map(|_| value))
    }

    /// The key, the algorithm binding, the signature and the header policy.
    fn check_signed(
        &self,
        token: Parsed<'_>,
        keys: &KeySet,
        detached: Option<&[u8]>,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let key = keys.select(
            token.header.kid.as_deref(),
            self.require_kid,
            self.clock.now(),
            |key| token.check(key.verifier(), detached),
        )?;
        if let Some(jwt) = &self.jwt {
            jwt.check_header(&token.header)?;
        }
        token.into_verified(detached, Some(key.shared_kid()))
    }

    /// The core for a signature that travels outside a JWS (response
    /// headers): the key `kid` names, checked over `message`.
    pub(crate) fn check_signature<'k>(
        &self,
        keys: &'k KeySet,
        kid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<&'k VerificationKey, Error> {
        keys.select(Some(kid), self.require_kid, self.clock.now(), |key| {
            key.verifier().verify(message, signature)
        })
    }

    /// The claims policy of a JWT profile.
    pub(crate) fn claims(&self) -> Option<&ClaimsPolicy> {
        self.jwt.as_ref().map(|jwt| &jwt.claims)
    }
}

#[cfg(test)]
mod tests {
    // A test that meets an unexpected result should stop loudly.
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, UNIX_EPOCH};

    use serde::Deserialize;

    use crate::claims::tests::{parses, scans};
    use crate::request::{RequestSigner, RequestVerifier};
    use crate::{
        Algorithm, ClaimsPolicy, FixedClock, KeyRegistry, KeySigner, MemoryNonceStore, PrivateKey,
        VerificationKey,
    };

    use super::*;

    #[derive(Deserialize)]
    struct Payment {
        amount: u64,
    }

    /// A request verified with every claim rule, a replay store and a typed
    /// payload reads the claims once: the replay check and the typed parse
    /// use what the one pass found.
    #[test]
    fn one_claims_parse_per_verification() {
        let key =
            PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let registry = KeyRegistry::new(
            VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256).unwrap(),
        );
        let clock = Arc::new(FixedClock::new(
            UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ));
        let signer = RequestSigner::new(Arc::new(
            KeySigner::new(key, Algorithm::RS256)
                .unwrap()
                .with_key_id("k1"),
        ))
        .with_clock(clock.clone())
        .with_ttl(Duration::from_secs(60))
        .with_jti();
        let verifier = RequestVerifier::new(Arc::new(registry))
            .with_claims(
                ClaimsPolicy::new()
                    .with_clock(clock)
                    .require_exp()
                    .require_iat(),
            )
            .expect_typ("JWT")
            .with_replay_store(Arc::new(MemoryNonceStore::new(10)));
        let token = signer.sign_json(br#"{"amount":100}"#).unwrap();
        let (parses_before, scans_before) = (parses(), scans());
        let payment = verifier.verify::<Payment>(&token).unwrap();
        assert_eq!(payment.payload().amount, 100);
        assert_eq!(parses() - parses_before, 1, "claims read once");
        // The header is scanned once, the payload once: the typed parse
        // reuses the claims pass's strictness check.
        assert_eq!(
            scans() - scans_before,
            2,
            "one strict scan each of header and payload"
        );
    }
}
