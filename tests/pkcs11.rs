//! The PKCS#11 signer against a real token: SoftHSM2, set up by
//! `scripts/softhsm.sh` (which prints the variables these tests read).
//!
//! PKCS#11 keeps one login per process and token, so a test that logs the
//! process out or changes the PIN holds [`TOKEN`] exclusively, and what needs
//! a process with no login at all (a wrong PIN, a token configured without a
//! mechanism) runs in a child process of this test binary.

#![cfg(feature = "pkcs11")]
// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::Attribute;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use signed_payloads::detached::{DetachedProfile, DetachedSigner, DetachedVerifier};
use signed_payloads::pkcs11::{KeyLocation, KeyMatch, Pin, Pkcs11Signer, TokenMatch};
use signed_payloads::request::{RequestSigner, RequestVerifier};
use signed_payloads::response::{ResponseSigner, ResponseVerifier};
use signed_payloads::{
    Algorithm, Error, KeyKind, KeyRegistry, KeyRejected, KeyVerifier, PublicKey, Signer,
    VerificationKey, Verifier,
};

const MODULE: &str = "SIGNED_PAYLOADS_PKCS11_MODULE";
const TOKEN_LABEL: &str = "SIGNED_PAYLOADS_PKCS11_TOKEN";
const PIN_FILE: &str = "SIGNED_PAYLOADS_PKCS11_PIN_FILE";
/// Set in the child process of `a_process_without_a_login`.
const CHILD: &str = "SIGNED_PAYLOADS_PKCS11_CHILD";

/// Read by tests that leave the process's login alone, written by those that
/// log out or change the PIN.
static TOKEN: RwLock<()> = RwLock::new(());

fn sharing() -> RwLockReadGuard<'static, ()> {
    TOKEN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    TOKEN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Token {
    module: PathBuf,
    label: String,
    pin_file: PathBuf,
}

impl Token {
    fn pin(&self) -> String {
        std::fs::read_to_string(&self.pin_file)
            .unwrap()
            .trim()
            .to_owned()
    }

    fn location(&self, key: &str) -> KeyLocation {
        KeyLocation::new(
            &self.module,
            TokenMatch::Label(self.label.clone()),
            KeyMatch::Label(key.to_owned()),
            Pin::from_file(&self.pin_file).unwrap(),
        )
    }

    fn signer(&self, key: &str, algorithm: Algorithm) -> Pkcs11Signer {
        Pkcs11Signer::open(self.location(key), algorithm).unwrap()
    }

    /// A second handle on the module, as another part of the process would
    /// hold, and the token's slot.
    fn other_handle(&self) -> (Pkcs11, Slot) {
        let context = Pkcs11::new(&self.module).unwrap();
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::CryptokiAlreadyInitialized,
                _,
            )) => {}
            Err(e) => panic!("{e}"),
        }
        let slot = context
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|slot| context.get_token_info(*slot).unwrap().label().trim_end() == self.label)
            .unwrap();
        (context, slot)
    }
}

/// A read-write session, logged in (or sharing the process's login).
fn logged_in(context: &Pkcs11, slot: Slot, pin: &str) -> Session {
    let session = context.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("{e}"),
    }
    session
}

fn token() -> Option<Token> {
    match (
        std::env::var_os(MODULE),
        std::env::var(TOKEN_LABEL),
        std::env::var_os(PIN_FILE),
    ) {
        (Some(module), Ok(label), Some(pin_file)) => Some(Token {
            module: module.into(),
            label,
            pin_file: pin_file.into(),
        }),
        _ if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PKCS11").is_some() => {
            panic!(
                "SIGNED_PAYLOADS_REQUIRE_PKCS11 is set but {MODULE}, {TOKEN_LABEL} or {PIN_FILE} is not"
            )
        }
        _ => {
            static SAY: Once = Once::new();
            SAY.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\nskipped: the SoftHSM2 tests in tests/pkcs11.rs ({MODULE} is not set). To run them:\n    \
                     eval \"$(scripts/softhsm.sh start)\" && cargo test --features pkcs11 --test pkcs11\n"
                );
            });
            None
        }
    }
}

