//! The detached-header profile (Open Banking `x-jws-signature`): both
//! encodings round trip, the published RFC 7520 detached example verifies,
//! and every refusal of the scheme has its own error.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use signed_payloads::detached::{
    DetachedProfile, DetachedSigner, DetachedVerifier, OB_IAT, OB_ISS, OB_TAN, PayloadEncoding,
};
use signed_payloads::{
    Algorithm, ClaimError, Error, FixedClock, Header, KeyRegistry, KeySigner, Malformed,
    PrivateKey, Signer, VerificationKey, jws,
};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "0015800001041RHAAY/2kiXQyo0tedjW2somjSgH7";
const ANCHOR: &str = "openbanking.org.uk";
const BODY: &[u8] =
    br#"{"Data":{"Initiation":{"InstructedAmount":{"Amount":"10.00","Currency":"GBP"}}}}"#;

fn key() -> PrivateKey {
    PrivateKey::from_pem(include_str!("data/keys/rsa2048.pkcs8.pem")).unwrap()
}

fn clock(at: u64) -> Arc<FixedClock> {
    Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(at)))
}

fn rsa(alg: Algorithm) -> KeySigner {
    KeySigner::new(key(), alg).unwrap().with_key_id("tpp-1")
}

fn signer(profile: DetachedProfile, signed_at: u64) -> DetachedSigner {
    DetachedSigner::new(Arc::new(rsa(Algorithm::PS256)), ISSUER, ANCHOR)
        .with_profile(profile)
        .with_clock(clock(signed_at))
}

fn verifier() -> DetachedVerifier {
    let registry = KeyRegistry::new(
        VerificationKey::new("tpp-1", key().public_key().clone(), Algorithm::PS256).unwrap(),
    );
    DetachedVerifier::new(Arc::new(registry))
        .with_key_issuer("tpp-1", ISSUER)
        .with_trust_anchors([ANCHOR])
        .with_clock(clock(NOW))
}

/// A detached signature over `BODY` whose protected header has the members
/// of `header` (alg and kid are the test key's), signed with the test key.
fn signed_with(header: Value) -> String {
    let header = {
        let mut h = Header::new(Algorithm::PS256).with_kid("tpp-1");
        let Value::Object(map) = header else { panic!() };
        for (k, v) in map {
            match k.as_str() {
                "alg" | "kid" => {}
                "b64" => h = h.unencoded_payload(),
                "crit" => {
                    h.crit = Some(
                        v.as_array()
                            .unwrap()
                            .iter()
                            .map(|c| c.as_str().unwrap().to_owned())
                            .collect(),
                    )
                }
                "typ" => h = h.with_typ(v.as_str().unwrap()),
                "cty" => h = h.with_cty(v.as_str().unwrap()),
                _ => {
                    h.extra.insert(k, v);
                }
            }
        }
        h
    };
    jws::sign_detached(&header, BODY, &rsa(Algorithm::PS256)).unwrap()
}

/// The Open Banking header with `members` replacing or adding members.
fn ob_header(members: Value) -> Value {
    let mut header = json!({
        "alg": "PS256",
        "kid": "tpp-1",
        "crit": [OB_IAT, OB_ISS, OB_TAN],
        "typ": "JOSE",
        "cty": "application/json",
        OB_IAT: NOW,
        OB_ISS: ISSUER,
        OB_TAN: ANCHOR,
    });
    for (k, v) in members.as_object().unwrap() {
        if v.is_null() {
            header.as_object_mut().unwrap().remove(k);
        } else {
            header[k] = v.clone();
        }
    }
    header
}

#[test]
fn both_open_banking_variants_round_trip_and_bind_the_body() {
    for (profile, unencoded) in [
        (DetachedProfile::open_banking_v3_1_3(), true),
        (DetachedProfile::open_banking(), false),
    ] {
        let value = signer(profile, NOW - 10).sign(BODY).unwrap();
        let (header, rest) = value.split_once('.').unwrap();
        assert!(rest.starts_with('.'), "empty payload segment: {value}");
        let header: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["kid"], "tpp-1");
        assert_eq!(header[OB_IAT], NOW - 10);
        assert_eq!(header[OB_ISS], ISSUER);
        assert_eq!(header[OB_TAN], ANCHOR);
        assert_eq!(header.get("b64").is_some(), unencoded);
        let crit = header["crit"].as_array().unwrap();
        assert_eq!(crit.len(), if unencoded { 4 } else { 3 });

        let verified = verifier().verify(&value, BODY).unwrap();
        assert_eq!(verified.payload(), BODY);
        assert_eq!(verified.key_id(), Some("tpp-1"));
        // Through the headers, case-insensitively.
        let headers = [("X-JWS-Signature", value.as_str()), ("content-type", "x")];
        verifier().verify_headers(headers, BODY).unwrap();

        let mut tampered = BODY.to_vec();
        tampered[30] ^= 1;
        assert!(matches!(
            verifier().verify(&value, &tampered),
            Err(Error::BadSignature)
        ));
    }
}

