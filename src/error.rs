//! The crate's one error type.
//!
//! Messages are lowercase, carry no trailing period and never contain a token,
//! a signature, a nonce or key bytes. Strings an attacker chooses (a `kid`, an
//! `alg`) are escaped and cut short by [`Escaped`] before they reach a message.

use std::fmt;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when loading keys, signing or verifying.
///
/// The variants are chosen by what a caller can act on. [`Error::BadSignature`]
/// deliberately carries no detail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The signature does not match the signing input under the selected key.
    #[error("signature verification failed")]
    BadSignature,

    /// The token names a key id that is not registered.
    #[error("unknown key id {0}")]
    UnknownKeyId(Escaped),

    /// A key registry already holds its maximum number of active keys.
    #[error("the registry already holds {limit} active keys, the most it allows; remove one first")]
    KeyLimit {
        /// The maximum number of active keys.
        limit: usize,
    },

    /// Removing this key would leave the registry with none.
    #[error("cannot remove the last active key; add its replacement first")]
    LastKey,

    /// A key with this id is already active.
    #[error("key id {0} is already registered")]
    DuplicateKeyId(Escaped),

    /// This key id was used before for other key material; ids are never rebound.
    #[error("key id {0} was used before for other key material")]
    KeyIdReused(Escaped),

    /// The selected key has passed its expiry.
    #[error("key {0} has expired")]
    KeyExpired(Escaped),

    /// No signing key is usable (none registered, or all expired).
    #[error("no signing key is usable: none is registered or all have expired")]
    NoSigningKey,

    /// The token carries no `kid` and the verifier requires one.
    #[error("token has no kid and this verifier requires one")]
    MissingKeyId,

    /// The algorithm is outside the supported set (RS256..RS512,
    /// PS256..PS512, ES256, ES384, ES512, EdDSA, Ed25519).
    #[error(
        "algorithm {0} is not supported (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519)"
    )]
    UnsupportedAlgorithm(Escaped),

    /// The token's algorithm differs from the one the key is bound to.
    #[error("token algorithm {token} does not match the key's algorithm {key}")]
    AlgorithmMismatch {
        /// Algorithm named by the token header.
        token: crate::Algorithm,
        /// Algorithm the key is bound to.
        key: crate::Algorithm,
    },

    /// A JWT claim (`exp`, `nbf`, `iat`, `aud`, `iss`) or the `typ` header failed its check.
    #[error("claims: {0}")]
    Claim(#[from] crate::ClaimError),

    /// The request's content type is not the one the profile requires.
    #[error("content type must be {expected}, found {found}")]
    ContentType {
        /// The required media type.
        expected: &'static str,
        /// What the request carried (escaped, cut short), or `none`.
        found: Escaped,
    },

    /// A JWE could not be decrypted. No detail, on purpose: a decryption
    /// oracle must not learn which step failed.
    #[error("decryption failed")]
    DecryptionFailed,

    /// A response nonce, a request `jti` or an HTTP signature's `nonce`
    /// was seen before: a replay.
    #[error("this message was seen before (a replayed nonce or jti)")]
    Replayed,

    /// An HTTP message signature (RFC 9421) was refused for a reason other
    /// than the signature bytes or the key: its fields do not parse, it
    /// does not cover what the policy requires, it is too old, its digest
    /// does not match the body. The text says which.
    #[error("HTTP message signature refused: {0}")]
    HttpSignature(String),

    /// The replay store lost its records (a restart without persistence, a
    /// flush, an eviction) after this token could first have been used, so
    /// it cannot vouch that the token is fresh. The sender signs the message
    /// again, with a new `iat`.
    #[error(
        "this message could have been used before the replay store's records begin; sign it again"
    )]
    BeforeReplayHistory,

    /// No key is registered for this tenant (or all were retired).
    #[error("no active key is registered for tenant {0}")]
    UnknownTenant(Escaped),

    /// A key store, nonce store or key endpoint could not answer. The token
    /// in hand is refused; nothing is accepted on a store's silence.
    #[error("{what} is unavailable: {source}")]
    Unavailable {
        /// Which store or endpoint.
        what: &'static str,
        /// What went wrong talking to it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// A setting given to a builder is not usable (a JWKS URL that is not
    /// https, say).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A payload or claim set could not be serialized as JSON (a map with
    /// non-string keys, a `Serialize` impl that fails).
    #[error("the payload could not be serialized as JSON: {0}")]
    Serialization(#[source] serde_json::Error),

    /// The input is not a well-formed token, header, key file or payload.
    #[error("malformed input: {0}")]
    Malformed(#[from] Malformed),

    /// An input exceeded one of the configured [`Limits`](crate::Limits).
    #[error("{what} is over the limit of {limit} bytes")]
    TooLarge {
        /// What was measured.
        what: &'static str,
        /// Its size, or, for a body that was being streamed when it passed
        /// the limit, the most that was read (a lower bound).
        actual: usize,
        /// The configured limit.
        limit: usize,
    },

    /// A key was loaded but is not acceptable (too small, bad exponent, wrong kind).
    #[error("key rejected: {0}")]
    KeyRejected(#[from] KeyRejected),

    /// Reading a message (a request or response body) from the network failed.
    #[error("reading the message from the network failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// The crypto backend (or a user-supplied signer) failed for a reason other
    /// than a bad signature.
    #[error("crypto backend failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Why a token, header, payload or key encoding was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// A compact JWS has exactly three dot-separated segments.
    #[error("expected 3 dot-separated segments in a compact JWS, found {}", if *found >= 6 { "6 or more".to_owned() } else { found.to_string() })]
    SegmentCount {
        /// How many segments the input had; 6 stands for 6 or more.
        found: usize,
    },
    /// Five segments: a JWE was given where a JWS was expected.
    #[error("found 5 segments: this is a JWE (encrypted), not a JWS")]
    LooksLikeJwe,
    /// JSON was given where a compact JWS was expected: an unsigned body, a
    /// response signed in header mode verified as embedded, or a JWS JSON
    /// serialization (which is not supported).
    #[error(
        "the input begins with '{{': JSON, not a compact JWS (unsigned, signed in the headers as in header mode, or a JWS JSON serialization, which is not supported)"
    )]
    JsonSerialization,
    /// A segment that must not be empty was empty.
    #[error("the {0} segment is empty")]
    EmptySegment(Segment),
    /// A segment is not strict unpadded base64url.
    #[error("the {0} segment is not valid unpadded base64url")]
    Base64(Segment),
    /// The token is not valid UTF-8 text.
    #[error("the token is not valid UTF-8")]
    NotUtf8,
    /// A detached-payload token had something in its payload segment.
    #[error("the payload segment must be empty when the payload is detached")]
    PayloadNotDetached,
    /// An unencoded (`b64: false`) payload contained a `.` in compact form.
    #[error("an unencoded payload in a compact JWS must not contain '.'")]
    UnencodedPayloadHasDot,
    /// JSON that could not be parsed, with the position and kind of the fault.
    #[error("the {part} is not valid JSON ({detail})")]
    Json {
        /// Which part of the input.
        part: Segment,
        /// The parser's classification and position; never the input itself.
        detail: String,
    },
    /// The same member name appears twice in one JSON object.
    #[error("the {part} has a duplicate member {name}")]
    DuplicateMember {
        /// Which part of the input.
        part: Segment,
        /// The repeated name.
        name: Escaped,
    },
    /// JSON nested deeper than the configured limit.
    #[error("the {part} nests deeper than the limit of {limit}")]
    TooDeep {
        /// Which part of the input.
        part: Segment,
        /// The configured depth limit.
        limit: usize,
    },
    /// The JOSE header is missing a member or has one of the wrong type or value.
    #[error("header: {0}")]
    Header(String),
    /// A `crit` entry names an extension this crate does not understand.
    #[error("header crit names an unsupported extension {0}")]
    UnsupportedCritical(Escaped),
    /// A response signature header is missing.
    #[error("the response has no {0} header")]
    MissingHeader(Escaped),
    /// A response signature header appears more than once.
    #[error("the response has more than one {0} header")]
    DuplicateHeader(Escaped),
    /// A response signature header has a value that cannot be right.
    #[error("the {0} header has an invalid value")]
    BadHeaderValue(Escaped),
    /// The JWE uses a key-management or content-encryption algorithm that is refused.
    #[error("JWE: {0}")]
    Jwe(String),
    /// The verified payload did not deserialize into the requested type: the
    /// member path (escaped, cut short) and what the type expected, never
    /// the value found there.
    #[error("payload does not match the expected type: {0}")]
    PayloadType(String),
    /// A key encoding (PEM, DER, JWK, base64) could not be read.
    #[error("key: {0}")]
    Key(String),
}

/// Which part of a token an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Segment {
    /// The protected header.
    Header,
    /// The payload.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
        })
    }
}

