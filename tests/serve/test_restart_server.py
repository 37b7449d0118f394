"""kill -9 mid-salvo and restart: the real `redcolor serve --simulate` CLI, the real Mosquitto.

The server runs the Sderot salvo at 6x with a 5 s hold, publishing to MQTT; a subscriber stays
connected throughout. The server is killed with SIGKILL after its first alerts and before their
all-clears, an operator-style event is written to the store while it is down, and the same
command is started again on the same store. Then: every alert gets its all-clear for every area
it named; MQTT received every stored event, those stored while the server was down included; no
area is alerted more often than in an uninterrupted run of the same salvo, under the same alert
ids (the uninterrupted run fed the same ASTERIX-quantised plots as the wire gives, by
:func:`redcolor.sim.emit.replay`: a run in process on the simulator's exact plots may differ by
an edge area); the live file is empty.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiomqtt
import httpx
import msgspec
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.model import AlertArea, AlertEvent
from redcolor.pipeline import Feed, run
from redcolor.pipeline.resume import RunRecord
from redcolor.sim.emit import replay
from redcolor.sim.run import simulate
from redcolor.sim.scenario import load_scenario

pytestmark = [pytest.mark.slow, pytest.mark.services]
SCENARIO, SPEED, HOLD_S = "sderot-gaza", "6", "5"
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        *(sys.executable, "-c", "from redcolor.cli.main import run; run()"),
        *("serve", "--simulate", SCENARIO, "--speed", SPEED, "--hold-s", HOLD_S),
        *("--db", str(db), "--port", str(port), "--mqtt", "mqtt://127.0.0.1:1883"),
        *("--push-dir", str(db.parent / "push")),
    ]
    env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)


def _events(db: Path) -> list[AlertEvent]:
    try:
        store = SQLiteEventStore(db, readonly=True)
    except Exception:  # not created yet
        return []
    try:
        return list(store.iter_all())
    finally:
        store.close()


def _open_areas(events: list[AlertEvent]) -> set[tuple[str, int]]:
    """(alert id, area) pairs named by an alert and not ended since."""
    open_: set[tuple[str, int]] = set()
    for e in events:
        pairs = {(e.id, a.id) for a in e.areas}
        if e.stage == "ended":
            open_ -= pairs if e.areas else {p for p in open_ if p[0] == e.id}
        else:
            open_ |= pairs
    return open_


def _openings(events: list[AlertEvent]) -> Counter[int]:
    """How many times each area was newly put under alert (opened while not open)."""
    open_: set[int] = set()
    count: Counter[int] = Counter()
    for e in events:
        ids = {a.id for a in e.areas}
        if e.stage == "ended":
            open_ -= ids
            continue
        count.update(ids - open_)
        open_ |= ids
    return count


async def _wait(predicate, timeout_s: float, what: str, proc=None) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_kill_9_mid_salvo_then_restart_forgets_nothing(tmp_path, areas) -> None:
    db, log, port = tmp_path / "alerts.db", tmp_path / "serve.log", _free_port()
    heard: list[dict] = []  # everything on the topic (other tests may publish there too)
    operator_id = f"op-{os.getpid()}-{time.time_ns()}"
    prefix: list[str] = []

    def received() -> dict[int, dict]:
        """Our events by seq (deduplicated: at least once may repeat one)."""
        ours = (e for e in heard if e["id"] == operator_id or e["id"].startswith(prefix[0]))
        return {e["seq"]: e for e in ours}

    async def subscribe(ready: asyncio.Event) -> None:
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"t-restart-{os.getpid()}") as c:
            await c.subscribe("redcolor/events", qos=1)
            ready.set()
            async for message in c.messages:
                heard.append(json.loads(message.payload))

    ready = asyncio.Event()
    listener = asyncio.create_task(subscribe(ready))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.wait_for(ready.wait(), 10)
        first = _serve(db, port, log)
        procs.append(first)
        await _wait(lambda: len(_events(db)) >= 3, 90, "the first alerts", first)
        before = _events(db)
        assert _open_areas(before), "the alerts ended before the server could be killed"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL

        store = SQLiteEventStore(db)
        (record_body,) = [body for _, body, _ in store.runs()]
        record = msgspec.json.decode(record_body, type=RunRecord)
        prefix.append(record.run_id)
        # written while the server is down: an operator-style alert with a short expiry
        area = int(areas.locate(32.08, 34.78).id)  # Tel Aviv: far from the salvo
        now = time.time()
        (while_down,) = store.append(
            [
                AlertEvent(
                    operator_id,
                    0,
                    "missiles",
                    "alert",
                    (AlertArea(area, 15),),
                    now,
                    now + 3.0,
                    ("operator",),
                    {"en": "Enter a protected space"},
                )
            ]
        )
        store.close()
        await asyncio.sleep(2.0)

        second = _serve(db, port, log)
        procs.append(second)

        def finished() -> bool:
            check = SQLiteEventStore(db, readonly=True)
            try:
                done = check.runs()[0][2] is not None
            finally:
                check.close()
            return done and not _open_areas(_events(db))

        await _wait(finished, 120, "the run to finish with every all-clear", second)
        events = _events(db)
        await _wait(lambda: set(received()) >= {e.seq for e in events}, 20, "MQTT to catch up")
        async with httpx.AsyncClient(timeout=10) as client:
            live = await client.get(f"http://127.0.0.1:{port}/warningMessages/alert/Alerts.json")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        listener.cancel()

    # every alert, the one written while down included, got its all-clear for every area
    assert not _open_areas(events)
    assert any(e.id == operator_id and e.stage == "ended" for e in events)
    # MQTT: every stored event exactly as stored, including those stored while it was down
    got = received()
    assert set(got) == {e.seq for e in events}
    assert got[while_down.seq]["id"] == operator_id
    assert all((got[e.seq]["id"], got[e.seq]["stage"]) == (e.id, e.stage) for e in events)
    # continued, not re-run: the same alert ids, no area alerted more than without the kill
    ours = [e for e in events if e.id != operator_id]
    assert {e.id.rsplit("-", 1)[0] for e in ours} == {record.run_id}
    assert [e.seq for e in before] == [e.seq for e in events[: len(before)]]
    # the same run uninterrupted, on the very plots the wire gave (ASTERIX-quantised)
    sim = simulate(load_scenario(SCENARIO))
    wire = replay(sim, start_unix_s=record.start_unix_s, live_from_unix_s=math.inf)
    feed = Feed(SCENARIO, sim.registrations, wire, record.start_unix_s,
                ground_alt_m=sim.scenario.ground_alt_m)  # fmt: skip
    uninterrupted = run(feed, hold_s=float(HOLD_S)).events
    assert {e.id for e in ours} <= {e.id for e in uninterrupted}
    extra = _openings(ours) - _openings(uninterrupted)
    assert not extra, f"areas alerted again after the restart: {dict(extra)}"
    assert live.status_code == 200 and live.content == b""
    # push and the sirens consumed every event too: their durable positions reached the end
    positions = dict(SQLiteEventStore(db)._db.execute("SELECT * FROM channel_positions"))
    assert positions == {"mqtt": events[-1].seq, "push": events[-1].seq, "sirens": events[-1].seq}
