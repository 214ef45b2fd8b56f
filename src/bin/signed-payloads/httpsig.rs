//! `signed-payloads httpsig sign|verify`: RFC 9421 HTTP Message Signatures
//! over a raw HTTP/1.1 message, as `curl -i` prints it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Subcommand};
use signed_payloads::httpsig::{
    self, DigestAlgorithm, HttpMessage, HttpSigPolicy, HttpSigSigner, SharedSecret,
};
use signed_payloads::{
    Algorithm, ErrorKind, FixedClock, Jwk, KeyKind, KeyPurpose, KeySigner, KeyVerifier,
};

use super::{
    Failure, Outcome, declared_jwk, jwk_text, private_key, public_key, read_file, read_input,
    write_stdout,
};

#[derive(Subcommand)]
pub(crate) enum HttpsigCommand {
    /// Sign an HTTP message: print it with Signature-Input, Signature and,
    /// with --digest, Content-Digest added.
    #[command(
        after_help = "Components are written as in Signature-Input.\n\nExample:\n  signed-payloads httpsig sign --key client.pem --keyid client-1 --components '\"@method\" \"@target-uri\" \"content-digest\"' --digest sha-256 request.http"
    )]
    Sign(SignArgs),
    /// Verify an HTTP message's signature and print one line: its label,
    /// keyid, algorithm and covered components.
    #[command(
        after_help = "Example:\n  curl -si https://api.example/x | signed-payloads httpsig verify --key server.pub.pem --require '\"@status\" \"content-digest\"' --request request.http"
    )]
    Verify(VerifyArgs),
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// Private key file (PEM, DER or JWK); a JWK with kty oct is an
    /// hmac-sha256 secret.
    #[arg(long)]
    key: PathBuf,
    /// The keyid parameter to send.
    #[arg(long)]
    keyid: String,
    /// Algorithm, as RFC 9421 names it (rsa-pss-sha512, ecdsa-p256-sha256,
    /// ed25519, ...) or by its JWS name (PS256) [default: the JWK's alg,
    /// else the key's own; required for an RSA key]
    #[arg(long, value_name = "NAME")]
    alg: Option<String>,
    /// The covered components, as in Signature-Input:
    /// '"@method" "@target-uri" "content-digest"'.
    #[arg(long, value_name = "LIST")]
    components: String,
    /// The tag parameter.
    #[arg(long)]
    tag: Option<String>,
    /// The signature's label.
    #[arg(long, default_value = "sig1")]
    label: String,
    /// Add a Content-Digest of the body.
    #[arg(long, value_parser = parse_digest, value_name = "sha-256|sha-512")]
    digest: Option<DigestAlgorithm>,
    /// The request a response's req components are read from.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// The scheme of an origin-form request target.
    #[arg(long, default_value = "https", value_parser = ["https", "http"])]
    scheme: String,
    /// The created parameter [default: now].
    #[arg(long, value_name = "UNIX_SECONDS")]
    created: Option<u64>,
    /// The message (default: standard input).
    #[arg(value_name = "MESSAGE_FILE|-")]
    input: Option<String>,
}

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// Public (or private) key file: PEM, DER or JWK; a JWK with kty oct is
    /// an hmac-sha256 secret.
    #[arg(long)]
    key: PathBuf,
    /// The keyid the signature must name, if it names one.
    #[arg(long)]
    keyid: Option<String>,
    /// The key's algorithm (RFC 9421 or JWS name) [default: the JWK's alg,
    /// else the key's own; required for an RSA key]
    #[arg(long, value_name = "NAME")]
    alg: Option<String>,
    /// Verify the signature with this tag.
    #[arg(long, conflicts_with = "label")]
    tag: Option<String>,
    /// Verify the signature with this label.
    #[arg(long)]
    label: Option<String>,
    /// Components that must be covered, as in Signature-Input (repeatable).
    #[arg(long, value_name = "COMPONENTS", action = clap::ArgAction::Append)]
    require: Vec<String>,
    /// The request a response's req components refer to.
    #[arg(long, value_name = "FILE")]
    request: Option<PathBuf>,
    /// The scheme of an origin-form request target.
    #[arg(long, default_value = "https", value_parser = ["https", "http"])]
    scheme: String,
    /// Judge created and expires against this time instead of the clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// Require created, at most this old.
    #[arg(long, value_name = "SECONDS")]
    max_age: Option<u64>,
    /// The message (default: standard input).
    #[arg(value_name = "MESSAGE_FILE|-")]
    input: Option<String>,
}

