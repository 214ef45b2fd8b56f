//! Strict base64 engines: unpadded base64url for JOSE (no `+` `/`, no `=`,
//! no whitespace, no non-zero trailing bits) and lenient-padding standard
//! base64 for key files.
//!
//! JOSE segments go through base64-simd, which is as strict and several
//! times faster on large payloads (a 1 MiB payload is 1.4 MB of base64);
//! the small standard-alphabet inputs use the base64 crate.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

#[cfg(test)]
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
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(data)
}

/// Appends unpadded base64url to `out`.
pub(crate) fn encode_into(data: &[u8], out: &mut String) {
    base64_simd::URL_SAFE_NO_PAD.encode_append(data, out);
}

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &[u8]) -> Option<Vec<u8>> {
    base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text).ok()
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

    #[test]
    fn strict_on_long_inputs_too() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
        let text = encode(&data);
        assert_eq!(decode(text.as_bytes()).unwrap(), data);
        assert_eq!(
            text,
            URL_SAFE_STRICT.encode(&data),
            "same output as the reference engine"
        );
        for bad in [b'+', b'/', b'=', b' ', b'\n', b'.', 0xff] {
            for at in [0, 17, 1000, text.len() - 1] {
                let mut mutated = text.clone().into_bytes();
                mutated[at] = bad;
                assert!(decode(&mutated).is_none(), "{bad:#x} at {at}");
            }
        }
        let mut out = String::from("x.");
        encode_into(&data, &mut out);
        assert_eq!(&out[2..], text);
    }
}
