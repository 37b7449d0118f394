"""The edge's view of the leader, on a fake monotonic clock: gone after 1.5 s without a beat,
lagging once its copy stays behind the leader's last seq for more than 1 s, ok again after."""

from __future__ import annotations

from redcolor.bus.heartbeat import LeaderView
from redcolor.bus.signing import Heartbeat


def _beat(last_seq: int, log_id: str = "log1") -> Heartbeat:
    return Heartbeat(log_id, last_seq, 1, "core-a", 1.7e9)


def test_gone_after_a_second_and_a_half_without_a_heartbeat() -> None:
    view = LeaderView(started_s=100.0, log_id="log1")
    assert view.state(101.4, 0) == ("ok", None)
    state, reason = view.state(101.6, 0)
    assert state == "gone" and reason is not None and "no heartbeat yet" in reason
    view.beat(_beat(0), 101.7)
    assert view.state(102.0, 0)[0] == "ok"
    assert view.state(103.1, 0)[0] == "ok"
    assert view.state(103.3, 0)[0] == "gone"


def test_lagging_only_when_behind_for_more_than_a_second() -> None:
    view = LeaderView(started_s=0.0, log_id="log1")
    view.beat(_beat(10), 0.0)
    assert view.state(0.1, 9)[0] == "ok"  # behind since 0.1
    view.beat(_beat(10), 0.5)
    assert view.state(1.0, 9)[0] == "ok"
    view.beat(_beat(11), 1.0)
    state, reason = view.state(1.2, 9)
    assert state == "lagging" and "at seq 9, the leader at 11" in str(reason)
    assert view.state(1.3, 11) == ("ok", None)  # caught up: the clock starts again
    assert view.state(1.4, 10)[0] == "ok"
    report = view.report(1.5, 11)
    assert report["state"] == "ok" and report["node_id"] == "core-a" and report["last_seq"] == 11


def test_a_heartbeat_of_another_log_is_not_the_leader_of_this_one() -> None:
    view = LeaderView(started_s=0.0, log_id="log1")
    view.beat(_beat(3, "log2"), 0.1)
    assert view.state(0.2, 3)[0] == "foreign"
