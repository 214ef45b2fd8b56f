//! The response-signing flow end to end over loopback HTTP: the example's
//! payments API stand-in behind `ResponseSigningLayer`, verified by reqwest.
#![cfg(all(feature = "tower", feature = "reqwest", feature = "jwe"))]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

#[path = "../examples/support/payments_api.rs"]
mod payments_api;

use std::sync::Arc;

use signed_payloads::Encryption;
use signed_payloads::jwe::{RsaDecrypter, RsaEncrypter};
use signed_payloads::response::{NestingOrder, ResponseMode, ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, Error, KeyRegistry, KeySigner, Limits, PrivateKey, SigningKeys, VerificationKey,
};

fn key(path: &str) -> PrivateKey {
    PrivateKey::parse(
        &std::fs::read(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap()
}

fn verifier() -> ResponseVerifier {
    let registry = KeyRegistry::new(
        VerificationKey::new(
            "api-1",
            key("keys/rsa2048.pkcs8.pem").public_key().clone(),
            Algorithm::PS384,
        )
        .unwrap(),
    );
    ResponseVerifier::new(Arc::new(registry))
}

fn signer() -> ResponseSigner {
    ResponseSigner::new(Arc::new(
        KeySigner::new(key("keys/rsa2048.pkcs8.pem"), Algorithm::PS384)
            .unwrap()
            .with_key_id("api-1"),
    ))
}

#[tokio::test]
async fn every_mode_verifies_over_http() {
    let client_key = key("cookbook/3_4.rsa_private_key.json");
    let plain = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(signer())))
            .await
            .unwrap()
    );
    let encrypted = {
        let encrypter = RsaEncrypter::new(client_key.public_key()).unwrap();
        let api = payments_api::router(Arc::new(
            signer().with_encryption(encrypter, NestingOrder::EncryptedJws),
        ));
        format!("http://{}", payments_api::serve(api).await.unwrap())
    };
    let client = reqwest::Client::new();
    let plan = |base: &str| format!("{base}/v3/installment-plans/77");

    let response = client
        .get(plan(&plain))
        .header("X-Splitit-TraceId", "t-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-splitit-traceid"], "t-1");
    let verified = verifier()
        .verify_reqwest(response, ResponseMode::Headers)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(verified.payload()).contains("\"77\""));

    let response = client
        .post(format!("{}/cancel", plan(&plain)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(
        verifier()
            .verify_reqwest(response, ResponseMode::Headers)
            .await
            .unwrap()
            .payload()
            .is_empty()
    );

    let response = client
        .get(plan(&plain))
        .header("x-splitit-responsesignature-mode", "JWT")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/jose");
    let verified = verifier()
        .verify_reqwest(response, ResponseMode::Embedded)
        .await
        .unwrap();
    assert_eq!(verified.encryption(), Encryption::None);

    let decrypting = verifier().with_decrypter(Arc::new(RsaDecrypter::new(&client_key).unwrap()));
    // The helper sets the profile's mode header (what the line above does by hand).
    let response = signed_payloads::response::ResponseProfile::splitit()
        .ask_for_mode(client.get(plan(&encrypted)), ResponseMode::Embedded)
        .send()
        .await
        .unwrap();
    let verified = decrypting
        .verify_reqwest(response, ResponseMode::Embedded)
        .await
        .unwrap();
    assert_eq!(verified.encryption(), Encryption::Decrypted);
    assert!(String::from_utf8_lossy(verified.payload()).contains("InstallmentPlanNumber"));

    // Header mode still applies on the encrypting server when jwt mode is not asked for.
    let response = client.get(plan(&encrypted)).send().await.unwrap();
    assert!(
        verifier()
            .verify_reqwest(response, ResponseMode::Headers)
            .await
            .is_ok()
    );

    // A response in the other mode than the one verified is refused.
    let response = client.get(plan(&plain)).send().await.unwrap();
    assert!(
        verifier()
            .verify_reqwest(response, ResponseMode::Embedded)
            .await
            .is_err()
    );
    let response = client
        .get(plan(&plain))
        .header("X-Splitit-ResponseSignature-Mode", "jwt")
        .send()
        .await
        .unwrap();
    let err = verifier()
        .verify_reqwest(response, ResponseMode::Headers)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
}

#[tokio::test]
async fn oversized_bodies_and_unusable_keys() {
    let plain = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(signer())))
            .await
            .unwrap()
    );
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{plain}/v3/installment-plans/77"))
        .send()
        .await
        .unwrap();
    let tiny = verifier().with_limits(Limits::default().with_max_token_bytes(10));
    assert!(matches!(
        tiny.verify_reqwest(response, ResponseMode::Headers).await,
        Err(Error::TooLarge { .. })
    ));

    // No usable signing key: the layer answers an unsigned 500, which clients refuse.
    let empty = ResponseSigner::rotating(Arc::new(SigningKeys::new()));
    let broken = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(empty)))
            .await
            .unwrap()
    );
    let response = client
        .get(format!("{broken}/v3/installment-plans/77"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let err = verifier()
        .verify_reqwest(response, ResponseMode::Headers)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
}

#[tokio::test]
async fn captured_responses_resist_tampering() {
    let plain = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(signer())))
            .await
            .unwrap()
    );
    let captured = payments_api::capture(
        &reqwest::Client::new(),
        &format!("{plain}/v3/installment-plans/77"),
        false,
    )
    .await
    .unwrap();
    let v = verifier();
    assert!(
        v.verify_headers(captured.status, captured.headers.clone(), &captured.body)
            .is_ok()
    );
    let mut body = captured.body.clone();
    body.push(b' ');
    assert!(matches!(
        v.verify_headers(captured.status, captured.headers.clone(), &body),
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        v.verify_headers(500, captured.headers.clone(), &captured.body),
        Err(Error::BadSignature)
    ));
}
