//! JWT claim checks (RFC 7519): `exp`, `nbf`, `iat` with leeway, `aud`, `iss`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Escaped};
use crate::{Clock, SystemClock};

/// The latest NumericDate accepted: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// Why the claims of a verified token were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimError {
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `iat` is further in the past than the maximum token age (plus leeway).
    #[error("the token is older than the maximum token age")]
    TooOld,
    /// A replay store is set, and the token carries neither `jti` with `exp`
    /// nor `iat` under a maximum token age: nothing bounds how long it would
    /// have to be remembered.
    #[error("with a replay store, a token needs jti and exp, or iat under a maximum token age")]
    NoReplayWindow,
    /// A required claim is absent.
    #[error("the {0} claim is required")]
    Missing(&'static str),
    /// A claim has the wrong JSON type (a string `exp`, a numeric `aud`, ...).
    #[error("the {0} claim has the wrong type")]
    WrongType(&'static str),
    /// A date claim is negative, not finite, or past year 9999.
    #[error("the {0} claim is out of range")]
    OutOfRange(&'static str),
    /// `aud` does not name the expected audience.
    #[error("the token is not meant for this audience")]
    AudienceMismatch,
    /// `iss` is not the expected issuer.
    #[error("the token is not from the expected issuer")]
    IssuerMismatch,
    /// The payload of a JWT must be a JSON object.
    #[error("the claims set must be a JSON object")]
    NotAnObject,
    /// A detached signature's trust anchor (`tan`) is not one this verifier
    /// accepts.
    #[error("the signature's trust anchor is not one this verifier accepts")]
    TrustAnchorMismatch,
    /// A header member the profile checks is present but not listed in
    /// `crit`, so a verifier that does not know it would have ignored it.
    #[error("the {0} header member must be listed in crit")]
    NotCritical(&'static str),
    /// The header `typ` is not the expected one.
    #[error("the typ header is not {0}")]
    Type(Escaped),
}

/// What a claim looked like in the JSON: absent, or present with any value (even `null`).
#[derive(Default)]
pub(crate) enum Claim {
    #[default]
    Absent,
    Present(Value),
}

impl Claim {
    pub(crate) fn is_present(&self) -> bool {
        matches!(self, Claim::Present(_))
    }

    /// Present with a value that is not a number.
    pub(crate) fn is_non_numeric(&self) -> bool {
        matches!(self, Claim::Present(v) if !v.is_number())
    }
}

impl<'de> Deserialize<'de> for Claim {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Claim::Present)
    }
}

/// The registered claims this crate reads, from the raw text the strict
/// pass kept of them.
struct Registered {
    exp: Claim,
    nbf: Claim,
    iat: Claim,
    aud: Claim,
    iss: Claim,
    jti: Claim,
}

impl Registered {
    fn from_captured(captured: &crate::json::CapturedClaims<'_>) -> Result<Self, Error> {
        let claim = |raw: Option<&serde_json::value::RawValue>| match raw {
            None => Ok(Claim::Absent),
            Some(raw) => serde_json::from_str(raw.get())
                .map(Claim::Present)
                .map_err(|e| {
                    Error::from(crate::Malformed::Json {
                        part: crate::Segment::Payload,
                        detail: crate::json::describe(&e),
                    })
                }),
        };
        let [exp, nbf, iat, aud, iss, jti] = *captured;
        Ok(Registered {
            exp: claim(exp)?,
            nbf: claim(nbf)?,
            iat: claim(iat)?,
            aud: claim(aud)?,
            iss: claim(iss)?,
            jti: claim(jti)?,
        })
    }
}

/// What the one pass over a verified token's claims found, for the steps
/// after it (the replay check) so that none reads the payload again.
#[derive(Debug, Clone, Default)]
pub(crate) struct Claims {
    exp: Option<f64>,
    iat: Option<f64>,
    jti: Option<Value>,
}

/// How a replay store is to remember a checked token.
#[derive(Debug)]
pub(crate) struct ReplayWindow<'c> {
    pub(crate) key: ReplayKey<'c>,
    pub(crate) ttl: Duration,
    pub(crate) now: SystemTime,
    pub(crate) earliest_use: SystemTime,
}

