"""A throwaway mail system on 127.0.0.1: Dovecot (IMAP, POP3, LMTP) and Postfix (SMTP).

Everything lives under the given work directory: configuration, TLS files from a private
CA, queue, mailboxes and logs. The daemons are started by root with their own config
directories and never read /etc/postfix or /etc/dovecot. Postfix hands every address of
the sandbox domain to Dovecot over LMTP; Dovecot refuses unknown users, so Postfix sends
real delivery status notifications back to the sender. Nothing is relayed anywhere else.
"""

from __future__ import annotations

import grp
import os
import pwd
import resource
import signal
import smtplib
import subprocess
import time
import uuid
from contextlib import suppress
from pathlib import Path
from types import TracebackType

import trustme

from mailroom.localinfra import ports
from mailroom.localinfra.ports import LOOPBACK, free_port, port_answers
from mailroom.localinfra.procs import is_running, log_tail, read_pid_file, terminate

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
DH_PARAMS = Path("/usr/share/dovecot/dh.pem")
# Every IDLE session takes an inotify instance of the user "mail"; past this kernel limit
# Dovecot falls back to checking the mailbox every 30 s.
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")

# Dovecot 2.3's post-login capability list without UIDPLUS: a server that mailroom refuses.
CAPABILITIES_WITHOUT_UIDPLUS = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE LITERAL+ I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN "
    "CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE "
    "SAVEDATE LIST-EXTENDED NOTIFY"
)

DOVECOT_CONF = r"""
instance_name = <<instance>>
base_dir = <<dovecot_dir>>/run
state_dir = <<dovecot_dir>>/state
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = <<dovecot_dir>>/dovecot.log
info_log_path = <<dovecot_dir>>/dovecot.log

ssl = yes
ssl_cert = <<<tls_dir>>/server.pem
ssl_key = <<<tls_dir>>/server.key
ssl_dh = <<<dh_params>>
ssl_min_protocol = TLSv1.2
# Tests also log in without TLS on the plain ports.
disable_plaintext_auth = no
auth_mechanisms = plain login

# Mail processes may not run as root: all mailboxes belong to the system user "mail".
mail_uid = <<mail_uid>>
mail_gid = <<mail_gid>>
first_valid_uid = <<mail_uid>>
last_valid_uid = <<mail_uid>>
mail_location = maildir:<<mail_dir>>/%u/Maildir
pop3_uidl_format = %08Xu%08Xv

namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
}

# Plaintext passwords in a file re-read on change, so users can be added while running.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u <<dovecot_dir>>/users
}
# With a static userdb, LMTP still checks recipients against the passdb, so an unknown
# user gets "550 5.1.1 User doesn't exist" and Postfix bounces the message.
userdb {
  driver = static
  args = uid=<<mail_uid>> gid=<<mail_gid>> home=<<mail_dir>>/%u
}

service imap-login {
  inet_listener imap {
    port = <<imap_port>>
  }
  inet_listener imaps {
    port = <<imaps_port>>
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = <<pop3_port>>
  }
  inet_listener pop3s {
    port = <<pop3s_port>>
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = <<lmtp_port>>
  }
}
# SASL for Postfix's submission ports.
service auth {
  inet_listener sasl {
    address = 127.0.0.1
    port = <<sasl_port>>
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol imap {
  mail_max_userip_connections = 200
}
protocol pop3 {
  mail_max_userip_connections = 50
}
protocol lmtp {
  postmaster_address = postmaster@<<domain>>
}
<<connection_limits>>"""

