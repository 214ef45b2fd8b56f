//! Trust anchors and a rustls client configuration for the PostgreSQL and
//! Redis stores: a CA given as PEM (a managed service's, or one of your
//! own), or the system's trust store.

// Redis (whose client builds its own TLS configuration) uses only the PEM
// check; PostgreSQL uses all of it.
#![cfg_attr(not(feature = "postgres"), allow(dead_code))]

use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::error::Error;

/// Where the certificates that may vouch for a server come from.
#[derive(Debug, Clone)]
pub(crate) enum TrustAnchors {
    /// The operating system's store.
    System,
    /// Every certificate in this PEM (a CA file's contents).
    Pem(Vec<u8>),
    /// None: for a connection that never uses TLS.
    Nothing,
}

impl TrustAnchors {
    /// Reads a PEM CA file; `what` names the setting for the error.
    pub(crate) fn from_file(path: &str, what: &str) -> Result<Self, Error> {
        std::fs::read(path)
            .map(TrustAnchors::Pem)
            .map_err(|e| Error::Config(format!("{what}: cannot read the CA file {path}: {e}")))
    }

    /// The anchors as certificates, or a configuration error saying why
    /// none could be had.
    pub(crate) fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, Error> {
        let certificates = match self {
            TrustAnchors::Nothing => return Ok(Vec::new()),
            TrustAnchors::System => rustls_native_certs::load_native_certs().certs,
            TrustAnchors::Pem(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Config(format!("the CA file is not PEM certificates: {e}")))?,
        };
        if certificates.is_empty() {
            return Err(Error::Config(match self {
                TrustAnchors::System => {
                    "no trust anchors were found in the system's store; give a CA file".into()
                }
                TrustAnchors::Pem(_) | TrustAnchors::Nothing => {
                    "the CA file holds no certificate".into()
                }
            }));
        }
        Ok(certificates)
    }

    /// A client configuration that verifies the server's chain against
    /// these anchors and its name against the host connected to.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let mut roots = RootCertStore::empty();
        let certificates = self.certificates()?;
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 && !matches!(self, TrustAnchors::Nothing) {
            return Err(Error::Config(
                "none of the CA certificates could be used as a trust anchor".into(),
            ));
        }
        // The provider is named, not taken from a process default, so that
        // another crate's choice of provider cannot make this fail.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}
