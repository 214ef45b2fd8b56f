//! The speed contract: this crate next to the raw backend operation on the
//! same bytes and next to `jsonwebtoken`, in the same run, so ratios are
//! comparable. Keys are parsed outside the timed loops.
//!
//! Group and function ids are stable, so that runs can be compared:
//! - `sign-rs256-1KiB`, `verify-rs256-1KiB` (typed payload, `kid` lookup in a
//!   two-key registry), `verify-headers-ps384-1KiB` (response header mode),
//!   each with `raw-aws-lc`, `raw-ring`, `jsonwebtoken` (where it can) and
//!   `signed-payloads-aws-lc` or `signed-payloads-ring`, whichever backend
//!   this build uses (run once with default features and once with
//!   `--no-default-features --features ring` for both);
//! - `verify-rs256-size`: `<function>/<size>` for 100B..1MiB, payload bytes
//!   returned, one big JSON string; `verify-rs256-size-objects`: the same
//!   sizes as an array of small objects;
//! - `verify-rs256-1KiB-threads`: throughput with one and two threads.
//!
//! `cargo bench --bench speed`, or one group: `cargo bench --bench speed -- verify-rs256-1KiB`.

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]
// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    ACTIVE_BACKEND, Algorithm, Header, KeyRegistry, KeySigner, KeyVerifier, Limits, PrivateKey,
    VerificationKey, jws,
};

const KEY_PEM: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
const KEY_DER: &[u8] = include_bytes!("../tests/data/keys/rsa2048.pkcs8.der");
const PUBLIC_PEM: &str = include_str!("../tests/data/keys/rsa2048.spki.pem");
const PUBLIC_PKCS1_DER: &[u8] = include_bytes!("../tests/data/keys/rsa2048.pkcs1-public.der");
const OTHER_PEM: &str = include_str!("../tests/data/rfc7515/A2.rsa_private_pkcs8.pem");

/// This crate's function id: `signed-payloads-aws-lc` or `signed-payloads-ring`.
fn ours() -> &'static str {
    if ACTIVE_BACKEND == "ring" {
        "signed-payloads-ring"
    } else {
        "signed-payloads-aws-lc"
    }
}

#[derive(Deserialize, Serialize)]
struct Payload {
    sub: String,
    iat: u64,
    items: Vec<String>,
}

/// The same payload, borrowing its strings from the verified bytes.
#[derive(Deserialize)]
struct PayloadRef<'a> {
    #[serde(borrow)]
    sub: &'a str,
    iat: u64,
    #[serde(borrow)]
    items: Vec<&'a str>,
}

/// A JSON object of about 1 KiB.
fn payload_1kib() -> Vec<u8> {
    let items = (0..52).map(|i| format!("item-{i:04}-abcdef")).collect();
    let json = serde_json::to_vec(&Payload {
        sub: "user-1234".into(),
        iat: 1_800_000_000,
        items,
    })
    .unwrap();
    assert!((1000..1100).contains(&json.len()), "{}", json.len());
    json
}

fn signer(alg: Algorithm) -> KeySigner {
    KeySigner::new(PrivateKey::from_pem(KEY_PEM).unwrap(), alg)
        .unwrap()
        .with_key_id("k1")
}

/// The two-key registry a verifying API holds; the token names the second key.
fn registry(alg: Algorithm) -> KeyRegistry {
    let other = PrivateKey::from_pem(OTHER_PEM).unwrap();
    let key = PrivateKey::from_pem(KEY_PEM).unwrap();
    KeyRegistry::from_keys([
        VerificationKey::new("k0", other.public_key().clone(), alg).unwrap(),
        VerificationKey::new("k1", key.public_key().clone(), alg).unwrap(),
    ])
    .unwrap()
}

fn jwt_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation
}