# Only with `max_connections`: room for that many IMAP/POP3 sessions at once. Login
# processes then serve many clients each (service_count = 0) instead of one process per
# connection, and every service that counts clients (auth, anvil, log, stats) gets room.
CONNECTION_LIMITS_CONF = """
default_process_limit = <<process_limit>>
default_client_limit = <<client_limit>>
service imap-login {
  service_count = 0
  process_min_avail = 2
  client_limit = <<client_limit>>
}
service pop3-login {
  service_count = 0
  process_min_avail = 1
  client_limit = <<client_limit>>
}
# Several sessions per imap process: a thousand sessions in tens of processes, not a thousand.
service imap {
  process_limit = <<process_limit>>
  client_limit = 20
}
service pop3 {
  process_limit = <<process_limit>>
}
protocol imap {
  mail_max_userip_connections = <<userip_limit>>
}
protocol pop3 {
  mail_max_userip_connections = <<userip_limit>>
}
<<idle_check>>"""

# Only with `oauth_introspection_url`: XOAUTH2 and OAUTHBEARER logins (IMAP, POP3 and,
# through Dovecot's SASL, Postfix's submission ports) checked by RFC 7662 introspection.
# Appended to the main configuration: the later `auth_mechanisms` wins. The oauth2
# passdb is limited to its own mechanisms, so password logins never reach the endpoint.
OAUTH2_CONF = """
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = <<dovecot_dir>>/dovecot-oauth2.conf.ext
}
"""

