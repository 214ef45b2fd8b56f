//! Glue for the `http` crate's types (feature `http`).

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::{Error, Escaped};
use crate::request::{JWT_CONTENT_TYPE, RequestVerifier};
use crate::{Verified, request};

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
        let content_type = content_type(headers)?;
        request::check_content_type(content_type)?;
        self.verify_request(content_type, body)
    }
}
