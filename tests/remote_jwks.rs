//! `RemoteJwks` against a JWKS endpoint served by axum on 127.0.0.1: cache
//! hits, refetch on an unknown kid, the cooldown (fetches counted by the
//! server), the last good set kept while the endpoint is down or serves
//! garbage, the size limit and the timeout.
#![cfg(feature = "jwks-http")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{Algorithm, Error, JwkSet, KeySigner, PrivateKey, RemoteJwks};

const A: &str = "rsa2048.pkcs8.pem";
const B: &str = "rsa2048-second.pkcs8.pem";

fn key(file: &str) -> PrivateKey {
    PrivateKey::from_pem(&std::fs::read_to_string(format!("tests/data/keys/{file}")).unwrap())
        .unwrap()
}

fn signer(kid: &str, file: &str) -> ResponseSigner {
    ResponseSigner::new(Arc::new(
        KeySigner::new(key(file), Algorithm::PS384)
            .unwrap()
            .with_key_id(kid),
    ))
}

fn jwks(keys: &[(&str, &str)]) -> String {
    let set = JwkSet::new(
        keys.iter()
            .map(|(kid, file)| {
                key(file)
                    .public_key()
                    .to_jwk()
                    .with_kid(*kid)
                    .with_alg(Algorithm::PS384)
                    .for_signatures()
            })
            .collect(),
    );
    serde_json::to_string(&set).unwrap()
}

/// What the endpoint serves.
const ONLY_A: u8 = 0;
const A_AND_B: u8 = 1;
const MALFORMED: u8 = 2;
const SERVER_ERROR: u8 = 3;
const HUGE: u8 = 4;
const SLOW: u8 = 5;
/// Key id "a" bound to key B: a rebinding.
const REBOUND: u8 = 6;

struct Endpoint {
    mode: AtomicU8,
    fetches: AtomicUsize,
    only_a: String,
    a_and_b: String,
    rebound: String,
}

async fn serve_jwks(State(endpoint): State<Arc<Endpoint>>) -> (StatusCode, String) {
    endpoint.fetches.fetch_add(1, Ordering::SeqCst);
    match endpoint.mode.load(Ordering::SeqCst) {
        ONLY_A => (StatusCode::OK, endpoint.only_a.clone()),
        A_AND_B => (StatusCode::OK, endpoint.a_and_b.clone()),
        REBOUND => (StatusCode::OK, endpoint.rebound.clone()),
        MALFORMED => (
            StatusCode::OK,
            r#"{"keys":[{"kty":"RSA","n":"AQAB"#.to_owned(),
        ),
        SERVER_ERROR => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
        HUGE => (
            StatusCode::OK,
            format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(300_000)),
        ),
        _ => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            (StatusCode::OK, endpoint.only_a.clone())
        }
    }
}

async fn start(mode: u8) -> (Arc<Endpoint>, String) {
    let endpoint = Arc::new(Endpoint {
        mode: AtomicU8::new(mode),
        fetches: AtomicUsize::new(0),
        only_a: jwks(&[("a", A)]),
        a_and_b: jwks(&[("a", A), ("b", B)]),
        rebound: jwks(&[("a", B)]),
    });
    let app = Router::new()
        .route("/jwks.json", get(serve_jwks))
        .with_state(endpoint.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (endpoint, url)
}

fn remote(url: &str) -> RemoteJwks {
    RemoteJwks::new(url, Algorithm::PS384)
        .unwrap()
        .allow_http(true)
        .with_timeout(Duration::from_millis(500))
}

async fn check(
    verifier: &ResponseVerifier<RemoteJwks>,
    kid: &str,
    file: &str,
) -> Result<(), Error> {
    let signed = signer(kid, file).sign_headers(200, b"{}").unwrap();
    verifier
        .verify_headers_async(200, signed.iter(), b"{}")
        .await
        .map(|v| assert_eq!(v.key_id(), Some(kid)))
}

#[tokio::test]
async fn cached_set_serves_and_unknown_kid_refetches() {
    let (endpoint, url) = start(ONLY_A).await;
    let jwks = Arc::new(remote(&url).with_refetch_cooldown(Duration::from_millis(200)));
    let verifier = ResponseVerifier::new(jwks.clone());

    for _ in 0..5 {
        check(&verifier, "a", A).await.unwrap();
    }
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 1, "cache hits");

    // The API rotates: b appears. A token signed by b makes a refetch
    // (once the cooldown since the first fetch has passed).
    endpoint.mode.store(A_AND_B, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(250)).await;
    check(&verifier, "b", B).await.unwrap();
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 2);
    check(&verifier, "b", B).await.unwrap();
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 2);

    // Embedded mode uses the same keys.
    let body = signer("b", B).sign_embedded(b"{\"ok\":true}").unwrap();
    let verified = verifier
        .verify_embedded_async(body.as_bytes())
        .await
        .unwrap();
    assert_eq!(verified.payload(), b"{\"ok\":true}");
}

