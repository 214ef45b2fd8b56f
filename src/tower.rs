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

use crate::detached::DetachedSigner;
use crate::error::Error;
use crate::http::requested_mode;
use crate::response::{ResponseMode, ResponseSigner};
use crate::{Signer, SigningSource};

/// The future a [`SignsResponses`] returns: the body to send.
pub type SignResponseFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send + 'a>>;

/// How [`ResponseSigningLayer`] signs a response: what it needs from the
/// request, then the signature over the buffered body (headers added, body
/// possibly replaced). [`ResponseSigner`] (header or embedded mode),
/// [`DetachedSigner`] (a detached JWS in one header) and, with feature
/// `httpsig`, [`HttpSigSigner`](crate::httpsig::HttpSigSigner) (an RFC 9421
/// signature bound to the request) implement it.
pub trait SignsResponses: Send + Sync + 'static {
    /// What the signer takes from the request (the mode it asks for, ...).
    type Plan: Send + 'static;

    /// Reads the request's head before the inner service runs.
    fn plan(&self, request: &http::request::Parts) -> Self::Plan;

    /// Signs `body` for the response whose status and headers are `parts`,
    /// adding headers to them; returns the body to send.
    fn sign_response<'a>(
        &'a self,
        plan: Self::Plan,
        parts: &'a mut http::response::Parts,
        body: Bytes,
    ) -> SignResponseFuture<'a>;
}

impl<S: SigningSource + 'static> SignsResponses for ResponseSigner<S> {
    /// The mode the request asks for, and its trace header to echo.
    type Plan = (ResponseMode, Option<HeaderValue>);

    fn plan(&self, request: &http::request::Parts) -> Self::Plan {
        let request = &request.headers;
        let profile = self.profile();
        let mode = requested_mode(request, profile);
        (mode, request.get(profile.trace_header()).cloned())
    }

    fn sign_response<'a>(
        &'a self,
        (mode, trace): Self::Plan,
        parts: &'a mut http::response::Parts,
        body: Bytes,
    ) -> SignResponseFuture<'a> {
        Box::pin(async move {
            let body = match mode {
                ResponseMode::Headers => {
                    self.sign_into_headers_async(parts.status, &body, &mut parts.headers)
                        .await?;
                    body
                }
                ResponseMode::Embedded => {
                    let token = self.sign_embedded_async(&body).await?;
                    parts.headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/jose"),
                    );
                    Bytes::from(token)
                }
            };
            if let Some(trace) = trace {
                if let Ok(name) =
                    http::HeaderName::from_bytes(self.profile().trace_header().as_bytes())
                {
                    parts.headers.entry(name).or_insert(trace);
                }
            }
            Ok(body)
        })
    }
}

impl<S: SigningSource + 'static> SignsResponses for DetachedSigner<S> {
    type Plan = ();

    fn plan(&self, _: &http::request::Parts) {}

    fn sign_response<'a>(
        &'a self,
        (): (),
        parts: &'a mut http::response::Parts,
        body: Bytes,
    ) -> SignResponseFuture<'a> {
        Box::pin(async move {
            let signature = self.sign_async(&body).await?;
            let name = http::HeaderName::from_bytes(self.profile().header_name().as_bytes())
                .map_err(|_| {
                    Error::Config(
                        "the profile's header name is not a valid HTTP header name".into(),
                    )
                })?;
            let value = HeaderValue::from_str(&signature).map_err(|_| {
                Error::Config("a detached signature is not a valid header value".into())
            })?;
            parts.headers.insert(name, value);
            Ok(body)
        })
    }
}

#[cfg(feature = "httpsig")]
impl<S: SigningSource + 'static> SignsResponses for crate::httpsig::HttpSigSigner<S> {
    /// The request as the signature's `req` components read it.
    type Plan = Result<crate::httpsig::HttpMessage, Error>;

    fn plan(&self, request: &http::request::Parts) -> Self::Plan {
        crate::httpsig::HttpMessage::from_request_parts(request, self.scheme())
    }

    fn sign_response<'a>(
        &'a self,
        request: Self::Plan,
        parts: &'a mut http::response::Parts,
        body: Bytes,
    ) -> SignResponseFuture<'a> {
        Box::pin(async move {
            let request = request?;
            let message =
                crate::httpsig::HttpMessage::from_response_head(parts.status, &parts.headers)?;
            let before = message.headers().count();
            let signed = self
                .sign_async(message, Some(&request), Some(&body))
                .await?;
            for (name, value) in signed.headers().skip(before) {
                let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    Error::Config(format!("{name} is not a valid HTTP header name"))
                })?;
                let value = HeaderValue::from_str(value).map_err(|_| {
                    Error::Config("an HTTP signature is not a valid header value".into())
                })?;
                parts.headers.append(name, value);
            }
            Ok(body)
        })
    }
}

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
/// use signed_payloads::{Algorithm, PrivateKey, KeySigner};
/// use signed_payloads::{response::ResponseSigner, tower::ResponseSigningLayer};
/// # fn main() -> Result<(), signed_payloads::Error> {
/// let key = PrivateKey::from_pem(&std::fs::read_to_string("api-private.pem").unwrap())?;
/// let signer = ResponseSigner::new(Arc::new(KeySigner::new(key, Algorithm::PS384)?.with_key_id("api-2026")));
/// let app: Router = Router::new()
///     .route("/v3/installment-plans/42", get(|| async { r#"{"id":42}"# }))
///     .layer(ResponseSigningLayer::new(Arc::new(signer)));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ResponseSigningLayer<T: ?Sized = ResponseSigner<Arc<dyn Signer>>> {
    signer: Arc<T>,
    max_body_bytes: usize,
}

impl<T: ?Sized> Clone for ResponseSigningLayer<T> {
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

impl<T: ?Sized> ResponseSigningLayer<T> {
    /// Signs with `signer`: a [`ResponseSigner`], a [`DetachedSigner`], or
    /// any [`SignsResponses`].
    pub fn new(signer: Arc<T>) -> Self {
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

impl<I, T: ?Sized> Layer<I> for ResponseSigningLayer<T> {
    type Service = ResponseSigningService<I, T>;

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
pub struct ResponseSigningService<I, T: ?Sized = ResponseSigner<Arc<dyn Signer>>> {
    inner: I,
    signer: Arc<T>,
    max_body_bytes: usize,
}

impl<I: Clone, T: ?Sized> Clone for ResponseSigningService<I, T> {
    fn clone(&self) -> Self {
        ResponseSigningService {
            inner: self.inner.clone(),
            signer: Arc::clone(&self.signer),
            max_body_bytes: self.max_body_bytes,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<I, T, ReqBody, ResBody> Service<Request<ReqBody>> for ResponseSigningService<I, T>
where
    I: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    I::Future: Send + 'static,
    T: SignsResponses,
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
        let (head, body) = request.into_parts();
        let plan = signer.plan(&head);
        let request = Request::from_parts(head, body);
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
            let body = match signer.sign_response(plan, &mut parts, body).await {
                Ok(body) => body,
                Err(e) => return Ok(unsigned_error(e)),
            };
            parts.headers.remove(header::CONTENT_LENGTH);
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
