//! `signed-payloads`: sign, verify and inspect signed API payloads from a
//! shell, the way people use `openssl` or a JWT debugger.
//!
//! The interface is a contract for scripts: exit status 0 on success, 1 when
//! the input was rejected (with exactly one `error: ...` line on stderr), 2
//! for usage and I/O errors (missing file, unreadable key).

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use signed_payloads::detached::{DetachedProfile, DetachedSigner, DetachedVerifier};
use signed_payloads::jwe::{self, RsaDecrypter};
use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseMode, ResponseProfile, ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, AsyncSigner, ClaimsPolicy, Error, FixedClock, Jwk, JwkSet, KeyKind, KeyPurpose,
    KeyRegistry, KeySigner, Limits, PrivateKey, PublicKey, SystemClock, VerificationKey,
};
use zeroize::Zeroizing;

#[path = "signed-payloads/httpsig.rs"]
mod httpsig;

/// Inputs larger than this are refused before they are read whole.
const MAX_INPUT_BYTES: u64 = 64 << 20;

#[derive(Parser)]
#[command(
    name = "signed-payloads",
    version,
    about = "Sign, verify and inspect JWS payloads (RSA, ECDSA, Ed25519) and signed API responses"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate an RSA key pair (private key as PKCS#8 PEM, mode 0600).
    #[command(
        after_help = "Example:\n  signed-payloads keygen --private-out private.pem --public-out public.pem --kid key-1 --jwks-out jwks.json"
    )]
    Keygen(KeygenArgs),
    /// Sign a JSON payload as a compact JWT (typ JWT, iat unless --no-iat).
    #[command(
        after_help = "Example:\n  echo '{\"user\":\"ada\"}' | signed-payloads sign --key private.pem --kid key-1 --expires-in 300"
    )]
    Sign(SignArgs),
    /// Verify a token and print its payload exactly as signed.
    #[command(
        after_help = "Keys given without --kid are known by their RFC 7638 thumbprint.\n\nExample:\n  signed-payloads verify --key public.pem --kid key-1 token.txt"
    )]
    Verify(VerifyArgs),
    /// Show a token's header and payload without verifying anything.
    #[command(after_help = "Example:\n  signed-payloads inspect token.txt")]
    Inspect(InspectArgs),
    /// Print public keys as a JWKS.
    #[command(
        after_help = "Example:\n  signed-payloads jwks --key key-1.pem --kid key-1 --key key-2.pem --kid key-2 --alg PS256"
    )]
    Jwks(JwksArgs),
    /// Sign or verify API responses (header mode or embedded JWS).
    #[command(subcommand)]
    Response(ResponseCommand),
    /// Sign or verify a detached JWS header over a body (Open Banking
    /// x-jws-signature).
    #[command(subcommand)]
    Detached(DetachedCommand),
    /// Sign or verify HTTP Message Signatures (RFC 9421) over a raw HTTP
    /// message, with Content-Digest (RFC 9530).
    #[command(subcommand)]
    Httpsig(httpsig::HttpsigCommand),
}

#[derive(Subcommand)]
enum DetachedCommand {
    /// Sign a body: print the x-jws-signature header value.
    #[command(
        after_help = "Example:\n  signed-payloads detached sign --key tpp.pem --kid tpp-1 --iss 0015800001041RHAAY/2kiXQyo0tedjW2somjSgH7 --tan openbanking.org.uk body.json"
    )]
    Sign(DetachedSignArgs),
    /// Verify an x-jws-signature value over a body and print the body exactly.
    #[command(
        after_help = "Example:\n  signed-payloads detached verify --key tpp-public.pem --kid tpp-1 --iss 0015800001041RHAAY/2kiXQyo0tedjW2somjSgH7 --tan openbanking.org.uk --signature \"$SIG\" body.json"
    )]
    Verify(DetachedVerifyArgs),
}

#[derive(Args)]
struct DetachedSignArgs {
    #[command(flatten)]
    key: SigningKey,
    /// The key id to announce.
    #[arg(long)]
    kid: String,
    /// Algorithm [default: the JWK's alg, else PS256]
    #[arg(long, value_parser = parse_algorithm)]
    alg: Option<Algorithm>,
    /// The signer's identity (http://openbanking.org.uk/iss).
    #[arg(long)]
    iss: String,
    /// The trust anchor (http://openbanking.org.uk/tan).
    #[arg(long, default_value = "openbanking.org.uk")]
    tan: String,
    /// Sign the body unencoded (b64 false, Open Banking up to 3.1.3).
    #[arg(long)]
    b64_false: bool,
    /// The raw body (default: standard input).
    #[arg(value_name = "BODY_FILE|-")]
    input: Option<String>,
}

#[derive(Args)]
struct DetachedVerifyArgs {
    #[command(flatten)]
    keys: KeyOptions,
    /// The x-jws-signature header value.
    #[arg(long)]
    signature: String,
    /// The issuer the signer must name.
    #[arg(long)]
    iss: String,
    /// A trust anchor the signature may name (repeatable).
    #[arg(long, action = clap::ArgAction::Append, default_value = "openbanking.org.uk")]
    tan: Vec<String>,
    /// Judge the signing time against this time instead of the clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// The raw body (default: standard input).
    #[arg(value_name = "BODY_FILE|-")]
    input: Option<String>,
}

