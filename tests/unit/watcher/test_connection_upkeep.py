"""What a watch keeps per connection: keepalive on the socket, few capabilities."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any, cast

from mailroom.watcher.imap_watch import enable_tcp_keepalive, keep_needed_capabilities


def _client_over(sock: socket.socket | None) -> Any:
    transport = SimpleNamespace(get_extra_info=lambda name: sock if name == "socket" else None)
    return SimpleNamespace(protocol=SimpleNamespace(transport=transport, capabilities=set()))


def test_keepalive_probes_a_silent_peer_within_about_a_minute() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        enable_tcp_keepalive(_client_over(sock), 30)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
        interval = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL)
        probes = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT)
        assert idle + interval * probes <= 60
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 60_000


def test_keepalive_is_skipped_without_a_socket() -> None:
    enable_tcp_keepalive(_client_over(None), 30)


def test_a_connection_keeps_only_the_capabilities_it_uses() -> None:
    client = _client_over(None)
    advertised = {"IMAP4REV1", "IDLE", "UIDPLUS", "SORT", "THREAD=REFS", "CONDSTORE", "NOTIFY"}
    keep_needed_capabilities(client, advertised)
    kept = cast(set[str], client.protocol.capabilities)
    assert kept == {"IMAP4REV1", "IDLE", "UIDPLUS", "CONDSTORE"}
