//! The structures a key file can hold (PKCS#1, SEC1, PKCS#8 v1 and v2,
//! SubjectPublicKeyInfo, X.509), read with RustCrypto's format crates
//! (`der`, `pkcs1`, `sec1`, `pkcs8`, `spki`; parsing only, no cryptography): strict
//! DER (definite, minimally encoded lengths, minimal non-negative integers,
//! no trailing bytes). The few structures the crate writes are written here
//! from the key's own integers.

use der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use crate::KeyKind;
use crate::error::{Error, Escaped, KeyRejected};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

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

/// The kind of key an `AlgorithmIdentifier` names: rsaEncryption
/// (parameters NULL, or absent as seen in the wild), id-ecPublicKey with a
/// named curve, or Ed25519 (no parameters). Anything else is named in the
/// refusal.
fn key_kind(alg: &AlgorithmIdentifierRef<'_>) -> Result<KeyKind, Error> {
    let name = match alg.oid {
        RSA_ENCRYPTION => {
            return match alg.parameters {
                None => Ok(KeyKind::Rsa),
                Some(params) if params == AnyRef::NULL => Ok(KeyKind::Rsa),
                Some(_) => Err(bad("rsaEncryption parameters are not NULL")),
            };
        }
        EC_PUBLIC_KEY => {
            let curve = alg.parameters_oid().map_err(|_| explicit_curve())?;
            return curve_kind(curve);
        }
        ED25519 if alg.parameters.is_none() => return Ok(KeyKind::Ed25519),
        ED25519 => return Err(bad("Ed25519 keys have no algorithm parameters")),
        RSASSA_PSS => "RSASSA-PSS-restricted RSA (id-RSASSA-PSS)",
        _ => return Err(unsupported_oid(alg.oid)),
    };
    Err(KeyRejected::UnsupportedKeyType(Escaped::new(name)).into())
}

/// The JOSE form (`R || S`, each `field` bytes) of an ECDSA signature in
/// DER (`SEQUENCE { r INTEGER, s INTEGER }`), as AWS KMS returns it.
#[cfg(feature = "aws-kms")]
pub(crate) fn ecdsa_signature_to_fixed(der: &[u8], field: usize) -> Result<Vec<u8>, Error> {
    let signature = AnyRef::from_der(der).map_err(bad)?;
    if signature.tag() != Tag::Sequence {
        return Err(bad("an ECDSA signature is a SEQUENCE"));
    }
    let mut items = SliceReader::new(signature.value()).map_err(bad)?;
    if field == 0 {
        return Err(bad("an ECDSA signature needs the curve's size"));
    }
    let mut fixed = vec![0; 2 * field];
    for half in fixed.chunks_mut(field) {
        let value: UintRef<'_> = items.decode().map_err(bad)?;
        let value = value.as_bytes();
        if value.len() > field {
            return Err(bad("an ECDSA integer is longer than the curve"));
        }
        half[field - value.len()..].copy_from_slice(value);
    }
    if !items.is_finished() {
        return Err(bad("trailing data after an ECDSA signature"));
    }
    Ok(fixed)
}

#[cfg(feature = "pkcs11")]
/// The kind of key whose curve PKCS#11 `CKA_EC_PARAMS` names: the DER of a
/// named curve's OID (P-256, P-384, P-521, Ed25519), or the printable string
/// `edwards25519` that PKCS#11 3.0 also allows for Ed25519.
pub(crate) fn curve_of_ec_params(der: &[u8]) -> Result<KeyKind, Error> {
    if let Ok(name) = der::asn1::PrintableStringRef::from_der(der) {
        return match name.as_str() {
            "edwards25519" => Ok(KeyKind::Ed25519),
            other => Err(KeyRejected::UnsupportedKeyType(Escaped::new(other)).into()),
        };
    }
    match ObjectIdentifier::from_der(der).map_err(|_| explicit_curve())? {
        ED25519 => Ok(KeyKind::Ed25519),
        curve => curve_kind(curve),
    }
}

#[cfg(feature = "pkcs11")]
/// The point in a PKCS#11 `CKA_EC_POINT`: DER of an OCTET STRING holding
/// it, as the standard says, or the bare point as some tokens give it.
pub(crate) fn ec_point_attribute(value: &[u8]) -> &[u8] {
    OctetStringRef::from_der(value).map_or(value, |octets| octets.as_bytes())
}

