//! The ring backend. ring cannot generate RSA keys and parses the public key
//! on every verification (it offers no pre-parsed RSA public key).

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, UnparsedPublicKey};

use crate::Algorithm;
use crate::error::{Error, KeyRejected};

pub(crate) const NAME: &str = "ring";

rsa_algorithm_tables!(signature);

/// An RSA private key, parsed once.
pub(crate) struct KeyPair(signature::RsaKeyPair);

impl KeyPair {
    /// ring signs only with 2048..=4096-bit moduli and exponents of at least 65537.
    pub(crate) fn check_limits(bits: usize, exponent: &[u8]) -> Result<(), KeyRejected> {
        if bits > 4096 {
            return Err(KeyRejected::BackendLimit(
                "the ring backend signs only with moduli up to 4096 bits",
            ));
        }
        if exponent.len() < 3 || (exponent.len() == 3 && exponent < &[1, 0, 1][..]) {
            return Err(KeyRejected::BackendLimit(
                "the ring backend signs only with public exponents of at least 65537",
            ));
        }
        Ok(())
    }

    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyRejected> {
        signature::RsaKeyPair::from_der(der)
            .map(KeyPair)
            .map_err(|_| KeyRejected::Inconsistent)
    }

    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut sig = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(encoding(alg), &SystemRandom::new(), message, &mut sig)
            .map_err(|_| Error::backend("ring failed to sign"))?;
        Ok(sig)
    }
}

/// An RSA public key bound to one algorithm (ring re-reads the DER per call).
pub(crate) struct PublicKey(UnparsedPublicKey<Vec<u8>>);

impl PublicKey {
    pub(crate) fn new(pkcs1_der: &[u8], alg: Algorithm) -> Result<Self, KeyRejected> {
        Ok(PublicKey(UnparsedPublicKey::new(
            verification(alg),
            pkcs1_der.to_vec(),
        )))
    }

    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.0.verify(message, sig).map_err(|_| Error::BadSignature)
    }
}

/// Fills `buf` from the operating system's generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::backend("ring random generator failed"))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}
