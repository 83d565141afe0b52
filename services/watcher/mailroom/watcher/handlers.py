"""Bus handlers: mailbox changes take effect at once, recognised bounces get deleted.

Every replica consumes the `watcher` group, so the replica that receives a
mailbox event may not be the one watching that mailbox: it restarts its own
watch, or flags the lease so the owner restarts on its next heartbeat, or (for
a new mailbox) runs a heartbeat now to claim it.
"""

from __future__ import annotations

import logging
from functools import partial

from mailroom.shared.bus import HandlerMap
from mailroom.shared.contracts import (
    BounceProcessed,
    MailboxConnected,
    MailboxDeleted,
    MailboxStateChanged,
    MailboxUpdated,
)
from mailroom.shared.errors import RetryableError
from mailroom.shared.mailboxes import load_mailbox
from mailroom.watcher.cursors import forget_mailbox
from mailroom.watcher.imap_watch import (
    CredentialsRejected,
    NeedsAttention,
    WatchContext,
    delete_imap_message,
)
from mailroom.watcher.leases import request_restart
from mailroom.watcher.pop3_watch import delete_pop3_message
from mailroom.watcher.watches import TRANSIENT, Watcher

log = logging.getLogger(__name__)


async def mailbox_changed(watcher: Watcher, event: MailboxConnected | MailboxUpdated) -> None:
    """New or changed settings: restart the watch wherever it runs, or claim the mailbox."""
    if await watcher.restart(event.mailbox_id):
        return
    if not await request_restart(watcher.ctx.store, event.mailbox_id):
        watcher.poke()


async def mailbox_deleted(watcher: Watcher, event: MailboxDeleted) -> None:
    if not await watcher.stop_watch(event.mailbox_id):
        # The owner sees the mailbox gone on its heartbeat; a restart makes it look now.
        await request_restart(watcher.ctx.store, event.mailbox_id)
    await forget_mailbox(watcher.ctx.store, event.mailbox_id)


async def mailbox_state_changed(watcher: Watcher, event: MailboxStateChanged) -> None:
    """Only enabling or disabling matters; the watch's own state changes are ignored."""
    if "disabled" in (event.old_state, event.new_state) and event.old_state != event.new_state:
        await mailbox_changed(watcher, event)  # type: ignore[arg-type]


async def bounce_processed(ctx: WatchContext, event: BounceProcessed) -> None:
    """Delete a recognised bounce, only if the mailbox asks for it, and only that message."""
    location = event.location
    if not event.is_bounce or location is None:
        return
    mailbox = await load_mailbox(ctx.store, event.mailbox_id)
    if mailbox is None or mailbox.tenant_id != event.tenant_id or mailbox.incoming is None:
        return
    if not mailbox.incoming.delete_processed_bounces:
        return
    try:
        if location.protocol == "pop3" and location.pop3_uidl:
            deleted = await delete_pop3_message(ctx, mailbox, location.pop3_uidl)
        elif (
            location.protocol == "imap"
            and location.folder
            and location.uid is not None
            and location.uidvalidity is not None
        ):
            deleted = await delete_imap_message(
                ctx, mailbox, location.folder, location.uidvalidity, location.uid
            )
        else:
            return
    except (CredentialsRejected, NeedsAttention, *TRANSIENT) as exc:
        # The watch records the mailbox's state; here the deletion just waits.
        raise RetryableError(f"cannot delete the bounce now: {type(exc).__name__}") from exc
    if deleted:
        ctx.metrics.deleted.labels(location.protocol).inc()
    log.info(
        "processed bounce deletion",
        extra={"mailbox_id": event.mailbox_id, "deleted": deleted, "protocol": location.protocol},
    )


def handler_map(watcher: Watcher) -> HandlerMap:
    """The watcher group's handlers, one per message type."""
    return {
        MailboxConnected: partial(mailbox_changed, watcher),
        MailboxUpdated: partial(mailbox_changed, watcher),
        MailboxDeleted: partial(mailbox_deleted, watcher),
        MailboxStateChanged: partial(mailbox_state_changed, watcher),
        BounceProcessed: partial(bounce_processed, watcher.ctx),
    }
