"""The desk on a real store, SQLite and PostgreSQL: the two-person rule, lapses, issuing alone,
modes, drafts, areas, publication through the real lifecycle (``alerts.operate``), the audit
trail, and two cores' desks on one store (a takeover keeps the mode and what is pending)."""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
import threading
import time

import psycopg
import pytest

from redcolor.alerts.operate import operate, preview, read_open_alerts
from redcolor.alerts.store import is_postgres_url, open_store
from redcolor.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from redcolor.geo import load_areas
from redcolor.operators.audit import AuditLog
from redcolor.operators.desk import (
    MANUAL_CATEGORIES,
    Actor,
    Desk,
    DeskPolicy,
    Draft,
    parse_policy,
    templates,
)

OLGA = Actor("olga", "operator", "10.0.0.1")
SAM = Actor("sam", "supervisor", "10.0.0.2")
SUE = Actor("sue", "supervisor", "10.0.0.3")
VERA = Actor("vera", "viewer", "10.0.0.4")


@pytest.fixture(scope="module")
def areas():
    return load_areas("current")


@pytest.fixture(scope="module")
def three(areas) -> frozenset[int]:
    return frozenset(int(i) for i in areas.within_m(32.996, 35.414, 8000)[:3])


class Bench:
    """A desk over a real store, publishing through the real lifecycle."""

    def __init__(self, path, areas, policy: DeskPolicy | None = None) -> None:
        self.path, self.areas = str(path), areas
        self.shelter = {a.id: a.shelter_s for a in areas.areas}
        self.store = open_store(self.path)
        self.audit = AuditLog(path)
        self.published: list[list] = []
        self.desk = self.open(policy or DeskPolicy())

    def open(self, policy: DeskPolicy) -> Desk:
        return Desk(
            self.path,
            self.areas,
            policy,
            self.publish,
            self.audit,
            functools.partial(read_open_alerts, self.path, self.shelter),
            dry_run=lambda commands: preview(self.path, self.shelter, commands, time.time()),
        )

    def publish(self, commands):
        self.published.append(commands)
        return operate(self.path, self.shelter, commands, time.time())

    def events(self):
        return [r.decode() for r in self.store.read_since(0, 1000)]

    def actions(self) -> list[tuple[str, str]]:
        return [(r.action, r.actor) for r in self.audit.read()]

    def raw(self, sql: str, args=()) -> None:
        """One statement on the store behind the desk's back (a crash, another server)."""
        if is_postgres_url(self.path):
            with psycopg.connect(self.path, autocommit=True) as db:
                db.execute(sql.replace("?", "%s"), args)
        else:
            with sqlite3.connect(self.path) as db:
                db.execute(sql, args)


@pytest.fixture
def bench(store_target, areas):
    b = Bench(store_target, areas)
    yield b
    b.desk.close()
    b.store.close()


def issue(areas_: frozenset[int], category="missiles", **kw) -> Draft:
    return Draft(kind="issue", category=category, area_ids=areas_, **kw)


def test_an_approved_proposal_is_published_with_both_names(bench, three):
    now = time.time()
    proposal = bench.desk.propose(OLGA, issue(three), now)
    assert proposal.state == "pending" and bench.events() == []
    assert proposal.lapses_unix_s == pytest.approx(now + 300)
    done = bench.desk.approve(SAM, proposal.id, now + 1)
    assert done.state == "published" and done.decided_by == "sam"
    (event,) = bench.events()
    assert done.event_seqs == (event.seq,)
    assert event.id == f"op-{proposal.id}" == done.alert_id
    assert event.source == ("operator:olga", "approved:sam")
    assert {a.id for a in event.areas} == three and event.stage == "alert"
    assert event.status == "actual"
    assert bench.actions() == [("propose", "olga"), ("approve", "sam")]
    record = bench.audit.read()[-1]
    assert record.before["state"] == "pending" and record.after["state"] == "published"
    assert record.address == "10.0.0.2" and record.role == "supervisor"


