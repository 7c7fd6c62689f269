"""Tenant-scoped access to the object store, with an access-log row per operation (P3, P4).

Every read, write, delete or link of tenant data in pipeline code goes
through ``TenantObjects``: it refuses keys outside ``{zone}/{tenant}/`` and
records actor, tenant, action, purpose, object and time in ``access_log``.
Rows are buffered and written in one transaction on ``flush()`` (or when the
context manager exits) so a batch of 1,000 objects costs one insert.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..core.keys import assert_key_in_tenant, tenant_key
from .control_store import ControlStore, access_log, utcnow
from .object_store import ObjectInfo, ObjectStore


class TenantObjects:
    def __init__(
        self,
        store: ObjectStore,
        control: ControlStore,
        tenant_id: str,
        *,
        actor: str,
        purpose: str,
        run_id: str | None = None,
    ):
        self.store = store
        self.control = control
        self.tenant_id = tenant_id
        self.actor = actor
        self.purpose = purpose
        self.run_id = run_id
        self._pending: list[dict] = []

    def __enter__(self) -> TenantObjects:
        return self

    def __exit__(self, *exc) -> None:
        self.flush()

    def key(self, zone: str, *parts: str) -> str:
        return tenant_key(zone, self.tenant_id, *parts)

    def log(self, action: str, key: str) -> None:
        """Record an access made outside these methods (e.g. a DuckDB read of the tenant's datasets)."""
        self._log(action, self._own(key))

    def _log(self, action: str, key: str) -> None:
        self._pending.append(
            dict(
                at=utcnow(),
                actor=self.actor,
                tenant_id=self.tenant_id,
                action=action,
                purpose=self.purpose,
                object=key,
                run_id=self.run_id,
            )
        )

    def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            self.control.insert(access_log, rows)

    # -- operations -----------------------------------------------------------
    def _own(self, key: str, received: bool = False) -> str:
        if received:
            # inbox keys are checked by the ingestion rules; only the prefix matters here
            if not key.startswith(f"raw/{self.tenant_id}/"):
                raise ValueError(f"received key outside tenant '{self.tenant_id}'")
            return key
        return assert_key_in_tenant(key, self.tenant_id)

    def head(self, key: str, *, received: bool = False) -> ObjectInfo | None:
        return self.store.head(self._own(key, received), received=received)

    def get_bytes(self, key: str, *, received: bool = False) -> bytes:
        data = self.store.get_bytes(self._own(key, received), received=received)
        self._log("read", key)
        return data

    def download_file(self, key: str, path: str | Path, *, received: bool = False) -> None:
        self.store.download_file(self._own(key, received), path, received=received)
        self._log("read", key)

    def put_bytes(self, key: str, data: bytes, *, action: str = "write") -> ObjectInfo:
        """Write *data*; *action* is ``export`` when the object is a deliverable extract."""
        info = self.store.put_bytes(self._own(key), data)
        self._log(action, key)
        return info

    def put_file(self, key: str, path: str | Path) -> ObjectInfo:
        info = self.store.put_file(self._own(key), path)
        self._log("write", key)
        return info

    def delete(self, key: str, *, received: bool = False) -> None:
        self.store.delete(self._own(key, received), received=received)
        self._log("delete", key)

    def list(self, zone: str, *parts: str) -> Iterator[ObjectInfo]:
        prefix = self.key(zone, *parts) + "/"
        return self.store.list(prefix)

    def access_url(self, key: str, expires_s: int = 3600) -> str:
        url = self.store.access_url(self._own(key), expires_s)
        self._log("link", key)
        return url
