//! Signing with keys behind a network call: the [`AsyncSigner`] trait.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::error::Error;
use crate::{Algorithm, Signer};

/// The future an [`AsyncSigner`] returns.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>>;

/// Something that produces signatures asynchronously: a cloud KMS, an HSM
/// service, a signer in another task.
///
/// Every [`Signer`] is an `AsyncSigner` whose future is ready at once (the
/// `signature` crate's pattern), so async code signs with either kind.
/// [`RequestSigner::remote`](crate::request::RequestSigner::remote) and
/// [`ResponseSigner::remote`](crate::response::ResponseSigner::remote) take
/// an `AsyncSigner`; signers built on one have only `*_async` methods.
///
/// A KMS signer holds the client and the key name, sends the signing input
/// (or its digest, if the KMS wants one) and returns the raw signature.
///
/// ```
/// use signed_payloads::{Algorithm, AsyncSigner, Error, SignFuture};
///
/// #[derive(Debug)]
/// struct Kms { key: String }
///
/// impl AsyncSigner for Kms {
///     fn algorithm(&self) -> Algorithm { Algorithm::PS256 }
///     fn key_id(&self) -> Option<&str> { Some(&self.key) }
///     fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
///         Box::pin(async move {
///             // let signature = kms_client.sign(&self.key, message).await?;
///             Err(Error::backend(format!("no KMS in this example ({} bytes)", message.len())))
///         })
///     }
/// }
/// ```
pub trait AsyncSigner: Debug + Send + Sync {
    /// The one algorithm this signer produces.
    fn algorithm(&self) -> Algorithm;
    /// The key id to put in the `kid` header, if any.
    fn key_id(&self) -> Option<&str>;
    /// Signs `message` (the JWS signing input).
    ///
    /// # Errors
    ///
    /// Whatever the key's home reports, as [`Error::Backend`] or
    /// [`Error::Unavailable`].
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;
}

impl<S: Signer + ?Sized> AsyncSigner for S {
    fn algorithm(&self) -> Algorithm {
        Signer::algorithm(self)
    }

    fn key_id(&self) -> Option<&str> {
        Signer::key_id(self)
    }

    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(std::future::ready(self.sign(message)))
    }
}
