//! The signature base (RFC 9421 §2.5): each covered component's identifier
//! and value on a line, then `@signature-params`.

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::convert::Infallible;

use sfv::{
    BareItemFromInput, Dictionary, FieldType, Item, KeyRef, List, ListEntry, Parser, visitor,
};

use super::input::{Input, Inputs, Params};
use super::message::HttpMessage;
use super::{MAX_COMPONENTS, MAX_SIGNATURES, refused};
use crate::base64url;
use crate::error::{Error, Escaped};

/// application/x-www-form-urlencoded's percent-encode set, with space as
/// `%20` (RFC 9421 §2.2.8).
const QUERY_PARAM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'*')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_');

/// A built signature base and the identifiers it covers.
pub(super) struct Base {
    pub(super) text: String,
    pub(super) components: Vec<String>,
}

/// Builds the base of `input` (the covered components) over `message`,
/// with `params` as the `@signature-params` value, exactly as it will be
/// (or was) sent. `request` is what `req` components read.
pub(super) fn build(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    input: &Input<'_>,
    params: &str,
) -> Result<Base, Error> {
    if input.components.len() > MAX_COMPONENTS {
        return Err(refused(format!(
            "more than {MAX_COMPONENTS} covered components"
        )));
    }
    let mut text = String::with_capacity(64 * input.components.len() + params.len() + 24);
    let mut components = Vec::with_capacity(input.components.len());
    for component in &input.components {
        let name = component
            .name
            .as_string()
            .ok_or_else(|| refused("a covered component is not a string"))?
            .as_str();
        let identifier = identifier(name, &component.params)?;
        if components.contains(&identifier) {
            return Err(refused(format!("component {identifier} is covered twice")));
        }
        let from = if component.params.contains("req") {
            request.ok_or_else(|| {
                refused(format!(
                    "{identifier} refers to a request that was not given"
                ))
            })?
        } else {
            message
        };
        text.push_str(&identifier);
        text.push_str(": ");
        let start = text.len();
        write_value(&mut text, from, name, &component.params)?;
        if !text.as_bytes()[start..]
            .iter()
            .all(|b| (0x20..0x7f).contains(b) || *b == b'\t')
        {
            return Err(refused(format!(
                "the value of {identifier} is not one line of ASCII"
            )));
        }
        text.push('\n');
        components.push(identifier);
    }
    text.push_str("\"@signature-params\": ");
    text.push_str(params);
    Ok(Base { text, components })
}

/// Parses a dictionary field whole (one a `key` component reads a member of).
pub(super) fn dictionary(value: &str, field: &str) -> Result<Dictionary, Error> {
    Parser::new(value)
        .parse_dictionary()
        .map_err(|e| refused(format!("{field} is not a structured dictionary: {e}")))
}

/// A dictionary member as [`byte_members`] keeps it.
#[derive(Debug)]
pub(super) enum Member {
    /// A byte sequence, decoded.
    Bytes(Vec<u8>),
    /// Anything else (or a member not asked for).
    Other,
}

/// The members of a dictionary field (`Signature`, `Content-Digest`), in
/// order, a repeated name keeping its last value; the byte sequences of
/// those `wanted` picks are decoded. The field is parsed as strictly as
/// [`dictionary`] parses it, without building the dictionary.
pub(super) fn byte_members<'a>(
    value: &'a str,
    field: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<(&'a str, Member)>, Error> {
    Parser::new(value)
        .parse_dictionary_with_visitor(Members {
            wanted,
            out: Vec::new(),
        })
        .map_err(|e| refused(format!("{field} is not a structured dictionary: {e}")))
}

struct Members<'de, F> {
    wanted: F,
    out: Vec<(&'de str, Member)>,
}

impl<'de, F: Fn(&str) -> bool> visitor::DictionaryVisitor<'de> for Members<'de, F> {
    type Out = Vec<(&'de str, Member)>;
    type Error = Infallible;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl visitor::EntryVisitor<'de>, Infallible> {
        let name = key.as_str();
        self.out.retain(|(k, _)| *k != name);
        self.out.push((name, Member::Other));
        let wanted = (self.wanted)(name);
        Ok(MemberSlot(
            self.out
                .last_mut()
                .map(|(_, member)| member)
                .filter(|_| wanted),
        ))
    }

    fn finish(self) -> Result<Self::Out, Infallible> {
        Ok(self.out)
    }
}

/// Where a wanted member's byte sequence goes.
struct MemberSlot<'m>(Option<&'m mut Member>);

impl<'de> visitor::EntryVisitor<'de> for MemberSlot<'_> {
    type Error = Infallible;

    fn item(self) -> Result<impl visitor::ItemVisitor<'de>, Infallible> {
        Ok(self)
    }

    fn inner_list(self) -> Result<impl visitor::InnerListVisitor<'de>, Infallible> {
        Ok(visitor::Ignored)
    }
}

