//! Reading a token without verifying it. Nothing here proves anything.
//!
//! Use it to route (read the `kid` to pick a tenant's key set) or to show a
//! token to a person while debugging. Never act on what it returns.

use crate::error::{Error, Malformed, Segment};
use crate::{Header, Limits, base64url, jws};

/// Decodes and checks the header of a compact JWS without verifying anything.
///
/// # Errors
///
/// As for [`jws::verify`], short of the signature check.
pub fn peek_header(token: &str, limits: &Limits) -> Result<Header, Error> {
    jws::parse(token, limits).map(|parsed| parsed.header)
}

/// Decodes the header and payload of a compact JWS without verifying the signature.
///
/// # Errors
///
/// As for [`peek_header`], and [`Malformed::Base64`] for a bad payload segment.
pub fn decode_unverified(token: &str, limits: &Limits) -> Result<(Header, Vec<u8>), Error> {
    let parsed = jws::parse(token, limits)?;
    let segment = parsed.payload_segment;
    let payload = if parsed.header.is_unencoded() {
        segment.to_vec()
    } else {
        base64url::decode(segment).ok_or(Malformed::Base64(Segment::Payload))?
    };
    Ok((parsed.header, payload))
}
