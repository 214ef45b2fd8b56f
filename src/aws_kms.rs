//! A signer whose key stays in AWS KMS (feature `aws-kms`).
//!
//! ```no_run
//! # async fn run() -> Result<(), signed_payloads::Error> {
//! use std::sync::Arc;
//! use signed_payloads::aws_kms::AwsKmsSigner;
//! use signed_payloads::request::RequestSigner;
//! let kms = AwsKmsSigner::builder("alias/payments-signing").connect().await?;
//! let signer = RequestSigner::remote(Arc::new(kms));
//! let token = signer.sign_json_async(br#"{"amount":100}"#).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_kms::Client;
use aws_sdk_kms::config::retry::RetryConfig;
use aws_sdk_kms::config::timeout::TimeoutConfig;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyState, KeyUsageType, MessageType, SigningAlgorithmSpec};

use crate::backend::active as backend;
use crate::error::{Error, Escaped};
use crate::{Algorithm, AsyncSigner, KeyKind, KeyVerifier, PublicKey, SignFuture, Verifier};

/// What the service is called in errors.
const WHAT: &str = "AWS KMS";

/// Signs with an RSA or NIST EC key that never leaves AWS KMS.
///
/// Built with [`AwsKmsSigner::builder`]: a key id, key ARN, alias name or
/// alias ARN, and the standard AWS configuration chain (region, credentials,
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_KMS`). Building it calls
/// `DescribeKey` and `GetPublicKey` once and refuses a key that is not for
/// `SIGN_VERIFY`, is not enabled, or cannot make the algorithm (RS256/384/512
/// with `RSASSA_PKCS1_V1_5_SHA_*`, PS256/384/512 with `RSASSA_PSS_SHA_*`,
/// ES256/384/512 with `ECDSA_SHA_*` on the matching curve). It keeps the
/// public key ([`AwsKmsSigner::public_key`]) for the verifying side and the
/// JWKS, and announces its RFC 7638 thumbprint as `kid` unless told another.
///
/// Each signature hashes the message here and sends `MessageType: DIGEST`
/// (any payload size, one round trip), turns ECDSA's DER signature into the
/// JOSE `R || S`, and checks it against the kept public key before handing
/// it out: a wrong key or algorithm at the service never reaches a client.
/// Throttling is retried with exponential backoff and jitter, a bounded
/// number of times; nothing else is retried.
///
/// It is an [`AsyncSigner`]: use it with `RequestSigner::remote`,
/// `ResponseSigner::remote`, `jws::sign_async` or the tower layer.
pub struct AwsKmsSigner {
    client: Client,
    key: String,
    key_arn: String,
    algorithm: Algorithm,
    spec: SigningAlgorithmSpec,
    key_id: Option<String>,
    verifier: KeyVerifier,
    max_attempts: u32,
    timeout: Duration,
}

/// How to reach the key: see [`AwsKmsSigner::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AwsKmsSignerBuilder {
    key: String,
    algorithm: Option<Algorithm>,
    timeout: Duration,
    max_attempts: u32,
}

impl AwsKmsSigner {
    /// A signer for `key` (key id, key ARN, `alias/NAME` or alias ARN), with
    /// the key's own algorithm (RSA: RS256; P-256: ES256; P-384: ES384;
    /// P-521: ES512) unless [`algorithm`](AwsKmsSignerBuilder::algorithm)
    /// names another, 5 s per attempt, and up to 4 attempts when throttled.
    pub fn builder(key: impl Into<String>) -> AwsKmsSignerBuilder {
        AwsKmsSignerBuilder {
            key: key.into(),
            algorithm: None,
            timeout: Duration::from_secs(5),
            max_attempts: 4,
        }
    }

    /// Announces `key_id` as the `kid` instead of the thumbprint.
    #[must_use]
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The public key KMS holds, as `GetPublicKey` returned it.
    pub fn public_key(&self) -> &PublicKey {
        self.verifier.key()
    }

