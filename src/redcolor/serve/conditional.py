"""Conditional GET for the files clients poll: ETag, Last-Modified and 304 Not Modified.

A client polling the live file every 2 s, or a CAP aggregator polling the Atom index, should
download nothing while nothing changed. Every such document is answered through
:func:`respond`, which sends a strong ``ETag`` and a ``Last-Modified`` and answers
``304 Not Modified`` (no body) to a request whose validators still match (RFC 9110 §13):

- ``If-None-Match`` is evaluated first and, when present, ``If-Modified-Since`` is ignored
  (§13.2.2); its entity tags are compared weakly (§8.8.3.2: ``W/"x"`` matches ``"x"``), and
  ``*`` matches any current representation;
- ``If-Modified-Since`` applies only to GET and HEAD and is ignored when it is not a valid
  HTTP-date (§13.1.3);
- HEAD is answered like GET (same status and headers, no body).

The ETag is either a hash of the body (:func:`etag_of`) or a version the caller knows the
document by (:func:`etag_for`, e.g. the store instance and the seq it was built at). The
modification time is the time the content last changed, which :class:`ChangeClock` remembers
per document (the body itself says nothing about when it was made).

HTTP dates have one-second resolution, so a ``Last-Modified`` naming the current second would
be a weak validator: a second change within that same second would carry the same date and a
client revalidating by date alone would keep the stale copy. :func:`last_modified_header`
therefore never names a second that has not ended yet (while it runs the header says the second
before), and no request is answered 304 by date during the second of a change: that costs a
client revalidating by date one more download, never a missed change.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.responses import Response

_ETAG_ITEM = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


@dataclass(frozen=True, slots=True)
class Validators:
    """What a representation is validated by: a strong entity tag (quoted) and the Unix time
    its content last changed."""

    etag: str
    modified_unix_s: float


def etag_of(body: bytes) -> str:
    """A strong entity tag derived from the body: equal bodies, equal tags."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_for(*version: str | int) -> str:
    """A strong entity tag from a version the document is known by (e.g. instance id, seq);
    the caller promises the body is a function of it."""
    text = "-".join(str(part) for part in version)
    if not re.fullmatch(r"[0-9A-Za-z._~-]+", text):
        raise ValueError(f"version {text!r} is not a safe entity tag")
    return f'"{text}"'


@dataclass
class ChangeClock:
    """Remembers, per named document, its entity tag and when it last changed, so a document
    rebuilt with the same content keeps its ``Last-Modified``."""

    _seen: dict[str, Validators] = field(default_factory=dict)

    def validators(self, name: str, etag: str, now_unix_s: float) -> Validators:
        seen = self._seen.get(name)
        if seen is None or seen.etag != etag:
            seen = self._seen[name] = Validators(etag, now_unix_s)
        return seen


def http_date(t_unix_s: float) -> str:
    """``Wed, 02 Dec 2026 13:00:00 GMT`` (IMF-fixdate, whole seconds, rounded down)."""
    return email.utils.formatdate(math.floor(t_unix_s), usegmt=True)


def parse_http_date(text: str) -> float | None:
    """The Unix time of an HTTP-date (any of the three formats RFC 9110 §5.6.7 accepts), or
    ``None`` when it is not one."""
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # asctime format: UTC by definition
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def last_modified_header(modified_unix_s: float, now_unix_s: float) -> float:
    """The whole second the ``Last-Modified`` header names: the second the content changed if
    that second is over, else the one before (see the module docstring), and never later than
    now (RFC 9110 §8.8.2.1)."""
    changed = math.floor(min(modified_unix_s, now_unix_s))
    return float(changed if changed < math.floor(now_unix_s) else changed - 1)


def _etags(header: str) -> list[str] | None:
    """The opaque tags of an ``If-None-Match`` list (``W/`` dropped for the weak comparison);
    ``None`` when the field is not a list of entity tags (then it is ignored)."""
    tags: list[str] = []
    pos = 0
    while pos < len(header):
        match = _ETAG_ITEM.match(header, pos)
        if match is None or match.end() == pos:
            return None
        tags.append(match.group(1))
        pos = match.end()
    return tags


def is_not_modified(
    method: str, headers: Mapping[str, str], validators: Validators, now_unix_s: float
) -> bool:
    """Whether a GET or HEAD with these request headers is answered 304 (RFC 9110 §13.2.2)."""
    if method not in ("GET", "HEAD"):
        return False
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        tags = _etags(if_none_match)
        if tags is not None:
            return validators.etag in tags
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None or if_none_match is not None:
        return False
    since = parse_http_date(if_modified_since)
    if since is None:
        return False
    changed = math.floor(min(validators.modified_unix_s, now_unix_s))
    if changed >= math.floor(now_unix_s):
        return False  # changed during this second: a date cannot tell the versions apart
    return changed <= since


def respond(
    method: str,
    request_headers: Mapping[str, str],
    body: bytes,
    media_type: str,
    validators: Validators,
    now_unix_s: float,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The 200 (or, for HEAD, its headers alone) or the 304 for one polled document.

    ``Cache-Control: no-cache`` lets caches keep the document but makes them revalidate on
    every use, which is what a feed of alerts needs.
    """
    sent = {
        "ETag": validators.etag,
        "Last-Modified": http_date(last_modified_header(validators.modified_unix_s, now_unix_s)),
        "Cache-Control": "no-cache",
        **(headers or {}),
    }
    if is_not_modified(method, request_headers, validators, now_unix_s):
        return Response(status_code=304, headers=sent)
    if method == "HEAD":
        return Response(
            b"", media_type=media_type, headers={**sent, "Content-Length": str(len(body))}
        )
    return Response(body, media_type=media_type, headers=sent)
