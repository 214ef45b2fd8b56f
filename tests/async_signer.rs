//! `AsyncSigner`: a signer that runs in another task and answers over a
//! channel, the way a KMS or HSM client answers over the network, used by
//! the request and response signers.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, AsyncSigner, Error, KeyRegistry, KeySigner, PrivateKey, SignFuture, Signer,
    VerificationKey,
};
use tokio::sync::{mpsc, oneshot};

#[cfg(all(feature = "tower", feature = "reqwest", feature = "axum"))]
#[allow(dead_code)] // shared with the examples; this test uses the router only
#[path = "../examples/support/payments_api.rs"]
mod payments_api;

type Job = (Vec<u8>, oneshot::Sender<Result<Vec<u8>, Error>>);

/// Holds no key: sends each signing input to a task that owns it.
#[derive(Debug)]
struct ChannelSigner {
    algorithm: Algorithm,
    kid: String,
    jobs: mpsc::Sender<Job>,
}

impl ChannelSigner {
    /// Starts the key-holding task and returns the client side.
    fn spawn(key: PrivateKey, algorithm: Algorithm, kid: &str) -> Self {
        let (jobs, mut inbox) = mpsc::channel::<Job>(16);
        let signer = KeySigner::new(key, algorithm).unwrap();
        tokio::spawn(async move {
            while let Some((message, reply)) = inbox.recv().await {
                // Let the caller actually wait, as a network call would.
                tokio::task::yield_now().await;
                let _ = reply.send(signer.sign(&message));
            }
        });
        ChannelSigner {
            algorithm,
            kid: kid.to_owned(),
            jobs,
        }
    }
}

impl AsyncSigner for ChannelSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        Some(&self.kid)
    }

    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.jobs
                .send((message.to_vec(), reply))
                .await
                .map_err(|_| Error::backend("signing task is gone"))?;
            answer
                .await
                .map_err(|_| Error::backend("signing task dropped the request"))?
        })
    }
}

fn key() -> PrivateKey {
    PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap()
}

fn registry(alg: Algorithm) -> Arc<KeyRegistry> {
    Arc::new(KeyRegistry::new(
        VerificationKey::new("kms-1", key().public_key().clone(), alg).unwrap(),
    ))
}

#[tokio::test]
async fn request_signer_with_a_remote_key() {
    let remote = RequestSigner::remote(Arc::new(ChannelSigner::spawn(
        key(),
        Algorithm::PS256,
        "kms-1",
    )));
    let token = remote.sign_json_async(br#"{"user":"ada"}"#).await.unwrap();
    let verified = RequestVerifier::new(registry(Algorithm::PS256))
        .verify_bytes(&token)
        .unwrap();
    assert_eq!(verified.key_id(), Some("kms-1"));
    assert!(verified.payload().starts_with(br#"{"user":"ada","iat":"#));
    // A remote signer has no sync method: `remote.sign_json(..)` does not compile.
    // Sync keys work through the async methods too.
    let local = RequestSigner::new(Arc::new(
        KeySigner::new(key(), Algorithm::PS256)
            .unwrap()
            .with_key_id("kms-1"),
    ));
    let token = local
        .sign_async(&serde_json::json!({"user": "ada"}))
        .await
        .unwrap();
    assert!(
        RequestVerifier::new(registry(Algorithm::PS256))
            .verify_bytes(&token)
            .is_ok()
    );
}

#[tokio::test]
async fn response_signer_with_a_remote_key() {
    let remote = ResponseSigner::remote(Arc::new(ChannelSigner::spawn(
        key(),
        Algorithm::PS384,
        "kms-1",
    )));
    let verifier = ResponseVerifier::new(registry(Algorithm::PS384));
    let headers = remote.sign_headers_async(200, b"{}").await.unwrap();
    assert_eq!(
        verifier
            .verify_headers(200, headers.iter(), b"{}")
            .unwrap()
            .key_id(),
        Some("kms-1")
    );
    let token = remote.sign_embedded_async(b"{}").await.unwrap();
    assert_eq!(
        verifier
            .verify_embedded(token.as_bytes())
            .unwrap()
            .payload(),
        b"{}"
    );
}

#[tokio::test]
async fn a_failing_remote_key_is_an_error_not_a_token() {
    let signer = ChannelSigner::spawn(key(), Algorithm::PS256, "kms-1");
    let (jobs, inbox) = mpsc::channel::<Job>(1);
    drop(inbox);
    let broken = ChannelSigner { jobs, ..signer };
    let err = RequestSigner::remote(Arc::new(broken))
        .sign_json_async(b"{}")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Backend(_)), "{err}");
}

/// The review's bug: the tower layer called the sync signing methods, so
/// with a remote key every response became an unsigned 500. It awaits the
/// signer now; both modes come back signed, over real HTTP.
#[cfg(all(feature = "tower", feature = "reqwest", feature = "axum"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_layer_signs_with_a_remote_key() {
    use signed_payloads::response::ResponseMode;

    let signer = ResponseSigner::remote(Arc::new(ChannelSigner::spawn(
        key(),
        Algorithm::PS384,
        "kms-1",
    )));
    let address = payments_api::serve(payments_api::router(Arc::new(signer)))
        .await
        .unwrap();
    let verifier = ResponseVerifier::new(registry(Algorithm::PS384));
    let client = reqwest::Client::new();
    let url = format!("http://{address}/v3/installment-plans/42");

    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Headers)
        .await
        .unwrap();
    assert_eq!(verified.key_id(), Some("kms-1"));
    assert!(String::from_utf8_lossy(verified.payload()).contains("\"42\""));

    let response = client
        .get(&url)
        .header("x-splitit-responsesignature-mode", "jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Embedded)
        .await
        .unwrap();
    assert_eq!(verified.key_id(), Some("kms-1"));
}

