//! Compact JWS of every key kind (RS256, PS256, ES256, ES384, ES512, EdDSA)
//! both ways with PyJWT on pyca/cryptography.
//!
//! Needs the peer that `eval "$(scripts/python-peer.sh)"` installs (it sets
//! `SIGNED_PAYLOADS_PYTHON`). Without it the test prints a notice and
//! passes, unless `SIGNED_PAYLOADS_REQUIRE_PYTHON` is set (CI sets it),
//! when it fails.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use signed_payloads::Algorithm;

struct PyJwt {
    python: PathBuf,
    script: PathBuf,
}

impl PyJwt {
    fn run(&self, args: &[&str], stdin: &[u8]) -> Result<Vec<u8>, String> {
        let mut child = Command::new(&self.python)
            .arg(&self.script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

impl peers::Peer for PyJwt {
    fn name(&self) -> &str {
        "pyjwt"
    }

    fn sign(
        &self,
        alg: Algorithm,
        pkcs8: &Path,
        kid: &str,
        payload: &[u8],
    ) -> Result<String, String> {
        let out = self.run(
            &["sign", alg.as_str(), pkcs8.to_str().unwrap(), kid],
            payload,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn verify(&self, alg: Algorithm, spki: &Path, token: &str) -> Result<Vec<u8>, String> {
        self.run(
            &["verify", alg.as_str(), spki.to_str().unwrap(), token],
            b"",
        )
    }
}

#[test]
fn compact_tokens_of_every_kind_interoperate_with_pyjwt() {
    let Some(python) = std::env::var_os("SIGNED_PAYLOADS_PYTHON") else {
        if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PYTHON").is_some() {
            panic!("SIGNED_PAYLOADS_REQUIRE_PYTHON is set but SIGNED_PAYLOADS_PYTHON is not");
        }
        eprintln!("skipped: needs `eval \"$(scripts/python-peer.sh)\"`");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/peer.py");
    peers::both_ways(&PyJwt {
        python: python.into(),
        script,
    });
}

/// RFC 9421 both ways with Python's `http-message-signatures` (3.0.0), for
/// every algorithm both implement: each side signs a request the other
/// verifies, then signs a response bound to the other's request (`req`
/// components, the request's own signature among them) that the other
/// verifies. The package writes its parameters in its own order
/// (`created;keyid;alg;expires;nonce;tag`, where the crate writes
/// `created;expires;keyid;alg;nonce;tag`), so `@signature-params` is checked
/// as received both ways. A changed body is refused by each side.
#[cfg(feature = "httpsig")]
#[test]
fn http_message_signatures_interoperate_both_ways() {
    use signed_payloads::httpsig::{
        DigestAlgorithm, HttpMessage, HttpSigPolicy, HttpSigSigner, HttpSigVerifier, SharedSecret,
    };
    use signed_payloads::{Error, KeyRegistry, KeySigner, PrivateKey, VerificationKey};
    use std::sync::Arc;

    let Some(python) = std::env::var_os("SIGNED_PAYLOADS_PYTHON") else {
        if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PYTHON").is_some() {
            panic!("SIGNED_PAYLOADS_REQUIRE_PYTHON is set but SIGNED_PAYLOADS_PYTHON is not");
        }
        eprintln!("skipped: needs `eval \"$(scripts/python-peer.sh)\"`");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let peer = PyJwt {
        python: python.into(),
        script: root.join("tests/python/httpsig_peer.py"),
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-httpsig");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        file.to_str().unwrap().to_owned()
    };
    // `raw` with the fields `signed` added after its own (CRLF).
    let splice = |raw: &[u8], before: usize, signed: &HttpMessage| -> Vec<u8> {
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let mut out = raw[..at].to_vec();
        for (name, value) in signed.headers().skip(before) {
            out.extend_from_slice(format!("\r\n{name}: {value}").as_bytes());
        }
        out.extend_from_slice(&raw[at..]);
        out
    };
    let request: &[u8] = b"POST /payments?pet=dog&amount=10 HTTP/1.1\r\nHost: bank.example\r\nContent-Type: application/json\r\n\r\n{\"amount\":\"10.00\",\"note\":\"caf\xc3\xa9\"}";
    let response: &[u8] =
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{\"id\":\"p-1\"}";
    let tamper = |raw: &[u8]| {
        let mut raw = raw.to_vec();
        let last = raw.len() - 2;
        raw[last] ^= 1;
        raw
    };

    /// The crate's side of one algorithm: a signer and a verifier.
    enum Side {
        Key(Arc<KeySigner>, Arc<KeyRegistry>),
        Secret(Arc<SharedSecret>),
    }
    let cases: Vec<(&str, &str, Option<Algorithm>)> = vec![
        ("ecdsa-p256-sha256", "ec-p256.pem", Some(Algorithm::ES256)),
        ("ecdsa-p384-sha384", "ec-p384.pem", Some(Algorithm::ES384)),
        ("ed25519", "ed25519.pkcs8.pem", Some(Algorithm::EdDSA)),
        (
            "rsa-pss-sha512",
            "rsa2048.pkcs8.pem",
            Some(Algorithm::PS512),
        ),
        (
            "rsa-v1_5-sha256",
            "rsa2048.pkcs8.pem",
            Some(Algorithm::RS256),
        ),
        ("hmac-sha256", "", None),
    ];
    for (name, file, alg) in cases {
        let (side, private_file, public_file) = match alg {
            Some(alg) => {
                let pem = std::fs::read_to_string(root.join("tests/data/keys").join(file)).unwrap();
                let key = PrivateKey::from_pem(&pem).unwrap();
                let private = write(
                    &format!("{name}.pkcs8.pem"),
                    key.secret_pkcs8_pem().as_bytes(),
                );
                let public = write(
                    &format!("{name}.spki.pem"),
                    key.public_key().to_pem().as_bytes(),
                );
                let keys = Arc::new(KeyRegistry::new(
                    VerificationKey::new("peer-key", key.public_key().clone(), alg).unwrap(),
                ));
                let signer = Arc::new(KeySigner::new(key, alg).unwrap().with_key_id("peer-key"));
                (Side::Key(signer, keys), private, public)
            }
            None => {
                let bytes: Vec<u8> = (0u8..48).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
                let secret = write("hmac.key", &bytes);
                (
                    Side::Secret(Arc::new(SharedSecret::from_bytes(&bytes).unwrap())),
                    secret.clone(),
                    secret,
                )
            }
        };
        let our_signer = |tag: &str, components: &str| {
            match &side {
                Side::Key(signer, _) => HttpSigSigner::new(signer.clone()),
                Side::Secret(secret) => HttpSigSigner::hmac(secret.clone(), "peer-key"),
            }
            .covering(components)
            .unwrap()
            .with_tag(tag)
            .with_nonce()
            .with_expires_in(300)
            .with_alg_parameter()
        };
        let our_verify =
            |message: &HttpMessage, request: Option<&HttpMessage>, body: &[u8], tag: &str| {
                let policy = HttpSigPolicy::new()
                    .with_tag(tag)
                    .require(r#""content-digest""#)
                    .unwrap()
                    .with_max_age(std::time::Duration::from_secs(60));
                match &side {
                    Side::Key(_, keys) => HttpSigVerifier::new(keys.clone())
                        .with_policy(policy)
                        .verify(message, request, Some(body)),
                    Side::Secret(secret) => signed_payloads::httpsig::verify_hmac(
                        message,
                        request,
                        Some(body),
                        &policy,
                        secret,
                    ),
                }
            };

        // Python signs a request; the crate verifies it.
        let py_request = peer
            .run(
                &["sign", name, &private_file, "peer-key", "py-req"],
                request,
            )
            .unwrap_or_else(|e| panic!("{name}: python sign: {e}"));
        let (py_message, py_body) = HttpMessage::from_http1(&py_request, "https").unwrap();
        let input = py_message.field("signature-input").unwrap();
        assert!(
            input.contains(";keyid=\"peer-key\";alg="),
            "{name}: {input}"
        );
        let covered = our_verify(&py_message, None, py_body, "py-req")
            .unwrap_or_else(|e| panic!("{name}: crate verify of python's request: {e}"));
        assert!(
            covered
                .components
                .contains(&"\"@query-param\";name=\"pet\"".to_owned()),
            "{name}"
        );
        let changed = tamper(&py_request);
        let (changed_message, changed_body) = HttpMessage::from_http1(&changed, "https").unwrap();
        assert!(
            matches!(
                our_verify(&changed_message, None, changed_body, "py-req"),
                Err(Error::HttpSignature(_))
            ),
            "{name}: a changed body passed"
        );

        // The crate signs a response bound to it; Python verifies.
        let (response_message, response_body) = HttpMessage::from_http1(response, "https").unwrap();
        let before = response_message.headers().count();
        let signed = our_signer(
            "rs-resp",
            r#""@status" "content-digest" "@method";req "@target-uri";req "signature";req;key="py""#,
        )
        .with_digest(DigestAlgorithm::Sha512)
        .sign(response_message, Some(&py_message), Some(response_body))
        .unwrap();
        let our_response = splice(response, before, &signed);
        let py_request_file = write("py-request.http", &py_request);
        let out = peer
            .run(
                &[
                    "verify",
                    name,
                    &public_file,
                    "rs-resp",
                    "@status content-digest",
                    &py_request_file,
                ],
                &our_response,
            )
            .unwrap_or_else(|e| panic!("{name}: python verify of the crate's response: {e}"));
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("\"signature\";req;key=\"py\""),
            "{name}: {out}"
        );
        assert!(
            peer.run(
                &[
                    "verify",
                    name,
                    &public_file,
                    "rs-resp",
                    "@status",
                    &py_request_file
                ],
                &tamper(&our_response),
            )
            .is_err(),
            "{name}: python accepted a changed response body"
        );

        // The crate signs a request; Python verifies it.
        let (message, body) = HttpMessage::from_http1(request, "https").unwrap();
        let before = message.headers().count();
        let signed_request = our_signer(
            "rs-req",
            r#""@method" "@target-uri" "@authority" "@query-param";name="pet" "content-type" "content-digest""#,
        )
        .with_digest(DigestAlgorithm::Sha256)
        .sign(message, None, Some(body))
        .unwrap();
        let our_request = splice(request, before, &signed_request);
        peer.run(
            &[
                "verify",
                name,
                &public_file,
                "rs-req",
                "@method @target-uri content-digest",
            ],
            &our_request,
        )
        .unwrap_or_else(|e| panic!("{name}: python verify of the crate's request: {e}"));
        assert!(
            peer.run(
                &["verify", name, &public_file, "rs-req", "@method"],
                &tamper(&our_request)
            )
            .is_err(),
            "{name}: python accepted a changed request body"
        );

        // Python signs a response bound to it; the crate verifies.
        let our_request_file = write("rs-request.http", &our_request);
        let py_response = peer
            .run(
                &[
                    "sign",
                    name,
                    &private_file,
                    "peer-key",
                    "py-resp",
                    &our_request_file,
                ],
                response,
            )
            .unwrap_or_else(|e| panic!("{name}: python sign of a response: {e}"));
        let (py_response_message, py_response_body) =
            HttpMessage::from_http1(&py_response, "https").unwrap();
        let covered = our_verify(
            &py_response_message,
            Some(&signed_request),
            py_response_body,
            "py-resp",
        )
        .unwrap_or_else(|e| panic!("{name}: crate verify of python's response: {e}"));
        assert!(
            covered
                .components
                .contains(&"\"signature\";req;key=\"sig1\"".to_owned()),
            "{name}: {:?}",
            covered.components
        );
    }
}
