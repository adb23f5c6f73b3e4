//! `certbound request URL`: a small curl with a client certificate. The
//! body goes to stdout (or `-o FILE`); `-v` prints the TLS report and the
//! headers to stderr first; `-i` puts the status line and headers before
//! the body, `--json` prints status, headers and body as one JSON object. A
//! failed connection prints the TLS diagnosis; a non-2xx status prints the
//! body and exits 1 (curl `--fail-with-body`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use certbound_tls::https::{self, HttpVersion, HttpsRequest, HttpsResponse};
use certbound_tls::{ConnectOptions, Error};
use clap::Args;

use crate::cmd::EXIT_FAILED;
use crate::cmd::client::{ClientTlsArgs, block_on, render_report, tls_error};
use crate::files;
use crate::style::print_error;

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The https:// URL.
    url: String,
    /// HTTP method [default: GET, or POST with a body].
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// A header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request body (sent as application/x-www-form-urlencoded unless -H sets a Content-Type).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_file"
    )]
    data: Option<String>,
    /// Request body from a file.
    #[arg(long, value_name = "FILE")]
    data_file: Option<PathBuf>,
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// Speak HTTP/1.1 only.
    #[arg(long = "http1.1", conflicts_with = "http2")]
    http1: bool,
    /// Speak HTTP/2 only (fails if the server does not agree in ALPN).
    #[arg(long)]
    http2: bool,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print the TLS report, request and response headers to stderr.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Put the response's status line and headers before the body (curl -i).
    #[arg(short = 'i', long, conflicts_with = "json")]
    include: bool,
    /// Print the response as one JSON object: {"status", "headers", "body"},
    /// the body parsed when it is JSON, else a string.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RequestArgs) -> Result<ExitCode> {
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => Some(d.as_bytes().to_vec()),
        (None, Some(path)) => Some(files::read_input(path, "the data file")?),
        (None, None) => None,
    };
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_string());
    let mut req = HttpsRequest::new(&method, &args.url).map_err(tls_error)?;
    for h in &args.headers {
        req.header_line(h).map_err(tls_error)?;
    }
    if let Some(body) = body {
        if !req.headers.contains_key("content-type") {
            req.header_line("Content-Type: application/x-www-form-urlencoded")
                .map_err(tls_error)?;
        }
        req.body = body.into();
    }
    req.version = if args.http1 {
        HttpVersion::Http1
    } else if args.http2 {
        HttpVersion::Http2
    } else {
        HttpVersion::Auto
    };
    let mut opts = ConnectOptions::new(args.tls.load()?);
    opts.timeout = args.tls.timeout()?;
    let Some(resp) = exchange(&req, &mut opts, args.verbose)? else {
        return Ok(ExitCode::from(EXIT_FAILED));
    };
    if args.verbose {
        eprint!("{}", headers_text(&req, &resp));
    }
    let out = if args.json {
        let mut json = serde_json::to_vec_pretty(&response_json(&resp))?;
        json.push(b'\n');
        json
    } else if args.include {
        let mut out = head_text(&resp).into_bytes();
        out.extend_from_slice(&resp.body);
        out
    } else {
        resp.body.to_vec()
    };
    match &args.output {
        Some(path) => std::fs::write(path, &out)
            .map_err(|e| crate::cmd::usage(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            stdout.flush()?;
        }
    }
    if resp.status.is_success() {
        Ok(ExitCode::SUCCESS)
    } else {
        print_error(&anyhow::anyhow!(
            "the server answered {} {}",
            resp.status.as_str(),
            resp.status.canonical_reason().unwrap_or("")
        ));
        Ok(ExitCode::from(EXIT_FAILED))
    }
}

/// Send the request; on a TLS failure print the report to stderr and
/// return `None` (exit 1). `-v` prints the report of a good connection too.
pub fn exchange(
    req: &HttpsRequest,
    opts: &mut ConnectOptions,
    verbose: bool,
) -> Result<Option<HttpsResponse>> {
    match block_on(https::send(req, opts))? {
        Ok(resp) => {
            if verbose {
                eprint!("{}", render_report(&resp.tls, false));
                eprintln!();
            }
            Ok(Some(resp))
        }
        Err(Error::Handshake(report)) => {
            eprint!("{}", render_report(&report, false));
            Ok(None)
        }
        Err(e) => Err(tls_error(e)).context(format!("{} {}", req.method, req.url)),
    }
}

/// The status line as curl prints it: `HTTP/1.1 200 OK`, `HTTP/2 200`.
fn status_line(resp: &HttpsResponse) -> String {
    let version = match resp.version {
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let reason = match resp.version {
        http::Version::HTTP_2 => None,
        _ => resp.status.canonical_reason(),
    };
    match reason {
        Some(r) => format!("{version} {} {r}", resp.status.as_str()),
        None => format!("{version} {}", resp.status.as_str()),
    }
}

/// `-i`: the status line, the headers and a blank line, CRLF-terminated as
/// on the wire (curl does the same).
fn head_text(resp: &HttpsResponse) -> String {
    let mut out = format!("{}\r\n", status_line(resp));
    for (k, v) in &resp.headers {
        out.push_str(&format!(
            "{k}: {}\r\n",
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    out.push_str("\r\n");
    out
}

/// `--json`: headers by lower-case name (repeated ones joined with ", ", as
/// RFC 9110 §5.3 allows), the body as JSON when it parses, else as text.
fn response_json(resp: &HttpsResponse) -> serde_json::Value {
    let mut headers = serde_json::Map::new();
    for name in resp.headers.keys() {
        let values: Vec<String> = resp
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        headers.insert(name.to_string(), values.join(", ").into());
    }
    let body = serde_json::from_slice::<serde_json::Value>(&resp.body)
        .unwrap_or_else(|_| String::from_utf8_lossy(&resp.body).into_owned().into());
    serde_json::json!({
        "status": resp.status.as_u16(),
        "headers": headers,
        "body": body,
    })
}

fn headers_text(req: &HttpsRequest, resp: &HttpsResponse) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let sent = &resp.sent;
    let _ = writeln!(out, "> {} {} {:?}", req.method, sent.target, sent.version);
    for (k, v) in &sent.headers {
        let _ = writeln!(out, "> {k}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
    if !req.body.is_empty() {
        let _ = writeln!(out, "> ({} bytes of body)", req.body.len());
    }
    let _ = writeln!(
        out,
        "< {:?} {} {}",
        resp.version,
        resp.status.as_str(),
        resp.status.canonical_reason().unwrap_or("")
    );
    for (k, v) in &resp.headers {
        let _ = writeln!(out, "< {k}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
    let _ = writeln!(out, "<");
    out
}
