//! HTTP Message Signatures (RFC 9421) with Content-Digest (RFC 9530),
//! feature `httpsig`, on the crate's keys.
//!
//! The signature base is rebuilt from the message as §2.5 says: derived
//! components `@method`, `@target-uri`, `@authority`, `@scheme`,
//! `@request-target`, `@path`, `@query`, `@query-param` (§2.2.8's decoding
//! and re-encoding) and `@status`; header fields lowercased, each line
//! trimmed, lines joined with `", "`, with the `sf`, `key`, `bs` and `req`
//! parameters (`tr` is refused); `@signature-params` exactly as received.
//! The algorithm is the key's, never the message's: an `alg` parameter that
//! disagrees is refused. Limits (8 KiB per field, 16 signatures, 64
//! components) apply before parsing.
//!
//! `hmac-sha256` takes a [`SharedSecret`], a key type of its own that no
//! public-key API accepts.
//!
//! What a signature must meet besides verifying (which signature, required
//! components, the `created` window) is an [`HttpSigPolicy`]; an
//! [`HttpSigVerifier`] applies one with keys chosen by `keyid` from any key
//! source (sync or async) and a replay store for nonces, and [`verify`] /
//! [`verify_hmac`] apply one with the single key the caller holds.
//!
//! The FAPI 2.0 Http Signatures preset (draft §5.3) is
//! [`HttpSigSigner::fapi_request`] / [`HttpSigPolicy::fapi_request`] and
//! their `fapi_response` twins.
//!
//! ```
//! # fn main() -> Result<(), signed_payloads::Error> {
//! use signed_payloads::httpsig::{self, HttpMessage, HttpSigPolicy};
//! use signed_payloads::{Algorithm, KeyVerifier, PublicKey};
//! let key = PublicKey::from_pem(include_str!("../tests/data/rfc9421/test-key-ed25519.pub.pem"))?;
//! let request = HttpMessage::request("POST", "https://example.com/foo?param=Value&Pet=dog")?
//!     .with_header("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
//!     .with_header("Content-Type", "application/json")
//!     .with_header("Content-Length", "18")
//!     .with_header("Signature-Input", r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#)
//!     .with_header("Signature", "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:");
//! let verifier = KeyVerifier::new(key, Algorithm::EdDSA)?;
//! let covered = httpsig::verify(&request, None, None, &HttpSigPolicy::new(), &verifier)?;
//! assert_eq!(covered.keyid.as_deref(), Some("test-key-ed25519"));
//! # Ok(()) }
//! ```

mod base;
mod digest;
mod fapi;
mod input;
mod message;
mod policy;
mod secret;
mod signer;
mod verifier;

#[cfg(feature = "reqwest")]
pub use crate::reqwest::VerifiedResponse;
pub use digest::{BodyDigest, BodyDigester, DigestAlgorithm, content_digest};
pub use fapi::{REQUEST_TAG as FAPI_REQUEST_TAG, RESPONSE_TAG as FAPI_RESPONSE_TAG};
pub use message::HttpMessage;
pub use policy::HttpSigPolicy;
pub use secret::SharedSecret;
pub use signer::HttpSigSigner;
pub use verifier::{Covered, CoveredFuture, HttpSigVerifier, MessageVerifier, verify, verify_hmac};

use crate::Algorithm;
use crate::error::Error;

/// Header fields over this size are refused before they are parsed.
const MAX_FIELD_BYTES: usize = 8 * 1024;
/// The most components one signature may cover.
const MAX_COMPONENTS: usize = 64;
/// The most signatures one message may carry.
const MAX_SIGNATURES: usize = 16;

/// The RFC 9421 name of an algorithm (§3.3), or its JWS name where RFC
/// 9421 has none (§3.3.7): PS256, RS384 and the others. The inverse of
/// [`algorithm_from_name`].
pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::PS512 => "rsa-pss-sha512",
        Algorithm::RS256 => "rsa-v1_5-sha256",
        Algorithm::ES256 => "ecdsa-p256-sha256",
        Algorithm::ES384 => "ecdsa-p384-sha384",
        Algorithm::EdDSA | Algorithm::Ed25519 => "ed25519",
        other => other.as_str(),
    }
}

/// The algorithm an RFC 9421 name (§3.3) stands for, or a JWS name
/// (§3.3.7) such as `PS256`; `None` for `hmac-sha256` (a
/// [`SharedSecret`]'s) and names of neither kind.
pub fn algorithm_from_name(name: &str) -> Option<Algorithm> {
    match name {
        "rsa-pss-sha512" => Some(Algorithm::PS512),
        "rsa-v1_5-sha256" => Some(Algorithm::RS256),
        "ecdsa-p256-sha256" => Some(Algorithm::ES256),
        "ecdsa-p384-sha384" => Some(Algorithm::ES384),
        "ed25519" => Some(Algorithm::EdDSA),
        other => Algorithm::from_name(other).ok(),
    }
}

fn refused(message: impl Into<String>) -> Error {
    Error::HttpSignature(message.into())
}
