#!/usr/bin/env bash
# Set up gtm and serve the bundled example zones on 127.0.0.1:5353 (UDP and TCP).
# Extra arguments go to `gtm serve` (e.g. --listen '[::1]:5353').
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
exec .venv/bin/gtm serve --zones zones --geodb geodb/example.mmdb --listen 127.0.0.1:5353 "$@"
