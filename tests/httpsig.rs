//! HTTP Message Signatures (RFC 9421), first step: every Appendix B.2
//! example's signature base rebuilt byte for byte from the RFC's test
//! request or response and its signature verified; B.2.6 (Ed25519)
//! re-signed byte for byte; and the refusals this step makes.

#![cfg(feature = "httpsig")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use serde_json::Value;
use signed_payloads::httpsig::{self, HttpMessage};
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
        HttpMessage::request(method, &format!("https://{host}{target}"))
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
            continue; // the shared-secret key type is the next step
        }
        let id = example["id"].as_str().unwrap();
        let verifier = verifier(example["key"].as_str().unwrap(), alg);
        let label = example["label"].as_str().unwrap();
        let covered = httpsig::verify(&signed(&example), None, Some(label), &verifier)
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
        assert!(httpsig::verify(&signed(&example), None, None, &verifier).is_ok());
        verified += 1;
    }
    assert_eq!(verified, 5);
}

#[test]
fn b26_ed25519_re_signs_byte_for_byte() {
    let example = examples().into_iter().find(|e| e["id"] == "b.2.6").unwrap();
    let key = PrivateKey::from_pem(&data("test-key-ed25519.priv.pem")).unwrap();
    let signature = KeySigner::new(key, Algorithm::EdDSA)
        .unwrap()
        .sign(example["signature_base"].as_str().unwrap().as_bytes())
        .unwrap();
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(signature),
        example["signature_b64"].as_str().unwrap()
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
    let check = |message: HttpMessage| httpsig::verify(&message, None, Some("sig-b23"), &verifier);
    let malformed = |result: Result<_, Error>, fragment: &str| match result {
        Err(Error::Malformed(m)) => assert!(m.to_string().contains(fragment), "{m}"),
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
    // Parameters not supported in this step are named.
    let sf = input.replace("\"content-type\"", "\"content-type\";sf");
    malformed(
        check(
            message(&raw)
                .with_header("Signature-Input", &sf)
                .with_header("Signature", signature),
        ),
        "sf component parameter",
    );
    // A wrong label, and two signatures with none named.
    let other = message(&raw)
        .with_header("Signature-Input", input)
        .with_header("Signature", signature);
    malformed(
        httpsig::verify(&other, None, Some("sig-x"), &verifier),
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
        httpsig::verify(&two, None, None, &verifier),
        "2 signatures (sig-b23, sig-2)",
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
