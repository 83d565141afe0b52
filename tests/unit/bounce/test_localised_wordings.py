# Servers write full-width punctuation and long lines in their own languages.
# ruff: noqa: E501, RUF001
"""Failures and auto-replies worded in the languages the receiving servers speak.

Many providers answer in their own language: Japanese carriers and ISPs, the
German, French, Russian, Chinese and Korean webmail services, and Exchange,
whose notices are translated into the language of the receiving organisation.
The first table holds one failure sentence per case, as such servers put it in
an SMTP reply or a notice, with the reason of the open bounce taxonomy it
states. The second holds whole messages in the charsets these servers use
(ISO-2022-JP, Shift_JIS, KOI8-R, GB2312, GBK, EUC-KR, ISO-8859-1 and -2), bounces
and auto-replies alike. Addresses are fictitious.
"""

from __future__ import annotations

import base64
import quopri
from typing import TYPE_CHECKING

import pytest

from mailroom.bounce.classifier import HARD_REASONS, classify_message, classify_smtp_reply
from mailroom.bounce.classifier.reasons import normalise_text, reason_from_text

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

RECIPIENT = "someone@example.test"


def _reply(
    language: str,
    provider: str,
    code: int,
    enhanced: str | None,
    text: str,
    reason: str,
    wording: str,
    *,
    worded: bool = True,
) -> ParameterSet:
    """One reply; `worded` says the sentence alone names the reason (not only its code)."""
    return pytest.param(code, enhanced, text, reason, worded, id=f"{language}-{provider}-{wording}")


