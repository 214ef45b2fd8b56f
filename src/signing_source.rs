//! Where a request or response signer gets its key each time it signs.

use std::fmt::Debug;
use std::sync::Arc;

use crate::error::Error;
use crate::{AsyncSigner, Signer, SigningKeys};

/// Where a [`RequestSigner`](crate::request::RequestSigner) or
/// [`ResponseSigner`](crate::response::ResponseSigner) gets the signer to
/// use now: one fixed [`Signer`], the current key of a rotating
/// [`SigningKeys`], or one [`AsyncSigner`] behind a network call.
///
/// When [`SigningSource::Current`] is a [`Signer`], the profile signers have
/// sync methods; for an [`AsyncSigner`] they have only `*_async` ones.
pub trait SigningSource: Debug + Send + Sync {
    /// The kind of signer this source hands out.
    type Current: AsyncSigner + ?Sized;

    /// The signer to use for the next signature.
    ///
    /// # Errors
    ///
    /// [`Error::NoSigningKey`] when a rotating set has no usable key.
    fn current(&self) -> Result<Arc<Self::Current>, Error>;
}

impl SigningSource for Arc<dyn Signer> {
    type Current = dyn Signer;

    fn current(&self) -> Result<Arc<dyn Signer>, Error> {
        Ok(Arc::clone(self))
    }
}

impl SigningSource for Arc<SigningKeys> {
    type Current = dyn Signer;

    fn current(&self) -> Result<Arc<dyn Signer>, Error> {
        SigningKeys::current(self)
    }
}

impl SigningSource for Arc<dyn AsyncSigner> {
    type Current = dyn AsyncSigner;

    fn current(&self) -> Result<Arc<dyn AsyncSigner>, Error> {
        Ok(Arc::clone(self))
    }
}
