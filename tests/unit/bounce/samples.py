"""Hand-written bounce messages in the shapes real servers produce (all addresses fictitious)."""

from __future__ import annotations

POSTFIX_DSN = b"""Return-Path: <>
From: MAILER-DAEMON@mx.sender.test (Mail Delivery System)
To: alice@sender.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain

This is the mail system at host mx.sender.test.
I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<ghost@receiver.test>: host mx.receiver.test[198.51.100.7] said: 550 5.1.1
    <ghost@receiver.test>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: rfc822; ghost@receiver.test
Original-Recipient: rfc822;ghost@receiver.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 550 5.1.1 <ghost@receiver.test>: Recipient address
    rejected: User unknown in virtual mailbox table

Final-Recipient: rfc822; full@receiver.test
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.receiver.test
Diagnostic-Code: smtp; 552 5.2.2 <full@receiver.test>: Mailbox full, quota exceeded

--B1
Content-Type: message/rfc822

From: alice@sender.test
To: ghost@receiver.test, full@receiver.test
Subject: hello
Message-ID: <send-42@sender.test>

hi
--B1--
"""

EXIM_TEXT = b"""Return-path: <>
From: Mail Delivery System <Mailer-Daemon@relay.sender.test>
To: alice@sender.test
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: nobody@receiver.test
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  nobody@receiver.test
    host mx.receiver.test [203.0.113.5]
    SMTP error from remote mail server after RCPT TO:<nobody@receiver.test>:
    550 5.1.1 No such user here

------ This is a copy of the message, including all the headers. ------

Return-path: <alice@sender.test>
From: alice@sender.test
To: nobody@receiver.test
Subject: hi
Message-Id: <exim-original-1@sender.test>

hi
"""

QMAIL_TEXT = b"""Return-Path: <>
From: MAILER-DAEMON@qmail.sender.test
To: alice@sender.test
Subject: failure notice

Hi. This is the qmail-send program at qmail.sender.test.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<someone@no-such-domain.test>:
Sorry, I couldn't find any host named no-such-domain.test. (#5.1.2)

--- Below this line is a copy of the message.

Return-Path: <alice@sender.test>
Message-ID: <qmail-orig-7@sender.test>
From: alice@sender.test
To: someone@no-such-domain.test
Subject: hi

hi
"""

EXCHANGE_NDR = b"""From: System Administrator <postmaster@corp.test>
To: alice@sender.test
Subject: Undeliverable: quarterly numbers
Content-Type: text/plain; charset=us-ascii

Your message

  To:      bob@corp.test
  Subject: quarterly numbers

did not reach the following recipient(s):

bob@corp.test on Mon, 1 Jan 2024 10:00:00 +0000
    The recipient name is not recognized
"""

GMAIL_TEXT = b"""From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: alice@sender.test
Subject: Delivery Status Notification (Failure)
X-Failed-Recipients: carol@receiver.test
Content-Type: text/plain; charset=ISO-8859-1

Delivery to the following recipient failed permanently:

     carol@receiver.test

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for the recipient
domain receiver.test by mx.receiver.test. [192.0.2.9].

The error that the other server returned was:
550 5.7.1 Service unavailable; client host blocked using a DNSBL

----- Original message -----

Message-ID: <gmail-orig@sender.test>
From: alice@sender.test
To: carol@receiver.test
"""

MAILBOX_FULL_SOFT = b"""From: MAILER-DAEMON@mx.sender.test
To: alice@sender.test
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="Z"

--Z
Content-Type: text/plain

The original message could not be delivered.

--Z
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.sender.test

Final-Recipient: RFC822; dave@receiver.test
Action: failed
Status: 4.2.2
Diagnostic-Code: SMTP; 452 4.2.2 Mailbox over quota

--Z--
"""

OUT_OF_OFFICE = b"""From: Erin <erin@receiver.test>
To: alice@sender.test
Subject: Automatic reply: hello
Auto-Submitted: auto-replied
In-Reply-To: <send-43@sender.test>

I am out of the office until Monday.
"""

ARF_REPORT = b"""From: feedback@isp.test
To: abuse@sender.test
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: isp-fbl/1.0
Version: 1
Original-Rcpt-To: frank@isp.test

--F
Content-Type: message/rfc822

From: alice@sender.test
To: frank@isp.test
Message-ID: <campaign-9@sender.test>
Subject: offer

buy
--F--
"""

NORMAL_REPLY = b"""From: Grace <grace@receiver.test>
To: alice@sender.test
Subject: Re: hello
In-Reply-To: <send-44@sender.test>
References: <send-44@sender.test>

Thanks, sounds good.
"""

GARBLED_MIME = b"""From: MAILER-DAEMON@mx.sender.test
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="never-closed"
Content-Transfer-Encoding: base64

--never-closed
Content-Type: message/delivery-status; charset=x-unknown-charset
Content-Transfer-Encoding: quoted-printable

Final-Recipient: rfc822; trunc@receiver.test
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 us=
"""
