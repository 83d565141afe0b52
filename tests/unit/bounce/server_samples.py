# The samples keep the servers' own long lines and Cyrillic text as they send them.
# ruff: noqa: E501, RUF001
"""Bounce messages written in the formats of real mail servers and services.

Each message follows the layout its server produces (the MTAs' own bounce
templates, the providers' documented notices): where the failed address, the
status and the remote server's reply sit. Mailboxes, hosts, IP addresses and
message ids are fictitious; a provider's real domain appears only where the
format depends on it (the sender of Gmail's notices, NTT docomo's relays).
"""

from __future__ import annotations


def report(
    headers: str,
    notice: str,
    status: str,
    original: str = "",
    *,
    boundary: str = "BOUNDARY-0001",
    original_type: str = "message/rfc822",
    notice_type: str = "text/plain; charset=us-ascii",
) -> bytes:
    """A multipart/report (RFC 3462): the notice, the delivery-status part, the original."""
    parts = [
        f"Content-Type: {notice_type}\n\n{notice}",
        f"Content-Type: message/delivery-status\n\n{status}",
    ]
    if original:
        parts.append(f"Content-Type: {original_type}\n\n{original}")
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    text = (
        f"{headers.rstrip()}\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n'
        "\n"
        "This is a MIME-encapsulated message.\n"
        "\n"
        f"{body}--{boundary}--\n"
    )
    return text.encode("utf-8")


ORIGINAL = """Return-Path: <alice@sender.test>
Received: from client.sender.test (client.sender.test [192.0.2.20])
\tby mx.sender.test (Postfix) with ESMTPSA id 4XyZ1
\tfor <{to}>; Mon, 3 Jun 2024 10:00:00 +0000 (UTC)
From: Alice <alice@sender.test>
To: {to}
Subject: Quarterly report
Date: Mon, 3 Jun 2024 10:00:00 +0000
Message-ID: <{msgid}>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Please find the numbers below.
"""


def original(to: str, msgid: str) -> str:
    """The headers and body of the message that bounced."""
    return ORIGINAL.format(to=to, msgid=msgid)


# --------------------------------------------------------------------------
# Postfix (DSN template of Postfix 2.3 and later)
# --------------------------------------------------------------------------

_POSTFIX_HEADERS = """Return-Path: <>
Received: by mx.sender.test (Postfix)
\tid 4XyZ1; Mon, 3 Jun 2024 10:00:05 +0000 (UTC)
Date: Mon, 3 Jun 2024 10:00:05 +0000 (UTC)
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@sender.test
Auto-Submitted: auto-replied
Message-Id: <20240603100005.4XyZ2@mx.sender.test>"""

_POSTFIX_INTRO = """This is the mail system at host mx.sender.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

"""


def _postfix(notice: str, status: str, to: str, msgid: str, subject: str = "") -> bytes:
    headers = _POSTFIX_HEADERS
    if subject:
        headers = headers.replace("Undelivered Mail Returned to Sender", subject)
    dsn = (
        "Reporting-MTA: dns; mx.sender.test\n"
        "X-Postfix-Queue-ID: 4XyZ1\n"
        "X-Postfix-Sender: rfc822; alice@sender.test\n"
        "Arrival-Date: Mon,  3 Jun 2024 10:00:00 +0000 (UTC)\n"
        "\n" + status
    )
    return report(headers, _POSTFIX_INTRO + notice, dsn, original(to, msgid))


POSTFIX_USER_UNKNOWN = _postfix(
    """<ghost@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 550 5.1.1
    <ghost@receiver.test>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)
""",
    """Final-Recipient: rfc822; ghost@receiver.test
Original-Recipient: rfc822;ghost@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <ghost@receiver.test>: Recipient address
    rejected: User unknown in local recipient table
""",
    "ghost@receiver.test",
    "pf-unknown-1@sender.test",
)

POSTFIX_MAILBOX_FULL_LMTP = _postfix(
    """<carol@receiver.test>: host mail.receiver.test[private/dovecot-lmtp] said:
    552 5.2.2 <carol@receiver.test> Quota exceeded (mailbox for user is full)
    (in reply to end of DATA command)
""",
    """Final-Recipient: rfc822; carol@receiver.test
Original-Recipient: rfc822;carol@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: dns; mail.receiver.test
Diagnostic-Code: smtp; 552 5.2.2 <carol@receiver.test> Quota exceeded (mailbox
    for user is full)
""",
    "carol@receiver.test",
    "pf-full-2@sender.test",
)

POSTFIX_HOST_NOT_FOUND = _postfix(
    """<dan@no-such-domain.test>: Host or domain name not found. Name service error
    for name=no-such-domain.test type=AAAA: Host not found
""",
    """Final-Recipient: rfc822; dan@no-such-domain.test
Original-Recipient: rfc822;dan@no-such-domain.test
Action: failed
Status: 5.4.4
Diagnostic-Code: X-Postfix; Host or domain name not found. Name service error
    for name=no-such-domain.test type=AAAA: Host not found
""",
    "dan@no-such-domain.test",
    "pf-host-3@sender.test",
)

POSTFIX_EXPIRED = _postfix(
    """<erin@slow.receiver.test>: connect to mx.slow.receiver.test[198.51.100.30]:25:
    Connection timed out
""",
    """Final-Recipient: rfc822; erin@slow.receiver.test
Original-Recipient: rfc822;erin@slow.receiver.test
Action: failed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.slow.receiver.test[198.51.100.30]:25:
    Connection timed out
""",
    "erin@slow.receiver.test",
    "pf-expired-4@sender.test",
)

POSTFIX_SPAM_AFTER_DATA = _postfix(
    """<frank@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 550 5.7.1
    Message rejected as spam by Content Filtering (in reply to end of DATA
    command)
""",
    """Final-Recipient: rfc822; frank@receiver.test
Original-Recipient: rfc822;frank@receiver.test
Action: failed
Status: 5.7.1
Remote-MTA: dns; mx1.receiver.test
Diagnostic-Code: smtp; 550 5.7.1 Message rejected as spam by Content Filtering
""",
    "frank@receiver.test",
    "pf-spam-5@sender.test",
)

POSTFIX_RELAY_DENIED = _postfix(
    """<gina@elsewhere.test>: host smtp.receiver.test[198.51.100.11] said: 554 5.7.1
    <gina@elsewhere.test>: Relay access denied (in reply to RCPT TO command)
""",
    """Final-Recipient: rfc822; gina@elsewhere.test
Original-Recipient: rfc822;gina@elsewhere.test
Action: failed
Status: 5.7.1
Remote-MTA: dns; smtp.receiver.test
Diagnostic-Code: smtp; 554 5.7.1 <gina@elsewhere.test>: Relay access denied
""",
    "gina@elsewhere.test",
    "pf-relay-6@sender.test",
)

POSTFIX_TOO_BIG_TWO_RECIPIENTS = _postfix(
    """<hal@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 552 5.3.4
    Message size exceeds fixed limit (in reply to end of DATA command)

<ivy@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 552 5.3.4
    Message size exceeds fixed limit (in reply to end of DATA command)
""",
    """Final-Recipient: rfc822; hal@receiver.test
Original-Recipient: rfc822;hal@receiver.test
Action: failed
Status: 5.3.4
Remote-MTA: dns; mx1.receiver.test
Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed limit

Final-Recipient: rfc822; ivy@receiver.test
Original-Recipient: rfc822;ivy@receiver.test
Action: failed
Status: 5.3.4
Remote-MTA: dns; mx1.receiver.test
Diagnostic-Code: smtp; 552 5.3.4 Message size exceeds fixed limit
""",
    "hal@receiver.test, ivy@receiver.test",
    "pf-big-7@sender.test",
)

# Postfix before 2.3: no delivery-status part, the notice is a text part
# ("Notification"), then the undelivered message.
POSTFIX_OLD_TWO_RECIPIENTS = b"""Return-Path: <>
Received: by mail.sender.test (Postfix)
\tid 8A1B2C3D4; Tue, 4 Jun 2024 08:10:00 +0900 (JST)
Date: Tue, 4 Jun 2024 08:10:00 +0900 (JST)
From: MAILER-DAEMON@mail.sender.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: alice@sender.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="8A1B2C3D4.1717456200/mail.sender.test"
Message-Id: <20240603231000.8A1B2C3D5@mail.sender.test>

This is a MIME-encapsulated message.

--8A1B2C3D4.1717456200/mail.sender.test
Content-Description: Notification
Content-Type: text/plain

This is the Postfix program at host mail.sender.test.

I'm sorry to have to inform you that the message returned
below could not be delivered to one or more destinations.

For further assistance, please send mail to <postmaster>

If you do so, please include this problem report. You can
delete your own text from the message returned below.

\t\t\tThe Postfix program

<jack@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 550 5.1.1
    <jack@receiver.test>... User unknown (in reply to RCPT TO command)

<kate@receiver.test>: host mx1.receiver.test[198.51.100.10] said: 452 4.2.2
    <kate@receiver.test>... Mailbox full (in reply to RCPT TO command)

--8A1B2C3D4.1717456200/mail.sender.test
Content-Description: Undelivered Message
Content-Type: message/rfc822

Received: from client.sender.test (client.sender.test [192.0.2.20])
\tby mail.sender.test (Postfix) with ESMTP id 8A1B2C3D4
From: alice@sender.test
To: jack@receiver.test, kate@receiver.test
Subject: Meeting
Message-Id: <pf-old-8@sender.test>

See you at ten.

--8A1B2C3D4.1717456200/mail.sender.test--
"""

# --------------------------------------------------------------------------
# Exim
# --------------------------------------------------------------------------

# Exim 4 without DSN support: a plain-text notice, the addresses indented by two
# spaces and the reason by four, then the copy of the message.
EXIM_OLD_TWO_RECIPIENTS = b"""Return-path: <>
Envelope-to: alice@sender.test
Received: from mail by relay.sender.test with local (Exim 4.69)
\tid 1Q2w3E-0004xx-AA
\tfor alice@sender.test; Tue, 04 Jun 2024 11:00:00 +0100
X-Failed-Recipients: leo@receiver.test, mia@receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1Q2w3E-0004xx-AA@relay.sender.test>
Date: Tue, 04 Jun 2024 11:00:00 +0100

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  leo@receiver.test
    SMTP error from remote mail server after RCPT TO:<leo@receiver.test>:
    host mx.receiver.test [198.51.100.20]: 550 5.1.1 <leo@receiver.test>:
    Recipient address rejected: User unknown in virtual mailbox table
  mia@receiver.test
    SMTP error from remote mail server after RCPT TO:<mia@receiver.test>:
    host mx.receiver.test [198.51.100.20]: 552 5.2.2 <mia@receiver.test>:
    Mailbox full

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
Received: from [192.0.2.20] (helo=client.sender.test)
\tby relay.sender.test with esmtpa (Exim 4.69)
\tid 1Q2w3D-0004ww-Zz; Tue, 04 Jun 2024 10:59:58 +0100
From: alice@sender.test
To: leo@receiver.test, mia@receiver.test
Subject: Party
Message-Id: <exim-old-9@sender.test>

Saturday at eight.
"""