#[derive(Subcommand)]
enum ResponseCommand {
    /// Sign a response body: print the three signature headers, or the JWS in jwt mode.
    #[command(
        after_help = "Example:\n  signed-payloads response sign --key api.pem --kid api-1 --status 200 body.json"
    )]
    Sign(ResponseSignArgs),
    /// Verify a response and print its body exactly.
    #[command(
        after_help = "Example:\n  signed-payloads response verify --key api-public.pem --kid api-1 --status 200 --headers headers.txt body.json"
    )]
    Verify(ResponseVerifyArgs),
}

#[derive(Args)]
struct KeygenArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "rsa")]
    key_type: KeyType,
    /// RSA modulus size [default: 2048] (RSA only).
    #[arg(long, value_parser = ["2048", "3072", "4096"])]
    bits: Option<String>,
    /// Where to write the private key (PKCS#8 PEM).
    #[arg(long)]
    private_out: PathBuf,
    /// Where to write the public key (SPKI PEM).
    #[arg(long)]
    public_out: Option<PathBuf>,
    /// Key id for the JWKS (default: the RFC 7638 thumbprint).
    #[arg(long)]
    kid: Option<String>,
    /// Where to write the public key as a JWKS.
    #[arg(long)]
    jwks_out: Option<PathBuf>,
    /// Replace files that exist (by writing new ones and renaming them over).
    #[arg(long)]
    force: bool,
}

/// The key types `keygen` makes.
#[derive(Clone, Copy, ValueEnum)]
enum KeyType {
    /// RSA (RS256, PS256, ...).
    Rsa,
    /// ECDSA on P-256 (ES256).
    EcP256,
    /// ECDSA on P-384 (ES384).
    EcP384,
    /// ECDSA on P-521 (ES512).
    EcP521,
    /// Ed25519 (EdDSA).
    Ed25519,
}

/// The signing key: a file, or a key that stays on a PKCS#11 token.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct SigningKey {
    /// Private key file: PEM (PKCS#1 or PKCS#8), DER or JWK.
    #[arg(long)]
    key: Option<PathBuf>,
    /// A private key on a PKCS#11 token (HSM), as an RFC 7512 URI:
    /// pkcs11:token=LABEL;object=KEY?module-path=MODULE.so&pin-source=file:PIN_FILE
    #[arg(long, value_name = "URI")]
    pkcs11: Option<String>,
    /// A key in AWS KMS (key id, ARN or alias/NAME); endpoint, region and
    /// credentials from the standard AWS environment.
    #[arg(long = "aws-kms", value_name = "KEY")]
    aws_kms: Option<String>,
}

impl SigningKey {
    /// The signer, with `alg` if given, else the key's declared algorithm
    /// (a JWK's `alg`), else `default`; with `kid` if given, else a JWK's own.
    fn signer(
        &self,
        alg: Option<Algorithm>,
        default: Algorithm,
        kid: Option<&str>,
    ) -> Result<Arc<dyn AsyncSigner>, Failure> {
        match (&self.key, &self.pkcs11, &self.aws_kms) {
            (Some(path), _, _) => {
                let bytes = read_file(path)?;
                let signer = match jwk_text(&bytes) {
                    Some(text) => KeySigner::from_jwk(text, alg).map_err(|e| {
                        Failure::Usage(format!("cannot use key {}: {e}", path.display()))
                    })?,
                    None => {
                        let key = private_key(path, &bytes)?;
                        let alg =
                            alg.unwrap_or_else(|| key.public_key().kind().algorithm_or(default));
                        KeySigner::new(key, alg).map_err(|e| {
                            Failure::Usage(format!("cannot use key {}: {e}", path.display()))
                        })?
                    }
                };
                Ok(Arc::new(match kid {
                    Some(kid) => signer.with_key_id(kid),
                    None => signer,
                }))
            }
            (None, Some(uri), _) => Ok(token_key(uri, alg, default, kid)?.0),
            (None, None, Some(key)) => Ok(kms_key(key, alg, default, kid)?.0),
            (None, None, None) => Err(Failure::Usage("give --key, --pkcs11 or --aws-kms".into())),
        }
    }
}

/// The runtime the tool's signing runs on: it goes through the async signer
/// interface, which a key in AWS KMS needs and every local key offers.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Usage(format!("cannot start the async runtime: {e}")))
}

/// Runs a future to completion on a runtime of its own.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    Ok(runtime()?.block_on(future))
}

/// Opens a key in a token or service with `requested`, else `default`. A
/// key's kind shows only once it is open: without `--alg`, a default its
/// kind does not allow gives way to the kind's own algorithm.
#[cfg(any(feature = "pkcs11", feature = "aws-kms"))]
fn with_kind_default<T>(
    requested: Option<Algorithm>,
    default: Algorithm,
    open: impl Fn(Algorithm) -> Result<T, Error>,
) -> Result<T, Error> {
    use signed_payloads::KeyRejected;
    match (open(requested.unwrap_or(default)), requested) {
        (Err(Error::KeyRejected(KeyRejected::WrongAlgorithm { kind, .. })), None) => {
            open(kind.default_algorithm())
        }
        (opened, _) => opened,
    }
}

