//! `certbound pki`: make a CA (optionally with an intermediate), server and
//! client certificates, and self-signed certificates, written as PEM files
//! (keys PKCS#8, mode 0600), never overwriting without `--force`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, Issued, KeyType, LeafSpec, Signer, csr};
use certbound_pki::inspect::{CertInfo, SanEntry};
use certbound_pki::time_fmt::date;
use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;

use crate::cmd::pki_export::{self, CaKeyPassword, ExportArgs};
use crate::cmd::pki_revoke;
use crate::files::{self, Output};

/// File names inside a CA directory.
pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const INTERMEDIATE_CERT: &str = "intermediate.crt";
pub const INTERMEDIATE_KEY: &str = "intermediate.key";

#[derive(Debug, Args)]
pub struct PkiArgs {
    #[command(subcommand)]
    command: PkiCommand,
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Create a root CA (and, with --intermediate, an intermediate CA that signs leaves).
    Init(InitArgs),
    /// Issue a server or client certificate from a CA made by `pki init`.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Make a self-signed certificate (what `openssl req -x509` makes, with the right EKU).
    SelfSigned(SelfSignedArgs),
    /// Make a key and a certificate signing request (CSR) for it: the key stays here,
    /// the CSR goes to the CA.
    Csr(CsrArgs),
    /// Sign a CSR made anywhere (certbound, openssl, keytool, certreq) with a CA made by
    /// `pki init`, after checking its signature.
    Sign(SignArgs),
    /// Write a certificate, its chain and its key as a PKCS#12 file (.p12/.pfx)
    /// for Java, .NET and Windows.
    Export(ExportArgs),
    /// Record in the CA directory that a certificate it issued is revoked
    /// (then publish it with `pki crl`).
    Revoke(pki_revoke::RevokeArgs),
    /// Write a CRL signed by the CA, listing the certificates `pki revoke` recorded.
    Crl(pki_revoke::CrlArgs),
}

/// Where verifiers learn whether a certificate was revoked.
#[derive(Debug, Args)]
struct Locations {
    /// URL of the CRL that will list this certificate if it is revoked: a CRL
    /// Distribution Point, e.g. http://pki.example.com/intermediate.crl (repeatable).
    #[arg(long = "crl-url", value_name = "URL")]
    crl_url: Vec<String>,
    /// URL of an OCSP responder for this certificate: the AIA OCSP entry (repeatable).
    #[arg(long = "ocsp-url", value_name = "URL")]
    ocsp_url: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum IssueCommand {
    /// A server certificate: EKU serverAuth, the SANs given.
    Server(ServerArgs),
    /// A client certificate: EKU clientAuth.
    Client(ClientArgs),
}

/// Key algorithm names for clap.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum KeyTypeArg {
    #[default]
    #[value(name = "ecdsa-p256")]
    EcdsaP256,
    #[value(name = "ecdsa-p384")]
    EcdsaP384,
    #[value(name = "ed25519")]
    Ed25519,
    #[value(name = "rsa-2048")]
    Rsa2048,
    #[value(name = "rsa-3072")]
    Rsa3072,
    #[value(name = "rsa-4096")]
    Rsa4096,
}

impl From<KeyTypeArg> for KeyType {
    fn from(k: KeyTypeArg) -> Self {
        match k {
            KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
            KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
            KeyTypeArg::Ed25519 => KeyType::Ed25519,
            KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
            KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
            KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
        }
    }
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Directory to create the CA in (created with mode 0700 if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Common name of the root CA [default: "ORG Root CA", or "certbound Root CA"].
    #[arg(long, value_name = "NAME")]
    cn: Option<String>,
    /// Organization (O) of the CA certificates.
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// Also create an intermediate CA (pathlen 0) that signs the leaves.
    #[arg(long)]
    intermediate: bool,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t)]
    key_type: KeyTypeArg,
    /// Lifetime of the root CA in days.
    #[arg(long, value_name = "N", default_value_t = generate::ROOT_DAYS)]
    days: u32,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