# Exim 4.8x and later with DSN: a multipart/report whose Status is the generic
# 5.0.0; the remote server's reply is in the Diagnostic-Code.
EXIM_DSN_USER_UNKNOWN = report(
    """Return-path: <>
Received: from Debian-exim by relay.sender.test with local (Exim 4.96)
\tid 1sE2aB-000123-4C
\tfor alice@sender.test; Wed, 05 Jun 2024 12:00:00 +0000
X-Failed-Recipients: nora@receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1sE2aB-000123-4C@relay.sender.test>
Date: Wed, 05 Jun 2024 12:00:00 +0000""",
    """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nora@receiver.test
    host mx.receiver.test [198.51.100.20]
    SMTP error from remote mail server after RCPT TO:<nora@receiver.test>:
    550 5.1.1 <nora@receiver.test>: Recipient address rejected: User unknown
""",
    """Reporting-MTA: dns; relay.sender.test

Action: failed
Final-Recipient: rfc822;nora@receiver.test
Status: 5.0.0
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <nora@receiver.test>: Recipient address rejected: User unknown
""",
    original("nora@receiver.test", "exim-dsn-10@sender.test"),
    boundary="1717588800-eximdsn-1804289383",
)

# Exim, the remote server refused the message after DATA for its content.
EXIM_SPAM_AFTER_DATA = b"""Return-path: <>
Received: from mail by relay.sender.test with local (Exim 4.92)
\tid 1kLmNo-0007Pq-Rs
\tfor alice@sender.test; Thu, 06 Jun 2024 09:30:00 +0200
X-Failed-Recipients: oscar@receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1kLmNo-0007Pq-Rs@relay.sender.test>
Date: Thu, 06 Jun 2024 09:30:00 +0200

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  oscar@receiver.test
    host mx.receiver.test [198.51.100.20]
    SMTP error from remote mail server after end of data:
    550 5.7.1 Message rejected: Our system has detected that this message is likely unsolicited mail

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: oscar@receiver.test
Subject: Offer
Message-Id: <exim-spam-11@sender.test>

Hello.
"""

# Exim gave up on a destination it could not reach within its retry rules.
EXIM_RETRY_TIMEOUT = b"""Return-path: <>
Received: from mail by relay.sender.test with local (Exim 4.94)
\tid 1aBcDe-0001Fg-Hi
\tfor alice@sender.test; Fri, 07 Jun 2024 06:00:00 +0000
X-Failed-Recipients: paul@down.receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1aBcDe-0001Fg-Hi@relay.sender.test>
Date: Fri, 07 Jun 2024 06:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  paul@down.receiver.test
    retry timeout exceeded

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: paul@down.receiver.test
Subject: Status
Message-Id: <exim-retry-12@sender.test>

Ping.
"""

# Exim refused by the remote server at MAIL FROM because of the SIZE parameter.
EXIM_TOO_BIG = b"""Return-path: <>
Received: from mail by relay.sender.test with local (Exim 4.96)
\tid 1sF3bC-000456-7D
\tfor alice@sender.test; Sat, 08 Jun 2024 14:00:00 +0000
X-Failed-Recipients: quinn@receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1sF3bC-000456-7D@relay.sender.test>
Date: Sat, 08 Jun 2024 14:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  quinn@receiver.test
    host mx.receiver.test [198.51.100.20]
    SMTP error from remote mail server after MAIL FROM:<alice@sender.test> SIZE=31457664:
    552 5.3.4 Message size exceeds maximum permitted

------ This is a copy of the message's headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: quinn@receiver.test
Subject: Photos
Message-Id: <exim-big-13@sender.test>
"""

# Exim 3 and early Exim 4: "remote mailer", the host and the reply on one line.
EXIM3_USER_UNKNOWN = b"""Return-path: <>
Received: from mail by mail.sender.test with local (Exim 3.36 #1 (Debian))
\tid 15bXyZ-0001aB-00
\tfor alice@sender.test; Sun, 09 Jun 2024 10:00:00 +0000
X-Failed-Recipients: rose@receiver.test
From: Mail Delivery System <Mailer-Daemon@mail.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E15bXyZ-0001aB-00@mail.sender.test>
Date: Sun, 09 Jun 2024 10:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  rose@receiver.test:
    SMTP error from remote mailer after RCPT TO:<rose@receiver.test>:
    host mx.receiver.test [198.51.100.20]: 550 <rose@receiver.test>... User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: rose@receiver.test
Subject: Old friends
Message-Id: <exim3-14@sender.test>

Long time no see.
"""

# --------------------------------------------------------------------------
# Sendmail
# --------------------------------------------------------------------------

_SENDMAIL_HEADERS = """Return-Path: <MAILER-DAEMON@mail.sender.test>
Received: from localhost (localhost)
\tby mail.sender.test (8.15.2/8.15.2) id 45A0B1C2003456;
\tMon, 10 Jun 2024 09:00:05 +0900
Date: Mon, 10 Jun 2024 09:00:05 +0900
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.sender.test>
Message-Id: <202406100000.45A0B1C2003456@mail.sender.test>
To: <alice@sender.test>
Auto-Submitted: auto-generated (failure)
Subject: Returned mail: see transcript for details"""

SENDMAIL_USER_UNKNOWN = report(
    _SENDMAIL_HEADERS,
    """The original message was received at Mon, 10 Jun 2024 09:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<sam@receiver.test>
    (reason: 550 5.1.1 <sam@receiver.test>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.receiver.test.:
>>> RCPT To:<sam@receiver.test>
<<< 550 5.1.1 <sam@receiver.test>... User unknown
550 5.1.1 <sam@receiver.test>... User unknown
""",
    """Reporting-MTA: dns; mail.sender.test
Received-From-MTA: DNS; client.sender.test
Arrival-Date: Mon, 10 Jun 2024 09:00:03 +0900

Final-Recipient: RFC822; sam@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mx.receiver.test
Diagnostic-Code: SMTP; 550 5.1.1 <sam@receiver.test>... User unknown
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900
""",
    original("sam@receiver.test", "sm-unknown-15@sender.test"),
    boundary="45A0B1C2003456.1717977605/mail.sender.test",
    original_type="text/rfc822-headers",
)

SENDMAIL_HOST_UNKNOWN = report(
    _SENDMAIL_HEADERS.replace(
        "see transcript for details",
        "Host unknown (Name server: nx.receiver.test: host not found)",
    ),
    """The original message was received at Mon, 10 Jun 2024 09:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<tom@nx.receiver.test>
    (reason: 550 Host unknown)

   ----- Transcript of session follows -----
550 5.1.2 <tom@nx.receiver.test>... Host unknown (Name server: nx.receiver.test: host not found)
""",
    """Reporting-MTA: dns; mail.sender.test
Received-From-MTA: DNS; client.sender.test
Arrival-Date: Mon, 10 Jun 2024 09:00:03 +0900

Final-Recipient: RFC822; tom@nx.receiver.test
Action: failed
Status: 5.1.2
Remote-MTA: DNS; nx.receiver.test
Diagnostic-Code: SMTP; 550 Host unknown
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900
""",
    original("tom@nx.receiver.test", "sm-host-16@sender.test"),
    boundary="45A0B1C2003457.1717977605/mail.sender.test",
)

# Sendmail gave up after the queue lifetime: Status 4.4.7 with Action failed.
SENDMAIL_EXPIRED = report(
    _SENDMAIL_HEADERS.replace("see transcript for details", "Cannot send message for 5 days"),
    """The original message was received at Wed, 5 Jun 2024 09:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<uma@slow.receiver.test>
    (reason: Deferred: Connection timed out with mx.slow.receiver.test.)

   ----- Transcript of session follows -----
<uma@slow.receiver.test>... Deferred: Connection timed out with mx.slow.receiver.test.
Message could not be delivered for 5 days
Message will be deleted from queue
""",
    """Reporting-MTA: dns; mail.sender.test
Arrival-Date: Wed, 5 Jun 2024 09:00:03 +0900

Final-Recipient: RFC822; uma@slow.receiver.test
Action: failed
Status: 4.4.7
Remote-MTA: DNS; mx.slow.receiver.test
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900
""",
    original("uma@slow.receiver.test", "sm-expired-17@sender.test"),
    boundary="45A0B1C2003458.1717977605/mail.sender.test",
)

SENDMAIL_RELAY_DENIED_AND_FULL = report(
    _SENDMAIL_HEADERS,
    """The original message was received at Mon, 10 Jun 2024 09:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<vic@other.test>
    (reason: 550 5.7.1 <vic@other.test>... Relaying denied)
<wes@receiver.test>
    (reason: 552 5.2.2 <wes@receiver.test>... Mailbox full)

   ----- Transcript of session follows -----
... while talking to smtp.other.test.:
>>> RCPT To:<vic@other.test>
<<< 550 5.7.1 <vic@other.test>... Relaying denied
550 5.7.1 <vic@other.test>... Relaying denied
... while talking to mx.receiver.test.:
>>> DATA
<<< 552 5.2.2 <wes@receiver.test>... Mailbox full
""",
    """Reporting-MTA: dns; mail.sender.test
Received-From-MTA: DNS; client.sender.test
Arrival-Date: Mon, 10 Jun 2024 09:00:03 +0900

Final-Recipient: RFC822; vic@other.test
Action: failed
Status: 5.7.1
Remote-MTA: DNS; smtp.other.test
Diagnostic-Code: SMTP; 550 5.7.1 <vic@other.test>... Relaying denied
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900

Final-Recipient: RFC822; wes@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: DNS; mx.receiver.test
Diagnostic-Code: SMTP; 552 5.2.2 <wes@receiver.test>... Mailbox full
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900
""",
    original("vic@other.test, wes@receiver.test", "sm-multi-18@sender.test"),
    boundary="45A0B1C2003459.1717977605/mail.sender.test",
)

# Sendmail V5 (and 8.x with DSN turned off): the transcript and the unsent
# message in one text body.
SENDMAIL_V5_USER_UNKNOWN = b"""Return-Path: <MAILER-DAEMON@old.sender.test>
Received: from localhost by old.sender.test (5.65/1.35)
\tid AA01234; Tue, 11 Jun 2024 08:00:05 -0500
Date: Tue, 11 Jun 2024 08:00:05 -0500
From: Mail Delivery Subsystem <MAILER-DAEMON@old.sender.test>
Subject: Returned mail: User unknown
Message-Id: <9406111300.AA01234@old.sender.test>
To: alice@sender.test

   ----- Transcript of session follows -----
While talking to mx.receiver.test:
>>> RCPT To:<yuri@receiver.test>
<<< 550 <yuri@receiver.test>... User unknown
550 <yuri@receiver.test>... User unknown

   ----- Unsent message follows -----
Received: by old.sender.test (5.65/1.35)
\tid AA01233; Tue, 11 Jun 2024 08:00:00 -0500
Date: Tue, 11 Jun 2024 08:00:00 -0500
From: alice@sender.test
Message-Id: <sm5-19@sender.test>
To: yuri@receiver.test
Subject: hello

Hello there.
"""

# --------------------------------------------------------------------------
# qmail, netqmail, vpopmail
# --------------------------------------------------------------------------

_QMAIL_HEADERS = """Return-Path: <>
Received: (qmail 12345 invoked for bounce); 12 Jun 2024 07:00:00 -0000
Date: 12 Jun 2024 07:00:00 -0000
From: MAILER-DAEMON@qmail.sender.test
To: alice@sender.test
Subject: failure notice
"""