fn parse_digest(name: &str) -> Result<DigestAlgorithm, String> {
    match name {
        "sha-256" => Ok(DigestAlgorithm::Sha256),
        "sha-512" => Ok(DigestAlgorithm::Sha512),
        _ => Err("give sha-256 or sha-512".into()),
    }
}

pub(crate) fn run(command: &HttpsigCommand) -> Outcome {
    match command {
        HttpsigCommand::Sign(args) => sign(args),
        HttpsigCommand::Verify(args) => verify(args),
    }
}

/// What a key file holds, for HTTP signatures.
enum Key<K> {
    /// A public or private key, with the algorithm it is bound to.
    Asymmetric(K, Algorithm),
    /// An hmac-sha256 secret (a JWK with kty oct).
    Secret(SharedSecret),
}

/// Reads the key at `path` for `purpose`, binding it to `--alg`, a JWK's
/// `alg`, or its kind's own algorithm; an RSA key must be told.
fn load<K>(
    path: &Path,
    alg: Option<&str>,
    purpose: KeyPurpose,
    parse: impl Fn(&Path, &[u8]) -> Result<K, Failure>,
    kind: impl Fn(&K) -> KeyKind,
) -> Result<Key<K>, Failure> {
    let unusable = |e: signed_payloads::Error| {
        Failure::Usage(format!("cannot use key {}: {e}", path.display()))
    };
    let bytes = read_file(path)?;
    if let Some(text) = jwk_text(&bytes) {
        if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|jwk| jwk["kty"] == "oct") {
            if let Some(alg) = alg.filter(|a| *a != "hmac-sha256" && *a != "HS256") {
                return Err(Failure::Usage(format!(
                    "--alg {alg} does not fit the key {}, an hmac-sha256 secret",
                    path.display()
                )));
            }
            return SharedSecret::from_jwk(text, purpose)
                .map(Key::Secret)
                .map_err(unusable);
        }
    }
    let requested = alg
        .map(|name| {
            httpsig::algorithm_from_name(name).ok_or_else(|| {
                Failure::Usage(format!(
                    "--alg {name} is neither an RFC 9421 algorithm nor a JWS one for a public key"
                ))
            })
        })
        .transpose()?;
    let key = parse(path, &bytes)?;
    let kind = kind(&key);
    let declared: Option<Jwk> = declared_jwk(path, &bytes)?;
    let algorithm = match declared {
        Some(jwk) if jwk.alg.is_some() || kind != KeyKind::Rsa || requested.is_some() => jwk
            .algorithm_for(purpose, requested, kind.default_algorithm())
            .map_err(unusable)?,
        Some(jwk) => {
            // An RSA JWK without alg: its declarations still apply.
            jwk.algorithm_for(purpose, None, kind.default_algorithm())
                .map_err(unusable)?;
            return Err(rsa_needs_alg(path));
        }
        None => match (requested, kind) {
            (Some(alg), _) => alg,
            (None, KeyKind::Rsa) => return Err(rsa_needs_alg(path)),
            (None, kind) => kind.default_algorithm(),
        },
    };
    // Named as the user named it, not by the JWS name the refusal would use.
    kind.check_algorithm(algorithm).map_err(|_| {
        Failure::Usage(format!(
            "--alg {} does not fit the key {}, an {kind} key",
            alg.unwrap_or(httpsig::algorithm_name(algorithm)),
            path.display()
        ))
    })?;
    Ok(Key::Asymmetric(key, algorithm))
}

fn rsa_needs_alg(path: &Path) -> Failure {
    Failure::Usage(format!(
        "{} is an RSA key, which does not say its algorithm: give --alg (rsa-pss-sha512, rsa-v1_5-sha256, PS256, ...)",
        path.display()
    ))
}

/// The message in `input` and its body; `--request`'s request, if given.
fn read_message(
    input: Option<&str>,
    scheme: &str,
    request: Option<&Path>,
) -> Result<(Vec<u8>, Option<HttpMessage>), Failure> {
    let raw = read_input(input)?;
    let request = request
        .map(|path| {
            let raw = read_file(path)?;
            HttpMessage::from_http1(&raw, scheme)
                .map(|(message, _)| message)
                .map_err(|e| Failure::Rejected(format!("the --request message: {e}")))
        })
        .transpose()?;
    Ok((raw, request))
}

