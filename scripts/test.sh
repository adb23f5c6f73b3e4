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
# The console's browser tests (console-tests/) drive Debian's Chromium.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# ...from Node.js (playwright-core, from npm's registry by console-tests/package-lock.json).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# Java 17's keytool reads and writes the PKCS#12 and JKS files of the key tests.
command -v keytool >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
# The OCSP responder of crates/cli/tests/ocsp.rs is Python with `cryptography`.
python3 -c 'import cryptography' >/dev/null 2>&1 || missing+=(python3-cryptography)
# The UDAP client of crates/cli/tests/udap.rs is Python with PyJWT.
python3 -c 'import jwt' >/dev/null 2>&1 || missing+=(python3-jwt)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# The reverse proxies of crates/cli/tests/proxies.rs, as PROGRAM:PACKAGE:SERVICE.
# Checked by path: /usr/sbin is not on every user's PATH.
proxies=(/usr/sbin/nginx:nginx-light:nginx /usr/sbin/haproxy:haproxy:haproxy
  /usr/bin/caddy:caddy:caddy /usr/sbin/apache2:apache2:apache2)
missing=()
services=()
for entry in "${proxies[@]}"; do
  IFS=: read -r program package service <<<"$entry"
  if [ ! -x "$program" ]; then
    missing+=("$package")
    services+=("$service")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # The tests start their own proxies on free ports. Keep the packages from
  # starting theirs on ports 80 and 443 (where one would also make the next
  # fail to install): policy-rc.d exit 101 denies service starts.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    own_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  if [ -n "$own_policy" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  # In case one started anyway: stop it and keep it from starting at boot.
  for service in "${services[@]}"; do
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable --quiet "$service" >/dev/null 2>&1 || true
    fi
    if [ -d /run/systemd/system ]; then
      systemctl stop "$service" >/dev/null 2>&1 || true
    else
      service "$service" stop >/dev/null 2>&1 || true
    fi
  done
fi

# A python3 other than Debian's (pyenv, a venv) does not see Debian's
# python3-jwt: then PyJWT comes from PyPI.
if ! python3 -c 'import jwt' >/dev/null 2>&1; then
  echo "installing: PyJWT (pip)"
  python3 -m pip install --quiet PyJWT
fi
if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
  echo "error: python3 cannot import jwt and cryptography: the UDAP and SMART client tests cannot run" >&2
  exit 1
fi

# PostgreSQL 15 for the store suite and the two-instance test. The tests also
# start it on demand (crates/testkit/src/postgres.rs); starting it here first
# keeps parallel test binaries from waiting on each other.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_ctlcluster 15 main start 2>/dev/null || true
fi

# cargo-deb builds the Debian package that crates/cli/tests/packaging.rs
# checks (packaging/build-deb.sh). Installing it takes about 4 minutes, once.
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "installing: cargo-deb"
  cargo install cargo-deb --locked
fi

cargo test --workspace --locked "$@"

# The web console in a real headless Chromium (playwright-core with the system
# browser; no browser is downloaded), against the certbound binary built here.
if [ ! -x /usr/bin/chromium ]; then
  echo "error: /usr/bin/chromium is missing after installing chromium: the console's browser tests cannot run" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is missing after installing it: the console's browser tests cannot run" >&2
  exit 1
fi
cargo build --locked -p certbound
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
(cd console-tests && npm ci --no-audit --no-fund && CERTBOUND_BIN="$target_dir/debug/certbound" npm test)
