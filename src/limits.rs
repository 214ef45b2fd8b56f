//! Size and depth limits applied before any expensive work.

use crate::error::{Error, Malformed, Segment};

/// Limits on untrusted input, on by default.
///
/// Every verifier checks these before decoding: a token over
/// `max_token_bytes` is refused before it is split, a header over
/// `max_header_bytes` before it is decoded, and JSON nested deeper than
/// `max_json_depth` before it is deserialized.
///
/// ```
/// use signed_payloads::Limits;
/// let limits = Limits::default().with_max_token_bytes(4 << 20);
/// assert_eq!(limits.max_token_bytes(), 4 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    max_token_bytes: usize,
    max_header_bytes: usize,
    max_json_depth: usize,
}

impl Limits {
    /// Default for the whole compact token: 1 MiB.
    pub const DEFAULT_MAX_TOKEN_BYTES: usize = 1 << 20;
    /// Default for the encoded header segment: 8 KiB.
    pub const DEFAULT_MAX_HEADER_BYTES: usize = 8 << 10;
    /// Default JSON nesting depth for header and payload: 32.
    pub const DEFAULT_MAX_JSON_DEPTH: usize = 32;
    /// The deepest nesting the JSON parser can be asked to accept.
    pub const MAX_JSON_DEPTH_CEILING: usize = 120;

    /// The defaults: 1 MiB tokens, 8 KiB headers, depth 32.
    pub const fn new() -> Self {
        Limits {
            max_token_bytes: Self::DEFAULT_MAX_TOKEN_BYTES,
            max_header_bytes: Self::DEFAULT_MAX_HEADER_BYTES,
            max_json_depth: Self::DEFAULT_MAX_JSON_DEPTH,
        }
    }

    /// Sets the largest accepted token, in bytes (the compact string, or a
    /// response body in header mode).
    #[must_use]
    pub const fn with_max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Sets the largest accepted encoded header segment, in bytes.
    #[must_use]
    pub const fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets the deepest accepted JSON nesting (an object or array is one
    /// level); values above [`Limits::MAX_JSON_DEPTH_CEILING`] are lowered to it.
    #[must_use]
    pub const fn with_max_json_depth(mut self, depth: usize) -> Self {
        self.max_json_depth = if depth > Self::MAX_JSON_DEPTH_CEILING {
            Self::MAX_JSON_DEPTH_CEILING
        } else {
            depth
        };
        self
    }

    /// The largest accepted token, in bytes.
    pub const fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }

    /// The largest accepted encoded header, in bytes.
    pub const fn max_header_bytes(&self) -> usize {
        self.max_header_bytes
    }

    /// The deepest accepted JSON nesting.
    pub const fn max_json_depth(&self) -> usize {
        self.max_json_depth
    }
}

impl Limits {
    /// Refuses an input of `len` bytes over the token limit; `what` names it.
    pub(crate) fn check_size(&self, what: &'static str, len: usize) -> Result<(), Error> {
        if len > self.max_token_bytes {
            return Err(Error::TooLarge {
                what,
                actual: len,
                limit: self.max_token_bytes,
            });
        }
        Ok(())
    }

    /// Refuses an empty or oversized encoded protected header (JWS and JWE alike).
    pub(crate) fn check_header_segment(&self, segment: &[u8]) -> Result<(), Error> {
        if segment.is_empty() {
            return Err(Malformed::EmptySegment(Segment::Header).into());
        }
        if segment.len() > self.max_header_bytes {
            return Err(Error::TooLarge {
                what: "header",
                actual: segment.len(),
                limit: self.max_header_bytes,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}
