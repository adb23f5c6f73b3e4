//! The hooks rustls calls during a client handshake, made to record what they
//! see: the server's chain and the verdict on it (with `certbound check`'s
//! diagnosis, so the words match), the client-certificate request with its
//! acceptable CA names, and session tickets (which tell that a TLS 1.3 server
//! accepted the client's Finished).
//!
//! Verification is never weakened silently: the verifier enforces rustls'
//! verdict and certbound's own (the stricter of the two), and lets a failure
//! pass only when built with `insecure_skip_verify`, which the report shows.

use std::sync::Arc;

use certbound_pki::chain::{self, Usage};
use certbound_pki::host::{HostVerdict, check_host};
use certbound_pki::{CertDer, CertInfo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{
    ClientSessionStore, ResolvesClientCert, Tls12ClientSessionValue, Tls13ClientSessionValue,
    WebPkiServerVerifier,
};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DigitallySignedStruct, NamedGroup, SignatureScheme};
use rustls_pki_types::{ServerName, UnixTime};
use time::OffsetDateTime;

use crate::report::{Staple, TrustSource, Verification};
use crate::trace::{CertRequest, Event, Shared};

/// Verifies the server like rustls does, and records the chain and verdict.
#[derive(Debug)]
pub(crate) struct CapturingVerifier {
    pub inner: Arc<WebPkiServerVerifier>,
    pub anchors: Arc<Vec<CertDer>>,
    pub trust: TrustSource,
    pub insecure: bool,
    pub provider: Arc<CryptoProvider>,
    pub shared: Arc<Shared>,
}

/// certbound's own verdict refused a chain rustls accepted (e.g. an expired
/// trust anchor, which webpki does not check).
#[derive(Debug)]
struct StricterVerdict(String);

