#!/usr/bin/env bash
# make run: settings, Azurite in memory, migrations, demo data, then the local host.
# Everything it starts is stopped on any exit (Ctrl-C, an error, a failed start); the banner
# is printed once the host answers. READY_TIMEOUT (seconds, default 180) bounds each wait: a
# cold, busy machine can take a minute to start Azurite or the host.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-7071}
WORKERS=${WORKERS:-2}
READY_TIMEOUT=${READY_TIMEOUT:-180}
PY=.venv/bin/python
mkdir -p .data

AZURITE_PID="" MAMBU_PID="" RECEIVER_PID="" HOST_PID=""
cleanup() {
  for pid in $HOST_PID $RECEIVER_PID $MAMBU_PID $AZURITE_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for WHAT PID CHECK...: until CHECK succeeds, the process PID exits, or READY_TIMEOUT passes.
wait_for() {
  local what=$1 pid=$2 deadline=$((SECONDS + READY_TIMEOUT))
  shift 2
  until "$@"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then echo "$what exited before it was ready"; return 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "$what was not ready after ${READY_TIMEOUT}s (READY_TIMEOUT)"; return 1; fi
    sleep 0.3
  done
}
azurite_ready() { port_open 10000 && port_open 10001 && port_open 10002; }
# host_ready: the banner's first curl (a token for the demo client) works
host_ready() {
  $PY - "$PORT" "${DEMO_CLIENT_SECRET:-demo-secret-0730-change-me}" <<'PY' 2>/dev/null
import sys, urllib.request
port, secret = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/api/auth/token", data=b"", method="POST",
                                 headers={"client_id": "demo-client", "client_secret": secret})
with urllib.request.urlopen(request, timeout=5) as answer:
    sys.exit(0 if answer.status == 200 else 1)
PY
}

$PY manage.py init-settings

if port_open 10002 && port_open 10000; then
  echo "Azurite (or another storage emulator) already listens on 10000-10002; using it"
else
  node_modules/.bin/azurite --inMemoryPersistence --silent --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    > .data/azurite.log 2>&1 &
  AZURITE_PID=$!
  wait_for Azurite "$AZURITE_PID" azurite_ready || { echo "see .data/azurite.log"; exit 1; }
  echo "Azurite started in memory (pid $AZURITE_PID)"
fi
MAMBU_PID=""
if port_open 8089; then
  echo "something already listens on 8089; using it as Mambu"
else
  $PY -m fakes.mambu --port 8089 > .data/mambu.log 2>&1 &
  MAMBU_PID=$!
  wait_for "the fake Mambu" "$MAMBU_PID" port_open 8089 || { echo "see .data/mambu.log"; exit 1; }
  echo "fake Mambu started on 127.0.0.1:8089 (pid $MAMBU_PID; customers in data/mambu-demo.json)"
fi
$PY manage.py migrate
$PY manage.py seed-demo --webhook-base http://127.0.0.1:8090
$PY manage.py import-collections data/collections-demo.json
# today's activity for the console; before the webhook receiver starts, so one webhook fails
$PY manage.py seed-demo-day

if port_open 8090; then
  echo "something already listens on 8090; using it as the distributors' webhook receiver"
else
  $PY -m fakes.webhook_receiver --port 8090 \
    --secret "KOF=$($PY manage.py webhook-secret KOF --quiet)" \
    --secret "PRONTO=$($PY manage.py webhook-secret PRONTO --quiet)" > .data/webhook-receiver.log 2>&1 &
  RECEIVER_PID=$!
  wait_for "the webhook receiver" "$RECEIVER_PID" port_open 8090 || { echo "see .data/webhook-receiver.log"; exit 1; }
  echo "local webhook receiver (KOF, Pronto) on 127.0.0.1:8090 (pid $RECEIVER_PID; what it got: GET /_fake/events)"
fi

$PY manage.py serve --port "$PORT" --workers "$WORKERS" &
HOST_PID=$!
wait_for "the local host" "$HOST_PID" host_ready || exit 1

SECRET=${DEMO_CLIENT_SECRET:-demo-secret-0730-change-me}
OPERATOR_SECRET=${DEMO_OPERATOR_SECRET:-demo-operator-0730-change-me}
cat <<TXT

  Console:        http://127.0.0.1:$PORT/api/console   (client id demo-operator, secret $OPERATOR_SECRET)
  Local host:     http://127.0.0.1:$PORT/api/
  Health:         curl -s http://127.0.0.1:$PORT/api/health
  Demo client:    client_id=demo-client  client_secret=$SECRET  (scopes: collections lending merchant yapago)
  Get a token:    curl -s -X POST http://127.0.0.1:$PORT/api/auth/token -H 'client_id: demo-client' -H 'client_secret: $SECRET'
  Who am I:       curl -s http://127.0.0.1:$PORT/api/auth/me -H "Authorization: Bearer \$TOKEN"
  Exchange dir:   .data/sftp/   SQLite: .data/app.db   Stop: Ctrl-C
  OTP codes (SMS outbox): .data/sms-outbox.jsonl (also in this log)
  Disbursements:  .data/sftp/dispersiones/{pendientes,respuestas,reintentos}/
                  the bank:  .venv/bin/python -m fakes.bank [--reject TRANSACTION_ID=02]
                  webhooks:  curl -s http://127.0.0.1:8090/_fake/events   (.venv/bin/python manage.py webhooks)

TXT
wait "$HOST_PID"
