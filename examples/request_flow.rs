//! The whole request-signing flow over real HTTP on 127.0.0.1: a client gets
//! its create-user payload signed by the program's signing service, sends the
//! token to a stand-in for the card-issuing API (`POST /v1/user`,
//! `Content-Type: application/jwt`, two registered keys), and then tries the
//! things an attacker would. One line per step; exits non-zero if any step
//! does not get the status it should.
//!
//! `cargo run --example request_flow`

#[path = "support/signing_service.rs"]
mod signing_service;
#[path = "support/user_api.rs"]
mod user_api;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::{Algorithm, FixedClock, KeyRegistry, KeySigner, PrivateKey, VerificationKey};

const API_KEY: &str = "demo-api-key";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The program's two key pairs; both public keys are registered with the API.
    let current = PrivateKey::generate(2048)?;
    let next = PrivateKey::generate(2048)?;
    let registry = KeyRegistry::from_keys([
        VerificationKey::new(
            "program-key-1",
            current.public_key().clone(),
            Algorithm::RS256,
        )?,
        VerificationKey::new("program-key-2", next.public_key().clone(), Algorithm::RS256)?,
    ])?;
    let signer = Arc::new(KeySigner::new(current, Algorithm::RS256)?.with_key_id("program-key-1"));

    let signing = signing_service::router(
        RequestSigner::new(signer.clone()).with_ttl(Duration::from_secs(300)),
        signing_service::create_user_approval(API_KEY.to_owned()),
    );
    let sign_url = format!("http://{}/sign", signing_service::serve(signing, 0).await?);
    let api = user_api::router(Arc::new(RequestVerifier::new(Arc::new(registry))));
    let user_url = format!("http://{}/v1/user", signing_service::serve(api, 0).await?);
    println!("signing service at {sign_url}, API at {user_url}");

    let client = reqwest::Client::new();
    let payload = signing_service::sample_create_user();
    let mut failures = 0;
    let mut check = |step: &str, status: reqwest::StatusCode, expected: u16| {
        let ok = status.as_u16() == expected;
        failures += usize::from(!ok);
        println!("{} {step}: {status}", if ok { "ok  " } else { "FAIL" });
    };

    // 1. Get the payload signed.
    let response = client
        .post(&sign_url)
        .header("x-api-key", API_KEY)
        .json(&payload)
        .send()
        .await?;
    check(
        "signing service signs an approved create-user payload",
        response.status(),
        200,
    );
    let token = response.json::<serde_json::Value>().await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // 2. Send it to the API.
    let send = |body: String, content_type: &'static str| {
        client
            .post(&user_url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = send(token.clone(), "application/jwt").await?;
    check("API accepts the signed token", response.status(), 200);
    println!("      user: {}", response.text().await?);

    // 3. What should fail.
    let response = client.post(&sign_url).json(&payload).send().await?;
    check(
        "signing service refuses a caller without the API key",
        response.status(),
        403,
    );
    let nameless = serde_json::json!({ "data_points": { "type": "list", "data": [{ "type": "phone", "phone_number": "1" }] } });
    let response = client
        .post(&sign_url)
        .header("x-api-key", API_KEY)
        .json(&nameless)
        .send()
        .await?;
    check(
        "signing service refuses a payload without a name",
        response.status(),
        403,
    );

    let response = send(payload.to_string(), "application/json").await?;
    check(
        "API refuses unsigned JSON (wrong content type)",
        response.status(),
        415,
    );
    let response = send(payload.to_string(), "application/jwt").await?;
    check(
        "API refuses unsigned JSON sent as application/jwt",
        response.status(),
        400,
    );

    let mut tampered = token.clone().into_bytes();
    let at = token.find('.').unwrap_or(0) + 20;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let response = send(String::from_utf8(tampered)?, "application/jwt").await?;
    check("API refuses a tampered token", response.status(), 401);

    let stranger = Arc::new(
        KeySigner::new(PrivateKey::generate(2048)?, Algorithm::RS256)?
            .with_key_id("not-registered"),
    );
    let response = send(
        RequestSigner::new(stranger).sign(&payload)?,
        "application/jwt",
    )
    .await?;
    check(
        "API refuses a token with an unknown kid",
        response.status(),
        401,
    );

    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let stale = RequestSigner::new(signer)
        .with_ttl(Duration::from_secs(300))
        .with_clock(Arc::new(FixedClock::new(an_hour_ago)));
    let response = send(stale.sign(&payload)?, "application/jwt").await?;
    check("API refuses an expired token", response.status(), 401);

    if failures > 0 {
        return Err(format!("{failures} step(s) did not get the expected status").into());
    }
    println!("all steps behaved as expected");
    Ok(())
}
