"""The local infrastructure launcher: MongoDB and RabbitMQ as tests and `mailroom up` get them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from mailroom.localinfra import ensure_rabbitmq
from mailroom.localinfra.procs import tagged_processes
from mailroom.localinfra.rabbitmq import amqp_answers

pytestmark = pytest.mark.integration


async def test_the_store_round_trips_documents_and_enforces_unique_indexes(
    mongo_url: str, mongo_db_name: str
) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        mailboxes = client[mongo_db_name]["mailboxes"]
        await mailboxes.create_index("address", unique=True)
        await mailboxes.insert_one({"address": "demo@mailroom.test", "provider": "imap"})

        found = await mailboxes.find_one({"address": "demo@mailroom.test"}, {"_id": False})
        assert found == {"address": "demo@mailroom.test", "provider": "imap"}

        with pytest.raises(DuplicateKeyError):
            await mailboxes.insert_one({"address": "demo@mailroom.test", "provider": "gmail"})
        assert await mailboxes.count_documents({}) == 1
    finally:
        await client.close()


def test_a_broker_that_answers_is_reused_not_started(rabbitmq_url: str, tmp_path: Path) -> None:
    broker = ensure_rabbitmq(rabbitmq_url, tmp_path)

    assert broker.started_here is False
    assert broker.url == rabbitmq_url
    broker.stop()  # does nothing to a broker it did not start
    assert amqp_answers(rabbitmq_url)


def test_without_an_answering_broker_a_private_node_is_started_and_fully_stopped(
    local_workdir: Path,
) -> None:
    nothing_there = "amqp://guest:guest@127.0.0.1:1/"

    broker = ensure_rabbitmq(nothing_there, local_workdir)
    try:
        assert broker.started_here is True
        assert broker.url != nothing_there
        assert amqp_answers(broker.url)
    finally:
        broker.stop()

    assert not amqp_answers(broker.url)
    assert tagged_processes(broker.tag) == []
    broker.stop()  # idempotent
