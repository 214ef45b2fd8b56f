//! The program's signing service (`POST /sign`), shared by the examples and
//! the end-to-end tests: it takes the client's JSON, asks an approval hook
//! whether to vouch for it, and answers `{"token": "<compact JWT>"}`.

// Each program that includes this file uses a different part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use signed_payloads::request::RequestSigner;

/// Decides whether the service vouches for a payload; `Err` says why not.
pub(crate) type Approval = Arc<dyn Fn(&HeaderMap, &Value) -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
struct Service {
    signer: Arc<RequestSigner>,
    approve: Approval,
}

/// The `POST /sign` router.
pub(crate) fn router(signer: RequestSigner, approve: Approval) -> Router {
    Router::new()
        .route("/sign", post(sign))
        .with_state(Service {
            signer: Arc::new(signer),
            approve,
        })
}

async fn sign(State(service): State<Service>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": "the body is not JSON" })),
        )
            .into_response();
    };
    if let Err(reason) = (service.approve)(&headers, &payload) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({ "error": reason })),
        )
            .into_response();
    }
    // Sign the bytes the client sent, not a re-serialization: member order stays.
    match service.signer.sign_json(&body) {
        Ok(token) => {
            // The token is a credential: keep it out of caches.
            (
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(json!({ "token": token })),
            )
                .into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// The example's approval: the caller shows the service's API key in
/// `x-api-key`, and the payload has the data points a create-user call needs
/// (a phone number and a name).
pub(crate) fn create_user_approval(api_key: String) -> Approval {
    Arc::new(move |headers: &HeaderMap, payload: &Value| {
        let shown = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if shown != Some(api_key.as_str()) {
            return Err("missing or wrong x-api-key".to_owned());
        }
        let points = payload["data_points"]["data"]
            .as_array()
            .ok_or("data_points.data must be a list")?;
        let has = |kind: &str, field: &str| {
            points
                .iter()
                .any(|p| p["type"] == kind && p[field].as_str().is_some_and(|v| !v.is_empty()))
        };
        if !has("phone", "phone_number") {
            return Err("a phone data point is required".to_owned());
        }
        if !has("name", "first_name") || !has("name", "last_name") {
            return Err("a name data point with first_name and last_name is required".to_owned());
        }
        Ok(())
    })
}

/// A create-user payload in the card-issuing API's shape.
pub(crate) fn sample_create_user() -> Value {
    json!({
        "data_points": {
            "type": "list",
            "data": [
                { "type": "phone", "country_code": "1", "phone_number": "2105555555" },
                { "type": "email", "email": "tony@example.com" },
                { "type": "birthdate", "date": "1965-10-20" },
                { "type": "name", "first_name": "Tony", "last_name": "Stark" },
                { "type": "address", "street_one": "Malibu Point 10880", "locality": "Malibu",
                  "region": "CA", "postal_code": "90265", "country": "US" }
            ]
        }
    })
}

/// Serves `router` on 127.0.0.1 at `port` (0 for any free port) in the background.
pub(crate) async fn serve(router: Router, port: u16) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(address)
}
