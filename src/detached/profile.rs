//! What a detached-header signature scheme looks like: the header that
//! carries it, how the body enters the signing input, and the extension
//! members of its protected header.

use std::time::Duration;

use crate::Algorithm;

/// How the body enters the signing input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadEncoding {
    /// `b64: false` (RFC 7797), listed in `crit`: the signing input is
    /// `header.body`, the body bytes as they are (Open Banking up to 3.1.3).
    Unencoded,
    /// No `b64`: the signing input is `header.BASE64URL(body)` (RFC 7515
    /// Appendix F; Open Banking from 3.1.4).
    Encoded,
}

/// Open Banking's signing-time member (a NumericDate).
pub const OB_IAT: &str = "http://openbanking.org.uk/iat";
/// Open Banking's signer-identity member.
pub const OB_ISS: &str = "http://openbanking.org.uk/iss";
/// Open Banking's trust-anchor member.
pub const OB_TAN: &str = "http://openbanking.org.uk/tan";

/// A detached-header signature profile: the body travels as it is, and a
/// compact JWS over it with an empty payload segment
/// (`BASE64URL(header)..BASE64URL(signature)`) travels in one HTTP header.
///
/// Its protected header may carry three extension members, under names the
/// profile sets: the signing time (a NumericDate), the signer's identity
/// (a string the verifier matches against the one registered for the key)
/// and the trust anchor (a string the verifier must accept). Those it
/// requires must be present and, like every member the profile knows,
/// listed in `crit`; any other `crit` entry is refused.
///
/// The presets are the two Open Banking UK variants; both verify with
/// [`DetachedProfile::open_banking`], which accepts either encoding.
///
/// ```
/// use signed_payloads::detached::{DetachedProfile, PayloadEncoding};
/// let profile = DetachedProfile::open_banking_v3_1_3();
/// assert_eq!(profile.header_name(), "x-jws-signature");
/// assert_eq!(profile.produces(), PayloadEncoding::Unencoded);
/// ```
#[derive(Debug, Clone)]
pub struct DetachedProfile {
    pub(crate) header_name: String,
    pub(crate) produce: PayloadEncoding,
    pub(crate) accept_unencoded: bool,
    pub(crate) accept_encoded: bool,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) iat_member: Option<&'static str>,
    pub(crate) iss_member: Option<&'static str>,
    pub(crate) tan_member: Option<&'static str>,
    pub(crate) required: Vec<&'static str>,
    pub(crate) typ: Option<&'static str>,
    pub(crate) cty: Vec<&'static str>,
    pub(crate) max_age: Duration,
    pub(crate) leeway: Duration,
}

impl DetachedProfile {
    /// Open Banking UK, Read/Write API up to 3.1.3: `x-jws-signature`, PS256,
    /// `b64: false`, `typ: JOSE`, `cty: application/json`, and the `iat`,
    /// `iss` and `tan` members, all in `crit`. Verifies either encoding.
    pub fn open_banking_v3_1_3() -> Self {
        DetachedProfile {
            header_name: "x-jws-signature".to_owned(),
            produce: PayloadEncoding::Unencoded,
            accept_unencoded: true,
            accept_encoded: true,
            algorithms: vec![Algorithm::PS256],
            iat_member: Some(OB_IAT),
            iss_member: Some(OB_ISS),
            tan_member: Some(OB_TAN),
            required: vec![OB_IAT, OB_ISS, OB_TAN],
            typ: Some("JOSE"),
            cty: vec!["application/json", "json"],
            max_age: Duration::from_secs(300),
            leeway: Duration::from_secs(60),
        }
    }

    /// Open Banking UK from 3.1.4: as
    /// [`DetachedProfile::open_banking_v3_1_3`], without `b64` (the body is
    /// base64url-encoded in the signing input). Verifies either encoding.
    pub fn open_banking() -> Self {
        DetachedProfile {
            produce: PayloadEncoding::Encoded,
            ..Self::open_banking_v3_1_3()
        }
    }

    /// The name of the header that carries the signature (matched
    /// case-insensitively).
    pub fn header_name(&self) -> &str {
        &self.header_name
    }

    /// The encoding signers produce.
    pub fn produces(&self) -> PayloadEncoding {
        self.produce
    }

    /// Uses `name` for the signature header.
    #[must_use]
    pub fn with_header_name(mut self, name: impl Into<String>) -> Self {
        self.header_name = name.into().to_ascii_lowercase();
        self
    }

    /// Signs with `encoding`, and accepts only it when verifying.
    #[must_use]
    pub fn only(mut self, encoding: PayloadEncoding) -> Self {
        self.produce = encoding;
        self.accept_unencoded = encoding == PayloadEncoding::Unencoded;
        self.accept_encoded = encoding == PayloadEncoding::Encoded;
        self
    }

    /// The algorithms a signature may use (PS256 in the presets); a key bound
    /// to another is refused.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Requires only these of the profile's members (the others are checked
    /// when present). Some APIs require only the trust anchor.
    #[must_use]
    pub fn requiring(mut self, members: impl IntoIterator<Item = &'static str>) -> Self {
        self.required = members.into_iter().collect();
        self
    }

    /// How old a signature's signing time may be (5 minutes in the
    /// presets), and how far it may lie in the future (the leeway, 60 s).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration, leeway: Duration) -> Self {
        self.max_age = max_age;
        self.leeway = leeway;
        self
    }

    /// The `typ` signers write and verifiers require when present (`JOSE`),
    /// or `None`.
    #[must_use]
    pub fn with_typ(mut self, typ: Option<&'static str>) -> Self {
        self.typ = typ;
        self
    }

    /// The extension members this profile checks, for `crit`.
    pub(crate) fn members(&self) -> Vec<&'static str> {
        [self.iat_member, self.iss_member, self.tan_member]
            .into_iter()
            .flatten()
            .collect()
    }

    /// Whether signatures in `encoding` are accepted.
    pub(crate) fn accepts(&self, encoding: PayloadEncoding) -> bool {
        match encoding {
            PayloadEncoding::Unencoded => self.accept_unencoded,
            PayloadEncoding::Encoded => self.accept_encoded,
        }
    }
}

impl Default for DetachedProfile {
    /// [`DetachedProfile::open_banking`].
    fn default() -> Self {
        Self::open_banking()
    }
}
