"""API tokens: format, hashing at rest, checks of role, binding and revocation (real SQLite)."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from redcolor.auth import TokenStore, authorize_siren, bearer_token, parse_area_list
from redcolor.errors import AuthError, ForbiddenError, InputError, NotFoundError


@pytest.fixture
def tokens(tmp_path):
    store = TokenStore(tmp_path / "alerts.db")
    yield store
    store.close()


def test_token_is_shown_once_and_only_its_digest_is_stored(tokens, tmp_path) -> None:
    credential, token = tokens.add("s1", "siren", frozenset({175, 176}))
    prefix, token_id, secret = token.split("_")
    assert prefix == "rc" and token_id == credential.token_id
    assert len(token_id) == 12 and len(secret) == 64 and int(secret, 16) >= 0
    raw = sqlite3.connect(tmp_path / "alerts.db")
    rows = raw.execute("SELECT * FROM tokens").fetchall()
    raw.close()
    flat = repr(rows)
    assert secret not in flat and token not in flat
    assert hashlib.sha256(secret.encode()).digest() in rows[0]
    assert tokens.authenticate(token, "siren") == credential


def test_wrong_unknown_malformed_and_revoked_tokens_are_refused(tokens) -> None:
    _, token = tokens.add("s1", "siren", frozenset({175}))
    head, secret = token.rsplit("_", 1)
    flipped = head + "_" + ("0" if secret[0] != "0" else "1") + secret[1:]
    for bad in (flipped, "rc_000000000000_" + "a" * 64, "rc_abc", "", token + "0", token.upper()):
        with pytest.raises(AuthError) as err:
            tokens.authenticate(bad, "siren")
        assert not isinstance(err.value, ForbiddenError)
    tokens.revoke("s1")
    with pytest.raises(AuthError, match="revoked"):
        tokens.authenticate(token, "siren")


def test_role_is_checked(tokens) -> None:
    _, edge = tokens.add("edge-1", "edge", None)
    with pytest.raises(ForbiddenError):
        tokens.authenticate(edge, "siren")
    assert tokens.authenticate(edge, "siren", "edge").role == "edge"


def test_names_roles_and_areas_are_validated(tokens) -> None:
    with pytest.raises(InputError, match="bad role"):
        tokens.add("x", "admin", None)
    with pytest.raises(InputError, match="needs --areas"):
        tokens.add("x", "siren", None)
    with pytest.raises(InputError, match="bad name"):
        tokens.add("no spaces", "edge", None)
    with pytest.raises(InputError):
        parse_area_list("1,x")
    assert parse_area_list(" 3, 1,3 ") == frozenset({1, 3})


def test_one_live_token_per_name_and_revoke(tokens) -> None:
    first, _ = tokens.add("s1", "siren", frozenset({1}))
    with pytest.raises(InputError, match="exists"):
        tokens.add("s1", "siren", frozenset({1}))
    assert tokens.live_ids({first.token_id, "nope"}) == {first.token_id}
    tokens.revoke("s1")
    assert tokens.live_ids({first.token_id}) == set()
    with pytest.raises(NotFoundError):
        tokens.revoke("s1")
    second, _ = tokens.add("s1", "siren", frozenset({2}))
    listed = tokens.list()
    assert [c.token_id for c in listed] == [first.token_id, second.token_id]
    assert listed[0].revoked_unix_s is not None and listed[1].revoked_unix_s is None
    assert tokens.live_names("siren") == ["s1"]


def test_a_siren_connects_only_as_itself_for_its_areas(tokens) -> None:
    credential, _ = tokens.add("s1", "siren", frozenset({1, 2, 3}))
    assert authorize_siren(credential, None, None) == ("s1", frozenset({1, 2, 3}))
    assert authorize_siren(credential, "s1", frozenset({2})) == ("s1", frozenset({2}))
    with pytest.raises(ForbiddenError, match="belongs to siren s1"):
        authorize_siren(credential, "s2", None)
    with pytest.raises(ForbiddenError, match="not bound to area 4"):
        authorize_siren(credential, None, frozenset({1, 4}))


def test_bearer_header() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    for bad in (None, "", "Basic abc", "Bearer", "Bearer "):
        with pytest.raises(AuthError):
            bearer_token(bad)
