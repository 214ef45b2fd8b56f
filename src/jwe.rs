//! Compact JWE (RFC 7516) for message-level encryption (feature `jwe`):
//! RSA-OAEP-256 or RSA-OAEP key encryption with A256GCM or A128GCM content
//! encryption. RSA1_5, compression (`zip`) and every other algorithm are
//! refused.

use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::backend::aws_lc::{self as backend, OaepDecryptor, OaepEncryptor};
use crate::error::{Error, Escaped, Malformed, Segment};
use crate::{Limits, PrivateKey, PublicKey, base64url, json};

/// How the content-encryption key is encrypted to the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEncryption {
    /// `RSA-OAEP-256`: RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep256,
    /// `RSA-OAEP`: RSAES-OAEP with SHA-1 and MGF1-SHA-1 (still safe for OAEP).
    RsaOaep,
}

impl KeyEncryption {
    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyEncryption::RsaOaep256 => "RSA-OAEP-256",
            KeyEncryption::RsaOaep => "RSA-OAEP",
        }
    }

    fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "RSA-OAEP-256" => Ok(KeyEncryption::RsaOaep256),
            "RSA-OAEP" => Ok(KeyEncryption::RsaOaep),
            "RSA1_5" => Err(jwe_error(
                "RSA1_5 key encryption is refused: PKCS#1 v1.5 decryption is a padding oracle (Bleichenbacher)",
            )),
            other => Err(jwe_error(format!(
                "key encryption {} is not supported",
                Escaped::new(other)
            ))),
        }
    }
}

/// How the content is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// `A256GCM`.
    A256Gcm,
    /// `A128GCM`.
    A128Gcm,
}

impl ContentEncryption {
    /// The JOSE name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContentEncryption::A256Gcm => "A256GCM",
            ContentEncryption::A128Gcm => "A128GCM",
        }
    }

    const fn key_len(self) -> usize {
        match self {
            ContentEncryption::A256Gcm => 32,
            ContentEncryption::A128Gcm => 16,
        }
    }

    fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "A256GCM" => Ok(ContentEncryption::A256Gcm),
            "A128GCM" => Ok(ContentEncryption::A128Gcm),
            other => Err(jwe_error(format!(
                "content encryption {} is not supported",
                Escaped::new(other)
            ))),
        }
    }
}

fn jwe_error(detail: impl Into<String>) -> Error {
    Error::Malformed(Malformed::Jwe(detail.into()))
}

/// Something that can decrypt a content-encryption key: an in-process RSA
/// key ([`RsaDecrypter`]) or a key held in an HSM or KMS.
pub trait Decrypter: fmt::Debug + Send + Sync {
    /// The key id recipients name in `kid`, if any; a JWE naming another is refused.
    fn key_id(&self) -> Option<&str>;
    /// Decrypts the JWE encrypted key.
    ///
    /// # Errors
    ///
    /// [`Error::DecryptionFailed`], with no further detail.
    fn decrypt_key(
        &self,
        alg: KeyEncryption,
        encrypted_key: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error>;
}

/// A [`Decrypter`] over an in-process RSA private key.
pub struct RsaDecrypter {
    key: OaepDecryptor,
    kid: Option<String>,
    bits: usize,
}

impl RsaDecrypter {
    /// A decrypter for `key`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] if the backend refuses the key.
    pub fn new(key: &PrivateKey) -> Result<Self, Error> {
        Ok(RsaDecrypter {
            key: OaepDecryptor::from_pkcs8(&key.secret_pkcs8_der())?,
            kid: None,
            bits: key.public_key().bits(),
        })
    }

    /// Sets the key id to expect in `kid`.
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }
}

impl fmt::Debug for RsaDecrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaDecrypter")
            .field("kid", &self.kid)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl Decrypter for RsaDecrypter {
    fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    fn decrypt_key(
        &self,
        alg: KeyEncryption,
        encrypted_key: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.key
            .decrypt(alg == KeyEncryption::RsaOaep256, encrypted_key)
    }
}

/// Encrypts to a recipient's RSA public key (the server side of message-level encryption).
pub struct RsaEncrypter {
    key: OaepEncryptor,
    kid: Option<String>,
    alg: KeyEncryption,
    enc: ContentEncryption,
}

impl RsaEncrypter {
    /// Encrypts to `key` with RSA-OAEP-256 and A256GCM.
    ///
    /// # Errors
    ///
    /// [`Error::KeyRejected`] if the backend refuses the key.
    pub fn new(key: &PublicKey) -> Result<Self, Error> {
        Ok(RsaEncrypter {
            key: OaepEncryptor::from_spki(&key.to_spki_der())?,
            kid: None,
            alg: KeyEncryption::RsaOaep256,
            enc: ContentEncryption::A256Gcm,
        })
    }

    /// Names the recipient's key in `kid`.
    #[must_use]
    pub fn with_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Chooses the key and content encryption.
    #[must_use]
    pub fn with_algorithms(mut self, alg: KeyEncryption, enc: ContentEncryption) -> Self {
        self.alg = alg;
        self.enc = enc;
        self
    }

    /// Encrypts `plaintext`, with `cty` in the protected header when given.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if encryption fails.
    pub fn encrypt(&self, plaintext: &[u8], cty: Option<&str>) -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.as_str().into());
        header.insert("enc".into(), self.enc.as_str().into());
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        if let Some(cty) = cty {
            header.insert("cty".into(), cty.into());
        }
        let header = base64url::encode(Value::Object(header).to_string().as_bytes());
        let mut cek = Zeroizing::new(vec![0u8; self.enc.key_len()]);
        backend::fill_random(&mut cek)?;
        let mut iv = [0u8; 12];
        backend::fill_random(&mut iv)?;
        let encrypted_key = self
            .key
            .encrypt(self.alg == KeyEncryption::RsaOaep256, &cek)?;
        let mut ciphertext = plaintext.to_vec();
        let tag = backend::aes_gcm_seal(&cek, iv, header.as_bytes(), &mut ciphertext)?;
        let mut out = header;
        for part in [&encrypted_key[..], &iv, &ciphertext, &tag] {
            out.push('.');
            base64url::encode_into(part, &mut out);
        }
        Ok(out)
    }
}

