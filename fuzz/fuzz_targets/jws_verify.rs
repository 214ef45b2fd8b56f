//! Compact JWS decode and verify: any bytes as a token, through the registry,
//! the JWT profile and the unverified decoder. Nothing may panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use signed_payloads::request::RequestVerifier;
use signed_payloads::{Algorithm, KeyRegistry, Limits, PrivateKey, VerificationKey, dangerous};

fn verifier() -> &'static RequestVerifier {
    static VERIFIER: OnceLock<RequestVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let a = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let b = PrivateKey::from_pem(include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
        let registry = KeyRegistry::from_keys([
            VerificationKey::new("a", a.public_key().clone(), Algorithm::RS256).unwrap(),
            VerificationKey::new("b", b.public_key().clone(), Algorithm::PS384).unwrap(),
        ])
        .unwrap();
        RequestVerifier::new(Arc::new(registry))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        let _ = verifier().verify_request::<serde_json::Value>(Some("application/jwt"), data);
        return;
    };
    let _ = verifier().verify_bytes(token);
    let _ = verifier().keys().snapshot().verify(token, &Limits::default());
    let _ = dangerous::decode_unverified(token, &Limits::default());
});
