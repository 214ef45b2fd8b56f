//! Where verifiers get keys: [`KeySource`] for sources that answer at once,
//! [`AsyncKeySource`] for those that may wait on a store or an endpoint.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::KeySet;
use crate::error::Error;

/// The future an [`AsyncKeySource`] returns.
pub type KeySetFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<KeySet>, Error>> + Send + 'a>>;

/// Keys that are at hand without waiting: a [`KeyRegistry`](crate::KeyRegistry).
///
/// Verifiers over a `KeySource` (and a sync replay store, if any) have sync
/// methods; every `KeySource` is also an [`AsyncKeySource`] whose future is
/// ready at once, so their `*_async` methods work too.
pub trait KeySource: Debug + Send + Sync {
    /// What besides the token chooses the keys: `()` for a source that
    /// holds one set, a tenant id (`str`) for one that holds many.
    type Scope: Scope + ?Sized;

    /// The keys to check a token naming `kid` (if any) with, for `scope`.
    ///
    /// # Errors
    ///
    /// A source that has no keys for `scope` says so
    /// ([`Error::UnknownTenant`]).
    fn key_set(&self, scope: &Self::Scope, kid: Option<&str>) -> Result<Arc<KeySet>, Error>;
}

/// Keys that may have to be fetched: a [`TenantKeys`](crate::store::TenantKeys)
/// cache over a shared store, a [`RemoteJwks`](crate::RemoteJwks) endpoint.
/// Verifiers over one offer only `*_async` methods: the compiler, not a
/// run-time error, stops a sync call that would have to wait.
pub trait AsyncKeySource: Debug + Send + Sync {
    /// As [`KeySource::Scope`].
    type Scope: Scope + ?Sized;

    /// The keys to check a token naming `kid` (if any) with, for `scope`;
    /// a source may fetch again when its keys do not know `kid`.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the store or endpoint cannot answer,
    /// [`Error::UnknownTenant`] when it has no keys for `scope`.
    fn key_set_async<'a>(
        &'a self,
        scope: &'a Self::Scope,
        kid: Option<&'a str>,
    ) -> KeySetFuture<'a>;
}

impl<T: KeySource + ?Sized> AsyncKeySource for T {
    type Scope = T::Scope;

    fn key_set_async<'a>(
        &'a self,
        scope: &'a Self::Scope,
        kid: Option<&'a str>,
    ) -> KeySetFuture<'a> {
        Box::pin(std::future::ready(self.key_set(scope, kid)))
    }
}

/// What a key source's keys are chosen by besides the token: `()` for a
/// single set, `str` (a tenant id) for many. Sealed: these two are all.
pub trait Scope: Sync + private::Sealed {
    /// Keeps the replay records of different scopes apart.
    #[doc(hidden)]
    fn replay_scope(&self) -> std::borrow::Cow<'_, str>;
}

impl Scope for () {
    fn replay_scope(&self) -> std::borrow::Cow<'_, str> {
        "request".into()
    }
}

impl Scope for str {
    fn replay_scope(&self) -> std::borrow::Cow<'_, str> {
        format!("tenant:{self}").into()
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for str {}
}
