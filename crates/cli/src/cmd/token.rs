//! `certbound token`: an RFC 8705 `client_credentials` request authenticated
//! only by the client certificate. Prints the token response JSON; with
//! `--claims`, also the access token's decoded claims and whether it is
//! bound to the certificate presented. `--print access-token` prints the
//! token alone (for `TOKEN=$(certbound token ...)`), `--print json` the
//! response alone. An RFC 6749 error response is printed with a diagnosis
//! and exits 1.

use std::process::ExitCode;

use anyhow::Result;
use certbound_pki::CertInfo;
use certbound_tls::ConnectOptions;
use certbound_tls::token::{self, Binding, TokenContext, TokenOutcome};
use clap::{Args, ValueEnum};

use crate::cmd::EXIT_FAILED;
use crate::cmd::client::{ClientTlsArgs, tls_error};
use crate::cmd::request::exchange;
use crate::style::{BOLD, GREEN, RED, color_stdout, paint};

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The token endpoint, https://.
    #[arg(long, value_name = "URL")]
    token_url: String,
    /// The client_id the certificate is registered for.
    #[arg(long, value_name = "ID")]
    client_id: String,
    /// Scope to ask for (space-separated).
    #[arg(long, value_name = "SCOPE")]
    scope: Option<String>,
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// Decode the JWT access token and check that it is bound to the
    /// certificate presented (cnf.x5t#S256). The signature is not verified.
    #[arg(long)]
    claims: bool,
    /// Print the TLS report to stderr before the response.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// What to print on stdout [default: summary]. Only a token goes to
    /// stdout with access-token and json: an error response goes to stderr.
    #[arg(long, value_enum, value_name = "WHAT")]
    print: Option<Print>,
}

/// What `token` prints on stdout. Errors go to stderr in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Print {
    /// The token response, pretty-printed; with --claims, the decoded token
    /// and the binding verdict after it.
    Summary,
    /// The access token alone, on one line.
    AccessToken,
    /// The token response alone, as JSON on one line.
    Json,
}

pub fn run(args: TokenArgs) -> Result<ExitCode> {
    let print = args.print.unwrap_or(Print::Summary);
    if args.claims && print != Print::Summary {
        return Err(crate::cmd::usage(
            "--claims adds the decoded token to the summary: drop --claims, or --print",
        ));
    }
    let req = token::request(&args.token_url, &args.client_id, args.scope.as_deref())
        .map_err(tls_error)?;
    let tls = args.tls.load()?;
    let leaf_der = tls.identity.as_ref().and_then(|i| i.leaf().cloned());
    let leaf_info = leaf_der.as_ref().and_then(|d| CertInfo::from_der(d).ok());
    let mut opts = ConnectOptions::new(tls);
    opts.timeout = args.tls.timeout()?;
    let Some(resp) = exchange(&req, &mut opts, args.verbose)? else {
        return Ok(ExitCode::from(EXIT_FAILED));
    };
    let sent = resp.tls.client_auth.certificate_sent;
    let ctx = TokenContext {
        client_id: &args.client_id,
        scope: args.scope.as_deref(),
        leaf: leaf_info.as_ref(),
        certificate_sent: sent,
    };
    let color = color_stdout();
    match token::interpret(resp.status, &resp.body, &ctx) {
        TokenOutcome::Issued { json } if print == Print::AccessToken => {
            // `interpret` calls a response issued only when access_token is a string.
            let access = json["access_token"].as_str().unwrap_or_default();
            println!("{access}");
            Ok(ExitCode::SUCCESS)
        }
        TokenOutcome::Issued { json } if print == Print::Json => {
            println!("{}", serde_json::to_string(&json)?);
            Ok(ExitCode::SUCCESS)
        }
        TokenOutcome::Issued { json } => {
            println!("{}", serde_json::to_string_pretty(&json)?);
            if !args.claims {
                return Ok(ExitCode::SUCCESS);
            }
            let access = json["access_token"].as_str().unwrap_or_default();
            let decoded = match token::decode_jwt(access) {
                Ok(d) => d,
                Err(reason) => {
                    println!("\n{} {reason}", paint(color, RED, "claims:"));
                    return Ok(ExitCode::from(EXIT_FAILED));
                }
            };
            println!(
                "\n{} (decoded only: the signature is not verified here; the resource server verifies it)",
                paint(color, BOLD, "Access token header")
            );
            println!("{}", serde_json::to_string_pretty(&decoded.header)?);
            println!("\n{}", paint(color, BOLD, "Access token claims"));
            println!("{}", serde_json::to_string_pretty(&decoded.claims)?);
            print_claim_times(&decoded.claims);
            let presented = leaf_der.as_ref().filter(|_| sent).map(|d| d.as_ref());
            let binding = token::check_binding(&decoded.claims, presented);
            let word = if binding.ok() {
                paint(color, GREEN, "bound:")
            } else {
                paint(color, RED, "NOT bound:")
            };
            println!("\n{word} {}", binding.message());
            Ok(if matches!(binding, Binding::Bound { .. }) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILED)
            })
        }
        TokenOutcome::Refused {
            status,
            json,
            diagnosis,
        } => {
            // Only the summary has room for an error response on stdout.
            if print == Print::Summary {
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else {
                eprintln!("{}", serde_json::to_string(&json)?);
            }
            eprintln!(
                "error: the token endpoint answered {} {}: {}",
                status.as_str(),
                diagnosis.code,
                diagnosis.cause
            );
            eprintln!("  fix: {}", diagnosis.fix);
            Ok(ExitCode::from(EXIT_FAILED))
        }
        TokenOutcome::Unexpected {
            body, diagnosis, ..
        } => {
            // Not a token response: never on stdout where a token is expected.
            if print == Print::Summary {
                println!("{body}");
            } else {
                eprintln!("{body}");
            }
            eprintln!("error: {}", diagnosis.cause);
            eprintln!("  fix: {}", diagnosis.fix);
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}

/// `exp`, `iat` and `nbf` as dates (UTC) with how far from now, below the
/// claims, which show them as Unix seconds.
fn print_claim_times(claims: &serde_json::Value) {
    let now = time::OffsetDateTime::now_utc();
    for name in ["iat", "nbf", "exp"] {
        let Some(secs) = claims.get(name).and_then(serde_json::Value::as_i64) else {
            continue;
        };
        let Ok(at) = time::OffsetDateTime::from_unix_timestamp(secs) else {
            continue;
        };
        let delta = (at - now).whole_seconds();
        let relative = match delta {
            d if d.abs() < 60 => "now".to_string(),
            d if d > 0 => format!("in {}", span(d)),
            d => format!("{} ago", span(-d)),
        };
        let date = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| secs.to_string());
        println!("  {name:<4} {secs} = {date} ({relative})");
    }
}

fn span(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} days", s / 86_400),
    }
}
