#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries are installed, so that the store tests run on a real
# server: they start their own scratch server (tests/pg_server.py) and only skip when
# initdb cannot be found. Installs Debian's `postgresql` package when it is missing (as root).
set -euo pipefail

have_initdb() {
  command -v initdb >/dev/null 2>&1 && return 0
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    return 0
  fi
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if [ -n "${BATCHGRAPH_TEST_POSTGRES_URL:-}" ] || have_initdb; then
  exit 0
fi
if [ "${EUID}" -ne 0 ]; then
  echo "PostgreSQL server binaries are missing and this is not root: install the" \
    "'postgresql' package, or set BATCHGRAPH_TEST_POSTGRES_URL to a database for the tests" >&2
  exit 1
fi
echo "installing PostgreSQL for the store tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q postgresql
have_initdb