#[tokio::test]
async fn unknown_kids_cannot_make_it_fetch_on_every_token() {
    let (endpoint, url) = start(ONLY_A).await;
    let jwks = Arc::new(remote(&url).with_refetch_cooldown(Duration::from_secs(60)));
    let verifier = ResponseVerifier::new(jwks);
    check(&verifier, "a", A).await.unwrap();
    // 50 tokens naming made-up kids, right after the first fetch.
    for i in 0..50 {
        let e = check(&verifier, &format!("made-up-{i}"), B)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::UnknownKeyId(_)), "{e}");
    }
    assert_eq!(
        endpoint.fetches.load(Ordering::SeqCst),
        1,
        "no fetch within the cooldown"
    );
    // Concurrent lookups share one fetch too.
    let (endpoint, url) = start(ONLY_A).await;
    let verifier = Arc::new(ResponseVerifier::new(Arc::new(remote(&url))));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let verifier = verifier.clone();
            tokio::spawn(async move { check(&verifier, "a", A).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_last_good_set_serves_while_the_endpoint_is_down_or_broken() {
    let (endpoint, url) = start(ONLY_A).await;
    let jwks = Arc::new(
        remote(&url)
            .with_max_age(Duration::from_millis(100))
            .with_refetch_cooldown(Duration::from_millis(100)),
    );
    let verifier = ResponseVerifier::new(jwks.clone());
    check(&verifier, "a", A).await.unwrap();
    for (mode, what) in [
        (SERVER_ERROR, "500"),
        (MALFORMED, "malformed"),
        (HUGE, "oversized"),
    ] {
        endpoint.mode.store(mode, Ordering::SeqCst);
        let before = endpoint.fetches.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(150)).await;
        // The set is past its max age: a fetch is tried, fails, and the
        // old set keeps verifying.
        check(&verifier, "a", A)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            endpoint.fetches.load(Ordering::SeqCst),
            before + 1,
            "{what}"
        );
        // A forced refresh reports the failure and keeps the set.
        assert!(
            matches!(jwks.refresh().await, Err(Error::Unavailable { .. })),
            "{what}"
        );
        check(&verifier, "a", A).await.unwrap();
    }
}

#[tokio::test]
async fn without_a_good_set_lookups_fail_clearly() {
    for (mode, what) in [
        (MALFORMED, "malformed"),
        (SERVER_ERROR, "500"),
        (HUGE, "oversized"),
    ] {
        let (_endpoint, url) = start(mode).await;
        let verifier = ResponseVerifier::new(Arc::new(remote(&url)));
        let e = check(&verifier, "a", A).await.unwrap_err();
        assert!(matches!(e, Error::Unavailable { .. }), "{what}: {e}");
        assert!(
            e.to_string()
                .starts_with("the JWKS endpoint is unavailable"),
            "{e}"
        );
    }
    // Nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let verifier = ResponseVerifier::new(Arc::new(remote(&url)));
    assert!(matches!(
        check(&verifier, "a", A).await,
        Err(Error::Unavailable { .. })
    ));
}

