//! Instruction counts, for ratios that shared, noisy machines cannot blur:
//! runs one operation N times so that `valgrind --tool=callgrind` can count
//! it. `benches/instructions.sh` runs each operation at two N and reports
//! the difference per operation (key parsing and setup cancel out).
//!
//! `cargo bench --bench instructions --no-run`, then
//! `target/release/deps/instructions-* <operation> <iterations>`.

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use signed_payloads::detached::{DetachedProfile, DetachedSigner, DetachedVerifier};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, FixedClock, Header, KeyRegistry, KeySigner, Limits, PrivateKey, VerificationKey, jws,
};

const KEY_PEM: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
const PUBLIC_PEM: &str = include_str!("../tests/data/keys/rsa2048.spki.pem");
const PUBLIC_PKCS1_DER: &[u8] = include_bytes!("../tests/data/keys/rsa2048.pkcs1-public.der");
const EC_P256_PEM: &str = include_str!("../tests/data/keys/ec-p256.pem");
const ED25519_PEM: &str = include_str!("../tests/data/keys/ed25519.pkcs8.pem");

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

/// Defines a struct of the 1 KiB shape of the outside review: 50 string
/// members, of type `$ty`.
macro_rules! wide {
    ($(#[$meta:meta])* $name:ident $(<$a:lifetime>)?, $ty:ty) => {
        $(#[$meta])*
        #[allow(dead_code)] // read only through black_box
        struct $name $(<$a>)? {
            m00: $ty,
            m01: $ty,
            m02: $ty,
            m03: $ty,
            m04: $ty,
            m05: $ty,
            m06: $ty,
            m07: $ty,
            m08: $ty,
            m09: $ty,
            m10: $ty,
            m11: $ty,
            m12: $ty,
            m13: $ty,
            m14: $ty,
            m15: $ty,
            m16: $ty,
            m17: $ty,
            m18: $ty,
            m19: $ty,
            m20: $ty,
            m21: $ty,
            m22: $ty,
            m23: $ty,
            m24: $ty,
            m25: $ty,
            m26: $ty,
            m27: $ty,
            m28: $ty,
            m29: $ty,
            m30: $ty,
            m31: $ty,
            m32: $ty,
            m33: $ty,
            m34: $ty,
            m35: $ty,
            m36: $ty,
            m37: $ty,
            m38: $ty,
            m39: $ty,
            m40: $ty,
            m41: $ty,
            m42: $ty,
            m43: $ty,
            m44: $ty,
            m45: $ty,
            m46: $ty,
            m47: $ty,
            m48: $ty,
            m49: $ty,
        }
    };
}

wide!(
    #[derive(Deserialize, Serialize)]
    Wide,
    String
);
wide!(
    /// The same, borrowing from the verified bytes.
    #[derive(Deserialize)] WideRef<'a>, &'a str
);

#[derive(Deserialize)]
struct Big {
    #[allow(dead_code)] // read so that jsonwebtoken deserializes it
    data: String,
}

/// Runs `op` `n` times. The harness counts only inside this function
/// (`--toggle-collect`), so setup and the crypto library's entropy
/// gathering, whose cost varies from run to run, stay out of the count.
#[inline(never)]
fn repeat(n: u32, mut op: impl FnMut()) {
    for _ in 0..n {
        op();
    }
}

/// The hand-rolled floor the wide cases are held to: split, base64-simd,
/// `verify` (the backend's own), serde_json into the struct. Nothing
/// strict, no kid lookup.
fn hand_rolled_wide(token: &str, verify: impl Fn(&[u8], &[u8])) {
    hand_rolled::<Wide>(token, verify);
}

/// The hand-rolled floor into any `T`.
fn hand_rolled<T: serde::de::DeserializeOwned>(token: &str, verify: impl Fn(&[u8], &[u8])) {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let (_, payload) = input.split_once('.').unwrap();
    let sig = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(sig).unwrap();
    verify(input.as_bytes(), &sig);
    let payload = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(payload).unwrap();
    drop(black_box(serde_json::from_slice::<T>(&payload).unwrap()));
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let (Some(operation), Some(n)) = (args.next(), args.next()) else {
        // Run by `cargo bench` or `cargo test --benches` without arguments: nothing to count.
        eprintln!("usage: instructions <operation> <iterations> (see benches/instructions.sh)");
        return;
    };
    let n: u32 = n.parse().unwrap();
    let key = PrivateKey::from_pem(KEY_PEM).unwrap();
    let registry = KeyRegistry::new(
        VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256).unwrap(),
    );
    let signer = KeySigner::new(key, Algorithm::RS256)
        .unwrap()
        .with_key_id("k1");
    let items = (0..52).map(|i| format!("item-{i:04}-abcdef")).collect();
    let payload = serde_json::to_vec(&Payload {
        sub: "user-1234".into(),
        iat: 1_800_000_000,
        items,
    })
    .unwrap();
    let wide: serde_json::Map<String, serde_json::Value> = (0..50)
        .map(|i| (format!("m{i:02}"), format!("value-{i:02}-abcdef").into()))
        .collect();
    let wide_token = jws::sign(
        &Header::for_signer(&signer),
        &serde_json::to_vec(&wide).unwrap(),
        &signer,
    )
    .unwrap();
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat((1 << 20) - 11)).into_bytes();
    let token = jws::sign(&Header::for_signer(&signer), &payload, &signer).unwrap();
    let big_token = jws::sign(&Header::for_signer(&signer), &big, &signer).unwrap();
    let limits = Limits::default();
    let roomy = Limits::default().with_max_token_bytes(4 << 20);
    let rs256 = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        PUBLIC_PKCS1_DER,
    )
    .unwrap();
    let ps384 = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA384,
        PUBLIC_PKCS1_DER,
    )
    .unwrap();
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_PEM.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let split = |t: &str| {
        let (input, sig) = t.rsplit_once('.').unwrap();
        (
            input.as_bytes().to_vec(),
            URL_SAFE_NO_PAD.decode(sig).unwrap(),
        )
    };

    match operation.as_str() {
        "verify-raw" => {
            let (input, sig) = split(&token);
            repeat(n, || rs256.verify_sig(black_box(&input), &sig).unwrap());
        }
        "verify-bytes" => repeat(n, || {
            drop(black_box(
                registry.snapshot().verify(&token, &limits).unwrap(),
            ))
        }),
        "verify-typed" => repeat(n, || {
            drop(black_box(
                registry
                    .snapshot()
                    .verify(&token, &limits)
                    .unwrap()
                    .deserialize_json::<Payload>(&limits)
                    .unwrap(),
            ))
        }),
        "verify-borrowed" => repeat(n, || {
            let verified = registry.snapshot().verify(&token, &limits).unwrap();
            let payload: PayloadRef<'_> = verified.parse_json(&limits).unwrap();
            black_box((payload.sub.len(), payload.iat, payload.items.len()));
        }),
        "request-typed" => {
            // The request profile as a card-issuing API runs it: kid lookup,
            // signature, claims policy, typed payload.
            let clock = signed_payloads::FixedClock::new(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            );
            let verifier = signed_payloads::request::RequestVerifier::new(Arc::new(registry))
                .with_claims(signed_payloads::ClaimsPolicy::new().with_clock(Arc::new(clock)));
            repeat(n, || {
                drop(black_box(verifier.verify::<Payload>(&token).unwrap()))
            })
        }
        "wide-floor" => repeat(n, || {
            hand_rolled_wide(black_box(&wide_token), |input, sig| {
                rs256.verify_sig(input, sig).unwrap();
            });
        }),
        "wide-floor-ring" => {
            // The same floor on ring, for a ring build's wide-typed: ring
            // parses the public key in each verify, as the crate's ring
            // backend must.
            let key = ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                PUBLIC_PKCS1_DER,
            );
            repeat(n, || {
                hand_rolled_wide(black_box(&wide_token), |input, sig| {
                    key.verify(input, sig).unwrap();
                });
            })
        }
        "wide-typed" => repeat(n, || {
            drop(black_box(
                registry
                    .snapshot()
                    .verify(&wide_token, &limits)
                    .unwrap()
                    .deserialize_json::<Wide>(&limits)
                    .unwrap(),
            ))
        }),
        "wide-borrowed" => repeat(n, || {
            let verified = registry.snapshot().verify(&wide_token, &limits).unwrap();
            let payload: WideRef<'_> = verified.parse_json(&limits).unwrap();
            black_box(payload);
        }),
        "wide-request" => {
            // The request profile with the default claims policy over the
            // wide payload, typed: against wide-floor.
            let clock = signed_payloads::FixedClock::new(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
            );
            let verifier = signed_payloads::request::RequestVerifier::new(Arc::new(registry))
                .with_claims(signed_payloads::ClaimsPolicy::new().with_clock(Arc::new(clock)));
            repeat(n, || {
                drop(black_box(verifier.verify::<Wide>(&wide_token).unwrap()))
            })
        }
        "sign-raw" | "sign-request" => {
            // RS256 over the 1 KiB claims: the raw aws-lc sign of the same
            // signing input next to RequestSigner::sign_json (strict check,
            // iat added, header, base64url).
            let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(
                PrivateKey::from_pem(KEY_PEM)
                    .unwrap()
                    .secret_pkcs8_der()
                    .as_slice(),
            )
            .unwrap();
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let request = signed_payloads::request::RequestSigner::new(Arc::new(
                KeySigner::new(PrivateKey::from_pem(KEY_PEM).unwrap(), Algorithm::RS256)
                    .unwrap()
                    .with_key_id("k1"),
            ));
            let input = request.sign_json(&payload).unwrap();
            let input = input.rsplit_once('.').unwrap().0.as_bytes().to_vec();
            if operation == "sign-raw" {
                let mut sig = vec![0; 256];
                repeat(n, || {
                    pair.sign(
                        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                        &rng,
                        black_box(&input),
                        &mut sig,
                    )
                    .unwrap()
                });
            } else {
                repeat(n, || {
                    drop(black_box(request.sign_json(black_box(&payload)).unwrap()))
                });
            }
        }
        // The same RS256 signature through a PKCS#11 token (SoftHSM2 from
        // scripts/softhsm.sh holds this key as rsa-2048): the module's work
        // is in the count too, since it runs in this process.
        #[cfg(feature = "pkcs11")]
        "sign-pkcs11" => {
            use signed_payloads::Signer;
            use signed_payloads::pkcs11::{KeyLocation, Pkcs11Signer};
            let setting = |name: &str| std::env::var(name).unwrap();
            let uri = format!(
                "pkcs11:token={};object=rsa-2048?module-path={}&pin-source=file:{}",
                setting("SIGNED_PAYLOADS_PKCS11_TOKEN"),
                setting("SIGNED_PAYLOADS_PKCS11_MODULE"),
                setting("SIGNED_PAYLOADS_PKCS11_PIN_FILE"),
            );
            let hsm =
                Pkcs11Signer::open(KeyLocation::from_uri(&uri).unwrap(), Algorithm::RS256).unwrap();
            let input = vec![b'x'; 1024];
            repeat(n, || drop(black_box(hsm.sign(black_box(&input)).unwrap())));
        }
        "verify-jsonwebtoken" => repeat(n, || {
            drop(black_box(
                jsonwebtoken::decode::<Payload>(&token, &jwt_key, &validation).unwrap(),
            ));
        }),
        "verify-1MiB-raw" => {
            let (input, sig) = split(&big_token);
            repeat(n, || rs256.verify_sig(black_box(&input), &sig).unwrap());
        }
        "verify-1MiB-bytes" => repeat(n, || {
            drop(black_box(
                registry.snapshot().verify(&big_token, &roomy).unwrap(),
            ))
        }),
        "verify-1MiB-jsonwebtoken" => repeat(n, || {
            drop(black_box(
                jsonwebtoken::decode::<Big>(&big_token, &jwt_key, &validation).unwrap(),
            ));
        }),
        "headers-raw" | "headers-ours" => {
            let ps = Arc::new(
                KeySigner::new(PrivateKey::from_pem(KEY_PEM).unwrap(), Algorithm::PS384)
                    .unwrap()
                    .with_key_id("k1"),
            );
            let signed = ResponseSigner::new(ps).sign_headers(200, &payload).unwrap();
            let message = [&payload[..], b";200;", signed.token().as_bytes()].concat();
            let sig = STANDARD.decode(signed.signature()).unwrap();
            let key = VerificationKey::new(
                "k1",
                PrivateKey::from_pem(KEY_PEM).unwrap().public_key().clone(),
                Algorithm::PS384,
            )
            .unwrap();
            let verifier = ResponseVerifier::new(Arc::new(KeyRegistry::new(key)));
            let headers: Vec<(String, String)> = signed
                .iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            if operation == "headers-raw" {
                repeat(n, || ps384.verify_sig(black_box(&message), &sig).unwrap());
            } else {
                repeat(n, || {
                    drop(black_box(
                        verifier
                            .verify_headers(
                                200,
                                headers.iter().map(|(a, b)| (a.as_str(), b.as_str())),
                                &payload,
                            )
                            .unwrap(),
                    ));
                });
            }
        }
        "detached-raw" | "detached-ours" | "detached-ours-b64false" => {
            // A 1 KiB JSON body with an Open Banking x-jws-signature (PS256).
            let body = format!(r#"{{"Data":{{"Note":"{}"}}}}"#, "n".repeat(1024 - 22)).into_bytes();
            let key = PrivateKey::from_pem(KEY_PEM).unwrap();
            let public = key.public_key().clone();
            let at = Arc::new(FixedClock::new(
                UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            ));
            let profile = if operation == "detached-ours-b64false" {
                DetachedProfile::open_banking_v3_1_3()
            } else {
                DetachedProfile::open_banking()
            };
            let signature = DetachedSigner::new(
                Arc::new(
                    KeySigner::new(key, Algorithm::PS256)
                        .unwrap()
                        .with_key_id("k1"),
                ),
                "org/sw",
                "openbanking.org.uk",
            )
            .with_profile(profile)
            .with_clock(at.clone())
            .sign(&body)
            .unwrap();
            let (header, sig) = signature.split_once("..").unwrap();
            if operation == "detached-raw" {
                let ps256 = aws_lc_rs::signature::ParsedPublicKey::new(
                    &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA256,
                    PUBLIC_PKCS1_DER,
                )
                .unwrap();
                let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&body));
                let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
                repeat(n, || {
                    ps256.verify_sig(black_box(input.as_bytes()), &sig).unwrap()
                });
            } else {
                let verifier = DetachedVerifier::new(Arc::new(KeyRegistry::new(
                    VerificationKey::new("k1", public, Algorithm::PS256).unwrap(),
                )))
                .with_issuer("org/sw")
                .with_trust_anchors(["openbanking.org.uk"])
                .with_clock(at);
                repeat(n, || {
                    drop(black_box(
                        verifier.verify(black_box(&signature), &body).unwrap(),
                    ));
                });
            }
        }
        #[cfg(feature = "httpsig")]
        "httpsig-raw" | "httpsig-ours" => httpsig_b23(operation.as_str(), n),
        other => {
            let curve = [
                ("es256-", Algorithm::ES256, EC_P256_PEM),
                ("ed25519-", Algorithm::EdDSA, ED25519_PEM),
            ]
            .into_iter()
            .find_map(|(prefix, alg, pem)| Some((other.strip_prefix(prefix)?, alg, pem)));
            let Some((operation, alg, pem)) = curve else {
                eprintln!("unknown operation {other}");
                std::process::exit(2);
            };
            curve_operation(operation, n, alg, pem, &payload);
        }
    }
}

