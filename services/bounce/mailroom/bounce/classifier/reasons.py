"""Reason taxonomy: why a recipient bounced, from diagnostic text, enhanced status and reply code.

The reason names follow the widely used open bounce taxonomy (`userunknown`,
`mailboxfull`, `blocked`, ...). The order of the text rules matters: the most
specific wording wins, and the enhanced status code (RFC 3463) decides only
when the text says nothing recognisable, because servers often send a generic
code (5.7.1, 5.0.0) with a precise sentence.
"""

from __future__ import annotations

from mailroom.bounce.classifier.model import Kind
from mailroom.bounce.classifier.patterns import AnyWording, LazyPattern, Phrase

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
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

# Text rules, tried in order on the lower-cased, whitespace-collapsed diagnostic:
# (reason, keywords, wordings). Each wording is a regular expression written from
# how MTAs phrase the failure, not from one message. Every match of a wording
# contains one of the rule's keywords that occur in the wording's own text
# (tests/unit/bounce checks this on the parsed pattern), so a text that holds none
# of them cannot match and the search is skipped.
_TEXT_RULES: Final[list[tuple[str, tuple[str, ...], tuple[str, ...]]]] = [
    # A local delivery program (pipe, procmail, maildrop) failed: not the address.
    (
        "mailererror",
        (
            "command ",
            "pipe to",
            "procmail",
            "maildrop",
            "couldn't create",
            "mailer",
            "x-unix",
            "exit ",
            "permission denied",
        ),
        (
            r"command (?:died|failed|output)",
            r"pipe to \|",
            r"\bprocmail: ",
            r"\bmaildrop: ",
            r"couldn't create",
            r"mailer error",
            r"unknown mailer",
            r"x-unix;",
            r"exit (?:status|code) \d",
            r"permission denied.*\|",
        ),
    ),
    (
        "notcompliantrfc",
        ("rfc", "compliant", "multiple", "duplicate", "missing", "malformed", "invalid"),
        (
            # not "rfc 5321; ..." (a diagnostic type), "not a valid rfc 5321 address" nor a
            # citation in brackets ("the from: header (rfc5322) isn't aligned with spf")
            r"rfc ?(?:5322|2822|822|5321|2821)(?! ?;| address|\))",
            r"not (?:rfc[- ]?)?compliant",
            r"(?:multiple|duplicate|missing|malformed|invalid) (?:a valid (?:address in )?)?"
            r"(?:from|to|date|message-id|subject|header)",
        ),
    ),
    (
        "authfailure",
        ("dmarc", "spf", "dkim", "sender policy framework", "authenticat"),
        (
            r"\bdmarc\b",
            r"\bspf\b",
            r"\bdkim\b",
            r"sender policy framework",
            r"unauthenticated (?:e-?mail|mail)",
            r"domain authentication",
            r"authentication (?:check )?fail(?:ed|ure)? for (?:sender|domain)",
            r"\bsender domain .* authenticat",
        ),
    ),
    (
        "requireptr",
        (
            "reverse ",
            "ptr",
            "rdns",
            " your ",
            "client host",
            " for ",
            "ip name lookup",
            "mismatches",
            "not match",
            "hostname ",
            "dns look-up",
        ),
        (
            r"reverse (?:dns|lookup|address|hostname)",
            r"\bptr\b",
            r"rdns",
            r"(?:cannot|can't|could not|unable to) (?:find|resolve|verify) your (?:host ?name|ip)",
            r"client host .* (?:not found|unknown)",
            r"no (?:host ?name|dns) for (?:your|the client)",
            r"ip name lookup failed",
            r"mismatches client ip",
            r"does not match (?:your|the) (?:ip|client)",
            r"hostname (?:lookup|does not resolve)",
            r"not match(?:ing)? (?:the )?(?:hostname|forward)",
            # AT&T's refusal of a sending IP whose reverse lookup fails
            r"failure in dns look-up",
        ),
    ),
    # The sending host itself is refused: a DNS block list ("blocked using <list>", even
    # a list named after reputation), or an address range the receiver takes no mail
    # from directly. These sentences also say "does not relay", "reputation" or
    # "mail from ... rejected", which name other reasons when they stand alone.
    (
        "blocked",
        (
            "blocked using",
            "listing ",
            "dynamically",
            "directly",
            "client host blocked",
            "unauthorized interface",
        ),
        (
            r"blocked using",
            r"client host blocked",
            r"(?:due to|because of) (?:a |its |the )?listing (?:in|on|at) ",
            r"dynamically[- ]assigned",
            r"not authorized to send (?:e-?mail|mail) directly",
            # AT&T: the sending host is not a recognised source of mail
            r"unauthorized interface for",
        ),
    ),
    (
        "norelaying",
        ("relay", "not a gateway", "rcpthosts"),
        (
            r"relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))",
            r"not (?:permitted|allowed) to relay",
            r"(?:unable to|cannot|can't|will not|we do not|does not) relay",
            r"relaying (?:is )?(?:prohibited|disallowed)",
            r"no relaying",
            r"not a gateway",
            r"open relay",
            r"not configured to relay",
            # qmail: the recipient domain is not one it accepts or relays for
            r"list of allowed rcpthosts",
        ),
    ),
    # The envelope sender's domain does not resolve (Yahoo words it as a deferral).
    (
        "rejected",
        ("unresolvable",),
        (r"unresolvable (?:rfc.?5321 )?(?:mail ?)?from domain",),
    ),
    (
        "badreputation",
        ("reputation", "unexpected volume", "user complaints", "sender score", "due to"),
        (
            r"reputation",
            r"unexpected volume",
            r"user complaints",
            r"sender score",
            r"temporarily (?:deferred|rejected) due to",
        ),
    ),
    # "mail from your IP has been temporarily rate limited" explains itself with "spam" or
    # "unsolicited": the action taken is the limit.
    (
        "speeding",
        ("rate",),
        (r"(?:been|being) (?:temporarily )?rate[- ]limited",),
    ),
    (
        "virusdetected",
        ("virus", "malware", "infected", "trojan", "worm"),
        (
            r"\bvirus",
            r"malware",
            r"infected",
            r"trojan",
            r"\bworm\b",
        ),
    ),
    (
        "spamdetected",
        (
            "spam",
            "unsolicited",
            "bulk ",
            "junk mail",
            "message ",
            "ube",
            "content",
            "blacklisted ",
            "uribl",
            "surbl",
            "classified as",
            "suspicious ",
            "phishing",
            "score too high",
            "dt:spm",
        ),
        (
            r"\bspam(?!haus|cop)",
            r"unsolicited",
            r"bulk (?:e-?)?mail",
            r"junk mail",
            r"message (?:content )?(?:rejected|refused) as",
            r"\bube\b",
            r"content (?:rejected|denied)",
            r"blacklisted (?:url|link|domain in)",
            r"uribl",
            r"surbl",
            r"content (?:filter|scanner) (?:rejected|refused)",
            r"classified as (?:spam|junk)",
            r"suspicious (?:content|message|url)",
            r"phishing",
            # NetEase's documented code for a message its filter took for spam
            r"dt:spm",
            r"rejected due to content",
            r"score too high",
            r"message looks like",
            r"mailbox unavailable.*content",
        ),
    ),
    (
        "toomanyconn",
        ("connection", "too many "),
        (
            r"connection rate limit",
            r"too many (?:concurrent |simultaneous |open )?(?:smtp )?(?:connections|sessions)",
            r"connection limit",
            r"(?:concurrent|simultaneous) connections",
        ),
    ),
    (
        "speeding",
        (
            "rate",
            "too many ",
            "exceeded ",
            "throttl",
            "too fast",
            "too quickly",
            "too much mail from",
            "frequency limit",
            "limit",
            "sending ",
        ),
        (
            r"rate limit",
            r"ratelimit",
            r"too many (?:messages|mails|emails|recipients this|recipients from|sends)",
            r"sending rate",
            r"receiving mail at a rate",
            r"exceeded (?:the )?(?:rate|sending)",
            r"throttl",
            r"too fast",
            r"too quickly",
            r"message rate",
            # a per-client count (Postfix anvil), not the recipient's mailbox
            r"too much mail from",
            r"frequency limit",
            # the sender's own daily allowance, not the recipient's mailbox quota
            r"sending (?:quota|limit)",
            r"limits? (?:for|on) (?:how many|the number of) (?:messages|e-?mails|mails)",
            # Exchange Online: the recipient's mailbox receives too many messages too quickly
            r"recipient thread limit",
        ),
    ),
    (
        "hasmoved",
        (
            "moved",
            "changed",
            "relocated",
            "no longer ",
            "forwarding address",
            "new address is",
            "not local",
        ),
        (
            r"has moved",
            r"(?:address|mailbox|user) (?:has )?(?:changed|relocated|moved)",
            r"no longer (?:valid at|at this address)",
            r"forwarding address",
            r"new address is",
            # RFC 5321's 551 reply names where the user is now
            r"not local; please try",
        ),
    ),
    (
        "notaccept",
        ("accept", "null mx", "has no mx", "mx ", "does not receive mail"),
        (
            r"does not accept (?:e-?)?mail",
            r"not accepting (?:any )?(?:e-?)?mail",
            r"accepts no mail",
            r"null mx",
            r"no mx (?:record|host)",
            r"has no mx",
            r"domain .* does not receive mail",
            r"mx (?:record )?(?:lookup )?failed",
        ),
    ),
    (
        "mesgtoobig",
        ("too ", "size", "length", "file", "larger than"),
        (
            r"(?:message|mail|email) (?:is )?too (?:large|big)",
            r"message size (?:exceeds|limit)",
            r"size (?:limit )?exceeded",
            r"exceeds (?:the )?(?:maximum )?(?:message )?size",
            r"message (?:length|file) (?:exceeds|too)",
            r"larger than (?:the )?(?:maximum|allowed)",
            r"mail ?size limit",
        ),
    ),
    (
        "mailboxfull",
        (
            "full",
            "quota",
            "exceed",
            "limit",
            "insufficient",
            "too much mail",
            "not enough",
            "no space left",
        ),
        (
            r"mailbox (?:is )?full",
            r"(?:mail ?box|inbox|account|user|disk|storage) (?:is )?over ?quota",
            r"quota (?:exceeded|exceed|full|violation)",
            r"exceed(?:ed|s)? (?:the |its |his |her |their )?(?:storage|quota|mailbox)",
            r"over (?:the )?quota",
            r"mailbox (?:size|storage) limit",
            r"insufficient (?:user )?(?:storage|space)",
            r"full mailbox",
            r"too much mail",
            r"mail ?box full",
            r"inbox (?:is )?full",
            r"not enough (?:storage|space)",
            r"no space left in",
        ),
    ),
    (
        "systemfull",
        ("insufficient system", "insufficient disk", "full", "out of ", "no space left"),
        (
            r"insufficient system (?:storage|resources)",
            r"insufficient disk space",
            r"(?:disk|file ?system|system storage) (?:is )?full",
            r"out of (?:disk|storage)",
            r"no space left on device",
        ),
    ),
    (
        "suspend",
        ("disabled", "suspend", "activ", "locked", "blocked by admin", "frozen", "expired"),
        (
            r"(?:account|mailbox|user|address) (?:has been |is |"
            r"was |currently )?(?:temporarily )?(?:disabled|suspended|inactive|deactivated|locked|"
            r"blocked by admin|frozen|not active|expired)",
            r"inactive (?:account|mailbox|user)",
            r"suspended (?:account|mailbox)",
            r"disabled (?:account|mailbox|recipient)",
            r"extended inactivity",
            r"mailbox is not active",
        ),
    ),
    # The recipient's own settings refused this sender or message.
    (
        "filtered",
        ("preferences",),
        (r"recipient(?:'s)? preferences",),
    ),
    (
        "rejected",
        ("send", "post", "mail from", "from address rejected", "invalid"),
        (
            r"sender (?:address )?(?:rejected|refused|denied|blocked|not allowed|verify failed|"
            r"verification failed)",
            r"(?:domain|address) of sender",
            r"sender (?:domain|address) (?:must|does not|is invalid|unknown)",
            r"mail from .* (?:rejected|refused|denied)",
            r"invalid sender",
            r"bad sender",
            r"from address rejected",
            r"not (?:allowed|authorized|permitted) to (?:post|send)",
            # a list that takes posts from its subscribers only (ezmlm, Majordomo)
            r"only (?:list )?(?:subscribers|members) (?:may|can) (?:post|send)",
            r"your envelope sender",
            r"sender is (?:not|black)",
            r"rejected (?:your|the) sender",
            r"from:? domain (?:is )?invalid",
            r"requires (?:a )?valid sender",
        ),
    ),
    (
        "hostunknown",
        (
            "not found",
            "find any host",
            "no such",
            "unknown",
            "domain",
            "name service error",
            "bad destination",
            "existent host",
        ),
        (
            r"host (?:or domain name )?not found",
            r"(?:couldn't|could not|cannot|can't|unable to) find any host",
            r"no such (?:domain|host)",
            r"unknown (?:host|domain)",
            r"domain (?:name )?(?:not found|does not exist|doesn't exist|is invalid)",
            r"name service error",
            r"nxdomain",
            r"unrouteable (?:mail )?domain",
            r"unroutable domain",
            r"host unknown",
            r"bad destination (?:host|system)",
            r"invalid domain",
            # Exchange 2003: no MX or A record for the recipient's domain
            r"could not be found in (?:the )?domain name service",
            r"domain [^\s]+ (?:does not|doesn't) exist",
            r"non-?existent domain",
            # every MX host of the domain is missing from the DNS (Exim)
            r"non-?existent host",
        ),
    ),
    (
        "userunknown",
        (
            "user",
            "recipient",
            "mailbox",
            "address",
            "account",
            "local",
            "no such",
            "not listed",
            "recipnotfound",
            "alias",
            " rejected",
        ),
        (
            r"(?:user|recipient|mailbox|address|account|addressee|local part|local-part) "
            r"(?:is )?(?:unknown|not found|not exist|does not exist|doesn't exist|does not exists|"
            r"invalid|not valid|unavailable|not recognized|not listed|nonexistent|non-existent|"
            r"disabled)",
            r"unknown (?:user|recipient|mailbox|address|local ?part|account)",
            r"no such (?:user|mailbox|recipient|address|account|local user|person)",
            r"(?:invalid|bad|unknown|non-?existent) (?:recipient|mailbox|address|user|account|"
            r"destination mailbox)",
            r"no mailbox (?:here|by that name|found)",
            r"not (?:a )?(?:valid|known) (?:user|recipient|mailbox)",
            r"user doesn't have .* account",
            r"does not have an? (?:e-?mail )?account",
            r"(?:account|mailbox|user|address) (?:that you tried to reach )?(?:does not|doesn't) "
            r"exist",
            r"recipient name is not recognized",
            r"not listed in (?:public )?(?:name|domino|the directory)",
            r"unrouteable address",
            r"undeliverable address",
            r"recipient rejected",
            r"recipnotfound",
            r"address (?:you entered )?(?:couldn't|could not) be found",
            r"no valid recipients",
            r"user not found",
            r"mailbox not found",
            r"unknown or illegal alias",
            r"(?:is|was) not (?:a )?(?:valid|registered) (?:e-?mail )?(?:address|user)",
            # a gateway that answers only "<address> Rejected" (Symantec Email Security.cloud)
            r"^[45]\d\d [^\s@]+@[^\s@]+ rejected$",
        ),
    ),
    # A message that expired in the queue, whatever the last attempt's error was
    # ("connection refused" would otherwise read as a block): a bounce that reports a
    # failed TCP connection, or hosts not retried any more, comes after the retries.
    (
        "expired",
        ("expired", "connection refused", "retry time not reached", "failing for a long time"),
        (
            r"message (?:has )?expired",
            r"connect to .*: connection refused",
            r"retry time not reached",
            r"failing for a long time",
        ),
    ),
    (
        "policyviolation",
        ("security issue", "content presents", "violat", "host network not allowed"),
        (
            r"potential security issue",
            r"blocked because its content presents",
            r"local policy violation",
            r"protocol violation",
            r"violat(?:es|ion of) (?:our|the|local)",
            # Mimecast refuses connections from networks its customer's policy does not allow
            r"host network not allowed",
        ),
    ),
    # Localised notices. Most servers reply in English even inside a translated notice, so
    # the English wordings above are read first; these come before the generic English
    # words below (block, policy, denied, time-outs, "try again later"), which would
    # otherwise hide the reason a translated sentence states, and keep the order of the
    # English rules. Every text that gets this far is searched for their keywords, so a
    # keyword is a word stem that English text does not hold, shared between languages
    # where one exists ("bek" of unbekannt and onbekend, "descon" of desconocido and
    # desconhecido).
    (
        "virusdetected",
        ("ルス", "病毒", "вирус", "바이러스"),
        (
            # a virus was found: not the bare word, which NetEase's rate-limit replies use to
            # ask whether the sender's users are sending viruses
            r"ウ(?:イ|ィ)ルス(?:が|を)?(?:検出|検知|含まれ|発見)",
            r"(?:含有|包含|发现|检测到|感染)(?:了)?病毒",
            r"(?:обнаружен|содержит|найден|заражено) вирус",
            r"바이러스(?:가|를)? ?(?:발견|감지|포함|검출)",
        ),
    ),
    (
        "spamdetected",
        ("спам", "垃圾邮件", "迷惑メール", "스팸"),
        (
            r"спам",
            # NetEase names spam also in the advice of its connection and rate-limit replies
            r"(?:识别|判定|认定|视为|判断|认为)为垃圾邮件",
            r"垃圾邮件特征",
            r"迷惑メール(?:と|として)(?:判定|判断|認定|検知)",
            r"스팸(?:으로|메일로)? ?(?:분류|판단|판정|의심|차단)",
        ),
    ),
    (
        "toomanyconn",
        ("verbindungen", "connexions", "连接数"),
        (
            r"zu viele (?:gleichzeitige )?verbindungen",
            r"trop de connexions",
            r"连接数(?:过大|过多|超过)",
        ),
    ),
    (
        "speeding",
        ("发",),
        (
            # NetEase: too much mail from the IP in a short time, or from one sender
            r"短期内发送了大量信件",
            r"发信数量超(?:过|出)",
            r"(?:发送|发信)频率过(?:高|快)",
        ),
    ),
    (
        "mesgtoobig",
        ("zu gro", "volumineux", "grande", "te groot", "duża", "příliš", "размер", "大", "크기"),
        (
            r"(?:nachricht|e-mail|mail) (?:ist )?(?:zu groß|zu gross)",
            r"(?:message|courriel) trop volumineux",
            r"(?:mensaje|correo) (?:es )?demasiado grande",
            r"mensagem (?:é )?muito grande",
            r"messaggio (?:è )?troppo grande",
            r"bericht (?:is )?te groot",
            r"wiadomość (?:jest )?(?:za duża|zbyt duża)",
            r"příliš velk(?:á|ý)",
            r"размер (?:письма|сообщения)",
            r"(?:邮件|信件)(?:过大|太大|大小超过|大小超出)",
            r"超过(?:了)?(?:邮件)?大小限制",
            r"(?:メール|メッセージ)(?:の)?(?:サイズ|容量)が大きすぎ",
            r"크기가 (?:너무 )?(?:커서|큽니다|초과)",
        ),
    ),
    (
        "mailboxfull",
        (
            "vol",
            "viele",
            "pleine",
            "llen",
            "caixa",
            "piena",
            "plná",
            "posta kutusu",
            "pełn",
            "ящик",
            "满",
            "滿",
            "空间不足",
            "ボックス",
            "함",
        ),
        (
            r"(?:postfach|mailbox|speicher)(?: des empfängers)? (?:ist )?voll",
            r"speichervolumen (?:überschritten|ueberschritten)",
            r"(?:zuviele|zu viele) (?:mails|nachrichten) auf dem server",
            r"bo[iî]te (?:aux lettres |de réception |mail )?(?:du destinataire )?(?:est )?pleine",
            r"(?:buzón|buzon|casilla|bandeja de entrada)(?: de correo)?(?: del destinatario)? "
            r"(?:está |esta )?llen[oa]",
            r"caixa (?:postal|de correio|de entrada)(?: do destinatário)? (?:está |esta )?"
            r"(?:cheia|lotada)",
            r"(?:casella|cassetta)(?: di posta| postale)?(?: del destinatario)? (?:è |e' )?piena",
            r"(?:postvak|mailbox|brievenbus)(?: van de (?:ontvanger|geadresseerde))? is vol",
            r"skrzynka(?: odbiorcy| pocztowa)? (?:jest )?(?:prze)?pełn(?:iona|a)",
            r"schránka(?: příjemce)? (?:je )?plná",
            r"posta kutusu (?:dolu|doldu)",
            r"ящик(?: получателя| адресата)? (?:переполнен|заполнен)",
            r"превышен размер (?:почтового )?ящика",
            r"(?:邮箱|信箱|收件箱)(?:空间|容量)?已满",
            r"(?:郵箱|信箱)已滿",
            r"空间不足",
            # Japanese and Korean "capacity" is also a message's size: the mailbox is named
            r"メール ?ボックス(?:が|は|の)?(?:いっぱい|一杯|満杯|容量を超え|容量超過|容量オーバー|"
            r"容量が不足|容量不足)",
            r"(?:메일함|사서함|편지함)(?:이|의)? ?(?:용량이 )?"
            r"(?:가득|꽉|용량 초과|용량이 초과|용량이 부족)",
        ),
    ),
    (
        "suspend",
        (
            "aktiviert",
            "gesperrt",
            "sactiv",
            "suspend",
            "conta ",
            "attivat",
            "konto ",
            "заблокирован",
            "冻结",
            "停用",
            "停止",
            "휴면",
        ),
        (
            r"(?:postfach|konto|benutzer|account|empfänger)(?: des empfängers)? (?:ist |wurde )?"
            r"(?:deaktiviert|gesperrt)",
            r"(?:compte|bo[iî]te aux lettres|adresse|utilisateur) (?:a été |est )?"
            r"(?:désactivée?|suspendue?)",
            r"(?:cuenta|buzón|buzon|usuario) (?:ha sido |está |esta )?"
            r"(?:desactivad[ao]|suspendid[ao])",
            r"conta (?:foi |está |esta )?(?:desativada|suspensa|inativa)",
            r"(?:casella|account|utente)(?: di posta)? (?:è |e' |stat[ao] )?disattivat[ao]",
            r"konto (?:jest |zostało )?(?:zablokowane|zawieszone|nieaktywne)",
            r"(?:ящик|аккаунт|пользователь)(?: получателя)? заблокирован",
            r"(?:账号|帐号|账户|帐户|邮箱|用户)(?:已经|已)?(?:被)?(?:冻结|停用)",
            r"(?:アカウント|メールアドレス)(?:が|は)?(?:利用)?停止",
            r"휴면 (?:계정|사용자|상태)",
        ),
    ),
    # The recipient's own reception settings (QQ, the Japanese carriers, Naver).
    (
        "filtered",
        ("拒收", "受信", "수신"),
        (
            r"(?:收件人|收件方|对方)(?:已)?(?:设置了?)?拒收",
            r"受信(?:を)?拒否",
            r"수신(?:을|이)? ?거부",
        ),
    ),
    # The sender refused (Orange's "Emetteur invalide").
    (
        "rejected",
        ("absender", "teur", "发件人"),
        (
            r"absender(?:adresse|domain)? (?:abgelehnt|ungültig|unbekannt|existiert nicht|"
            r"nicht erlaubt)",
            r"(?:expéditeur|expediteur|émetteur|emetteur) (?:refusé|refuse|rejeté|rejete|invalide|"
            r"inconnu|non autorisé)",
            r"发件人(?:地址)?(?:被拒绝|不合法|无效|被禁止)",
        ),
    ),
    (
        "hostunknown",
        (
            "nicht",
            "bekannt",
            "domaine",
            "nio ",
            "domein",
            "alan ad",
            "домен",
            "域名",
            "ドメイン",
            "도메인",
        ),
        (
            r"(?:domain|domäne) (?:existiert nicht|ist unbekannt|unbekannt|nicht gefunden)",
            r"domaine (?:inconnu|inexistant|introuvable|invalide|n'existe pas)",
            # "nio " ends both the Spanish and Italian dominio and the Portuguese domínio
            r"dominio (?:no existe|desconocido|inexistente|inesistente|non esiste|nao existe)",
            r"domínio (?:não existe|inexistente|desconhecido)",
            r"domein (?:bestaat niet|onbekend)",
            # the Turkish dotless i is written as an escape: it looks like a Latin i
            "alan ad(?:\u0131|i) bulunamad",
            r"домена? (?:не существует|не найден)",
            r"域名不存在",
            r"ドメイン(?:名)?(?:が|は)?(?:存在しません|見つかりません|存在しない)",
            r"도메인(?:을|이)? (?:찾을 수 없|존재하지 않)",
        ),
    ),
    (
        "userunknown",
        (
            "bek",
            "nicht",
            "inconnu",
            "invalide",
            "inexist",
            "existe",
            "introuvable",
            "descon",
            "encontr",
            "esist",
            "sconosc",
            "trovare",
            "niet",
            "istnieje",
            "nieznan",
            "existuje",
            "neznám",
            "bulunamad",
            "найден",
            "существует",
            "не удалось найти",
            "存在",
            "找不到",
            "odnaleźć",
            "見つかりません",
            "宛先不明",
            "登録されていません",
            "찾을 수 없",
            "존재하지 않",
        ),
        (
            # Exchange translates its "The email address you entered couldn't be found" too
            r"(?:benutzer|empfänger|empfaenger|e-mail-adresse|adresse|postfach) (?:ist )?"
            r"(?:unbekannt|existiert nicht|nicht bekannt)",
            r"unbekannte[rs]? (?:benutzer|empfänger|empfaenger|adresse)",
            r"e-mail-adresse(?: des empfängers)? wurde (?:im e-mail-system des empfängers )?"
            r"nicht gefunden",
            r"(?:utilisateur|destinataire|adresse|compte)(?: e-?mail| de messagerie)? inconnue?",
            r"(?:utilisateur|destinataire|adresse|compte)(?: e-?mail| de messagerie)? invalide",
            r"(?:utilisateur|destinataire|adresse|compte)(?: e-?mail| de messagerie)? "
            r"inexistante?",
            # the apostrophe may be typographic (U+2019)
            "(?:utilisateur|destinataire|adresse|compte) n(?:'|\u2019)existe pas",
            r"adresse de messagerie (?:que vous avez entrée|du destinataire) est introuvable",
            r"(?:usuario|destinatario|dirección|direccion|buzón|buzon|cuenta)(?: de correo)? "
            r"(?:desconocid[oa]|inexistente|no existe)",
            r"no se (?:encontró|encontro|pudo encontrar) la dirección",
            r"(?:usuário|usuario|destinatário|destinatario|endereço|endereco|conta)"
            r"(?: de e-?mail)? (?:desconhecid[oa]|inexistente|não existe|nao existe)",
            r"endereço de e-?mail (?:que você (?:inseriu|digitou) |inserido )?não foi encontrado",
            r"(?:utente|destinatario|indirizzo|casella)(?: di posta)?(?: elettronica)? "
            r"(?:inesistente|sconosciut[oa]|non esiste)",
            "impossibile trovare l(?:'|\u2019)indirizzo",
            r"(?:gebruiker|ontvanger|geadresseerde|e-mailadres|adres) (?:is )?"
            r"(?:onbekend|bestaat niet)",
            r"onbekende (?:gebruiker|ontvanger|geadresseerde)",
            r"e-mailadres (?:dat u hebt ingevoerd,? )?is niet gevonden",
            r"(?:użytkownik|odbiorca|adres|konto|skrzynka)(?: e-mail)? nie istnieje",
            r"nieznany (?:użytkownik|odbiorca|adres)",
            r"nie można odnaleźć (?:wprowadzonego )?adresu",
            r"(?:uživatel|adresát|příjemce|adresa|schránka|účet) neexistuje",
            r"neznámý (?:uživatel|adresát|příjemce)",
            "(?:kullan\u0131c\u0131|kullanici|al\u0131c\u0131|alici|adresi) bulunamad",
            r"(?:пользователь|получатель|адресат|адрес|ящик)(?: получателя)? "
            r"не (?:найден|существует)",
            r"не удалось найти (?:указанный )?адрес",
            r"(?:收件人|收件者|用户|使用者|邮箱|信箱|帐号|账号|帳號|账户|帐户|地址)不存在",
            r"找不到(?:你|您)?输入的电子邮件地址",
            r"(?:アドレス|ユーザー?|宛先|受信者|アカウント)(?:は|が)?存在し(?:ません|ない)",
            r"(?:アドレス|ユーザー?|宛先|受信者)(?:は|が)?見つかりません",
            r"宛先不明",
            r"ユーザー?(?:は|が)?登録されていません",
            r"(?:수신자|받는 사람|사용자|계정|주소)(?:를|을|가|이)? (?:찾을 수 없|존재하지 않)",
            r"존재하지 않는 (?:사용자|계정|주소|메일 ?주소|수신자)",
        ),
    ),
    (
        "blocked",
        (
            "block",
            "black",
            "rbl",
            "dnsbl",
            "spamhaus",
            "spamcop",
            "barracuda",
            "listed ",
            "rejected",
            "refused",
            "denied",
            "banned",
            "dynamic ",
            "dial",
            "residential",
            "smtp server of your isp",
            "not allowed to ",
            "poor reputation",
            "not in ",
            "permanently deferred",
        ),
        (
            r"\bblock(?:ed| ?list)",
            r"black ?list",
            r"\brbl\b",
            r"dnsbl",
            r"spamhaus",
            r"spamcop",
            r"barracudacentral",
            r"listed (?:in|on|at) ",
            r"(?:ip|host|client|connection|your server) .*(?:rejected|refused|denied|banned)",
            r"banned",
            r"dynamic (?:ip|address)",
            r"dial-?up",
            r"residential",
            r"use the smtp server of your isp",
            r"not allowed to (?:connect|send mail from)",
            r"service refused",
            r"refused to talk",
            r"connection refused by",
            r"poor reputation ip",
            # the receiving domain accepts mail only from listed sending hosts
            r"not in (?:the )?(?:white|allow) ?list",
            # Yahoo's TS03/TSS09: every message from the sending IP is refused
            r"permanently deferred",
        ),
    ),
    (
        "policyviolation",
        ("policy", "violat", "acceptable use"),
        (
            r"policy (?:violation|reasons|rejection)",
            r"violat(?:es|ion of) (?:our|the|local)",
            r"local policy",
            r"acceptable use",
            r"\bpolicy\b",
        ),
    ),
    (
        "securityerror",
        (
            "authenticat",
            "not authorized",
            "unauthori",
            "submission requires",
            "security ",
            "sender",
            "impersonat",
            "forged",
            "spoof",
            "access denied",
        ),
        (
            r"authentication (?:required|failed|is required)",
            r"must (?:be )?authenticat",
            r"not authorized",
            r"unauthori[sz]ed",
            r"submission requires",
            r"security (?:policy|error|reasons)",
            r"sender (?:is )?not (?:authorized|allowed)",
            r"impersonat",
            r"forged",
            r"spoof",
            r"access denied",
            r"not authenticated",
            r"authentication unsuccessful",
        ),
    ),
    (
        "failedstarttls",
        ("tls", "encryption ", "require"),
        (
            r"starttls",
            r"tls (?:is )?required",
            r"must issue a starttls",
            r"encryption (?:is )?required",
            r"tls negotiation failed",
            r"requires? (?:secure|encrypted) connection",
            r"tls not available",
        ),
    ),
    (
        "contenterror",
        ("header ", "invalid ", "bit ", "bare ", "content error", "message ", "attachment "),
        (
            r"header (?:too long|line too long|syntax|error)",
            r"invalid (?:mime|content)",
            r"8-?bit (?:data|characters)",
            r"bare (?:lf|cr|linefeed)",
            r"content error",
            r"message (?:content )?(?:not|is not) (?:allowed|accepted)",
            r"attachment (?:not allowed|blocked)",
        ),
    ),
    (
        "syntaxerror",
        ("syntax error", "command", "line too long"),
        (
            r"syntax error",
            r"command (?:not )?(?:unrecognized|recognized)",
            r"unrecognized command",
            r"bad sequence of commands",
            r"command not implemented",
            r"line too long",
        ),
    ),
    (
        "expired",
        (
            "retry ",
            "expired",
            "queue",
            "time",
            "gave up",
            "giving up",
            "deferred for",
            "undeliverable for",
            "delayed",
            "older than",
            "retries",
            "delivered ",
            "connect",
            "socket error",
            "reachable",
            "responding",
        ),
        (
            r"retry (?:time ?out|timeout|period)",
            r"delivery time expired",
            r"message (?:has )?expired",
            r"queue(?:d)? too long",
            r"time(?:d)? ?out",
            r"gave up",
            r"giving up",
            r"could not be delivered (?:for|within|in)",
            r"deferred for",
            r"undeliverable for",
            r"has been delayed",
            r"message is older than",
            r"no (?:further )?retries",
            r"expired after",
            r"not (?:been )?delivered within",
            r"(?:could not|cannot|unable to) connect",
            r"connection (?:timed out|refused|reset)",
            r"socket error",
            r"host (?:is )?not reachable",
            r"not responding",
            r"did not accept our requests to connect",
        ),
    ),
    (
        "networkerror",
        (
            "network",
            "no route",
            "connection",
            "hops",
            "loop",
            "dns ",
            "temporary ",
            "unreachable",
            "hop count",
            "name server",
            "mx lookup",
        ),
        (
            r"network (?:is )?(?:unreachable|error)",
            r"no route to host",
            r"connection (?:closed|failed|dropped|lost)",
            r"too many hops",
            r"mail loop",
            r"loops? back to (?:me|myself)",
            r"routing loop",
            r"forwarding loop",
            r"dns (?:lookup )?(?:failure|error|problem)",
            r"temporary (?:lookup|dns) failure",
            r"lost connection",
            r"host (?:is )?unreachable",
            r"hop count exceeded",
            r"name server",
            r"mx lookup",
        ),
    ),
    (
        "systemerror",
        (
            "system ",
            "internal ",
            "server error",
            "local error",
            "configuration error",
            "temporar",
            "transaction failed",
            "available",
            "try again later",
            "resource",
            "mail server ",
            "server busy",
            "local problem",
            "unable to process connection",
        ),
        (
            r"system (?:error|problem|failure|config)",
            r"internal (?:server )?error",
            r"server error",
            r"local error",
            r"configuration error",
            r"temporar(?:y|ily) (?:failure|unavailable|not available)",
            r"transaction failed",
            r"service (?:is )?(?:currently |temporarily )?(?:not )?(?:un)?available",
            r"try again later",
            r"resources? temporarily",
            r"mail server (?:is )?(?:down|busy)",
            r"server busy",
            r"local problem",
            # Mimecast: its server is at maximum load
            r"unable to process connection",
        ),
    ),
    (
        "exceedlimit",
        ("limit", "maximum", "too many "),
        (
            r"(?:exceed|over) (?:the |a )?(?:limit|maximum)",
            r"limit exceeded",
            r"too many (?:recipients|lines)",
        ),
    ),
]


