#!/usr/bin/env bash
# Benchmark: wall time of `certbound check` on a three-certificate chain
# (leaf + intermediate in the file, root as --ca) with its key, side by side
# with the four openssl commands it replaces (x509 -text, the two -modulus
# digests, verify -purpose). Prints mean / p50 / p95 / max in milliseconds.
#   usage: scripts/bench-check.sh [RUNS]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release -q -p certbound
bin=$PWD/target/release/certbound
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" pki init --out pki --intermediate --key-type rsa-2048 >/dev/null
"$bin" pki issue client --ca pki --name client --cn bench --key-type rsa-2048 >/dev/null

# time_cmd LABEL CMD...: run CMD $runs times, print statistics of wall time.
time_cmd() {
  local label=$1; shift
  local samples=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    samples+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk -v label="$label" '
    { v[NR] = $1; sum += $1 }
    END { printf "%-44s mean %6.2f ms  p50 %6.2f ms  p95 %6.2f ms  max %6.2f ms  (%d runs)\n",
          label, sum / NR / 1000, v[int(NR * 0.5)] / 1000, v[int(NR * 0.95)] / 1000, v[NR] / 1000, NR }'
}

openssl_checks() {
  openssl x509 -in pki/client.crt -noout -text
  openssl x509 -noout -modulus -in pki/client.crt | openssl md5
  openssl rsa -noout -modulus -in pki/client.key | openssl md5
  openssl verify -CAfile pki/ca.crt -untrusted pki/intermediate.crt -purpose sslclient pki/client.crt
}

echo "certbound check vs openssl, RSA-2048 chain of three, $(nproc) cores"
time_cmd "certbound check (all 10 checks)" \
  "$bin" check pki/client.crt --key pki/client.key --ca pki/ca.crt --usage client
time_cmd "openssl x509 + 2x modulus|md5 + verify" openssl_checks
