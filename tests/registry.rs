//! The key registry rules, JWKS and key-exchange import, the signing-side
//! choice of key, rotation under concurrent verification, and the
//! Wycheproof key-set cases.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use signed_payloads::response::ResponseVerifier;
use signed_payloads::{
    Algorithm, Error, FixedClock, Header, KeyRegistry, KeySigner, Limits, PrivateKey, PublicKey,
    Signer, SigningKeys, VerificationKey, Verified, jws,
};

fn data(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Three distinct 2048-bit keys from the test data.
fn private(which: char) -> PrivateKey {
    match which {
        'a' => PrivateKey::from_pem(&data("keys/rsa2048.pkcs8.pem")).unwrap(),
        'b' => PrivateKey::from_pem(&data("rfc7515/A2.rsa_private_pkcs8.pem")).unwrap(),
        'c' => PrivateKey::from_jwk(&data("cookbook/3_4.rsa_private_key.json")).unwrap(),
        _ => unreachable!(),
    }
}

fn public(which: char) -> PublicKey {
    private(which).public_key().clone()
}

fn key(kid: &str, which: char, alg: Algorithm) -> VerificationKey {
    VerificationKey::new(kid, public(which), alg).unwrap()
}

/// A token signed by key `which`, with header `kid` (or none).
fn token(which: char, kid: Option<&str>, alg: Algorithm) -> String {
    let signer = KeySigner::new(private(which), alg).unwrap();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jws::sign(&header, br#"{"sub":"ada"}"#, &signer).unwrap()
}

fn limits() -> Limits {
    Limits::default()
}

/// The plain JWS check of a registry's current keys.
trait VerifyJws {
    fn verify(&self, token: &str, limits: &Limits) -> Result<Verified<Vec<u8>>, Error>;
}

impl VerifyJws for KeyRegistry {
    fn verify(&self, token: &str, limits: &Limits) -> Result<Verified<Vec<u8>>, Error> {
        self.snapshot().verify(token, limits)
    }
}

#[test]
fn at_most_two_keys_and_never_none() {
    let registry = KeyRegistry::new(key("a", 'a', Algorithm::RS256));
    assert!(matches!(registry.remove("a"), Err(Error::LastKey)));
    registry.add(key("b", 'b', Algorithm::RS256)).unwrap();
    let err = registry.add(key("c", 'c', Algorithm::RS256)).unwrap_err();
    assert!(matches!(err, Error::KeyLimit { limit: 2 }), "{err}");
    assert!(err.to_string().contains('2'));
    assert!(matches!(registry.remove("zz"), Err(Error::UnknownKeyId(_))));
    registry.remove("a").unwrap();
    assert_eq!(registry.key_ids(), ["b"]);
    assert!(matches!(registry.remove("b"), Err(Error::LastKey)));
    assert!(matches!(KeyRegistry::from_keys([]), Err(Error::Config(_))));
    let three = [
        key("a", 'a', Algorithm::RS256),
        key("b", 'b', Algorithm::RS256),
        key("c", 'c', Algorithm::RS256),
    ];
    assert!(matches!(
        KeyRegistry::from_keys(three),
        Err(Error::KeyLimit { .. })
    ));
}

#[test]
fn ids_are_unique_and_never_rebound() {
    let registry = KeyRegistry::new(key("a", 'a', Algorithm::RS256));
    assert!(matches!(
        registry.add(key("a", 'b', Algorithm::RS256)),
        Err(Error::DuplicateKeyId(_))
    ));
    assert!(matches!(
        registry.add(key("a", 'a', Algorithm::RS256)),
        Err(Error::DuplicateKeyId(_))
    ));
    registry.add(key("b", 'b', Algorithm::RS256)).unwrap();
    registry.remove("a").unwrap();
    // "a" was key A: it cannot come back as key C, nor as key A under another algorithm.
    assert!(matches!(
        registry.add(key("a", 'c', Algorithm::RS256)),
        Err(Error::KeyIdReused(_))
    ));
    assert!(matches!(
        registry.add(key("a", 'a', Algorithm::PS256)),
        Err(Error::KeyIdReused(_))
    ));
    // The same key under the same id may return.
    registry.add(key("a", 'a', Algorithm::RS256)).unwrap();
    // replace() keeps the rules too, and leaves the set unchanged on error.
    assert!(matches!(
        registry.replace("a", key("b", 'c', Algorithm::RS256)),
        Err(Error::DuplicateKeyId(_))
    ));
    assert!(matches!(
        registry.replace("b", key("a", 'c', Algorithm::RS256)),
        Err(Error::DuplicateKeyId(_))
    ));
    assert_eq!(registry.key_ids(), ["b", "a"]);
    assert!(matches!(
        registry.replace("nope", key("c", 'c', Algorithm::RS256)),
        Err(Error::UnknownKeyId(_))
    ));
    registry
        .replace("b", key("c", 'c', Algorithm::RS256))
        .unwrap();
    assert_eq!(registry.key_ids(), ["c", "a"]);
    assert!(VerificationKey::new("", public('a'), Algorithm::RS256).is_err());
}

#[test]
fn kid_selects_exactly_one_key_with_no_fallback() {
    let registry = KeyRegistry::from_keys([
        key("k1", 'a', Algorithm::RS256),
        key("k2", 'b', Algorithm::RS256),
    ])
    .unwrap();
    assert_eq!(
        registry
            .verify(&token('a', Some("k1"), Algorithm::RS256), &limits())
            .unwrap()
            .key_id(),
        Some("k1")
    );
    assert_eq!(
        registry
            .verify(&token('b', Some("k2"), Algorithm::RS256), &limits())
            .unwrap()
            .key_id(),
        Some("k2")
    );
    // Signed by A but naming k2: checked against k2 only, so it fails; k1 is not tried.
    assert!(matches!(
        registry.verify(&token('a', Some("k2"), Algorithm::RS256), &limits()),
        Err(Error::BadSignature)
    ));
    for kid in [
        "K1",
        "k1 ",
        " k1",
        "k1\0",
        "k",
        "",
        "k1\u{200b}",
        "../k1",
        "k1' OR '1'='1",
    ] {
        let err = registry
            .verify(&token('a', Some(kid), Algorithm::RS256), &limits())
            .unwrap_err();
        assert!(matches!(err, Error::UnknownKeyId(_)), "{kid:?}: {err}");
    }
    let long = "k".repeat(10_000);
    let err = registry
        .verify(&token('a', Some(&long), Algorithm::RS256), &limits())
        .unwrap_err();
    assert!(err.to_string().len() < 100, "{err}");
}

#[test]
fn tokens_without_kid_try_each_key_unless_kid_is_required() {
    let registry = KeyRegistry::from_keys([
        key("k1", 'a', Algorithm::RS256),
        key("k2", 'b', Algorithm::RS256),
    ])
    .unwrap();
    assert_eq!(
        registry
            .verify(&token('a', None, Algorithm::RS256), &limits())
            .unwrap()
            .key_id(),
        Some("k1")
    );
    assert_eq!(
        registry
            .verify(&token('b', None, Algorithm::RS256), &limits())
            .unwrap()
            .key_id(),
        Some("k2")
    );
    assert!(matches!(
        registry.verify(&token('c', None, Algorithm::RS256), &limits()),
        Err(Error::BadSignature)
    ));
    let strict =
        ResponseVerifier::new(Arc::new(KeyRegistry::new(key("k1", 'a', Algorithm::RS256))))
            .require_kid(true);
    assert!(matches!(
        strict.verify_embedded(token('a', None, Algorithm::RS256).as_bytes()),
        Err(Error::MissingKeyId)
    ));
    assert!(
        strict
            .verify_embedded(token('a', Some("k1"), Algorithm::RS256).as_bytes())
            .is_ok()
    );
}

#[test]
fn each_key_verifies_only_its_algorithm() {
    let registry = KeyRegistry::from_keys([
        key("rs", 'a', Algorithm::RS256),
        key("ps", 'b', Algorithm::PS384),
    ])
    .unwrap();
    let err = registry
        .verify(&token('a', Some("rs"), Algorithm::PS256), &limits())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmMismatch {
                token: Algorithm::PS256,
                key: Algorithm::RS256
            }
        ),
        "{err}"
    );
    let err = registry
        .verify(&token('b', Some("ps"), Algorithm::RS384), &limits())
        .unwrap_err();
    assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err}");
    // Without kid, only keys of the token's algorithm are candidates.
    assert_eq!(
        registry
            .verify(&token('b', None, Algorithm::PS384), &limits())
            .unwrap()
            .key_id(),
        Some("ps")
    );
    let err = registry
        .verify(&token('a', None, Algorithm::RS512), &limits())
        .unwrap_err();
    assert!(matches!(err, Error::AlgorithmMismatch { .. }), "{err}");
}

