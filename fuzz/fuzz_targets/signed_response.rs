//! Response header mode past the signature: body, status and the headers'
//! spelling come from the input, signed with a test key, then verified as
//! sent or with one change. Oracle: unchanged verifies (once, with a replay
//! store); any change to body, status, token or signature is refused.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{Algorithm, Error, KeyRegistry, MemoryNonceStore, PrivateKey, RsaSigner, VerificationKey};

struct Parts {
    signer: ResponseSigner,
    registry: Arc<KeyRegistry>,
}

fn parts() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| {
        let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let registry = KeyRegistry::new(
            VerificationKey::new("api-1", key.public_key().clone(), Algorithm::PS384).unwrap(),
        );
        Parts {
            signer: ResponseSigner::new(Arc::new(RsaSigner::new(key, Algorithm::PS384).with_key_id("api-1"))),
            registry: Arc::new(registry),
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Change {
    None,
    Body(usize, u8),
    Status(u16),
    /// Replace a header's value.
    Value(u8, String),
    /// Send a header twice.
    Duplicate(u8),
    /// Drop a header.
    Drop(u8),
    /// Upper-case every header name (allowed: names match case-insensitively).
    Case,
}

#[derive(Arbitrary, Debug)]
struct Input {
    body: Vec<u8>,
    status: u16,
    change: Change,
    extra: Vec<(String, String)>,
}

fuzz_target!(|input: Input| {
    let parts = parts();
    let signed = parts.signer.sign_headers(input.status, &input.body).unwrap();
    let mut headers: Vec<(String, String)> = signed.iter().map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    headers.extend(input.extra.iter().cloned());
    let (mut body, mut status) = (input.body.clone(), input.status);
    let mut changed = true;
    match &input.change {
        Change::None => changed = false,
        Change::Case => {
            changed = false;
            for (name, _) in &mut headers {
                *name = name.to_ascii_uppercase();
            }
        }
        Change::Body(at, byte) => match body.get_mut(at % input.body.len().max(1)) {
            Some(b) if b != byte => *b = *byte,
            Some(_) => changed = false,
            None => body.push(*byte),
        },
        Change::Status(new) => {
            changed = *new != status;
            status = *new;
        }
        Change::Value(which, value) => {
            let slot = usize::from(*which) % 3;
            changed = headers[slot].1 != *value;
            headers[slot].1 = value.clone();
        }
        Change::Duplicate(which) => {
            let copy = headers[usize::from(*which) % 3].clone();
            headers.push(copy);
        }
        Change::Drop(which) => {
            headers.remove(usize::from(*which) % 3);
        }
    }
    // Extra headers that repeat a signature header's name count as a change.
    let names: Vec<String> = signed.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    if input.extra.iter().any(|(n, _)| names.contains(&n.to_ascii_lowercase())) {
        changed = true;
    }
    let verifier = ResponseVerifier::new(Arc::clone(&parts.registry))
        .with_replay_store(Arc::new(MemoryNonceStore::new(4)), Duration::from_secs(60));
    let outcome = verifier.verify_headers(status, headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())), &body);
    if changed {
        assert!(outcome.is_err(), "a changed response verified: {:?}", input.change);
    } else {
        let verified = outcome.unwrap();
        assert_eq!(verified.payload(), &body);
        let again = verifier.verify_headers(status, headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())), &body);
        assert!(matches!(again, Err(Error::Replayed)));
    }
});
