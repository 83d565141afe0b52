"""Reason taxonomy: why a recipient bounced, from diagnostic text, enhanced status and reply code.

The reason names follow the widely used open bounce taxonomy (`userunknown`,
`mailboxfull`, `blocked`, ...). The order of the text rules matters: the most
specific wording wins, and the enhanced status code (RFC 3463) decides only
when the text says nothing recognisable, because servers often send a generic
code (5.7.1, 5.0.0) with a precise sentence.
"""

from __future__ import annotations

import re

from mailroom.bounce.classifier.model import Kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

HARD_REASONS: Final = frozenset({"userunknown", "hostunknown", "hasmoved"})
NOT_BOUNCE_REASONS: Final = frozenset({"delivered", "vacation", "feedback"})

ALL_REASONS: Final = (
    "userunknown",
    "hostunknown",
    "hasmoved",
    "notaccept",
    "mailboxfull",
    "suspend",
    "filtered",
    "rejected",
    "blocked",
    "spamdetected",
    "virusdetected",
    "policyviolation",
    "securityerror",
    "authfailure",
    "requireptr",
    "badreputation",
    "norelaying",
    "expired",
    "networkerror",
    "toomanyconn",
    "speeding",
    "systemerror",
    "systemfull",
    "mailererror",
    "mesgtoobig",
    "exceedlimit",
    "contenterror",
    "notcompliantrfc",
    "syntaxerror",
    "failedstarttls",
    "onhold",
    "undefined",
    "delivered",
    "vacation",
    "feedback",
)

