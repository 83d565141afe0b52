"""Watching a bounce-only mailbox over POP3: poll, remember UIDLs, read a batch per round.

POP3 has no folders and no UIDs that grow, so what was processed is the set of
UIDLs in `watch_seen` (scope `pop3`); UIDLs that left the server are forgotten.
Each round reads at most the mailbox's batch size; a full batch starts the next
round at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mailroom.shared.contracts import MailLocation
from mailroom.shared.mailboxes import MailboxRecord
from mailroom.shared.mailconn.failures import classify_pop3_login_reply, detect_provider
from mailroom.shared.mailconn.pop3 import Pop3Client, Pop3Error, open_pop3
from mailroom.watcher.cursors import (
    Counts,
    FolderCursor,
    forget_keys,
    remember_reported,
    reported_keys,
    save_progress,
)
from mailroom.watcher.imap_watch import (
    CredentialsRejected,
    NeedsAttention,
    WatchContext,
    ssl_context_for,
)
from mailroom.watcher.report import MailboxRef, report_message

POP3_SCOPE = "pop3"
POP3_FOLDER = "POP3"
_UIDL_PREFIX = "uidl:"


async def connect_pop3(ctx: WatchContext, mailbox: MailboxRecord) -> Pop3Client:
    incoming = mailbox.incoming
    assert incoming is not None
    timeout = ctx.settings.connect_timeout_seconds
    context = (
        ssl_context_for(mailbox.tls.ca_pem, mailbox.tls.verify)
        if incoming.security != "none"
        else None
    )
    username = incoming.username or mailbox.email
    async with ctx.connect_slots:
        client = await open_pop3(incoming.host, incoming.port, incoming.security, context, timeout)
        try:
            password = ctx.secrets.decrypt(mailbox, "incoming_password") or ""
            await client.login(username, password)
        except Pop3Error as exc:
            client.close()
            failure = classify_pop3_login_reply(exc.reply, detect_provider(incoming.host, username))
            if failure.code == "authentication_failed":
                raise CredentialsRejected(failure.code, failure.message) from None
            if failure.code in ("provider_policy", "tls_mismatch"):
                raise NeedsAttention(failure.code, failure.message) from None
            raise
        except BaseException:
            client.close()
            raise
    return client


async def pop3_round(ctx: WatchContext, mailbox: MailboxRecord) -> bool:
    """One poll: report new messages; True when a full batch was read (more may wait)."""
    incoming = mailbox.incoming
    assert incoming is not None
    ref = MailboxRef(mailbox.tenant_id, mailbox.id)
    store = ctx.store
    client = await connect_pop3(ctx, mailbox)
    counts = Counts()
    cap = ctx.settings.raw_max_bytes
    try:
        listing = await client.uidl()
        known = {
            k
            for k in await reported_keys(store, mailbox.id, POP3_SCOPE)
            if k.startswith(_UIDL_PREFIX)
        }
        present = {_UIDL_PREFIX + uidl for uidl in listing.values()}
        await forget_keys(store, mailbox.id, POP3_SCOPE, known - present)
        new = [(n, u) for n, u in sorted(listing.items()) if _UIDL_PREFIX + u not in known]
        batch = new[: max(incoming.batch_size, 1)]
        for number, uidl in batch:
            raw = await client.retr(number)
            await report_message(
                store,
                ctx.bus,
                ctx.metrics,
                ref,
                MailLocation(protocol="pop3", pop3_uidl=uidl),
                raw[:cap],
                counts,
                truncated=len(raw) > cap,
                dedupe_scope=POP3_SCOPE,
            )
            await remember_reported(store, mailbox.id, POP3_SCOPE, _UIDL_PREFIX + uidl)
        await client.quit()
    except BaseException:
        client.close()
        raise
    await save_progress(
        store, mailbox.tenant_id, mailbox.id, POP3_FOLDER, FolderCursor(), counts, protocol="pop3"
    )
    return len(new) > len(batch)


async def watch_pop3(
    ctx: WatchContext,
    mailbox: MailboxRecord,
    wake: asyncio.Event,
    connected: Callable[[], Awaitable[None]],
) -> None:
    """Poll until the watch is woken (stop or restart); the first round proves the login."""
    first = True
    while True:
        more = await pop3_round(ctx, mailbox)
        if first:
            first = False
            await connected()
        if more:
            continue
        wake.clear()
        try:
            await asyncio.wait_for(wake.wait(), ctx.settings.poll_seconds)
            return
        except TimeoutError:
            continue


async def delete_pop3_message(ctx: WatchContext, mailbox: MailboxRecord, uidl: str) -> bool:
    """Delete the one message with this UIDL; False if it is no longer there."""
    client = await connect_pop3(ctx, mailbox)
    try:
        numbers = [n for n, u in (await client.uidl()).items() if u == uidl]
        if not numbers:
            await client.quit()
            return False
        await client.dele(numbers[0])
        await client.quit()
        return True
    except BaseException:
        client.close()
        raise