# fmt: off
REPLIES = [
    # --- German: GMX, Web.de, T-Online, 1&1, freenet, Exchange (de) ---
    _reply("de", "web.de", 552, None,
           "Benutzer hat das Speichervolumen ueberschritten.",
           "mailboxfull", "speichervolumen-ueberschritten"),
    _reply("de", "web.de", 552, None,
           "Benutzer hat zuviele Mails auf dem Server.",
           "mailboxfull", "zuviele-mails"),
    _reply("de", "gmx", 550, "5.1.1",
           "<someone@example.test>: Benutzer unbekannt",
           "userunknown", "benutzer-unbekannt"),
    _reply("de", "t-online", 550, "5.1.1",
           "Unbekannter Empfänger <someone@example.test>",
           "userunknown", "unbekannter-empfaenger"),
    _reply("de", "1und1", 550, "5.1.1",
           "Empfängeradresse abgelehnt: Benutzer existiert nicht",
           "userunknown", "benutzer-existiert-nicht"),
    _reply("de", "exchange", 550, None,
           "Die E-Mail-Adresse des Empfängers wurde im E-Mail-System des Empfängers nicht "
           "gefunden. Microsoft Exchange wird nicht versuchen, diese Nachricht erneut zuzustellen.",
           "userunknown", "im-e-mail-system-nicht-gefunden"),
    _reply("de", "exchange", 550, None,
           "Die eingegebene E-Mail-Adresse wurde nicht gefunden. Überprüfen Sie die "
           "E-Mail-Adresse des Empfängers, und versuchen Sie dann, die Nachricht erneut zu senden.",
           "userunknown", "eingegebene-adresse-nicht-gefunden"),
    _reply("de", "exchange", 552, "5.2.2",
           "Das Postfach des Empfängers ist voll und kann derzeit keine Nachrichten annehmen.",
           "mailboxfull", "postfach-des-empfaengers-voll"),
    _reply("de", "1und1", 452, None, "Postfach voll", "mailboxfull", "postfach-voll"),
    _reply("de", "freenet", 550, None, "Die Domain existiert nicht", "hostunknown",
           "domain-existiert-nicht"),
    _reply("de", "gmx", 552, None, "Die Nachricht ist zu groß. Maximal 50 MB sind erlaubt.",
           "mesgtoobig", "nachricht-zu-gross"),
    _reply("de", "web.de", 550, None, "Das Postfach des Empfängers ist deaktiviert",
           "suspend", "postfach-deaktiviert"),
    _reply("de", "t-online", 550, None, "Konto gesperrt", "suspend", "konto-gesperrt"),
    _reply("de", "gmx", 554, None, "Die Nachricht wurde als Spam eingestuft und abgelehnt.",
           "spamdetected", "als-spam-eingestuft"),
    _reply("de", "web.de", 554, None, "Virus gefunden: Eicar-Test-Signature",
           "virusdetected", "virus-gefunden"),
    _reply("de", "1und1", 421, "4.7.1",
           "Zu viele Verbindungen von Ihrer IP-Adresse, bitte später erneut versuchen",
           "toomanyconn", "zu-viele-verbindungen"),
    _reply("de", "freenet", 550, None, "Absenderadresse abgelehnt", "rejected",
           "absenderadresse-abgelehnt"),
    _reply("de", "t-online", 550, None, "Absenderdomain existiert nicht", "rejected",
           "absenderdomain-existiert-nicht"),

    # --- French: Orange/Wanadoo, Free, SFR, La Poste, Exchange (fr) ---
    _reply("fr", "orange", 550, "5.1.1",
           "<someone@example.test>: Adresse d au moins un destinataire invalide. OFR_416 [416]",
           "userunknown", "destinataire-invalide"),
    _reply("fr", "orange", 552, "5.1.1",
           "<someone@example.test>: Boite du destinataire pleine. OFR_417 [417]",
           "mailboxfull", "boite-du-destinataire-pleine"),
    _reply("fr", "orange", 421, None,
           "mwinf5c05 ME Trop de connexions, veuillez verifier votre configuration. OFR004_104 [104]",
           "toomanyconn", "trop-de-connexions"),
    _reply("fr", "orange", 550, "5.2.0", "mwinf5c05 ME Mail rejete. OFR_506 [506]",
           "spamdetected", "mail-rejete-ofr-506", worded=False),
    _reply("fr", "free", 550, "5.1.1", "Utilisateur inconnu", "userunknown",
           "utilisateur-inconnu"),
    _reply("fr", "sfr", 550, "5.1.1", "<someone@example.test>: Adresse inconnue",
           "userunknown", "adresse-inconnue"),
    _reply("fr", "laposte", 552, None, "Boîte aux lettres pleine", "mailboxfull",
           "boite-aux-lettres-pleine"),
    _reply("fr", "exchange", 550, None,
           "L'adresse de messagerie que vous avez entrée est introuvable. Vérifiez l'adresse de "
           "messagerie du destinataire et essayez de renvoyer le message.",
           "userunknown", "adresse-entree-introuvable"),
    _reply("fr", "exchange", 552, "5.2.2",
           "La boîte aux lettres du destinataire est pleine et ne peut pas accepter de messages "
           "pour le moment.",
           "mailboxfull", "boite-du-destinataire-pleine-exchange"),
    _reply("fr", "sfr", 550, None, "Domaine inexistant", "hostunknown", "domaine-inexistant"),
    _reply("fr", "free", 552, None, "Message trop volumineux", "mesgtoobig",
           "message-trop-volumineux"),
    _reply("fr", "laposte", 550, None, "Ce compte a été désactivé", "suspend",
           "compte-desactive"),
    _reply("fr", "orange", 554, None, "Message refusé : contenu considéré comme du spam",
           "spamdetected", "considere-comme-spam"),
    _reply("fr", "free", 550, None, "Expéditeur refusé", "rejected", "expediteur-refuse"),
    _reply("fr", "orange", 501, "5.1.0", "Emetteur invalide. OFR_102 [102]", "rejected",
           "emetteur-invalide"),

    # --- Spanish: Telefónica/Movistar, Exchange (es) ---
    _reply("es", "movistar", 550, "5.1.1", "Usuario desconocido", "userunknown",
           "usuario-desconocido"),
    _reply("es", "movistar", 550, "5.1.1", "El usuario no existe", "userunknown",
           "usuario-no-existe"),
    _reply("es", "exchange", 550, None,
           "No se encontró la dirección de correo electrónico que escribió. Compruebe la "
           "dirección de correo electrónico del destinatario e intente volver a enviar el mensaje.",
           "userunknown", "no-se-encontro-la-direccion"),
    _reply("es", "exchange", 552, "5.2.2",
           "El buzón del destinatario está lleno y no puede aceptar mensajes en este momento.",
           "mailboxfull", "buzon-del-destinatario-lleno"),
    _reply("es", "movistar", 552, None, "Buzón lleno", "mailboxfull", "buzon-lleno"),
    _reply("es", "movistar", 552, None, "El mensaje es demasiado grande", "mesgtoobig",
           "mensaje-demasiado-grande"),
    _reply("es", "movistar", 550, None, "La cuenta ha sido desactivada", "suspend",
           "cuenta-desactivada"),
    _reply("es", "movistar", 550, None, "El dominio no existe", "hostunknown",
           "dominio-no-existe"),
    _reply("es", "movistar", 554, None, "Mensaje rechazado por ser considerado spam",
           "spamdetected", "considerado-spam"),

    # --- Portuguese: UOL, Terra, SAPO, Exchange (pt) ---
    _reply("pt", "uol", 550, "5.1.1", "Usuário inexistente", "userunknown",
           "usuario-inexistente"),
    _reply("pt", "terra", 550, "5.1.1", "Usuario desconhecido", "userunknown",
           "usuario-desconhecido"),
    _reply("pt", "uol", 552, None, "Caixa postal cheia", "mailboxfull", "caixa-postal-cheia"),
    _reply("pt", "exchange", 550, None,
           "O endereço de email que você inseriu não foi encontrado. Verifique o endereço de "
           "email do destinatário e tente reenviar a mensagem.",
           "userunknown", "endereco-nao-foi-encontrado"),
    _reply("pt", "sapo", 552, None, "A caixa de correio do destinatário está cheia",
           "mailboxfull", "caixa-de-correio-cheia"),
    _reply("pt", "uol", 552, None, "Mensagem muito grande", "mesgtoobig",
           "mensagem-muito-grande"),
    _reply("pt", "terra", 550, None, "Conta desativada", "suspend", "conta-desativada"),
    _reply("pt", "uol", 550, None, "Domínio inexistente", "hostunknown", "dominio-inexistente"),

    # --- Italian: Libero, Aruba, Virgilio, Exchange (it) ---
    _reply("it", "libero", 550, "5.1.1", "Utente inesistente", "userunknown",
           "utente-inesistente"),
    _reply("it", "aruba", 550, "5.1.1", "Destinatario inesistente", "userunknown",
           "destinatario-inesistente"),
    _reply("it", "libero", 552, None, "La casella di posta del destinatario è piena",
           "mailboxfull", "casella-piena"),
    _reply("it", "aruba", 552, None, "Casella piena", "mailboxfull", "casella-piena-breve"),
    _reply("it", "exchange", 550, None,
           "Impossibile trovare l'indirizzo di posta elettronica immesso. Verificare "
           "l'indirizzo di posta elettronica del destinatario e provare a inviare di nuovo il "
           "messaggio.",
           "userunknown", "impossibile-trovare-indirizzo"),
    _reply("it", "virgilio", 552, None, "Messaggio troppo grande", "mesgtoobig",
           "messaggio-troppo-grande"),
    _reply("it", "libero", 550, None, "Casella disattivata", "suspend", "casella-disattivata"),
    _reply("it", "aruba", 550, None, "Dominio inesistente", "hostunknown",
           "dominio-inesistente"),

    # --- Dutch: KPN, Ziggo, Exchange (nl) ---
    _reply("nl", "kpn", 550, "5.1.1", "Onbekende gebruiker", "userunknown",
           "onbekende-gebruiker"),
    _reply("nl", "exchange", 550, None,
           "Het e-mailadres dat u hebt ingevoerd, is niet gevonden. Controleer het e-mailadres "
           "van de geadresseerde en probeer het bericht opnieuw te verzenden.",
           "userunknown", "e-mailadres-niet-gevonden"),
    _reply("nl", "ziggo", 552, None, "Mailbox is vol", "mailboxfull", "mailbox-is-vol"),
    _reply("nl", "exchange", 552, "5.2.2",
           "Het postvak van de geadresseerde is vol en kan momenteel geen berichten accepteren.",
           "mailboxfull", "postvak-is-vol"),
    _reply("nl", "kpn", 552, None, "Bericht te groot", "mesgtoobig", "bericht-te-groot"),
    _reply("nl", "ziggo", 550, None, "Domein bestaat niet", "hostunknown",
           "domein-bestaat-niet"),

    # --- Polish: WP, Onet, Interia, Exchange (pl) ---
    _reply("pl", "wp", 550, "5.1.1", "Użytkownik nie istnieje", "userunknown",
           "uzytkownik-nie-istnieje"),
    _reply("pl", "onet", 550, "5.1.1", "Nieznany odbiorca", "userunknown", "nieznany-odbiorca"),
    _reply("pl", "interia", 552, None, "Skrzynka odbiorcy jest pełna", "mailboxfull",
           "skrzynka-pelna"),
    _reply("pl", "wp", 552, None, "Skrzynka przepełniona", "mailboxfull",
           "skrzynka-przepelniona"),
    _reply("pl", "exchange", 550, None, "Nie można odnaleźć wprowadzonego adresu e-mail.",
           "userunknown", "nie-mozna-odnalezc-adresu"),
    _reply("pl", "interia", 550, None, "Konto zablokowane", "suspend", "konto-zablokowane"),
    _reply("pl", "onet", 552, None, "Wiadomość jest za duża", "mesgtoobig",
           "wiadomosc-za-duza"),

    # --- Czech: Seznam, Centrum ---
    _reply("cs", "seznam", 550, "5.1.1", "Uživatel neexistuje", "userunknown",
           "uzivatel-neexistuje"),
    _reply("cs", "centrum", 550, "5.1.1", "Neznámý adresát", "userunknown",
           "neznamy-adresat"),
    _reply("cs", "seznam", 552, None, "Schránka příjemce je plná", "mailboxfull",
           "schranka-plna"),
    _reply("cs", "seznam", 552, None, "Zpráva je příliš velká", "mesgtoobig",
           "zprava-prilis-velka"),

    # --- Turkish: TTmail, Exchange (tr) ---
    _reply("tr", "ttmail", 550, "5.1.1", "Kullanıcı bulunamadı", "userunknown",
           "kullanici-bulunamadi"),
    _reply("tr", "ttmail", 552, None, "Posta kutusu dolu", "mailboxfull", "posta-kutusu-dolu"),
    _reply("tr", "exchange", 550, None, "Girdiğiniz e-posta adresi bulunamadı.",
           "userunknown", "e-posta-adresi-bulunamadi"),
    _reply("tr", "ttmail", 550, None, "Alan adı bulunamadı", "hostunknown",
           "alan-adi-bulunamadi"),

    # --- Russian: Mail.ru, Yandex, Rambler, Exchange (ru) ---
    _reply("ru", "mail.ru", 550, "5.1.1", "Пользователь не найден", "userunknown",
           "polzovatel-ne-najden"),
    _reply("ru", "yandex", 550, "5.1.1", "Почтовый ящик не существует", "userunknown",
           "yashchik-ne-sushchestvuet"),
    _reply("ru", "rambler", 552, None, "Почтовый ящик получателя переполнен", "mailboxfull",
           "yashchik-poluchatelya-perepolnen"),
    _reply("ru", "mail.ru", 552, None, "Ящик переполнен", "mailboxfull", "yashchik-perepolnen"),
    _reply("ru", "exchange", 550, None, "Не удалось найти указанный адрес электронной почты.",
           "userunknown", "ne-udalos-najti-adres"),
    _reply("ru", "yandex", 550, None, "Почтовый ящик заблокирован", "suspend",
           "yashchik-zablokirovan"),
    _reply("ru", "mail.ru", 554, None, "Письмо похоже на спам и отклонено", "spamdetected",
           "pohozhe-na-spam"),
    _reply("ru", "rambler", 552, None, "Размер письма превышает допустимый", "mesgtoobig",
           "razmer-pisma-prevyshaet"),
    _reply("ru", "yandex", 550, None, "Домен не существует", "hostunknown",
           "domen-ne-sushchestvuet"),
    _reply("ru", "yandex", 552, None, "Превышен размер почтового ящика", "mailboxfull",
           "prevyshen-razmer-yashchika"),
    _reply("ru", "mail.ru", 554, None, "В письме обнаружен вирус", "virusdetected",
           "obnaruzhen-virus"),

    # --- Chinese: QQ/Tencent, NetEase 163/126, Sina, Aliyun, HiNet, Exchange (zh) ---
    _reply("zh", "qq", 550, "5.1.1", "收件人不存在", "userunknown", "shoujianren-bucunzai"),
    _reply("zh", "163", 550, "5.1.1", "用户不存在", "userunknown", "yonghu-bucunzai"),
    _reply("zh", "hinet", 550, "5.1.1", "收件者不存在", "userunknown", "shoujianzhe-bucunzai"),
    _reply("zh", "qq", 552, None, "收件人空间不足", "mailboxfull", "kongjian-buzu"),
    _reply("zh", "126", 552, None, "邮箱已满", "mailboxfull", "youxiang-yiman"),
    _reply("zh", "aliyun", 552, None, "邮件大小超过限制", "mesgtoobig", "daxiao-chaoguo-xianzhi"),
    _reply("zh", "163", 554, None,
           "DT:SPM 发送的邮件内容包含了未被许可的信息，或被系统识别为垃圾邮件。",
           "spamdetected", "laji-youjian"),
    _reply("zh", "sina", 550, None, "域名不存在", "hostunknown", "yuming-bucunzai"),
    _reply("zh", "163", 550, None, "该账号已被冻结", "suspend", "zhanghao-dongjie"),
    _reply("zh", "exchange", 550, None,
           "找不到你输入的电子邮件地址。请检查收件人的电子邮件地址，然后尝试重新发送邮件。",
           "userunknown", "zhaobudao-dizhi"),
    _reply("zh", "aliyun", 554, None, "邮件含有病毒", "virusdetected", "hanyou-bingdu"),
    _reply("zh", "qq", 550, None, "收件人拒收此邮件", "filtered", "shoujianren-jushou"),
    _reply("zh", "hinet", 552, None, "收件者信箱已滿", "mailboxfull", "xinxiang-yiman"),
    _reply("zh", "163", 451, None,
           "DT:SPM 邮件正文带有垃圾邮件特征或发送环境缺乏规范性，被临时拒收。",
           "spamdetected", "laji-youjian-tezheng"),
    # NetEase's connection and rate replies end with advice that names viruses and spam
    _reply("zh", "163", 421, None,
           "HL:ICC 该IP同时并发连接数过大，超过了网易的限制，被临时禁止连接。"
           "请检查是否有用户发送病毒或者垃圾邮件，并降低IP并发连接数量。",
           "toomanyconn", "bingfa-lianjieshu-guoda"),
    _reply("zh", "163", 421, None,
           "HL:IFC 该IP短期内发送了大量信件，超过了网易的限制，被临时禁止连接。"
           "请检查是否有用户发送病毒或者垃圾邮件，并降低发送频率。",
           "speeding", "duanqi-fasong-daliang"),
    _reply("zh", "163", 451, None, "MI:SFQ 发信人在15分钟内的发信数量超过限制，请控制发信频率。",
           "speeding", "faxin-shuliang-chaoguo"),

    # --- Japanese: Biglobe, Nifty, OCN, DTI, au/KDDI, docomo, SoftBank, Exchange (ja) ---
    _reply("ja", "biglobe", 550, None, "宛先のメールアドレスは存在しません", "userunknown",
           "meeru-adoresu-sonzai-shimasen"),
    _reply("ja", "nifty", 550, "5.1.1", "ユーザが存在しません", "userunknown",
           "yuuza-sonzai-shimasen"),
    _reply("ja", "dti", 550, "5.1.1", "<someone@example.test> のユーザーは登録されていません",
           "userunknown", "touroku-sareteimasen"),
    _reply("ja", "ocn", 550, "5.1.1", "宛先不明", "userunknown", "atesaki-fumei"),
    _reply("ja", "ocn", 552, None, "メールボックスがいっぱいです", "mailboxfull",
           "meeru-bokkusu-ippai"),
    _reply("ja", "softbank", 552, None, "受信者のメールボックスの容量を超えています",
           "mailboxfull", "youryou-wo-koete"),
    _reply("ja", "exchange", 550, None,
           "入力したメール アドレスが見つかりませんでした。受信者のメール アドレスを確認して、"
           "メッセージを再送信してください。",
           "userunknown", "adoresu-mitsukarimasen"),
    _reply("ja", "nifty", 552, None, "メールのサイズが大きすぎます", "mesgtoobig",
           "saizu-ookisugi"),
    _reply("ja", "au", 550, None, "受信拒否設定により受信を拒否されました", "filtered",
           "jushin-kyohi"),
    _reply("ja", "biglobe", 550, None, "ドメインが存在しません", "hostunknown",
           "domein-sonzai-shimasen"),
    _reply("ja", "docomo", 554, None, "迷惑メールと判定されたため受信を拒否しました",
           "spamdetected", "meiwaku-meeru"),
    _reply("ja", "ocn", 554, None, "ウイルスが検出されました", "virusdetected",
           "uirusu-kenshutsu"),
    _reply("ja", "biglobe", 552, None, "メールボックスの容量が不足しています", "mailboxfull",
           "youryou-ga-fusoku"),
    _reply("ja", "nifty", 550, None, "このアカウントは停止されています", "suspend",
           "akaunto-teishi"),

    # --- Korean: Naver, Daum/Kakao, Exchange (ko) ---
    _reply("ko", "naver", 550, "5.1.1", "수신자를 찾을 수 없습니다", "userunknown",
           "susinja-chajeul-su-eopseum"),
    _reply("ko", "daum", 550, "5.1.1", "존재하지 않는 사용자입니다", "userunknown",
           "jonjae-haji-anneun-sayongja"),
    _reply("ko", "naver", 552, None, "받는 사람의 메일함이 가득 찼습니다", "mailboxfull",
           "mailham-gadeuk"),
    _reply("ko", "daum", 552, None, "메일함 용량이 초과되었습니다", "mailboxfull",
           "yongryang-chogwa"),
    _reply("ko", "exchange", 550, None, "입력한 전자 메일 주소를 찾을 수 없습니다.",
           "userunknown", "juso-chajeul-su-eopseum"),
    _reply("ko", "naver", 552, "5.3.4",
           "보내신 메일의 크기가 커서, 받는 서버에서 수신을 차단하였습니다",
           "mesgtoobig", "keugi-keoseo"),
    _reply("ko", "daum", 550, None, "휴면 계정입니다", "suspend", "hyumyeon-gyejeong"),
    _reply("ko", "naver", 554, None, "스팸으로 분류되어 수신이 거부되었습니다", "spamdetected",
           "seupaem-bunryu"),
    _reply("ko", "daum", 554, None, "바이러스가 발견되었습니다", "virusdetected",
           "baireoseu-balgyeon"),
]
# fmt: on


