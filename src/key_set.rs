//! The active verification keys as one plain value, and the rule for which
//! of them checks a token.

use std::time::SystemTime;

use crate::error::{Error, Escaped, KeyRejected};
use crate::pipeline::Rules;
use crate::{Algorithm, JwkSet, Limits, PublicKey, VerificationKey, Verified};

/// The most keys a key set holds at once.
pub const MAX_ACTIVE_KEYS: usize = 2;

/// One or two verification keys with distinct ids: what a verifier checks a
/// token against.
///
/// A plain value: a [`KeyRegistry`](crate::KeyRegistry) publishes one per
/// rotation, a [`TenantKeys`](crate::store::TenantKeys) cache holds one per
/// tenant, a [`RemoteJwks`](crate::RemoteJwks) one per fetch.
///
/// ```
/// # fn main() -> Result<(), signed_payloads::Error> {
/// use signed_payloads::{Algorithm, KeySet, VerificationKey};
/// let pem = include_str!("../tests/data/keys/rsa2048.spki.pem");
/// let set = KeySet::new([VerificationKey::from_pem("k1", pem, Algorithm::RS256)?])?;
/// assert_eq!(set.key_ids().collect::<Vec<_>>(), ["k1"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<VerificationKey>,
}

impl KeySet {
    /// A set of one or two keys.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for no key, [`Error::KeyLimit`] for more than two,
    /// [`Error::DuplicateKeyId`] for a repeated id.
    pub fn new(keys: impl IntoIterator<Item = VerificationKey>) -> Result<Self, Error> {
        let keys: Vec<VerificationKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(Error::Config("a key set needs at least one key".into()));
        }
        if keys.len() > MAX_ACTIVE_KEYS {
            return Err(Error::KeyLimit {
                limit: MAX_ACTIVE_KEYS,
            });
        }
        if keys.len() == 2 && keys[0].kid() == keys[1].kid() {
            return Err(Error::DuplicateKeyId(Escaped::new(keys[0].kid())));
        }
        Ok(KeySet { keys })
    }

    /// Reads a JWKS (RFC 7517).
    ///
    /// Each RSA, EC or Ed25519 entry meant for signatures becomes a key: its
    /// `kid` (or, when absent, its RFC 7638 thumbprint), bound to its `alg`,
    /// else to `default_alg` when that fits the key (an RSA default says
    /// nothing about an EC key), else to the kind's own algorithm (ES256,
    /// ES384, ES512, EdDSA). Entries of kinds the crate does not support
    /// (`oct`, X25519, secp256k1, ...) and entries whose `use` or `key_ops`
    /// exclude verification are skipped, as a published set often mixes
    /// them. A signature entry of a supported kind that cannot be used (too
    /// small, bad exponent, ROCA, a point off its curve, an unknown `alg` or
    /// one its curve does not allow) is an error, not a skip: it was meant
    /// to be used.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for invalid JSON or when no entry is usable, the
    /// key errors above, and those of [`KeySet::new`].
    pub fn from_jwks(json: &str, default_alg: Algorithm) -> Result<Self, Error> {
        let set = JwkSet::from_json(json)?;
        let mut keys = Vec::new();
        let mut skipped = 0;
        for jwk in &set.keys {
            if !jwk.allows_verification() {
                skipped += 1;
                continue;
            }
            let public = match PublicKey::from_jwk(jwk) {
                Ok(public) => public,
                Err(Error::KeyRejected(
                    KeyRejected::UnsupportedKeyType(_) | KeyRejected::Symmetric,
                )) => {
                    skipped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // `use` and `key_ops` were judged by the skip above.
            let alg = jwk.algorithm(None, public.kind().algorithm_or(default_alg))?;
            let kid = jwk.kid.clone().unwrap_or_else(|| public.thumbprint());
            keys.push(VerificationKey::new(kid, public, alg)?);
        }
        if keys.is_empty() {
            return Err(Error::key(format!(
                "the JWKS has no signature key of a supported kind ({skipped} other entries skipped)"
            )));
        }
        KeySet::new(keys)
    }

    /// The key with exactly this id (byte-for-byte, case-sensitive).
    pub fn get(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The keys in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &VerificationKey> {
        self.keys.iter()
    }

    /// The key ids in registration order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(VerificationKey::kid)
    }

    /// How many keys the set holds: one or two.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Never true: a key set holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys as a JWKS (`kid`, `alg`, `use: sig`), in order. Keys
    /// verified elsewhere ([`VerificationKey::from_verifier`]) are left out.
    pub fn to_jwks(&self) -> JwkSet {
        JwkSet::new(
            self.keys
                .iter()
                .filter_map(|key| {
                    let jwk = key
                        .public_key()?
                        .to_jwk()
                        .with_kid(key.kid())
                        .with_alg(key.algorithm());
                    Some(jwk.for_signatures())
                })
                .collect(),
        )
    }

    /// Verifies a compact JWS against this set through the crate's one
    /// pipeline, with the plain rules: the key the `kid` names and no other
    /// (each key in turn for a token without `kid`), the algorithm binding,
    /// the signature, expiry by the system clock. Profiles with more rules
    /// (claims, `typ`, replays, required `kid`) are the request and response
    /// verifiers, which call the same pipeline.
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use signed_payloads::{jws, Algorithm, Header, KeySet, Limits, PrivateKey, KeySigner, VerificationKey};
    /// let private = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem"))?;
    /// let set = KeySet::new([VerificationKey::new("k1", private.public_key().clone(), Algorithm::RS256)?])?;
    /// let signer = KeySigner::new(private, Algorithm::RS256)?.with_key_id("k1");
    /// let token = jws::sign(&Header::for_signer(&signer), b"{}", &signer)?;
    /// assert_eq!(set.verify(&token, &Limits::default())?.key_id(), Some("k1"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKeyId`], [`Error::KeyExpired`],
    /// [`Error::AlgorithmMismatch`], [`Error::BadSignature`], and every
    /// parsing error of [`jws::verify`](crate::jws::verify).
    pub fn verify(&self, token: &str, limits: &Limits) -> Result<Verified<Vec<u8>>, Error> {
        let rules = Rules::jws().with_limits(*limits);
        let token = rules.parse(token)?;
        rules.check(token, self, None)
    }

    /// As [`KeySet::verify`], for a token whose payload is detached (RFC 7515
    /// Appendix F): the payload segment is empty and `payload` is supplied.
    ///
    /// # Errors
    ///
    /// As for [`KeySet::verify`], and [`Malformed::PayloadNotDetached`](crate::Malformed::PayloadNotDetached)
    /// if the token carries a payload.
    pub fn verify_detached(
        &self,
        token: &str,
        payload: &[u8],
        limits: &Limits,
    ) -> Result<Verified<Vec<u8>>, Error> {
        let rules = Rules::jws().with_limits(*limits);
        let token = rules.parse(token)?;
        rules.check(token, self, Some(payload))
    }

    pub(crate) fn single(key: VerificationKey) -> Self {
        KeySet { keys: vec![key] }
    }

    pub(crate) fn keys_mut(&mut self) -> &mut Vec<VerificationKey> {
        &mut self.keys
    }

    /// Picks the key for a token and checks it with `check`: the key named
    /// by `kid` and no other, or, for a token without `kid` (unless
    /// `require_kid`), the first key for which `check` succeeds. A key past
    /// its expiry at `now` is never used.
    pub(crate) fn select(
        &self,
        kid: Option<&str>,
        require_kid: bool,
        now: SystemTime,
        check: impl Fn(&VerificationKey) -> Result<(), Error>,
    ) -> Result<&VerificationKey, Error> {
        if let Some(kid) = kid {
            let key = self
                .get(kid)
                .ok_or_else(|| Error::UnknownKeyId(Escaped::new(kid)))?;
            key.check_not_expired(now)?;
            check(key)?;
            return Ok(key);
        }
        if require_kid {
            return Err(Error::MissingKeyId);
        }
        // No kid: try each key. The error reported is the most telling one:
        // an expired key whose signature matches (the token was signed by a
        // key that has expired), then a bad signature, then an algorithm
        // mismatch.
        let mut failure: Option<Error> = None;
        for key in &self.keys {
            let outcome = match key.check_not_expired(now) {
                Ok(()) => check(key),
                // Checked only on this failure path, to say which key it was.
                Err(expired) => match check(key) {
                    Ok(()) => Err(expired),
                    Err(_) => continue,
                },
            };
            match outcome {
                Ok(()) => return Ok(key),
                Err(e) => {
                    if rank(&e) >= failure.as_ref().map_or(0, rank) {
                        failure = Some(e);
                    }
                }
            }
        }
        Err(failure.unwrap_or(Error::BadSignature))
    }
}

fn rank(e: &Error) -> u8 {
    match e {
        Error::AlgorithmMismatch { .. } => 1,
        Error::KeyExpired(_) => 3,
        _ => 2,
    }
}
