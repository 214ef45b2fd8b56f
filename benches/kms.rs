//! Signatures per second through AWS KMS (the emulator from
//! `scripts/kms.sh`, on 127.0.0.1) against the same kind of key in
//! software, one at a time and 16 at once through one signer: what the
//! round trip costs. Wall clock, so only the ratio means much here.
//!
//! `eval "$(scripts/kms.sh start)"; cargo bench --bench kms --features aws-kms`
//! (`KMS_BENCH_SIGNATURES`, default 400).

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use signed_payloads::aws_kms::AwsKmsSigner;
use signed_payloads::{Algorithm, AsyncSigner, KeySigner, PrivateKey};

/// Signatures per second over `count` signatures, `parallel` at a time.
async fn rate(signer: Arc<dyn AsyncSigner>, count: usize, parallel: usize) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..parallel)
        .map(|task| {
            let signer = signer.clone();
            tokio::spawn(async move {
                for i in (task..count).step_by(parallel) {
                    let message = format!("header.payload-{i}");
                    signer.sign_async(message.as_bytes()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::var_os("AWS_ENDPOINT_URL_KMS").is_none() {
        eprintln!("kms bench: start the emulator first, eval \"$(scripts/kms.sh start)\"");
        return;
    }
    let count: usize = std::env::var("KMS_BENCH_SIGNATURES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let kms = aws_sdk_kms::Client::new(&config);
    for (spec, alg, pem) in [
        (
            KeySpec::EccNistP256,
            Algorithm::ES256,
            include_str!("../tests/data/keys/ec-p256.pem"),
        ),
        (
            KeySpec::Rsa2048,
            Algorithm::PS256,
            include_str!("../tests/data/keys/rsa2048.pkcs8.pem"),
        ),
    ] {
        let key = kms
            .create_key()
            .key_spec(spec)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id;
        let remote: Arc<dyn AsyncSigner> = Arc::new(
            AwsKmsSigner::builder(&key)
                .algorithm(alg)
                .connect_with(&config)
                .await
                .unwrap(),
        );
        let local: Arc<dyn AsyncSigner> =
            Arc::new(KeySigner::new(PrivateKey::from_pem(pem).unwrap(), alg).unwrap());
        for parallel in [1, 16] {
            let through_kms = rate(remote.clone(), count, parallel).await;
            let software = rate(local.clone(), count, parallel).await;
            println!(
                "{alg} {parallel:>2} at once: KMS emulator {through_kms:>8.0}/s, software {software:>8.0}/s ({:.1}x)",
                software / through_kms
            );
        }
    }
}