@pytest.mark.parametrize(("code", "enhanced", "text", "reason", "worded"), REPLIES)
def test_a_localised_reply_gets_the_reason_it_states(
    code: int, enhanced: str | None, text: str, reason: str, worded: bool
) -> None:
    found = classify_smtp_reply(code, enhanced, text, f"<{RECIPIENT}>")

    assert found.reason == reason, text
    assert found.kind == ("hard" if reason in HARD_REASONS else "soft")


@pytest.mark.parametrize(
    ("code", "enhanced", "text", "reason", "worded"),
    # not the replies whose reason comes from the provider's own error number
    [param for param in REPLIES if param.values[-1]],
)
def test_the_localised_wording_alone_names_the_reason(
    code: int, enhanced: str | None, text: str, reason: str, worded: bool
) -> None:
    # a precise status code decides many of the replies above: the sentence must too
    assert reason_from_text(normalise_text(f"{code} {text}")) == reason, text


def test_the_reply_table_spans_the_languages() -> None:
    languages = {param.id.split("-")[0] for param in REPLIES if param.id}

    assert len(REPLIES) >= 80
    assert {"de", "fr", "es", "pt", "it", "nl", "pl", "cs", "tr", "ru", "zh", "ja", "ko"} <= (
        languages
    )


# --------------------------------------------------------------------------
# Whole messages
# --------------------------------------------------------------------------


