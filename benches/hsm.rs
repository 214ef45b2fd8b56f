//! The cost of the module boundary: signatures per second through a PKCS#11
//! token (SoftHSM2, from `scripts/softhsm.sh`) next to the same RSA-2048 key
//! signing in software, in the same run.
//!
//! Group ids: `hsm-sign-rs256-1KiB` and `hsm-sign-ps256-1KiB`, each with
//! `software` (this crate's [`KeySigner`] on the backend this build uses) and
//! `pkcs11-softhsm2` ([`Pkcs11Signer`] on the token's copy of the key, the
//! key `tests/data/keys/rsa2048.pkcs8.pem` imported); `hsm-sign-ps256-threads`
//! with one and two threads through one signer.
//!
//! ```text
//! eval "$(scripts/softhsm.sh start)"
//! cargo bench --bench hsm --features pkcs11
//! ```
//!
//! Without the token's variables it prints how to set it up and measures
//! nothing.

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]
// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signed_payloads::pkcs11::{KeyLocation, KeyMatch, Pin, Pkcs11Signer, TokenMatch};
use signed_payloads::{Algorithm, KeySigner, PrivateKey, Signer};

const KEY_PEM: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");

/// The token's copy of the key, or None (and a note) without a token.
fn token_signer(algorithm: Algorithm) -> Option<Pkcs11Signer> {
    let setting = |name: &str| std::env::var(name).ok();
    let (Some(module), Some(token), Some(pin_file)) = (
        setting("SIGNED_PAYLOADS_PKCS11_MODULE"),
        setting("SIGNED_PAYLOADS_PKCS11_TOKEN"),
        setting("SIGNED_PAYLOADS_PKCS11_PIN_FILE"),
    ) else {
        eprintln!(
            "benches/hsm.rs measures nothing: run `eval \"$(scripts/softhsm.sh start)\"` first"
        );
        return None;
    };
    let location = KeyLocation::new(
        module,
        TokenMatch::Label(token),
        KeyMatch::Label("rsa-2048".into()),
        Pin::from_file(pin_file).unwrap(),
    );
    Some(Pkcs11Signer::open(location, algorithm).unwrap())
}

fn sign(c: &mut Criterion) {
    let message = vec![b'x'; 1024];
    for (group, algorithm) in [
        ("hsm-sign-rs256-1KiB", Algorithm::RS256),
        ("hsm-sign-ps256-1KiB", Algorithm::PS256),
    ] {
        let Some(hsm) = token_signer(algorithm) else {
            return;
        };
        let key = PrivateKey::from_pem(KEY_PEM).unwrap();
        // The same key on both sides.
        assert_eq!(hsm.public_key().thumbprint(), key.public_key().thumbprint());
        let software = KeySigner::new(key, algorithm).unwrap();
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(1));
        g.bench_function("software", |b| {
            b.iter(|| software.sign(black_box(&message)).unwrap());
        });
        g.bench_function("pkcs11-softhsm2", |b| {
            b.iter(|| hsm.sign(black_box(&message)).unwrap());
        });
        g.finish();
    }
}

/// Signatures per second with one and two threads through one signer (the
/// session pool lets them sign side by side).
fn threads(c: &mut Criterion) {
    let Some(hsm) = token_signer(Algorithm::PS256) else {
        return;
    };
    let hsm = Arc::new(hsm.with_max_sessions(2));
    let message = vec![b'x'; 1024];
    let mut g = c.benchmark_group("hsm-sign-ps256-threads");
    for threads in [1_u64, 2] {
        g.throughput(Throughput::Elements(threads));
        g.bench_function(format!("pkcs11-softhsm2/{threads}"), |b| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                std::thread::scope(|scope| {
                    for _ in 0..threads {
                        scope.spawn(|| {
                            for _ in 0..iterations {
                                hsm.sign(black_box(&message)).unwrap();
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = sign, threads
}
criterion_main!(benches);
