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


def test_a_forgotten_password_and_a_lost_phone_are_reset_from_the_cli(
    tmp_path, monkeypatch, capsys
) -> None:
    db = tmp_path / "alerts.db"
    _stdin(monkeypatch, PASSWORD + "\n")
    assert main(["users", "add", "alice", "--role", "supervisor", "--totp", "--db", str(db)]) == 0
    old = pyotp.TOTP(pyotp.parse_uri(capsys.readouterr().out.strip()).secret)
    users, sessions = UserStore(db), SessionStore(db)
    _, token = sessions.create(users.verify("alice", PASSWORD, old.now()), "10.0.0.1")

    new_password = "a whole new passphrase"
    _stdin(monkeypatch, new_password + "\n")
    assert main(["users", "passwd", "alice", "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "new password for alice; ended 1 session" in out.err
    with pytest.raises(AuthError, match="ended"):
        sessions.authenticate(token)
    with pytest.raises(AuthError):
        users.verify("alice", PASSWORD, old.now())

    assert main(["users", "totp", "alice", "--db", str(db)]) == 0
    out = capsys.readouterr()
    new = pyotp.TOTP(pyotp.parse_uri(out.out.strip()).secret)
    assert "cannot be shown again" in out.err and "new TOTP factor for alice" in out.err
    assert new.secret != old.secret
    with pytest.raises(AuthError):  # the lost phone's code opens nothing
        users.verify("alice", new_password, old.now())
    assert users.verify("alice", new_password, new.now()).totp

    assert main(["users", "totp", "alice", "--off", "--db", str(db)]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "TOTP removed for alice" in out.err
    assert not users.verify("alice", new_password, None).totp

    assert main(["users", "role", "alice", "operator", "--db", str(db)]) == 0
    assert capsys.readouterr().out.strip() == "alice now has the role operator"
    assert main(["users", "disable", "alice", "--db", str(db)]) == 0
    assert main(["users", "enable", "alice", "--db", str(db)]) == 0
    assert "enabled operator alice" in capsys.readouterr().out
    assert users.verify("alice", new_password, None).role == "operator"

    records = AuditLog(db).read()
    assert [(r.action, r.target) for r in records] == [
        ("user_add", "alice"),
        ("user_password", "alice"),
        ("user_totp", "alice"),
        ("user_totp", "alice"),
        ("user_role", "alice"),
        ("user_disable", "alice"),
        ("user_enable", "alice"),
    ]
    assert [r.after.get("sessions_ended") for r in records[1:4]] == [1, 0, 0]
    assert (records[3].before["totp"], records[3].after["totp"]) == (True, False)
    assert (records[4].before["role"], records[4].after["role"]) == ("supervisor", "operator")
    text = repr(records)
    for secret in (PASSWORD, new_password, old.secret, new.secret):
        assert secret not in text
    assert AuditLog(db).verify() == 7


def test_account_changes_refuse_bad_input_in_one_line_and_change_nothing(
    tmp_path, monkeypatch, capsys
) -> None:
    db = tmp_path / "alerts.db"
    _stdin(monkeypatch, PASSWORD + "\n")
    assert main(["users", "add", "alice", "--role", "operator", "--db", str(db)]) == 0
    capsys.readouterr()
    d = ["--db", str(db)]
    unreachable = "postgresql://postgres@127.0.0.1:1/none"
    cases = [
        # an unknown name is refused before the password is read (stdin is empty here)
        (["users", "passwd", "nobody", *d], "", "no operator named 'nobody'"),
        (["users", "passwd", "alice", *d], "short\n", "12 to 256"),
        (["users", "passwd", "alice", *d], "", "no password on stdin"),
        (["users", "passwd", "alice", "--db", str(tmp_path / "missing.db")], "", "no alert store"),
        (["users", "totp", "nobody", *d], "", "no operator named"),
        (["users", "role", "alice", "root", *d], "", "bad role"),
        (["users", "role", "alice", "operator", *d], "", "the role operator already"),
        (["users", "role", "nobody", "viewer", *d], "", "no operator named"),
        (["users", "enable", "alice", *d], "", "not disabled"),
        (["users", "enable", "nobody", *d], "", "no operator named"),
        (["users", "disable", "alice", *d, "--store", "alerts.db"], "", "--store takes"),
        (["users", "passwd", "alice", *d, "--store", unreachable], PASSWORD, "cannot"),
        (["users", "totp", "alice", *d, "--store", unreachable], "", "cannot"),
    ]
    for argv, stdin, message in cases:
        _stdin(monkeypatch, stdin)
        assert main(argv) == 2, argv
        assert message in _one_error_line(capsys), argv
    assert not (tmp_path / "missing.db").exists() and not Path("alerts.db").exists()
    user = UserStore(db).verify("alice", PASSWORD, None)
    assert (user.role, user.totp, user.disabled_unix_s) == ("operator", False, None)
    assert [r.action for r in AuditLog(db).read()] == ["user_add"]


def test_with_store_the_cli_audits_into_the_servers_postgresql_trail(
    tmp_path, monkeypatch, capsys, pg_url
) -> None:
    db = tmp_path / "alerts.db"
    for argv in (
        ["users", "add", "alice", "--role", "supervisor"],
        ["users", "passwd", "alice"],
        ["users", "totp", "alice"],
        ["users", "role", "alice", "admin"],
        ["users", "revoke", "alice"],
        ["users", "disable", "alice"],
    ):
        _stdin(monkeypatch, PASSWORD + "\n")
        assert main([*argv, "--db", str(db), "--store", pg_url]) == 0, argv
    capsys.readouterr()
    # where the server with --store reads its audit trail (/v1/operator/audit): every change
    trail = AuditLog(pg_url)
    assert [r.action for r in trail.read()] == [
        "user_add",
        "user_password",
        "user_totp",
        "user_role",
        "session_revoke",
        "user_disable",
    ]
    assert trail.verify() == 6
    assert AuditLog(db).read() == []  # none left behind in the file the server does not read
