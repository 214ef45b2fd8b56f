//! Private keys of every kind: parsed once, never cloned, never printed,
//! wiped on drop.

use std::fmt;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::der::{self, DerKind, PrivateDer, RsaPrivateParts};
use super::public::PublicKey;
use super::source::{self, Source};
use crate::backend::active as backend;
use crate::error::{Error, Escaped, KeyRejected, Segment};
use crate::{Algorithm, KeyKind, base64url, json};

/// A private key: RSA, EC (P-256, P-384, P-521) or Ed25519.
///
/// Loads from PEM (`RSA PRIVATE KEY` and `EC PRIVATE KEY` as OpenSSL 1.x
/// writes them, `PRIVATE KEY` (PKCS#8 v1 or v2) as OpenSSL 3 writes it),
/// DER of each, and JWK (RSA with all CRT members; `EC` and `OKP` with
/// `d`). Encrypted keys are refused with a message saying to decrypt them
/// first.
///
/// There is no `Clone` (share it in an `Arc`), `Debug` shows only the kind,
/// size and thumbprint, and the crate's copy of the key bytes is zeroized
/// on drop. (The backend's own key object is freed by the backend; aws-lc
/// cleanses it, ring makes no promise.)
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::PrivateKey;
/// let pem = include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs8.pem");
/// let key = PrivateKey::from_pem(pem)?;
/// assert_eq!(key.public_key().bits(), 2048);
/// assert!(!format!("{key:?}").contains("MII"));
/// # Ok(()) }
/// ```
pub struct PrivateKey {
    pair: backend::KeyPair,
    public: PublicKey,
    secret: Secret,
}

/// The crate's copy of the secret, for export.
enum Secret {
    /// PKCS#1 `RSAPrivateKey` DER.
    Rsa(Zeroizing<Vec<u8>>),
    /// The EC scalar (fixed length) or the Ed25519 seed.
    Curve(Zeroizing<Vec<u8>>),
}

impl PrivateKey {
    /// Generates a new RSA key of 2048, 3072, 4096 or 8192 bits (aws-lc-rs backend only).
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for an unsupported size, [`Error::Backend`] if generation fails.
    #[cfg(feature = "aws-lc-rs")]
    pub fn generate(bits: usize) -> Result<Self, Error> {
        let pkcs8 = crate::backend::aws_lc::generate_rsa_pkcs8(bits)?;
        Self::from_der(&pkcs8)
    }

    /// Generates a new key of `kind` (RSA: 2048 bits) (aws-lc-rs backend only).
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use signed_payloads::{KeyKind, PrivateKey};
    /// let key = PrivateKey::generate_kind(KeyKind::Ed25519)?;
    /// assert_eq!(key.public_key().kind(), KeyKind::Ed25519);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if generation fails.
    #[cfg(feature = "aws-lc-rs")]
    pub fn generate_kind(kind: KeyKind) -> Result<Self, Error> {
        let pkcs8 = crate::backend::aws_lc::generate_pkcs8(kind)?;
        Self::from_der(&pkcs8)
    }

