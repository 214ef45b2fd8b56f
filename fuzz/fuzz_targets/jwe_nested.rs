//! Embedded mode with message-level encryption: the plaintext and the
//! nesting order come from the input, the token is made with test keys,
//! then verified as made or with one byte changed. Oracle: as made it
//! verifies and decrypts to the plaintext; changed, it is refused.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use signed_payloads::jwe::{RsaDecrypter, RsaEncrypter};
use signed_payloads::response::{NestingOrder, ResponseSigner, ResponseVerifier};
use signed_payloads::{Algorithm, Encryption, KeyRegistry, PrivateKey, RsaSigner, VerificationKey};

struct Parts {
    signed_jwe: ResponseSigner,
    encrypted_jws: ResponseSigner,
    verifier: ResponseVerifier,
}

fn parts() -> &'static Parts {
    static PARTS: OnceLock<Parts> = OnceLock::new();
    PARTS.get_or_init(|| {
        let api = || PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let client = PrivateKey::from_pem(include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
        let signer = |order| {
            ResponseSigner::new(Arc::new(RsaSigner::new(api(), Algorithm::PS384).with_key_id("api-1")))
                .with_encryption(RsaEncrypter::new(client.public_key()).unwrap(), order)
        };
        let registry = KeyRegistry::new(
            VerificationKey::new("api-1", api().public_key().clone(), Algorithm::PS384).unwrap(),
        );
        Parts {
            signed_jwe: signer(NestingOrder::SignedJwe),
            encrypted_jws: signer(NestingOrder::EncryptedJws),
            verifier: ResponseVerifier::new(Arc::new(registry))
                .with_decrypter(Arc::new(RsaDecrypter::new(&client).unwrap())),
        }
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    plaintext: Vec<u8>,
    encrypted_jws: bool,
    change: Option<(usize, u8)>,
}

fuzz_target!(|input: Input| {
    let parts = parts();
    let signer = if input.encrypted_jws { &parts.encrypted_jws } else { &parts.signed_jwe };
    let token = signer.sign_embedded(&input.plaintext).unwrap().into_bytes();
    match input.change {
        None => {
            let verified = parts.verifier.verify_embedded(&token).unwrap();
            assert_eq!(verified.payload(), &input.plaintext);
            assert_eq!(verified.encryption(), Encryption::Decrypted);
        }
        Some((at, byte)) => {
            let mut changed = token.clone();
            let at = at % changed.len();
            if changed[at] == byte {
                return;
            }
            changed[at] = byte;
            assert!(
                parts.verifier.verify_embedded(&changed).is_err(),
                "a changed token verified (byte {at})"
            );
        }
    }
});
