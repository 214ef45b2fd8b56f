//! The RSA structures a key file can hold (PKCS#1, PKCS#8,
//! SubjectPublicKeyInfo, X.509), read with RustCrypto's format crates
//! (`der`, `pkcs1`, `pkcs8`, `spki`; parsing only, no cryptography): strict
//! DER (definite, minimally encoded lengths, minimal non-negative integers,
//! no trailing bytes). The few structures the crate writes are written here
//! from the key's own integers.

use der::asn1::{AnyRef, ObjectIdentifier, UintRef};
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::error::{Error, Escaped, KeyRejected};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;

/// `AlgorithmIdentifier { rsaEncryption, NULL }`, as SPKI and PKCS#8 carry it.
#[rustfmt::skip]
const RSA_ALGORITHM_IDENTIFIER: [u8; 15] = [
    TAG_SEQUENCE, 13, 0x06, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0,
];

fn bad(e: impl std::fmt::Display) -> Error {
    Error::key(format!("invalid DER: {e}"))
}

/// The public half of an RSA key, as unsigned big-endian integers.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct RsaPublicParts {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
}

/// All CRT components of a two-prime RSA private key.
pub(crate) struct RsaPrivateParts<'a> {
    pub(crate) n: &'a [u8],
    pub(crate) e: &'a [u8],
    pub(crate) d: &'a [u8],
    pub(crate) p: &'a [u8],
    pub(crate) q: &'a [u8],
    pub(crate) dp: &'a [u8],
    pub(crate) dq: &'a [u8],
    pub(crate) qi: &'a [u8],
}

/// Reads a PKCS#1 `RSAPublicKey`.
pub(crate) fn parse_pkcs1_public(der: &[u8]) -> Result<RsaPublicParts, Error> {
    let key = pkcs1::RsaPublicKey::from_der(der).map_err(bad)?;
    Ok(RsaPublicParts {
        n: key.modulus.as_bytes().to_vec(),
        e: key.public_exponent.as_bytes().to_vec(),
    })
}

/// Reads a PKCS#1 `RSAPrivateKey` (two primes only) and returns its parts.
pub(crate) fn parse_pkcs1_private(der: &[u8]) -> Result<RsaPrivateParts<'_>, Error> {
    let key = pkcs1::RsaPrivateKey::from_der(der).map_err(|e| {
        if version_of(der) == Some(1) {
            Error::key("multi-prime RSA private keys are not supported")
        } else {
            bad(e)
        }
    })?;
    if key.other_prime_infos.is_some() {
        return Err(Error::key("multi-prime RSA private keys are not supported"));
    }
    Ok(RsaPrivateParts {
        n: key.modulus.as_bytes(),
        e: key.public_exponent.as_bytes(),
        d: key.private_exponent.as_bytes(),
        p: key.prime1.as_bytes(),
        q: key.prime2.as_bytes(),
        dp: key.exponent1.as_bytes(),
        dq: key.exponent2.as_bytes(),
        qi: key.coefficient.as_bytes(),
    })
}

/// The version number a `RSAPrivateKey` or `PrivateKeyInfo` starts with.
fn version_of(der: &[u8]) -> Option<u8> {
    let mut outer = SliceReader::new(der).ok()?;
    let seq: AnyRef<'_> = outer.decode().ok()?;
    let mut inner = SliceReader::new(seq.value()).ok()?;
    let version: UintRef<'_> = inner.decode().ok()?;
    match version.as_bytes() {
        [v] => Some(*v),
        _ => None,
    }
}

/// Checks that an `AlgorithmIdentifier` names rsaEncryption (parameters
/// NULL, or absent as seen in the wild), and says what it is otherwise.
fn expect_rsa_algorithm(alg: &AlgorithmIdentifierRef<'_>) -> Result<(), Error> {
    let name = match alg.oid {
        RSA_ENCRYPTION => {
            return match alg.parameters {
                None => Ok(()),
                Some(params) if params == AnyRef::NULL => Ok(()),
                Some(_) => Err(bad("rsaEncryption parameters are not NULL")),
            };
        }
        RSASSA_PSS => "RSASSA-PSS-restricted RSA (id-RSASSA-PSS)",
        EC_PUBLIC_KEY => "EC",
        ED25519 => "Ed25519",
        _ => "an unknown key type",
    };
    Err(KeyRejected::NotRsa(Escaped::new(name)).into())
}

/// True when `der` has the shape of an `EncryptedPrivateKeyInfo`: a
/// SEQUENCE of an `AlgorithmIdentifier` and an OCTET STRING.
fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    let Ok(seq) = AnyRef::from_der(der) else {
        return false;
    };
    let Ok(mut items) = SliceReader::new(seq.value()) else {
        return false;
    };
    matches!(
        (items.decode::<AnyRef<'_>>(), items.decode::<AnyRef<'_>>()),
        (Ok(alg), Ok(data)) if seq.tag() == Tag::Sequence
            && alg.tag() == Tag::Sequence
            && data.tag() == Tag::OctetString
    )
}