/// What a replay store remembers a token by.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayKey<'c> {
    /// The token's own `jti`.
    Jti(&'c str),
    /// A digest of the token's signature, for tokens without `jti`.
    Signature,
}

/// Which claims to require and what to compare them with.
///
/// By default `exp`, `nbf` and `iat` are checked when present with 60 s of
/// leeway, none is required, and `aud` and `iss` are not compared. A claim of
/// the wrong JSON type is always an error, never treated as absent.
///
/// ```
/// use std::time::Duration;
/// use signed_payloads::ClaimsPolicy;
/// let policy = ClaimsPolicy::new()
///     .require_exp()
///     .with_leeway(Duration::from_secs(30))
///     .with_audience("https://api.example.com")
///     .with_issuer("program-1234");
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsPolicy {
    leeway: Duration,
    require_exp: bool,
    require_nbf: bool,
    require_iat: bool,
    audience: Option<Vec<String>>,
    issuer: Option<String>,
    max_age: Option<Duration>,
    clock: Arc<dyn Clock>,
}

impl Default for ClaimsPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaimsPolicy {
    /// The default policy (see the type's documentation).
    pub fn new() -> Self {
        ClaimsPolicy {
            leeway: Duration::from_secs(60),
            require_exp: false,
            require_nbf: false,
            require_iat: false,
            audience: None,
            issuer: None,
            max_age: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets the clock-skew allowance for `exp`, `nbf` and `iat`.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens without `exp`.
    #[must_use]
    pub fn require_exp(mut self) -> Self {
        self.require_exp = true;
        self
    }

    /// Refuses tokens without `nbf`.
    #[must_use]
    pub fn require_nbf(mut self) -> Self {
        self.require_nbf = true;
        self
    }

    /// Refuses tokens without `iat`.
    #[must_use]
    pub fn require_iat(mut self) -> Self {
        self.require_iat = true;
        self
    }

    /// Requires `aud` to be, or to contain, this value (exact comparison).
    /// Call again to accept several audiences.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience
            .get_or_insert_with(Vec::new)
            .push(audience.into());
        self
    }

    /// Refuses tokens issued more than `max_age` ago (plus the leeway),
    /// measured from `iat`, which becomes required (panva/jose's
    /// `maxTokenAge`). This bounds tokens signed without `exp`, as Node's
    /// `jsonwebtoken` signs by default; with a replay store it also lets a
    /// token without `jti` be remembered (by a digest of its signature)
    /// until it is too old.
    ///
    /// ```
    /// use std::time::Duration;
    /// use signed_payloads::ClaimsPolicy;
    /// // The card-issuing flow: the backend signs just before the client sends.
    /// let policy = ClaimsPolicy::new().with_max_age(Duration::from_secs(300));
    /// ```
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Requires `iss` to equal this value exactly.
    #[must_use]
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Uses `clock` for the time checks.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock the time checks use.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub(crate) fn shared_clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// Checks the claims of a JSON payload: strict JSON (no duplicate
    /// members, default depth limit), an object, and every configured claim rule.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for JSON that is not strict, [`Error::Claim`]
    /// naming the failed check.
    pub fn check(&self, payload: &[u8]) -> Result<(), Error> {
        self.evaluate(payload, crate::Limits::DEFAULT_MAX_JSON_DEPTH)
            .map(drop)
    }

    /// The one pass over a payload's claims: strict JSON, an object, every
    /// rule; returns what the replay check needs.
    pub(crate) fn evaluate(&self, payload: &[u8], max_depth: usize) -> Result<Claims, Error> {
        self.evaluate_typed::<serde::de::IgnoredAny>(payload, max_depth)
            .map(|(_, claims)| claims)
    }

    /// The same one pass, also deserializing the payload into `T`: the
    /// strict check, the claims and the typed value from one read. When `T`
    /// refuses the payload, a failed claim is still the error reported.
    pub(crate) fn evaluate_typed<'a, T: Deserialize<'a>>(
        &self,
        payload: &'a [u8],
        max_depth: usize,
    ) -> Result<(T, Claims), Error> {
        let an_object = payload.trim_ascii_start().first() == Some(&b'{');
        #[cfg(test)]
        tests::count_parse();
        let parsed = crate::json::parse_strict_with_claims::<T>(payload, max_depth, |e| {
            if an_object {
                crate::json::payload_error::<T>(payload, e)
            } else {
                ClaimError::NotAnObject.into()
            }
        });
        let (value, captured) = match parsed {
            Ok(parsed) => parsed,
            Err(refused @ Error::Malformed(crate::Malformed::PayloadType(_))) => {
                self.evaluate(payload, max_depth)?;
                return Err(refused);
            }
            Err(e) => return Err(e),
        };
        // A struct also reads from an array; claims come only in an object.
        if !an_object {
            return Err(ClaimError::NotAnObject.into());
        }
        let claims = self.judge(Registered::from_captured(&captured)?)?;
        Ok((value, claims))
    }

    /// Every rule of the policy over the registered claims.
    fn judge(&self, claims: Registered) -> Result<Claims, Error> {
        let now = seconds(self.clock.now());
        let leeway = self.leeway.as_secs_f64();
        let exp = numeric_date(&claims.exp, "exp", self.require_exp)?;
        // RFC 7519 4.1.4: the current time must be before exp.
        if exp.is_some_and(|exp| now >= exp + leeway) {
            return Err(ClaimError::Expired.into());
        }
        // 4.1.5: the current time must be at or after nbf.
        if numeric_date(&claims.nbf, "nbf", self.require_nbf)?.is_some_and(|nbf| now + leeway < nbf)
        {
            return Err(ClaimError::NotYetValid.into());
        }
        let iat = numeric_date(
            &claims.iat,
            "iat",
            self.require_iat || self.max_age.is_some(),
        )?;
        if iat.is_some_and(|iat| iat > now + leeway) {
            return Err(ClaimError::IssuedInFuture.into());
        }
        if let (Some(iat), Some(max_age)) = (iat, self.max_age) {
            if now > iat + max_age.as_secs_f64() + leeway {
                return Err(ClaimError::TooOld.into());
            }
        }
        let audiences = audiences(&claims.aud)?;
        if let Some(expected) = &self.audience {
            if !audiences.iter().any(|a| expected.iter().any(|e| e == a)) {
                return Err(ClaimError::AudienceMismatch.into());
            }
        }
        match (&claims.iss, &self.issuer) {
            (Claim::Present(Value::String(iss)), Some(expected)) if iss != expected => {
                return Err(ClaimError::IssuerMismatch.into());
            }
            (Claim::Present(Value::String(_)), _) | (Claim::Absent, None) => {}
            (Claim::Absent, Some(_)) => return Err(ClaimError::Missing("iss").into()),
            (Claim::Present(_), _) => return Err(ClaimError::WrongType("iss").into()),
        }
        let jti = match claims.jti {
            Claim::Absent => None,
            Claim::Present(jti) => Some(jti),
        };
        Ok(Claims { exp, iat, jti })
    }

    /// What to remember a checked token by, and for how long: its `jti`,
    /// or else (under a maximum token age) a digest of its signature; until
    /// the token would be refused anyway (`exp`, or `iat` plus the maximum
    /// age, whichever comes first, plus the leeway). With them, the
    /// earliest instant a verifier could have accepted it: `iat` less the
    /// leeway (a later `iat` would have been in the future then), or the
    /// Unix epoch for a token without `iat`.
    pub(crate) fn replay_window<'c>(
        &self,
        claims: Option<&'c Claims>,
    ) -> Result<ReplayWindow<'c>, Error> {
        let Some(claims) = claims else {
            return Err(ClaimError::NoReplayWindow.into());
        };
        let key = match &claims.jti {
            Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => {
                ReplayKey::Jti(jti)
            }
            Some(Value::String(_)) => return Err(ClaimError::OutOfRange("jti").into()),
            Some(_) => return Err(ClaimError::WrongType("jti").into()),
            None if self.max_age.is_some() => ReplayKey::Signature,
            None => return Err(ClaimError::NoReplayWindow.into()),
        };
        let aged_out = match (claims.iat, self.max_age) {
            (Some(iat), Some(max_age)) => Some(iat + max_age.as_secs_f64()),
            _ => None,
        };
        // Under a maximum age `iat` is required, so a window always exists.
        let until = match (claims.exp, aged_out) {
            (Some(exp), Some(aged_out)) => exp.min(aged_out),
            (Some(end), None) | (None, Some(end)) => end,
            (None, None) => return Err(ClaimError::NoReplayWindow.into()),
        };
        let now = self.clock.now();
        let leeway = self.leeway.as_secs_f64();
        let remaining = until + leeway - seconds(now);
        // At least a second, so that a token checked at its last instant is
        // still remembered across the clock skew of two instances; a window
        // too long for a Duration is kept as long as one can say.
        let ttl = Duration::try_from_secs_f64(remaining.max(1.0)).unwrap_or(Duration::MAX);
        let earliest_use = claims
            .iat
            .and_then(|iat| Duration::try_from_secs_f64((iat - leeway).max(0.0)).ok())
            .and_then(|since| UNIX_EPOCH.checked_add(since))
            .unwrap_or(UNIX_EPOCH);
        Ok(ReplayWindow {
            key,
            ttl,
            now,
            earliest_use,
        })
    }
}

