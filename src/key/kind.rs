//! The kinds of key the crate signs and verifies with, and the algorithms
//! each allows.

use std::fmt;

use crate::{Algorithm, KeyRejected};

/// What a key is: RSA, an elliptic-curve key on one of the NIST curves, or
/// an Ed25519 key.
///
/// Each kind is bound to the algorithms it allows ([`Algorithm::fits`]) and
/// has one algorithm of its own ([`KeyKind::default_algorithm`]), used when
/// neither the caller nor a JWK's `alg` names one.
///
/// ```
/// use signed_payloads::{Algorithm, KeyKind};
/// assert_eq!(KeyKind::EcP256.default_algorithm(), Algorithm::ES256);
/// assert!(Algorithm::PS256.fits(KeyKind::Rsa));
/// assert!(!Algorithm::ES384.fits(KeyKind::EcP256));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA, 2048 to 8192 bits: RS256..RS512, PS256..PS512.
    Rsa,
    /// ECDSA on P-256 (secp256r1): ES256.
    EcP256,
    /// ECDSA on P-384 (secp384r1): ES384.
    EcP384,
    /// ECDSA on P-521 (secp521r1): ES512 (aws-lc-rs backend only).
    EcP521,
    /// Ed25519: EdDSA, or by its fully specified name Ed25519.
    Ed25519,
}

impl KeyKind {
    /// `Ok` when `algorithm` is one this kind of key allows
    /// ([`Algorithm::fits`]), else the refusal that names both.
    ///
    /// # Errors
    ///
    /// [`KeyRejected::WrongAlgorithm`].
    ///
    /// ```
    /// use signed_payloads::{Algorithm, KeyKind};
    /// assert!(KeyKind::EcP256.check_algorithm(Algorithm::ES256).is_ok());
    /// assert!(KeyKind::EcP256.check_algorithm(Algorithm::PS256).is_err());
    /// ```
    pub fn check_algorithm(self, algorithm: Algorithm) -> Result<(), KeyRejected> {
        if algorithm.fits(self) {
            Ok(())
        } else {
            Err(KeyRejected::WrongAlgorithm {
                kind: self,
                algorithm,
            })
        }
    }

    /// Every kind.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Rsa,
        KeyKind::EcP256,
        KeyKind::EcP384,
        KeyKind::EcP521,
        KeyKind::Ed25519,
    ];

    /// The kind's own algorithm: RS256, ES256, ES384, ES512 or EdDSA.
    pub const fn default_algorithm(self) -> Algorithm {
        match self {
            KeyKind::Rsa => Algorithm::RS256,
            KeyKind::EcP256 => Algorithm::ES256,
            KeyKind::EcP384 => Algorithm::ES384,
            KeyKind::EcP521 => Algorithm::ES512,
            KeyKind::Ed25519 => Algorithm::EdDSA,
        }
    }

    /// `preferred` when this kind allows it, else the kind's own
    /// algorithm: a caller's default for RSA keys (PS384, say) says nothing
    /// about an EC key.
    ///
    /// ```
    /// use signed_payloads::{Algorithm, KeyKind};
    /// assert_eq!(KeyKind::Rsa.algorithm_or(Algorithm::PS384), Algorithm::PS384);
    /// assert_eq!(KeyKind::Ed25519.algorithm_or(Algorithm::PS384), Algorithm::EdDSA);
    /// ```
    pub fn algorithm_or(self, preferred: Algorithm) -> Algorithm {
        if preferred.fits(self) {
            preferred
        } else {
            self.default_algorithm()
        }
    }

    /// The name used in messages, the CLI and the key store: `RSA`,
    /// `EC P-256`, `EC P-384`, `EC P-521`, `Ed25519`.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EcP256 => "EC P-256",
            KeyKind::EcP384 => "EC P-384",
            KeyKind::EcP521 => "EC P-521",
            KeyKind::Ed25519 => "Ed25519",
        }
    }

    /// Looks up a name [`KeyKind::as_str`] gives, exactly.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The JWK `kty`: `RSA`, `EC` or `OKP`.
    pub const fn jwk_key_type(self) -> &'static str {
        match self {
            KeyKind::Rsa => "RSA",
            KeyKind::EcP256 | KeyKind::EcP384 | KeyKind::EcP521 => "EC",
            KeyKind::Ed25519 => "OKP",
        }
    }

    /// The JWK `crv` (`P-256`, `P-384`, `P-521`, `Ed25519`); none for RSA.
    pub const fn jwk_curve(self) -> Option<&'static str> {
        match self {
            KeyKind::Rsa => None,
            KeyKind::EcP256 => Some("P-256"),
            KeyKind::EcP384 => Some("P-384"),
            KeyKind::EcP521 => Some("P-521"),
            KeyKind::Ed25519 => Some("Ed25519"),
        }
    }

    /// The EC kind of a JWK `crv` (`P-256`, `P-384`, `P-521`).
    pub(crate) fn from_ec_curve(crv: &str) -> Option<Self> {
        [KeyKind::EcP256, KeyKind::EcP384, KeyKind::EcP521]
            .into_iter()
            .find(|k| k.jwk_curve() == Some(crv))
    }

    /// The length of one EC coordinate or scalar in bytes (32, 48, 66), or
    /// of an Ed25519 key (32); none for RSA.
    pub(crate) const fn field_len(self) -> Option<usize> {
        match self {
            KeyKind::Rsa => None,
            KeyKind::EcP256 | KeyKind::Ed25519 => Some(32),
            KeyKind::EcP384 => Some(48),
            KeyKind::EcP521 => Some(66),
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
