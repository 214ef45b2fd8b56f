//! Glue for the `http` crate's types (feature `http`).

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::{Error, Escaped};
use crate::request::{JWT_CONTENT_TYPE, RequestVerifier};
use crate::response::{
    ResponseMode, ResponseProfile, ResponseSigner, ResponseVerifier, SignatureHeaders,
};
use crate::{KeySource, NonceStore, Signer, SigningSource, Verified};

/// Reads the one `Content-Type` of a request.
///
/// # Errors
///
/// [`Error::ContentType`] when there are several, or one that is not text.
pub fn content_type(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Error::ContentType {
            expected: JWT_CONTENT_TYPE,
            found: Escaped::new("several values"),
        });
    }
    first
        .map(|v| {
            v.to_str().map_err(|_| Error::ContentType {
                expected: JWT_CONTENT_TYPE,
                found: Escaped::new("non-text"),
            })
        })
        .transpose()
}

impl<K, R> RequestVerifier<K, R>
where
    K: KeySource<Scope = ()> + ?Sized,
    R: NonceStore + ?Sized,
{
    /// Verifies a request given as `http` headers and body bytes.
    ///
    /// # Errors
    ///
    /// As for [`RequestVerifier::verify_request`].
    pub fn verify_http<T: DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified<T>, Error> {
        // verify_request checks the content type before anything else.
        self.verify_request(content_type(headers)?, body)
    }
}

/// The mode a request asks responses to be signed in: embedded when the
/// profile's mode header says `jwt` (any case), headers otherwise.
pub fn requested_mode(headers: &HeaderMap, profile: &ResponseProfile) -> ResponseMode {
    let jwt = headers
        .get(profile.mode_header())
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("jwt"));
    if jwt {
        ResponseMode::Embedded
    } else {
        ResponseMode::Headers
    }
}

impl<K, R> ResponseVerifier<K, R>
where
    K: KeySource<Scope = ()> + ?Sized,
    R: NonceStore + ?Sized,
{
    /// Verifies an `http::Response` whose body is in memory, in `mode`.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify`].
    pub fn verify_http<B: AsRef<[u8]>>(
        &self,
        response: &http::Response<B>,
        mode: ResponseMode,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        self.verify(
            mode,
            response.status().as_u16(),
            headers,
            response.body().as_ref(),
        )
    }
}

impl SignatureHeaders {
    /// Inserts the three signature headers into `headers` (replacing any
    /// already there). The signature is marked sensitive.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the profile's header names are not valid header names.
    pub fn write_to(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        for (name, value) in self.iter() {
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::Config(format!(
                    "the response profile's header name {} is not a valid header name",
                    Escaped::new(name)
                ))
            })?;
            // Key ids and tokens are base64url or the caller's ASCII; a value
            // that still does not fit is the profile's configuration.
            let mut value = http::HeaderValue::from_str(value).map_err(|_| {
                Error::Config("a signature header value is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Ok(())
    }
}

impl<S: SigningSource<Current = dyn Signer>> ResponseSigner<S> {
    /// Header mode into an `http::HeaderMap`: inserts the three signature
    /// headers (replacing any already there).
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`] and [`SignatureHeaders::write_to`].
    pub fn sign_into_headers(
        &self,
        status: http::StatusCode,
        body: &[u8],
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        self.sign_headers(status.as_u16(), body)?.write_to(headers)
    }
}

impl<S: SigningSource> ResponseSigner<S> {
    /// As [`ResponseSigner::sign_into_headers`], waiting for an async signer.
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_into_headers`].
    pub async fn sign_into_headers_async(
        &self,
        status: http::StatusCode,
        body: &[u8],
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        self.sign_headers_async(status.as_u16(), body)
            .await?
            .write_to(headers)
    }
}
