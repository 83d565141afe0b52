"""Shared fixtures: real RabbitMQ, MongoDB and mail servers for the integration tiers.

Each server comes from the environment (MAILROOM_AMQP_URL, MAILROOM_MONGO_URL) when set,
else from testcontainers when a Docker engine answers, else from binaries started locally
by `mailroom.localinfra`. The fixtures never skip: a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import aio_pika
import pymongo
import pytest

from mailroom.localinfra import MailSandbox, ensure_mongo, ensure_rabbitmq

# Every bus namespace of this run starts with this prefix, so that the exchanges and
# queues the run declared can be found and deleted on a shared broker at the end.
BUS_NAMESPACE_PREFIX = "t" + uuid.uuid4().hex[:4]
RABBITMQCTL_TIMEOUT_S = 30


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _memory_dir() -> Path | None:
    """/dev/shm when it is there, usable and roomy: the suite's servers keep about 20 MB
    there, and a container's default 64 MB leaves too little margin."""
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK | os.X_OK)):
        return None
    stats = os.statvfs(memory)
    return memory if stats.f_bavail * stats.f_frsize >= 512 * 1024**2 else None


@pytest.fixture(scope="session")
def local_workdir() -> Iterator[Path]:
    # Under /dev/shm or /tmp rather than pytest's 0700 base dir: Dovecot's and Postfix's
    # unprivileged processes must be able to reach the mail sandbox's files. In memory
    # where the machine has it: the servers' fsyncs (Postfix's queue, Dovecot's
    # deliveries) then cost nothing, and no test waits on a disk busy with something
    # else; right after a fresh install, a first delivery once outlasted a 30 s wait.
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-tests-", dir=_memory_dir()))
    yield workdir
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbitmq_url(local_workdir: Path) -> Iterator[str]:
    broker = ensure_rabbitmq(None, local_workdir)
    yield broker.url
    if broker.started_here:
        broker.stop()  # the whole node goes, with everything declared on it
    else:
        _delete_bus_objects(broker.url, BUS_NAMESPACE_PREFIX)


@pytest.fixture
def bus_namespace() -> str:
    """A namespace (exchange name and queue prefix) of the bus that no other test uses."""
    return BUS_NAMESPACE_PREFIX + uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def mongo_url(local_workdir: Path) -> Iterator[str]:
    server = ensure_mongo(None, local_workdir)
    yield server.url
    server.stop()


@pytest.fixture
def mongo_db_name(mongo_url: str) -> Iterator[str]:
    """A database name no other test uses; the database is dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        mongo_url, serverSelectionTimeoutMS=5000
    )
    try:
        client.drop_database(name)
    except pymongo.errors.PyMongoError:
        pass  # best effort: the name is unique to this test anyway
    finally:
        client.close()


@pytest.fixture(scope="session")
def mail_sandbox(local_workdir: Path) -> Iterator[MailSandbox]:
    with MailSandbox(local_workdir) as sandbox:
        yield sandbox


@pytest.fixture(scope="module", autouse=True)
def _drop_bus_objects_after_each_module(request: pytest.FixtureRequest) -> Iterator[None]:
    """Delete the module's exchanges and queues when it ends.

    Every consumer group declares several quorum queues (work, dead letters, one per
    retry step), each a Raft group of its own; hundreds of tests leaving theirs on a
    shared single-node broker until the session ends made it stop answering.
    """
    module_items = [item for item in request.session.items if item.module is request.module]
    uses_bus = any("bus_namespace" in getattr(item, "fixturenames", ()) for item in module_items)
    # Looked up now: fixtures may not be requested during teardown.
    rabbitmq_url = str(request.getfixturevalue("rabbitmq_url")) if uses_bus else None
    yield
    if rabbitmq_url is not None:
        _delete_bus_objects(rabbitmq_url, BUS_NAMESPACE_PREFIX)


def _delete_bus_objects(url: str, prefix: str) -> None:
    """Delete the exchanges and queues whose names start with `prefix` (best effort).

    AMQP cannot list queues, so the names come from `rabbitmqctl`, which works for the
    broker on this machine; elsewhere the names are left to expire with the broker.
    """
    queues = _rabbitmqctl_names("list_queues", prefix)
    exchanges = _rabbitmqctl_names("list_exchanges", prefix)
    if not queues and not exchanges:
        return

    async def delete() -> None:
        connection = await aio_pika.connect(url, timeout=10)
        async with connection:
            for name in queues:
                channel = await connection.channel()
                with suppress(aio_pika.exceptions.AMQPError):
                    await channel.queue_delete(name)
            for name in exchanges:
                channel = await connection.channel()
                with suppress(aio_pika.exceptions.AMQPError):
                    await channel.exchange_delete(name)

    # A thread of its own: the test session's event loop may still be open in this one.
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(delete())
        except Exception as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    if errors:
        print(f"could not delete test queues and exchanges: {errors[0]!r}")


def _rabbitmqctl_names(command: str, prefix: str) -> list[str]:
    try:
        result = subprocess.run(
            ["rabbitmqctl", "-q", "--no-table-headers", command, "name"],
            capture_output=True,
            text=True,
            check=False,
            timeout=RABBITMQCTL_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if result.returncode != 0:
        return []
    return [line.strip() for line in result.stdout.splitlines() if line.startswith(prefix)]