/// A scratch folder of this test's own.
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "signed-payloads-pkcs11-{}-{name}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `openssl dgst -verify`, an implementation that shares nothing with ours.
fn openssl_verifies(
    dir: &Path,
    public: &PublicKey,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    std::fs::write(dir.join("public.pem"), public.to_pem()).unwrap();
    std::fs::write(dir.join("message"), message).unwrap();
    std::fs::write(dir.join("signature"), signature).unwrap();
    let name = algorithm.as_str();
    let digest = format!("-sha{}", &name[2..]);
    let mut command = Command::new("openssl");
    command.current_dir(dir).args([
        "dgst",
        &digest,
        "-verify",
        "public.pem",
        "-signature",
        "signature",
    ]);
    if name.starts_with("PS") {
        command.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    let output = command.arg("message").output().unwrap();
    output.status.success()
}

fn data(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn six_rsa_algorithms_verify_here_and_in_openssl() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let dir = scratch("openssl");
    let message = br#"{"amount":{"value":"10.00","currency":"GBP"}}"#;
    for key in ["rsa-2048", "rsa-3072"] {
        for algorithm in Algorithm::ALL.into_iter().filter(|a| a.fits(KeyKind::Rsa)) {
            let hsm = token.signer(key, algorithm);
            let signature = hsm.sign(message).unwrap();
            let public = hsm.public_key().clone();
            assert_eq!(public.bits(), if key == "rsa-2048" { 2048 } else { 3072 });
            KeyVerifier::new(public.clone(), algorithm)
                .unwrap()
                .verify(message, &signature)
                .unwrap_or_else(|e| panic!("{key} {algorithm}: {e}"));
            assert!(
                openssl_verifies(&dir, &public, algorithm, message, &signature),
                "openssl refused {key} {algorithm}"
            );
            // And openssl is not a yes-sayer: a changed message fails there too.
            assert!(!openssl_verifies(
                &dir, &public, algorithm, b"{}", &signature
            ));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_public_half_comes_from_the_token() {
    let Some(token) = token() else { return };
    let _token = sharing();
    // rsa-2048 was imported from this file: the token shows the same key.
    let expected = PublicKey::from_pem(&data("keys/rsa2048.spki.pem")).unwrap();
    let hsm = token.signer("rsa-2048", Algorithm::RS256);
    assert_eq!(hsm.public_key().to_spki_der(), expected.to_spki_der());
    assert_eq!(hsm.public_key().thumbprint(), expected.thumbprint());
}

#[test]
fn an_rfc7512_uri_finds_the_key_by_label_or_id() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let by_fields = token.signer("rsa-3072", Algorithm::PS256);
    let query = format!(
        "module-path={}&pin-source=file:{}",
        token.module.display(),
        token.pin_file.display()
    );
    for path in [
        format!("token={};object=rsa-3072;type=private", token.label),
        // %02 is the key's CKA_ID.
        format!("token={};id=%02", token.label),
    ] {
        let uri = format!("pkcs11:{path}?{query}");
        let hsm =
            Pkcs11Signer::open(KeyLocation::from_uri(&uri).unwrap(), Algorithm::PS256).unwrap();
        assert_eq!(
            hsm.public_key().thumbprint(),
            by_fields.public_key().thumbprint(),
            "{uri}"
        );
        let signature = hsm.sign(b"payload").unwrap();
        KeyVerifier::new(by_fields.public_key().clone(), Algorithm::PS256)
            .unwrap()
            .verify(b"payload", &signature)
            .unwrap();
    }
}

#[test]
fn every_profile_signs_through_the_token() {
    let Some(token) = token() else { return };
    let _token = sharing();

    // Request signing: a JWT with the token's key, verified against the
    // public half the token showed.
    let hsm = token
        .signer("rsa-2048", Algorithm::RS256)
        .with_key_id("program-key-1");
    let registry = Arc::new(
        KeyRegistry::from_keys([VerificationKey::new(
            "program-key-1",
            hsm.public_key().clone(),
            Algorithm::RS256,
        )
        .unwrap()])
        .unwrap(),
    );
    let jwt = RequestSigner::new(Arc::new(hsm))
        .sign_json(br#"{"user":"ada"}"#)
        .unwrap();
    let verified = RequestVerifier::new(registry).verify_bytes(&jwt).unwrap();
    assert_eq!(verified.key_id(), Some("program-key-1"));

    // Response signing, header mode, PS384.
    let hsm = token
        .signer("rsa-3072", Algorithm::PS384)
        .with_key_id("api-1");
    let registry = Arc::new(
        KeyRegistry::from_keys([VerificationKey::new(
            "api-1",
            hsm.public_key().clone(),
            Algorithm::PS384,
        )
        .unwrap()])
        .unwrap(),
    );
    let body = br#"{"id":"card-1"}"#;
    let headers = ResponseSigner::new(Arc::new(hsm))
        .sign_headers(201, body)
        .unwrap();
    ResponseVerifier::new(registry)
        .verify_headers(201, headers.iter(), body)
        .unwrap();

    // The detached x-jws-signature profile, PS256.
    let hsm = token
        .signer("rsa-2048", Algorithm::PS256)
        .with_key_id("tpp-1");
    let registry = Arc::new(
        KeyRegistry::from_keys([VerificationKey::new(
            "tpp-1",
            hsm.public_key().clone(),
            Algorithm::PS256,
        )
        .unwrap()])
        .unwrap(),
    );
    let profile = DetachedProfile::open_banking();
    let signature = DetachedSigner::new(Arc::new(hsm), "tpp", "openbanking.org.uk")
        .with_profile(profile.clone())
        .sign(body)
        .unwrap();
    DetachedVerifier::new(registry)
        .with_profile(profile)
        .with_key_issuer("tpp-1", "tpp")
        .with_trust_anchors(["openbanking.org.uk"])
        .verify(&signature, body)
        .unwrap();
}

#[test]
fn eight_threads_share_a_bounded_pool_of_sessions() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let hsm = Arc::new(
        token
            .signer("rsa-2048", Algorithm::PS256)
            .with_max_sessions(3),
    );
    let verifier = KeyVerifier::new(hsm.public_key().clone(), Algorithm::PS256).unwrap();
    let most = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (hsm, verifier, most) = (&hsm, &verifier, &most);
            scope.spawn(move || {
                for i in 0..25 {
                    let message = format!("thread {thread} signature {i}");
                    let signature = hsm.sign(message.as_bytes()).unwrap();
                    verifier.verify(message.as_bytes(), &signature).unwrap();
                    most.fetch_max(hsm.open_sessions(), Ordering::Relaxed);
                }
            });
        }
    });
    let most = most.into_inner();
    assert!(most <= 3, "{most} sessions were open at once");
    assert!(
        most >= 2,
        "the threads never signed side by side ({most} session)"
    );
}

