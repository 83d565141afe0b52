"""The classifier on bounces written in the formats of real servers (see server_samples.py).

Each case lists what the classifier must report for the message: every failed
recipient as (address, kind, reason, status), in the order the bounce gives
them, and the Message-ID of the returned original where the format returns it.
"""

from __future__ import annotations

import pytest

from mailroom.bounce.classifier import classify_message, dsn, vendors

from . import gateway_samples as g
from . import server_samples as s

Expected = list[tuple[str, str, str, str | None]]


def _case(name: str, raw: bytes, expected: Expected, message_id: str | None) -> object:
    return pytest.param(raw, expected, message_id, id=name)


CASES = [
    # --- Postfix ---
    _case(
        "postfix-user-unknown",
        s.POSTFIX_USER_UNKNOWN,
        [("ghost@receiver.test", "hard", "userunknown", "5.1.1")],
        "<pf-unknown-1@sender.test>",
    ),
    _case(
        "postfix-mailbox-full-lmtp",
        s.POSTFIX_MAILBOX_FULL_LMTP,
        [("carol@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<pf-full-2@sender.test>",
    ),
    _case(
        "postfix-host-not-found",
        s.POSTFIX_HOST_NOT_FOUND,
        [("dan@no-such-domain.test", "hard", "hostunknown", "5.4.4")],
        "<pf-host-3@sender.test>",
    ),
    _case(
        "postfix-expired-timeout",
        s.POSTFIX_EXPIRED,
        [("erin@slow.receiver.test", "soft", "expired", "4.4.1")],
        "<pf-expired-4@sender.test>",
    ),
    _case(
        "postfix-spam-after-data",
        s.POSTFIX_SPAM_AFTER_DATA,
        [("frank@receiver.test", "soft", "spamdetected", "5.7.1")],
        "<pf-spam-5@sender.test>",
    ),
    _case(
        "postfix-relay-denied",
        s.POSTFIX_RELAY_DENIED,
        [("gina@elsewhere.test", "soft", "norelaying", "5.7.1")],
        "<pf-relay-6@sender.test>",
    ),
    _case(
        "postfix-too-big-two-recipients",
        s.POSTFIX_TOO_BIG_TWO_RECIPIENTS,
        [
            ("hal@receiver.test", "soft", "mesgtoobig", "5.3.4"),
            ("ivy@receiver.test", "soft", "mesgtoobig", "5.3.4"),
        ],
        "<pf-big-7@sender.test>",
    ),
    _case(
        "postfix-old-two-recipients",
        s.POSTFIX_OLD_TWO_RECIPIENTS,
        [
            ("jack@receiver.test", "hard", "userunknown", "5.1.1"),
            ("kate@receiver.test", "soft", "mailboxfull", "4.2.2"),
        ],
        "<pf-old-8@sender.test>",
    ),
    _case(
        "postfix-local-unknown-user",
        s.POSTFIX_LOCAL_UNKNOWN_USER,
        [("olaf@mx.sender.test", "hard", "userunknown", "5.1.1")],
        "<pf-local-67@sender.test>",
    ),
    _case(
        "postfix-mail-loop",
        s.POSTFIX_MAIL_LOOP,
        [("rex@loop.receiver.test", "soft", "networkerror", "5.4.6")],
        "<pf-loop-69@sender.test>",
    ),
    _case(
        "postfix-expired-connection-refused",
        s.POSTFIX_EXPIRED_CONNECTION_REFUSED,
        [("ron@closed.receiver.test", "soft", "expired", "4.4.1")],
        "<pf-refused-80@sender.test>",
    ),
    # --- Exim ---
    _case(
        "exim-old-two-recipients",
        s.EXIM_OLD_TWO_RECIPIENTS,
        [
            ("leo@receiver.test", "hard", "userunknown", "5.1.1"),
            ("mia@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<exim-old-9@sender.test>",
    ),
    _case(
        "exim-dsn-user-unknown",
        s.EXIM_DSN_USER_UNKNOWN,
        [("nora@receiver.test", "hard", "userunknown", "5.1.1")],
        "<exim-dsn-10@sender.test>",
    ),
    _case(
        "exim-spam-after-data",
        s.EXIM_SPAM_AFTER_DATA,
        [("oscar@receiver.test", "soft", "spamdetected", "5.7.1")],
        "<exim-spam-11@sender.test>",
    ),
    _case(
        "exim-retry-timeout",
        s.EXIM_RETRY_TIMEOUT,
        [("paul@down.receiver.test", "soft", "expired", "5.0.0")],
        "<exim-retry-12@sender.test>",
    ),
    _case(
        "exim-too-big-at-mail-from",
        s.EXIM_TOO_BIG,
        [("quinn@receiver.test", "soft", "mesgtoobig", "5.3.4")],
        "<exim-big-13@sender.test>",
    ),
    _case(
        "exim3-user-unknown",
        s.EXIM3_USER_UNKNOWN,
        [("rose@receiver.test", "hard", "userunknown", "5.0.0")],
        "<exim3-14@sender.test>",
    ),
    _case(
        "exim-local-quota-via-alias",
        s.EXIM_LOCAL_QUOTA,
        [("save@receiver.test", "soft", "mailboxfull", "5.0.0")],
        "<exim-quota-71@sender.test>",
    ),
    _case(
        "exim-dsn-two-recipients-one-without-diagnostic",
        s.EXIM_DSN_TWO_RECIPIENTS,
        [
            ("zack@receiver.test", "hard", "userunknown", "5.1.1"),
            ("abel@down.receiver.test", "soft", "expired", "5.0.0"),
        ],
        "<exim-dsn-77@sender.test>",
    ),
    _case(
        "exim-retry-time-not-reached",
        s.EXIM_RETRY_TIME_NOT_REACHED,
        [("pam@down.receiver.test", "soft", "expired", "5.0.0")],
        "<exim-retry-79@sender.test>",
    ),
    # --- Sendmail ---
    _case(
        "sendmail-user-unknown",
        s.SENDMAIL_USER_UNKNOWN,
        [("sam@receiver.test", "hard", "userunknown", "5.1.1")],
        "<sm-unknown-15@sender.test>",
    ),
    _case(
        "sendmail-host-unknown",
        s.SENDMAIL_HOST_UNKNOWN,
        [("tom@nx.receiver.test", "hard", "hostunknown", "5.1.2")],
        "<sm-host-16@sender.test>",
    ),
    _case(
        "sendmail-expired",
        s.SENDMAIL_EXPIRED,
        [("uma@slow.receiver.test", "soft", "expired", "4.4.7")],
        "<sm-expired-17@sender.test>",
    ),
    _case(
        "sendmail-relay-denied-and-mailbox-full",
        s.SENDMAIL_RELAY_DENIED_AND_FULL,
        [
            ("vic@other.test", "soft", "norelaying", "5.7.1"),
            ("wes@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<sm-multi-18@sender.test>",
    ),
    _case(
        "sendmail-v5-user-unknown",
        s.SENDMAIL_V5_USER_UNKNOWN,
        [("yuri@receiver.test", "hard", "userunknown", "5.0.0")],
        "<sm5-19@sender.test>",
    ),
    _case(
        "sendmail-local-mailer-exit-status",
        s.SENDMAIL_LOCAL_MAILER_FAILED,
        [("pete@mail.sender.test", "soft", "systemerror", "5.3.0")],
        "<sm-mailer-68@sender.test>",
    ),
    _case(
        "sendmail-text-only-relay-denied",
        s.SENDMAIL_TEXT_ONLY,
        [("tina@receiver.test", "soft", "norelaying", "5.7.1")],
        "<sm-text-72@sender.test>",
    ),
    # --- qmail, netqmail, vpopmail ---
    _case(
        "qmail-remote-user-unknown",
        s.QMAIL_REMOTE_USER_UNKNOWN,
        [("zed@receiver.test", "hard", "userunknown", "5.1.1")],
        "<qmail-20@sender.test>",
    ),
    _case(
        "qmail-local-no-mailbox",
        s.QMAIL_LOCAL_NO_MAILBOX,
        [("amy@qmail.receiver.test", "hard", "userunknown", "5.1.1")],
        "<qmail-21@sender.test>",
    ),
    _case(
        "qmail-queue-too-long",
        s.QMAIL_QUEUE_TOO_LONG,
        [("ben@slow.receiver.test", "soft", "expired", "4.4.1")],
        "<qmail-22@sender.test>",
    ),
    _case(
        "qmail-spam-after-data",
        s.QMAIL_SPAM_AFTER_DATA,
        [("cat@receiver.test", "soft", "spamdetected", "5.7.1")],
        "<qmail-23@sender.test>",
    ),
    _case(
        "qmail-user-unknown-and-host-not-found",
        s.QMAIL_TWO_RECIPIENTS,
        [
            ("dee@receiver.test", "hard", "userunknown", "5.1.1"),
            ("eli@nowhere.receiver.test", "hard", "hostunknown", "5.1.2"),
        ],
        "<qmail-24@sender.test>",
    ),
    _case(
        "qmail-sender-rejected",
        s.QMAIL_SENDER_REJECTED,
        [("sue@receiver.test", "soft", "rejected", "5.7.1")],
        "<qmail-70@sender.test>",
    ),
    _case(
        "vpopmail-over-quota",
        s.VPOPMAIL_OVER_QUOTA,
        [("fay@vpop.receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<qmail-25@sender.test>",
    ),
    # --- Courier ---
    _case(
        "courier-user-unknown",
        s.COURIER_USER_UNKNOWN,
        [("gus@receiver.test", "hard", "userunknown", "5.1.1")],
        "<courier-26@sender.test>",
    ),
    _case(
        "courier-mailbox-full",
        s.COURIER_MAILBOX_FULL,
        [("hana@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<courier-27@sender.test>",
    ),
    # --- OpenSMTPD ---
    _case(
        "opensmtpd-user-unknown",
        s.OPENSMTPD_USER_UNKNOWN,
        [("ivan@receiver.test", "hard", "userunknown", "5.1.1")],
        "<smtpd-28@sender.test>",
    ),
    _case(
        "opensmtpd-mailbox-full-and-relay-denied",
        s.OPENSMTPD_TWO_RECIPIENTS,
        [
            ("jay@receiver.test", "soft", "mailboxfull", "5.2.2"),
            ("kim@other.test", "soft", "norelaying", "5.7.1"),
        ],
        "<smtpd-29@sender.test>",
    ),
    _case(
        "opensmtpd-dsn-replies-only-in-notice",
        s.OPENSMTPD_DSN_TWO_RECIPIENTS,
        [
            ("lena@receiver.test", "hard", "userunknown", "5.1.1"),
            ("mark@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<smtpd-81@sender.test>",
    ),
    # --- DragonFly Mail Agent ---
    _case(
        "dma-user-unknown",
        s.DMA_USER_UNKNOWN,
        [("lou@receiver.test", "hard", "userunknown", "5.1.1")],
        "<dma-30@sender.test>",
    ),
    _case(
        "dma-expired",
        s.DMA_EXPIRED,
        [("max@slow.receiver.test", "soft", "expired", "5.0.0")],
        "<dma-31@sender.test>",
    ),
    # --- Microsoft Exchange, Office 365, Outlook.com ---
    _case(
        "exchange2010-dsn-user-unknown",
        s.EXCHANGE2010_DSN_USER_UNKNOWN,
        [("bob@corp.test", "hard", "userunknown", "5.1.1")],
        "<ex2010-32@sender.test>",
    ),
    _case(
        "exchange2010-text-remote-blocked",
        s.EXCHANGE2010_TEXT_REMOTE_BLOCKED,
        [("carl@receiver.test", "soft", "blocked", "5.7.1")],
        "<ex2010-33@corp.test>",
    ),
    _case(
        "exchange2007-text-two-recipients",
        s.EXCHANGE2007_TEXT_USER_UNKNOWN,
        [
            ("ulla@corp.test", "hard", "userunknown", "5.1.1"),
            ("vince@corp.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<ex2007-73@corp.test>",
    ),
    _case(
        "exchange2007-sp1-text",
        s.EXCHANGE2007_SP1_TEXT,
        [("xena@receiver.test", "hard", "userunknown", "5.1.1")],
        "<ex2007sp1-75@corp.test>",
    ),
    _case(
        "exchange2003-two-recipients",
        s.EXCHANGE2003_TWO_RECIPIENTS,
        [
            ("dora@corp.test", "hard", "userunknown", "5.1.1"),
            ("ed@corp.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<ex2003-34@corp.test>",
    ),
    _case(
        "exchange2003-display-name-only",
        s.EXCHANGE2003_DISPLAY_NAME,
        [("walter@receiver.test", "soft", "rejected", "5.7.1")],
        "<ex2003-74@corp.test>",
    ),
    _case(
        "office365-mailbox-full",
        s.OFFICE365_MAILBOX_FULL,
        [("full@contoso.test", "soft", "mailboxfull", "5.2.2")],
        "<o365-35@sender.test>",
    ),
    _case(
        "office365-expired",
        s.OFFICE365_EXPIRED,
        [("gil@slow.receiver.test", "soft", "expired", "4.4.7")],
        "<o365-36@contoso.test>",
    ),
    _case(
        "office365-ip-blocked",
        s.OFFICE365_IP_BLOCKED,
        [("hugo@receiver.test", "soft", "blocked", "5.7.708")],
        "<o365-37@contoso.test>",
    ),
    _case(
        "office365-text-recipient-not-found",
        s.OFFICE365_TEXT_NOT_FOUND,
        [("yves@receiver.test", "hard", "userunknown", "5.1.10")],
        "<o365-76@contoso.test>",
    ),
    _case(
        "outlook-com-mailbox-unavailable",
        s.OUTLOOK_COM_MAILBOX_UNAVAILABLE,
        [("jill@receiver.test", "hard", "userunknown", "5.5.0")],
        "<hotmail-38@outlook.test>",
    ),
    # --- Gmail / Google Workspace ---
    _case(
        "gmail-address-not-found",
        s.GMAIL_ADDRESS_NOT_FOUND,
        [("kent@receiver.test", "hard", "userunknown", "5.1.1")],
        "<gmail-39@mail.gmail.test>",
    ),
    _case(
        "gmail-message-not-delivered-timeout",
        s.GMAIL_MESSAGE_NOT_DELIVERED_TIMEOUT,
        [("lara@slow.receiver.test", "soft", "expired", "4.4.1")],
        "<gmail-40@mail.gmail.test>",
    ),
    _case(
        "gmail-old-domain-not-found",
        s.GMAIL_OLD_DOMAIN_NOT_FOUND,
        [("milo@nx.receiver.test", "hard", "hostunknown", "5.0.0")],
        "<gmail-41@mail.gmail.test>",
    ),
    _case(
        "gmail-old-remote-mailbox-full",
        s.GMAIL_OLD_REMOTE_MAILBOX_FULL,
        [("nina@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<gmail-42@mail.gmail.test>",
    ),
    _case(
        "gmail-two-recipients",
        s.GMAIL_TWO_RECIPIENTS,
        [
            ("bart@receiver.test", "soft", "mailboxfull", "5.2.2"),
            ("cleo@receiver.test", "hard", "userunknown", "5.1.1"),
        ],
        "<gmail-78@mail.gmail.test>",
    ),
    # --- Yahoo, AOL ---
    _case(
        "yahoo-user-unknown",
        s.YAHOO_USER_UNKNOWN,
        [("oleg@receiver.test", "hard", "userunknown", "5.1.1")],
        "<yahoo-43@mail.yahoo.test>",
    ),
    _case(
        "yahoo-spam-at-data",
        s.YAHOO_SPAM_AT_DATA,
        [("pia@receiver.test", "soft", "spamdetected", "5.7.1")],
        "<yahoo-44@mail.yahoo.test>",
    ),
    _case(
        "aol-mailbox-full",
        s.AOL_MAILBOX_FULL,
        [("quentin@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<aol-45@mail.aol.test>",
    ),
    # --- Lotus Notes / IBM and HCL Domino ---
    _case(
        "domino-not-listed",
        s.DOMINO_NOT_LISTED,
        [("ruth@domino.receiver.test", "hard", "userunknown", None)],
        "<domino-46@sender.test>",
    ),
    _case(
        "hcl-domino-dsn-mail-file-full",
        s.HCL_DOMINO_DSN,
        [("sara@notes.receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<hcl-47@sender.test>",
    ),
    # --- Amazon SES, Amazon WorkMail ---
    _case(
        "ses-email-user-unknown",
        s.SES_EMAIL_USER_UNKNOWN,
        [("tess@receiver.test", "hard", "userunknown", "5.1.1")],
        "<0100018f5e6a7b8c-ses-48@email.amazonses.com>",
    ),
    _case(
        "ses-sns-json-two-recipients",
        s.SES_SNS_JSON_TWO_RECIPIENTS,
        [
            ("uri@receiver.test", "hard", "userunknown", "5.1.1"),
            ("val@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<ses-json-49@sender.test>",
    ),
    _case(
        "workmail-mailbox-disabled",
        s.WORKMAIL_MAILBOX_DISABLED,
        [("walt@receiver.test", "soft", "suspend", "5.2.1")],
        "<workmail-50@workmail.sender.test>",
    ),
    # --- SendGrid, PowerMTA, Postmark ---
    _case(
        "sendgrid-user-unknown",
        s.SENDGRID_USER_UNKNOWN,
        [("xavier@receiver.test", "hard", "userunknown", "5.1.1")],
        "<sendgrid-51@em.sender.test>",
    ),
    _case(
        "powermta-blocked",
        s.POWERMTA_BLOCKED,
        [("yara@receiver.test", "soft", "blocked", "5.7.1")],
        "<pmta-52@sender.test>",
    ),
    _case(
        "postmark-dmarc",
        s.POSTMARK_DMARC,
        [("zane@receiver.test", "soft", "authfailure", "5.7.1")],
        "<postmark-53@sender.test>",
    ),
    # --- MessageLabs, Trend Micro, McAfee, Barracuda, Mimecast ---
    _case(
        "messagelabs-fields-before-final-recipient",
        s.MESSAGELABS_USER_UNKNOWN,
        [("abe@receiver.test", "hard", "userunknown", "5.1.1")],
        "<mlabs-54@sender.test>",
    ),
    _case(
        "trendmicro-interscan",
        s.TRENDMICRO_USER_UNKNOWN,
        [("bea@receiver.test", "hard", "userunknown", "5.1.1")],
        "<trend-55@sender.test>",
    ),
    _case(
        "mcafee-user-unknown",
        s.MCAFEE_USER_UNKNOWN,
        [("cy@receiver.test", "hard", "userunknown", "5.1.1")],
        "<mcafee-56@sender.test>",
    ),
    _case(
        "barracuda-blocked",
        s.BARRACUDA_BLOCKED,
        [("dina@receiver.test", "soft", "blocked", "5.7.1")],
        "<barracuda-57@sender.test>",
    ),
    _case(
        "mimecast-user-unknown",
        s.MIMECAST_USER_UNKNOWN,
        [("eddie@receiver.test", "hard", "userunknown", "5.1.1")],
        "<mimecast-58@sender.test>",
    ),
    # --- Zoho, Mail.ru, GMX/1&1, KDDI au, NTT docomo, Biglobe ---
    _case(
        "zoho-user-unknown",
        s.ZOHO_USER_UNKNOWN,
        [("fred@receiver.test", "hard", "userunknown", "5.1.1")],
        "<zoho-59@zoho.test>",
    ),
    _case(
        "zoho-mailbox-full",
        s.ZOHO_MAILBOX_FULL,
        [("gwen@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<zoho-60@zoho.test>",
    ),
    _case(
        "mailru-mailbox-full",
        s.MAILRU_MAILBOX_FULL,
        [("hans@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<mailru-61@mail.test>",
    ),
    _case(
        "gmx-user-unknown",
        s.GMX_USER_UNKNOWN,
        [("ines@receiver.test", "hard", "userunknown", "5.1.1")],
        "<gmx-62@gmx.test>",
    ),
    _case(
        "1und1-mailbox-full",
        s.ONE_AND_ONE_MAILBOX_FULL,
        [("jens@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<oneandone-63@1und1.test>",
    ),
    _case(
        "kddi-mailbox-full",
        s.KDDI_MAILBOX_FULL,
        [("kaito-0001@ezweb.ne.jp", "soft", "mailboxfull", None)],
        "<kddi-64@sender.test>",
    ),
    _case(
        "docomo-user-unknown-at-rcpt",
        s.DOCOMO_USER_UNKNOWN,
        [("nonexistent-0002@docomo.ne.jp", "hard", "userunknown", "5.1.1")],
        "<docomo-65@sender.test>",
    ),
    _case(
        "biglobe-mailbox-full",
        s.BIGLOBE_MAILBOX_FULL,
        [("nonexistent-0003@biglobe.ne.jp", "soft", "mailboxfull", None)],
        "<biglobe-66@sender.test>",
    ),
    # --- Mailing-list managers ---
    _case(
        "mailman-non-member",
        s.MAILMAN_NON_MEMBER,
        [("staff@lists.receiver.test", "soft", "rejected", None)],
        None,
    ),
    _case(
        "google-groups-no-permission",
        s.GOOGLE_GROUPS_NO_PERMISSION,
        [("team@googlegroups.test", "soft", "rejected", None)],
        None,
    ),
    # --- Content filters and security gateways ---
    _case(
        "amavis-dsn-spam",
        g.AMAVIS_SPAM,
        [("bob@receiver.test", "soft", "spamdetected", "5.7.0")],
        "<amavis-101@sender.test>",
    ),
    _case(
        "amavis-dsn-virus-two-recipients",
        g.AMAVIS_VIRUS_TWO_RECIPIENTS,
        [
            ("bob@receiver.test", "soft", "virusdetected", "5.7.0"),
            ("carla@receiver.test", "soft", "virusdetected", "5.7.0"),
        ],
        "<amavis-102@sender.test>",
    ),
    _case(
        "trendmicro-interscan-two-recipients",
        g.TRENDMICRO_TWO_RECIPIENTS,
        [
            ("dave@receiver.test", "hard", "userunknown", "5.1.1"),
            ("fran@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<trend-103@sender.test>",
    ),
    _case(
        "mcafee-two-recipients",
        g.MCAFEE_TWO_RECIPIENTS,
        [
            ("gail@receiver.test", "soft", "mailboxfull", "5.2.2"),
            ("hank@receiver.test", "hard", "userunknown", "5.1.1"),
        ],
        "<mcafee-104@sender.test>",
    ),
    _case(
        "mxlogic-exim-user-unknown",
        g.MXLOGIC_USER_UNKNOWN,
        [("ivan@receiver.test", "hard", "userunknown", "5.1.1")],
        "<mxlogic-105@sender.test>",
    ),
    _case(
        "mailmarshal-reason-before-recipients",
        g.MAILMARSHAL_USER_UNKNOWN,
        [("jon@receiver.test", "hard", "userunknown", "5.1.1")],
        "<marshal-106@sender.test>",
    ),
    _case(
        "ironport-relay-summary-and-reply",
        g.IRONPORT_USER_UNKNOWN,
        [("kurt@receiver.test", "hard", "userunknown", "5.1.1")],
        "<ironport-107@sender.test>",
    ),
    _case(
        "ironport-delivery-expired",
        g.IRONPORT_EXPIRED,
        [("lisa@slow.receiver.test", "soft", "expired", "5.4.7")],
        "<ironport-108@sender.test>",
    ),
    _case(
        "proofpoint-sendmail-recipient-not-found",
        g.PROOFPOINT_RECIPIENT_NOT_FOUND,
        [("mona@corp.receiver.test", "hard", "userunknown", "5.1.10")],
        "<proofpoint-109@sender.test>",
    ),
    # --- Less common mail servers ---
    _case(
        "hmailserver-user-unknown",
        g.HMAILSERVER_USER_UNKNOWN,
        [("nick@receiver.test", "hard", "userunknown", "5.1.1")],
        None,
    ),
    _case(
        "hmailserver-inbox-full-and-relay-denied",
        g.HMAILSERVER_TWO_RECIPIENTS,
        [
            ("olga@hmail.sender.test", "soft", "mailboxfull", None),
            ("pavel@elsewhere.test", "soft", "norelaying", "5.7.1"),
        ],
        None,
    ),
    _case(
        "james-dsn-two-recipients",
        g.JAMES_DSN_TWO_RECIPIENTS,
        [
            ("omar@receiver.test", "hard", "userunknown", "5.1.1"),
            ("pia@receiver.test", "hard", "userunknown", "5.1.1"),
        ],
        "<james-112@sender.test>",
    ),
    _case(
        "james-dsn-reply-text-in-status",
        g.JAMES_DSN_COMCAST_BLOCKED,
        [("quinn@comcast.test", "soft", "blocked", "5.0.0")],
        "<james-113@sender.test>",
    ),
    _case(
        "james2-addresses-then-one-error",
        g.JAMES2_TWO_RECIPIENTS,
        [
            ("rita@receiver.test", "soft", "mailboxfull", "5.2.2"),
            ("sam@receiver.test", "soft", "mailboxfull", "5.2.2"),
        ],
        "<james-114@sender.test>",
    ),
    _case(
        "sun-messaging-server-user-unknown",
        g.SUN_MESSAGING_USER_UNKNOWN,
        [("tara@receiver.test", "hard", "userunknown", "5.1.1")],
        "<sunms-115@sender.test>",
    ),
    _case(
        "sun-messaging-server-host-unknown",
        g.SUN_MESSAGING_HOST_UNKNOWN,
        [("ugo@nx.receiver.test", "hard", "hostunknown", "5.1.2")],
        "<sunms-116@sender.test>",
    ),
    _case(
        "mdaemon-session-transcript",
        g.MDAEMON_USER_UNKNOWN,
        [("vera@receiver.test", "hard", "userunknown", "5.1.1")],
        "<mdaemon-117@sender.test>",
    ),
    _case(
        "imail-unknown-user",
        g.IMAIL_UNKNOWN_USER,
        [("walt@imail.receiver.test", "hard", "userunknown", None)],
        "<imail-118@sender.test>",
    ),
    _case(
        "communigate-smtp-module-reports",
        g.COMMUNIGATE_USER_UNKNOWN,
        [("xena@receiver.test", "hard", "userunknown", "5.1.1")],
        None,
    ),
    _case(
        "notes-r5-not-listed",
        g.DOMINO_OLD_NOT_LISTED,
        [("yann@notes.receiver.test", "hard", "userunknown", None)],
        None,
    ),
    _case(
        "notes-r5-delivery-time-expired",
        g.DOMINO_OLD_EXPIRED,
        [("emil@slow.receiver.test", "soft", "expired", None)],
        None,
    ),
    _case(
        "exchange2000-iis-dsn-failed",
        g.IIS_SMTP_FAILED,
        [("zoe@receiver.test", "hard", "userunknown", "5.1.1")],
        "<iis-120@corp.test>",
    ),
    _case(
        "exchange2000-iis-dsn-delayed",
        g.IIS_SMTP_DELAYED,
        [("abby@slow.receiver.test", "soft", "expired", "4.4.7")],
        "<iis-121@corp.test>",
    ),
    _case(
        "exchange2003-relay-denied-and-expired",
        g.EXCHANGE2003_RELAY_AND_EXPIRED,
        [
            ("ben@other.test", "soft", "norelaying", "5.7.1"),
            ("cody@slow.receiver.test", "soft", "expired", "4.4.7"),
        ],
        "<ex2003-122@corp.test>",
    ),
    _case(
        "exchange2003-domain-not-in-dns",
        g.EXCHANGE2003_DNS_NOT_FOUND,
        [("dirk@nx.receiver.test", "hard", "hostunknown", "5.4.0")],
        "<ex2003-139@corp.test>",
    ),
    _case(
        "exim-barracuda-reputation-block",
        g.EXIM_BARRACUDA_REPUTATION,
        [("finn@receiver.test", "soft", "blocked", "5.0.0")],
        "<exim-140@sender.test>",
    ),
    # --- Providers ---
    _case(
        "yahoo-old-qmail-user-unknown",
        g.YAHOO_OLD_USER_UNKNOWN,
        [("dina@receiver.test", "hard", "userunknown", "5.1.1")],
        "<yahoo-123@mail.yahoo.test>",
    ),
    _case(
        "yahoo-old-over-quota",
        g.YAHOO_OLD_OVER_QUOTA,
        [("erik@yahoo.test", "soft", "mailboxfull", None)],
        "<yahoo-124@mail.yahoo.test>",
    ),
    _case(
        "hotmail-sc001-network-blocked",
        g.HOTMAIL_SC001_BLOCKED,
        [("fred@hotmail.test", "soft", "blocked", "5.0.0")],
        "<hotmail-125@sender.test>",
    ),
    _case(
        "mailru-user-not-found",
        g.MAILRU_USER_NOT_FOUND,
        [("gleb@mail.test", "hard", "userunknown", "5.0.0")],
        "<mailru-126@sender.test>",
    ),
    _case(
        "qq-mailbox-not-found",
        g.QQ_MAILBOX_NOT_FOUND,
        [("10001234@qq.test", "hard", "userunknown", "5.0.0")],
        "<qq-127@sender.test>",
    ),
    _case(
        "netease-dt-spm",
        g.NETEASE_SPAM,
        [("hui@163.test", "soft", "spamdetected", "5.0.0")],
        "<netease-128@sender.test>",
    ),
    _case(
        "verizon-unknown-or-illegal-alias",
        g.VERIZON_ILLEGAL_ALIAS,
        [("ian@verizon.test", "hard", "userunknown", "5.1.1")],
        "<verizon-129@sender.test>",
    ),
    _case(
        "aol-mailbox-not-found",
        g.AOL_MAILBOX_NOT_FOUND,
        [("jade@aol.test", "hard", "userunknown", "5.2.0")],
        "<aol-130@sender.test>",
    ),
    _case(
        "yandex-mailbox-full",
        g.YANDEX_MAILBOX_FULL,
        [("kira@receiver.test", "soft", "mailboxfull", "5.2.2")],
        "<yandex-131@yandex.test>",
    ),
    # --- Japanese carriers and ISPs ---
    _case(
        "docomo-reception-settings-refused",
        g.DOCOMO_RECEPTION_REFUSED,
        [("filtered-0004@docomo.ne.jp", "soft", "rejected", "5.2.0")],
        "<docomo-132@sender.test>",
    ),
    _case(
        "japanese-postfix-iso-2022-jp-notice",
        g.JP_POSTFIX_ISO2022JP_NOTICE,
        [("mika@receiver.test", "hard", "userunknown", "5.1.1")],
        "<jpisp-133@isp.test>",
    ),
    # --- Mailing-list managers ---
    _case(
        "mailman2-non-member-rejected",
        g.MAILMAN2_NON_MEMBER_REJECTED,
        [("staff@lists.receiver.test", "soft", "rejected", None)],
        "<mailman2-134@sender.test>",
    ),
    _case(
        "mailman3-non-member-rejected",
        g.MAILMAN3_NON_MEMBER_REJECTED,
        [("team@lists.receiver.test", "soft", "rejected", None)],
        "<mailman3-135@sender.test>",
    ),
    _case(
        "ezmlm-subscribers-only",
        g.EZMLM_SUBSCRIBERS_ONLY,
        [("devel@lists.receiver.test", "soft", "rejected", "5.7.2")],
        "<ezmlm-136@sender.test>",
    ),
    _case(
        "sympa-unknown-list",
        g.SYMPA_UNKNOWN_LIST,
        [("nolist@lists.receiver.test", "hard", "userunknown", "5.1.1")],
        "<sympa-137@sender.test>",
    ),
    _case(
        "sympa-too-large",
        g.SYMPA_TOO_LARGE,
        [("staff@lists.receiver.test", "soft", "mesgtoobig", "5.2.3")],
        "<sympa-138@sender.test>",
    ),
]


@pytest.mark.parametrize(("raw", "expected", "message_id"), CASES)
def test_server_format(raw: bytes, expected: Expected, message_id: str | None) -> None:
    result = classify_message(raw)

    assert result.is_bounce and result.category == "bounce"
    found = [(r.recipient, r.kind, r.reason, r.status) for r in result.recipients]
    assert found == expected
    assert result.original_message_id == message_id


def test_each_mention_of_a_recipient_brings_its_own_lines() -> None:
    # Exchange names every recipient twice: for people, then for administrators.
    section = (
        "Delivery has failed to these recipients or groups:\n\n"
        "a@receiver.test\nThe e-mail address you entered couldn't be found.\n\n"
        "b@receiver.test\nThe recipient's mailbox is full.\n\n"
        "Diagnostic information for administrators:\n\n"
        "a@receiver.test\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n\n"
        "b@receiver.test\n#550 5.2.2 STOREDRV.Deliver; recipient mailbox is full ##\n"
    )

    a, b = vendors.find_failures(section, set())

    assert "5.1.1" in a.diagnostic and "5.2.2" not in a.diagnostic
    assert "5.2.2" in b.diagnostic and "5.1.1" not in b.diagnostic


def test_a_quoted_message_id_is_not_a_recipient() -> None:
    section = "ghost@receiver.test: 550 5.1.1 unknown\nMessage-ID: <id-1@sender.test>\n"

    failures = vendors.find_failures(section, set())

    assert [failure.recipient for failure in failures] == ["ghost@receiver.test"]


def test_fields_before_final_recipient_belong_to_that_recipient() -> None:
    block = [
        ("action", "failed"),
        ("status", "5.1.1"),
        ("diagnostic-code", "smtp; 550 5.1.1 unknown"),
        ("final-recipient", "rfc822; ghost@receiver.test"),
    ]

    [record] = dsn.records_from_blocks([block])

    assert (record.recipient, record.action, record.status, record.diagnostic) == (
        "ghost@receiver.test",
        "failed",
        "5.1.1",
        "550 5.1.1 unknown",
    )


def test_a_status_field_holding_the_reply_is_not_read_inside_an_ip_address() -> None:
    assert dsn.normalise_status("554 mx.receiver.test 192.0.2.20 listed") is None
    assert dsn.normalise_status("550 Access denied (See RFC2821 4.1.1.1)") is None
    assert dsn.normalise_status("5.1.1 (user unknown)") == "5.1.1"


def test_a_message_id_quoted_inside_a_line_is_not_a_recipient() -> None:
    section = (
        " 16:00:03: *  Message-ID: <id-2@sender.test>\n"
        " 16:00:04: --> RCPT To:<ghost@receiver.test>\n"
        " 16:00:04: <-- 550 5.1.1 unknown\n"
    )

    failures = vendors.find_failures(section, set())

    assert [failure.recipient for failure in failures] == ["ghost@receiver.test"]


def test_addresses_listed_before_one_explanation_share_it() -> None:
    section = "a@receiver.test\nb@receiver.test\nRemote mail server told me: 552 5.2.2 full\n"

    a, b = vendors.find_failures(section, set())

    assert "5.2.2" in a.diagnostic and "5.2.2" in b.diagnostic


def test_a_delimiter_in_any_language_above_quoted_fields_starts_the_original() -> None:
    notice = "配信できませんでした。\n\nbob@receiver.test\n\n"
    quoted = "----- 元のメッセージ -----\nMessage-ID: <id-3@sender.test>\nTo: bob@receiver.test\n"
    text = notice + quoted
    transcript = "----- Transcript of session follows -----\n>>> RCPT To:<bob@receiver.test>\n"

    assert vendors.error_section(text) == notice
    assert vendors.error_section(transcript) == transcript


def test_the_samples_cover_the_servers_named() -> None:
    assert len(CASES) >= 120


@pytest.mark.parametrize(
    ("notice", "rest"),
    [
        ("Your message could not be delivered.\n", "----- Original message -----\nhi\n"),
        ("", "----- Original message -----\nhi\n"),
        ("No such user\n", "Received: from x by y\n"),
        ("No such user\n  Received: from x\n", ""),  # indented: quoted text, not the copy
    ],
    ids=["after-notice", "first-line", "header-block", "not-a-line-start"],
)
def test_the_original_starts_at_the_line_that_introduces_it(notice: str, rest: str) -> None:
    assert vendors.error_section(notice + rest) == notice
