//! Working out what a key file holds: PEM (of any label), DER, bare base64
//! DER or JWK, before handing the bytes to the right parser.

use zeroize::Zeroizing;

use super::der::DerKind;
use crate::base64url;
use crate::error::{Error, Escaped, KeyRejected};

/// The encodings a key file can arrive in.
pub(crate) enum Source<'a> {
    /// DER bytes (from PEM, base64 or raw), with the structure they hold.
    Der(DerKind, Zeroizing<Vec<u8>>),
    /// A JSON Web Key.
    Jwk(&'a str),
}

/// Reads the first key block of a PEM file.
pub(crate) fn from_pem(text: &str) -> Result<Source<'_>, Error> {
    let blocks = pem::parse_many(text).map_err(|_| Error::key("invalid PEM"))?;
    if blocks.is_empty() {
        return Err(Error::key("no PEM block found"));
    }
    let mut labels = Vec::new();
    // Every block's bytes are wiped when dropped, the ones passed over and
    // the ones after an early return included.
    let blocks: Vec<_> = blocks
        .into_iter()
        .map(|block| {
            let tag = block.tag().to_owned();
            let encrypted = block
                .headers()
                .get("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"));
            (tag, encrypted, Zeroizing::new(block.into_contents()))
        })
        .collect();
    for (tag, encrypted, contents) in blocks {
        let kind = match tag.as_str() {
            "RSA PRIVATE KEY" if encrypted => return Err(KeyRejected::Encrypted.into()),
            "RSA PRIVATE KEY" => DerKind::Pkcs1Private,
            "PRIVATE KEY" => DerKind::Pkcs8Private,
            "ENCRYPTED PRIVATE KEY" => return Err(KeyRejected::Encrypted.into()),
            "PUBLIC KEY" => DerKind::Spki,
            "RSA PUBLIC KEY" => DerKind::Pkcs1Public,
            "CERTIFICATE" | "X509 CERTIFICATE" => DerKind::Certificate,
            "EC PRIVATE KEY" => DerKind::Sec1Private,
            "DSA PRIVATE KEY" => {
                return Err(KeyRejected::UnsupportedKeyType(Escaped::new("DSA")).into());
            }
            "OPENSSH PRIVATE KEY" => {
                return Err(Error::key(
                    "OpenSSH private keys are not supported, convert with ssh-keygen -p -m PEM",
                ));
            }
            other => {
                labels.push(Escaped::new(other).to_string());
                continue;
            }
        };
        return Ok(Source::Der(kind, contents));
    }
    Err(Error::key(format!(
        "no key in PEM (found {})",
        labels.join(", ")
    )))
}

/// Identifies any supported encoding from the bytes themselves.
pub(crate) fn detect(input: &[u8]) -> Result<Source<'_>, Error> {
    let trimmed = input.trim_ascii();
    match trimmed.first() {
        None => Err(Error::key("empty key input")),
        Some(b'-') => {
            let text = std::str::from_utf8(trimmed).map_err(|_| Error::key("PEM is not UTF-8"))?;
            from_pem(text)
        }
        Some(b'{') => {
            let text = std::str::from_utf8(trimmed).map_err(|_| Error::key("JWK is not UTF-8"))?;
            Ok(Source::Jwk(text))
        }
        // A DER SEQUENCE with a long-form length: a raw DER key file.
        Some(0x30) if input.get(1).is_some_and(|&b| b >= 0x80) => {
            let der = Zeroizing::new(input.to_vec());
            Ok(Source::Der(super::der::sniff(&der)?, der))
        }
        Some(_) => from_base64(trimmed),
    }
}

/// Decodes bare base64 of DER (standard alphabet, padding optional,
/// line breaks allowed), as key-exchange APIs return it.
pub(crate) fn from_base64(text: &[u8]) -> Result<Source<'static>, Error> {
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    let der = base64url::decode_standard(&compact)
        .or_else(|| base64url::decode(&compact))
        .map(Zeroizing::new)
        .ok_or_else(|| Error::key("not PEM, JWK, DER or base64 of DER"))?;
    Ok(Source::Der(super::der::sniff(&der)?, der))
}
