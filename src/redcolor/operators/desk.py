"""The operator desk: manual alerts under the two-person rule, as a core with no HTTP in it.

An operator *proposes* a :class:`Draft` (issue a manual alert, or update, end or cancel any open
alert); a *different* supervisor approves it and only then is it published, through the
injected ``publish`` (the server's: :func:`redcolor.alerts.operate.operate`, which writes the
events with the lifecycle's checkpoint). A proposal not decided within ``DeskPolicy.lapse_s``
lapses. Where the policy allows, a supervisor issues an alert of a named category alone (an
emergency): it is published at once and stays ``awaiting_confirmation`` until another
supervisor confirms it; and kinds the policy does not put under approval are published at
once on an operator's own request.

Why the rule lives here and not in the routes: the routes only say who is calling; what that
person may do, and that nobody approves their own proposal, is decided in one place that the
tests drive directly as well as over HTTP.

Proposals live in the ``proposals`` table of the event store (their own connection): the
server's SQLite file, or with ``--store`` the PostgreSQL database its cores share, so a proposal
made on the leader is still pending, and can be approved, on the core that takes over from it.
An approval *claims* its row (``pending`` -> ``publishing``, only if still pending, in one
statement), publishes, then records ``published``; so two supervisors clicking at once, on one
core or two, publish once: the second finds the row taken and gets a ConflictError. A publish that
fails (the alert ended meanwhile: NotFoundError, ConflictError, InputError from the
lifecycle's checks) puts the row back to ``pending`` and answers a ConflictError saying why. A
row left ``publishing`` by a crash is put back to ``pending`` when a desk opens, if the claim is
older than :data:`CLAIM_STALE_S` (a younger one is another core's, publishing): publishing it
again is safe, since a manual alert's id is fixed by its proposal (``op-<id>``) and the
lifecycle refuses an id in use, an end of an ended alert and an update that changes nothing.

The server's mode (``live`` or ``exercise``) is kept in the same store, so every core of a
group has the one mode: a standby left in EXERCISE mode by an old drill cannot turn the manual
alerts after a takeover into exercises (no sirens), nor one in LIVE mode a drill into a real
alert. In EXERCISE mode every
manual alert is an exercise, and an update of a real alert is refused (ending or cancelling
one never is: stopping a false alarm must never wait for a mode switch). Every change of
state here appends an audit record (who, role, address, before, after).
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from redcolor.alerts.commands import (
    CancelAlert,
    Command,
    EndAlert,
    IssueAlert,
    OpenAlert,
    UpdateAlert,
)
from redcolor.alerts.instructions import TEMPLATES
from redcolor.channels import cap, oref
from redcolor.channels.active import ActiveAlerts
from redcolor.channels.sirens import SirenBoard
from redcolor.errors import (
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
)
from redcolor.model import (
    CATEGORIES,
    LANGUAGES,
    AlertArea,
    AlertEvent,
    Category,
    Stage,
)
from redcolor.operators.audit import AuditLog
from redcolor.operators.tables import open_statements
from redcolor.operators.users import role_at_least

Kind = Literal["issue", "update", "end", "cancel"]
KINDS: tuple[Kind, ...] = get_args(Kind)
ProposalState = Literal[
    "pending", "published", "rejected", "lapsed", "awaiting_confirmation", "confirmed"
]
PROPOSAL_STATES: tuple[ProposalState, ...] = get_args(ProposalState)
Mode = Literal["live", "exercise"]
MODES: tuple[Mode, ...] = get_args(Mode)
ManualStage = Literal["pre_alert", "alert"]
MANUAL_STAGES: tuple[ManualStage, ...] = get_args(ManualStage)
MANUAL_CATEGORIES: tuple[Category, ...] = tuple(
    c for c in CATEGORIES if c not in ("pre_alert", "all_clear")
)
"""What a person may issue: every category of the model but the two that are stages in
disguise (the feed's pre-alert and all-clear)."""
MIN_EXPIRES_IN_S = 60.0
MAX_EXPIRES_IN_S = 7 * 86_400.0
"""A manual alert's expiry lies 1 minute to 7 days ahead (or it has none: open until ended)."""
MAX_REASON_CHARS = 500
MAX_SEARCH_TERMS = 50
_PUBLISHING = "publishing"
"""The internal state of a row between its claim and its publication (never shown)."""
_SYSTEM = ("system", "system", "server")
"""Actor name, role and address of what the desk does by itself (lapses)."""


@dataclass(frozen=True)
class Actor:
    """Who asks: a user's name and role, and the address the request came from."""

    name: str
    role: str
    address: str


@dataclass(frozen=True)
class Draft:
    """What an operator proposes. ``area_ids``: the areas of an issue, the areas an update adds,
    the areas an end releases (empty: every area of the alert); ``remove_area_ids``: the areas
    an update releases. ``template`` names an instruction template (:func:`templates`); none
    takes the prepared texts of the category and stage."""

    kind: Kind
    alert_id: str | None = None
    category: Category | None = None
    stage: ManualStage | None = None
    area_ids: frozenset[int] = frozenset()
    remove_area_ids: frozenset[int] = frozenset()
    template: str | None = None
    expires_in_s: float | None = None
    exercise: bool = False

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["area_ids"] = sorted(self.area_ids)
        out["remove_area_ids"] = sorted(self.remove_area_ids)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Draft:
        values = dict(data)
        values["area_ids"] = frozenset(values.get("area_ids") or ())
        values["remove_area_ids"] = frozenset(values.get("remove_area_ids") or ())
        return cls(**values)


@dataclass(frozen=True)
class Proposal:
    """One proposal and what became of it. ``decided_by`` approved, rejected or (for an alert
    issued alone) confirmed it; ``alert_id`` is the alert it made or changes; ``event_seqs``
    the events its publication stored; ``reason`` why it was rejected. While an approval is
    being published (a moment) a listing shows its state as ``publishing``."""

    id: str
    draft: Draft
    proposer: str
    created_unix_s: float
    lapses_unix_s: float | None
    state: ProposalState
    decided_by: str | None = None
    decided_unix_s: float | None = None
    alert_id: str | None = None
    event_seqs: tuple[int, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["draft"] = self.draft.to_json()
        out["event_seqs"] = list(self.event_seqs)
        return out


@dataclass(frozen=True)
class DeskPolicy:
    """How strict the desk is. Kinds not in ``approval_for`` are published at once by an
    operator's own request; ``solo_categories`` a supervisor may issue alone (then another
    supervisor confirms afterwards)."""

    lapse_s: float = 300.0
    solo_categories: frozenset[Category] = frozenset()
    approval_for: frozenset[Kind] = frozenset(KINDS)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lapse_s) and 10.0 <= self.lapse_s <= 86_400.0):
            raise InputError(f"--lapse-s must be 10 to 86400 s, got {self.lapse_s:g}")
        unknown = sorted(set(self.solo_categories) - set(MANUAL_CATEGORIES))
        if unknown:
            raise InputError(
                f"--solo-categories: unknown category {unknown[0]!r}; expected some of "
                + ",".join(MANUAL_CATEGORIES)
            )
        kinds = sorted(set(self.approval_for) - set(KINDS))
        if kinds:
            raise InputError(
                f"--approval-for: unknown kind {kinds[0]!r}; expected some of {','.join(KINDS)}"
            )


