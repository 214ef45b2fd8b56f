//! Verifying: which signature, which key, and the policy it must meet.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sfv::{BareItem, ListEntry};

use super::base::{self, dictionary, raw_member};
use super::fapi::{self, Side};
use super::message::HttpMessage;
use super::secret::SharedSecret;
use super::{algorithm_name, digest, refused};
use crate::error::{Error, Escaped};
use crate::{Clock, KeySource, NonceCheck, NonceStatus, NonceStore, SystemClock, Verifier};

/// What a verified signature covered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Covered {
    /// The signature's label in `Signature-Input` and `Signature`.
    pub label: String,
    /// Its `keyid` parameter, if any.
    pub keyid: Option<String>,
    /// The RFC 9421 name of the algorithm the key is bound to (the JWS name
    /// where RFC 9421 has none, as PS256).
    pub algorithm: &'static str,
    /// Every covered component, as the signature base serializes it.
    pub components: Vec<String>,
    /// The signature base that was verified.
    pub signature_base: String,
}

/// What checks a signature: a public key's verifier, whose algorithm the
/// key is bound to, or a shared secret, which is only ever `hmac-sha256`.
#[derive(Clone, Copy)]
enum Checker<'a> {
    Key(&'a dyn Verifier),
    Secret(&'a SharedSecret),
}

impl Checker<'_> {
    fn name(self) -> &'static str {
        match self {
            Checker::Key(verifier) => algorithm_name(verifier.algorithm()),
            Checker::Secret(_) => "hmac-sha256",
        }
    }

    fn verify(self, base: &[u8], signature: &[u8]) -> Result<(), Error> {
        match self {
            Checker::Key(verifier) => verifier.verify(base, signature),
            Checker::Secret(secret) => secret.verify(base, signature),
        }
    }
}

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

/// The rules a signature must meet besides verifying.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    selector: Selector,
    required: Vec<String>,
    preset: Option<Side>,
    max_age: Option<Duration>,
    future_skew: Duration,
    clock: Arc<dyn Clock>,
    nonces: Option<Arc<dyn NonceStore>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            selector: Selector::Only,
            required: Vec::new(),
            preset: None,
            max_age: None,
            future_skew: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            nonces: None,
        }
    }
}

/// Verifies RFC 9421 signatures with keys from a [`KeySource`] (a
/// [`KeyRegistry`](crate::KeyRegistry): at most two active keys, each bound
/// to one algorithm), chosen by the signature's `keyid` (each key in turn
/// when it has none), and a policy: which signature (by `tag` or label),
/// required components, a `created` window, `expires`, a `nonce` checked
/// once through a replay store. A covered `content-digest` is always
/// recomputed over the body.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use std::sync::Arc;
/// use signed_payloads::httpsig::{HttpMessage, HttpSigSigner, HttpSigVerifier};
/// use signed_payloads::{Algorithm, KeyRegistry, KeySigner, PrivateKey, VerificationKey};
/// let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/ec-p256.pem"))?;
/// let keys = KeyRegistry::new(VerificationKey::new("k1", key.public_key().clone(), Algorithm::ES256)?);
/// let signer = HttpSigSigner::new(Arc::new(KeySigner::new(key, Algorithm::ES256)?.with_key_id("k1")))
///     .covering(r#""@method" "@target-uri" "content-digest""#)?
///     .with_tag("fapi-2-request");
/// let body = br#"{"amount":"10.00"}"#;
/// let request = signer.sign(HttpMessage::request("POST", "https://api.example/payments")?, None, Some(body))?;
/// let verifier = HttpSigVerifier::new(Arc::new(keys))
///     .with_tag("fapi-2-request")
///     .require(r#""@method" "@target-uri" "content-digest""#)?;
/// assert_eq!(verifier.verify(&request, None, Some(body))?.keyid.as_deref(), Some("k1"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct HttpSigVerifier<K: ?Sized> {
    keys: Arc<K>,
    policy: Policy,
}

impl<K: KeySource<Scope = ()> + ?Sized> HttpSigVerifier<K> {
    /// A verifier over `keys`, requiring nothing beyond a valid signature
    /// (`created`, when present, at most 60 s in the future).
    pub fn new(keys: Arc<K>) -> Self {
        HttpSigVerifier {
            keys,
            policy: Policy::default(),
        }
    }

    /// The FAPI 2.0 preset for requests: the signature tagged
    /// `fapi-2-request`, covering `@method`, `@target-uri`,
    /// `authorization`, `content-digest` when there is a body and `dpop`
    /// when that field is present, created at most 60 s ago.
    #[must_use]
    pub fn fapi_request(mut self) -> Self {
        self.policy.preset = Some(Side::Request);
        self.policy.selector = Selector::Tag(fapi::REQUEST_TAG.to_owned());
        self.policy.max_age = Some(Duration::from_secs(60));
        self
    }

