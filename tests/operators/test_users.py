"""Operator accounts on a real SQLite file: argon2id hashes, uniform failures, TOTP, disabling."""

from __future__ import annotations

import re
import sqlite3
import stat

import pyotp
import pytest
from argon2 import PasswordHasher

from redcolor.errors import AuthError, ConflictError, InputError, NotFoundError
from redcolor.operators import ROLES, SessionStore, UserStore, role_at_least
from redcolor.operators.users import FAILED, SEALED_PREFIX

PASSWORD = "correct horse battery staple"
T0 = 1_800_000_000.0  # a TOTP step boundary (divisible by 30)


class CountingHasher(PasswordHasher):
    """argon2-cffi's own hasher at its defaults, counting the verifications it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash, password):
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "alerts.db"


def _raw(db, sql, args=()):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _secret(uri: str) -> str:
    return pyotp.parse_uri(uri).secret


def test_password_is_stored_as_an_argon2id_hash_and_never_as_itself(db) -> None:
    store = UserStore(db)
    user, uri = store.add("alice", "operator", PASSWORD)
    assert uri is None and user.role == "operator" and not user.totp
    [(stored,)] = _raw(db, "SELECT password_hash FROM operators WHERE name = 'alice'")
    defaults = PasswordHasher()
    assert stored.startswith("$argon2id$v=19$")
    assert f"m={defaults.memory_cost},t={defaults.time_cost},p={defaults.parallelism}" in stored
    assert defaults.memory_cost >= 19 * 1024  # memory-hard: OWASP's argon2id floor, 19 MiB
    store.close()
    on_disk = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert PASSWORD.encode() not in on_disk
    assert UserStore(db).verify("alice", PASSWORD, None).name == "alice"


def test_every_failure_says_the_same_thing(db) -> None:
    store = UserStore(db)
    store.add("alice", "operator", PASSWORD)
    store.add("bob", "supervisor", PASSWORD)
    store.disable("bob")
    attempts = [
        ("alice", "wrong password 123"),
        ("alice", ""),
        ("alice", PASSWORD + "x" * 300),  # over the length limit: refused, not hashed whole
        ("nobody", PASSWORD),
        ("bob", PASSWORD),  # disabled, right password
        ("x" * 5000, PASSWORD),
    ]
    messages = set()
    for name, password in attempts:
        with pytest.raises(AuthError) as caught:
            store.verify(name, password, None)
        assert type(caught.value) is AuthError
        messages.add(str(caught.value))
    assert messages == {FAILED}
    assert store.verify("alice", PASSWORD, None).name == "alice"


def test_an_unknown_name_costs_an_argon2_verification_like_a_known_one(db) -> None:
    hasher = CountingHasher()
    store = UserStore(db, hasher=hasher)
    store.add("alice", "operator", PASSWORD)
    for name in ("alice", "nobody"):
        before = hasher.verifications
        with pytest.raises(AuthError):
            store.verify(name, "wrong password 123", None)
        assert hasher.verifications == before + 1, name


def test_add_checks_its_input(db) -> None:
    store = UserStore(db)
    with pytest.raises(InputError, match="bad name"):
        store.add("a b", "operator", PASSWORD)
    with pytest.raises(InputError, match="bad role"):
        store.add("alice", "root", PASSWORD)
    with pytest.raises(InputError, match="12 to 256"):
        store.add("alice", "operator", "short")
    with pytest.raises(InputError, match="12 to 256"):
        store.add("alice", "operator", "x" * 257)
    with pytest.raises(InputError, match="only spaces"):
        store.add("alice", "operator", " " * 12)
    assert store.list() == []
    store.add("alice", "operator", "x" * 12)
    with pytest.raises(ConflictError):
        store.add("alice", "admin", PASSWORD)
    store.disable("alice")
    with pytest.raises(ConflictError):  # a disabled name stays taken (the audit log names it)
        store.add("alice", "admin", PASSWORD)


def test_totp_is_required_once_enabled_and_each_code_works_once(db) -> None:
    store = UserStore(db)
    user, uri = store.add("alice", "supervisor", PASSWORD, totp=True)
    assert user.totp and uri is not None and uri.startswith("otpauth://totp/redcolor:alice?")
    totp = pyotp.TOTP(_secret(uri))
    now = T0 + 5
    for code in (None, "", "000000" if totp.at(now) != "000000" else "111111", "12345", "abcdef"):
        with pytest.raises(AuthError, match=FAILED):
            store.verify("alice", PASSWORD, code, now_unix_s=now)
    # the right code with the wrong password fails and does not use the code up
    with pytest.raises(AuthError, match=FAILED):
        store.verify("alice", "wrong password 123", totp.at(now), now_unix_s=now)
    assert store.verify("alice", PASSWORD, totp.at(now), now_unix_s=now).name == "alice"
    with pytest.raises(AuthError, match=FAILED):  # replay of the same code, same step
        store.verify("alice", PASSWORD, totp.at(now), now_unix_s=now + 10)
    with pytest.raises(AuthError, match=FAILED):  # the previous step's code is older: refused
        store.verify("alice", PASSWORD, totp.at(now - 30), now_unix_s=now + 10)
    # one step late is accepted (clock drift) once; two steps away never
    later = now + 30
    assert store.verify("alice", PASSWORD, totp.at(later), now_unix_s=later + 30).totp
    with pytest.raises(AuthError, match=FAILED):
        store.verify("alice", PASSWORD, totp.at(later), now_unix_s=later + 30)
    far = now + 300
    with pytest.raises(AuthError, match=FAILED):
        store.verify("alice", PASSWORD, totp.at(far + 60), now_unix_s=far)
    assert store.verify("alice", PASSWORD, totp.at(far + 30), now_unix_s=far).name == "alice"


def test_the_totp_secret_is_never_listed(db) -> None:
    store = UserStore(db)
    _, uri = store.add("alice", "operator", PASSWORD, totp=True)
    shown = repr(store.list()) + repr(store.get("alice").to_json())
    assert _secret(uri) not in shown and "argon2" not in shown


def test_the_totp_secret_is_sealed_at_rest_under_a_key_file_of_its_own(db) -> None:
    store = UserStore(db)
    _, uri = store.add("alice", "supervisor", PASSWORD, totp=True)
    secret = _secret(uri)
    store.close()
    # neither the database file nor its journal holds the secret; the key is a 0600 file
    on_disk = b"".join(p.read_bytes() for p in db.parent.iterdir() if p != store.key_path)
    assert secret.encode() not in on_disk
    [(kept,)] = _raw(db, "SELECT totp_secret FROM operators WHERE name = 'alice'")
    assert kept.startswith(SEALED_PREFIX)
    assert store.key_path == db.parent / "alerts.db.totp-key"
    assert stat.S_IMODE(store.key_path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(store.key_path.read_text())) == 32
    # a new store opens it with the key file: the code from the authenticator works
    assert UserStore(db).verify("alice", PASSWORD, pyotp.TOTP(secret).at(T0), now_unix_s=T0).totp


def test_a_sealed_secret_opens_for_its_own_account_only(db) -> None:
    store = UserStore(db)
    _, uri = store.add("alice", "supervisor", PASSWORD, totp=True)
    store.add("mallory", "supervisor", PASSWORD, totp=True)
    # someone with write access to the file copies alice's sealed secret onto mallory: it does
    # not open there, so alice's authenticator codes do not log mallory in
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE operators SET totp_secret ="
            " (SELECT totp_secret FROM operators WHERE name = 'alice') WHERE name = 'mallory'"
        )
    code = pyotp.TOTP(_secret(uri)).at(T0)
    with pytest.raises(AuthError, match=FAILED):
        store.verify("mallory", PASSWORD, code, now_unix_s=T0)
    # nor does an altered one
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE operators SET totp_secret = totp_secret || 'A' WHERE name = 'alice'")
    with pytest.raises(AuthError, match=FAILED):
        store.verify("alice", PASSWORD, code, now_unix_s=T0)


def test_a_secret_stored_in_plain_is_sealed_at_the_next_open(db) -> None:
    UserStore(db).add("alice", "supervisor", PASSWORD)
    secret = pyotp.random_base32()
    with sqlite3.connect(db) as conn:  # as a store of before sealing kept it
        conn.execute("UPDATE operators SET totp_secret = ? WHERE name = 'alice'", (secret,))
    store = UserStore(db)
    [(kept,)] = _raw(db, "SELECT totp_secret FROM operators WHERE name = 'alice'")
    assert kept.startswith(SEALED_PREFIX) and secret not in kept
    assert store.verify("alice", PASSWORD, pyotp.TOTP(secret).at(T0), now_unix_s=T0).totp


def test_a_lost_or_loose_key_file_fails_totp_logins_closed_and_says_why(db) -> None:
    store = UserStore(db)
    _, uri = store.add("alice", "supervisor", PASSWORD, totp=True)
    store.add("bob", "operator", PASSWORD)
    code = pyotp.TOTP(_secret(uri)).at(T0)
    assert store.key_problem is None
    key = store.key_path.read_bytes()
    for spoil, says in (
        (lambda: store.key_path.chmod(0o644), "open to other users"),
        (store.key_path.unlink, "cannot read TOTP key .*alerts\\.db\\.totp-key"),
    ):
        spoil()
        # the store still opens (an alert server must start), says why in one line, makes
        # no new key over the sealed secret, and the factor's logins fail as any failure does
        reopened = UserStore(db)
        assert re.search(says, reopened.key_problem) and "\n" not in reopened.key_problem
        assert reopened.key_problem.startswith("TOTP logins will fail: ")
        with pytest.raises(AuthError, match=FAILED):
            reopened.verify("alice", PASSWORD, code, now_unix_s=T0)
        assert reopened.verify("bob", PASSWORD, None).name == "bob"
        with pytest.raises(InputError, match=says):  # no new sealed secret under a new key
            reopened.add("carol", "operator", PASSWORD, totp=True)
        assert not store.key_path.exists() or store.key_path.read_bytes() == key
    # restored, the same code logs in
    store.key_path.write_bytes(key)
    store.key_path.chmod(0o600)
    restored = UserStore(db)
    assert restored.key_problem is None
    assert restored.verify("alice", PASSWORD, code, now_unix_s=T0).totp


def test_no_key_file_is_made_until_a_secret_is_sealed(db) -> None:
    store = UserStore(db)
    store.add("bob", "operator", PASSWORD)
    assert not UserStore(db).key_path.exists() and store.key_problem is None
    store.add("alice", "operator", PASSWORD, totp=True)
    assert store.key_path.exists()


def test_a_hash_of_old_parameters_is_rehashed_at_login(db) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    UserStore(db, hasher=old).add("alice", "operator", PASSWORD)
    [(before,)] = _raw(db, "SELECT password_hash FROM operators")
    assert "m=8192,t=1,p=1" in before
    current = UserStore(db)
    assert current.verify("alice", PASSWORD, None).name == "alice"
    [(after,)] = _raw(db, "SELECT password_hash FROM operators")
    assert after != before and not current._hasher.check_needs_rehash(after)
    assert current.verify("alice", PASSWORD, None).name == "alice"


def test_roles_rank_in_order() -> None:
    assert ROLES == ("viewer", "operator", "supervisor", "admin")
    for i, role in enumerate(ROLES):
        for j, needed in enumerate(ROLES):
            assert role_at_least(role, needed) is (i >= j), (role, needed)
    with pytest.raises(InputError):
        role_at_least("root", "viewer")


def test_disable_refuses_logins_and_ends_sessions(db) -> None:
    users, sessions = UserStore(db), SessionStore(db)
    alice, _ = users.add("alice", "operator", PASSWORD)
    bob, _ = users.add("bob", "operator", PASSWORD)
    _, token_a1 = sessions.create(alice, "10.0.0.1")
    _, token_a2 = sessions.create(alice, "10.0.0.2")
    _, token_b = sessions.create(bob, "10.0.0.3")
    disabled = users.disable("alice", now_unix_s=T0)
    assert disabled.disabled_unix_s == T0 and users.get("alice") == disabled
    for token in (token_a1, token_a2):
        with pytest.raises(AuthError, match="ended"):
            sessions.authenticate(token)
    assert sessions.authenticate(token_b).user == "bob"
    assert [s.user for s in sessions.list()] == ["bob"]
    assert _raw(db, "SELECT count(*) FROM sessions WHERE revoked_unix_s = ?", (T0,)) == [(2,)]
    with pytest.raises(AuthError, match=FAILED):
        users.verify("alice", PASSWORD, None)
    with pytest.raises(ConflictError, match="already"):
        users.disable("alice")
    with pytest.raises(NotFoundError):
        users.disable("nobody")
    with pytest.raises(NotFoundError):
        users.get("nobody")


def test_a_new_password_replaces_the_old_and_ends_the_sessions(db) -> None:
    users, sessions = UserStore(db), SessionStore(db)
    alice, _ = users.add("alice", "operator", PASSWORD)
    bob, _ = users.add("bob", "operator", PASSWORD)
    _, token_a = sessions.create(alice, "10.0.0.1")
    _, token_b = sessions.create(bob, "10.0.0.2")
    new = "a whole new passphrase"
    user, ended = users.set_password("alice", new, now_unix_s=T0)
    assert (user, ended) == (users.get("alice"), 1)
    with pytest.raises(AuthError, match=FAILED):
        users.verify("alice", PASSWORD, None)
    assert users.verify("alice", new, None).name == "alice"
    with pytest.raises(AuthError, match="ended"):
        sessions.authenticate(token_a)
    assert sessions.authenticate(token_b).user == "bob"  # nobody else's
    [(stored,)] = _raw(db, "SELECT password_hash FROM operators WHERE name = 'alice'")
    assert stored.startswith("$argon2id$") and new not in stored
    with pytest.raises(InputError, match="12 to 256"):
        users.set_password("alice", "short")
    with pytest.raises(NotFoundError):
        users.set_password("nobody", new)
    assert users.verify("alice", new, None).name == "alice"  # a refused change changed nothing


def test_a_new_totp_factor_retires_the_old_secret_and_ends_the_sessions(db) -> None:
    users, sessions = UserStore(db), SessionStore(db)
    _, first_uri = users.add("alice", "supervisor", PASSWORD, totp=True)
    old = pyotp.TOTP(_secret(first_uri))
    now = T0 + 5
    alice = users.verify("alice", PASSWORD, old.at(now), now_unix_s=now)
    _, token = sessions.create(alice, "10.0.0.1")
    user, uri, ended = users.set_totp("alice", True, now_unix_s=now + 1)
    assert user.totp and ended == 1 and uri is not None and _secret(uri) != _secret(first_uri)
    with pytest.raises(AuthError, match="ended"):
        sessions.authenticate(token)
    later = now + 60
    with pytest.raises(AuthError, match=FAILED):  # the lost phone's codes open nothing
        users.verify("alice", PASSWORD, old.at(later), now_unix_s=later)
    new = pyotp.TOTP(_secret(uri))
    # the last step used was the old secret's: the new one starts afresh, even in the same step
    assert users.verify("alice", PASSWORD, new.at(now), now_unix_s=now).name == "alice"
    [(stored,)] = _raw(db, "SELECT totp_secret FROM operators WHERE name = 'alice'")
    assert stored.startswith(SEALED_PREFIX) and _secret(uri) not in stored

    user, uri, ended = users.set_totp("alice", False)
    assert not user.totp and uri is None and ended == 0
    assert users.verify("alice", PASSWORD, None).name == "alice"  # no code asked now
    with pytest.raises(NotFoundError):
        users.set_totp("nobody", True)


def test_a_new_factor_is_refused_while_the_key_file_is_lost(db) -> None:
    users = UserStore(db)
    users.add("alice", "supervisor", PASSWORD, totp=True)
    users.close()
    db.with_name(db.name + ".totp-key").unlink()
    users = UserStore(db)
    with pytest.raises(InputError, match="TOTP key"):
        users.set_totp("alice", True)
    assert not db.with_name(db.name + ".totp-key").exists()  # no key made that opens nothing


def test_enable_and_set_role(db) -> None:
    users, sessions = UserStore(db), SessionStore(db)
    alice, _ = users.add("alice", "operator", PASSWORD)
    _, token = sessions.create(alice, "10.0.0.1")
    assert users.set_role("alice", "supervisor").role == "supervisor"
    assert sessions.authenticate(token).role == "supervisor"  # at its next request
    with pytest.raises(ConflictError, match="the role supervisor already"):
        users.set_role("alice", "supervisor")
    with pytest.raises(InputError, match="bad role"):
        users.set_role("alice", "root")
    with pytest.raises(ConflictError, match="not disabled"):
        users.enable("alice")
    users.disable("alice")
    enabled = users.enable("alice")
    assert enabled.disabled_unix_s is None and users.verify("alice", PASSWORD, None).name == "alice"
    with pytest.raises(AuthError, match="ended"):  # what the disabling ended stays ended
        sessions.authenticate(token)
    for change in (lambda: users.enable("nobody"), lambda: users.set_role("nobody", "viewer")):
        with pytest.raises(NotFoundError):
            change()
