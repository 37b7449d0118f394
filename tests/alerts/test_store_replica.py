"""SQLiteEventStore.append_replica: an edge's copy keeps the core's seq and bytes, or nothing."""

from __future__ import annotations

import msgspec
import pytest

from redcolor.alerts.store import SQLiteEventStore
from redcolor.errors import StoreError
from redcolor.model import EVENT_ENCODER, AlertArea, AlertEvent


def _event(seq: int) -> AlertEvent:
    return AlertEvent(
        f"r{seq}", seq, "missiles", "alert", (AlertArea(3, 15),), 1.7e9, 1.7e9 + 60, (), {}
    )


def test_replica_keeps_seq_and_bytes_and_refuses_anything_but_the_next() -> None:
    store = SQLiteEventStore(":memory:")
    body = EVENT_ENCODER.encode(_event(1)) + b" "  # bytes kept as given, not re-encoded
    store.append_replica([(_event(1), body)])
    for bad in (1, 3, 0):
        with pytest.raises(StoreError, match="does not follow seq 1"):
            store.append_replica([(_event(bad), EVENT_ENCODER.encode(_event(bad)))])
    two, three, five = ((_event(s), EVENT_ENCODER.encode(_event(s))) for s in (2, 3, 5))
    with pytest.raises(StoreError, match="seq 5 does not follow seq 3"):
        store.append_replica([two, three, five])  # all or nothing
    assert store.last_seq() == 1
    store.append_replica([two, three])
    assert store.read_since(0)[0].body == body
    assert store.last_seq() == 3
    assert [r.seq for r in store.query(area_id=3)] == [1, 2, 3]
    # The store's own appends go on after the replicated seqs.
    (own,) = store.append([msgspec.structs.replace(_event(0), seq=0)])
    assert own.seq == 4
