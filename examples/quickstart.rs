//! Quick start: generate an ephemeral RSA key pair, sign a sample payload as
//! an RS256 JWT, verify it, and show a tampered copy being rejected.
//!
//! Run with `cargo run --example quickstart`.

use signed_payloads::{
    Algorithm, Header, KeySet, KeySigner, Limits, PrivateKey, VerificationKey, jws,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let private_key = PrivateKey::generate(2048)?;
    let public_key = private_key.public_key().clone();
    let kid = public_key.thumbprint();
    println!("generated a {}-bit RSA key, kid {kid}", public_key.bits());

    let signer = KeySigner::new(private_key, Algorithm::RS256)?.with_key_id(kid.clone());
    let payload = br#"{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}"#;
    let token = jws::sign(
        &Header::for_signer(&signer).with_typ("JWT"),
        payload,
        &signer,
    )?;
    println!(
        "signed {} payload bytes into a {}-byte RS256 token",
        payload.len(),
        token.len()
    );

    // The verifying side registers the public key under its id; the
    // token's kid picks it.
    let keys = KeySet::new([VerificationKey::new(kid, public_key, Algorithm::RS256)?])?;
    let limits = Limits::default();
    let verified = keys.verify(&token, &limits)?;
    println!(
        "verified by key {}, payload {}",
        verified.key_id().unwrap_or("(none)"),
        String::from_utf8_lossy(verified.payload())
    );

    // Flip one character of the payload segment and try again.
    let first_dot = token.find('.').ok_or("token has no dot")?;
    let mut tampered = token.into_bytes();
    let at = first_dot + 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered)?;
    match keys.verify(&tampered, &limits) {
        Ok(_) => return Err("a tampered token verified".into()),
        Err(e) => println!("tampered copy rejected: {e}"),
    }
    Ok(())
}
