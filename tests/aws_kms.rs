//! `aws_kms::AwsKmsSigner` against moto's KMS server on 127.0.0.1 (started
//! by `scripts/kms.sh`, which corrects moto's Sign where it departs from
//! AWS), and against a small KMS stub for throttling and a hanging service.
//!
//! Without `AWS_ENDPOINT_URL_KMS` the emulator tests print a notice and
//! pass, unless `SIGNED_PAYLOADS_REQUIRE_KMS` is set (CI sets it), when they
//! fail. The stub tests always run.

#![cfg(feature = "aws-kms")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use signed_payloads::aws_kms::AwsKmsSigner;
use signed_payloads::{
    Algorithm, AsyncSigner, Error, Header, KeyRejected, KeySigner, KeyVerifier, Limits, PrivateKey,
    Signer, Verifier, jws,
};

#[cfg(all(feature = "tower", feature = "reqwest", feature = "axum"))]
#[allow(dead_code)] // shared with the examples; this test uses the router only
#[path = "../examples/support/payments_api.rs"]
mod payments_api;

#[cfg(feature = "axum")]
#[allow(dead_code)]
#[path = "../examples/support/user_api.rs"]
mod user_api;

/// True when the emulator's environment is set; says so once otherwise.
fn emulator() -> bool {
    if std::env::var_os("AWS_ENDPOINT_URL_KMS").is_some() {
        return true;
    }
    if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_KMS").is_some() {
        panic!("SIGNED_PAYLOADS_REQUIRE_KMS is set but AWS_ENDPOINT_URL_KMS is not");
    }
    eprintln!("skipped: needs the KMS emulator, `eval \"$(scripts/kms.sh start)\"`");
    false
}

/// A KMS client on the standard environment, for making the tests' keys.
async fn admin() -> aws_sdk_kms::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_kms::Client::new(&config)
}