/// Unwraps a PKCS#8 `PrivateKeyInfo` (v1 or v2) to its PKCS#1 `RSAPrivateKey`.
pub(crate) fn unwrap_pkcs8(der: &[u8]) -> Result<&[u8], Error> {
    if is_encrypted_pkcs8(der) {
        return Err(KeyRejected::Encrypted.into());
    }
    let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(bad)?;
    expect_rsa_algorithm(&info.algorithm)?;
    Ok(info.private_key)
}

/// Unwraps a `SubjectPublicKeyInfo` to its PKCS#1 `RSAPublicKey`.
pub(crate) fn unwrap_spki(der: &[u8]) -> Result<&[u8], Error> {
    spki_contents(SubjectPublicKeyInfoRef::from_der(der).map_err(bad)?)
}

fn spki_contents(spki: SubjectPublicKeyInfoRef<'_>) -> Result<&[u8], Error> {
    expect_rsa_algorithm(&spki.algorithm)?;
    spki.subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("public key BIT STRING has unused bits"))
}

/// Finds the `SubjectPublicKeyInfo` in an X.509 certificate and unwraps it.
///
/// The certificate is not validated (no chain, dates or signature): it is only
/// a container for the public key, as a key-exchange portal might hand out.
/// So only its outline is read: `TBSCertificate`'s optional version, serial
/// number, signature algorithm, issuer, validity and subject are passed over
/// as strict DER elements, whatever they hold.
pub(crate) fn unwrap_certificate(der: &[u8]) -> Result<&[u8], Error> {
    let certificate = AnyRef::from_der(der).map_err(bad)?;
    if certificate.tag() != Tag::Sequence {
        return Err(bad("a certificate is a SEQUENCE"));
    }
    let mut parts = SliceReader::new(certificate.value()).map_err(bad)?;
    let tbs: AnyRef<'_> = parts.decode().map_err(bad)?;
    let mut fields = SliceReader::new(tbs.value()).map_err(bad)?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if fields.peek_tag().map_err(bad)? == version {
        fields.decode::<AnyRef<'_>>().map_err(bad)?;
    }
    let serial: AnyRef<'_> = fields.decode().map_err(bad)?;
    if serial.tag() != Tag::Integer {
        return Err(bad("a certificate's serial number is an INTEGER"));
    }
    for _ in ["signature", "issuer", "validity", "subject"] {
        fields.decode::<AnyRef<'_>>().map_err(bad)?;
    }
    let spki = fields.tlv_bytes().map_err(bad)?;
    spki_contents(SubjectPublicKeyInfoRef::from_der(spki).map_err(bad)?)
}

/// What a DER blob looks like, judged from its first elements.
pub(crate) enum DerKind {
    Pkcs1Private,
    Pkcs8Private,
    Pkcs1Public,
    Spki,
    Certificate,
}

/// Guesses which structure a DER blob holds, so that `from_der` can accept
/// any; the structure's own reader then judges it whole.
pub(crate) fn sniff(der: &[u8]) -> Result<DerKind, Error> {
    let unknown = || bad("not a known key structure");
    let mut outer = SliceReader::new(der).map_err(bad)?;
    let seq: AnyRef<'_> = outer.decode().map_err(bad)?;
    if seq.tag() != Tag::Sequence {
        return Err(unknown());
    }
    let mut items = SliceReader::new(seq.value()).map_err(bad)?;
    let first: AnyRef<'_> = items.decode().map_err(bad)?;
    match first.tag() {
        Tag::Integer => match items.decode::<AnyRef<'_>>().map_err(bad)?.tag() {
            Tag::Sequence => Ok(DerKind::Pkcs8Private),
            Tag::Integer if items.is_finished() => Ok(DerKind::Pkcs1Public),
            Tag::Integer => Ok(DerKind::Pkcs1Private),
            _ => Err(unknown()),
        },
        Tag::Sequence => {
            let inner = SliceReader::new(first.value()).map_err(bad)?;
            if inner.is_finished() || inner.peek_tag().map_err(bad)? != Tag::ObjectIdentifier {
                return Ok(DerKind::Certificate);
            }
            match items.peek_tag().map_err(bad)? {
                Tag::BitString => Ok(DerKind::Spki),
                Tag::OctetString => Err(KeyRejected::Encrypted.into()),
                _ => Err(unknown()),
            }
        }
        _ => Err(unknown()),
    }
}

/// Appends a DER tag and length.
fn write_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn integer_len(value: &[u8]) -> usize {
    let value = strip_zeros(value);
    let body = value.len().max(1) + usize::from(value.first().is_some_and(|b| b & 0x80 != 0));
    1 + length_len(body) + body
}

fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

fn strip_zeros(value: &[u8]) -> &[u8] {
    let skip = value.iter().take_while(|&&b| b == 0).count();
    &value[skip..]
}

fn write_integer(out: &mut Vec<u8>, value: &[u8]) {
    let value = strip_zeros(value);
    let pad = value.first().is_some_and(|b| b & 0x80 != 0);
    write_header(out, TAG_INTEGER, value.len().max(1) + usize::from(pad));
    if pad || value.is_empty() {
        out.push(0);
    }
    out.extend_from_slice(value);
}

