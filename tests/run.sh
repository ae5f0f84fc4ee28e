#!/usr/bin/env bash
# Set up everything the tests need (system packages; .venv with exactly the versions uv.lock
# pins, dev tools included) and run the whole suite: lint, types, then pytest. Tests that need Redis start their own private
# redis-server on a free port; the machine's shared one is never used.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