async fn create_key(
    kms: &aws_sdk_kms::Client,
    spec: KeySpec,
    usage: KeyUsageType,
    description: &str,
) -> String {
    kms.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .description(description)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

/// The PEM of what `GetPublicKey` returns, written for the Python check.
async fn public_pem(kms: &aws_sdk_kms::Client, key: &str, name: &str) -> PathBuf {
    let der = kms
        .get_public_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap()
        .into_inner();
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kms-{name}.pem"));
    std::fs::write(&path, pem::encode(&pem::Pem::new("PUBLIC KEY", der))).unwrap();
    path
}

/// pyca/cryptography's verdict on `token` under the PEM key.
fn python_verifies(alg: Algorithm, pem: &std::path::Path, token: &str) -> bool {
    let python = std::env::var("SIGNED_PAYLOADS_KMS_PYTHON").unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/kms_verify.py");
    std::process::Command::new(python)
        .args([script, alg.as_str(), pem.to_str().unwrap(), token])
        .status()
        .unwrap()
        .success()
}

fn header(alg: Algorithm) -> Header {
    Header::new(alg).with_kid("kms-1")
}

/// Every algorithm moto offers: signed through KMS (a short payload and one
/// over KMS's 4 KiB RAW limit, which DIGEST makes no matter), verified by
/// the crate and by pyca/cryptography against `GetPublicKey`'s PEM.
#[tokio::test]
async fn every_algorithm_signs_through_kms_and_verifies_here_and_in_python() {
    if !emulator() {
        return;
    }
    let kms = admin().await;
    let big = format!(r#"{{"note":"{}"}}"#, "x".repeat(5000));
    for (spec, algorithms) in [
        (
            KeySpec::Rsa2048,
            &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ][..],
        ),
        (KeySpec::Rsa3072, &[Algorithm::PS256][..]),
        (KeySpec::EccNistP256, &[Algorithm::ES256][..]),
        (KeySpec::EccNistP384, &[Algorithm::ES384][..]),
        (KeySpec::EccNistP521, &[Algorithm::ES512][..]),
    ] {
        let key = create_key(&kms, spec.clone(), KeyUsageType::SignVerify, "test").await;
        let pem = public_pem(&kms, &key, spec.as_str()).await;
        for &alg in algorithms {
            let signer = AwsKmsSigner::builder(&key)
                .algorithm(alg)
                .connect()
                .await
                .unwrap();
            assert_eq!(AsyncSigner::algorithm(&signer), alg);
            let verifier = KeyVerifier::new(signer.public_key().clone(), alg).unwrap();
            for payload in [&br#"{"amount":100}"#[..], big.as_bytes()] {
                let token = jws::sign_async(&header(alg), payload, &signer)
                    .await
                    .unwrap();
                let verified = jws::verify(&token, &verifier, &Limits::default()).unwrap();
                assert_eq!(verified.payload(), payload);
                assert!(
                    python_verifies(alg, &pem, &token),
                    "{spec:?} {alg}: pyca/cryptography refused"
                );
            }
            // The kid defaults to the key's RFC 7638 thumbprint.
            assert_eq!(
                AsyncSigner::key_id(&signer),
                Some(signer.public_key().thumbprint().as_str())
            );
            assert!(!format!("{signer:?}").is_empty());
        }
    }
}

/// Each refusal at construction says what is wrong, and who must act.
#[tokio::test]
async fn keys_that_cannot_sign_are_refused_when_the_signer_is_built() {
    if !emulator() {
        return;
    }
    let kms = admin().await;
    let config_error = |e: Error| match e {
        Error::Config(message) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    };

    let encrypting = create_key(
        &kms,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
        "test",
    )
    .await;
    let message = config_error(
        AwsKmsSigner::builder(&encrypting)
            .connect()
            .await
            .unwrap_err(),
    );
    assert!(message.contains("is not for signing"), "{message}");

    let disabled = create_key(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify, "test").await;
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let message = config_error(
        AwsKmsSigner::builder(&disabled)
            .connect()
            .await
            .unwrap_err(),
    );
    assert!(message.contains("is Disabled, not Enabled"), "{message}");

    let deleted = create_key(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify, "test").await;
    kms.schedule_key_deletion()
        .key_id(&deleted)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let message = config_error(AwsKmsSigner::builder(&deleted).connect().await.unwrap_err());
    assert!(message.contains("PendingDeletion"), "{message}");

    let rsa = create_key(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify, "test").await;
    let err = AwsKmsSigner::builder(&rsa)
        .algorithm(Algorithm::ES256)
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::KeyRejected(KeyRejected::WrongAlgorithm { .. })),
        "{err}"
    );
    let err = AwsKmsSigner::builder(&rsa)
        .algorithm(Algorithm::EdDSA)
        .connect()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("RSA keys cannot be used with EdDSA"),
        "{err}"
    );

    let message = config_error(
        AwsKmsSigner::builder("alias/no-such-key")
            .connect()
            .await
            .unwrap_err(),
    );
    assert!(message.contains("does not exist"), "{message}");

    let k1 = create_key(
        &kms,
        KeySpec::EccSecgP256K1,
        KeyUsageType::SignVerify,
        "test",
    )
    .await;
    let err = AwsKmsSigner::builder(&k1).connect().await.unwrap_err();
    assert!(
        matches!(err, Error::KeyRejected(KeyRejected::UnsupportedKeyType(_))),
        "{err}"
    );
}

/// moto, uncorrected, signs PSS with the largest salt; AWS and JOSE use the
/// hash's length. The signer checks what KMS returns and refuses it.
#[tokio::test]
async fn a_maximum_salt_pss_signature_from_kms_is_refused() {
    if !emulator() {
        return;
    }
    let kms = admin().await;
    let key = create_key(
        &kms,
        KeySpec::Rsa2048,
        KeyUsageType::SignVerify,
        "moto-uncorrected-pss",
    )
    .await;
    let signer = AwsKmsSigner::builder(&key)
        .algorithm(Algorithm::PS256)
        .connect()
        .await
        .unwrap();
    let err = signer.sign_async(b"header.payload").await.unwrap_err();
    assert!(
        matches!(&err, Error::Backend(m) if m.to_string().contains("does not verify")),
        "{err}"
    );
    // RS256 with the same key is deterministic and unaffected.
    let rs256 = AwsKmsSigner::builder(&key)
        .algorithm(Algorithm::RS256)
        .connect()
        .await
        .unwrap();
    rs256.sign_async(b"header.payload").await.unwrap();
}

