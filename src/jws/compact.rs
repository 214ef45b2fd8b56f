//! The compact serialization: `BASE64URL(header).payload.BASE64URL(signature)`.

use std::sync::Arc;

use crate::error::{Error, Malformed, Segment};
use crate::{AsyncSigner, Header, Limits, Signer, Verified, Verifier, base64url};

/// A compact JWS split and decoded, but not yet verified.
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header,
    /// `header.payload` exactly as sent: what the signature covers.
    pub(crate) signing_input: &'a [u8],
    header_segment: &'a [u8],
    pub(crate) payload_segment: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

/// Splits and decodes `token`, enforcing `limits` before each step.
pub(crate) fn parse<'a>(token: &'a str, limits: &Limits) -> Result<Parsed<'a>, Error> {
    parse_understanding(token, limits, &[])
}

/// As [`parse`], also accepting the extension members `understood` in
/// `crit`: a profile that checks them itself.
pub(crate) fn parse_understanding<'a>(
    token: &'a str,
    limits: &Limits,
    understood: &[&str],
) -> Result<Parsed<'a>, Error> {
    let bytes = token.as_bytes();
    limits.check_size("token", bytes.len())?;
    if bytes.first() == Some(&b'{') {
        return Err(Malformed::JsonSerialization.into());
    }
    // memchr finds the dots with SIMD; counting stops at six segments.
    let mut dots = [0usize; 2];
    let mut count = 0;
    for i in memchr::memchr_iter(b'.', bytes).take(5) {
        if count < 2 {
            dots[count] = i;
        }
        count += 1;
    }
    match count + 1 {
        3 => {}
        5 => return Err(Malformed::LooksLikeJwe.into()),
        found => return Err(Malformed::SegmentCount { found }.into()),
    }
    let header_segment = &bytes[..dots[0]];
    let payload_segment = &bytes[dots[0] + 1..dots[1]];
    let signature_segment = &bytes[dots[1] + 1..];
    limits.check_header_segment(header_segment)?;
    if signature_segment.is_empty() {
        return Err(Malformed::EmptySegment(Segment::Signature).into());
    }
    let header_json =
        base64url::decode(header_segment).ok_or(Malformed::Base64(Segment::Header))?;
    let header =
        Header::from_json_understanding(&header_json, limits.max_json_depth(), understood)?;
    let signature =
        base64url::decode(signature_segment).ok_or(Malformed::Base64(Segment::Signature))?;
    Ok(Parsed {
        header,
        signing_input: &bytes[..dots[1]],
        header_segment,
        payload_segment,
        signature,
    })
}

impl Parsed<'_> {
    /// Checks the algorithm binding and the signature with `verifier`.
    ///
    /// With `detached` set, the payload segment must be empty and the
    /// signature is checked over the given payload instead.
    pub(crate) fn check(
        &self,
        verifier: &dyn Verifier,
        detached: Option<&[u8]>,
    ) -> Result<(), Error> {
        if self.header.alg != verifier.algorithm() {
            return Err(Error::AlgorithmMismatch {
                token: self.header.alg,
                key: verifier.algorithm(),
            });
        }
        match detached {
            None => verifier.verify(self.signing_input, &self.signature),
            Some(payload) => {
                if !self.payload_segment.is_empty() {
                    return Err(Malformed::PayloadNotDetached.into());
                }
                let input = signing_input(self.header_segment, payload, self.header.is_unencoded());
                verifier.verify(&input, &self.signature)
            }
        }
    }

    /// The `kid` the header names, unvouched until the signature is checked.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// Decodes the payload of a token whose signature was checked.
    pub(crate) fn into_verified(
        self,
        detached: Option<&[u8]>,
        key_id: Option<Arc<str>>,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let payload = match detached {
            Some(payload) => payload.to_vec(),
            None if self.header.is_unencoded() => self.payload_segment.to_vec(),
            None => base64url::decode(self.payload_segment)
                .ok_or(Malformed::Base64(Segment::Payload))?,
        };
        Ok(Verified::new(payload, Some(self.header), key_id).with_signature(self.signature))
    }

    /// Checks with a bare `verifier`, then decodes. A bare verifier has no
    /// key id: the proof names none (the header's `kid` is unvouched).
    fn verify(
        self,
        verifier: &dyn Verifier,
        detached: Option<&[u8]>,
    ) -> Result<Verified<Vec<u8>>, Error> {
        self.check(verifier, detached)?;
        self.into_verified(detached, None)
    }
}

