"""Sessions on a real SQLite file: token form and storage, expiry, revocation, CSRF tokens."""

from __future__ import annotations

import hashlib
import re
import sqlite3

import pytest
from argon2 import PasswordHasher

from redcolor.errors import AuthError, ForbiddenError, InputError
from redcolor.operators import SessionStore, UserStore
from redcolor.operators.sessions import LAST_SEEN_STEP_S

T0 = 1_800_000_000.0
IDLE_S, LIFETIME_S = 3600.0, 4 * 3600.0
# Sessions do not care how a user was verified; a cheap hasher keeps these tests quick.
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "alerts.db"


@pytest.fixture
def users(db):
    store = UserStore(db, hasher=FAST)
    store.add("alice", "supervisor", "correct horse battery")
    store.add("bob", "operator", "correct horse battery")
    yield store
    store.close()


@pytest.fixture
def sessions(db, users):
    store = SessionStore(db, idle_s=IDLE_S, lifetime_s=LIFETIME_S)
    yield store
    store.close()


def _raw(db, sql, args=()):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def test_a_token_is_shown_once_and_stored_as_its_sha256(db, users, sessions) -> None:
    session, token = sessions.create(users.get("alice"), "10.1.2.3", now_unix_s=T0)
    match = re.fullmatch(r"rs_([0-9a-f]{12})_([0-9a-f]{64})", token)
    assert match and match.group(1) == session.session_id
    assert (session.user, session.role, session.address) == ("alice", "supervisor", "10.1.2.3")
    assert session.created_unix_s == T0 and session.expires_unix_s == T0 + IDLE_S
    [(digest,)] = _raw(db, "SELECT digest FROM sessions")
    assert bytes(digest) == hashlib.sha256(match.group(2).encode()).digest()
    on_disk = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert match.group(2).encode() not in on_disk
    assert sessions.authenticate(token, now_unix_s=T0 + 1) == session
    # another store on the same file (another worker) knows it too
    assert SessionStore(db).authenticate(token, now_unix_s=T0 + 1).session_id == session.session_id


def test_wrong_malformed_and_unknown_tokens_are_refused(users, sessions) -> None:
    session, token = sessions.create(users.get("alice"), "10.1.2.3", now_unix_s=T0)
    wrong_secret = token[:-1] + ("0" if token[-1] != "0" else "1")
    unknown_id = "rs_" + "0" * 12 + token[15:]
    cases = {
        wrong_secret: "unknown or wrong",
        unknown_id: "unknown or wrong",
        token.upper(): "malformed",
        token + "0": "malformed",
        "rc_" + token[3:]: "malformed",  # an API token's form is not a session's
        "": "malformed",
    }
    for given, message in cases.items():
        with pytest.raises(AuthError, match=message):
            sessions.authenticate(given, now_unix_s=T0 + 1)
    assert sessions.authenticate(token, now_unix_s=T0 + 1).session_id == session.session_id


def test_idle_expiry_slides_with_use(users, sessions) -> None:
    _, idle = sessions.create(users.get("alice"), "a", now_unix_s=T0)
    _, used = sessions.create(users.get("alice"), "a", now_unix_s=T0)
    touched = sessions.authenticate(used, now_unix_s=T0 + 0.9 * IDLE_S)
    assert touched.expires_unix_s == T0 + 1.9 * IDLE_S
    with pytest.raises(AuthError, match="expired"):
        sessions.authenticate(idle, now_unix_s=T0 + IDLE_S)
    assert sessions.authenticate(used, now_unix_s=T0 + 1.5 * IDLE_S).user == "alice"
    with pytest.raises(AuthError, match="expired"):
        sessions.authenticate(used, now_unix_s=T0 + 2.6 * IDLE_S)


def test_absolute_lifetime_ends_a_session_in_constant_use(users, sessions) -> None:
    session, token = sessions.create(users.get("bob"), "a", now_unix_s=T0)
    now = T0
    while now + 1800 < T0 + LIFETIME_S:
        now += 1800
        assert sessions.authenticate(token, now_unix_s=now).expires_unix_s <= T0 + LIFETIME_S
    assert sessions.authenticate(token, now_unix_s=T0 + LIFETIME_S - 1).user == "bob"
    with pytest.raises(AuthError, match="expired"):
        sessions.authenticate(token, now_unix_s=T0 + LIFETIME_S)
    assert sessions.list(now_unix_s=T0 + LIFETIME_S) == []
    assert [s.session_id for s in sessions.list(live_only=False)] == [session.session_id]


