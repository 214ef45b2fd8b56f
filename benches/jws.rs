//! RS256 sign and verify of a 1 KiB JSON payload: this crate next to the raw
//! backend operation on the same signing input and next to `jsonwebtoken`,
//! so that ratios come from one run. Keys are parsed outside the timed loops.
//!
//! `cargo bench --bench jws`, or one group: `cargo bench --bench jws -- verify-rs256-1KiB`.

// A test or benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]
// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use signed_payloads::{
    ACTIVE_BACKEND, Algorithm, Header, Limits, PrivateKey, RsaSigner, RsaVerifier, Signer, jws,
};

const KEY_PEM: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
const KEY_DER: &[u8] = include_bytes!("../tests/data/keys/rsa2048.pkcs8.der");
const PUBLIC_PEM: &str = include_str!("../tests/data/keys/rsa2048.spki.pem");
const PUBLIC_PKCS1_DER: &[u8] = include_bytes!("../tests/data/keys/rsa2048.pkcs1-public.der");

#[derive(Deserialize, serde::Serialize)]
struct Payload {
    sub: String,
    items: Vec<String>,
}

/// A JSON object of about 1 KiB.
fn payload() -> Vec<u8> {
    let items = (0..53).map(|i| format!("item-{i:04}-abcdef")).collect();
    let json = serde_json::to_vec(&Payload {
        sub: "user-1234".into(),
        items,
    })
    .unwrap();
    assert!((1000..1100).contains(&json.len()), "{}", json.len());
    json
}

fn ours() -> (RsaSigner, RsaVerifier) {
    let key = PrivateKey::from_pem(KEY_PEM).unwrap();
    let verifier = RsaVerifier::new(key.public_key().clone(), Algorithm::RS256).unwrap();
    (
        RsaSigner::new(key, Algorithm::RS256).with_key_id("k1"),
        verifier,
    )
}

fn sign(c: &mut Criterion) {
    let payload = payload();
    let (signer, _) = ours();
    let token = jws::sign(&Header::for_signer(&signer), &payload, &signer).unwrap();
    let input = &token.as_bytes()[..token.rfind('.').unwrap()];

    let mut group = c.benchmark_group("sign-rs256-1KiB");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let aws = aws_lc_rs::rsa::KeyPair::from_pkcs8(KEY_DER).unwrap();
    group.bench_function("raw-aws-lc", |b| {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut sig = vec![0; 256];
        b.iter(|| {
            aws.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(input),
                &mut sig,
            )
            .unwrap()
        })
    });
    let ring = ring::rsa::KeyPair::from_pkcs8(KEY_DER).unwrap();
    group.bench_function("raw-ring", |b| {
        let rng = ring::rand::SystemRandom::new();
        let mut sig = vec![0; 256];
        b.iter(|| {
            ring.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(input),
                &mut sig,
            )
            .unwrap()
        })
    });
    let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let jwt_key = jsonwebtoken::EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap();
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jwt_header.kid = Some("k1".into());
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::encode(&jwt_header, black_box(&value), &jwt_key).unwrap())
    });
    let header = Header::for_signer(&signer);
    group.bench_function(format!("signed-payloads-{ACTIVE_BACKEND}"), |b| {
        b.iter(|| jws::sign(&header, black_box(&payload), &signer).unwrap())
    });
    group.bench_function(format!("signer-only-{ACTIVE_BACKEND}"), |b| {
        b.iter(|| signer.sign(black_box(input)).unwrap())
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let payload = payload();
    let (signer, verifier) = ours();
    let token = jws::sign(&Header::for_signer(&signer), &payload, &signer).unwrap();
    let (input, sig_b64) = token.rsplit_once('.').unwrap();
    let sig = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig_b64)
            .unwrap()
    };
    let limits = Limits::default();

    let mut group = c.benchmark_group("verify-rs256-1KiB");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let aws = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_PKCS1_DER,
    )
    .unwrap();
    group.bench_function("raw-aws-lc", |b| {
        b.iter(|| aws.verify_sig(black_box(input.as_bytes()), &sig).unwrap())
    });
    let ring = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_PKCS1_DER,
    );
    group.bench_function("raw-ring", |b| {
        b.iter(|| ring.verify(black_box(input.as_bytes()), &sig).unwrap())
    });
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Payload>(black_box(&token), &jwt_key, &validation).unwrap()
        })
    });
    group.bench_function(format!("signed-payloads-{ACTIVE_BACKEND}"), |b| {
        b.iter(|| {
            jws::verify(black_box(&token), &verifier, &limits)
                .unwrap()
                .deserialize_json::<Payload>(&limits)
                .unwrap()
        })
    });
    group.bench_function(format!("signed-payloads-{ACTIVE_BACKEND}-bytes"), |b| {
        b.iter(|| jws::verify(black_box(&token), &verifier, &limits).unwrap())
    });
    group.finish();
}

criterion_group!(benches, sign, verify);
criterion_main!(benches);