/// EC parameters that spell the curve out instead of naming it (OpenSSL's
/// `-param_enc explicit`): refused, as every JOSE implementation does.
fn explicit_curve() -> Error {
    Error::key(
        "the EC key does not name its curve (explicit parameters); re-export it with `openssl ec -param_enc named_curve`",
    )
}

/// True when a SEC1 `ECPrivateKey` carries `[0]` parameters that are a
/// SEQUENCE (an explicit curve) rather than an OID.
fn has_explicit_curve(der: &[u8]) -> bool {
    let explicit = || -> der::Result<bool> {
        let key = AnyRef::from_der(der)?;
        let mut items = SliceReader::new(key.value())?;
        items.decode::<AnyRef<'_>>()?; // version
        items.decode::<AnyRef<'_>>()?; // privateKey
        let params: AnyRef<'_> = items.decode()?;
        let parameters = Tag::ContextSpecific {
            constructed: true,
            number: TagNumber::N0,
        };
        let inner = SliceReader::new(params.value())?.peek_tag()?;
        Ok(params.tag() == parameters && inner == Tag::Sequence)
    };
    explicit().unwrap_or(false)
}

fn curve_kind(curve: ObjectIdentifier) -> Result<KeyKind, Error> {
    match curve {
        P256 => Ok(KeyKind::EcP256),
        P384 => Ok(KeyKind::EcP384),
        P521 => Ok(KeyKind::EcP521),
        _ => Err(unsupported_oid(curve)),
    }
}

fn curve_oid(kind: KeyKind) -> Option<ObjectIdentifier> {
    match kind {
        KeyKind::EcP256 => Some(P256),
        KeyKind::EcP384 => Some(P384),
        KeyKind::EcP521 => Some(P521),
        KeyKind::Rsa | KeyKind::Ed25519 => None,
    }
}

/// Names the key types and curves people try most, by their OID.
fn unsupported_oid(oid: ObjectIdentifier) -> Error {
    let name = match oid.to_string().as_str() {
        "1.3.132.0.10" => "EC secp256k1".to_owned(),
        "1.3.101.110" => "X25519".to_owned(),
        "1.3.101.111" => "X448".to_owned(),
        "1.3.101.113" => "Ed448".to_owned(),
        "1.2.840.10040.4.1" => "DSA".to_owned(),
        other => format!("OID {other}"),
    };
    KeyRejected::UnsupportedKeyType(Escaped::new(&name)).into()
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

/// The key inside a private key structure, as the backends take it.
pub(crate) enum PrivateDer<'a> {
    /// A PKCS#1 `RSAPrivateKey`.
    Rsa(&'a [u8]),
    /// An EC key: its kind, big-endian scalar (as stored; it may lack
    /// leading zeros), and uncompressed point when the file carries it.
    /// `sec1` is the whole `ECPrivateKey`.
    Ec {
        kind: KeyKind,
        scalar: &'a [u8],
        point: Option<&'a [u8]>,
        sec1: &'a [u8],
    },
    /// An Ed25519 seed, with the public key a PKCS#8 v2 file carries.
    Ed25519 {
        seed: &'a [u8],
        public: Option<&'a [u8]>,
    },
}

/// Reads a PKCS#8 `PrivateKeyInfo` (v1, or v2 with its public key).
pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<PrivateDer<'_>, Error> {
    if is_encrypted_pkcs8(der) {
        return Err(KeyRejected::Encrypted.into());
    }
    let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(bad)?;
    match key_kind(&info.algorithm)? {
        KeyKind::Rsa => Ok(PrivateDer::Rsa(info.private_key)),
        KeyKind::Ed25519 => {
            let seed = OctetStringRef::from_der(info.private_key).map_err(bad)?;
            Ok(PrivateDer::Ed25519 {
                seed: seed.as_bytes(),
                public: info.public_key,
            })
        }
        kind => parse_sec1(info.private_key, Some(kind)),
    }
}

