//! The request profile past the signature: header and payload are built
//! from the input and signed with a test key, so every input reaches the
//! header policy, the claims pass, the replay hook and the typed payload.
//! Oracle: a verified payload is exactly what was signed, and a token with
//! `jti` and `exp` never verifies twice through the replay store.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use signed_payloads::request::RequestVerifier;
use signed_payloads::{
    Algorithm, ClaimsPolicy, Error, FixedClock, Header, KeyRegistry, MemoryNonceStore, PrivateKey,
    RsaSigner, VerificationKey, jws,
};

const NOW: u64 = 1_800_000_000;

struct Keys {
    rs: RsaSigner,
    ps: RsaSigner,
    registry: Arc<KeyRegistry>,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let a = PrivateKey::from_pem(include_str!("../../tests/data/keys/rsa2048.pkcs8.pem")).unwrap();
        let b = PrivateKey::from_pem(include_str!("../../tests/data/rfc7515/A2.rsa_private_pkcs8.pem")).unwrap();
        let registry = KeyRegistry::from_keys([
            VerificationKey::new("a", a.public_key().clone(), Algorithm::RS256).unwrap(),
            VerificationKey::new("b", b.public_key().clone(), Algorithm::PS384).unwrap(),
        ])
        .unwrap();
        Keys {
            rs: RsaSigner::new(a, Algorithm::RS256),
            ps: RsaSigner::new(b, Algorithm::PS384),
            registry: Arc::new(registry),
        }
    })
}

/// A JSON value, small enough to stay interesting.
#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    /// Members written as given: names may repeat.
    Object(Vec<(Name, Json)>),
}

/// Member names: the registered claims most of the time.
#[derive(Arbitrary, Debug)]
enum Name {
    Exp,
    Nbf,
    Iat,
    Jti,
    Aud,
    Iss,
    Amount,
    Other(String),
}

impl Name {
    fn text(&self) -> &str {
        match self {
            Name::Exp => "exp",
            Name::Nbf => "nbf",
            Name::Iat => "iat",
            Name::Jti => "jti",
            Name::Aud => "aud",
            Name::Iss => "iss",
            Name::Amount => "amount",
            Name::Other(s) => s,
        }
    }
}

impl Json {
    fn write(&self, out: &mut String, depth: usize) {
        match self {
            _ if depth > 40 => out.push_str("null"),
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => out.push_str(&i.to_string()),
            Json::Float(f) => out.push_str(&serde_json::to_string(f).unwrap_or_else(|_| "0".into())),
            Json::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out, depth + 1);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(name.text()).unwrap());
                    out.push(':');
                    value.write(out, depth + 1);
                }
                out.push('}');
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Sign with the PS384 key instead of the RS256 one.
    ps: bool,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    extra: Vec<(String, String)>,
    unencoded: bool,
    /// The claims (usually an object), or raw bytes.
    payload: Result<Json, Vec<u8>>,
    /// Seconds added to the fixed clock.
    skew: i32,
    leeway: u16,
    require_exp: bool,
    require_kid: bool,
    audience: Option<String>,
    issuer: Option<String>,
    expect_typ: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // deserialized to reach the typed path
struct Typed<'a> {
    #[serde(default)]
    amount: Option<u64>,
    #[serde(borrow, default)]
    iss: Option<&'a str>,
}

fuzz_target!(|input: Input| {
    let keys = keys();
    let signer = if input.ps { &keys.ps } else { &keys.rs };
    let mut header = Header::new(if input.ps { Algorithm::PS384 } else { Algorithm::RS256 });
    header.kid = input.kid.clone();
    header.typ = input.typ.clone();
    header.cty = input.cty.clone();
    for (name, value) in &input.extra {
        header.extra.insert(name.clone(), value.clone().into());
    }
    if input.unencoded {
        header = header.unencoded_payload();
    }
    let payload = match &input.payload {
        Ok(json) => {
            let mut text = String::new();
            json.write(&mut text, 0);
            text.into_bytes()
        }
        Err(bytes) => bytes.clone(),
    };
    // Headers the crate refuses to sign (shadowed members) are not tokens.
    let Ok(token) = jws::sign(&header, &payload, signer) else {
        return;
    };

    let now = UNIX_EPOCH + Duration::from_secs(NOW.saturating_add_signed(i64::from(input.skew)));
    let mut policy = ClaimsPolicy::new()
        .with_clock(Arc::new(FixedClock::new(now)))
        .with_leeway(Duration::from_secs(u64::from(input.leeway)));
    if input.require_exp {
        policy = policy.require_exp();
    }
    if let Some(audience) = &input.audience {
        policy = policy.with_audience(audience);
    }
    if let Some(issuer) = &input.issuer {
        policy = policy.with_issuer(issuer);
    }
    let mut verifier = RequestVerifier::new(Arc::clone(&keys.registry))
        .with_claims(policy)
        .require_kid(input.require_kid);
    if let Some(typ) = &input.expect_typ {
        verifier = verifier.expect_typ(typ);
    }
    if let Ok(verified) = verifier.verify_bytes(&token) {
        assert_eq!(verified.payload(), &payload, "the verified payload is what was signed");
        let _ = verified.parse_json::<Typed<'_>>(&signed_payloads::Limits::default());
    }
    let _ = verifier.verify::<serde_json::Value>(&token);

    let guarded = verifier.with_replay_store(Arc::new(MemoryNonceStore::new(16)));
    if guarded.verify_bytes(&token).is_ok() {
        assert!(
            matches!(guarded.verify_bytes(&token), Err(Error::Replayed)),
            "a token verified once through the replay store never verifies again"
        );
    }
});
