//! Key loading: one key in every format gives the same public key and
//! thumbprint; unacceptable keys are refused with the reason.

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use signed_payloads::{
    Algorithm, Error, Header, Jwk, JwkSet, KeyRejected, KeySigner, KeyVerifier, Limits, PrivateKey,
    PublicKey, jws,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn text(name: &str) -> String {
    String::from_utf8(data(name)).unwrap()
}

fn reference() -> PublicKey {
    let hex = text("rsa2048.modulus.hex");
    let n: Vec<u8> = (0..hex.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    PublicKey::from_components(&n, &[1, 0, 1]).unwrap()
}

#[test]
fn every_private_format_loads_the_same_key() {
    let expected = reference();
    let keys = [
        (
            "pkcs1 pem",
            PrivateKey::from_pem(&text("rsa2048.pkcs1.pem")),
        ),
        (
            "pkcs8 pem",
            PrivateKey::from_pem(&text("rsa2048.pkcs8.pem")),
        ),
        (
            "pkcs1 der",
            PrivateKey::from_der(&data("rsa2048.pkcs1.der")),
        ),
        (
            "pkcs8 der",
            PrivateKey::from_der(&data("rsa2048.pkcs8.der")),
        ),
        ("jwk", PrivateKey::from_jwk(&text("rsa2048.private.jwk"))),
        (
            "parse pkcs1 pem",
            PrivateKey::parse(&data("rsa2048.pkcs1.pem")),
        ),
        (
            "parse pkcs8 der",
            PrivateKey::parse(&data("rsa2048.pkcs8.der")),
        ),
        (
            "parse pkcs1 der",
            PrivateKey::parse(&data("rsa2048.pkcs1.der")),
        ),
        ("parse jwk", PrivateKey::parse(&data("rsa2048.private.jwk"))),
    ];
    let message = b"same key, same signature";
    let mut signatures = Vec::new();
    for (name, key) in keys {
        let key = key.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.public_key(), &expected, "{name}");
        assert_eq!(
            key.public_key().thumbprint(),
            expected.thumbprint(),
            "{name}"
        );
        let signer = KeySigner::new(key, Algorithm::RS256).unwrap();
        signatures.push(signed_payloads::Signer::sign(&signer, message).unwrap());
    }
    assert!(signatures.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn every_public_format_loads_the_same_key() {
    let expected = reference();
    let keys = [
        ("spki pem", PublicKey::from_pem(&text("rsa2048.spki.pem"))),
        (
            "pkcs1 pem",
            PublicKey::from_pem(&text("rsa2048.pkcs1-public.pem")),
        ),
        (
            "certificate pem",
            PublicKey::from_pem(&text("rsa2048.cert.pem")),
        ),
        ("spki der", PublicKey::from_der(&data("rsa2048.spki.der"))),
        (
            "pkcs1 der",
            PublicKey::from_der(&data("rsa2048.pkcs1-public.der")),
        ),
        (
            "certificate der",
            PublicKey::from_der(&data("rsa2048.cert.der")),
        ),
        (
            "bare base64",
            PublicKey::from_base64_der(&text("rsa2048.spki.b64")),
        ),
        (
            "jwk",
            PublicKey::from_jwk(&Jwk::from_json(&text("rsa2048.public.jwk")).unwrap()),
        ),
    ];
    for (name, key) in keys {
        assert_eq!(
            key.unwrap_or_else(|e| panic!("{name}: {e}")),
            expected,
            "{name}"
        );
    }
    for name in [
        "rsa2048.spki.pem",
        "rsa2048.pkcs1-public.pem",
        "rsa2048.cert.pem",
        "rsa2048.spki.der",
        "rsa2048.pkcs1-public.der",
        "rsa2048.cert.der",
        "rsa2048.spki.b64",
        "rsa2048.public.jwk",
    ] {
        assert_eq!(
            PublicKey::parse(&data(name)).unwrap_or_else(|e| panic!("{name}: {e}")),
            expected,
            "{name}"
        );
    }
}

#[test]
fn exports_round_trip() {
    let private = PrivateKey::from_pem(&text("rsa2048.pkcs1.pem")).unwrap();
    let public = private.public_key();
    assert_eq!(&PublicKey::from_pem(&public.to_pem()).unwrap(), public);
    assert_eq!(&PublicKey::from_der(&public.to_spki_der()).unwrap(), public);
    assert_eq!(public.to_spki_der(), data("rsa2048.spki.der"));
    assert_eq!(public.to_pem(), text("rsa2048.spki.pem"));
    let jwk = public
        .to_jwk()
        .with_kid("k1")
        .with_alg(Algorithm::RS256)
        .for_signatures();
    let set = JwkSet::new(vec![jwk.clone()]);
    let again = JwkSet::from_json(&set.to_json()).unwrap();
    assert_eq!(again.keys[0].kid.as_deref(), Some("k1"));
    assert_eq!(&PublicKey::from_jwk(&again.keys[0]).unwrap(), public);
    let reloaded = PrivateKey::from_pem(&private.secret_pkcs8_pem()).unwrap();
    assert_eq!(reloaded.public_key(), public);
    assert_eq!(*private.secret_pkcs8_der(), data("rsa2048.pkcs8.der"));
}

#[test]
fn rfc7638_thumbprint_of_the_rfc_example_key() {
    // RFC 7638 section 3.1: the key of RFC 7517 A.1 has this thumbprint.
    let jwk = Jwk::from_json(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
    assert_eq!(
        PublicKey::from_jwk(&jwk).unwrap().thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn refused_keys_say_why() {
    let small = PrivateKey::from_pem(&text("rsa1024.pkcs1.pem")).unwrap_err();
    assert!(
        matches!(
            small,
            Error::KeyRejected(KeyRejected::TooSmall { bits: 1024 })
        ),
        "{small}"
    );
    assert!(small.to_string().contains("2048"));
    for name in ["rsa2048.encrypted-pkcs8.pem", "rsa2048.encrypted-pkcs1.pem"] {
        let err = PrivateKey::from_pem(&text(name)).unwrap_err();
        assert!(
            matches!(err, Error::KeyRejected(KeyRejected::Encrypted)),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("decrypt with openssl"), "{err}");
    }
    for (name, kind) in [
        ("ec-secp256k1.pem", "secp256k1"),
        ("x25519.pkcs8.pem", "X25519"),
        ("ed448.pkcs8.pem", "Ed448"),
    ] {
        let err = PrivateKey::from_pem(&text(name)).unwrap_err();
        assert!(
            matches!(err, Error::KeyRejected(KeyRejected::UnsupportedKeyType(_))),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(kind), "{name}: {err}");
    }
    // A curve given by explicit parameters instead of its name.
    let explicit = PrivateKey::from_pem(&text("ec-p256-explicit.pem")).unwrap_err();
    assert!(explicit.to_string().contains("curve"), "{explicit}");
    let public_as_private = PrivateKey::from_pem(&text("rsa2048.spki.pem")).unwrap_err();
    assert!(
        matches!(
            public_as_private,
            Error::KeyRejected(KeyRejected::NotPrivate)
        ),
        "{public_as_private}"
    );
    let private_as_public = PublicKey::from_pem(&text("rsa2048.pkcs8.pem")).unwrap_err();
    assert!(
        private_as_public.to_string().contains("private key"),
        "{private_as_public}"
    );
    let private_jwk_as_public = PublicKey::parse(&data("rsa2048.private.jwk")).unwrap_err();
    assert!(
        private_jwk_as_public.to_string().contains("private key"),
        "{private_jwk_as_public}"
    );
    // e = 3 is odd and at least 3: accepted by the crate; ring cannot sign with it.
    let e3 = PrivateKey::from_pem(&text("rsa2048-e3.pkcs1.pem"));
    #[cfg(feature = "aws-lc-rs")]
    assert_eq!(e3.unwrap().public_key().exponent(), Some(&[3][..]));
    #[cfg(not(feature = "aws-lc-rs"))]
    assert!(e3.unwrap_err().to_string().contains("at least 65537"));
}

#[test]
fn malformed_key_files_are_clear_errors() {
    let pem = text("rsa2048.pkcs1.pem");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("whitespace", b"  \n".to_vec()),
        ("garbage", b"not a key at all".to_vec()),
        ("truncated pem", pem.as_bytes()[..pem.len() / 2].to_vec()),
        ("truncated der", data("rsa2048.pkcs8.der")[..600].to_vec()),
        (
            "der with trailing byte",
            [data("rsa2048.spki.der"), vec![0]].concat(),
        ),
        (
            "unknown pem label",
            b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n".to_vec(),
        ),
        ("jwk without n", br#"{"kty":"RSA","e":"AQAB"}"#.to_vec()),
        (
            "jwk bad base64",
            br#"{"kty":"RSA","n":"a+b","e":"AQAB"}"#.to_vec(),
        ),
        ("jwk oct", br#"{"kty":"oct","k":"AAAA"}"#.to_vec()),
        ("json not object", b"[1]".to_vec()),
    ];
    for (name, input) in cases {
        let public = PublicKey::parse(&input);
        let private = PrivateKey::parse(&input);
        assert!(public.is_err() && private.is_err(), "{name}");
        for err in [public.unwrap_err(), private.unwrap_err()] {
            let message = err.to_string();
            assert!(
                !message.is_empty() && !message.contains("MII"),
                "{name}: {message}"
            );
        }
    }
    // A private JWK without CRT members is refused, naming the member.
    let jwk: serde_json::Value = serde_json::from_str(&text("rsa2048.private.jwk")).unwrap();
    let mut short = jwk.clone();
    short.as_object_mut().unwrap().remove("qi");
    let err = PrivateKey::from_jwk(&short.to_string()).unwrap_err();
    assert!(err.to_string().contains("\"qi\""), "{err}");
    // Inconsistent CRT values are refused (by the backend or the pairwise check).
    let mut wrong = jwk.clone();
    wrong["dp"] = jwk["dq"].clone();
    let err = PrivateKey::from_jwk(&wrong.to_string()).unwrap_err();
    assert!(
        matches!(err, Error::KeyRejected(KeyRejected::Inconsistent)),
        "{err}"
    );
}

#[test]
fn debug_never_shows_key_material() {
    let private = PrivateKey::from_pem(&text("rsa2048.pkcs1.pem")).unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&text("rsa2048.private.jwk")).unwrap();
    let signer = KeySigner::new(
        PrivateKey::from_pem(&text("rsa2048.pkcs1.pem")).unwrap(),
        Algorithm::RS256,
    )
    .unwrap();
    let shown = [
        format!("{private:?}"),
        format!("{private:#?}"),
        format!("{signer:?}"),
    ];
    for shown in shown {
        for member in ["d", "p", "q", "dp", "dq", "qi", "n"] {
            let secret = jwk[member].as_str().unwrap();
            assert!(!shown.contains(&secret[..16]), "{member} in {shown}");
        }
        assert!(!shown.contains("MII"), "{shown}");
        assert!(shown.contains("2048"));
    }
}

#[test]
fn verifier_from_jwk_honours_use_alg_and_key_ops() {
    let public: serde_json::Value = serde_json::from_str(&text("rsa2048.public.jwk")).unwrap();
    let with = |extra: serde_json::Value| {
        let mut v = public.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        KeyVerifier::from_jwk(&Jwk::from_json(&v.to_string()).unwrap(), Algorithm::RS256)
    };
    assert_eq!(
        signed_payloads::Verifier::algorithm(&with(serde_json::json!({})).unwrap()),
        Algorithm::RS256
    );
    assert_eq!(
        signed_payloads::Verifier::algorithm(&with(serde_json::json!({"alg":"PS384"})).unwrap()),
        Algorithm::PS384
    );
    assert!(matches!(
        with(serde_json::json!({"use":"enc"})),
        Err(Error::KeyRejected(KeyRejected::WrongUse(_)))
    ));
    assert!(matches!(
        with(serde_json::json!({"key_ops":["sign"]})),
        Err(Error::KeyRejected(KeyRejected::WrongUse(_)))
    ));
    assert!(matches!(
        with(serde_json::json!({"alg":"HS256"})),
        Err(Error::UnsupportedAlgorithm(_))
    ));
    assert!(matches!(
        with(serde_json::json!({"alg":"RSA-OAEP"})),
        Err(Error::UnsupportedAlgorithm(_))
    ));

    // And a key bound via its JWK verifies a token of that algorithm.
    let private = PrivateKey::from_jwk(&text("rsa2048.private.jwk")).unwrap();
    let signer = KeySigner::new(private, Algorithm::PS384).unwrap();
    let token = jws::sign(&Header::for_signer(&signer), b"x", &signer).unwrap();
    assert!(
        jws::verify(
            &token,
            &with(serde_json::json!({"alg":"PS384"})).unwrap(),
            &Limits::default()
        )
        .is_ok()
    );
}

#[test]
fn a_signer_from_a_jwk_keeps_to_what_the_jwk_declares() {
    let private: serde_json::Value = serde_json::from_str(&text("rsa2048.private.jwk")).unwrap();
    let with = |extra: serde_json::Value| {
        let mut v = private.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string()
    };
    use signed_payloads::Signer;
    // The JWK's alg and kid, unless the caller names them.
    let signer =
        KeySigner::from_jwk(&with(serde_json::json!({"alg":"PS256","kid":"k1"})), None).unwrap();
    assert_eq!(
        (signer.algorithm(), signer.key_id()),
        (Algorithm::PS256, Some("k1"))
    );
    let signer = KeySigner::from_jwk(&with(serde_json::json!({})), None).unwrap();
    assert_eq!(
        (signer.algorithm(), signer.key_id()),
        (Algorithm::RS256, None)
    );
    let signer = KeySigner::from_jwk(&with(serde_json::json!({})), Some(Algorithm::PS512)).unwrap();
    assert_eq!(signer.algorithm(), Algorithm::PS512);
    // A caller's choice that disagrees is an error, never a silent override.
    let e = KeySigner::from_jwk(
        &with(serde_json::json!({"alg":"PS256"})),
        Some(Algorithm::RS256),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "invalid configuration: the JWK declares alg PS256, but RS256 was asked for"
    );
    // use and key_ops that exclude signing.
    for declared in [
        serde_json::json!({"use":"enc"}),
        serde_json::json!({"key_ops":["verify"]}),
        serde_json::json!({"key_ops":["encrypt","decrypt"]}),
    ] {
        assert!(
            matches!(
                KeySigner::from_jwk(&with(declared.clone()), None),
                Err(Error::KeyRejected(KeyRejected::WrongUse("signing")))
            ),
            "{declared}"
        );
    }
    assert!(KeySigner::from_jwk(&with(serde_json::json!({"key_ops":["sign"]})), None).is_ok());
    // The same rules on the verifying side, for a JWK and a JWKS alike.
    let public: serde_json::Value = serde_json::from_str(&text("rsa2048.public.jwk")).unwrap();
    let mut ps256 = public.clone();
    ps256["alg"] = "PS256".into();
    let jwk = Jwk::from_json(&ps256.to_string()).unwrap();
    assert_eq!(
        jwk.algorithm_for(signed_payloads::KeyPurpose::Verify, None, Algorithm::RS256)
            .unwrap(),
        Algorithm::PS256
    );
    assert!(matches!(
        jwk.algorithm_for(
            signed_payloads::KeyPurpose::Verify,
            Some(Algorithm::RS256),
            Algorithm::RS256
        ),
        Err(Error::Config(_))
    ));
}

#[test]
fn roca_fingerprint_is_refused() {
    // The ROCA-weak key of Wycheproof json_web_key_test.json (tcId 7).
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/data/wycheproof/json_web_key_test.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let group = file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["comment"] == "jws_rsa_roca_key")
        .unwrap();
    let jwk = Jwk::from_json(&group["public"]["keys"][0].to_string()).unwrap();
    let err = PublicKey::from_jwk(&jwk).unwrap_err();
    assert!(
        matches!(err, Error::KeyRejected(KeyRejected::RocaVulnerable)),
        "{err}"
    );
    // None of the other keys in the test data has the fingerprint.
    for name in ["rsa2048.spki.pem", "rsa2048.cert.pem"] {
        assert!(PublicKey::parse(&data(name)).is_ok());
    }
}

/// A shared secret is named as such, not as "a private key".
#[test]
fn an_oct_jwk_is_refused_as_a_symmetric_key() {
    let err = PublicKey::parse(br#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#).unwrap_err();
    assert!(
        matches!(err, Error::KeyRejected(KeyRejected::Symmetric)),
        "{err}"
    );
    assert!(err.to_string().contains("symmetric"), "{err}");
    assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
}

/// Nothing may follow the parameters in a PKCS#8 AlgorithmIdentifier (the
/// SPKI reader already refused it).
#[test]
fn pkcs8_refuses_trailing_data_in_the_algorithm_identifier() {
    let der = data("rsa2048.pkcs8.der");
    assert!(PrivateKey::from_der(&der).is_ok());
    // 30 82 LL LL | 02 01 00 | 30 0d <oid> 05 00 | 04 82 ...: add a second
    // NULL inside the AlgorithmIdentifier and fix both lengths.
    assert_eq!(
        &der[..9],
        [0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d]
    );
    let mut bad = der[..22].to_vec();
    bad.extend_from_slice(&[0x05, 0x00]);
    bad.extend_from_slice(&der[22..]);
    bad[8] = 0x0f;
    let outer = u16::from_be_bytes([bad[2], bad[3]]) + 2;
    bad[2..4].copy_from_slice(&outer.to_be_bytes());
    let err = PrivateKey::from_der(&bad).unwrap_err();
    assert!(matches!(err, Error::Malformed(_)), "{err}");
}
