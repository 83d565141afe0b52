"""Watching one mailbox over IMAP: IDLE on INBOX, Junk/Spam polled, nothing missed.

One connection per mailbox: it IDLEs on INBOX (ended and started again before
RFC 2177's 29 minutes), and between IDLEs checks the Junk/Spam folder (found by
SPECIAL-USE, else by name) on a slower cadence with STATUS, opening it only when
something arrived. Servers without IDLE are polled. Messages are read with
BODY.PEEK, so `\\Seen` never changes; each folder resumes from its stored
UIDVALIDITY and highest UID.

A connection that goes quiet is checked two ways: TCP keepalive finds a peer
that vanished from the network within about a minute at no cost to this
process, and IDLE is ended and started again every few minutes, a round trip
with a deadline that finds a server that still holds the socket but no longer
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aioimaplib

from mailroom.shared.bus import Bus
from mailroom.shared.contracts import MailLocation
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets
from mailroom.shared.mailconn.failures import classify_imap_login_reply, detect_provider
from mailroom.shared.mailconn.imap import (
    ImapClient,
    ImapError,
    close_imap,
    imap_capabilities,
    imap_login,
    imap_xoauth2,
    open_imap,
)
from mailroom.shared.mailconn.tls import client_ssl_context
from mailroom.shared.store import Store
from mailroom.watcher.cursors import (
    Counts,
    FolderCursor,
    load_cursor,
    record_folder_error,
    save_progress,
)
from mailroom.watcher.metrics import WatcherMetrics
from mailroom.watcher.report import MailboxRef, report_message
from mailroom.watcher.settings import WatcherSettings

log = logging.getLogger(__name__)

INBOX = "INBOX"
_JUNK_NAMES = ("junk", "spam", "junk e-mail", "junk email", "bulk mail", "[gmail]/spam")
# Put in aioimaplib's IDLE queue to wake the watch (stop, restart, lost connection).
WAKE = [b"mailroom wake"]
_NUMBER = re.compile(rb"\d+")
_SEARCH_LINE = re.compile(rb"^(?:SEARCH)?[\d ]*$")
_FETCH_START = re.compile(rb"^\d+ FETCH \((?P<items>.*)\{(?P<size>\d+)\}$")
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
# aioimaplib strips "* LIST " / "* SEARCH " from untagged data of some commands: accept both.
_LIST_LINE = re.compile(rb'^(?:LIST )?\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')
# The capabilities a watch looks at (aioimaplib checks IDLE, UIDPLUS and MOVE itself).
# A connection keeps only these, as shared strings: the full list costs kilobytes each.
_KEPT_CAPABILITIES = frozenset({"IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "ENABLE"})
# TCP keepalive probes after the first one, and the gap between them.
_KEEPALIVE_PROBES = 3
_KEEPALIVE_INTERVAL_S = 10


class CredentialsRejected(Exception):
    """The server refused the user name and password (or the OAuth token)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class NeedsAttention(Exception):
    """The server works but cannot be used as configured (no UIDPLUS, a provider policy)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ConnectionLost(Exception):
    """The server closed the connection while the watch was waiting on it."""


@dataclass(frozen=True, slots=True)
class WatchContext:
    """What every watch shares: clients, settings, metrics."""

    store: Store
    bus: Bus
    secrets: MailboxSecrets
    settings: WatcherSettings
    metrics: WatcherMetrics
    connect_slots: asyncio.Semaphore


@functools.lru_cache(maxsize=256)
def ssl_context_for(ca_pem: str | None, verify: bool) -> ssl.SSLContext:
    """One context per trust setting: a context holds the CA store, far bigger than a socket."""
    return client_ssl_context(ca_pem, verify)


def quote_mailbox(name: str) -> str:
    if name.upper() == INBOX:
        return INBOX
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def connect_and_login(ctx: WatchContext, mailbox: MailboxRecord) -> ImapClient:
    """Open the connection and authenticate; raises CredentialsRejected on a refusal."""
    incoming = mailbox.incoming
    assert incoming is not None
    context = ssl_context_for(mailbox.tls.ca_pem, mailbox.tls.verify)
    timeout = ctx.settings.connect_timeout_seconds
    async with ctx.connect_slots:
        client = await asyncio.wait_for(
            open_imap(
                incoming.host,
                incoming.port,
                incoming.security,
                context if incoming.security != "none" else None,
                timeout,
            ),
            timeout,
        )
        enable_tcp_keepalive(client, ctx.settings.keepalive_seconds)
        username = incoming.username or mailbox.email
        try:
            if mailbox.auth_method == "oauth2":
                token = ctx.secrets.decrypt(mailbox, "oauth_access_token") or ""
                await asyncio.wait_for(imap_xoauth2(client, username, token), timeout)
            else:
                password = ctx.secrets.decrypt(mailbox, "incoming_password") or ""
                await asyncio.wait_for(imap_login(client, username, password), timeout)
        except ImapError as exc:
            await close_imap(client)
            failure = classify_imap_login_reply(exc.reply, detect_provider(incoming.host, username))
            if failure.code == "authentication_failed":
                raise CredentialsRejected(failure.code, failure.message) from None
            if failure.code in ("provider_policy", "tls_mismatch"):
                raise NeedsAttention(failure.code, failure.message) from None
            raise
        except BaseException:
            await close_imap(client)
            raise
    return client


def enable_tcp_keepalive(client: ImapClient, idle_s: float) -> None:
    """Let the kernel find a vanished peer: probes after `idle_s` of silence, then every
    10 s, giving up after 3; unacknowledged data gives up after as long."""
    transport = client.protocol.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return
    idle = max(int(idle_s), 1)
    options = [
        (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
        (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle),
        (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, _KEEPALIVE_INTERVAL_S),
        (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, _KEEPALIVE_PROBES),
        (
            socket.IPPROTO_TCP,
            socket.TCP_USER_TIMEOUT,
            (idle + _KEEPALIVE_PROBES * _KEEPALIVE_INTERVAL_S) * 1000,
        ),
    ]
    for level, option, value in options:
        # Not every platform or socket type has every option; keepalive is a bonus.
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(level, option, value)


def keep_needed_capabilities(client: ImapClient, capabilities: set[str]) -> None:
    client.protocol.capabilities = {name for name in _KEPT_CAPABILITIES if name in capabilities}


async def checked(call: Awaitable[Any], command: str, deadline_s: float) -> list[Any]:
    """Run an aioimaplib command with a deadline; NO/BAD become ImapError."""
    response = await asyncio.wait_for(call, deadline_s)
    if response.result != "OK":
        text = b" ".join(x for x in response.lines if isinstance(x, bytes)).decode(errors="replace")
        raise ImapError(command, text[:300] or str(response.result))
    lines: list[Any] = response.lines
    return lines


def status_numbers(lines: Sequence[Any]) -> dict[str, int]:
    """UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and EXISTS from SELECT/EXAMINE/STATUS responses."""
    found: dict[str, int] = {}
    for line in lines:
        if not isinstance(line, bytes):
            continue
        for key in (b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"):
            match = re.search(key + rb" (\d+)", line)
            if match:
                found[key.decode()] = int(match.group(1))
        match = re.match(rb"^(\d+) EXISTS", line)
        if match:
            found["EXISTS"] = int(match.group(1))
    return found


def search_uids(lines: Sequence[Any]) -> list[int]:
    uids: list[int] = []
    for line in lines:
        if isinstance(line, bytes) and _SEARCH_LINE.match(line):
            uids.extend(int(n) for n in _NUMBER.findall(line))
    return uids


@dataclass(slots=True)
class FetchedMessage:
    uid: int
    raw: bytes
    size: int | None
    internaldate: datetime | None


def fetched_messages(lines: Sequence[Any]) -> list[FetchedMessage]:
    """Pull (UID, bytes, INTERNALDATE) out of aioimaplib's FETCH response lines."""
    messages: list[FetchedMessage] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _FETCH_START.match(line) if isinstance(line, bytes) else None
        if match is None or index + 1 >= len(lines) or isinstance(lines[index + 1], bytes):
            index += 1
            continue
        items = match.group("items")
        raw = bytes(lines[index + 1])
        trailer = lines[index + 2] if index + 2 < len(lines) else b""
        trailer = trailer if isinstance(trailer, bytes) else b""
        uid = _UID.search(items) or _UID.search(trailer)
        date = _INTERNALDATE.search(items) or _INTERNALDATE.search(trailer)
        size = re.search(rb"RFC822\.SIZE (\d+)", items + b" " + trailer)
        if uid is not None:
            messages.append(
                FetchedMessage(
                    uid=int(uid.group(1)),
                    raw=raw,
                    size=int(size.group(1)) if size else None,
                    internaldate=_internaldate(date.group(1)) if date else None,
                )
            )
        index += 2
    return messages


