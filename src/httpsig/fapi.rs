//! The FAPI 2.0 Http Signatures preset (draft §5.3): which components a
//! request and its response cover, worked out per message, for the signer
//! to cover and the verifier to require.

use super::input::Inputs;
use super::message::HttpMessage;
use crate::error::Error;

/// The tag of a FAPI request signature.
pub const REQUEST_TAG: &str = "fapi-2-request";
/// The tag of a FAPI response signature.
pub const RESPONSE_TAG: &str = "fapi-2-response";

/// Which side of the exchange a preset signs or checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Request,
    Response,
}

/// The components, written as in `Signature-Input`, that a FAPI signature
/// of `message` covers: a request's `@method`, `@target-uri`,
/// `authorization`, `content-digest` when there is a body and `dpop` when
/// that field is present; a response's `@status`, `content-digest` when
/// there is a body, and the request's `@method`, `@target-uri` and, when
/// it carries one, its FAPI signature's `signature` and `signature-input`
/// (with `req`).
pub(super) fn components(
    side: Side,
    message: &HttpMessage,
    request: Option<&HttpMessage>,
    body: Option<&[u8]>,
) -> Result<Vec<String>, Error> {
    // A body given, or one whose digests were computed as it streamed.
    let with_body = match body {
        Some(body) => !body.is_empty(),
        None => message.body_digest.is_some(),
    };
    let mut out = Vec::new();
    match side {
        Side::Request => {
            out.extend(["\"@method\"", "\"@target-uri\"", "\"authorization\""].map(str::to_owned));
            if with_body {
                out.push("\"content-digest\"".to_owned());
            }
            if message.field("dpop").is_some() {
                out.push("\"dpop\"".to_owned());
            }
        }
        Side::Response => {
            out.push("\"@status\"".to_owned());
            if with_body {
                out.push("\"content-digest\"".to_owned());
            }
            if let Some(request) = request {
                out.extend(["\"@method\";req", "\"@target-uri\";req"].map(str::to_owned));
                // A request without a FAPI signature (one the server
                // refused, say) has none to bind to: its 401 is still signed.
                if let Some(label) = request_label(request)? {
                    for field in ["signature", "signature-input"] {
                        out.push(format!("\"{field}\";req;key=\"{label}\""));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The label of the request's FAPI signature (tagged `fapi-2-request`),
/// if it has one.
fn request_label(request: &HttpMessage) -> Result<Option<String>, Error> {
    let Some(inputs) = request.single_field("signature-input")? else {
        return Ok(None);
    };
    let inputs = Inputs::parse(&inputs, "Signature-Input")?;
    Ok(inputs
        .tagged(REQUEST_TAG)
        .first()
        .map(|label| (*label).to_owned()))
}
