//! Published vectors: RFC 7515 Appendix A and RFC 7520 (the JOSE cookbook).

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use signed_payloads::{
    Algorithm, Error, Header, Jwk, KeySigner, KeyVerifier, Limits, PrivateKey, PublicKey, jws,
};

const A2_PKCS1: &str = include_str!("data/rfc7515/A2.rsa_private_pkcs1.pem");
const A2_PKCS8: &str = include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem");
const A2_SPKI: &str = include_str!("data/rfc7515/A2.rsa_public_spki.pem");
const A2_PKCS1_PUBLIC: &str = include_str!("data/rfc7515/A2.rsa_public_pkcs1.pem");
const A2_TOKEN: &str = include_str!("data/rfc7515/A2.compact.txt");
const A2_HEADER: &[u8] = include_bytes!("data/rfc7515/A2.protected_header.bin");
const A2_PAYLOAD: &[u8] = include_bytes!("data/rfc7515/A2.payload.bin");

fn a2_verifier() -> KeyVerifier {
    KeyVerifier::new(PublicKey::from_pem(A2_SPKI).unwrap(), Algorithm::RS256).unwrap()
}

#[test]
fn rfc7515_a2_signing_exact_octets_gives_the_rfc_token() {
    for pem in [A2_PKCS1, A2_PKCS8] {
        let signer = KeySigner::new(PrivateKey::from_pem(pem).unwrap(), Algorithm::RS256).unwrap();
        let token = jws::sign_with_raw_header(A2_HEADER, A2_PAYLOAD, &signer).unwrap();
        assert_eq!(token, A2_TOKEN.trim());
    }
}

#[test]
fn rfc7515_a2_verifies_to_the_exact_payload_octets() {
    let verified = jws::verify(A2_TOKEN.trim(), &a2_verifier(), &Limits::default()).unwrap();
    assert_eq!(verified.payload(), A2_PAYLOAD);
    assert_eq!(verified.header().unwrap().alg, Algorithm::RS256);
    assert_eq!(verified.key_id(), None);
    // The same key as PKCS#1 "RSA PUBLIC KEY" verifies too.
    let pkcs1 = KeyVerifier::new(
        PublicKey::from_pem(A2_PKCS1_PUBLIC).unwrap(),
        Algorithm::RS256,
    )
    .unwrap();
    assert!(jws::verify(A2_TOKEN.trim(), &pkcs1, &Limits::default()).is_ok());
}

#[test]
fn rfc7515_a2_bound_to_another_algorithm_is_refused() {
    let ps = KeyVerifier::new(PublicKey::from_pem(A2_SPKI).unwrap(), Algorithm::PS256).unwrap();
    let err = jws::verify(A2_TOKEN.trim(), &ps, &Limits::default()).unwrap_err();
    assert!(matches!(
        err,
        Error::AlgorithmMismatch {
            token: Algorithm::RS256,
            key: Algorithm::PS256
        }
    ));
}

#[test]
fn rfc7515_a1_hs256_and_a5_none_are_refused() {
    for (token, name) in [
        (include_str!("data/rfc7515/A1.compact.txt"), "HS256"),
        (include_str!("data/rfc7515/A5.compact.txt"), "none"),
    ] {
        let err = jws::verify(token.trim(), &a2_verifier(), &Limits::default()).unwrap_err();
        match err {
            Error::UnsupportedAlgorithm(seen) => assert_eq!(seen.as_str(), name),
            // A.5 has an empty signature segment, which is refused first.
            Error::Malformed(signed_payloads::Malformed::EmptySegment(_)) if name == "none" => {}
            other => panic!("{name}: {other}"),
        }
    }
    // With a non-empty signature, alg none is still refused by name.
    let forged = format!("{}AAAA", include_str!("data/rfc7515/A5.compact.txt").trim());
    let err = jws::verify(&forged, &a2_verifier(), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedAlgorithm(ref s) if s.as_str() == "none"),
        "{err}"
    );
}

