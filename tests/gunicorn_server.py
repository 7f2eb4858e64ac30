"""The production server for tests: gunicorn serving ``inspect_app:create_app()``.

The test process binds the socket and hands it over (``fd://``), so no other process can take
the port in between and a restarted server answers on the same port. Everything the server
prints (errors, access log, audit lines) goes to ``log``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def app_env(app) -> dict[str, str]:
    """The environment that makes a server use ``app``'s database, secret and photo folder."""
    return {
        "INSPECT_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSPECT_SECRET_KEY": app.config["SECRET_KEY"],
        "INSPECT_PHOTO_DIR": app.config["PHOTO_DIR"],
        "INSPECT_TIMEZONE": app.config["TIMEZONE"],
    }


class Gunicorn:
    """One gunicorn master with ``workers`` × ``threads``; ``options`` are more command-line
    flags. ``start`` launches and waits for ``/healthz``; ``kill`` is SIGKILL to the whole
    process group (master and workers), then waits until none of them runs."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        workers: int = 1,
        threads: int = 2,
        options: tuple[str, ...] = ("--preload", "--log-level", "warning"),
        backlog: int = 256,
    ):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log = log
        self.args = [
            *(sys.executable, "-m", "gunicorn"),
            *("--workers", str(workers), "--threads", str(threads)),
            *("--bind", f"fd://{self.sock.fileno()}"),
            *options,
            "inspect_app:create_app()",
        ]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Gunicorn:
        self.launch()
        try:
            self.wait_ready(timeout)
        except RuntimeError:
            self.close()
            raise
        return self

    def launch(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                pass_fds=(self.sock.fileno(),),
                start_new_session=True,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90) -> None:
        # A busy machine can take many seconds to boot a worker: wait, do not fail early.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(OSError):
                if self.request("GET", "/healthz")[0] == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn did not answer /healthz:\n{self.log.read_text()[-4000:]}")

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """One request on a new connection: (status, parsed JSON or raw bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, json.loads(data)
        return response.status, data

    def kill(self) -> None:
        pgid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.proc.wait()
        _wait_group_gone(pgid)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.sock.close()


def _wait_group_gone(pgid: int, timeout: float = 10) -> None:
    """Wait until no process of group ``pgid`` is alive. Zombies count as gone: a killed
    worker is reaped by whoever adopted it, and its sockets and files are closed already."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            # Fields after the command (which may hold spaces): state, ppid, pgrp, ...
            state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
            if int(pgrp) == pgid and state != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.01)
    raise RuntimeError(f"process group {pgid} still alive after SIGKILL")
