"""``serve --ha-lease`` that cannot work is refused at start in one line, exit 2, before any
port is bound: no node id, a node id without a lease, no live core to run, a bad NATS URL."""

from __future__ import annotations

import pytest

from redcolor.cli.main import main

from .cluster import free_port


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("no node id", "--ha-lease needs --node-id NAME"),
        ("node id alone", "--node-id names a core of an active/standby group"),
        ("no sensors", "--ha-lease runs a live core: give --sensors and --asterix"),
        ("with simulate", "--ha-lease runs a live core"),
        ("bad URL", "bad NATS URL"),
    ],
)
def test_a_core_of_a_group_that_cannot_work_is_refused(capsys, tmp_path, case, words) -> None:
    sensors = tmp_path / "sensors.toml"  # never read: every case is refused before
    live = ["--sensors", str(sensors), "--asterix", "udp://127.0.0.1:9"]
    args = {
        "no node id": ["--ha-lease", "nats://127.0.0.1:4222", *live],
        "node id alone": ["--node-id", "a", *live],
        "no sensors": ["--ha-lease", "nats://127.0.0.1:4222", "--node-id", "a"],
        "with simulate": [
            *("--ha-lease", "nats://127.0.0.1:4222", "--node-id", "a"),
            *("--simulate", "sderot-gaza"),
        ],
        "bad URL": ["--ha-lease", "http://127.0.0.1:4222", "--node-id", "a", *live],
    }[case]
    port = str(free_port())
    code = main(["serve", "--db", str(tmp_path / "a.db"), "--port", port, *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("redcolor: error:") and words in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
