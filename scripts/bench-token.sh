#!/usr/bin/env bash
# Benchmark: certbound's token endpoint against nginx doing the mTLS
# handshake alone (`ssl_verify_client on`, fixed 200 body), same client, same
# machine, same run. New connection with a full handshake per request,
# kept-alive connections, and the server's memory at 256 connections; prints
# requests/s, p50/p99 latency, server CPU per request and the ratios.
#   usage: scripts/bench-token.sh [bench-token flags]   e.g. --duration 10 --concurrency 64
#   --private-key-jwt adds a second client on the same certbound that
#   authenticates by signed ES384 client assertions (RFC 7523), measured next
#   to the certificate-authenticated one:
#     scripts/bench-token.sh --runs kept-alive --private-key-jwt --duration 5 --rounds 3 --no-nginx
#   (run `target/release/bench-token --help` for all of them)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx-light (the benchmark's reference server)" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nginx-light >/dev/null
fi

cargo build --release -q -p certbound -p certbound-bench
exec target/release/bench-token "$@"
