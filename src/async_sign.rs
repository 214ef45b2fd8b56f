//! Signing with keys behind a network call: the [`AsyncSigner`] trait.

use crate::Algorithm;
use crate::error::Error;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

/// The future an [`AsyncSigner`] returns.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, Error>> + Send + 'a>>;

/// Something that produces signatures asynchronously: a cloud KMS, an HSM
/// service, a signer in another task. The sync [`Signer`](crate::Signer) stays the default;
/// [`RequestSigner::remote`](crate::request::RequestSigner::remote) and
/// [`ResponseSigner::remote`](crate::response::ResponseSigner::remote) take
/// an `AsyncSigner`, and their `*_async` methods sign with either kind.
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
    /// Whatever the key's home reports, as [`Error::Backend`].
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;
}

/// A sync [`Signer`] seen as an [`AsyncSigner`]: its future is ready at once.
#[derive(Debug)]
pub(crate) struct Ready(pub(crate) std::sync::Arc<dyn crate::Signer>);

impl AsyncSigner for Ready {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }

    fn key_id(&self) -> Option<&str> {
        self.0.key_id()
    }

    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(std::future::ready(self.0.sign(message)))
    }
}

/// Runs a future that is expected to finish without waiting (one built on
/// sync signers); `None` if it would have to wait.
pub(crate) fn now_or_never<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// The error of a sync call that met a truly async key, store or signer.
pub(crate) fn needs_async(method: &'static str) -> Error {
    Error::NeedsAsync { method }
}

/// Where a request or response signer gets its key: one sync signer, the
/// current one of a rotating set, or an async (remote) signer.
pub(crate) enum KeySource {
    Fixed(std::sync::Arc<dyn crate::Signer>),
    Rotating(std::sync::Arc<crate::SigningKeys>),
    Remote(std::sync::Arc<dyn AsyncSigner>),
}

impl KeySource {
    /// The signer to use now, seen as async.
    pub(crate) fn current(&self) -> Result<std::sync::Arc<dyn AsyncSigner>, Error> {
        Ok(match self {
            KeySource::Fixed(signer) => std::sync::Arc::new(Ready(std::sync::Arc::clone(signer))),
            KeySource::Rotating(keys) => std::sync::Arc::new(Ready(keys.current()?)),
            KeySource::Remote(signer) => std::sync::Arc::clone(signer),
        })
    }
}

impl Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Fixed(signer) => signer.fmt(f),
            KeySource::Rotating(keys) => keys.fmt(f),
            KeySource::Remote(signer) => signer.fmt(f),
        }
    }
}
