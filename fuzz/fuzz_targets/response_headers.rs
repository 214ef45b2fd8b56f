//! Response verification: the input is split into a status, header lines and
//! a body, and verified in header mode; the whole input is also tried as an
//! embedded (possibly encrypted) response.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use signed_payloads::jwe::RsaDecrypter;
use signed_payloads::MemoryNonceStore;
use signed_payloads::response::ResponseVerifier;
use signed_payloads::{Algorithm, KeyRegistry, PrivateKey, VerificationKey};

fn verifier() -> &'static ResponseVerifier {
    static VERIFIER: OnceLock<ResponseVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let registry = KeyRegistry::new(VerificationKey::new("api-1", key.public_key().clone(), Algorithm::PS384).unwrap());
        ResponseVerifier::new(Arc::new(registry))
            .with_replay_store(Arc::new(MemoryNonceStore::new(64)), std::time::Duration::from_secs(60))
            .with_decrypter(Arc::new(RsaDecrypter::new(&key).unwrap()))
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = verifier().verify_embedded(data);
    if data.len() < 2 {
        return;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let rest = &data[2..];
    let split = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let (head, body) = rest.split_at(split);
    let headers: Vec<(&[u8], &[u8])> = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            Some((&line[..colon], &line[colon + 1..]))
        })
        .collect();
    let named: Vec<(String, &[u8])> =
        headers.into_iter().map(|(n, v)| (String::from_utf8_lossy(n).into_owned(), v)).collect();
    let _ = verifier().verify_headers(status, named, body.get(1..).unwrap_or_default());
});