/// The signer for a key in AWS KMS, and its public half. Without `--alg`, a
/// default its kind does not allow gives way to the kind's own algorithm.
#[cfg(feature = "aws-kms")]
fn kms_key(
    key: &str,
    requested: Option<Algorithm>,
    default: Algorithm,
    kid: Option<&str>,
) -> Result<(Arc<dyn AsyncSigner>, PublicKey), Failure> {
    use signed_payloads::aws_kms::AwsKmsSigner;
    let runtime = runtime()?;
    let connect = |alg| runtime.block_on(AwsKmsSigner::builder(key).algorithm(alg).connect());
    let mut signer = with_kind_default(requested, default, connect)
        .map_err(|e| Failure::Usage(format!("cannot use the --aws-kms key: {e}")))?;
    if let Some(kid) = kid {
        signer = signer.with_key_id(kid);
    }
    let public = signer.public_key().clone();
    Ok((Arc::new(signer), public))
}

#[cfg(not(feature = "aws-kms"))]
fn kms_key(
    _key: &str,
    _requested: Option<Algorithm>,
    _default: Algorithm,
    _kid: Option<&str>,
) -> Result<(Arc<dyn AsyncSigner>, PublicKey), Failure> {
    Err(Failure::Usage(
        "this signed-payloads was built without AWS KMS support; install it with --features cli,aws-kms"
            .into(),
    ))
}

/// The signer for the key at a PKCS#11 URI, and the public half the token
/// shows.
#[cfg(feature = "pkcs11")]
fn token_key(
    uri: &str,
    requested: Option<Algorithm>,
    default: Algorithm,
    kid: Option<&str>,
) -> Result<(Arc<dyn AsyncSigner>, PublicKey), Failure> {
    use signed_payloads::pkcs11::{KeyLocation, Pkcs11Signer};
    let open = |alg| KeyLocation::from_uri(uri).and_then(|at| Pkcs11Signer::open(at, alg));
    let mut signer = with_kind_default(requested, default, open)
        .map_err(|e| Failure::Usage(format!("cannot use the --pkcs11 key: {e}")))?;
    if let Some(kid) = kid {
        signer = signer.with_key_id(kid);
    }
    let public = signer.public_key().clone();
    Ok((Arc::new(signer), public))
}

#[cfg(not(feature = "pkcs11"))]
fn token_key(
    _uri: &str,
    _requested: Option<Algorithm>,
    _default: Algorithm,
    _kid: Option<&str>,
) -> Result<(Arc<dyn AsyncSigner>, PublicKey), Failure> {
    Err(Failure::Usage(
        "this signed-payloads was built without PKCS#11 support; install it with --features cli,pkcs11"
            .into(),
    ))
}

#[derive(Args)]
struct SignArgs {
    #[command(flatten)]
    key: SigningKey,
    /// Key id to put in the header.
    #[arg(long)]
    kid: Option<String>,
    /// Algorithm [default: the JWK's alg, else RS256]
    #[arg(long, value_parser = parse_algorithm)]
    alg: Option<Algorithm>,
    /// Leave out the iat claim.
    #[arg(long)]
    no_iat: bool,
    /// Add exp, this many seconds from now.
    #[arg(long, value_name = "SECONDS")]
    expires_in: Option<u64>,
    /// The JSON payload (default: standard input).
    #[arg(value_name = "PAYLOAD_FILE|-")]
    input: Option<String>,
}

/// The key options shared by the verifying commands; `--kid` and `--alg`
/// belong to the `--key` before them.
#[derive(Args)]
struct KeyOptions {
    /// A verification key (any format; a private key's public half is used). At most two.
    #[arg(long, action = clap::ArgAction::Append, required_unless_present = "jwks", conflicts_with = "jwks")]
    key: Vec<PathBuf>,
    /// Key id of the --key before it.
    #[arg(long, action = clap::ArgAction::Append)]
    kid: Vec<String>,
    /// Algorithm of the --key before it.
    #[arg(long, action = clap::ArgAction::Append, value_parser = parse_algorithm)]
    alg: Vec<Algorithm>,
    /// A JWKS file instead of --key.
    #[arg(long)]
    jwks: Option<PathBuf>,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    keys: KeyOptions,
    /// Refuse tokens without kid.
    #[arg(long)]
    require_kid: bool,
    /// Check exp/nbf/iat against this time instead of the clock.
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<u64>,
    /// Clock-skew allowance for exp/nbf/iat (default 60).
    #[arg(long, value_name = "SECONDS")]
    leeway: Option<u64>,
    /// Require aud to be or contain this value.
    #[arg(long)]
    aud: Option<String>,
    /// Require iss to be this value.
    #[arg(long)]
    iss: Option<String>,
    /// Private key to decrypt a JWE (an outer JWE around the JWT; with --raw,
    /// nested either way with the JWS).
    #[arg(long, value_name = "FILE")]
    decrypt_key: Option<PathBuf>,
    /// The payload is not a JWT: check the signature only, print the payload
    /// as signed (no claims, any bytes).
    #[arg(long, conflicts_with_all = ["leeway", "aud", "iss"])]
    raw: bool,
    /// The token (default: standard input).
    #[arg(value_name = "TOKEN_FILE|-")]
    input: Option<String>,
}

