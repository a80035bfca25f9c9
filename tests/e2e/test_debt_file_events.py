"""Event-driven arrival: a blob created in a company's Deudas/Pending/ of the SFTP-enabled
exchange queues the company at once. The local host serves Event Grid as the host does
(`POST /runtime/webhooks/eventgrid?functionName=...`, the subscription handshake included);
here the exchange is Azurite's blob service and the event is posted as Event Grid would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from azure.functions import EventGridEvent
from azure.storage.blob import BlobServiceClient

import bootstrap
from settings import get_settings
from tests.conftest import ROOT, SIGNING_KEY, stop
from tests.e2e.calls import function
from tests.e2e.test_local_host import start_host
from tests.integration.test_debt_golden import DATA
from usecases.companies import seed_demo

SUBJECT = "/blobServices/default/containers/{container}/blobs/{path}"


def event(container: str, path: str, api: str = "SftpCommit", kind: str = "Microsoft.Storage.BlobCreated") -> dict:
    return {"id": str(uuid.uuid4()), "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/"
            "storageAccounts/sftp", "subject": SUBJECT.format(container=container, path=path), "eventType": kind,
            "eventTime": "2026-12-03T13:00:00Z", "dataVersion": "", "metadataVersion": "1",
            "data": {"api": api, "contentType": "application/octet-stream", "blobType": "BlockBlob",
                     "url": f"https://sftp.blob.core.windows.net/{container}/{path}"}}  # fmt: skip


def as_event(item: dict) -> EventGridEvent:
    from local_host.asgi import event_grid_event

    return event_grid_event(item)


@pytest.fixture
def blob_exchange(app_env: Path, azurite: str, monkeypatch: pytest.MonkeyPatch) -> str:
    container = f"x{uuid.uuid4().hex[:12]}"
    BlobServiceClient.from_connection_string(azurite).create_container(container)
    monkeypatch.setenv("SFTP_URL", f"blob://{container}")
    bootstrap.reset()
    seed_demo(bootstrap.unit_of_work, bootstrap.utc_now())
    return container


def queued() -> int:
    return bootstrap.work_queues().client(get_settings().debt_queue).get_queue_properties().approximate_message_count


def test_a_committed_file_in_pending_queues_its_company(blob_exchange: str) -> None:
    bootstrap.file_store().write_atomic("00730/Deudas/Pending/D0073022112026001.TXT", b"x")
    arrived = function("debt_file_arrived").get_user_function()
    arrived(as_event(event(blob_exchange, "00730/Deudas/Pending/D0073022112026001.TXT")))
    assert queued() == 1


@pytest.mark.parametrize(("path", "api", "kind"), [
    ("00730/Deudas/Pending/D0073022112026001.TXT", "SftpCreate", "Microsoft.Storage.BlobCreated"),  # still empty
    ("00730/Deudas/Pending/D0073022112026001.TXT", "DeleteBlob", "Microsoft.Storage.BlobDeleted"),
    ("00730/Deudas/Complete/D0073022112026001.TXT", "PutBlob", "Microsoft.Storage.BlobCreated"),
    ("00730/Pagos/P0073022112026001.TXT", "PutBlob", "Microsoft.Storage.BlobCreated"),
    ("99999/Deudas/Pending/D9999922112026001.TXT", "PutBlob", "Microsoft.Storage.BlobCreated"),  # no such company
])  # fmt: skip
def test_other_events_queue_nothing(blob_exchange: str, path: str, api: str, kind: str) -> None:
    bootstrap.file_store().write_atomic("00730/Deudas/Pending/D0073022112026001.TXT", b"x")
    function("debt_file_arrived").get_user_function()(as_event(event(blob_exchange, path, api, kind)))
    assert queued() == 0


def test_another_container_queues_nothing(blob_exchange: str) -> None:
    bootstrap.file_store().write_atomic("00730/Deudas/Pending/D0073022112026001.TXT", b"x")
    function("debt_file_arrived").get_user_function()(
        as_event(event("other", "00730/Deudas/Pending/D0073022112026001.TXT")))
    assert queued() == 0


def test_the_local_host_loads_a_file_seconds_after_its_event(tmp_path: Path, azurite: str) -> None:
    container = f"x{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(azurite)
    service.create_container(container)
    env = {**os.environ, "SQL_URL": f"sqlite:///{tmp_path / 'app.db'}", "SFTP_URL": f"blob://{container}",
           "LOG_STORAGE_CONNECTION": azurite, "AzureWebJobsStorage": azurite, "JWT_SIGNING_KEY": SIGNING_KEY,
           "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.500"}  # fmt: skip
    for command in (["migrate"], ["seed-demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    proc, port, log = start_host(tmp_path, env, "--workers", "1", "--no-timers")  # no timer: only the event
    try:
        hook = f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName=debt_file_arrived"
        handshake = httpx.post(hook, headers={"aeg-event-type": "SubscriptionValidation"}, json=[{
            "id": "v", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "subject": "",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}}])  # fmt: skip
        assert handshake.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
        (source,) = (DATA / "valid_r").glob("*.TXT")
        path = f"00730/Deudas/Pending/{source.name}"
        service.get_blob_client(container, path).upload_blob(source.read_bytes())
        sent = time.monotonic()
        answer = httpx.post(hook, headers={"aeg-event-type": "Notification"}, json=[event(container, path, "PutBlob")])
        assert answer.status_code == 202
        done = service.get_blob_client(container, f"00730/Deudas/Complete/{source.name}.OK")
        while not done.exists() and time.monotonic() - sent < 20:
            time.sleep(0.2)
        assert done.exists(), log.read_text()[-3000:]
        assert b"ESTADO: PROCESADO" in done.download_blob().readall()
        assert time.monotonic() - sent < 10, "seconds, not the next tick"
        assert httpx.post(hook.replace("debt_file_arrived", "nope"), json=[]).status_code == 404
    finally:
        stop(proc)
    text = log.read_text()
    assert "Executed 'Functions.debt_file_arrived' (Succeeded" in text and "Executed 'Functions.debt_files'" in text