fn sign(c: &mut Criterion) {
    let payload = payload_1kib();
    let s = signer(Algorithm::RS256);
    let header = Header::for_signer(&s);
    let token = jws::sign(&header, &payload, &s).unwrap();
    let input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();

    let mut group = c.benchmark_group("sign-rs256-1KiB");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let aws = aws_lc_rs::rsa::KeyPair::from_pkcs8(KEY_DER).unwrap();
    let rng = aws_lc_rs::rand::SystemRandom::new();
    group.bench_function("raw-aws-lc", |b| {
        let mut sig = vec![0; 256];
        b.iter(|| {
            aws.sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &rng,
                black_box(&input),
                &mut sig,
            )
            .unwrap()
        })
    });
    let ring_key = ring::rsa::KeyPair::from_pkcs8(KEY_DER).unwrap();
    let ring_rng = ring::rand::SystemRandom::new();
    group.bench_function("raw-ring", |b| {
        let mut sig = vec![0; 256];
        b.iter(|| {
            ring_key
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring_rng,
                    black_box(&input),
                    &mut sig,
                )
                .unwrap()
        })
    });
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    let jwt_key = jsonwebtoken::EncodingKey::from_rsa_pem(KEY_PEM.as_bytes()).unwrap();
    let mut jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    jwt_header.kid = Some("k1".into());
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::encode(&jwt_header, black_box(&claims), &jwt_key).unwrap())
    });
    group.bench_function(ours(), |b| {
        b.iter(|| jws::sign(&header, black_box(&payload), &s).unwrap())
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let payload = payload_1kib();
    let token = jws::sign(
        &Header::for_signer(&signer(Algorithm::RS256)),
        &payload,
        &signer(Algorithm::RS256),
    )
    .unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let registry = registry(Algorithm::RS256);
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
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_PKCS1_DER,
    );
    group.bench_function("raw-ring", |b| {
        b.iter(|| ring_key.verify(black_box(input.as_bytes()), &sig).unwrap())
    });
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap();
    let validation = jwt_validation(jsonwebtoken::Algorithm::RS256);
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Payload>(black_box(&token), &jwt_key, &validation).unwrap()
        })
    });
    group.bench_function(ours(), |b| {
        b.iter(|| {
            registry
                .snapshot()
                .verify(black_box(&token), &limits)
                .unwrap()
                .deserialize_json::<Payload>(&limits)
                .unwrap()
        })
    });
    group.bench_function(format!("{}-bytes", ours()), |b| {
        b.iter(|| {
            registry
                .snapshot()
                .verify(black_box(&token), &limits)
                .unwrap()
        })
    });
    group.bench_function(format!("{}-borrowed", ours()), |b| {
        b.iter(|| {
            let verified = registry
                .snapshot()
                .verify(black_box(&token), &limits)
                .unwrap();
            let payload: PayloadRef<'_> = verified.parse_json(&limits).unwrap();
            black_box((payload.sub.len(), payload.iat, payload.items.len()));
        })
    });
    group.finish();
}

fn verify_headers(c: &mut Criterion) {
    let body = payload_1kib();
    let rsa = Arc::new(signer(Algorithm::PS384));
    let signed = ResponseSigner::new(rsa.clone())
        .sign_headers(200, &body)
        .unwrap();
    let message = [&body[..], b";200;", signed.token().as_bytes()].concat();
    let sig = STANDARD.decode(signed.signature()).unwrap();
    let verifier = ResponseVerifier::new(Arc::new(registry(Algorithm::PS384)));
    let headers: Vec<(String, String)> = signed
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();

    let mut group = c.benchmark_group("verify-headers-ps384-1KiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    let aws = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA384,
        PUBLIC_PKCS1_DER,
    )
    .unwrap();
    group.bench_function("raw-aws-lc", |b| {
        b.iter(|| aws.verify_sig(black_box(&message), &sig).unwrap())
    });
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PSS_2048_8192_SHA384,
        PUBLIC_PKCS1_DER,
    );
    group.bench_function("raw-ring", |b| {
        b.iter(|| ring_key.verify(black_box(&message), &sig).unwrap())
    });
    group.bench_function(ours(), |b| {
        b.iter(|| {
            verifier
                .verify_headers(
                    200,
                    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                    black_box(&body),
                )
                .unwrap()
        })
    });
    group.finish();
}

const SIZES: [(&str, usize); 5] = [
    ("100B", 100),
    ("1KiB", 1 << 10),
    ("16KiB", 16 << 10),
    ("256KiB", 256 << 10),
    ("1MiB", 1 << 20),
];