class DeskArea(Protocol):
    """What the desk and the server need of an alert area (``redcolor.geo`` areas have it)."""

    @property
    def id(self) -> int: ...
    @property
    def value(self) -> str: ...
    @property
    def name_he(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def shelter_s(self) -> int: ...
    @property
    def polygon(self) -> Any: ...


class DeskAreas(Protocol):
    @property
    def areas(self) -> tuple[DeskArea, ...]: ...
    def get(self, area_id: int) -> DeskArea: ...


Publish = Callable[[list[Command]], list[AlertEvent]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    draft TEXT NOT NULL,
    proposer TEXT NOT NULL,
    created_unix_s {time} NOT NULL,
    lapses_unix_s {time},
    state TEXT NOT NULL,
    decided_by TEXT,
    decided_unix_s {time},
    alert_id TEXT,
    event_seqs TEXT NOT NULL DEFAULT '[]',
    reason TEXT
);
CREATE INDEX IF NOT EXISTS proposals_state ON proposals (state, created_unix_s);
CREATE TABLE IF NOT EXISTS desk_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
"""The desk's tables; ``{time}`` a unix time's column type (PostgreSQL's REAL is 4 bytes)."""
CLAIM_STALE_S = 60.0
"""A claim older than this when a desk opens was left by a crash (a publication takes
milliseconds, and a store that does not answer fails it within its connect timeout, 5 s)."""
_COLUMNS = (
    "id, draft, proposer, created_unix_s, lapses_unix_s, state, decided_by, decided_unix_s,"
    " alert_id, event_seqs, reason"
)


def templates() -> dict[str, dict[str, Any]]:
    """The instruction templates an operator picks from (``alerts.instructions.TEMPLATES`` of
    the manual categories and stages), keyed ``<category>.<stage>``."""
    return {
        key: {"category": t.category, "stage": t.stage, "text": dict(t.text)}
        for key, t in TEMPLATES.items()
        if t.category in MANUAL_CATEGORIES and t.stage in MANUAL_STAGES
    }


def zone_names(areas: DeskAreas) -> list[str]:
    """Every zone of the area index (English names, sorted), for the zone picker."""
    return sorted({z for a in areas.areas if (z := getattr(a, "zone_en", ""))})


def _open_areas(alert: OpenAlert) -> dict[int, str]:
    return {a.id: a.stage for a in alert.areas}


class Desk:
    """The two-person workflow over one store file; see the module docstring.

    ``open_alerts`` reads the open alerts (the server's: ``alerts.operate.read_open_alerts``);
    ``dry_run`` makes the events commands would make now without writing them (the server's:
    ``alerts.operate.preview``), which the preview renders and a proposal is checked with;
    ``exercise_channels`` are the public channels an exercise still reaches (the server's
    ``--exercise-to``), ``cap_sender`` the CAP sender; both only shape the preview.
    """

    def __init__(
        self,
        path: str | Path,
        areas: DeskAreas,
        policy: DeskPolicy,
        publish: Publish,
        audit: AuditLog,
        open_alerts: Callable[[], list[OpenAlert]],
        *,
        dry_run: Publish,
        exercise_channels: frozenset[str] = frozenset(),
        cap_sender: str = cap.DEFAULT_SENDER,
    ) -> None:
        self.path = str(path)
        self.areas = areas
        self.policy = policy
        self._publish = publish
        self.audit = audit
        self._open_alerts = open_alerts
        self._dry_run = dry_run
        self.exercise_channels = exercise_channels
        self.cap_sender = cap_sender
        self._area_ids = frozenset(a.id for a in areas.areas)
        self._lock = threading.RLock()  # a read and the write it decides are not interleaved
        self._db = open_statements(
            self.path,
            _SCHEMA.format(time="REAL"),
            _SCHEMA.format(time="DOUBLE PRECISION"),
            "proposals table",
        )
        # A claim a crash left behind: publishing again is safe (see the module docstring). A
        # young one is another core's, publishing now on the same store.
        self._db.execute(
            "UPDATE proposals SET state = 'pending', decided_unix_s = NULL"
            " WHERE state = ? AND coalesce(decided_unix_s, 0) < ?",
            (_PUBLISHING, time.time() - CLAIM_STALE_S),
        )

    def close(self) -> None:
        self._db.close()

    # ---------------------------------------------------------------- reading

    def mode(self) -> Mode:
        """``live`` (manual alerts are real unless marked an exercise) or ``exercise``."""
        row = self._db.execute("SELECT value FROM desk_settings WHERE name = 'mode'").fetchone()
        return "exercise" if row is not None and row[0] == "exercise" else "live"

    def proposals(self, *, states: Iterable[str] | None = None, limit: int = 200) -> list[Proposal]:
        """Proposals newest first, of ``states`` (None: all)."""
        if not 1 <= limit <= 1000:
            raise InputError(f"limit must be 1 to 1000, got {limit}")
        wanted = None if states is None else list(states)
        for s in wanted or ():
            if s not in PROPOSAL_STATES:
                raise InputError(
                    f"unknown state {s[:40]!r}: expected one of " + ", ".join(PROPOSAL_STATES)
                )
        where, args = "", []
        if wanted is not None:
            where = f"WHERE state IN ({','.join('?' * len(wanted))})"
            args = wanted
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM proposals {where} ORDER BY created_unix_s DESC, id LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_row(r) for r in rows]

    def get(self, proposal_id: str) -> Proposal:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no proposal {proposal_id[:40]!r}")
        return _row(row)

    def open_alerts(self) -> list[OpenAlert]:
        return self._open_alerts()

    # ---------------------------------------------------------------- areas

    def resolve_areas(
        self,
        *,
        area_ids: Iterable[int] = (),
        zones: Iterable[str] = (),
        polygon: Mapping[str, Any] | None = None,
        names: Iterable[str] = (),
    ) -> frozenset[int]:
        """The union of the areas named by id, by zone (any language's name), overlapping a
        GeoJSON polygon (sharing more than a border), and by name search (a case-blind
        substring of any of the area's names or its feed value). A zone, polygon or name that
        finds nothing is an InputError naming it (an operator must not believe an area is in
        that is not)."""
        found = set(self.check_area_ids(area_ids))
        zones, names = list(zones), list(names)
        if len(zones) + len(names) > MAX_SEARCH_TERMS:
            raise InputError(f"at most {MAX_SEARCH_TERMS} zones and names at once")
        for zone in zones:
            wanted = zone.strip().casefold()
            hits = {
                a.id
                for a in self.areas.areas
                if wanted
                and any(
                    str(getattr(a, f"zone_{lang}", "")).casefold() == wanted for lang in LANGUAGES
                )
            }
            if not hits:
                raise InputError(f"no zone named {zone[:60]!r}")
            found |= hits
        if polygon is not None:
            shape_ = _polygon(polygon)
            hits = {
                a.id
                for a in self.areas.areas
                if (a.polygon is not None and _overlaps(shape_, a.polygon))
                or (a.polygon is None and shape_.covers(_point(a.lon, a.lat)))
            }
            if not hits:
                raise InputError("the polygon covers no alert area")
            found |= hits
        for name in names:
            wanted = name.strip().casefold()
            if len(wanted) < 2:
                raise InputError(f"search for at least 2 characters, not {name[:20]!r}")
            hits = {a.id for a in self.areas.areas if wanted in _names(a)}
            if not hits:
                raise InputError(f"no area name contains {name[:60]!r}")
            found |= hits
        return frozenset(found)

    def check_area_ids(self, ids: Iterable[int]) -> frozenset[int]:
        out = frozenset(ids)
        unknown = sorted(out - self._area_ids)
        if unknown:
            raise InputError(f"unknown area id {unknown[0]}")
        return out

    # ---------------------------------------------------------------- drafts

    def check_draft(self, draft: Draft) -> Draft:
        """``draft`` as it would be published (exercise forced where it must be), or an error
        saying what is wrong with it: InputError for a malformed draft, NotFoundError for an
        alert that is not open, ConflictError for a change the mode forbids."""
        if draft.kind not in KINDS:
            raise InputError(f"unknown kind {str(draft.kind)[:20]!r}: expected {', '.join(KINDS)}")
        self.check_area_ids(draft.area_ids | draft.remove_area_ids)
        if draft.kind == "issue":
            return self._check_issue(draft)
        if draft.category is not None or draft.stage is not None:
            raise InputError(f"a {draft.kind} names no category or stage: the alert has them")
        if draft.template is not None or draft.expires_in_s is not None:
            raise InputError(f"a {draft.kind} takes no template or expiry")
        if not draft.alert_id:
            raise InputError(f"a {draft.kind} needs alert_id: the open alert it changes")
        target = self._open(draft.alert_id)
        areas = _open_areas(target)
        exercise = target.status == "exercise" or target.category == "drill"
        if draft.kind == "update":
            if not draft.area_ids and not draft.remove_area_ids:
                raise InputError("an update adds or removes at least one area")
            if draft.area_ids & draft.remove_area_ids:
                raise InputError("an update cannot both add and remove the same area")
            outside = sorted(draft.remove_area_ids - areas.keys())
            if outside:
                raise InputError(f"area {outside[0]} is not under alert {draft.alert_id}")
            if not exercise and self.mode() == "exercise" and draft.area_ids:
                raise ConflictError(
                    "the server is in EXERCISE mode: areas cannot be added to a real alert"
                    " (switch to LIVE first)"
                )
        elif draft.remove_area_ids:
            raise InputError(f"a {draft.kind} takes no remove_area_ids")
        elif draft.kind == "end":
            outside = sorted(draft.area_ids - areas.keys())
            if outside:
                raise InputError(f"area {outside[0]} is not under alert {draft.alert_id}")
        elif draft.area_ids:
            raise InputError("a cancel takes no areas: every area of the alert is cancelled")
        return replace(draft, exercise=exercise)

    def _check_issue(self, draft: Draft) -> Draft:
        if draft.alert_id is not None:
            raise InputError("an issue names no alert_id: the desk chooses it")
        if draft.category not in MANUAL_CATEGORIES:
            raise InputError(
                f"category must be one of {', '.join(MANUAL_CATEGORIES)},"
                f" not {str(draft.category)[:30]!r}"
            )
        stage = draft.stage or "alert"
        if stage not in MANUAL_STAGES:
            raise InputError(f"stage must be pre_alert or alert, not {str(stage)[:20]!r}")
        if not draft.area_ids:
            raise InputError("an alert needs at least one area")
        if draft.remove_area_ids:
            raise InputError("an issue takes no remove_area_ids")
        if draft.template is not None and draft.template not in templates():
            raise InputError(f"unknown template {draft.template[:60]!r}")
        if draft.expires_in_s is not None and not (
            math.isfinite(draft.expires_in_s)
            and MIN_EXPIRES_IN_S <= draft.expires_in_s <= MAX_EXPIRES_IN_S
        ):
            raise InputError(
                f"expires_in_s must be {MIN_EXPIRES_IN_S:g} to {MAX_EXPIRES_IN_S:g} s (or none)"
            )
        exercise = draft.exercise or draft.category == "drill" or self.mode() == "exercise"
        return replace(draft, stage=stage, exercise=exercise)

    def _open(self, alert_id: str) -> OpenAlert:
        for alert in self._open_alerts():
            if alert.alert_id == alert_id:
                return alert
        raise NotFoundError(f"no open alert {alert_id[:60]!r}")

    # ---------------------------------------------------------------- preview

    def preview(self, draft: Draft, now_unix_s: float) -> dict[str, Any]:
        """What each channel would carry if ``draft`` were published now, made by the channels'
        own encoders from the events it would produce: the live file (JSON body, or none when
        its areas leave it), the CAP documents, the Web Push text per language, the sirens
        (area ids activated and stopped), the number of areas and their shelter times."""
        draft = self.check_draft(draft)
        target = None if draft.kind == "issue" else self._open(str(draft.alert_id))
        events = self._events(draft, now_unix_s)
        view = ActiveAlerts()
        board = SirenBoard()
        seeds = self._seed(target, now_unix_s)
        for seed in seeds:
            view.apply(seed)
            board.on_event(seed, now_unix_s)
        board.connect("preview", self._area_ids, now_unix_s)
        for event in events:
            view.apply(event)
        sirens: dict[str, list[int]] = {"activate": [], "stop": []}
        for event in events:
            for command in board.on_event(event, now_unix_s):
                sirens[command.action].append(command.area_id)
        value = self.areas.get
        live = oref.live_file(view.areas(now_unix_s), lambda i: value(i).value, log_id="preview")
        touched = sorted({a.id for e in events for a in e.areas})
        shelter = [self.areas.get(i).shelter_s for i in touched]
        public = not draft.exercise
        return {
            "draft": draft.to_json(),
            "mode": self.mode(),
            "exercise": draft.exercise,
            "events": [
                {"stage": e.stage, "area_ids": [a.id for a in e.areas], "category": e.category}
                for e in events
            ],
            "live_file": json.loads(live) if live else None,
            "cap": [
                cap.cap_document(
                    m, self.areas.get, cap.CapIdentity(sender=self.cap_sender)
                ).decode()
                for m in cap.cap_thread([*seeds, *events])[len(seeds) :]
            ],
            "push": {
                "sent": public or "push" in self.exercise_channels,
                "text": {lang: events[-1].instructions.get(lang, "") for lang in LANGUAGES},
            },
            "sirens": {
                "sent": public or "sirens" in self.exercise_channels,
                "activate": sorted(sirens["activate"]),
                "stop": sorted(sirens["stop"]),
            },
            "areas_count": len(touched),
            "shelter_s": {
                "min": min(shelter, default=None),
                "max": max(shelter, default=None),
                "histogram": {str(k): v for k, v in sorted(Counter(shelter).items())},
            },
        }

    def _seed(self, target: OpenAlert | None, now_unix_s: float) -> list[AlertEvent]:
        """The open alert as events (its pre-alerted, then its sheltering areas), so the
        preview's views start where the channels are."""
        if target is None:
            return []
        stages = _open_areas(target)
        out = []
        for stage in MANUAL_STAGES:
            ids = [i for i, s in stages.items() if s == stage]
            if ids:
                out.append(self._event(target, stage, ids, now_unix_s))
        return out

    def _event(
        self, target: OpenAlert, stage: Stage, area_ids: Iterable[int], now_unix_s: float
    ) -> AlertEvent:
        """Part of an open alert as an event (for the preview's starting views only)."""
        return AlertEvent(
            id=target.alert_id,
            seq=0,
            category=target.category,
            stage=stage,
            areas=tuple(AlertArea(i, self.areas.get(i).shelter_s) for i in sorted(area_ids)),
            issued_at_unix_s=now_unix_s,
            expires_at_unix_s=target.expires_unix_s,
            source=target.source,
            instructions={},
            status=target.status,
        )

    def _events(self, draft: Draft, now_unix_s: float) -> list[AlertEvent]:
        """The events publishing ``draft`` now would make, as the lifecycle makes them (its
        dry run: nothing written); the lifecycle's error if it would refuse them."""
        alert_id = draft.alert_id if draft.kind != "issue" else "op-preview"
        return self._dry_run([_command(draft, str(alert_id), ("operator:preview",), now_unix_s)])

    # ---------------------------------------------------------------- writing

    def propose(self, actor: Actor, draft: Draft, now_unix_s: float) -> Proposal:
        """Record ``draft`` for a supervisor to decide (state ``pending``); when the policy
        puts its kind under no approval, publish it at once (state ``published``)."""
        _require(actor, "operator", "propose an alert")
        draft = self.check_draft(draft)
        self._events(draft, now_unix_s)  # what the lifecycle would refuse is refused now
        proposal = Proposal(
            id=secrets.token_hex(6),
            draft=draft,
            proposer=actor.name,
            created_unix_s=now_unix_s,
            lapses_unix_s=now_unix_s + self.policy.lapse_s,
            state="pending",
            alert_id=_alert_id_of(draft, None),
        )
        proposal = replace(proposal, alert_id=_alert_id_of(draft, proposal.id))
        with self._lock:
            self._insert(proposal)
            self._audit(actor, "propose", proposal, None, proposal, now_unix_s)
        if draft.kind in self.policy.approval_for:
            return proposal
        return self._publish_claimed(
            actor, proposal.id, now_unix_s, action=draft.kind, source=(f"operator:{actor.name}",)
        )

    def approve(self, actor: Actor, proposal_id: str, now_unix_s: float) -> Proposal:
        """Publish a pending proposal of someone else (ForbiddenError for one's own)."""
        _require(actor, "supervisor", "approve a proposal")
        proposal = self._pending(proposal_id, now_unix_s)
        if proposal.proposer == actor.name:
            self._audit(actor, "approve_refused", proposal, proposal, proposal, now_unix_s)
            raise ForbiddenError("you proposed this alert: another supervisor must approve it")
        source = (f"operator:{proposal.proposer}", f"approved:{actor.name}")
        return self._publish_claimed(
            actor, proposal_id, now_unix_s, action="approve", source=source
        )

    def reject(self, actor: Actor, proposal_id: str, reason: str, now_unix_s: float) -> Proposal:
        """Turn a pending proposal down (its proposer may withdraw their own this way too)."""
        _require(actor, "supervisor", "reject a proposal")
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
            raise InputError(f"give a reason of 1 to {MAX_REASON_CHARS} printable characters")
        with self._lock:
            before = self._pending(proposal_id, now_unix_s)
            after = replace(
                before,
                state="rejected",
                decided_by=actor.name,
                decided_unix_s=now_unix_s,
                reason=reason,
            )
            self._moved(before, after)
            self._audit(actor, "reject", after, before, after, now_unix_s)
        return after

    def issue_alone(self, actor: Actor, draft: Draft, now_unix_s: float) -> Proposal:
        """A supervisor publishes an alert of a solo category at once; it stays
        ``awaiting_confirmation`` until another supervisor confirms it."""
        _require(actor, "supervisor", "issue an alert alone")
        if draft.kind != "issue":
            raise ForbiddenError("only a new alert may be issued alone; propose other changes")
        if draft.category not in self.policy.solo_categories:
            allowed = ", ".join(sorted(self.policy.solo_categories)) or "none"
            raise ForbiddenError(
                f"{draft.category} may not be issued alone (solo categories: {allowed});"
                " propose it for approval"
            )
        draft = self.check_draft(draft)
        pid = secrets.token_hex(6)
        proposal = Proposal(
            id=pid,
            draft=draft,
            proposer=actor.name,
            created_unix_s=now_unix_s,
            lapses_unix_s=None,
            state="pending",
            alert_id=_alert_id_of(draft, pid),
        )
        with self._lock:
            self._insert(proposal)
        return self._publish_claimed(
            actor,
            pid,
            now_unix_s,
            action="issue_alone",
            source=(f"operator:{actor.name}",),
            state="awaiting_confirmation",
        )

    def confirm(self, actor: Actor, proposal_id: str, now_unix_s: float) -> Proposal:
        """A second supervisor confirms an alert issued alone (ForbiddenError for one's own)."""
        _require(actor, "supervisor", "confirm an alert")
        with self._lock:
            before = self.get(proposal_id)
            if before.state != "awaiting_confirmation":
                raise ConflictError(
                    f"proposal {proposal_id} is {before.state}, not awaiting confirmation"
                )
            if before.proposer == actor.name:
                self._audit(actor, "confirm_refused", before, before, before, now_unix_s)
                raise ForbiddenError("you issued this alert: another supervisor must confirm it")
            after = replace(
                before, state="confirmed", decided_by=actor.name, decided_unix_s=now_unix_s
            )
            self._moved(before, after)
            self._audit(actor, "confirm", after, before, after, now_unix_s)
        return after

    def lapse_due(self, now_unix_s: float) -> list[Proposal]:
        """Every pending proposal past its lapse time becomes ``lapsed`` (audited)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM proposals WHERE state = 'pending' AND lapses_unix_s <= ?",
            (now_unix_s,),
        ).fetchall()
        out = []
        with self._lock:
            for before in map(_row, rows):
                after = replace(before, state="lapsed", decided_unix_s=now_unix_s)
                if self._move(before, after):
                    self._audit(Actor(*_SYSTEM), "lapse", after, before, after, now_unix_s)
                    out.append(after)
        return out

    def set_mode(self, actor: Actor, mode: str, now_unix_s: float) -> Mode:
        """Switch between ``live`` and ``exercise`` (audited with before and after)."""
        _require(actor, "supervisor", "change the mode")
        if mode not in MODES:
            raise InputError(f"mode must be live or exercise, not {mode[:20]!r}")
        with self._lock:
            before = self.mode()
            self._db.execute(
                "INSERT INTO desk_settings (name, value) VALUES ('mode', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (mode,),
            )
            self.audit.append(
                actor=actor.name,
                role=actor.role,
                address=actor.address,
                action="mode",
                target="mode",
                before=before,
                after=mode,
                now_unix_s=now_unix_s,
            )
        return mode  # type: ignore[return-value]  # checked against MODES above

    # ---------------------------------------------------------------- internals

    def _pending(self, proposal_id: str, now_unix_s: float) -> Proposal:
        """The proposal, which must be pending and not past its lapse time (then it lapses)."""
        proposal = self.get(proposal_id)
        if (
            proposal.state == "pending"
            and proposal.lapses_unix_s is not None
            and proposal.lapses_unix_s <= now_unix_s
        ):
            self.lapse_due(now_unix_s)
            proposal = self.get(proposal_id)
        if proposal.state != "pending":
            shown = "being published" if proposal.state == _PUBLISHING else proposal.state
            raise ConflictError(f"proposal {proposal_id} is {shown}, not pending")
        return proposal

    def _publish_claimed(
        self,
        actor: Actor,
        proposal_id: str,
        now_unix_s: float,
        *,
        action: str,
        source: tuple[str, ...],
        state: ProposalState = "published",
    ) -> Proposal:
        """Check the draft again (the mode or the alert may have changed since it was
        proposed), claim the pending row, publish its command, record the outcome."""
        with self._lock:
            before = self._pending(proposal_id, now_unix_s)
        try:
            now_checked = self.check_draft(before.draft)
        except (NotFoundError, ConflictError, InputError) as exc:
            raise ConflictError(f"not published: {exc}; the proposal stays pending") from exc
        if now_checked.exercise and not before.draft.exercise:
            raise ConflictError(
                "not published: it was proposed as a real alert and the server is now in"
                " EXERCISE mode; propose it again (the proposal stays pending)"
            )
        with self._lock:
            claimed = self._db.execute(
                "UPDATE proposals SET state = ?, decided_unix_s = ?"
                " WHERE id = ? AND state = 'pending'",
                (_PUBLISHING, time.time(), proposal_id),
            ).rowcount
        if claimed != 1:
            raise ConflictError(f"proposal {proposal_id} was decided by someone else just now")
        command = _command(before.draft, str(before.alert_id), source, now_unix_s)
        try:
            events = self._publish([command])
        except (NotFoundError, ConflictError, InputError) as exc:
            self._unclaim(proposal_id)
            raise ConflictError(f"not published: {exc}; the proposal stays pending") from exc
        except BaseException:
            self._unclaim(proposal_id)
            raise
        after = replace(
            before,
            state=state,
            decided_by=None if state == "awaiting_confirmation" else actor.name,
            decided_unix_s=now_unix_s,
            event_seqs=tuple(e.seq for e in events),
        )
        with self._lock:
            self._db.execute(
                "UPDATE proposals SET state = ?, decided_by = ?, decided_unix_s = ?,"
                " event_seqs = ? WHERE id = ? AND state = ?",
                (
                    after.state,
                    after.decided_by,
                    now_unix_s,
                    json.dumps(list(after.event_seqs)),
                    proposal_id,
                    _PUBLISHING,
                ),
            )
            self._audit(actor, action, after, before, after, now_unix_s)
        return after

    def _unclaim(self, proposal_id: str) -> None:
        self._db.execute(
            "UPDATE proposals SET state = 'pending', decided_unix_s = NULL"
            " WHERE id = ? AND state = ?",
            (proposal_id, _PUBLISHING),
        )

    def _insert(self, p: Proposal) -> None:
        self._db.execute(
            f"INSERT INTO proposals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                p.id,
                json.dumps(p.draft.to_json()),
                p.proposer,
                p.created_unix_s,
                p.lapses_unix_s,
                p.state,
                p.decided_by,
                p.decided_unix_s,
                p.alert_id,
                json.dumps(list(p.event_seqs)),
                p.reason,
            ),
        )

    def _move(self, before: Proposal, after: Proposal) -> bool:
        """Write ``after`` if the row is still in ``before``'s state; whether it was."""
        return (
            self._db.execute(
                "UPDATE proposals SET state = ?, decided_by = ?, decided_unix_s = ?, reason = ?"
                " WHERE id = ? AND state = ?",
                (
                    after.state,
                    after.decided_by,
                    after.decided_unix_s,
                    after.reason,
                    after.id,
                    before.state,
                ),
            ).rowcount
            == 1
        )

    def _moved(self, before: Proposal, after: Proposal) -> None:
        """:meth:`_move`, or ConflictError when someone (another server) changed it first."""
        if not self._move(before, after):
            raise ConflictError(f"proposal {before.id} was decided by someone else just now")

    def _audit(
        self,
        actor: Actor,
        action: str,
        proposal: Proposal,
        before: Proposal | None,
        after: Proposal | None,
        now_unix_s: float,
    ) -> None:
        self.audit.append(
            actor=actor.name,
            role=actor.role,
            address=actor.address,
            action=action,
            target=f"proposal:{proposal.id}",
            before=None if before is None else before.to_json(),
            after=None if after is None else after.to_json(),
            now_unix_s=now_unix_s,
        )