/// Why a key was refused even though it could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejected {
    /// The RSA modulus is shorter than 2048 bits.
    #[error("the modulus is {bits} bits, at least 2048 are required")]
    TooSmall {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The modulus is longer than the backends accept (8192 bits).
    #[error("the modulus is {bits} bits, at most 8192 are supported")]
    TooLarge {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The public exponent is even, below 3, or above 2^33 - 1.
    #[error("the public exponent must be odd and between 3 and 2^33 - 1")]
    BadExponent,
    /// The key is of a type or on a curve the crate does not support.
    #[error("{0} keys are not supported (supported: RSA, EC P-256, EC P-384, EC P-521, Ed25519)")]
    UnsupportedKeyType(Escaped),
    /// The key's kind does not allow the algorithm it is bound to (an EC
    /// P-256 key for ES384, an RSA key for ES256, a JWK whose `crv` and
    /// `alg` disagree).
    #[error("{kind} keys cannot be used with {algorithm}")]
    WrongAlgorithm {
        /// What the key is.
        kind: crate::KeyKind,
        /// The algorithm it was bound to.
        algorithm: crate::Algorithm,
    },
    /// An EC public point that is not on its curve, is the point at
    /// infinity, is compressed or has coordinates of the wrong length; an
    /// Ed25519 public key of small order.
    #[error("the public key is not a valid point: {0}")]
    BadPoint(&'static str),
    /// The key's expiry (a key-exchange response's `ExpirationUtc`) has passed.
    #[error("the key has already expired; ask for a new key pair")]
    Expired,
    /// A symmetric (`kty: oct`) key: shared secrets are never accepted.
    #[error(
        "this is a symmetric (oct) key; only public and private keys are accepted, never a shared secret"
    )]
    Symmetric,
    /// The PEM or PKCS#8 key is encrypted.
    #[error("encrypted keys are not supported, decrypt with openssl first")]
    Encrypted,
    /// A public key was given where a private key is needed.
    #[error("a private key is required, this is a public key")]
    NotPrivate,
    /// The modulus comes from a generator weak to ROCA (CVE-2017-15361).
    #[error("the modulus has the ROCA fingerprint (CVE-2017-15361): its factors can be recovered")]
    RocaVulnerable,
    /// The key's declared purpose (`use`, `key_ops`) excludes this operation.
    #[error("the key is not meant for {0}")]
    WrongUse(&'static str),
    /// The backend in use cannot work with this key, though another might.
    #[error("{0}")]
    BackendLimit(&'static str),
    /// The backend refused the key material (inconsistent CRT values and such).
    #[error("the crypto backend refused the key material")]
    Inconsistent,
}

/// An attacker-influenced string made safe for messages: control and
/// non-ASCII characters escaped, cut to a short prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct Escaped(String);

impl Escaped {
    const MAX_CHARS: usize = 40;

    /// Escapes `raw` and keeps at most a short prefix of it.
    pub fn new(raw: &str) -> Self {
        let mut out = String::with_capacity(raw.len().min(Self::MAX_CHARS) + 8);
        for (count, c) in raw.chars().enumerate() {
            if count == Self::MAX_CHARS {
                out.push_str("...");
                break;
            }
            if c.is_ascii_graphic() || c == ' ' {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            } else {
                out.extend(c.escape_default());
            }
        }
        Escaped(out)
    }

    /// Escapes bytes that may not be UTF-8.
    pub fn from_bytes(raw: &[u8]) -> Self {
        Self::new(&String::from_utf8_lossy(
            &raw[..raw.len().min(4 * Self::MAX_CHARS)],
        ))
    }

    /// The escaped text, without surrounding quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Escaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

impl fmt::Debug for Escaped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Who must act on an [`Error`]: what [`Error::kind`] answers.
///
/// HTTP glue maps it to a status: [`ErrorKind::Rejected`] to 400, 401, 413
/// or 415 (by variant), [`ErrorKind::Config`] to 500 and
/// [`ErrorKind::Unavailable`] to 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input was refused: the token's or message's sender must fix it
    /// (sign again, with a registered key, fresh claims, well-formed input).
    Rejected,
    /// The caller's configuration or code is wrong (a key that cannot be
    /// used, a rule broken by a key-administration call, a signer without
    /// key id, a payload that does not serialize, a failing crypto backend).
    Config,
    /// A store, key endpoint or transport could not answer; the same input
    /// may succeed later. The cause is in [`std::error::Error::source`].
    Unavailable,
}

/// `e` and each of its causes, joined by ": ", skipping a cause its
/// parent's text already shows: a store's "error performing TLS handshake"
/// alone does not say that the certificate was the problem.
#[cfg(any(feature = "postgres", feature = "redis"))]
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let shown = c.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = c.source();
    }
    text
}

