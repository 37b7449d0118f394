"""Sirens: the board core, and real controllers (``websockets``) on a real uvicorn server:
authentication, acks, isolation of a stalled siren, replacement, revocation, restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from redcolor.alerts.commands import CancelAlert, IssueAlert
from redcolor.alerts.operate import operate
from redcolor.alerts.store import SQLiteEventStore
from redcolor.auth import TokenStore
from redcolor.channels.active import ActiveAlerts
from redcolor.channels.siren_sim import make_sirens, provision_tokens
from redcolor.channels.sirens import MIN_SOUND_S, SirenBoard
from redcolor.cli.main import main
from redcolor.model import AlertArea, AlertEvent

from .conftest import LiveServer, SalvoWriter, make_state, until


def _ev(stage: str, areas: tuple[int, ...], seq: int, alert_id: str = "a") -> AlertEvent:
    return AlertEvent(
        alert_id, seq, "missiles", stage, tuple(AlertArea(a, 0) for a in areas), 0.0, None, (), {}
    )


def test_board_activates_stops_and_reports_late_acks() -> None:
    board = SirenBoard(ack_deadline_s=1.0)
    board.connect("s1", frozenset({1}), 0.0)
    board.connect("s2", frozenset({2}), 0.0)
    assert board.on_event(_ev("pre_alert", (1, 2), 1), 0.0) == []
    cmds = board.on_event(_ev("alert", (1, 2), 2), 0.0)
    assert [(c.siren, c.action, c.duration_s) for c in cmds] == [
        ("s1", "activate", MIN_SOUND_S),
        ("s2", "activate", MIN_SOUND_S),
    ]
    assert board.ack("s1", cmds[0].cmd, 0.2) == 0.2
    assert board.ack("s1", cmds[1].cmd, 0.2) is None  # not s1's command
    assert [c.siren for c in board.overdue(1.5)] == ["s2"]
    assert board.overdue(3.0) == []  # reported once
    late = board.connect("s3", frozenset({1}), 2.0)  # joins while area 1 sounds
    assert [(c.siren, c.action) for c in late] == [("s3", "activate")]
    stops = board.on_event(_ev("ended", (1, 2), 3), 4.0)
    assert {(c.siren, c.action) for c in stops} == {("s1", "stop"), ("s2", "stop"), ("s3", "stop")}


def test_board_restored_from_the_active_view() -> None:
    view = ActiveAlerts()
    for event in (
        _ev("alert", (1, 2), 1, "a"),
        _ev("ended", (2,), 2, "a"),
        _ev("pre_alert", (3,), 3, "b"),
    ):
        view.apply(event)
    board = SirenBoard()
    board.restore(view.areas(now_unix_s=1.0))
    cmds = board.connect("s", frozenset({1, 2, 3}), 0.0)
    assert [(c.action, c.area_id, c.alert_id, c.seq) for c in cmds] == [("activate", 1, "a", 1)]


@pytest.mark.parametrize("exercise_to", [frozenset(), frozenset({"sirens"})])
def test_a_restarted_server_sounds_an_open_exercise_only_when_told(
    tmp_path, areas, meron_ids, exercise_to
) -> None:
    path = tmp_path / "a.db"
    shelter = {a.id: a.shelter_s for a in areas.areas}
    area = meron_ids[0]
    drill = IssueAlert("op-1", "missiles", "alert", frozenset({area}), None, "exercise", ("o",))
    operate(path, shelter, [drill], time.time())
    state = make_state(SQLiteEventStore(path), areas, exercise_channels=exercise_to)
    cmds = state.sirens.connect("s", frozenset({area}), 0.0)
    assert [(c.action, c.alert_id) for c in cmds] == ([("activate", "op-1")] if exercise_to else [])


# --------------------------------------------------------------------------------------------
# A real server with real controllers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def start_server(tmp_path, areas):
    """``start(**config)`` -> a LiveServer on ``tmp_path/sirens.db`` with ``.writer`` and
    ``.tokens`` (a separate connection to the same file, as ``redcolor tokens`` would use)."""
    stack = contextlib.ExitStack()

    def start(**overrides) -> LiveServer:
        path = tmp_path / "sirens.db"
        writer_store, server_store = SQLiteEventStore(path), SQLiteEventStore(path)
        stack.callback(writer_store.close)
        stack.callback(server_store.close)
        state = make_state(server_store, areas, poll_s=0.005, heartbeat_s=0.5, **overrides)
        server = stack.enter_context(LiveServer(state))
        server.writer = SalvoWriter(writer_store, areas)
        server.tokens = TokenStore(path)
        stack.callback(server.tokens.close)
        return server

    yield start
    stack.close()


def _token(server: LiveServer, name: str, areas, role: str = "siren") -> str:
    return server.tokens.add(name, role, None if areas is None else frozenset(areas))[1]


def _connect(server: LiveServer, token: str | None, query: str = "", **kw):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    url = f"{server.ws}/v1/sirens/connect{query}"
    return websockets.connect(url, additional_headers=headers, ping_interval=None, **kw)


async def _command(ws, timeout_s: float = 3.0) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def _refused(server: LiveServer, token: str | None, query: str = "", headers=None) -> int:
    url = f"{server.ws}/v1/sirens/connect{query}"
    if headers is None and token is not None:
        headers = {"Authorization": f"Bearer {token}"}
    with pytest.raises(InvalidStatus) as err:
        async with websockets.connect(url, additional_headers=headers, open_timeout=5):
            pass
    return err.value.response.status_code


async def test_sirens_sound_ack_and_silent_one_is_reported(start_server, meron_ids, caplog):
    caplog.set_level(logging.INFO, "redcolor")
    server = start_server()
    area = meron_ids[0]
    fleet = make_sirens(3, [area], silent=1)
    provision_tokens(Path(server.state.store.path), fleet)
    tasks = [asyncio.create_task(s.run(server.ws, lambda *_: None)) for s in fleet]
    await asyncio.gather(*(s.connected.wait() for s in fleet))
    await until(lambda: len(server.state.siren_links) == 3)
    events = server.writer.lifecycle([area, meron_ids[1]], end=False)
    await until(lambda: all(s.sounding for s in fleet))
    timeouts = server.state.metrics.siren_ack_timeouts
    await until(lambda: timeouts._value.get() == 1, timeout_s=3)
    stats = server.state.siren_reports.stats
    await until(lambda: stats["sim-1"].acked == 1)
    assert stats["sim-3"].ack_timeouts == 1 and stats["sim-1"].ack_timeouts == 0
    await until(lambda: any("sim-3: 1" in r.getMessage() for r in caplog.records))
    server.writer.event(events[0].id, "ended", [area, meron_ids[1]], refs=[e.seq for e in events])
    await until(lambda: not any(s.sounding for s in fleet))
    for task in tasks:
        task.cancel()
    body = httpx.get(f"{server.http}/metrics").text
    assert "redcolor_siren_ack_timeouts_total 1.0" in body
    assert 'siren="' not in body  # no unbounded label


async def test_anonymous_wrong_and_unbound_sirens_are_refused(start_server, meron_ids, caplog):
    caplog.set_level(logging.INFO, "redcolor")
    server = start_server()
    a, b = meron_ids[:2]
    good = _token(server, "s1", [a])
    other = _token(server, "s2", [b])
    edge = _token(server, "edge-1", None, role="edge")
    head, secret = good.rsplit("_", 1)
    wrong = head + "_" + ("0" if secret[0] != "0" else "1") + secret[1:]
    assert await _refused(server, None) == 401
    assert await _refused(server, None, f"?siren=s1&areas={a}") == 401
    assert await _refused(server, None, f"?token={good}") == 401  # never from the URL
    assert await _refused(server, "rc_junk") == 401
    assert await _refused(server, wrong) == 401
    assert await _refused(server, None, headers={"Authorization": f"Basic {good}"}) == 401
    assert await _refused(server, edge) == 403  # not a siren token
    assert await _refused(server, other, "?siren=s1") == 403  # another siren's id
    assert await _refused(server, good, f"?areas={a},{b}") == 403  # outside its binding
    assert await _refused(server, good, "?areas=x") == 400
    rejected = server.state.metrics.rejected
    assert rejected.labels("401")._value.get() == 6
    assert rejected.labels("403")._value.get() == 3
    assert server.state.siren_links == {}
    ours = [r for r in caplog.records if r.name.startswith("redcolor")]
    noisy = [r for r in ours if r.levelno > logging.INFO]
    assert noisy == []
    refusal_lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusal_lines) == 1  # ten refusals, one line (the next comes after 10 s)
    async with _connect(server, good, f"?siren=s1&areas={a}"):
        await until(lambda: "s1" in server.state.siren_links)


async def test_no_siren_can_ack_for_another(start_server, meron_ids) -> None:
    server = start_server(siren_ack_s=0.5)
    area = meron_ids[0]
    tok_a, tok_b = _token(server, "a", [area]), _token(server, "b", [area])
    async with _connect(server, tok_a) as ws_a, _connect(server, tok_b) as ws_b:
        await until(lambda: len(server.state.siren_links) == 2)
        server.writer.event("x", "alert", [area])
        cmd_a, cmd_b = await _command(ws_a), await _command(ws_b)
        assert cmd_a["siren"] == "a" and cmd_b["siren"] == "b"
        await ws_a.send(json.dumps({"type": "ack", "cmd": cmd_b["cmd"]}))  # b's command
        await ws_a.send(json.dumps({"type": "ack", "cmd": cmd_a["cmd"]}))
        stats = server.state.siren_reports.stats
        await until(lambda: stats["a"].acked == 1)
        await until(lambda: server.state.metrics.siren_ack_timeouts._value.get() == 1)
        assert stats["b"].acked == 0 and stats["b"].ack_timeouts == 1
        assert stats["a"].ack_timeouts == 0


async def test_replacing_a_connection_needs_its_credentials(start_server, meron_ids) -> None:
    server = start_server()
    area = meron_ids[0]
    token = _token(server, "s1", [area])
    intruder = _token(server, "s2", [area])
    async with _connect(server, token) as first:
        await until(lambda: "s1" in server.state.siren_links)
        assert await _refused(server, None, f"?siren=s1&areas={area}") == 401
        assert await _refused(server, intruder, "?siren=s1") == 403
        original = server.state.siren_links["s1"]
        assert original.reason is None
        server.writer.event("x", "alert", [area])
        assert (await _command(first))["action"] == "activate"
        async with _connect(server, token) as second:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(first.recv(), 3)
            assert closed.value.rcvd.reason == "replaced"
            again = await _command(second)  # re-sent the state of its areas
            assert (again["action"], again["area_id"]) == ("activate", area)
            assert server.state.siren_links["s1"] is not original
        assert server.state.metrics.siren_dropped.labels("replaced")._value.get() == 1


async def test_revoked_token_is_closed_and_refused(start_server, meron_ids) -> None:
    server = start_server()
    token = _token(server, "s1", [meron_ids[0]])
    async with _connect(server, token) as ws:
        await until(lambda: "s1" in server.state.siren_links)
        server.tokens.revoke("s1")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "revoked"
    assert await _refused(server, token) == 401


async def test_restart_rebuilds_who_sounds_from_the_log(tmp_path, areas, start_server, meron_ids):
    open_area, ended_area, expired_area, pre_area = meron_ids[:4]
    with contextlib.closing(SQLiteEventStore(tmp_path / "sirens.db")) as before:
        writer = SalvoWriter(before, areas)
        writer.event("open", "alert", [open_area])
        first = writer.event("done", "alert", [ended_area])
        writer.event("done", "ended", [ended_area], refs=[first.seq])
        writer.t = time.time() - 3600  # an alert issued an hour ago that expired after 10 min
        writer.event("old", "alert", [expired_area])
        writer.t = time.time()
        writer.event("pre", "pre_alert", [pre_area])
    server = start_server()  # a new server on the same store: the restart
    token = _token(server, "s1", meron_ids[:4])
    async with _connect(server, token) as ws:
        command = await _command(ws)
        assert (command["action"], command["area_id"], command["alert_id"]) == (
            "activate",
            open_area,
            "open",
        )
        with pytest.raises(TimeoutError):
            await _command(ws, timeout_s=0.5)  # nothing for the ended, expired, pre-alerted


def _established(sock: socket.socket) -> bool:
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == 1  # ESTABLISHED
    except OSError:  # the client library saw the reset and closed the socket
        return False


def _stalled_socket(port: int) -> socket.socket:
    """A TCP connection whose receive buffer is as small as the kernel allows."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