def _require(actor: Actor, role: str, what: str) -> None:
    if not role_at_least(actor.role, role):
        raise ForbiddenError(f"a {actor.role} may not {what}: it takes a {role}")


def _alert_id_of(draft: Draft, proposal_id: str | None) -> str | None:
    if draft.kind != "issue":
        return draft.alert_id
    return None if proposal_id is None else f"op-{proposal_id}"


def _command(d: Draft, alert_id: str, source: tuple[str, ...], now_unix_s: float) -> Command:
    """The lifecycle command that publishes draft ``d`` at ``now_unix_s``."""
    if d.kind == "issue":
        assert d.category is not None and d.stage is not None
        return IssueAlert(
            alert_id=alert_id,
            category=d.category,
            stage=d.stage,
            area_ids=d.area_ids,
            expires_at_unix_s=None if d.expires_in_s is None else now_unix_s + d.expires_in_s,
            status="exercise" if d.exercise else "actual",
            source=source,
            instructions=templates()[d.template]["text"] if d.template else None,
        )
    if d.kind == "update":
        return UpdateAlert(alert_id, d.area_ids, d.remove_area_ids, source)
    if d.kind == "end":
        return EndAlert(alert_id, d.area_ids or None, source)
    return CancelAlert(alert_id, source)


def _row(row: Sequence[Any]) -> Proposal:
    (pid, draft, proposer, created, lapses, state, decided_by, decided, alert_id, seqs, reason) = (
        row
    )
    return Proposal(
        id=pid,
        draft=Draft.from_json(json.loads(draft)),
        proposer=proposer,
        created_unix_s=created,
        lapses_unix_s=lapses,
        state=state,
        decided_by=decided_by,
        decided_unix_s=decided,
        alert_id=alert_id,
        event_seqs=tuple(json.loads(seqs)),
        reason=reason,
    )