def ascii_only(keywords: tuple[str, ...]) -> tuple[str, ...]:
    """The keywords an ASCII-only text can hold: most diagnostics are ASCII, and the
    localised rules' keywords then cost nothing (`str.isascii()` is a flag lookup)."""
    return tuple(keyword for keyword in keywords if keyword.isascii())


class Wording:
    """One alternative wording of a rule, searched only when the text holds one of its keywords.

    The search itself is a `Phrase`: plain strings or choices of them for the
    finite wordings most rules are made of, compiled only for the others, and
    nothing prepared before a text holds one of the wording's keywords.
    """

    __slots__ = ("_phrase", "ascii_keywords", "keywords", "pattern")

    def __init__(self, pattern: str, keywords: tuple[str, ...]) -> None:
        self.pattern = pattern
        self.keywords = keywords
        self.ascii_keywords = ascii_only(keywords)
        self._phrase = Phrase(pattern)

    def matches(self, text: str) -> bool:
        """Whether the wording occurs in the normalised `text`."""
        for keyword in self.ascii_keywords if text.isascii() else self.keywords:
            if keyword in text:
                break
        else:
            return False
        return self._phrase.found_in(text)


class TextRule:
    """One reason's wordings, each compiled the first time a text holds one of its keywords.

    Most texts hold the keywords of only a few wordings, and a short-lived command
    classifying a batch of files then never pays for compiling the others. A
    wording's keywords are the rule's keywords that occur in its pattern.
    """

    __slots__ = ("_wordings", "alternatives", "ascii_keywords", "keywords", "reason")

    def __init__(
        self, reason: str, keywords: tuple[str, ...], alternatives: tuple[str, ...]
    ) -> None:
        self.reason = reason
        self.keywords = keywords
        self.ascii_keywords = ascii_only(keywords)
        self.alternatives = alternatives
        self._wordings: list[Wording] | None = None

    @property
    def pattern(self) -> str:
        """The rule as one regular expression: it matches where any wording matches."""
        return "|".join(self.alternatives)

    @property
    def wordings(self) -> list[Wording]:
        """The rule's wordings with their keywords."""
        wordings = self._wordings
        if wordings is None:
            wordings = self._wordings = [
                Wording(pattern, tuple(word for word in self.keywords if word in pattern))
                for pattern in self.alternatives
            ]
        return wordings

    def matches(self, text: str) -> bool:
        """Whether any wording occurs in the normalised `text`."""
        for keyword in self.ascii_keywords if text.isascii() else self.keywords:
            if keyword in text:
                break
        else:
            return False
        return any(wording.matches(text) for wording in self.wordings)


