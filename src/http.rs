//! Glue for the `http` crate's types (feature `http`).

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::Verified;
use crate::error::{Error, Escaped};
use crate::request::{JWT_CONTENT_TYPE, RequestVerifier};
use crate::response::{
    ResponseMode, ResponseProfile, ResponseSigner, ResponseVerifier, VerifiedResponse,
};

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

impl RequestVerifier {
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

impl ResponseVerifier {
    /// Verifies an `http::Response` whose body is in memory, in `mode`.
    ///
    /// # Errors
    ///
    /// As for [`ResponseVerifier::verify`].
    pub fn verify_http<B: AsRef<[u8]>>(
        &self,
        response: &http::Response<B>,
        mode: ResponseMode,
    ) -> Result<VerifiedResponse, Error> {
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

impl ResponseSigner {
    /// Header mode into an `http::HeaderMap`: inserts the three signature
    /// headers (replacing any already there).
    ///
    /// # Errors
    ///
    /// As for [`ResponseSigner::sign_headers`]; [`Error::Malformed`] if the
    /// profile's header names are not valid header names.
    pub fn sign_into_headers(
        &self,
        status: http::StatusCode,
        body: &[u8],
        headers: &mut HeaderMap,
    ) -> Result<(), Error> {
        let signed = self.sign_headers(status.as_u16(), body)?;
        for (name, value) in signed.iter() {
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::header(format!("{} is not a valid header name", Escaped::new(name)))
            })?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|_| Error::header("invalid header value"))?;
            headers.insert(name, value);
        }
        Ok(())
    }
}