def _internaldate(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        try:
            return parsedate_to_datetime(value.decode())
        except (TypeError, ValueError):
            return None


def junk_folder(lines: Sequence[Any]) -> str | None:
    """The Junk/Spam folder: the one marked `\\Junk` (RFC 6154), else one with a junk name."""
    by_name: str | None = None
    for line in lines:
        if not isinstance(line, bytes):
            continue
        match = _LIST_LINE.match(line)
        if match is None:
            continue
        flags = match.group("flags").lower()
        name = match.group("name").decode(errors="replace").strip()
        if name.startswith('"') and name.endswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if b"\\noselect" in flags or b"\\nonexistent" in flags:
            continue
        if b"\\junk" in flags:
            return name
        if by_name is None and name.lower() in _JUNK_NAMES:
            by_name = name
    return by_name


class ImapSession:
    """One connected session of one mailbox's watch, until stopped or the connection fails."""

    def __init__(
        self,
        ctx: WatchContext,
        mailbox: MailboxRef,
        client: ImapClient,
        stopping: Callable[[], bool],
    ) -> None:
        self.ctx = ctx
        self.mailbox = mailbox
        self.client = client
        self.stopping = stopping
        self.cursors: dict[str, FolderCursor] = {}
        self.lost = False
        self.timeout = ctx.settings.connect_timeout_seconds
        client.protocol.conn_lost_cb = self._on_connection_lost

    def _on_connection_lost(self, _exc: Exception | None) -> None:
        self.lost = True
        self.wake()

    def wake(self) -> None:
        self.client.protocol.idle_queue.put_nowait(WAKE)

    async def run(self) -> None:
        capabilities = await imap_capabilities(self.client)
        if "UIDPLUS" not in capabilities:
            from mailroom.shared.mailconn.failures import uidplus_missing

            failure = uidplus_missing()
            raise NeedsAttention(failure.code, failure.message)
        has_idle = "IDLE" in capabilities
        keep_needed_capabilities(self.client, capabilities)
        del capabilities
        junk = junk_folder(await checked(self.client.list('""', '"*"'), "LIST", self.timeout))
        folders = [INBOX] + ([junk] if junk and junk.upper() != INBOX else [])
        for folder in folders:
            self.cursors[folder] = await load_cursor(
                self.ctx.store, self.mailbox.mailbox_id, folder
            )
        # The slow folders first (EXAMINE), then INBOX stays selected for IDLE.
        for folder in folders[1:]:
            await self.scan_folder(folder, select=False)
        await self.scan_folder(INBOX, select=True)
        settings = self.ctx.settings
        next_slow = _now_s() + settings.junk_poll_seconds
        while not self.stopping():
            wait_s = max(0.0, next_slow - _now_s()) if len(folders) > 1 else None
            if has_idle:
                new_mail = await self.idle(wait_s)
            else:
                new_mail = await self.pause(
                    min(wait_s or settings.poll_seconds, settings.poll_seconds)
                )
            if self.lost:
                raise ConnectionLost("the server closed the connection")
            if self.stopping():
                return
            if new_mail or not has_idle:
                await self.scan_new(INBOX)
            if len(folders) > 1 and _now_s() >= next_slow:
                next_slow = _now_s() + settings.junk_poll_seconds
                for folder in folders[1:]:
                    await self.check_slow_folder(folder)

    async def idle(self, wait_s: float | None) -> bool:
        """IDLE until new mail, a wake-up, `wait_s` or the next liveness check; True on new mail.

        Ending IDLE is the liveness check: DONE must be answered within the command
        deadline, or the connection counts as lost (TimeoutError).
        """
        metrics = self.ctx.metrics
        settings = self.ctx.settings
        limit = min(settings.idle_reissue_seconds, settings.liveness_check_seconds)
        if wait_s is not None:
            limit = min(limit, wait_s)
        idle_task = await asyncio.wait_for(
            self.client.idle_start(timeout=settings.idle_reissue_seconds), self.timeout
        )
        metrics.idle_connections.inc()
        new_mail = False
        pushes = self.client.protocol.idle_queue
        try:
            # asyncio.timeout rather than wait_for: no extra task per idle connection.
            async with asyncio.timeout(limit):
                while True:
                    push = await pushes.get()
                    if push is WAKE or push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                        break
                    if any(
                        isinstance(x, bytes) and (b"EXISTS" in x or b"RECENT" in x) for x in push
                    ):
                        new_mail = True
                        break
        except TimeoutError:
            pass
        finally:
            metrics.idle_connections.dec()
            if not self.lost and self.client.has_pending_idle():
                self.client.idle_done()
            if not self.lost:
                await asyncio.wait_for(idle_task, self.timeout)
            else:
                idle_task.cancel()
        return new_mail

    async def pause(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.client.protocol.idle_queue.get(), seconds)
        return False

    async def check_slow_folder(self, folder: str) -> None:
        """STATUS first: open the folder only if its UIDs moved past the cursor."""
        cursor = self.cursors[folder]
        lines = await checked(
            self.client.status(quote_mailbox(folder), "(UIDNEXT UIDVALIDITY)"),
            "STATUS",
            self.timeout,
        )
        numbers = status_numbers(lines)
        unchanged = (
            numbers.get("UIDVALIDITY") == cursor.uidvalidity
            and numbers.get("UIDNEXT", 0) - 1 <= cursor.last_uid
        )
        if unchanged:
            return
        await self.scan_folder(folder, select=False)
        await self.select(INBOX)

    async def select(self, folder: str) -> dict[str, int]:
        if folder == INBOX:
            lines = await checked(self.client.select(INBOX), "SELECT", self.timeout)
        else:
            lines = await checked(
                self.client.examine(quote_mailbox(folder)), "EXAMINE", self.timeout
            )
        return status_numbers(lines)

    async def scan_folder(self, folder: str, *, select: bool) -> None:
        """Open a folder and read everything that arrived since its cursor."""
        numbers = await self.select(folder)
        uidvalidity = numbers.get("UIDVALIDITY")
        cursor = self.cursors[folder]
        if uidvalidity is None:
            raise ImapError("SELECT", f"{folder}: no UIDVALIDITY in the response")
        if cursor.uidvalidity is None:
            # First sight of this folder: start from now; older mail is history.
            cursor.uidvalidity = uidvalidity
            cursor.last_uid = max(numbers.get("UIDNEXT", 1) - 1, 0)
            if "UIDNEXT" not in numbers:
                uids = search_uids(
                    await checked(self.client.uid_search("ALL"), "UID SEARCH", self.timeout)
                )
                cursor.last_uid = max(uids, default=0)
            cursor.highest_modseq = numbers.get("HIGHESTMODSEQ")
            await self.save(folder, Counts())
            return
        if cursor.uidvalidity != uidvalidity:
            await self.rescan(folder, uidvalidity, numbers.get("HIGHESTMODSEQ"))
            return
        cursor.highest_modseq = numbers.get("HIGHESTMODSEQ", cursor.highest_modseq)
        if "UIDNEXT" in numbers and numbers["UIDNEXT"] - 1 <= cursor.last_uid:
            await self.save(folder, Counts())
            return
        await self.scan_new(folder)

    async def rescan(self, folder: str, uidvalidity: int, modseq: int | None) -> None:
        """UIDVALIDITY changed: read recent mail again; `watch_seen` drops what was reported."""
        cursor = self.cursors[folder]
        since = (cursor.updated_at or datetime.now(UTC)) - timedelta(days=1)
        log.warning(
            "UIDVALIDITY changed; rescanning",
            extra={"mailbox_id": self.mailbox.mailbox_id, "folder": folder},
        )
        lines = await checked(
            self.client.uid_search("SINCE", since.strftime("%d-%b-%Y")), "UID SEARCH", self.timeout
        )
        cursor.uidvalidity = uidvalidity
        cursor.last_uid = 0
        cursor.highest_modseq = modseq
        await self.read_uids(folder, sorted(search_uids(lines)))

    async def scan_new(self, folder: str) -> None:
        cursor = self.cursors[folder]
        lines = await checked(
            self.client.uid_search("UID", f"{cursor.last_uid + 1}:*"), "UID SEARCH", self.timeout
        )
        # `n:*` always matches the highest UID, even when it is below n.
        uids = sorted(uid for uid in search_uids(lines) if uid > cursor.last_uid)
        if uids:
            await self.read_uids(folder, uids)

    async def read_uids(self, folder: str, uids: list[int]) -> None:
        ctx = self.ctx
        cursor = self.cursors[folder]
        cap = ctx.settings.raw_max_bytes
        batch = ctx.settings.fetch_batch
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            counts = Counts()
            lines = await checked(
                self.client.uid(
                    "fetch",
                    ",".join(str(uid) for uid in chunk),
                    f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{cap}>)",
                ),
                "UID FETCH",
                self.timeout * 3,
            )
            for message in sorted(fetched_messages(lines), key=lambda m: m.uid):
                if message.uid <= cursor.last_uid and cursor.last_uid:
                    continue
                location = MailLocation(
                    protocol="imap",
                    folder=folder,
                    uidvalidity=cursor.uidvalidity,
                    uid=message.uid,
                )
                await report_message(
                    ctx.store,
                    ctx.bus,
                    ctx.metrics,
                    self.mailbox,
                    location,
                    message.raw,
                    counts,
                    truncated=message.size is not None and message.size > cap,
                    arrived_at=message.internaldate,
                )
            cursor.last_uid = max(cursor.last_uid, chunk[-1])
            await self.save(folder, counts)

    async def save(self, folder: str, counts: Counts) -> None:
        await save_progress(
            self.ctx.store,
            self.mailbox.tenant_id,
            self.mailbox.mailbox_id,
            folder,
            self.cursors[folder],
            counts,
        )

    async def folder_failed(self, folder: str, message: str) -> None:
        await record_folder_error(
            self.ctx.store, self.mailbox.tenant_id, self.mailbox.mailbox_id, folder, message
        )


async def delete_imap_message(
    ctx: WatchContext, mailbox: MailboxRecord, folder: str, uidvalidity: int, uid: int
) -> bool:
    """Delete exactly one message by UID (UID EXPUNGE), on a short connection of its own.

    Returns False when the folder's UIDVALIDITY changed: the UID then names
    another message (or none), so nothing is touched.
    """
    client = await connect_and_login(ctx, mailbox)
    timeout = ctx.settings.connect_timeout_seconds
    try:
        await imap_capabilities(client)  # after LOGIN: aioimaplib's UID EXPUNGE checks UIDPLUS
        lines = await checked(client.select(quote_mailbox(folder)), "SELECT", timeout)
        if status_numbers(lines).get("UIDVALIDITY") != uidvalidity:
            return False
        await checked(
            client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "STORE", timeout
        )
        await checked(client.uid("expunge", str(uid)), "UID EXPUNGE", timeout)
        return True
    finally:
        await close_imap(client)


def _now_s() -> float:
    return asyncio.get_running_loop().time()
