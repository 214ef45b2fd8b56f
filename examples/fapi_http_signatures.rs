//! FAPI 2.0 HTTP Message Signatures (RFC 9421) on 127.0.0.1: a resource
//! server (axum) verifies every request's `fapi-2-request` signature with the
//! [`HttpSigned`] extractor and signs every response, bound to its request,
//! with the tower layer; a reqwest client signs its requests and verifies the
//! bound responses. The client sends:
//!
//! 1. a good payment: 201, and the response's signature (covering the
//!    request's own signature) verifies;
//! 2. the same signature over a changed body: 401, the digest does not match;
//! 3. a signature that does not cover `authorization`: 401 naming it;
//! 4. a signature created two minutes ago: 401, older than 60 s;
//! 5. the first request again, byte for byte: 401, its nonce was seen.
//!
//! ```text
//! cargo run --example fapi_http_signatures --features axum,tower,reqwest,httpsig
//! ```
//!
//! One line per step; exits non-zero if any step does not behave.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use signed_payloads::axum::HttpSigned;
use signed_payloads::httpsig::{
    DigestAlgorithm, HttpSigPolicy, HttpSigSigner, HttpSigVerifier, MessageVerifier,
};
use signed_payloads::tower::ResponseSigningLayer;
use signed_payloads::{
    Algorithm, FixedClock, KeyRegistry, KeySigner, MemoryNonceStore, PrivateKey, VerificationKey,
};

/// `POST /payments`: what the verified signature covered, in a signed answer.
async fn pay(signed: HttpSigned) -> (StatusCode, String) {
    let reply = serde_json::json!({
        "status": "accepted",
        "signed_by": signed.covered.keyid,
        "covered": signed.covered.components,
        "amount_bytes": signed.body.len(),
    });
    (StatusCode::CREATED, reply.to_string())
}

struct Steps {
    failed: usize,
}

impl Steps {
    fn check(&mut self, what: &str, ok: bool, detail: &str) {
        println!("{} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
        self.failed += usize::from(!ok);
    }

    /// A refusal: 401 and a body naming `reason`.
    async fn refused(&mut self, what: &str, response: reqwest::Response, reason: &str) {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        self.check(
            what,
            status == StatusCode::UNAUTHORIZED && body.contains(reason),
            &format!("{status} {body}"),
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The client signs with ES256, the bank with PS256 (FAPI's two).
    let client_key = PrivateKey::generate_kind(signed_payloads::KeyKind::EcP256)?;
    let bank_key = PrivateKey::generate(2048)?;

    // The resource server: the client's registered key, a replay store for
    // nonces, and its own key for responses. Plain http on 127.0.0.1, so
    // the target URI is rebuilt with http (https is the default).
    let client_keys = KeyRegistry::new(VerificationKey::new(
        "client-1",
        client_key.public_key().clone(),
        Algorithm::ES256,
    )?);
    let verifier: Arc<dyn MessageVerifier> = Arc::new(
        HttpSigVerifier::new(Arc::new(client_keys))
            .with_policy(HttpSigPolicy::fapi_request())
            .with_replay_store(Arc::new(MemoryNonceStore::new(100_000)))
            .with_scheme("http"),
    );
    let bank_keys = KeyRegistry::new(VerificationKey::new(
        "bank-1",
        bank_key.public_key().clone(),
        Algorithm::PS256,
    )?);
    let bank_signer = HttpSigSigner::new(Arc::new(
        KeySigner::new(bank_key, Algorithm::PS256)?.with_key_id("bank-1"),
    ))
    .fapi_response()
    .with_digest(DigestAlgorithm::Sha256)
    .with_scheme("http");
    let app = Router::new()
        .route("/payments", post(pay))
        .with_state(verifier)
        .layer(ResponseSigningLayer::new(Arc::new(bank_signer)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/payments", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("resource server: {url}");

    // The client: its signer, and the bank's key for the answers.
    let client_signer: Arc<KeySigner> =
        Arc::new(KeySigner::new(client_key, Algorithm::ES256)?.with_key_id("client-1"));
    let signer = HttpSigSigner::new(client_signer.clone())
        .fapi_request()
        .with_nonce()
        .with_digest(DigestAlgorithm::Sha256);
    let answers =
        HttpSigVerifier::new(Arc::new(bank_keys)).with_policy(HttpSigPolicy::fapi_response());
    let client = reqwest::Client::new();
    let body = br#"{"amount":"165.88","currency":"EUR","creditor":"DE89370400440532013000"}"#;
    let request = || {
        client
            .post(&url)
            .header("authorization", "DPoP eyJhbGciOiJFUzI1NiJ9.access-token")
            .header("content-type", "application/json")
            .body(body.to_vec())
            .build()
    };
    let mut steps = Steps { failed: 0 };

    // 1. A good payment, and an answer bound to it.
    let mut good = request()?;
    let signed = signer.sign_reqwest(&mut good).await?;
    let replay = good.try_clone().ok_or("the request cannot be cloned")?;
    let response = client.execute(good).await?;
    let status = response.status();
    match answers.verify_reqwest(response, Some(&signed)).await {
        Ok(answer) => steps.check(
            "signed request accepted, bound response verified",
            status == StatusCode::CREATED
                && answer
                    .covered
                    .components
                    .iter()
                    .any(|c| c == "\"signature\";req;key=\"sig1\""),
            &format!(
                "{status}, response covers ({})",
                answer.covered.components.join(" ")
            ),
        ),
        Err(e) => steps.check(
            "signed request accepted, bound response verified",
            false,
            &e.to_string(),
        ),
    }

    // 2. The same signature over a changed body.
    let mut tampered = request()?;
    signer.sign_reqwest(&mut tampered).await?;
    *tampered.body_mut() = Some(
        String::from_utf8(body.to_vec())?
            .replace("165.88", "999.99")
            .into(),
    );
    steps
        .refused(
            "tampered body",
            client.execute(tampered).await?,
            "Content-Digest",
        )
        .await;

    // 3. Tagged fapi-2-request, but not covering authorization.
    let thin = HttpSigSigner::new(client_signer.clone())
        .covering(r#""@method" "@target-uri" "content-digest""#)?
        .with_tag("fapi-2-request")
        .with_nonce();
    let mut request_3 = request()?;
    thin.sign_reqwest(&mut request_3).await?;
    steps
        .refused(
            "authorization not covered",
            client.execute(request_3).await?,
            "does not cover \\\"authorization\\\"",
        )
        .await;

    // 4. Created two minutes ago.
    let stale = HttpSigSigner::new(client_signer)
        .fapi_request()
        .with_nonce()
        .with_clock(Arc::new(FixedClock::new(
            SystemTime::now() - Duration::from_secs(120),
        )));
    let mut request_4 = request()?;
    stale.sign_reqwest(&mut request_4).await?;
    steps
        .refused(
            "stale created",
            client.execute(request_4).await?,
            "older than 60 s",
        )
        .await;

    // 5. The first request again.
    steps
        .refused("replayed nonce", client.execute(replay).await?, "replayed")
        .await;

    if steps.failed > 0 {
        return Err(format!("{} step(s) did not behave", steps.failed).into());
    }
    Ok(())
}
