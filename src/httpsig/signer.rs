//! Signing: the components a profile covers, the parameters it sets, one
//! signature added to the message.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use sfv::{KeyRef, StringRef};

use super::algorithm_name;
use super::base::{self, string};
use super::digest::{self, DigestAlgorithm};
use super::fapi::{self, Side};
use super::input::Inputs;
use super::message::HttpMessage;
use super::secret::SharedSecret;
use crate::backend::active as backend;
use crate::error::{Error, Escaped};
use crate::{AsyncSigner, Clock, Signer, SigningKeys, SigningSource, SystemClock, base64url};

/// Adds an RFC 9421 signature to requests or responses: the components it
/// covers (written as in `Signature-Input`), `created`, the signer's key
/// id as `keyid`, and optionally a `tag`, a fresh `nonce`, `expires`, the
/// algorithm's name as `alg`, and a `Content-Digest` of the body.
///
/// The algorithm is the signer's (bound to its key); see
/// [`HttpSigVerifier`](super::HttpSigVerifier) for an example.
#[derive(Debug, Clone)]
pub struct HttpSigSigner<S = Arc<dyn Signer>> {
    key: SigningKey<S>,
    label: String,
    /// The covered components' identifiers, as the base writes them.
    components: Vec<String>,
    preset: Option<Side>,
    tag: Option<String>,
    nonce: bool,
    alg: bool,
    expires_in: Option<u64>,
    digest: Option<DigestAlgorithm>,
    clock: Arc<dyn Clock>,
    scheme: String,
}

/// What makes the signature: the signers a [`SigningSource`] hands out
/// (each algorithm bound to its key), or a shared secret with the key id
/// it is known by.
#[derive(Debug, Clone)]
enum SigningKey<S> {
    Source(S),
    Secret(Arc<SharedSecret>, String),
}

/// What signs one message: the source's current signer, or the secret.
enum SignWith<'a, C: ?Sized> {
    Signer(Arc<C>),
    Secret(&'a SharedSecret),
}

/// A signature base built, waiting for its signature.
struct Unsigned {
    message: HttpMessage,
    /// The `Signature-Input` field: the label, then `@signature-params`.
    input: String,
    base: String,
}

impl HttpSigSigner {
    /// A signer labelling its signatures `sig1` and covering nothing yet.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self::with_key(SigningKey::Source(signer))
    }

    /// An `hmac-sha256` signer with a shared secret known as `keyid`.
    pub fn hmac(secret: Arc<SharedSecret>, keyid: impl Into<String>) -> Self {
        Self::with_key(SigningKey::Secret(secret, keyid.into()))
    }
}

impl HttpSigSigner<Arc<SigningKeys>> {
    /// Signs with whichever of `keys` is current at each message (a
    /// rotation: the new key's id goes out as `keyid`).
    pub fn rotating(keys: Arc<SigningKeys>) -> Self {
        Self::with_key(SigningKey::Source(keys))
    }
}

impl HttpSigSigner<Arc<dyn AsyncSigner>> {
    /// Signs with a key behind a call that waits (AWS KMS, a PKCS#11
    /// token): such a signer has only [`sign_async`](HttpSigSigner::sign_async).
    pub fn remote(signer: Arc<dyn AsyncSigner>) -> Self {
        Self::with_key(SigningKey::Source(signer))
    }
}

impl<S: SigningSource> HttpSigSigner<S> {
    fn with_key(key: SigningKey<S>) -> Self {
        HttpSigSigner {
            key,
            label: "sig1".to_owned(),
            components: Vec::new(),
            preset: None,
            tag: None,
            nonce: false,
            alg: false,
            expires_in: None,
            digest: None,
            clock: Arc::new(SystemClock),
            scheme: "https".to_owned(),
        }
    }

