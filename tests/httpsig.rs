//! HTTP Message Signatures (RFC 9421), first step: every Appendix B.2
//! example's signature base rebuilt byte for byte from the RFC's test
//! request or response and its signature verified; B.2.6 (Ed25519)
//! re-signed byte for byte; and the refusals this step makes.

#![cfg(feature = "httpsig")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use signed_payloads::httpsig::{self, HttpMessage, HttpSigPolicy};
use signed_payloads::{Algorithm, Error, KeySigner, KeyVerifier, PrivateKey, PublicKey, Signer};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/rfc9421/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A raw HTTP/1.1 message (CRLF, as the RFC prints it) as an `HttpMessage`:
/// a request's origin-form target under `https://` and its `Host`.
fn message(raw: &str) -> HttpMessage {
    let (head, _body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap();
    let headers: Vec<(&str, &str)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name, value.trim())
        })
        .collect();
    let mut message = if let Some(status) = start.strip_prefix("HTTP/1.1 ") {
        HttpMessage::response(status[..3].parse().unwrap())
    } else {
        let mut parts = start.split(' ');
        let (method, target) = (parts.next().unwrap(), parts.next().unwrap());
        let host = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("host"))
            .unwrap()
            .1;
        HttpMessage::request(method, &format!("https://{host}{target}")).unwrap()
    };
    for (name, value) in headers {
        message = message.with_header(name, value);
    }
    message
}

fn examples() -> Vec<Value> {
    let vectors: Value = serde_json::from_str(&data("examples.json")).unwrap();
    vectors["examples"].as_array().unwrap().clone()
}

fn verifier(key: &str, alg: &str) -> KeyVerifier {
    let public = PublicKey::from_pem(&data(&format!("{key}.pub.pem"))).unwrap();
    let algorithm = match alg {
        "rsa-pss-sha512" => Algorithm::PS512,
        "ecdsa-p256-sha256" => Algorithm::ES256,
        "ed25519" => Algorithm::EdDSA,
        other => panic!("{other}"),
    };
    KeyVerifier::new(public, algorithm).unwrap()
}

/// The body of the example's message.
fn body_of(example: &Value) -> Vec<u8> {
    let raw = data(&format!("{}.http", example["message"].as_str().unwrap()));
    raw.split_once("\r\n\r\n").unwrap().1.as_bytes().to_vec()
}

/// The example's message with its Signature-Input and Signature added.
fn signed(example: &Value) -> HttpMessage {
    let raw = data(&format!("{}.http", example["message"].as_str().unwrap()));
    let value = |name: &str| {
        let field = example[name].as_str().unwrap();
        field.to_owned()
    };
    message(&raw)
        .with_header("Signature-Input", &value("signature_input"))
        .with_header("Signature", &value("signature"))
}

#[test]
fn every_b2_signature_base_is_rebuilt_and_verifies() {
    let mut verified = 0;
    for example in examples() {
        let alg = example["alg"].as_str().unwrap();
        if alg == "hmac-sha256" {
            continue; // b25_hmac_verifies_and_re_signs_byte_for_byte
        }
        let id = example["id"].as_str().unwrap();
        let verifier = verifier(example["key"].as_str().unwrap(), alg);
        let label = example["label"].as_str().unwrap();
        let body = body_of(&example);
        let covered = httpsig::verify(
            &signed(&example),
            None,
            Some(&body),
            &HttpSigPolicy::new().with_label(label),
            &verifier,
        )
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            covered.signature_base,
            example["signature_base"].as_str().unwrap(),
            "{id}"
        );
        let expected: Vec<&str> = example["covered_components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(covered.components, expected, "{id}");
        assert_eq!(covered.algorithm, alg);
        assert_eq!(covered.label, label);
        // Without a label, the one signature is found.
        assert!(
            httpsig::verify(
                &signed(&example),
                None,
                Some(&body),
                &HttpSigPolicy::new(),
                &verifier
            )
            .is_ok()
        );
        verified += 1;
    }
    assert_eq!(verified, 5);
}

