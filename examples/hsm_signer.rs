//! Both flows with keys that never leave a PKCS#11 token, over real HTTP on
//! 127.0.0.1: a card program signs its create-user request through the
//! token, an API verifies it with the public key the token showed, and the
//! API signs its answer (through the tower layer) with a second key on the
//! token, which the client verifies. One line per step; exits non-zero if a
//! step does not go as it should.
//!
//! Needs a token: SoftHSM2 made by `scripts/softhsm.sh`, or any HSM given by
//! `SIGNED_PAYLOADS_PKCS11_MODULE`, `_TOKEN` and `_PIN_FILE` with keys
//! labelled `rsa-2048` and `rsa-3072`.
//!
//! ```text
//! eval "$(scripts/softhsm.sh start)"
//! cargo run --example hsm_signer --features pkcs11,axum,tower,reqwest
//! ```

use std::sync::Arc;

use axum::Router;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use signed_payloads::axum::SignedJson;
use signed_payloads::pkcs11::{KeyLocation, KeyMatch, Pin, Pkcs11Signer, TokenMatch};
use signed_payloads::request::{BodyVerifier, RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseMode, ResponseSigner, ResponseVerifier};
use signed_payloads::tower::ResponseSigningLayer;
use signed_payloads::{Algorithm, KeyRegistry, VerificationKey};

#[derive(Deserialize)]
struct CreateUser {
    first_name: String,
}

async fn create_user(SignedJson(user): SignedJson<CreateUser>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "id": "user-1", "first_name": user.payload().first_name }))
}

/// Where the token's key labelled `label` is, from the environment.
fn location(label: &str) -> Result<KeyLocation, Box<dyn std::error::Error>> {
    let setting = |name: &str| {
        std::env::var(name).map_err(|_| {
            format!("{name} is not set: run `eval \"$(scripts/softhsm.sh start)\"` first")
        })
    };
    Ok(KeyLocation::new(
        setting("SIGNED_PAYLOADS_PKCS11_MODULE")?,
        TokenMatch::Label(setting("SIGNED_PAYLOADS_PKCS11_TOKEN")?),
        KeyMatch::Label(label.to_owned()),
        Pin::from_file(setting("SIGNED_PAYLOADS_PKCS11_PIN_FILE")?)?,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The program's request key and the API's response key, both on the token.
    let program =
        Pkcs11Signer::open(location("rsa-2048")?, Algorithm::RS256)?.with_key_id("program-key-1");
    let api = Pkcs11Signer::open(location("rsa-3072")?, Algorithm::PS384)?.with_key_id("api-1");
    println!("program key on the token: {program:?}");
    println!("API key on the token: {api:?}");

    // What each side registers of the other: the public halves the token showed.
    let program_keys = KeyRegistry::new(VerificationKey::new(
        "program-key-1",
        program.public_key().clone(),
        Algorithm::RS256,
    )?);
    let api_keys = KeyRegistry::new(VerificationKey::new(
        "api-1",
        api.public_key().clone(),
        Algorithm::PS384,
    )?);

    // The API: verifies signed requests, signs every answer through the token.
    let verifier: Arc<dyn BodyVerifier> = Arc::new(RequestVerifier::new(Arc::new(program_keys)));
    let app = Router::new()
        .route("/v1/user", post(create_user))
        .with_state(verifier)
        .layer(ResponseSigningLayer::new(Arc::new(ResponseSigner::new(
            Arc::new(api),
        ))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/user", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("API at {url}");

    // The program's backend: signs the request through the token.
    let signer = RequestSigner::new(Arc::new(program));
    let answers = ResponseVerifier::new(Arc::new(api_keys));
    let client = reqwest::Client::new();
    let mut failed = 0;
    let mut step = |what: &str, ok: bool, detail: String| {
        println!("{} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
        failed += usize::from(!ok);
    };

    // 1. A signed request is accepted, and the signed answer verifies.
    let token = signer.sign(&json!({ "first_name": "Ada" }))?;
    let response = client
        .post(&url)
        .header("content-type", "application/jwt")
        .body(token.clone())
        .send()
        .await?;
    let status = response.status();
    let answer = answers
        .verify_reqwest(response, ResponseMode::Headers)
        .await;
    step(
        "a request signed through the token is accepted",
        status == 200,
        status.to_string(),
    );
    step(
        "the API's answer, signed through the token, verifies",
        answer.is_ok(),
        match &answer {
            Ok(verified) => String::from_utf8_lossy(verified.payload()).into_owned(),
            Err(e) => e.to_string(),
        },
    );

    // 2. The same request with one byte of its payload changed is refused.
    let mut tampered = token.into_bytes();
    let at = tampered.iter().position(|&b| b == b'.').unwrap_or(0) + 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let response = client
        .post(&url)
        .header("content-type", "application/jwt")
        .body(tampered)
        .send()
        .await?;
    step(
        "a changed payload is refused",
        response.status() == 401,
        response.status().to_string(),
    );

    if failed > 0 {
        return Err(format!("{failed} step(s) failed").into());
    }
    Ok(())
}
