#!/usr/bin/env bash
# The whole suite (tests/run.sh: set-up, ruff, mypy, pytest) against the newest releases that
# pyproject.toml's ranges allow, without touching this checkout's uv.lock or .venv: it runs in a
# scratch copy (the committed files and the new ones git does not ignore), relocked there with
# `uv lock --upgrade`. Run it before refreshing the lock (deploy/uv.sh lock --upgrade), or on a
# schedule, to learn of a breaking release before the lock takes it. Not at the same time as
# tests/run.sh: both use the README's fixed ports. Extra arguments go to pytest. On failure the
# copy is kept, and its path printed.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=$(mktemp -d "${TMPDIR:-/tmp}/gtm-newest.XXXXXX")
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$copy"
cd "$copy"
echo "newest releases, in $copy:" >&2
deploy/uv.sh lock --upgrade
if tests/run.sh "$@"; then
  rm -rf "$copy"
else
  status=$?
  echo "failed against the newest releases; the copy is kept: $copy" >&2
  exit "$status"
fi