fn write_integers(integers: &[&[u8]], out: &mut Vec<u8>) {
    let body: usize = integers.iter().map(|v| integer_len(v)).sum();
    out.reserve(body + 6);
    write_header(out, TAG_SEQUENCE, body);
    for v in integers {
        write_integer(out, v);
    }
}

/// Encodes a PKCS#1 `RSAPublicKey`.
pub(crate) fn encode_pkcs1_public(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_integers(&[n, e], &mut out);
    out
}

/// Encodes a PKCS#1 `RSAPrivateKey` into memory that is wiped on drop.
pub(crate) fn encode_pkcs1_private(p: &RsaPrivateParts<'_>) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    write_integers(&[&[0], p.n, p.e, p.d, p.p, p.q, p.dp, p.dq, p.qi], &mut out);
    out
}

/// Encodes a `SubjectPublicKeyInfo` for an RSA key.
pub(crate) fn encode_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    let pkcs1 = encode_pkcs1_public(n, e);
    let bit_string_len = pkcs1.len() + 1;
    let body = RSA_ALGORITHM_IDENTIFIER.len() + 1 + length_len(bit_string_len) + bit_string_len;
    let mut out = Vec::with_capacity(body + 4);
    write_header(&mut out, TAG_SEQUENCE, body);
    out.extend_from_slice(&RSA_ALGORITHM_IDENTIFIER);
    write_header(&mut out, TAG_BIT_STRING, bit_string_len);
    out.push(0);
    out.extend_from_slice(&pkcs1);
    out
}

/// Wraps a PKCS#1 `RSAPrivateKey` in a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn wrap_pkcs8(pkcs1: &[u8]) -> Zeroizing<Vec<u8>> {
    let body = 3 + RSA_ALGORITHM_IDENTIFIER.len() + 1 + length_len(pkcs1.len()) + pkcs1.len();
    let mut out = Zeroizing::new(Vec::with_capacity(body + 4));
    write_header(&mut out, TAG_SEQUENCE, body);
    out.extend_from_slice(&[TAG_INTEGER, 1, 0]);
    out.extend_from_slice(&RSA_ALGORITHM_IDENTIFIER);
    write_header(&mut out, TAG_OCTET_STRING, pkcs1.len());
    out.extend_from_slice(pkcs1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        let n = [0x80u8; 300];
        let der = encode_pkcs1_public(&n, &[1, 0, 1]);
        let parts = parse_pkcs1_public(&der).unwrap();
        assert_eq!(parts.n, n);
        assert_eq!(parts.e, [1, 0, 1]);
        let spki = encode_spki(&n, &[3]);
        assert_eq!(
            parse_pkcs1_public(unwrap_spki(&spki).unwrap()).unwrap().e,
            [3]
        );
    }

    #[test]
    fn rejects_non_minimal_and_indefinite_lengths() {
        for der in [
            &[0x30, 0x81, 0x03, 0x02, 0x01, 0x01][..], // long form for a short length
            &[0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00], // indefinite
            &[0x30, 0x03, 0x02, 0x01],                 // truncated
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],     // absurd length
            &[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03, 0x00], // trailing
        ] {
            assert!(parse_pkcs1_public(der).is_err(), "{der:02x?}");
        }
        // A leading zero on a positive integer is not minimal.
        assert!(
            parse_pkcs1_public(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x03]).is_err()
        );
        // Negative integers are refused.
        assert!(parse_pkcs1_public(&[0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x03]).is_err());
    }

    #[test]
    fn the_wrappers_are_read_strictly() {
        let spki = encode_spki(&[0xc5; 256], &[1, 0, 1]);
        assert!(unwrap_spki(&spki).is_ok());
        // Trailing bytes after the structure.
        let mut trailing = spki.clone();
        trailing.push(0);
        assert!(unwrap_spki(&trailing).is_err());
        // Unused bits in the key's BIT STRING (the byte after the 15-byte
        // algorithm identifier and the BIT STRING's tag and length).
        let mut unused = spki.clone();
        let at = unused.len() - encode_pkcs1_public(&[0xc5; 256], &[1, 0, 1]).len() - 1;
        unused[at] = 1;
        assert!(unwrap_spki(&unused).is_err());
        // rsaEncryption with parameters that are not NULL.
        let mut params = spki.clone();
        let null = params.windows(2).position(|w| w == [0x05, 0x00]).unwrap();
        params[null] = 0x04; // an empty OCTET STRING instead of NULL
        assert!(unwrap_spki(&params).is_err());
        // The same PKCS#8 wrapper checks: the key type is named when not RSA.
        let pkcs8 = wrap_pkcs8(&encode_pkcs1_public(&[1], &[3]));
        assert!(unwrap_pkcs8(&pkcs8).is_ok());
        let mut ec = pkcs8.to_vec();
        let oid = ec
            .windows(9)
            .position(|w| w == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
            .unwrap();
        ec[oid + 8] = 0x0a; // id-RSASSA-PSS
        assert!(matches!(
            unwrap_pkcs8(&ec),
            Err(Error::KeyRejected(KeyRejected::NotRsa(_)))
        ));
    }
}
