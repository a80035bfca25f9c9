"""One instance per timer tick, as the Functions host's singleton lock does across instances.

The host lets one instance run a timer (a blob lease in `azure-webjobs-hosts`, under the host's
id). Here each tick is claimed in the same container of AzureWebJobsStorage, under the host id
(`AzureFunctionsWebHost__hostid`, else one derived from the app folder and SQL_URL, so that two
instances of one app share it and two apps do not): under a short lease, the claim blob
of the timer records the last tick taken; an instance that finds its tick already taken (or
the blob leased) skips it. Two `serve` processes on one storage then fire each tick once.
Without a reachable storage every instance runs its ticks (one instance is the usual case).
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import datetime
from typing import Any

log = logging.getLogger("local_host")
CONTAINER = "azure-webjobs-hosts"
LEASE_SECONDS = 15


class TickClaims:
    def __init__(self, connection_setting: str = "AzureWebJobsStorage", env: Any = os.environ) -> None:
        self._container: Any = None
        self._warned = False
        self._host = ""
        try:
            from azure.core.exceptions import ResourceExistsError
            from azure.storage.blob import ContainerClient

            from settings import storage_connection

            connection = storage_connection(env.get(connection_setting, "") or "")
            # the host's id names its locks; instances of one app share it (here: the same database)
            self._host = env.get("AzureFunctionsWebHost__hostid") or hashlib.sha256(
                f"{os.getcwd()}|{env.get('SQL_URL', '')}".encode()).hexdigest()[:32]
            if connection:
                container = ContainerClient.from_connection_string(connection, CONTAINER)
                try:
                    container.create_container()
                except ResourceExistsError:
                    pass
                self._container = container
        except Exception as exc:  # noqa: BLE001 - no storage: every instance runs its ticks
            log.warning("timer ticks are not shared between instances (%s)", exc)

    def claim(self, name: str, due: datetime) -> bool:
        """True when this instance takes the tick `due` of timer `name` (no other one did)."""
        if self._container is None:
            return True
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

        blob = self._container.get_blob_client(f"locks/{self._host}/{name}")
        try:
            try:
                blob.upload_blob(b"", overwrite=False)
            except ResourceExistsError:
                pass
            lease = blob.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError:
            return False  # leased: another instance is claiming this tick right now
        try:
            taken = blob.download_blob(lease=lease).readall().decode() or ""
            stamp = due.isoformat()
            if taken >= stamp:
                return False
            blob.upload_blob(stamp.encode(), overwrite=True, lease=lease)
            return True
        except (HttpResponseError, ResourceNotFoundError) as exc:
            if not self._warned:
                self._warned = True
                log.warning("could not claim timer ticks (%s); this instance runs its own", exc)
            return True
        finally:
            try:
                lease.release()
            except HttpResponseError:
                pass