fn cookbook(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/cookbook/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn cookbook_key() -> PrivateKey {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/cookbook/3_4.rsa_private_key.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    PrivateKey::from_jwk(&text).unwrap()
}

#[test]
fn rfc7520_4_1_compact_is_reproduced_exactly_and_verifies() {
    let case = cookbook("4_1.rsa_v15_signature.json");
    let expected = case["output"]["compact"].as_str().unwrap();
    let payload = case["input"]["payload"].as_str().unwrap().as_bytes();
    let header_b64 = case["signing"]["protected_b64u"].as_str().unwrap();
    let header = base64_url(header_b64);

    let signer = KeySigner::new(cookbook_key(), Algorithm::RS256).unwrap();
    assert_eq!(
        jws::sign_with_raw_header(&header, payload, &signer).unwrap(),
        expected
    );
    // Our own header serialization gives the same octets for this header.
    let ours = Header::new(Algorithm::RS256).with_kid("bilbo.baggins@hobbiton.example");
    let signer = signer.with_key_id("bilbo.baggins@hobbiton.example");
    assert_eq!(jws::sign(&ours, payload, &signer).unwrap(), expected);

    let public = cookbook_key().public_key().clone();
    let verified = jws::verify(
        expected,
        &KeyVerifier::new(public, Algorithm::RS256).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(verified.payload(), payload);
    assert_eq!(
        verified.header().unwrap().kid.as_deref(),
        Some("bilbo.baggins@hobbiton.example")
    );
}

#[test]
fn rfc7520_4_2_ps384_verifies() {
    let case = cookbook("4_2.rsa-pss_signature.json");
    let token = case["output"]["compact"].as_str().unwrap();
    let payload = case["input"]["payload"].as_str().unwrap().as_bytes();
    let public = cookbook_key().public_key().clone();
    let verifier = KeyVerifier::new(public, Algorithm::PS384).unwrap();
    assert_eq!(
        jws::verify(token, &verifier, &Limits::default())
            .unwrap()
            .payload(),
        payload
    );
}

#[test]
fn rfc7520_4_1_detached_form_verifies_with_the_payload_supplied() {
    let case = cookbook("rfc_derived_positive.json");
    let case = &case["rfc7520_4_1_rs256_detached"];
    let token = case["compact_detached"].as_str().unwrap();
    let payload = case["detached_payload_utf8"].as_str().unwrap().as_bytes();
    let public = cookbook_key().public_key().clone();
    let verifier = KeyVerifier::new(public, Algorithm::RS256).unwrap();
    let verified = jws::verify_detached(token, payload, &verifier, &Limits::default()).unwrap();
    assert_eq!(verified.payload(), payload);
    // Another payload does not verify, and the token alone has an empty payload.
    assert!(matches!(
        jws::verify_detached(token, b"other", &verifier, &Limits::default()),
        Err(Error::BadSignature)
    ));
    assert!(matches!(
        jws::verify(token, &verifier, &Limits::default()),
        Err(Error::BadSignature)
    ));
    // Signing detached reproduces the token (PKCS#1 v1.5 is deterministic).
    let signer = KeySigner::new(cookbook_key(), Algorithm::RS256)
        .unwrap()
        .with_key_id("bilbo.baggins@hobbiton.example");
    assert_eq!(
        jws::sign_detached(&Header::for_signer(&signer), payload, &signer).unwrap(),
        token
    );
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn rfc_json(path: &str) -> serde_json::Value {
    let path = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// RFC 7515 A.3 (ES256, P-256) and A.4 (ES512, P-521) verify with the
/// public JWK, to the exact payload octets (A.3's has CR LF); a signature
/// made here with the private JWK verifies too (ECDSA is randomized, so the
/// RFC's bytes cannot be reproduced).
#[test]
fn rfc7515_a3_es256_and_a4_es512_verify() {
    let vectors = rfc_json("rfc7515/A3_A4_ec.json");
    for (section, alg) in [("A.3", Algorithm::ES256), ("A.4", Algorithm::ES512)] {
        let vector = &vectors[section];
        let public = Jwk::from_json(&vector["public_jwk"].to_string()).unwrap();
        let key = match PublicKey::from_jwk(&public) {
            Err(Error::Config(message)) if signed_payloads::ACTIVE_BACKEND == "ring" => {
                // ring has no P-521: the refusal names the feature to enable.
                assert_eq!(alg, Algorithm::ES512);
                assert!(message.contains("aws-lc-rs"), "{message}");
                continue;
            }
            key => key.unwrap(),
        };
        let verifier = KeyVerifier::new(key, alg).unwrap();
        let token = vector["compact"].as_str().unwrap();
        let verified = jws::verify(token, &verifier, &Limits::default()).unwrap();
        assert_eq!(
            verified.payload(),
            vector["payload"].as_str().unwrap().as_bytes()
        );
        assert_eq!(verified.header().unwrap().alg, alg);

        let private = PrivateKey::from_jwk(vector["private_jwk_text"].as_str().unwrap()).unwrap();
        assert_eq!(private.public_key(), verifier.key());
        let signer = KeySigner::new(private, alg).unwrap();
        let header = vector["protected_header"].as_str().unwrap().as_bytes();
        let ours = jws::sign_with_raw_header(header, verified.payload(), &signer).unwrap();
        assert_ne!(ours, token, "{section}: ECDSA signatures are randomized");
        jws::verify(&ours, &verifier, &Limits::default()).unwrap();
        // The signature is R || S at the curve's size, not DER.
        let signature = ours.rsplit('.').next().unwrap();
        let expected = vector["signature_octets"].as_u64().unwrap() as usize;
        assert_eq!(
            signature.len(),
            expected.div_ceil(3) * 4 - (3 - expected % 3) % 3
        );
    }
}

/// RFC 8037 A.1-A.5: the Ed25519 key's thumbprint (A.3), the EdDSA
/// signature reproduced byte for byte (A.4, Ed25519 is deterministic), and
/// its verification (A.5).
#[test]
fn rfc8037_ed25519_signs_byte_for_byte_and_verifies() {
    let vectors = rfc_json("rfc8037/A.json");
    let private = PrivateKey::from_jwk(vectors["A.1_private_jwk_text"].as_str().unwrap()).unwrap();
    let public =
        PublicKey::from_jwk(&Jwk::from_json(&vectors["A.2_public_jwk"].to_string()).unwrap())
            .unwrap();
    assert_eq!(private.public_key(), &public);
    assert_eq!(
        public.thumbprint(),
        vectors["A.3_thumbprint"]["b64u"].as_str().unwrap()
    );

    let signing = &vectors["A.4_signing"];
    let signer = KeySigner::new(private, Algorithm::EdDSA).unwrap();
    let token = jws::sign_with_raw_header(
        signing["protected_header"].as_str().unwrap().as_bytes(),
        signing["payload"].as_str().unwrap().as_bytes(),
        &signer,
    )
    .unwrap();
    assert_eq!(token, signing["compact"].as_str().unwrap());

    let verification = &vectors["A.5_verification"];
    let verifier = KeyVerifier::new(public.clone(), Algorithm::EdDSA).unwrap();
    let verified = jws::verify(
        verification["compact"].as_str().unwrap(),
        &verifier,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        verified.payload(),
        verification["payload"].as_str().unwrap().as_bytes()
    );
    // The same token under the fully specified name is an algorithm
    // mismatch: a key is bound to one name.
    let fully_specified = KeyVerifier::new(public, Algorithm::Ed25519).unwrap();
    assert!(matches!(
        jws::verify(token.as_str(), &fully_specified, &Limits::default()),
        Err(Error::AlgorithmMismatch { .. })
    ));
}
