//! The closed set of signature algorithms this crate speaks.

use std::fmt;
use std::str::FromStr;

use crate::KeyKind;
use crate::error::{Error, Escaped};

/// A signature algorithm, named as in RFC 7518, RFC 8037 and RFC 9864.
///
/// This is the whole set: `none`, HMAC and anything else are refused
/// wherever an algorithm is read. Names match exactly and case-sensitively.
/// Each algorithm works with one kind of key ([`Algorithm::fits`]).
///
/// ```
/// use signed_payloads::Algorithm;
/// assert_eq!("PS384".parse::<Algorithm>()?, Algorithm::PS384);
/// assert_eq!("ES256".parse::<Algorithm>()?, Algorithm::ES256);
/// assert!("ps384".parse::<Algorithm>().is_err());
/// assert!("none".parse::<Algorithm>().is_err());
/// assert!("HS256".parse::<Algorithm>().is_err());
/// # Ok::<(), signed_payloads::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, 32-byte salt.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384, 48-byte salt.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512, 64-byte salt.
    PS512,
    /// ECDSA on P-256 with SHA-256; the signature is `R || S`, 64 bytes.
    ES256,
    /// ECDSA on P-384 with SHA-384; the signature is `R || S`, 96 bytes.
    ES384,
    /// ECDSA on P-521 with SHA-512; the signature is `R || S`, 132 bytes.
    /// Needs the aws-lc-rs backend (ring has no P-521).
    ES512,
    /// EdDSA as RFC 8037 names it; this crate's only EdDSA curve is Ed25519.
    EdDSA,
    /// Ed25519 by its fully specified name (RFC 9864): the same signature as
    /// `EdDSA` with an Ed25519 key.
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 11] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    /// The JOSE name (`"RS256"` and so on).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// Looks up a JOSE name, exactly and case-sensitively.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedAlgorithm`] naming (escaped, cut short) what was seen.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| Error::UnsupportedAlgorithm(Escaped::new(name)))
    }

    /// True for the RSASSA-PSS family.
    pub const fn is_pss(self) -> bool {
        matches!(self, Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
    }

    /// The size in bits of the SHA-2 hash the algorithm signs over, taken
    /// outside the signature by signers whose device signs a digest; `None`
    /// for EdDSA, which hashes inside the signature.
    #[cfg(any(feature = "pkcs11", feature = "aws-kms"))]
    pub(crate) const fn sha2_bits(self) -> Option<usize> {
        match self {
            Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => Some(256),
            Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => Some(384),
            Algorithm::RS512 | Algorithm::PS512 | Algorithm::ES512 => Some(512),
            Algorithm::EdDSA | Algorithm::Ed25519 => None,
        }
    }

    /// The kind of key this algorithm signs and verifies with.
    pub const fn key_kind(self) -> KeyKind {
        match self {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyKind::Rsa,
            Algorithm::ES256 => KeyKind::EcP256,
            Algorithm::ES384 => KeyKind::EcP384,
            Algorithm::ES512 => KeyKind::EcP521,
            Algorithm::EdDSA | Algorithm::Ed25519 => KeyKind::Ed25519,
        }
    }

    /// True when a key of `kind` can sign and verify with this algorithm:
    /// ES256 only with P-256 keys, EdDSA only with Ed25519 keys, and so on.
    pub fn fits(self, kind: KeyKind) -> bool {
        self.key_kind() == kind
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_name(s)
    }
}

impl serde::Serialize for Algorithm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Algorithm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Algorithm::from_name(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.as_str()).unwrap(), a);
            assert!(Algorithm::from_name(&a.as_str().to_lowercase()).is_err());
        }
        for bad in [
            "none", "None", "HS256", "ES256K", "RS256 ", "", "RS1", "EDDSA", "ed25519", "Ed448",
            "ES521",
        ] {
            let err = Algorithm::from_name(bad).unwrap_err();
            assert!(matches!(err, Error::UnsupportedAlgorithm(_)), "{bad}");
        }
    }
}
