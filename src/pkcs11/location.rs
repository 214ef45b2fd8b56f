//! Where a key lives in a PKCS#11 module: the module, the token, the key,
//! and the PIN, given field by field or as an RFC 7512 `pkcs11:` URI.

use std::fmt;
use std::path::PathBuf;

use cryptoki::types::AuthPin;
use percent_encoding::percent_decode_str;

use crate::error::{Error, Escaped};

/// A token user's PIN: never `Clone`, shown as `Pin(..)` by `Debug`, wiped
/// from memory when dropped.
pub struct Pin(pub(crate) AuthPin);

impl Pin {
    /// The PIN `pin`.
    pub fn new(pin: impl Into<String>) -> Self {
        Pin(AuthPin::from(pin.into()))
    }

    /// The first line of the file at `path` (a PIN file, RFC 7512's
    /// `pin-source=file:`), without its line ending.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the file cannot be read.
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
            Error::Config(format!("cannot read the PIN file {}: {e}", path.display()))
        })?);
        let line = text.lines().next().unwrap_or("");
        Ok(Pin::new(line))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

/// How the token is recognised among the module's slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenMatch {
    /// By its label.
    Label(String),
    /// By its serial number.
    Serial(String),
}

/// How the private key is recognised on the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// By `CKA_LABEL`.
    Label(String),
    /// By `CKA_ID`.
    Id(Vec<u8>),
}

/// A private key on a PKCS#11 token: the module that reaches it, the token,
/// the key and the user PIN.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::pkcs11::{KeyLocation, KeyMatch, TokenMatch};
/// let at = KeyLocation::from_uri(
///     "pkcs11:token=payments;object=api-2026;type=private\
///      ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
/// )?;
/// assert_eq!(at.token, TokenMatch::Label("payments".into()));
/// assert_eq!(at.key, KeyMatch::Label("api-2026".into()));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct KeyLocation {
    /// The PKCS#11 module (`.so`).
    pub module: PathBuf,
    /// The token.
    pub token: TokenMatch,
    /// The private key.
    pub key: KeyMatch,
    /// The user PIN.
    pub pin: Pin,
}

impl KeyLocation {
    /// A key by field.
    pub fn new(module: impl Into<PathBuf>, token: TokenMatch, key: KeyMatch, pin: Pin) -> Self {
        KeyLocation {
            module: module.into(),
            token,
            key,
            pin,
        }
    }

    /// Reads an RFC 7512 PKCS#11 URI: path attributes `token` or `serial`,
    /// `object` or `id`, and `type` (which must be `private` if given);
    /// query attributes `module-path`, and `pin-source=file:PATH` or
    /// `pin-value`. Values are percent-decoded.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming what is missing, repeated or not understood.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| Error::Config("a PKCS#11 URI starts with pkcs11:".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (mut token, mut key, mut module, mut pin) = (None, None, None, None);
        let attributes = path
            .split(';')
            .map(|a| (a, true))
            .chain(query.split('&').map(|a| (a, false)));
        for (attribute, in_path) in attributes.filter(|(a, _)| !a.is_empty()) {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                Error::Config(format!(
                    "PKCS#11 URI attribute {} has no value",
                    Escaped::new(attribute)
                ))
            })?;
            let bytes: Vec<u8> = percent_decode_str(value).collect();
            let text = || {
                String::from_utf8(bytes.clone()).map_err(|_| {
                    Error::Config(format!("PKCS#11 URI attribute {name} is not UTF-8"))
                })
            };
            let outcome = match (in_path, name) {
                (true, "token") => set(&mut token, TokenMatch::Label(text()?), name),
                (true, "serial") => set(&mut token, TokenMatch::Serial(text()?), name),
                (true, "object") => set(&mut key, KeyMatch::Label(text()?), name),
                (true, "id") => set(&mut key, KeyMatch::Id(bytes.clone()), name),
                (true, "type") if value == "private" => Ok(()),
                (true, "type") => Err(Error::Config(format!(
                    "the PKCS#11 URI names type {}; a signing key is type=private",
                    Escaped::new(value)
                ))),
                // Attributes that narrow the token further are not needed
                // to find it; accept and ignore them.
                (
                    true,
                    "manufacturer"
                    | "model"
                    | "library-manufacturer"
                    | "library-description"
                    | "library-version"
                    | "slot-description"
                    | "slot-manufacturer"
                    | "slot-id",
                ) => Ok(()),
                (false, "module-path") => set(&mut module, PathBuf::from(text()?), name),
                (false, "pin-value") => set(&mut pin, Pin::new(text()?), name),
                (false, "pin-source") => {
                    let source = text()?;
                    let path = source
                        .strip_prefix("file:")
                        .ok_or_else(|| Error::Config("pin-source must be a file: path".into()))?;
                    set(&mut pin, Pin::from_file(path)?, name)
                }
                _ => Err(Error::Config(format!(
                    "PKCS#11 URI attribute {} is not understood",
                    Escaped::new(name)
                ))),
            };
            outcome?;
        }
        let missing = |what: &str| Error::Config(format!("the PKCS#11 URI gives no {what}"));
        Ok(KeyLocation {
            module: module.ok_or_else(|| missing("module-path"))?,
            token: token.ok_or_else(|| missing("token or serial"))?,
            key: key.ok_or_else(|| missing("object or id"))?,
            pin: pin.ok_or_else(|| missing("pin-source or pin-value"))?,
        })
    }
}

/// Sets `slot` once; a second value for it is an error.
fn set<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::Config(format!(
            "the PKCS#11 URI gives {name} (or its alternative) twice"
        )));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_rfc7512_uris() {
        let at = KeyLocation::from_uri(
            "pkcs11:serial=DECC0401648;id=%01%02;type=private?module-path=/m.so&pin-value=12%2034",
        )
        .unwrap();
        assert_eq!(at.token, TokenMatch::Serial("DECC0401648".into()));
        assert_eq!(at.key, KeyMatch::Id(vec![1, 2]));
        assert_eq!(at.module, PathBuf::from("/m.so"));
        assert_eq!(format!("{:?}", at.pin), "Pin(..)");
        for bad in [
            "pkcs12:token=a;object=b?module-path=/m&pin-value=1",
            "pkcs11:token=a;object=b?pin-value=1",
            "pkcs11:object=b?module-path=/m&pin-value=1",
            "pkcs11:token=a?module-path=/m&pin-value=1",
            "pkcs11:token=a;object=b?module-path=/m",
            "pkcs11:token=a;object=b;type=public?module-path=/m&pin-value=1",
            "pkcs11:token=a;token=c;object=b?module-path=/m&pin-value=1",
            "pkcs11:token=a;object=b;bogus=1?module-path=/m&pin-value=1",
            "pkcs11:token=a;object=b?module-path=/m&pin-source=https://x",
            "pkcs11:token=a;object?module-path=/m&pin-value=1",
        ] {
            let e = KeyLocation::from_uri(bad).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{bad}: {e:?}");
            assert!(!e.to_string().contains("pin-value=1"), "{e}");
        }
    }
}
