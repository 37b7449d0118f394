"""What an edge knows of the leader: its last signed heartbeat, and whether the edge's copy of the
log keeps up with it. A plain object fed the monotonic clock (no I/O, no loop).

The leader publishes a :class:`~redcolor.bus.signing.Heartbeat` every :data:`HEARTBEAT_S` on
core NATS (not the stream: it must get through while the stream has no quorum). An edge calls
the leader *gone* once no valid heartbeat came for :data:`GONE_AFTER_S` (three beats), and
*lagging* once its own last seq has been behind the leader's for more than :data:`LAG_AFTER_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from redcolor.bus.signing import Heartbeat

HEARTBEAT_S = 0.5
GONE_AFTER_S = 1.5
LAG_AFTER_S = 1.0
LeaderState = Literal["ok", "gone", "lagging", "foreign"]


@dataclass
class LeaderView:
    """The edge's view of the leader since ``started_s`` (monotonic seconds).

    ``log_id`` is the log the edge serves: a heartbeat of another log is counted as ``foreign``
    (another cluster's core on the same subject, or the edge's copy is of an older log).
    """

    started_s: float
    log_id: str | None = None
    gone_after_s: float = GONE_AFTER_S
    lag_after_s: float = LAG_AFTER_S
    last: Heartbeat | None = None
    heard_s: float | None = None
    behind_since_s: float | None = None

    def beat(self, heartbeat: Heartbeat, now_s: float) -> None:
        """A heartbeat whose signature held, received at ``now_s``."""
        self.last, self.heard_s = heartbeat, now_s

    def state(self, now_s: float, local_seq: int) -> tuple[LeaderState, str | None]:
        """Where the edge stands, and why in one line when it is not ``ok``."""
        since = self.started_s if self.heard_s is None else self.heard_s
        if now_s - since > self.gone_after_s:
            what = "no heartbeat yet" if self.last is None else "no heartbeat"
            return "gone", f"leader gone: {what} for {now_s - since:.1f} s"
        beat = self.last
        if beat is None:
            return "ok", None
        if self.log_id is not None and beat.log_id != self.log_id:
            return "foreign", f"the leader writes log {beat.log_id}, this edge serves {self.log_id}"
        if local_seq >= beat.last_seq:
            self.behind_since_s = None
            return "ok", None
        if self.behind_since_s is None:
            self.behind_since_s = now_s
        behind_s = now_s - self.behind_since_s
        if behind_s > self.lag_after_s:
            return "lagging", (
                f"lagging: at seq {local_seq}, the leader at {beat.last_seq}, for {behind_s:.1f} s"
            )
        return "ok", None

    def report(self, now_s: float, local_seq: int) -> dict[str, Any]:
        """The ``leader`` member of an edge's ``/health``."""
        state, reason = self.state(now_s, local_seq)
        beat = self.last
        return {
            "state": state,
            "reason": reason,
            "node_id": None if beat is None else beat.node_id,
            "term": None if beat is None else beat.term,
            "last_seq": None if beat is None else beat.last_seq,
            "heard_s_ago": None if self.heard_s is None else round(now_s - self.heard_s, 3),
        }
