//! Verification throughput with each replay store: none, the memory store,
//! and the shared Redis store, as ratios to the verifier without a store, in
//! one process on the same tokens (RS256, 2048-bit key, `jti`, `iat`, `exp`).
//!
//! Tokens are signed once up front (signing is not what is measured); each
//! round verifies all of them from `TASKS` concurrent tasks on a
//! two-worker runtime, with a fresh memory store or a fresh Redis prefix so
//! every token is new to the store. Shown per store: the median rate of
//! `ROUNDS` rounds, and, steadier on a shared machine, the CPU time each
//! verification costs this process (Linux: /proc/self/stat) and the Redis
//! server (its `INFO cpu`), summed over all rounds. The CPU ratio (no store
//! / with store) is the throughput ratio a CPU-bound fleet would see.
//!
//! ```text
//! eval "$(scripts/services.sh start)"
//! cargo bench --bench replay_throughput --all-features
//! ```
//!
//! Without `SIGNED_PAYLOADS_REDIS_URL` the Redis row is skipped. Set
//! `REPLAY_BENCH_TOKENS` to change the number of tokens (default 20 000).

// A benchmark that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::{
    Algorithm, KeyRegistry, KeySigner, MemoryNonceStore, PrivateKey, VerificationKey,
};

const KEY: &str = include_str!("../tests/data/keys/rsa2048.pkcs8.pem");
const TASKS: usize = 64;
const ROUNDS: usize = 5;

fn main() {
    let tokens: usize = std::env::var("REPLAY_BENCH_TOKENS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(tokens));
}

async fn run(count: usize) {
    let key = PrivateKey::from_pem(KEY).unwrap();
    let registry = Arc::new(KeyRegistry::new(
        VerificationKey::new("k1", key.public_key().clone(), Algorithm::RS256).unwrap(),
    ));
    let signer = Arc::new(
        RequestSigner::new(Arc::new(
            KeySigner::new(key, Algorithm::RS256)
                .unwrap()
                .with_key_id("k1"),
        ))
        .with_ttl(Duration::from_secs(3600))
        .with_jti(),
    );
    let started = Instant::now();
    let tokens = Arc::new(sign_all(&signer, count).await);
    eprintln!(
        "signed {count} tokens in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let plain = Arc::new(RequestVerifier::new(registry.clone()));
    let none = measure(count, None, || {
        let plain = plain.clone();
        let tokens = tokens.clone();
        async move {
            rate(&tokens, move |t| {
                let v = plain.clone();
                async move { v.verify_bytes_async(&t).await.map(drop) }
            })
            .await
        }
    })
    .await;
    report("no replay store", &none, &none);

    let memory = measure(count, None, || {
        let verifier = Arc::new(
            RequestVerifier::new(registry.clone())
                .with_replay_store(Arc::new(MemoryNonceStore::new(count))),
        );
        let tokens = tokens.clone();
        async move {
            rate(&tokens, move |t| {
                let v = verifier.clone();
                async move { v.verify_bytes_async(&t).await.map(drop) }
            })
            .await
        }
    })
    .await;
    report("MemoryNonceStore", &memory, &none);

    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("SIGNED_PAYLOADS_REDIS_URL") {
        let (store, cpu) = redis_store(&url).await;
        let mut round = 0;
        let redis = measure(count, Some(&cpu), || {
            round += 1;
            let prefix = format!("replay-bench:{}:{round}:", std::process::id());
            let store = store.clone().with_prefix(prefix);
            let registry = registry.clone();
            let tokens = tokens.clone();
            async move {
                store.declare_new().await.unwrap();
                let verifier =
                    Arc::new(RequestVerifier::new(registry).with_replay_store(Arc::new(store)));
                rate(&tokens, move |t| {
                    let v = verifier.clone();
                    async move { v.verify_bytes_async(&t).await.map(drop) }
                })
                .await
            }
        })
        .await;
        report("RedisNonceStore", &redis, &none);
    } else {
        eprintln!("RedisNonceStore: skipped (SIGNED_PAYLOADS_REDIS_URL is not set)");
    }
}

/// The store under test, and a connection of the bench's own to the same
/// Redis for reading its CPU time.
#[cfg(feature = "redis")]
async fn redis_store(url: &str) -> (signed_payloads::RedisNonceStore, RedisCpu) {
    use signed_payloads::RedisNonceStore;
    let timeout = Duration::from_secs(5);
    match std::env::var("SIGNED_PAYLOADS_REDIS_CA") {
        Ok(ca) if url.starts_with("rediss://") => {
            let ca = std::fs::read(ca).unwrap();
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca.clone()),
            };
            let client = redis::Client::build_with_tls(url, certificates).unwrap();
            (
                RedisNonceStore::connect_with_ca_pem(url, &ca, timeout)
                    .await
                    .unwrap(),
                client.get_multiplexed_async_connection().await.unwrap(),
            )
        }
        _ => (
            RedisNonceStore::connect_with_timeout(url, timeout)
                .await
                .unwrap(),
            redis::Client::open(url)
                .unwrap()
                .get_multiplexed_async_connection()
                .await
                .unwrap(),
        ),
    }
}