#[tokio::test]
async fn a_slow_endpoint_times_out() {
    let (_endpoint, url) = start(SLOW).await;
    let verifier = ResponseVerifier::new(Arc::new(remote(&url)));
    let started = Instant::now();
    let e = check(&verifier, "a", A).await.unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn plain_http_needs_allow_http() {
    let (endpoint, url) = start(ONLY_A).await;
    let jwks = RemoteJwks::new(&url, Algorithm::PS384).unwrap();
    let verifier = ResponseVerifier::new(Arc::new(jwks));
    assert!(matches!(
        check(&verifier, "a", A).await,
        Err(Error::Config(_))
    ));
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 0);
    assert!(matches!(
        RemoteJwks::new("not a url", Algorithm::PS384),
        Err(Error::Config(_))
    ));
}

/// The review's bug: a sync lookup stamped the cooldown and dropped its
/// fetch, so the async retry was refused for 30 s. A remote source has no
/// sync path now (a compile-time error, see `RemoteJwks`'s docs); the first
/// lookup, with the default cooldown, fetches once and serves.
#[tokio::test]
async fn the_first_lookup_fetches_once_and_serves_with_the_default_cooldown() {
    let (endpoint, url) = start(ONLY_A).await;
    let verifier = ResponseVerifier::new(Arc::new(
        RemoteJwks::new(&url, Algorithm::PS384)
            .unwrap()
            .allow_http(true),
    ));
    check(&verifier, "a", A).await.unwrap();
    check(&verifier, "a", A).await.unwrap();
    assert_eq!(endpoint.fetches.load(Ordering::SeqCst), 1);
}

/// An endpoint that rebinds a key id to other key material is not trusted:
/// the set is refused (the error says so) and the last good set stays, so a
/// token signed by the new material under the old id never verifies.
#[tokio::test]
async fn a_set_that_rebinds_a_kid_is_refused_and_the_last_good_set_stays() {
    let (endpoint, url) = start(ONLY_A).await;
    let jwks = Arc::new(remote(&url).with_refetch_cooldown(Duration::ZERO));
    let verifier = ResponseVerifier::new(jwks.clone());
    check(&verifier, "a", A).await.unwrap();

    endpoint.mode.store(REBOUND, Ordering::SeqCst);
    let err = jwks.refresh().await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    let said = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        said.contains("other key material") && said.contains("last good set"),
        "{said}"
    );
    assert!(matches!(
        check(&verifier, "a", B).await,
        Err(Error::BadSignature)
    ));
    check(&verifier, "a", A).await.unwrap();
}

/// An API whose JWKS holds an RSA key and an EC key (the EC one without
/// `alg`: the remote set's PS384 default does not fit it, so it takes
/// ES256): responses signed by either verify.
#[tokio::test]
async fn a_jwks_with_rsa_and_ec_keys_verifies_both() {
    let ec = key("ec-p256.pem");
    let set = JwkSet::new(vec![
        key(A)
            .public_key()
            .to_jwk()
            .with_kid("rsa")
            .with_alg(Algorithm::PS384)
            .for_signatures(),
        ec.public_key().to_jwk().with_kid("ec").for_signatures(),
    ]);
    let body = serde_json::to_string(&set).unwrap();
    let app = Router::new().route("/jwks.json", get(move || async move { body.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let verifier = ResponseVerifier::new(Arc::new(remote(&url)));

    check(&verifier, "rsa", A).await.unwrap();
    let es256 = ResponseSigner::new(Arc::new(
        KeySigner::new(ec, Algorithm::ES256)
            .unwrap()
            .with_key_id("ec"),
    ));
    let signed = es256.sign_headers(200, b"{}").unwrap();
    let verified = verifier
        .verify_headers_async(200, signed.iter(), b"{}")
        .await
        .unwrap();
    assert_eq!(verified.key_id(), Some("ec"));
    // The EC key's token under the RSA key's id is refused.
    let mislabelled = ResponseSigner::new(Arc::new(
        KeySigner::new(key("ec-p256.pem"), Algorithm::ES256)
            .unwrap()
            .with_key_id("rsa"),
    ))
    .sign_headers(200, b"{}")
    .unwrap();
    assert!(
        verifier
            .verify_headers_async(200, mislabelled.iter(), b"{}")
            .await
            .is_err()
    );
}
