#!/usr/bin/env bash
# Benchmark: certbound's gateway route (mTLS + a certificate-bound token,
# `[[route]] require = "bound-token"`) against nginx as an mTLS reverse proxy
# (`ssl_verify_client on`, `proxy_pass` to a kept-alive upstream block), both
# in front of the same upstream, same client, same machine, same run. Peak
# requests/s (closed loop on kept-alive connections) and p50/p99 latency at
# half of the peak (open loop), with the p99 each proxy adds over calling the
# upstream directly; server CPU per request, RSS and the ratios.
#   usage: scripts/bench-gateway.sh [bench-gateway flags]   e.g. --duration 10 --concurrency 64
#   (run `target/release/bench-gateway --help` for all of them)
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
exec target/release/bench-gateway "$@"