/// Reads a SEC1 `ECPrivateKey` (RFC 5915), as `EC PRIVATE KEY` PEM holds
/// it or PKCS#8 wraps it. Its curve comes from `wrapper` (PKCS#8's
/// algorithm parameters) or its own parameters; when both are present
/// they must agree.
pub(crate) fn parse_sec1(der: &[u8], wrapper: Option<KeyKind>) -> Result<PrivateDer<'_>, Error> {
    let key = sec1::EcPrivateKey::from_der(der).map_err(|e| {
        if has_explicit_curve(der) {
            explicit_curve()
        } else {
            bad(e)
        }
    })?;
    let own = key
        .parameters
        .map(|params| {
            params
                .named_curve()
                .ok_or_else(explicit_curve)
                .and_then(curve_kind)
        })
        .transpose()?;
    let kind = match (wrapper, own) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::key(format!(
                "the EC key's curve is {b}, but its PKCS#8 wrapper says {a}"
            )));
        }
        (Some(kind), _) | (None, Some(kind)) => kind,
        (None, None) => return Err(bad("the EC private key does not name its curve")),
    };
    Ok(PrivateDer::Ec {
        kind,
        scalar: key.private_key,
        point: key.public_key,
        sec1: der,
    })
}

/// The key inside a public key structure.
pub(crate) enum PublicDer<'a> {
    /// A PKCS#1 `RSAPublicKey`.
    Rsa(&'a [u8]),
    /// An EC point as SEC1 encodes it.
    Ec(KeyKind, &'a [u8]),
    /// The 32 bytes of an Ed25519 key.
    Ed25519(&'a [u8]),
}

/// Reads a `SubjectPublicKeyInfo`.
pub(crate) fn parse_spki(der: &[u8]) -> Result<PublicDer<'_>, Error> {
    spki_contents(SubjectPublicKeyInfoRef::from_der(der).map_err(bad)?)
}

fn spki_contents(spki: SubjectPublicKeyInfoRef<'_>) -> Result<PublicDer<'_>, Error> {
    let kind = key_kind(&spki.algorithm)?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("public key BIT STRING has unused bits"))?;
    Ok(match kind {
        KeyKind::Rsa => PublicDer::Rsa(key),
        KeyKind::Ed25519 => PublicDer::Ed25519(key),
        kind => PublicDer::Ec(kind, key),
    })
}

/// Finds the `SubjectPublicKeyInfo` in an X.509 certificate and reads it.
///
/// The certificate is not validated (no chain, dates or signature): it is only
/// a container for the public key, as a key-exchange portal might hand out.
/// So only its outline is read: `TBSCertificate`'s optional version, serial
/// number, signature algorithm, issuer, validity and subject are passed over
/// as strict DER elements, whatever they hold.
pub(crate) fn parse_certificate(der: &[u8]) -> Result<PublicDer<'_>, Error> {
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

/// The `AlgorithmIdentifier` of an EC key on `curve`, or of an Ed25519
/// key (the one curve kind with no curve OID).
fn curve_algorithm(curve: &Option<ObjectIdentifier>) -> AlgorithmIdentifierRef<'_> {
    AlgorithmIdentifierRef {
        oid: if curve.is_some() {
            EC_PUBLIC_KEY
        } else {
            ED25519
        },
        parameters: curve.as_ref().map(AnyRef::from),
    }
}

/// Encodes `value` into memory that is wiped on drop, sized once.
fn encode_secret(value: &impl Encode) -> Zeroizing<Vec<u8>> {
    let len = value
        .encoded_len()
        .ok()
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0);
    let mut out = Zeroizing::new(vec![0; len]);
    let written = value
        .encode_to_slice(&mut out)
        .map(<[u8]>::len)
        .unwrap_or(0);
    out.truncate(written);
    out
}

/// Encodes the `SubjectPublicKeyInfo` of an EC point or Ed25519 key.
pub(crate) fn encode_curve_spki(kind: KeyKind, key: &[u8]) -> Vec<u8> {
    let curve = curve_oid(kind);
    let Ok(bits) = BitStringRef::from_bytes(key) else {
        return Vec::new();
    };
    SubjectPublicKeyInfoRef {
        algorithm: curve_algorithm(&curve),
        subject_public_key: bits,
    }
    .to_der()
    .unwrap_or_default()
}