/// The longest `jti` remembered; a longer one is refused rather than stored.
pub(crate) const MAX_JTI_LEN: usize = 256;

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn numeric_date(
    claim: &Claim,
    name: &'static str,
    required: bool,
) -> Result<Option<f64>, ClaimError> {
    match claim {
        Claim::Absent if required => Err(ClaimError::Missing(name)),
        Claim::Absent => Ok(None),
        Claim::Present(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && (0.0..=MAX_NUMERIC_DATE).contains(&v) => Ok(Some(v)),
            _ => Err(ClaimError::OutOfRange(name)),
        },
        Claim::Present(_) => Err(ClaimError::WrongType(name)),
    }
}

fn audiences(claim: &Claim) -> Result<Vec<&str>, ClaimError> {
    match claim {
        Claim::Absent => Ok(Vec::new()),
        Claim::Present(Value::String(a)) => Ok(vec![a.as_str()]),
        Claim::Present(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().ok_or(ClaimError::WrongType("aud")))
            .collect(),
        Claim::Present(_) => Err(ClaimError::WrongType("aud")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    thread_local! {
        static PARSES: Cell<usize> = const { Cell::new(0) };
        static SCANS: Cell<usize> = const { Cell::new(0) };
    }

    /// Counts strict-structure passes (duplicate members, depth: the one-pass
    /// parse, or the byte scan) on this thread.
    pub(crate) fn count_scan() {
        SCANS.with(|n| n.set(n.get() + 1));
    }

    /// How many structure scans this thread has made.
    pub(crate) fn scans() -> usize {
        SCANS.with(Cell::get)
    }

    /// Counts claim-set parses on this thread, for the one-pass test.
    pub(super) fn count_parse() {
        PARSES.with(|n| n.set(n.get() + 1));
    }

    /// How many claim-set parses this thread has made.
    pub(crate) fn parses() -> usize {
        PARSES.with(Cell::get)
    }

    mod one_pass {
        // A test that meets an unexpected result should stop loudly.
        #![allow(clippy::unwrap_used)]

        use std::sync::Arc;
        use std::time::{Duration, UNIX_EPOCH};

        use serde::Deserialize;

        use crate::error::{Error, Malformed};
        use crate::{ClaimError, ClaimsPolicy, FixedClock};

        const NOW: u64 = 1_800_000_000;

        fn policy() -> ClaimsPolicy {
            let clock = FixedClock::new(UNIX_EPOCH + Duration::from_secs(NOW));
            ClaimsPolicy::new()
                .with_clock(Arc::new(clock))
                .with_issuer("program-1")
        }

        #[derive(Deserialize, Debug)]
        struct Payment<'a> {
            amount: u64,
            iss: &'a str,
            exp: Option<u64>,
        }

        fn typed(json: &str) -> Result<(Payment<'_>, super::super::Claims), Error> {
            policy().evaluate_typed::<Payment<'_>>(json.as_bytes(), 8)
        }

        #[test]
        fn the_typed_value_and_the_claims_come_from_one_read() {
            let later = NOW + 60;
            let json = format!(r#"{{"amount":5,"iss":"program-1","exp":{later}}}"#);
            let (payment, claims) = typed(&json).unwrap();
            // The target reads claims it names, borrowing where it borrows.
            assert_eq!(
                (payment.amount, payment.iss, payment.exp),
                (5, "program-1", Some(later))
            );
            assert_eq!(claims.exp, Some(later as f64));
            // Spelled with escapes, a claim is still that claim.
            let escaped = format!(
                r#"{{"amount":5,"\u0069ss":"program-1","\u0065xp":{}}}"#,
                NOW - 3600
            );
            assert!(matches!(
                typed(&escaped),
                Err(Error::Claim(ClaimError::Expired))
            ));
        }

        #[test]
        fn claims_are_judged_before_the_type_and_after_the_structure() {
            // Expired and of the wrong shape: the claim is what is reported.
            let json = format!(
                r#"{{"amount":"five","iss":"program-1","exp":{}}}"#,
                NOW - 3600
            );
            assert!(matches!(
                typed(&json),
                Err(Error::Claim(ClaimError::Expired))
            ));
            // Good claims, wrong shape: the type error.
            let json = r#"{"amount":"five","iss":"program-1"}"#;
            assert!(matches!(
                typed(json),
                Err(Error::Malformed(Malformed::PayloadType(_)))
            ));
            // A duplicate claim, or a duplicate inside one, before anything else.
            for json in [
                r#"{"amount":5,"iss":"program-1","exp":1,"exp":2}"#,
                r#"{"amount":5,"iss":"program-1","aud":{"a":1,"a":2}}"#,
                r#"{"amount":"x","iss":"other","aud":[{"a":1,"a":2}]}"#,
            ] {
                assert!(
                    matches!(
                        typed(json),
                        Err(Error::Malformed(Malformed::DuplicateMember { .. }))
                    ),
                    "{json}"
                );
            }
            // The wrong issuer, whatever the target thinks of it.
            let json = r#"{"amount":5,"iss":"other"}"#;
            assert!(matches!(
                typed(json),
                Err(Error::Claim(ClaimError::IssuerMismatch))
            ));
        }

        #[test]
        fn a_type_error_in_a_captured_claim_names_no_value() {
            #[derive(Deserialize, Debug)]
            #[allow(dead_code)] // only deserialized
            struct Numbered {
                jti: u64,
            }
            let json = r#"{"iss":"program-1","jti":"4111111111111111"}"#;
            let e = policy()
                .evaluate_typed::<Numbered>(json.as_bytes(), 8)
                .unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(
                matches!(e, Error::Malformed(Malformed::PayloadType(_))),
                "{shown}"
            );
            assert!(!shown.contains("4111"), "{shown}");
            assert!(shown.contains("jti"), "{shown}");
        }

        #[test]
        fn only_the_top_level_object_holds_claims() {
            #[derive(Deserialize)]
            #[allow(dead_code)] // only deserialized
            struct Nested {
                inner: serde_json::Value,
            }
            let json = format!(
                r#"{{"inner":{{"iss":"other","exp":{}}},"iss":"program-1"}}"#,
                NOW - 1
            );
            let (_, claims) = policy()
                .evaluate_typed::<Nested>(json.as_bytes(), 8)
                .unwrap();
            assert_eq!(claims.exp, None);
            // The bytes-only path reads the same claims.
            assert_eq!(policy().evaluate(json.as_bytes(), 8).unwrap().exp, None);
            let json = format!(r#"{{"inner":1,"iss":"program-1","exp":{}}}"#, NOW - 3600);
            assert!(matches!(
                policy().evaluate(json.as_bytes(), 8),
                Err(Error::Claim(ClaimError::Expired))
            ));
            // Not an object: refused as such, even when a struct could read it.
            assert!(matches!(
                policy().evaluate_typed::<Nested>(br#"[{"a":1}]"#, 8),
                Err(Error::Claim(ClaimError::NotAnObject))
            ));
        }
    }
}
