"""Ports on 127.0.0.1: the mail sandbox's fixed ports, and helpers to find and await ports."""

from __future__ import annotations

import socket
import time

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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
