//! Strict compact JWS (RFC 7515): sign, verify, detached and unencoded payloads.

mod compact;
mod header;

pub use compact::{sign, sign_async, sign_detached, sign_with_raw_header, verify, verify_detached};
pub use header::Header;

pub(crate) use compact::{
    Parsed, is_compact_jwe, parse, parse_understanding, sign_detached_async, sign_with_header_json,
    sign_with_header_json_async,
};