def _encoded_word(text: str, charset: str) -> str:
    """An RFC 2047 encoded word, as mailers write non-ASCII subjects."""
    data = base64.b64encode(text.encode(charset)).decode("ascii")
    return f"=?{charset}?B?{data}?="


def _message(headers: str, body: str, charset: str, encoding: str = "7bit") -> bytes:
    """A single-part text/plain message with its body in `charset` and transfer `encoding`."""
    data = body.encode(charset)
    if encoding == "base64":
        data = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        data = quopri.encodestring(data)
    head = (
        f"{headers.strip()}\n"
        "MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {encoding}\n\n"
    )
    return head.encode("ascii") + data


def _report(headers: str, notice: str, charset: str, status: str, original: str) -> bytes:
    """A multipart/report whose human-readable part is in `charset`."""
    head = (
        f"{headers.strip()}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="NDR-1"\n\n'
    )
    parts = [
        f"--NDR-1\nContent-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 7bit\n\n".encode("ascii")
        + notice.encode(charset),
        f"\n--NDR-1\nContent-Type: message/delivery-status\n\n{status}".encode("ascii"),
        f"\n--NDR-1\nContent-Type: text/rfc822-headers\n\n{original}\n--NDR-1--\n".encode("ascii"),
    ]
    return head.encode("ascii") + b"".join(parts)