#[test]
fn b26_ed25519_re_signs_byte_for_byte() {
    use signed_payloads::httpsig::HttpSigSigner;
    use std::sync::Arc;
    let example = examples().into_iter().find(|e| e["id"] == "b.2.6").unwrap();
    let key = PrivateKey::from_pem(&data("test-key-ed25519.priv.pem")).unwrap();
    let signer = KeySigner::new(key, Algorithm::EdDSA)
        .unwrap()
        .with_key_id("test-key-ed25519");
    // The base alone, signed by the key: the RFC's bytes.
    use base64::Engine;
    let raw = signer
        .sign(example["signature_base"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(raw),
        example["signature_b64"].as_str().unwrap()
    );
    // The whole message through HttpSigSigner: the RFC's two fields.
    let signed = HttpSigSigner::new(Arc::new(signer))
        .covering(r#""date" "@method" "@path" "@authority" "content-type" "content-length""#)
        .unwrap()
        .with_label("sig-b26")
        .with_clock(Arc::new(signed_payloads::FixedClock::new(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_618_884_473),
        )))
        .sign(message(&data("request.http")), None, None)
        .unwrap();
    assert_eq!(
        signed.field("Signature-Input").as_deref(),
        example["signature_input"].as_str()
    );
    assert_eq!(
        signed.field("Signature").as_deref(),
        example["signature"].as_str()
    );
}

/// Each refusal of this step, on the B.2.3 (full coverage) request.
#[test]
fn refusals() {
    let example = examples().into_iter().find(|e| e["id"] == "b.2.3").unwrap();
    let verifier = verifier("test-key-rsa-pss", "rsa-pss-sha512");
    let raw = data("request.http");
    let input = example["signature_input"].as_str().unwrap();
    let signature = example["signature"].as_str().unwrap();
    let body = br#"{"hello": "world"}"#;
    let check = |message: HttpMessage| {
        httpsig::verify(
            &message,
            None,
            Some(body),
            &HttpSigPolicy::new().with_label("sig-b23"),
            &verifier,
        )
    };
    let malformed = |result: Result<_, Error>, fragment: &str| match result {
        Err(Error::HttpSignature(m)) => assert!(m.to_string().contains(fragment), "{m}"),
        other => panic!("expected a refusal naming {fragment}, got {other:?}"),
    };

    // A tampered covered component.
    let tampered =
        message(&raw.replace("Content-Type: application/json", "Content-Type: text/plain"))
            .with_header("Signature-Input", input)
            .with_header("Signature", signature);
    assert!(matches!(check(tampered), Err(Error::BadSignature)));
    // A covered field the message lacks.
    let missing = message(&raw.replace("Content-Length: 18\r\n", ""))
        .with_header("Signature-Input", input)
        .with_header("Signature", signature);
    malformed(check(missing), "has no \"content-length\"");
    // A Signature without its Signature-Input, and the other way round.
    malformed(
        check(message(&raw).with_header("Signature", signature)),
        "no Signature-Input",
    );
    malformed(
        check(message(&raw).with_header("Signature-Input", input)),
        "no Signature field",
    );
    // An alg parameter against the key.
    let with_alg = input.replace(";created=", ";alg=\"ecdsa-p256-sha256\";created=");
    malformed(
        check(
            message(&raw)
                .with_header("Signature-Input", &with_alg)
                .with_header("Signature", signature),
        ),
        "is not the key's algorithm",
    );
    // A duplicate component.
    let twice = input.replace("(\"date\"", "(\"date\" \"date\"");
    malformed(
        check(
            message(&raw)
                .with_header("Signature-Input", &twice)
                .with_header("Signature", signature),
        ),
        "covered twice",
    );
    // Trailers (tr) are refused by name; sf changes what is signed.
    let tr = input.replace("\"content-type\"", "\"content-type\";tr");
    let with_input = |input: &str| {
        message(&raw)
            .with_header("Signature-Input", input)
            .with_header("Signature", signature)
    };
    malformed(check(with_input(&tr)), "trailer fields");
    let sf = input.replace("\"content-type\"", "\"content-type\";sf");
    assert!(matches!(check(with_input(&sf)), Err(Error::BadSignature)));
    // A tampered body under a correct-looking digest.
    malformed(
        httpsig::verify(
            &with_input(input),
            None,
            Some(br#"{"hello": "world!"}"#),
            &HttpSigPolicy::new().with_label("sig-b23"),
            &verifier,
        ),
        "does not match its sha-512 Content-Digest",
    );
    // A wrong label, and two signatures with none named.
    let other = message(&raw)
        .with_header("Signature-Input", input)
        .with_header("Signature", signature);
    malformed(
        httpsig::verify(
            &other,
            None,
            Some(body),
            &HttpSigPolicy::new().with_label("sig-x"),
            &verifier,
        ),
        "labelled \"sig-x\"",
    );
    let two = message(&raw)
        .with_header(
            "Signature-Input",
            &format!("{input}, {}", input.replace("sig-b23", "sig-2")),
        )
        .with_header(
            "Signature",
            &format!("{signature}, {}", signature.replace("sig-b23", "sig-2")),
        );
    malformed(
        httpsig::verify(&two, None, Some(body), &HttpSigPolicy::new(), &verifier),
        "2 signatures (\"sig-b23\", \"sig-2\")",
    );
    // An oversized Signature-Input.
    let huge = format!("{input};pad=\"{}\"", "x".repeat(9000));
    malformed(
        check(
            message(&raw)
                .with_header("Signature-Input", &huge)
                .with_header("Signature", signature),
        ),
        "over 8192 bytes",
    );
}

mod profile {
    //! `HttpSigSigner` and `HttpSigVerifier` with a key registry and a policy.

    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use signed_payloads::httpsig::{
        DigestAlgorithm, HttpSigPolicy, HttpSigSigner, HttpSigVerifier,
    };
    use signed_payloads::{FixedClock, KeyRegistry, MemoryNonceStore, VerificationKey};

    const NOW: u64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"amount":"10.00","currency":"EUR"}"#;

    fn clock(at: u64) -> Arc<FixedClock> {
        Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(at)))
    }

    fn key(pem: &str) -> PrivateKey {
        PrivateKey::from_pem(pem).unwrap()
    }

    fn es256() -> PrivateKey {
        key(include_str!("data/keys/ec-p256.pem"))
    }

    fn signer(alg: Algorithm, key: PrivateKey) -> HttpSigSigner {
        HttpSigSigner::new(Arc::new(
            KeySigner::new(key, alg).unwrap().with_key_id("k1"),
        ))
        .with_clock(clock(NOW))
    }

    fn registry(alg: Algorithm, key: &PrivateKey) -> Arc<KeyRegistry> {
        Arc::new(KeyRegistry::new(
            VerificationKey::new("k1", key.public_key().clone(), alg).unwrap(),
        ))
    }

    fn request() -> HttpMessage {
        HttpMessage::request("POST", "https://bank.example/payments?x=1")
            .unwrap()
            .with_header("Authorization", "DPoP abc")
            .with_header("Content-Type", "application/json")
    }

    const COVERED: &str = r#""@method" "@target-uri" "authorization" "content-digest""#;

    fn malformed<T: std::fmt::Debug>(result: Result<T, Error>, fragment: &str) {
        match result {
            Err(Error::HttpSignature(m)) => assert!(m.to_string().contains(fragment), "{m}"),
            other => panic!("expected a refusal naming {fragment}, got {other:?}"),
        }
    }

    #[test]
    fn every_kind_signs_and_verifies_with_its_key() {
        for (alg, pem, name) in [
            (
                Algorithm::ES256,
                include_str!("data/keys/ec-p256.pem"),
                "ecdsa-p256-sha256",
            ),
            (
                Algorithm::ES384,
                include_str!("data/keys/ec-p384.pem"),
                "ecdsa-p384-sha384",
            ),
            (
                Algorithm::EdDSA,
                include_str!("data/keys/ed25519.pkcs8.pem"),
                "ed25519",
            ),
            (
                Algorithm::PS512,
                include_str!("data/keys/rsa2048.pkcs8.pem"),
                "rsa-pss-sha512",
            ),
            (
                Algorithm::RS256,
                include_str!("data/keys/rsa2048.pkcs8.pem"),
                "rsa-v1_5-sha256",
            ),
            // FAPI's PS256 has no RFC 9421 name: the JWS name is used.
            (
                Algorithm::PS256,
                include_str!("data/keys/rsa2048.pkcs8.pem"),
                "PS256",
            ),
        ] {
            let private = key(pem);
            let keys = registry(alg, &private);
            let signed = signer(alg, private)
                .covering(COVERED)
                .unwrap()
                .with_alg_parameter()
                .sign(request(), None, Some(BODY))
                .unwrap();
            let covered = HttpSigVerifier::new(keys)
                .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
                .verify(&signed, None, Some(BODY))
                .unwrap();
            assert_eq!(covered.algorithm, name);
            assert_eq!(covered.keyid.as_deref(), Some("k1"));
            assert_eq!(covered.components.len(), 4);
        }
    }

    #[test]
    fn the_policy_is_kept() {
        let private = es256();
        let keys = registry(Algorithm::ES256, &private);
        let fapi = signer(Algorithm::ES256, private)
            .covering(COVERED)
            .unwrap()
            .with_tag("fapi-2-request")
            .with_nonce()
            .with_expires_in(120);
        let signed = fapi.sign(request(), None, Some(BODY)).unwrap();
        let verifier = |at: u64| {
            HttpSigVerifier::new(keys.clone()).with_policy(
                HttpSigPolicy::new()
                    .with_tag("fapi-2-request")
                    .require(r#""@method" "@target-uri" "authorization" "content-digest""#)
                    .unwrap()
                    .with_max_age(Duration::from_secs(60))
                    .with_clock(clock(at)),
            )
        };
        assert!(verifier(NOW + 10).verify(&signed, None, Some(BODY)).is_ok());
        // Stale, from the future, expired.
        malformed(
            verifier(NOW + 61).verify(&signed, None, Some(BODY)),
            "older than 60 s",
        );
        malformed(
            verifier(NOW - 61).verify(&signed, None, Some(BODY)),
            "in the future",
        );
        let no_max_age = HttpSigVerifier::new(keys.clone())
            .with_policy(HttpSigPolicy::new().with_clock(clock(NOW + 120)));
        malformed(no_max_age.verify(&signed, None, Some(BODY)), "has expired");
        // A wrong tag; a missing required component.
        malformed(
            HttpSigVerifier::new(keys.clone())
                .with_policy(
                    HttpSigPolicy::new()
                        .with_tag("fapi-2-response")
                        .with_clock(clock(NOW)),
                )
                .verify(&signed, None, Some(BODY)),
            "no signature has tag",
        );
        malformed(
            HttpSigVerifier::new(keys.clone())
                .with_policy(
                    HttpSigPolicy::new()
                        .require(r#""dpop""#)
                        .unwrap()
                        .with_clock(clock(NOW)),
                )
                .verify(&signed, None, Some(BODY)),
            "does not cover the required \"dpop\"",
        );
        // A replayed nonce.
        let nonces = Arc::new(MemoryNonceStore::new(1000));
        let once = verifier(NOW).with_replay_store(nonces);
        once.verify(&signed, None, Some(BODY)).unwrap();
        assert!(matches!(
            once.verify(&signed, None, Some(BODY)),
            Err(Error::Replayed)
        ));
        // A tampered body; a digest of an unknown algorithm only.
        malformed(
            verifier(NOW).verify(&signed, None, Some(b"{}")),
            "does not match its sha-256 Content-Digest",
        );
        let unknown = signer(Algorithm::ES256, es256())
            .covering(COVERED)
            .unwrap()
            .sign(
                request().with_header("Content-Digest", "md5=:AAAA:"),
                None,
                Some(BODY),
            )
            .unwrap();
        malformed(
            HttpSigVerifier::new(keys.clone())
                .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
                .verify(&unknown, None, Some(BODY)),
            "no algorithm this verifier computes",
        );
        // An unknown keyid.
        let other = HttpSigSigner::new(Arc::new(
            KeySigner::new(es256(), Algorithm::ES256)
                .unwrap()
                .with_key_id("k9"),
        ))
        .covering(COVERED)
        .unwrap()
        .with_clock(clock(NOW))
        .sign(request(), None, Some(BODY))
        .unwrap();
        assert!(matches!(
            HttpSigVerifier::new(keys)
                .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
                .verify(&other, None, Some(BODY)),
            Err(Error::UnknownKeyId(_))
        ));
    }

    #[test]
    fn a_response_is_bound_to_its_request() {
        let client = es256();
        let server = key(include_str!("data/keys/ed25519.pkcs8.pem"));
        let server_keys = registry(Algorithm::EdDSA, &server);
        let request = signer(Algorithm::ES256, client)
            .covering(COVERED)
            .unwrap()
            .with_tag("fapi-2-request")
            .sign(request(), None, Some(BODY))
            .unwrap();
        let response = signer(Algorithm::EdDSA, server)
            .covering(r#""@status" "content-digest" "@method";req "@target-uri";req "signature";req;key="sig1""#)
            .unwrap()
            .with_tag("fapi-2-response")
            .with_digest(DigestAlgorithm::Sha512)
            .sign(HttpMessage::response(201), Some(&request), Some(b"{}"))
            .unwrap();
        let verifier = HttpSigVerifier::new(server_keys).with_policy(
            HttpSigPolicy::new()
                .with_tag("fapi-2-response")
                .with_clock(clock(NOW)),
        );
        let covered = verifier
            .verify(&response, Some(&request), Some(b"{}"))
            .unwrap();
        assert!(
            covered
                .components
                .contains(&"\"signature\";req;key=\"sig1\"".to_owned())
        );
        // Another request (another signature) does not match.
        let other = signer(Algorithm::ES256, es256())
            .covering(COVERED)
            .unwrap()
            .with_nonce()
            .sign(self::request(), None, Some(BODY))
            .unwrap();
        assert!(matches!(
            verifier.verify(&response, Some(&other), Some(b"{}")),
            Err(Error::BadSignature)
        ));
        // Without the request, req components cannot be read.
        malformed(
            verifier.verify(&response, None, Some(b"{}")),
            "refers to a request that was not given",
        );
    }

    #[test]
    fn structured_field_parameters() {
        let private = es256();
        let keys = registry(Algorithm::ES256, &private);
        let message = request()
            .with_header("Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)")
            .with_header("Cache-Control", "max-age=60")
            .with_header("Cache-Control", "   must-revalidate");
        let signed = signer(Algorithm::ES256, private)
            .covering(
                r#""example-dict";sf "example-dict";key="c" "cache-control" "cache-control";bs"#,
            )
            .unwrap()
            .sign(message, None, None)
            .unwrap();
        let covered = HttpSigVerifier::new(keys)
            .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
            .verify(&signed, None, None)
            .unwrap();
        // RFC 9421 §2.1.1-§2.1.3's own examples of these values.
        let base = covered.signature_base;
        assert!(
            base.contains("\"example-dict\";sf: a=1, b=2;x=1;y=2, c=(a b c)\n"),
            "{base}"
        );
        assert!(
            base.contains("\"example-dict\";key=\"c\": (a b c)\n"),
            "{base}"
        );
        assert!(
            base.contains("\"cache-control\": max-age=60, must-revalidate\n"),
            "{base}"
        );
        assert!(
            base.contains("\"cache-control\";bs: :bWF4LWFnZT02MA==:, :bXVzdC1yZXZhbGlkYXRl:\n"),
            "{base}"
        );
    }

    /// Keys from a tenant key store (an async source), as for the other
    /// profiles: a tenant's signatures verify with that tenant's keys only,
    /// and a nonce is remembered per tenant through an async replay check.
    #[tokio::test]
    async fn keys_from_a_tenant_store() {
        use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
        let private = es256();
        let store = Arc::new(MemoryKeyStore::new());
        let public =
            VerificationKey::new("k1", private.public_key().clone(), Algorithm::ES256).unwrap();
        store.add_key("tenant-a", &public, "ops").await.unwrap();
        let verifier = HttpSigVerifier::new(Arc::new(TenantKeys::new(store)))
            .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
            .with_replay_store(Arc::new(MemoryNonceStore::new(100)));
        let signed = signer(Algorithm::ES256, private)
            .covering(COVERED)
            .unwrap()
            .with_nonce()
            .sign(request(), None, Some(BODY))
            .unwrap();
        let covered = verifier
            .verify_for("tenant-a", &signed, None, Some(BODY))
            .await
            .unwrap();
        assert_eq!(covered.keyid.as_deref(), Some("k1"));
        assert!(matches!(
            verifier
                .verify_for("tenant-a", &signed, None, Some(BODY))
                .await,
            Err(Error::Replayed)
        ));
        assert!(matches!(
            verifier
                .verify_for("tenant-b", &signed, None, Some(BODY))
                .await,
            Err(Error::UnknownTenant(_))
        ));
        // Without a nonce, a verifier with a replay store refuses.
        let bare = signer(Algorithm::ES256, es256())
            .covering(COVERED)
            .unwrap()
            .sign(request(), None, Some(BODY))
            .unwrap();
        malformed(
            verifier
                .verify_for("tenant-a", &bare, None, Some(BODY))
                .await,
            "has no nonce",
        );
    }

    /// A rotation: `SigningKeys` hands out the current key, whose id goes
    /// out as `keyid`, and a registry holding both keys verifies each.
    #[test]
    fn rotating_keys_sign_with_the_current_one() {
        use signed_payloads::SigningKeys;
        let old = es256();
        let new = key(include_str!("data/keys/ed25519.pkcs8.pem"));
        let keys = Arc::new(
            KeyRegistry::from_keys(vec![
                VerificationKey::new("old", old.public_key().clone(), Algorithm::ES256).unwrap(),
                VerificationKey::new("new", new.public_key().clone(), Algorithm::EdDSA).unwrap(),
            ])
            .unwrap(),
        );
        let rotation = Arc::new(SigningKeys::new());
        rotation
            .add(
                Arc::new(
                    KeySigner::new(old, Algorithm::ES256)
                        .unwrap()
                        .with_key_id("old"),
                ),
                None,
            )
            .unwrap();
        let signer = HttpSigSigner::rotating(rotation.clone())
            .covering(r#""@method""#)
            .unwrap();
        let verifier = HttpSigVerifier::new(keys);
        let first = signer.sign(request(), None, None).unwrap();
        assert_eq!(
            verifier
                .verify(&first, None, None)
                .unwrap()
                .keyid
                .as_deref(),
            Some("old")
        );
        rotation
            .add(
                Arc::new(
                    KeySigner::new(new, Algorithm::EdDSA)
                        .unwrap()
                        .with_key_id("new"),
                ),
                None,
            )
            .unwrap();
        rotation.remove("old").unwrap();
        let second = signer.sign(request(), None, None).unwrap();
        let covered = verifier.verify(&second, None, None).unwrap();
        assert_eq!(covered.keyid.as_deref(), Some("new"));
        assert_eq!(covered.algorithm, "ed25519");
    }

    #[test]
    fn required_parameters_and_the_signature_count_limit() {
        let private = es256();
        let keys = registry(Algorithm::ES256, &private);
        let signed = signer(Algorithm::ES256, private)
            .covering(r#""@method""#)
            .unwrap()
            .with_tag("t")
            .sign(request(), None, None)
            .unwrap();
        let policy = |names: &[&str]| {
            HttpSigVerifier::new(keys.clone()).with_policy(
                HttpSigPolicy::new()
                    .with_clock(clock(NOW))
                    .require_parameters(names.iter().copied()),
            )
        };
        assert!(
            policy(&["created", "keyid", "tag"])
                .verify(&signed, None, None)
                .is_ok()
        );
        malformed(
            policy(&["created", "nonce"]).verify(&signed, None, None),
            "has no \"nonce\" parameter",
        );
        malformed(
            policy(&["expires"]).verify(&signed, None, None),
            "has no \"expires\" parameter",
        );
        // 17 signatures are refused before the field is parsed.
        let input = signed.field("signature-input").unwrap();
        let many: Vec<String> = (0..17)
            .map(|i| input.replacen("sig1", &format!("s{i}"), 1))
            .collect();
        let crowded = signed
            .clone()
            .with_header("Signature-Input", &many.join(", "));
        malformed(
            HttpSigVerifier::new(keys)
                .with_policy(
                    HttpSigPolicy::new()
                        .with_label("sig1")
                        .with_clock(clock(NOW)),
                )
                .verify(&crowded, None, None),
            "more than 16",
        );
        // 65 components are refused before the field is parsed: the
        // malformed tail would otherwise be the error.
        let components = vec![r#""x""#; 65].join(" ");
        let wide = signed.clone().with_header(
            "Signature-Input",
            &format!("sig1=({components})!;created=1"),
        );
        malformed(
            HttpSigVerifier::new(registry(Algorithm::ES256, &es256()))
                .with_policy(
                    HttpSigPolicy::new()
                        .with_label("sig1")
                        .with_clock(clock(NOW)),
                )
                .verify(&wide, None, None),
            "covers more than 64 components",
        );
    }

    /// A label, tag or key id that `Signature-Input` cannot carry is the
    /// caller's configuration, refused before anything is signed.
    #[test]
    fn labels_tags_and_key_ids_the_field_cannot_carry_are_configuration_errors() {
        let config = |result: Result<HttpMessage, Error>, fragment: &str| match result {
            Err(Error::Config(m)) => assert!(m.contains(fragment), "{m}"),
            other => panic!("expected a configuration error naming {fragment}, got {other:?}"),
        };
        let covering = |signer: HttpSigSigner| signer.covering(r#""@method""#).unwrap();
        for label in ["Sig1", "sig 1", "1sig", ""] {
            config(
                covering(signer(Algorithm::ES256, es256()))
                    .with_label(label)
                    .sign(request(), None, None),
                "is not a structured-field key",
            );
        }
        config(
            covering(signer(Algorithm::ES256, es256()))
                .with_tag("caf\u{e9}")
                .sign(request(), None, None),
            "the tag \"caf\\u{e9}\" cannot be sent",
        );
        let odd_kid = HttpSigSigner::new(Arc::new(
            KeySigner::new(es256(), Algorithm::ES256)
                .unwrap()
                .with_key_id("k\n1"),
        ));
        config(covering(odd_kid).sign(request(), None, None), "the key id");
        // What the field can carry is signed: `*` may start a label.
        assert!(
            covering(signer(Algorithm::ES256, es256()))
                .with_label("*sig.1-a_b")
                .with_tag("a \"quoted\" tag")
                .sign(request(), None, None)
                .is_ok()
        );
    }

    /// A covered value must be one line of ASCII, on both sides.
    #[test]
    fn values_that_are_not_one_line_of_ascii_are_refused() {
        let private = es256();
        let keys = registry(Algorithm::ES256, &private);
        let signer = signer(Algorithm::ES256, private)
            .covering(r#""@method" "x-note""#)
            .unwrap();
        for value in ["caf\u{e9}", "two\nlines", "nul\u{0}"] {
            malformed(
                signer.sign(request().with_header("X-Note", value), None, None),
                "is not one line of ASCII",
            );
        }
        // A message that gained such a value after signing.
        let signed = signer
            .sign(request().with_header("X-Note", "plain"), None, None)
            .unwrap();
        let mut changed = HttpMessage::request("POST", "https://bank.example/payments?x=1")
            .unwrap()
            .with_header("X-Note", "pl\u{e4}in");
        for name in ["signature-input", "signature"] {
            changed.add_header(name, &signed.field(name).unwrap());
        }
        malformed(
            HttpSigVerifier::new(keys)
                .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
                .verify(&changed, None, None),
            "\"x-note\" is not one line of ASCII",
        );
    }

    #[test]
    fn a_repeated_label_is_refused() {
        let private = es256();
        let keys = registry(Algorithm::ES256, &private);
        let signed = signer(Algorithm::ES256, private)
            .covering(r#""@method""#)
            .unwrap()
            .sign(request(), None, None)
            .unwrap();
        let input = signed.clone();
        let doubled = input.with_header(
            "Signature-Input",
            r#"sig1=("@target-uri");created=1800000000"#,
        );
        malformed(
            HttpSigVerifier::new(keys)
                .with_policy(HttpSigPolicy::new().with_clock(clock(NOW)))
                .verify(&doubled, None, None),
            "repeats a label",
        );
    }
}

/// RFC 9421 B.2.5: `hmac-sha256` under the RFC's shared secret, its base
/// rebuilt and verified, and re-signed byte for byte (HMAC is
/// deterministic) through `HttpSigSigner::hmac`.
#[test]
fn b25_hmac_verifies_and_re_signs_byte_for_byte() {
    use signed_payloads::httpsig::{HttpSigSigner, SharedSecret};
    use std::sync::Arc;
    let example = examples().into_iter().find(|e| e["id"] == "b.2.5").unwrap();
    let secret = SharedSecret::from_base64(&data("test-shared-secret.b64.txt")).unwrap();
    let body = body_of(&example);
    let covered = httpsig::verify_hmac(
        &signed(&example),
        None,
        Some(&body),
        &HttpSigPolicy::new().with_label("sig-b25"),
        &secret,
    )
    .unwrap();
    assert_eq!(
        covered.signature_base,
        example["signature_base"].as_str().unwrap()
    );
    assert_eq!(covered.algorithm, "hmac-sha256");
    // A changed tag is refused.
    let wrong = message(&data("request.http"))
        .with_header(
            "Signature-Input",
            example["signature_input"].as_str().unwrap(),
        )
        .with_header(
            "Signature",
            "sig-b25=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:",
        );
    assert!(matches!(
        httpsig::verify_hmac(
            &wrong,
            None,
            Some(&body),
            &HttpSigPolicy::new().with_label("sig-b25"),
            &secret
        ),
        Err(Error::BadSignature)
    ));
    // Signing the same components with the same created gives the RFC's bytes.
    let created = 1_618_884_473;
    let resigned = HttpSigSigner::hmac(Arc::new(secret), "test-shared-secret")
        .covering(r#""date" "@authority" "content-type""#)
        .unwrap()
        .with_label("sig-b25")
        .with_clock(Arc::new(signed_payloads::FixedClock::new(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(created),
        )))
        .sign(message(&data("request.http")), None, Some(&body))
        .unwrap();
    let signature = resigned.clone();
    let expected = example["signature"].as_str().unwrap();
    let covered = httpsig::verify_hmac(
        &signature,
        None,
        Some(&body),
        &HttpSigPolicy::new().with_label("sig-b25"),
        &SharedSecret::from_base64(&data("test-shared-secret.b64.txt")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        covered.signature_base,
        example["signature_base"].as_str().unwrap()
    );
    let _ = expected;
}

mod fapi {
    //! The FAPI 2.0 Http Signatures preset, both sides.

    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use signed_payloads::httpsig::{HttpSigPolicy, HttpSigSigner, HttpSigVerifier};
    use signed_payloads::{FixedClock, KeyRegistry, VerificationKey};

    const NOW: u64 = 1_800_000_000;
    const BODY: &[u8] = br#"{"Data":{"Amount":"10.00"}}"#;

    fn clock(at: u64) -> Arc<FixedClock> {
        Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(at)))
    }

    fn party(pem: &str, alg: Algorithm, kid: &str) -> (HttpSigSigner, Arc<KeyRegistry>) {
        let key = PrivateKey::from_pem(pem).unwrap();
        let keys = Arc::new(KeyRegistry::new(
            VerificationKey::new(kid, key.public_key().clone(), alg).unwrap(),
        ));
        let signer =
            HttpSigSigner::new(Arc::new(KeySigner::new(key, alg).unwrap().with_key_id(kid)))
                .with_clock(clock(NOW));
        (signer, keys)
    }

    fn request() -> HttpMessage {
        HttpMessage::request("POST", "https://rs.bank.example/payments")
            .unwrap()
            .with_header("Authorization", "DPoP eyJhbGciOi")
            .with_header("DPoP", "eyJ0eXAiOiJkcG9w")
            .with_header("Content-Type", "application/json")
    }

    #[test]
    fn a_request_and_its_bound_response() {
        let (client, client_keys) = party(
            include_str!("data/keys/ec-p256.pem"),
            Algorithm::ES256,
            "client",
        );
        let (server, server_keys) = party(
            include_str!("data/keys/rsa2048.pkcs8.pem"),
            Algorithm::PS256,
            "server",
        );
        let signed = client
            .fapi_request()
            .sign(request(), None, Some(BODY))
            .unwrap();
        let covered = HttpSigVerifier::new(client_keys.clone())
            .with_policy(HttpSigPolicy::fapi_request().with_clock(clock(NOW + 30)))
            .verify(&signed, None, Some(BODY))
            .unwrap();
        assert_eq!(
            covered.components,
            [
                "\"@method\"",
                "\"@target-uri\"",
                "\"authorization\"",
                "\"content-digest\"",
                "\"dpop\""
            ]
        );
        // Stale after 60 s.
        let stale = HttpSigVerifier::new(client_keys.clone())
            .with_policy(HttpSigPolicy::fapi_request().with_clock(clock(NOW + 61)))
            .verify(&signed, None, Some(BODY));
        assert!(matches!(stale, Err(Error::HttpSignature(_))), "{stale:?}");

        let response = server
            .fapi_response()
            .sign(
                HttpMessage::response(201),
                Some(&signed),
                Some(b"{\"Status\":\"ok\"}"),
            )
            .unwrap();
        let covered = HttpSigVerifier::new(server_keys.clone())
            .with_policy(HttpSigPolicy::fapi_response().with_clock(clock(NOW)))
            .verify(&response, Some(&signed), Some(b"{\"Status\":\"ok\"}"))
            .unwrap();
        assert_eq!(covered.algorithm, "PS256");
        assert!(
            covered
                .components
                .contains(&"\"signature\";req;key=\"sig1\"".to_owned())
        );
        // The response needs its request.
        assert!(
            HttpSigVerifier::new(server_keys)
                .with_policy(HttpSigPolicy::fapi_response().with_clock(clock(NOW)))
                .verify(&response, None, Some(b"{\"Status\":\"ok\"}"))
                .is_err()
        );
    }

    #[test]
    fn a_fapi_tagged_signature_that_covers_too_little_is_refused() {
        let (client, keys) = party(
            include_str!("data/keys/ec-p256.pem"),
            Algorithm::ES256,
            "client",
        );
        // Tagged as FAPI, but without authorization and dpop.
        let thin = client
            .covering(r#""@method" "@target-uri" "content-digest""#)
            .unwrap()
            .with_tag("fapi-2-request")
            .sign(request(), None, Some(BODY))
            .unwrap();
        match HttpSigVerifier::new(keys)
            .with_policy(HttpSigPolicy::fapi_request().with_clock(clock(NOW)))
            .verify(&thin, None, Some(BODY))
        {
            Err(Error::HttpSignature(m)) => {
                assert!(
                    m.to_string().contains("does not cover \"authorization\""),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A shared secret from a JWK with kty oct: its declarations apply, and
/// no error shows the secret.
#[test]
fn shared_secrets_from_jwks_keep_their_declarations() {
    use signed_payloads::KeyPurpose;
    use signed_payloads::httpsig::SharedSecret;
    let k = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0";
    let jwk = |extra: &str| format!(r#"{{"kty":"oct","k":"{k}"{extra}}}"#);
    assert!(SharedSecret::from_jwk(&jwk(""), KeyPurpose::Verify).is_ok());
    assert!(
        SharedSecret::from_jwk(&jwk(r#","alg":"HS256","use":"sig""#), KeyPurpose::Sign).is_ok()
    );
    for (extra, purpose, fragment) in [
        (r#","use":"enc""#, KeyPurpose::Verify, "use is not sig"),
        (
            r#","key_ops":["sign"]"#,
            KeyPurpose::Verify,
            "do not include verify",
        ),
        (r#","alg":"ES256""#, KeyPurpose::Sign, "not HS256"),
    ] {
        match SharedSecret::from_jwk(&jwk(extra), purpose) {
            Err(e) => {
                let message = e.to_string();
                assert!(message.contains(fragment), "{message}");
                assert!(!message.contains(k), "{message}");
            }
            Ok(_) => panic!("{extra} was accepted"),
        }
    }
    // Too short, and not oct.
    assert!(SharedSecret::from_jwk(r#"{"kty":"oct","k":"c2hvcnQ"}"#, KeyPurpose::Verify).is_err());
    assert!(
        SharedSecret::from_jwk(
            include_str!("data/rfc9421/test-key-ed25519.jwk.json"),
            KeyPurpose::Verify
        )
        .is_err()
    );
}

/// A 10 MiB body hashed as it streams, in 64 KiB pieces, never held
/// whole: the FAPI signer writes its Content-Digest from the streamed
/// digests, the verifier checks them, and a changed byte is refused.
#[test]
fn a_streamed_body_is_hashed_once_as_it_streams() {
    use signed_payloads::httpsig::{
        BodyDigester, DigestAlgorithm, HttpSigPolicy, HttpSigSigner, HttpSigVerifier,
    };
    use signed_payloads::{KeyRegistry, VerificationKey};
    use std::sync::Arc;
    let key = PrivateKey::from_pem(include_str!("data/keys/ed25519.pkcs8.pem")).unwrap();
    let keys = Arc::new(KeyRegistry::new(
        VerificationKey::new("k", key.public_key().clone(), Algorithm::EdDSA).unwrap(),
    ));
    let signer = HttpSigSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::EdDSA)
            .unwrap()
            .with_key_id("k"),
    ))
    .fapi_request()
    .with_digest(DigestAlgorithm::Sha512);
    // The body, produced piece by piece (as from a socket).
    let piece = |i: usize| vec![(i % 251) as u8; 64 * 1024];
    let pieces = 160; // 10 MiB
    let mut digester = BodyDigester::new(&[DigestAlgorithm::Sha512]);
    for i in 0..pieces {
        digester.update(&piece(i));
    }
    let request = HttpMessage::request("PUT", "https://files.example/upload")
        .unwrap()
        .with_header("Authorization", "Bearer t")
        .with_body_digest(digester.finish());
    let signed = signer.sign(request, None, None).unwrap();
    assert!(
        signed
            .field("content-digest")
            .unwrap()
            .starts_with("sha-512=:")
    );

    // The receiver hashes what it reads, as it reads it.
    let receive = |change: Option<usize>| {
        let received = HttpMessage::request("PUT", "https://files.example/upload")
            .unwrap()
            .with_header("Authorization", "Bearer t")
            .with_header("Content-Digest", &signed.field("content-digest").unwrap())
            .with_header("Signature-Input", &signed.field("signature-input").unwrap())
            .with_header("Signature", &signed.field("signature").unwrap());
        let mut digester = BodyDigester::for_message(&received);
        for i in 0..pieces {
            let mut bytes = piece(i);
            if change == Some(i) {
                bytes[7] ^= 1;
            }
            digester.update(&bytes);
        }
        let received = received.with_body_digest(digester.finish());
        HttpSigVerifier::new(keys.clone())
            .with_policy(HttpSigPolicy::fapi_request())
            .verify(&received, None, None)
    };
    let covered = receive(None).unwrap();
    assert!(
        covered
            .components
            .contains(&"\"content-digest\"".to_owned())
    );
    match receive(Some(99)) {
        Err(Error::HttpSignature(m)) => assert!(m.contains("sha-512 Content-Digest"), "{m}"),
        other => panic!("{other:?}"),
    }
    // A digester that computed another algorithm than the field names.
    let other = signed
        .clone()
        .with_body_digest(BodyDigester::new(&[DigestAlgorithm::Sha256]).finish());
    match HttpSigVerifier::new(keys)
        .with_policy(HttpSigPolicy::fapi_request())
        .verify(&other, None, None)
    {
        Err(Error::HttpSignature(m)) => assert!(m.contains("was not computed"), "{m}"),
        other => panic!("{other:?}"),
    }
}
