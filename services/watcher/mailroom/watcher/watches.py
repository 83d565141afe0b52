"""The mailboxes this replica watches: one small task each, started and stopped by lease.

`MailboxWatch` keeps one mailbox watched: it (re)loads the mailbox, connects,
runs the IMAP or POP3 watch, and on failure records the state (only rejected
credentials mean `auth_failed`) and waits with exponential backoff and jitter.
`Watcher` is the heartbeat: it renews leases, moves toward the fair share and
starts, stops or restarts watches to match.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from functools import partial

import aioimaplib

from mailroom.shared.mailboxes import MailboxRecord, load_mailbox, record_failure, record_success
from mailroom.shared.mailconn.imap import ImapError, close_imap
from mailroom.shared.mailconn.pop3 import Pop3Error
from mailroom.watcher.imap_watch import (
    ConnectionLost,
    CredentialsRejected,
    ImapSession,
    NeedsAttention,
    WatchContext,
    connect_and_login,
)
from mailroom.watcher.leases import Leases
from mailroom.watcher.pop3_watch import watch_pop3
from mailroom.watcher.report import MailboxRef

log = logging.getLogger(__name__)

# What a watch can be doing, for the `mailroom_watcher_mailboxes{state}` gauge.
WATCH_STATES = ("connecting", "connected", "degraded", "auth_failed", "needs_attention")

# Failures that mean "try again later" (the server, the network), never the user's fault.
TRANSIENT = (
    OSError,
    TimeoutError,
    ssl.SSLError,
    ImapError,
    Pop3Error,
    ConnectionLost,
    aioimaplib.Abort,
    aioimaplib.Error,
    aioimaplib.CommandTimeout,
    EOFError,
    asyncio.IncompleteReadError,
)


def failure_code(exc: BaseException) -> str:
    """A stable code for a transient failure (also the `cause` label of reconnects)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "certificate_invalid"
    if isinstance(exc, socket.gaierror):
        return "dns_not_found"
    if isinstance(exc, TimeoutError | aioimaplib.CommandTimeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "invalid_server_or_port"
    if isinstance(exc, ConnectionLost | ConnectionResetError | EOFError):
        return "connection_lost"
    return "problem_with_imap_server"


def backoff_seconds(failures: int, low: float, high: float) -> float:
    """Exponential backoff with full jitter in its upper half: spreads a fleet's retries."""
    ceiling = min(high, low * 2 ** max(failures - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


class MailboxWatch:
    """Keeps one mailbox watched until stopped."""

    __slots__ = ("_session", "_stopping", "_wake", "ctx", "mailbox_id", "state", "task")

    def __init__(self, ctx: WatchContext, mailbox_id: str) -> None:
        self.ctx = ctx
        self.mailbox_id = mailbox_id
        self.state = "connecting"
        self._stopping = False
        self._wake = asyncio.Event()
        self._session: ImapSession | None = None
        self.task: asyncio.Task[None] = asyncio.create_task(self._run(), name=f"watch-{mailbox_id}")

    async def stop(self, wait_s: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._session is not None:
            self._session.wake()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), wait_s)
        except (TimeoutError, Exception):
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    def _is_stopping(self) -> bool:
        return self._stopping

    async def _run(self) -> None:
        ctx = self.ctx
        failures = 0
        while not self._stopping:
            mailbox = await load_mailbox(ctx.store, self.mailbox_id)
            if mailbox is None or mailbox.incoming is None or mailbox.state == "disabled":
                await self._wake.wait()  # the heartbeat releases the lease and stops us
                return
            # The record is not kept in this frame while the watch runs: per-mailbox memory
            # is the connection and the cursors, not the settings.
            watch = self._watch(mailbox)
            del mailbox
            try:
                await watch
                failures = 0
            except CredentialsRejected as exc:
                self.state = "auth_failed"
                ctx.metrics.reconnects.labels("auth_failed").inc()
                await self._failed(exc.code, str(exc), credentials_rejected=True)
                await self._pause(ctx.settings.auth_retry_seconds)
            except NeedsAttention as exc:
                self.state = "needs_attention"
                ctx.metrics.reconnects.labels(exc.code).inc()
                await self._failed(exc.code, str(exc), needs_attention=True)
                await self._pause(ctx.settings.auth_retry_seconds)
            except TRANSIENT as exc:
                if self._stopping:
                    return
                failures += 1
                self.state = "degraded"
                code = failure_code(exc)
                ctx.metrics.reconnects.labels(code).inc()
                log.warning(
                    "mailbox connection failed",
                    extra={"mailbox_id": self.mailbox_id, "code": code, "error": str(exc)[:300]},
                )
                await self._failed(code, f"{type(exc).__name__}: {exc}"[:500])
                settings = ctx.settings
                await self._pause(
                    backoff_seconds(
                        failures, settings.backoff_min_seconds, settings.backoff_max_seconds
                    )
                )

    async def _watch(self, mailbox: MailboxRecord) -> None:
        assert mailbox.incoming is not None
        if mailbox.incoming.protocol == "pop3":
            await watch_pop3(self.ctx, mailbox, self._wake, partial(self._connected, mailbox))
            return
        client = await connect_and_login(self.ctx, mailbox)
        try:
            ref = MailboxRef(mailbox.tenant_id, mailbox.id)
            await self._connected(mailbox)
            del mailbox  # per-mailbox memory: the connection and the cursors, not the record
            self._session = ImapSession(self.ctx, ref, client, self._is_stopping)
            await self._session.run()
        finally:
            self._session = None
            await close_imap(client)

    async def _connected(self, mailbox: MailboxRecord) -> None:
        self.state = "connected"
        if mailbox.state != "connected" or mailbox.last_error_code:
            await record_success(self.ctx.store, self.ctx.bus, mailbox)

    async def _failed(
        self,
        code: str,
        message: str,
        *,
        credentials_rejected: bool = False,
        needs_attention: bool = False,
    ) -> None:
        mailbox = await load_mailbox(self.ctx.store, self.mailbox_id)
        if mailbox is None:
            return
        await record_failure(
            self.ctx.store,
            self.ctx.bus,
            mailbox,
            code=code,
            message=message,
            credentials_rejected=credentials_rejected,
            needs_attention=needs_attention,
        )

    async def _pause(self, seconds: float) -> None:
        self._wake.clear()
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


class Watcher:
    """This replica's watches, kept in line with its leases by a heartbeat."""

    def __init__(self, ctx: WatchContext, leases: Leases) -> None:
        self.ctx = ctx
        self.leases = leases
        self.watches: dict[str, MailboxWatch] = {}
        self._poke = asyncio.Event()

    def poke(self) -> None:
        """Run the next heartbeat now (a mailbox appeared or changed)."""
        self._poke.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat until `stop`; then stop every watch and free the leases."""
        interval = self.ctx.settings.heartbeat_seconds
        try:
            while not stop.is_set():
                try:
                    await self.heartbeat()
                except Exception:
                    log.exception("heartbeat failed; retrying")
                self._poke.clear()
                stop_wait = asyncio.ensure_future(stop.wait())
                poke_wait = asyncio.ensure_future(self._poke.wait())
                await asyncio.wait(
                    {stop_wait, poke_wait}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                stop_wait.cancel()
                poke_wait.cancel()
        finally:
            await self.stop_all()
            with contextlib.suppress(Exception):
                await self.leases.leave()

    async def heartbeat(self) -> None:
        plan = await self.leases.plan(set(self.watches))
        metrics = self.ctx.metrics
        for mailbox_id in plan.lost:
            log.warning("lease lost; stopping watch", extra={"mailbox_id": mailbox_id})
            await self._stop(mailbox_id)
        if plan.release:
            await asyncio.gather(*(self._stop(m) for m in plan.release))
            await self.leases.release(plan.release)
            metrics.leases_released.inc(len(plan.release))
        for mailbox_id in plan.restart:
            await self.restart(mailbox_id)
        claimed = 0
        for mailbox_id in plan.claimable:
            if claimed >= plan.wanted:
                break
            if mailbox_id in self.watches:
                continue
            if await self.leases.claim(mailbox_id):
                claimed += 1
                if mailbox_id in plan.previous_owners:
                    metrics.leases_taken_over.inc()
                self.watches[mailbox_id] = MailboxWatch(self.ctx, mailbox_id)
        if claimed or plan.release or plan.lost:
            log.info(
                "leases rebalanced",
                extra={
                    "owned": len(self.watches),
                    "claimed": claimed,
                    "released": len(plan.release),
                    "lost": len(plan.lost),
                },
            )
        metrics.mailboxes_owned.set(len(self.watches))
        by_state = dict.fromkeys(WATCH_STATES, 0)
        for watch in self.watches.values():
            by_state[watch.state] = by_state.get(watch.state, 0) + 1
        for state, count in by_state.items():
            metrics.mailboxes.labels(state).set(count)

    async def restart(self, mailbox_id: str) -> bool:
        """Restart a watch this replica runs (settings changed); False if it runs elsewhere."""
        if mailbox_id not in self.watches:
            return False
        await self._stop(mailbox_id)
        self.watches[mailbox_id] = MailboxWatch(self.ctx, mailbox_id)
        await self.leases.restarted(mailbox_id)
        return True

    async def stop_watch(self, mailbox_id: str) -> bool:
        """Stop a watch and free its lease (the mailbox was deleted)."""
        if mailbox_id not in self.watches:
            return False
        await self._stop(mailbox_id)
        await self.leases.release({mailbox_id})
        return True

    async def stop_all(self) -> None:
        await asyncio.gather(*(self._stop(m) for m in list(self.watches)))

    async def _stop(self, mailbox_id: str) -> None:
        watch = self.watches.pop(mailbox_id, None)
        if watch is not None:
            await watch.stop()
