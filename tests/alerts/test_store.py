import re
import sqlite3

import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.errors import StoreError
from redcolor.model import AlertArea, AlertEvent


def _event(n: int, area: int = 1) -> AlertEvent:
    return AlertEvent(
        id=f"a{n}",
        seq=0,
        category="missiles",
        stage="alert",
        areas=(AlertArea(id=area, shelter_s=15),),
        issued_at_unix_s=1_700_000_000.0 + n,
        expires_at_unix_s=None,
        source=("track:1",),
        instructions={"en": "Enter the protected space"},
    )


def test_append_assigns_gap_free_seq_across_reopen(tmp_path) -> None:
    path = tmp_path / "alerts.db"
    store = SQLiteEventStore(path)
    first = store.append([_event(1), _event(2)])
    assert [e.seq for e in first] == [1, 2]
    store.close()
    store = SQLiteEventStore(path)
    assert [e.seq for e in store.append([_event(3)])] == [3]
    assert [e.decode().id for e in store.read_since(0)] == ["a1", "a2", "a3"]
    assert [e.seq for e in store.read_since(1, limit=1)] == [2]
    assert store.last_seq() == 3


def test_stored_bytes_round_trip(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    (done,) = store.append([_event(7, area=42)])
    (row,) = store.read_since(0)
    assert row.decode() == done
    assert list(store.iter_all()) == [done]


def test_failed_transaction_leaves_nothing(tmp_path) -> None:
    store = SQLiteEventStore(tmp_path / "a.db")
    store.append([_event(1)])
    store._db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON event_areas WHEN NEW.area_id = 99 "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    with pytest.raises(StoreError):
        store.append([_event(2), _event(3, area=99)])
    assert store.last_seq() == 1
    assert [e.seq for e in store.append([_event(4)])] == [2]


def test_reader_in_other_connection_sees_committed_events(tmp_path) -> None:
    path = tmp_path / "a.db"
    writer = SQLiteEventStore(path)
    reader = SQLiteEventStore(path, readonly=True)
    writer.append([_event(1)])
    assert reader.last_seq() == 1


def test_unopenable_store_is_a_store_error(tmp_path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteEventStore(tmp_path / "missing" / "a.db")
    with pytest.raises(StoreError):
        SQLiteEventStore(tmp_path / "nothing.db", readonly=True)
    assert sqlite3.sqlite_version


def test_log_id_is_made_once_per_file_and_kept(tmp_path) -> None:
    first = SQLiteEventStore(tmp_path / "a.db")
    log_id = first.log_id()
    assert re.fullmatch(r"[0-9a-f]{16}", log_id)
    first.close()
    again = SQLiteEventStore(tmp_path / "a.db")
    assert again.log_id() == log_id
    assert SQLiteEventStore(tmp_path / "a.db", readonly=True).log_id() == log_id
    other = SQLiteEventStore(tmp_path / "b.db")
    assert other.log_id() != log_id
    assert SQLiteEventStore(":memory:").log_id() != SQLiteEventStore(":memory:").log_id()