#[derive(Args)]
struct InspectArgs {
    /// The token (default: standard input).
    #[arg(value_name = "TOKEN_FILE|-")]
    input: Option<String>,
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("keys").args(["key", "pkcs11", "aws_kms"]).required(true).multiple(true))]
struct JwksArgs {
    /// A public or private key (any format). Repeatable.
    #[arg(long, action = clap::ArgAction::Append)]
    key: Vec<PathBuf>,
    /// A key on a PKCS#11 token (RFC 7512 URI), its public half read from
    /// the token. Repeatable.
    #[arg(long, value_name = "URI", action = clap::ArgAction::Append)]
    pkcs11: Vec<String>,
    /// A key in AWS KMS (key id, ARN or alias/NAME), its public half read
    /// with GetPublicKey. Repeatable.
    #[arg(long = "aws-kms", value_name = "KEY", action = clap::ArgAction::Append)]
    aws_kms: Vec<String>,
    /// Key id of the --key, --pkcs11 or --aws-kms before it (required for
    /// each --key and --pkcs11; an --aws-kms key defaults to its RFC 7638
    /// thumbprint).
    #[arg(long, action = clap::ArgAction::Append)]
    kid: Vec<String>,
    /// Algorithm of the key option before it (default: a JWK's alg, else
    /// RS256 for RSA keys and the kind's own for others).
    #[arg(long, action = clap::ArgAction::Append, value_parser = parse_algorithm)]
    alg: Vec<Algorithm>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    /// Three signature headers.
    Headers,
    /// The body is a compact JWS.
    Jwt,
}

impl From<Mode> for ResponseMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Headers => ResponseMode::Headers,
            Mode::Jwt => ResponseMode::Embedded,
        }
    }
}

#[derive(Args)]
struct ResponseSignArgs {
    #[command(flatten)]
    key: SigningKey,
    /// The key id to announce.
    #[arg(long)]
    kid: String,
    /// Algorithm [default: the JWK's alg, else PS384]
    #[arg(long, value_parser = parse_algorithm)]
    alg: Option<Algorithm>,
    /// HTTP status of the response.
    #[arg(long, default_value_t = 200)]
    status: u16,
    /// Where the signature goes.
    #[arg(long, value_enum, default_value = "headers")]
    mode: Mode,
    /// The raw body (default: standard input).
    #[arg(value_name = "BODY_FILE|-")]
    input: Option<String>,
}

#[derive(Args)]
struct ResponseVerifyArgs {
    #[command(flatten)]
    keys: KeyOptions,
    /// HTTP status of the response (default: the `HTTP/…` status line of
    /// the headers file, else 200).
    #[arg(long)]
    status: Option<u16>,
    /// Where the signature is.
    #[arg(long, value_enum, default_value = "headers")]
    mode: Mode,
    /// File of `Name: value` header lines (headers mode), such as `curl -D`
    /// writes; `-` reads standard input (the body must then be a file).
    #[arg(long, value_name = "FILE|-")]
    headers: Option<PathBuf>,
    /// Private key to decrypt an encrypted (MLE) body in jwt mode.
    #[arg(long, value_name = "FILE")]
    decrypt_key: Option<PathBuf>,
    /// The raw body (default: standard input).
    #[arg(value_name = "BODY_FILE|-")]
    input: Option<String>,
}

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(name).map_err(|e| e.to_string())
}

/// How a command failed, and so which exit status it gets.
enum Failure {
    /// The input was rejected: exit 1.
    Rejected(String),
    /// Usage or I/O: exit 2.
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Rejected(e.to_string())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Rejected(m) | Failure::Usage(m) => f.write_str(m),
        }
    }
}

type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let result = match cli.command {
        Command::Keygen(args) => keygen(&args),
        Command::Sign(args) => sign(&args),
        Command::Verify(args) => verify(&args, sub),
        Command::Inspect(args) => inspect(&args),
        Command::Jwks(args) => jwks(&args, sub),
        Command::Response(ResponseCommand::Sign(args)) => response_sign(&args),
        Command::Response(ResponseCommand::Verify(args)) => {
            let inner = sub.and_then(|m| m.subcommand()).map(|(_, m)| m);
            response_verify(&args, inner)
        }
        Command::Detached(DetachedCommand::Sign(args)) => detached_sign(&args),
        Command::Detached(DetachedCommand::Verify(args)) => {
            let inner = sub.and_then(|m| m.subcommand()).map(|(_, m)| m);
            detached_verify(&args, inner)
        }
        Command::Httpsig(command) => httpsig::run(&command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let message = failure.to_string().replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::from(match failure {
                Failure::Rejected(_) => 1,
                Failure::Usage(_) => 2,
            })
        }
    }
}

fn read_input(input: Option<&str>) -> Result<Vec<u8>, Failure> {
    let mut data = Vec::new();
    let read = match input {
        None | Some("-") => std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut data),
        Some(path) => std::fs::File::open(path)
            .map_err(|e| Failure::Usage(format!("cannot read {path}: {e}")))?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut data),
    };
    read.map_err(|e| Failure::Usage(format!("cannot read input: {e}")))?;
    if data.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::Rejected(format!(
            "input is larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(data)
}

/// The crate's default limits, with the token size raised to what the tool reads.
fn input_limits() -> Limits {
    Limits::default().with_max_token_bytes(MAX_INPUT_BYTES as usize)
}

/// Reads a key or headers file; key files may hold private keys, so the
/// bytes are wiped when dropped.
fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Failure> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
}

fn write_stdout(bytes: &[u8]) -> Outcome {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Usage(format!("cannot write output: {e}")))
}

/// Writes a new file: an existing path (a symbolic link included) is
/// refused unless `force`, and then replaced by renaming a new file over it,
/// so the key never lands in a link's target or keeps an old file's mode.
/// Private keys are created 0600.
fn write_file(path: &Path, contents: &[u8], private: bool, force: bool) -> Outcome {
    let failed =
        |e: std::io::Error| Failure::Usage(format!("cannot write {}: {e}", path.display()));
    if !force {
        return create_new(path, contents, private).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Failure::Usage(format!(
                "{} exists; pass --force to replace it",
                path.display()
            )),
            _ => failed(e),
        });
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    create_new(&temporary, contents, private)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            failed(e)
        })
}

