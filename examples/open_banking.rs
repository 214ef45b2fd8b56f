//! A payment-initiation API in the Open Banking style on 127.0.0.1: every
//! request body carries a detached JWS in `x-jws-signature`, verified by the
//! axum extractor; every response is signed the same way by the tower layer,
//! and the client verifies it. A reqwest client then sends:
//!
//! 1. a good payment: 201, and the response's signature verifies;
//! 2. the same signature with a changed body: 401;
//! 3. no signature header: 400;
//! 4. a signature naming another trust anchor: 401;
//! 5. a signature made ten minutes ago: 401;
//! 6. a signature with an unknown `crit` member: 400.
//!
//! ```text
//! cargo run --example open_banking --features axum,tower,reqwest
//! ```
//!
//! One line per step; exits non-zero if any step does not behave.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use signed_payloads::axum::DetachedJson;
use signed_payloads::detached::{
    DetachedBodyVerifier, DetachedProfile, DetachedSigner, DetachedVerifier, OB_IAT, OB_ISS, OB_TAN,
};
use signed_payloads::tower::ResponseSigningLayer;
use signed_payloads::{
    Algorithm, FixedClock, Header, KeyRegistry, KeySigner, PrivateKey, VerificationKey, jws,
};

const TPP: &str = "0015800001041RHAAY/2kiXQyo0tedjW2somjSgH7";
const BANK: &str = "0015800000jfwxXAAQ";
const ANCHOR: &str = "openbanking.org.uk";

#[derive(Deserialize)]
struct PaymentRequest {
    #[serde(rename = "Data")]
    data: serde_json::Value,
}

