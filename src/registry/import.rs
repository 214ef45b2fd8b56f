//! Loading a key from a key-exchange response.

use serde::Deserialize;

use super::{VerificationKey, rfc3339};
use std::time::SystemTime;

use crate::error::{Error, Escaped, KeyRejected, Segment};
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
    /// `{"UniqueId": …, "Key": <base64 SPKI DER, or PEM>, "ExpirationUtc": <RFC 3339>, "Algorithm": …}`.
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
    /// [`Error::Malformed`] for invalid JSON, a missing member (named) or an
    /// unreadable date, [`Error::UnsupportedAlgorithm`] for an algorithm it
    /// cannot map, [`KeyRejected::Expired`] for a key whose `ExpirationUtc`
    /// has passed, and the errors of [`PublicKey::from_base64_der`] (or of
    /// [`PublicKey::from_pem`], for a `Key` given as PEM).
    pub fn from_key_exchange(json: &str, default_alg: Algorithm) -> Result<Self, Error> {
        read_key_exchange(json, default_alg, false)
    }

    /// As [`VerificationKey::from_key_exchange`], reading an `ExpirationUtc`
    /// without a UTC offset (what .NET's `DateTime` writes,
    /// `"2030-01-01T00:00:00"`) as UTC. Opt in only when the API is known to
    /// mean UTC: the member's name says so, the text does not.
    ///
    /// # Errors
    ///
    /// As for [`VerificationKey::from_key_exchange`].
    pub fn from_key_exchange_assuming_utc(
        json: &str,
        default_alg: Algorithm,
    ) -> Result<Self, Error> {
        read_key_exchange(json, default_alg, true)
    }
}

fn read_key_exchange(
    json: &str,
    default_alg: Algorithm,
    offsetless_is_utc: bool,
) -> Result<VerificationKey, Error> {
    json::check(json.as_bytes(), Segment::Payload, 4)
        .map_err(|e| Error::key(format!("key-exchange response: {e}")))?;
    let response: KeyExchangeResponse = serde_json::from_str(json).map_err(|e| {
        let detail = match e.classify() {
            // A missing or mistyped member is named.
            serde_json::error::Category::Data => {
                json::data_error_detail::<KeyExchangeResponse>(json.as_bytes(), &e)
            }
            _ => json::describe(&e),
        };
        Error::key(format!("key-exchange response: {detail}"))
    })?;
    let algorithm = match response.algorithm.as_deref() {
        None => default_alg,
        Some(name) => algorithm_from_vendor_name(name)?,
    };
    // Some APIs hand out the key as PEM rather than bare base64 DER.
    let public = if response.key.trim_start().starts_with("-----BEGIN") {
        PublicKey::from_pem(&response.key)?
    } else {
        PublicKey::from_base64_der(&response.key)?
    };
    let key = VerificationKey::new(response.unique_id, public, algorithm)?;
    let Some(text) = response.expiration_utc.as_deref() else {
        return Ok(key);
    };
    let at = rfc3339::parse_with(text, offsetless_is_utc).ok_or_else(|| {
        let hint = if offsetless_is_utc {
            ""
        } else {
            " (without an offset? from_key_exchange_assuming_utc reads it as UTC)"
        };
        Error::key(format!(
            "ExpirationUtc {} is not an RFC 3339 date-time{hint}",
            Escaped::new(text)
        ))
    })?;
    // A key that has already expired could never verify: say so now.
    if at <= SystemTime::now() {
        return Err(KeyRejected::Expired.into());
    }
    Ok(key.with_expiry(at))
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
