#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine to run gtm from this checkout: system packages, then a
# virtualenv in .venv with gtm installed. Idempotent: it installs only what is missing.
#   deploy/setup.sh          to run gtm
#   deploy/setup.sh --dev    to run the tests too (dnspython, pytest, ruff, mypy, exabgp; dig,
#                            redis-server, bird2, unbound)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

python3 - <<'PY' || { echo "gtm needs Python 3.11 or newer as python3" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

need=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "$dev" = 1 ]; then
  command -v dig >/dev/null || need+=(dnsutils)
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v bird >/dev/null || need+=(bird2)  # the BGP peer of the ExaBGP end-to-end test
  command -v unbound >/dev/null || need+=(unbound)  # the recursive resolver of the e2e tests
fi
if [ "${#need[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e '.[fast]'
fi
