//! `Content-Digest` (RFC 9530): `sha-256` and `sha-512` of the body as
//! sent, written by the signer and recomputed by the verifier.

use std::fmt;

use super::base::{Member, byte_members};
use super::message::HttpMessage;
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

    fn bits(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 256,
            DigestAlgorithm::Sha512 => 512,
        }
    }

    fn digest(self, body: &[u8]) -> Vec<u8> {
        backend::sha2(self.bits(), body)
    }
}

/// Digests of a body fed to it in pieces as it streams (to disk, to
/// another service): it keeps only the hash states, never the body, so a
/// 10 MiB upload is hashed once with no copy. Give the result to
/// [`HttpMessage::with_body_digest`] and verify (or sign) with no body.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::httpsig::{content_digest, BodyDigester, DigestAlgorithm, HttpMessage};
/// let message = HttpMessage::request("POST", "https://api.example/upload")?
///     .with_header("Content-Digest", &content_digest(b"hello world", DigestAlgorithm::Sha512));
/// let mut digester = BodyDigester::for_message(&message);
/// for chunk in [&b"hello "[..], &b"world"[..]] {
///     digester.update(chunk);
/// }
/// let message = message.with_body_digest(digester.finish());
/// # let _ = message;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BodyDigester {
    streams: Vec<(DigestAlgorithm, backend::Sha2Stream)>,
}

impl fmt::Debug for BodyDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithms: Vec<&str> = self.streams.iter().map(|(a, _)| a.as_str()).collect();
        f.debug_struct("BodyDigester")
            .field("algorithms", &algorithms)
            .finish()
    }
}

impl BodyDigester {
    /// Computes `algorithms` (for signing a streamed body).
    pub fn new(algorithms: &[DigestAlgorithm]) -> Self {
        BodyDigester {
            streams: algorithms
                .iter()
                .map(|&a| (a, backend::Sha2Stream::new(a.bits())))
                .collect(),
        }
    }

    /// Computes the algorithms `message`'s `Content-Digest` names that this
    /// crate knows (for verifying a streamed body); none when it has no
    /// such field or names only others, which verifying then refuses.
    pub fn for_message(message: &HttpMessage) -> Self {
        let field = message.single_field("content-digest").ok().flatten();
        let named: Vec<DigestAlgorithm> = field
            .as_deref()
            .and_then(|field| byte_members(field, "Content-Digest", |_| false).ok())
            .map(|members| {
                members
                    .iter()
                    .filter_map(|(name, _)| DigestAlgorithm::from_name(name))
                    .collect()
            })
            .unwrap_or_default();
        Self::new(&named)
    }

    /// Feeds the next piece of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        for (_, stream) in &mut self.streams {
            stream.update(chunk);
        }
    }

    /// The digests of everything fed.
    pub fn finish(self) -> BodyDigest {
        BodyDigest {
            digests: self
                .streams
                .into_iter()
                .map(|(algorithm, stream)| (algorithm, stream.finish()))
                .collect(),
        }
    }
}

/// The digests a [`BodyDigester`] computed over a streamed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDigest {
    digests: Vec<(DigestAlgorithm, Vec<u8>)>,
}

impl BodyDigest {
    /// The digest under `algorithm`, if it was computed.
    pub fn get(&self, algorithm: DigestAlgorithm) -> Option<&[u8]> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, d)| d.as_slice())
    }
}

/// What a `Content-Digest` is checked against: the body's bytes, or the
/// digests computed as it streamed.
#[derive(Clone, Copy)]
pub(super) enum Body<'a> {
    Bytes(&'a [u8]),
    Streamed(&'a BodyDigest),
}

impl<'a> Body<'a> {
    /// The body given, else the digests `message` carries from streaming
    /// it; none when there is neither.
    pub(super) fn of(body: Option<&'a [u8]>, message: &'a HttpMessage) -> Option<Self> {
        match (body, &message.body_digest) {
            (Some(body), _) => Some(Body::Bytes(body)),
            (None, Some(streamed)) => Some(Body::Streamed(streamed)),
            (None, None) => None,
        }
    }

    fn digest(self, algorithm: DigestAlgorithm) -> Result<Vec<u8>, Error> {
        match self {
            Body::Bytes(body) => Ok(algorithm.digest(body)),
            Body::Streamed(digests) => digests.get(algorithm).map(<[u8]>::to_vec).ok_or_else(|| {
                refused(format!(
                    "the streamed body's {} digest was not computed (make the BodyDigester with for_message)",
                    algorithm.as_str()
                ))
            }),
        }
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
    field(algorithm, &algorithm.digest(body))
}

fn field(algorithm: DigestAlgorithm, digest: &[u8]) -> String {
    format!(
        "{}=:{}:",
        algorithm.as_str(),
        base64url::encode_standard(digest)
    )
}

/// The `Content-Digest` field value of `body` under `algorithm`.
pub(super) fn field_of(body: Body<'_>, algorithm: DigestAlgorithm) -> Result<String, Error> {
    Ok(field(algorithm, &body.digest(algorithm)?))
}

/// Recomputes every digest of a known algorithm in `field` over `body`:
/// each must match, and at least one must be known.
pub(super) fn check(field: &str, body: Body<'_>) -> Result<(), Error> {
    let members = byte_members(field, "Content-Digest", |name| {
        DigestAlgorithm::from_name(name).is_some()
    })?;
    let mut known = 0;
    for (name, member) in &members {
        let Some(algorithm) = DigestAlgorithm::from_name(name) else {
            continue;
        };
        let Member::Bytes(claimed) = member else {
            return Err(refused(format!(
                "the {} digest is not a byte sequence",
                algorithm.as_str()
            )));
        };
        if *claimed != body.digest(algorithm)? {
            return Err(refused(format!(
                "the body does not match its {} Content-Digest",
                algorithm.as_str()
            )));
        }
        known += 1;
    }
    if known == 0 {
        let names: Vec<String> = members
            .iter()
            .map(|(name, _)| Escaped::new(name).to_string())
            .collect();
        return Err(refused(format!(
            "Content-Digest has no algorithm this verifier computes (sha-256, sha-512), only {}",
            names.join(", ")
        )));
    }
    Ok(())
}