impl fmt::Debug for RsaEncrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaEncrypter")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("enc", &self.enc)
            .finish_non_exhaustive()
    }
}

/// The protected header of a JWE.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JweHeader {
    /// Key encryption.
    pub alg: KeyEncryption,
    /// Content encryption.
    pub enc: ContentEncryption,
    /// Recipient key id.
    pub kid: Option<String>,
    /// Content type of the plaintext (`JWT` for a nested token).
    pub cty: Option<String>,
    /// Media type of the whole token.
    pub typ: Option<String>,
    /// Every other member.
    pub extra: Map<String, Value>,
}

/// A decrypted JWE.
#[derive(Debug)]
pub struct Decrypted {
    /// The protected header.
    pub header: JweHeader,
    /// The plaintext. Not authenticated as to its sender: anyone can encrypt
    /// to a public key. Verify a signature inside before trusting it.
    pub plaintext: Vec<u8>,
}

/// True when `token` is a compact JWE: five base64url segments, the first a
/// JSON header with `enc` (a JSON body with four dots is not one).
pub fn is_compact_jwe(token: &[u8]) -> bool {
    crate::jws::is_compact_jwe(token)
}

/// Decrypts a compact JWE.
///
/// The key and content algorithms must be among those supported; RSA1_5 is
/// refused with the reason. A failure to decrypt the key is not reported as
/// such: a random key is used instead and decryption fails at the tag, so
/// that a padding oracle learns nothing (RFC 7516, section 11.5).
///
/// # Errors
///
/// [`Error::TooLarge`], [`Error::Malformed`] for shape, header or algorithm
/// problems, [`Error::UnknownKeyId`] for a `kid` the decrypter does not have,
/// and [`Error::DecryptionFailed`].
pub fn decrypt(
    token: &str,
    decrypter: &dyn Decrypter,
    limits: &Limits,
) -> Result<Decrypted, Error> {
    let bytes = token.as_bytes();
    limits.check_size("token", bytes.len())?;
    let parts: Vec<&[u8]> = bytes.splitn(6, |&b| b == b'.').collect();
    let [header_segment, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(Malformed::SegmentCount { found: parts.len() }.into());
    };
    limits.check_header_segment(header_segment)?;
    let header_json =
        base64url::decode(header_segment).ok_or(Malformed::Base64(Segment::Header))?;
    let header = parse_header(&header_json, limits)?;
    if let (Some(expected), Some(found)) = (decrypter.key_id(), header.kid.as_deref()) {
        if expected != found {
            return Err(Error::UnknownKeyId(Escaped::new(found)));
        }
    }
    let decode = |segment: &[u8], what: &str| {
        base64url::decode(segment)
            .ok_or_else(|| jwe_error(format!("the {what} is not valid base64url")))
    };
    let encrypted_key = decode(encrypted_key, "encrypted key")?;
    let iv: [u8; 12] = decode(iv, "initialization vector")?
        .try_into()
        .map_err(|_| jwe_error("the initialization vector must be 12 bytes"))?;
    let tag = decode(tag, "authentication tag")?;
    if tag.len() != 16 {
        return Err(jwe_error("the authentication tag must be 16 bytes"));
    }
    let mut in_out = decode(ciphertext, "ciphertext")?;
    in_out.extend_from_slice(&tag);

    let cek = match decrypter.decrypt_key(header.alg, &encrypted_key) {
        Ok(cek) if cek.len() == header.enc.key_len() => cek,
        // Carry on with a random key: the failure shows only at the tag.
        _ => {
            let mut random = Zeroizing::new(vec![0u8; header.enc.key_len()]);
            backend::fill_random(&mut random)?;
            random
        }
    };
    let len = backend::aes_gcm_open(&cek, iv, header_segment, &mut in_out)?;
    in_out.truncate(len);
    Ok(Decrypted {
        header,
        plaintext: in_out,
    })
}

fn parse_header(bytes: &[u8], limits: &Limits) -> Result<JweHeader, Error> {
    let mut map: Map<String, Value> = json::parse_strict(
        bytes,
        Segment::Header,
        limits.max_json_depth(),
        json::header_error,
    )?;
    let mut string = |name: &str| match map.shift_remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::header(format!("{name} must be a string"))),
    };
    let alg = string("alg")?.ok_or_else(|| Error::header("missing alg"))?;
    let enc = string("enc")?.ok_or_else(|| Error::header("missing enc"))?;
    let (kid, cty, typ) = (string("kid")?, string("cty")?, string("typ")?);
    if map.contains_key("zip") {
        return Err(jwe_error("compressed content (zip) is refused"));
    }
    if let Some(crit) = map.get("crit") {
        let first = crit
            .as_array()
            .and_then(|c| c.first())
            .and_then(Value::as_str)
            .unwrap_or("crit");
        return Err(Malformed::UnsupportedCritical(Escaped::new(first)).into());
    }
    Ok(JweHeader {
        alg: KeyEncryption::from_name(&alg)?,
        enc: ContentEncryption::from_name(&enc)?,
        kid,
        cty,
        typ,
        extra: map,
    })
}