#[test]
fn the_header_must_be_there_exactly_once() {
    let value = signer(DetachedProfile::open_banking(), NOW)
        .sign(BODY)
        .unwrap();
    let e = verifier()
        .verify_headers([("content-type", "application/json")], BODY)
        .unwrap_err();
    assert!(
        matches!(e, Error::Malformed(Malformed::MissingHeader(_))),
        "{e:?}"
    );
    let twice = [
        ("x-jws-signature", value.as_str()),
        ("X-Jws-Signature", value.as_str()),
    ];
    let e = verifier().verify_headers(twice, BODY).unwrap_err();
    assert!(
        matches!(e, Error::Malformed(Malformed::DuplicateHeader(_))),
        "{e:?}"
    );
}

#[test]
fn crit_lists_only_known_members_each_present() {
    let unknown = signed_with(ob_header(json!({
        "crit": [OB_IAT, OB_ISS, OB_TAN, "http://example.com/extra"],
        "http://example.com/extra": true,
    })));
    let e = verifier().verify(&unknown, BODY).unwrap_err();
    assert!(
        matches!(e, Error::Malformed(Malformed::UnsupportedCritical(_))),
        "{e:?}"
    );
    let absent = signed_with(ob_header(json!({ OB_TAN: null })));
    let e = verifier().verify(&absent, BODY).unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(Malformed::Header(m)) if m.contains("no such member")),
        "{e:?}"
    );
    // A member the profile checks, present but not in crit: a verifier that
    // did not know it would have ignored it.
    let not_critical = signed_with(ob_header(json!({ "crit": [OB_IAT, OB_ISS] })));
    assert_eq!(
        claim(verifier().verify(&not_critical, BODY)),
        ClaimError::NotCritical(OB_TAN)
    );
    // A required member absent altogether.
    let missing = signed_with(ob_header(json!({ "crit": [OB_IAT, OB_TAN], OB_ISS: null })));
    assert_eq!(
        claim(verifier().verify(&missing, BODY)),
        ClaimError::Missing(OB_ISS)
    );
    // An API that requires only the trust anchor accepts the others absent.
    let relaxed = verifier().with_profile(DetachedProfile::open_banking().requiring([OB_TAN]));
    relaxed.verify(&missing, BODY).unwrap();
}

fn claim(result: Result<signed_payloads::Verified<Vec<u8>>, Error>) -> ClaimError {
    match result {
        Err(Error::Claim(e)) => e,
        other => panic!("expected a claim error, got {other:?}"),
    }
}

#[test]
fn each_member_is_checked_for_type_and_value() {
    let wrong_types = [
        (
            json!({ OB_IAT: "1800000000" }),
            ClaimError::WrongType(OB_IAT),
        ),
        (json!({ OB_ISS: 7 }), ClaimError::WrongType(OB_ISS)),
        (json!({ OB_TAN: [ANCHOR] }), ClaimError::WrongType(OB_TAN)),
        (json!({ OB_IAT: -1 }), ClaimError::OutOfRange(OB_IAT)),
        (json!({ OB_IAT: NOW - 301 - 60 }), ClaimError::TooOld),
        (json!({ OB_IAT: NOW + 61 }), ClaimError::IssuedInFuture),
        (
            json!({ OB_ISS: "another-org/another-software" }),
            ClaimError::IssuerMismatch,
        ),
        (
            json!({ OB_TAN: "openbanking.example" }),
            ClaimError::TrustAnchorMismatch,
        ),
        (
            json!({ "typ": "JWT" }),
            ClaimError::Type(signed_payloads::Escaped::new("JOSE")),
        ),
    ];
    for (members, expected) in wrong_types {
        let value = signed_with(ob_header(members.clone()));
        assert_eq!(
            claim(verifier().verify(&value, BODY)),
            expected,
            "{members}"
        );
    }
    // Within the age and the leeway: accepted.
    for at in [NOW - 300, NOW + 60] {
        let value = signed_with(ob_header(json!({ OB_IAT: at })));
        verifier().verify(&value, BODY).unwrap();
    }
    let bad_cty = signed_with(ob_header(json!({ "cty": "text/plain" })));
    let e = verifier().verify(&bad_cty, BODY).unwrap_err();
    assert!(matches!(e, Error::Malformed(Malformed::Header(_))), "{e:?}");
}

