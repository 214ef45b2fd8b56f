//! HTTP Message Signatures (RFC 9421), first step (feature `httpsig`): the
//! signature base of a request or response rebuilt from the message, and
//! one signature verified under a key whose algorithm is bound to it, never
//! taken from the message.
//!
//! Covered here: the derived components `@method`, `@target-uri`,
//! `@authority`, `@scheme`, `@request-target`, `@path`, `@query`,
//! `@query-param` (§2.2.8's decoding and re-encoding) and `@status`; header
//! fields (lowercased, each line trimmed, lines joined with `", "`) with the
//! `bs` and `req` parameters; `@signature-params` exactly as received. The
//! `sf` and `key` parameters and `tr` are refused with an error that says
//! so; `hmac-sha256`, key lookup by `keyid`, `Content-Digest`, signing, the
//! FAPI preset, the glue and the CLI are the next steps.
//!
//! ```
//! # fn main() -> Result<(), signed_payloads::Error> {
//! use signed_payloads::httpsig::{self, HttpMessage};
//! use signed_payloads::{Algorithm, KeyVerifier, PublicKey};
//! let key = PublicKey::from_pem(include_str!("../tests/data/rfc9421/test-key-ed25519.pub.pem"))?;
//! let request = HttpMessage::request("POST", "https://example.com/foo?param=Value&Pet=dog")
//!     .with_header("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
//!     .with_header("Content-Type", "application/json")
//!     .with_header("Content-Length", "18")
//!     .with_header("Signature-Input", r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#)
//!     .with_header("Signature", "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:");
//! let verifier = KeyVerifier::new(key, Algorithm::EdDSA)?;
//! let covered = httpsig::verify(&request, None, Some("sig-b26"), &verifier)?;
//! assert_eq!(covered.keyid.as_deref(), Some("test-key-ed25519"));
//! # Ok(()) }
//! ```

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sfv::{BareItem, Dictionary, ListEntry, Parameters, Parser};

use crate::error::{Error, Escaped, Malformed};
use crate::{Algorithm, Verifier, base64url};

/// Header fields over this size, and more than this many components, are
/// refused before they are parsed.
const MAX_FIELD_BYTES: usize = 8 * 1024;
const MAX_COMPONENTS: usize = 64;

/// application/x-www-form-urlencoded's percent-encode set, with space as
/// `%20` (RFC 9421 §2.2.8).
const QUERY_PARAM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// The parts of an HTTP message a signature can cover.
#[derive(Debug, Clone, Default)]
pub struct HttpMessage {
    method: Option<String>,
    target_uri: Option<url::Url>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
}

impl HttpMessage {
    /// A request: its method and absolute target URI
    /// (`https://example.com/foo?a=b`).
    pub fn request(method: &str, target_uri: &str) -> Self {
        HttpMessage {
            method: Some(method.to_owned()),
            target_uri: url::Url::parse(target_uri).ok(),
            ..HttpMessage::default()
        }
    }

    /// A response with its status code.
    pub fn response(status: u16) -> Self {
        HttpMessage {
            status: Some(status),
            ..HttpMessage::default()
        }
    }

    /// Adds one field line, in order (the name in any case).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Every line of field `name` (lowercase), in order.
    fn field_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The one value of a field the profile reads whole, within the limit.
    fn single_field(&self, name: &str) -> Result<Option<String>, Error> {
        let value = self.field_lines(name).collect::<Vec<_>>().join(", ");
        if value.len() > MAX_FIELD_BYTES {
            return Err(refused(format!(
                "the {name} field is over {MAX_FIELD_BYTES} bytes"
            )));
        }
        Ok((self.field_lines(name).next().is_some()).then_some(value))
    }
}

/// What a verified signature covered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Covered {
    /// The signature's label in `Signature-Input` and `Signature`.
    pub label: String,
    /// Its `keyid` parameter, if any.
    pub keyid: Option<String>,
    /// The RFC 9421 name of the algorithm the key is bound to, or the JWS
    /// name where RFC 9421 has none (PS256).
    pub algorithm: &'static str,
    /// Every covered component, as serialized in the signature base.
    pub components: Vec<String>,
    /// The signature base that was verified.
    pub signature_base: String,
}

