//! `RequestSigner::node_compatible` against real Node `jsonwebtoken@9`:
//! the same key, clock and options over generated bodies (unicode, escapes,
//! big and small numbers, array-index keys, nesting, pretty-printing) must
//! give the same token, byte for byte, or both refuse. And the detached
//! profile against panva/`jose` both ways, in both encodings; and compact
//! tokens of every key kind (RS256, PS256, ES256, ES384, ES512, EdDSA)
//! both ways with `jose`.
//!
//! Needs `node` and `npm install --prefix tests/node` (`.ci/run` does it).
//! Without them the test prints a notice and passes, unless
//! `SIGNED_PAYLOADS_REQUIRE_NODE` is set (CI sets it), when it fails.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

mod peers;

use signed_payloads::request::RequestSigner;
use signed_payloads::{Algorithm, FixedClock, KeySigner, PrivateKey};

const NOW: u64 = 1_800_000_000;
const KEY: &str = "tests/data/keys/rsa2048.pkcs8.pem";

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "1.0",
    "-1.50",
    "0.1",
    "100",
    "1e21",
    "1E+21",
    "1e20",
    "1e-7",
    "1.5e-7",
    "0.000001",
    "123.456e10",
    "9007199254740993",
    "18446744073709551616",
    "-2.5e-300",
    "1.7976931348623157e308",
    "5e-324",
    "4.35",
    "0.30000000000000004",
    "12345678901234567890123",
    "1800000000",
    "1800000000.5",
    "3.0e2",
];

const STRINGS: &[&str] = &[
    "",
    "ada",
    "Ünïcödé",
    "日本語",
    "😀 emoji",
    "quote \\\" and backslash \\\\",
    "\\u0000\\u001f\\u007f",
    "tab\\tnew\\nline\\r",
    "\\b\\f",
    "\\u00e9\\u20ac",
    "\\ud83d\\ude00",
    "line\\u2028sep",
    "slash \\/ solidus",
    "<script>",
    "+15555550100",
];

const KEYS: &[&str] = &[
    "amount",
    "first_name",
    "data_points",
    "0",
    "1",
    "2",
    "10",
    "01",
    "4294967294",
    "4294967295",
    "-1",
    "1.5",
    "é",
    "k\\u0000",
    "\\\"q\\\"",
    "type",
    "phone_number",
    "nested",
    "list",
    "z",
    "a",
];

fn value(rng: &mut Rng, depth: u32) -> String {
    let kind = if depth > 3 {
        rng.below(4)
    } else {
        rng.below(7)
    };
    match kind {
        0 => rng.pick(NUMBERS).to_owned(),
        1 => format!("\"{}\"", rng.pick(STRINGS)),
        2 => rng.pick(&["true", "false", "null"]).to_owned(),
        3 => rng.pick(NUMBERS).to_owned(),
        4 | 5 => object(rng, depth + 1, false),
        _ => {
            let n = rng.below(4);
            let items: Vec<String> = (0..n).map(|_| value(rng, depth + 1)).collect();
            format!("[{}]", items.join(","))
        }
    }
}

/// An object without duplicate names; at the top, maybe an `iat`.
fn object(rng: &mut Rng, depth: u32, top: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    for _ in 0..rng.below(6) {
        let name = rng.pick(KEYS);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut members: Vec<String> = names
        .iter()
        .map(|name| format!("\"{name}\":{}", value(rng, depth)))
        .collect();
    if top && rng.below(3) == 0 {
        let iat = rng.pick(&["1700000000", "0", "1799999999.5", "1.8e9"]);
        let at = rng.below(members.len() as u64 + 1) as usize;
        members.insert(at, format!("\"iat\":{iat}"));
    }
    // Some bodies pretty-printed, as Python's json.dumps writes them.
    let separator = if rng.below(2) == 0 { ",\n  " } else { "," };
    format!("{{{}}}", members.join(separator))
}

/// The folder of the Node peers, or `None` (after saying so) when node or
/// the npm package `package` is missing and CI does not require them.
fn node_peer(package: &str) -> Option<std::path::PathBuf> {
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let have_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_node && peer.join("node_modules").join(package).exists() {
        return Some(peer);
    }
    if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_NODE").is_some() {
        panic!(
            "SIGNED_PAYLOADS_REQUIRE_NODE is set but node or tests/node/node_modules/{package} is missing"
        );
    }
    eprintln!("skipped: needs node and `npm install --prefix tests/node`");
    None
}

