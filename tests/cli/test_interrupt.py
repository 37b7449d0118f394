"""The long-running commands as a person meets them: `redcolor serve` says where it listens (http
or https), and both it and `redcolor sirens simulate` stop on Ctrl-C (SIGINT) with an exit code
of 130, the shell's convention for an interrupt; `sirens simulate` prints its summary first.

Each command runs in a subprocess, as from a terminal, and gets a real SIGINT.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from redcolor.alerts.commands import IssueAlert
from redcolor.alerts.operate import operate
from redcolor.geo import load_areas

from ..serve.test_tls import _self_signed

STARTUP_S = 60.0  # generous: the machine's cores are shared; the server loads 1,450 areas first


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


class _Command:
    """A `redcolor` subprocess whose stdout lines are read in a thread (never blocking a test
    that waits for one with a deadline)."""

    def __init__(self, *args: str) -> None:
        # a terminal's SIGINT disposition, whatever this runner's (a shell's background job
        # starts with SIGINT ignored, and a child would inherit that)
        code = (
            "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
            " from redcolor.cli.main import main; sys.exit(main(sys.argv[1:]))"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, words: str, timeout_s: float = STARTUP_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if words in line:
                return line
        err = self.proc.stderr.read() if self.proc.poll() is not None else ""
        raise AssertionError(f"no line with {words!r}; stdout {self.seen!r}, stderr {err!r}")

    def interrupt(self) -> tuple[int, str, str]:
        """SIGINT, as Ctrl-C sends; the exit code and what was printed after it."""
        self.proc.send_signal(signal.SIGINT)
        rest, err = self.proc.communicate(timeout=30)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.proc.returncode, "\n".join([*self.seen, rest]), err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@contextmanager
def _serving(db: Path, *extra: str) -> Iterator[tuple[_Command, int]]:
    port = _free_port()
    server = _Command("serve", "--db", str(db), "--port", str(port), *extra)
    try:
        yield server, port
    finally:
        server.kill()


def test_serve_prints_its_url_and_stops_on_sigint(tmp_path) -> None:
    with _serving(tmp_path / "a.db") as (server, port):
        line = server.wait_for("serving on")
        url = f"http://127.0.0.1:{port}/"
        assert line == f"redcolor: serving on {url} (Ctrl-C stops)"
        assert httpx.get(f"{url}health", timeout=10).status_code == 200  # it is that URL
        code, _, err = server.interrupt()
    assert code == 130, err
    assert "Traceback" not in err


def test_serve_over_tls_prints_an_https_url(tmp_path) -> None:
    cert, key = _self_signed(tmp_path)
    with _serving(tmp_path / "a.db", "--tls-cert", str(cert), "--tls-key", str(key)) as (
        server,
        port,
    ):
        line = server.wait_for("serving on")
        url = f"https://127.0.0.1:{port}/"
        assert line == f"redcolor: serving on {url} (Ctrl-C stops)"
        trust = ssl.create_default_context(cafile=str(cert))
        assert httpx.get(f"{url}health", verify=trust, timeout=10).status_code == 200
        code, _, err = server.interrupt()
    assert code == 130, err


def test_sirens_simulate_prints_its_summary_on_sigint(tmp_path) -> None:
    db = tmp_path / "a.db"
    index = load_areas()
    area_id = index.areas[0].id  # any area will do
    with _serving(db) as (server, port):
        server.wait_for("serving on")
        shelter = {a.id: a.shelter_s for a in index.areas}
        areas = frozenset({area_id})
        issue = IssueAlert("op-1", "missiles", "alert", areas, None, "actual", ("operator:t",))
        operate(db, shelter, [issue], time.time())  # an open alert: sirens sound on connecting
        sirens = _Command(
            "sirens", "simulate", "--count", "2", "--areas", str(area_id), "--db", str(db),
            "--url", f"ws://127.0.0.1:{port}",
        )  # fmt: skip
        try:
            sirens.wait_for("2 sirens -> ")
            sirens.wait_for("sim-1: activate")
            sirens.wait_for("sim-2: activate")
            code, out, err = sirens.interrupt()
        finally:
            sirens.kill()
    assert code == 130, err
    summary = out.splitlines()[-1]
    assert summary == (
        "interrupted: 2 of 2 sirens received commands (2 connected; 2 activations, 0 stops; "
        "2 still sounding)"
    ), out
    assert "Traceback" not in err
