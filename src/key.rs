//! Keys of every kind (RSA, EC, Ed25519): parsed once, from every format
//! integrators are handed.

mod der;
mod jwk;
mod kind;
mod private;
mod public;
mod roca;
mod source;

#[cfg(feature = "httpsig")]
pub(crate) use jwk::{Excluded, excluded_by};
pub use jwk::{Jwk, JwkSet, KeyPurpose};
pub use kind::KeyKind;
pub use private::PrivateKey;
pub use public::PublicKey;

/// What a PKCS#11 token says of an EC or Ed25519 key (`CKA_EC_PARAMS`), as a kind.
#[cfg(feature = "pkcs11")]
pub(crate) use der::curve_of_ec_params;

/// The public key a PKCS#11 `CKA_EC_POINT` holds, for a key of `kind`.
#[cfg(feature = "pkcs11")]
pub(crate) fn public_from_ec_point_attribute(
    kind: KeyKind,
    value: &[u8],
) -> Result<PublicKey, crate::Error> {
    let point = der::ec_point_attribute(value);
    match kind {
        KeyKind::Ed25519 => PublicKey::from_ed25519(point),
        kind => PublicKey::from_ec_point(kind, point),
    }
}

/// The JOSE `R || S` of a DER ECDSA signature (AWS KMS returns DER).
#[cfg(feature = "aws-kms")]
pub(crate) use der::ecdsa_signature_to_fixed;
