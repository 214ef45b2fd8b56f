//! What a signature must meet besides verifying: which one of a message's
//! signatures, the components it covers, its time window.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfv::BareItemFromInput;

use super::base;
use super::fapi::{self, Side};
use super::input::{Input, Inputs};
use super::message::HttpMessage;
use super::refused;
use crate::error::{Error, Escaped};
use crate::{Clock, SystemClock};

/// Which of a message's signatures to verify.
#[derive(Debug, Clone)]
enum Selector {
    /// The only one; several are ambiguous.
    Only,
    /// The one with this label.
    Label(String),
    /// The one whose `tag` parameter is this (labels are not signed, so a
    /// policy picks by tag).
    Tag(String),
}

/// The rules an RFC 9421 signature must meet besides verifying: which
/// signature (the only one, or by `tag` or label), the components it must
/// cover, how old `created` may be; `expires` is always enforced, and
/// `created` may lie at most 60 s in the future.
///
/// The same policy serves [`HttpSigVerifier`](super::HttpSigVerifier)
/// (keys by `keyid`, a replay store) and the one-key functions
/// [`verify`](super::verify) and [`verify_hmac`](super::verify_hmac).
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::time::Duration;
/// use signed_payloads::httpsig::HttpSigPolicy;
/// let policy = HttpSigPolicy::new()
///     .with_tag("fapi-2-request")
///     .require(r#""@method" "@target-uri" "content-digest""#)?
///     .with_max_age(Duration::from_secs(60));
/// # let _ = policy;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct HttpSigPolicy {
    selector: Selector,
    required: Vec<String>,
    required_parameters: Vec<String>,
    preset: Option<Side>,
    max_age: Option<Duration>,
    future_skew: Duration,
    pub(super) clock: Arc<dyn Clock>,
}

impl Default for HttpSigPolicy {
    fn default() -> Self {
        HttpSigPolicy {
            selector: Selector::Only,
            required: Vec::new(),
            required_parameters: Vec::new(),
            preset: None,
            max_age: None,
            future_skew: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
        }
    }
}

impl HttpSigPolicy {
    /// The message's only signature, covering whatever it covers, `created`
    /// (when present) at most 60 s in the future, `expires` not passed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The FAPI 2.0 preset for requests: the signature tagged
    /// `fapi-2-request`, covering `@method`, `@target-uri`,
    /// `authorization`, `content-digest` when there is a body and `dpop`
    /// when that field is present, created at most 60 s ago.
    #[must_use]
    pub fn fapi_request() -> Self {
        Self::fapi(Side::Request, fapi::REQUEST_TAG)
    }

    /// The FAPI 2.0 preset for responses: the signature tagged
    /// `fapi-2-response`, covering `@status`, `content-digest` when there
    /// is a body, and the request's `@method`, `@target-uri`, `signature`
    /// and `signature-input` (so verifying needs the request), created at
    /// most 60 s ago.
    #[must_use]
    pub fn fapi_response() -> Self {
        Self::fapi(Side::Response, fapi::RESPONSE_TAG)
    }

    fn fapi(side: Side, tag: &str) -> Self {
        HttpSigPolicy {
            preset: Some(side),
            selector: Selector::Tag(tag.to_owned()),
            max_age: Some(Duration::from_secs(60)),
            ..Self::default()
        }
    }

    /// Verifies the signature labelled `label`. Labels are not signed:
    /// prefer [`with_tag`](Self::with_tag) to choose what is trusted.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.selector = Selector::Label(label.into());
        self
    }

    /// Verifies the one signature whose `tag` parameter is `tag`.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.selector = Selector::Tag(tag.into());
        self
    }

    /// Requires these components, written as in `Signature-Input`
    /// (`"@method" "content-digest"`), to be covered.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] for a list that does not parse.
    pub fn require(mut self, components: &str) -> Result<Self, Error> {
        self.required.extend(base::parse_components(components)?);
        Ok(self)
    }

    /// Requires these signature parameters (`created`, `expires`, `keyid`,
    /// `nonce`, `tag`, `alg`, or any other) to be present.
    #[must_use]
    pub fn require_parameters<I, T>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.required_parameters
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Requires `created`, at most `max_age` old.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The clock `created` and `expires` are judged by.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a nonce is remembered: the max age, 5 minutes without one.
    pub(super) fn nonce_window(&self) -> Duration {
        self.max_age.unwrap_or(Duration::from_secs(300))
    }

    /// The label this policy picks among the message's signatures.
    pub(super) fn select(&self, inputs: &Inputs<'_>) -> Result<String, Error> {
        let labels = || {
            inputs
                .labels()
                .map(|l| Escaped::new(l).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.selector {
            Selector::Label(label) => Ok(label.clone()),
            Selector::Only => match inputs.labels().collect::<Vec<_>>()[..] {
                [only] => Ok(only.to_owned()),
                _ => Err(refused(format!(
                    "the message carries {} signatures ({}); name the one to verify",
                    inputs.len(),
                    labels()
                ))),
            },
            Selector::Tag(tag) => match inputs.tagged(tag)[..] {
                [one] => Ok(one.to_owned()),
                [] => Err(refused(format!(
                    "no signature has tag {} (labels: {})",
                    Escaped::new(tag),
                    labels()
                ))),
                _ => Err(refused(format!(
                    "more than one signature has tag {}",
                    Escaped::new(tag)
                ))),
            },
        }
    }

    /// The rules on the chosen signature's coverage and time parameters;
    /// returns `created`, if any.
    pub(super) fn check(
        &self,
        input: &Input<'_>,
        covered: &[String],
        label: &str,
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<Option<SystemTime>, Error> {
        for required in &self.required {
            if !covered.contains(required) {
                return Err(refused(format!(
                    "signature {} does not cover the required {required}",
                    Escaped::new(label)
                )));
            }
        }
        for name in &self.required_parameters {
            if !input.params.contains(name) {
                return Err(refused(format!(
                    "signature {} has no {} parameter",
                    Escaped::new(label),
                    Escaped::new(name)
                )));
            }
        }
        if let Some(side) = self.preset {
            if side == Side::Response && request.is_none() {
                return Err(refused(
                    "a FAPI response is checked against its request, which was not given",
                ));
            }
            for required in fapi::components(side, message, request, body)? {
                if !covered.contains(&required) {
                    return Err(refused(format!(
                        "the FAPI signature does not cover {required}"
                    )));
                }
            }
        }
        let now = self.clock.now();
        let time_param = |name: &str| -> Result<Option<SystemTime>, Error> {
            match input.params.get(name) {
                None => Ok(None),
                Some(BareItemFromInput::Integer(seconds)) => u64::try_from(i64::from(*seconds))
                    .ok()
                    .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
                    .map(Some)
                    .ok_or_else(|| refused(format!("the {name} parameter is out of range"))),
                Some(_) => Err(refused(format!("the {name} parameter is not an integer"))),
            }
        };
        let created = time_param("created")?;
        if let Some(created) = created {
            if created > now + self.future_skew {
                return Err(refused("the signature was created in the future"));
            }
        }
        if let Some(max_age) = self.max_age {
            let created =
                created.ok_or_else(|| refused("the signature has no created parameter"))?;
            if now.duration_since(created).is_ok_and(|age| age > max_age) {
                return Err(refused(format!(
                    "the signature is older than {} s",
                    max_age.as_secs()
                )));
            }
        }
        if let Some(expires) = time_param("expires")? {
            if now >= expires {
                return Err(refused("the signature has expired"));
            }
        }
        Ok(created)
    }
}
