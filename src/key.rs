//! Keys of every kind (RSA, EC, Ed25519): parsed once, from every format
//! integrators are handed.

mod der;
mod jwk;
mod kind;
mod private;
mod public;
mod roca;
mod source;

pub use jwk::{Jwk, JwkSet, KeyPurpose};
pub use kind::KeyKind;
pub use private::PrivateKey;
pub use public::PublicKey;