/// Signs `count` tokens on the blocking pool, two at a time.
async fn sign_all(signer: &Arc<RequestSigner>, count: usize) -> Vec<String> {
    let halves = [count / 2, count - count / 2].map(|n| {
        let signer = signer.clone();
        tokio::task::spawn_blocking(move || {
            (0..n)
                .map(|i| signer.sign(&serde_json::json!({ "amount": i })).unwrap())
                .collect::<Vec<_>>()
        })
    });
    let mut tokens = Vec::with_capacity(count);
    for half in halves {
        tokens.extend(half.await.unwrap());
    }
    tokens
}

/// Verifications per second: every token once, from `TASKS` tasks.
async fn rate<F, Fut>(tokens: &Arc<Vec<String>>, verify: F) -> f64
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), signed_payloads::Error>> + Send,
{
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let tokens = tokens.clone();
            let verify = verify.clone();
            tokio::spawn(async move {
                for token in tokens.iter().skip(task).step_by(TASKS) {
                    verify(token.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    tokens.len() as f64 / started.elapsed().as_secs_f64()
}

/// What `ROUNDS` rounds of one store showed.
struct Measured {
    /// Median verifications per second.
    rate: f64,
    /// CPU time per verification in this process, µs.
    client_us: f64,
    /// CPU time per verification in the Redis server, µs.
    server_us: f64,
}

async fn measure<F, Fut>(count: usize, redis: Option<&RedisCpu>, mut round: F) -> Measured
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = f64>,
{
    let mut rates = Vec::with_capacity(ROUNDS);
    let (client, server) = (process_cpu_us(), server_cpu_us(redis).await);
    for _ in 0..ROUNDS {
        rates.push(round().await);
    }
    let verifications = (count * ROUNDS) as f64;
    let client_us = (process_cpu_us() - client) / verifications;
    let server_us = (server_cpu_us(redis).await - server) / verifications;
    rates.sort_by(f64::total_cmp);
    Measured {
        rate: rates[ROUNDS / 2],
        client_us,
        server_us,
    }
}

fn report(what: &str, m: &Measured, baseline: &Measured) {
    let total = m.client_us + m.server_us;
    println!(
        "{what:<18} {:>7.0}/s ({:.2} of no store)  CPU per verification: {:>5.1} µs here + {:>4.1} µs Redis = {:>5.1} µs ({:.2} of no store)",
        m.rate,
        m.rate / baseline.rate,
        m.client_us,
        m.server_us,
        total,
        (baseline.client_us + baseline.server_us) / total,
    );
}

/// This process's CPU time (user and system) in µs, from /proc/self/stat;
/// 0 where there is none (then the CPU columns say nothing).
fn process_cpu_us() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks (100 per second).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks * 10_000.0
}

/// A second connection to the Redis under test, to read its CPU time.
#[cfg(feature = "redis")]
type RedisCpu = redis::aio::MultiplexedConnection;
#[cfg(not(feature = "redis"))]
type RedisCpu = ();

/// The Redis server's CPU time (user and system, all threads) in µs.
#[cfg(feature = "redis")]
async fn server_cpu_us(redis: Option<&RedisCpu>) -> f64 {
    let Some(connection) = redis else { return 0.0 };
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(&mut connection.clone())
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| matches!(*name, "used_cpu_sys" | "used_cpu_user"))
        .filter_map(|(_, value)| value.trim().parse::<f64>().ok())
        .sum::<f64>()
        * 1e6
}

#[cfg(not(feature = "redis"))]
async fn server_cpu_us(_: Option<&RedisCpu>) -> f64 {
    0.0
}