def test_last_seen_is_written_at_most_every_few_seconds(db, users, sessions) -> None:
    session, token = sessions.create(users.get("bob"), "a", now_unix_s=T0)

    def last_seen() -> float:
        return _raw(
            db, "SELECT last_seen_unix_s FROM sessions WHERE id = ?", (session.session_id,)
        )[0][0]

    for dt in (0.5, 1.0, LAST_SEEN_STEP_S - 0.5):
        sessions.authenticate(token, now_unix_s=T0 + dt)
        assert last_seen() == T0
    sessions.authenticate(token, now_unix_s=T0 + LAST_SEEN_STEP_S)
    assert last_seen() == T0 + LAST_SEEN_STEP_S


def test_revoke_one_and_all_of_a_user(users, sessions) -> None:
    alice, bob = users.get("alice"), users.get("bob")
    a1, t_a1 = sessions.create(alice, "a", now_unix_s=T0)
    _, t_a2 = sessions.create(alice, "b", now_unix_s=T0)
    _, t_a3 = sessions.create(alice, "c", now_unix_s=T0)
    _, t_b = sessions.create(bob, "d", now_unix_s=T0)
    sessions.revoke(a1.session_id, now_unix_s=T0 + 1)
    sessions.revoke(a1.session_id, now_unix_s=T0 + 2)  # again: nothing changes
    with pytest.raises(AuthError, match="ended"):
        sessions.authenticate(t_a1, now_unix_s=T0 + 3)
    assert sessions.authenticate(t_a2, now_unix_s=T0 + 3).user == "alice"
    assert sessions.revoke_user("alice", now_unix_s=T0 + 4) == 2
    assert sessions.revoke_user("alice", now_unix_s=T0 + 5) == 0
    for token in (t_a2, t_a3):
        with pytest.raises(AuthError, match="ended"):
            sessions.authenticate(token, now_unix_s=T0 + 6)
    assert [s.user for s in sessions.list(now_unix_s=T0 + 6)] == ["bob"]
    assert sessions.authenticate(t_b, now_unix_s=T0 + 6).user == "bob"


def test_a_disabled_user_gets_no_session(users, sessions) -> None:
    users.disable("bob")
    with pytest.raises(AuthError, match="disabled"):
        sessions.create(users.get("bob"), "a")


def test_csrf_token_is_per_session_stable_and_checked(db, users, sessions) -> None:
    s1, _ = sessions.create(users.get("alice"), "a", now_unix_s=T0)
    s2, _ = sessions.create(users.get("alice"), "a", now_unix_s=T0)
    csrf1 = sessions.csrf_token(s1)
    assert re.fullmatch(r"[0-9a-f]{64}", csrf1)
    assert csrf1 != sessions.csrf_token(s2)
    assert SessionStore(db).csrf_token(s1) == csrf1  # the key is kept in the file
    sessions.check_csrf(s1, csrf1)
    for given in (None, "", sessions.csrf_token(s2), csrf1[:-1], csrf1 + "0", "x" * 10_000):
        with pytest.raises(ForbiddenError, match="CSRF"):
            sessions.check_csrf(s1, given)
    [(key,)] = _raw(db, "SELECT key FROM server_keys WHERE name = 'csrf'")
    assert len(bytes(key)) == 32


def test_another_file_has_another_csrf_key(tmp_path, users, sessions) -> None:
    session, _ = sessions.create(users.get("alice"), "a")
    other = SessionStore(tmp_path / "other.db")
    assert other.csrf_token(session) != sessions.csrf_token(session)


def test_idle_must_fit_the_lifetime(db) -> None:
    with pytest.raises(InputError):
        SessionStore(db, idle_s=7200.0, lifetime_s=3600.0)
    with pytest.raises(InputError):
        SessionStore(db, idle_s=0.0)