impl Error {
    /// Who must act on this error.
    ///
    /// ```
    /// use signed_payloads::{Error, ErrorKind};
    /// assert_eq!(Error::BadSignature.kind(), ErrorKind::Rejected);
    /// assert_eq!(Error::LastKey.kind(), ErrorKind::Config);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadSignature
            | Error::UnknownKeyId(_)
            | Error::KeyExpired(_)
            | Error::MissingKeyId
            | Error::UnsupportedAlgorithm(_)
            | Error::AlgorithmMismatch { .. }
            | Error::Claim(_)
            | Error::ContentType { .. }
            | Error::DecryptionFailed
            | Error::Replayed
            | Error::BeforeReplayHistory
            | Error::UnknownTenant(_)
            | Error::HttpSignature(_)
            | Error::TooLarge { .. } => ErrorKind::Rejected,
            // A key file that does not read is the caller's; every other
            // malformed input came from the sender.
            Error::Malformed(Malformed::Key(_)) => ErrorKind::Config,
            Error::Malformed(_) => ErrorKind::Rejected,
            Error::KeyLimit { .. }
            | Error::LastKey
            | Error::DuplicateKeyId(_)
            | Error::KeyIdReused(_)
            | Error::NoSigningKey
            | Error::Config(_)
            | Error::Serialization(_)
            | Error::KeyRejected(_)
            | Error::Backend(_) => ErrorKind::Config,
            Error::Unavailable { .. } | Error::Transport(_) => ErrorKind::Unavailable,
        }
    }

    pub(crate) fn key(detail: impl Into<String>) -> Self {
        Error::Malformed(Malformed::Key(detail.into()))
    }

    pub(crate) fn header(detail: impl Into<String>) -> Self {
        Error::Malformed(Malformed::Header(detail.into()))
    }

    /// Wraps an error from a user-supplied [`Signer`](crate::Signer) or
    /// [`Verifier`](crate::Verifier) backend (an HSM or KMS client, say).
    pub fn backend(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error::Backend(source.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_cuts_and_escapes() {
        let long = "a".repeat(500);
        let e = Escaped::new(&long);
        assert!(e.as_str().len() < 50, "{e}");
        assert!(e.as_str().ends_with("..."));
        let e = Escaped::new("k\0id\n\"x\u{202e}");
        assert_eq!(e.as_str(), "k\\u{0}id\\n\\\"x\\u{202e}");
    }

    #[test]
    fn messages_are_lowercase_without_period() {
        let errors = [
            Error::BadSignature,
            Error::UnknownKeyId(Escaped::new("k")),
            Error::MissingKeyId,
            Error::UnsupportedAlgorithm(Escaped::new("none")),
            Error::Malformed(Malformed::LooksLikeJwe),
            Error::KeyRejected(KeyRejected::Encrypted),
            Error::TooLarge {
                what: "token",
                actual: 2,
                limit: 1,
            },
        ];
        for e in errors {
            let m = e.to_string();
            assert!(m.chars().next().unwrap().is_lowercase(), "{m}");
            assert!(!m.ends_with('.'), "{m}");
        }
    }
}