def test_nobody_approves_their_own_proposal(bench, three):
    sup_proposal = bench.desk.propose(SAM, issue(three), time.time())
    with pytest.raises(ForbiddenError, match="another supervisor"):
        bench.desk.approve(SAM, sup_proposal.id, time.time())
    assert bench.events() == [] and bench.published == []
    assert bench.desk.get(sup_proposal.id).state == "pending"
    assert bench.actions() == [("propose", "sam"), ("approve_refused", "sam")]
    with pytest.raises(ForbiddenError, match="takes a supervisor"):
        bench.desk.approve(OLGA, sup_proposal.id, time.time())
    with pytest.raises(ForbiddenError, match="takes a operator"):
        bench.desk.propose(VERA, issue(three), time.time())
    assert bench.events() == []


def test_two_supervisors_clicking_at_once_publish_once(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def click(who: Actor) -> None:
        start.wait()
        try:
            outcomes.append(bench.desk.approve(who, proposal.id, time.time()).state)
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=click, args=(who,)) for who in (SAM, SUE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, outcomes))[-1] == "published"
    assert sum(o == "published" for o in outcomes) == 1, outcomes
    assert len(bench.events()) == 1 and len(bench.published) == 1


def test_a_claim_from_two_desks_on_one_file_is_taken_once(bench, three, areas):
    """The row-level check holds across connections (two server processes on one file)."""
    other = bench.open(DeskPolicy())
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.approve(SAM, proposal.id, time.time())
    with pytest.raises(ConflictError, match="published, not pending"):
        other.approve(SUE, proposal.id, time.time())
    assert len(bench.events()) == 1
    other.close()


def test_undecided_proposals_lapse(bench, three):
    now = time.time()
    proposal = bench.desk.propose(OLGA, issue(three), now)
    assert bench.desk.lapse_due(now + 299) == []
    (lapsed,) = bench.desk.lapse_due(now + 300)
    assert lapsed.id == proposal.id and lapsed.state == "lapsed"
    with pytest.raises(ConflictError, match="lapsed"):
        bench.desk.approve(SAM, proposal.id, now + 301)
    assert bench.events() == []
    assert bench.actions() == [("propose", "olga"), ("lapse", "system")]


def test_an_approval_after_the_lapse_time_lapses_it_instead(bench, three):
    now = time.time()
    proposal = bench.desk.propose(OLGA, issue(three), now)
    with pytest.raises(ConflictError, match="lapsed"):
        bench.desk.approve(SAM, proposal.id, now + 301)
    assert bench.events() == [] and bench.desk.get(proposal.id).state == "lapsed"


def test_reject_with_a_reason(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    with pytest.raises(InputError, match="reason"):
        bench.desk.reject(SAM, proposal.id, "  ", time.time())
    done = bench.desk.reject(SAM, proposal.id, "wrong areas", time.time())
    assert (done.state, done.reason, done.decided_by) == ("rejected", "wrong areas", "sam")
    with pytest.raises(ConflictError):
        bench.desk.approve(SUE, proposal.id, time.time())
    assert bench.events() == []


def test_issue_alone_only_for_solo_categories_then_confirmed_by_another(tmp_path, areas, three):
    bench = Bench(tmp_path / "a.db", areas, DeskPolicy(solo_categories=frozenset({"earthquake"})))
    with pytest.raises(ForbiddenError, match="may not be issued alone"):
        bench.desk.issue_alone(SAM, issue(three), time.time())
    with pytest.raises(ForbiddenError, match="takes a supervisor"):
        bench.desk.issue_alone(OLGA, issue(three, "earthquake"), time.time())
    assert bench.events() == []
    alone = bench.desk.issue_alone(SAM, issue(three, "earthquake"), time.time())
    assert alone.state == "awaiting_confirmation" and alone.decided_by is None
    (event,) = bench.events()
    assert event.category == "earthquake" and event.source == ("operator:sam",)
    with pytest.raises(ForbiddenError, match="another supervisor"):
        bench.desk.confirm(SAM, alone.id, time.time())
    confirmed = bench.desk.confirm(SUE, alone.id, time.time())
    assert confirmed.state == "confirmed" and confirmed.decided_by == "sue"
    assert bench.actions() == [
        ("issue_alone", "sam"),
        ("confirm_refused", "sam"),
        ("confirm", "sue"),
    ]
    assert len(bench.events()) == 1


def test_exercise_mode_makes_every_manual_alert_an_exercise(bench, three):
    with pytest.raises(ForbiddenError):
        bench.desk.set_mode(OLGA, "exercise", time.time())
    assert bench.desk.set_mode(SAM, "exercise", time.time()) == "exercise"
    assert bench.desk.mode() == "exercise"
    reopened = bench.open(DeskPolicy())
    assert reopened.mode() == "exercise"  # kept in the file
    reopened.close()
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    assert proposal.draft.exercise
    bench.desk.approve(SAM, proposal.id, time.time())
    (event,) = bench.events()
    assert event.status == "exercise" and event.category == "missiles"
    mode = bench.audit.read()[0]
    assert (mode.action, mode.before, mode.after) == ("mode", "live", "exercise")


def test_a_drill_is_always_an_exercise(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three, "drill"), time.time())
    assert proposal.draft.exercise and bench.desk.mode() == "live"
    bench.desk.approve(SAM, proposal.id, time.time())
    assert bench.events()[0].status == "exercise"


