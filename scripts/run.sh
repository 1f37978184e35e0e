#!/usr/bin/env bash
# The main job on the embedded default: migrate SQLite, seed the demo when empty, serve.
set -euo pipefail
PY="${TELEMED_PYTHON:-.venv/bin/python}"
export TELEMED_ENV="${TELEMED_ENV:-development}"
export TELEMED_DATABASE_URL="${TELEMED_DATABASE_URL:-sqlite:///var/telemed.db}"
"$PY" -m telemed.cli db upgrade
"$PY" -m telemed.cli seed --demo --if-empty
"$PY" -m telemed.cli jobs >/dev/null
echo "telemed: serving on http://127.0.0.1:${PORT:-8000}/ (demo password: telemed-demo)"
exec "$PY" -m telemed.cli serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
