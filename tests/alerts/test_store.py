import re
import sqlite3

import msgspec
import psycopg
import pytest

from redcolor.alerts.store import MIGRATIONS, CheckpointConflict, SQLiteEventStore, open_store
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


def test_append_assigns_gap_free_seq_across_reopen(store_target) -> None:
    store = open_store(store_target)
    first = store.append([_event(1), _event(2)])
    assert [e.seq for e in first] == [1, 2]
    store.close()
    store = open_store(store_target)
    assert [e.seq for e in store.append([_event(3)])] == [3]
    assert [e.decode().id for e in store.read_since(0)] == ["a1", "a2", "a3"]
    assert [e.seq for e in store.read_since(1, limit=1)] == [2]
    assert [e.seq for e in store.read_before(3, limit=5)] == [2, 1]
    assert [e.id for e in store.read_alert("a2", 3)] == ["a2"] and not store.read_alert("a3", 2)
    assert store.last_seq() == 3


def test_stored_bytes_round_trip(store_target) -> None:
    store = open_store(store_target)
    (done,) = store.append([_event(7, area=42)])
    (row,) = store.read_since(0)
    assert row.decode() == done
    assert list(store.iter_all()) == [done]


def test_history_filters(store_target) -> None:
    store = open_store(store_target)
    store.append([_event(1, area=5), _event(2, area=6), _event(3, area=5)])
    store.append([msgspec.structs.replace(_event(4, area=5), category="uav")])
    assert [r.seq for r in store.query(area_id=5)] == [1, 3, 4]
    assert [r.seq for r in store.query(area_id=5, category="missiles")] == [1, 3]
    t = _event(0).issued_at_unix_s
    assert [r.seq for r in store.query(since_unix_s=t + 2, until_unix_s=t + 4)] == [2, 3]
    assert [r.seq for r in store.query(after_seq=1, limit=2)] == [2, 3]


def test_failed_transaction_leaves_nothing(store_target) -> None:
    store = open_store(store_target)
    store.append([_event(1)])
    if isinstance(store, SQLiteEventStore):
        store._db.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON event_areas WHEN NEW.area_id = 99 "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    else:
        with psycopg.connect(store_target, autocommit=True) as db:
            db.execute(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.area_id = 99 THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;"
                " CREATE TRIGGER boom BEFORE INSERT ON event_areas"
                " FOR EACH ROW EXECUTE FUNCTION boom()"
            )
    with pytest.raises(StoreError, match="boom"):
        store.append([_event(2), _event(3, area=99)])
    assert store.last_seq() == 1
    assert [e.seq for e in store.append([_event(4)])] == [2]


def test_reader_in_other_connection_sees_committed_events(store_target) -> None:
    writer = open_store(store_target)
    reader = open_store(store_target, readonly=True)
    writer.append([_event(1)])
    assert reader.last_seq() == 1
    assert reader.log_id() == writer.log_id()


def test_checkpoint_channel_positions_and_runs(store_target) -> None:
    store = open_store(store_target)
    assert store.checkpoint() is None
    events, saved = store.append_checkpointed([_event(1)], lambda s: b"state-%d" % s[-1].seq, 0, 0)
    assert (saved.version, saved.seq, saved.body) == (1, 1, b"state-1")
    assert store.checkpoint() == saved and [e.seq for e in events] == [1]
    with pytest.raises(CheckpointConflict):
        store.append_checkpointed([_event(2)], lambda s: b"x", 0, 1)  # stale version
    store.append([_event(3)])
    with pytest.raises(CheckpointConflict):
        store.append_checkpointed([_event(2)], lambda s: b"x", 1, 1)  # the log moved
    assert store.last_seq() == 2 and store.checkpoint() == saved
    assert store.channel_position("mqtt", 2) == 2
    store.save_channel_position("mqtt", 5)
    store.save_channel_position("mqtt", 3)  # never moves back
    assert store.channel_position("mqtt", 0) == 5
    store.record_run("r1", b"one")
    store.record_run("r0", b"zero")
    store.finish_run("r1", 123.5)
    assert store.runs() == [("r1", b"one", 123.5), ("r0", b"zero", None)]


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
