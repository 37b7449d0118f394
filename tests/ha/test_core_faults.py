"""Core faults during a live salvo: three active/standby cores on one PostgreSQL store (a
private server, ``own_postgres``), an edge, WebSocket and SSE clients on the edge, ``sim emit``
sending the salvo through a relay to every core.

One salvo, faults in turn (each on whoever leads then): kill -9 the first leader; SIGSTOP the
next one for 5 s (it is superseded and, woken, must write nothing: a standby); 30 % of the
datagrams to every core dropped from then on; SIGTERM the third leader (it releases the lease:
the woken core takes over); restart PostgreSQL as after a crash (the leader's next write fails,
it steps down and takes a new term once the store answers). One core runs its clock 5 s ahead
all along; every core leads in turn, that one too.

Whatever happens: every client gets every event exactly once in seq order; the store's seqs are
gap-free; every event's term is at least the one before it (no deposed leader wrote after a
newer one began); no area is in two open alerts at once (no alert issued twice); every area of
every alert gets its all-clear; the events' ``issued_at`` never run back, though the clocks
differ (the event log is written to ``events.txt`` under the test's tmp
dir, one line per event, to diagnose a failure). The time from each fault to the next leader's
store term, and to the next event a client got, is printed and written to ``figures.json``
there too (the bench measures medians: bench/bench_takeover.py)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from redcolor.alerts.store import StoredEvent, open_store

from .cluster import Cluster, Core, dump


class Client(threading.Thread):
    """A WebSocket or SSE client of the edge: the seqs it got, with when."""

    def __init__(self, url: str, kind: str) -> None:
        super().__init__(daemon=True)
        self.url, self.kind = url, kind
        self.got: list[tuple[int, float]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.kind == "ws":
                self._ws()
            else:
                self._sse()
        except BaseException as exc:  # reported by the test
            if not self.stop.is_set():
                self.error = exc

    def _ws(self) -> None:
        ws_url = self.url.replace("http://", "ws://") + "/v1/stream?since=0"
        with connect(ws_url, open_timeout=10) as ws:
            while not self.stop.is_set():
                try:
                    text = ws.recv(timeout=0.2)
                except TimeoutError:
                    continue
                frame = json.loads(text)
                if "type" not in frame:
                    self.got.append((frame["seq"], time.time()))

    def _sse(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=None)) as http,
            http.stream("GET", f"{self.url}/v1/events?since=0") as response,
        ):
            event = None
            for line in response.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event == "alert":
                    self.got.append((json.loads(line[5:])["seq"], time.time()))


@pytest.fixture
def cluster(tmp_path: Path, own_postgres) -> Iterator[Cluster]:
    made = Cluster(tmp_path, own_postgres.database())
    try:
        made.start_nats()
        made.prepare(["core-a", "core-b", "core-c"])
        yield made
    finally:
        made.close()


def _store_term(store: str) -> int:
    reader = open_store(store, readonly=True)
    try:
        return reader.term()
    finally:
        reader.close()


def _term_taken(store: str, above: int, timeout_s: float = 10.0) -> float:
    """Wait for the store's term to rise above ``above``; when it did."""
    reader = open_store(store, readonly=True)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if reader.term() > above:
                return time.time()
            time.sleep(0.01)
    finally:
        reader.close()
    raise AssertionError(f"no new store term above {above} in {timeout_s} s")


def _read_log(store: str) -> list[StoredEvent]:
    reader = open_store(store, readonly=True)
    try:
        return reader.read_since(0, 100_000)
    finally:
        reader.close()


def _open_areas(rows: list[StoredEvent]) -> dict[int, str]:
    """Area -> the alert it is open in, after folding the log; checks no area is alerted
    twice and no all-clear names an area not open in its alert. Areas of one alert end one
    by one (each a hold after its own threats), so an alert whose last event is ``ended``
    may still hold others: only this fold says whether every all-clear came."""
    open_area: dict[int, str] = {}
    for row in rows:
        event = row.decode()
        for area in (a.id for a in event.areas):
            other = open_area.get(area)
            if event.stage in ("ended", "cancelled"):
                assert other == event.id, f"seq {row.seq}: all-clear of area {area} not open"
                del open_area[area]
            else:
                assert other in (None, event.id), f"area {area} alerted twice: {other}, {event.id}"
                open_area[area] = event.id
    return open_area


def _dump_log(rows: list[StoredEvent], path: Path) -> None:
    """The event log, one line per event (seq, term, id, stage, times, area ids)."""
    lines = []
    for row in rows:
        e = row.decode()
        lines.append(
            f"{row.seq} term={row.term} {e.id} {e.stage} issued={e.issued_at_unix_s:.2f}"
            f" expires={e.expires_at_unix_s} areas={[a.id for a in e.areas]}"
        )
    path.write_text("\n".join(lines) + "\n")