/// Options shared by every leaf.
#[derive(Debug, Args)]
struct LeafCommon {
    /// Base name of the files written: NAME.crt and NAME.key.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t)]
    key_type: KeyTypeArg,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct ServerArgs {
    /// CA directory made by `certbound pki init`.
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    #[command(flatten)]
    ca_key_password: CaKeyPassword,
    #[command(flatten)]
    common: LeafCommon,
    /// DNS name the server answers to (repeatable; wildcards like *.example.com allowed).
    #[arg(long, value_name = "HOST")]
    dns: Vec<String>,
    /// IP address the server answers on (repeatable).
    #[arg(long, value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// Common name (defaults to the first --dns, or NAME).
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// Lifetime in days.
    #[arg(long, value_name = "N", default_value_t = generate::SERVER_DAYS)]
    days: u32,
    #[command(flatten)]
    locations: Locations,
    /// Directory to write to (defaults to the CA directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ClientArgs {
    /// CA directory made by `certbound pki init`.
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    #[command(flatten)]
    ca_key_password: CaKeyPassword,
    #[command(flatten)]
    common: LeafCommon,
    /// Common name (the client's identity; defaults to NAME).
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// URI SAN, e.g. spiffe://example.org/partner (repeatable).
    #[arg(long, value_name = "URI")]
    uri: Vec<String>,
    /// E-mail SAN (repeatable).
    #[arg(long, value_name = "E")]
    email: Vec<String>,
    /// DNS SAN (repeatable).
    #[arg(long, value_name = "HOST")]
    dns: Vec<String>,
    /// Lifetime in days.
    #[arg(long, value_name = "N", default_value_t = generate::CLIENT_DAYS)]
    days: u32,
    #[command(flatten)]
    locations: Locations,
    /// Directory to write to (defaults to the CA directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UsageArg {
    Client,
    Server,
}

#[derive(Debug, Args)]
struct SelfSignedArgs {
    #[command(flatten)]
    common: LeafCommon,
    /// Common name.
    #[arg(long, value_name = "CN")]
    cn: String,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// What the certificate is for: sets the EKU.
    #[arg(long, value_enum, default_value = "client")]
    usage: UsageArg,
    /// DNS SAN (repeatable).
    #[arg(long, value_name = "HOST")]
    dns: Vec<String>,
    /// IP SAN (repeatable).
    #[arg(long, value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// Lifetime in days (default 365 for client, 397 for server).
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Directory to write to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct CsrArgs {
    /// Base name of the files written: NAME.csr and NAME.key.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// Common name.
    #[arg(long, value_name = "CN")]
    cn: String,
    /// Organization (O).
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// URI SAN, e.g. spiffe://example.org/partner (repeatable).
    #[arg(long, value_name = "URI")]
    uri: Vec<String>,
    /// DNS SAN (repeatable).
    #[arg(long, value_name = "HOST")]
    dns: Vec<String>,
    /// IP SAN (repeatable).
    #[arg(long, value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// E-mail SAN (repeatable).
    #[arg(long, value_name = "E")]
    email: Vec<String>,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t)]
    key_type: KeyTypeArg,
    /// Directory to write to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct SignArgs {
    /// CA directory made by `certbound pki init`.
    #[arg(long, value_name = "DIR")]
    ca: PathBuf,
    #[command(flatten)]
    ca_key_password: CaKeyPassword,
    /// The certificate signing request, PEM or DER.
    #[arg(long, value_name = "FILE")]
    csr: PathBuf,
    /// What the certificate is for: sets the EKU.
    #[arg(long, value_enum)]
    usage: UsageArg,
    /// Base name of the certificate file, NAME.crt [default: the CSR's CN made
    /// file-safe, or the CSR file's name].
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Common name, in place of the CSR's.
    #[arg(long, value_name = "CN")]
    cn: Option<String>,
    /// Organization (O), in place of the CSR's.
    #[arg(long, value_name = "ORG")]
    org: Option<String>,
    /// URI SAN (repeatable). Any SAN flag replaces all the CSR's SANs.
    #[arg(long, value_name = "URI")]
    uri: Vec<String>,
    /// DNS SAN (repeatable).
    #[arg(long, value_name = "HOST")]
    dns: Vec<String>,
    /// IP SAN (repeatable).
    #[arg(long, value_name = "ADDR")]
    ip: Vec<IpAddr>,
    /// E-mail SAN (repeatable).
    #[arg(long, value_name = "E")]
    email: Vec<String>,
    /// Lifetime in days (default 365 for client, 397 for server).
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    #[command(flatten)]
    locations: Locations,
    /// Directory to write to (defaults to the CA directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace an existing certificate file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: PkiArgs) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    match args.command {
        PkiCommand::Init(a) => init(a, now),
        PkiCommand::Issue(IssueCommand::Server(a)) => issue_server(a, now),
        PkiCommand::Issue(IssueCommand::Client(a)) => issue_client(a, now),
        PkiCommand::SelfSigned(a) => self_signed(a, now),
        PkiCommand::Csr(a) => make_csr(a),
        PkiCommand::Sign(a) => sign_csr(a, now),
        PkiCommand::Export(a) => pki_export::run(a),
        PkiCommand::Revoke(a) => pki_revoke::revoke(a, now),
        PkiCommand::Crl(a) => pki_revoke::crl(a, now),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn init(a: InitArgs, now: OffsetDateTime) -> Result<()> {
    let cn = a.cn.clone().unwrap_or_else(|| match &a.org {
        Some(org) => format!("{org} Root CA"),
        None => "certbound Root CA".to_string(),
    });
    let root_spec = CaSpec {
        common_name: cn.clone(),
        organization: a.org.clone(),
        key_type: a.key_type.into(),
        days: a.days,
    };
    let mut outputs = Vec::new();
    let mut planned = vec![a.out.join(CA_CERT), a.out.join(CA_KEY)];
    if a.intermediate {
        planned.extend([a.out.join(INTERMEDIATE_CERT), a.out.join(INTERMEDIATE_KEY)]);
    }
    files::ensure_writable(
        &planned.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        a.force,
    )?;

    let root = generate::root_ca(&root_spec, now)?;
    outputs.push(Output::cert(a.out.join(CA_CERT), root.cert_pem.clone()));
    outputs.push(Output::key(a.out.join(CA_KEY), root.key_pem.clone()));
    let mut made = vec![(CA_CERT, root.cert_der.clone())];
    if a.intermediate {
        let signer = Signer::new(root.cert_der.clone(), root.key_pem.as_bytes())?;
        let spec = CaSpec {
            common_name: intermediate_name(&cn),
            days: generate::INTERMEDIATE_DAYS,
            ..root_spec
        };
        let inter = generate::intermediate_ca(&signer, &spec, now)?;
        outputs.push(Output::cert(
            a.out.join(INTERMEDIATE_CERT),
            inter.cert_pem.clone(),
        ));
        outputs.push(Output::key(
            a.out.join(INTERMEDIATE_KEY),
            inter.key_pem.clone(),
        ));
        made.push((INTERMEDIATE_CERT, inter.cert_der.clone()));
    }
    files::ensure_dir(&a.out)?;
    files::write_all(&outputs, a.force)?;

    println!("Created a CA in {}:", a.out.display());
    for (file, der) in &made {
        describe_file(file, der, now);
    }
    println!(
        "  {:<18} private keys, mode 0600",
        if a.intermediate { "*.key" } else { CA_KEY }
    );
    let dir = a.out.display();
    println!("\nNext:");
    println!(
        "  certbound pki issue server --ca {dir} --name server --dns localhost --ip 127.0.0.1"
    );
    println!("  certbound pki issue client --ca {dir} --name client --cn my-client");
    Ok(())
}

fn intermediate_name(root_cn: &str) -> String {
    match root_cn.strip_suffix("Root CA") {
        Some(prefix) => format!("{prefix}Intermediate CA"),
        None => format!("{root_cn} Intermediate"),
    }
}

/// The CA that signs leaves: the intermediate when there is one, else the root.
struct CaDir {
    signer: Signer,
    /// The intermediate, appended after the leaf in the certificate file.
    chain: Option<String>,
    root_path: PathBuf,
}

fn load_ca(dir: &Path, password: &CaKeyPassword) -> Result<CaDir> {
    let (cert_name, key_name) = if dir.join(INTERMEDIATE_CERT).exists() {
        (INTERMEDIATE_CERT, INTERMEDIATE_KEY)
    } else {
        (CA_CERT, CA_KEY)
    };
    let cert_path = dir.join(cert_name);
    let key_path = dir.join(key_name);
    if !cert_path.exists() {
        return Err(crate::cmd::usage(format!(
            "{} has no {CA_CERT}: create a CA there first with `certbound pki init --out {}`",
            dir.display(),
            dir.display()
        )));
    }
    let cert_pem = files::read_input(&cert_path, "the CA certificate")?;
    let key = password.plain_key(files::read_input(&key_path, "the CA key")?, &key_path)?;
    let cert = certbound_pki::parse_certificates(&cert_pem)
        .with_context(|| format!("reading {}", cert_path.display()))?
        .remove(0);
    let signer = Signer::new(cert.clone(), &key)
        .with_context(|| format!("loading the CA from {}", dir.display()))?;
    let chain =
        (cert_name == INTERMEDIATE_CERT).then(|| generate::pem_encode("CERTIFICATE", &cert));
    Ok(CaDir {
        signer,
        chain,
        root_path: dir.join(CA_CERT),
    })
}

fn issue_server(a: ServerArgs, now: OffsetDateTime) -> Result<()> {
    if a.dns.is_empty() && a.ip.is_empty() {
        return Err(crate::cmd::usage(
            "a server certificate needs at least one --dns or --ip: clients check the host name against these SANs",
        ));
    }
    let ca = load_ca(&a.ca, &a.ca_key_password)?;
    let spec = LeafSpec {
        common_name: a
            .cn
            .clone()
            .or_else(|| a.dns.first().cloned())
            .unwrap_or_else(|| a.common.name.clone()),
        organization: a.org,
        dns: a.dns.clone(),
        ips: a.ip.clone(),
        usage: Usage::Server,
        key_type: a.common.key_type.into(),
        days: a.days,
        crl_urls: a.locations.crl_url,
        ocsp_urls: a.locations.ocsp_url,
        ..LeafSpec::default()
    };
    let out = a.out.unwrap_or_else(|| a.ca.clone());
    let issued = write_leaf(&out, &a.common, &ca, &spec, now)?;
    let host = a
        .dns
        .first()
        .cloned()
        .or_else(|| a.ip.first().map(ToString::to_string))
        .unwrap_or_default();
    println!("\nCheck it:");
    println!(
        "  certbound check {} --key {} --ca {} --usage server --host {host}",
        out.join(format!("{}.crt", a.common.name)).display(),
        out.join(format!("{}.key", a.common.name)).display(),
        ca.root_path.display()
    );
    note_cap(&issued);
    Ok(())
}

fn issue_client(a: ClientArgs, now: OffsetDateTime) -> Result<()> {
    let ca = load_ca(&a.ca, &a.ca_key_password)?;
    let spec = LeafSpec {
        common_name: a.cn.clone().unwrap_or_else(|| a.common.name.clone()),
        organization: a.org,
        dns: a.dns,
        uris: a.uri,
        emails: a.email,
        usage: Usage::Client,
        key_type: a.common.key_type.into(),
        days: a.days,
        crl_urls: a.locations.crl_url,
        ocsp_urls: a.locations.ocsp_url,
        ..LeafSpec::default()
    };
    let out = a.out.unwrap_or_else(|| a.ca.clone());
    let issued = write_leaf(&out, &a.common, &ca, &spec, now)?;
    println!("\nCheck it:");
    println!(
        "  certbound check {} --key {} --ca {} --usage client",
        out.join(format!("{}.crt", a.common.name)).display(),
        out.join(format!("{}.key", a.common.name)).display(),
        ca.root_path.display()
    );
    note_cap(&issued);
    Ok(())
}

fn write_leaf(
    out: &Path,
    common: &LeafCommon,
    ca: &CaDir,
    spec: &LeafSpec,
    now: OffsetDateTime,
) -> Result<Issued> {
    let cert_path = out.join(format!("{}.crt", common.name));
    let key_path = out.join(format!("{}.key", common.name));
    files::ensure_writable(&[&cert_path, &key_path], common.force)?;
    let issued = generate::leaf(&ca.signer, spec, now)?;
    let mut cert_text = issued.cert_pem.clone();
    if let Some(chain) = &ca.chain {
        cert_text.push_str(chain);
    }
    files::ensure_dir(out)?;
    files::write_all(
        &[
            Output::cert(cert_path, cert_text),
            Output::key(key_path, issued.key_pem.clone()),
        ],
        common.force,
    )?;
    let kind = if spec.usage == Usage::Server {
        "server"
    } else {
        "client"
    };
    println!(
        "Issued a {kind} certificate signed by '{}':",
        ca.signer.info().display_name()
    );
    let crt = format!("{}.crt", common.name);
    describe_file(&crt, &issued.cert_der, now);
    if ca.chain.is_some() {
        println!(
            "  {:<18} (followed by the intermediate, as servers and clients should send it)",
            ""
        );
    }
    println!(
        "  {:<18} private key, mode 0600",
        format!("{}.key", common.name)
    );
    Ok(issued)
}

fn self_signed(a: SelfSignedArgs, now: OffsetDateTime) -> Result<()> {
    let usage = match a.usage {
        UsageArg::Client => Usage::Client,
        UsageArg::Server => Usage::Server,
    };
    let days = a.days.unwrap_or(if usage == Usage::Server {
        generate::SERVER_DAYS
    } else {
        generate::CLIENT_DAYS
    });
    let spec = LeafSpec {
        common_name: a.cn,
        organization: a.org,
        dns: a.dns,
        ips: a.ip,
        usage,
        key_type: a.common.key_type.into(),
        days,
        ..LeafSpec::default()
    };
    let cert_path = a.out.join(format!("{}.crt", a.common.name));
    let key_path = a.out.join(format!("{}.key", a.common.name));
    files::ensure_writable(&[&cert_path, &key_path], a.common.force)?;
    let issued = generate::self_signed(&spec, now)?;
    files::ensure_dir(&a.out)?;
    files::write_all(
        &[
            Output::cert(cert_path.clone(), issued.cert_pem.clone()),
            Output::key(key_path.clone(), issued.key_pem.clone()),
        ],
        a.common.force,
    )?;
    println!(
        "Made a self-signed {} certificate:",
        if usage == Usage::Server {
            "server"
        } else {
            "client"
        }
    );
    describe_file(&format!("{}.crt", a.common.name), &issued.cert_der, now);
    println!(
        "  {:<18} private key, mode 0600",
        format!("{}.key", a.common.name)
    );
    if usage == Usage::Client {
        println!(
            "\nA self-signed client certificate authenticates only as itself: put the contents of"
        );
        println!(
            "{} in the client's certificateTrustStore on the server.",
            cert_path.display()
        );
    }
    Ok(())
}

fn describe_file(file: &str, der: &certbound_pki::CertDer, now: OffsetDateTime) {
    match CertInfo::from_der(der) {
        Ok(info) => println!(
            "  {:<18} {} ({}), valid until {} ({} days)",
            file,
            info.display_name(),
            info.key,
            date(info.not_after),
            (info.not_after - now).whole_days()
        ),
        Err(_) => println!("  {file}"),
    }
}

fn note_cap(issued: &Issued) {
    note_cap_at(issued.capped_at);
}

fn make_csr(a: CsrArgs) -> Result<()> {
    let spec = csr::RequestSpec {
        common_name: a.cn,
        organization: a.org,
        dns: a.dns,
        ips: a.ip,
        uris: a.uri,
        emails: a.email,
        key_type: a.key_type.into(),
    };
    let csr_path = a.out.join(format!("{}.csr", a.name));
    let key_path = a.out.join(format!("{}.key", a.name));
    files::ensure_writable(&[&csr_path, &key_path], a.force)?;
    let made = csr::make(&spec)?;
    files::ensure_dir(&a.out)?;
    files::write_all(
        &[
            Output::cert(csr_path.clone(), made.csr_pem.clone()),
            Output::key(key_path.clone(), made.key_pem.clone()),
        ],
        a.force,
    )?;
    // Read back what was written, so what is printed is what the CA will see.
    let request = csr::parse(&made.csr_der)?;
    println!(
        "Made a key and a certificate signing request for '{}':",
        request.subject
    );
    println!(
        "  {:<18} certificate signing request ({}), holds no secret",
        format!("{}.csr", a.name),
        request.key
    );
    if !request.sans.is_empty() {
        println!(
            "  {:<18} SANs: {}",
            "",
            request
                .sans
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "  {:<18} private key, mode 0600: it never leaves this machine",
        format!("{}.key", a.name)
    );
    println!(
        "\nNext: send {} to the CA. It checks and signs it with",
        csr_path.display()
    );
    println!(
        "  certbound pki sign --ca CA_DIR --csr {}.csr --usage client",
        a.name
    );
    println!(
        "(or --usage server) and sends back {}.crt, to use with {}.",
        a.name,
        key_path.display()
    );
    Ok(())
}

fn sign_csr(a: SignArgs, now: OffsetDateTime) -> Result<()> {
    let input = files::read_input(&a.csr, "the CSR")?;
    let request =
        csr::parse(&input).with_context(|| format!("{} was not signed", a.csr.display()))?;
    let usage = match a.usage {
        UsageArg::Client => Usage::Client,
        UsageArg::Server => Usage::Server,
    };
    let spec = csr::SignSpec {
        usage,
        days: a.days.unwrap_or(if usage == Usage::Server {
            generate::SERVER_DAYS
        } else {
            generate::CLIENT_DAYS
        }),
        common_name: a.cn.clone(),
        organization: a.org.clone(),
        dns: a.dns.clone(),
        ips: a.ip.clone(),
        uris: a.uri.clone(),
        emails: a.email.clone(),
        crl_urls: a.locations.crl_url.clone(),
        ocsp_urls: a.locations.ocsp_url.clone(),
    };
    let own_sans = !(a.dns.is_empty() && a.ip.is_empty() && a.uri.is_empty() && a.email.is_empty());
    let host = if own_sans {
        a.dns
            .first()
            .cloned()
            .or_else(|| a.ip.first().map(ToString::to_string))
    } else {
        request.sans.iter().find_map(|s| match s {
            SanEntry::Dns(h) => Some(h.clone()),
            SanEntry::Ip(ip) => Some(ip.to_string()),
            _ => None,
        })
    };
    if usage == Usage::Server && host.is_none() {
        return Err(crate::cmd::usage(format!(
            "a server certificate needs at least one DNS or IP SAN and {} has none: add --dns or --ip",
            if own_sans {
                "the SANs given"
            } else {
                "the CSR"
            }
        )));
    }
    let name = match &a.name {
        Some(name) => name.clone(),
        None => default_name(&request, a.cn.as_deref(), &a.csr)?,
    };
    // The name may come from the requester's CN: never let it be a CA file.
    if [CA_CERT, INTERMEDIATE_CERT].contains(&format!("{name}.crt").as_str()) {
        return Err(crate::cmd::usage(format!(
            "{name}.crt is the name of a CA file in a CA directory: give the certificate another name with --name"
        )));
    }
    let ca = load_ca(&a.ca, &a.ca_key_password)?;
    let out = a.out.clone().unwrap_or_else(|| a.ca.clone());
    let cert_path = out.join(format!("{name}.crt"));
    files::ensure_writable(&[&cert_path], a.force)?;
    let signed = csr::sign(&ca.signer, &request, &spec, now)?;
    let mut cert_text = signed.cert_pem.clone();
    if let Some(chain) = &ca.chain {
        cert_text.push_str(chain);
    }
    files::ensure_dir(&out)?;
    files::write_all(&[Output::cert(cert_path.clone(), cert_text)], a.force)?;

    for line in &signed.not_carried {
        eprintln!("note: the CSR asked for {line}: not carried into the certificate");
    }
    println!(
        "Verified the signature of {} ({}, {}) and issued a {usage} certificate signed by '{}':",
        a.csr.display(),
        request.key,
        request.signature_algorithm,
        ca.signer.info().display_name()
    );
    describe_file(&format!("{name}.crt"), &signed.cert_der, now);
    if ca.chain.is_some() {
        println!(
            "  {:<18} (followed by the intermediate, as servers and clients should send it)",
            ""
        );
    }
    println!(
        "The private key stayed with the requester: send them {}.",
        cert_path.display()
    );
    println!("\nCheck it:");
    match usage {
        Usage::Server => println!(
            "  certbound check {} --ca {} --usage server --host {}",
            shell_quote(&cert_path.display().to_string()),
            shell_quote(&ca.root_path.display().to_string()),
            shell_quote(host.as_deref().unwrap_or_default())
        ),
        _ => {
            println!(
                "  certbound check {} --ca {} --usage client",
                shell_quote(&cert_path.display().to_string()),
                shell_quote(&ca.root_path.display().to_string())
            );
            println!("\nRegister it (where the authorization server keeps its clients):");
            println!(
                "  certbound client add --name {} --trust-store {}{} --config certbound.toml",
                shell_quote(&name),
                shell_quote(&ca.root_path.display().to_string()),
                client_constraint(&signed.cert_der)
            );
        }
    }
    note_cap_at(signed.capped_at);
    Ok(())
}

/// `--name` by default: the certificate's CN made file-safe, else the CSR
/// file's stem.
fn default_name(request: &csr::Request, cn: Option<&str>, csr_path: &Path) -> Result<String> {
    let from_cn = cn
        .or(request.common_name.as_deref())
        .map(file_safe)
        .filter(|n| !n.is_empty());
    let from_file = csr_path
        .file_stem()
        .map(|s| file_safe(&s.to_string_lossy()))
        .filter(|n| !n.is_empty());
    from_cn.or(from_file).ok_or_else(|| {
        crate::cmd::usage("cannot make a file name from the CSR: give one with --name")
    })
}

/// Letters, digits, `.`, `_` and `-`; any run of other characters becomes one `-`.
fn file_safe(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// The subject constraint that makes a CA in a trust store authenticate only
/// this certificate's holder: its subject DN when it reads back exactly,
/// else its first URI or DNS SAN.
fn client_constraint(cert_der: &certbound_pki::CertDer) -> String {
    let Ok(info) = CertInfo::from_der(cert_der) else {
        return String::new();
    };
    let reads_back = certbound_pki::dn::DistinguishedName::parse(&info.subject)
        .ok()
        .zip(certbound_pki::dn::DistinguishedName::subject_of(cert_der))
        .is_some_and(|(written, actual)| written.matches(&actual));
    if reads_back {
        return format!(" --subject-dn {}", shell_quote(&info.subject));
    }
    info.subject_alt_names
        .iter()
        .find_map(|san| match san {
            SanEntry::Uri(u) => Some(format!(" --san-uri {}", shell_quote(u))),
            SanEntry::Dns(d) => Some(format!(" --san-dns {}", shell_quote(d))),
            _ => None,
        })
        .unwrap_or_default()
}

/// A word as a POSIX shell reads it back unchanged.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn note_cap_at(capped_at: Option<OffsetDateTime>) {
    if let Some(limit) = capped_at {
        println!(
            "\nNote: the lifetime was shortened to end with the CA, on {}.",
            date(limit)
        );
    }
}