def _qmail(failures: str, msgid: str, to: str) -> bytes:
    text = (
        _QMAIL_HEADERS + "\nHi. This is the qmail-send program at qmail.sender.test.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        + failures
        + "\n--- Below this line is a copy of the message.\n\n"
        "Return-Path: <alice@sender.test>\n"
        "Received: (qmail 12340 invoked by uid 500); 12 Jun 2024 06:59:59 -0000\n"
        f"From: alice@sender.test\nTo: {to}\nSubject: hi\nMessage-ID: <{msgid}>\n\nhi\n"
    )
    return text.encode()


QMAIL_REMOTE_USER_UNKNOWN = _qmail(
    """<zed@receiver.test>:
198.51.100.40 does not like recipient.
Remote host said: 550 5.1.1 <zed@receiver.test>: Recipient address rejected: User unknown in local recipient table
Giving up on 198.51.100.40.
""",
    "qmail-20@sender.test",
    "zed@receiver.test",
)

QMAIL_LOCAL_NO_MAILBOX = _qmail(
    """<amy@qmail.receiver.test>:
Sorry, no mailbox here by that name. (#5.1.1)
""",
    "qmail-21@sender.test",
    "amy@qmail.receiver.test",
)

QMAIL_QUEUE_TOO_LONG = _qmail(
    """<ben@slow.receiver.test>:
Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)
I'm not going to try again; this message has been in the queue too long.
""",
    "qmail-22@sender.test",
    "ben@slow.receiver.test",
)

QMAIL_SPAM_AFTER_DATA = _qmail(
    """<cat@receiver.test>:
198.51.100.40 failed after I sent the message.
Remote host said: 554 5.7.1 Message rejected because it looks like spam
""",
    "qmail-23@sender.test",
    "cat@receiver.test",
)

QMAIL_TWO_RECIPIENTS = _qmail(
    """<dee@receiver.test>:
198.51.100.40 does not like recipient.
Remote host said: 550 5.1.1 <dee@receiver.test>... No such user
Giving up on 198.51.100.40.

<eli@nowhere.receiver.test>:
Sorry, I couldn't find any host named nowhere.receiver.test. (#5.1.2)
""",
    "qmail-24@sender.test",
    "dee@receiver.test, eli@nowhere.receiver.test",
)

# vpopmail's vdelivermail writes the over-quota reason for local mailboxes.
VPOPMAIL_OVER_QUOTA = _qmail(
    """<fay@vpop.receiver.test>:
user is over quota
The users mailbox is over the allowed quota (size). (#5.2.2)
""",
    "qmail-25@sender.test",
    "fay@vpop.receiver.test",
)

# --------------------------------------------------------------------------
# Courier
# --------------------------------------------------------------------------

COURIER_USER_UNKNOWN = report(
    """Return-Path: <>
From: "Courier mail server at courier.sender.test" <@>
To: alice@sender.test
Subject: NOTICE: mail delivery status.
Date: Thu, 13 Jun 2024 10:00:00 +0000
Message-ID: <courier.000A1B2C.0003D4E5@courier.sender.test>""",
    """This is a delivery status notification from courier.sender.test,
running the Courier mail server, version 1.1.

The original message was received on Thu, 13 Jun 2024 09:59:58 +0000
from client.sender.test [192.0.2.20]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<gus@receiver.test>:
    mx.receiver.test [198.51.100.50]:
>>> RCPT TO:<gus@receiver.test>
<<< 550 5.1.1 <gus@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table

---------------------------------------------------------------------------

If your message was also sent to additional recipients, their delivery
status is not included in this report.  You may or may not receive
other delivery status notifications for additional recipients.

The original message follows as a separate attachment.
""",
    """Reporting-MTA: dns; courier.sender.test
Arrival-Date: Thu, 13 Jun 2024 09:59:58 +0000
Received-From-MTA: dns; client.sender.test (client.sender.test [192.0.2.20])

Final-Recipient: rfc822; gus@receiver.test
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <gus@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table
""",
    original("gus@receiver.test", "courier-26@sender.test"),
    boundary="=_courier-0-1717999200-0001",
)

COURIER_MAILBOX_FULL = report(
    """Return-Path: <>
From: "Courier mail server at courier.sender.test" <@>
To: alice@sender.test
Subject: NOTICE: mail delivery status.
Date: Thu, 13 Jun 2024 11:00:00 +0000""",
    """This is a delivery status notification from courier.sender.test,
running the Courier mail server, version 1.1.

The original message was received on Thu, 13 Jun 2024 10:59:58 +0000
from client.sender.test [192.0.2.20]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<hana@receiver.test>:
    mx.receiver.test [198.51.100.50]:
>>> DATA
<<< 552 5.2.2 Mailbox quota exceeded for this recipient

---------------------------------------------------------------------------

If your message was also sent to additional recipients, their delivery
status is not included in this report.  You may or may not receive
other delivery status notifications for additional recipients.

The original message follows as a separate attachment.
""",
    """Reporting-MTA: dns; courier.sender.test
Arrival-Date: Thu, 13 Jun 2024 10:59:58 +0000

Final-Recipient: rfc822; hana@receiver.test
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 552 5.2.2 Mailbox quota exceeded for this recipient
""",
    original("hana@receiver.test", "courier-27@sender.test"),
    boundary="=_courier-0-1718002800-0002",
)

# --------------------------------------------------------------------------
# OpenSMTPD
# --------------------------------------------------------------------------

OPENSMTPD_USER_UNKNOWN = b"""Return-Path: <>
Received: from localhost (localhost [local])
\tby smtpd.sender.test (OpenSMTPD) with ESMTPA id 7f3e2d1c
\tfor <alice@sender.test>; Fri, 14 Jun 2024 12:00:05 +0000 (UTC)
Date: Fri, 14 Jun 2024 12:00:05 +0000 (UTC)
From: Mailer Daemon <MAILER-DAEMON@smtpd.sender.test>
To: alice@sender.test
Subject: Delivery status notification: error

    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

ivan@receiver.test: 550 5.1.1 <ivan@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table

    Below is a copy of the original message:

Received: from client.sender.test (client.sender.test [192.0.2.20])
\tby smtpd.sender.test (OpenSMTPD) with ESMTPSA id 1a2b3c4d
From: alice@sender.test
To: ivan@receiver.test
Subject: Weekend
Message-ID: <smtpd-28@sender.test>

Hiking?
"""

OPENSMTPD_TWO_RECIPIENTS = b"""Return-Path: <>
Date: Fri, 14 Jun 2024 12:30:05 +0000 (UTC)
From: Mailer Daemon <MAILER-DAEMON@smtpd.sender.test>
To: alice@sender.test
Subject: Delivery status notification: error

    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

jay@receiver.test: 552 5.2.2 <jay@receiver.test>: Mailbox is full
kim@other.test: 554 5.7.1 <kim@other.test>: Relay access denied

    Below is a copy of the original message:

From: alice@sender.test
To: jay@receiver.test, kim@other.test
Subject: Notes
Message-ID: <smtpd-29@sender.test>

Attached.
"""

# --------------------------------------------------------------------------
# DragonFly Mail Agent (dma)
# --------------------------------------------------------------------------

DMA_USER_UNKNOWN = b"""Received: from MAILER-DAEMON
\tid 1a2b3c.4d5e6f
\tby dma.sender.test (DragonFly Mail Agent v0.13);
\tSat, 15 Jun 2024 08:00:00 +0000
X-Original-To: <alice@sender.test>
From: MAILER-DAEMON <>
To: alice@sender.test
Subject: Mail delivery failed
Message-Id: <1a2b3c.4d5e6f@dma.sender.test>
Date: Sat, 15 Jun 2024 08:00:00 +0000

This is the DragonFly Mail Agent v0.13 at dma.sender.test.

There was an error delivering your mail to <lou@receiver.test>.

remote host did not like our RCPT TO:
550 5.1.1 <lou@receiver.test>: Recipient address rejected: User unknown in local recipient table

Original message follows.

Received: from alice (uid 1000)
\t(envelope-from alice@sender.test)
\tid 1a2b3b
\tby dma.sender.test (DragonFly Mail Agent v0.13);
\tSat, 15 Jun 2024 07:59:59 +0000
From: alice@sender.test
To: lou@receiver.test
Subject: Cron report
Message-Id: <dma-30@sender.test>

All jobs done.
"""

DMA_EXPIRED = b"""Received: from MAILER-DAEMON
\tid 5f6e7d.8c9b0a
\tby dma.sender.test (DragonFly Mail Agent v0.13);
\tSat, 15 Jun 2024 09:00:00 +0000
X-Original-To: <alice@sender.test>
From: MAILER-DAEMON <>
To: alice@sender.test
Subject: Mail delivery failed
Message-Id: <5f6e7d.8c9b0a@dma.sender.test>
Date: Sat, 15 Jun 2024 09:00:00 +0000

This is the DragonFly Mail Agent v0.13 at dma.sender.test.

There was an error delivering your mail to <max@slow.receiver.test>.

Could not deliver for the last 432000 seconds. Giving up.

Message headers follow.

Received: from alice (uid 1000)
\t(envelope-from alice@sender.test)
\tid 5f6e7c
\tby dma.sender.test (DragonFly Mail Agent v0.13);
\tMon, 10 Jun 2024 09:00:00 +0000
From: alice@sender.test
To: max@slow.receiver.test
Subject: Backup report
Message-Id: <dma-31@sender.test>
"""

# --------------------------------------------------------------------------
# Microsoft Exchange 2003, 2007 and later, Office 365, Outlook.com
# --------------------------------------------------------------------------

EXCHANGE2010_DSN_USER_UNKNOWN = report(
    """Return-Path: <>
From: Microsoft Exchange <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.test>
To: alice@sender.test
Date: Mon, 17 Jun 2024 10:00:05 +0000
Subject: Undeliverable: Quarterly report
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
Message-ID: <9c1e2f3a-ndr@EX01.corp.test>""",
    """Delivery has failed to these recipients or groups:

Bob Example (bob@corp.test)
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.

Diagnostic information for administrators:

Generating server: EX01.corp.test

bob@corp.test
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

Original message headers:

Received: from EX02.corp.test (192.0.2.60) by EX01.corp.test (192.0.2.61)
 with Microsoft SMTP Server id 14.3.487.0; Mon, 17 Jun 2024 10:00:04 +0000
Message-ID: <ex2010-32@sender.test>
Subject: Quarterly report
""",
    """Reporting-MTA: dns;EX01.corp.test
Received-From-MTA: dns;EX02.corp.test
Arrival-Date: Mon, 17 Jun 2024 10:00:04 +0000

Final-Recipient: rfc822;bob@corp.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found
""",
    original("bob@corp.test", "ex2010-32@sender.test"),
    boundary="_000_9c1e2f3andrEX01corptest_",
    original_type="text/rfc822-headers",
)

