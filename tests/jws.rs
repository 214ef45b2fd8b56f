//! Compact JWS behaviour: round trips for every algorithm, detached and
//! unencoded payloads, and a clear error for every malformed shape.

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use serde::Deserialize;
use signed_payloads::{
    Algorithm, Error, Header, KeyKind, KeySigner, KeyVerifier, Limits, Malformed, PrivateKey,
    PublicKey, Segment, Signer, dangerous, jws,
};

const KEY: &str = include_str!("data/keys/rsa2048.pkcs8.pem");

/// A key of the kind `alg` works with.
fn key_for(alg: Algorithm) -> PrivateKey {
    let pem = match alg.key_kind() {
        KeyKind::EcP256 => include_str!("data/keys/ec-p256.pem"),
        KeyKind::EcP384 => include_str!("data/keys/ec-p384.pem"),
        KeyKind::EcP521 => include_str!("data/keys/ec-p521.pkcs8.pem"),
        KeyKind::Ed25519 => include_str!("data/keys/ed25519.pkcs8.pem"),
        _ => KEY,
    };
    PrivateKey::from_pem(pem).unwrap()
}

/// Every algorithm the backend in use offers (ring has no P-521).
fn algorithms() -> impl Iterator<Item = Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|a| *a != Algorithm::ES512 || signed_payloads::ACTIVE_BACKEND != "ring")
}

fn signer(alg: Algorithm) -> KeySigner {
    KeySigner::new(key_for(alg), alg)
        .unwrap()
        .with_key_id("test-key")
}

fn verifier(alg: Algorithm) -> KeyVerifier {
    KeyVerifier::new(key_for(alg).public_key().clone(), alg).unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A token with arbitrary header and payload octets, correctly signed.
fn forge(header: &str, payload: &[u8], alg: Algorithm) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload));
    let sig = signer(alg).sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

