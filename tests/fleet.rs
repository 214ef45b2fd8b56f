//! The fleet building blocks without any server: the in-memory `KeyStore`,
//! the `TenantKeys` cache, `RequestVerifier` over `TenantKeys`, and replay defence for request
//! `jti`s with the in-memory `NonceStore`. The same behaviours against the
//! real PostgreSQL and Redis are in tests/services.rs.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
use signed_payloads::{
    Algorithm, AsyncNonceStore, ClaimError, ClaimsPolicy, Error, KeyRegistry, KeySigner,
    MemoryNonceStore, NonceCheck, NonceFuture, NonceStatus, PrivateKey, VerificationKey,
};

fn key(file: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read_to_string(format!("tests/data/keys/{file}")).unwrap())
        .unwrap()
}

fn public(kid: &str, file: &str) -> VerificationKey {
    VerificationKey::new(kid, key(file).public_key().clone(), Algorithm::RS256).unwrap()
}

fn signer(kid: &str, file: &str) -> RequestSigner {
    RequestSigner::new(Arc::new(
        KeySigner::new(key(file), Algorithm::RS256)
            .unwrap()
            .with_key_id(kid),
    ))
}

const A: &str = "rsa2048.pkcs8.pem";
const B: &str = "rsa2048-second.pkcs8.pem";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn memory_store_keeps_the_registry_rules_and_history() {
    let store = MemoryKeyStore::new();
    store
        .add_key("t1", &public("k1", A), "alice")
        .await
        .unwrap();
    assert!(matches!(
        store.add_key("t1", &public("k1", A), "alice").await,
        Err(Error::DuplicateKeyId(_))
    ));
    store
        .add_key("t1", &public("k2", B), "alice")
        .await
        .unwrap();
    assert!(matches!(
        store.add_key("t1", &public("k3", A), "alice").await,
        Err(Error::KeyLimit { limit: 2 })
    ));
    store.retire_key("t1", "k1", "bob").await.unwrap();
    assert!(matches!(
        store.retire_key("t1", "k2", "bob").await,
        Err(Error::LastKey)
    ));
    assert!(matches!(
        store.retire_key("t1", "k1", "bob").await,
        Err(Error::UnknownKeyId(_))
    ));
    // A retired id is never taken again, not even by the same key.
    assert!(matches!(
        store.add_key("t1", &public("k1", A), "alice").await,
        Err(Error::KeyIdReused(_))
    ));
    // Tenants are separate: t2 may use k1.
    store
        .add_key("t2", &public("k1", B), "carol")
        .await
        .unwrap();

    let active: Vec<_> = store.active_keys("t1").await.unwrap();
    assert_eq!(active.iter().map(|k| k.kid()).collect::<Vec<_>>(), ["k2"]);
    let history = store.list_keys("t1").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].kid, "k1");
    assert!(!history[0].is_active());
    assert_eq!(history[0].added_by, "alice");
    assert_eq!(history[0].retired_by.as_deref(), Some("bob"));
    assert!(history[0].retired_at.unwrap() >= history[0].added_at);
    assert!(history[1].is_active());
    assert_eq!(
        history[1].thumbprint.as_deref(),
        Some(key(B).public_key().thumbprint().as_str())
    );
}

#[tokio::test]
async fn tenant_verifier_checks_each_tenant_against_its_own_keys() {
    let store = Arc::new(MemoryKeyStore::new());
    store.add_key("t1", &public("k1", A), "ops").await.unwrap();
    store.add_key("t2", &public("k1", B), "ops").await.unwrap();
    let verifier = RequestVerifier::new(Arc::new(TenantKeys::new(store)));

    let token = signer("k1", A).sign_json(br#"{"amount":1}"#).unwrap();
    let verified = verifier.verify_bytes_for("t1", &token).await.unwrap();
    assert_eq!(verified.key_id(), Some("k1"));
    // Same kid under another tenant is another key: refused.
    assert!(matches!(
        verifier.verify_bytes_for("t2", &token).await,
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        verifier.verify_bytes_for("nobody", &token).await,
        Err(Error::UnknownTenant(_))
    ));
}

/// Counts the store calls, to see what the cache saves; answers after
/// `delay`, as a store across the network would.
#[derive(Debug)]
struct Counting {
    inner: MemoryKeyStore,
    lookups: AtomicUsize,
    delay: Duration,
}

impl Counting {
    fn new(delay: Duration) -> Self {
        Counting {
            inner: MemoryKeyStore::new(),
            lookups: AtomicUsize::new(0),
            delay,
        }
    }
}

impl KeyStore for Counting {
    fn active_keys<'a>(
        &'a self,
        tenant: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<VerificationKey>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.inner.active_keys(tenant).await
        })
    }
    fn add_key<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a VerificationKey,
        actor: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        self.inner.add_key(tenant, key, actor)
    }
    fn retire_key<'a>(
        &'a self,
        tenant: &'a str,
        kid: &'a str,
        actor: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        self.inner.retire_key(tenant, kid, actor)
    }
    fn list_keys<'a>(
        &'a self,
        tenant: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<signed_payloads::store::KeyRecord>> {
        self.inner.list_keys(tenant)
    }
}

