#!/usr/bin/env bash
# The crates' arrows point down only (DESIGN.md): no crate depends, directly
# or through another, on a crate of its own layer or one above it. Layers,
# lowest first; crates in one layer are independent of each other.
set -euo pipefail
cd "$(dirname "$0")/.."

layers=(
  "certbound-pki"
  "certbound-oauth certbound-store certbound-tls"
  "certbound-server certbound-sidecar"
  "certbound-console certbound-gateway"
  "certbound"
)

status=0
for ((i = 0; i < ${#layers[@]}; i++)); do
  for crate in ${layers[i]}; do
    # Every workspace crate it depends on at run time, however indirectly.
    deps=$(cargo tree -e normal -p "$crate" --prefix none --locked |
      awk '{print $1}' | grep -E '^certbound(-|$)' | sort -u | grep -vx "$crate" || true)
    for ((j = i; j < ${#layers[@]}; j++)); do
      for above in ${layers[j]}; do
        if grep -qx "$above" <<<"$deps"; then
          echo "$crate must not depend on $above (it is not below it)" >&2
          status=1
        fi
      done
    done
  done
done
# pki and oauth stay free of async runtimes and web frameworks.
for crate in certbound-pki certbound-oauth; do
  if cargo tree -e normal -p "$crate" --locked | grep -E '(tokio|hyper|axum) v'; then
    echo "$crate must not depend on tokio, hyper or axum" >&2
    status=1
  fi
done
exit "$status"
