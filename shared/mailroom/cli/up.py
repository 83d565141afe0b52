"""`mailroom up`: the whole platform on this machine, on embedded defaults.

Brings up (or reuses) RabbitMQ and MongoDB, a Dovecot + Postfix mail sandbox
with a demo mailbox, then the five services as child processes, waits until
every `/readyz` answers, and prints what runs where. Ctrl-C (or SIGTERM) stops
the services (they drain), then everything the launcher started, and removes
its temporary files: nothing is left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from mailroom.cli.services import SERVICES

if TYPE_CHECKING:
    from mailroom.localinfra import LocalStack

# Default HTTP port of each service (each overridable with MAILROOM_<SERVICE>_HTTP_PORT).
DEFAULT_HTTP_PORTS = {
    "api": 8000,
    "sender": 9101,
    "watcher": 9102,
    "bounce": 9103,
    "oauth-refresh": 9104,
}
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def port_env_name(service: str) -> str:
    return f"MAILROOM_{service.upper().replace('-', '_')}_HTTP_PORT"


def _pipe_with_prefix(stream: IO[bytes], prefix: str) -> None:
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{prefix} {line.decode(errors='replace').rstrip()}\n")
        sys.stdout.flush()


def _is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class _Stop(Exception):
    """Raised from the signal handler to unwind `mailroom up` in order."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


@contextmanager
def _signals_raise_stop() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _start_services(
    env: dict[str, str], ports: dict[str, int], started: list[ServiceProcess]
) -> None:
    """Start every service, appending each to `started` at once (so it gets stopped)."""
    for name in SERVICES:
        child_env = {**env, port_env_name(name): str(ports[name])}
        process = subprocess.Popen(
            [sys.executable, "-m", "mailroom.cli", name],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Own session: a terminal Ctrl-C reaches only the launcher, which then
            # stops the services in order and waits for their drain.
            start_new_session=True,
        )
        assert process.stdout is not None
        threading.Thread(
            target=_pipe_with_prefix, args=(process.stdout, f"[{name}]"), daemon=True
        ).start()
        started.append(ServiceProcess(name, ports[name], process))


def _stop_services(services: list[ServiceProcess]) -> None:
    for service in services:
        if service.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for service in services:
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{service.name} did not stop in {STOP_TIMEOUT_S:.0f}s; killing it")
            with suppress(ProcessLookupError):
                os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


def _wait_until_ready(services: list[ServiceProcess]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = {s.name: s for s in services}
    while pending:
        for name, service in list(pending.items()):
            if service.process.poll() is not None:
                raise RuntimeError(f"{name} exited with status {service.process.returncode}")
            if _is_ready(service.url):
                del pending[name]
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {READY_TIMEOUT_S:.0f}s: {', '.join(pending)}")
        time.sleep(0.2)


def _summary(stack_lines: list[str], services: list[ServiceProcess], example: str) -> str:
    api = next(s for s in services if s.name == "api")
    lines = ["", "Mailroom is up.", ""]
    lines += [f"  {s.name:<14} {s.url}  (/readyz /metrics)" for s in services]
    lines += [f"  API docs       {api.url}/docs", ""]
    lines += [f"  {line}" for line in stack_lines]
    lines += ["", example, "Press Ctrl-C to stop everything.", ""]
    return "\n".join(lines)


def _up(args: argparse.Namespace) -> int:
    from mailroom.localinfra import LocalStack, free_port

    free_ports = bool(args.free_ports)
    ports = {
        name: free_port() if free_ports else int(os.environ.get(port_env_name(name), default))
        for name, default in DEFAULT_HTTP_PORTS.items()
    }
    workdir = Path(tempfile.mkdtemp(prefix="mailroom-up-"))
    services: list[ServiceProcess] = []
    status = 0
    with _signals_raise_stop():
        try:
            print(f"Starting local infrastructure in {workdir} ...", flush=True)
            with LocalStack(workdir, fixed_ports=not free_ports) as stack:
                try:
                    _start_services(_service_env(stack, ports["api"]), ports, services)
                    _wait_until_ready(services)
                    example = _demo_example(stack, workdir, ports["api"])
                    print(_summary(stack.describe(), services, example), flush=True)
                    if args.status_file:
                        _write_status(Path(args.status_file), stack, services)
                    _watch(services)
                finally:
                    # Services first (they drain into the broker and store), then the
                    # infrastructure as the `with` block ends. A second Ctrl-C must not
                    # cut this short and leave processes behind.
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    print("\nStopping ...", flush=True)
                    _stop_services(services)
        except _Stop:
            pass
        except Exception as exc:
            print(f"mailroom up: {exc}", file=sys.stderr)
            status = 1
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print("Stopped.", flush=True)
    return status


def _service_env(stack: LocalStack, api_port: int) -> dict[str, str]:
    from mailroom.shared.crypto import generate_key

    mail, oauth = stack.mail, stack.oauth
    # The local OAuth server plays Google; OAuth mailboxes then live in the sandbox.
    sandbox_servers = {
        "google": {
            "smtp": {"host": mail.host, "port": mail.submission_port, "security": "starttls"},
            "imap": {"host": mail.host, "port": mail.imaps_port, "security": "ssl"},
            "ca_pem": mail.ca_pem,
        }
    }
    oauth_env = {
        "MAILROOM_OAUTH_GOOGLE_CLIENT_ID": oauth.state.client_id,
        "MAILROOM_OAUTH_GOOGLE_CLIENT_SECRET": oauth.state.client_secret,
        "MAILROOM_OAUTH_GOOGLE_AUTHORIZE_URL": oauth.authorize_url,
        "MAILROOM_OAUTH_GOOGLE_TOKEN_URL": oauth.token_url,
        "MAILROOM_OAUTH_REDIRECT_URL": f"http://127.0.0.1:{api_port}/v1/oauth/callback",
        "MAILROOM_OAUTH_SERVERS": json.dumps(sandbox_servers),
    }
    return {
        **oauth_env,
        **os.environ,
        "MAILROOM_AMQP_URL": stack.amqp_url,
        "MAILROOM_MONGO_URL": stack.mongo_url,
        "MAILROOM_MONGO_DB": os.environ.get("MAILROOM_MONGO_DB", "mailroom"),
        # A throwaway key for this run's throwaway data; production keys come
        # from a Kubernetes Secret (see deploy/k8s/README.md).
        "MAILROOM_ENCRYPTION_KEYS": os.environ.get(
            "MAILROOM_ENCRYPTION_KEYS", f"local:{generate_key()}"
        ),
        # The demo mailbox lives on loopback, which the SSRF guard refuses unless
        # allowed: allowed here, never by default.
        "MAILROOM_ALLOW_PRIVATE_TARGETS": "true",
        "MAILROOM_LOG_FORMAT": os.environ.get("MAILROOM_LOG_FORMAT", "text"),
        "PYTHONUNBUFFERED": "1",
    }


def _write_status(path: Path, stack: LocalStack, services: list[ServiceProcess]) -> None:
    status = {
        "services": {s.name: {"url": s.url, "pid": s.process.pid} for s in services},
        "amqp_url": stack.amqp_url,
        "mongo_url": stack.mongo_url,
        "mongo_kind": stack.mongo_kind,
    }
    path.write_text(json.dumps(status))


def _watch(services: list[ServiceProcess]) -> None:
    """Block until a signal arrives; a service that dies takes the platform down."""
    while True:
        for service in services:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited with status {service.process.returncode}"
                )
        time.sleep(0.5)