#[test]
fn a_logout_underneath_is_recovered_with_a_new_session() {
    let Some(token) = token() else { return };
    let _token = exclusive();
    let hsm = token
        .signer("rsa-2048", Algorithm::RS256)
        .with_max_sessions(2);
    let verifier = KeyVerifier::new(hsm.public_key().clone(), Algorithm::RS256).unwrap();
    // Two threads side by side until the pool holds two sessions, so the
    // logout below leaves an idle session behind that is no good either.
    for _ in 0..200 {
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..5 {
                        let signature = hsm.sign(b"before").unwrap();
                        verifier.verify(b"before", &signature).unwrap();
                    }
                });
            }
        });
        if hsm.open_sessions() == 2 {
            break;
        }
    }
    assert_eq!(hsm.open_sessions(), 2);

    // Another part of the process logs the token out: every session of the
    // process, the signer's among them, loses its login.
    let (context, slot) = token.other_handle();
    for round in 0..2 {
        let session = logged_in(&context, slot, &token.pin());
        session.logout().unwrap();
        drop(session);
        let message = format!("after logout {round}");
        let signature = hsm
            .sign(message.as_bytes())
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        verifier.verify(message.as_bytes(), &signature).unwrap();
        assert!(hsm.open_sessions() <= 2);
    }
}

