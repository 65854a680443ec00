#!/usr/bin/env bash
# Installs Debian's glewlwyd (an independent OpenID provider) for the interop suite
# (test/e2e/interop-glewlwyd.e2e-spec.ts). Idempotent: does nothing when /usr/bin/glewlwyd exists.
# The package is only installed, never run as a service and never pointed at a database: the
# suite starts its own glewlwyd on a free loopback port with its own sqlite file.
# Exits non-zero when the package cannot be installed (the caller decides what that means).
set -euo pipefail

if [ -x /usr/bin/glewlwyd ]; then
  echo "[glewlwyd] already installed: $(dpkg-query -W -f='${Version}' glewlwyd 2>/dev/null || echo unknown version)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[glewlwyd] installing needs root (apt-get)" >&2
  exit 1
fi

# The package's postinst asks how to configure the database. Its default ("Personalized" with
# dbconfig "no thanks") falls into its PostgreSQL branch and fails; "No configuration" leaves the
# database alone (the shared PostgreSQL of this machine is never touched).
echo "glewlwyd glewlwyd/config_type select No configuration" | debconf-set-selections

# Never start a service from the package: a policy-rc.d that refuses every action, for the
# duration of this install only (an existing one, e.g. Docker's "exit 101", is left as it is).
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"
  chmod 755 "$POLICY"
  CREATED_POLICY=1
fi
cleanup() { if [ -n "$CREATED_POLICY" ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends glewlwyd dbconfig-no-thanks sqlite3
}
# A stale package list is the usual reason for a failed install: update once and retry.
install || { apt-get update -q && install; } || {
  # A half-configured package from an earlier attempt (postinst failed before the preseed existed).
  DEBIAN_FRONTEND=noninteractive dpkg --configure glewlwyd
}

[ -x /usr/bin/glewlwyd ] && [ -f /usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz ] || {
  echo "[glewlwyd] the package installed but /usr/bin/glewlwyd or its sqlite schema is missing" >&2
  exit 1
}
echo "[glewlwyd] installed: $(dpkg-query -W -f='${Version}' glewlwyd)"