# Biglobe answers in Japanese (ISO-2022-JP) that the address does not exist.
BIGLOBE_NO_SUCH_ADDRESS = _message(
    f"""Return-Path: <>
From: postmaster@biglobe.ne.jp
To: alice@sender.test
Subject: {_encoded_word("メール配信エラーのお知らせ", "iso-2022-jp")}
Date: Mon, 1 Jul 2024 10:00:05 +0900
Message-ID: <err-1001@mail.biglobe.ne.jp>""",
    """このメールは、メール配信システムから自動的に送信されています。

お客様が送信されたメールは、以下の宛先に配信できませんでした。

宛先: taro-0001@receiver.test
理由: 宛先のメールアドレスは存在しません。

宛先のメールアドレスをご確認のうえ、再度送信してください。

----- 送信されたメールのヘッダー -----
Message-ID: <bl-orig-1@sender.test>
From: alice@sender.test
To: taro-0001@receiver.test
Subject: Oshirase
""",
    "iso-2022-jp",
)

# Nifty (Shift_JIS, base64): the recipient's mailbox is over its capacity.
NIFTY_MAILBOX_FULL = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@nifty.com
To: alice@sender.test
Subject: {_encoded_word("配信エラー: 容量超過", "shift_jis")}
Date: Mon, 1 Jul 2024 11:00:05 +0900""",
    """以下のメールアドレスへの配信に失敗しました。

hanako-0002@receiver.test
  受信者のメールボックスの容量を超えているため、メールを配信できませんでした。

----- 元のメッセージ -----
Message-ID: <nf-orig-2@sender.test>
From: alice@sender.test
To: hanako-0002@receiver.test
""",
    "shift_jis",
    "base64",
)

# OCN (Shift_JIS, 8bit) quotes the remote server's Japanese reply.
OCN_USER_UNKNOWN = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@ocn.ne.jp
To: alice@sender.test
Subject: {_encoded_word("メール配信不能のお知らせ", "shift_jis")}
Date: Mon, 1 Jul 2024 11:30:05 +0900""",
    """次の宛先へのメールは配信できませんでした。

宛先: ichiro-0005@receiver.test
エラー: 550 5.1.1 <ichiro-0005@receiver.test>: ユーザが存在しません
""",
    "shift_jis",
    "8bit",
)

# Exchange in a Japanese organisation: the notice is translated, the report is not.
EXCHANGE_JA_RECIPIENT_NOT_FOUND = _report(
    f"""From: Microsoft Outlook <postmaster@corp.receiver.test>
To: alice@sender.test
Subject: {_encoded_word("配信不能: 見積書", "iso-2022-jp")}
Date: Mon, 1 Jul 2024 12:00:05 +0900""",
    """次の受信者またはグループへの配信に失敗しました:

jiro-0003@corp.receiver.test
入力したメール アドレスが見つかりませんでした。受信者のメール アドレスを確認して、メッセージを再送信してください。
""",
    "iso-2022-jp",
    """Reporting-MTA: dns;mail.corp.receiver.test
Received-From-MTA: dns;mx.sender.test
Arrival-Date: Mon, 1 Jul 2024 03:00:03 +0000

Final-Recipient: rfc822;jiro-0003@corp.receiver.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found
""",
    """Message-ID: <ex-ja-orig-3@sender.test>
From: alice@sender.test
To: jiro-0003@corp.receiver.test
Subject: Mitsumori""",
)

