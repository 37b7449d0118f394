"""Compatibility feeds: the Home Front Command style live and history files, CAP 1.2 and Atom."""

from __future__ import annotations

import functools
import pathlib
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from fastapi import APIRouter, Path, Request, Response

from redcolor.channels import cap, oref
from redcolor.errors import InputError, NotFoundError
from redcolor.model import AlertEvent
from redcolor.serve import conditional
from redcolor.serve.state import ServeConfig, ServerState

router = APIRouter(tags=["feeds"])
LIVE_PATH = "/warningMessages/alert/Alerts.json"
HISTORY_PATH = "/warningMessages/alert/History/AlertsHistory.json"
ARCHIVE_PATH = "/Shared/Ajax/GetAlarmsHistory.aspx"
# The original server matches these paths case-insensitively, and clients spell them differently
# (several poll the archive as "//Shared/Ajax/...": the site's own links double the slash).
CANONICAL_PATHS = {
    spelling: path
    for path in (LIVE_PATH, HISTORY_PATH, ARCHIVE_PATH)
    for spelling in (path.lower(), "/" + path.lower())
}
CAP_CACHED_MESSAGES = 128
"""CAP messages kept built (one of a wide barrage is some 400 KB)."""
ATOM_SCAN_ROWS = 3000
"""How far back (events) the Atom index looks for alerts."""
_JSON_UTF8 = "application/json; charset=utf-8"
_READ_BATCH = 500
Endpoint = Callable[[Request], Awaitable[Response]]


def _state(request: Request) -> ServerState:
    state: ServerState = request.app.state.redcolor
    return state


