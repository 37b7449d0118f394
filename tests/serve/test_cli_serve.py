"""`redcolor serve` refuses bad options with one line and exit 2, before binding a port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from redcolor.cli.main import main


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--simulate", "/no/such/scenario.toml"], "no scenario"),
        (["serve", "--mqtt", "http://broker"], "bad MQTT broker"),
        (["serve", "--mqtt", "mqtt://h", "--mqtt-prefix", "home/#"], "bad --mqtt-prefix"),
        (["serve", "--mqtt-ha-areas", "175"], "--mqtt-ha-areas needs --mqtt"),
        (["serve", "--mqtt-ha-areas", "1;2"], "bad --mqtt-ha-areas"),
        (["serve", "--mqtt", "mqtt://h", "--mqtt-ha-areas", "999999"], "unknown area id 999999"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--speed", "0"], "speed"),
        (["serve", "--push-dir", "/tmp/p", "--push-allow", "10.0.0.0/33"], "not an IP range"),
        (["serve", "--push-dir", "/tmp/p", "--push-ca-file", "/no/ca.pem"], "--push-ca-file"),
        (["serve", "--push-max-subscriptions", "0"], "--push-max-subscriptions"),
        (["serve", "--lapse-s", "1"], "--lapse-s"),
        (["serve", "--solo-categories", "volcano"], "--solo-categories"),
        (["serve", "--approval-for", "end,cancel"], "must keep issue"),
        (["serve", "--approval-for", "issue,erase"], "--approval-for"),
        (["serve", "--tls-cert", "/no/cert.pem"], "go together"),
        (["serve", "--tls-cert", "/no/cert.pem", "--tls-key", "/no/key.pem"], "--tls-cert"),
        (["serve", "--exercise-to", "sirens,tv"], "--exercise-to: unknown channel(s) tv"),
        (["serve", "--cap-sender", "red color"], "bad CAP sender"),
        (["serve", "--time-zone", "Asia/Haifa"], "unknown time zone"),
        (["serve", "--cap-signing-key", "/no/key.pem"], "go together"),
        (
            ["serve", "--cap-signing-key", "/no/key.pem", "--cap-signing-cert", "/no/c.pem"],
            "cannot read the CAP signing key",
        ),
    ],
)
def test_bad_serve_options(capsys, tmp_path, args, words) -> None:
    assert main([*args, "--db", str(tmp_path / "a.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error:") and words in err
    assert len(err.splitlines()) == 1


def test_busy_port_is_one_line(capsys, tmp_path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["serve", "--db", str(tmp_path / "a.db"), "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error: cannot listen on 127.0.0.1:") and "\n" not in err


@contextlib.contextmanager
def _busy_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        yield busy.getsockname()[1]


def test_simulate_refuses_a_run_it_cannot_continue_in_one_line(capsys, tmp_path) -> None:
    """The store holds an unfinished run of the scenario at another speed: continuing it at
    this one would not be that run, and starting again would alert its projectiles twice."""
    import time

    from redcolor.alerts.store import SQLiteEventStore
    from redcolor.pipeline.resume import plan_run
    from redcolor.sim.scenario import load_scenario

    db = tmp_path / "a.db"
    store = SQLiteEventStore(db)
    scenario = load_scenario("meron-2024-01-06")
    plan_run(store, scenario, speed=10.0, hold_s=600.0, now_unix_s=time.time())
    store.close()
    args = ["serve", "--simulate", "meron-2024-01-06", "--speed", "20", "--db", str(db)]
    with _busy_port() as port:  # refused before it would listen (so it cannot hang here)
        assert main([*args, "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("redcolor: error: store ") and "already holds unfinished run" in err
    assert len(err.splitlines()) == 1
    assert len(SQLiteEventStore(db).runs()) == 1  # nothing new recorded


def test_simulate_refuses_a_store_whose_lifecycle_another_process_writes(capsys, tmp_path):
    from redcolor.alerts.durable import LifecycleLock

    db = tmp_path / "a.db"
    other = LifecycleLock(db)
    assert other.try_acquire()
    try:
        with _busy_port() as port:
            args = ["serve", "--simulate", "meron-2024-01-06", "--db", str(db)]
            assert main([*args, "--port", str(port)]) == 2
    finally:
        other.release()
    err = capsys.readouterr().err.strip()
    assert "is being written by process" in err and len(err.splitlines()) == 1
