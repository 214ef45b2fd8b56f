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
}
