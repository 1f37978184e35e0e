#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install the locked packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_install() {
  command -v apt-get >/dev/null || { echo "need: $* (no apt-get here)" >&2; return 1; }
  if [ ! -f /tmp/.telemed-apt-updated ]; then as_root apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.telemed-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@"
}

PYTHON=""
for cand in python3.13 python3.12 python3.11 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PYTHON="$cand"; break
  fi
done
if [ -z "$PYTHON" ]; then apt_install python3 python3-venv; PYTHON=python3; fi

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv; apt_install python3-venv; "$PYTHON" -m venv .venv
  fi
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip uv
  .venv/bin/uv pip sync -q --python .venv/bin/python requirements.lock
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  touch "$stamp"
fi
