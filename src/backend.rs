//! The crypto backends, chosen at compile time.
//!
//! Each backend module offers the same small surface: an RSA key pair built
//! from PKCS#1 DER, a public key built from PKCS#1 DER, SHA-256 and random
//! bytes. Everything above this module reaches a backend only through
//! `key`, `sign` and `verify`. With both features on, aws-lc-rs is used; the
//! choice is made by `cfg`, so there is no global state and nothing to panic.

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "signed-payloads needs a crypto backend: enable the `aws-lc-rs` feature (the default) or the `ring` feature"
);

/// The algorithm tables of a backend whose `signature` module follows ring's
/// API (aws-lc-rs and ring both do): parameters to verify, encodings to sign.
macro_rules! rsa_algorithm_tables {
    ($signature:ident) => {
        fn verification(alg: Algorithm) -> &'static $signature::RsaParameters {
            match alg {
                Algorithm::RS256 => &$signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &$signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &$signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &$signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &$signature::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &$signature::RSA_PSS_2048_8192_SHA512,
            }
        }

        fn encoding(alg: Algorithm) -> &'static dyn $signature::RsaEncoding {
            match alg {
                Algorithm::RS256 => &$signature::RSA_PKCS1_SHA256,
                Algorithm::RS384 => &$signature::RSA_PKCS1_SHA384,
                Algorithm::RS512 => &$signature::RSA_PKCS1_SHA512,
                Algorithm::PS256 => &$signature::RSA_PSS_SHA256,
                Algorithm::PS384 => &$signature::RSA_PSS_SHA384,
                Algorithm::PS512 => &$signature::RSA_PSS_SHA512,
            }
        }
    };
}

// Feature `jwe` needs aws-lc-rs for RSA-OAEP (ring has none) but does not
// make it the signature backend: a `ring` build keeps signing on ring.
#[cfg(any(feature = "aws-lc-rs", feature = "jwe"))]
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) mod aws_lc;
#[cfg(feature = "ring")]
// With both features on, ring is compiled only for the cross-backend tests.
#[cfg_attr(feature = "aws-lc-rs", allow(dead_code))]
pub(crate) mod ring;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use self::ring as active;
#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc as active;

/// The name of the backend in use, for logs and diagnostics.
pub const ACTIVE_BACKEND: &str = active::NAME;
