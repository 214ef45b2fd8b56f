//! Compact JWS of every key kind (RS256, PS256, ES256, ES384, ES512, EdDSA)
//! both ways with PyJWT on pyca/cryptography.
//!
//! Needs the peer that `eval "$(scripts/python-peer.sh)"` installs (it sets
//! `SIGNED_PAYLOADS_PYTHON`). Without it the test prints a notice and
//! passes, unless `SIGNED_PAYLOADS_REQUIRE_PYTHON` is set (CI sets it),
//! when it fails.

// A test that meets an unexpected result should stop loudly.
#![allow(clippy::unwrap_used)]

mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use signed_payloads::Algorithm;

struct PyJwt {
    python: PathBuf,
    script: PathBuf,
}

impl PyJwt {
    fn run(&self, args: &[&str], stdin: &[u8]) -> Result<Vec<u8>, String> {
        let mut child = Command::new(&self.python)
            .arg(&self.script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

impl peers::Peer for PyJwt {
    fn name(&self) -> &str {
        "pyjwt"
    }

    fn sign(
        &self,
        alg: Algorithm,
        pkcs8: &Path,
        kid: &str,
        payload: &[u8],
    ) -> Result<String, String> {
        let out = self.run(
            &["sign", alg.as_str(), pkcs8.to_str().unwrap(), kid],
            payload,
        )?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn verify(&self, alg: Algorithm, spki: &Path, token: &str) -> Result<Vec<u8>, String> {
        self.run(
            &["verify", alg.as_str(), spki.to_str().unwrap(), token],
            b"",
        )
    }
}

#[test]
fn compact_tokens_of_every_kind_interoperate_with_pyjwt() {
    let Some(python) = std::env::var_os("SIGNED_PAYLOADS_PYTHON") else {
        if std::env::var_os("SIGNED_PAYLOADS_REQUIRE_PYTHON").is_some() {
            panic!("SIGNED_PAYLOADS_REQUIRE_PYTHON is set but SIGNED_PAYLOADS_PYTHON is not");
        }
        eprintln!("skipped: needs `eval \"$(scripts/python-peer.sh)\"`");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/peer.py");
    peers::both_ways(&PyJwt {
        python: python.into(),
        script,
    });
}