def test_in_exercise_mode_a_real_alert_may_be_ended_but_not_widened(bench, three, areas):
    first = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.approve(SAM, first.id, time.time())
    bench.desk.set_mode(SAM, "exercise", time.time())
    more = frozenset(int(i) for i in areas.within_m(32.08, 34.78, 3000)[:1])
    with pytest.raises(ConflictError, match="EXERCISE mode"):
        bench.desk.propose(OLGA, Draft(kind="update", alert_id=first.alert_id, area_ids=more), 0)
    end = bench.desk.propose(OLGA, Draft(kind="cancel", alert_id=first.alert_id), time.time())
    bench.desk.approve(SUE, end.id, time.time())
    assert [e.stage for e in bench.events()] == ["alert", "cancelled"]


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (Draft(kind="issue", category="pre_alert", area_ids=frozenset({1})), "category must"),
        (Draft(kind="issue", category="all_clear", area_ids=frozenset({1})), "category must"),
        (Draft(kind="issue", category="missiles"), "at least one area"),
        (Draft(kind="issue", category="missiles", area_ids=frozenset({999_999})), "unknown area"),
        (
            Draft(kind="issue", category="missiles", area_ids=frozenset({1}), expires_in_s=5),
            "expires_in_s",
        ),
        (
            Draft(kind="issue", category="missiles", area_ids=frozenset({1}), template="x.y"),
            "unknown template",
        ),
        (
            Draft(kind="issue", category="missiles", area_ids=frozenset({1}), alert_id="a"),
            "names no alert_id",
        ),
        (Draft(kind="cancel"), "needs alert_id"),
        (Draft(kind="update", alert_id="x", category="missiles"), "no category"),
    ],
)
def test_bad_drafts_are_refused_in_one_line(bench, three, draft, message):
    if draft.area_ids == {1}:  # a real area, so only the flaw named is wrong
        draft = dataclasses.replace(draft, area_ids=three)
    with pytest.raises(InputError, match=message):
        bench.desk.propose(OLGA, draft, time.time())
    assert bench.desk.proposals() == []


def test_every_manual_category_can_be_proposed(bench, three):
    assert set(MANUAL_CATEGORIES) == {
        "missiles", "hostile_aircraft", "earthquake", "tsunami", "infiltration", "hazmat",
        "radiological", "general", "drill",
    }  # fmt: skip
    for category in MANUAL_CATEGORIES:
        bench.desk.propose(OLGA, issue(three, category), time.time())
    assert len(bench.desk.proposals(states=["pending"])) == len(MANUAL_CATEGORIES)


def test_changes_to_an_alert_that_is_not_open(bench, three):
    with pytest.raises(NotFoundError, match="no open alert"):
        bench.desk.propose(OLGA, Draft(kind="end", alert_id="op-nothing"), time.time())


def test_a_publish_that_fails_leaves_the_proposal_pending(bench, three):
    first = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.approve(SAM, first.id, time.time())
    end_a = bench.desk.propose(OLGA, Draft(kind="end", alert_id=first.alert_id), time.time())
    end_b = bench.desk.propose(OLGA, Draft(kind="cancel", alert_id=first.alert_id), time.time())
    bench.desk.approve(SAM, end_a.id, time.time())
    seqs = len(bench.events())
    with pytest.raises(ConflictError, match=r"not published: .*stays pending"):
        bench.desk.approve(SUE, end_b.id, time.time())
    assert bench.desk.get(end_b.id).state == "pending"
    assert len(bench.events()) == seqs


