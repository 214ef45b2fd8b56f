//! The one verification pipeline every profile calls.
//!
//! Sync from end to end: the size limits, the split and the header parse
//! ([`jws::parse`]), key selection by `kid` among the keys a source gave
//! ([`KeySet`]), the algorithm binding and the signature, the header policy,
//! and one pass over the claims. A profile fetches the key set between the
//! parse and the checks (and may wait there), and asks the replay store
//! after them (and may wait there): those are the only two places anything
//! waits, and they live in the profiles' async methods, never in here.

use std::sync::Arc;

use crate::error::{Error, Escaped};
use crate::jws::Parsed;
use crate::{
    ClaimError, ClaimsPolicy, Clock, Header, KeySet, Limits, SystemClock, Verified, VerificationKey,
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
        Rules {
            limits: Limits::default(),
            require_kid: false,
            clock: Arc::new(SystemClock),
            jwt: None,
        }
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
