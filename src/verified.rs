//! The value a successful verification returns.

use serde::de::DeserializeOwned;

use crate::error::{Error, Segment};
use crate::{Header, Limits, json};

/// Proof that a signature was checked: the payload, the header and the key
/// id that matched. Only this crate can construct it.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    payload: T,
    header: Header,
    key_id: Option<String>,
}

impl<T> Verified<T> {
    pub(crate) fn new(payload: T, header: Header, key_id: Option<String>) -> Self {
        Verified {
            payload,
            header,
            key_id,
        }
    }

    /// The verified payload.
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// Takes the payload.
    pub fn into_payload(self) -> T {
        self.payload
    }

    /// The verified protected header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The id of the key that verified the signature, when it has one.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// Splits into payload and header.
    pub fn into_parts(self) -> (T, Header) {
        (self.payload, self.header)
    }
}

impl Verified<Vec<u8>> {
    /// Deserializes the payload as strict JSON (no duplicate members, depth
    /// within `limits`) into `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] if the payload is not JSON or does not fit `T`.
    pub fn deserialize_json<T: DeserializeOwned>(
        self,
        limits: &Limits,
    ) -> Result<Verified<T>, Error> {
        let payload =
            json::from_slice_strict(&self.payload, Segment::Payload, limits.max_json_depth())?;
        Ok(Verified {
            payload,
            header: self.header,
            key_id: self.key_id,
        })
    }

    /// Deserializes the payload as strict JSON into a `T` that may borrow
    /// from it (`&str` fields, `Cow`), saving an allocation per string: the
    /// zero-copy twin of [`Verified::deserialize_json`].
    ///
    /// # Errors
    ///
    /// As for [`Verified::deserialize_json`].
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), signed_payloads::Error> {
    /// use serde::Deserialize;
    /// use signed_payloads::{jws, Algorithm, Header, Limits, PrivateKey, RsaSigner, RsaVerifier};
    ///
    /// #[derive(Deserialize)]
    /// struct User<'a> { name: &'a str }
    ///
    /// let key = PrivateKey::from_pem(include_str!("../tests/data/keys/rsa2048.pkcs8.pem"))?;
    /// let verifier = RsaVerifier::new(key.public_key().clone(), Algorithm::RS256)?;
    /// let signer = RsaSigner::new(key, Algorithm::RS256);
    /// let token = jws::sign(&Header::for_signer(&signer), br#"{"name":"Ada"}"#, &signer)?;
    /// let verified = jws::verify(&token, &verifier, &Limits::default())?;
    /// let user: User<'_> = verified.parse_json(&Limits::default())?;
    /// assert_eq!(user.name, "Ada");
    /// # Ok(()) }
    /// ```
    pub fn parse_json<'a, T: serde::Deserialize<'a>>(
        &'a self,
        limits: &Limits,
    ) -> Result<T, Error> {
        json::from_slice_strict(&self.payload, Segment::Payload, limits.max_json_depth())
    }
}
