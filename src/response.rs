//! The response-signing profile: an API signs every response, either in
//! three headers (key id, nonce token, signature over
//! `{body};{status};{token}`) or as an embedded compact JWS that may wrap an
//! encrypted JWE; the integrator verifies it with the API's public keys.

mod profile;
mod signer;
mod verifier;

pub use profile::{InputPart, ResponseMode, ResponseProfile, SignatureEncoding};
pub use signer::{NestingOrder, ResponseSigner, SignatureHeaders};
pub use verifier::ResponseVerifier;
