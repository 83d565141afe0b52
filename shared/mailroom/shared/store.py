"""MongoDB access on PyMongo's async API, shared by every service.

Written for a MongoDB 7+ replica set: majority write concern and majority reads
so an acknowledged write survives a primary failover, and retryable writes so a
failover mid-request is not an error. Collections and their indexes are declared
in `mailroom.shared.collections` and created idempotently at start-up (several
replicas creating the same index at once is fine for MongoDB).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

log = logging.getLogger(__name__)

Document = dict[str, Any]

# MongoDB's error code for dropping an index that is not there.
_INDEX_NOT_FOUND = 27


class Store:
    """One MongoDB client per process; collections are handed out by name."""

    def __init__(self, url: str, db_name: str, *, app_name: str) -> None:
        self.client: AsyncMongoClient[Document] = AsyncMongoClient(
            url,
            appname=f"mailroom-{app_name}",
            tz_aware=True,
            retryWrites=True,
            serverSelectionTimeoutMS=10_000,
            connectTimeoutMS=5_000,
        )
        self.db: AsyncDatabase[Document] = self.client.get_database(
            db_name,
            write_concern=WriteConcern(w="majority"),
            read_concern=ReadConcern("majority"),
        )
        self._ready = False

    def collection(self, name: str) -> AsyncCollection[Document]:
        return self.db[name]

    async def connect(self) -> None:
        """Wait until the server answers (raises after the selection timeout)."""
        await self.client.admin.command("ping")
        self._ready = True

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except PyMongoError:
            self._ready = False
            return False
        self._ready = True
        return True

    def is_ready(self) -> bool:
        return self._ready

    async def ensure_indexes(
        self,
        specs: Mapping[str, Sequence[IndexModel]],
        retired: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Create every declared index (an existing identical one is left alone) and drop
        the `retired` ones (by collection, index names) that earlier versions created."""
        for collection_name, names in (retired or {}).items():
            await self._drop_indexes(collection_name, names)
        for collection_name, indexes in specs.items():
            if not indexes:
                continue
            try:
                await self.db[collection_name].create_indexes(list(indexes))
            except OperationFailure as exc:
                # An index of the same name with other options: say which, do not guess.
                raise RuntimeError(
                    f"index definition conflict on {collection_name!r}: {exc.details}"
                ) from exc
        log.info("indexes ensured", extra={"collections": sorted(specs)})

    async def _drop_indexes(self, collection_name: str, names: Sequence[str]) -> None:
        collection = self.db[collection_name]
        present = {index["name"] async for index in await collection.list_indexes()}
        for name in names:
            if name not in present:
                continue
            try:
                await collection.drop_index(name)
            except OperationFailure as exc:
                if exc.code != _INDEX_NOT_FOUND:
                    raise
                continue  # another replica starting at the same time dropped it first
            log.info("retired index dropped", extra={"collection": collection_name, "index": name})

    async def close(self) -> None:
        await self.client.close()
