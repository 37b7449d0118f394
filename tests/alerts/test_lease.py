"""The pure lease machine on a fake clock: campaign, renew, expiry, release, stalls, terms; and
a randomised simulation of several cores over a compare-and-swap register (slow replies,
pauses) in which two leaders never overlap."""

from __future__ import annotations

import heapq
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redcolor.alerts.lease import (
    NOBODY,
    RELEASED,
    Holding,
    Leadership,
    LeaseMachine,
    LeaseTiming,
    Write,
)
from redcolor.errors import InputError

T = LeaseTiming()


class Register:
    """A compare-and-swap register (what the KV bucket is)."""

    def __init__(self) -> None:
        self.held = NOBODY

    def write(self, write: Write) -> int | None:
        if write.last != self.held.revision:
            return None
        h = write.holding
        self.held = Holding(h.holder, h.instance, h.term, self.held.revision + 1)
        return self.held.revision


def step(m: LeaseMachine, reg: Register, now_s: float) -> None:
    """One round of the adapter with instant I/O."""
    write = m.due(now_s)
    if write is None:
        m.observe(reg.held, now_s)
        write = m.due(now_s)
    if write is not None:
        revision = reg.write(write)
        if revision is None:
            m.refused()
        else:
            m.written(write, revision, now_s)


def test_first_campaigner_leads_with_term_1_and_renews() -> None:
    reg = Register()
    a = LeaseMachine("a", "a1")
    step(a, reg, 0.0)
    assert a.is_leader(0.0) and a.term == 1 and reg.held.holder == "a"
    assert a.due(0.1) is None  # not yet time to renew
    renew = a.due(T.renew_s)
    assert renew is not None and renew.last == reg.held.revision and renew.holding.term == 1
    assert a.wait_s(0.1) == pytest.approx(T.renew_s - 0.1)


def test_leader_valid_only_until_sent_plus_valid_s() -> None:
    reg, a = Register(), LeaseMachine("a", "a1")
    step(a, reg, 10.0)
    assert a.is_leader(10.0 + T.valid_s - 1e-6)
    assert not a.is_leader(10.0 + T.valid_s)


def test_standby_takes_over_only_after_ttl_without_a_new_revision() -> None:
    reg = Register()
    a, b = LeaseMachine("a", "a1"), LeaseMachine("b", "b1")
    step(a, reg, 0.0)
    step(b, reg, 0.05)  # b first reads a's revision at 0.05
    assert not b.is_leader(0.05)
    step(b, reg, 0.05 + T.ttl_s - 0.01)
    assert reg.held.holder == "a"  # not yet expired in b's eyes
    step(b, reg, 0.05 + T.ttl_s)
    assert reg.held.holder == "b" and b.is_leader(0.05 + T.ttl_s) and b.term == 2
    assert not a.is_leader(0.05 + T.ttl_s)  # a stepped down long before (valid_s)


def test_renewals_keep_the_standby_out() -> None:
    reg = Register()
    a, b = LeaseMachine("a", "a1"), LeaseMachine("b", "b1")
    now = 0.0
    while now < 5.0:
        step(a, reg, now)
        step(b, reg, now + 0.01)
        now += 0.1
    assert reg.held.holder == "a" and a.term == 1 and not b.is_leader(now)


def test_release_lets_a_standby_take_over_at_once() -> None:
    reg = Register()
    a, b = LeaseMachine("a", "a1"), LeaseMachine("b", "b1")
    step(a, reg, 0.0)
    step(b, reg, 0.01)
    release = a.resign()
    assert release is not None and release.holding.holder == RELEASED
    assert reg.write(release) is not None and not a.is_leader(0.02)
    step(b, reg, 0.02)
    assert b.is_leader(0.02) and b.term == 2
    assert LeaseMachine("c", "c1").resign() is None  # never held: nothing to release


def test_superseded_leader_renewal_is_refused_and_it_stays_standby() -> None:
    """A leader paused past the TTL wakes, tries to renew on its old revision: refused."""
    reg = Register()
    a, b = LeaseMachine("a", "a1"), LeaseMachine("b", "b1")
    step(a, reg, 0.0)
    step(b, reg, 0.0)
    step(b, reg, T.ttl_s)  # a is paused: b takes over
    assert b.is_leader(T.ttl_s)
    woke = 5.0
    assert not a.is_leader(woke)
    write = a.due(woke)  # its own lapsed lease, as far as it knows: a new term on the old rev
    assert write is not None and reg.write(write) is None
    a.refused()
    step(a, reg, woke + 0.1)
    assert not a.is_leader(woke + 0.1) and reg.held.holder == "b"


