//! The request-signing profile without HTTP: what `RequestSigner` puts in a
//! token, and every claim, header and content-type check of `RequestVerifier`.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{Value, json};
use signed_payloads::request::{RequestSigner, RequestVerifier, check_content_type};
use signed_payloads::{
    Algorithm, ClaimError, ClaimsPolicy, Error, FixedClock, Header, KeyRegistry, KeySigner, Limits,
    Malformed, PrivateKey, Signer, VerificationKey, dangerous, jws,
};

const NOW: u64 = 1_800_000_000;

fn key() -> PrivateKey {
    PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap()
}

fn rsa_signer() -> Arc<KeySigner> {
    Arc::new(
        KeySigner::new(key(), Algorithm::RS256)
            .unwrap()
            .with_key_id("k1"),
    )
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(NOW)))
}

fn verifier(policy: ClaimsPolicy) -> RequestVerifier {
    let registry = KeyRegistry::new(
        VerificationKey::new("k1", key().public_key().clone(), Algorithm::RS256).unwrap(),
    );
    RequestVerifier::new(Arc::new(registry)).with_claims(policy.with_clock(clock()))
}

/// A token over exactly these payload bytes.
fn token_over(payload: &str) -> String {
    let signer = rsa_signer();
    jws::sign(
        &Header::for_signer(&*signer).with_typ("JWT"),
        payload.as_bytes(),
        &*signer,
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let (_, payload) = dangerous::decode_unverified(token, &Limits::default()).unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn signer_adds_iat_like_node_jsonwebtoken_and_keeps_member_order() {
    let token = RequestSigner::new(rsa_signer())
        .with_clock(clock())
        .sign_json(br#"{"z":1,"a":{"y":2,"b":3}}"#)
        .unwrap();
    let (header, payload) = dangerous::decode_unverified(&token, &Limits::default()).unwrap();
    assert_eq!(
        payload,
        format!(r#"{{"z":1,"a":{{"y":2,"b":3}},"iat":{NOW}}}"#).as_bytes()
    );
    assert_eq!(
        (header.alg, header.kid.as_deref(), header.typ.as_deref()),
        (Algorithm::RS256, Some("k1"), Some("JWT"))
    );

    let bare = RequestSigner::new(rsa_signer())
        .without_iat()
        .sign_json(b" {\"a\": 1} ")
        .unwrap();
    assert_eq!(
        dangerous::decode_unverified(&bare, &Limits::default())
            .unwrap()
            .1,
        b" {\"a\": 1} "
    );

    let full = RequestSigner::new(rsa_signer())
        .with_clock(clock())
        .with_ttl(Duration::from_secs(300))
        .with_jti();
    let claims = claims_of(&full.sign(&json!({})).unwrap());
    assert_eq!(
        (claims["iat"].as_u64(), claims["exp"].as_u64()),
        (Some(NOW), Some(NOW + 300))
    );
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    assert_ne!(
        claims_of(&full.sign(&json!({})).unwrap())["jti"],
        claims["jti"]
    );

    // Claims the caller set are kept.
    let claims = claims_of(&full.sign(&json!({"iat": 5, "jti": "mine"})).unwrap());
    assert_eq!(
        (claims["iat"].as_u64(), claims["jti"].as_str()),
        (Some(5), Some("mine"))
    );

    for bad in [
        &b"[1]"[..],
        b"\"text\"",
        b"{\"a\":1,\"a\":2}",
        b"{",
        b"{} {}",
    ] {
        assert!(
            RequestSigner::new(rsa_signer()).sign_json(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn signed_tokens_verify_into_typed_payloads() {
    #[derive(Deserialize, Debug)]
    struct Payload {
        first_name: String,
        iat: u64,
    }
    let signer = RequestSigner::new(rsa_signer())
        .with_clock(clock())
        .with_ttl(Duration::from_secs(60));
    let token = signer.sign(&json!({"first_name": "Ada"})).unwrap();
    let verified = verifier(ClaimsPolicy::new().require_exp().require_iat())
        .verify::<Payload>(&token)
        .unwrap();
    assert_eq!(
        (
            verified.payload().first_name.as_str(),
            verified.payload().iat
        ),
        ("Ada", NOW)
    );
    assert_eq!(verified.key_id(), Some("k1"));
    // Raw JSON comes back byte for byte.
    let bytes = verifier(ClaimsPolicy::new())
        .verify_bytes(&format!("\n{token}\n"))
        .unwrap();
    assert_eq!(
        bytes.payload(),
        format!(r#"{{"first_name":"Ada","iat":{NOW},"exp":{}}}"#, NOW + 60).as_bytes()
    );
    let err = verifier(ClaimsPolicy::new())
        .verify::<Payload>(&token_over(r#"{"first_name":1,"iat":1}"#))
        .unwrap_err();
    assert!(
        matches!(err, Error::Malformed(Malformed::PayloadType(_))),
        "{err}"
    );
}

fn claim_error(payload: &str, policy: ClaimsPolicy) -> Option<Error> {
    verifier(policy).verify_bytes(&token_over(payload)).err()
}

#[test]
fn time_claims() {
    let p = ClaimsPolicy::new;
    let cases: Vec<(String, ClaimsPolicy, Option<ClaimError>)> = vec![
        (format!(r#"{{"exp":{}}}"#, NOW + 10), p(), None),
        (format!(r#"{{"exp":{}}}"#, NOW - 59), p(), None),
        (
            format!(r#"{{"exp":{}}}"#, NOW - 61),
            p(),
            Some(ClaimError::Expired),
        ),
        (
            format!(r#"{{"exp":{}}}"#, NOW - 5),
            p().with_leeway(Duration::ZERO),
            Some(ClaimError::Expired),
        ),
        (
            format!(r#"{{"exp":{}.5}}"#, NOW),
            p().with_leeway(Duration::ZERO),
            None,
        ),
        (
            format!(r#"{{"exp":{}.5}}"#, NOW - 1),
            p().with_leeway(Duration::ZERO),
            Some(ClaimError::Expired),
        ),
        (
            format!(r#"{{"exp":"{}"}}"#, NOW + 10),
            p(),
            Some(ClaimError::WrongType("exp")),
        ),
        (
            r#"{"exp":null}"#.into(),
            p(),
            Some(ClaimError::WrongType("exp")),
        ),
        (
            r#"{"exp":true}"#.into(),
            p(),
            Some(ClaimError::WrongType("exp")),
        ),
        (
            r#"{"exp":[1]}"#.into(),
            p(),
            Some(ClaimError::WrongType("exp")),
        ),
        (
            r#"{"exp":-1}"#.into(),
            p(),
            Some(ClaimError::OutOfRange("exp")),
        ),
        (
            r#"{"exp":1e300}"#.into(),
            p(),
            Some(ClaimError::OutOfRange("exp")),
        ),
        (
            r#"{"exp":99999999999999999999}"#.into(),
            p(),
            Some(ClaimError::OutOfRange("exp")),
        ),
        (
            "{}".into(),
            p().require_exp(),
            Some(ClaimError::Missing("exp")),
        ),
        (format!(r#"{{"nbf":{}}}"#, NOW + 30), p(), None),
        (
            format!(r#"{{"nbf":{}}}"#, NOW + 61),
            p(),
            Some(ClaimError::NotYetValid),
        ),
        (
            format!(r#"{{"nbf":{}}}"#, NOW + 1),
            p().with_leeway(Duration::ZERO),
            Some(ClaimError::NotYetValid),
        ),
        (
            r#"{"nbf":"0"}"#.into(),
            p(),
            Some(ClaimError::WrongType("nbf")),
        ),
        (
            "{}".into(),
            p().require_nbf(),
            Some(ClaimError::Missing("nbf")),
        ),
        (
            format!(r#"{{"iat":{}}}"#, NOW + 61),
            p(),
            Some(ClaimError::IssuedInFuture),
        ),
        (format!(r#"{{"iat":{}}}"#, NOW + 59), p(), None),
        (
            r#"{"iat":-5}"#.into(),
            p(),
            Some(ClaimError::OutOfRange("iat")),
        ),
        (
            "{}".into(),
            p().require_iat(),
            Some(ClaimError::Missing("iat")),
        ),
    ];
    for (payload, policy, expected) in cases {
        let found = claim_error(&payload, policy);
        match (&found, &expected) {
            (None, None) => {}
            (Some(Error::Claim(found)), Some(expected)) if found == expected => {}
            _ => panic!("{payload}: expected {expected:?}, found {found:?}"),
        }
    }
}

#[test]
fn audience_and_issuer() {
    let aud = || ClaimsPolicy::new().with_audience("https://api.example.com");
    let iss = || ClaimsPolicy::new().with_issuer("program-1");
    let cases: Vec<(&str, ClaimsPolicy, Option<ClaimError>)> = vec![
        (r#"{"aud":"https://api.example.com"}"#, aud(), None),
        (
            r#"{"aud":["other","https://api.example.com"]}"#,
            aud(),
            None,
        ),
        (
            r#"{"aud":["other"]}"#,
            aud(),
            Some(ClaimError::AudienceMismatch),
        ),
        (r#"{"aud":[]}"#, aud(), Some(ClaimError::AudienceMismatch)),
        (r#"{}"#, aud(), Some(ClaimError::AudienceMismatch)),
        (
            r#"{"aud":"https://api.example.com/"}"#,
            aud(),
            Some(ClaimError::AudienceMismatch),
        ),
        (
            r#"{"aud":"HTTPS://API.EXAMPLE.COM"}"#,
            aud(),
            Some(ClaimError::AudienceMismatch),
        ),
        (r#"{"aud":5}"#, aud(), Some(ClaimError::WrongType("aud"))),
        (
            r#"{"aud":5}"#,
            ClaimsPolicy::new(),
            Some(ClaimError::WrongType("aud")),
        ),
        (r#"{"aud":[5]}"#, aud(), Some(ClaimError::WrongType("aud"))),
        (r#"{"aud":"x"}"#, ClaimsPolicy::new(), None),
        (r#"{"aud":"other"}"#, aud().with_audience("other"), None),
        (r#"{"iss":"program-1"}"#, iss(), None),
        (
            r#"{"iss":"program-12"}"#,
            iss(),
            Some(ClaimError::IssuerMismatch),
        ),
        (
            r#"{"iss":"program-"}"#,
            iss(),
            Some(ClaimError::IssuerMismatch),
        ),
        (
            r#"{"iss":"program-1\u0000"}"#,
            iss(),
            Some(ClaimError::IssuerMismatch),
        ),
        (
            r#"{"iss":["program-1"]}"#,
            iss(),
            Some(ClaimError::WrongType("iss")),
        ),
        (
            r#"{"iss":null}"#,
            ClaimsPolicy::new(),
            Some(ClaimError::WrongType("iss")),
        ),
        (r#"{}"#, iss(), Some(ClaimError::Missing("iss"))),
        (
            r#"[{"iss":"program-1"}]"#,
            iss(),
            Some(ClaimError::NotAnObject),
        ),
        (
            r#""program-1""#,
            ClaimsPolicy::new(),
            Some(ClaimError::NotAnObject),
        ),
    ];
    for (payload, policy, expected) in cases {
        let found = claim_error(payload, policy);
        match (&found, &expected) {
            (None, None) => {}
            (Some(Error::Claim(found)), Some(expected)) if found == expected => {}
            _ => panic!("{payload}: expected {expected:?}, found {found:?}"),
        }
    }
}

#[test]
fn jwt_headers_and_payload_strictness() {
    let v = verifier(ClaimsPolicy::new());
    // b64: false has no place in a JWT.
    let signer = rsa_signer();
    let unencoded = jws::sign(
        &Header::for_signer(&*signer).unencoded_payload(),
        b"{}",
        &*signer,
    )
    .unwrap();
    assert!(
        v.verify_bytes(&unencoded)
            .unwrap_err()
            .to_string()
            .contains("b64")
    );
    // Duplicate claims are refused even though the signature is good.
    let err = v
        .verify_bytes(&token_over(r#"{"exp":1,"exp":9999999999}"#))
        .unwrap_err();
    assert!(
        matches!(err, Error::Malformed(Malformed::DuplicateMember { .. })),
        "{err}"
    );
    // An expected typ is compared case-insensitively.
    let typed = verifier(ClaimsPolicy::new()).expect_typ("jwt");
    assert!(typed.verify_bytes(&token_over("{}")).is_ok());
    let untyped = jws::sign(&Header::for_signer(&*signer), b"{}", &*signer).unwrap();
    assert!(matches!(
        typed.verify_bytes(&untyped),
        Err(Error::Claim(ClaimError::Type(_)))
    ));
    assert!(verifier(ClaimsPolicy::new()).verify_bytes(&untyped).is_ok());
}

#[test]
fn content_type_and_body_checks() {
    let v = verifier(ClaimsPolicy::new());
    let token = token_over("{}");
    for ok in [
        "application/jwt",
        "APPLICATION/JWT",
        "application/jwt; charset=utf-8",
        " application/jwt ;x=y",
    ] {
        assert!(
            v.verify_request::<Value>(Some(ok), token.as_bytes())
                .is_ok(),
            "{ok}"
        );
        assert!(check_content_type(Some(ok)).is_ok());
    }
    for bad in [
        None,
        Some("application/json"),
        Some("application/jwt+json"),
        Some("text/plain"),
        Some(""),
    ] {
        let err = v
            .verify_request::<Value>(bad, token.as_bytes())
            .unwrap_err();
        assert!(matches!(err, Error::ContentType { .. }), "{bad:?}: {err}");
    }
    let err = v
        .verify_request::<Value>(Some("application/jwt"), b"\xff\xfe")
        .unwrap_err();
    assert!(matches!(err, Error::Malformed(Malformed::NotUtf8)), "{err}");
    let huge = vec![b'a'; Limits::DEFAULT_MAX_TOKEN_BYTES + 100];
    assert!(matches!(
        v.verify_request::<Value>(Some("application/jwt"), &huge),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn interop_with_jsonwebtoken_both_ways() {
    use jsonwebtoken::{DecodingKey, EncodingKey, Validation};
    let pem = include_str!("data/keys/rsa2048.pkcs8.pem");
    let public_pem = include_str!("data/keys/rsa2048.spki.pem");

    // jsonwebtoken signs; this crate verifies.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".into());
    let claims = json!({"sub": "ada", "exp": 4_000_000_000u64, "iat": NOW});
    let theirs = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let verified = verifier(ClaimsPolicy::new().require_exp())
        .verify::<Value>(&theirs)
        .unwrap();
    assert_eq!(verified.payload()["sub"], "ada");
    // Without kid too, as Node's jsonwebtoken and Apto's sample server send.
    let no_kid = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    let theirs = jsonwebtoken::encode(
        &no_kid,
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verifier(ClaimsPolicy::new())
            .verify::<Value>(&theirs)
            .unwrap()
            .key_id(),
        Some("k1")
    );
    // PS256 too.
    let ps = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
    let theirs = jsonwebtoken::encode(
        &ps,
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let ps_registry = KeyRegistry::new(
        VerificationKey::new("p", key().public_key().clone(), Algorithm::PS256).unwrap(),
    );
    assert!(
        ps_registry
            .snapshot()
            .verify(&theirs, &Limits::default())
            .is_ok()
    );

    // This crate signs; jsonwebtoken verifies.
    let ours = RequestSigner::new(rsa_signer())
        .with_ttl(Duration::from_secs(600))
        .sign(&json!({"sub": "ada"}))
        .unwrap();
    let decoding = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
    let data = jsonwebtoken::decode::<Value>(
        &ours,
        &decoding,
        &Validation::new(jsonwebtoken::Algorithm::RS256),
    )
    .unwrap();
    assert_eq!(
        (data.claims["sub"].as_str(), data.header.kid.as_deref()),
        (Some("ada"), Some("k1"))
    );
    let ps_signer = KeySigner::new(key(), Algorithm::PS384).unwrap();
    let ours = jws::sign(
        &Header::for_signer(&ps_signer),
        br#"{"exp":4000000000}"#,
        &ps_signer,
    )
    .unwrap();
    assert!(
        jsonwebtoken::decode::<Value>(
            &ours,
            &decoding,
            &Validation::new(jsonwebtoken::Algorithm::PS384)
        )
        .is_ok()
    );
    assert_eq!(ps_signer.algorithm(), Algorithm::PS384);
}

/// RFC 7519 4.1.4: the current time must be before `exp`; 4.1.5: at or
/// after `nbf`. At leeway zero, a token whose `exp` is now is expired.
#[test]
fn exp_is_exclusive_and_nbf_inclusive() {
    let strict = verifier(ClaimsPolicy::new().with_leeway(Duration::ZERO));
    assert!(matches!(
        strict.verify_bytes(&token_over(&format!(r#"{{"exp":{NOW}}}"#))),
        Err(Error::Claim(ClaimError::Expired))
    ));
    let later = NOW + 1;
    strict
        .verify_bytes(&token_over(&format!(r#"{{"exp":{later}}}"#)))
        .unwrap();
    strict
        .verify_bytes(&token_over(&format!(r#"{{"nbf":{NOW}}}"#)))
        .unwrap();
}

/// A leeway too large for the replay window's `Duration` keeps the `jti`
/// for as long as one can say, never for a second.
#[test]
fn a_huge_leeway_still_remembers_the_jti() {
    let guarded = verifier(ClaimsPolicy::new().with_leeway(Duration::MAX))
        .with_replay_store(Arc::new(signed_payloads::MemoryNonceStore::new(10)));
    let exp = NOW + 60;
    let token = token_over(&format!(r#"{{"jti":"once","exp":{exp}}}"#));
    guarded.verify_bytes(&token).unwrap();
    assert!(matches!(guarded.verify_bytes(&token), Err(Error::Replayed)));
}

/// Tokens as Node's `jsonwebtoken` signs them by default: `iat` only. A
/// maximum age bounds them, and a replay store remembers them by their
/// signature until they are too old.
#[test]
fn a_maximum_age_bounds_iat_only_tokens_and_lets_them_be_remembered() {
    let max_age = Duration::from_secs(300);
    let at = |seconds: u64| {
        ClaimsPolicy::new()
            .with_leeway(Duration::ZERO)
            .with_max_age(max_age)
            .with_clock(Arc::new(FixedClock::new(
                UNIX_EPOCH + Duration::from_secs(seconds),
            )))
    };
    let registry = || {
        Arc::new(KeyRegistry::new(
            VerificationKey::new("k1", key().public_key().clone(), Algorithm::RS256).unwrap(),
        ))
    };
    let token = token_over(&format!(r#"{{"amount":1,"iat":{NOW}}}"#));
    // Within the age, and at its last second.
    for now in [NOW, NOW + 300] {
        RequestVerifier::new(registry())
            .with_claims(at(now))
            .verify_bytes(&token)
            .unwrap();
    }
    assert!(matches!(
        RequestVerifier::new(registry())
            .with_claims(at(NOW + 301))
            .verify_bytes(&token),
        Err(Error::Claim(ClaimError::TooOld))
    ));
    // iat becomes required.
    assert!(matches!(
        RequestVerifier::new(registry())
            .with_claims(at(NOW))
            .verify_bytes(&token_over(r#"{"amount":1}"#)),
        Err(Error::Claim(ClaimError::Missing("iat")))
    ));

    // Remembered by its signature: once, then a replay.
    let guarded = RequestVerifier::new(registry())
        .with_claims(at(NOW + 10))
        .with_replay_store(Arc::new(signed_payloads::MemoryNonceStore::new(10)));
    guarded.verify_bytes(&token).unwrap();
    assert!(matches!(guarded.verify_bytes(&token), Err(Error::Replayed)));
    // The same claims signed again (another signature) are another request.
    let again = token_over(&format!(r#"{{"amount":1, "iat":{NOW}}}"#));
    guarded.verify_bytes(&again).unwrap();
    // A token with a jti is remembered by its jti (in a scope of its own).
    let digest_like = token_over(&format!(r#"{{"jti":"x","exp":{},"iat":{NOW}}}"#, NOW + 60));
    guarded.verify_bytes(&digest_like).unwrap();

    // Without a maximum age, a token with neither jti+exp nor iat+age is
    // refused by a replay store, not let through unprotected.
    let unbounded = RequestVerifier::new(registry())
        .with_claims(ClaimsPolicy::new().with_clock(clock()))
        .with_replay_store(Arc::new(signed_payloads::MemoryNonceStore::new(10)));
    assert!(matches!(
        unbounded.verify_bytes(&token),
        Err(Error::Claim(ClaimError::NoReplayWindow))
    ));
}

/// A date claim that is not a number is refused before signing (every
/// verifier would refuse the token, and Node refuses to sign it).
#[test]
fn the_signer_refuses_non_numeric_date_claims() {
    let signer = RequestSigner::new(rsa_signer()).without_iat();
    for (payload, claim) in [
        (r#"{"exp":"soon"}"#, "exp"),
        (r#"{"iat":null}"#, "iat"),
        (r#"{"nbf":[1]}"#, "nbf"),
    ] {
        assert!(
            matches!(
                signer.sign_json(payload.as_bytes()),
                Err(Error::Claim(ClaimError::WrongType(name))) if name == claim
            ),
            "{payload}"
        );
    }
    signer.sign_json(br#"{"exp":1800000300}"#).unwrap();
}
