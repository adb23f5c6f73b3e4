//! `[[udap.community]]`: the UDAP trust communities whose members may
//! register themselves and get tokens (HL7 FAST Security). Each names the
//! community's anchors, and the certificate and key this server signs its
//! metadata with in that community (its URI SAN is the issuer URL).

use std::path::{Path, PathBuf};

use certbound_pki::CertDer;
use certbound_pki::chain::{self, Usage};
use serde::Deserialize;
use time::OffsetDateTime;

/// `[udap]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUdap {
    /// The communities, the first being the default one.
    #[serde(default)]
    pub community: Vec<RawCommunity>,
}

/// One `[[udap.community]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommunity {
    /// The community's URI (what `?community=` names).
    pub name: Option<String>,
    /// PEM files of the community's trust anchors.
    #[serde(default)]
    pub anchors: Vec<PathBuf>,
    /// PEM files of intermediate CAs members may leave out of their `x5c`.
    #[serde(default)]
    pub intermediates: Vec<PathBuf>,
    /// This server's certificate in the community (PEM, leaf first, then
    /// its intermediates).
    pub certificate: Option<PathBuf>,
    /// Its private key (PEM).
    pub key: Option<PathBuf>,
    /// Whether every token request must carry the `hl7-b2b` extension
    /// (default true).
    pub b2b_required: Option<bool>,
    /// The scopes a member may register for (space-delimited, SMART
    /// wildcards allowed); absent: any.
    pub scope: Option<String>,
}

/// A community, read and checked.
#[derive(Debug, Clone)]
pub struct CommunityConfig {
    pub name: String,
    pub anchors: Vec<CertDer>,
    pub intermediates: Vec<CertDer>,
    /// The server's chain, leaf first.
    pub chain: Vec<CertDer>,
    /// The server's key, PKCS#8 DER.
    pub key: Vec<u8>,
    pub b2b_required: bool,
    pub scope: Option<Vec<String>>,
}

fn fail(errs: &mut Vec<(String, String)>, field: &str, reason: String) {
    errs.push((field.to_owned(), reason));
}