#[test]
fn expired_keys_do_not_verify() {
    let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
    let registry = Arc::new(
        KeyRegistry::from_keys([
            key("old", 'a', Algorithm::RS256).with_expiry(at(1_000)),
            key("new", 'b', Algorithm::RS256).with_expiry(at(5_000)),
        ])
        .unwrap(),
    );
    let verify = |now, token: &str| {
        ResponseVerifier::new(Arc::clone(&registry))
            .with_clock(Arc::new(FixedClock::new(at(now))))
            .verify_embedded(token.as_bytes())
    };
    let old = token('a', Some("old"), Algorithm::RS256);
    assert!(verify(999, &old).is_ok());
    // A key stops verifying at its expiry instant, as a signing key stops signing.
    assert!(matches!(verify(1_000, &old), Err(Error::KeyExpired(_))));
    assert!(matches!(verify(1_001, &old), Err(Error::KeyExpired(_))));
    // Without kid, an expired key is skipped; a token its signature matches
    // is reported as signed by an expired key, not as a bad signature.
    assert!(matches!(
        verify(2_000, &token('a', None, Algorithm::RS256)),
        Err(Error::KeyExpired(_))
    ));
    assert!(matches!(
        verify(2_000, &token('c', None, Algorithm::RS256)),
        Err(Error::BadSignature)
    ));
    assert_eq!(
        verify(2_000, &token('b', None, Algorithm::RS256))
            .unwrap()
            .key_id(),
        Some("new")
    );
    let only_old = ResponseVerifier::new(Arc::new(KeyRegistry::new(
        key("old", 'a', Algorithm::RS256).with_expiry(at(1_000)),
    )))
    .with_clock(Arc::new(FixedClock::new(at(2_000))));
    assert!(matches!(
        only_old.verify_embedded(token('a', None, Algorithm::RS256).as_bytes()),
        Err(Error::KeyExpired(_))
    ));
}

