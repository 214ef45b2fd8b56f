//! The ring backend. ring cannot generate keys, has no P-521, and parses
//! the public key on every verification (it offers no pre-parsed public key).

use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, UnparsedPublicKey};

use crate::error::{Error, KeyRejected};
use crate::{Algorithm, KeyKind};

pub(crate) const NAME: &str = "ring";

algorithm_tables!(signature, None, None);

key_pair_common!(signature);
sha2_digests!(ring::digest);
hmac_sha256!(ring::hmac);

impl KeyPair {
    /// ring signs only with 2048..=4096-bit moduli and exponents of at least 65537.
    pub(crate) fn check_rsa_limits(bits: usize, exponent: &[u8]) -> Result<(), KeyRejected> {
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

    /// An ECDSA key from its fixed-length scalar and uncompressed point;
    /// the two must belong together.
    pub(crate) fn ecdsa(kind: KeyKind, scalar: &[u8], point: &[u8]) -> Result<Self, Error> {
        let alg = ecdsa_signing(kind).ok_or_else(no_p521)?;
        signature::EcdsaKeyPair::from_private_key_and_public_key(
            alg,
            scalar,
            point,
            &SystemRandom::new(),
        )
        .map(KeyPair::Ecdsa)
        .map_err(|_| KeyRejected::Inconsistent.into())
    }

    /// ring cannot derive an EC public point from the scalar alone.
    pub(crate) fn ecdsa_public_point(_kind: KeyKind, _sec1_der: &[u8]) -> Result<Vec<u8>, Error> {
        Err(KeyRejected::BackendLimit(
            "the EC private key does not carry its public point, which the ring backend cannot compute; re-export it with `openssl ec` or use the aws-lc-rs backend",
        )
        .into())
    }

    /// Signs with `alg`, which the caller has checked fits this key.
    pub(crate) fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>, Error> {
        let failed = |_| Error::backend("ring failed to sign");
        match self {
            KeyPair::Rsa(pair) => {
                let encoding = rsa_encoding(alg).ok_or_else(|| wrong_key(alg))?;
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(encoding, &SystemRandom::new(), message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            KeyPair::Ecdsa(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            KeyPair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A public key bound to one algorithm (ring re-reads it per call).
pub(crate) struct PublicKey(UnparsedPublicKey<Vec<u8>>);

impl PublicKey {
    /// `key` is PKCS#1 `RSAPublicKey` DER for RSA, the uncompressed point
    /// for ECDSA, the 32 raw bytes for Ed25519.
    pub(crate) fn new(key: &[u8], alg: Algorithm) -> Result<Self, Error> {
        let verification = verification(alg).ok_or_else(no_p521)?;
        Ok(PublicKey(UnparsedPublicKey::new(
            verification,
            key.to_vec(),
        )))
    }

    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.0.verify(message, sig).map_err(|_| Error::BadSignature)
    }
}

/// Checks that an uncompressed point lies on `kind`'s curve. ring has no
/// call that only validates a point, but ECDH validates the peer's: one
/// agreement with a throwaway key does it, at import time only.
pub(crate) fn check_ec_point(kind: KeyKind, point: &[u8]) -> Result<(), Error> {
    use ring::agreement;
    let curve = match kind {
        KeyKind::EcP256 => &agreement::ECDH_P256,
        KeyKind::EcP384 => &agreement::ECDH_P384,
        _ => return Err(no_p521()),
    };
    let rng = SystemRandom::new();
    let ours = agreement::EphemeralPrivateKey::generate(curve, &rng)
        .map_err(|_| Error::backend("ring could not make an ephemeral EC key"))?;
    agreement::agree_ephemeral(
        ours,
        &agreement::UnparsedPublicKey::new(curve, point),
        |_| (),
    )
    .map_err(|_| KeyRejected::BadPoint("it is not on the curve").into())
}

/// Fills `buf` from the operating system's generator.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::backend("ring random generator failed"))
}
