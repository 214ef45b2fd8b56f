//! A stand-in for the card-issuing API's `POST /v1/user`, shared by the
//! examples and the end-to-end tests: it takes only signed bodies
//! (`Content-Type: application/jwt`) and answers with a user object.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use signed_payloads::axum::{SignedJson, SignedJsonRejection};
use signed_payloads::request::BodyVerifier;

/// The part of a create-user payload the stand-in reads.
#[derive(Deserialize)]
pub(crate) struct CreateUser {
    pub(crate) data_points: DataPoints,
}

/// `data_points` of a create-user payload.
#[derive(Deserialize)]
pub(crate) struct DataPoints {
    pub(crate) data: Vec<Value>,
}

/// The `POST /v1/user` router.
pub(crate) fn router(verifier: Arc<dyn BodyVerifier>) -> Router {
    Router::new()
        .route("/v1/user", post(create_user))
        .with_state(verifier)
}

async fn create_user(request: Result<SignedJson<CreateUser>, SignedJsonRejection>) -> Response {
    match request {
        Ok(SignedJson(verified)) => {
            let phone = verified
                .payload()
                .data_points
                .data
                .iter()
                .find(|p| p["type"] == "phone")
                .cloned();
            let body = json!({
                "type": "user",
                "user_id": "crdhldr_b04f29605a018f7d72a2",
                "signed_with": verified.key_id(),
                "user_data": { "type": "list", "data": phone.into_iter().collect::<Vec<_>>() },
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(rejection) => {
            // The client gets a generic answer; the log gets the whole reason.
            eprintln!("    [api log] {rejection}");
            rejection.into_response()
        }
    }
}