fn signing_input(header_segment: &[u8], payload: &[u8], unencoded: bool) -> Vec<u8> {
    let mut input = Vec::with_capacity(header_segment.len() + 1 + payload.len() * 4 / 3 + 4);
    input.extend_from_slice(header_segment);
    input.push(b'.');
    if unencoded {
        input.extend_from_slice(payload);
    } else {
        let mut encoded = String::new();
        base64url::encode_into(payload, &mut encoded);
        input.extend_from_slice(encoded.as_bytes());
    }
    input
}

/// Verifies a compact JWS with `verifier` and returns its payload bytes.
///
/// The token's `alg` must equal the verifier's algorithm. The size limits
/// are checked before any decoding, and the signature before the payload is
/// decoded.
///
/// # Errors
///
/// [`Error::TooLarge`], [`Error::Malformed`], [`Error::UnsupportedAlgorithm`],
/// [`Error::AlgorithmMismatch`] or [`Error::BadSignature`].
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{jws, Algorithm, Limits, PublicKey, KeyVerifier};
/// let token = include_str!("../../tests/data/rfc7515/A2.compact.txt").trim();
/// let key = PublicKey::from_pem(include_str!("../../tests/data/rfc7515/A2.rsa_public_spki.pem"))?;
/// let verified = jws::verify(token, &KeyVerifier::new(key, Algorithm::RS256)?, &Limits::default())?;
/// assert!(verified.payload().starts_with(b"{\"iss\":\"joe\""));
/// # Ok(()) }
/// ```
pub fn verify(
    token: &str,
    verifier: &dyn Verifier,
    limits: &Limits,
) -> Result<Verified<Vec<u8>>, Error> {
    parse(token, limits)?.verify(verifier, None)
}

/// Verifies a JWS with a detached payload (RFC 7515 Appendix F): the token's
/// payload segment is empty and `payload` is supplied separately.
///
/// # Errors
///
/// As for [`verify`], and [`Malformed::PayloadNotDetached`] if the token carries a payload.
pub fn verify_detached(
    token: &str,
    payload: &[u8],
    verifier: &dyn Verifier,
    limits: &Limits,
) -> Result<Verified<Vec<u8>>, Error> {
    parse(token, limits)?.verify(verifier, Some(payload))
}

/// Signs `payload` under `header` and returns the compact JWS.
///
/// `header.alg` must equal the signer's algorithm ([`Header::for_signer`]
/// builds a matching header). With `b64: false` the payload is sent as is
/// and must be UTF-8 without `.`.
///
/// # Errors
///
/// [`Error::Config`] when the header's `alg` is not the signer's,
/// [`Error::Malformed`] for an unencodable payload, or the signer's error.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{jws, Algorithm, Header, PrivateKey, KeySigner};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs8.pem"))?;
/// let signer = KeySigner::new(key, Algorithm::PS384)?.with_key_id("k1");
/// let token = jws::sign(&Header::for_signer(&signer), br#"{"hello":"world"}"#, &signer)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok(()) }
/// ```
pub fn sign(header: &Header, payload: &[u8], signer: &dyn Signer) -> Result<String, Error> {
    let header_json = header.to_json()?;
    sign_raw(header, &header_json, payload, signer, false)
}

