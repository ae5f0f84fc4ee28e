#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine to run gtm from this checkout: system packages, then a
# virtualenv in .venv holding exactly what uv.lock pins (versions and hashes), gtm included.
# Idempotent: it installs only what is missing or differs from the lock.
#   deploy/setup.sh          to run gtm
#   deploy/setup.sh --dev    to run the tests too (dnspython, pytest, ruff, mypy, exabgp; dig,
#                            kdig, redis-server, bird2, unbound)
# The installer, uv, comes from the package index into .uv, at the release and with the hashes
# that uv.lock records for it (deploy/uv.sh). Python itself is never downloaded: uv uses python3.
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
  command -v kdig >/dev/null || need+=(knot-dnsutils)  # Knot's client, in the EDNS e2e tests
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

# --locked: stop, rather than install anything else, when uv.lock no longer matches
# pyproject.toml. gtm itself is built from the locked setuptools (pyproject's [tool.uv]).
# The test set-up is exact (it removes what the lock does not list); the plain one only adds
# and replaces, so that the quickstart leaves a developer's test tools in place.
sync=(--extra fast --inexact)
[ "$dev" = 1 ] && sync=(--extra dev)
deploy/uv.sh sync --quiet --locked --python python3 "${sync[@]}"
