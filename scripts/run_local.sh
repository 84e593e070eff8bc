#!/usr/bin/env bash
# Start the local server with the shipped model, ask it about a real cat photo, keep serving.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-8080}"
photo="${1:-tests/fixtures/cat_chelsea.jpg}"
python=".venv/bin/python"

"$python" -m catbreed_local.server --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM

# Wait for this server (its Server header), not whatever else may answer on the port; if it
# stops (a busy port: it has said so in one line), stop too.
ready="import sys, urllib.request as u; sys.exit(not u.urlopen('http://127.0.0.1:$port/breeds', timeout=1).headers['Server'].startswith('catbreed-local'))"
until "$python" -c "$ready" 2>/dev/null; do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || exit $?
    exit 1
  fi
  sleep 0.2
done

echo
echo "Asking the function (emulator route) about $photo:"
"$python" test.py "$photo" --endpoint "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
echo
echo "Open http://127.0.0.1:$port/ in a browser to try your own photos. Ctrl-C stops the server."
wait "$server"
