//! The settings of a response-signing scheme: header names, the layout of
//! the signed bytes, the signature encoding and the default algorithm.

use crate::Algorithm;
use crate::error::{Error, Escaped, Malformed};

/// One part of the signed bytes in header mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPart {
    /// The raw response body.
    Body,
    /// The HTTP status code in decimal.
    Status,
    /// The nonce token.
    Token,
}

/// How the signature header is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Standard base64 with padding (RFC 4648 section 4), as the vendor sends it.
    Base64,
    /// Unpadded base64url (RFC 4648 section 5).
    Base64Url,
}

/// Where the signature of a response travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Three headers: key id, nonce token, signature.
    Headers,
    /// The body is a compact JWS (possibly wrapping a JWE).
    Embedded,
}

/// The settings of a response-signing scheme.
///
/// The default is the payments API profile this crate was built for
/// ([`ResponseProfile::splitit`]); every setting can be changed, so the same
/// code serves APIs that use the scheme under other names.
///
/// ```
/// use signed_payloads::Algorithm;
/// use signed_payloads::response::{ResponseProfile, SignatureEncoding};
/// let profile = ResponseProfile::splitit()
///     .with_header_names("X-Acme-Key-Id", "X-Acme-Nonce", "X-Acme-Signature")
///     .with_signature_encoding(SignatureEncoding::Base64Url)
///     .with_default_algorithm(Algorithm::RS256);
/// assert_eq!(profile.signature_header(), "X-Acme-Signature");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseProfile {
    key_id_header: String,
    token_header: String,
    signature_header: String,
    mode_header: String,
    trace_header: String,
    layout: [InputPart; 3],
    separator: String,
    encoding: SignatureEncoding,
    default_algorithm: Algorithm,
}

/// Longest nonce token accepted, in bytes.
pub(crate) const MAX_TOKEN_LEN: usize = 256;

impl Default for ResponseProfile {
    fn default() -> Self {
        Self::splitit()
    }
}

impl ResponseProfile {
    /// The payments API's request header that chooses the response mode
    /// (`jwt` asks for embedded mode).
    pub const SPLITIT_MODE_HEADER: &'static str = "X-Splitit-ResponseSignature-Mode";

    /// The payments API profile: headers `X-Splitit-ResponseSignature-KeyId`,
    /// `-Token` and `X-Splitit-ResponseSignature`, signed bytes
    /// `{body};{status};{token}`, standard padded base64, PS384 (RSASSA-PSS,
    /// SHA-384, 48-byte salt), mode header `X-Splitit-ResponseSignature-Mode`
    /// (`jwt` asks for embedded mode), trace header `x-splitit-traceid`.
    pub fn splitit() -> Self {
        ResponseProfile {
            key_id_header: "X-Splitit-ResponseSignature-KeyId".into(),
            token_header: "X-Splitit-ResponseSignature-Token".into(),
            signature_header: "X-Splitit-ResponseSignature".into(),
            mode_header: Self::SPLITIT_MODE_HEADER.into(),
            trace_header: "x-splitit-traceid".into(),
            layout: [InputPart::Body, InputPart::Status, InputPart::Token],
            separator: ";".into(),
            encoding: SignatureEncoding::Base64,
            default_algorithm: Algorithm::PS384,
        }
    }

    /// Renames the three signature headers.
    #[must_use]
    pub fn with_header_names(
        mut self,
        key_id: impl Into<String>,
        token: impl Into<String>,
        signature: impl Into<String>,
    ) -> Self {
        self.key_id_header = key_id.into();
        self.token_header = token.into();
        self.signature_header = signature.into();
        self
    }

    /// Renames the header a request uses to ask for embedded mode.
    #[must_use]
    pub fn with_mode_header(mut self, name: impl Into<String>) -> Self {
        self.mode_header = name.into();
        self
    }

    /// Renames the trace header passed through for support.
    #[must_use]
    pub fn with_trace_header(mut self, name: impl Into<String>) -> Self {
        self.trace_header = name.into();
        self
    }

