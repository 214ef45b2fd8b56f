//! The `Content-Type: application/jwt` rule for signed request bodies.

use crate::error::{Error, Escaped};

/// The media type of a request body that is a compact JWT.
pub const JWT_CONTENT_TYPE: &str = "application/jwt";

/// Checks a `Content-Type` value: `application/jwt`, any case, parameters allowed.
///
/// ```
/// use signed_payloads::request::check_content_type;
/// assert!(check_content_type(Some("application/jwt")).is_ok());
/// assert!(check_content_type(Some("Application/JWT; charset=utf-8")).is_ok());
/// assert!(check_content_type(Some("application/json")).is_err());
/// assert!(check_content_type(None).is_err());
/// ```
///
/// # Errors
///
/// [`Error::ContentType`] for any other or a missing media type.
pub fn check_content_type(value: Option<&str>) -> Result<(), Error> {
    let found = match value {
        None => {
            return Err(Error::ContentType {
                expected: JWT_CONTENT_TYPE,
                found: Escaped::new("none"),
            });
        }
        Some(value) => value,
    };
    let essence = found.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(JWT_CONTENT_TYPE) {
        Ok(())
    } else {
        Err(Error::ContentType {
            expected: JWT_CONTENT_TYPE,
            found: Escaped::new(found),
        })
    }
}
