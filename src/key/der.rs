//! A small, strict DER reader and writer for the handful of RSA structures a
//! key file can hold (PKCS#1, PKCS#8, SubjectPublicKeyInfo, X.509).
//!
//! Strict means: definite, minimally encoded lengths, no trailing bytes, and
//! positive minimally encoded integers for the public values.

use zeroize::Zeroizing;

use crate::error::{Error, Escaped, KeyRejected};

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_CONTEXT_0: u8 = 0xa0;

/// 1.2.840.113549.1.1.1
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.113549.1.1.10
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// 1.2.840.10045.2.1
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.3.101.112
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// 1.2.840.113549.1.5.13 (PBES2, the usual encrypted PKCS#8 scheme)
const OID_PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];

/// `AlgorithmIdentifier { rsaEncryption, NULL }`, as SPKI and PKCS#8 carry it.
#[rustfmt::skip]
const RSA_ALGORITHM_IDENTIFIER: [u8; 15] = [
    TAG_SEQUENCE, 13, TAG_OID, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, TAG_NULL, 0,
];

/// A cursor over DER bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

fn bad(what: &str) -> Error {
    Error::key(format!("invalid DER: {what}"))
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader { rest: input }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads one tag-length-value and returns the tag and the contents.
    fn any(&mut self) -> Result<(u8, &'a [u8]), Error> {
        let (&tag, rest) = self
            .rest
            .split_first()
            .ok_or_else(|| bad("unexpected end"))?;
        let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("missing length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(bad("indefinite length"));
            }
            if count > 4 || rest.len() < count {
                return Err(bad("length out of range"));
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            if bytes[0] == 0 {
                return Err(bad("length not minimally encoded"));
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(bad("length not minimally encoded"));
            }
            len
        };
        if rest.len() < len {
            return Err(bad("truncated"));
        }
        let (value, after) = rest.split_at(len);
        self.rest = after;
        Ok((tag, value))
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], Error> {
        let (found, value) = self.any()?;
        if found != tag {
            return Err(bad(&format!("expected {what}")));
        }
        Ok(value)
    }

    fn sequence(&mut self) -> Result<Reader<'a>, Error> {
        self.expect(TAG_SEQUENCE, "a SEQUENCE").map(Reader::new)
    }

    /// A non-negative INTEGER, returned without its sign byte.
    fn unsigned(&mut self) -> Result<&'a [u8], Error> {
        let value = self.expect(TAG_INTEGER, "an INTEGER")?;
        match value {
            [] => Err(bad("empty INTEGER")),
            [b, ..] if b & 0x80 != 0 => Err(bad("negative INTEGER")),
            [0, next, ..] if next & 0x80 == 0 => Err(bad("INTEGER not minimally encoded")),
            [0, rest @ ..] if !rest.is_empty() => Ok(rest),
            _ => Ok(value),
        }
    }

    fn small_integer(&mut self) -> Result<u8, Error> {
        match self.unsigned()? {
            [v] => Ok(*v),
            _ => Err(bad("unexpected version")),
        }
    }

    fn finish(self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(bad("trailing data"))
        }
    }
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
    let mut outer = Reader::new(der);
    let mut seq = outer.sequence()?;
    outer.finish()?;
    let n = seq.unsigned()?.to_vec();
    let e = seq.unsigned()?.to_vec();
    seq.finish()?;
    Ok(RsaPublicParts { n, e })
}

/// Reads a PKCS#1 `RSAPrivateKey` (two primes only) and returns its parts.
pub(crate) fn parse_pkcs1_private(der: &[u8]) -> Result<RsaPrivateParts<'_>, Error> {
    let mut outer = Reader::new(der);
    let mut seq = outer.sequence()?;
    outer.finish()?;
    if seq.small_integer()? != 0 {
        return Err(Error::key("multi-prime RSA private keys are not supported"));
    }
    let parts = RsaPrivateParts {
        n: seq.unsigned()?,
        e: seq.unsigned()?,
        d: seq.unsigned()?,
        p: seq.unsigned()?,
        q: seq.unsigned()?,
        dp: seq.unsigned()?,
        dq: seq.unsigned()?,
        qi: seq.unsigned()?,
    };
    seq.finish()?;
    Ok(parts)
}

/// Checks an `AlgorithmIdentifier` names rsaEncryption, and says what it is otherwise.
fn expect_rsa_algorithm(alg: &mut Reader<'_>) -> Result<(), Error> {
    let oid = alg.expect(TAG_OID, "an algorithm OID")?;
    let name = match oid {
        OID_RSA_ENCRYPTION => {
            // The parameters are NULL, or (seen in the wild) absent.
            if alg.peek_tag() == Some(TAG_NULL) && !alg.expect(TAG_NULL, "NULL")?.is_empty() {
                return Err(bad("non-empty NULL"));
            }
            return Ok(());
        }
        OID_RSASSA_PSS => "RSASSA-PSS-restricted RSA (id-RSASSA-PSS)",
        OID_EC_PUBLIC_KEY => "EC",
        OID_ED25519 => "Ed25519",
        _ => "an unknown key type",
    };
    Err(KeyRejected::NotRsa(Escaped::new(name)).into())
}

