//! Two instances of a payments API verifying signed requests for many card
//! programs, sharing one PostgreSQL (the programs' keys) and one Redis (the
//! `jti`s already seen), all on 127.0.0.1 over real HTTP:
//!
//! 1. a program's key is registered through instance A's admin route;
//! 2. a payment signed with it is accepted by A, and the same token replayed
//!    to B is refused (B asks the shared Redis);
//! 3. the program rotates its key through A; B picks the new key up within
//!    its cache TTL and stops accepting the retired one.
//!
//! ```text
//! eval "$(scripts/services.sh start)"
//! cargo run --example fleet --features postgres,redis,axum
//! ```
//!
//! One line per step; exits non-zero if any step does not behave.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{delete, post};
use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::store::{KeyStore, PostgresKeyStore, TenantKeys};
use signed_payloads::{
    Algorithm, ClaimsPolicy, Error, KeySigner, PrivateKey, PublicKey, RedisNonceStore,
    VerificationKey,
};

/// How long an instance uses a program's keys before asking PostgreSQL again.
const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Where the fleet's nonces live in Redis.
const NONCE_PREFIX: &str = "fleet-example:";

/// One API instance: its own pool, cache and Redis connection.
#[derive(Clone)]
struct Instance {
    store: Arc<PostgresKeyStore>,
    verifier: Arc<RequestVerifier<TenantKeys, RedisNonceStore>>,
}

async fn instance(postgres: &str, redis: &str) -> Result<Instance, Error> {
    let store = Arc::new(PostgresKeyStore::connect(postgres).await?);
    let nonces = redis_store(redis).await?.with_prefix(NONCE_PREFIX);
    let verifier = RequestVerifier::new(Arc::new(
        TenantKeys::new(store.clone()).with_ttl(KEY_CACHE_TTL),
    ))
    .with_claims(ClaimsPolicy::new().require_exp())
    .with_replay_store(Arc::new(nonces));
    Ok(Instance {
        store,
        verifier: Arc::new(verifier),
    })
}

/// `POST /programs/{program}/payments`, body `application/jwt`.
async fn pay(
    State(api): State<Instance>,
    Path(program): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match api
        .verifier
        .verify_request_for::<serde_json::Value>(&program, content_type, &body)
        .await
    {
        Ok(payment) => (
            StatusCode::OK,
            format!("paid {}", payment.payload()["amount"]),
        ),
        Err(e @ Error::Unavailable { .. }) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => (StatusCode::UNAUTHORIZED, e.to_string()),
    }
}

/// `POST /programs/{program}/keys/{kid}`, body: the public key as PEM (RS256).
async fn add_key(
    State(api): State<Instance>,
    Path((program, kid)): Path<(String, String)>,
    pem: String,
) -> (StatusCode, String) {
    let added = async {
        let key = VerificationKey::new(kid, PublicKey::from_pem(&pem)?, Algorithm::RS256)?;
        api.store.add_key(&program, &key, "admin@instance-a").await
    };
    match added.await {
        Ok(()) => (StatusCode::CREATED, "added".into()),
        Err(e) => (StatusCode::CONFLICT, e.to_string()),
    }
}

/// `DELETE /programs/{program}/keys/{kid}`: retires the key.
async fn retire_key(
    State(api): State<Instance>,
    Path((program, kid)): Path<(String, String)>,
) -> (StatusCode, String) {
    match api
        .store
        .retire_key(&program, &kid, "admin@instance-a")
        .await
    {
        Ok(()) => (StatusCode::OK, "retired".into()),
        Err(e) => (StatusCode::CONFLICT, e.to_string()),
    }
}

async fn serve(api: Instance) -> std::io::Result<String> {
    let app = Router::new()
        .route("/programs/{program}/payments", post(pay))
        .route("/programs/{program}/keys/{kid}", post(add_key))
        .route("/programs/{program}/keys/{kid}", delete(retire_key))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Redis at `url`; over TLS verified with the CA file in
/// `SIGNED_PAYLOADS_REDIS_CA` when that is set (scripts/services.sh sets it).
async fn redis_store(url: &str) -> Result<RedisNonceStore, Error> {
    match std::env::var("SIGNED_PAYLOADS_REDIS_CA") {
        Ok(ca) => {
            let ca = std::fs::read(&ca)
                .map_err(|e| Error::Config(format!("cannot read the Redis CA file {ca}: {e}")))?;
            RedisNonceStore::connect_with_ca_pem(url, &ca, Duration::from_secs(2)).await
        }
        Err(_) => RedisNonceStore::connect(url).await,
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} is not set; start the services first: eval \"$(scripts/services.sh start)\""
        )
    })
}

struct Steps {
    failed: usize,
}

