//! Public keys of every kind: RSA, EC (P-256, P-384, P-521) and Ed25519.

use std::fmt;

use super::der::{self, DerKind, PublicDer, RsaPublicParts};
use super::jwk::Jwk;
use super::source::{self, Source};
use crate::KeyKind;
use crate::backend::active as backend;
use crate::base64url;
use crate::error::{Error, Escaped, KeyRejected};

/// Smallest accepted RSA modulus, in bits.
const MIN_BITS: usize = 2048;
/// Largest RSA modulus the backends verify with, in bits.
const MAX_BITS: usize = 8192;

/// The encodings of the Ed25519 points of small order (1, 2, 4 and 8),
/// with the sign bit cleared: their `y` coordinates, canonical and not
/// (`p` and `p + 1` encode 0 and 1 again). A signature under such a key
/// can verify for many messages, so the key is refused. Computed from the
/// curve equation, not copied from a list.
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    hex32("0000000000000000000000000000000000000000000000000000000000000000"),
    hex32("0100000000000000000000000000000000000000000000000000000000000000"),
    hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    hex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
];

const fn hex32(text: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        }
    }
    let bytes = text.as_bytes();
    let mut out = [0; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

/// A public key, validated once when it is built.
///
/// Its [`kind`](PublicKey::kind) is RSA, EC P-256, P-384, P-521 or Ed25519.
/// Loads from PEM (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`), DER of
/// each, bare base64 of SubjectPublicKeyInfo DER, and JWK (`kty` `RSA`,
/// `EC`, `OKP`). Refused: RSA moduli under 2048 or over 8192 bits and
/// exponents that are even, below 3 or above 2^33 - 1; EC points off their
/// curve, at infinity or compressed; Ed25519 keys of small order.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{KeyKind, PublicKey};
/// let pem = include_str!("../../tests/data/rfc7515/A2.rsa_public_spki.pem");
/// let key = PublicKey::from_pem(pem)?;
/// assert_eq!((key.kind(), key.bits()), (KeyKind::Rsa, 2048));
/// assert_eq!(PublicKey::parse(key.to_jwk().to_json().as_bytes())?, key);
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    material: Material,
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    Rsa {
        parts: RsaPublicParts,
        pkcs1: Vec<u8>,
    },
    /// The uncompressed point, `04 || x || y`.
    Ec {
        kind: KeyKind,
        point: Vec<u8>,
    },
    Ed25519([u8; 32]),
}