def _every_area_ended(cluster: Cluster, log_path: Path, within_s: float) -> list[StoredEvent]:
    """The store's log once every area of every alert has had its all-clear; the log is
    written to ``log_path`` at each look (what a failure is diagnosed from)."""
    deadline = time.monotonic() + within_s
    while True:
        rows = _read_log(cluster.store)
        _dump_log(rows, log_path)
        if rows and not _open_areas(rows):
            return rows
        assert time.monotonic() < deadline, f"areas still open (see {log_path}):\n{cluster.logs()}"
        time.sleep(0.5)


def _check_log(rows: list[StoredEvent]) -> tuple[list[int], int]:
    """The store's seqs, checked (module docstring); and the number of alerts."""
    seqs = [r.seq for r in rows]
    assert seqs == list(range(1, len(seqs) + 1)), "the store's seqs have a gap"
    terms = [r.term for r in rows]
    assert terms == sorted(terms), f"a deposed leader wrote after a newer one: {terms}"
    left = _open_areas(rows)
    assert rows and not left, f"left without their all-clear: {left}"
    issued = [r.decode().issued_at_unix_s for r in rows]
    assert issued == sorted(issued), "an event's issued_at runs back across a takeover"
    return seqs, len({r.decode().id for r in rows})


def _next_event_s(client: Client, fault_unix_s: float) -> float | None:
    later = [t for _, t in client.got if t > fault_unix_s]
    return None if not later else round(later[0] - fault_unix_s, 3)


def test_leader_faults_during_a_salvo(cluster: Cluster, tmp_path: Path, own_postgres) -> None:
    a, b, c = cluster.cores
    cluster.start_core(a)
    cluster.start_core(b, "--clock-offset-s", "5")
    cluster.start_core(c)
    cluster.start_edge()
    cluster.wait_up()
    first = cluster.wait_leader(20)
    clients = [Client(cluster.edge_url, "ws"), Client(cluster.edge_url, "sse")]
    for client in clients:
        client.start()
    time.sleep(0.5)
    emitter = cluster.emit()
    t0 = time.time()
    faults: dict[str, dict[str, float | str | None]] = {}

    def fault(name: str, core: Core, sig: int) -> float:
        term = _store_term(cluster.store)
        at = core.signal(sig)
        taken = _term_taken(cluster.store, term)
        faults[name] = {"node": core.name, "takeover_s": round(taken - at, 3), "at_unix_s": at}
        return at

    time.sleep(max(0.0, t0 + 5.0 - time.time()))
    fault("kill -9", first, signal.SIGKILL)
    second = cluster.wait_leader(not_=first)

    time.sleep(max(0.0, t0 + 8.0 - time.time()))
    stopped_at = fault("SIGSTOP 5 s", second, signal.SIGSTOP)
    third = cluster.wait_leader(not_=second)
    assert third is not first
    time.sleep(max(0.0, stopped_at + 5.0 - time.time()))
    second.signal(signal.SIGCONT)
    woke = time.monotonic()
    while second.role() != "standby":  # fenced: superseded, it never leads on waking
        assert time.monotonic() - woke < 5, cluster.logs()
        time.sleep(0.05)
    assert third.role() == "leader"

    assert cluster.relay is not None
    cluster.relay.drop = [0.3] * len(cluster.cores)
    time.sleep(0.5)
    fault("SIGTERM", third, signal.SIGTERM)
    assert cluster.wait_leader(not_=third) is second  # the woken core leads now
    assert second.alive
    assert third.proc is not None
    # a clean stop hands the lease over at once, then ends the process once uvicorn has drained
    # its connections: that can take longer than the takeover
    assert third.proc.wait(15) is not None
    assert {first.name, second.name, third.name} == {core.name for core in cluster.cores}

    time.sleep(0.5)  # PostgreSQL restarts (as after a crash) under the leader
    term = _store_term(cluster.store)
    restarted = time.time()
    own_postgres.restart()
    faults["PostgreSQL restart"] = {"node": "postgres", "at_unix_s": restarted}
    faults["PostgreSQL restart"]["down_s"] = round(time.time() - restarted, 3)

    assert emitter.wait(60) == 0
    rows = _every_area_ended(cluster, tmp_path / "events.txt", within_s=60)
    seqs, alerts = _check_log(rows)
    leader = cluster.wait_leader()  # the core that lived through the restart still leads
    assert leader is second and _store_term(cluster.store) >= term
    deadline = time.monotonic() + 10
    while any(len(cl.got) < len(seqs) for cl in clients) and time.monotonic() < deadline:
        time.sleep(0.1)
    for client in clients:
        client.stop.set()
    for client in clients:
        assert client.error is None, f"{client.kind}: {client.error!r}"
        assert [s for s, _ in client.got] == seqs, f"{client.kind} client: not every event once"
        for figure in faults.values():
            figure[f"next_event_{client.kind}_s"] = _next_event_s(
                client, float(figure["at_unix_s"])
            )
    relay = cluster.relay
    figures = {
        "faults": faults,
        "events": len(seqs),
        "alerts": alerts,
        "datagrams_dropped": relay.dropped,
        "datagrams_sent": relay.sent,
    }
    dump(tmp_path / "figures.json", figures)
    print(json.dumps(figures, indent=1))
    assert all(relay.dropped), "the lossy link dropped nothing"