def test_update_end_and_template(bench, three, areas):
    key = "hazmat.alert"
    assert key in templates() and set(templates()[key]["text"]) == {"he", "en", "ar", "ru"}
    first = bench.desk.propose(OLGA, issue(three, "hazmat", template="general.alert"), time.time())
    bench.desk.approve(SAM, bench.desk.proposals()[0].id, time.time())
    (made,) = bench.events()
    assert made.instructions == templates()["general.alert"]["text"]
    more = frozenset(int(i) for i in areas.within_m(32.08, 34.78, 3000)[:2])
    drop = frozenset(sorted(three)[:1])
    update = Draft(kind="update", alert_id=first.alert_id, area_ids=more, remove_area_ids=drop)
    bench.desk.approve(SUE, bench.desk.propose(OLGA, update, time.time()).id, time.time())
    stages = [(e.stage, {a.id for a in e.areas}) for e in bench.events()[1:]]
    assert ("alert", set(more)) in stages and ("ended", set(drop)) in stages
    (open_,) = bench.desk.open_alerts()
    assert {a.id for a in open_.areas} == (three - drop) | more


def test_kinds_outside_approval_are_published_at_once(tmp_path, areas, three):
    policy = parse_policy(120.0, None, "issue,update,end")
    bench = Bench(tmp_path / "b.db", areas, policy)
    first = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.approve(SAM, first.id, time.time())
    cancel = bench.desk.propose(OLGA, Draft(kind="cancel", alert_id=first.alert_id), time.time())
    assert cancel.state == "published" and cancel.decided_by == "olga"
    assert [e.stage for e in bench.events()] == ["alert", "cancelled"]
    assert bench.events()[-1].source == ("operator:olga",)
    assert bench.actions()[-2:] == [("propose", "olga"), ("cancel", "olga")]


