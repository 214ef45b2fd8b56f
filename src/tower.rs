//! A tower `Layer` that signs every response of a service (feature `tower`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::http::requested_mode;
use crate::response::{ResponseMode, ResponseSigner};
use crate::{Signer, SigningSource};

/// Signs every response of the wrapped service in the mode the request asks
/// for: headers by default, embedded when the mode header says `jwt`. The
/// trace header of the request is passed through to the response when the
/// service did not set one.
///
/// The body is buffered to be signed (up to `max_body_bytes`, 1 MiB by
/// default). Signing awaits the signer, so a key behind a network call
/// ([`ResponseSigner::remote`]) works as a local one does. A larger body, or
/// a failure to sign, becomes an unsigned 500, which clients reject; the
/// error rides in the response's extensions as a [`SigningFailure`] for an
/// outer layer to log.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use signed_payloads::{Algorithm, PrivateKey, RsaSigner};
/// use signed_payloads::{response::ResponseSigner, tower::ResponseSigningLayer};
/// # fn main() -> Result<(), signed_payloads::Error> {
/// let key = PrivateKey::from_pem(&std::fs::read_to_string("api-private.pem").unwrap())?;
/// let signer = ResponseSigner::new(Arc::new(RsaSigner::new(key, Algorithm::PS384).with_key_id("api-2026")));
/// let app: Router = Router::new()
///     .route("/v3/installment-plans/42", get(|| async { r#"{"id":42}"# }))
///     .layer(ResponseSigningLayer::new(Arc::new(signer)));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ResponseSigningLayer<S = Arc<dyn Signer>> {
    signer: Arc<ResponseSigner<S>>,
    max_body_bytes: usize,
}

impl<S> Clone for ResponseSigningLayer<S> {
    fn clone(&self) -> Self {
        ResponseSigningLayer {
            signer: Arc::clone(&self.signer),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// Why a response went out as an unsigned 500: found in its extensions.
#[derive(Debug, Clone)]
pub struct SigningFailure(Arc<Error>);

impl SigningFailure {
    /// The error that stopped signing.
    pub fn error(&self) -> &Error {
        &self.0
    }
}

impl<S> ResponseSigningLayer<S> {
    /// Signs with `signer`.
    pub fn new(signer: Arc<ResponseSigner<S>>) -> Self {
        ResponseSigningLayer {
            signer,
            max_body_bytes: 1 << 20,
        }
    }

    /// Sets the largest body that is buffered and signed.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

impl<I, S> Layer<I> for ResponseSigningLayer<S> {
    type Service = ResponseSigningService<I, S>;

    fn layer(&self, inner: I) -> Self::Service {
        ResponseSigningService {
            inner,
            signer: Arc::clone(&self.signer),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

/// The service [`ResponseSigningLayer`] produces.
#[derive(Debug)]
pub struct ResponseSigningService<I, S = Arc<dyn Signer>> {
    inner: I,
    signer: Arc<ResponseSigner<S>>,
    max_body_bytes: usize,
}

impl<I: Clone, S> Clone for ResponseSigningService<I, S> {
    fn clone(&self) -> Self {
        ResponseSigningService {
            inner: self.inner.clone(),
            signer: Arc::clone(&self.signer),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<I, S, ReqBody, ResBody> Service<Request<ReqBody>> for ResponseSigningService<I, S>
where
    I: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    I::Future: Send + 'static,
    S: SigningSource + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Full<Bytes>>;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let signer = Arc::clone(&self.signer);
        let profile = signer.profile();
        let mode = requested_mode(request.headers(), profile);
        let trace = request.headers().get(profile.trace_header()).cloned();
        let max = self.max_body_bytes;
        // Call the instance that was polled ready; keep a fresh clone for next time.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await?;
            let (mut parts, body) = response.into_parts();
            let body = match Limited::new(body, max).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => {
                    return Ok(unsigned_error(Error::TooLarge {
                        what: "response body to sign",
                        actual: max.saturating_add(1),
                        limit: max,
                    }));
                }
            };
            let signed = match mode {
                ResponseMode::Headers => signer
                    .sign_into_headers_async(parts.status, &body, &mut parts.headers)
                    .await
                    .map(|()| body),
                ResponseMode::Embedded => signer.sign_embedded_async(&body).await.map(|token| {
                    parts.headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/jose"),
                    );
                    Bytes::from(token)
                }),
            };
            let body = match signed {
                Ok(body) => body,
                Err(e) => return Ok(unsigned_error(e)),
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            if let Some(trace) = trace {
                if let Ok(name) =
                    http::HeaderName::from_bytes(signer.profile().trace_header().as_bytes())
                {
                    parts.headers.entry(name).or_insert(trace);
                }
            }
            Ok(Response::from_parts(parts, Full::new(body)))
        })
    }
}

fn unsigned_error(error: Error) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(
        b"response could not be signed",
    )));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
        .extensions_mut()
        .insert(SigningFailure(Arc::new(error)));
    response
}
