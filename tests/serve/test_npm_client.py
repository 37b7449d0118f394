"""The published ``pikud-haoref-api`` npm client, unchanged, reads a running redcolor server.

The client (version pinned in tests/reference/npm/package-lock.json) is installed with ``npm ci``
into the test's temporary directory. It hard-codes https://www.oref.org.il/ and hands its options
to axios; tests/reference/npm/poll_once.js passes it an ``httpsAgent`` (the option its own example
uses) that connects to the loopback server over plain TCP instead. Everything the client does with
the request and the reply is its own code. The server is the real app under uvicorn with its
store fed by a writer, as ``redcolor serve`` runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

NPM_DIR = Path(__file__).resolve().parents[1] / "reference" / "npm"
# Spellings a client keyed on the real feed must get exactly: gershayim as two apostrophes, a
# gershayim as '"', a geresh, a spaced hyphen, a comma, an unspaced hyphen with commas, dots.
TRICKY = (
    "כפר חב''ד",
    "עין הנצי''ב",
    "גבעת ניל''י",
    'בית חג"י',
    "ג'ת",
    "תל אביב - מרכז העיר",
    "שדרות, איבים",
    "אשדוד -יא,יב,טו,יז,מרינה,סיטי",
    "אזור תעשייה נ.ע.מ",
)
MISSILES_TITLE_HE = "ירי רקטות וטילים"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory) -> Path:
    """The pinned client installed from its lock file (``npm ci``) in a temporary directory."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the published pikud-haoref-api client")
    work = tmp_path_factory.mktemp("npm-client")
    for name in ("package.json", "package-lock.json", "poll_once.js"):
        shutil.copy(NPM_DIR / name, work / name)
    done = subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"npm ci of pikud-haoref-api failed: {done.stderr.strip()[-500:]}")
    return work


def _poll(client_dir: Path, port: int) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "poll_once.js", "127.0.0.1", str(port)],
        cwd=client_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, result
    return result["alert"]


def _live_file(server) -> bytes:
    url = f"{server.http}/warningMessages/alert/Alerts.json"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read()


def _until_live(server, want_empty: bool) -> bytes:
    deadline = time.monotonic() + 10
    while True:
        body = _live_file(server)
        if (body.strip() == b"") == want_empty:
            return body
        assert time.monotonic() < deadline, "the live file did not change"
        time.sleep(0.02)


def test_the_client_reports_exactly_the_alerted_areas(client_dir, live_server, areas) -> None:
    ids = [areas.find(v).id for v in TRICKY]
    live_server.writer.event("npm-alert", "alert", ids)
    served = json.loads(_until_live(live_server, want_empty=False))
    alert = _poll(client_dir, live_server.port)
    assert alert["type"] == "missiles" and alert["instructions"] == MISSILES_TITLE_HE
    assert sorted(alert["cities"]) == sorted(TRICKY)
    assert alert["cities"] == served["data"]  # the client keeps the feed's order


def test_after_the_end_the_client_reads_the_history_file(client_dir, live_server, areas) -> None:
    """With the live file empty the client falls back to AlertsHistory.json and reports the
    areas alerted in the last 120 s, by the history rows' spelling."""
    ids = [areas.find(v).id for v in TRICKY]
    start = live_server.writer.event("npm-ended", "alert", ids)
    _until_live(live_server, want_empty=False)
    live_server.writer.event("npm-ended", "ended", ids, refs=[start.seq])
    _until_live(live_server, want_empty=True)
    alert = _poll(client_dir, live_server.port)
    assert sorted(alert["cities"]) == sorted(TRICKY)