/// `{"data":"xxxx…"}` of `size` bytes.
fn string_payload(size: usize) -> Vec<u8> {
    format!(r#"{{"data":"{}"}}"#, "x".repeat(size.saturating_sub(11))).into_bytes()
}

/// `{"data":[{"id":1,"v":"abc"},…]}` of about `size` bytes.
fn objects_payload(size: usize) -> Vec<u8> {
    let mut out = String::from(r#"{"data":["#);
    let mut i = 0;
    while out.len() + 30 < size {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(r#"{{"id":{i},"v":"abc"}}"#));
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

#[derive(Deserialize)]
struct StringPayload {
    #[allow(dead_code)] // read so that jsonwebtoken deserializes it
    data: String,
}

#[derive(Deserialize)]
struct ObjectsPayload {
    #[allow(dead_code)] // read so that jsonwebtoken deserializes it
    data: Vec<serde_json::Value>,
}

fn verify_sizes(c: &mut Criterion) {
    let s = signer(Algorithm::RS256);
    let verifier = KeyVerifier::new(
        PrivateKey::from_pem(KEY_PEM).unwrap().public_key().clone(),
        Algorithm::RS256,
    )
    .unwrap();
    let limits = Limits::default().with_max_token_bytes(4 << 20);
    let aws = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_PKCS1_DER,
    )
    .unwrap();
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap();
    let validation = jwt_validation(jsonwebtoken::Algorithm::RS256);
    for (group_name, make) in [
        ("verify-rs256-size", string_payload as fn(usize) -> Vec<u8>),
        ("verify-rs256-size-objects", objects_payload),
    ] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(4));
        for (label, size) in SIZES {
            let payload = make(size);
            let token = jws::sign(&Header::for_signer(&s), &payload, &s).unwrap();
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
            group.throughput(Throughput::Bytes(payload.len() as u64));
            group.bench_with_input(BenchmarkId::new("raw-aws-lc", label), &input, |b, input| {
                b.iter(|| aws.verify_sig(black_box(input.as_bytes()), &sig).unwrap())
            });
            group.bench_with_input(BenchmarkId::new(ours(), label), &token, |b, token| {
                b.iter(|| jws::verify(black_box(token), &verifier, &limits).unwrap())
            });
            group.bench_with_input(
                BenchmarkId::new("jsonwebtoken", label),
                &token,
                |b, token| {
                    if group_name == "verify-rs256-size" {
                        b.iter(|| {
                            jsonwebtoken::decode::<StringPayload>(
                                black_box(token),
                                &jwt_key,
                                &validation,
                            )
                            .unwrap()
                        })
                    } else {
                        b.iter(|| {
                            jsonwebtoken::decode::<ObjectsPayload>(
                                black_box(token),
                                &jwt_key,
                                &validation,
                            )
                            .unwrap()
                        })
                    }
                },
            );
        }
        group.finish();
    }
}

fn verify_threads(c: &mut Criterion) {
    let payload = payload_1kib();
    let token = jws::sign(
        &Header::for_signer(&signer(Algorithm::RS256)),
        &payload,
        &signer(Algorithm::RS256),
    )
    .unwrap();
    let registry = Arc::new(registry(Algorithm::RS256));
    let mut group = c.benchmark_group("verify-rs256-1KiB-threads");
    for threads in [1usize, 2] {
        // Each iteration is `threads` verifications, run in parallel: the
        // reported throughput is verifications per second across threads.
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(
            BenchmarkId::new(ours(), format!("{threads}-threads")),
            |b| {
                b.iter_custom(|iterations| {
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            let (registry, token) = (&registry, &token);
                            scope.spawn(move || {
                                for _ in 0..iterations {
                                    black_box(
                                        registry
                                            .snapshot()
                                            .verify(token, &Limits::default())
                                            .unwrap(),
                                    );
                                }
                            });
                        }
                    });
                    start.elapsed()
                })
            },
        );
    }
    group.finish();
}

