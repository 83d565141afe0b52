"""MongoDB for local runs and tests: a given URL, a testcontainers MongoDB, or SecantusDB.

SecantusDB (GPL) is only ever run as a separate process through its command-line daemon;
nothing here imports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pymongo
import pymongo.errors

from mailroom.localinfra.ports import LOOPBACK, free_port
from mailroom.localinfra.procs import docker_available, log_tail

MongoKind = Literal["external", "testcontainers", "secantusdb"]
START_TIMEOUT_S = 60.0
MONGO_IMAGE = "mongo:7"


@dataclass
class MongoHandle:
    """A MongoDB-compatible server: `url` to connect to, `kind` says where it came from."""

    url: str
    kind: MongoKind
    stopper: Callable[[], None] | None = field(default=None, repr=False)
    # The server's process when started here (SecantusDB), e.g. to measure its CPU.
    pid: int | None = None

    def stop(self) -> None:
        stopper, self.stopper = self.stopper, None
        if stopper is not None:
            stopper()


def ensure_mongo(url: str | None, workdir: Path) -> MongoHandle:
    """Use `url` (or MAILROOM_MONGO_URL) as given; else a testcontainers MongoDB when a Docker
    engine answers; else a SecantusDB daemon started under `workdir` on a free port."""
    url = url or os.environ.get("MAILROOM_MONGO_URL")
    if url:
        return MongoHandle(url=url, kind="external")
    if docker_available():
        return start_mongo_container()
    return start_secantusdb(workdir)


def start_mongo_container() -> MongoHandle:
    from testcontainers.mongodb import MongoDbContainer

    container = MongoDbContainer(MONGO_IMAGE)
    container.start()
    try:
        url = str(container.get_connection_url())
        wait_for_ping(url, START_TIMEOUT_S, describe_failure=lambda: "")
    except BaseException:
        container.stop()
        raise
    return MongoHandle(url=url, kind="testcontainers", stopper=container.stop)


def secantusd_executable() -> str:
    beside_python = Path(sys.executable).parent / "secantusd-py"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("secantusd-py")
    if found is None:
        raise RuntimeError("secantusd-py not found: install the dev extras (SecantusDB)")
    return found


def start_secantusdb(workdir: Path) -> MongoHandle:
    port = free_port()
    data_dir = workdir / f"secantusdb-{port}"
    data_dir.mkdir(parents=True)
    log_path = data_dir / "secantusd.log"
    command = [
        secantusd_executable(),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--storage-path",
        str(data_dir / "data"),
        "--log-level",
        "WARNING",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop() -> None:
        if process.poll() is None:
            process.terminate()  # SIGTERM closes WiredTiger cleanly
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def describe_failure() -> str:
        status = process.poll()
        state = "is running" if status is None else f"exited with status {status}"
        return f"secantusd-py {state}:\n{log_tail(log_path)}"

    url = f"mongodb://{LOOPBACK}:{port}/?directConnection=true"
    try:
        wait_for_ping(url, START_TIMEOUT_S, describe_failure, process)
    except BaseException:
        stop()
        raise
    return MongoHandle(url=url, kind="secantusdb", stopper=stop, pid=process.pid)


def wait_for_ping(
    url: str,
    timeout: float,
    describe_failure: Callable[[], str],
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until the server at `url` answers `ping`; RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            url, serverSelectionTimeoutMS=500, connectTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            return
        except pymongo.errors.PyMongoError:
            pass
        finally:
            client.close()
        if process is not None and process.poll() is not None:
            raise RuntimeError(describe_failure())
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"no MongoDB ping answer from {url} within {timeout:.0f} s\n{describe_failure()}"
            )
        time.sleep(0.2)