fn verify(args: &VerifyArgs) -> Outcome {
    let (raw, request) =
        read_message(args.input.as_deref(), &args.scheme, args.request.as_deref())?;
    let key = load(
        &args.key,
        args.alg.as_deref(),
        KeyPurpose::Verify,
        public_key,
        signed_payloads::PublicKey::kind,
    )?;
    let (message, body) = HttpMessage::from_http1(&raw, &args.scheme)?;
    let mut policy = HttpSigPolicy::new();
    if let Some(tag) = &args.tag {
        policy = policy.with_tag(tag);
    }
    if let Some(label) = &args.label {
        policy = policy.with_label(label);
    }
    for components in &args.require {
        policy = policy
            .require(components)
            .map_err(|e| Failure::Usage(format!("--require: {e}")))?;
    }
    if let Some(seconds) = args.max_age {
        policy = policy.with_max_age(Duration::from_secs(seconds));
    }
    if let Some(now) = args.now {
        policy = policy.with_clock(Arc::new(FixedClock::new(
            UNIX_EPOCH + Duration::from_secs(now),
        )));
    }
    let covered = match key {
        Key::Asymmetric(public, alg) => {
            let verifier = KeyVerifier::new(public, alg).map_err(|e| {
                Failure::Usage(format!("cannot use key {}: {e}", args.key.display()))
            })?;
            httpsig::verify(&message, request.as_ref(), Some(body), &policy, &verifier)?
        }
        Key::Secret(secret) => {
            httpsig::verify_hmac(&message, request.as_ref(), Some(body), &policy, &secret)?
        }
    };
    if let (Some(expected), Some(named)) = (&args.keyid, &covered.keyid) {
        if expected != named {
            return Err(Failure::Rejected(format!(
                "the signature names keyid {named:?}, not {expected:?}"
            )));
        }
    }
    let keyid = covered
        .keyid
        .as_deref()
        .map_or_else(|| "(none)".to_owned(), |k| format!("{k:?}"));
    write_stdout(
        format!(
            "verified label={} keyid={keyid} alg={} components=({})\n",
            covered.label,
            covered.algorithm,
            covered.components.join(" ")
        )
        .as_bytes(),
    )
}

fn sign(args: &SignArgs) -> Outcome {
    let (raw, request) =
        read_message(args.input.as_deref(), &args.scheme, args.request.as_deref())?;
    let signer = match load(
        &args.key,
        args.alg.as_deref(),
        KeyPurpose::Sign,
        private_key,
        |key: &signed_payloads::PrivateKey| key.public_key().kind(),
    )? {
        Key::Asymmetric(private, alg) => {
            let key = KeySigner::new(private, alg)
                .map_err(|e| Failure::Usage(format!("cannot use key {}: {e}", args.key.display())))?
                .with_key_id(&args.keyid);
            HttpSigSigner::new(Arc::new(key))
        }
        Key::Secret(secret) => HttpSigSigner::hmac(Arc::new(secret), &args.keyid),
    };
    let mut signer = signer
        .covering(&args.components)
        .map_err(|e| Failure::Usage(format!("--components: {e}")))?
        .with_label(&args.label);
    if let Some(tag) = &args.tag {
        signer = signer.with_tag(tag);
    }
    if let Some(digest) = args.digest {
        signer = signer.with_digest(digest);
    }
    if let Some(created) = args.created {
        signer = signer.with_clock(Arc::new(FixedClock::new(
            UNIX_EPOCH + Duration::from_secs(created),
        )));
    }
    let (message, body) = HttpMessage::from_http1(&raw, &args.scheme)?;
    let before = message.headers().count();
    // A label, tag or key id the field cannot carry is an argument to fix.
    let signed = signer
        .sign(message, request.as_ref(), Some(body))
        .map_err(|e| match e.kind() {
            ErrorKind::Config => Failure::Usage(e.to_string()),
            _ => Failure::from(e),
        })?;
    let added: Vec<(&str, &str)> = signed.headers().skip(before).collect();
    write_stdout(&with_fields(&raw, body.len(), &added))
}

/// `raw` with `added` field lines after its own, in its own line ends.
fn with_fields(raw: &[u8], body_len: usize, added: &[(&str, &str)]) -> Vec<u8> {
    let body_start = raw.len() - body_len;
    let head = &raw[..body_start];
    let crlf = head.ends_with(b"\r\n\r\n");
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let fields_end = head.len() - eol.len();
    let mut out = Vec::with_capacity(raw.len() + 512);
    out.extend_from_slice(&head[..fields_end]);
    for (name, value) in added {
        let name = match *name {
            "signature-input" => "Signature-Input",
            "signature" => "Signature",
            "content-digest" => "Content-Digest",
            other => other,
        };
        out.extend_from_slice(format!("{name}: {value}").as_bytes());
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
    out.extend_from_slice(&raw[body_start..]);
    out
}