/// Creates `path`, which must not exist (`O_CREAT | O_EXCL`, which also
/// refuses a symbolic link), 0600 for a private key.
fn create_new(path: &Path, contents: &[u8], private: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

fn load_private(path: &Path) -> Result<PrivateKey, Failure> {
    private_key(path, &read_file(path)?)
}

fn private_key(path: &Path, bytes: &[u8]) -> Result<PrivateKey, Failure> {
    PrivateKey::parse(bytes)
        .map_err(|e| Failure::Usage(format!("cannot use key {}: {e}", path.display())))
}

/// The text of a key file that holds a JWK, whose declarations (`alg`,
/// `use`, `key_ops`, `kid`) then apply.
fn jwk_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.trim_start().starts_with('{').then_some(text)
}

/// The JWK a key file (`bytes`, read from `path`) holds, if it holds one.
fn declared_jwk(path: &Path, bytes: &[u8]) -> Result<Option<Jwk>, Failure> {
    jwk_text(bytes)
        .map(|text| {
            Jwk::from_json(text)
                .map_err(|e| Failure::Usage(format!("cannot use key {}: {e}", path.display())))
        })
        .transpose()
}

/// The public key in a key file (`bytes`, read from `path`), public or
/// private; a private key gives its public half.
fn public_key(path: &Path, bytes: &[u8]) -> Result<PublicKey, Failure> {
    match PublicKey::parse(bytes) {
        Ok(key) => Ok(key),
        Err(public_error) => match PrivateKey::parse(bytes) {
            Ok(private) => Ok(private.public_key().clone()),
            Err(_) => Err(Failure::Usage(format!(
                "cannot use key {}: {public_error}",
                path.display()
            ))),
        },
    }
}

/// For one `--key`: the positions, among the `--kid` and `--alg` values, of its own.
type KeySpec = (Option<usize>, Option<usize>);

/// Pairs each `--kid`/`--alg` with the `--key` given before it.
fn key_specs(matches: Option<&ArgMatches>, count: usize) -> Result<Vec<KeySpec>, Failure> {
    let keys: Vec<usize> = matches
        .and_then(|m| m.indices_of("key"))
        .map(|i| i.collect())
        .unwrap_or_default();
    if keys.len() != count {
        return Err(Failure::Usage("could not read the --key options".into()));
    }
    specs_for(matches, &keys)
}

/// The `--kid` and `--alg` of each key option, whose positions among the
/// arguments are `keys` (ascending).
fn specs_for(matches: Option<&ArgMatches>, keys: &[usize]) -> Result<Vec<KeySpec>, Failure> {
    let indices = |name: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(name))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut specs = vec![(None, None); keys.len()];
    for (option, slot) in [("kid", 0), ("alg", 1)] {
        for (n, at) in indices(option).into_iter().enumerate() {
            let owner = keys.iter().rposition(|&k| k < at).ok_or_else(|| {
                Failure::Usage(format!("--{option} must follow the --key it belongs to"))
            })?;
            let entry = &mut specs[owner];
            let field = if slot == 0 {
                &mut entry.0
            } else {
                &mut entry.1
            };
            if field.replace(n).is_some() {
                return Err(Failure::Usage(format!("one --{option} per --key")));
            }
        }
    }
    Ok(specs)
}

fn registry(
    options: &KeyOptions,
    matches: Option<&ArgMatches>,
    default_alg: Algorithm,
) -> Result<KeyRegistry, Failure> {
    if let Some(path) = &options.jwks {
        let bytes = read_file(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::Usage("the JWKS is not UTF-8".into()))?;
        return KeyRegistry::from_jwks(text, default_alg)
            .map_err(|e| Failure::Usage(format!("cannot use JWKS {}: {e}", path.display())));
    }
    if options.key.len() > 2 {
        return Err(Failure::Usage("at most two --key options".into()));
    }
    let mut keys = Vec::new();
    for ((kid, alg), path) in key_specs(matches, options.key.len())?
        .into_iter()
        .zip(&options.key)
    {
        let bytes = read_file(path)?;
        if let Some(key) = key_exchange(path, &bytes, default_alg)? {
            if kid.is_some() || alg.is_some() {
                return Err(Failure::Usage(format!(
                    "{} is a key-exchange response, which names its own key id and algorithm: drop --kid and --alg",
                    path.display()
                )));
            }
            keys.push(key);
            continue;
        }
        let public = public_key(path, &bytes)?;
        let requested = alg.map(|i| options.alg[i]);
        let (declared_kid, alg) = match declared_jwk(path, &bytes)? {
            Some(jwk) => (
                jwk.kid.clone(),
                jwk.algorithm_for(
                    KeyPurpose::Verify,
                    requested,
                    public.kind().algorithm_or(default_alg),
                )
                .map_err(|e| Failure::Usage(format!("cannot use key {}: {e}", path.display())))?,
            ),
            None => (
                None,
                requested.unwrap_or_else(|| public.kind().algorithm_or(default_alg)),
            ),
        };
        let kid = match kid {
            Some(i) => options.kid[i].clone(),
            None => declared_kid.unwrap_or_else(|| public.thumbprint()),
        };
        keys.push(
            VerificationKey::new(kid, public, alg).map_err(|e| Failure::Usage(e.to_string()))?,
        );
    }
    KeyRegistry::from_keys(keys).map_err(|e| Failure::Usage(e.to_string()))
}