/// Both profiles' signers and the tower layer with a KMS key, over real
/// HTTP on 127.0.0.1, and 16 tasks signing through one signer at once.
#[cfg(all(feature = "tower", feature = "reqwest", feature = "axum"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_profiles_and_the_tower_layer_sign_with_a_kms_key() {
    use signed_payloads::request::{RequestSigner, RequestVerifier};
    use signed_payloads::response::{ResponseMode, ResponseSigner, ResponseVerifier};
    use signed_payloads::{KeyRegistry, VerificationKey};
    if !emulator() {
        return;
    }
    let kms = admin().await;
    let key = create_key(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify, "test").await;
    let signer = Arc::new(
        AwsKmsSigner::builder(&key)
            .connect()
            .await
            .unwrap()
            .with_key_id("kms-1"),
    );
    let registry = Arc::new(KeyRegistry::new(
        VerificationKey::new("kms-1", signer.public_key().clone(), Algorithm::ES256).unwrap(),
    ));

    // Request signing: 16 tasks through one signer, each posted to the API.
    let api = payments_api::serve(user_api::router(Arc::new(RequestVerifier::new(
        registry.clone(),
    ))))
    .await
    .unwrap();
    let requests = Arc::new(RequestSigner::remote(signer.clone()));
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (requests, client) = (requests.clone(), client.clone());
            tokio::spawn(async move {
                let body = format!(
                    r#"{{"data_points":{{"type":"list","data":[{{"type":"phone","value":"+1555000{i:04}"}}]}}}}"#
                );
                let token = requests.sign_json_async(body.as_bytes()).await.unwrap();
                let response = client
                    .post(format!("http://{api}/v1/user"))
                    .header("content-type", "application/jwt")
                    .body(token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let answer: serde_json::Value = response.json().await.unwrap();
                assert_eq!(answer["signed_with"], "kms-1");
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    // Response signing, through the tower layer, both modes.
    let responses = ResponseSigner::remote(signer.clone());
    let address = payments_api::serve(payments_api::router(Arc::new(responses)))
        .await
        .unwrap();
    let verifier = ResponseVerifier::new(registry);
    let url = format!("http://{address}/v3/installment-plans/42");
    let response = client.get(&url).send().await.unwrap();
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Headers)
        .await
        .unwrap();
    assert_eq!(verified.key_id(), Some("kms-1"));
    let response = client
        .get(&url)
        .header("x-splitit-responsesignature-mode", "jwt")
        .send()
        .await
        .unwrap();
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Embedded)
        .await
        .unwrap();
    assert_eq!(verified.key_id(), Some("kms-1"));
}

mod stub {
    //! A KMS stand-in that speaks the JSON protocol for one RSA key:
    //! `DescribeKey`, `GetPublicKey`, and a `Sign` that is throttled a set
    //! number of times, or never answers.

    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    pub(super) const MESSAGE: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.e30";

    pub(super) struct Stub {
        pub(super) throttle: usize,
        pub(super) hang: bool,
        pub(super) calls: AtomicUsize,
        spki: Vec<u8>,
        signature: Vec<u8>,
    }

    fn json(status: StatusCode, body: serde_json::Value) -> axum::response::Response {
        (
            status,
            [("content-type", "application/x-amz-json-1.1")],
            body.to_string(),
        )
            .into_response()
    }