#[tokio::test]
async fn the_cache_serves_within_its_ttl_and_picks_up_rotations_after() {
    let store = Arc::new(Counting::new(Duration::ZERO));
    store.add_key("t1", &public("old", A), "ops").await.unwrap();
    // Long enough that the steps below fit in it even on a loaded machine.
    let ttl = Duration::from_secs(1);
    let keys = Arc::new(TenantKeys::new(store.clone()).with_ttl(ttl));
    let verifier = RequestVerifier::new(keys.clone());
    let old = signer("old", A).sign_json(b"{}").unwrap();
    let new = signer("new", B).sign_json(b"{}").unwrap();

    for _ in 0..5 {
        verifier.verify_bytes_for("t1", &old).await.unwrap();
    }
    assert_eq!(
        store.lookups.load(Ordering::SeqCst),
        1,
        "one lookup for five tokens"
    );

    // Another instance rotates: adds the new key and retires the old one.
    store.add_key("t1", &public("new", B), "ops").await.unwrap();
    store.retire_key("t1", "old", "ops").await.unwrap();
    // Within the TTL this instance still has the old set.
    assert!(verifier.verify_bytes_for("t1", &old).await.is_ok());
    assert!(matches!(
        verifier.verify_bytes_for("t1", &new).await,
        Err(Error::UnknownKeyId(_))
    ));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert!(verifier.verify_bytes_for("t1", &new).await.is_ok());
    assert!(matches!(
        verifier.verify_bytes_for("t1", &old).await,
        Err(Error::UnknownKeyId(_))
    ));
    // invalidate makes the next lookup ask the store.
    keys.invalidate("t1");
    let before = store.lookups.load(Ordering::SeqCst);
    verifier.verify_bytes_for("t1", &new).await.unwrap();
    assert_eq!(store.lookups.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn unknown_tenants_are_cached_and_the_cache_is_bounded() {
    let store = Arc::new(Counting::new(Duration::ZERO));
    let keys = TenantKeys::new(store.clone()).with_capacity(8);
    for _ in 0..3 {
        assert!(matches!(
            keys.key_set("ghost").await,
            Err(Error::UnknownTenant(_))
        ));
    }
    assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
    // A flood of made-up tenants: each is one lookup, and the cache keeps
    // at most its capacity (so "ghost" was pushed out and is asked again).
    for i in 0..100 {
        keys.key_set(&format!("made-up-{i}")).await.unwrap_err();
    }
    assert_eq!(store.lookups.load(Ordering::SeqCst), 101);
    keys.key_set("ghost").await.unwrap_err();
    assert_eq!(store.lookups.load(Ordering::SeqCst), 102);
}

/// A store that breaks the rules (three active keys) is refused, not trusted.
#[derive(Debug)]
struct Broken;

impl KeyStore for Broken {
    fn active_keys<'a>(
        &'a self,
        _tenant: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<VerificationKey>> {
        Box::pin(async { Ok(vec![public("a", A), public("b", B), public("c", A)]) })
    }
    fn add_key<'a>(
        &'a self,
        _: &'a str,
        _: &'a VerificationKey,
        _: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn retire_key<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn list_keys<'a>(
        &'a self,
        _: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<signed_payloads::store::KeyRecord>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

#[tokio::test]
async fn a_store_returning_three_keys_is_refused() {
    let keys = TenantKeys::new(Arc::new(Broken));
    assert!(matches!(
        keys.key_set("t").await,
        Err(Error::KeyLimit { limit: 2 })
    ));
}

fn replay_verifier<S: ?Sized>(store: Arc<S>) -> RequestVerifier<KeyRegistry, S> {
    let registry = KeyRegistry::new(public("k1", A));
    RequestVerifier::new(Arc::new(registry))
        .with_claims(ClaimsPolicy::new().with_leeway(Duration::ZERO))
        .with_replay_store(store)
}

#[test]
fn jti_replays_are_refused_with_the_memory_store() {
    let verifier = replay_verifier(Arc::new(MemoryNonceStore::new(100)));
    let exp = now() + 60;
    let token = signer("k1", A)
        .sign_json(format!(r#"{{"jti":"p-1","exp":{exp}}}"#).as_bytes())
        .unwrap();
    verifier.verify_bytes(&token).unwrap();
    assert!(matches!(
        verifier.verify_bytes(&token),
        Err(Error::Replayed)
    ));
    // Another jti is fresh.
    let other = signer("k1", A)
        .sign_json(format!(r#"{{"jti":"p-2","exp":{exp}}}"#).as_bytes())
        .unwrap();
    verifier.verify_bytes(&other).unwrap();
}

#[test]
fn a_replay_store_requires_jti_and_exp() {
    let verifier = replay_verifier(Arc::new(MemoryNonceStore::new(100)));
    let exp = now() + 60;
    let cases = [
        (format!(r#"{{"exp":{exp}}}"#), ClaimError::NoReplayWindow),
        (r#"{"jti":"x"}"#.to_owned(), ClaimError::NoReplayWindow),
        (
            format!(r#"{{"jti":7,"exp":{exp}}}"#),
            ClaimError::WrongType("jti"),
        ),
        (
            format!(r#"{{"jti":"","exp":{exp}}}"#),
            ClaimError::OutOfRange("jti"),
        ),
        (
            format!(r#"{{"jti":"{}","exp":{exp}}}"#, "j".repeat(257)),
            ClaimError::OutOfRange("jti"),
        ),
    ];
    for (payload, expected) in cases {
        let token = signer("k1", A).sign_json(payload.as_bytes()).unwrap();
        match verifier.verify_bytes(&token) {
            Err(Error::Claim(e)) => assert_eq!(e, expected, "{payload}"),
            other => panic!("{payload}: {other:?}"),
        }
    }
    // Without a replay store, none of this is required.
    let plain = RequestVerifier::new(Arc::new(KeyRegistry::new(public("k1", A))));
    let token = signer("k1", A).sign_json(b"{}").unwrap();
    plain.verify_bytes(&token).unwrap();
}

/// A store that always has to wait, like a network store.
#[derive(Debug)]
struct Waiting;

impl AsyncNonceStore for Waiting {
    fn check_and_remember_async<'a>(&'a self, _: &'a NonceCheck<'a>) -> NonceFuture<'a> {
        Box::pin(async {
            tokio::task::yield_now().await;
            Ok(NonceStatus::Fresh)
        })
    }
}

/// A store that cannot answer.
#[derive(Debug)]
struct Down;

impl AsyncNonceStore for Down {
    fn check_and_remember_async<'a>(&'a self, _: &'a NonceCheck<'a>) -> NonceFuture<'a> {
        Box::pin(async {
            Err(Error::Unavailable {
                what: "the test store",
                source: "connection refused".into(),
            })
        })
    }
}

#[tokio::test]
async fn a_waiting_store_is_awaited_and_a_down_store_refuses() {
    let token = signer("k1", A)
        .sign_json(format!(r#"{{"jti":"w","exp":{}}}"#, now() + 60).as_bytes())
        .unwrap();
    // Over an async store only the async methods exist (a sync call does
    // not compile), and they await the store to completion.
    let verifier = replay_verifier(Arc::new(Waiting));
    verifier.verify_bytes_async(&token).await.unwrap();

    let verifier = replay_verifier(Arc::new(Down));
    assert!(matches!(
        verifier.verify_bytes_async(&token).await,
        Err(Error::Unavailable { .. })
    ));
}

/// Connection URLs carry passwords: neither `Debug` nor the errors of a
/// store that cannot connect may show them.
#[cfg(all(feature = "postgres", feature = "redis"))]
#[tokio::test]
async fn store_passwords_stay_out_of_debug_and_errors() {
    use signed_payloads::RedisNonceStore;
    use signed_payloads::store::PostgresKeyStore;
    // Port 1 on loopback: nothing listens, the connection is refused.
    let store = PostgresKeyStore::connect("postgres://app:hunter2-pg@127.0.0.1:1/keys")
        .await
        .unwrap();
    assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
    let e = store.active_keys("t").await.unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");

    let e = RedisNonceStore::connect("redis://:hunter2-redis@127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");

    assert!(matches!(
        PostgresKeyStore::connect("not a url").await,
        Err(Error::Config(_))
    ));
    let e = PostgresKeyStore::connect("postgres://app:hunter2-pg@127.0.0.1:notaport/keys")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
}

/// When a popular tenant's entry expires, the requests that miss together
/// wait for one query instead of each asking the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_for_one_tenant_make_one_query() {
    let store = Arc::new(Counting::new(Duration::from_millis(50)));
    store
        .inner
        .add_key("t1", &public("k1", A), "ops")
        .await
        .unwrap();
    let keys = Arc::new(TenantKeys::new(store.clone()).with_ttl(Duration::from_millis(200)));
    keys.key_set("t1").await.unwrap();
    assert_eq!(store.lookups.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let keys = Arc::clone(&keys);
            tokio::spawn(async move { keys.key_set("t1").await.map(|set| set.len()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1);
    }
    assert_eq!(
        store.lookups.load(Ordering::SeqCst),
        2,
        "one query for 200 misses"
    );
}

/// A sync store that records what the verifier asked, and answers with
/// `answer`.
#[derive(Debug)]
struct Recording {
    answer: NonceStatus,
    asked: std::sync::Mutex<Vec<(Duration, SystemTime, SystemTime)>>,
}

impl Recording {
    fn answering(answer: NonceStatus) -> Self {
        Recording {
            answer,
            asked: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn last(&self) -> (Duration, SystemTime, SystemTime) {
        *self.asked.lock().unwrap().last().unwrap()
    }
}

impl signed_payloads::NonceStore for Recording {
    fn check_and_remember(&self, nonce: &NonceCheck<'_>) -> Result<NonceStatus, Error> {
        self.asked
            .lock()
            .unwrap()
            .push((nonce.ttl(), nonce.now(), nonce.earliest_use()));
        assert!(
            !format!("{nonce:?}").contains("jti-secret"),
            "Debug shows no nonce"
        );
        Ok(self.answer)
    }
}

/// What a store needs to notice a loss of records: the earliest instant the
/// message could have been accepted before. For a request token that is
/// `iat` less the leeway (an `iat` up to the leeway ahead of the clock is
/// accepted), the Unix epoch without `iat`; for a response nonce, one
/// window before now. A store saying it cannot vouch refuses the token with
/// an error that tells the sender to sign again.
#[test]
fn the_store_is_told_when_a_message_could_first_have_been_used() {
    use signed_payloads::FixedClock;
    use signed_payloads::response::{ResponseSigner, ResponseVerifier};
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    let clock = Arc::new(FixedClock::new(at(1_000_000)));
    let store = Arc::new(Recording::answering(NonceStatus::Fresh));
    let verifier = RequestVerifier::new(Arc::new(KeyRegistry::new(public("k1", A))))
        .with_claims(
            ClaimsPolicy::new()
                .with_leeway(Duration::from_secs(30))
                .with_clock(clock.clone()),
        )
        .with_replay_store(store.clone());
    let token = |payload: &str| signer("k1", A).sign_json(payload.as_bytes()).unwrap();

    let with_iat = token(r#"{"jti":"jti-secret-1","iat":999990,"exp":1000060}"#);
    verifier.verify_bytes(&with_iat).unwrap();
    let (ttl, checked_at, earliest) = store.last();
    assert_eq!(checked_at, at(1_000_000));
    assert_eq!(earliest, at(999_960), "iat less the 30 s leeway");
    assert_eq!(ttl, Duration::from_secs(90), "until exp plus the leeway");

    let without_iat = signer("k1", A)
        .without_iat()
        .sign_json(br#"{"jti":"jti-secret-2","exp":1000060}"#)
        .unwrap();
    verifier.verify_bytes(&without_iat).unwrap();
    assert_eq!(store.last().2, UNIX_EPOCH, "no iat: could be any time");

    let key = key(A);
    let responses = Arc::new(Recording::answering(NonceStatus::Fresh));
    let response_verifier = ResponseVerifier::new(Arc::new(KeyRegistry::new(
        VerificationKey::new("api", key.public_key().clone(), Algorithm::PS256).unwrap(),
    )))
    .with_clock(clock.clone())
    .with_replay_store(responses.clone(), Duration::from_secs(300));
    let signed = ResponseSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::PS256)
            .unwrap()
            .with_key_id("api"),
    ))
    .sign_headers(200, b"{}")
    .unwrap();
    response_verifier
        .verify_headers(200, signed.iter(), b"{}")
        .unwrap();
    assert_eq!(
        responses.last(),
        (Duration::from_secs(300), at(1_000_000), at(999_700)),
        "a nonce carries no age: one window back"
    );

    // A store that cannot vouch: refused, and the sender is told what to do.
    let forgot = replay_verifier(Arc::new(Recording::answering(NonceStatus::BeforeHistory)));
    let fresh = signer("k1", A)
        .sign_json(format!(r#"{{"jti":"f","exp":{}}}"#, now() + 60).as_bytes())
        .unwrap();
    let e = forgot.verify_bytes(&fresh).unwrap_err();
    assert!(matches!(e, Error::BeforeReplayHistory), "{e:?}");
    assert!(e.to_string().contains("sign it again"), "{e}");
    assert_eq!(e.kind(), signed_payloads::ErrorKind::Rejected);
}

/// A key store whose lookups each wait for a permit the test hands out, and
/// fail while `down`: a refresh the test holds in flight.
#[derive(Debug)]
struct Held {
    inner: MemoryKeyStore,
    permits: tokio::sync::Semaphore,
    lookups: AtomicUsize,
    down: std::sync::atomic::AtomicBool,
}

impl KeyStore for Held {
    fn active_keys<'a>(
        &'a self,
        tenant: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<VerificationKey>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            self.permits.acquire().await.unwrap().forget();
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::Unavailable {
                    what: "the test store",
                    source: "connection refused".into(),
                });
            }
            self.inner.active_keys(tenant).await
        })
    }
    fn add_key<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a VerificationKey,
        actor: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        self.inner.add_key(tenant, key, actor)
    }
    fn retire_key<'a>(
        &'a self,
        tenant: &'a str,
        kid: &'a str,
        actor: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, ()> {
        self.inner.retire_key(tenant, kid, actor)
    }
    fn list_keys<'a>(
        &'a self,
        tenant: &'a str,
    ) -> signed_payloads::store::StoreFuture<'a, Vec<signed_payloads::store::KeyRecord>> {
        self.inner.list_keys(tenant)
    }
}

/// With a refresh grace, requests that find the entry expired while one
/// refresh is in flight are answered from it at once (no second query, no
/// waiting); once a refresh has failed, the expired entry is gone, and the
/// grace serves nothing while the store is down.
#[tokio::test]
async fn the_grace_serves_an_expired_entry_only_while_a_refresh_is_in_flight() {
    let store = Arc::new(Held {
        inner: MemoryKeyStore::new(),
        permits: tokio::sync::Semaphore::new(0),
        lookups: AtomicUsize::new(0),
        down: std::sync::atomic::AtomicBool::new(false),
    });
    store
        .inner
        .add_key("t1", &public("k1", A), "ops")
        .await
        .unwrap();
    let ttl = Duration::from_millis(100);
    let keys = Arc::new(
        TenantKeys::new(store.clone())
            .with_ttl(ttl)
            .with_refresh_grace(Duration::from_secs(60)),
    );
    let lookup = |keys: &Arc<TenantKeys>| {
        let keys = Arc::clone(keys);
        tokio::spawn(async move { keys.key_set("t1").await.map(|set| set.len()) })
    };
    store.permits.add_permits(1);
    keys.key_set("t1").await.unwrap();

    // Expired; one refresh goes to the store and is held there.
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    let refresh = lookup(&keys);
    while store.lookups.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    for _ in 0..50 {
        assert_eq!(lookup(&keys).await.unwrap().unwrap(), 1, "served meanwhile");
    }
    assert!(!refresh.is_finished(), "the refresh is still held");
    assert_eq!(store.lookups.load(Ordering::SeqCst), 2, "no second query");
    store.permits.add_permits(1);
    assert_eq!(refresh.await.unwrap().unwrap(), 1);

    // The store goes down; a refresh fails and drops the expired entry.
    store.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    store.permits.add_permits(1);
    assert!(matches!(
        keys.key_set("t1").await,
        Err(Error::Unavailable { .. })
    ));
    // The next refresh is held in flight: a request meanwhile is not served
    // the dropped entry; it waits, and fails with the store.
    let refresh = lookup(&keys);
    while store.lookups.load(Ordering::SeqCst) < 4 {
        tokio::task::yield_now().await;
    }
    let waiting = lookup(&keys);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished(), "not served from the dropped entry");
    store.permits.add_permits(2);
    assert!(matches!(
        refresh.await.unwrap(),
        Err(Error::Unavailable { .. })
    ));
    assert!(matches!(
        waiting.await.unwrap(),
        Err(Error::Unavailable { .. })
    ));
}
