//! Verifying a `reqwest::Response` (feature `reqwest`).

use crate::error::Error;
use crate::response::{ResponseMode, ResponseProfile, ResponseVerifier};
use crate::{AsyncKeySource, AsyncNonceStore, Verified};

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
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Error::Transport(Box::new(e)))?
        {
            self.limits()
                .check_size("response body", body.len() + chunk.len())?;
            body.extend_from_slice(&chunk);
        }
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
