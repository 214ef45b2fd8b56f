//! Strict base64 engines: unpadded base64url for JOSE (no `+` `/`, no `=`,
//! no whitespace, no non-zero trailing bits) and lenient-padding standard
//! base64 for key files.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const URL_SAFE_STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(false),
);

const STANDARD_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Encodes as standard base64 with padding.
pub(crate) fn encode_standard(data: &[u8]) -> String {
    STANDARD_PADDED.encode(data)
}

/// Decodes strict standard base64 with canonical padding; `None` on any deviation.
pub(crate) fn decode_standard_padded(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD_PADDED.decode(text).ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(data: &[u8]) -> String {
    URL_SAFE_STRICT.encode(data)
}

/// Appends unpadded base64url to `out`.
pub(crate) fn encode_into(data: &[u8], out: &mut String) {
    URL_SAFE_STRICT.encode_string(data, out);
}

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_STRICT.decode(text).ok()
}

/// Decodes standard base64 with or without padding; `None` on any deviation.
pub(crate) fn decode_standard(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD_ANY_PADDING.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness() {
        assert_eq!(decode(b"Zm9v").unwrap(), b"foo");
        assert_eq!(decode(b"Zm8").unwrap(), b"fo");
        assert!(decode(b"Zm8=").is_none(), "padding");
        assert!(decode(b"Zm9").is_none(), "non-zero trailing bits");
        assert!(decode(b"Zm 9v").is_none(), "space");
        assert!(decode(b"Zm9v\n").is_none(), "newline");
        assert!(decode(b"+/8").is_none(), "standard alphabet");
        assert!(decode(b"Z").is_none(), "impossible length");
        assert_eq!(decode(b"-_8").unwrap(), [0xfb, 0xff]);
    }
}
