"""`mailroom up` brings the whole platform up, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.e2e

SERVICES = ("api", "sender", "watcher", "bounce", "oauth-refresh")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_all_five_services_get_ready_within_60s_and_sigint_stops_everything(
    tmp_path: Path, rabbitmq_url: str
) -> None:
    status_file = tmp_path / "status.json"
    env = {**os.environ, "MAILROOM_AMQP_URL": rabbitmq_url, "MAILROOM_MONGO_DB": "e2e_up"}
    # MongoDB is left to the launcher (embedded default unless the environment names one).
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailroom.cli",
            "up",
            "--free-ports",
            "--status-file",
            str(status_file),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    # The launcher itself gives the services 60 s to answer /readyz and exits with
    # an error otherwise; the outer bound only covers infrastructure start-up too.
    started = time.monotonic()
    spawned: list[psutil.Process] = []
    try:
        while not status_file.exists():
            assert launcher.poll() is None, launcher.stdout.read().decode()[-4000:]  # type: ignore[union-attr]
            assert time.monotonic() - started < 120, "mailroom up did not become ready"
            time.sleep(0.2)
        status = json.loads(status_file.read_text())
        assert set(status["services"]) == set(SERVICES)
        for name, service in status["services"].items():
            ready = httpx.get(f"{service['url']}/readyz", timeout=5)
            assert ready.status_code == 200, name
            assert ready.json()["status"] == "ready"
            metrics = httpx.get(f"{service['url']}/metrics", timeout=5).text
            assert 'mailroom_ready{component="broker"} 1.0' in metrics, name
            assert 'mailroom_ready{component="store"} 1.0' in metrics, name
        spawned = _descendants(launcher.pid)
        assert len(spawned) >= len(SERVICES)

        launcher.send_signal(signal.SIGINT)
        output = launcher.communicate(timeout=90)[0].decode()
        assert launcher.returncode == 0, output[-4000:]
        assert "Stopped." in output
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    _, alive = psutil.wait_procs(spawned, timeout=10)
    assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"
