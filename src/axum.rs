//! An axum extractor for signed JSON request bodies (feature `axum`).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::detached::DetachedBodyVerifier;
use crate::error::{Error, ErrorKind, Escaped, Malformed};
use crate::request::BodyVerifier;
use crate::{Verified, http};

/// Extracts a signed JSON body: `Content-Type: application/jwt`, a compact
/// JWT verified by the [`RequestVerifier`](crate::request::RequestVerifier) in the router state, its payload
/// deserialized into `T`.
///
/// The state must provide an `Arc<dyn BodyVerifier>` (directly or through
/// [`FromRef`]): any [`RequestVerifier`](crate::request::RequestVerifier) whose keys are not chosen by tenant,
/// over a [`KeyRegistry`](crate::KeyRegistry) or a [`RemoteJwks`](crate::RemoteJwks),
/// with or without a replay store (memory or Redis). Failures become [`SignedJsonRejection`]s: 415 for the wrong
/// content type, 413 for an oversized body, 400 for a malformed token or
/// payload, 401 for a signature, key or claim that does not verify, 503 when
/// a key source or replay store cannot answer and 500 when the server's own
/// configuration is at fault (see [`Error::kind`]).
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{Router, routing::post};
/// use serde::Deserialize;
/// use signed_payloads::{axum::SignedJson, request::{BodyVerifier, RequestVerifier}};
///
/// #[derive(Deserialize)]
/// struct CreateUser { first_name: String }
///
/// async fn create_user(SignedJson(user): SignedJson<CreateUser>) -> String {
///     format!("hello {} (key {})", user.payload().first_name, user.key_id().unwrap_or("?"))
/// }
///
/// fn app(verifier: RequestVerifier) -> Router {
///     let verifier: Arc<dyn BodyVerifier> = Arc::new(verifier);
///     Router::new().route("/v1/user", post(create_user)).with_state(verifier)
/// }
/// ```
#[derive(Debug)]
pub struct SignedJson<T>(pub Verified<T>);

impl<T, S> FromRequest<S> for SignedJson<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
    Arc<dyn BodyVerifier>: FromRef<S>,
{
    type Rejection = SignedJsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<dyn BodyVerifier>::from_ref(state);
        let (parts, body) = request.into_parts();
        // Refuse the content type before reading a byte of the body.
        let content_type = http::content_type(&parts.headers).map_err(SignedJsonRejection::from)?;
        crate::request::check_content_type(content_type)?;
        let limit = verifier
            .limits()
            .max_token_bytes()
            .saturating_add(crate::request::SLACK);
        let body = read_body(body, limit).await?;
        let verified = verifier.verify_body(content_type, &body).await?;
        Ok(SignedJson(verified.deserialize_json(verifier.limits())?))
    }
}

/// The whole body, refused past `limit` bytes.
async fn read_body(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, Error> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Error::TooLarge {
            what: "request body",
            actual: limit.saturating_add(1),
            limit,
        }),
        // The client's connection failed mid-body: not a size problem.
        Err(e) => Err(Error::Transport(e)),
    }
}

/// Extracts a JSON body signed with a detached signature in a header (the
/// [`DetachedVerifier`](crate::detached::DetachedVerifier) in the router
/// state names it: `x-jws-signature` for Open Banking): the header must be
/// there once, the signature must verify over the body bytes exactly as
/// received, and the body is then deserialized into `T`.
///
/// The state must provide an `Arc<dyn DetachedBodyVerifier>` (directly or
/// through [`FromRef`]). Failures are [`SignedJsonRejection`]s, answered as
/// for [`SignedJson`]: 400 for a missing, duplicated or malformed header or
/// body, 401 for a signature, key or member that does not verify, 413, 503,
/// 500.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{Router, routing::post};
/// use serde::Deserialize;
/// use signed_payloads::axum::DetachedJson;
/// use signed_payloads::detached::{DetachedBodyVerifier, DetachedVerifier};
/// use signed_payloads::KeyRegistry;
///
/// #[derive(Deserialize)]
/// struct Consent { #[serde(rename = "Data")] data: serde_json::Value }
///
/// async fn create_consent(DetachedJson(consent): DetachedJson<Consent>) -> String {
///     format!("signed by {}", consent.key_id().unwrap_or("?"))
/// }
///
/// fn app(verifier: DetachedVerifier<KeyRegistry>) -> Router {
///     let verifier: Arc<dyn DetachedBodyVerifier> = Arc::new(verifier);
///     Router::new().route("/domestic-payment-consents", post(create_consent)).with_state(verifier)
/// }
/// ```
#[derive(Debug)]
pub struct DetachedJson<T>(pub Verified<T>);

