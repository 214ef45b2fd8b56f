//! Compact JWS of every key kind, both ways with an independent peer (Node
//! `jose`, PyJWT): the crate signs and the peer verifies, the peer signs
//! and the crate verifies, and each side refuses a token with one bit of
//! its signature changed. The peer reads the keys as the crate exports
//! them (PKCS#8 and SubjectPublicKeyInfo PEM).

use std::path::{Path, PathBuf};

use signed_payloads::{Algorithm, Error, Header, KeySigner, KeyVerifier, Limits, PrivateKey, jws};

/// What a peer does: sign `(alg, pkcs8 file, kid, payload)` and verify
/// `(alg, spki file, token)`; `Err` carries the peer's refusal.
pub(crate) trait Peer {
    fn name(&self) -> &str;
    fn sign(
        &self,
        alg: Algorithm,
        pkcs8: &Path,
        kid: &str,
        payload: &[u8],
    ) -> Result<String, String>;
    fn verify(&self, alg: Algorithm, spki: &Path, token: &str) -> Result<Vec<u8>, String>;
}

/// The algorithms and the committed key each is tried with (ring has no P-521).
fn cases() -> Vec<(Algorithm, &'static str)> {
    let mut cases = vec![
        (Algorithm::RS256, "rsa2048.pkcs8.pem"),
        (Algorithm::PS256, "rsa2048.pkcs8.pem"),
        (Algorithm::ES256, "ec-p256.pem"),
        (Algorithm::ES384, "ec-p384.pem"),
        (Algorithm::EdDSA, "ed25519.pkcs8.pem"),
    ];
    if signed_payloads::ACTIVE_BACKEND != "ring" {
        cases.push((Algorithm::ES512, "ec-p521.pkcs8.pem"));
    }
    cases
}

fn flip_signature_bit(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = token.rfind('.').unwrap() + 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

pub(crate) fn both_ways(peer: &dyn Peer) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("interop-{}", peer.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let payload = br#"{"amount":"12.50","currency":"EUR","note":"caf\u00e9 \ud83d\ude00"}"#;
    let limits = Limits::default();
    for (alg, file) in cases() {
        let pem = std::fs::read_to_string(root.join("tests/data/keys").join(file)).unwrap();
        let key = PrivateKey::from_pem(&pem).unwrap();
        let pkcs8 = dir.join(format!("{alg}.pkcs8.pem"));
        let spki = dir.join(format!("{alg}.spki.pem"));
        std::fs::write(&pkcs8, key.secret_pkcs8_pem().as_bytes()).unwrap();
        std::fs::write(&spki, key.public_key().to_pem()).unwrap();
        let verifier = KeyVerifier::new(key.public_key().clone(), alg).unwrap();
        let signer = KeySigner::new(key, alg).unwrap().with_key_id("k1");

        let ours = jws::sign(&Header::for_signer(&signer), payload, &signer).unwrap();
        let seen = peer.verify(alg, &spki, &ours);
        assert_eq!(
            seen.as_deref(),
            Ok(&payload[..]),
            "{}: {alg} signed here",
            peer.name()
        );
        assert!(
            peer.verify(alg, &spki, &flip_signature_bit(&ours)).is_err(),
            "{}: {alg}: a changed signature was accepted",
            peer.name()
        );

        let theirs = peer.sign(alg, &pkcs8, "k1", payload).unwrap();
        let verified = jws::verify(&theirs, &verifier, &limits)
            .unwrap_or_else(|e| panic!("{}: {alg} signed there: {e}", peer.name()));
        assert_eq!(verified.payload(), payload);
        assert!(matches!(
            jws::verify(&flip_signature_bit(&theirs), &verifier, &limits),
            Err(Error::BadSignature)
        ));
        eprintln!("{}: {alg} both ways", peer.name());
    }
}
