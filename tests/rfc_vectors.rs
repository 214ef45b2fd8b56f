//! Published vectors: RFC 7515 Appendix A and RFC 7520 (the JOSE cookbook).

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use signed_payloads::{
    Algorithm, Error, Header, Limits, PrivateKey, PublicKey, RsaSigner, RsaVerifier, jws,
};

const A2_PKCS1: &str = include_str!("data/rfc7515/A2.rsa_private_pkcs1.pem");
const A2_PKCS8: &str = include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem");
const A2_SPKI: &str = include_str!("data/rfc7515/A2.rsa_public_spki.pem");
const A2_PKCS1_PUBLIC: &str = include_str!("data/rfc7515/A2.rsa_public_pkcs1.pem");
const A2_TOKEN: &str = include_str!("data/rfc7515/A2.compact.txt");
const A2_HEADER: &[u8] = include_bytes!("data/rfc7515/A2.protected_header.bin");
const A2_PAYLOAD: &[u8] = include_bytes!("data/rfc7515/A2.payload.bin");

fn a2_verifier() -> RsaVerifier {
    RsaVerifier::new(PublicKey::from_pem(A2_SPKI).unwrap(), Algorithm::RS256).unwrap()
}

#[test]
fn rfc7515_a2_signing_exact_octets_gives_the_rfc_token() {
    for pem in [A2_PKCS1, A2_PKCS8] {
        let signer = RsaSigner::new(PrivateKey::from_pem(pem).unwrap(), Algorithm::RS256);
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
    let pkcs1 = RsaVerifier::new(
        PublicKey::from_pem(A2_PKCS1_PUBLIC).unwrap(),
        Algorithm::RS256,
    )
    .unwrap();
    assert!(jws::verify(A2_TOKEN.trim(), &pkcs1, &Limits::default()).is_ok());
}

#[test]
fn rfc7515_a2_bound_to_another_algorithm_is_refused() {
    let ps = RsaVerifier::new(PublicKey::from_pem(A2_SPKI).unwrap(), Algorithm::PS256).unwrap();
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

    let signer = RsaSigner::new(cookbook_key(), Algorithm::RS256);
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
        &RsaVerifier::new(public, Algorithm::RS256).unwrap(),
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
    let verifier = RsaVerifier::new(public, Algorithm::PS384).unwrap();
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
    let verifier = RsaVerifier::new(public, Algorithm::RS256).unwrap();
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
    let signer = RsaSigner::new(cookbook_key(), Algorithm::RS256)
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
