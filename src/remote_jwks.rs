//! Verification keys fetched from a JWKS endpoint (feature `jwks-http`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::{Algorithm, AsyncKeySource, KeySet, KeySetFuture};

/// A JWKS fetched over HTTP(S) and cached: an [`AsyncKeySource`].
///
/// - The set is fetched on first use and kept for `max_age` (default 5 min).
/// - A token naming a `kid` the set lacks triggers a refetch (the signer may
///   have rotated), but fetches, whatever their cause, are at least
///   `refetch_cooldown` apart (default 30 s): a flood of made-up `kid`s
///   costs one fetch per cooldown, not one per token.
/// - Each fetch has a `timeout` (default 5 s), follows no redirects and reads
///   at most `max_bytes` (default 256 KiB).
/// - A failed fetch (endpoint down, bad status, malformed JWKS) keeps the
///   last good set in service, even past `max_age`; only when no set was
///   ever fetched do lookups fail, with [`Error::Unavailable`].
/// - The set is read by [`KeySet::from_jwks`], so its rules apply:
///   one or two RSA signature keys, unique ids.
/// - Only `https://` URLs, unless [`RemoteJwks::allow_http`] is set (tests,
///   a sidecar on loopback).
///
/// Give it to [`ResponseVerifier::new`](crate::response::ResponseVerifier::new)
/// (or a request verifier): the verifier then has only `*_async` methods,
/// since a lookup may have to wait for a fetch.
///
/// ```no_run
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use signed_payloads::{Algorithm, RemoteJwks};
/// use signed_payloads::response::ResponseVerifier;
/// let jwks = RemoteJwks::new("https://api.example.com/.well-known/jwks.json", Algorithm::PS384)?
///     .with_max_age(Duration::from_secs(600));
/// let verifier = ResponseVerifier::new(Arc::new(jwks));
/// # Ok(()) }
/// ```
///
/// A lookup may have to wait for a fetch, so only the `*_async` methods
/// exist on such a verifier; a sync call does not compile:
///
/// ```compile_fail
/// # fn main() -> Result<(), signed_payloads::Error> {
/// # use std::sync::Arc;
/// # use signed_payloads::{Algorithm, RemoteJwks};
/// # use signed_payloads::response::ResponseVerifier;
/// let jwks = RemoteJwks::new("https://api.example.com/jwks.json", Algorithm::PS384)?;
/// let verifier = ResponseVerifier::new(Arc::new(jwks));
/// let no_headers: [(&str, &str); 0] = [];
/// verifier.verify_headers(200, no_headers, b"{}")?; // error: needs a sync `KeySource`
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RemoteJwks {
    url: reqwest::Url,
    default_alg: Algorithm,
    allow_http: bool,
    max_age: Duration,
    cooldown: Duration,
    timeout: Duration,
    max_bytes: usize,
    client: Mutex<Option<reqwest::Client>>,
    state: Mutex<State>,
    /// Held while fetching, so concurrent lookups wait for one fetch.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Arc<KeySet>>,
    /// Every key id ever served and its key material, across fetches: a
    /// set that binds a known id to other material is refused.
    history: HashMap<String, Option<String>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl RemoteJwks {
    /// Keys from the JWKS at `url`; entries without `alg` are bound to `default_alg`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that does not parse.
    pub fn new(url: &str, default_alg: Algorithm) -> Result<Self, Error> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| Error::Config(format!("the JWKS URL does not parse: {e}")))?;
        Ok(RemoteJwks {
            url,
            default_alg,
            allow_http: false,
            max_age: Duration::from_secs(300),
            cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            max_bytes: 256 * 1024,
            client: Mutex::new(None),
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// Accepts a plain `http://` URL.
    #[must_use]
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// How long a fetched set is used before it is fetched again.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The least time between two fetches.
    #[must_use]
    pub fn with_refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The longest one fetch may take, connecting included.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest JWKS document accepted.
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The URL the set comes from.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The keys to verify a token naming `kid` with: the cached set when
    /// it is fresh and knows `kid`, else a refetch if the cooldown allows.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when no set has been fetched yet and fetching
    /// fails or is cooling down; [`Error::Config`] for an `http://` URL
    /// without [`RemoteJwks::allow_http`].
    pub async fn key_set_for(&self, kid: Option<&str>) -> Result<Arc<KeySet>, Error> {
        if let Some(current) = self.usable(kid) {
            return Ok(current);
        }
        let _fetching = self.fetching.lock().await;
        // Another lookup may have fetched while this one waited.
        if let Some(current) = self.usable(kid) {
            return Ok(current);
        }
        let (current, cooling) = {
            let state = self.lock();
            let cooling = state
                .last_attempt
                .is_some_and(|at| at.elapsed() < self.cooldown);
            (state.current.clone(), cooling)
        };
        if cooling {
            return current.ok_or_else(|| {
                unavailable("no key set fetched yet, and the refetch cooldown has not passed")
            });
        }
        self.lock().last_attempt = Some(Instant::now());
        match self.fetch().await {
            // Keep serving the last good set when the fetch or the set is
            // bad; the token is then judged by it (an unknown kid stays unknown).
            Ok(keys) => self.install(keys).or_else(|e| current.ok_or(e)),
            Err(e) => current.ok_or(e),
        }
    }

    /// Fetches the set now, ignoring the cooldown, and keeps it if it is good.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] if the fetch fails or the set is malformed (the
    /// previous set stays in service).
    pub async fn refresh(&self) -> Result<Arc<KeySet>, Error> {
        let _fetching = self.fetching.lock().await;
        self.lock().last_attempt = Some(Instant::now());
        self.install(self.fetch().await?)
    }

    /// Puts a freshly fetched set in service, unless it rebinds a key id
    /// an earlier set served to other key material: then the set is refused
    /// and the last good one stays.
    fn install(&self, keys: KeySet) -> Result<Arc<KeySet>, Error> {
        let mut state = self.lock();
        for key in keys.iter() {
            if let Some(seen) = state.history.get(key.kid()) {
                if *seen != key.fingerprint() {
                    return Err(unavailable(format!(
                        "the fetched JWKS binds key id {} to other key material than before; \
                         the set is refused and the last good set stays in service",
                        crate::Escaped::new(key.kid())
                    )));
                }
            }
        }
        for key in keys.iter() {
            state
                .history
                .insert(key.kid().to_owned(), key.fingerprint());
        }
        let keys = Arc::new(keys);
        state.current = Some(Arc::clone(&keys));
        state.fetched_at = Some(Instant::now());
        Ok(keys)
    }

    /// The cached set if it is fresh and knows `kid`.
    fn usable(&self, kid: Option<&str>) -> Option<Arc<KeySet>> {
        let state = self.lock();
        let current = state.current.as_ref()?;
        let fresh = state
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.max_age);
        let knows = kid.is_none_or(|kid| current.get(kid).is_some());
        (fresh && knows).then(|| Arc::clone(current))
    }

    async fn fetch(&self) -> Result<KeySet, Error> {
        if self.url.scheme() != "https" && !(self.allow_http && self.url.scheme() == "http") {
            return Err(Error::Config(
                "the JWKS URL must be https (or http with allow_http)".into(),
            ));
        }
        let client = self.client()?;
        let mut response = client
            .get(self.url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .send()
            .await
            .map_err(|e| unavailable(e.without_url()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "the endpoint answered {}",
                response.status()
            )));
        }
        if response
            .content_length()
            .is_some_and(|len| len > self.max_bytes as u64)
        {
            return Err(unavailable(format!(
                "the JWKS is over {} bytes",
                self.max_bytes
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.without_url()))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(unavailable(format!(
                    "the JWKS is over {} bytes",
                    self.max_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|_| unavailable("the JWKS is not UTF-8"))?;
        KeySet::from_jwks(text, self.default_alg).map_err(unavailable)
    }

    fn client(&self) -> Result<reqwest::Client, Error> {
        let mut client = self.client.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = &*client {
            return Ok(client.clone());
        }
        let built = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client could not be built: {e}")))?;
        *client = Some(built.clone());
        Ok(built)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // State fields are replaced whole; a panic cannot leave them torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AsyncKeySource for RemoteJwks {
    type Scope = ();

    fn key_set_async<'a>(&'a self, (): &'a (), kid: Option<&'a str>) -> KeySetFuture<'a> {
        Box::pin(self.key_set_for(kid))
    }
}

fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Error {
    Error::Unavailable {
        what: "the JWKS endpoint",
        source: source.into(),
    }
}
