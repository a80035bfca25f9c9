#!/usr/bin/env bash
# make run: settings, Azurite in memory, migrations, demo data, then the local host.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-7071}
WORKERS=${WORKERS:-2}
PY=.venv/bin/python
mkdir -p .data

$PY manage.py init-settings

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

AZURITE_PID=""
if port_open 10002 && port_open 10000; then
  echo "Azurite (or another storage emulator) already listens on 10000-10002; using it"
else
  node_modules/.bin/azurite --inMemoryPersistence --silent --skipApiVersionCheck --loose \
    --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
    > .data/azurite.log 2>&1 &
  AZURITE_PID=$!
  for _ in $(seq 50); do port_open 10002 && break; sleep 0.2; done
  port_open 10002 || { echo "Azurite did not start; see .data/azurite.log"; exit 1; }
  echo "Azurite started in memory (pid $AZURITE_PID)"
fi
MAMBU_PID=""
if port_open 8089; then
  echo "something already listens on 8089; using it as Mambu"
else
  $PY -m fakes.mambu --port 8089 > .data/mambu.log 2>&1 &
  MAMBU_PID=$!
  for _ in $(seq 50); do port_open 8089 && break; sleep 0.2; done
  echo "fake Mambu started on 127.0.0.1:8089 (pid $MAMBU_PID; customers in data/mambu-demo.json)"
fi
RECEIVER_PID=""
cleanup() {
  [ -n "$AZURITE_PID" ] && kill "$AZURITE_PID" 2>/dev/null || true
  [ -n "$MAMBU_PID" ] && kill "$MAMBU_PID" 2>/dev/null || true
  [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

$PY manage.py migrate
$PY manage.py seed-demo --webhook-base http://127.0.0.1:8090
$PY manage.py import-collections data/collections-demo.json

if port_open 8090; then
  echo "something already listens on 8090; using it as the distributors' webhook receiver"
else
  $PY -m fakes.webhook_receiver --port 8090 \
    --secret "KOF=$($PY manage.py webhook-secret KOF --quiet)" \
    --secret "PRONTO=$($PY manage.py webhook-secret PRONTO --quiet)" > .data/webhook-receiver.log 2>&1 &
  RECEIVER_PID=$!
  for _ in $(seq 50); do port_open 8090 && break; sleep 0.2; done
  echo "local webhook receiver (KOF, Pronto) on 127.0.0.1:8090 (pid $RECEIVER_PID; what it got: GET /_fake/events)"
fi

SECRET=${DEMO_CLIENT_SECRET:-demo-secret-0730-change-me}
cat <<TXT

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
$PY manage.py serve --port "$PORT" --workers "$WORKERS"
