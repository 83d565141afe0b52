"""The store prepares its collections itself: declared indexes created, retired ones dropped."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from mailroom.shared.collections import INDEXES, RETIRED_INDEXES, SENDS
from mailroom.shared.store import Store


async def _index_names(store: Store, collection: str) -> set[str]:
    return {index["name"] async for index in await store.collection(collection).list_indexes()}


async def test_an_upgraded_database_loses_the_indexes_nothing_uses_any_more(
    mongo_url: str, mongo_db_name: str
) -> None:
    store = Store(mongo_url, mongo_db_name, app_name="test")
    try:
        # what an earlier version left behind on `sends`
        await store.collection(SENDS).create_indexes(
            [
                IndexModel(
                    [("tenant_id", ASCENDING), ("idempotency_key", ASCENDING)],
                    unique=True,
                    name="tenant_idempotency_unique",
                ),
                IndexModel([("smtp_message_id", ASCENDING)], name="smtp_message_id", sparse=True),
            ]
        )
        await store.collection(SENDS).insert_one({"_id": "s1", "tenant_id": "t"})

        await store.ensure_indexes(INDEXES, RETIRED_INDEXES)
        # a second replica starting later finds nothing left to drop
        await store.ensure_indexes(INDEXES, RETIRED_INDEXES)

        assert await _index_names(store, SENDS) == {"_id_"}
        assert await store.collection(SENDS).count_documents({}) == 1
        for collection, indexes in INDEXES.items():
            assert {index.document["name"] for index in indexes} <= await _index_names(
                store, collection
            )
    finally:
        await store.close()


async def test_a_fresh_database_has_nothing_to_drop(mongo_url: str, mongo_db_name: str) -> None:
    store = Store(mongo_url, mongo_db_name, app_name="test")
    try:
        await store.ensure_indexes(INDEXES, RETIRED_INDEXES)

        assert await store.collection(SENDS).count_documents({}) == 0
        assert "tenant_email_recent" in await _index_names(store, "bounces")
    finally:
        await store.close()
