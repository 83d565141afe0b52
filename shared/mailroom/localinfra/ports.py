"""Ports on 127.0.0.1: the mail sandbox's fixed ports, and helpers to find and await ports."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path

# The mail sandbox's fixed ports (`mailroom up`, e2e tests); free ports are picked otherwise.
IMAP_PORT = 10143
IMAPS_PORT = 10993
POP3_PORT = 10110
POP3S_PORT = 10995
LMTP_PORT = 10024
SASL_AUTH_PORT = 10026
SUBMISSION_PORT = 10587
SMTPS_PORT = 10465
SMTP_PORT = 10025
NOUIDPLUS_IMAP_PORT = 10144

LOOPBACK = "127.0.0.1"


# Where free ports are looked for: below the kernel's ephemeral range when it leaves
# room. A port the kernel hands out for `bind(0)` comes from the range it also gives
# outgoing connections their local ports from, so between picking it and the server
# binding it, any connection made meanwhile could take it ("Address already in use"
# from Postfix once). Above the fixed ports of the sandbox.
_FREE_PORTS_FROM = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_next_port: int | None = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now and that no outgoing
    connection will take: below the ephemeral range, a different one on each call."""
    global _next_port
    first, end = _FREE_PORTS_FROM, _ephemeral_start()
    if end - first < 1000:
        return _kernel_port()  # the ephemeral range leaves no room below it
    if _next_port is None:
        # each process starts somewhere else, so two processes seldom try the same ports
        _next_port = random.randrange(first, end)
    for _ in range(end - first):
        port = _next_port
        _next_port = port + 1 if port + 1 < end else first
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
        return port
    return _kernel_port()


def _ephemeral_start() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to host:port is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float) -> None:
    """Block until host:port accepts TCP connections; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not port_answers(host, port):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing answers on {host}:{port} after {timeout:.0f} s")
        time.sleep(0.05)
