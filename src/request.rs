//! The request-signing profile: a program's backend signs its client's JSON
//! payload as a compact JWT, and the API verifies it against the program's
//! registered keys before acting on it.

mod content_type;
mod node;
mod signer;
mod verifier;

pub use content_type::{JWT_CONTENT_TYPE, check_content_type};
pub use signer::RequestSigner;
pub use verifier::{BodyVerifier, RequestVerifier, VerifyFuture};

#[cfg(feature = "axum")]
pub(crate) use verifier::SLACK;
