"""Operator REST: log in and out, propose, approve, reject, confirm, issue alone, mode, audit,
and the administrators' view and revocation of sessions.

Thin adapters over :mod:`redcolor.operators` (the rules live there): each route says who is
calling (:mod:`redcolor.serve.auth`), hands the desk a validated body, and turns the answer into
JSON. The desk's work is blocking (SQLite, the lifecycle's write), so it runs in a worker thread;
its publisher wakes the store follower, so a published alert is on every stream as soon as it is
stored. Edge servers refuse every operator write (409): they only copy the core's log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from redcolor.auth.tokens import NAME_PATTERN
from redcolor.errors import AuthError
from redcolor.model import Category
from redcolor.operators.admin import live_sessions, revoke_session, revoke_sessions_of
from redcolor.operators.desk import (
    KINDS,
    MANUAL_CATEGORIES,
    MAX_REASON_CHARS,
    PROPOSAL_STATES,
    Draft,
    Proposal,
    templates,
    zone_names,
)
from redcolor.operators.sessions import SESSION_ID_PATTERN
from redcolor.serve.auth import (
    Caller,
    caller,
    clear_session_cookie,
    client_address,
    not_edge,
    role,
    set_session_cookie,
    state_of,
)
from redcolor.serve.limits import client_key

router = APIRouter(tags=["operators"])
MAX_AREAS_PER_DRAFT = 5000
MAX_AUDIT_PAGE = 1000
AreaId = Annotated[int, Field(ge=0, le=2**31 - 1)]
_JSON = "application/json"
_WRITE = [Depends(not_edge)]
ProposalId = Annotated[str, Path(pattern="^[0-9a-f]{12}$", description="proposal id")]
SessionId = Annotated[
    str, Path(pattern=f"^{SESSION_ID_PATTERN}$", description="session id (not its token)")
]
UserName = Annotated[str, Path(pattern=f"^{NAME_PATTERN}$", description="operator name")]


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    totp: str | None = Field(default=None, max_length=12)


class DraftBody(BaseModel):
    """A proposal's content: ``issue`` a manual alert (category, stage, areas, template,
    expiry), or ``update`` (``area_ids`` added, ``remove_area_ids`` released), ``end``
    (``area_ids`` released, none: all) or ``cancel`` (the alert was false) an open one."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["issue", "update", "end", "cancel"]
    alert_id: str | None = Field(default=None, min_length=1, max_length=100)
    category: Category | None = None
    stage: Literal["pre_alert", "alert"] | None = None
    area_ids: list[AreaId] = Field(default_factory=list, max_length=MAX_AREAS_PER_DRAFT)
    remove_area_ids: list[AreaId] = Field(default_factory=list, max_length=MAX_AREAS_PER_DRAFT)
    template: str | None = Field(default=None, max_length=100)
    expires_in_s: float | None = Field(default=None, allow_inf_nan=False)
    exercise: bool = False

    def draft(self) -> Draft:
        return Draft(
            kind=self.kind,
            alert_id=self.alert_id,
            category=self.category,
            stage=self.stage,
            area_ids=frozenset(self.area_ids),
            remove_area_ids=frozenset(self.remove_area_ids),
            template=self.template,
            expires_in_s=self.expires_in_s,
            exercise=self.exercise,
        )


Coordinate = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Position = Annotated[list[Coordinate], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4, max_length=2000)]


