//! rustls server configs for listeners, from their TLS profile.
//!
//! With `client_ca`, a client chain must verify to it at the handshake (the
//! rustls webpki verifier). Without it, the listener accepts any client chain
//! at the handshake, because trust is per client and decided at the token
//! endpoint, but the client must still prove possession of the private key:
//! the CertificateVerify signature is always checked here.

use std::sync::Arc;

use certbound_tls::profile::{ClientAuth, MinVersion, TlsProfile};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

/// Sessions remembered for resumption.
pub(crate) const SESSION_CACHE: usize = 8192;

/// Why a listener's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("the TLS profile `{profile}` has no certificate and key, which a listener needs")]
    NoIdentity { profile: String },
    #[error("the TLS profile `{profile}` cannot be used by a server: {reason}")]
    Rustls { profile: String, reason: String },
}

/// The crypto provider: aws-lc-rs with its default key-exchange groups
/// (the post-quantum hybrid X25519MLKEM768 first).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Build the server config of a listener. With `revocation`, a `client_ca`
/// listener refuses a client chain that its CRLs revoke (leaf and intermediates).
pub(crate) fn server_config(
    profile: &TlsProfile,
    revocation: Option<&certbound_pki::revocation::RevocationCheck>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let err = |reason: String| TlsSetupError::Rustls {
        profile: profile.name.clone(),
        reason,
    };
    let identity = profile
        .identity
        .as_ref()
        .ok_or_else(|| TlsSetupError::NoIdentity {
            profile: profile.name.clone(),
        })?;
    let provider = provider();
    let versions: &[&'static rustls::SupportedProtocolVersion] = match profile.min_version {
        MinVersion::Tls13 => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| err(e.to_string()))?;
    let builder = match (profile.client_auth, &profile.client_ca) {
        (ClientAuth::Off, _) => builder.with_no_client_auth(),
        (mode, Some(cas)) if mode != ClientAuth::OptionalNoCa => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots
                    .add(ca.clone())
                    .map_err(|e| err(format!("client_ca: {e}")))?;
            }
            let mut v =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            if mode == ClientAuth::Optional {
                v = v.allow_unauthenticated();
            }
            let crls = revocation
                .and_then(|r| r.crls.clone())
                .filter(|set| !set.is_empty());
            if let (Some(set), Some(check)) = (&crls, revocation) {
                // As at the token endpoint: a certificate whose issuer has no CRL
                // in the set is not checked; a stale CRL is unavailable.
                v = v.with_crls(set.ders()).allow_unknown_revocation_status();
                if check.unavailable == certbound_pki::revocation::Unavailable::Fail {
                    v = v.enforce_revocation_expiration();
                }
            }
            builder.with_client_cert_verifier(Arc::new(ScreenedVerifier {
                inner: v.build().map_err(|e| err(e.to_string()))?,
                crls,
                listener: profile.name.clone(),
            }))
        }
        (mode, _) => builder.with_client_cert_verifier(Arc::new(DeferredTrustVerifier {
            mandatory: mode == ClientAuth::Required,
            provider: provider.clone(),
        })),
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| err(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(config))
}

/// The webpki verifier of a `client_ca` listener, given only the presented
/// intermediates worth a path search (`certbound_pki::chain::screen_intermediates`):
/// a chain built to make the search explode is refused before it starts.
#[derive(Debug)]
struct ScreenedVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    /// The CRLs `inner` checks, to say which certificate a refusal is about.
    crls: Option<Arc<certbound_pki::revocation::CrlSet>>,
    /// The TLS profile's name, for the log.
    listener: String,
}

impl ClientCertVerifier for ScreenedVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let screened = certbound_pki::chain::screen_intermediates(end_entity, intermediates)
            .map_err(|e| {
                rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
                    rustls::OtherError(Arc::new(e)),
                ))
            })?;
        let result = self.inner.verify_client_cert(end_entity, &screened, now);
        if let (Err(rustls::Error::InvalidCertificate(e)), Some(crls)) = (&result, &self.crls) {
            log_revocation_refusal(&self.listener, e, crls, end_entity, &screened);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls12_signature(message, cert, dss)
            .map_err(|e| weak_key_or(cert, e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner
            .verify_tls13_signature(message, cert, dss)
            .map_err(|e| weak_key_or(cert, e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Name, in the log, the certificate a `client_ca` handshake was refused for
/// by its CRL: serial, subject, when and why it was revoked, or which CRL is stale.
fn log_revocation_refusal(
    profile: &str,
    error: &rustls::CertificateError,
    crls: &certbound_pki::revocation::CrlSet,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) {
    use certbound_pki::revocation::Status;
    use rustls::CertificateError as E;
    if !matches!(
        error,
        E::Revoked | E::ExpiredRevocationList | E::ExpiredRevocationListContext { .. }
    ) {
        return;
    }
    let now = time::OffsetDateTime::now_utc();
    for cert in std::iter::once(end_entity).chain(intermediates) {
        let info = certbound_pki::CertInfo::from_der(cert).ok();
        let subject = info.as_ref().map(|i| i.subject.clone()).unwrap_or_default();
        let serial = info.map(|i| i.serial).unwrap_or_default();
        match crls.status(cert, now) {
            Status::Revoked {
                crl,
                revoked_at,
                reason,
            } => {
                tracing::warn!(
                    profile,
                    %subject,
                    %serial,
                    revoked_at = %certbound_pki::time_fmt::rfc3339(revoked_at),
                    %reason,
                    crl = %crl.source,
                    "client certificate revoked: TLS handshake refused"
                );
                return;
            }
            Status::Stale { crl } => {
                tracing::warn!(
                    profile,
                    %subject,
                    %serial,
                    crl = %crl.source,
                    issuer = %crl.issuer,
                    next_update = %certbound_pki::time_fmt::rfc3339(crl.next_update),
                    "client certificate's revocation status unavailable (stale CRL): TLS handshake refused"
                );
                return;
            }
            _ => {}
        }
    }
}

/// Accepts any client chain at the handshake, leaving trust to the token
/// endpoint's per-client trust stores, and verifies the handshake signature so
/// that only the holder of the private key gets through.
#[derive(Debug)]
pub(crate) struct DeferredTrustVerifier {
    mandatory: bool,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for DeferredTrustVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // The chain is judged per client later; here it must at least be a certificate.
        webpki::EndEntityCert::try_from(end_entity)
            .map(|_| ClientCertVerified::assertion())
            .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .map_err(|e| weak_key_or(cert, e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .map_err(|e| weak_key_or(cert, e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Why a client's handshake signature failed, when its key is the cause: an
/// RSA key under 2048 bits verifies with no algorithm rustls accepts, which
/// rustls reports as a bad signature.
fn weak_key_or(cert: &CertificateDer<'_>, error: rustls::Error) -> rustls::Error {
    match certbound_pki::CertInfo::from_der(cert).map(|i| i.key) {
        Ok(certbound_pki::KeyKind::Rsa { bits }) if bits < 2048 => {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                Arc::new(WeakKey(format!(
                    "the client's RSA key has {bits} bits; at least 2048 are accepted"
                ))),
            )))
        }
        _ => error,
    }
}

#[derive(Debug)]
struct WeakKey(String);

impl std::fmt::Display for WeakKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WeakKey {}

#[cfg(test)]
mod tests {
    #[test]
    fn the_post_quantum_hybrid_group_is_preferred() {
        let groups: Vec<_> = super::provider()
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(
            groups.first(),
            Some(&rustls::NamedGroup::X25519MLKEM768),
            "{groups:?}"
        );
        assert!(groups.contains(&rustls::NamedGroup::X25519));
    }
}
