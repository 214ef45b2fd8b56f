//! The parts of an HTTP message a signature can cover.

use std::borrow::Cow;

use crate::error::Error;

use super::digest::BodyDigest;
use super::{MAX_FIELD_BYTES, refused};

/// A request (method, absolute target URI) or a response (status), with
/// its field lines in order.
///
/// Build one by hand, or from `http` types with [`HttpMessage::from_request`]
/// and [`HttpMessage::from_response`] (feature `http`).
#[derive(Debug, Clone, Default)]
pub struct HttpMessage {
    pub(super) method: Option<String>,
    pub(super) target_uri: Option<url::Url>,
    pub(super) status: Option<u16>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body_digest: Option<BodyDigest>,
}

impl HttpMessage {
    /// A request: its method and absolute target URI
    /// (`https://example.com/foo?a=b`).
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] for a target that is not an absolute URI.
    pub fn request(method: &str, target_uri: &str) -> Result<Self, Error> {
        let target_uri = url::Url::parse(target_uri)
            .map_err(|e| refused(format!("the target URI is not absolute: {e}")))?;
        Ok(HttpMessage {
            method: Some(method.to_owned()),
            target_uri: Some(target_uri),
            ..HttpMessage::default()
        })
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
        self.add_header(name, value);
        self
    }

    /// Adds one field line, in order.
    pub fn add_header(&mut self, name: &str, value: &str) {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
    }

    /// A request from its `http` parts: the URI must be absolute, or
    /// origin-form with a `Host` field, which `scheme` completes.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] when no absolute target URI can be made, or a
    /// field value is not text.
    #[cfg(feature = "http")]
    pub fn from_request<B>(request: &http::Request<B>, scheme: &str) -> Result<Self, Error> {
        Self::from_request_head(request.method(), request.uri(), request.headers(), scheme)
    }

    /// As [`from_request`](Self::from_request), from a request's head.
    ///
    /// # Errors
    ///
    /// As for `from_request`.
    #[cfg(feature = "http")]
    pub fn from_request_parts(parts: &http::request::Parts, scheme: &str) -> Result<Self, Error> {
        Self::from_request_head(&parts.method, &parts.uri, &parts.headers, scheme)
    }

    #[cfg(feature = "http")]
    fn from_request_head(
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        scheme: &str,
    ) -> Result<Self, Error> {
        let target = if uri.scheme().is_some() {
            uri.to_string()
        } else {
            let host = headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok());
            origin_form(scheme, host, uri)?
        };
        let mut message = Self::request(method.as_str(), &target)?;
        message.add_headers(headers)?;
        Ok(message)
    }

    /// A response from its `http` parts.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] when a field value is not text.
    #[cfg(feature = "http")]
    pub fn from_response<B>(response: &http::Response<B>) -> Result<Self, Error> {
        Self::from_response_head(response.status(), response.headers())
    }

    /// A response from its status and fields.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] when a field value is not text.
    #[cfg(feature = "http")]
    pub fn from_response_head(
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) -> Result<Self, Error> {
        let mut message = Self::response(status.as_u16());
        message.add_headers(headers)?;
        Ok(message)
    }

    #[cfg(feature = "http")]
    fn add_headers(&mut self, headers: &http::HeaderMap) -> Result<(), Error> {
        for (name, value) in headers {
            let value = value
                .to_str()
                .map_err(|_| refused(format!("the {name} field is not ASCII text")))?;
            self.add_header(name.as_str(), value);
        }
        Ok(())
    }

    /// A message as HTTP/1.1 writes it (and `curl -i` prints it): a request
    /// line or a status line, field lines, a blank line, the body (CRLF or
    /// LF line ends). An origin-form request target (`/path?query`) is
    /// completed with `scheme` and the `Host` field. Returns the message and
    /// its body, every byte after the blank line.
    ///
    /// # Errors
    ///
    /// [`Error::HttpSignature`] for a head that does not parse, has more than
    /// 100 field lines, ends before its blank line, or whose request target
    /// is neither origin-form nor absolute.
    pub fn from_http1<'a>(raw: &'a [u8], scheme: &str) -> Result<(Self, &'a [u8]), Error> {
        const MAX_FIELDS: usize = 100;
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let bad = |e: httparse::Error| refused(format!("the HTTP message does not parse: {e}"));
        let incomplete = || refused("the HTTP message ends before the blank line after its fields");
        // httparse reads HTTP/1.x; a status line as curl prints it for
        // HTTP/2 and 3 carries the same status.
        let normalized = ["HTTP/2 ", "HTTP/3 "]
            .iter()
            .find_map(|version| raw.strip_prefix(version.as_bytes()))
            .map(|rest| [&b"HTTP/1.1 "[..], rest].concat());
        let (head, message) = if raw.starts_with(b"HTTP/") {
            let parsed = normalized.as_deref().unwrap_or(raw);
            let mut response = httparse::Response::new(&mut fields);
            let httparse::Status::Complete(end) = response.parse(parsed).map_err(bad)? else {
                return Err(incomplete());
            };
            let mut message = Self::response(response.code.unwrap_or_default());
            message.add_parsed(response.headers)?;
            // The head's end in `raw`, whatever its status line became.
            (end + raw.len() - parsed.len(), message)
        } else {
            let mut request = httparse::Request::new(&mut fields);
            let httparse::Status::Complete(end) = request.parse(raw).map_err(bad)? else {
                return Err(incomplete());
            };
            let (method, target) = (
                request.method.unwrap_or_default(),
                request.path.unwrap_or_default(),
            );
            let uri = if target.starts_with('/') {
                let host = request
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("host"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .map(str::trim);
                origin_form(scheme, host, target)?
            } else if target.contains("://") {
                target.to_owned()
            } else {
                return Err(refused(
                    "the request target is neither origin-form (/path) nor an absolute URI",
                ));
            };
            let mut message = Self::request(method, &uri)?;
            message.add_parsed(request.headers)?;
            (end, message)
        };
        Ok((message, &raw[head..]))
    }

    fn add_parsed(&mut self, fields: &[httparse::Header<'_>]) -> Result<(), Error> {
        for field in fields {
            let value = std::str::from_utf8(field.value)
                .map_err(|_| refused(format!("the {} field is not text", field.name)))?;
            self.add_header(field.name, value);
        }
        Ok(())
    }

    /// The digests of this message's body, computed as it streamed: what
    /// a covered `content-digest` is checked against (and what a signer
    /// writes one from) when no body is given.
    #[must_use]
    pub fn with_body_digest(mut self, digest: BodyDigest) -> Self {
        self.body_digest = Some(digest);
        self
    }

    /// Every field line, in order: the name lowercase, the value as given.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of field `name` (any case): its lines joined with `", "`,
    /// or none when the message has no such field.
    pub fn field(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        let lines: Vec<&str> = self.field_lines(&name).collect();
        (!lines.is_empty()).then(|| lines.join(", "))
    }

    /// Every line of field `name` (lowercase), in order.
    pub(super) fn field_lines<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whole value of a field the profile reads itself, within the
    /// limit: borrowed when the field has one line, as it usually has.
    pub(super) fn single_field(&self, name: &str) -> Result<Option<Cow<'_, str>>, Error> {
        let mut lines = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let Some(first) = lines.next() else {
            return Ok(None);
        };
        let value = match lines.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut joined = format!("{first}, {second}");
                for line in lines {
                    joined.push_str(", ");
                    joined.push_str(line);
                }
                Cow::Owned(joined)
            }
        };
        if value.len() > MAX_FIELD_BYTES {
            return Err(refused(format!(
                "the {name} field is over {MAX_FIELD_BYTES} bytes"
            )));
        }
        Ok(Some(value))
    }
}