#[test]
fn signing_side_picks_the_latest_unexpired_key() {
    let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
    let signer = |which, kid: &str| -> Arc<dyn Signer> {
        Arc::new(
            KeySigner::new(private(which), Algorithm::PS384)
                .unwrap()
                .with_key_id(kid),
        )
    };
    let keys = |now| {
        let keys = SigningKeys::new().with_clock(Arc::new(FixedClock::new(at(now))));
        keys.add(signer('a', "early"), Some(at(1_000))).unwrap();
        keys.add(signer('b', "late"), Some(at(3_000))).unwrap();
        keys.add(signer('c', "middle"), Some(at(2_000))).unwrap();
        keys
    };
    assert_eq!(keys(500).current().unwrap().key_id(), Some("late"));
    assert_eq!(keys(2_500).current().unwrap().key_id(), Some("late"));
    assert!(matches!(keys(3_000).current(), Err(Error::NoSigningKey)));
    let k = keys(500);
    k.remove("late").unwrap();
    assert_eq!(k.current().unwrap().key_id(), Some("middle"));
    k.add(signer('b', "forever"), None).unwrap();
    assert_eq!(k.current().unwrap().key_id(), Some("forever"));
    assert!(matches!(
        k.add(signer('a', "middle"), None),
        Err(Error::DuplicateKeyId(_))
    ));
    assert!(matches!(k.remove("nope"), Err(Error::UnknownKeyId(_))));
    let no_kid: Arc<dyn Signer> = Arc::new(KeySigner::new(private('a'), Algorithm::PS384).unwrap());
    assert!(matches!(k.add(no_kid, None), Err(Error::Config(_))));
    assert!(matches!(
        SigningKeys::new().current(),
        Err(Error::NoSigningKey)
    ));

    // The chosen key's id lands in the token, and the registry verifies it.
    let current = keys(500).current().unwrap();
    let token = jws::sign(&Header::for_signer(&*current), b"{}", &*current).unwrap();
    let registry = KeyRegistry::from_keys([
        key("late", 'b', Algorithm::PS384),
        key("early", 'a', Algorithm::PS384),
    ])
    .unwrap();
    assert_eq!(
        registry.verify(&token, &limits()).unwrap().key_id(),
        Some("late")
    );
}

