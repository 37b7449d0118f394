import re
import sqlite3

import msgspec
import pytest

from redcolor.alerts.store import MIGRATIONS, SQLiteEventStore
from redcolor.errors import StoreError
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent


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


def test_an_old_file_without_terms_is_migrated_on_a_read_write_open(tmp_path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])  # the schema before versioning, as old files have it
    event = msgspec.structs.replace(_event(1), seq=1)
    db.execute(
        "INSERT INTO events (seq, id, category, stage, issued_at_unix_s, body)"
        " VALUES (1, 'a1', 'missiles', 'alert', ?, ?)",
        (event.issued_at_unix_s, EVENT_ENCODER.encode(event)),
    )
    db.execute("INSERT INTO meta VALUES ('log_id', '00112233aabbccdd')")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"schema version 0.*open it read-write once"):
        SQLiteEventStore(path, readonly=True)
    store = SQLiteEventStore(path)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.log_id() == "00112233aabbccdd"
    assert [(row.seq, row.term, row.decode()) for row in store.read_since(0)] == [(1, 0, event)]
    assert store.take_term("node-a") == 1
    assert [e.seq for e in store.append([_event(2)])] == [2]
    store.close()
    again = SQLiteEventStore(path, readonly=True)  # migrated once, readable read-only
    assert [row.term for row in again.read_since(0)] == [0, 1]


def test_a_file_from_a_newer_redcolor_is_refused(tmp_path) -> None:
    path = tmp_path / "new.db"
    SQLiteEventStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this redcolor"):
        SQLiteEventStore(path)
