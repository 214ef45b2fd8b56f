//! An [`AsyncNonceStore`] on Redis: one `SET key 1 NX PX ttl` per check.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{AsyncNonceStore, NonceFuture};
use crate::error::Error;

/// An [`AsyncNonceStore`] shared by every instance of a fleet, on Redis
/// (feature `redis`).
///
/// Each check is one round trip, `SET <prefix><nonce> 1 NX PX <ttl>`: Redis
/// sets the key only if it is absent and answers whether it did, so check and
/// record are one atomic step even when two instances race with the same
/// nonce, and the key expires by itself at the end of its window.
///
/// The connection is multiplexed and re-established after a failure; while
/// Redis cannot answer, every check is an [`Error::Unavailable`] (so the
/// token is refused), never a silent "fresh".
///
/// ```no_run
/// # async fn run() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use signed_payloads::{AsyncNonceStore, RedisNonceStore};
/// let store = Arc::new(RedisNonceStore::connect("redis://127.0.0.1:6379/").await?);
/// assert!(store.check_and_remember_async("nonce-1", Duration::from_secs(300)).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisNonceStore {
    connection: ConnectionManager,
    prefix: String,
}

/// How long one connection attempt or one command may take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

impl RedisNonceStore {
    /// Connects to Redis at `url` (`redis://host:port/db`), with keys under
    /// the prefix `signed-payloads:nonce:` and a 2 s timeout per command.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the URL is invalid or Redis does not answer.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// As [`RedisNonceStore::connect`], with `timeout` for connecting and for
    /// each command.
    ///
    /// # Errors
    ///
    /// As for [`RedisNonceStore::connect`].
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisNonceStore {
            connection,
            prefix: "signed-payloads:nonce:".to_owned(),
        })
    }

    /// Puts keys under `prefix` instead (to share one Redis between services).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl AsyncNonceStore for RedisNonceStore {
    fn check_and_remember_async<'a>(&'a self, nonce: &'a str, ttl: Duration) -> NonceFuture<'a> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            // PX takes whole milliseconds and refuses 0.
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let reply: Option<String> = redis::cmd("SET")
                .arg(format!("{}{nonce}", self.prefix))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            Ok(reply.is_some())
        })
    }
}

impl fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection's Debug would show the server address and database;
        // keep the output to what this store adds.
        f.debug_struct("RedisNonceStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: redis::RedisError) -> Error {
    Error::Unavailable {
        what: "the Redis nonce store",
        source: Box::new(e),
    }
}