def _names(area: DeskArea) -> str:
    keys = ("value", "name_he", "name_en", "name_ar", "name_ru")
    return "\n".join(str(getattr(area, k, "")) for k in keys).casefold()


def _polygon(geojson: Mapping[str, Any]) -> BaseGeometry:
    if geojson.get("type") != "Polygon":
        raise InputError("polygon must be a GeoJSON Polygon")
    rings = geojson.get("coordinates")
    if not isinstance(rings, list) or not rings or not isinstance(rings[0], list):
        raise InputError("polygon coordinates must be a list of rings")
    if len(rings) > 10 or sum(len(r) if isinstance(r, list) else 0 for r in rings) > 2000:
        raise InputError("polygon: at most 10 rings and 2000 points")
    try:
        geometry = shape({"type": "Polygon", "coordinates": rings})
        valid = geometry.is_valid and not geometry.is_empty
    except (ValueError, TypeError, AttributeError, IndexError):
        raise InputError("polygon: each ring needs 4 or more [lon, lat] points") from None
    minx, miny, maxx, maxy = geometry.bounds if valid else (0, 0, 0, 0)
    if not valid or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError("polygon: not a valid polygon of [lon, lat] points")
    return geometry


def _point(lon: float, lat: float) -> BaseGeometry:
    return shape({"type": "Point", "coordinates": (lon, lat)})


