//! The cost of choosing a key: RS256 verify of a 1 KiB token through a
//! two-key `KeyRegistry` (by `kid`, and without `kid` when the second key
//! matches) next to a direct verify with the key in hand, and the snapshot
//! and lookup alone. Also verification throughput while another thread
//! rotates keys.
//!
//! The tenant cache: a flood of made-up tenant ids against 10 000 cached
//! tenants.
//!
//! `cargo bench --bench registry`

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]
// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use signed_payloads::store::{MemoryKeyStore, TenantKeys};
use signed_payloads::{
    Algorithm, Header, KeyRegistry, KeySigner, KeyVerifier, Limits, PrivateKey, VerificationKey,
    jws,
};

const KEY_A: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
const KEY_B: &str = include_str!("../tests/data/rfc7515/A2.rsa_private_pkcs8.pem");

fn registry_bench(c: &mut Criterion) {
    let a = PrivateKey::from_pem(KEY_A).unwrap();
    let b = PrivateKey::from_pem(KEY_B).unwrap();
    let public_a = a.public_key().clone();
    let public_b = b.public_key().clone();
    let registry = Arc::new(
        KeyRegistry::from_keys([
            VerificationKey::new("a", public_a.clone(), Algorithm::RS256).unwrap(),
            VerificationKey::new("b", public_b.clone(), Algorithm::RS256).unwrap(),
        ])
        .unwrap(),
    );
    let payload = vec![b'x'; 1024];
    let payload = serde_json::to_vec(&String::from_utf8(payload).unwrap()).unwrap();
    let signer_b = KeySigner::new(b, Algorithm::RS256)
        .unwrap()
        .with_key_id("b");
    let with_kid = jws::sign(&Header::for_signer(&signer_b), &payload, &signer_b).unwrap();
    let without_kid = jws::sign(&Header::new(Algorithm::RS256), &payload, &signer_b).unwrap();
    let direct = KeyVerifier::new(public_b, Algorithm::RS256).unwrap();
    let limits = Limits::default();

    let mut group = c.benchmark_group("registry-rs256-1KiB");
    group.bench_function("direct-verifier", |bench| {
        bench.iter(|| jws::verify(black_box(&with_kid), &direct, &limits).unwrap())
    });
    group.bench_function("registry-kid", |bench| {
        bench.iter(|| {
            registry
                .snapshot()
                .verify(black_box(&with_kid), &limits)
                .unwrap()
        })
    });
    group.bench_function("registry-no-kid-second-key", |bench| {
        bench.iter(|| {
            registry
                .snapshot()
                .verify(black_box(&without_kid), &limits)
                .unwrap()
        })
    });
    group.bench_function("snapshot-and-lookup", |bench| {
        bench.iter(|| {
            registry
                .snapshot()
                .get(black_box("b"))
                .map(|k| k.algorithm())
        })
    });

    // Verify while another thread replaces key "a" back and forth as fast as it can.
    let stop = Arc::new(AtomicBool::new(false));
    let rotator = {
        let (registry, stop) = (Arc::clone(&registry), Arc::clone(&stop));
        let key = VerificationKey::new("a", public_a, Algorithm::RS256).unwrap();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                registry.remove("a").unwrap();
                registry.add(key.clone()).unwrap();
            }
        })
    };
    group.bench_function("registry-kid-while-rotating", |bench| {
        bench.iter(|| {
            registry
                .snapshot()
                .verify(black_box(&with_kid), &limits)
                .unwrap()
        })
    });
    stop.store(true, Ordering::Relaxed);
    rotator.join().unwrap();
    group.finish();
}

/// A flood of made-up tenant ids against a full cache of 10 000 tenants:
/// each lookup asks the (in-memory) store once and evicts the least
/// recently fetched tenant, in O(1) under the lock.
fn tenant_cache_bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let keys = TenantKeys::new(Arc::new(MemoryKeyStore::new())).with_capacity(10_000);
    for i in 0..10_000 {
        let _ = runtime.block_on(keys.key_set(&format!("cached-{i}")));
    }
    let mut group = c.benchmark_group("tenant-cache-10000");
    let mut next = 0u64;
    group.bench_function("unknown-tenant-evicts", |bench| {
        bench.iter(|| {
            next += 1;
            let tenant = format!("made-up-{next}");
            black_box(runtime.block_on(keys.key_set(&tenant)).is_err())
        })
    });
    group.finish();
}

criterion_group!(benches, registry_bench, tenant_cache_bench);
criterion_main!(benches);
