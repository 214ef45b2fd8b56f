//! Property tests: random payloads, headers and keys round-trip; any single
//! byte changed in a token, body, status or nonce is refused.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, Header, KeyRegistry, KeySigner, KeyVerifier, Limits, PrivateKey, VerificationKey,
    jws,
};

/// Three distinct keys, loaded once (RSA key loading is not what is tested here).
fn keys() -> &'static [PrivateKey; 3] {
    static KEYS: OnceLock<[PrivateKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap(),
            PrivateKey::from_pem(include_str!("data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap(),
            PrivateKey::from_jwk(include_str!("data/cookbook/3_4.rsa_private_key.json")).unwrap(),
        ]
    })
}

fn signer(key: usize, alg: Algorithm) -> KeySigner {
    let pem = keys()[key].secret_pkcs8_pem();
    KeySigner::new(PrivateKey::from_pem(&pem).unwrap(), alg).unwrap()
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(
        Algorithm::ALL
            .into_iter()
            .filter(|a| a.fits(signed_payloads::KeyKind::Rsa))
            .collect::<Vec<_>>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_returns_the_payload(
        payload in prop::collection::vec(any::<u8>(), 0..2048),
        key in 0usize..3,
        alg in algorithm(),
        kid in proptest::option::of("[ -~]{0,40}"),
        typ in proptest::option::of("[A-Za-z/+.-]{1,20}"),
        detached in any::<bool>(),
    ) {
        let s = signer(key, alg);
        let mut header = Header::new(alg);
        header.kid = kid.clone();
        header.typ = typ.clone();
        let v = KeyVerifier::new(keys()[key].public_key().clone(), alg).unwrap();
        let verified = if detached {
            let token = jws::sign_detached(&header, &payload, &s).unwrap();
            jws::verify_detached(&token, &payload, &v, &Limits::default()).unwrap()
        } else {
            let token = jws::sign(&header, &payload, &s).unwrap();
            jws::verify(&token, &v, &Limits::default()).unwrap()
        };
        prop_assert_eq!(verified.payload(), &payload);
        prop_assert_eq!(verified.header().unwrap().kid.clone(), kid);
        prop_assert_eq!(verified.header().unwrap().typ.clone(), typ);
    }

    #[test]
    fn any_single_byte_change_to_a_token_is_refused(
        payload in prop::collection::vec(any::<u8>(), 1..512),
        alg in algorithm(),
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let s = signer(0, alg);
        let token = jws::sign(&Header::new(alg).with_kid("k"), &payload, &s).unwrap();
        let mut bytes = token.into_bytes();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != replacement);
        bytes[at] = replacement;
        let registry = KeyRegistry::new(VerificationKey::new("k", keys()[0].public_key().clone(), alg).unwrap());
        let outcome = match String::from_utf8(bytes) {
            Ok(tampered) => registry.snapshot().verify(&tampered, &Limits::default()).map(|_| ()),
            Err(_) => Err(signed_payloads::Error::BadSignature),
        };
        prop_assert!(outcome.is_err());
    }

    #[test]
    fn any_change_to_a_signed_response_is_refused(
        body in prop::collection::vec(any::<u8>(), 0..512),
        status in 100u16..600,
        what in 0usize..3,
        position in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let key = &keys()[1];
        let signer = ResponseSigner::new(Arc::new(signer(1, Algorithm::PS384).with_key_id("api")));
        let registry = KeyRegistry::new(VerificationKey::new("api", key.public_key().clone(), Algorithm::PS384).unwrap());
        let verifier = ResponseVerifier::new(Arc::new(registry));
        let signed = signer.sign_headers(status, &body).unwrap();
        prop_assert!(verifier.verify_headers(status, signed.iter(), &body).is_ok());
        let mut headers: Vec<(String, Vec<u8>)> = signed.iter().map(|(n, v)| (n.to_owned(), v.as_bytes().to_vec())).collect();
        let (status, body) = match what {
            0 if !body.is_empty() => {
                let mut body = body.clone();
                let at = position.index(body.len());
                body[at] ^= flip;
                (status, body)
            }
            0 | 1 => (if status == 599 { 100 } else { status + 1 }, body),
            _ => {
                let token = &mut headers[1].1;
                let at = position.index(token.len());
                token[at] ^= flip;
                (status, body)
            }
        };
        prop_assert!(verifier.verify_headers(status, headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())), &body).is_err());
    }
}