# Exchange 2010 relaying to the Internet, as a plain-text notice (no
# delivery-status part): the remote organisation's reply is in the
# administrators' section, between "#" and "##".
EXCHANGE2010_TEXT_REMOTE_BLOCKED = b"""Return-Path: <>
From: postmaster@corp.test
To: alice@corp.test
Date: Mon, 17 Jun 2024 11:00:05 +0000
Subject: Undeliverable: Quarterly report
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit
Auto-Submitted: auto-replied

Delivery has failed to these recipients or groups:

carl@receiver.test
A problem occurred during the delivery of this message to this e-mail address. Try sending this message again. If the problem continues, please contact your helpdesk.

The following organization rejected your message: mx.receiver.test.

Diagnostic information for administrators:

Generating server: EX01.corp.test

carl@receiver.test
mx.receiver.test #550 5.7.1 Service unavailable; Client host [192.0.2.30] blocked using zen.spamhaus.org ##

Original message headers:

Received: from EX02.corp.test (192.0.2.60) by EX01.corp.test (192.0.2.61)
 with Microsoft SMTP Server id 14.3.487.0; Mon, 17 Jun 2024 11:00:04 +0000
From: Alice <alice@corp.test>
To: <carl@receiver.test>
Subject: Quarterly report
Message-ID: <ex2010-33@corp.test>
"""

# Exchange 2000/2003: the recipient, then the explanation and "<server #x.y.z>".
EXCHANGE2003_TWO_RECIPIENTS = b"""Return-Path: <>
From: System Administrator <postmaster@corp.test>
To: alice@corp.test
Subject: Undeliverable: Quarterly report
Date: Tue, 18 Jun 2024 09:00:05 +0200
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="----_=_NextPart_001_01C4A1B2.C3D4E5F6"
X-MS-Embedded-Report:

This message is in MIME format.

------_=_NextPart_001_01C4A1B2.C3D4E5F6
Content-Type: text/plain; charset="iso-8859-1"

Your message did not reach some or all of the intended recipients.

      Subject:\tQuarterly report
      Sent:\t6/18/2024 9:00 AM

The following recipient(s) cannot be reached:

      dora@corp.test on 6/18/2024 9:00 AM
            The e-mail account does not exist at the organization this message was sent to.  Check the e-mail address, or contact the recipient directly to find out the correct address.
            <EX2003.corp.test #5.1.1>

      ed@corp.test on 6/18/2024 9:00 AM
            The recipient's mailbox is full and can't accept messages now.  Please try resending this message later, or contact the recipient directly.
            <EX2003.corp.test #5.2.2>

------_=_NextPart_001_01C4A1B2.C3D4E5F6
Content-Type: message/rfc822

Message-ID: <ex2003-34@corp.test>
From: Alice <alice@corp.test>
To: dora@corp.test, ed@corp.test
Subject: Quarterly report
Date: Tue, 18 Jun 2024 09:00:00 +0200

Numbers attached.

------_=_NextPart_001_01C4A1B2.C3D4E5F6--
"""

OFFICE365_MAILBOX_FULL = report(
    """Return-Path: <>
From: Microsoft Outlook <postmaster@contoso.test>
To: alice@sender.test
Date: Wed, 19 Jun 2024 10:00:05 +0000
Subject: Undeliverable: Quarterly report
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
X-MS-PublicTrafficType: Email""",
    """Your message to full@contoso.test couldn't be delivered.

full's mailbox is full.

alice       Office 365      full
Action Required             Recipient

Mailbox full

How to Fix It
The recipient's mailbox is full and can't accept messages right now. Try resending the message later, or contact the recipient directly.

Was this helpful? Send feedback to Microsoft.

More Info for Email Admins
Status code: 554 5.2.2

Original Message Details
Created Date:   6/19/2024 10:00:00 AM
Sender Address: alice@sender.test
Recipient Address:      full@contoso.test
Subject:        Quarterly report

Error Details
Reported error: 554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception with message [BeginDiagnosticData]Cannot open mailbox.[EndDiagnosticData]
DSN generated by:       AM0PR01MB1234.eurprd01.prod.exchangelabs.test
""",
    """Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.test
Received-From-MTA: dns;EUR01-AM0-obe.outbound.protection.outlook.test
Arrival-Date: Wed, 19 Jun 2024 10:00:03 +0000

Original-Recipient: rfc822;full@contoso.test
Final-Recipient: rfc822;full@contoso.test
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp;554 5.2.2 mailbox full;
 STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded;
 Failed to process message due to a permanent exception with message
 [BeginDiagnosticData]Cannot open mailbox.[EndDiagnosticData]
""",
    original("full@contoso.test", "o365-35@sender.test"),
    boundary="_004_AM0PR01MB1234_",
    original_type="text/rfc822-headers",
)

OFFICE365_EXPIRED = report(
    """Return-Path: <>
From: Microsoft Outlook <postmaster@contoso.test>
To: fay@contoso.test
Date: Thu, 20 Jun 2024 10:00:05 +0000
Subject: Undeliverable: Invoice
Auto-Submitted: auto-replied""",
    """Delivery has failed to these recipients or groups:

gil@slow.receiver.test
The recipient's server didn't respond in time, and the message has expired. Please try sending the message again later.

Diagnostic information for administrators:

Generating server: DM6PR02MB5678.namprd02.prod.outlook.test

gil@slow.receiver.test
Remote Server returned '550 4.4.7 QUEUE.Expired; message expired'

Original message headers:

Message-ID: <o365-36@contoso.test>
Subject: Invoice
""",
    """Reporting-MTA: dns;DM6PR02MB5678.namprd02.prod.outlook.test
Received-From-MTA: dns;DM6PR02MB5678.namprd02.prod.outlook.test
Arrival-Date: Sun, 16 Jun 2024 10:00:00 +0000

Final-Recipient: rfc822;gil@slow.receiver.test
Action: failed
Status: 4.4.7
Diagnostic-Code: smtp;550 4.4.7 QUEUE.Expired; message expired
""",
    original("gil@slow.receiver.test", "o365-36@contoso.test").replace(
        "alice@sender.test", "fay@contoso.test"
    ),
    boundary="_005_DM6PR02MB5678_",
    original_type="text/rfc822-headers",
)

OFFICE365_IP_BLOCKED = report(
    """Return-Path: <>
From: Microsoft Outlook <postmaster@contoso.test>
To: fay@contoso.test
Date: Thu, 20 Jun 2024 11:00:05 +0000
Subject: Undeliverable: Newsletter
Auto-Submitted: auto-replied""",
    """Delivery has failed to these recipients or groups:

hugo@receiver.test
Your message wasn't delivered because the recipient's email provider rejected it.

Diagnostic information for administrators:

Generating server: DM6PR02MB5678.namprd02.prod.outlook.test

hugo@receiver.test
Remote Server returned '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more information please go to http://go.microsoft.test/fwlink/?LinkId=526653 AS(7)'

Original message headers:

Message-ID: <o365-37@contoso.test>
""",
    """Reporting-MTA: dns;DM6PR02MB5678.namprd02.prod.outlook.test
Received-From-MTA: dns;DM6PR02MB5678.namprd02.prod.outlook.test
Arrival-Date: Thu, 20 Jun 2024 11:00:03 +0000

Final-Recipient: rfc822;hugo@receiver.test
Action: failed
Status: 5.7.708
Diagnostic-Code: smtp;550 5.7.708 Service unavailable. Access denied, traffic not
 accepted from this IP. For more information please go to
 http://go.microsoft.test/fwlink/?LinkId=526653 AS(7)
""",
    original("hugo@receiver.test", "o365-37@contoso.test").replace(
        "alice@sender.test", "fay@contoso.test"
    ),
    boundary="_006_DM6PR02MB5678_",
    original_type="text/rfc822-headers",
)

# Outlook.com/Hotmail: a short notice and a delivery-status part.
OUTLOOK_COM_MAILBOX_UNAVAILABLE = report(
    """Return-Path: <>
From: postmaster@outlook.test
To: alice@outlook.test
Date: Fri, 21 Jun 2024 10:00:05 +0000
Subject: Delivery Status Notification (Failure)""",
    """This is an automatically generated Delivery Status Notification.

Delivery to the following recipients failed.

       jill@receiver.test

""",
    """Reporting-MTA: dns;BLU004-OMC1S1.hotmail.test
Received-From-MTA: dns;BLU436-SMTP12
Arrival-Date: Fri, 21 Jun 2024 10:00:03 +0000

Final-Recipient: rfc822;jill@receiver.test
Action: failed
Status: 5.5.0
Diagnostic-Code: smtp;550 Requested action not taken: mailbox unavailable
""",
    original("jill@receiver.test", "hotmail-38@outlook.test").replace(
        "alice@sender.test", "alice@outlook.test"
    ),
    boundary="9B095B5ADSN=_01D7C2E3F4A5B6C7D8E9BLU004OMC1S1",
)

# --------------------------------------------------------------------------
# Gmail / Google Workspace
# --------------------------------------------------------------------------

GMAIL_ADDRESS_NOT_FOUND = report(
    """Return-Path: <>
Received: by mail-sor-f69.google.test with SMTP id a1sor123; Sat, 22 Jun 2024 01:00:05 -0700 (PDT)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@gmail.test
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: <gmail-39@mail.gmail.test>
In-Reply-To: <gmail-39@mail.gmail.test>
X-Failed-Recipients: kent@receiver.test
Message-ID: <6676e0a5.bounce@mx.google.test>
Date: Sat, 22 Jun 2024 01:00:05 -0700 (PDT)""",
    """
** Address not found **

Your message wasn't delivered to kent@receiver.test because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response from the remote server was:
550 5.1.1 <kent@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table
""",
    """Reporting-MTA: dns; googlemail.com
Arrival-Date: Sat, 22 Jun 2024 01:00:03 -0700 (PDT)
X-Original-Message-ID: <gmail-39@mail.gmail.test>

Final-Recipient: rfc822; kent@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.receiver.test. (198.51.100.61, the server for the domain receiver.test.)
Diagnostic-Code: smtp; 550 5.1.1 <kent@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table
Last-Attempt-Date: Sat, 22 Jun 2024 01:00:05 -0700 (PDT)
""",
    original("kent@receiver.test", "gmail-39@mail.gmail.test").replace(
        "alice@sender.test", "alice@gmail.test"
    ),
    boundary="000000000000a1b2c3061b7e8f9a",
)

GMAIL_MESSAGE_NOT_DELIVERED_TIMEOUT = report(
    """Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@gmail.test
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: lara@slow.receiver.test
Date: Sun, 23 Jun 2024 01:00:05 -0700 (PDT)""",
    """
** Message not delivered **

There was a problem delivering your message to lara@slow.receiver.test. See the technical details below.

The response was:

The recipient server did not accept our requests to connect. Learn more at https://support.google.com/mail/answer/7720
[mx.slow.receiver.test. 198.51.100.62: timed out]
""",
    """Reporting-MTA: dns; googlemail.com
Arrival-Date: Thu, 20 Jun 2024 01:00:03 -0700 (PDT)
X-Original-Message-ID: <gmail-40@mail.gmail.test>

Final-Recipient: rfc822; lara@slow.receiver.test
Action: failed
Status: 4.4.1
Diagnostic-Code: smtp; The recipient server did not accept our requests to connect. Learn more at https://support.google.com/mail/answer/7720
 [mx.slow.receiver.test. 198.51.100.62: timed out]
Last-Attempt-Date: Sun, 23 Jun 2024 01:00:05 -0700 (PDT)
""",
    original("lara@slow.receiver.test", "gmail-40@mail.gmail.test").replace(
        "alice@sender.test", "alice@gmail.test"
    ),
    boundary="000000000000d4e5f6061b7e8f9b",
)

