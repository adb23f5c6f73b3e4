//! The TCP part of a connection: resolve the name, try each address within
//! the timeout, and say which of the four usual things happened (connected,
//! refused, timed out, name not resolved) in words with a fix.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::report::{Diagnosis, TcpReport, TcpStatus};

/// Connect to `host:port`, trying every address the name resolves to.
pub(crate) async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> (TcpReport, Option<TcpStream>) {
    let report = |status, address: Option<SocketAddr>, error: Option<String>| TcpReport {
        status,
        address: address.map(|a| a.to_string()),
        error,
    };
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addrs)) => addrs.collect(),
            Ok(Err(e)) => {
                return (
                    report(TcpStatus::NotResolved, None, Some(e.to_string())),
                    None,
                );
            }
            Err(_) => {
                return (
                    report(
                        TcpStatus::NotResolved,
                        None,
                        Some(format!("no answer from DNS within {} s", timeout.as_secs())),
                    ),
                    None,
                );
            }
        };
    if addrs.is_empty() {
        return (
            report(
                TcpStatus::NotResolved,
                None,
                Some("the name has no addresses".into()),
            ),
            None,
        );
    }
    let mut last = report(TcpStatus::Failed, None, None);
    for addr in addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return (report(TcpStatus::Connected, Some(addr), None), Some(stream));
            }
            Ok(Err(e)) => last = report(status_of(&e), Some(addr), Some(e.to_string())),
            Err(_) => {
                last = report(
                    TcpStatus::TimedOut,
                    Some(addr),
                    Some(format!("no answer within {} s", timeout.as_secs())),
                );
            }
        }
    }
    (last, None)
}

fn status_of(e: &io::Error) -> TcpStatus {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => TcpStatus::Refused,
        io::ErrorKind::TimedOut => TcpStatus::TimedOut,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            TcpStatus::Unreachable
        }
        _ => TcpStatus::Failed,
    }
}

/// The cause and fix for a TCP failure.
pub(crate) fn diagnosis(tcp: &TcpReport, target: &str) -> Diagnosis {
    let addr = tcp.address.as_deref().unwrap_or(target);
    let err = tcp.error.as_deref().unwrap_or("unknown error");
    let (code, cause, fix) = match tcp.status {
        TcpStatus::Refused => (
            "connection_refused",
            format!("connection refused: nothing is listening on {addr}"),
            "check the host and port, and that the server is running".to_string(),
        ),
        TcpStatus::TimedOut => (
            "connection_timed_out",
            format!("no answer from {addr} ({err}): a firewall drops the packets, or the host is down"),
            "check the address, the port and the firewalls on the way; raise --timeout for a slow network".to_string(),
        ),
        TcpStatus::NotResolved => (
            "name_not_resolved",
            format!("the host name in {target} cannot be resolved: {err}"),
            "check the spelling, the DNS configuration and /etc/hosts".to_string(),
        ),
        TcpStatus::Unreachable => (
            "unreachable",
            format!("{addr} cannot be reached: {err}"),
            "check the network route to the host (VPN, routing, firewall)".to_string(),
        ),
        TcpStatus::Failed | TcpStatus::Connected => (
            "tcp_error",
            format!("TCP connection to {addr} failed: {err}"),
            "check the host and port".to_string(),
        ),
    };
    Diagnosis {
        code: code.into(),
        cause,
        fix,
    }
}
