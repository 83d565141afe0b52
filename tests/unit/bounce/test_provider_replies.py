"""Real SMTP replies, worded as the large mail providers and the common MTAs send them.

Each case is one reply as a provider documents it (or as its servers are widely
seen to send it), with fictitious addresses, and the reason of the open bounce
taxonomy it stands for. The classifier must read the failure from the wording,
so these are the phrasings it will meet on unseen bounces, not strings to learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mailroom.bounce.classifier import ALL_REASONS, HARD_REASONS, classify_smtp_reply

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

RECIPIENT = "someone@example.test"


def _case(
    provider: str, code: int, enhanced: str | None, text: str, reason: str, wording: str
) -> ParameterSet:
    return pytest.param(provider, code, enhanced, text, reason, id=f"{provider}-{wording}")


# fmt: off
CASES = [
    # --- Gmail / Google Workspace ---
    _case("gmail", 550, "5.1.1",
          "The email account that you tried to reach does not exist. Please try double-checking"
          " the recipient's email address for typos or unnecessary spaces. Learn more at "
          "https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
          "userunknown", "account-does-not-exist"),
    _case("gmail", 550, "5.2.1",
          "The email account that you tried to reach is disabled. Learn more at "
          "https://support.google.com/mail/?p=DisabledUser a1si123 - gsmtp",
          "suspend", "account-disabled"),
    _case("gmail", 550, "5.2.1",
          "The email account that you tried to reach is inactive. - gsmtp",
          "suspend", "account-inactive"),
    _case("gmail", 452, "4.2.2",
          "The email account that you tried to reach is over quota. Please direct the recipient"
          " to https://support.google.com/mail/?p=OverQuotaTemp - gsmtp",
          "mailboxfull", "over-quota"),
    _case("gmail", 552, "5.2.2",
          "The recipient's inbox is out of storage space. Please direct the recipient to "
          "https://support.google.com/mail/?p=OverQuotaPerm - gsmtp",
          "mailboxfull", "inbox-out-of-storage"),
    _case("gmail", 450, "4.2.1",
          "The user you are trying to contact is receiving mail too quickly. Please resend your"
          " message at a later time. - gsmtp",
          "speeding", "receiving-mail-too-quickly"),
    _case("gmail", 450, "4.2.1",
          "The user you are trying to contact is receiving mail at a rate that prevents "
          "additional messages from being delivered. Please resend your message at a later "
          "time. - gsmtp",
          "speeding", "receiving-mail-at-a-rate"),
    _case("gmail", 421, "4.7.28",
          "[192.0.2.1] Our system has detected an unusual rate of unsolicited mail originating "
          "from your IP address. To protect our users from spam, mail sent from your IP address"
          " has been temporarily rate limited. - gsmtp",
          "speeding", "unsolicited-rate-limited"),
    _case("gmail", 550, "5.7.1",
          "[192.0.2.1] Our system has detected that this message is likely unsolicited mail. To"
          " reduce the amount of spam sent to Gmail, this message has been blocked. - gsmtp",
          "spamdetected", "likely-unsolicited"),
    _case("gmail", 421, "4.7.0",
          "[192.0.2.1] Our system has detected that this message is suspicious due to the "
          "nature of the content and/or the links within. To best protect our users from spam, "
          "the message has been blocked. - gsmtp",
          "spamdetected", "suspicious-content-links"),
    _case("gmail", 421, "4.7.0",
          "[192.0.2.1] Our system has detected that this message is suspicious due to the very "
          "low reputation of the sending domain. To best protect our users from spam, the "
          "message has been blocked. - gsmtp",
          "badreputation", "low-domain-reputation"),
    _case("gmail", 550, "5.7.26",
          "This message does not have authentication information or fails to pass "
          "authentication checks (SPF or DKIM). To best protect our users from spam, the "
          "message has been blocked. - gsmtp",
          "authfailure", "fails-authentication-checks"),
    _case("gmail", 550, "5.7.26",
          "Unauthenticated email from example.test is not accepted due to domain's DMARC "
          "policy. Please contact the administrator of example.test domain. - gsmtp",
          "authfailure", "dmarc-policy"),
    _case("gmail", 550, "5.7.25",
          "[192.0.2.1] The IP address sending this message does not have a PTR record setup, or"
          " the corresponding forward DNS entry does not point to the sending IP. - gsmtp",
          "requireptr", "no-ptr-record"),
    _case("gmail", 550, "5.7.1",
          "[192.0.2.1] The IP you're using to send mail is not authorized to send email "
          "directly to our servers. Please use the SMTP relay at your service provider instead."
          " - gsmtp",
          "blocked", "ip-not-authorized-directly"),
    _case("gmail", 421, "4.7.0",
          "IP not in whitelist for RCPT domain, closing connection. - gsmtp",
          "blocked", "ip-not-in-whitelist"),
    _case("gmail", 421, "4.7.0",
          "TLS required for RCPT domain, closing connection. - gsmtp",
          "failedstarttls", "tls-required"),
    _case("gmail", 550, "5.7.1",
          "This message violates example.test email policy. - gcdp a1b2c3 - gsmtp",
          "policyviolation", "violates-email-policy"),
    _case("gmail", 552, "5.7.0",
          "This message was blocked because its content presents a potential security issue. "
          "Please visit https://support.google.com/mail/?p=BlockedMessage to review our message"
          " content and attachment content guidelines. - gsmtp",
          "policyviolation", "content-presents-security-issue"),
    _case("gmail", 550, "5.7.1",
          "The user or domain that you are sending to (or from) has a policy that prohibited "
          "the mail that you sent. Please contact your domain administrator for further "
          "details. - gsmtp",
          "policyviolation", "domain-policy-prohibited"),
    _case("gmail", 553, "5.1.2",
          "We weren't able to find the recipient domain. Please check for any spelling errors, "
          "and make sure you didn't enter any spaces, periods, or other punctuation after the "
          "recipient's email address. - gsmtp",
          "hostunknown", "recipient-domain-not-found"),
    _case("gmail", 552, "5.3.4",
          "Your message exceeded Google's message size limits. Please visit "
          "https://support.google.com/mail/?p=MaxSizeError to view our size guidelines. - gsmtp",
          "mesgtoobig", "message-size-limits"),
    _case("gmail", 550, "5.7.1",
          "[192.0.2.1] Our system has detected that this message is not RFC 5322 compliant: "
          "'From' header is missing. To reduce the amount of spam sent to Gmail, this message "
          "has been blocked. - gsmtp",
          "notcompliantrfc", "not-rfc5322-compliant"),
    _case("gmail", 553, "5.1.7",
          "The sender address <bounce@sender.test> is not a valid RFC 5321 address. - gsmtp",
          "rejected", "sender-not-valid-rfc5321"),
    _case("gmail", 451, "4.3.0",
          "Mail server temporarily rejected message. - gsmtp",
          "systemerror", "temporarily-rejected"),
    _case("gmail", 421, "4.3.0",
          "Temporary System Problem. Try again later. - gsmtp",
          "systemerror", "temporary-system-problem"),
    _case("gmail", 550, "5.7.1",
          "[192.0.2.1] Messages missing a valid Message-ID header are not accepted. - gsmtp",
          "notcompliantrfc", "missing-message-id"),
    _case("gmail", 452, "4.5.3",
          "Your message has too many recipients. - gsmtp",
          "exceedlimit", "too-many-recipients"),
    # --- Microsoft Exchange Online / Office 365 / Outlook.com ---
    _case("exchange", 550, "5.1.10",
          "RESOLVER.ADR.RecipientNotFound; Recipient someone@example.test not found by SMTP "
          "address lookup",
          "userunknown", "recipient-not-found-by-address-lookup"),
    _case("exchange", 550, "5.1.1",
          "RESOLVER.ADR.RecipNotFound; not found",
          "userunknown", "recipnotfound"),
    _case("exchange", 550, None,
          "5.4.1 [someone@example.test]: Recipient address rejected: Access denied. "
          "AS(201806281) [AM1EUR01FT001.eop-eur01.prod.protection.outlook.com]",
          "userunknown", "dbeb-recipient-access-denied"),
    _case("exchange", 550, "5.7.606",
          "Access denied, banned sending IP [192.0.2.1]. To request removal from this list "
          "please visit https://sender.office.com/ and follow the directions. AS(1430)",
          "blocked", "banned-sending-ip"),
    _case("exchange", 550, "5.7.708",
          "Access denied, traffic not accepted from this IP. AS(2900)",
          "blocked", "traffic-not-accepted-from-ip"),
    _case("exchange", 550, "5.7.750",
          "Service unavailable. Client blocked from sending from unregistered domains.",
          "blocked", "unregistered-domains"),
    _case("exchange", 550, "5.7.511",
          "Access denied, banned sender[192.0.2.1]. To request removal from this list please "
          "forward this message to delist@messaging.microsoft.com.",
          "blocked", "banned-sender"),
    _case("exchange", 550, "5.7.1",
          "Service unavailable, Client host [192.0.2.1] blocked using Spamhaus. To request "
          "removal from this list see https://www.spamhaus.org/query/lookup.lasso AS(1450)",
          "blocked", "blocked-using-spamhaus"),
    _case("outlook.com", 550, "5.7.1",
          "Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet "
          "service provider since part of their network is on our block list (S3150).",
          "blocked", "network-on-block-list"),
    _case("outlook.com", 550, None,
          "DY-001 (BAY004-MC1F1) Unfortunately, messages from 192.0.2.1 weren't sent. Please "
          "contact your Internet service provider. You can tell them that Hotmail does not "
          "relay dynamically-assigned IP ranges.",
          "blocked", "dynamically-assigned-ip"),
    _case("outlook.com", 421, None,
          "RP-001 (BAY004-MC1F1) Unfortunately, some messages from 192.0.2.1 weren't sent. "
          "Please try again. We have limits for how many messages can be sent per hour and per "
          "day.",
          "speeding", "hourly-message-limits"),
    _case("outlook.com", 550, "5.5.0",
          "Requested action not taken: mailbox unavailable (S2017062302). "
          "[BN1NAM02FT001.eop-nam02.prod.protection.outlook.com]",
          "userunknown", "mailbox-unavailable"),
    _case("exchange", 550, "5.7.509",
          "Access denied, sending domain example.test does not pass DMARC verification and has "
          "a DMARC policy of reject.",
          "authfailure", "dmarc-reject"),
    _case("exchange", 550, "5.7.57",
          "Client not authenticated to send mail. Error: 535 5.7.139 Authentication "
          "unsuccessful",
          "securityerror", "client-not-authenticated"),
    _case("exchange", 530, "5.7.1",
          "Client was not authenticated",
          "securityerror", "client-was-not-authenticated"),
    _case("exchange", 550, "5.7.64",
          "TenantAttribution; Relay Access Denied",
          "norelaying", "tenant-relay-access-denied"),
    _case("exchange", 550, "5.7.1",
          "Unable to relay",
          "norelaying", "unable-to-relay"),
    _case("exchange", 554, "5.2.2",
          "mailbox full; "
          "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
          "mailboxfull", "quota-exceeded-exception"),
    _case("exchange", 552, "5.3.4",
          "Message size exceeds fixed maximum message size",
          "mesgtoobig", "fixed-maximum-size"),
    _case("exchange", 554, "5.4.14",
          "Hop count exceeded - possible mail loop ATTR34",
          "networkerror", "hop-count-exceeded"),
    _case("exchange", 550, "5.7.350",
          "Remote server returned message detected as spam -> 554 5.7.1 Message rejected as "
          "spam",
          "spamdetected", "detected-as-spam"),
    _case("exchange", 550, "5.7.1",
          "Message rejected as spam by Content Filtering.",
          "spamdetected", "content-filtering-spam"),
    _case("exchange", 550, "5.4.4",
          "SMTPSEND.DNS.NonExistentDomain; nonexistent domain",
          "hostunknown", "nonexistent-domain"),
    _case("exchange", 550, "5.4.310",
          "DNS domain example.test does not exist",
          "hostunknown", "dns-domain-does-not-exist"),
    _case("exchange", 451, "4.4.0",
          "DNS query failed. The error was: DNS query failed with error: ErrorRetry",
          "networkerror", "dns-query-failed"),
    _case("exchange", 550, "5.4.316",
          "Message expired, connection refused (Socket error code 10061)",
          "expired", "message-expired-connection-refused"),
    _case("exchange", 550, "5.4.300",
          "Message expired",
          "expired", "message-expired"),
    _case("exchange", 550, "5.6.11",
          "SMTPSEND.BareLinefeedsAreIllegal; message contains bare linefeeds, which cannot be "
          "sent via DATA",
          "contenterror", "bare-linefeeds"),
    _case("exchange", 550, "5.4.6",
          "Routing loop detected -- too many hops",
          "networkerror", "routing-loop"),
    _case("exchange", 452, "4.3.1",
          "Insufficient system resources",
          "systemfull", "insufficient-system-resources"),
    _case("exchange", 451, "5.7.3",
          "STARTTLS is required to send mail",
          "failedstarttls", "starttls-required"),
    _case("exchange", 421, "4.3.2",
          "Service not available, closing transmission channel",
          "systemerror", "service-not-available"),
    # --- Yahoo / AOL ---
    _case("yahoo", 421, "4.7.0",
          "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
          "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
          "badreputation", "tss04-unexpected-volume"),
    _case("yahoo", 421, "4.7.0",
          "[TS01] Messages from 192.0.2.1 temporarily deferred due to user complaints - "
          "4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
          "badreputation", "ts01-user-complaints"),
    _case("yahoo", 553, "5.7.2",
          "[TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT "
          "succeed. See https://postmaster.yahooinc.com/error-codes",
          "blocked", "tss09-permanently-deferred"),
    _case("yahoo", 554, "5.7.9",
          "Message not accepted for policy reasons. See "
          "https://postmaster.yahooinc.com/error-codes",
          "policyviolation", "policy-reasons"),
    _case("yahoo", 550, "5.7.9",
          "This mail has been blocked because the sender is unauthenticated. Yahoo requires all"
          " senders to authenticate with either SPF or DKIM.",
          "authfailure", "sender-unauthenticated"),
    # answered at the end of DATA with no address status: the filter's answer, by convention
    _case("yahoo", 554, None,
          "delivery error: dd This user doesn't have a yahoo.com account (someone@example.test)"
          " [0] - mta1001.mail.ne1.yahoo.com",
          "filtered", "no-account-after-data"),
    _case("yahoo", 554, None,
          "delivery error: dd Sorry your message to someone@example.test cannot be delivered. "
          "This mailbox is disabled (554.30). - mta1001.mail.ne1.yahoo.com",
          "suspend", "mailbox-disabled"),
    _case("yahoo", 553, "5.7.1",
          "[BL21] Connections will not be accepted from 192.0.2.1, because the ip is in "
          "Spamhaus's list; see https://postmaster.yahooinc.com/error-codes",
          "blocked", "bl21-spamhaus"),
    _case("aol", 421, "4.7.0",
          "[TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
          "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
          "badreputation", "tss04-unexpected-volume"),
    _case("aol", 552, "5.2.2",
          "Mailbox full",
          "mailboxfull", "mailbox-full"),
    # --- Apple iCloud ---
    _case("icloud", 550, "5.1.1",
          "<someone@example.test>: user does not exist",
          "userunknown", "user-does-not-exist"),
    _case("icloud", 554, "5.7.1",
          "[CS01] Message rejected due to local policy. Please visit "
          "https://support.apple.com/en-us/HT204137",
          "policyviolation", "local-policy"),
    _case("icloud", 550, "5.7.1",
          "Mail from IP 192.0.2.1 was rejected due to listing in Spamhaus SBL. For details "
          "please see http://www.spamhaus.org/query/bl?ip=192.0.2.1",
          "blocked", "listing-in-spamhaus"),
    # --- Amazon SES ---
    _case("amazon-ses", 454, None,
          "Throttling failure: Maximum sending rate exceeded.",
          "speeding", "maximum-sending-rate"),
    _case("amazon-ses", 552, None,
          "Message rejected: Message length exceeds 10485760 bytes.",
          "mesgtoobig", "message-length-exceeds"),
    # --- Mimecast ---
    _case("mimecast", 451, None,
          "IP temporarily blacklisted - https://community.mimecast.com/docs/DOC-1369#451",
          "blocked", "ip-temporarily-blacklisted"),
    _case("mimecast", 451, None,
          "Account inbound rate limit exceeded - "
          "https://community.mimecast.com/docs/DOC-1369#451",
          "speeding", "inbound-rate-limit"),
    _case("mimecast", 550, None,
          "Host network not allowed - https://community.mimecast.com/docs/DOC-1369#550",
          "policyviolation", "host-network-not-allowed"),
    _case("mimecast", 554, None,
          "Open relay not allowed - https://community.mimecast.com/docs/DOC-1369#554",
          "norelaying", "open-relay-not-allowed"),
    _case("mimecast", 554, None,
          "Message size exceeds the maximum permitted - "
          "https://community.mimecast.com/docs/DOC-1369#554",
          "mesgtoobig", "size-exceeds-maximum-permitted"),
    # --- Proofpoint ---
    _case("proofpoint", 554, "5.7.0",
          "Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1",
          "blocked", "ipcheck-blocked"),
    _case("proofpoint", 554, "5.7.0",
          "Local Policy Violation",
          "policyviolation", "local-policy-violation"),
    _case("proofpoint", 550, "5.7.1",
          "Message blocked due to spam content in the message.",
          "spamdetected", "spam-content"),
    _case("proofpoint", 554, "5.7.1",
          "Message rejected: Malware detected",
          "virusdetected", "malware-detected"),
    # --- Barracuda ---
    _case("barracuda", 554, None,
          "Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation; "
          "http://www.barracudanetworks.com/reputation/?r=1&ip=192.0.2.1",
          "blocked", "blocked-using-barracuda-reputation"),
    _case("barracuda", 550, None,
          "permanent failure for one or more recipients (someone@example.test:550 5.1.1 "
          "<someone@example.test>: Recipient address rejected: User unknown in virtual mailbox "
          "table)",
          "userunknown", "permanent-failure-user-unknown"),
    _case("barracuda", 554, "5.7.1",
          "Message blocked: this message looks like spam",
          "spamdetected", "looks-like-spam"),
    # --- Cisco IronPort / Secure Email ---
    _case("cisco", 554, "5.7.1",
          "Your access to this mail system has been rejected due to the sending MTA's poor "
          "reputation. If you believe that this failure is in error, please contact the "
          "intended recipient via alternate means.",
          "badreputation", "poor-reputation"),
    _case("cisco", 550, None,
          "#5.1.0 Address rejected.",
          "userunknown", "ldap-address-rejected"),
    _case("cisco", 421, None,
          "Too many concurrent SMTP connections from this IP address; please try again later.",
          "toomanyconn", "too-many-concurrent-connections"),
    # --- Trend Micro ---
    _case("trend-micro", 550, "5.7.1",
          "Mail from 192.0.2.1 blocked using Trend Micro Email Reputation database. Please see "
          "http://www.mail-abuse.com/cgi-bin/lookup?192.0.2.1",
          "blocked", "email-reputation-database"),
    _case("trend-micro", 550, "5.7.1",
          "Service unavailable; Client host [192.0.2.1] blocked using Trend Micro RBL+. Please "
          "see http://www.mail-abuse.com/cgi-bin/lookup?ip_address=192.0.2.1",
          "blocked", "rbl-plus"),
    # --- GMX / Web.de / 1&1 ---
    _case("gmx", 550, None,
          "Requested action not taken: mailbox unavailable",
          "userunknown", "mailbox-unavailable"),
    _case("gmx", 554, None,
          "Transaction failed Reject due to policy restrictions. For explanation visit "
          "https://postmaster.gmx.net/en/case?c=r0101",
          "policyviolation", "policy-restrictions"),
    _case("gmx", 552, None,
          "Requested mail action aborted: exceeded storage allocation",
          "mailboxfull", "exceeded-storage-allocation"),
    _case("gmx", 554, None,
          "gmx.net (mxgmx001) Nemesis ESMTP Service not available No SMTP service Bad DNS PTR "
          "resource record.",
          "requireptr", "bad-dns-ptr"),
    _case("web.de", 421, None,
          "Too many messages from 192.0.2.1, try again later",
          "speeding", "too-many-messages"),
    # --- Mail.ru ---
    _case("mail.ru", 550, None,
          "Message was not accepted -- invalid mailbox. Local mailbox someone@example.test is "
          "unavailable: account is disabled",
          "suspend", "account-is-disabled"),
    _case("mail.ru", 550, None,
          "spam message rejected. Please visit http://help.mail.ru/notspam-support/id?c=abc or "
          "report details to abuse@corp.mail.ru.",
          "spamdetected", "spam-message-rejected"),
    _case("mail.ru", 452, None,
          "Message was not accepted -- mailbox is full",
          "mailboxfull", "mailbox-is-full"),
    # --- Orange / Wanadoo ---
    _case("orange", 550, "5.2.0",
          "Mail rejete. Mail rejected. ofr_506 [506]",
          "spamdetected", "ofr-506"),
    _case("orange", 550, "5.1.1",
          "<someone@example.test>: Recipient address rejected: Adresse d au moins un "
          "destinataire invalide. Invalid recipient. OFR_416 [416]",
          "userunknown", "invalid-recipient"),
    _case("orange", 552, "5.2.2",
          "Boite du destinataire pleine. Recipient overquota. OFR_417 [417]",
          "mailboxfull", "recipient-overquota"),
    # --- Zoho ---
    _case("zoho", 550, "5.1.1",
          "User does not exist - <someone@example.test>",
          "userunknown", "user-does-not-exist"),
    _case("zoho", 552, "5.2.2",
          "Mailbox size limit exceeded",
          "mailboxfull", "mailbox-size-limit"),
    _case("zoho", 550, "5.7.1",
          "Email rejected per DMARC policy for example.test",
          "authfailure", "dmarc-policy"),
    _case("zoho", 554, "5.7.7",
          "Email policy violation detected",
          "policyviolation", "email-policy-violation"),
    _case("zoho", 550, "5.2.1",
          "Mailbox is inactive",
          "suspend", "mailbox-inactive"),
    # --- Comcast / Cox ---
    _case("comcast", 550, "5.1.1",
          "<someone@example.test> Not our Customer",
          "userunknown", "not-our-customer"),
    _case("comcast", 554, None,
          "resimta-po-01v.sys.comcast.net resimta-po-01v.sys.comcast.net 192.0.2.1 found on one"
          " or more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000001",
          "blocked", "found-on-dnsbls"),
    _case("cox", 552, "5.2.2",
          "<someone@example.test> mailbox size limit exceeded",
          "mailboxfull", "mailbox-size-limit"),
    _case("cox", 421, None,
          "Too many sessions from 192.0.2.1, please try again later",
          "toomanyconn", "too-many-sessions"),
    # --- GoDaddy / secureserver.net ---
    _case("godaddy", 550, "5.1.1",
          "<someone@example.test> Recipient not found. <http://x.co/irbounce>",
          "userunknown", "recipient-not-found"),
    _case("godaddy", 550, "5.1.1",
          "<someone@example.test> recipient rejected. This is a default recipient used as a "
          "placeholder in many web applications.",
          "userunknown", "recipient-rejected"),
    # --- Tencent QQ ---
    _case("qq", 550, None,
          "Mail content denied. "
          "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726",
          "spamdetected", "mail-content-denied"),
    _case("qq", 550, None,
          "Ip frequency limited. "
          "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000722",
          "speeding", "ip-frequency-limited"),
    _case("qq", 552, "5.2.2",
          "The mailbox is full",
          "mailboxfull", "mailbox-full"),
    # --- Postfix ---
    _case("postfix", 550, "5.1.1",
          "<someone@example.test>: Recipient address rejected: User unknown in local recipient "
          "table",
          "userunknown", "local-recipient-table"),
    _case("postfix", 550, "5.1.1",
          "<someone@example.test>: Recipient address rejected: User unknown in virtual alias "
          "table",
          "userunknown", "virtual-alias-table"),
    _case("postfix", 554, "5.7.1",
          "<someone@example.test>: Relay access denied",
          "norelaying", "relay-access-denied"),
    _case("postfix", 450, "4.7.1",
          "Client host rejected: cannot find your hostname, [192.0.2.1]",
          "requireptr", "cannot-find-your-hostname"),
    _case("postfix", 450, "4.7.1",
          "Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
          "requireptr", "cannot-find-your-reverse-hostname"),
    _case("postfix", 554, "5.7.1",
          "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; "
          "https://www.spamhaus.org/query/ip/192.0.2.1",
          "blocked", "blocked-using-zen"),
    _case("postfix", 554, "5.7.1",
          "<unknown[192.0.2.1]>: Client host rejected: Access denied",
          "blocked", "client-host-access-denied"),
    _case("postfix", 450, "4.1.8",
          "<bounce@sender.test>: Sender address rejected: Domain not found",
          "rejected", "sender-domain-not-found"),
    _case("postfix", 553, "5.7.1",
          "<bounce@sender.test>: Sender address rejected: not owned by user someone",
          "rejected", "sender-not-owned"),
    _case("postfix", 552, "5.3.4",
          "Message size exceeds fixed limit",
          "mesgtoobig", "size-exceeds-fixed-limit"),
    _case("postfix", 451, "4.3.0",
          "Error: queue file write error",
          "systemerror", "queue-file-write-error"),
    _case("postfix", 452, "4.3.1",
          "Insufficient system storage",
          "systemfull", "insufficient-system-storage"),
    _case("postfix", 421, "4.7.0",
          "mx.example.test Error: too many connections from 192.0.2.1",
          "toomanyconn", "too-many-connections"),
    _case("postfix", 450, "4.7.1",
          "Error: too much mail from 192.0.2.1",
          "speeding", "too-much-mail-from"),
    _case("postfix", 452, "4.5.3",
          "Error: too many recipients",
          "exceedlimit", "too-many-recipients"),
    _case("postfix", 454, "4.7.0",
          "TLS not available due to local problem",
          "failedstarttls", "tls-not-available"),
    _case("postfix", 550, "5.7.23",
          "<someone@example.test>: Recipient address rejected: Message rejected due to: SPF "
          "fail - not authorized.",
          "authfailure", "policyd-spf-fail"),
    _case("postfix", 502, "5.5.2",
          "Error: command not recognized",
          "syntaxerror", "command-not-recognized"),
    _case("postfix", 503, "5.5.1",
          "Error: need RCPT command",
          "syntaxerror", "need-rcpt-command"),
    _case("postfix", 550, "5.4.6",
          "mail for example.test loops back to myself",
          "networkerror", "loops-back-to-myself"),
    _case("postfix", 554, "5.6.0",
          "Header error",
          "contenterror", "header-error"),
    _case("postfix", 504, "5.5.2",
          "<bounce@sender>: Sender address rejected: need fully-qualified address",
          "rejected", "sender-fully-qualified"),
    # --- Dovecot (LMTP behind Postfix) ---
    _case("dovecot", 550, "5.1.1",
          "<someone@example.test> User doesn't exist: someone@example.test",
          "userunknown", "user-doesnt-exist"),
    _case("dovecot", 552, "5.2.2",
          "<someone@example.test> Quota exceeded (mailbox for user is full)",
          "mailboxfull", "quota-exceeded"),
    # --- Exim ---
    _case("exim", 550, None,
          "retry timeout exceeded",
          "expired", "retry-timeout-exceeded"),
    _case("exim", 550, None,
          "Unrouteable mail domain \"example.test\"",
          "hostunknown", "unrouteable-mail-domain"),
    _case("exim", 550, None,
          "all relevant MX records point to non-existent hosts",
          "hostunknown", "mx-non-existent-hosts"),
    _case("exim", 550, None,
          "Verification failed for <bounce@sender.test> Unrouteable address Sender verify "
          "failed",
          "rejected", "sender-verify-failed"),
    _case("exim", 550, None,
          "mailbox is full: retry timeout exceeded",
          "mailboxfull", "mailbox-full-retry-timeout"),
    _case("exim", 550, None,
          "rejected because 192.0.2.1 is in a black list at zen.spamhaus.org",
          "blocked", "black-list"),
    _case("exim", 552, None,
          "Message size exceeds maximum permitted",
          "mesgtoobig", "size-exceeds-maximum"),
    _case("exim", 451, None,
          "Temporary local problem - please try later",
          "systemerror", "temporary-local-problem"),
    _case("exim", 550, None,
          "Too many \"Received\" headers - suspected mail loop",
          "networkerror", "too-many-received-headers"),
    _case("exim", 550, None,
          "relay not permitted",
          "norelaying", "relay-not-permitted"),
    _case("exim", 550, None,
          "This message contains a virus (Eicar-Test-Signature) and has been rejected",
          "virusdetected", "contains-a-virus"),
    _case("exim", 550, None,
          "Rejected: message scored 12.3 spam points",
          "spamdetected", "spam-points"),
    _case("exim", 421, None,
          "Too many concurrent SMTP connections from this IP address; please try again later.",
          "toomanyconn", "too-many-concurrent-connections"),
    # --- Sendmail ---
    _case("sendmail", 550, "5.1.1",
          "<someone@example.test>... User unknown",
          "userunknown", "user-unknown"),
    _case("sendmail", 553, "5.1.8",
          "<bounce@sender.test>... Domain of sender address bounce@sender.test does not exist",
          "rejected", "domain-of-sender"),
    _case("sendmail", 550, "5.7.1",
          "<someone@example.test>... Relaying denied. Proper authentication required.",
          "norelaying", "relaying-denied"),
    _case("sendmail", 552, "5.2.2",
          "<someone@example.test>... Mailbox full",
          "mailboxfull", "mailbox-full"),
    _case("sendmail", 550, "5.7.1",
          "Rejected: 192.0.2.1 listed at zen.spamhaus.org",
          "blocked", "listed-at"),
    _case("sendmail", 550, "5.2.1",
          "<someone@example.test>... Mailbox disabled for this recipient",
          "suspend", "mailbox-disabled"),
    _case("sendmail", 550, "5.1.1",
          "<someone@example.test>... Addressee unknown, relay=[192.0.2.1]",
          "userunknown", "addressee-unknown"),
    _case("sendmail", 554, "5.4.6",
          "Too many hops 26 (25 max): from <bounce@sender.test> via mx.example.test, to "
          "<someone@example.test>",
          "networkerror", "too-many-hops"),
    _case("sendmail", 530, "5.7.0",
          "Must issue a STARTTLS command first",
          "failedstarttls", "must-issue-starttls"),
    _case("sendmail", 550, "5.1.2",
          "<someone@example.test>... Host unknown (Name server: example.test: host not found)",
          "hostunknown", "host-unknown"),
    _case("sendmail", 451, "4.3.0",
          "Temporary system failure. Please try again later.",
          "systemerror", "temporary-system-failure"),
    _case("sendmail", 500, "5.5.1",
          "Command unrecognized: \"XYZZY\"",
          "syntaxerror", "command-unrecognized"),
    _case("sendmail", 501, "5.5.4",
          "Syntax error in parameters scanning \"TO\"",
          "syntaxerror", "syntax-error-in-parameters"),
    _case("sendmail", 550, "5.4.7",
          "Message could not be delivered for 5 days",
          "expired", "could-not-be-delivered-for-days"),
    # --- qmail / vpopmail ---
    _case("qmail", 550, None,
          "Sorry, no mailbox here by that name. (#5.1.1)",
          "userunknown", "no-mailbox-here"),
    _case("qmail", 550, None,
          "Sorry, I couldn't find any host named example.test. (#5.1.2)",
          "hostunknown", "couldnt-find-any-host"),
    _case("qmail", 550, None,
          "This message is looping: it already has my Delivered-To line. (#5.4.6)",
          "networkerror", "message-is-looping"),
    _case("qmail", 552, None,
          "sorry, that message size exceeds my databytes limit (#5.3.4)",
          "mesgtoobig", "databytes-limit"),
    _case("vpopmail", 552, None,
          "The users mailfolder is over the allowed quota (size). (#5.2.2)",
          "mailboxfull", "over-the-allowed-quota"),
    _case("qmail", 553, None,
          "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
          "norelaying", "allowed-rcpthosts"),
    _case("qmail", 550, None,
          "Connected to 192.0.2.1 but sender was rejected. Remote host said: 553 sorry, your "
          "envelope sender is in my badmailfrom list (#5.7.1)",
          "rejected", "sender-was-rejected"),
    # --- Courier / Lotus Domino / others ---
    _case("courier", 550, None,
          "Mail quota exceeded.",
          "mailboxfull", "mail-quota-exceeded"),
    _case("domino", 550, None,
          "User someone (someone@example.test) not listed in Domino Directory",
          "userunknown", "not-listed-in-domino-directory"),
    _case("clamav", 554, "5.7.1",
          "Virus found: Win.Test.EICAR_HDB-1",
          "virusdetected", "virus-found"),
    _case("rspamd", 554, "5.7.1",
          "Spam message rejected",
          "spamdetected", "spam-message-rejected"),
    _case("facebook", 550, "5.1.1",
          "RCP-P2 http://www.facebook.com/postmaster/response_codes?ip=192.0.2.1#rcp Attempt to"
          " deliver to an unknown recipient",
          "userunknown", "unknown-recipient"),
    _case("facebook", 550, None,
          "RCP-P1 http://www.facebook.com/postmaster/response_codes?ip=192.0.2.1#rcp Refused "
          "due to recipient preferences",
          "filtered", "recipient-preferences"),
    # --- more providers and filters ---
    _case("gmail", 550, "5.7.1",
          "Messages missing a valid address in From: header, or having no From: header, are not"
          " accepted. - gsmtp",
          "notcompliantrfc", "missing-from-address"),
    _case("gmail", 550, "5.7.1",
          "[192.0.2.1] Our system has detected that this message is likely suspicious due to "
          "the very low reputation of the sending IP address. - gsmtp",
          "badreputation", "low-ip-reputation"),
    _case("gmail", 550, "5.4.5",
          "Daily sending quota exceeded. - gsmtp",
          "speeding", "daily-sending-quota"),
    _case("gmail", 550, "5.4.5",
          "Daily user sending limit exceeded. - gsmtp",
          "speeding", "daily-user-sending-limit"),
    _case("gmail", 550, "5.7.0",
          "Mail relay denied [192.0.2.1]. Invalid credentials for relay for one of the domains "
          "in: example.test. - gsmtp",
          "norelaying", "mail-relay-denied"),
    _case("gmail", 421, "4.7.27",
          "[192.0.2.1] Your email has been rate limited because SPF authentication didn't pass "
          "for this message. - gsmtp",
          "authfailure", "rate-limited-spf"),
    _case("gmail", 421, "4.7.32",
          "[192.0.2.1] Your email has been rate limited because the From: header (RFC5322) in "
          "this message isn't aligned with either the authenticated SPF or DKIM organizational "
          "domain. - gsmtp",
          "authfailure", "rate-limited-unaligned-from"),
    _case("gmail", 550, None,
          "Your message wasn't delivered to someone@example.test because the address couldn't "
          "be found, or is unable to receive mail.",
          "userunknown", "address-couldnt-be-found"),
    _case("exchange", 550, None,
          "The email address you entered couldn't be found. Please check the recipient's email "
          "address and try to resend the message.",
          "userunknown", "address-you-entered-couldnt-be-found"),
    _case("exchange", 550, "5.2.2",
          "The recipient's mailbox is full and can't accept messages now. Please try resending "
          "this message later, or contact the recipient directly.",
          "mailboxfull", "recipient-mailbox-full"),
    _case("exchange", 530, "5.7.57",
          "SMTP; Client was not authenticated to send anonymous mail during MAIL FROM",
          "securityerror", "anonymous-mail-not-authenticated"),
    _case("yahoo", 451, None,
          "Message temporarily deferred due to unresolvable RFC.5321 from domain; see "
          "https://postmaster.yahooinc.com/error-codes",
          "rejected", "unresolvable-from-domain"),
    _case("yahoo", 553, "5.7.1",
          "[BL23] Connections not accepted from IP addresses on Spamhaus XBL; see "
          "https://postmaster.yahooinc.com/error-codes",
          "blocked", "bl23-spamhaus-xbl"),
    _case("yahoo", 554, None,
          "30 Sorry, your message size exceeds 41943040 bytes.",
          "mesgtoobig", "message-size-exceeds"),
    _case("yandex", 554, "5.7.1",
          "[2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc",
          "spamdetected", "suspicion-of-spam"),
    _case("yandex", 451, "4.7.1",
          "Sorry, the service is currently unavailable. Please come back later.",
          "systemerror", "service-currently-unavailable"),
    _case("earthlink", 550, None,
          "IP 192.0.2.1 is blocked by EarthLink. Go to earthlink.net/block for details.",
          "blocked", "ip-is-blocked"),
    _case("att", 553, "5.3.0",
          "flpd574 DNSBL:RBL 521< 192.0.2.1 >_is_blocked.For assistance forward this error to "
          "abuse_rbl@abuse-att.net",
          "blocked", "dnsbl-rbl"),
    _case("att", 550, "5.7.1",
          "Connections not accepted from servers without a valid sender domain.flph829 Fix "
          "reverse DNS for 192.0.2.1",
          "requireptr", "fix-reverse-dns"),
    _case("comcast", 554, None,
          "resimta-ch2-18v.sys.comcast.net comcast requires that all mail servers must have a "
          "PTR record with a valid Reverse DNS entry.",
          "requireptr", "ptr-record-required"),
    _case("orange", 421, None,
          "mwinf5c10 ME Trop de connexions, veuillez verifier votre configuration. Too many "
          "connections, slow down. OFR005_104 [104]",
          "toomanyconn", "too-many-connections"),
    _case("orange", 550, None,
          "mwinf5c10 ME Adresse IP source bloquee pour incident de spam. Client host blocked "
          "for spamming issues. OFR006_102 Ref "
          "http://csi.cloudmark.com/reset-request/?ip=192.0.2.1",
          "blocked", "client-host-blocked"),
    _case("orange", 421, None,
          "mwinf5c79 ME Service refuse. Veuillez essayer plus tard. Service refused, please try"
          " later. OFR005_505 [505]",
          "systemerror", "ofr-505-service-refused"),
    _case("mimecast", 451, None,
          "Account service is temporarily unavailable - "
          "https://community.mimecast.com/docs/DOC-1369#451",
          "systemerror", "service-temporarily-unavailable"),
    _case("qq", 550, None,
          "Domain frequency limited. "
          "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000722",
          "speeding", "domain-frequency-limited"),
    _case("qq", 550, None,
          "Mailbox is frozen. "
          "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000729",
          "suspend", "mailbox-frozen"),
    _case("netease", 552, None,
          "Requested mail action aborted: exceeded mailsize limit",
          "mesgtoobig", "exceeded-mailsize-limit"),
    _case("netease", 554, None,
          "DT:SPM 163 smtp10,DsCowAB0D1RmKzFkZ2FkAA--.1234S2 1700000000, please see "
          "http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1 mail content denied",
          "spamdetected", "mail-content-denied"),
    _case("netease", 550, None,
          "User suspended",
          "suspend", "user-suspended"),
    _case("postfix", 451, "4.3.5",
          "Server configuration problem",
          "systemerror", "server-configuration-problem"),
    _case("postfix", 550, None,
          "mail forwarding loop for someone@example.test",
          "networkerror", "mail-forwarding-loop"),
    _case("postfix", 450, "4.7.1",
          "Error: too many recipients from 192.0.2.1",
          "speeding", "too-many-recipients-from"),
    _case("postfix", 550, "5.4.4",
          "Host or domain name not found. Name service error for name=example.test type=MX: "
          "Host not found",
          "hostunknown", "host-or-domain-name-not-found"),
    _case("postfix", 450, "4.4.3",
          "Host or domain name not found. Name service error for name=example.test type=MX: "
          "Host not found, try again",
          "networkerror", "name-service-try-again"),
    _case("postfix", 550, None,
          "TLS is required, but was not offered by host mx.example.test[192.0.2.1]",
          "failedstarttls", "tls-required-not-offered"),
    _case("amavis", 554, "5.7.0",
          "Reject, id=12345-01 - INFECTED: Eicar-Test-Signature",
          "virusdetected", "infected"),
    _case("amavis", 554, "5.7.0",
          "Reject, id=12345-01 - SPAM",
          "spamdetected", "spam"),
    _case("exim", 550, None,
          "Sender address verification failed",
          "rejected", "sender-verification-failed"),
    _case("sendmail", 452, "4.4.5",
          "Insufficient disk space; try again later",
          "systemfull", "insufficient-disk-space"),
    _case("sendmail", 550, "5.3.0",
          "<someone@example.test>... unknown mailer error 1",
          "mailererror", "unknown-mailer-error"),
    _case("qmail", 550, None,
          "I'm not going to try again; this message has been in the queue too long.",
          "expired", "queue-too-long"),
    _case("courier", 513, None,
          "Relaying denied.",
          "norelaying", "relaying-denied"),
    _case("rfc3463", 452, "4.3.1",
          "Mail system full",
          "systemfull", "mail-system-full"),
    _case("rfc3463", 550, "5.3.2",
          "System not accepting network messages",
          "notaccept", "system-not-accepting"),
    _case("rfc3463", 554, "5.4.4",
          "Unable to route",
          "hostunknown", "unable-to-route"),
    _case("sophos", 554, "5.7.1",
          "Message blocked by the recipient's spam policy",
          "spamdetected", "recipient-spam-policy"),
    # --- RFC wordings used by many servers ---
    _case("rfc7504", 556, "5.1.10",
          "Recipient address has null MX",
          "notaccept", "recipient-null-mx"),
    _case("rfc7504", 521, "5.3.2",
          "example.test does not accept mail",
          "notaccept", "host-does-not-accept-mail"),
    _case("rfc3463", 551, "5.1.6",
          "User has moved; please try <new@example.test>",
          "hasmoved", "user-has-moved"),
    _case("rfc5321", 551, None,
          "User not local; please try <someone@other.example.test>",
          "hasmoved", "user-not-local"),
    _case("rfc3463", 550, "5.2.1",
          "Mailbox disabled, not accepting messages",
          "suspend", "mailbox-disabled"),
    _case("rfc5321", 451, None,
          "Requested action aborted: local error in processing",
          "systemerror", "local-error-in-processing"),
    _case("rfc3463", 554, "5.6.1",
          "Body type not supported by remote host",
          "contenterror", "body-type-not-supported"),
    _case("rfc3463", 554, "5.4.7",
          "Delivery time expired",
          "expired", "delivery-time-expired"),
    _case("rfc3463", 535, "5.7.8",
          "Authentication credentials invalid",
          "securityerror", "authentication-credentials-invalid"),
    _case("rfc3463", 530, "5.7.0",
          "Authentication required",
          "securityerror", "authentication-required"),
]
# fmt: on


@pytest.mark.parametrize(("provider", "code", "enhanced", "text", "reason"), CASES)
def test_provider_reply_gets_the_reason_its_wording_states(
    provider: str, code: int, enhanced: str | None, text: str, reason: str
) -> None:
    found = classify_smtp_reply(code, enhanced, text, f"<{RECIPIENT}>")

    assert found.reason == reason, f"{provider}: {text!r}"
    permanent_notaccept = reason == "notaccept" and code >= 500
    expected_kind = "hard" if reason in HARD_REASONS or permanent_notaccept else "soft"
    assert found.kind == expected_kind


# The same wording can mean different things at different stages of the dialogue:
# the rejected command decides between the address, the sender and the host.
STAGED = [
    pytest.param(
        "RCPT",
        550,
        "Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550",
        "userunknown",
        id="mimecast-invalid-recipient-at-rcpt",
    ),
    pytest.param(
        "RCPT",
        552,
        "1 Requested mail action aborted, mailbox not found",
        "userunknown",
        id="yahoo-mailbox-not-found-at-rcpt",
    ),
    pytest.param(
        "RCPT",
        550,
        "Mailbox not found. http://service.mail.qq.com/cgi-bin/help?"
        "subtype=1&&id=20022&&no=1000728",
        "userunknown",
        id="qq-mailbox-not-found-at-rcpt",
    ),
    pytest.param(
        "RCPT",
        550,
        "Unknown user someone@example.test",
        "userunknown",
        id="docomo-unknown-user-at-rcpt",
    ),
    pytest.param(
        "RCPT",
        550,
        "<someone@example.test>: User unknown",
        "userunknown",
        id="kddi-user-unknown-at-rcpt",
    ),
    pytest.param("RCPT", 550, "Unrouteable address", "userunknown", id="exim-unrouteable-at-rcpt"),
    pytest.param(
        "RCPT",
        550,
        "Message was not accepted -- invalid mailbox. Local mailbox "
        "someone@example.test is unavailable: user not found",
        "userunknown",
        id="mail.ru-user-not-found-at-rcpt",
    ),
    pytest.param(
        "RCPT", 550, "5.7.1 No such user!", "userunknown", id="yandex-no-such-user-at-rcpt"
    ),
    pytest.param(
        "RCPT",
        550,
        "User not found: someone@example.test",
        "userunknown",
        id="netease-user-not-found-at-rcpt",
    ),
    pytest.param("DATA", 550, "User unknown", "filtered", id="content-filter-user-unknown-at-data"),
    pytest.param(
        "DATA",
        554,
        "<someone@example.test>: Recipient address rejected: User unknown",
        "filtered",
        id="after-data-recipient-rejected",
    ),
    pytest.param("MAIL", 550, "5.7.1 Access denied", "rejected", id="access-denied-at-mail-from"),
    pytest.param(
        "MAIL",
        553,
        "5.7.1 Sender address rejected: not logged in",
        "rejected",
        id="sender-not-logged-in-at-mail-from",
    ),
    pytest.param(
        "CONN",
        554,
        "mx.example.test ESMTP not accepting messages from 192.0.2.1",
        "blocked",
        id="greeting-refused-at-connect",
    ),
    pytest.param(
        "CONN",
        554,
        "5.7.1 Missing reverse DNS for 192.0.2.1",
        "blocked",
        id="reverse-dns-at-connect",
    ),
    pytest.param(
        "CONN",
        421,
        "4.7.0 Too many connections from 192.0.2.1",
        "toomanyconn",
        id="too-many-connections-at-connect",
    ),
]


@pytest.mark.parametrize(("command", "code", "text", "reason"), STAGED)
def test_the_rejected_command_decides_ambiguous_wordings(
    command: str, code: int, text: str, reason: str
) -> None:
    assert classify_smtp_reply(code, None, text, RECIPIENT, command).reason == reason


def test_the_table_covers_the_reasons_servers_send() -> None:
    expected = {param.values[4] for param in CASES}
    sent_by_servers = set(ALL_REASONS) - {
        "mailererror",
        "onhold",
        "undefined",
        "delivered",
        "vacation",
        "feedback",
    }

    assert len(CASES) >= 120
    assert sent_by_servers - expected == set()


@pytest.mark.parametrize("command", ["RCPT", None])
def test_an_access_table_refusal_does_not_condemn_the_address(command: str | None) -> None:
    # Postfix words a local access-table REJECT like Exchange Online's unknown-recipient
    # answer, but with 5.7.1: a policy, not proof that the mailbox is gone.
    found = classify_smtp_reply(
        554,
        None,
        f"5.7.1 <{RECIPIENT}>: Recipient address rejected: Access denied",
        RECIPIENT,
        command,
    )

    assert found.kind == "soft"
    assert found.reason != "userunknown"
