//! Keys that never leave an HSM: [`Pkcs11Signer`] signs through any
//! PKCS#11 module (feature `pkcs11`), found by field or by an RFC 7512
//! `pkcs11:` URI ([`KeyLocation`]).

mod location;
mod signer;

pub use location::{KeyLocation, KeyMatch, Pin, TokenMatch};
pub use signer::Pkcs11Signer;
