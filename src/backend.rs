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

#[cfg(feature = "aws-lc-rs")]
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
