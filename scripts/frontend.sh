#!/usr/bin/env bash
# The web frontend: `build` (npm ci + vite build, only when sources or the lockfile changed
# since the last build) and `test` (Vitest). Fails loudly on any error.
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

case "${1:-build}" in
  build) build ;;
  test) deps; npx vitest run || die "unit tests failed" ;;
  *) die "usage: $0 build|test" ;;
esac