/// ES256 and Ed25519: sign and verify over the 1 KiB payload, each beside
/// the raw aws-lc and ring calls and jsonwebtoken.
fn curves(c: &mut Criterion) {
    use aws_lc_rs::signature as lc;
    use ring::signature as rg;
    let payload = payload_1kib();
    let limits = Limits::default();
    for (name, alg, pem, jwt_alg) in [
        (
            "es256",
            Algorithm::ES256,
            include_str!("../tests/data/keys/ec-p256.pem"),
            jsonwebtoken::Algorithm::ES256,
        ),
        (
            "ed25519",
            Algorithm::EdDSA,
            include_str!("../tests/data/keys/ed25519.pkcs8.pem"),
            jsonwebtoken::Algorithm::EdDSA,
        ),
    ] {
        let key = PrivateKey::from_pem(pem).unwrap();
        let public = key.public_key().clone();
        let pkcs8 = key.secret_pkcs8_der();
        let pkcs8_pem = key.secret_pkcs8_pem();
        let s = KeySigner::new(key, alg).unwrap().with_key_id("k1");
        let header = Header::for_signer(&s);
        let token = jws::sign(&header, &payload, &s).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let (input, sig) = (
            input.as_bytes().to_vec(),
            URL_SAFE_NO_PAD.decode(sig).unwrap(),
        );
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        let registry = KeyRegistry::new(VerificationKey::new("k1", public.clone(), alg).unwrap());
        // The point (EC) or the 32 bytes (Ed25519), as the raw calls take them.
        let jwk = public.to_jwk();
        let x = URL_SAFE_NO_PAD.decode(jwk.x.as_deref().unwrap()).unwrap();
        let raw_public = match jwk.y.as_deref() {
            Some(y) => [&[4][..], &x, &URL_SAFE_NO_PAD.decode(y).unwrap()].concat(),
            None => x,
        };
        let ec = alg == Algorithm::ES256;

        let mut group = c.benchmark_group(format!("sign-{name}-1KiB"));
        group.throughput(Throughput::Bytes(payload.len() as u64));
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let ring_rng = ring::rand::SystemRandom::new();
        if ec {
            let aws =
                lc::EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
            group.bench_function("raw-aws-lc", |b| {
                b.iter(|| aws.sign(&rng, black_box(&input)).unwrap())
            });
            let ring_key = rg::EcdsaKeyPair::from_pkcs8(
                &rg::ECDSA_P256_SHA256_FIXED_SIGNING,
                &pkcs8,
                &ring_rng,
            )
            .unwrap();
            group.bench_function("raw-ring", |b| {
                b.iter(|| ring_key.sign(&ring_rng, black_box(&input)).unwrap())
            });
        } else {
            let aws = lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).unwrap();
            group.bench_function("raw-aws-lc", |b| b.iter(|| aws.sign(black_box(&input))));
            let ring_key = rg::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).unwrap();
            group.bench_function("raw-ring", |b| b.iter(|| ring_key.sign(black_box(&input))));
        }
        let jwt_key = if ec {
            jsonwebtoken::EncodingKey::from_ec_pem(pkcs8_pem.as_bytes()).unwrap()
        } else {
            jsonwebtoken::EncodingKey::from_ed_pem(pkcs8_pem.as_bytes()).unwrap()
        };
        let mut jwt_header = jsonwebtoken::Header::new(jwt_alg);
        jwt_header.kid = Some("k1".into());
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| jsonwebtoken::encode(&jwt_header, black_box(&claims), &jwt_key).unwrap())
        });
        group.bench_function(ours(), |b| {
            b.iter(|| jws::sign(&header, black_box(&payload), &s).unwrap())
        });
        group.finish();

        let mut group = c.benchmark_group(format!("verify-{name}-1KiB"));
        group.throughput(Throughput::Bytes(payload.len() as u64));
        let (aws_alg, ring_alg): (
            &'static dyn lc::VerificationAlgorithm,
            &'static dyn rg::VerificationAlgorithm,
        ) = if ec {
            (&lc::ECDSA_P256_SHA256_FIXED, &rg::ECDSA_P256_SHA256_FIXED)
        } else {
            (&lc::ED25519, &rg::ED25519)
        };
        let aws = lc::ParsedPublicKey::new(aws_alg, &raw_public).unwrap();
        group.bench_function("raw-aws-lc", |b| {
            b.iter(|| aws.verify_sig(black_box(&input), &sig).unwrap())
        });
        let ring_key = rg::UnparsedPublicKey::new(ring_alg, &raw_public);
        group.bench_function("raw-ring", |b| {
            b.iter(|| ring_key.verify(black_box(&input), &sig).unwrap())
        });
        let pem = public.to_pem();
        let jwt_key = if ec {
            jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap()
        } else {
            jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()).unwrap()
        };
        let validation = jwt_validation(jwt_alg);
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Payload>(black_box(&token), &jwt_key, &validation).unwrap()
            })
        });
        group.bench_function(ours(), |b| {
            b.iter(|| {
                registry
                    .snapshot()
                    .verify(black_box(&token), &limits)
                    .unwrap()
                    .deserialize_json::<Payload>(&limits)
                    .unwrap()
            })
        });
        group.bench_function(format!("{}-bytes", ours()), |b| {
            b.iter(|| {
                registry
                    .snapshot()
                    .verify(black_box(&token), &limits)
                    .unwrap()
            })
        });
        group.finish();
    }
}

criterion_group!(
    benches,
    sign,
    verify,
    curves,
    verify_headers,
    verify_sizes,
    verify_threads
);
criterion_main!(benches);
