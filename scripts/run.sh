#!/usr/bin/env bash
# The main job on the embedded default: migrate SQLite, seed the demo when empty, serve
# (with the demo county PACS beside it).
set -euo pipefail
PY="${TELEMED_PYTHON:-.venv/bin/python}"
export TELEMED_ENV="${TELEMED_ENV:-development}"
export TELEMED_DATABASE_URL="${TELEMED_DATABASE_URL:-sqlite:///var/telemed.db}"
"$PY" -m telemed.cli db upgrade
"$PY" -m telemed.cli seed --demo --if-empty
# the insurance agency's local fake (异地就医备案, docs/referrals.md): cross-region filings
# are sent to it; if it cannot start, they are numbered locally (LocalFilingAdapter)
AGENCY=""
mkdir -p var
if [ -z "${TELEMED_REFERRALS__FILING_AGENCY__URL:-}" ]; then
  AGENCY_PORT="${TELEMED_FAKE_AGENCY_PORT:-18090}"
  export TELEMED_REFERRALS__FILING_AGENCY__TOKEN="${TELEMED_REFERRALS__FILING_AGENCY__TOKEN:-development-only-fake-agency-token}"
  export TELEMED_REFERRALS__FILING_AGENCY__PAASID="${TELEMED_REFERRALS__FILING_AGENCY__PAASID:-telemed-dev}"
  "$PY" -m referrals.fake_agency --port "$AGENCY_PORT" >var/fake-agency.log 2>&1 &
  AGENCY=$!
  # it prints its address once it listens; give it 10 s (or until it exits)
  for _ in $(seq 1 100); do
    grep -q "^fake filing agency on" var/fake-agency.log 2>/dev/null && break
    kill -0 "$AGENCY" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q "^fake filing agency on" var/fake-agency.log 2>/dev/null; then
    export TELEMED_REFERRALS__FILING_AGENCY__URL="http://127.0.0.1:${AGENCY_PORT}/fsi/api/rsfComIfsService/callService"
    export TELEMED_REFERRALS__FILING_AGENCY__FIXMEDINS_CODE="${TELEMED_REFERRALS__FILING_AGENCY__FIXMEDINS_CODE:-H15000000001}"
    echo "telemed: the fake insurance agency answers filings on port ${AGENCY_PORT}"
  else
    echo "telemed: the fake insurance agency did not start (var/fake-agency.log);" \
      "cross-region filings are numbered locally (LocalFilingAdapter)" >&2
    kill "$AGENCY" 2>/dev/null || true
    AGENCY=""
  fi
fi
"$PY" -m telemed.cli jobs >/dev/null
# the demo county hospital's PACS (registered by the demo seed at 127.0.0.1:11113): signed
# opinions of its requests arrive there as DICOM SR (docs/imaging.md, "Demo county PACS")
"$PY" -m dicom.demo_pacs --port "${TELEMED_DEMO_PACS_PORT:-11113}" --dir var/demo-pacs &
PACS=$!
# the fake WeChat Pay (development only, docs/payments.md "The fake"): a development key
# set, and the TELEMED_PAYMENTS__WECHAT__* settings that point this server at the fake
WECHAT=""
ALIPAY=""
if [ "$TELEMED_ENV" = development ]; then
  WECHAT_PORT="${TELEMED_FAKE_WECHAT_PORT:-8010}"
  "$PY" -m telemed.payments.fake_wechat --port "$WECHAT_PORT" --state-dir var/fake-wechat --init >/dev/null
  set -a; . var/fake-wechat/keys/wechat.env; set +a
  "$PY" -m telemed.payments.fake_wechat --port "$WECHAT_PORT" --state-dir var/fake-wechat &
  WECHAT=$!
  # the fake Alipay gateway and its development keys (docs/payments.md, "The fake Alipay"):
  # our side's TELEMED_PAYMENTS__ALIPAY__* point at it unless set
  ALIPAY_PORT="${TELEMED_FAKE_ALIPAY_PORT:-8790}"
  while IFS='=' read -r name value; do
    [ -n "${!name:-}" ] || export "$name=$value"
  done < <("$PY" -m telemed.payments.fake_alipay --state-dir var/fake-alipay --keys-only)
  export TELEMED_PAYMENTS__ALIPAY__GATEWAY="${TELEMED_PAYMENTS__ALIPAY__GATEWAY:-http://127.0.0.1:$ALIPAY_PORT/gateway.do}"
  "$PY" -m telemed.payments.fake_alipay --port "$ALIPAY_PORT" --state-dir var/fake-alipay >/dev/null &
  ALIPAY=$!
  # patients pay through the fakes (the sandbox page stays offered last)
  export TELEMED_PAYMENTS__PROVIDERS="${TELEMED_PAYMENTS__PROVIDERS:-[\"wechat\",\"alipay\",\"sandbox\"]}"
fi
# Janus as the SFU (development only, docs/operations.md "make run"): when the janus binary
# is installed, a Janus on a generated configuration (var/janus, random secrets made once)
# and the server's TELEMED_VIDEO__JANUS_* pointing at it; otherwise rooms stay on the
# small-room paths (browser to browser, the aiortc relay)
JANUS=""
if [ "$TELEMED_ENV" = development ] && [ -z "${TELEMED_VIDEO__JANUS_URL:-}" ]; then
  JANUS_PORT="${TELEMED_JANUS_PORT:-8088}"
  JANUS_ARGS=(--dir var/janus --port "$JANUS_PORT"
    --admin-port "${TELEMED_JANUS_ADMIN_PORT:-$((JANUS_PORT + 1))}"
    --rtp "${TELEMED_JANUS_RTP_PORTS:-20000-20199}")
  if ! "$PY" -m telemed.video.janus_dev --check; then
    echo "telemed: Janus is not installed (apt-get install janus janus-tools): rooms stay on" \
      "the small-room paths (browser to browser up to 4, the aiortc relay up to 3)"
  elif "$PY" -m telemed.video.janus_dev "${JANUS_ARGS[@]}" --wait 0.5; then
    echo "telemed: port ${JANUS_PORT} already answers as a Janus (another make run?): rooms stay" \
      "on the small-room paths (set TELEMED_JANUS_PORT)" >&2
  else
    JANUS_ENV="$("$PY" -m telemed.video.janus_dev "${JANUS_ARGS[@]}" --env)"
    "$PY" -m telemed.video.janus_dev "${JANUS_ARGS[@]}" >var/janus-stdout.log 2>&1 &
    JANUS=$!
    if "$PY" -m telemed.video.janus_dev "${JANUS_ARGS[@]}" --wait 20 && kill -0 "$JANUS" 2>/dev/null; then
      while IFS='=' read -r name value; do export "$name=$value"; done <<<"$JANUS_ENV"
      echo "telemed: Janus (the SFU) is used on port ${JANUS_PORT}: lectures and MDT rooms" \
        "run on it (var/janus/janus.log)"
    else
      echo "telemed: Janus did not start (var/janus/janus.log, var/janus-stdout.log): rooms" \
        "stay on the small-room paths" >&2
      kill "$JANUS" 2>/dev/null || true
      JANUS=""
    fi
  fi
fi
echo "telemed: serving on http://127.0.0.1:${PORT:-8000}/ (demo password: telemed-demo)"
"$PY" -m telemed.cli serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" &
SERVE=$!
trap 'kill "$SERVE" "$PACS" $WECHAT $ALIPAY $AGENCY $JANUS 2>/dev/null' INT TERM EXIT
wait "$SERVE"