/// Encodes a PKCS#8 v1 `PrivateKeyInfo` for an EC key (its SEC1
/// `ECPrivateKey` with the public point, the curve named by the wrapper)
/// or an Ed25519 seed, into memory wiped on drop.
pub(crate) fn encode_curve_pkcs8(kind: KeyKind, secret: &[u8], point: &[u8]) -> Zeroizing<Vec<u8>> {
    let curve = curve_oid(kind);
    let inner = if kind == KeyKind::Ed25519 {
        let Ok(seed) = OctetStringRef::new(secret) else {
            return Zeroizing::new(Vec::new());
        };
        encode_secret(&seed)
    } else {
        encode_secret(&sec1::EcPrivateKey {
            private_key: secret,
            parameters: None,
            public_key: Some(point),
        })
    };
    encode_secret(&pkcs8::PrivateKeyInfo {
        algorithm: curve_algorithm(&curve),
        private_key: &inner,
        public_key: None,
    })
}

/// What a DER blob looks like, judged from its first elements.
pub(crate) enum DerKind {
    Pkcs1Private,
    Sec1Private,
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
            Tag::OctetString => Ok(DerKind::Sec1Private),
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

pub(crate) fn strip_zeros(value: &[u8]) -> &[u8] {
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
        let PublicDer::Rsa(pkcs1) = parse_spki(&spki).unwrap() else {
            panic!("not RSA")
        };
        assert_eq!(parse_pkcs1_public(pkcs1).unwrap().e, [3]);
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
        assert!(parse_spki(&spki).is_ok());
        // Trailing bytes after the structure.
        let mut trailing = spki.clone();
        trailing.push(0);
        assert!(parse_spki(&trailing).is_err());
        // Unused bits in the key's BIT STRING (the byte after the 15-byte
        // algorithm identifier and the BIT STRING's tag and length).
        let mut unused = spki.clone();
        let at = unused.len() - encode_pkcs1_public(&[0xc5; 256], &[1, 0, 1]).len() - 1;
        unused[at] = 1;
        assert!(parse_spki(&unused).is_err());
        // rsaEncryption with parameters that are not NULL.
        let mut params = spki.clone();
        let null = params.windows(2).position(|w| w == [0x05, 0x00]).unwrap();
        params[null] = 0x04; // an empty OCTET STRING instead of NULL
        assert!(parse_spki(&params).is_err());
        // The same PKCS#8 wrapper checks: the key type is named when not RSA.
        let pkcs8 = wrap_pkcs8(&encode_pkcs1_public(&[1], &[3]));
        assert!(parse_pkcs8(&pkcs8).is_ok());
        let mut ec = pkcs8.to_vec();
        let oid = ec
            .windows(9)
            .position(|w| w == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
            .unwrap();
        ec[oid + 8] = 0x0a; // id-RSASSA-PSS
        assert!(matches!(
            parse_pkcs8(&ec),
            Err(Error::KeyRejected(KeyRejected::UnsupportedKeyType(_)))
        ));
    }

    #[cfg(feature = "aws-kms")]
    #[test]
    fn der_ecdsa_signatures_become_r_and_s_at_the_curve_size() {
        // r = 0x01, s = 0x80 (a leading zero keeps it positive).
        let der = [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80];
        let fixed = ecdsa_signature_to_fixed(&der, 32).unwrap();
        assert_eq!(fixed.len(), 64);
        assert_eq!((fixed[31], fixed[63]), (0x01, 0x80));
        assert!(fixed[..31].iter().chain(&fixed[32..63]).all(|&b| b == 0));
        // Trailing bytes, an integer longer than the field, a non-minimal
        // integer and a negative one are refused.
        let mut trailing = der.to_vec();
        trailing[1] += 1;
        trailing.push(0);
        assert!(ecdsa_signature_to_fixed(&trailing, 32).is_err());
        assert!(ecdsa_signature_to_fixed(&der, 0).is_err());
        let padded = [0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01];
        assert!(ecdsa_signature_to_fixed(&padded, 32).is_err());
        let negative = [0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01];
        assert!(ecdsa_signature_to_fixed(&negative, 32).is_err());
    }
}