impl<T, S> FromRequest<S> for DetachedJson<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
    Arc<dyn DetachedBodyVerifier>: FromRef<S>,
{
    type Rejection = SignedJsonRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<dyn DetachedBodyVerifier>::from_ref(state);
        let (parts, body) = request.into_parts();
        // The header before a byte of the body is read.
        let name = verifier.profile().header_name();
        let mut values = parts.headers.get_all(name).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => {
                return Err(Error::from(Malformed::MissingHeader(Escaped::new(name))).into());
            }
            (Some(_), Some(_)) => {
                return Err(Error::from(Malformed::DuplicateHeader(Escaped::new(name))).into());
            }
            (Some(value), None) => value
                .to_str()
                .map_err(|_| Error::from(Malformed::BadHeaderValue(Escaped::new(name))))?,
        };
        let body = read_body(body, verifier.limits().max_token_bytes()).await?;
        let verified = verifier.verify_body(value, &body).await?;
        Ok(DetachedJson(verified.deserialize_json(verifier.limits())?))
    }
}

/// Why a [`SignedJson`] extraction failed.
///
/// The response a client sees is deliberately generic (a status and a short
/// JSON body); the full reason is in [`SignedJsonRejection::error`] and in
/// `Display`, for server logs.
pub struct SignedJsonRejection {
    error: Error,
    _private: PhantomData<()>,
}

impl SignedJsonRejection {
    /// The full reason, for logs.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The status the client receives.
    pub fn status(&self) -> StatusCode {
        match (self.error.kind(), &self.error) {
            // A request body that broke off is the client's, not a service's.
            (_, Error::Transport(_)) => StatusCode::BAD_REQUEST,
            (ErrorKind::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (ErrorKind::Config, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (_, Error::ContentType { .. }) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            (_, Error::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            (_, Error::Malformed(_)) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn public_reason(&self) -> (&'static str, &'static str) {
        if let Error::BeforeReplayHistory = self.error {
            // The one refusal a genuine client fixes by signing again.
            return (
                "sign_again",
                "the signed payload is older than the server's replay records; sign it again with a current iat",
            );
        }
        match self.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "expected Content-Type: application/jwt",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::BAD_REQUEST => (
                "malformed_request",
                "the request does not carry a well-formed signed payload",
            ),
            // A replay store's write may still land after it timed out, so
            // the same token could then look replayed: a new one is needed.
            StatusCode::SERVICE_UNAVAILABLE => (
                "unavailable",
                "the signed payload cannot be verified now; sign it again and retry later",
            ),
            StatusCode::INTERNAL_SERVER_ERROR => (
                "internal_error",
                "the server could not verify the signed payload",
            ),
            _ => ("unauthorized", "the signed payload could not be verified"),
        }
    }
}

impl From<Error> for SignedJsonRejection {
    fn from(error: Error) -> Self {
        SignedJsonRejection {
            error,
            _private: PhantomData,
        }
    }
}

impl fmt::Debug for SignedJsonRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedJsonRejection")
            .field("status", &self.status())
            .field("error", &self.error)
            .finish()
    }
}

impl fmt::Display for SignedJsonRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "signed request rejected ({}): {}",
            self.status(),
            self.error
        )
    }
}

