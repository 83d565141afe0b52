"""Helpers for the daemons the launcher starts: pid files, tagged processes, log tails."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

# Set in the environment of every process the launcher starts itself, so that
# helpers those processes spawn and detach (epmd) can still be found and stopped.
TAG_VARIABLE = "MAILROOM_LOCALINFRA_TAG"


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie left unreaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the command name in parentheses, which may contain spaces.
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if `pid` has not exited after `timeout` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_until_gone(pid, wait):
            return


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tagged_processes(tag: str) -> list[int]:
    """Pids of live processes whose environment carries TAG_VARIABLE=tag."""
    marker = f"{TAG_VARIABLE}={tag}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and is_running(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def terminate_tagged(tag: str, timeout: float = 10.0) -> None:
    for pid in tagged_processes(tag):
        terminate(pid, timeout)


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


def docker_available() -> bool:
    """Whether a Docker engine answers, so that testcontainers can start servers."""
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # no engine, no socket, no package: all mean "no Docker here"
        return False