TEXT_RULES: Final = [TextRule(*rule) for rule in _TEXT_RULES]

# RFC 3463 enhanced status → reason, for when the text says nothing recognisable.
# Keys are "class-less" subject.detail strings; the class (4/5) matters only for kind.
_STATUS_REASONS: Final[dict[str, str]] = {
    # x.1.0 "other address status" is about the recipient's address; a refused sender
    # says so in its text, which is read before the code.
    "1.0": "userunknown",
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

# A code not preceded by a digit or a dot. The look-behind follows the first digit
# (and re-checks it) so that the pattern starts with a character set, which the
# regular expression engine scans for quickly.
STATUS_RE: Final = LazyPattern(r"([245])(?<![\d.][245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# A failure reply code (4xx, 5xx) standing alone.
REPLY_CODE_RE: Final = LazyPattern(r"([45](?<![\d.][45])[0-5]\d)(?=[\s\-:]|$)")


def normalise_text(text: str) -> str:
    """Lower-case and collapse whitespace, so rules can match across wrapped lines."""
    return " ".join(text.split()).lower()


def find_status(text: str) -> str | None:
    """The first RFC 3463 enhanced status code in `text` (`5.1.1`), if any."""
    match = STATUS_RE.search(text)
    return None if match is None else status_of(match)


def status_of(match: re.Match[str]) -> str:
    """The code a `STATUS_RE` match found, without leading zeros (`5.01.001` → `5.1.1`)."""
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"


def find_reply_code(text: str) -> int | None:
    """The first failure SMTP reply code (4xx/5xx) in `text` (`550`), if any."""
    match = REPLY_CODE_RE.search(text)
    return int(match.group(1)) if match else None


def reason_from_text(text: str) -> str | None:
    """The first text rule that matches the normalised `text`, or None."""
    if not text:
        return None
    for rule in TEXT_RULES:
        if rule.matches(text):
            return rule.reason
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
_DIRECTORY_WORDING: Final = AnyWording(
    "recipient name is not recognized",
    r"not listed in (?:the |public )?(?:domino|name|directory)",
    r"address (?:you entered )?(?:couldn't|could not|wasn't|was not) (?:be )?found",
    r"\baddress not found",
    "requested action not taken: mailbox unavailable",
    r"^[45]\d\d [^\s@]+@[^\s@]+ rejected$",
    # IMail's own local delivery: "Unknown user: <address>"
    "unknown user: ",
    # Exchange's "The email address you entered couldn't be found" as it translates it, and
    # the Japanese providers' own notices, which seldom carry a status code
    "im e-mail-system des empfängers nicht gefunden",
    "eingegebene e-mail-adresse wurde nicht gefunden",
    "adresse de messagerie que vous avez entrée est introuvable",
    "adresse de messagerie du destinataire est introuvable",
    "no se encontró la dirección de correo",
    "que você inseriu não foi encontrado",
    "impossibile trovare l'indirizzo di posta",
    "dat u hebt ingevoerd, is niet gevonden",
    "nie można odnaleźć wprowadzonego adresu",
    "e-posta adresi bulunamad",
    "не удалось найти указанный адрес",
    "输入的电子邮件地址",
    "メールアドレスは存在しません",
    "メールアドレスが存在しません",
    "メール アドレスが見つかりません",
    "전자 메일 주소를 찾을 수 없",
)

# Exchange Online refuses unknown recipients at its edge (directory-based edge blocking)
# with this wording and 5.4.1. Postfix says the same words with 5.7.1 for a local
# access-table REJECT, a policy that says nothing about whether the address exists.
_EDGE_DIRECTORY_REJECTION: Final = "recipient address rejected: access denied"


def _is_edge_directory_rejection(status: str | None, text: str) -> bool:
    return _EDGE_DIRECTORY_REJECTION in text and (status or "").endswith(".4.1")


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
    if command == "RCPT" or _is_edge_directory_rejection(status, text):
        return "userunknown"
    if status is not None:
        detail = status.partition(".")[2]
        if detail.startswith("1.") or detail in ("0.0", "5.0"):
            pass
        else:
            return "filtered"
        if detail.startswith("1."):
            return "userunknown"
    if _DIRECTORY_WORDING.found_in(text):
        return "userunknown"
    return "filtered"


# Orange / Wanadoo append their own error number (`ofr_506`, `OFR005_505`).
_ORANGE_CODE: Final = LazyPattern(r"\bofr\d*_(\d{3})\b")
_ORANGE_REASONS: Final = {
    "505": "systemerror",  # "service refused, please try later": the platform is overloaded
    "506": "spamdetected",  # "mail rejected": the message was judged to be spam
    # "invalid recipient" and "recipient overquota": both sent with 5.1.1, so the number
    # tells the full mailbox from the missing one
    "416": "userunknown",
    "417": "mailboxfull",
}


# Large receiving providers append an error code of their own, documented on their
# postmaster pages, which names the failure more reliably than the sentence around it
# (often a bare "blocked" or "try again later"). A code is looked up whole, as the run
# of letters, digits and colons around one of these substrings: most diagnostics hold
# none of them and pay only for the few substring checks. Cox writes its codes after
# "AUP#"; GoDaddy's ends the sentence after a space ("ib" alone is in too many words).
_PROVIDER_CODE_GATES: Final = ("aup#", "bl000", "es0000", "rtr:", "rly:", " ib")
_CODE_CHARACTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789:")
_PROVIDER_REASONS: Final = {
    # Cox: the sending IP is blocked for spam-like behaviour (for good, or for up to a
    # day) or is on one of the DNS block lists named by the IPBL bits
    "cxbl": "blocked",
    "cdrbl": "blocked",
    "ipbl": "blocked",
    # Cox: the sender's domain failed its SPF or DKIM check
    "cxsndr": "authfailure",
    # Cox: more concurrent SMTP connections from one IP than it allows
    "cxcnct": "toomanyconn",
    # Comcast: dynamic or residential address space, or listed on the block lists in
    # the BL bits (BL000000: Comcast's own, for spam-like sending patterns)
    "es000001": "blocked",
    "es000010": "blocked",
    "bl000": "blocked",
    # AOL: dynamic/residential (DU, BB), unallocated (BG), dynamic-looking reverse DNS
    # (RD) or compromised (CH) networks, and the automatic block on member complaints
    "rtr:du": "blocked",
    "rtr:bb": "blocked",
    "rtr:bg": "blocked",
    "rtr:rd": "blocked",
    "rtr:ch": "blocked",
    "rly:b1": "blocked",
    # AOL: an AOL address used as the sender from outside AOL
    "rly:sn": "rejected",
    # GoDaddy (secureserver.net): queue over capacity, no reverse DNS, content judged to
    # be spam, an invalid From: domain, an SPF record that fails, too many recipients
    "ib101": "systemerror",
    "ib108": "requireptr",
    "ib212": "spamdetected",
    "ib506": "rejected",
    "ib508": "authfailure",
    "ib605": "exceedlimit",
}


def _provider_reason(text: str) -> str | None:
    """The reason a receiving provider's own error code in `text` stands for, if any."""
    if not any(map(text.__contains__, _PROVIDER_CODE_GATES)):
        return None  # the usual case, checked without a Python-level loop
    for gate in _PROVIDER_CODE_GATES:
        at = text.find(gate)
        while at >= 0:
            start = end = at + len(gate)
            if gate[0] == " ":
                start = at + 1  # the space only marks where the code starts
            else:
                while start and text[start - 1] in _CODE_CHARACTERS:
                    start -= 1
            while end < len(text) and text[end] in _CODE_CHARACTERS:
                end += 1
            reason = _PROVIDER_REASONS.get(_folded_code(text[start:end].strip(":")))
            if reason is not None:
                return reason
            at = text.find(gate, end)
    return None


def _folded_code(code: str) -> str:
    """Cox's `ipblNNNN` and Comcast's `bl000NNN` name combinations of DNS block lists, one
    bit per list: every combination is the same refusal, looked up as `ipbl` or `bl000`."""
    if len(code) == 8 and code.startswith(("ipbl", "bl000")) and not code[-4:].strip("01"):
        return "ipbl" if code[0] == "i" else "bl000"
    return code


def _base_reason(status: str | None, smtp_code: int | None, text: str) -> str:
    orange = _ORANGE_CODE.search(text) if "ofr" in text else None
    if orange is not None and orange.group(1) in _ORANGE_REASONS:
        return _ORANGE_REASONS[orange.group(1)]
    provider = _provider_reason(text)
    if provider is not None:
        return provider
    if _is_edge_directory_rejection(status, text):
        return "userunknown"
    by_text = reason_from_text(text)
    by_status = reason_from_status(status)
    if by_status is not None and status is not None:
        detail = status.partition(".")[2]
        # A precise code beats generic wording, except where the text shows the
        # failure is somewhere else (a local pipe) or more precise (null MX).
        # Gmail sends x.7.27 (RFC 7505's null MX sender) for a failed SPF check.
        text_overrides = (
            by_text in ("mailererror", "notaccept", "hasmoved")
            or (by_status == "userunknown" and by_text in ("filtered", "suspend"))
            or (by_status == "notaccept" and by_text == "authfailure")
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
