"""The login limiter: sliding windows per user name and per address, retry-after, bounds, and
one count for the cores of a group and across a restart (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from redcolor.errors import InputError, LimitError, RedcolorError
from redcolor.operators import LoginLimiter

WINDOW_S = 900.0


def _retry_after(limiter: LoginLimiter, user: str, address: str, now: float) -> float:
    with pytest.raises(LimitError) as caught:
        limiter.check(user, address, now)
    assert isinstance(caught.value, RedcolorError) and "too many failed logins" in str(caught.value)
    return caught.value.retry_after_s


def test_a_user_name_is_limited_from_any_address(store_target) -> None:
    limiter = LoginLimiter(store_target, per_user=5, per_address=20, window_s=WINDOW_S)
    for i in range(4):
        limiter.check("alice", f"10.0.0.{i}", i * 100.0)
        limiter.failed("alice", f"10.0.0.{i}", i * 100.0)
    limiter.check("alice", "10.0.0.9", 400.0)  # four failures: still allowed
    limiter.failed("alice", "10.0.0.4", 400.0)
    assert _retry_after(limiter, "alice", "10.9.9.9", 410.0) == pytest.approx(490.0)
    limiter.check("bob", "10.0.0.1", 410.0)  # another name from the same addresses is fine
    # sliding: the failure at 0 leaves the window at 900; the next then counts from 100
    limiter.check("alice", "10.0.0.9", 900.0)
    limiter.failed("alice", "10.0.0.9", 905.0)
    assert _retry_after(limiter, "alice", "10.0.0.9", 905.0) == pytest.approx(95.0)
    limiter.check("alice", "10.0.0.9", 1000.0)


def test_an_address_is_limited_whatever_the_names(store_target) -> None:
    limiter = LoginLimiter(store_target, per_user=5, per_address=20, window_s=WINDOW_S)
    for i in range(20):
        limiter.failed(f"user{i}", "203.0.113.7", 10.0 + i)
    assert _retry_after(limiter, "someone-new", "203.0.113.7", 50.0) == pytest.approx(860.0)
    limiter.check("someone-new", "198.51.100.1", 50.0)
    limiter.check("someone-new", "203.0.113.7", 910.0)


def test_success_clears_the_name_not_the_address(store_target) -> None:
    limiter = LoginLimiter(store_target, per_user=3, per_address=4, window_s=WINDOW_S)
    for _ in range(3):
        limiter.failed("alice", "10.0.0.1", 1.0)
    _retry_after(limiter, "alice", "10.0.0.2", 2.0)
    limiter.succeeded("alice", "10.0.0.1")
    limiter.check("alice", "10.0.0.2", 3.0)
    limiter.failed("mallory", "10.0.0.1", 4.0)  # the address's fourth failure
    _retry_after(limiter, "alice", "10.0.0.1", 5.0)
    limiter.succeeded("alice", "10.0.0.1")
    _retry_after(limiter, "bob", "10.0.0.1", 6.0)


def test_the_table_is_bounded_oldest_forgotten_first() -> None:
    limiter = LoginLimiter(per_user=2, per_address=2, window_s=WINDOW_S, max_rows=200)
    for i in range(1000):
        limiter.failed(f"user{i}", f"addr{i}", float(i) / 10)
    assert limiter.tracked() == (100, 100)  # two rows per failure: the newest 100 of each
    limiter.failed("user999", "addr999", 100.0)
    assert _retry_after(limiter, "user999", "elsewhere", 100.0) > 0
    limiter.failed("user0", "addr0", 100.0)  # its first failure was dropped: one in the window
    limiter.check("user0", "elsewhere", 100.0)
    limiter.failed("late", "late", 100.0 + WINDOW_S)  # the window's rows leave with its end
    assert limiter.tracked() == (1, 1)  # those at 100 s left the window at 1000 s


def test_cores_sharing_a_store_share_the_count_and_a_restart_keeps_it(store_target) -> None:
    core_a = LoginLimiter(store_target, per_user=3, per_address=20, window_s=WINDOW_S)
    core_b = LoginLimiter(store_target, per_user=3, per_address=20, window_s=WINDOW_S)
    core_a.failed("alice", "10.0.0.1", 10.0)
    core_b.failed("alice", "10.0.0.2", 11.0)
    core_a.failed("alice", "10.0.0.3", 12.0)
    assert _retry_after(core_b, "alice", "10.0.0.4", 13.0) == pytest.approx(897.0)
    core_a.close()
    restarted = LoginLimiter(store_target, per_user=3, per_address=20, window_s=WINDOW_S)
    _retry_after(restarted, "alice", "10.0.0.4", 13.0)
    core_b.succeeded("alice", "10.0.0.2")
    restarted.check("alice", "10.0.0.4", 14.0)  # a success on one core counts on all


def test_limits_must_be_positive() -> None:
    for bad in ({"per_user": 0}, {"per_address": 0}, {"window_s": 0.0}, {"max_rows": 0}):
        with pytest.raises(InputError):
            LoginLimiter(**bad)