#[test]
fn refusals_name_what_is_wrong() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let open = |location: KeyLocation| Pkcs11Signer::open(location, Algorithm::PS256).unwrap_err();
    let config = |e: Error| match e {
        Error::Config(message) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    };

    let message = config(open(token.location("no-such-key")));
    assert_eq!(
        message,
        "no private key labelled \"no-such-key\" on the PKCS#11 token"
    );

    // An EC key is never bound to an RSA algorithm.
    let err = open(token.location("ec-p256"));
    assert!(
        matches!(&err, Error::KeyRejected(KeyRejected::WrongAlgorithm { .. })),
        "{err}"
    );

    let mut elsewhere = token.location("rsa-2048");
    elsewhere.token = TokenMatch::Label("no-such-token".into());
    let message = config(open(elsewhere));
    assert_eq!(
        message,
        "no PKCS#11 token labelled \"no-such-token\" is present"
    );

    let mut missing = token.location("rsa-2048");
    missing.module = "/nonexistent/libpkcs11.so".into();
    let message = config(open(missing));
    assert!(
        message.starts_with("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"),
        "{message}"
    );

    // Two keys made here as session objects (gone when the session closes):
    // one that may not sign, one that may but can never be extracted.
    let (context, slot) = token.other_handle();
    let session = logged_in(&context, slot, &token.pin());
    let make = |label: &str, sign: bool| {
        session
            .generate_key_pair(
                &Mechanism::RsaPkcsKeyPairGen,
                &[
                    Attribute::Token(false),
                    Attribute::ModulusBits(2048.into()),
                    Attribute::PublicExponent(vec![1, 0, 1]),
                    Attribute::Verify(true),
                    Attribute::Label(label.as_bytes().to_vec()),
                ],
                &[
                    Attribute::Token(false),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(sign),
                    Attribute::Label(label.as_bytes().to_vec()),
                ],
            )
            .unwrap()
    };
    let pid = std::process::id();
    let no_sign = format!("no-sign-{pid}");
    let sealed = format!("sealed-{pid}");
    make(&no_sign, false);
    make(&sealed, true);
    let message = config(open(token.location(&no_sign)));
    assert_eq!(
        message,
        format!("the private key labelled \"{no_sign}\" may not sign (CKA_SIGN is false)")
    );
    let hsm = Pkcs11Signer::open(token.location(&sealed), Algorithm::PS512).unwrap();
    let signature = hsm.sign(b"sealed").unwrap();
    KeyVerifier::new(hsm.public_key().clone(), Algorithm::PS512)
        .unwrap()
        .verify(b"sealed", &signature)
        .unwrap();
    drop(hsm);
    drop(session);
}

#[test]
fn debug_never_shows_the_pin() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let pin = token.pin();
    let hsm = token.signer("rsa-2048", Algorithm::RS256).with_key_id("k");
    let uri = format!(
        "pkcs11:token={};object=rsa-2048?module-path={}&pin-value={pin}",
        token.label,
        token.module.display()
    );
    let location = KeyLocation::from_uri(&uri).unwrap();
    for shown in [
        format!("{hsm:?}"),
        format!("{location:?}"),
        format!("{:?}", Pin::new(pin.clone())),
        format!("{:?}", Pin::from_file(&token.pin_file).unwrap()),
    ] {
        assert!(!shown.contains(&pin), "{shown}");
    }
    assert_eq!(format!("{:?}", Pin::new(pin)), "Pin(..)");
}

/// What needs a process that has never logged in: run as a child (see
/// `a_process_without_a_login`), against a configuration whose token lacks
/// `CKM_SHA512_RSA_PKCS_PSS`.
#[test]
#[ignore = "run by a_process_without_a_login in a process of its own"]
fn in_a_fresh_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let token = token().unwrap();
    let config = |e: Error| match e {
        Error::Config(message) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    };

    // A mechanism the token lacks: refused before any login.
    let message =
        config(Pkcs11Signer::open(token.location("rsa-2048"), Algorithm::PS512).unwrap_err());
    assert_eq!(
        message,
        "the token does not offer CKM_SHA512_RSA_PKCS_PSS (PS512)"
    );

    // A wrong PIN: one clear error.
    let mut wrong = token.location("rsa-2048");
    wrong.pin = Pin::new("not-the-pin");
    let error = Pkcs11Signer::open(wrong, Algorithm::PS256).unwrap_err();
    assert!(!format!("{error:?}{error}").contains("not-the-pin"));
    assert_eq!(
        config(error),
        "the PKCS#11 token refused the PIN (not tried again: tokens lock)"
    );

    // The PIN changes under a working signer, and the process is logged out:
    // the signer's next login is refused, and it never tries again, even
    // once the old PIN would work again.
    let pin = token.pin();
    let hsm = token.signer("rsa-2048", Algorithm::PS256);
    hsm.sign(b"before").unwrap();
    let (context, slot) = token.other_handle();
    let (old, new) = (
        AuthPin::from(pin.clone()),
        AuthPin::from(format!("{pin}-changed")),
    );
    let session = logged_in(&context, slot, &pin);
    session.set_pin(&old, &new).unwrap();
    session.logout().unwrap();
    drop(session);
    let refused = hsm.sign(b"after the change");
    // Put the PIN back before judging, so the token stays usable.
    let session = logged_in(&context, slot, &format!("{pin}-changed"));
    session.set_pin(&new, &old).unwrap();
    session.logout().unwrap();
    drop(session);
    assert_eq!(
        config(refused.unwrap_err()),
        "the PKCS#11 token refused the PIN (not tried again: tokens lock)"
    );
    assert_eq!(
        config(hsm.sign(b"after the PIN came back").unwrap_err()),
        "the PKCS#11 token refused the PIN (not tried again: tokens lock)"
    );
    // A new signer with the PIN now right works.
    token
        .signer("rsa-2048", Algorithm::PS256)
        .sign(b"new signer")
        .unwrap();
}

