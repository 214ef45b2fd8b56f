//! The response-signing flow over real HTTP on 127.0.0.1: a stand-in for the
//! payments API signs every response with `ResponseSigningLayer`, in header
//! mode or, when the request says `X-Splitit-ResponseSignature-Mode: jwt`, as
//! an embedded JWS, with message-level encryption off and on. A reqwest
//! client verifies each; then a tampered body, a replayed nonce, a swapped
//! key id and a wrong status are rejected. One line per step; exits non-zero
//! if any step does not turn out as it should.
//!
//! `cargo run --example response_flow --all-features`

#[path = "support/payments_api.rs"]
mod payments_api;

use std::sync::Arc;
use std::time::Duration;

use signed_payloads::Encryption;
use signed_payloads::jwe::{RsaDecrypter, RsaEncrypter};
use signed_payloads::response::{NestingOrder, ResponseMode, ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, Error, KeyRegistry, KeySigner, MemoryNonceStore, PrivateKey, VerificationKey,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The API's signing key, handed to the client as a key-exchange response would.
    let api_key = PrivateKey::generate(2048)?;
    let exchange = format!(
        r#"{{"UniqueId":"api-key-1","Key":"{}","ExpirationUtc":"2030-01-01T00:00:00Z","Algorithm":"RSA-PSS-SHA384"}}"#,
        base64_spki(&api_key)
    );
    let other_api_key = PrivateKey::generate(2048)?;
    let registry = Arc::new(KeyRegistry::from_keys([
        VerificationKey::from_key_exchange(&exchange, Algorithm::PS384)?,
        VerificationKey::new(
            "api-key-2",
            other_api_key.public_key().clone(),
            Algorithm::PS384,
        )?,
    ])?);
    // The client's key pair for message-level encryption.
    let client_key = PrivateKey::generate(2048)?;

    let rsa = Arc::new(KeySigner::new(api_key, Algorithm::PS384)?.with_key_id("api-key-1"));
    let plain = ResponseSigner::new(rsa.clone());
    let encrypting = ResponseSigner::new(rsa).with_encryption(
        RsaEncrypter::new(client_key.public_key())?.with_key_id("client-1"),
        NestingOrder::SignedJwe,
    );
    let plain_url = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(plain))).await?
    );
    let mle_url = format!(
        "http://{}",
        payments_api::serve(payments_api::router(Arc::new(encrypting))).await?
    );
    println!("payments API at {plain_url} (MLE off) and {mle_url} (MLE on)");

    let client = reqwest::Client::new();
    let verifier = ResponseVerifier::new(registry.clone());
    let decrypting = verifier.clone().with_decrypter(Arc::new(
        RsaDecrypter::new(&client_key)?.with_key_id("client-1"),
    ));
    let mut failures = 0;
    let mut report = |step: &str, ok: bool, detail: String| {
        failures += usize::from(!ok);
        println!("{} {step}: {detail}", if ok { "ok  " } else { "FAIL" });
    };

    // Header mode, with the trace id passed through.
    let response = client
        .get(format!("{plain_url}/v3/installment-plans/5828"))
        .header("x-splitit-traceid", "trace-7f3a")
        .send()
        .await?;
    let trace = response
        .headers()
        .get("x-splitit-traceid")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Headers)
        .await?;
    report(
        "header mode verifies",
        verified.key_id() == Some("api-key-1") && trace.as_deref() == Some("trace-7f3a"),
        format!(
            "key {}, trace id {trace:?}, body {}",
            verified.key_id().unwrap_or_default(),
            String::from_utf8_lossy(verified.payload())
        ),
    );

    let response = client
        .post(format!("{plain_url}/v3/installment-plans/5828/cancel"))
        .send()
        .await?;
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Headers)
        .await?;
    report(
        "an empty 204 body verifies (the nonce makes it unique)",
        verified.payload().is_empty(),
        "empty body".into(),
    );

    // Embedded mode.
    let jwt = |url: String| {
        client
            .get(url)
            .header("X-Splitit-ResponseSignature-Mode", "jwt")
            .send()
    };
    let verified = verifier
        .verify_reqwest(
            jwt(format!("{plain_url}/v3/installment-plans/5828")).await?,
            ResponseMode::Embedded,
        )
        .await?;
    report(
        "embedded JWS verifies",
        verified.encryption() == Encryption::None,
        format!("payload {}", String::from_utf8_lossy(verified.payload())),
    );

    let response = jwt(format!("{mle_url}/v3/installment-plans/5828")).await?;
    let verified = decrypting
        .verify_reqwest(response, ResponseMode::Embedded)
        .await?;
    report(
        "embedded JWS over an encrypted JWE verifies, then decrypts",
        verified.encryption() == Encryption::Decrypted,
        format!("plaintext {}", String::from_utf8_lossy(verified.payload())),
    );
    let response = jwt(format!("{mle_url}/v3/installment-plans/5828")).await?;
    let verified = verifier
        .verify_reqwest(response, ResponseMode::Embedded)
        .await?;
    report(
        "without a decrypter the verified JWE is returned untouched",
        verified.encryption() == Encryption::Encrypted,
        format!("{} bytes of JWE", verified.payload().len()),
    );

    // What must fail, on a real captured response.
    let captured = payments_api::capture(
        &client,
        &format!("{plain_url}/v3/installment-plans/5828"),
        false,
    )
    .await?;
    let expect = |result: Result<_, Error>, wanted: fn(&Error) -> bool| match result {
        Ok(_) => (false, "accepted".to_owned()),
        Err(e) => (wanted(&e), format!("rejected: {e}")),
    };
    let mut body = captured.body.clone();
    body[2] ^= 1;
    let (ok, detail) = expect(
        verifier.verify_headers(captured.status, captured.headers.clone(), &body),
        |e| matches!(e, Error::BadSignature),
    );
    report("a tampered body", ok, detail);

    let guarded = verifier.clone().with_replay_store(
        Arc::new(MemoryNonceStore::new(10_000)),
        Duration::from_secs(300),
    );
    let first = guarded
        .verify_headers(captured.status, captured.headers.clone(), &captured.body)
        .is_ok();
    let (ok, detail) = expect(
        guarded.verify_headers(captured.status, captured.headers.clone(), &captured.body),
        |e| matches!(e, Error::Replayed),
    );
    report("a replayed nonce", first && ok, detail);

    let swap = |kid: &str| {
        captured
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    if n.eq_ignore_ascii_case("x-splitit-responsesignature-keyid") {
                        kid.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect::<Vec<_>>()
    };
    let (ok, detail) = expect(
        verifier.verify_headers(captured.status, swap("api-key-2"), &captured.body),
        |e| matches!(e, Error::BadSignature),
    );
    report("a key id swapped for the other registered key", ok, detail);
    let (ok, detail) = expect(
        verifier.verify_headers(captured.status, swap("api-key-9"), &captured.body),
        |e| matches!(e, Error::UnknownKeyId(_)),
    );
    report("a key id swapped for an unknown one", ok, detail);
    let (ok, detail) = expect(
        verifier.verify_headers(201, captured.headers.clone(), &captured.body),
        |e| matches!(e, Error::BadSignature),
    );
    report("a wrong status", ok, detail);

    if failures > 0 {
        return Err(format!("{failures} step(s) did not turn out as expected").into());
    }
    println!("all steps behaved as expected");
    Ok(())
}

/// The public key as bare base64 of SPKI DER, the way a key-exchange API returns it.
fn base64_spki(key: &PrivateKey) -> String {
    let pem = key.public_key().to_pem();
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}
