//! The aws-lc-rs backend: the default, fastest RSA here, and the only one
//! that can generate keys.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaEncoding, RsaParameters};
use aws_lc_rs::{digest, encoding::AsDer};
use zeroize::Zeroizing;

use crate::Algorithm;
use crate::error::{Error, KeyRejected};

pub(crate) const NAME: &str = "aws-lc-rs";

fn verification(alg: Algorithm) -> &'static RsaParameters {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
    }
}

fn encoding(alg: Algorithm) -> &'static dyn RsaEncoding {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_SHA512,
    }
}

/// An RSA private key, parsed once.
pub(crate) struct KeyPair(signature::RsaKeyPair);

impl KeyPair {
    /// aws-lc signs with every key the crate accepts (2048..=8192 bits, e >= 3).
    pub(crate) fn check_limits(_bits: usize, _exponent: &[u8]) -> Result<(), KeyRejected> {
        Ok(())
    }

    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyRejected> {
        signature::RsaKeyPair::from_der(der)
            .map(KeyPair)
            .map_err(|_| KeyRejected::Inconsistent)
    }

    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(encoding(alg), &SystemRandom::new(), message, &mut sig)
            .map_err(|_| Error::backend("aws-lc-rs failed to sign"))?;
        Ok(sig)
    }
}

/// An RSA public key bound to one algorithm, parsed once.
pub(crate) struct PublicKey(ParsedPublicKey);

impl PublicKey {
    pub(crate) fn new(pkcs1_der: &[u8], alg: Algorithm) -> Result<Self, KeyRejected> {
        ParsedPublicKey::new(verification(alg), pkcs1_der)
            .map(PublicKey)
            .map_err(|_| KeyRejected::Inconsistent)
    }

    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.0
            .verify_sig(message, sig)
            .map_err(|_| Error::BadSignature)
    }
}

/// Fills `buf` from the operating system's generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::backend("aws-lc-rs random generator failed"))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Generates a key pair and returns it as PKCS#8 DER in memory wiped on drop.
pub(crate) fn generate_pkcs8(bits: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
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
