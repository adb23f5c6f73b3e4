//! rustls client configurations, from a TLS profile or from command-line
//! flags: the aws-lc-rs provider, the versions allowed, the trusted CAs (a CA
//! file, or the system's roots), the client certificate and ALPN.
//!
//! [`ClientTls::build`] makes a plain configuration for ordinary use; the
//! `connect` tracer builds its own from the same settings with recording
//! hooks in place (see [`capture`](crate::capture)).

use std::sync::Arc;

use certbound_pki::CertDer;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};

use crate::capture::{CapturingResolver, CapturingVerifier, TicketRecorder};
use crate::error::Error;
use crate::material::Identity;
use crate::profile::{MinVersion, TlsProfile};
use crate::report::TrustSource;
use crate::trace::Shared;

/// ALPN identifiers.
pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Which TLS versions to offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Versions {
    /// TLS 1.2 and 1.3.
    #[default]
    Both,
    /// TLS 1.2 only (`--tls1.2`).
    Only12,
    /// TLS 1.3 only (`--tls1.3`, or a profile's `min_version = "1.3"`).
    Only13,
}

impl Versions {
    fn rustls(self) -> &'static [&'static SupportedProtocolVersion] {
        static BOTH: &[&SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        static V12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
        static V13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match self {
            Versions::Both => BOTH,
            Versions::Only12 => V12,
            Versions::Only13 => V13,
        }
    }

    /// "TLS 1.2 and 1.3", for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Versions::Both => "TLS 1.2 and 1.3",
            Versions::Only12 => "TLS 1.2 only",
            Versions::Only13 => "TLS 1.3 only",
        }
    }
}

impl From<MinVersion> for Versions {
    fn from(v: MinVersion) -> Self {
        match v {
            MinVersion::Tls12 => Versions::Both,
            MinVersion::Tls13 => Versions::Only13,
        }
    }
}

/// Everything a client needs to make TLS connections.
#[derive(Debug, Default)]
pub struct ClientTls {
    /// The client certificate, if any.
    pub identity: Option<Identity>,
    /// CAs that verify the server; `None`: the system's roots.
    pub ca: Option<Vec<CertDer>>,
    pub versions: Versions,
    /// ALPN protocols to offer, most preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Complete the handshake even when the server's certificate fails
    /// verification (the verdict is still computed and reported).
    pub insecure_skip_verify: bool,
}

/// The CAs a client trusts, loaded.
#[derive(Debug, Clone)]
pub struct Trust {
    pub anchors: Arc<Vec<CertDer>>,
    pub source: TrustSource,
}

impl ClientTls {
    /// The settings of a resolved profile.
    pub fn from_profile(profile: TlsProfile) -> Self {
        Self {
            identity: profile.identity,
            ca: profile.ca,
            versions: profile.min_version.into(),
            alpn: Vec::new(),
            insecure_skip_verify: false,
        }
    }

    /// The trusted CAs: the CA file's, or the system's.
    pub fn trust(&self) -> Result<Trust, Error> {
        Ok(match &self.ca {
            Some(certs) => Trust {
                anchors: Arc::new(certs.clone()),
                source: TrustSource::CaFile,
            },
            None => Trust {
                anchors: Arc::new(system_roots()?),
                source: TrustSource::SystemRoots,
            },
        })
    }

    /// A plain configuration: rustls' verifier, the client certificate
    /// offered whenever the server asks. Refuses `insecure_skip_verify`, which
    /// only the `connect` tracer honours (and reports).
    pub fn build(&self) -> Result<Arc<ClientConfig>, Error> {
        if self.insecure_skip_verify {
            return Err(Error::Config {
                reason: "insecure_skip_verify is only available to `certbound connect`".into(),
            });
        }
        let provider = provider();
        let trust = self.trust()?;
        let verifier = webpki_verifier(&trust, &provider)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.versions.rustls())
            .map_err(config_error)?
            .with_webpki_verifier(verifier);
        let mut config = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(config_error)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        Ok(Arc::new(config))
    }

    /// The configuration of the tracer: rustls' verification plus
    /// certbound's, recording into `shared`.
    pub(crate) fn traced_config(
        &self,
        trust: &Trust,
        shared: &Arc<Shared>,
    ) -> Result<ClientConfig, Error> {
        let provider = provider();
        let verifier = CapturingVerifier {
            inner: webpki_verifier(trust, &provider)?,
            anchors: trust.anchors.clone(),
            trust: trust.source,
            insecure: self.insecure_skip_verify,
            provider: provider.clone(),
            shared: shared.clone(),
        };
        let key = match &self.identity {
            Some(id) => Some(Arc::new(
                CertifiedKey::from_der(id.chain.clone(), id.key.clone_key(), &provider)
                    .map_err(config_error)?,
            )),
            None => None,
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(self.versions.rustls())
            .map_err(config_error)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(CapturingResolver {
                key,
                shared: shared.clone(),
            }));
        config.alpn_protocols = self.alpn.clone();
        config.resumption = Resumption::store(Arc::new(TicketRecorder {
            shared: shared.clone(),
        }));
        Ok(config)
    }
}

/// rustls with the aws-lc-rs provider, the one certbound uses everywhere.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The system's trusted CA certificates (the OS store, or the files named by
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`).
pub fn system_roots() -> Result<Vec<CertDer>, Error> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        return Err(Error::NoSystemRoots {
            detail: found
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(found.certs)
}

fn webpki_verifier(
    trust: &Trust,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, Error> {
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(trust.anchors.iter().cloned());
    if added == 0 {
        return Err(Error::Config {
            reason: "none of the CA certificates can serve as a trust anchor".into(),
        });
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::Config {
            reason: e.to_string(),
        })
}

fn config_error(e: rustls::Error) -> Error {
    Error::Config {
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use certbound_testkit::{LeafOptions, TestPki};

    use super::*;

    #[test]
    fn builds_a_plain_config_and_refuses_insecure() {
        let pki = TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pki
            .root
            .issue(&LeafOptions::client("c"))
            .write(dir.path(), "c", &[]);
        let tls = ClientTls {
            identity: Some(Identity::load(&cert, &key).unwrap()),
            ca: Some(vec![pki.root.cert.clone()]),
            versions: Versions::Only13,
            alpn: vec![ALPN_H2.to_vec()],
            insecure_skip_verify: false,
        };
        let config = tls.build().unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
        assert_eq!(config.alpn_protocols, [b"h2".to_vec()]);
        let insecure = ClientTls {
            insecure_skip_verify: true,
            ca: Some(vec![pki.root.cert.clone()]),
            ..ClientTls::default()
        };
        assert!(
            insecure
                .build()
                .unwrap_err()
                .to_string()
                .contains("only available to")
        );
        assert_eq!(Versions::from(MinVersion::Tls13), Versions::Only13);
    }
}
