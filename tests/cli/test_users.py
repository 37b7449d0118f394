"""`redcolor users add|list|disable` through the real CLI entry point and a real store file."""

from __future__ import annotations

import getpass
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from redcolor.cli.main import main
from redcolor.errors import AuthError
from redcolor.operators import AuditLog, SessionStore, UserStore

PASSWORD = "correct horse battery staple"
SRC = Path(__file__).resolve().parents[2] / "src"


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_add_list_disable_audited(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "alerts.db"
    _stdin(monkeypatch, PASSWORD + "\n")
    assert main(["users", "add", "alice", "--role", "supervisor", "--totp", "--db", str(db)]) == 0
    out = capsys.readouterr()
    uri = out.out.strip()
    assert uri.startswith("otpauth://totp/redcolor:alice?") and "cannot be shown again" in out.err
    _stdin(monkeypatch, PASSWORD + "\r\n")
    assert main(["users", "add", "bob", "--role", "operator", "--db", str(db)]) == 0
    assert capsys.readouterr().out == ""  # no secret to show without --totp

    assert main(["users", "list", "--json", "--db", str(db)]) == 0
    listed_text = capsys.readouterr().out
    listed = json.loads(listed_text)
    assert [(u["name"], u["role"], u["totp"], u["disabled_unix_s"]) for u in listed] == [
        ("alice", "supervisor", True, None),
        ("bob", "operator", False, None),
    ]
    secret = pyotp.parse_uri(uri).secret
    assert main(["users", "list", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "alice" in table and "supervisor" in table
    for shown in (listed_text, table):
        assert secret not in shown and PASSWORD not in shown and "argon2" not in shown

    users, sessions = UserStore(db), SessionStore(db)
    bob = users.verify("bob", PASSWORD, None)  # the "\r\n" line ending was not kept
    _, token = sessions.create(bob, "10.0.0.1")
    assert users.verify("alice", PASSWORD, pyotp.TOTP(secret).now()).name == "alice"

    assert main(["users", "disable", "bob", "--db", str(db)]) == 0
    assert "disabled operator bob" in capsys.readouterr().out
    with pytest.raises(AuthError):
        users.verify("bob", PASSWORD, None)
    with pytest.raises(AuthError, match="ended"):
        sessions.authenticate(token)

    log = AuditLog(db)
    records = log.read()
    assert [(r.action, r.target) for r in records] == [
        ("user_add", "alice"),
        ("user_add", "bob"),
        ("user_disable", "bob"),
    ]
    assert {(r.actor, r.role, r.address) for r in records} == {
        (f"cli:{getpass.getuser()}", "admin", "local")
    }
    assert records[0].after["totp"] is True and records[0].before is None
    assert records[2].before["disabled_unix_s"] is None
    assert records[2].after["disabled_unix_s"] is not None
    assert log.verify() == 3
    assert secret not in repr(records) and PASSWORD not in repr(records)


def test_a_terminal_is_asked_twice_without_echo(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "alerts.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert main(["users", "add", "alice", "--role", "viewer", "--db", str(db)]) == 2
    assert "the two passwords differ" in _one_error_line(capsys)
    # a bad role is refused before the password is asked
    assert main(["users", "add", "alice", "--role", "root", "--db", str(db)]) == 2
    assert "bad role" in _one_error_line(capsys)
    answers = iter([PASSWORD, PASSWORD])
    assert main(["users", "add", "alice", "--role", "viewer", "--db", str(db)]) == 0
    assert UserStore(db).verify("alice", PASSWORD, None).role == "viewer"


def test_bad_input_is_one_line_exit_2(tmp_path, monkeypatch, capsys) -> None:
    db = str(tmp_path / "alerts.db")
    cases = [
        (["users", "add", "a", "--role", "root", "--db", db], PASSWORD, "bad role"),
        (["users", "add", "a b", "--role", "viewer", "--db", db], PASSWORD, "bad name"),
        (["users", "add", "a", "--role", "viewer", "--db", db], "short\n", "12 to 256"),
        (["users", "add", "a", "--role", "viewer", "--db", db], "", "no password on stdin"),
        (["users", "add", "a", "--db", db], PASSWORD, "--role"),
        (["users", "list", "--db", str(tmp_path / "missing.db")], "", "no alert store"),
        (["users", "disable", "x", "--db", str(tmp_path / "missing.db")], "", "no alert store"),
    ]
    for argv, stdin, message in cases:
        _stdin(monkeypatch, stdin)
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys), argv
    assert not (tmp_path / "alerts.db").exists()  # refused input made no file
    _stdin(monkeypatch, PASSWORD)
    assert main(["users", "add", "a", "--role", "viewer", "--db", db]) == 0
    capsys.readouterr()
    for argv, message in [
        (["users", "add", "a", "--role", "admin", "--db", db], "exists"),
        (["users", "disable", "nobody", "--db", db], "no operator named"),
    ]:
        _stdin(monkeypatch, PASSWORD)
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys)
    assert main(["users", "disable", "a", "--db", db]) == 0
    capsys.readouterr()
    assert main(["users", "disable", "a", "--db", db]) == 2
    assert "disabled already" in _one_error_line(capsys)
    assert [r.action for r in AuditLog(db).read()] == ["user_add", "user_disable"]


def test_the_password_comes_through_a_real_pipe(tmp_path) -> None:
    db = tmp_path / "alerts.db"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    run = [sys.executable, "-c", "from redcolor.cli.main import run; run()"]
    done = subprocess.run(
        [*run, "users", "add", "carol", "--role", "operator", "--db", str(db)],
        input=PASSWORD + "\nsecond line ignored\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "added operator carol" in done.stderr
    assert UserStore(db).verify("carol", PASSWORD, None).name == "carol"
    bad = subprocess.run(
        [*run, "users", "add", "dave", "--role", "boss", "--db", str(db)],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "bad role" in bad.stderr


def test_sessions_listed_and_revoked_audited(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "alerts.db"
    for name, role in (("alice", "supervisor"), ("bob", "operator")):
        _stdin(monkeypatch, PASSWORD + "\n")
        assert main(["users", "add", name, "--role", role, "--db", str(db)]) == 0
    users, sessions = UserStore(db), SessionStore(db)
    a1, t_a1 = sessions.create(users.get("alice"), "10.0.0.1")
    a2, t_a2 = sessions.create(users.get("alice"), "10.0.0.2")
    b1, t_b1 = sessions.create(users.get("bob"), "2001:db8::1234:5678")
    capsys.readouterr()

    assert main(["users", "sessions", "--json", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    listed = json.loads(text)
    assert [(s["session_id"], s["user"], s["address"]) for s in listed] == [
        (a1.session_id, "alice", "10.0.0.1"),
        (a2.session_id, "alice", "10.0.0.2"),
        (b1.session_id, "bob", "2001:db8::1234:5678"),
    ]
    assert listed[0]["last_seen_unix_s"] == a1.created_unix_s
    assert main(["users", "sessions", "bob", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert b1.session_id in table and a1.session_id not in table
    assert "2001:db8::1234:5678" in table  # printed as given: no emoji code, no markup
    for token in (t_a1, t_a2, t_b1):
        secret = token.rsplit("_", 1)[1]
        assert secret not in text and secret not in table

    assert main(["users", "revoke", "alice", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == "ended 2 sessions of alice"
    for token in (t_a1, t_a2):
        with pytest.raises(AuthError, match="ended"):
            sessions.authenticate(token)
    assert sessions.authenticate(t_b1).user == "bob"
    assert users.verify("alice", PASSWORD, None).name == "alice"  # the account stays usable
    assert main(["users", "sessions", "alice", "--json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["users", "revoke", "alice", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == "ended 0 sessions of alice"

    for argv, message in (
        (["users", "revoke", "nobody", "--db", str(db)], "no operator named 'nobody'"),
        (["users", "sessions", "nobody", "--db", str(db)], "no operator named 'nobody'"),
        (["users", "revoke", "alice", "--db", str(tmp_path / "missing.db")], "no alert store"),
        (["users", "sessions", "--db", str(tmp_path / "missing.db")], "no alert store"),
    ):
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys), argv
    assert not (tmp_path / "missing.db").exists()

    records = [r for r in AuditLog(db).read() if r.action == "session_revoke"]
    assert [(r.actor, r.role, r.address, r.target) for r in records] == [
        (f"cli:{getpass.getuser()}", "admin", "local", "user:alice")
    ] * 2
    ended = [s["session_id"] for s in records[0].before["live_sessions"]]
    assert ended == [a1.session_id, a2.session_id]
    assert records[0].after["live_sessions"] == [] and records[1].before["live_sessions"] == []


def test_a_totp_key_path_that_cannot_be_made_is_one_line_and_adds_no_account(
    tmp_path, monkeypatch, capsys
) -> None:
    db = tmp_path / "alerts.db"
    _stdin(monkeypatch, PASSWORD + "\n")
    missing = tmp_path / "no-such-dir" / "totp.key"
    argv = ["users", "add", "dana", "--role", "operator", "--totp", "--db", str(db)]
    assert main([*argv, "--totp-key", str(missing)]) == 2
    assert "cannot create TOTP key" in _one_error_line(capsys)
    assert main(["users", "list", "--json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not missing.exists() and not Path(f"{db}.totp-key").exists()