/// A key-exchange "Generate Key Pair" response (`{"UniqueId", "Key",
/// "ExpirationUtc", "Algorithm"}`), if that is what the file holds.
fn key_exchange(
    path: &Path,
    bytes: &[u8],
    default_alg: Algorithm,
) -> Result<Option<VerificationKey>, Failure> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    let looks_like_one = text.trim_start().starts_with('{')
        && (text.contains("\"UniqueId\"") || text.contains("\"uniqueId\""));
    if !looks_like_one {
        return Ok(None);
    }
    VerificationKey::from_key_exchange(text, default_alg)
        .map(Some)
        .map_err(|e| Failure::Usage(format!("cannot use key {}: {e}", path.display())))
}

fn keygen(args: &KeygenArgs) -> Outcome {
    let kind = match args.key_type {
        KeyType::Rsa => KeyKind::Rsa,
        KeyType::EcP256 => KeyKind::EcP256,
        KeyType::EcP384 => KeyKind::EcP384,
        KeyType::EcP521 => KeyKind::EcP521,
        KeyType::Ed25519 => KeyKind::Ed25519,
    };
    let key = match (kind, args.bits.as_deref()) {
        (KeyKind::Rsa, bits) => PrivateKey::generate(
            bits.unwrap_or("2048")
                .parse()
                .map_err(|_| Failure::Usage("--bits must be 2048, 3072 or 4096".into()))?,
        )?,
        (_, Some(_)) => {
            return Err(Failure::Usage(format!(
                "--bits applies to RSA keys only, not {kind}"
            )));
        }
        (kind, None) => PrivateKey::generate_kind(kind)?,
    };
    write_file(
        &args.private_out,
        key.secret_pkcs8_pem().as_bytes(),
        true,
        args.force,
    )?;
    if let Some(path) = &args.public_out {
        write_file(
            path,
            key.public_key().to_pem().as_bytes(),
            false,
            args.force,
        )?;
    }
    if let Some(path) = &args.jwks_out {
        let kid = args
            .kid
            .clone()
            .unwrap_or_else(|| key.public_key().thumbprint());
        let jwks = JwkSet::new(vec![
            key.public_key().to_jwk().with_kid(kid).for_signatures(),
        ]);
        write_file(
            path,
            format!("{}\n", jwks.to_json()).as_bytes(),
            false,
            args.force,
        )?;
    }
    Ok(())
}

fn sign(args: &SignArgs) -> Outcome {
    let signer = args
        .key
        .signer(args.alg, Algorithm::RS256, args.kid.as_deref())?;
    let mut request = RequestSigner::remote(signer).with_limits(input_limits());
    if args.no_iat {
        request = request.without_iat();
    }
    if let Some(seconds) = args.expires_in {
        request = request.with_ttl(Duration::from_secs(seconds));
    }
    let payload = read_input(args.input.as_deref())?;
    let token = block_on(request.sign_json_async(&payload))??;
    write_stdout(format!("{token}\n").as_bytes())
}

fn verify(args: &VerifyArgs, matches: Option<&ArgMatches>) -> Outcome {
    let clock: Arc<dyn signed_payloads::Clock> = match args.now {
        Some(now) => Arc::new(FixedClock::new(
            UNIX_EPOCH
                .checked_add(Duration::from_secs(now))
                .ok_or_else(|| Failure::Usage("--now is past what the clock can hold".into()))?,
        )),
        None => Arc::new(SystemClock),
    };
    let registry = Arc::new(registry(&args.keys, matches, Algorithm::RS256)?);
    let input = read_input(args.input.as_deref())?;
    let token = std::str::from_utf8(&input)
        .map_err(|_| Error::from(signed_payloads::Malformed::NotUtf8))?
        .trim();
    let decrypter = match &args.decrypt_key {
        Some(path) => Some(Arc::new(RsaDecrypter::new(&load_private(path)?)?)),
        None => None,
    };
    // Whatever `sign` can produce, `verify` can read back.
    let payload = if args.raw {
        // Not a JWT: the plain JWS pipeline, nested with a JWE either way.
        let mut verifier = ResponseVerifier::new(registry)
            .with_limits(input_limits())
            .require_kid(args.require_kid)
            .with_clock(clock);
        if let Some(decrypter) = decrypter {
            verifier = verifier.with_decrypter(decrypter);
        }
        verifier
            .verify_embedded(token.as_bytes())
            .map_err(|e| with_kid_hint(e, &args.keys))?
            .into_payload()
    } else {
        // A JWT: the request profile's verifier, as the library runs it
        // (a JSON object, every claim rule, b64 refused), after opening an
        // outer JWE.
        let opened;
        let jwt = match &decrypter {
            Some(decrypter) if jwe::is_compact_jwe(token.as_bytes()) => {
                let plaintext = jwe::decrypt(token, &**decrypter, &input_limits())?.plaintext;
                opened = String::from_utf8(plaintext)
                    .map_err(|_| Error::from(signed_payloads::Malformed::NotUtf8))?;
                opened.as_str()
            }
            _ => token,
        };
        let mut policy = ClaimsPolicy::new().with_clock(clock);
        if let Some(leeway) = args.leeway {
            policy = policy.with_leeway(Duration::from_secs(leeway));
        }
        if let Some(aud) = &args.aud {
            policy = policy.with_audience(aud);
        }
        if let Some(iss) = &args.iss {
            policy = policy.with_issuer(iss);
        }
        RequestVerifier::new(registry)
            .with_limits(input_limits())
            .with_claims(policy)
            .require_kid(args.require_kid)
            .verify_bytes(jwt)
            .map_err(|e| with_kid_hint(e, &args.keys))?
            .into_payload()
    };
    write_stdout(&payload)
}

