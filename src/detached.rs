//! The detached-header profile: the body travels as it is, and a compact
//! JWS over it with an empty payload segment travels in one HTTP header
//! (Open Banking UK's `x-jws-signature`, and the APIs that copied it).

mod profile;
mod signer;
mod verifier;

pub use profile::{DetachedProfile, OB_IAT, OB_ISS, OB_TAN, PayloadEncoding};
pub use signer::DetachedSigner;
pub use verifier::{DetachedBodyVerifier, DetachedVerifier};