#[test]
fn a_process_without_a_login() {
    if token().is_none() {
        return;
    }
    // The child changes the PIN for a moment: nothing here may log in then.
    let _token = exclusive();
    let config = PathBuf::from(std::env::var_os("SOFTHSM2_CONF").expect("SOFTHSM2_CONF is set"));
    let restricted = scratch("conf").join("softhsm2.conf");
    let mut text = std::fs::read_to_string(&config).unwrap();
    // Everything the child signs with, and not CKM_SHA512_RSA_PKCS_PSS.
    text.push_str(
        "\nslots.mechanisms = CKM_SHA256_RSA_PKCS,CKM_SHA384_RSA_PKCS,CKM_SHA512_RSA_PKCS,\
         CKM_SHA256_RSA_PKCS_PSS,CKM_SHA384_RSA_PKCS_PSS\n",
    );
    std::fs::write(&restricted, text).unwrap();

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "in_a_fresh_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("SOFTHSM2_CONF", &restricted)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
    std::fs::remove_dir_all(restricted.parent().unwrap()).unwrap();
}

/// EC and Ed25519 keys on the token sign ES256, ES384 and EdDSA; the public
/// half the token shows is the key file's, and the crate's verifier (and
/// openssl's, for ECDSA) accepts what the token signed.
#[test]
fn ec_and_ed25519_keys_sign_on_the_token() {
    let Some(token) = token() else { return };
    let _token = sharing();
    let message = br#"{"amount":{"value":"10.00","currency":"GBP"}}"#;
    for (label, file, algorithm) in [
        ("ec-p256", "ec-p256.pem", Algorithm::ES256),
        ("ec-p384", "ec-p384.pem", Algorithm::ES384),
        ("ed25519", "ed25519.pkcs8.pem", Algorithm::EdDSA),
    ] {
        let hsm = token.signer(label, algorithm);
        let public = hsm.public_key().clone();
        let file = std::fs::read_to_string(format!("tests/data/keys/{file}")).unwrap();
        assert_eq!(
            &public,
            signed_payloads::PrivateKey::from_pem(&file)
                .unwrap()
                .public_key(),
            "{label}"
        );
        assert_eq!(public.kind(), algorithm.key_kind());
        let verifier = KeyVerifier::new(public, algorithm).unwrap();
        for _ in 0..3 {
            let signature = hsm.sign(message).unwrap();
            verifier
                .verify(message, &signature)
                .unwrap_or_else(|e| panic!("{label} {algorithm}: {e}"));
            assert!(verifier.verify(b"{}", &signature).is_err());
        }
        // The kind's other algorithms are refused when the key is opened.
        let other = if algorithm == Algorithm::EdDSA {
            Algorithm::ES256
        } else {
            Algorithm::PS256
        };
        let err = Pkcs11Signer::open(token.location(label), other).unwrap_err();
        assert!(
            matches!(&err, Error::KeyRejected(KeyRejected::WrongAlgorithm { .. })),
            "{label} {other}: {err}"
        );
    }
}
