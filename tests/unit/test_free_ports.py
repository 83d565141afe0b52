"""Free ports for the local servers: never one an outgoing connection could take meanwhile."""

from __future__ import annotations

import socket

import pytest

from mailroom.localinfra import ports
from mailroom.localinfra.ports import LOOPBACK, free_port


def test_ports_come_from_below_the_ephemeral_range_and_differ_each_time() -> None:
    ephemeral_start = ports._ephemeral_start()
    if ephemeral_start - ports._FREE_PORTS_FROM < 1000:
        pytest.skip(f"this machine's ephemeral range starts at {ephemeral_start}")

    picked = [free_port() for _ in range(200)]

    assert len(set(picked)) == len(picked)
    assert all(ports._FREE_PORTS_FROM <= port < ephemeral_start for port in picked)


def test_a_port_something_listens_on_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, free_port()))
        listener.listen()
        taken = listener.getsockname()[1]
        monkeypatch.setattr(ports, "_next_port", taken)

        port = free_port()

    assert port != taken
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, port))
