//! `Content-Digest` (RFC 9530): `sha-256` and `sha-512` of the body as
//! sent, written by the signer and recomputed by the verifier.

use sfv::ListEntry;

use super::base::dictionary;
use super::refused;
use crate::backend::active as backend;
use crate::base64url;
use crate::error::{Error, Escaped};

/// A digest algorithm of RFC 9530's registry that this crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `sha-256`.
    Sha256,
    /// `sha-512`.
    Sha512,
}

impl DigestAlgorithm {
    /// The registry's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha-256",
            DigestAlgorithm::Sha512 => "sha-512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha-256" => Some(DigestAlgorithm::Sha256),
            "sha-512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }

    fn digest(self, body: &[u8]) -> Vec<u8> {
        backend::sha2(
            match self {
                DigestAlgorithm::Sha256 => 256,
                DigestAlgorithm::Sha512 => 512,
            },
            body,
        )
    }
}

/// The `Content-Digest` field value of `body`: `sha-512=:BASE64:`. The body
/// is read in place, once.
///
/// ```
/// use signed_payloads::httpsig::{content_digest, DigestAlgorithm};
/// assert_eq!(
///     content_digest(b"{\"hello\": \"world\"}", DigestAlgorithm::Sha256),
///     "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
/// );
/// ```
pub fn content_digest(body: &[u8], algorithm: DigestAlgorithm) -> String {
    format!(
        "{}=:{}:",
        algorithm.as_str(),
        base64url::encode_standard(&algorithm.digest(body))
    )
}

/// Recomputes every digest of a known algorithm in `field` over `body`:
/// each must match, and at least one must be known.
pub(super) fn check(field: &str, body: &[u8]) -> Result<(), Error> {
    let members = dictionary(field, "Content-Digest")?;
    let mut known = 0;
    for (name, member) in &members {
        let Some(algorithm) = DigestAlgorithm::from_name(name.as_str()) else {
            continue;
        };
        let ListEntry::Item(item) = member else {
            return Err(refused(format!(
                "the {} digest is not a byte sequence",
                algorithm.as_str()
            )));
        };
        let claimed = item.bare_item.as_byte_sequence().ok_or_else(|| {
            refused(format!(
                "the {} digest is not a byte sequence",
                algorithm.as_str()
            ))
        })?;
        if claimed != algorithm.digest(body).as_slice() {
            return Err(refused(format!(
                "the body does not match its {} Content-Digest",
                algorithm.as_str()
            )));
        }
        known += 1;
    }
    if known == 0 {
        let names: Vec<String> = members
            .keys()
            .map(|k| Escaped::new(k.as_str()).to_string())
            .collect();
        return Err(refused(format!(
            "Content-Digest has no algorithm this verifier computes (sha-256, sha-512), only {}",
            names.join(", ")
        )));
    }
    Ok(())
}