/// ES256 and Ed25519 over the 1 KiB claims, each beside its floor: the raw
/// aws-lc verify or sign of the same signing input, and `jsonwebtoken`.
fn curve_operation(operation: &str, n: u32, alg: Algorithm, pem: &str, payload: &[u8]) {
    use aws_lc_rs::signature as lc;
    let key = PrivateKey::from_pem(pem).unwrap();
    let public = key.public_key().clone();
    let registry = KeyRegistry::new(VerificationKey::new("k1", public.clone(), alg).unwrap());
    let request = signed_payloads::request::RequestSigner::new(Arc::new(
        KeySigner::new(key, alg).unwrap().with_key_id("k1"),
    ));
    let token = request.sign_json(payload).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let (input, sig) = (
        input.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(sig).unwrap(),
    );
    let (verification, jwt_alg): (&'static dyn lc::VerificationAlgorithm, _) =
        if alg == Algorithm::ES256 {
            (&lc::ECDSA_P256_SHA256_FIXED, jsonwebtoken::Algorithm::ES256)
        } else {
            (&lc::ED25519, jsonwebtoken::Algorithm::EdDSA)
        };
    let limits = Limits::default();
    match operation {
        "verify-raw" => {
            let raw = lc::ParsedPublicKey::new(verification, raw_public(&public)).unwrap();
            repeat(n, || raw.verify_sig(black_box(&input), &sig).unwrap());
        }
        "verify-bytes" => repeat(n, || {
            drop(black_box(
                registry.snapshot().verify(&token, &limits).unwrap(),
            ))
        }),
        "verify-floor" => {
            // Split, base64, the raw verify, serde_json into the type:
            // what verify-typed is held to.
            let raw = lc::ParsedPublicKey::new(verification, raw_public(&public)).unwrap();
            repeat(n, || {
                hand_rolled::<Payload>(black_box(&token), |input, sig| {
                    raw.verify_sig(input, sig).unwrap();
                });
            });
        }
        "verify-typed" => repeat(n, || {
            drop(black_box(
                registry
                    .snapshot()
                    .verify(&token, &limits)
                    .unwrap()
                    .deserialize_json::<Payload>(&limits)
                    .unwrap(),
            ))
        }),
        "verify-jsonwebtoken" => {
            let pem = public.to_pem();
            let jwt_key = if alg == Algorithm::ES256 {
                jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap()
            } else {
                jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()).unwrap()
            };
            let mut validation = jsonwebtoken::Validation::new(jwt_alg);
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            repeat(n, || {
                drop(black_box(
                    jsonwebtoken::decode::<Payload>(&token, &jwt_key, &validation).unwrap(),
                ))
            });
        }
        "sign-raw" => {
            let pkcs8 = PrivateKey::from_pem(pem).unwrap().secret_pkcs8_der();
            let rng = aws_lc_rs::rand::SystemRandom::new();
            if alg == Algorithm::ES256 {
                let pair =
                    lc::EcdsaKeyPair::from_pkcs8(&lc::ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                        .unwrap();
                repeat(n, || {
                    black_box(pair.sign(&rng, black_box(&input)).unwrap());
                });
            } else {
                let pair = lc::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).unwrap();
                repeat(n, || {
                    black_box(pair.sign(black_box(&input)));
                });
            }
        }
        "sign-request" => repeat(n, || {
            drop(black_box(request.sign_json(black_box(payload)).unwrap()))
        }),
        "sign-jsonwebtoken" => {
            // jsonwebtoken's encode of the same claims (serialized from the
            // struct), with its key from the same PKCS#8 PEM.
            let claims: Payload = serde_json::from_slice(payload).unwrap();
            let pkcs8 = PrivateKey::from_pem(pem).unwrap().secret_pkcs8_pem();
            let key = if alg == Algorithm::ES256 {
                jsonwebtoken::EncodingKey::from_ec_pem(pkcs8.as_bytes()).unwrap()
            } else {
                jsonwebtoken::EncodingKey::from_ed_pem(pkcs8.as_bytes()).unwrap()
            };
            let header = jsonwebtoken::Header::new(jwt_alg);
            repeat(n, || {
                drop(black_box(
                    jsonwebtoken::encode(&header, black_box(&claims), &key).unwrap(),
                ))
            });
        }
        "sign-jws" => {
            // The JWS layer alone: header, base64url, the Signer, no claims.
            let signer = KeySigner::new(PrivateKey::from_pem(pem).unwrap(), alg)
                .unwrap()
                .with_key_id("k1");
            let header = Header::for_signer(&signer);
            repeat(n, || {
                drop(black_box(
                    jws::sign(&header, black_box(payload), &signer).unwrap(),
                ))
            });
        }
        other => {
            eprintln!("unknown operation {other}");
            std::process::exit(2);
        }
    }
}

