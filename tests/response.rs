//! The response-signing profile without HTTP: header mode against an
//! independent implementation and every error path; embedded mode with and
//! without message-level encryption, in both nesting orders.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use signed_payloads::response::{
    ResponseMode, ResponseProfile, ResponseSigner, ResponseVerifier, SignatureEncoding,
};
use signed_payloads::{
    Algorithm, Encryption, Error, KeyRegistry, KeySigner, Malformed, MemoryNonceStore, PrivateKey,
    PublicKey, VerificationKey,
};

fn data(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn api_key() -> PrivateKey {
    PrivateKey::from_pem(&data("keys/rsa2048.pkcs8.pem")).unwrap()
}

fn signer() -> ResponseSigner {
    ResponseSigner::new(Arc::new(
        KeySigner::new(api_key(), Algorithm::PS384)
            .unwrap()
            .with_key_id("api-1"),
    ))
}

fn registry() -> Arc<KeyRegistry> {
    let other = PrivateKey::from_pem(&data("rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
    Arc::new(
        KeyRegistry::from_keys([
            VerificationKey::new("api-1", api_key().public_key().clone(), Algorithm::PS384)
                .unwrap(),
            VerificationKey::new("api-2", other.public_key().clone(), Algorithm::PS384).unwrap(),
        ])
        .unwrap(),
    )
}

fn verifier() -> ResponseVerifier {
    ResponseVerifier::new(registry())
}

fn headers_of(signed: &signed_payloads::response::SignatureHeaders) -> Vec<(String, String)> {
    signed
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn signatures_from_an_independent_implementation_verify() {
    let vectors: Value = serde_json::from_str(&data("response/python_signed.json")).unwrap();
    let key =
        PublicKey::from_base64_der(vectors["public_key_base64_der"].as_str().unwrap()).unwrap();
    let registry =
        KeyRegistry::new(VerificationKey::new("python-key", key, Algorithm::PS384).unwrap());
    let verifier = ResponseVerifier::new(Arc::new(registry));
    let cases = vectors["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let body = case["body"].as_str().unwrap().as_bytes();
        let status = u16::try_from(case["status"].as_u64().unwrap()).unwrap();
        let token = case["token"].as_str().unwrap();
        let headers = [
            ("X-Splitit-ResponseSignature-KeyId", "python-key"),
            ("X-Splitit-ResponseSignature-Token", token),
            (
                "X-Splitit-ResponseSignature",
                case["signature"].as_str().unwrap(),
            ),
        ];
        let verified = verifier.verify_headers(status, headers, body).unwrap();
        assert_eq!(
            (&verified.payload()[..], verified.key_id(), verified.nonce()),
            (body, Some("python-key"), Some(token))
        );
        assert!(matches!(
            verifier.verify_headers(status + 1, headers, body),
            Err(Error::BadSignature)
        ));
        assert!(matches!(
            verifier.verify_headers(status, headers, b"x"),
            Err(Error::BadSignature)
        ));
    }
}

/// Writes `rust_signed.json` for `make_vectors.py --verify`; run by hand
/// (`cargo test --test response -- --ignored`), see tests/data/README.md.
#[test]
#[ignore = "writes test data; run by hand when regenerating"]
fn write_signatures_for_the_independent_implementation() {
    let signer = signer();
    let cases: Vec<Value> = [(r#"{"id":1}"#, 200), ("", 204), ("text; with ;200; separators", 500)]
        .iter()
        .map(|(body, status)| {
            let signed = signer.sign_headers(*status, body.as_bytes()).unwrap();
            serde_json::json!({"body": body, "status": status, "token": signed.token(), "signature": signed.signature()})
        })
        .collect();
    let spki = data("keys/rsa2048.spki.b64");
    let out = serde_json::json!({"about": "PS384 header-mode signatures made by signed-payloads", "key_id": "api-1",
        "public_key_base64_der": spki.trim(), "cases": cases});
    std::fs::write(
        format!(
            "{}/tests/data/response/rust_signed.json",
            env!("CARGO_MANIFEST_DIR")
        ),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}

#[test]
fn the_file_checked_by_the_independent_implementation_verifies_here_too() {
    let vectors: Value = serde_json::from_str(&data("response/rust_signed.json")).unwrap();
    for case in vectors["cases"].as_array().unwrap() {
        let headers = [
            ("x-splitit-responsesignature-keyid", "api-1"),
            (
                "x-splitit-responsesignature-token",
                case["token"].as_str().unwrap(),
            ),
            (
                "x-splitit-responsesignature",
                case["signature"].as_str().unwrap(),
            ),
        ];
        let status = u16::try_from(case["status"].as_u64().unwrap()).unwrap();
        assert!(
            verifier()
                .verify_headers(status, headers, case["body"].as_str().unwrap().as_bytes())
                .is_ok()
        );
    }
}

#[test]
fn header_mode_round_trip_empty_body_and_case_insensitive_names() {
    let signed = signer().sign_headers(200, b"").unwrap();
    assert_eq!(signed.token().len(), 22, "128-bit nonce, base64url");
    assert!(
        signed.signature().ends_with('=') || signed.signature().len() % 4 == 0,
        "standard padded base64"
    );
    let upper: Vec<(String, String)> = headers_of(&signed)
        .into_iter()
        .map(|(n, v)| (n.to_uppercase(), v))
        .collect();
    let verified = verifier().verify_headers(200, upper, b"").unwrap();
    assert_eq!(verified.payload(), b"");
    assert_ne!(
        signer().sign_headers(200, b"").unwrap().token(),
        signed.token(),
        "fresh nonce each time"
    );
}

fn header_error(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Error {
    verifier()
        .verify_headers(status, headers, body)
        .unwrap_err()
}

#[test]
fn header_mode_errors_each_say_what_is_wrong() {
    let body = br#"{"id":1}"#;
    let signed = signer().sign_headers(200, body).unwrap();
    let good = headers_of(&signed);
    let without = |i: usize| {
        good.iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, h)| h.clone())
            .collect::<Vec<_>>()
    };
    let with = |i: usize, value: &str| {
        let mut h = good.clone();
        h[i].1 = value.to_owned();
        h
    };
    for i in 0..3 {
        let err = header_error(200, without(i), body);
        assert!(
            matches!(err, Error::Malformed(Malformed::MissingHeader(_))),
            "{err}"
        );
        assert!(err.to_string().contains(&good[i].0), "{err}");
        let mut doubled = good.clone();
        doubled.push((good[i].0.to_lowercase(), good[i].1.clone()));
        let err = header_error(200, doubled, body);
        assert!(
            matches!(err, Error::Malformed(Malformed::DuplicateHeader(_))),
            "{err}"
        );
    }
    assert!(matches!(
        header_error(200, with(0, "api-9"), body),
        Error::UnknownKeyId(_)
    ));
    assert!(matches!(
        header_error(200, with(0, "API-1"), body),
        Error::UnknownKeyId(_)
    ));
    // The other registered key does not verify it: no fallback.
    assert!(matches!(
        header_error(200, with(0, "api-2"), body),
        Error::BadSignature
    ));
    let sig = signed.signature();
    for bad in [
        &sig.replace('=', "")[..],
        &sig.replace('+', "-").replace('/', "_"),
        "!!!!",
        &format!("{sig}AA=="),
    ] {
        if bad == sig {
            continue;
        }
        let err = header_error(200, with(2, bad), body);
        assert!(
            matches!(
                err,
                Error::Malformed(Malformed::BadHeaderValue(_)) | Error::BadSignature
            ),
            "{bad}: {err}"
        );
    }
    assert!(matches!(
        header_error(200, with(2, "not base64!"), body),
        Error::Malformed(Malformed::BadHeaderValue(_))
    ));
    assert!(matches!(
        header_error(201, good.clone(), body),
        Error::BadSignature
    ));
    assert!(matches!(
        header_error(200, good.clone(), br#"{"id":2}"#),
        Error::BadSignature
    ));
    let mut token = signed.token().to_owned();
    token.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
    assert!(matches!(
        header_error(200, with(1, &token), body),
        Error::BadSignature
    ));
    for bad_token in ["a;b", "", "with space", "\u{e9}", &"t".repeat(300)] {
        let err = header_error(200, with(1, bad_token), body);
        assert!(
            matches!(err, Error::Malformed(Malformed::BadHeaderValue(_))),
            "{bad_token:?}: {err}"
        );
    }
    let huge = vec![b'x'; (1 << 20) + 1];
    assert!(matches!(
        header_error(200, good.clone(), &huge),
        Error::TooLarge { .. }
    ));
}

#[test]
fn moving_body_bytes_into_the_token_is_refused() {
    // Body "a;200;b" with token "t" signs "a;200;b;200;t": the same bytes as
    // body "a" with token "b;200;t". Tokens may not hold the separator.
    let signed = signer().sign_headers(200, b"a;200;b").unwrap();
    let mut headers = headers_of(&signed);
    headers[1].1 = format!("b;200;{}", signed.token());
    let err = verifier().verify_headers(200, headers, b"a").unwrap_err();
    assert!(
        matches!(err, Error::Malformed(Malformed::BadHeaderValue(_))),
        "{err}"
    );
}

#[test]
fn replays_are_refused_when_the_nonce_store_is_on() {
    let signed = signer().sign_headers(200, b"{}").unwrap();
    let store = Arc::new(MemoryNonceStore::new(1000));
    let guarded = verifier().with_replay_store(store.clone(), Duration::from_secs(300));
    assert!(
        guarded
            .verify_headers(200, headers_of(&signed), b"{}")
            .is_ok()
    );
    assert!(matches!(
        guarded.verify_headers(200, headers_of(&signed), b"{}"),
        Err(Error::Replayed)
    ));
    // Off by default.
    assert!(
        verifier()
            .verify_headers(200, headers_of(&signed), b"{}")
            .is_ok()
    );
    assert!(
        verifier()
            .verify_headers(200, headers_of(&signed), b"{}")
            .is_ok()
    );
    // A forged response does not poison the store with its token.
    let other = signer().sign_headers(200, b"{}").unwrap();
    assert!(
        guarded
            .verify_headers(200, headers_of(&other), b"{tampered}")
            .is_err()
    );
    assert!(
        guarded
            .verify_headers(200, headers_of(&other), b"{}")
            .is_ok()
    );
    assert_eq!(store.len(), 2);
}

#[test]
fn profile_settings_change_names_encoding_and_algorithm() {
    let profile = ResponseProfile::splitit()
        .with_header_names("X-Key", "X-Nonce", "X-Sig")
        .with_signature_encoding(SignatureEncoding::Base64Url)
        .with_default_algorithm(Algorithm::RS256);
    let signer = ResponseSigner::new(Arc::new(
        KeySigner::new(api_key(), Algorithm::RS256)
            .unwrap()
            .with_key_id("rs"),
    ))
    .with_profile(profile.clone());
    let signed = signer.sign_headers(200, b"ok").unwrap();
    assert_eq!(
        signed.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        ["X-Key", "X-Nonce", "X-Sig"]
    );
    assert!(!signed.signature().contains('='));
    let rs_registry = KeyRegistry::new(
        VerificationKey::new(
            "rs",
            api_key().public_key().clone(),
            profile.default_algorithm(),
        )
        .unwrap(),
    );
    let verifier = ResponseVerifier::new(Arc::new(rs_registry)).with_profile(profile);
    assert!(
        verifier
            .verify(ResponseMode::Headers, 200, signed.iter(), b"ok")
            .is_ok()
    );
    // A PS384 key would not verify an RS256 signature.
    let ps = ResponseVerifier::new(registry())
        .with_profile(ResponseProfile::splitit().with_header_names("X-Key", "X-Nonce", "X-Sig"));
    assert!(ps.verify_headers(200, signed.iter(), b"ok").is_err());
}

#[test]
fn embedded_mode_without_encryption() {
    let body = br#"{"ip":"10.1.2.3","v":"x.y"}"#; // four dots, and still not a JWE
    let token = signer().sign_embedded(body).unwrap();
    let verified = verifier().verify_embedded(token.as_bytes()).unwrap();
    assert_eq!(
        (
            &verified.payload()[..],
            verified.key_id(),
            verified.encryption()
        ),
        (&body[..], Some("api-1"), Encryption::None)
    );
    let mut tampered = token.clone().into_bytes();
    let at = token.find('.').unwrap() + 4;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        verifier().verify_embedded(&tampered),
        Err(Error::BadSignature)
    ));
    assert!(verifier().verify_embedded(body).is_err());
}

#[cfg(feature = "jwe")]
mod encrypted {
    use super::*;
    use signed_payloads::jwe::{RsaDecrypter, RsaEncrypter};
    use signed_payloads::response::NestingOrder;

    fn client_key() -> PrivateKey {
        PrivateKey::from_jwk(&data("cookbook/3_4.rsa_private_key.json")).unwrap()
    }

    fn encrypting_signer(order: NestingOrder) -> ResponseSigner {
        let encrypter = RsaEncrypter::new(client_key().public_key())
            .unwrap()
            .with_key_id("client-1");
        signer().with_encryption(encrypter, order)
    }

    fn decrypting_verifier() -> ResponseVerifier {
        verifier().with_decrypter(Arc::new(
            RsaDecrypter::new(&client_key())
                .unwrap()
                .with_key_id("client-1"),
        ))
    }

    #[test]
    fn both_nesting_orders_decrypt_after_or_before_verifying() {
        let body = br#"{"plan":"58285955768857556214"}"#;
        for order in [NestingOrder::SignedJwe, NestingOrder::EncryptedJws] {
            let token = encrypting_signer(order).sign_embedded(body).unwrap();
            let verified = decrypting_verifier()
                .verify_embedded(token.as_bytes())
                .unwrap();
            assert_eq!(
                (&verified.payload()[..], verified.encryption()),
                (&body[..], Encryption::Decrypted),
                "{order:?}"
            );
            assert_eq!(verified.key_id(), Some("api-1"));
        }
    }

    #[test]
    fn without_a_decrypter_the_jwe_comes_back_untouched_or_is_refused() {
        let token = encrypting_signer(NestingOrder::SignedJwe)
            .sign_embedded(b"secret")
            .unwrap();
        let verified = verifier().verify_embedded(token.as_bytes()).unwrap();
        assert_eq!(verified.encryption(), Encryption::Encrypted);
        assert_eq!(verified.payload().iter().filter(|&&b| b == b'.').count(), 4);
        let token = encrypting_signer(NestingOrder::EncryptedJws)
            .sign_embedded(b"secret")
            .unwrap();
        let err = verifier().verify_embedded(token.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("no decrypter"), "{err}");
    }

    #[test]
    fn anyone_can_encrypt_so_the_inner_token_must_be_signed_by_a_registered_key() {
        let to_client = RsaEncrypter::new(client_key().public_key()).unwrap();
        // An unsigned body, encrypted to the client.
        let unsigned = to_client.encrypt(br#"{"refund":"all"}"#, None).unwrap();
        let err = decrypting_verifier()
            .verify_embedded(unsigned.as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("no signed JWS"), "{err}");
        // A JWS signed by an attacker's key under a registered kid.
        let attacker = KeySigner::new(
            PrivateKey::from_pem(&data("keys/rsa2048.pkcs1.pem")).unwrap(),
            Algorithm::PS384,
        )
        .unwrap();
        let attacker = ResponseSigner::new(Arc::new(attacker.with_key_id("api-2")));
        let forged = to_client
            .encrypt(attacker.sign_embedded(b"{}").unwrap().as_bytes(), None)
            .unwrap();
        assert!(matches!(
            decrypting_verifier().verify_embedded(forged.as_bytes()),
            Err(Error::BadSignature)
        ));
        // ... and under an unknown kid.
        let stranger = KeySigner::new(api_key(), Algorithm::PS384)
            .unwrap()
            .with_key_id("stranger");
        let forged = to_client
            .encrypt(
                ResponseSigner::new(Arc::new(stranger))
                    .sign_embedded(b"{}")
                    .unwrap()
                    .as_bytes(),
                None,
            )
            .unwrap();
        assert!(matches!(
            decrypting_verifier().verify_embedded(forged.as_bytes()),
            Err(Error::UnknownKeyId(_))
        ));
        // A JWE for another recipient fails to decrypt, without detail.
        let elsewhere = RsaEncrypter::new(api_key().public_key())
            .unwrap()
            .encrypt(b"x", None)
            .unwrap();
        assert!(matches!(
            decrypting_verifier().verify_embedded(elsewhere.as_bytes()),
            Err(Error::DecryptionFailed)
        ));
    }
}

/// A zero replay window would remember nothing: a configuration error, not
/// a silently disabled defence. A window too long for the clock is kept.
#[test]
fn a_zero_replay_window_is_a_configuration_error() {
    let signed = signer().sign_headers(200, b"{}").unwrap();
    let store = Arc::new(MemoryNonceStore::new(10));
    let zero = verifier().with_replay_store(store.clone(), Duration::ZERO);
    let err = zero
        .verify_headers(200, headers_of(&signed), b"{}")
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert_eq!(err.kind(), signed_payloads::ErrorKind::Config);

    let forever = verifier().with_replay_store(store, Duration::MAX);
    forever
        .verify_headers(200, headers_of(&signed), b"{}")
        .unwrap();
    assert!(matches!(
        forever.verify_headers(200, headers_of(&signed), b"{}"),
        Err(Error::Replayed)
    ));
}

/// A layout must sign body, status and token exactly once, with a separator
/// no fresh token can contain; one that does works end to end.
#[test]
fn layouts_that_cannot_be_safe_are_refused() {
    use signed_payloads::response::{InputPart, ResponseProfile};
    let (b, s, t) = (InputPart::Body, InputPart::Status, InputPart::Token);
    for (layout, separator) in [
        ([b, s, b], ";"),
        ([b, s, s], ";"),
        ([t, t, t], ";"),
        ([b, s, t], "-"),
        ([b, s, t], "_"),
        ([b, s, t], "x"),
        ([b, s, t], "7"),
        ([b, s, t], ""),
    ] {
        let err = ResponseProfile::splitit()
            .with_layout(layout, separator)
            .unwrap_err();
        assert!(
            matches!(err, Error::Config(_)),
            "{layout:?} {separator:?}: {err}"
        );
    }
    let profile = ResponseProfile::splitit()
        .with_layout([t, b, s], "|")
        .unwrap();
    let signer = signer().with_profile(profile.clone());
    let verifier = verifier().with_profile(profile);
    // Many signatures: a separator outside the token alphabet never collides.
    for _ in 0..50 {
        let signed = signer.sign_headers(201, b"{}").unwrap();
        verifier
            .verify_headers(201, headers_of(&signed), b"{}")
            .unwrap();
    }
}

/// A JSON body given to embedded mode (unsigned, or a header-mode response)
/// is named as JSON, not as an unsupported serialization.
#[test]
fn a_json_body_in_embedded_mode_says_it_is_json() {
    let err = verifier()
        .verify_embedded(br#"{"Status":"Active"}"#)
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("JSON, not a compact JWS"), "{message}");
    assert!(message.contains("header mode"), "{message}");
}