# au (KDDI) in ISO-2022-JP: the recipient's reception settings refuse the sender.
AU_RECEPTION_REFUSED = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@ezweb.ne.jp
To: alice@sender.test
Subject: {_encoded_word("メール送信エラー", "iso-2022-jp")}
Date: Mon, 1 Jul 2024 13:00:05 +0900""",
    """送信したメールは相手に届きませんでした。

宛先: saburo-0004@ezweb.ne.jp
理由: 受信拒否設定により受信を拒否されました。

----- 送信したメール -----
Message-ID: <au-orig-4@sender.test>
""",
    "iso-2022-jp",
)

# An out-of-office notice in Shift_JIS with nothing but its subject to say so.
JAPANESE_OUT_OF_OFFICE = _message(
    f"""From: Yamada <yamada@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("不在のお知らせ: 見積書", "shift_jis")}
In-Reply-To: <send-5@sender.test>
Date: Mon, 1 Jul 2024 14:00:05 +0900""",
    """お世話になっております。

7月8日まで夏季休暇のため不在にしております。
戻り次第ご連絡いたします。
""",
    "shift_jis",
)

# An auto-reply in ISO-2022-JP.
JAPANESE_AUTO_REPLY = _message(
    f"""From: Suzuki <suzuki@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("自動返信: Re: ご注文", "iso-2022-jp")}
In-Reply-To: <send-6@sender.test>
Date: Mon, 1 Jul 2024 15:00:05 +0900""",
    """このメールは自動返信です。内容を確認のうえ、担当者よりご連絡いたします。
""",
    "iso-2022-jp",
)

# A German provider's text notice (ISO-8859-1, quoted-printable).
GERMAN_MAILBOX_FULL = _message(
    """Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.provider.test>
To: alice@sender.test
Subject: =?iso-8859-1?Q?Unzustellbar:_Rechnung_M=E4rz?=
Date: Tue, 2 Jul 2024 10:00:05 +0200""",
    """Ihre Nachricht konnte nicht zugestellt werden.

Empfänger: kai@receiver.test
Der Server mx.receiver.test antwortete: 552 Postfach voll

Bitte versuchen Sie es später erneut oder benachrichtigen Sie den Empfänger auf anderem Weg.

------ Kopfzeilen der ursprünglichen Nachricht ------
Message-ID: <de-orig-7@sender.test>
From: alice@sender.test
To: kai@receiver.test
""",
    "iso-8859-1",
    "quoted-printable",
)

# A German out-of-office reply, recognised by its subject alone.
GERMAN_OUT_OF_OFFICE = _message(
    """From: Jens Meyer <jens@receiver.test>
To: alice@sender.test
Subject: Abwesenheitsnotiz: Rechnung
In-Reply-To: <send-8@sender.test>
Date: Tue, 2 Jul 2024 11:00:05 +0200""",
    """Vielen Dank für Ihre Nachricht. Ich bin bis zum 15. Juli nicht im Büro.
""",
    "iso-8859-1",
    "quoted-printable",
)

# Orange / Wanadoo: the bilingual notice and Orange's own error number OFR_417.
ORANGE_MAILBOX_FULL = _message(
    """Return-Path: <>
From: Mailer-Daemon@orange.fr
To: alice@sender.test
Subject: =?iso-8859-1?Q?Non_remis_:_Devis?=
Date: Wed, 3 Jul 2024 10:00:05 +0200""",
    """Votre message n'a pas pu être remis aux destinataires suivants :

luc@receiver.test
    Raison : 552 5.1.1 <luc@receiver.test>: Boite du destinataire pleine. OFR_417 [417]

------ Message d'origine ------
Message-ID: <fr-orig-9@sender.test>
From: alice@sender.test
To: luc@receiver.test
""",
    "iso-8859-1",
    "quoted-printable",
)

# A French auto-reply: "Réponse automatique" puts the adjective last.
FRENCH_AUTO_REPLY = _message(
    f"""From: Claire <claire@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("Réponse automatique : Devis", "utf-8")}
In-Reply-To: <send-10@sender.test>
Date: Wed, 3 Jul 2024 11:00:05 +0200""",
    """Je suis absente du bureau jusqu'au 20 juillet.
""",
    "iso-8859-1",
    "quoted-printable",
)

# Yandex-style notice in KOI8-R: the mailbox is over its quota.
RUSSIAN_MAILBOX_FULL = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@mx.yandex.test
To: alice@sender.test
Subject: {_encoded_word("Недоставленное сообщение", "koi8-r")}
Date: Thu, 4 Jul 2024 10:00:05 +0300""",
    """Это письмо создано автоматически, отвечать на него не нужно.

К сожалению, Ваше письмо не может быть доставлено одному из получателей:

ivan@receiver.test
Почтовый ящик получателя переполнен.

--- Ниже находится копия заголовков исходного письма ---
Message-ID: <ru-orig-11@sender.test>
From: alice@sender.test
To: ivan@receiver.test
""",
    "koi8-r",
)

# A Russian auto-reply in UTF-8 (base64).
RUSSIAN_AUTO_REPLY = _message(
    f"""From: Olga <olga@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("Автоответ: Счёт", "utf-8")}
In-Reply-To: <send-12@sender.test>
Date: Thu, 4 Jul 2024 11:00:05 +0300""",
    """Я в отпуске до 20 июля. По срочным вопросам пишите коллегам.
""",
    "utf-8",
    "base64",
)

# NetEase (163.com) system bounce in GB2312: the recipient's mailbox has no space left.
NETEASE_MAILBOX_FULL = _message(
    f"""Return-Path: <>
From: postmaster@163.com
To: alice@sender.test
Subject: {_encoded_word("系统退信", "gb2312")}
Date: Fri, 5 Jul 2024 10:00:05 +0800""",
    """很抱歉您发送的邮件被退回，以下是该邮件的相关信息：

收件人：wang@receiver.test
退信原因：收件人邮箱空间不足，无法接收新邮件。

----- 原邮件信息 -----
Message-ID: <zh-orig-13@sender.test>
From: alice@sender.test
To: wang@receiver.test
""",
    "gb2312",
    "base64",
)