#[test]
fn node_compatible_signing_matches_node_jsonwebtoken_byte_for_byte() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(peer) = node_peer("jsonwebtoken") else {
        return;
    };

    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let mut jobs = Vec::new();
    for i in 0..300 {
        let body = object(&mut rng, 0, true);
        let expires_in = (i % 4 == 0).then_some(300u64);
        let no_timestamp = i % 7 == 0;
        jobs.push((body, expires_in, no_timestamp));
    }
    // A few bodies Node refuses: the signer must refuse them too.
    jobs.push((r#"{"exp":"soon"}"#.to_owned(), None, false));
    jobs.push((r#"{"iat":"now"}"#.to_owned(), None, false));
    jobs.push((r#"{"nbf":null}"#.to_owned(), None, false));
    jobs.push((r#"{"exp":1}"#.to_owned(), Some(300), false));

    let mut child = Command::new("node")
        .arg(peer.join("sign.js"))
        .arg(root.join(KEY))
        .arg(NOW.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (body, expires_in, no_timestamp) in &jobs {
        let job = serde_json::json!({ "body": body, "expiresIn": expires_in, "noTimestamp": no_timestamp });
        input.push_str(&job.to_string());
        input.push('\n');
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let node_tokens: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(node_tokens.len(), jobs.len());

    let key = PrivateKey::from_pem(&std::fs::read_to_string(root.join(KEY)).unwrap()).unwrap();
    let signer = Arc::new(
        KeySigner::new(key, Algorithm::RS256)
            .unwrap()
            .with_key_id("k1"),
    );
    let clock = Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(NOW)));
    let (mut same, mut refused) = (0, 0);
    for ((body, expires_in, no_timestamp), node) in jobs.iter().zip(&node_tokens) {
        let mut ours = RequestSigner::new(signer.clone())
            .node_compatible()
            .with_clock(clock.clone());
        if let Some(seconds) = expires_in {
            ours = ours.with_ttl(Duration::from_secs(*seconds));
        }
        if *no_timestamp {
            ours = ours.without_iat();
        }
        match ours.sign_json(body.as_bytes()) {
            Ok(token) => {
                assert_eq!(
                    &token, node,
                    "body {body} (expiresIn {expires_in:?}, noTimestamp {no_timestamp})"
                );
                same += 1;
            }
            Err(e) => {
                assert!(
                    node.starts_with("error: "),
                    "we refused {body} ({e}) but Node signed it"
                );
                refused += 1;
            }
        }
    }
    assert!(same >= 200, "only {same} bodies compared");
    eprintln!("{same} tokens identical to Node's, {refused} refused by both");
}

/// Runs `node detached.mjs args...` with `body` on stdin: `Ok(stdout)` on
/// success, `Err(stderr)` when jose refused.
fn jose(peer: &Path, args: &[&str], body: &[u8]) -> Result<String, String> {
    node(peer, "detached.mjs", args, body)
}

/// Runs `node SCRIPT args...` in the peer folder with `body` on stdin.
fn node(peer: &Path, script: &str, args: &[&str], body: &[u8]) -> Result<String, String> {
    let mut child = Command::new("node")
        .arg(peer.join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    if output.status.success() {
        Ok(text(output.stdout))
    } else {
        Err(text(output.stderr))
    }
}

/// Open Banking's detached signature, both ways with panva/jose (its
/// `FlattenedSign` with `b64: false` and `crit`, and without `b64`; its
/// `flattenedVerify` with the body supplied and the members recognised), in
/// both encodings; a changed body is refused on either side.
#[test]
fn detached_signatures_interoperate_with_node_jose() {
    use signed_payloads::detached::{DetachedProfile, DetachedSigner, DetachedVerifier};
    use signed_payloads::{KeyRegistry, VerificationKey};
    let Some(peer) = node_peer("jose") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let key = PrivateKey::from_pem(&std::fs::read_to_string(root.join(KEY)).unwrap()).unwrap();
    let spki = root.join("tests/data/keys/rsa2048.spki.pem");
    let clock = Arc::new(FixedClock::new(UNIX_EPOCH + Duration::from_secs(NOW)));
    let verifier = DetachedVerifier::new(Arc::new(KeyRegistry::new(
        VerificationKey::new("tpp-1", key.public_key().clone(), Algorithm::PS256).unwrap(),
    )))
    .with_key_issuer("tpp-1", "org/sw")
    .with_trust_anchors(["openbanking.org.uk"])
    .with_clock(clock.clone());
    let rsa = Arc::new(
        KeySigner::new(key, Algorithm::PS256)
            .unwrap()
            .with_key_id("tpp-1"),
    );
    let body = "{\"Data\":{\"Initiation\":{\"Amount\":\"10.00\",\"Name\":\"Zoë\"}}}".as_bytes();
    let tampered = b"{\"Data\":{\"Initiation\":{\"Amount\":\"99.00\",\"Name\":\"Zo\"}}}";
    for (variant, profile) in [
        ("b64false", DetachedProfile::open_banking_v3_1_3()),
        ("encoded", DetachedProfile::open_banking()),
    ] {
        // jose signs, we verify.
        let key_path = root.join(KEY);
        let args = [
            "sign",
            variant,
            key_path.to_str().unwrap(),
            "tpp-1",
            "1800000000",
            "org/sw",
            "openbanking.org.uk",
        ];
        let theirs = jose(&peer, &args, body).unwrap();
        let verified = verifier.verify(&theirs, body).unwrap();
        assert_eq!(verified.payload(), body, "{variant}");
        assert!(
            matches!(
                verifier.verify(&theirs, tampered),
                Err(signed_payloads::Error::BadSignature)
            ),
            "{variant}"
        );

        // We sign, jose verifies.
        let ours = DetachedSigner::new(rsa.clone(), "org/sw", "openbanking.org.uk")
            .with_profile(profile)
            .with_clock(clock.clone())
            .sign(body)
            .unwrap();
        let header = jose(&peer, &["verify", spki.to_str().unwrap(), &ours], body)
            .unwrap_or_else(|e| panic!("{variant}: jose refused ours: {e}"));
        let header: serde_json::Value = serde_json::from_str(&header).unwrap();
        assert_eq!(header["http://openbanking.org.uk/iat"], NOW, "{variant}");
        assert_eq!(header.get("b64").is_some(), variant == "b64false");
        let refused = jose(&peer, &["verify", spki.to_str().unwrap(), &ours], tampered);
        assert!(
            refused.is_err_and(|e| e.contains("SIGNATURE_VERIFICATION_FAILED")),
            "{variant}"
        );
    }
}

struct NodeJose(std::path::PathBuf);

impl peers::Peer for NodeJose {
    fn name(&self) -> &str {
        "node-jose"
    }

    fn sign(
        &self,
        alg: Algorithm,
        pkcs8: &Path,
        kid: &str,
        payload: &[u8],
    ) -> Result<String, String> {
        node(
            &self.0,
            "compact.mjs",
            &["sign", alg.as_str(), pkcs8.to_str().unwrap(), kid],
            payload,
        )
    }

    fn verify(&self, alg: Algorithm, spki: &Path, token: &str) -> Result<Vec<u8>, String> {
        node(
            &self.0,
            "compact.mjs",
            &["verify", alg.as_str(), spki.to_str().unwrap(), token],
            b"",
        )
        .map(String::into_bytes)
    }
}

#[test]
fn compact_tokens_of_every_kind_interoperate_with_node_jose() {
    let Some(peer) = node_peer("jose") else {
        return;
    };
    peers::both_ways(&NodeJose(peer));
}
