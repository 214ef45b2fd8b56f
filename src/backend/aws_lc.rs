//! The aws-lc-rs backend: the default, fastest RSA here, and the only one
//! that can generate keys.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use zeroize::Zeroizing;

use crate::error::{Error, KeyRejected};
use crate::{Algorithm, KeyKind};

pub(crate) const NAME: &str = "aws-lc-rs";

algorithm_tables!(
    signature,
    Some(&signature::ECDSA_P521_SHA512_FIXED),
    Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING)
);

key_pair_common!(signature);
sha2_digests!(aws_lc_rs::digest);
hmac_sha256!(aws_lc_rs::hmac);

impl KeyPair {
    /// aws-lc signs with every RSA key the crate accepts (2048..=8192 bits, e >= 3).
    pub(crate) fn check_rsa_limits(_bits: usize, _exponent: &[u8]) -> Result<(), KeyRejected> {
        Ok(())
    }

    /// An ECDSA key from its fixed-length scalar and uncompressed point;
    /// the two must belong together.
    pub(crate) fn ecdsa(kind: KeyKind, scalar: &[u8], point: &[u8]) -> Result<Self, Error> {
        let alg = ecdsa_signing(kind).ok_or(KeyRejected::Inconsistent)?;
        signature::EcdsaKeyPair::from_private_key_and_public_key(alg, scalar, point)
            .map(KeyPair::Ecdsa)
            .map_err(|_| KeyRejected::Inconsistent.into())
    }

    /// The uncompressed public point of an EC scalar, for key files that
    /// leave it out (SEC1 makes it optional): `sec1_der` is the key's
    /// `ECPrivateKey`.
    pub(crate) fn ecdsa_public_point(kind: KeyKind, sec1_der: &[u8]) -> Result<Vec<u8>, Error> {
        let alg = ecdsa_signing(kind).ok_or(KeyRejected::Inconsistent)?;
        let pair = signature::EcdsaKeyPair::from_private_key_der(alg, sec1_der)
            .map_err(|_| KeyRejected::Inconsistent)?;
        Ok(pair.public_key().as_ref().to_vec())
    }

    /// Signs with `alg`, which the caller has checked fits this key.
    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::backend("aws-lc-rs failed to sign");
        match self {
            KeyPair::Rsa(pair) => {
                let encoding = rsa_encoding(alg).ok_or_else(|| wrong_key(alg))?;
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &SystemRandom::new(), message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            KeyPair::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            KeyPair::Ed25519(pair) => Ok(pair.try_sign(message).map_err(failed)?.as_ref().to_vec()),
        }
    }
}

/// A public key bound to one algorithm, parsed once.
pub(crate) struct PublicKey(ParsedPublicKey);

impl PublicKey {
    /// `key` is PKCS#1 `RSAPublicKey` DER for RSA, the uncompressed point
    /// for ECDSA, the 32 raw bytes for Ed25519.
    pub(crate) fn new(key: &[u8], alg: Algorithm) -> Result<Self, Error> {
        let verification = verification(alg).ok_or_else(no_p521)?;
        ParsedPublicKey::new(verification, key)
            .map(PublicKey)
            .map_err(|_| KeyRejected::Inconsistent.into())
    }

    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.0
            .verify_sig(message, sig)
            .map_err(|_| Error::BadSignature)
    }
}

/// Checks that an uncompressed point lies on `kind`'s curve: aws-lc parses
/// and validates it when it builds a public key.
pub(crate) fn check_ec_point(kind: KeyKind, point: &[u8]) -> Result<(), Error> {
    ParsedPublicKey::new(
        verification(kind.default_algorithm()).ok_or_else(no_p521)?,
        point,
    )
    .map(drop)
    .map_err(|_| KeyRejected::BadPoint("it is not on the curve").into())
}

/// Fills `buf` from the operating system's generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::backend("aws-lc-rs random generator failed"))
}

/// Generates an RSA key pair and returns it as PKCS#8 DER in memory wiped on drop.
pub(crate) fn generate_rsa_pkcs8(bits: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    let size = match bits {
        2048 => KeySize::Rsa2048,
        3072 => KeySize::Rsa3072,
        4096 => KeySize::Rsa4096,
        8192 => KeySize::Rsa8192,
        _ => {
            return Err(Error::key(
                "key generation supports 2048, 3072, 4096 or 8192 bits",
            ));
        }
    };
    let pair =
        KeyPair::generate(size).map_err(|_| Error::backend("aws-lc-rs key generation failed"))?;
    let der = pair
        .as_der()
        .map_err(|_| Error::backend("aws-lc-rs key export failed"))?;
    Ok(Zeroizing::new(der.as_ref().to_vec()))
}

