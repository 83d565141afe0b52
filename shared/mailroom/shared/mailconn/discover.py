"""Find the working SMTP / IMAP / POP3 settings for an address ("debug settings").

Candidates come from built-in presets for the big providers, DNS SRV records
(RFC 6186 and RFC 8314), and guesses from the domain and its MX hosts. Each
candidate host/port/security combination is probed concurrently within one time
budget: TCP connect, TLS (implicit or STARTTLS) and the greeting, never a login.
The combinations that work come back best first: implicit TLS, then STARTTLS,
then plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import dns.asyncresolver
import dns.exception
import dns.resolver
from pydantic import BaseModel

from mailroom.shared.mailconn.ssrf import TargetNotAllowed, check_addresses

Protocol = Literal["smtp", "imap", "pop3"]
Security = Literal["ssl", "starttls", "none"]
Source = Literal["given", "preset", "srv", "mx", "guess"]

_PROTOCOL_ORDER: dict[str, int] = {"smtp": 0, "imap": 1, "pop3": 2}
_SECURITY_ORDER: dict[str, int] = {"ssl": 0, "starttls": 1, "none": 2}
_SOURCE_ORDER: dict[str, int] = {"given": 0, "preset": 1, "srv": 2, "mx": 3, "guess": 4}

# The usual port and security combinations (RFC 8314 prefers implicit TLS).
DEFAULT_COMBINATIONS: dict[Protocol, tuple[tuple[int, Security], ...]] = {
    "smtp": ((465, "ssl"), (587, "starttls"), (25, "starttls"), (25, "none")),
    "imap": ((993, "ssl"), (143, "starttls")),
    "pop3": ((995, "ssl"), (110, "starttls")),
}

_Preset = tuple[Protocol, str, int, Security]
_PRESETS: dict[str, tuple[_Preset, ...]] = {
    "gmail": (
        ("smtp", "smtp.gmail.com", 465, "ssl"),
        ("smtp", "smtp.gmail.com", 587, "starttls"),
        ("imap", "imap.gmail.com", 993, "ssl"),
        ("pop3", "pop.gmail.com", 995, "ssl"),
    ),
    "microsoft": (
        ("smtp", "smtp.office365.com", 587, "starttls"),
        ("imap", "outlook.office365.com", 993, "ssl"),
        ("pop3", "outlook.office365.com", 995, "ssl"),
    ),
    "yahoo": (
        ("smtp", "smtp.mail.yahoo.com", 465, "ssl"),
        ("smtp", "smtp.mail.yahoo.com", 587, "starttls"),
        ("imap", "imap.mail.yahoo.com", 993, "ssl"),
        ("pop3", "pop.mail.yahoo.com", 995, "ssl"),
    ),
    "icloud": (
        ("smtp", "smtp.mail.me.com", 587, "starttls"),
        ("imap", "imap.mail.me.com", 993, "ssl"),
    ),
    "zoho": (
        ("smtp", "smtp.zoho.com", 465, "ssl"),
        ("smtp", "smtp.zoho.com", 587, "starttls"),
        ("imap", "imap.zoho.com", 993, "ssl"),
        ("pop3", "pop.zoho.com", 995, "ssl"),
    ),
    "fastmail": (
        ("smtp", "smtp.fastmail.com", 465, "ssl"),
        ("imap", "imap.fastmail.com", 993, "ssl"),
        ("pop3", "pop.fastmail.com", 995, "ssl"),
    ),
    "aol": (
        ("smtp", "smtp.aol.com", 465, "ssl"),
        ("imap", "imap.aol.com", 993, "ssl"),
        ("pop3", "pop.aol.com", 995, "ssl"),
    ),
}
# Mail domains, and MX host suffixes, that point to a preset.
_PRESET_DOMAINS: dict[str, str] = {
    "gmail.com": "gmail",
    "googlemail.com": "gmail",
    "google.com": "gmail",
    "outlook.com": "microsoft",
    "hotmail.com": "microsoft",
    "live.com": "microsoft",
    "msn.com": "microsoft",
    "office365.com": "microsoft",
    "yahoo.com": "yahoo",
    "ymail.com": "yahoo",
    "yahoodns.net": "yahoo",
    "icloud.com": "icloud",
    "me.com": "icloud",
    "mac.com": "icloud",
    "zoho.com": "zoho",
    "zoho.eu": "zoho",
    "fastmail.com": "fastmail",
    "messagingengine.com": "fastmail",
    "aol.com": "aol",
}

# RFC 6186 / RFC 8314 service records.
_SRV_SERVICES: tuple[tuple[str, Protocol, Security], ...] = (
    ("_submissions._tcp", "smtp", "ssl"),
    ("_submission._tcp", "smtp", "starttls"),
    ("_imaps._tcp", "imap", "ssl"),
    ("_imap._tcp", "imap", "starttls"),
    ("_pop3s._tcp", "pop3", "ssl"),
    ("_pop3._tcp", "pop3", "starttls"),
)

_PROBE_S = 3.0
_PARALLEL_PROBES = 24


class DiscoveredSetting(BaseModel):
    """A host/port/security combination that answered like the mail server it should be."""

    protocol: Protocol
    host: str
    port: int
    security: Security
    source: Source
    greeting: str | None = None
    elapsed_ms: int


@dataclass(frozen=True)
class _Candidate:
    protocol: Protocol
    host: str
    port: int
    security: Security
    source: Source


async def discover(
    email: str,
    host: str | None = None,
    *,
    allow_private: bool = False,
    budget_s: float = 10,
    ports: Mapping[Protocol, Sequence[int]] | None = None,
) -> list[DiscoveredSetting]:
    """The working settings for `email`'s mailbox, best first.

    With `host`, only that host is probed; `ports` replaces the usual port list
    (each given port is tried with ssl, starttls and none, and the best mode that
    works is kept). `allow_private` lets probes reach loopback and private addresses.
    """
    deadline = time.monotonic() + budget_s
    domain = email.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    if host:
        candidates = list(_combinations([host], "given", ports))
    else:
        lookup_budget = max(0.5, budget_s * 0.3)
        candidates = await _candidates_for_domain(domain, lookup_budget, ports)
    semaphore = asyncio.Semaphore(_PARALLEL_PROBES)

    async def limited(candidate: _Candidate) -> DiscoveredSetting | None:
        async with semaphore:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                return None
            return await _probe(candidate, min(_PROBE_S, remaining), allow_private)

    results = await asyncio.gather(*(limited(c) for c in _unique(candidates)))
    return _best_first([r for r in results if r is not None])


def _combinations(
    hosts: Iterable[str],
    source: Source,
    ports: Mapping[Protocol, Sequence[int]] | None,
    protocols: Iterable[Protocol] = ("smtp", "imap", "pop3"),
) -> Iterable[_Candidate]:
    for candidate_host in hosts:
        for protocol in protocols:
            if ports is not None:
                for port in ports.get(protocol, ()):
                    for security in ("ssl", "starttls", "none"):
                        yield _Candidate(protocol, candidate_host, port, security, source)
            else:
                for port, security in DEFAULT_COMBINATIONS[protocol]:
                    yield _Candidate(protocol, candidate_host, port, security, source)


async def _candidates_for_domain(
    domain: str, budget_s: float, ports: Mapping[Protocol, Sequence[int]] | None
) -> list[_Candidate]:
    resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = budget_s
    srv_lookups = [_srv(resolver, f"{name}.{domain}") for name, _, _ in _SRV_SERVICES]
    srv_results, mx_hosts = await asyncio.gather(
        asyncio.gather(*srv_lookups), _mx(resolver, domain)
    )
    candidates: list[_Candidate] = []
    presets = {_preset_for(domain)} | {_preset_for(mx) for mx in mx_hosts}
    for preset in sorted(p for p in presets if p):
        candidates += [_Candidate(*entry, "preset") for entry in _PRESETS[preset]]
    for (_, protocol, security), records in zip(_SRV_SERVICES, srv_results, strict=True):
        candidates += [_Candidate(protocol, h, p, security, "srv") for h, p in records]
    candidates += _combinations(mx_hosts[:2], "mx", ports)
    candidates += _combinations([f"mail.{domain}"], "guess", ports)
    candidates += _combinations([f"smtp.{domain}"], "guess", ports, ("smtp",))
    candidates += _combinations([f"imap.{domain}"], "guess", ports, ("imap",))
    candidates += _combinations([f"pop.{domain}", f"pop3.{domain}"], "guess", ports, ("pop3",))
    return candidates


def _preset_for(name: str) -> str | None:
    name = name.lower().rstrip(".")
    for suffix, preset in _PRESET_DOMAINS.items():
        if name == suffix or name.endswith("." + suffix):
            return preset
    return None


async def _srv(resolver: dns.asyncresolver.Resolver, name: str) -> list[tuple[str, int]]:
    try:
        answer = await resolver.resolve(name, "SRV")
    except (dns.exception.DNSException, OSError):
        return []
    records = sorted(answer, key=lambda r: (r.priority, -r.weight))
    # A target of "." means "this service is not offered here" (RFC 2782).
    return [
        (str(r.target).rstrip("."), int(r.port)) for r in records if str(r.target) not in ("", ".")
    ]


async def _mx(resolver: dns.asyncresolver.Resolver, domain: str) -> list[str]:
    try:
        answer = await resolver.resolve(domain, "MX")
    except (dns.exception.DNSException, OSError):
        return []
    return [str(r.exchange).rstrip(".") for r in sorted(answer, key=lambda r: r.preference)]


def _unique(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    seen: dict[tuple[str, str, int, str], _Candidate] = {}
    for candidate in candidates:
        key = (candidate.protocol, candidate.host.lower(), candidate.port, candidate.security)
        seen.setdefault(key, candidate)
    return list(seen.values())


def _best_first(found: list[DiscoveredSetting]) -> list[DiscoveredSetting]:
    # Keep the best security per protocol/host/port: a STARTTLS port also greets in
    # plain text, and offering "none" there would only invite a worse setting.
    best: dict[tuple[str, str, int], DiscoveredSetting] = {}
    for setting in found:
        key = (setting.protocol, setting.host.lower(), setting.port)
        current = best.get(key)
        if current is None or _SECURITY_ORDER[setting.security] < _SECURITY_ORDER[current.security]:
            best[key] = setting
    return sorted(
        best.values(),
        key=lambda s: (
            _PROTOCOL_ORDER[s.protocol],
            _SECURITY_ORDER[s.security],
            _SOURCE_ORDER[s.source],
            s.port,
            s.host,
        ),
    )


def _probe_context() -> ssl.SSLContext:
    # Probes check that TLS works on the port; the connection test checks the certificate.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _probe(
    candidate: _Candidate, budget_s: float, allow_private: bool
) -> DiscoveredSetting | None:
    started = time.monotonic()
    try:
        return await asyncio.wait_for(_probe_steps(candidate, allow_private, started), budget_s)
    except (OSError, TimeoutError, ValueError, UnicodeError, TargetNotAllowed):
        return None


async def _probe_steps(
    candidate: _Candidate, allow_private: bool, started: float
) -> DiscoveredSetting | None:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(candidate.host, candidate.port, type=socket.SOCK_STREAM)
    check_addresses(candidate.host, [str(info[4][0]) for info in infos], allow_private)
    ip, port = str(infos[0][4][0]), int(infos[0][4][1])
    use_ssl = candidate.security == "ssl"
    reader, writer = await asyncio.open_connection(
        ip,
        port,
        ssl=_probe_context() if use_ssl else None,
        server_hostname=candidate.host if use_ssl else None,
    )
    try:
        greeting = await _read_reply(reader, candidate.protocol)
        if greeting is None:
            return None
        if candidate.security == "starttls" and not await _start_tls(
            reader, writer, candidate.protocol, candidate.host
        ):
            return None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return DiscoveredSetting(
        protocol=candidate.protocol,
        host=candidate.host,
        port=candidate.port,
        security=candidate.security,
        source=candidate.source,
        greeting=greeting[:200],
        elapsed_ms=round((time.monotonic() - started) * 1000),
    )


async def _read_reply(reader: asyncio.StreamReader, protocol: Protocol) -> str | None:
    """The greeting (for SMTP the last line of a multi-line reply), if it is the right kind."""
    while True:
        line = (await reader.readline()).decode(errors="replace").rstrip("\r\n")
        if not line:
            return None
        if protocol == "smtp":
            if line[:4] == "220-":
                continue
            return line if line.startswith("220") else None
        if protocol == "imap":
            return line if line.startswith(("* OK", "* PREAUTH")) else None
        return line if line.startswith("+OK") else None


async def _start_tls(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, protocol: Protocol, host: str
) -> bool:
    if protocol == "smtp":
        writer.write(b"EHLO mailroom.invalid\r\n")
        extensions: list[str] = []
        while True:
            line = (await reader.readline()).decode(errors="replace").rstrip("\r\n")
            if not line.startswith("250"):
                return False
            extensions.append(line[4:].upper())
            if line[3:4] != "-":
                break
        if "STARTTLS" not in extensions:
            return False
        writer.write(b"STARTTLS\r\n")
        ok = (await reader.readline()).startswith(b"220")
    elif protocol == "imap":
        writer.write(b"D1 STARTTLS\r\n")
        while True:
            reply = await reader.readline()
            if not reply:
                return False
            if reply.startswith(b"D1 "):
                ok = reply[3:5].upper() == b"OK"
                break
    else:
        writer.write(b"STLS\r\n")
        ok = (await reader.readline()).startswith(b"+OK")
    if not ok:
        return False
    await writer.start_tls(_probe_context(), server_hostname=host)
    return True