fn read_certs(path: &Path) -> Result<Vec<CertDer>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    certbound_pki::parse_certificates(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

impl RawUdap {
    /// Every community read and checked against `issuer_url` (the base URL
    /// the server's community certificates must name as a URI SAN).
    pub fn validate(
        &self,
        base: &Path,
        issuer_url: Option<&str>,
        problem: &mut impl FnMut(String, String),
    ) -> Vec<CommunityConfig> {
        if self.community.is_empty() {
            problem(
                "udap.community".into(),
                "empty: add a [[udap.community]] with name, anchors, certificate and key, or remove [udap]".into(),
            );
            return Vec::new();
        }
        let Some(issuer_url) = issuer_url else {
            problem(
                "issuer.url".into(),
                "is required with [udap]: UDAP clients check that the server's community certificate names this URL as a URI SAN".into(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, c) in self.community.iter().enumerate() {
            let key = |field: &str| format!("udap.community[{i}].{field}");
            if let Some(c) = c.validate(base, issuer_url, &key, problem) {
                if out.iter().any(|o: &CommunityConfig| o.name == c.name) {
                    problem(key("name"), format!("`{}` is named twice", c.name));
                } else {
                    out.push(c);
                }
            }
        }
        out
    }
}

impl RawCommunity {
    fn validate(
        &self,
        base: &Path,
        issuer_url: &str,
        key: &dyn Fn(&str) -> String,
        problem: &mut impl FnMut(String, String),
    ) -> Option<CommunityConfig> {
        let mut errs: Vec<(String, String)> = Vec::new();
        let name = match self.name.as_deref().map(str::trim) {
            Some(n) if n.contains(':') && !n.contains(char::is_whitespace) => n.to_owned(),
            Some(n) => {
                fail(
                    &mut errs,
                    "name",
                    format!(
                        "`{n}` is not a URI (e.g. urn:oid:1.2.3 or https://community.example/)"
                    ),
                );
                String::new()
            }
            None => {
                fail(&mut errs, "name", "is required: the community's URI".into());
                String::new()
            }
        };
        if self.anchors.is_empty() {
            fail(
                &mut errs,
                "anchors",
                "is required: the PEM file(s) of the community's trust anchors".into(),
            );
        }
        let mut anchors = Vec::new();
        for (j, f) in self.anchors.iter().enumerate() {
            match read_certs(&base.join(f)) {
                Ok(c) => anchors.extend(c),
                Err(e) => fail(&mut errs, &format!("anchors[{j}]"), e),
            }
        }
        let mut intermediates = Vec::new();
        for (j, f) in self.intermediates.iter().enumerate() {
            match read_certs(&base.join(f)) {
                Ok(c) => intermediates.extend(c),
                Err(e) => fail(&mut errs, &format!("intermediates[{j}]"), e),
            }
        }
        let chain = match &self.certificate {
            Some(f) => read_certs(&base.join(f)).unwrap_or_else(|e| {
                fail(&mut errs, "certificate", e);
                Vec::new()
            }),
            None => {
                fail(
                    &mut errs,
                    "certificate",
                    "is required: this server's certificate in the community (PEM, leaf first)"
                        .into(),
                );
                Vec::new()
            }
        };
        let pkcs8 = match &self.key {
            Some(f) => {
                let path = base.join(f);
                std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    .and_then(|b| {
                        certbound_pki::key::parse_private_key(&b)
                            .map_err(|e| e.describe(&path.display().to_string()))
                    })
                    .and_then(|k| {
                        k.pkcs8_der()
                            .ok_or_else(|| "the key cannot be converted to PKCS#8".to_owned())
                    })
                    .unwrap_or_else(|e| {
                        fail(&mut errs, "key", e);
                        Vec::new()
                    })
            }
            None => {
                fail(
                    &mut errs,
                    "key",
                    "is required: the private key of `certificate`".into(),
                );
                Vec::new()
            }
        };
        let scope = self.scope.as_deref().and_then(|s| {
            certbound_oauth::request::parse_scope(s)
                .map_err(|e| errs.push(("scope".into(), e.to_string())))
                .ok()
        });
        if !errs.is_empty() {
            for (field, reason) in errs {
                problem(key(&field), reason);
            }
            return None;
        }
        let chain_bytes: Vec<Vec<u8>> = chain.iter().map(|c| c.to_vec()).collect();
        if let Err(e) = certbound_oauth::keys::X5cSigner::new(&pkcs8, &chain_bytes, None) {
            fail(&mut errs, "key", e);
        }
        if let Some(leaf) = chain.first() {
            let uris = certbound_pki::CertInfo::from_der(leaf)
                .map(|i| i.uris())
                .unwrap_or_default();
            if !uris.iter().any(|u| u == issuer_url) {
                fail(
                    &mut errs,
                    "certificate",
                    format!(
                        "names URI SANs {uris:?}, not the issuer URL `{issuer_url}`: UDAP clients refuse metadata whose signer is not the server's base URL (make the certificate with --uri {issuer_url})"
                    ),
                );
            }
            let inter: Vec<CertDer> = chain[1..].iter().chain(&intermediates).cloned().collect();
            if let Err(e) = chain::verify(
                leaf,
                &inter,
                &anchors,
                Usage::Any,
                OffsetDateTime::now_utc(),
            ) {
                fail(
                    &mut errs,
                    "certificate",
                    format!("does not verify to the community's anchors: {e}"),
                );
            }
        }
        let ok = errs.is_empty();
        for (field, reason) in errs {
            problem(key(&field), reason);
        }
        ok.then_some(CommunityConfig {
            name,
            anchors,
            intermediates,
            chain,
            key: pkcs8,
            b2b_required: self.b2b_required.unwrap_or(true),
            scope,
        })
    }
}