    /// The key's ARN, as `DescribeKey` returned it.
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    async fn sign_checked(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        // Construction refused EdDSA (kms_algorithm): every other has a hash.
        let bits = self.algorithm.sha2_bits().unwrap_or(256);
        let digest = backend::sha2(bits, message);
        let mut attempt = 1;
        let signature = loop {
            let sent = self
                .client
                .sign()
                .key_id(&self.key_arn)
                .message(Blob::new(digest.clone()))
                .message_type(MessageType::Digest)
                .signing_algorithm(self.spec.clone())
                .send()
                .await;
            match sent {
                Ok(output) => break output.signature.map(Blob::into_inner),
                Err(e) if throttled(&e) && attempt < self.max_attempts => {
                    tokio::time::sleep(backoff(attempt)?).await;
                    attempt += 1;
                }
                Err(e) => return Err(self.failure(e, attempt)),
            }
        };
        let signature = signature.ok_or_else(|| unavailable("Sign returned no signature"))?;
        let signature = match self.public_key().kind().field_len() {
            Some(field) if self.public_key().kind() != KeyKind::Ed25519 => {
                crate::key::ecdsa_signature_to_fixed(&signature, field)
                    .map_err(|_| wrong_signature())?
            }
            _ => signature,
        };
        self.verifier
            .verify(message, &signature)
            .map_err(|_| wrong_signature())?;
        Ok(signature)
    }

    /// An error of the SDK, said by who must act.
    fn failure<E>(&self, e: SdkError<E>, attempts: u32) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        describe(e, &self.key, attempts, self.timeout)
    }
}

impl AwsKmsSignerBuilder {
    /// The algorithm to sign with; it must be one the key's spec can do.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// How long one call to KMS may take (5 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many times a throttled `Sign` is sent in all, at least once (4 by
    /// default), with exponential backoff and jitter between attempts.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Loads the standard AWS configuration chain and checks the key.
    ///
    /// # Errors
    ///
    /// As for [`AwsKmsSignerBuilder::connect_with`].
    pub async fn connect(self) -> Result<AwsKmsSigner, Error> {
        let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        self.connect_with(&config).await
    }

    /// Checks the key through a client built from `config` (with this
    /// builder's timeout, and the SDK's own retries off: throttling is
    /// retried here, nothing else is).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a key that is missing, not for signing, not
    /// enabled, of a spec that cannot make the algorithm, for access
    /// denied, or for an Ed25519 algorithm (not offered here);
    /// [`Error::KeyRejected`] for a public key the crate refuses or an
    /// algorithm its kind does not allow; [`Error::Unavailable`] when KMS
    /// cannot answer.
    pub async fn connect_with(self, config: &aws_config::SdkConfig) -> Result<AwsKmsSigner, Error> {
        let conf = aws_sdk_kms::config::Builder::from(config)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(self.timeout)
                    .build(),
            )
            .retry_config(RetryConfig::disabled())
            .build();
        let client = Client::from_conf(conf);
        let described = client
            .describe_key()
            .key_id(&self.key)
            .send()
            .await
            .map_err(|e| describe(e, &self.key, 1, self.timeout))?;
        let metadata = described
            .key_metadata
            .ok_or_else(|| unavailable("DescribeKey returned no key metadata"))?;
        let named = Escaped::new(&self.key);
        if metadata.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(Error::Config(format!(
                "the KMS key {named} is not for signing (KeyUsage {})",
                metadata.key_usage().map_or("unknown", |u| u.as_str())
            )));
        }
        match metadata.key_state() {
            Some(KeyState::Enabled) => {}
            state => {
                return Err(Error::Config(format!(
                    "the KMS key {named} is {}, not Enabled",
                    state.map_or("in an unknown state", |s| s.as_str())
                )));
            }
        }
        let public = client
            .get_public_key()
            .key_id(&self.key)
            .send()
            .await
            .map_err(|e| describe(e, &self.key, 1, self.timeout))?
            .public_key
            .ok_or_else(|| unavailable("GetPublicKey returned no key"))?;
        let public = PublicKey::from_der(public.as_ref())?;
        let algorithm = self
            .algorithm
            .unwrap_or_else(|| public.kind().default_algorithm());
        public.kind().check_algorithm(algorithm)?;
        let spec = kms_algorithm(algorithm)?;
        if !metadata.signing_algorithms().contains(&spec) {
            return Err(Error::Config(format!(
                "the KMS key {named} ({}) cannot sign with {} ({algorithm})",
                metadata.key_spec().map_or("unknown spec", |s| s.as_str()),
                spec.as_str()
            )));
        }
        let key_arn = metadata.arn().unwrap_or(&self.key).to_owned();
        Ok(AwsKmsSigner {
            client,
            key_id: Some(public.thumbprint()),
            verifier: KeyVerifier::new(public, algorithm)?,
            key: self.key,
            key_arn,
            algorithm,
            spec,
            max_attempts: self.max_attempts,
            timeout: self.timeout,
        })
    }
}

impl AsyncSigner for AwsKmsSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(self.sign_checked(message))
    }
}