    /// The components to cover, as in `Signature-Input`
    /// (`"@method" "@target-uri" "content-digest"`). Covering
    /// `content-digest` adds a SHA-256 `Content-Digest` when the message
    /// has none (see [`HttpSigSigner::with_digest`]).
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] for a list that does not parse, a duplicate, or
    /// a parameter not supported.
    pub fn covering(mut self, components: &str) -> Result<Self, Error> {
        let identifiers = base::parse_components(components)?;
        if self.digest.is_none() && identifiers.iter().any(|c| c == "\"content-digest\"") {
            self.digest = Some(DigestAlgorithm::Sha256);
        }
        self.components = identifiers;
        Ok(self)
    }

    /// The FAPI 2.0 preset for requests: covers `@method`, `@target-uri`,
    /// `authorization`, `content-digest` (a SHA-256 one is added) when there
    /// is a body and `dpop` when that field is present, with `created` and
    /// `tag="fapi-2-request"`.
    #[must_use]
    pub fn fapi_request(mut self) -> Self {
        self.preset = Some(Side::Request);
        self.tag = Some(fapi::REQUEST_TAG.to_owned());
        self.digest.get_or_insert(DigestAlgorithm::Sha256);
        self
    }

    /// The FAPI 2.0 preset for responses: covers `@status`,
    /// `content-digest` when there is a body, and from the request its
    /// `@method`, `@target-uri`, and its FAPI signature's `signature` and
    /// `signature-input`, with `created` and `tag="fapi-2-response"`.
    #[must_use]
    pub fn fapi_response(mut self) -> Self {
        self.preset = Some(Side::Response);
        self.tag = Some(fapi::RESPONSE_TAG.to_owned());
        self.digest.get_or_insert(DigestAlgorithm::Sha256);
        self
    }

    /// The signature's label (`sig1` by default): a structured-field key
    /// (lowercase letters, digits, `_ - . *`, starting with a letter or
    /// `*`); signing with any other is an [`Error::Config`].
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the `tag` parameter, which verifiers select signatures by:
    /// printable ASCII; signing with any other is an [`Error::Config`].
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Adds a fresh random `nonce` (128 bits) to each signature.
    #[must_use]
    pub fn with_nonce(mut self) -> Self {
        self.nonce = true;
        self
    }

    /// Adds the algorithm's RFC 9421 name as `alg`.
    #[must_use]
    pub fn with_alg_parameter(mut self) -> Self {
        self.alg = true;
        self
    }

    /// Adds `expires`, this many seconds after `created`.
    #[must_use]
    pub fn with_expires_in(mut self, seconds: u64) -> Self {
        self.expires_in = Some(seconds);
        self
    }

    /// Adds a `Content-Digest` of the body with `algorithm` when the
    /// message has none.
    #[must_use]
    pub fn with_digest(mut self, algorithm: DigestAlgorithm) -> Self {
        self.digest = Some(algorithm);
        self
    }

    /// The clock `created` is read from.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The scheme an origin-form request target is completed with when
    /// this signer reads the request itself (the tower layer binding a
    /// response to its request): `https` by default.
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// See [`with_scheme`](Self::with_scheme).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// As [`sign`](HttpSigSigner::sign), waiting for the signer (a key
    /// in AWS KMS or on a PKCS#11 token); the future can be spawned.
    ///
    /// # Errors
    ///
    /// As for `sign`.
    #[allow(clippy::manual_async_fn)] // the `Send` bound is the point
    pub fn sign_async<'a>(
        &'a self,
        message: HttpMessage,
        request: Option<&'a HttpMessage>,
        body: Option<&'a [u8]>,
    ) -> impl Future<Output = Result<HttpMessage, Error>> + Send + 'a {
        async move {
            let (unsigned, with) = self.unsigned(message, request, body)?;
            let signature = match with {
                SignWith::Signer(signer) => signer.sign_async(unsigned.base.as_bytes()).await?,
                SignWith::Secret(secret) => secret.sign(unsigned.base.as_bytes()),
            };
            Ok(self.signed(unsigned, &signature))
        }
    }

    /// The message with its digest, the signature base over the
    /// components this signer covers, and what signs it: the signer current
    /// now (whose key id and algorithm the base names) or the secret.
    fn unsigned(
        &self,
        mut message: HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<(Unsigned, SignWith<'_, S::Current>), Error> {
        let (with, keyid, algorithm) = match &self.key {
            SigningKey::Source(source) => {
                let signer = source.current()?;
                let algorithm = algorithm_name(AsyncSigner::algorithm(&*signer));
                let keyid = AsyncSigner::key_id(&*signer).map(str::to_owned);
                (SignWith::Signer(signer), keyid, algorithm)
            }
            SigningKey::Secret(secret, keyid) => {
                (SignWith::Secret(secret), Some(keyid.clone()), "hmac-sha256")
            }
        };
        self.check_names(keyid.as_deref())?;
        // FAPI covers content-digest only when there is a body.
        let empty = body.is_some_and(<[u8]>::is_empty);
        if let Some(algorithm) = self.digest {
            if (!empty || self.preset.is_none())
                && message.field_lines("content-digest").next().is_none()
            {
                if let Some(digested) = digest::Body::of(body, &message) {
                    let field = digest::field_of(digested, algorithm)?;
                    message.add_header("Content-Digest", &field);
                }
            }
        }
        let preset;
        let components = match self.preset {
            Some(side) => {
                preset = fapi::components(side, &message, request, body)?;
                &preset
            }
            None => &self.components,
        };
        // The base is built from the field as it will be sent, read back
        // the way a verifier reads it.
        let label = &self.label;
        let input = format!(
            "{label}={}",
            self.params(components, keyid.as_deref(), algorithm)?
        );
        let inputs = Inputs::parse(&input, "Signature-Input")?;
        let base = base::build(
            &message,
            request,
            inputs.get(label)?,
            &input[label.len() + 1..],
        )?;
        let unsigned = Unsigned {
            message,
            base: base.text,
            input,
        };
        Ok((unsigned, with))
    }

    /// The message with `Signature-Input` and `Signature` added.
    fn signed(&self, unsigned: Unsigned, signature: &[u8]) -> HttpMessage {
        let Unsigned {
            mut message, input, ..
        } = unsigned;
        let label = &self.label;
        message.add_header("Signature-Input", &input);
        message.add_header(
            "Signature",
            &format!("{label}=:{}:", base64url::encode_standard(signature)),
        );
        message
    }

    /// The label must be a structured-field key, the tag and key id
    /// structured-field strings (printable ASCII): they are the caller's
    /// settings, so anything else is a configuration error.
    fn check_names(&self, keyid: Option<&str>) -> Result<(), Error> {
        KeyRef::from_str(&self.label).map_err(|e| {
            Error::Config(format!(
                "the signature label {} is not a structured-field key \
                 (lowercase letters, digits, _ - . *, starting with a letter or *): {e}",
                Escaped::new(&self.label)
            ))
        })?;
        for (what, value) in [("tag", self.tag.as_deref()), ("key id", keyid)] {
            if let Some(value) = value {
                StringRef::from_str(value).map_err(|e| {
                    Error::Config(format!(
                        "the {what} {} cannot be sent in Signature-Input (printable ASCII only): {e}",
                        Escaped::new(value)
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// `@signature-params`: the inner list of components, then the
    /// parameters.
    fn params(
        &self,
        components: &[String],
        keyid: Option<&str>,
        algorithm: &str,
    ) -> Result<String, Error> {
        let mut out = format!("({})", components.join(" "));
        let created = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let _ = write!(out, ";created={created}");
        if let Some(seconds) = self.expires_in {
            let _ = write!(out, ";expires={}", created.saturating_add(seconds));
        }
        if let Some(kid) = keyid {
            out.push_str(";keyid=");
            string(&mut out, kid);
        }
        if self.alg {
            out.push_str(";alg=");
            string(&mut out, algorithm);
        }
        if self.nonce {
            let mut random = [0u8; 16];
            backend::fill_random(&mut random)?;
            out.push_str(";nonce=");
            string(&mut out, &base64url::encode(&random));
        }
        if let Some(tag) = &self.tag {
            out.push_str(";tag=");
            string(&mut out, tag);
        }
        Ok(out)
    }
}

impl<S: SigningSource<Current = dyn Signer>> HttpSigSigner<S> {
    /// Signs `message` (its body in `body`; `request` for a response's
    /// `req` components) and returns it with `Signature-Input`,
    /// `Signature` and, when set, `Content-Digest` added.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] for a covered component the message lacks,
    /// [`Error::Config`] for a label, tag or key id that `Signature-Input`
    /// cannot carry, [`Error::NoSigningKey`], and the signer's errors.
    pub fn sign(
        &self,
        message: HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<HttpMessage, Error> {
        let (unsigned, with) = self.unsigned(message, request, body)?;
        let signature = match with {
            SignWith::Signer(signer) => signer.sign(unsigned.base.as_bytes())?,
            SignWith::Secret(secret) => secret.sign(unsigned.base.as_bytes()),
        };
        Ok(self.signed(unsigned, &signature))
    }
}