/// Unwraps a PKCS#8 `PrivateKeyInfo` (v1 or v2) to its PKCS#1 `RSAPrivateKey`.
pub(crate) fn unwrap_pkcs8(der: &[u8]) -> Result<&[u8], Error> {
    let mut outer = Reader::new(der);
    let mut seq = outer.sequence()?;
    outer.finish()?;
    if seq.peek_tag() == Some(TAG_SEQUENCE) {
        // EncryptedPrivateKeyInfo starts with the encryption AlgorithmIdentifier.
        let mut alg = seq.sequence()?;
        if alg.expect(TAG_OID, "an OID")? == OID_PBES2 || seq.peek_tag() == Some(TAG_OCTET_STRING) {
            return Err(KeyRejected::Encrypted.into());
        }
        return Err(bad("not a PKCS#8 PrivateKeyInfo"));
    }
    let version = seq.small_integer()?;
    if version > 1 {
        return Err(bad("unsupported PKCS#8 version"));
    }
    let mut alg = seq.sequence()?;
    expect_rsa_algorithm(&mut alg)?;
    // Nothing may follow the parameters, as in an SPKI.
    alg.finish()?;
    let inner = seq.expect(TAG_OCTET_STRING, "an OCTET STRING")?;
    // Optional attributes [0] and public key [1] are allowed and ignored.
    while !seq.is_empty() {
        seq.any()?;
    }
    Ok(inner)
}

/// Unwraps a `SubjectPublicKeyInfo` to its PKCS#1 `RSAPublicKey`.
pub(crate) fn unwrap_spki(der: &[u8]) -> Result<&[u8], Error> {
    let mut outer = Reader::new(der);
    let seq = outer.sequence()?;
    outer.finish()?;
    spki_contents(seq)
}

fn spki_contents(mut seq: Reader<'_>) -> Result<&[u8], Error> {
    let mut alg = seq.sequence()?;
    expect_rsa_algorithm(&mut alg)?;
    alg.finish()?;
    let bits = seq.expect(TAG_BIT_STRING, "a BIT STRING")?;
    seq.finish()?;
    match bits.split_first() {
        Some((0, key)) => Ok(key),
        _ => Err(bad("public key BIT STRING has unused bits")),
    }
}

/// Finds the `SubjectPublicKeyInfo` in an X.509 certificate and unwraps it.
///
/// The certificate is not validated (no chain, dates or signature): it is only
/// a container for the public key, as a key-exchange portal might hand out.
pub(crate) fn unwrap_certificate(der: &[u8]) -> Result<&[u8], Error> {
    let mut outer = Reader::new(der);
    let mut cert = outer.sequence()?;
    outer.finish()?;
    let mut tbs = cert.sequence()?;
    if tbs.peek_tag() == Some(TAG_CONTEXT_0) {
        tbs.any()?; // version
    }
    tbs.expect(TAG_INTEGER, "a serial number")?;
    tbs.sequence()?; // signature algorithm
    tbs.sequence()?; // issuer
    tbs.sequence()?; // validity
    tbs.sequence()?; // subject
    spki_contents(tbs.sequence()?)
}

/// What a DER blob looks like, judged from its first elements.
pub(crate) enum DerKind {
    Pkcs1Private,
    Pkcs8Private,
    Pkcs1Public,
    Spki,
    Certificate,
}

/// Guesses which structure a DER blob holds, so that `from_der` can accept any.
pub(crate) fn sniff(der: &[u8]) -> Result<DerKind, Error> {
    let mut outer = Reader::new(der);
    let mut seq = outer.sequence()?;
    match seq.any()? {
        (TAG_INTEGER, _) => match seq.any()? {
            (TAG_SEQUENCE, _) => Ok(DerKind::Pkcs8Private),
            (TAG_INTEGER, _) if seq.is_empty() => Ok(DerKind::Pkcs1Public),
            (TAG_INTEGER, _) => Ok(DerKind::Pkcs1Private),
            _ => Err(bad("not a known key structure")),
        },
        (TAG_SEQUENCE, first) => {
            let first = Reader::new(first);
            match first.peek_tag() {
                Some(TAG_OID) => match seq.peek_tag() {
                    Some(TAG_BIT_STRING) => Ok(DerKind::Spki),
                    // EncryptedPrivateKeyInfo: AlgorithmIdentifier then OCTET STRING.
                    Some(TAG_OCTET_STRING) => Err(KeyRejected::Encrypted.into()),
                    _ => Err(bad("not a known key structure")),
                },
                _ => Ok(DerKind::Certificate),
            }
        }
        _ => Err(bad("not a known key structure")),
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
}