def _demo_example(stack: LocalStack, workdir: Path, api_port: int) -> str:
    """Create a demo tenant and print, once, how to connect the demo mailbox and use it."""
    import asyncio

    from mailroom.api.tenants import create_tenant
    from mailroom.shared.store import Store

    async def tenant_key() -> str:
        store = Store(
            stack.mongo_url, os.environ.get("MAILROOM_MONGO_DB", "mailroom"), app_name="up"
        )
        try:
            _, key = await create_tenant(store, f"demo-{workdir.name}")
        finally:
            await store.close()
        return key

    key = asyncio.run(tenant_key())
    mail = stack.mail
    demo = "demo@" + mail.domain
    mailbox_file = workdir / "demo-mailbox.json"
    mailbox_file.write_text(
        json.dumps(
            {
                "name": "Demo mailbox",
                "email": demo,
                "display_name": "Demo Sender",
                "smtp": {
                    "host": mail.host,
                    "port": mail.submission_port,
                    "security": "starttls",
                    "username": demo,
                    "password": mail.users[demo],
                },
                "incoming": {
                    "protocol": "imap",
                    "host": mail.host,
                    "port": mail.imaps_port,
                    "security": "ssl",
                    "username": demo,
                    "password": mail.users[demo],
                },
                "tls": {"ca_pem": mail.ca_pem},
            },
            indent=2,
        )
    )
    api = f"http://127.0.0.1:{api_port}"
    auth = '-H "Authorization: Bearer $MAILROOM_KEY" -H "X-Mailroom-User: me"'
    json_header = "-H 'Content-Type: application/json'"

    def pick(field: str) -> str:
        return f"python3 -c 'import json,sys; print(json.load(sys.stdin)[\"{field}\"])'"

    return "\n".join(
        [
            "Try it (a demo tenant was created; its API key is shown only here):",
            "",
            f"  export MAILROOM_KEY={key}",
            f"  MAILBOX_ID=$(curl -s {api}/v1/mailboxes {auth} {json_header} \\",
            f"      -d @{mailbox_file} | {pick('id')})",
            f"  curl -s -X POST {api}/v1/mailboxes/$MAILBOX_ID/test {auth}",
            f'  curl -s {api}/v1/messages {auth} {json_header} -d \'{{"idempotency_key": '
            f'"hello-1", "mailbox_id": "\'"$MAILBOX_ID"\'", "to": [{{"email": "{demo}"}}], '
            f'"subject": "Hello from Mailroom", "text": "It works."}}\'',
            f"  curl -s --cacert {mail.ca_pem_path} -u {demo}:{mail.users[demo]} \\",
            f"      'imaps://{mail.host}:{mail.imaps_port}/INBOX;MAILINDEX=1'",
            "",
            "Connect a mailbox with OAuth instead (the local OAuth server plays Google and",
            "consents at once; in a real deployment the user's browser follows the URL):",
            "",
            f"  AUTH_URL=$(curl -s {api}/v1/oauth/google/start {auth} {json_header} \\",
            f'      -d \'{{"name": "Demo via OAuth", "email": "{demo}"}}\' \\',
            f"      | {pick('authorization_url')})",
            '  curl -sL "$AUTH_URL"',
            "",
        ]
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the whole platform locally (RabbitMQ, MongoDB, mail sandbox, five services)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--free-ports",
        action="store_true",
        help="pick free ports instead of the documented fixed ones (for tests and CI)",
    )
    parser.add_argument("--status-file", help="write URLs and pids as JSON here once ready")
    parser.set_defaults(handler=_up)