impl<'de> visitor::ItemVisitor<'de> for MemberSlot<'_> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl visitor::ParameterVisitor<'de, Out = ()>, Infallible> {
        if let (Some(slot), BareItemFromInput::ByteSequence(bytes)) = (self.0, bare_item) {
            *slot = Member::Bytes(bytes);
        }
        Ok(visitor::Ignored)
    }
}

/// The covered components written as in `Signature-Input`
/// (`"@method" "content-digest";req`), as the identifiers the base
/// serializes; a component listed twice is refused.
pub(super) fn parse_components(components: &str) -> Result<Vec<String>, Error> {
    let text = format!("c=({components})");
    let input = Inputs::parse(&text, "the component list")?
        .into_only()
        .ok_or_else(|| refused("the component list is not a list of strings"))?;
    let mut identifiers = Vec::with_capacity(input.components.len());
    for component in &input.components {
        let name = component
            .name
            .as_string()
            .ok_or_else(|| refused("a component is not a string"))?;
        let identifier = identifier(name.as_str(), &component.params)?;
        if identifiers.contains(&identifier) {
            return Err(refused(format!("component {identifier} is listed twice")));
        }
        identifiers.push(identifier);
    }
    Ok(identifiers)
}

/// A component identifier as the base serializes it: the name as a
/// structured string, then its parameters in the order given.
pub(super) fn identifier(name: &str, params: &Params<'_>) -> Result<String, Error> {
    let mut out = String::with_capacity(name.len() + 2);
    string(&mut out, name);
    for (key, value) in params.iter() {
        match (*key, value) {
            ("req" | "bs" | "sf", BareItemFromInput::Boolean(true)) => {
                out.push(';');
                out.push_str(key);
            }
            ("name" | "key", BareItemFromInput::String(value)) => {
                let _ = write!(out, ";{key}=");
                string(&mut out, value.as_str());
            }
            ("tr", _) => {
                return Err(refused(
                    "trailer fields (the tr parameter) are not supported",
                ));
            }
            (other, _) => {
                return Err(refused(format!(
                    "unknown or malformed component parameter {}",
                    Escaped::new(other)
                )));
            }
        }
    }
    if params.contains("bs") && (params.contains("sf") || params.contains("key")) {
        return Err(refused(format!(
            "{out}: bs cannot be combined with sf or key"
        )));
    }
    Ok(out)
}

/// Writes `value` as a structured-field string.
pub(super) fn string(out: &mut String, value: &str) {
    out.push('"');
    if value.bytes().any(|b| b == b'"' || b == b'\\') {
        for c in value.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    } else {
        out.push_str(value);
    }
    out.push('"');
}

/// Writes the value of one component in `message` to `out`.
fn write_value(
    out: &mut String,
    message: &HttpMessage,
    name: &str,
    params: &Params<'_>,
) -> Result<(), Error> {
    let missing = || refused(format!("the message has no {}", Escaped::new(name)));
    let uri = || message.target_uri.as_ref().ok_or_else(missing);
    match name {
        "@method" => out.push_str(message.method.as_deref().ok_or_else(missing)?),
        "@target-uri" => out.push_str(uri()?.as_str()),
        "@authority" => {
            let uri = uri()?;
            let host = uri.host_str().ok_or_else(missing)?;
            let start = out.len();
            out.push_str(host);
            out[start..].make_ascii_lowercase();
            if let Some(port) = uri.port() {
                let _ = write!(out, ":{port}");
            }
        }
        "@scheme" => {
            let start = out.len();
            out.push_str(uri()?.scheme());
            out[start..].make_ascii_lowercase();
        }
        "@request-target" => {
            let uri = uri()?;
            out.push_str(uri.path());
            if let Some(query) = uri.query() {
                out.push('?');
                out.push_str(query);
            }
        }
        "@path" => match uri()?.path() {
            "" => out.push('/'),
            path => out.push_str(path),
        },
        "@query" => {
            out.push('?');
            out.push_str(uri()?.query().unwrap_or(""));
        }
        "@query-param" => out.push_str(&query_param(uri()?, params)?),
        "@status" => {
            let _ = write!(out, "{:03}", message.status.ok_or_else(missing)?);
        }
        derived if derived.starts_with('@') => {
            return Err(refused(format!(
                "unknown derived component {}",
                Escaped::new(derived)
            )));
        }
        field => write_field(out, message, field, params)?,
    }
    Ok(())
}

/// `@query-param;name="..."`: the one parameter of that (encoded) name,
/// decoded as a form would be and re-encoded with `%20` for space.
fn query_param(uri: &url::Url, params: &Params<'_>) -> Result<String, Error> {
    let wanted = params
        .get("name")
        .and_then(|name| name.as_string())
        .ok_or_else(|| refused("@query-param needs a name parameter"))?
        .as_str();
    let query = uri.query().unwrap_or("").as_bytes();
    let values: Vec<String> = url::form_urlencoded::parse(query)
        .filter(|(name, _)| utf8_percent_encode(name, QUERY_PARAM).to_string() == wanted)
        .map(|(_, value)| utf8_percent_encode(&value, QUERY_PARAM).to_string())
        .collect();
    match &values[..] {
        [one] => Ok(one.clone()),
        [] => Err(refused(format!(
            "the message has no query parameter {}",
            Escaped::new(wanted)
        ))),
        _ => Err(refused(format!(
            "query parameter {} appears more than once",
            Escaped::new(wanted)
        ))),
    }
}

