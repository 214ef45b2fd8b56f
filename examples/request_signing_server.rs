//! The program's signing service on its own: `POST /sign` takes a client's
//! create-user JSON, checks the caller's API key and the payload, and
//! answers `{"token": "<RS256 JWT>"}`.
//!
//! ```sh
//! cargo run --example request_signing_server -- [--key private.pem] [--kid KID] [--port PORT]
//! curl -s localhost:PORT/sign -H 'x-api-key: demo-api-key' -H 'content-type: application/json' \
//!      -d '{"data_points":{"type":"list","data":[{"type":"phone","phone_number":"2105555555"},{"type":"name","first_name":"Tony","last_name":"Stark"}]}}'
//! ```
//!
//! Without `--key` it generates an ephemeral key. The API key is
//! `SIGNING_API_KEY` from the environment, or `demo-api-key`. It prints the
//! public key as a JWKS, for the verifying API to register. Stop it with Ctrl-C.

#[path = "support/signing_service.rs"]
mod signing_service;

use std::sync::Arc;
use std::time::Duration;

use signed_payloads::request::RequestSigner;
use signed_payloads::{Algorithm, JwkSet, KeySigner, PrivateKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut key_path = None;
    let mut kid = None;
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--key" => key_path = Some(value()?),
            "--kid" => kid = Some(value()?),
            "--port" => port = value()?.parse()?,
            other => {
                return Err(
                    format!("unknown argument {other}; see the example's doc comment").into(),
                );
            }
        }
    }
    let key = match &key_path {
        Some(path) => PrivateKey::parse(&std::fs::read(path)?)?,
        None => PrivateKey::generate(2048)?,
    };
    let kid = kid.unwrap_or_else(|| key.public_key().thumbprint());
    let jwks = JwkSet::new(vec![
        key.public_key()
            .to_jwk()
            .with_kid(&kid)
            .with_alg(Algorithm::RS256)
            .for_signatures(),
    ]);
    let signer = RequestSigner::new(Arc::new(
        KeySigner::new(key, Algorithm::RS256)?.with_key_id(kid),
    ))
    .with_ttl(Duration::from_secs(300));
    let api_key = std::env::var("SIGNING_API_KEY").unwrap_or_else(|_| "demo-api-key".to_owned());

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let router =
            signing_service::router(signer, signing_service::create_user_approval(api_key));
        let address = signing_service::serve(router, port).await?;
        println!("signing service listening on http://{address}/sign");
        println!(
            "public key to register with the API (JWKS): {}",
            jwks.to_json()
        );
        tokio::signal::ctrl_c().await?;
        println!("stopped");
        Ok(())
    })
}
