//! The attack catalog: each class of hostile token a verifier meets, several
//! inputs each, every one refused with the error that names the defence.
//! Classes covered elsewhere say where.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use signed_payloads::request::RequestVerifier;
use signed_payloads::{
    Algorithm, Error, Header, KeyRegistry, KeySigner, KeyVerifier, Limits, Malformed, PrivateKey,
    PublicKey, Segment, Signer, VerificationKey, jws,
};

fn key_a() -> PrivateKey {
    PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap()
}

fn key_b() -> PrivateKey {
    PrivateKey::from_pem(include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap()
}

fn registry() -> KeyRegistry {
    KeyRegistry::from_keys([
        VerificationKey::new("a", key_a().public_key().clone(), Algorithm::RS256).unwrap(),
        VerificationKey::new("b", key_b().public_key().clone(), Algorithm::PS256).unwrap(),
    ])
    .unwrap()
}

fn verify(token: &str) -> Result<Vec<u8>, Error> {
    registry()
        .snapshot()
        .verify(token, &Limits::default())
        .map(|v| v.into_payload())
}

/// `header.payload.signature` from raw parts, signed by `signer` (or with `signature` as given).
fn token(header: &str, payload: &[u8], signer: Option<&dyn Signer>) -> String {
    let input = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let signature = signer
        .map(|s| s.sign(input.as_bytes()).unwrap())
        .unwrap_or_default();
    format!("{input}.{}", B64.encode(signature))
}

fn signer_a() -> KeySigner {
    KeySigner::new(key_a(), Algorithm::RS256).unwrap()
}

#[test]
fn class_1_alg_none_in_every_spelling() {
    for alg in ["none", "None", "NONE", "nOnE", "none ", ""] {
        for signature in ["", "AAAA", "c2ln"] {
            let header = B64.encode(format!(r#"{{"alg":"{alg}","kid":"a"}}"#));
            let t = format!("{header}.{}.{signature}", B64.encode(b"{}"));
            let err = verify(&t).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::UnsupportedAlgorithm(_)
                        | Error::Malformed(Malformed::EmptySegment(Segment::Signature))
                ),
                "{alg:?} / {signature:?}: {err}"
            );
        }
    }
}

#[test]
fn class_2_algorithm_confusion() {
    use aws_lc_rs::hmac;
    let public = key_a().public_key().clone();
    let pem = public.to_pem();
    let der = public.to_spki_der();
    let jwk = public.to_jwk().to_json();
    let forms: [(&str, &[u8]); 5] = [
        ("pem", pem.as_bytes()),
        ("der", &der),
        ("pkcs1", public.to_pkcs1_der().unwrap()),
        ("jwk", jwk.as_bytes()),
        ("modulus", public.modulus().unwrap()),
    ];
    for (alg, hmac_alg) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        for (form, secret) in forms {
            let input = format!(
                "{}.{}",
                B64.encode(format!(r#"{{"alg":"{alg}","kid":"a"}}"#)),
                B64.encode(b"{}")
            );
            let tag = hmac::sign(&hmac::Key::new(hmac_alg, secret), input.as_bytes());
            let t = format!("{input}.{}", B64.encode(tag.as_ref()));
            assert!(
                matches!(verify(&t), Err(Error::UnsupportedAlgorithm(_))),
                "{alg} keyed with {form}"
            );
        }
    }
    // PS presented to an RS-bound key, and RS to a PS-bound key.
    let ps = KeySigner::new(key_a(), Algorithm::PS256).unwrap();
    let t = token(r#"{"alg":"PS256","kid":"a"}"#, b"{}", Some(&ps));
    assert!(matches!(verify(&t), Err(Error::AlgorithmMismatch { .. })));
    let rs = KeySigner::new(key_b(), Algorithm::RS256).unwrap();
    let t = token(r#"{"alg":"RS256","kid":"b"}"#, b"{}", Some(&rs));
    assert!(matches!(verify(&t), Err(Error::AlgorithmMismatch { .. })));
}

#[test]
fn class_3_kid_abuse() {
    let a = signer_a();
    for kid in [
        r#""zz""#,
        r#""""#,
        r#""A""#,
        r#""a\u0000""#,
        r#""a ""#,
        r#"" a""#,
        r#""a\n""#,
        r#""../../etc/passwd""#,
        r#""a' OR '1'='1""#,
        r#""a; DROP TABLE keys;--""#,
    ] {
        let t = token(
            &format!(r#"{{"alg":"RS256","kid":{kid}}}"#),
            b"{}",
            Some(&a),
        );
        assert!(matches!(verify(&t), Err(Error::UnknownKeyId(_))), "{kid}");
    }
    for kid in ["1", "[\"a\"]", "{\"a\":1}", "null", "true"] {
        let t = token(
            &format!(r#"{{"alg":"RS256","kid":{kid}}}"#),
            b"{}",
            Some(&a),
        );
        let err = verify(&t).unwrap_err();
        assert!(
            err.to_string().contains("kid must be a string"),
            "{kid}: {err}"
        );
    }
    let long = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "a".repeat(5000));
    let err = verify(&token(&long, b"{}", Some(&a))).unwrap_err();
    assert!(
        matches!(err, Error::UnknownKeyId(_)) && err.to_string().len() < 100,
        "{err}"
    );
    // Signed by A, naming B (same algorithm so only the signature decides).
    let reg = KeyRegistry::from_keys([
        VerificationKey::new("a", key_a().public_key().clone(), Algorithm::RS256).unwrap(),
        VerificationKey::new("b", key_b().public_key().clone(), Algorithm::RS256).unwrap(),
    ])
    .unwrap();
    let t = token(r#"{"alg":"RS256","kid":"b"}"#, b"{}", Some(&a));
    assert!(matches!(
        reg.snapshot().verify(&t, &Limits::default()),
        Err(Error::BadSignature)
    ));
}

#[test]
fn class_4_key_injection_headers_are_never_used() {
    let cookbook =
        PrivateKey::from_jwk(include_str!("data/cookbook/3_4.rsa_private_key.json")).unwrap();
    let evil = KeySigner::new(cookbook, Algorithm::RS256).unwrap();
    let jwk = evil.key().public_key().to_jwk().to_json();
    let x5c = B64.encode(evil.key().public_key().to_spki_der());
    for extra in [
        format!(r#""jwk":{jwk}"#),
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        format!(r#""x5c":["{x5c}"]"#),
    ] {
        for kid in ["", r#","kid":"a""#] {
            let header = format!(r#"{{"alg":"RS256"{kid},{extra}}}"#);
            assert!(
                matches!(
                    verify(&token(&header, b"{}", Some(&evil))),
                    Err(Error::BadSignature)
                ),
                "{header}"
            );
        }
    }
}

#[test]
fn class_5_crit_and_b64() {
    let a = signer_a();
    for (header, expected) in [
        (
            r#"{"alg":"RS256","kid":"a","crit":["exp"],"exp":1}"#,
            "unsupported extension",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":["zip"]}"#,
            "unsupported extension",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":[]}"#,
            "must not be empty",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":"b64","b64":false}"#,
            "array of strings",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":{"b64":1},"b64":false}"#,
            "array of strings",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":["b64"]}"#,
            "has no such member",
        ),
        (
            r#"{"alg":"RS256","kid":"a","crit":["alg"]}"#,
            "unsupported extension",
        ),
        (
            r#"{"alg":"RS256","kid":"a","b64":false}"#,
            "not listed in crit",
        ),
    ] {
        let err = verify(&token(header, b"{}", Some(&a))).unwrap_err();
        assert!(err.to_string().contains(expected), "{header}: {err}");
    }
    // b64: false in a JWT: the JWS layer accepts it, the JWT profile does not.
    let header = Header::new(Algorithm::RS256)
        .with_kid("a")
        .unencoded_payload();
    let t = jws::sign(&header, b"{}", &a).unwrap();
    assert!(verify(&t).is_ok());
    let jwt = RequestVerifier::new(Arc::new(registry()));
    assert!(
        jwt.verify_bytes(&t)
            .unwrap_err()
            .to_string()
            .contains("b64")
    );
}

#[test]
fn class_6_json_tricks() {
    let a = signer_a();
    for header in [
        r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
        r#"{"alg":"HS256","alg":"RS256","kid":"a"}"#,
        r#"{"alg":"RS256","alg":"HS256","kid":"a"}"#,
        r#"{"alg":"RS256","kid":"a","\u006bid":"b"}"#,
    ] {
        let err = verify(&token(header, b"{}", Some(&a))).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed(Malformed::DuplicateMember {
                    part: Segment::Header,
                    ..
                })
            ),
            "{header}: {err}"
        );
    }
    let jwt = RequestVerifier::new(Arc::new(registry()));
    for payload in [
        &br#"{"sub":"a","sub":"admin"}"#[..],
        br#"{"admin":false,"admin":true}"#,
        br#"{"a":{"x":1,"x":2}}"#,
    ] {
        let t = token(r#"{"alg":"RS256","kid":"a"}"#, payload, Some(&a));
        let err = jwt.verify_bytes(&t).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed(Malformed::DuplicateMember {
                    part: Segment::Payload,
                    ..
                })
            ),
            "{err}"
        );
    }
    let deep = format!(
        r#"{{"alg":"RS256","kid":"a","x":{}0{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(matches!(
        verify(&token(&deep, b"{}", Some(&a))),
        Err(Error::Malformed(Malformed::TooDeep { .. }))
    ));
    for header in [r#"["RS256"]"#, r#""RS256""#, "42", "null"] {
        assert!(verify(&token(header, b"{}", Some(&a))).is_err(), "{header}");
    }
    for payload in [&b"[1,2]"[..], b"\"text\"", b"42", b"null"] {
        let t = token(r#"{"alg":"RS256","kid":"a"}"#, payload, Some(&a));
        assert!(
            jwt.verify_bytes(&t).is_err(),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
    for bytes in [
        &b"{\"alg\":\"RS256\",\"kid\":\"\xff\"}"[..],
        b"{\"alg\":\"RS256\",\"kid\":\"\\ud800\"}",
        b"\xef\xbb\xbf{\"alg\":\"RS256\",\"kid\":\"a\"}",
        b"{\"alg\":\"RS256\",\"kid\":\"a\"}garbage",
        b"{\"alg\":\"RS256\",\"kid\":\"a\"} {}",
    ] {
        let t = format!("{}.{}.AAAA", B64.encode(bytes), B64.encode(b"{}"));
        assert!(
            matches!(verify(&t), Err(Error::Malformed(_))),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn class_7_base64url_and_shape() {
    let good = token(
        r#"{"alg":"RS256","kid":"a"}"#,
        b"{\"x\":1}",
        Some(&signer_a()),
    );
    assert!(verify(&good).is_ok());
    let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let variants = [
        format!("{h}==.{p}.{s}"),
        format!("{h}.{p}=.{s}"),
        format!("{h}.{p}.{s}=="),
        format!("{h}.{p}.{}", s.replace('-', "+").replace('_', "/")),
        format!("{h}.{p}.{}+", &s[..s.len() - 1]),
        format!("{h} .{p}.{s}"),
        format!("{h}.{p}\n.{s}"),
        format!("{h}.{p}.{s}\n"),
        format!("{h}.{p}.\t{s}"),
        format!(".{p}.{s}"),
        format!("{h}..{s}"),
        format!("{h}.{p}."),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.a.b"),
        format!("{h}{p}{s}"),
        format!(r#"{{"protected":"{h}","payload":"{p}","signature":"{s}"}}"#),
    ];
    for variant in variants {
        assert!(verify(&variant).is_err(), "{variant:?}");
    }
    // Non-zero trailing bits: the last character of an unpadded segment may
    // carry bits that a lenient decoder ignores.
    let sig_bytes = B64.decode(s).unwrap();
    assert_eq!(
        sig_bytes.len() % 3,
        1,
        "a 256-byte signature leaves 4 spare bits"
    );
    let last = s.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    let bumped = alphabet.chars().nth(index + 1).unwrap();
    let err = verify(&format!("{h}.{p}.{}{bumped}", &s[..s.len() - 1])).unwrap_err();
    assert!(
        matches!(err, Error::Malformed(Malformed::Base64(Segment::Signature))),
        "{err}"
    );
}

#[test]
fn class_8_rsa_signature_shape() {
    let a = signer_a();
    let good = token(r#"{"alg":"RS256","kid":"a"}"#, b"{}", Some(&a));
    let (input, s) = good.rsplit_once('.').unwrap();
    let sig = B64.decode(s).unwrap();
    let n = key_a().public_key().modulus().unwrap().to_vec();
    let mut longer = sig.clone();
    longer.push(0);
    let mut prefixed = vec![0];
    prefixed.extend(&sig);
    let mut above = n.clone();
    *above.last_mut().unwrap() = above.last().unwrap().wrapping_add(2);
    for (name, bad) in [
        ("shorter", sig[1..].to_vec()),
        ("longer", longer),
        ("zero-prefixed", prefixed),
        ("equal to n", n.clone()),
        ("above n", above),
        ("all ones", vec![0xff; 256]),
        ("zero", vec![0; 256]),
        ("one", [vec![0; 255], vec![1]].concat()),
        ("empty-ish", vec![0]),
    ] {
        let t = format!("{input}.{}", B64.encode(&bad));
        assert!(matches!(verify(&t), Err(Error::BadSignature)), "{name}");
    }
    // A valid signature that starts with a zero byte is accepted at full
    // length, and refused with the zero stripped.
    let (t, signature) = (0..5000)
        .map(|i| {
            token(
                &format!(r#"{{"alg":"RS256","kid":"a","n":{i}}}"#),
                b"{}",
                Some(&a),
            )
        })
        .map(|t| {
            let sig = B64.decode(t.rsplit_once('.').unwrap().1).unwrap();
            (t, sig)
        })
        .find(|(_, sig)| sig[0] == 0)
        .expect("one in 256 signatures starts with 0x00");
    assert!(verify(&t).is_ok());
    let stripped = format!(
        "{}.{}",
        t.rsplit_once('.').unwrap().0,
        B64.encode(&signature[1..])
    );
    assert!(matches!(verify(&stripped), Err(Error::BadSignature)));
    // Padding and DigestInfo mutations: tests/wycheproof.rs runs all of
    // Wycheproof's for 2048, 3072 and 4096-bit keys and PSS.
}

#[test]
fn class_9_weak_keys() {
    let mut n = key_a().public_key().modulus().unwrap().to_vec();
    assert!(matches!(
        PublicKey::from_components(&n[..128], &[1, 0, 1]),
        Err(Error::KeyRejected(_))
    ));
    for e in [&[1u8][..], &[2], &[1, 0, 0], &[0]] {
        assert!(
            matches!(
                PublicKey::from_components(&n, e),
                Err(Error::KeyRejected(_))
            ),
            "e = {e:?}"
        );
    }
    *n.last_mut().unwrap() &= 0xfe;
    assert!(
        PublicKey::from_components(&n, &[1, 0, 1]).is_err(),
        "even modulus"
    );
    // Under 2048 bits, ROCA and the file forms: tests/keys.rs; JWKS: tests/registry.rs (Wycheproof key sets).
}

// Class 10 (claims: exp/nbf/iat as strings, booleans, null, fractional,
// negative, out of range; aud as number or empty array; iss prefix tricks):
// tests/request.rs, `time_claims` and `audience_and_issuer`.

#[test]
fn class_11_nested_tokens_are_not_unwrapped_silently() {
    // A JWS whose payload is another JWS (cty: JWT) is not a JWT claims set.
    let inner = token(
        r#"{"alg":"RS256","kid":"a"}"#,
        br#"{"admin":true}"#,
        Some(&signer_a()),
    );
    let outer = token(
        r#"{"alg":"RS256","kid":"a","cty":"JWT"}"#,
        inner.as_bytes(),
        Some(&signer_a()),
    );
    let jwt = RequestVerifier::new(Arc::new(registry()));
    assert!(jwt.verify_bytes(&outer).is_err());
    assert_eq!(
        verify(&outer).unwrap(),
        inner.as_bytes(),
        "the JWS layer returns the inner token as bytes, unverified"
    );
    // A JWE where a JWS is expected.
    let err = verify("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d").unwrap_err();
    assert!(matches!(err, Error::Malformed(Malformed::LooksLikeJwe)));
    // JWE wrapping unsigned or attacker-signed tokens, and RSA1_5: tests/response.rs
    // (`encrypted` module) and tests/jwe.rs.
}

#[test]
fn class_12_size_limits_before_any_work() {
    let limits = Limits::default();
    let v = KeyVerifier::new(key_a().public_key().clone(), Algorithm::RS256).unwrap();
    let ten_mb = "a".repeat(10 << 20);
    assert!(matches!(
        jws::verify(&ten_mb, &v, &limits),
        Err(Error::TooLarge { what: "token", .. })
    ));
    let big_header = format!("{}.e30.AAAA", "e".repeat(1 << 20));
    let roomy = Limits::default().with_max_token_bytes(4 << 20);
    assert!(matches!(
        jws::verify(&big_header, &v, &roomy),
        Err(Error::TooLarge { what: "header", .. })
    ));
    let dots = ".".repeat(1_000_000);
    assert!(matches!(
        jws::verify(&dots, &v, &limits),
        Err(Error::Malformed(Malformed::SegmentCount { found: 6 }))
    ));
    let deep_header = B64.encode(format!(r#"{{"alg":"RS256","x":{}}}"#, "[".repeat(100_000)));
    let t = format!("{deep_header}.e30.AAAA");
    let err = jws::verify(&t, &v, &roomy.with_max_header_bytes(1 << 20)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed(Malformed::TooDeep { .. } | Malformed::Json { .. })
        ),
        "{err}"
    );
    let deep_payload = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let t = token(
        r#"{"alg":"RS256","kid":"a"}"#,
        deep_payload.as_bytes(),
        Some(&signer_a()),
    );
    let jwt = RequestVerifier::new(Arc::new(registry())).with_limits(roomy);
    assert!(matches!(
        jwt.verify_bytes(&t),
        Err(Error::Malformed(Malformed::TooDeep { .. }))
    ));
}

// Class 13 (response header mode: missing and duplicate headers, non-base64
// signature, unregistered key id, changed body, status or token, replays
// with the nonce store on): tests/response.rs, `header_mode_errors_each_say_what_is_wrong`,
// `moving_body_bytes_into_the_token_is_refused`, `replays_are_refused_when_the_nonce_store_is_on`.
