//! `GET /metrics` in the Prometheus text format: token requests by method and
//! result, authentication failures and TLS handshake failures by reason,
//! forwarded-certificate headers ignored, request latency histograms per
//! endpoint, open connections and registry size. Counters are plain atomics,
//! so recording costs nothing measurable on the hot path.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub(crate) const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Endpoints with their own latency histogram.
pub(crate) const ENDPOINTS: [&str; 7] = [
    "token",
    "introspect",
    "revoke",
    "register",
    "admin",
    "metadata",
    "other",
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// Every metric of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, result) → count.
    token_requests: Mutex<BTreeMap<(String, String), u64>>,
    auth_failures: Mutex<BTreeMap<String, u64>>,
    handshake_failures: Mutex<BTreeMap<String, u64>>,
    forwarded_ignored: Mutex<BTreeMap<String, u64>>,
    connection_limit: Mutex<BTreeMap<String, u64>>,
    /// (source, result) → revocation checks.
    revocation_checks: Mutex<BTreeMap<(String, String), u64>>,
    latency: [Histogram; ENDPOINTS.len()],
    open_connections: AtomicI64,
    connections: AtomicU64,
    /// Every certificate relied on, from [`crate::expiry`].
    certificates: Mutex<Vec<CertExpiry>>,
}

/// One certificate certbound relies on, and what relies on it.
#[derive(Debug, Clone)]
pub struct CertExpiry {
    /// `listener`, `client`, `route` or `revocation` (a CRL).
    pub source: &'static str,
    /// The label that names the owner: `listener`, `client_id`, `route` or `crl`.
    pub owner_label: &'static str,
    pub owner: String,
    /// `certificate`, `chain`, `client_ca`, `trust_store`, `upstream_certificate`, `upstream_ca`;
    /// `next_update` for a CRL (whose `x5t_s256` is empty).
    pub role: &'static str,
    pub subject: String,
    pub x5t_s256: String,
    pub not_after: time::OffsetDateTime,
}

impl CertExpiry {
    /// "client partner (trust_store)", for messages.
    pub fn used_by(&self) -> String {
        format!("{} {} ({})", self.source, self.owner, self.role)
    }
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, key: &str) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key.to_string()).or_default() += 1;
    }
}

impl Metrics {
    /// A token request ended: `method` as attempted, `result` "success" or an error code.
    pub fn token_request(&self, method: &str, result: &str) {
        if let Ok(mut m) = self.token_requests.lock() {
            *m.entry((method.to_string(), result.to_string()))
                .or_default() += 1;
        }
    }

    /// A certificate was checked for revocation by `source`: "crl" (the CRL
    /// files; `result` "passed", "revoked" or "unavailable" for the whole
    /// chain), "crl_dp" or "ocsp" (per certificate; "good", "revoked",
    /// "unknown" or "unavailable").
    pub fn revocation_check(&self, source: &str, result: &str) {
        if let Ok(mut m) = self.revocation_checks.lock() {
            *m.entry((source.to_string(), result.to_string()))
                .or_default() += 1;
        }
    }

    /// A client authentication failed for `code` (see `AuthFailure::code`).
    pub fn auth_failure(&self, code: &str) {
        bump(&self.auth_failures, code);
    }

    /// A TLS handshake failed for `reason` (a short classification).
    pub fn handshake_failure(&self, reason: &str) {
        bump(&self.handshake_failures, reason);
    }

    /// A forwarded-certificate header arrived from a peer that is not a trusted proxy.
    pub fn forwarded_header_ignored(&self, listener: &str) {
        bump(&self.forwarded_ignored, listener);
    }

    /// A listener holds its `max_connections` and stops accepting until one closes.
    pub fn connection_limit_reached(&self, listener: &str) {
        bump(&self.connection_limit, listener);
    }

    pub fn observe(&self, endpoint: &str, d: Duration) {
        let i = ENDPOINTS
            .iter()
            .position(|e| *e == endpoint)
            .unwrap_or(ENDPOINTS.len() - 1);
        self.latency[i].observe(d);
    }

