//! The command-line tool as a black box: every subcommand, every exit code,
//! every key format.
#![cfg(feature = "cli")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;
use signed_payloads::jwe::RsaEncrypter;
use signed_payloads::response::{NestingOrder, ResponseSigner};
use signed_payloads::{Algorithm, KeySigner, PrivateKey};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn cli() -> Command {
    Command::cargo_bin("signed-payloads").unwrap()
}

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run(args: &[&str], stdin: &[u8]) -> Run {
    let output = cli()
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: output.stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_rejected(r: &Run, fragment: &str) {
    assert_eq!(r.code, 1, "stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: ") && r.stderr.contains(fragment),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn rfc7515_a2_verify_prints_the_exact_payload() {
    // Its exp is 1300819380 (March 2011).
    let now = ["--now", "1300819000"];
    let r = run(
        &[
            "verify",
            "--key",
            path(&data("rfc7515/A2.rsa_public_spki.pem")),
            now[0],
            now[1],
            path(&data("rfc7515/A2.compact.txt")),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        std::fs::read(data("rfc7515/A2.payload.bin")).unwrap()
    );
    // The same through standard input, with '-'.
    let token = std::fs::read(data("rfc7515/A2.compact.txt")).unwrap();
    let r = run(
        &[
            "verify",
            "--key",
            path(&data("rfc7515/A2.rsa_private_pkcs1.pem")),
            now[0],
            now[1],
            "-",
        ],
        &token,
    );
    assert_eq!(
        r.stdout,
        std::fs::read(data("rfc7515/A2.payload.bin")).unwrap()
    );
    // Without --now the RFC token has long expired.
    assert_rejected(
        &run(
            &[
                "verify",
                "--key",
                path(&data("rfc7515/A2.rsa_public_spki.pem")),
            ],
            &token,
        ),
        "expired",
    );
}

#[test]
fn keygen_sign_verify_round_trip() {
    let dir = tempdir();
    let (private, public, jwks) = (
        dir.join("p.pem"),
        dir.join("pub.pem"),
        dir.join("jwks.json"),
    );
    let r = run(
        &[
            "keygen",
            "--private-out",
            path(&private),
            "--public-out",
            path(&public),
            "--kid",
            "k1",
            "--jwks-out",
            path(&jwks),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let set: Value = serde_json::from_slice(&std::fs::read(&jwks).unwrap()).unwrap();
    assert_eq!(set["keys"][0]["kid"], "k1");

    let r = run(
        &[
            "sign",
            "--key",
            path(&private),
            "--kid",
            "k1",
            "--expires-in",
            "600",
        ],
        br#"{"user":"ada"}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = String::from_utf8(r.stdout).unwrap();
    assert!(token.ends_with('\n') && token.matches('.').count() == 2);
    for keys in [
        vec!["--key", path(&public), "--kid", "k1"],
        vec!["--jwks", path(&jwks)],
        vec!["--key", path(&private), "--kid", "k1"],
    ] {
        let mut args = vec!["verify"];
        args.extend(keys);
        let r = run(&args, token.as_bytes());
        assert_eq!(r.code, 0, "{}", r.stderr);
        let payload: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(payload["user"], "ada");
        assert!(payload["iat"].is_u64() && payload["exp"].is_u64());
    }
    let r = run(
        &[
            "sign",
            "--key",
            path(&private),
            "--no-iat",
            "--alg",
            "PS512",
        ],
        br#"{"a":1}"#,
    );
    let r = run(
        &["verify", "--key", path(&public), "--alg", "PS512"],
        &r.stdout,
    );
    assert_eq!(r.stdout, br#"{"a":1}"#);
}

#[test]
fn every_key_format_signs_and_verifies() {
    let private_formats = [
        "keys/rsa2048.pkcs1.pem",
        "keys/rsa2048.pkcs8.pem",
        "keys/rsa2048.pkcs1.der",
        "keys/rsa2048.pkcs8.der",
        "keys/rsa2048.private.jwk",
    ];
    let public_formats = [
        "keys/rsa2048.spki.pem",
        "keys/rsa2048.pkcs1-public.pem",
        "keys/rsa2048.cert.pem",
        "keys/rsa2048.spki.der",
        "keys/rsa2048.pkcs1-public.der",
        "keys/rsa2048.cert.der",
        "keys/rsa2048.spki.b64",
        "keys/rsa2048.public.jwk",
    ];
    for private in private_formats {
        let signed = run(
            &["sign", "--key", path(&data(private)), "--kid", "k"],
            b"{}",
        );
        assert_eq!(signed.code, 0, "{private}: {}", signed.stderr);
        for public in public_formats {
            let r = run(
                &["verify", "--key", path(&data(public)), "--kid", "k"],
                &signed.stdout,
            );
            assert_eq!(r.code, 0, "{private} / {public}: {}", r.stderr);
        }
    }
}

#[test]
fn exit_codes_and_single_line_errors() {
    let key = data("keys/rsa2048.pkcs8.pem");
    let token = run(&["sign", "--key", path(&key), "--kid", "k1"], b"{}").stdout;
    // 1: rejected input.
    assert_rejected(
        &run(
            &[
                "verify",
                "--key",
                path(&data("rfc7515/A2.rsa_public_spki.pem")),
                "--kid",
                "k1",
            ],
            &token,
        ),
        "signature verification failed",
    );
    assert_rejected(
        &run(&["verify", "--key", path(&key), "--kid", "other"], &token),
        "unknown key id",
    );
    assert_rejected(
        &run(
            &["verify", "--key", path(&key), "--kid", "k1"],
            b"not.a.token",
        ),
        "malformed input",
    );
    assert_rejected(
        &run(&["verify", "--key", path(&key), "--kid", "k1"], b"\xff\xfe"),
        "UTF-8",
    );
    assert_rejected(
        &run(&["sign", "--key", path(&key)], b"{not json"),
        "malformed",
    );
    assert_rejected(&run(&["sign", "--key", path(&key)], b"[1,2]"), "object");
    assert_rejected(&run(&["inspect"], b"a.b"), "segments");
    let none = std::fs::read(data("rfc7515/A5.compact.txt")).unwrap();
    assert_rejected(&run(&["verify", "--key", path(&key)], &none), "malformed");
    // 2: usage and I/O.
    for args in [
        vec!["verify", "--key", "/nonexistent/key.pem"],
        vec!["verify", "--key", path(&data("keys/rsa1024.pkcs1.pem"))],
        vec![
            "verify",
            "--key",
            path(&data("keys/rsa2048.encrypted-pkcs8.pem")),
        ],
        vec!["verify", "--kid", "k", "--key", path(&key)],
        vec![
            "verify",
            "--key",
            path(&key),
            "--key",
            path(&key),
            "--key",
            path(&key),
        ],
        vec!["verify", "--key", path(&key), "--kid", "a", "--kid", "b"],
        vec!["verify"],
        vec!["sign", "--key", path(&key), "--alg", "HS256"],
        vec!["sign", "--key", path(&key), "/nonexistent/payload.json"],
        vec!["keygen", "--bits", "1024", "--private-out", "/tmp/never"],
        vec!["response", "verify", "--key", path(&key), "--kid", "a"],
        vec!["frobnicate"],
    ] {
        let r = run(&args, b"{}");
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn claim_flags() {
    let key = data("keys/rsa2048.pkcs8.pem");
    let signed = |payload: &str| {
        run(
            &["sign", "--key", path(&key), "--kid", "k", "--no-iat"],
            payload.as_bytes(),
        )
        .stdout
    };
    let verify = |token: &[u8], extra: &[&str]| {
        let mut args = vec!["verify", "--key", path(&key), "--kid", "k"];
        args.extend_from_slice(extra);
        run(&args, token)
    };
    let token = signed(r#"{"exp":1000,"nbf":500,"aud":["api"],"iss":"program-1"}"#);
    assert_eq!(verify(&token, &["--now", "900"]).code, 0);
    assert_rejected(
        &verify(&token, &["--now", "1100", "--leeway", "0"]),
        "expired",
    );
    assert_eq!(verify(&token, &["--now", "1030", "--leeway", "60"]).code, 0);
    assert_rejected(
        &verify(&token, &["--now", "400", "--leeway", "0"]),
        "not valid yet",
    );
    assert_eq!(
        verify(
            &token,
            &["--now", "900", "--aud", "api", "--iss", "program-1"]
        )
        .code,
        0
    );
    assert_rejected(
        &verify(&token, &["--now", "900", "--aud", "web"]),
        "audience",
    );
    assert_rejected(
        &verify(&token, &["--now", "900", "--iss", "program-"]),
        "issuer",
    );
    // A payload that is not a JSON object is not a JWT: refused, unless
    // --raw says so, and then returned as is.
    let signed_over = |payload: &[u8], header: signed_payloads::Header| {
        let signer = KeySigner::new(
            PrivateKey::from_pem(&std::fs::read_to_string(&key).unwrap()).unwrap(),
            Algorithm::RS256,
        )
        .unwrap()
        .with_key_id("k");
        signed_payloads::jws::sign(&header, payload, &signer).unwrap()
    };
    let plain = || signed_payloads::Header::new(Algorithm::RS256).with_kid("k");
    let text = signed_over(b"plain text", plain());
    assert_rejected(&verify(text.as_bytes(), &[]), "object");
    assert_eq!(verify(text.as_bytes(), &["--raw"]).stdout, b"plain text");
    assert_eq!(verify(text.as_bytes(), &["--raw", "--aud", "api"]).code, 2);
    // The review's bypasses: a byte-order mark before the object skipped the
    // claim checks, and b64:false was accepted in a JWT.
    let bom = signed_over(b"\xEF\xBB\xBF{\"exp\":1}", plain());
    assert_rejected(&verify(bom.as_bytes(), &[]), "object");
    let unencoded = signed_over(br#"{"exp":99999999999}"#, plain().unencoded_payload());
    assert_rejected(&verify(unencoded.as_bytes(), &[]), "b64");
    // --now past what the clock holds is a usage error, not a panic.
    let r = verify(&token, &["--now", "18446744073709551615"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--now"), "{}", r.stderr);
    // kid handling.
    let no_kid = run(&["sign", "--key", path(&key)], b"{}").stdout;
    assert_eq!(verify(&no_kid, &[]).code, 0);
    assert_rejected(&verify(&no_kid, &["--require-kid"]), "no kid");
    // Two keys: each with its own kid and algorithm.
    let other = data("rfc7515/A2.rsa_private_pkcs8.pem");
    let ps = run(
        &[
            "sign",
            "--key",
            path(&other),
            "--kid",
            "two",
            "--alg",
            "PS256",
        ],
        b"{}",
    )
    .stdout;
    let r = run(
        &[
            "verify",
            "--key",
            path(&key),
            "--kid",
            "one",
            "--key",
            path(&other),
            "--kid",
            "two",
            "--alg",
            "PS256",
        ],
        &ps,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(
        &[
            "verify",
            "--key",
            path(&key),
            "--kid",
            "one",
            "--alg",
            "PS256",
            "--key",
            path(&other),
            "--kid",
            "two",
        ],
        &ps,
    );
    assert_rejected(&r, "does not match");
}

#[test]
fn inspect_prints_header_and_payload_and_never_claims_validity() {
    let r = run(&["inspect", path(&data("rfc7515/A2.compact.txt"))], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let shown: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(shown["header"]["alg"], "RS256");
    assert_eq!(shown["payload"]["iss"], "joe");
    assert_eq!(shown["verified"], false);
    assert_eq!(shown.as_object().unwrap().len(), 3);
    // Even a token this crate would never accept can be looked at.
    let r = run(
        &["inspect"],
        &std::fs::read(data("rfc7515/A1.compact.txt")).unwrap(),
    );
    let shown: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (shown["header"]["alg"].as_str(), shown["verified"].as_bool()),
        (Some("HS256"), Some(false))
    );
}

#[test]
fn jwks_command() {
    let r = run(
        &[
            "jwks",
            "--key",
            path(&data("keys/rsa2048.spki.pem")),
            "--kid",
            "a",
            "--key",
            path(&data("rfc7515/A2.rsa_private_pkcs1.pem")),
            "--kid",
            "b",
            "--alg",
            "PS384",
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let set: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (
            set["keys"][0]["kid"].as_str(),
            set["keys"][0]["alg"].as_str()
        ),
        (Some("a"), Some("RS256"))
    );
    assert_eq!(
        (
            set["keys"][1]["kid"].as_str(),
            set["keys"][1]["alg"].as_str()
        ),
        (Some("b"), Some("PS384"))
    );
    assert!(set["keys"][1].get("d").is_none());
    assert_eq!(
        run(
            &["jwks", "--key", path(&data("keys/rsa2048.spki.pem"))],
            b""
        )
        .code,
        2
    );
}

#[test]
fn response_sign_and_verify_in_both_modes() {
    let dir = tempdir();
    let key = data("keys/rsa2048.pkcs8.pem");
    let public = data("keys/rsa2048.spki.pem");
    let body = br#"{"Status":"Active"}"#;
    let r = run(
        &[
            "response",
            "sign",
            "--key",
            path(&key),
            "--kid",
            "api-1",
            "--status",
            "201",
        ],
        body,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = String::from_utf8(r.stdout).unwrap();
    assert_eq!(lines.lines().count(), 3);
    assert!(lines.starts_with("X-Splitit-ResponseSignature-KeyId: api-1\n"));
    let headers = dir.join("headers.txt");
    std::fs::write(&headers, &lines).unwrap();
    let verify = |status: &str, body: &[u8]| {
        run(
            &[
                "response",
                "verify",
                "--key",
                path(&public),
                "--kid",
                "api-1",
                "--status",
                status,
                "--headers",
                path(&headers),
            ],
            body,
        )
    };
    let r = verify("201", body);
    assert_eq!(
        (r.code, r.stdout.as_slice()),
        (0, &body[..]),
        "{}",
        r.stderr
    );
    assert_rejected(&verify("200", body), "signature verification failed");
    assert_rejected(&verify("201", b"{}"), "signature verification failed");
    std::fs::write(&headers, lines.replace("api-1", "api-2")).unwrap();
    assert_rejected(&verify("201", body), "unknown key id");
    std::fs::write(&headers, "X-Splitit-ResponseSignature-KeyId: api-1\n").unwrap();
    assert_rejected(&verify("201", body), "X-Splitit-ResponseSignature-Token");

    let r = run(
        &[
            "response",
            "sign",
            "--key",
            path(&key),
            "--kid",
            "api-1",
            "--mode",
            "jwt",
        ],
        body,
    );
    let r = run(
        &[
            "response",
            "verify",
            "--key",
            path(&public),
            "--kid",
            "api-1",
            "--mode",
            "jwt",
        ],
        &r.stdout,
    );
    assert_eq!(
        (r.code, r.stdout.as_slice()),
        (0, &body[..]),
        "{}",
        r.stderr
    );
}

#[test]
fn decrypt_key_handles_both_nesting_orders() {
    let api =
        PrivateKey::from_pem(&std::fs::read_to_string(data("keys/rsa2048.pkcs8.pem")).unwrap())
            .unwrap();
    let client = data("rfc7515/A2.rsa_private_pkcs8.pem");
    let client_public = PrivateKey::from_pem(&std::fs::read_to_string(&client).unwrap())
        .unwrap()
        .public_key()
        .clone();
    let signer = Arc::new(
        KeySigner::new(api, Algorithm::RS256)
            .unwrap()
            .with_key_id("api-1"),
    );
    for order in [NestingOrder::SignedJwe, NestingOrder::EncryptedJws] {
        let token = ResponseSigner::new(signer.clone())
            .with_encryption(RsaEncrypter::new(&client_public).unwrap(), order)
            .sign_embedded(br#"{"secret":1}"#)
            .unwrap();
        let api_public = data("keys/rsa2048.spki.pem");
        let base = ["verify", "--key", path(&api_public), "--kid", "api-1"];
        let mut args = base.to_vec();
        args.extend(["--decrypt-key", path(&client)]);
        // A JWS around a JWE carries no claims of its own: --raw.
        if order == NestingOrder::SignedJwe {
            args.push("--raw");
        }
        let r = run(&args, token.as_bytes());
        assert_eq!(
            (r.code, r.stdout.as_slice()),
            (0, &br#"{"secret":1}"#[..]),
            "{order:?}: {}",
            r.stderr
        );
        if order == NestingOrder::EncryptedJws {
            assert_rejected(&run(&base, token.as_bytes()), "JWE");
        }
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "signed-payloads-cli-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn what_sign_produces_verify_reads_back_even_when_large() {
    let key = data("keys/rsa2048.pkcs8.pem");
    let payload = format!(r#"{{"d":"{}"}}"#, "x".repeat(2_000_000));
    let signed = run(
        &["sign", "--key", path(&key), "--no-iat"],
        payload.as_bytes(),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let verified = run(&["verify", "--key", path(&key)], &signed.stdout);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert_eq!(verified.stdout, payload.as_bytes());
}

/// keygen never writes a private key into an existing file or through a
/// symbolic link: it refuses unless --force, and --force puts a new 0600
/// file in place (a link is replaced, its target untouched).
#[cfg(unix)]
#[test]
fn keygen_refuses_existing_paths_and_never_follows_links() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempdir().join("keygen-safety");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keygen = |out: &Path, force: bool| {
        let mut args = vec!["keygen", "--private-out", path(out)];
        if force {
            args.push("--force");
        }
        run(&args, b"")
    };

    let existing = dir.join("existing.pem");
    std::fs::write(&existing, "old").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = keygen(&existing, false);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "old");
    let r = keygen(&existing, true);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mode = std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&existing)
            .unwrap()
            .contains("PRIVATE KEY")
    );

    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "victim").unwrap();
    let link = dir.join("link.pem");
    symlink(&victim, &link).unwrap();
    assert_eq!(keygen(&link, false).code, 2);
    assert_eq!(keygen(&link, true).code, 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "victim");
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by a file"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The hand-written PEM is the same text the pem crate writes.
#[test]
fn private_keys_export_as_standard_pem() {
    let key =
        PrivateKey::from_pem(&std::fs::read_to_string(data("keys/rsa2048.pkcs8.pem")).unwrap())
            .unwrap();
    let ours = key.secret_pkcs8_pem();
    let reference = pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", key.secret_pkcs8_der().to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    assert_eq!(ours.as_str(), reference);
    assert_eq!(
        PrivateKey::from_pem(&ours).unwrap().public_key(),
        key.public_key()
    );
}

/// A `curl -D` dump carries the status: it is used, a contradicting
/// `--status` is refused, and `--headers -` reads the dump from standard
/// input; a key-exchange response works as a `--key`; a token whose `kid`
/// does not match a `--key` without `--kid` gets a hint.
#[test]
fn response_verify_reads_dumps_and_key_exchange_files() {
    let dir = tempdir().join("dumps");
    std::fs::create_dir_all(&dir).unwrap();
    let key = data("keys/rsa2048.pkcs8.pem");
    let body = br#"{"error":"not found"}"#;
    let signed = run(
        &[
            "response",
            "sign",
            "--key",
            path(&key),
            "--kid",
            "4f1c",
            "--status",
            "404",
        ],
        body,
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let dump = format!(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n{}\r\n",
        String::from_utf8(signed.stdout)
            .unwrap()
            .replace('\n', "\r\n")
    );
    let (dump_path, body_path, exchange) = (
        dir.join("dump.txt"),
        dir.join("body.json"),
        dir.join("kx.json"),
    );
    std::fs::write(&dump_path, &dump).unwrap();
    std::fs::write(&body_path, body).unwrap();
    let spki = std::fs::read_to_string(data("keys/rsa2048.spki.b64")).unwrap();
    std::fs::write(
        &exchange,
        format!(
            r#"{{"UniqueId":"4f1c","Key":"{}","ExpirationUtc":"2030-01-01T00:00:00Z","Algorithm":"RSA-PSS-SHA384"}}"#,
            spki.trim()
        ),
    )
    .unwrap();
    let verify = |extra: &[&str], stdin: &[u8]| {
        let mut args = vec!["response", "verify", "--key", path(&exchange)];
        args.extend_from_slice(extra);
        run(&args, stdin)
    };
    // The status comes from the dump.
    let r = verify(&["--headers", path(&dump_path)], body);
    assert_eq!(
        (r.code, r.stdout.as_slice()),
        (0, &body[..]),
        "{}",
        r.stderr
    );
    // A contradicting --status is a usage error; an agreeing one is fine.
    assert_eq!(
        verify(&["--headers", path(&dump_path), "--status", "200"], body).code,
        2
    );
    assert_eq!(
        verify(&["--headers", path(&dump_path), "--status", "404"], body).code,
        0
    );
    // --headers - reads the dump from standard input, the body from a file.
    let r = verify(&["--headers", "-", path(&body_path)], dump.as_bytes());
    assert_eq!(
        (r.code, r.stdout.as_slice()),
        (0, &body[..]),
        "{}",
        r.stderr
    );
    assert_eq!(verify(&["--headers", "-"], dump.as_bytes()).code, 2);
    // A key-exchange file names its own kid and algorithm.
    assert_eq!(
        verify(&["--kid", "x", "--headers", path(&dump_path)], body).code,
        2
    );

    // verify --key without --kid, on a token with a kid: the hint.
    let token = run(&["sign", "--key", path(&key), "--kid", "4f1c"], b"{}").stdout;
    let r = run(
        &["verify", "--key", path(&data("keys/rsa2048.spki.pem"))],
        &token,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("unknown key id") && r.stderr.contains("--kid"),
        "{}",
        r.stderr
    );
}

/// `detached sign` prints an x-jws-signature value that `detached verify`
/// accepts over the same body (both encodings); a changed body, another
/// issuer, another trust anchor or a stale signing time are rejected.
#[test]
fn detached_sign_and_verify() {
    let key = data("keys/rsa2048.pkcs8.pem");
    let public = data("keys/rsa2048.spki.pem");
    let body = br#"{"Data":{"Initiation":{"Amount":"1.00"}}}"#;
    for variant in [&[][..], &["--b64-false"][..]] {
        let mut args = vec![
            "detached",
            "sign",
            "--key",
            path(&key),
            "--kid",
            "tpp-1",
            "--iss",
            "org/sw",
        ];
        args.extend_from_slice(variant);
        let signed = run(&args, body);
        assert_eq!(signed.code, 0, "{}", signed.stderr);
        let signature = String::from_utf8(signed.stdout).unwrap();
        let signature = signature.trim();
        assert!(signature.contains(".."), "{signature}");
        let verify = |iss: &str, tan: &str, body: &[u8]| {
            run(
                &[
                    "detached",
                    "verify",
                    "--key",
                    path(&public),
                    "--kid",
                    "tpp-1",
                    "--alg",
                    "PS256",
                    "--iss",
                    iss,
                    "--tan",
                    tan,
                    "--signature",
                    signature,
                ],
                body,
            )
        };
        let ok = verify("org/sw", "openbanking.org.uk", body);
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        assert_eq!(ok.stdout, body);
        assert_rejected(
            &verify("org/sw", "openbanking.org.uk", br#"{"Data":{}}"#),
            "signature verification failed",
        );
        assert_rejected(
            &verify("someone/else", "openbanking.org.uk", body),
            "expected issuer",
        );
        assert_rejected(&verify("org/sw", "example.org", body), "trust anchor");
    }
    // Signed at a known time; checked ten minutes later.
    let signed_at = 1_800_000_000;
    let private = PrivateKey::from_pem(&std::fs::read_to_string(&key).unwrap()).unwrap();
    let signature = signed_payloads::detached::DetachedSigner::new(
        Arc::new(
            KeySigner::new(private, Algorithm::PS256)
                .unwrap()
                .with_key_id("tpp-1"),
        ),
        "org/sw",
        "openbanking.org.uk",
    )
    .with_clock(Arc::new(signed_payloads::FixedClock::new(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(signed_at),
    )))
    .sign(body)
    .unwrap();
    let at = |now: u64| {
        let now = now.to_string();
        run(
            &[
                "detached",
                "verify",
                "--key",
                path(&public),
                "--kid",
                "tpp-1",
                "--alg",
                "PS256",
                "--iss",
                "org/sw",
                "--now",
                &now,
                "--signature",
                &signature,
            ],
            body,
        )
    };
    assert_eq!(at(signed_at + 60).code, 0);
    assert_rejected(&at(signed_at + 600), "older than the maximum");
}

/// Held by every test that starts CLI processes on the SoftHSM2 token: a
/// refused PIN makes SoftHSM2 rewrite the token's file, and another process
/// reading it at that moment gets CKR_GENERAL_ERROR (seen in CI).
#[cfg(feature = "pkcs11")]
fn token_alone() -> std::sync::MutexGuard<'static, ()> {
    static TOKEN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TOKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The SoftHSM2 token of `scripts/softhsm.sh`, as a `pkcs11:` URI for `key`
/// (None when the token is not set up; tests/pkcs11.rs reports that).
#[cfg(feature = "pkcs11")]
fn token_uri(key: &str, pin: &str) -> Option<String> {
    let module = std::env::var("SIGNED_PAYLOADS_PKCS11_MODULE").ok()?;
    let token = std::env::var("SIGNED_PAYLOADS_PKCS11_TOKEN").ok()?;
    Some(format!(
        "pkcs11:token={token};object={key};type=private?module-path={module}&{pin}"
    ))
}

#[cfg(feature = "pkcs11")]
#[test]
fn pkcs11_keys_sign_in_every_command_and_publish_their_jwk() {
    let _token = token_alone();
    let Ok(pin_file) = std::env::var("SIGNED_PAYLOADS_PKCS11_PIN_FILE") else {
        assert!(std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PKCS11").is_none());
        return;
    };
    let pin = format!("pin-source=file:{pin_file}");
    let uri = token_uri("rsa-2048", &pin).unwrap();
    let dir = tempdir();

    // The JWK comes from the token: the same key as the file it was imported from.
    let r = run(
        &["jwks", "--pkcs11", &uri, "--kid", "hsm-1", "--alg", "PS256"],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let from_token: Value = serde_json::from_slice(&r.stdout).unwrap();
    let r = run(
        &[
            "jwks",
            "--key",
            path(&data("keys/rsa2048.spki.pem")),
            "--kid",
            "hsm-1",
            "--alg",
            "PS256",
        ],
        b"",
    );
    assert_eq!(
        from_token,
        serde_json::from_slice::<Value>(&r.stdout).unwrap()
    );
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, serde_json::to_vec(&from_token).unwrap()).unwrap();

    // sign: a JWT the JWKS verifies.
    let r = run(
        &["sign", "--pkcs11", &uri, "--kid", "hsm-1", "--alg", "PS256"],
        br#"{"user":"ada"}"#,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = dir.join("token.txt");
    std::fs::write(&token, &r.stdout).unwrap();
    let r = run(&["verify", "--jwks", path(&jwks), path(&token)], b"");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        String::from_utf8(r.stdout)
            .unwrap()
            .starts_with(r#"{"user":"ada""#)
    );

    // response sign: headers the file's public key verifies.
    let body = dir.join("body.json");
    std::fs::write(&body, br#"{"id":1}"#).unwrap();
    let r = run(
        &[
            "response",
            "sign",
            "--pkcs11",
            &uri,
            "--kid",
            "api-1",
            "--status",
            "201",
            path(&body),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let headers = dir.join("headers.txt");
    std::fs::write(&headers, &r.stdout).unwrap();
    let r = run(
        &[
            "response",
            "verify",
            "--key",
            path(&data("keys/rsa2048.spki.pem")),
            "--kid",
            "api-1",
            "--status",
            "201",
            "--headers",
            path(&headers),
            path(&body),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // detached sign: an x-jws-signature that detached verify accepts.
    let r = run(
        &[
            "detached",
            "sign",
            "--pkcs11",
            &uri,
            "--kid",
            "hsm-1",
            "--iss",
            "tpp",
            path(&body),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let signature = String::from_utf8(r.stdout).unwrap();
    let r = run(
        &[
            "detached",
            "verify",
            "--jwks",
            path(&jwks),
            "--iss",
            "tpp",
            "--signature",
            signature.trim(),
            path(&body),
        ],
        b"",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A file and a token at once is a usage error; so are a wrong PIN (this
    // is a new process: nothing is logged in) and a key that is not there.
    let r = run(
        &[
            "sign",
            "--pkcs11",
            &uri,
            "--key",
            path(&data("keys/rsa2048.pkcs8.pem")),
        ],
        b"{}",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let wrong = token_uri("rsa-2048", "pin-value=not-the-pin").unwrap();
    let r = run(&["sign", "--pkcs11", &wrong], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: cannot use the --pkcs11 key: invalid configuration: the PKCS#11 token refused the PIN (not tried again: tokens lock)\n"
    );
    assert!(!r.stderr.contains("not-the-pin"));
    let r = run(
        &["sign", "--pkcs11", &token_uri("missing", &pin).unwrap()],
        b"{}",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(r#"no private key labelled "missing""#),
        "{}",
        r.stderr
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a JWK says of itself holds on the command line as in the library:
/// `use` and `key_ops` exclude operations, `alg` binds the key, and a
/// disagreeing `--alg` is refused.
#[test]
fn a_jwk_key_file_is_taken_at_its_word() {
    let dir = tempdir().join("jwk-declarations");
    std::fs::create_dir_all(&dir).unwrap();
    let public: Value =
        serde_json::from_slice(&std::fs::read(data("keys/rsa2048.public.jwk")).unwrap()).unwrap();
    let private: Value =
        serde_json::from_slice(&std::fs::read(data("keys/rsa2048.private.jwk")).unwrap()).unwrap();
    let write = |name: &str, base: &Value, extra: Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let path = dir.join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };
    let pem = data("keys/rsa2048.pkcs8.pem");
    let sign = |args: &[&str]| {
        let r = run(&[&["sign"], args].concat(), b"{\"a\":1}");
        assert_eq!(r.code, 0, "{}", r.stderr);
        let token = dir.join(format!("token-{}.txt", args.join("-").replace('/', "_")));
        std::fs::write(&token, &r.stdout).unwrap();
        token
    };
    let rs256 = sign(&["--key", path(&pem)]);
    let ps256 = sign(&["--key", path(&pem), "--alg", "PS256"]);

    // use enc, key_ops encrypt: not for verifying, whatever the token.
    for (name, extra) in [
        ("enc.jwk", serde_json::json!({"use":"enc"})),
        ("encrypt.jwk", serde_json::json!({"key_ops":["encrypt"]})),
    ] {
        let key = write(name, &public, extra);
        let r = run(&["verify", "--key", path(&key), path(&ps256)], b"");
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("not meant for signature verification"),
            "{}",
            r.stderr
        );
    }
    // alg PS256: binds the key; a PS256 token verifies, an RS256 one does not.
    let key = write("ps256.jwk", &public, serde_json::json!({"alg":"PS256"}));
    assert_eq!(
        run(&["verify", "--key", path(&key), path(&ps256)], b"").code,
        0
    );
    assert_rejected(
        &run(&["verify", "--key", path(&key), path(&rs256)], b""),
        "does not match the key's algorithm PS256",
    );
    let r = run(
        &[
            "verify",
            "--key",
            path(&key),
            "--alg",
            "RS256",
            path(&rs256),
        ],
        b"",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("declares alg PS256, but RS256 was asked for"),
        "{}",
        r.stderr
    );

    // Signing with a private JWK: its alg and kid; key_ops without sign refused.
    let key = write(
        "signing.jwk",
        &private,
        serde_json::json!({"alg":"PS256","kid":"k-ps"}),
    );
    let r = run(&["sign", "--key", path(&key)], b"{}");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = String::from_utf8(r.stdout).unwrap();
    let r = run(&["inspect", "-"], token.as_bytes());
    let shown: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(shown["header"]["alg"], "PS256");
    assert_eq!(shown["header"]["kid"], "k-ps");
    let r = run(&["sign", "--key", path(&key), "--alg", "RS256"], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    let key = write(
        "verify-only.jwk",
        &private,
        serde_json::json!({"key_ops":["verify"]}),
    );
    let r = run(&["sign", "--key", path(&key)], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not meant for signing"), "{}", r.stderr);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The header of a compact token, decoded.
fn header_of(token: &[u8]) -> Value {
    use base64::Engine;
    let token = std::str::from_utf8(token).unwrap().trim();
    let header = token.split('.').next().unwrap();
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&json).unwrap()
}

/// `keygen --type` for every kind; `sign` and `verify` without `--alg`
/// take the kind's own algorithm; `jwks` prints each kind; a key bound to
/// an algorithm its kind does not allow, and a JWK that says it is not for
/// signatures, are refused.
#[test]
fn every_key_kind_through_the_cli() {
    let dir = tempdir().join("kinds");
    std::fs::create_dir_all(&dir).unwrap();
    let ring = cfg!(not(feature = "aws-lc-rs"));
    for (kind, alg, kty, crv) in [
        ("rsa", "RS256", "RSA", None),
        ("ec-p256", "ES256", "EC", Some("P-256")),
        ("ec-p384", "ES384", "EC", Some("P-384")),
        ("ec-p521", "ES512", "EC", Some("P-521")),
        ("ed25519", "EdDSA", "OKP", Some("Ed25519")),
    ] {
        if ring {
            break; // keygen needs aws-lc-rs
        }
        let private = dir.join(format!("{kind}.pem"));
        let public = dir.join(format!("{kind}.pub.pem"));
        let jwks = dir.join(format!("{kind}.jwks"));
        let r = run(
            &[
                "keygen",
                "--type",
                kind,
                "--private-out",
                path(&private),
                "--public-out",
                path(&public),
                "--jwks-out",
                path(&jwks),
                "--kid",
                kind,
                "--force",
            ],
            b"",
        );
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);

        let r = run(
            &["sign", "--key", path(&private), "--kid", kind],
            b"{\"amount\":1}",
        );
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);
        assert_eq!(header_of(&r.stdout)["alg"], alg, "{kind}");
        let token = dir.join(format!("{kind}.token"));
        std::fs::write(&token, &r.stdout).unwrap();
        for key in [
            &["--key", path(&public), "--kid", kind][..],
            &["--jwks", path(&jwks)],
        ] {
            let r = run(&[&["verify"], key, &[path(&token)]].concat(), b"");
            assert_eq!(r.code, 0, "{kind} {key:?}: {}", r.stderr);
            assert!(r.stdout.starts_with(b"{\"amount\":1,\"iat\":"), "{kind}");
        }

        let r = run(&["jwks", "--key", path(&public), "--kid", kind], b"");
        assert_eq!(r.code, 0, "{kind}: {}", r.stderr);
        let set: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(set["keys"][0]["kty"], kty);
        assert_eq!(set["keys"][0]["alg"], alg);
        assert_eq!(set["keys"][0]["crv"].as_str(), crv);

        // A response signed with the key, in both modes, verifies.
        for mode in ["headers", "jwt"] {
            let signed = run(
                &[
                    "response",
                    "sign",
                    "--key",
                    path(&private),
                    "--kid",
                    kind,
                    "--mode",
                    mode,
                ],
                b"{\"ok\":true}",
            );
            assert_eq!(signed.code, 0, "{kind} {mode}: {}", signed.stderr);
        }
    }

    // --bits is for RSA only; an EC key is never bound to RS256.
    let r = run(
        &[
            "keygen",
            "--type",
            "ec-p256",
            "--bits",
            "3072",
            "--private-out",
            path(&dir.join("never.pem")),
        ],
        b"",
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--bits applies to RSA keys only"),
        "{}",
        r.stderr
    );
    let ec = data("keys/ec-p256.pem");
    let r = run(&["sign", "--key", path(&ec), "--alg", "RS256"], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("EC P-256 keys cannot be used with RS256"),
        "{}",
        r.stderr
    );

    // An EC token checked with an RSA key, and the other way round.
    let es256 = run(&["sign", "--key", path(&ec)], b"{}");
    assert_eq!(es256.code, 0, "{}", es256.stderr);
    let token = dir.join("es256.token");
    std::fs::write(&token, &es256.stdout).unwrap();
    assert_rejected(
        &run(
            &[
                "verify",
                "--key",
                path(&data("keys/rsa2048.spki.pem")),
                path(&token),
            ],
            b"",
        ),
        "does not match the key's algorithm RS256",
    );

    // An EC JWK's declarations: use enc refused; an alg its curve does not
    // allow refused; its own alg honoured.
    let spki = data("keys/ec-p256.spki.pem");
    let jwk = run(&["jwks", "--key", path(&spki), "--kid", "ec"], b"");
    let set: Value = serde_json::from_slice(&jwk.stdout).unwrap();
    let base = set["keys"][0].clone();
    for (name, extra, fragment) in [
        (
            "ec-enc.jwk",
            serde_json::json!({"use":"enc"}),
            "not meant for signature verification",
        ),
        (
            "ec-es384.jwk",
            serde_json::json!({"alg":"ES384"}),
            "EC P-256 keys cannot be used with ES384",
        ),
    ] {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let key = dir.join(name);
        std::fs::write(&key, v.to_string()).unwrap();
        let r = run(&["verify", "--key", path(&key), path(&token)], b"");
        assert_eq!(r.code, 2, "{name}: {}", r.stderr);
        assert!(r.stderr.contains(fragment), "{name}: {}", r.stderr);
    }
}

/// An EC and an Ed25519 key on the token, with no `--alg`: the kind's own
/// algorithm signs, and the key file's public half verifies it.
#[cfg(feature = "pkcs11")]
#[test]
fn pkcs11_ec_and_ed25519_keys_sign_with_their_own_algorithm() {
    let _token = token_alone();
    let Ok(pin_file) = std::env::var("SIGNED_PAYLOADS_PKCS11_PIN_FILE") else {
        assert!(std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PKCS11").is_none());
        return;
    };
    let pin = format!("pin-source=file:{pin_file}");
    let dir = tempdir().join("pkcs11-kinds");
    std::fs::create_dir_all(&dir).unwrap();
    for (label, public, alg) in [
        ("ec-p256", "keys/ec-p256.spki.pem", "ES256"),
        ("ec-p384", "keys/ec-p384.spki.pem", "ES384"),
        ("ed25519", "keys/ed25519.spki.pem", "EdDSA"),
    ] {
        let uri = token_uri(label, &pin).unwrap();
        let r = run(&["sign", "--pkcs11", &uri, "--kid", label], b"{\"a\":1}");
        assert_eq!(r.code, 0, "{label}: {}", r.stderr);
        assert_eq!(header_of(&r.stdout)["alg"], alg);
        let token = dir.join(format!("{label}.token"));
        std::fs::write(&token, &r.stdout).unwrap();
        let r = run(
            &[
                "verify",
                "--key",
                path(&data(public)),
                "--kid",
                label,
                path(&token),
            ],
            b"",
        );
        assert_eq!(r.code, 0, "{label}: {}", r.stderr);
        let r = run(&["jwks", "--pkcs11", &uri, "--kid", label], b"");
        assert_eq!(r.code, 0, "{label}: {}", r.stderr);
        let set: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(set["keys"][0]["alg"], alg);
    }
    // An --alg the token key's kind does not allow is refused.
    let uri = token_uri("ec-p256", &pin).unwrap();
    let r = run(&["sign", "--pkcs11", &uri, "--alg", "PS256"], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot be used with PS256"),
        "{}",
        r.stderr
    );
}

/// `sign --aws-kms` and `jwks --aws-kms` against the KMS emulator
/// (`scripts/kms.sh`): the token verifies with the JWKS the tool prints
/// from `GetPublicKey`, for an EC key and for an RSA key with and without
/// `--alg`.
#[cfg(feature = "aws-kms")]
#[test]
fn aws_kms_keys_sign_and_publish_their_jwk() {
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    if std::env::var_os("AWS_ENDPOINT_URL_KMS").is_none() {
        assert!(std::env::var_os("SIGNED_PAYLOADS_REQUIRE_KMS").is_none());
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let create = |spec: KeySpec| {
        runtime.block_on(async {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            aws_sdk_kms::Client::new(&config)
                .create_key()
                .key_spec(spec)
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
                .key_id
        })
    };
    let dir = tempdir().join("aws-kms");
    std::fs::create_dir_all(&dir).unwrap();
    for (spec, alg, expected) in [
        (KeySpec::EccNistP256, None, "ES256"),
        (KeySpec::Rsa2048, None, "RS256"),
        (KeySpec::Rsa2048, Some("PS384"), "PS384"),
    ] {
        let key = create(spec);
        let alg_args: Vec<&str> = alg.map(|a| vec!["--alg", a]).unwrap_or_default();
        let r = run(
            &[
                &["sign", "--aws-kms", &key, "--kid", "kms-1"],
                &alg_args[..],
            ]
            .concat(),
            b"{\"amount\":1}",
        );
        assert_eq!(r.code, 0, "{expected}: {}", r.stderr);
        assert_eq!(header_of(&r.stdout)["alg"], expected);
        assert_eq!(header_of(&r.stdout)["kid"], "kms-1");
        let token = dir.join(format!("{expected}.token"));
        std::fs::write(&token, &r.stdout).unwrap();
        let r = run(
            &[
                &["jwks", "--aws-kms", &key, "--kid", "kms-1"],
                &alg_args[..],
            ]
            .concat(),
            b"",
        );
        assert_eq!(r.code, 0, "{expected}: {}", r.stderr);
        let jwks = dir.join(format!("{expected}.jwks"));
        std::fs::write(&jwks, &r.stdout).unwrap();
        let r = run(&["verify", "--jwks", path(&jwks), path(&token)], b"");
        assert_eq!(r.code, 0, "{expected}: {}", r.stderr);
        // Without --kid, the thumbprint names the key in both.
        let r = run(&["jwks", "--aws-kms", &key], b"");
        let set: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(set["keys"][0]["kid"].as_str().unwrap().len(), 43);
    }
    let r = run(&["sign", "--aws-kms", "alias/no-such-key"], b"{}");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

mod httpsig {
    //! `signed-payloads httpsig sign|verify` against RFC 9421 Appendix B and
    //! the issue's contract: one line out on success, one `error:` line and
    //! exit 1 on a refusal, exit 2 on usage errors.

    use super::*;

    fn rfc(name: &str) -> PathBuf {
        data(&format!("rfc9421/{name}"))
    }

    fn examples() -> Vec<Value> {
        let text = std::fs::read_to_string(rfc("examples.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["examples"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The example's message with its Signature-Input and Signature added,
    /// written to a file (CRLF, as the RFC's messages are).
    fn signed_message(example: &Value, dir: &Path) -> PathBuf {
        let raw = std::fs::read(rfc(&format!(
            "{}.http",
            example["message"].as_str().unwrap()
        )))
        .unwrap();
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let mut out = raw[..at].to_vec();
        for (name, field) in [
            ("Signature-Input", "signature_input"),
            ("Signature", "signature"),
        ] {
            out.extend_from_slice(
                format!("\r\n{name}: {}", example[field].as_str().unwrap()).as_bytes(),
            );
        }
        out.extend_from_slice(&raw[at..]);
        let file = dir.join(format!("{}.http", example["id"].as_str().unwrap()));
        std::fs::write(&file, out).unwrap();
        file
    }

    /// The RFC's shared secret as a JWK with kty oct.
    fn secret_jwk(dir: &Path) -> PathBuf {
        use base64::Engine as _;
        let text = std::fs::read_to_string(rfc("test-shared-secret.b64.txt")).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap();
        let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let file = dir.join("secret.jwk");
        std::fs::write(&file, format!(r#"{{"kty":"oct","k":"{k}"}}"#)).unwrap();
        file
    }

    fn key_for(example: &Value, dir: &Path) -> (PathBuf, Option<&'static str>) {
        match example["key"].as_str().unwrap() {
            "test-shared-secret" => (secret_jwk(dir), None),
            "test-key-rsa-pss" => (rfc("test-key-rsa-pss.pub.pem"), Some("rsa-pss-sha512")),
            other => (rfc(&format!("{other}.pub.pem")), None),
        }
    }

    fn verify(key: &Path, extra: &[&str], message: &Path) -> Run {
        let mut args = vec!["httpsig", "verify", "--key", path(key)];
        args.extend_from_slice(extra);
        args.push(path(message));
        run(&args, b"")
    }

    #[test]
    fn every_appendix_b_example_verifies_and_prints_one_line() {
        let dir = tempdir().join("httpsig-b2");
        std::fs::create_dir_all(&dir).unwrap();
        for example in examples() {
            let id = example["id"].as_str().unwrap();
            let message = signed_message(&example, &dir);
            let (key, alg) = key_for(&example, &dir);
            let mut extra = Vec::new();
            if let Some(alg) = alg {
                extra.extend(["--alg", alg]);
            }
            let request = rfc("request.http");
            if example["message"] == "response" {
                extra.extend(["--request", path(&request)]);
            }
            let r = verify(&key, &extra, &message);
            assert_eq!(r.code, 0, "{id}: {}", r.stderr);
            let line = String::from_utf8(r.stdout).unwrap();
            assert_eq!(line.lines().count(), 1, "{id}: {line}");
            let components: Vec<&str> = example["covered_components"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(
                line,
                format!(
                    "verified label={} keyid=\"{}\" alg={} components=({})\n",
                    example["label"].as_str().unwrap(),
                    example["key"].as_str().unwrap(),
                    example["alg"].as_str().unwrap(),
                    components.join(" ")
                ),
                "{id}"
            );
            // LF line ends read the same.
            let lf = dir.join(format!("{id}.lf.http"));
            let text = std::fs::read(&message).unwrap();
            std::fs::write(&lf, String::from_utf8(text).unwrap().replace("\r\n", "\n")).unwrap();
            assert_eq!(verify(&key, &extra, &lf).code, 0, "{id} with LF");
        }
    }

    #[test]
    fn b26_and_b25_are_re_signed_byte_for_byte() {
        let dir = tempdir().join("httpsig-resign");
        std::fs::create_dir_all(&dir).unwrap();
        let secret = secret_jwk(&dir);
        for (id, key, keyid, components) in [
            (
                "b.2.6",
                rfc("test-key-ed25519.priv.pem"),
                "test-key-ed25519",
                r#""date" "@method" "@path" "@authority" "content-type" "content-length""#,
            ),
            (
                "b.2.5",
                secret,
                "test-shared-secret",
                r#""date" "@authority" "content-type""#,
            ),
        ] {
            let example = examples().into_iter().find(|e| e["id"] == id).unwrap();
            let label = example["label"].as_str().unwrap();
            let r = run(
                &[
                    "httpsig",
                    "sign",
                    "--key",
                    path(&key),
                    "--keyid",
                    keyid,
                    "--label",
                    label,
                    "--created",
                    "1618884473",
                    "--components",
                    components,
                    path(&rfc("request.http")),
                ],
                b"",
            );
            assert_eq!(r.code, 0, "{id}: {}", r.stderr);
            let out = String::from_utf8(r.stdout).unwrap();
            let expected = std::fs::read_to_string(signed_message(&example, &dir)).unwrap();
            assert_eq!(out, expected, "{id}");
        }
    }

    #[test]
    fn sign_then_verify_with_digest_tag_and_a_bound_response() {
        let dir = tempdir().join("httpsig-round");
        std::fs::create_dir_all(&dir).unwrap();
        let client = data("keys/ec-p256.pem");
        let server = data("keys/rsa2048.pkcs8.pem");
        let request = "POST /payments?x=1 HTTP/1.1\r\nHost: bank.example\r\nAuthorization: DPoP abc\r\n\r\n{\"amount\":\"10.00\"}";
        let r = run(
            &[
                "httpsig",
                "sign",
                "--key",
                path(&client),
                "--keyid",
                "client-1",
                "--tag",
                "fapi-2-request",
                "--digest",
                "sha-512",
                "--components",
                r#""@method" "@target-uri" "authorization" "content-digest""#,
                "-",
            ],
            request.as_bytes(),
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let signed_request = dir.join("request.http");
        std::fs::write(&signed_request, &r.stdout).unwrap();
        let text = String::from_utf8(r.stdout).unwrap();
        assert!(text.contains("\r\nContent-Digest: sha-512=:"), "{text}");
        assert!(text.ends_with("\r\n\r\n{\"amount\":\"10.00\"}"), "{text}");
        let ok = verify(
            &client,
            &[
                "--tag",
                "fapi-2-request",
                "--require",
                r#""@method" "@target-uri""#,
                "--require",
                r#""content-digest""#,
                "--keyid",
                "client-1",
                "--max-age",
                "60",
            ],
            &signed_request,
        );
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        assert!(
            String::from_utf8(ok.stdout)
                .unwrap()
                .starts_with("verified label=sig1 keyid=\"client-1\" alg=ecdsa-p256-sha256 components=(\"@method\" \"@target-uri\" \"authorization\" \"content-digest\")")
        );
        // http:// is another target URI, so another signature base.
        assert_rejected(
            &verify(&client, &["--scheme", "http"], &signed_request),
            "signature",
        );

        // A response bound to that request (PS256, which RFC 9421 names by its JWS name).
        let r = run(
            &[
                "httpsig",
                "sign",
                "--key",
                path(&server),
                "--alg",
                "PS256",
                "--keyid",
                "server-1",
                "--digest",
                "sha-256",
                "--request",
                path(&signed_request),
                "--components",
                r#""@status" "content-digest" "@method";req "@target-uri";req "signature";req;key="sig1""#,
                "-",
            ],
            b"HTTP/1.1 201 Created\nContent-Type: application/json\n\n{\"id\":7}",
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let response = dir.join("response.http");
        std::fs::write(&response, &r.stdout).unwrap();
        let ok = verify(
            &server,
            &["--alg", "PS256", "--request", path(&signed_request)],
            &response,
        );
        assert_eq!(ok.code, 0, "{}", ok.stderr);
        assert!(String::from_utf8(ok.stdout).unwrap().contains("alg=PS256"));
        // Without the request, its req components cannot be read.
        assert_rejected(
            &verify(&server, &["--alg", "PS256"], &response),
            "refers to a request that was not given",
        );
        // The wrong algorithm for the key: PSS is not PKCS#1 v1.5.
        assert_rejected(
            &verify(
                &server,
                &[
                    "--alg",
                    "rsa-v1_5-sha256",
                    "--request",
                    path(&signed_request),
                ],
                &response,
            ),
            "signature",
        );
    }

    #[test]
    fn refusals_and_usage_errors() {
        let dir = tempdir().join("httpsig-refusals");
        std::fs::create_dir_all(&dir).unwrap();
        let example = examples().into_iter().find(|e| e["id"] == "b.2.6").unwrap();
        let message = signed_message(&example, &dir);
        let key = rfc("test-key-ed25519.pub.pem");
        let text = std::fs::read_to_string(&message).unwrap();
        let write = |name: &str, text: &str| {
            let file = dir.join(name);
            std::fs::write(&file, text).unwrap();
            file
        };

        // A tampered covered component.
        let tampered = write(
            "tampered.http",
            &text.replace("application/json", "text/plain"),
        );
        assert_rejected(&verify(&key, &[], &tampered), "signature");
        // A Signature without its Signature-Input.
        let input_line = text
            .lines()
            .find(|l| l.starts_with("Signature-Input"))
            .unwrap();
        let no_input = write(
            "no-input.http",
            &text.replace(&format!("{input_line}\r\n"), ""),
        );
        assert_rejected(&verify(&key, &[], &no_input), "no Signature-Input");
        // Two signatures and no --tag or --label: ambiguous, naming the labels.
        let sig_line = text.lines().find(|l| l.starts_with("Signature:")).unwrap();
        let two = write(
            "two.http",
            &text.replace(
                &format!("{sig_line}\r\n"),
                &format!(
                    "{sig_line}\r\nSignature-Input: {}\r\nSignature: {}\r\n",
                    input_line["Signature-Input: ".len()..].replace("sig-b26", "other"),
                    sig_line["Signature: ".len()..].replace("sig-b26", "other")
                ),
            ),
        );
        assert_rejected(
            &verify(&key, &[], &two),
            "2 signatures (\"sig-b26\", \"other\")",
        );
        assert_eq!(verify(&key, &["--label", "other"], &two).code, 0);
        // A duplicate label.
        let duplicate = write(
            "duplicate.http",
            &text.replace(
                &format!("{input_line}\r\n"),
                &format!("{input_line}, sig-b26=(\"date\")\r\n"),
            ),
        );
        assert_rejected(&verify(&key, &[], &duplicate), "repeats a label");
        // A required component it does not cover; a wrong tag.
        assert_rejected(
            &verify(&key, &["--require", r#""content-digest""#], &message),
            "does not cover the required \"content-digest\"",
        );
        assert_rejected(
            &verify(&key, &["--tag", "fapi-2-request"], &message),
            "no signature has tag",
        );
        // created: too old for --max-age; in the future against --now.
        assert_rejected(
            &verify(&key, &["--max-age", "60"], &message),
            "older than 60 s",
        );
        assert_eq!(
            verify(&key, &["--max-age", "60", "--now", "1618884500"], &message).code,
            0
        );
        assert_rejected(
            &verify(&key, &["--now", "1618884000"], &message),
            "in the future",
        );
        // A keyid other than the one expected.
        assert_rejected(
            &verify(&key, &["--keyid", "someone-else"], &message),
            "not \"someone-else\"",
        );
        // An alg parameter against the key.
        let with_alg = write(
            "alg.http",
            &text.replace(";keyid=", ";alg=\"ecdsa-p256-sha256\";keyid="),
        );
        assert_rejected(&verify(&key, &[], &with_alg), "is not the key's algorithm");

        // Usage: an RSA key without --alg; an --alg the key cannot do; a
        // secret with a public-key algorithm; a head with no blank line.
        let rsa = rfc("test-key-rsa-pss.pub.pem");
        let r = verify(&rsa, &[], &message);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("give --alg"), "{}", r.stderr);
        let r = verify(&key, &["--alg", "ES256"], &message);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("--alg ES256 does not fit the key")
                && r.stderr.contains("an Ed25519 key"),
            "{}",
            r.stderr
        );
        let r = verify(&secret_jwk(&dir), &["--alg", "ed25519"], &message);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let r = run(
            &["httpsig", "verify", "--key", path(&key), "-"],
            b"GET / HTTP/1.1\r\nHost: a\r\n",
        );
        assert_rejected(&r, "ends before the blank line");
        let r = run(
            &[
                "httpsig",
                "verify",
                "--key",
                path(&key),
                "--tag",
                "a",
                "--label",
                "b",
                path(&message),
            ],
            b"",
        );
        assert_eq!(r.code, 2);
        // Signing with a label, tag or key id Signature-Input cannot carry.
        let private = rfc("test-key-ed25519.priv.pem");
        for (flag, value, says) in [
            ("--label", "Sig 1", "is not a structured-field key"),
            ("--tag", "caf\u{e9}", "printable ASCII only"),
            ("--keyid", "k\u{20ac}", "printable ASCII only"),
        ] {
            let mut args = vec!["httpsig", "sign", "--key", path(&private)];
            if flag != "--keyid" {
                args.extend(["--keyid", "k"]);
            }
            args.extend(["--components", r#""@method""#, flag, value, "-"]);
            let r = run(&args, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(r.code, 2, "{flag}: {}", r.stderr);
            assert!(r.stderr.contains(says), "{flag}: {}", r.stderr);
            assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        }
    }
}
