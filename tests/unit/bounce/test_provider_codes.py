"""Replies that carry the receiving provider's own error code, as each provider documents it.

Large providers append a code of their own (Cox `AUP#CXBL`, Comcast `BL000001`, AOL
`RTR:DU`, GoDaddy `IB212`) that names the failure more reliably than the sentence
around it, which is often a generic "blocked" or "try again later". Each case is a
reply worded as the provider's postmaster or help pages show it, with fictitious
addresses and IPs, and the reason of the open bounce taxonomy the documented meaning
stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mailroom.bounce.classifier import HARD_REASONS, classify_smtp_reply

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

RECIPIENT = "someone@example.test"


def _case(provider: str, code: int, text: str, reason: str, wording: str) -> ParameterSet:
    return pytest.param(code, text, reason, id=f"{provider}-{wording}")


# fmt: off
CASES = [
    # --- Cox: postmaster.cox.net "Error Codes" (Cox Postmaster Administration) ---
    _case("cox", 554,
          "cxr.mx.cox.net cmsmtp 192.0.2.1 blocked. Refer to Error Codes section at "
          "https://www.cox.com/internet/support/email-error-codes.html for more information. "
          "AUP#CXBL",
          "blocked", "cxbl-spam-like-behaviour"),
    _case("cox", 421,
          "cdptpa-mx.cox.net cmsmtp 192.0.2.1 blocked. Refer to Error Codes section for more "
          "information. AUP#CDRBL",
          "blocked", "cdrbl-temporary-block"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 is on the Spamhaus Zen DNSBL. AUP#IPBL0001",
          "blocked", "ipbl0001-spamhaus"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 is not accepted. Refer to Error Codes section for more "
          "information. AUP#IPBL0010",
          "blocked", "ipbl0010-return-path"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL0100",
          "blocked", "ipbl0100-ivmsip"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL0111",
          "blocked", "ipbl0111-three-lists"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL0011",
          "blocked", "ipbl0011-spamhaus-and-return-path"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL0101",
          "blocked", "ipbl0101-spamhaus-and-ivmsip"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL0110",
          "blocked", "ipbl0110-return-path-and-ivmsip"),
    _case("cox", 554,
          "cox.net cmsmtp 192.0.2.1 rejected. AUP#IPBL1000",
          "blocked", "ipbl1000-cloudmark"),
    _case("cox", 550,
          "<bounce@sender.test> sender rejected. Refer to Error Codes section at "
          "https://www.cox.com/internet/support/email-error-codes.html for more information. "
          "AUP#CXSNDR",
          "authfailure", "cxsndr-sender-authentication"),
    _case("cox", 421,
          "cmsmtp blocked. Refer to Error Codes section for more information. AUP#CXCNCT",
          "toomanyconn", "cxcnct-concurrent-connections"),
    # --- Comcast / Xfinity: postmaster.comcast.net "Mail delivery error codes" and
    # xfinity.com "Email errors" ---
    _case("comcast", 554,
          "resimta-ch2-01v.sys.comcast.net resimta-ch2-01v.sys.comcast.net 192.0.2.1 Comcast "
          "block for spam. Please see http://postmaster.comcast.net/smtp-error-codes.php#ES000001",
          "blocked", "es000001-own-residential"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 found on one or more DNSBLs, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#ES000010",
          "blocked", "es000010-external-residential"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected. Please see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000000",
          "blocked", "bl000000-spam-patterns"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 found on one or more DNSBLs, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
          "blocked", "bl000001-spamhaus"),
    _case("comcast", 550,
          "resimta-ch2-01v.sys.comcast.net 192.0.2.1 Comcast block for spam. Please see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
          "blocked", "bl000001-block-for-spam"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#ES000010",
          "blocked", "es000010-bare"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 found on one or more DNSBLs, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000010",
          "blocked", "bl000010-cloudmark"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 found on one or more DNSBLs, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000011",
          "blocked", "bl000011-spamhaus-and-cloudmark"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000100",
          "blocked", "bl000100-senderscore"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000101",
          "blocked", "bl000101-spamhaus-and-senderscore"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000110",
          "blocked", "bl000110-senderscore-and-cloudmark"),
    _case("comcast", 554,
          "resimta-po-01v.sys.comcast.net 192.0.2.1 rejected, see "
          "http://postmaster.comcast.net/smtp-error-codes.php#BL000111",
          "blocked", "bl000111-all-three-lists"),
    _case("comcast", 421,
          "resimta-po-01v.sys.comcast.net Too many sessions opened",
          "toomanyconn", "too-many-sessions"),
    _case("comcast", 421,
          "resimta-po-01v.sys.comcast.net Reverse DNS failure : Try again later",
          "requireptr", "reverse-dns-failure"),
    # --- AOL: postmaster.info.aol.com "Error Messages" (List of Errors) ---
    _case("aol", 554,
          "RTR:DU http://postmaster.info.aol.com/errors/554rtrdu.html",
          "blocked", "rtr-du-dynamic-residential"),
    _case("aol", 554,
          "- (RTR:BB) http://postmaster.info.aol.com/errors/554rtrbb.html",
          "blocked", "rtr-bb-dynamic-residential"),
    _case("aol", 554,
          "- (RTR:BG) http://postmaster.info.aol.com/errors/554rtrbg.html",
          "blocked", "rtr-bg-unallocated-ip"),
    _case("aol", 554,
          "- (RTR:RD) http://postmaster.info.aol.com/errors/554rtrrd.html",
          "blocked", "rtr-rd-dynamic-looking-rdns"),
    _case("aol", 554,
          "- (RTR:CH) http://postmaster.info.aol.com/errors/554rtrch.html",
          "blocked", "rtr-ch-compromised-network"),
    _case("aol", 554,
          "- (RLY:B1) http://postmaster.info.aol.com/errors/554rlyb1.html",
          "blocked", "rly-b1-complaint-block"),
    _case("aol", 421,
          "mtaig-maa01.mx.aol.com Service unavailable - try again later (RLY:B1) "
          "http://postmaster.info.aol.com/errors/421rlyb1.html",
          "blocked", "rly-b1-deferred"),
    _case("aol", 554,
          "- (RLY:SN) http://postmaster.info.aol.com/errors/554rlysn.html",
          "rejected", "rly-sn-disallowed-sender"),
    # --- Yahoo: help.yahoo.com "Receiving 421 4.7.1 [TS03]" (SLN3436), "4xx SMTP error
    # codes" (SLN26151) and postmaster.yahooinc.com "SMTP Error Codes" ---
    _case("yahoo", 421,
          "4.7.1 [TS03] All messages from 192.0.2.1 permanently deferred; Retrying will NOT "
          "succeed. See https://postmaster.yahooinc.com/error-codes",
          "blocked", "ts03-permanently-deferred"),
    _case("yahoo", 421,
          "4.7.0 [TS02] Messages from 192.0.2.1 temporarily deferred due to user complaints - "
          "4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
          "badreputation", "ts02-user-complaints"),
    _case("yahoo", 421,
          "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume "
          "or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
          "badreputation", "tss04-unexpected-volume"),
    _case("yahoo", 451,
          "mta1001.mail.gq1.yahoo.com Resources temporarily unavailable. Please try again later "
          "[#4.16.1].",
          "systemerror", "resources-temporarily-unavailable"),
    # --- GoDaddy (secureserver.net): GoDaddy Help "Fix rejected email with a bounce error" ---
    _case("godaddy", 421,
          "Server temporarily unavailable. Try again later. IB101",
          "systemerror", "ib101-queue-volume"),
    _case("godaddy", 421,
          "Temporarily rejected. Reverse DNS for this IP failed. IB108",
          "requireptr", "ib108-reverse-dns"),
    _case("godaddy", 552,
          "5.2.0 This message has been rejected due to content judged to be spam by the "
          "internet community IB212",
          "spamdetected", "ib212-content-spam"),
    _case("godaddy", 550,
          "sender.test From: Domain is invalid. Please provide a valid From: IB506",
          "rejected", "ib506-from-domain-invalid"),
    _case("godaddy", 550,
          "bounce@sender.test Invalid SPF record. Please inspect your SPF settings, and try "
          "again. IB508",
          "authfailure", "ib508-invalid-spf"),
    _case("godaddy", 452,
          "This message contains too many recipients. Please reduce the number of recipients "
          "and retry. IB605",
          "exceedlimit", "ib605-too-many-recipients"),
    _case("godaddy", 550,
          "This message is looping: it already has my Delivered-To line. (#5.4.6)",
          "networkerror", "looping-delivered-to"),
    _case("godaddy", 451,
          "Sorry, I wasn't able to establish an SMTP connection. I'm not going to try again; "
          "this message has been in the queue too long.",
          "expired", "queue-too-long"),
    # --- Spectrum / Charter: community.spectrum.net answer from Spectrum staff on AUP#1020
    # (a block for suspicious activity, such as recipients marking mail as spam) ---
    _case("spectrum", 554,
          "impin004.msg.chrl.nc.charter.net cmsmtp 192.0.2.1 blocked. Please see "
          "https://www.spectrum.net/support/internet/understanding-email-error-codes for more "
          "information. AUP#In-1020",
          "blocked", "aup-1020-suspicious-activity"),
    # --- Microsoft Outlook.com / Exchange Online: "Email non-delivery reports and SMTP errors
    # in Exchange Online" (learn.microsoft.com) and the Outlook.com block-list replies ---
    _case("outlook", 550,
          "5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
          "Internet service provider since part of their network is on our block list (S3140). "
          "You can also refer your provider to "
          "http://mail.live.com/mail/troubleshooting.aspx#errors.",
          "blocked", "s3140-network-on-block-list"),
    _case("outlook", 550,
          "5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
          "Internet service provider since part of their network is on our block list (S3150). "
          "You can also refer your provider to "
          "http://mail.live.com/mail/troubleshooting.aspx#errors. "
          "[VE1EUR01FT080.eop-EUR01.prod.protection.outlook.com]",
          "blocked", "s3150-network-on-block-list"),
    _case("outlook", 550,
          "5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
          "Internet service provider since part of their network is on our block list "
          "(AS3150). You can also refer your provider to "
          "http://mail.live.com/mail/troubleshooting.aspx#errors.",
          "blocked", "as3150-network-on-block-list"),
    _case("outlook", 550,
          "5.7.509 Access denied, sending domain sender.test does not pass DMARC verification "
          "and has a DMARC policy of reject.",
          "authfailure", "5-7-509-dmarc-reject"),
    _case("outlook", 550,
          "SC-001 (BAY004-MC1F37) Unfortunately, messages from 192.0.2.1 weren't sent. Please "
          "contact your Internet service provider since part of their network is on our block "
          "list. You can also refer your provider to "
          "http://mail.live.com/mail/troubleshooting.aspx#errors.",
          "blocked", "sc-001-network-on-block-list"),
    _case("outlook", 432,
          "4.3.2 STOREDRV.Deliver; recipient thread limit exceeded",
          "speeding", "recipient-thread-limit"),
    # --- AT&T / BellSouth: "AT&T Mailblock Inquiry" error message summary ---
    _case("att", 421,
          "failure in DNS look-up.",
          "requireptr", "failure-in-dns-lookup"),
    _case("att", 521,
          "<192.0.2.1> is blocked",
          "blocked", "ip-is-blocked"),
    _case("att", 550,
          "[suspend] Mailbox currently suspended--Please contact correspondent directly.",
          "suspend", "mailbox-currently-suspended"),
    _case("att", 550,
          "[permfail] bellsouth.net requires valid sender domain",
          "rejected", "requires-valid-sender-domain"),
    _case("att", 550,
          "unauthorized interface for <192.0.2.1>",
          "blocked", "unauthorized-interface"),
    _case("att", 550,
          "<192.0.2.1> blocked by ldap:ou=rblmx,dc=bellsouth,dc=net",
          "blocked", "blocked-by-rblmx"),
    # --- Mimecast: "Mimecast SMTP Error Codes" knowledge-base article ---
    _case("mimecast", 421,
          "Unable to process connection at this time",
          "systemerror", "unable-to-process-connection"),
]
# fmt: on


@pytest.mark.parametrize(("code", "text", "reason"), CASES)
def test_a_provider_code_names_the_reason(code: int, text: str, reason: str) -> None:
    found = classify_smtp_reply(code, None, text, RECIPIENT)

    assert found.reason == reason
    assert found.kind == ("hard" if reason in HARD_REASONS else "soft")


def test_the_table_is_large_enough_to_cover_each_provider() -> None:
    assert len(CASES) >= 60
