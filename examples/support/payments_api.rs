//! A stand-in for the payments API, shared by the response example and the
//! end-to-end tests: a couple of routes behind `ResponseSigningLayer`, so
//! every response is signed in the mode the request asks for.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::json;
use signed_payloads::SigningSource;
use signed_payloads::response::ResponseSigner;
use signed_payloads::tower::ResponseSigningLayer;

/// `GET /v3/installment-plans/{id}` and `POST /v3/installment-plans/{id}/cancel` (204, empty body).
pub(crate) fn router<S: SigningSource + 'static>(signer: Arc<ResponseSigner<S>>) -> Router {
    Router::new()
        .route("/v3/installment-plans/{id}", get(plan))
        .route(
            "/v3/installment-plans/{id}/cancel",
            post(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(ResponseSigningLayer::new(signer))
}

async fn plan(Path(id): Path<String>) -> axum::Json<serde_json::Value> {
    axum::Json(
        json!({ "InstallmentPlanNumber": id, "Status": "Active", "Amount": { "Value": 1200.5, "Currency": "USD" } }),
    )
}

/// Serves `router` on 127.0.0.1 at any free port, in the background.
pub(crate) async fn serve(router: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}

/// A response as it arrived, kept to be verified (or tampered with) later.
pub(crate) struct Captured {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// Fetches `url`, asking for embedded mode when `jwt` is set, and keeps the parts.
pub(crate) async fn capture(
    client: &reqwest::Client,
    url: &str,
    jwt: bool,
) -> Result<Captured, reqwest::Error> {
    let mut request = client.get(url);
    if jwt {
        request = request.header("X-Splitit-ResponseSignature-Mode", "jwt");
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(Captured {
        status,
        headers,
        body: response.bytes().await?.to_vec(),
    })
}