# The Gmail notice of the early 2010s: plain text, no delivery-status part.
GMAIL_OLD_DOMAIN_NOT_FOUND = b"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@gmail.test
Subject: Delivery Status Notification (Failure)
Date: Mon, 24 Jun 2024 01:00:05 -0700 (PDT)
X-Failed-Recipients: milo@nx.receiver.test
Content-Type: text/plain; charset=ISO-8859-1

Delivery to the following recipient failed permanently:

     milo@nx.receiver.test

Technical details of permanent failure:
DNS Error: Domain name not found

----- Original message -----

X-Received: by 10.0.0.1 with SMTP id abc; Mon, 24 Jun 2024 01:00:03 -0700 (PDT)
From: alice@gmail.test
To: milo@nx.receiver.test
Subject: Lunch
Message-ID: <gmail-41@mail.gmail.test>

Noon?
"""

GMAIL_OLD_REMOTE_MAILBOX_FULL = b"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@gmail.test
Subject: Delivery Status Notification (Failure)
Date: Mon, 24 Jun 2024 02:00:05 -0700 (PDT)
X-Failed-Recipients: nina@receiver.test
Content-Type: text/plain; charset=ISO-8859-1

Delivery to the following recipient failed permanently:

     nina@receiver.test

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient domain receiver.test by mx.receiver.test. [198.51.100.61].

The error that the other server returned was:
552 5.2.2 <nina@receiver.test>... Mailbox full

----- Original message -----

X-Received: by 10.0.0.1 with SMTP id def; Mon, 24 Jun 2024 02:00:03 -0700 (PDT)
From: alice@gmail.test
To: nina@receiver.test
Subject: Photos
Message-ID: <gmail-42@mail.gmail.test>

Here they are.
"""

# --------------------------------------------------------------------------
# Yahoo, AOL
# --------------------------------------------------------------------------

YAHOO_USER_UNKNOWN = b"""Return-Path: <>
From: MAILER-DAEMON@yahoo.test
To: alice@yahoo.test
Subject: Failure Notice
Date: Tue, 25 Jun 2024 10:00:05 +0000

Sorry, we were unable to deliver your message to the following address.

<oleg@receiver.test>:
Remote host said: 550 5.1.1 <oleg@receiver.test>: Recipient address rejected: User unknown in virtual alias table [RCPT_TO]

--- Below this line is a copy of the message.

Received: from [192.0.2.70] by sonic.mail.yahoo.test with HTTP; Tue, 25 Jun 2024 10:00:00 +0000
From: alice@yahoo.test
To: oleg@receiver.test
Subject: Tickets
Message-ID: <yahoo-43@mail.yahoo.test>

Got them.
"""

YAHOO_SPAM_AT_DATA = b"""Return-Path: <>
From: MAILER-DAEMON@yahoo.test
To: alice@yahoo.test
Subject: Failure Notice
Date: Tue, 25 Jun 2024 11:00:05 +0000

Sorry, we were unable to deliver your message to the following address.

<pia@receiver.test>:
Remote host said: 554 5.7.1 Message rejected: this message looks like spam [BODY]

--- Below this line is a copy of the message.

From: alice@yahoo.test
To: pia@receiver.test
Subject: Win
Message-ID: <yahoo-44@mail.yahoo.test>

Prize.
"""

# AOL's outbound relays write Postfix's notice.
AOL_MAILBOX_FULL = report(
    """Return-Path: <>
From: MAILER-DAEMON@aol.test (Mail Delivery System)
To: alice@aol.test
Subject: Undelivered Mail Returned to Sender
Date: Wed, 26 Jun 2024 10:00:05 -0400 (EDT)""",
    """This is the mail system at host omr-m01.mx.aol.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<quentin@receiver.test>: host mx.receiver.test[198.51.100.63] said: 552 5.2.2
    <quentin@receiver.test>: user is over quota (in reply to RCPT TO command)
""",
    """Reporting-MTA: dns; omr-m01.mx.aol.test
X-Outbound-Mail-Relay-Queue-ID: 4F5A6B7C8D
X-Outbound-Mail-Relay-Sender: rfc822; alice@aol.test
Arrival-Date: Wed, 26 Jun 2024 10:00:03 -0400 (EDT)

Final-Recipient: rfc822; quentin@receiver.test
Original-Recipient: rfc822;quentin@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 552 5.2.2 <quentin@receiver.test>: user is over quota
""",
    original("quentin@receiver.test", "aol-45@mail.aol.test").replace(
        "alice@sender.test", "alice@aol.test"
    ),
    boundary="4F5A6B7C8D.1719410405/omr-m01.mx.aol.test",
)

# --------------------------------------------------------------------------
# Lotus Notes / IBM Domino / HCL Domino
# --------------------------------------------------------------------------

DOMINO_NOT_LISTED = b"""Return-Path: <>
From: Postmaster <postmaster@domino.receiver.test>
To: alice@sender.test
Subject: DELIVERY FAILURE: User ruth (ruth@domino.receiver.test) not listed in Domino Directory
Date: Thu, 27 Jun 2024 10:00:05 +0900
Content-Type: text/plain; charset=us-ascii

Your message

  Subject: Budget

was not delivered to:

  ruth@domino.receiver.test

because:

  User ruth (ruth@domino.receiver.test) not listed in Domino Directory

Received: from mail.sender.test ([192.0.2.20]) by domino.receiver.test
          (Lotus Domino Release 8.5.3) with ESMTP id 2024062710000012-3456
Message-ID: <domino-46@sender.test>
From: alice@sender.test
To: ruth@domino.receiver.test
Subject: Budget
"""

# HCL Domino 10 and later add a delivery-status part.
HCL_DOMINO_DSN = report(
    """Return-Path: <>
From: Mail Delivery System <postmaster@notes.receiver.test>
To: alice@sender.test
Subject: DELIVERY FAILURE: Mail file is full
Date: Thu, 27 Jun 2024 11:00:05 +0900""",
    """Your message

  Subject: Budget

was not delivered to:

  sara@notes.receiver.test

because:

  The recipient's mail file quota has been exceeded; the mail file is full
""",
    """Reporting-MTA: dns;notes.receiver.test

Final-Recipient: rfc822;sara@notes.receiver.test
Action: failed
Status: 5.2.2
""",
    original("sara@notes.receiver.test", "hcl-47@sender.test"),
    boundary="0__=4EBB0A1DDFA1B2C38f9e8a93df938690918c4EBB0A1DDFA1B2C3",
)

# --------------------------------------------------------------------------
# Amazon SES, Amazon WorkMail
# --------------------------------------------------------------------------

SES_EMAIL_USER_UNKNOWN = report(
    """Return-Path: <>
From: MAILER-DAEMON@amazonses.com
To: alice@sender.test
Subject: Delivery Status Notification (Failure)
Date: Fri, 28 Jun 2024 10:00:05 +0000
Message-ID: <0100018f5e6a7b8c-bounce@email.amazonses.com>""",
    """An error occurred while trying to deliver the mail to the following recipients:
tess@receiver.test
""",
    """Reporting-MTA: dns; a27-30.smtp-out.us-west-2.amazonses.com

Action: failed
Final-Recipient: rfc822; tess@receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <tess@receiver.test>: Recipient address rejected: User unknown
Status: 5.1.1
""",
    original("tess@receiver.test", "0100018f5e6a7b8c-ses-48@email.amazonses.com"),
    boundary="ses-bounce-boundary-1719568805",
)

SES_SNS_JSON_TWO_RECIPIENTS = b"""Return-Path: <no-reply@sns.amazonaws.test>
From: AWS Notifications <no-reply@sns.amazonaws.com>
To: bounces@sender.test
Subject: AWS Notification Message
Date: Fri, 28 Jun 2024 11:00:05 +0000
Content-Type: text/plain; charset=UTF-8

{
  "Type" : "Notification",
  "MessageId" : "2a9e5f1c-1b2c-5d3e-9f4a-000000000049",
  "TopicArn" : "arn:aws:sns:us-west-2:123456789012:ses-bounces",
  "Message" : "{\\"notificationType\\":\\"Bounce\\",\\"bounce\\":{\\"feedbackId\\":\\"0100018f5e6a7b8c-feedback-000000\\",\\"bounceType\\":\\"Permanent\\",\\"bounceSubType\\":\\"General\\",\\"bouncedRecipients\\":[{\\"emailAddress\\":\\"uri@receiver.test\\",\\"action\\":\\"failed\\",\\"status\\":\\"5.1.1\\",\\"diagnosticCode\\":\\"smtp; 550 5.1.1 user unknown\\"},{\\"emailAddress\\":\\"val@receiver.test\\",\\"action\\":\\"failed\\",\\"status\\":\\"5.2.2\\",\\"diagnosticCode\\":\\"smtp; 552 5.2.2 Mailbox full\\"}],\\"timestamp\\":\\"2024-06-28T11:00:04.000Z\\",\\"remoteMtaIp\\":\\"198.51.100.64\\",\\"reportingMTA\\":\\"dsn; a27-30.smtp-out.us-west-2.amazonses.com\\"},\\"mail\\":{\\"timestamp\\":\\"2024-06-28T11:00:00.000Z\\",\\"source\\":\\"alice@sender.test\\",\\"sourceArn\\":\\"arn:aws:ses:us-west-2:123456789012:identity/sender.test\\",\\"messageId\\":\\"0100018f5e6a7b8c-ses-49\\",\\"destination\\":[\\"uri@receiver.test\\",\\"val@receiver.test\\"],\\"headersTruncated\\":false,\\"headers\\":[{\\"name\\":\\"From\\",\\"value\\":\\"alice@sender.test\\"},{\\"name\\":\\"To\\",\\"value\\":\\"uri@receiver.test, val@receiver.test\\"},{\\"name\\":\\"Message-ID\\",\\"value\\":\\"<ses-json-49@sender.test>\\"},{\\"name\\":\\"Subject\\",\\"value\\":\\"Welcome\\"}],\\"commonHeaders\\":{\\"from\\":[\\"alice@sender.test\\"],\\"to\\":[\\"uri@receiver.test\\",\\"val@receiver.test\\"],\\"messageId\\":\\"<ses-json-49@sender.test>\\",\\"subject\\":\\"Welcome\\"}}}",
  "Timestamp" : "2024-06-28T11:00:05.000Z",
  "SignatureVersion" : "1",
  "Signature" : "AAAA",
  "SigningCertURL" : "https://sns.us-west-2.amazonaws.test/cert.pem",
  "UnsubscribeURL" : "https://sns.us-west-2.amazonaws.test/unsubscribe"
}
"""

WORKMAIL_MAILBOX_DISABLED = report(
    """Return-Path: <>
From: MAILER-DAEMON@us-west-2.awsapps.test
To: alice@workmail.sender.test
Subject: Delivery Status Notification (Failure)
Date: Fri, 28 Jun 2024 12:00:05 +0000
X-Mailer: Amazon WorkMail""",
    """An error occurred while trying to deliver the mail to the following recipients:
walt@receiver.test
""",
    """Reporting-MTA: dns; a8-50.smtp-out.amazonses.com

Action: failed
Final-Recipient: rfc822; walt@receiver.test
Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled, not accepting messages
Status: 5.2.1
""",
    original("walt@receiver.test", "workmail-50@workmail.sender.test").replace(
        "alice@sender.test", "alice@workmail.sender.test"
    ),
    boundary="workmail-boundary-1719576005",
)

