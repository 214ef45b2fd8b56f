//! EC (P-256, P-384, P-521) and Ed25519 keys: every format a person pastes
//! gives the same key, exports round-trip, and each refusal the JOSE specs
//! and the curve arithmetic call for has a test that fails without it.

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use signed_payloads::{
    Algorithm, Error, Header, Jwk, JwkSet, KeyKind, KeyPurpose, KeyRejected, KeySigner,
    KeyVerifier, Limits, PrivateKey, PublicKey, Verifier, jws,
};

fn text(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn pem_contents(name: &str) -> Vec<u8> {
    pem::parse(text(name)).unwrap().into_contents()
}

fn b64u(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64u(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn ring() -> bool {
    signed_payloads::ACTIVE_BACKEND == "ring"
}

fn rejected(err: &Error) -> &KeyRejected {
    match err {
        Error::KeyRejected(why) => why,
        other => panic!("expected a key rejection, got {other}"),
    }
}

#[test]
fn every_ec_format_loads_the_same_p256_key() {
    let sec1 = PrivateKey::from_pem(&text("ec-p256.pem")).unwrap();
    let expected = sec1.public_key().clone();
    assert_eq!((expected.kind(), expected.bits()), (KeyKind::EcP256, 256));
    let privates = [
        (
            "PKCS#8 PEM",
            PrivateKey::from_pem(&text("ec-p256.pkcs8.pem")),
        ),
        (
            "SEC1 DER",
            PrivateKey::from_der(&pem_contents("ec-p256.pem")),
        ),
        (
            "PKCS#8 DER",
            PrivateKey::from_der(&pem_contents("ec-p256.pkcs8.pem")),
        ),
        ("parse", PrivateKey::parse(text("ec-p256.pem").as_bytes())),
    ];
    for (what, key) in privates {
        assert_eq!(key.unwrap().public_key(), &expected, "{what}");
    }
    let spki = pem_contents("ec-p256.spki.pem");
    let publics = [
        ("SPKI PEM", PublicKey::from_pem(&text("ec-p256.spki.pem"))),
        ("SPKI DER", PublicKey::from_der(&spki)),
        (
            "bare base64",
            PublicKey::from_base64_der(&expected.to_base64_der()),
        ),
        (
            "certificate",
            PublicKey::from_pem(&text("ec-p256.cert.pem")),
        ),
        (
            "JWK",
            PublicKey::parse(expected.to_jwk().to_json().as_bytes()),
        ),
    ];
    for (what, key) in publics {
        assert_eq!(key.unwrap(), expected, "{what}");
    }
    assert_eq!(
        expected.to_spki_der(),
        spki,
        "SPKI is written as OpenSSL does"
    );
    assert_eq!(expected.modulus(), None);
}

#[test]
fn p384_p521_and_ed25519_load_from_openssl_files() {
    for (private, public, kind, bits) in [
        ("ec-p384.pem", "ec-p384.spki.pem", KeyKind::EcP384, 384),
        (
            "ec-p521.pkcs8.pem",
            "ec-p521.spki.pem",
            KeyKind::EcP521,
            521,
        ),
        (
            "ed25519.pkcs8.pem",
            "ed25519.spki.pem",
            KeyKind::Ed25519,
            256,
        ),
    ] {
        let key = PrivateKey::from_pem(&text(private));
        if ring() && kind == KeyKind::EcP521 {
            let err = key.unwrap_err();
            assert!(
                matches!(&err, Error::Config(m) if m.contains("enable the `aws-lc-rs` feature")),
                "{err}"
            );
            continue;
        }
        let key = key.unwrap();
        let spki = PublicKey::from_pem(&text(public)).unwrap();
        assert_eq!(key.public_key(), &spki, "{private}");
        assert_eq!((spki.kind(), spki.bits()), (kind, bits));
        assert_eq!(
            spki.to_pem(),
            text(public),
            "{public} is written back as read"
        );
    }
}

#[test]
fn an_ec_key_without_its_public_point() {
    let key = PrivateKey::from_pem(&text("ec-p256.no-public.pem"));
    if ring() {
        let err = key.unwrap_err();
        assert!(err.to_string().contains("public point"), "{err}");
    } else {
        let full = PrivateKey::from_pem(&text("ec-p256.pem")).unwrap();
        assert_eq!(key.unwrap().public_key(), full.public_key());
    }
}

#[cfg(feature = "aws-lc-rs")]
#[test]
fn ed25519_pkcs8_v2_carries_a_public_key_that_must_match() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let v2 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(v2.as_ref()).unwrap();
    let key = PrivateKey::from_der(v2.as_ref()).unwrap();
    assert_eq!(
        key.public_key(),
        &PublicKey::from_ed25519(pair.public_key().as_ref()).unwrap()
    );
    // The v2 public key is the last 32 bytes: another key's is refused.
    let mut tampered = v2.as_ref().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let err = PrivateKey::from_der(&tampered).unwrap_err();
    assert_eq!(rejected(&err), &KeyRejected::Inconsistent, "{err}");
}

#[test]
fn exports_round_trip_for_every_kind() {
    let mut files = vec!["ec-p256.pem", "ec-p384.pem", "ed25519.pkcs8.pem"];
    if !ring() {
        files.push("ec-p521.pkcs8.pem");
    }
    for name in files {
        let key = PrivateKey::from_pem(&text(name)).unwrap();
        let public = key.public_key();
        let again = PrivateKey::from_pem(&key.secret_pkcs8_pem()).unwrap();
        assert_eq!(again.public_key(), public, "{name}: PKCS#8 PEM");
        let der = PrivateKey::from_der(&key.secret_pkcs8_der()).unwrap();
        assert_eq!(der.public_key(), public, "{name}: PKCS#8 DER");
        assert_eq!(&PublicKey::from_pem(&public.to_pem()).unwrap(), public);
        let jwk = public
            .to_jwk()
            .with_kid("k")
            .with_alg(public.kind().default_algorithm());
        let set = JwkSet::new(vec![jwk]).to_json();
        let read = JwkSet::from_json(&set).unwrap();
        assert_eq!(
            &PublicKey::from_jwk(&read.keys[0]).unwrap(),
            public,
            "{name}: JWKS"
        );
        assert!(!format!("{key:?}").contains(&b64u(&key.secret_pkcs8_der()[..])));
    }
}

#[test]
fn rfc7638_thumbprints_of_ec_and_okp_keys() {
    // RFC 7638 3.1's member order for EC: crv, kty, x, y. The RFC 7515 A.3
    // key, hashed by hand here from its canonical JSON.
    let jwk = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"ignored"}"#;
    let key = PublicKey::from_jwk(&Jwk::from_json(jwk).unwrap()).unwrap();
    let canonical = r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    assert_eq!(key.thumbprint(), b64u(digest.as_ref()));
    // RFC 8037 A.3 gives the OKP thumbprint; tests/rfc_vectors.rs checks it.
}

/// A signer and verifier on `kind`'s own algorithm, from the committed keys.
fn pair(name: &str) -> (KeySigner, KeyVerifier) {
    let key = PrivateKey::from_pem(&text(name)).unwrap();
    let alg = key.public_key().kind().default_algorithm();
    let verifier = KeyVerifier::new(key.public_key().clone(), alg).unwrap();
    (KeySigner::new(key, alg).unwrap(), verifier)
}

#[test]
fn a_key_is_bound_only_to_the_algorithms_its_kind_allows() {
    let rsa = PrivateKey::from_pem(&text("rsa2048.pkcs8.pem")).unwrap();
    let p256 = PrivateKey::from_pem(&text("ec-p256.pem")).unwrap();
    let ed = PrivateKey::from_pem(&text("ed25519.pkcs8.pem")).unwrap();
    for (key, alg) in [
        (rsa.public_key(), Algorithm::ES256),
        (rsa.public_key(), Algorithm::EdDSA),
        (p256.public_key(), Algorithm::ES384),
        (p256.public_key(), Algorithm::RS256),
        (p256.public_key(), Algorithm::EdDSA),
        (ed.public_key(), Algorithm::ES256),
        (ed.public_key(), Algorithm::PS256),
    ] {
        let err = KeyVerifier::new(key.clone(), alg).unwrap_err();
        assert_eq!(
            rejected(&err),
            &KeyRejected::WrongAlgorithm {
                kind: key.kind(),
                algorithm: alg
            }
        );
        assert!(err.to_string().contains(alg.as_str()), "{err}");
    }
    let err = KeySigner::new(p256, Algorithm::RS256).unwrap_err();
    assert!(matches!(rejected(&err), KeyRejected::WrongAlgorithm { .. }));
    // Both names of Ed25519 fit an Ed25519 key.
    for alg in [Algorithm::EdDSA, Algorithm::Ed25519] {
        KeyVerifier::new(ed.public_key().clone(), alg).unwrap();
    }
}

#[test]
fn a_jwk_whose_crv_and_alg_disagree_is_refused() {
    let key = PrivateKey::from_pem(&text("ec-p384.pem")).unwrap();
    let jwk = key.public_key().to_jwk();
    let mut declared = jwk.clone();
    declared.alg = Some("ES256".into());
    let err = KeyVerifier::from_jwk(&declared, Algorithm::RS256).unwrap_err();
    assert!(
        matches!(rejected(&err), KeyRejected::WrongAlgorithm { .. }),
        "{err}"
    );
    // Without alg, the curve's own algorithm, whatever the RSA default.
    let verifier = KeyVerifier::from_jwk(&jwk, Algorithm::PS256).unwrap();
    assert_eq!(verifier.algorithm(), Algorithm::ES384);
    // A caller that names another algorithm than the JWK's is refused.
    let mut es384 = jwk.clone();
    es384.alg = Some("ES384".into());
    let err = es384
        .algorithm_for(KeyPurpose::Verify, Some(Algorithm::ES256), Algorithm::ES384)
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn ec_points_that_are_not_on_the_curve_are_refused_at_import() {
    let key = PrivateKey::from_pem(&text("ec-p256.pem")).unwrap();
    let jwk = key.public_key().to_jwk();
    let x = unb64u(jwk.x.as_deref().unwrap());
    let y = unb64u(jwk.y.as_deref().unwrap());
    let with = |x: &[u8], y: &[u8]| {
        let mut jwk = jwk.clone();
        jwk.x = Some(b64u(x));
        jwk.y = Some(b64u(y));
        PublicKey::from_jwk(&jwk)
    };
    with(&x, &y).unwrap();
    let mut off = y.clone();
    off[31] ^= 1;
    let cases = [
        ("off the curve", with(&x, &off)),
        ("short x", with(&x[1..], &y)),
        ("long y", with(&x, &[&[0][..], &y].concat())),
        ("zero point", with(&[0; 32], &[0; 32])),
        ("infinity", PublicKey::from_ec_point(KeyKind::EcP256, &[0])),
        (
            "compressed",
            PublicKey::from_ec_point(KeyKind::EcP256, &[&[2][..], &x].concat()),
        ),
        (
            "P-256 point read as P-384",
            PublicKey::from_ec_point(KeyKind::EcP384, &[&[4][..], &x, &y].concat()),
        ),
    ];
    for (what, result) in cases {
        let err = result.unwrap_err();
        assert!(
            matches!(rejected(&err), KeyRejected::BadPoint(_)),
            "{what}: {err}"
        );
    }
    // The same point with the right curve in its SPKI is fine.
    let mut wrong_crv = jwk.clone();
    wrong_crv.crv = Some("P-384".into());
    assert!(PublicKey::from_jwk(&wrong_crv).is_err());
}

#[test]
fn small_order_ed25519_keys_are_refused() {
    // The y coordinates of the points of order 1, 2, 4 and 8, and the
    // non-canonical encodings of 0 and 1 (p and p + 1), little-endian.
    let p_minus_1 = {
        let mut y = [0xff; 32];
        y[0] = 0xec;
        y[31] = 0x7f;
        y
    };
    let mut order8 = [0u8; 32];
    for (i, byte) in order8.iter_mut().enumerate() {
        *byte = u8::from_str_radix(
            &"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"[2 * i..2 * i + 2],
            16,
        )
        .unwrap();
    }
    let mut encodings = vec![[0; 32], p_minus_1, order8];
    let mut one = [0; 32];
    one[0] = 1;
    encodings.push(one);
    for add in [1u8, 2] {
        let mut non_canonical = p_minus_1;
        non_canonical[0] += add;
        encodings.push(non_canonical);
    }
    for y in encodings {
        for sign in [0, 0x80] {
            let mut key = y;
            key[31] |= sign;
            let err = PublicKey::from_ed25519(&key).unwrap_err();
            assert!(
                matches!(rejected(&err), KeyRejected::BadPoint(_)),
                "{key:02x?}: {err}"
            );
            let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#, b64u(&key));
            assert!(PublicKey::from_jwk(&Jwk::from_json(&jwk).unwrap()).is_err());
        }
    }
    assert!(PublicKey::from_ed25519(&[7; 31]).is_err());
}

#[test]
fn unsupported_curves_in_a_jwk_are_named() {
    for (jwk, name) in [
        (r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#, "X25519"),
        (r#"{"kty":"OKP","crv":"Ed448","x":"AA"}"#, "Ed448"),
        (
            r#"{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}"#,
            "secp256k1",
        ),
        (r#"{"kty":"DSA"}"#, "DSA"),
    ] {
        let err = PublicKey::from_jwk(&Jwk::from_json(jwk).unwrap()).unwrap_err();
        assert!(
            matches!(rejected(&err), KeyRejected::UnsupportedKeyType(_)),
            "{jwk}: {err}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn private_jwks_of_ec_and_okp_keys() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/rfc7515/A3_A4_ec.json")).unwrap();
    let text = vectors["A.3"]["private_jwk_text"].as_str().unwrap();
    let key = PrivateKey::from_jwk(text).unwrap();
    assert_eq!(key.public_key().kind(), KeyKind::EcP256);
    let jwk: serde_json::Value = serde_json::from_str(text).unwrap();
    let with = |name: &str, value: &str| {
        let mut jwk = jwk.clone();
        jwk[name] = value.into();
        PrivateKey::from_jwk(&jwk.to_string())
    };
    // A d of the wrong length, and a d that is not x and y's.
    let d = unb64u(jwk["d"].as_str().unwrap());
    assert!(with("d", &b64u(&d[1..])).is_err());
    let mut other = d.clone();
    other[31] ^= 1;
    let err = with("d", &b64u(&other)).unwrap_err();
    assert_eq!(rejected(&err), &KeyRejected::Inconsistent, "{err}");
    // Debug shows no secret.
    assert!(!format!("{key:?}").contains(jwk["d"].as_str().unwrap()));
    // An OKP JWK whose x is not d's.
    let okp = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"fU0Of2FTpptiQrUiq77mhf2kQg-INLEIw72uNp71Sfo"}"#;
    let err = PrivateKey::from_jwk(okp).unwrap_err();
    assert_eq!(rejected(&err), &KeyRejected::Inconsistent, "{err}");
}

/// A token whose signature segment is replaced by `signature`.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let cut = token.rfind('.').unwrap();
    format!("{}.{}", &token[..cut], b64u(signature))
}

/// `a - b` on big-endian numbers of one length (a >= b).
fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = (d + 256 * borrow) as u8;
    }
    out
}

#[test]
fn ecdsa_signatures_in_a_jws_are_r_and_s_at_the_curve_size() {
    const N: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let n: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&N[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let (signer, verifier) = pair("ec-p256.pem");
    let token = jws::sign(&Header::for_signer(&signer), b"{}", &signer).unwrap();
    let limits = Limits::default();
    jws::verify(&token, &verifier, &limits).unwrap();
    let signature = unb64u(token.rsplit('.').next().unwrap());
    assert_eq!(signature.len(), 64);
    let (r, s) = signature.split_at(32);

    // High S (n - s) is the same signature to ECDSA: valid in JOSE.
    let high = [r, &sub(&n, s)].concat();
    jws::verify(&with_signature(&token, &high), &verifier, &limits).unwrap();

    // The DER form of the same signature.
    let der_int = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        let pad = v[0] & 0x80 != 0;
        let mut out = vec![2, (v.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend(v);
        out
    };
    let body = [der_int(r), der_int(s)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();

    let refused = [
        ("DER", der),
        ("63 bytes", signature[..63].to_vec()),
        ("65 bytes", [&signature[..], &[0]].concat()),
        ("r = 0", [&[0; 32][..], s].concat()),
        ("s = 0", [r, &[0; 32][..]].concat()),
        ("r = n", [&n[..], s].concat()),
        ("s = n", [r, &n[..]].concat()),
        ("r = s = 0", vec![0; 64]),
        (
            "r + n overflows",
            [&sub(&[0xff; 32], &[0; 32])[..], s].concat(),
        ),
    ];
    for (what, signature) in refused {
        let err = jws::verify(&with_signature(&token, &signature), &verifier, &limits).unwrap_err();
        assert!(matches!(err, Error::BadSignature), "{what}: {err}");
    }
}

#[test]
fn ed25519_refuses_a_non_canonical_s() {
    // L, the order of the base point, little-endian.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let (signer, verifier) = pair("ed25519.pkcs8.pem");
    let token = jws::sign(&Header::for_signer(&signer), b"{}", &signer).unwrap();
    let signature = unb64u(token.rsplit('.').next().unwrap());
    // S + L: the same scalar mod L, but not the canonical encoding.
    let mut s_plus_l = signature.clone();
    let mut carry = 0u16;
    for (i, limb) in L.iter().enumerate() {
        let sum = u16::from(s_plus_l[32 + i]) + u16::from(*limb) + carry;
        s_plus_l[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let err = jws::verify(
        &with_signature(&token, &s_plus_l),
        &verifier,
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSignature), "{err}");
    jws::verify(&token, &verifier, &Limits::default()).unwrap();
}

#[cfg(feature = "aws-lc-rs")]
#[test]
fn generated_keys_of_every_kind_sign_and_verify() {
    use signed_payloads::Signer;
    for kind in KeyKind::ALL {
        let key = PrivateKey::generate_kind(kind).unwrap();
        assert_eq!(key.public_key().kind(), kind);
        let again = PrivateKey::from_pem(&key.secret_pkcs8_pem()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let alg = kind.default_algorithm();
        let verifier = KeyVerifier::new(key.public_key().clone(), alg).unwrap();
        let signer = KeySigner::new(key, alg).unwrap();
        let signature = signer.sign(b"message").unwrap();
        verifier.verify(b"message", &signature).unwrap();
        assert!(verifier.verify(b"massage", &signature).is_err());
    }
}