# A Chinese auto-reply in GBK.
CHINESE_AUTO_REPLY = _message(
    f"""From: Li <li@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("自动回复: 报价", "gbk")}
In-Reply-To: <send-14@sender.test>
Date: Fri, 5 Jul 2024 11:00:05 +0800""",
    """您好，我正在休假，7月15日返回办公室。
""",
    "gbk",
    "base64",
)

# Exchange in a Spanish organisation: a translated text notice.
SPANISH_MAILBOX_FULL = _message(
    f"""Return-Path: <>
From: postmaster@corp.receiver.test
To: alice@sender.test
Subject: {_encoded_word("No se puede entregar: Pedido", "utf-8")}
Date: Mon, 8 Jul 2024 10:00:05 +0200""",
    """Error al entregar el mensaje a estos destinatarios o grupos:

ana@corp.receiver.test
El buzón del destinatario está lleno y no puede aceptar mensajes en este momento. Vuelva a intentar enviar el mensaje más tarde.
""",
    "utf-8",
    "quoted-printable",
)

# A Spanish auto-reply.
SPANISH_AUTO_REPLY = _message(
    f"""From: Pablo <pablo@receiver.test>
To: alice@sender.test
Subject: {_encoded_word("Respuesta automática: Pedido", "iso-8859-1")}
In-Reply-To: <send-16@sender.test>
Date: Mon, 8 Jul 2024 11:00:05 +0200""",
    """Estaré fuera de la oficina hasta el 22 de julio.
""",
    "iso-8859-1",
    "quoted-printable",
)

# Naver-style notice in EUC-KR with the remote server's reply.
KOREAN_USER_UNKNOWN = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@mx.naver.test
To: alice@sender.test
Subject: {_encoded_word("메일 전송 실패 안내", "euc-kr")}
Date: Tue, 9 Jul 2024 10:00:05 +0900""",
    """보내신 메일이 다음 받는 사람에게 전송되지 못했습니다.

받는 사람: minsu@receiver.test
실패 사유: 550 5.1.1 수신자를 찾을 수 없습니다
""",
    "euc-kr",
    "base64",
)

# UOL-style notice in ISO-8859-1.
PORTUGUESE_MAILBOX_FULL = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@uol.com.br
To: alice@sender.test
Subject: {_encoded_word("Mensagem não entregue", "iso-8859-1")}
Date: Wed, 10 Jul 2024 10:00:05 -0300""",
    """Sua mensagem não pôde ser entregue ao seguinte destinatário:

joao@receiver.test
Motivo: caixa postal cheia

--- Cabeçalhos da mensagem original ---
Message-ID: <pt-orig-18@sender.test>
""",
    "iso-8859-1",
    "quoted-printable",
)

# A Polish notice in ISO-8859-2 with the remote server's reply.
POLISH_USER_UNKNOWN = _message(
    f"""Return-Path: <>
From: MAILER-DAEMON@poczta.onet.test
To: alice@sender.test
Subject: {_encoded_word("Wiadomość niedostarczona", "iso-8859-2")}
Date: Thu, 11 Jul 2024 10:00:05 +0200""",
    """Wiadomość nie mogła zostać dostarczona do następującego odbiorcy:

piotr@receiver.test
Odpowiedź serwera: 550 5.1.1 Użytkownik nie istnieje
""",
    "iso-8859-2",
    "quoted-printable",
)

# Italian and Dutch auto-replies.
ITALIAN_AUTO_REPLY = _message(
    """From: Marco <marco@receiver.test>
To: alice@sender.test
Subject: Risposta automatica: Preventivo
In-Reply-To: <send-20@sender.test>
Date: Fri, 12 Jul 2024 10:00:05 +0200""",
    """Sono fuori ufficio fino al 26 luglio.
""",
    "iso-8859-1",
)
DUTCH_AUTO_REPLY = _message(
    """From: Sanne <sanne@receiver.test>
To: alice@sender.test
Subject: Automatisch antwoord: Offerte
In-Reply-To: <send-21@sender.test>
Date: Fri, 12 Jul 2024 11:00:05 +0200""",
    """Ik ben afwezig tot 29 juli.
""",
    "iso-8859-1",
)

Found = tuple[str, str, str | None]


def _bounce(name: str, raw: bytes, expected: list[Found]) -> ParameterSet:
    return pytest.param(raw, expected, id=name)


BOUNCES = [
    _bounce("ja-biglobe-iso-2022-jp-no-such-address", BIGLOBE_NO_SUCH_ADDRESS,
            [("taro-0001@receiver.test", "userunknown", None)]),
    _bounce("ja-nifty-shift-jis-base64-mailbox-full", NIFTY_MAILBOX_FULL,
            [("hanako-0002@receiver.test", "mailboxfull", None)]),
    _bounce("ja-ocn-shift-jis-8bit-user-unknown", OCN_USER_UNKNOWN,
            [("ichiro-0005@receiver.test", "userunknown", "5.1.1")]),
    _bounce("ja-exchange-iso-2022-jp-report", EXCHANGE_JA_RECIPIENT_NOT_FOUND,
            [("jiro-0003@corp.receiver.test", "userunknown", "5.1.1")]),
    _bounce("ja-au-iso-2022-jp-reception-refused", AU_RECEPTION_REFUSED,
            [("saburo-0004@ezweb.ne.jp", "filtered", None)]),
    _bounce("de-latin-1-mailbox-full", GERMAN_MAILBOX_FULL,
            [("kai@receiver.test", "mailboxfull", "5.0.0")]),
    _bounce("fr-orange-ofr-417", ORANGE_MAILBOX_FULL,
            [("luc@receiver.test", "mailboxfull", "5.1.1")]),
    _bounce("ru-koi8-r-mailbox-full", RUSSIAN_MAILBOX_FULL,
            [("ivan@receiver.test", "mailboxfull", None)]),
    _bounce("zh-netease-gb2312-mailbox-full", NETEASE_MAILBOX_FULL,
            [("wang@receiver.test", "mailboxfull", None)]),
    _bounce("es-exchange-mailbox-full", SPANISH_MAILBOX_FULL,
            [("ana@corp.receiver.test", "mailboxfull", None)]),
    _bounce("ko-euc-kr-user-unknown", KOREAN_USER_UNKNOWN,
            [("minsu@receiver.test", "userunknown", "5.1.1")]),
    _bounce("pt-uol-mailbox-full", PORTUGUESE_MAILBOX_FULL,
            [("joao@receiver.test", "mailboxfull", None)]),
    _bounce("pl-iso-8859-2-user-unknown", POLISH_USER_UNKNOWN,
            [("piotr@receiver.test", "userunknown", "5.1.1")]),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), BOUNCES)
