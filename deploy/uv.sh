#!/usr/bin/env bash
# Run uv, the installer, at the release uv.lock pins for it, from this checkout's root. The
# first run (or one after the lock moved uv) installs it into .uv with pip --require-hashes,
# from the hashes the lock records (deploy/uv_requirement.py); nothing but the package index
# is asked. uv uses the machine's python3 and never downloads a Python of its own.
#   deploy/uv.sh lock --upgrade    rewrite uv.lock to the newest releases pyproject.toml allows
#   deploy/uv.sh tree              what is locked, as a tree
set -euo pipefail
cd "$(dirname "$0")/.."

uv_requirement=$(python3 deploy/uv_requirement.py)
uv_version=${uv_requirement%% *}
if [ "$(.uv/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "${uv_version#uv==}" ]; then
  python3 -c 'import ensurepip, venv' 2>/dev/null \
    || { echo "deploy/uv.sh needs python3-venv (apt-get install python3-venv)" >&2; exit 1; }
  [ -x .uv/bin/python ] || python3 -m venv .uv
  requirements=$(mktemp)
  trap 'rm -f "$requirements"' EXIT
  echo "$uv_requirement" >"$requirements"
  echo "installing $uv_version (from uv.lock) into .uv" >&2
  .uv/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
    --only-binary :all: -r "$requirements"
fi
export UV_PYTHON_DOWNLOADS=never UV_PYTHON_PREFERENCE=only-system
exec .uv/bin/uv "$@"