impl std::fmt::Display for StricterVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StricterVerdict {}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls_pki_types::CertificateDer<'_>,
        intermediates: &[rustls_pki_types::CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let rustls_verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let leaf = end_entity.clone().into_owned();
        let chain: Vec<CertDer> = intermediates
            .iter()
            .map(|c| c.clone().into_owned())
            .collect();
        let when =
            OffsetDateTime::from_unix_timestamp(i64::try_from(now.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let verification = verdict(
            &leaf,
            &chain,
            &self.anchors,
            self.trust,
            &server_name.to_str(),
            rustls_verdict.as_ref().err(),
            !self.insecure,
            when,
        );
        let mut verification = verification;
        verification.ocsp_staple = Some(staple(ocsp_response, &leaf, &chain, &self.anchors, when));
        let ok = verification.ok;
        let message = verification.chain_message.clone();
        {
            let mut trace = self.shared.lock();
            trace.server_chain = std::iter::once(leaf).chain(chain).collect();
            trace.verification = Some(verification);
            trace.events.push(Event::ServerCertificate);
        }
        match rustls_verdict {
            _ if self.insecure => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
            Ok(v) if ok => Ok(v),
            Ok(_) => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                rustls::OtherError(Arc::new(StricterVerdict(message))),
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.shared.lock().events.push(Event::ServerSignature);
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The verdict on a server chain, in `certbound check`'s words.
#[allow(clippy::too_many_arguments)]
pub(crate) fn verdict(
    leaf: &CertDer,
    intermediates: &[CertDer],
    anchors: &[CertDer],
    trust: TrustSource,
    host: &str,
    rustls_error: Option<&rustls::Error>,
    enforced: bool,
    now: OffsetDateTime,
) -> Verification {
    let chain_result = chain::verify(leaf, intermediates, anchors, Usage::Server, now);
    let info = CertInfo::from_der(leaf).ok();
    let host_verdict = info.as_ref().map(|i| check_host(leaf, i, host));
    let (host_ok, host_message, host_fix) = match host_verdict {
        Some(HostVerdict::Match) => (true, format!("'{host}' matches the certificate"), None),
        Some(HostVerdict::CommonNameOnly { cn }) => (
            false,
            format!(
                "'{host}' appears only as the subject CN '{cn}', which TLS clients ignore; the certificate's SANs do not name it"
            ),
            Some(format!(
                "re-issue the server certificate with a SAN for '{host}'"
            )),
        ),
        Some(HostVerdict::NoMatch { sans }) => (
            false,
            format!(
                "the certificate is for {}, not '{host}'",
                if sans.is_empty() {
                    "no name at all (no SANs)".to_string()
                } else {
                    sans.join(", ")
                }
            ),
            Some(format!(
                "connect with a name the certificate is for (--servername NAME), or have the server use a certificate whose SANs include '{host}'"
            )),
        ),
        Some(HostVerdict::InvalidHost { reason }) => (
            false,
            format!("'{host}' is not a valid host name: {reason}"),
            None,
        ),
        None => (
            false,
            "the server's certificate cannot be parsed".to_string(),
            None,
        ),
    };
    let (chain_ok, chain_code, chain_message, path, chain_fix) = match chain_result {
        Ok(v) => (
            true,
            None,
            format!("chain verified: {}", v.path.join(" → ")),
            v.path,
            None,
        ),
        Err(e) => (
            false,
            Some(e.code().to_string()),
            chain_message(&e, trust, anchors.len()),
            Vec::new(),
            Some(server_chain_fix(&e, trust)),
        ),
    };
    let mut verification = Verification {
        ok: chain_ok && host_ok,
        enforced,
        trust,
        anchors: anchors.len(),
        chain_ok,
        chain_code,
        chain_message,
        path,
        host_ok,
        host_message,
        fix: chain_fix.or(host_fix),
        ocsp_staple: None,
    };
    // rustls refused for a reason certbound's words do not cover (e.g. a
    // revoked or malformed certificate): say so rather than claim success.
    if let (Some(e), true) = (rustls_error, verification.ok) {
        verification.ok = false;
        verification.chain_ok = false;
        verification.chain_message = format!("rustls refused the certificate: {e}");
        verification.fix = Some(
            "inspect the chain with `openssl s_client -showcerts` and `certbound check`".into(),
        );
    }
    verification
}

/// What a stapled OCSP response says about `leaf`, checked with its issuer
/// (from the chain sent, else the trust anchors).
fn staple(
    response: &[u8],
    leaf: &CertDer,
    chain: &[CertDer],
    anchors: &[CertDer],
    now: OffsetDateTime,
) -> Staple {
    use certbound_pki::ocsp::{self, OcspStatus};
    if response.is_empty() {
        return Staple::None;
    }
    let Some(issuer) = chain
        .iter()
        .chain(anchors)
        .find(|c| ocsp::issued_by(leaf, c))
    else {
        return Staple::Invalid {
            reason: "the leaf's issuer is not known, so the response cannot be checked".into(),
        };
    };
    match ocsp::verify_response(response, leaf, issuer, None, now) {
        Ok(answer) => match answer.status {
            OcspStatus::Good { next_update } => Staple::Good { next_update },
            OcspStatus::Revoked { at, reason } => Staple::Revoked {
                at,
                reason: reason.map(|r| r.name().to_string()),
            },
            OcspStatus::Unknown => Staple::Unknown,
        },
        Err(e) => Staple::Invalid {
            reason: e.to_string(),
        },
    }
}

/// `certbound check`'s words, except that a long list of trusted CAs (the
/// system's, or a big CA file) is counted rather than listed.
fn chain_message(e: &chain::ChainError, trust: TrustSource, anchors: usize) -> String {
    const LISTED: usize = 5;
    let store = match trust {
        TrustSource::CaFile => "the CA file",
        TrustSource::SystemRoots => "the system's trust store",
    };
    match e {
        chain::ChainError::UnknownCa { cert, issuer, .. }
            if trust == TrustSource::SystemRoots || anchors > LISTED =>
        {
            format!(
                "unknown CA: '{cert}' was issued by '{issuer}', which is not among the {anchors} CA certificates of {store}"
            )
        }
        chain::ChainError::UntrustedRoot {
            root,
            is_leaf: false,
        } if trust == TrustSource::SystemRoots => {
            format!("the chain ends at root '{root}', which is not in the system's trust store")
        }
        other => other.to_string(),
    }
}

fn server_chain_fix(e: &chain::ChainError, trust: TrustSource) -> String {
    use chain::ChainError as C;
    match (e, trust) {
        (C::UnknownCa { issuer, .. }, TrustSource::CaFile) => format!(
            "pass the CA that issued the server's certificate with --ca (the certificate of '{issuer}' or its root)"
        ),
        (C::UnknownCa { issuer, .. }, TrustSource::SystemRoots) => format!(
            "the server's CA '{issuer}' is not a public CA in this system's trust store: pass its certificate with --ca"
        ),
        (C::UntrustedRoot { .. }, TrustSource::SystemRoots) => {
            "the server uses a private or self-signed CA: pass its certificate with --ca".into()
        }
        (C::MissingIntermediate { issuer, .. }, _) => format!(
            "the server must send its intermediate '{issuer}' after its certificate (fix the server's certificate file); or add it to --ca"
        ),
        (C::Expired { .. }, _) => "the server's operator must renew its certificate".into(),
        (C::EkuNotAllowed { .. }, _) => {
            "the server's certificate is not a server certificate (EKU lacks serverAuth): the server must use one issued for TLS servers".into()
        }
        _ => e.hint(),
    }
}

/// Hands out the client certificate, recording the server's request.
#[derive(Debug)]
pub(crate) struct CapturingResolver {
    pub key: Option<Arc<CertifiedKey>>,
    pub shared: Arc<Shared>,
}

impl ResolvesClientCert for CapturingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let chosen = self
            .key
            .clone()
            .filter(|k| k.key.choose_scheme(sigschemes).is_some());
        let mut trace = self.shared.lock();
        trace.cert_request = Some(CertRequest {
            hints: root_hint_subjects.iter().map(|h| h.to_vec()).collect(),
            schemes: sigschemes.iter().map(|s| format!("{s:?}")).collect(),
            sent: chosen.is_some(),
        });
        trace.events.push(Event::CertificateRequested);
        chosen
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// A session store that keeps nothing (every connect is a full handshake)
/// but notes each TLS 1.3 ticket: a server sends tickets only after it
/// accepted the client's Finished, certificate included.
#[derive(Debug)]
pub(crate) struct TicketRecorder {
    pub shared: Arc<Shared>,
}

impl ClientSessionStore for TicketRecorder {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        None
    }

    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, _: Tls13ClientSessionValue) {
        {
            let mut trace = self.shared.lock();
            trace.tickets += 1;
            if trace.tickets == 1 {
                trace.events.push(Event::Ticket);
            }
        }
        self.shared.ticket.notify_one();
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        None
    }
}

#[cfg(test)]
mod tests {
    use certbound_testkit::{LeafOptions, NOW, TestPki};

    use super::*;

    #[test]
    fn verdicts_in_words() {
        let pki = TestPki::new();
        let leaf = pki
            .intermediate
            .issue(&LeafOptions::server("api").dns(&["api.test"]));
        let inter = [pki.intermediate.cert.clone()];
        let root = [pki.root.cert.clone()];
        let v = verdict(
            &leaf.cert,
            &inter,
            &root,
            TrustSource::CaFile,
            "api.test",
            None,
            true,
            NOW,
        );
        assert!(v.ok && v.chain_ok && v.host_ok, "{v:?}");
        assert_eq!(
            v.path,
            [
                "api",
                "certbound Test Intermediate CA",
                "certbound Test Root CA"
            ]
        );
        let v = verdict(
            &leaf.cert,
            &inter,
            &root,
            TrustSource::CaFile,
            "other.test",
            None,
            true,
            NOW,
        );
        assert!(!v.ok && v.chain_ok && !v.host_ok);
        assert!(v.host_message.contains("is for DNS:api.test"), "{v:?}");
        assert!(v.fix.unwrap().contains("--servername"));
        // Many anchors are counted, not listed.
        let many: Vec<_> = (0..8).map(|_| pki.other_root.cert.clone()).collect();
        let v = verdict(
            &leaf.cert,
            &[],
            &many,
            TrustSource::SystemRoots,
            "api.test",
            None,
            true,
            NOW,
        );
        assert_eq!(v.chain_code.as_deref(), Some("unknown_ca"));
        assert!(
            v.chain_message
                .contains("not among the 8 CA certificates of the system's trust store"),
            "{v:?}"
        );
        assert!(v.fix.unwrap().contains("--ca"));
        // A refusal by rustls that certbound's words do not cover still fails.
        let err = rustls::Error::InvalidCertificate(CertificateError::Revoked);
        let v = verdict(
            &leaf.cert,
            &inter,
            &root,
            TrustSource::CaFile,
            "api.test",
            Some(&err),
            true,
            NOW,
        );
        assert!(!v.ok && v.chain_message.contains("rustls refused"));
    }
}
