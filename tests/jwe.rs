//! JWE (feature `jwe`): RFC 7520 vectors decrypt to the published
//! plaintext; round trips; refused algorithms and tampering.
#![cfg(feature = "jwe")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use signed_payloads::jwe::{self, ContentEncryption, KeyEncryption, RsaDecrypter, RsaEncrypter};
use signed_payloads::{
    Algorithm, Error, KeyVerifier, Limits, Malformed, PrivateKey, PublicKey, jws,
};

fn cookbook(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/cookbook/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn rfc7520_5_2_rsa_oaep_a256gcm_decrypts_to_the_published_plaintext() {
    let case = cookbook("5_2.key_encryption_using_rsa-oaep_with_aes-gcm.json");
    let key = PrivateKey::from_jwk(&case["input"]["key"].to_string()).unwrap();
    let decrypter = RsaDecrypter::new(&key)
        .unwrap()
        .with_key_id("samwise.gamgee@hobbiton.example");
    let decrypted = jwe::decrypt(
        case["output"]["compact"].as_str().unwrap(),
        &decrypter,
        &limits(),
    )
    .unwrap();
    assert_eq!(
        decrypted.plaintext,
        case["input"]["plaintext"].as_str().unwrap().as_bytes()
    );
    assert_eq!(
        (decrypted.header.alg, decrypted.header.enc),
        (KeyEncryption::RsaOaep, ContentEncryption::A256Gcm)
    );
}

#[test]
fn rfc7520_6_nested_ps256_inside_rsa_oaep_decrypts_then_verifies() {
    let case = cookbook("6.nesting_signatures_and_encryption.json");
    let enc_key = PrivateKey::from_jwk(&case["encrypt"]["input"]["key"].to_string()).unwrap();
    let token = case["encrypt"]["output"]["compact"].as_str().unwrap();
    let decrypted = jwe::decrypt(token, &RsaDecrypter::new(&enc_key).unwrap(), &limits()).unwrap();
    assert_eq!(decrypted.header.cty.as_deref(), Some("JWT"));
    let inner = std::str::from_utf8(&decrypted.plaintext).unwrap();
    assert_eq!(
        inner,
        case["encrypt"]["input"]["plaintext"].as_str().unwrap()
    );
    let sig_key = PrivateKey::from_jwk(&case["sign"]["input"]["key"].to_string()).unwrap();
    let verifier = KeyVerifier::new(sig_key.public_key().clone(), Algorithm::PS256).unwrap();
    let verified = jws::verify(inner, &verifier, &limits()).unwrap();
    assert_eq!(
        verified.payload(),
        case["sign"]["input"]["payload"]
            .as_str()
            .unwrap()
            .as_bytes()
    );
}

fn recipient() -> (PrivateKey, PublicKey) {
    let key = PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap();
    let public = key.public_key().clone();
    (key, public)
}

#[test]
fn round_trips_for_every_supported_pair() {
    let (key, public) = recipient();
    let decrypter = RsaDecrypter::new(&key).unwrap().with_key_id("client-key");
    for alg in [KeyEncryption::RsaOaep256, KeyEncryption::RsaOaep] {
        for enc in [ContentEncryption::A256Gcm, ContentEncryption::A128Gcm] {
            for plaintext in [&b""[..], b"x", &[7u8; 100_000]] {
                let encrypter = RsaEncrypter::new(&public)
                    .unwrap()
                    .with_key_id("client-key")
                    .with_algorithms(alg, enc);
                let token = encrypter.encrypt(plaintext, Some("JWT")).unwrap();
                assert!(jwe::is_compact_jwe(token.as_bytes()));
                let decrypted = jwe::decrypt(&token, &decrypter, &limits()).unwrap();
                assert_eq!(decrypted.plaintext, plaintext);
                assert_eq!((decrypted.header.alg, decrypted.header.enc), (alg, enc));
            }
        }
    }
}

fn forged_header(header: &str, token: &str) -> String {
    use base64::Engine;
    let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    let rest = token.split_once('.').unwrap().1;
    format!("{h}.{rest}")
}

#[test]
fn refuses_algorithms_shapes_and_tampering() {
    let (key, public) = recipient();
    let decrypter = RsaDecrypter::new(&key).unwrap();
    let token = RsaEncrypter::new(&public)
        .unwrap()
        .encrypt(b"secret", None)
        .unwrap();
    let err = |t: &str| jwe::decrypt(t, &decrypter, &limits()).unwrap_err();

    let rsa15 = err(&forged_header(
        r#"{"alg":"RSA1_5","enc":"A256GCM"}"#,
        &token,
    ));
    assert!(
        rsa15.to_string().contains("RSA1_5") && rsa15.to_string().contains("Bleichenbacher"),
        "{rsa15}"
    );
    for header in [
        r#"{"alg":"dir","enc":"A256GCM"}"#,
        r#"{"alg":"RSA-OAEP-256","enc":"A128CBC-HS256"}"#,
        r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF"}"#,
        r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","crit":["x"],"x":1}"#,
        r#"{"alg":"RSA-OAEP-256"}"#,
        r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","alg":"RSA-OAEP"}"#,
    ] {
        assert!(
            matches!(err(&forged_header(header, &token)), Error::Malformed(_)),
            "{header}"
        );
    }
    // A changed header (the AAD) or any other segment fails authentication, with no detail.
    assert!(matches!(
        err(&forged_header(
            r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","x":1}"#,
            &token
        )),
        Error::DecryptionFailed
    ));
    let segments: Vec<&str> = token.split('.').collect();
    for i in 1..5 {
        let mut parts: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
        let mut bytes = parts[i].clone().into_bytes();
        bytes[2] = if bytes[2] == b'A' { b'B' } else { b'A' };
        parts[i] = String::from_utf8(bytes).unwrap();
        let e = err(&parts.join("."));
        assert!(
            matches!(e, Error::DecryptionFailed | Error::Malformed(_)),
            "segment {i}: {e}"
        );
    }
    // The wrong recipient key: the same generic failure.
    let other =
        PrivateKey::from_pem(include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
    let e = jwe::decrypt(&token, &RsaDecrypter::new(&other).unwrap(), &limits()).unwrap_err();
    assert!(matches!(e, Error::DecryptionFailed), "{e}");
    // A kid the decrypter does not hold.
    let named = RsaEncrypter::new(&public)
        .unwrap()
        .with_key_id("someone-else")
        .encrypt(b"x", None)
        .unwrap();
    let strict = RsaDecrypter::new(&key).unwrap().with_key_id("client-key");
    assert!(matches!(
        jwe::decrypt(&named, &strict, &limits()),
        Err(Error::UnknownKeyId(_))
    ));
    // Shapes.
    assert!(matches!(
        err("a.b.c"),
        Error::Malformed(Malformed::SegmentCount { found: 3 })
    ));
    assert!(matches!(
        err(&format!("{token}.x")),
        Error::Malformed(Malformed::SegmentCount { .. })
    ));
    let huge = "a".repeat(Limits::DEFAULT_MAX_TOKEN_BYTES + 1);
    assert!(matches!(err(&huge), Error::TooLarge { .. }));
    assert!(!format!("{decrypter:?}").contains("MII"));
}

/// Feature `jwe` brings aws-lc-rs in for RSA-OAEP only: a build that chose
/// `ring` keeps signing and verifying on ring. CI runs this with
/// `--features ring,jwe` and `SIGNED_PAYLOADS_EXPECT_BACKEND=ring`; when
/// `jwe` turned the `aws-lc-rs` feature on, the backend was aws-lc-rs.
#[test]
fn jwe_keeps_the_chosen_signature_backend() {
    let expected = std::env::var("SIGNED_PAYLOADS_EXPECT_BACKEND").unwrap_or_else(|_| {
        let chosen = if cfg!(feature = "aws-lc-rs") {
            "aws-lc-rs"
        } else {
            "ring"
        };
        chosen.to_owned()
    });
    assert_eq!(signed_payloads::ACTIVE_BACKEND, expected);
}
