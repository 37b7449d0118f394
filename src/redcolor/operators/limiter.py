"""Login rate limit: failed logins counted per user name and per client address.

A sliding window per key: a user name with ``per_user`` failures in the last ``window_s``, or an
address with ``per_address``, is refused until the oldest of those failures leaves the window,
whatever the password (so guessing cannot go on behind the refusal). The per-name limit stops a
slow guess at one account from many addresses; the per-address one a sweep over many names from
one host. A success clears its user name's failures, not its address's: one valid account must
not reset a host's count.

The counts live in memory: a restart forgets them, and with several server processes each
counts its own (an attacker gets at most that many times the limit). Memory is bounded: each key
keeps at most its limit of timestamps, and at most ``max_keys`` keys of each kind are kept,
the least recently failed dropped first. A flood of failures from very many addresses can thus
push out the count of a name; the argon2 cost of every try still stands.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

from redcolor.errors import InputError, LimitError

MAX_KEY_CHARS = 100


class _Window:
    """Failure times per key, each key's deque capped at ``limit``, at most ``max_keys`` keys."""

    def __init__(self, limit: int, window_s: float, max_keys: int) -> None:
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after_s(self, key: str, now_unix_s: float) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        times = self._times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now_unix_s - self.window_s:
            times.popleft()
        if not times:
            del self._times[key]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window_s - now_unix_s

    def add(self, key: str, now_unix_s: float) -> None:
        times = self._times.get(key)
        if times is None:
            times = self._times[key] = deque(maxlen=self.limit)
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)
        else:
            self._times.move_to_end(key)
        times.append(now_unix_s)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def __len__(self) -> int:
        return len(self._times)


class LoginLimiter:
    """Counts failed logins; :meth:`check` before verifying, :meth:`failed` or
    :meth:`succeeded` after. Thread-safe."""

    def __init__(
        self,
        *,
        per_user: int = 5,
        per_address: int = 20,
        window_s: float = 900.0,
        max_keys: int = 20_000,
    ) -> None:
        if per_user < 1 or per_address < 1 or window_s <= 0 or max_keys < 1:
            raise InputError("login limits, window and key cap must be positive")
        self._users = _Window(per_user, window_s, max_keys)
        self._addresses = _Window(per_address, window_s, max_keys)
        self._lock = threading.Lock()

    def check(self, user: str, address: str, now_unix_s: float) -> None:
        """LimitError with ``retry_after_s`` when this name or this address is over its limit."""
        with self._lock:
            wait_s = max(
                self._users.retry_after_s(user[:MAX_KEY_CHARS], now_unix_s),
                self._addresses.retry_after_s(address[:MAX_KEY_CHARS], now_unix_s),
            )
        if wait_s > 0:
            raise LimitError(f"too many failed logins; try again in {math.ceil(wait_s)} s", wait_s)

    def failed(self, user: str, address: str, now_unix_s: float) -> None:
        with self._lock:
            self._users.add(user[:MAX_KEY_CHARS], now_unix_s)
            self._addresses.add(address[:MAX_KEY_CHARS], now_unix_s)

    def succeeded(self, user: str, address: str) -> None:
        """Forget ``user``'s failures (``address``'s stay: see the module docstring)."""
        with self._lock:
            self._users.clear(user[:MAX_KEY_CHARS])

    def tracked(self) -> tuple[int, int]:
        """How many user names and addresses are being counted (memory bound checks)."""
        with self._lock:
            return len(self._users), len(self._addresses)