@pytest.mark.parametrize(("queue_items", "reason"), [(256, "queue_full"), (10**6, "send_timeout")])
async def test_a_stalled_siren_delays_no_other(start_server, areas, queue_items, reason) -> None:
    """The stalled siren (first in id order, covering every area) never reads. A sender that
    waited on it, as the old sequential one did, starves the healthy siren for good."""
    server = start_server(siren_queue_items=queue_items, siren_send_timeout_s=0.5)
    every = [a.id for a in areas.areas]
    healthy_area = every[0]
    stalled_token = _token(server, "a-stalled", every)
    healthy_token = _token(server, "z-healthy", [healthy_area])
    sock = _stalled_socket(server.port)
    async with (
        _connect(server, stalled_token, sock=sock, max_queue=1),
        _connect(server, healthy_token) as healthy,
    ):
        await until(lambda: len(server.state.siren_links) == 2)
        for n in range(30):
            published = time.monotonic()
            server.writer.event(f"salvo-{n}", "alert", every)
            command = await _command(healthy, timeout_s=5)
            assert command["alert_id"] == f"salvo-{n}"
            assert time.monotonic() - published < 2.0  # generous: 2 cores shared
            await healthy.send(json.dumps({"type": "ack", "cmd": command["cmd"]}))
        dropped = server.state.metrics.siren_dropped.labels(reason)
        await until(lambda: dropped._value.get() == 1, timeout_s=5)
        await until(lambda: "a-stalled" not in server.state.siren_links)
        await until(lambda: not _established(sock))  # reset, not left holding its bytes