/// An unknown key id, when a `--key` was given without `--kid`, gets a hint:
/// such a key is known by its thumbprint, not by the token's `kid`.
fn with_kid_hint(e: Error, keys: &KeyOptions) -> Failure {
    match e {
        Error::UnknownKeyId(_) if keys.kid.len() < keys.key.len() => Failure::Rejected(format!(
            "{e}; a --key without --kid is known by its RFC 7638 thumbprint: name it with --kid (the token's key id) after its --key"
        )),
        e => e.into(),
    }
}

fn inspect(args: &InspectArgs) -> Outcome {
    let input = read_input(args.input.as_deref())?;
    let token = std::str::from_utf8(&input)
        .map_err(|_| Error::from(signed_payloads::Malformed::NotUtf8))?
        .trim();
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() != 3 && segments.len() != 5 {
        return Err(Error::from(signed_payloads::Malformed::SegmentCount {
            found: segments.len().min(6),
        })
        .into());
    }
    let decode = |segment: &str, what: signed_payloads::Segment| {
        base64_simd::URL_SAFE_NO_PAD
            .decode_to_vec(segment)
            .map_err(|_| Failure::from(Error::from(signed_payloads::Malformed::Base64(what))))
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode(segments[0], signed_payloads::Segment::Header)?)
            .map_err(|_| Failure::Rejected("malformed input: the header is not JSON".into()))?;
    let payload = if segments.len() == 5 {
        serde_json::Value::Null
    } else {
        let bytes = decode(segments[1], signed_payloads::Segment::Payload)?;
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(value) => value,
            Err(_) => match String::from_utf8(bytes) {
                Ok(text) => serde_json::Value::String(text),
                Err(e) => serde_json::Value::String(
                    base64_simd::URL_SAFE_NO_PAD.encode_to_string(e.as_bytes()),
                ),
            },
        }
    };
    let out = serde_json::json!({ "header": header, "payload": payload, "verified": false });
    write_stdout(format!("{out}\n").as_bytes())
}

