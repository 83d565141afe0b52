"""Save a copy of a sent message in the mailbox's Sent folder over IMAP (APPEND).

Off unless the mailbox asks (`save_sent_copy`): Gmail and Microsoft 365 already
file what their SMTP servers send, and a second copy would be a duplicate for the
user. The server's APPENDUID (RFC 4315, UIDPLUS) is what lets Mailroom find that
copy again; servers without UIDPLUS still get the copy, with no UID recorded.
"""

from __future__ import annotations

import re

from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets
from mailroom.shared.mailconn.imap import close_imap, imap_login, imap_xoauth2, open_imap
from mailroom.shared.mailconn.tls import client_ssl_context

SENT_FOLDER = "Sent"
_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)


class SentCopyError(Exception):
    """The copy could not be saved (the message itself was sent)."""


async def append_sent_copy(
    mailbox: MailboxRecord, secrets: MailboxSecrets, raw: bytes, timeout_s: float
) -> int | None:
    """APPEND `raw` to the Sent folder, marked \\Seen; returns the APPENDUID if given."""
    incoming = mailbox.incoming
    if incoming is None or incoming.protocol != "imap":
        raise SentCopyError("the mailbox has no IMAP settings")
    context = client_ssl_context(mailbox.tls.ca_pem, mailbox.tls.verify)
    client = await open_imap(
        incoming.host,
        incoming.port,
        incoming.security,
        context if incoming.security != "none" else None,
        timeout_s,
    )
    try:
        username = incoming.username or mailbox.email
        if mailbox.auth_method == "oauth2":
            token = secrets.decrypt(mailbox, "oauth_access_token") or ""
            await imap_xoauth2(client, username, token)
        else:
            await imap_login(client, username, secrets.decrypt(mailbox, "incoming_password") or "")
        response = await client.append(raw, mailbox=SENT_FOLDER, flags="(\\Seen)")
        if response.result != "OK":
            raise SentCopyError(f"APPEND refused: {response.lines[-1:]!r}")
        for line in response.lines:
            data = line if isinstance(line, bytes) else str(line).encode()
            match = _APPENDUID.search(data)
            if match:
                return int(match.group(2))
        return None
    finally:
        await close_imap(client)