    pub fn connection_opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.open_connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// Replace the certificates whose expiry is exported.
    pub fn set_certificate_expiry(&self, certificates: Vec<CertExpiry>) {
        if let Ok(mut c) = self.certificates.lock() {
            *c = certificates;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, registry_size: u64, audit_dropped: u64) -> String {
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "certbound_token_requests_total",
            "counter",
            "Token requests by client authentication method and result.",
        );
        if let Ok(m) = self.token_requests.lock() {
            for ((method, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "certbound_token_requests_total{{method=\"{method}\",result=\"{result}\"}} {n}"
                );
            }
        }
        header(
            &mut out,
            "certbound_revocation_checks_total",
            "counter",
            "Client certificate chains checked for revocation, by source and result (passed, revoked, unavailable).",
        );
        if let Ok(m) = self.revocation_checks.lock() {
            for ((source, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "certbound_revocation_checks_total{{source=\"{source}\",result=\"{result}\"}} {n}"
                );
            }
        }
        labelled(
            &mut out,
            "certbound_client_auth_failures_total",
            "Client authentication failures by reason.",
            "reason",
            &self.auth_failures,
        );
        labelled(
            &mut out,
            "certbound_tls_handshake_failures_total",
            "TLS handshakes that failed, by reason.",
            "reason",
            &self.handshake_failures,
        );
        labelled(
            &mut out,
            "certbound_forwarded_cert_header_ignored_total",
            "Forwarded client-certificate headers ignored because the peer is not a trusted proxy.",
            "listener",
            &self.forwarded_ignored,
        );
        labelled(
            &mut out,
            "certbound_connection_limit_reached_total",
            "Times a listener held max_connections open and stopped accepting until one closed.",
            "listener",
            &self.connection_limit,
        );
        header(
            &mut out,
            "certbound_request_duration_seconds",
            "histogram",
            "Time to answer a request, by endpoint.",
        );
        for (name, h) in ENDPOINTS.iter().zip(&self.latency) {
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&h.buckets) {
                cumulative += count.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "certbound_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "certbound_request_duration_seconds_bucket{{endpoint=\"{name}\",le=\"+Inf\"}} {count}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "certbound_request_duration_seconds_sum{{endpoint=\"{name}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "certbound_request_duration_seconds_count{{endpoint=\"{name}\"}} {count}"
            );
        }
        header(
            &mut out,
            "certbound_open_connections",
            "gauge",
            "Connections open now.",
        );
        let _ = writeln!(
            out,
            "certbound_open_connections {}",
            self.open_connections.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "certbound_connections_total",
            "counter",
            "Connections accepted.",
        );
        let _ = writeln!(
            out,
            "certbound_connections_total {}",
            self.connections.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "certbound_registry_clients",
            "gauge",
            "Clients in the registry.",
        );
        let _ = writeln!(out, "certbound_registry_clients {registry_size}");
        header(
            &mut out,
            "certbound_audit_events_dropped_total",
            "counter",
            "Audit events dropped because the queue was full.",
        );
        let _ = writeln!(out, "certbound_audit_events_dropped_total {audit_dropped}");
        header(
            &mut out,
            "certbound_certificate_expiry_seconds",
            "gauge",
            "Seconds until each certificate certbound relies on expires (negative: expired).",
        );
        let now = time::OffsetDateTime::now_utc();
        if let Ok(certs) = self.certificates.lock() {
            for c in certs.iter() {
                let _ = writeln!(
                    out,
                    "certbound_certificate_expiry_seconds{{source=\"{}\",{}=\"{}\",role=\"{}\",subject=\"{}\",x5t_s256=\"{}\"}} {}",
                    c.source,
                    c.owner_label,
                    escape(&c.owner),
                    c.role,
                    escape(&c.subject),
                    c.x5t_s256,
                    (c.not_after - now).whole_seconds()
                );
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn labelled(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    map: &Mutex<BTreeMap<String, u64>>,
) {
    header(out, name, "counter", help);
    if let Ok(m) = map.lock() {
        for (k, n) in m.iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(k));
        }
    }
}

/// Escape a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A short reason for a failed handshake, from the error rustls reported.
pub(crate) fn handshake_reason(error: &std::io::Error) -> &'static str {
    let text = error.to_string();
    let has = |s: &str| text.contains(s);
    if has("peer sent no certificates") || has("NoCertificatesPresented") {
        "no_client_certificate"
    } else if has("invalid peer certificate") {
        if has("BadSignature") || has("signature") {
            "bad_signature"
        } else {
            "bad_certificate"
        }
    } else if has("PeerIncompatible")
        || has("no protocols in common")
        || has("NoCipherSuitesInCommon")
        || has("protocol version")
    {
        "incompatible"
    } else if has("received fatal alert") {
        "peer_alert"
    } else if has("InvalidMessage") || has("corrupt message") || has("invalid") {
        "invalid_message"
    } else if has("eof") || has("reset") || has("Broken pipe") {
        "connection_closed"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.token_request("tls_client_auth", "success");
        m.token_request("tls_client_auth", "success");
        m.auth_failure("wrong_eku");
        m.handshake_failure("bad_signature");
        m.observe("token", Duration::from_micros(700));
        m.observe("nonsense", Duration::from_secs(9));
        m.connection_opened();
        let text = m.render(3, 0);
        assert!(text.contains(
            "certbound_token_requests_total{method=\"tls_client_auth\",result=\"success\"} 2"
        ));
        assert!(text.contains("certbound_client_auth_failures_total{reason=\"wrong_eku\"} 1"));
        assert!(
            text.contains("certbound_tls_handshake_failures_total{reason=\"bad_signature\"} 1")
        );
        assert!(text.contains(
            "certbound_request_duration_seconds_bucket{endpoint=\"token\",le=\"0.0005\"} 0"
        ));
        assert!(text.contains(
            "certbound_request_duration_seconds_bucket{endpoint=\"token\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "certbound_request_duration_seconds_bucket{endpoint=\"other\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("certbound_open_connections 1"));
        assert!(text.contains("certbound_registry_clients 3"));
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }
}