/// A signing failure still becomes an unsigned 500, and the error rides in
/// the response's extensions for an outer layer to log.
#[cfg(all(feature = "tower", feature = "axum"))]
#[tokio::test]
async fn a_failing_remote_key_in_the_tower_layer_is_an_unsigned_500_with_its_error() {
    use tower::ServiceExt;

    let signer = ChannelSigner::spawn(key(), Algorithm::PS256, "kms-1");
    let (jobs, inbox) = mpsc::channel::<Job>(1);
    drop(inbox);
    let broken = ResponseSigner::remote(Arc::new(ChannelSigner { jobs, ..signer }));
    let service = tower::ServiceBuilder::new()
        .layer(signed_payloads::tower::ResponseSigningLayer::new(Arc::new(
            broken,
        )))
        .service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new("{}".to_owned()))
        });
    let response = service
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.headers().is_empty(), "unsigned");
    let failure = response
        .extensions()
        .get::<signed_payloads::tower::SigningFailure>()
        .unwrap();
    assert!(
        matches!(failure.error(), Error::Backend(_)),
        "{:?}",
        failure.error()
    );
}

/// Signing futures of a remote key can be spawned: each is `Send` for any
/// lifetime the caller's task needs (an `async fn` here once was not, and
/// `tokio::spawn` of it did not compile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_futures_can_be_spawned() {
    let requests = Arc::new(RequestSigner::remote(Arc::new(ChannelSigner::spawn(
        key(),
        Algorithm::PS256,
        "kms-1",
    ))));
    let responses = Arc::new(ResponseSigner::remote(Arc::new(ChannelSigner::spawn(
        key(),
        Algorithm::PS384,
        "kms-1",
    ))));
    let (r1, r2) = (requests.clone(), requests.clone());
    let (s1, s2) = (responses.clone(), responses.clone());
    let tasks = [
        tokio::spawn(async move { r1.sign_json_async(b"{}").await.map(drop) }),
        tokio::spawn(async move { r2.sign_async(&serde_json::json!({"a": 1})).await.map(drop) }),
        tokio::spawn(async move { s1.sign_headers_async(200, b"{}").await.map(drop) }),
        tokio::spawn(async move { s2.sign_embedded_async(b"{}").await.map(drop) }),
    ];
    for task in tasks {
        task.await.unwrap().unwrap();
    }
}

/// RFC 9421 signatures through a signer that waits (as a KMS does): the
/// signing future is spawned on the runtime, and what it signs verifies.
#[cfg(feature = "httpsig")]
#[tokio::test]
async fn http_message_signatures_through_an_async_signer() {
    use signed_payloads::httpsig::{HttpMessage, HttpSigSigner, HttpSigVerifier};
    let key = PrivateKey::from_pem(include_str!("data/keys/ec-p256.pem")).unwrap();
    let keys = Arc::new(KeyRegistry::new(
        VerificationKey::new("kms-1", key.public_key().clone(), Algorithm::ES256).unwrap(),
    ));
    let remote: Arc<dyn AsyncSigner> =
        Arc::new(ChannelSigner::spawn(key, Algorithm::ES256, "kms-1"));
    let signer = Arc::new(
        HttpSigSigner::remote(remote)
            .covering(r#""@method" "@target-uri" "content-digest""#)
            .unwrap(),
    );
    let body = b"{\"amount\":\"3.00\"}";
    let task = {
        let signer = Arc::clone(&signer);
        tokio::spawn(async move {
            let message = HttpMessage::request("POST", "https://api.example/pay").unwrap();
            signer.sign_async(message, None, Some(body)).await
        })
    };
    let signed = task.await.unwrap().unwrap();
    let covered = HttpSigVerifier::new(keys)
        .verify(&signed, None, Some(body))
        .unwrap();
    assert_eq!(covered.keyid.as_deref(), Some("kms-1"));
    assert_eq!(covered.algorithm, "ecdsa-p256-sha256");
}
