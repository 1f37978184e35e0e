#!/usr/bin/env bash
# The web frontend: `build` (npm ci + vite build, only when sources or the lockfile changed
# since the last build), `test` (Vitest) and `openapi [OUT]` (regenerate the typed API
# client's types, src/lib/api/schema.d.ts, from the app's OpenAPI). Fails loudly on any error.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

die() { echo "frontend: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is not installed (Node.js 20+ is needed to build the web app)"
command -v npm >/dev/null || die "npm is not installed"

STAMP=dist/.build-stamp
DEPS_STAMP=node_modules/.deps-stamp

# A digest of everything the build reads.
sources_digest() {
  {
    find src public -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum
    sha256sum package.json package-lock.json index.html vite.config.ts tsconfig.json 2>/dev/null
    node --version
  } | sha256sum | cut -d' ' -f1
}

deps() {
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$DEPS_STAMP" ] && [ "$(cat "$DEPS_STAMP")" = "$want" ]; then return 0; fi
  echo "frontend: npm ci"
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$want" > "$DEPS_STAMP"
}

build() {
  local want
  want=$(sources_digest)
  if [ -f "$STAMP" ] && [ -f dist/index.html ] && [ "$(cat "$STAMP")" = "$want" ]; then
    echo "frontend: up to date"
    return 0
  fi
  deps
  echo "frontend: npm run build"
  rm -f "$STAMP"
  npm run build --silent || die "build failed (see the errors above)"
  [ -f dist/index.html ] || die "build produced no dist/index.html"
  echo "$want" > "$STAMP"
}

# The API's types from the app's OpenAPI document (no server needed), into OUT
# (default src/lib/api/schema.d.ts). Python: TELEMED_PYTHON, else the repository's .venv.
SCHEMA=src/lib/api/schema.d.ts
openapi() {
  local out="${1:-$SCHEMA}" py="${TELEMED_PYTHON:-../.venv/bin/python}" tmp
  [ -x "$py" ] || py=$(command -v python3) || die "no Python (set TELEMED_PYTHON)"
  deps
  tmp=$(mktemp --suffix=.json)
  trap 'rm -f "$tmp"' RETURN
  (cd .. && "$py" scripts/openapi_dump.py "$tmp") || die "could not dump the OpenAPI document"
  node_modules/.bin/openapi-typescript "$tmp" --alphabetize --default-non-nullable false --output "$out" >/dev/null \
    || die "openapi-typescript failed"
  echo "frontend: wrote $out"
}

case "${1:-build}" in
  build) build ;;
  test) deps; npx vitest run || die "unit tests failed" ;;
  openapi) openapi "${2:-}" ;;
  *) die "usage: $0 build|test|openapi [OUT]" ;;
esac
