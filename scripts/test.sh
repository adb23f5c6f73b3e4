#!/usr/bin/env bash
# The test command (the README's, and CI's): installs the programs the
# interop tests drive, then runs the whole test suite. PostgreSQL 15 is
# started on demand by the tests themselves (crates/testkit/src/postgres.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

# Programs the tests start or call. Each is a Debian package of the same name
# unless noted.
packages=(openssl curl)
missing=()
for p in "${packages[@]}"; do
  command -v "$p" >/dev/null 2>&1 || missing+=("$p")
done
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

cargo test --workspace --locked "$@"
