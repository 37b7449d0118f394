"""`redcolor tokens add|list|revoke` through the real CLI entry point and a real store file."""

from __future__ import annotations

import json

from redcolor.auth import TokenStore
from redcolor.cli.main import main


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_add_list_revoke(tmp_path, capsys) -> None:
    db = str(tmp_path / "alerts.db")
    argv = ["tokens", "add", "siren-a", "--role", "siren", "--areas", "175,176", "--db", db]
    assert main(argv) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("rc_")
    assert main(["tokens", "add", "edge-1", "--role", "edge", "--db", db]) == 0
    capsys.readouterr()
    assert main(["tokens", "list", "--json", "--db", db]) == 0
    out = capsys.readouterr().out
    listed = json.loads(out)
    assert [(t["name"], t["role"], t["areas"]) for t in listed] == [
        ("siren-a", "siren", [175, 176]),
        ("edge-1", "edge", None),
    ]
    assert token.split("_")[2] not in out  # never the secret
    store = TokenStore(db)
    assert store.authenticate(token, "siren").name == "siren-a"
    assert main(["tokens", "revoke", "siren-a", "--db", db]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["tokens", "list", "--db", db]) == 0
    assert "siren-a" in capsys.readouterr().out
    assert store.live_names("siren") == []
    store.close()


def test_bad_input_is_one_line_exit_2(tmp_path, capsys) -> None:
    db = str(tmp_path / "alerts.db")
    cases = [
        (["tokens", "add", "s", "--role", "admin", "--db", db], "bad role"),
        (["tokens", "add", "s", "--role", "siren", "--db", db], "needs --areas"),
        (["tokens", "add", "s", "--role", "siren", "--areas", "99999999", "--db", db], "unknown"),
        (["tokens", "add", "a b", "--role", "edge", "--db", db], "bad name"),
        (["tokens", "revoke", "nobody", "--db", db], "no live token"),
        (["tokens", "list", "--db", str(tmp_path / "missing.db")], "no alert store"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys)
    assert main(["tokens", "add", "s", "--role", "edge", "--db", db]) == 0
    capsys.readouterr()
    assert main(["tokens", "add", "s", "--role", "edge", "--db", db]) == 2
    assert "revoke it first" in _one_error_line(capsys)