/// Signs with a detached payload: the returned token has an empty payload
/// segment and the recipient supplies `payload` to [`verify_detached`].
///
/// # Errors
///
/// As for [`sign`].
pub fn sign_detached(
    header: &Header,
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, Error> {
    let header_json = header.to_json()?;
    sign_raw(header, &header_json, payload, signer, true)
}

/// As [`sign_detached`], with a signer that answers asynchronously.
pub(crate) async fn sign_detached_async<S: AsyncSigner + ?Sized>(
    header: &Header,
    payload: &[u8],
    signer: &S,
) -> Result<String, Error> {
    let header_json = header.to_json()?;
    let pending = Pending::new(header, &header_json, payload, signer.algorithm(), true)?;
    let signature = signer.sign_async(pending.signing_input()).await?;
    Ok(pending.finish(&signature))
}

/// Signs with exactly the given header octets (for interoperability tests
/// and peers that compare headers byte for byte). The octets are parsed and
/// checked as strictly as on verification.
///
/// # Errors
///
/// As for [`sign`], and [`Error::Malformed`] for a header that would not verify.
pub fn sign_with_raw_header(
    header_json: &[u8],
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, Error> {
    let header = Header::from_json(header_json, Limits::MAX_JSON_DEPTH_CEILING)?;
    sign_raw(&header, header_json, payload, signer, false)
}

/// Signs with these exact header octets (already serialized from `header`).
pub(crate) fn sign_with_header_json(
    header: &Header,
    header_json: &[u8],
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, Error> {
    sign_raw(header, header_json, payload, signer, false)
}

/// As [`sign_with_header_json`], with a signer that answers asynchronously.
pub(crate) async fn sign_with_header_json_async<S: AsyncSigner + ?Sized>(
    header: &Header,
    header_json: &[u8],
    payload: &[u8],
    signer: &S,
) -> Result<String, Error> {
    let pending = Pending::new(header, header_json, payload, signer.algorithm(), false)?;
    let signature = signer.sign_async(pending.signing_input()).await?;
    Ok(pending.finish(&signature))
}

fn sign_raw(
    header: &Header,
    header_json: &[u8],
    payload: &[u8],
    signer: &dyn Signer,
    detached: bool,
) -> Result<String, Error> {
    let pending = Pending::new(header, header_json, payload, signer.algorithm(), detached)?;
    let signature = signer.sign(pending.signing_input())?;
    Ok(pending.finish(&signature))
}

/// Signs `payload` under `header` with a signer that answers asynchronously
/// (a KMS or HSM behind a network call).
///
/// # Errors
///
/// As for [`sign`].
pub async fn sign_async<S: AsyncSigner + ?Sized>(
    header: &Header,
    payload: &[u8],
    signer: &S,
) -> Result<String, Error> {
    let header_json = header.to_json()?;
    sign_with_header_json_async(header, &header_json, payload, signer).await
}

/// A compact JWS waiting for its signature.
struct Pending {
    /// `header.payload.` (or `header..` when detached), without the signature.
    token: String,
    /// The signing input when it differs from the token (detached payloads).
    detached_input: Option<Vec<u8>>,
}

impl Pending {
    fn new(
        header: &Header,
        header_json: &[u8],
        payload: &[u8],
        signer_alg: crate::Algorithm,
        detached: bool,
    ) -> Result<Self, Error> {
        if header.alg != signer_alg {
            return Err(Error::Config(format!(
                "the header says alg {} but the signer signs {signer_alg}",
                header.alg
            )));
        }
        let unencoded = header.is_unencoded();
        if unencoded
            && !detached
            && (payload.contains(&b'.') || std::str::from_utf8(payload).is_err())
        {
            return Err(Malformed::UnencodedPayloadHasDot.into());
        }
        let mut token =
            String::with_capacity(header_json.len() * 4 / 3 + payload.len() * 4 / 3 + 360);
        base64url::encode_into(header_json, &mut token);
        let header_end = token.len();
        token.push('.');
        if unencoded {
            // Checked above to be UTF-8 when it goes into the token.
            token.push_str(&String::from_utf8_lossy(payload));
        } else {
            base64url::encode_into(payload, &mut token);
        }
        let detached_input = detached.then(|| {
            let input = signing_input(&token.as_bytes()[..header_end], payload, unencoded);
            token.truncate(header_end + 1);
            input
        });
        Ok(Pending {
            token,
            detached_input,
        })
    }

    fn signing_input(&self) -> &[u8] {
        match &self.detached_input {
            Some(input) => input,
            // Before the signature is appended, the token is the signing input.
            None => self.token.as_bytes(),
        }
    }

    fn finish(mut self, signature: &[u8]) -> String {
        self.token.push('.');
        base64url::encode_into(signature, &mut self.token);
        self.token
    }
}

/// True for a compact JWE: five base64url segments, the first a JSON
/// header with `enc`. Counting dots alone would take a JSON body such as
/// `{"ip":"1.2.3.4","v":"x.y"}` for a JWE. The one sniffer every caller uses.
pub(crate) fn is_compact_jwe(token: &[u8]) -> bool {
    let base64url = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.';
    if memchr::memchr_iter(b'.', token).count() != 4 || !token.iter().all(base64url) {
        return false;
    }
    let header = token.split(|&b| b == b'.').next().unwrap_or_default();
    base64url::decode(header)
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("enc"))
}
