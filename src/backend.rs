//! The crypto backends, chosen at compile time.
//!
//! Each backend module offers the same small surface: a key pair (RSA from
//! PKCS#1 DER, ECDSA from its scalar and point, Ed25519 from its seed and
//! public key), a public key bound to one algorithm, an EC point check,
//! SHA-256 and random bytes. Everything above this module reaches a backend only through
//! `key`, `sign` and `verify`. With both features on, aws-lc-rs is used; the
//! choice is made by `cfg`, so there is no global state and nothing to panic.

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "signed-payloads needs a crypto backend: enable the `aws-lc-rs` feature (the default) or the `ring` feature"
);

/// The algorithm tables of a backend whose `signature` module follows ring's
/// API (aws-lc-rs and ring both do): what verifies each algorithm, the RSA
/// encodings and the ECDSA curves to sign with. `$p521_verify` and
/// `$p521_sign` are the P-521 entries, `None` where the backend has none.
macro_rules! algorithm_tables {
    ($signature:ident, $p521_verify:expr, $p521_sign:expr) => {
        fn verification(alg: Algorithm) -> Option<&'static dyn $signature::VerificationAlgorithm> {
            Some(match alg {
                Algorithm::RS256 => &$signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &$signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &$signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &$signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &$signature::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &$signature::RSA_PSS_2048_8192_SHA512,
                Algorithm::ES256 => &$signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &$signature::ECDSA_P384_SHA384_FIXED,
                Algorithm::ES512 => return $p521_verify,
                Algorithm::EdDSA | Algorithm::Ed25519 => &$signature::ED25519,
            })
        }

        fn rsa_encoding(alg: Algorithm) -> Option<&'static dyn $signature::RsaEncoding> {
            Some(match alg {
                Algorithm::RS256 => &$signature::RSA_PKCS1_SHA256,
                Algorithm::RS384 => &$signature::RSA_PKCS1_SHA384,
                Algorithm::RS512 => &$signature::RSA_PKCS1_SHA512,
                Algorithm::PS256 => &$signature::RSA_PSS_SHA256,
                Algorithm::PS384 => &$signature::RSA_PSS_SHA384,
                Algorithm::PS512 => &$signature::RSA_PSS_SHA512,
                _ => return None,
            })
        }

        fn ecdsa_signing(kind: KeyKind) -> Option<&'static $signature::EcdsaSigningAlgorithm> {
            Some(match kind {
                KeyKind::EcP256 => &$signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                KeyKind::EcP384 => &$signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                KeyKind::EcP521 => return $p521_sign,
                _ => return None,
            })
        }

        /// What a backend without P-521 says when asked for it.
        #[allow(dead_code)]
        fn no_p521() -> Error {
            Error::Config(
                "EC P-521 keys (ES512) need the aws-lc-rs backend: enable the `aws-lc-rs` feature"
                    .into(),
            )
        }
    };
}

/// What both backends' key pairs share, their `signature` modules following
/// ring's API: the enum of key kinds and the constructors written the same
/// way on each.
macro_rules! key_pair_common {
    ($signature:ident) => {
        /// A private key, parsed once.
        pub(crate) enum KeyPair {
            Rsa($signature::RsaKeyPair),
            Ecdsa($signature::EcdsaKeyPair),
            Ed25519($signature::Ed25519KeyPair),
        }

        impl KeyPair {
            pub(crate) fn rsa(pkcs1_der: &[u8]) -> Result<Self, KeyRejected> {
                $signature::RsaKeyPair::from_der(pkcs1_der)
                    .map(KeyPair::Rsa)
                    .map_err(|_| KeyRejected::Inconsistent)
            }

            /// An Ed25519 key from its seed and public key, which must match.
            pub(crate) fn ed25519(seed: &[u8], public: &[u8]) -> Result<Self, KeyRejected> {
                $signature::Ed25519KeyPair::from_seed_and_public_key(seed, public)
                    .map(KeyPair::Ed25519)
                    .map_err(|_| KeyRejected::Inconsistent)
            }

            /// The Ed25519 public key of `seed`.
            pub(crate) fn ed25519_public(seed: &[u8]) -> Result<[u8; 32], KeyRejected> {
                use $signature::KeyPair as _;
                let pair = $signature::Ed25519KeyPair::from_seed_unchecked(seed)
                    .map_err(|_| KeyRejected::Inconsistent)?;
                pair.public_key()
                    .as_ref()
                    .try_into()
                    .map_err(|_| KeyRejected::Inconsistent)
            }
        }

        fn wrong_key(alg: Algorithm) -> Error {
            Error::backend(format!("{alg} asked of a key of another kind"))
        }
    };
}