/// Generates an EC or Ed25519 key pair as PKCS#8 DER (v1) in memory wiped on drop.
pub(crate) fn generate_pkcs8(kind: KeyKind) -> Result<Zeroizing<Vec<u8>>, Error> {
    let failed = |_| Error::backend("aws-lc-rs key generation failed");
    let document = match kind {
        KeyKind::Rsa => return generate_rsa_pkcs8(2048),
        KeyKind::Ed25519 => signature::Ed25519KeyPair::generate()
            .and_then(|pair| pair.to_pkcs8v1())
            .map_err(failed)?,
        _ => {
            let alg = ecdsa_signing(kind).ok_or_else(no_p521)?;
            signature::EcdsaKeyPair::generate(alg)
                .and_then(|pair| pair.to_pkcs8v1())
                .map_err(failed)?
        }
    };
    Ok(Zeroizing::new(document.as_ref().to_vec()))
}

/// RSA-OAEP key unwrapping, for JWE (feature `jwe`).
#[cfg(feature = "jwe")]
pub(crate) struct OaepDecryptor(aws_lc_rs::rsa::OaepPrivateDecryptingKey);

#[cfg(feature = "jwe")]
impl OaepDecryptor {
    pub(crate) fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyRejected> {
        let key = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(pkcs8)
            .map_err(|_| KeyRejected::Inconsistent)?;
        aws_lc_rs::rsa::OaepPrivateDecryptingKey::new(key)
            .map(OaepDecryptor)
            .map_err(|_| KeyRejected::Inconsistent)
    }

    /// Decrypts with OAEP over SHA-256 (`sha256`) or SHA-1.
    pub(crate) fn decrypt(
        &self,
        sha256: bool,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let algorithm = if sha256 {
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256
        } else {
            &aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1
        };
        let mut out = Zeroizing::new(vec![0; self.0.min_output_size()]);
        let len = self
            .0
            .decrypt(algorithm, ciphertext, &mut out, None)
            .map_err(|_| Error::DecryptionFailed)?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

/// RSA-OAEP key wrapping, for JWE (feature `jwe`).
#[cfg(feature = "jwe")]
pub(crate) struct OaepEncryptor(aws_lc_rs::rsa::OaepPublicEncryptingKey);

#[cfg(feature = "jwe")]
impl OaepEncryptor {
    pub(crate) fn from_spki(spki: &[u8]) -> Result<Self, KeyRejected> {
        let key = aws_lc_rs::rsa::PublicEncryptingKey::from_der(spki)
            .map_err(|_| KeyRejected::Inconsistent)?;
        aws_lc_rs::rsa::OaepPublicEncryptingKey::new(key)
            .map(OaepEncryptor)
            .map_err(|_| KeyRejected::Inconsistent)
    }

    pub(crate) fn encrypt(&self, sha256: bool, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let algorithm = if sha256 {
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256
        } else {
            &aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1
        };
        let mut out = vec![0; self.0.ciphertext_size()];
        let len = self
            .0
            .encrypt(algorithm, plaintext, &mut out, None)
            .map_err(|_| Error::backend("aws-lc-rs RSA-OAEP encryption failed"))?
            .len();
        out.truncate(len);
        Ok(out)
    }
}

#[cfg(feature = "jwe")]
fn aes_gcm_key(key: &[u8]) -> Result<aws_lc_rs::aead::LessSafeKey, Error> {
    let algorithm = match key.len() {
        16 => &aws_lc_rs::aead::AES_128_GCM,
        32 => &aws_lc_rs::aead::AES_256_GCM,
        _ => return Err(Error::DecryptionFailed),
    };
    let key =
        aws_lc_rs::aead::UnboundKey::new(algorithm, key).map_err(|_| Error::DecryptionFailed)?;
    Ok(aws_lc_rs::aead::LessSafeKey::new(key))
}

/// AES-GCM decryption of `ciphertext || tag` in place; returns the plaintext length.
#[cfg(feature = "jwe")]
pub(crate) fn aes_gcm_open(
    key: &[u8],
    iv: [u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<usize, Error> {
    let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(iv);
    aes_gcm_key(key)?
        .open_in_place(nonce, aws_lc_rs::aead::Aad::from(aad), in_out)
        .map(|plaintext| plaintext.len())
        .map_err(|_| Error::DecryptionFailed)
}

/// AES-GCM encryption in place; returns the 16-byte tag.
#[cfg(feature = "jwe")]
pub(crate) fn aes_gcm_seal(
    key: &[u8],
    iv: [u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
) -> Result<[u8; 16], Error> {
    let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key(iv);
    let tag = aes_gcm_key(key)?
        .seal_in_place_separate_tag(nonce, aws_lc_rs::aead::Aad::from(aad), in_out)
        .map_err(|_| Error::backend("aws-lc-rs AES-GCM encryption failed"))?;
    let mut out = [0; 16];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}