    async fn serve(
        axum::extract::State(stub): axum::extract::State<Arc<Stub>>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let arn = "arn:aws:kms:us-east-1:111122223333:key/stub";
        let algorithms = ["RSASSA_PKCS1_V1_5_SHA_256"];
        match target {
            "TrentService.DescribeKey" => json(
                StatusCode::OK,
                serde_json::json!({"KeyMetadata": {
                    "KeyId": "stub", "Arn": arn, "KeyUsage": "SIGN_VERIFY",
                    "KeyState": "Enabled", "Enabled": true, "KeySpec": "RSA_2048",
                    "SigningAlgorithms": algorithms, "KeyManager": "CUSTOMER",
                    "Origin": "AWS_KMS", "CreationDate": 1.8e9,
                }}),
            ),
            "TrentService.GetPublicKey" => json(
                StatusCode::OK,
                serde_json::json!({"KeyId": arn, "PublicKey": STANDARD.encode(&stub.spki),
                    "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY",
                    "SigningAlgorithms": algorithms}),
            ),
            "TrentService.Sign" => {
                let call = stub.calls.fetch_add(1, Ordering::SeqCst);
                if stub.hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                if call < stub.throttle {
                    return json(
                        StatusCode::BAD_REQUEST,
                        serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                    );
                }
                json(
                    StatusCode::OK,
                    serde_json::json!({"KeyId": arn, "Signature": STANDARD.encode(&stub.signature),
                        "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"}),
                )
            }
            other => json(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"__type": "UnknownOperationException", "message": other}),
            ),
        }
    }

    /// Starts the stub; returns it and a signer connected to it.
    pub(super) async fn start(
        throttle: usize,
        hang: bool,
        attempts: u32,
        timeout: Duration,
    ) -> (Arc<Stub>, Result<AwsKmsSigner, Error>) {
        let key = PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap();
        let spki = key.public_key().to_spki_der();
        // RS256 is deterministic: the stub answers with the one right signature.
        let signature = KeySigner::new(key, Algorithm::RS256)
            .unwrap()
            .sign(MESSAGE)
            .unwrap();
        let stub = Arc::new(Stub {
            throttle,
            hang,
            calls: AtomicUsize::new(0),
            spki,
            signature,
        });
        let app = Router::new()
            .route("/", post(serve))
            .with_state(stub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_kms::config::Credentials::new(
                "testing", "testing", None, None, "stub",
            ))
            .load()
            .await;
        let signer = AwsKmsSigner::builder("alias/stub")
            .max_attempts(attempts)
            .timeout(timeout)
            .connect_with(&config)
            .await;
        (stub, signer)
    }
}

#[tokio::test]
async fn a_throttled_sign_is_retried_and_succeeds() {
    let (stub, signer) = stub::start(2, false, 4, Duration::from_secs(5)).await;
    let signer = signer.unwrap();
    let signature = signer.sign_async(stub::MESSAGE).await.unwrap();
    assert_eq!(stub.calls.load(Ordering::SeqCst), 3);
    KeyVerifier::new(signer.public_key().clone(), Algorithm::RS256)
        .unwrap()
        .verify(stub::MESSAGE, &signature)
        .unwrap();
}

#[tokio::test]
async fn throttling_past_the_retry_budget_is_unavailable() {
    let (stub, signer) = stub::start(10, false, 3, Duration::from_secs(5)).await;
    let err = signer.unwrap().sign_async(stub::MESSAGE).await.unwrap_err();
    assert_eq!(
        stub.calls.load(Ordering::SeqCst),
        3,
        "three attempts, no more"
    );
    assert!(
        matches!(
            &err,
            Error::Unavailable {
                what: "AWS KMS",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("throttled after 3 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn a_hanging_kms_times_out() {
    let (stub, signer) = stub::start(0, true, 4, Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let err = signer.unwrap().sign_async(stub::MESSAGE).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        stub.calls.load(Ordering::SeqCst),
        1,
        "a timeout is not retried"
    );
    assert!(
        matches!(
            &err,
            Error::Unavailable {
                what: "AWS KMS",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
}
