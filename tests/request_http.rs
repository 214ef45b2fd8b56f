//! The request-signing flow end to end over loopback HTTP: the example's
//! signing service and API stand-in (the same code as `examples/`), driven
//! by reqwest.
#![cfg(feature = "axum")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

#[path = "../examples/support/signing_service.rs"]
mod signing_service;
#[path = "../examples/support/user_api.rs"]
mod user_api;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::{Value, json};
use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::{
    Algorithm, FixedClock, KeyRegistry, KeySigner, Limits, PrivateKey, VerificationKey,
};

const API_KEY: &str = "test-api-key";

fn private(path: &str) -> PrivateKey {
    PrivateKey::parse(
        &std::fs::read(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap()
}

struct Flow {
    sign_url: String,
    user_url: String,
    signer: Arc<KeySigner>,
    client: reqwest::Client,
}

async fn start() -> Flow {
    let current = private("keys/rsa2048.pkcs8.pem");
    let next = private("rfc7515/A2.rsa_private_pkcs8.pem");
    let registry = KeyRegistry::from_keys([
        VerificationKey::new("key-1", current.public_key().clone(), Algorithm::RS256).unwrap(),
        VerificationKey::new("key-2", next.public_key().clone(), Algorithm::RS256).unwrap(),
    ])
    .unwrap();
    let signer = Arc::new(
        KeySigner::new(current, Algorithm::RS256)
            .unwrap()
            .with_key_id("key-1"),
    );
    let signing = signing_service::router(
        RequestSigner::new(signer.clone()).with_ttl(Duration::from_secs(300)),
        signing_service::create_user_approval(API_KEY.to_owned()),
    );
    let verifier = RequestVerifier::new(Arc::new(registry))
        .with_limits(Limits::default().with_max_token_bytes(64 << 10));
    Flow {
        sign_url: format!(
            "http://{}/sign",
            signing_service::serve(signing, 0).await.unwrap()
        ),
        user_url: format!(
            "http://{}/v1/user",
            signing_service::serve(user_api::router(Arc::new(verifier)), 0)
                .await
                .unwrap()
        ),
        signer,
        client: reqwest::Client::new(),
    }
}

impl Flow {
    async fn sign(&self, payload: &Value, api_key: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.client.post(&self.sign_url).json(payload);
        if let Some(key) = api_key {
            request = request.header("x-api-key", key);
        }
        let response = request.send().await.unwrap();
        let cache = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        let status = response.status();
        if status == StatusCode::OK {
            assert_eq!(cache.as_deref(), Some("no-store"));
        }
        (status, response.json().await.unwrap())
    }

    async fn send(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.post(&self.user_url).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn signed_payload_is_accepted_and_names_the_key() {
    let flow = start().await;
    let (status, body) = flow
        .sign(&signing_service::sample_create_user(), Some(API_KEY))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, user) = flow.send(token.to_owned(), Some("application/jwt")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["type"], "user");
    assert_eq!(user["signed_with"], "key-1");
    assert_eq!(user["user_data"]["data"][0]["phone_number"], "2105555555");
    // A trailing newline (curl --data-binary @file) is fine.
    let (status, _) = flow
        .send(format!("{token}\n"), Some("application/jwt; charset=utf-8"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn signing_service_applies_the_approval_hook() {
    let flow = start().await;
    let sample = signing_service::sample_create_user();
    assert_eq!(flow.sign(&sample, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        flow.sign(&sample, Some("wrong")).await.0,
        StatusCode::FORBIDDEN
    );
    let nameless =
        json!({"data_points": {"type": "list", "data": [{"type": "phone", "phone_number": "1"}]}});
    let (status, body) = flow.sign(&nameless, Some(API_KEY)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["error"].as_str().unwrap().contains("name"));
    assert_eq!(
        flow.sign(&json!([1, 2]), Some(API_KEY)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn api_rejections_have_the_right_status_and_say_little() {
    let flow = start().await;
    let payload = signing_service::sample_create_user();
    let good = RequestSigner::new(flow.signer.clone())
        .sign(&payload)
        .unwrap();
    let mut tampered = good.clone().into_bytes();
    let at = good.find('.').unwrap() + 30;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let unknown_kid = RequestSigner::new(Arc::new(
        KeySigner::new(private("keys/rsa2048.pkcs8.pem"), Algorithm::RS256)
            .unwrap()
            .with_key_id("key-9"),
    ))
    .sign(&payload)
    .unwrap();
    let expired = RequestSigner::new(flow.signer.clone())
        .with_ttl(Duration::from_secs(60))
        .with_clock(Arc::new(FixedClock::new(
            SystemTime::now() - Duration::from_secs(3600),
        )))
        .sign(&payload)
        .unwrap();
    let other_key = RequestSigner::new(Arc::new(
        KeySigner::new(
            private("rfc7515/A2.rsa_private_pkcs8.pem"),
            Algorithm::RS256,
        )
        .unwrap()
        .with_key_id("key-1"),
    ))
    .sign(&payload)
    .unwrap();
    let wrong_alg = RequestSigner::new(Arc::new(
        KeySigner::new(private("keys/rsa2048.pkcs8.pem"), Algorithm::PS256)
            .unwrap()
            .with_key_id("key-1"),
    ))
    .sign(&payload)
    .unwrap();

    // (case, body, content type, expected status, expected error code)
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "unsigned json",
            payload.to_string().into_bytes(),
            Some("application/json"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "no content type",
            good.clone().into_bytes(),
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "json as jwt",
            payload.to_string().into_bytes(),
            Some("application/jwt"),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            "garbage",
            b"a.b.c".to_vec(),
            Some("application/jwt"),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            "not utf-8",
            vec![0xff; 10],
            Some("application/jwt"),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            "tampered",
            tampered,
            Some("application/jwt"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "unknown kid",
            unknown_kid.into_bytes(),
            Some("application/jwt"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "kid of another key",
            other_key.into_bytes(),
            Some("application/jwt"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "wrong algorithm",
            wrong_alg.into_bytes(),
            Some("application/jwt"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "expired",
            expired.into_bytes(),
            Some("application/jwt"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            "too large",
            vec![b'a'; 200 << 10],
            Some("application/jwt"),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (name, body, content_type, status, code) in cases {
        let (found, answer) = flow.send(body, content_type).await;
        assert_eq!(found, status, "{name}: {answer}");
        assert_eq!(answer["error"], code, "{name}");
        let text = answer.to_string();
        for secret in ["kid", "key-", "expired", "signature verification"] {
            assert!(!text.contains(secret), "{name} leaks {secret}: {text}");
        }
    }
}

/// A replay store that cannot answer, like Redis while it is down.
#[derive(Debug)]
struct Down;

impl signed_payloads::AsyncNonceStore for Down {
    fn check_and_remember_async<'a>(
        &'a self,
        _: &'a signed_payloads::NonceCheck<'a>,
    ) -> signed_payloads::NonceFuture<'a> {
        Box::pin(async {
            Err(signed_payloads::Error::Unavailable {
                what: "the test replay store",
                source: "connection refused".into(),
            })
        })
    }
}

/// The extractor answers by who must act: a store that cannot answer is
/// 503 (retry later), a token that does not verify 401, a body that is not
/// a token 400, each with its short JSON body and no detail.
#[tokio::test]
async fn the_extractor_answers_503_401_and_400_by_who_must_act() {
    let key = private("keys/rsa2048.pkcs8.pem");
    let registry = KeyRegistry::new(
        VerificationKey::new("key-1", key.public_key().clone(), Algorithm::RS256).unwrap(),
    );
    let verifier = RequestVerifier::new(Arc::new(registry)).with_replay_store(Arc::new(Down));
    let url = format!(
        "http://{}/v1/user",
        signing_service::serve(user_api::router(Arc::new(verifier)), 0)
            .await
            .unwrap()
    );
    let signer = RequestSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::RS256)
            .unwrap()
            .with_key_id("key-1"),
    ))
    .with_ttl(Duration::from_secs(300))
    .with_jti();
    let token = signer.sign(&signing_service::sample_create_user()).unwrap();
    let client = reqwest::Client::new();
    let post = |body: String| {
        client
            .post(&url)
            .header("content-type", "application/jwt")
            .body(body)
            .send()
    };

    let response = post(token.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "JSON body"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    assert!(!body.to_string().contains("refused"), "no detail: {body}");

    let (head, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let response = post(format!("{head}.{flipped}{}", &signature[1..]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unauthorized"
    );

    let response = post("not a token".to_owned()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "malformed_request"
    );
}

/// A replay store that lost its records (a Redis restarted without
/// persistence) and cannot vouch for the token.
#[derive(Debug)]
struct Forgot;

impl signed_payloads::NonceStore for Forgot {
    fn check_and_remember(
        &self,
        _: &signed_payloads::NonceCheck<'_>,
    ) -> Result<signed_payloads::NonceStatus, signed_payloads::Error> {
        Ok(signed_payloads::NonceStatus::BeforeHistory)
    }
}

/// The one 401 a genuine client fixes by signing again says so.
#[tokio::test]
async fn a_token_older_than_the_replay_records_is_told_to_sign_again() {
    let key = private("keys/rsa2048.pkcs8.pem");
    let registry = KeyRegistry::new(
        VerificationKey::new("key-1", key.public_key().clone(), Algorithm::RS256).unwrap(),
    );
    let verifier = RequestVerifier::new(Arc::new(registry)).with_replay_store(Arc::new(Forgot));
    let url = format!(
        "http://{}/v1/user",
        signing_service::serve(user_api::router(Arc::new(verifier)), 0)
            .await
            .unwrap()
    );
    let token = RequestSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::RS256)
            .unwrap()
            .with_key_id("key-1"),
    ))
    .with_ttl(Duration::from_secs(300))
    .with_jti()
    .sign(&signing_service::sample_create_user())
    .unwrap();
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/jwt")
        .body(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "sign_again", "{body}");
    assert!(body.to_string().contains("current iat"), "{body}");
}

/// A request body that breaks off.
#[cfg(feature = "tower")]
struct Broken;

#[cfg(feature = "tower")]
impl http_body::Body for Broken {
    type Data = bytes::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
    }
}

/// The body limit cannot overflow, a body that breaks off is not "too
/// large", and an oversized body's message states the limit, not a made-up
/// size.
#[cfg(feature = "tower")]
#[tokio::test]
async fn the_extractor_reads_bodies_within_bounds() {
    use axum::extract::FromRequest;
    use signed_payloads::axum::SignedJson;
    use signed_payloads::request::BodyVerifier;

    let key = private("keys/rsa2048.pkcs8.pem");
    let registry = || {
        Arc::new(KeyRegistry::new(
            VerificationKey::new("key-1", key.public_key().clone(), Algorithm::RS256).unwrap(),
        ))
    };
    let request = |body: axum::body::Body| {
        axum::http::Request::builder()
            .method("POST")
            .header("content-type", "application/jwt")
            .body(body)
            .unwrap()
    };
    let unlimited: Arc<dyn BodyVerifier> = Arc::new(
        RequestVerifier::new(registry())
            .with_limits(Limits::default().with_max_token_bytes(usize::MAX)),
    );
    let rejection =
        SignedJson::<Value>::from_request(request(axum::body::Body::new(Broken)), &unlimited)
            .await
            .unwrap_err();
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST, "{rejection}");
    assert!(matches!(
        rejection.error(),
        signed_payloads::Error::Transport(_)
    ));

    let small: Arc<dyn BodyVerifier> = Arc::new(
        RequestVerifier::new(registry()).with_limits(Limits::default().with_max_token_bytes(1000)),
    );
    let rejection = SignedJson::<Value>::from_request(
        request(axum::body::Body::from(vec![b'a'; 5_000_000])),
        &small,
    )
    .await
    .unwrap_err();
    assert_eq!(rejection.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let message = rejection.error().to_string();
    assert!(
        message.contains("over the limit of 1064 bytes"),
        "{message}"
    );
}
