//! Key parsing: any bytes as PEM, DER, base64 DER, JWK, JWKS or a
//! key-exchange response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signed_payloads::{Algorithm, Jwk, JwkSet, KeyRegistry, PrivateKey, PublicKey, VerificationKey};

fuzz_target!(|data: &[u8]| {
    let _ = PrivateKey::parse(data);
    let _ = PublicKey::parse(data);
    let _ = PrivateKey::from_der(data);
    let _ = PublicKey::from_der(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PrivateKey::from_pem(text);
        let _ = PublicKey::from_pem(text);
        let _ = PublicKey::from_base64_der(text);
        let _ = PrivateKey::from_jwk(text);
        let _ = Jwk::from_json(text);
        let _ = JwkSet::from_json(text);
        let _ = KeyRegistry::from_jwks(text, Algorithm::RS256);
        let _ = VerificationKey::from_key_exchange(text, Algorithm::PS384);
    }
});