# --------------------------------------------------------------------------
# Sending services and their MTAs: SendGrid, PowerMTA, Postmark
# --------------------------------------------------------------------------

SENDGRID_USER_UNKNOWN = report(
    """Return-Path: <>
From: MAILER-DAEMON@sendgrid.test (Mail Delivery System)
To: bounces+1234-abcd-xavier=receiver.test@em.sender.test
Subject: Undelivered Mail Returned to Sender
Date: Sat, 29 Jun 2024 10:00:05 +0000""",
    """This is an automatically generated message from SendGrid.

I'm sorry to have to tell you that your message was not able to be
delivered to one of its intended recipients.

If you require assistance with this, please contact SendGrid support.

xavier@receiver.test: 550 5.1.1 <xavier@receiver.test>: Recipient address rejected: User unknown in virtual alias table
""",
    """Arrival-Date: 2024-06-29 10:00:03 +0000 UTC
Reporting-MTA: dns; o1.ptr1234.sendgrid.test

Action: failed
Final-Recipient: rfc822; xavier@receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <xavier@receiver.test>: Recipient address rejected: User unknown in virtual alias table
Status: 5.1.1
""",
    original("xavier@receiver.test", "sendgrid-51@em.sender.test"),
    boundary="sg-bounce-1719655205",
)

POWERMTA_BLOCKED = report(
    """Return-Path: <>
From: "Mail Delivery Subsystem" <mailer-daemon@pmta.sender.test>
To: alice@sender.test
Subject: Delivery report
Date: Sat, 29 Jun 2024 11:00:05 +0000""",
    """Hello, this is the mail server on pmta.sender.test.

I am sending you this message to inform you on the delivery status of a
message you previously sent.  Immediately below you will find a list of
the affected recipients;  also attached is a Delivery Status Notification
(DSN) report in standard format, as well as the headers of the original
message.

  <yara@receiver.test>  delivery failed; will not continue trying

""",
    """Reporting-MTA: dns;pmta.sender.test
X-PowerMTA-VirtualMTA: vmta-pool-1
Received-From-MTA: dns;client.sender.test (192.0.2.20)
Arrival-Date: Sat, 29 Jun 2024 11:00:03 +0000

Final-Recipient: rfc822;yara@receiver.test
Action: failed
Status: 5.0.0 (undefined status)
Remote-MTA: dns;mx.receiver.test (198.51.100.65)
Diagnostic-Code: smtp;550 5.7.1 Service unavailable; Client host [192.0.2.40] blocked using zen.spamhaus.org
X-PowerMTA-BounceCategory: bad-connection
""",
    original("yara@receiver.test", "pmta-52@sender.test"),
    boundary="=_pmta-bounce-1719658805",
    original_type="text/rfc822-headers",
)

POSTMARK_DMARC = report(
    """Return-Path: <>
From: Postmark <mailer-daemon@pm-bounces.postmark.test>
To: alice@sender.test
Subject: Undelivered Mail Returned to Sender
Date: Sat, 29 Jun 2024 12:00:05 +0000""",
    """This is the mail system at host smtp.postmark.test.

Your message could not be delivered to one or more recipients.

<zane@receiver.test>: host mx.receiver.test[198.51.100.66] said: 550 5.7.1
    Unauthenticated email from sender.test is not accepted due to domain's
    DMARC policy (in reply to end of DATA command)
""",
    """Reporting-MTA: dns; smtp.postmark.test
X-Postmark-Server-ID: 123456

Final-Recipient: rfc822; zane@receiver.test
Action: failed
Status: 5.7.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.7.1 Unauthenticated email from sender.test is not
    accepted due to domain's DMARC policy
""",
    original("zane@receiver.test", "postmark-53@sender.test"),
    boundary="pm-bounce-1719662405",
)

# --------------------------------------------------------------------------
# Security gateways: MessageLabs/Symantec, Trend Micro, McAfee, Barracuda, Mimecast
# --------------------------------------------------------------------------

MESSAGELABS_USER_UNKNOWN = report(
    """Return-Path: <>
From: MAILER-DAEMON@messagelabs.test
To: alice@sender.test
Subject: Mail Delivery Failure
Date: Sun, 30 Jun 2024 10:00:05 +0000""",
    """This is an automatically generated message from the mail delivery system.

Delivery to the following recipients failed permanently:

    abe@receiver.test

Reason: 550 5.1.1 <abe@receiver.test>: Recipient address rejected: User unknown in relay recipient table
""",
    """Reporting-MTA: dns; server-12.tower-100.messagelabs.test
Arrival-Date: Sun, 30 Jun 2024 10:00:03 +0000

Action: failed
Status: 5.0.0
Last-Attempt-Date: Sun, 30 Jun 2024 10:00:05 +0000
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550-5.1.1 <abe@receiver.test>: Recipient address rejected:
 550 5.1.1 User unknown in relay recipient table
Final-Recipient: rfc822; abe@receiver.test
""",
    original("abe@receiver.test", "mlabs-54@sender.test"),
    boundary="mlabs-ndr-1719741605",
)

TRENDMICRO_USER_UNKNOWN = b"""Return-Path: <>
From: Postmaster <postmaster@imss.sender.test>
To: alice@sender.test
Subject: Undeliverable Mail: Contract
Date: Sun, 30 Jun 2024 11:00:05 +0900
Content-Type: text/plain; charset=us-ascii

****** Message from InterScan Messaging Security Suite ******

Sent <<< RCPT TO:<bea@receiver.test>
Received >>> 550 5.1.1 <bea@receiver.test>... User unknown

Unable to deliver message to <bea@receiver.test>.

************************** End of message **********************

Received: from client.sender.test ([192.0.2.20]) by imss.sender.test
Message-ID: <trend-55@sender.test>
From: alice@sender.test
To: bea@receiver.test
Subject: Contract
"""

MCAFEE_USER_UNKNOWN = b"""Return-Path: <>
From: Mail Delivery Subsystem <postmaster@meg.sender.test>
To: alice@sender.test
Subject: Delivery Status Notification (Failure)
Date: Sun, 30 Jun 2024 12:00:05 +0000
X-NAI-Header: Modified by McAfee Email Gateway
Content-Type: text/plain; charset=us-ascii

--- The following addresses had delivery problems ---

<cy@receiver.test>   (Permanent failure: 550 5.1.1 <cy@receiver.test>... No such user)

--- Original message follows ---

Message-ID: <mcafee-56@sender.test>
From: alice@sender.test
To: cy@receiver.test
Subject: Schedule
"""

BARRACUDA_BLOCKED = report(
    """Return-Path: <>
From: MAILER-DAEMON@ess.barracuda.test (Mail Delivery System)
To: alice@sender.test
Subject: Undelivered Mail Returned to Sender
Date: Mon, 1 Jul 2024 10:00:05 +0000""",
    """This is the mail system at host d123456.ess.barracuda.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<dina@receiver.test>: host mx.receiver.test[198.51.100.67] said: 554 5.7.1
    Service unavailable; Client host [192.0.2.50] blocked using
    b.barracudacentral.org (in reply to RCPT TO command)
""",
    """Reporting-MTA: dns; d123456.ess.barracuda.test
X-Barracuda-Queue-ID: 1A2B3C4D5E
Arrival-Date: Mon,  1 Jul 2024 10:00:03 +0000 (UTC)

Final-Recipient: rfc822; dina@receiver.test
Original-Recipient: rfc822;dina@receiver.test
Action: failed
Status: 5.7.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.50]
    blocked using b.barracudacentral.org
""",
    original("dina@receiver.test", "barracuda-57@sender.test"),
    boundary="1A2B3C4D5E.1719828005/d123456.ess.barracuda.test",
)

# Mimecast: a text and an HTML rendering of the same notice, no delivery-status part.
MIMECAST_USER_UNKNOWN = b"""Return-Path: <>
From: Postmaster <postmaster@mimecast.sender.test>
To: alice@sender.test
Subject: Delivery Failure: Proposal
Date: Mon, 1 Jul 2024 11:00:05 +0100
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mc-outer"

--mc-outer
Content-Type: multipart/alternative; boundary="mc-alt"

--mc-alt
Content-Type: text/plain; charset=utf-8

Your message couldn't be delivered to the recipients shown below.

Subject: Proposal
Sent: 01/07/2024 11:00:00

Recipient: eddie@receiver.test
Reason: Remote server returned '550 5.1.1 <eddie@receiver.test>: Recipient address rejected: User unknown'

--mc-alt
Content-Type: text/html; charset=utf-8

<html><body><p>Your message couldn't be delivered to the recipients shown below.</p>
<p>Recipient: eddie@receiver.test<br>Reason: Remote server returned '550 5.1.1 &lt;eddie@receiver.test&gt;: Recipient address rejected: User unknown'</p></body></html>

--mc-alt--

--mc-outer
Content-Type: message/rfc822

From: alice@sender.test
To: eddie@receiver.test
Subject: Proposal
Message-ID: <mimecast-58@sender.test>

Draft attached.

--mc-outer--
"""

# --------------------------------------------------------------------------
# Regional providers: Zoho, Mail.ru, GMX/1&1, KDDI au, NTT docomo, Biglobe
# --------------------------------------------------------------------------

ZOHO_USER_UNKNOWN = b"""Return-Path: <>
From: mailer-daemon@mail.zoho.test
To: alice@zoho.test
Subject: Undelivered Mail Returned to Sender
Date: Tue, 2 Jul 2024 10:00:05 +0530
Content-Type: text/plain; charset=UTF-8

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients. This is a permanent error.

fred@receiver.test, ERROR CODE :550 - 5.1.1 <fred@receiver.test>: Recipient address rejected: User unknown in virtual mailbox table

Received:from mail.zoho.test by mx.zoho.test with SMTP id 1719894600000123;
\tTue, 2 Jul 2024 10:00:00 +0530 (IST)
From: alice@zoho.test
To: fred@receiver.test
Subject: Invoice
Message-ID: <zoho-59@zoho.test>
"""

ZOHO_MAILBOX_FULL = b"""Return-Path: <>
From: mailer-daemon@mail.zoho.test
To: alice@zoho.test
Subject: Undelivered Mail Returned to Sender
Date: Tue, 2 Jul 2024 11:00:05 +0530
Content-Type: text/plain; charset=UTF-8

This message was created automatically by mail delivery software.
A message that you sent could not be delivered to one or more of its recipients. This is a permanent error.

gwen@receiver.test, ERROR CODE :552 - 5.2.2 Mailbox quota exceeded for this recipient

Received:from mail.zoho.test by mx.zoho.test with SMTP id 1719898200000456;
\tTue, 2 Jul 2024 11:00:00 +0530 (IST)
From: alice@zoho.test
To: gwen@receiver.test
Subject: Invoice
Message-ID: <zoho-60@zoho.test>
"""