/// The key as the raw backend takes it: the point or the 32 bytes, which
/// are the SubjectPublicKeyInfo's BIT STRING (its last bytes).
fn raw_public(public: &signed_payloads::PublicKey) -> Vec<u8> {
    let jwk = public.to_jwk();
    let x = URL_SAFE_NO_PAD.decode(jwk.x.unwrap()).unwrap();
    match jwk.y {
        Some(y) => [&[4][..], &x, &URL_SAFE_NO_PAD.decode(y).unwrap()].concat(),
        None => x,
    }
}

/// RFC 9421 B.2.3 (full coverage, rsa-pss-sha512): the raw RSA-PSS verify
/// of the published signature base, against `httpsig::verify` building and
/// checking that base from the message (with its `Content-Digest`).
#[cfg(feature = "httpsig")]
fn httpsig_b23(operation: &str, n: u32) {
    use signed_payloads::httpsig::{self, HttpMessage};
    use signed_payloads::{KeyVerifier, PublicKey};
    let examples: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/rfc9421/examples.json")).unwrap();
    let example = examples["examples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "b.2.3")
        .unwrap();
    let field = |name: &str| example[name].as_str().unwrap().to_owned();
    let public = PublicKey::from_pem(include_str!(
        "../tests/data/rfc9421/test-key-rsa-pss.pub.pem"
    ))
    .unwrap();
    let body = br#"{"hello": "world"}"#;
    if operation == "httpsig-raw" {
        let raw = aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PSS_2048_8192_SHA512,
            public.to_pkcs1_der().unwrap(),
        )
        .unwrap();
        let base = field("signature_base");
        let signature = STANDARD.decode(field("signature_b64")).unwrap();
        repeat(n, || {
            raw.verify_sig(black_box(base.as_bytes()), &signature)
                .unwrap()
        });
    } else {
        let message = HttpMessage::request("POST", "https://example.com/foo?param=Value&Pet=dog")
            .unwrap()
            .with_header("Host", "example.com")
            .with_header("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
            .with_header("Content-Type", "application/json")
            .with_header(
                "Content-Digest",
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            )
            .with_header("Content-Length", "18")
            .with_header("Signature-Input", &field("signature_input"))
            .with_header("Signature", &field("signature"));
        let verifier = KeyVerifier::new(public, Algorithm::PS512).unwrap();
        let policy = httpsig::HttpSigPolicy::new();
        repeat(n, || {
            drop(black_box(
                httpsig::verify(black_box(&message), None, Some(body), &policy, &verifier).unwrap(),
            ))
        });
    }
}