OAUTH2_PASSDB_ARGS = """
introspection_url = <<introspection_url>>
introspection_mode = post
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""

# A second instance over the same users and mailboxes whose IMAP lacks UIDPLUS.
DOVECOT_NOUIDPLUS_CONF = """
!include <<dovecot_dir>>/dovecot.conf
instance_name = <<instance>>-nouidplus
base_dir = <<dovecot_dir>>/run-nouidplus
state_dir = <<dovecot_dir>>/state-nouidplus
protocols = imap
imap_capability = <<capabilities>>
service imap-login {
  inet_listener imap {
    port = <<nouidplus_port>>
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  inet_listener sasl {
    port = 0
  }
}
"""

POSTFIX_MAIN_CF = """
compatibility_level = 3.6
queue_directory = <<postfix_dir>>/spool
data_directory = <<postfix_dir>>/data
# There is no syslog: postlogd (see master.cf) writes this file.
maillog_file_prefixes = <<postfix_dir>>
maillog_file = <<postfix_dir>>/maillog
myhostname = mail.<<domain>>
mydomain = <<domain>>
myorigin = $mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no

# Every address of the domain goes to Dovecot over LMTP. virtual_mailbox_maps stays empty,
# so unknown users are accepted here, refused by LMTP, and bounced with a real DSN.
virtual_mailbox_domains = <<domain>>
virtual_transport = lmtp:inet:127.0.0.1:<<lmtp_port>>

# Nothing ever leaves the machine.
default_transport = error:outbound delivery disabled in the mail sandbox
relay_transport = error:outbound delivery disabled in the mail sandbox
relayhost =
disable_dns_lookups = yes
smtp_dns_support_level = disabled

smtpd_tls_cert_file = <<tls_dir>>/server.pem
smtpd_tls_key_file = <<tls_dir>>/server.key
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:<<sasl_port>>
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# Deferred mail (Dovecot stopped on purpose) is retried soon after it returns.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
"""

POSTFIX_MASTER_CF = """
<<smtp_listen>> inet n - n - - smtpd
  -o syslog_name=postfix/smtp
  -o smtpd_relay_restrictions=reject_unauth_destination
<<submission_listen>> inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
<<smtps_listen>> inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _fill(template: str, **values: object) -> str:
    text = template
    for name, value in values.items():
        text = text.replace(f"<<{name}>>", str(value))
    if "<<" in text:
        raise ValueError(f"unfilled placeholder in template: {text[text.index('<<') :][:40]}")
    return text.lstrip()


class MailSandbox:
    """Dovecot + Postfix on loopback for tests and `mailroom up`.

    Ports are free ones unless `fixed_ports` (then the constants in `ports`). Clients verify
    TLS against `ca_pem_path` / `ca_pem`; the server certificate names `localhost`,
    `127.0.0.1` and `mail.<domain>`.
    """

    host = LOOPBACK

    def __init__(
        self,
        workdir: Path,
        *,
        users: dict[str, str] | None = None,
        fixed_ports: bool = False,
        domain: str = "mailroom.test",
        max_connections: int | None = None,
        oauth_introspection_url: str | None = None,
    ) -> None:
        """`max_connections`: raise Dovecot's process, client and per-user limits (and its
        open-file limit) so that this many IMAP/POP3 sessions can be open at once; by
        default Dovecot's own limits apply (about 100 sessions)."""
        if max_connections is not None and max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.domain = domain
        self.max_connections = max_connections
        # Set: Dovecot also accepts OAuth access tokens, checked at this RFC 7662 endpoint.
        self.oauth_introspection_url = oauth_introspection_url
        self.root = Path(workdir) / "mail-sandbox"
        self.users: dict[str, str] = (
            dict(users)
            if users is not None
            else {f"demo@{domain}": "demo-password", f"alice@{domain}": "alice-password"}
        )
        if fixed_ports:
            self.imap_port = ports.IMAP_PORT
            self.imaps_port = ports.IMAPS_PORT
            self.pop3_port = ports.POP3_PORT
            self.pop3s_port = ports.POP3S_PORT
            self.lmtp_port = ports.LMTP_PORT
            self.sasl_port = ports.SASL_AUTH_PORT
            self.submission_port = ports.SUBMISSION_PORT
            self.smtps_port = ports.SMTPS_PORT
            self.smtp_port = ports.SMTP_PORT
            self.nouidplus_imap_port = ports.NOUIDPLUS_IMAP_PORT
        else:
            self.imap_port = free_port()
            self.imaps_port = free_port()
            self.pop3_port = free_port()
            self.pop3s_port = free_port()
            self.lmtp_port = free_port()
            self.sasl_port = free_port()
            self.submission_port = free_port()
            self.smtps_port = free_port()
            self.smtp_port = free_port()
            self.nouidplus_imap_port = free_port()
        self.dovecot_dir = self.root / "dovecot"
        self.postfix_dir = self.root / "postfix"
        self.mail_dir = self.root / "mail"
        self.tls_dir = self.root / "tls"
        self.ca_pem_path = self.tls_dir / "ca.pem"
        self.ca_pem = ""
        self._instance = f"mailroom-{uuid.uuid4().hex[:8]}"
        self._dovecot_running = False
        self._postfix_running = False

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> MailSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration and start Dovecot (both instances), then Postfix."""
        try:
            self._write_files()
            self.start_dovecot()
            self._start_postfix()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop Postfix, then Dovecot; safe to call more than once."""
        self._stop_postfix()
        self.stop_dovecot()

    def start_dovecot(self) -> None:
        """Start both Dovecot instances on the sandbox's ports (after `stop_dovecot()`)."""
        self._dovecot_running = True
        for config in (self._dovecot_conf, self._nouidplus_conf):
            self._run(["dovecot", "-c", str(config)], "dovecot")
        self._await_ports(
            "dovecot",
            [
                self.imap_port,
                self.imaps_port,
                self.pop3_port,
                self.pop3s_port,
                self.lmtp_port,
                self.sasl_port,
                self.nouidplus_imap_port,
            ],
            self._dovecot_log,
        )

    def stop_dovecot(self) -> None:
        """Stop both Dovecot instances, end every open session, wait until all are gone.

        A client connected at the time sees its connection closed, as when a real server
        goes down: the login processes that proxy TLS sessions would otherwise outlive
        their master and keep those sessions open.
        """
        if not self._dovecot_running:
            return
        masters = [
            read_pid_file(run_dir / "master.pid")
            for run_dir in (self.dovecot_dir / "run", self.dovecot_dir / "run-nouidplus")
        ]
        running = [pid for pid in masters if pid is not None and is_running(pid)]
        # Found before the masters exit: afterwards the children belong to init.
        children = _children_of(set(running))
        # Both instances shut down at once; each master takes most of its children along.
        for pid in running:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in running + children:
            terminate(pid, STOP_TIMEOUT_S)
        self._dovecot_running = False

    def _start_postfix(self) -> None:
        self._postfix_running = True
        self._run(["postfix", "-c", str(self.postfix_dir / "conf"), "start"], "postfix")
        self._await_ports(
            "postfix",
            [self.submission_port, self.smtps_port, self.smtp_port],
            self.postfix_dir / "maillog",
        )

    def _stop_postfix(self) -> None:
        if not self._postfix_running:
            return
        pid = read_pid_file(self.postfix_dir / "spool" / "pid" / "master.pid")
        subprocess.run(
            ["postfix", "-c", str(self.postfix_dir / "conf"), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=STOP_TIMEOUT_S,
        )
        if pid is not None:
            terminate(pid, STOP_TIMEOUT_S)
        self._postfix_running = False

    # -- what tests use ----------------------------------------------------------------

    def add_user(self, address: str, password: str) -> None:
        """Add (or replace) a mailbox user; Dovecot re-reads the users file on its next lookup."""
        known = address in self.users
        self.users[address] = password
        self._write_users()
        if self._dovecot_running:
            self._await_auth_sees(address, password, known)

    def add_users(self, users: dict[str, str]) -> None:
        """Add many users with one rewrite of the users file (for benchmarks)."""
        if not users:
            return
        known = {address for address in users if address in self.users}
        self.users.update(users)
        self._write_users()
        if self._dovecot_running:
            # Dovecot re-reads the whole file, so once it sees the last entry it sees all.
            address, password = list(users.items())[-1]
            self._await_auth_sees(address, password, address in known)

    def _await_auth_sees(self, address: str, password: str, known: bool) -> None:
        # Dovecot checks the users file for changes at most once a second, so wait until
        # its auth service answers with the new entry. A plain lookup suffices for a new
        # user; a changed password needs a real (and, while stale, slowed) authentication.
        check = ["auth", "test", address, password] if known else ["auth", "lookup", address]
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            result = subprocess.run(
                ["doveadm", "-c", str(self._dovecot_conf), *check],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            if result.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"Dovecot did not pick up user {address}: {result.stdout.strip()} "
                    f"{result.stderr.strip()}"
                )
            time.sleep(0.05)

    def deliver(self, rcpt: str, raw: bytes) -> None:
        """Put a message straight into `rcpt`'s INBOX over LMTP, bypassing Postfix."""
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            refused = lmtp.sendmail(f"postmaster@{self.domain}", [rcpt], raw)
        if refused:
            raise RuntimeError(f"LMTP refused {rcpt}: {refused}")

    def uidvalidity(self, address: str, folder: str = "INBOX") -> int:
        """The current UIDVALIDITY of a user's folder, read from the mail store."""
        result = subprocess.run(
            [
                "doveadm",
                "-c",
                str(self._dovecot_conf),
                "-f",
                "flow",
                "mailbox",
                "status",
                "-u",
                address,
                "uidvalidity",
                folder,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm mailbox status failed: {result.stderr.strip()}")
        return int(result.stdout.strip().split("=", 1)[1])

    def reset_uidvalidity(self, address: str, folder: str = "INBOX") -> None:
        """Make a folder's UIDVALIDITY change, as after a server-side mailbox rebuild.

        Dovecot is stopped, the folder's uid list and indexes are deleted (its messages
        stay) and Dovecot started again: it renumbers the messages under a new UIDVALIDITY.
        """
        before = self.uidvalidity(address, folder)
        maildir = self.mail_dir / address / "Maildir"
        folder_dir = maildir if folder.upper() == "INBOX" else maildir / f".{folder}"
        self.stop_dovecot()
        for path in folder_dir.glob("dovecot*"):
            if path.is_file() and (path.name == "dovecot-uidlist" or ".index" in path.name):
                path.unlink()
        self.start_dovecot()
        # A new UIDVALIDITY is the current time; within the same second as the old one,
        # set it explicitly so that the change is certain.
        if self.uidvalidity(address, folder) == before:
            self._doveadm(
                "mailbox", "update", "-u", address, "--uid-validity", str(before + 1), folder
            )

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of Dovecot's and Postfix's logs, for failure messages."""
        return (
            f"--- dovecot ({self._dovecot_log}) ---\n{log_tail(self._dovecot_log, lines)}\n"
            f"--- postfix ({self.postfix_dir / 'maillog'}) ---\n"
            f"{log_tail(self.postfix_dir / 'maillog', lines)}"
        )

    # -- internals ---------------------------------------------------------------------

    @property
    def _dovecot_conf(self) -> Path:
        return self.dovecot_dir / "dovecot.conf"

    @property
    def _nouidplus_conf(self) -> Path:
        return self.dovecot_dir / "dovecot-nouidplus.conf"

    @property
    def _dovecot_log(self) -> Path:
        return self.dovecot_dir / "dovecot.log"

    def _doveadm(self, *args: str) -> None:
        result = subprocess.run(
            ["doveadm", "-c", str(self._dovecot_conf), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr.strip()}")

    def _write_files(self) -> None:
        self._make_traversable(Path(self.root).parent)
        for directory in (self.root, self.dovecot_dir, self.postfix_dir, self.tls_dir):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o755)
        mail = pwd.getpwnam("mail")
        self.mail_dir.mkdir(exist_ok=True)
        os.chown(self.mail_dir, mail.pw_uid, mail.pw_gid)
        self._write_tls()
        self._write_users()
        values: dict[str, object] = {
            "instance": self._instance,
            "dovecot_dir": self.dovecot_dir,
            "postfix_dir": self.postfix_dir,
            "mail_dir": self.mail_dir,
            "tls_dir": self.tls_dir,
            "dh_params": DH_PARAMS,
            "mail_uid": mail.pw_uid,
            "mail_gid": mail.pw_gid,
            "domain": self.domain,
            "imap_port": self.imap_port,
            "imaps_port": self.imaps_port,
            "pop3_port": self.pop3_port,
            "pop3s_port": self.pop3s_port,
            "lmtp_port": self.lmtp_port,
            "sasl_port": self.sasl_port,
            "nouidplus_port": self.nouidplus_imap_port,
            "capabilities": CAPABILITIES_WITHOUT_UIDPLUS,
            "smtp_listen": f"{LOOPBACK}:{self.smtp_port}",
            "submission_listen": f"{LOOPBACK}:{self.submission_port}",
            "smtps_listen": f"{LOOPBACK}:{self.smtps_port}",
            "connection_limits": self._connection_limits(),
        }
        self._dovecot_conf.write_text(_fill(DOVECOT_CONF, **values) + self._oauth2_conf())
        self._nouidplus_conf.write_text(_fill(DOVECOT_NOUIDPLUS_CONF, **values))
        conf_dir = self.postfix_dir / "conf"
        conf_dir.mkdir(exist_ok=True)
        (conf_dir / "main.cf").write_text(_fill(POSTFIX_MAIN_CF, **values))
        (conf_dir / "master.cf").write_text(_fill(POSTFIX_MASTER_CF, **values))
        for name in ("spool", "data"):
            (self.postfix_dir / name).mkdir(exist_ok=True)
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.postfix_dir / "data", postfix_user.pw_uid, postfix_user.pw_gid)

    def _connection_limits(self) -> str:
        if self.max_connections is None:
            return ""
        wanted = self.max_connections
        return _fill(
            CONNECTION_LIMITS_CONF,
            process_limit=wanted + 100,
            # auth and anvil count every login and lmtp process Dovecot may start.
            client_limit=4 * (wanted + 100) + 1000,
            userip_limit=max(wanted, 200),
            idle_check=self._idle_check(),
        )

    def _idle_check(self) -> str:
        """Room for an inotify instance per session; if the kernel limit cannot be raised,
        Dovecot checks idle mailboxes every second instead of every 30 s."""
        assert self.max_connections is not None
        wanted = self.max_connections + 256
        try:
            if int(INOTIFY_INSTANCES.read_text()) < wanted:
                INOTIFY_INSTANCES.write_text(f"{wanted}\n")
            return ""
        except (OSError, ValueError):
            return "mailbox_idle_check_interval = 1 secs\n"

    def _raise_open_file_limit(self) -> None:
        # Run in the child before Dovecot starts: the master holds descriptors per process
        # and per client, and its own check warns below roughly that many.
        if self.max_connections is None:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 8 * self.max_connections + 4096
        if hard != resource.RLIM_INFINITY and hard < wanted:
            wanted = hard
        if soft == resource.RLIM_INFINITY or soft >= wanted:
            return
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    def _oauth2_conf(self) -> str:
        if self.oauth_introspection_url is None:
            return ""
        args_path = self.dovecot_dir / "dovecot-oauth2.conf.ext"
        args_path.write_text(
            _fill(OAUTH2_PASSDB_ARGS, introspection_url=self.oauth_introspection_url)
        )
        args_path.chmod(0o644)
        return _fill(OAUTH2_CONF, dovecot_dir=self.dovecot_dir)

    def _write_tls(self) -> None:
        ca = trustme.CA()
        server = ca.issue_cert("localhost", LOOPBACK, f"mail.{self.domain}")
        ca.cert_pem.write_to_path(str(self.ca_pem_path))
        server.cert_chain_pems[0].write_to_path(str(self.tls_dir / "server.pem"))
        for extra in server.cert_chain_pems[1:]:
            extra.write_to_path(str(self.tls_dir / "server.pem"), append=True)
        key_path = self.tls_dir / "server.key"
        server.private_key_pem.write_to_path(str(key_path))
        key_path.chmod(0o600)
        self.ca_pem = self.ca_pem_path.read_text()

    def _write_users(self) -> None:
        users_file = self.dovecot_dir / "users"
        lines = "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in self.users.items())
        # Written whole and renamed into place so that a lookup never sees half a file.
        staging = users_file.with_suffix(".new")
        staging.write_text(lines)
        os.chown(staging, 0, grp.getgrnam("dovecot").gr_gid)
        staging.chmod(0o640)
        staging.replace(users_file)

    @staticmethod
    def _make_traversable(workdir: Path) -> None:
        # Dovecot's mail processes (user "mail") and Postfix's daemons (user "postfix") open
        # paths under the work directory, so every directory above it must let them through.
        workdir.mkdir(parents=True, exist_ok=True)
        workdir.chmod(workdir.stat().st_mode | 0o111)
        for parent in workdir.resolve().parents:
            if not parent.stat().st_mode & 0o001:
                raise RuntimeError(
                    f"{parent} is not searchable by other users, so the mail and postfix "
                    f"users cannot reach {workdir}; use a work directory under /tmp"
                )

    def _run(self, command: list[str], name: str) -> None:
        # Output goes to a file, not a pipe: the daemon forks into the background with the
        # same descriptors and would keep a pipe open for as long as it runs.
        output_path = self.root / f"{name}-command.out"
        with output_path.open("w") as output:
            result = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=60,
                preexec_fn=self._raise_open_file_limit if name == "dovecot" else None,
            )
        if result.returncode != 0:
            log = self._dovecot_log if name == "dovecot" else self.postfix_dir / "maillog"
            raise RuntimeError(
                f"{' '.join(command)} failed with status {result.returncode}: "
                f"{output_path.read_text().strip()}\n{log_tail(log)}"
            )

    def _await_ports(self, name: str, port_numbers: list[int], log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = list(port_numbers)
        while waiting:
            waiting = [port for port in waiting if not port_answers(self.host, port)]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"{name} did not open ports {waiting} within {START_TIMEOUT_S:.0f} s:\n"
                    f"{log_tail(log)}"
                )
            time.sleep(0.05)


def _children_of(parents: set[int]) -> list[int]:
    """Pids of the live processes whose parent is one of `parents`."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (in parentheses, may hold spaces): state, ppid, ...
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) in parents:
            children.append(int(entry.name))
    return children
