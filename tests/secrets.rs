//! No key material, signature or token in the `Debug` or `Display` of any
//! key, signer, verifier, registry or error the crate produces.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use signed_payloads::MemoryNonceStore;
use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, Header, KeyRegistry, KeySigner, KeyVerifier, Limits, PrivateKey, SigningKeys,
    VerificationKey, jws,
};

const PEM: &str = include_str!("data/keys/rsa2048.pkcs8.pem");
const JWK: &str = include_str!("data/keys/rsa2048.private.jwk");

/// Fragments that must never be shown: pieces of every private and public
/// key encoding, of a token and of its signature.
fn forbidden(token: &str) -> Vec<String> {
    let jwk: serde_json::Value = serde_json::from_str(JWK).unwrap();
    let mut out: Vec<String> = ["n", "d", "p", "q", "dp", "dq", "qi"]
        .iter()
        .map(|m| jwk[m].as_str().unwrap()[..24].to_owned())
        .collect();
    let key = PrivateKey::from_pem(PEM).unwrap();
    out.push(STANDARD.encode(&key.secret_pkcs8_der()[40..70]));
    out.push(STANDARD.encode(&key.public_key().to_spki_der()[40..70]));
    out.push(token[..30].to_owned());
    out.push(token.rsplit_once('.').unwrap().1[..30].to_owned());
    let sig = URL_SAFE_NO_PAD
        .decode(token.rsplit_once('.').unwrap().1)
        .unwrap();
    out.push(STANDARD.encode(&sig[..30]));
    out.push(format!("{:?}", &sig[..8]));
    out
}

fn check(what: &str, shown: &str, forbidden: &[String]) {
    for f in forbidden {
        assert!(!shown.contains(f.as_str()), "{what} shows {f}: {shown}");
    }
}

#[test]
fn nothing_secret_in_debug_or_display() {
    let key = PrivateKey::from_pem(PEM).unwrap();
    let public = key.public_key().clone();
    let signer = Arc::new(
        KeySigner::new(PrivateKey::from_jwk(JWK).unwrap(), Algorithm::RS256)
            .unwrap()
            .with_key_id("k"),
    );
    let token = jws::sign(
        &Header::for_signer(&*signer),
        br#"{"card":"4111111111111111"}"#,
        &*signer,
    )
    .unwrap();
    let forbidden = forbidden(&token);

    let registry = Arc::new(KeyRegistry::new(
        VerificationKey::new("k", public.clone(), Algorithm::RS256).unwrap(),
    ));
    let keys = Arc::new(SigningKeys::new());
    keys.add(signer.clone(), None).unwrap();
    let shown = [
        ("PrivateKey", format!("{key:?} {key:#?}")),
        ("PublicKey", format!("{public:?}")),
        ("KeySigner", format!("{signer:?}")),
        (
            "KeyVerifier",
            format!(
                "{:?}",
                KeyVerifier::new(public.clone(), Algorithm::RS256).unwrap()
            ),
        ),
        (
            "Jwk",
            format!("{:?}", signed_payloads::Jwk::from_json(JWK).unwrap()),
        ),
        (
            "KeyRegistry",
            format!("{registry:?} {:?}", registry.snapshot()),
        ),
        ("SigningKeys", format!("{keys:?}")),
        (
            "RequestSigner",
            format!("{:?}", RequestSigner::new(signer.clone())),
        ),
        (
            "RequestVerifier",
            format!("{:?}", RequestVerifier::new(registry.clone())),
        ),
        (
            "ResponseSigner",
            format!("{:?}", ResponseSigner::rotating(keys.clone())),
        ),
        (
            "ResponseVerifier",
            format!(
                "{:?}",
                ResponseVerifier::new(registry.clone()).with_replay_store(
                    Arc::new(MemoryNonceStore::new(10)),
                    std::time::Duration::from_secs(1)
                )
            ),
        ),
    ];
    for (what, text) in &shown {
        check(what, text, &forbidden);
    }
    #[cfg(feature = "jwe")]
    {
        let d = signed_payloads::jwe::RsaDecrypter::new(&key).unwrap();
        let e = signed_payloads::jwe::RsaEncrypter::new(&public).unwrap();
        check("jwe", &format!("{d:?} {e:?}"), &forbidden);
    }
}

#[test]
fn no_error_echoes_the_token_or_signature() {
    let signer = KeySigner::new(PrivateKey::from_pem(PEM).unwrap(), Algorithm::RS256)
        .unwrap()
        .with_key_id("k");
    let token = jws::sign(
        &Header::for_signer(&signer),
        br#"{"card":"4111111111111111"}"#,
        &signer,
    )
    .unwrap();
    let forbidden = forbidden(&token);
    let registry = KeyRegistry::new(
        VerificationKey::new(
            "other",
            PrivateKey::from_pem(include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem"))
                .unwrap()
                .public_key()
                .clone(),
            Algorithm::RS256,
        )
        .unwrap(),
    );
    let (head, sig) = token.rsplit_once('.').unwrap();
    let mutations = [
        token.clone(),
        format!("{head}.{sig}x"),
        format!("{head}.{sig}="),
        format!("{token}.{token}"),
        token.replacen('.', "..", 1),
        token[1..].to_owned(),
        format!("{{\"payload\":\"{token}\"}}"),
        format!("{token}{}", "A".repeat(2 << 20)),
    ];
    for t in mutations {
        let err = registry
            .snapshot()
            .verify(&t, &Limits::default())
            .unwrap_err();
        check("error", &format!("{err} {err:?}"), &forbidden);
    }
    for bad_key in [
        PEM.replace("MII", "XII"),
        PEM[..PEM.len() / 2].to_owned(),
        JWK.replace("\"d\"", "\"x\""),
    ] {
        if let Err(err) = PrivateKey::parse(bad_key.as_bytes()) {
            check("key error", &format!("{err} {err:?}"), &forbidden);
        }
    }
}