def test_cli_sirens_simulate_rejects_bad_areas(capsys, tmp_path) -> None:
    assert main(["sirens", "simulate", "--areas", "x,y", "--db", str(tmp_path / "a.db")]) == 2
    assert "bad --areas" in capsys.readouterr().err


def test_cli_sirens_simulate_needs_tokens(capsys) -> None:
    assert main(["sirens", "simulate", "--areas", "175"]) == 2
    assert "need tokens" in capsys.readouterr().err


def test_nearest_area_ids_rank_by_distance(areas) -> None:
    from redcolor.channels.siren_sim import nearest_area_ids

    listed = [{"id": a.id, "lat": a.lat, "lon": a.lon} for a in areas.areas]
    some = areas.areas[300]
    ids = nearest_area_ids(listed, some.lat, some.lon, 4)
    assert ids[0] == some.id and len(set(ids)) == 4


def test_cli_sirens_simulate_unreachable_server_is_one_line(capsys, tmp_path) -> None:
    argv = ["sirens", "simulate", "--count", "2", "--url", "ws://127.0.0.1:1"]
    assert main([*argv, "--db", str(tmp_path / "a.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error: cannot read the area list") and "\n" not in err


async def test_status_is_per_siren_and_needs_a_token(start_server, meron_ids) -> None:
    server = start_server()
    s1 = _token(server, "s1", [meron_ids[0]])
    _token(server, "s2", [meron_ids[1]])
    edge = _token(server, "edge-1", None, role="edge")
    sensor = _token(server, "radar-1", None, role="sensor")
    url = f"{server.http}/v1/sirens"
    async with _connect(server, s1), httpx.AsyncClient() as http:
        await until(lambda: "s1" in server.state.siren_links)
        assert (await http.get(url)).status_code == 401
        assert (await http.get(url, headers={"Authorization": "Bearer rc_x"})).status_code == 401
        bearer = {"Authorization": f"Bearer {sensor}"}
        assert (await http.get(url, headers=bearer)).status_code == 403
        own = (await http.get(url, headers={"Authorization": f"Bearer {s1}"})).json()
        assert [(e["siren"], e["connected"], e["areas"]) for e in own] == [
            ("s1", True, [meron_ids[0]])
        ]
        every = (await http.get(url, headers={"Authorization": f"Bearer {edge}"})).json()
        assert [(e["siren"], e["connected"]) for e in every] == [("s1", True), ("s2", False)]
        assert every[0]["sent"] == 0 and every[0]["ack_timeouts"] == 0


def test_cli_sirens_simulate_with_tokens_from_db_and_file(start_server, meron_ids, capsys):
    server = start_server()
    area = meron_ids[0]
    server.writer.event("x", "alert", [area])  # sirens connecting now are activated at once
    db = server.state.store.path
    common = ["sirens", "simulate", "--url", server.ws, "--duration-s", "1.5"]
    assert main([*common, "--count", "2", "--areas", str(area), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "sim-1: activate" in out and "2 of 2 sirens received commands" in out
    assert main([*common, "--count", "2", "--areas", str(area), "--db", db]) == 0  # again
    assert "2 of 2 sirens received commands" in capsys.readouterr().out
    tokens_file = Path(db).parent / "tokens.json"
    tokens_file.write_text(json.dumps({"field-7": _token(server, "field-7", [area])}))
    assert main([*common, "--tokens-file", str(tokens_file)]) == 0
    assert "field-7: activate" in capsys.readouterr().out
    tokens_file.write_text(json.dumps({"field-8": "rc_" + "0" * 12 + "_" + "0" * 64}))
    assert main([*common, "--tokens-file", str(tokens_file)]) == 2
    assert "refused a siren's connection: HTTP 401" in capsys.readouterr().err
    tokens_file.write_text("[1, 2]")
    assert main([*common, "--tokens-file", str(tokens_file)]) == 2
    assert "cannot read tokens file" in capsys.readouterr().err


@pytest.mark.parametrize("exercise_to", [frozenset(), frozenset({"sirens"})])
async def test_an_exercise_sounds_no_siren_unless_told_and_a_cancel_stops_one(
    start_server, areas, meron_ids, tmp_path, exercise_to
) -> None:
    server = start_server(exercise_channels=exercise_to)
    area = meron_ids[0]
    shelter = {a.id: a.shelter_s for a in areas.areas}
    source = ("operator:olga", "approved:sam")
    path = tmp_path / "sirens.db"
    async with _connect(server, _token(server, "s1", [area])) as ws:
        await until(lambda: len(server.state.siren_links) == 1)
        drill = IssueAlert("op-1", "missiles", "alert", frozenset({area}), None, "exercise", source)
        (issued,) = operate(path, shelter, [drill], time.time())
        real = IssueAlert("op-2", "earthquake", "alert", frozenset({area}), None, "actual", source)
        operate(path, shelter, [real], time.time())
        first = await _command(ws)
        if exercise_to:
            assert (first["action"], first["alert_id"]) == ("activate", "op-1")
            await ws.send(json.dumps({"type": "ack", "cmd": first["cmd"]}))
            first = await _command(ws)
        assert (first["action"], first["alert_id"]) == ("activate", "op-2")
        await ws.send(json.dumps({"type": "ack", "cmd": first["cmd"]}))
        (cancel,) = operate(path, shelter, [CancelAlert("op-2", source)], time.time())
        stop = await _command(ws)
        assert (stop["action"], stop["alert_id"], stop["seq"]) == ("stop", "op-2", cancel.seq)
        await ws.send(json.dumps({"type": "ack", "cmd": stop["cmd"]}))
        with pytest.raises(TimeoutError):  # nothing else: the exercise never sounded here
            await _command(ws, timeout_s=0.5)
    # the siren channel's position passed the exercise all the same
    await until(lambda: server.state.store.channel_position("sirens", 0) >= cancel.seq, 3.0)
    assert issued.seq < cancel.seq
