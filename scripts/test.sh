#!/usr/bin/env bash
# The whole suite: system packages when missing, Python packages, lint, types, tests.
# The tests start their own throwaway PostgreSQL and Orthanc on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v Orthanc >/dev/null || need+=(orthanc)
ls /usr/share/orthanc/plugins/libOrthancDicomWeb.so >/dev/null 2>&1 || need+=(orthanc-dicomweb)
ls /usr/share/orthanc/plugins/libOrthancPython.so >/dev/null 2>&1 || need+=(orthanc-python)  # the filter plugin (dicom/orthanc_plugin)
command -v storescu >/dev/null || need+=(dcmtk)
command -v turnserver >/dev/null || need+=(coturn)
command -v janus >/dev/null || need+=(janus)  # the SFU (VideoRoom plugin, tests/support/janus.py)
command -v janus-pp-rec >/dev/null || need+=(janus-tools)  # post-processes Janus recordings
command -v chromium >/dev/null || need+=(chromium)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)  # CJK glyphs in Chromium
# Noto Sans Mongolian: the source of the web font subset in frontend/src/assets/fonts (the build
# uses the committed subset, not this package) and of the PDFs' Mongolian glyphs.
[ -f /usr/share/fonts/truetype/noto/NotoSansMongolian-Regular.ttf ] || need+=(fonts-noto-core)
command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v pdftoppm >/dev/null || need+=(poppler-utils)  # the tests render printed PDFs
[ -d /usr/share/poppler/cMap ] || need+=(poppler-data)  # … with their Chinese CID font
ldconfig -p | grep -q libturbojpeg || need+=(libturbojpeg0)  # slide conversion (wsidicomizer)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
  # Debian starts services on install where it can; the tests run their own.
  as_root service orthanc stop >/dev/null 2>&1 || true
  as_root service postgresql stop >/dev/null 2>&1 || true
  as_root service coturn stop >/dev/null 2>&1 || true
fi

bash scripts/bootstrap.sh
if [ -f frontend/package.json ]; then
  bash scripts/frontend.sh build
  echo "== vitest"; bash scripts/frontend.sh test
fi

export TCP_NODELAY=1
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"
pkgs=(-p telemed)
for p in dicom scheduling referrals; do [ -f "$p/__init__.py" ] && pkgs+=(-p "$p"); done
.venv/bin/mypy "${pkgs[@]}"
# Parallel workers (pytest-xdist): the tests wait on browsers, servers and subprocesses
# as much as they compute, so more workers than cores; TELEMED_TEST_WORKERS=0 runs in one
# process. Tests sharing a costly fixture stay on one worker (`--dist loadgroup`).
workers="${TELEMED_TEST_WORKERS:-4}"
xdist=()
if [ "$workers" != 0 ]; then xdist=(-n "$workers" --dist loadgroup); fi
echo "== pytest"; .venv/bin/python -m pytest "${xdist[@]}" "$@"
