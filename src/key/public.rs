//! RSA public keys.

use std::fmt;

use super::der::{self, DerKind, RsaPublicParts};
use super::jwk::Jwk;
use super::source::{self, Source};
use crate::backend::active as backend;
use crate::base64url;
use crate::error::{Error, Escaped, KeyRejected};

/// Smallest accepted modulus, in bits.
const MIN_BITS: usize = 2048;
/// Largest modulus the backends verify with, in bits.
const MAX_BITS: usize = 8192;

/// An RSA public key, validated once when it is built.
///
/// Loads from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`), DER of
/// each, bare base64 of SubjectPublicKeyInfo DER, and JWK. Moduli under 2048
/// or over 8192 bits and exponents that are even, below 3 or above 2^33 - 1
/// are rejected.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::PublicKey;
/// let pem = include_str!("../../tests/data/rfc7515/A2.rsa_public_spki.pem");
/// let key = PublicKey::from_pem(pem)?;
/// assert_eq!(key.bits(), 2048);
/// assert_eq!(PublicKey::parse(key.to_jwk().to_json().as_bytes())?, key);
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    parts: RsaPublicParts,
    pkcs1: Vec<u8>,
}

impl PublicKey {
    /// Builds a key from its modulus and exponent (unsigned big-endian).
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] for a modulus outside 2048..=8192 bits or a bad exponent.
    pub fn from_components(modulus: &[u8], exponent: &[u8]) -> Result<Self, Error> {
        let n = strip(modulus);
        let e = strip(exponent);
        let bits = bit_len(n);
        if bits < MIN_BITS {
            return Err(KeyRejected::TooSmall { bits }.into());
        }
        if bits > MAX_BITS {
            return Err(KeyRejected::TooLarge { bits }.into());
        }
        let e_value = if e.len() > 5 {
            u64::MAX
        } else {
            e.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
        };
        if e_value < 3 || e_value % 2 == 0 || e_value >= 1 << 33 {
            return Err(KeyRejected::BadExponent.into());
        }
        if n.last().is_some_and(|b| b % 2 == 0) {
            return Err(Error::key("the modulus is even"));
        }
        if super::roca::has_roca_fingerprint(n) {
            return Err(KeyRejected::RocaVulnerable.into());
        }
        Ok(PublicKey {
            pkcs1: der::encode_pkcs1_public(n, e),
            parts: RsaPublicParts {
                n: n.to_vec(),
                e: e.to_vec(),
            },
        })
    }

    /// Reads the first RSA key in a PEM file (`PUBLIC KEY`, `RSA PUBLIC KEY`
    /// or `CERTIFICATE`).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for bad PEM or DER, [`Error::KeyRejected`] for a
    /// private, non-RSA or unacceptable key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::from_source(source::from_pem(pem)?)
    }

    /// Reads DER: SubjectPublicKeyInfo, PKCS#1 `RSAPublicKey` or an X.509 certificate.
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        Self::from_kind(der::sniff(der)?, der)
    }

    /// Reads bare base64 of SubjectPublicKeyInfo DER, as key-exchange APIs
    /// return it (`"Key": "MIIBIjANBgkq..."`). Padding and line breaks are optional.
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`].
    pub fn from_base64_der(text: &str) -> Result<Self, Error> {
        Self::from_source(source::from_base64(text.as_bytes())?)
    }

    /// Reads a JSON Web Key (`kty` `RSA`, members `n` and `e`): the key
    /// material only. What the JWK declares (`alg`, `use`, `key_ops`) is
    /// honoured by [`RsaVerifier::from_jwk`](crate::RsaVerifier::from_jwk)
    /// and [`KeySet::from_jwks`](crate::KeySet::from_jwks).
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        if jwk.kty != "RSA" {
            return Err(KeyRejected::NotRsa(Escaped::new(&jwk.kty)).into());
        }
        let n = jwk_member(jwk.n.as_deref(), "n")?;
        let e = jwk_member(jwk.e.as_deref(), "e")?;
        Self::from_components(&n, &e)
    }

    /// Reads any supported encoding, telling them apart by their content.
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`].
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        Self::from_source(source::detect(input)?)
    }

    fn from_source(source: Source<'_>) -> Result<Self, Error> {
        match source {
            Source::Der(kind, der) => Self::from_kind(kind, &der),
            Source::Jwk(text) => {
                let jwk = Jwk::from_json(text)?;
                if jwk.kty == "oct" {
                    return Err(KeyRejected::Symmetric.into());
                }
                if jwk.has_private_members {
                    return Err(Error::key(
                        "this JWK holds a private key; load it as a PrivateKey and use public_key()",
                    ));
                }
                Self::from_jwk(&jwk)
            }
        }
    }

    fn from_kind(kind: DerKind, der: &[u8]) -> Result<Self, Error> {
        let pkcs1 = match kind {
            DerKind::Spki => der::unwrap_spki(der)?,
            DerKind::Pkcs1Public => der,
            DerKind::Certificate => der::unwrap_certificate(der)?,
            DerKind::Pkcs1Private | DerKind::Pkcs8Private => {
                return Err(Error::key(
                    "this is a private key; load it as a PrivateKey and use public_key()",
                ));
            }
        };
        let parts = der::parse_pkcs1_public(pkcs1)?;
        Self::from_components(&parts.n, &parts.e)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        bit_len(&self.parts.n)
    }

    /// The modulus as unsigned big-endian bytes.
    pub fn modulus(&self) -> &[u8] {
        &self.parts.n
    }

    /// The public exponent as unsigned big-endian bytes.
    pub fn exponent(&self) -> &[u8] {
        &self.parts.e
    }

    /// The PKCS#1 `RSAPublicKey` DER encoding.
    pub fn to_pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn to_spki_der(&self) -> Vec<u8> {
        der::encode_spki(&self.parts.n, &self.parts.e)
    }

    /// A `PUBLIC KEY` PEM block, as `openssl rsa -pubout` writes it.
    pub fn to_pem(&self) -> String {
        let block = pem::Pem::new("PUBLIC KEY", self.to_spki_der());
        pem::encode_config(
            &block,
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// Standard base64 (padded) of the SubjectPublicKeyInfo DER, with no PEM
    /// armour: the form key-exchange APIs hand out as `Key`, read back by
    /// [`PublicKey::from_base64_der`].
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use signed_payloads::PublicKey;
    /// let key = PublicKey::from_pem(include_str!("../../tests/data/keys/rsa2048.spki.pem"))?;
    /// assert_eq!(PublicKey::from_base64_der(&key.to_base64_der())?, key);
    /// # Ok(()) }
    /// ```
    pub fn to_base64_der(&self) -> String {
        base64url::encode_standard(&self.to_spki_der())
    }

    /// The public JWK (`kty`, `n`, `e`; set `kid`, `alg`, `use` on the result as needed).
    pub fn to_jwk(&self) -> Jwk {
        Jwk::rsa(
            base64url::encode(&self.parts.n),
            base64url::encode(&self.parts.e),
        )
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), usable as a default `kid`.
    pub fn thumbprint(&self) -> String {
        let mut json = String::with_capacity(self.parts.n.len() * 4 / 3 + 40);
        json.push_str("{\"e\":\"");
        base64url::encode_into(&self.parts.e, &mut json);
        json.push_str("\",\"kty\":\"RSA\",\"n\":\"");
        base64url::encode_into(&self.parts.n, &mut json);
        json.push_str("\"}");
        base64url::encode(&backend::sha256(json.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

fn jwk_member(value: Option<&str>, name: &str) -> Result<Vec<u8>, Error> {
    let value = value.ok_or_else(|| Error::key(format!("JWK is missing \"{name}\"")))?;
    base64url::decode(value.as_bytes())
        .ok_or_else(|| Error::key(format!("JWK member \"{name}\" is not valid base64url")))
}

fn strip(value: &[u8]) -> &[u8] {
    let skip = value.iter().take_while(|&&b| b == 0).count();
    &value[skip..]
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modulus(bits: usize) -> Vec<u8> {
        let mut n = vec![0xffu8; bits / 8];
        n[0] = 0xc1;
        n
    }

    #[test]
    fn size_and_exponent_rules() {
        assert!(PublicKey::from_components(&modulus(2048), &[1, 0, 1]).is_ok());
        assert!(PublicKey::from_components(&modulus(2048), &[3]).is_ok());
        let err = |n: &[u8], e: &[u8]| PublicKey::from_components(n, e).unwrap_err();
        assert!(matches!(
            err(&modulus(1024), &[1, 0, 1]),
            Error::KeyRejected(KeyRejected::TooSmall { bits: 1024 })
        ));
        assert!(matches!(
            err(&modulus(2040), &[1, 0, 1]),
            Error::KeyRejected(KeyRejected::TooSmall { .. })
        ));
        assert!(matches!(
            err(&modulus(8200), &[1, 0, 1]),
            Error::KeyRejected(KeyRejected::TooLarge { .. })
        ));
        for e in [
            &[1u8][..],
            &[2],
            &[0],
            &[],
            &[1, 0, 0],
            &[2, 0, 0, 0, 1],
            &[1, 0, 0, 0, 0, 1],
        ] {
            assert!(
                matches!(
                    err(&modulus(2048), e),
                    Error::KeyRejected(KeyRejected::BadExponent)
                ),
                "{e:?}"
            );
        }
        let mut even = modulus(2048);
        *even.last_mut().unwrap() = 0xfe;
        assert!(PublicKey::from_components(&even, &[1, 0, 1]).is_err());
    }

    #[test]
    fn leading_zeros_are_normalised() {
        let mut padded = vec![0, 0];
        padded.extend(modulus(2048));
        let a = PublicKey::from_components(&padded, &[0, 1, 0, 1]).unwrap();
        let b = PublicKey::from_components(&modulus(2048), &[1, 0, 1]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.thumbprint(), b.thumbprint());
    }
}