    /// Sets the order of the signed parts and the separator between them.
    ///
    /// Each part must appear exactly once (a layout without the token lets a
    /// replay pass with a fresh token header), and the separator must be
    /// non-empty and free of the token's base64url alphabet (`A-Z a-z 0-9 -
    /// _`), so that no fresh token can contain it and the signed bytes split
    /// back one way only.
    ///
    /// ```
    /// use signed_payloads::response::{InputPart, ResponseProfile};
    /// let profile = ResponseProfile::splitit()
    ///     .with_layout([InputPart::Token, InputPart::Status, InputPart::Body], "|")?;
    /// assert!(ResponseProfile::splitit()
    ///     .with_layout([InputPart::Body, InputPart::Status, InputPart::Body], ";")
    ///     .is_err());
    /// # Ok::<(), signed_payloads::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a layout or separator that breaks these rules.
    pub fn with_layout(
        mut self,
        layout: [InputPart; 3],
        separator: impl Into<String>,
    ) -> Result<Self, Error> {
        let separator = separator.into();
        for part in [InputPart::Body, InputPart::Status, InputPart::Token] {
            if layout.iter().filter(|&&p| p == part).count() != 1 {
                return Err(Error::Config(format!(
                    "a response layout needs {part:?} exactly once"
                )));
            }
        }
        let in_token_alphabet = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if separator.is_empty() || separator.chars().any(in_token_alphabet) {
            return Err(Error::Config(
                "a response layout separator must be non-empty and hold no letter, digit, '-' or '_'"
                    .into(),
            ));
        }
        self.layout = layout;
        self.separator = separator;
        Ok(self)
    }

    /// Sets the signature header's encoding.
    #[must_use]
    pub fn with_signature_encoding(mut self, encoding: SignatureEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets the algorithm keys are bound to when their source names none.
    #[must_use]
    pub fn with_default_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.default_algorithm = algorithm;
        self
    }

    /// The key id header's name.
    pub fn key_id_header(&self) -> &str {
        &self.key_id_header
    }

    /// The nonce token header's name.
    pub fn token_header(&self) -> &str {
        &self.token_header
    }

    /// The signature header's name.
    pub fn signature_header(&self) -> &str {
        &self.signature_header
    }

    /// The mode request header's name.
    pub fn mode_header(&self) -> &str {
        &self.mode_header
    }

    /// The trace header's name.
    pub fn trace_header(&self) -> &str {
        &self.trace_header
    }

    /// The signature encoding.
    pub fn signature_encoding(&self) -> SignatureEncoding {
        self.encoding
    }

    /// The default algorithm (PS384 for the vendor profile).
    pub fn default_algorithm(&self) -> Algorithm {
        self.default_algorithm
    }

    /// The bytes signed in header mode.
    ///
    /// # Errors
    ///
    /// [`Malformed::BadHeaderValue`] for a token that could make the layout
    /// ambiguous (empty, too long, not visible ASCII, or holding the separator).
    pub fn signing_input(&self, body: &[u8], status: u16, token: &str) -> Result<Vec<u8>, Error> {
        self.check_token(token)?;
        let status = status.to_string();
        let mut input = Vec::with_capacity(body.len() + token.len() + 8);
        for (i, part) in self.layout.iter().enumerate() {
            if i > 0 {
                input.extend_from_slice(self.separator.as_bytes());
            }
            input.extend_from_slice(match part {
                InputPart::Body => body,
                InputPart::Status => status.as_bytes(),
                InputPart::Token => token.as_bytes(),
            });
        }
        Ok(input)
    }

    /// Only the body may contain the separator: with a fixed-form status and
    /// a token that cannot, the signed bytes split back one way only, so a
    /// body cannot be moved into the token header or the other way round.
    fn check_token(&self, token: &str) -> Result<(), Error> {
        let visible = token.bytes().all(|b| b.is_ascii_graphic());
        if token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !visible
            || token.contains(self.separator.as_str())
        {
            return Err(Malformed::BadHeaderValue(Escaped::new(&self.token_header)).into());
        }
        Ok(())
    }

    pub(crate) fn encode_signature(&self, signature: &[u8]) -> String {
        match self.encoding {
            SignatureEncoding::Base64 => crate::base64url::encode_standard(signature),
            SignatureEncoding::Base64Url => crate::base64url::encode(signature),
        }
    }

    pub(crate) fn decode_signature(&self, text: &[u8]) -> Result<Vec<u8>, Error> {
        let decoded = match self.encoding {
            SignatureEncoding::Base64 => crate::base64url::decode_standard_padded(text),
            SignatureEncoding::Base64Url => crate::base64url::decode(text),
        };
        decoded
            .ok_or_else(|| Malformed::BadHeaderValue(Escaped::new(&self.signature_header)).into())
    }
}
