"""The conditional-GET rules of redcolor.serve.conditional (RFC 9110 §13), as pure functions."""

from __future__ import annotations

import pytest

from redcolor.serve.conditional import (
    ChangeClock,
    Validators,
    etag_for,
    etag_of,
    http_date,
    is_not_modified,
    last_modified_header,
    parse_http_date,
    respond,
)

T0 = 1_780_000_000.25  # a change a quarter into a second
LATER = T0 + 10
V = Validators(etag_of(b"body"), T0)


def test_etags_are_strong_quoted_and_follow_the_content() -> None:
    assert etag_of(b"a") == etag_of(b"a") != etag_of(b"b")
    assert etag_of(b"a").startswith('"') and etag_of(b"a").endswith('"')
    assert etag_for("k3x", 41) == '"k3x-41"'
    with pytest.raises(ValueError):
        etag_for('bad"tag')


def test_change_clock_keeps_the_time_while_the_content_is_the_same() -> None:
    clock = ChangeClock()
    first = clock.validators("live", etag_of(b"x"), 100.0)
    assert clock.validators("live", etag_of(b"x"), 200.0) == first
    changed = clock.validators("live", etag_of(b"y"), 300.0)
    assert changed.modified_unix_s == 300.0 and changed.etag != first.etag
    assert clock.validators("other", etag_of(b"x"), 400.0).modified_unix_s == 400.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (V.etag, True),
        ("W/" + V.etag, True),  # weak comparison
        (f'"zzz", {V.etag}', True),
        (f'"zzz" ,W/{V.etag} ,', True),
        ('"zzz"', False),
        ("*", True),
        (V.etag.strip('"'), False),  # not an entity tag: the field is ignored
    ],
)
def test_if_none_match(header: str, expected: bool) -> None:
    assert is_not_modified("GET", {"if-none-match": header}, V, LATER) is expected
    assert is_not_modified("HEAD", {"if-none-match": header}, V, LATER) is expected


def test_if_none_match_wins_over_if_modified_since() -> None:
    fresh_date = http_date(LATER)
    assert not is_not_modified(
        "GET", {"if-none-match": '"old"', "if-modified-since": fresh_date}, V, LATER
    )
    assert is_not_modified(
        "GET", {"if-none-match": V.etag, "if-modified-since": http_date(0)}, V, LATER
    )


def test_if_modified_since() -> None:
    sent = http_date(last_modified_header(T0, LATER))
    assert is_not_modified("GET", {"if-modified-since": sent}, V, LATER)
    assert not is_not_modified("GET", {"if-modified-since": http_date(T0 - 5)}, V, LATER)
    assert not is_not_modified("GET", {"if-modified-since": "yesterday"}, V, LATER)
    assert not is_not_modified("POST", {"if-modified-since": sent}, V, LATER)
    assert not is_not_modified("POST", {"if-none-match": V.etag}, V, LATER)
    # the two obsolete formats RFC 9110 still requires a recipient to accept
    assert parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777.0
    assert parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777.0
    assert parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777.0


def test_a_change_within_the_second_a_client_saw_is_never_missed() -> None:
    """A client served during the second of a change, revalidating by date alone, must get the
    next change made within that same second."""
    served_at = T0 + 0.1
    seen = http_date(last_modified_header(T0, served_at))
    second_change = Validators(etag_of(b"second"), T0 + 0.5)
    assert not is_not_modified("GET", {"if-modified-since": seen}, second_change, T0 + 2)
    # nor, asked again within that same second, is it told the second change is its copy
    assert not is_not_modified("GET", {"if-modified-since": seen}, second_change, T0 + 0.7)
    # and once that second is over the header names it, so polling settles into 304s
    settled = http_date(last_modified_header(T0 + 0.5, T0 + 2))
    assert is_not_modified("GET", {"if-modified-since": settled}, second_change, T0 + 4)


def test_respond_200_head_and_304() -> None:
    ok = respond("GET", {}, b"[1]", "application/json", V, LATER)
    assert ok.status_code == 200 and ok.body == b"[1]"
    assert ok.headers["etag"] == V.etag
    assert parse_http_date(ok.headers["last-modified"]) == float(int(T0))
    head = respond("HEAD", {}, b"[1]", "application/json", V, LATER)
    assert head.status_code == 200 and head.body == b"" and head.headers["content-length"] == "3"
    assert head.headers["etag"] == V.etag
    again = respond("GET", {"if-none-match": V.etag}, b"[1]", "application/json", V, LATER)
    assert again.status_code == 304 and again.body == b"" and again.headers["etag"] == V.etag
