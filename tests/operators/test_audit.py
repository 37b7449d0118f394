"""The audit log on a real SQLite file and a real PostgreSQL database: chain, paging, export,
triggers, tamper detection."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import threading

import psycopg
import pytest

from redcolor.alerts.store import is_postgres_url
from redcolor.errors import InputError, StoreError
from redcolor.operators import AuditLog
from redcolor.operators.audit import GENESIS, MAX_TEXT_CHARS

T0 = 1_800_000_000.0


@pytest.fixture
def db(store_target):
    """The audit log's target, on both backends: a SQLite file, a PostgreSQL database."""
    return store_target


def _fill(log: AuditLog, count: int) -> list:
    return [
        log.append(
            actor=f"op{i % 3}",
            role="operator",
            address="10.0.0.1",
            action="propose" if i % 2 else "approve",
            target=f"proposal-{i}",
            before=None if i == 0 else {"state": "pending", "areas": [175, 176]},
            after={"state": "published", "n": i, "note": "שלום"},
            now_unix_s=T0 + i / 10,
        )
        for i in range(count)
    ]


def _raw(db, *statements):
    """Run SQL behind the log's back, as someone with a database client would."""
    if is_postgres_url(db):
        with psycopg.connect(db) as conn:
            for sql in statements:
                conn.execute(sql + " ON audit" if sql.startswith("DROP TRIGGER") else sql)
        return
    conn = sqlite3.connect(db)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def test_records_chain_in_order_and_read_back_as_written(db) -> None:
    log = AuditLog(db)
    written = _fill(log, 7)
    assert [r.seq for r in written] == list(range(1, 8))
    first = written[0]
    body = {k: v for k, v in first.to_json().items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.digest == hashlib.sha256((GENESIS + canonical).encode()).hexdigest()
    assert written[1].digest != first.digest
    assert log.read() == written
    assert written[3].before == {"state": "pending", "areas": [175, 176]}
    assert written[3].after["note"] == "שלום"
    assert log.verify() == 7
    reopened = AuditLog(db)
    assert reopened.read() == written
    nxt = reopened.append(actor="x", role="admin", address="local", action="mode", target="mode")
    assert nxt.seq == 8 and reopened.verify() == 8


def test_read_pages(db) -> None:
    log = AuditLog(db)
    written = _fill(log, 10)
    assert log.read(after_seq=3, limit=4) == written[3:7]
    assert log.read(after_seq=10) == []
    for bad in ({"limit": 0}, {"limit": 10_001}, {"after_seq": -1}):
        with pytest.raises(InputError):
            log.read(**bad)


def test_export_is_one_json_record_a_line(db) -> None:
    log = AuditLog(db)
    written = _fill(log, 5)
    out = io.StringIO()
    assert log.export_jsonl(out) == 5
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [r.to_json() for r in written]


def test_append_checks_its_input(db) -> None:
    log = AuditLog(db)
    with pytest.raises(InputError, match="unknown audit action"):
        log.append(actor="a", role="admin", address="x", action="delete_everything", target="t")
    with pytest.raises(InputError, match="JSON"):
        log.append(actor="a", role="admin", address="x", action="mode", target="t", after={1j})
    with pytest.raises(InputError, match="JSON"):
        log.append(
            actor="a", role="admin", address="x", action="mode", target="t", after=float("nan")
        )
    long = log.append(
        actor="a" * 5000, role="admin", address="x", action="login_failed", target="y" * 9000
    )
    assert len(long.actor) == MAX_TEXT_CHARS and len(long.target) == MAX_TEXT_CHARS
    assert log.read() == [long] and log.verify() == 1


def test_triggers_refuse_update_and_delete(db) -> None:
    log = AuditLog(db)
    _fill(log, 3)
    for sql in (
        "UPDATE audit SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 3",
        "DELETE FROM audit",
        *(("TRUNCATE audit",) if is_postgres_url(db) else ()),
    ):
        with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError), match="append-only"):
            _raw(db, sql)
    assert log.verify() == 3 and log.read()[1].actor == "op1"


def test_an_edit_behind_the_triggers_is_found(db) -> None:
    log = AuditLog(db)
    _fill(log, 5)
    _raw(
        db,
        "DROP TRIGGER audit_no_update",
        """UPDATE audit SET after = '{"n":2,"note":"nothing","state":"rejected"}' WHERE seq = 3""",
    )
    with pytest.raises(StoreError, match="record 3 was changed"):
        log.verify()


def test_a_rehashed_edit_breaks_the_next_link(db) -> None:
    """An editor who recomputes the edited record's own digest still breaks the record after."""
    log = AuditLog(db)
    records = _fill(log, 4)
    forged = {**records[1].to_json(), "actor": "someone-else"}
    del forged["digest"]
    body = json.dumps(forged, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256((records[0].digest + body).encode()).hexdigest()
    _raw(
        db,
        "DROP TRIGGER audit_no_update",
        f"UPDATE audit SET actor = 'someone-else', digest = '{digest}' WHERE seq = 2",
    )
    with pytest.raises(StoreError, match="record 3 was changed"):
        log.verify()


def test_a_deleted_record_is_found(db) -> None:
    log = AuditLog(db)
    _fill(log, 4)
    _raw(db, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 2")
    with pytest.raises(StoreError, match="record 2 is missing"):
        log.verify()


def test_several_writers_keep_one_chain(db) -> None:
    AuditLog(db).close()  # create the tables once, before the race
    per_writer, writers = 25, 4

    shared = AuditLog(db)  # two threads share one log (one connection), two have their own

    def write(k: int) -> None:
        log = shared if k < 2 else AuditLog(db)
        for i in range(per_writer):
            log.append(actor=f"w{k}", role="operator", address="x", action="login", target=str(i))
        if log is not shared:
            log.close()

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = AuditLog(db)
    records = log.read()
    assert [r.seq for r in records] == list(range(1, per_writer * writers + 1))
    assert log.verify() == per_writer * writers
    for k in range(writers):
        mine = [r.target for r in records if r.actor == f"w{k}"]
        assert mine == [str(i) for i in range(per_writer)]