/// SHA-2 digests; both backends' `digest` modules have the same API.
macro_rules! sha2_digests {
    ($digest:path) => {
        use $digest as digest;

        /// SHA-256, SHA-384 or SHA-512 of `data` (`bits` is 256, 384 or 512).
        #[cfg_attr(
            not(any(feature = "pkcs11", feature = "aws-kms", feature = "httpsig")),
            allow(dead_code)
        )]
        pub(crate) fn sha2(bits: usize, data: &[u8]) -> Vec<u8> {
            digest::digest(sha2_algorithm(bits), data).as_ref().to_vec()
        }

        /// The backend's SHA-2 of `bits` (256, 384 or 512).
        fn sha2_algorithm(bits: usize) -> &'static digest::Algorithm {
            match bits {
                384 => &digest::SHA384,
                512 => &digest::SHA512,
                _ => &digest::SHA256,
            }
        }

        #[cfg(feature = "httpsig")]
        pub(crate) use sha2_stream::Sha2Stream;

        #[cfg(feature = "httpsig")]
        mod sha2_stream {
            use super::digest;

            /// A SHA-2 digest fed in pieces, for a body that streams
            /// (`bits` is 256, 384 or 512).
            #[derive(Clone)]
            pub(crate) struct Sha2Stream(digest::Context);

            impl Sha2Stream {
                pub(crate) fn new(bits: usize) -> Self {
                    Sha2Stream(digest::Context::new(super::sha2_algorithm(bits)))
                }

                pub(crate) fn update(&mut self, data: &[u8]) {
                    self.0.update(data);
                }

                pub(crate) fn finish(self) -> Vec<u8> {
                    self.0.finish().as_ref().to_vec()
                }
            }
        }

        /// SHA-256 of `data`, as a fixed-size array.
        pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
            let mut out = [0; 32];
            out.copy_from_slice(digest::digest(sha2_algorithm(256), data).as_ref());
            out
        }
    };
}

/// HMAC-SHA256 for RFC 9421's `hmac-sha256` (feature `httpsig`); both
/// backends' `hmac` modules have the same API.
macro_rules! hmac_sha256 {
    ($hmac:path) => {
        /// The HMAC-SHA256 of `data` under `key`.
        #[cfg(feature = "httpsig")]
        pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
            use $hmac as hmac;
            let key = hmac::Key::new(hmac::HMAC_SHA256, key);
            hmac::sign(&key, data).as_ref().to_vec()
        }

        /// Checks `tag` in constant time.
        #[cfg(feature = "httpsig")]
        pub(crate) fn hmac_sha256_verify(key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), Error> {
            use $hmac as hmac;
            let key = hmac::Key::new(hmac::HMAC_SHA256, key);
            hmac::verify(&key, data, tag).map_err(|_| Error::BadSignature)
        }
    };
}

// Feature `jwe` needs aws-lc-rs for RSA-OAEP (ring has none) but does not
// make it the signature backend: a `ring` build keeps signing on ring.
#[cfg(any(feature = "aws-lc-rs", feature = "jwe"))]
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code, unused_imports))]
pub(crate) mod aws_lc;
#[cfg(feature = "ring")]
// With both features on, ring is compiled only for the cross-backend tests.
#[cfg_attr(feature = "aws-lc-rs", allow(dead_code, unused_imports))]
pub(crate) mod ring;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use self::ring as active;
#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc as active;

/// The name of the backend in use, for logs and diagnostics.
pub const ACTIVE_BACKEND: &str = active::NAME;