fn jwks(args: &JwksArgs, matches: Option<&ArgMatches>) -> Outcome {
    // Files and tokens in the order given, so each --kid and --alg finds its key.
    enum Source<'a> {
        File(&'a Path),
        Token(&'a str),
        Kms(&'a str),
    }
    /// A source with its file read once, for what it declares and its key.
    enum Loaded<'a> {
        File(&'a Path, Zeroizing<Vec<u8>>),
        Token(&'a str),
        Kms(&'a str),
    }
    let positions = |name: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(name))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let mut sources: Vec<(usize, Source<'_>)> = positions("key")
        .into_iter()
        .zip(args.key.iter().map(|path| Source::File(path)))
        .chain(
            positions("pkcs11")
                .into_iter()
                .zip(args.pkcs11.iter().map(|uri| Source::Token(uri))),
        )
        .chain(
            positions("aws_kms")
                .into_iter()
                .zip(args.aws_kms.iter().map(|key| Source::Kms(key))),
        )
        .collect();
    if sources.len() != args.key.len() + args.pkcs11.len() + args.aws_kms.len() {
        return Err(Failure::Usage("could not read the key options".into()));
    }
    sources.sort_by_key(|(at, _)| *at);
    let owners: Vec<usize> = sources.iter().map(|(at, _)| *at).collect();
    let mut keys: Vec<Jwk> = Vec::new();
    for ((kid, alg), (_, source)) in specs_for(matches, &owners)?.into_iter().zip(sources) {
        let requested = alg.map(|i| args.alg[i]);
        let source = match source {
            Source::File(path) => Loaded::File(path, read_file(path)?),
            Source::Token(uri) => Loaded::Token(uri),
            Source::Kms(key) => Loaded::Kms(key),
        };
        let declared = match &source {
            Loaded::File(path, bytes) => declared_jwk(path, bytes)?,
            Loaded::Token(_) | Loaded::Kms(_) => None,
        };
        let mut default_kid = None;
        // A file's key is read first: the kind's own algorithm is the default.
        let (public, alg) = match source {
            Loaded::File(path, bytes) => {
                let public = public_key(path, &bytes)?;
                let default = public.kind().algorithm_or(Algorithm::RS256);
                let alg = match &declared {
                    Some(jwk) => jwk
                        .algorithm(requested, default)
                        .map_err(|e| Failure::Usage(e.to_string()))?,
                    None => requested.unwrap_or(default),
                };
                (public, alg)
            }
            Loaded::Token(uri) => {
                let (signer, public) = token_key(uri, requested, Algorithm::RS256, None)?;
                (public, signer.algorithm())
            }
            Loaded::Kms(key) => {
                let (signer, public) = kms_key(key, requested, Algorithm::RS256, None)?;
                default_kid = signer.key_id().map(str::to_owned);
                (public, signer.algorithm())
            }
        };
        public
            .kind()
            .check_algorithm(alg)
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let kid = kid
            .map(|i| args.kid[i].clone())
            .or_else(|| declared.and_then(|jwk| jwk.kid))
            .or(default_kid)
            .ok_or_else(|| {
                Failure::Usage(
                    "each --key and --pkcs11 needs a --kid (or a JWK that names one)".into(),
                )
            })?;
        keys.push(public.to_jwk().with_kid(kid).with_alg(alg).for_signatures());
    }
    write_stdout(format!("{}\n", JwkSet::new(keys).to_json()).as_bytes())
}

fn response_sign(args: &ResponseSignArgs) -> Outcome {
    let signer = ResponseSigner::remote(args.key.signer(
        args.alg,
        Algorithm::PS384,
        Some(&args.kid),
    )?);
    let body = read_input(args.input.as_deref())?;
    match args.mode {
        Mode::Headers => {
            let headers = block_on(signer.sign_headers_async(args.status, &body))??;
            let lines: String = headers
                .iter()
                .map(|(name, value)| format!("{name}: {value}\n"))
                .collect();
            write_stdout(lines.as_bytes())
        }
        Mode::Jwt => {
            let token = block_on(signer.sign_embedded_async(&body))??;
            write_stdout(format!("{token}\n").as_bytes())
        }
    }
}

fn response_verify(args: &ResponseVerifyArgs, matches: Option<&ArgMatches>) -> Outcome {
    let profile = ResponseProfile::default();
    let registry = registry(&args.keys, matches, profile.default_algorithm())?;
    let mut verifier = ResponseVerifier::new(Arc::new(registry)).with_limits(input_limits());
    if let Some(path) = &args.decrypt_key {
        verifier = verifier.with_decrypter(Arc::new(RsaDecrypter::new(&load_private(path)?)?));
    }
    let from_stdin = args.headers.as_deref() == Some(Path::new("-"));
    if from_stdin && matches!(args.input.as_deref(), None | Some("-")) {
        return Err(Failure::Usage(
            "--headers - reads standard input, so give the body as a file".into(),
        ));
    }
    let dump = match (&args.headers, args.mode) {
        (Some(_), _) if from_stdin => parse_header_lines(&read_input(None)?)?,
        (Some(path), _) => parse_header_lines(&read_file(path)?)?,
        (None, Mode::Headers) => {
            return Err(Failure::Usage("headers mode needs --headers FILE".into()));
        }
        (None, Mode::Jwt) => HeaderDump::default(),
    };
    let status = match (args.status, dump.status) {
        (Some(given), Some(dumped)) if given != dumped => {
            return Err(Failure::Usage(format!(
                "--status {given} contradicts the headers file's status line ({dumped})"
            )));
        }
        (Some(status), _) | (None, Some(status)) => status,
        (None, None) => 200,
    };
    let body = read_input(args.input.as_deref())?;
    let verified = verifier.verify(args.mode.into(), status, dump.headers, &body)?;
    write_stdout(verified.payload())
}

fn detached_sign(args: &DetachedSignArgs) -> Outcome {
    let key = args
        .key
        .signer(args.alg, Algorithm::PS256, Some(&args.kid))?;
    let profile = if args.b64_false {
        DetachedProfile::open_banking_v3_1_3()
    } else {
        DetachedProfile::open_banking()
    }
    .with_algorithms([key.algorithm()]);
    let signer = DetachedSigner::remote(key, &args.iss, &args.tan).with_profile(profile);
    let body = read_input(args.input.as_deref())?;
    let value = block_on(signer.sign_async(&body))??;
    write_stdout(format!("{value}\n").as_bytes())
}

fn detached_verify(args: &DetachedVerifyArgs, matches: Option<&ArgMatches>) -> Outcome {
    let registry = registry(&args.keys, matches, Algorithm::PS256)?;
    let algorithms: Vec<Algorithm> = registry
        .snapshot()
        .iter()
        .map(VerificationKey::algorithm)
        .collect();
    let mut verifier = DetachedVerifier::new(Arc::new(registry))
        .with_profile(DetachedProfile::open_banking().with_algorithms(algorithms))
        .with_limits(input_limits())
        .with_issuer(&args.iss)
        .with_trust_anchors(args.tan.iter().cloned());
    if let Some(now) = args.now {
        verifier = verifier.with_clock(Arc::new(FixedClock::new(
            UNIX_EPOCH + Duration::from_secs(now),
        )));
    }
    let body = read_input(args.input.as_deref())?;
    let verified = verifier.verify(&args.signature, &body)?;
    write_stdout(verified.payload())
}

/// What a headers file holds: the status of its `HTTP/…` line, if any, and
/// its `Name: value` lines.
#[derive(Default)]
struct HeaderDump {
    status: Option<u16>,
    headers: Vec<(String, String)>,
}

/// Reads `Name: value` lines; blank lines are skipped, and an `HTTP/1.1 404
/// Not Found` status line (as `curl -D` writes) gives the status. With
/// several (a redirect followed), the last response's counts.
fn parse_header_lines(text: &[u8]) -> Result<HeaderDump, Failure> {
    let text = std::str::from_utf8(text)
        .map_err(|_| Failure::Rejected("the headers file is not UTF-8".into()))?;
    let mut dump = HeaderDump::default();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("HTTP/") {
            let code = line.split_whitespace().nth(1).unwrap_or_default();
            let status = code.parse().ok().filter(|s| (100..=999).contains(s));
            dump.status = Some(status.ok_or_else(|| {
                Failure::Rejected("the headers file's status line has no valid status".into())
            })?);
            dump.headers.clear();
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| Failure::Rejected("a header line has no ':'".into()))?;
        dump.headers
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(dump)
}