class Polygon(BaseModel):
    """A GeoJSON Polygon: rings of [lon, lat] positions, the first the outline."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Polygon"]
    coordinates: list[Ring] = Field(min_length=1, max_length=10)


class ResolveBody(BaseModel):
    """Areas by id, by zone name, inside a drawn GeoJSON polygon, by name search: the union."""

    model_config = ConfigDict(extra="forbid")
    area_ids: list[AreaId] = Field(default_factory=list, max_length=MAX_AREAS_PER_DRAFT)
    zones: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    polygon: Polygon | None = None
    names: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)


class ModeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["live", "exercise"]


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status_code, media_type=_JSON)


def _proposal(p: Proposal, status_code: int = 200) -> Response:
    return _json(p.to_json(), status_code)


def open_alert_json(alert: Any) -> dict[str, Any]:
    """An open alert as the console lists it (``areas``: id, stage, shelter time)."""
    return {
        "alert_id": alert.alert_id,
        "category": alert.category,
        "status": alert.status,
        "manual": alert.manual,
        "areas": [dataclasses.asdict(a) for a in alert.areas],
        "source": list(alert.source),
        "expires_unix_s": alert.expires_unix_s,
    }


# ----------------------------------------------------------------------- sessions


@router.post(
    "/v1/auth/login",
    summary="Sign in: answers a session token (and sets the rc_session cookie)",
    responses={
        401: {"description": "Wrong user, password or code"},
        429: {"description": "Too many failures"},
    },
)
async def login(request: Request, body: LoginBody) -> Response:
    """Failures are counted per user name and per client address; past the limit the answer is
    429 with ``Retry-After``. Every attempt that is checked is audited (``login`` or
    ``login_failed``, never the password)."""
    state = state_of(request)
    address, key = client_address(request), client_key(request.scope)
    now = time.time()
    state.login_limiter.check(body.user, key, now)
    try:
        user = await asyncio.to_thread(state.users.verify, body.user, body.password, body.totp)
    except AuthError as exc:
        state.login_limiter.failed(body.user, key, now)
        state.audit.append(
            actor=body.user,
            role="none",
            address=address,
            action="login_failed",
            target=f"user:{body.user}",
            after={"reason": str(exc)},
        )
        raise
    state.login_limiter.succeeded(body.user, key)
    session, token = state.sessions.create(user, address)
    state.audit.append(
        actor=user.name,
        role=user.role,
        address=address,
        action="login",
        target=f"session:{session.session_id}",
        after={"expires_unix_s": session.expires_unix_s},
    )
    response = _json(
        {
            "token": token,
            "csrf": state.sessions.csrf_token(session),
            "user": user.name,
            "role": user.role,
            "expires_unix_s": session.expires_unix_s,
        }
    )
    set_session_cookie(response, request, token, session.expires_unix_s - now)
    return response


@router.post("/v1/auth/logout", status_code=204, summary="Sign out: the session is revoked")
async def logout(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    state = state_of(request)
    state.sessions.revoke(who.session.session_id)
    state.audit.append(
        actor=who.session.user,
        role=who.session.role,
        address=who.address,
        action="logout",
        target=f"session:{who.session.session_id}",
    )
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


@router.get("/v1/auth/me", summary="Who is signed in, their CSRF token and the server's mode")
async def me(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    state = state_of(request)
    s = who.session
    return _json(
        {
            "user": s.user,
            "role": s.role,
            "csrf": state.sessions.csrf_token(s),
            "mode": state.desk.mode(),
            "session_expires_unix_s": s.expires_unix_s,
        }
    )


# ----------------------------------------------------------------------- reading


@router.get(
    "/v1/operator/state",
    summary="The mode, pending proposals, alerts awaiting confirmation and every open alert",
)
async def operator_state(
    request: Request, who: Annotated[Caller, Depends(role("viewer"))]
) -> Response:
    desk = state_of(request).desk
    alerts = await asyncio.to_thread(desk.open_alerts)
    return _json(
        {
            "mode": desk.mode(),
            "server_time_unix_s": time.time(),
            "pending": [p.to_json() for p in desk.proposals(states=["pending"])],
            "awaiting_confirmation": [
                p.to_json() for p in desk.proposals(states=["awaiting_confirmation"])
            ],
            "open_alerts": [open_alert_json(a) for a in alerts],
            "solo_categories": sorted(desk.policy.solo_categories),
            "approval_for": [k for k in KINDS if k in desk.policy.approval_for],
        }
    )


@router.get("/v1/operator/templates", summary="Categories, instruction templates and zones")
async def operator_templates(
    request: Request, who: Annotated[Caller, Depends(role("viewer"))]
) -> Response:
    state = state_of(request)
    body = {
        "categories": list(MANUAL_CATEGORIES),
        "templates": templates(),
        "zones": zone_names(state.areas),
    }
    return _json(body)


@router.get("/v1/operator/proposals", summary="Proposals, newest first")
async def list_proposals(
    request: Request,
    who: Annotated[Caller, Depends(role("viewer"))],
    state: Annotated[Literal[PROPOSAL_STATES] | None, Query()] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    desk = state_of(request).desk
    found = desk.proposals(states=None if state is None else [state], limit=limit)
    return _json([p.to_json() for p in found])


@router.get(
    "/v1/operator/audit",
    summary="The audit log (supervisors): records oldest first; format=jsonl exports them all",
)
async def audit(
    request: Request,
    who: Annotated[Caller, Depends(role("supervisor"))],
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=MAX_AUDIT_PAGE)] = None,
    format: Annotated[Literal["json", "jsonl"], Query()] = "json",
) -> Response:
    """``json``: one page of at most ``limit`` records (default and most
    ``MAX_AUDIT_PAGE``), paged with ``after``. ``jsonl``: an export, one record a line, every
    record after ``after`` (or the first ``limit``), streamed page by page so a long log never
    sits in memory whole."""
    log = state_of(request).audit
    if format == "json":
        records = log.read(after_seq=after, limit=limit or MAX_AUDIT_PAGE)
        return _json([r.to_json() for r in records])

    def lines() -> Iterator[bytes]:
        last, left = after, limit
        while left is None or left > 0:
            page = MAX_AUDIT_PAGE if left is None else min(left, MAX_AUDIT_PAGE)
            records = log.read(after_seq=last, limit=page)
            if not records:
                return
            yield b"".join(msgspec.json.encode(r.to_json()) + b"\n" for r in records)
            last = records[-1].seq
            left = None if left is None else left - len(records)

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="redcolor-audit.jsonl"'},
    )


# ----------------------------------------------------------------------- writing


@router.post(
    "/v1/operator/areas/resolve",
    summary="Areas by id, zone, drawn polygon and name search (their union)",
)
async def resolve_areas(
    request: Request, body: ResolveBody, who: Annotated[Caller, Depends(role("operator"))]
) -> Response:
    desk = state_of(request).desk
    found = desk.resolve_areas(
        area_ids=body.area_ids,
        zones=body.zones,
        polygon=None if body.polygon is None else body.polygon.model_dump(),
        names=body.names,
    )
    return _json({"area_ids": sorted(found)})


@router.post(
    "/v1/operator/preview",
    summary="What every channel would carry if the draft were published now",
)
async def preview(
    request: Request, body: DraftBody, who: Annotated[Caller, Depends(role("operator"))]
) -> Response:
    desk = state_of(request).desk
    return _json(await asyncio.to_thread(desk.preview, body.draft(), time.time()))


@router.post(
    "/v1/operator/proposals",
    status_code=201,
    dependencies=_WRITE,
    summary="Propose: 201 pending (200 when the policy publishes this kind at once)",
)
async def propose(
    request: Request, body: DraftBody, who: Annotated[Caller, Depends(role("operator"))]
) -> Response:
    desk = state_of(request).desk
    made = await asyncio.to_thread(desk.propose, who.actor, body.draft(), time.time())
    return _proposal(made, 201 if made.state == "pending" else 200)


@router.post(
    "/v1/operator/proposals/{proposal_id}/approve",
    dependencies=_WRITE,
    summary="Approve someone else's proposal: it is published (403 for your own)",
)
async def approve(
    request: Request,
    proposal_id: ProposalId,
    who: Annotated[Caller, Depends(role("supervisor"))],
) -> Response:
    desk = state_of(request).desk
    return _proposal(await asyncio.to_thread(desk.approve, who.actor, proposal_id, time.time()))


@router.post(
    "/v1/operator/proposals/{proposal_id}/reject",
    dependencies=_WRITE,
    summary="Reject a pending proposal, with a reason",
)
async def reject(
    request: Request,
    proposal_id: ProposalId,
    body: RejectBody,
    who: Annotated[Caller, Depends(role("supervisor"))],
) -> Response:
    desk = state_of(request).desk
    done = await asyncio.to_thread(desk.reject, who.actor, proposal_id, body.reason, time.time())
    return _proposal(done)


@router.post(
    "/v1/operator/proposals/{proposal_id}/confirm",
    dependencies=_WRITE,
    summary="Confirm an alert another supervisor issued alone (403 for your own)",
)
async def confirm(
    request: Request,
    proposal_id: ProposalId,
    who: Annotated[Caller, Depends(role("supervisor"))],
) -> Response:
    desk = state_of(request).desk
    return _proposal(await asyncio.to_thread(desk.confirm, who.actor, proposal_id, time.time()))


@router.post(
    "/v1/operator/issue",
    dependencies=_WRITE,
    summary="Issue alone (solo categories only): published now, awaiting confirmation",
)
async def issue_alone(
    request: Request, body: DraftBody, who: Annotated[Caller, Depends(role("supervisor"))]
) -> Response:
    desk = state_of(request).desk
    made = await asyncio.to_thread(desk.issue_alone, who.actor, body.draft(), time.time())
    return _proposal(made)


@router.put("/v1/operator/mode", dependencies=_WRITE, summary="Switch LIVE / EXERCISE")
async def set_mode(
    request: Request, body: ModeBody, who: Annotated[Caller, Depends(role("supervisor"))]
) -> Response:
    desk = state_of(request).desk
    mode = await asyncio.to_thread(desk.set_mode, who.actor, body.mode, time.time())
    return _json({"mode": mode})


# ----------------------------------------------------------------------- sessions (admins)
# Not refused on edge servers, unlike the desk's writes: an edge's logins and sessions are its own
# file's (it copies the core's alert log, not its accounts), so they are ended there.


@router.get(
    "/v1/operator/sessions",
    summary="Live sessions (admins): id, user, role, created, last seen, expires, address",
    responses={404: {"description": "No operator of that name"}},
)
async def list_sessions(
    request: Request,
    who: Annotated[Caller, Depends(role("admin"))],
    user: Annotated[str | None, Query(pattern=f"^{NAME_PATTERN}$")] = None,
) -> Response:
    """Every live session, oldest first, or those of ``user``. Never a token or its digest: a
    session id names a session to revoke, it does not open it."""
    state = state_of(request)
    return _json([s.to_json() for s in live_sessions(state.users, state.sessions, user)])


@router.delete(
    "/v1/operator/sessions/{session_id}",
    status_code=204,
    summary="Revoke one session (admins): refused at its next request",
    responses={404: {"description": "No live session of that id"}},
)
async def delete_session(
    request: Request, session_id: SessionId, who: Annotated[Caller, Depends(role("admin"))]
) -> Response:
    """Audited as ``session_revoke`` (the session before, its revocation time after)."""
    state = state_of(request)
    revoke_session(state.sessions, state.audit, who.actor, session_id)
    return Response(status_code=204)


@router.delete(
    "/v1/operator/users/{name}/sessions",
    summary="Revoke every live session of an operator (admins)",
    responses={404: {"description": "No operator of that name"}},
)
async def delete_user_sessions(
    request: Request, name: UserName, who: Annotated[Caller, Depends(role("admin"))]
) -> Response:
    """Answers ``{user, revoked: [session ids]}``; audited as one ``session_revoke`` of
    ``user:<name>``. The account stays usable: a new login opens a new session (disable the
    account to stop that)."""
    state = state_of(request)
    ended = revoke_sessions_of(state.users, state.sessions, state.audit, who.actor, name)
    return _json({"user": name, "revoked": [s.session_id for s in ended]})
