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
