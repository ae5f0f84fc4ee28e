#!/usr/bin/env bash
# Set up gtm and serve the bundled example zones on 127.0.0.1:5353 (UDP and TCP), with the
# example geo database and stand-in health targets for its regions (deploy/demo_targets.py:
# 127.0.0.1:8081-8083, controlled on :8090). Extra arguments go to `gtm serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
python3 deploy/demo_targets.py &
demo=$!
trap 'kill "$demo" 2>/dev/null' EXIT
# The stand-ins must listen before gtm's first round of checks, or it starts with them "down".
for _ in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8090), 0.2).close()' \
    2>/dev/null && break
  sleep 0.1
done
.venv/bin/gtm serve --zones zones --geodb geodb/example.mmdb --listen 127.0.0.1:5353 "$@"