#[test]
fn jwks_round_trip_and_import_rules() {
    let registry = KeyRegistry::from_keys([
        key("k1", 'a', Algorithm::RS256),
        key("k2", 'b', Algorithm::PS384),
    ])
    .unwrap();
    let jwks = registry.to_jwks().to_json();
    assert!(!jwks.contains("\"d\""));
    let again = KeyRegistry::from_jwks(&jwks, Algorithm::RS256).unwrap();
    assert_eq!(again.key_ids(), ["k1", "k2"]);
    assert_eq!(
        again.snapshot().get("k2").unwrap().algorithm(),
        Algorithm::PS384
    );
    assert!(
        again
            .verify(&token('b', Some("k2"), Algorithm::PS384), &limits())
            .is_ok()
    );

    let rsa = |kid: &str, which: char, extra: &str| {
        let jwk = public(which).to_jwk().with_kid(kid).to_json();
        format!("{}{extra}}}", &jwk[..jwk.len() - 1])
    };
    let set = |entries: &[String]| format!(r#"{{"keys":[{}]}}"#, entries.join(","));
    let ec = r#"{"kty":"OKP","crv":"X25519","x":"AA","kid":"ecdh"}"#.to_owned();
    let oct = r#"{"kty":"oct","k":"AAAA","kid":"mac"}"#.to_owned();
    // Kinds the crate does not sign with and encryption keys are skipped.
    let mixed = set(&[
        ec,
        oct,
        rsa("enc", 'c', r#","use":"enc""#),
        rsa("s", 'a', r#","use":"sig","alg":"PS256""#),
    ]);
    let registry = KeyRegistry::from_jwks(&mixed, Algorithm::RS256).unwrap();
    assert_eq!(registry.key_ids(), ["s"]);
    assert_eq!(
        registry.snapshot().get("s").unwrap().algorithm(),
        Algorithm::PS256
    );
    // A missing kid becomes the thumbprint.
    let no_kid = set(&[public('a').to_jwk().to_json()]);
    assert_eq!(
        KeyRegistry::from_jwks(&no_kid, Algorithm::RS256)
            .unwrap()
            .key_ids(),
        [public('a').thumbprint()]
    );

    let failures = [
        (set(&[]), "no key"),
        (set(&[rsa("x", 'a', r#","use":"enc""#)]), "no key"),
        (
            set(&[rsa("x", 'a', ""), rsa("x", 'b', "")]),
            "already registered",
        ),
        (
            set(&[rsa("x", 'a', ""), rsa("y", 'b', ""), rsa("z", 'c', "")]),
            "2 active keys",
        ),
        (set(&[rsa("x", 'a', r#","alg":"HS256""#)]), "not supported"),
        (
            set(&[
                rsa("x", 'a', r#","key_ops":["encrypt"]"#),
                rsa("y", 'b', r#","key_ops":["sign"]"#),
            ]),
            "no key",
        ),
        (r#"{"keys":{}}"#.to_owned(), "malformed"),
        (r#"{"keys":[],"keys":[]}"#.to_owned(), "duplicate"),
        ("not json".to_owned(), "malformed"),
    ];
    for (json, expected) in failures {
        let err = KeyRegistry::from_jwks(&json, Algorithm::RS256).unwrap_err();
        let message = err
            .to_string()
            .replace("has no signature key of a supported kind", "no key");
        assert!(message.contains(expected), "{json}: {message}");
    }
}

#[test]
fn key_exchange_responses() {
    let spki = data("keys/rsa2048.spki.b64");
    let response = |alg: &str, expiry: &str| {
        format!(
            r#"{{"UniqueId":"b5b3c1d2","Key":"{spki}","ExpirationUtc":"{expiry}","Algorithm":"{alg}"}}"#
        )
    };
    let key = VerificationKey::from_key_exchange(
        &response("RSA-PSS-SHA384", "2030-01-01T00:00:00Z"),
        Algorithm::RS256,
    )
    .unwrap();
    assert_eq!((key.kid(), key.algorithm()), ("b5b3c1d2", Algorithm::PS384));
    assert_eq!(
        key.expires_at(),
        Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000))
    );
    assert_eq!(key.public_key().unwrap(), &public('a'));
    let key = VerificationKey::from_key_exchange(
        &response("PS256", "2030-01-01T00:00:00.5+01:00"),
        Algorithm::RS256,
    )
    .unwrap();
    assert_eq!(key.algorithm(), Algorithm::PS256);
    let minimal = format!(r#"{{"UniqueId":"x","Key":"{spki}"}}"#);
    let key = VerificationKey::from_key_exchange(&minimal, Algorithm::PS384).unwrap();
    assert_eq!(
        (key.algorithm(), key.expires_at()),
        (Algorithm::PS384, None)
    );

    for (json, expected) in [
        (
            response("RSA-OAEP-256", "2030-01-01T00:00:00Z"),
            "not supported",
        ),
        (response("RSA", "2030-01-01T00:00:00Z"), "not supported"),
        (response("PS384", "next year"), "RFC 3339"),
        (response("PS384", "2030-02-30T00:00:00Z"), "RFC 3339"),
        (
            format!(r#"{{"UniqueId":"x","Key":"{spki}","Key":"{spki}"}}"#),
            "duplicate",
        ),
        (r#"{"UniqueId":"x","Key":"AAAA"}"#.to_owned(), "DER"),
        // A missing member is named.
        (r#"{"Key":"AAAA"}"#.to_owned(), "missing field `UniqueId`"),
        // .NET's offset-less DateTime needs the explicit opt-in.
        (response("PS384", "2030-01-01T00:00:00"), "assuming_utc"),
        // A key that has already expired is refused, not loaded silently.
        (response("PS384", "2020-01-01T00:00:00Z"), "already expired"),
    ] {
        let err = VerificationKey::from_key_exchange(&json, Algorithm::PS384).unwrap_err();
        assert!(err.to_string().contains(expected), "{json}: {err}");
    }
    let key = VerificationKey::from_key_exchange_assuming_utc(
        &response("PS384", "2030-01-01T00:00:00"),
        Algorithm::PS384,
    )
    .unwrap();
    assert_eq!(
        key.expires_at(),
        Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000))
    );
    // A Key given as PEM is read too.
    let pem = data("keys/rsa2048.spki.pem");
    let json = serde_json::json!({"UniqueId": "p", "Key": pem}).to_string();
    let key = VerificationKey::from_key_exchange(&json, Algorithm::PS384).unwrap();
    assert_eq!(key.public_key().unwrap(), &public('a'));
}

/// N threads verify while another rotates B in and out, then replaces A by C.
/// A verification that starts and ends within one phase must agree with that
/// phase's key set.
#[test]
fn rotation_under_concurrent_verification() {
    const READERS: usize = 3;
    const ROTATIONS: usize = 100;
    let deadline = Instant::now() + Duration::from_secs(60);

    let registry = Arc::new(KeyRegistry::new(key("a", 'a', Algorithm::RS256)));
    let key_b = key("b", 'b', Algorithm::RS256);
    let key_c = key("c", 'c', Algorithm::RS256);
    let token_a = token('a', Some("a"), Algorithm::RS256);
    let token_b = token('b', Some("b"), Algorithm::RS256);
    let token_c = token('c', Some("c"), Algorithm::RS256);

    // 0: A active (B comes and goes); 1: replacing; 2: A removed, C active; 3: stop.
    let phase = Arc::new(AtomicU8::new(0));
    let false_rejections = Arc::new(AtomicUsize::new(0));
    let false_acceptances = Arc::new(AtomicUsize::new(0));
    let checks_in_phase = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);

    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (registry, phase) = (Arc::clone(&registry), Arc::clone(&phase));
            let (rejections, acceptances) = (
                Arc::clone(&false_rejections),
                Arc::clone(&false_acceptances),
            );
            let checks = Arc::clone(&checks_in_phase);
            let (token_a, token_b, token_c) = (token_a.clone(), token_b.clone(), token_c.clone());
            std::thread::spawn(move || {
                while phase.load(Ordering::SeqCst) != 3 && Instant::now() < deadline {
                    for (token, active_in) in [(&token_a, 0u8), (&token_c, 2u8)] {
                        let before = phase.load(Ordering::SeqCst);
                        let result = registry.verify(token, &Limits::default());
                        let after = phase.load(Ordering::SeqCst);
                        if before == after && before < 3 {
                            checks[usize::from(before)].fetch_add(1, Ordering::Relaxed);
                            if before == active_in && result.is_err() {
                                rejections.fetch_add(1, Ordering::SeqCst);
                            }
                            if before != active_in && before != 1 && result.is_ok() {
                                acceptances.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    // B is toggling: it either verifies or is unknown, never anything else.
                    match registry.verify(&token_b, &Limits::default()) {
                        Ok(_) | Err(Error::UnknownKeyId(_)) => {}
                        Err(other) => panic!("token B: {other}"),
                    }
                }
            })
        })
        .collect();

    let wait_for = |phase_index: usize, count: usize| {
        while checks_in_phase[phase_index].load(Ordering::Relaxed) < count
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(0, 20);
    for _ in 0..ROTATIONS {
        registry.add(key_b.clone()).unwrap();
        registry.remove("b").unwrap();
    }
    wait_for(0, 50);
    phase.store(1, Ordering::SeqCst);
    registry.replace("a", key_c.clone()).unwrap();
    phase.store(2, Ordering::SeqCst);
    wait_for(2, 50);
    phase.store(3, Ordering::SeqCst);
    for reader in readers {
        reader.join().unwrap();
    }

    assert!(Instant::now() < deadline, "the test ran out of time");
    assert_eq!(
        false_rejections.load(Ordering::SeqCst),
        0,
        "tokens of an active key were rejected"
    );
    assert_eq!(
        false_acceptances.load(Ordering::SeqCst),
        0,
        "tokens of an absent key were accepted"
    );
    assert!(checks_in_phase[0].load(Ordering::Relaxed) >= 50);
    assert!(checks_in_phase[2].load(Ordering::Relaxed) >= 50);
    assert_eq!(registry.key_ids(), ["c"]);
    eprintln!(
        "rotation: checks per phase {:?}",
        checks_in_phase
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect::<Vec<_>>()
    );
}

#[test]
fn wycheproof_key_set_cases() {
    // Wycheproof json_web_key_test.json. The `valid` cases of the HMAC groups
    // (tcId 2, 13, 14, 15) are refused by design: only RSA signatures are supported.
    let file: serde_json::Value =
        serde_json::from_str(&data("wycheproof/json_web_key_test.json")).unwrap();
    let mut outcomes = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let set = group
            .get("public")
            .filter(|p| !p.is_null())
            .unwrap_or(&group["private"]);
        let registry = KeyRegistry::from_jwks(&set.to_string(), Algorithm::RS256);
        for case in group["tests"].as_array().unwrap() {
            let id = case["tcId"].as_u64().unwrap();
            let accepted = match (&registry, case["jws"].as_str()) {
                (Ok(registry), Some(token)) => registry.verify(token, &limits()).is_ok(),
                _ => false,
            };
            outcomes.push((id, case["result"] == "valid", accepted));
        }
    }
    assert_eq!(outcomes.len(), 26);
    for (id, valid, accepted) in &outcomes {
        match id {
            2 | 13 | 14 | 15 => assert!(*valid && !accepted, "tcId {id}: HMAC, refused by design"),
            _ => assert_eq!(valid, accepted, "tcId {id}"),
        }
    }
    // The one RSA valid case (tcId 5) is accepted.
    assert!(
        outcomes
            .iter()
            .any(|(id, _, accepted)| *id == 5 && *accepted)
    );
}

/// Key expiry is a comparison, never arithmetic: the extremes of the clock
/// and of an expiry cannot overflow (a leeway added to the expiry used to).
#[test]
fn key_expiry_at_the_extremes_does_not_panic() {
    let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 4);
    let registry = Arc::new(KeyRegistry::new(
        key("k", 'a', Algorithm::RS256).with_expiry(far),
    ));
    let token = token('a', Some("k"), Algorithm::RS256);
    for now in [UNIX_EPOCH, far - Duration::from_secs(1), far] {
        let outcome = ResponseVerifier::new(Arc::clone(&registry))
            .with_clock(Arc::new(FixedClock::new(now)))
            .verify_embedded(token.as_bytes());
        assert_eq!(outcome.is_ok(), now < far, "{outcome:?}");
    }
}

/// Retrying an add that already happened names the duplicate, even when the
/// registry is full.
#[test]
fn a_retried_add_says_the_key_is_already_registered() {
    let registry = KeyRegistry::from_keys([
        key("k1", 'a', Algorithm::RS256),
        key("k2", 'b', Algorithm::RS256),
    ])
    .unwrap();
    let err = registry.add(key("k2", 'b', Algorithm::RS256)).unwrap_err();
    assert!(matches!(err, Error::DuplicateKeyId(_)), "{err}");
    assert!(matches!(
        registry.add(key("k3", 'c', Algorithm::RS256)),
        Err(Error::KeyLimit { .. })
    ));
}

/// Rotation from an RSA key to an EC key, the change people make: the EC
/// key is added beside the RSA one (two active keys of different kinds),
/// then the RSA key is removed, while threads verify RS256 and ES256
/// tokens with and without `kid`. In each phase a token of an active key
/// verifies (kid-less ones by trying each key: the other kind is an
/// algorithm mismatch, passed over) and a token of an absent key never does.
#[test]
fn rotation_from_an_rsa_key_to_an_ec_key_under_concurrent_load() {
    const READERS: usize = 3;
    let deadline = Instant::now() + Duration::from_secs(60);
    let ec_private = PrivateKey::from_pem(&data("keys/ec-p256.pem")).unwrap();
    let ec_key =
        VerificationKey::new("ec-1", ec_private.public_key().clone(), Algorithm::ES256).unwrap();
    let ec_signer = KeySigner::new(ec_private, Algorithm::ES256).unwrap();
    let ec_token = |kid: Option<&str>| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = kid.map(str::to_owned);
        jws::sign(&header, br#"{"sub":"ada"}"#, &ec_signer).unwrap()
    };
    let registry = Arc::new(KeyRegistry::new(key("rsa-1", 'a', Algorithm::RS256)));
    // (token, phases in which it must verify): 0 RSA only, 1 both, 2 EC only.
    let tokens = Arc::new([
        (
            token('a', Some("rsa-1"), Algorithm::RS256),
            [true, true, false],
        ),
        (token('a', None, Algorithm::RS256), [true, true, false]),
        (ec_token(Some("ec-1")), [false, true, true]),
        (ec_token(None), [false, true, true]),
    ]);
    let phase = Arc::new(AtomicU8::new(0));
    let wrong = Arc::new(AtomicUsize::new(0));
    let checks = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (registry, tokens, phase) = (
                Arc::clone(&registry),
                Arc::clone(&tokens),
                Arc::clone(&phase),
            );
            let (wrong, checks) = (Arc::clone(&wrong), Arc::clone(&checks));
            std::thread::spawn(move || {
                while phase.load(Ordering::SeqCst) != 3 && Instant::now() < deadline {
                    for (token, valid_in) in tokens.iter() {
                        let before = phase.load(Ordering::SeqCst);
                        let result = registry.verify(token, &Limits::default());
                        let after = phase.load(Ordering::SeqCst);
                        if before == after && before < 3 {
                            checks[usize::from(before)].fetch_add(1, Ordering::Relaxed);
                            if result.is_ok() != valid_in[usize::from(before)] {
                                wrong.fetch_add(1, Ordering::SeqCst);
                                eprintln!("phase {before}: {result:?}");
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let wait_for = |phase_index: usize| {
        while checks[phase_index].load(Ordering::Relaxed) < 200 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    // Each change happens in a transition (phase 9), which no check counts.
    wait_for(0);
    phase.store(9, Ordering::SeqCst);
    registry.add(ec_key).unwrap();
    phase.store(1, Ordering::SeqCst);
    wait_for(1);
    phase.store(9, Ordering::SeqCst);
    registry.remove("rsa-1").unwrap();
    phase.store(2, Ordering::SeqCst);
    wait_for(2);
    phase.store(3, Ordering::SeqCst);
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(Instant::now() < deadline, "the test ran out of time");
    assert_eq!(
        wrong.load(Ordering::SeqCst),
        0,
        "a token got the wrong answer"
    );
    assert_eq!(registry.key_ids(), ["ec-1"]);
    let jwks = registry.snapshot().to_jwks();
    assert_eq!(jwks.keys[0].kty, "EC");
    assert_eq!(jwks.keys[0].alg.as_deref(), Some("ES256"));
}
