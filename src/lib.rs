#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod async_sign;
#[cfg(feature = "aws-kms")]
pub mod aws_kms;
#[cfg(feature = "axum")]
pub mod axum;
mod backend;
mod base64url;
mod claims;
mod clock;
pub mod dangerous;
pub mod detached;
mod error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "httpsig")]
pub mod httpsig;
mod json;
#[cfg(feature = "jwe")]
pub mod jwe;
pub mod jws;
mod key;
mod key_set;
mod key_source;
mod limits;
mod nonce;
mod pipeline;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
mod registry;
#[cfg(feature = "jwks-http")]
mod remote_jwks;
pub mod request;
#[cfg(feature = "reqwest")]
mod reqwest;
pub mod response;
mod sign;
mod signing_keys;
mod signing_source;
pub mod store;
#[cfg(any(feature = "postgres", feature = "redis"))]
mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod verified;
mod verify;

pub use algorithm::Algorithm;
pub use async_sign::{AsyncSigner, SignFuture};
pub use backend::ACTIVE_BACKEND;
pub use claims::{ClaimError, ClaimsPolicy};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{Error, ErrorKind, Escaped, KeyRejected, Malformed, Result, Segment};
pub use jws::Header;
pub use key::{Jwk, JwkSet, KeyKind, KeyPurpose, PrivateKey, PublicKey};
pub use key_set::{KeySet, MAX_ACTIVE_KEYS};
pub use key_source::{AsyncKeySource, KeySetFuture, KeySource, Scope};
pub use limits::Limits;
#[cfg(feature = "redis")]
pub use nonce::RedisNonceStore;
pub use nonce::{
    AsyncNonceStore, MemoryNonceStore, NonceCheck, NonceFuture, NonceStatus, NonceStore,
};
pub use registry::{KeyRegistry, VerificationKey};
#[cfg(feature = "jwks-http")]
pub use remote_jwks::RemoteJwks;
pub use sign::{KeySigner, Signer};
pub use signing_keys::SigningKeys;
pub use signing_source::SigningSource;
pub use verified::{Encryption, Verified};
pub use verify::{KeyVerifier, Verifier};