def parse_policy(
    lapse_s: float, solo_categories: str | None, approval_for: str | None
) -> DeskPolicy:
    """The policy of ``serve --lapse-s S --solo-categories a,b --approval-for issue,...``;
    InputError (one line) naming what is wrong. ``approval_for`` None keeps every kind under
    approval; a new alert always needs a second person (``issue`` may not be left out: an
    emergency alert by one person is what ``--solo-categories`` is for)."""
    solo = _comma_list(solo_categories or "", "--solo-categories")
    kinds = _comma_list(
        "issue,update,end,cancel" if approval_for is None else approval_for, "--approval-for"
    )
    if "issue" not in kinds:
        raise InputError(
            "--approval-for must keep issue: a new alert always needs a second person"
            " (let a supervisor issue alone with --solo-categories)"
        )
    return DeskPolicy(
        lapse_s=lapse_s,
        solo_categories=frozenset(solo),  # type: ignore[arg-type]  # DeskPolicy checks them
        approval_for=frozenset(kinds),  # type: ignore[arg-type]
    )


def _comma_list(text: str, flag: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    if text.strip() and not all(parts):
        raise InputError(f"{flag}: expected names separated by commas, like a,b")
    return [p for p in parts if p]


def _overlaps(drawn: BaseGeometry, polygon: BaseGeometry) -> bool:
    """Whether the two share more than a border (an area the drawn outline only touches is
    left out: the operator traced its neighbour)."""
    return bool(drawn.intersects(polygon) and not drawn.touches(polygon))
