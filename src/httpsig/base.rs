//! The signature base (RFC 9421 §2.5): each covered component's identifier
//! and value on a line, then `@signature-params`.

use std::fmt::Write as _;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sfv::{BareItem, Dictionary, FieldType, InnerList, Item, List, ListEntry, Parameters, Parser};

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

/// Builds the base of `list` (the covered components) over `message`, with
/// `params` as the `@signature-params` value, exactly as it will be (or was)
/// sent. `request` is what `req` components read.
pub(super) fn build(
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    list: &InnerList,
    params: &str,
) -> Result<Base, Error> {
    if list.items.len() > MAX_COMPONENTS {
        return Err(refused(format!(
            "more than {MAX_COMPONENTS} covered components"
        )));
    }
    let mut text = String::new();
    let mut components = Vec::with_capacity(list.items.len());
    for item in &list.items {
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
        if !value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
        {
            return Err(refused(format!(
                "the value of {identifier} is not one line of ASCII"
            )));
        }
        let _ = writeln!(text, "{identifier}: {value}");
        components.push(identifier);
    }
    text.push_str("\"@signature-params\": ");
    text.push_str(params);
    Ok(Base { text, components })
}

/// Parses a dictionary field (`Signature-Input`, `Signature`, `Content-Digest`).
pub(super) fn dictionary(value: &str, field: &str) -> Result<Dictionary, Error> {
    Parser::new(value)
        .parse_dictionary()
        .map_err(|e| refused(format!("{field} is not a structured dictionary: {e}")))
}

/// The covered components written as in `Signature-Input`
/// (`"@method" "content-digest";req`), as an inner list.
pub(super) fn parse_components(components: &str) -> Result<InnerList, Error> {
    let parsed = dictionary(&format!("c=({components})"), "the component list")?;
    match parsed.into_iter().next() {
        Some((_, ListEntry::InnerList(list))) => Ok(list),
        _ => Err(refused("the component list is not a list of strings")),
    }
}

/// A component identifier as the base serializes it: the name as a
/// structured string, then its parameters in the order given.
pub(super) fn identifier(name: &str, params: &Parameters) -> Result<String, Error> {
    let mut out = String::with_capacity(name.len() + 2);
    string(&mut out, name);
    for (key, value) in params {
        match (key.as_str(), value) {
            ("req" | "bs" | "sf", BareItem::Boolean(true)) => {
                out.push(';');
                out.push_str(key.as_str());
            }
            ("name" | "key", BareItem::String(value)) => {
                let _ = write!(out, ";{}=", key.as_str());
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
    if params.contains_key("bs") && (params.contains_key("sf") || params.contains_key("key")) {
        return Err(refused(format!(
            "{out}: bs cannot be combined with sf or key"
        )));
    }
    Ok(out)
}

/// Writes `value` as a structured-field string.
pub(super) fn string(out: &mut String, value: &str) {
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
        "@query-param" => query_param(uri()?, params)?,
        "@status" => format!("{:03}", message.status.ok_or_else(missing)?),
        derived if derived.starts_with('@') => {
            return Err(refused(format!(
                "unknown derived component {}",
                Escaped::new(derived)
            )));
        }
        field => field_value(message, field, params)?,
    })
}

/// `@query-param;name="..."`: the one parameter of that (encoded) name,
/// decoded as a form would be and re-encoded with `%20` for space.
fn query_param(uri: &url::Url, params: &Parameters) -> Result<String, Error> {
    let wanted = params
        .get("name")
        .and_then(BareItem::as_string)
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

/// A header field's value: its lines trimmed and joined with `", "`; each
/// line as a byte sequence with `bs`; re-serialized strictly with `sf`;
/// one dictionary member's value with `key`.
fn field_value(message: &HttpMessage, field: &str, params: &Parameters) -> Result<String, Error> {
    if field.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(refused(format!(
            "component {} is not lowercase",
            Escaped::new(field)
        )));
    }
    let lines: Vec<&str> = message
        .field_lines(field)
        .map(|line| line.trim_matches([' ', '\t']))
        .collect();
    if lines.is_empty() {
        return Err(refused(format!(
            "the message has no {}",
            Escaped::new(field)
        )));
    }
    if params.contains_key("bs") {
        return Ok(lines
            .iter()
            .map(|line| format!(":{}:", base64url::encode_standard(line.as_bytes())))
            .collect::<Vec<_>>()
            .join(", "));
    }
    let joined = lines.join(", ");
    if let Some(key) = params.get("key").and_then(BareItem::as_string) {
        let dictionary = dictionary(&joined, field)?;
        let member = dictionary.get(key.as_str()).ok_or_else(|| {
            refused(format!(
                "the {field} field has no member {}",
                Escaped::new(key.as_str())
            ))
        })?;
        return Ok(match member {
            ListEntry::Item(item) => item.serialize(),
            ListEntry::InnerList(list) => {
                let list: List = vec![ListEntry::InnerList(list.clone())];
                list.serialize().unwrap_or_default()
            }
        });
    }
    if params.contains_key("sf") {
        return strict(&joined, field);
    }
    Ok(joined)
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

/// The members of a dictionary field as written: split at the commas that
/// are outside strings and inner lists, each trimmed.
fn members(field: &str) -> Option<Vec<&str>> {
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
                members.push(field[start..i].trim_matches([' ', '\t']));
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(field[start..].trim_matches([' ', '\t']));
    Some(members)
}

/// The members of `Signature-Input` as written, refused before any parsing
/// when there are more than [`MAX_SIGNATURES`].
pub(super) fn signature_members(field: &str) -> Result<Vec<&str>, Error> {
    let members =
        members(field).ok_or_else(|| refused("Signature-Input has unbalanced parentheses"))?;
    if members.len() > MAX_SIGNATURES {
        return Err(refused(format!(
            "Signature-Input carries {} signatures, more than {MAX_SIGNATURES}",
            members.len()
        )));
    }
    Ok(members)
}

/// The text of the member `label` among `members`, after `label=`, exactly
/// as received: `@signature-params` is signed as the signer wrote it,
/// parameter order and unknown parameters kept. `distinct` is how many
/// members the parser found: fewer than are written means a label is
/// repeated (the parser keeps the last), which is refused.
pub(super) fn raw_member<'a>(
    members: &[&'a str],
    label: &str,
    distinct: usize,
) -> Result<&'a str, Error> {
    if members.len() != distinct {
        return Err(refused("Signature-Input repeats a label"));
    }
    members
        .iter()
        .find_map(|member| {
            let (name, value) = member.split_once('=')?;
            (name == label).then_some(value)
        })
        .ok_or_else(|| refused("Signature-Input could not be read member by member"))
}

/// The labels of the inner lists in `inputs` whose `tag` is `tag`.
pub(super) fn tagged<'a>(inputs: &'a Dictionary, tag: &str) -> Vec<&'a str> {
    inputs
        .iter()
        .filter(|(_, entry)| match entry {
            ListEntry::InnerList(list) => list
                .params
                .get("tag")
                .and_then(BareItem::as_string)
                .is_some_and(|t| t.as_str() == tag),
            ListEntry::Item(_) => false,
        })
        .map(|(label, _)| label.as_str())
        .collect()
}
