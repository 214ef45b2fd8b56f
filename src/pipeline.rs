//! The one verification pipeline every profile calls.
//!
//! Sync from end to end: the size limits, the split and the header parse
//! ([`jws::parse`]), key selection by `kid` among the keys a source gave
//! ([`KeySet`]), the algorithm binding and the signature, the header policy,
//! and one pass over the claims. A profile fetches the key set between the
//! parse and the checks (and may wait there), and asks the replay store
//! after them (and may wait there): those are the only two places anything
//! waits, and they live in the profiles' async methods, never in here.

use std::sync::{Arc, LazyLock};

use crate::error::{Error, Escaped};
use crate::jws::Parsed;
use crate::{
    ClaimError, ClaimsPolicy, Clock, Header, KeySet, Limits, SystemClock, VerificationKey, Verified,
};

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
        crate::jws::parse(token, &self.limits)
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
        let key = keys.select(
            token.header.kid.as_deref(),
            self.require_kid,
            self.clock.now(),
            |key| token.check(key.verifier(), detached),
        )?;
        if let Some(jwt) = &self.jwt {
            jwt.check_header(&token.header)?;
        }
        let verified = token.into_verified(detached, Some(key.shared_kid()))?;
        let Some(jwt) = &self.jwt else {
            return Ok(verified);
        };
        let depth = self.limits.max_json_depth();
        let claims = jwt.claims.evaluate(verified.payload(), depth)?;
        Ok(verified.with_claims(claims, depth))
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
        Algorithm, ClaimsPolicy, FixedClock, KeyRegistry, MemoryNonceStore, PrivateKey, RsaSigner,
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
            RsaSigner::new(key, Algorithm::RS256).with_key_id("k1"),
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