/// The RFC 9421 name of an algorithm (§3.3), or its JWS name where RFC
/// 9421 has none (§3.3.7): PS256, RS384 and the others.
pub fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::PS512 => "rsa-pss-sha512",
        Algorithm::RS256 => "rsa-v1_5-sha256",
        Algorithm::ES256 => "ecdsa-p256-sha256",
        Algorithm::ES384 => "ecdsa-p384-sha384",
        Algorithm::EdDSA | Algorithm::Ed25519 => "ed25519",
        other => other.as_str(),
    }
}

/// Verifies the signature labelled `label` (or the only one) of `message`
/// with `verifier`, whose algorithm the key is bound to: an `alg` parameter
/// that names another is refused. `request` is the request a response's
/// `req` components refer to.
///
/// # Errors
///
/// [`Error::Malformed`] for fields that do not parse or are over 8 KiB, a
/// missing label, several signatures and no label, an `alg` parameter that
/// is not the key's algorithm, a covered component the message lacks, a
/// duplicate component, values that are not one line of ASCII, or a
/// parameter not supported yet; [`Error::BadSignature`] when the signature
/// does not verify.
pub fn verify(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    label: Option<&str>,
    verifier: &dyn Verifier,
) -> Result<Covered, Error> {
    let inputs = message
        .single_field("signature-input")?
        .ok_or_else(|| refused("the message has no Signature-Input field"))?;
    let signatures = message
        .single_field("signature")?
        .ok_or_else(|| refused("the message has no Signature field"))?;
    let inputs_parsed = dictionary(&inputs, "Signature-Input")?;
    let signatures_parsed = dictionary(&signatures, "Signature")?;
    let label = match label {
        Some(label) => label.to_owned(),
        None => match inputs_parsed.keys().collect::<Vec<_>>()[..] {
            [only] => only.as_str().to_owned(),
            ref labels => {
                return Err(refused(format!(
                    "the message carries {} signatures ({}); name the one to verify",
                    labels.len(),
                    labels
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        },
    };
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
    let algorithm = algorithm_name(verifier.algorithm());
    if let Some(alg) = input.params.get("alg") {
        let named = alg.as_string().map(|s| s.as_str()).unwrap_or_default();
        if named != algorithm {
            return Err(refused(format!(
                "the signature's alg {} is not the key's algorithm {algorithm}",
                Escaped::new(named)
            )));
        }
    }
    let params = raw_member(&inputs, &label)
        .ok_or_else(|| refused("Signature-Input could not be read member by member"))?;
    if input.items.len() > MAX_COMPONENTS {
        return Err(refused(format!(
            "more than {MAX_COMPONENTS} covered components"
        )));
    }
    let mut base = String::new();
    let mut components = Vec::with_capacity(input.items.len());
    for item in &input.items {
        let name = item
            .bare_item
            .as_string()
            .ok_or_else(|| refused("a covered component is not a string"))?
            .as_str();
        let identifier = identifier(name, &item.params)?;
        if components.contains(&identifier) {
            return Err(refused(format!("component {identifier} is covered twice")));
        }
        let from = if item.params.contains_key("req") {
            request.ok_or_else(|| {
                refused(format!(
                    "{identifier} refers to a request that was not given"
                ))
            })?
        } else {
            message
        };
        let value = component_value(from, name, &item.params)?;
        if !value.is_ascii() || value.contains('\n') {
            return Err(refused(format!(
                "the value of {identifier} is not one line of ASCII"
            )));
        }
        let _ = writeln!(base, "{identifier}: {value}");
        components.push(identifier);
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params);
    verifier.verify(base.as_bytes(), &signature)?;
    Ok(Covered {
        keyid: input
            .params
            .get("keyid")
            .and_then(BareItem::as_string)
            .map(|s| s.as_str().to_owned()),
        label,
        algorithm,
        components,
        signature_base: base,
    })
}

fn refused(message: impl Into<String>) -> Error {
    Malformed::Header(message.into()).into()
}

fn dictionary(value: &str, field: &str) -> Result<Dictionary, Error> {
    Parser::new(value)
        .parse_dictionary()
        .map_err(|e| refused(format!("{field} is not a structured dictionary: {e}")))
}

/// A component identifier as the base serializes it: the name as a
/// structured string, then its parameters in the order received.
fn identifier(name: &str, params: &Parameters) -> Result<String, Error> {
    let mut out = String::with_capacity(name.len() + 2);
    string(&mut out, name);
    for (key, value) in params {
        match (key.as_str(), value) {
            ("req" | "bs", BareItem::Boolean(true)) => {
                out.push(';');
                out.push_str(key.as_str());
            }
            ("name", BareItem::String(value)) => {
                out.push_str(";name=");
                string(&mut out, value.as_str());
            }
            ("sf" | "key" | "tr", _) => {
                return Err(refused(format!(
                    "the {} component parameter is not supported yet",
                    key.as_str()
                )));
            }
            (other, _) => {
                return Err(refused(format!(
                    "unknown component parameter {}",
                    Escaped::new(other)
                )));
            }
        }
    }
    Ok(out)
}

/// Writes `value` as a structured-field string.
fn string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The value of one component in `message`.
fn component_value(
    message: &HttpMessage,
    name: &str,
    params: &Parameters,
) -> Result<String, Error> {
    let missing = || refused(format!("the message has no {}", Escaped::new(name)));
    let uri = || message.target_uri.as_ref().ok_or_else(missing);
    Ok(match name {
        "@method" => message.method.clone().ok_or_else(missing)?,
        "@target-uri" => uri()?.as_str().to_owned(),
        "@authority" => {
            let uri = uri()?;
            let host = uri.host_str().ok_or_else(missing)?.to_ascii_lowercase();
            match uri.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        }
        "@scheme" => uri()?.scheme().to_ascii_lowercase(),
        "@request-target" => {
            let uri = uri()?;
            match uri.query() {
                Some(query) => format!("{}?{query}", uri.path()),
                None => uri.path().to_owned(),
            }
        }
        "@path" => match uri()?.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        },
        "@query" => format!("?{}", uri()?.query().unwrap_or("")),
        "@query-param" => {
            let wanted = params
                .get("name")
                .and_then(BareItem::as_string)
                .ok_or_else(|| refused("@query-param needs a name parameter"))?
                .as_str();
            let query = uri()?.query().unwrap_or("").as_bytes();
            let values: Vec<String> = url::form_urlencoded::parse(query)
                .filter(|(name, _)| utf8_percent_encode(name, QUERY_PARAM).to_string() == wanted)
                .map(|(_, value)| utf8_percent_encode(&value, QUERY_PARAM).to_string())
                .collect();
            match &values[..] {
                [one] => one.clone(),
                [] => return Err(missing()),
                _ => {
                    return Err(refused(format!(
                        "query parameter {} appears more than once",
                        Escaped::new(wanted)
                    )));
                }
            }
        }
        "@status" => format!("{:03}", message.status.ok_or_else(missing)?),
        derived if derived.starts_with('@') => {
            return Err(refused(format!(
                "unknown derived component {}",
                Escaped::new(derived)
            )));
        }
        field => {
            if field.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(refused(format!(
                    "component {} is not lowercase",
                    Escaped::new(field)
                )));
            }
            let lines: Vec<&str> = message.field_lines(field).collect();
            if lines.is_empty() {
                return Err(missing());
            }
            let as_bytes = params.contains_key("bs");
            lines
                .iter()
                .map(|line| {
                    let line = line.trim_matches([' ', '\t']);
                    if as_bytes {
                        format!(":{}:", base64url::encode_standard(line.as_bytes()))
                    } else {
                        line.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    })
}

/// The text of the dictionary member `label` in `field`, after `label=`,
/// exactly as received: `@signature-params` is signed as the signer wrote
/// it, parameter order and unknown parameters kept.
fn raw_member<'a>(field: &'a str, label: &str) -> Option<&'a str> {
    let (mut start, mut depth, mut quoted, mut escaped) = (0, 0u32, false, false);
    let mut members = Vec::new();
    for (i, c) in field.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.checked_sub(1)?,
            ',' if !quoted && depth == 0 => {
                members.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(&field[start..]);
    members.into_iter().find_map(|member| {
        let member = member.trim_matches([' ', '\t']);
        let (name, value) = member.split_once('=')?;
        (name == label).then_some(value)
    })
}