/// Writes a header field's value: its lines trimmed and joined with
/// `", "`; each line as a byte sequence with `bs`; re-serialized strictly
/// with `sf`; one dictionary member's value with `key`.
fn write_field(
    out: &mut String,
    message: &HttpMessage,
    field: &str,
    params: &Params<'_>,
) -> Result<(), Error> {
    if field.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refused(format!(
            "component {} is not lowercase",
            Escaped::new(field)
        )));
    }
    let mut lines = message
        .field_lines(field)
        .map(|line| line.trim_matches([' ', '\t']))
        .peekable();
    if lines.peek().is_none() {
        return Err(refused(format!(
            "the message has no {}",
            Escaped::new(field)
        )));
    }
    if params.is_empty() {
        // The common case: the lines as they are, written in place.
        for (i, line) in lines.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(line);
        }
        return Ok(());
    }
    if params.contains("bs") {
        for (i, line) in lines.enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push(':');
            out.push_str(&base64url::encode_standard(line.as_bytes()));
            out.push(':');
        }
        return Ok(());
    }
    let joined = lines.collect::<Vec<_>>().join(", ");
    if let Some(key) = params.get("key").and_then(|key| key.as_string()) {
        let dictionary = dictionary(&joined, field)?;
        let member = dictionary.get(key.as_str()).ok_or_else(|| {
            refused(format!(
                "the {field} field has no member {}",
                Escaped::new(key.as_str())
            ))
        })?;
        out.push_str(&match member {
            ListEntry::Item(item) => item.serialize(),
            ListEntry::InnerList(list) => {
                let list: List = vec![ListEntry::InnerList(list.clone())];
                list.serialize().unwrap_or_default()
            }
        });
        return Ok(());
    }
    if params.contains("sf") {
        out.push_str(&strict(&joined, field)?);
        return Ok(());
    }
    out.push_str(&joined);
    Ok(())
}

/// A structured field serialized canonically: as a dictionary, else a
/// list, else an item (the first type it parses as).
fn strict(value: &str, field: &str) -> Result<String, Error> {
    if let Ok(dictionary) = Parser::new(value).parse_dictionary::<Dictionary>() {
        return Ok(dictionary.serialize().unwrap_or_default());
    }
    if let Ok(list) = Parser::new(value).parse_list::<List>() {
        return Ok(list.serialize().unwrap_or_default());
    }
    Parser::new(value)
        .parse_item::<Item>()
        .map(|item| item.serialize())
        .map_err(|e| refused(format!("the {field} field is not a structured field: {e}")))
}

/// The members of `Signature-Input` as written: split at the commas that
/// are outside strings and inner lists, each trimmed. Refused before any
/// parsing when there are more than [`MAX_SIGNATURES`] members or a member
/// lists more than [`MAX_COMPONENTS`] components.
pub(super) fn signature_members(field: &str) -> Result<Vec<&str>, Error> {
    let (mut start, mut depth, mut quoted, mut escaped) = (0, 0u32, false, false);
    let mut components = 0;
    let mut members = Vec::new();
    let unbalanced = || refused("Signature-Input has unbalanced parentheses");
    // Bytes, not chars: every delimiter is ASCII, and a UTF-8 continuation
    // byte never equals one.
    for (i, b) in field.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => {
                // A string opening inside an inner list is a component.
                if !quoted && depth == 1 {
                    components += 1;
                    if components > MAX_COMPONENTS {
                        return Err(refused(format!(
                            "a signature in Signature-Input covers more than {MAX_COMPONENTS} components"
                        )));
                    }
                }
                quoted = !quoted;
            }
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
            b',' if !quoted && depth == 0 => {
                members.push(field[start..i].trim_matches([' ', '\t']));
                start = i + 1;
                components = 0;
                if members.len() >= MAX_SIGNATURES {
                    return Err(refused(format!(
                        "Signature-Input carries more than {MAX_SIGNATURES} signatures"
                    )));
                }
            }
            _ => {}
        }
    }
    members.push(field[start..].trim_matches([' ', '\t']));
    Ok(members)
}

/// The text of the member `label` among `members`, after `label=`, exactly
/// as received: `@signature-params` is signed as the signer wrote it,
/// parameter order and unknown parameters kept.
pub(super) fn raw_member<'a>(members: &[&'a str], label: &str) -> Result<&'a str, Error> {
    members
        .iter()
        .find_map(|member| {
            let (name, value) = member.split_once('=')?;
            (name == label).then_some(value)
        })
        .ok_or_else(|| refused("Signature-Input could not be read member by member"))
}
