"""schemathesis against /openapi.json, in-process over ASGI: no request it generates gets a 5xx,
neither anonymous nor with a supervisor's session (which reaches past authentication into every
operator route: drafts, previews, approvals, the mode, the audit log), nor with an
administrator's on the routes only administrators reach (listing and revoking sessions).

The SSE stream (an endless response) is left out here; its bad-parameter answers are tested in
test_streams.py and below.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, settings

from redcolor.alerts.store import SQLiteEventStore
from redcolor.geo import load_areas
from redcolor.serve.app import create_app
from redcolor.serve.streams import MAX_AREAS_QUERY_BYTES

from .conftest import SalvoWriter, make_state
from .opsutil import add_people, bearer, token_of

_DIR = Path(tempfile.mkdtemp(prefix="redcolor-fuzz-"))
_STORE = SQLiteEventStore(_DIR / "alerts.db")
_AREAS = load_areas("current")
_WRITER = SalvoWriter(_STORE, _AREAS)
for _ in range(3):
    _WRITER.lifecycle([int(i) for i in _AREAS.within_m(32.996, 35.414, 8000)][:5])
_STATE = make_state(_STORE, _AREAS, push_dir=_DIR / "push")
_STATE.follower.poll_once()
add_people(_STATE)
APP = create_app(_STATE)

schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/v1/events")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.path, case.query, response.text[:200])


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_supervisor_request_gets_a_server_error(case) -> None:
    # a session of its own per case: a generated logout ends only that one
    response = case.call(headers=bearer(token_of(_STATE, "sam")))
    assert response.status_code < 500, (case.path, case.query, case.body, response.text[:200])


@schema.include(path_regex="sessions").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_admin_request_gets_a_server_error(case) -> None:
    response = case.call(headers=bearer(token_of(_STATE, "ada")))
    assert response.status_code < 500, (case.path, case.query, case.body, response.text[:200])


async def test_sse_bad_parameters_are_4xx() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for params, status in (
            ({"since": "x"}, 400),
            ({"areas": "1,abc"}, 400),
            ({"log": "not a log id", "since": "1"}, 400),  # since past the end: a reset
            ({"since": "1" * 19}, 400),
            ({"areas": "5" * 5000}, 400),  # within the length 2,000 ids may take: parsed, bad
            ({"areas": "5" * (MAX_AREAS_QUERY_BYTES + 1)}, 422),
        ):
            r = await client.get("/v1/events", params=params)
            assert r.status_code == status, (params, r.text)
            assert r.json()["detail"]