    /// The FAPI 2.0 preset for responses: the signature tagged
    /// `fapi-2-response`, covering `@status`, `content-digest` when there
    /// is a body, and the request's `@method`, `@target-uri`, `signature`
    /// and `signature-input` (so `verify` needs the request), created at
    /// most 60 s ago.
    #[must_use]
    pub fn fapi_response(mut self) -> Self {
        self.policy.preset = Some(Side::Response);
        self.policy.selector = Selector::Tag(fapi::RESPONSE_TAG.to_owned());
        self.policy.max_age = Some(Duration::from_secs(60));
        self
    }

    /// Verifies the signature labelled `label`.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.policy.selector = Selector::Label(label.into());
        self
    }

    /// Verifies the one signature whose `tag` parameter is `tag`.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.policy.selector = Selector::Tag(tag.into());
        self
    }

    /// Requires these components, written as in `Signature-Input`
    /// (`"@method" "content-digest"`), to be covered.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a list that does not parse.
    pub fn require(mut self, components: &str) -> Result<Self, Error> {
        let list = base::parse_components(components)?;
        for item in &list.items {
            let name = item
                .bare_item
                .as_string()
                .ok_or_else(|| refused("a required component is not a string"))?;
            self.policy
                .required
                .push(base::identifier(name.as_str(), &item.params)?);
        }
        Ok(self)
    }

    /// Requires `created`, at most `max_age` old.
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.policy.max_age = Some(max_age);
        self
    }

    /// The clock `created` and `expires` are judged by.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.policy.clock = clock;
        self
    }

    /// Requires a `nonce`, accepted once: remembered in `store` for the
    /// max age (5 minutes when none is set).
    #[must_use]
    pub fn with_replay_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.policy.nonces = Some(store);
        self
    }

    /// Verifies `message` (its body, when it has one, in `body`; `request`
    /// for a response's `req` components).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`], [`Error::KeyExpired`], [`Error::BadSignature`],
    /// [`Error::Replayed`], and [`Error::Malformed`] naming any other rule
    /// the message breaks.
    pub fn verify(
        &self,
        message: &HttpMessage,
        request: Option<&HttpMessage>,
        body: Option<&[u8]>,
    ) -> Result<Covered, Error> {
        let policy = &self.policy;
        check(message, request, body, policy, |keyid, verify| {
            let keys = self.keys.key_set(&(), keyid)?;
            let now = policy.clock.now();
            let key = keys.select(keyid, false, now, |key| {
                verify(Checker::Key(key.verifier()))
            })?;
            Ok(algorithm_name(key.algorithm()))
        })
    }
}

/// Verifies the one signature of `message` (or the one labelled `label`)
/// with `verifier`, whose algorithm the key is bound to: an `alg`
/// parameter that names another is refused; a covered `content-digest` is
/// recomputed over `body`. No other policy; see
/// [`HttpSigVerifier`] for keys by `keyid`, tags, time windows and nonces.
///
/// # Errors
///
/// As for [`HttpSigVerifier::verify`].
pub fn verify(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    label: Option<&str>,
    verifier: &dyn Verifier,
) -> Result<Covered, Error> {
    let policy = Policy {
        selector: label.map_or(Selector::Only, |l| Selector::Label(l.to_owned())),
        ..Policy::default()
    };
    let checker = Checker::Key(verifier);
    check(message, request, body, &policy, |_, verify| {
        verify(checker)?;
        Ok(checker.name())
    })
}

/// As [`verify`], for an `hmac-sha256` signature under a shared secret
/// (RFC 9421 §3.3.3). The tag is compared in constant time.
///
/// # Errors
///
/// As for [`verify`].
pub fn verify_hmac(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    label: Option<&str>,
    secret: &SharedSecret,
) -> Result<Covered, Error> {
    let policy = Policy {
        selector: label.map_or(Selector::Only, |l| Selector::Label(l.to_owned())),
        ..Policy::default()
    };
    let checker = Checker::Secret(secret);
    check(message, request, body, &policy, |_, verify| {
        verify(checker)?;
        Ok(checker.name())
    })
}