/// `POST /domestic-payments`: the verified, typed body; a signed answer.
async fn pay(DetachedJson(payment): DetachedJson<PaymentRequest>) -> (StatusCode, String) {
    let reply = json!({
        "Data": { "DomesticPaymentId": "dp-1", "Status": "AcceptedSettlementInProcess",
                  "Initiation": payment.payload().data["Initiation"] },
        "Meta": { "SignedBy": payment.key_id() },
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
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tpp_key = PrivateKey::generate(2048)?;
    let bank_key = PrivateKey::generate(2048)?;

    // The bank: the TPP's key from its directory entry, its own to sign.
    let tpp_keys = KeyRegistry::new(VerificationKey::new(
        "tpp-signing-1",
        tpp_key.public_key().clone(),
        Algorithm::PS256,
    )?);
    let verifier: Arc<dyn DetachedBodyVerifier> = Arc::new(
        DetachedVerifier::new(Arc::new(tpp_keys))
            .with_key_issuer("tpp-signing-1", TPP)
            .with_trust_anchors([ANCHOR]),
    );
    let bank_public = bank_key.public_key().clone();
    let bank_signer = Arc::new(DetachedSigner::new(
        Arc::new(KeySigner::new(bank_key, Algorithm::PS256)?.with_key_id("bank-signing-1")),
        BANK,
        ANCHOR,
    ));
    let app = Router::new()
        .route("/open-banking/v3.1/pisp/domestic-payments", post(pay))
        .with_state(verifier)
        .layer(ResponseSigningLayer::new(bank_signer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}/open-banking/v3.1/pisp/domestic-payments",
        listener.local_addr()?
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("bank API: {url}");

    // The TPP: its signing key, and the bank's key to check answers with.
    let tpp_rsa = Arc::new(KeySigner::new(tpp_key, Algorithm::PS256)?.with_key_id("tpp-signing-1"));
    let signer = DetachedSigner::new(tpp_rsa.clone(), TPP, ANCHOR)
        .with_profile(DetachedProfile::open_banking_v3_1_3());
    let bank_keys = KeyRegistry::new(VerificationKey::new(
        "bank-signing-1",
        bank_public,
        Algorithm::PS256,
    )?);
    let answers = DetachedVerifier::new(Arc::new(bank_keys))
        .with_key_issuer("bank-signing-1", BANK)
        .with_trust_anchors([ANCHOR]);
    let client = reqwest::Client::new();
    let body = json!({ "Data": { "Initiation": {
        "InstructionIdentification": "ACME412", "EndToEndIdentification": "FRESCO.21302.GFX.20",
        "InstructedAmount": { "Amount": "165.88", "Currency": "GBP" },
        "CreditorAccount": { "SchemeName": "UK.OBIE.SortCodeAccountNumber",
                             "Identification": "08080021325698", "Name": "ACME Inc" } } } })
    .to_string()
    .into_bytes();
    let post = || client.post(&url).header("content-type", "application/json");
    let mut steps = Steps { failed: 0 };

    // 1. A good payment, and a signed answer.
    let response = signer
        .sign_reqwest(post(), body.clone())
        .await?
        .send()
        .await?;
    let status = response.status();
    match answers.verify_reqwest(response).await {
        Ok(answer) => steps.check(
            "good payment, signed answer verified",
            status == StatusCode::CREATED,
            &format!("{status}, {}", String::from_utf8_lossy(answer.payload())),
        ),
        Err(e) => steps.check(
            "good payment, signed answer verified",
            false,
            &e.to_string(),
        ),
    }

    // 2. The same signature over a changed body.
    let signature = signer.sign(&body)?;
    let tampered = String::from_utf8(body.clone())?.replace("165.88", "999.99");
    let response = post()
        .header("x-jws-signature", &signature)
        .body(tampered)
        .send()
        .await?;
    let status = response.status();
    steps.check(
        "tampered body",
        status == StatusCode::UNAUTHORIZED,
        &format!("{status} {}", response.text().await?),
    );

    // 3. No signature at all.
    let response = post().body(body.clone()).send().await?;
    let status = response.status();
    steps.check(
        "missing x-jws-signature",
        status == StatusCode::BAD_REQUEST,
        &format!("{status} {}", response.text().await?),
    );

    // 4. Another trust anchor.
    let elsewhere = DetachedSigner::new(tpp_rsa.clone(), TPP, "openbanking.example");
    let response = elsewhere
        .sign_reqwest(post(), body.clone())
        .await?
        .send()
        .await?;
    let status = response.status();
    steps.check(
        "wrong trust anchor",
        status == StatusCode::UNAUTHORIZED,
        &format!("{status} {}", response.text().await?),
    );

    // 5. Signed ten minutes ago.
    let stale = DetachedSigner::new(tpp_rsa.clone(), TPP, ANCHOR).with_clock(Arc::new(
        FixedClock::new(SystemTime::now() - Duration::from_secs(600)),
    ));
    let response = stale
        .sign_reqwest(post(), body.clone())
        .await?
        .send()
        .await?;
    let status = response.status();
    steps.check(
        "stale signing time",
        status == StatusCode::UNAUTHORIZED,
        &format!("{status} {}", response.text().await?),
    );

    // 6. A crit member the bank does not understand.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_secs();
    let mut header = Header::new(Algorithm::PS256).with_kid("tpp-signing-1");
    for (name, value) in [
        (OB_IAT, json!(now)),
        (OB_ISS, json!(TPP)),
        (OB_TAN, json!(ANCHOR)),
        ("http://example.com/unknown", json!(true)),
    ] {
        header.extra.insert(name.to_owned(), value);
        header
            .crit
            .get_or_insert_with(Vec::new)
            .push(name.to_owned());
    }
    let response = post()
        .header(
            "x-jws-signature",
            jws::sign_detached(&header, &body, &*tpp_rsa)?,
        )
        .body(body.clone())
        .send()
        .await?;
    let status = response.status();
    steps.check(
        "unknown crit member",
        status == StatusCode::BAD_REQUEST,
        &format!("{status} {}", response.text().await?),
    );

    if steps.failed > 0 {
        return Err(format!("{} step(s) failed", steps.failed).into());
    }
    Ok(())
}
