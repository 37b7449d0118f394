"""Sirens: the board core, and simulated controllers on a real server (acks and timeouts)."""

from __future__ import annotations

import asyncio

from redcolor.channels.siren_sim import make_sirens
from redcolor.channels.sirens import MIN_SOUND_S, SirenBoard
from redcolor.cli.main import main
from redcolor.model import AlertArea, AlertEvent

from .conftest import until


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


async def test_sirens_sound_ack_and_silent_one_is_reported(live_server, meron_ids, caplog) -> None:
    server = live_server
    area = meron_ids[0]
    fleet = make_sirens(3, [area], silent=1)
    tasks = [asyncio.create_task(s.run(server.ws, lambda *_: None)) for s in fleet]
    await asyncio.gather(*(s.connected.wait() for s in fleet))
    await until(lambda: len(server.state.siren_links) == 3)
    events = server.writer.lifecycle([area, meron_ids[1]], end=False)
    await until(lambda: all(s.sounding for s in fleet))
    timeouts = server.state.metrics.siren_ack_timeouts
    await until(lambda: timeouts.labels("siren-3")._value.get() == 1, timeout_s=3)
    assert timeouts.labels("siren-1")._value.get() == 0
    assert any("siren-3 did not acknowledge activate" in r.getMessage() for r in caplog.records)
    server.writer.event(events[0].id, "ended", [area, meron_ids[1]], refs=[e.seq for e in events])
    await until(lambda: not any(s.sounding for s in fleet))
    for task in tasks:
        task.cancel()


def test_cli_sirens_simulate_rejects_bad_areas(capsys) -> None:
    assert main(["sirens", "simulate", "--areas", "x,y"]) == 2
    assert "bad --areas" in capsys.readouterr().err


def test_nearest_area_ids_rank_by_distance(areas) -> None:
    from redcolor.channels.siren_sim import nearest_area_ids

    listed = [{"id": a.id, "lat": a.lat, "lon": a.lon} for a in areas.areas]
    some = areas.areas[300]
    ids = nearest_area_ids(listed, some.lat, some.lon, 4)
    assert ids[0] == some.id and len(set(ids)) == 4


def test_cli_sirens_simulate_unreachable_server_is_one_line(capsys) -> None:
    assert main(["sirens", "simulate", "--count", "2", "--url", "ws://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error: cannot read the area list") and "\n" not in err
