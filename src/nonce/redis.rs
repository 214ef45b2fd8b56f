//! An [`AsyncNonceStore`] on Redis: one transaction per check, which reads
//! the store's history marker and sets the nonce key if absent.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{AsyncNonceStore, NonceCheck, NonceFuture, NonceStatus};
use crate::error::Error;
use crate::tls::TrustAnchors;

/// An [`AsyncNonceStore`] shared by every instance of a fleet, on Redis
/// (feature `redis`).
///
/// Each check is one round trip: a transaction (`MULTI`, `GET` of the
/// history marker, `SET <prefix><nonce> 1 NX PX <ttl>`, `EXEC`) that sets the
/// nonce key only if it is absent, expiring by itself at the end of its
/// window, and says whether it did. Redis runs a transaction as one step, so
/// check and record stay atomic even when two instances race with the same
/// nonce, and the marker read is the one of the history the nonce lands in.
/// (A Lua script doing the same cost the server 2 to 3 times the CPU; see
/// `benches/replay_throughput.rs`.)
///
/// # When Redis forgets
///
/// A Redis restarted without persistence, flushed, or evicting keys forgets
/// nonces it was told to keep, and a replay of a message used before would
/// look fresh. So the store keeps a history marker, `<prefix>records-since`:
/// the instant from which it holds every nonce it accepted. When a check
/// finds the marker missing, the store has lost its records; the check sets
/// the marker to its own time. A message that could have been used before
/// the marker ([`NonceCheck::earliest_use`]: `iat` less the leeway for a
/// request token, one window ago for a response nonce, always for a token
/// without `iat`) is refused with [`Error::BeforeReplayHistory`]; its sender
/// signs it again. After a loss, request tokens are therefore refused for
/// one leeway (60 s by default) and response nonces for one window; tokens
/// without `iat` are refused from then on, so a fleet's clients sign with
/// `iat`.
///
/// A new Redis has no marker either: call [`RedisNonceStore::declare_new`]
/// once when you deploy one, or the first check treats it as a loss.
///
/// A restart from a snapshot older than the last writes keeps the marker but
/// loses those nonces; that is not detected. Run Redis with `appendonly yes`
/// and `appendfsync always` (or accept `everysec`'s last second) and
/// `maxmemory-policy noeviction`; see SECURITY.md.
///
/// The connection is multiplexed and re-established after a failure; while
/// Redis cannot answer, every check is an [`Error::Unavailable`] (so the
/// token is refused), never a silent "fresh".
///
/// ```no_run
/// # async fn run() -> Result<(), signed_payloads::Error> {
/// use std::time::{Duration, SystemTime};
/// use signed_payloads::{AsyncNonceStore, NonceCheck, NonceStatus, RedisNonceStore};
/// let store = RedisNonceStore::connect("redis://127.0.0.1:6379/").await?;
/// store.declare_new().await?; // once, when this Redis is deployed
/// let now = SystemTime::now();
/// let check = NonceCheck::new("nonce-1", Duration::from_secs(300), now, now);
/// assert_eq!(store.check_and_remember_async(&check).await?, NonceStatus::Fresh);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisNonceStore {
    connection: ConnectionManager,
    prefix: String,
    marker: String,
}

/// How long one connection attempt or one command may take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The key, after the prefix, of the history marker. Nonce keys start with
/// a digit (the scope's length), so the two never meet.
const MARKER: &str = "records-since";

