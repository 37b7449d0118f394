"""Restart safety: SIGKILL `redcolor simulate` midway; the store holds only whole events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import EVENT_DECODER

pytestmark = pytest.mark.slow


def _last_seq(path) -> int:
    if not path.exists():
        return 0
    try:
        return SQLiteEventStore(path, readonly=True).last_seq()
    except Exception:  # the writer may not have created the table yet
        return 0


def test_sigkill_midway_leaves_whole_gap_free_events(tmp_path):
    db = tmp_path / "alerts.db"
    cmd = [
        sys.executable,
        "-c",
        "from redcolor.cli.main import run; run()",
        "simulate",
        "haifa-40km",
        "--policy",
        "zone",
        "--db",
        str(db),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240.0
        while _last_seq(db) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "simulate finished before it could be killed midway"
        assert _last_seq(db) >= 3, "no events were written in time"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    store = SQLiteEventStore(db)  # a writer reopening recovers the WAL
    rows = store.read_since(0, limit=100_000)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    for row in rows:
        event = EVENT_DECODER.decode(row.body)
        assert event.seq == row.seq and event.areas and event.instructions
    (n_area_rows,) = store._db.execute("SELECT COUNT(DISTINCT seq) FROM event_areas").fetchone()
    assert n_area_rows == len(rows)
    # and it keeps counting from there
    assert store.append([EVENT_DECODER.decode(rows[0].body)])[0].seq == len(rows) + 1
