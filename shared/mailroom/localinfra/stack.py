"""The whole local infrastructure in one context manager: RabbitMQ, MongoDB, mail sandbox."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from mailroom.localinfra.mailsandbox import MailSandbox
from mailroom.localinfra.mongo import MongoHandle, MongoKind, ensure_mongo
from mailroom.localinfra.oauth_server import LocalOAuthServer
from mailroom.localinfra.ports import free_port
from mailroom.localinfra.rabbitmq import RabbitHandle, ensure_rabbitmq

T = TypeVar("T")


# The local OAuth server's port when ports are fixed (`mailroom up`).
OAUTH_PORT = 18080


class LocalStack:
    """Brings up (or reuses) RabbitMQ and MongoDB and starts a mail sandbox.

    A local OAuth 2.0 server stands in for Google's and Microsoft's: the sandbox's
    Dovecot accepts the access tokens it issues (XOAUTH2, through introspection),
    so OAuth mailboxes can be connected and used without a real provider.

    `__exit__` stops what was started here in reverse order and removes `workdir` if this
    stack created it. A failure or Ctrl-C during start-up cleans up the same way.
    """

    def __init__(self, workdir: Path, *, fixed_ports: bool = True) -> None:
        self.workdir = Path(workdir)
        self.fixed_ports = fixed_ports
        self._created_workdir = False
        self._cleanup = ExitStack()
        self._rabbit: RabbitHandle | None = None
        self._mongo: MongoHandle | None = None
        self._mail: MailSandbox | None = None
        self._oauth: LocalOAuthServer | None = None

    @property
    def amqp_url(self) -> str:
        return self._started(self._rabbit).url

    @property
    def mongo_url(self) -> str:
        return self._started(self._mongo).url

    @property
    def mongo_kind(self) -> MongoKind:
        return self._started(self._mongo).kind

    @property
    def mail(self) -> MailSandbox:
        return self._started(self._mail)

    @property
    def oauth(self) -> LocalOAuthServer:
        return self._started(self._oauth)

    def __enter__(self) -> LocalStack:
        if not self.workdir.exists():
            self.workdir.mkdir(parents=True)
            self._created_workdir = True
        self._cleanup.callback(self._remove_workdir)
        try:
            self._rabbit = ensure_rabbitmq(None, self.workdir)
            self._cleanup.callback(self._rabbit.stop)
            self._mongo = ensure_mongo(None, self.workdir)
            self._cleanup.callback(self._mongo.stop)
            self._oauth = LocalOAuthServer(OAUTH_PORT if self.fixed_ports else free_port())
            self._oauth.start()
            self._cleanup.callback(self._oauth.stop)
            self._mail = MailSandbox(
                self.workdir,
                fixed_ports=self.fixed_ports,
                oauth_introspection_url=self._oauth.introspection_url,
            )
            self._cleanup.callback(self._mail.stop)
            self._mail.start()
        except BaseException:  # KeyboardInterrupt included: leave nothing running
            self._cleanup.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cleanup.close()

    def describe(self) -> list[str]:
        """What runs where, for people: one line each."""
        rabbit, mongo, mail = (
            self._started(self._rabbit),
            self._started(self._mongo),
            self._started(self._mail),
        )
        rabbit_origin = "started here" if rabbit.started_here else "already running"
        demo = f"demo@{mail.domain}"
        return [
            f"RabbitMQ ({rabbit_origin}): {_without_password(rabbit.url)}",
            f"MongoDB ({mongo.kind}): {_without_password(mongo.url)}",
            f"IMAP {mail.host}:{mail.imap_port} (STARTTLS), IMAPS {mail.host}:{mail.imaps_port}",
            f"POP3 {mail.host}:{mail.pop3_port} (STLS), POP3S {mail.host}:{mail.pop3s_port}",
            f"SMTP submission {mail.host}:{mail.submission_port} (STARTTLS + AUTH), "
            f"SMTPS {mail.host}:{mail.smtps_port}, SMTP without auth {mail.host}:{mail.smtp_port}",
            f"IMAP without UIDPLUS (refused by Mailroom) {mail.host}:{mail.nouidplus_imap_port}",
            f"Demo mailbox: {demo} / password {mail.users.get(demo, '?')}",
            f"Mail domain {mail.domain}: nothing is relayed outside it",
            f"TLS CA certificate: {mail.ca_pem_path}",
            f"OAuth 2.0 server standing in for Google and Microsoft: {self.oauth.url}",
        ]

    def _remove_workdir(self) -> None:
        if self._created_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def _started(part: T | None) -> T:
        if part is None:
            raise RuntimeError("the local stack is not running; use it as a context manager")
        return part


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