MAILRU_MAILBOX_FULL = (
    """Return-path: <>
From: Mail Delivery System <mailer-daemon@corp.mail.test>
To: alice@mail.test
Subject: Mail failure.
Date: Wed, 03 Jul 2024 10:00:05 +0300
X-Failed-Recipients: hans@receiver.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Это письмо создано автоматически
сервером Mail.Ru, отвечать на него не
нужно.

К сожалению, Ваше письмо не может
быть доставлено одному или нескольким
получателям:

hans@receiver.test
SMTP error from remote mail server after RCPT TO:<hans@receiver.test>:
host mx.receiver.test [198.51.100.68]: 552 5.2.2 Mailbox size limit exceeded

Рекомендуем Вам проверить корректность
указания адресов получателей.

--- Below this line is a copy of the message.

Return-path: <alice@mail.test>
From: alice@mail.test
To: hans@receiver.test
Subject: Privet
Message-ID: <mailru-61@mail.test>
"""
).encode()

GMX_USER_UNKNOWN = b"""Return-Path: <>
From: "Mail Delivery System" <mailer-daemon@gmx.test>
To: alice@gmx.test
Subject: Mail delivery failed: returning message to sender
Date: Thu, 4 Jul 2024 10:00:05 +0200
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address(es)
failed:

ines@receiver.test:
SMTP error from remote server for RCPT TO command, host: mx.receiver.test (198.51.100.69) reason: 550 5.1.1 <ines@receiver.test>: Recipient address rejected: User unknown

--- The header of the original message is following. ---

Received: from [192.0.2.80] by web.gmx.test with HTTP; Thu, 4 Jul 2024 10:00:00 +0200
Message-ID: <gmx-62@gmx.test>
From: alice@gmx.test
To: ines@receiver.test
Subject: Urlaub
"""

ONE_AND_ONE_MAILBOX_FULL = b"""Return-Path: <>
From: "Mail Delivery System" <mailer-daemon@kundenserver.test>
To: alice@1und1.test
Subject: Mail delivery failed: returning message to sender
Date: Thu, 4 Jul 2024 11:00:05 +0200
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of
its recipients. This is a permanent error. The following address(es)
failed:

jens@receiver.test:
SMTP error from remote server for DATA command, host: mx.receiver.test (198.51.100.69) reason: 552 5.2.2 Mailbox full

--- The header of the original message is following. ---

Message-ID: <oneandone-63@1und1.test>
From: alice@1und1.test
To: jens@receiver.test
Subject: Rechnung
"""

KDDI_MAILBOX_FULL = b"""Return-Path: <>
From: MAILER-DAEMON@ezweb.ne.jp
To: alice@sender.test
Subject: Mail System Error - Returned Mail
Date: Fri, 5 Jul 2024 10:00:05 +0900
Content-Type: text/plain; charset=us-ascii

Your mail sent on: Fri, 5 Jul 2024 09:50:00 +0900
    could not be delivered to the following recipients
    because of an error:

    <kaito-0001@ezweb.ne.jp>: mailbox is full

Received: from mail.sender.test ([192.0.2.20]) by mx.ezweb.ne.jp
Message-ID: <kddi-64@sender.test>
From: alice@sender.test
To: kaito-0001@ezweb.ne.jp
Subject: Yotei
"""

DOCOMO_USER_UNKNOWN = report(
    """Return-Path: <MAILER-DAEMON@docomo.ne.jp>
From: Mail Delivery Subsystem <MAILER-DAEMON@docomo.ne.jp>
To: <alice@sender.test>
Subject: Returned mail: see transcript for details
Date: Fri, 5 Jul 2024 11:00:05 +0900""",
    """The original message was received at Fri, 5 Jul 2024 11:00:03 +0900
from mail.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<nonexistent-0002@docomo.ne.jp>
    (reason: 550 5.1.1 <nonexistent-0002@docomo.ne.jp>... User unknown)

   ----- Transcript of session follows -----
... while talking to mfsmax.docomo.ne.jp.:
>>> RCPT To:<nonexistent-0002@docomo.ne.jp>
<<< 550 5.1.1 <nonexistent-0002@docomo.ne.jp>... User unknown
""",
    """Reporting-MTA: dns; mfsmax.docomo.ne.jp
Arrival-Date: Fri, 5 Jul 2024 11:00:03 +0900

Final-Recipient: RFC822; nonexistent-0002@docomo.ne.jp
Action: failed
Status: 5.1.1
Remote-MTA: DNS; mfsmax.docomo.ne.jp
Diagnostic-Code: SMTP; 550 5.1.1 <nonexistent-0002@docomo.ne.jp>... User unknown
""",
    original("nonexistent-0002@docomo.ne.jp", "docomo-65@sender.test"),
    boundary="4653A1B2C3.1719975605/mfsmax.docomo.ne.jp",
    original_type="text/rfc822-headers",
)

BIGLOBE_MAILBOX_FULL = b"""Return-Path: <>
From: postmaster@biglobe.ne.jp
To: alice@sender.test
Subject: Returned mail: Delivery failure
Date: Fri, 5 Jul 2024 12:00:05 +0900
Content-Type: text/plain; charset=us-ascii

This is a MIME-encapsulated message.

   ----- The following addresses had delivery problems -----
nonexistent-0003@biglobe.ne.jp

   ----- Non-delivered information -----
Mailbox of the recipient is full (quota exceeded).

   ----- Unsent message follows -----
Message-ID: <biglobe-66@sender.test>
From: alice@sender.test
To: nonexistent-0003@biglobe.ne.jp
Subject: Oshirase
"""

# --------------------------------------------------------------------------
# Mailing-list managers
# --------------------------------------------------------------------------

MAILMAN_NON_MEMBER = b"""Return-Path: <staff-bounces@lists.receiver.test>
From: staff-owner@lists.receiver.test
To: alice@sender.test
Subject: Request to mailing list Staff rejected
Date: Sat, 6 Jul 2024 10:00:05 +0000
X-Mailman-Version: 2.1.29
X-BeenThere: staff@lists.receiver.test
List-Id: <staff.lists.receiver.test>
List-Post: <mailto:staff@lists.receiver.test>
Content-Type: text/plain; charset=us-ascii

Your request to the Staff mailing list

    Posting of your message titled "Quarterly report"

has been rejected by the list moderator.  The moderator gave the
following reason for rejecting your request:

"Non-members are not allowed to post messages to this list."

Any questions or comments should be directed to the list administrator
at:

    staff-owner@lists.receiver.test
"""

GOOGLE_GROUPS_NO_PERMISSION = b"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@sender.test
Subject: Address not found
Date: Sat, 6 Jul 2024 11:00:05 -0700
X-Failed-Recipients: team@googlegroups.test
Content-Type: text/plain; charset=UTF-8

** Address not found **

Your message wasn't delivered to team@googlegroups.test because the address couldn't be found, or is unable to receive mail.

The response was:

We're writing to let you know that the group you tried to contact (team) may not exist, or you may not have permission to post messages to the group. A few more details on why you weren't able to post:

 * You might have spelled or formatted the group name incorrectly.
 * The owner of the group may have removed this group.
 * You may need to join the group before receiving permission to post.
 * This group may not be open to posting.

If you have questions related to this or any other Google Group, visit the Help Center at https://groups.google.com/support/.

Thanks,

Google Groups
"""

# --------------------------------------------------------------------------
# More variants of the major MTAs
# --------------------------------------------------------------------------

# Postfix's own local delivery agent: no remote server, an X-Postfix diagnostic.
POSTFIX_LOCAL_UNKNOWN_USER = _postfix(
    """<olaf@mx.sender.test>: unknown user: "olaf"
""",
    """Final-Recipient: rfc822; olaf@mx.sender.test
Original-Recipient: rfc822;olaf@mx.sender.test
Action: failed
Status: 5.1.1
Diagnostic-Code: X-Postfix; unknown user: "olaf"
""",
    "olaf@mx.sender.test",
    "pf-local-67@sender.test",
)

# Postfix piping to a local command (procmail, maildrop) that failed.
SENDMAIL_LOCAL_MAILER_FAILED = report(
    _SENDMAIL_HEADERS,
    """The original message was received at Mon, 10 Jun 2024 09:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
