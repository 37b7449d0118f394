"""Continuing an interrupted run: the store remembers it, and the rest of it is issued once."""

from __future__ import annotations

import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.errors import InputError
from redcolor.pipeline import run
from redcolor.pipeline.resume import plan_run
from redcolor.sim.scenario import load_scenario


class _Crash(Exception):
    pass


@pytest.mark.slow
def test_interrupted_run_continues_to_exactly_the_uninterrupted_events(tmp_path) -> None:
    """The pipeline dies right after its 8th event is durable; the run is continued from the
    next scan on the same store: the events are those of the uninterrupted run, in order,
    with the same ids and seqs; nothing is issued twice."""
    start = 1_800_000_000.0
    expected = run("sderot-gaza", hold_s=5.0, start_unix_s=start).events
    assert len(expected) > 12

    store = SQLiteEventStore(tmp_path / "a.db")
    seen: list[int] = []

    def crash_after_eight(stored) -> None:
        seen.extend(e.seq for e in stored)
        if len(seen) >= 8:
            raise _Crash

    with pytest.raises(_Crash):
        run("sderot-gaza", store=store, hold_s=5.0, start_unix_s=start, on_events=crash_after_eight)
    store.close()
    store = SQLiteEventStore(tmp_path / "a.db")
    written = list(store.iter_all())
    offset_s = start - load_scenario("sderot-gaza").start_unix_s
    crash_t = written[-1].issued_at_unix_s - offset_s  # the scan the pipeline died in
    run(
        "sderot-gaza",
        store=store,
        hold_s=5.0,
        start_unix_s=start,
        live_from_unix_s=crash_t + 1e-6,
    )
    got = list(store.iter_all())
    key = [(e.seq, e.id, e.stage, e.areas, e.issued_at_unix_s) for e in expected]
    assert [(e.seq, e.id, e.stage, e.areas, e.issued_at_unix_s - offset_s) for e in got] == key


def test_plan_run_records_continues_refuses_and_skips(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    scenario = load_scenario("meron-2024-01-06")
    new = plan_run(store, scenario, speed=10.0, hold_s=5.0, now_unix_s=1_800_000_000.0)
    assert not new.resume and not new.finished
    assert new.record.run_id == "meron-2024-01-06-1800000000"
    again = plan_run(store, scenario, speed=10.0, hold_s=5.0, now_unix_s=1_800_000_100.0)
    assert again.resume and again.record == new.record
    with pytest.raises(InputError, match="already holds unfinished run meron-2024-01-06-18"):
        plan_run(store, scenario, speed=20.0, hold_s=5.0, now_unix_s=1_800_000_100.0)
    store.finish_run(new.record.run_id, 1_800_000_050.0)
    done = plan_run(store, scenario, speed=10.0, hold_s=5.0, now_unix_s=1_800_000_200.0)
    assert done.finished and done.record == new.record
    other = plan_run(
        store, load_scenario("sderot-gaza"), speed=10.0, hold_s=5.0, now_unix_s=1_800_000_200.0
    )
    assert not other.resume and other.record.scenario == "sderot-gaza"
    assert len(store.runs()) == 2