def test_own_lapsed_lease_is_retaken_under_a_new_term() -> None:
    """A stall longer than valid_s but nobody took over: the leader retakes it (new term)."""
    reg, a = Register(), LeaseMachine("a", "a1")
    step(a, reg, 0.0)
    step(a, reg, 1.0)  # missed its renewals, lapsed at 0.95
    assert a.is_leader(1.0) and a.term == 2


def test_same_node_other_instance_waits_for_expiry() -> None:
    """A second process with the same node id does not take the live one's lease."""
    reg = Register()
    a1, a2 = LeaseMachine("a", "a1"), LeaseMachine("a", "a2")
    step(a1, reg, 0.0)
    step(a2, reg, 0.0)
    assert not a2.is_leader(0.0) and reg.held.instance == "a1"


def test_timing_and_node_id_are_checked() -> None:
    with pytest.raises(InputError, match="renew"):
        LeaseTiming(ttl_s=1.0, renew_s=0.5, valid_s=1.2)
    with pytest.raises(InputError, match="poll"):
        LeaseTiming(poll_s=0.5)
    with pytest.raises(InputError, match="node id"):
        LeaseMachine("", "x")


def test_leadership_role_and_step_down() -> None:
    now = [0.0]
    reg = Register()
    lead = Leadership(LeaseMachine("a", "a1"), lambda: now[0])
    assert lead.leading_term() is None and not lead.role().leader
    step(lead.machine, reg, 0.0)
    assert lead.leading_term() == 1 and lead.role().leader and lead.node_id == "a"
    lead.step_down()
    assert lead.leading_term() is None


# A randomised simulation: reads and writes take time (applied at the register some delay after
# they are sent, the reply seen later), nodes pause for random spells. Every node's monotonic
# clock is the simulation's own time (same rate). Two leaders must never overlap.


def _simulate(seed: int, nodes: int, until_s: float) -> tuple[list[tuple[float, str]], int]:
    """The leaders in turn (from when) and the number of new terms taken."""
    rng = random.Random(seed)
    reg = Register()
    machines = [LeaseMachine(f"n{i}", f"n{i}-1") for i in range(nodes)]
    queue: list[tuple[float, int, int]] = [(rng.uniform(0, 0.3), i, i) for i in range(nodes)]
    heapq.heapify(queue)
    order = nodes
    leaders: list[tuple[float, str]] = []
    takeovers = 0
    probes = [k * 0.01 for k in range(int(until_s / 0.01))]
    probe_at = 0
    while queue:
        now, _, i = heapq.heappop(queue)
        if now > until_s:
            break
        while probe_at < len(probes) and probes[probe_at] <= now:
            t = probes[probe_at]
            lead = [m.node_id for m in machines if m.is_leader(t)]
            assert len(lead) <= 1, f"two leaders at {t:.2f}: {lead}"
            if lead and (not leaders or leaders[-1][1] != lead[0]):
                leaders.append((t, lead[0]))
            probe_at += 1
        m = machines[i]
        if rng.random() < 0.02:  # a pause (SIGSTOP, a stall): nothing for a while
            nxt = now + rng.uniform(0.2, 3.0)
        else:
            write = m.due(now)
            there = rng.uniform(0.0, 0.15)
            back = rng.uniform(0.0, 0.15)
            if write is None:
                held = reg.held  # read applied at now + there: approximate by reading now
                m.observe(held, now + there + back)
            else:
                revision = reg.write(write)
                if revision is None:
                    m.refused()
                else:
                    takeovers += write.holding.term > m.term
                    m.written(write, revision, now)
            nxt = now + there + back + m.wait_s(now + there + back)
        order += 1
        heapq.heappush(queue, (nxt, order, i))
    return leaders, takeovers


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), nodes=st.integers(2, 4))
def test_never_two_leaders(seed: int, nodes: int) -> None:
    leaders, terms = _simulate(seed, nodes, until_s=30.0)
    assert leaders and terms >= 1  # somebody led; a takeover is a new term
