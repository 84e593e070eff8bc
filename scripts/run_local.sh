#!/usr/bin/env bash
# make run: set up the runtime, start the local server with the shipped model, ask it about a
# real cat photo, keep serving.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-8080}"
photo="${1:-tests/fixtures/cat_chelsea.jpg}"
python=".venv/bin/python"

# A port something already listens on (an earlier `make run`, say) stops this one first of
# all: no setup, no model, and no question asked of whatever holds the port.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is busy (an earlier make run?): stop what holds it, or try PORT=$((port == 9000 ? 9001 : 9000)) make run" >&2
  exit 2
fi

scripts/setup.sh run

# This server's banner (printed once it has bound the port and loaded the model) says it is
# ready; whatever else may answer on the port is never asked. If it stops first (the port was
# taken meanwhile: it has said so in one line), stop too.
banner="$(mktemp)"
"$python" -m catbreed_local.server --port "$port" >"$banner" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$banner"' EXIT INT TERM
until [ -s "$banner" ]; do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" || exit $?
    exit 1
  fi
  sleep 0.2
done
cat "$banner"

echo
echo "Asking the function (emulator route) about $photo:"
"$python" test.py "$photo" --endpoint "http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
echo
echo "Open http://127.0.0.1:$port/ in a browser to try your own photos. Ctrl-C stops the server."
wait "$server"