impl fmt::Debug for AwsKmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsKmsSigner")
            .field("key", &Escaped::new(&self.key))
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key().thumbprint())
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The KMS signing algorithm of a JOSE algorithm.
fn kms_algorithm(algorithm: Algorithm) -> Result<SigningAlgorithmSpec, Error> {
    Ok(match algorithm {
        Algorithm::RS256 => SigningAlgorithmSpec::RsassaPkcs1V15Sha256,
        Algorithm::RS384 => SigningAlgorithmSpec::RsassaPkcs1V15Sha384,
        Algorithm::RS512 => SigningAlgorithmSpec::RsassaPkcs1V15Sha512,
        Algorithm::PS256 => SigningAlgorithmSpec::RsassaPssSha256,
        Algorithm::PS384 => SigningAlgorithmSpec::RsassaPssSha384,
        Algorithm::PS512 => SigningAlgorithmSpec::RsassaPssSha512,
        Algorithm::ES256 => SigningAlgorithmSpec::EcdsaSha256,
        Algorithm::ES384 => SigningAlgorithmSpec::EcdsaSha384,
        Algorithm::ES512 => SigningAlgorithmSpec::EcdsaSha512,
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            return Err(Error::Config(format!(
                "the AWS KMS signer signs with RSA and NIST EC keys; {algorithm} is not offered"
            )));
        }
    })
}

/// The SHA-2 size each algorithm hashes with.
/// True when KMS asked to slow down.
/// The error codes AWS answers a throttled request with.
const THROTTLING: [&str; 3] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
];

fn throttled<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    matches!(e, SdkError::ServiceError(_)) && e.code().is_some_and(|c| THROTTLING.contains(&c))
}

/// Full jitter over an exponential ceiling: 50 ms, 100 ms, 200 ms, ...
/// capped at 2 s, times a random fraction.
fn backoff(attempt: u32) -> Result<Duration, Error> {
    let ceiling = 50u64.saturating_mul(1 << attempt.min(6)).min(2_000);
    let mut random = [0u8; 8];
    backend::fill_random(&mut random)?;
    let fraction = u64::from_le_bytes(random) % 1_000;
    Ok(Duration::from_millis(ceiling * (fraction + 1) / 1_000))
}

/// An SDK error, said by who must act: the caller's configuration for what
/// a person must fix, the service for what may pass.
fn describe<E>(e: SdkError<E>, key: &str, attempts: u32, timeout: Duration) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let named = Escaped::new(key);
    let code = e.code().map(str::to_owned);
    let message = e.message().map(Escaped::new);
    match &e {
        SdkError::TimeoutError(_) => {
            return unavailable(format!("no answer within {} ms", timeout.as_millis()));
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            return Error::Unavailable {
                what: WHAT,
                source: Box::new(e),
            };
        }
        SdkError::ConstructionFailure(_) => {
            return Error::Config(format!("the KMS request could not be built: {e}"));
        }
        _ => {}
    }
    let detail = message.map_or_else(String::new, |m| format!(": {m}"));
    match code.as_deref() {
        Some(code) if THROTTLING.contains(&code) => {
            unavailable(format!("still throttled after {attempts} attempts{detail}"))
        }
        Some("NotFoundException") => {
            Error::Config(format!("the KMS key {named} does not exist{detail}"))
        }
        Some("DisabledException" | "KMSInvalidStateException") => Error::Config(format!(
            "the KMS key {named} cannot be used in its state{detail}"
        )),
        Some("InvalidKeyUsageException") => {
            Error::Config(format!("the KMS key {named} is not for signing{detail}"))
        }
        Some(
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignature"
            | "ExpiredTokenException",
        ) => Error::Config(format!(
            "AWS refused the credentials or access to the KMS key {named}{detail}"
        )),
        Some(
            "KMSInternalException"
            | "KeyUnavailableException"
            | "DependencyTimeoutException"
            | "InternalFailure"
            | "ServiceUnavailable",
        ) => unavailable(format!("the service could not answer{detail}")),
        Some(other) => Error::Config(format!(
            "KMS refused the request ({}){detail}",
            Escaped::new(other)
        )),
        None => Error::Unavailable {
            what: WHAT,
            source: Box::new(e),
        },
    }
}

fn unavailable(detail: impl Into<String>) -> Error {
    Error::Unavailable {
        what: WHAT,
        source: detail.into().into(),
    }
}

/// KMS answered with a signature that does not verify under the key it
/// described: the service, or what answers in its place, is at fault.
fn wrong_signature() -> Error {
    Error::backend(
        "AWS KMS returned a signature that does not verify under the key's public key; it was not used",
    )
}