    /// Reads the first private key in a PEM file.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for bad PEM, DER or CRT values,
    /// [`Error::KeyRejected`] for encrypted, public, unsupported or small keys.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        Self::from_source(source::from_pem(pem)?)
    }

    /// Reads DER: PKCS#8 `PrivateKeyInfo` (v1 or v2), PKCS#1
    /// `RSAPrivateKey` or SEC1 `ECPrivateKey`.
    ///
    /// # Errors
    ///
    /// As for [`PrivateKey::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        Self::from_kind(der::sniff(der)?, der)
    }

    /// Reads a private JWK: `kty` `RSA` with `n`, `e`, `d`, `p`, `q`, `dp`,
    /// `dq`, `qi`; `EC` with `crv`, `x`, `y`, `d`; `OKP` with `crv`
    /// `Ed25519`, `x`, `d`. The key material only;
    /// [`KeySigner::from_jwk`](crate::KeySigner::from_jwk) also honours
    /// what the JWK declares (`alg`, `use`, `key_ops`, `kid`).
    ///
    /// # Errors
    ///
    /// As for [`PrivateKey::from_pem`]; an RSA JWK without the CRT members
    /// is refused, and so is a public key (`x`) that does not match `d`.
    pub fn from_jwk(json: &str) -> Result<Self, Error> {
        json::check(json.as_bytes(), Segment::Payload, 4)
            .map_err(|e| Error::key(format!("JWK: {e}")))?;
        let jwk: PrivateJwk = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("JWK: {}", json::describe(&e))))?;
        let member = |value: &Option<Zeroizing<String>>,
                      name: &str|
         -> Result<Zeroizing<Vec<u8>>, Error> {
            let value = value.as_ref().ok_or_else(|| {
                Error::key(format!(
                    "private JWK is missing \"{name}\" (all CRT members are required)"
                ))
            })?;
            base64url::decode(value.as_bytes())
                .map(Zeroizing::new)
                .ok_or_else(|| Error::key(format!("JWK member \"{name}\" is not valid base64url")))
        };
        if jwk.d.is_none() {
            return match jwk.kty.as_str() {
                "RSA" | "EC" | "OKP" => Err(KeyRejected::NotPrivate.into()),
                _ => Err(KeyRejected::UnsupportedKeyType(Escaped::new(&jwk.kty)).into()),
            };
        }
        match jwk.kty.as_str() {
            "RSA" => {}
            "EC" | "OKP" => {
                let public = crate::Jwk::from_json(json)?;
                let public = PublicKey::from_jwk(&public)?;
                let d = member(&jwk.d, "d")?;
                if Some(d.len()) != public.kind().field_len() {
                    return Err(Error::key(
                        "JWK member \"d\" does not have the curve's length",
                    ));
                }
                return Self::from_parts(public, d);
            }
            "oct" => return Err(KeyRejected::Symmetric.into()),
            other => return Err(KeyRejected::UnsupportedKeyType(Escaped::new(other)).into()),
        }
        if jwk.oth.is_some() {
            return Err(Error::key("multi-prime RSA private keys are not supported"));
        }
        let (n, e, d) = (
            member(&jwk.n, "n")?,
            member(&jwk.e, "e")?,
            member(&jwk.d, "d")?,
        );
        let (p, q) = (member(&jwk.p, "p")?, member(&jwk.q, "q")?);
        let (dp, dq, qi) = (
            member(&jwk.dp, "dp")?,
            member(&jwk.dq, "dq")?,
            member(&jwk.qi, "qi")?,
        );
        let parts = RsaPrivateParts {
            n: &n,
            e: &e,
            d: &d,
            p: &p,
            q: &q,
            dp: &dp,
            dq: &dq,
            qi: &qi,
        };
        Self::from_pkcs1(der::encode_pkcs1_private(&parts))
    }

    /// Reads any supported encoding, telling them apart by their content.
    ///
    /// # Errors
    ///
    /// As for [`PrivateKey::from_pem`].
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        Self::from_source(source::detect(input)?)
    }

    fn from_source(source: Source<'_>) -> Result<Self, Error> {
        match source {
            Source::Der(kind, der) => Self::from_kind(kind, &der),
            Source::Jwk(text) => Self::from_jwk(text),
        }
    }

    fn from_kind(kind: DerKind, der: &[u8]) -> Result<Self, Error> {
        let private = match kind {
            DerKind::Pkcs1Private => PrivateDer::Rsa(der),
            DerKind::Sec1Private => der::parse_sec1(der, None)?,
            DerKind::Pkcs8Private => der::parse_pkcs8(der)?,
            DerKind::Spki | DerKind::Pkcs1Public | DerKind::Certificate => {
                return Err(KeyRejected::NotPrivate.into());
            }
        };
        match private {
            PrivateDer::Rsa(pkcs1) => Self::from_pkcs1(Zeroizing::new(pkcs1.to_vec())),
            PrivateDer::Ec {
                kind,
                scalar,
                point,
                sec1,
            } => {
                let field = kind.field_len().unwrap_or(0);
                // RFC 5915 wants the scalar at the curve's length; some
                // writers drop its leading zeros.
                let scalar = der::strip_zeros(scalar);
                if scalar.len() > field {
                    return Err(Error::key("the EC private scalar is longer than the curve"));
                }
                let mut fixed = Zeroizing::new(vec![0; field]);
                fixed[field - scalar.len()..].copy_from_slice(scalar);
                let point = match point {
                    Some(point) => point.to_vec(),
                    None => backend::KeyPair::ecdsa_public_point(kind, sec1)?,
                };
                Self::from_parts(PublicKey::from_ec_point(kind, &point)?, fixed)
            }
            PrivateDer::Ed25519 { seed, public } => {
                if seed.len() != 32 {
                    return Err(Error::key("an Ed25519 private key is a 32-byte seed"));
                }
                let derived = backend::KeyPair::ed25519_public(seed)?;
                if public.is_some_and(|public| public != derived) {
                    return Err(KeyRejected::Inconsistent.into());
                }
                Self::from_parts(
                    PublicKey::from_ed25519(&derived)?,
                    Zeroizing::new(seed.to_vec()),
                )
            }
        }
    }

    /// An EC or Ed25519 key from its public half and its fixed-length
    /// secret (EC scalar or Ed25519 seed).
    fn from_parts(public: PublicKey, secret: Zeroizing<Vec<u8>>) -> Result<Self, Error> {
        let pair = match public.kind() {
            KeyKind::Ed25519 => backend::KeyPair::ed25519(&secret, public.backend_bytes())?,
            kind => backend::KeyPair::ecdsa(kind, &secret, public.backend_bytes())?,
        };
        let key = PrivateKey {
            pair,
            public,
            secret: Secret::Curve(secret),
        };
        key.check_pairwise()?;
        Ok(key)
    }

    fn from_pkcs1(pkcs1: Zeroizing<Vec<u8>>) -> Result<Self, Error> {
        let parts = der::parse_pkcs1_private(&pkcs1)?;
        let public = PublicKey::from_components(parts.n, parts.e)?;
        backend::KeyPair::check_rsa_limits(public.bits(), parts.e)?;
        let pair = backend::KeyPair::rsa(&pkcs1)?;
        let key = PrivateKey {
            pair,
            public,
            secret: Secret::Rsa(pkcs1),
        };
        key.check_pairwise()?;
        Ok(key)
    }

    /// Signs and verifies once, so that a key whose halves do not belong
    /// together (inconsistent RSA CRT values would leak the factors through
    /// a faulty signature) is refused at load time whatever the backend
    /// checks itself.
    fn check_pairwise(&self) -> Result<(), Error> {
        const PROBE: &[u8] = b"signed-payloads pairwise consistency check";
        let alg = self.public.kind().default_algorithm();
        let signature = self
            .pair
            .sign(alg, PROBE)
            .map_err(|_| KeyRejected::Inconsistent)?;
        let verifier = backend::PublicKey::new(self.public.backend_bytes(), alg)?;
        verifier
            .verify(PROBE, &signature)
            .map_err(|_| KeyRejected::Inconsistent.into())
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key as PKCS#8 DER (v1), in memory wiped on drop. Handle with care.
    pub fn secret_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        match &self.secret {
            Secret::Rsa(pkcs1) => der::wrap_pkcs8(pkcs1),
            Secret::Curve(secret) => {
                der::encode_curve_pkcs8(self.public.kind(), secret, self.public.backend_bytes())
            }
        }
    }

    /// The key as a `PRIVATE KEY` PEM block, in memory wiped on drop. Handle with care.
    pub fn secret_pkcs8_pem(&self) -> Zeroizing<String> {
        // Written here rather than by the pem crate, so that every buffer
        // that holds the key is one of ours and is wiped: each is sized
        // once, since a buffer that grows leaves its old copy behind.
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----\n";
        const END: &str = "-----END PRIVATE KEY-----\n";
        let der = self.secret_pkcs8_der();
        let base64 = Zeroizing::new(crate::base64url::encode_standard(&der));
        let lines = base64.len().div_ceil(64);
        let mut text = Zeroizing::new(String::with_capacity(
            BEGIN.len() + base64.len() + lines + END.len(),
        ));
        text.push_str(BEGIN);
        for line in base64.as_bytes().chunks(64) {
            // Base64 is ASCII, so every 64-byte chunk is UTF-8.
            text.push_str(std::str::from_utf8(line).unwrap_or_default());
            text.push('\n');
        }
        text.push_str(END);
        text
    }

    /// Signs `message` with the backend in use.
    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.pair.sign(alg, message)
    }

    #[cfg(all(test, feature = "aws-lc-rs", feature = "ring"))]
    pub(crate) fn secret_pkcs1_der(&self) -> &[u8] {
        match &self.secret {
            Secret::Rsa(pkcs1) => pkcs1,
            Secret::Curve(_) => &[],
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.public.kind())
            .field("bits", &self.public.bits())
            .field("public_thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

/// A private JWK as read from JSON; every secret member is wiped on drop.
#[derive(Deserialize)]
struct PrivateJwk {
    kty: String,
    n: Option<Zeroizing<String>>,
    e: Option<Zeroizing<String>>,

    d: Option<Zeroizing<String>>,
    p: Option<Zeroizing<String>>,
    q: Option<Zeroizing<String>>,
    dp: Option<Zeroizing<String>>,
    dq: Option<Zeroizing<String>>,
    qi: Option<Zeroizing<String>>,
    oth: Option<serde::de::IgnoredAny>,
}

#[cfg(all(test, feature = "aws-lc-rs", feature = "ring"))]
mod cross_backend {
    use super::*;
    use crate::backend::{aws_lc, ring};

    const PEM: &str = include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs1.pem");

    #[test]
    fn pkcs1_signatures_are_identical_and_pss_cross_verifies() {
        let key = PrivateKey::from_pem(PEM).unwrap();
        let der = key.secret_pkcs1_der();
        let a = aws_lc::KeyPair::rsa(der).unwrap();
        let r = ring::KeyPair::rsa(der).unwrap();
        let pkcs1_public = key.public_key().to_pkcs1_der().unwrap();
        for alg in Algorithm::ALL.into_iter().filter(|a| a.fits(KeyKind::Rsa)) {
            let msg = b"cross-backend message";
            let sa = a.sign(alg, msg).unwrap();
            let sr = r.sign(alg, msg).unwrap();
            if !alg.is_pss() {
                assert_eq!(sa, sr, "{alg}: PKCS#1 v1.5 is deterministic");
            }
            ring::PublicKey::new(pkcs1_public, alg)
                .unwrap()
                .verify(msg, &sa)
                .unwrap();
            aws_lc::PublicKey::new(pkcs1_public, alg)
                .unwrap()
                .verify(msg, &sr)
                .unwrap();
        }
    }
}