# Text rules, tried in order on the lower-cased, whitespace-collapsed diagnostic.
# Each pattern is written from how MTAs phrase the failure, not from one message.
_TEXT_RULES: Final[list[tuple[str, str]]] = [
    # A local delivery program (pipe, procmail, maildrop) failed: not the address.
    (
        "mailererror",
        r"command (?:died|failed|output)|pipe to \||\bprocmail: |\bmaildrop: |couldn't create|"
        r"mailer error|unknown mailer|x-unix;|exit (?:status|code) \d|permission denied.*\|",
    ),
    (
        "notcompliantrfc",
        r"rfc ?(?:5322|2822|822|5321|2821)(?! ?;)|not (?:rfc[- ]?)?compliant|"
        r"(?:multiple|duplicate|missing|malformed|invalid) (?:from|to|date|message-id|subject|"
        r"header)",
    ),
    (
        "authfailure",
        r"\bdmarc\b|\bspf\b|\bdkim\b|sender policy framework|unauthenticated (?:e-?mail|mail)|"
        r"domain authentication|authentication (?:check )?fail(?:ed|ure)? for (?:sender|domain)|"
        r"\bsender domain .* authenticat",
    ),
    (
        "requireptr",
        r"reverse (?:dns|lookup|address|hostname)|\bptr\b|rdns|"
        r"(?:cannot|can't|could not|unable to) (?:find|resolve|verify) your (?:host ?name|ip)|"
        r"client host .* (?:not found|unknown)|no (?:host ?name|dns) for (?:your|the client)|"
        r"ip name lookup failed|mismatches client ip|does not match (?:your|the) (?:ip|client)|"
        r"hostname (?:lookup|does not resolve)|not match(?:ing)? (?:the )?(?:hostname|forward)",
    ),
    (
        "norelaying",
        r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|not (?:permitted|"
        r"allowed) to relay|"
        r"(?:unable|cannot|can't|will not|we do not|does not) relay|"
        r"relaying (?:is )?(?:prohibited|disallowed)|"
        r"no relaying|not a gateway|open relay|not configured to relay",
    ),
    (
        "badreputation",
        r"reputation|unexpected volume|user complaints|sender score|"
        r"temporarily (?:deferred|rejected) due to",
    ),
    ("virusdetected", r"\bvirus|malware|infected|trojan|\bworm\b"),
    (
        "spamdetected",
        r"\bspam(?!haus|cop)|unsolicited|bulk (?:e-?)?mail|junk mail|"
        r"message (?:content )?(?:rejected|refused) as|"
        r"\bube\b|content rejected|blacklisted (?:url|link|domain in)|uribl|surbl|"
        r"content (?:filter|scanner) (?:rejected|refused)|classified as (?:spam|junk)|"
        r"suspicious (?:content|message|url)|phishing|rejected due to content|score too high|"
        r"message looks like|mailbox unavailable.*content",
    ),
    (
        "toomanyconn",
        r"connection rate limit|too many (?:concurrent |simultaneous |open )?(?:connections|"
        r"sessions|smtp sessions)|"
        r"connection limit|(?:concurrent|simultaneous) connections",
    ),
    (
        "speeding",
        r"rate limit|ratelimit|too many (?:messages|mails|emails|recipients this|sends)|"
        r"sending rate|receiving mail at a rate|exceeded (?:the )?(?:rate|sending)|throttl|"
        r"too fast|message rate",
    ),
    (
        "hasmoved",
        r"has moved|(?:address|mailbox|user) (?:has )?(?:changed|relocated|moved)|"
        r"no longer (?:valid at|at this address)|forwarding address|new address is",
    ),
    (
        "notaccept",
        r"does not accept (?:e-?)?mail|not accepting (?:any )?(?:e-?)?mail|accepts no mail|null mx|"
        r"no mx (?:record|host)|has no mx|domain .* does not receive mail|"
        r"mx (?:record )?(?:lookup )?failed",
    ),
    (
        "mesgtoobig",
        r"(?:message|mail|email) (?:is )?too (?:large|big)|message size (?:exceeds|limit)|"
        r"size (?:limit )?exceeded|exceeds (?:the )?(?:maximum )?(?:message )?size|"
        r"message (?:length|file) (?:exceeds|too)|larger than (?:the )?(?:maximum|allowed)",
    ),
    (
        "mailboxfull",
        r"mailbox (?:is )?full|(?:mail ?box|inbox|account|user|disk|storage) (?:is )?over ?quota|"
        r"quota (?:exceeded|exceed|full|violation)|exceed(?:ed|s)? (?:the |its |his |her |their )?"
        r"(?:storage|quota|mailbox)|over (?:the )?quota|mailbox (?:size|storage) limit|"
        r"insufficient (?:user )?(?:storage|space)|full mailbox|too much mail|mail ?box full|"
        r"not enough (?:storage|space)|no space left in",
    ),
    (
        "systemfull",
        r"insufficient system (?:storage|resources)|(?:disk|file ?system|"
        r"system storage) (?:is )?full|"
        r"out of (?:disk|storage)|no space left on device",
    ),
    (
        "suspend",
        r"(?:account|mailbox|user|address) (?:has been |is |was )?(?:temporarily )?"
        r"(?:disabled|suspended|inactive|deactivated|locked|blocked by admin|frozen|not active|"
        r"expired)|"
        r"inactive (?:account|mailbox|user)|suspended (?:account|mailbox)|"
        r"disabled (?:account|mailbox|recipient)|extended inactivity|mailbox is not active",
    ),
    (
        "rejected",
        r"sender (?:address )?(?:rejected|refused|denied|blocked|not allowed|verify failed)|"
        r"(?:domain|address) of sender|sender (?:domain|address) (?:must|does not|is invalid|"
        r"unknown)|"
        r"mail from .* (?:rejected|refused|denied)|invalid sender|bad sender|from address rejected|"
        r"not (?:allowed|authorized|permitted) to (?:post|send)|your envelope sender|"
        r"sender is (?:not|black)|rejected (?:your|the) sender|from:? domain (?:is )?invalid",
    ),
    (
        "hostunknown",
        r"host (?:or domain name )?not found|(?:couldn't|could not|cannot|can't|"
        r"unable to) find any host|"
        r"no such (?:domain|host)|unknown (?:host|domain)|domain (?:name )?(?:not found|"
        r"does not exist|"
        r"doesn't exist|is invalid)|name service error|nxdomain|unrouteable (?:mail )?domain|"
        r"unroutable domain|host unknown|bad destination (?:host|system)|invalid domain",
    ),
    (
        "userunknown",
        r"(?:user|recipient|mailbox|address|account|addressee|local part|local-part) "
        r"(?:is )?(?:unknown|not found|not exist|does not exist|doesn't exist|does not exists|"
        r"invalid|not valid|unavailable|not recognized|not listed|nonexistent|non-existent|"
        r"disabled)|"
        r"unknown (?:user|recipient|mailbox|address|local ?part|account)|"
        r"no such (?:user|mailbox|recipient|address|account|local user|person)|"
        r"(?:invalid|bad|unknown|non-?existent) (?:recipient|mailbox|address|user|account|"
        r"destination mailbox)|"
        r"no mailbox (?:here|by that name|found)|not (?:a )?(?:valid|known) (?:user|recipient|"
        r"mailbox)|"
        r"user doesn't have .* account|does not have an? (?:e-?mail )?account|"
        r"(?:account|mailbox|user|address) (?:that you tried to reach )?(?:does not|doesn't) exist|"
        r"recipient name is not recognized|not listed in (?:public )?(?:name|domino|the directory)|"
        r"unrouteable address|undeliverable address|recipient rejected|recipnotfound|"
        r"no valid recipients|user not found|mailbox not found|unknown or illegal alias|"
        r"(?:is|was) not (?:a )?(?:valid|registered) (?:e-?mail )?(?:address|user)|"
        # a gateway that answers only "<address> Rejected" (Symantec Email Security.cloud)
        r"^[45]\d\d [^\s@]+@[^\s@]+ rejected$",
    ),
    (
        "policyviolation",
        r"potential security issue|blocked because its content presents|local policy violation|"
        r"protocol violation|violat(?:es|ion of) (?:our|the|local)|"
        # Mimecast refuses connections from networks its customer's policy does not allow
        r"host network not allowed",
    ),
    (
        "blocked",
        r"\bblock(?:ed|list)|black ?list|\brbl\b|dnsbl|spamhaus|spamcop|barracudacentral|"
        r"listed (?:in|on|at) |(?:ip|host|client|connection|your server) .*(?:rejected|refused|"
        r"denied|banned)|"
        r"banned|dynamic (?:ip|address)|dial-?up|residential|"
        r"use the smtp server of your isp|not allowed to (?:connect|send mail from)|"
        r"service refused|refused to talk|connection refused by|poor reputation ip",
    ),
    (
        "policyviolation",
        r"policy (?:violation|reasons|rejection)|violat(?:es|ion of) (?:our|the|local)|"
        r"local policy|acceptable use|\bpolicy\b",
    ),
    (
        "securityerror",
        r"authentication (?:required|failed|is required)|must (?:be )?authenticat|"
        r"not authorized|unauthori[sz]ed|submission requires|security (?:policy|error|reasons)|"
        r"sender (?:is )?not (?:authorized|allowed)|impersonat|forged|spoof|access denied",
    ),
    (
        "failedstarttls",
        r"starttls|tls (?:is )?required|must issue a starttls|encryption (?:is )?required|"
        r"tls negotiation failed|requires? (?:secure|encrypted) connection",
    ),
    (
        "contenterror",
        r"header (?:too long|line too long|syntax|error)|invalid (?:mime|content)|"
        r"8-?bit (?:data|characters)|bare (?:lf|cr|linefeed)|content error|"
        r"message (?:content )?(?:not|is not) (?:allowed|accepted)|attachment (?:not allowed|"
        r"blocked)",
    ),
    (
        "syntaxerror",
        r"syntax error|command (?:not )?(?:unrecognized|recognized)|unrecognized command|"
        r"bad sequence of commands|command not implemented|line too long",
    ),
    (
        "expired",
        r"retry (?:time ?out|timeout|period)|delivery time expired|message (?:has )?expired|"
        r"queue(?:d)? too long|time(?:d)? ?out|gave up|giving up|could not be delivered (?:for|"
        r"within|in)|"
        r"deferred for|undeliverable for|has been delayed|message is older than|"
        r"no (?:further )?retries|expired after|not (?:been )?delivered within|"
        r"(?:could not|cannot|unable to) connect|connection (?:timed out|refused|reset)|"
        r"socket error|"
        r"host (?:is )?not (?:reachable|responding)|not responding|"
        r"did not accept our requests to connect",
    ),
    (
        "networkerror",
        r"network (?:is )?(?:unreachable|error)|no route to host|connection (?:closed|"
        r"failed|dropped|lost)|too many hops|mail loop|"
        r"loops? back to (?:me|myself)|routing loop|dns (?:lookup )?(?:failure|error|problem)|"
        r"temporary (?:lookup|dns) failure|lost connection|host (?:is )?unreachable|"
        r"hop count exceeded|name server|mx lookup",
    ),
    (
        "systemerror",
        r"system (?:error|problem|failure|config)|internal (?:server )?error|server error|"
        r"local error|configuration error|temporar(?:y|ily) (?:failure|unavailable|not available)|"
        r"transaction failed|service (?:is )?(?:currently |"
        r"temporarily )?(?:not )?(?:un)?available|try again later|resources? temporarily|"
        r"mail server (?:is )?(?:down|busy)|server busy",
    ),
    (
        "exceedlimit",
        r"(?:exceed|over) (?:the |a )?(?:limit|maximum)|limit exceeded|too many (?:recipients|"
        r"lines)",
    ),
]

_COMPILED_RULES: Final = [(reason, re.compile(pattern)) for reason, pattern in _TEXT_RULES]

# RFC 3463 enhanced status → reason, for when the text says nothing recognisable.
# Keys are "class-less" subject.detail strings; the class (4/5) matters only for kind.
_STATUS_REASONS: Final[dict[str, str]] = {
    "1.1": "userunknown",
    "1.2": "hostunknown",
    "1.3": "userunknown",
    "1.4": "userunknown",
    "1.6": "hasmoved",
    "1.7": "rejected",
    "1.8": "rejected",
    # Microsoft (and others) use x.1.10 for "recipient not found"; RFC 7505 null MX
    # is rarer in bounces and is recognised from the text.
    "1.10": "userunknown",
    "2.1": "suspend",
    "2.2": "mailboxfull",
    "2.3": "exceedlimit",
    "2.4": "filtered",
    "3.0": "systemerror",
    "3.1": "systemfull",
    "3.2": "notaccept",
    "3.3": "systemerror",
    "3.4": "mesgtoobig",
    "3.5": "systemerror",
    "4.0": "networkerror",
    "4.1": "networkerror",
    "4.2": "networkerror",
    "4.3": "systemerror",
    "4.4": "hostunknown",
    "4.5": "networkerror",
    "4.6": "networkerror",
    "4.7": "expired",
    "5.1": "syntaxerror",
    "5.2": "syntaxerror",
    "5.3": "exceedlimit",
    "5.4": "syntaxerror",
    "6.0": "contenterror",
    "6.1": "contenterror",
    "6.2": "contenterror",
    "6.3": "contenterror",
    "6.4": "contenterror",
    "6.5": "contenterror",
    "7.0": "securityerror",
    "7.1": "rejected",
    "7.2": "filtered",
    "7.3": "securityerror",
    "7.4": "securityerror",
    "7.5": "securityerror",
    "7.6": "securityerror",
    "7.7": "securityerror",
    "7.8": "securityerror",
    "7.9": "policyviolation",
    "7.10": "failedstarttls",
    "7.11": "failedstarttls",
    "7.12": "securityerror",
    "7.13": "suspend",
    "7.14": "securityerror",
    "7.15": "securityerror",
    "7.16": "mesgtoobig",
    "7.17": "suspend",
    "7.18": "suspend",
    "7.19": "suspend",
    "7.20": "authfailure",
    "7.21": "authfailure",
    "7.22": "authfailure",
    "7.23": "authfailure",
    "7.24": "authfailure",
    "7.25": "requireptr",
    "7.26": "authfailure",
    "7.27": "notaccept",
    "7.28": "spamdetected",
    "7.29": "authfailure",
    "7.30": "authfailure",
}

# Codes specific enough to beat generic wording in the text.
_DECISIVE_STATUS: Final = frozenset(
    {"1.1", "1.2", "1.6", "1.10", "2.2", "3.4", "4.7", "7.25", "7.26", "7.27", "7.23", "7.24"}
)

STATUS_RE: Final = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
REPLY_CODE_RE: Final = re.compile(r"(?<![\d.])([245][0-5]\d)(?=[\s\-:]|$)")
_SPACES: Final = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower-case and collapse whitespace, so rules can match across wrapped lines."""
    return _SPACES.sub(" ", text).strip().lower()


def find_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code in `text` (`5.1.1`), if any."""
    match = STATUS_RE.search(text)
    if match is None:
        return None
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"


def find_reply_code(text: str) -> int | None:
    """The first failure SMTP reply code (4xx/5xx) in `text` (`550`), if any."""
    for match in REPLY_CODE_RE.finditer(text):
        if match.group(1)[0] != "2":
            return int(match.group(1))
    return None


def reason_from_text(text: str) -> str | None:
    """The first text rule that matches the normalised `text`, or None."""
    if not text:
        return None
    for reason, pattern in _COMPILED_RULES:
        if pattern.search(text):
            return reason
    return None


def reason_from_status(status: str | None) -> str | None:
    """The reason an enhanced status code stands for, or None when it is generic (x.0.0)."""
    if not status:
        return None
    _, _, rest = status.partition(".")
    if rest in _STATUS_REASONS:
        return _STATUS_REASONS[rest]
    if _is_microsoft_ip_block(rest):
        return "blocked"
    return None


def _is_microsoft_ip_block(detail: str) -> bool:
    """Exchange Online's 5.7.606-5.7.649 (banned sending IP) and 5.7.7xx (access denied) codes."""
    subject, _, number = detail.partition(".")
    return subject == "7" and len(number) == 3 and number[0] in "67" and number.isdigit()


# Wording that can only come from the receiving system's own directory lookup
# (Exchange, Domino, Google, Hotmail). A bare "user unknown" is also what content
# filters and relays answer, so without an address status or a rejected RCPT it
# is read as a filter.
_DIRECTORY_WORDING: Final = re.compile(
    r"recipient name is not recognized|not listed in (?:the |public )?(?:domino|name|directory)|"
    r"address (?:couldn't|could not|wasn't|was not) (?:be )?found|\baddress not found|"
    r"requested action not taken: mailbox unavailable|^[45]\d\d [^\s@]+@[^\s@]+ rejected$"
)


_NOT_A_HOST_BLOCK: Final = frozenset(
    {
        "toomanyconn",
        "speeding",
        "badreputation",
        "systemerror",
        "systemfull",
        "networkerror",
        "expired",
        "failedstarttls",
        "norelaying",
    }
)
_VAGUE_AT_MAIL_FROM: Final = frozenset(
    {"securityerror", "policyviolation", "filtered", "userunknown", "hostunknown", "onhold"}
)


def decide_reason(
    status: str | None, smtp_code: int | None, text: str, command: str | None = None
) -> str:
    """Combine diagnostic text, enhanced status, reply code and SMTP command into a reason.

    `text` must already be normalised (see `normalise_text`); `command` is the SMTP
    command the remote server rejected (`RCPT`, `DATA`, `MAIL`), when the bounce says.
    """
    reason = _base_reason(status, smtp_code, text)
    if command == "CONN" and reason not in _NOT_A_HOST_BLOCK:
        # refused before any mail command: the sending host itself is not wanted
        return "blocked"
    if command == "MAIL" and reason in _VAGUE_AT_MAIL_FROM:
        # refused at MAIL FROM: the sender is what the receiving server rejects
        return "rejected"
    if reason == "userunknown":
        reason = _user_or_filter(status, text, command)
    elif reason == "hostunknown" and status is not None and status[0] == "4":
        # a temporary DNS failure does not prove the domain is gone
        reason = "networkerror"
    return reason


def _user_or_filter(status: str | None, text: str, command: str | None) -> str:
    """A "no such user" answer after DATA, or with a non-address status, is a content filter."""
    if status is not None and status.partition(".")[2].startswith("1."):
        return "userunknown"
    if command == "DATA":
        return "filtered"
    if command == "RCPT":
        return "userunknown"
    if status is not None:
        detail = status.partition(".")[2]
        if detail.startswith("1.") or detail in ("0.0", "5.0"):
            pass
        else:
            return "filtered"
        if detail.startswith("1."):
            return "userunknown"
    if _DIRECTORY_WORDING.search(text):
        return "userunknown"
    return "filtered"


# Orange / Wanadoo append their own error number (`ofr_506`, `OFR005_505`).
_ORANGE_CODE: Final = re.compile(r"\bofr\d*_(\d{3})\b")
_ORANGE_REASONS: Final = {
    "505": "systemerror",  # "service refused, please try later": the platform is overloaded
    "506": "spamdetected",  # "mail rejected": the message was judged to be spam
}


def _base_reason(status: str | None, smtp_code: int | None, text: str) -> str:
    orange = _ORANGE_CODE.search(text) if "ofr" in text else None
    if orange is not None and orange.group(1) in _ORANGE_REASONS:
        return _ORANGE_REASONS[orange.group(1)]
    by_text = reason_from_text(text)
    by_status = reason_from_status(status)
    if by_status is not None and status is not None:
        detail = status.partition(".")[2]
        # A precise code beats generic wording, except where the text shows the
        # failure is somewhere else (a local pipe) or more precise (null MX).
        text_overrides = by_text in ("mailererror", "notaccept", "hasmoved") or (
            by_status == "userunknown" and by_text in ("filtered", "suspend")
        )
        decisive = detail in _DECISIVE_STATUS or _is_microsoft_ip_block(detail)
        if decisive and not text_overrides:
            return by_status
    if by_text is not None:
        return by_text
    if by_status is not None:
        return by_status
    status_class = status[0] if status else (str(smtp_code)[0] if smtp_code else None)
    if status_class == "4":
        # A bounce that reports a temporary failure means the sender's MTA gave up retrying.
        return "expired"
    return "onhold"


def kind_for(reason: str, status: str | None, smtp_code: int | None = None) -> Kind:
    """Hard when the address itself is permanently gone; soft for every other failure."""
    if reason in HARD_REASONS:
        return "hard"
    if reason == "notaccept":
        permanent = (status or "").startswith("5") or (
            status is None and (smtp_code is None or smtp_code >= 500)
        )
        return "hard" if permanent else "soft"
    if reason in NOT_BOUNCE_REASONS:
        return "unknown"
    return "soft"