def test_a_localised_bounce_names_the_recipient_and_the_reason(
    raw: bytes, expected: list[Found]
) -> None:
    result = classify_message(raw)

    assert result.is_bounce and result.category == "bounce", result.problem
    found = [(r.recipient, r.reason, r.status) for r in result.recipients]
    assert found == expected
    for recipient in result.recipients:
        assert recipient.kind == ("hard" if recipient.reason in HARD_REASONS else "soft")


AUTO_REPLIES = [
    pytest.param(JAPANESE_OUT_OF_OFFICE, id="ja-shift-jis-fuzai"),
    pytest.param(JAPANESE_AUTO_REPLY, id="ja-iso-2022-jp-jidou-henshin"),
    pytest.param(GERMAN_OUT_OF_OFFICE, id="de-abwesenheitsnotiz"),
    pytest.param(FRENCH_AUTO_REPLY, id="fr-reponse-automatique"),
    pytest.param(RUSSIAN_AUTO_REPLY, id="ru-avtootvet"),
    pytest.param(CHINESE_AUTO_REPLY, id="zh-gbk-zidong-huifu"),
    pytest.param(SPANISH_AUTO_REPLY, id="es-respuesta-automatica"),
    pytest.param(ITALIAN_AUTO_REPLY, id="it-risposta-automatica"),
    pytest.param(DUTCH_AUTO_REPLY, id="nl-automatisch-antwoord"),
]


@pytest.mark.parametrize("raw", AUTO_REPLIES)
def test_a_localised_auto_reply_is_not_a_bounce(raw: bytes) -> None:
    result = classify_message(raw)

    assert not result.is_bounce
    assert result.category == "vacation"
    assert result.recipients == []


# Exchange translates the subject of its non-delivery reports ("Undeliverable:").
NDR_SUBJECTS = [
    pytest.param("Unzustellbar: Angebot", id="de"),
    pytest.param("Non remis : Devis", id="fr"),
    pytest.param("No se puede entregar: Pedido", id="es"),
    pytest.param("Não é possível entregar: Pedido", id="pt"),
    pytest.param("Non recapitabile: Preventivo", id="it"),
    pytest.param("Onbestelbaar: Offerte", id="nl"),
    pytest.param("Niedostarczalne: Oferta", id="pl"),
    pytest.param("Nedoručitelné: Nabídka", id="cs"),
    pytest.param("Teslim Edilemedi: Teklif", id="tr"),
    pytest.param("Не доставлено: Счёт", id="ru"),
    pytest.param("配信不能: 見積書", id="ja"),
    pytest.param("无法投递: 报价", id="zh-hans"),
    pytest.param("無法傳遞: 報價", id="zh-hant"),
    pytest.param("배달 못 함: 견적", id="ko"),
]


@pytest.mark.parametrize("subject", NDR_SUBJECTS)
def test_a_translated_non_delivery_subject_marks_a_bounce(subject: str) -> None:
    raw = _message(
        f"""From: Microsoft Outlook <postmaster@corp.receiver.test>
To: alice@sender.test
Subject: {_encoded_word(subject, "utf-8")}""",
        """bob@corp.receiver.test
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'
""",
        "utf-8",
    )

    result = classify_message(raw)

    assert result.is_bounce
    assert [(r.recipient, r.reason) for r in result.recipients] == [
        ("bob@corp.receiver.test", "userunknown")
    ]


# The sentence with which a notice introduces the failure, in each language.
FAILURE_SENTENCES = [
    pytest.param("Die Nachricht konnte nicht zugestellt werden.", id="de"),
    pytest.param("Votre message n'a pas pu être remis.", id="fr"),
    pytest.param("El mensaje no se pudo entregar.", id="es"),
    pytest.param("A mensagem não pôde ser entregue.", id="pt"),
    pytest.param("Non è stato possibile recapitare il messaggio.", id="it"),
    pytest.param("Het bericht kon niet worden bezorgd.", id="nl"),
    pytest.param("Wiadomość nie mogła zostać dostarczona.", id="pl"),
    pytest.param("Zprávu nebylo možné doručit.", id="cs"),
    pytest.param("İleti teslim edilemedi.", id="tr"),
    pytest.param("Ваше письмо не может быть доставлено.", id="ru"),
    pytest.param("メールを配信できませんでした。", id="ja"),
    pytest.param("您的邮件无法投递。", id="zh"),
    pytest.param("메일을 전송하지 못했습니다.", id="ko"),
]


@pytest.mark.parametrize("sentence", FAILURE_SENTENCES)
def test_a_daemon_notice_in_any_language_is_a_bounce(sentence: str) -> None:
    raw = _message(
        """From: MAILER-DAEMON@mx.provider.test
To: alice@sender.test
Subject: =?utf-8?B?Pz8/?=""",
        f"""{sentence}

carla@receiver.test
550 5.1.1 <carla@receiver.test>: Recipient address rejected
""",
        "utf-8",
    )

    result = classify_message(raw)

    assert result.is_bounce
    assert [(r.recipient, r.reason) for r in result.recipients] == [
        ("carla@receiver.test", "userunknown")
    ]
