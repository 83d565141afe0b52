"""RabbitMQ for local runs and tests: reuse one that answers, or start a private node."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mailroom.localinfra.ports import LOOPBACK, free_port
from mailroom.localinfra.procs import TAG_VARIABLE, docker_available, log_tail, terminate_tagged

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_TIMEOUT_S = 60.0
RABBITMQ_IMAGE = "rabbitmq:3.13"
# AMQP 0-9-1 protocol header; a broker answers it with a Connection.Start method frame (type 1).
AMQP_PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


@dataclass
class RabbitHandle:
    """A RabbitMQ broker: `url` to connect to; `stop()` ends it if it was started here."""

    url: str
    started_here: bool
    process: subprocess.Popen[bytes] | None = None
    tag: str = ""
    log_path: Path | None = None
    stopper: Callable[[], None] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped or not self.started_here:
            return
        self._stopped = True
        if self.stopper is not None:
            self.stopper()
        if self.process is None:
            return
        # The server runs in its own process group (beam, erl_child_setup, inet_gethost);
        # epmd detaches into its own session, so it is found by the environment tag.
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        _signal_group(self.process.pid, signal.SIGKILL)
        terminate_tagged(self.tag, timeout=5)


def amqp_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an AMQP 0-9-1 broker answers the protocol header at `url`'s host and port."""
    parts = urlsplit(url)
    tls = parts.scheme == "amqps"
    host = parts.hostname or LOOPBACK
    port = parts.port or (5671 if tls else 5672)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if tls:
                # A TLS listener that accepts the connection is as far as a cheap probe goes.
                return True
            sock.sendall(AMQP_PROTOCOL_HEADER)
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


def ensure_rabbitmq(url: str | None, workdir: Path) -> RabbitHandle:
    """Reuse the broker at `url` (default MAILROOM_AMQP_URL, then the local default) if it
    answers; otherwise start one: in a container when a Docker engine answers, else a
    private RabbitMQ node under `workdir` on free ports."""
    url = url or os.environ.get("MAILROOM_AMQP_URL") or DEFAULT_AMQP_URL
    if amqp_answers(url):
        return RabbitHandle(url=url, started_here=False)
    if docker_available():
        return start_rabbitmq_container()
    return start_rabbitmq(workdir)


def start_rabbitmq_container() -> RabbitHandle:
    from testcontainers.rabbitmq import RabbitMqContainer

    container = RabbitMqContainer(RABBITMQ_IMAGE)
    container.start()
    handle = RabbitHandle(url="", started_here=True, stopper=container.stop)
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(5672)
        handle.url = f"amqp://{container.username}:{container.password}@{host}:{port}/"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not amqp_answers(handle.url, timeout=1.0):
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the RabbitMQ container did not answer at {host}:{port}")
            time.sleep(0.2)
    except BaseException:
        handle.stop()
        raise
    return handle


def start_rabbitmq(workdir: Path) -> RabbitHandle:
    tag = uuid.uuid4().hex[:10]
    node_dir = workdir / f"rabbitmq-{tag}"
    node_dir.mkdir(parents=True)
    amqp_port, dist_port, epmd_port = free_port(), free_port(), free_port()
    (node_dir / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = {LOOPBACK}:{amqp_port}\nloopback_users.guest = true\n"
    )
    (node_dir / "enabled_plugins").write_text("[].\n")
    loopback_only = "-kernel inet_dist_use_interface {127,0,0,1}"
    env = {
        **os.environ,
        TAG_VARIABLE: tag,
        "HOME": str(node_dir),  # holds the .erlang.cookie
        "RABBITMQ_NODENAME": f"mailroom-{tag}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
        "RABBITMQ_NODE_PORT": str(amqp_port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        # A private epmd, so that stopping this node never touches another node's epmd.
        "ERL_EPMD_ADDRESS": LOOPBACK,
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_CONFIG_FILE": str(node_dir / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(node_dir / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(node_dir / "mnesia"),
        "RABBITMQ_LOG_BASE": str(node_dir / "log"),
        "RABBITMQ_PID_FILE": str(node_dir / "rabbit.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": loopback_only,
        "RABBITMQ_CTL_ERL_ARGS": loopback_only,
    }
    log_path = node_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(RABBITMQ_SERVER)],
            env=env,
            cwd=node_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    handle = RabbitHandle(
        url=f"amqp://guest:guest@{LOOPBACK}:{amqp_port}/",
        started_here=True,
        process=process,
        tag=tag,
        log_path=log_path,
    )
    try:
        _wait_until_up(handle, process, log_path)
    except BaseException:
        handle.stop()
        raise
    return handle


def _wait_until_up(handle: RabbitHandle, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not amqp_answers(handle.url, timeout=1.0):
        if process.poll() is not None:
            raise RuntimeError(
                f"rabbitmq-server exited with status {process.returncode}:\n{log_tail(log)}"
            )
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"rabbitmq-server did not answer within {START_TIMEOUT_S:.0f} s:\n{log_tail(log)}"
            )
        time.sleep(0.2)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