impl RedisNonceStore {
    /// Connects to Redis at `url` (`redis://host:port/db`, or
    /// `rediss://host:port/db` for TLS with the system's trust store), with
    /// keys under the prefix `signed-payloads:nonce:` and a 2 s timeout per
    /// command.
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
        Self::connect_client(client, timeout).await
    }

    /// Connects over TLS to a `rediss://` URL whose server certificate is
    /// issued by a CA in `ca_pem` (PEM certificates: a managed service's CA,
    /// or your own), with `timeout` for connecting and for each command.
    /// [`RedisNonceStore::connect`] takes `rediss://` URLs too, and trusts
    /// the system's store. The server's name is always verified.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `ca_pem` holds no usable certificate or the URL
    /// is not `rediss://`; [`Error::Unavailable`] when Redis does not answer
    /// or its certificate does not verify.
    pub async fn connect_with_ca_pem(
        url: &str,
        ca_pem: &[u8],
        timeout: Duration,
    ) -> Result<Self, Error> {
        // Checked here for a clear error; redis-rs parses it again.
        TrustAnchors::Pem(ca_pem.to_vec()).certificates()?;
        if !url.starts_with("rediss://") {
            return Err(Error::Config(
                "a CA certificate is for TLS: the Redis URL must start with rediss://".into(),
            ));
        }
        let certificates = redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca_pem.to_vec()),
        };
        let client = redis::Client::build_with_tls(url, certificates).map_err(unavailable)?;
        Self::connect_client(client, timeout).await
    }

    async fn connect_client(client: redis::Client, timeout: Duration) -> Result<Self, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisNonceStore {
            connection,
            prefix: String::new(),
            marker: String::new(),
        }
        .with_prefix("signed-payloads:nonce:"))
    }

    /// Puts keys under `prefix` instead (to share one Redis between services).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.marker = format!("{}{MARKER}", self.prefix);
        self
    }

    /// Declares this Redis new: it holds every nonce accepted so far, because
    /// none was. Sets the history marker to the Unix epoch if it is missing,
    /// and returns `true` if it did.
    ///
    /// Call it once when a new Redis (or prefix) is deployed, from the
    /// deployment, not at every start: after a loss it would vouch for
    /// records the store no longer has.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when Redis does not answer.
    pub async fn declare_new(&self) -> Result<bool, Error> {
        let reply: Option<String> = redis::cmd("SET")
            .arg(&self.marker)
            .arg(0)
            .arg("NX")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(reply.is_some())
    }

    /// The instant from which this store holds every nonce it accepted, or
    /// `None` when the marker is missing (a new Redis, or one that lost its
    /// records, until the next check).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when Redis does not answer, or the marker is
    /// not a number (not written by this crate).
    pub async fn records_since(&self) -> Result<Option<SystemTime>, Error> {
        let millis: Option<u64> = redis::cmd("GET")
            .arg(&self.marker)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(millis.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)))
    }
}

impl RedisNonceStore {
    /// The marker was missing: the store lost its records. Sets it to `now`
    /// unless another instance just did, and returns the marker.
    async fn mark_loss(&self, now: u64) -> Result<u64, Error> {
        let (since,): (Option<u64>,) = redis::pipe()
            .cmd("SET")
            .arg(&self.marker)
            .arg(now)
            .arg("NX")
            .ignore()
            .get(&self.marker)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(since.unwrap_or(now))
    }
}

/// Milliseconds since the Unix epoch, rounded down; 0 before it.
fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl AsyncNonceStore for RedisNonceStore {
    fn check_and_remember_async<'a>(&'a self, nonce: &'a NonceCheck<'a>) -> NonceFuture<'a> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            // PX takes whole milliseconds and refuses 0. The earliest use is
            // rounded down and now (a new marker) up, so rounding never lets
            // an older message pass.
            let ttl_ms = u64::try_from(nonce.ttl().as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let now = millis(
                nonce
                    .now()
                    .checked_add(Duration::from_nanos(999_999))
                    .unwrap_or(nonce.now()),
            );
            let mut key = String::with_capacity(self.prefix.len() + nonce.key().len());
            key.push_str(&self.prefix);
            key.push_str(nonce.key());
            let (since, set): (Option<u64>, Option<String>) = redis::pipe()
                .atomic()
                .get(&self.marker)
                .cmd("SET")
                .arg(key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            let since = match since {
                Some(since) => since,
                None => self.mark_loss(now).await?,
            };
            Ok(if millis(nonce.earliest_use()) < since {
                NonceStatus::BeforeHistory
            } else if set.is_some() {
                NonceStatus::Fresh
            } else {
                NonceStatus::Replayed
            })
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

/// Redis (or the way to it) failed; the message carries every cause.
fn unavailable(e: redis::RedisError) -> Error {
    Error::Unavailable {
        what: "the Redis nonce store",
        source: crate::error::with_causes(&e).into(),
    }
}
