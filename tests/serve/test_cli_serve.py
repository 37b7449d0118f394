"""`redcolor serve` refuses bad options with one line and exit 2, before binding a port."""

from __future__ import annotations

import pytest

from redcolor.cli.main import main


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--simulate", "/no/such/scenario.toml"], "no scenario"),
        (["serve", "--mqtt", "http://broker"], "bad MQTT broker"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--speed", "0"], "speed"),
        (["serve", "--push-dir", "/tmp/p", "--push-allow", "10.0.0.0/33"], "not an IP range"),
        (["serve", "--push-dir", "/tmp/p", "--push-ca-file", "/no/ca.pem"], "--push-ca-file"),
        (["serve", "--push-max-subscriptions", "0"], "--push-max-subscriptions"),
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