impl PublicKey {
    /// An RSA key from its modulus and exponent (unsigned big-endian).
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
            material: Material::Rsa {
                pkcs1: der::encode_pkcs1_public(n, e),
                parts: RsaPublicParts {
                    n: n.to_vec(),
                    e: e.to_vec(),
                },
            },
        })
    }

    /// An EC key from its SEC1 point encoding: uncompressed, `04 || x || y`
    /// with each coordinate the curve's size (32, 48 or 66 bytes).
    ///
    /// # Errors
    ///
    /// [`KeyRejected::BadPoint`] for the point at infinity, a compressed
    /// point, a wrong length or a point off the curve;
    /// [`KeyRejected::UnsupportedKeyType`] when `kind` is not an EC kind;
    /// [`Error::Config`] for P-521 on the ring backend.
    pub fn from_ec_point(kind: KeyKind, point: &[u8]) -> Result<Self, Error> {
        let field = match (kind, kind.field_len()) {
            (KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521, Some(field)) => field,
            _ => return Err(KeyRejected::UnsupportedKeyType(Escaped::new(kind.as_str())).into()),
        };
        match point.first() {
            Some(0) | None => {
                return Err(KeyRejected::BadPoint("it is the point at infinity").into());
            }
            Some(2 | 3) => {
                return Err(KeyRejected::BadPoint("compressed points are not supported").into());
            }
            Some(4) if point.len() == 1 + 2 * field => {}
            Some(4) => {
                return Err(KeyRejected::BadPoint("its length does not match the curve").into());
            }
            Some(_) => return Err(KeyRejected::BadPoint("it is not a SEC1 point encoding").into()),
        }
        backend::check_ec_point(kind, point)?;
        Ok(PublicKey {
            material: Material::Ec {
                kind,
                point: point.to_vec(),
            },
        })
    }

    /// An EC key from its affine coordinates, each exactly the curve's size
    /// (as a JWK's `x` and `y`).
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_ec_point`]; coordinates of the wrong length
    /// are refused.
    pub fn from_ec_coordinates(kind: KeyKind, x: &[u8], y: &[u8]) -> Result<Self, Error> {
        if Some(x.len()) != kind.field_len() || Some(y.len()) != kind.field_len() {
            return Err(
                KeyRejected::BadPoint("a coordinate's length does not match the curve").into(),
            );
        }
        let mut point = Vec::with_capacity(1 + x.len() + y.len());
        point.push(4);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Self::from_ec_point(kind, &point)
    }

    /// An Ed25519 key from its 32 bytes (RFC 8032).
    ///
    /// # Errors
    ///
    /// [`KeyRejected::BadPoint`] for a wrong length or a point of small order.
    pub fn from_ed25519(key: &[u8]) -> Result<Self, Error> {
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| KeyRejected::BadPoint("an Ed25519 key is 32 bytes"))?;
        let mut y = key;
        y[31] &= 0x7f;
        if ED25519_SMALL_ORDER.contains(&y) {
            return Err(KeyRejected::BadPoint("the Ed25519 key has small order").into());
        }
        Ok(PublicKey {
            material: Material::Ed25519(key),
        })
    }

    /// Reads the first key in a PEM file (`PUBLIC KEY`, `RSA PUBLIC KEY`
    /// or `CERTIFICATE`).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for bad PEM or DER, [`Error::KeyRejected`] for a
    /// private, unsupported or unacceptable key.
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

    /// Reads a JSON Web Key: `kty` `RSA` (`n`, `e`), `EC` (`crv` `P-256`,
    /// `P-384` or `P-521`, `x`, `y`) or `OKP` (`crv` `Ed25519`, `x`). The
    /// key material only: what the JWK declares (`alg`, `use`, `key_ops`)
    /// is honoured by [`KeyVerifier::from_jwk`](crate::KeyVerifier::from_jwk)
    /// and [`KeySet::from_jwks`](crate::KeySet::from_jwks).
    ///
    /// # Errors
    ///
    /// As for [`PublicKey::from_pem`].
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        match jwk.kty.as_str() {
            "RSA" => {
                let n = jwk_member(jwk.n.as_deref(), "n")?;
                let e = jwk_member(jwk.e.as_deref(), "e")?;
                Self::from_components(&n, &e)
            }
            "EC" | "OKP" => {
                let kind = jwk_curve(jwk)?;
                let x = jwk_member(jwk.x.as_deref(), "x")?;
                if kind == KeyKind::Ed25519 {
                    return Self::from_ed25519(&x);
                }
                let y = jwk_member(jwk.y.as_deref(), "y")?;
                Self::from_ec_coordinates(kind, &x, &y)
            }
            "oct" => Err(KeyRejected::Symmetric.into()),
            other => Err(KeyRejected::UnsupportedKeyType(Escaped::new(other)).into()),
        }
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
        let public = match kind {
            DerKind::Spki => der::parse_spki(der)?,
            DerKind::Pkcs1Public => PublicDer::Rsa(der),
            DerKind::Certificate => der::parse_certificate(der)?,
            DerKind::Pkcs1Private | DerKind::Sec1Private | DerKind::Pkcs8Private => {
                return Err(Error::key(
                    "this is a private key; load it as a PrivateKey and use public_key()",
                ));
            }
        };
        Self::from_public_der(public)
    }

    pub(crate) fn from_public_der(public: PublicDer<'_>) -> Result<Self, Error> {
        match public {
            PublicDer::Rsa(pkcs1) => {
                let parts = der::parse_pkcs1_public(pkcs1)?;
                Self::from_components(&parts.n, &parts.e)
            }
            PublicDer::Ec(kind, point) => Self::from_ec_point(kind, point),
            PublicDer::Ed25519(key) => Self::from_ed25519(key),
        }
    }

    /// What the key is.
    pub fn kind(&self) -> KeyKind {
        match &self.material {
            Material::Rsa { .. } => KeyKind::Rsa,
            Material::Ec { kind, .. } => *kind,
            Material::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// The key size in bits: the RSA modulus, the EC curve's order (256,
    /// 384, 521), 256 for Ed25519.
    pub fn bits(&self) -> usize {
        match &self.material {
            Material::Rsa { parts, .. } => bit_len(&parts.n),
            Material::Ec {
                kind: KeyKind::EcP521,
                ..
            } => 521,
            Material::Ec { point, .. } => (point.len() - 1) / 2 * 8,
            Material::Ed25519(_) => 256,
        }
    }

    /// The RSA modulus as unsigned big-endian bytes; none for other kinds.
    pub fn modulus(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { parts, .. } => Some(&parts.n),
            _ => None,
        }
    }

    /// The RSA public exponent as unsigned big-endian bytes; none for other kinds.
    pub fn exponent(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { parts, .. } => Some(&parts.e),
            _ => None,
        }
    }

    /// The PKCS#1 `RSAPublicKey` DER encoding; none for other kinds.
    pub fn to_pkcs1_der(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { pkcs1, .. } => Some(pkcs1),
            _ => None,
        }
    }

    /// The key as the backends take it: PKCS#1 DER for RSA, the
    /// uncompressed point for EC, the 32 bytes for Ed25519.
    pub(crate) fn backend_bytes(&self) -> &[u8] {
        match &self.material {
            Material::Rsa { pkcs1, .. } => pkcs1,
            Material::Ec { point, .. } => point,
            Material::Ed25519(key) => key,
        }
    }

    /// The SubjectPublicKeyInfo DER encoding.
    pub fn to_spki_der(&self) -> Vec<u8> {
        match &self.material {
            Material::Rsa { parts, .. } => der::encode_spki(&parts.n, &parts.e),
            _ => der::encode_curve_spki(self.kind(), self.backend_bytes()),
        }
    }

    /// A `PUBLIC KEY` PEM block, as `openssl pkey -pubout` writes it.
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

    /// The public JWK (`kty` with `n` and `e`, or `crv` with `x` and `y`;
    /// set `kid`, `alg`, `use` on the result as needed).
    pub fn to_jwk(&self) -> Jwk {
        let members = self.jwk_members();
        let mut jwk = Jwk::of_kind(self.kind());
        for (name, value) in members {
            let value = Some(value);
            match name {
                "n" => jwk.n = value,
                "e" => jwk.e = value,
                "x" => jwk.x = value,
                _ => jwk.y = value,
            }
        }
        jwk
    }

    /// The key's own JWK members besides `kty` and `crv`, base64url.
    fn jwk_members(&self) -> Vec<(&'static str, String)> {
        match &self.material {
            Material::Rsa { parts, .. } => vec![
                ("e", base64url::encode(&parts.e)),
                ("n", base64url::encode(&parts.n)),
            ],
            Material::Ec { point, .. } => {
                let (x, y) = point[1..].split_at((point.len() - 1) / 2);
                vec![("x", base64url::encode(x)), ("y", base64url::encode(y))]
            }
            Material::Ed25519(key) => vec![("x", base64url::encode(key))],
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url), usable as a
    /// default `kid`: the required members in lexicographic order (RSA `e`,
    /// `kty`, `n`; EC `crv`, `kty`, `x`, `y`; OKP `crv`, `kty`, `x`).
    pub fn thumbprint(&self) -> String {
        let kind = self.kind();
        let mut members: Vec<(&str, String)> = self.jwk_members();
        members.push(("kty", kind.jwk_key_type().to_owned()));
        if let Some(crv) = kind.jwk_curve() {
            members.push(("crv", crv.to_owned()));
        }
        members.sort_by_key(|(name, _)| *name);
        let mut json = String::with_capacity(members.iter().map(|(_, v)| v.len() + 10).sum());
        for (i, (name, value)) in members.iter().enumerate() {
            json.push(if i == 0 { '{' } else { ',' });
            json.push('"');
            json.push_str(name);
            json.push_str("\":\"");
            json.push_str(value);
            json.push('"');
        }
        json.push('}');
        base64url::encode(&backend::sha256(json.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind())
            .field("bits", &self.bits())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

/// The kind a JWK's `kty` and `crv` name together.
fn jwk_curve(jwk: &Jwk) -> Result<KeyKind, Error> {
    let crv = jwk
        .crv
        .as_deref()
        .ok_or_else(|| Error::key("JWK is missing \"crv\""))?;
    let kind = match jwk.kty.as_str() {
        "EC" => KeyKind::from_ec_curve(crv),
        _ => (crv == "Ed25519").then_some(KeyKind::Ed25519),
    };
    kind.ok_or_else(|| {
        let name = format!("{} {crv}", jwk.kty);
        KeyRejected::UnsupportedKeyType(Escaped::new(&name)).into()
    })
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