#[test]
fn every_algorithm_round_trips_and_detects_tampering() {
    for alg in algorithms() {
        let s = signer(alg);
        let header = Header::for_signer(&s).with_typ("JWT");
        let payload = br#"{"sub":"ada","amount":1200}"#;
        let token = jws::sign(&header, payload, &s).unwrap();
        let verified = jws::verify(&token, &verifier(alg), &limits()).unwrap();
        assert_eq!(verified.payload(), payload);
        // A bare verifier has no registered id: the proof names none, and
        // the header's own (unvouched) kid is read through header().
        assert_eq!(verified.key_id(), None);
        assert_eq!(verified.header().unwrap().kid.as_deref(), Some("test-key"));
        assert_eq!(verified.header().unwrap().typ.as_deref(), Some("JWT"));

        // Change one payload character: the signature no longer matches.
        let dot = token.find('.').unwrap();
        let mut bytes = token.clone().into_bytes();
        bytes[dot + 3] = if bytes[dot + 3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(
            matches!(
                jws::verify(&tampered, &verifier(alg), &limits()),
                Err(Error::BadSignature)
            ),
            "{alg}"
        );

        // A verifier bound to any other algorithm refuses it before any
        // signature work, EdDSA and Ed25519 included.
        for other in algorithms().filter(|a| *a != alg) {
            let err = jws::verify(&token, &verifier(other), &limits()).unwrap_err();
            assert!(
                matches!(err, Error::AlgorithmMismatch { .. }),
                "{alg} vs {other}: {err}"
            );
        }
    }
}

#[test]
fn typed_payloads_deserialize_strictly() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct User {
        name: String,
        age: u32,
    }
    let s = signer(Algorithm::RS256);
    let token = jws::sign(&Header::for_signer(&s), br#"{"name":"Ada","age":36}"#, &s).unwrap();
    let user = jws::verify(&token, &verifier(Algorithm::RS256), &limits())
        .unwrap()
        .deserialize_json::<User>(&limits())
        .unwrap();
    assert_eq!(
        user.payload(),
        &User {
            name: "Ada".into(),
            age: 36
        }
    );

    for (payload, what) in [
        (&br#"{"name":"Ada","age":36,"age":37}"#[..], "duplicate"),
        (br#"{"name":"Ada"}"#, "missing field"),
        (br#"{"name":"Ada","age":"36"}"#, "invalid type"),
        (br#"{"name":"Ada","age":36} x"#, "not valid JSON"),
    ] {
        let token = jws::sign(&Header::for_signer(&s), payload, &s).unwrap();
        let err = jws::verify(&token, &verifier(Algorithm::RS256), &limits())
            .unwrap()
            .deserialize_json::<User>(&limits())
            .unwrap_err();
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

#[test]
fn detached_and_unencoded_payloads() {
    let s = signer(Algorithm::PS256);
    let v = verifier(Algorithm::PS256);
    let payload = b"$.02 is not base64url-safe";

    let detached = jws::sign_detached(&Header::for_signer(&s), payload, &s).unwrap();
    assert!(detached.contains(".."));
    assert_eq!(
        jws::verify_detached(&detached, payload, &v, &limits())
            .unwrap()
            .payload(),
        payload
    );
    let attached = jws::sign(&Header::for_signer(&s), payload, &s).unwrap();
    assert!(matches!(
        jws::verify_detached(&attached, payload, &v, &limits()),
        Err(Error::Malformed(Malformed::PayloadNotDetached))
    ));

    let unencoded = Header::for_signer(&s).unencoded_payload();
    let token = jws::sign_detached(&unencoded, payload, &s).unwrap();
    let verified = jws::verify_detached(&token, payload, &v, &limits()).unwrap();
    assert!(verified.header().unwrap().is_unencoded());
    assert_eq!(
        verified.header().unwrap().crit.as_deref(),
        Some(&["b64".to_owned()][..])
    );

    // Unencoded and attached: the payload travels as is, and must have no '.'.
    let token = jws::sign(&unencoded, b"plain-text_payload", &s).unwrap();
    assert!(token.contains(".plain-text_payload."));
    assert_eq!(
        jws::verify(&token, &v, &limits()).unwrap().payload(),
        b"plain-text_payload"
    );
    assert!(matches!(
        jws::sign(&unencoded, b"has.dot", &s),
        Err(Error::Malformed(Malformed::UnencodedPayloadHasDot))
    ));
}

#[test]
fn b64_false_must_be_critical_and_unknown_crit_is_refused() {
    let v = verifier(Algorithm::RS256);
    let cases = [
        (r#"{"alg":"RS256","b64":false}"#, "not listed in crit"),
        (
            r#"{"alg":"RS256","crit":["exp"],"exp":5}"#,
            "unsupported extension",
        ),
        (r#"{"alg":"RS256","crit":["b64"]}"#, "has no such member"),
        (
            r#"{"alg":"RS256","crit":[],"b64":true}"#,
            "must not be empty",
        ),
        (
            r#"{"alg":"RS256","crit":"b64","b64":true}"#,
            "array of strings",
        ),
        (
            r#"{"alg":"RS256","crit":[1],"b64":true}"#,
            "array of strings",
        ),
    ];
    for (header, expected) in cases {
        let token = forge(header, b"{}", Algorithm::RS256);
        let err = jws::verify(&token, &v, &limits()).unwrap_err();
        assert!(err.to_string().contains(expected), "{header}: {err}");
    }
}

fn malformed(token: &str) -> Error {
    jws::verify(token, &verifier(Algorithm::RS256), &limits()).unwrap_err()
}

#[test]
fn wrong_shapes_are_clear_errors() {
    let good = forge(r#"{"alg":"RS256"}"#, b"{}", Algorithm::RS256);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let cases: Vec<(String, Malformed)> = vec![
        (String::new(), Malformed::SegmentCount { found: 1 }),
        (format!("{h}.{p}"), Malformed::SegmentCount { found: 2 }),
        (
            format!("{h}.{p}.{s}."),
            Malformed::SegmentCount { found: 4 },
        ),
        (format!("{h}.{p}.{s}.x.y"), Malformed::LooksLikeJwe),
        (
            "..........".to_owned(),
            Malformed::SegmentCount { found: 6 },
        ),
        (
            format!(".{p}.{s}"),
            Malformed::EmptySegment(Segment::Header),
        ),
        (
            format!("{h}.{p}."),
            Malformed::EmptySegment(Segment::Signature),
        ),
        (format!("{h}=.{p}.{s}"), Malformed::Base64(Segment::Header)),
        (
            format!("{h}.{p}.{s}="),
            Malformed::Base64(Segment::Signature),
        ),
        (
            format!("{h}.{p}.{}", s.replace('_', "/").replace('-', "+")),
            Malformed::Base64(Segment::Signature),
        ),
        (
            format!("{} {}.{p}.{s}", &h[..4], &h[4..]),
            Malformed::Base64(Segment::Header),
        ),
        (format!("{h}\n.{p}.{s}"), Malformed::Base64(Segment::Header)),
        (
            format!(r#"{{"protected":"{h}","payload":"{p}","signature":"{s}"}}"#),
            Malformed::JsonSerialization,
        ),
    ];
    for (token, expected) in cases {
        match malformed(&token) {
            Error::Malformed(found) => assert_eq!(found, expected, "{token:?}"),
            other => panic!("{token:?}: {other}"),
        }
    }
    // Non-zero trailing bits in the header: "eyJhbGciOiJSUzI1NiJ9" ends in 9 (...0b111101),
    // with one spare bit pattern that a lenient decoder would accept.
    let last = h.chars().last().unwrap();
    let bumped = match last {
        '9' => '-',
        'Q' => 'R',
        'g' => 'h',
        'w' => 'x',
        'A' => 'B',
        c => c,
    };
    if bumped != last {
        let token = format!("{}{bumped}.{p}.{s}", &h[..h.len() - 1]);
        assert!(matches!(
            malformed(&token),
            Error::Malformed(Malformed::Base64(Segment::Header))
                | Error::Malformed(Malformed::Json { .. })
        ));
    }
    // A payload that is not base64url is reported after the signature checks.
    let bad_payload = format!("{h}.{p}*.{s}");
    assert!(matches!(malformed(&bad_payload), Error::BadSignature));
}

#[test]
fn headers_must_be_strict_json_objects() {
    let v = verifier(Algorithm::RS256);
    let cases: &[(&str, &str)] = &[
        (
            r#"{"alg":"RS256","alg":"RS256"}"#,
            "duplicate member \"alg\"",
        ),
        (
            r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
            "duplicate member \"kid\"",
        ),
        (r#"["RS256"]"#, "JSON object"),
        (r#""RS256""#, "JSON object"),
        (r#"{"alg":"RS256"} "#, ""),
        (r#"{"alg":"RS256"}x"#, "not valid JSON"),
        ("\u{feff}{\"alg\":\"RS256\"}", "not valid JSON"),
        (r#"{"alg":"none"}"#, "algorithm \"none\" is not supported"),
        (r#"{"alg":"HS256"}"#, "algorithm \"HS256\" is not supported"),
        (r#"{"alg":"rs256"}"#, "algorithm \"rs256\" is not supported"),
        (r#"{"kid":"x"}"#, "missing alg"),
        (r#"{"alg":"RS256","kid":1}"#, "kid must be a string"),
    ];
    for (header, expected) in cases {
        let token = forge(header, b"{}", Algorithm::RS256);
        match jws::verify(&token, &v, &limits()) {
            Ok(_) => assert!(expected.is_empty(), "{header} accepted"),
            Err(err) => assert!(
                !expected.is_empty() && err.to_string().contains(expected),
                "{header}: {err}"
            ),
        }
    }
    let deep = format!(
        r#"{{"alg":"RS256","x":{}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    let err = jws::verify(&forge(&deep, b"{}", Algorithm::RS256), &v, &limits()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed(Malformed::TooDeep {
                part: Segment::Header,
                limit: 32
            })
        ),
        "{err}"
    );
    let invalid_utf8 = format!(
        "{}.{}.AAAA",
        b64(b"{\"alg\":\"RS256\",\"x\":\"\xff\"}"),
        b64(b"{}")
    );
    assert!(matches!(
        malformed(&invalid_utf8),
        Error::Malformed(Malformed::Json { .. })
    ));
}

#[test]
fn limits_refuse_large_input_before_decoding() {
    let v = verifier(Algorithm::RS256);
    let huge = "a".repeat(Limits::DEFAULT_MAX_TOKEN_BYTES + 1);
    assert!(matches!(
        jws::verify(&huge, &v, &limits()),
        Err(Error::TooLarge { what: "token", .. })
    ));
    let dots = ".".repeat(1_000_000);
    assert!(matches!(
        jws::verify(&dots, &v, &limits()),
        Err(Error::Malformed(Malformed::SegmentCount { found: 6 }))
    ));
    let big_header = format!(
        "{}.e30.AAAA",
        "e".repeat(Limits::DEFAULT_MAX_HEADER_BYTES + 4)
    );
    assert!(matches!(
        jws::verify(&big_header, &v, &limits()),
        Err(Error::TooLarge { what: "header", .. })
    ));

    // Raised limits let a large payload through; depth limits apply to typed payloads.
    let s = signer(Algorithm::RS256);
    let payload = format!("\"{}\"", "x".repeat(2 << 20));
    let token = jws::sign(&Header::for_signer(&s), payload.as_bytes(), &s).unwrap();
    assert!(matches!(
        jws::verify(&token, &v, &limits()),
        Err(Error::TooLarge { .. })
    ));
    let roomy = Limits::default().with_max_token_bytes(4 << 20);
    assert_eq!(
        jws::verify(&token, &v, &roomy).unwrap().payload().len(),
        payload.len()
    );

    let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
    let token = jws::sign(&Header::for_signer(&s), deep.as_bytes(), &s).unwrap();
    let err = jws::verify(&token, &v, &limits())
        .unwrap()
        .deserialize_json::<serde_json::Value>(&limits())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed(Malformed::TooDeep {
                part: Segment::Payload,
                ..
            })
        ),
        "{err}"
    );
    let deeper_ok = Limits::default().with_max_json_depth(40);
    assert!(
        jws::verify(&token, &v, &limits())
            .unwrap()
            .deserialize_json::<serde_json::Value>(&deeper_ok)
            .is_ok()
    );
}

#[test]
fn key_injection_headers_are_kept_but_never_used() {
    // An attacker signs with their own key and ships it in the header.
    let attacker =
        PrivateKey::from_pem(include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
    let attacker_jwk = attacker.public_key().to_jwk().to_json();
    let header = format!(
        r#"{{"alg":"RS256","jwk":{attacker_jwk},"jku":"https://evil.example/jwks","x5u":"https://evil.example/c","x5c":["MIIB"]}}"#
    );
    let input = format!("{}.{}", b64(header.as_bytes()), b64(b"{}"));
    let sig = KeySigner::new(attacker, Algorithm::RS256)
        .unwrap()
        .sign(input.as_bytes())
        .unwrap();
    let token = format!("{input}.{}", b64(&sig));
    assert!(matches!(
        jws::verify(&token, &verifier(Algorithm::RS256), &limits()),
        Err(Error::BadSignature)
    ));
    let header = dangerous::peek_header(&token, &limits()).unwrap();
    assert!(header.extra.contains_key("jwk") && header.extra.contains_key("x5c"));
}

#[test]
fn signing_checks_the_header_against_the_signer() {
    let s = signer(Algorithm::RS256);
    let err = jws::sign(&Header::new(Algorithm::PS256), b"{}", &s).unwrap_err();
    // The caller's header and signer disagree: the caller's configuration.
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert_eq!(err.kind(), signed_payloads::ErrorKind::Config);
    assert!(
        err.to_string().contains("PS256") && err.to_string().contains("RS256"),
        "{err}"
    );
    let mut header = Header::for_signer(&s);
    header.extra.insert("kid".into(), "shadow".into());
    assert!(jws::sign(&header, b"{}", &s).is_err());
    assert!(jws::sign_with_raw_header(br#"{"alg":"RS256","alg":"RS256"}"#, b"{}", &s).is_err());
}

#[test]
fn dangerous_decoding_reads_without_verifying() {
    let s = signer(Algorithm::RS384);
    let token = jws::sign(&Header::for_signer(&s), b"hello", &s).unwrap();
    let header = dangerous::peek_header(&token, &limits()).unwrap();
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (Algorithm::RS384, Some("test-key"))
    );
    let (_, payload) = dangerous::decode_unverified(&token, &limits()).unwrap();
    assert_eq!(payload, b"hello");
}

#[test]
fn error_messages_never_echo_tokens_signatures_or_long_strings() {
    let kid = format!("{}\u{0}\n", "k".repeat(500));
    let token = forge(
        &format!(
            r#"{{"alg":"HS256{}","kid":"{}"}}"#,
            "x".repeat(300),
            kid.escape_default()
        ),
        b"{}",
        Algorithm::RS256,
    );
    let err = malformed(&token);
    let message = err.to_string();
    assert!(message.len() < 200, "{message}");
    let signature = token.rsplit('.').next().unwrap();
    for (shown, what) in [(message.clone(), "Display"), (format!("{err:?}"), "Debug")] {
        assert!(!shown.contains(&signature[..20]), "{what}: {shown}");
        assert!(!shown.contains(&token[..30]), "{what}: {shown}");
    }
    let public = PublicKey::from_pem(include_str!("data/keys/rsa2048.spki.pem")).unwrap();
    let shown = format!("{:?}", KeyVerifier::new(public, Algorithm::RS256).unwrap());
    assert!(!shown.contains("MII"), "{shown}");
}
