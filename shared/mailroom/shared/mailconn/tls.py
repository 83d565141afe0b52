"""TLS trust for connections to mailbox servers."""

from __future__ import annotations

import ssl
from functools import lru_cache


def client_ssl_context(ca_pem: str | None, verify: bool = True) -> ssl.SSLContext:
    """A client context that trusts the system CAs plus the mailbox's own CA, if given.

    `verify=False` turns off certificate and host-name checks; callers pass it
    only when the mailbox's settings say so explicitly. Contexts are shared
    between connections with the same trust (loading the system CAs takes tens
    of milliseconds), so callers must not modify the returned context.
    """
    return _cached_context(ca_pem or None, verify)


@lru_cache(maxsize=256)
def _cached_context(ca_pem: str | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_pem:
        context.load_verify_locations(cadata=ca_pem)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
