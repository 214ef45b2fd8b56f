//! Loading a key from a key-exchange response.

use serde::Deserialize;

use super::{VerificationKey, rfc3339};
use crate::error::{Error, Escaped, Segment};
use crate::{Algorithm, PublicKey, json};

/// The "Generate Key Pair" response of a key-exchange API.
#[derive(Deserialize)]
struct KeyExchangeResponse {
    #[serde(rename = "UniqueId", alias = "uniqueId")]
    unique_id: String,
    #[serde(rename = "Key", alias = "key")]
    key: String,
    #[serde(rename = "ExpirationUtc", alias = "expirationUtc")]
    expiration_utc: Option<String>,
    #[serde(rename = "Algorithm", alias = "algorithm")]
    algorithm: Option<String>,
}

impl VerificationKey {
    /// Reads a key-exchange "Generate Key Pair" response:
    /// `{"UniqueId": …, "Key": <base64 SPKI DER>, "ExpirationUtc": <RFC 3339>, "Algorithm": …}`.
    ///
    /// `UniqueId` becomes the key id and `ExpirationUtc` the expiry. The
    /// algorithm name is read as a JOSE name (`PS384`) or a descriptive one
    /// (`RSA-PSS-SHA384`, `RSASSA-PSS with SHA-384`, `RSA_PKCS1_SHA256`, ...);
    /// `default_alg` applies when it is absent.
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use signed_payloads::{Algorithm, VerificationKey};
    /// let spki = include_str!("../../tests/data/keys/rsa2048.spki.b64");
    /// let json = format!(
    ///     r#"{{"UniqueId":"4f1c","Key":"{spki}","ExpirationUtc":"2030-01-01T00:00:00Z","Algorithm":"RSA-PSS-SHA384"}}"#
    /// );
    /// let key = VerificationKey::from_key_exchange(&json, Algorithm::PS384)?;
    /// assert_eq!((key.kid(), key.algorithm()), ("4f1c", Algorithm::PS384));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for invalid JSON or an unreadable date,
    /// [`Error::UnsupportedAlgorithm`] for an algorithm it cannot map, and the
    /// errors of [`PublicKey::from_base64_der`].
    pub fn from_key_exchange(json: &str, default_alg: Algorithm) -> Result<Self, Error> {
        json::check(json.as_bytes(), Segment::Payload, 4)
            .map_err(|e| Error::key(format!("key-exchange response: {e}")))?;
        let response: KeyExchangeResponse = serde_json::from_str(json)
            .map_err(|e| Error::key(format!("key-exchange response: {}", json::describe(&e))))?;
        let algorithm = match response.algorithm.as_deref() {
            None => default_alg,
            Some(name) => algorithm_from_vendor_name(name)?,
        };
        let key = VerificationKey::new(
            response.unique_id,
            PublicKey::from_base64_der(&response.key)?,
            algorithm,
        )?;
        match response.expiration_utc.as_deref() {
            None => Ok(key),
            Some(text) => {
                let at = rfc3339::parse(text).ok_or_else(|| {
                    Error::key(format!(
                        "ExpirationUtc {} is not an RFC 3339 date-time",
                        Escaped::new(text)
                    ))
                })?;
                Ok(key.with_expiry(at))
            }
        }
    }
}

/// Maps the names vendors give RSA signature schemes to [`Algorithm`].
pub(crate) fn algorithm_from_vendor_name(name: &str) -> Result<Algorithm, Error> {
    if let Ok(alg) = Algorithm::from_name(name) {
        return Ok(alg);
    }
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let folded = folded
        .replace("WITH", "")
        .replace("RSASSA", "RSA")
        .replace("V15", "")
        .replace("V1", "");
    let unknown = || Error::UnsupportedAlgorithm(Escaped::new(name));
    let pss = folded.contains("PSS");
    let pkcs1 = folded.contains("PKCS1") || (!pss && folded.starts_with("RSASHA"));
    let bits = if folded.ends_with("SHA256") {
        256
    } else if folded.ends_with("SHA384") {
        384
    } else if folded.ends_with("SHA512") {
        512
    } else {
        return Err(unknown());
    };
    match (pss, pkcs1, bits) {
        (true, false, 256) => Ok(Algorithm::PS256),
        (true, false, 384) => Ok(Algorithm::PS384),
        (true, false, 512) => Ok(Algorithm::PS512),
        (false, true, 256) => Ok(Algorithm::RS256),
        (false, true, 384) => Ok(Algorithm::RS384),
        (false, true, 512) => Ok(Algorithm::RS512),
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_algorithm_names() {
        for (name, alg) in [
            ("PS384", Algorithm::PS384),
            ("RSA-PSS-SHA384", Algorithm::PS384),
            ("RsaPssSha384", Algorithm::PS384),
            ("RSASSA-PSS with SHA-384", Algorithm::PS384),
            ("RSA_PSS_SHA256", Algorithm::PS256),
            ("rsa-pss-sha512", Algorithm::PS512),
            ("RSA-SHA256", Algorithm::RS256),
            ("RSASSA-PKCS1-v1_5 with SHA-256", Algorithm::RS256),
            ("RSA_PKCS1_SHA384", Algorithm::RS384),
            ("RS512", Algorithm::RS512),
        ] {
            assert_eq!(algorithm_from_vendor_name(name).ok(), Some(alg), "{name}");
        }
        for name in [
            "RSA",
            "",
            "ES256",
            "HS256",
            "RSA-OAEP-256",
            "PSS",
            "RSA-PSS-SHA1",
            "rs256",
        ] {
            assert!(
                matches!(
                    algorithm_from_vendor_name(name),
                    Err(Error::UnsupportedAlgorithm(_))
                ),
                "{name}"
            );
        }
    }
}
