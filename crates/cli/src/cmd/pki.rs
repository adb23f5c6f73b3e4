//! `certbound pki`: make a CA (optionally with an intermediate), server and
//! client certificates, and self-signed certificates, written as PEM files
//! (keys PKCS#8, mode 0600), never overwriting without `--force`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use certbound_pki::chain::Usage;
use certbound_pki::generate::{self, CaSpec, Issued, KeyType, LeafSpec, Signer};
use certbound_pki::inspect::CertInfo;
use certbound_pki::time_fmt::date;
use clap::{Args, Subcommand, ValueEnum};
use time::OffsetDateTime;

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

pub fn run(args: PkiArgs) -> Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    match args.command {
        PkiCommand::Init(a) => init(a, now),
        PkiCommand::Issue(IssueCommand::Server(a)) => issue_server(a, now),
        PkiCommand::Issue(IssueCommand::Client(a)) => issue_client(a, now),
        PkiCommand::SelfSigned(a) => self_signed(a, now),
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

fn load_ca(dir: &Path) -> Result<CaDir> {
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
    let key = files::read_input(&key_path, "the CA key")?;
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
    let ca = load_ca(&a.ca)?;
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
    let ca = load_ca(&a.ca)?;
    let spec = LeafSpec {
        common_name: a.cn.clone().unwrap_or_else(|| a.common.name.clone()),
        organization: a.org,
        dns: a.dns,
        uris: a.uri,
        emails: a.email,
        usage: Usage::Client,
        key_type: a.common.key_type.into(),
        days: a.days,
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
    if let Some(limit) = issued.capped_at {
        println!(
            "\nNote: the lifetime was shortened to end with the CA, on {}.",
            date(limit)
        );
    }
}