"|/usr/local/bin/procmail -f- -a $h -d $u"
    (reason: Can't create output)
    (expanded from: <pete@mail.sender.test>)

   ----- Transcript of session follows -----
procmail: Couldn't create "/var/mail/pete"
554 5.3.0 unknown mailer error 73
""",
    """Reporting-MTA: dns; mail.sender.test
Arrival-Date: Mon, 10 Jun 2024 09:00:03 +0900

Final-Recipient: RFC822; pete@mail.sender.test
X-Actual-Recipient: X-Unix; |/usr/local/bin/procmail -f- -a $h -d $u
Action: failed
Status: 5.3.0
Diagnostic-Code: X-Unix; 73
Last-Attempt-Date: Mon, 10 Jun 2024 09:00:05 +0900
""",
    original("pete@mail.sender.test", "sm-mailer-68@sender.test"),
    boundary="45A0B1C2003460.1717977605/mail.sender.test",
)

# Postfix relaying to itself through a misconfigured MX.
POSTFIX_MAIL_LOOP = _postfix(
    """<rex@loop.receiver.test>: mail for loop.receiver.test loops back to myself
""",
    """Final-Recipient: rfc822; rex@loop.receiver.test
Original-Recipient: rfc822;rex@loop.receiver.test
Action: failed
Status: 5.4.6
Diagnostic-Code: X-Postfix; mail for loop.receiver.test loops back to myself
""",
    "rex@loop.receiver.test",
    "pf-loop-69@sender.test",
)

QMAIL_SENDER_REJECTED = _qmail(
    """<sue@receiver.test>:
Connected to 198.51.100.40 but sender was rejected.
Remote host said: 553 5.7.1 <alice@sender.test>: Sender address rejected: not owned by user
""",
    "qmail-70@sender.test",
    "sue@receiver.test",
)

# Exim, a local mailbox reached through an alias, over its quota.
EXIM_LOCAL_QUOTA = b"""Return-path: <>
Received: from mail by mail.receiver.test with local (Exim 4.97)
\tid 1sG4cD-000789-8E
\tfor alice@sender.test; Sun, 09 Jun 2024 12:00:00 +0000
X-Failed-Recipients: save@receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mail.receiver.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1sG4cD-000789-8E@mail.receiver.test>
Date: Sun, 09 Jun 2024 12:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  save@receiver.test
    (generated from team@receiver.test)
    mailbox is full: retry timeout exceeded

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: team@receiver.test
Subject: Minutes
Message-Id: <exim-quota-71@sender.test>

Attached.
"""

# Sendmail 8 without MIME: the DSN-style headings in a single text body.
SENDMAIL_TEXT_ONLY = b"""Return-Path: <MAILER-DAEMON@mail.sender.test>
Date: Mon, 10 Jun 2024 10:00:05 +0900
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.sender.test>
Message-Id: <202406100100.45A0B1C2003461@mail.sender.test>
To: alice@sender.test
Subject: Returned mail: see transcript for details

The original message was received at Mon, 10 Jun 2024 10:00:03 +0900
from client.sender.test [192.0.2.20]

   ----- The following addresses had permanent fatal errors -----
<tina@receiver.test>
    (reason: 550 5.7.1 <tina@receiver.test>... Relaying denied. Proper authentication required.)

   ----- Transcript of session follows -----
... while talking to mx.receiver.test.:
>>> RCPT To:<tina@receiver.test>
<<< 550 5.7.1 <tina@receiver.test>... Relaying denied. Proper authentication required.
550 5.7.1 <tina@receiver.test>... Relaying denied. Proper authentication required.

   ----- Original message follows -----

Return-Path: <alice@sender.test>
From: alice@sender.test
To: tina@receiver.test
Subject: Hello
Message-Id: <sm-text-72@sender.test>

Hi.
"""

# Exchange 2007 and later as plain text (the notice a relay or an old client keeps).
EXCHANGE2007_TEXT_USER_UNKNOWN = b"""Return-Path: <>
From: Microsoft Exchange <postmaster@corp.test>
To: alice@corp.test
Subject: Undeliverable: Budget
Date: Tue, 18 Jun 2024 12:00:05 +0000
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

Ulla Example (ulla@corp.test)
The e-mail address you entered couldn't be found. Please check the recipient's e-mail address and try to resend the message. If the problem continues, please contact your helpdesk.

Vince Example (vince@corp.test)
The recipient's mailbox is full and can't accept messages now. Please try resending this message later, or contact the recipient directly.

Diagnostic information for administrators:

Generating server: EX01.corp.test

ulla@corp.test
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##

vince@corp.test
#550 5.2.2 STOREDRV.Deliver; recipient mailbox is full ##

Original message headers:

Received: from EX02.corp.test (192.0.2.60) by EX01.corp.test (192.0.2.61)
 with Microsoft SMTP Server id 8.1.240.5; Tue, 18 Jun 2024 12:00:04 +0000
From: Alice <alice@corp.test>
To: <ulla@corp.test>, <vince@corp.test>
Subject: Budget
Message-ID: <ex2007-73@corp.test>
"""

# Exchange 2003 naming the recipient by display name only: the address is in
# the delivery-status part.
EXCHANGE2003_DISPLAY_NAME = report(
    """Return-Path: <>
From: System Administrator <postmaster@corp.test>
To: alice@corp.test
Subject: Undeliverable: Budget
Date: Tue, 18 Jun 2024 13:00:05 +0200""",
    """Your message did not reach some or all of the intended recipients.

      Subject:\tBudget
      Sent:\t6/18/2024 1:00 PM

The following recipient(s) cannot be reached:

      Walter White on 6/18/2024 1:00 PM
            You do not have permission to send to this recipient.  For assistance, contact your system administrator.
            <EX2003.corp.test #5.7.1 smtp;550 5.7.1 Requested action not taken: message refused>
""",
    """Reporting-MTA: dns;EX2003.corp.test
Received-From-MTA: dns;client.corp.test
Arrival-Date: Tue, 18 Jun 2024 13:00:03 +0200

Final-Recipient: rfc822;walter@receiver.test
Action: failed
Status: 5.7.1
X-Display-Name: Walter White
""",
    original("walter@receiver.test", "ex2003-74@corp.test").replace(
        "alice@sender.test", "alice@corp.test"
    ),
    boundary="----_=_NextPart_001_01C4B2C3.D4E5F6A7",
)

# Exchange 2007 (first releases): "distribution lists", and the remote reply
# wrapped as "#< #5.1.1 smtp;550 ...> #SMTP#".
EXCHANGE2007_SP1_TEXT = b"""Return-Path: <>
From: Microsoft Exchange <postmaster@corp.test>
To: alice@corp.test
Subject: Undeliverable: Lunch
Date: Tue, 18 Jun 2024 14:00:05 +0000
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or distribution lists:

xena@receiver.test
The recipient's e-mail address was not found in the recipient's e-mail system. Microsoft Exchange will not try to redeliver this message for you. Please check the e-mail address and try resending this message, or provide the following diagnostic text to your system administrator.

_____
Sent by Microsoft Exchange Server 2007

Diagnostic information for administrators:

Generating server: EX2007.corp.test

xena@receiver.test
#< #5.1.1 smtp;550 5.1.1 <xena@receiver.test>: Recipient address rejected: User unknown in local recipient table> #SMTP#

Original message headers:

Received: from EX2007.corp.test ([192.0.2.60]) by EX2007.corp.test ([192.0.2.60]) with mapi;
 Tue, 18 Jun 2024 14:00:00 +0000
From: Alice <alice@corp.test>
To: "xena@receiver.test" <xena@receiver.test>
Subject: Lunch
Message-ID: <ex2007sp1-75@corp.test>
"""

# Office 365 as plain text (no delivery-status part kept).
OFFICE365_TEXT_NOT_FOUND = b"""Return-Path: <>
From: Microsoft Outlook <MAILER-DAEMON@contoso.test>
To: fay@contoso.test
Subject: Undeliverable: Agenda
Date: Thu, 20 Jun 2024 12:00:05 +0000
Content-Type: text/plain; charset="utf-8"

Your message to yves@receiver.test couldn't be delivered.
yves wasn't found at receiver.test.

fay         Office 365      yves
Action Required             Recipient

Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the following:
Retype the recipient's address, then resend the message.

Diagnostic information for administrators:

Generating server: DM6PR02MB5678.namprd02.prod.outlook.test

yves@receiver.test
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient yves@receiver.test not found by SMTP address lookup'

Original message headers:

Message-ID: <o365-76@contoso.test>
Subject: Agenda
"""

# Exim with DSN, two recipients: the one that timed out has no Diagnostic-Code,
# its reason is only in the notice.
EXIM_DSN_TWO_RECIPIENTS = report(
    """Return-path: <>
X-Failed-Recipients: zack@receiver.test, abel@down.receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Date: Wed, 05 Jun 2024 13:00:00 +0000""",
    """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  zack@receiver.test
    host mx.receiver.test [198.51.100.20]
    SMTP error from remote mail server after RCPT TO:<zack@receiver.test>:
    550 5.1.1 <zack@receiver.test>: Recipient address rejected: User unknown
  abel@down.receiver.test
    retry timeout exceeded
""",
    """Reporting-MTA: dns; relay.sender.test

Action: failed
Final-Recipient: rfc822;zack@receiver.test
Status: 5.0.0
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <zack@receiver.test>: Recipient address rejected: User unknown

Action: failed
Final-Recipient: rfc822;abel@down.receiver.test
Status: 5.0.0
""",
    original("zack@receiver.test, abel@down.receiver.test", "exim-dsn-77@sender.test"),
    boundary="1717592400-eximdsn-1957747793",
)

GMAIL_TWO_RECIPIENTS = report(
    """Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@gmail.test
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: bart@receiver.test, cleo@receiver.test
Date: Sat, 22 Jun 2024 02:00:05 -0700 (PDT)""",
    """
** Message not delivered **

Your message couldn't be delivered to bart@receiver.test, cleo@receiver.test because the remote server is misconfigured. See technical details below for more information.

The response from the remote server was:
552 5.2.2 <bart@receiver.test>... Mailbox full
""",
    """Reporting-MTA: dns; googlemail.com
Arrival-Date: Sat, 22 Jun 2024 02:00:03 -0700 (PDT)
X-Original-Message-ID: <gmail-78@mail.gmail.test>

Final-Recipient: rfc822; bart@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.receiver.test. (198.51.100.61, the server for the domain receiver.test.)
Diagnostic-Code: smtp; 552 5.2.2 <bart@receiver.test>... Mailbox full
Last-Attempt-Date: Sat, 22 Jun 2024 02:00:05 -0700 (PDT)

Final-Recipient: rfc822; cleo@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.receiver.test. (198.51.100.61, the server for the domain receiver.test.)
Diagnostic-Code: smtp; 550 5.1.1 <cleo@receiver.test>... User unknown
Last-Attempt-Date: Sat, 22 Jun 2024 02:00:05 -0700 (PDT)
""",
    original("bart@receiver.test, cleo@receiver.test", "gmail-78@mail.gmail.test").replace(
        "alice@sender.test", "alice@gmail.test"
    ),
    boundary="000000000000e5f6a7061b7e8f9c",
)

# Exim's smtp transport gave up on hosts that kept failing; the notice has no
# reply code, only Exim's own wording.
EXIM_RETRY_TIME_NOT_REACHED = b"""Return-path: <>
Received: from mail by relay.sender.test with local (Exim 4.96)
\tid 1sH5dE-000999-9F
\tfor alice@sender.test; Mon, 10 Jun 2024 06:00:00 +0000
X-Failed-Recipients: pam@down.receiver.test
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1sH5dE-000999-9F@relay.sender.test>
Date: Mon, 10 Jun 2024 06:00:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  pam@down.receiver.test
    retry time not reached for any host after a long failure period

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: pam@down.receiver.test
Subject: Status
Message-Id: <exim-retry-79@sender.test>

Ping.
"""

# Postfix returning a message after its queue lifetime: the last attempt was
# refused at the TCP level, the status is the temporary 4.4.1.
POSTFIX_EXPIRED_CONNECTION_REFUSED = _postfix(
    """<ron@closed.receiver.test>: connect to mx.closed.receiver.test[198.51.100.31]:25:
    Connection refused
""",
    """Final-Recipient: rfc822; ron@closed.receiver.test
Original-Recipient: rfc822;ron@closed.receiver.test
Action: failed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.closed.receiver.test[198.51.100.31]:25:
    Connection refused
""",
    "ron@closed.receiver.test",
    "pf-refused-80@sender.test",
)

# OpenSMTPD 6 and later: the same notice plus a delivery-status part whose
# records carry only the generic 5.0.0; the replies are in the notice.
OPENSMTPD_DSN_TWO_RECIPIENTS = b"""Return-Path: <>
Subject: Delivery status notification: error
From: Mailer Daemon <MAILER-DAEMON@smtpd.sender.test>
To: alice@sender.test
Date: Fri, 14 Jun 2024 13:00:05 +0000 (UTC)
MIME-Version: 1.0
Content-Type: multipart/mixed;boundary="17183700050.aB3d.12345/smtpd.sender.test"

This is a MIME-encapsulated message.

--17183700050.aB3d.12345/smtpd.sender.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this email.

An error has occurred while attempting to deliver a message for
the following list of recipients:

lena@receiver.test: 550 5.1.1 <lena@receiver.test>: Recipient address rejected: User unknown in local recipient table
mark@receiver.test: 552 5.2.2 <mark@receiver.test>: Mailbox full

Below is a copy of the original message:

--17183700050.aB3d.12345/smtpd.sender.test
Content-Description: Delivery Status
Content-Type: message/delivery-status

Reporting-MTA: dns; smtpd.sender.test

Final-Recipient: rfc822; lena@receiver.test
Action: failed
Status: 5.0.0

Final-Recipient: rfc822; mark@receiver.test
Action: failed
Status: 5.0.0

--17183700050.aB3d.12345/smtpd.sender.test
Content-Description: Message headers
Content-Type: text/rfc822-headers

Received: from client.sender.test (client.sender.test [192.0.2.20])
\tby smtpd.sender.test (OpenSMTPD) with ESMTPSA id 5e6f7a8b
From: alice@sender.test
To: lena@receiver.test, mark@receiver.test
Subject: Plans
Message-ID: <smtpd-81@sender.test>

--17183700050.aB3d.12345/smtpd.sender.test--
"""