#[test]
fn the_issuer_is_the_one_registered_for_the_key() {
    let value = signer(DetachedProfile::open_banking(), NOW)
        .sign(BODY)
        .unwrap();
    let registry = KeyRegistry::new(
        VerificationKey::new("tpp-1", key().public_key().clone(), Algorithm::PS256).unwrap(),
    );
    let bare = DetachedVerifier::new(Arc::new(registry))
        .with_trust_anchors([ANCHOR])
        .with_clock(clock(NOW));
    let e = bare.verify(&value, BODY).unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("no issuer")),
        "{e:?}"
    );
    // A default issuer of another party does not vouch for this one.
    let other = bare.with_issuer("someone-else");
    assert_eq!(
        claim(other.verify(&value, BODY)),
        ClaimError::IssuerMismatch
    );
}

#[test]
fn shape_encoding_and_algorithm_are_the_profiles() {
    let value = signer(DetachedProfile::open_banking_v3_1_3(), NOW)
        .sign(BODY)
        .unwrap();
    // A payload segment that is not empty.
    let (header, signature) = value.split_once("..").unwrap();
    let attached = format!("{header}.e30.{signature}");
    let e = verifier().verify(&attached, BODY).unwrap_err();
    assert!(
        matches!(e, Error::Malformed(Malformed::PayloadNotDetached)),
        "{e:?}"
    );
    // A verifier that takes only the newer encoding refuses b64 false.
    let newer_only =
        verifier().with_profile(DetachedProfile::open_banking().only(PayloadEncoding::Encoded));
    let e = newer_only.verify(&value, BODY).unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(Malformed::Header(m)) if m.contains("b64")),
        "{e:?}"
    );
    // RS256 is not Open Banking's algorithm, whatever the key.
    let rs256 = {
        let mut h = Header::new(Algorithm::RS256).with_kid("tpp-1");
        h.crit = Some(vec![OB_TAN.to_owned()]);
        h.extra.insert(OB_TAN.to_owned(), json!(ANCHOR));
        jws::sign_detached(&h, BODY, &rsa(Algorithm::RS256)).unwrap()
    };
    let e = verifier().verify(&rs256, BODY).unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(Malformed::Header(m)) if m.contains("RS256")),
        "{e:?}"
    );
    // The signer refuses a key the profile does not allow, before signing.
    let e = DetachedSigner::new(Arc::new(rsa(Algorithm::RS256)), ISSUER, ANCHOR)
        .sign(BODY)
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
}

/// RFC 7520 4.1 (RS256, published key) with its payload detached: the
/// profile's verifier, set to that algorithm and no extension members,
/// verifies the published signature byte for byte.
#[test]
fn rfc7520_detached_example_verifies() {
    let vectors: Value =
        serde_json::from_str(include_str!("data/cookbook/rfc_derived_positive.json")).unwrap();
    let case = &vectors["rfc7520_4_1_rs256_detached"];
    let jwk = serde_json::to_string(&case["public_jwk"]).unwrap();
    let key = signed_payloads::PublicKey::from_jwk(&signed_payloads::Jwk::from_json(&jwk).unwrap())
        .unwrap();
    let registry = KeyRegistry::new(
        VerificationKey::new("bilbo.baggins@hobbiton.example", key, Algorithm::RS256).unwrap(),
    );
    let profile = DetachedProfile::open_banking()
        .with_algorithms([Algorithm::RS256])
        .requiring([]);
    let verifier = DetachedVerifier::new(Arc::new(registry)).with_profile(profile);
    let payload = case["detached_payload_utf8"].as_str().unwrap().as_bytes();
    let token = case["compact_detached"].as_str().unwrap();
    let verified = verifier.verify(token, payload).unwrap();
    assert_eq!(verified.payload(), payload);
    assert!(matches!(
        verifier.verify(token, &payload[1..]),
        Err(Error::BadSignature)
    ));
}

