"""`serve --store postgresql://...`: the app on a PostgreSQL event store, written through the
operator desk, read back by the history API and feed, audited in the same database."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg

from redcolor.alerts.pgstore import PgEventStore
from redcolor.alerts.store import open_store
from redcolor.cli.main import main
from redcolor.operators import AuditLog
from redcolor.serve.feeds import HISTORY_PATH
from redcolor.serve.run import build_state
from redcolor.serve.state import ServeConfig

from .conftest import LiveServer
from .opsutil import PASSWORD, add_people, bearer, login


async def until_true(check, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "not seen in time"
        await asyncio.sleep(0.01)


async def test_operator_alerts_on_a_postgresql_store_reach_the_history(
    tmp_path, areas, meron_ids, pg_url
) -> None:
    config = ServeConfig(db=tmp_path / "ops.db", store_url=pg_url, poll_s=0.005)
    state = build_state(config, areas)
    assert isinstance(state.store, PgEventStore)
    add_people(state)  # the accounts stay in the SQLite --db
    term = state.store.take_term("core-a")  # a leader: operator writes go under its term
    with LiveServer(state) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            olga, sue = [bearer((await login(http, name))["token"]) for name in ("olga", "sue")]
            body = {"kind": "issue", "category": "missiles", "area_ids": meron_ids[:3]}
            proposal = (await http.post("/v1/operator/proposals", json=body, headers=olga)).json()
            r = await http.post(f"/v1/operator/proposals/{proposal['id']}/approve", headers=sue)
            assert r.status_code == 200, r.text
            history = (await http.get("/v1/history")).json()["events"]
            assert [(e["id"], e["stage"]) for e in history] == [(proposal["alert_id"], "alert")]
            values = {state.area_value(i) for i in meron_ids[:3]}

            async def in_feed() -> bool:  # the Home Front Command style file, once followed
                feed = (await http.get(HISTORY_PATH)).json()
                return {row["data"] for row in feed} == values

            await until_true(in_feed)
            other = open_store(pg_url)
            other.take_term("core-b")  # a new leader: this server is deposed
            proposal = (await http.post("/v1/operator/proposals", json=body, headers=olga)).json()
            r = await http.post(f"/v1/operator/proposals/{proposal['id']}/approve", headers=sue)
            assert r.status_code == 503 and "fenced" in r.json()["detail"]
    assert [(row.seq, row.term) for row in other.read_since(0)] == [(1, term)]
    state.store.close()
    again = build_state(config, areas)  # a restarted server: the active view from the log
    alert_id = history[0]["id"]
    assert sorted(a.area_id for a in again.active.alert_areas(alert_id)) == sorted(meron_ids[:3])
    assert again.active.last_seq == 1
    again.store.close()
    actions = [r.action for r in AuditLog(pg_url).read()]
    assert actions[:4] == ["login", "login", "propose", "approve"]
    with psycopg.connect(pg_url) as db:  # the audit records are in PostgreSQL, not the file
        assert db.execute("SELECT count(*) FROM audit").fetchone()[0] == len(actions)
    assert AuditLog(tmp_path / "ops.db").read() == []


async def test_the_core_that_takes_over_has_the_mode_and_what_was_pending(
    tmp_path, areas, meron_ids, pg_url
) -> None:
    """Two cores on one PostgreSQL store, each with its own --db (accounts): the mode, a
    proposal waiting for its second person and the failed logins live in the store, so the new
    leader has all three."""
    cores = []
    for name in ("a", "b"):
        config = ServeConfig(db=tmp_path / f"{name}.db", store_url=pg_url, poll_s=0.005)
        cores.append(build_state(config, areas))
        add_people(cores[-1])  # every account on every core
    leader, standby = cores
    leader.store.take_term("core-a")
    body = {"kind": "issue", "category": "missiles", "area_ids": meron_ids[:3]}
    with LiveServer(leader) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            olga, sam = [bearer((await login(http, name))["token"]) for name in ("olga", "sam")]
            r = await http.put("/v1/operator/mode", json={"mode": "exercise"}, headers=sam)
            assert r.status_code == 200, r.text
            proposal = (await http.post("/v1/operator/proposals", json=body, headers=olga)).json()
            assert proposal["state"] == "pending" and proposal["draft"]["exercise"]
            for _ in range(5):  # someone guessing at vera's password on the leader
                wrong = {"user": "vera", "password": "not her password at all"}
                assert (await http.post("/v1/auth/login", json=wrong)).status_code == 401
    leader.store.close()  # the leader is gone before anyone approved
    standby.store.take_term("core-b")  # the standby wins the lease
    with LiveServer(standby) as server:
        async with httpx.AsyncClient(base_url=server.http) as http:
            right = {"user": "vera", "password": PASSWORD}  # the count is the group's
            assert (await http.post("/v1/auth/login", json=right)).status_code == 429
            sue = bearer((await login(http, "sue"))["token"])
            me = (await http.get("/v1/auth/me", headers=sue)).json()
            assert me["mode"] == "exercise"
            pending = (await http.get("/v1/operator/proposals", headers=sue)).json()
            assert [(p["id"], p["state"]) for p in pending] == [(proposal["id"], "pending")]
            r = await http.post(f"/v1/operator/proposals/{proposal['id']}/approve", headers=sue)
            assert r.status_code == 200, r.text
            history = (await http.get("/v1/history")).json()["events"]
    assert [(e["id"], e["status"]) for e in history] == [(proposal["alert_id"], "exercise")]
    assert [r.action for r in AuditLog(pg_url).read()] == [
        "login",
        "login",
        "mode",
        "propose",
        *["login_failed"] * 5,
        "login",
        "approve",
    ]
    standby.store.close()


def test_a_bad_or_unreachable_store_url_is_one_line(capsys, tmp_path) -> None:
    for url, words in (
        ("mysql://x", "--store takes a postgresql://"),
        ("postgresql://postgres:pw@127.0.0.1:1/x", "cannot connect to alert store"),
    ):
        assert main(["serve", "--db", str(tmp_path / "a.db"), "--store", url]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("redcolor: error:") and words in err and "\n" not in err
        assert ":pw@" not in err
