#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod algorithm;
mod backend;
mod base64url;
mod clock;
pub mod dangerous;
mod error;
mod json;
pub mod jws;
mod key;
mod limits;
mod registry;
mod sign;
mod signing_keys;
mod verified;
mod verify;

pub use algorithm::Algorithm;
pub use backend::ACTIVE_BACKEND;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, Escaped, KeyRejected, Malformed, Result, Segment};
pub use jws::Header;
pub use key::{Jwk, JwkSet, PrivateKey, PublicKey};
pub use limits::Limits;
pub use registry::{KeyRegistry, KeySet, MAX_ACTIVE_KEYS, VerificationKey};
pub use sign::{RsaSigner, Signer};
pub use signing_keys::SigningKeys;
pub use verified::Verified;
pub use verify::{RsaVerifier, Verifier};
