"""Operator writes to a store's lifecycle, from the server, beside whoever else drives it.

The pipeline thread (or the keeper) holds the :class:`~redcolor.alerts.durable.LifecycleLock`
while it runs, so an operator's command cannot wait for it. Instead each call opens its own
connection, rebuilds the lifecycle keeper-style (config and clock from the checkpoint), and
steps with the commands at the lifecycle's own time; the store's optimistic check makes the
pipeline and the operator never both win a write (the loser reloads and tries again, see
:mod:`redcolor.alerts.durable`). Blocking: the server calls these with ``asyncio.to_thread``
and then wakes its follower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from redcolor.alerts.commands import Command, OpenAlert
from redcolor.alerts.durable import DurableLifecycle
from redcolor.alerts.lifecycle import apply, open_alerts
from redcolor.alerts.store import open_store
from redcolor.model import AlertEvent


def operate(
    store_path: Path | str,
    shelter_s: Mapping[int, int],
    commands: Sequence[Command],
    wall_unix_s: float,
    *,
    term: int = 0,
) -> list[AlertEvent]:
    """Apply ``commands`` to the lifecycle of the store at ``store_path`` (a path or a
    PostgreSQL URL, :func:`~redcolor.alerts.store.open_store`) at wall time ``wall_unix_s``,
    writing under the server's fencing ``term``; return the events as stored (with their
    ``seq``).

    Raises the command's NotFoundError, ConflictError or InputError (nothing written), Fenced
    when ``term`` is no longer the store's, or StoreError when the store cannot be written.
    """
    store = open_store(store_path)
    store.write_under(term)
    try:
        lifecycle = DurableLifecycle(store, shelter_s)
        lifecycle.refresh()
        _, stored = lifecycle.step([], lifecycle.clock.now(wall_unix_s), commands)
        return stored
    finally:
        store.close()


def preview(
    store_path: Path | str,
    shelter_s: Mapping[int, int],
    commands: Sequence[Command],
    wall_unix_s: float,
) -> list[AlertEvent]:
    """The events ``commands`` would make at wall time ``wall_unix_s`` (``seq`` 0), exactly as
    :func:`operate` would write them now, without writing anything: what a console shows
    before anyone approves. Raises the command's error like :func:`operate`."""
    store = open_store(store_path)
    try:
        lifecycle = DurableLifecycle(store, shelter_s)
        now = lifecycle.clock.now(wall_unix_s)
        _, due = apply(lifecycle.state, [], now)  # what falls due now anyway comes first
        _, events = apply(lifecycle.state, [], now, commands)
        return events[len(due) :]
    finally:
        store.close()


def read_open_alerts(store_path: Path | str, shelter_s: Mapping[int, int]) -> list[OpenAlert]:
    """Every open alert of the store at ``store_path``, as its lifecycle knows them now."""
    store = open_store(store_path)
    try:
        return open_alerts(DurableLifecycle(store, shelter_s).state)
    finally:
        store.close()
