//! RFC 9421 over real HTTP on 127.0.0.1: the `HttpSigned` axum extractor,
//! `HttpSigSigner` as the tower layer's response signer, the reqwest
//! helpers, and keys by `keyid` from a remote JWKS (an async key source).

#![cfg(all(
    feature = "httpsig",
    feature = "axum",
    feature = "tower",
    feature = "reqwest",
    feature = "jwks-http"
))]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use signed_payloads::axum::HttpSigned;
use signed_payloads::httpsig::{
    DigestAlgorithm, HttpSigPolicy, HttpSigSigner, HttpSigVerifier, MessageVerifier,
};
use signed_payloads::tower::ResponseSigningLayer;
use signed_payloads::{
    Algorithm, Error, KeyRegistry, KeySigner, PrivateKey, RemoteJwks, VerificationKey,
};

struct Api {
    base: String,
    client_signer: Arc<KeySigner>,
}

async fn echo(signed: HttpSigned) -> (StatusCode, String) {
    (
        StatusCode::CREATED,
        format!(
            "{} {} bytes",
            signed.covered.keyid.unwrap_or_default(),
            signed.body.len()
        ),
    )
}

/// A server that verifies FAPI request signatures (the client's ES256
/// key), signs every response with its Ed25519 key bound to the request,
/// and publishes that key as a JWKS.
async fn serve() -> Api {
    let client = PrivateKey::from_pem(include_str!("data/keys/ec-p256.pem")).unwrap();
    let server = PrivateKey::from_pem(include_str!("data/keys/ed25519.pkcs8.pem")).unwrap();
    let client_keys = KeyRegistry::new(
        VerificationKey::new("client-1", client.public_key().clone(), Algorithm::ES256).unwrap(),
    );
    let verifier: Arc<dyn MessageVerifier> = Arc::new(
        HttpSigVerifier::new(Arc::new(client_keys))
            .with_policy(HttpSigPolicy::fapi_request())
            .with_scheme("http")
            .with_max_body_bytes(1024),
    );
    let jwks = KeyRegistry::new(
        VerificationKey::new("server-1", server.public_key().clone(), Algorithm::EdDSA).unwrap(),
    )
    .to_jwks()
    .to_json();
    let signer = HttpSigSigner::new(Arc::new(
        KeySigner::new(server, Algorithm::EdDSA)
            .unwrap()
            .with_key_id("server-1"),
    ))
    .fapi_response()
    .with_digest(DigestAlgorithm::Sha256)
    .with_scheme("http");
    let app = Router::new()
        .route("/echo", post(echo))
        .with_state(verifier)
        .layer(ResponseSigningLayer::new(Arc::new(signer)))
        .route("/jwks.json", get(move || async move { jwks }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Api {
        base,
        client_signer: Arc::new(
            KeySigner::new(client, Algorithm::ES256)
                .unwrap()
                .with_key_id("client-1"),
        ),
    }
}

fn server_keys(api: &Api) -> HttpSigVerifier<RemoteJwks> {
    let jwks = RemoteJwks::new(&format!("{}/jwks.json", api.base), Algorithm::EdDSA)
        .unwrap()
        .allow_http(true);
    HttpSigVerifier::new(Arc::new(jwks)).with_policy(HttpSigPolicy::fapi_response())
}

#[tokio::test]
async fn a_signed_request_and_its_bound_response_over_http() {
    let api = serve().await;
    let client = reqwest::Client::new();
    let signer = HttpSigSigner::new(api.client_signer.clone()).fapi_request();
    let mut request = client
        .post(format!("{}/echo?x=1", api.base))
        .header("authorization", "Bearer at-1")
        .body(&b"{\"amount\":\"1.00\"}"[..])
        .build()
        .unwrap();
    let signed = signer.sign_reqwest(&mut request).await.unwrap();
    let response = client.execute(request).await.unwrap();
    // The server's key comes from its JWKS, by the response's keyid.
    let verified = server_keys(&api)
        .verify_reqwest(response, Some(&signed))
        .await
        .unwrap();
    assert_eq!(verified.status, StatusCode::CREATED);
    assert_eq!(verified.body, b"client-1 17 bytes");
    assert_eq!(verified.covered.keyid.as_deref(), Some("server-1"));
    assert!(
        verified
            .covered
            .components
            .contains(&"\"signature\";req;key=\"sig1\"".to_owned())
    );
    // The same response checked against another request does not verify.
    let mut other = client
        .post(format!("{}/echo?x=2", api.base))
        .header("authorization", "Bearer at-1")
        .body(&b"{}"[..])
        .build()
        .unwrap();
    let other_signed = signer.sign_reqwest(&mut other).await.unwrap();
    let mut again = client
        .post(format!("{}/echo?x=1", api.base))
        .header("authorization", "Bearer at-1")
        .body(&b"{\"amount\":\"1.00\"}"[..])
        .build()
        .unwrap();
    signer.sign_reqwest(&mut again).await.unwrap();
    let response = client.execute(again).await.unwrap();
    assert!(matches!(
        server_keys(&api)
            .verify_reqwest(response, Some(&other_signed))
            .await,
        Err(Error::BadSignature)
    ));
}

#[tokio::test]
async fn refusals_are_401_naming_what_is_wrong_and_still_signed() {
    let api = serve().await;
    let client = reqwest::Client::new();
    // No signature at all: 401 naming it; the answer is signed (not bound
    // to a request signature there is none of).
    let request = client
        .post(format!("{}/echo", api.base))
        .body(&b"{}"[..])
        .build()
        .unwrap();
    let unsigned =
        signed_payloads::httpsig::HttpMessage::request("POST", request.url().as_str()).unwrap();
    let response = client.execute(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{:?}",
        response.headers()
    );
    let verified = server_keys(&api)
        .verify_reqwest(response, Some(&unsigned))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&verified.body).unwrap();
    assert_eq!(body["error"], "invalid_signature");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no Signature-Input"),
        "{body}"
    );

    // A body over the verifier's limit: 413.
    let mut big = client
        .post(format!("{}/echo", api.base))
        .header("authorization", "Bearer at-1")
        .body(vec![b'x'; 2048])
        .build()
        .unwrap();
    HttpSigSigner::new(api.client_signer.clone())
        .fapi_request()
        .sign_reqwest(&mut big)
        .await
        .unwrap();
    let response = client.execute(big).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
