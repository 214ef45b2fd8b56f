//! Verifying a `reqwest::Response`, signing a `reqwest` request body
//! (feature `reqwest`).

use crate::detached::{DetachedSigner, DetachedVerifier};
use crate::error::Error;
use crate::response::{ResponseMode, ResponseProfile, ResponseVerifier};
use crate::{AsyncKeySource, AsyncNonceStore, Limits, SigningSource, Verified};

/// The body of `response`, read once, refused past the size limit.
async fn read_body(response: &mut reqwest::Response, limits: &Limits) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::Transport(Box::new(e)))?
    {
        limits.check_size("response body", body.len() + chunk.len())?;
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl<K, R> ResponseVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// Reads the body of `response` once (refusing more than the size
    /// limit) and verifies it in `mode`, the mode the request asked for.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] if reading fails, [`Error::TooLarge`], and the
    /// errors of [`ResponseVerifier::verify`].
    pub async fn verify_reqwest(
        &self,
        mut response: reqwest::Response,
        mode: ResponseMode,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_body(&mut response, self.limits()).await?;
        let headers = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        self.verify_async(mode, status, headers, &body).await
    }
}

impl ResponseProfile {
    /// Asks the API to sign its response in `mode`: for embedded mode, sets
    /// the profile's mode header to `jwt` on the request; header mode is the
    /// default and needs nothing.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), signed_payloads::Error> {
    /// use signed_payloads::response::{ResponseMode, ResponseProfile};
    /// let client = reqwest::Client::new();
    /// let request = ResponseProfile::splitit().ask_for_mode(
    ///     client.get("https://api.example.com/v3/installment-plans/42"),
    ///     ResponseMode::Embedded,
    /// );
    /// # Ok(()) }
    /// ```
    pub fn ask_for_mode(
        &self,
        request: reqwest::RequestBuilder,
        mode: ResponseMode,
    ) -> reqwest::RequestBuilder {
        match mode {
            ResponseMode::Embedded => request.header(self.mode_header(), "jwt"),
            ResponseMode::Headers => request,
        }
    }
}

impl<K> DetachedVerifier<K>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
{
    /// Reads the body of `response` once (refusing more than the size
    /// limit) and verifies the profile's signature header over it.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] if reading fails, [`Error::TooLarge`], and the
    /// errors of [`DetachedVerifier::verify_headers`].
    pub async fn verify_reqwest(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let headers = response.headers().clone();
        let body = read_body(&mut response, self.limits()).await?;
        let headers = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        self.verify_headers_async(headers, &body).await
    }
}

impl<S: SigningSource> DetachedSigner<S> {
    /// Sets `body` on `request` with its signature in the profile's header:
    /// the bytes signed are the bytes sent.
    ///
    /// ```no_run
    /// # async fn run(signer: signed_payloads::detached::DetachedSigner) -> Result<(), Box<dyn std::error::Error>> {
    /// let client = reqwest::Client::new();
    /// let body = br#"{"Data":{"Initiation":{}}}"#.to_vec();
    /// let request = signer
    ///     .sign_reqwest(client.post("https://bank.example/pisp/domestic-payments"), body)
    ///     .await?
    ///     .header("content-type", "application/json");
    /// let response = request.send().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`DetachedSigner::sign`].
    pub async fn sign_reqwest(
        &self,
        request: reqwest::RequestBuilder,
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let signature = self.sign_async(&body).await?;
        Ok(request
            .header(self.profile().header_name(), signature)
            .body(body))
    }
}

/// A response whose RFC 9421 signature verified: what it covered, and the
/// response itself (its body read whole, within the verifier's limit).
#[cfg(feature = "httpsig")]
#[derive(Debug)]
#[non_exhaustive]
pub struct VerifiedResponse {
    /// What the signature covered, and its key id.
    pub covered: crate::httpsig::Covered,
    /// The status code.
    pub status: reqwest::StatusCode,
    /// The response's fields.
    pub headers: reqwest::header::HeaderMap,
    /// The body, exactly as received (and as its digest covered).
    pub body: Vec<u8>,
}

#[cfg(feature = "httpsig")]
impl<S: SigningSource> crate::httpsig::HttpSigSigner<S> {
    /// Signs an outgoing request in place: adds `Signature-Input`,
    /// `Signature` and, when set, `Content-Digest` to its headers. Returns
    /// the request as signed, for
    /// [`HttpSigVerifier::verify_reqwest`](crate::httpsig::HttpSigVerifier::verify_reqwest)
    /// to read a bound response's `req` components from.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a streaming body (its digest needs its bytes),
    /// and the errors of [`sign_async`](Self::sign_async).
    pub async fn sign_reqwest(
        &self,
        request: &mut reqwest::Request,
    ) -> Result<crate::httpsig::HttpMessage, Error> {
        let mut message = crate::httpsig::HttpMessage::request(
            request.method().as_str(),
            request.url().as_str(),
        )?;
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| {
                Error::Config(format!("the request's {name} field is not ASCII text"))
            })?;
            message.add_header(name.as_str(), value);
        }
        let body = match request.body() {
            None => None,
            Some(body) => Some(body.as_bytes().ok_or_else(|| {
                Error::Config(
                    "the request body is a stream; give it as bytes so that it can be signed"
                        .into(),
                )
            })?),
        };
        let before = message.headers().count();
        let signed = self.sign_async(message, None, body).await?;
        for (name, value) in signed.headers().skip(before) {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("{name} is not a valid HTTP header name")))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                Error::Config("an HTTP signature is not a valid header value".into())
            })?;
            request.headers_mut().append(name, value);
        }
        Ok(signed)
    }
}

#[cfg(feature = "httpsig")]
impl<K, R> crate::httpsig::HttpSigVerifier<K, R>
where
    K: AsyncKeySource<Scope = ()> + ?Sized,
    R: AsyncNonceStore + ?Sized,
{
    /// Reads `response` whole (within the verifier's body limit) and
    /// verifies its signature; `request` is the request as
    /// [`HttpSigSigner::sign_reqwest`](crate::httpsig::HttpSigSigner::sign_reqwest)
    /// signed it, which a bound response's `req` components read.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] when the body cannot be read,
    /// [`Error::TooLarge`], and the errors of
    /// [`verify_async`](Self::verify_async).
    pub async fn verify_reqwest(
        &self,
        mut response: reqwest::Response,
        request: Option<&crate::httpsig::HttpMessage>,
    ) -> Result<VerifiedResponse, Error> {
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let limit = Limits::default().with_max_token_bytes(self.max_body_bytes());
        let body = read_body(&mut response, &limit).await?;
        let mut message = crate::httpsig::HttpMessage::response(status.as_u16());
        for (name, value) in &headers {
            let value = value
                .to_str()
                .map_err(|_| Error::header(format!("the response's {name} field is not text")))?;
            message.add_header(name.as_str(), value);
        }
        let covered = self.verify_async(&message, request, Some(&body)).await?;
        Ok(VerifiedResponse {
            covered,
            status,
            headers,
            body,
        })
    }
}