def test_a_claim_left_by_a_crash_is_pending_again(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    bench.raw("UPDATE proposals SET state = 'publishing' WHERE id = ?", (proposal.id,))
    with pytest.raises(ConflictError, match="being published"):
        bench.desk.approve(SAM, proposal.id, time.time())
    reopened = bench.open(DeskPolicy())
    assert reopened.get(proposal.id).state == "pending"
    reopened.approve(SAM, proposal.id, time.time())
    reopened.close()
    assert len(bench.events()) == 1


def test_resolve_areas_by_zone_polygon_and_name(bench, areas):
    some = areas.areas[100]
    zone = some.zone_en
    by_zone = bench.desk.resolve_areas(zones=[zone.upper()])
    assert some.id in by_zone and all(areas.get(i).zone_en == zone for i in by_zone)
    by_name = bench.desk.resolve_areas(names=[some.name_en[:5]])
    assert some.id in by_name
    lon, lat = some.lon, some.lat
    square = [[lon - 0.001, lat - 0.001], [lon + 0.001, lat - 0.001], [lon + 0.001, lat + 0.001],
              [lon - 0.001, lat + 0.001], [lon - 0.001, lat - 0.001]]  # fmt: skip
    assert some.id in bench.desk.resolve_areas(polygon={"type": "Polygon", "coordinates": [square]})
    with pytest.raises(InputError, match="no zone"):
        bench.desk.resolve_areas(zones=["Atlantis"])
    with pytest.raises(InputError, match="covers no alert area"):
        sea = [[-30, 10], [-29, 10], [-29, 11], [-30, 11], [-30, 10]]
        bench.desk.resolve_areas(polygon={"type": "Polygon", "coordinates": [sea]})
    with pytest.raises(InputError, match="polygon"):
        bench.desk.resolve_areas(polygon={"type": "Polygon", "coordinates": [[[0, 0]]]})


def test_preview_uses_the_channels_encoders(bench, three):
    preview = bench.desk.preview(issue(three, "earthquake", expires_in_s=600), time.time())
    assert preview["live_file"]["cat"] == "3" and len(preview["live_file"]["data"]) == 3
    assert "<status>Actual</status>" in preview["cap"][0]
    assert preview["sirens"] == {"sent": True, "activate": sorted(three), "stop": []}
    assert preview["areas_count"] == 3 and set(preview["push"]["text"]) == {"he", "en", "ar", "ru"}
    shelter = [bench.areas.get(i).shelter_s for i in three]
    assert preview["shelter_s"]["min"] == min(shelter) and preview["shelter_s"]["max"] == max(
        shelter
    )
    drill = bench.desk.preview(issue(three, "drill"), time.time())
    assert "<status>Exercise</status>" in drill["cap"][0]
    assert drill["sirens"]["sent"] is False and drill["push"]["sent"] is False
    assert drill["push"]["text"]["en"].startswith("EXERCISE")
    assert bench.events() == [] and bench.desk.proposals() == []


def test_policy_flags_are_checked():
    assert parse_policy(60, "earthquake,tsunami", None).solo_categories == {"earthquake", "tsunami"}
    for args, message in (
        ((5, None, None), "--lapse-s"),
        ((60, "volcano", None), "--solo-categories"),
        ((60, None, "update,end"), "must keep issue"),
        ((60, None, "issue,,end"), "--approval-for"),
        ((60, None, "issue,erase"), "--approval-for"),
    ):
        with pytest.raises(InputError, match=message):
            parse_policy(*args)


def test_a_real_proposal_is_not_published_after_a_switch_to_exercise(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    assert not proposal.draft.exercise
    bench.desk.set_mode(SUE, "exercise", time.time())
    with pytest.raises(ConflictError, match="EXERCISE mode"):
        bench.desk.approve(SAM, proposal.id, time.time())
    assert bench.events() == [] and bench.desk.get(proposal.id).state == "pending"
    bench.desk.set_mode(SUE, "live", time.time())
    bench.desk.approve(SAM, proposal.id, time.time())
    assert bench.events()[0].status == "actual"


def test_preview_of_a_cancel_is_the_lifecycles_own_dry_run(bench, three):
    first = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.approve(SAM, first.id, time.time())
    stored = len(bench.events())
    preview = bench.desk.preview(Draft(kind="cancel", alert_id=first.alert_id), time.time())
    assert preview["events"] == [
        {"stage": "cancelled", "area_ids": sorted(three), "category": "missiles"}
    ]
    assert preview["live_file"] is None  # its areas leave the live file at once
    assert "<msgType>Cancel</msgType>" in preview["cap"][0]
    assert preview["sirens"]["stop"] == sorted(three) and preview["sirens"]["activate"] == []
    assert "sent in error" in preview["push"]["text"]["en"]
    assert len(bench.events()) == stored  # nothing written
    with pytest.raises(ConflictError):  # the lifecycle refuses what changes nothing
        bench.desk.preview(
            Draft(kind="update", alert_id=first.alert_id, area_ids=three), time.time()
        )


def test_two_cores_on_one_store_share_the_mode_and_what_is_pending(bench, three):
    """A standby's desk on the leader's store (PostgreSQL: the group's; SQLite: one file): the
    mode set on one is the other's, and what was pending on the leader is approved on the
    core that takes over."""
    core_b = bench.open(DeskPolicy())
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    bench.desk.set_mode(SAM, "exercise", time.time())
    assert core_b.mode() == "exercise"
    assert [p.id for p in core_b.proposals(states=["pending"])] == [proposal.id]
    bench.desk.close()  # the leader is gone
    with pytest.raises(ConflictError, match="now in EXERCISE mode"):  # the mode it left
        core_b.approve(SUE, proposal.id, time.time())
    core_b.set_mode(SUE, "live", time.time())
    done = core_b.approve(SUE, proposal.id, time.time())
    assert done.state == "published" and [e.status for e in bench.events()] == ["actual"]
    assert bench.actions()[-2:] == [("mode", "sue"), ("approve", "sue")]
    core_b.close()


def test_a_desk_opening_leaves_another_cores_young_claim_alone(bench, three):
    proposal = bench.desk.propose(OLGA, issue(three), time.time())
    claim = "UPDATE proposals SET state = 'publishing', decided_unix_s = ? WHERE id = ?"
    bench.raw(claim, (time.time(), proposal.id))  # the leader publishing it this moment
    standby = bench.open(DeskPolicy())
    assert standby.get(proposal.id).state == "publishing"
    standby.close()
    bench.raw(claim, (time.time() - 61.0, proposal.id))  # a crash left it a minute ago
    restarted = bench.open(DeskPolicy())
    assert restarted.get(proposal.id).state == "pending"
    assert restarted.approve(SAM, proposal.id, time.time()).state == "published"
    restarted.close()
    assert len(bench.events()) == 1
