//! RSA keys: parsed once, from every format integrators are handed.

mod der;
mod jwk;
mod private;
mod public;
mod roca;
mod source;

pub use jwk::{Jwk, JwkSet, KeyPurpose};
pub use private::PrivateKey;
pub use public::PublicKey;