/// A signer that records what it was asked to sign.
#[derive(Debug)]
struct Recording(KeySigner, Mutex<Vec<u8>>);

impl Signer for Recording {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        self.0.key_id()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        *self.1.lock().unwrap() = message.to_vec();
        self.0.sign(message)
    }
}

/// RFC 7797 4.2's layout: with `b64: false` the signing input is the
/// encoded header, a dot, and the payload bytes as they are ("$.02", dot
/// included). (The RFC's own signature is HS256, which this crate, for
/// public keys only, does not verify.)
#[test]
fn unencoded_signing_input_is_rfc7797_layout() {
    let recording = Arc::new(Recording(rsa(Algorithm::PS256), Mutex::new(Vec::new())));
    let signer = DetachedSigner::new(recording.clone(), ISSUER, ANCHOR)
        .with_profile(DetachedProfile::open_banking_v3_1_3())
        .with_clock(clock(NOW));
    let value = signer.sign(b"$.02").unwrap();
    let header = value.split_once('.').unwrap().0;
    assert_eq!(
        *recording.1.lock().unwrap(),
        format!("{header}.$.02").into_bytes()
    );
    verifier().verify(&value, b"$.02").unwrap();
}

/// Keys from a tenant key store, as for the other profiles: each tenant's
/// signatures verify against that tenant's keys only.
#[tokio::test]
async fn keys_from_a_tenant_store() {
    use signed_payloads::store::{KeyStore, MemoryKeyStore, TenantKeys};
    let store = Arc::new(MemoryKeyStore::new());
    let public =
        VerificationKey::new("tpp-1", key().public_key().clone(), Algorithm::PS256).unwrap();
    store.add_key("tpp-a", &public, "ops").await.unwrap();
    let verifier = DetachedVerifier::new(Arc::new(TenantKeys::new(store)))
        .with_key_issuer("tpp-1", ISSUER)
        .with_trust_anchors([ANCHOR])
        .with_clock(clock(NOW));
    let value = signer(DetachedProfile::open_banking(), NOW)
        .sign(BODY)
        .unwrap();
    let verified = verifier.verify_for("tpp-a", &value, BODY).await.unwrap();
    assert_eq!(verified.key_id(), Some("tpp-1"));
    assert!(matches!(
        verifier.verify_for("tpp-b", &value, BODY).await,
        Err(Error::UnknownTenant(_))
    ));
}

/// The detached-header profile with an EC and an Ed25519 key, for APIs
/// whose profile allows them (`with_algorithms`): a body signed with either
/// verifies, and a changed body does not.
#[test]
fn a_profile_that_allows_es256_and_eddsa_takes_those_keys() {
    let profile =
        DetachedProfile::open_banking().with_algorithms([Algorithm::ES256, Algorithm::EdDSA]);
    for (pem, alg) in [
        (include_str!("data/keys/ec-p256.pem"), Algorithm::ES256),
        (
            include_str!("data/keys/ed25519.pkcs8.pem"),
            Algorithm::EdDSA,
        ),
    ] {
        let key = PrivateKey::from_pem(pem).unwrap();
        let public = key.public_key().clone();
        let value = DetachedSigner::new(
            Arc::new(KeySigner::new(key, alg).unwrap().with_key_id("tpp-ec")),
            ISSUER,
            ANCHOR,
        )
        .with_profile(profile.clone())
        .with_clock(clock(NOW))
        .sign(BODY)
        .unwrap();
        let registry = KeyRegistry::new(VerificationKey::new("tpp-ec", public, alg).unwrap());
        let verifier = DetachedVerifier::new(Arc::new(registry))
            .with_key_issuer("tpp-ec", ISSUER)
            .with_trust_anchors([ANCHOR])
            .with_profile(profile.clone())
            .with_clock(clock(NOW));
        let verified = verifier.verify(&value, BODY).unwrap();
        assert_eq!(verified.key_id(), Some("tpp-ec"));
        assert!(matches!(
            verifier.verify(&value, b"{\"Data\":{}}"),
            Err(Error::BadSignature)
        ));
        // The preset (PS256 only) refuses them.
        assert!(
            verifier
                .with_profile(DetachedProfile::open_banking())
                .verify(&value, BODY)
                .is_err()
        );
    }
}