def _polled_route(
    path: str, summary: str, responses: dict[int | str, dict[str, Any]] | None = None
) -> Callable[[Endpoint], Endpoint]:
    """GET in the OpenAPI document, and HEAD beside it (the same handler, out of the document,
    where it would repeat the GET operation's id)."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"], summary=summary, responses=responses)
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint

    return register


def _respond(
    request: Request, state: ServerState, body: bytes, validators: conditional.Validators
) -> Response:
    headers = {k.lower(): v for k, v in request.headers.items()}
    now = state.now_unix_s()
    return conditional.respond(request.method, headers, body, _JSON_UTF8, validators, now)


def _polled(request: Request, state: ServerState, name: str, body: bytes) -> Response:
    """A polled HFC file with its validators: 304 while ``body`` is what the client holds."""
    validators = state.changes.validators(name, conditional.etag_of(body), state.now_unix_s())
    return _respond(request, state, body, validators)


@_polled_route(LIVE_PATH, "Live alerts, Home Front Command format (empty when none)")
async def live(request: Request) -> Response:
    """One message, of one kind (channels.oref.live_message); ETag/Last-Modified, 304."""
    state = _state(request)
    active = state.active.areas(state.now_unix_s())
    body = oref.live_file(active, state.area_value, log_id=state.store.log_id())
    return _polled(request, state, "oref-live", body)


@_polled_route(HISTORY_PATH, "Recent alerts, Home Front Command format (3,000 rows)")
async def history(request: Request) -> Response:
    state = _state(request)

    def build() -> bytes:
        rows = state.store.read_before(state.hub.last_seq + 1, oref.HISTORY_CAP_ROWS)
        return oref.history_file((r.decode() for r in rows), state.area_value)

    return _polled(request, state, "oref-history", state.document("oref-history", build))


def _newest_first(state: ServerState) -> Iterator[AlertEvent]:
    """The published log, newest event first, read in batches as far as the consumer goes."""
    before = state.hub.last_seq + 1
    while rows := state.store.read_before(before, _READ_BATCH):
        yield from (r.decode() for r in rows)
        before = rows[-1].seq


def _area_name(state: ServerState, lang: str) -> Callable[[int], str]:
    """An area's name in ``lang``: the feed's Hebrew value for ``he``; else the area's own name
    in that language (its Hebrew value where the index has none)."""
    if lang == "he":
        return state.area_value

    def name(area_id: int) -> str:
        value = state.area_value(area_id)
        if value == str(area_id):  # not in the index
            return value
        return str(getattr(state.areas.get(area_id), f"name_{lang}", "") or value)

    return name


@_polled_route(
    ARCHIVE_PATH,
    "Alert archive, Home Front Command format: ?lang=he|en|ar|ru&mode=1|2|3, or mode=0"
    " with fromDate/toDate (dd.mm.yyyy); always a JSON list",
)
async def archive(request: Request) -> Response:
    """The archive rows (channels.oref.archive_rows) for the query; a query the real endpoint
    does not define (an unknown ``lang`` or ``mode``, bad dates) gets an empty list, never an
    error object (channels.oref.archive_query says which)."""
    state = _state(request)
    now = state.now_unix_s()
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.lower(), value)  # names are case-insensitive; the first one wins
    query = oref.archive_query(params, now)
    if query is None:
        return _polled(request, state, "oref-archive-none", b"[]")
    rows = oref.archive_rows(
        _newest_first(state),
        _area_name(state, query.lang),
        query.lang,
        log_id=state.store.log_id(),
        since_unix_s=query.since_unix_s,
        until_unix_s=query.until_unix_s,
    )
    body = msgspec.json.encode(rows)
    if query.mode != "0":  # a window ending now: twelve documents, each with its own clock
        return _polled(request, state, f"oref-archive-{query.lang}-{query.mode}", body)
    # fixed days change only with the log: the log's own change time bounds theirs
    log_version = conditional.etag_for(state.store.log_id(), state.hub.last_seq)
    log_changed = state.changes.validators("log", log_version, now).modified_unix_s
    validators = conditional.Validators(conditional.etag_of(body), log_changed)
    return _respond(request, state, body, validators)


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


def cap_served(
    state: ServerState, event: AlertEvent, identity: cap.CapIdentity
) -> tuple[cap.CapMessage, bytes]:
    """The CAP message of a stored event (its alert's events up to it, folded) and its served
    bytes. A message never changes once its event is stored, so the latest
    :data:`CAP_CACHED_MESSAGES` are kept: the Atom index rebuilds only what is new, and an EC
    signature (random per signing) keeps its bytes, hence its ETag, while cached."""
    cached = state.cap_served.get(event.seq)
    if cached is not None:
        state.cap_served.move_to_end(event.seq)
        return cached
    message = cap.cap_thread(state.store.read_alert(event.id, event.seq))[-1]
    served = message, cap_bytes(state, message, identity)
    state.cap_served[event.seq] = served
    if len(state.cap_served) > CAP_CACHED_MESSAGES:
        state.cap_served.popitem(last=False)
    return served


@_polled_route(
    "/cap/{seq}.xml",
    "One alert event as a CAP 1.2 message (an Update carries its alert's whole state)",
    {200: {"content": {cap.CAP_MEDIA_TYPE: {}}}, 304: {"description": "unchanged"}},
)
async def cap_document(
    request: Request, seq: Annotated[int, Path(ge=1, le=2**62, description="event seq")]
) -> Response:
    state = _state(request)
    event = event_at(state, seq)
    _, body = cap_served(state, event, cap_identity(state))
    # A message never changes once its event is stored: its validators are its bytes and the
    # time it was sent.
    validators = conditional.Validators(conditional.etag_of(body), event.issued_at_unix_s)
    return conditional.respond(
        request.method, request.headers, body, cap.CAP_MEDIA_TYPE, validators, state.now_unix_s()
    )


@_polled_route(
    "/cap/feed.atom",
    "Atom index of the CAP messages: the latest of each recent alert, embedded",
    {200: {"content": {"application/atom+xml": {}}}, 304: {"description": "unchanged"}},
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
        entries = [cap_served(state, event, identity) for event in latest.values()]
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
