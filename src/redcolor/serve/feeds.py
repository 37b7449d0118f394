"""Compatibility feeds: the Home Front Command style live and history files, CAP 1.2 and Atom."""

from __future__ import annotations

import functools
import pathlib
import urllib.parse
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, Response

from redcolor.channels import cap, oref
from redcolor.errors import InputError, NotFoundError
from redcolor.model import AlertEvent
from redcolor.serve import conditional
from redcolor.serve.state import ServeConfig, ServerState

router = APIRouter(tags=["feeds"])
LIVE_PATH = "/warningMessages/alert/Alerts.json"
HISTORY_PATH = "/warningMessages/alert/History/AlertsHistory.json"
# The original server matches these paths case-insensitively; clients spell them differently.
CANONICAL_PATHS = {p.lower(): p for p in (LIVE_PATH, HISTORY_PATH)}
ATOM_SCAN_ROWS = 3000
"""How far back (events) the Atom index looks for alerts."""
_JSON_UTF8 = "application/json; charset=utf-8"


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.redcolor
    return state


@router.get(LIVE_PATH, summary="Live alerts, Home Front Command format (empty when none)")
async def live(request: Request) -> Response:
    state = _state(request)
    active = state.active.areas(state.now_unix_s())
    body = oref.live_file(active, state.area_value)
    return Response(body, media_type=_JSON_UTF8, headers={"Cache-Control": "no-cache"})


@router.get(HISTORY_PATH, summary="Recent alerts, Home Front Command format (3,000 rows)")
async def history(request: Request) -> Response:
    state = _state(request)

    def build() -> bytes:
        rows = state.store.read_before(state.hub.last_seq + 1, oref.HISTORY_CAP_ROWS)
        return oref.history_file((r.decode() for r in rows), state.area_value)

    return Response(state.document("oref-history", build), media_type=_JSON_UTF8)


def event_at(state: ServerState, seq: int) -> AlertEvent:
    """The stored event with this ``seq``; NotFoundError if there is none."""
    rows = state.store.read_since(seq - 1, 1)
    if not rows or rows[0].seq != seq:
        raise NotFoundError(f"no alert event with seq {seq}")
    return rows[0].decode()


def cap_identity(state: ServerState) -> cap.CapIdentity:
    """Who this server's CAP messages are from: the configured sender, the store's log id,
    the public map and the configured time zone."""
    config = state.config
    return cap.CapIdentity(
        sender=config.cap_sender,
        instance=state.store.log_id(),
        web=f"{base_url(config)}/",
        time_zone=ZoneInfo(config.time_zone),
    )


@functools.lru_cache(maxsize=4)
def _signer(key: pathlib.Path, cert: pathlib.Path) -> cap.CapSigner:
    try:
        return cap.CapSigner(key.read_bytes(), cert.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the CAP signing key or certificate: {exc}") from exc


def cap_signer(config: ServeConfig) -> cap.CapSigner | None:
    """The signer of the configured key and certificate (read once), or None when CAP
    messages are not signed; InputError for files that cannot be read or do not match."""
    if config.cap_signing_key is None or config.cap_signing_cert is None:
        return None
    return _signer(config.cap_signing_key, config.cap_signing_cert)


def cap_bytes(state: ServerState, message: cap.CapMessage, identity: cap.CapIdentity) -> bytes:
    """The served bytes of a message: its document, signed when a key is configured."""
    body = cap.cap_document(message, state.areas.get, identity)
    signer = cap_signer(state.config)
    return body if signer is None else signer.sign(body)


def cap_message(state: ServerState, event: AlertEvent) -> cap.CapMessage:
    """The CAP message of a stored event: its alert's events up to it, folded."""
    return cap.cap_thread(state.store.read_alert(event.id, event.seq))[-1]


@router.get(
    "/cap/{seq}.xml",
    summary="One alert event as a CAP 1.2 message (an Update carries its alert's whole state)",
    responses={200: {"content": {cap.CAP_MEDIA_TYPE: {}}}, 304: {"description": "unchanged"}},
)
async def cap_document(
    request: Request, seq: Annotated[int, Path(ge=1, le=2**62, description="event seq")]
) -> Response:
    state = _state(request)
    event = event_at(state, seq)
    body = cap_bytes(state, cap_message(state, event), cap_identity(state))
    # A message never changes once its event is stored: its validators are its bytes and the
    # time it was sent.
    validators = conditional.Validators(conditional.etag_of(body), event.issued_at_unix_s)
    return conditional.respond(
        request.method, request.headers, body, cap.CAP_MEDIA_TYPE, validators, state.now_unix_s()
    )


@router.get(
    "/cap/feed.atom",
    summary="Atom index of the CAP messages: the latest of each recent alert, embedded",
    responses={200: {"content": {"application/atom+xml": {}}}, 304: {"description": "unchanged"}},
)
async def cap_feed(request: Request) -> Response:
    state = _state(request)
    base = base_url(state.config)
    identity = cap_identity(state)

    def build() -> bytes:
        latest: dict[str, AlertEvent] = {}
        for row in state.store.read_before(state.hub.last_seq + 1, ATOM_SCAN_ROWS):
            event = row.decode()
            if event.id not in latest:
                latest[event.id] = event
                if len(latest) == cap.ATOM_ENTRIES:
                    break
        entries = []
        for event in latest.values():
            message = cap_message(state, event)
            entries.append((message, cap_bytes(state, message, identity)))
        updated = max((e.issued_at_unix_s for e in latest.values()), default=0.0)
        return cap.atom_feed(entries, base_url=base, identity=identity, updated_unix_s=updated)

    body = state.document("atom", build)
    rows = state.store.read_before(state.hub.last_seq + 1, 1)
    changed = rows[0].decode().issued_at_unix_s if rows else 0.0  # the newest event's time
    validators = conditional.Validators(conditional.etag_of(body), changed)
    now = state.now_unix_s()
    return conditional.respond(
        request.method, request.headers, body, "application/atom+xml", validators, now
    )


@router.get(
    "/cap/certificate.pem",
    summary="The certificate CAP messages are signed with (404 when they are not signed)",
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
async def cap_certificate(request: Request) -> Response:
    signer = cap_signer(_state(request).config)
    if signer is None:
        raise NotFoundError("CAP messages are not signed on this server")
    return Response(signer.cert_pem, media_type="application/x-pem-file")


def base_url(config: ServeConfig) -> str:
    """The root of every link the feeds carry: ``public_url``, or else ``http://host:port`` the
    server was told to listen on; InputError for a ``public_url`` that is not one.

    Never the request's Host header: any client can send any Host, and the feed one client
    asked for is the feed others read (a link pointing elsewhere would send them there).
    """
    if config.public_url is None:
        host = f"[{config.host}]" if ":" in config.host else config.host
        return f"http://{host}:{config.port}"
    url = config.public_url.rstrip("/")
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number in range
        ok = False
    printable = url.isascii() and url.isprintable() and " " not in url
    if not ok or parts.query or parts.fragment or not printable:
        raise InputError(
            f"bad public URL {config.public_url[:80]!r}: expected http(s)://host[:port][/path]"
        )
    return url