impl Steps {
    fn check(&mut self, what: &str, ok: bool, detail: &str) {
        println!("{} {what}: {detail}", if ok { "ok  " } else { "FAIL" });
        self.failed += usize::from(!ok);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let postgres = env("SIGNED_PAYLOADS_POSTGRES_URL")?;
    let redis = env("SIGNED_PAYLOADS_REDIS_URL")?;
    // The deployment's one-time steps. As the schema's owner: the schema,
    // and the application role's grants (no DELETE, TRUNCATE or DDL).
    let owner = std::env::var("SIGNED_PAYLOADS_POSTGRES_OWNER_URL").ok();
    if let Some(owner) = &owner {
        let schema = PostgresKeyStore::connect(owner).await?;
        schema.migrate().await?;
        schema
            .grant_access(url::Url::parse(&postgres)?.username())
            .await?;
    } else {
        PostgresKeyStore::connect(&postgres)
            .await?
            .migrate()
            .await?;
    }
    // And this Redis starts with no records to lose. Instances never do
    // this at start-up; one that finds the marker gone treats it as a loss.
    redis_store(&redis)
        .await?
        .with_prefix(NONCE_PREFIX)
        .declare_new()
        .await?;
    let a = serve(instance(&postgres, &redis).await?).await?;
    let b = serve(instance(&postgres, &redis).await?).await?;
    println!("instance A: {a}\ninstance B: {b}");

    // A new program id each run, so the example can run again and again.
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let program = format!("program-{}", started.as_millis());
    let http = reqwest::Client::new();
    let mut steps = Steps { failed: 0 };

    let add = |base: &str, kid: &str, key: &PrivateKey| {
        http.post(format!("{base}/programs/{program}/keys/{kid}"))
            .body(key.public_key().to_pem())
            .send()
    };
    let signer = |kid: &str, key: PrivateKey| {
        Ok::<_, signed_payloads::Error>(
            RequestSigner::new(Arc::new(
                KeySigner::new(key, Algorithm::RS256)?.with_key_id(kid),
            ))
            .with_ttl(Duration::from_secs(120))
            .with_jti(),
        )
    };
    let pay = |base: &str, token: String| {
        let request = http
            .post(format!("{base}/programs/{program}/payments"))
            .header(header::CONTENT_TYPE, "application/jwt")
            .body(token);
        async move {
            let response = request.send().await?;
            Ok::<_, reqwest::Error>((response.status(), response.text().await?))
        }
    };

    // 1. Register the program's first key through instance A.
    let first = PrivateKey::generate(2048)?;
    let status = add(&a, "key-1", &first).await?.status();
    steps.check(
        "register key-1 on A",
        status == StatusCode::CREATED,
        status.as_str(),
    );
    let first_signer = signer("key-1", first)?;

    // 2. A payment accepted by A; its replay to B refused through Redis.
    let token = first_signer.sign_json(br#"{"amount":1250,"currency":"EUR"}"#)?;
    let (status, text) = pay(&a, token.clone()).await?;
    steps.check("payment on A", status == StatusCode::OK, &text);
    let (status, text) = pay(&b, token).await?;
    steps.check(
        "same token replayed to B",
        status == StatusCode::UNAUTHORIZED,
        &text,
    );

    // 3. Rotate through A: add key-2, retire key-1.
    let second = PrivateKey::generate(2048)?;
    let status = add(&a, "key-2", &second).await?.status();
    steps.check(
        "register key-2 on A",
        status == StatusCode::CREATED,
        status.as_str(),
    );
    let retired = http
        .delete(format!("{a}/programs/{program}/keys/key-1"))
        .send()
        .await?
        .status();
    steps.check(
        "retire key-1 on A",
        retired == StatusCode::OK,
        retired.as_str(),
    );
    let second_signer = signer("key-2", second)?;

    // B learns of the rotation within its cache TTL.
    let rotated = Instant::now();
    let mut accepted = None;
    while rotated.elapsed() < KEY_CACHE_TTL * 3 {
        let token = second_signer.sign_json(br#"{"amount":990}"#)?;
        if pay(&b, token).await?.0 == StatusCode::OK {
            accepted = Some(rotated.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    steps.check(
        "B accepts key-2",
        accepted.is_some_and(|after| after <= KEY_CACHE_TTL + Duration::from_millis(500)),
        &format!("after {accepted:?} (cache TTL {KEY_CACHE_TTL:?})"),
    );
    let token = first_signer.sign_json(br#"{"amount":1}"#)?;
    let (status, text) = pay(&b, token).await?;
    steps.check(
        "B refuses retired key-1",
        status == StatusCode::UNAUTHORIZED,
        &text,
    );

    if steps.failed > 0 {
        return Err(format!("{} step(s) failed", steps.failed).into());
    }
    Ok(())
}