impl std::error::Error for SignedJsonRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for SignedJsonRejection {
    fn into_response(self) -> Response {
        let (code, message) = self.public_reason();
        let body = serde_json::json!({ "error": code, "message": message }).to_string();
        let mut response = (self.status(), body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// Extracts a request signed with an RFC 9421 HTTP Message Signature (feature
/// `httpsig`): the signature is verified, under the verifier's policy, over
/// the request's method, target URI (origin-form completed with the
/// verifier's scheme and `Host`) and fields, and its `content-digest`
/// recomputed over the body as received. The handler gets what was covered,
/// the request's head and its body.
///
/// The state must provide an `Arc<dyn MessageVerifier>` (directly or through
/// [`FromRef`]): any [`HttpSigVerifier`](crate::httpsig::HttpSigVerifier)
/// whose keys are not chosen by tenant. A refusal is an
/// [`HttpSigRejection`]: 401 with a JSON body naming what is wrong (FAPI 2.0
/// asks that the client learn what was missing), 413 for a body over the
/// verifier's limit, 503 when a key source or replay store cannot answer,
/// 500 for the server's own configuration.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{Router, routing::post};
/// use signed_payloads::axum::HttpSigned;
/// use signed_payloads::httpsig::{HttpSigPolicy, HttpSigVerifier, MessageVerifier};
/// use signed_payloads::KeyRegistry;
///
/// async fn pay(signed: HttpSigned) -> String {
///     format!("signed by {:?}", signed.covered.keyid)
/// }
///
/// fn app(keys: Arc<KeyRegistry>) -> Router {
///     let verifier: Arc<dyn MessageVerifier> =
///         Arc::new(HttpSigVerifier::new(keys).with_policy(HttpSigPolicy::fapi_request()));
///     Router::new().route("/payments", post(pay)).with_state(verifier)
/// }
/// ```
#[cfg(feature = "httpsig")]
#[derive(Debug)]
#[non_exhaustive]
pub struct HttpSigned {
    /// What the verified signature covered, and its key id.
    pub covered: crate::httpsig::Covered,
    /// The request's method, URI and headers.
    pub parts: axum::http::request::Parts,
    /// The body, exactly as received (and as its digest covered).
    pub body: axum::body::Bytes,
}

#[cfg(feature = "httpsig")]
impl<S> FromRequest<S> for HttpSigned
where
    S: Send + Sync,
    Arc<dyn crate::httpsig::MessageVerifier>: FromRef<S>,
{
    type Rejection = HttpSigRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Arc::<dyn crate::httpsig::MessageVerifier>::from_ref(state);
        let (parts, body) = request.into_parts();
        // The head is read (and a missing signature refused) before the body.
        let message = crate::httpsig::HttpMessage::from_request_parts(&parts, verifier.scheme())
            .map_err(HttpSigRejection)?;
        let body = read_body(body, verifier.max_body_bytes())
            .await
            .map_err(HttpSigRejection)?;
        let covered = verifier
            .verify_message(&message, None, Some(&body))
            .await
            .map_err(HttpSigRejection)?;
        Ok(HttpSigned {
            covered,
            parts,
            body,
        })
    }
}

/// Why an [`HttpSigned`] extraction failed. The client's response names
/// the reason (a refused signature says what it lacks; nothing in it is
/// secret); [`HttpSigRejection::error`] has it for logs.
#[cfg(feature = "httpsig")]
#[derive(Debug)]
pub struct HttpSigRejection(Error);

#[cfg(feature = "httpsig")]
impl HttpSigRejection {
    /// The full reason.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// The status the client receives.
    pub fn status(&self) -> StatusCode {
        match (self.0.kind(), &self.0) {
            (_, Error::Transport(_)) => StatusCode::BAD_REQUEST,
            (ErrorKind::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (ErrorKind::Config, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (_, Error::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

#[cfg(feature = "httpsig")]
impl fmt::Display for HttpSigRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP signature rejected ({}): {}", self.status(), self.0)
    }
}

#[cfg(feature = "httpsig")]
impl std::error::Error for HttpSigRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[cfg(feature = "httpsig")]
impl IntoResponse for HttpSigRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message) = match status {
            StatusCode::UNAUTHORIZED => ("invalid_signature", self.0.to_string()),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "the request body is too large".into())
            }
            StatusCode::BAD_REQUEST => ("malformed_request", "the request body broke off".into()),
            StatusCode::SERVICE_UNAVAILABLE => (
                "unavailable",
                "the signature cannot be verified now; retry later".into(),
            ),
            _ => (
                "internal_error",
                "the server could not verify the signature".into(),
            ),
        };
        let body = serde_json::json!({ "error": code, "message": message }).to_string();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}