/// The one verification path: pick the signature, build its base, let
/// `with_key` find the key (by `keyid`) and run `verify` with it, then the
/// policy's rules.
fn check(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
    policy: &Policy,
    with_key: impl FnOnce(
        Option<&str>,
        &dyn Fn(Checker<'_>) -> Result<(), Error>,
    ) -> Result<&'static str, Error>,
) -> Result<Covered, Error> {
    let inputs = message
        .single_field("signature-input")?
        .ok_or_else(|| refused("the message has no Signature-Input field"))?;
    let signatures = message
        .single_field("signature")?
        .ok_or_else(|| refused("the message has no Signature field"))?;
    let inputs_parsed = dictionary(&inputs, "Signature-Input")?;
    let signatures_parsed = dictionary(&signatures, "Signature")?;
    if raw_labels(&inputs).len() != inputs_parsed.len() {
        return Err(refused("Signature-Input repeats a label"));
    }
    let label = select(&inputs_parsed, &policy.selector)?;
    let Some(ListEntry::InnerList(input)) = inputs_parsed.get(label.as_str()) else {
        return Err(refused(format!(
            "Signature-Input has no inner list labelled {}",
            Escaped::new(&label)
        )));
    };
    let signature = match signatures_parsed.get(label.as_str()) {
        Some(ListEntry::Item(item)) => item
            .bare_item
            .as_byte_sequence()
            .ok_or_else(|| refused("the Signature member is not a byte sequence"))?
            .to_vec(),
        _ => {
            return Err(refused(format!(
                "Signature has no member labelled {}",
                Escaped::new(&label)
            )));
        }
    };
    let params = raw_member(&inputs, &label)
        .ok_or_else(|| refused("Signature-Input could not be read member by member"))?;
    let built = base::build(message, request, input, params)?;
    let string_param = |name: &str| -> Result<Option<String>, Error> {
        match input.params.get(name) {
            None => Ok(None),
            Some(BareItem::String(s)) => Ok(Some(s.as_str().to_owned())),
            Some(_) => Err(refused(format!("the {name} parameter is not a string"))),
        }
    };
    let keyid = string_param("keyid")?;
    let alg = string_param("alg")?;
    let algorithm = with_key(keyid.as_deref(), &|checker: Checker<'_>| {
        let name = checker.name();
        if let Some(alg) = &alg {
            if alg != name {
                return Err(refused(format!(
                    "the signature's alg {} is not the key's algorithm {name}",
                    Escaped::new(alg)
                )));
            }
        }
        checker.verify(built.text.as_bytes(), &signature)
    })?;
    rules(policy, input, &built.components, &label)?;
    if let Some(side) = policy.preset {
        if side == Side::Response && request.is_none() {
            return Err(refused(
                "a FAPI response is checked against its request, which was not given",
            ));
        }
        for required in fapi::components(side, message, request, body)? {
            if !built.components.contains(&required) {
                return Err(refused(format!(
                    "the FAPI signature does not cover {required}"
                )));
            }
        }
    }
    if built.components.iter().any(|c| c == "\"content-digest\"") {
        let body = body.ok_or_else(|| {
            refused("content-digest is covered but no body was given to check it against")
        })?;
        let field = message.single_field("content-digest")?.unwrap_or_default();
        digest::check(&field, body)?;
    }
    Ok(Covered {
        label,
        keyid,
        algorithm,
        components: built.components,
        signature_base: built.text,
    })
}

/// The label the selector picks.
fn select(inputs: &sfv::Dictionary, selector: &Selector) -> Result<String, Error> {
    let labels = || {
        inputs
            .keys()
            .map(|l| Escaped::new(l.as_str()).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match selector {
        Selector::Label(label) => Ok(label.clone()),
        Selector::Only => match inputs.keys().collect::<Vec<_>>()[..] {
            [only] => Ok(only.as_str().to_owned()),
            _ => Err(refused(format!(
                "the message carries {} signatures ({}); name the one to verify",
                inputs.len(),
                labels()
            ))),
        },
        Selector::Tag(tag) => {
            let tagged = base::tagged(inputs, tag);
            match tagged[..] {
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
            }
        }
    }
}

/// Every member name of a dictionary field as written, duplicates kept
/// (the parser keeps the last of a repeated name).
fn raw_labels(field: &str) -> Vec<&str> {
    base::members(field)
        .unwrap_or_default()
        .into_iter()
        .filter(|member| !member.is_empty())
        .map(|member| member.split(['=', ';']).next().unwrap_or(member).trim())
        .collect()
}

/// The policy's rules on the verified signature's parameters and coverage.
fn rules(
    policy: &Policy,
    input: &sfv::InnerList,
    covered: &[String],
    label: &str,
) -> Result<(), Error> {
    for required in &policy.required {
        if !covered.contains(required) {
            return Err(refused(format!(
                "signature {} does not cover the required {required}",
                Escaped::new(label)
            )));
        }
    }
    let now = policy.clock.now();
    let time_param = |name: &str| -> Result<Option<SystemTime>, Error> {
        match input.params.get(name) {
            None => Ok(None),
            Some(BareItem::Integer(seconds)) => u64::try_from(i64::from(*seconds))
                .ok()
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
                .map(Some)
                .ok_or_else(|| refused(format!("the {name} parameter is out of range"))),
            Some(_) => Err(refused(format!("the {name} parameter is not an integer"))),
        }
    };
    let created = time_param("created")?;
    if let Some(created) = created {
        if created > now + policy.future_skew {
            return Err(refused("the signature was created in the future"));
        }
    }
    if let Some(max_age) = policy.max_age {
        let created = created.ok_or_else(|| refused("the signature has no created parameter"))?;
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
    if let Some(store) = &policy.nonces {
        let nonce = match input.params.get("nonce") {
            Some(BareItem::String(nonce)) => nonce.as_str().to_owned(),
            _ => return Err(refused("the signature has no nonce")),
        };
        let window = policy.max_age.unwrap_or(Duration::from_secs(300));
        let key = format!("httpsig:{nonce}");
        let earliest = created.unwrap_or(UNIX_EPOCH);
        match store.check_and_remember(&NonceCheck::new(&key, window, now, earliest))? {
            NonceStatus::Fresh => {}
            NonceStatus::Replayed => return Err(Error::Replayed),
            NonceStatus::BeforeHistory => return Err(Error::BeforeReplayHistory),
        }
    }
    Ok(())
}