/// The absolute target URI of an origin-form request (`/path?query`): the
/// scheme the caller says the connection had, then the `Host` field.
fn origin_form(
    scheme: &str,
    host: Option<&str>,
    target: impl std::fmt::Display,
) -> Result<String, Error> {
    let host = host.ok_or_else(|| refused("an origin-form request needs a Host field"))?;
    Ok(format!("{scheme}://{host}{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_responses_of_every_version_keep_their_body_exact() {
        for (raw, status) in [
            (
                &b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nbody"[..],
                201,
            ),
            (b"HTTP/2 404\r\ncontent-type: text/plain\r\n\r\nbody", 404),
            (b"HTTP/3 200\ncontent-type: text/plain\n\nbody", 200),
        ] {
            let (message, body) = HttpMessage::from_http1(raw, "https").unwrap();
            assert_eq!(message.status, Some(status));
            assert_eq!(body, b"body", "{}", String::from_utf8_lossy(raw));
            assert_eq!(message.field("content-type").as_deref(), Some("text/plain"));
        }
        let unfinished = HttpMessage::from_http1(b"HTTP/2 200\r\nA: b\r\n", "https");
        assert!(
            unfinished
                .unwrap_err()
                .to_string()
                .contains("ends before the blank line")
        );
    }

    #[test]
    fn an_origin_form_request_is_completed_from_its_host() {
        let raw = b"POST /pay?x=1 HTTP/1.1\r\nHost:  bank.example \r\n\r\n{}";
        let (message, body) = HttpMessage::from_http1(raw, "http").unwrap();
        assert_eq!(
            message.target_uri.as_ref().map(url::Url::as_str),
            Some("http://bank.example/pay?x=1")
        );
        assert_eq!(body, b"{}");
        let no_host = HttpMessage::from_http1(b"GET / HTTP/1.1\r\n\r\n", "https");
        assert!(
            no_host
                .unwrap_err()
                .to_string()
                .contains("needs a Host field")
        );
    }
}
